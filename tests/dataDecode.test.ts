/** Resize / centre-crop math (against PIL's bytes), mask binarisation, format sniffing and Node-side decoding. */
import { describe, expect, it } from 'vitest';
import { encode as encodePng } from 'fast-png';
import { binariseMask, cropGeometry, resizeCropMask, resizeCropPlanes, resizeCropRgb } from '../src/data/resize';
import { classifyImage, DecodeRefusal, prepareImage, prepareMask, sniffImageFormat } from '../src/data/decode';

/** The synthetic image the PIL references were made from: R = 10x + 30y, G = 37xy, B = 255 − 30x (all mod 256). */
function synth(w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 3;
      out[p] = (10 * x + 30 * y) % 256;
      out[p + 1] = (x * y * 37) % 256;
      out[p + 2] = (((255 - 30 * x) % 256) + 256) % 256;
    }
  }
  return out;
}

/**
 * Bytes of torchvision `CenterCrop(S)(Resize(S)(img))` on the PIL image of synth(W, H), computed with Pillow 12.3
 * (`img.resize((ow, oh), Image.BILINEAR).crop(...)`, ow/oh/left/top as torchvision computes them).
 */
const PIL_REFERENCE: Array<{ w: number; h: number; s: number; geometry: [number, number, number, number]; bytes: number[] }> = [
  {
    w: 7,
    h: 5,
    s: 3,
    geometry: [4, 3, 0, 0],
    bytes: [18, 8, 239, 34, 33, 193, 52, 62, 137, 65, 39, 239, 81, 138, 193, 99, 120, 137, 112, 62, 239, 128, 127, 193, 146, 135, 137],
  },
  {
    w: 6,
    h: 17,
    s: 4,
    geometry: [4, 11, 0, 4],
    bytes: [
      196, 45, 244, 210, 106, 202, 224, 82, 158, 165, 64, 116, 191, 15, 244, 105, 71, 202, 69, 111, 158, 50, 132, 116, 36, 37, 244, 50, 154,
      202, 64, 151, 158, 78, 109, 116, 80, 58, 244, 94, 121, 202, 108, 138, 158, 122, 176, 116,
    ],
  },
  {
    w: 40,
    h: 30,
    s: 8,
    geometry: [10, 8, 1, 0],
    bytes: [
      107, 96, 98, 146, 97, 154, 171, 93, 106, 161, 109, 114, 119, 94, 122, 78, 110, 130, 91, 93, 138, 131, 108, 90, 161, 104, 98, 134, 122,
      154, 98, 104, 106, 90, 122, 114, 114, 117, 122, 150, 121, 130, 169, 118, 138, 155, 119, 90, 89, 115, 98, 108, 105, 154, 144, 109, 106,
      168, 112, 114, 160, 121, 122, 124, 118, 130, 97, 115, 138, 99, 116, 90, 165, 106, 98, 163, 117, 154, 131, 104, 106, 100, 123, 114, 96,
      130, 122, 123, 136, 130, 154, 126, 138, 161, 137, 90, 105, 117, 98, 94, 109, 154, 116, 114, 106, 149, 120, 114, 163, 125, 122, 143,
      130, 130, 105, 120, 138, 88, 131, 90, 144, 109, 98, 163, 121, 154, 149, 132, 106, 111, 124, 114, 89, 151, 122, 97, 136, 130, 130, 123,
      138, 161, 100, 90, 118, 130, 98, 91, 127, 154, 93, 126, 106, 124, 130, 114, 157, 141, 122, 165, 131, 130, 143, 105, 138, 105, 116, 90,
      106, 107, 98, 145, 115, 154, 179, 148, 106, 162, 135, 114, 113, 134, 122, 85, 117, 130, 94, 117, 138, 129, 140, 90,
    ],
  },
];

/** Larger PIL references, by checksum: sum of bytes, Σ (i mod 251 + 1)·byte_i, first 12 bytes. */
const PIL_CHECKSUMS = [
  {
    w: 64,
    h: 48,
    s: 32,
    geometry: [42, 32, 5, 0],
    sum: 383406,
    weighted: 47655787,
    head: [90, 14, 60, 105, 34, 216, 120, 56, 183, 135, 77, 138],
  },
  { w: 3, h: 2, s: 32, geometry: [48, 32, 8, 0], sum: 274944, weighted: 34155274, head: [0, 0, 254, 1, 0, 252, 2, 0, 250, 2, 0, 248] },
];

