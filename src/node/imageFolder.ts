/**
 * Node-only: a folder of images (and optionally a folder of ground-truth masks) as a training set, prepared
 * exactly as the studio's ingest does (src/data): the same refusal reasons (src/data/decode.ts classifyImage),
 * the same resize of the shorter side and centre crop (src/data/resize.ts, torchvision Resize + CenterCrop),
 * the same mask binarisation, the same natural file order; images and masks are kept as bytes at training size
 * (src/redo/batches.ts reads them as x / 127.5 − 1 a batch at a time).
 * Decoding is pure JS (jimp: JPEG, PNG, BMP, GIF; EXIF orientation applied), after the header check the studio
 * does (src/data/decode.ts inspectImage: truncated files, decode bombs, HEIC, SVG… refused before any decoding).
 * A file that cannot be used is skipped with its name and reason; names that are not UTF-8 are read all the same.
 */
import { readdir, readFile } from 'node:fs/promises';
import { sep } from 'node:path';
import { Jimp } from 'jimp';
import { DECODE_LIMITS, DecodeRefusal, inspectImage, type DecodedPixels } from '../data/decode';
import { binariseMask, resizeCropMask, resizeCropRgb } from '../data/resize';
import { maskKeys, naturalOrder, stem } from '../data/names';
import type { ImageSet } from '../redo/batches';

export interface Skipped {
  name: string;
  reason: string;
}

export interface FolderDataset {
  images: ImageSet;
  /** Relative paths ('/'-separated), in the order of `images`. */
  names: string[];
  /** Binary object masks [N, S, S] in {0, 1} when every accepted image has one. */
  masks?: Uint8Array;
  skipped: Skipped[];
  warnings: Skipped[];
}

/** A file found under a folder: `name` for the user ('/'-separated, relative), `path` to read it by. */
export interface FolderFile {
  name: string;
  /**
   * The file's own bytes as a path: names that are not valid UTF-8 (a Latin-1 "café.jpg" from an old archive)
   * cannot be opened through a decoded string, so they are kept as bytes.
   */
  path: Buffer;
}

/** Every file under `dir` (recursively, hidden files and folders skipped), in natural order of their names. */
export async function listFolderFiles(dir: string): Promise<FolderFile[]> {
  const out: FolderFile[] = [];
  const walk = async (d: Buffer, rel: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true, encoding: 'buffer' });
    for (const e of entries) {
      if (e.name[0] === 0x2e) continue; // '.'
      const path = Buffer.concat([d, Buffer.from(sep), e.name]);
      const name = `${rel}${e.name.toString('utf8')}`; // invalid UTF-8 shows as U+FFFD
      if (e.isDirectory()) await walk(path, `${name}/`);
      else if (e.isFile()) out.push({ name, path });
    }
  };
  await walk(Buffer.from(dir), '');
  return out.sort((a, b) => naturalOrder.compare(a.name, b.name));
}

/** Every file under `dir`, as '/'-separated paths relative to it, in natural order; hidden files and folders skipped. */
export async function listFiles(dir: string): Promise<string[]> {
  return (await listFolderFiles(dir)).map((f) => f.name);
}

/**
 * Decodes an image file to 8-bit pixels, or throws DecodeRefusal with the reason. The header is checked first
 * (inspectImage, as the studio does): a truncated file, one too small to learn from at `size`, or one with more
 * pixels than jimp can hold within the trainer's memory (DECODE_LIMITS.jsMaxPixels: a decode bomb) is refused
 * before anything is decoded. `notes`: what is odd but fine (a PNG named .jpg, a CMYK JPEG, an animation).
 */
export async function decodeFile(name: string, bytes: Uint8Array, size = 1): Promise<DecodedPixels & { notes: string[] }> {
  const info = inspectImage(name, bytes, { size, maxPixels: DECODE_LIMITS.jsMaxPixels });
  if (info.format === 'webp') {
    throw new DecodeRefusal('cannot decode WebP in Node (the headless trainer reads JPEG, PNG, BMP and GIF); convert it to PNG');
  }
  try {
    // jpeg-js's own caps (100 MP, 512 MB of its buffers) would refuse some images under our pixel limit with a
    // confusing message; the limit is DECODE_LIMITS.jsMaxPixels, checked above (~22 bytes a pixel at its peak)
    const img = await Jimp.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      'image/jpeg': { maxResolutionInMP: DECODE_LIMITS.jsMaxPixels / 1e6, maxMemoryUsageInMB: 1024 },
    });
    const { width, height, data } = img.bitmap;
    if (width === 0 || height === 0) throw new DecodeRefusal('corrupt image data: could not decode (0×0 image)');
    return { width, height, channels: 4, data: new Uint8Array(data.buffer, data.byteOffset, width * height * 4), notes: info.notes };
  } catch (e) {
    if (e instanceof DecodeRefusal) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new DecodeRefusal(`corrupt image data: could not decode ${info.format.toUpperCase()} (${why})`);
  }
}

