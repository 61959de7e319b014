/**
 * The speed benchmark, ONE command, everything measured in one run (medians, and ratios between numbers of
 * this same run):
 *
 *   npm run bench:speed                 # writes bench-results/speed.md (+ .json); dated runs are kept in docs/results.md
 *   npm run bench:speed -- --presets tiny,c2mnist-64,small-64 --batch c2mnist-64=2 --skip small-64:cpu,small-64:webgpu
 *
 * 1. Node (this process): per preset, TF.js cpu, wasm (tfjs-backend-wasm, XNNPACK; one thread under Node) and
 *    webgpu (Dawn, the npm package `webgpu`): median ms per training iteration and images/s after warm-up; beside
 *    them the authors' PyTorch iteration at the same configuration on one CPU thread, timed in this run by
 *    ../shared/reference/ref_step_time.py (bench/pytorchRef.ts): step by step between the Node wasm row's steps
 *    (bench/ref_step_server.py), so the ratio sees one machine speed, or right before the preset's Node rows where
 *    there is no wasm row; the iteration's FLOPs
 *    (src/redo/flops.ts), its effective GFLOP/s and their share of one core's WebAssembly SIMD peak, measured in this
 *    run before each preset's Node rows, the best kept (bench/simdPeak.ts: f32x4 mul+add chains; relaxed-SIMD madd
 *    beside it where the runtime validates it);
 *    TF.js kernels and GPU dispatches per step (src/worker/dispatchCounter.ts).
 *    `--count-only a,b` counts the webgpu dispatches of presets too slow to time here (encoded, not waited for:
 *    countOnly below), at `--count-batch B` (default: each preset's own).
 * 2. Node memory: tf.memory() (tensor count, tensor bytes, WebGPU bytes in use / allocated) sampled over
 *    `--leak-steps` steps of `tiny`, which must stay flat (bench/speedStats.ts memoryVerdict).
 * 3. Headless Chromium (bench/browser-speed.ts, started from here with the matching flags): per preset, webgpu,
 *    wasm on every core, wasm on one thread (wasm-1t), webgl and cpu; the studio's real loop (TrainingSession of
 *    src/worker/session.ts in a Web Worker) against
 *    bare trainStep calls (overhead, target ≤ 10 %; the session carries issue 21's Step and knobs, unused here: they
 *    must cost nothing) with its memory over `--loop-leak-steps` steps; the built
 *    studio's main thread (PerformanceObserver 'longtask' while it trains; target: none over 50 ms).
 * Exit code 1 when any memory check finds a leak or could not run; the overhead and long-task targets and those of
 * issues 11 and 20 are reported as met / missed / not measured (with --strict, a miss fails too).
 *
 * One iteration (speed tables) = sampleBatches + trainer.step + ONE batched `await readLosses()`: every timed
 * step ends with its readback (on WebGPU the device has finished it).
 *
 * Flags: --presets a,b (default tiny,c2mnist-64; `all` = every preset)  --backends a,b (Node; default cpu,wasm,webgpu)
 *        --warmup W (webgpu / webgl, default 1)  --cpu-warmup W (cpu, default 0)  --wasm-warmup W (wasm, Node and
 *        Chromium, default 10: V8 tiers up TF.js's JavaScript over the first ≈ 10 steps)
 *        --steps N (timed, cpu and wasm; default 5)  --gpu-steps N (timed, webgpu / webgl; default 2)
 *        --batch B | --batch PRESET=B,… (default: each preset's own)  --skip PRESET:BACKEND,… (rows left out, Node and
 *        Chromium; node:PRESET:BACKEND or chromium:PRESET:BACKEND for one of them; `*` matches any)
 *        --budget S (seconds per row, warm-up included, after which no further timed step starts; at least 1 timed
 *        step runs; default 150)  --no-pytorch  --ref-dir DIR (default ../shared/reference)
 *        --leak-steps N (Node, default 200; 0 skips)  --leak-backends a,b (Node; default wasm,cpu; webgpu runs
 *        ~50 s/step of tiny on SwiftShader here)  --vulkan auto|swiftshader|system
 *        --browser-backends a,b (default webgpu,wasm,wasm-1t,webgl,cpu)  --no-browser  --loop-backends a,b (default cpu,wasm,webgpu)
 *        --loop-steps N  --loop-steps-gpu N  --loop-rounds R  --loop-leak-steps N  --loop-leak-steps-gpu N
 *        --studio-steps N  (see bench/browser-speed.ts)  --strict  --out FILE (default bench-results/speed.md)
 *        --count-only a,b  --count-batch B  --init orthogonal|random (random: weights N(0, 0.02²) instead of the
 *        orthogonal init, for timing only — a step's work does not depend on the values, and paper-128's
 *        orthogonal init costs a minute or more of CPU; default orthogonal)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os, { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import * as tf from '../src/redo/tf';
import { preset, PRESET_NAMES, RedoModel, RedoTrainer, readLosses, disposeLosses, type ImageSet, type RedoConfig } from '../src/redo';
import { iterationFlops } from '../src/redo/flops';
import { formatCounts, stepCounts, timedStep, WorkCounter, type WorkCounts } from '../src/worker/dispatchCounter';
import { describeBackend, setupBackend, type BackendName, type VulkanChoice } from '../src/node/backend';
import { markdownTable, type MemorySample } from '../src/node/benchUtil';
import { median } from '../src/node/progress';
import { fasterBy, longTaskVerdict, loopOverhead, memoryVerdict, ratio, withinFactor, type TargetRow } from '../bench/speedStats';
import { gflops, issue20Targets, percentOf, type RunLine } from '../bench/speedStats';
import { betterPeak, measureSimdPeak, type NoPeak, type SimdPeak } from '../bench/simdPeak';
import { parseBatchFlag, parseSkipFlag } from '../bench/speedStats';
import { startPytorchSteps, timePytorch, type PytorchStepper, type PytorchTiming } from '../bench/pytorchRef';
import type { BrowserResults } from '../bench/browser-speed';
import { flag, list, num, switchOn } from '../bench/cliFlags';

const presetsArg = list('presets', ['tiny', 'c2mnist-64']);
const PRESETS = presetsArg.includes('all') ? PRESET_NAMES : presetsArg;
const BACKENDS = list('backends', ['cpu', 'wasm', 'webgpu']) as BackendName[];
const LEAK_BACKENDS = list('leak-backends', ['wasm', 'cpu']) as BackendName[];
const NODE_ORDER: BackendName[] = ['cpu', 'wasm', 'webgpu'];
const WARMUP = num('warmup', 1);
/** the cpu backend compiles nothing: its first step is no slower than the median by much, and a big preset's step takes minutes here */
const CPU_WARMUP = num('cpu-warmup', 0);
/** wasm builds XNNPACK operators on first use: one step */
// Chromium's tiny steps run 63–196 ms over the first ten after one warm-up step, 27–94 after (2026-12-07): the
// engine's JavaScript tiering up, a one-off cost; both runtimes' wasm rows skip it alike.
const WASM_WARMUP = num('wasm-warmup', 10);
const STEPS = Math.max(1, num('steps', 5));
const GPU_STEPS = Math.max(1, num('gpu-steps', 2));
const batchOf = parseBatchFlag(flag('batch'));
const skipped = parseSkipFlag(flag('skip'));
const PYTORCH = !process.argv.includes('--no-pytorch');
const BUDGET_S = num('budget', 150);
const STRICT = switchOn('strict');
const BROWSER = !switchOn('no-browser');
const LEAK_STEPS = num('leak-steps', 200);
const VULKAN = (flag('vulkan') ?? 'auto') as VulkanChoice;
const OUT = resolve(flag('out') ?? 'bench-results/speed.md');
/** Presets whose webgpu dispatches are counted without timing (one step encoded, not waited for; see countOnly). */
const COUNT_ONLY = list('count-only', []);
const COUNT_BATCH = num('count-batch', 0);
const INIT = flag('init') ?? 'orthogonal';
if (INIT !== 'orthogonal' && INIT !== 'random') throw new Error(`--init must be orthogonal or random, got "${INIT}"`);

