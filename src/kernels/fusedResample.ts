/**
 * Reflection padding (nn.ReflectionPad2d) and nearest ×2 upsampling (nn.Upsample), each way, as fused wasm kernels:
 * composed from TF.js ops, one reflection pad is 10 kernels forward (slices, reversals, concatenations), the tensors
 * the tape saves for them, and about as many again backward; the upsampling a custom op around ResizeNearestNeighbor,
 * and an average pool and a multiply backward. Here each is one kernel each way, and a copy on the heap.
 *
 * Training only (src/kernels/wasmTrainKernels.ts adds them to the wasm kernels, toggled with FUSED), so the segmenter
 * bundles none of it; src/redo/layers.ts composes TF.js ops wherever they are not registered. By hand because no
 * library has these kernels for tfjs-backend-wasm.
 */
import * as tf from '@tensorflow/tfjs';
import {
  REFLECT_PAD,
  REFLECT_PAD_GRAD,
  RESIZE_BILINEAR1,
  RESIZE_BILINEAR1_GRAD,
  UPSAMPLE2,
  UPSAMPLE2_GRAD,
  bilinearTaps,
  type Compute,
  type FusedKernel,
} from './fusedOps';
import { addWasmFusedKernels } from './wasmKernels';

/** The source index of padded index q along an axis of n with reflection padding p (torch's ReflectionPad2d). */
const reflect = (q: number, n: number, p: number): number => (q < p ? p - q : q < n + p ? q - p : 2 * n + p - 2 - q);

/** y [B, H+2p, W+2p, C] from x [B, H, W, C]: each output pixel a copy of its reflected source. */
const reflectPad: Compute = ([x], [y], shapes, { p }) => {
  const [b, h, w, c] = shapes[0]!;
  const [hp, wp] = [h! + 2 * p!, w! + 2 * p!];
  for (let bi = 0, o = 0; bi < b!; bi++) {
    for (let i = 0; i < hp; i++) {
      const row = (bi * h! + reflect(i, h!, p!)) * w!;
      for (let j = 0; j < wp; j++) {
        const s = (row + reflect(j, w!, p!)) * c!;
        for (let ch = 0; ch < c!; ch++, o++) y![o] = x![s + ch]!;
      }
    }
  }
};

/**
 * The gradient of reflectPad along one axis (n → n + 2p, `outer` elements before it, `inner` after it): each source
 * element takes its own, then the right edge's reflection, then the left edge's, added in that order (with + 0 where
 * there is none) as the composed ops' gradients reach it, so the sums are theirs bit for bit.
 */
function unpadAxis(dy: Float32Array, dx: Float32Array, outer: number, n: number, inner: number, p: number): void {
  const np = n + 2 * p;
  for (let a = 0; a < outer; a++) {
    const src = a * np * inner;
    const dst = a * n * inner;
    for (let j = 0; j < n; j++) {
      const right = j >= n - 1 - p && j <= n - 2 ? 2 * n + p - 2 - j : -1;
      const left = j >= 1 && j <= p ? p - j : -1;
      for (let k = 0; k < inner; k++) {
        let v = dy[src + (j + p) * inner + k]!;
        v = Math.fround(v + (right >= 0 ? dy[src + right * inner + k]! : 0));
        dx[dst + j * inner + k] = Math.fround(v + (left >= 0 ? dy[src + left * inner + k]! : 0));
      }
    }
  }
}

/** dx [B, H, W, C] from dy [B, H+2p, W+2p, C]: the width first (the composed pad's outer op), then the height. */
const reflectPadGrad: Compute = ([dy], [dx], shapes, { p }) => {
  const [b, hp, wp, c] = shapes[0]!;
  const [h, w] = [hp! - 2 * p!, wp! - 2 * p!];
  const t = new Float32Array(b! * hp! * w * c!);
  unpadAxis(dy!, t, b! * hp!, w, c!, p!);
  unpadAxis(t, dx!, b!, h, w * c!, p!);
};

/** y [B, 2H, 2W, C]: each pixel of x [B, H, W, C] in a 2×2 block. */
const upsample2: Compute = ([x], [y], shapes) => {
  const [b, h, w, c] = shapes[0]!;
  for (let r = 0, o = 0; r < b! * h! * 2; r++) {
    const row = (r >> 1) * w! * c!;
    for (let j = 0; j < 2 * w!; j++) {
      const s = row + (j >> 1) * c!;
      for (let ch = 0; ch < c!; ch++, o++) y![o] = x![s + ch]!;
    }
  }
};

/**
 * dx [B, H, W, C]: the sum of each 2×2 block of dy [B, 2H, 2W, C], as 4·avgPool(dy, 2) on wasm computes it (XNNPACK
 * sums the left column, the right, then both, and scales by ¼), so the sums are the composed ops' bit for bit.
 */
const upsample2Grad: Compute = ([dy], [dx], shapes) => {
  const f = Math.fround;
  const [b, h2, w2, c] = shapes[0]!;
  const [h, w] = [h2! / 2, w2! / 2];
  const rowLen = w2! * c!;
  for (let r = 0, o = 0; r < b! * h; r++) {
    const top = 2 * r * rowLen;
    for (let j = 0; j < w; j++) {
      for (let ch = 0; ch < c!; ch++, o++) {
        const q = top + 2 * j * c! + ch;
        const left = f(dy![q]! + dy![q + rowLen]!);
        dx![o] = f(f(f(left + f(dy![q + c!]! + dy![q + rowLen + c!]!)) * 0.25) * 4);
      }
    }
  }
};

