/**
 * AssemblyScript (not TypeScript: compiled by scripts/build-simd.ts, outside tsconfig) — WebAssembly SIMD kernels that
 * work in place on tfjs-backend-wasm's heap, whose memory they import. Pointers are byte offsets into that heap.
 *
 * conv2dFilterGrad: dW[i, j, n, o] = Σ_{b, y, x} X[b, SH·y + i − PT, SW·x + j − PL, n] · dY[b, y, x, o], NHWC, without
 * padding or patch copies. By hand because tfjs-backend-wasm 4.22 has no filter gradient and XNNPACK's forward
 * convolution, used in its place, reaches half the speed of its own forward pass on it (docs/performance.md).
 *
 * The loop: output rows in tiles of about TILE pixels (kept in cache); per tile, per tap (i, j), per block of 4 input
 * × 8 output channels, 8 f32x4 accumulators run over the tile's pixels, loaded from and stored back to dW (output
 * channels past a multiple of 4: blocks of 16 input channels). Each dW entry is one chain of additions over the pixels
 * in (b, y, x) order.
 */

import { madd } from './madd';

const TILE: i32 = 128;

// The geometry of the call in progress (set once per call, read once per row).
let X: usize = 0;
let DY: usize = 0;
let H: i32 = 0;
let W: i32 = 0;
let CI: i32 = 0;
let HO: i32 = 0;
let WO: i32 = 0;
let CO: i32 = 0;
let SH: i32 = 0;
let SW: i32 = 0;
let PT: i32 = 0;

/**
 * Byte address of X[b, SH·y + i − PT, xs, n] for output row r = b·HO + y, or 0 where that input row is padding. The
 * kernels walk (b, y) along with r rather than divide r by HO per row (small widths run few pixels per row).
 */
// @ts-ignore: decorator
@inline
function rowX(b: i32, y: i32, i: i32, xs: i32, n: i32): usize {
  const yi = SH * y + i - PT;
  if (<u32>yi >= <u32>H) return 0;
  return X + ((<usize>(((b * H + yi) * W + xs) * CI + n)) << 2);
}

// @ts-ignore: decorator
@inline
function rowDY(r: i32, xx0: i32, o: i32): usize {
  return DY + ((<usize>((r * WO + xx0) * CO + o)) << 2);
}

/** 4 input channels × 8 output channels. */
function k4x8(r0: i32, r1: i32, i: i32, xs: i32, xx0: i32, count: i32, n: i32, o: i32, out: usize): void {
  const ld = (<usize>CO) << 2;
  let a00 = v128.load(out), a01 = v128.load(out, 16);
  let a10 = v128.load(out + ld), a11 = v128.load(out + ld, 16);
  let a20 = v128.load(out + 2 * ld), a21 = v128.load(out + 2 * ld, 16);
  let a30 = v128.load(out + 3 * ld), a31 = v128.load(out + 3 * ld, 16);
  const xstep = (<usize>(SW * CI)) << 2;
  let b = r0 / HO;
  let y = r0 - b * HO;
  for (let r = r0; r < r1; r++, y = y + 1 == HO ? 0 : y + 1, b = y == 0 ? b + 1 : b) {
    let px = rowX(b, y, i, xs, n);
    if (px == 0) continue;
    let pd = rowDY(r, xx0, o);
    for (let k = 0; k < count; k++) {
      const d0 = v128.load(pd), d1 = v128.load(pd, 16);
      let s = v128.load32_splat(px);
      a00 = madd(s, d0, a00);
      a01 = madd(s, d1, a01);
      s = v128.load32_splat(px, 4);
      a10 = madd(s, d0, a10);
      a11 = madd(s, d1, a11);
      s = v128.load32_splat(px, 8);
      a20 = madd(s, d0, a20);
      a21 = madd(s, d1, a21);
      s = v128.load32_splat(px, 12);
      a30 = madd(s, d0, a30);
      a31 = madd(s, d1, a31);
      px += xstep;
      pd += ld;
    }
  }
  v128.store(out, a00);
  v128.store(out, a01, 16);
  v128.store(out + ld, a10);
  v128.store(out + ld, a11, 16);
  v128.store(out + 2 * ld, a20);
  v128.store(out + 2 * ld, a21, 16);
  v128.store(out + 3 * ld, a30);
  v128.store(out + 3 * ld, a31, 16);
}

