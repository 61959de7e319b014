/**
 * The studio trains on WebAssembly end to end (`?backend=wasm`), in one browser context: the page is cross-origin
 * isolated (vite preview sends COOP / COEP), so tfjs-backend-wasm loads its threaded SIMD build on every core;
 * the badge says how many threads. Ingest a folder, train tiny (steps rise, losses drawn), pause holds the step,
 * resume continues from it, export a run archive whose manifest and tensors fit. Prints steps/second ("MEASURED").
 */
import { readFileSync } from 'node:fs';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import { decodeSafetensors } from '../src/formats/safetensors';
import type { RedoConfig } from '../src/redo';
import { DATASET_DIR, IMAGE_COUNT } from './fixtures';
import { resumeAndExpectNextStep, step, waitStep } from './studioSteps';

test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ acceptDownloads: true });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`[page ${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto('/?backend=wasm&preset=tiny&batch=4&ckptEvery=0&previewEvery=2&lossEvery=1&steps=100000&seed=5');
});

test.afterAll(async () => {
  await context?.close();
});

test('1 · WebAssembly starts on every core of a cross-origin-isolated page; a folder is ingested', async () => {
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  await expect(page.getByTestId('backend')).toHaveText(`wasm — ${cores} thread${cores === 1 ? '' : 's'}, XNNPACK`, { timeout: 60_000 });
  await expect(page.getByTestId('backend-fallback')).toContainText('the fast CPU path');
  await page.getByTestId('folder-input').setInputFiles(DATASET_DIR);
  await expect(page.getByTestId('ingest-accepted')).toHaveText(String(IMAGE_COUNT), { timeout: 120_000 });
  await expect(page.getByTestId('dataset-list')).toContainText('c2mnist-e2e');
});

test('2 · trains tiny on WebAssembly: steps rise, losses and masks are drawn', async () => {
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-state')).toHaveText('running', { timeout: 60_000 });
  const first = await waitStep(page, 1);
  const t1 = Date.now();
  const reached = await waitStep(page, first + 20);
  const sps = (reached - first) / ((Date.now() - t1) / 1000);
  console.log(
    `MEASURED tiny preset (32 px, batch 4) on WebAssembly in headless Chromium: ${sps.toFixed(2)} steps/s (studio loop, previews every 2 steps)`,
  );
  await expect(page.getByTestId('loss-count')).not.toHaveText('0 steps recorded');
  await expect(page.getByTestId('mask-preview')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('metrics-latest')).toContainText('accuracy', { timeout: 60_000 });
});

test('3 · pause holds the step; resume continues from the same value', async () => {
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 60_000 });
  const held = await step(page);
  await expect(page.getByTestId('last-checkpoint')).toHaveText(String(held)); // a checkpoint on pause
  await page.waitForTimeout(2_000);
  expect(await step(page)).toBe(held);
  await resumeAndExpectNextStep(page, held);
  await waitStep(page, held + 5);
});

test('4 · export: a run archive at the paused step, with every tensor of the tiny config', async () => {
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 60_000 });
  const at = await step(page);
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.getByTestId('export').click()]);
  const zipPath = test.info().outputPath('wasm-run.zip');
  await download.saveAs(zipPath);
  const files = unzipSync(new Uint8Array(readFileSync(zipPath)));
  const manifest = JSON.parse(new TextDecoder().decode(files['manifest.json'])) as { step: number; config: RedoConfig };
  expect(manifest.step).toBe(at);
  expect(manifest.config.imageSize).toBe(32);
  expect(manifest.config.batchSize).toBe(4);
  const weights = decodeSafetensors(files['weights.safetensors']!).tensors;
  expect(weights.size).toBeGreaterThan(100);
  for (const [k, t] of weights) expect(t.data.every(Number.isFinite), `${k} is finite`).toBe(true);
  const rows = new TextDecoder().decode(files['losses.csv']).trim().split('\n');
  expect(rows.length).toBeGreaterThan(at);
});
