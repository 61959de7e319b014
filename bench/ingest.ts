/**
 * Ingest at scale in headless Chromium: images per second, peak JS heap (page and training worker) and main-thread
 * long tasks while the built studio ingests folders of generated photos (e2e/photos.ts, 160×120 PNG) picked with
 * its folder input; then, on the largest dataset, a few training steps with checkpoints (the dataset that size
 * trains and checkpoints).
 *
 *   npm run bench:ingest                                   # 1,000 and 10,000 photos, 32 px (tiny), train 4 steps
 *   npm run bench:ingest -- --counts 1000,10000 --preset tiny --train-steps 4 --distinct 1000 --out docs/ingest-bench.md
 *
 * --distinct N: at most N different pictures (photo i repeats photo i mod N; each file is still read and decoded):
 * generating a photo costs more than ingesting it.
 *
 * Heap: the page's performance.memory.usedJSHeapSize (--enable-precise-memory-info unrounds it) and the worker's
 * used heap through CDP (Runtime.getHeapUsage on the worker target), sampled every 100 ms; the peak is the
 * highest sample. Long tasks: PerformanceObserver('longtask') entries registered before the page's scripts, the
 * page's share from the folder's input event to the result; the browser's own folder-pick task apart. Prints a markdown table and appends it, dated, to --out.
 */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execSync } from 'node:child_process';
import { chromium, type Browser, type Page } from '@playwright/test';
import { CHROMIUM_FLAGS } from '../e2e/chromiumFlags';
import { writePhotoFolder } from '../e2e/photos';
import type { TestHooks } from '../src/ui/client';
import { flag, list, num } from './cliFlags';
import { ensureBuiltInto, startPreviewOf } from './previewServer';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT_DIR = 'bench-results/dist';
const counts = list('counts', ['1000', '10000']).map(Number);
const presetName = flag('preset') ?? 'tiny';
const trainSteps = num('train-steps', 4);
const distinct = num('distinct', 1000);
const outFile = resolve(ROOT, flag('out') ?? 'docs/ingest-bench.md');
const MB = 1024 * 1024;

interface Row {
  count: number;
  accepted: number;
  seconds: number;
  imagesPerS: number;
  peakPageMB: number;
  peakWorkerMB: number;
  peakWorkerBuffersMB: number;
  longTasks: number;
  maxLongTaskMs: number;
  /** The long task in which the browser took the picked folder (it ends inside the input event). */
  pickTaskMs: number;
  progressReports: number;
  trained?: string;
}

type Hooked = Window & { __redoTest?: TestHooks; __longTasks?: Array<{ start: number; ms: number }>; __marks?: { input?: number } };

/**
 * The training worker's used JS heap through CDP (Runtime.getHeapUsage; dedicated workers have no
 * performance.memory): a browser session attached to the worker target, messages relayed by Target.sendMessageToTarget.
 */
async function workerHeapReader(browser: Browser): Promise<() => Promise<WorkerHeap>> {
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  const workers = targetInfos.filter((t) => t.type === 'worker');
  const target = workers.find((t) => /rainingWorker|redo-training/.test(t.url + t.title)) ?? workers[0];
  console.log(`   worker target: ${target?.url ?? 'none'} (of ${workers.length})`);
  if (!target) return async () => ({ used: NaN, backing: NaN });
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
  const waiting = new Map<number, (heap: WorkerHeap) => void>();
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message) as { id?: number; result?: { usedSize: number; backingStorageSize?: number } };
    if (m.id !== undefined) waiting.get(m.id)?.({ used: m.result?.usedSize ?? NaN, backing: m.result?.backingStorageSize ?? NaN });
  });
  let id = 0;
  return () =>
    new Promise<WorkerHeap>((resolve) => {
      const k = ++id;
      waiting.set(k, resolve);
      void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: k, method: 'Runtime.getHeapUsage' }) });
    });
}

/** V8's used heap, and the ArrayBuffer backing stores outside it (the image bytes live there). */
interface WorkerHeap {
  used: number;
  backing: number;
}

