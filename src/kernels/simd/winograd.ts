/**
 * AssemblyScript (compiled by scripts/build-simd.ts, outside tsconfig): a 3×3 stride-1 convolution by Winograd's
 * minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016), in place
 * on tfjs-backend-wasm's heap. Each 2×2 block of output pixels is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A of its 4×4 input window d:
 * 16 multiplies per input and output channel instead of 36, so 2.25× less arithmetic than conv2d.ts, at a float32
 * error a few times its (tests/wasmKernels.test.ts bounds it). By hand: XNNPACK's wasm build has no Winograd.
 *
 * winograd: Y[b, y, x, o] = Σ_{i, j, n} X[b, y + i − PT, x + j − PL, n] · F[i, j, n, o], NHWC, CO a multiple of 4.
 * The filter goes to U[ξ][n][o] (ξ = 4·row + column of the 4×4 transformed window) once per call; then per block of
 * TB tiles (2×2 output pixels each, flat (b, tile row, tile column) order): their windows to V[ξ][t][n] (rows of CI4,
 * CI rounded up to 4), 16 matrix products M[ξ] = V[ξ]·U[ξ] in 4 × 8 register blocks, and M back to pixels. A window
 * tap in the padding reads ZERO (CI4 zeros from the caller).
 *
 * Scratch (from the caller, `s`): U 16·CI·CO, V 16·(TB·CI4 + 16), M 16·(TB·CO + 16) float32, then 80 i32 (a window's
 * addresses).
 */

import { madd } from './madd';
import { tilePixel, transformWindow } from './winogradTiles';

let CI: i32 = 0;
let CI4: i32 = 0;
let CO: i32 = 0;

/** U[ξ][n][o] = (G g Gᵀ)[ξ] for g = F[·, ·, n, o], four output channels at a time. */
function filterTransform(f: usize, u: usize): void {
  const half = f32x4.splat(0.5);
  const tap = (<usize>(CI * CO)) << 2;
  const xi = tap;
  for (let n = 0; n < CI; n++) {
    for (let o = 0; o < CO; o += 4) {
      const p = f + ((<usize>(n * CO + o)) << 2);
      const q = u + ((<usize>(n * CO + o)) << 2);
      // G g: rows g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2 of the filter's rows g_i = F[i, ·]
      for (let j = 0; j < 3; j++) {
        const g0 = v128.load(p + <usize>j * tap);
        const g1 = v128.load(p + <usize>(3 + j) * tap);
        const g2 = v128.load(p + <usize>(6 + j) * tap);
        const e = f32x4.add(g0, g2);
        // (G g)[r][j] at ξ = 4r + j; the row pass below makes each row r whole
        v128.store(q + <usize>j * xi, g0);
        v128.store(q + <usize>(4 + j) * xi, f32x4.mul(f32x4.add(e, g1), half));
        v128.store(q + <usize>(8 + j) * xi, f32x4.mul(f32x4.sub(e, g1), half));
        v128.store(q + <usize>(12 + j) * xi, g2);
      }
      // (G g) Gᵀ: per row r, [a, (a + b + c)/2, (a − b + c)/2, c] of its three entries a, b, c
      for (let r = 0; r < 4; r++) {
        const row = q + <usize>(4 * r) * xi;
        const a = v128.load(row);
        const b = v128.load(row + xi);
        const c = v128.load(row + 2 * xi);
        const e = f32x4.add(a, c);
        v128.store(row + 3 * xi, c);
        v128.store(row + xi, f32x4.mul(f32x4.add(e, b), half));
        v128.store(row + 2 * xi, f32x4.mul(f32x4.sub(e, b), half));
      }
    }
  }
}

/** M[t0…t3][o…o+7] = V[t0…t3][·] · U[·][o…o+7] for one ξ (v: V[ξ][t], u: U[ξ][0][o], m: M[ξ][t][o]). */
function k4x8(v0: usize, v1: usize, v2: usize, v3: usize, u: usize, m0: usize, m1: usize, m2: usize, m3: usize): void {
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
  const ld = (<usize>CO) << 2;
  const end = v0 + ((<usize>CI) << 2);
  while (v0 < end) {
    const w0 = v128.load(u), w1 = v128.load(u, 16);
    let s = v128.load32_splat(v0);
    a00 = madd(s, w0, a00);
    a01 = madd(s, w1, a01);
    s = v128.load32_splat(v1);
    a10 = madd(s, w0, a10);
    a11 = madd(s, w1, a11);
    s = v128.load32_splat(v2);
    a20 = madd(s, w0, a20);
    a21 = madd(s, w1, a21);
    s = v128.load32_splat(v3);
    a30 = madd(s, w0, a30);
    a31 = madd(s, w1, a31);
    v0 += 4;
    v1 += 4;
    v2 += 4;
    v3 += 4;
    u += ld;
  }
  v128.store(m0, a00);
  v128.store(m0, a01, 16);
  v128.store(m1, a10);
  v128.store(m1, a11, 16);
  v128.store(m2, a20);
  v128.store(m2, a21, 16);
  v128.store(m3, a30);
  v128.store(m3, a31, 16);
}

