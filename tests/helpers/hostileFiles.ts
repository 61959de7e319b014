/**
 * Odd and hostile files for the ingest tests, generated (nothing big is committed): truncated PNG and JPEG, 16-bit,
 * greyscale and palette PNGs, an animated GIF, a CMYK JPEG (433 bytes, made once with Pillow), HEIC and SVG
 * look-alikes, PNGs of any size made of zeros (a 30,000 × 30,000 decode bomb is a ~17 MB file built in
 * milliseconds: its deflate stream is written by hand), zip bombs and zips with `../` and non-UTF-8 names.
 */
import { encode as encodePng } from 'fast-png';
import { zipSync } from 'fflate';
import { Jimp } from 'jimp';
import { crc32 } from '../../src/formats/zip';

/** An RGB gradient PNG of w × h. */
export function rgbPng(w: number, h: number, seed = 1): Uint8Array {
  const data = new Uint8Array(w * h * 3).map((_, i) => (i * 7 + seed * 31 + Math.floor(i / (3 * w)) * 5) % 256);
  return encodePng({ width: w, height: h, data, channels: 3, depth: 8 });
}

export function greyPng(w: number, h: number): Uint8Array {
  return encodePng({ width: w, height: h, data: new Uint8Array(w * h).map((_, i) => (i * 13) % 256), channels: 1, depth: 8 });
}

export function deepPng(w: number, h: number): Uint8Array {
  return encodePng({ width: w, height: h, data: new Uint16Array(w * h * 3).map((_, i) => (i * 977) % 65536), channels: 3, depth: 16 });
}

export function palettePng(w: number, h: number): Uint8Array {
  return encodePng({
    width: w,
    height: h,
    data: new Uint8Array(w * h).map((_, i) => i % 3),
    channels: 1,
    depth: 8,
    palette: [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ],
  });
}

/** A baseline JPEG (jimp's encoder) of w × h. */
export async function jpeg(w: number, h: number): Promise<Uint8Array> {
  const img = new Jimp({ width: w, height: h, color: 0x3366ccff });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) img.setPixelColor(((((x * 8) & 255) << 24) | (((y * 8) & 255) << 16) | 0x80ff) >>> 0, x, y);
  }
  return new Uint8Array(await img.getBuffer('image/jpeg'));
}

/**
 * A 16 × 12 CMYK JPEG with Adobe's APP14 marker, made with Pillow 9.4:
 * `Image.new('CMYK', (16, 12))`, pixel (x, y) = (16x, 20y, 0, 40), `save(..., 'JPEG', quality=90)`.
 */
export const CMYK_JPEG = Uint8Array.from(
  atob(
    '/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwADAgIDAgIDAwMDBAMDBAUIBQUEBAUKBwcGCAwKDAwLCgsLDQ4SEA0OEQ4LCxAWEBETFBUVFQwPFxgWFBgSFBUU/8AAFAgADAAQBEMR' +
      'AE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHw' +
      'JDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TF' +
      'xsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD69/aS/wCXr8a+mP8Ahrb/AKff/Hq/VOvuivyq/aS/5evxo/4a2/6ff/HqKK/V' +
      'X9pL/l6/GvyX/wCFk69/z9/of8aKK/Kr9pL/AJevxo/4WTr3/P3+h/xoor//2Q==',
  ),
  (c) => c.charCodeAt(0),
);

/**
 * A GIF of `frames` frames of w × h (4 colours), LZW written by hand: every pixel is emitted as a literal code
 * and a clear code keeps the code width at 3 bits.
 */
export function animatedGif(w: number, h: number, frames: number): Uint8Array {
  const out: number[] = [...'GIF89a'].map((c) => c.charCodeAt(0));
  out.push(w & 255, w >> 8, h & 255, h >> 8, 0x81, 0, 0); // global colour table of 4 entries
  out.push(255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255);
  out.push(0x21, 0xff, 11, ...[...'NETSCAPE2.0'].map((c) => c.charCodeAt(0)), 3, 1, 0, 0, 0); // loop forever
  for (let f = 0; f < frames; f++) {
    out.push(0x21, 0xf9, 4, 0, 10, 0, 0, 0); // graphic control: 0.1 s
    out.push(0x2c, 0, 0, 0, 0, w & 255, w >> 8, h & 255, h >> 8, 0);
    out.push(2); // LZW minimum code size: codes 0–3 colours, 4 clear, 5 end, 3 bits wide
    let acc = 0;
    let bits = 0;
    const bytes: number[] = [];
    const code = (c: number) => {
      acc |= c << bits;
      bits += 3;
      while (bits >= 8) {
        bytes.push(acc & 255);
        acc >>= 8;
        bits -= 8;
      }
    };
    for (let p = 0; p < w * h; p++) {
      if (p % 2 === 0) code(4); // clear before the table would need 4-bit codes
      code((p + f) % 4);
    }
    code(5);
    if (bits > 0) bytes.push(acc & 255);
    for (let i = 0; i < bytes.length; i += 255) out.push(Math.min(255, bytes.length - i), ...bytes.slice(i, i + 255));
    out.push(0);
  }
  out.push(0x3b);
  return Uint8Array.from(out);
}

/** An ISO-BMFF header with brand `heic` (what an iPhone photo starts with) and some data. */
export function heicLookAlike(): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0, 0, 0, 24], 0);
  b.set(
    [...'ftypheic'].map((c) => c.charCodeAt(0)),
    4,
  );
  b.set(
    [...'mif1heic'].map((c) => c.charCodeAt(0)),
    16,
  );
  return b;
}

