/**
 * Training checkpoints in IndexedDB: all weights (torch names and layout), every Adam moment and step count,
 * the iteration / restart counters and the run seed (which, with them, is the whole RNG state: every z draw
 * and batch choice derives from (seed, restarts, iteration)), the loss history and the config; and, where the run
 * has them, the F with the best held-out IoU so far and the starts of the best-of-K search that chose it.
 *
 * A write interrupted half-way never replaces the previous checkpoint:
 * 1. the new checkpoint is stored under a new key (its own transaction; if it fails nothing else changed);
 * 2. one transaction then checks it is there, points the run's `latest` at it and deletes the run's other
 *    checkpoints (the previous one, and leftovers of earlier interrupted writes).
 * If 2 fails, `latest` still names the previous checkpoint; the orphan is removed by the next save or purge.
 */
import type { TrainingState } from '../redo';
import { withLegacyDefaults } from '../redo/config';
import { decodeSafetensors } from '../formats/safetensors';
import { decodeOptimizer, encodeOptimizer, encodeWeights, type BestF, type StartRecord } from '../formats/runArchive';
import { maskNetworkFile } from '../formats/maskWeights';
import { formatBytes, isQuotaError, openStudioDb, type CheckpointRow, type RunRow } from './db';
import type { RunRecord } from './records';
import type { LossHistory } from '../formats/history';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

function recordOf(r: RunRow): RunRecord {
  const config = withLegacyDefaults(r.config);
  return { runId: r.runId, datasetId: r.datasetId, config, createdAt: r.createdAt, updatedAt: r.updatedAt, step: r.step };
}

/** What a checkpoint keeps beside the state and the history (TrainingRun's `best` and `starts`). */
export interface CheckpointExtras {
  best?: BestF | null;
  starts?: StartRecord[];
}

export async function saveCheckpoint(
  runId: string,
  datasetId: string,
  state: TrainingState,
  history: LossHistory,
  extras: CheckpointExtras = {},
): Promise<void> {
  const db = await openStudioDb();
  const now = new Date();
  const key = `${runId}/${state.restarts}-${state.iteration}/${crypto.randomUUID()}`;
  const row: CheckpointRow = {
    key,
    runId,
    createdAt: now.toISOString(),
    writtenAt: now.getTime(),
    config: state.config,
    seed: state.seed,
    iteration: state.iteration,
    restarts: state.restarts,
    blobRestarts: state.blobRestarts ?? 0,
    weights: encodeWeights(state),
    optimizer: encodeOptimizer(state.optimizer),
    history,
  };
  const best = extras.best;
  if (best) {
    const weights = maskNetworkFile({ config: state.config, weights: best.weights, step: best.iteration, seed: state.seed });
    row.best = { step: best.step, iteration: best.iteration, iou: best.iou, weights };
  }
  if (extras.starts?.length) row.starts = extras.starts;

  // 1. the new checkpoint, under its own key
  try {
    const tx = db.transaction('checkpoints', 'readwrite');
    await Promise.all([tx.store.put(row), tx.done]);
  } catch (e) {
    if (isQuotaError(e)) {
      const size = row.weights.length + row.optimizer.length;
      const prev = await db.get('runs', runId).catch(() => undefined);
      throw new CheckpointError(
        `checkpoint not saved: storage quota exceeded (it needs about ${formatBytes(size)}). ` +
          `${prev?.latest ? `The previous checkpoint (step ${prev.step}) is kept. ` : ''}` +
          'Free space by deleting datasets or runs you no longer need.',
      );
    }
    throw e;
  }

  // 2. flip `latest` and delete the others, atomically
  const tx = db.transaction(['runs', 'checkpoints'], 'readwrite');
  const runs = tx.objectStore('runs');
  const checkpoints = tx.objectStore('checkpoints');
  const done = tx.done;
  done.catch(() => undefined); // awaited below; keeps an abort from surfacing as unhandled first
  const requests: Array<Promise<unknown>> = [];
  try {
    const [stored, prev, keys] = await Promise.all([
      checkpoints.getKey(key),
      runs.get(runId),
      checkpoints.index('byRun').getAllKeys(runId),
    ]);
    if (stored === undefined)
      throw new CheckpointError('checkpoint not saved: it vanished before it could be made current (removed by another tab?)');
    const run: RunRow = {
      runId,
      datasetId,
      config: state.config,
      createdAt: prev?.createdAt ?? row.createdAt,
      updatedAt: row.createdAt,
      step: state.iteration,
      latest: key,
    };
    requests.push(runs.put(run));
    for (const k of keys) if (k !== key) requests.push(checkpoints.delete(k));
    await Promise.all(requests);
    await done;
  } catch (e) {
    for (const r of requests) r.catch(() => undefined); // settled by the abort below
    try {
      tx.abort();
    } catch {
      // already finished or aborted
    }
    await done.catch(() => undefined);
    // the new record is an orphan now: remove it if we can (the purge on the next open would otherwise)
    await db.delete('checkpoints', key).catch(() => undefined);
    throw e;
  }
}

export interface StoredCheckpoint {
  state: TrainingState;
  history: LossHistory;
  best: BestF | null;
  starts: StartRecord[];
}

/** The row of a run's latest checkpoint, if any (one read of the runs and checkpoints stores). */
async function latestRow(runId: string): Promise<CheckpointRow | undefined> {
  const db = await openStudioDb();
  const tx = db.transaction(['runs', 'checkpoints'], 'readonly');
  const run = await tx.objectStore('runs').get(runId);
  const row = run?.latest ? await tx.objectStore('checkpoints').get(run.latest) : undefined;
  await tx.done;
  return row;
}

export async function loadLatestCheckpoint(runId: string): Promise<StoredCheckpoint | null> {
  const row = await latestRow(runId);
  if (!row) return null;
  const state: TrainingState = {
    config: withLegacyDefaults(row.config), // a checkpoint older than a config field resumes as it ran
    seed: row.seed,
    iteration: row.iteration,
    restarts: row.restarts,
    blobRestarts: row.blobRestarts ?? 0,
    weights: decodeSafetensors(row.weights).tensors,
    optimizer: decodeOptimizer(row.optimizer),
  };
  const b = row.best;
  const best: BestF | null = b ? { step: b.step, iteration: b.iteration, iou: b.iou, weights: decodeSafetensors(b.weights).tensors } : null;
  return { state, history: row.history, best, starts: row.starts ?? [] };
}

/** A run's latest checkpoint without its weights (to compare runs): config, seed, iteration and history; null if none. */
export async function loadRunHistory(
  runId: string,
): Promise<{ config: TrainingState['config']; seed: number; iteration: number; history: LossHistory } | null> {
  const row = await latestRow(runId);
  if (!row) return null;
  return { config: withLegacyDefaults(row.config), seed: row.seed, iteration: row.iteration, history: row.history };
}

/** Runs with a checkpoint, most recently updated first. */
export async function listRuns(): Promise<RunRecord[]> {
  const db = await openStudioDb();
  const rows = await db.getAll('runs');
  return rows
    .filter((r) => r.latest !== null)
    .map(recordOf)
    .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
}

/** Removes a run and all its checkpoints (one transaction). Unknown ids are ignored. */
export async function deleteRun(runId: string): Promise<void> {
  const db = await openStudioDb();
  const tx = db.transaction(['runs', 'checkpoints'], 'readwrite');
  const keys = await tx.objectStore('checkpoints').index('byRun').getAllKeys(runId);
  await Promise.all([tx.objectStore('runs').delete(runId), ...keys.map((k) => tx.objectStore('checkpoints').delete(k)), tx.done]);
}
