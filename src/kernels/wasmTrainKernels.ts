/**
 * The wasm kernels that only training runs, apart from src/kernels/wasmKernels.ts so that the segmenter (src/segmenter,
 * 50 KB budget) does not bundle them; src/redo/trainer.ts imports this module, which adds them to wasmKernels' set:
 * - Conv2DBackpropFilter, which tfjs-backend-wasm 4.22 lacks: one XNNPACK forward convolution of the input
 *   (padded, as [Cin, H, W, B]) with the output gradient (as a filter [Ho, Wo, B, Cout], dilated by the stride).
 * - Conv2DBackpropInput, over its own scalar loop nest (10× slower than XNNPACK here): one XNNPACK forward
 *   convolution of the output gradient (zeros inserted between pixels when strided) with the flipped filter.
 * - MaxPoolGrad: its own routes a window's gradient to the last of tied maxima, PyTorch and the cpu backend to
 *   the first (the golden gradients see the difference).
 * - The gradient of the fused convolution (CONV_GRAD of src/kernels/fusedOps.ts), with the fused kernels' gradient
 *   functions (src/kernels/fusedGrads.ts), and the reflection pad and upsampling kernels (src/kernels/fusedResample.ts).
 * - Conv2D, the filter gradient and AvgPoolGrad in WebAssembly SIMD (src/kernels/simdKernels.ts) where useSimdKernels
 *   plugged them.
 * By hand because no library provides these kernels for tfjs-backend-wasm.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { copyBlock, rowMajor } from './strided';
import { CONV_GRAD } from './fusedOps';
import { normalizeGrad } from './fusedTrainOps';
import './fusedGrads';
import './fusedResample';
import {
  addWasmKernels,
  conv2d,
  copyHeapBlock,
  heap,
  reluOf,
  run,
  simdKernels,
  transposeInto,
  type Make,
  type Shape4,
} from './wasmKernels';

/** dx·step(x) in place: the gradient of relu(x), as tf.relu's (step: 1 where x > 0, else 0). */
function reluGradInPlace(backend: BackendWasm, x: tf.TensorInfo, dx: tf.TensorInfo): void {
  if (simdKernels()?.reluGrad(backend, x, dx)) return;
  const [xv, dxv] = [heap(backend, x), heap(backend, dx)];
  for (let i = 0; i < xv.length; i++) dxv[i] = dxv[i]! * (xv[i]! > 0 ? 1 : 0);
}

const conv2dForward: Make = (original) => (args) => {
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs as unknown as tf.Conv2DAttrs;
  const simd = simdKernels();
  if (simd && dataFormat === 'NHWC' && x.dtype === 'float32') {
    const c = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, strides, dilations, pad, dimRoundingMode);
    const y = simd.conv2d(args.backend as unknown as BackendWasm, x, filter, c);
    if (y) return y;
  }
  return original.kernelFunc(args);
};

const conv2dBackpropInput: Make = (original) => (args) => {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { inputShape, strides, pad, dataFormat, dimRoundingMode } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const backend = args.backend as unknown as BackendWasm;
  if (dataFormat !== 'NHWC' || dy.dtype !== 'float32') return original.kernelFunc(args);
  const c = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as Shape4, strides, 1, pad, dimRoundingMode);
  const [kh, kw, sh, sw] = [c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth];
  // dx = dy (zeros between pixels when strided) correlated with the flipped filter, padded so that it gives H×W.
  const lh = (c.outHeight - 1) * sh + 1;
  const lw = (c.outWidth - 1) * sw + 1;
  const top = kh - 1 - c.padInfo.top;
  const left = kw - 1 - c.padInfo.left;
  const bottom = c.inHeight + kh - 1 - top - lh;
  const right = c.inWidth + kw - 1 - left - lw;
  if (Math.min(top, left, bottom, right) < 0) return original.kernelFunc(args);
  const [ci, co] = [c.inChannels, c.outChannels];
  const flipped = backend.makeOutput([kh, kw, co, ci], 'float32');
  let dilated = dy;
  if (sh > 1 || sw > 1) dilated = backend.makeOutput([c.batchSize, lh, lw, co], 'float32');
  // wf[i, j, o, n] = w[kh-1-i, kw-1-j, n, o]
  if (!simdKernels()?.flipFilter(backend, filter, flipped)) {
    const last = ((kh - 1) * kw + kw - 1) * ci * co;
    copyBlock(
      [kh, kw, co, ci],
      heap(backend, filter),
      last,
      [-kw * ci * co, -ci * co, 1, co],
      heap(backend, flipped),
      0,
      rowMajor([kh, kw, co, ci]),
    );
  }
  if (dilated !== dy) {
    heap(backend, dilated).fill(0);
    copyHeapBlock(backend, dy.shape, dy, 0, rowMajor(dy.shape), dilated, 0, [lh * lw * co, sh * lw * co, sw * co, 1]);
  }
  const dx = conv2d(
    backend,
    dilated,
    flipped,
    [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    [1, 1],
  );
  backend.disposeData(flipped.dataId);
  if (dilated !== dy) backend.disposeData(dilated.dataId);
  return dx;
};

