/**
 * One run core, two adapters (CPU backend, IndexedDB faked): the studio's TrainingSession (src/worker/session.ts,
 * losses read every 2 steps) and the headless trainer's loop (src/node/headless.ts, losses read every step) over the
 * same TrainingRun, seed and data record the same history bit for bit, score the same accuracy / IoU at the same
 * step and write archives with the same weights; neither leaks a tensor.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset } from '../src/redo/config';
import { closeStudioDb } from '../src/data/db';
import { readRunArchive } from '../src/formats/runArchive';
import { TrainingSession } from '../src/worker/session';
import { TrainingRun } from '../src/run/trainingRun';
import { objectEvalSet } from '../src/run/evaluate';
import { runSteps } from '../src/node/headless';
import type { FromWorker } from '../src/worker/protocol';
import { blobDataset, until } from './helpers/runs';

const SIZE = 32;
const COUNT = 10;
const SEED = 3;
const STEPS = 4;

describe('one run core under both adapters', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  afterAll(() => closeStudioDb());

  it('the studio session and the headless loop record the same run', async () => {
    const config = preset('tiny');
    const before = tf.memory().numTensors;

    const messages: FromWorker[] = [];
    const ds = blobDataset(COUNT, SIZE, 23);
    const studio = TrainingSession.create({
      runId: 'run-adapters',
      dataset: ds,
      config,
      seed: SEED,
      options: { lossEvery: 2, previewEvery: 2, checkpointEvery: 0, maxSteps: STEPS },
      post: (m) => messages.push(m),
    });
    studio.start();
    await until(() => studio.state === 'finished', 'the studio run to finish');
    const studioZip = await studio.exportArchive();

    const headless = TrainingRun.create({
      config,
      seed: SEED,
      data: { images: ds.images, objectMasks: ds.masks!, info: { name: 'blobs', count: COUNT, size: SIZE } },
      evalSet: objectEvalSet(ds.images, ds.masks!),
    });
    const steps: number[] = [];
    await runSteps(headless, STEPS, { evalEvery: 2, checkpointEvery: 0 }, { onStep: (s) => steps.push(s.step) });
    expect(steps).toEqual([1, 2, 3, 4]); // one reading per step

    // Same steps, same losses bit for bit, the same accuracy / IoU at steps 2 and 4 (NaN elsewhere).
    expect(studio.history).toEqual(headless.history);
    expect(headless.history.iou!.map(Number.isFinite)).toEqual([false, true, false, true]);
    // The studio read its losses in two readbacks of two steps each.
    const chunks = messages.flatMap((m) => (m.type === 'losses' && !m.reset ? [m.chunk.step] : []));
    expect(chunks).toEqual([
      [1, 2],
      [3, 4],
    ]);

    const a = await readRunArchive(studioZip);
    const b = await readRunArchive(await headless.archive('none'));
    expect(a.manifest.step).toBe(STEPS);
    expect(b.manifest.metrics).toEqual(a.manifest.metrics);
    for (const [k, t] of a.state.weights) expect(b.state.weights.get(k)!.data, k).toEqual(t.data);

    studio.dispose();
    headless.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
