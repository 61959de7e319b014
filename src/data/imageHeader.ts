/**
 * Image headers read without decoding (pure; worker, Node and tests): the dimensions of a PNG, JPEG, GIF, BMP or
 * WebP file, its frame count and colour model, and whether the file ends before its image data does. Ingest reads
 * this first, so a decode bomb (a 30,000 × 30,000 PNG of a few MB) is refused or shrunk before any pixel is
 * allocated. Written by hand: the npm sniffers (image-size, probe-image-size) take file paths or streams, are
 * Node-first, and none checks that the file is complete.
 */

export type HeaderFormat = 'png' | 'jpeg' | 'gif' | 'bmp' | 'webp';

export interface ImageHeader {
  format: HeaderFormat;
  /** As displayed: EXIF orientations 5–8 swap a JPEG's stored width and height. */
  width: number;
  height: number;
  /** Frames of an animation (GIF, APNG, animated WebP); 1 for a still image. */
  frames: number;
  /** The colour model where it is unusual: 'CMYK', 'YCCK', 'greyscale', 'palette', '16-bit'. */
  colour?: string;
  /** Where the file ends too early (an incomplete download or copy), or undefined when it is whole. */
  truncated?: string;
}

/** A header that cannot be read: `message` says what is wrong. */
export class HeaderError extends Error {}

const u16be = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u16le = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32be = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const u32le = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const ascii = (b: Uint8Array, o: number, n: number) => String.fromCharCode(...b.subarray(o, o + n));

function need(b: Uint8Array, end: number, what: string): void {
  if (end > b.length) throw new HeaderError(`the file ends inside its ${what}`);
}

/** Reads the header of `bytes`, already sniffed as `format`. Throws HeaderError when the header itself is unreadable. */
export function readImageHeader(bytes: Uint8Array, format: HeaderFormat): ImageHeader {
  switch (format) {
    case 'png':
      return png(bytes);
    case 'jpeg':
      return jpeg(bytes);
    case 'gif':
      return gif(bytes);
    case 'bmp':
      return bmp(bytes);
    case 'webp':
      return webp(bytes);
  }
}

/** Chunks from the signature to IEND: IHDR's size, bit depth and colour type, acTL's frame count (APNG). */
function png(b: Uint8Array): ImageHeader {
  need(b, 8 + 8 + 13, 'IHDR chunk');
  if (ascii(b, 12, 4) !== 'IHDR') throw new HeaderError('its first chunk is not IHDR');
  const h: ImageHeader = { format: 'png', width: u32be(b, 16), height: u32be(b, 20), frames: 1 };
  const depth = b[24]!;
  const type = b[25]!;
  if (depth === 16) h.colour = '16-bit';
  else if (type === 3) h.colour = 'palette';
  else if (type === 0 || type === 4) h.colour = 'greyscale';
  let i = 8;
  for (;;) {
    if (i + 8 > b.length) {
      h.truncated = 'it ends before its IEND chunk';
      return h;
    }
    const len = u32be(b, i);
    const type = ascii(b, i + 4, 4);
    if (i + 12 + len > b.length) {
      h.truncated = `it ends inside its ${type.replace(/[^A-Za-z]/g, '?')} chunk`;
      return h;
    }
    if (type === 'acTL' && len >= 4) h.frames = Math.max(1, u32be(b, i + 8));
    if (type === 'IEND') return h;
    i += 12 + len;
  }
}

/**
 * Segments from SOI to EOI: the frame header (SOFn: size, components), Adobe's transform (CMYK / YCCK) and the
 * EXIF orientation; the entropy-coded data after each SOS is scanned for the next marker.
 */
