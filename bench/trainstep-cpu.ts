/**
 * ms per trainStep on the TF.js CPU backend, median of repeated steps after warm-up, one preset per argument.
 * `npx tsx bench/trainstep-cpu.ts tiny paper-128 --batch 2 --steps 5`
 */
import * as tf from '../src/redo/tf';
import { preset, RedoModel, RedoTrainer, readLosses, disposeLosses } from '../src/redo';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const names = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  const steps = flag('steps', 10);
  const rows: string[] = [];
  for (const name of names) {
    const batch = flag('batch', 0) || preset(name).batchSize;
    const config = preset(name, { batchSize: batch });
    const t0 = performance.now();
    const model = new RedoModel(config, 1);
    const initMs = performance.now() - t0;
    const trainer = new RedoTrainer(model, 1);
    const s = config.imageSize;
    const x = tf.randomUniform([batch, s, s, 3], -1, 1) as tf.Tensor4D;
    const xr = tf.randomUniform([batch, s, s, 3], -1, 1) as tf.Tensor4D;
    const times: number[] = [];
    for (let i = 0; i < steps + 1; i++) {
      const t = performance.now();
      const l = trainer.step(x, xr);
      await readLosses(l); // the CPU backend is synchronous; reading here only closes the timing
      disposeLosses(l);
      if (i > 0) times.push(performance.now() - t); // first step is warm-up
    }
    rows.push(`| ${name} | ${batch} | ${median(times).toFixed(0)} | ${Math.min(...times).toFixed(0)} | ${Math.max(...times).toFixed(0)} | ${(initMs / 1000).toFixed(1)} |`);
    console.log(rows[rows.length - 1]); // each row as soon as it is measured (paper-128 takes minutes per step)
    trainer.dispose();
    model.dispose();
    x.dispose();
    xr.dispose();
  }
  console.log(`\nCPU backend (tfjs ${tf.version.tfjs}), ${steps} timed steps after 1 warm-up\n`);
  console.log('| preset | batch | median ms/step | min | max | init s |\n|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
