/**
 * Faster TF.js `cpu` kernels, registered over tfjs-backend-cpu's own: the float32 binary ops that broadcast (Add,
 * Sub, Multiply, RealDiv, Maximum, Minimum, SquaredDifference), Transpose, Slice and SplitV off the contiguous
 * case, Sum, Softmax, and BatchMatMul (the one not bit-identical: see matMulValues).
 *
 * By hand because tfjs-backend-cpu 4.22 walks every broadcast, transpose and strided slice element by element
 * through indexToLoc with fresh arrays, and its Sum / Softmax call those walks internally (together about a third
 * of a `tiny` training step, and much of its garbage); here each is a strided walk: an odometer over the outer
 * dimensions, a tight loop over the innermost (merged) one.
 * Except for BatchMatMul, the arithmetic per element is the same as tfjs's (same JS expression, rounded to float32
 * once), so results are bit for bit those of the kernels they replace (tests/cpuKernels.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { broadcastStrides, forEachRow, mergeDims, sliceValues, transposeValues } from './strided';

type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'sqdiff';

const BINARY_KERNELS: ReadonlyArray<[string, BinaryOp]> = [
  [tf.Add, 'add'],
  [tf.Sub, 'sub'],
  [tf.Multiply, 'mul'],
  [tf.RealDiv, 'div'],
  [tf.Maximum, 'max'],
  [tf.Minimum, 'min'],
  [tf.SquaredDifference, 'sqdiff'],
];

/** The parts of tfjs-backend-cpu's MathBackendCPU these kernels use. */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.TypedArray): tf.TensorInfo;
}

function binaryRow(
  op: BinaryOp,
  out: Float32Array,
  o: number,
  n: number,
  a: Float32Array,
  pa: number,
  sa: number,
  b: Float32Array,
  pb: number,
  sb: number,
): void {
  const end = o + n;
  switch (op) {
    case 'add':
      for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! + b[pb]!;
      return;
    case 'sub':
      for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! - b[pb]!;
      return;
    case 'mul':
      for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! * b[pb]!;
      return;
    case 'div':
      for (; o < end; o++, pa += sa, pb += sb) out[o] = a[pa]! / b[pb]!;
      return;
    case 'max':
      for (; o < end; o++, pa += sa, pb += sb) out[o] = Math.max(a[pa]!, b[pb]!);
      return;
    case 'min':
      for (; o < end; o++, pa += sa, pb += sb) out[o] = Math.min(a[pa]!, b[pb]!);
      return;
    case 'sqdiff':
      for (; o < end; o++, pa += sa, pb += sb) {
        const diff = a[pa]! - b[pb]!;
        out[o] = diff * diff;
      }
      return;
  }
}

/** a ∘ b with numpy broadcasting, as float32. */
export function broadcastBinary(
  op: BinaryOp,
  a: Float32Array,
  aShape: readonly number[],
  b: Float32Array,
  bShape: readonly number[],
): { values: Float32Array; shape: number[] } {
  const shape = tf.backend_util.assertAndGetBroadcastShape(aShape as number[], bShape as number[]);
  const out = new Float32Array(shape.reduce((x, y) => x * y, 1));
  if (out.length === 0) return { values: out, shape };
  const m = mergeDims(shape, [broadcastStrides(aShape, shape), broadcastStrides(bShape, shape)]);
  const r = m.shape.length;
  const n = m.shape[r - 1]!;
  const sa = m.strides[0]![r - 1]!;
  const sb = m.strides[1]![r - 1]!;
  forEachRow(m.shape, m.strides, (o, p) => binaryRow(op, out, o, n, a, p[0]!, sa, b, p[1]!, sb));
  return { values: out, shape };
}

/** Sum of float32 `x` over `axes`, accumulated in double in tfjs's order (the reduced axes innermost, in the order given). */
export function sumValues(x: Float32Array, shape: readonly number[], axes: readonly number[]): { values: Float32Array; shape: number[] } {
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const perm = [...kept, ...axes]; // tfjs's getAxesPermutation: the reduced axes in the order given
  const outShape = kept.map((d) => shape[d]!);
  const outSize = outShape.reduce((a, b) => a * b, 1);
  const reduceSize = axes.reduce((a, d) => a * shape[d]!, 1);
  const isIdentity = perm.every((p, i) => p === i);
  const v = isIdentity ? x : transposeValues(x, shape, perm);
  const out = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    let acc = 0;
    const off = i * reduceSize;
    for (let j = 0; j < reduceSize; j++) acc += v[off + j]!;
    out[i] = acc;
  }
  return { values: out, shape: outShape };
}