describe('cropGeometry (torchvision Resize(S) + CenterCrop(S))', () => {
  it('scales the shorter side to S, truncates the longer, centres the crop with Python rounding', () => {
    expect(cropGeometry(300, 200, 128)).toEqual({ resizedWidth: 192, resizedHeight: 128, left: 32, top: 0 });
    expect(cropGeometry(200, 300, 128)).toEqual({ resizedWidth: 128, resizedHeight: 192, left: 0, top: 32 });
    expect(cropGeometry(500, 375, 128)).toEqual({ resizedWidth: 170, resizedHeight: 128, left: 21, top: 0 }); // 42/2
    expect(cropGeometry(13, 8, 8)).toEqual({ resizedWidth: 13, resizedHeight: 8, left: 2, top: 0 }); // round(2.5) = 2
    expect(cropGeometry(15, 8, 8)).toEqual({ resizedWidth: 15, resizedHeight: 8, left: 4, top: 0 }); // round(3.5) = 4
    expect(cropGeometry(64, 64, 32)).toEqual({ resizedWidth: 32, resizedHeight: 32, left: 0, top: 0 });
    expect(cropGeometry(3, 2, 32)).toEqual({ resizedWidth: 48, resizedHeight: 32, left: 8, top: 0 });
  });
});

describe('resizeCropRgb', () => {
  it('gives exactly the bytes of PIL bilinear resize + centre crop (shrinking, portrait, strong shrinking)', () => {
    for (const c of PIL_REFERENCE) {
      const g = cropGeometry(c.w, c.h, c.s);
      expect([g.resizedWidth, g.resizedHeight, g.left, g.top]).toEqual(c.geometry);
      expect(Array.from(resizeCropRgb(synth(c.w, c.h), c.w, c.h, 3, c.s)), `${c.w}×${c.h}→${c.s}`).toEqual(c.bytes);
    }
  });

  it('matches PIL on a 64×48 shrink and a 3×2 → 32 enlargement (checksums)', () => {
    for (const c of PIL_CHECKSUMS) {
      const out = resizeCropRgb(synth(c.w, c.h), c.w, c.h, 3, c.s);
      expect(out.length).toBe(c.s * c.s * 3);
      expect(out.reduce((a, v) => a + v, 0)).toBe(c.sum);
      expect(out.reduce((a, v, i) => a + ((i % 251) + 1) * v, 0)).toBe(c.weighted);
      expect(Array.from(out.subarray(0, 12))).toEqual(c.head);
    }
  });

  it('is the identity at S×S and a pure crop when the short side already is S', () => {
    const img = synth(9, 9);
    expect(resizeCropRgb(img, 9, 9, 3, 9)).toEqual(img);
    const wide = synth(13, 8);
    const out = resizeCropRgb(wide, 13, 8, 3, 8);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        for (let c = 0; c < 3; c++) expect(out[(y * 8 + x) * 3 + c]).toBe(wide[(y * 13 + x + 2) * 3 + c]);
      }
    }
  });

  it('weighs the 4 source pixels under an inner output pixel .125 .375 .375 .125 when halving (antialiasing), and drops alpha', () => {
    const rgba = new Uint8Array(8 * 8 * 4);
    for (let i = 0; i < 64; i++) {
      const v = ((i % 8) + Math.floor(i / 8)) % 2 === 0 ? 200 : 100; // checkerboard
      rgba.set([v, v, v, i % 2 ? 0 : 255], i * 4);
    }
    const out = resizeCropRgb(rgba, 8, 8, 4, 4);
    for (const y of [1, 2]) for (const x of [1, 2]) for (let c = 0; c < 3; c++) expect(out[(y * 4 + x) * 3 + c]).toBe(150);
  });

  it('float planes: a constant stays constant; a ramp gives the weighted means of the taps', () => {
    const ramp = new Float32Array(8 * 4);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) ramp[y * 8 + x] = x;
    // 8×4 → S = 2: resized 4×2, crop left 1. Output 0 is resized column 1 (centre 3 in the source): taps x = 1..4
    // with weights .125 .375 .375 .125; output 1 is resized column 2 (centre 5): taps x = 3..6.
    const out = resizeCropPlanes(ramp, 8, 4, 1, 2);
    expect(out[0]).toBeCloseTo(1 * 0.125 + 2 * 0.375 + 3 * 0.375 + 4 * 0.125, 6); // 2.5
    expect(out[1]).toBeCloseTo(3 * 0.125 + 4 * 0.375 + 5 * 0.375 + 6 * 0.125, 6); // 4.5
    expect(Array.from(out)).toEqual([2.5, 4.5, 2.5, 4.5]);
    expect(resizeCropPlanes(new Float32Array(30).fill(0.25), 6, 5, 1, 3).every((v) => Math.abs(v - 0.25) < 1e-7)).toBe(true);
  });
});

describe('masks', () => {
  it('binarises grey masks at 128 and coloured masks by their most frequent colour', () => {
    expect(Array.from(binariseMask(new Uint8Array([0, 127, 128, 255]), 4, 1, 1))).toEqual([0, 0, 1, 1]);
    const grey = new Uint8Array([10, 10, 10, 200, 200, 200, 128, 128, 128]);
    expect(Array.from(binariseMask(grey, 3, 1, 3))).toEqual([0, 1, 1]);
    // Oxford-Flowers-like: object colours on a flat blue background
    const blue = [0, 0, 254];
    const px = [blue, [40, 20, 60], blue, blue, [250, 240, 10], blue];
    expect(Array.from(binariseMask(new Uint8Array(px.flat()), 6, 1, 3))).toEqual([0, 1, 0, 0, 1, 0]);
  });

  it('resizes a binary mask like its image and thresholds at 0.5', () => {
    // 8×4, left 3 columns object → S = 2: resized 4×2, crop left 1
    const m = new Uint8Array(8 * 4);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 3; x++) m[y * 8 + x] = 1;
    // resized column 1 (centre 3 in the source): weights x=1..4 .125 .375 .375 .125 → 0.125 + 0.375 = 0.5 → object
    // resized column 2 (centre 5): x=3..6 all background → 0
    expect(Array.from(resizeCropMask(m, 8, 4, 2))).toEqual([1, 0, 1, 0]);
  });
});

