/**
 * AssemblyScript (compiled by scripts/build-simd.ts, outside tsconfig): relu(IN(x)·γ + β) and its gradient in place on
 * tfjs-backend-wasm's heap, the arithmetic of src/kernels/fusedOps.ts instanceNormAffineRelu(Grad) step for step (sums
 * in f64 in the same order, f32 roundings at the same places), so the results are the JavaScript kernels' bit for bit
 * at a fraction of their time. Two channels at a time, as f64x2 (an odd C's last one alone in lane 0). x, y, dy, dx
 * [B, HW, C]; γ, β [rows, C] (rows 1 or B); stats [B, C, 2] (mean, 1/σ). `scratch` holds 8·C' f64, C' = C rounded up
 * to even.
 */

/** Two f32 at p as f64x2. */
// @ts-ignore: decorator
@inline
function ld2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Rounded to f32 and back, as JavaScript's Math.fround. */
// @ts-ignore: decorator
@inline
function fr(v: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(v));
}

// @ts-ignore: decorator
@inline
function st2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}

/** ld2, or with `one` (an odd C's last channel) the one f32 at p in both lanes: nothing past it is read. */
// @ts-ignore: decorator
@inline
function ldc(p: usize, one: bool): v128 {
  if (one) return f64x2.splat(<f64>load<f32>(p));
  return ld2(p);
}

/** st2, or with `one` lane 0 alone. */
// @ts-ignore: decorator
@inline
function stc(p: usize, v: v128, one: bool): void {
  if (one) store<f32>(p, <f32>f64x2.extract_lane(v, 0));
  else st2(p, v);
}

/** Lanes 0 and 1 of an f64x2 as f32 at p and p + step bytes (lane 0 alone with `one`). */
// @ts-ignore: decorator
@inline
function scatter2(p: usize, step: usize, v: v128, one: bool): void {
  store<f32>(p, <f32>f64x2.extract_lane(v, 0));
  if (!one) store<f32>(p + step, <f32>f64x2.extract_lane(v, 1));
}

/** The f64 row at `s` (`c` of them), pair k. */
// @ts-ignore: decorator
@inline
function at(s: usize, k: i32): usize {
  return s + ((<usize>k) << 3);
}

export function inAffineRelu(x: usize, gamma: usize, beta: usize, y: usize, stats: usize, scratch: usize, b: i32, hw: i32, c: i32, rows: i32, eps: f64): void {
  const cp = (c + 1) & ~1;
  const sum = scratch;
  const mean = at(scratch, cp);
  const rstd = at(scratch, 2 * cp);
  const g = at(scratch, 3 * cp);
  const be = at(scratch, 4 * cp);
  const n = f64x2.splat(<f64>hw);
  const row = (<usize>c) << 2;
  for (let bi = 0; bi < b; bi++) {
    const base = x + (<usize>(bi * hw) * row);
    const out = y + (<usize>(bi * hw) * row);
    const st = stats + ((<usize>(bi * c)) << 3);
    const aff = (<usize>(rows == 1 ? 0 : bi * c)) << 2;
    memory.fill(sum, 0, (<usize>cp) << 3);
    for (let p = 0; p < hw; p++) {
      const px = base + (<usize>p) * row;
      for (let k = 0; k < c; k += 2) v128.store(at(sum, k), f64x2.add(v128.load(at(sum, k)), ldc(px + ((<usize>k) << 2), k + 1 == c)));
    }
    for (let k = 0; k < c; k += 2) {
      const m = fr(f64x2.div(v128.load(at(sum, k)), n));
      v128.store(at(mean, k), m);
      v128.store(at(sum, k), f64x2.splat(0));
      v128.store(at(g, k), ldc(gamma + aff + ((<usize>k) << 2), k + 1 == c));
      v128.store(at(be, k), ldc(beta + aff + ((<usize>k) << 2), k + 1 == c));
    }
    for (let p = 0; p < hw; p++) {
      const px = base + (<usize>p) * row;
      for (let k = 0; k < c; k += 2) {
        const d = fr(f64x2.sub(ldc(px + ((<usize>k) << 2), k + 1 == c), v128.load(at(mean, k))));
        v128.store(at(sum, k), f64x2.add(v128.load(at(sum, k)), f64x2.mul(d, d)));
      }
    }
    const e = f64x2.splat(eps);
    for (let k = 0; k < c; k += 2) {
      const v = fr(f64x2.add(fr(f64x2.div(v128.load(at(sum, k)), n)), e));
      const r = fr(f64x2.div(f64x2.splat(1), f64x2.sqrt(v)));
      v128.store(at(rstd, k), r);
      scatter2(st + ((<usize>k) << 3), 8, v128.load(at(mean, k)), k + 1 == c);
      scatter2(st + ((<usize>k) << 3) + 4, 8, r, k + 1 == c);
    }
    for (let p = 0; p < hw; p++) {
      const px = base + (<usize>p) * row;
      const py = out + (<usize>p) * row;
      for (let k = 0; k < c; k += 2) {
        const o = (<usize>k) << 2;
        const z1 = fr(f64x2.mul(f64x2.sub(ldc(px + o, k + 1 == c), v128.load(at(mean, k))), v128.load(at(rstd, k))));
        const z = fr(f64x2.add(fr(f64x2.mul(z1, v128.load(at(g, k)))), v128.load(at(be, k))));
        stc(py + o, v128.and(z, f64x2.gt(z, f64x2.splat(0))), k + 1 == c);
      }
    }
  }
}

