/**
 * The fused kernels of src/redo/fusedOps.ts (spectral norm's power iteration, W/σ and its gradient, instance norm and
 * its gradient) as WGSL programs for TF.js's `webgpu` backend: each replaces 7–25 TF.js kernels — as many GPU
 * dispatches, each with its bind group, uniform buffer and pass bookkeeping — by one or two dispatches.
 *
 * - Power iteration: v = n(wm·u) and u' = n(wmᵀ·v), each one single-workgroup program (matrix–vector product, then
 *   the workgroup's sum of squares normalises it in place): 2 dispatches.
 * - W/σ: σ = vᵀ·wm·u (one workgroup), then W/σ (elementwise): 2. Its gradient: Σ dy⊙W (one workgroup), then
 *   dy/σ − (Σ dy⊙W)/σ² · v uᵀ (elementwise): 2.
 * - Instance norm: per image and channel the mean and √(var + ε) (one workgroup per image and group of channels,
 *   two passes over H·W as tf.moments does), then (x − mean)/√(var + ε) (elementwise): 2. Its gradient: one program
 *   (the same workgroups sum dy and dy⊙ŷ, then write dx): 1. The second output of RedoInstanceNorm here is
 *   [B, C, 2] (mean, √(var + ε)), which only RedoInstanceNormGrad reads.
 * Sums run in float32 as TF.js's own reductions do (per thread over a strided range, then a tree in workgroup memory).
 * By hand because TF.js has no such fused kernels for WebGPU; registered for `webgpu` only (other backends: wasm's in
 * src/redo/wasmKernels.ts, else TF.js ops composed in src/redo/layers.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { INSTANCE_NORM, INSTANCE_NORM_GRAD, SN_NORMALIZE, SN_NORMALIZE_GRAD, SN_POWER_ITERATION } from './fusedOps';

const BACKEND = 'webgpu';
/** Threads of every single-workgroup and per-channel program (a power of two: the tree reductions halve it). */
const WG = 256;

type Uniforms = Array<{ type: 'int32' | 'float32'; data: number[] }>;

/** The part of WebGPUProgram every program here shares: a flat layout, `main(index)` as the entry. */
abstract class Program implements WebGPUProgram {
  abstract variableNames: string[];
  abstract outputShape: number[];
  abstract shaderKey: string;
  abstract dispatch: [number, number, number];
  abstract getUserCode(): string;
  workgroupSize: [number, number, number] = [WG, 1, 1];
  /** Every output dimension along x: TF.js then calls `main(index)` with the flat index of the thread. */
  get dispatchLayout(): { x: number[] } {
    return { x: this.outputShape.map((_, i) => i) };
  }
}

/** This workgroup's number when TF.js has folded a long dispatch into two or three dimensions. */
const WORKGROUP_INDEX = 'i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x)';

/** Sums `red[lane·stride + ch]` over the `lanes` lanes (a power of two) into lane 0; every thread must call it. */
function treeSum(red: string, lanes: number, stride: number, lane: string, ch: string): string {
  return `
    for (var hs = ${lanes / 2}; hs > 0; hs = hs / 2) {
      if (${lane} < hs) { ${red}[${lane} * ${stride} + ${ch}] = ${red}[${lane} * ${stride} + ${ch}] + ${red}[(${lane} + hs) * ${stride} + ${ch}]; }
      workgroupBarrier();
    }`;
}

/**
 * One workgroup: out = n(wm·x) (`transposed` false: wm [K, N], x [N], out [K]) or n(wmᵀ·x) (x [K], out [N]), with
 * n(y) = y / max(‖y‖, eps).
 */
class MatVecNormProgram extends Program {
  variableNames = ['w', 'x'];
  outputShape: number[];
  shaderKey: string;
  dispatch: [number, number, number] = [1, 1, 1];
  uniforms = 'k : i32, n : i32, eps : f32,';

  constructor(
    k: number,
    n: number,
    private readonly transposed: boolean,
  ) {
    super();
    this.outputShape = [transposed ? n : k];
    this.shaderKey = `redoMatVecNorm_${transposed}`;
  }

