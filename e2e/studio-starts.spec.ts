/**
 * Issue 19 in the studio (WebAssembly, `tiny`, a folder with masks): best of 2 starts of 4 iterations each
 * (`&starts=2&startSteps=4`), then the kept one goes on to step 10. Asserts what the page shows: the masks' image
 * dependence (pairwise IoU and spread, a value and a curve), every start listed with its held-out IoU and the best one
 * marked kept, and the F export offering best and last, each with its step:
 * both files are F alone, with the step in their metadata.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { decodeSafetensors } from '../src/formats/safetensors';
import { DATASET_DIR, IMAGE_COUNT } from './fixtures';

test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let page: Page;

const STEPS = 10;

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ acceptDownloads: true });
  page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(`/?backend=wasm&preset=tiny&batch=4&ckptEvery=0&previewEvery=2&lossEvery=1&steps=${STEPS}&seed=5&starts=2&startSteps=4`);
});

test.afterAll(async () => {
  await context?.close();
});

/** The numbers of a text, in order. */
function numbers(text: string | null): number[] {
  return [...(text ?? '').matchAll(/\d+\.\d+/g)].map((m) => Number(m[0]));
}

test('1 · best of 2 starts: both listed with their scores, the best kept and continued; dependence drawn', async () => {
  await expect(page.getByTestId('backend')).toContainText('wasm', { timeout: 60_000 });
  await page.getByTestId('folder-input').setInputFiles(DATASET_DIR);
  await expect(page.getByTestId('ingest-accepted')).toHaveText(String(IMAGE_COUNT), { timeout: 120_000 });
  await expect(page.getByTestId('opt-starts')).toHaveValue('2');
  await expect(page.getByTestId('opt-start-steps')).toHaveValue('4');
  await page.getByTestId('start').click();
  await expect(page.getByTestId('starts-state')).toContainText('of 2 training', { timeout: 240_000 });
  await expect(page.getByTestId('starts-state')).toContainText('kept start', { timeout: 300_000 });

  const items = page.getByTestId('start-item');
  await expect(items).toHaveCount(2);
  const texts = await items.allTextContents();
  const ious = texts.map((t) => Number(/held-out IoU (\d\.\d{3})/.exec(t)?.[1] ?? 'NaN'));
  for (const v of ious) expect(v).toBeGreaterThanOrEqual(0);
  const keptIndex = ious[1]! > ious[0]! ? 1 : 0; // the first of equals is kept
  const kept = page.locator('[data-testid="start-item"][data-kept="true"]');
  await expect(kept).toHaveCount(1);
  await expect(items.nth(keptIndex)).toHaveAttribute('data-kept', 'true');
  await expect(items.nth(keptIndex).getByTestId('start-kept')).toHaveText('✓ kept');
  await expect(page.getByTestId('starts-state')).toHaveText(`kept start ${keptIndex + 1}; it goes on training`);
  await expect(page.getByTestId('starts-chart').locator('canvas')).toHaveCount(1);

  // The kept start goes on to the last step.
  await expect(page.getByTestId('run-state')).toHaveText('finished', { timeout: 300_000 });
  await expect(page.getByTestId('step')).toHaveText(String(STEPS));

  // Image dependence: the latest reading as numbers in [0, 1], beside the areas, and its curve.
  const latest = await page.getByTestId('dependence-latest').textContent();
  expect(latest).toMatch(new RegExp(`^step ${STEPS}: masks' pairwise IoU \\d\\.\\d{3}, spread \\d\\.\\d{3}`));
  const [pair, spread] = numbers(latest);
  for (const v of [pair!, spread!]) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
  }
  await expect(page.getByTestId('dependence')).toHaveText(`${pair!.toFixed(3)} / ${spread!.toFixed(3)}`);
  await expect(page.getByTestId('dependence-chart').locator('canvas')).toHaveCount(1);
  await page.screenshot({ path: test.info().outputPath('studio-starts.png'), fullPage: true });
});

test('2 · export offers the best and the last F, each with its step', async () => {
  const select = page.getByTestId('export-which');
  const options = await select.locator('option').allTextContents();
  expect(options[0]).toBe(`last F — step ${STEPS}`);
  const best = /^best F — step (\d+), held-out IoU (\d\.\d{3})$/.exec(options[1] ?? '');
  expect(best, options[1]).not.toBeNull();
  const bestStep = Number(best![1]);
  expect(bestStep % 2).toBe(0); // measured with the previews, every 2 steps
  expect(bestStep).toBeLessThanOrEqual(STEPS);

  const exported = async (which: 'best' | 'last') => {
    await select.selectOption(which);
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.getByTestId('export-weights').click()]);
    const path = test.info().outputPath(download.suggestedFilename());
    await download.saveAs(path);
    return { name: download.suggestedFilename(), file: decodeSafetensors(new Uint8Array(readFileSync(path))) };
  };
  const b = await exported('best');
  expect(b.name).toMatch(new RegExp(`-F-best-step${bestStep}\\.safetensors$`));
  expect(b.file.metadata.networks).toBe('F');
  expect(Number(b.file.metadata.step)).toBe(bestStep); // no restart in 10 steps: the iteration is the step
  const l = await exported('last');
  expect(l.name).toMatch(new RegExp(`-F-last-step${STEPS}\\.safetensors$`));
  expect(l.file.metadata.step).toBe(String(STEPS));
  expect([...l.file.tensors.keys()].sort()).toEqual([...b.file.tensors.keys()].sort());
  expect([...b.file.tensors.keys()].every((k) => k.startsWith('netEncM.'))).toBe(true);
  // The segmentation's choice says the same.
  await expect(page.getByTestId('segment-which').locator('option')).toHaveText([`last F — step ${STEPS}`, options[1]!]);
});
