/**
 * AssemblyScript (compiled by scripts/build-simd.ts, outside tsconfig): the average pool's gradient in place on
 * tfjs-backend-wasm's heap, for windows that tile the input (stride = window, no padding) and C a multiple of 4, as ReDO
 * pools. By hand because tfjs-backend-wasm's own walks every element through index arithmetic (≈ 5 ns each here).
 *
 * avgPoolGrad: dX[b, FH·y + i, FW·x + j, c] = dY[b, y, x, c] · scale (1/(FH·FW)); rows and columns past the last
 * window are 0.
 */
export function avgPoolGrad(dy: usize, dx: usize, b: i32, h: i32, w: i32, c: i32, ho: i32, wo: i32, fh: i32, fw: i32, scale: f32): void {
  if (ho * fh != h || wo * fw != w) memory.fill(dx, 0, (<usize>(b * h * w * c)) << 2);
  const s = f32x4.splat(scale);
  const row = (<usize>(w * c)) << 2;
  const pixel = (<usize>c) << 2;
  for (let r = 0; r < b * ho; r++) {
    const n = r / ho;
    const top = dx + (<usize>((n * h + (r - n * ho) * fh) * w * c) << 2);
    let src = dy + ((<usize>(r * wo * c)) << 2);
    for (let x = 0; x < wo; x++) {
      const left = top + (<usize>(x * fw)) * pixel;
      for (let k: usize = 0; k < pixel; k += 16) {
        const v = f32x4.mul(v128.load(src + k), s);
        for (let i = 0; i < fh; i++) {
          for (let j = 0; j < fw; j++) v128.store(left + (<usize>i) * row + (<usize>j) * pixel + k, v);
        }
      }
      src += pixel;
    }
  }
}
