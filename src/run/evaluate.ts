/**
 * The one evaluation of a run's masks against ground truth (the studio's accuracy / IoU, the headless trainer's
 * held-out scores, the quality benchmark): F's masks scored with src/redo/metrics.ts against one-hot truth.
 *
 * Three readings per evaluation:
 * - `perDataset`: ONE region-to-class assignment for the whole held-out set (stricter), accuracy and IoU of
 *   every ground-truth region;
 * - `perImage`: each image its own best assignment (the reference code's choice);
 * - `object`: object vs background (every non-background ground-truth region merged into "object"), per image,
 *   which is what a run records in its history (`accuracy`, `iou` columns of losses.csv) in the studio and in the
 *   headless trainer alike.
 */
import * as tf from '../redo/tf';
import { imageSlice, subsetImages, subsetPlanes, type ImageSet, type Planes } from '../redo/batches';
import { objectScore, scoreSegmentation, type ObjectScore, type SegmentationScore } from '../redo/metrics';

export interface EvalSet {
  images: ImageSet;
  /** One-hot ground truth [N, S, S, r]; the LAST region is the background. */
  truth: Float32Array;
  regions: number;
  /** A name per ground-truth region, for logs (e.g. even digit, odd digit, background). */
  regionNames: string[];
}

export interface EvalResult {
  perDataset: SegmentationScore;
  perImage: SegmentationScore;
  object: { accuracy: number; iou: number };
  /**
   * Two regions against object / background ground truth: the authors' ref_train.py score (ONE assignment for the
   * whole set, chosen by IoU; src/redo/metrics.ts objectScore), the number the recipe and its proof are judged by.
   */
  reference?: ObjectScore;
}

/** Binary object masks [N, S, S] (bytes or float32, 0 / 1) → one-hot [N, S, S, 2] as (object, background). */
export function objectOneHot(objectMasks: Planes): Float32Array {
  const out = new Float32Array(objectMasks.length * 2);
  for (let p = 0; p < objectMasks.length; p++) {
    const o = objectMasks[p]! > 0.5 ? 1 : 0;
    out[2 * p] = o;
    out[2 * p + 1] = 1 - o;
  }
  return out;
}

/** Images with binary object masks [N, S, S] as an object / background evaluation set (those at `indices`, or all). */
export function objectEvalSet(images: ImageSet, objectMasks: Planes, indices?: number[]): EvalSet {
  const plane = images.size * images.size;
  return {
    images: indices ? subsetImages(images, indices) : images,
    truth: objectOneHot(indices ? subsetPlanes(objectMasks, plane, indices) : objectMasks),
    regions: 2,
    regionNames: ['object', 'background'],
  };
}

/** One-hot [P, r] with the background last → one-hot [P, 2] (object = any other region, background). */
export function mergeToObject(truth: Float32Array, regions: number): Float32Array {
  if (regions === 2) return truth;
  const pixels = truth.length / regions;
  const out = new Float32Array(pixels * 2);
  for (let p = 0; p < pixels; p++) {
    const bg = truth[p * regions + regions - 1]! > 0.5 ? 1 : 0;
    out[2 * p] = 1 - bg;
    out[2 * p + 1] = bg;
  }
  return out;
}

/** Scores predicted soft masks [N, S, S, n] against the set's ground truth (pure). */
export function scoreMasks(pred: Float32Array, set: EvalSet, n: number): EvalResult {
  const { count: B, size: S } = set.images;
  const dims = { B, H: S, W: S, n, r: set.regions };
  const perDataset = scoreSegmentation(pred, set.truth, dims, 'per-dataset');
  const perImage = scoreSegmentation(pred, set.truth, dims, 'per-image');
  const obj = set.regions === 2 ? perImage : scoreSegmentation(pred, mergeToObject(set.truth, set.regions), { ...dims, r: 2 }, 'per-image');
  const result: EvalResult = { perDataset, perImage, object: { accuracy: obj.accuracy, iou: obj.iou[0]! } };
  if (n === 2 && set.regions === 2) {
    const pixels = B * S * S;
    const first = new Float32Array(pixels);
    const truth = new Float32Array(pixels);
    for (let p = 0; p < pixels; p++) {
      first[p] = pred[2 * p]!;
      truth[p] = set.truth[2 * p]!;
    }
    result.reference = objectScore(first, truth, S * S);
  }
  return result;
}

/** F's soft masks for every image of the set, in batches of `batch`, one readback per batch. */
export async function predictMasks(masksOf: (x: tf.Tensor4D) => tf.Tensor4D, images: ImageSet, batch = 16): Promise<Float32Array> {
  const { count, size } = images;
  const parts: Float32Array[] = [];
  for (let i = 0; i < count; i += batch) {
    const k = Math.min(batch, count - i);
    const m = tf.tidy(() => masksOf(tf.tensor4d(imageSlice(images, i, k), [k, size, size, 3])));
    try {
      parts.push((await m.data()) as Float32Array);
    } finally {
      m.dispose();
    }
  }
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export async function evaluate(masksOf: (x: tf.Tensor4D) => tf.Tensor4D, set: EvalSet, n: number): Promise<EvalResult> {
  return scoreMasks(await predictMasks(masksOf, set.images), set, n);
}

/** `acc 0.953 IoU [even 0.91 odd 0.88 background 0.97] per-image acc 0.96 IoU [...] object IoU 0.93` */
export function formatEval(r: EvalResult, names: string[]): string {
  const ious = (s: SegmentationScore) => s.iou.map((v, i) => `${names[i] ?? `r${i}`} ${v.toFixed(3)}`).join(' ');
  const ref = r.reference
    ? ` | held-out IoU ${r.reference.iou.toFixed(3)} acc ${r.reference.accuracy.toFixed(3)} (one assignment, as ref_train.py)`
    : '';
  return (
    `per-dataset acc ${r.perDataset.accuracy.toFixed(3)} IoU [${ious(r.perDataset)}] | per-image acc ${r.perImage.accuracy.toFixed(3)} ` +
    `IoU [${ious(r.perImage)}] | object IoU ${r.object.iou.toFixed(3)}${ref}`
  );
}
