import { describe, expect, it } from 'vitest';
import { argmaxRegions, injectiveAssignments, scoreSegmentation, type SegmentationDims } from '../src/redo/metrics';

/** One-hot NHWC masks from per-pixel region labels (images concatenated). */
function oneHot(labels: number[], channels: number): Float32Array {
  const out = new Float32Array(labels.length * channels);
  labels.forEach((l, i) => (out[i * channels + l] = 1));
  return out;
}

/** Soft NHWC masks whose argmax is `labels`: 0.6 on the label, the rest shared evenly. */
function soft(labels: number[], channels: number): Float32Array {
  const out = new Float32Array(labels.length * channels).fill(0.4 / (channels - 1));
  labels.forEach((l, i) => (out[i * channels + l] = 0.6));
  return out;
}

const dims = (B: number, H: number, W: number, n: number, r: number): SegmentationDims => ({ B, H, W, n, r });

describe('segmentation metrics', () => {
  it('argmax binarisation equals thresholding m0 at 0.5 for two regions', () => {
    const m0 = [0.9, 0.51, 0.49, 0.1];
    const masks = new Float32Array(m0.flatMap((v) => [v, 1 - v]));
    expect(Array.from(argmaxRegions(masks, 4, 2))).toEqual(m0.map((v) => (v > 0.5 ? 0 : 1)));
  });

  it('enumerates injective assignments', () => {
    expect(injectiveAssignments(2, 2)).toEqual([
      [0, 1],
      [1, 0],
    ]);
    expect(injectiveAssignments(3, 3)).toHaveLength(6);
    expect(injectiveAssignments(3, 4)).toHaveLength(24);
    expect(injectiveAssignments(3, 3)[0]).toEqual([0, 1, 2]);
  });

  it('perfect masks score 1 in both modes', () => {
    const gt = [0, 0, 1, 1, 0, 1, 1, 1];
    for (const mode of ['per-image', 'per-dataset'] as const) {
      const s = scoreSegmentation(soft(gt, 2), oneHot(gt, 2), dims(2, 2, 2, 2, 2), mode);
      expect(s.accuracy).toBe(1);
      expect(s.iou).toEqual([1, 1]);
      expect(s.meanIou).toBe(1);
    }
  });

  it('swapped regions: only the permutation gets them right', () => {
    const gt = [0, 0, 1, 1];
    const pred = [1, 1, 0, 0];
    const s = scoreSegmentation(soft(pred, 2), oneHot(gt, 2), dims(1, 2, 2, 2, 2), 'per-image');
    expect(s.accuracy).toBe(1);
    expect(s.iou).toEqual([1, 1]);
    expect(s.assignment).toEqual([[1, 0]]);
    // Same single image per dataset: the same answer.
    const d = scoreSegmentation(soft(pred, 2), oneHot(gt, 2), dims(1, 2, 2, 2, 2), 'per-dataset');
    expect(d.accuracy).toBe(1);
    expect(d.assignment).toEqual([[1, 0]]);
  });

  it('per-image and per-dataset differ when one image is swapped and the other is not', () => {
    // Image 1: gt [0,0,1,1], prediction swapped. Image 2: gt [0,1,1,1], prediction right.
    const gt = [0, 0, 1, 1, 0, 1, 1, 1];
    const pred = [1, 1, 0, 0, 0, 1, 1, 1];
    const perImage = scoreSegmentation(soft(pred, 2), oneHot(gt, 2), dims(2, 2, 2, 2, 2), 'per-image');
    expect(perImage.accuracy).toBe(1);
    expect(perImage.iou).toEqual([1, 1]);
    expect(perImage.assignment).toEqual([
      [1, 0],
      [0, 1],
    ]);
    // Summed confusion (gt × pred): [[1, 2], [2, 3]]. Identity: 4/8 right; swap: 4/8 right; the tie goes to
    // the identity. IoU0 = 1 / (3 + 3 − 1) = 1/5; IoU1 = 3 / (5 + 5 − 3) = 3/7.
    const perDataset = scoreSegmentation(soft(pred, 2), oneHot(gt, 2), dims(2, 2, 2, 2, 2), 'per-dataset');
    expect(perDataset.accuracy).toBe(0.5);
    expect(perDataset.assignment).toEqual([[0, 1]]);
    expect(perDataset.iou[0]).toBeCloseTo(1 / 5, 12);
    expect(perDataset.iou[1]).toBeCloseTo(3 / 7, 12);
    expect(perDataset.meanIou).toBeCloseTo((1 / 5 + 3 / 7) / 2, 12);
  });

  it('per-dataset with a majority: two right images and one swapped', () => {
    const gt = [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1];
    const pred = [0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0];
    const s = scoreSegmentation(soft(pred, 2), oneHot(gt, 2), dims(3, 2, 2, 2, 2), 'per-dataset');
    // Summed confusion [[4, 2], [2, 4]]: identity, 8/12 right; IoU = 4 / (6 + 6 − 4) = 1/2 for both.
    expect(s.accuracy).toBeCloseTo(2 / 3, 12);
    expect(s.assignment).toEqual([[0, 1]]);
    expect(s.iou[0]).toBeCloseTo(0.5, 12);
    expect(s.iou[1]).toBeCloseTo(0.5, 12);
    expect(scoreSegmentation(soft(pred, 2), oneHot(gt, 2), dims(3, 2, 2, 2, 2), 'per-image').accuracy).toBe(1);
  });

  it('hand-computed IoU on a 3×3 image', () => {
    // gt:   0 0 0 / 1 1 1 / 1 1 1      pred: 0 0 1 / 1 1 1 / 1 1 0
    // Confusion [[2, 1], [1, 5]]: identity, 7/9 right. IoU0 = 2 / (3 + 3 − 2) = 1/2; IoU1 = 5 / (6 + 6 − 5) = 5/7.
    const gt = [0, 0, 0, 1, 1, 1, 1, 1, 1];
    const pred = [0, 0, 1, 1, 1, 1, 1, 1, 0];
    for (const mode of ['per-image', 'per-dataset'] as const) {
      const s = scoreSegmentation(soft(pred, 2), oneHot(gt, 2), dims(1, 3, 3, 2, 2), mode);
      expect(s.accuracy).toBeCloseTo(7 / 9, 12);
      expect(s.iou[0]).toBeCloseTo(0.5, 12);
      expect(s.iou[1]).toBeCloseTo(5 / 7, 12);
      expect(s.meanIou).toBeCloseTo((0.5 + 5 / 7) / 2, 12);
      expect(s.assignment).toEqual([[0, 1]]);
    }
  });

  it('per-image IoU is the mean of per-image IoUs', () => {
    // Image 1 (2×2): gt [0,0,1,1], pred [0,1,1,1] → IoU0 = 1/2, IoU1 = 2/3, acc 3/4.
    // Image 2 (2×2): gt [0,1,1,1], pred [0,1,1,1] → IoU 1, 1, acc 1.
    const gt = [0, 0, 1, 1, 0, 1, 1, 1];
    const pred = [0, 1, 1, 1, 0, 1, 1, 1];
    const s = scoreSegmentation(soft(pred, 2), oneHot(gt, 2), dims(2, 2, 2, 2, 2), 'per-image');
    expect(s.accuracy).toBeCloseTo(7 / 8, 12);
    expect(s.iou[0]).toBeCloseTo((1 / 2 + 1) / 2, 12);
    expect(s.iou[1]).toBeCloseTo((2 / 3 + 1) / 2, 12);
    // Per dataset: confusion [[2, 1], [0, 5]] → IoU0 = 2/3, IoU1 = 5/6.
    const d = scoreSegmentation(soft(pred, 2), oneHot(gt, 2), dims(2, 2, 2, 2, 2), 'per-dataset');
    expect(d.iou[0]).toBeCloseTo(2 / 3, 12);
    expect(d.iou[1]).toBeCloseTo(5 / 6, 12);
  });

  it('three regions against three ground-truth regions', () => {
    // gt  0 0 1 / 1 2 2     pred 2 2 0 / 0 1 0   (one error: the last pixel)
    const gt = [0, 0, 1, 1, 2, 2];
    const pred = [2, 2, 0, 0, 1, 0];
    const s = scoreSegmentation(soft(pred, 3), oneHot(gt, 3), dims(1, 2, 3, 3, 3), 'per-image');
    expect(s.assignment).toEqual([[2, 0, 1]]);
    expect(s.accuracy).toBeCloseTo(5 / 6, 12);
    // IoU0 = 2/2; IoU1 = 2 / (2 + 3 − 2) = 2/3; IoU2 = 1 / (2 + 1 − 1) = 1/2.
    expect(s.iou[0]).toBeCloseTo(1, 12);
    expect(s.iou[1]).toBeCloseTo(2 / 3, 12);
    expect(s.iou[2]).toBeCloseTo(1 / 2, 12);
    expect(s.meanIou).toBeCloseTo((1 + 2 / 3 + 1 / 2) / 3, 12);
    const d = scoreSegmentation(soft(pred, 3), oneHot(gt, 3), dims(1, 2, 3, 3, 3), 'per-dataset');
    expect(d.accuracy).toBeCloseTo(5 / 6, 12);
    expect(d.assignment).toEqual([[2, 0, 1]]);
  });

  it('object/background ground truth with more predicted regions: the rest merge into background', () => {
    // gt 0 0 1 1 1 1 (object, background); pred uses three regions, the background split over 0 and 2.
    const gt = [0, 0, 1, 1, 1, 1];
    const pred = [1, 1, 0, 2, 0, 2];
    const s = scoreSegmentation(soft(pred, 3), oneHot(gt, 2), dims(1, 2, 3, 3, 2), 'per-image');
    expect(s.accuracy).toBe(1);
    expect(s.iou).toEqual([1, 1]);
    expect(s.assignment).toEqual([[1, -1]]);
  });

  it('three ground-truth regions, four predicted: the extra region counts as wrong', () => {
    const gt = [0, 1, 2, 2];
    const pred = [0, 1, 2, 3];
    const s = scoreSegmentation(soft(pred, 4), oneHot(gt, 3), dims(1, 2, 2, 4, 3), 'per-dataset');
    expect(s.accuracy).toBe(3 / 4);
    expect(s.assignment).toEqual([[0, 1, 2]]);
    expect(s.iou[2]).toBeCloseTo(1 / 2, 12);
  });

  it('a region absent from both ground truth and prediction is left out of the per-image mean', () => {
    // n = r = 3; image 1 has no region 2 anywhere; image 2 has all three, perfectly predicted.
    const gt = [0, 0, 1, 1, 0, 1, 2, 2];
    const pred = [0, 1, 1, 1, 0, 1, 2, 2];
    const s = scoreSegmentation(soft(pred, 3), oneHot(gt, 3), dims(2, 2, 2, 3, 3), 'per-image');
    expect(s.iou[2]).toBe(1); // only image 2 counts
    expect(s.iou[0]).toBeCloseTo((1 / 2 + 1) / 2, 12);
    expect(s.iou[1]).toBeCloseTo((2 / 3 + 1) / 2, 12);
  });

  it('rejects inconsistent shapes', () => {
    const gt = oneHot([0, 1, 1, 0], 2);
    expect(() => scoreSegmentation(new Float32Array(3), gt, dims(1, 2, 2, 2, 2), 'per-image')).toThrow(/pred/);
    expect(() => scoreSegmentation(soft([0, 1, 1, 0], 2), gt, dims(1, 2, 2, 2, 3), 'per-image')).toThrow();
  });
});
