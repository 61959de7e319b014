/**
 * Odd and hostile files, in the studio's ingest (src/data: inspectImage, ingestDataset with IndexedDB faked,
 * readZip) and the trainer's folder reader (src/node/imageFolder.ts readImageFolder) alike, and on import
 * (readWeightsFile, readRunArchive): every case is named with its reason and nothing takes the process down.
 * docs/files.md lists the same cases. Fixtures are generated (tests/helpers/hostileFiles.ts).
 */
import 'fake-indexeddb/auto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import * as tf from '../src/redo/tf';
import { captureTrainingState, imageSlice, preset, RedoModel, RedoTrainer, type NamedTensorData } from '../src/redo';
import { encodeSafetensors } from '../src/formats/safetensors';
import { DECODE_LIMITS, DecodeRefusal, inspectImage, prepareImage, shrinkWhileDecoding } from '../src/data/decode';
import { readImageHeader } from '../src/data/imageHeader';
import { ingestDataset } from '../src/data/ingest';
import { loadDataset } from '../src/data/datasets';
import { closeStudioDb } from '../src/data/db';
import { readZip, safeEntryName, ZIP_LIMITS } from '../src/formats/zip';
import { readImageFolder } from '../src/node/imageFolder';
import { ArchiveError, readRunArchive, readWeightsFile } from '../src/formats/runArchive';
import {
  animatedGif,
  CMYK_JPEG,
  deepPng,
  greyPng,
  heicLookAlike,
  jpeg,
  palettePng,
  rgbPng,
  SVG,
  zeroPng,
  zipBomb,
  zipWithRawName,
} from './helpers/hostileFiles';

const S = 32;

/** The refusal inspectImage gives (studio limits unless `maxPixels`), or 'accepted: <notes>'. */
function verdict(name: string, bytes: Uint8Array, maxPixels = DECODE_LIMITS.browserMaxPixels): string {
  try {
    return `accepted: ${inspectImage(name, bytes, { size: S, maxPixels }).notes.join('; ')}`;
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeRefusal);
    return (e as Error).message;
  }
}

let fixtures: Record<string, Uint8Array>;

beforeAll(async () => {
  const jpg = await jpeg(48, 40);
  const png = rgbPng(48, 40);
  fixtures = {
    'empty.png': new Uint8Array(0),
    'truncated.png': png.subarray(0, Math.floor(png.length * 0.6)),
    'truncated.jpg': jpg.subarray(0, Math.floor(jpg.length * 0.6)),
    'png-named.jpg': png,
    'cmyk.jpg': CMYK_JPEG,
    'deep16.png': deepPng(40, 36),
    'grey.png': greyPng(40, 36),
    'palette.png': palettePng(40, 36),
    'animated.gif': animatedGif(40, 36, 3),
    'one-pixel.png': rgbPng(1, 1),
    'huge-12000.png': zeroPng(12_000, 12_000),
    'bomb-30000.png': zeroPng(30_000, 30_000),
    'drawing.svg': SVG,
    'IMG_0001.heic': heicLookAlike(),
    'photo.jpg': jpg,
  };
  await tf.setBackend('cpu');
});

afterAll(() => closeStudioDb());

