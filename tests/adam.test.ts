/** Adam against torch.optim.Adam's update rule, written out in float64 (coupled weight decay, bias corrections). */
import { beforeAll, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { Adam } from '../src/redo/adam';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

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
