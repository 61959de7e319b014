/**
 * Objects on photos: emoji artwork (RGBA, so the mask is exact) pasted on random crops of real photographs. A
 * data set where ReDO's assumption holds (object and background drawn independently), used to find and prove a
 * recipe that segments (issue "It segments"). Pure: no DOM, no Node APIs; the sources are decoded by the caller
 * (`src/node/objectSources.ts` in Node, the studio's worker in the browser) from `public/objects/`.
 *
 * One image of side S:
 * - background: a photo picked uniformly; a square crop of side U(cropMin, cropMax) × the photo's shorter side at
 *   a uniform position, mirrored left-right on a fair coin, resampled to S×S;
 * - object: a sprite picked uniformly (its tight bounding box); its longer side scaled to round(U(0.6, 0.95)·S)
 *   (aspect kept), placed at a uniform integer position that keeps it inside the image, mirrored on a fair coin;
 * - compositing: alpha-over with the resampled (premultiplied) sprite; mask = resampled alpha ≥ 0.5.
 * Resampling is a triangle filter widened by the scale factor when shrinking (PIL's antialiased bilinear).
 *
 * Randomness comes only from `Rng(seed)`: same sources, options and seed ⇒ bit-identical output.
 */
import { Rng } from '../redo/random';
import { applyTaps, triangleTaps } from './resample';

/** An RGBA sprite, cropped to the bounding box of its non-transparent pixels. */
export interface Sprite {
  width: number;
  height: number;
  /** width·height·4 bytes, straight (not premultiplied) alpha. */
  rgba: Uint8Array;
}

/** An RGB photograph. */
export interface Photo {
  width: number;
  height: number;
  /** width·height·3 bytes. */
  rgb: Uint8Array;
}

export interface ObjectsOnPhotosOptions {
  count: number;
  size: number;
  seed: number;
  /** Object's longer side as a fraction of S (default 0.6 … 0.95). */
  objectMin?: number;
  objectMax?: number;
  /** Background crop side as a fraction of the photo's shorter side (default 0.25 … 0.6). */
  cropMin?: number;
  cropMax?: number;
}

export interface ObjectsOnPhotos {
  /** count·S·S·3 bytes, RGB. */
  images: Uint8Array;
  /** count·S·S bytes, 1 = object. */
  masks: Uint8Array;
  /** Which sprite and photo each image used. */
  spriteIndex: Int32Array;
  photoIndex: Int32Array;
}

/** `public/objects/sources.json`, written by scripts/pack-objects.ts. */
export interface SourcesIndex {
  format: 'redo-objects-sources';
  version: number;
  cell: number;
  columns: number;
  emoji: { package: string; version: string; licence: string };
  atlases: Record<'train' | 'test', { file: string; sprites: Array<{ name: string; unified: string; w: number; h: number }> }>;
  photos: Array<{ file: string; width: number; height: number }>;
}

/** Cuts the sprites of one split out of its decoded atlas (RGBA, each sprite at the top-left of its cell). */
export function spritesOf(atlas: { width: number; data: Uint8Array }, index: SourcesIndex, split: 'train' | 'test'): Sprite[] {
  return index.atlases[split].sprites.map((s, k) => {
    const cx = (k % index.columns) * index.cell;
    const cy = Math.floor(k / index.columns) * index.cell;
    const rgba = new Uint8Array(s.w * s.h * 4);
    for (let y = 0; y < s.h; y++)
      rgba.set(atlas.data.subarray(((cy + y) * atlas.width + cx) * 4, ((cy + y) * atlas.width + cx + s.w) * 4), y * s.w * 4);
    return { width: s.w, height: s.h, rgba };
  });
}

/** The decoded sources a data set is generated from. */
export interface ObjectSources {
  train: Sprite[];
  test: Sprite[];
  photos: Photo[];
  index: SourcesIndex;
}

export function parseSourcesIndex(v: unknown): SourcesIndex {
  const o = v as Partial<SourcesIndex> | null;
  if (!o || o.format !== 'redo-objects-sources' || !o.atlases?.train || !o.atlases.test || !Array.isArray(o.photos)) {
    throw new Error('not an objects-on-photos source index (sources.json)');
  }
  return o as SourcesIndex;
}

export const OBJECT_SCALE: readonly [number, number] = [0.6, 0.95];
export const CROP_SCALE: readonly [number, number] = [0.25, 0.6];

/**
 * Resamples the window (x0, y0, w, h) (source pixels, may be fractional) of an interleaved `channels`-channel
 * image to outW×outH, as floats in the source's range. `mirror` flips the result left-right.
 */
