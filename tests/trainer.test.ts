/** The training step: every network learns, nothing leaks, and tiny trains on colored-2-MNIST. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset, RedoModel, RedoTrainer, readLosses, disposeLosses, type LossValues } from '../src/redo';
import { generateColored2Mnist } from '../src/datagen/colored2mnist';
import { loadMnistDigitsNode } from '../src/node/mnistNode';
import { splitDigits } from '../src/datagen/mnistDigits';
import { smallestBinaryRegionArea, smallestRegionArea } from '../src/redo/losses';
import { CollapseWatch } from '../src/redo/collapse';
import { Rng } from '../src/redo/random';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

describe('one trainStep', () => {
  // Attention's γ starts at 0, so its f, g, h, o convs get exactly zero gradient in the very first step (as in
  // the reference); the second step moves them. Every other tensor moves at step 1.
  it('changes every trainable tensor of F, each G_k, D and δ (attention convs from step 2), masks sum to 1', async () => {
    const config = preset('tiny', { nRegions: 3 });
    const model = new RedoModel(config, 3);
    const trainer = new RedoTrainer(model, 3);
    const keys = model.store.keys({ trainable: true });
    const before = await Promise.all(keys.map((k) => model.store.get(k).data()));
    const x = tf.randomUniform<tf.Rank.R4>([2, 32, 32, 3], -1, 1, 'float32', 1);
    const xr = tf.randomUniform<tf.Rank.R4>([2, 32, 32, 3], -1, 1, 'float32', 2);
    const unchangedSince = (snapshot: Awaited<ReturnType<tf.Tensor['data']>>[], now: typeof snapshot) =>
      keys.filter((_, i) => snapshot[i]!.every((v, j) => v === now[i]![j]));
    disposeLosses(trainer.step(x, xr));
    const after1 = await Promise.all(keys.map((k) => model.store.get(k).data()));
    const frozenAtStep1 = unchangedSince(before, after1);
    expect(frozenAtStep1.every((k) => /selfAtt\.[fgho]\.weight_orig$/.test(k))).toBe(true);
    disposeLosses(trainer.step(x, xr));
    const after2 = await Promise.all(keys.map((k) => model.store.get(k).data()));
    expect(unchangedSince(before, after2)).toEqual([]);
    expect(unchangedSince(after1, after2)).toEqual([]);
    for (const prefix of ['netEncM.', 'netGenX.net.0.', 'netGenX.net.1.', 'netGenX.net.2.', 'netDX.', 'netRecZ.']) {
      expect(
        keys.some((k) => k.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }
    const sums = await tf.sum(model.masks(x), 3).data();
    for (const s of sums) expect(s).toBeCloseTo(1, 5);
    trainer.dispose();
    model.dispose();
  });

  it('keeps the tensor count identical after steps 2 and 10 (nothing leaks)', async () => {
    const model = new RedoModel(preset('tiny'), 4);
    const trainer = new RedoTrainer(model, 4);
    const data = { count: 8, size: 32, pixels: new Float32Array(8 * 32 * 32 * 3).map((_, i) => Math.sin(i)) };
    const counts: number[] = [];
    const bytes: number[] = [];
    for (let i = 1; i <= 10; i++) {
      const l = trainer.stepOn(data, { batchSize: 2 });
      await readLosses(l);
      disposeLosses(l);
      counts.push(tf.memory().numTensors);
      bytes.push(tf.memory().numBytes);
    }
    expect(counts[9]).toBe(counts[1]);
    expect(bytes[9]).toBe(bytes[1]);
    trainer.dispose();
    model.dispose();
  });

  it('z and batches derive from (seed, restarts, iteration): two trainers with one seed stay identical', async () => {
    const run = async () => {
      const model = new RedoModel(preset('tiny'), 5);
      const trainer = new RedoTrainer(model, 5);
      const data = { count: 6, size: 32, pixels: new Float32Array(6 * 32 * 32 * 3).map((_, i) => Math.cos(i)) };
      let last: LossValues | undefined;
      for (let i = 0; i < 3; i++) {
        const l = trainer.stepOn(data, { batchSize: 2 });
        last = await readLosses(l);
        disposeLosses(l);
      }
      trainer.dispose();
      model.dispose();
      return last!;
    };
    expect(await run()).toEqual(await run());
  });
});

describe('collapse watch', () => {
  it('restarts (re-initialised weights, iteration 0) when the smallest region area is under the threshold early', async () => {
    const model = new RedoModel(preset('tiny', { collapseThreshold: 0.1, collapseLastIteration: 100 }), 6);
    const trainer = new RedoTrainer(model, 6);
    const w0 = await model.store.get('netEncM.out.mods.9.weight').data();
    trainer.iteration = 50;
    expect(trainer.checkCollapse(0.2)).toBe(false);
    expect(trainer.checkCollapse(0.05)).toBe(true);
    expect(trainer.restarts).toBe(1);
    expect(trainer.iteration).toBe(0);
    const w1 = await model.store.get('netEncM.out.mods.9.weight').data();
    expect(Array.from(w1)).not.toEqual(Array.from(w0));
    trainer.iteration = 100;
    expect(trainer.checkCollapse(0.01)).toBe(false); // past the last iteration the watch is off
    trainer.dispose();
    model.dispose();
  });
});

describe('binarised region areas (the collapse the soft area misses)', () => {
  /** The authors' train.py reading for n = 2: min((m0 >= .5).mean(), (m0 < .5).mean()). */
  const reference = (m0: number[]) => {
    const on = m0.filter((v) => v >= 0.5).length / m0.length;
    return Math.min(on, 1 - on);
  };
  const twoRegions = (m0: number[]) =>
    tf.tidy(() => {
      const a = tf.tensor4d(m0, [1, 1, m0.length, 1]);
      return tf.concat([a, tf.sub(1, a)], 3) as tf.Tensor4D;
    });
  const read = async (t: tf.Scalar) => (await t.data())[0]!;

  it("n = 2: exactly the reference's (mask ≥ 0.5) reading, ties and values next to 0.5 included", async () => {
    const rng = new Rng(3);
    const next = [0.5 - 2 ** -25, 0.5 + 2 ** -24].map(Math.fround); // the float32 values either side of 0.5
    const m0 = [0.5, ...next, 0, 1, ...Array.from({ length: 59 }, () => Math.fround(rng.next()))];
    const masks = twoRegions(m0);
    const f32 = Array.from(await masks.slice([0, 0, 0, 0], [1, 1, m0.length, 1]).data());
    const binary = smallestBinaryRegionArea(masks);
    expect(await read(binary)).toBe(reference(f32));
    tf.dispose([masks, binary]);
  });

  it('"every mask value just under 0.5": soft area ≈ 0.49, binarised 0, and only the binarised watch restarts it', async () => {
    const masks = twoRegions(Array.from({ length: 64 }, (_, i) => 0.49 - i * 1e-4));
    const soft = smallestRegionArea(masks);
    const binary = smallestBinaryRegionArea(masks);
    const [s, b] = [await read(soft), await read(binary)];
    expect(s).toBeGreaterThan(0.48);
    expect(b).toBe(0);
    expect(new CollapseWatch(0.1, 7000, 0).collapsed(100, s, b)).toBe(false); // the soft reading alone misses it
    expect(new CollapseWatch(0.1, 7000, 0.01).collapsed(100, s, b)).toBe(true);
    expect(new CollapseWatch(0.1, 7000, 0.01).collapsed(7000, s, b)).toBe(false); // past the last iteration: off
    expect(new CollapseWatch(0.1, 7000, 0.01).under(s, b)).toBe(true); // …but still seen (the trainer warns)
    expect(new CollapseWatch(0.1, 7000, 0.01).describe(s, b)).toBe(
      'smallest binarised region area 0.000 < 0.01 (a region owns almost no pixel)',
    );
    tf.dispose([masks, soft, binary]);
  });

  it('n = 3: the fraction of pixels each region owns (its mask is the largest), the smallest of the three', async () => {
    const m = tf.tensor4d([0.5, 0.3, 0.2, 0.1, 0.45, 0.45, 0.34, 0.33, 0.33, 0.2, 0.2, 0.6], [1, 2, 2, 3]);
    const b = smallestBinaryRegionArea(m);
    expect(await read(b)).toBe(0.25); // owners: 0, 1 (tie → first), 0, 2
    tf.dispose([m, b]);
  });

  it('a step returns both readings; the trainer restarts on the binarised one', async () => {
    const model = new RedoModel(preset('tiny', { collapseLastIteration: 100 }), 6);
    const trainer = new RedoTrainer(model, 6);
    const data = { count: 4, size: 32, pixels: new Float32Array(4 * 32 * 32 * 3).map((_, i) => Math.sin(i)) };
    const l = trainer.stepOn(data);
    const v = await readLosses(l);
    disposeLosses(l);
    expect(Object.keys(v)).toEqual(['gAdv', 'gRecZ', 'dReal', 'dFake', 'minArea', 'minAreaBinary']);
    expect(v.minAreaBinary).toBeGreaterThanOrEqual(0);
    expect(v.minAreaBinary).toBeLessThanOrEqual(0.5);
    expect(model.config.collapseBinaryThreshold).toBe(0.01);
    expect(trainer.checkCollapse({ minArea: 0.45, minAreaBinary: 0.02 })).toBe(false);
    expect(trainer.checkCollapse({ minArea: 0.45, minAreaBinary: 0 })).toBe(true);
    expect(trainer.restarts).toBe(1);
    trainer.dispose();
    model.dispose();
  });
});

