/**
 * AssemblyScript (compiled by scripts/build-simd.ts, outside tsconfig): kernels along the channels of NHWC tensors, in
 * place on tfjs-backend-wasm's heap: the average pool's gradient, sums over every axis but the innermost (bias
 * gradients), a bias added, relu, the ×2 upsampling both ways, row copies, and softmax's gradient along the innermost
 * axis. By hand because tfjs-backend-wasm's own walk every element through index arithmetic, or
 * transpose first, and the bias was a JavaScript loop (≈ 1–5 ns per element here).
 *
 * avgPoolGrad, for windows that tile the input (stride = window, no padding) and C a multiple of 4, as ReDO pools:
 *
 * dX[b, FH·y + i, FW·x + j, c] = dY[b, y, x, c] · scale (1/(FH·FW)); rows and columns past the last window are 0.
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

/** out[k] = Σ_n x[n, k] for x [N, C], each in one chain of f32 additions in n order (as a row-wise sum of xᵀ). */
export function columnSum(x: usize, out: usize, n: i32, c: i32): void {
  const row = (<usize>c) << 2;
  let k = 0;
  for (; k + 16 <= c; k += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = x + ((<usize>k) << 2);
    for (let i = 0; i < n; i++, p += row) {
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32));
      a3 = f32x4.add(a3, v128.load(p, 48));
    }
    const o = out + ((<usize>k) << 2);
    v128.store(o, a0);
    v128.store(o, a1, 16);
    v128.store(o, a2, 32);
    v128.store(o, a3, 48);
  }
  for (; k + 4 <= c; k += 4) {
    let a = f32x4.splat(0);
    let p = x + ((<usize>k) << 2);
    for (let i = 0; i < n; i++, p += row) a = f32x4.add(a, v128.load(p));
    v128.store(out + ((<usize>k) << 2), a);
  }
  for (; k < c; k++) {
    let a: f32 = 0;
    let p = x + ((<usize>k) << 2);
    for (let i = 0; i < n; i++, p += row) a += load<f32>(p);
    store<f32>(out + ((<usize>k) << 2), a);
  }
}

/** y[n, k] += b[k] for y [N, C]: a convolution's bias, each sum rounded to f32 as tf.add rounds it. */
export function addBias(y: usize, b: usize, n: i32, c: i32): void {
  const row = (<usize>c) << 2;
  for (let i = 0; i < n; i++, y += row) {
    let k: usize = 0;
    for (; k + 16 <= row; k += 16) v128.store(y + k, f32x4.add(v128.load(y + k), v128.load(b + k)));
    for (; k < row; k += 4) store<f32>(y + k, load<f32>(y + k) + load<f32>(b + k));
  }
}

/** y[i] = max(x[i], 0) over n elements: the fused convolution's relu(x) input (wasm's max gives +0 for −0). */
export function relu(x: usize, y: usize, n: i32): void {
  const end = (<usize>n) << 2;
  const zero = f32x4.splat(0);
  let k: usize = 0;
  for (; k + 16 <= end; k += 16) v128.store(y + k, f32x4.max(v128.load(x + k), zero));
  for (; k < end; k += 4) store<f32>(y + k, max<f32>(load<f32>(x + k), 0));
}

/** dx[i] ·= step(x[i]) (1 where x > 0, else 0) over n elements: relu's gradient as tf.relu's, dy·step(x). */
export function reluGrad(x: usize, dx: usize, n: i32): void {
  const end = (<usize>n) << 2;
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  let k: usize = 0;
  for (; k + 16 <= end; k += 16) v128.store(dx + k, f32x4.mul(v128.load(dx + k), v128.and(f32x4.gt(v128.load(x + k), zero), one)));
  for (; k < end; k += 4) store<f32>(dx + k, load<f32>(dx + k) * (load<f32>(x + k) > 0 ? <f32>1 : <f32>0));
}

