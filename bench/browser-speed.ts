/**
 * Training speed in headless Chromium, per preset and backend: median ms per training iteration, images per
 * second, and the ratio to WebGPU, all measured in one run.
 *
 *   npm run bench:browser                                   # tiny, c2mnist-64, small-64 × webgpu, wasm, wasm-1t, webgl, cpu
 *   npm run bench:browser -- --presets tiny,c2mnist-64 --backends webgpu,wasm,wasm-1t,cpu --warmup 2 --steps 5
 *
 * Flags: --presets a,b  --backends a,b (`none` skips the speed rows)  --steps N (timed, default 10)  --gpu-steps N (timed on webgpu / webgl,
 *        default --steps)  --cpu-warmup W (default --warmup)  --wasm-warmup W (default --cpu-warmup)  --budget S (no further timed step after S seconds per row; default none)  --warmup W (default 2)
 *        --batch B (default: each preset's own)  --timeout S (seconds per combination, default 900)
 *        --build (rebuild even when the build looks current)  --out FILE (default bench-results/browser-speed.md;
 *        the raw reports as JSON beside it, which scripts/bench-speed.ts reads)
 *        --loop-backends a,b (default cpu,webgpu; `none` skips)  --loop-preset P (default tiny)  --loop-batch B
 *        --loop-steps N (per round on cpu, default 50)  --loop-steps-gpu N (per round on webgpu / webgl, default 2)
 *        --loop-rounds R (default 2; memory is sampled after every loss flush of every studio round)
 *        --leak-steps N (one more studio-loop run of N steps for memory, on cpu; default 0 = none)
 *        --leak-steps-gpu N (the same on webgpu / webgl, default 0)
 *        --studio-steps N (default 8; 0 skips the long-task check)  --studio-preset P (default tiny)
 *
 * Three parts, all in this one run:
 * 1. speed: e2e/harness/bench.html per (preset × backend), below.
 * 2. studio loop: e2e/harness/studio-loop.html runs the studio's TrainingSession (src/worker/session.ts, in a
 *    Web Worker, with the studio's default loop options) against bare trainer.step calls, alternating rounds,
 *    and samples tf.memory() over `--leak-steps` steps of the studio loop (e2e/harness/studioLoopWorker.ts).
 * 3. long tasks: the built studio itself (index.html?preset=…&steps=N), its demo button (colored-2-MNIST,
 *    trains at once), a PerformanceObserver('longtask') registered before the page's own scripts; every
 *    main-thread long task from the moment the run state shows "running" until the run reaches step N.
 *
 * How: builds into bench-results/dist (not dist/, which `npm test` owns) with `npx vite build --mode harness` when its
 * harness pages are missing or older than src/, e2e/harness or vite.config.ts; starts `vite preview` on a free
 * port; for every (preset × backend) launches
 * a fresh Chromium (Debian's /usr/bin/chromium, the flags of DEVELOPERS.md) and opens
 * e2e/harness/bench.html, which times each iteration as sampleBatches + trainer.step + ONE batched
 * `await readLosses()` — a readback closes EVERY step — and publishes `window.__bench`. A combination that
 * fails (backend does not start, kernel error, timeout, crash) is a row with the failure, not a crash.
 * Prints a markdown table and writes it to bench-results/browser-speed.md (JSON of the raw reports beside it).
 *
 * Backends on this kind of machine (2 cores, no GPU), found with Chromium 156:
 * - webgpu: Dawn on SwiftShader's Vulkan (adapter "google / swiftshader"), via --use-webgpu-adapter=swiftshader.
 * - webgl: WebGL2 works with the same flags and needs nothing more: Chromium's GPU process falls back to
 *   ANGLE on Vulkan on SwiftShader ("ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)) …)") with
 *   EXT_color_buffer_float, which TF.js's float32 textures need. `--use-angle=swiftshader` and
 *   `--enable-unsafe-swiftshader` change nothing here (same renderer string); `--disable-software-rasterizer`
 *   removes WebGL2 altogether. The renderer string is printed in the table's footnotes so a run on another
 *   machine shows which GL it really used.
 * - cpu: TF.js's CPU backend in the page's main thread (plain JS; filter gradients as forward convolutions).
 * - wasm: tfjs-backend-wasm (XNNPACK SIMD) on every core the page may use (the page is cross-origin isolated:
 *   vite preview sends COOP / COEP), started as the studio's worker starts it (src/worker/wasmSetup.ts); wasm-1t:
 *   the same on one thread. These two are real CPU numbers, not an emulation.
 * So all three are CPU emulations here: the ratios say how the backends' kernels behave on SwiftShader, not what
 * a real GPU gives.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from '@playwright/test';
import type { BenchReport } from '../e2e/harness/bench';
import { CHROMIUM_FLAGS } from '../e2e/chromiumFlags';
import { flag, list, num, switchOn } from './cliFlags';
import { ensureBuiltInto, startPreviewOf } from './previewServer';
import type { LoopReport } from '../e2e/harness/studioLoopMessages';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** DEVELOPERS.md's flags (WebGL then lands on ANGLE/Vulkan/SwiftShader by itself). */
const CHROMIUM_ARGS = CHROMIUM_FLAGS;
const BACKENDS = ['webgpu', 'wasm', 'wasm-1t', 'webgl', 'cpu'] as const;

