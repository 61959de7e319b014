/**
 * Kernels registered for TF.js's `wasm` backend (tfjs-backend-wasm, XNNPACK) over or beside its own, so that it
 * trains ReDO, and fast:
 * - BatchMatMul: its own sends only untransposed, unbatched products to XNNPACK; here every product goes there (or,
 *   with the SIMD kernels plugged, to src/kernels/simd/matmul.ts).
 * - Transpose, and Sum / Mean / Max / Min over axes that are not innermost (which it transposes first): its C++
 *   transpose is a per-element index computation; here a strided, tiled walk.
 * - Slice, SplitV, Unpack, Concat, Pack: it copies the whole input out of the heap for every Slice and concatenates
 *   with one typed-array set() per innermost row (per pixel when concatenating channels); here one strided walk
 *   (its rows copied by the SIMD kernels where plugged).
 * - Identity, and Cast to the same dtype: the input's memory shared (as the cpu backend and wasm's own Reshape do)
 *   instead of a fresh copy (thousands per training step: every tensor saved for a gradient is cloned).
 * - The fused kernels of src/kernels/fusedOps.ts (spectral norm, instance norm, Adam), over the WebAssembly heap.
 * The gradients' kernels live in src/kernels/wasmTrainKernels.ts (addWasmKernels), and the SIMD ones the trainer plugs
 * in (setSimdKernels) in src/kernels/simdKernels.ts: the segmenter, which bundles this file, needs neither.
 * By hand because no library provides these kernels for tfjs-backend-wasm; the heavy arithmetic stays in XNNPACK.
 * Each falls back to tfjs-backend-wasm's own kernel outside what it handles (other dtypes, layouts, paddings).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { copyBlock, rowMajor } from './strided';
import { CONV, SN_CONV, normalize, registerFusedKernels, unregisterFusedKernels, type FusedKernel, type FusedStorage } from './fusedOps';

type Heap = Float32Array | Int32Array | Uint8Array;
export type Shape4 = [number, number, number, number];

export function heap(backend: BackendWasm, t: tf.TensorInfo): Heap {
  return backend.typedArrayFromHeap(t);
}

function wasmKernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`tfjs-backend-wasm has no ${name} kernel`);
  return k.kernelFunc;
}

/** Runs another wasm kernel from inside a kernel (no engine: the caller disposes what it does not return). */
export function run(backend: BackendWasm, name: string, inputs: tf.NamedTensorInfoMap, attrs: object): tf.TensorInfo {
  return wasmKernel(name)({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}

function share(backend: BackendWasm, x: tf.TensorInfo, shape = x.shape): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...shape], dtype: x.dtype };
}

export type Pad = 'valid' | tf.backend_util.ExplicitPadding;

export function conv2d(
  backend: BackendWasm,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  pad: Pad,
  dilations: [number, number],
): tf.TensorInfo {
  return run(backend, tf.Conv2D, { x, filter }, { strides: 1, pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined });
}

export type Make = (original: tf.KernelConfig) => tf.KernelFunc;

/**
 * A tensor over part of another's memory (no copy): what XNNPACK reads or writes per batch entry. Registered with the
 * C++ side under its own id; released with dropAlias (never disposeData, which would free the owner's memory).
 */
function alias(backend: BackendWasm, owner: tf.TensorInfo, offset: number, shape: number[]): tf.TensorInfo {
  const bytes = offset * tf.util.bytesPerElement(owner.dtype);
  return backend.makeOutput(shape, owner.dtype, backend.getMemoryOffset(owner.dataId) + bytes);
}

function dropAlias(backend: BackendWasm, t: tf.TensorInfo): void {
  backend.wasm.tfjs.disposeData(backend.dataIdMap.get(t.dataId).id);
  backend.dataIdMap.delete(t.dataId);
}

/** The part of the Emscripten module used here (@types/emscripten 0.0.34 does not declare cwrap). */
interface Cwrap {
  cwrap(name: string, returnType: null, argTypes: string[]): unknown;
}

