/** Inference without the training parts: F alone, from exported weights. */
import { beforeAll, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { exportWeights, preset, RedoModel, Segmenter } from '../src/redo';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

it('Segmenter(F weights) gives the masks of the full model, builds no G, D or δ', async () => {
  const config = preset('tiny', { nRegions: 3 });
  const model = new RedoModel(config, 21);
  const fOnly = await exportWeights(model, { prefix: 'netEncM.' });
  expect([...fOnly.keys()].every((k) => k.startsWith('netEncM.'))).toBe(true);
  const seg = new Segmenter(config, fOnly);
  const x = tf.randomUniform<tf.Rank.R4>([3, 32, 32, 3], -1, 1, 'float32', 4);
  const full = tf.tidy(() => model.masks(x));
  const a = await full.data();
  full.dispose();
  const before = tf.memory().numTensors;
  const masks = seg.segment(x);
  expect(masks.shape).toEqual([3, 32, 32, 3]);
  expect(Array.from(await masks.data())).toEqual(Array.from(a));
  expect(tf.memory().numTensors).toBe(before + 1); // only the masks it returned
  tf.dispose([x, masks]);
  seg.dispose();
  model.dispose();
});
