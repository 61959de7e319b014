/**
 * AssemblyScript (compiled by scripts/build-simd.ts, outside tsconfig): the filter gradient of a 3×3 stride-1
 * convolution by F(2×2, 3×3), the transpose of winograd.ts. Its tile is Aᵀ[U ⊙ V]A with U = G g Gᵀ, so with
 * P = A dY Aᵀ of each tile's 2×2 output gradient, dU[ξ][n][o] = Σ_t V[ξ][t][n] · P[ξ][t][o] and dW = Gᵀ dU G:
 * 16 multiplies per tile and channel pair instead of 36.
 *
 * winogradFilterGrad: dW[i, j, n, o] = Σ_{b, y, x} X[b, y + i − PT, x + j − PL, n] · dY[b, y, x, o], NHWC, CO a
 * multiple of 4. Per block of TB tiles: their windows to V[ξ][t][n] (winogradTiles.ts), their dY to P[ξ][t][o], and
 * dU[ξ] += V[ξ]ᵀ·P[ξ] in 4 × 8 register blocks; at the end, dU to dW.
 *
 * Scratch (from the caller, `s`): dU 16·CI4·CO, V 16·(TB·CI4 + 16), P 16·(TB·CO + 16) float32 (CI4: CI rounded up
 * to 4), then 80 i32; `zero`: CI4 zeros.
 */

import { madd } from './madd';
import { tilePixel, transformWindow } from './winogradTiles';

let CO: i32 = 0;
let ROW: usize = 0; // V[ξ][t] to V[ξ][t + 1], bytes

/** dU[ξ][n…n+3][o…o+7] += Σ_t V[ξ][t][n…n+3] P[ξ][t][o…o+7] over nt tiles (v: V[ξ][0][n], p: P[ξ][0][o]). */
function k4x8(v: usize, p: usize, du: usize, nt: i32): void {
  const ld = (<usize>CO) << 2;
  let a00 = v128.load(du), a01 = v128.load(du, 16), a10 = v128.load(du + ld), a11 = v128.load(du + ld, 16);
  let a20 = v128.load(du + 2 * ld), a21 = v128.load(du + 2 * ld, 16), a30 = v128.load(du + 3 * ld), a31 = v128.load(du + 3 * ld, 16);
  for (let t = 0; t < nt; t++) {
    const w0 = v128.load(p), w1 = v128.load(p, 16);
    let s = v128.load32_splat(v);
    a00 = madd(s, w0, a00);
    a01 = madd(s, w1, a01);
    s = v128.load32_splat(v, 4);
    a10 = madd(s, w0, a10);
    a11 = madd(s, w1, a11);
    s = v128.load32_splat(v, 8);
    a20 = madd(s, w0, a20);
    a21 = madd(s, w1, a21);
    s = v128.load32_splat(v, 12);
    a30 = madd(s, w0, a30);
    a31 = madd(s, w1, a31);
    v += ROW;
    p += ld;
  }
  v128.store(du, a00);
  v128.store(du, a01, 16);
  v128.store(du + ld, a10);
  v128.store(du + ld, a11, 16);
  v128.store(du + 2 * ld, a20);
  v128.store(du + 2 * ld, a21, 16);
  v128.store(du + 3 * ld, a30);
  v128.store(du + 3 * ld, a31, 16);
}

/** As k4x8 for output channels o…o+3. */
function k4x4(v: usize, p: usize, du: usize, nt: i32): void {
  const ld = (<usize>CO) << 2;
  let a0 = v128.load(du), a1 = v128.load(du + ld), a2 = v128.load(du + 2 * ld), a3 = v128.load(du + 3 * ld);
  for (let t = 0; t < nt; t++) {
    const w = v128.load(p);
    a0 = madd(v128.load32_splat(v), w, a0);
    a1 = madd(v128.load32_splat(v, 4), w, a1);
    a2 = madd(v128.load32_splat(v, 8), w, a2);
    a3 = madd(v128.load32_splat(v, 12), w, a3);
    v += ROW;
    p += ld;
  }
  v128.store(du, a0);
  v128.store(du + ld, a1);
  v128.store(du + 2 * ld, a2);
  v128.store(du + 3 * ld, a3);
}

/** Four entries ξ = 4r…4r + 3 of P: [a, a + b, a − b, −b] for a row [a, b] of A dY. */
// @ts-ignore: decorator
@inline
function row(p: usize, xi: usize, a: v128, b: v128): void {
  v128.store(p, a);
  v128.store(p + xi, f32x4.add(a, b));
  v128.store(p + 2 * xi, f32x4.sub(a, b));
  v128.store(p + 3 * xi, f32x4.neg(b));
}

/** (Gᵀ Q G)[·][j] of one row [a, b, c, d] of Gᵀ Q, to dW taps j = 0, 1, 2 (`tap` bytes apart). */
// @ts-ignore: decorator
@inline
function back(dw: usize, tap: usize, a: v128, b: v128, c: v128, d: v128): void {
  const half = f32x4.splat(0.5);
  const e = f32x4.mul(f32x4.add(b, c), half);
  v128.store(dw, f32x4.add(a, e));
  v128.store(dw + tap, f32x4.mul(f32x4.sub(b, c), half));
  v128.store(dw + 2 * tap, f32x4.add(e, d));
}

