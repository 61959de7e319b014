/**
 * The proof kept in the repository (issue 12): the committed objects-32 checkpoint (F alone, trained by
 * `npm run train` with the objects-32 preset; docs/recipe-objects-32.md) segments held-out generated objects on
 * photos — emoji it never saw, on crops of the photos — scored exactly as the authors' ref_train.py scores, and the
 * untrained model of the same seed scores far below.
 */
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset } from '../src/redo';
import { loadModelFile, scoreFolder } from '../src/node/segmentFolder';
import { generateSplits, loadObjectSources, writeImageSet } from '../src/node/objectSources';
import { CHECKPOINT_FILE, CHECKPOINT_MIN_IOU } from './helpers/objectsCheckpoint';
import { LEGACY_CONFIG_DEFAULTS } from '../src/redo/config';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

describe('the objects-32 checkpoint', () => {
  it('is F alone, ≤ 2 MiB, with the objects-32 configuration in its metadata', async () => {
    expect((await stat(CHECKPOINT_FILE)).size).toBeLessThanOrEqual(2 * 2 ** 20);
    const m = await loadModelFile(CHECKPOINT_FILE);
    // the file predates the blob watch: its config reads with the watch off (LEGACY_CONFIG_DEFAULTS), the rest is the preset
    const { blobPairIoU, blobSpread, blobFrom, blobLastIteration } = LEGACY_CONFIG_DEFAULTS;
    expect(m.config).toEqual({ ...preset('objects-32'), blobPairIoU, blobSpread, blobFrom, blobLastIteration });
    expect([...m.weights.keys()].every((k) => k.startsWith('netEncM.'))).toBe(true);
    expect(m.step).toBeGreaterThan(0);
    expect(m.seed).toBeDefined();
  });

  it(`segments 200 held-out images at IoU ≥ ${CHECKPOINT_MIN_IOU}; an untrained F of its seed scores far below`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redo-objects-ckpt-'));
    const { test } = generateSplits(await loadObjectSources(), { size: 32, train: 1, test: 200, seed: 11 });
    await writeImageSet(join(dir, 'test'), test, 32);
    const before = tf.memory().numTensors;
    const s = await scoreFolder(await loadModelFile(CHECKPOINT_FILE), join(dir, 'test'));
    expect(tf.memory().numTensors).toBe(before);
    expect(s.count).toBe(200);
    console.log(
      `checkpoint: IoU ${s.trained.iou.toFixed(3)} acc ${s.trained.accuracy.toFixed(3)}; untrained IoU ${s.untrained?.iou.toFixed(3)}`,
    );
    expect(s.trained.iou).toBeGreaterThanOrEqual(CHECKPOINT_MIN_IOU);
    expect(s.untrained).toBeDefined();
    expect(s.untrained!.iou).toBeLessThan(s.trained.iou - 0.1);
  });
});
