/**
 * What a run shows of the model while it learns (the studio's panels, the archive's previews/*.png):
 * - the mask panel: a fixed set of the training images (PANEL_SIZE, spread over the dataset) with the soft masks
 *   tinted over them (overlay), and one row per region of cut-outs (the image with that region's mask as alpha);
 * - the paper's Figure 2: per row an input, its ground truth (when the dataset has one), the masks, then for every
 *   region REDRAW_COLUMNS redraws, with z fixed per column (the same codes for the whole run and after a reload).
 * The tensor work is one tf.tidy and one batched readback per refresh; the drawing is src/formats/images.ts.
 */
import * as tf from '../redo/tf';
import { gatherImages, imageValues, spreadIndices, subsetPlanes, type ImageSet, type Planes } from '../redo/batches';
import type { RedoModel } from '../redo';
import {
  drawGroundTruth,
  drawImage,
  drawMaskColours,
  GAP,
  Grid,
  renderCutouts,
  renderOverlay,
  rgbaToPng,
  type RgbaImage,
} from '../formats/images';

/** Images in the mask panel. */
export const PANEL_SIZE = 8;
/** Rows of the Figure-2 grid (the first images of the panel). */
export const FIGURE_ROWS = 4;
/** Redraws per region in the Figure-2 grid, each with its own fixed z. */
export const REDRAW_COLUMNS = 3;

export interface PreviewSet {
  /** The trainer's iteration the previews show. */
  step: number;
  /** Panel images with every region tinted over them (one row). */
  overlay: RgbaImage;
  /** One row per region: the image with that region's mask as alpha, over a checkerboard. */
  cutouts: RgbaImage;
  /** The paper's Figure 2: input | [ground truth] | masks | redraws of region 1 (z fixed per column) | … */
  figure2: RgbaImage;
  /** Column headings of the Figure-2 grid with their widths in cells. */
  figure2Columns: Array<{ label: string; cells: number }>;
  cell: number;
  gap: number;
}

export interface PreviewInputs {
  /** Panel images [P, S, S, 3] in [-1, 1] (kept on the device for the run). */
  panel: tf.Tensor4D;
  panelPixels: Float32Array;
  /** Ground-truth object masks of the panel [P, S, S] in {0, 1}, when the dataset has them. */
  panelTruth?: Float32Array;
  /** Fixed codes of the redraw columns [R, n, nz]. */
  zColumns: tf.Tensor3D;
  /** Rows of the Figure-2 grid (the first rows of the panel). */
  figureRows: number;
}

/** The panel of a run (tensors: dispose with disposePreviewInputs): its images, their masks, the redraw codes of its seed. */
export function previewInputs(model: RedoModel, images: ImageSet, objectMasks: Planes | undefined, seed: number): PreviewInputs {
  const idx = spreadIndices(images.count, PANEL_SIZE);
  const plane = images.size * images.size;
  return {
    panel: gatherImages(images, idx),
    panelPixels: imageValues(images, idx),
    ...(objectMasks ? { panelTruth: Float32Array.from(subsetPlanes(objectMasks, plane, idx)) } : {}),
    zColumns: model.sampleZ(REDRAW_COLUMNS, 0x5eed + seed),
    figureRows: FIGURE_ROWS,
  };
}

export function disposePreviewInputs(inp: PreviewInputs): void {
  inp.panel.dispose();
  inp.zColumns.dispose();
}

/** The previews as the run archive's PNG files. */
export function previewPngs(p: PreviewSet): Array<{ name: string; png: Uint8Array }> {
  return [
    { name: 'masks-overlay', png: rgbaToPng(p.overlay) },
    { name: 'masks-cutouts', png: rgbaToPng(p.cutouts) },
    { name: 'figure2', png: rgbaToPng(p.figure2) },
  ];
}

/** Masks of the panel and the Figure-2 redraws, with one batched readback, rendered. */
export async function renderPreviews(model: RedoModel, inp: PreviewInputs, step: number): Promise<PreviewSet> {
  const c = model.config;
  const s = c.imageSize;
  const n = c.nRegions;
  const p = inp.panel.shape[0];
  const rows = Math.min(inp.figureRows, p);
  const r = inp.zColumns.shape[0];
  const packed = tf.tidy(() => {
    const masks = model.masks(inp.panel); // [P, S, S, n]
    const x = inp.panel.slice([0, 0, 0, 0], [rows, s, s, 3]);
    const m = masks.slice([0, 0, 0, 0], [rows, s, s, n]);
    const comps: tf.Tensor[] = [];
    for (let j = 0; j < r; j++) {
      const z = tf.tile<tf.Tensor3D>(inp.zColumns.slice([j, 0, 0], [1, n, c.nz]), [rows, 1, 1]);
      comps.push(model.composites(x, m, model.regions(m, z)).reshape([-1])); // [rows·n, S, S, 3] image-major
    }
    return tf.concat([masks.reshape([-1]), ...comps]);
  });
  let flat: Float32Array;
  try {
    flat = (await packed.data()) as Float32Array;
  } finally {
    packed.dispose();
  }
  const maskLen = p * s * s * n;
  const panelMasks = flat.subarray(0, maskLen);
  const compLen = rows * n * s * s * 3;

  const hasTruth = !!inp.panelTruth;
  const lead = hasTruth ? 3 : 2;
  const g = new Grid(rows, lead + n * r, s);
  for (let i = 0; i < rows; i++) {
    drawImage(g, i, 0, inp.panelPixels, i, s);
    if (hasTruth) drawGroundTruth(g, i, 1, inp.panelTruth!, i, s);
    drawMaskColours(g, i, lead - 1, panelMasks, i, s, n);
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < r; j++) {
        const comps = flat.subarray(maskLen + j * compLen, maskLen + (j + 1) * compLen);
        drawImage(g, i, lead + k * r + j, comps, i * n + k, s);
      }
    }
  }
  const columns: PreviewSet['figure2Columns'] = [{ label: 'input', cells: 1 }];
  if (hasTruth) columns.push({ label: 'truth', cells: 1 });
  columns.push({ label: 'masks', cells: 1 });
  for (let k = 0; k < n; k++) columns.push({ label: `region ${k + 1} redrawn`, cells: r });

  return {
    step,
    overlay: renderOverlay(inp.panelPixels, panelMasks, p, s, n),
    cutouts: renderCutouts(inp.panelPixels, panelMasks, p, s, n),
    figure2: g.image(),
    figure2Columns: columns,
    cell: s,
    gap: GAP,
  };
}
