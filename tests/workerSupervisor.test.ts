/**
 * The studio's worker supervisor (src/ui/workerSupervisor.ts) with fake workers and a fake clock: a crashed, a
 * silent and a device-lost worker are each replaced by a fresh one (told in one sentence), a dead worker's late
 * messages are dropped, and after a lost device a WebGPU that will not come back gives way to the next backend.
 */
import { describe, expect, it } from 'vitest';
import { nextBackend, WorkerSupervisor, type Crash, type Timers } from '../src/ui/workerSupervisor';
import type { BackendReport, FromWorker, ToWorker } from '../src/worker/protocol';

interface FakeWorker {
  sent: ToWorker[];
  terminated: boolean;
  message(msg: FromWorker): void;
  error(message: string): void;
}

function harness(watchdogMs = 1000) {
  let now = 0;
  let tick: (() => void) | null = null;
  let period = 0;
  const timers: Timers = {
    now: () => now,
    every: (ms, fn) => {
      period = ms;
      tick = fn;
      return () => (tick = null);
    },
  };
  const workers: FakeWorker[] = [];
  const starts: Array<Crash | null> = [];
  const received: FromWorker[] = [];
  const fallbacks: string[] = [];
  const sup = new WorkerSupervisor({
    watchdogMs,
    timers,
    create: (events) => {
      const w: FakeWorker = { sent: [], terminated: false, message: events.message, error: events.error };
      workers.push(w);
      return { post: (m) => w.sent.push(m), terminate: () => (w.terminated = true) };
    },
    onMessage: (m) => received.push(m),
    onStart: (after) => {
      starts.push(after);
      sup.post({ type: 'init', backend: 'webgpu' });
    },
    onFallback: (sentence) => fallbacks.push(sentence),
  });
  /** Advances the clock by ms, running the watchdog at each of its periods. */
  const advance = (ms: number) => {
    for (let t = 0; t < ms; t += period) {
      now += period;
      tick?.();
    }
  };
  return { sup, workers, starts, received, fallbacks, advance };
}

const report = (active: BackendReport['active'], requested: BackendReport['requested']): FromWorker => ({
  type: 'backend',
  report: { active, requested, threads: 1, offered: [] },
});

describe('the worker supervisor', () => {
  it('a worker that crashes is replaced and initialised again; the dead one is not heard any more', () => {
    const h = harness();
    h.sup.start();
    expect(h.workers).toHaveLength(1);
    h.workers[0]!.error('RangeError: out of memory');
    expect(h.workers).toHaveLength(2);
    expect(h.workers[0]!.terminated).toBe(true);
    expect(h.starts).toEqual([
      null,
      { kind: 'error', sentence: 'The training worker crashed (RangeError: out of memory) and was restarted.' },
    ]);
    expect(h.workers[1]!.sent).toEqual([{ type: 'init', backend: 'webgpu' }]);
    h.workers[0]!.message({ type: 'pong' });
    h.workers[0]!.message(report('cpu', 'cpu'));
    h.workers[0]!.error('late');
    expect(h.received).toEqual([]);
    expect(h.workers).toHaveLength(2);
  });

  it('the watchdog pings a live worker and replaces one silent for longer than its limit', () => {
    const h = harness(1000);
    h.sup.start();
    h.advance(750);
    expect(h.workers[0]!.sent.filter((m) => m.type === 'ping')).toHaveLength(3);
    h.workers[0]!.message({ type: 'pong' });
    h.advance(1000);
    expect(h.workers).toHaveLength(1); // it answered 1000 ms ago: not over the limit yet
    h.advance(250);
    expect(h.workers).toHaveLength(2);
    expect(h.workers[0]!.terminated).toBe(true);
    expect(h.starts[1]).toEqual({
      kind: 'unresponsive',
      sentence: 'The training worker stopped answering for 1 s (the browser may have ended it) and was restarted.',
    });
    expect(h.received).toEqual([]); // pongs are the supervisor's own
  });

  it('a lost device restarts the worker; if WebGPU does not come back the next backend is chosen and announced', () => {
    const h = harness();
    h.sup.start();
    h.workers[0]!.message({ type: 'device-lost', reason: 'destroyed', message: 'Device was destroyed.' });
    expect(h.workers).toHaveLength(2);
    expect(h.starts[1]).toEqual({
      kind: 'device-lost',
      sentence: 'The GPU device was lost (destroyed: Device was destroyed.); the training worker was restarted.',
    });
    h.workers[1]!.message(report(null, 'webgpu'));
    expect(h.workers[1]!.sent.at(-1)).toEqual({ type: 'set-backend', backend: 'wasm' });
    h.workers[1]!.message(report(null, 'wasm'));
    expect(h.workers[1]!.sent.at(-1)).toEqual({ type: 'set-backend', backend: 'webgl' });
    h.workers[1]!.message(report(null, 'webgl'));
    expect(h.workers[1]!.sent.at(-1)).toEqual({ type: 'set-backend', backend: 'cpu' });
    h.workers[1]!.message(report('cpu', 'cpu'));
    h.workers[1]!.message(report(null, 'webgpu')); // the user's own later choice: no automatic fallback
    expect(h.workers[1]!.sent.filter((m) => m.type === 'set-backend')).toHaveLength(3);
    expect(h.fallbacks).toEqual([
      'WebGPU did not come back after the device was lost, so the studio switched to WebAssembly.',
      'WebAssembly did not come back after the device was lost, so the studio switched to WebGL.',
      'WebGL did not come back after the device was lost, so the studio switched to the CPU.',
    ]);
    expect(h.received.filter((m) => m.type === 'backend')).toHaveLength(5);
  });

  it('a lost device with WebGPU back: no fallback', () => {
    const h = harness();
    h.sup.start();
    h.workers[0]!.message({ type: 'device-lost', reason: 'unknown', message: '' });
    h.workers[1]!.message(report('webgpu', 'webgpu'));
    expect(h.fallbacks).toEqual([]);
    expect(h.workers[1]!.sent.some((m) => m.type === 'set-backend')).toBe(false);
    expect([nextBackend('webgpu'), nextBackend('wasm'), nextBackend('webgl'), nextBackend('cpu')]).toEqual(['wasm', 'webgl', 'cpu', null]);
  });
});