const presets = list('presets', ['tiny', 'c2mnist-64', 'small-64']).filter((p) => p !== 'none');
const backends = list('backends', [...BACKENDS]).filter((b) => b !== 'none');
const steps = Math.max(1, num('steps', 10));
/** timed steps on webgpu / webgl (SwiftShader: 10–50× slower than cpu here) */
const gpuSteps = Math.max(1, num('gpu-steps', steps));
/** seconds per (preset × backend) after which no further timed step starts (at least one runs); 0 = none */
const budget = num('budget', 0);
const warmup = num('warmup', 2);
const cpuWarmup = num('cpu-warmup', warmup);
/** wasm builds XNNPACK operators and V8 tiers its code up over the first steps: as Node's wasm row (bench-speed) */
const wasmWarmup = num('wasm-warmup', cpuWarmup);
const batch = num('batch', 0);
const timeoutMs = num('timeout', 900) * 1000;
const outFile = resolve(ROOT, flag('out') ?? 'bench-results/browser-speed.md');
const loopBackends = list('loop-backends', ['cpu', 'webgpu']).filter((b) => b !== 'none');
const loopPreset = flag('loop-preset') ?? 'tiny';
const loopBatch = num('loop-batch', 0);
const loopSteps = Math.max(1, num('loop-steps', 50));
const loopStepsGpu = Math.max(1, num('loop-steps-gpu', 2));
const loopRounds = Math.max(1, num('loop-rounds', 2));
const leakSteps = num('leak-steps', 0);
const leakStepsGpu = num('leak-steps-gpu', 0);
const studioSteps = num('studio-steps', 8);
/** SwiftShader makes webgpu / webgl 10–50× slower than the cpu backend here: they get their own, smaller step counts. */
const isGpu = (backend: string) => backend === 'webgpu' || backend === 'webgl';
/** The page's query for a benchmark backend name: wasm-1t is wasm on one thread. */
const backendQuery = (backend: string): Record<string, string> => (backend === 'wasm-1t' ? { backend: 'wasm', threads: '1' } : { backend });
const studioPreset = flag('studio-preset') ?? 'tiny';
const OUT_DIR = 'bench-results/dist';
for (const b of [...backends, ...loopBackends])
  if (!(BACKENDS as readonly string[]).includes(b)) throw new Error(`unknown backend "${b}"; known: ${BACKENDS.join(', ')}`);

function ensureBuilt(): void {
  ensureBuiltInto(OUT_DIR, ['e2e/harness/bench.html', 'e2e/harness/studio-loop.html', 'index.html'], switchOn('build'));
}

const startPreview = () => startPreviewOf(OUT_DIR, '/e2e/harness/bench.html');

export type Row = { preset: string; backend: string; report?: BenchReport; failure?: string; wallS: number };

