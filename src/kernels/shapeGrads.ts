/**
 * ADD_SAME and CONCAT (src/kernels/fusedOps.ts): every backend's own Add and Concat kernels under these names, with
 * gradients that need no saved tensors. TF.js's gradients of Add and Concat save every input (each a clone, an engine
 * kernel) only to read its shape, and Add's reshapes dy for each input; here Concat's split sizes travel as an
 * attribute and the sum's gradient is dy itself. Training only: src/kernels/fusedGrads.ts imports this module.
 */
import * as tf from '@tensorflow/tfjs';
import { ADD_SAME, CONCAT } from './fusedOps';

// Registered by name, so that no backend package is loaded here; the backend's own kernel is looked up per call.
for (const backendName of ['cpu', 'wasm', 'webgpu', 'webgl']) {
  for (const [kernelName, own] of [
    [ADD_SAME, tf.Add],
    [CONCAT, tf.Concat],
  ] as const) {
    tf.registerKernel({ kernelName, backendName, kernelFunc: (args) => tf.getKernel(own, backendName).kernelFunc(args) });
  }
}

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
