/**
 * The wasm backend in a browser: where tfjs-backend-wasm's three binaries are served from (imported `?url`, so
 * that `vite dev`, `vite preview` and the build each serve them and hash them with the bundle), and how many
 * threads XNNPACK runs on. Both must be set before the backend first starts, which startWasm does.
 *
 * Threads need the threaded SIMD binary, which tfjs-backend-wasm loads only where SharedArrayBuffer can be
 * posted, i.e. on a cross-origin-isolated page (`Cross-Origin-Opener-Policy: same-origin` and
 * `Cross-Origin-Embedder-Policy: require-corp`: vite.config.ts sends both; README.md says so for static hosts).
 * Without isolation it loads the one-thread SIMD binary and the thread count is 1.
 */
import * as tf from '../redo/tf';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import plainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

const isolated = () => (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;

/** Threads the page can have: navigator.hardwareConcurrency when cross-origin isolated, else 1. */
export function availableThreads(): number {
  return isolated() ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;
}

/**
 * Starts the wasm backend on `threads` threads (default: every core the page may use). The count is fixed for the
 * life of the page (or worker) once wasm has started; later calls only switch back to it.
 *
 * tfjs-backend-wasm 4.22 caps its thread pool at navigator.hardwareConcurrency / 2 (its C++ start-up assumes two
 * hyperthreads per core): on a 2-vCPU machine one thread, whatever setThreadsCount asks. Its start-up reads that
 * value once, so for that moment this reports 2 × the threads asked for, then puts the real value back.
 */
export async function startWasm(threads = availableThreads()): Promise<boolean> {
  const n = Math.max(1, Math.floor(threads));
  if (!tf.findBackend('wasm')) {
    // Under Node (the unit tests) the package finds its binaries beside itself; these URLs would not load there.
    if (!tf.env().getBool('IS_NODE')) {
      setWasmPaths({
        'tfjs-backend-wasm.wasm': plainUrl,
        'tfjs-backend-wasm-simd.wasm': simdUrl,
        'tfjs-backend-wasm-threaded-simd.wasm': threadedUrl,
      });
    }
    setThreadsCount(n);
    // One thread: the single-threaded SIMD binary (the threaded one pays for shared memory and atomics for nothing).
    if (n === 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  const shadow = n > 1 && isolated() && typeof navigator !== 'undefined';
  if (shadow) Object.defineProperty(navigator, 'hardwareConcurrency', { value: 2 * n, configurable: true });
  try {
    const ok = await tf.setBackend('wasm');
    await tf.ready();
    return ok && tf.getBackend() === 'wasm';
  } finally {
    if (shadow) delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

/** The threads XNNPACK really uses (once the backend has started). */
export function wasmThreads(): number {
  return getThreadsCount();
}
