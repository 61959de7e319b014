/**
 * The studio's zustand store (src/ui/store.ts) as the worker's messages drive it: loss history over the whole
 * run (chunks appended, a restored run's history replacing what was shown, accuracy / IoU kept aligned with the
 * steps, an entry an evaluation wrote into sent again and replaced), a best-of-K search's starts, ingest state, and
 * an import refusal that leaves the run's status alone.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { useStudio } from '../src/ui/store';
import type { LossHistory } from '../src/formats/history';
import type { TrainingStatus } from '../src/worker/protocol';

const initial = useStudio.getState();

function chunk(steps: number[], metrics?: number[]): LossHistory {
  const h: LossHistory = {
    step: steps,
    gAdv: steps.map((s) => s + 0.1),
    gRecZ: steps.map((s) => s + 0.2),
    dReal: steps.map((s) => s + 0.3),
    dFake: steps.map((s) => s + 0.4),
  };
  if (metrics) {
    h.accuracy = metrics;
    h.iou = metrics.map((m) => m / 2);
  }
  return h;
}

function status(runId: string, step: number): TrainingStatus {
  return { ...initial.status, state: 'running', runId, datasetId: 'd', datasetName: 'digits', step, totalSteps: step, maxSteps: 100 };
}

describe('studio store', () => {
  beforeEach(() => useStudio.setState(initial, true));

  it('appends loss chunks of a run and replaces them when a restored run sends its whole history', () => {
    const s = () => useStudio.getState();
    s().receive({ type: 'status', status: status('run-1', 0) });
    s().receive({ type: 'losses', runId: 'run-1', chunk: chunk([1, 2]), reset: true, from: 0 });
    s().receive({ type: 'losses', runId: 'run-1', chunk: chunk([3, 4]), reset: false, from: 2 });
    expect(s().history.step).toEqual([1, 2, 3, 4]);
    expect(s().history.gRecZ).toEqual([1.2, 2.2, 3.2, 4.2]);
    // Accuracy arrives later in the run: earlier steps are padded so the arrays stay aligned with `step`.
    s().receive({ type: 'losses', runId: 'run-1', chunk: chunk([5, 6], [NaN, 0.8]), reset: false, from: 4 });
    expect(s().history.accuracy).toEqual([NaN, NaN, NaN, NaN, NaN, 0.8]);
    expect(s().history.iou).toHaveLength(6);
    const version = s().historyVersion;

    s().receive({ type: 'losses', runId: 'run-2', chunk: chunk([1, 2, 3]), reset: true, from: 0 });
    expect(s().history.step).toEqual([1, 2, 3]);
    expect(s().history.accuracy).toBeUndefined();
    expect(s().historyRunId).toBe('run-2');
    expect(s().historyVersion).toBeGreaterThan(version);
  });

  it('tracks ingest and selects the new dataset at its size', () => {
    const s = () => useStudio.getState();
    s().receive({ type: 'ingest-progress', done: 3, total: 10, phase: 'decoding' });
    expect(s().ingest).toMatchObject({ running: true, done: 3, total: 10 });
    const summary = { id: 'ds-9', name: 'cats', size: 64, count: 7, hasMasks: false, createdAt: '2026-01-01' };
    s().receive({
      type: 'ingest-done',
      result: { datasetId: 'ds-9', accepted: 7, rejected: [{ name: 'x.txt', reason: 'not an image' }], warnings: [] },
      summary,
      ms: 100,
    });
    expect(s().ingest.running).toBe(false);
    expect(s().ingest.rejected).toEqual([{ name: 'x.txt', reason: 'not an image' }]);
    expect(s().selectedDatasetId).toBe('ds-9');
    expect(s().config.imageSize).toBe(64);
  });

  it('shows an import refusal without touching the run', () => {
    const s = () => useStudio.getState();
    s().receive({ type: 'status', status: status('run-1', 12) });
    s().importStarted();
    s().receive({ type: 'error', context: 'import', message: 'not a zip' });
    expect(s().importError).toBe('not a zip');
    expect(s().importBusy).toBe(false);
    expect(s().status.step).toBe(12);
    expect(s().status.runId).toBe('run-1');
    expect(s().errors.map((e) => e.context)).toEqual(['import']);
  });

  it('replaces the entry an evaluation wrote into (spread / pairIoU, accuracy / IoU) when it comes again', () => {
    const s = () => useStudio.getState();
    s().receive({ type: 'losses', runId: 'run-1', chunk: chunk([1, 2]), reset: true, from: 0 });
    // The worker re-sends entry 1 (step 2) with the evaluation written into it, and step 3.
    const again = chunk([2, 3], [0.7, NaN]);
    again.spread = [0.12, NaN];
    again.pairIoU = [0.81, NaN];
    s().receive({ type: 'losses', runId: 'run-1', chunk: again, reset: false, from: 1 });
    expect(s().history.step).toEqual([1, 2, 3]);
    expect(s().history.gAdv).toEqual([1.1, 2.1, 3.1]);
    expect(s().history.pairIoU).toEqual([NaN, 0.81, NaN]);
    expect(s().history.spread).toEqual([NaN, 0.12, NaN]);
    expect(s().history.accuracy).toEqual([NaN, 0.7, NaN]);
  });

  it('keeps a best-of-K search for its run and drops it when another run is shown', () => {
    const s = () => useStudio.getState();
    const record = (start: number, kept: boolean) => ({
      start,
      seed: 100 + start,
      steps: 4,
      iou: 0.3 + start / 10,
      spread: 0.1,
      pairIoU: 0.8,
      score: 0.3 + start / 10,
      rankedBy: 'held-out IoU' as const,
      kept,
      curve: [{ step: 4, iou: 0.3 + start / 10, spread: 0.1, pairIoU: 0.8 }],
    });
    s().receive({ type: 'status', status: status('run-s', 2) });
    const plan = { count: 2, steps: 4 };
    s().receive({ type: 'starts', runId: 'run-s', plan, records: [record(0, true)], current: 1 });
    expect(s().search).toMatchObject({ runId: 'run-s', current: 1 });
    s().receive({ type: 'starts', runId: 'run-s', plan, records: [record(0, false), record(1, true)], current: null });
    expect(s().search?.records.map((r) => r.kept)).toEqual([false, true]);
    expect(s().search?.current).toBeNull();
    s().receive({ type: 'losses', runId: 'run-s', chunk: chunk([1]), reset: true, from: 0 });
    expect(s().search?.runId).toBe('run-s');
    s().receive({ type: 'losses', runId: 'run-other', chunk: chunk([1]), reset: true, from: 0 });
    expect(s().search).toBeNull();
  });
});
