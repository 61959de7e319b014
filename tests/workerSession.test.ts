/**
 * The studio's training loop (src/worker/session.ts) on the TF.js CPU backend, IndexedDB faked:
 * - a paused run, restored from the checkpoint written on pause, continues exactly as if it had never stopped
 *   (same step counter, weights, optimizer state and batches: identical losses);
 * - pause takes effect within one step and writes a checkpoint at the paused step; the first step after a resume
 *   is reported at once;
 * - losses reach the UI in batches (one readback per `lossEvery` steps), previews and accuracy / IoU every
 *   `previewEvery` steps with ground truth; no tensor is leaked by a run;
 * - a loss that goes NaN / Inf stops the run with an error naming the step, writes nothing more, and leaves the
 *   last good checkpoint as it was (the NaN / Inf guard);
 * - issue 19: the image dependence (spread, pairIoU) reaches the page in the loss chunks, also when an evaluation
 *   writes into an entry already sent; a blob restart is in the status with its reason and counted apart, and in
 *   the checkpoint; the best F is kept across checkpoint and restore and exported as best or last; best of K starts
 *   runs in the session, lists every start, keeps the best one and continues it as a plain run of its seed would.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset, withTrainingSettings } from '../src/redo/config';
import { decodeSafetensors } from '../src/formats/safetensors';
import { heldOutIoU, isScored } from '../src/run/trainingRun';
import { startSeed } from '../src/run/starts';
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

// previewSeconds 0: previews by steps only (the clock's previews are tested on their own below)
const options = (maxSteps: number): LoopOptions => ({ lossEvery: 2, previewEvery: 2, previewSeconds: 0, checkpointEvery: 0, maxSteps });

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

  it('shows the untrained model at step 0, then previews on the clock too, and trains the same', async () => {
    messages.length = 0;
    const tensorsBefore = tf.memory().numTensors;
    // previewEvery 50 (none by steps here), a clock of 1 ms: step 0, then after every step
    const opts: LoopOptions = { lossEvery: 5, previewEvery: 50, previewSeconds: 0.001, checkpointEvery: 0, maxSteps: 3 };
    const s = TrainingSession.create({ runId: 'run-clock', dataset: dataset(), config, seed: SEED, options: opts, post });
    s.start();
    await until(() => s.state === 'finished', 'the run to finish');
    const kinds = messages.filter((m) => m.type === 'previews' || m.type === 'losses').map((m) => m.type);
    expect(kinds[0]).toBe('previews'); // before any loss: the untrained model
    const previews = messages.filter((m) => m.type === 'previews');
    expect(previews.map((m) => (m.type === 'previews' ? m.previews.step : -1))).toEqual([0, 1, 2, 3]);
    // pictures only: accuracy / IoU stay on previewEvery (none here but the closing one, if any), the losses unchanged
    expect(s.history.accuracy!.filter((a) => Number.isFinite(a)).length).toBe(0);
    for (const [k, col] of [s.history.gAdv, s.history.gRecZ, s.history.dReal, s.history.dFake].entries()) {
      expect(col).toEqual(straight[k]!.slice(0, 3));
    }
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

  it('sends spread / pairIoU with the loss chunks, also for an evaluation of an entry already sent', async () => {
    messages.length = 0;
    const ds = dataset();
    const s = TrainingSession.create({ runId: 'run-dep', dataset: ds, config, seed: SEED, options: options(3), post });
    s.start();
    await until(() => s.state === 'finished', 'three steps');
    // Evaluations at steps 2 (with the previews) and 3 (none: 3 is not a preview step).
    const shown = { step: [] as number[], pairIoU: [] as number[], spread: [] as number[] };
    for (const m of messages) {
      if (m.type !== 'losses') continue;
      shown.step.length = shown.pairIoU.length = shown.spread.length = m.from;
      shown.step.push(...m.chunk.step);
      shown.pairIoU.push(...(m.chunk.pairIoU ?? m.chunk.step.map(() => NaN)));
      shown.spread.push(...(m.chunk.spread ?? m.chunk.step.map(() => NaN)));
    }
    expect(shown.step).toEqual([1, 2, 3]);
    expect(shown.pairIoU.slice(0, 2)).toEqual(s.history.pairIoU!.slice(0, 2));
    expect(Number.isNaN(shown.pairIoU[0])).toBe(true);
    expect(shown.pairIoU[1]).toBeGreaterThanOrEqual(0);
    expect(shown.pairIoU[1]).toBeLessThanOrEqual(1);
    expect(shown.spread[1]).toBeGreaterThanOrEqual(0);
    // Opening a run measures it (previewNow): written into the last entry, already sent; it is sent again.
    messages.length = 0;
    await s.previewNow();
    const again = messages.filter((m) => m.type === 'losses');
    expect(again).toHaveLength(1);
    const m = again[0]!;
    expect(m.type === 'losses' && m.from).toBe(2);
    expect(m.type === 'losses' && m.chunk.step).toEqual([3]);
    const pair = m.type === 'losses' ? m.chunk.pairIoU![0]! : NaN;
    expect(pair).toBe(s.history.pairIoU![2]);
    expect(pair).toBeGreaterThanOrEqual(0);
    s.dispose();
  });

  it('a blob restart shows in the status with its reason, counted apart, and in the checkpoint', async () => {
    messages.length = 0;
    // A spread threshold no mask can reach: the first evaluation (iteration 2) restarts the run.
    const blobby = { ...config, blobSpread: 10, blobFrom: 0, blobLastIteration: 1000 };
    const s = TrainingSession.create({ runId: 'run-blob', dataset: dataset(), config: blobby, seed: SEED, options: options(1000), post });
    s.start();
    await until(() => s.trainer.blobRestarts >= 1, 'a blob restart');
    await s.pause();
    const statuses = messages.flatMap((m) => (m.type === 'status' ? [m.status] : []));
    const first = statuses.find((st) => st.blobRestarts > 0)!;
    expect(first.blobRestarts).toBe(1);
    expect(first.restarts).toBe(1);
    expect(first.lastRestart).toMatchObject({ kind: 'blob', step: 2 });
    expect(first.lastRestart!.why).toMatch(/^masks' spread 0\.\d{3} < 10: the masks no longer depend on the image$/);
    const last = s.status();
    expect(last.blobRestarts).toBe(s.trainer.blobRestarts);
    expect(last.restarts).toBe(s.trainer.restarts);
    const ckpt = await loadLatestCheckpoint('run-blob');
    expect(ckpt?.state.blobRestarts).toBe(s.trainer.blobRestarts);
    expect(ckpt?.state.restarts).toBe(s.trainer.restarts);
    s.dispose();
  });

  it('keeps the best F across checkpoint and restore, and exports best or last', async () => {
    messages.length = 0;
    const ds = dataset();
    const s = TrainingSession.create({ runId: 'run-best', dataset: ds, config, seed: SEED, options: options(4), post });
    s.start();
    await until(() => s.state === 'finished', 'four steps');
    const scored = s.run.curve.filter(isScored);
    expect(scored.map((p) => p.step)).toEqual([2, 4]);
    const ious = scored.map((p) => heldOutIoU(p.result));
    const bestAt = ious.indexOf(Math.max(...ious));
    const best = s.run.best!;
    expect(best.step).toBe(scored[bestAt]!.step);
    expect(best.iou).toBe(ious[bestAt]);
    expect(s.status().best).toEqual({ step: best.step, iou: best.iou });

    const ckpt = await loadLatestCheckpoint('run-best');
    expect(ckpt?.best).toMatchObject({ step: best.step, iteration: best.iteration, iou: best.iou });
    expect([...ckpt!.best!.weights.keys()].sort()).toEqual([...best.weights.keys()].sort());
    for (const [k, t] of best.weights) expect(Array.from(ckpt!.best!.weights.get(k)!.data), k).toEqual(Array.from(t.data));
    s.dispose();

    const r = TrainingSession.restore({
      runId: 'run-best',
      dataset: ds,
      state: ckpt!.state,
      history: ckpt!.history,
      options: options(4),
      post,
      best: ckpt!.best,
      starts: ckpt!.starts,
    });
    expect(r.status().best).toEqual({ step: best.step, iou: best.iou });
    const b = await r.exportMaskWeights('best');
    expect(b.step).toBe(best.step);
    const bf = decodeSafetensors(b.bytes);
    expect(bf.metadata.step).toBe(String(best.iteration));
    expect([...bf.tensors.keys()].every((k) => k.startsWith('netEncM.'))).toBe(true);
    for (const [k, t] of best.weights) expect(Array.from(bf.tensors.get(k)!.data), k).toEqual(Array.from(t.data));
    const l = await r.exportMaskWeights('last');
    expect(l.step).toBe(4);
    expect(decodeSafetensors(l.bytes).metadata.step).toBe('4');
    r.dispose();
    await expect(
      TrainingSession.create({
        runId: 'run-nobest',
        dataset: { ...ds, masks: undefined },
        config,
        seed: SEED,
        options: options(1),
        post,
      }).exportMaskWeights('best'),
    ).rejects.toThrow(/no best F/);
  });

  it('best of K starts: every start listed and drawn, the best kept and continued as a plain run of its seed', async () => {
    messages.length = 0;
    const ds = dataset();
    const tensorsBefore = tf.memory().numTensors;
    const plan = { count: 3, steps: 3 };
    const s = TrainingSession.create({ runId: 'run-starts', dataset: ds, config, seed: SEED, options: options(5), post, starts: plan });
    expect(s.searching).toBe(true);
    s.start();
    await until(() => s.state === 'finished', 'three starts and the kept one to step 5');
    expect(s.searching).toBe(false);
    const starts = messages.flatMap((m) => (m.type === 'starts' ? [m] : []));
    const final = starts.at(-1)!;
    expect(final.current).toBeNull();
    expect(final.records.map((r) => r.seed)).toEqual([0, 1, 2].map((k) => startSeed(SEED, k)));
    expect(final.records.map((r) => r.steps)).toEqual([3, 3, 3]);
    for (const r of final.records) {
      expect(r.rankedBy).toBe('held-out IoU');
      expect(r.curve.map((p) => p.step)).toEqual([2, 3]); // step 2 with the previews, 3 at the start's end
      expect(r.score).toBe(r.iou);
    }
    const scores = final.records.map((r) => r.score);
    const kept = scores.indexOf(Math.max(...scores));
    expect(final.records.map((r) => r.kept)).toEqual([0, 1, 2].map((k) => k === kept));
    // While the search ran, the page saw each start training (current 0, 1, 2) with its curve so far.
    expect([...new Set(starts.map((m) => m.current))]).toEqual([0, 1, 2, null]);
    // The kept start is the run: its seed, its steps 1–3 and then 4–5; checkpointed once ranked, never before.
    expect(s.trainer.seed).toBe(startSeed(SEED, kept));
    expect(s.history.step).toEqual([1, 2, 3, 4, 5]);
    expect(s.run.starts).toEqual(final.records);
    const saved = messages.flatMap((m) => (m.type === 'checkpoint-saved' ? [m.step] : []));
    expect(saved).toEqual([3, 5]);
    const ckpt = await loadLatestCheckpoint('run-starts');
    expect(ckpt?.starts.map((r) => r.kept)).toEqual(final.records.map((r) => r.kept));
    expect(ckpt?.state.seed).toBe(startSeed(SEED, kept));
    const keptLosses = [s.history.gAdv, s.history.gRecZ, s.history.dReal, s.history.dFake];
    s.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore); // the starts that lost were disposed, the kept one with the session

    // A plain run of the kept seed: the same losses, bit for bit.
    const plain = TrainingSession.create({
      runId: 'run-plain',
      dataset: ds,
      config,
      seed: startSeed(SEED, kept),
      options: options(5),
      post,
    });
    plain.start();
    await until(() => plain.state === 'finished', 'the plain run');
    expect([plain.history.gAdv, plain.history.gRecZ, plain.history.dReal, plain.history.dFake]).toEqual(keptLosses);
    plain.dispose();
  });
});