  getUserCode(): string {
    const [len, inner, at] = this.transposed ? ['uniforms.n', 'uniforms.k', 'w[j * uniforms.n + i]'] : ['uniforms.k', 'uniforms.n', 'w[i * uniforms.n + j]'];
    return `
      var<workgroup> red : array<f32, ${WG}>;
      fn main(index : i32) {
        let t = i32(localIndex);
        var sq = 0.0;
        for (var i = t; i < ${len}; i = i + ${WG}) {
          var s = 0.0;
          for (var j = 0; j < ${inner}; j = j + 1) { s = s + ${at} * x[j]; }
          result[i] = s;
          sq = sq + s * s;
        }
        red[t] = sq;
        workgroupBarrier();
        ${treeSum('red', WG, 1, 't', '0')}
        let norm = max(sqrt(red[0]), uniforms.eps);
        for (var i = t; i < ${len}; i = i + ${WG}) { result[i] = result[i] / norm; }
      }`;
  }
}

/** One workgroup: σ = Σᵢ v[i]·Σⱼ wm[i, j]·u[j] (wm [K, N], u [N], v [K]), output [1]. */
class SigmaProgram extends Program {
  variableNames = ['w', 'u', 'v'];
  outputShape = [1];
  shaderKey = 'redoSNSigma';
  dispatch: [number, number, number] = [1, 1, 1];
  uniforms = 'k : i32, n : i32,';

  getUserCode(): string {
    return `
      var<workgroup> red : array<f32, ${WG}>;
      fn main(index : i32) {
        let t = i32(localIndex);
        var acc = 0.0;
        for (var i = t; i < uniforms.k; i = i + ${WG}) {
          var s = 0.0;
          for (var j = 0; j < uniforms.n; j = j + 1) { s = s + w[i * uniforms.n + j] * u[j]; }
          acc = acc + v[i] * s;
        }
        red[t] = acc;
        workgroupBarrier();
        ${treeSum('red', WG, 1, 't', '0')}
        if (t == 0) { result[0] = red[0]; }
      }`;
  }
}

/** One workgroup: Σ a⊙b over all elements, output [1]. */
class DotProgram extends Program {
  variableNames = ['a', 'b'];
  outputShape = [1];
  shaderKey = 'redoDot';
  dispatch: [number, number, number] = [1, 1, 1];
  uniforms = 'len : i32,';

  getUserCode(): string {
    return `
      var<workgroup> red : array<f32, ${WG}>;
      fn main(index : i32) {
        let t = i32(localIndex);
        var acc = 0.0;
        for (var i = t; i < uniforms.len; i = i + ${WG}) { acc = acc + a[i] * b[i]; }
        red[t] = acc;
        workgroupBarrier();
        ${treeSum('red', WG, 1, 't', '0')}
        if (t == 0) { result[0] = red[0]; }
      }`;
  }
}

/** An elementwise program over `shape`: one thread per output element (`main(index)`, index < uniforms.size). */
abstract class ElementwiseProgram extends Program {
  outputShape: number[];
  dispatch: [number, number, number];
  size = true;
  override workgroupSize: [number, number, number] = [64, 1, 1];

  constructor(shape: number[]) {
    super();
    this.outputShape = [...shape];
    this.dispatch = [Math.ceil(tf.util.sizeFromShape(shape) / 64), 1, 1];
  }
}

/** x / s[0]. */
class DivideByScalarProgram extends ElementwiseProgram {
  variableNames = ['x', 's'];
  shaderKey = 'redoDivideByScalar';

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) { result[index] = x[index] / s[0]; }
      }`;
  }
}

/** dw[i, j] = dy[i, j]/σ − (d/σ²)·v[i]·u[j] (dy, dw [K, N]; d = Σ dy⊙w, σ: [1] each). */
class SNGradProgram extends ElementwiseProgram {
  variableNames = ['dy', 'u', 'v', 'sigma', 'd'];
  shaderKey = 'redoSNGrad';
  uniforms = 'n : i32,';

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let sg = sigma[0];
          let c = d[0] / (sg * sg);
          result[index] = dy[index] / sg - c * v[index / uniforms.n] * u[index % uniforms.n];
        }
      }`;
  }
}

/**
 * The per-channel programs over x [B, H·W, C]: a workgroup of TC channels × TP pixel lanes (TC·TP = 256; adjacent
 * threads read adjacent channels) per image and group of TC channels; each lane walks H·W in steps of TP.
 */
abstract class ChannelProgram extends Program {
  dispatch: [number, number, number];
  uniforms = 'hw : i32, c : i32, groups : i32, eps : f32,';
  protected readonly tc: number;

  constructor(
    b: number,
    c: number,
    readonly outputShape: number[],
  ) {
    super();
    this.tc = Math.min(32, 2 ** Math.ceil(Math.log2(c)));
    this.dispatch = [b * Math.ceil(c / this.tc), 1, 1];
  }

