/**
 * The fused kernels of src/kernels/fusedOps.ts as WGSL programs for TF.js's `webgpu` backend, ONE dispatch each where
 * TF.js composes 2–25 (as many dispatches, each with its bind group, uniform buffer and pass bookkeeping):
 * - spectral norm's power iteration, W/σ, its gradient: one workgroup each (a matrix–vector product or a sum, reduced
 *   in workgroup memory, then the elementwise part; the power iteration's second half reads the first's v after a
 *   barrier);
 * - instance norm, and instance norm + γ, β + ReLU, and their gradients: one workgroup per image and group of channels
 *   (two passes over H·W for the mean and variance as tf.moments, then the output). The second output of the forward
 *   kernels here is stats [B, C, 2] (mean, √(var + ε)), read only by their gradients;
 * - Adam's step over a flat vector (p', m', v': one elementwise program) and its split back into parameters (seven per
 *   program), which TF.js does as ~12 programs and one per parameter;
 * - over TF.js's own (useWebgpuKernelOverrides): Sum over consecutive axes before the innermost (TF.js: transpose, then
 *   reduce).
 * Several of them have two or three outputs, which TF.js's WebGPUProgram cannot express, so the WGSL is written whole
 * here and encoded through the backend's recordAndSubmit (see Spec). Sums run in float32 as TF.js's own reductions do
 * (per thread over a strided range, then a tree in workgroup memory).
 * By hand because TF.js has no such fused kernels for WebGPU; registered for `webgpu` only (wasm has its own in
 * src/kernels/fusedOps.ts; elsewhere src/redo/layers.ts and adam.ts compose TF.js ops).
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import {
  ADAM_UPDATE,
  INSTANCE_NORM,
  INSTANCE_NORM_AFFINE_RELU,
  INSTANCE_NORM_AFFINE_RELU_GRAD,
  INSTANCE_NORM_GRAD,
  SN_NORMALIZE,
  SN_NORMALIZE_GRAD,
  SN_POWER_ITERATION,
  SPLIT_FLAT,
  affineGradShapes,
  affineRows,
} from './fusedOps';
import type { AdamStep } from './fusedOps';

const BACKEND = 'webgpu';
/** Threads of every program (a power of two: the tree reductions halve it; WebGPU's default limit is 256). */
const WG = 256;

/**
 * A compute program with several outputs. TF.js's WebGPUProgram has one (`result`); here the WGSL is written whole
 * and the dispatch encoded by the backend's own recordAndSubmit (so it joins the backend's compute pass and command
 * queue, and src/worker/dispatchCounter.ts counts it): the first output is TF.js's output binding, the other outputs
 * follow the inputs as read_write storage buffers. Every tensor is bound flat (1-D), so TF.js's uniforms are its
 * NAN and INFINITY, then a size and a stride (both i32) per input and output, then the program's own scalars.
 */
interface Spec {
  /** Names the pipeline in the cache: everything that changes the WGSL. */
  key: string;
  inputs: string[];
  outputs: string[];
  /** The program's own scalar uniforms, e.g. 'k : i32'. */
  uniforms: string[];
  /** Workgroups (along x; folded into x × y past WebGPU's 65,535 per dimension when `elementwise`). */
  workgroups: number;
  /** `main` returns early for threads past the end (so extra workgroups of a folded dispatch do nothing). */
  elementwise?: boolean;
  /** WGSL of `fn main()`; it may use `t` (the thread in the workgroup), `wg` (the workgroup) and `uniforms`. */
  main: string;
}

type Uniforms = Array<{ type: 'int32' | 'float32'; data: number[] }>;

/** Scalar uniforms, one entry each (TF.js aligns an entry of n numbers as a vecn). */
const int = (...data: number[]): Uniforms => data.map((d) => ({ type: 'int32', data: [d] }));
const float = (...data: number[]): Uniforms => data.map((d) => ({ type: 'float32', data: [d] }));