/** A batched product's sizes: op(A) [m, k] and op(B) [k, n] per entry, batchA or batchB 1 where broadcast. */
export interface MatMulShape {
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
}

/** tfjs-backend-wasm's C++ BatchMatMul: (a id, a shape, rank, b id, b shape, rank, transposeA, transposeB, out id). */
type MatMulFn = (a: number, as: Uint8Array, ar: number, b: number, bs: Uint8Array, br: number, ta: boolean, tb: boolean, o: number) => void;
let wasmMatMul: MatMulFn | undefined;
const MATMUL_ARGS = ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number'];

const shapeBytes = (shape: readonly number[]) => new Uint8Array(new Int32Array(shape).buffer);

/**
 * tfjs-backend-wasm sends a matrix product to XNNPACK only when neither side is transposed and the batch is 1;
 * every other one (transposed gradients, attention, spectral norm) takes a scalar loop nest at a tenth of the
 * speed. Here transposed operands are transposed first (one C++ pass) and a batch becomes one XNNPACK call per
 * entry on aliases of the operands and of the output.
 */
const batchMatMul: Make = (original) => (args) => {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  const backend = args.backend as unknown as BackendWasm;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !wasmMatMul) return original.kernelFunc(args);
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) return original.kernelFunc(args); // its error message
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  const out = backend.makeOutput([...outer, m, n], 'float32');
  if (batch * m * n === 0) return out;
  if (k === 0) {
    heap(backend, out).fill(0);
    return out;
  }
  if (simd?.batchMatMul(backend, a, b, out, { batchA, batchB, m, k, n, transposeA, transposeB })) return out;
  // Either C = op(A)·op(B), or Cᵀ = op(B)ᵀ·op(A)ᵀ then transposed into C: whichever transposes (a strided walk)
  // fewer elements; XNNPACK also packs its right operand on every call (a quarter of a transpose per element).
  const direct = (transposeA ? batchA * m * k : 0) + (transposeB ? batchB * k * n : 0) + (batch * k * n) / 4;
  const swapped = (transposeB ? 0 : batchB * k * n) + (transposeA ? 0 : batchA * m * k) + batch * m * n + (batch * k * m) / 4;
  const temps: tf.TensorInfo[] = [];
  const canonical = (t: tf.TensorInfo, bt: number, rows: number, cols: number, stored: boolean): tf.TensorInfo => {
    // t holds `bt` matrices rows×cols when `stored`, else their transposes; returns them as rows×cols
    if (stored) return t;
    const tt = transposeInto(backend, { ...t, shape: [bt, cols, rows] }, [0, 2, 1]);
    temps.push(tt);
    return tt;
  };
  if (direct <= swapped) {
    products(backend, canonical(a, batchA, m, k, !transposeA), batchA, canonical(b, batchB, k, n, !transposeB), batchB, m, k, n, out);
  } else {
    const ct = backend.makeOutput([batch, n, m], 'float32');
    temps.push(ct);
    products(backend, canonical(b, batchB, n, k, transposeB), batchB, canonical(a, batchA, k, m, transposeA), batchA, n, k, m, ct);
    copyBlock([batch, m, n], heap(backend, ct), 0, [n * m, 1, m], heap(backend, out), 0, [m * n, n, 1]);
  }
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
};

/** out[i] = left[i] [m, k] · right[i] [k, n] (a batch of 1 broadcast), one XNNPACK fully-connected call per entry. */
function products(
  backend: BackendWasm,
  left: tf.TensorInfo,
  batchL: number,
  right: tf.TensorInfo,
  batchR: number,
  m: number,
  k: number,
  n: number,
  out: tf.TensorInfo,
): void {
  const batch = Math.max(batchL, batchR);
  // one right matrix for the whole batch: a single product of [batch·m, k] by [k, n]
  const steps = batchR === 1 ? 1 : batch;
  const rows = batchR === 1 ? batch * m : m;
  const id = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).id;
  for (let i = 0; i < steps; i++) {
    const li = alias(backend, left, batchL === 1 ? 0 : i * m * k, [1, rows, k]);
    const ri = alias(backend, right, (i % batchR) * k * n, [1, k, n]);
    const oi = alias(backend, out, i * m * n, [1, rows, n]);
    wasmMatMul!(id(li), shapeBytes(li.shape), 3, id(ri), shapeBytes(ri.shape), 3, false, false, id(oi));
    for (const t of [li, ri, oi]) dropAlias(backend, t);
  }
}