for (const b of [...BACKENDS, ...LEAK_BACKENDS]) {
  if (!NODE_ORDER.includes(b)) throw new Error(`unknown backend ${b} (${NODE_ORDER.join(', ')})`);
}
for (const p of [...PRESETS, ...COUNT_ONLY]) preset(p); // throws on an unknown name before anything runs

function syntheticData(size: number, count = 64): ImageSet {
  const pixels = new Float32Array(count * size * size * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.37) * 0.9;
  return { count, size, pixels };
}

/** The benchmark's model: the real (orthogonal) initialisation, or with --init random seeded Gaussian weights. */
function benchModel(config: RedoConfig, seed: number): RedoModel {
  if (INIT === 'orthogonal') return new RedoModel(config, seed);
  const model = new RedoModel(config, seed, { uninitialised: true });
  tf.tidy(() =>
    model.store.keys().forEach((k, i) => {
      const v = model.store.get(k);
      v.assign(tf.randomNormal(v.shape, 0, 0.02, 'float32', seed * 7919 + i));
    }),
  );
  return model;
}

/**
 * A row's model (`newModel`) and its trainer (seed 1) around `body`, which gets the time the two took to make; an
 * error on the way is the row's `error` (its first line); both are disposed after.
 */
async function withTrainer<R extends { error?: string }>(
  row: R,
  newModel: () => RedoModel,
  body: (trainer: RedoTrainer, initMs: number) => Promise<void> | void,
): Promise<R> {
  let model: RedoModel | undefined;
  let trainer: RedoTrainer | undefined;
  try {
    const t0 = performance.now();
    model = newModel();
    trainer = new RedoTrainer(model, 1);
    await body(trainer, performance.now() - t0);
  } catch (e) {
    row.error = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  } finally {
    trainer?.dispose();
    model?.dispose();
  }
  return row;
}

/** One row of the speed table (also in the report's JSON, which the GPU kit reads: scripts/gpu-kit/kit.ts). */
export interface SpeedRow {
  preset: string;
  backend: BackendName;
  adapter?: string;
  batch: number;
  imageSize: number;
  initMs?: number;
  firstStepMs?: number;
  timedSteps: number;
  medianMs?: number;
  minMs?: number;
  maxMs?: number;
  imagesPerSec?: number;
  /** FLOPs of one iteration at this batch (src/redo/flops.ts) and what the median makes of them. */
  flopsPerIter: number;
  tflops?: number;
  /** Kernels / dispatches / submits / readbacks of the last timed step. */
  counts?: WorkCounts;
  countsVary?: boolean;
  error?: string;
}

/**
 * A preset's row on one backend. With `ref`, each timed step is paired with one of the PyTorch reference's, the two
 * in alternating order, and the reference's times are pushed to `refTimes`: both then see the same machine.
 */
async function timePreset(
  name: string,
  backend: BackendName,
  adapter: string | undefined,
  ref?: { stepper: PytorchStepper; times: number[] },
): Promise<SpeedRow> {
  const batch = batchOf(name) || preset(name).batchSize;
  const config = preset(name, { batchSize: batch });
  const row: SpeedRow = {
    preset: name,
    backend,
    batch,
    imageSize: config.imageSize,
    timedSteps: 0,
    flopsPerIter: iterationFlops(config, batch),
    ...(adapter ? { adapter } : {}),
  };
  const data = syntheticData(config.imageSize);
  return withTrainer(
    row,
    () => benchModel(config, 1),
    async (trainer, initMs) => {
      row.initMs = initMs;
      const start = performance.now();
      const times: number[] = [];
      const counts: WorkCounts[] = [];
      const timed = backend === 'webgpu' ? GPU_STEPS : STEPS;
      const warmup = backend === 'webgpu' ? WARMUP : backend === 'wasm' ? WASM_WARMUP : CPU_WARMUP;
      for (let i = 0; i < warmup + timed; i++) {
        const paired = ref && i >= warmup;
        if (paired && i % 2 === 0) ref.times.push(await ref.stepper.step());
        const { ms, counts: c } = await timedStep(trainer, data, { batchSize: batch, batchSeed: 1 });
        if (paired && i % 2 === 1) ref.times.push(await ref.stepper.step());
        if (i === 0) row.firstStepMs = ms;
        if (i >= warmup) {
          times.push(ms);
          counts.push(c);
        }
        const over = (performance.now() - start) / 1000 > BUDGET_S;
        const what = `${name} ${backend} step ${i + 1}/${warmup + timed}${i < warmup ? ' (warm-up)' : ''}`;
        const torch = paired ? `; PyTorch beside it ${ref.times[ref.times.length - 1]!.toFixed(0)} ms` : '';
        process.stdout.write(`  ${what}: ${ms.toFixed(0)} ms; ${formatCounts(c)}${torch}\n`);
        if (over && times.length >= 1) {
          process.stdout.write(`  ${name} ${backend}: --budget ${BUDGET_S}s reached, ${times.length} timed steps\n`);
          break;
        }
      }
      row.timedSteps = times.length;
      if (times.length) {
        row.medianMs = median(times);
        row.minMs = Math.min(...times);
        row.maxMs = Math.max(...times);
        row.imagesPerSec = (batch * 1000) / row.medianMs;
        row.tflops = row.flopsPerIter / (row.medianMs / 1000) / 1e12;
      }
      const c = stepCounts(counts);
      if (c) {
        row.counts = c.counts;
        row.countsVary = c.varies;
      }
    },
  );
}

