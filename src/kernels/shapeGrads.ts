/**
 * ADD_SAME, CONCAT and AVG_POOL (src/kernels/fusedOps.ts): a backend's own Add, Concat and AvgPool kernels under these
 * names, with gradients that need no saved tensors. TF.js's gradients of these save every input (each a clone, an
 * engine kernel) only to read its shape, and Add's reshapes dy for each input; here the shapes travel as attributes
 * and the sum's gradient is dy itself. Training only: src/kernels/fusedGrads.ts imports this module.
 */
import * as tf from '@tensorflow/tfjs';
import { ADD_SAME, AVG_POOL, AVG_POOL_GRAD, CONCAT } from './fusedOps';

// Registered by name, so that no backend package is loaded here; the backend's own kernel is looked up per call.
for (const backendName of ['cpu', 'wasm', 'webgpu', 'webgl']) {
  for (const [kernelName, own] of [
    [ADD_SAME, tf.Add],
    [CONCAT, tf.Concat],
  ] as const) {
    tf.registerKernel({ kernelName, backendName, kernelFunc: (args) => tf.getKernel(own, backendName).kernelFunc(args) });
  }
}

// wasm only: its AvgPoolGrad (tfjs-backend-wasm's, and the SIMD one of src/kernels/wasmTrainKernels.ts) reads no more of
// `input` than its shape and dtype, so dy's info with the input's shape stands in for it
tf.registerKernel({ kernelName: AVG_POOL, backendName: 'wasm', kernelFunc: (args) => tf.getKernel(tf.AvgPool, 'wasm').kernelFunc(args) });
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
