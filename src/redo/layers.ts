import * as tf from './tf';
import type { ParamStore } from './params';
import {
  bilinearTaps,
  fusedAddSame,
  fusedAvgPool,
  fusedConcat,
  fusedConv,
  fusedInstanceNorm,
  fusedInstanceNormAffineRelu,
  fusedLinear,
  fusedReflectPad,
  fusedResizeBilinear1,
  fusedUpsample2,
  snNormalize,
  snPowerIteration,
  snPowerIterations,
  fusedSoftmax,
  fusedZAffines,
} from '../kernels/fusedOps';

/**
 * The building blocks of the four networks. Each layer registers its tensors in the ParamStore under the
 * reference's state_dict key and applies itself to NHWC tensors.
 */

export const IN_EPS = 1e-5;
const SN_EPS = 1e-12;

/**
 * A convolution's trainable tensors, registered in this order (the ParamStore's random draws follow it): its kernel
 * `<key>.<weight>` [k, k, cin, cout] (orthogonal), then with `bias` `<key>.bias` [cout] (torch's U(±1/√fanIn)).
 */
function convParams(
  store: ParamStore,
  key: string,
  weight: 'weight' | 'weight_orig',
  [k, cin, cout]: [number, number, number],
  bias: boolean,
): { w: tf.Variable; b?: tf.Variable } {
  const w = store.add({ key: `${key}.${weight}`, shape: [k, k, cin, cout], layout: 'conv', init: { kind: 'orthogonal' }, trainable: true });
  if (!bias) return { w };
  const b = store.add({ key: `${key}.bias`, shape: [cout], layout: 'vector', init: { kind: 'bias', fanIn: cin * k * k }, trainable: true });
  return { w, b };
}

/** A plain convolution (F's layers), optional bias, zero padding `pad` on each side like torch's Conv2d. */
export class Conv {
  readonly w: tf.Variable;
  readonly b?: tf.Variable;

  constructor(
    store: ParamStore,
    key: string,
    k: number,
    cin: number,
    cout: number,
    opts: { bias: boolean; stride?: number; pad?: number },
    private readonly stride = opts.stride ?? 1,
    private readonly pad = opts.pad ?? 0,
  ) {
    ({ w: this.w, b: this.b } = convParams(store, key, 'weight', [k, cin, cout], opts.bias));
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return conv(x, this.w, this.b, this.stride, this.pad);
  }
}

export function conv(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor | undefined, stride: number, pad: number): tf.Tensor4D {
  const fused = stride === 1 ? fusedConv(x, w, b, pad) : null;
  if (fused) return fused;
  const padArg = pad === 0 ? 'valid' : pad;
  // webgpu: the bias is added inside the convolution's program (a dispatch fewer per biased convolution)
  if (b && tf.getBackend() === 'webgpu') return tf.fused.conv2d({ x, filter: w as tf.Tensor4D, strides: stride, pad: padArg, bias: b });
  const y = tf.getBackend() === 'cpu' ? cpuConv(x, w as tf.Tensor4D, stride, pad) : tf.conv2d(x, w as tf.Tensor4D, stride, padArg);
  return b ? tf.add(y, b) : y;
}

/** Largest im2col matrix (elements) cpuConv builds (128 MiB); bigger convolutions take TF.js's direct loop. */
export const DEFAULT_PATCH_LIMIT = 1 << 25;
let maxPatchElements = DEFAULT_PATCH_LIMIT;

/** Benchmarks only: 0 turns im2col off (bench/trainstep-cpu.ts --compare-kernels). */
export function setCpuConvPatchLimit(elements: number): void {
  maxPatchElements = elements;
}

/**
 * im2col: the k×k patches of x (zero-padded by `pad`) under a convolution with `stride`, as rows
 * [B·Ho·Wo, k·k·Cin] whose column order ((kh·k + kw)·Cin + ci) is that of an HWIO filter reshaped to
 * [k·k·Cin, Cout].
 */
