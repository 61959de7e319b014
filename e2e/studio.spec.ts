/**
 * The studio end to end, in one browser context (IndexedDB persists across the steps), on WebGPU (SwiftShader):
 * ingest a folder with bad files, train the tiny preset, pause / resume, reload and resume from the last
 * checkpoint, export and re-import the run, refuse a corrupt zip. Prints the measured ingest rate and
 * steps/second (look for "MEASURED").
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import * as tf from '@tensorflow/tfjs';
import { decodeSafetensors } from '../src/formats/safetensors';
import { RedoModel, exportWeights, type RedoConfig } from '../src/redo';
import { BAD_FILES, DATASET_DIR, IMAGE_COUNT, ZIP_FILE, ZIP_IMAGE_COUNT } from './fixtures';
import { resumeAndExpectNextStep, step, waitStep } from './studioSteps';

const CHECKPOINT_EVERY = 3;
const URL_QUERY = `/?preset=tiny&batch=4&ckptEvery=${CHECKPOINT_EVERY}&previewEvery=2&lossEvery=1&steps=100000&seed=3`;

test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;
/** The archive exported in test 5 (test 6 corrupts a copy). */
let exportedZip = '';

/** Pixels of a canvas (by test id, or the first canvas inside the element) that differ from its first pixel. */
async function differingPixels(p: Page, testId: string): Promise<number> {
  return p.evaluate((id) => {
    const el = document.querySelector(`[data-testid="${id}"]`);
    const c = el instanceof HTMLCanvasElement ? el : el?.querySelector('canvas');
    if (!c || c.width === 0 || c.height === 0) return 0;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 4; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2] || d[i + 3] !== d[3]) n++;
    return n;
  }, testId);
}

