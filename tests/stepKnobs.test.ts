/**
 * Issue 21 on the studio's loop (src/worker/session.ts), wasm backend, IndexedDB faked:
 * - Step: n single steps of a paused run equal n steps of a running run, bit for bit (history, weights, Adam state,
 *   the checkpoint); each step posts its losses, previews at that step and a checkpoint;
 * - Knobs mid-run: a change applies from the next iteration on the live optimizers (moments kept: a run changed
 *   after step k equals one checkpointed at k and restored with the new settings), is recorded in the history
 *   (step, field, old, new), reaches the page, and is kept by the checkpoint, a restore, the archive and the headless
 *   trainer's --resume (which goes on with the changed values and logs them); bad values and shape fields are refused.
 */
import 'fake-indexeddb/auto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset, withTrainingSettings, type Knobs } from '../src/redo/config';
import { weightsChecksum } from '../src/redo/weights';
import type { TrainingState } from '../src/redo';
import { readRunArchive } from '../src/formats/runArchive';
import { loadLatestCheckpoint } from '../src/data/checkpoints';
import { closeStudioDb } from '../src/data/db';
import { trainMain } from '../src/node/trainCli';
import { TrainingSession, type LoadedDataset } from '../src/worker/session';
import type { FromWorker, LoopOptions } from '../src/worker/protocol';
import { blobDataset, until } from './helpers/runs';

const SIZE = 32;
const SEED = 7;
const N = 4;
const config = preset('tiny');
const dataset = (): LoadedDataset => blobDataset(12, SIZE);
const options = (maxSteps: number): LoopOptions => ({ lossEvery: 2, previewEvery: 2, checkpointEvery: 0, maxSteps });
const dir = mkdtempSync(join(tmpdir(), 'redo-knobs-'));

/** Everything a checkpoint of the state holds, as comparable text: counters, weights, every Adam moment and step. */
function fingerprint(s: TrainingState): Record<string, string | number> {
  const out: Record<string, string | number> = { iteration: s.iteration, restarts: s.restarts, weights: weightsChecksum(s.weights) };
  for (const [net, o] of Object.entries(s.optimizer)) {
    out[`step.${net}`] = o.step;
    out[`moments.${net}`] = weightsChecksum(o.tensors);
  }
  return out;
}

