/**
 * src/kernels/webgpuKernels.ts on Node webgpu (Dawn on SwiftShader): the fused spectral-norm and instance-norm WGSL
 * programs give what the composed TF.js ops they replace give on the same backend, values and gradients (tf.grad
 * through the fused op against tf.grad through the composed ops), on small shapes and on shapes past one workgroup
 * (K > 256, C > 32 channels, odd H·W); tensors are not leaked; and one `tiny` training step encodes far fewer GPU
 * dispatches with them than without.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset, RedoModel, RedoTrainer, disposeLosses } from '../src/redo';
import { instanceNorm, instanceNormAffineRelu, SNConv } from '../src/redo/layers';
import { ParamStore } from '../src/redo/params';
import { Rng } from '../src/redo/random';
import { Adam } from '../src/redo/adam';
import { useWebgpuFusedKernels, useWebgpuKernelOverrides } from '../src/kernels/webgpuKernels';
import { INSTANCE_NORM, INSTANCE_NORM_GRAD, SN_NORMALIZE_GRAD } from '../src/kernels/fusedOps';
import { adamOnOddShapes, ODD_SHAPES } from './helpers/adamRuns';
import { setupBackend } from '../src/node/backend';
import { WorkCounter } from '../src/worker/dispatchCounter';

type Shape4 = [number, number, number, number];

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));

/** max |p − q| / max |p|. */
function rel(p: ArrayLike<number>, q: ArrayLike<number>): number {
  expect(q.length).toBe(p.length);
  let e = 0;
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    e = Math.max(e, Math.abs(p[i]! - q[i]!));
    s = Math.max(s, Math.abs(p[i]!));
  }
  return e / Math.max(s, 1e-30);
}

beforeAll(async () => {
  const info = await setupBackend('webgpu');
  expect(tf.getBackend(), info.adapter).toBe('webgpu');
}, 120_000);

afterAll(async () => {
  useWebgpuFusedKernels(true);
  await tf.setBackend('cpu');
});

