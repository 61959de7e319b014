/**
 * The committed objects-32 checkpoint (public/models/objects-32-F.safetensors: the mask network alone, trained by
 * `npm run train` with the objects-32 recipe; docs/recipe-objects-32.md) opens in the studio and segments dropped
 * photos it never saw: held-out objects on photos generated here, scored from the studio's own cut-outs (their
 * alpha is F's soft mask) with one object/background assignment for the set, as the trainer and the unit test score.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { expect, test } from '@playwright/test';
import { generateSplits, loadObjectSources, writeImageSet } from '../src/node/objectSources';
import { objectScore } from '../src/redo/metrics';
import { CHECKPOINT_FILE, CHECKPOINT_MIN_IOU } from '../tests/helpers/objectsCheckpoint';

const COUNT = 8;

test('the objects-32 checkpoint opens in the studio and cuts the objects out of photos it never saw', async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), 'redo-objects-ckpt-'));
  const { test: held } = generateSplits(await loadObjectSources(), { size: 32, train: 1, test: COUNT, seed: 11 });
  await writeImageSet(dir, held, 32);
  const names = Array.from({ length: COUNT }, (_, i) => `${String(i).padStart(5, '0')}.png`); // writeImageSet's names

  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto('/?backend=wasm&preset=objects-32');
  await expect(page.getByTestId('backend')).toContainText('wasm', { timeout: 60_000 });
  await page.getByTestId('import-input').setInputFiles(CHECKPOINT_FILE);
  await expect(page.getByTestId('imported')).toContainText('32px', { timeout: 60_000 });
  await expect(page.getByTestId('imported')).toContainText('metadata');

  await page.getByTestId('segment-input').setInputFiles(names.map((n) => join(dir, 'images', n)));
  await expect(page.getByTestId('segment-item')).toHaveCount(COUNT, { timeout: 120_000 });

  // Region 1's cut-out of each image: its alpha is F's soft first-region mask at 32 px.
  const first = new Float32Array(COUNT * 32 * 32);
  const items = page.getByTestId('segment-item');
  for (let i = 0; i < COUNT; i++) {
    const [dl] = await Promise.all([page.waitForEvent('download'), items.nth(i).getByTestId('download-cutout-1').click()]);
    const png = decode(readFileSync(await dl.path()));
    expect([png.width, png.height, png.channels]).toEqual([32, 32, 4]);
    for (let q = 0; q < 32 * 32; q++) first[i * 1024 + q] = png.data[q * 4 + 3]! / 255;
  }
  const s = objectScore(first, held.masks, 32 * 32);
  console.log(`studio, checkpoint on ${COUNT} held-out images: IoU ${s.iou.toFixed(3)}, accuracy ${s.accuracy.toFixed(3)}`);
  expect(s.iou).toBeGreaterThanOrEqual(CHECKPOINT_MIN_IOU);
});
