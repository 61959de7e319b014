/**
 * src/node/probeRun.ts: the probe reads the run's own D and δ under four mask sources, on the same images and z.
 * A collapse leaves region 0's composite equal to the real image, so D scores it exactly as it scores x; the truth
 * source is the held-out one-hot truth itself; the archive path reads the archive's own weights.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset, RedoModel, RedoTrainer, captureTrainingState } from '../src/redo';
import { buildRunArchive } from '../src/formats/runArchive';
import { MASK_SOURCES, formatRunProbe, probeModel, probeRunArchive } from '../src/node/probeRun';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

describe('probeRun', () => {
  it("a collapse's empty region is scored by D exactly as the real image; rows differ by masks only", async () => {
    const model = new RedoModel(preset('tiny'), 3);
    const p = await probeModel(model, { count: 6, seed: 11 });
    expect(p.rows.map((r) => r.source)).toEqual([...MASK_SOURCES]);
    for (const r of p.rows) {
      expect(r.dComposite).toHaveLength(2);
      expect(r.zError).toHaveLength(2);
      expect(r.dMean).toBeCloseTo((r.dComposite[0]! + r.dComposite[1]!) / 2, 6);
      expect(r.objective).toBeCloseTo(-r.dMean + (5 * (r.zError[0]! + r.zError[1]!)) / 2, 5); // tiny keeps λz = 5
      for (const v of [...r.dComposite, ...r.zError]) expect(Number.isFinite(v)).toBe(true);
    }
    const collapse = p.rows.find((r) => r.source === 'collapse')!;
    expect(collapse.dComposite[0]).toBeCloseTo(p.dReal, 4);
    const truth = p.rows.find((r) => r.source === 'truth')!;
    expect(truth.dComposite[0]).not.toBeCloseTo(collapse.dComposite[0]!, 4);
    // an untrained δ: its error on z ~ N(0, 1) is of order 1 for every source
    for (const r of p.rows) for (const e of r.zError) expect(e).toBeGreaterThan(0.3);
    model.dispose();
  });

  it('probes an archive with its own weights and prints one line per source', async () => {
    const model = new RedoModel(preset('tiny'), 4);
    const trainer = new RedoTrainer(model, 4);
    const bytes = await buildRunArchive({
      state: await captureTrainingState(trainer),
      history: { step: [], gAdv: [], gRecZ: [], dReal: [], dFake: [] },
      dataset: { name: 'colored-1-MNIST (2 regions) (8 × 32 px)', count: 8, size: 32 },
    });
    const direct = await probeModel(model, { count: 4, seed: 2 });
    trainer.dispose();
    model.dispose();
    const before = tf.memory().numTensors;
    const fromArchive = await probeRunArchive(bytes, { count: 4, seed: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(fromArchive.step).toBe(0);
    expect(fromArchive.rows).toEqual(direct.rows);
    const text = formatRunProbe(fromArchive);
    expect(text.split('\n')).toHaveLength(2 + MASK_SOURCES.length);
    expect(text).toContain('collapse');
  });
});