/** x with its dimensions permuted (output dimension d is input dimension perm[d]), as one strided walk. */
export function transposeInto(backend: BackendWasm, x: tf.TensorInfo, perm: readonly number[]): tf.TensorInfo {
  const shape = perm.map((p) => x.shape[p]!);
  const out = backend.makeOutput(shape, x.dtype);
  const strides = rowMajor(x.shape);
  copyBlock(
    shape,
    heap(backend, x),
    0,
    perm.map((p) => strides[p]!),
    heap(backend, out),
    0,
    rowMajor(shape),
  );
  return out;
}

/** tfjs-backend-wasm's C++ Transpose walks every element through index arithmetic (≈ 20 ns each here). */
const transpose: Make = (original) => (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return original.kernelFunc(args);
  return transposeInto(args.backend as unknown as BackendWasm, x, (args.attrs as unknown as tf.TransposeAttrs).perm);
};

/**
 * Sum, Mean, Max, Min over axes that are not the innermost: tfjs-backend-wasm transposes them innermost with its
 * slow C++ Transpose first (instance norm's moments over H, W; a bias gradient's sum over B, H, W). Here the
 * transpose is transposeInto's, then its own reduction runs on the innermost axes (same arithmetic).
 */
const reduction: Make = (original) => (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
  const backend = args.backend as unknown as BackendWasm;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const perm = tf.backend_util.getAxesPermutation(axes, x.shape.length);
  if (perm === null || x.dtype === 'string') return original.kernelFunc(args);
  const rank = x.shape.length;
  if (original.kernelName === tf.Sum && x.dtype === 'float32' && axes.length === rank - 1 && !axes.includes(rank - 1)) {
    const out = simd?.columnSum(backend, x);
    if (out) return keepDims ? { ...out, shape: tf.backend_util.expandShapeToKeepDim(out.shape, axes) } : out;
  }
  const xt = transposeInto(backend, x, perm);
  const inner = tf.backend_util.getInnerMostAxes(axes.length, x.shape.length);
  const out = original.kernelFunc({ ...args, inputs: { x: xt }, attrs: { axis: inner, keepDims: false } }) as tf.TensorInfo;
  backend.disposeData(xt.dataId);
  return keepDims ? { ...out, shape: tf.backend_util.expandShapeToKeepDim(out.shape, axes) } : out;
};

function parseSlice(x: tf.TensorInfo, attrs: tf.NamedAttrMap): { begin: number[]; size: number[] } {
  const { begin, size } = attrs as unknown as tf.SliceAttrs;
  const [b, s] = tf.slice_util.parseSliceParams(x, begin, size) as [number[], number[]]; // [begin, size]
  tf.slice_util.assertParamsValid(x, b, s);
  return { begin: b, size: s };
}

/** copyBlock between two tensors on the heap: by the SIMD kernels' row copies where plugged, else JavaScript's walk. */
export function copyHeapBlock(
  backend: BackendWasm,
  shape: readonly number[],
  src: tf.TensorInfo,
  srcBase: number,
  srcStrides: readonly number[],
  dst: tf.TensorInfo,
  dstBase: number,
  dstStrides: readonly number[],
): void {
  if (simd?.copyBlock(backend, shape, src, srcBase, srcStrides, dst, dstBase, dstStrides)) return;
  copyBlock(shape, heap(backend, src), srcBase, srcStrides, heap(backend, dst), dstBase, dstStrides);
}