export function winogradFilterGrad(
  x: usize,
  dy: usize,
  dw: usize,
  zero: usize,
  s: usize,
  tb: i32,
  b: i32,
  h: i32,
  w: i32,
  ci: i32,
  ho: i32,
  wo: i32,
  co: i32,
  pt: i32,
  pl: i32,
): void {
  CO = co;
  const ci4 = (ci + 3) & ~3;
  ROW = (<usize>ci4) << 2;
  const du = s;
  // planes a cache line apart from a multiple of 4 KB (else the transforms' 16 stores per window fight for one L1 set)
  const duXi = (<usize>(ci4 * co)) << 2;
  const vXi = (<usize>(tb * ci4 + 16)) << 2;
  const pXi = (<usize>(tb * co + 16)) << 2;
  const v = du + 16 * duXi;
  const p = v + 16 * vXi;
  const addr = p + 16 * pXi;
  const ld = (<usize>co) << 2;
  memory.fill(du, 0, 16 * duXi);
  const th = (ho + 1) >> 1;
  const tw = (wo + 1) >> 1;
  const tiles = b * th * tw;
  for (let t0 = 0; t0 < tiles; t0 += tb) {
    const nt = min(tb, tiles - t0);
    for (let t = 0; t < nt; t++) {
      const q = t0 + t;
      transformWindow(x, zero, addr, v + <usize>t * ROW, vXi, q, th, tw, h, w, ci, pt, pl);
      // P = A dY Aᵀ of the tile's [[a, b], [c, d]] (zeros past the edge): A dY's rows [a, b], [a + c, b + d],
      // [a − c, b − d], [−c, −d]
      const pix = tilePixel(q, th, tw, ho, wo);
      const right = (pix % wo) + 1 < wo;
      const below = ((pix / wo) % ho) + 1 < ho;
      const src = dy + ((<usize>(pix * co)) << 2);
      const pt_ = p + <usize>t * ld;
      for (let o = 0; o < co; o += 4) {
        const o4 = (<usize>o) << 2;
        const zero4 = f32x4.splat(0);
        const a = v128.load(src + o4);
        const bb = right ? v128.load(src + ld + o4) : zero4;
        const c = below ? v128.load(src + (<usize>wo) * ld + o4) : zero4;
        const d = right && below ? v128.load(src + (<usize>wo) * ld + ld + o4) : zero4;
        const q0 = pt_ + o4;
        row(q0, pXi, a, bb);
        row(q0 + 4 * pXi, pXi, f32x4.add(a, c), f32x4.add(bb, d));
        row(q0 + 8 * pXi, pXi, f32x4.sub(a, c), f32x4.sub(bb, d));
        row(q0 + 12 * pXi, pXi, f32x4.neg(c), f32x4.neg(d));
      }
    }
    for (let xi = 0; xi < 16; xi++) {
      const vx = v + <usize>xi * vXi;
      const px = p + <usize>xi * pXi;
      const dux = du + <usize>xi * duXi;
      for (let n = 0; n < ci4; n += 4) {
        const vn = vx + ((<usize>n) << 2);
        const dun = dux + (<usize>n) * ld;
        let o = 0;
        for (; o + 8 <= co; o += 8) k4x8(vn, px + ((<usize>o) << 2), dun + ((<usize>o) << 2), nt);
        for (; o < co; o += 4) k4x4(vn, px + ((<usize>o) << 2), dun + ((<usize>o) << 2), nt);
      }
    }
  }
  // dW = Gᵀ dU G: rows of Gᵀ Q are Q0 + (Q1 + Q2)/2, (Q1 − Q2)/2, (Q1 + Q2)/2 + Q3 of Q's rows Q_r = dU[4r…4r + 3]
  const half = f32x4.splat(0.5);
  const tap = (<usize>(ci * co)) << 2;
  for (let n = 0; n < ci; n++) {
    for (let o = 0; o < co; o += 4) {
      const q = du + (<usize>n) * ld + ((<usize>o) << 2);
      const out = dw + (<usize>n) * ld + ((<usize>o) << 2);
      for (let c = 0; c < 4; c++) {
        // column c of Gᵀ Q, kept in scratch row ξ = c, 4 + c, 8 + c (Q's own, read once before)
        const q0 = v128.load(q + <usize>c * duXi), q1 = v128.load(q + <usize>(4 + c) * duXi);
        const q2 = v128.load(q + <usize>(8 + c) * duXi), q3 = v128.load(q + <usize>(12 + c) * duXi);
        const e = f32x4.mul(f32x4.add(q1, q2), half);
        v128.store(q + <usize>c * duXi, f32x4.add(q0, e));
        v128.store(q + <usize>(4 + c) * duXi, f32x4.mul(f32x4.sub(q1, q2), half));
        v128.store(q + <usize>(8 + c) * duXi, f32x4.add(e, q3));
      }
      for (let i = 0; i < 3; i++) {
        const r = q + <usize>(4 * i) * duXi;
        back(out + <usize>(3 * i) * tap, tap, v128.load(r), v128.load(r + duXi), v128.load(r + 2 * duXi), v128.load(r + 3 * duXi));
      }
    }
  }
}
