/**
 * Image decoding for ingest. Runs in the training Web Worker (off the main thread): createImageBitmap decodes,
 * an OffscreenCanvas reads the pixels back, and the pure math of ./resize.ts resizes and crops. Where no browser
 * decoder exists (Node: the headless trainer and the tests) PNG is decoded in pure JS (fast-png); other formats
 * are refused there with a reason.
 */
import { convertIndexedToRgb, decode as decodePngPure } from 'fast-png';
import { binariseMask, resizeCropMask, resizeCropRgb } from './resize';

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'bmp';

export const SUPPORTED_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif', 'bmp'];

/** An image decoded to 8-bit pixels, `channels` interleaved (1 grey, 3 RGB or 4 RGBA). */
export interface DecodedPixels {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array | Uint8ClampedArray;
}

/** A per-file refusal: `reason` is what the user reads. */
export class DecodeRefusal extends Error {}

/** The image format named by the file's first bytes, or null. */
export function sniffImageFormat(b: Uint8Array): ImageFormat | null {
  const at = (i: number, ...bytes: number[]) => bytes.every((v, k) => b[i + k] === v);
  if (b.length >= 8 && at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (b.length >= 3 && at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (b.length >= 6 && (at(0, 0x47, 0x49, 0x46, 0x38, 0x37, 0x61) || at(0, 0x47, 0x49, 0x46, 0x38, 0x39, 0x61))) return 'gif';
  if (b.length >= 12 && at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  if (b.length >= 14 && at(0, 0x42, 0x4d)) return 'bmp';
  return null;
}

const EXTENSION_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  jfif: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  heic: 'image/heic',
  heif: 'image/heif',
  avif: 'image/avif',
  svg: 'image/svg+xml',
  ico: 'image/x-icon',
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  json: 'application/json',
  xml: 'application/xml',
  html: 'text/html',
  htm: 'text/html',
  pdf: 'application/pdf',
  zip: 'application/zip',
  mat: 'application/x-matlab-data',
  npy: 'application/x-npy',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
};

export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

/** The MIME type a file name suggests ('' when unknown). */
export function typeFromName(name: string): string {
  return EXTENSION_TYPES[extensionOf(name)] ?? '';
}

function looksLikeText(b: Uint8Array): boolean {
  const n = Math.min(b.length, 512);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c < 9 || (c > 13 && c < 32 && c !== 27)) return false;
  }
  return true;
}

/**
 * The format to decode `bytes` as, or a DecodeRefusal saying why the file is not a usable image.
 * The bytes decide (magic numbers); the name and the declared type only explain a refusal.
 */
export function classifyImage(name: string, bytes: Uint8Array, declaredType = ''): ImageFormat {
  if (bytes.length === 0) throw new DecodeRefusal('empty file (0 bytes)');
  const format = sniffImageFormat(bytes);
  if (format) return format;
  const type = declaredType || typeFromName(name);
  if (type.startsWith('image/')) {
    const short = type.slice('image/'.length);
    if (!['jpeg', 'png', 'webp', 'gif', 'bmp'].includes(short)) {
      throw new DecodeRefusal(`unsupported image format (${type}); use JPEG, PNG, WebP, GIF or BMP`);
    }
    if (looksLikeText(bytes)) throw new DecodeRefusal(`not an image (text/plain, despite its .${extensionOf(name)} name)`);
    throw new DecodeRefusal(`corrupt image data: could not decode (no ${short.toUpperCase()} signature)`);
  }
  if (type) throw new DecodeRefusal(`not an image (${type})`);
  if (looksLikeText(bytes)) throw new DecodeRefusal('not an image (text/plain)');
  return refuseUnknown();
}

function refuseUnknown(): never {
  throw new DecodeRefusal('not an image (unknown type: no JPEG, PNG, WebP, GIF or BMP signature)');
}

const MIME: Record<ImageFormat, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', bmp: 'image/bmp' };

/** Above this many source pixels, the browser first shrinks the image (high quality) to 4× the target's short side. */
const HUGE_PIXELS = 40_000_000;

function hasBrowserDecoder(): boolean {
  return typeof createImageBitmap === 'function' && typeof OffscreenCanvas === 'function';
}