function sliceInto(backend: BackendWasm, x: tf.TensorInfo, begin: readonly number[], size: readonly number[], outShape = size) {
  const out = backend.makeOutput([...outShape], x.dtype);
  const strides = rowMajor(x.shape);
  const base = begin.reduce((acc, v, d) => acc + v * strides[d]!, 0);
  copyHeapBlock(backend, size, x, base, strides, out, 0, rowMajor(size));
  return out;
}

const slice: Make = (original) => (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return original.kernelFunc(args);
  const { begin, size } = parseSlice(x, args.attrs ?? {});
  return sliceInto(args.backend as unknown as BackendWasm, x, begin, size);
};

const splitV: Make = (original) => (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return original.kernelFunc(args);
  const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[ax] = n;
    const piece = sliceInto(args.backend as unknown as BackendWasm, x, begin, size);
    begin[ax]! += n;
    return piece;
  });
};

const unpack: Make = (original) => (args) => {
  const { value } = args.inputs as { value: tf.TensorInfo };
  if (value.dtype === 'string') return original.kernelFunc(args);
  const ax = tf.util.parseAxisParam((args.attrs as unknown as tf.UnpackAttrs).axis, value.shape)[0]!;
  const size = [...value.shape];
  size[ax] = 1;
  const outShape = value.shape.filter((_, d) => d !== ax);
  return Array.from({ length: value.shape[ax]! }, (_, i) => {
    const begin = new Array<number>(value.shape.length).fill(0);
    begin[ax] = i;
    return sliceInto(args.backend as unknown as BackendWasm, value, begin, size, outShape);
  });
};

/** Writes each input (all of rank r, shapes equal but along `axis`) at its offset along `axis` of the output. */
function concatInto(backend: BackendWasm, inputs: readonly tf.TensorInfo[], shapes: readonly number[][], axis: number, outShape: number[]) {
  const out = backend.makeOutput(outShape, inputs[0]!.dtype);
  const strides = rowMajor(outShape);
  let offset = 0;
  inputs.forEach((t, i) => {
    const shape = shapes[i]!;
    copyHeapBlock(backend, shape, t, 0, rowMajor(shape), out, offset * strides[axis]!, strides);
    offset += shape[axis]!;
  });
  return out;
}

const concat: Make = (original) => (args) => {
  const inputs = args.inputs as unknown as tf.TensorInfo[];
  const backend = args.backend as unknown as BackendWasm;
  if (inputs.some((t) => t.dtype === 'string' || t.dtype !== inputs[0]!.dtype)) return original.kernelFunc(args);
  const axis = tf.util.parseAxisParam((args.attrs as unknown as tf.ConcatAttrs).axis, inputs[0]!.shape)[0]!;
  const shapes = inputs.map((t) => t.shape);
  tf.backend_util.assertParamsConsistent(shapes, axis);
  const outShape = tf.backend_util.computeOutShape(shapes, axis);
  const kept = inputs.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
  if (kept.length === 1) return share(backend, kept[0]!, outShape);
  return concatInto(
    backend,
    kept,
    kept.map((t) => t.shape),
    axis,
    outShape,
  );
};

const pack: Make = (original) => (args) => {
  const inputs = args.inputs as unknown as tf.TensorInfo[];
  const backend = args.backend as unknown as BackendWasm;
  const first = inputs[0]!;
  const odd = (t: tf.TensorInfo) => t.dtype === 'string' || t.dtype !== first.dtype || !tf.util.arraysEqual(t.shape, first.shape);
  if (inputs.some(odd)) return original.kernelFunc(args);
  const axis = (args.attrs as unknown as tf.PackAttrs).axis;
  const ax = axis < 0 ? axis + first.shape.length + 1 : axis;
  const expanded = [...first.shape.slice(0, ax), 1, ...first.shape.slice(ax)];
  const outShape = [...expanded];
  outShape[ax] = inputs.length;
  return concatInto(
    backend,
    inputs,
    inputs.map(() => expanded),
    ax,
    outShape,
  );
};

const identity: Make = (original) => (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  return x.dtype === 'string' ? original.kernelFunc(args) : share(args.backend as unknown as BackendWasm, x);
};