  /** Declares t, lane, lc, ch (channel; may be ≥ C: such threads only join the barriers), bi and base. */
  protected prologue(): string {
    return `
        let wg = ${WORKGROUP_INDEX};
        let t = i32(localIndex);
        let lane = t / ${this.tc};
        let lc = t % ${this.tc};
        let bi = wg / uniforms.groups;
        let ch = (wg % uniforms.groups) * ${this.tc} + lc;
        let live = ch < uniforms.c;
        let base = bi * uniforms.hw * uniforms.c + ch;`;
  }

  /** The per-channel sum of `red` (written by every thread) into `into`, readable by all threads after. */
  protected channelSum(red: string, into: string): string {
    return `
        workgroupBarrier();
        ${treeSum(red, WG / this.tc, this.tc, 'lane', 'lc')}
        let ${into} = ${red}[lc];
        workgroupBarrier();`;
  }
}

/** stats [B, C, 2]: per image and channel the mean over H·W and √(var + ε) (biased variance, two passes). */
class InstanceNormStatsProgram extends ChannelProgram {
  variableNames = ['x'];
  shaderKey: string;

  constructor(b: number, c: number) {
    super(b, c, [b, c, 2]);
    this.shaderKey = `redoInstanceNormStats_${this.tc}`;
  }

  getUserCode(): string {
    const lanes = WG / this.tc;
    return `
      var<workgroup> red : array<f32, ${WG}>;
      fn main(index : i32) {
        ${this.prologue()}
        var s = 0.0;
        if (live) { for (var p = lane; p < uniforms.hw; p = p + ${lanes}) { s = s + x[base + p * uniforms.c]; } }
        red[t] = s;
        ${this.channelSum('red', 'total')}
        let mean = total / f32(uniforms.hw);
        var q = 0.0;
        if (live) {
          for (var p = lane; p < uniforms.hw; p = p + ${lanes}) {
            let dd = x[base + p * uniforms.c] - mean;
            q = q + dd * dd;
          }
        }
        red[t] = q;
        ${this.channelSum('red', 'sq')}
        if (live && lane == 0) {
          let o = (bi * uniforms.c + ch) * 2;
          result[o] = mean;
          result[o + 1] = sqrt(sq / f32(uniforms.hw) + uniforms.eps);
        }
      }`;
  }
}