function source(spec: Spec): string {
  const [first, ...rest] = spec.outputs;
  const bound = [...spec.inputs, ...rest, first!];
  const fields = ['NAN : f32', 'INFINITY : f32', ...bound.flatMap((_, i) => [`size${i} : i32`, `stride${i} : i32`]), ...spec.uniforms];
  const buffers = [
    `@group(0) @binding(0) var<storage, read_write> ${first} : array<f32>;`,
    ...spec.inputs.map((n, i) => `@group(0) @binding(${1 + i}) var<storage, read> ${n} : array<f32>;`),
    ...rest.map((n, i) => `@group(0) @binding(${1 + spec.inputs.length + i}) var<storage, read_write> ${n} : array<f32>;`),
  ];
  return `
    struct Uniforms { ${fields.join(', ')}, };
    ${buffers.join('\n    ')}
    @group(0) @binding(${1 + spec.inputs.length + rest.length}) var<uniform> uniforms : Uniforms;
    var<private> t : i32;
    var<private> wg : i32;
    ${spec.main}
    @compute @workgroup_size(${WG}, 1, 1)
    fn _start(@builtin(local_invocation_index) li : u32, @builtin(workgroup_id) id : vec3<u32>,
              @builtin(num_workgroups) nw : vec3<u32>) {
      t = i32(li);
      wg = i32(id.y * nw.x + id.x);
      main();
    }`;
}

/** What this file reaches of WebGPUBackend beyond its public API (tfjs-backend-webgpu 4.22, backend_webgpu.js). */
interface BackendInternals {
  recordAndSubmit(program: object, output: tf.TensorInfo, inputs: tf.TensorInfo[], uniforms: Uniforms): void;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function pipeline(backend: WebGPUBackend, spec: Spec): GPUComputePipeline {
  let cache = pipelines.get(backend.device);
  if (!cache) pipelines.set(backend.device, (cache = new Map()));
  let p = cache.get(spec.key);
  if (!p) {
    const module = backend.device.createShaderModule({ code: source(spec), label: spec.key });
    p = backend.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: '_start' }, label: spec.key });
    cache.set(spec.key, p);
  }
  return p;
}

/** The workgroup grid: spec.workgroups along x, or (elementwise programs only) folded into x × y. */
function dispatchOf(backend: WebGPUBackend, spec: Spec): [number, number, number] {
  const max = backend.device.limits.maxComputeWorkgroupsPerDimension;
  if (spec.workgroups <= max) return [spec.workgroups, 1, 1];
  const x = Math.ceil(Math.sqrt(spec.workgroups));
  if (!spec.elementwise || x > max) throw new Error(`${spec.key}: ${spec.workgroups} workgroups is more than one dispatch takes`);
  return [x, Math.ceil(spec.workgroups / x), 1];
}

/** Runs `spec` once (one dispatch): new float32 outputs of `shapes`, in the order of spec.outputs. */
function run(backend: WebGPUBackend, spec: Spec, inputs: tf.TensorInfo[], shapes: number[][], uniforms: Uniforms): tf.TensorInfo[] {
  if (inputs.some((x) => x.dtype !== 'float32')) throw new Error(`${spec.key}: float32 inputs only`);
  if (shapes.some((s) => tf.util.sizeFromShape(s) === 0)) throw new Error(`${spec.key}: empty output`);
  const outputs = shapes.map((s) => backend.makeTensorInfo(s, 'float32'));
  for (const x of [...inputs, ...outputs]) backend.uploadToGPU(x.dataId);
  const flat = (x: tf.TensorInfo): tf.TensorInfo => ({ ...x, shape: [tf.util.sizeFromShape(x.shape)] });
  const program = {
    pipeline: pipeline(backend, spec),
    dispatch: dispatchOf(backend, spec),
    shaderKey: spec.key,
    variableNames: [...spec.inputs, ...spec.outputs.slice(1)],
  };
  const [first, ...rest] = outputs;
  (backend as unknown as BackendInternals).recordAndSubmit(program, flat(first!), [...inputs, ...rest].map(flat), uniforms);
  return outputs;
}

