/** Parameter counts of the reference configuration and output shapes of every network. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset, parameterCounts, RedoModel } from '../src/redo';
import { execFileSync } from 'node:child_process';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

describe('parameter counts', () => {
  it('paper-128 has exactly the reference counts (n = 2, nz = 32, attention in G and D)', () => {
    const c = parameterCounts(preset('paper-128'));
    expect(c.F).toBe(274_966);
    expect(c.G).toBe(7_956_895);
    expect(c.D).toBe(38_424_258);
    expect(c.Z).toBe(38_483_712);
  });

  it('`npm run redo -- params --preset paper-128` prints them as JSON', () => {
    const out = execFileSync('npx', ['tsx', 'scripts/redo-cli.ts', 'params', '--preset', 'paper-128'], { encoding: 'utf8' });
    const json = JSON.parse(out.slice(out.indexOf('{'))) as { parameters: Record<string, number> };
    expect(json.parameters).toMatchObject({ F: 274_966, G: 7_956_895, D: 38_424_258, Z: 38_483_712 });
  });
});

describe('output shapes', () => {
  for (const size of [32, 64, 128] as const) {
    for (const n of [2, 3]) {
      it(`${size} px, n = ${n}: F, every G_k, D and δ`, () => {
        const config = preset('tiny', { imageSize: size, nRegions: n, nfF: 8, nfG: 2, nfD: 2, nfZ: 2 });
        const model = new RedoModel(config, 0, { uninitialised: true });
        const b = 2;
        tf.tidy(() => {
          const x = tf.zeros<tf.Rank.R4>([b, size, size, 3]);
          const masks = model.masks(x);
          expect(masks.shape).toEqual([b, size, size, n]);
          const z = tf.zeros<tf.Rank.R3>([b, n, config.nz]);
          const regions = model.regions(masks, z);
          expect(regions.shape).toEqual([b, n, size, size, 3]);
          const comp = model.composites(x, masks, regions);
          expect(comp.shape).toEqual([b * n, size, size, 3]);
          expect(model.D.apply(comp).shape).toEqual([b * n, 1]);
          expect(model.reconstructZ(regions).shape).toEqual([b, n, config.nz]);
        });
        model.dispose();
      });
    }
  }
});
