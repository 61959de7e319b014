/** Checkpoints in IndexedDB (fake-indexeddb): round trip, and a write that fails half-way never replaces the previous one. */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NamedTensorData, TrainingState } from '../src/redo';
import { preset } from '../src/redo/config';
import { CheckpointError, deleteRun, listRuns, loadLatestCheckpoint, saveCheckpoint } from '../src/data/checkpoints';
import { closeStudioDb, openStudioDb, STALE_MS } from '../src/data/db';
import type { LossHistory } from '../src/formats/history';

function tensor(shape: number[], seed: number): NamedTensorData {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i) * 1e-3 + (i % 7 === 0 ? -0 : 0)) };
}

/** A state with one tensor per network and its Adam moments; `k` varies every number. */
function makeState(iteration: number, k: number): TrainingState {
  const params: Array<[string, number[], 'F' | 'G' | 'D' | 'Z']> = [
    ['netEncM.cnn.0.mods.0.weight', [4, 3, 3, 3], 'F'],
    ['netGenX.net.0.mods.1.weight_orig', [8, 4], 'G'],
    ['netDX.net.0.weight_u', [5], 'D'],
    ['netRecZ.net.out.bias', [6], 'Z'],
  ];
  const weights = new Map<string, NamedTensorData>();
  const optimizer = {} as TrainingState['optimizer'];
  params.forEach(([name, shape, net], i) => {
    weights.set(name, tensor(shape, k * 10 + i));
    optimizer[net] = {
      step: iteration + i,
      tensors: new Map([
        [`${name}.exp_avg`, tensor(shape, k * 100 + i)],
        [`${name}.exp_avg_sq`, tensor(shape, k * 1000 + i)],
      ]),
    };
  });
  return { config: preset('tiny'), seed: 1234, iteration, restarts: k % 2, weights, optimizer };
}

function makeHistory(n: number): LossHistory {
  const r = (o: number) => Array.from({ length: n }, (_, i) => Math.cos(i + o));
  return { step: Array.from({ length: n }, (_, i) => i + 1), gAdv: r(1), gRecZ: r(2), dReal: r(3), dFake: r(4), accuracy: [0.5] };
}

function expectSameState(a: TrainingState, b: TrainingState): void {
  expect([b.seed, b.iteration, b.restarts]).toEqual([a.seed, a.iteration, a.restarts]);
  expect(b.config).toEqual(a.config);
  const same = (x: ReadonlyMap<string, NamedTensorData>, y: ReadonlyMap<string, NamedTensorData>) => {
    expect([...y.keys()]).toEqual([...x.keys()]);
    for (const [name, t] of x) {
      expect(y.get(name)!.shape).toEqual(t.shape);
      expect(Buffer.from(y.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    }
  };
  same(a.weights, b.weights);
  for (const net of ['F', 'G', 'D', 'Z'] as const) {
    expect(b.optimizer[net].step).toBe(a.optimizer[net].step);
    same(a.optimizer[net].tensors, b.optimizer[net].tensors);
  }
}

async function checkpointKeys(runId: string): Promise<string[]> {
  const db = await openStudioDb();
  return db.getAllKeysFromIndex('checkpoints', 'byRun', runId);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('checkpoints', () => {
  it('round-trips weights, optimizer state, counters, seed, config and history bit for bit; one record per run', async () => {
    expect(await loadLatestCheckpoint('run-a')).toBeNull();
    const s1 = makeState(100, 1);
    await saveCheckpoint('run-a', 'ds-1', s1, makeHistory(100));
    const got = (await loadLatestCheckpoint('run-a'))!;
    expectSameState(s1, got.state);
    expect(got.history).toEqual(makeHistory(100));

    const s2 = makeState(200, 2);
    await saveCheckpoint('run-a', 'ds-1', s2, makeHistory(200));
    expectSameState(s2, (await loadLatestCheckpoint('run-a'))!.state);
    expect((await checkpointKeys('run-a')).length).toBe(1); // the previous one is gone

    const runs = await listRuns();
    const run = runs.find((r) => r.runId === 'run-a')!;
    expect(run).toMatchObject({ datasetId: 'ds-1', step: 200, config: preset('tiny') });
    expect(run.updatedAt >= run.createdAt).toBe(true);
  });

  it('a failure while writing the new checkpoint (quota) keeps the previous one as the latest', async () => {
    const s1 = makeState(10, 3);
    await saveCheckpoint('run-b', 'ds-1', s1, makeHistory(10));
    const put = IDBObjectStore.prototype.put;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (this.name === 'checkpoints') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.call(this, value, key);
    });
    const err = await saveCheckpoint('run-b', 'ds-1', makeState(20, 4), makeHistory(20)).catch((e: unknown) => e);
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(
      /^checkpoint not saved: storage quota exceeded \(it needs about [\d.]+ KB\)\. The previous checkpoint \(step 10\) is kept\. Free space by deleting datasets or runs you no longer need\.$/,
    );
    const latest = (await loadLatestCheckpoint('run-b'))!;
    expectSameState(s1, latest.state);
    expect(latest.history).toEqual(makeHistory(10));
    expect((await checkpointKeys('run-b')).length).toBe(1);
    expect((await listRuns()).find((r) => r.runId === 'run-b')!.step).toBe(10);
  });

  it('a failure while switching to the new checkpoint (transaction aborted half-way) keeps the previous one', async () => {
    const s1 = makeState(30, 5);
    await saveCheckpoint('run-c', 'ds-2', s1, makeHistory(30));
    const put = IDBObjectStore.prototype.put;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      const req = put.call(this, value, key);
      if (this.name === 'runs') this.transaction.abort(); // the tab dies mid-transaction
      return req;
    });
    await expect(saveCheckpoint('run-c', 'ds-2', makeState(40, 6), makeHistory(40))).rejects.toThrow();
    vi.restoreAllMocks();
    expectSameState(s1, (await loadLatestCheckpoint('run-c'))!.state);
    expect((await checkpointKeys('run-c')).length).toBe(1); // the half-written one was removed
    // the next save works and replaces it
    const s3 = makeState(50, 7);
    await saveCheckpoint('run-c', 'ds-2', s3, makeHistory(50));
    expectSameState(s3, (await loadLatestCheckpoint('run-c'))!.state);
  });

  it('a crash between writing and switching leaves the previous one current; the orphan is purged on the next open', async () => {
    const s1 = makeState(60, 8);
    await saveCheckpoint('run-d', 'ds-2', s1, makeHistory(60));
    const db = await openStudioDb();
    const [key] = await checkpointKeys('run-d');
    const record = (await db.get('checkpoints', key!))!;
    await db.put('checkpoints', { ...record, key: 'run-d/orphan', iteration: 70, writtenAt: Date.now() - STALE_MS - 1 });
    expect(await loadLatestCheckpoint('run-d')).not.toBeNull();
    expect((await loadLatestCheckpoint('run-d'))!.state.iteration).toBe(60);
    await closeStudioDb();
    expect(await checkpointKeys('run-d')).toEqual([key]);
    expectSameState(s1, (await loadLatestCheckpoint('run-d'))!.state);
  });

  it('deleteRun removes the run and all its checkpoints', async () => {
    await saveCheckpoint('run-e', 'ds-3', makeState(5, 9), makeHistory(5));
    await deleteRun('run-e');
    expect(await loadLatestCheckpoint('run-e')).toBeNull();
    expect(await checkpointKeys('run-e')).toEqual([]);
    expect((await listRuns()).some((r) => r.runId === 'run-e')).toBe(false);
  });
});