const cast: Make = (original) => (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { dtype } = args.attrs as unknown as tf.CastAttrs;
  return dtype === x.dtype && dtype !== 'string' ? share(args.backend as unknown as BackendWasm, x) : original.kernelFunc(args);
};

const KERNELS: Array<[string, Make]> = [
  [tf.BatchMatMul, batchMatMul],
  [tf.Transpose, transpose],
  [tf.Sum, reduction],
  [tf.Mean, reduction],
  [tf.Max, reduction],
  [tf.Min, reduction],
  [tf.Slice, slice],
  [tf.SplitV, splitV],
  [tf.Unpack, unpack],
  [tf.Concat, concat],
  [tf.Pack, pack],
  [tf.Identity, identity],
  [tf.Cast, cast],
];

/** tfjs-backend-wasm's own kernels (undefined where it has none), kept so a benchmark or test can switch back. */
const originals = new Map<string, tf.KernelConfig | undefined>();
const fast = new Map<string, tf.KernelConfig>();

function missing(name: string): tf.KernelConfig {
  return {
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: () => {
      throw new Error(`tfjs-backend-wasm has no ${name} kernel (only NHWC float32 is provided here)`);
    },
  };
}

/** relu(x) as a new tensor (the fused convolution's input where it applies relu first). */
export function reluOf(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
  const out = backend.makeOutput(x.shape, 'float32');
  if (simd?.relu(backend, x, out)) return out;
  const xv = heap(backend, x);
  const ov = heap(backend, out);
  for (let i = 0; i < xv.length; i++) ov[i] = Math.max(xv[i]!, 0);
  return out;
}

/**
 * The convolutions of src/kernels/fusedOps.ts fusedConv (stride 1, bias optional, W/σ when u and v are given) as
 * one kernel each way: W/σ (fusedOps' arithmetic), the convolution and its gradients (the kernels above) and the
 * bias, each exactly as the composed ops compute them, so the results are bit for bit those of the composed path.
 * One engine kernel each way instead of about fifteen (the ops, the tensors the tape saves, the bias's broadcast
 * gradient). With spectral norm the forward also returns [σ, u, v, W] for the gradient: a snapshot that a later
 * power iteration cannot change, from which W/σ is recomputed (one saved tensor fewer). Its TensorInfo declares only
 * [σ, u, v]: the engine gives an output that nothing reads a zero gradient of its declared size, made
 * in JavaScript and copied to the heap (with W declared: 4.5 MB per c2mnist-64 step, 29 ms of it in Chromium). The
 * buffer, W included, is the backend's; only the gradient (wasmTrainKernels.ts) reads past the declared size.
 */
const convKernels: tf.KernelConfig[] = [
  {
    kernelName: CONV,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend: be, attrs }) => {
      const { x, w, b, u, v } = inputs as Record<string, tf.TensorInfo | undefined>;
      const backend = be as unknown as BackendWasm;
      const { pad, relu } = attrs as { pad: number; relu?: number };
      const n = w!.shape[3]!;
      const input = relu ? reluOf(backend, x!) : x!;
      let filter = w!;
      let state: tf.TensorInfo | undefined;
      if (u && v) {
        const k = v.shape[0]!;
        filter = backend.makeOutput(w!.shape, 'float32');
        state = backend.makeOutput([1 + n + k + k * n], 'float32');
        const at = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
        const p = { w: at(w!), u: at(u), v: at(v), wn: at(filter), sigma: at(state) };
        const sv = heap(backend, state) as Float32Array;
        if (!simd?.snNormalize(backend, p, n, k)) {
          const [ws, us, vs, fs] = [w!, u, v, filter].map((t) => heap(backend, t)) as Float32Array[];
          normalize([ws!, us!, vs!], [fs!, sv.subarray(0, 1)], [], {});
        }
        sv.set(heap(backend, u), 1);
        sv.set(heap(backend, v), 1 + n);
        sv.set(heap(backend, w!), 1 + n + k);
      }
      const y = conv2d(
        backend,
        input,
        filter,
        pad === 0
          ? 'valid'
          : [
              [0, 0],
              [pad, pad],
              [pad, pad],
              [0, 0],
            ],
        [1, 1],
      );
      if (filter !== w) backend.disposeData(filter.dataId);
      if (input !== x) backend.disposeData(input.dataId);
      if (b && !simd?.addBias(backend, y, b)) {
        const yv = heap(backend, y);
        const bv = heap(backend, b);
        for (let i = 0, c = 0; i < yv.length; i++, c = c + 1 === n ? 0 : c + 1) yv[i] = yv[i]! + bv[c]!;
      }
      return state ? [y, { ...state, shape: [1 + n + v!.shape[0]!] }] : [y];
    },
  },
];
convKernels.push({ ...convKernels[0]!, kernelName: SN_CONV });

