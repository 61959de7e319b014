import * as tf from './tf';
import { Rng, deriveSeed } from './random';

/**
 * A dataset in memory: N images NHWC. Photos are kept as bytes 0…255 (a quarter of the memory: 10,000 images at
 * 128 px are 0.5 GB, not 2 GB) and read as v / 127.5 − 1 (the authors' Normalize(0.5, 0.5)) a batch at a time;
 * generated or reference data may be float32 already in [−1, 1].
 */
export interface ImageSet {
  count: number;
  size: number;
  /** count·size·size·3 values: bytes 0…255, or float32 in [−1, 1] */
  pixels: Uint8Array | Float32Array;
}

/** Planes of values (images, masks): bytes or float32, as a data set holds them. */
export type Planes = Uint8Array | Float32Array;

/** Bytes 0…255 → float32 in [−1, 1] (x / 127.5 − 1); float32 values are copied as they are. */
export function toUnitRange(values: Planes): Float32Array {
  if (values instanceof Float32Array) return values.slice();
  const out = new Float32Array(values.length);
  for (let k = 0; k < values.length; k++) out[k] = values[k]! / 127.5 - 1;
  return out;
}

/** Images [start, start + k) as float32 NHWC values in [−1, 1]. */
export function imageSlice(data: ImageSet, start: number, k: number): Float32Array {
  const per = data.size * data.size * 3;
  return toUnitRange(data.pixels.subarray(start * per, (start + k) * per));
}

/** Images at the given indices as float32 NHWC values in [−1, 1]. */
export function imageValues(data: ImageSet, indices: number[]): Float32Array {
  return toUnitRange(subsetPlanes(data.pixels, data.size * data.size * 3, indices));
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
  return tf.tensor4d(imageValues(data, indices), [indices.length, data.size, data.size, 3]);
}

/** The images at the given indices, as a new ImageSet (pixels copied, bytes staying bytes). */
export function subsetImages(data: ImageSet, indices: number[]): ImageSet {
  return { count: indices.length, size: data.size, pixels: subsetPlanes(data.pixels, data.size * data.size * 3, indices) };
}

/** Planes of `plane` values each (images, masks), those at the given indices, copied into one array of their type. */
export function subsetPlanes<T extends Planes>(planes: T, plane: number, indices: number[]): T {
  const out = (planes instanceof Uint8Array ? new Uint8Array(indices.length * plane) : new Float32Array(indices.length * plane)) as T;
  indices.forEach((src, i) => out.set(planes.subarray(src * plane, (src + 1) * plane), i * plane));
  return out;
}

/** Indices of `count` images spread evenly over a dataset of `total`. */
export function spreadIndices(total: number, count: number): number[] {
  const k = Math.min(total, count);
  return Array.from({ length: k }, (_, i) => Math.floor((i * total) / k));
}
