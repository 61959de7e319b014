/** The headless trainer's pure parts: arguments, terminal formatting, evaluation plumbing, image folders, benchmark helpers. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encode as encodePng } from 'fast-png';
import { Jimp } from 'jimp';
import { parseTrainArgs } from '../src/node/args';
import { ArgsError } from '../src/node/cli';
import { formatDuration, logLine, median, progressBar, progressLine } from '../src/node/progress';
import { RateMeter } from '../src/run/rate';
import { mergeToObject, objectOneHot, scoreMasks, type EvalSet } from '../src/run/evaluate';
import { listFiles, readImageFolder } from '../src/node/imageFolder';
import { maskKeys } from '../src/data/names';
import { leakVerdict, markdownTable } from '../src/node/benchUtil';
import { generateSet } from '../src/node/c2mnist';
import { loadMnistDigitsNode } from '../src/node/mnistNode';
import { imageSlice } from '../src/redo/batches';
import { splitDigits } from '../src/datagen/mnistDigits';
import { resizeCropRgb } from '../src/data/resize';

describe('parseTrainArgs', () => {
  it('reads the issue command and fills defaults', () => {
    const o = parseTrainArgs(['--dataset', 'imgs', '--preset', 'tiny', '--steps', '100', '--masks', 'gt', '--out', 'r.zip']);
    expect(o).toMatchObject({
      dataset: 'imgs',
      preset: 'tiny',
      steps: 100,
      masks: 'gt',
      out: 'r.zip',
      backend: 'auto',
      seed: 1,
      logEvery: 50,
      evalEvery: 200,
      previews: true,
    });
    expect(o.resume).toBeUndefined();
    const p = parseTrainArgs([
      '--dataset=c2mnist',
      '--resume',
      'run.zip',
      '--steps=5',
      '--backend',
      'cpu',
      '--no-previews',
      '--regions',
      '3',
    ]);
    expect(p).toMatchObject({ dataset: 'c2mnist', resume: 'run.zip', steps: 5, backend: 'cpu', previews: false, regions: 3 });
  });

  it('refuses what it cannot use, saying which option', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--preset', 'tiny', '--steps', '1'], /--dataset is required/],
      [['--dataset', 'x', '--preset', 'tiny'], /--steps is required/],
      [['--dataset', 'x', '--steps', '1'], /--preset is required/],
      [['--dataset', 'x', '--preset', 'huge', '--steps', '1'], /unknown preset "huge"/],
      [['--dataset', 'x', '--preset', 'tiny', '--steps', '-3'], /--steps must be an integer/],
      [['--dataset', 'x', '--preset', 'tiny', '--steps', '1', '--backend', 'webgl'], /--backend must be one of/],
      [['--dataset', 'x', '--preset', 'tiny', '--steps', '1', '--size', '48'], /--size must be 32, 64 or 128/],
      [['--dataset', 'x', '--preset', 'tiny', '--steps', '1', '--frobnicate', '2'], /unknown option --frobnicate/],
      [['--dataset', 'c2mnist', '--preset', 'tiny', '--steps', '1', '--masks', 'm'], /--masks is for an image folder/],
      [['--dataset', 'x', '--preset', 'tiny', '--steps'], /--steps needs a value/],
      [['--dataset', 'x', 'extra'], /unexpected argument "extra"/],
    ];
    for (const [argv, msg] of bad) expect(() => parseTrainArgs(argv), argv.join(' ')).toThrow(msg);
    expect(() => parseTrainArgs(['--steps', 'x'])).toThrow(ArgsError);
    expect(parseTrainArgs(['--help']).help).toBe(true);
  });
});

describe('terminal formatting', () => {
  it('durations, bar, lines, rate, median', () => {
    expect(formatDuration(0.345)).toBe('0.34s');
    expect(formatDuration(12.44)).toBe('12.4s');
    expect(formatDuration(187)).toBe('3m07s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(NaN)).toBe('?');
    expect(progressBar(5, 10, 10)).toBe('[#####-----]  50%');
    expect(progressBar(20, 10, 4)).toBe('[####] 100%');
    expect(progressLine({ done: 3, total: 6, itPerSec: 1.5, elapsedS: 2, step: 13 })).toContain(
      '3/6 step 13 1.50 it/s elapsed 2.00s ETA 2.00s',
    );
    const l = logLine({
      step: 1200,
      done: 300,
      total: 1000,
      losses: { gAdv: 0.5123, gRecZ: 0.031, dReal: 0.954, dFake: 0.6131, minArea: 0.2144, minAreaBinary: 0 },
      itPerSec: 3.21,
      elapsedS: 93,
      restarts: 1,
    });
    expect(l).toBe(
      'step 1200 (300/1000) gAdv 0.512 gRecZ 0.031 dReal 0.954 dFake 0.613 minArea 0.214 minAreaBinary 0.000 | 3.21 it/s elapsed 1m33s ETA 3m38s restarts 1',
    );
    const r = new RateMeter(3);
    expect(r.rate()).toBe(0);
    for (const t of [0, 1000, 1500, 2000, 2500]) r.tick(t);
    expect(r.rate()).toBeCloseTo(2, 6); // the last 3 intervals took 1.5 s
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('evaluation plumbing', () => {
  it('object masks ↔ one-hot, background-last merge, scores of a perfect and a swapped prediction', () => {
    expect([...objectOneHot(new Float32Array([1, 0]))]).toEqual([1, 0, 0, 1]);
    // 3 regions, background last → object / background
    expect([...mergeToObject(new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]), 3)]).toEqual([1, 0, 1, 0, 0, 1]);
    // 1 image 2×2: even, odd, background, background
    const truth = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1]);
    const set: EvalSet = {
      images: { count: 1, size: 2, pixels: new Float32Array(12) },
      truth,
      regions: 3,
      regionNames: ['even', 'odd', 'background'],
    };
    const perfect = scoreMasks(truth, set, 3);
    expect(perfect.perDataset.iou).toEqual([1, 1, 1]);
    // the studio's object score (r = 2) matches ONE predicted region to the object, so with n = 3 the second
    // digit's pixels count as background: a perfect 3-region prediction scores as its best single digit
    expect(perfect.object).toEqual({ accuracy: 0.75, iou: 0.5 });
    const set2: EvalSet = { ...set, truth: mergeToObject(truth, 3), regions: 2, regionNames: ['digit', 'background'] };
    expect(scoreMasks(mergeToObject(truth, 3), set2, 2).object).toEqual({ accuracy: 1, iou: 1 });
    // regions permuted: the matching undoes it
    const permuted = new Float32Array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0]);
    expect(scoreMasks(permuted, set, 3).perDataset.accuracy).toBe(1);
  });

  it('colored-2-MNIST held-out images come from the test digits, deterministic', () => {
    const digits = loadMnistDigitsNode();
    const a = generateSet(splitDigits(digits, 'test'), { count: 3, size: 32, seed: 5, regions: 3, withTruth: true });
    const b = generateSet(splitDigits(digits, 'test'), { count: 3, size: 32, seed: 5, regions: 3, withTruth: true });
    expect(a.images.pixels).toEqual(b.images.pixels);
    expect(a.truth!.length).toBe(3 * 32 * 32 * 3);
    // 8-bit values, as the studio stores them
    for (const v of a.images.pixels.subarray(0, 100)) expect(Math.abs((v + 1) * 127.5 - Math.round((v + 1) * 127.5))).toBeLessThan(1e-3);
  });
});

describe('image folders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redo-folder-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads JPEG and PNG (nested, natural order), skips bad files with reasons, matches masks, crops like the studio', async () => {
    const img = join(dir, 'images');
    const masks = join(dir, 'masks');
    mkdirSync(join(img, 'sub'), { recursive: true });
    mkdirSync(masks);
    // a 48×40 RGB gradient as PNG
    const w = 48;
    const h = 40;
    const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 7) % 256);
    writeFileSync(join(img, 'img10.png'), encodePng({ width: w, height: h, data: rgb, channels: 3, depth: 8 }));
    writeFileSync(
      join(img, 'img2.png'),
      encodePng({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(200), channels: 3, depth: 8 }),
    );
    const jpeg = await new Jimp({ width: 40, height: 40, color: 0x336699ff }).getBuffer('image/jpeg');
    writeFileSync(join(img, 'sub', 'img3.jpg'), jpeg);
    writeFileSync(join(img, 'notes.txt'), 'hello, not an image');
    writeFileSync(join(img, 'broken.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
    writeFileSync(join(img, '.hidden.png'), 'x');
    const grey = (v: number, s: number) => encodePng({ width: s, height: s, data: new Uint8Array(s * s).fill(v), channels: 1, depth: 8 });
    writeFileSync(
      join(masks, 'img10_mask.png'),
      encodePng({ width: w, height: h, data: new Uint8Array(w * h).map((_, i) => (i % w < 24 ? 255 : 0)), channels: 1, depth: 8 }),
    );
    writeFileSync(join(masks, 'img2.png'), grey(255, 16));
    writeFileSync(join(masks, 'img3.png'), grey(0, 40));

    expect(await listFiles(img)).toEqual(['broken.png', 'img2.png', 'img10.png', 'notes.txt', 'sub/img3.jpg']);
    expect(maskKeys('a/0001_mask.png')).toEqual(['0001_mask', '0001']);

    const f = await readImageFolder(img, 32, { masksDir: masks });
    expect(f.names).toEqual(['img2.png', 'img10.png', 'sub/img3.jpg']);
    expect(f.skipped.map((s) => s.name).sort()).toEqual(['broken.png', 'notes.txt']);
    expect(f.skipped.find((s) => s.name === 'notes.txt')!.reason).toMatch(/not an image/);
    expect(f.skipped.find((s) => s.name === 'broken.png')!.reason).toMatch(/corrupt image data/);
    expect(f.warnings.some((x) => x.name === 'img2.png' && /smaller than 32×32/.test(x.reason))).toBe(true);
    expect(f.images.count).toBe(3);
    // same pixels as the studio's pure resize + centre crop, mapped to [-1, 1]
    const expected = resizeCropRgb(rgb, w, h, 3, 32);
    const plane = 32 * 32 * 3;
    expect(f.images.pixels.subarray(plane, 2 * plane)).toEqual(expected); // kept as bytes
    const got = imageSlice(f.images, 1, 1);
    for (let i = 0; i < plane; i += 97) expect(got[i]).toBeCloseTo(expected[i]! / 127.5 - 1, 6);
    // masks: img2 all object, img10 left part, img3 none
    expect(f.masks).toBeDefined();
    const m = f.masks!;
    const sum = (i: number) => m.subarray(i * 1024, (i + 1) * 1024).reduce((s, v) => s + v, 0);
    expect(sum(0)).toBe(1024);
    expect(sum(1)).toBeGreaterThan(300);
    expect(sum(1)).toBeLessThan(724);
    expect(sum(2)).toBe(0);
  });
});

describe('benchmark helpers', () => {
  it('markdown table and the leak verdict', () => {
    expect(markdownTable(['a', 'b'], [[1, 'x']])).toBe('| a | b |\n|---|---|\n| 1 | x |');
    const flat = [0, 10, 20].map((step) => ({ step, numTensors: 50, numBytes: 1000, gpuBytesInUse: 4096, gpuBytesAllocated: 8192 }));
    expect(leakVerdict(flat).leak).toBe(false);
    const leaking = flat.map((s, i) => ({ ...s, numTensors: 50 + i }));
    const v = leakVerdict(leaking);
    expect(v.leak).toBe(true);
    expect(v.reasons[0]).toMatch(/tensor count: 50 at step 0, 51 at step 10, 52 at step 20/);
    const pool = flat.map((s, i) => ({ ...s, gpuBytesAllocated: 8192 + i * 256 }));
    expect(leakVerdict(pool)).toMatchObject({ leak: false, notes: [expect.stringMatching(/pool grew/)] });
    expect(leakVerdict([flat[0]!]).leak).toBe(false);
  });
});
