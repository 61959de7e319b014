/**
 * Keeps the studio's training worker alive without a reload. The worker is restarted when it crashes (its
 * `error` event), when it stops answering the watchdog's pings (a worker the browser ended sends no event), and
 * when it reports that its WebGPU device was lost; the page is told in one sentence what happened. After a lost
 * device the new worker asks for WebGPU again; if WebGPU will not come back, the next backend is chosen
 * (BACKEND_ORDER) and that is announced too. No DOM and no store here: ./client.ts wires it to both.
 */
import type { BackendName, BackendReport, FromWorker, ToWorker } from '../worker/protocol';

/** The fallback order after a lost device: the studio's backends, fastest first. */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];

/** Each backend as the announcement names it. */
const SAID: Record<BackendName, string> = { webgpu: 'WebGPU', wasm: 'WebAssembly', webgl: 'WebGL', cpu: 'the CPU' };

/** The backend after `b` in BACKEND_ORDER, or null after the last. */
export function nextBackend(b: BackendName): BackendName | null {
  return BACKEND_ORDER[BACKEND_ORDER.indexOf(b) + 1] ?? null;
}

export type CrashKind = 'error' | 'unresponsive' | 'device-lost';

export interface Crash {
  kind: CrashKind;
  /** What happened, in one sentence for the user. */
  sentence: string;
}

/** One started worker, as the supervisor drives it. */
export interface WorkerHandle {
  post(msg: ToWorker, transfer?: Transferable[]): void;
  terminate(): void;
}

/** Starts a worker whose messages and uncaught errors go to `events`. */
export type WorkerFactory = (events: { message(msg: FromWorker): void; error(message: string): void }) => WorkerHandle;

export interface Timers {
  now(): number;
  every(ms: number, fn: () => void): () => void;
}

const realTimers: Timers = {
  now: () => performance.now(),
  every: (ms, fn) => {
    const id = setInterval(fn, ms);
    return () => clearInterval(id);
  },
};

export interface SupervisorOptions {
  create: WorkerFactory;
  /** Every message of the current worker (a dead worker's late messages are dropped). */
  onMessage(msg: FromWorker): void;
  /** A worker started: `after` is the crash it replaces (null for the first). Send it its first messages here. */
  onStart(after: Crash | null): void;
  /** A backend was given up after a lost device: what the user is told. */
  onFallback(sentence: string, next: BackendName): void;
  /** No message for this long (pings every quarter of it) and the worker is restarted. */
  watchdogMs: number;
  timers?: Timers;
}

export class WorkerSupervisor {
  private handle: WorkerHandle | null = null;
  private generation = 0;
  private lastHeard = 0;
  private stopWatchdog: (() => void) | null = null;
  /** After a lost device: the next backend report decides whether WebGPU came back. */
  private checkBackend = false;
  private readonly timers: Timers;

  constructor(private readonly o: SupervisorOptions) {
    this.timers = o.timers ?? realTimers;
  }

  get running(): boolean {
    return this.handle !== null;
  }

  start(): void {
    if (this.handle) return;
    this.spawn(null);
    this.stopWatchdog = this.timers.every(Math.max(50, this.o.watchdogMs / 4), () => this.watch());
  }

  post(msg: ToWorker, transfer: Transferable[] = []): void {
    if (!this.handle) this.start();
    this.handle!.post(msg, transfer);
  }

  /** Test hook: ends the worker the way the browser would (no event): only the watchdog can notice. */
  kill(): void {
    this.handle?.terminate();
  }

  /** Stops supervising (the worker too). */
  dispose(): void {
    this.stopWatchdog?.();
    this.stopWatchdog = null;
    this.handle?.terminate();
    this.handle = null;
  }

  private spawn(after: Crash | null): void {
    const gen = ++this.generation;
    this.lastHeard = this.timers.now();
    this.handle = this.o.create({
      message: (msg) => {
        if (gen !== this.generation) return;
        this.lastHeard = this.timers.now();
        this.received(msg);
      },
      error: (message) => {
        if (gen !== this.generation) return;
        this.restart({ kind: 'error', sentence: `The training worker crashed (${message || 'unknown error'}) and was restarted.` });
      },
    });
    this.o.onStart(after);
  }

  private received(msg: FromWorker): void {
    if (msg.type === 'pong') return;
    if (msg.type === 'device-lost') {
      this.checkBackend = true;
      const why = msg.message ? `${msg.reason}: ${msg.message}` : msg.reason;
      this.restart({ kind: 'device-lost', sentence: `The GPU device was lost (${why}); the training worker was restarted.` });
      return;
    }
    if (msg.type === 'backend' && this.checkBackend) this.fallBackIfNeeded(msg.report);
    this.o.onMessage(msg);
  }

  private fallBackIfNeeded(report: BackendReport): void {
    if (report.active) {
      this.checkBackend = false;
      return;
    }
    const next = nextBackend(report.requested);
    if (!next) {
      this.checkBackend = false;
      return;
    }
    this.o.onFallback(
      `${SAID[report.requested]} did not come back after the device was lost, so the studio switched to ${SAID[next]}.`,
      next,
    );
    this.handle?.post({ type: 'set-backend', backend: next });
  }

  private watch(): void {
    if (!this.handle) return;
    const silent = this.timers.now() - this.lastHeard;
    if (silent > this.o.watchdogMs) {
      const s = Math.round(silent / 1000);
      this.restart({
        kind: 'unresponsive',
        sentence: `The training worker stopped answering for ${s} s (the browser may have ended it) and was restarted.`,
      });
    } else this.handle.post({ type: 'ping' });
  }

  private restart(crash: Crash): void {
    this.handle?.terminate();
    this.handle = null;
    this.spawn(crash);
  }
}