describe('fused ops on webgpu against the composed TF.js ops they replace', () => {
  /** An SN conv's power iterations, W/σ through a conv and the gradient of a loss in W, fused or composed. */
  async function spectral(fused: boolean, k: number, cin: number, cout: number) {
    useWebgpuFusedKernels(fused);
    const store = new ParamStore(new Rng(7), 0.8, false);
    const layer = new SNConv(store, 'c', k, cin, cout, true);
    layer.powerIteration();
    layer.powerIteration();
    const x = tf.tensor4d(values(2 * 6 * 6 * cin, 3), [2, 6, 6, cin]);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(tf.square(layer.apply(x))), [layer.w]);
    const g = grads[layer.w.name]!;
    const out = { u: await layer.u.data(), v: await layer.v.data(), loss: (await value.data())[0]!, grad: await g.data() };
    tf.dispose([value, g]);
    const leaked = tf.memory().numTensors - before;
    store.dispose();
    x.dispose();
    useWebgpuFusedKernels(true);
    return { ...out, leaked };
  }

  it.each([
    [3, 5, 6],
    [3, 40, 70], // K = 360 rows: more than one per thread
    [1, 300, 3],
  ])(
    'spectral norm (k %i, in %i, out %i): u, v after two power iterations, W/σ through a conv, its gradient',
    async (k, cin, cout) => {
      const a = await spectral(false, k, cin, cout);
      const b = await spectral(true, k, cin, cout);
      expect(rel(a.u, b.u)).toBeLessThan(1e-5);
      expect(rel(a.v, b.v)).toBeLessThan(1e-5);
      expect(Math.abs(a.loss - b.loss) / Math.abs(a.loss)).toBeLessThan(1e-5);
      expect(rel(a.grad, b.grad)).toBeLessThan(1e-4);
      expect(b.leaked).toBe(0);
      expect(a.leaked).toBe(0);
    },
    120_000,
  );

  async function norm(fused: boolean, shape: [number, number, number, number]) {
    useWebgpuFusedKernels(fused);
    const n = tf.util.sizeFromShape(shape);
    const c = shape[3];
    const x = tf.tensor4d(
      values(n, 1).map((v, i) => v * (1 + (i % c)) + (i % 3)),
      shape,
    );
    const w = tf.tensor4d(values(n, 2), shape);
    const before = tf.memory().numTensors;
    const y = instanceNorm(x);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(instanceNorm(t as tf.Tensor4D), w)))(x);
    const out = { y: await y.data(), g: await g.data() };
    tf.dispose([y, g]);
    const leaked = tf.memory().numTensors - before;
    tf.dispose([x, w]);
    useWebgpuFusedKernels(true);
    return { ...out, leaked };
  }

  it.each([
    [[2, 5, 7, 3]],
    [[1, 9, 9, 40]], // two channel groups, the second part-filled; 81 pixels over 8 lanes
    [[3, 16, 16, 8]],
  ] as Array<[[number, number, number, number]]>)(
    'instance norm %j: values and input gradient',
    async (shape) => {
      const a = await norm(false, shape);
      const b = await norm(true, shape);
      expect(rel(a.y, b.y)).toBeLessThan(2e-5);
      expect(rel(a.g, b.g)).toBeLessThan(2e-5);
      expect(b.leaked).toBe(0);
    },
    120_000,
  );

  /** relu(instanceNorm(x)·γ + β) and the gradients in x, γ, β, fused or composed; γ, β [C] or [B, 1, 1, C]. */
  async function affineRelu(fused: boolean, shape: [number, number, number, number], perImage: boolean) {
    useWebgpuFusedKernels(fused);
    const n = tf.util.sizeFromShape(shape);
    const [b, , , c] = shape;
    const ps = perImage ? [b, 1, 1, c] : [c];
    const x = tf.tensor4d(
      values(n, 1).map((v, i) => v * (1 + (i % c)) + (i % 3)),
      shape,
    );
    const gamma = tf.tensor(
      values(tf.util.sizeFromShape(ps), 7).map((v) => v + 0.5),
      ps,
    );
    const beta = tf.tensor(
      values(tf.util.sizeFromShape(ps), 8).map((v) => v * 0.5),
      ps,
    );
    const w = tf.tensor4d(values(n, 2), shape);
    const before = tf.memory().numTensors;
    const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(instanceNormAffineRelu(xx as tf.Tensor4D, gg, bb), w));
    const y = instanceNormAffineRelu(x, gamma, beta);
    const [dx, dg, db] = tf.grads(f)([x, gamma, beta]);
    const out = { y: await y.data(), dx: await dx!.data(), dg: await dg!.data(), db: await db!.data(), shapes: [dg!.shape, db!.shape] };
    tf.dispose([y, dx!, dg!, db!]);
    const leaked = tf.memory().numTensors - before;
    tf.dispose([x, gamma, beta, w]);
    useWebgpuFusedKernels(true);
    return { ...out, leaked };
  }

  it.each([
    [[2, 5, 7, 3], false],
    [[2, 5, 7, 3], true],
    [[1, 9, 9, 40], true],
    [[3, 16, 16, 8], false],
  ] as Array<[Shape4, boolean]>)(
    'instance norm + γ, β + relu %j (per image %s): values, gradients',
    async (shape, perImage) => {
      const a = await affineRelu(false, shape, perImage);
      const b = await affineRelu(true, shape, perImage);
      expect(b.shapes).toEqual(a.shapes);
      expect(rel(a.y, b.y)).toBeLessThan(2e-5);
      expect(rel(a.dx, b.dx)).toBeLessThan(1e-4);
      expect(rel(a.dg, b.dg)).toBeLessThan(2e-5);
      expect(rel(a.db, b.db)).toBeLessThan(2e-5);
      expect(b.leaked).toBe(0);
    },
    120_000,
  );

  /** Three Adam steps over nine parameters of odd sizes (more than one split program), fused or composed. */
  async function adam(fused: boolean, weightDecay: number, beta1: number) {
    useWebgpuFusedKernels(fused);
    const r = await adamOnOddShapes({ lr: 0.01, beta1, beta2: 0.99, epsilon: 1e-8, weightDecay }, 3, values);
    expect(r.momentShapes).toEqual(ODD_SHAPES);
    useWebgpuFusedKernels(true);
    return { params: Array.from(r.params), moments: Array.from(r.moments), leaked: r.tensors.at(-1)! - r.before };
  }

  it.each([
    [0, 0.5],
    [1e-4, 0],
  ])(
    'Adam (weight decay %f, β1 %f): parameters and moments after three steps',
    async (weightDecay, beta1) => {
      const a = await adam(false, weightDecay, beta1);
      const b = await adam(true, weightDecay, beta1);
      expect(rel(a.params, b.params)).toBeLessThan(1e-6);
      expect(rel(a.moments, b.moments)).toBeLessThan(1e-6);
      expect(b.leaked).toBe(0);
    },
    120_000,
  );

  it('Adam on webgpu: one dispatch for the update, one per seven parameters for the split', async () => {
    // 1,000+ elements each: smaller tensors may be computed on the CPU by TF.js's webgpu backend
    const params = Array.from({ length: 9 }, (_, i) => ({ key: `p${i}`, variable: tf.variable(tf.ones([1000 + i])) }));
    const opt = new Adam(params, { lr: 0.01, beta1: 0.5, beta2: 0.99, epsilon: 1e-8, weightDecay: 0 });
    const grads = new Map(params.map((p) => [p.key, tf.onesLike(p.variable)] as const));
    const count = (fused: boolean) => {
      useWebgpuFusedKernels(fused);
      const c = new WorkCounter();
      opt.apply(grads);
      useWebgpuFusedKernels(true);
      return c.stop().dispatches!;
    };
    const composed = count(false);
    const fused = count(true);
    // both: two concatenations (gradients, parameters) of nine vectors, three programs each in TF.js (seven inputs,
    // the other two, then both); composed: ~12 elementwise programs and nine slices; fused: one update, two splits
    expect(composed - fused).toBeGreaterThanOrEqual(9 + 12 - 3);
    expect(fused).toBe(2 * 3 + 1 + 2);
    expect(Array.from(await params[8]!.variable.data())[0]).toBeLessThan(1);
    tf.dispose([...grads.values()]);
    opt.dispose();
    params.forEach((p) => p.variable.dispose());
  });

  it.each([
    [[2, 5, 7, 3], [0, 1, 2], false],
    [[2, 5, 7, 40], [1, 2], true],
    [[300, 6], [0], false],
    [[3, 4, 6], [0, 1], true],
  ] as Array<[number[], number[], boolean]>)('Sum of %j over %j (keepDims %s): one program, as exact', async (shape, axes, keepDims) => {
    const x = tf.tensor(values(tf.util.sizeFromShape(shape), 6), shape);
    const sum = async (ours: boolean) => {
      useWebgpuKernelOverrides(ours);
      const c = new WorkCounter();
      const y = tf.sum(x, axes, keepDims);
      const dispatches = c.stop().dispatches!;
      useWebgpuKernelOverrides(true);
      const out = { shape: y.shape, v: await y.data(), dispatches };
      y.dispose();
      return out;
    };
    const a = await sum(false);
    const b = await sum(true);
    expect(b.shape).toEqual(a.shape);
    expect(b.dispatches).toBe(1);
    // against the sums in double: within float32 rounding of Σ|x| for ours and TF.js's alike
    const xs = await x.data();
    const prod = (d: number[]) => d.reduce((p, q) => p * q, 1);
    const [na, nr, nc] = [prod(shape.slice(0, axes[0])), prod(axes.map((d) => shape[d]!)), prod(shape.slice(axes[axes.length - 1]! + 1))];
    for (let i = 0; i < na * nc; i++) {
      const [ai, ci] = [Math.floor(i / nc), i % nc];
      let exact = 0;
      let abs = 0;
      for (let r = 0; r < nr; r++) {
        exact += xs[(ai * nr + r) * nc + ci]!;
        abs += Math.abs(xs[(ai * nr + r) * nc + ci]!);
      }
      expect(Math.abs(b.v[i]! - exact), `ours at ${i}`).toBeLessThanOrEqual(2e-7 * abs);
      expect(Math.abs(a.v[i]! - exact), `TF.js at ${i}`).toBeLessThanOrEqual(2e-7 * abs);
    }
    x.dispose();
  });

  it('one dispatch each: a power iteration, W/σ, its gradient, an instance norm, its gradient', async () => {
    const store = new ParamStore(new Rng(7), 0.8, false);
    const layer = new SNConv(store, 'c', 3, 4, 6, false);
    const x = tf.tensor4d(values(2 * 16 * 16 * 8, 4), [2, 16, 16, 8]);
    const c = new WorkCounter();
    layer.powerIteration();
    expect(c.take().dispatches).toBe(1);
    const w = layer.weight();
    expect(c.take().dispatches).toBe(1);
    const y = instanceNorm(x);
    expect(c.take().dispatches).toBe(1);
    const dy = tf.onesLike(x);
    const sigma = tf.ones([1]);
    c.take();
    const [y2, stats] = tf.engine().runKernel(INSTANCE_NORM, { x }, { eps: 1e-5 }) as unknown as [tf.Tensor, tf.Tensor];
    const dx = tf.engine().runKernel<tf.Tensor>(INSTANCE_NORM_GRAD, { dy, y, rstd: stats }, {});
    const dwn = tf.engine().runKernel<tf.Tensor>(SN_NORMALIZE_GRAD, { dy: w, w: layer.w, u: layer.u, v: layer.v, sigma }, {});
    expect(c.stop().dispatches).toBe(3); // the instance norm again (for its stats), its gradient, W/σ's gradient
    expect(dx.shape).toEqual(x.shape);
    expect(dwn.shape).toEqual(layer.w.shape);
    expect(Array.from(await dx.data()).every(Number.isFinite)).toBe(true);
    tf.dispose([x, w, y, y2, dy, sigma, stats, dx, dwn]);
    store.dispose();
  });
});

