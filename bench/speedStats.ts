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
        reasons.push(`WebGPU bytes allocated grew in the second half: ${mid.gpuBytesAllocated} at step ${mid.step}, ${last.gpuBytesAllocated} at step ${last.step}`);
      } else if (first.gpuBytesAllocated !== undefined && mid.gpuBytesAllocated > first.gpuBytesAllocated) {
        notes.push(`WebGPU buffer pool warmed up in the first half: ${first.gpuBytesAllocated} → ${mid.gpuBytesAllocated} bytes, then flat`);
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
