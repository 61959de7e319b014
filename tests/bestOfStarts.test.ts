/**
 * Issue 19's machinery on the wasm backend (tiny, a few steps): the label-free image dependence (hand-checked
 * numbers, as ref_train.py reads it), the blob watch (a restart that says why and is counted apart), best of K
 * starts (every start's scores in the log and the archive; the kept start continued equals a plain run of its seed,
 * weights bit for bit) and the best F kept beside the latest (`redo score --which best` gives the recorded IoU).
 */
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { imageDependence } from '../src/redo/metrics';
import { BlobWatch } from '../src/redo/collapse';
import { preset } from '../src/redo';
import { readRunArchive } from '../src/formats/runArchive';
import { setupBackend } from '../src/node/backend';
import { runSteps } from '../src/node/headless';
import { TrainingRun } from '../src/run/trainingRun';
import { keepBest, startSeed } from '../src/run/starts';
import { c2mnistData } from '../src/node/c2mnist';
import { trainCaptured } from './helpers/trainCaptured';
import { generateSplits, loadObjectSources, writeImageSet } from '../src/node/objectSources';
import { loadModelFile, scoreFolder } from '../src/node/segmentFolder';

const dir = mkdtempSync(join(tmpdir(), 'redo-starts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await setupBackend('wasm');
  const src = await loadObjectSources();
  const { train, test } = generateSplits(src, { size: 32, train: 8, test: 6, seed: 3 });
  await writeImageSet(join(dir, 'obj', 'train'), train, 32);
  await writeImageSet(join(dir, 'obj', 'test'), test, 32);
});

const objArgs = (out: string, more: string[]) => [
  ...['--dataset', join(dir, 'obj', 'train', 'images'), '--masks', join(dir, 'obj', 'train', 'masks')],
  ...['--eval-data', join(dir, 'obj', 'test'), '--preset', 'tiny', '--backend', 'wasm', '--no-previews', '--out', out],
  ...more,
];

describe('image dependence', () => {
  it('reads 0 spread and pairIoU 1 for one mask everywhere, and the hand-computed values otherwise', () => {
    const same = new Float32Array([0.9, 0.1, 0.8, 0.2, 0.9, 0.1, 0.8, 0.2, 0.9, 0.1, 0.8, 0.2]); // 3 images × 4 px
    expect(imageDependence(same, 4)).toEqual({ spread: 0, pairIoU: 1 });
    // two images: pixel values (1, 0) (0, 1) (1, 1) (0.2, 0.6): unbiased std over 2 = |a − b| / √2
    const two = new Float32Array([1, 0, 1, 0.2, 0, 1, 1, 0.6]);
    const d = imageDependence(two, 4);
    expect(d.spread).toBeCloseTo((1 + 1 + 0 + 0.4) / Math.SQRT2 / 4, 6);
    expect(d.pairIoU).toBeCloseTo(1 / 4, 6); // binarised {0, 2} and {1, 2, 3}: 1 pixel in common, 4 in the union
  });

  it('the blob watch reads its thresholds only between `from` and `lastIteration`, and says why', () => {
    const w = new BlobWatch(0.85, 0, 500, 1500);
    const blob = { spread: 0.05, pairIoU: 0.92 };
    expect([w.blob(499, blob), w.blob(500, blob), w.blob(1500, blob), w.blob(1501, blob)]).toEqual([false, true, true, false]);
    expect(w.blob(800, { spread: 0.2, pairIoU: 0.7 })).toBe(false);
    expect(w.describe(blob)).toMatch(/pairwise IoU 0\.920 > 0\.85.*no longer depend on the image/);
    expect(new BlobWatch(0, 0.1, 0, 10).blob(5, blob)).toBe(true); // the spread reading alone
    expect(new BlobWatch(0, 0, 0, 10).on).toBe(false);
  });

  it('start seeds: start 0 is the run seed, the others differ and repeat; keepBest marks the first best', () => {
    expect(startSeed(7, 0)).toBe(7);
    const seeds = [1, 2, 3].map((k) => startSeed(7, k));
    expect(new Set([7, ...seeds]).size).toBe(4);
    expect(seeds).toEqual([1, 2, 3].map((k) => startSeed(7, k)));
    const recs = [0.4, 0.6, 0.6].map((score, start) => ({
      start,
      seed: start,
      steps: 1,
      spread: 0,
      pairIoU: 0,
      score,
      rankedBy: 'label-free' as const,
      kept: false,
      curve: [],
    }));
    expect(keepBest(recs)).toBe(1);
    expect(recs.map((r) => r.kept)).toEqual([false, true, false]);
  });
});

