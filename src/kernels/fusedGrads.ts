/**
 * The gradients of fusedOps' kernels that run as TF.js kernels (the convolutions, the linear map, relu(IN·γ+β)),
 * registered with TF.js as its own ops' are: the engine saves the tensors named here. A custom op (tf.customGrad) would
 * cost an engine kernel more per call, and a reshape or two. Training registers them on import (the trainer, and
 * src/kernels/wasmTrainKernels.ts); the segmenter, which takes no gradients, leaves them out.
 */
import * as tf from '@tensorflow/tfjs';
import { CONV, CONV_GRAD, INSTANCE_NORM_AFFINE_RELU, INSTANCE_NORM_AFFINE_RELU_GRAD, LINEAR, LINEAR_GRAD, SN_CONV } from './fusedOps';
import './fusedTrainOps'; // the gradient kernels these functions run
import './shapeGrads';

const grads = (names: string[], all: tf.Tensor[]): Record<string, () => tf.Tensor> =>
  Object.fromEntries(names.map((n, i) => [n, () => all[i]!]));
const first = (dy: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(dy) ? dy[0]! : dy);
const runConvGrad = (dy: tf.Tensor | tf.Tensor[], inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) =>
  grads(['x', 'w', 'b'], tf.engine().runKernel(CONV_GRAD, { dy: first(dy), ...inputs }, attrs) as unknown as tf.Tensor[]);
const GRADIENTS: tf.GradConfig[] = [
  {
    kernelName: CONV,
    inputsToSave: ['x', 'w'],
    gradFunc: (dy, [x, w], attrs) => runConvGrad(dy, { x: x!, w: w! }, attrs),
  },
  {
    kernelName: SN_CONV,
    inputsToSave: ['x'],
    outputsToSave: [false, true],
    gradFunc: (dy, [x, state], attrs) => runConvGrad(dy, { x: x!, state: state! }, attrs),
  },
  {
    kernelName: LINEAR,
    inputsToSave: ['z', 'w'],
    gradFunc: (dy, [z, w]) =>
      grads(['z', 'w', 'b'], tf.engine().runKernel(LINEAR_GRAD, { dy: first(dy), z: z!, w: w! }, {}) as unknown as tf.Tensor[]),
  },
  {
    kernelName: INSTANCE_NORM_AFFINE_RELU,
    inputsToSave: ['x', 'gamma', 'beta'],
    outputsToSave: [false, true],
    gradFunc: (dy, [x, gamma, beta, stats]) => {
      const inputs = { dy: first(dy), x: x!, stats: stats!, gamma: gamma!, beta: beta! };
      const [dx, dg, db] = tf.engine().runKernel(INSTANCE_NORM_AFFINE_RELU_GRAD, inputs, {}) as unknown as tf.Tensor[];
      // one row of γ, β shared by the batch: the per-image sums [B, C] summed over the batch (γ [C]: no reshape)
      const fits = (t: tf.Tensor) => tf.util.arraysEqual(t.shape, gamma!.shape);
      const fold = (t: tf.Tensor) => {
        if (fits(t)) return t;
        const s = tf.sum(t, 0);
        return fits(s) ? s : tf.reshape(s, gamma!.shape);
      };
      return grads(['x', 'gamma', 'beta'], [dx!, fold(dg!), fold(db!)]);
    },
  },
];
for (const g of GRADIENTS) tf.registerGradient(g);
