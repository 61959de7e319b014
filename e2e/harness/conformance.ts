/**
 * Browser harness for e2e/conformance.spec.ts: runs the eval-mode golden comparison on the backend named in
 * `?backend=` (webgpu by default) and publishes the result as `window.__conformance`.
 * The golden files are served at /golden/<name>.safetensors by the test (route interception).
 */
import '@tensorflow/tfjs-backend-webgpu';
import * as tf from '../../src/redo/tf';
import { decodeSafetensors } from '../../src/formats/safetensors';
import { evalComparisons, type Comparison } from './goldenEval';

export interface ConformanceReport {
  backend: string;
  adapter: string;
  results: Record<string, Comparison[]>;
  error?: string;
}

declare global {
  interface Window {
    __conformance?: ConformanceReport;
  }
}

async function adapterInfo(): Promise<string> {
  type AdapterInfo = { vendor: string; architecture: string; description: string };
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: AdapterInfo } | null> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  const info = adapter?.info;
  return info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') : 'none';
}

async function run(): Promise<ConformanceReport> {
  const wanted = new URLSearchParams(location.search).get('backend') ?? 'webgpu';
  const ok = await tf.setBackend(wanted);
  await tf.ready();
  const report: ConformanceReport = { backend: ok ? tf.getBackend() : `failed: ${wanted}`, adapter: await adapterInfo(), results: {} };
  for (const name of ['redo-ref-n2', 'redo-ref-n3']) {
    const bytes = new Uint8Array(await (await fetch(`/golden/${name}.safetensors`)).arrayBuffer());
    report.results[name] = await evalComparisons(decodeSafetensors(bytes));
  }
  return report;
}

run()
  .then((r) => {
    window.__conformance = r;
    document.getElementById('out')!.textContent = JSON.stringify(r, null, 2);
  })
  .catch((e: unknown) => {
    window.__conformance = {
      backend: tf.getBackend() ?? 'none',
      adapter: '',
      results: {},
      error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e),
    };
  });