describe('header sniffer', () => {
  it('reads PNG, JPEG (EXIF orientation applied), GIF, BMP and WebP sizes without decoding, and sees truncation', async () => {
    expect(readImageHeader(fixtures['bomb-30000.png']!, 'png')).toEqual({ format: 'png', width: 30_000, height: 30_000, frames: 1 });
    expect(fixtures['bomb-30000.png']!.length).toBeLessThan(20 * 1024 * 1024); // a "few MB" file, 2.7 GB of pixels
    expect(readImageHeader(fixtures['photo.jpg']!, 'jpeg')).toEqual({ format: 'jpeg', width: 48, height: 40, frames: 1 });
    expect(readImageHeader(CMYK_JPEG, 'jpeg')).toMatchObject({ width: 16, height: 12, colour: 'CMYK' });
    expect(readImageHeader(fixtures['animated.gif']!, 'gif')).toEqual({ format: 'gif', width: 40, height: 36, frames: 3 });
    expect(readImageHeader(fixtures['deep16.png']!, 'png').colour).toBe('16-bit');
    expect(readImageHeader(fixtures['palette.png']!, 'png').colour).toBe('palette');
    expect(readImageHeader(fixtures['truncated.png']!, 'png').truncated).toMatch(/^it ends inside its IDAT chunk$/);
    expect(readImageHeader(fixtures['truncated.jpg']!, 'jpeg').truncated).toMatch(/compressed image data/);
    // EXIF orientation 6 (rotate 90°): a stored 48×40 image is shown 40×48
    const jpg = fixtures['photo.jpg']!;
    const exif = [
      0xff,
      0xe1,
      0,
      34,
      ...'Exif\0\0'.split('').map((c) => c.charCodeAt(0)),
      0x4d,
      0x4d,
      0,
      42,
      0,
      0,
      0,
      8,
      0,
      1,
      0x01,
      0x12,
      0,
      3,
      0,
      0,
      0,
      1,
      0,
      6,
      0,
      0,
    ];
    const rotated = new Uint8Array([...jpg.subarray(0, 2), ...exif, ...jpg.subarray(2)]);
    expect(readImageHeader(rotated, 'jpeg')).toMatchObject({ width: 40, height: 48 });
    // BMP (BITMAPINFOHEADER, 24 bits, bottom-up) and WebP (VP8L)
    const bmp = new Uint8Array(54 + 4 * 3 * 2 + 4);
    const v = new DataView(bmp.buffer);
    bmp.set([0x42, 0x4d]);
    v.setUint32(2, bmp.length, true);
    v.setUint32(10, 54, true);
    v.setUint32(14, 40, true);
    v.setInt32(18, 3, true);
    v.setInt32(22, -2, true);
    v.setUint16(28, 24, true);
    expect(readImageHeader(bmp, 'bmp')).toEqual({ format: 'bmp', width: 3, height: 2, frames: 1 });
    expect(readImageHeader(bmp.subarray(0, 60), 'bmp').truncated).toMatch(/pixel data/);
    const webp = new Uint8Array(30);
    webp.set([...'RIFF'].map((c) => c.charCodeAt(0)));
    new DataView(webp.buffer).setUint32(4, 22, true);
    webp.set(
      [...'WEBPVP8L'].map((c) => c.charCodeAt(0)),
      8,
    );
    webp[20] = 0x2f;
    new DataView(webp.buffer).setUint32(21, (99 & 0x3fff) | ((49 & 0x3fff) << 14), true);
    expect(readImageHeader(webp, 'webp')).toEqual({ format: 'webp', width: 100, height: 50, frames: 1 });
  });
});

describe('the studio and the trainer give each odd file the same verdict (inspectImage)', () => {
  it('refuses with a reason, or accepts with a note', () => {
    const f = fixtures;
    expect(verdict('empty.png', f['empty.png']!)).toBe('empty file (0 bytes)');
    expect(verdict('truncated.png', f['truncated.png']!)).toBe(
      'corrupt image data: could not decode (truncated PNG: it ends inside its IDAT chunk; an incomplete download or copy?)',
    );
    expect(verdict('truncated.jpg', f['truncated.jpg']!)).toBe(
      'corrupt image data: could not decode (truncated JPEG: it ends inside its compressed image data (no end-of-image marker); an incomplete download or copy?)',
    );
    expect(verdict('png-named.jpg', f['png-named.jpg']!)).toBe('accepted: a PNG file with a .jpg name: read as PNG');
    expect(verdict('cmyk.jpg', f['cmyk.jpg']!)).toBe('accepted: CMYK JPEG (print colours): converted to RGB');
    for (const k of ['deep16.png', 'grey.png', 'palette.png', 'photo.jpg']) expect(verdict(k, f[k]!), k).toBe('accepted: ');
    expect(verdict('animated.gif', f['animated.gif']!)).toBe('accepted: animated GIF (3 frames): the first frame is used');
    expect(verdict('one-pixel.png', f['one-pixel.png']!)).toBe(
      'too small to learn from: 1×1 pixels would be upscaled 32× to 32×32 (at most 8×: at least 4 px on the shorter side)',
    );
    // 12,000²: the studio decodes it shrunk by the browser; the trainer (jimp holds the whole image) refuses it
    expect(verdict('huge-12000.png', f['huge-12000.png']!)).toBe('accepted: ');
    expect(shrinkWhileDecoding(12_000, 12_000, S)).toEqual({ resizeWidth: 128, resizeHeight: 128 });
    expect(shrinkWhileDecoding(12_000, 9_000, 64)).toEqual({ resizeWidth: 341, resizeHeight: 256 });
    expect(shrinkWhileDecoding(4_000, 3_000, S)).toBeNull(); // 12 MP: decoded at full size
    expect(verdict('huge-12000.png', f['huge-12000.png']!, DECODE_LIMITS.jsMaxPixels)).toBe(
      'too large to decode safely: 12000×12000 is 144 megapixels, over the 40-megapixel limit here (a decode bomb, or a huge scan); ' +
        'shrink it first (the studio reads up to 250 megapixels)',
    );
    expect(verdict('bomb-30000.png', f['bomb-30000.png']!)).toBe(
      'too large to decode safely: 30000×30000 is 900 megapixels, over the 250-megapixel limit here (a decode bomb, or a huge scan); shrink it first',
    );
    expect(verdict('drawing.svg', f['drawing.svg']!)).toBe(
      'unsupported image format: SVG drawing (vector graphics), not a photo: export it as PNG',
    );
    expect(verdict('drawing.png', f['drawing.svg']!)).toBe(
      'unsupported image format: SVG drawing (vector graphics), not a photo: export it as PNG (despite its .png name)',
    );
    expect(verdict('IMG_0001.heic', f['IMG_0001.heic']!)).toMatch(
      /^unsupported image format: HEIC photo \(the iPhone’s format\), which no decoder here reads: export it as JPEG/,
    );
    expect(verdict('IMG_0001.jpg', f['IMG_0001.heic']!)).toMatch(/^unsupported image format: HEIC photo .* \(despite its \.jpg name\)$/);
  });

  it("decodes 16-bit, greyscale and palette PNGs and the PNG named .jpg in the studio's pure-JS path", async () => {
    for (const k of ['deep16.png', 'grey.png', 'palette.png', 'png-named.jpg']) {
      const p = await prepareImage(k, fixtures[k]!, S);
      expect(p.rgb.length, k).toBe(S * S * 3);
      expect(new Set(p.rgb).size, k).toBeGreaterThan(1);
    }
  });
});

