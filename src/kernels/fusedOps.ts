/**
 * Fused kernels for the small, frequent pieces of a ReDO step: one power iteration of spectral norm, W/σ and its
 * gradient, instance norm (alone or with affine and relu) and its gradient, Adam's step over a flat vector, and the
 * flattening of many parameters into that vector and back. Each replaces 7–25 TF.js kernels (the flattening one per
 * parameter), and a `tiny` step runs thousands of kernels: on backends that pay a fixed cost per kernel (wasm: engine
 * bookkeeping, heap allocation, a call into WebAssembly), that cost, not arithmetic, is most of a small model's step.
 *
 * Here: the kernels' names, the forward kernels' JavaScript computes, and the ops. Registered for `wasm`
 * (src/kernels/wasmKernels.ts gives the storage); the kernels only training runs register from their own modules
 * (fusedTrainOps, fusedResample, fusedAdam, shapeGrads), so that the segmenter bundles none of them. Where the active
 * backend has no such kernel, the ops here return null and src/redo/layers.ts and adam.ts compose the same maths from
 * TF.js ops. Sums run in double and round once to float32; Adam and the affine relu round every operation as the
 * composed ops do. By hand because no library fuses these for TF.js.
 */
import * as tf from '@tensorflow/tfjs';

export const SN_POWER_ITERATION = 'RedoSNPowerIteration';
/** SN_POWER_ITERATION over a whole network's layers in one kernel: inputs [w₀, u₀, w₁, u₁, …], outputs [u₀', v₀', …] (wasm). */
export const SN_POWER_ITERATIONS = 'RedoSNPowerIterations';
export const SN_NORMALIZE = 'RedoSNNormalize';
export const SN_NORMALIZE_GRAD = 'RedoSNNormalizeGrad';
export const INSTANCE_NORM = 'RedoInstanceNorm';
export const INSTANCE_NORM_GRAD = 'RedoInstanceNormGrad';
/** Adam's update of a flat parameter vector, and its split back into parameters (wasm, and webgpu's own). */
export const ADAM_UPDATE = 'RedoAdamUpdate';
/** relu(instanceNorm(x)·γ + β) and its gradient in x, γ, β (wasm, and webgpu's own). */
export const INSTANCE_NORM_AFFINE_RELU = 'RedoInstanceNormAffineRelu';
export const INSTANCE_NORM_AFFINE_RELU_GRAD = 'RedoInstanceNormAffineReluGrad';
export const SPLIT_FLAT = 'RedoSplitFlat';
/** Any number of tensors, flattened and concatenated into one vector (wasm only). */
export const CONCAT_FLAT = 'RedoConcatFlat';
/** A stride-1 convolution (W/σ with spectral norm, bias optional) and its gradient in x, W, b (wasm only: src/kernels/wasmKernels.ts). */
export const CONV = 'RedoConv';
/** CONV with spectral norm (inputs u, v; a second output, the snapshot its gradient reads): the same kernel, saving less. */
export const SN_CONV = 'RedoSNConv';
export const CONV_GRAD = 'RedoConvGrad';
/** nn.ReflectionPad2d(p) and nn.Upsample(×2, nearest) of NHWC tensors, and their gradients (wasm, training only). */
export const REFLECT_PAD = 'RedoReflectPad';
export const REFLECT_PAD_GRAD = 'RedoReflectPadGrad';
export const UPSAMPLE2 = 'RedoUpsample2';
export const UPSAMPLE2_GRAD = 'RedoUpsample2Grad';
/** torch's bilinear resize of a one-channel map (align_corners=False), and its gradient (wasm, training only). */
export const RESIZE_BILINEAR1 = 'RedoResizeBilinear1';
export const RESIZE_BILINEAR1_GRAD = 'RedoResizeBilinear1Grad';
/** z·W + b and its gradient in z, W, b (wasm only). */
export const LINEAR = 'RedoLinear';
export const LINEAR_GRAD = 'RedoLinearGrad';
/**
 * LINEAR of one z by many (W, b): inputs [z, W₀, b₀, W₁, b₁, …], outputs z·Wᵢ + bᵢ as [B, 1, 1, Nᵢ] (the generator's
 * conditional γ and β). Its gradient treats z as a constant, as ReDO's noise is, so it saves z alone (wasm, training).
 */
