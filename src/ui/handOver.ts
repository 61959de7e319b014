/**
 * Hands dropped or picked files to the worker a slice at a time. Chromium snapshots (stats) every File it posts,
 * on the main thread, a few milliseconds each on a busy machine: 10,000 files in one message froze the page for
 * seconds. Here files go in small parts (`ingest-part`) until a slice's time budget is spent, then the page
 * yields (one task per slice, none over ~50 ms), reporting progress; the `ingest` message follows the last part.
 */
import type { FileEntry, ToWorker } from '../worker/protocol';

export interface HandOverOptions {
  /** Names the parts (the ingest message refers to them by it). */
  id: string;
  files: FileEntry[];
  masks: FileEntry[];
  post(msg: Extract<ToWorker, { type: 'ingest-part' }>): void;
  /** After every slice: files handed over so far, of total. */
  onProgress(done: number, total: number): void;
  /** Time budget of one slice (ms; default 8: with the part that crosses it, under the 50 ms of a long task). */
  sliceMs?: number;
  /** Files per message (default 1: posting one File took up to 40 ms at load 14 on 2 cores). */
  batch?: number;
  now?: () => number;
  /** Lets the page run (default: a macrotask). */
  yieldNow?: () => Promise<void>;
}

const macrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** Posts every file and mask in order, in parts, yielding between slices. */
export async function handOverFiles(o: HandOverOptions): Promise<void> {
  const { sliceMs = 8, batch = 1, now = () => performance.now(), yieldNow = macrotask } = o;
  const total = o.files.length + o.masks.length;
  let i = 0;
  await yieldNow(); // not in the input event's task: the browser's own work on a picked folder is long already
  while (i < total) {
    const t0 = now();
    do {
      const files = o.files.slice(i, Math.min(i + batch, o.files.length));
      const from = Math.max(0, i - o.files.length);
      const masks = o.masks.slice(from, from + batch - files.length);
      o.post({ type: 'ingest-part', handOver: o.id, files, masks });
      i += files.length + masks.length;
    } while (i < total && now() - t0 < sliceMs);
    o.onProgress(i, total);
    if (i < total) await yieldNow();
  }
}