function png(w: number, h: number, rgb: Uint8Array): Uint8Array {
  return encodePng({ width: w, height: h, data: rgb, channels: 3, depth: 8 });
}

describe('classification and decoding', () => {
  it('sniffs the five supported formats by magic bytes', () => {
    expect(sniffImageFormat(png(2, 2, new Uint8Array(12)))).toBe('png');
    expect(sniffImageFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffImageFormat(new TextEncoder().encode('GIF89a......'))).toBe('gif');
    expect(sniffImageFormat(new TextEncoder().encode('RIFF\u0000\u0000\u0000\u0000WEBPVP8 '))).toBe('webp');
    expect(sniffImageFormat(new TextEncoder().encode('BM............'))).toBe('bmp');
    expect(sniffImageFormat(new TextEncoder().encode('hello'))).toBeNull();
  });

  it('refuses non-images with a reason', () => {
    const reason = (name: string, b: Uint8Array, type = '') => {
      try {
        classifyImage(name, b, type);
        return 'accepted';
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeRefusal);
        return (e as Error).message;
      }
    };
    const text = new TextEncoder().encode('just some notes\n');
    expect(reason('notes.txt', text)).toBe('not an image (text/plain)');
    expect(reason('notes', text)).toBe('not an image (text/plain)');
    expect(reason('data.json', new TextEncoder().encode('{}'))).toBe('not an image (application/json)');
    expect(reason('a.png', new Uint8Array(0))).toBe('empty file (0 bytes)');
    expect(reason('a.png', text)).toBe('not an image (text/plain, despite its .png name)');
    expect(reason('a.jpg', new Uint8Array([0, 1, 2, 3, 200, 201]))).toBe('corrupt image data: could not decode (no JPEG signature)');
    expect(reason('a.tiff', new Uint8Array([0x49, 0x49, 0x2a, 0]))).toBe(
      'unsupported image format (image/tiff); use JPEG, PNG, WebP, GIF or BMP',
    );
    expect(reason('blob', new Uint8Array([0, 1, 2, 255]))).toBe('not an image (unknown type: no JPEG, PNG, WebP, GIF or BMP signature)');
    expect(classifyImage('photo-without-extension', png(1, 1, new Uint8Array(3)))).toBe('png'); // the bytes decide
  });

  it('decodes a PNG in Node, resizes and crops it exactly like the pure math', async () => {
    const img = synth(40, 30);
    const out = await prepareImage('x/y.png', png(40, 30, img), 8);
    expect(out.width).toBe(40);
    expect(out.height).toBe(30);
    expect(Array.from(out.rgb)).toEqual(PIL_REFERENCE[2]!.bytes);
  });

  it('reports a truncated PNG as corrupt', async () => {
    const full = png(40, 30, synth(40, 30));
    await expect(prepareImage('t.png', full.subarray(0, Math.floor(full.length / 2)), 8)).rejects.toThrow(
      'corrupt image data: could not decode',
    );
    const flipped = full.slice();
    flipped[60]! ^= 0xff; // inside IDAT: CRC check fails
    await expect(prepareImage('t.png', flipped, 8)).rejects.toThrow('corrupt image data: could not decode');
  });

  it('decodes grey, 16-bit and palette PNGs to RGB', async () => {
    const grey = encodePng({ width: 2, height: 2, data: new Uint8Array([0, 255, 128, 64]), channels: 1, depth: 8 });
    const g = await prepareImage('g.png', grey, 2);
    expect(Array.from(g.rgb)).toEqual([0, 0, 0, 255, 255, 255, 128, 128, 128, 64, 64, 64]);
    const deep = encodePng({ width: 1, height: 1, data: new Uint16Array([65535, 0, 32896]), channels: 3, depth: 16 });
    expect(Array.from((await prepareImage('d.png', deep, 1)).rgb)).toEqual([255, 0, 128]);
    const pal = encodePng({
      width: 2,
      height: 1,
      data: new Uint8Array([0x10]), // 4-bit indices 1, 0
      channels: 1,
      depth: 4,
      palette: [
        [1, 2, 3],
        [250, 251, 252],
      ],
    });
    expect(Array.from((await prepareImage('p.png', pal, 1)).rgb)).toEqual([250, 251, 252]); // 2×1 → 1: crop keeps pixel 0 (index 1)
    const mask = await prepareMask('m.png', grey, 2);
    expect(Array.from(mask)).toEqual([0, 1, 1, 0]);
  });
});
