/**
 * AssemblyScript (compiled by scripts/build-simd.ts, outside tsconfig): Adam's update of a flat vector in place on
 * tfjs-backend-wasm's heap, src/kernels/fusedAdam.ts adamUpdate's arithmetic in f32 lanes (each f32 operation rounds
 * as JavaScript's Math.fround of the double one does, so the results are the same bit for bit). The scalars come
 * rounded from the caller; decay and momentum are 0 or 1.
 */
export function adam(
  g: usize,
  p: usize,
  m: usize,
  v: usize,
  po: usize,
  mo: usize,
  vo: usize,
  n: i32,
  wd: f32,
  b1: f32,
  c1: f32,
  b2: f32,
  c2: f32,
  rbc2: f32,
  eps: f32,
  rate: f32,
  decay: i32,
  momentum: i32,
): void {
  const vwd = f32x4.splat(wd), vb1 = f32x4.splat(b1), vc1 = f32x4.splat(c1), vb2 = f32x4.splat(b2), vc2 = f32x4.splat(c2);
  const vr = f32x4.splat(rbc2), ve = f32x4.splat(eps), vrate = f32x4.splat(rate);
  const end = (<usize>n) << 2;
  let i: usize = 0;
  for (; i + 16 <= end; i += 16) {
    const pv = v128.load(p + i);
    let gv = v128.load(g + i);
    if (decay) gv = f32x4.add(gv, f32x4.mul(pv, vwd));
    const m1 = momentum ? f32x4.add(f32x4.mul(v128.load(m + i), vb1), f32x4.mul(gv, vc1)) : gv;
    const v1 = f32x4.add(f32x4.mul(v128.load(v + i), vb2), f32x4.mul(f32x4.mul(gv, gv), vc2));
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(v1), vr), ve);
    v128.store(po + i, f32x4.sub(pv, f32x4.mul(f32x4.div(m1, denom), vrate)));
    v128.store(mo + i, m1);
    v128.store(vo + i, v1);
  }
  for (; i < end; i += 4) {
    const pv = load<f32>(p + i);
    let gv = load<f32>(g + i);
    if (decay) gv = gv + pv * wd;
    const m1 = momentum ? load<f32>(m + i) * b1 + gv * c1 : gv;
    const v1 = load<f32>(v + i) * b2 + gv * gv * c2;
    const denom = Mathf.sqrt(v1) * rbc2 + eps;
    store<f32>(po + i, pv - (m1 / denom) * rate);
    store<f32>(mo + i, m1);
    store<f32>(vo + i, v1);
  }
}
