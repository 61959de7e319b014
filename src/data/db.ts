/**
 * The studio's IndexedDB database (idb). Four stores:
 * - `datasets`: one record per dataset (its summary, a `complete` flag and a write heartbeat);
 * - `images`: one record per image, key [datasetId, index]: name, S·S·3 RGB bytes, optional S·S mask bytes in {0, 1};
 * - `runs`: one record per training run, with `latest`, the key of its current checkpoint;
 * - `checkpoints`: checkpoint records (weights and optimizer state as safetensors bytes), indexed by run.
 *
 * Crash safety: a dataset becomes visible only when its `complete` flag is set, after all its images are
 * stored; a checkpoint only when its run's `latest` points at it. Leftovers of an interrupted write (incomplete
 * datasets, checkpoints no run points at) are removed the first time the database is opened in a context,
 * once they are older than STALE_MS (so that a write still going on in another tab is left alone).
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { RedoConfig } from '../redo/config';
import type { LossHistory } from '../formats/history';
import type { StartRecord } from '../formats/runArchive';
import type { DatasetSummary, RunRecord } from './records';

export const DB_NAME = 'redo-studio';
export const DB_VERSION = 1;
/** Age after which an unfinished write is considered dead. */
export const STALE_MS = 5 * 60_000;

export interface DatasetRow extends DatasetSummary {
  /** Set, in one transaction with the last images, once every image is stored. */
  complete: boolean;
  /** Date.now() of the last write of this dataset (heartbeat while it is being written). */
  touchedAt: number;
}

export interface ImageRow {
  datasetId: string;
  index: number;
  /** File name (relative path) it came from. */
  name: string;
  /** size·size·3 bytes, RGB, row-major. */
  rgb: Uint8Array;
  /** size·size bytes in {0, 1}: ground-truth object mask. */
  mask?: Uint8Array;
}

export interface RunRow extends RunRecord {
  /** Key of the current checkpoint, null before the first one. */
  latest: string | null;
}

export interface CheckpointRow {
  key: string;
  runId: string;
  createdAt: string;
  /** Date.now() at write time. */
  writtenAt: number;
  config: RedoConfig;
  seed: number;
  iteration: number;
  restarts: number;
  /** Of `restarts`, the blob watch's (absent in rows older than it). */
  blobRestarts?: number;
  /** safetensors bytes of the model tensors (torch names and layout). */
  weights: Uint8Array;
  /** safetensors bytes of the Adam moments; per-network steps in its metadata (see runArchive). */
  optimizer: Uint8Array;
  history: LossHistory;
  /**
   * The F with the best held-out IoU so far (runs with held-out masks; absent in rows older than it): F alone as
   * formats/maskWeights.ts maskNetworkFile writes it, the run's step and iteration it is from, and its IoU.
   */
  best?: { step: number; iteration: number; iou: number; weights: Uint8Array };
  /** A best-of-K search that chose this run: every start's scores and curve (src/run/starts.ts). */
  starts?: StartRecord[];
}

export interface StudioDB extends DBSchema {
  datasets: { key: string; value: DatasetRow };
  images: { key: [string, number]; value: ImageRow };
  runs: { key: string; value: RunRow };
  checkpoints: { key: string; value: CheckpointRow; indexes: { byRun: string } };
}

export type StudioDatabase = IDBPDatabase<StudioDB>;

let opening: Promise<StudioDatabase> | undefined;

/** The opened database (shared; opened once per context, leftovers purged on that first open). */
export function openStudioDb(): Promise<StudioDatabase> {
  if (!opening) {
    opening = (async () => {
      const db = await openDB<StudioDB>(DB_NAME, DB_VERSION, {
        upgrade(d) {
          if (!d.objectStoreNames.contains('datasets')) d.createObjectStore('datasets', { keyPath: 'id' });
          if (!d.objectStoreNames.contains('images')) d.createObjectStore('images', { keyPath: ['datasetId', 'index'] });
          if (!d.objectStoreNames.contains('runs')) d.createObjectStore('runs', { keyPath: 'runId' });
          if (!d.objectStoreNames.contains('checkpoints')) {
            d.createObjectStore('checkpoints', { keyPath: 'key' }).createIndex('byRun', 'runId');
          }
        },
        blocking() {
          // another tab wants a newer schema: let it
          void db.close();
          opening = undefined;
        },
        terminated() {
          opening = undefined;
        },
      });
      await purgeLeftovers(db, Date.now() - STALE_MS);
      return db;
    })();
    opening.catch(() => {
      opening = undefined;
    });
  }
  return opening;
}

/** Closes the shared connection (tests; the next call to openStudioDb opens it again). */
export async function closeStudioDb(): Promise<void> {
  const o = opening;
  opening = undefined;
  if (o) (await o.catch(() => undefined))?.close();
}

/** The key range of every image of one dataset. */
export function imageRange(datasetId: string): IDBKeyRange {
  return IDBKeyRange.bound([datasetId, 0], [datasetId, Infinity]);
}

/**
 * Removes incomplete datasets (with their images) and checkpoints that no run points at, when last written
 * before `olderThan` (ms since epoch).
 */
export async function purgeLeftovers(db: StudioDatabase, olderThan: number): Promise<void> {
  const dead = (await db.getAll('datasets')).filter((d) => !d.complete && d.touchedAt < olderThan).map((d) => d.id);
  for (const id of dead) {
    const tx = db.transaction(['datasets', 'images'], 'readwrite');
    await Promise.all([tx.objectStore('images').delete(imageRange(id)), tx.objectStore('datasets').delete(id), tx.done]);
  }
  const tx = db.transaction(['runs', 'checkpoints'], 'readwrite');
  const latest = new Set((await tx.objectStore('runs').getAll()).map((r) => r.latest));
  let cursor = await tx.objectStore('checkpoints').openCursor();
  while (cursor) {
    if (!latest.has(cursor.value.key) && cursor.value.writtenAt < olderThan) await cursor.delete();
    cursor = await cursor.continue();
  }
  await tx.done;
}

/** Whether an error is the browser's storage-quota refusal (names differ between engines). */
export function isQuotaError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { name, code } = e as { name?: unknown; code?: unknown };
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' || code === 22 || code === 1014;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