export function resampleWindow(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  window: { x0: number; y0: number; w: number; h: number },
  outW: number,
  outH: number,
  mirror = false,
): Float32Array {
  const [sx, sy] = [window.w / outW, window.h / outH];
  const tx = triangleTaps(width, outW, sx, (i) => window.x0 + (i + 0.5) * sx);
  const ty = triangleTaps(height, outH, sy, (i) => window.y0 + (i + 0.5) * sy);
  return applyTaps(src, width, height, channels, tx, ty, mirror);
}

/** Straight alpha → premultiplied floats (so resampling does not bleed the colour of transparent pixels). */
function premultiplied(s: Sprite): Float32Array {
  const n = s.width * s.height;
  const out = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const a = s.rgba[4 * i + 3]! / 255;
    out[4 * i] = s.rgba[4 * i]! * a;
    out[4 * i + 1] = s.rgba[4 * i + 1]! * a;
    out[4 * i + 2] = s.rgba[4 * i + 2]! * a;
    out[4 * i + 3] = a;
  }
  return out;
}

/** Generates `count` composites (see the header). Throws when there is no sprite or photo. */
export function generateObjectsOnPhotos(
  sprites: readonly Sprite[],
  photos: readonly Photo[],
  opts: ObjectsOnPhotosOptions,
): ObjectsOnPhotos {
  const { count, size: S, seed } = opts;
  if (sprites.length === 0 || photos.length === 0) throw new Error('objects on photos: no sprites or no photos');
  if (!(Number.isInteger(count) && count >= 0 && Number.isInteger(S) && S >= 8))
    throw new Error(`objects on photos: bad count ${count} or size ${S}`);
  const [oMin, oMax] = [opts.objectMin ?? OBJECT_SCALE[0], opts.objectMax ?? OBJECT_SCALE[1]];
  const [cMin, cMax] = [opts.cropMin ?? CROP_SCALE[0], opts.cropMax ?? CROP_SCALE[1]];
  const rng = new Rng(seed);
  const pre = new Map<number, Float32Array>();
  const images = new Uint8Array(count * S * S * 3);
  const masks = new Uint8Array(count * S * S);
  const spriteIndex = new Int32Array(count);
  const photoIndex = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    // Background.
    const pi = rng.int(photos.length);
    const p = photos[pi]!;
    const side = rng.uniform(cMin, cMax) * Math.min(p.width, p.height);
    const x0 = rng.uniform(0, p.width - side);
    const y0 = rng.uniform(0, p.height - side);
    const bg = resampleWindow(p.rgb, p.width, p.height, 3, { x0, y0, w: side, h: side }, S, S, rng.next() < 0.5);
    // Object.
    const si = rng.int(sprites.length);
    const s = sprites[si]!;
    const long = Math.max(1, Math.round(rng.uniform(oMin, oMax) * S));
    const k = long / Math.max(s.width, s.height);
    const tw = Math.max(1, Math.min(S, Math.round(s.width * k)));
    const th = Math.max(1, Math.min(S, Math.round(s.height * k)));
    const ox = rng.int(S - tw + 1);
    const oy = rng.int(S - th + 1);
    const mirror = rng.next() < 0.5;
    let ps = pre.get(si);
    if (!ps) pre.set(si, (ps = premultiplied(s)));
    const obj = resampleWindow(ps, s.width, s.height, 4, { x0: 0, y0: 0, w: s.width, h: s.height }, tw, th, mirror);
    const img = images.subarray(n * S * S * 3, (n + 1) * S * S * 3);
    const mask = masks.subarray(n * S * S, (n + 1) * S * S);
    for (let i = 0; i < S * S * 3; i++) img[i] = clampByte(bg[i]!);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const o = (y * tw + x) * 4;
        const a = Math.min(Math.max(obj[o + 3]!, 0), 1);
        const q = (oy + y) * S + ox + x;
        for (let c = 0; c < 3; c++) img[3 * q + c] = clampByte(obj[o + c]! + (1 - a) * bg[3 * q + c]!);
        mask[q] = a >= 0.5 ? 1 : 0;
      }
    }
    spriteIndex[n] = si;
    photoIndex[n] = pi;
  }
  return { images, masks, spriteIndex, photoIndex };
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** The seed of the held-out half of a data set whose training half has `seed` (different photos crops, other sprites). */
export function testSeed(seed: number): number {
  return (seed ^ 0x5eed7e57) >>> 0;
}