/** y [B, 2H, 2W, C]: each pixel of x [B, H, W, C] in a 2×2 block (nn.Upsample, nearest); the odd rows copy the even. */
export function upsample2(x: usize, y: usize, b: i32, h: i32, w: i32, c: i32): void {
  const pixel = (<usize>c) << 2;
  const row = (<usize>(2 * w)) * pixel;
  for (let r = 0; r < b * h; r++) {
    const top = y + (<usize>(2 * r)) * row;
    let o = top;
    for (let j = 0; j < w; j++, x += pixel) {
      for (let e = 0; e < 2; e++, o += pixel) {
        let k: usize = 0;
        for (; k + 16 <= pixel; k += 16) v128.store(o + k, v128.load(x + k));
        for (; k < pixel; k += 4) store<f32>(o + k, load<f32>(x + k));
      }
    }
    memory.copy(top + row, top, row);
  }
}

/**
 * dx [B, H, W, C]: the sum of each 2×2 block of dy [B, 2H, 2W, C] as 4·avgPool(dy, 2) computes it on wasm (XNNPACK: the
 * left column's sum plus the right's, scaled by ¼; then × 4), so bit for bit.
 */
export function upsample2Grad(dy: usize, dx: usize, b: i32, h: i32, w: i32, c: i32): void {
  const pixel = (<usize>c) << 2;
  const row = (<usize>(2 * w)) * pixel;
  const quarter = f32x4.splat(0.25);
  const four = f32x4.splat(4);
  for (let r = 0; r < b * h; r++) {
    let t = dy + (<usize>(2 * r)) * row;
    for (let j = 0; j < w; j++, t += 2 * pixel, dx += pixel) {
      let k: usize = 0;
      for (; k + 16 <= pixel; k += 16) {
        const left = f32x4.add(v128.load(t + k), v128.load(t + row + k));
        const right = f32x4.add(v128.load(t + pixel + k), v128.load(t + row + pixel + k));
        v128.store(dx + k, f32x4.mul(f32x4.mul(f32x4.add(left, right), quarter), four));
      }
      for (; k < pixel; k += 4) {
        const left = load<f32>(t + k) + load<f32>(t + row + k);
        const right = load<f32>(t + pixel + k) + load<f32>(t + row + pixel + k);
        store<f32>(dx + k, (left + right) * <f32>0.25 * <f32>4);
      }
    }
  }
}

/**
 * `rows` rows of n floats from src (a row every ss floats) to dst (every sd): slices, concatenations and splits along
 * the channels, a filter's output channels padded to a multiple of 4 for the convolution and its output cut back.
 */
export function copyRows(src: usize, dst: usize, rows: i32, n: i32, ss: i32, sd: i32): void {
  const len = (<usize>n) << 2;
  const bs = (<usize>ss) << 2;
  const bd = (<usize>sd) << 2;
  for (let r = 0; r < rows; r++, src += bs, dst += bd) {
    if (len >= 64) {
      memory.copy(dst, src, len);
      continue;
    }
    let k: usize = 0;
    for (; k + 16 <= len; k += 16) v128.store(dst + k, v128.load(src + k));
    for (; k < len; k += 4) store<u32>(dst + k, load<u32>(src + k));
  }
}

/**
 * dx = dy⊙y − (Σ dy⊙y)·y along rows of n (the gradient of a softmax y over the innermost axis), rounded as TF.js's
 * composed gradient on wasm: each row's sum one chain of float32 additions in order, so bit for bit.
 */
export function softmaxGrad(dy: usize, y: usize, dx: usize, rows: i32, n: i32): void {
  const row = (<usize>n) << 2;
  for (let r = 0; r < rows; r++) {
    let s: f32 = 0;
    for (let i: usize = 0; i < row; i += 4) s += load<f32>(dy + i) * load<f32>(y + i);
    const sv = f32x4.splat(s);
    let i: usize = 0;
    for (; i + 16 <= row; i += 16) {
      const yv = v128.load(y + i);
      v128.store(dx + i, f32x4.sub(f32x4.mul(v128.load(dy + i), yv), f32x4.mul(sv, yv)));
    }
    for (; i < row; i += 4) {
      const yv = load<f32>(y + i);
      store<f32>(dx + i, load<f32>(dy + i) * yv - s * yv);
    }
    dy += row;
    y += row;
    dx += row;
  }
}
