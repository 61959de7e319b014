/**
 * The objects-on-photos demo: one click makes the data set in the worker from the sources in public/objects/
 * (emoji on crops of photographs, with exact masks), picks its preset and trains at once, and the accuracy / IoU
 * curve runs live because the masks came with it.
 */
import { expect, test } from '@playwright/test';
import { waitStep } from './studioSteps';

test('"Try objects on photos" creates the data set with ground truth and trains with a live IoU', async ({ page }) => {
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto('/?backend=cpu&preset=objects-32&batch=2&lossEvery=1&previewEvery=2&ckptEvery=0&steps=100000');
  await expect(page.getByTestId('backend')).toHaveText('cpu', { timeout: 60_000 });
  await page.getByTestId('demo-objects').click();
  await expect(page.getByTestId('dataset-list')).toContainText('objects on photos (2000 × 32 px)', { timeout: 180_000 });
  await expect(page.getByTestId('run-state')).toHaveText('running', { timeout: 120_000 });
  await waitStep(page, 2);
  await expect(page.getByTestId('metrics-latest')).toContainText('IoU', { timeout: 240_000 });
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 240_000 });
});