function patchRows(x: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor2D {
  const xp =
    pad > 0
      ? tf.pad(x, [
          [0, 0],
          [pad, pad],
          [pad, pad],
          [0, 0],
        ])
      : x;
  const [B, Hp, Wp, C] = xp.shape;
  const Ho = Math.floor((Hp - k) / stride) + 1;
  const Wo = Math.floor((Wp - k) / stride) + 1;
  const cols: tf.Tensor4D[] = [];
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      cols.push(
        stride === 1
          ? tf.slice(xp, [0, i, j, 0], [B, Ho, Wo, C])
          : (tf.stridedSlice(
              xp,
              [0, i, j, 0],
              [B, i + stride * (Ho - 1) + 1, j + stride * (Wo - 1) + 1, C],
              [1, stride, stride, 1],
            ) as tf.Tensor4D),
      );
    }
  }
  const all = cols.length === 1 ? cols[0]! : tf.concat(cols, 3);
  return tf.reshape(all, [B * Ho * Wo, k * k * C]);
}

/**
 * conv2d on the CPU backend as im2col + matMul, with the filter gradient from the same patches
 * (dW = patchesᵀ·dy) and the input gradient from TF.js's conv2dTranspose. By hand because TF.js's CPU
 * Conv2D is a direct loop nest whose inner loop runs over the output channels (4–16 in the small presets)
 * and its Conv2DBackpropFilter a scalar loop nest that took 75% of a training step; matMul is blocked.
 * Convolutions whose patch matrix would pass maxPatchElements compute the filter gradient as a forward
 * convolution instead (dW[kh, kw, ci, co] = Σ xpad[b, s·h + kh, s·w + kw, ci]·dy[b, h, w, co]).
 */
function cpuConv(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D {
  const [k, , cin, cout] = w.shape;
  const [B, H, W] = x.shape;
  const Ho = Math.floor((H + 2 * pad - k) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
  const im2col = B * Ho * Wo * k * k * cin <= maxPatchElements;
  const padArg = pad === 0 ? 'valid' : pad;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x0, w0, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    if (im2col) {
      const rows = patchRows(x0, k, stride, pad);
      save([x0, w0, rows]);
      const y = tf.reshape<tf.Rank.R4>(tf.matMul(rows, tf.reshape(w0, [k * k * cin, cout])), [B, Ho, Wo, cout]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xi, wi, r] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor2D];
          const dx = tf.conv2dTranspose(dy as tf.Tensor4D, wi, xi.shape, stride, padArg);
          const dw = tf.reshape(tf.matMul(r, tf.reshape(dy, [B * Ho * Wo, cout]), true, false), [k, k, cin, cout]);
          return [dx, dw];
        },
      };
    }
    save([x0, w0]);
    return {
      value: tf.conv2d(x0, w0, stride, padArg),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xi, wi] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dy4 = dy as tf.Tensor4D;
        const dx = tf.conv2dTranspose(dy4, wi, xi.shape, stride, padArg);
        const xp =
          pad > 0
            ? tf.pad(xi, [
                [0, 0],
                [pad, pad],
                [pad, pad],
                [0, 0],
              ])
            : xi;
        const xT = tf.transpose<tf.Tensor4D>(xp, [3, 1, 2, 0]); // [Cin, Hp, Wp, B]
        const dyT = tf.transpose<tf.Tensor4D>(dy4, [1, 2, 0, 3]); // [Ho, Wo, B, Cout]
        const g = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', stride); // [Cin, ≥k, ≥k, Cout]
        const dw = tf.transpose(tf.slice(g, [0, 0, 0, 0], [cin, k, k, cout]), [1, 2, 0, 3]);
        return [dx, dw];
      },
    };
  });
  return f(x, w);
}

/** The weight [in, out] (orthogonal init) and bias of a linear map, registered in that order. */
function linearParams(store: ParamStore, key: string, cin: number, cout: number, layout: 'linear' | 'zconv'): [tf.Variable, tf.Variable] {
  return [
    store.add({ key: `${key}.weight`, shape: [cin, cout], layout, init: { kind: 'orthogonal' }, trainable: true }),
    store.add({ key: `${key}.bias`, shape: [cout], layout: 'vector', init: { kind: 'bias', fanIn: cin }, trainable: true }),
  ];
}