export const Z_AFFINES = 'RedoZAffines';
export const Z_AFFINES_GRAD = 'RedoZAffinesGrad';
/** softmax's gradient along the innermost axis in one kernel (wasm, training only). */
export const SOFTMAX_GRAD = 'RedoSoftmaxGrad';
/**
 * A backend's own Add (of one shape), Concat, and on wasm AvgPool and Softmax, under names whose gradients are cheaper:
 * no tensors saved for shapes, softmax's in one kernel (src/kernels/shapeGrads.ts, training only).
 */
export const ADD_SAME = 'RedoAddSame';
export const CONCAT = 'RedoConcat';
export const AVG_POOL = 'RedoAvgPool';
export const AVG_POOL_GRAD = 'RedoAvgPoolGrad';
export const SOFTMAX = 'RedoSoftmax';

/** How a backend's float32 tensors are read and new ones made (all outputs are allocated before any view is taken). */
export interface FusedStorage {
  read(backend: object, t: tf.TensorInfo): Float32Array;
  alloc(backend: object, shapes: number[][]): { infos: tf.TensorInfo[]; views: () => Float32Array[] };
  /** A faster kernel of the same arithmetic, where the backend has one (true: it ran, compute is skipped). */
  run?(name: string, backend: object, inputs: tf.TensorInfo[], outputs: tf.TensorInfo[], shapes: number[][], attrs: object): boolean;
}

export type Compute = (inputs: Float32Array[], outputs: Float32Array[], shapes: number[][], attrs: Record<string, number>) => void;

export interface FusedKernel {
  name: string;
  /** Input names, in order; absent: every input, as many as given (an array of tensors). */
  inputs?: string[];
  outShapes: (shapes: number[][], attrs: tf.NamedAttrMap) => number[][];
  compute: Compute;
}

/** σ = vᵀ·wm·u; outputs w/σ and σ. */
export const normalize: Compute = ([w, u, v], [wn, sigma]) => {
  const n = u!.length;
  const k = v!.length;
  let s = 0;
  for (let i = 0; i < k; i++) {
    let r = 0;
    for (let o = 0, p = i * n; o < n; o++) r += w![p + o]! * u![o]!;
    s += v![i]! * r;
  }
  const sg = Math.fround(s);
  sigma![0] = sg;
  for (let i = 0; i < w!.length; i++) wn![i] = w![i]! / sg;
};

/** Per image and channel over H·W of x [B, H, W, C]: the mean and 1/√(var + ε) (biased var), into [B, C] each. */
function moments(x: Float32Array, [b, h, w, c]: number[], eps: number, mean: Float32Array, rstd: Float32Array): void {
  const hw = h! * w!;
  const sum = new Float64Array(c!);
  const sq = new Float64Array(c!);
  for (let bi = 0; bi < b!; bi++) {
    const base = bi * hw * c!;
    const at = bi * c!;
    sum.fill(0);
    sq.fill(0);
    for (let p = 0, q = base; p < hw; p++) for (let ch = 0; ch < c!; ch++, q++) sum[ch]! += x[q]!;
    for (let ch = 0; ch < c!; ch++) mean[at + ch] = sum[ch]! / hw;
    for (let p = 0, q = base; p < hw; p++) {
      for (let ch = 0; ch < c!; ch++, q++) {
        const d = Math.fround(x[q]! - mean[at + ch]!);
        sq[ch]! += d * d;
      }
    }
    for (let ch = 0; ch < c!; ch++) rstd[at + ch] = 1 / Math.sqrt(Math.fround(Math.fround(sq[ch]! / hw) + eps));
  }
}

/** Per image and channel over H·W of x [B, H, W, C]: y = (x − mean)/√(var + ε) (biased var), and 1/√(var + ε) [B, C]. */
const instanceNorm: Compute = ([x], [y, rstd], [shape], { eps }) => {
  const [b, h, w, c] = shape!;
  const hw = h! * w!;
  const mean = new Float32Array(b! * c!);
  moments(x!, shape!, eps!, mean, rstd!);
  for (let bi = 0; bi < b!; bi++) {
    for (let p = 0, q = bi * hw * c!; p < hw; p++) {
      for (let ch = 0; ch < c!; ch++, q++) y![q] = (x![q]! - mean[bi * c! + ch]!) * rstd![bi * c! + ch]!;
    }
  }
};