describe('a run measures image dependence, restarts a blob and keeps its best F', () => {
  it('every evaluation reads the dependence into the history and the curve, with or without held-out masks', async () => {
    const data = c2mnistData({ size: 32, count: 24, evalCount: 8, regions: 2 });
    const run = TrainingRun.create({
      config: preset('tiny'),
      seed: 4,
      data: { images: data.train, info: { name: 'c', count: 24, size: 32 } },
      evalSet: null,
    });
    const before = tf.memory().numTensors;
    await runSteps(run, 4, { evalEvery: 2, checkpointEvery: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect(run.curve.map((p) => [p.step, p.result])).toEqual([
      [2, null],
      [4, null],
    ]);
    const p = run.curve[1]!.dependence;
    expect(p.spread).toBeGreaterThan(0);
    expect(p.pairIoU).toBeGreaterThan(0);
    expect(run.history.pairIoU).toEqual([NaN, run.curve[0]!.dependence.pairIoU, NaN, p.pairIoU]);
    const { history } = await readRunArchive(await run.archive('none'));
    expect(history.spread?.[3]).toBe(p.spread); // losses.csv's spread / pair_iou columns read back bit for bit
    run.dispose();
  });

  it('the blob watch restarts a run whose masks ignore the image; the log says why and the archive counts it apart', async () => {
    const out = join(dir, 'blob.zip');
    const r = await trainCaptured(
      objArgs(out, ['--steps', '3', '--eval-every', '1', '--set', 'blobPairIoU=0.0001,blobFrom=2,blobLastIteration=2']),
    );
    expect(r.code).toBe(0);
    const line = r.lines.find((l) => l.startsWith('blob watch at step 2'));
    expect(line).toMatch(
      /iteration 2\): masks' pairwise IoU [\d.]+ > 0\.0001: the masks no longer depend on the image; all networks re-initialised \(restart 1, 1 by the blob watch\)/,
    );
    const { manifest, state } = await readRunArchive(new Uint8Array(readFileSync(out)));
    expect([manifest.restarts, manifest.blobRestarts, state.iteration]).toEqual([1, 1, 1]);
  });

  it('--starts 3: each start scored in the log and the archive; the kept one continued equals a plain run of its seed', async () => {
    const out = join(dir, 'starts.zip');
    const r = await trainCaptured(
      objArgs(out, ['--steps', '4', '--starts', '3', '--start-steps', '2', '--eval-every', '1', '--seed', '5']),
    );
    expect(r.code).toBe(0);
    expect(r.lines.filter((l) => /^start \d \(seed \d+\): held-out IoU [\d.]+, spread [\d.]+, pairIoU [\d.]+/.test(l))).toHaveLength(3);
    const { manifest, best } = await readRunArchive(new Uint8Array(readFileSync(out)));
    const starts = manifest.starts!;
    expect(starts.map((s) => s.seed)).toEqual([0, 1, 2].map((k) => startSeed(5, k)));
    expect(starts.map((s) => s.steps)).toEqual([2, 2, 2]);
    const kept = starts.find((s) => s.kept)!;
    expect(kept.score).toBe(Math.max(...starts.map((s) => s.score)));
    expect(kept.iou).toBe(kept.score); // held-out masks: ranked by held-out IoU
    expect(manifest.seed).toBe(kept.seed);
    expect(r.lines).toContain(`kept start ${kept.start + 1} (seed ${kept.seed}) of 3; the starts took 6 iterations`);

    const plain = join(dir, 'plain.zip');
    expect((await trainCaptured(objArgs(plain, ['--steps', '4', '--eval-every', '1', '--seed', String(kept.seed)]))).code).toBe(0);
    const a = await readRunArchive(new Uint8Array(readFileSync(out)));
    const b = await readRunArchive(new Uint8Array(readFileSync(plain)));
    for (const [k, t] of b.state.weights)
      expect(Buffer.from(a.state.weights.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);

    // the best F: its step and IoU in the manifest, and `redo score --which best` gives that IoU
    expect(best).toBeDefined();
    expect(manifest.best).toEqual({ step: best!.step, iou: best!.iou });
    const s = await scoreFolder(await loadModelFile(out, undefined, 'best'), join(dir, 'obj', 'test'));
    expect(s.trained.iou).toBeCloseTo(best!.iou, 6);
    await expect(loadModelFile(plain.replace('plain', 'nothing'), undefined, 'best')).rejects.toThrow();
  });

  it('--starts refuses --resume and a --start-steps not below --steps', async () => {
    const bad = await trainCaptured(objArgs(join(dir, 'x.zip'), ['--steps', '2', '--starts', '2', '--start-steps', '2']));
    expect(bad.code).toBe(2);
  });
});
