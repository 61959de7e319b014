import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      // the studio, and the harness page the e2e conformance test drives
      input: { main: 'index.html', conformance: 'e2e/harness/conformance.html' },
    },
  },
});