/** How many rows γ (any shape, C innermost) holds: 1 (shared by the batch) or B. */
export const affineRows = (gamma: number[], c: number): number => tf.util.sizeFromShape(gamma) / c;

/** The offset of image bi's row of γ, β [rows, C]: its own (rows B) or the shared one (rows 1). */
export const affineRow = (rows: number, bi: number, c: number): number => (rows === 1 ? 0 : bi * c);

/** The shapes of dγ, dβ from relu(IN·γ+β)'s gradient kernel: γ's where it has a row per image, else [B, C] (summed after). */
export const affineGradShapes = (dy: number[], gamma: number[]): number[][] => {
  const per = affineRows(gamma, dy[3]!) === dy[0] ? gamma : [dy[0]!, dy[3]!];
  return [per, per];
};

/**
 * y = relu(ŷ·γ + β), ŷ as instanceNorm computes it and each operation rounded to float32 as the composed tf.mul,
 * tf.add, tf.relu round (so y is theirs bit for bit); stats [B, C, 2] holds (mean, 1/√(var + ε)) for the gradient.
 */
const instanceNormAffineRelu: Compute = ([x, gamma, beta], [y, stats], shapes, { eps }) => {
  const [b, h, w, c] = shapes[0]!;
  const rows = affineRows(shapes[1]!, c!);
  const hw = h! * w!;
  const f = Math.fround;
  const mean = new Float32Array(b! * c!);
  const rstd = new Float32Array(b! * c!);
  moments(x!, shapes[0]!, eps!, mean, rstd);
  for (let bi = 0; bi < b!; bi++) {
    const at = bi * c!;
    const row = affineRow(rows, bi, c!);
    for (let ch = 0; ch < c!; ch++) {
      stats![(at + ch) * 2] = mean[at + ch]!;
      stats![(at + ch) * 2 + 1] = rstd[at + ch]!;
    }
    for (let p = 0, q = bi * hw * c!; p < hw; p++) {
      for (let ch = 0; ch < c!; ch++, q++) {
        const z = f(f(f((x![q]! - mean[at + ch]!) * rstd[at + ch]!) * gamma![row + ch]!) + beta![row + ch]!);
        y![q] = z > 0 ? z : 0;
      }
    }
  }
};

/** y = z·W + b for z [B, K], W [K, N], b [N]: sums in double, then rounded and added to b as tf.matMul, tf.add do. */
export const linear: Compute = ([z, w, b], [y], shapes) => {
  const [bs, k] = shapes[0]!;
  const n = shapes[1]![1]!;
  const f = Math.fround;
  const acc = new Float64Array(n);
  for (let r = 0; r < bs!; r++) {
    acc.fill(0);
    for (let i = 0; i < k!; i++) {
      const zi = z![r * k! + i]!;
      for (let o = 0, p = i * n; o < n; o++, p++) acc[o]! += zi * w![p]!;
    }
    for (let o = 0; o < n; o++) y![r * n + o] = f(f(acc[o]!) + b![o]!);
  }
};

const KERNELS: FusedKernel[] = [
  { name: SN_NORMALIZE, inputs: ['w', 'u', 'v'], outShapes: ([w]) => [w!, [1]], compute: normalize },
  { name: INSTANCE_NORM, inputs: ['x'], outShapes: ([x]) => [x!, [x![0]!, x![3]!]], compute: instanceNorm },
  {
    name: INSTANCE_NORM_AFFINE_RELU,
    inputs: ['x', 'gamma', 'beta'],
    outShapes: ([x]) => [x!, [x![0]!, x![3]!, 2]],
    compute: instanceNormAffineRelu,
  },
  {
    name: LINEAR,
    inputs: ['z', 'w', 'b'],
    outShapes: ([z, w], { expand }) => [expand ? [z![0]!, 1, 1, w![1]!] : [z![0]!, w![1]!]],
    compute: linear,
  },
];