/** A linear layer, TF weight [in, out]. */
export class Linear {
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  constructor(store: ParamStore, key: string, cin: number, cout: number) {
    [this.w, this.b] = linearParams(store, key, cin, cout, 'linear');
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return (fusedLinear(x, this.w, this.b) ?? tf.add(tf.matMul(x, this.w as tf.Tensor2D), this.b)) as tf.Tensor2D;
  }
}

/**
 * A 1×1 conv applied to z of shape [B, nz, 1, 1] in the reference (CIN's γ and β): here a linear map of z
 * giving [B, 1, 1, C] to broadcast over a feature map.
 */
export class ZConv {
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  constructor(store: ParamStore, key: string, nz: number, cout: number) {
    [this.w, this.b] = linearParams(store, key, nz, cout, 'zconv');
  }

  apply(z: tf.Tensor2D): tf.Tensor4D {
    const fused = fusedLinear(z, this.w, this.b, true);
    if (fused) return fused as tf.Tensor4D;
    const y = tf.add(tf.matMul(z, this.w as tf.Tensor2D), this.b);
    return y.reshape([z.shape[0], 1, 1, this.b.shape[0]]);
  }
}

/** Each ZConv's output for one z, in order: one kernel each way where there is one (z a constant to it, as noise is). */
export function zconvAll(z: tf.Tensor2D, layers: readonly ZConv[]): tf.Tensor4D[] {
  return (
    fusedZAffines(
      z,
      layers.map((l) => [l.w, l.b] as const),
    ) ?? layers.map((l) => l.apply(z))
  );
}

/**
 * A spectrally normalised conv (torch.nn.utils.spectral_norm): trainable `weight_orig`, persistent `weight_u`
 * [out] and `weight_v` [k·k·in]. `powerIteration()` is the one iteration torch does at each training forward;
 * `apply` divides by σ = uᵀ W v with the stored u, v (so gradients treat u, v as constants, as torch does).
 */
export class SNConv {
  readonly w: tf.Variable;
  readonly b?: tf.Variable;
  readonly u: tf.Variable;
  readonly v: tf.Variable;

  constructor(
    store: ParamStore,
    key: string,
    k: number,
    cin: number,
    cout: number,
    bias: boolean,
    private readonly pad = (k - 1) / 2,
  ) {
    ({ w: this.w, b: this.b } = convParams(store, key, 'weight_orig', [k, cin, cout], bias));
    this.u = store.add({ key: `${key}.weight_u`, shape: [cout], layout: 'vector', init: { kind: 'unit-normal' }, trainable: false });
    this.v = store.add({
      key: `${key}.weight_v`,
      shape: [k * k * cin],
      layout: 'snv',
      convShape: [k, k, cin, cout],
      init: { kind: 'unit-normal' },
      trainable: false,
    });
  }

  /** v = normalize(Wᵀu), u = normalize(W v), with W the torch matrix [out, in·k·k]; updates the stored u, v. */
  powerIteration(): void {
    tf.tidy(() => {
      const fused = snPowerIteration(this.w, this.u, SN_EPS);
      if (fused) {
        this.u.assign(fused[0]);
        this.v.assign(fused[1]);
        return;
      }
      const wm = this.matrix(); // [K, out] = torch Wᵀ
      const v = normalize(tf.matMul(wm, this.u.reshape([-1, 1])));
      const u = normalize(tf.matMul(wm, v, true, false));
      this.v.assign(v.reshape([-1]));
      this.u.assign(u.reshape([-1]));
    });
  }