/** Sums `red[lane·stride + ch]` over `lanes` lanes (a power of two) into lane 0; every thread of the workgroup calls it. */
function treeSum(red: string, lanes: number, stride: number, lane: string, ch: string): string {
  return `
    workgroupBarrier();
    for (var hs = ${lanes / 2}; hs > 0; hs = hs / 2) {
      if (${lane} < hs) {
        ${red}[${lane} * ${stride} + ${ch}] = ${red}[${lane} * ${stride} + ${ch}] + ${red}[(${lane} + hs) * ${stride} + ${ch}];
      }
      workgroupBarrier();
    }`;
}

/**
 * One workgroup's half of the power iteration (wm [K, N] = w as rows of its last dimension): out = n(wm·vec) over the
 * rows i < K (`rows`), or n(wmᵀ·vec) over the columns j < N; n(y) = y / max(‖y‖, eps), ‖y‖² summed as `sq`.
 */
function normalizedProduct(out: string, vec: string, rows: boolean, sq: string, norm: string): string {
  const [o, r, outs, ins] = rows ? ['i', 'j', 'k', 'n'] : ['j', 'i', 'n', 'k'];
  return `
      var ${sq} = 0.0;
      for (var ${o} = t; ${o} < uniforms.${outs}; ${o} = ${o} + ${WG}) {
        var s = 0.0;
        for (var ${r} = 0; ${r} < uniforms.${ins}; ${r} = ${r} + 1) { s = s + w[i * uniforms.n + j] * ${vec}[${r}]; }
        ${out}[${o}] = s;
        ${sq} = ${sq} + s * s;
      }
      red[t] = ${sq};
      ${treeSum('red', WG, 1, 't', '0')}
      let ${norm} = max(sqrt(red[0]), uniforms.eps);
      for (var ${o} = t; ${o} < uniforms.${outs}; ${o} = ${o} + ${WG}) { ${out}[${o}] = ${out}[${o}] / ${norm}; }`;
}

/** One workgroup, both halves: v = n(wm·u) into `v`, then, once every thread's part of v is written, u' = n(wmᵀ·v). */
const POWER_ITERATION: Spec = {
  key: 'redoSNPowerIteration',
  inputs: ['w', 'u'],
  outputs: ['uo', 'v'],
  uniforms: ['k : i32', 'n : i32', 'eps : f32'],
  workgroups: 1,
  main: `
    var<workgroup> red : array<f32, ${WG}>;
    fn main() {
      ${normalizedProduct('v', 'u', true, 'sq', 'nv')}
      storageBarrier();
      workgroupBarrier();
      ${normalizedProduct('uo', 'v', false, 'sq2', 'nu')}
    }`,
};

/** One workgroup: σ = Σᵢ v[i]·Σⱼ wm[i, j]·u[j] into `sigma`, then w/σ into `wn`. */
const NORMALIZE: Spec = {
  key: 'redoSNNormalize',
  inputs: ['w', 'u', 'v'],
  outputs: ['wn', 'sigma'],
  uniforms: ['k : i32', 'n : i32'],
  workgroups: 1,
  main: `
    var<workgroup> red : array<f32, ${WG}>;
    fn main() {
      var acc = 0.0;
      for (var i = t; i < uniforms.k; i = i + ${WG}) {
        var s = 0.0;
        for (var j = 0; j < uniforms.n; j = j + 1) { s = s + w[i * uniforms.n + j] * u[j]; }
        acc = acc + v[i] * s;
      }
      red[t] = acc;
      ${treeSum('red', WG, 1, 't', '0')}
      let sg = red[0];
      if (t == 0) { sigma[0] = sg; }
      for (var i = t; i < uniforms.k * uniforms.n; i = i + ${WG}) { wn[i] = w[i] / sg; }
    }`,
};

