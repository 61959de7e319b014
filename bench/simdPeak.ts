/**
 * One core's WebAssembly SIMD peak, measured in this process: the ceiling the speed benchmark's effective GFLOP/s
 * are set against (scripts/bench-speed.ts). The kernels are bench/wasm/simdPeak.wat (f32x4.mul + f32x4.add) and
 * simdPeakRelaxed.wat (f32x4.relaxed_madd, run only where WebAssembly.validate accepts it), compiled here by the
 * npm package `wabt`: no binary in the tree.
 *
 * Peak = best of `runs` timed calls of a fixed number of loop iterations, after warm-up calls that let V8 tier the
 * function up from Liftoff to TurboFan (wasm has no on-stack replacement: only a later call gets the fast code);
 * the benchmark measures it more than once and keeps the best (betterPeak), so that a burst of load does not lower it.
 */
import { readFileSync } from 'node:fs';
import wabt from 'wabt';

export type PeakKind = 'mul+add' | 'relaxed madd';

const SOURCES: Record<PeakKind, { file: string; features: { simd: true; relaxed_simd?: true } }> = {
  'mul+add': { file: 'simdPeak.wat', features: { simd: true } },
  'relaxed madd': { file: 'simdPeakRelaxed.wat', features: { simd: true, relaxed_simd: true } },
};

/** The kernel's wasm binary, compiled from its .wat source. */
export async function peakBinary(kind: PeakKind): Promise<Uint8Array<ArrayBuffer>> {
  const { file, features } = SOURCES[kind];
  const text = readFileSync(new URL(`./wasm/${file}`, import.meta.url), 'utf8');
  const mod = (await wabt()).parseWat(file, text, features);
  try {
    mod.validate();
    return new Uint8Array(mod.toBinary({}).buffer); // a copy: the module's memory goes with destroy()
  } finally {
    mod.destroy();
  }
}

export interface PeakKernel {
  /** `n` ≥ 1 loop iterations of acc = acc · mul + add on every lane; the sum of all lanes at the end */
  run: (n: number, mul: number, add: number) => number;
  flopsPerIteration: number;
}

/** The kernel, instantiated; null when this runtime does not validate it (relaxed SIMD on an older V8). */
export async function peakKernel(kind: PeakKind): Promise<PeakKernel | null> {
  const bytes = await peakBinary(kind);
  if (!WebAssembly.validate(bytes)) return null;
  const { exports } = await WebAssembly.instantiate(await WebAssembly.compile(bytes));
  const run = exports.run as PeakKernel['run'];
  const flops = exports.flopsPerIteration as WebAssembly.Global;
  return { run, flopsPerIteration: flops.value as number };
}

export interface SimdPeak {
  kind: PeakKind;
  /** best of the timed runs */
  gflops: number;
  bestMs: number;
  iterations: number;
  runs: number;
  /** the kernel's result (lanes at their fixed point: 1 each with mul = add = 0.5) */
  result: number;
}

/** What the runtime said instead of a peak: not validated (relaxed SIMD) or failed. */
export interface NoPeak {
  kind: PeakKind;
  error: string;
}

/**
 * The peak of one kernel: `warmup` untimed calls, then the best of `runs` calls of `iterations` iterations each.
 * The defaults take ~0.4 s at ~40 GFLOP/s (2^22 iterations of 384 FLOPs ≈ 1.6 GFLOP a call).
 */
export async function measureSimdPeak(
  kind: PeakKind,
  opts: { iterations?: number; runs?: number; warmup?: number } = {},
): Promise<SimdPeak | NoPeak> {
  const iterations = Math.max(1, Math.floor(opts.iterations ?? 2 ** 22));
  const runs = Math.max(1, opts.runs ?? 7);
  try {
    const k = await peakKernel(kind);
    if (!k) return { kind, error: `WebAssembly.validate rejects it (Node ${process.versions.node}, V8 ${process.versions.v8})` };
    for (let i = 0; i < (opts.warmup ?? 5); i++) k.run(Math.max(1, iterations >> 3), 0.5, 0.5);
    let bestMs = Infinity;
    let result = NaN;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      result = k.run(iterations, 0.5, 0.5);
      bestMs = Math.min(bestMs, performance.now() - t);
    }
    const gflops = (iterations * k.flopsPerIteration) / (bestMs / 1000) / 1e9;
    return { kind, gflops, bestMs, iterations, runs, result };
  } catch (e) {
    return { kind, error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
  }
}

/** The higher of two measurements of one kernel (a failed one gives way to a measured one). */
export function betterPeak(a: SimdPeak | NoPeak | undefined, b: SimdPeak | NoPeak): SimdPeak | NoPeak {
  if (!a || 'error' in a) return b;
  if ('error' in b) return a;
  return b.gflops > a.gflops ? { ...b, runs: a.runs + b.runs } : { ...a, runs: a.runs + b.runs };
}
