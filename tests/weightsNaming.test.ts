/** One naming for weights, ours and the reference's: export, re-import, infer the configuration, refuse misfits. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { RedoModel, exportWeights, importWeights, inferConfigFromWeights, preset, WeightsMismatchError } from '../src/redo';
import { goldenConfig, goldenWeights, loadGolden } from './helpers/golden';
import { encodeSafetensors, decodeSafetensors } from '../src/formats/safetensors';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

describe('weights files', () => {
  it('golden weights → export → safetensors → re-import: identical tensors, bit for bit', async () => {
    const file = loadGolden('redo-ref-n2');
    const weights = goldenWeights(file);
    const config = goldenConfig(file);
    const a = new RedoModel(config, 0, { uninitialised: true });
    importWeights(a, weights);
    const exported = await exportWeights(a);
    expect([...exported.keys()].sort()).toEqual([...weights.keys()].sort());
    const bytes = encodeSafetensors(exported, { format: 'redo-studio-weights' });
    const b = new RedoModel(config, 99); // different random init
    importWeights(b, decodeSafetensors(bytes).tensors);
    const again = await exportWeights(b);
    for (const [k, t] of weights) {
      expect(again.get(k)!.shape, k).toEqual(t.shape);
      expect(Buffer.from(again.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
    }
    a.dispose();
    b.dispose();
  });

  it('infers the configuration of the reference files from names and shapes', () => {
    for (const name of ['redo-ref-n2', 'redo-ref-n3'] as const) {
      const file = loadGolden(name);
      const inferred = inferConfigFromWeights(goldenWeights(file));
      const want = goldenConfig(file);
      for (const k of ['imageSize', 'nRegions', 'nz', 'nfF', 'nfG', 'nfD', 'nfZ', 'attentionG', 'attentionD'] as const) {
        expect(inferred[k], `${name} ${k}`).toBe(want[k]);
      }
    }
  });

  it('infers 32 and 64 px presets and an F-only file (inference)', async () => {
    for (const p of ['tiny', 'small-64', 'c2mnist-64'] as const) {
      const config = preset(p);
      const m = new RedoModel(config, 0, { uninitialised: true });
      const inferred = inferConfigFromWeights(await exportWeights(m));
      expect({ size: inferred.imageSize, n: inferred.nRegions, nfG: inferred.nfG, nfD: inferred.nfD }).toEqual({
        size: config.imageSize,
        n: config.nRegions,
        nfG: config.nfG,
        nfD: config.nfD,
      });
      const fOnly = inferConfigFromWeights(await exportWeights(m, { prefix: 'netEncM.' }), config.imageSize);
      expect(fOnly.nRegions).toBe(config.nRegions);
      m.dispose();
    }
  });

  it('refuses a file that fits no configuration, naming the first misfit tensor, and changes nothing', async () => {
    const file = loadGolden('redo-ref-n2');
    const weights = goldenWeights(file);
    const bad = new Map(weights);
    const t = bad.get('netDX.blocs.2.1.weight_orig')!;
    bad.set('netDX.blocs.2.1.weight_orig', {
      shape: [t.shape[0]!, t.shape[1]! + 1, 3, 3],
      data: new Float32Array(t.shape[0]! * (t.shape[1]! + 1) * 9),
    });
    expect(() => inferConfigFromWeights(bad)).toThrow(
      /netDX\.blocs\.2\.1\.weight_orig has shape \[32,17,3,3\], the configuration needs \[32,16,3,3\]/,
    );
    const missing = new Map(weights);
    missing.delete('netRecZ.net.dense.bias');
    expect(() => inferConfigFromWeights(missing)).toThrow(/missing tensor netRecZ\.net\.dense\.bias/);
    const stranger = new Map([['encoder.conv1.weight', { shape: [1], data: new Float32Array(1) }]]);
    expect(() => inferConfigFromWeights(stranger)).toThrow(WeightsMismatchError);

    const model = new RedoModel(goldenConfig(file), 1);
    const before = await exportWeights(model);
    expect(() => importWeights(model, bad)).toThrow(WeightsMismatchError);
    const after = await exportWeights(model);
    for (const [k, v] of before) expect(Buffer.from(after.get(k)!.data.buffer).equals(Buffer.from(v.data.buffer)), k).toBe(true);
    model.dispose();
  });
});
