/**
 * The demo's plan from the measured speed: how many iterations it trains (what fits in DEMO_MINUTES here, never
 * fewer than its starts need) and what the status tells the user to expect. Pure: components/DemoGuide.tsx shows it.
 */
import type { StartsPlan } from '../worker/protocol';

/** The demo trains about this long on the machine it runs on. */
export const DEMO_MINUTES = 15;
/**
 * Iterations after which the objects demo's masks usually start to follow the objects: the reference's good runs
 * pass held-out IoU 0.5 at about 250 iterations (docs/recipe-objects-32.md, s4/run-1 and v5: 0.51 and 0.55 at 250).
 */
export const OBJECTS_FOLLOW_AT = 250;
/** The most a demo trains (the studio's default step count). */
export const DEMO_MAX_STEPS = 20_000;
/** Iterations the kept start trains at least after a best-of-K search. */
const AFTER_SEARCH_MIN = 200;

const round50 = (n: number) => Math.max(50, Math.round(n / 50) * 50);

/**
 * The demo's step count (LoopOptions.maxSteps: the kept start's iterations) at `itPerSec`: a search's starts, then the
 * kept start trains on for what is left of DEMO_MINUTES (at least AFTER_SEARCH_MIN); a plain run, DEMO_MINUTES of it
 * (at least 500).
 */
export function demoSteps(itPerSec: number, starts: StartsPlan): number {
  const budget = Math.max(0, itPerSec) * 60 * DEMO_MINUTES;
  if (starts.count < 2) return Math.min(DEMO_MAX_STEPS, Math.max(500, round50(budget)));
  const searched = starts.count * starts.steps;
  const after = Math.max(AFTER_SEARCH_MIN, budget - searched);
  return Math.min(DEMO_MAX_STEPS, round50(starts.steps + after));
}

/** Iterations of the whole demo: every start, then the kept one from `starts.steps` to `maxSteps`. */
export function demoIterations(maxSteps: number, starts: StartsPlan): number {
  if (starts.count < 2) return maxSteps;
  return starts.count * starts.steps + Math.max(0, maxSteps - starts.steps);
}

/** Minutes, as the status says them: "under a minute", "about 4 minutes", "about 1.5 hours". */
export function aboutMinutes(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'unknown';
  if (seconds < 60) return 'under a minute';
  const m = seconds / 60;
  if (m < 90) return `about ${Math.round(m)} minute${Math.round(m) === 1 ? '' : 's'}`;
  return `about ${(m / 60).toFixed(1)} hours`;
}
