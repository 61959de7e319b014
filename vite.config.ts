/**
 * Vite: the studio (index.html), the harness pages the e2e tests and bench/browser-speed.ts drive, and the headers
 * that make the pages cross-origin isolated, in `vite dev` and `vite preview` alike: SharedArrayBuffer, hence the
 * threaded SIMD build of tfjs-backend-wasm (src/worker/wasmSetup.ts), needs both. A static host must send the same
 * two headers (README.md, *Hosting*), or WebAssembly trains on one thread.
 */
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const CROSS_ORIGIN_ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  plugins: [react()],
  server: { headers: CROSS_ORIGIN_ISOLATION },
  preview: { headers: CROSS_ORIGIN_ISOLATION },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      // the studio, the harness page the e2e conformance test drives, and the two bench/browser-speed.ts drives
      input: {
        main: 'index.html',
        conformance: 'e2e/harness/conformance.html',
        bench: 'e2e/harness/bench.html',
        studioLoop: 'e2e/harness/studio-loop.html',
      },
    },
  },
});
