/**
 * The studio's training loop (src/worker/session.ts) on the TF.js CPU backend, IndexedDB faked:
 * - a paused run, restored from the checkpoint written on pause, continues exactly as if it had never stopped
 *   (same step counter, weights, optimizer state and batches: identical losses);
 * - pause takes effect within one step and writes a checkpoint at the paused step;
 * - losses reach the UI in batches (one readback per `lossEvery` steps), previews and accuracy / IoU every
 *   `previewEvery` steps with ground truth; no tensor is leaked by a run.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset } from '../src/redo/config';
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
    await tf.setBackend('cpu');
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
    const r = TrainingSession.restore({ runId: 'run-b', dataset: ds, state: ckpt!.state, history: ckpt!.history, options: options(STEPS), post });
    expect(r.trainer.iteration).toBe(held);
    r.start();
    await until(() => r.state === 'finished', 'the restored run to finish');
    expect(r.history.step).toEqual([1, 2, 3, 4, 5]);
    expect([r.history.gAdv, r.history.gRecZ, r.history.dReal, r.history.dFake]).toEqual(straight);
    r.dispose();
  });
});
