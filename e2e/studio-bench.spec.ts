/**
 * Issue 21 in the studio (WebAssembly, `tiny`, a folder with masks), one browser context:
 * 1. Step: a run paused (space) mid-way and stepped to step N (the Step button and the key s) ends with the weights
 *    and the losses of a run that ran to N uninterrupted: weight checksums equal, losses.csv of both exports equal
 *    cell for cell; after every step the step counter, the masks panel, Figure 2 and the checkpoint show that step.
 * 2. Knobs: lr D changed while running and λz while paused: each listed (step, old, new), drawn as a marked line on
 *    every curve, in the export's manifest (knobChanges, config) and kept after a reload and a resume from the
 *    checkpoint; the shape fields are shown locked with the reason.
 * 3. Keyboard: ? opens the overlay listing space, s, e, ?; Esc closes it; s typed in a field does not step; e exports.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import type { RedoConfig } from '../src/redo';
import type { KnobChange } from '../src/formats/history';
import { DATASET_DIR, IMAGE_COUNT } from './fixtures';
import { step, waitStep } from './studioSteps';

test.describe.configure({ mode: 'serial' });

const N = 10;
let context: BrowserContext;
let page: Page;

interface Checksums {
  live: { step: number; checksum: string } | null;
  checkpoint: { step: number; checksum: string } | null;
}

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ acceptDownloads: true });
  page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto(`/?backend=wasm&preset=tiny&batch=4&ckptEvery=0&previewEvery=2&lossEvery=1&steps=${N}&seed=5&testHooks=1`);
});

test.afterAll(async () => {
  await context?.close();
});

const checksums = (): Promise<Checksums> =>
  page.evaluate(() => (window as unknown as { __redoTest: { checksums(): Promise<Checksums> } }).__redoTest.checksums());

/** Exports the open run with the key e; returns the zip's files. */
async function exportWithKey(name: string): Promise<Record<string, Uint8Array>> {
  await page.locator('body').click({ position: { x: 2, y: 2 } }); // focus off any field
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.keyboard.press('e')]);
  const path = test.info().outputPath(name);
  await download.saveAs(path);
  return unzipSync(new Uint8Array(readFileSync(path)));
}

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

test('1 · Step: a run paused and stepped to N equals a run that ran to N (weights, losses)', async () => {
  await expect(page.getByTestId('backend')).toContainText('wasm', { timeout: 60_000 });
  await page.getByTestId('folder-input').setInputFiles(DATASET_DIR);
  await expect(page.getByTestId('ingest-accepted')).toHaveText(String(IMAGE_COUNT), { timeout: 120_000 });

  // A: uninterrupted to N
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-state')).toHaveText('finished', { timeout: 300_000 });
  expect(await step(page)).toBe(N);
  const a = await checksums();
  expect(a.live?.step).toBe(N);
  const filesA = await exportWithKey('straight.zip');

  // B: the same seed, paused with space after its first steps, then stepped to N
  const runA = await page.getByTestId('run-info').textContent();
  await page.getByTestId('start').click();
  await expect(page.getByTestId('run-info')).not.toHaveText(runA ?? '', { timeout: 60_000 });
  await expect(page.getByTestId('run-state')).toHaveText('running', { timeout: 60_000 });
  await expect.poll(() => step(page), { timeout: 120_000, intervals: [100] }).toBeLessThan(N);
  await waitStep(page, 1);
  await page.keyboard.press(' '); // focus is still on "New run": space pauses, it does not start another run
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 60_000 });
  const held = await step(page);
  expect(held).toBeLessThan(N - 2);
  await expect(page.getByTestId('step-once')).toBeEnabled();
  for (let s = held + 1; s <= N; s++) {
    if (s % 2 === 0) await page.getByTestId('step-once').click();
    else await page.keyboard.press('s');
    await expect(page.getByTestId('step')).toHaveText(String(s), { timeout: 120_000 });
    await expect(page.getByTestId('preview-step')).toHaveText(`step ${s}`, { timeout: 60_000 });
    await expect(page.getByTestId('last-checkpoint')).toHaveText(String(s), { timeout: 60_000 });
    await expect(page.getByTestId('loss-count')).toHaveText(`${s} steps recorded`);
    await expect(page.getByTestId('run-state')).toHaveText(s < N ? 'paused' : 'finished');
  }
  await expect(page.getByTestId('figure2')).toBeVisible();
  await expect(page.getByTestId('step-once')).toBeDisabled(); // at N: nothing more to step
  const b = await checksums();
  expect(b.live).toEqual(a.live);
  expect(b.checkpoint).toEqual(a.live);
  const filesB = await exportWithKey('stepped.zip');
  const csvA = text(filesA['losses.csv']).trim().split('\n');
  const csvB = text(filesB['losses.csv']).trim().split('\n');
  expect(csvB).toHaveLength(N + 1);
  expect(csvB).toEqual(csvA);
  console.log(`MEASURED step: paused at ${held}, stepped to ${N}; weights checksum ${b.live?.checksum} = the uninterrupted run's`);
});