async function pageHeap(page: Page): Promise<number> {
  return page.evaluate(() => (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? NaN);
}

async function runOne(base: string, count: number, train: boolean): Promise<Row> {
  const dir = writePhotoFolder(join(tmpdir(), `redo-bench-photos-${count}`, `photos${count}`), count, {
    distinct: Math.min(count, distinct),
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, '--enable-precise-memory-info'],
  });
  try {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      const w = window as Hooked;
      w.__longTasks = [];
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) w.__longTasks!.push({ start: e.startTime, ms: e.duration });
      }).observe({ type: 'longtask', buffered: true });
      const marks: { input?: number } = {};
      w.__marks = marks;
      document.addEventListener('input', () => (marks.input ??= performance.now()), true);
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => console.log(`   [page error] ${e.message}`));
    const q = `backend=cpu&preset=${presetName}&testHooks=1&ckptEvery=2&previewEvery=0&lossEvery=1&steps=${trainSteps}`;
    await page.goto(`${base}/?${q}`);
    await page.getByTestId('backend').filter({ hasText: 'cpu' }).waitFor({ timeout: 120_000 });
    await page.waitForTimeout(1000);
    let peakPage = 0;
    let peakWorker = 0;
    let peakBacking = 0;
    let sampling = true;
    const workerHeap = await workerHeapReader(browser);
    const sampler = (async () => {
      while (sampling) {
        const [p, w] = await Promise.all([pageHeap(page).catch(() => NaN), workerHeap()]);
        if (p > peakPage) peakPage = p;
        if (w.used > peakWorker) peakWorker = w.used;
        if (w.backing > peakBacking) peakBacking = w.backing;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const t0 = await page.evaluate(() => performance.now());
    const wall0 = Date.now();
    await page.getByTestId('folder-input').setInputFiles(dir);
    await page.getByTestId('ingest-result').waitFor({ timeout: 3_600_000 });
    const seconds = (Date.now() - wall0) / 1000;
    const t1 = await page.evaluate(() => performance.now());
    sampling = false;
    await sampler;
    const accepted = Number(await page.getByTestId('ingest-accepted').textContent());
    const { tasks, progress, input } = await page.evaluate(() => {
      const w = window as Hooked;
      return { tasks: w.__longTasks!, progress: w.__redoTest!.ingestProgress().length, input: w.__marks!.input ?? NaN };
    });
    // As e2e/ingest-scale.spec.ts: the page's share of each task from the folder's input event on (the task in which
    // Chromium builds the picked FileList ends inside that event; its part before it is the browser's).
    const during = tasks.filter((t) => t.start + t.ms >= t0 && t.start <= t1);
    const pageShare = during.filter((t) => t.start + t.ms >= input).map((t) => t.start + t.ms - Math.max(t.start, input));
    const row: Row = {
      count,
      accepted,
      seconds,
      imagesPerS: accepted / seconds,
      peakPageMB: peakPage / MB,
      peakWorkerMB: peakWorker / MB,
      peakWorkerBuffersMB: peakBacking / MB,
      longTasks: pageShare.filter((ms) => ms > 50).length,
      maxLongTaskMs: Math.max(0, ...pageShare),
      pickTaskMs: Math.max(0, ...during.filter((t) => t.start < input).map((t) => t.ms)),
      progressReports: progress,
    };
    if (train) {
      const t2 = Date.now();
      await page.getByTestId('start').click();
      await page
        .getByTestId('run-state')
        .filter({ hasText: /^finished$/ })
        .waitFor({ timeout: 1_800_000 });
      const c = await page.evaluate(() => (window as Hooked).__redoTest!.checksums());
      row.trained = `${trainSteps} steps in ${((Date.now() - t2) / 1000).toFixed(0)} s, checkpoint at step ${c.checkpoint?.step ?? 'none'}`;
    }
    console.log(JSON.stringify(row));
    return row;
  } finally {
    await browser.close();
  }
}

const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');

export function table(rows: Row[]): string {
  const lines = [
    '| photos | stored | seconds | images/s | peak page heap (MB) | peak worker heap (MB) | peak worker ArrayBuffers (MB) | page long tasks > 50 ms | longest (ms) | ' +
      'browser’s folder-pick task (ms) | progress reports | trains and checkpoints |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.count} | ${r.accepted} | ${fmt(r.seconds, 1)} | ${fmt(r.imagesPerS)} | ${fmt(r.peakPageMB, 1)} | ${fmt(r.peakWorkerMB, 1)} | ${fmt(r.peakWorkerBuffersMB, 1)} | ${r.longTasks} | ` +
        `${fmt(r.maxLongTaskMs)} | ${fmt(r.pickTaskMs)} | ${r.progressReports} | ${r.trained ?? '–'} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (or set CHROMIUM=)`);
  ensureBuiltInto(OUT_DIR, ['index.html'], false);
  const { url, proc } = await startPreviewOf(OUT_DIR, '/');
  const rows: Row[] = [];
  try {
    for (const [i, n] of counts.entries()) rows.push(await runOne(url, n, i === counts.length - 1 && trainSteps > 0));
  } finally {
    proc.kill();
  }
  const load = execSync('uptime').toString().trim();
  const md = `\n## ${new Date().toISOString()} · preset ${presetName} · load: ${load}\n\n${table(rows)}\n`;
  console.log(md);
  if (!existsSync(outFile)) writeFileSync(outFile, '# Ingest benchmark log (npm run bench:ingest)\n');
  appendFileSync(outFile, md);
}

await main();
