/**
 * Segmentation scores (spec, "Evaluation"): pixel accuracy and IoU against ground truth, with the unordered
 * regions matched to the ground truth by the best permutation. Pure (typed arrays in, numbers out), so it runs
 * anywhere, tensors or not.
 *
 * Inputs, NHWC, flattened:
 * - `pred` [B, H, W, n]: predicted soft masks over n regions (summing to 1 per pixel);
 * - `gt`   [B, H, W, r]: ground truth, one-hot over r regions.
 *
 * Binarisation: each pixel goes to its argmax region (ties to the lower index). For n = 2 (m1 = 1 − m0) that is
 * the spec's "binarise at 0.5": m0 > 0.5 ⇒ region 0, m0 < 0.5 ⇒ region 1 (only a pixel at exactly 0.5 could
 * differ from some thresholding convention; it goes to region 0 here).
 *
 * Matching: an assignment maps every ground-truth region j to a predicted region a[j], injectively; all of
 * them are enumerated (n!/(n−r)!, so keep n ≲ 8) and the one with the highest pixel accuracy wins (ties: the
 * first in lexicographic order, so the identity when it is among the best). A pixel is right when its predicted
 * region is a[g] for its ground-truth region g.
 * - n > r: predicted regions that no ground-truth region is matched to are left unmatched and their pixels
 *   count as wrong (they are wrong for every ground-truth region's IoU too) ...
 * - ... except r = 2 (ground truth [object, background], the object first, as every dataset here orders it):
 *   there the background is "everything that is not the object", so only the object is matched to one
 *   predicted region a[0], and every other predicted region is merged into the background. `assignment[1]`
 *   is then the single other region when n = 2, and −1 (meaning "all the rest, merged") when n > 2.
 *   For n = 2 this is the same as the plain permutation rule.
 * - n < r is an error (some ground-truth region could never be matched).
 *
 * Modes (report which one a number was computed with):
 * - 'per-image' (the reference code's choice): each image gets its own best assignment; accuracy is the mean
 *   over images (= over all pixels, since images have equal size); IoU of region j is the mean over images of
 *   the per-image IoU. `assignment` has B entries.
 * - 'per-dataset' (stricter): the confusion counts of all images are summed first, then ONE assignment is chosen
 *   for the whole set; accuracy and IoU come from the summed counts. `assignment` has one entry.
 *
 * IoU of ground-truth region j = |gt = j ∧ pred ∈ A_j| / |gt = j ∨ pred ∈ A_j|, where A_j is the set of predicted
 * regions assigned to j. When that union is empty (the region is absent from both the ground truth and the
 * prediction) the IoU is undefined: per-image mode leaves that image out of region j's mean; if every image is
 * left out (or, per dataset, if the region never occurs at all) the IoU is 1 (vacuous agreement).
 */

export type SegmentationDims = { B: number; H: number; W: number; n: number; r: number };
export type ScoreMode = 'per-image' | 'per-dataset';

export type SegmentationScore = {
  /** Fraction of pixels whose predicted region maps to their ground-truth region. */
  accuracy: number;
  /** One IoU per ground-truth region, in ground-truth order. */
  iou: number[];
  /** Mean of `iou`. */
  meanIou: number;
  /**
   * Per image (length B, 'per-image') or for the whole dataset (length 1, 'per-dataset'): ground-truth region j
   * ← predicted region assignment[i][j]; −1 = every predicted region not assigned elsewhere (r = 2, n > 2).
   */
  assignment: number[][];
};

/** Argmax region of every pixel: Int32Array [B·H·W] (ties to the lower index). */
export function argmaxRegions(masks: Float32Array, pixels: number, channels: number): Int32Array {
  if (masks.length !== pixels * channels) throw new Error(`argmaxRegions: ${masks.length} values, expected ${pixels}·${channels}`);
  const out = new Int32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    const base = p * channels;
    let best = 0;
    let bestV = masks[base]!;
    for (let k = 1; k < channels; k++) {
      const v = masks[base + k]!;
      if (v > bestV) {
        bestV = v;
        best = k;
      }
    }
    out[p] = best;
  }
  return out;
}

/**
 * Per-image confusion counts: Float64Array [B, r, n], entry (b, g, p) = number of pixels of image b whose
 * ground-truth region is g and predicted (argmax) region is p.
 */
export function confusionMatrices(pred: Float32Array, gt: Float32Array, dims: SegmentationDims): Float64Array {
  const { B, H, W, n, r } = dims;
  const hw = H * W;
  const predLabels = argmaxRegions(pred, B * hw, n);
  const gtLabels = argmaxRegions(gt, B * hw, r);
  const conf = new Float64Array(B * r * n);
  for (let b = 0; b < B; b++) {
    const base = b * r * n;
    for (let k = b * hw; k < (b + 1) * hw; k++) conf[base + gtLabels[k]! * n + predLabels[k]!]! += 1;
  }
  return conf;
}