describe('a tiny training step on webgpu', () => {
  it('encodes at most 40 % of the dispatches with the fused kernels that it encodes with TF.js ops alone', async () => {
    const config = preset('tiny');
    const n = 2 * config.batchSize + 2;
    const data = { count: n, size: config.imageSize, pixels: values(n * config.imageSize ** 2 * 3, 5).map((v) => v * 0.9) };
    const model = new RedoModel(config, 1, { uninitialised: true });
    const trainer = new RedoTrainer(model, 1);
    const count = (fused: boolean) => {
      useWebgpuFusedKernels(fused);
      useWebgpuKernelOverrides(fused);
      const c = new WorkCounter();
      try {
        disposeLosses(trainer.stepOn(data, { batchSeed: 1 }));
      } finally {
        useWebgpuFusedKernels(true);
        useWebgpuKernelOverrides(true);
      }
      return c.stop().dispatches!;
    };
    // fused first: whatever only the first step does counts against the fused kernels
    const fused = count(true);
    const composed = count(false);
    trainer.dispose();
    model.dispose();
    console.log(`tiny step on webgpu: ${composed} dispatches with TF.js ops, ${fused} with the fused kernels`);
    expect(composed).toBeGreaterThan(5000);
    expect(fused).toBeLessThan(0.4 * composed);
  }, 900_000);
});
