/**
 * What the studio shows of the model while it learns, rendered in the worker to RGBA bytes:
 * - the mask panel: a fixed set of the user's own images with the soft masks tinted over them (overlay), and
 *   one row per region of cut-outs (the image with that region's mask as alpha, over a checkerboard);
 * - the paper's Figure 2: per row an input, its ground truth (when the dataset has one), the masks, then
 *   for every region several redraws, with z fixed per column (so a column redraws with the same code).
 * The tensor work is one tf.tidy and one batched readback per refresh.
 */
import * as tf from '../redo/tf';
import type { RedoModel } from '../redo';
import type { PreviewSet, RgbaImage } from './protocol';
import { regionColour } from './colours';

const GAP = 2;
const BG = 24; // gap colour (dark)

function toByte(v: number): number {
  // [-1, 1] → 0..255
  const b = Math.round((v + 1) * 127.5);
  return b < 0 ? 0 : b > 255 ? 255 : b;
}

/** A grid canvas of rows × cols cells of side `cell`, dark gaps between cells. */
export class Grid {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;

  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly cell: number,
    readonly gap = GAP,
  ) {
    this.width = cols * cell + (cols - 1) * gap;
    this.height = rows * cell + (rows - 1) * gap;
    this.data = new Uint8ClampedArray(this.width * this.height * 4);
    for (let i = 0; i < this.data.length; i += 4) {
      this.data[i] = this.data[i + 1] = this.data[i + 2] = BG;
      this.data[i + 3] = 255;
    }
  }

  /** Writes pixel (x, y) of cell (r, c). */
  set(r: number, c: number, x: number, y: number, red: number, green: number, blue: number): void {
    const px = c * (this.cell + this.gap) + x;
    const py = r * (this.cell + this.gap) + y;
    const o = (py * this.width + px) * 4;
    this.data[o] = red;
    this.data[o + 1] = green;
    this.data[o + 2] = blue;
    this.data[o + 3] = 255;
  }

  image(): RgbaImage {
    return { width: this.width, height: this.height, data: this.data };
  }
}

/** Image i of an NHWC [-1, 1] batch into cell (r, c). */
function drawImage(g: Grid, r: number, c: number, images: Float32Array, i: number, s: number): void {
  const base = i * s * s * 3;
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const o = base + (y * s + x) * 3;
      g.set(r, c, x, y, toByte(images[o]!), toByte(images[o + 1]!), toByte(images[o + 2]!));
    }
  }
}

/** Soft masks of image i ([P, S, S, n]) as a colour mix of the region colours. */
function drawMaskColours(g: Grid, r: number, c: number, masks: Float32Array, i: number, s: number, n: number): void {
  const base = i * s * s * n;
  for (let p = 0; p < s * s; p++) {
    let red = 0;
    let green = 0;
    let blue = 0;
    for (let k = 0; k < n; k++) {
      const m = masks[base + p * n + k]!;
      const col = regionColour(k);
      red += m * col[0];
      green += m * col[1];
      blue += m * col[2];
    }
    g.set(r, c, p % s, Math.floor(p / s), red, green, blue);
  }
}

/** Binary object mask (1 = object) of image i ([P, S, S] in {0, 1}) in white on black. */
function drawGroundTruth(g: Grid, r: number, c: number, gt: Float32Array, i: number, s: number): void {
  const base = i * s * s;
  for (let p = 0; p < s * s; p++) {
    const v = gt[base + p]! > 0.5 ? 255 : 0;
    g.set(r, c, p % s, Math.floor(p / s), v, v, v);
  }
}

/** Each panel image with the region colours blended over it (50 %). */
export function renderOverlay(images: Float32Array, masks: Float32Array, count: number, s: number, n: number): RgbaImage {
  const g = new Grid(1, count, s);
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < s * s; p++) {
      const io = (i * s * s + p) * 3;
      let red = 0;
      let green = 0;
      let blue = 0;
      for (let k = 0; k < n; k++) {
        const m = masks[(i * s * s + p) * n + k]!;
        const col = regionColour(k);
        red += m * col[0];
        green += m * col[1];
        blue += m * col[2];
      }
      g.set(0, i, p % s, Math.floor(p / s), 0.5 * toByte(images[io]!) + 0.5 * red, 0.5 * toByte(images[io + 1]!) + 0.5 * green, 0.5 * toByte(images[io + 2]!) + 0.5 * blue);
    }
  }
  return g.image();
}

/** Row k: every panel image with region k's soft mask as alpha over a light checkerboard. */
export function renderCutouts(images: Float32Array, masks: Float32Array, count: number, s: number, n: number): RgbaImage {
  const g = new Grid(n, count, s);
  const check = Math.max(2, s >> 3);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < count; i++) {
      for (let p = 0; p < s * s; p++) {
        const x = p % s;
        const y = Math.floor(p / s);
        const bgv = ((Math.floor(x / check) + Math.floor(y / check)) & 1) === 0 ? 205 : 250;
        const a = masks[(i * s * s + p) * n + k]!;
        const io = (i * s * s + p) * 3;
        g.set(k, i, x, y, a * toByte(images[io]!) + (1 - a) * bgv, a * toByte(images[io + 1]!) + (1 - a) * bgv, a * toByte(images[io + 2]!) + (1 - a) * bgv);
      }
    }
  }
  return g.image();
}

export interface PreviewInputs {
  /** Panel images [P, S, S, 3] in [-1, 1] (kept on the device for the session). */
  panel: tf.Tensor4D;
  panelPixels: Float32Array;
  /** Ground-truth object masks of the panel [P, S, S] in {0, 1}, when the dataset has them. */
  panelTruth?: Float32Array;
  /** Fixed codes of the redraw columns [R, n, nz]. */
  zColumns: tf.Tensor3D;
  /** Rows of the Figure-2 grid (the first rows of the panel). */
  figureRows: number;
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
      const z = tf.tile(inp.zColumns.slice([j, 0, 0], [1, n, c.nz]), [rows, 1, 1]) as tf.Tensor3D;
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

/** Indices of `count` images spread evenly over a dataset of `total`. */
export function spreadIndices(total: number, count: number): number[] {
  const k = Math.min(total, count);
  return Array.from({ length: k }, (_, i) => Math.floor((i * total) / k));
}
