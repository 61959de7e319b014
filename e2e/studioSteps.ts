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
 * Clicks resume on a run held at step `from` and polls the step until it passes `from`: training must go on from
 * that very step (the first new value is from + 1, nothing below `from` is ever shown). Returns every value seen.
 */
export async function resumeAndExpectNextStep(p: Page, from: number, timeout = 240_000): Promise<number[]> {
  await p.getByTestId('resume').click();
  await expect(p.getByTestId('run-state')).toHaveText('running');
  const seen: number[] = [];
  await expect
    .poll(
      async () => {
        const s = await step(p);
        seen.push(s);
        return s;
      },
      { timeout, intervals: [20] }, // 20 ms: a WebAssembly step of tiny takes ~200 ms, so 200 ms polls could miss from + 1
    )
    .toBeGreaterThan(from);
  expect(Math.min(...seen)).toBeGreaterThanOrEqual(from);
  expect(seen.find((s) => s > from)).toBe(from + 1);
  return seen;
}