describe('studio ingest (ingestDataset, IndexedDB faked)', () => {
  it('stores the usable files, and names every refused one with its reason and every odd one with a warning', async () => {
    const inner = zipSync({ 'b.png': rgbPng(40, 36, 2) });
    const files = [
      ...Object.entries(fixtures)
        .filter(([k]) => k.endsWith('.png') || k === 'drawing.svg' || k === 'IMG_0001.heic' || k === 'png-named.jpg')
        .map(([name, bytes]) => ({ name: `folder/${name}`, bytes })),
      { name: 'nested.zip', bytes: zipSync({ 'inner.zip': inner, 'a.png': rgbPng(40, 36, 3) }) },
      { name: 'evil.zip', bytes: zipSync({ '../../escape.png': rgbPng(40, 36, 4), 'ok.png': rgbPng(40, 36, 5) }) },
      { name: 'cp437.zip', bytes: zipWithRawName('caf?.png', rgbPng(40, 36, 6), 0x82) },
      { name: 'bomb.zip', bytes: zipBomb('zeros.png', 3_000_000_000) },
    ];
    const r = await ingestDataset({ name: 'hostile', size: S, files });
    const rejected = Object.fromEntries(r.rejected.map((x) => [x.name, x.reason]));
    const warned = r.warnings.map((x) => `${x.name}: ${x.reason}`);
    expect(rejected['folder/empty.png']).toBe('empty file (0 bytes)');
    expect(rejected['folder/truncated.png']).toMatch(/^corrupt image data: could not decode \(truncated PNG/);
    expect(rejected['folder/one-pixel.png']).toMatch(/^too small to learn from: 1×1/);
    expect(rejected['folder/bomb-30000.png']).toMatch(/^too large to decode safely: 30000×30000/);
    // Node has no browser decoder: the studio's pure-JS path holds whole images, so its limit is the trainer's
    expect(rejected['folder/huge-12000.png']).toMatch(/^too large to decode safely: 12000×12000 is 144 megapixels, over the 40-megapixel/);
    expect(rejected['folder/drawing.svg']).toMatch(/SVG drawing/);
    expect(rejected['folder/IMG_0001.heic']).toMatch(/HEIC photo/);
    expect(rejected['evil.zip/../../escape.png']).toMatch(/^zip entry refused: unsafe name: its "\.\.\/" would reach outside the archive/);
    expect(rejected['bomb.zip/zeros.png']).toBe(
      'zip entry refused: the zip would expand to more than 2.0 GiB in all (this entry alone is 2.8 GiB): skipped (a zip bomb?)',
    );
    expect(warned).toContain('folder/png-named.jpg: a PNG file with a .jpg name: read as PNG');
    const ds = await loadDataset(r.datasetId);
    expect([...ds.names].sort()).toEqual(
      [
        'cp437.zip/café.png',
        'evil.zip/ok.png',
        'folder/deep16.png',
        'folder/grey.png',
        'folder/palette.png',
        'folder/png-named.jpg',
        'nested.zip/a.png',
        'nested.zip/inner.zip/b.png',
      ].sort(),
    );
    expect(r.accepted).toBe(8);
  });
});

describe('zip limits (readZip)', () => {
  it('a zip bomb: refused by its declared ratio, by the total budget, or stopped where it outgrows its declared size', () => {
    const honest = zipBomb('z.bin', 500_000_000);
    const [a] = readZip(honest);
    expect(a!.refused).toMatch(/^it would expand \d+× \(476\.8 MiB from \d+ bytes\): skipped \(a zip bomb\?\)$/);
    expect(a!.data.length).toBe(0);
    // declared small, inflates to 50 MB: the inflation stops past the declared 1,000 bytes
    const [b] = readZip(zipBomb('z.bin', 50_000_000, 1000));
    expect(b!.damage).toBe('it inflates to more than the 1000 bytes its header declares (a zip bomb?); stopped there');
    // ratios allowed, but more than the budget in all (nested zips share it)
    const saved = { ...ZIP_LIMITS };
    try {
      ZIP_LIMITS.maxRatio = 1e9;
      ZIP_LIMITS.maxTotalBytes = 10_000_000;
      const r = readZip(zipSync({ 'a.bin': new Uint8Array(6_000_000), 'b.bin': new Uint8Array(6_000_000) }));
      expect(r[0]!.refused).toBeUndefined();
      expect(r[1]!.refused).toBe('the zip would expand to more than 9.5 MiB in all (this entry alone is 5.7 MiB): skipped (a zip bomb?)');
    } finally {
      Object.assign(ZIP_LIMITS, saved);
    }
  });

  it('names: ../ refused, backslashes and leading slashes made relative, code page 437 and the UTF-8 flag read right', () => {
    expect(safeEntryName('a/../../b.png')).toEqual({
      refused: 'unsafe name: its "../" would reach outside the archive (a zip-slip attack?); skipped',
    });
    expect(safeEntryName('C:\\photos\\.\\x.png')).toEqual({ name: 'photos/x.png' });
    expect(safeEntryName('/etc/passwd')).toEqual({ name: 'etc/passwd' });
    const [e] = readZip(zipWithRawName('caf?.png', new Uint8Array([1, 2, 3]), 0x82));
    expect(e).toEqual({ name: 'café.png', data: new Uint8Array([1, 2, 3]) });
    const [u] = readZip(zipSync({ 'ñandú/ß.png': new Uint8Array([4]) }));
    expect(u!.name).toBe('ñandú/ß.png');
  });
});

describe('the trainer reads a folder of odd files (readImageFolder)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redo-hostile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses what it can (first frame, CMYK → RGB, 16-bit, grey, palette, any name), refuses the rest with reasons', async () => {
    const img = join(dir, 'images');
    mkdirSync(img);
    for (const [name, bytes] of Object.entries(fixtures)) writeFileSync(join(img, name), bytes);
    writeFileSync(Buffer.concat([Buffer.from(`${img}/caf`), Buffer.from([0xe9]), Buffer.from('.png')]), rgbPng(40, 36, 9)); // Latin-1 "café.png"
    const f = await readImageFolder(img, S);
    const skipped = Object.fromEntries(f.skipped.map((x) => [x.name, x.reason]));
    expect(Object.keys(skipped).sort()).toEqual(
      [
        'IMG_0001.heic',
        'bomb-30000.png',
        'drawing.svg',
        'empty.png',
        'huge-12000.png',
        'one-pixel.png',
        'truncated.jpg',
        'truncated.png',
      ].sort(),
    );
    expect(skipped['bomb-30000.png']).toMatch(/^too large to decode safely: 30000×30000 is 900 megapixels, over the 40-megapixel limit/);
    expect(skipped['huge-12000.png']).toMatch(/^too large to decode safely: 12000×12000/);
    expect(skipped['truncated.jpg']).toMatch(/truncated JPEG/);
    expect(f.names).toEqual([
      'animated.gif',
      'caf\ufffd.png',
      'cmyk.jpg',
      'deep16.png',
      'grey.png',
      'palette.png',
      'photo.jpg',
      'png-named.jpg',
    ]);
    const warned = f.warnings.map((x) => `${x.name}: ${x.reason}`);
    expect(warned).toContain('animated.gif: animated GIF (3 frames): the first frame is used');
    expect(warned).toContain('cmyk.jpg: CMYK JPEG (print colours): converted to RGB');
    expect(warned).toContain('png-named.jpg: a PNG file with a .jpg name: read as PNG');
    // the CMYK JPEG decodes to colours, not to black or noise: its mean is the Pillow conversion's, roughly
    const cmyk = imageSlice(f.images, 2, 1);
    expect(Math.min(...cmyk)).toBeGreaterThan(-1);
    expect(new Set(cmyk).size).toBeGreaterThan(10);
  });
});