  /** W / σ, differentiable in W. */
  weight(): tf.Tensor4D {
    const fused = snNormalize(this.w, this.u, this.v);
    if (fused) return fused as tf.Tensor4D;
    const wm = this.matrix();
    // Snapshots of u, v: a later power iteration in the same gradient scope must not change this σ.
    const u = tf.clone(this.u);
    const v = tf.clone(this.v);
    const sigma = tf.matMul(tf.matMul(v.reshape([1, -1]), wm), u.reshape([-1, 1])).reshape([]);
    return tf.div<tf.Tensor4D>(this.w, sigma);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return fusedConv(x, this.w, this.b, this.pad, { u: this.u, v: this.v }) ?? conv(x, this.weight(), this.b, 1, this.pad);
  }

  /** apply(relu(x)), the pre-activation of a residual block (one kernel with it where the backend fuses it). */
  applyToRelu(x: tf.Tensor4D): tf.Tensor4D {
    return fusedConv(x, this.w, this.b, this.pad, { u: this.u, v: this.v }, true) ?? this.apply(tf.relu(x));
  }

  private matrix(): tf.Tensor2D {
    return this.w.reshape<tf.Tensor2D>([-1, this.w.shape[3]!]);
  }
}

/** One power iteration in each of `layers` (one kernel for them all where the backend has it). */
export function powerIterations(layers: readonly SNConv[]): void {
  tf.tidy(() => {
    const out = snPowerIterations(
      layers.map((l) => [l.w, l.u]),
      SN_EPS,
    );
    if (!out) return layers.forEach((l) => l.powerIteration());
    layers.forEach((l, i) => {
      l.u.assign(out[2 * i]!);
      l.v.assign(out[2 * i + 1]!);
    });
  });
}

function normalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.maximum(tf.norm(x), SN_EPS));
}

/** Instance norm without affine (biased variance, ε = 1e-5), per image and channel over H, W. */
export function instanceNorm(x: tf.Tensor4D): tf.Tensor4D {
  const fused = fusedInstanceNorm(x, IN_EPS);
  if (fused) return fused;
  const { mean, variance } = tf.moments(x, [1, 2], true);
  return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, IN_EPS)));
}

