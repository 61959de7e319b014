/** AssemblyScript, imported by the convolution modules of src/kernels/simd/ (not a module of its own). */

/** c + a·b: one fused multiply-add where the module is built with relaxed SIMD (scripts/build-simd.ts), else mul, add. */
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