/** One workgroup: d = Σ dy⊙w, then dw = dy/σ − (d/σ²)·v uᵀ (dy, w, dw as [K, N]; σ [1]). */
const NORMALIZE_GRAD: Spec = {
  key: 'redoSNNormalizeGrad',
  inputs: ['dy', 'w', 'u', 'v', 'sigma'],
  outputs: ['dw'],
  uniforms: ['len : i32', 'n : i32'],
  workgroups: 1,
  main: `
    var<workgroup> red : array<f32, ${WG}>;
    fn main() {
      var acc = 0.0;
      for (var i = t; i < uniforms.len; i = i + ${WG}) { acc = acc + dy[i] * w[i]; }
      red[t] = acc;
      ${treeSum('red', WG, 1, 't', '0')}
      let sg = sigma[0];
      let c = red[0] / (sg * sg);
      for (var i = t; i < uniforms.len; i = i + ${WG}) { dw[i] = dy[i] / sg - c * v[i / uniforms.n] * u[i % uniforms.n]; }
    }`,
};

/**
 * The per-channel programs over x [B, H·W, C]: a workgroup of TC channels × 256/TC pixel lanes (adjacent threads read
 * adjacent channels) per image and group of TC channels; each lane walks H·W in steps of its lane count. Threads whose
 * channel is past C only join the barriers.
 */
function channelTc(c: number): number {
  return Math.min(32, 2 ** Math.ceil(Math.log2(c)));
}

function channelPrologue(tc: number): string {
  return `
      let lanes = ${WG / tc};
      let lane = t / ${tc};
      let lc = t % ${tc};
      let bi = wg / uniforms.groups;
      let ch = (wg % uniforms.groups) * ${tc} + lc;
      let live = ch < uniforms.c;
      let base = bi * uniforms.hw * uniforms.c + ch;
      let hw = f32(uniforms.hw);`;
}

/** The per-channel sum of `red` (every thread wrote its part) as `into`, for every thread. */
function channelSum(red: string, tc: number, into: string): string {
  return `${treeSum(red, WG / tc, tc, 'lane', 'lc')}
      let ${into} = ${red}[lc];
      workgroupBarrier();`;
}

const CHANNEL_UNIFORMS = ['hw : i32', 'c : i32', 'groups : i32', 'eps : f32'];

/** The mean and √(var + ε) of this workgroup's channel as `mean`, `sd` (two passes over H·W as tf.moments). */
const MOMENTS = `
      var s = 0.0;
      if (live) { for (var p = lane; p < uniforms.hw; p = p + lanes) { s = s + x[base + p * uniforms.c]; } }
      red[t] = s;
      CHANNEL_SUM_TOTAL
      let mean = total / hw;
      var q = 0.0;
      if (live) {
        for (var p = lane; p < uniforms.hw; p = p + lanes) {
          let dd = x[base + p * uniforms.c] - mean;
          q = q + dd * dd;
        }
      }
      red[t] = q;
      CHANNEL_SUM_SQ
      let sd = sqrt(sq / hw + uniforms.eps);`;

const moments = (tc: number) =>
  MOMENTS.replace('CHANNEL_SUM_TOTAL', channelSum('red', tc, 'total')).replace('CHANNEL_SUM_SQ', channelSum('red', tc, 'sq'));

/** The row of γ, β for this image: its own (γ [B, C]) or the shared one (γ [1, C]: uniforms.rows 1). */
const AFFINE_AT = 'let ga = (select(bi, 0, uniforms.rows == 1) * uniforms.c + ch);';

/**
 * Instance norm: per image and channel the mean and √(var + ε) over H·W (biased variance, two passes as tf.moments),
 * into stats [B, C, 2], and y = ŷ = (x − mean)/√(var + ε); with `affineRelu`, y = relu(ŷ·γ + β) (γ, β [B or 1, C]).
 */
