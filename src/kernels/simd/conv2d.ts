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
 * pixel where fewer than 4 remain (same values, same address).
 */

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

// The windows of the 4 pixels in progress: input row and column of the top-left tap, and its element index.
let Y0: i32 = 0, Y1: i32 = 0, Y2: i32 = 0, Y3: i32 = 0;
let C0: i32 = 0, C1: i32 = 0, C2: i32 = 0, C3: i32 = 0;
let E0: i32 = 0, E1: i32 = 0, E2: i32 = 0, E3: i32 = 0;

/** Sets Yk, Ck, Ek for output pixel p = (b·HO + y)·WO + x (divisions once per pixel, not per tap). */
// @ts-ignore: decorator
@inline
function windowOf(p: i32, k: i32): void {
  const r = p / WO;
  const b = r / HO;
  const yi = SH * (r - b * HO) - PT;
  const xi = SW * (p - r * WO) - PL;
  const e = ((b * H + yi) * W + xi) * CI;
  if (k == 0) { Y0 = yi; C0 = xi; E0 = e; }
  else if (k == 1) { Y1 = yi; C1 = xi; E1 = e; }
  else if (k == 2) { Y2 = yi; C2 = xi; E2 = e; }
  else { Y3 = yi; C3 = xi; E3 = e; }
}

// @ts-ignore: decorator
@inline
function windows(p0: i32, p1: i32, p2: i32, p3: i32): void {
  windowOf(p0, 0);
  windowOf(p1, 1);
  windowOf(p2, 2);
  windowOf(p3, 3);
}

/** Byte address of tap (i, j) of a window (tap offset t = (i·W + j)·CI), or ZERO where it lies in the padding. */
// @ts-ignore: decorator
@inline
function tapX(y: i32, c: i32, e: i32, i: i32, j: i32, t: i32): usize {
  if (<u32>(y + i) >= <u32>H || <u32>(c + j) >= <u32>W) return ZERO;
  return X + ((<usize>(e + t)) << 2);
}

/** 4 output pixels (p0…p3) × output channels o…o+7. */
function k4x8(p0: i32, p1: i32, p2: i32, p3: i32, o: i32, kh: i32): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  const ld = (<usize>CO) << 2;
  windows(p0, p1, p2, p3);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < KW; j++) {
      const t = (i * W + j) * CI;
      let x0 = tapX(Y0, C0, E0, i, j, t), x1 = tapX(Y1, C1, E1, i, j, t);
      let x2 = tapX(Y2, C2, E2, i, j, t), x3 = tapX(Y3, C3, E3, i, j, t);
      let pw = F + ((<usize>((i * KW + j) * CI * CO + o)) << 2);
      for (let n = 0; n < CI; n++) {
        const w0 = v128.load(pw), w1 = v128.load(pw, 16);
        let s = v128.load32_splat(x0);
        a00 = f32x4.add(a00, f32x4.mul(s, w0));
        a01 = f32x4.add(a01, f32x4.mul(s, w1));
        s = v128.load32_splat(x1);
        a10 = f32x4.add(a10, f32x4.mul(s, w0));
        a11 = f32x4.add(a11, f32x4.mul(s, w1));
        s = v128.load32_splat(x2);
        a20 = f32x4.add(a20, f32x4.mul(s, w0));
        a21 = f32x4.add(a21, f32x4.mul(s, w1));
        s = v128.load32_splat(x3);
        a30 = f32x4.add(a30, f32x4.mul(s, w0));
        a31 = f32x4.add(a31, f32x4.mul(s, w1));
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
  windows(p0, p1, p2, p3);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < KW; j++) {
      const t = (i * W + j) * CI;
      let x0 = tapX(Y0, C0, E0, i, j, t), x1 = tapX(Y1, C1, E1, i, j, t);
      let x2 = tapX(Y2, C2, E2, i, j, t), x3 = tapX(Y3, C3, E3, i, j, t);
      let pw = F + ((<usize>((i * KW + j) * CI * CO + o)) << 2);
      for (let n = 0; n < CI; n++) {
        const w = v128.load(pw);
        a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(x0), w));
        a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(x1), w));
        a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(x2), w));
        a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(x3), w));
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
    let o = 0;
    for (; o + 8 <= co; o += 8) {
      for (let p = t; p < end; p += 4) k4x8(p, min(p + 1, last), min(p + 2, last), min(p + 3, last), o, kh);
    }
    for (; o < co; o += 4) {
      for (let p = t; p < end; p += 4) k4x4(p, min(p + 1, last), min(p + 2, last), min(p + 3, last), o, kh);
    }
  }
}