/** Softmax over the last axis of float32 `x`, with tfjs's float32 roundings at each stage (max, x − max, exp, sum, divide). */
export function softmaxValues(x: Float32Array, shape: readonly number[]): Float32Array {
  const out = new Float32Array(x.length);
  const n = shape[shape.length - 1] ?? 1;
  if (n === 0) return out;
  for (let o = 0; o < x.length; o += n) {
    let max = x[o]!;
    for (let j = 1; j < n; j++) if (x[o + j]! > max || Number.isNaN(x[o + j]!)) max = x[o + j]!;
    let acc = 0;
    for (let j = 0; j < n; j++) {
      out[o + j] = Math.exp(Math.fround(x[o + j]! - max));
      acc += out[o + j]!;
    }
    const sum = Math.fround(acc);
    for (let j = 0; j < n; j++) out[o + j] = out[o + j]! / sum;
  }
  return out;
}

/**
 * Batched matrix product of float32 a [batchA, ·, ·] and b [batchB, ·, ·] (batch broadcast as tfjs does) as
 * contiguous dot products: A is brought to [M, K] and B to Bᵀ [N, K] row-major first, so the inner loop reads two
 * rows in order (tfjs's blocked loop strides through B). Sums in double over all of K, rounded once: not
 * bit-identical to tfjs's block-wise float32 sums, and at least as accurate.
 */
export function matMulValues(
  a: Float32Array,
  aShape: readonly [number, number, number],
  b: Float32Array,
  bShape: readonly [number, number, number],
  transposeA: boolean,
  transposeB: boolean,
): { values: Float32Array; M: number; N: number; batch: number } {
  const [batchA, a1, a2] = aShape;
  const [batchB, b1, b2] = bShape;
  const M = transposeA ? a2 : a1;
  const K = transposeA ? a1 : a2;
  const N = transposeB ? b1 : b2;
  const batch = Math.max(batchA, batchB);
  const out = new Float32Array(batch * M * N);
  const rowsA: Float32Array[] = [];
  const rowsBt: Float32Array[] = [];
  for (let i = 0; i < batchA; i++) {
    const part = a.subarray(i * a1 * a2, (i + 1) * a1 * a2);
    rowsA.push(transposeA ? transposeValues(part, [a1, a2], [1, 0]) : part);
  }
  for (let i = 0; i < batchB; i++) {
    const part = b.subarray(i * b1 * b2, (i + 1) * b1 * b2);
    rowsBt.push(transposeB ? part : transposeValues(part, [b1, b2], [1, 0]));
  }
  for (let bi = 0; bi < batch; bi++) {
    const A = rowsA[bi % batchA]!;
    const Bt = rowsBt[bi % batchB]!;
    const o = bi * M * N;
    for (let i = 0; i < M; i++) {
      const ai = i * K;
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let acc = 0;
        for (let k = 0; k < K; k++) acc += A[ai + k]! * Bt[bj + k]!;
        out[o + i * N + j] = acc;
      }
    }
  }
  return { values: out, M, N, batch };
}

/** tfjs-backend-cpu's own kernels, kept so a benchmark can switch back (bench/trainstep-cpu.ts --compare-kernels). */
const originals = new Map<string, tf.KernelConfig>();
const fast = new Map<string, tf.KernelConfig>();

function fastBinary(op: BinaryOp, original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original.kernelFunc(args);
    const backend = args.backend as unknown as CpuBackend;
    const av = backend.data.get(a.dataId).values;
    const bv = backend.data.get(b.dataId).values;
    if (!(av instanceof Float32Array) || !(bv instanceof Float32Array)) return original.kernelFunc(args);
    const r = broadcastBinary(op, av, a.shape, bv, b.shape);
    return backend.makeTensorInfo(r.shape, 'float32', r.values);
  };
}

function valuesOf(backend: CpuBackend, t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array | null {
  const v = backend.data.get(t.dataId).values;
  return t.dtype !== 'complex64' &&
    t.dtype !== 'string' &&
    (v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array)
    ? v
    : null;
}

function fastTranspose(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { perm } = args.attrs as unknown as { perm: number[] };
    const backend = args.backend as unknown as CpuBackend;
    const xv = valuesOf(backend, x);
    if (!xv) return original.kernelFunc(args);
    return backend.makeTensorInfo(
      perm.map((p) => x.shape[p]!),
      x.dtype,
      transposeValues(xv, x.shape, perm),
    );
  };
}