/** Every injective map of r ground-truth regions into n predicted regions, in lexicographic order. */
export function injectiveAssignments(r: number, n: number): number[][] {
  const out: number[][] = [];
  const cur: number[] = [];
  const used = new Array<boolean>(n).fill(false);
  const rec = (j: number): void => {
    if (j === r) {
      out.push(cur.slice());
      return;
    }
    for (let p = 0; p < n; p++) {
      if (used[p]) continue;
      used[p] = true;
      cur.push(p);
      rec(j + 1);
      cur.pop();
      used[p] = false;
    }
  };
  rec(0);
  return out;
}

/** Candidate matchings: for each, the set of predicted regions assigned to each ground-truth region. */
type Candidate = { assignment: number[]; sets: number[][] };

function candidates(r: number, n: number): Candidate[] {
  if (r === 2) {
    // Object ← one predicted region; background ← all the others, merged.
    const out: Candidate[] = [];
    for (let p = 0; p < n; p++) {
      const rest: number[] = [];
      for (let q = 0; q < n; q++) if (q !== p) rest.push(q);
      out.push({ assignment: [p, n === 2 ? rest[0]! : -1], sets: [[p], rest] });
    }
    return out;
  }
  return injectiveAssignments(r, n).map((a) => ({ assignment: a, sets: a.map((p) => [p]) }));
}

/** Correct pixels under a candidate, from one r × n confusion block starting at `off`. */
function correct(conf: Float64Array, off: number, n: number, c: Candidate): number {
  let s = 0;
  c.sets.forEach((set, g) => {
    for (const p of set) s += conf[off + g * n + p]!;
  });
  return s;
}

function best(conf: Float64Array, off: number, n: number, cands: Candidate[]): Candidate {
  let bestC = cands[0]!;
  let bestS = -1;
  for (const c of cands) {
    const s = correct(conf, off, n, c);
    if (s > bestS) {
      bestS = s;
      bestC = c;
    }
  }
  return bestC;
}

/** IoU per ground-truth region under a candidate (NaN where the union is empty). */
function ious(conf: Float64Array, off: number, r: number, n: number, c: Candidate): number[] {
  const out: number[] = [];
  for (let g = 0; g < r; g++) {
    const set = c.sets[g]!;
    let gtArea = 0;
    for (let p = 0; p < n; p++) gtArea += conf[off + g * n + p]!;
    let predArea = 0;
    let inter = 0;
    for (const p of set) {
      inter += conf[off + g * n + p]!;
      for (let h = 0; h < r; h++) predArea += conf[off + h * n + p]!;
    }
    const union = gtArea + predArea - inter;
    out.push(union > 0 ? inter / union : NaN);
  }
  return out;
}

export function scoreSegmentation(pred: Float32Array, gt: Float32Array, dims: SegmentationDims, mode: ScoreMode): SegmentationScore {
  const { B, H, W, n, r } = dims;
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`scoreSegmentation: dims.${k} = ${v} must be a positive integer`);
  }
  if (r < 2) throw new Error(`scoreSegmentation: r = ${r}; ground truth needs at least 2 regions`);
  if (n < r) throw new Error(`scoreSegmentation: ${n} predicted regions cannot cover ${r} ground-truth regions`);
  if (pred.length !== B * H * W * n)
    throw new Error(`scoreSegmentation: pred has ${pred.length} values, expected B·H·W·n = ${B * H * W * n}`);
  if (gt.length !== B * H * W * r) throw new Error(`scoreSegmentation: gt has ${gt.length} values, expected B·H·W·r = ${B * H * W * r}`);

  const conf = confusionMatrices(pred, gt, dims);
  const cands = candidates(r, n);
  const block = r * n;
  const pixels = B * H * W;

  if (mode === 'per-dataset') {
    const total = new Float64Array(block);
    for (let b = 0; b < B; b++) for (let k = 0; k < block; k++) total[k]! += conf[b * block + k]!;
    const c = best(total, 0, n, cands);
    const iou = ious(total, 0, r, n, c).map((v) => (Number.isNaN(v) ? 1 : v));
    return { accuracy: correct(total, 0, n, c) / pixels, iou, meanIou: mean(iou), assignment: [c.assignment.slice()] };
  }
  if (mode !== 'per-image') throw new Error(`scoreSegmentation: unknown mode ${String(mode)}`);

  let right = 0;
  const iouSum = new Array<number>(r).fill(0);
  const iouCount = new Array<number>(r).fill(0);
  const assignment: number[][] = [];
  for (let b = 0; b < B; b++) {
    const off = b * block;
    const c = best(conf, off, n, cands);
    right += correct(conf, off, n, c);
    ious(conf, off, r, n, c).forEach((v, g) => {
      if (!Number.isNaN(v)) {
        iouSum[g]! += v;
        iouCount[g]! += 1;
      }
    });
    assignment.push(c.assignment.slice());
  }
  const iou = iouSum.map((s, g) => (iouCount[g]! > 0 ? s / iouCount[g]! : 1));
  return { accuracy: right / pixels, iou, meanIou: mean(iou), assignment };
}

function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

