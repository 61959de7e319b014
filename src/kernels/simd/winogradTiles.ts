/**
 * AssemblyScript, imported by winograd.ts and winogradGrad.ts (not a module of its own): F(2×2, 3×3)'s tiles. Tile p
 * (flat (b, tile row, tile column) order) covers output pixels 2·ty…2·ty + 1, 2·tx…2·tx + 1 and reads the 4×4 input
 * window from row 2·ty − PT, column 2·tx − PL (zeros outside).
 */

/** Flat index (b·HO + 2·ty)·WO + 2·tx of tile p's first output pixel (th × tw tiles per image). */
// @ts-ignore: decorator
@inline
export function tilePixel(p: i32, th: i32, tw: i32, ho: i32, wo: i32): i32 {
  const bi = p / (th * tw);
  const r = p - bi * th * tw;
  const ty = r / tw;
  return (bi * ho + 2 * ty) * wo + 2 * (r - ty * tw);
}

/**
 * Tile p's window, transformed (Bᵀ d B), to V[ξ][t] at vt for ξ = 0…15 (V[ξ] to V[ξ + 1]: vXi bytes), CI rounded up
 * to 4 channels (those past CI zero). `addr`: 80 i32 of scratch; `zero`: CI rounded up to 4 zeros.
 */
export function transformWindow(
  x: usize,
  zero: usize,
  addr: usize,
  vt: usize,
  vXi: usize,
  p: i32,
  th: i32,
  tw: i32,
  h: i32,
  w: i32,
  ci: i32,
  pt: i32,
  pl: i32,
): void {
  const bi = p / (th * tw);
  const r = p - bi * th * tw;
  const ty = r / tw;
  const y0 = 2 * ty - pt;
  const x0 = 2 * (r - ty * tw) - pl;
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      const yi = y0 + i;
      const xj = x0 + j;
      const inside = <u32>yi < <u32>h && <u32>xj < <u32>w;
      store<usize>(addr + ((<usize>(4 * i + j)) << 2), inside ? x + ((<usize>(((bi * h + yi) * w + xj) * ci)) << 2) : zero);
    }
  }
  const full = ci & ~3;
  for (let n = 0; n < full; n += 4) inputTransform(addr, (<usize>n) << 2, vt + ((<usize>n) << 2), vXi);
  if (full < ci) {
    // the last ci % 4 channels, read one by one into a window of zeros (a vector load would cross the pixel)
    for (let k = 0; k < 16; k++) {
      const a = load<usize>(addr + ((<usize>k) << 2));
      const tail = addr + 64 + ((<usize>k) << 4);
      v128.store(tail, f32x4.splat(0));
      if (a !== zero) for (let c = full; c < ci; c++) store<f32>(tail + ((<usize>(c - full)) << 2), load<f32>(a + ((<usize>c) << 2)));
      store<usize>(addr + ((<usize>k) << 2), tail - ((<usize>full) << 2));
    }
    inputTransform(addr, (<usize>full) << 2, vt + ((<usize>full) << 2), vXi);
  }
}

/** Four channels (n…n+3) of one window to V[·][t][n…]: Bᵀ d B, d's taps at the 16 addresses in `addr`. */
// @ts-ignore: decorator
@inline
function inputTransform(addr: usize, n: usize, v: usize, xi: usize): void {
  // Bᵀ d, column c from d's rows 0…3 (taps c, 4 + c, 8 + c, 12 + c): d0 − d2, d1 + d2, d2 − d1, d1 − d3
  let d0 = v128.load(load<usize>(addr) + n), d1 = v128.load(load<usize>(addr, 16) + n);
  let d2 = v128.load(load<usize>(addr, 32) + n), d3 = v128.load(load<usize>(addr, 48) + n);
  const t00 = f32x4.sub(d0, d2), t10 = f32x4.add(d1, d2), t20 = f32x4.sub(d2, d1), t30 = f32x4.sub(d1, d3);
  d0 = v128.load(load<usize>(addr, 4) + n);
  d1 = v128.load(load<usize>(addr, 20) + n);
  d2 = v128.load(load<usize>(addr, 36) + n);
  d3 = v128.load(load<usize>(addr, 52) + n);
  const t01 = f32x4.sub(d0, d2), t11 = f32x4.add(d1, d2), t21 = f32x4.sub(d2, d1), t31 = f32x4.sub(d1, d3);
  d0 = v128.load(load<usize>(addr, 8) + n);
  d1 = v128.load(load<usize>(addr, 24) + n);
  d2 = v128.load(load<usize>(addr, 40) + n);
  d3 = v128.load(load<usize>(addr, 56) + n);
  const t02 = f32x4.sub(d0, d2), t12 = f32x4.add(d1, d2), t22 = f32x4.sub(d2, d1), t32 = f32x4.sub(d1, d3);
  d0 = v128.load(load<usize>(addr, 12) + n);
  d1 = v128.load(load<usize>(addr, 28) + n);
  d2 = v128.load(load<usize>(addr, 44) + n);
  d3 = v128.load(load<usize>(addr, 60) + n);
  const t03 = f32x4.sub(d0, d2), t13 = f32x4.add(d1, d2), t23 = f32x4.sub(d2, d1), t33 = f32x4.sub(d1, d3);
  // (Bᵀ d) B: the same along each row r, to ξ = 4r…4r + 3
  row(v, xi, t00, t01, t02, t03);
  row(v + 4 * xi, xi, t10, t11, t12, t13);
  row(v + 8 * xi, xi, t20, t21, t22, t23);
  row(v + 12 * xi, xi, t30, t31, t32, t33);
}

// @ts-ignore: decorator
@inline
function row(v: usize, xi: usize, a: v128, b: v128, c: v128, d: v128): void {
  v128.store(v, f32x4.sub(a, c));
  v128.store(v + xi, f32x4.add(b, c));
  v128.store(v + 2 * xi, f32x4.sub(c, b));
  v128.store(v + 3 * xi, f32x4.sub(b, d));
}