const conv2dBackpropFilter: Make = (original) => (args) => {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const backend = args.backend as unknown as BackendWasm;
  if (dataFormat !== 'NHWC' || x.dtype !== 'float32') return original.kernelFunc(args);
  const c = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode);
  const fast = simdKernels()?.filterGrad(backend, x, dy, c);
  if (fast) return fast;
  const [b, h, w, ci] = x.shape as [number, number, number, number];
  const [kh, kw, sh, sw, pt, pl] = [c.filterHeight, c.filterWidth, c.strideHeight, c.strideWidth, c.padInfo.top, c.padInfo.left];
  // dW[i, j, n, o] = Σ_{b,y,x} xpad[b, i + s·y, j + s·x, n]·dy[b, y, x, o]: a convolution over (y, x, b) of
  // xpad as [Cin, Hn, Wn, B] with dy as the filter [Ho, Wo, B, Cout] dilated by s, giving [Cin, kh, kw, Cout].
  const hn = kh + sh * (c.outHeight - 1);
  const wn = kw + sw * (c.outWidth - 1);
  const xt = backend.makeOutput([ci, hn, wn, b], 'float32');
  const xtv = heap(backend, xt);
  xtv.fill(0);
  const [y0, y1] = [Math.max(0, pt), Math.min(hn, pt + h)];
  const [x0, x1] = [Math.max(0, pl), Math.min(wn, pl + w)];
  if (y1 > y0 && x1 > x0) {
    copyBlock(
      [ci, y1 - y0, x1 - x0, b],
      heap(backend, x),
      ((y0 - pt) * w + (x0 - pl)) * ci,
      [1, w * ci, ci, h * w * ci],
      xtv,
      (y0 * wn + x0) * b,
      [hn * wn * b, wn * b, b, 1],
    );
  }
  const dyt = transposeInto(backend, dy, [1, 2, 0, 3]);
  const g = conv2d(backend, xt, dyt, 'valid', [sh, sw]);
  const dw = transposeInto(backend, g, [1, 2, 0, 3]);
  for (const t of [xt, dyt, g]) backend.disposeData(t.dataId);
  return dw;
};

/**
 * MaxPoolGrad: tfjs-backend-wasm's sends each window's gradient to the LAST of tied maxima; the cpu backend and
 * PyTorch to the first. Ties are common in ReDO (nearest upsampling repeats each pixel 2×2 before attention's
 * max pool), where the golden gradients need the first. NHWC, any window, stride and padding.
 */
const maxPoolGrad: Make = (original) => (args) => {
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
  const backend = args.backend as unknown as BackendWasm;
  if (input.dtype !== 'float32') return original.kernelFunc(args);
  const c = tf.backend_util.computePool2DInfo(input.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
  const dx = backend.makeOutput([...input.shape], 'float32');
  const [d, x, g] = [heap(backend, dx), heap(backend, input), heap(backend, dy)];
  d.fill(0);
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: ch, outHeight: ho, outWidth: wo } = c;
  for (let b = 0; b < nb; b++) {
    for (let oy = 0; oy < ho; oy++) {
      const y0 = oy * c.strideHeight - c.padInfo.top;
      for (let ox = 0; ox < wo; ox++) {
        const x0 = ox * c.strideWidth - c.padInfo.left;
        for (let k = 0; k < ch; k++) {
          let best = -Infinity;
          let at = -1;
          for (let fy = Math.max(0, y0); fy < Math.min(h, y0 + c.effectiveFilterHeight); fy += c.dilationHeight) {
            for (let fx = Math.max(0, x0); fx < Math.min(w, x0 + c.effectiveFilterWidth); fx += c.dilationWidth) {
              const i = ((b * h + fy) * w + fx) * ch + k;
              if (x[i]! > best || at < 0) {
                best = x[i]!;
                at = i;
              }
            }
          }
          if (at >= 0) d[at]! += g[((b * ho + oy) * wo + ox) * ch + k]!;
        }
      }
    }
  }
  return dx;
};

