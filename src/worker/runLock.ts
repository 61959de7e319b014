/**
 * One tab per run: while this worker has a run open (trains it or writes its checkpoints) it holds the Web Lock
 * `redo-run:<id>` (navigator.locks, shared by every tab of the origin). A second tab that tries to open the run
 * is told it is open elsewhere; a take-over queues for the lock and gets it when the first tab releases it (its
 * run dropped, or the tab / worker gone: the browser releases a dead context's locks). Without the Locks API
 * (Node, tests) there are no other tabs and every lock is granted.
 */

export const lockName = (runId: string): string => `redo-run:${runId}`;

/** The part of the Web Locks API used here (navigator.locks). */
export interface Locks {
  request(name: string, options: LockOptions, callback: (lock: Lock | null) => Promise<void>): Promise<void>;
}

/** navigator.locks where the platform has it (browsers, their workers), else null. */
export function platformLocks(): Locks | null {
  const nav = (globalThis as { navigator?: { locks?: LockManager } }).navigator;
  return nav?.locks ?? null;
}

export class RunLocks {
  private readonly held = new Map<string, () => void>();
  private readonly waits = new Map<string, AbortController>();

  constructor(private readonly locks: Locks | null) {}

  holds(runId: string): boolean {
    return this.held.has(runId);
  }

  /** Takes the run's lock if no one holds it: true when this worker holds it now, false when another tab does. */
  tryAcquire(runId: string): Promise<boolean> {
    return this.hold(runId, { ifAvailable: true });
  }

  /** Queues for the run's lock; resolves once this worker holds it (rejects with an AbortError if cancelled). */
  async wait(runId: string): Promise<void> {
    if (this.held.has(runId)) return;
    this.waits.get(runId)?.abort();
    const ctl = new AbortController();
    this.waits.set(runId, ctl);
    try {
      await this.hold(runId, { signal: ctl.signal });
    } finally {
      if (this.waits.get(runId) === ctl) this.waits.delete(runId);
    }
  }

  /** Lets other tabs have the run. */
  release(runId: string): void {
    this.held.get(runId)?.();
    this.held.delete(runId);
  }

  private hold(runId: string, options: LockOptions): Promise<boolean> {
    if (this.held.has(runId)) return Promise.resolve(true);
    if (!this.locks) {
      this.held.set(runId, () => undefined);
      return Promise.resolve(true);
    }
    const locks = this.locks;
    return new Promise<boolean>((resolve, reject) => {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      locks
        .request(lockName(runId), options, async (lock) => {
          if (!lock) {
            resolve(false);
            return;
          }
          this.held.set(runId, release);
          resolve(true);
          await released; // the lock is held until release(runId)
        })
        .catch(reject);
    });
  }
}
