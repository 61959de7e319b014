import * as tf from '../../src/redo/tf';
import { Adam, type AdamOptions } from '../../src/redo/adam';

/** Nine parameters of odd shapes: lanes and tails for SIMD, more than one split program on webgpu. */
export const ODD_SHAPES = [[3, 3, 2, 5], [5], [7, 11], [1], [300], [2, 2], [4, 1, 1, 3], [9], [17]];

/**
 * `steps` Adam steps over parameters of ODD_SHAPES, parameter i starting at values(size, i) and its gradient at step s
 * values(size, 10·s + i); `apply` runs each step (to count its kernels). Returns the parameters and both moments
 * after, flattened, the moments' shapes, and the tensor count after each step beside the count before the first;
 * disposes the optimizer, its state and the parameters.
 */
export async function adamOnOddShapes(
  options: AdamOptions,
  steps: number,
  values: (n: number, seed: number) => Float32Array,
  apply: (step: () => void) => void = (step) => step(),
) {
  const params = ODD_SHAPES.map((s, i) => ({ key: `p${i}`, variable: tf.variable(tf.tensor(values(tf.util.sizeFromShape(s), i), s)) }));
  const opt = new Adam(params, options);
  const before = tf.memory().numTensors;
  const tensors: number[] = [];
  for (let step = 0; step < steps; step++) {
    const grads = new Map(params.map((p, i) => [p.key, tf.tensor(values(p.variable.size, 10 * step + i), p.variable.shape)] as const));
    apply(() => opt.apply(grads));
    tf.dispose([...grads.values()]);
    tensors.push(tf.memory().numTensors);
  }
  const out = await Promise.all(params.map((p) => p.variable.data()));
  const { m, v } = opt.state();
  const momentShapes = [...m.values()].map((t) => t.shape);
  const moments = await Promise.all([...m.values(), ...v.values()].map((t) => t.data()));
  tf.dispose([...m.values(), ...v.values()]);
  opt.dispose();
  params.forEach((p) => p.variable.dispose());
  const flat = (a: ArrayLike<number>[]) => Float32Array.from(a.flatMap((x) => Array.from(x)));
  return { params: flat(out), moments: flat(moments), momentShapes, tensors, before };
}
