/**
 * ms per trainStep on the TF.js CPU backend, median of repeated steps after warm-up, one preset per argument.
 * `npx tsx bench/trainstep-cpu.ts tiny paper-128 --batch 2 --steps 5`
 * `--compare-kernels`: every timed step runs twice (alternating which goes first), once with tfjs-backend-cpu's own
 * kernels and convolutions as its Conv2D (filter gradient as a forward convolution), once with src/redo/cpuKernels.ts
 * and im2col convolutions (src/redo/layers.ts cpuConv); the table gives both medians and the ratio.
 */
import * as tf from '../src/redo/tf';
import { preset, RedoModel, RedoTrainer, readLosses, disposeLosses } from '../src/redo';
import { median } from '../src/node/progress';
import { num, positionals, switchOn } from './cliFlags';
import { useFastCpuKernels } from '../src/redo/cpuKernels';
import { DEFAULT_PATCH_LIMIT, setCpuConvPatchLimit } from '../src/redo/layers';

const COMPARE = switchOn('compare-kernels');


async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const names = positionals(['steps', 'batch']);
  const steps = num('steps', 10);
  const rows: string[] = [];
  for (const name of names) {
    const batch = num('batch', 0) || preset(name).batchSize;
    const config = preset(name, { batchSize: batch });
    const t0 = performance.now();
    const model = new RedoModel(config, 1);
    const initMs = performance.now() - t0;
    const trainer = new RedoTrainer(model, 1);
    const s = config.imageSize;
    const x = tf.randomUniform([batch, s, s, 3], -1, 1) as tf.Tensor4D;
    const xr = tf.randomUniform([batch, s, s, 3], -1, 1) as tf.Tensor4D;
    const oneStep = async (): Promise<number> => {
      const t = performance.now();
      const l = trainer.step(x, xr);
      await readLosses(l); // the CPU backend is synchronous; reading here only closes the timing
      disposeLosses(l);
      return performance.now() - t;
    };
    const times: number[] = [];
    const original: number[] = [];
    await oneStep(); // warm-up
    for (let i = 0; i < steps; i++) {
      if (!COMPARE) {
        times.push(await oneStep());
        continue;
      }
      for (const fast of i % 2 ? [true, false] : [false, true]) {
        useFastCpuKernels(fast);
        setCpuConvPatchLimit(fast ? DEFAULT_PATCH_LIMIT : 0);
        (fast ? times : original).push(await oneStep());
      }
      useFastCpuKernels(true);
      setCpuConvPatchLimit(DEFAULT_PATCH_LIMIT);
    }
    const row = `| ${name} | ${batch} | ${median(times).toFixed(0)} | ${Math.min(...times).toFixed(0)} | ${Math.max(...times).toFixed(0)} | ${(initMs / 1000).toFixed(1)} |`;
    rows.push(COMPARE ? `${row} ${median(original).toFixed(0)} | ${(median(original) / median(times)).toFixed(2)} |` : row);
    console.log(rows[rows.length - 1]); // each row as soon as it is measured (paper-128 takes minutes per step)
    trainer.dispose();
    model.dispose();
    x.dispose();
    xr.dispose();
  }
  console.log(`\nCPU backend (tfjs ${tf.version.tfjs}), ${steps} timed steps after 1 warm-up${COMPARE ? ', each on both kernel sets' : ''}\n`);
  console.log(
    COMPARE
      ? '| preset | batch | median ms/step | min | max | init s | median ms/step, tfjs kernels + direct conv | speed-up |\n|---|---|---|---|---|---|---|---|'
      : '| preset | batch | median ms/step | min | max | init s |\n|---|---|---|---|---|---|',
  );
  for (const r of rows) console.log(r);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
