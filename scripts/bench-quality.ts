/**
 * Segmentation quality on colored-2-MNIST, reproducible by one command:
 *
 *   npm run bench:quality -- --minutes 60
 *
 * For each variant (n = 3: even digit, odd digit, background — the paper's sanity check; n = 2: one digit on
 * the background, object vs background), trains a fresh model with the headless trainer (src/node/headless.ts,
 * the exact src/redo code) for `--minutes` of wall-clock time, evaluating every `--eval-every` steps on a
 * held-out set generated from the MNIST digits the training set does not use (splitDigits 'test'). Reports:
 * - pixel accuracy and per-region IoU with ONE region-to-class assignment for the whole held-out set
 *   ('per-dataset', stricter) and per image ('per-image', the reference code's choice);
 * - the learning curve (those numbers every K steps) and the number of collapse restarts;
 * - whether every region's per-dataset IoU reached `--target` (default 0.90) at the end.
 * The final numbers are those of the LAST step (no checkpoint picked on the held-out set); the best point of the
 * curve is shown beside them, marked as selected on the held-out set itself.
 *
 * Flags: --minutes M (per variant, default 60)  --variants 3,2 (default both)  --preset NAME (default c2mnist-64)
 *        --size 32|64|128 (default 64)  --batch B  --set k=v[,k=v…] (other config fields, as the trainer's)  --backend cpu|webgpu|auto (default auto: cpu unless a real GPU)
 *        --vulkan auto|swiftshader|system  --eval-every K (default 100)  --eval-count N (default 256)
 *        --count N (training images, default 4000)  --seed S (default 1)  --max-steps N  --target T (default 0.9)
 *        --strict (exit 1 when a variant misses the target)  --out FILE (default bench-results/quality.md; JSON
 *        and each variant's run archive beside it)
 * Ctrl-C ends the current variant early; the report is still written.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as tf from '../src/redo/tf';
import { preset, type RedoConfig } from '../src/redo/config';
import { chooseBackend } from '../src/node/trainCli';
import { C2MNIST_COLLAPSE, c2mnistData } from '../src/node/c2mnist';
import { formatEval, type EvalResult } from '../src/run/evaluate';
import { isScored, TrainingRun, type ScoredPoint } from '../src/run/trainingRun';
import { finalEvaluation, runSteps } from '../src/node/headless';
import { markdownTable } from '../src/node/benchUtil';
import { formatDuration, logLine } from '../src/node/progress';
import { writeFileAtomic } from '../src/node/archiveFile';
import type { VulkanChoice } from '../src/node/backend';
import { parseConfigOverrides } from '../src/node/args';
import { flag, num, switchOn } from '../bench/cliFlags';

const MINUTES = num('minutes', 60);
const VARIANTS = (flag('variants') ?? '3,2').split(',').map((s) => Number(s.trim())) as Array<2 | 3>;
const PRESET = flag('preset') ?? 'c2mnist-64';
const SIZE = num('size', 64) as RedoConfig['imageSize'];
const BATCH = num('batch', 0);
/** Any other config overrides, as the trainer's `--set k=v,…`. */
const SET = parseConfigOverrides(flag('set') ?? '');
const BACKEND = (flag('backend') ?? 'auto') as 'cpu' | 'webgpu' | 'auto';
const VULKAN = (flag('vulkan') ?? 'auto') as VulkanChoice;
const EVAL_EVERY = Math.max(1, num('eval-every', 100));
const EVAL_COUNT = Math.max(1, num('eval-count', 256));
const COUNT = Math.max(1, num('count', 4000));
const SEED = num('seed', 1);
const MAX_STEPS = num('max-steps', Number.MAX_SAFE_INTEGER);
const TARGET = num('target', 0.9);
const STRICT = switchOn('strict');
const OUT = resolve(flag('out') ?? 'bench-results/quality.md');
for (const v of VARIANTS) if (v !== 2 && v !== 3) throw new Error(`--variants: 2 or 3, got ${v}`);

