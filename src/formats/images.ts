/**
 * RGBA pictures of a segmentation, pure (no tensors, no DOM): a grid canvas with dark gaps, images in [-1, 1],
 * soft masks tinted in the region colours, ground-truth masks, overlays and cut-outs, and PNG encoding.
 * The run core (src/run/previews.ts) draws its previews with these (the UI shows them on a canvas), and the command
 * line its mask figure (src/node/segmentFolder.ts maskFigure).
 */
import { encode as encodePngPure } from 'fast-png';
import { regionColour } from './colours';

/** An RGBA image: width·height·4 bytes. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

export const GAP = 2;
const BG = 24; // gap colour (dark)

function toByte(v: number): number {
  // [-1, 1] → 0..255
  const b = Math.round((v + 1) * 127.5);
  return b < 0 ? 0 : b > 255 ? 255 : b;
}

/** A grid canvas of rows × cols cells of side `cell`, gaps between cells in grey `background` (dark unless given). */
export class Grid {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;

  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly cell: number,
    readonly gap = GAP,
    background = BG,
  ) {
    this.width = cols * cell + (cols - 1) * gap;
    this.height = rows * cell + (rows - 1) * gap;
    this.data = new Uint8ClampedArray(this.width * this.height * 4);
    for (let i = 0; i < this.data.length; i += 4) {
      this.data[i] = this.data[i + 1] = this.data[i + 2] = background;
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

/** An s×s picture into cell (r, c) (of side s·scale): pixel p (row-major) in colour rgb(p), drawn scale×scale. */
export function drawPixels(
  g: Grid,
  r: number,
  c: number,
  s: number,
  rgb: (p: number) => readonly [number, number, number],
  scale = 1,
): void {
  for (let p = 0; p < s * s; p++) {
    const [red, green, blue] = rgb(p);
    const [x, y] = [(p % s) * scale, Math.floor(p / s) * scale];
    for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) g.set(r, c, x + dx, y + dy, red, green, blue);
  }
}

/** Image i of an NHWC [-1, 1] batch into cell (r, c). */
export function drawImage(g: Grid, r: number, c: number, images: Float32Array, i: number, s: number): void {
  const base = i * s * s * 3;
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const o = base + (y * s + x) * 3;
      g.set(r, c, x, y, toByte(images[o]!), toByte(images[o + 1]!), toByte(images[o + 2]!));
    }
  }
}

/** Soft masks of image i ([P, S, S, n]) as a colour mix of the region colours. */
export function drawMaskColours(g: Grid, r: number, c: number, masks: Float32Array, i: number, s: number, n: number): void {
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
export function drawGroundTruth(g: Grid, r: number, c: number, gt: Float32Array, i: number, s: number): void {
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
      g.set(
        0,
        i,
        p % s,
        Math.floor(p / s),
        0.5 * toByte(images[io]!) + 0.5 * red,
        0.5 * toByte(images[io + 1]!) + 0.5 * green,
        0.5 * toByte(images[io + 2]!) + 0.5 * blue,
      );
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
        g.set(
          k,
          i,
          x,
          y,
          a * toByte(images[io]!) + (1 - a) * bgv,
          a * toByte(images[io + 1]!) + (1 - a) * bgv,
          a * toByte(images[io + 2]!) + (1 - a) * bgv,
        );
      }
    }
  }
  return g.image();
}

/** RGBA bytes (width·height·4) as a PNG file. */
export function encodePng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  if (rgba.length !== width * height * 4) throw new Error(`encodePng: ${rgba.length} bytes for ${width}×${height} RGBA`);
  return encodePngPure({ width, height, data: rgba, channels: 4, depth: 8 });
}

/** An RgbaImage as a PNG file; `alpha` false leaves the alpha channel out (an RGB file, for an opaque picture). */
export function rgbaToPng(img: RgbaImage, alpha = true): Uint8Array {
  const rgba = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  if (alpha) return encodePng(rgba, img.width, img.height);
  const rgb = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, o = 0; o < rgb.length; i += 4, o += 3) rgb.set(rgba.subarray(i, i + 3), o);
  return encodePngPure({ width: img.width, height: img.height, data: rgb, channels: 3, depth: 8 });
}