/** Object-vs-background score with ONE assignment for a whole set, computed exactly as the authors' ref_train.py does. */
export interface ObjectScore {
  /** IoU of the object, from the confusion counts summed over the set, under the assignment with the higher IoU. */
  iou: number;
  /** Pixel accuracy under that same assignment. */
  accuracy: number;
  /** Which predicted region is the object: 0 = the first region (mask ≥ 0.5), 1 = the rest. */
  region: 0 | 1;
  /** The reference code's per-image choice (each image its own assignment), means over images. */
  iouPerImage: number;
  accuracyPerImage: number;
}

/**
 * `firstRegion` [N·P]: F's soft mask of the first region (binarised at ≥ 0.5); `truth` [N·P]: 1 = object.
 * As ref_train.py `score()`: both assignments (first region = object, or = background) are counted over the
 * whole set and the one with the higher IoU wins (ties: the first region); per image, the better of the two IoUs
 * (union clamped to ≥ 1 pixel) and of the two accuracies, averaged.
 */
export function objectScore(firstRegion: ArrayLike<number>, truth: ArrayLike<number>, imagePixels?: number): ObjectScore {
  const total = firstRegion.length;
  if (truth.length !== total) throw new Error(`objectScore: ${total} predictions, ${truth.length} truth pixels`);
  const P = imagePixels ?? total;
  if (total % P !== 0) throw new Error(`objectScore: ${total} pixels is not a whole number of ${P}-pixel images`);
  const inter = [0, 0];
  const union = [0, 0];
  const right = [0, 0];
  let iouImg = 0;
  let accImg = 0;
  for (let b = 0; b < total / P; b++) {
    const i = [0, 0];
    const u = [0, 0];
    const r = [0, 0];
    for (let p = b * P; p < (b + 1) * P; p++) {
      const m = firstRegion[p]! >= 0.5 ? 1 : 0;
      const t = truth[p]! >= 0.5 ? 1 : 0;
      for (let a = 0; a < 2; a++) {
        const pr = a === 0 ? m : 1 - m;
        i[a]! += pr & t;
        u[a]! += pr | t;
        r[a]! += pr === t ? 1 : 0;
      }
    }
    for (let a = 0; a < 2; a++) {
      inter[a]! += i[a]!;
      union[a]! += u[a]!;
      right[a]! += r[a]!;
    }
    iouImg += Math.max(i[0]! / Math.max(u[0]!, 1), i[1]! / Math.max(u[1]!, 1));
    accImg += Math.max(r[0]!, r[1]!) / P;
  }
  const iouOf = (a: number) => (union[a]! > 0 ? inter[a]! / union[a]! : 1);
  const region: 0 | 1 = iouOf(0) >= iouOf(1) ? 0 : 1;
  const images = total / P;
  return { iou: iouOf(region), accuracy: right[region]! / total, region, iouPerImage: iouImg / images, accuracyPerImage: accImg / images };
}

/** How much F's masks depend on the image, read without labels (see `imageDependence`). */
export interface ImageDependence {
  /** Per-pixel standard deviation of the soft mask across the images, averaged over pixels (0: one mask for all). */
  spread: number;
  /** Mean IoU between the binarised (≥ 0.5) masks of every two different images (1: one mask for all). */
  pairIoU: number;
}

/**
 * Image dependence of one region's soft masks [N, P] (N images of P pixels), as the authors' ref_train.py reads it
 * (`spread`: torch's unbiased std over images, then the mean; `pairIoU`: union clamped to ≥ 1), so the two codes'
 * numbers compare. A blob or a stripe that ignores the image reads spread ≈ 0 and pairIoU ≈ 1; the ground truth of
 * the objects-on-photos sets reads pairIoU 0.33–0.38.
 */
export function imageDependence(region: ArrayLike<number>, pixels: number): ImageDependence {
  const n = region.length / pixels;
  if (!Number.isInteger(n) || n < 2)
    throw new Error(`imageDependence: needs ≥ 2 whole images of ${pixels} pixels, got ${region.length} values`);
  let spread = 0;
  for (let p = 0; p < pixels; p++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += region[i * pixels + p]!;
    const mean = sum / n;
    let sq = 0;
    for (let i = 0; i < n; i++) sq += (region[i * pixels + p]! - mean) ** 2;
    spread += Math.sqrt(sq / (n - 1));
  }
  const bits = Array.from({ length: n }, (_, i) => {
    const b = new Uint8Array(pixels);
    for (let p = 0; p < pixels; p++) b[p] = region[i * pixels + p]! >= 0.5 ? 1 : 0;
    return b;
  });
  const area = bits.map((b) => b.reduce((s, v) => s + v, 0));
  let pair = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let inter = 0;
      const a = bits[i]!;
      const b = bits[j]!;
      for (let p = 0; p < pixels; p++) inter += a[p]! & b[p]!;
      pair += inter / Math.max(area[i]! + area[j]! - inter, 1);
    }
  }
  return { spread: spread / pixels, pairIoU: pair / ((n * (n - 1)) / 2) };
}
