/**
 * AssemblyScript (compiled by scripts/build-simd.ts, outside tsconfig): small matrix products in place on
 * tfjs-backend-wasm's heap, for the attention blocks' batched products. Through XNNPACK each batch entry is an operator
 * made, its right side packed, and a transposed operand copied first; these products (k 16–256, n 4–64) spent more
 * time on that than on arithmetic (2–4 GFLOP/s). Each sum runs over k in order, in f32.
 *
 * matmul: C [m, n] = A·B, A(i, k) at a + 4·(i·sam + k·sak) (either layout), B [k, n] and C row-major.
 */

// @ts-ignore: decorator
@inline
function aAt(a: usize, i: i32, k: i32, sam: i32, sak: i32): f32 {
  return load<f32>(a + ((<usize>(i * sam + k * sak)) << 2));
}

export function matmul(a: usize, b: usize, c: usize, m: i32, kk: i32, n: i32, sam: i32, sak: i32): void {
  const rowB = (<usize>n) << 2;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let pb = b + ((<usize>j) << 2);
      for (let k = 0; k < kk; k++, pb += rowB) {
        const b0 = v128.load(pb);
        const b1 = v128.load(pb, 16);
        const a0 = f32x4.splat(aAt(a, i, k, sam, sak));
        const a1 = f32x4.splat(aAt(a, i + 1, k, sam, sak));
        const a2 = f32x4.splat(aAt(a, i + 2, k, sam, sak));
        const a3 = f32x4.splat(aAt(a, i + 3, k, sam, sak));
        c00 = f32x4.add(c00, f32x4.mul(a0, b0));
        c01 = f32x4.add(c01, f32x4.mul(a0, b1));
        c10 = f32x4.add(c10, f32x4.mul(a1, b0));
        c11 = f32x4.add(c11, f32x4.mul(a1, b1));
        c20 = f32x4.add(c20, f32x4.mul(a2, b0));
        c21 = f32x4.add(c21, f32x4.mul(a2, b1));
        c30 = f32x4.add(c30, f32x4.mul(a3, b0));
        c31 = f32x4.add(c31, f32x4.mul(a3, b1));
      }
      const pc = c + ((<usize>(i * n + j)) << 2);
      v128.store(pc, c00);
      v128.store(pc, c01, 16);
      v128.store(pc + rowB, c10);
      v128.store(pc + rowB, c11, 16);
      v128.store(pc + 2 * rowB, c20);
      v128.store(pc + 2 * rowB, c21, 16);
      v128.store(pc + 3 * rowB, c30);
      v128.store(pc + 3 * rowB, c31, 16);
    }
    for (; j + 4 <= n; j += 4) {
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
      let pb = b + ((<usize>j) << 2);
      for (let k = 0; k < kk; k++, pb += rowB) {
        const b0 = v128.load(pb);
        c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(aAt(a, i, k, sam, sak)), b0));
        c1 = f32x4.add(c1, f32x4.mul(f32x4.splat(aAt(a, i + 1, k, sam, sak)), b0));
        c2 = f32x4.add(c2, f32x4.mul(f32x4.splat(aAt(a, i + 2, k, sam, sak)), b0));
        c3 = f32x4.add(c3, f32x4.mul(f32x4.splat(aAt(a, i + 3, k, sam, sak)), b0));
      }
      const pc = c + ((<usize>(i * n + j)) << 2);
      v128.store(pc, c0);
      v128.store(pc + rowB, c1);
      v128.store(pc + 2 * rowB, c2);
      v128.store(pc + 3 * rowB, c3);
    }
    for (; j < n; j++) for (let r = i; r < i + 4; r++) scalar(a, b, c, r, j, kk, n, sam, sak);
  }
  for (; i < m; i++) for (let j = 0; j < n; j++) scalar(a, b, c, i, j, kk, n, sam, sak);
}

function scalar(a: usize, b: usize, c: usize, i: i32, j: i32, kk: i32, n: i32, sam: i32, sak: i32): void {
  let s: f32 = 0;
  for (let k = 0; k < kk; k++) s += aAt(a, i, k, sam, sak) * load<f32>(b + ((<usize>(k * n + j)) << 2));
  store<f32>(c + ((<usize>(i * n + j)) << 2), s);
}

/** dst [cols, rows] = src [rows, cols]ᵀ (a B stored transposed, made row-major for matmul). */
export function transpose2d(src: usize, dst: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const ps = src + ((<usize>(r * cols)) << 2);
    for (let q = 0; q < cols; q++) store<f32>(dst + ((<usize>(q * rows + r)) << 2), load<f32>(ps + ((<usize>q) << 2)));
  }
}

/**
 * C [m, n] = A·B for n < 4 (an attention's values of 1–3 channels) with A stored transposed (A(i, k) = a[k·m + i]):
 * four rows of C at a time along i, one accumulator per column.
 */
export function matmulNarrowT(a: usize, b: usize, c: usize, m: i32, kk: i32, n: i32): void {
  const rowA = (<usize>m) << 2;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0);
    let pa = a + ((<usize>i) << 2);
    let pb = b;
    for (let k = 0; k < kk; k++, pa += rowA, pb += (<usize>n) << 2) {
      const av = v128.load(pa);
      c0 = f32x4.add(c0, f32x4.mul(av, f32x4.splat(load<f32>(pb))));
      if (n > 1) c1 = f32x4.add(c1, f32x4.mul(av, f32x4.splat(load<f32>(pb, 4))));
      if (n > 2) c2 = f32x4.add(c2, f32x4.mul(av, f32x4.splat(load<f32>(pb, 8))));
    }
    const pc = c + ((<usize>(i * n)) << 2);
    const row = (<usize>n) << 2;
    for (let r = 0; r < 4; r++) {
      const o = pc + (<usize>r) * row;
      store<f32>(o, lane(c0, r));
      if (n > 1) store<f32>(o, lane(c1, r), 4);
      if (n > 2) store<f32>(o, lane(c2, r), 8);
    }
  }
  for (; i < m; i++) for (let j = 0; j < n; j++) scalar(a, b, c, i, j, kk, n, 1, m);
}

// @ts-ignore: decorator
@inline
function lane(v: v128, r: i32): f32 {
  if (r == 0) return f32x4.extract_lane(v, 0);
  if (r == 1) return f32x4.extract_lane(v, 1);
  if (r == 2) return f32x4.extract_lane(v, 2);
  return f32x4.extract_lane(v, 3);
}

/** C [m, n] = A·Btᵀ for A [m, k] and Bt [n, k] row-major: each entry a dot product along k (four lanes, then summed). */
export function matmulDot(a: usize, bt: usize, c: usize, m: i32, kk: i32, n: i32): void {
  const len = (<usize>kk) << 2;
  for (let i = 0; i < m; i++) {
    const pa = a + (<usize>i) * len;
    for (let j = 0; j < n; j++) {
      const pb = bt + (<usize>j) * len;
      let acc = f32x4.splat(0);
      let k: usize = 0;
      for (; k + 16 <= len; k += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(pa + k), v128.load(pb + k)));
      let s: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
      for (; k < len; k += 4) s += load<f32>(pa + k) * load<f32>(pb + k);
      store<f32>(c + ((<usize>(i * n + j)) << 2), s);
    }
  }
}