const instanceNormSpec = (tc: number, affineRelu = false): Spec => ({
  key: `${affineRelu ? 'redoInstanceNormAffineRelu' : 'redoInstanceNorm'}_${tc}`,
  inputs: affineRelu ? ['x', 'gamma', 'beta'] : ['x'],
  outputs: ['y', 'stats'],
  uniforms: affineRelu ? [...CHANNEL_UNIFORMS, 'rows : i32'] : CHANNEL_UNIFORMS,
  workgroups: 0,
  main: `
    var<workgroup> red : array<f32, ${WG}>;
    fn main() {
      ${channelPrologue(tc)}
      ${moments(tc)}
      if (live) {
        if (lane == 0) {
          stats[(bi * uniforms.c + ch) * 2] = mean;
          stats[(bi * uniforms.c + ch) * 2 + 1] = sd;
        }
        ${affineRelu ? `${AFFINE_AT}\n        let g = gamma[ga];\n        let b = beta[ga];` : ''}
        for (var p = lane; p < uniforms.hw; p = p + lanes) {
          let i = base + p * uniforms.c;
          y[i] = ${affineRelu ? 'max((x[i] - mean) / sd * g + b, 0.0)' : '(x[i] - mean) / sd'};
        }
      }
    }`,
});

/** The gradients' two per-channel sums: every thread's `s` and `s2` (in `red`, `red2`) as `sdy` and `sdyy`. */
function gradSums(tc: number): string {
  return `
      red[t] = s;
      red2[t] = s2;
      ${channelSum('red', tc, 'sdy')}
      ${channelSum('red2', tc, 'sdyy')}`;
}

/** dx = (dy − mean(dy) − ŷ·mean(dy⊙ŷ))/√(var + ε) per image and channel, ŷ the normalised output. */
const instanceNormGradSpec = (tc: number): Spec => ({
  key: `redoInstanceNormGrad_${tc}`,
  inputs: ['dy', 'y', 'stats'],
  outputs: ['dx'],
  uniforms: CHANNEL_UNIFORMS,
  workgroups: 0,
  main: `
    var<workgroup> red : array<f32, ${WG}>;
    var<workgroup> red2 : array<f32, ${WG}>;
    fn main() {
      ${channelPrologue(tc)}
      var s = 0.0;
      var s2 = 0.0;
      if (live) {
        for (var p = lane; p < uniforms.hw; p = p + lanes) {
          let g = dy[base + p * uniforms.c];
          s = s + g;
          s2 = s2 + g * y[base + p * uniforms.c];
        }
      }
      ${gradSums(tc)}
      if (live) {
        let mdy = sdy / hw;
        let mdyy = sdyy / hw;
        let sd = stats[(bi * uniforms.c + ch) * 2 + 1];
        for (var p = lane; p < uniforms.hw; p = p + lanes) {
          let i = base + p * uniforms.c;
          dx[i] = (dy[i] - mdy - y[i] * mdyy) / sd;
        }
      }
    }`,
});

/**
 * The gradient of relu(ŷ·γ + β): with g' = dy where ŷ·γ + β > 0 (else 0), dβ = Σ g', dγ = Σ g'·ŷ per image and
 * channel ([B, C] each) and dx = γ·(g' − mean(g') − ŷ·mean(g'·ŷ))/√(var + ε).
 */
const affineReluGradSpec = (tc: number): Spec => ({
  key: `redoInstanceNormAffineReluGrad_${tc}`,
  inputs: ['dy', 'x', 'stats', 'gamma', 'beta'],
  outputs: ['dx', 'dgamma', 'dbeta'],
  uniforms: [...CHANNEL_UNIFORMS, 'rows : i32'],
  workgroups: 0,
  main: `
    var<workgroup> red : array<f32, ${WG}>;
    var<workgroup> red2 : array<f32, ${WG}>;
    fn main() {
      ${channelPrologue(tc)}
      var mean = 0.0;
      var sd = 1.0;
      var g = 0.0;
      var b = 0.0;
      var s = 0.0;
      var s2 = 0.0;
      if (live) {
        mean = stats[(bi * uniforms.c + ch) * 2];
        sd = stats[(bi * uniforms.c + ch) * 2 + 1];
        ${AFFINE_AT}
        g = gamma[ga];
        b = beta[ga];
        for (var p = lane; p < uniforms.hw; p = p + lanes) {
          let i = base + p * uniforms.c;
          let yh = (x[i] - mean) / sd;
          let gp = select(0.0, dy[i], yh * g + b > 0.0);
          s = s + gp;
          s2 = s2 + gp * yh;
        }
      }
      ${gradSums(tc)}
      if (live) {
        if (lane == 0) {
          dbeta[bi * uniforms.c + ch] = sdy;
          dgamma[bi * uniforms.c + ch] = sdyy;
        }
        let mdy = sdy / hw;
        let mdyy = sdyy / hw;
        for (var p = lane; p < uniforms.hw; p = p + lanes) {
          let i = base + p * uniforms.c;
          let yh = (x[i] - mean) / sd;
          let gp = select(0.0, dy[i], yh * g + b > 0.0);
          dx[i] = g * (gp - mdy - yh * mdyy) / sd;
        }
      }
    }`,
});