/** Registers the fused kernels for `backendName`, reading and allocating tensors through `storage`. */
export function registerFusedKernels(backendName: string, storage: FusedStorage, kernels: readonly FusedKernel[] = KERNELS): void {
  for (const k of kernels) {
    if (tf.getKernel(k.name, backendName)) tf.unregisterKernel(k.name, backendName);
    tf.registerKernel({
      kernelName: k.name,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const ins = (k.inputs ?? Object.keys(inputs)).map((n) => inputs[n]!);
        if (ins.some((t) => t.dtype !== 'float32')) throw new Error(`${k.name}: float32 inputs only`);
        const shapes = ins.map((t) => t.shape);
        const { infos, views } = storage.alloc(backend, k.outShapes(shapes, attrs ?? {}));
        if (storage.run?.(k.name, backend, ins, infos, shapes, attrs ?? {})) return infos.length === 1 ? infos[0]! : infos;
        const outs = views();
        k.compute(
          ins.map((t) => storage.read(backend, t)),
          outs,
          shapes,
          (attrs ?? {}) as Record<string, number>,
        );
        return infos.length === 1 ? infos[0]! : infos;
      },
    });
  }
}

export function unregisterFusedKernels(backendName: string, kernels: readonly FusedKernel[] = KERNELS): void {
  for (const k of kernels) if (tf.getKernel(k.name, backendName)) tf.unregisterKernel(k.name, backendName);
}

const has = (name: string): boolean => tf.getKernel(name, tf.getBackend()) !== undefined;

/** One power iteration (torch's spectral_norm): [u', v'] from w [.., N] and u [N], or null without the kernel. */
export function snPowerIteration(w: tf.Tensor, u: tf.Tensor, eps: number): [tf.Tensor1D, tf.Tensor1D] | null {
  if (!has(SN_POWER_ITERATION)) return null;
  return tf.engine().runKernel(SN_POWER_ITERATION, { w, u }, { eps }) as unknown as [tf.Tensor1D, tf.Tensor1D];
}

/** snPowerIteration of every (w, u) pair in one kernel: [u₀', v₀', u₁', v₁', …], or null without the kernel. */
export function snPowerIterations(pairs: ReadonlyArray<[tf.Tensor, tf.Tensor]>, eps: number): tf.Tensor1D[] | null {
  if (!has(SN_POWER_ITERATIONS) || pairs.length === 0) return null;
  return tf.engine().runKernel(SN_POWER_ITERATIONS, pairs.flat() as unknown as tf.NamedTensorMap, { eps }) as unknown as tf.Tensor1D[];
}

/** w/σ with σ = vᵀ·wm·u, differentiable in w (u, v constants, as torch), or null without the kernels. */
export function snNormalize(w: tf.Tensor, u: tf.Tensor, v: tf.Tensor): tf.Tensor | null {
  if (!has(SN_NORMALIZE) || !has(SN_NORMALIZE_GRAD)) return null;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [w0, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const [wn, sigma] = tf.engine().runKernel(SN_NORMALIZE, { w: w0, u, v }, {}) as unknown as [tf.Tensor, tf.Tensor];
    save([w0, u, v, sigma]);
    return {
      value: wn,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ws, us, vs, ss] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return [tf.engine().runKernel<tf.Tensor>(SN_NORMALIZE_GRAD, { dy, w: ws, u: us, v: vs, sigma: ss }, {})];
      },
    };
  });
  return f(w);
}

/** Instance norm without affine over H, W of x [B, H, W, C] (biased variance), or null without the kernels. */
export function fusedInstanceNorm(x: tf.Tensor4D, eps: number): tf.Tensor4D | null {
  if (!has(INSTANCE_NORM) || !has(INSTANCE_NORM_GRAD)) return null;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x0, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const [y, rstd] = tf.engine().runKernel(INSTANCE_NORM, { x: x0 }, { eps }) as unknown as [tf.Tensor4D, tf.Tensor];
    save([y, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ys, rs] = saved as [tf.Tensor, tf.Tensor];
        return [tf.engine().runKernel<tf.Tensor>(INSTANCE_NORM_GRAD, { dy, y: ys, rstd: rs }, {})];
      },
    };
  });
  return f(x);
}

/** Adam's hyper-parameters for one step, bias corrections included (see src/redo/adam.ts). */
export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  bc1: number;
  bc2: number;
}