test('2 · knobs: changed running and paused, drawn on every curve, exported, kept on resume; shapes locked', async () => {
  await page.getByTestId('opt-steps').fill('200');
  await page.getByTestId('resume').click();
  await expect(page.getByTestId('run-state')).toHaveText('running', { timeout: 60_000 });
  await expect(page.getByTestId('shape-lock')).toContainText("locked: they decide the networks' shapes");
  await page.getByTestId('knob-lrD').fill('0.0002');
  await page.getByTestId('knob-apply').click();
  await expect(page.getByTestId('knob-change')).toHaveCount(1, { timeout: 60_000 });
  const first = page.getByTestId('knob-change').first();
  await expect(first).toHaveAttribute('data-field', 'lrD');
  await expect(first).toHaveAttribute('data-from', '0.0001');
  await expect(first).toHaveAttribute('data-to', '0.0002');
  await expect(page.getByTestId('knob-lrD')).toHaveAttribute('data-current', '0.0002');
  const at1 = Number(await first.getAttribute('data-step'));
  expect(at1).toBeGreaterThanOrEqual(N);
  await waitStep(page, at1 + 3);

  await page.locator('body').click({ position: { x: 2, y: 2 } });
  await page.keyboard.press(' ');
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 60_000 });
  const at2 = await step(page);
  await page.getByTestId('knob-lambdaZ').fill('2.5');
  await page.getByTestId('knob-apply').click();
  await expect(page.getByTestId('knob-change')).toHaveCount(2, { timeout: 60_000 });
  await expect(page.getByTestId('knob-change').nth(1)).toHaveAttribute('data-step', String(at2));
  await expect(page.getByTestId('knob-change').nth(1)).toContainText(`after step ${at2}: λz 5 → 2.5`);
  await page.getByTestId('step-once').click(); // the line at at2 is inside the curves' range now
  await expect(page.getByTestId('step')).toHaveText(String(at2 + 1), { timeout: 120_000 });
  // a marked line per change on every curve, and the changes listed under each
  for (const chart of ['loss-chart', 'metrics-chart', 'dependence-chart'])
    await expect(page.getByTestId(chart)).toHaveAttribute('data-knob-lines', '2', { timeout: 60_000 });
  await expect(page.getByTestId('knob-marks')).toHaveCount(3);
  await expect(page.getByTestId('knob-marks').first()).toContainText(`after step ${at1}: lr D 1e-4 → 2e-4`);

  const files = await exportWithKey('knobs.zip');
  const manifest = JSON.parse(text(files['manifest.json'])) as { config: RedoConfig; knobChanges: KnobChange[] };
  expect(manifest.knobChanges).toEqual([
    { step: at1, field: 'lrD', from: 1e-4, to: 2e-4 },
    { step: at2, field: 'lambdaZ', from: 5, to: 2.5 },
  ]);
  expect(manifest.config.lrD).toBe(2e-4);
  expect(manifest.config.lambdaZ).toBe(2.5);

  // a reload resumes from the checkpoint with the changes and the changed values
  await page.reload();
  await expect(page.getByTestId('resume-offer')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('open-run').click();
  await expect(page.getByTestId('run-state')).toHaveText('paused', { timeout: 120_000 });
  await expect(page.getByTestId('knob-change')).toHaveCount(2, { timeout: 60_000 });
  await expect(page.getByTestId('knob-lrD')).toHaveAttribute('data-current', '0.0002');
  await expect(page.getByTestId('knob-lambdaZ')).toHaveAttribute('data-current', '2.5');
  await expect(page.getByTestId('loss-chart')).toHaveAttribute('data-knob-lines', '2', { timeout: 60_000 });
});

test('3 · keyboard: ? lists the keys, Esc closes; s typed in a field does not step', async () => {
  await page.locator('body').click({ position: { x: 2, y: 2 } });
  await page.keyboard.press('?');
  const overlay = page.getByTestId('help-overlay');
  await expect(overlay).toBeVisible();
  const keys = await page.getByTestId('help-key').allTextContents();
  for (const k of ['space', 's', 'e', '?']) expect(keys.some((t) => t.startsWith(k))).toBe(true);
  await expect(overlay).toContainText('pause / resume');
  await expect(overlay).toContainText('step: one iteration of the paused run');
  await expect(overlay).toContainText('export the run');
  await page.keyboard.press('Escape');
  await expect(overlay).toBeHidden();

  const at = await step(page);
  await page.getByTestId('knob-lrF').focus();
  await page.keyboard.press('s');
  await page.keyboard.press(' ');
  await page.waitForTimeout(1_500);
  expect(await step(page)).toBe(at);
  await expect(page.getByTestId('run-state')).toHaveText('paused');
  await expect(overlay).toBeHidden();
});