describe('tiny on colored-2-MNIST', () => {
  it('trains 150 steps: losses move, nothing is NaN', async () => {
    const config = preset('tiny', { nRegions: 3 });
    const digits = splitDigits(loadMnistDigitsNode(), 'train');
    const c2m = generateColored2Mnist(digits, { count: 256, size: 32, seed: 11 });
    const data = { count: 256, size: 32, pixels: c2m.images };
    const model = new RedoModel(config, 11);
    const trainer = new RedoTrainer(model, 11);
    const history: LossValues[] = [];
    const t0 = performance.now();
    const steps = 150;
    for (let i = 0; i < steps; i++) {
      const l = trainer.stepOn(data);
      if (i % 10 === 9) history.push(await readLosses(l));
      disposeLosses(l);
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `tiny (n = 3, batch ${config.batchSize}) on colored-2-MNIST: ${steps} steps in ${seconds.toFixed(1)} s (${((seconds / steps) * 1000).toFixed(0)} ms/step)`,
    );
    console.table(history.filter((_, i) => i % 4 === 0));
    for (const h of history) for (const v of Object.values(h)) expect(Number.isFinite(v)).toBe(true);
    const first = history.slice(0, 3);
    const last = history.slice(-3);
    const mean = (hs: LossValues[], k: keyof LossValues) => hs.reduce((a, h) => a + h[k], 0) / hs.length;
    // the z-reconstruction error falls as δ learns; D's hinge terms leave their initial ≈1
    expect(mean(last, 'gRecZ')).toBeLessThan(0.8 * mean(first, 'gRecZ'));
    expect(Math.abs(mean(last, 'dReal') + mean(last, 'dFake') - (mean(first, 'dReal') + mean(first, 'dFake')))).toBeGreaterThan(0.05);
    trainer.dispose();
    model.dispose();
  }, 420_000); // ~2 minutes on a quiet 2-core machine; the margin is for a loaded one
});