/** As k4x8 for output channels o…o+3. */
function k4x4(v0: usize, v1: usize, v2: usize, v3: usize, u: usize, m0: usize, m1: usize, m2: usize, m3: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const ld = (<usize>CO) << 2;
  const end = v0 + ((<usize>CI) << 2);
  while (v0 < end) {
    const w = v128.load(u);
    a0 = madd(v128.load32_splat(v0), w, a0);
    a1 = madd(v128.load32_splat(v1), w, a1);
    a2 = madd(v128.load32_splat(v2), w, a2);
    a3 = madd(v128.load32_splat(v3), w, a3);
    v0 += 4;
    v1 += 4;
    v2 += 4;
    v3 += 4;
    u += ld;
  }
  v128.store(m0, a0);
  v128.store(m1, a1);
  v128.store(m2, a2);
  v128.store(m3, a3);
}

export function winograd(
  x: usize,
  f: usize,
  y: usize,
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
  CI = ci;
  CI4 = (ci + 3) & ~3;
  CO = co;
  const u = s;
  // planes a cache line apart from a multiple of 4 KB (else the transforms' 16 stores per window fight for one L1 set)
  const vXi = (<usize>(tb * CI4 + 16)) << 2; // V[ξ] to V[ξ + 1]
  const mXi = (<usize>(tb * co + 16)) << 2;
  const v = u + ((<usize>(16 * ci * co)) << 2);
  const m = v + 16 * vXi;
  const addr = m + 16 * mXi;
  filterTransform(f, u);
  const th = (ho + 1) >> 1;
  const tw = (wo + 1) >> 1;
  const tiles = b * th * tw;
  const uXi = (<usize>(ci * co)) << 2;
  const row = (<usize>CI4) << 2;
  const ld = (<usize>co) << 2;
  for (let t0 = 0; t0 < tiles; t0 += tb) {
    const nt = min(tb, tiles - t0);
    // the windows, transformed
    for (let t = 0; t < nt; t++) {
      transformWindow(x, zero, addr, v + <usize>t * row, vXi, t0 + t, th, tw, h, w, ci, pt, pl);
    }
    // the 16 products, four tiles (the last repeated) by eight or four output channels
    const last = nt - 1;
    for (let xi = 0; xi < 16; xi++) {
      const vx = v + <usize>xi * vXi;
      const ux = u + <usize>xi * uXi;
      const mx = m + <usize>xi * mXi;
      for (let o = 0; o < co; ) {
        const wide = o + 8 <= co;
        const uo = ux + ((<usize>o) << 2);
        const mo = mx + ((<usize>o) << 2);
        for (let t = 0; t < nt; t += 4) {
          const t1 = <usize>min(t + 1, last), t2 = <usize>min(t + 2, last), t3 = <usize>min(t + 3, last);
          const v0 = vx + <usize>t * row, v1 = vx + t1 * row, v2 = vx + t2 * row, v3 = vx + t3 * row;
          if (wide) k4x8(v0, v1, v2, v3, uo, mo + <usize>t * ld, mo + t1 * ld, mo + t2 * ld, mo + t3 * ld);
          else k4x4(v0, v1, v2, v3, uo, mo + <usize>t * ld, mo + t1 * ld, mo + t2 * ld, mo + t3 * ld);
        }
        o += wide ? 8 : 4;
      }
    }
    // back to pixels: Aᵀ M A, rows s0 = m0 + m1 + m2 and s1 = m1 − m2 − m3, then the same along them
    for (let t = 0; t < nt; t++) {
      const pix = tilePixel(t0 + t, th, tw, ho, wo);
      const right = (pix % wo) + 1 < wo;
      const below = ((pix / wo) % ho) + 1 < ho;
      const out = y + ((<usize>(pix * co)) << 2);
      const mt = m + <usize>t * ld;
      for (let o = 0; o < co; o += 4) {
        const mo = mt + ((<usize>o) << 2);
        // S = Aᵀ M, column c from M[0…3][c] (ξ = c, 4 + c, 8 + c, 12 + c)
        let q0 = v128.load(mo), q1 = v128.load(mo + 4 * mXi), q2 = v128.load(mo + 8 * mXi), q3 = v128.load(mo + 12 * mXi);
        const s00 = f32x4.add(q0, f32x4.add(q1, q2));
        const s10 = f32x4.sub(f32x4.sub(q1, q2), q3);
        q0 = v128.load(mo + mXi); q1 = v128.load(mo + 5 * mXi); q2 = v128.load(mo + 9 * mXi); q3 = v128.load(mo + 13 * mXi);
        const s01 = f32x4.add(q0, f32x4.add(q1, q2));
        const s11 = f32x4.sub(f32x4.sub(q1, q2), q3);
        q0 = v128.load(mo + 2 * mXi); q1 = v128.load(mo + 6 * mXi); q2 = v128.load(mo + 10 * mXi); q3 = v128.load(mo + 14 * mXi);
        const s02 = f32x4.add(q0, f32x4.add(q1, q2));
        const s12 = f32x4.sub(f32x4.sub(q1, q2), q3);
        q0 = v128.load(mo + 3 * mXi); q1 = v128.load(mo + 7 * mXi); q2 = v128.load(mo + 11 * mXi); q3 = v128.load(mo + 15 * mXi);
        const s03 = f32x4.add(q0, f32x4.add(q1, q2));
        const s13 = f32x4.sub(f32x4.sub(q1, q2), q3);
        const o4 = (<usize>o) << 2;
        v128.store(out + o4, f32x4.add(f32x4.add(s00, s01), s02));
        if (right) v128.store(out + ld + o4, f32x4.sub(f32x4.sub(s01, s02), s03));
        if (below) {
          const next = out + (<usize>wo) * ld + o4;
          v128.store(next, f32x4.add(f32x4.add(s10, s11), s12));
          if (right) v128.store(next + ld, f32x4.sub(f32x4.sub(s11, s12), s13));
        }
      }
    }
  }
}