describe('import: weights files that lie, hold NaN, do not fit, or are PyTorch checkpoints', () => {
  let weights: Map<string, NamedTensorData>;
  beforeAll(async () => {
    const model = new RedoModel(preset('tiny'), 1);
    const trainer = new RedoTrainer(model, 1);
    weights = (await captureTrainingState(trainer)).weights;
    trainer.dispose();
    model.dispose();
  });
  const refusal = (name: string, bytes: Uint8Array) => {
    const before = tf.memory().numTensors;
    try {
      readWeightsFile(name, bytes, 32);
    } catch (e) {
      expect(e).toBeInstanceOf(ArchiveError);
      expect(tf.memory().numTensors).toBe(before);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it('accepts the real thing', () => {
    const w = readWeightsFile('w.safetensors', encodeSafetensors(weights), 32);
    expect(w.trainable).toBe(true);
    expect(w.config.nfF).toBe(8);
  });

  it('a header length that lies: longer than the file, or shorter than its JSON', () => {
    const good = encodeSafetensors(weights);
    const longer = good.slice();
    new DataView(longer.buffer).setBigUint64(0, BigInt(good.length), true);
    expect(refusal('w.safetensors', longer)).toBe(
      `w.safetensors is neither a run archive (.zip) nor a safetensors weights file: not a safetensors file: header length ${good.length} does not fit in ${good.length} bytes`,
    );
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expect(refusal('w.safetensors', huge)).toMatch(/header length 18446744073709551615 does not fit/);
    const shorter = good.slice();
    new DataView(shorter.buffer).setBigUint64(0, 40n, true);
    expect(refusal('w.safetensors', shorter)).toMatch(/: not a safetensors file: its header is not JSON$/);
    const bad = new TextEncoder().encode('{"x":{"dtype":"F32","shape":"4","data_offsets":[0,16]}}');
    const file = new Uint8Array(8 + bad.length + 16);
    new DataView(file.buffer).setBigUint64(0, BigInt(bad.length), true);
    file.set(bad, 8);
    expect(refusal('w.safetensors', file)).toMatch(/: x: shape must be a list of integers ≥ 0$/);
  });

  it('NaN weights, a shape that does not fit', () => {
    const nan = new Map(weights);
    const k = [...weights.keys()][3]!;
    nan.set(k, { shape: weights.get(k)!.shape, data: weights.get(k)!.data.map((v, i) => (i < 3 ? NaN : v)) });
    expect(refusal('w.safetensors', encodeSafetensors(nan))).toBe(
      `unusable weights: non-finite values (NaN or Inf) in w.safetensors, in F (mask network): ${k} has 3 of ${weights.get(k)!.data.length} (saved after training diverged?)`,
    );
    const misfit = new Map(weights);
    const g = [...weights.keys()].find((x) => x.startsWith('netGenX.') && weights.get(x)!.shape.length === 4)!;
    const t = weights.get(g)!;
    misfit.set(g, { shape: [t.shape[0]! * 2, ...t.shape.slice(1)], data: new Float32Array(t.data.length * 2) });
    expect(refusal('w.safetensors', encodeSafetensors(misfit))).toBe(
      `w.safetensors: tensor ${g} has shape [${t.shape[0]! * 2},${t.shape.slice(1).join(',')}], the configuration needs [${t.shape.join(',')}]`,
    );
  });

  it('.pth: a pickle or a torch zip, refused with the command that converts it', async () => {
    const hint =
      'is a PyTorch checkpoint (.pth, a Python pickle), which the studio cannot read: convert it first with `python3 scripts/convert_pth.py';
    expect(refusal('netG_epoch_40.pth', new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00]))).toBe(
      `netG_epoch_40.pth ${hint} netG_epoch_40.pth -o weights.safetensors\` (torch is its only dependency), then import weights.safetensors`,
    );
    const torchZip = zipSync({
      'archive/data.pkl': new Uint8Array([0x80, 0x02]),
      'archive/data/0': new Uint8Array(16),
      'archive/version': new TextEncoder().encode('3\n'),
    });
    await expect(readRunArchive(torchZip, 'model.pth')).rejects.toThrow(`model.pth ${hint} model.pth -o weights.safetensors\``);
  });
});
