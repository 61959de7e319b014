/**
 * Adam's update of a flat vector, and the flatten and split around it (src/redo/adam.ts), as fused wasm kernels. Apart
 * from src/kernels/fusedOps.ts so that what only trains stays out of the segmenter's bundle (src/segmenter, 50 KB
 * budget): src/redo/adam.ts adds them to the wasm kernels (toggled with FUSED) when it makes an optimizer.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_UPDATE, CONCAT_FLAT, SPLIT_FLAT, type Compute, type FusedKernel } from './fusedOps';
import { addWasmFusedKernels } from './wasmKernels';

/**
 * One Adam step, each operation rounded to float32 as the composed TF.js ops of src/redo/adam.ts are (scalars
 * rounded to float32 as tf.mul / tf.add make them), so the results are theirs bit for bit.
 */
/** The step's scalars, rounded to float32 as tf.mul / tf.add round them (src/kernels/simd/optim.ts takes them too). */
export function adamScalars({ lr, beta1, beta2, epsilon, weightDecay, bc1, bc2 }: Record<string, number>) {
  const f = Math.fround;
  return {
    wd: f(weightDecay!),
    b1: f(beta1!),
    c1: f(1 - beta1!),
    b2: f(beta2!),
    c2: f(1 - beta2!),
    rbc2: f(1 / Math.sqrt(bc2!)),
    eps: f(epsilon!),
    rate: f(lr! / bc1!),
    decay: weightDecay! > 0,
    momentum: beta1 !== 0,
  };
}

const adamUpdate: Compute = ([g0, p, m, v], [po, mo, vo], shapes, attrs) => {
  const f = Math.fround;
  const { wd, b1, c1, b2, c2, rbc2, eps, rate, decay, momentum } = adamScalars(attrs);
  for (let i = 0; i < g0!.length; i++) {
    const g = decay ? f(g0![i]! + f(p![i]! * wd)) : g0![i]!;
    const m1 = momentum ? f(f(m![i]! * b1) + f(g * c1)) : g;
    const v1 = f(f(v![i]! * b2) + f(f(g * g) * c2));
    const denom = f(f(f(Math.sqrt(v1)) * rbc2) + eps);
    po![i] = p![i]! - f(f(m1 / denom) * rate);
    mo![i] = m1;
    vo![i] = v1;
  }
  void shapes;
};

/** Consecutive pieces: the inputs into one vector, or one vector into the outputs. */
const concatPieces: Compute = (ins, [out]) => {
  let at = 0;
  for (const x of ins) {
    out!.set(x, at);
    at += x.length;
  }
};
const splitPieces: Compute = ([x], outs) => {
  let at = 0;
  for (const o of outs) {
    o.set(x!.subarray(at, at + o.length));
    at += o.length;
  }
};

/** Split's output shapes: attrs.shapes, else 1-D pieces of attrs.sizes; they must cover the input. */
function splitShapes([x]: number[][], attrs: tf.NamedAttrMap): number[][] {
  const { sizes, shapes } = attrs as unknown as { sizes: number[]; shapes?: number[][] };
  const out = shapes ?? sizes.map((n) => [n]);
  const total = out.reduce((a, s) => a + tf.util.sizeFromShape(s), 0);
  if (total !== tf.util.sizeFromShape(x!)) throw new Error(`${SPLIT_FLAT}: pieces of ${total} elements from ${tf.util.sizeFromShape(x!)}`);
  return out;
}

const ADAM_KERNELS: FusedKernel[] = [
  { name: ADAM_UPDATE, inputs: ['g', 'p', 'm', 'v'], outShapes: ([g]) => [g!, g!, g!], compute: adamUpdate },
  { name: CONCAT_FLAT, outShapes: (shapes) => [[shapes.reduce((a, s) => a + tf.util.sizeFromShape(s), 0)]], compute: concatPieces },
  { name: SPLIT_FLAT, inputs: ['x'], outShapes: splitShapes, compute: splitPieces },
];

let added = false;

/** Adds these kernels to the wasm backend's fused ones, once (src/redo/adam.ts calls it before its first step). */
export function useFusedAdam(): void {
  if (added) return;
  added = true;
  addWasmFusedKernels(ADAM_KERNELS);
}
