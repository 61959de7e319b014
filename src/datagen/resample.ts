/**
 * Separable resampling with a triangle filter widened by the scale factor when shrinking (PIL's antialiased
 * bilinear, `precompute_coeffs`): the taps of each output sample and the two passes that apply them. Shared by
 * the studio's resize + centre crop (src/data/resize.ts, torchvision's Resize + CenterCrop) and the objects data
 * set's crops and sprites (./objectsOnPhotos.ts). Pure: no DOM, no Node APIs. By hand: no library resamples a
 * fractional window of a float array with PIL's exact filter.
 */

/** Filter taps: for output sample i, `count[i]` weights from source index `start[i]`, `taps` slots each. */
export interface Taps {
  /** First source index of each output sample. */
  start: Int32Array;
  /** Number of taps of each output sample. */
  count: Int32Array;
  /** `taps` weights per output sample, normalised to sum 1. */
  weights: Float64Array;
  taps: number;
}

/**
 * Taps of `n` output samples of a signal of `inSize` source samples resampled by `scale` source samples per output
 * sample, output sample i centred at source coordinate `centre(i)` (edges clamped). Support max(scale, 1): the
 * bilinear triangle, widened when shrinking. A sample whose window holds no weight takes its first source sample.
 */
export function triangleTaps(inSize: number, n: number, scale: number, centre: (i: number) => number): Taps {
  const support = Math.max(scale, 1);
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Float64Array(n * taps);
  for (let i = 0; i < n; i++) {
    const c = centre(i);
    const lo = Math.max(Math.trunc(c - support + 0.5), 0);
    const hi = Math.min(Math.trunc(c + support + 0.5), inSize);
    const len = Math.max(Math.min(hi - lo, taps), 1);
    let sum = 0;
    for (let k = 0; k < len; k++) {
      const t = Math.abs((lo + k - c + 0.5) / support);
      const w = t < 1 ? 1 - t : 0;
      weights[i * taps + k] = w;
      sum += w;
    }
    if (sum > 0) for (let k = 0; k < len; k++) weights[i * taps + k]! /= sum;
    else weights[i * taps] = 1;
    start[i] = Math.min(lo, inSize - 1);
    count[i] = len;
  }
  return { start, count, weights, taps };
}

/**
 * Applies horizontal taps `tx` then vertical taps `ty` to an interleaved `channels`-channel image (row-major,
 * width·height·channels values): tx.count.length × ty.count.length floats in the source's range, not rounded.
 * `mirror` flips the result left-right. Only the source rows the vertical pass reads are filtered horizontally.
 */
export function applyTaps(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  tx: Taps,
  ty: Taps,
  mirror = false,
): Float32Array {
  const outW = tx.count.length;
  const outH = ty.count.length;
  let rowLo = height;
  let rowHi = 0;
  for (let i = 0; i < outH; i++) {
    rowLo = Math.min(rowLo, ty.start[i]!);
    rowHi = Math.max(rowHi, ty.start[i]! + ty.count[i]!);
  }
  const rows = Math.max(rowHi - rowLo, 0);
  const mid = new Float64Array(rows * outW * channels);
  for (let y = 0; y < rows; y++) {
    const srcRow = (y + rowLo) * width * channels;
    for (let x = 0; x < outW; x++) {
      const s = tx.start[x]!;
      const n = tx.count[x]!;
      const wb = x * tx.taps;
      const ox = mirror ? outW - 1 - x : x;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += tx.weights[wb + k]! * src[srcRow + Math.min(s + k, width - 1) * channels + c]!;
        mid[(y * outW + ox) * channels + c] = acc;
      }
    }
  }
  const out = new Float32Array(outW * outH * channels);
  const rowLen = outW * channels;
  for (let y = 0; y < outH; y++) {
    const s = ty.start[y]! - rowLo;
    const n = ty.count[y]!;
    const wb = y * ty.taps;
    for (let i = 0; i < rowLen; i++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += ty.weights[wb + k]! * mid[Math.min(s + k, rows - 1) * rowLen + i]!;
      out[y * rowLen + i] = acc;
    }
  }
  return out;
}