/** 4 input channels × 4 output channels. */
function k4x4(r0: i32, r1: i32, i: i32, xs: i32, xx0: i32, count: i32, n: i32, o: i32, out: usize): void {
  const ld = (<usize>CO) << 2;
  let a0 = v128.load(out), a1 = v128.load(out + ld), a2 = v128.load(out + 2 * ld), a3 = v128.load(out + 3 * ld);
  const xstep = (<usize>(SW * CI)) << 2;
  let b = r0 / HO;
  let y = r0 - b * HO;
  for (let r = r0; r < r1; r++, y = y + 1 == HO ? 0 : y + 1, b = y == 0 ? b + 1 : b) {
    let px = rowX(b, y, i, xs, n);
    if (px == 0) continue;
    let pd = rowDY(r, xx0, o);
    for (let k = 0; k < count; k++) {
      const d = v128.load(pd);
      a0 = madd(v128.load32_splat(px), d, a0);
      a1 = madd(v128.load32_splat(px, 4), d, a1);
      a2 = madd(v128.load32_splat(px, 8), d, a2);
      a3 = madd(v128.load32_splat(px, 12), d, a3);
      px += xstep;
      pd += ld;
    }
  }
  v128.store(out, a0);
  v128.store(out + ld, a1);
  v128.store(out + 2 * ld, a2);
  v128.store(out + 3 * ld, a3);
}

/** 1 input channel × 8 output channels. */
function k1x8(r0: i32, r1: i32, i: i32, xs: i32, xx0: i32, count: i32, n: i32, o: i32, out: usize): void {
  const ld = (<usize>CO) << 2;
  let a0 = v128.load(out), a1 = v128.load(out, 16);
  const xstep = (<usize>(SW * CI)) << 2;
  let b = r0 / HO;
  let y = r0 - b * HO;
  for (let r = r0; r < r1; r++, y = y + 1 == HO ? 0 : y + 1, b = y == 0 ? b + 1 : b) {
    let px = rowX(b, y, i, xs, n);
    if (px == 0) continue;
    let pd = rowDY(r, xx0, o);
    for (let k = 0; k < count; k++) {
      const s = v128.load32_splat(px);
      a0 = madd(s, v128.load(pd), a0);
      a1 = madd(s, v128.load(pd, 16), a1);
      px += xstep;
      pd += ld;
    }
  }
  v128.store(out, a0);
  v128.store(out, a1, 16);
}

/** 1 input channel × 4 output channels. */
function k1x4(r0: i32, r1: i32, i: i32, xs: i32, xx0: i32, count: i32, n: i32, o: i32, out: usize): void {
  const ld = (<usize>CO) << 2;
  let a = v128.load(out);
  const xstep = (<usize>(SW * CI)) << 2;
  let b = r0 / HO;
  let y = r0 - b * HO;
  for (let r = r0; r < r1; r++, y = y + 1 == HO ? 0 : y + 1, b = y == 0 ? b + 1 : b) {
    let px = rowX(b, y, i, xs, n);
    if (px == 0) continue;
    let pd = rowDY(r, xx0, o);
    for (let k = 0; k < count; k++) {
      a = madd(v128.load32_splat(px), v128.load(pd), a);
      px += xstep;
      pd += ld;
    }
  }
  v128.store(out, a);
}

/** 4 consecutive dW entries of one output channel (stride CO apart) as a vector, and back. */
// @ts-ignore: decorator
@inline
function gather(p: usize, ld: usize): v128 {
  let v = f32x4.splat(load<f32>(p));
  v = f32x4.replace_lane(v, 1, load<f32>(p + ld));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * ld));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * ld));
}

// @ts-ignore: decorator
@inline
function scatter(p: usize, ld: usize, v: v128): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  store<f32>(p + ld, f32x4.extract_lane(v, 1));
  store<f32>(p + 2 * ld, f32x4.extract_lane(v, 2));
  store<f32>(p + 3 * ld, f32x4.extract_lane(v, 3));
}

/** 16 input channels × 1 output channel: for the output channels past the last multiple of 4 (masks, RGB). */
function k16x1(r0: i32, r1: i32, i: i32, xs: i32, xx0: i32, count: i32, n: i32, o: i32, out: usize): void {
  const ld = (<usize>CO) << 2;
  let a0 = gather(out, ld), a1 = gather(out + 4 * ld, ld), a2 = gather(out + 8 * ld, ld), a3 = gather(out + 12 * ld, ld);
  const xstep = (<usize>(SW * CI)) << 2;
  let b = r0 / HO;
  let y = r0 - b * HO;
  for (let r = r0; r < r1; r++, y = y + 1 == HO ? 0 : y + 1, b = y == 0 ? b + 1 : b) {
    let px = rowX(b, y, i, xs, n);
    if (px == 0) continue;
    let pd = rowDY(r, xx0, o);
    for (let k = 0; k < count; k++) {
      const s = v128.load32_splat(pd);
      a0 = madd(v128.load(px), s, a0);
      a1 = madd(v128.load(px, 16), s, a1);
      a2 = madd(v128.load(px, 32), s, a2);
      a3 = madd(v128.load(px, 48), s, a3);
      px += xstep;
      pd += ld;
    }
  }
  scatter(out, ld, a0);
  scatter(out + 4 * ld, ld, a1);
  scatter(out + 8 * ld, ld, a2);
  scatter(out + 12 * ld, ld, a3);
}