/** relu(instanceNorm(x)·γ + β), γ and β [C] or [B, 1, 1, C]: one fused kernel where the backend has it (wasm, webgpu). */
export function instanceNormAffineRelu(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor4D {
  return fusedInstanceNormAffineRelu(x, gamma, beta, IN_EPS) ?? (tf.relu(tf.add(tf.mul(instanceNorm(x), gamma), beta)) as tf.Tensor4D);
}

/** nn.InstanceNorm2d(C, affine=True). */
export class InstanceNormAffine {
  readonly w: tf.Variable;
  readonly b: tf.Variable;

  constructor(store: ParamStore, key: string, c: number) {
    this.w = store.add({ key: `${key}.weight`, shape: [c], layout: 'vector', init: { kind: 'constant', value: 1 }, trainable: true });
    this.b = store.add({ key: `${key}.bias`, shape: [c], layout: 'vector', init: { kind: 'constant', value: 0 }, trainable: true });
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.add(tf.mul(instanceNorm(x), this.w), this.b);
  }

  /** relu(apply(x)). */
  applyRelu(x: tf.Tensor4D): tf.Tensor4D {
    return instanceNormAffineRelu(x, this.w, this.b);
  }
}

/**
 * nn.ReflectionPad2d(p), built from slices, reversals and concatenations: TF.js's MirrorPad gradient is wrong
 * on the CPU backend (found by the golden gradients of F), while these ops' gradients are exact.
 */
export function reflectPad(x: tf.Tensor4D, p: number): tf.Tensor4D {
  const fused = fusedReflectPad(x, p);
  if (fused) return fused;
  // Fresh begin/size arrays per slice: TF.js keeps them by reference for the gradient.
  const edge = (t: tf.Tensor4D, axis: 1 | 2, start: number): tf.Tensor4D => {
    const begin = [0, 0, 0, 0];
    begin[axis] = start;
    const size = [...t.shape];
    size[axis] = p;
    return tf.reverse(tf.slice(t, begin, size), axis);
  };
  const padAxis = (t: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D =>
    tf.concat([edge(t, axis, 1), t, edge(t, axis, t.shape[axis] - 1 - p)], axis);
  return padAxis(padAxis(x, 1), 2);
}

/**
 * nn.Upsample(scale_factor=2, mode='nearest'). TF.js's ResizeNearestNeighborGrad is wrong on the CPU backend
 * at 64→128 (found by the golden gradients), so the gradient is given here: each input pixel receives the
 * sum of its 2×2 output block, i.e. 4·avgPool(dy, 2).
 */
export function upsample2(x: tf.Tensor4D): tf.Tensor4D {
  return fusedUpsample2(x) ?? upsample2Composed(x);
}

const upsample2Composed = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x4 = args[0] as tf.Tensor4D;
  return {
    value: tf.image.resizeNearestNeighbor(x4, [x4.shape[1] * 2, x4.shape[2] * 2], false, false),
    gradFunc: (dy: tf.Tensor) => tf.mul(avgPool(dy as tf.Tensor4D, 2), 4),
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;

/** a + b of one shape (the residual sums). */
export function addSame<T extends tf.Tensor>(a: T, b: T): T {
  return fusedAddSame(a, b) ?? tf.add(a, b);
}

/** tf.concat along a non-negative axis. */
export function concat<T extends tf.Tensor>(xs: T[], axis: number): T {
  return fusedConcat(xs, axis) ?? tf.concat(xs, axis);
}

/** The softmax over the innermost axis. */
export function softmax<T extends tf.Tensor>(x: T): T {
  return fusedSoftmax(x) ?? tf.softmax(x);
}

/** nn.AvgPool2d(k, k): windows of k, stride k, the remainder dropped (floor). */
export function avgPool(x: tf.Tensor4D, k: number): tf.Tensor4D {
  // the kernel itself: tf.avgPool follows it with a Cast to x's dtype, an engine kernel more (and one in the gradient)
  if (k === 1) return x;
  return fusedAvgPool(x, k) ?? tf.engine().runKernel<tf.Tensor4D>(tf.AvgPool, { x }, { filterSize: k, strides: k, pad: 'valid' });
}

export function maxPool2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maxPool(x, 2, 2, 'valid');
}

/**
 * Bilinear resize of a one-channel map with half-pixel centres (torch's align_corners=False), written as two
 * small matrix products: TF.js's ResizeBilinearGrad ignores halfPixelCenters, so tf.image.resizeBilinear
 * would give the right forward but a wrong gradient.
 */
export function resizeBilinear1(x: tf.Tensor4D, size: number): tf.Tensor4D {
  const fused = fusedResizeBilinear1(x, size);
  if (fused) return fused;
  const [b, h, w] = x.shape;
  const ry = interpolationMatrix(h, size); // [size, h]
  const rx = interpolationMatrix(w, size); // [size, w]
  const x3 = x.reshape([b, h, w]);
  const rows = tf.matMul(tf.tile(ry.expandDims(0), [b, 1, 1]), x3); // [b, size, w]
  const out = tf.matMul(rows, tf.tile(rx.expandDims(0), [b, 1, 1]), false, true); // [b, size, size]
  return out.reshape([b, size, size, 1]);
}

const interpolationCache = new Map<string, Float32Array>();

/** Row i holds the weights torch's bilinear (align_corners=False) gives the `inSize` source pixels for output i. */
function interpolationMatrix(inSize: number, outSize: number): tf.Tensor2D {
  const cacheKey = `${inSize}:${outSize}`;
  let m = interpolationCache.get(cacheKey);
  if (!m) {
    m = new Float32Array(outSize * inSize);
    const t = bilinearTaps(inSize, outSize);
    for (let i = 0; i < outSize; i++) {
      m[i * inSize + t.i0[i]!] = t.w0[i]!;
      if (t.i1[i] !== t.i0[i]) m[i * inSize + t.i1[i]!] = t.w1[i]!;
    }
    interpolationCache.set(cacheKey, m);
  }
  return tf.tensor2d(m, [outSize, inSize]);
}
