/**
 * Pure resize / centre-crop math (no DOM, no Node APIs): what torchvision's `Resize(S)` followed by
 * `CenterCrop(S)` does to a PIL image, which is how the ReDO reference prepares its inputs.
 *
 * - Resize(S): the shorter side becomes S, the longer one `floor(S · long / short)`.
 * - Resampling: PIL's antialiased bilinear filter (triangle of support 1, widened by the scale factor when
 *   shrinking, so every source pixel contributes); for 8-bit images with PIL's own fixed-point arithmetic
 *   (same bytes as PIL), for masks in floating point.
 * - CenterCrop(S): offset `round((resized − S) / 2)` on each axis with Python's round (half to even).
 *
 * Only the S×S output pixels inside the crop are computed; the result equals resizing the whole image and
 * cropping afterwards.
 */
import { applyTaps, triangleTaps, type Taps } from '../datagen/resample';

export interface CropGeometry {
  /** Size of the whole image after Resize(S). */
  resizedWidth: number;
  resizedHeight: number;
  /** Top-left corner of the S×S crop within the resized image. */
  left: number;
  top: number;
}

/** Python's round() of x/2 for an integer x ≥ 0 (ties to even). */
function halfRoundEven(x: number): number {
  const q = Math.floor(x / 2);
  if (x % 2 === 0) return q;
  return q % 2 === 0 ? q : q + 1; // q + 0.5 rounds to the even one of q, q + 1
}

export function cropGeometry(width: number, height: number, size: number): CropGeometry {
  if (!(width >= 1 && height >= 1 && size >= 1) || ![width, height, size].every(Number.isInteger)) {
    throw new Error(`cropGeometry: bad sizes ${width}×${height} → ${size}`);
  }
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.floor((size * long) / short);
  const resizedWidth = width <= height ? size : newLong;
  const resizedHeight = width <= height ? newLong : size;
  return { resizedWidth, resizedHeight, left: halfRoundEven(resizedWidth - size), top: halfRoundEven(resizedHeight - size) };
}

/** PIL's `precompute_coeffs` for the bilinear filter: output samples `first … first + n − 1` of a resize of `inSize` to `outSize`. */
function coefficients(inSize: number, outSize: number, first: number, n: number): Taps {
  const scale = inSize / outSize;
  return triangleTaps(inSize, n, scale, (i) => (first + i + 0.5) * scale);
}

/**
 * Resize (shorter side → `size`) and centre-crop a pixel array of `channels` interleaved channels
 * (row-major, `width·height·channels` values). Returns `size·size·channels` float values (not rounded),
 * in the source's value range.
 */
export function resizeCropPlanes(src: ArrayLike<number>, width: number, height: number, channels: number, size: number): Float32Array {
  if (src.length !== width * height * channels) {
    throw new Error(`resizeCropPlanes: ${src.length} values for ${width}×${height}×${channels}`);
  }
  const g = cropGeometry(width, height, size);
  return applyTaps(
    src,
    width,
    height,
    channels,
    coefficients(width, g.resizedWidth, g.left, size),
    coefficients(height, g.resizedHeight, g.top, size),
  );
}

const PRECISION_BITS = 32 - 8 - 2; // PIL's fixed point for 8-bit images
const ONE = 2 ** PRECISION_BITS;

/** PIL's normalize_coeffs_8bpc: weights as integers of PRECISION_BITS fractional bits. */
function fixedPoint(c: Taps): Int32Array {
  const kk = new Int32Array(c.weights.length);
  for (let i = 0; i < kk.length; i++) {
    const w = c.weights[i]!;
    kk[i] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
  }
  return kk;
}

/** PIL's clip8: a fixed-point sum (rounding offset included) to a byte. */
function clip8(ss: number): number {
  if (ss >= ONE * 256) return 255;
  if (ss <= 0) return 0;
  return Math.floor(ss / ONE);
}

/**
 * An 8-bit image (`channels` = 3 for RGB, 4 for RGBA whose alpha is dropped, as PIL's convert('RGB') does)
 * resized and centre-cropped to `size`×`size` RGB bytes, with PIL's 8-bit fixed-point arithmetic (horizontal
 * pass rounded to bytes, then vertical pass), so the bytes equal torchvision's Resize + CenterCrop on a PIL image.
 */