function fastSlice(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const backend = args.backend as unknown as CpuBackend;
    const xv = valuesOf(backend, x);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, sz] = tf.slice_util.parseSliceParams(x, begin, size) as [number[], number[]]; // [begin, size]
    if (!xv || tf.slice_util.isSliceContinous(x.shape, b, sz)) return original.kernelFunc(args);
    tf.slice_util.assertParamsValid(x, b, sz);
    return backend.makeTensorInfo(sz, x.dtype, sliceValues(xv, x.shape, b, sz));
  };
}

function fastSplitV(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const backend = args.backend as unknown as CpuBackend;
    const xv = valuesOf(backend, x);
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, ax);
    if (!xv || x.shape.slice(0, ax).every((d) => d === 1)) return original.kernelFunc(args); // contiguous pieces
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((n) => {
      const size = [...x.shape];
      size[ax] = n;
      const piece = backend.makeTensorInfo(size, x.dtype, sliceValues(xv, x.shape, begin, size));
      begin[ax]! += n;
      return piece;
    });
  };
}

function fastSum(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const backend = args.backend as unknown as CpuBackend;
    const xv = backend.data.get(x.dataId).values;
    if (x.dtype !== 'float32' || !(xv instanceof Float32Array)) return original.kernelFunc(args);
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const r = sumValues(xv, x.shape, axes);
    const shape = keepDims ? tf.backend_util.expandShapeToKeepDim(r.shape, axes) : r.shape;
    return backend.makeTensorInfo(shape, 'float32', r.values);
  };
}

function fastSoftmax(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { logits } = args.inputs as { logits: tf.TensorInfo };
    const backend = args.backend as unknown as CpuBackend;
    const v = backend.data.get(logits.dataId).values;
    const { dim } = args.attrs as unknown as { dim: number };
    const last = logits.shape.length - 1;
    if (logits.dtype !== 'float32' || !(v instanceof Float32Array) || (dim !== -1 && dim !== last)) return original.kernelFunc(args);
    return backend.makeTensorInfo([...logits.shape], 'float32', softmaxValues(v, logits.shape));
  };
}

function fastMatMul(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const backend = args.backend as unknown as CpuBackend;
    const av = backend.data.get(a.dataId).values;
    const bv = backend.data.get(b.dataId).values;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || !(av instanceof Float32Array) || !(bv instanceof Float32Array))
      return original.kernelFunc(args);
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const as3 = [a.shape.slice(0, -2).reduce((x, y) => x * y, 1), a.shape[a.shape.length - 2]!, a.shape[a.shape.length - 1]!] as const;
    const bs3 = [b.shape.slice(0, -2).reduce((x, y) => x * y, 1), b.shape[b.shape.length - 2]!, b.shape[b.shape.length - 1]!] as const;
    const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if ((transposeA ? as3[1] : as3[2]) !== (transposeB ? bs3[2] : bs3[1])) return original.kernelFunc(args); // tfjs's own error message
    const r = matMulValues(av, as3, bv, bs3, transposeA, transposeB);
    return backend.makeTensorInfo([...batchShape, r.M, r.N], 'float32', r.values);
  };
}

const OTHER_KERNELS: ReadonlyArray<[string, (original: tf.KernelConfig) => tf.KernelFunc]> = [
  [tf.Transpose, fastTranspose],
  [tf.Slice, fastSlice],
  [tf.SplitV, fastSplitV],
  [tf.Sum, fastSum],
  [tf.Softmax, fastSoftmax],
  [tf.BatchMatMul, fastMatMul],
];

function swap(config: tf.KernelConfig): void {
  tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/** Registers the fast kernels over the cpu backend's (`on`), or puts tfjs's own back; a no-op without a cpu backend. */
export function useFastCpuKernels(on = true): void {
  if (originals.size === 0) {
    for (const [name, op] of BINARY_KERNELS) {
      const original = tf.getKernel(name, 'cpu');
      if (original) {
        originals.set(name, original);
        fast.set(name, { ...original, kernelFunc: fastBinary(op, original) });
      }
    }
    for (const [name, make] of OTHER_KERNELS) {
      const original = tf.getKernel(name, 'cpu');
      if (original) {
        originals.set(name, original);
        fast.set(name, { ...original, kernelFunc: make(original) });
      }
    }
  }
  for (const config of (on ? fast : originals).values()) swap(config);
}
