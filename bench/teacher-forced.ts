/**
 * Does a preset's objective prefer the true masks once F gives them? Trains G, D and δ on colored-MNIST (one digit
 * on the background, n = 2) with F replaced by the true masks, from scratch, and every `--every` steps prints the
 * run's probe (src/node/probeRun.ts: mean D(x̂_k) and δ's error on z_k for F's untrained masks, the truth, 1/n masks
 * and a collapse). If the truth never beats the collapse here, no schedule for F can make this preset segment.
 *
 *   npx tsx bench/teacher-forced.ts [--preset tiny] [--set nz=3,nfG=16] [--steps 2000] [--every 250] [--seed 1]
 *
 * The true masks of a training batch are read off its pixels: a colored-MNIST image is two flat colours, and its
 * corner pixel is background (checked against the generator's own masks at start-up, and printed).
 */
import * as tf from '../src/redo/tf';
import { RedoModel, RedoTrainer, imageSlice, preset, disposeLosses, readLosses } from '../src/redo';
import { parseConfigOverrides } from '../src/node/args';
import { c2mnistData, C2MNIST_COLLAPSE } from '../src/node/c2mnist';
import { formatRunProbe, probeModel } from '../src/node/probeRun';
import { flag, num } from './cliFlags';

/** Object = any channel differs from the image's corner (background) colour by more than 0.05 (of [-1, 1]). */
function colourMasks(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const corner = x.slice([0, 0, 0, 0], [-1, 1, 1, 3]);
    const obj = tf.greater(tf.max(tf.abs(tf.sub(x, corner)), 3, true), 0.05).toFloat();
    return tf.concat([obj, tf.sub(1, obj)], 3) as tf.Tensor4D;
  });
}

async function main(): Promise<void> {
  await tf.setBackend('wasm'); // XNNPACK: the fast CPU path
  const config = preset(flag('preset') ?? 'tiny', { ...C2MNIST_COLLAPSE, ...parseConfigOverrides(flag('set') ?? ''), nRegions: 2 });
  const steps = num('steps', 2000);
  const every = num('every', 250);
  const seed = num('seed', 1);
  const data = c2mnistData({ size: config.imageSize, count: 4000, evalCount: 0, regions: 2 });
  const s = config.imageSize;
  const agree = tf.tidy(() => {
    const x = tf.tensor4d(imageSlice(data.train, 0, data.train.count), [data.train.count, s, s, 3]);
    const m = colourMasks(x).slice([0, 0, 0, 0], [-1, s, s, 1]).reshape([data.train.count, s, s]);
    return tf.mean(tf.equal(m, tf.tensor3d(data.trainObject, [data.train.count, s, s])).toFloat());
  });
  console.log(`colour masks agree with the generator's masks on ${((await agree.data())[0]! * 100).toFixed(3)} % of training pixels`);
  agree.dispose();
  console.log(`config ${JSON.stringify(config)}, seed ${seed}`);

  const model = new RedoModel(config, seed);
  const trainer = new RedoTrainer(model, seed);
  const ownMasks = model.masks.bind(model);
  model.masks = colourMasks; // what G, D and δ train on
  trainer.optimizer('F').apply = () => {}; // F gets no gradient: it is not in the graph
  const sums = [0, 0, 0, 0];
  const t0 = Date.now();
  for (let i = 1; i <= steps; i++) {
    const l = trainer.stepOn(data.train);
    const v = await readLosses(l);
    disposeLosses(l);
    [v.gAdv, v.gRecZ, v.dReal, v.dFake].forEach((x, k) => (sums[k]! += x));
    if (i % every === 0 || i === steps) {
      const n = i % every === 0 ? every : i % every;
      const [gAdv, gRecZ, dReal, dFake] = sums.map((x) => (x / n).toFixed(3));
      console.log(
        `step ${i} (${((Date.now() - t0) / 1000).toFixed(0)} s): mean of the last ${n} steps gAdv ${gAdv} gRecZ ${gRecZ} dReal ${dReal} dFake ${dFake}`,
      );
      sums.fill(0);
      model.masks = ownMasks; // the probe's "F" row is the (untrained) F itself
      console.log(formatRunProbe({ step: i, ...(await probeModel(model, { count: 64 })) }));
      model.masks = colourMasks;
    }
  }
  trainer.dispose();
  model.dispose();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
