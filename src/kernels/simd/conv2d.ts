/**
 * AssemblyScript (compiled by scripts/build-simd.ts, outside tsconfig): the forward convolution, in place on
 * tfjs-backend-wasm's heap (imported memory; pointers are byte offsets into it). src/kernels/simdKernels.ts also runs the
 * input gradient of a stride-1 convolution through it, as the forward convolution of dY with the flipped filter.
 *
 * conv2d: Y[b, y, x, o] = Σ_{i, j, n} X[b, SH·y + i − PT, SW·x + j − PL, n] · F[i, j, n, o], NHWC, CO a multiple of 4.
 * By hand because XNNPACK in tfjs-backend-wasm 4.22 reaches 19–25 GFLOP/s on ReDO's shapes (docs/performance.md).
 *
 * The loop: output pixels in flat (b, y, x) order, in tiles of TILE pixels (their input stays in cache); per tile,
 * per block of 8 output channels, per 4 pixels, 8 f32x4 accumulators run over the taps and input channels. A tap
 * that falls in the padding reads ZERO, a row of CI zeros the caller provides. The last block repeats the last
 * pixel where fewer than 4 remain (same values, same address). `table` is scratch for 3·TILE i32.
 */

import { madd } from './madd';

const TILE: i32 = 64;

let X: usize = 0;
let F: usize = 0;
let ZERO: usize = 0;
let H: i32 = 0;
let W: i32 = 0;
let CI: i32 = 0;
let HO: i32 = 0;
let WO: i32 = 0;
let CO: i32 = 0;
let KW: i32 = 0;
let SH: i32 = 0;
let SW: i32 = 0;
let PT: i32 = 0;
let PL: i32 = 0;

// The windows of the current tile's pixels, one (input row, input column, element index) of the top-left tap each, in
// TABLE (scratch from the caller): the divisions once per pixel, not per pixel and block of output channels.
let TABLE: usize = 0;
let T0: i32 = 0;

function windowsOf(t: i32, end: i32): void {
  T0 = t;
  let w = TABLE;
  for (let p = t; p < end; p++, w += 12) {
    const r = p / WO;
    const b = r / HO;
    const yi = SH * (r - b * HO) - PT;
    const xi = SW * (p - r * WO) - PL;
    store<i32>(w, yi);
    store<i32>(w, xi, 4);
    store<i32>(w, ((b * H + yi) * W + xi) * CI, 8);
  }
}

/** Output pixel p's window in TABLE. */
// @ts-ignore: decorator
@inline
function windowAt(p: i32): usize {
  return TABLE + (<usize>(p - T0)) * 12;
}

/** Byte address of tap (i, j) of a window (tap offset t = (i·W + j)·CI), or ZERO where it lies in the padding. */
// @ts-ignore: decorator
@inline
function tapX(w: usize, i: i32, j: i32, t: i32): usize {
  if (<u32>(load<i32>(w) + i) >= <u32>H || <u32>(load<i32>(w, 4) + j) >= <u32>W) return ZERO;
  return X + ((<usize>(load<i32>(w, 8) + t)) << 2);
}

/** 4 output pixels (p0…p3) × output channels o…o+7. */
function k4x8(p0: i32, p1: i32, p2: i32, p3: i32, o: i32, kh: i32): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  const ld = (<usize>CO) << 2;
  const w0 = windowAt(p0), w1 = windowAt(p1), w2 = windowAt(p2), w3 = windowAt(p3);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < KW; j++) {
      const t = (i * W + j) * CI;
      let x0 = tapX(w0, i, j, t), x1 = tapX(w1, i, j, t);
      let x2 = tapX(w2, i, j, t), x3 = tapX(w3, i, j, t);
      let pw = F + ((<usize>((i * KW + j) * CI * CO + o)) << 2);
      for (let n = 0; n < CI; n++) {
        const w0 = v128.load(pw), w1 = v128.load(pw, 16);
        let s = v128.load32_splat(x0);
        a00 = madd(s, w0, a00);
        a01 = madd(s, w1, a01);
        s = v128.load32_splat(x1);
        a10 = madd(s, w0, a10);
        a11 = madd(s, w1, a11);
        s = v128.load32_splat(x2);
        a20 = madd(s, w0, a20);
        a21 = madd(s, w1, a21);
        s = v128.load32_splat(x3);
        a30 = madd(s, w0, a30);
        a31 = madd(s, w1, a31);
        x0 += 4;
        x1 += 4;
        x2 += 4;
        x3 += 4;
        pw += ld;
      }
    }
  }
  const y = Y + ((<usize>o) << 2);
  v128.store(y + (<usize>p0) * ld, a00);
  v128.store(y + (<usize>p0) * ld, a01, 16);
  v128.store(y + (<usize>p1) * ld, a10);
  v128.store(y + (<usize>p1) * ld, a11, 16);
  v128.store(y + (<usize>p2) * ld, a20);
  v128.store(y + (<usize>p2) * ld, a21, 16);
  v128.store(y + (<usize>p3) * ld, a30);
  v128.store(y + (<usize>p3) * ld, a31, 16);
}