/** 4 input channels × 1 output channel. */
function k4x1(r0: i32, r1: i32, i: i32, xs: i32, xx0: i32, count: i32, n: i32, o: i32, out: usize): void {
  const ld = (<usize>CO) << 2;
  let a = gather(out, ld);
  const xstep = (<usize>(SW * CI)) << 2;
  let b = r0 / HO;
  let y = r0 - b * HO;
  for (let r = r0; r < r1; r++, y = y + 1 == HO ? 0 : y + 1, b = y == 0 ? b + 1 : b) {
    let px = rowX(b, y, i, xs, n);
    if (px == 0) continue;
    let pd = rowDY(r, xx0, o);
    for (let k = 0; k < count; k++) {
      a = madd(v128.load(px), v128.load32_splat(pd), a);
      px += xstep;
      pd += ld;
    }
  }
  scatter(out, ld, a);
}

/** 1 input channel × 1 output channel. */
function k1x1(r0: i32, r1: i32, i: i32, xs: i32, xx0: i32, count: i32, n: i32, o: i32, out: usize): void {
  const ld = (<usize>CO) << 2;
  let a = load<f32>(out);
  const xstep = (<usize>(SW * CI)) << 2;
  let b = r0 / HO;
  let y = r0 - b * HO;
  for (let r = r0; r < r1; r++, y = y + 1 == HO ? 0 : y + 1, b = y == 0 ? b + 1 : b) {
    let px = rowX(b, y, i, xs, n);
    if (px == 0) continue;
    let pd = rowDY(r, xx0, o);
    for (let k = 0; k < count; k++) {
      a += load<f32>(px) * load<f32>(pd);
      px += xstep;
      pd += ld;
    }
  }
  store<f32>(out, a);
}

/** ⌈a / b⌉ for b > 0. */
// @ts-ignore: decorator
@inline
function ceilDiv(a: i32, b: i32): i32 {
  return a > 0 ? (a + b - 1) / b : -(-a / b);
}

export function conv2dFilterGrad(
  x: usize,
  dy: usize,
  dw: usize,
  b: i32,
  h: i32,
  w: i32,
  ci: i32,
  ho: i32,
  wo: i32,
  co: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  pt: i32,
  pl: i32,
): void {
  X = x;
  DY = dy;
  H = h;
  W = w;
  CI = ci;
  HO = ho;
  WO = wo;
  CO = co;
  SH = sh;
  SW = sw;
  PT = pt;
  memory.fill(dw, 0, (<usize>(kh * kw * ci * co)) << 2);
  const rows = b * ho;
  const tile = max(1, TILE / wo);
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = min(rows, r0 + tile);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        // the output columns whose input column sw·x + j − pl lies inside [0, w)
        const xx0 = max(0, ceilDiv(pl - j, sw));
        const xx1 = min(wo, (w - 1 + pl - j) / sw + 1);
        if (xx1 <= xx0) continue;
        const xs = sw * xx0 + j - pl;
        const count = xx1 - xx0;
        const tap = dw + ((<usize>((i * kw + j) * ci * co)) << 2);
        const vo = co & ~3; // output channels in vectors; the rest one at a time, with input channels in vectors
        let n = 0;
        for (; n + 4 <= ci; n += 4) {
          const out = tap + ((<usize>(n * co)) << 2);
          let o = 0;
          for (; o + 8 <= vo; o += 8) k4x8(r0, r1, i, xs, xx0, count, n, o, out + ((<usize>o) << 2));
          for (; o < vo; o += 4) k4x4(r0, r1, i, xs, xx0, count, n, o, out + ((<usize>o) << 2));
        }
        for (; n < ci; n++) {
          const out = tap + ((<usize>(n * co)) << 2);
          let o = 0;
          for (; o + 8 <= vo; o += 8) k1x8(r0, r1, i, xs, xx0, count, n, o, out + ((<usize>o) << 2));
          for (; o < vo; o += 4) k1x4(r0, r1, i, xs, xx0, count, n, o, out + ((<usize>o) << 2));
        }
        for (let o = vo; o < co; o++) {
          n = 0;
          for (; n + 16 <= ci; n += 16) k16x1(r0, r1, i, xs, xx0, count, n, o, tap + ((<usize>(n * co + o)) << 2));
          for (; n + 4 <= ci; n += 4) k4x1(r0, r1, i, xs, xx0, count, n, o, tap + ((<usize>(n * co + o)) << 2));
          for (; n < ci; n++) k1x1(r0, r1, i, xs, xx0, count, n, o, tap + ((<usize>(n * co + o)) << 2));
        }
      }
    }
  }
}
