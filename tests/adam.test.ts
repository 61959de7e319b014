/**
 * Adam against torch.optim.Adam's update rule, written out in float64 (coupled weight decay, bias corrections); on
 * wasm, the fused update, flattening and split (src/kernels/fusedOps.ts) against the composed TF.js ops, bit for bit.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { Adam, type AdamOptions } from '../src/redo/adam';
import { simdCalls, useSimdKernels } from '../src/kernels/simdKernels';
import { FUSED, useFastWasmKernels } from '../src/kernels/wasmKernels';
import { concatFlat, splitFlat } from '../src/kernels/fusedOps';
import { WorkCounter } from '../src/worker/dispatchCounter';
import { adamOnOddShapes, ODD_SHAPES } from './helpers/adamRuns';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

afterAll(() => useFastWasmKernels(true, [FUSED]));

function torchAdam(
  p: number[],
  grads: number[][],
  o: { lr: number; beta1: number; beta2: number; epsilon: number; weightDecay: number },
): number[] {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g0, step) => {
    const t = step + 1;
    for (let i = 0; i < p.length; i++) {
      const g = g0[i]! + o.weightDecay * p[i]!;
      m[i] = o.beta1 * m[i]! + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i]! + (1 - o.beta2) * g * g;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - o.beta2 ** t) + o.epsilon;
      p[i] = p[i]! - (o.lr / (1 - o.beta1 ** t)) * (m[i]! / denom);
    }
  });
  return p;
}

for (const options of [
  { lr: 1e-4, beta1: 0, beta2: 0.9, epsilon: 1e-8, weightDecay: 0 }, // G, D, δ
  { lr: 1e-5, beta1: 0, beta2: 0.9, epsilon: 1e-8, weightDecay: 1e-4 }, // F
  { lr: 1e-2, beta1: 0.5, beta2: 0.99, epsilon: 1e-8, weightDecay: 1e-2 }, // β1 ≠ 0 path
]) {
  it(`matches torch.optim.Adam over 4 steps and several parameters (${JSON.stringify(options)})`, async () => {
    const a = tf.variable(
      tf.tensor2d([
        [0.5, -1.5],
        [2, 0.25],
      ]),
    );
    const b = tf.variable(tf.tensor1d([3, -0.75, 0.1]));
    const adam = new Adam(
      [
        { key: 'a', variable: a },
        { key: 'b', variable: b },
      ],
      options,
    );
    const grads = [
      [0.1, -0.2, 0.3, 0.05, 1, -2, 0.5],
      [-0.3, 0.1, 0.2, 0.5, 0.25, 0, -1],
      [0.2, 0.2, -0.1, 0.05, -1, 1, 0.5],
      [0.01, -0.02, 0.03, -0.04, 0.1, 0.2, -0.3],
    ];
    for (const g of grads) {
      const ga = tf.tensor2d(g.slice(0, 4), [2, 2]);
      const gb = tf.tensor1d(g.slice(4));
      adam.apply(
        new Map<string, tf.Tensor>([
          ['a', ga],
          ['b', gb],
        ]),
      );
      tf.dispose([ga, gb]);
    }
    const expected = torchAdam([0.5, -1.5, 2, 0.25, 3, -0.75, 0.1], grads, options);
    const got = [...(await a.data()), ...(await b.data())];
    got.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 6));
    expect(adam.stepCount).toBe(4);
    const state = adam.state();
    expect(state.m.get('a')!.shape).toEqual([2, 2]);
    tf.dispose([...state.m.values(), ...state.v.values()]);
    adam.dispose();
    tf.dispose([a, b]);
  });
}

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * (1 + (i % 5)));

/** Five steps over parameters of odd shapes, with or without the fused kernels: parameters, moments, kernels, tensors. */
async function run(fused: boolean, options: AdamOptions, simd = false) {
  useFastWasmKernels(fused, [FUSED]);
  useSimdKernels(simd);
  let kernels = 0;
  const r = await adamOnOddShapes(options, 5, values, (step) => {
    const c = new WorkCounter();
    step();
    kernels = c.stop().kernels;
  });
  expect(r.momentShapes).toEqual(ODD_SHAPES);
  useFastWasmKernels(true, [FUSED]);
  useSimdKernels(false);
  return { ...r, kernels };
}

for (const [weightDecay, beta1] of [
  [0, 0],
  [1e-4, 0],
  [0, 0.5],
  [1e-2, 0.9],
] as Array<[number, number]>) {
  it(`wasm: the fused Adam step equals the composed ops bit for bit (weight decay ${weightDecay}, β1 ${beta1})`, async () => {
    const options = { lr: 1e-2, beta1, beta2: 0.99, epsilon: 1e-8, weightDecay };
    const a = await run(false, options);
    const b = await run(true, options);
    expect(b.params).toEqual(a.params);
    expect(b.moments).toEqual(a.moments);
    // and with the update in WebAssembly SIMD (src/kernels/simd/optim.ts; 515 values: lanes and a tail)
    const before = simdCalls.fused;
    const c = await run(true, options, true);
    expect(simdCalls.fused - before).toBe(5);
    expect(c.params).toEqual(a.params);
    expect(c.moments).toEqual(a.moments);
    // flatten the gradients, flatten the parameters, update, split: one kernel each
    expect(b.kernels).toBe(4);
    expect(a.kernels).toBeGreaterThan(3 * 9);
    expect(new Set(b.tensors).size).toBe(1);
  });
}

it('wasm: concatFlat and splitFlat are exact copies, in order and in shape; splitFlat checks the sizes', async () => {
  const xs = [tf.tensor(values(6, 1), [2, 3]), tf.scalar(7), tf.tensor(values(0, 2), [0, 4]), tf.tensor(values(4, 3), [1, 4])];
  const flat = concatFlat(xs)!;
  expect(flat.shape).toEqual([11]);
  expect(await flat.data()).toEqual(Float32Array.from([...values(6, 1), 7, ...values(4, 3)]));
  const pieces = splitFlat(flat, [[2, 3], [], [0, 4], [1, 4]])!;
  expect(pieces.map((t) => t.shape)).toEqual(xs.map((t) => t.shape));
  for (let i = 0; i < xs.length; i++) expect(await pieces[i]!.data()).toEqual(await xs[i]!.data());
  expect(() => splitFlat(flat, [[2, 3], [4]])).toThrow(/pieces of 10 elements from 11/);
  tf.dispose([...xs, flat, ...pieces]);
});
