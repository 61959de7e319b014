/**
 * Page side of the studio-loop benchmark (bench/browser-speed.ts drives it): starts
 * e2e/harness/studioLoopWorker.ts — the studio's TrainingSession against bare trainer.step calls, in a Web
 * Worker as in the studio — and publishes its report as `window.__loop` (progress as `window.__loopProgress`).
 *
 *   /e2e/harness/studio-loop.html?backend=webgpu&preset=tiny&batch=2&steps=20&rounds=2&lossEvery=5
 *     &previewEvery=50&ckptEvery=200&leakSteps=200&seed=1
 *
 * Defaults: the preset's batch, and the studio's own loop options (src/ui/query.ts DEFAULT_OPTIONS).
 */
import { preset } from '../../src/redo';
import { DEFAULT_OPTIONS } from '../../src/ui/query';
import type { BackendName } from '../../src/worker/protocol';
import { emptyLoopReport, type FromLoopWorker, type LoopProgress, type LoopReport, type LoopRequest } from './studioLoopMessages';

declare global {
  interface Window {
    __loop?: LoopReport;
    __loopProgress?: LoopProgress;
  }
}

const q = new URLSearchParams(location.search);
const int = (key: string, fallback: number): number => {
  const v = Number(q.get(key) ?? NaN);
  return Number.isInteger(v) && v >= 0 ? v : fallback;
};
const b = q.get('backend');
const backend: BackendName = b === 'wasm' || b === 'webgl' || b === 'cpu' ? b : 'webgpu';
const presetName = q.get('preset') ?? 'tiny';
const req: LoopRequest = {
  backend,
  preset: presetName,
  batch: int('batch', 0) || preset(presetName).batchSize,
  steps: Math.max(1, int('steps', 20)),
  rounds: Math.max(1, int('rounds', 2)),
  options: {
    lossEvery: Math.max(1, int('lossEvery', DEFAULT_OPTIONS.lossEvery)),
    previewEvery: int('previewEvery', DEFAULT_OPTIONS.previewEvery),
    checkpointEvery: int('ckptEvery', DEFAULT_OPTIONS.checkpointEvery),
  },
  leakSteps: int('leakSteps', 200),
  seed: int('seed', 1),
};

const out = document.getElementById('out')!;
const worker = new Worker(new URL('./studioLoopWorker.ts', import.meta.url), { type: 'module' });
worker.onmessage = (e: MessageEvent<FromLoopWorker>) => {
  const m = e.data;
  if (m.type === 'progress') {
    window.__loopProgress = m.progress;
    out.textContent = `${m.progress.phase}: ${m.progress.detail}`;
  } else {
    window.__loop = m.report;
    out.textContent = JSON.stringify(m.report, null, 2);
    worker.terminate();
  }
};
worker.onerror = (e: ErrorEvent) => {
  window.__loop = { ...emptyLoopReport(req), error: `worker error: ${e.message}` };
};
worker.postMessage(req);