export const SVG = new TextEncoder().encode(
  '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle r="20"/></svg>\n',
);

function u32be(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const td = new Uint8Array(4 + data.length);
  td.set([...type].map((c) => c.charCodeAt(0)));
  td.set(data, 4);
  const out = new Uint8Array(12 + data.length);
  out.set(u32be(data.length));
  out.set(td, 4);
  out.set(u32be(crc32(td)), 8 + data.length);
  return out;
}

/**
 * A zlib stream of `n` zero bytes, written directly: one fixed-Huffman block of a literal 0 followed by
 * "copy 258 bytes from distance 1" codes (13 bits each), the rest as literals, then Adler-32. Valid for any
 * decoder, built in milliseconds for gigabytes.
 */
export function zerosZlib(n: number): Uint8Array {
  const copies = n > 0 ? Math.floor((n - 1) / 258) : 0;
  const literals = n - 258 * copies;
  const out = new Uint8Array(2 + Math.ceil((3 + 8 * literals + 13 * copies + 7) / 8) + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let o = 2;
  let acc = 0;
  let bits = 0;
  const put = (v: number, len: number) => {
    acc |= v << bits;
    bits += len;
    while (bits >= 8) {
      out[o++] = acc & 255;
      acc >>>= 8;
      bits -= 8;
    }
  };
  // Huffman codes go most-significant bit first into the least-significant-first stream: reversed once here
  const reverse = (code: number, len: number) => {
    let r = 0;
    for (let i = 0; i < len; i++) r |= ((code >> i) & 1) << (len - 1 - i);
    return r;
  };
  const LITERAL_0 = reverse(0x30, 8); // 00110000
  const COPY_258_DIST_1 = reverse(0xc5, 8); // length code 285 = 258 (11000101), then distance code 0 (00000) = 1
  put(1, 1); // final block
  put(1, 2); // fixed Huffman codes
  if (literals > 0) put(LITERAL_0, 8);
  for (let i = 0; i < copies; i++) put(COPY_258_DIST_1, 13);
  for (let i = 1; i < literals; i++) put(LITERAL_0, 8);
  put(0, 7); // end of block (256): 0000000
  if (bits > 0) out[o++] = acc & 255;
  // Adler-32 of n zeros: a = 1, b = n mod 65521
  const b = Number(BigInt(n) % 65521n);
  out.set(u32be(((b << 16) | 1) >>> 0), o);
  return out.subarray(0, o + 4);
}

/** A w × h RGB PNG, all black, as a zlib stream of zeros written directly (a decode bomb when large). */
export function zeroPng(w: number, h: number): Uint8Array {
  const ihdr = new Uint8Array([...u32be(w), ...u32be(h), 8, 2, 0, 0, 0]);
  const idat = zerosZlib(h * (1 + 3 * w));
  const signature = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const parts = [signature, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A zip with one deflated entry of `n` zeros whose headers claim `declared` bytes (a zip bomb: honest when
 * declared = n, lying when smaller).
 */
export function zipBomb(name: string, n: number, declared = n): Uint8Array {
  const zlib = zerosZlib(n);
  const raw = zlib.subarray(2, zlib.length - 4); // raw deflate
  const nameBytes = new TextEncoder().encode(name);
  const crc = 0; // not checked before the size limits
  const local = new Uint8Array(30 + nameBytes.length);
  const lv = new DataView(local.buffer);
  lv.setUint32(0, 0x04034b50, true);
  lv.setUint16(4, 20, true);
  lv.setUint16(8, 8, true);
  lv.setUint32(14, crc, true);
  lv.setUint32(18, raw.length, true);
  lv.setUint32(22, Math.min(declared, 0xfffffffe), true);
  lv.setUint16(26, nameBytes.length, true);
  local.set(nameBytes, 30);
  const central = new Uint8Array(46 + nameBytes.length);
  const cv = new DataView(central.buffer);
  cv.setUint32(0, 0x02014b50, true);
  cv.setUint16(4, 20, true);
  cv.setUint16(6, 20, true);
  cv.setUint16(10, 8, true);
  cv.setUint32(16, crc, true);
  cv.setUint32(20, raw.length, true);
  cv.setUint32(24, Math.min(declared, 0xfffffffe), true);
  cv.setUint16(28, nameBytes.length, true);
  central.set(nameBytes, 46);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, 1, true);
  ev.setUint16(10, 1, true);
  ev.setUint32(12, central.length, true);
  ev.setUint32(16, local.length + raw.length, true);
  const out = new Uint8Array(local.length + raw.length + central.length + end.length);
  out.set(local);
  out.set(raw, local.length);
  out.set(central, local.length + raw.length);
  out.set(end, local.length + raw.length + central.length);
  return out;
}

/**
 * A zip whose entry name is stored in the legacy code page (no UTF-8 flag): `name` must be ASCII with one '?'
 * that becomes the raw byte `raw` (0x82 is "é" in code page 437).
 */
export function zipWithRawName(name: string, data: Uint8Array, raw: number): Uint8Array {
  const z = zipSync({ [name]: [data, { level: 0 }] });
  const ascii = new TextEncoder().encode(name);
  const q = name.indexOf('?');
  for (let i = 0; i + ascii.length <= z.length; i++) {
    if (ascii.every((c, k) => z[i + k] === c)) z[i + q] = raw;
  }
  return z;
}
