/**
 * A run trained by the headless trainer (`npm run train`, Node, wasm backend) opened in the studio: the import
 * shows its step, the imported model segments new images (masks, PNG cut-outs with alpha), the weights arrive
 * bit for bit (an export right after the import holds the same tensors), and training continues from that step.
 * The page runs on WebAssembly (chosen in the URL): WebGPU training is studio.spec.ts's subject, and a
 * SwiftShader step costs half a minute on a loaded machine.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from '@playwright/test';
import { unzipSync } from 'fflate';
import { decodeSafetensors } from '../src/formats/safetensors';
import type { RedoConfig } from '../src/redo';
import { decode } from 'fast-png';
import { DATASET_DIR, ZIP_FILE, ZIP_IMAGE_COUNT } from './fixtures';
import { resumeAndExpectNextStep, step } from './studioSteps';

const HEADLESS_STEPS = 3;

test.describe.configure({ mode: 'serial' });

function bytesOf(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function manifestOf(files: Record<string, Uint8Array>): { step: number; config: RedoConfig } {
  return JSON.parse(new TextDecoder().decode(files['manifest.json'])) as { step: number; config: RedoConfig };
}

test('a headless trainer run opens in the studio at its step and keeps training', async ({ page }) => {
  // The headless trainer's own zip (Node, wasm backend: a few seconds of training, the rest is start-up).
  const headlessZip = test.info().outputPath('headless-run.zip');
  await promisify(execFile)(
    'npx',
    [
      'tsx',
      'scripts/train.ts',
      '--dataset',
      'c2mnist',
      '--preset',
      'tiny',
      '--steps',
      String(HEADLESS_STEPS),
      '--backend',
      'wasm',
      '--out',
      headlessZip,
    ],
    { timeout: 300_000, env: { ...process.env, REDO_NO_SUPERVISE: '1' } },
  );
  const headless = unzipSync(new Uint8Array(readFileSync(headlessZip)));
  const headlessManifest = manifestOf(headless);
  expect(headlessManifest.step).toBe(HEADLESS_STEPS);
  const size = headlessManifest.config.imageSize;

  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  // On WebAssembly (the CPU path): the studio's WebGPU path is studio.spec.ts's; here what matters is the file (and time).
  await page.goto(`/?backend=wasm&preset=tiny&size=${size}&lossEvery=1&previewEvery=0&ckptEvery=0&steps=100000`);
  await expect(page.getByTestId('backend')).toContainText('wasm', { timeout: 60_000 });

  // A dataset of the run's size to continue on (the fixture zip: colored-2-MNIST at 32 px).
  await page.getByTestId('files-input').setInputFiles(ZIP_FILE);
  await expect(page.getByTestId('ingest-accepted')).toHaveText(String(ZIP_IMAGE_COUNT), { timeout: 120_000 });

  await page.getByTestId('import-input').setInputFiles(headlessZip);
  await expect(page.getByTestId('imported')).toContainText(`run at step ${HEADLESS_STEPS}`, { timeout: 60_000 });

  // Segment new images with the imported model: masks and PNG cut-outs with the soft mask as alpha.
  await page
    .getByTestId('segment-input')
    .setInputFiles([join(DATASET_DIR, 'a', 'img0000.png'), join(DATASET_DIR, 'a', 'img0003.png'), join(DATASET_DIR, 'notes.txt')]);
  await expect(page.getByTestId('segment-item')).toHaveCount(2, { timeout: 120_000 });
  await expect(page.getByTestId('segment-rejected').locator('li[data-name="notes.txt"]')).toContainText(/not an image/i);
  const [cutout] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('segment-item').first().getByTestId('download-cutout-1').click(),
  ]);
  expect(cutout.suggestedFilename()).toBe('img0000-region1.png');
  const png = decode(readFileSync(await cutout.path()));
  expect(png.channels).toBe(4);
  expect([png.width, png.height]).toEqual([size, size]);
  const alpha = Array.from({ length: png.width * png.height }, (_, i) => png.data[i * 4 + 3]!);
  expect(Math.min(...alpha)).toBeLessThan(Math.max(...alpha)); // a soft mask, not a constant

  await page.getByTestId('continue-imported').click();
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 120_000 });
  expect(await step(page)).toBe(HEADLESS_STEPS);
  await expect(page.getByTestId('loss-count')).toHaveText(`${HEADLESS_STEPS} steps recorded`);

  // The weights and optimizer state the studio holds are the headless trainer's, bit for bit.
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.getByTestId('export').click()]);
  const reexported = test.info().outputPath('studio-reexport.zip');
  await download.saveAs(reexported);
  const studio = unzipSync(new Uint8Array(readFileSync(reexported)));
  expect(manifestOf(studio).step).toBe(HEADLESS_STEPS);
  expect(manifestOf(studio).config).toEqual(headlessManifest.config);
  for (const file of ['weights.safetensors', 'optimizer.safetensors']) {
    const a = decodeSafetensors(headless[file]!).tensors;
    const b = decodeSafetensors(studio[file]!).tensors;
    expect([...b.keys()].sort(), file).toEqual([...a.keys()].sort());
    for (const [k, t] of a) expect(bytesOf(b.get(k)!.data).equals(bytesOf(t.data)), `${file}: ${k}`).toBe(true);
  }

  // Training continues from the headless step.
  const seen = await resumeAndExpectNextStep(page, HEADLESS_STEPS, 300_000);
  expect(Math.min(...seen)).toBe(HEADLESS_STEPS);
  await expect
    .poll(async () => (await page.getByTestId('loss-count').textContent()) ?? '', { timeout: 120_000 })
    .not.toBe(`${HEADLESS_STEPS} steps recorded`);
});
