/**
 * Pure helpers of the speed benchmark (scripts/bench-speed.ts): the studio loop's overhead, the memory
 * verdict, the long-task verdict, the targets of issues 11 and 20. No I/O, no TF.js.
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

/** Effective GFLOP/s of an iteration of `flops` FLOPs that took `ms`. */
export function gflops(flops: number | undefined, ms: number | undefined): number | undefined {
  return flops! > 0 && ms! > 0 ? flops! / ms! / 1e6 : undefined;
}

/** `value` as a percentage of `peak`, or undefined when either is missing. */
export function percentOf(value: number | undefined, peak: number | undefined): number | undefined {
  return value! > 0 && peak! > 0 ? (value! / peak!) * 100 : undefined;
}

/** "a count ≤ limit" (kernels per step). */
export function atMost(target: string, value: number | undefined, limit: number, unit: string): TargetRow {
  if (value === undefined || !Number.isFinite(value)) return { target, measured: 'not measured', met: null };
  return { target, measured: `${value} ${unit}`, met: value <= limit };
}

/** "effective GFLOP/s ≥ pct % of the measured SIMD peak", from an iteration's FLOPs and its median ms. */
export function shareOfPeak(
  target: string,
  flops: number | undefined,
  ms: number | undefined,
  peakGflops: number | undefined,
  pct: number,
): TargetRow {
  const g = gflops(flops, ms);
  const share = percentOf(g, peakGflops);
  if (g === undefined || share === undefined) return { target, measured: 'not measured', met: null };
  return { target, measured: `${g.toFixed(1)} GFLOP/s = ${share.toFixed(0)} % of ${peakGflops!.toFixed(1)}`, met: share >= pct };
}

/** A target set at one batch, judged only on a row of that batch (another batch: reported, not judged). */
export function atBatch(row: TargetRow, batch: number | undefined, targetBatch: number): TargetRow {
  if (row.met === null || batch === targetBatch) return row;
  return { ...row, measured: `${row.measured} at batch ${batch ?? '?'}, not the target's ${targetBatch}`, met: null };
}

/** One row of this run at a preset: its batch, median ms per iteration, FLOPs per iteration, TF.js kernels per step. */
export interface RunLine {
  batch: number;
  ms?: number;
  flops?: number;
  kernels?: number;
}

/** What issue 20's targets are judged on, by preset. */
export interface Issue20Measured {
  nodeWasm: Record<string, RunLine>;
  /** the PyTorch reference (one thread) at the batch it ran at */
  pytorch: Record<string, RunLine>;
  /** Chromium's wasm on one thread (row wasm-1t) */
  chromium1t: Record<string, RunLine>;
  /** one core's wasm SIMD peak (mul+add), GFLOP/s */
  peakGflops?: number;
  /** the memory rows (flat over 200 steps), shared with issue 11's table */
  memory: TargetRow[];
}

/** Node wasm ÷ PyTorch per iteration, one thread each, at most this factor at this preset and batch (issue 20). */
export const ISSUE20_VS_PYTORCH = [
  { preset: 'objects-32', batch: 16, atMost: 1.6 },
  { preset: 'c2mnist-64', batch: 2, atMost: 1.2 },
  { preset: 'tiny', batch: 2, atMost: 1.5 },
] as const;
export const ISSUE20_PEAK = { preset: 'objects-32', batch: 16, atLeastPct: 60 } as const;
export const ISSUE20_KERNELS = { preset: 'tiny', batch: 2, atMost: 1500 } as const;
/** Chromium wasm-1t ÷ Node wasm per iteration: at most 1.10 (a faster Chromium meets it) */
export const ISSUE20_CHROMIUM_1T = 1.1;

/** Issue 20's targets, met / missed / not measured, from this run's numbers. */
export function issue20Targets(m: Issue20Measured): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const t of ISSUE20_VS_PYTORCH) {
    const w = m.nodeWasm[t.preset];
    const ref = m.pytorch[t.preset];
    const label = `Node wasm ÷ PyTorch per iteration ≤ ${t.atMost}×, one thread each: ${t.preset}, batch ${t.batch}`;
    const row = withinFactor(label, w?.ms, ref && w && ref.batch === w.batch ? ref.ms : undefined, t.atMost);
    rows.push(atBatch(row, w?.batch, t.batch));
  }
  const p = m.nodeWasm[ISSUE20_PEAK.preset];
  const peakLabel = `Node wasm effective GFLOP/s ≥ ${ISSUE20_PEAK.atLeastPct} % of one core's SIMD peak: ${ISSUE20_PEAK.preset}, batch ${ISSUE20_PEAK.batch}`;
  rows.push(atBatch(shareOfPeak(peakLabel, p?.flops, p?.ms, m.peakGflops, ISSUE20_PEAK.atLeastPct), p?.batch, ISSUE20_PEAK.batch));
  const k = m.nodeWasm[ISSUE20_KERNELS.preset];
  const kLabel = `Node wasm kernels per step ≤ ${ISSUE20_KERNELS.atMost.toLocaleString('en')}: ${ISSUE20_KERNELS.preset}, batch ${ISSUE20_KERNELS.batch}`;
  rows.push(atBatch(atMost(kLabel, k?.kernels, ISSUE20_KERNELS.atMost, 'kernels'), k?.batch, ISSUE20_KERNELS.batch));
  const both = Object.keys(m.chromium1t).filter((pr) => m.nodeWasm[pr]);
  for (const pr of both) {
    const c = m.chromium1t[pr]!;
    const w = m.nodeWasm[pr]!;
    const label = `Chromium wasm-1t within 10 % of Node wasm (÷ ≤ ${ISSUE20_CHROMIUM_1T}): ${pr}, batch ${c.batch}`;
    rows.push(withinFactor(label, c.ms, c.batch === w.batch ? w.ms : undefined, ISSUE20_CHROMIUM_1T));
  }
  if (!both.length) rows.push({ target: 'Chromium wasm-1t within 10 % of Node wasm', measured: 'not measured', met: null });
  const memory = m.memory.length
    ? m.memory
    : [{ target: 'tensor count and bytes flat over 200 wasm steps', measured: 'not measured', met: null }];
  return [...rows, ...memory];
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