interface VariantReport {
  regions: 2 | 3;
  config: RedoConfig;
  dataset: string;
  trainCount: number;
  evalCount: number;
  steps: number;
  seconds: number;
  /** CPU time of this process during the variant (user + system): on a shared machine, what the run really got. */
  cpuSeconds: number;
  itPerSec: number;
  restarts: number;
  interrupted: boolean;
  final: EvalResult | null;
  best: ScoredPoint | null;
  curve: ScoredPoint[];
  /** Wall and CPU seconds at each curve point. */
  curveTimes: Array<{ wall: number; cpu: number }>;
  regionNames: string[];
  targetMet: boolean;
  archive: string;
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.log('Ctrl-C: ending this variant after the current step (again to quit at once)');
});

async function runVariant(regions: 2 | 3): Promise<VariantReport> {
  const overrides: Partial<RedoConfig> = { ...C2MNIST_COLLAPSE, ...SET, nRegions: regions, imageSize: SIZE };
  if (BATCH) overrides.batchSize = BATCH;
  const config = preset(PRESET, overrides);
  const data = c2mnistData({ size: SIZE, count: COUNT, evalCount: EVAL_COUNT, regions });
  const names = data.eval!.regionNames;
  console.log(
    `\n== n = ${regions}: ${data.name}, ${EVAL_COUNT} held-out images from the test digits; ${PRESET} ${JSON.stringify(overrides)}; ${MINUTES} min`,
  );
  const run = TrainingRun.create({
    config,
    seed: SEED,
    data: { images: data.train, objectMasks: data.trainObject, info: { name: data.name, count: COUNT, size: SIZE } },
    evalSet: data.eval,
  });
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const elapsed = () => (performance.now() - start) / 1000;
  const cpu = () => {
    const u = process.cpuUsage(cpuStart);
    return (u.user + u.system) / 1e6;
  };
  let lastLog = 0;
  const curveTimes: Array<{ wall: number; cpu: number }> = [];
  await runSteps(
    run,
    MAX_STEPS,
    { evalEvery: EVAL_EVERY, checkpointEvery: 0 },
    {
      onStep: ({ step, done, losses, restarted, itPerSec }) => {
        if (restarted) console.log(`collapse at step ${step}: restart ${run.trainer.restarts}`);
        if (performance.now() - lastLog > 30_000) {
          lastLog = performance.now();
          const total = Math.max(done, Math.round(done + (MINUTES * 60 - elapsed()) * itPerSec));
          console.log(logLine({ step, done, total, losses, itPerSec, elapsedS: elapsed(), restarts: run.trainer.restarts }));
        }
      },
      onEval: (p) => {
        if (!isScored(p)) return;
        curveTimes.push({ wall: elapsed(), cpu: cpu() });
        console.log(
          `eval step ${p.step} (wall ${formatDuration(elapsed())}, cpu ${formatDuration(cpu())}): ${formatEval(p.result, names)}`,
        );
      },
      shouldStop: () => interrupted || elapsed() >= MINUTES * 60,
    },
  );
  const seconds = elapsed();
  const cpuSeconds = cpu();
  const closing = await finalEvaluation(run);
  if (closing && isScored(closing)) {
    curveTimes.push({ wall: elapsed(), cpu: cpu() });
    console.log(`eval step ${closing.step} (final): ${formatEval(closing.result, names)}`);
  }
  const final = run.lastEval;
  const scored = run.curve.filter(isScored);
  const best = scored.reduce<ScoredPoint | null>((b, p) => (!b || p.result.perDataset.meanIou > b.result.perDataset.meanIou ? p : b), null);
  const archive = OUT.replace(/\.md$/, '') + `-n${regions}.zip`;
  mkdirSync(dirname(archive), { recursive: true });
  await writeFileAtomic(archive, await run.archive('fresh'));
  const report: VariantReport = {
    regions,
    config,
    dataset: data.name,
    trainCount: COUNT,
    evalCount: EVAL_COUNT,
    steps: run.totalSteps,
    seconds,
    cpuSeconds,
    itPerSec: run.totalSteps / Math.max(seconds, 1e-9),
    restarts: run.trainer.restarts,
    interrupted,
    final,
    best,
    curve: scored,
    curveTimes,
    regionNames: names,
    targetMet: !!final && final.perDataset.iou.every((v) => v >= TARGET),
    archive,
  };
  run.dispose();
  return report;
}