const avgPoolGrad: Make = (original) => (args) => {
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad } = args.attrs as unknown as tf.AvgPoolGradAttrs;
  const simd = simdKernels();
  if (simd && input.dtype === 'float32') {
    const c = tf.backend_util.computePool2DInfo(input.shape as Shape4, filterSize, strides, 1, pad);
    const dx = simd.avgPoolGrad(args.backend as unknown as BackendWasm, dy, c);
    if (dx) return dx;
  }
  return original.kernelFunc(args);
};

/** The fused convolution's gradient (its forward stays in wasmKernels: the segmenter runs it). */
const convGrad: tf.KernelConfig = {
  kernelName: CONV_GRAD,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: be, attrs }) => {
    const { dy, x, w, state } = inputs as Record<string, tf.TensorInfo | undefined>;
    const backend = be as unknown as BackendWasm;
    const { pad, bias, wShape, relu } = attrs as { pad: number; bias: number; wShape: number[]; relu?: number };
    const conv = { strides: 1, pad: pad === 0 ? 'valid' : pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const call = (name: string, ins: tf.NamedTensorInfoMap, at: object) => run(backend, name, ins, at);
    let filter = w;
    const n = wShape[3]!;
    const k = tf.util.sizeFromShape(wShape) / n;
    // [σ, u, v, W] as views of the snapshot (whose TensorInfo declares [σ, u, v] alone: wasmKernels.ts's CONV), taken
    // anew after each allocation: growing the heap detaches old views.
    const snapshot = () => {
      const sv = heap(backend, { ...state!, shape: [1 + n + k + k * n] }) as Float32Array;
      return [sv.subarray(0, 1), sv.subarray(1, 1 + n), sv.subarray(1 + n, 1 + n + k), sv.subarray(1 + n + k)] as const;
    };
    // their byte offsets (which stay)
    const snap = state ? backend.getMemoryOffset(state.dataId) : 0;
    const sn = { sigma: snap, u: snap + 4, v: snap + 4 * (1 + n), w: snap + 4 * (1 + n + k) };
    if (state) {
      filter = backend.makeOutput(wShape, 'float32');
      const [sigma, , , wv] = snapshot();
      if (!simdKernels()?.divide(backend, sn.w, backend.getMemoryOffset(filter.dataId), n * k, sigma[0]!)) {
        const fv = heap(backend, filter);
        for (let i = 0; i < wv.length; i++) fv[i] = wv[i]! / sigma[0]!; // as fusedOps' normalize divides
      }
    }
    const dx = call(tf.Conv2DBackpropInput, { dy: dy!, filter: filter! }, { ...conv, inputShape: x!.shape });
    const input = relu ? reluOf(backend, x!) : x!;
    let dw = call(tf.Conv2DBackpropFilter, { x: input, dy: dy! }, { ...conv, filterShape: wShape });
    if (relu) {
      backend.disposeData(input.dataId);
      reluGradInPlace(backend, x!, dx);
    }
    if (state) {
      backend.disposeData(filter!.dataId);
      const dwn = dw;
      dw = backend.makeOutput(wShape, 'float32');
      const off = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
      if (!simdKernels()?.snNormalizeGrad(backend, { ...sn, dy: off(dwn), dw: off(dw) }, n, k)) {
        const [sigma, u, v, wv] = snapshot();
        normalizeGrad([heap(backend, dwn) as Float32Array, wv, u, v, sigma], [heap(backend, dw) as Float32Array], [], {});
      }
      backend.disposeData(dwn.dataId);
    }
    if (!bias) return [dx, dw];
    return [dx, dw, call(tf.Sum, { x: dy! }, { axis: [0, 1, 2], keepDims: false })];
  },
};

addWasmKernels(
  [
    [tf.Conv2D, conv2dForward],
    [tf.Conv2DBackpropInput, conv2dBackpropInput],
    [tf.Conv2DBackpropFilter, conv2dBackpropFilter],
    [tf.MaxPoolGrad, maxPoolGrad],
    [tf.AvgPoolGrad, avgPoolGrad],
  ],
  [convGrad],
);
