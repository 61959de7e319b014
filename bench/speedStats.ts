/**
 * Pure helpers of the speed benchmark (scripts/bench-speed.ts): the studio loop's overhead, the memory
 * verdict, the long-task verdict. No I/O, no TF.js.
 */
import { leakVerdict, type LeakVerdict, type MemorySample } from '../src/node/benchUtil';
import { median } from '../src/node/progress';

export interface Overhead {
  bareMs: number;
  studioMs: number;
  /** (studio − bare) / bare × 100, from the medians of the rounds */
  pct: number;
}

/** The studio loop's overhead over bare trainStep calls, from the per-round ms/step (medians over rounds). */
export function loopOverhead(bareMsPerStep: readonly number[], studioMsPerStep: readonly number[]): Overhead | null {
  if (bareMsPerStep.length === 0 || studioMsPerStep.length === 0) return null;
  const bareMs = median(bareMsPerStep);
  const studioMs = median(studioMsPerStep);
  if (!(bareMs > 0) || !Number.isFinite(studioMs)) return null;
  return { bareMs, studioMs, pct: ((studioMs - bareMs) / bareMs) * 100 };
}

/**
 * Flat memory over a run, from tf.memory() samples:
 * - samples before `fromStep` are skipped (warm-up);
 * - from the first kept sample on, the tensor count, the bytes tensors hold and (WebGPU) the GPU bytes in use
 *   must be exactly the same at every sample (src/node/benchUtil.ts leakVerdict);
 * - the WebGPU buffer pool (numBytesAllocatedInGPU) may grow while it warms up (new buffer sizes the first
 *   time a preview or a checkpoint runs) but must not grow in the second half of the kept samples.
 */
export function memoryVerdict(samples: readonly MemorySample[], fromStep = 0): LeakVerdict & { compared: number } {
  const kept = samples.filter((s) => s.step >= fromStep);
  const v = leakVerdict(kept);
  const reasons = [...v.reasons];
  const notes = v.notes.filter((n) => !/pool grew/.test(n));
  if (kept.length >= 2) {
    const mid = kept[Math.floor(kept.length / 2)]!;
    const first = kept[0]!;
    const last = kept[kept.length - 1]!;
    if (mid.gpuBytesAllocated !== undefined && last.gpuBytesAllocated !== undefined) {
      if (last.gpuBytesAllocated > mid.gpuBytesAllocated) {
        reasons.push(
          `WebGPU bytes allocated grew in the second half: ${mid.gpuBytesAllocated} at step ${mid.step}, ${last.gpuBytesAllocated} at step ${last.step}`,
        );
      } else if (first.gpuBytesAllocated !== undefined && mid.gpuBytesAllocated > first.gpuBytesAllocated) {
        notes.push(
          `WebGPU buffer pool warmed up in the first half: ${first.gpuBytesAllocated} → ${mid.gpuBytesAllocated} bytes, then flat`,
        );
      }
    }
  }
  return { leak: reasons.length > 0, reasons, notes, compared: kept.length };
}

export interface LongTaskVerdict {
  count: number;
  /** ms; 0 when there was none */
  longest: number;
  ok: boolean;
}

/** Long tasks (PerformanceObserver 'longtask' durations, ms): ok when none is over `limitMs`. */
export function longTaskVerdict(durations: readonly number[], limitMs = 50): LongTaskVerdict {
  const longest = durations.length ? Math.max(...durations) : 0;
  return { count: durations.length, longest, ok: longest <= limitMs };
}

/** `a / b` as "1.23×", or "—" when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a !== undefined && b !== undefined && a > 0 && b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '—';
}

/** One row of the benchmark's targets table: what was asked, what this run measured, met or not. */
export interface TargetRow {
  target: string;
  measured: string;
  /** null: not measured in this run */
  met: boolean | null;
}

/** "fast ≥ k× faster than slow", from two median times (ms) of one run: the ratio slow / fast. */
export function fasterBy(target: string, fastMs: number | undefined, slowMs: number | undefined, atLeast: number): TargetRow {
  if (!(fastMs! > 0) || !(slowMs! > 0)) return { target, measured: 'not measured', met: null };
  const r = slowMs! / fastMs!;
  return { target, measured: `${r.toFixed(2)}× (${slowMs!.toFixed(0)} / ${fastMs!.toFixed(0)} ms)`, met: r >= atLeast };
}

/** "ms within k× of refMs": the ratio ms / refMs. */
export function withinFactor(target: string, ms: number | undefined, refMs: number | undefined, atMost: number): TargetRow {
  if (!(ms! > 0) || !(refMs! > 0)) return { target, measured: 'not measured', met: null };
  const r = ms! / refMs!;
  return { target, measured: `${r.toFixed(2)}× (${ms!.toFixed(0)} vs ${refMs!.toFixed(0)} ms)`, met: r <= atMost };
}

/** `--batch 4` (every preset) or `--batch c2mnist-64=2,tiny=2` (per preset; the others keep their own batch). */
export function parseBatchFlag(value: string | undefined): (preset: string) => number {
  if (!value) return () => 0;
  if (/^\d+$/.test(value.trim())) {
    const b = Number(value);
    return () => b;
  }
  const map = new Map<string, number>();
  for (const part of value.split(',')) {
    const [p, b] = part.split('=').map((s) => s.trim());
    if (!p || !b || !/^\d+$/.test(b) || Number(b) < 1) throw new Error(`--batch: "${part}" is not PRESET=B`);
    map.set(p, Number(b));
  }
  return (preset) => map.get(preset) ?? 0;
}

/**
 * `--skip small-64:cpu,chromium:c2mnist-64:cpu`: rows the run leaves out, as PRESET:BACKEND (Node and Chromium) or
 * RUNTIME:PRESET:BACKEND (RUNTIME node or chromium); `*` matches any preset or backend.
 */
export function parseSkipFlag(value: string | undefined): (preset: string, backend: string, runtime: 'node' | 'chromium') => boolean {
  const rules = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const parts = s.split(':');
      const [runtime, p, b] = parts.length === 3 ? parts : ['*', ...parts];
      if (!p || !b || parts.length > 3 || !['*', 'node', 'chromium'].includes(runtime!))
        throw new Error(`--skip: "${s}" is not [RUNTIME:]PRESET:BACKEND`);
      return { runtime: runtime!, p, b };
    });
  return (preset, backend, runtime) =>
    rules.some((r) => (r.runtime === '*' || r.runtime === runtime) && (r.p === '*' || r.p === preset) && (r.b === '*' || r.b === backend));
}
