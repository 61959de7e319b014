/**
 * Nothing lost when the worker dies or the GPU goes away, without a reload: mid-run, the training worker is killed
 * (terminated with no event, as the browser ends a worker: the watchdog notices) and, in a second test, its WebGPU
 * device is destroyed (GPUDevice.lost). Each time the studio restarts its worker by itself, says what happened in
 * one sentence and offers the last complete checkpoint; the run opened from it holds that checkpoint's step and
 * weights (checksums through the `?testHooks=1` hooks, src/ui/client.ts TestHooks). The crash runs on the CPU
 * backend; the device loss on WebGPU (SwiftShader) with the tiny preset and a checkpoint every step.
 */
import { expect, test, type Page } from '@playwright/test';
import type { TestHooks } from '../src/ui/client';
import { step, waitStep } from './studioSteps';

type Checksums = Awaited<ReturnType<TestHooks['checksums']>>;

const query = (backend: string, ckptEvery: number) =>
  `/?backend=${backend}&preset=tiny&batch=4&ckptEvery=${ckptEvery}&previewEvery=0&lossEvery=1&steps=100000&seed=5&testHooks=1&watchdog=20000`;

function checksums(page: Page): Promise<Checksums> {
  return page.evaluate(() => (window as Window & { __redoTest?: TestHooks }).__redoTest!.checksums());
}

/** The demo trains until a checkpoint at `atLeast` or later exists; returns that checkpoint (read in the worker). */
async function trainPast(page: Page, backend: string, atLeast: number): Promise<Checksums> {
  await expect(page.getByTestId('backend')).toContainText(backend, { timeout: 120_000 });
  await page.getByTestId('demo').click();
  await expect(page.getByTestId('run-state')).toHaveText('running', { timeout: 180_000 });
  await waitStep(page, atLeast + 1, 300_000);
  let c = await checksums(page);
  await expect
    .poll(async () => (c = await checksums(page)).checkpoint?.step ?? 0, { timeout: 300_000, intervals: [500] })
    .toBeGreaterThanOrEqual(atLeast);
  return c;
}

/** After the restart: the offer names the checkpoint; "Open paused" opens it with that step and those weights. */
async function expectResumedFromCheckpoint(page: Page, before: Checksums, sentence: RegExp): Promise<void> {
  await expect(page.getByTestId('recovery')).toContainText(sentence, { timeout: 120_000 });
  await expect(page.getByTestId('run-state')).toHaveText('idle');
  const offered = Number(await page.getByTestId('resume-step').textContent());
  expect(offered).toBeGreaterThanOrEqual(before.checkpoint!.step);
  await page.getByTestId('open-run').click();
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 180_000 });
  await expect(page.getByTestId('recovery')).toHaveCount(0);
  expect(await step(page)).toBe(offered);
  const after = await checksums(page);
  expect(after.runId).toBe(before.runId);
  expect(after.checkpoint?.step).toBe(offered);
  expect(after.live).toEqual(after.checkpoint); // the step and the weights of the checkpoint, bit for bit
  if (offered === before.checkpoint!.step) expect(after.live?.checksum).toBe(before.checkpoint!.checksum);
  console.log(`MEASURED recovery: ${sentence.source} · checkpoint step ${offered} · weights ${after.live?.checksum}`);
  // and it trains on from there
  await page.getByTestId('resume').click();
  await waitStep(page, offered + 1, 300_000);
}

test('a killed worker is restarted by itself and the run resumes from its last checkpoint (CPU)', async ({ page }) => {
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(query('cpu', 2));
  const before = await trainPast(page, 'cpu', 2);
  expect(before.live!.step).toBeGreaterThanOrEqual(before.checkpoint!.step);
  await page.evaluate(() => (window as Window & { __redoTest?: TestHooks }).__redoTest!.killWorker());
  await expectResumedFromCheckpoint(page, before, /stopped answering .* and was restarted/);
  await expect(page.getByTestId('backend')).toContainText('cpu');
});

test('a destroyed WebGPU device: the worker is restarted on WebGPU and the run resumes from its last checkpoint', async ({ page }) => {
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(query('webgpu', 1));
  const before = await trainPast(page, 'webgpu', 1);
  await page.evaluate(() => (window as Window & { __redoTest?: TestHooks }).__redoTest!.destroyDevice());
  await expectResumedFromCheckpoint(page, before, /GPU device was lost \(destroyed/);
  await expect(page.getByTestId('backend')).toContainText('webgpu');
});
