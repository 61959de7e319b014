/**
 * src/node/scoreRun.ts: the held-out set is built from the MNIST test digits with the scorer's own seed, and the
 * untrained baseline is the archive's own initialisation (same config and seed), so a run archive of an untrained
 * model scores exactly like its baseline and a trained one differs from it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset, RedoModel, RedoTrainer, disposeLosses, captureTrainingState } from '../src/redo';
import { buildRunArchive } from '../src/formats/runArchive';
import { C2MNIST_EVAL_SEED, c2mnistHeldOut } from '../src/node/c2mnist';
import { scoreRunArchive, SCORE_SEED } from '../src/node/scoreRun';
import type { LossHistory } from '../src/formats/history';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

async function archive(steps: number): Promise<Uint8Array> {
  const config = { ...preset('tiny'), lrF: 1e-2 }; // a large step for F, so 2 steps move its masks visibly
  const model = new RedoModel(config, 7);
  const trainer = new RedoTrainer(model, 7);
  const images = c2mnistHeldOut({ size: 32, regions: 2, count: 8, seed: 5 }).images;
  for (let i = 0; i < steps; i++) disposeLosses(trainer.stepOn(images));
  const state = await captureTrainingState(trainer);
  const history: LossHistory = { step: [], gAdv: [], gRecZ: [], dReal: [], dFake: [] };
  const bytes = await buildRunArchive({ state, history, dataset: { name: 'colored-1-MNIST (2 regions) (8 × 32 px)', count: 8, size: 32 } });
  trainer.dispose();
  model.dispose();
  return bytes;
}

describe('scoreRunArchive', () => {
  it('uses its own held-out seed on the MNIST test digits', () => {
    expect(SCORE_SEED).not.toBe(C2MNIST_EVAL_SEED);
    const a = c2mnistHeldOut({ size: 32, regions: 2, count: 4, seed: SCORE_SEED });
    const b = c2mnistHeldOut({ size: 32, regions: 2, count: 4, seed: C2MNIST_EVAL_SEED });
    expect(a.images.pixels).not.toEqual(b.images.pixels);
    expect(a.truth.length).toBe(4 * 32 * 32 * 2);
    expect(a.regionNames).toEqual(['digit', 'background']);
  });

  it('an untrained archive scores exactly as its baseline; a trained one does not', async () => {
    const fresh = await scoreRunArchive(await archive(0), { count: 16 });
    expect(fresh.step).toBe(0);
    expect(fresh.trained).toEqual(fresh.untrained);
    expect(fresh.untrained.perDataset.iou).toHaveLength(2);
    const trained = await scoreRunArchive(await archive(2), { count: 16 });
    expect(trained.step).toBe(2);
    expect(trained.untrained).toEqual(fresh.untrained);
    expect(trained.trained.perDataset.accuracy).not.toBe(trained.untrained.perDataset.accuracy);
  });
});
