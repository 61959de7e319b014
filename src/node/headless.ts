/**
 * The headless trainer's loop (Node) over the run core (src/run/trainingRun.ts): N steps of a TrainingRun with the
 * losses read every step (lossEvery 1: each log line and collapse message names its own step; on the CPU backend a
 * readback costs nothing, on WebGPU it keeps the host at most one step ahead of the device), an evaluation every
 * `evalEvery` steps of the whole run, and a callback when a checkpoint is due. Files, the progress bar and signals
 * are the caller's (src/node/trainCli.ts, scripts/bench-quality.ts). A non-finite reading ends the run with
 * NonFiniteError (the run core's guard, src/redo/finite.ts); the archive writer refuses non-finite weights as well.
 */
import type { LossValues } from '../redo';
import { RateMeter } from '../run/rate';
import type { CurvePoint, TrainingRun } from '../run/trainingRun';

export interface RunCallbacks {
  /** After every step, with that step's losses. */
  onStep?: (a: { step: number; done: number; losses: LossValues; restarted: boolean; itPerSec: number }) => void;
  onEval?: (p: CurvePoint) => void;
  /** Every `checkpointEvery` steps (the caller writes the archive). */
  onCheckpoint?: () => Promise<void>;
  /** Checked after every step; true ends the run after that step. */
  shouldStop?: () => boolean;
}

/**
 * Runs up to `steps` iterations (fewer when `shouldStop` says so). Evaluates every `evalEvery` steps of the whole
 * run (0 = never), calls onCheckpoint every `checkpointEvery` (0 = never). Returns the steps done.
 */
export async function runSteps(
  run: TrainingRun,
  steps: number,
  opts: { evalEvery: number; checkpointEvery: number },
  cb: RunCallbacks = {},
): Promise<number> {
  const schedule = { lossEvery: 1, previewEvery: 0, evalEvery: opts.evalEvery, checkpointEvery: opts.checkpointEvery };
  const rate = new RateMeter(20);
  rate.tick(performance.now());
  let done = 0;
  while (done < steps) {
    const r = await run.step(schedule);
    done += 1;
    rate.tick(performance.now());
    for (const x of r.readings) cb.onStep?.({ step: x.step, done, losses: x.losses, restarted: x.restarted, itPerSec: rate.rate() });
    if (r.evaluation) cb.onEval?.(r.evaluation);
    if (r.checkpointDue) await cb.onCheckpoint?.();
    // Let signal handlers and timers run between steps (the CPU backend never yields by itself).
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (cb.shouldStop?.()) break;
  }
  return done;
}

/** The closing evaluation of a run (shared with the studio's best-of-K starts): see src/run/trainingRun.ts. */
export { finalEvaluation } from '../run/trainingRun';