/** 4 output pixels × output channels o…o+3. */
function k4x4(p0: i32, p1: i32, p2: i32, p3: i32, o: i32, kh: i32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const ld = (<usize>CO) << 2;
  const w0 = windowAt(p0), w1 = windowAt(p1), w2 = windowAt(p2), w3 = windowAt(p3);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < KW; j++) {
      const t = (i * W + j) * CI;
      let x0 = tapX(w0, i, j, t), x1 = tapX(w1, i, j, t);
      let x2 = tapX(w2, i, j, t), x3 = tapX(w3, i, j, t);
      let pw = F + ((<usize>((i * KW + j) * CI * CO + o)) << 2);
      for (let n = 0; n < CI; n++) {
        const w = v128.load(pw);
        a0 = madd(v128.load32_splat(x0), w, a0);
        a1 = madd(v128.load32_splat(x1), w, a1);
        a2 = madd(v128.load32_splat(x2), w, a2);
        a3 = madd(v128.load32_splat(x3), w, a3);
        x0 += 4;
        x1 += 4;
        x2 += 4;
        x3 += 4;
        pw += ld;
      }
    }
  }
  const y = Y + ((<usize>o) << 2);
  v128.store(y + (<usize>p0) * ld, a0);
  v128.store(y + (<usize>p1) * ld, a1);
  v128.store(y + (<usize>p2) * ld, a2);
  v128.store(y + (<usize>p3) * ld, a3);
}

let Y: usize = 0;

export function conv2d(
  x: usize,
  f: usize,
  y: usize,
  zero: usize,
  table: usize,
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
  F = f;
  Y = y;
  ZERO = zero;
  TABLE = table;
  H = h;
  W = w;
  CI = ci;
  HO = ho;
  WO = wo;
  CO = co;
  KW = kw;
  SH = sh;
  SW = sw;
  PT = pt;
  PL = pl;
  const last = b * ho * wo - 1;
  for (let t = 0; t <= last; t += TILE) {
    const end = min(last + 1, t + TILE);
    windowsOf(t, end);
    let o = 0;
    for (; o + 8 <= co; o += 8) {
      for (let p = t; p < end; p += 4) k4x8(p, min(p + 1, last), min(p + 2, last), min(p + 3, last), o, kh);
    }
    for (; o < co; o += 4) {
      for (let p = t; p < end; p += 4) k4x4(p, min(p + 1, last), min(p + 2, last), min(p + 3, last), o, kh);
    }
  }
}

/** out[i, j, o, n] = f[KH−1−i, KW−1−j, n, o]: the filter of the input gradient, a forward convolution of dY. */
export function flipFilter(f: usize, out: usize, kh: i32, kw: i32, ci: i32, co: i32): void {
  const taps = kh * kw;
  const size = <usize>(ci * co);
  for (let t = 0; t < taps; t++) {
    const src = f + ((<usize>(taps - 1 - t) * size) << 2);
    const dst = out + ((<usize>t * size) << 2);
    for (let o = 0; o < co; o++) {
      for (let n = 0; n < ci; n++) store<f32>(dst + ((<usize>(o * ci + n)) << 2), load<f32>(src + ((<usize>(n * co + o)) << 2)));
    }
  }
}
