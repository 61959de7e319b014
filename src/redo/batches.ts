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
  const pick = () =>
    gatherImages(
      data,
      Array.from({ length: batchSize }, () => rng.int(data.count)),
    );
  return { x: pick(), xReal: pick() };
}

/** Images at the given indices as a [k, S, S, 3] tensor. */
export function gatherImages(data: ImageSet, indices: number[]): tf.Tensor4D {
  return tf.tensor4d(subsetImages(data, indices).pixels, [indices.length, data.size, data.size, 3]);
}

/** The images at the given indices, as a new ImageSet (pixels copied). */
export function subsetImages(data: ImageSet, indices: number[]): ImageSet {
  return { count: indices.length, size: data.size, pixels: subsetPlanes(data.pixels, data.size * data.size * 3, indices) };
}

/** Planes of `plane` values each (images, masks), those at the given indices, copied into one array. */
export function subsetPlanes(planes: Float32Array, plane: number, indices: number[]): Float32Array {
  const out = new Float32Array(indices.length * plane);
  indices.forEach((src, i) => out.set(planes.subarray(src * plane, (src + 1) * plane), i * plane));
  return out;
}

/** Indices of `count` images spread evenly over a dataset of `total`. */
export function spreadIndices(total: number, count: number): number[] {
  const k = Math.min(total, count);
  return Array.from({ length: k }, (_, i) => Math.floor((i * total) / k));
}
