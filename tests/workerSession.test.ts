/**
 * The studio's training loop (src/worker/session.ts) on the TF.js CPU backend, IndexedDB faked:
 * - a paused run, restored from the checkpoint written on pause, continues exactly as if it had never stopped
 *   (same step counter, weights, optimizer state and batches: identical losses);
 * - pause takes effect within one step and writes a checkpoint at the paused step; the first step after a resume
 *   is reported at once;
 * - losses reach the UI in batches (one readback per `lossEvery` steps), previews and accuracy / IoU every
 *   `previewEvery` steps with ground truth; no tensor is leaked by a run;
 * - a loss that goes NaN / Inf stops the run with an error naming the step, writes nothing more, and leaves the
 *   last good checkpoint as it was (the NaN / Inf guard).
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset, withTrainingSettings } from '../src/redo/config';
import { loadLatestCheckpoint } from '../src/data/checkpoints';
import { closeStudioDb } from '../src/data/db';
import { TrainingSession, type LoadedDataset } from '../src/worker/session';
import type { FromWorker, LoopOptions } from '../src/worker/protocol';
import { blobDataset, until } from './helpers/runs';

const SIZE = 32;
const COUNT = 12;
const SEED = 5;
const STEPS = 5;
const config = preset('tiny');

const dataset = (): LoadedDataset => blobDataset(COUNT, SIZE);

const options = (maxSteps: number): LoopOptions => ({ lossEvery: 2, previewEvery: 2, checkpointEvery: 0, maxSteps });

describe('TrainingSession (the studio loop)', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });
  afterAll(() => closeStudioDb());

  const messages: FromWorker[] = [];
  const post = (m: FromWorker) => messages.push(m);
  let straight: number[][] = [];

  it('runs to maxSteps with batched loss readbacks, previews and accuracy / IoU', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const s = TrainingSession.create({ runId: 'run-a', dataset: dataset(), config, seed: SEED, options: options(STEPS), post });
    s.start();
    await until(() => s.state === 'finished', 'the run to finish');
    expect(s.trainer.iteration).toBe(STEPS);
    expect(s.history.step).toEqual([1, 2, 3, 4, 5]);
    straight = [s.history.gAdv, s.history.gRecZ, s.history.dReal, s.history.dFake];
    for (const v of straight.flat()) expect(Number.isFinite(v)).toBe(true);
    // Losses of 2 steps per readback: steps 2, 4 and the rest at the end.
    const lossPosts = messages.filter((m) => m.type === 'losses');
    expect(lossPosts.map((m) => (m.type === 'losses' ? m.chunk.step : []))).toEqual([[1, 2], [3, 4], [5]]);
    const previews = messages.filter((m) => m.type === 'previews');
    expect(previews.map((m) => (m.type === 'previews' ? m.previews.step : -1))).toEqual([2, 4]);
    const measured = s.history.accuracy!.filter((a) => Number.isFinite(a));
    expect(measured.length).toBe(2);
    for (const a of measured) expect(a).toBeGreaterThanOrEqual(0);
    // The end of the run is checkpointed.
    expect(messages.some((m) => m.type === 'checkpoint-saved' && m.step === STEPS)).toBe(true);
    s.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('pauses within one step with a checkpoint; the restored run continues exactly', async () => {
    messages.length = 0;
    const ds = dataset();
    const s = TrainingSession.create({ runId: 'run-b', dataset: ds, config, seed: SEED, options: options(1000), post });
    s.start();
    await until(() => s.trainer.iteration >= 2, 'two steps');
    const asked = s.trainer.iteration;
    await s.pause();
    expect(s.state).toBe('paused');
    const held = s.trainer.iteration;
    expect(held - asked).toBeLessThanOrEqual(1);
    expect(s.lastCheckpointStep).toBe(held);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.trainer.iteration).toBe(held);
    s.dispose();

    const ckpt = await loadLatestCheckpoint('run-b');
    expect(ckpt?.state.iteration).toBe(held);
    expect(ckpt?.history.step).toEqual(Array.from({ length: held }, (_, i) => i + 1));
    const r = TrainingSession.restore({
      runId: 'run-b',
      dataset: ds,
      state: ckpt!.state,
      history: ckpt!.history,
      options: options(STEPS),
      post,
    });
    expect(r.trainer.iteration).toBe(held);
    messages.length = 0;
    r.start();
    await until(() => r.state === 'finished', 'the restored run to finish');
    expect(r.history.step).toEqual([1, 2, 3, 4, 5]);
    // The page hears of the resume at once and of its first step at once (not at the next 250 ms status tick).
    const steps = messages.flatMap((m) => (m.type === 'status' ? [m.status.step] : []));
    expect(steps[0]).toBe(held);
    expect(steps.find((st) => st > held)).toBe(held + 1);
    expect([r.history.gAdv, r.history.gRecZ, r.history.dReal, r.history.dFake]).toEqual(straight);
    r.dispose();
  });

  it('a loss gone NaN stops the run at that step with an error; the last good checkpoint stays as it was', async () => {
    messages.length = 0;
    const ds = dataset();
    const tensorsBefore = tf.memory().numTensors;
    const good = TrainingSession.create({ runId: 'run-nan', dataset: ds, config, seed: SEED, options: options(2), post });
    good.start();
    await until(() => good.state === 'finished', 'two good steps');
    good.dispose();
    const saved = await loadLatestCheckpoint('run-nan');
    expect(saved?.state.iteration).toBe(2);

    // The same run continued with learning rates of 1e30 (what `--set lr…=1e30` does to the headless trainer).
    const lr = { lrD: 1e30, lrG: 1e30, lrZ: 1e30, lrF: 1e30 };
    const state = { ...saved!.state, config: withTrainingSettings(saved!.state.config, lr) };
    messages.length = 0;
    const every = { ...options(8), checkpointEvery: 1 };
    const badRun = TrainingSession.restore({ runId: 'run-nan', dataset: ds, state, history: saved!.history, options: every, post });
    let failed = 0;
    badRun.onFailure = () => failed++;
    badRun.start();
    await until(() => failed > 0, 'the guard to stop the run');
    expect(badRun.state).toBe('stopped');
    const errors = messages.filter((m) => m.type === 'error');
    expect(errors).toHaveLength(1);
    const text = errors[0]!.type === 'error' ? errors[0]!.message : '';
    // Which step first reads NaN / Inf depends on the backend's arithmetic (cpu: 3; wasm's stable softmax: 4);
    // every step before it was good and checkpointed (checkpointEvery 1), nothing from it on was.
    const m = /^training diverged at step (\d+): .*(NaN|Infinity)/.exec(text);
    expect(m, text).not.toBeNull();
    const bad = Number(m![1]);
    expect(bad).toBeGreaterThanOrEqual(3);
    const lastGood = bad - 1;
    expect(text).toContain(`the last good checkpoint (step ${lastGood}) is kept`);
    const savedSteps = messages.flatMap((x) => (x.type === 'checkpoint-saved' ? [x.step] : []));
    expect(savedSteps).toEqual(Array.from({ length: lastGood - 2 }, (_, i) => 3 + i));
    expect(badRun.history.step).toEqual(Array.from({ length: lastGood }, (_, i) => 1 + i)); // the non-finite reading is not recorded
    badRun.start(); // a stopped run cannot be started again
    expect(badRun.state).toBe('stopped');
    badRun.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);

    const after = await loadLatestCheckpoint('run-nan');
    expect(after?.state.iteration).toBe(lastGood);
    for (const [k, t] of after!.state.weights) expect(t.data.every(Number.isFinite), k).toBe(true);
    if (lastGood === 2) {
      expect(after?.state.config.lrD).toBe(config.lrD);
      for (const [k, t] of saved!.state.weights) expect(Array.from(after!.state.weights.get(k)!.data), k).toEqual(Array.from(t.data));
    }
  });
});
