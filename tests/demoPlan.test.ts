/** The demo's plan (src/ui/demoPlan.ts): its step count from the measured speed, and durations in words. */
import { describe, expect, it } from 'vitest';
import { aboutMinutes, DEMO_MAX_STEPS, demoIterations, demoSteps } from '../src/ui/demoPlan';

describe('the demo plan', () => {
  const starts = { count: 3, steps: 300 };
  it('trains the starts, then the kept one for what is left of the budget, within [starts + 200, 20,000]', () => {
    // 0.2 it/s: 15 min = 180 iterations, less than the starts: the kept start still trains 200 more
    expect(demoSteps(0.2, starts)).toBe(500);
    // 2 it/s: 1,800 iterations in 15 min, 900 for the starts, 900 for the kept start after its 300
    expect(demoSteps(2, starts)).toBe(1200);
    expect(demoIterations(1200, starts)).toBe(1800);
    expect(demoSteps(1000, starts)).toBe(DEMO_MAX_STEPS);
    // a plain run (colored-2-MNIST): 15 minutes of it, at least 500
    expect(demoSteps(2, { count: 1, steps: 300 })).toBe(1800);
    expect(demoSteps(0.1, { count: 1, steps: 300 })).toBe(500);
    expect(demoIterations(1800, { count: 1, steps: 300 })).toBe(1800);
  });

  it('says durations in words', () => {
    expect(aboutMinutes(20)).toBe('under a minute');
    expect(aboutMinutes(125)).toBe('about 2 minutes');
    expect(aboutMinutes(60 * 200)).toBe('about 3.3 hours');
  });
});