async function runOne(base: string, presetName: string, backend: string): Promise<Row> {
  const t0 = Date.now();
  const wallS = () => (Date.now() - t0) / 1000;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const consoleErrors: string[] = [];
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    let crashed = false;
    page.on('crash', () => (crashed = true));
    const q = new URLSearchParams({
      ...backendQuery(backend),
      preset: presetName,
      steps: String(isGpu(backend) ? gpuSteps : steps),
      warmup: String(isGpu(backend) ? warmup : backend.startsWith('wasm') ? wasmWarmup : cpuWarmup),
    });
    if (budget > 0) q.set('budget', String(budget));
    if (batch > 0) q.set('batch', String(batch));
    // `commit`: the page may hold its load event while a backend starts (WebGL on SwiftShader compiles for long).
    await page.goto(`${base}/e2e/harness/bench.html?${q}`, { waitUntil: 'commit', timeout: timeoutMs });
    let lastShown = '';
    while (true) {
      if (crashed) return { preset: presetName, backend, failure: 'page crashed', wallS: wallS() };
      const state = await page.evaluate(() => ({ done: window.__bench !== undefined, p: window.__benchProgress }));
      if (state.done) break;
      if (Date.now() - t0 > timeoutMs) {
        const p = state.p;
        return {
          preset: presetName,
          backend,
          failure: `timeout after ${timeoutMs / 1000} s (${p ? `${p.phase} ${p.step}/${p.of}` : 'not started'})`,
          wallS: wallS(),
        };
      }
      const shown = state.p
        ? `${state.p.phase} ${state.p.step}/${state.p.of}${state.p.lastMs !== undefined ? ` ${state.p.lastMs.toFixed(0)} ms` : ''}`
        : '';
      if (shown && shown !== lastShown) process.stdout.write(`   ${presetName} ${backend}: ${shown}\n`);
      lastShown = shown;
      await new Promise((r) => setTimeout(r, 500));
    }
    const report = (await page.evaluate(() => window.__bench)) as BenchReport;
    if (report.error) {
      const first = report.error.split('\n')[0]!;
      return {
        preset: presetName,
        backend,
        report,
        failure: first + (consoleErrors.length ? ` [console: ${consoleErrors[0]!.slice(0, 200)}]` : ''),
        wallS: wallS(),
      };
    }
    return { preset: presetName, backend, report, wallS: wallS() };
  } catch (e) {
    return { preset: presetName, backend, failure: e instanceof Error ? e.message.split('\n')[0]! : String(e), wallS: wallS() };
  } finally {
    await browser.close().catch(() => undefined);
  }
}

/** Polls `window[key]` until the harness publishes it; shows `window[progressKey]` as it changes. */
async function waitFor<T>(page: Page, label: string, key: '__loop', progressKey: '__loopProgress', t0: number): Promise<T> {
  let crashed = false;
  page.on('crash', () => (crashed = true));
  let lastShown = '';
  while (true) {
    if (crashed) throw new Error('page crashed');
    const state = await page.evaluate(
      ([k, pk]) => {
        const w = window as unknown as Record<string, unknown>;
        return { done: w[k] !== undefined, p: w[pk] as { phase: string; detail: string } | undefined };
      },
      [key, progressKey] as const,
    );
    if (state.done) return (await page.evaluate((k) => (window as unknown as Record<string, unknown>)[k], key)) as T;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`timeout after ${timeoutMs / 1000} s (${state.p ? `${state.p.phase}: ${state.p.detail}` : 'not started'})`);
    const shown = state.p ? `${state.p.phase}: ${state.p.detail}` : '';
    if (shown && shown !== lastShown) process.stdout.write(`   ${label}: ${shown}\n`);
    lastShown = shown;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export type LoopRow = { backend: string; report?: LoopReport; failure?: string; wallS: number };

async function runLoop(base: string, backend: string): Promise<LoopRow> {
  const t0 = Date.now();
  const wallS = () => (Date.now() - t0) / 1000;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => process.stdout.write(`   [page error] ${e.message}\n`));
    const q = new URLSearchParams({
      ...backendQuery(backend),
      preset: loopPreset,
      steps: String(isGpu(backend) ? loopStepsGpu : loopSteps),
      rounds: String(loopRounds),
      leakSteps: String(isGpu(backend) ? leakStepsGpu : leakSteps),
    });
    if (loopBatch > 0) q.set('batch', String(loopBatch));
    await page.goto(`${base}/e2e/harness/studio-loop.html?${q}`, { waitUntil: 'commit', timeout: timeoutMs });
    const report = await waitFor<LoopReport>(page, `studio loop ${loopPreset} ${backend}`, '__loop', '__loopProgress', t0);
    if (report.error) return { backend, report, failure: report.error.split('\n')[0]!, wallS: wallS() };
    return { backend, report, wallS: wallS() };
  } catch (e) {
    return { backend, failure: e instanceof Error ? e.message.split('\n')[0]! : String(e), wallS: wallS() };
  } finally {
    await browser.close().catch(() => undefined);
  }
}

export interface LongTask {
  startTime: number;
  duration: number;
}

export interface StudioRow {
  preset: string;
  backend: string;
  steps: number;
  /** the studio's own step counter when measuring stopped */
  reachedStep: number;
  /** page time (ms) when the run state showed "running", and when measuring stopped */
  runningAt: number;
  stoppedAt: number;
  /** every long task of the page, with those inside [runningAt, stoppedAt] counted as "while training" */
  longTasks: LongTask[];
  whileTraining: LongTask[];
  /** the studio's own it/s display at the end */
  itsShown: string;
  failure?: string;
  wallS: number;
}