type Kernel = (inputs: tf.NamedTensorInfoMap, backend: WebGPUBackend, attrs: Record<string, number>) => tf.TensorInfo | tf.TensorInfo[];

/** [u', v] from w [.., N] and u [N] (see fusedOps.ts). */
const powerIteration: Kernel = ({ w, u }, backend, { eps }) => {
  const n = u!.shape[0]!;
  const k = tf.util.sizeFromShape(w!.shape) / n;
  return run(backend, POWER_ITERATION, [w!, u!], [[n], [k]], [...int(k, n), ...float(eps!)]);
};

/** [w/σ, σ] with σ = vᵀ·wm·u. */
const normalize: Kernel = ({ w, u, v }, backend) => run(backend, NORMALIZE, [w!, u!, v!], [w!.shape, [1]], int(v!.shape[0]!, u!.shape[0]!));

/** d(w/σ)/dw with u, v constant. */
const normalizeGrad: Kernel = ({ dy, w, u, v, sigma }, backend) =>
  run(backend, NORMALIZE_GRAD, [dy!, w!, u!, v!, sigma!], [dy!.shape], int(tf.util.sizeFromShape(dy!.shape), u!.shape[0]!))[0]!;

/** A per-channel program's spec with its workgroup count and uniforms for x [B, H, W, C]. */
function perChannel(make: (tc: number) => Spec, x: tf.TensorInfo, eps: number): { spec: Spec; uniforms: Uniforms } {
  const [b, h, w, c] = x.shape as [number, number, number, number];
  const tc = channelTc(c);
  const groups = Math.ceil(c / tc);
  return { spec: { ...make(tc), workgroups: b * groups }, uniforms: [...int(h * w, c, groups), ...float(eps)] };
}

/** [y, stats [B, C, 2]] for x [B, H, W, C] (and with `affineRelu`, γ and β of 1 or B rows of C). */
const instanceNorm =
  (affineRelu: boolean): Kernel =>
  ({ x, gamma, beta }, backend, { eps }) => {
    const { spec, uniforms } = perChannel((tc) => instanceNormSpec(tc, affineRelu), x!, eps!);
    const [b, , , c] = x!.shape;
    const [inputs, rows] = affineRelu ? [[x!, gamma!, beta!], int(affineRows(gamma!.shape, c!))] : [[x!], []];
    return run(backend, spec, inputs, [x!.shape, [b!, c!, 2]], [...uniforms, ...rows]);
  };

const instanceNormGrad: Kernel = ({ dy, y, rstd }, backend) => {
  const { spec, uniforms } = perChannel(instanceNormGradSpec, dy!, 0);
  return run(backend, spec, [dy!, y!, rstd!], [dy!.shape], uniforms)[0]!;
};

/** Workgroups of the elementwise programs below (one thread per element). */
const flatWorkgroups = (n: number): number => Math.ceil(n / WG);

