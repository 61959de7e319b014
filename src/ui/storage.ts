/**
 * The browser storage that holds the studio's datasets and checkpoints (IndexedDB): persistence is asked for once
 * a dataset has been stored (navigator.storage.persist(), so that the browser does not evict them when the disk
 * runs low), and usage / quota are shown next to the stored datasets (navigator.storage.estimate()). Main thread
 * only: persist() is not exposed to workers. The StorageManager is a parameter, so tests pass a fake one.
 */
import { formatBytes } from './format';

export type StorageManagerLike = Pick<StorageManager, 'estimate' | 'persisted' | 'persist'>;

export interface StorageView {
  /** False where the browser has no StorageManager (then nothing else is known). */
  supported: boolean;
  /** Bytes this site uses and may use (estimate()); null until read. */
  usage: number | null;
  quota: number | null;
  /** true: persistent (granted); false: best-effort (declined, or not asked yet); null: not read yet. */
  persisted: boolean | null;
  /** Whether the studio asked for persistence in this page (it asks once). */
  asked: boolean;
}

export const UNKNOWN_STORAGE: StorageView = { supported: true, usage: null, quota: null, persisted: null, asked: false };

/** The page's StorageManager, or undefined (an old browser, an insecure origin, Node). */
export function browserStorage(): StorageManagerLike | undefined {
  // typed as always there; absent in Node, old browsers and on insecure origins
  const sm = typeof navigator === 'undefined' ? undefined : (navigator.storage as StorageManager | undefined);
  return sm && typeof sm.estimate === 'function' ? sm : undefined;
}

/**
 * Reads usage, quota and persistence; with `ask` (a dataset was just stored) and storage not yet persistent, asks
 * for persistence once per page. Never throws: a failing call leaves what was known.
 */
export async function refreshStorage(sm: StorageManagerLike | undefined, prev: StorageView, ask: boolean): Promise<StorageView> {
  if (!sm) return { ...prev, supported: false };
  const next: StorageView = { ...prev, supported: true };
  try {
    next.persisted = await sm.persisted();
  } catch {
    // keep what was known
  }
  if (ask && next.persisted !== true && !prev.asked && typeof sm.persist === 'function') {
    next.asked = true;
    try {
      next.persisted = await sm.persist();
    } catch {
      next.persisted = false;
    }
  }
  try {
    const e = await sm.estimate();
    next.usage = e.usage ?? null;
    next.quota = e.quota ?? null;
  } catch {
    // keep what was known
  }
  return next;
}

/** One line for the user: how much is used, how much is left, and whether the browser may clear it. */
export function describeStorage(v: StorageView): string {
  if (!v.supported) return 'This browser does not report its storage; export the runs you want to keep.';
  const space =
    v.usage !== null && v.quota !== null
      ? `${formatBytes(v.usage)} used, ${formatBytes(Math.max(0, v.quota - v.usage))} available. `
      : v.usage !== null
        ? `${formatBytes(v.usage)} used. `
        : '';
  if (v.persisted === true) {
    return `${space}Persistent storage granted: the browser will not clear your datasets and checkpoints to free space.`;
  }
  if (v.persisted === false && v.asked) {
    return (
      `${space}Persistent storage not granted: the browser may clear your datasets and checkpoints when the disk runs low ` +
      '(export the runs you want to keep).'
    );
  }
  if (v.persisted === false) return `${space}Not persistent yet: the studio asks the browser when you store a dataset.`;
  return space.trim();
}
