/**
 * Two tabs, one run, in Node: two worker handlers (two tabs' workers) share one fake Web Locks manager (the
 * browser's, as the Locks API behaves: exclusive, `ifAvailable`, queued requests, abort). Tab B cannot open or
 * delete the run tab A has open; its take-over waits until A lets the run go and then opens it, paused, with the
 * step and weights of A's last checkpoint.
 */
import 'fake-indexeddb/auto';
import { afterAll, describe, expect, it } from 'vitest';
import { preset } from '../src/redo/config';
import { closeStudioDb } from '../src/data/db';
import { createDemoDatasetFromDigits } from '../src/data/datasets';
import { loadMnistDigitsNode } from '../src/node/mnistNode';
import { createWorkerHandler } from '../src/worker/handlers';
import { RunLocks, type Locks } from '../src/worker/runLock';
import type { FromWorker } from '../src/worker/protocol';
import { until } from './helpers/runs';

/** Exclusive locks by name, as navigator.locks grants them: ifAvailable answers null when held; others queue in order. */
class FakeLocks implements Locks {
  private readonly held = new Set<string>();
  private readonly queues = new Map<string, Array<() => void>>();

  async request(name: string, options: LockOptions, callback: (lock: Lock | null) => Promise<void>): Promise<void> {
    if (this.held.has(name)) {
      if (options.ifAvailable) return callback(null);
      await new Promise<void>((resolve, reject) => {
        const q = this.queues.get(name) ?? [];
        this.queues.set(name, q);
        q.push(resolve);
        options.signal?.addEventListener('abort', () => {
          q.splice(q.indexOf(resolve), 1);
          reject(new DOMException('aborted', 'AbortError'));
        });
      });
    }
    this.held.add(name);
    try {
      await callback({ name, mode: 'exclusive' });
    } finally {
      this.held.delete(name);
      this.queues.get(name)?.shift()?.();
    }
  }
}

function tab(locks: Locks) {
  const messages: FromWorker[] = [];
  const handle = createWorkerHandler((m) => messages.push(m), new RunLocks(locks));
  const statuses = () => messages.flatMap((m) => (m.type === 'status' ? [m.status] : []));
  const errors = () => messages.flatMap((m) => (m.type === 'error' ? [m.message] : []));
  return { messages, handle, statuses, errors };
}

describe('one tab per run (Web Locks)', () => {
  afterAll(() => closeStudioDb());

  it('a second tab is refused the open run, and takes it over once the first lets it go', async () => {
    const locks = new FakeLocks();
    const a = tab(locks);
    const b = tab(locks);
    await a.handle({ type: 'init', backend: 'cpu' });
    await b.handle({ type: 'init', backend: 'cpu' });
    const summary = await createDemoDatasetFromDigits(loadMnistDigitsNode(), 32, 8);
    const options = { lossEvery: 1, previewEvery: 0, checkpointEvery: 1, maxSteps: 2 };
    await a.handle({ type: 'start', datasetId: summary.id, config: preset('tiny'), seed: 4, options });
    await until(() => a.statuses().some((s) => s.state === 'finished' && s.lastCheckpointStep === 2), 'tab A to finish with a checkpoint');
    const runId = a.statuses().at(-1)!.runId!;

    b.messages.length = 0;
    await b.handle({ type: 'resume-run', runId, options, autostart: true });
    expect(b.messages.filter((m) => m.type === 'run-locked')).toEqual([{ type: 'run-locked', runId, waiting: false }]);
    expect(b.statuses().every((s) => s.runId === null)).toBe(true);
    await b.handle({ type: 'delete-run', runId });
    expect(b.errors()).toEqual(['this run is open in another tab: close it there before deleting it']);

    b.messages.length = 0;
    await b.handle({ type: 'take-over', runId, options });
    expect(b.messages).toEqual([{ type: 'run-locked', runId, waiting: true }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.statuses()).toEqual([]); // still A's

    await a.handle({ type: 'delete-run', runId: 'another' }); // nothing of A's changes by that
    expect(a.statuses().at(-1)!.runId).toBe(runId);
    // A opens a new run: it lets the first one go, and B gets it.
    await a.handle({ type: 'start', datasetId: summary.id, config: preset('tiny'), seed: 5, options: { ...options, maxSteps: 1 } });
    await until(() => b.statuses().some((s) => s.runId === runId), 'tab B to open the run');
    const opened = b.statuses().find((s) => s.runId === runId)!;
    expect(opened.state).toBe('paused');
    expect(opened.step).toBe(2);
    await b.handle({ type: 'checksums' });
    const c = b.messages.find((m) => m.type === 'checksums');
    expect(c?.type === 'checksums' && c.live).toEqual(c?.type === 'checksums' && c.checkpoint);
    expect(c?.type === 'checksums' && c.live?.step).toBe(2);
    expect(b.errors()).toEqual([]);
    await a.handle({ type: 'resume-run', runId, options, autostart: false }); // now A is the one refused
    expect(a.messages.filter((m) => m.type === 'run-locked').at(-1)).toEqual({ type: 'run-locked', runId, waiting: false });
    await a.handle({ type: 'stop' });
    await b.handle({ type: 'stop' });
  });
});