/** Adam's step over flat vectors in the order of src/redo/adam.ts's composed ops: p', m', v' in one program. */
const ADAM: Spec = {
  key: 'redoAdamUpdate',
  elementwise: true,
  inputs: ['g0', 'p', 'm', 'v'],
  outputs: ['po', 'mo', 'vo'],
  uniforms: [
    'len : i32',
    'decay : i32',
    'momentum : i32',
    'wd : f32',
    'b1 : f32',
    'c1 : f32',
    'b2 : f32',
    'c2 : f32',
    'rbc2 : f32',
    'eps : f32',
    'rate : f32',
  ],
  workgroups: 0,
  main: `
    fn main() {
      let i = wg * ${WG} + t;
      if (i >= uniforms.len) { return; }
      var g = g0[i];
      if (uniforms.decay != 0) { g = g + p[i] * uniforms.wd; }
      var m1 = g;
      if (uniforms.momentum != 0) { m1 = m[i] * uniforms.b1 + g * uniforms.c1; }
      let v1 = v[i] * uniforms.b2 + (g * g) * uniforms.c2;
      let denom = sqrt(v1) * uniforms.rbc2 + uniforms.eps;
      po[i] = p[i] - (m1 / denom) * uniforms.rate;
      mo[i] = m1;
      vo[i] = v1;
    }`,
};

const adamUpdate: Kernel = ({ g, p, m, v }, backend, attrs) => {
  const { lr, beta1, beta2, epsilon, weightDecay, bc1, bc2 } = attrs as unknown as AdamStep;
  const n = g!.shape[0]!;
  const spec = { ...ADAM, workgroups: flatWorkgroups(n) };
  const uniforms = [
    ...int(n, weightDecay > 0 ? 1 : 0, beta1 === 0 ? 0 : 1),
    ...float(weightDecay, beta1, 1 - beta1, beta2, 1 - beta2, 1 / Math.sqrt(bc2), epsilon, lr / bc1),
  ];
  return run(backend, spec, [g!, p!, m!, v!], [[n], [n], [n]], uniforms);
};

/** Up to this many pieces per split program: one input and the outputs within WebGPU's default 8 storage buffers. */
const SPLIT_OUTPUTS = 7;

/** Pieces j = 0…k−1 of x: o_j[i] = x[start_j + i] for i < size_j; one thread per element of the largest piece. */
const splitSpec = (k: number): Spec => ({
  key: `redoSplitFlat_${k}`,
  elementwise: true,
  inputs: ['x'],
  outputs: Array.from({ length: k }, (_, j) => `o${j}`),
  uniforms: Array.from({ length: k }, (_, j) => [`start${j} : i32`, `len${j} : i32`]).flat(),
  workgroups: 0,
  main: `
    fn main() {
      let i = wg * ${WG} + t;
      ${Array.from({ length: k }, (_, j) => `if (i < uniforms.len${j}) { o${j}[i] = x[uniforms.start${j} + i]; }`).join('\n      ')}
    }`,
});

/** Pieces of attrs.sizes, shaped as attrs.shapes where given (1-D otherwise). */
const splitFlatKernel: Kernel = ({ x }, backend, attrs) => {
  const { sizes, shapes } = attrs as unknown as { sizes: number[]; shapes?: number[][] };
  if (sizes.reduce((a, b) => a + b, 0) !== x!.shape[0]) throw new Error(`${SPLIT_FLAT}: sizes do not add up to ${x!.shape[0]}`);
  const out: tf.TensorInfo[] = [];
  let start = 0;
  for (let j = 0; j < sizes.length; j += SPLIT_OUTPUTS) {
    const group = sizes.slice(j, j + SPLIT_OUTPUTS);
    const spec = { ...splitSpec(group.length), workgroups: flatWorkgroups(Math.max(...group)) };
    const uniforms = group.flatMap((n) => {
      const u = int(start, n);
      start += n;
      return u;
    });
    out.push(
      ...run(
        backend,
        spec,
        [x!],
        group.map((n, i) => shapes?.[j + i] ?? [n]),
        uniforms,
      ),
    );
  }
  return out;
};