describe('Step and knobs mid-run (issue 21)', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await closeStudioDb();
    rmSync(dir, { recursive: true, force: true });
  });

  const messages: FromWorker[] = [];
  const post = (m: FromWorker) => messages.push(m);

  it('n single steps equal n steps of a running run, bit for bit (history, weights, Adam, checkpoint)', async () => {
    const ds = dataset();
    const a = TrainingSession.create({ runId: 'run-straight', dataset: ds, config, seed: SEED, options: options(N), post });
    a.start();
    await until(() => a.state === 'finished', 'the running run to finish');
    const straight = await a.run.captureState();

    messages.length = 0;
    const tensorsBefore = tf.memory().numTensors;
    const b = TrainingSession.create({ runId: 'run-stepped', dataset: ds, config, seed: SEED, options: options(N), post });
    await expect(TrainingSession.create({ runId: 'x', dataset: ds, config, seed: SEED, options: options(0), post }).step()).rejects.toThrow(
      /reached its 0 steps/,
    );
    for (let i = 1; i <= N; i++) {
      messages.length = 0;
      await b.step();
      expect(b.trainer.iteration).toBe(i);
      expect(b.history.step).toEqual(Array.from({ length: i }, (_, j) => j + 1));
      // every view at that step: its losses posted, the previews rendered at it, a checkpoint of it
      const chunks = messages.flatMap((m) => (m.type === 'losses' ? m.chunk.step : []));
      expect(chunks).toContain(i);
      expect(messages.filter((m) => m.type === 'previews').map((m) => (m.type === 'previews' ? m.previews.step : -1))).toEqual([i]);
      expect(messages.some((m) => m.type === 'checkpoint-saved' && m.step === i)).toBe(true);
      const last = messages.filter((m) => m.type === 'status').at(-1);
      expect(last?.type === 'status' && last.status.step).toBe(i);
      expect(b.state).toBe(i < N ? 'paused' : 'finished');
    }
    await expect(b.step()).rejects.toThrow(/Step runs one iteration of a paused run; this run is finished/);
    const stepped = await b.run.captureState();
    expect(fingerprint(stepped)).toEqual(fingerprint(straight));
    expect(b.history).toEqual(a.history); // losses, areas, evaluations at the same steps, NaN where not measured
    const ca = await loadLatestCheckpoint('run-straight');
    const cb = await loadLatestCheckpoint('run-stepped');
    expect(fingerprint(cb!.state)).toEqual(fingerprint(ca!.state));
    expect(cb!.history).toEqual(ca!.history);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('a knob turned before the first step trains as a run made with that value', async () => {
    const ds = dataset();
    const knobs: Partial<Knobs> = { lrF: 3e-5, lambdaZ: 2, adamBeta2: 0.95 };
    const k = TrainingSession.create({ runId: 'run-k0', dataset: ds, config, seed: SEED, options: options(3), post });
    const changes = await k.setKnobs(knobs);
    expect(changes).toEqual([
      { step: 0, field: 'lrF', from: config.lrF, to: 3e-5 },
      { step: 0, field: 'lambdaZ', from: config.lambdaZ, to: 2 },
      { step: 0, field: 'adamBeta2', from: config.adamBeta2, to: 0.95 },
    ]);
    const made = TrainingSession.create({
      runId: 'run-made',
      dataset: ds,
      config: { ...config, ...knobs },
      seed: SEED,
      options: options(3),
      post,
    });
    for (const s of [k, made]) for (let i = 0; i < 3; i++) await s.step();
    expect(fingerprint(await k.run.captureState())).toEqual(fingerprint(await made.run.captureState()));
    for (const c of ['gAdv', 'gRecZ', 'dReal', 'dFake'] as const) expect(k.history[c]).toEqual(made.history[c]);
    k.dispose();
    made.dispose();
  });

  it('a knob turned mid-run applies from the next iteration with Adam moments kept; recorded, stored, exported, resumed', async () => {
    const ds = dataset();
    const knobs: Partial<Knobs> = { lrD: 2e-4, adamBeta1: 0.5, lrG: 1e-4 }; // lrG unchanged: not recorded
    // Reference: 2 steps, checkpointed; restored with the new settings; 2 more.
    const r0 = TrainingSession.create({ runId: 'run-ref', dataset: ds, config, seed: SEED, options: options(N), post });
    await r0.step();
    await r0.step();
    r0.dispose();
    const saved = await loadLatestCheckpoint('run-ref');
    const state = { ...saved!.state, config: withTrainingSettings(saved!.state.config, knobs) };
    const ref = TrainingSession.restore({ runId: 'run-ref', dataset: ds, state, history: saved!.history, options: options(N), post });
    await ref.step();
    await ref.step();

    messages.length = 0;
    const m = TrainingSession.create({ runId: 'run-knobs', dataset: ds, config, seed: SEED, options: options(N), post });
    await m.step();
    await m.step();
    messages.length = 0;
    const changes = await m.setKnobs(knobs);
    const expected = [
      { step: 2, field: 'lrD', from: 1e-4, to: 2e-4 },
      { step: 2, field: 'adamBeta1', from: 0, to: 0.5 },
    ];
    expect(changes).toEqual(expected);
    expect(m.history.knobs).toEqual(expected);
    expect(m.config.lrD).toBe(2e-4);
    expect(m.trainer.optimizer('D').options.lr).toBe(2e-4);
    for (const net of ['F', 'G', 'D', 'Z'] as const) expect(m.trainer.optimizer(net).options.beta1).toBe(0.5);
    expect(m.trainer.optimizer('D').stepCount).toBe(2); // moments and step count kept
    // the page hears of it (a chunk carrying the list) and the paused run is stored with it at once
    const posted = messages.filter((x) => x.type === 'losses').at(-1);
    expect(posted?.type === 'losses' && posted.chunk.knobs).toEqual(expected);
    const stored = await loadLatestCheckpoint('run-knobs');
    expect(stored!.history.knobs).toEqual(expected);
    expect(stored!.state.config.lrD).toBe(2e-4);
    expect(await m.setKnobs({ lrD: 2e-4 })).toEqual([]); // no change, nothing recorded

    await m.step();
    await m.step();
    expect(fingerprint(await m.run.captureState())).toEqual(fingerprint(await ref.run.captureState()));
    for (const c of ['gAdv', 'gRecZ', 'dReal', 'dFake'] as const) expect(m.history[c]).toEqual(ref.history[c]);
    // and it did change the training: the unchanged run's fourth step differs
    const plain = TrainingSession.create({ runId: 'run-plain', dataset: ds, config, seed: SEED, options: options(N), post });
    for (let i = 0; i < N; i++) await plain.step();
    expect(plain.history.gAdv.slice(0, 2)).toEqual(m.history.gAdv.slice(0, 2));
    expect(plain.history.gAdv[3]).not.toBe(m.history.gAdv[3]);
    expect(fingerprint(await plain.run.captureState()).weights).not.toBe(fingerprint(await m.run.captureState()).weights);
    plain.dispose();
    ref.dispose();

    // refused, changing nothing: a negative rate, β ≥ 1, a shape field
    await expect(m.setKnobs({ lrF: -1 })).rejects.toThrow(/lrF must be a finite number ≥ 0/);
    await expect(m.setKnobs({ adamBeta2: 1 })).rejects.toThrow(/adamBeta2 must be below 1/);
    await expect(m.setKnobs({ nz: 3 } as unknown as Partial<Knobs>)).rejects.toThrow(/nz is locked: they decide the networks' shapes/);
    expect(m.history.knobs).toHaveLength(2);

    // restore from the checkpoint keeps it; the archive records it and reads it back
    const ckpt = await loadLatestCheckpoint('run-knobs');
    const back = TrainingSession.restore({
      runId: 'run-knobs',
      dataset: ds,
      state: ckpt!.state,
      history: ckpt!.history,
      options: options(N),
      post,
    });
    expect(back.history.knobs).toEqual(expected);
    expect(back.config.adamBeta1).toBe(0.5);
    expect(back.trainer.optimizer('G').options.beta1).toBe(0.5);
    back.dispose();
    const bytes = await m.exportArchive();
    const archived = await readRunArchive(bytes);
    expect(archived.manifest.knobChanges).toEqual(expected);
    expect(archived.history.knobs).toEqual(expected);
    expect(archived.state.config.lrD).toBe(2e-4);
    m.dispose();
    // an archive without changes has no knobChanges (and older archives, without the field, open as before)
    const none = TrainingSession.create({ runId: 'run-none', dataset: ds, config, seed: SEED, options: options(1), post });
    await none.step();
    const plainArchive = await readRunArchive(await none.exportArchive());
    expect(plainArchive.manifest.knobChanges).toBeUndefined();
    expect(plainArchive.history.knobs).toBeUndefined();
    none.dispose();

    // the headless trainer continues it with the changed values, logs the changes and keeps them
    const zip = join(dir, 'studio.zip');
    writeFileSync(zip, bytes);
    let text = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return true;
    });
    const out = join(dir, 'resumed.zip');
    let code: number;
    try {
      code = await trainMain([
        '--dataset',
        'c2mnist',
        '--backend',
        'wasm',
        '--count',
        '16',
        '--eval-count',
        '8',
        '--resume',
        zip,
        '--steps',
        '1',
        '--set',
        'lrF=2e-5',
        '--out',
        out,
      ]);
    } finally {
      spy.mockRestore();
    }
    expect(code, text).toBe(0);
    expect(text).toContain('--resume: knobs turned during the run (kept): at step 2: lrD 0.0001 → 0.0002; at step 2: adamBeta1 0 → 0.5');
    expect(text).toContain('lrD=0.0002');
    const resumed = await readRunArchive(new Uint8Array(readFileSync(out)));
    expect(resumed.state.config).toMatchObject({ lrD: 2e-4, adamBeta1: 0.5, lrF: 2e-5 });
    expect(resumed.history.knobs).toEqual([...expected, { step: 4, field: 'lrF', from: config.lrF, to: 2e-5 }]);
  });
});
