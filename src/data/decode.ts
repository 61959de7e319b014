/**
 * Image decoding for ingest. Runs in the training Web Worker (off the main thread): createImageBitmap decodes,
 * an OffscreenCanvas reads the pixels back, and the pure math of ./resize.ts resizes and crops. Where no browser
 * decoder exists (Node: the headless trainer and the tests) PNG is decoded in pure JS (fast-png); other formats
 * are refused there with a reason.
 *
 * Every file is inspected before it is decoded (inspectImage: its signature and header, ./imageHeader.ts): odd
 * and hostile files are refused with their reason (empty, truncated, HEIC, SVG, too small to learn from, too
 * many pixels to decode safely: a decode bomb), and what is unusual but fine is noted (a PNG named .jpg, a CMYK
 * JPEG, the first frame of an animation). Huge images are shrunk by the browser while it decodes them.
 */
import { convertIndexedToRgb, decode as decodePngPure } from 'fast-png';
import { HeaderError, readImageHeader, type ImageHeader } from './imageHeader';
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

/** Formats that are images but not readable here, recognised by their first bytes, with what to do instead. */
function sniffUnsupported(b: Uint8Array): string | null {
  const text = (o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));
  if (b.length >= 12 && text(4, 4) === 'ftyp') {
    const brands = text(8, 4) + (b.length >= 32 ? text(16, Math.min(16, b.length - 16)) : '');
    if (/avi[fs]/.test(brands)) return UNSUPPORTED.avif!; // AVIF also lists mif1: first
    if (/hei[cxms]|hev[cx]|mif1|msf1/.test(brands)) return UNSUPPORTED.heic!;
  }
  const head = new TextDecoder()
    .decode(b.subarray(0, 1024))
    .replace(/^\uFEFF/, '')
    .trimStart();
  const svg = /^<svg[\s>]/i.test(head) || /^<!DOCTYPE svg/i.test(head) || (/^<\?xml/i.test(head) && /<svg[\s>]/i.test(head));
  if (svg) return UNSUPPORTED.svg!;
  return null;
}

/** What the user reads for an image format the studio and the trainer cannot use. */
const UNSUPPORTED: Record<string, string> = {
  heic:
    'HEIC photo (the iPhone\u2019s format), which no decoder here reads: export it as JPEG ' +
    '(on the iPhone: Settings \u2192 Camera \u2192 Formats \u2192 Most Compatible)',
  avif: 'AVIF image, not supported here: convert it to PNG or JPEG',
  svg: 'SVG drawing (vector graphics), not a photo: export it as PNG',
};

const UNSUPPORTED_TYPES: Record<string, string> = {
  'image/heic': UNSUPPORTED.heic!,
  'image/heif': UNSUPPORTED.heic!,
  'image/avif': UNSUPPORTED.avif!,
  'image/svg+xml': UNSUPPORTED.svg!,
};

/**
 * The format to decode `bytes` as, or a DecodeRefusal saying why the file is not a usable image.
 * The bytes decide (magic numbers); the name and the declared type only explain a refusal.
 */
