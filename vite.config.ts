import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
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
