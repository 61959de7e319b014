/**
 * AssemblyScript (compiled by scripts/build-simd.ts, outside tsconfig): relu(IN(x)·γ + β) and its gradient in place on
 * tfjs-backend-wasm's heap, the arithmetic of src/kernels/fusedOps.ts instanceNormAffineRelu(Grad) step for step (sums
 * in f64 in the same order, f32 roundings at the same places), so the results are the JavaScript kernels' bit for bit
 * at a fraction of their time. x, y, dy, dx [B, HW, C]; γ, β [rows, C] (rows 1 or B); stats [B, C, 2] (mean, 1/σ).
 * `acc` is scratch for 4·C f64.
 */

// @ts-ignore: decorator
@inline
function f(v: f64): f32 {
  return <f32>v;
}

// @ts-ignore: decorator
@inline
function ld(p: usize, i: i32): f64 {
  return <f64>load<f32>(p + ((<usize>i) << 2));
}

// @ts-ignore: decorator
@inline
function st(p: usize, i: i32, v: f64): void {
  store<f32>(p + ((<usize>i) << 2), <f32>v);
}

// @ts-ignore: decorator
@inline
function acc(p: usize, i: i32): usize {
  return p + ((<usize>i) << 3);
}

export function inAffineRelu(x: usize, gamma: usize, beta: usize, y: usize, stats: usize, scratch: usize, b: i32, hw: i32, c: i32, rows: i32, eps: f64): void {
  const s = scratch;
  for (let bi = 0; bi < b; bi++) {
    const at = bi * c;
    const row = rows == 1 ? 0 : bi * c;
    const base = bi * hw * c;
    memory.fill(s, 0, (<usize>c) << 3);
    for (let p = 0, q = base; p < hw; p++) {
      for (let ch = 0; ch < c; ch++, q++) store<f64>(acc(s, ch), load<f64>(acc(s, ch)) + ld(x, q));
    }
    for (let ch = 0; ch < c; ch++) {
      st(stats, (at + ch) * 2, load<f64>(acc(s, ch)) / <f64>hw);
      store<f64>(acc(s, ch), 0);
    }
    for (let p = 0, q = base; p < hw; p++) {
      for (let ch = 0; ch < c; ch++, q++) {
        const d = <f64>f(ld(x, q) - ld(stats, (at + ch) * 2));
        store<f64>(acc(s, ch), load<f64>(acc(s, ch)) + d * d);
      }
    }
    for (let ch = 0; ch < c; ch++) {
      const v = <f64>f(<f64>f(load<f64>(acc(s, ch)) / <f64>hw) + eps);
      st(stats, (at + ch) * 2 + 1, 1 / Math.sqrt(v));
    }
    for (let p = 0, q = base; p < hw; p++) {
      for (let ch = 0; ch < c; ch++, q++) {
        const m = ld(stats, (at + ch) * 2);
        const r = ld(stats, (at + ch) * 2 + 1);
        const z = f(<f64>f(<f64>f((ld(x, q) - m) * r) * ld(gamma, row + ch)) + ld(beta, row + ch));
        store<f32>(y + ((<usize>q) << 2), z > 0 ? z : 0);
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
  const sdy = scratch;
  const sdyy = acc(scratch, c);
  const sg = acc(scratch, 2 * c);
  const sgy = acc(scratch, 3 * c);
  for (let bi = 0; bi < b; bi++) {
    const at = bi * c;
    const row = rows == 1 ? 0 : bi * c;
    const base = bi * hw * c;
    memory.fill(scratch, 0, (<usize>c) << 5);
    for (let p = 0, q = base; p < hw; p++) {
      for (let ch = 0; ch < c; ch++, q++) {
        const yv = <f64>f((ld(x, q) - ld(stats, (at + ch) * 2)) * ld(stats, (at + ch) * 2 + 1));
        const ga = ld(gamma, row + ch);
        const gp = f(<f64>f(yv * ga) + ld(beta, row + ch)) > 0 ? ld(dy, q) : 0;
        const dv = <f64>f(gp * ga);
        store<f64>(acc(sg, ch), load<f64>(acc(sg, ch)) + gp);
        store<f64>(acc(sgy, ch), load<f64>(acc(sgy, ch)) + gp * yv);
        store<f64>(acc(sdy, ch), load<f64>(acc(sdy, ch)) + dv);
        store<f64>(acc(sdyy, ch), load<f64>(acc(sdyy, ch)) + dv * yv);
      }
    }
    for (let ch = 0; ch < c; ch++) {
      st(dbeta, at + ch, load<f64>(acc(sg, ch)));
      st(dgamma, at + ch, load<f64>(acc(sgy, ch)));
      store<f64>(acc(sdy, ch), load<f64>(acc(sdy, ch)) / <f64>hw);
      store<f64>(acc(sdyy, ch), load<f64>(acc(sdyy, ch)) / <f64>hw);
    }
    for (let p = 0, q = base; p < hw; p++) {
      for (let ch = 0; ch < c; ch++, q++) {
        // yv and dv again, as the first pass made them (the JavaScript kernel keeps them in arrays)
        const r = ld(stats, (at + ch) * 2 + 1);
        const yv = <f64>f((ld(x, q) - ld(stats, (at + ch) * 2)) * r);
        const ga = ld(gamma, row + ch);
        const gp = f(<f64>f(yv * ga) + ld(beta, row + ch)) > 0 ? ld(dy, q) : 0;
        const dv = <f64>f(gp * ga);
        st(dx, q, r * (dv - load<f64>(acc(sdy, ch)) - yv * load<f64>(acc(sdyy, ch))));
      }
    }
  }
}
