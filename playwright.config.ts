import { defineConfig } from '@playwright/test';
import { CHROMIUM_FLAGS } from './e2e/chromiumFlags';

/**
 * End-to-end tests: the built studio served by `vite preview`, driven in Debian's Chromium (never a downloaded
 * browser) with WebGPU on SwiftShader (CPU). Slow but real: the studio tests train the `tiny` preset for a few
 * steps. One worker (2 cores), generous timeouts.
 *
 * Environment:
 * - E2E_PORT: port of the preview server (default 4173).
 * - E2E_NO_BUILD=1: serve the existing dist/ (built with `npm run build:segmenter && npx vite build --mode harness`: the
 *   production build leaves the harness pages out); otherwise the web server builds it first.
 * - E2E_REUSE=1: use a preview server already listening on the port.
 * - CHROMIUM: browser binary (default /usr/bin/chromium).
 */
const port = Number(process.env.E2E_PORT ?? 4173);
const build = process.env.E2E_NO_BUILD
  ? ''
  : 'npx tsx scripts/pack-mnist.ts && npx tsx scripts/build-segmenter.ts && npx vite build --mode harness && ';

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results',
  globalSetup: './e2e/global-setup.ts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 600_000,
  expect: { timeout: 120_000 },
  reporter: [['list'], ['json', { outputFile: 'reports/e2e.json' }]],
  use: {
    baseURL: `http://localhost:${port}`,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    acceptDownloads: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: CHROMIUM_FLAGS,
    },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
  webServer: {
    command: `${build}npx vite preview --port ${port} --strictPort`,
    url: `http://localhost:${port}`,
    reuseExistingServer: !!process.env.E2E_REUSE,
    timeout: 300_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
