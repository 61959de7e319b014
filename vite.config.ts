/**
 * Vite: the studio (index.html); with `--mode harness` (what Playwright and bench/browser-speed.ts build) also the
 * harness pages the e2e tests and the browser benchmark drive, which the production build leaves out; and the headers
 * that make the pages cross-origin isolated, in `vite dev` and `vite preview` alike: SharedArrayBuffer, hence the
 * threaded SIMD build of tfjs-backend-wasm (src/worker/wasmSetup.ts), needs both. A static host must send the same
 * two headers (README.md, *Hosting*), or WebAssembly trains on one thread.
 */
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const CROSS_ORIGIN_ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * tfjs-backend-wasm starts each of its threads from the SOURCE TEXT of its threaded factory (factory.toString() in
 * a Blob), which therefore must not refer to anything outside itself. It refers to one variable, _scriptDir (unused
 * here: tfjs passes locateFile and mainScriptUrlOrBlob), and the minifier, which renames it and drops its typeof
 * guard, then breaks every thread ("e is not defined"; tensorflow/tfjs#4253, #4539). This removes both uses before
 * bundling; the build stops if the package no longer has them.
 */
function tfjsWasmThreadsMinifySafe(): Plugin {
  const file = /tfjs-backend-wasm[\\/]wasm-out[\\/]tfjs-backend-wasm-threaded-simd\.js$/;
  const cuts: Array<[string, string]> = [
    ['if(typeof _scriptDir !== "undefined" && _scriptDir){scriptDirectory=_scriptDir}', ''],
    ['Module["mainScriptUrlOrBlob"]||_scriptDir', 'Module["mainScriptUrlOrBlob"]'],
  ];
  return {
    name: 'tfjs-wasm-threads-minify-safe',
    enforce: 'pre',
    transform(code, id) {
      if (!file.test(id)) return null;
      let out = code;
      for (const [from, to] of cuts) {
        if (!out.includes(from)) this.error(`tfjs-backend-wasm's threaded glue changed: "${from}" not found (vite.config.ts)`);
        out = out.replace(from, to);
      }
      return { code: out, map: null };
    },
  };
}

/** The studio, and in the harness build the pages the e2e conformance test and bench/browser-speed.ts drive. */
const HARNESS_PAGES = {
  conformance: 'e2e/harness/conformance.html',
  bench: 'e2e/harness/bench.html',
  studioLoop: 'e2e/harness/studio-loop.html',
};

export default defineConfig(({ mode }) => ({
  plugins: [react(), tfjsWasmThreadsMinifySafe()],
  server: { headers: CROSS_ORIGIN_ISOLATION },
  preview: { headers: CROSS_ORIGIN_ISOLATION },
  worker: { format: 'es', plugins: () => [tfjsWasmThreadsMinifySafe()] },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      input: { main: 'index.html', ...(mode === 'harness' ? HARNESS_PAGES : {}) },
    },
  },
}));
