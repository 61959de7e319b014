/**
 * Two tabs, one run (Web Locks, src/worker/runLock.ts): tab A trains a run; tab B (same browser profile, so the same
 * IndexedDB) is offered that run, but opening it says it is open in another tab and offers a take-over; B waits,
 * and when A goes away (its tab closed: the browser releases its lock) B opens the run, paused, at its last
 * checkpoint, with that checkpoint's weights, and may train it. CPU backend (the subject is the lock, not the GPU).
 */
import { expect, test, type Page } from '@playwright/test';
import type { TestHooks } from '../src/ui/client';
import { step, waitStep } from './studioSteps';

const QUERY = '/?backend=cpu&preset=tiny&batch=4&ckptEvery=2&previewEvery=0&lossEvery=1&steps=100000&seed=9&testHooks=1';

const checksums = (p: Page) => p.evaluate(() => (window as Window & { __redoTest?: TestHooks }).__redoTest!.checksums());

test('a run open in one tab is refused in a second, which takes it over once the first releases it', async ({ browser }) => {
  const context = await browser.newContext();
  const a = await context.newPage();
  const b = await context.newPage();
  for (const [name, p] of [
    ['A', a],
    ['B', b],
  ] as const)
    p.on('pageerror', (e) => console.log(`[page ${name} error] ${e.message}`));

  await a.goto(QUERY);
  await expect(a.getByTestId('backend')).toContainText('cpu', { timeout: 120_000 });
  await a.getByTestId('demo').click();
  await expect(a.getByTestId('run-state')).toHaveText('running', { timeout: 180_000 });
  await waitStep(a, 3);
  await expect.poll(async () => (await checksums(a)).checkpoint?.step ?? 0, { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  const runA = (await checksums(a)).runId;

  await b.goto(QUERY);
  await expect(b.getByTestId('resume-offer')).toBeVisible({ timeout: 120_000 });
  await expect(b.getByTestId('resume-run')).toBeEnabled({ timeout: 120_000 });
  await b.getByTestId('resume-run').click();
  await expect(b.getByTestId('run-locked')).toContainText('open in another tab', { timeout: 60_000 });
  await expect(b.getByTestId('run-state')).toHaveText('idle');
  await expect(a.getByTestId('run-state')).toHaveText('running'); // A is untouched

  await b.getByTestId('take-over').click();
  await expect(b.getByTestId('run-locked')).toContainText('as soon as that tab lets it go');
  await b.waitForTimeout(2000);
  await expect(b.getByTestId('run-state')).toHaveText('idle'); // still waiting while A holds it
  const stepA = await step(a);
  expect(stepA).toBeGreaterThanOrEqual(3);

  await a.close(); // A's worker goes, its lock with it
  await expect(b.getByTestId('run-state')).toHaveText('paused', { timeout: 180_000 });
  await expect(b.getByTestId('run-locked')).toHaveCount(0);
  const got = await checksums(b);
  expect(got.runId).toBe(runA);
  expect(got.live).toEqual(got.checkpoint);
  expect(got.live!.step).toBe(await step(b));
  expect(got.live!.step).toBeGreaterThanOrEqual(2);
  console.log(`MEASURED two tabs: A reached step ${stepA}; B took over ${runA} at checkpoint step ${got.live!.step}`);
  await b.getByTestId('resume').click();
  await waitStep(b, got.live!.step + 1);
  await context.close();
});
