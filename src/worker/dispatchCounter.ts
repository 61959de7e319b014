/**
 * Counts what a piece of work asks of the device: TF.js kernels (every kernel or custom op the engine runs —
 * the list `tf.profile` gives, without its per-kernel timing) and, on the `webgpu` backend, GPU compute
 * dispatches (WebGPUBackend.recordAndSubmit encodes exactly one `dispatchWorkgroups` per call), queue submits
 * and GPU → CPU readbacks (getBufferData). The speed benchmark (scripts/bench-speed.ts, e2e/harness/bench.ts)
 * and the GPU kit print these per training step.
 *
 * Written by hand because TF.js offers no dispatch counter: `tf.profile` lists kernels, not dispatches (a
 * kernel can dispatch zero GPU programs, e.g. a reshape, or several), and it times each kernel, which on
 * WebGPU ends the compute pass after every program. Here the engine's and the backend's own methods are
 * wrapped on their instances for the time of the count and put back by `stop()`; nothing else changes, so
 * counting costs one increment per call and can stay on while a step is timed.
 *
 * Counts are taken when work is ENCODED: they are complete as soon as the JS side of the work has returned,
 * whether or not the GPU has finished it (so a slow emulated GPU can be counted without waiting for it).
 */
import * as tf from '../redo/tf';
import { disposeLosses, readLosses, type ImageSet, type RedoTrainer } from '../redo';

export interface WorkCounts {
  /** TF.js kernels and custom ops run by the engine (what tf.profile lists). */
  kernels: number;
  /** GPU compute dispatches (webgpu only; null on other backends). */
  dispatches: number | null;
  /** Command buffers submitted to the GPU queue (webgpu only). */
  submits: number | null;
  /** GPU → CPU buffer readbacks (webgpu only). */
  readbacks: number | null;
}

type Method = (...args: unknown[]) => unknown;

/** Wraps obj[name] on the instance so that `onCall` runs before each call; returns the undo. */
function wrap(obj: object, name: string, onCall: () => void): () => void {
  const target = obj as Record<string, unknown>;
  const original = target[name];
  if (typeof original !== 'function') {
    throw new Error(`cannot count: ${obj.constructor.name}.${name} is not a method (tfjs internals changed?)`);
  }
  const own = Object.prototype.hasOwnProperty.call(obj, name);
  target[name] = function (this: unknown, ...args: unknown[]) {
    onCall();
    return (original as Method).apply(this, args);
  };
  return () => {
    if (own) target[name] = original;
    else delete target[name];
  };
}

export class WorkCounter {
  private kernels = 0;
  private dispatches = 0;
  private submits = 0;
  private readbacks = 0;
  private readonly onWebgpu: boolean;
  private undo: Array<() => void> = [];

  /** Starts counting on the current backend (call after tf.setBackend). */
  constructor() {
    this.onWebgpu = tf.getBackend() === 'webgpu';
    this.undo.push(wrap(tf.engine(), 'runKernelFunc', () => this.kernels++));
    if (this.onWebgpu) {
      const b = tf.backend();
      this.undo.push(wrap(b, 'recordAndSubmit', () => this.dispatches++));
      this.undo.push(wrap(b, 'submitQueue', () => this.submits++));
      this.undo.push(wrap(b, 'getBufferData', () => this.readbacks++));
    }
  }

  /** The counts so far. */
  read(): WorkCounts {
    const gpu = (n: number) => (this.onWebgpu ? n : null);
    return { kernels: this.kernels, dispatches: gpu(this.dispatches), submits: gpu(this.submits), readbacks: gpu(this.readbacks) };
  }

  /** The counts since the last reset (or the start); starts the next interval from zero. */
  take(): WorkCounts {
    const c = this.read();
    this.kernels = this.dispatches = this.submits = this.readbacks = 0;
    return c;
  }

  /** Stops counting and restores the wrapped methods; returns the counts since the last take(). */
  stop(): WorkCounts {
    for (const u of this.undo.reverse()) u();
    this.undo = [];
    return this.read();
  }
}

/** Counts the work `f` encodes (synchronously); the counter is removed again even if f throws. */
export function countWork<T>(f: () => T): { result: T; counts: WorkCounts } {
  const c = new WorkCounter();
  try {
    const result = f();
    return { result, counts: c.read() };
  } finally {
    c.stop();
  }
}

/** `1234 kernels, 456 dispatches, 31 submits, 1 readback` (GPU fields only where counted). */
export function formatCounts(c: WorkCounts): string {
  const parts = [`${c.kernels} kernels`];
  if (c.dispatches !== null) parts.push(`${c.dispatches} dispatches`);
  if (c.submits !== null) parts.push(`${c.submits} submits`);
  if (c.readbacks !== null) parts.push(`${c.readbacks} readback${c.readbacks === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/**
 * The benchmarks' training iteration, timed and counted: sampleBatches + trainer.step + ONE batched readback of
 * the losses (so the device has finished the step when the time is taken).
 */
export async function timedStep(
  trainer: RedoTrainer,
  data: ImageSet,
  opts: { batchSize?: number; batchSeed?: number } = {},
): Promise<{ ms: number; counts: WorkCounts }> {
  const counter = new WorkCounter();
  const t = performance.now();
  try {
    const l = trainer.stepOn(data, opts);
    await readLosses(l);
    disposeLosses(l);
    return { ms: performance.now() - t, counts: counter.read() };
  } finally {
    counter.stop();
  }
}

/**
 * The counts of several steps as one: the last step's, and whether any step ran other kernels or dispatches
 * (submits may differ by one or two between steps: where a readback closes the open batch of dispatches).
 */
export function stepCounts(all: WorkCounts[]): { counts: WorkCounts; varies: boolean } | null {
  const last = all[all.length - 1];
  if (!last) return null;
  return { counts: last, varies: all.some((c) => c.kernels !== last.kernels || c.dispatches !== last.dispatches) };
}
