/**
 * The run's label-free reading of how much F's masks depend on the image (src/redo/metrics.ts imageDependence), on
 * a fixed panel of training images: no masks needed, so every run has it, and the blob watch and a best-of-K search
 * without held-out masks rank by it. Read on F's first region, as the authors' ref_train.py reads it.
 */
import type * as tf from '../redo/tf';
import { spreadIndices, subsetImages, type ImageSet } from '../redo';
import { imageDependence, type ImageDependence } from '../redo/metrics';
import { predictMasks } from './evaluate';

/** Images in the panel: ref_train.py reads 64. */
export const PANEL_SIZE = 64;

/** The panel: PANEL_SIZE training images spread evenly over the set (all of a smaller set). */
export function dependencePanel(images: ImageSet): ImageSet {
  return subsetImages(images, spreadIndices(images.count, PANEL_SIZE));
}

export async function readDependence(
  masksOf: (x: tf.Tensor4D) => tf.Tensor4D,
  panel: ImageSet,
  nRegions: number,
): Promise<ImageDependence> {
  if (panel.count < 2) return { spread: NaN, pairIoU: NaN }; // one image cannot tell
  const masks = await predictMasks(masksOf, panel);
  const pixels = panel.size * panel.size;
  const first = new Float32Array(panel.count * pixels);
  for (let p = 0; p < first.length; p++) first[p] = masks[p * nRegions]!;
  return imageDependence(first, pixels);
}
