/**
 * `npm run redo -- segment` and `score --data` (src/node/segmentFolder.ts), and the reference's object score
 * (src/redo/metrics.ts objectScore).
 */
import { mkdtemp, readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode } from 'fast-png';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { exportWeights, preset, RedoModel, Segmenter } from '../src/redo';
import { objectScore } from '../src/redo/metrics';
import { loadModelFile, maskFigure, maskNetworkFile, scoreFolder, segmentFolder } from '../src/node/segmentFolder';
import { generateSplits, loadObjectSources, writeImageSet } from '../src/node/objectSources';
import { decodeSafetensors, encodeSafetensors } from '../src/formats/safetensors';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

describe('objectScore (as ref_train.py scores)', () => {
  it('picks the assignment with the higher IoU for the whole set and reports its accuracy', () => {
    // 2 images of 4 pixels. First region ≥ 0.5 at: img0 [1,1,0,0], img1 [0,0,1,1]; truth img0 [1,0,0,0], img1 [0,0,1,1].
    const m = [0.9, 0.6, 0.1, 0.4, 0.2, 0.3, 0.5, 0.8];
    const t = [1, 0, 0, 0, 0, 0, 1, 1];
    const s = objectScore(m, t, 4);
    // a = 0: inter 1 + 2 = 3, union 2 + 2 = 4 → 0.75; a = 1: inter 0 + 0, union 3 + 4 → 0.
    expect(s.region).toBe(0);
    expect(s.iou).toBeCloseTo(0.75, 12);
    expect(s.accuracy).toBeCloseTo(7 / 8, 12);
    expect(s.iouPerImage).toBeCloseTo((0.5 + 1) / 2, 12);
    expect(s.accuracyPerImage).toBeCloseTo((3 / 4 + 1) / 2, 12);
    // The complement is the same segmentation with the other region as object.
    const c = objectScore(
      m.map((v) => (v >= 0.5 ? 0 : 1)),
      t,
      4,
    );
    expect(c.region).toBe(1);
    expect(c.iou).toBeCloseTo(0.75, 12);
  });
});

describe('segment a folder', () => {
  it('writes one mask per image at its own size, from a run model or a weights file, and skips what is not an image', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redo-seg-'));
    const images = join(dir, 'in');
    await mkdir(join(images, 'sub'), { recursive: true });
    const rgb = (w: number, h: number, f: (x: number, y: number, c: number) => number) => {
      const d = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) d[(y * w + x) * 3 + c] = f(x, y, c);
      return d;
    };
    const square = rgb(32, 32, (x, y, c) => (x * 7 + y * 3 + c * 50) % 256);
    await writeFile(join(images, 'a.png'), encode({ width: 32, height: 32, data: square, channels: 3, depth: 8 }));
    await writeFile(
      join(images, 'sub', 'b.png'),
      encode({ width: 50, height: 20, data: rgb(50, 20, (x, y) => (x > 25 ? 200 : y * 9)), channels: 3, depth: 8 }),
    );
    await writeFile(join(images, 'notes.txt'), 'not an image');

    const config = preset('tiny');
    const model = new RedoModel(config, 3);
    const weightsFile = join(dir, 'w.safetensors');
    await writeFile(weightsFile, encodeSafetensors(await exportWeights(model)));
    const loaded = await loadModelFile(weightsFile);
    expect(loaded.kind).toBe('weights');
    expect(loaded.config.imageSize).toBe(32);

    const out = join(dir, 'out');
    const before = tf.memory().numTensors;
    const r = await segmentFolder(loaded, images, out);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.written.sort()).toEqual(['a.png', 'sub/b.png']);
    expect(r.skipped).toHaveLength(1);
    expect(r.skipped[0]!.name).toBe('notes.txt');
    expect(r.skipped[0]!.reason).toMatch(/not an image|text/i);

    const b = decode(await readFile(join(out, 'sub', 'b.png')));
    expect([b.width, b.height, b.channels]).toEqual([50, 20, 1]);
    expect(new Set(b.data)).toEqual(new Set([...b.data].filter((v) => v === 0 || v === 255)));

    // At the model's own size the mask is exactly F's first region thresholded at 0.5.
    const a = decode(await readFile(join(out, 'a.png')));
    const seg = new Segmenter(config, loaded.weights);
    const x = tf.tensor4d(
      Float32Array.from(square, (v) => v / 127.5 - 1),
      [1, 32, 32, 3],
    );
    const m = seg.segment(x);
    const soft = (await m.data()) as Float32Array;
    tf.dispose([x, m]);
    seg.dispose();
    const expected = Array.from({ length: 32 * 32 }, (_, q) => (soft[2 * q]! >= 0.5 ? 255 : 0));
    expect(Array.from(a.data)).toEqual(expected);

    // --soft: F's soft first region itself (float32 [height, width]), of which the PNG is the 0.5 threshold.
    const softOut = join(dir, 'soft');
    const rs = await segmentFolder(loaded, images, softOut, undefined, { soft: true });
    expect(tf.memory().numTensors).toBe(before);
    expect(rs.written.sort()).toEqual(['a.safetensors', 'sub/b.safetensors']);
    const sa = decodeSafetensors(await readFile(join(softOut, 'a.safetensors'))).tensors.get('mask')!;
    expect(sa.shape).toEqual([32, 32]);
    expect(Array.from(sa.data)).toEqual(Array.from({ length: 32 * 32 }, (_, q) => soft[2 * q]!)); // same size: no resampling
    const sb = decodeSafetensors(await readFile(join(softOut, 'sub', 'b.safetensors'))).tensors.get('mask')!;
    expect(sb.shape).toEqual([20, 50]);
    expect(Array.from(sb.data, (v) => (v >= 0.5 ? 255 : 0))).toEqual(Array.from(b.data));
    expect(Math.min(...sb.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...sb.data)).toBeLessThanOrEqual(1);
    expect(new Set(sb.data).size).toBeGreaterThan(2); // soft, not thresholded
    model.dispose();
  });
});