export function inAffineReluGrad(
  dy: usize,
  x: usize,
  stats: usize,
  gamma: usize,
  beta: usize,
  dx: usize,
  dgamma: usize,
  dbeta: usize,
  scratch: usize,
  b: i32,
  hw: i32,
  c: i32,
  rows: i32,
): void {
  const cp = (c + 1) & ~1;
  const sdy = scratch;
  const sdyy = at(scratch, cp);
  const sg = at(scratch, 2 * cp);
  const sgy = at(scratch, 3 * cp);
  const mean = at(scratch, 4 * cp);
  const rstd = at(scratch, 5 * cp);
  const g = at(scratch, 6 * cp);
  const be = at(scratch, 7 * cp);
  const n = f64x2.splat(<f64>hw);
  const zero = f64x2.splat(0);
  const row = (<usize>c) << 2;
  for (let bi = 0; bi < b; bi++) {
    const xb = x + (<usize>(bi * hw) * row);
    const dyb = dy + (<usize>(bi * hw) * row);
    const dxb = dx + (<usize>(bi * hw) * row);
    const st = stats + ((<usize>(bi * c)) << 3);
    const aff = (<usize>(rows == 1 ? 0 : bi * c)) << 2;
    memory.fill(scratch, 0, (<usize>cp) << 5);
    for (let k = 0; k < c; k += 2) {
      const s = st + ((<usize>k) << 3); // (mean, rstd) of channel k, then of k + 1 (of k again for an odd C's last)
      const next: usize = k + 1 == c ? 0 : 8;
      v128.store(at(mean, k), f64x2.replace_lane(f64x2.splat(<f64>load<f32>(s)), 1, <f64>load<f32>(s + next)));
      v128.store(at(rstd, k), f64x2.replace_lane(f64x2.splat(<f64>load<f32>(s + 4)), 1, <f64>load<f32>(s + 4 + next)));
      v128.store(at(g, k), ldc(gamma + aff + ((<usize>k) << 2), k + 1 == c));
      v128.store(at(be, k), ldc(beta + aff + ((<usize>k) << 2), k + 1 == c));
    }
    for (let p = 0; p < hw; p++) {
      const q = (<usize>p) * row;
      for (let k = 0; k < c; k += 2) {
        const o = q + ((<usize>k) << 2);
        const one = k + 1 == c;
        const yv = fr(f64x2.mul(f64x2.sub(ldc(xb + o, one), v128.load(at(mean, k))), v128.load(at(rstd, k))));
        const ga = v128.load(at(g, k));
        const on = f64x2.gt(fr(f64x2.add(fr(f64x2.mul(yv, ga)), v128.load(at(be, k)))), zero);
        const gp = v128.and(ldc(dyb + o, one), on);
        const dv = fr(f64x2.mul(gp, ga));
        v128.store(at(sg, k), f64x2.add(v128.load(at(sg, k)), gp));
        v128.store(at(sgy, k), f64x2.add(v128.load(at(sgy, k)), f64x2.mul(gp, yv)));
        v128.store(at(sdy, k), f64x2.add(v128.load(at(sdy, k)), dv));
        v128.store(at(sdyy, k), f64x2.add(v128.load(at(sdyy, k)), f64x2.mul(dv, yv)));
      }
    }
    for (let k = 0; k < c; k += 2) {
      const o = (<usize>(bi * c + k)) << 2;
      stc(dbeta + o, v128.load(at(sg, k)), k + 1 == c);
      stc(dgamma + o, v128.load(at(sgy, k)), k + 1 == c);
      v128.store(at(sdy, k), f64x2.div(v128.load(at(sdy, k)), n));
      v128.store(at(sdyy, k), f64x2.div(v128.load(at(sdyy, k)), n));
    }
    for (let p = 0; p < hw; p++) {
      const q = (<usize>p) * row;
      for (let k = 0; k < c; k += 2) {
        // yv and dv again, as the first pass made them (the JavaScript kernel keeps them in arrays)
        const o = q + ((<usize>k) << 2);
        const one = k + 1 == c;
        const r = v128.load(at(rstd, k));
        const yv = fr(f64x2.mul(f64x2.sub(ldc(xb + o, one), v128.load(at(mean, k))), r));
        const ga = v128.load(at(g, k));
        const on = f64x2.gt(fr(f64x2.add(fr(f64x2.mul(yv, ga)), v128.load(at(be, k)))), zero);
        const dv = fr(f64x2.mul(v128.and(ldc(dyb + o, one), on), ga));
        const t = f64x2.sub(f64x2.sub(dv, v128.load(at(sdy, k))), f64x2.mul(yv, v128.load(at(sdyy, k))));
        stc(dxb + o, f64x2.mul(r, t), one);
      }
    }
  }
}