function jpeg(b: Uint8Array): ImageHeader {
  const n = b.length;
  let width = 0;
  let height = 0;
  let components = 0;
  let adobeTransform = -1;
  let orientation = 1;
  let i = 2;
  const done = (truncated?: string): ImageHeader => {
    if (!components) {
      if (truncated) throw new HeaderError(`${truncated}, before its frame header (SOF)`);
      throw new HeaderError('it has no frame header (SOF)');
    }
    const swap = orientation >= 5 && orientation <= 8;
    const h: ImageHeader = { format: 'jpeg', width: swap ? height : width, height: swap ? width : height, frames: 1 };
    if (components === 4) h.colour = adobeTransform === 2 ? 'YCCK' : 'CMYK';
    else if (components === 1) h.colour = 'greyscale';
    if (truncated) h.truncated = truncated;
    return h;
  };
  for (;;) {
    // a marker: 0xFF (fill bytes allowed), then its code; stray bytes between segments are skipped as libjpeg does
    const ff = b.indexOf(0xff, i);
    if (ff < 0) return done('it ends before its end-of-image marker (EOI)');
    i = ff;
    while (i < n && b[i] === 0xff) i++;
    if (i >= n) return done('it ends before its end-of-image marker (EOI)');
    const m = b[i++]!;
    if (m === 0xd9) return done();
    if (m === 0x00 || m === 0x01 || m === 0xd8 || (m >= 0xd0 && m <= 0xd7)) continue; // no length
    if (i + 2 > n) return done('it ends inside a segment header');
    const len = u16be(b, i);
    if (len < 2) throw new HeaderError(`segment 0xFF${m.toString(16).toUpperCase()} has length ${len}`);
    if (i + len > n) return done(`it ends inside its 0xFF${m.toString(16).toUpperCase()} segment`);
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof && len >= 8) {
      height = u16be(b, i + 3);
      width = u16be(b, i + 5);
      components = b[i + 7]!;
    } else if (m === 0xe1 && len >= 16 && ascii(b, i + 2, 6) === 'Exif\0\0') orientation = exifOrientation(b, i + 8, i + len);
    else if (m === 0xee && len >= 14 && ascii(b, i + 2, 5) === 'Adobe') adobeTransform = b[i + 13]!;
    i += len;
    if (m === 0xda) {
      // entropy-coded data: 0xFF is stuffed as FF 00; RSTn markers (FF D0–D7) belong to it
      for (;;) {
        const j = b.indexOf(0xff, i);
        if (j < 0 || j + 1 >= n) return done('it ends inside its compressed image data (no end-of-image marker)');
        const x = b[j + 1]!;
        if (x === 0x00 || (x >= 0xd0 && x <= 0xd7)) i = j + 2;
        else if (x === 0xff) i = j + 1;
        else {
          i = j;
          break;
        }
      }
    }
  }
}