/** The built studio: demo (colored-2-MNIST at the preset's size, trains at once), long tasks while it trains. */
async function runStudio(base: string): Promise<StudioRow> {
  const t0 = Date.now();
  const wallS = () => (Date.now() - t0) / 1000;
  const row: StudioRow = {
    preset: studioPreset,
    backend: 'webgpu',
    steps: studioSteps,
    reachedStep: 0,
    runningAt: NaN,
    stoppedAt: NaN,
    longTasks: [],
    whileTraining: [],
    itsShown: '',
    wallS: 0,
  };
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    await context.addInitScript(() => {
      const w = window as unknown as { __longTasks: Array<{ startTime: number; duration: number }> };
      w.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__longTasks.push({ startTime: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => process.stdout.write(`   [studio page error] ${e.message}\n`));
    // The studio's loop options at their defaults (src/ui/query.ts); only the preset and the run length are set.
    await page.goto(`${base}/?backend=webgpu&preset=${encodeURIComponent(studioPreset)}&steps=${studioSteps}`, { timeout: timeoutMs });
    await page.getByTestId('backend').filter({ hasText: 'webgpu' }).waitFor({ timeout: 120_000 });
    await page.getByTestId('demo').click();
    await page
      .getByTestId('run-state')
      .filter({ hasText: /^running$/ })
      .waitFor({ timeout: timeoutMs });
    row.runningAt = await page.evaluate(() => performance.now());
    let last = '';
    while (true) {
      const step = Number((await page.getByTestId('step').textContent()) ?? '0');
      const state = (await page.getByTestId('run-state').textContent()) ?? '';
      row.reachedStep = step;
      if (step >= studioSteps || (state !== 'running' && state !== 'pausing')) break;
      if (Date.now() - t0 > timeoutMs) throw new Error(`timeout after ${timeoutMs / 1000} s at step ${step}`);
      const shown = `step ${step}/${studioSteps} (${state})`;
      if (shown !== last) process.stdout.write(`   studio ${studioPreset} webgpu: ${shown}\n`);
      last = shown;
      await new Promise((r) => setTimeout(r, 1000));
    }
    row.itsShown = ((await page.getByTestId('its').textContent()) ?? '').trim();
    row.stoppedAt = await page.evaluate(() => performance.now());
    row.longTasks = await page.evaluate(
      () => (window as unknown as { __longTasks: Array<{ startTime: number; duration: number }> }).__longTasks,
    );
    row.whileTraining = row.longTasks.filter((t) => t.startTime + t.duration >= row.runningAt && t.startTime <= row.stoppedAt);
    const errors =
      (await page
        .getByTestId('errors')
        .textContent()
        .catch(() => '')) ?? '';
    if (errors.trim()) row.failure = `the studio showed an error: ${errors.trim().slice(0, 200)}`;
  } catch (e) {
    row.failure = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  } finally {
    row.wallS = wallS();
    await browser.close().catch(() => undefined);
  }
  return row;
}

/** Everything one `npm run bench:browser` measured (the JSON beside --out; scripts/bench-speed.ts reads it). */
export interface BrowserResults {
  started: string;
  chromium: string;
  rows: Row[];
  loops: LoopRow[];
  studio: StudioRow | null;
  settings: {
    warmup: number;
    steps: number;
    loopPreset: string;
    loopSteps: number;
    loopStepsGpu: number;
    loopRounds: number;
    leakSteps: number;
    leakStepsGpu: number;
    studioPreset: string;
    studioSteps: number;
  };
}

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ');

/** `14265 / 5793` (kernels / GPU dispatches of one timed step; `—` where the backend has no dispatches). */
function countsCell(rep: BenchReport): string {
  const c = rep.counts;
  if (!c) return '–';
  return `${c.kernels} / ${c.dispatches ?? '—'}${rep.countsVary ? ' (varied)' : ''}`;
}

function table(rows: Row[], chromiumVersion: string): string {
  const lines = [
    `# Training speed in headless Chromium`,
    '',
    `${new Date().toISOString()} · Chromium ${chromiumVersion} · tfjs ${rows.find((r) => r.report)?.report?.tfjs ?? '?'} · ` +
      `${warmup} warm-up + ${gpuSteps} timed iterations on webgpu / webgl, ${cpuWarmup} + ${steps} on cpu, ${wasmWarmup} + ${steps} on wasm${budget > 0 ? ` (fewer after ${budget} s)` : ''}, median; ` +
      'one iteration = sampleBatches + trainer.step + one batched readLosses (every step)',
    '',
    '| preset | backend | batch | median ms/iter | min | max | images/s | ×webgpu (time) | first warm-up ms ' +
      '| tensors before→after | GPU MB | kernels / dispatches per step |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const rep = r.report;
    if (r.failure || !rep) {
      lines.push(`| ${r.preset} | ${r.backend} | ${rep?.batch || '–'} | FAILED: ${cell(r.failure ?? 'no report')} | | | | | | | | |`);
      continue;
    }
    const ref = rows.find((o) => o.preset === r.preset && o.backend === 'webgpu' && o.report && !o.failure)?.report;
    const ratio = ref ? fmt(rep.median / ref.median, 2) : '–';
    lines.push(
      `| ${r.preset} | ${r.backend} | ${rep.batch} | ${fmt(rep.median)} | ${fmt(Math.min(...rep.msPerStep))} | ${fmt(Math.max(...rep.msPerStep))} | ` +
        `${fmt(rep.imagesPerSecond, rep.imagesPerSecond < 10 ? 2 : 1)} | ${ratio} | ${fmt(rep.warmupMs[0] ?? NaN)} | ${rep.tensorsBefore}→${rep.tensorsAfter} | ` +
        `${rep.gpuBytes === null ? '–' : fmt(rep.gpuBytes / 2 ** 20, 1)} | ${countsCell(rep)} |`,
    );
  }
  lines.push('', "×webgpu: median ms/iter divided by webgpu's for the same preset (2.00 = half as fast as webgpu).", '');
  const adapters = new Map<string, string>();
  for (const r of rows) if (r.report?.adapter) adapters.set(r.backend, r.report.adapter);
  for (const [b, a] of adapters) lines.push(`- ${b}: ${a}`);
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (scripts/setup.sh installs Debian's chromium; or set CHROMIUM=)`);
  const started = new Date().toISOString();
  ensureBuilt();
  const chromiumVersion =
    spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' })
      .stdout.trim()
      .replace(/^Chromium\s+/, '')
      .split(' ')[0] ?? '?';
  const { url, proc } = await startPreview();
  const rows: Row[] = [];
  const loops: LoopRow[] = [];
  let studio: StudioRow | null = null;
  try {
    console.log(
      `== vite preview on ${url}; presets ${presets.join(', ')}; backends ${backends.join(', ')}; ${warmup} warm-up + ${steps} timed`,
    );
    for (const p of presets) {
      for (const b of backends) {
        const row = await runOne(url, p, b);
        rows.push(row);
        console.log(
          `== ${p} ${b}: ${row.failure ? `FAILED: ${row.failure}` : `median ${fmt(row.report!.median)} ms/iter, ${fmt(row.report!.imagesPerSecond, 2)} images/s`} (${row.wallS.toFixed(0)} s)`,
        );
      }
    }
    for (const b of loopBackends) {
      console.log(
        `== studio loop vs bare trainStep: ${loopPreset} on ${b}, ${loopRounds} × ${isGpu(b) ? loopStepsGpu : loopSteps} steps each, then ${isGpu(b) ? leakStepsGpu : leakSteps} steps for memory`,
      );
      const l = await runLoop(url, b);
      loops.push(l);
      const r = l.report;
      console.log(
        `== studio loop ${b}: ${l.failure ? `FAILED: ${l.failure}` : `bare ${r!.bareMsPerStep.map((v) => fmt(v)).join(', ')} ms/step; studio ${r!.studioMsPerStep.map((v) => fmt(v)).join(', ')} ms/step`} (${l.wallS.toFixed(0)} s)`,
      );
    }
    if (studioSteps > 0) {
      console.log(`== the studio page: demo on ${studioPreset}, long tasks until step ${studioSteps}`);
      studio = await runStudio(url);
      const longest = Math.max(0, ...studio.whileTraining.map((t) => t.duration));
      console.log(
        `== studio: ${studio.failure ? `FAILED: ${studio.failure}; ` : ''}step ${studio.reachedStep}, ${studio.whileTraining.length} long tasks while training, longest ${fmt(longest)} ms (${studio.wallS.toFixed(0)} s)`,
      );
    }
  } finally {
    proc.kill();
  }
  const md = table(rows, chromiumVersion);
  console.log(`\n${md}`);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, md);
  const results: BrowserResults = {
    started,
    chromium: chromiumVersion,
    rows,
    loops,
    studio,
    settings: { warmup, steps, loopPreset, loopSteps, loopStepsGpu, loopRounds, leakSteps, leakStepsGpu, studioPreset, studioSteps },
  };
  writeFileSync(outFile.replace(/\.md$/, '') + '.json', JSON.stringify(results, null, 2));
  console.log(`written ${outFile} and its .json`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