function renderReport(reports: VariantReport[], backend: string, started: Date): string {
  const f3 = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(3));
  const ious = (r: EvalResult | null | undefined, names: string[], mode: 'perDataset' | 'perImage') =>
    r ? r[mode].iou.map((v, i) => `${names[i]} ${f3(v)}`).join(', ') : '—';
  const summary = markdownTable(
    [
      'n',
      'steps',
      'wall time',
      'CPU time',
      'it/s',
      'restarts',
      'acc (one assignment)',
      'IoU per region (one assignment)',
      'acc (per image)',
      'IoU per region (per image)',
      `all ≥ ${TARGET}?`,
      'best mean IoU on the curve (step)',
    ],
    reports.map((r) => [
      r.regions,
      r.steps,
      formatDuration(r.seconds),
      formatDuration(r.cpuSeconds),
      r.itPerSec.toFixed(2),
      r.restarts,
      f3(r.final?.perDataset.accuracy),
      ious(r.final, r.regionNames, 'perDataset'),
      f3(r.final?.perImage.accuracy),
      ious(r.final, r.regionNames, 'perImage'),
      r.targetMet ? 'yes' : 'no',
      r.best ? `${f3(r.best.result.perDataset.meanIou)} (${r.best.step})` : '—',
    ]),
  );
  const curves = reports.map((r) =>
    [
      `### Learning curve, n = ${r.regions} (held-out, one assignment for the whole set)`,
      '',
      markdownTable(
        [
          'step',
          'iteration',
          'restarts',
          'wall',
          'CPU',
          'accuracy',
          ...r.regionNames.map((n) => `IoU ${n}`),
          'mean IoU',
          'mean IoU per image',
        ],
        r.curve.map((p, i) => [
          p.step,
          p.iteration,
          p.restarts,
          formatDuration(r.curveTimes[i]?.wall ?? NaN),
          formatDuration(r.curveTimes[i]?.cpu ?? NaN),
          f3(p.result.perDataset.accuracy),
          ...p.result.perDataset.iou.map(f3),
          f3(p.result.perDataset.meanIou),
          f3(p.result.perImage.meanIou),
        ]),
      ),
    ].join('\n'),
  );
  const c = reports[0]?.config;
  return [
    `# Quality on colored-2-MNIST (${started.toISOString()})`,
    '',
    `Command: \`npm run bench:quality -- ${process.argv.slice(2).join(' ')}\`. Backend: ${backend}, tfjs ${tf.version.tfjs}, Node ${process.version}.`,
    `Preset ${PRESET} at ${SIZE} px${BATCH ? `, batch ${BATCH}` : ''}${c ? ` (batch ${c.batchSize}, nfF ${c.nfF}, nfG ${c.nfG}, nfD ${c.nfD}, nfZ ${c.nfZ}, nz ${c.nz})` : ''}; ${COUNT} training images from the training digits, ${EVAL_COUNT} held-out images from the test digits; seed ${SEED}; ${MINUTES} min per variant${reports.some((r) => r.interrupted) ? ' (interrupted early)' : ''}.`,
    'Scores are of the last step. "One assignment": one region-to-class matching for the whole held-out set (stricter); "per image": each image its own (the reference code). n = 2: object = the digit.',
    '',
    summary,
    '',
    ...curves.flatMap((cv) => [cv, '']),
  ].join('\n');
}

async function main(): Promise<number> {
  const started = new Date();
  const info = await chooseBackend({ backend: BACKEND, vulkan: VULKAN }, (s) => console.log(s));
  const backend = `${info.backend}${info.adapter ? ` (${info.adapter})` : ''}`;
  console.log(`backend: ${backend}`);
  const reports: VariantReport[] = [];
  for (const v of VARIANTS) {
    if (interrupted) break;
    reports.push(await runVariant(v));
  }
  const md = renderReport(reports, backend, started);
  console.log(`\n${md}`);
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, md);
  writeFileSync(
    OUT.replace(/\.md$/, '') + '.json',
    JSON.stringify({ started: started.toISOString(), backend, argv: process.argv.slice(2), reports }, null, 2),
  );
  console.log(`\nwritten to ${OUT} (and .json; run archives ${reports.map((r) => r.archive).join(', ')})`);
  const missed = reports.filter((r) => !r.targetMet);
  if (missed.length) console.log(`target IoU ≥ ${TARGET} on every region NOT met for n = ${missed.map((r) => r.regions).join(', ')}`);
  return STRICT && missed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