function reasonOf(e: unknown): string {
  if (e instanceof DecodeRefusal) return e.message;
  return `could not read (${e instanceof Error ? e.message : String(e)})`;
}

function toRgb(p: DecodedPixels, size: number): Uint8Array {
  if (p.channels === 1) {
    const rgb = new Uint8Array(p.width * p.height * 3);
    for (let i = 0; i < p.width * p.height; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = p.data[i]!;
    return resizeCropRgb(rgb, p.width, p.height, 3, size);
  }
  return resizeCropRgb(p.data, p.width, p.height, p.channels, size);
}

/**
 * Reads, decodes, resizes and crops every image under `dir` to size×size. Masks (when `masksDir` is given) are
 * matched by stem; they are kept only when every accepted image has one (as in the studio).
 * `onProgress(done, total)` after each file. Throws when no image at all could be used.
 */
export async function readImageFolder(
  dir: string,
  size: number,
  opts: { masksDir?: string; onProgress?: (done: number, total: number) => void } = {},
): Promise<FolderDataset> {
  const files = await listFolderFiles(dir);
  const maskFiles = opts.masksDir ? await listFolderFiles(opts.masksDir) : [];
  const skipped: Skipped[] = [];
  const warnings: Skipped[] = [];
  const total = files.length + maskFiles.length;
  let done = 0;
  const tick = () => opts.onProgress?.(++done, total);

  const masks = new Map<string, { name: string; mask: Uint8Array; used: boolean }>();
  const maskEntries: Array<{ name: string; mask: Uint8Array; used: boolean }> = [];
  for (const { name: f, path } of maskFiles) {
    try {
      const p = await decodeFile(f, new Uint8Array(await readFile(path)), size);
      const entry = {
        name: f,
        mask: resizeCropMask(binariseMask(p.data, p.width, p.height, p.channels), p.width, p.height, size),
        used: false,
      };
      maskEntries.push(entry);
      for (const k of maskKeys(f)) {
        if (masks.has(k))
          warnings.push({ name: f, reason: `ground-truth mask: another mask (${masks.get(k)!.name}) has the same name; that one is used` });
        else masks.set(k, entry);
      }
    } catch (e) {
      skipped.push({ name: f, reason: `ground-truth mask: ${reasonOf(e)}` });
    }
    tick();
  }

  const plane = size * size;
  const rgbs: Uint8Array[] = [];
  const objectMasks: Array<Uint8Array | undefined> = [];
  const names: string[] = [];
  for (const { name: f, path } of files) {
    try {
      const p = await decodeFile(f, new Uint8Array(await readFile(path)), size);
      for (const note of p.notes) warnings.push({ name: f, reason: note });
      if (p.width < size || p.height < size)
        warnings.push({ name: f, reason: `smaller than ${size}×${size} (${p.width}×${p.height}): upscaled, may look blurry` });
      rgbs.push(toRgb(p, size));
      names.push(f);
      if (maskEntries.length > 0) {
        const m = masks.get(stem(f));
        if (m) m.used = true;
        else warnings.push({ name: f, reason: `no ground-truth mask named ${stem(f)}.*` });
        objectMasks.push(m?.mask);
      }
    } catch (e) {
      skipped.push({ name: f, reason: reasonOf(e) });
    }
    tick();
  }
  if (rgbs.length === 0) {
    const shown = skipped.slice(0, 3).map((r) => `${r.name}: ${r.reason}`);
    throw new Error(
      `no usable images in ${dir} (${files.length} file${files.length === 1 ? '' : 's'}${shown.length ? `; ${shown.join('; ')}` : ''})`,
    );
  }
  for (const m of maskEntries) if (!m.used) warnings.push({ name: m.name, reason: 'ground-truth mask matches no image' });

  const pixels = new Uint8Array(rgbs.length * plane * 3);
  rgbs.forEach((rgb, i) => pixels.set(rgb, i * plane * 3));
  const out: FolderDataset = { images: { count: rgbs.length, size, pixels }, names, skipped, warnings };
  const withMask = objectMasks.filter((m) => m).length;
  if (maskEntries.length > 0) {
    if (withMask === rgbs.length) {
      const all = new Uint8Array(rgbs.length * plane);
      objectMasks.forEach((m, i) => all.set(m!, i * plane));
      out.masks = all;
    } else {
      warnings.push({
        name: '(ground-truth masks)',
        reason: `masks ignored: only ${withMask} of ${rgbs.length} images have one (accuracy and IoU need a mask for every image)`,
      });
    }
  }
  return out;
}