interface LeakRow {
  backend: BackendName;
  steps: number;
  samples: MemorySample[];
  leak: boolean;
  reasons: string[];
  notes: string[];
  error?: string;
}

async function leakCheck(backend: BackendName): Promise<LeakRow> {
  const config = preset('tiny');
  const data = syntheticData(config.imageSize);
  const model = new RedoModel(config, 2);
  const trainer = new RedoTrainer(model, 2);
  const samples: MemorySample[] = [];
  const warm = Math.min(10, Math.max(1, Math.floor(LEAK_STEPS / 10)));
  const every = Math.max(1, Math.floor(LEAK_STEPS / 20));
  try {
    for (let i = 1; i <= LEAK_STEPS; i++) {
      const l = trainer.stepOn(data, { batchSeed: 2 });
      await readLosses(l);
      disposeLosses(l);
      if (i >= warm && ((i - warm) % every === 0 || i === LEAK_STEPS)) {
        const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
        samples.push({
          step: i,
          numTensors: m.numTensors,
          numBytes: m.numBytes,
          ...(m.numBytesInGPU !== undefined ? { gpuBytesInUse: m.numBytesInGPU } : {}),
          ...(m.numBytesAllocatedInGPU !== undefined ? { gpuBytesAllocated: m.numBytesAllocatedInGPU } : {}),
        });
      }
      if (i % 20 === 0) process.stdout.write(`  leak check ${backend}: step ${i}/${LEAK_STEPS}, ${tf.memory().numTensors} tensors\n`);
    }
    const v = memoryVerdict(samples);
    return { backend, steps: LEAK_STEPS, samples, leak: v.leak, reasons: v.reasons, notes: v.notes };
  } catch (e) {
    return {
      backend,
      steps: LEAK_STEPS,
      samples,
      leak: true,
      reasons: [],
      notes: [],
      error: e instanceof Error ? e.message.split('\n')[0]! : String(e),
    };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

interface CountRow {
  preset: string;
  batch: number;
  imageSize: number;
  /** the counted (second) step's counts, and the first step's when they differ */
  counts?: WorkCounts;
  firstCounts?: WorkCounts;
  encodeMs?: number;
  error?: string;
}

/**
 * Webgpu dispatches of one training step of a preset that is too slow to time on this machine: counted while
 * the steps are ENCODED, without waiting for the GPU (the counts are complete when trainer.step returns; see
 * src/worker/dispatchCounter.ts). Two steps are encoded and the second is reported (the first also uploads
 * the weights; its counts are kept when they differ). The model skips its orthogonal initialisation (zeros:
 * the ops and shapes, hence the dispatches, do not depend on the values; paper-128's init takes minutes of
 * CPU). The GPU works through the queued steps in the background: these rows run last, and the process exits
 * after its report.
 */
async function countOnly(name: string): Promise<CountRow> {
  const config = preset(name, COUNT_BATCH ? { batchSize: COUNT_BATCH } : {});
  const row: CountRow = { preset: name, batch: config.batchSize, imageSize: config.imageSize };
  const data = syntheticData(config.imageSize, 2 * config.batchSize + 2);
  return withTrainer(
    row,
    () => new RedoModel(config, 1, { uninitialised: true }),
    (trainer) => {
      const steps: WorkCounts[] = [];
      for (let i = 0; i < 2; i++) {
        const counter = new WorkCounter();
        const t = performance.now();
        try {
          disposeLosses(trainer.stepOn(data, { batchSeed: 1 }));
        } finally {
          steps.push(counter.stop());
        }
        row.encodeMs = performance.now() - t;
        const what = `${name} webgpu, batch ${config.batchSize}: step ${i + 1}/2 encoded in ${row.encodeMs.toFixed(0)} ms`;
        process.stdout.write(`  ${what} (not waited for): ${formatCounts(steps[i]!)}\n`);
      }
      row.counts = steps[1]!;
      if (steps[0]!.kernels !== steps[1]!.kernels || steps[0]!.dispatches !== steps[1]!.dispatches) row.firstCounts = steps[0]!;
    },
  );
}

/** Flags handed on to bench/browser-speed.ts (same presets, warm-up, steps and batch as the Node part). */
function browserArgs(out: string, presets: string[], extras: boolean): string[] {
  const all = list('browser-backends', ['cpu', 'wasm', 'wasm-1t', 'webgpu', 'webgl']);
  const backends = all.filter((b) => !presets.every((p) => skipped(p, b, 'chromium')));
  const args = ['--presets', presets.join(','), '--backends', backends.join(',') || 'none'];
  args.push('--warmup', String(WARMUP), '--cpu-warmup', String(CPU_WARMUP), '--wasm-warmup', String(WASM_WARMUP));
  if (!extras) args.push('--loop-backends', 'none', '--studio-steps', '0');
  else if (flag('loop-backends') === undefined) args.push('--loop-backends', 'cpu,wasm,webgpu');
  args.push('--steps', String(STEPS), '--gpu-steps', String(GPU_STEPS), '--budget', String(BUDGET_S), '--out', out);
  const batch = batchOf(presets[0]!);
  if (batch) args.push('--batch', String(batch)); // one preset per call
  const pass: Array<[string, string]> = [
    ['loop-backends', 'loop-backends'],
    ['loop-preset', 'loop-preset'],
    ['loop-steps', 'loop-steps'],
    ['loop-steps-gpu', 'loop-steps-gpu'],
    ['loop-rounds', 'loop-rounds'],
    ['loop-leak-steps', 'leak-steps'],
    ['loop-leak-steps-gpu', 'leak-steps-gpu'],
    ['studio-steps', 'studio-steps'],
    ['studio-preset', 'studio-preset'],
    ['timeout', 'timeout'],
  ];
  for (const [ours, theirs] of extras ? pass : pass.filter(([o]) => o === 'timeout')) {
    const v = flag(ours);
    if (v !== undefined) args.push(`--${theirs}`, v);
  }
  if (switchOn('build')) args.push('--build');
  return args;
}

function runBrowser(presets: string[], extras: boolean): { results?: BrowserResults; error?: string } {
  const out = resolve(dirname(OUT), `browser-speed-${presets.join('-')}.md`);
  const json = out.replace(/\.md$/, '') + '.json';
  const args = browserArgs(out, presets, extras);
  process.stdout.write(`\n== headless Chromium: npx tsx bench/browser-speed.ts ${args.join(' ')}\n`);
  const started = Date.now();
  const r = spawnSync('npx', ['tsx', 'bench/browser-speed.ts', ...args], { stdio: 'inherit' });
  if (r.status !== 0) return { error: `bench/browser-speed.ts exited with ${r.status ?? r.signal}` };
  if (!existsSync(json)) return { error: `${json} was not written` };
  const results = JSON.parse(readFileSync(json, 'utf8')) as BrowserResults;
  if (Date.parse(results.started) < started - 1000) return { error: `${json} is from an earlier run` };
  return { results };
}

const countsCell = (c: WorkCounts | undefined, varies?: boolean) =>
  c ? `${c.kernels} / ${c.dispatches ?? '—'}${varies ? ' (varied)' : ''}` : '—';
const countCells = (c: WorkCounts) => [c.kernels, c.dispatches ?? '—', c.submits ?? '—', c.readbacks ?? '—'];
const fmt = (v: number | undefined, d = 0) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
const rate = (v: number | undefined) => (v === undefined ? '—' : v.toFixed(v < 10 ? 2 : 1));
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ');
const blank = (n: number) => new Array<string>(n).fill('');
const torchCell = (t: PytorchTiming) => `${fmt(t.medianMs)} ms (${fmt(t.minMs)}–${fmt(t.maxMs)})`;
const peakCell = (p: SimdPeak | NoPeak) =>
  'error' in p
    ? `${p.kind}: not measured (${cell(p.error)})`
    : `${p.kind} **${fmt(p.gflops, 1)} GFLOP/s** (best of ${p.runs} calls of ${p.iterations.toLocaleString('en')} iterations: ${fmt(p.bestMs, 1)} ms)`;

/** Puts TF.js on `backend` (once per switch); the adapter in words, or the reason it failed. */
async function useBackend(backend: BackendName, adapters: Record<string, string>): Promise<{ adapter?: string; error?: string }> {
  try {
    const info = await setupBackend(backend, { vulkan: VULKAN });
    const words: Record<BackendName, string> = {
      webgpu: info.adapter ?? '',
      wasm: `tfjs-backend-wasm ${tf.version.tfjs}, ${describeBackend(info)}: Node always loads its single-threaded SIMD build`,
      cpu: `tfjs ${tf.version.tfjs} cpu (plain JS)`,
    };
    adapters[`Node ${backend}`] = words[backend];
    return info.adapter ? { adapter: info.adapter } : {};
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    process.stdout.write(`${backend}: cannot start (${msg})\n`);
    return { error: msg };
  }
}

async function main(): Promise<number> {
  const started = new Date();
  const loadStart = os.loadavg();
  const rows: SpeedRow[] = [];
  const counted: CountRow[] = [];
  const leaks: LeakRow[] = [];
  const adapters: Record<string, string> = {};
  const browserRuns: BrowserResults[] = [];
  const browserErrors: string[] = BROWSER ? [] : ['skipped (--no-browser)'];
  // Preset by preset (the first one, the smallest, also carries the memory checks, the studio loop and the long
  // tasks), so that a slow big preset on SwiftShader comes last and the report is rewritten after each preset.
  // Node cpu and wasm first: their numbers then carry no Dawn threads in the process. The PyTorch reference runs
  // between the wasm row's steps (or right before the preset's Node rows), so that both see the same load.
  let code = 0;
  const pytorch = new Map<string, PytorchTiming>();
  const peaks: Array<SimdPeak | NoPeak> = [];
  for (const [i, p] of PRESETS.entries()) {
    const timedHere = (b: BackendName) => BACKENDS.includes(b) && !skipped(p, b, 'node');
    // The reference: step by step beside the wasm row's steps where there is one (same machine speed), else on its own.
    let ref: { stepper: PytorchStepper; times: number[] } | undefined;
    if (PYTORCH && !skipped(p, 'pytorch', 'node')) {
      const batch = batchOf(p) || preset(p).batchSize;
      const s = timedHere('wasm') ? await startPytorchSteps(preset(p), batch, { refDir: flag('ref-dir') }) : undefined;
      if (s && 'step' in s) {
        ref = { stepper: s, times: [] };
        process.stdout.write(
          `== PyTorch reference, ${p} batch ${batch}, one thread: interleaved with the Node wasm steps\n   ${s.command}\n`,
        );
      } else {
        if (s) process.stdout.write(`== PyTorch reference: interleaving failed (${s.error}); timed on its own\n`);
        process.stdout.write(`== PyTorch reference, ${p} batch ${batch}, one thread\n`);
        const t = timePytorch(preset(p), batch, { steps: STEPS, refDir: flag('ref-dir') });
        process.stdout.write(`   ${t.error ? `failed: ${t.error}` : `median ${t.medianMs} ms/iter (torch ${t.torch})`}\n   ${t.command}\n`);
        pytorch.set(p, t);
      }
    }
    // One core's SIMD peak (under a second) beside the preset's rows, under the same load; the best one is kept.
    process.stdout.write(`== WebAssembly SIMD peak, one core\n`);
    for (const [k, kind] of (['mul+add', 'relaxed madd'] as const).entries()) {
      peaks[k] = betterPeak(peaks[k], await measureSimdPeak(kind));
      process.stdout.write(`   ${peakCell(peaks[k]).replace(/\*/g, '')}\n`);
    }
    for (const backend of NODE_ORDER.filter((b) => timedHere(b) || (i === 0 && LEAK_BACKENDS.includes(b)))) {
      const b = await useBackend(backend, adapters);
      if (b.error) {
        const error = `backend did not start: ${b.error}`;
        if (timedHere(backend)) rows.push({ preset: p, backend, batch: 0, imageSize: 0, timedSteps: 0, flopsPerIter: 0, error });
        if (i === 0 && LEAK_BACKENDS.includes(backend) && LEAK_STEPS > 0)
          leaks.push({ backend, steps: 0, samples: [], leak: true, reasons: [], notes: [], error: `backend did not start: ${b.error}` });
        continue;
      }
      process.stdout.write(`== Node ${backend}${b.adapter ? ` (${b.adapter})` : ''}\n`);
      if (timedHere(backend)) rows.push(await timePreset(p, backend, b.adapter, backend === 'wasm' ? ref : undefined));
      if (i === 0 && LEAK_BACKENDS.includes(backend) && LEAK_STEPS > 0) leaks.push(await leakCheck(backend));
    }
    if (ref) {
      ref.stepper.close();
      const t = ref.times;
      const { torch, threads, command } = ref.stepper;
      const interleaved = `${command} (each step beside one of the Node wasm row's, alternating which goes first)`;
      pytorch.set(
        p,
        t.length
          ? { medianMs: median(t), minMs: Math.min(...t), maxMs: Math.max(...t), torch, threads, command: interleaved }
          : { command, error: 'no wasm step ran' },
      );
      process.stdout.write(`== PyTorch reference, ${p}: median ${pytorch.get(p)!.medianMs ?? '—'} ms/iter over ${t.length} steps\n`);
    }
    if (BROWSER) {
      const b = runBrowser([p], i === 0);
      if (b.results) browserRuns.push(b.results);
      else browserErrors.push(`${p}: ${b.error}`);
    }
    const final = i === PRESETS.length - 1 && COUNT_ONLY.length === 0;
    code = report({ started, loadStart, rows, counted, leaks, adapters, browserRuns, browserErrors, pytorch, peaks, final });
  }
  if (COUNT_ONLY.length) {
    const b = await useBackend('webgpu', adapters);
    process.stdout.write(`== Node webgpu: dispatches of ${COUNT_ONLY.join(', ')} (counted, not timed)\n`);
    for (const [i, p] of COUNT_ONLY.entries()) {
      counted.push(b.error ? { preset: p, batch: 0, imageSize: 0, error: `backend did not start: ${b.error}` } : await countOnly(p));
      code = report({
        started,
        loadStart,
        rows,
        counted,
        leaks,
        adapters,
        browserRuns,
        browserErrors,
        pytorch,
        peaks,
        final: i === COUNT_ONLY.length - 1,
      });
    }
  }
  return code;
}

interface Collected {
  started: Date;
  loadStart: number[];
  rows: SpeedRow[];
  counted: CountRow[];
  leaks: LeakRow[];
  adapters: Record<string, string>;
  browserRuns: BrowserResults[];
  browserErrors: string[];
  pytorch: Map<string, PytorchTiming>;
  /** one core's WebAssembly SIMD peak: mul+add, then relaxed madd */
  peaks: Array<SimdPeak | NoPeak>;
  final: boolean;
}

/** Writes the report (markdown + JSON) from what was measured so far; returns the exit code it implies. */
function report(c: Collected): number {
  const { started, loadStart, rows, leaks, adapters } = c;
  const first = c.browserRuns[0];
  const br: BrowserResults | undefined = first
    ? {
        ...first,
        rows: c.browserRuns.flatMap((r) => r.rows),
        loops: c.browserRuns.flatMap((r) => r.loops),
        studio: c.browserRuns.find((r) => r.studio)?.studio ?? null,
      }
    : undefined;
  const browser = { error: c.browserErrors.length ? c.browserErrors.join('; ') : undefined };
  const loadEnd = os.loadavg();
  const peak = c.peaks.find((p): p is SimdPeak => p.kind === 'mul+add' && !('error' in p))?.gflops;

  // ---- speed: Node and Chromium rows side by side, ratios within this run
  interface Line {
    preset: string;
    where: string;
    /** in the table (wasm with its threads) */
    backend: string;
    /** the backend's name in the run (cpu, wasm, wasm-1t, webgpu, webgl) */
    key: string;
    imageSize: number;
    batch: number;
    median?: number;
    min?: number;
    max?: number;
    imagesPerSec?: number;
    timed: number;
    counts?: WorkCounts;
    countsVary?: boolean;
    error?: string;
  }
  const lines: Line[] = [];
  for (const p of PRESETS) {
    for (const r of br?.rows.filter((x) => x.preset === p) ?? []) {
      const rep = r.report;
      const ok = rep && !r.failure;
      lines.push({
        preset: p,
        where: 'Chromium',
        backend: rep?.threads ? `${r.backend} (${rep.threads} thread${rep.threads === 1 ? '' : 's'})` : r.backend,
        key: r.backend,
        imageSize: rep?.imageSize ?? preset(p).imageSize,
        batch: rep?.batch ?? 0,
        ...(ok
          ? { median: rep.median, min: Math.min(...rep.msPerStep), max: Math.max(...rep.msPerStep), imagesPerSec: rep.imagesPerSecond }
          : {}),
        timed: rep?.msPerStep.length ?? 0,
        ...(rep?.counts ? { counts: rep.counts, countsVary: rep.countsVary ?? false } : {}),
        ...(r.failure ? { error: r.failure } : {}),
      });
    }
    for (const r of rows.filter((x) => x.preset === p)) {
      lines.push({
        preset: p,
        where: 'Node',
        backend: r.backend === 'wasm' ? 'wasm (1 thread)' : r.backend,
        key: r.backend,
        imageSize: r.imageSize || preset(p).imageSize,
        batch: r.batch,
        ...(r.medianMs !== undefined ? { median: r.medianMs, min: r.minMs, max: r.maxMs, imagesPerSec: r.imagesPerSec } : {}),
        timed: r.timedSteps,
        ...(r.counts ? { counts: r.counts, countsVary: r.countsVary ?? false } : {}),
        ...(r.error ? { error: r.error } : {}),
      });
    }
  }
  const refOf = (p: string, where: string, key: string) => lines.find((l) => l.preset === p && l.where === where && l.key === key)?.median;
  const torch = (p: string) => c.pytorch.get(p);
  /** the reference's ms for a row, when the row ran at the batch the reference ran at */
  const torchMs = (p: string, batch: number) => (batch === (batchOf(p) || preset(p).batchSize) ? torch(p)?.medianMs : undefined);
  const speedTable = markdownTable(
    [
      ...['preset', 'px', 'batch', 'runtime', 'backend', 'median ms/iter', 'min–max', 'images/s', 'timed steps'],
      ...['PyTorch ms/iter (1 thread)', 'time ÷ PyTorch', 'time ÷ Chromium webgpu', 'time ÷ Node cpu'],
      ...['GFLOP/iter', 'effective GFLOP/s', "% of one core's SIMD peak", 'kernels / dispatches per step'],
    ],
    lines.map((l) =>
      l.error || l.median === undefined
        ? [
            l.preset,
            l.imageSize,
            l.batch || '—',
            l.where,
            l.backend,
            `failed: ${cell(l.error ?? 'no timing')}`,
            '',
            '',
            l.timed,
            ...blank(8),
          ]
        : [
            l.preset,
            l.imageSize,
            l.batch,
            l.where,
            l.backend,
            fmt(l.median),
            `${fmt(l.min)}–${fmt(l.max)}`,
            rate(l.imagesPerSec),
            l.timed,
            fmt(torchMs(l.preset, l.batch)),
            ratio(l.median, torchMs(l.preset, l.batch)),
            ratio(l.median, refOf(l.preset, 'Chromium', 'webgpu')),
            ratio(l.median, refOf(l.preset, 'Node', 'cpu')),
            fmt(iterationFlops(preset(l.preset), l.batch) / 1e9, 2),
            fmt(gflops(iterationFlops(preset(l.preset), l.batch), l.median), 1),
            fmt(percentOf(gflops(iterationFlops(preset(l.preset), l.batch), l.median), peak), 1),
            countsCell(l.counts, l.countsVary),
          ],
    ),
  );

  // ---- work per step: the timed rows' counts, then the presets only counted
  const countLines = [
    ...lines
      .filter((l) => l.counts)
      .map((l) => {
        const how = `last timed step${l.countsVary ? ' (the timed steps differed)' : ''}`;
        return [l.preset, l.batch, `${l.where} ${l.backend}`, ...countCells(l.counts!), how];
      }),
    ...c.counted.map((r) =>
      r.error || !r.counts
        ? [r.preset, r.batch || '—', 'Node webgpu', `failed: ${cell(r.error ?? 'not counted')}`, '', '', '', '']
        : [
            r.preset,
            r.batch,
            'Node webgpu',
            ...countCells(r.counts),
            'encoded, not waited for (2nd step' +
              `${r.firstCounts ? `; the 1st: ${r.firstCounts.kernels} kernels, ${r.firstCounts.dispatches} dispatches` : ''})`,
          ],
    ),
  ];
  const countTable = markdownTable(
    ['preset', 'batch', 'runtime, backend', 'TF.js kernels', 'GPU dispatches', 'queue submits', 'readbacks', 'how counted'],
    countLines,
  );

  // ---- studio loop vs bare trainStep
  const overheads: Array<{ backend: string; pct: number | null }> = [];
  const loopTable = markdownTable(
    [
      'backend',
      'preset (batch)',
      'steps per round',
      'bare ms/step (rounds)',
      'studio loop ms/step (rounds)',
      'overhead (medians)',
      'target ≤ 10 %',
      'studio messages: previews / checkpoints / losses / status',
    ],
    (br?.loops ?? []).map((l) => {
      const r = l.report;
      const o = r ? loopOverhead(r.bareMsPerStep, r.studioMsPerStep) : null;
      overheads.push({ backend: l.backend, pct: o?.pct ?? null });
      const m = r?.studioMessages;
      return [
        l.backend,
        r ? `${r.preset} (${r.batch})` : '—',
        r?.steps ?? '—',
        r ? r.bareMsPerStep.map((v) => fmt(v)).join(', ') : '—',
        r ? r.studioMsPerStep.map((v) => fmt(v)).join(', ') : '—',
        o
          ? `${fmt(o.bareMs)} → ${fmt(o.studioMs)} ms: ${o.pct >= 0 ? '+' : ''}${fmt(o.pct, 1)} %`
          : `failed: ${cell(l.failure ?? 'no rounds')}`,
        o ? (o.pct <= 10 ? 'met' : 'MISSED') : '—',
        m ? `${m.previews} / ${m.checkpoints} / ${m.losses} / ${m.status}` : '—',
      ];
    }),
  );

  // ---- memory
  type MemLine = Omit<LeakRow, 'backend'> & { where: string; backend: string };
  const mem: MemLine[] = leaks.map((l) => ({ where: 'Node, bare steps', ...l }));
  for (const l of br?.loops ?? []) {
    const r = l.report;
    if (!r || (r.memorySteps === 0 && l.failure)) {
      mem.push({
        where: 'Chromium, studio loop',
        backend: l.backend,
        steps: 0,
        samples: [],
        leak: true,
        reasons: [],
        notes: [],
        error: l.failure ?? 'no report',
      });
      continue;
    }
    if (r.memorySteps === 0 && r.memory.length === 0) continue; // memory check switched off (--loop-leak-steps 0)
    const v = memoryVerdict(r.memory);
    mem.push({
      where: 'Chromium, studio loop',
      backend: l.backend,
      steps: r.memorySteps,
      samples: r.memory,
      leak: v.leak || !!l.failure,
      reasons: v.reasons,
      notes: v.notes,
      ...(l.failure ? { error: l.failure } : {}),
    });
  }
  const memTable = markdownTable(
    [
      'runtime, loop',
      'backend',
      'steps of tiny',
      'samples',
      'tensors (first → last)',
      'tensor bytes',
      'WebGPU bytes in use',
      'WebGPU bytes allocated',
      'verdict',
    ],
    mem.map((l) => {
      const a = l.samples[0];
      const z = l.samples[l.samples.length - 1];
      const pair = (k: keyof MemorySample) => (a && z && a[k] !== undefined ? `${a[k]} → ${z[k]}` : '—');
      const verdict = l.error
        ? `FAILED: ${cell(l.error)}`
        : l.leak
          ? `LEAK: ${cell(l.reasons.join('; '))}`
          : `flat${l.notes.length ? ` (${cell(l.notes.join('; '))})` : ''}`;
      return [
        l.where,
        l.backend,
        l.steps,
        l.samples.length,
        pair('numTensors'),
        pair('numBytes'),
        pair('gpuBytesInUse'),
        pair('gpuBytesAllocated'),
        verdict,
      ];
    }),
  );

  // ---- the targets of issue 11 (medians of this run)
  const lineOf = (p: string, where: string, key: string) => lines.find((l) => l.preset === p && l.where === where && l.key === key);
  const targets: TargetRow[] = [];
  for (const p of ['tiny', 'c2mnist-64']) {
    const w = lineOf(p, 'Node', 'wasm');
    const cpu = lineOf(p, 'Node', 'cpu');
    const note = w && w.batch !== 2 ? ' (the target is at batch 2)' : '';
    const label = `Node wasm ≥ 10× faster than cpu per step: ${p}, batch ${w?.batch ?? '?'}${note}`;
    targets.push(fasterBy(label, w?.median, w?.batch === cpu?.batch ? cpu?.median : undefined, 10));
  }
  for (const p of ['tiny', 'small-64']) {
    const w = lineOf(p, 'Node', 'wasm');
    const label = `Node wasm within 3× of PyTorch per step, one thread each: ${p}, batch ${w?.batch ?? '?'}`;
    targets.push(withinFactor(label, w?.median, w ? torchMs(p, w.batch) : undefined, 3));
  }
  for (const p of PRESETS) {
    const all = lineOf(p, 'Chromium', 'wasm');
    const one = lineOf(p, 'Chromium', 'wasm-1t');
    const label = `Chromium ${all?.backend ?? 'wasm'} ≥ 1.5× its own one-thread speed: ${p}, batch ${all?.batch ?? one?.batch}`;
    if (all || one) targets.push(fasterBy(label, all?.median, one?.median, 1.5));
  }
  const flatRows: TargetRow[] = [];
  for (const l of mem.filter((m) => m.backend === 'wasm')) {
    const flat = !l.leak && !l.error && l.steps >= 200;
    const a = l.samples[0];
    const z = l.samples[l.samples.length - 1];
    const flatness = (x: MemorySample, y: MemorySample) => `tensors ${x.numTensors} → ${y.numTensors}, bytes ${x.numBytes} → ${y.numBytes}`;
    const what = a && z ? `${flatness(a, z)} over ${l.steps} steps` : (l.error ?? 'no samples');
    const met = l.error || (l.steps < 200 && !l.leak) ? null : flat; // fewer than 200 steps (--leak-steps) and flat: not the target's run
    flatRows.push({ target: `tensor count and bytes flat over 200 wasm steps (${l.where})`, measured: cell(what), met });
  }
  targets.push(...flatRows);
  const targetTable = (rows: TargetRow[]) =>
    markdownTable(
      ['target', 'measured (this run)', 'verdict'],
      rows.map((t) => [t.target, t.measured, t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED']),
    );

  // ---- the targets of issue 20
  const runLine = (l: Line | undefined): RunLine | undefined =>
    l && {
      batch: l.batch,
      ...(l.median !== undefined ? { ms: l.median, flops: iterationFlops(preset(l.preset), l.batch) } : {}),
      ...(l.counts ? { kernels: l.counts.kernels } : {}),
    };
  const byPreset = (where: string, key: string) =>
    Object.fromEntries(PRESETS.flatMap((p) => (lineOf(p, where, key) ? [[p, runLine(lineOf(p, where, key))!]] : [])));
  const targets20 = issue20Targets({
    nodeWasm: byPreset('Node', 'wasm'),
    chromium1t: byPreset('Chromium', 'wasm-1t'),
    pytorch: Object.fromEntries(
      [...c.pytorch].flatMap(([p, t]) =>
        t.medianMs !== undefined ? [[p, { batch: batchOf(p) || preset(p).batchSize, ms: t.medianMs }]] : [],
      ),
    ),
    peakGflops: peak,
    memory: flatRows,
  });

  // ---- long tasks in the studio
  const st = br?.studio ?? null;
  const lt = st ? longTaskVerdict(st.whileTraining.map((t) => t.duration)) : null;
  const beforeTraining = st ? st.longTasks.filter((t) => t.startTime + t.duration < st.runningAt) : [];
  const studioTable = st
    ? markdownTable(
        [
          'studio page',
          'steps watched',
          'training time watched',
          'long tasks while training',
          'longest',
          'target: none over 50 ms',
          'long tasks before training (page load, demo)',
        ],
        [
          [
            `?backend=${st.backend}&preset=${st.preset}&steps=${st.steps}, demo button`,
            st.reachedStep,
            `${fmt((st.stoppedAt - st.runningAt) / 1000)} s`,
            st.failure ? `failed: ${cell(st.failure)}` : lt!.count,
            st.failure ? '—' : `${fmt(lt!.longest)} ms`,
            st.failure ? '—' : lt!.ok ? 'met' : 'MISSED',
            beforeTraining.length ? `${beforeTraining.length}, longest ${fmt(Math.max(...beforeTraining.map((t) => t.duration)))} ms` : '0',
          ],
        ],
      )
    : `(not measured: ${browser.error ?? 'the studio check was switched off (--studio-steps 0)'})`;

  const cpuModel = cpus()[0]?.model ?? '?';
  const md = [
    `# Speed benchmark (${started.toISOString()})${c.final ? '' : ' — PARTIAL: still running'}`,
    '',
    `Machine: ${cpus().length} × ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB (the GPU: the adapters below); ` +
      `load average (1 min) ${loadStart[0]!.toFixed(1)} at the start, ${loadEnd[0]!.toFixed(1)} at the end. ` +
      `tfjs ${tf.version.tfjs}, Node ${process.version}${br ? `, Chromium ${br.chromium} (headless)` : ''}.`,
    `Adapters: ${Object.entries(adapters)
      .map(([b, a]) => `${b}: ${a}`)
      .join(
        '; ',
      )}${br ? `; ${[...new Set(br.rows.filter((r) => r.report?.adapter).map((r) => `Chromium ${r.backend}: ${r.report!.adapter}`))].join('; ')}` : ''}.`,
    '',
    `## Training speed`,
    '',
    'One iteration = sampleBatches + trainer.step + one batched readback of the losses ' +
      `(weights: ${INIT === 'random' ? '--init random, Gaussian' : 'orthogonal init'}); ` +
      `median of the timed steps after ${WARMUP} warm-up step(s) on webgpu / webgl ` +
      `(shader compilation) and ${CPU_WARMUP} on cpu; ${STEPS} timed on cpu, ${GPU_STEPS} on webgpu / webgl, fewer when a row's --budget of ${BUDGET_S} s (warm-up included) ran out; images/s = batch / median.`,
    '',
    speedTable,
    '',
    `## Work per training step: TF.js kernels and GPU dispatches`,
    '',
    'Counted by src/worker/dispatchCounter.ts (kernels = what tf.profile lists; dispatches = WebGPU compute programs encoded). ' +
      `Rows "encoded, not waited for" come from --count-only${COUNT_BATCH ? ` at --count-batch ${COUNT_BATCH}` : ''}: ` +
      'presets too slow to time on this GPU; ' +
      'see scripts/bench-speed.ts countOnly.',
    '',
    countLines.length ? countTable : '(nothing counted)',
    '',
    `PyTorch: the authors' iteration at the same configuration and batch, one CPU thread, timed in this run by ` +
      `../shared/reference/ref_step_time.py (${[...c.pytorch.values()].find((t) => t.torch)?.torch ?? 'torch ?'}), one step between ` +
      `two of the Node wasm row's (bench/ref_step_server.py; "interleaved"), or right before the preset's Node rows: ` +
      [...c.pytorch.entries()]
        .map(
          ([p, t]) =>
            `${p} ${t.error ? `failed (${cell(t.error)})` : `${torchCell(t)}${t.command.includes('ref_step_server') ? ' interleaved' : ''}`}`,
        )
        .join('; ') +
      '. time ÷ PyTorch compares rows at the same batch only.',
    '',
    `## Targets (issue 11)`,
    '',
    targetTable(targets),
    '',
    `## Targets (issue 20)`,
    '',
    `One core's WebAssembly SIMD peak, measured in this run before each preset's Node rows, the best kept (bench/simdPeak.ts; 2 FLOP per lane for a ` +
      `mul and an add, or a fused madd): ${c.peaks.map(peakCell).join('; ')}. The speed table's share is of the mul+add peak. ` +
      `Effective GFLOP/s count a direct convolution's FLOPs (src/redo/flops.ts); the 3×3 stride-1 convolutions with 16 ` +
      `channels or more run by Winograd F(2×2, 3×3) on wasm, with 16 multiplies where direct has 36, so a share over ` +
      `100 % is possible and is not the SIMD units' load.`,
    '',
    targetTable(targets20),
    '',
    `## The studio's loop against bare trainStep calls`,
    '',
    'Same page, same Web Worker, alternating rounds, fresh model (same seed) per round. bare = sampleBatches + trainer.step, one readback after the ' +
      "last step; studio = the studio's TrainingSession with its default loop options (losses read every 5 steps, previews + accuracy/IoU every 50, " +
      'checkpoint to IndexedDB every 200 and at the end of the run, status / loss / preview messages posted to the page), timed from start() until it reports finished.',
    '',
    br ? loopTable : `(not measured: ${browser.error})`,
    '',
    `## Memory: tf.memory() over a run (a leak fails the benchmark)`,
    '',
    'Tensor count, tensor bytes and WebGPU bytes in use must be identical at every sample; the WebGPU buffer pool (bytes allocated) may warm up but must not grow in the second half of the samples.',
    '',
    mem.length ? memTable : '(no memory check ran)',
    '',
    `## Main thread of the studio while it trains`,
    '',
    studioTable,
    '',
  ].join('\n');
  process.stdout.write(`\n${md}`);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, md);
  writeFileSync(
    OUT.replace(/\.md$/, '') + '.json',
    JSON.stringify(
      {
        started: started.toISOString(),
        final: c.final,
        tfjs: tf.version.tfjs,
        node: process.version,
        loadavg: { start: loadStart, end: loadEnd },
        adapters,
        rows,
        counted: c.counted,
        pytorch: Object.fromEntries(c.pytorch),
        targets,
        targets20,
        simdPeak: c.peaks,
        leaks,
        browser: br ?? null,
      },
      null,
      2,
    ),
  );
  process.stdout.write(`\nwritten to ${OUT} (and .json)${c.final ? '' : ' — partial, the next preset follows'}\n`);

  let code = 0;
  const leaked = mem.filter((l) => l.leak);
  if (leaked.length) {
    process.stdout.write(`MEMORY CHECK FAILED: ${leaked.map((l) => `${l.where} ${l.backend}`).join(', ')}\n`);
    code = 1;
  }
  const missed = [
    ...new Set([...targets, ...targets20].filter((t) => t.met === false).map((t) => t.target)),
    ...overheads
      .filter((o) => o.pct === null || o.pct > 10)
      .map((o) => `studio loop overhead on ${o.backend}: ${o.pct === null ? 'not measured' : `${o.pct.toFixed(1)} %`}`),
    ...(lt && !lt.ok ? [`long task of ${lt.longest.toFixed(0)} ms while training`] : []),
    ...(st?.failure ? [`studio long-task check: ${st.failure}`] : []),
    ...(browser.error ? [`browser part: ${browser.error}`] : []),
  ];
  if (missed.length) {
    process.stdout.write(`targets missed: ${missed.join('; ')}${STRICT ? '' : ' (reported; --strict fails on them)'}\n`);
    if (STRICT) code = 1;
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
