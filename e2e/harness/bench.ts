/**
 * Browser harness for bench/browser-speed.ts: times RedoTrainer.step on the backend named in the query and
 * publishes the result as `window.__bench` (progress as `window.__benchProgress`).
 *
 *   /e2e/harness/bench.html?backend=webgpu|wasm|webgl|cpu&preset=tiny&steps=5&warmup=2&batch=B&seed=1&budget=S&threads=T
 *
 * `threads` (wasm only, default every core the page may use): XNNPACK's threads, as the studio's worker sets them
 * (src/worker/wasmSetup.ts); the report says how many it really got.
 * `budget` (seconds, default none): no further timed step starts once this much time has passed since the
 * first warm-up step (at least one timed step always runs), so a slow backend still finishes.
 *
 * What one timed step is (the studio's loop, minus the UI): two batches drawn with sampleBatches from an
 * in-memory set of random images in [-1, 1] (so the upload is included), trainer.step(x, xReal), then ONE
 * batched `await readLosses()` — every step, so each step is closed by a readback and the time is wall time
 * for work the device really finished — then the batches and losses are disposed.
 * Each step is also counted (src/worker/dispatchCounter.ts timedStep): TF.js kernels, and on webgpu GPU dispatches,
 * submits and readbacks; the report keeps the last timed step's counts.
 * `batch` defaults to the preset's batch size. The backend is never substituted: if it cannot start, the
 * report says so in `error`.
 */
import '@tensorflow/tfjs-backend-webgpu';
import * as tf from '../../src/redo/tf';
import { preset, RedoModel, RedoTrainer, type ImageSet } from '../../src/redo';
import { stepCounts, timedStep, type WorkCounts } from '../../src/worker/dispatchCounter';
import { startWasm, wasmThreads } from '../../src/worker/wasmSetup';

export interface BenchReport {
  backend: string;
  /** WebGPU adapter (vendor / architecture / description), WebGL renderer string, wasm threads; '' for cpu. */
  adapter: string;
  /** wasm: the threads XNNPACK ran on (null elsewhere) */
  threads: number | null;
  preset: string;
  batch: number;
  imageSize: number;
  warmup: number;
  /** wall ms of each timed step (warm-up steps excluded) */
  msPerStep: number[];
  /** wall ms of each warm-up step (shader compilation lands here) */
  warmupMs: number[];
  median: number;
  /** batch / median step time */
  imagesPerSecond: number;
  /** ms to build the model (orthogonal init) and the trainer */
  initMs: number;
  /** live tensors before the first and after the last timed step (equal unless a step leaks) */
  tensorsBefore: number;
  tensorsAfter: number;
  /** bytes the backend holds on the GPU after the run (tf.memory(): numBytesInGPU), null on cpu */
  gpuBytes: number | null;
  /** TF.js kernels, GPU dispatches, submits and readbacks of the last timed step (src/worker/dispatchCounter.ts) */
  counts?: WorkCounts;
  /** true when the timed steps did not all run the same kernels and dispatches */
  countsVary?: boolean;
  tfjs: string;
  userAgent: string;
  error?: string;
}

export interface BenchProgress {
  phase: 'init' | 'warmup' | 'timed' | 'done';
  step: number;
  of: number;
  lastMs?: number;
}

declare global {
  interface Window {
    __bench?: BenchReport;
    __benchProgress?: BenchProgress;
  }
}

const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function adapterInfo(backend: string): Promise<string> {
  if (backend === 'webgpu') {
    type Info = { vendor: string; architecture: string; description: string };
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Info } | null> } }).gpu;
    const info = (gpu ? await gpu.requestAdapter() : null)?.info;
    return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') : 'none';
  }
  if (backend === 'webgl') {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return 'no webgl2 context';
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  }
  return '';
}

function gpuBytesOf(backend: string): number | null {
  if (backend === 'cpu') return null;
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  return m.numBytesInGPU ?? null;
}

function randomImages(count: number, size: number, seed: number): ImageSet {
  const pixels = new Float32Array(count * size * size * 3);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < pixels.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    pixels[i] = ((s >>> 0) / 0x1_0000_0000) * 2 - 1; // xorshift32 → [-1, 1)
  }
  return { count, size, pixels };
}