/** out[a, ch] = Σ_r x[a, r, ch] for x viewed as [A, R, C]: the per-channel workgroups with A for images, R for pixels. */
const reduceMiddleSpec = (tc: number): Spec => ({
  key: `redoSumMiddle_${tc}`,
  inputs: ['x'],
  outputs: ['out'],
  uniforms: CHANNEL_UNIFORMS,
  workgroups: 0,
  main: `
    var<workgroup> red : array<f32, ${WG}>;
    fn main() {
      ${channelPrologue(tc)}
      var s = 0.0;
      if (live) { for (var p = lane; p < uniforms.hw; p = p + lanes) { s = s + x[base + p * uniforms.c]; } }
      red[t] = s;
      ${channelSum('red', tc, 'total')}
      if (live && lane == 0) { out[bi * uniforms.c + ch] = total; }
    }`,
});

/**
 * Sum over a block of consecutive axes that leaves the innermost one (a bias gradient's sum over B, H, W; conditional
 * instance norm's over H, W), which TF.js's webgpu backend does as a transpose then a reduction: here one program.
 * Anything else goes to TF.js's own kernel.
 */
function sumOverride(original: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const last = axes[axes.length - 1]!;
    const contiguous = axes.every((a, i) => a === axes[0]! + i);
    if (x.dtype !== 'float32' || axes.length === 0 || !contiguous || last === x.shape.length - 1) return original.kernelFunc(args);
    const backend = args.backend as unknown as WebGPUBackend;
    const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1);
    const [a, r, c] = [size(x.shape.slice(0, axes[0])), size(axes.map((d) => x.shape[d]!)), size(x.shape.slice(last + 1))];
    if (a * r * c === 0) return original.kernelFunc(args);
    const tc = channelTc(c);
    const groups = Math.ceil(c / tc);
    const spec = { ...reduceMiddleSpec(tc), workgroups: a * groups };
    const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    return run(backend, spec, [x], [outShape], [...int(r, c, groups), ...float(0)])[0]!;
  };
}

/** [dx, dγ, dβ], dγ and dβ a row per image (fusedOps' affineGradShapes). */
const instanceNormAffineReluGrad: Kernel = ({ dy, x, stats, gamma, beta }, backend) => {
  const { spec, uniforms } = perChannel(affineReluGradSpec, dy!, 0);
  const rows = affineRows(gamma!.shape, dy!.shape[3]!);
  return run(
    backend,
    spec,
    [dy!, x!, stats!, gamma!, beta!],
    [dy!.shape, ...affineGradShapes(dy!.shape, gamma!.shape)],
    [...uniforms, ...int(rows)],
  );
};

const KERNELS: ReadonlyArray<[string, Kernel]> = [
  [SN_POWER_ITERATION, powerIteration],
  [SN_NORMALIZE, normalize],
  [SN_NORMALIZE_GRAD, normalizeGrad],
  [INSTANCE_NORM, instanceNorm(false)],
  [INSTANCE_NORM_GRAD, instanceNormGrad],
  [INSTANCE_NORM_AFFINE_RELU, instanceNorm(true)],
  [INSTANCE_NORM_AFFINE_RELU_GRAD, instanceNormAffineReluGrad],
  [ADAM_UPDATE, adamUpdate],
  [SPLIT_FLAT, splitFlatKernel],
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
      kernelFunc: ({ inputs, backend, attrs }) =>
        kernel(inputs, backend as unknown as WebGPUBackend, (attrs ?? {}) as Record<string, number>),
    });
  }
}

let tfjsSum: tf.KernelConfig | undefined;

/**
 * Puts this file's kernels over TF.js's own webgpu ones (Sum: see sumOverride). Call after tfjs-backend-webgpu has been
 * imported (its registrations replace earlier ones of the same name), as src/node/backend.ts and src/worker/backend.ts
 * do; `on` false puts TF.js's own back.
 */
export function useWebgpuKernelOverrides(on = true): void {
  const current = tf.getKernel(tf.Sum, BACKEND);
  if (!current) throw new Error('tfjs-backend-webgpu is not loaded: it has no Sum kernel');
  if (!tfjsSum || current.kernelFunc === tfjsSum.kernelFunc) tfjsSum = current;
  tf.unregisterKernel(tf.Sum, BACKEND);
  tf.registerKernel(on ? { ...tfjsSum, kernelFunc: sumOverride(tfjsSum) } : tfjsSum);
}
