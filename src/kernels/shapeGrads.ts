/**
 * ADD_SAME, CONCAT, AVG_POOL and SOFTMAX (src/kernels/fusedOps.ts): a backend's own Add, Concat, AvgPool and Softmax
 * kernels under these names, with cheaper gradients. TF.js's gradients of the first three save every input (each a
 * clone, an engine kernel) only to read its shape, and Add's reshapes dy for each input; here the shapes travel as
 * attributes and the sum's gradient is dy itself. Softmax's takes four kernels (two products, a sum, and a difference
 * on wasm's slow broadcasting path); here one (SOFTMAX_GRAD, src/kernels/fusedTrainOps.ts). Training only:
 * src/kernels/fusedGrads.ts imports this module.
 */
import * as tf from '@tensorflow/tfjs';
import { ADD_SAME, AVG_POOL, AVG_POOL_GRAD, CONCAT, SOFTMAX, SOFTMAX_GRAD } from './fusedOps';

/** `name` runs the backend's own kernel `own`, looked up per call (by name: no backend package is loaded here). */
function alias(name: string, own: string, backends: readonly string[]): void {
  for (const backendName of backends) {
    tf.registerKernel({ kernelName: name, backendName, kernelFunc: (args) => tf.getKernel(own, backendName).kernelFunc(args) });
  }
}

alias(ADD_SAME, tf.Add, ['cpu', 'wasm', 'webgpu', 'webgl']);
alias(CONCAT, tf.Concat, ['cpu', 'wasm', 'webgpu', 'webgl']);
// wasm only, as their gradient kernels: its AvgPoolGrad (tfjs-backend-wasm's, and the SIMD one of
// src/kernels/wasmTrainKernels.ts) reads no more of `input` than its shape and dtype, so dy's info with the input's
// shape stands in for it
alias(AVG_POOL, tf.AvgPool, ['wasm']);
alias(SOFTMAX, tf.Softmax, ['wasm']);
tf.registerKernel({
  kernelName: AVG_POOL_GRAD,
  backendName: 'wasm',
  kernelFunc: ({ inputs: { dy }, backend, attrs }) => {
    const input = { ...dy!, shape: (attrs as unknown as { inShape: number[] }).inShape };
    return tf.getKernel(tf.AvgPoolGrad, 'wasm').kernelFunc({ inputs: { dy: dy!, input }, backend, attrs });
  },
});

tf.registerGradient({
  kernelName: AVG_POOL,
  gradFunc: (dy, _, attrs) => ({ x: () => tf.engine().runKernel(AVG_POOL_GRAD, { dy: dy as tf.Tensor }, attrs) }),
});

tf.registerGradient({
  kernelName: ADD_SAME,
  // dy itself for a (the tape only reads it, and disposes it once summed into another gradient, after its own node),
  // a clone for b, so that no tensor is the gradient of two inputs
  gradFunc: (dy) => ({ a: () => dy as tf.Tensor, b: () => (dy as tf.Tensor).clone() }),
});

tf.registerGradient({
  kernelName: CONCAT,
  gradFunc: (dy, _, attrs) => {
    const { axis, sizes } = attrs as unknown as { axis: number; sizes: number[] };
    return Object.fromEntries(tf.split(dy as tf.Tensor, sizes, axis).map((t, i) => [i, () => t]));
  },
});

tf.registerGradient({
  kernelName: SOFTMAX,
  outputsToSave: [true],
  gradFunc: (dy, [y]) => ({ logits: () => tf.engine().runKernel(SOFTMAX_GRAD, { dy: dy as tf.Tensor, y: y! }, {}) }),
});