async function decodeInBrowser(bytes: Uint8Array, format: ImageFormat, size: number): Promise<DecodedPixels> {
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: MIME[format] });
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch {
    throw new DecodeRefusal('corrupt image data: could not decode');
  }
  try {
    let { width, height } = bitmap;
    if (width === 0 || height === 0) throw new DecodeRefusal('corrupt image data: could not decode (0×0 image)');
    if (width * height > HUGE_PIXELS) {
      const f = (4 * size) / Math.min(width, height);
      if (f < 1) {
        const small = await createImageBitmap(bitmap, {
          resizeWidth: Math.max(1, Math.round(width * f)),
          resizeHeight: Math.max(1, Math.round(height * f)),
          resizeQuality: 'high',
          premultiplyAlpha: 'none',
        });
        bitmap.close();
        bitmap = small;
        ({ width, height } = bitmap);
      }
    }
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new DecodeRefusal('could not decode: no 2D canvas in this browser');
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, width, height).data;
    return { width, height, channels: 4, data };
  } finally {
    bitmap.close();
  }
}

function decodeInJs(bytes: Uint8Array, format: ImageFormat): DecodedPixels {
  if (format !== 'png') {
    throw new DecodeRefusal(`cannot decode ${format.toUpperCase()} here (no browser image decoder in this environment); convert it to PNG`);
  }
  try {
    const png = decodePngPure(bytes, { checkCrc: true });
    const { width, height, depth } = png;
    if (width === 0 || height === 0) throw new DecodeRefusal('corrupt image data: could not decode (0×0 image)');
    const n = width * height;
    if (png.palette) {
      const channels = png.palette[0]?.length === 4 ? 4 : 3;
      return { width, height, channels, data: convertIndexedToRgb(png) };
    }
    const ch = png.channels;
    const src = png.data;
    const data = new Uint8Array(n * ch);
    if (depth === 8) data.set(src.subarray(0, n * ch));
    else if (depth === 16) for (let i = 0; i < n * ch; i++) data[i] = Math.round(src[i]! / 257);
    else {
      // 1, 2 or 4 bits per sample, rows padded to whole bytes
      const rowBytes = Math.ceil((width * ch * depth) / 8);
      const max = 2 ** depth - 1;
      for (let y = 0; y < height; y++) {
        for (let i = 0; i < width * ch; i++) {
          const bit = i * depth;
          const byte = src[y * rowBytes + (bit >> 3)]!;
          const v = (byte >> (8 - depth - (bit & 7))) & max;
          data[y * width * ch + i] = Math.round((v * 255) / max);
        }
      }
    }
    if (ch === 3 || ch === 4) return { width, height, channels: ch, data };
    if (ch === 1 || ch === 2) {
      const grey = new Uint8Array(n);
      for (let i = 0; i < n; i++) grey[i] = data[i * ch]!; // alpha dropped
      return { width, height, channels: 1, data: grey };
    }
    throw new DecodeRefusal(`corrupt image data: could not decode (${ch} channels)`);
  } catch (e) {
    if (e instanceof DecodeRefusal) throw e;
    throw new DecodeRefusal('corrupt image data: could not decode');
  }
}

/**
 * Decodes an image file to 8-bit pixels. `size` (the run's image side) only lets the browser pre-shrink huge
 * images. Throws DecodeRefusal with the reason for a file that is not a usable image.
 */
export async function decodeImage(name: string, bytes: Uint8Array, size: number, declaredType = ''): Promise<DecodedPixels> {
  const format = classifyImage(name, bytes, declaredType);
  if (hasBrowserDecoder()) return decodeInBrowser(bytes, format, size);
  return decodeInJs(bytes, format);
}

function toRgbOrRgba(p: DecodedPixels): { data: ArrayLike<number>; channels: 3 | 4 } {
  if (p.channels === 3 || p.channels === 4) return { data: p.data, channels: p.channels };
  const rgb = new Uint8Array(p.width * p.height * 3);
  for (let i = 0; i < p.width * p.height; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = p.data[i]!;
  return { data: rgb, channels: 3 };
}

export interface PreparedImage {
  /** size·size·3 bytes, RGB, row-major. */
  rgb: Uint8Array;
  /** Source dimensions before resizing. */
  width: number;
  height: number;
}

/** Decode, resize (shorter side → size) and centre-crop to size×size RGB. */
export async function prepareImage(name: string, bytes: Uint8Array, size: number, declaredType = ''): Promise<PreparedImage> {
  const p = await decodeImage(name, bytes, size, declaredType);
  const { data, channels } = toRgbOrRgba(p);
  return { rgb: resizeCropRgb(data, p.width, p.height, channels, size), width: p.width, height: p.height };
}

/** Decode a ground-truth mask file, binarise it (see binariseMask), resize and crop it like its image: size·size bytes in {0, 1}. */
export async function prepareMask(name: string, bytes: Uint8Array, size: number, declaredType = ''): Promise<Uint8Array> {
  const p = await decodeImage(name, bytes, size, declaredType);
  const binary = binariseMask(p.data, p.width, p.height, p.channels);
  return resizeCropMask(binary, p.width, p.height, size);
}