/** y = (x − mean)/√(var + ε) elementwise, from stats [B, C, 2]. */
class InstanceNormApplyProgram extends ElementwiseProgram {
  variableNames = ['x', 'stats'];
  shaderKey = 'redoInstanceNormApply';
  uniforms = 'hw : i32, c : i32,';

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let o = ((index / (uniforms.hw * uniforms.c)) * uniforms.c + index % uniforms.c) * 2;
          result[index] = (x[index] - stats[o]) / stats[o + 1];
        }
      }`;
  }
}

/** dx = (dy − mean(dy) − ŷ·mean(dy⊙ŷ))/√(var + ε) per image and channel, ŷ the normalised output. */
class InstanceNormGradProgram extends ChannelProgram {
  variableNames = ['dy', 'y', 'stats'];
  shaderKey: string;

  constructor(b: number, c: number, shape: number[]) {
    super(b, c, shape);
    this.shaderKey = `redoInstanceNormGrad_${this.tc}`;
  }

  getUserCode(): string {
    const lanes = WG / this.tc;
    return `
      var<workgroup> red : array<f32, ${WG}>;
      var<workgroup> red2 : array<f32, ${WG}>;
      fn main(index : i32) {
        ${this.prologue()}
        var s = 0.0;
        var s2 = 0.0;
        if (live) {
          for (var p = lane; p < uniforms.hw; p = p + ${lanes}) {
            let g = dy[base + p * uniforms.c];
            s = s + g;
            s2 = s2 + g * y[base + p * uniforms.c];
          }
        }
        red[t] = s;
        red2[t] = s2;
        ${this.channelSum('red', 'sdy')}
        ${treeSum('red2', lanes, this.tc, 'lane', 'lc')}
        let sdyy = red2[lc];
        if (live) {
          let hw = f32(uniforms.hw);
          let mdy = sdy / hw;
          let mdyy = sdyy / hw;
          let sd = stats[(bi * uniforms.c + ch) * 2 + 1];
          for (var p = lane; p < uniforms.hw; p = p + ${lanes}) {
            let i = base + p * uniforms.c;
            result[i] = (dy[i] - mdy - y[i] * mdyy) / sd;
          }
        }
      }`;
  }
}

/** Scalar uniforms, one entry each (TF.js aligns an entry of n numbers as a vecn). */
const int = (...data: number[]): Uniforms => data.map((d) => ({ type: 'int32', data: [d] }));
const float = (...data: number[]): Uniforms => data.map((d) => ({ type: 'float32', data: [d] }));

function run(backend: WebGPUBackend, program: Program, inputs: tf.TensorInfo[], uniforms: Uniforms): tf.TensorInfo {
  if (inputs.some((t) => t.dtype !== 'float32')) throw new Error(`${program.shaderKey}: float32 inputs only`);
  return backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
}

type Kernel = (inputs: tf.NamedTensorInfoMap, backend: WebGPUBackend, attrs: Record<string, number>) => tf.TensorInfo | tf.TensorInfo[];

/** [u', v] from w [.., N] and u [N] (see fusedOps.ts). */
const powerIteration: Kernel = ({ w, u }, backend, { eps }) => {
  const n = u!.shape[0]!;
  const k = tf.util.sizeFromShape(w!.shape) / n;
  const sizes = [...int(k, n), ...float(eps!)];
  const v = run(backend, new MatVecNormProgram(k, n, false), [w!, u!], sizes);
  const u2 = run(backend, new MatVecNormProgram(k, n, true), [w!, v], sizes);
  return [u2, v];
};

/** [w/σ, σ] with σ = vᵀ·wm·u. */
const normalize: Kernel = ({ w, u, v }, backend) => {
  const n = u!.shape[0]!;
  const sigma = run(backend, new SigmaProgram(), [w!, u!, v!], int(v!.shape[0]!, n));
  const wn = run(backend, new DivideByScalarProgram(w!.shape), [w!, sigma], []);
  return [wn, sigma];
};

/** d(w/σ)/dw with u, v constant. */
const normalizeGrad: Kernel = ({ dy, w, u, v, sigma }, backend) => {
  const d = run(backend, new DotProgram(), [dy!, w!], int(tf.util.sizeFromShape(dy!.shape)));
  const dw = run(backend, new SNGradProgram(dy!.shape), [dy!, u!, v!, sigma!, d], int(u!.shape[0]!));
  backend.disposeData(d.dataId);
  return dw;
};

const dims = (x: tf.TensorInfo) => {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  return { b, hw: h * w, c };
};

/** [y, stats [B, C, 2]] for x [B, H, W, C]. */
const instanceNorm: Kernel = ({ x }, backend, { eps }) => {
  const { b, hw, c } = dims(x!);
  const stats = new InstanceNormStatsProgram(b, c);
  const st = run(backend, stats, [x!], [...int(hw, c, stats.dispatch[0] / b), ...float(eps!)]);
  const y = run(backend, new InstanceNormApplyProgram(x!.shape), [x!, st], int(hw, c));
  return [y, st];
};

const instanceNormGrad: Kernel = ({ dy, y, rstd }, backend) => {
  const { b, hw, c } = dims(dy!);
  const program = new InstanceNormGradProgram(b, c, dy!.shape);
  return run(backend, program, [dy!, y!, rstd!], [...int(hw, c, program.dispatch[0] / b), ...float(0)]);
};

const KERNELS: ReadonlyArray<[string, Kernel]> = [
  [SN_POWER_ITERATION, powerIteration],
  [SN_NORMALIZE, normalize],
  [SN_NORMALIZE_GRAD, normalizeGrad],
  [INSTANCE_NORM, instanceNorm],
  [INSTANCE_NORM_GRAD, instanceNormGrad],
];

/**
 * Registers the fused kernels for `webgpu` (`on`), or removes them (src/redo/layers.ts then composes TF.js ops; for
 * tests and benchmarks). Registering needs no backend: TF.js looks kernels up by backend name when one runs.
 */
export function useWebgpuFusedKernels(on = true): void {
  for (const [name, kernel] of KERNELS) {
    if (tf.getKernel(name, BACKEND)) tf.unregisterKernel(name, BACKEND);
    if (!on) continue;
    tf.registerKernel({
      kernelName: name,
      backendName: BACKEND,
      kernelFunc: ({ inputs, backend, attrs }) => kernel(inputs, backend as unknown as WebGPUBackend, (attrs ?? {}) as Record<string, number>),
    });
  }
}
