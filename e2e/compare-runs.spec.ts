/**
 * Issue 21, item 3 (Compare runs): two stored runs (WebAssembly, `tiny`, a folder with masks, 4 iterations each;
 * the second with another λz and batch) and the second one's exported archive are laid side by side: loss, smallest
 * area, image dependence and IoU drawn on one axis per quantity (one series per run), and a table holding only the
 * settings that differ.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { DATASET_DIR, IMAGE_COUNT } from './fixtures';

const STEPS = 4;

test('two stored runs and an archive: curves overlaid by step, only the differing settings listed', async ({ page }) => {
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(`/?backend=wasm&preset=tiny&batch=4&ckptEvery=0&previewEvery=2&lossEvery=1&steps=${STEPS}&seed=3`);
  await expect(page.getByTestId('backend')).toContainText('wasm', { timeout: 60_000 });
  await page.getByTestId('folder-input').setInputFiles(DATASET_DIR);
  await expect(page.getByTestId('ingest-accepted')).toHaveText(String(IMAGE_COUNT), { timeout: 120_000 });

  // Run A: the preset as it is.
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-state')).toHaveText('finished', { timeout: 240_000 });
  const runA = await page.getByTestId('run-info').locator('code').textContent();
  // Run B: λz 3 and batch 2.
  await page.getByTestId('cfg-lambdaz').fill('3');
  await page.getByTestId('cfg-batch').fill('2');
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-info').locator('code')).not.toHaveText(runA ?? '', { timeout: 120_000 });
  await expect(page.getByTestId('run-state')).toHaveText('finished', { timeout: 240_000 });
  const runB = await page.getByTestId('run-info').locator('code').textContent();

  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
  const archive = join(mkdtempSync(join(tmpdir(), 'redo-compare-')), dl.suggestedFilename());
  await dl.saveAs(archive);

  const compare = page.getByTestId('compare');
  await expect(compare.getByTestId('compare-pick')).toHaveCount(2, { timeout: 60_000 });
  await compare.locator(`[data-testid="compare-pick"][data-run-id="${runA}"]`).check();
  await expect(compare.getByText('Pick one more.')).toBeVisible({ timeout: 60_000 });
  await compare.locator(`[data-testid="compare-pick"][data-run-id="${runB}"]`).check();

  const view = compare.getByTestId('compare-view');
  await expect(view).toBeVisible({ timeout: 60_000 });
  // Only the settings that differ: λz and batch (same seed, same everything else).
  await expect(view.getByTestId('compare-diff-row')).toHaveCount(2);
  await expect(view.locator('[data-testid="compare-diff-row"][data-field="lambdaZ"] td')).toHaveText([/^\d/, '3']);
  await expect(view.locator('[data-testid="compare-diff-row"][data-field="batchSize"] td')).toHaveText(['4', '2']);
  // Every quantity: one chart, one series per run, every run with points (iterations 1…4; IoU and dependence at 2, 4).
  for (const [id, points] of [
    ['compare-loss-chart', STEPS],
    ['compare-area-chart', STEPS],
    ['compare-dependence-chart', 2],
    ['compare-iou-chart', 2],
  ] as const) {
    const chart = view.getByTestId(id);
    await expect(chart).toHaveAttribute('data-series', '2');
    await expect(chart.locator('canvas')).toHaveCount(1);
    await expect(chart.locator('.u-legend .u-series')).toHaveCount(3); // the step and the two runs
    await expect(view.getByTestId(`${id}-points`)).toHaveText(new RegExp(`: ${points}, .*: ${points} points`));
  }

  // Run B's archive beside them: a third series, and still only λz and batch differ (the archive is run B).
  await compare.getByTestId('compare-archive-input').setInputFiles(archive);
  await expect(view.getByTestId('compare-loss-chart')).toHaveAttribute('data-series', '3', { timeout: 60_000 });
  await expect(view.locator('[data-testid="compare-diff-row"][data-field="batchSize"] td')).toHaveText(['4', '2', '2']);
  await expect(view.getByTestId('compare-diff-row')).toHaveCount(2);
  await expect(view.getByTestId('compare-iou-chart').locator('.u-legend .u-series')).toHaveCount(4);
  await page.screenshot({ path: 'test-results/compare-runs.png', fullPage: true });
});