/**
 * One power iteration of spectral norm, src/kernels/fusedOps.ts powerIteration step for step: w as wm [K, N], u [N] →
 * v = n(wm·u) [K], u' = n(wmᵀ·v) [N], with f64 sums in the same order and f32 roundings at the same places. `scratch`
 * holds N f64.
 */
export function powerIteration(w: usize, u: usize, uOut: usize, vOut: usize, scratch: usize, n: i32, k: i32, eps: f64): void {
  const row = (<usize>n) << 2;
  for (let i = 0; i < k; i++) {
    const wi = w + (<usize>i) * row;
    let s: f64 = 0;
    for (let o = 0; o < n; o++) s += <f64>load<f32>(wi + ((<usize>o) << 2)) * <f64>load<f32>(u + ((<usize>o) << 2));
    store<f32>(vOut + ((<usize>i) << 2), <f32>s);
  }
  let sv: f64 = 0;
  for (let i = 0; i < k; i++) {
    const f = <f64>load<f32>(vOut + ((<usize>i) << 2));
    sv += f * f;
  }
  const vn = max(Math.sqrt(sv), eps);
  for (let i = 0; i < k; i++) {
    const p = vOut + ((<usize>i) << 2);
    store<f32>(p, <f32>(<f64>load<f32>(p) / vn));
  }
  memory.fill(scratch, 0, (<usize>n) << 3);
  const pairs = n & ~1;
  for (let i = 0; i < k; i++) {
    const wi = w + (<usize>i) * row;
    const vi = <f64>load<f32>(vOut + ((<usize>i) << 2));
    const v2 = f64x2.splat(vi);
    let o = 0;
    for (; o < pairs; o += 2) {
      const a = at(scratch, o);
      v128.store(a, f64x2.add(v128.load(a), f64x2.mul(ld2(wi + ((<usize>o) << 2)), v2)));
    }
    for (; o < n; o++) {
      const a = at(scratch, o);
      store<f64>(a, load<f64>(a) + <f64>load<f32>(wi + ((<usize>o) << 2)) * vi);
    }
  }
  let su: f64 = 0;
  for (let o = 0; o < n; o++) {
    const f = <f64><f32>load<f64>(at(scratch, o));
    su += f * f;
  }
  const un = max(Math.sqrt(su), eps);
  for (let o = 0; o < n; o++) store<f32>(uOut + ((<usize>o) << 2), <f32>(<f64><f32>load<f64>(at(scratch, o)) / un));
}