/**
 * y [B, size, size, 1] from x [B, H, W, 1]: rows first (Ry·x), then columns (·Rxᵀ), each output the float32 sum of its
 * two taps in source order, as the composed matrix products (layers.resizeBilinear1) sum them.
 */
const resizeBilinear1: Compute = ([x], [y], shapes, { size }) => {
  const f = Math.fround;
  const [b, h, w] = shapes[0]!;
  const [ty, tx] = [bilinearTaps(h!, size!), bilinearTaps(w!, size!)];
  const rows = new Float32Array(size! * w!);
  for (let bi = 0; bi < b!; bi++) {
    const xi = bi * h! * w!;
    for (let i = 0; i < size!; i++) {
      const [r0, r1] = [xi + ty.i0[i]! * w!, xi + ty.i1[i]! * w!];
      for (let q = 0; q < w!; q++) rows[i * w! + q] = f(f(ty.w0[i]! * x![r0 + q]!) + f(ty.w1[i]! * x![r1 + q]!));
    }
    for (let i = 0, o = bi * size! * size!; i < size!; i++) {
      for (let j = 0; j < size!; j++, o++) {
        y![o] = f(f(rows[i * w! + tx.i0[j]!]! * tx.w0[j]!) + f(rows[i * w! + tx.i1[j]!]! * tx.w1[j]!));
      }
    }
  }
};

/** dx [B, H, W, 1] (attrs h, w) from dy [B, size, size, 1]: the transposed products, each sum in output order. */
const resizeBilinear1Grad: Compute = ([dy], [dx], shapes, { h, w }) => {
  const f = Math.fround;
  const [b, size] = shapes[0]!;
  const [ty, tx] = [bilinearTaps(h!, size!), bilinearTaps(w!, size!)];
  const drows = new Float32Array(size! * w!);
  dx!.fill(0);
  for (let bi = 0; bi < b!; bi++) {
    drows.fill(0);
    for (let i = 0, o = bi * size! * size!; i < size!; i++) {
      for (let j = 0; j < size!; j++, o++) {
        const r = i * w!;
        drows[r + tx.i0[j]!] = f(drows[r + tx.i0[j]!]! + f(dy![o]! * tx.w0[j]!));
        drows[r + tx.i1[j]!] = f(drows[r + tx.i1[j]!]! + f(dy![o]! * tx.w1[j]!));
      }
    }
    const xi = bi * h! * w!;
    for (let i = 0; i < size!; i++) {
      const [r0, r1] = [xi + ty.i0[i]! * w!, xi + ty.i1[i]! * w!];
      for (let q = 0; q < w!; q++) {
        dx![r0 + q] = f(dx![r0 + q]! + f(ty.w0[i]! * drows[i * w! + q]!));
        dx![r1 + q] = f(dx![r1 + q]! + f(ty.w1[i]! * drows[i * w! + q]!));
      }
    }
  }
};

const padded = ([b, h, w, c]: number[], p: number) => [b!, h! + 2 * p, w! + 2 * p, c!];
const scaled = ([b, h, w, c]: number[], f: number) => [b!, h! * f, w! * f, c!];

const RESAMPLE_KERNELS: FusedKernel[] = [
  { name: REFLECT_PAD, inputs: ['x'], outShapes: ([x], { p }) => [padded(x!, p as number)], compute: reflectPad },
  { name: REFLECT_PAD_GRAD, inputs: ['dy'], outShapes: ([dy], { p }) => [padded(dy!, -(p as number))], compute: reflectPadGrad },
  { name: UPSAMPLE2, inputs: ['x'], outShapes: ([x]) => [scaled(x!, 2)], compute: upsample2 },
  { name: UPSAMPLE2_GRAD, inputs: ['dy'], outShapes: ([dy]) => [scaled(dy!, 0.5)], compute: upsample2Grad },
  {
    name: RESIZE_BILINEAR1,
    inputs: ['x'],
    outShapes: ([x], { size }) => [[x![0]!, size as number, size as number, 1]],
    compute: resizeBilinear1,
  },
  {
    name: RESIZE_BILINEAR1_GRAD,
    inputs: ['dy'],
    outShapes: ([dy], { h, w }) => [[dy![0]!, h as number, w as number, 1]],
    compute: resizeBilinear1Grad,
  },
];

addWasmFusedKernels(RESAMPLE_KERNELS);

tf.registerGradient({
  kernelName: REFLECT_PAD,
  gradFunc: (dy, _, attrs) => ({ x: () => tf.engine().runKernel(REFLECT_PAD_GRAD, { dy: dy as tf.Tensor }, attrs) }),
});
tf.registerGradient({
  kernelName: UPSAMPLE2,
  gradFunc: (dy) => ({ x: () => tf.engine().runKernel(UPSAMPLE2_GRAD, { dy: dy as tf.Tensor }, {}) }),
});
tf.registerGradient({
  kernelName: RESIZE_BILINEAR1,
  gradFunc: (dy, _, attrs) => ({ x: () => tf.engine().runKernel(RESIZE_BILINEAR1_GRAD, { dy: dy as tf.Tensor }, attrs) }),
});