export function resizeCropRgb(src: ArrayLike<number>, width: number, height: number, channels: 3 | 4, size: number): Uint8Array {
  if (src.length !== width * height * channels) {
    throw new Error(`resizeCropRgb: ${src.length} values for ${width}×${height}×${channels}`);
  }
  const g = cropGeometry(width, height, size);
  const cx = coefficients(width, g.resizedWidth, g.left, size);
  const cy = coefficients(height, g.resizedHeight, g.top, size);
  const kx = fixedPoint(cx);
  const ky = fixedPoint(cy);
  let rowLo = height;
  let rowHi = 0;
  for (let i = 0; i < size; i++) {
    rowLo = Math.min(rowLo, cy.start[i]!);
    rowHi = Math.max(rowHi, cy.start[i]! + cy.count[i]!);
  }
  const mid = new Uint8Array(Math.max(rowHi - rowLo, 0) * size * 3);
  for (let y = rowLo; y < rowHi; y++) {
    const srcRow = y * width * channels;
    const midRow = (y - rowLo) * size * 3;
    for (let x = 0; x < size; x++) {
      const s = cx.start[x]!;
      const n = cx.count[x]!;
      const wBase = x * cx.taps;
      for (let c = 0; c < 3; c++) {
        let ss = ONE / 2;
        for (let k = 0; k < n; k++) ss += kx[wBase + k]! * src[srcRow + (s + k) * channels + c]!;
        mid[midRow + x * 3 + c] = clip8(ss);
      }
    }
  }
  const out = new Uint8Array(size * size * 3);
  const rowLen = size * 3;
  for (let y = 0; y < size; y++) {
    const s = cy.start[y]! - rowLo;
    const n = cy.count[y]!;
    const wBase = y * cy.taps;
    for (let i = 0; i < rowLen; i++) {
      let ss = ONE / 2;
      for (let k = 0; k < n; k++) ss += ky[wBase + k]! * mid[(s + k) * rowLen + i]!;
      out[y * rowLen + i] = clip8(ss);
    }
  }
  return out;
}

/**
 * A ground-truth mask image (8-bit, `channels` 1, 3 or 4) as a binary object mask: 1 = object.
 * - A grey-level mask (every pixel has R = G = B): object where the grey level is ≥ 128.
 * - A coloured one (e.g. Oxford Flowers' segmentations, object pixels on a flat blue): the most frequent
 *   colour is the background, every other colour is object.
 * Alpha, when present, is ignored.
 */
export function binariseMask(src: ArrayLike<number>, width: number, height: number, channels: 1 | 3 | 4): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(n);
  if (channels === 1) {
    for (let i = 0; i < n; i++) out[i] = src[i]! >= 128 ? 1 : 0;
    return out;
  }
  let grey = true;
  for (let i = 0; i < n && grey; i++) {
    const p = i * channels;
    grey = src[p] === src[p + 1] && src[p] === src[p + 2];
  }
  if (grey) {
    for (let i = 0; i < n; i++) out[i] = src[i * channels]! >= 128 ? 1 : 0;
    return out;
  }
  const counts = new Map<number, number>();
  let background = 0;
  let best = 0;
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    const key = (src[p]! << 16) | (src[p + 1]! << 8) | src[p + 2]!;
    const c = (counts.get(key) ?? 0) + 1;
    counts.set(key, c);
    if (c > best) {
      best = c;
      background = key;
    }
  }
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    out[i] = ((src[p]! << 16) | (src[p + 1]! << 8) | src[p + 2]!) === background ? 0 : 1;
  }
  return out;
}

/** A binary mask (0/1 per pixel) resized and centre-cropped like its image, then thresholded at 0.5. */
export function resizeCropMask(mask: ArrayLike<number>, width: number, height: number, size: number): Uint8Array {
  const f = resizeCropPlanes(mask, width, height, 1, size);
  const out = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = f[i]! >= 0.5 ? 1 : 0;
  return out;
}