/** [p', m', v'] of one Adam step over flat vectors (the arithmetic of src/redo/adam.ts), or null without the kernel. */
export function fusedAdamUpdate(g: tf.Tensor, p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, step: AdamStep): tf.Tensor[] | null {
  if (!has(ADAM_UPDATE)) return null;
  return tf.engine().runKernel(ADAM_UPDATE, { g, p, m, v }, { ...step }) as unknown as tf.Tensor[];
}

/** A flat vector cut into consecutive pieces of the given shapes, or null without the kernel. Not differentiable. */
export function splitFlat(x: tf.Tensor, shapes: number[][]): tf.Tensor[] | null {
  if (!has(SPLIT_FLAT)) return null;
  const sizes = shapes.map((s) => tf.util.sizeFromShape(s));
  return tf.engine().runKernel(SPLIT_FLAT, { x }, { sizes, shapes }) as unknown as tf.Tensor[];
}

/** The tensors flattened and concatenated, in order, or null without the kernel. Not differentiable. */
export function concatFlat(xs: tf.Tensor[]): tf.Tensor1D | null {
  if (!has(CONCAT_FLAT) || xs.length === 0) return null;
  return tf.engine().runKernel<tf.Tensor1D>(CONCAT_FLAT, xs as unknown as tf.NamedTensorMap, {});
}

/** A kernel's first output; the others, kept for its gradient (the tape holds its own references), are let go. */
function firstOnly(out: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (!Array.isArray(out)) return out;
  out.slice(1).forEach((t) => t.dispose());
  return out[0]!;
}

/**
 * relu(instanceNorm(x)·γ + β) for x [B, H, W, C] and γ, β of shape [C] (InstanceNorm2d's affine) or [B, 1, 1, C]
 * (conditional instance norm), differentiable in all three, or null without the kernels.
 */
