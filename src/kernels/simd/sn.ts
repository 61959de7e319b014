/**
 * AssemblyScript (compiled by scripts/build-simd.ts, outside tsconfig): spectral norm's W/σ and its gradient in place on
 * tfjs-backend-wasm's heap, src/kernels/fusedOps.ts normalize / normalizeGrad step for step: w as wm [K, N] (N the
 * output channels), sums in f64. normalize runs four rows of wm at a time, each row's sum in its own lane in the same
 * order, so σ is the JavaScript kernel's bit for bit; normalizeGrad's Σ dY⊙W runs in two lanes (pairs of elements),
 * the one place where the order of f64 additions differs.
 */

/** Four f32 (one per row, `row` bytes apart) as two f64x2: rows 0, 1 and rows 2, 3. */
// @ts-ignore: decorator
@inline
function rows2(p: usize, row: usize): v128 {
  return f64x2.replace_lane(f64x2.splat(<f64>load<f32>(p)), 1, <f64>load<f32>(p + row));
}

/** σ = vᵀ·wm·u into sigma[0], and wn = w / σ. */
export function snNormalize(w: usize, u: usize, v: usize, wn: usize, sigma: usize, n: i32, k: i32): void {
  const row = (<usize>n) << 2;
  let s: f64 = 0;
  let i = 0;
  for (; i + 4 <= k; i += 4) {
    const w0 = w + (<usize>i) * row;
    let r01 = f64x2.splat(0);
    let r23 = f64x2.splat(0);
    for (let o = 0; o < n; o++) {
      const q = (<usize>o) << 2;
      const uo = f64x2.splat(<f64>load<f32>(u + q));
      r01 = f64x2.add(r01, f64x2.mul(rows2(w0 + q, row), uo));
      r23 = f64x2.add(r23, f64x2.mul(rows2(w0 + 2 * row + q, row), uo));
    }
    const pv = v + ((<usize>i) << 2);
    s += <f64>load<f32>(pv) * f64x2.extract_lane(r01, 0);
    s += <f64>load<f32>(pv, 4) * f64x2.extract_lane(r01, 1);
    s += <f64>load<f32>(pv, 8) * f64x2.extract_lane(r23, 0);
    s += <f64>load<f32>(pv, 12) * f64x2.extract_lane(r23, 1);
  }
  for (; i < k; i++) {
    const wi = w + (<usize>i) * row;
    let r: f64 = 0;
    for (let o = 0; o < n; o++) r += <f64>load<f32>(wi + ((<usize>o) << 2)) * <f64>load<f32>(u + ((<usize>o) << 2));
    s += <f64>load<f32>(v + ((<usize>i) << 2)) * r;
  }
  const sg = <f32>s;
  store<f32>(sigma, sg);
  divide(w, wn, n * k, sg);
}

/** out = x / d over `len` f32 (f32 division: what JavaScript's double division rounds to). */
export function divide(x: usize, out: usize, len: i32, d: f32): void {
  const end = (<usize>len) << 2;
  const dv = f32x4.splat(d);
  let q: usize = 0;
  for (; q + 16 <= end; q += 16) v128.store(out + q, f32x4.div(v128.load(x + q), dv));
  for (; q < end; q += 4) store<f32>(out + q, load<f32>(x + q) / d);
}

/** dW = dY/σ − (Σ dY⊙W)/σ² · v uᵀ, each element in f64 and rounded once. */
export function snNormalizeGrad(dy: usize, w: usize, u: usize, v: usize, sigma: usize, dw: usize, n: i32, k: i32): void {
  const end = (<usize>(n * k)) << 2;
  let acc = f64x2.splat(0);
  let q: usize = 0;
  for (; q + 8 <= end; q += 8) {
    acc = f64x2.add(acc, f64x2.mul(f64x2.promote_low_f32x4(v128.load64_zero(dy + q)), f64x2.promote_low_f32x4(v128.load64_zero(w + q))));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; q < end; q += 4) s += <f64>load<f32>(dy + q) * <f64>load<f32>(w + q);
  const sg = <f64>load<f32>(sigma);
  const c = s / (sg * sg);
  const sg2 = f64x2.splat(sg);
  const row = (<usize>n) << 2;
  for (let i = 0; i < k; i++) {
    const cv = c * <f64>load<f32>(v + ((<usize>i) << 2));
    const cv2 = f64x2.splat(cv);
    const base = (<usize>i) * row;
    let o: usize = 0;
    for (; o + 8 <= row; o += 8) {
      const d = f64x2.promote_low_f32x4(v128.load64_zero(dy + base + o));
      const uu = f64x2.promote_low_f32x4(v128.load64_zero(u + o));
      const r = f64x2.sub(f64x2.div(d, sg2), f64x2.mul(cv2, uu));
      v128.store64_lane(dw + base + o, f32x4.demote_f64x2_zero(r), 0);
    }
    for (; o < row; o += 4) store<f32>(dw + base + o, <f32>(<f64>load<f32>(dy + base + o) / sg - cv * <f64>load<f32>(u + o)));
  }
}
