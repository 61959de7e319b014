/**
 * Node-only: a trained mask network F applied to a folder of images, from a run archive (`.zip`, the studio's
 * export or the headless trainer's) or a bare weights file (`.safetensors`, the reference's names).
 *
 * - `segmentFolder`: `npm run redo -- segment MODEL IMAGES_DIR --out MASKS_DIR` writes, for every image, a PNG of
 *   the same name (extension .png, sub-folders kept) at the image's own size: 255 where F puts the FIRST region,
 *   0 elsewhere (which region is the object is the scorer's business). The whole image is resized to the model's
 *   S×S (no crop, so every pixel gets a label), F's soft first-region mask is resized back bilinearly and
 *   thresholded at 0.5. Files that are not usable images are skipped with their reason, as the trainer does.
 *   `--soft` writes NAME.safetensors instead: F's soft first-region mask itself, one float32 tensor `mask`
 *   [height, width], before any threshold (what the page segmenter, src/segmenter, returns).
 * - `scoreFolder`: F's masks on a held-out folder with ground truth (`images/` + `masks/`, as written by
 *   `npm run data:objects`), scored exactly as the authors' `ref_train.py` scores (src/redo/metrics.ts
 *   `objectScore`): one object/background assignment for the whole set.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encode } from 'fast-png';
import * as tf from '../redo/tf';
import { imageSlice, type ImageSet } from '../redo/batches';
import { predictMasks } from '../run/evaluate';
import { inferConfigFromWeights, RedoModel, Segmenter, type NamedTensorData, type RedoConfig } from '../redo';
import { maskAtSize, modelInput } from '../datagen/segmentIO';
import { objectScore, type ObjectScore } from '../redo/metrics';
import { parseConfig, readRunArchive } from '../formats/runArchive';
import { decodeFile, listFiles, readImageFolder, type Skipped } from './imageFolder';
import { DecodeRefusal } from '../data/decode';
import { decodeSafetensors, encodeSafetensors } from '../formats/safetensors';
import { drawPixels, GAP, Grid, rgbaToPng } from '../formats/images';

export interface LoadedModel {
  config: RedoConfig;
  weights: ReadonlyMap<string, NamedTensorData>;
  /** 'archive': a run archive (its step and seed known); 'weights': a bare safetensors file. */
  kind: 'archive' | 'weights';
  step?: number;
  seed?: number;
  /** An archive's F: 'last' (the latest state) or 'best' (best-F.safetensors, the best held-out IoU). */
  which?: 'best' | 'last';
  /** The held-out IoU the archive recorded for its best F. */
  iou?: number;
}

/**
 * Reads a run archive or a safetensors weights file. `size` is needed only for a weights file holding F alone.
 * `which` picks an archive's F: 'last' (default) or 'best' (the F with the best held-out IoU the run saw).
 */
export async function loadModelFile(path: string, size?: RedoConfig['imageSize'], which: 'best' | 'last' = 'last'): Promise<LoadedModel> {
  const bytes = new Uint8Array(await readFile(path));
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b) {
    const { state, best } = await readRunArchive(bytes);
    if (which === 'best') {
      if (!best)
        throw new Error(
          `${path} keeps no best F (a run keeps one only when it is scored on held-out masks: --masks or --eval-data); use --which last`,
        );
      return { config: state.config, weights: best.weights, kind: 'archive', step: best.iteration, seed: state.seed, which, iou: best.iou };
    }
    return { config: state.config, weights: state.weights, kind: 'archive', step: state.iteration, seed: state.seed, which };
  }
  if (which === 'best') throw new Error(`${path} is a weights file, which holds one F: --which best is for a run archive`);
  if (/\.pth?$/i.test(path))
    throw new Error(`${path} is a PyTorch checkpoint: convert it first (python3 scripts/convert_pth.py ${path} -o weights.safetensors)`);
  const { tensors, metadata } = decodeSafetensors(bytes);
  // The file's own configuration when it records one (the studio's exports, maskNetworkFile), else the shapes'.
  const config = metadata.config ? parseConfig(JSON.parse(metadata.config) as unknown) : inferConfigFromWeights(tensors, size);
  const num = (v: string | undefined) => (v !== undefined && Number.isFinite(Number(v)) ? Number(v) : undefined);
  const [step, seed] = [num(metadata.step), num(metadata.seed)];
  return { config, weights: tensors, kind: 'weights', ...(step !== undefined ? { step } : {}), ...(seed !== undefined ? { seed } : {}) };
}

