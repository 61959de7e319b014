/**
 * The wasm backend in a browser: where tfjs-backend-wasm's three binaries are served from (imported `?url`, so
 * that `vite dev`, `vite preview` and the build each serve them and hash them with the bundle), and how many
 * threads XNNPACK runs on. Both must be set before the backend first starts.
 *
 * Threads need the threaded SIMD binary, which tfjs-backend-wasm loads only where SharedArrayBuffer can be
 * posted, i.e. on a cross-origin-isolated page (`Cross-Origin-Opener-Policy: same-origin` and
 * `Cross-Origin-Embedder-Policy: require-corp`: vite.config.ts sends both; README.md says so for static hosts).
 * Without isolation it loads the one-thread SIMD binary and the thread count is 1.
 */
import { env } from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import plainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

let prepared: number | null = null;

/** Threads the page can have: navigator.hardwareConcurrency when cross-origin isolated, else 1. */
export function availableThreads(): number {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return isolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
}

/** Points tfjs-backend-wasm at the served binaries and sets its thread count (once; later calls change nothing). */
export function prepareWasm(threads = availableThreads()): void {
  if (prepared !== null) return;
  // Under Node (the unit tests) the package finds its binaries beside itself; the URLs would not load there.
  if (!env().getBool('IS_NODE')) {
    setWasmPaths({
      'tfjs-backend-wasm.wasm': plainUrl,
      'tfjs-backend-wasm-simd.wasm': simdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': threadedUrl,
    });
  }
  setThreadsCount(Math.max(1, Math.floor(threads)));
  prepared = threads;
}

/** The threads XNNPACK really uses (known once the backend has started). */
export function wasmThreads(): number {
  return getThreadsCount();
}
