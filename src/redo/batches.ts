import * as tf from './tf';
import { Rng, deriveSeed } from './random';

/** A dataset in memory: N images, NHWC float32 in [-1, 1]. */
export interface ImageSet {
  count: number;
  size: number;
  /** count·size·size·3 values */
  pixels: Float32Array;
}

/**
 * The two independent batches of one iteration (x to redraw, xReal for D), drawn uniformly with
 * replacement from a stream seeded by (seed, restarts, iteration): a resumed run picks the same images.
 */
export function sampleBatches(
  data: ImageSet,
  batchSize: number,
  seed: number,
  restarts: number,
  iteration: number,
): { x: tf.Tensor4D; xReal: tf.Tensor4D } {
  const rng = new Rng(deriveSeed(seed, restarts, iteration, 0xba7c4));
  const pick = () => gatherImages(data, Array.from({ length: batchSize }, () => rng.int(data.count)));
  return { x: pick(), xReal: pick() };
}

/** Images at the given indices as a [k, S, S, 3] tensor. */
export function gatherImages(data: ImageSet, indices: number[]): tf.Tensor4D {
  const per = data.size * data.size * 3;
  const out = new Float32Array(indices.length * per);
  indices.forEach((idx, i) => out.set(data.pixels.subarray(idx * per, (idx + 1) * per), i * per));
  return tf.tensor4d(out, [indices.length, data.size, data.size, 3]);
}
