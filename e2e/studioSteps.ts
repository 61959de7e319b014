/** Reading and waiting on the studio's step counter, shared by the e2e specs that pause, resume and continue runs. */
import { expect, type Page } from '@playwright/test';

/** The step the studio shows (data-testid="step"). */
export async function step(p: Page): Promise<number> {
  return Number((await p.getByTestId('step').textContent()) ?? 'NaN');
}

/** Waits until the step reaches `atLeast`; returns the step then shown. */
export async function waitStep(p: Page, atLeast: number, timeout = 240_000): Promise<number> {
  await expect.poll(() => step(p), { timeout, intervals: [250] }).toBeGreaterThanOrEqual(atLeast);
  return step(p);
}

/**
 * Clicks resume on a run held at step `from` and waits until the step passes `from`: training must go on from that
 * very step (the first new value is from + 1, nothing below `from` is ever shown). Every value the page renders is
 * recorded by a MutationObserver installed before the click (polling could miss one: steps of a small model take
 * less than a Playwright round trip on a fast machine); the worker reports the first step after a resume at once.
 * Returns every value seen.
 */
export async function resumeAndExpectNextStep(p: Page, from: number, timeout = 240_000): Promise<number[]> {
  await p.evaluate(() => {
    const w = window as Window & { __stepsSeen?: number[] };
    const seen: number[] = [];
    w.__stepsSeen = seen;
    const read = () => {
      const v = Number(document.querySelector('[data-testid="step"]')?.textContent ?? 'NaN');
      if (Number.isFinite(v) && seen[seen.length - 1] !== v) seen.push(v);
    };
    read();
    new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await p.getByTestId('resume').click();
  await expect(p.getByTestId('run-state')).toHaveText('running');
  const seen = () => p.evaluate(() => (window as Window & { __stepsSeen?: number[] }).__stepsSeen ?? []);
  await expect.poll(async () => Math.max(...(await seen())), { timeout }).toBeGreaterThan(from);
  const values = await seen();
  expect(Math.min(...values)).toBeGreaterThanOrEqual(from);
  expect(values.find((s) => s > from)).toBe(from + 1);
  return values;
}
