/**
 * Scores a run archive's mask network on colored-2-MNIST images no step of its training saw — generated from the
 * MNIST TEST digits with a seed of the caller's (by default neither the training set's nor the trainer's own
 * held-out set's), so picking a checkpoint by its training-time evaluation cannot have tuned it to them — next to
 * an untrained model of the same configuration and seed: what a committed checkpoint's unit test, or a person
 * deciding whether a run segments, needs (`npm run redo -- score run.zip`).
 */
import { RedoModel, restoreTrainer, type RedoConfig, type TrainingState } from '../redo';
import { readRunArchive, type RunManifest } from '../formats/runArchive';
import { C2MNIST_EVAL_SEED, c2mnistHeldOut } from './c2mnist';
import { evaluate, formatEval, type EvalResult, type EvalSet } from '../run/evaluate';

/** This scorer's own held-out seed (the trainer evaluates on C2MNIST_EVAL_SEED, training uses C2MNIST_TRAIN_SEED). */
export const SCORE_SEED = 0x1dea;

export interface RunScore {
  manifest: RunManifest;
  step: number;
  count: number;
  seed: number;
  regionNames: string[];
  trained: EvalResult;
  untrained: EvalResult;
}

/** Held-out colored-MNIST images (MNIST test digits) of a model's size and region count, which must be 2 or 3. */
export function heldOutFor(config: RedoConfig, count: number, seed: number): EvalSet {
  const n = config.nRegions;
  if (n !== 2 && n !== 3) throw new Error(`colored-MNIST has 2 or 3 regions; this model has ${n}`);
  return c2mnistHeldOut({ size: config.imageSize, regions: n, count, seed });
}

/** Runs `use` on the archive's model, restored; disposes it (and its trainer) afterwards. */
export async function withArchivedModel<T>(
  bytes: Uint8Array,
  use: (model: RedoModel, state: TrainingState, manifest: RunManifest) => Promise<T>,
): Promise<T> {
  const { manifest, state } = await readRunArchive(bytes);
  const { model, trainer } = restoreTrainer(state);
  try {
    return await use(model, state, manifest);
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** Scores the archive's model (n = 2 or 3 regions, as trained) on `count` held-out images. */
export async function scoreRunArchive(bytes: Uint8Array, opts: { count?: number; seed?: number } = {}): Promise<RunScore> {
  const count = opts.count ?? 256;
  const seed = opts.seed ?? SCORE_SEED;
  return withArchivedModel(bytes, async (model, state, manifest) => {
    const set = heldOutFor(state.config, count, seed);
    const untrained = new RedoModel(state.config, state.seed);
    try {
      return {
        manifest,
        step: state.iteration,
        count,
        seed,
        regionNames: set.regionNames,
        trained: await evaluate((x) => model.masks(x), set, state.config.nRegions),
        untrained: await evaluate((x) => untrained.masks(x), set, state.config.nRegions),
      };
    } finally {
      untrained.dispose();
    }
  });
}

export function formatRunScore(s: RunScore): string {
  const same = s.seed === C2MNIST_EVAL_SEED ? " (the trainer's own held-out seed!)" : '';
  return [
    `run at step ${s.step} (${s.manifest.dataset.name}), ${s.count} held-out images, seed ${s.seed}${same}`,
    `  trained:   ${formatEval(s.trained, s.regionNames)}`,
    `  untrained: ${formatEval(s.untrained, s.regionNames)}`,
  ].join('\n');
}