/** Pixels of the loss chart drawn in a series colour (the curves themselves, not the axes). */
async function curvePixels(p: Page): Promise<number> {
  return p.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid="loss-chart"] canvas');
    if (!c) return 0;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const colours = [
      [0xe0, 0x53, 0x3d],
      [0x3d, 0x7b, 0xe0],
      [0x2c, 0xa0, 0x5a],
    ];
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3]! < 128) continue;
      if (colours.some(([r, g, b]) => Math.abs(d[i]! - r!) < 40 && Math.abs(d[i + 1]! - g!) < 40 && Math.abs(d[i + 2]! - b!) < 40)) n++;
    }
    return n;
  });
}

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1440, height: 1100 } });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.log(`[page ${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(URL_QUERY);
});

test.afterAll(async () => {
  await context?.close();
});

test('1 · a dropped folder is ingested; exactly the bad files are reported with reasons', async () => {
  await expect(page.getByTestId('backend')).toContainText('webgpu', { timeout: 60_000 });
  const t0 = Date.now();
  await page.getByTestId('folder-input').setInputFiles(DATASET_DIR);
  await expect(page.getByTestId('ingest-result')).toBeVisible({ timeout: 120_000 });
  const wall = (Date.now() - t0) / 1000;
  await expect(page.getByTestId('ingest-accepted')).toHaveText(String(IMAGE_COUNT));
  const items = page.getByTestId('rejected-list').locator('li');
  await expect(items).toHaveCount(BAD_FILES.length);
  for (const bad of BAD_FILES) {
    const li = page.getByTestId('rejected-list').locator(`li[data-name="${bad.name}"]`);
    await expect(li).toHaveCount(1);
    await expect(li).toContainText(bad.reason);
  }
  const resultText = (await page.getByTestId('ingest-result').textContent()) ?? '';
  await expect(page.getByTestId('ingest-result')).toContainText('with ground truth');
  const rate = /\((\d+) images\/s\)/.exec(resultText)?.[1];
  console.log(
    `MEASURED ingest: ${IMAGE_COUNT} images + ${IMAGE_COUNT} masks (32×32 PNG) + 3 bad files; worker ${rate ?? '?'} images/s; wall ${(IMAGE_COUNT / wall).toFixed(0)} images/s (${wall.toFixed(1)} s incl. file transfer)`,
  );
  await expect(page.getByTestId('dataset-list')).toContainText('c2mnist-e2e');

  // A zip dropped on the page (synthesized drop) is ingested too.
  const zipBytes = [...readFileSync(ZIP_FILE)];
  await page.evaluate((bytes) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], 'digits.zip', { type: 'application/zip' }));
    const zone = document.querySelector('[data-testid="dropzone"]')!;
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, zipBytes);
  await expect(page.getByTestId('ingest-accepted')).toHaveText(String(ZIP_IMAGE_COUNT), { timeout: 60_000 });
  await expect(page.getByTestId('dataset-item')).toHaveCount(2);
  // Train on the folder dataset, delete the zip one.
  await page.getByTestId('dataset-item').filter({ hasText: 'c2mnist-e2e' }).locator('input[type=radio]').check();
  page.once('dialog', (d) => void d.accept());
  await page.getByTestId('dataset-item').filter({ hasText: 'digits' }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByTestId('dataset-item')).toHaveCount(1);
});

test('2 · trains the tiny preset on WebGPU: steps rise, losses and masks are drawn', async () => {
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-state')).toHaveText('running', { timeout: 60_000 });
  await expect(page.getByTestId('backend')).toContainText('webgpu');
  const first = await waitStep(page, 1);
  const t1 = Date.now();
  const target = first + 4;
  const reached = await waitStep(page, target);
  const sps = (reached - first) / ((Date.now() - t1) / 1000);
  console.log(
    `MEASURED tiny preset (32 px, batch 4) on WebGPU/SwiftShader headless: ${sps.toFixed(3)} steps/s (${(1 / sps).toFixed(1)} s/step); the studio shows ${await page.getByTestId('its').textContent()} it/s`,
  );

  await expect.poll(() => curvePixels(page), { timeout: 60_000 }).toBeGreaterThan(20);
  await expect(page.getByTestId('mask-preview')).toBeVisible({ timeout: 120_000 });
  await expect.poll(() => differingPixels(page, 'mask-preview')).toBeGreaterThan(100);
  await expect.poll(() => differingPixels(page, 'figure2')).toBeGreaterThan(100);
  await expect(page.getByTestId('metrics-latest')).toContainText('accuracy', { timeout: 60_000 });
  await page.screenshot({ path: 'test-results/studio-mid-training.png', fullPage: true });
});

test('3 · pause holds the step; resume continues from the same value', async () => {
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 120_000 });
  const held = await step(page);
  await expect(page.getByTestId('last-checkpoint')).toHaveText(String(held)); // a checkpoint on pause
  await page.waitForTimeout(5_000);
  expect(await step(page)).toBe(held);
  await resumeAndExpectNextStep(page, held);
});

test('4 · after a reload the dataset is there and training resumes from the last checkpoint', async () => {
  // Wait for a periodic checkpoint while running, then reload at once (as a user closing the tab would).
  const before = await step(page);
  const nextCheckpoint = Math.ceil((before + 1) / CHECKPOINT_EVERY) * CHECKPOINT_EVERY;
  await expect(page.getByTestId('last-checkpoint')).toHaveText(String(nextCheckpoint), { timeout: 300_000 });
  await page.reload();
  await expect(page.getByTestId('dataset-list')).toContainText('c2mnist-e2e', { timeout: 60_000 });
  await expect(page.getByTestId('resume-offer')).toBeVisible({ timeout: 60_000 });
  const offered = Number(await page.getByTestId('resume-step').textContent());
  expect(offered).toBeGreaterThanOrEqual(nextCheckpoint);
  expect(offered % CHECKPOINT_EVERY).toBe(0);
  await expect(page.getByTestId('backend')).toContainText('webgpu');
  await page.getByTestId('open-run').click();
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 120_000 });
  expect(await step(page)).toBe(offered);
  await expect(page.getByTestId('loss-count')).not.toHaveText('0 steps recorded');
  await page.getByTestId('resume').click();
  await waitStep(page, offered + 1);
});

test('5 · export is a zip whose manifest and tensors fit the config; importing it restores step and weights', async () => {
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 120_000 });
  const at = await step(page);

  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.getByTestId('export').click()]);
  const zipPath = test.info().outputPath('exported-run.zip');
  await download.saveAs(zipPath);
  exportedZip = zipPath;
  const files = unzipSync(new Uint8Array(readFileSync(zipPath)));
  for (const f of ['manifest.json', 'weights.safetensors', 'optimizer.safetensors', 'losses.csv']) expect(Object.keys(files)).toContain(f);
  const manifest = JSON.parse(new TextDecoder().decode(files['manifest.json'])) as {
    format: string;
    step: number;
    config: RedoConfig;
    dataset: { count: number };
  };
  expect(manifest.format).toBe('redo-studio-run');
  expect(manifest.step).toBe(at);
  expect(manifest.config.imageSize).toBe(32);
  expect(manifest.config.batchSize).toBe(4);
  expect(manifest.dataset.count).toBe(IMAGE_COUNT);

  // The tensor names and shapes the config implies: those of a model built from it.
  await tf.setBackend('cpu');
  const model = new RedoModel(manifest.config, 0, { uninitialised: true });
  const expected = await exportWeights(model);
  const trainable = new Set((['F', 'G', 'D', 'Z'] as const).flatMap((n) => model.trainableVariables(n).map((v) => v.key)));
  model.dispose();
  const weights = decodeSafetensors(files['weights.safetensors']!).tensors;
  expect([...weights.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [k, t] of expected) expect(weights.get(k)!.shape, k).toEqual(t.shape);
  const optimizer = decodeSafetensors(files['optimizer.safetensors']!).tensors;
  expect([...optimizer.keys()].sort()).toEqual([...trainable].flatMap((k) => [`${k}.exp_avg`, `${k}.exp_avg_sq`]).sort());
  const csvRows = new TextDecoder().decode(files['losses.csv']).trim().split('\n');
  expect(csvRows[0]).toMatch(/^step,g_adv,g_recz,d_real,d_fake/);
  expect(csvRows.length).toBeGreaterThan(at);

  // Import it back: the same step, and the same weights (a second export holds identical tensors).
  await page.getByTestId('import-input').setInputFiles(zipPath);
  await expect(page.getByTestId('imported')).toContainText(`run at step ${at}`, { timeout: 60_000 });
  await page.getByTestId('continue-imported').click();
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 120_000 });
  expect(await step(page)).toBe(at);
  const [again] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.getByTestId('export').click()]);
  const againPath = test.info().outputPath('reexported-run.zip');
  await again.saveAs(againPath);
  const files2 = unzipSync(new Uint8Array(readFileSync(againPath)));
  const weights2 = decodeSafetensors(files2['weights.safetensors']!).tensors;
  for (const [k, t] of weights) expect(Buffer.from(weights2.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
  expect(Buffer.from(files2['optimizer.safetensors']!).equals(Buffer.from(files['optimizer.safetensors']!))).toBe(true);
});

test('6 · a corrupt zip is refused with a clear message and the current run is intact', async () => {
  const at = await step(page);
  const runInfo = await page.getByTestId('run-info').textContent();
  expect(exportedZip, 'test 5 exports the archive this test corrupts').not.toBe('');
  const good = readFileSync(exportedZip);
  const broken = test.info().outputPath('broken.zip');
  writeFileSync(broken, good.subarray(0, Math.floor(good.length / 2)));
  await page.getByTestId('import-input').setInputFiles(broken);
  await expect(page.getByTestId('import-error')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('import-error')).toContainText(/corrupt|not a zip|truncated|cannot be read/i);
  console.log(`corrupt zip message: ${await page.getByTestId('import-error').textContent()}`);
  expect(await step(page)).toBe(at);
  await expect(page.getByTestId('run-state')).toHaveText('paused');
  expect(await page.getByTestId('run-info').textContent()).toBe(runInfo);
  await page.getByTestId('resume').click();
  await waitStep(page, at + 1);
});