/** The EXIF orientation (1–8) from a TIFF structure at [start, end), or 1. */
function exifOrientation(b: Uint8Array, start: number, end: number): number {
  if (start + 8 > end) return 1;
  const le = b[start] === 0x49 && b[start + 1] === 0x49;
  if (!le && !(b[start] === 0x4d && b[start + 1] === 0x4d)) return 1;
  const r16 = (o: number) => (le ? u16le(b, o) : u16be(b, o));
  const r32 = (o: number) => (le ? u32le(b, o) : u32be(b, o));
  const ifd = start + r32(start + 4);
  if (ifd + 2 > end) return 1;
  const count = r16(ifd);
  for (let k = 0; k < count; k++) {
    const e = ifd + 2 + 12 * k;
    if (e + 12 > end) return 1;
    if (r16(e) === 0x0112) {
      const v = r16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/** The logical screen, then every block to the trailer (frames counted by image descriptors). */
function gif(b: Uint8Array): ImageHeader {
  need(b, 13, 'logical screen descriptor');
  const h: ImageHeader = { format: 'gif', width: u16le(b, 6), height: u16le(b, 8), frames: 0 };
  const flags = b[10]!;
  let i = 13 + (flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0);
  const subBlocks = (): boolean => {
    for (;;) {
      if (i >= b.length) return false;
      const s = b[i++]!;
      if (s === 0) return true;
      i += s;
    }
  };
  const cut = (where: string): ImageHeader => {
    if (h.frames === 0) throw new HeaderError(`the file ends ${where}, before its first frame is complete`);
    h.truncated = `it ends ${where}`;
    return h;
  };
  for (;;) {
    if (i >= b.length) return cut('before its trailer');
    const t = b[i++]!;
    if (t === 0x3b) break;
    if (t === 0x21) {
      i++; // label
      if (!subBlocks()) return cut('inside an extension block');
    } else if (t === 0x2c) {
      if (i + 9 > b.length) return cut('inside an image descriptor');
      const local = b[i + 8]!;
      i += 9 + (local & 0x80 ? 3 * 2 ** ((local & 7) + 1) : 0) + 1; // + LZW minimum code size
      if (!subBlocks()) return cut('inside a frame');
      h.frames++;
    } else if (h.frames > 0)
      break; // what browsers do after a damaged block: show the frames so far
    else throw new HeaderError(`unknown block 0x${t.toString(16)} before the first frame`);
  }
  if (h.frames === 0) throw new HeaderError('it holds no frame');
  return h;
}

/** BITMAPINFOHEADER (or the OS/2 core header): size, bits per pixel, and the pixel array's extent. */
function bmp(b: Uint8Array): ImageHeader {
  need(b, 26, 'header');
  const dib = u32le(b, 14);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = 0;
  if (dib === 12) {
    width = u16le(b, 18);
    height = u16le(b, 20);
    bpp = u16le(b, 24);
  } else {
    need(b, 34, 'header');
    width = u32le(b, 18) | 0;
    height = Math.abs(u32le(b, 22) | 0); // negative: rows stored top-down
    bpp = u16le(b, 28);
    compression = u32le(b, 30);
  }
  if (width < 0) throw new HeaderError(`its width is ${width}`);
  const h: ImageHeader = { format: 'bmp', width, height, frames: 1 };
  if (bpp <= 8) h.colour = 'palette';
  const dataOffset = u32le(b, 10);
  // uncompressed (BI_RGB, BI_BITFIELDS): every row is there, padded to 4 bytes
  if ((compression === 0 || compression === 3) && width > 0 && height > 0) {
    const end = dataOffset + Math.ceil((width * bpp) / 32) * 4 * height;
    if (end > b.length) h.truncated = `it ends inside its pixel data (${b.length} of ${end} bytes)`;
  }
  return h;
}

/** RIFF container: VP8 (lossy), VP8L (lossless) or VP8X (extended: canvas size, ANMF frames). */
function webp(b: Uint8Array): ImageHeader {
  need(b, 30, 'header');
  const riffEnd = 8 + u32le(b, 4);
  const chunk = ascii(b, 12, 4);
  let h: ImageHeader;
  if (chunk === 'VP8 ') {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) throw new HeaderError('its VP8 frame has no start code');
    h = { format: 'webp', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff, frames: 1 };
  } else if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) throw new HeaderError('its VP8L stream has no signature');
    const bits = u32le(b, 21);
    h = { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, frames: 1 };
  } else if (chunk === 'VP8X') {
    const u24 = (o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
    h = { format: 'webp', width: 1 + u24(24), height: 1 + u24(27), frames: 1 };
    if (b[20]! & 0x02) {
      let frames = 0;
      for (let i = 12; i + 8 <= Math.min(b.length, riffEnd); i += 8 + u32le(b, i + 4) + (u32le(b, i + 4) & 1)) {
        if (ascii(b, i, 4) === 'ANMF') frames++;
      }
      h.frames = Math.max(1, frames);
    }
  } else throw new HeaderError(`unknown WebP chunk "${chunk}"`);
  if (riffEnd > b.length) h.truncated = `it ends before its RIFF container does (${b.length} of ${riffEnd} bytes)`;
  return h;
}