/** F alone as a safetensors file (moved to src/formats, where the studio's export can use it too). */
export { maskNetworkFile } from '../formats/maskWeights';

/** Soft first-region masks [N, S, S] of the first `count` images (run/evaluate.ts predictMasks: batches, one readback each). */
function firstRegion(masksOf: (x: tf.Tensor4D) => tf.Tensor4D, n: number, images: ImageSet, count = images.count): Promise<Float32Array> {
  const S = images.size;
  const first = count === images.count ? images : { count, size: S, pixels: images.pixels.subarray(0, count * S * S * 3) };
  // n = 2: m0 itself; n > 2: 1 where region 0 is the argmax, so 0.5 thresholds both the same way.
  const region0 = (x: tf.Tensor4D): tf.Tensor4D => {
    const masks = masksOf(x);
    const k = x.shape[0];
    return n === 2 ? tf.slice(masks, [0, 0, 0, 0], [k, S, S, 1]) : tf.cast(tf.equal(tf.argMax(masks, 3), 0), 'float32').expandDims(3);
  };
  return predictMasks(region0, first, 32);
}

export interface SegmentFolderResult {
  written: string[];
  skipped: Skipped[];
}

/** Writes one mask PNG per usable image of `imagesDir` into `outDir` (see the header). */
export async function segmentFolder(
  model: LoadedModel,
  imagesDir: string,
  outDir: string,
  onProgress?: (done: number, total: number) => void,
  options: { soft?: boolean } = {},
): Promise<SegmentFolderResult> {
  const S = model.config.imageSize;
  const seg = new Segmenter(model.config, model.weights);
  const files = await listFiles(imagesDir);
  const written: string[] = [];
  const skipped: Skipped[] = [];
  try {
    for (const [i, f] of files.entries()) {
      try {
        const p = await decodeFile(f, new Uint8Array(await readFile(join(imagesDir, f))));
        const small = modelInput(p.data, p.width, p.height, p.channels, S);
        const stem = f.replace(/\.[^./]+$/, '');
        let name: string, bytes: Uint8Array;
        if (options.soft) {
          const soft = maskAtSize(await seg.regionMask(small), S, p.width, p.height);
          [name, bytes] = [`${stem}.safetensors`, encodeSafetensors(new Map([['mask', { shape: [p.height, p.width], data: soft }]]))];
        } else {
          const m = await firstRegion((x) => seg.segment(x), model.config.nRegions, { count: 1, size: S, pixels: small });
          const big = maskAtSize(m, S, p.width, p.height);
          const png = new Uint8Array(p.width * p.height);
          for (let q = 0; q < png.length; q++) png[q] = big[q]! >= 0.5 ? 255 : 0;
          [name, bytes] = [`${stem}.png`, encode({ width: p.width, height: p.height, data: png, channels: 1, depth: 8 })];
        }
        await mkdir(dirname(join(outDir, name)), { recursive: true });
        await writeFile(join(outDir, name), bytes);
        written.push(name);
      } catch (e) {
        skipped.push({
          name: f,
          reason: e instanceof DecodeRefusal ? e.message : `could not read (${e instanceof Error ? e.message : String(e)})`,
        });
      }
      onProgress?.(i + 1, files.length);
    }
  } finally {
    seg.dispose();
  }
  return { written, skipped };
}

export interface FolderScore {
  count: number;
  trained: ObjectScore;
  /** The untrained model of the same configuration and seed (archives, and weights files that record their seed). */
  untrained?: ObjectScore;
}