export function classifyImage(name: string, bytes: Uint8Array, declaredType = ''): ImageFormat {
  if (bytes.length === 0) throw new DecodeRefusal('empty file (0 bytes)');
  const format = sniffImageFormat(bytes);
  if (format) return format;
  const named = sniffUnsupported(bytes);
  const type = declaredType || typeFromName(name);
  if (named) {
    const ext = extensionOf(name);
    const despite = ext && UNSUPPORTED_TYPES[type] !== named ? ` (despite its .${ext} name)` : '';
    throw new DecodeRefusal(`unsupported image format: ${named}${despite}`);
  }
  if (type.startsWith('image/')) {
    const short = type.slice('image/'.length);
    if (!['jpeg', 'png', 'webp', 'gif', 'bmp'].includes(short)) {
      const advice = UNSUPPORTED_TYPES[type];
      if (advice) throw new DecodeRefusal(`unsupported image format: ${advice}`);
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

/**
 * How big an image may be. Tuning (tests change them); megapixels are what decoders allocate for (4 bytes a
 * pixel in the browser; jimp and fast-png hold the file, the inflated rows and the bitmap: ~15–20 bytes a pixel).
 */
export const DECODE_LIMITS = {
  /** The browser decodes up to this many pixels at full size; above, it shrinks the image while decoding it. */
  directPixels: 40_000_000,
  /** Browser: refused above (even shrunk, a decoder may hold the whole image: 1 GB at this size). */
  browserMaxPixels: 250_000_000,
  /** Pure-JS decoding (Node: the headless trainer's jimp, fast-png) holds the whole image: refused above. */
  jsMaxPixels: 40_000_000,
  /** An image whose shorter side would be upscaled more than this many times holds nothing to learn from. */
  maxUpscale: 8,
};

/** A file's header, checked: what will be decoded, and the notes for the user (`warnings`) about what is odd but fine. */
export interface ImageInfo extends ImageHeader {
  notes: string[];
}

function megapixels(w: number, h: number): string {
  const mp = (w * h) / 1e6;
  return mp >= 10 ? mp.toFixed(0) : mp.toFixed(1);
}

/**
 * Classifies a file and reads its header without decoding it; throws DecodeRefusal naming the reason when it
 * cannot be used: not an image, truncated, too small for `size` (upscaled more than DECODE_LIMITS.maxUpscale
 * times), or more than `maxPixels` pixels (a decode bomb, or simply more than the decoder can hold).
 */
export function inspectImage(name: string, bytes: Uint8Array, o: { size: number; maxPixels: number; declaredType?: string }): ImageInfo {
  const format = classifyImage(name, bytes, o.declaredType ?? '');
  const label = format.toUpperCase();
  let h: ImageHeader;
  try {
    h = readImageHeader(bytes, format);
  } catch (e) {
    throw new DecodeRefusal(`corrupt image data: could not decode (${label} header: ${e instanceof HeaderError ? e.message : String(e)})`);
  }
  if (h.truncated) {
    throw new DecodeRefusal(`corrupt image data: could not decode (truncated ${label}: ${h.truncated}; an incomplete download or copy?)`);
  }
  const { width: w, height: ht } = h;
  if (w === 0 || ht === 0) throw new DecodeRefusal(`corrupt image data: could not decode (${w}×${ht} image)`);
  const shorter = Math.min(w, ht);
  if (shorter * DECODE_LIMITS.maxUpscale < o.size) {
    throw new DecodeRefusal(
      `too small to learn from: ${w}×${ht} pixels would be upscaled ${Math.round(o.size / shorter)}× to ${o.size}×${o.size} ` +
        `(at most ${DECODE_LIMITS.maxUpscale}×: at least ${Math.ceil(o.size / DECODE_LIMITS.maxUpscale)} px on the shorter side)`,
    );
  }
  if (w * ht > o.maxPixels) {
    const studioMp = megapixels(DECODE_LIMITS.browserMaxPixels, 1);
    const studio = o.maxPixels < DECODE_LIMITS.browserMaxPixels ? ` (the studio reads up to ${studioMp} megapixels)` : '';
    throw new DecodeRefusal(
      `too large to decode safely: ${w}×${ht} is ${megapixels(w, ht)} megapixels, over the ${megapixels(o.maxPixels, 1)}-megapixel ` +
        `limit here (a decode bomb, or a huge scan); shrink it first${studio}`,
    );
  }
  const notes: string[] = [];
  const ext = extensionOf(name);
  const named = typeFromName(name);
  if (named.startsWith('image/') && named !== MIME[format]) notes.push(`a ${label} file with a .${ext} name: read as ${label}`);
  if (h.colour === 'CMYK' || h.colour === 'YCCK') notes.push(`${h.colour} JPEG (print colours): converted to RGB`);
  if (h.frames > 1) notes.push(`animated ${label} (${h.frames} frames): the first frame is used`);
  return { ...h, notes };
}

/**
 * The size a huge image is decoded at in the browser (createImageBitmap's resize options): its shorter side at
 * 4 × the training size, so that the exact resize of ./resize.ts still has pixels to average. null: decode as is.
 */
export function shrinkWhileDecoding(width: number, height: number, size: number): { resizeWidth: number; resizeHeight: number } | null {
  if (width * height <= DECODE_LIMITS.directPixels) return null;
  const f = (4 * size) / Math.min(width, height);
  if (f >= 1) return null;
  return { resizeWidth: Math.max(1, Math.round(width * f)), resizeHeight: Math.max(1, Math.round(height * f)) };
}

const MIME: Record<ImageFormat, string> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', bmp: 'image/bmp' };

function hasBrowserDecoder(): boolean {
  return typeof createImageBitmap === 'function' && typeof OffscreenCanvas === 'function';
}

/** createImageBitmap straight from the file's bytes; a huge image is shrunk by the decoder (resize options), never held whole here. */
async function decodeInBrowser(bytes: Uint8Array, info: ImageInfo, size: number): Promise<DecodedPixels> {
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: MIME[info.format] });
  const shrink = shrinkWhileDecoding(info.width, info.height, size);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, {
      premultiplyAlpha: 'none',
      imageOrientation: 'from-image',
      ...(shrink ? { ...shrink, resizeQuality: 'high' } : {}),
    });
  } catch {
    throw new DecodeRefusal('corrupt image data: could not decode');
  }
  try {
    const { width, height } = bitmap;
    if (width === 0 || height === 0) throw new DecodeRefusal('corrupt image data: could not decode (0×0 image)');
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
 * Decodes an image file to 8-bit pixels, after inspectImage has checked it (the refusals and notes there).
 * `size` (the run's image side) lets the browser shrink huge images while decoding. Throws DecodeRefusal with the
 * reason for a file that is not a usable image.
 */
export async function decodeImage(
  name: string,
  bytes: Uint8Array,
  size: number,
  declaredType = '',
): Promise<DecodedPixels & { notes: string[] }> {
  const browser = hasBrowserDecoder();
  const maxPixels = browser ? DECODE_LIMITS.browserMaxPixels : DECODE_LIMITS.jsMaxPixels;
  const info = inspectImage(name, bytes, { size, declaredType, maxPixels });
  const pixels = browser ? await decodeInBrowser(bytes, info, size) : decodeInJs(bytes, info.format);
  return { ...pixels, notes: info.notes };
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
  /** Source dimensions before resizing (after the browser's shrinking of a huge image). */
  width: number;
  height: number;
  /** What was odd but fine about the file (inspectImage), for the user's warnings. */
  notes: string[];
}

/** Decode, resize (shorter side → size) and centre-crop to size×size RGB. */
export async function prepareImage(name: string, bytes: Uint8Array, size: number, declaredType = ''): Promise<PreparedImage> {
  const p = await decodeImage(name, bytes, size, declaredType);
  const { data, channels } = toRgbOrRgba(p);
  return { rgb: resizeCropRgb(data, p.width, p.height, channels, size), width: p.width, height: p.height, notes: p.notes };
}

/** Decode a ground-truth mask file, binarise it (see binariseMask), resize and crop it like its image: size·size bytes in {0, 1}. */
export async function prepareMask(name: string, bytes: Uint8Array, size: number, declaredType = ''): Promise<Uint8Array> {
  const p = await decodeImage(name, bytes, size, declaredType);
  const binary = binariseMask(p.data, p.width, p.height, p.channels);
  return resizeCropMask(binary, p.width, p.height, size);
}
