/**
 * Run by tests/wasmKernels.test.ts in a Node started with --experimental-wasm-relaxed-simd (Node 20 validates relaxed
 * SIMD only behind it): the SIMD convolutions with fused multiply-adds against the cpu backend, forward and both
 * gradients. Prints one JSON line: the arithmetic in use, the SIMD calls made and each case's max relative error.
 */
import * as tf from '../../src/redo/tf';
import '../../src/kernels/wasmTrainKernels'; // the gradient kernels (the trainer imports them)
import { simdCalls, simdConvArithmetic, useSimdKernels } from '../../src/kernels/simdKernels';

const values = (shape: number[], seed: number) =>
  Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37 + seed));

async function on(backend: string, xs: number[], ws: number[], s: number, p: 'same' | 'valid' | number) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor(values(xs, 0), xs);
    const w = tf.tensor(values(ws, 1), ws);
    const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), tf.sin(conv(a, b))));
    return [conv(x, w), ...tf.grads(f)([x, w])].map((t) => t.dataSync() as Float32Array);
  });
}

useSimdKernels(true);
const cases: Array<[number[], number[], number, 'same' | 'valid' | number]> = [
  [[2, 9, 11, 16], [3, 3, 16, 24], 1, 1],
  [[2, 8, 8, 5], [3, 3, 5, 12], 1, 1],
  [[2, 10, 10, 20], [3, 3, 20, 3], 1, 1],
  [[2, 9, 9, 8], [3, 3, 8, 8], 2, 1],
];
const errors: number[] = [];
for (const [xs, ws, s, p] of cases) {
  const a = await on('cpu', xs, ws, s, p);
  const b = await on('wasm', xs, ws, s, p);
  let worst = 0;
  a.forEach((o, k) => {
    let err = 0;
    let scale = 0;
    for (let i = 0; i < o.length; i++) {
      err = Math.max(err, Math.abs(o[i]! - b[k]![i]!));
      scale = Math.max(scale, Math.abs(o[i]!));
    }
    worst = Math.max(worst, err / scale);
  });
  errors.push(worst);
}
console.log(JSON.stringify({ arithmetic: simdConvArithmetic(), calls: simdCalls, errors }));