/** Scores F on DIR/images against DIR/masks (centre-cropped to the model's size, as training images are). */
export async function scoreFolder(model: LoadedModel, dir: string): Promise<FolderScore> {
  const S = model.config.imageSize;
  const set = await readImageFolder(join(dir, 'images'), S, { masksDir: join(dir, 'masks') });
  if (!set.masks) throw new Error(`${dir}: every image needs a mask in ${join(dir, 'masks')} to be scored`);
  const truth = set.masks;
  const { count } = set.images;
  const seg = new Segmenter(model.config, model.weights);
  let trained: ObjectScore;
  try {
    trained = objectScore(await firstRegion((x) => seg.segment(x), model.config.nRegions, set.images), truth, S * S);
  } finally {
    seg.dispose();
  }
  if (model.seed === undefined) return { count, trained };
  const fresh = new RedoModel(model.config, model.seed);
  try {
    const masks = await firstRegion((x) => fresh.masks(x), model.config.nRegions, set.images);
    return { count, trained, untrained: objectScore(masks, truth, S * S) };
  } finally {
    fresh.dispose();
  }
}

/**
 * A picture of F at work on the first `count` images of DIR/images: a column per image, rows input, ground truth
 * (when DIR/masks exists), F's object mask (thresholded at 0.5) and the cut-out (the object on a light checker),
 * each pixel drawn `scale`×`scale`, white gaps (a Grid of src/formats/images.ts). The object is the region the
 * scorer's one assignment picks (region 0 without ground truth). Returns the PNG (RGB).
 */
export async function maskFigure(model: LoadedModel, dir: string, count = 8, scale = 3): Promise<Uint8Array> {
  const S = model.config.imageSize;
  const withTruth = existsSync(join(dir, 'masks'));
  const set = await readImageFolder(join(dir, 'images'), S, withTruth ? { masksDir: join(dir, 'masks') } : {});
  const n = Math.min(count, set.images.count);
  if (n === 0) throw new Error(`${join(dir, 'images')}: no images`);
  const pixels = imageSlice(set.images, 0, n);
  const seg = new Segmenter(model.config, model.weights);
  let first: Float32Array;
  try {
    first = await firstRegion((x) => seg.segment(x), model.config.nRegions, set.images, n);
  } finally {
    seg.dispose();
  }
  const truth = set.masks?.subarray(0, n * S * S);
  const region = truth ? objectScore(first, truth, S * S).region : 0;
  const isObject = (i: number, q: number) => first[i * S * S + q]! >= 0.5 === (region === 0);
  const rows: Array<(i: number, q: number) => [number, number, number]> = [
    (i, q) => {
      const o = (i * S * S + q) * 3;
      return [0, 1, 2].map((c) => Math.round((pixels[o + c]! + 1) * 127.5)) as [number, number, number];
    },
    ...(truth ? [(i: number, q: number): [number, number, number] => (truth[i * S * S + q]! >= 0.5 ? [255, 255, 255] : [0, 0, 0])] : []),
    (i, q) => (isObject(i, q) ? [255, 255, 255] : [0, 0, 0]),
    (i, q) => {
      if (isObject(i, q)) return rows[0]!(i, q);
      const light = (((q % S) >> 2) + (Math.floor(q / S) >> 2)) % 2 === 0 ? 236 : 212;
      return [light, light, light];
    },
  ];
  const g = new Grid(rows.length, n, S * scale, GAP, 255);
  rows.forEach((row, r) => {
    for (let i = 0; i < n; i++) drawPixels(g, r, i, S, (q) => row(i, q), scale);
  });
  return rgbaToPng(g.image(), false);
}

export function formatObjectScore(s: ObjectScore): string {
  return (
    `IoU ${s.iou.toFixed(3)} acc ${s.accuracy.toFixed(3)} (object = region ${s.region}; ` +
    `per image: IoU ${s.iouPerImage.toFixed(3)} acc ${s.accuracyPerImage.toFixed(3)})`
  );
}
