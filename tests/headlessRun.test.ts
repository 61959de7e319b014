/**
 * The headless trainer end to end on the wasm backend (tiny, a few steps): the CLI writes the studio's run
 * archive with log lines (losses, it/s, ETA), --resume continues it, a folder's bad image is skipped with its
 * name and reason, Ctrl-C (SIGINT to the terminal's process group) writes a final checkpoint, and a run
 * interrupted into an archive and resumed takes exactly the steps of an uninterrupted one (same z, same
 * batches, same losses).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encode as encodePng } from 'fast-png';
import * as tf from '../src/redo/tf';
import { preset } from '../src/redo';
import { readRunArchive } from '../src/formats/runArchive';
import { encodeSafetensors } from '../src/formats/safetensors';
import { setupBackend } from '../src/node/backend';
import { runSteps } from '../src/node/headless';
import { TrainingRun } from '../src/run/trainingRun';
import { c2mnistData } from '../src/node/c2mnist';
import { trainMain } from '../src/node/trainCli';
import { trainCaptured } from './helpers/trainCaptured';
import { generateSplits, loadObjectSources, writeImageSet } from '../src/node/objectSources';
import { loadModelFile, scoreFolder } from '../src/node/segmentFolder';

const dir = mkdtempSync(join(tmpdir(), 'redo-headless-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await setupBackend('wasm');
});

describe('headless run', () => {
  it('interrupted into an archive and resumed = uninterrupted (losses bit for bit), history continues', async () => {
    const data = c2mnistData({ size: 32, count: 24, evalCount: 8, regions: 2 });
    const runData = { images: data.train, info: { name: data.name, count: 24, size: 32 } };
    const config = preset('tiny');
    const straight = TrainingRun.create({ config, seed: 9, data: runData, evalSet: data.eval });
    await runSteps(straight, 4, { evalEvery: 2, checkpointEvery: 0 });
    expect(straight.curve.map((p) => p.step)).toEqual([2, 4]);

    const first = TrainingRun.create({ config, seed: 9, data: runData, evalSet: data.eval });
    await runSteps(first, 2, { evalEvery: 2, checkpointEvery: 0 });
    const tensors = tf.memory().numTensors;
    const zip = await first.archive('fresh');
    expect(tf.memory().numTensors).toBe(tensors); // capture and previews leave nothing behind
    first.dispose();
    const back = await readRunArchive(zip);
    expect(back.manifest.step).toBe(2);
    expect(back.manifest.metrics?.iou).toBeTypeOf('number');
    const resumed = TrainingRun.restore({ state: back.state, history: back.history, data: runData, evalSet: data.eval });
    const before = tf.memory().numTensors;
    await runSteps(resumed, 2, { evalEvery: 2, checkpointEvery: 0 });
    expect(tf.memory().numTensors).toBe(before); // steps, readbacks and evaluation leave nothing behind
    expect(resumed.history.step).toEqual([1, 2, 3, 4]);
    for (const k of ['gAdv', 'gRecZ', 'dReal', 'dFake'] as const) expect(resumed.history[k]).toEqual(straight.history[k]);
    expect(resumed.history.iou![3]).toBe(straight.history.iou![3]);
    expect(Number.isNaN(resumed.history.iou![2]!)).toBe(true); // measured every 2 steps only
    straight.dispose();
    resumed.dispose();
  });

  it('npm run train: c2mnist, archive written, --resume continues its step count', async () => {
    const out = join(dir, 'run.zip');
    const common = [
      '--dataset',
      'c2mnist',
      '--backend',
      'wasm',
      '--count',
      '16',
      '--eval-count',
      '8',
      '--eval-every',
      '2',
      '--log-every',
      '1',
      '--out',
      out,
    ];
    const first = await trainCaptured([...common, '--preset', 'tiny', '--steps', '2', '--seed', '4']);
    expect(first.code).toBe(0);
    // one log line per step (--log-every 1): losses, it/s, elapsed, ETA, restarts
    const stepLines = first.lines.filter((l) => l.startsWith('step '));
    expect(stepLines).toHaveLength(2);
    expect(stepLines[1]).toMatch(
      /^step 2 \(2\/2\) gAdv -?[\d.e+-]+ gRecZ [\d.e+-]+ dReal [\d.e+-]+ dFake [\d.e+-]+ minArea [\d.e+-]+ minAreaBinary [\d.e+-]+ \| [\d.]+ it\/s elapsed \S+ ETA \S+ restarts 0$/,
    );
    expect(first.lines.filter((l) => /^eval step 2: masks' spread [\d.]+, pairIoU [\d.]+ \| per-dataset acc/.test(l))).toHaveLength(1);
    expect(first.lines.some((l) => l.startsWith(`wrote ${out}`) && l.includes('final'))).toBe(true);
    const a = await readRunArchive(new Uint8Array(readFileSync(out)));
    expect(a.manifest).toMatchObject({ step: 2, seed: 4, dataset: { size: 32, count: 16 } });
    expect(a.history.step).toEqual([1, 2]);
    expect(a.history.iou?.length).toBe(2);
    expect(await trainMain([...common, '--resume', out, '--steps', '1'])).toBe(0);
    const b = await readRunArchive(new Uint8Array(readFileSync(out)));
    expect(b.manifest.step).toBe(3);
    expect(b.history.step).toEqual([1, 2, 3]);
    expect(b.history.gAdv.slice(0, 2)).toEqual(a.history.gAdv);
    expect(b.state.config.lrF).toBe(a.state.config.lrF);
    // training settings may change on resume (said in the log, kept in the archive); the networks' shapes may not
    const tuned = await trainCaptured([...common, '--resume', out, '--steps', '1', '--set', 'lrF=1e-3', '--batch', '3']);
    expect(tuned.code).toBe(0);
    expect(tuned.lines).toContain(`--resume: training settings changed: batchSize 2 → 3, lrF ${a.state.config.lrF} → 0.001`);
    const c = await readRunArchive(new Uint8Array(readFileSync(out)));
    expect(c.manifest.step).toBe(4);
    expect(c.state.config).toEqual({ ...a.state.config, lrF: 1e-3, batchSize: 3 });
    expect(c.state.weights.get('netEncM.out.mods.9.bias')!.data).not.toEqual(b.state.weights.get('netEncM.out.mods.9.bias')!.data);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await trainMain([...common, '--resume', out, '--steps', '1', '--set', 'nfG=8'])).toBe(2);
      expect(String(stderr.mock.calls[0]?.[0])).toContain('nfG cannot change in a trained model');
    } finally {
      stderr.mockRestore();
    }
    expect(await trainMain(['--dataset', 'c2mnist', '--steps', '1'])).toBe(2); // no --preset: usage, exit 2
  });

  it('npm run train --init: a new run from a weights file with fresh optimizers; F alone and a misfit are refused', async () => {
    const common = ['--dataset', 'c2mnist', '--backend', 'wasm', '--count', '16', '--eval-count', '8', '--preset', 'tiny'];
    const trained = join(dir, 'init-source.zip');
    expect(await trainMain([...common, '--steps', '2', '--seed', '3', '--out', trained])).toBe(0);
    const weights = (await readRunArchive(new Uint8Array(readFileSync(trained)))).state.weights;
    const file = join(dir, 'init.safetensors');
    writeFileSync(file, encodeSafetensors(weights));

    const out = join(dir, 'from-init.zip');
    const started = await trainCaptured([...common, '--init', file, '--steps', '0', '--seed', '8', '--out', out]);
    expect(started.code).toBe(0);
    expect(started.lines).toContain(`initial weights: ${file} (${weights.size} tensors; optimizers start fresh)`);
    const a = await readRunArchive(new Uint8Array(readFileSync(out)));
    expect(a.manifest).toMatchObject({ step: 0, seed: 8 });
    expect([...a.state.weights.keys()].sort()).toEqual([...weights.keys()].sort());
    for (const [k, t] of weights) expect(a.state.weights.get(k)!.data, k).toEqual(t.data);
    for (const net of ['F', 'G', 'D', 'Z'] as const) {
      expect(a.state.optimizer[net].step).toBe(0);
      for (const t of a.state.optimizer[net].tensors.values()) expect(t.data.every((v) => v === 0)).toBe(true);
    }
    // and it trains from there: one step moves F
    expect(await trainMain([...common, '--init', file, '--steps', '1', '--seed', '8', '--out', out])).toBe(0);
    const b = await readRunArchive(new Uint8Array(readFileSync(out)));
    expect(b.manifest.step).toBe(1);
    expect(b.state.weights.get('netEncM.out.mods.9.bias')!.data).not.toEqual(weights.get('netEncM.out.mods.9.bias')!.data);

    const fOnly = join(dir, 'f-only.safetensors');
    writeFileSync(fOnly, encodeSafetensors(new Map([...weights].filter(([k]) => k.startsWith('netEncM.')))));
    let err = '';
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    });
    try {
      expect(await trainMain([...common, '--init', fOnly, '--steps', '1', '--out', out])).toBe(2);
      expect(err).toContain(`--init ${fOnly}: it holds F alone (for segmentation); a run needs G, D and δ too`);
      expect(await trainMain([...common, '--init', file, '--resume', trained, '--steps', '1'])).toBe(2);
      expect(err).toContain('--init and --resume exclude each other');
    } finally {
      stderr.mockRestore();
    }
    await expect(trainMain([...common, '--init', file, '--set', 'nfF=16', '--steps', '1', '--out', out])).rejects.toThrow(
      /--init .*init\.safetensors does not fit --preset tiny: tensor netEncM\.\S+ has shape/,
    );
  });

  it('the NaN / Inf guard: learning rates of 1e30 stop the run with exit 3 naming the step; the previous archive is untouched', async () => {
    const out = join(dir, 'diverged.zip');
    const common = ['--dataset', 'c2mnist', '--backend', 'cpu', '--count', '16', '--eval-count', '8', '--preset', 'tiny', '--out', out];
    expect(await trainMain([...common, '--steps', '1'])).toBe(0);
    const before = readFileSync(out);
    let err = '';
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    });
    try {
      const r = await trainCaptured([...common, '--steps', '8', '--set', 'lrD=1e30,lrG=1e30,lrZ=1e30,lrF=1e30']);
      expect(r.code).toBe(3);
      expect(r.lines.some((l) => l.startsWith('wrote '))).toBe(false);
    } finally {
      stderr.mockRestore();
    }
    expect(err).toMatch(/^error: training diverged at step [1-8]: (gAdv|gRecZ|dReal|dFake|minArea) is (NaN|-?Infinity)/m);
    expect(err).toMatch(/non-finite weights in [FGDδ] \(/);
    expect(err).toContain(`${out} was not touched (it is the file from before this run)`);
    expect(readFileSync(out).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('diverged.zip.tmp'))).toEqual([]);
  });
});

describe('npm run train on a folder and Ctrl-C', () => {
  it('a folder with masks: the bad image is skipped with its name and reason, the rest train and are scored', async () => {
    const img = join(dir, 'folder', 'images');
    const masks = join(dir, 'folder', 'masks');
    mkdirSync(img, { recursive: true });
    mkdirSync(masks, { recursive: true });
    for (let i = 0; i < 5; i++) {
      const rgb = new Uint8Array(40 * 40 * 3).map((_, k) => (k * (i + 3) * 11) % 256);
      writeFileSync(join(img, `p${i}.png`), encodePng({ width: 40, height: 40, data: rgb, channels: 3, depth: 8 }));
      const m = new Uint8Array(40 * 40).map((_, k) => (k % 40 < 10 + 4 * i ? 255 : 0));
      writeFileSync(join(masks, `p${i}.png`), encodePng({ width: 40, height: 40, data: m, channels: 1, depth: 8 }));
    }
    writeFileSync(join(img, 'torn.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
    const out = join(dir, 'folder.zip');
    const r = await trainCaptured([
      '--dataset',
      img,
      '--masks',
      masks,
      '--preset',
      'tiny',
      '--steps',
      '1',
      '--backend',
      'wasm',
      '--no-previews',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.lines.filter((l) => l.startsWith('skipped '))).toEqual([expect.stringMatching(/^skipped torn\.png: corrupt image data/)]);
    expect(r.lines.some((l) => /4 training images at 32 px, 1 held out for accuracy \/ IoU/.test(l))).toBe(true);
    const a = await readRunArchive(new Uint8Array(readFileSync(out)));
    expect(a.manifest).toMatchObject({ step: 1, dataset: { name: 'images', count: 4, size: 32 } });
    expect(a.manifest.metrics?.iou).toBeGreaterThanOrEqual(0);
  });

  it('--eval-data scores a separate held-out folder (as ref_train.py does) and --curve logs each evaluation as JSON', async () => {
    const src = await loadObjectSources();
    const { train, test } = generateSplits(src, { size: 32, train: 6, test: 5, seed: 2 });
    await writeImageSet(join(dir, 'obj', 'train'), train, 32);
    await writeImageSet(join(dir, 'obj', 'test'), test, 32);
    const out = join(dir, 'obj.zip');
    const curve = join(dir, 'obj-curve.jsonl');
    const r = await trainCaptured([
      '--dataset',
      join(dir, 'obj', 'train', 'images'),
      '--masks',
      join(dir, 'obj', 'train', 'masks'),
      '--eval-data',
      join(dir, 'obj', 'test'),
      '--preset',
      'tiny',
      '--steps',
      '2',
      '--eval-every',
      '1',
      '--backend',
      'cpu',
      '--no-previews',
      '--out',
      out,
      '--curve',
      curve,
    ]);
    expect(r.code).toBe(0);
    expect(r.lines.some((l) => /6 training images at 32 px, 5 held out for accuracy \/ IoU/.test(l))).toBe(true);
    const rows = readFileSync(curve, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; it: number; iou: number; acc: number });
    expect(rows.map((x) => [x.kind, x.it])).toEqual([
      ['eval', 1],
      ['eval', 2],
    ]);
    // The last row is the score `npm run redo -- score --data` gives the archive: one scorer for every checkpoint.
    const s = await scoreFolder(await loadModelFile(out), join(dir, 'obj', 'test'));
    expect(rows[1]!.iou).toBeCloseTo(s.trained.iou, 6);
    expect(rows[1]!.acc).toBeCloseTo(s.trained.accuracy, 6);
  });

  it('Ctrl-C (SIGINT to the process group, as a terminal sends it) finishes the step and writes the archive', async () => {
    const out = join(dir, 'interrupted.zip');
    const tsx = join(process.cwd(), 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const argv = [
      '--dataset',
      'c2mnist',
      '--preset',
      'tiny',
      '--steps',
      '100000',
      '--backend',
      'wasm',
      '--count',
      '16',
      '--eval-count',
      '0',
      '--log-every',
      '1',
      '--checkpoint-every',
      '0',
      '--no-previews',
      '--out',
      out,
    ];
    const child = spawn(process.execPath, [tsx, 'scripts/train.ts', ...argv], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (!sent && /^step 2 \(/m.test(text)) {
        sent = true;
        process.kill(-child.pid!, 'SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    expect(sent, text).toBe(true);
    expect(code, text).toBe(130);
    expect(text).toMatch(/Ctrl-C: finishing this step, then writing/);
    const last = Math.max(...[...text.matchAll(/^step (\d+) \(/gm)].map((m) => Number(m[1])));
    expect(text).toMatch(new RegExp(`wrote .*interrupted\\.zip \\(\\d+ KiB, step ${last}, interrupted`));
    const a = await readRunArchive(new Uint8Array(readFileSync(out)));
    expect(a.manifest.step).toBe(last); // every step it logged is in the archive
    expect(a.history.step).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  });
});