describe('score a held-out folder', () => {
  it('scores an archive-free weights file and equals objectScore of its masks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redo-score-'));
    const src = await loadObjectSources();
    const { test } = generateSplits(src, { size: 32, train: 1, test: 12, seed: 5 });
    await writeImageSet(join(dir, 'test'), test, 32);
    expect((await readdir(join(dir, 'test', 'masks'))).length).toBe(12);
    const config = preset('tiny');
    const model = new RedoModel(config, 9);
    const weights = await exportWeights(model);
    const s = await scoreFolder({ config, weights, kind: 'weights' }, join(dir, 'test'));
    const x = tf.tensor4d(
      Float32Array.from(test.images, (v) => v / 127.5 - 1),
      [12, 32, 32, 3],
    );
    const m = tf.tidy(() => tf.slice(model.masks(x), [0, 0, 0, 0], [12, 32, 32, 1]));
    const first = (await m.data()) as Float32Array;
    tf.dispose([x, m]);
    const direct = objectScore(first, test.masks, 32 * 32);
    expect(s.count).toBe(12);
    expect(s.untrained).toBeUndefined();
    expect(s.trained.iou).toBeCloseTo(direct.iou, 6);
    expect(s.trained.accuracy).toBeCloseTo(direct.accuracy, 6);
    model.dispose();
  });
});

describe('mask-weights: F alone', () => {
  it('keeps only netEncM.* with the configuration, step and seed in its metadata, and scores as the whole model does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redo-maskw-'));
    const src = await loadObjectSources();
    const { test } = generateSplits(src, { size: 32, train: 1, test: 8, seed: 6 });
    await writeImageSet(join(dir, 'test'), test, 32);
    const config = preset('tiny', { nz: 4, lrF: 3e-5 });
    const model = new RedoModel(config, 4);
    const weights = await exportWeights(model);
    const whole = { config, weights, kind: 'archive' as const, step: 1234, seed: 4 };
    const file = join(dir, 'F.safetensors');
    const bytes = maskNetworkFile(whole);
    await writeFile(file, bytes);
    const f = await loadModelFile(file); // no --size: the metadata says 32 px
    expect(f.kind).toBe('weights');
    expect(f.config).toEqual(config);
    expect(f.step).toBe(1234);
    const keys = [...f.weights.keys()];
    expect(keys.length).toBeGreaterThan(10);
    expect(keys.every((k) => k.startsWith('netEncM.'))).toBe(true);
    expect(keys.length).toBe([...weights.keys()].filter((k) => k.startsWith('netEncM.')).length);
    const a = await scoreFolder(whole, join(dir, 'test'));
    const b = await scoreFolder(f, join(dir, 'test'));
    expect(b.trained.iou).toBe(a.trained.iou);
    expect(b.trained.accuracy).toBe(a.trained.accuracy);
    expect(() => maskNetworkFile({ ...whole, weights: new Map() })).toThrow(/no mask network/);
    // the seed in the metadata brings the untrained comparison along, as for an archive
    expect(b.untrained).toBeDefined();

    // figure: 4 columns × (input, truth, mask, cut-out) of 32 px drawn 3×, 2 px apart
    const png = decode(await maskFigure(f, join(dir, 'test'), 4, 3));
    expect([png.width, png.height, png.channels]).toEqual([4 * 98 - 2, 4 * 98 - 2, 3]);
    const px = (x: number, y: number) => Array.from(png.data.subarray((y * png.width + x) * 3, (y * png.width + x) * 3 + 3));
    const truthRow = 98,
      maskRow = 2 * 98;
    for (const [x, y] of [
      [0, 0],
      [50, 40],
      [95, 95],
      [200, 10],
    ] as const) {
      expect([
        [0, 0, 0],
        [255, 255, 255],
      ]).toContainEqual(px(x, truthRow + y));
      expect([
        [0, 0, 0],
        [255, 255, 255],
      ]).toContainEqual(px(x, maskRow + y));
    }
    // the first image's input row is the image itself (pixel (0,0) drawn 3×3)
    const img0 = Array.from(test.images.subarray(0, 3));
    expect(px(0, 0)).toEqual(img0);
    expect(px(2, 2)).toEqual(img0);
    model.dispose();
  });
});