const progress = (p: BenchProgress) => {
  window.__benchProgress = p;
  document.getElementById('out')!.textContent =
    `${p.phase} ${p.step}/${p.of}${p.lastMs !== undefined ? ` (${p.lastMs.toFixed(0)} ms)` : ''}`;
};

async function run(q: URLSearchParams, report: BenchReport): Promise<void> {
  const wanted = report.backend;
  const steps = Math.max(1, Number(q.get('steps') ?? 10));
  const seed = Number(q.get('seed') ?? 1);
  let ok: boolean;
  try {
    const threads = Number(q.get('threads') ?? 0);
    ok = wanted === 'wasm' ? await startWasm(threads > 0 ? threads : undefined) : await tf.setBackend(wanted);
    await tf.ready();
  } catch (e) {
    throw new Error(`backend ${wanted} could not start: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!ok || tf.getBackend() !== wanted) throw new Error(`backend ${wanted} could not start (tf.getBackend() = ${tf.getBackend()})`);
  report.adapter = await adapterInfo(wanted);
  if (wanted === 'wasm') {
    report.threads = wasmThreads();
    report.adapter = `XNNPACK, ${report.threads} thread${report.threads === 1 ? '' : 's'}${crossOriginIsolated ? '' : ' (page not cross-origin isolated)'}`;
  }

  const batchParam = Number(q.get('batch') ?? 0);
  const config = preset(report.preset, batchParam > 0 ? { batchSize: batchParam } : {});
  report.batch = config.batchSize;
  report.imageSize = config.imageSize;
  progress({ phase: 'init', step: 0, of: report.warmup + steps });
  const t0 = performance.now();
  const model = new RedoModel(config, seed);
  const trainer = new RedoTrainer(model, seed);
  report.initMs = performance.now() - t0;
  const data = randomImages(Math.max(32, 2 * config.batchSize), config.imageSize, seed);

  const counts: WorkCounts[] = [];
  const oneStep = async (): Promise<number> => {
    const s = await timedStep(trainer, data, { batchSeed: seed });
    counts.push(s.counts);
    return s.ms;
  };
  const budgetMs = Number(q.get('budget') ?? 0) * 1000;
  const started = performance.now();
  try {
    for (let i = 0; i < report.warmup; i++) {
      const ms = await oneStep();
      report.warmupMs.push(ms);
      progress({ phase: 'warmup', step: i + 1, of: report.warmup + steps, lastMs: ms });
    }
    report.tensorsBefore = tf.memory().numTensors;
    counts.length = 0;
    for (let i = 0; i < steps; i++) {
      if (i > 0 && budgetMs > 0 && performance.now() - started > budgetMs) break;
      const ms = await oneStep();
      report.msPerStep.push(ms);
      progress({ phase: 'timed', step: report.warmup + i + 1, of: report.warmup + steps, lastMs: ms });
    }
    report.tensorsAfter = tf.memory().numTensors;
    report.gpuBytes = gpuBytesOf(wanted);
    report.median = median(report.msPerStep);
    report.imagesPerSecond = (config.batchSize * 1000) / report.median;
    const c = stepCounts(counts);
    if (c) {
      report.counts = c.counts;
      report.countsVary = c.varies;
    }
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

const q = new URLSearchParams(location.search);
const report: BenchReport = {
  backend: q.get('backend') ?? 'webgpu',
  adapter: '',
  threads: null,
  preset: q.get('preset') ?? 'tiny',
  batch: 0,
  imageSize: 0,
  warmup: Math.max(0, Number(q.get('warmup') ?? 2)),
  msPerStep: [],
  warmupMs: [],
  median: NaN,
  imagesPerSecond: NaN,
  initMs: NaN,
  tensorsBefore: 0,
  tensorsAfter: 0,
  gpuBytes: null,
  tfjs: tf.version.tfjs,
  userAgent: navigator.userAgent,
};
run(q, report)
  .catch((e: unknown) => {
    report.error = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
  })
  .finally(() => {
    progress({ phase: 'done', step: report.warmupMs.length + report.msPerStep.length, of: report.warmup + report.msPerStep.length });
    window.__bench = report;
    document.getElementById('out')!.textContent = JSON.stringify(report, null, 2);
  });
