/**
 * Node-only: the headless trainer's dataset, from `--dataset <folder|c2mnist>`: the training images, the held-out
 * evaluation set (when there is ground truth), and the dataset summary that goes into the run's manifest.
 *
 * Folder with masks: `evalCount` images (default min(10 %, 256)), spread evenly over the folder's natural
 * order, are held out of training and scored; the others train. A folder of fewer than 2 images is scored on
 * its training images (said in a warning).
 */
import { basename, join, resolve } from 'node:path';
import { spreadIndices, subsetImages, subsetPlanes, type ImageSet, type Planes } from '../redo/batches';
import type { RunManifest } from '../formats/runArchive';
import { objectEvalSet, type EvalSet } from '../run/evaluate';
import { c2mnistData } from './c2mnist';
import { readImageFolder, type Skipped } from './imageFolder';

export interface TrainingData {
  train: ImageSet;
  trainObject?: Planes;
  evalSet: EvalSet | null;
  info: RunManifest['dataset'];
  skipped: Skipped[];
  warnings: Skipped[];
}

export async function loadTrainingData(a: {
  dataset: string;
  masks?: string;
  size: number;
  nRegions: number;
  count: number;
  evalCount?: number;
  /** A held-out folder (images/ + masks/) scored instead of images taken out of `dataset`. */
  evalData?: string;
  onProgress?: (done: number, total: number) => void;
}): Promise<TrainingData> {
  if (a.dataset === 'c2mnist') {
    const regions = a.nRegions >= 3 ? 3 : 2;
    const d = c2mnistData({ size: a.size, count: a.count, evalCount: a.evalCount ?? 256, regions });
    const warnings: Skipped[] = [];
    if (a.nRegions > 3)
      warnings.push({
        name: 'c2mnist',
        reason: `the model has ${a.nRegions} regions for 3 ground-truth regions: unmatched regions count as wrong`,
      });
    return {
      train: d.train,
      trainObject: d.trainObject,
      evalSet: d.eval,
      info: { name: d.name, count: d.train.count, size: a.size },
      skipped: [],
      warnings,
    };
  }
  const dir = resolve(a.dataset);
  const f = await readImageFolder(dir, a.size, {
    ...(a.masks ? { masksDir: resolve(a.masks) } : {}),
    ...(a.onProgress ? { onProgress: a.onProgress } : {}),
  });
  const warnings = [...f.warnings];
  const info = { name: basename(dir), count: f.images.count, size: a.size };
  const plane = a.size * a.size;
  if (a.evalData) {
    const e = await readImageFolder(join(resolve(a.evalData), 'images'), a.size, { masksDir: join(resolve(a.evalData), 'masks') });
    if (!e.masks) throw new Error(`--eval-data ${a.evalData}: every image of images/ needs a mask in masks/`);
    for (const s of e.skipped) warnings.push({ name: `${a.evalData}/${s.name}`, reason: s.reason });
    const evalSet = objectEvalSet(e.images, e.masks);
    return { train: f.images, ...(f.masks ? { trainObject: f.masks } : {}), evalSet, info, skipped: f.skipped, warnings };
  }
  if (!f.masks) return { train: f.images, evalSet: null, info, skipped: f.skipped, warnings };
  const n = f.images.count;
  const want = a.evalCount ?? Math.min(256, Math.max(1, Math.round(n * 0.1)));
  if (want === 0) return { train: f.images, trainObject: f.masks, evalSet: null, info, skipped: f.skipped, warnings };
  let trainIdx: number[];
  let evalIdx: number[];
  if (n < 2) {
    warnings.push({ name: '(evaluation)', reason: 'fewer than 2 images: accuracy and IoU are measured on the training image itself' });
    trainIdx = [0];
    evalIdx = [0];
  } else {
    evalIdx = spreadIndices(n, Math.min(want, n - 1));
    const held = new Set(evalIdx);
    trainIdx = Array.from({ length: n }, (_, i) => i).filter((i) => !held.has(i));
  }
  const evalSet = objectEvalSet(f.images, f.masks, evalIdx);
  const train = subsetImages(f.images, trainIdx);
  return {
    train,
    trainObject: subsetPlanes(f.masks, plane, trainIdx),
    evalSet,
    info: { ...info, count: train.count },
    skipped: f.skipped,
    warnings,
  };
}