export function fusedInstanceNormAffineRelu(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor4D | null {
  // the gradient kernel comes with the gradient (src/kernels/fusedGrads.ts): the segmenter has neither
  if (!has(INSTANCE_NORM_AFFINE_RELU)) return null;
  const [b, , , c] = x.shape;
  const rows = affineRows(gamma.shape, c);
  if (beta.size !== gamma.size || (rows !== 1 && rows !== b) || gamma.shape[gamma.rank - 1] !== c) return null;
  return firstOnly(tf.engine().runKernel(INSTANCE_NORM_AFFINE_RELU, { x, gamma, beta }, { eps })) as tf.Tensor4D;
}

/**
 * conv(x, W) + b, stride 1, zero padding `pad`; with `sn`, W/σ with σ = vᵀ·wm·u (u and v constants, as torch); with
 * `relu`, of relu(x): one kernel forward and one backward (x, W, b), or null without the kernels.
 */
export function fusedConv(
  x: tf.Tensor4D,
  w: tf.Tensor,
  b: tf.Tensor | undefined,
  pad: number,
  sn?: { u: tf.Tensor; v: tf.Tensor },
  relu = false,
): tf.Tensor4D | null {
  const name = sn ? SN_CONV : CONV;
  if (!has(name) || !has(CONV_GRAD)) return null;
  const attrs = { pad, bias: b ? 1 : 0, wShape: w.shape, relu: relu ? 1 : 0 };
  return firstOnly(tf.engine().runKernel(name, { x, w, ...(b ? { b } : {}), ...(sn ?? {}) }, attrs)) as tf.Tensor4D;
}

/**
 * z·W + b for z [B, K], W [K, N], b [N]: [B, N], or with `expand` [B, 1, 1, N] (to broadcast over a feature map); one
 * kernel each way, differentiable in all three, or null without the kernels.
 */
export function fusedLinear(z: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor, expand = false): tf.Tensor | null {
  if (!has(LINEAR) || !has(LINEAR_GRAD)) return null;
  return tf.engine().runKernel<tf.Tensor>(LINEAR, { z, w, b }, { expand: expand ? 1 : 0 });
}

/** x [B, H, W, C] reflection-padded by p on each side of H and W (one kernel each way), or null without the kernels. */
export function fusedReflectPad(x: tf.Tensor4D, p: number): tf.Tensor4D | null {
  if (!has(REFLECT_PAD) || !has(REFLECT_PAD_GRAD)) return null;
  return tf.engine().runKernel<tf.Tensor4D>(REFLECT_PAD, { x }, { p });
}

/** x [B, H, W, C] upsampled ×2 (nearest; one kernel each way), or null without the kernels. */
export function fusedUpsample2(x: tf.Tensor4D): tf.Tensor4D | null {
  if (!has(UPSAMPLE2) || !has(UPSAMPLE2_GRAD)) return null;
  return tf.engine().runKernel<tf.Tensor4D>(UPSAMPLE2, { x }, {});
}

/** a + b of one shape (no tensors saved for the gradient), or null without the kernel. */
export function fusedAddSame<T extends tf.Tensor>(a: T, b: T): T | null {
  return has(ADD_SAME) ? tf.engine().runKernel<T>(ADD_SAME, { a, b }) : null;
}

/** xs concatenated along `axis` (≥ 0; no tensors saved for the gradient), or null without the kernel. */
export function fusedConcat<T extends tf.Tensor>(xs: T[], axis: number): T | null {
  if (!has(CONCAT)) return null;
  return tf.engine().runKernel<T>(CONCAT, xs as unknown as tf.NamedTensorMap, { axis, sizes: xs.map((x) => x.shape[axis]!) });
}

/**
 * torch's bilinear interpolation (align_corners=False) from n to `size` samples: for each output sample its two
 * sources and their weights in float32 (one weight where both sources are the last sample): the resize kernel's, and
 * the rows of src/redo/layers.ts's interpolation matrices.
 */
export function bilinearTaps(n: number, size: number): { i0: Int32Array; i1: Int32Array; w0: Float32Array; w1: Float32Array } {
  const t = { i0: new Int32Array(size), i1: new Int32Array(size), w0: new Float32Array(size), w1: new Float32Array(size) };
  const scale = n / size;
  for (let i = 0; i < size; i++) {
    const src = Math.max((i + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), n - 1);
    const i1 = Math.min(i0 + 1, n - 1);
    const l1 = src - i0;
    t.i0[i] = i0;
    t.i1[i] = i1;
    t.w0[i] = i1 === i0 ? Math.fround(Math.fround(1 - l1) + l1) : 1 - l1;
    t.w1[i] = i1 === i0 ? 0 : l1;
  }
  return t;
}

/** x [B, H, W, 1] resized bilinearly to [B, size, size, 1] (one kernel each way), or null without the kernels. */
export function fusedResizeBilinear1(x: tf.Tensor4D, size: number): tf.Tensor4D | null {
  if (!has(RESIZE_BILINEAR1) || x.shape[3] !== 1) return null;
  return tf.engine().runKernel<tf.Tensor4D>(RESIZE_BILINEAR1, { x }, { size, h: x.shape[1], w: x.shape[2] });
}

/** z·Wᵢ + bᵢ as [B, 1, 1, Nᵢ] for two or more (Wᵢ, bᵢ) in one kernel each way, no gradient in z; or null without it. */
export function fusedZAffines(z: tf.Tensor2D, layers: ReadonlyArray<readonly [tf.Tensor, tf.Tensor]>): tf.Tensor4D[] | null {
  if (!has(Z_AFFINES) || layers.length < 2) return null; // one output would come back bare
  const sizes = layers.map(([, b]) => b.size);
  return tf.engine().runKernel(Z_AFFINES, [z, ...layers.flat()] as unknown as tf.NamedTensorMap, { sizes }) as unknown as tf.Tensor4D[];
}

/** nn.AvgPool2d(k, k) of x (no tensors saved for the gradient), or null without the kernel. */
export function fusedAvgPool(x: tf.Tensor4D, k: number): tf.Tensor4D | null {
  if (!has(AVG_POOL)) return null;
  return tf.engine().runKernel<tf.Tensor4D>(AVG_POOL, { x }, { filterSize: k, strides: k, pad: 'valid', inShape: x.shape });
}

/** The softmax of x over its innermost axis (one kernel each way), or null without the kernels. */
export function fusedSoftmax<T extends tf.Tensor>(x: T): T | null {
  return has(SOFTMAX) && has(SOFTMAX_GRAD) ? tf.engine().runKernel<T>(SOFTMAX, { logits: x }, { dim: x.rank - 1 }) : null;
}