let convOn = false;

function registerConv(on: boolean): void {
  convOn = on;
  for (const k of convKernels) {
    if (tf.getKernel(k.kernelName, 'wasm')) tf.unregisterKernel(k.kernelName, 'wasm');
    if (on) tf.registerKernel(k);
  }
}

export const FUSED = 'fused';

let fusedOn = false;
const extraFused: FusedKernel[][] = [];

/** Fused kernels from a module the segmenter does not bundle (src/kernels/fusedAdam.ts), toggled with FUSED. */
export function addWasmFusedKernels(kernels: FusedKernel[]): void {
  extraFused.push(kernels);
  if (fusedOn) registerFusedKernels('wasm', storage, kernels);
}

/**
 * Kernels in place on the heap (src/kernels/simdKernels.ts, WebAssembly SIMD): each returns null where it does not
 * apply, and the kernel it stands in for serves. Plugged in by training only (their modules stay out of the segmenter).
 */
export interface SimdKernels {
  conv2d(backend: BackendWasm, x: tf.TensorInfo, filter: tf.TensorInfo, c: tf.backend_util.Conv2DInfo): tf.TensorInfo | null;
  filterGrad(backend: BackendWasm, x: tf.TensorInfo, dy: tf.TensorInfo, c: tf.backend_util.Conv2DInfo): tf.TensorInfo | null;
  avgPoolGrad(backend: BackendWasm, dy: tf.TensorInfo, c: tf.backend_util.Conv2DInfo): tf.TensorInfo | null;
  /** Σ over every axis but the innermost, in the order the transposed route sums (so the same values). */
  columnSum(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo | null;
  /** A filter [KH, KW, CI, CO] flipped into `out` [KH, KW, CO, CI] (taps reversed); false where it did not run. */
  flipFilter(backend: BackendWasm, filter: tf.TensorInfo, out: tf.TensorInfo): boolean;
  /** y[.., c] += b[c] in place; false where it did not run. */
  addBias(backend: BackendWasm, y: tf.TensorInfo, b: tf.TensorInfo): boolean;
  /** σ and W/σ of a spectrally normalised filter (fusedOps' normalize; byte offsets on the heap); false where it did not run. */
  snNormalize(backend: BackendWasm, p: Record<'w' | 'u' | 'v' | 'wn' | 'sigma', number>, n: number, k: number): boolean;
  /** fusedOps' normalizeGrad (byte offsets); false where it did not run. */
  snNormalizeGrad(backend: BackendWasm, p: Record<'dy' | 'w' | 'u' | 'v' | 'sigma' | 'dw', number>, n: number, k: number): boolean;
  /** out = x / d over len float32 (byte offsets); false where it did not run. */
  divide(backend: BackendWasm, x: number, out: number, len: number, d: number): boolean;
  /** out = op(a)·op(b) for batches of matrices (a batch of 1 broadcast); false where it did not run. */
  batchMatMul(backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo, out: tf.TensorInfo, p: MatMulShape): boolean;
  /** copyBlock (src/kernels/strided.ts) of 4-byte elements whose innermost rows are contiguous both sides; false elsewhere. */
  copyBlock(...args: Parameters<typeof copyHeapBlock>): boolean;
  /** relu(x) into `out` (same size); false where it did not run. */
  relu(backend: BackendWasm, x: tf.TensorInfo, out: tf.TensorInfo): boolean;
  /** dx ·= step(x) in place (relu's gradient); false where it did not run. */
  reluGrad(backend: BackendWasm, x: tf.TensorInfo, dx: tf.TensorInfo): boolean;
  /** A fused kernel of src/kernels/fusedOps.ts; false where it has none for `name` (its JavaScript then runs). */
  fused(name: string, backend: BackendWasm, ins: tf.TensorInfo[], outs: tf.TensorInfo[], shapes: number[][], attrs: object): boolean;
}

let simd: SimdKernels | undefined;

export function setSimdKernels(k: SimdKernels | undefined): void {
  simd = k;
}

export const simdKernels = (): SimdKernels | undefined => simd;

const storage: FusedStorage = {
  read: (backend, t) => (backend as BackendWasm).typedArrayFromHeap(t) as Float32Array,
  run: (name, backend, ins, outs, shapes, attrs) => simd?.fused(name, backend as BackendWasm, ins, outs, shapes, attrs) ?? false,
  alloc: (backend, shapes) => {
    const b = backend as BackendWasm;
    const infos = shapes.map((s) => b.makeOutput(s, 'float32'));
    return { infos, views: () => infos.map((t) => b.typedArrayFromHeap(t) as Float32Array) };
  },
};

/**
 * Registers these kernels and the fused ones of src/kernels/fusedOps.ts for `wasm` (`on`), or puts tfjs-backend-wasm's
 * own back (a kernel it lacks then throws; without the fused kernels src/redo/layers.ts composes TF.js ops);
 * `only`: just the kernels named (the fused ones by the name FUSED, the convolution also by CONV). Registered before the backend starts; each
 * one's setupFunc also sets up the original it may fall back to, so a benchmark can switch back and forth later.
 */
export function useFastWasmKernels(on = true, only?: readonly string[]): void {
  for (const [name, make] of KERNELS) if (!fast.has(name)) prepare(name, make);
  for (const name of fast.keys()) {
    if (only && !only.includes(name)) continue;
    register(name, on);
  }
  if (!only) fastOn = on;
  if (!only || only.includes(FUSED) || only.includes(CONV)) registerConv(on);
  if (only && !only.includes(FUSED)) return;
  fusedOn = on;
  for (const kernels of [undefined, ...extraFused]) {
    if (on) registerFusedKernels('wasm', storage, kernels);
    else unregisterFusedKernels('wasm', kernels);
  }
}

let fastOn = false;

/** Builds a kernel's fast config over tfjs-backend-wasm's own (registered now, so called before any override). */
function prepare(name: string, make: Make): void {
  const original = tf.getKernel(name, 'wasm');
  originals.set(name, original);
  const base = original ?? missing(name);
  const setupFunc = (backend: object) => {
    base.setupFunc?.(backend);
    const module = (backend as BackendWasm).wasm as unknown as Cwrap;
    if (name === tf.BatchMatMul) wasmMatMul = module.cwrap(tf.BatchMatMul, null, MATMUL_ARGS) as MatMulFn;
  };
  fast.set(name, { ...base, kernelName: name, backendName: 'wasm', kernelFunc: make(base), setupFunc });
}

function register(name: string, on: boolean): void {
  if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
  const original = originals.get(name);
  if (on) tf.registerKernel(fast.get(name)!);
  else if (original) tf.registerKernel(original);
}

/**
 * Kernels from a module the segmenter does not bundle (src/kernels/wasmTrainKernels.ts: the gradients), switched with
 * the others by useFastWasmKernels; `conv` ones with the fused convolution (CONV).
 */
export function addWasmKernels(kernels: ReadonlyArray<[string, Make]>, conv: readonly tf.KernelConfig[] = []): void {
  for (const [name, make] of kernels) {
    KERNELS.push([name, make]);
    if (fast.size === 0) continue; // prepared with the rest on the first useFastWasmKernels
    prepare(name, make);
    register(name, fastOn);
  }
  convKernels.push(...conv);
  if (convOn) registerConv(true);
}
