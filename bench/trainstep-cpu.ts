/**
 * ms per trainStep on the CPU backends (TF.js `cpu`, plain JS, and `wasm`, tfjs-backend-wasm with XNNPACK and
 * src/kernels/wasmKernels.ts; one thread under Node), median of repeated steps after warm-up, one preset per argument.
 * `npx tsx bench/trainstep-cpu.ts tiny c2mnist-64 --batch 2 --steps 5 --backends cpu,wasm` — with both backends each
 * row gives both medians and the speed-up of wasm over cpu (models of the same seed, the steps of one backend after
 * the other's).
 * `--profile`: where a step's time goes: every kernel of the backend timed (outermost calls only, so a kernel that
 * runs others counts once), per kernel ms and calls per step, and what is left outside kernels (TF.js's engine:
 * op wrappers, gradient tape, bookkeeping); printed after each backend's row.
 * `--compare-kernels` (cpu only): every timed step runs twice (alternating which goes first), once with
 * tfjs-backend-cpu's own kernels and convolutions as its Conv2D (filter gradient as a forward convolution), once with
 * src/kernels/cpuKernels.ts and im2col convolutions (src/redo/layers.ts cpuConv); the table gives both medians and the ratio.
 */
import * as tf from '../src/redo/tf';
import { preset, RedoModel, RedoTrainer, readLosses, disposeLosses } from '../src/redo';
import { median } from '../src/node/progress';
import { list, num, positionals, switchOn } from './cliFlags';
import { useFastCpuKernels } from '../src/kernels/cpuKernels';
import { DEFAULT_PATCH_LIMIT, setCpuConvPatchLimit } from '../src/redo/layers';

const COMPARE = switchOn('compare-kernels');
const PROFILE = switchOn('profile');
const BACKENDS = COMPARE ? ['cpu'] : list('backends', ['cpu']);
for (const b of BACKENDS) if (b !== 'cpu' && b !== 'wasm') throw new Error(`--backends: cpu, wasm (got ${b})`);

interface Timing {
  times: number[];
  original: number[];
  initMs: number;
}

/** Wraps every kernel registered for `backend` with a timer; returns the totals and a function that unwraps them. */
function kernelTimer(backend: string): { totals: Map<string, { ms: number; calls: number }>; restore: () => void } {
  const totals = new Map<string, { ms: number; calls: number }>();
  const configs = tf.getKernelsForBackend(backend);
  let depth = 0;
  for (const k of configs) {
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        depth++;
        const t0 = performance.now();
        try {
          return k.kernelFunc(args);
        } finally {
          depth--;
          if (depth === 0) {
            const e = totals.get(k.kernelName) ?? { ms: 0, calls: 0 };
            e.ms += performance.now() - t0;
            e.calls++;
            totals.set(k.kernelName, e);
          }
        }
      },
    });
  }
  const restore = () => {
    for (const k of configs) {
      tf.unregisterKernel(k.kernelName, backend);
      tf.registerKernel(k);
    }
  };
  return { totals, restore };
}

type Totals = Map<string, { ms: number; calls: number }>;

function profileTable(backend: string, name: string, totals: Totals, stepMs: number[], top = 30): string {
  const n = stepMs.length;
  const wall = stepMs.reduce((a, b) => a + b, 0) / n;
  const inKernels = [...totals.values()].reduce((a, e) => a + e.ms, 0) / n;
  const calls = [...totals.values()].reduce((a, e) => a + e.calls, 0) / n;
  const lines = [
    `\n${name} on ${backend}: ${wall.toFixed(0)} ms per step (mean of ${n}), ${calls.toFixed(0)} kernels per step ` +
      `taking ${inKernels.toFixed(0)} ms (${((100 * inKernels) / wall).toFixed(0)} %); ` +
      `outside kernels (engine, op wrappers, gradient tape) ${(wall - inKernels).toFixed(0)} ms`,
    '',
    '| kernel | ms per step | calls per step | share of step |',
    '|---|---|---|---|',
  ];
  for (const [k, e] of [...totals].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
    lines.push(`| ${k} | ${(e.ms / n).toFixed(1)} | ${(e.calls / n).toFixed(0)} | ${((100 * e.ms) / n / wall).toFixed(1)} % |`);
  }
  return lines.join('\n');
}

async function timeOn(backend: string, name: string, batch: number, steps: number): Promise<Timing> {
  await tf.setBackend(backend);
  const config = preset(name, { batchSize: batch });
  const t0 = performance.now();
  const model = new RedoModel(config, 1);
  const initMs = performance.now() - t0;
  const trainer = new RedoTrainer(model, 1);
  const s = config.imageSize;
  const x = tf.randomUniform<tf.Rank.R4>([batch, s, s, 3], -1, 1, 'float32', 1);
  const xr = tf.randomUniform<tf.Rank.R4>([batch, s, s, 3], -1, 1, 'float32', 2);
  const oneStep = async (): Promise<number> => {
    const t = performance.now();
    const l = trainer.step(x, xr);
    await readLosses(l); // both backends are synchronous; reading here only closes the timing
    disposeLosses(l);
    return performance.now() - t;
  };
  const times: number[] = [];
  const original: number[] = [];
  await oneStep(); // warm-up (wasm: XNNPACK operators)
  const timer = PROFILE ? kernelTimer(backend) : null;
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
  if (timer) {
    timer.restore();
    console.log(profileTable(backend, name, timer.totals, times));
  }
  trainer.dispose();
  model.dispose();
  x.dispose();
  xr.dispose();
  return { times, original, initMs };
}

async function main(): Promise<void> {
  const names = positionals(['steps', 'batch', 'backends']);
  const steps = num('steps', 10);
  const rows: string[] = [];
  for (const name of names) {
    const batch = num('batch', 0) || preset(name).batchSize;
    const cells: string[] = [];
    const medians: number[] = [];
    for (const backend of BACKENDS) {
      const t = await timeOn(backend, name, batch, steps);
      medians.push(median(t.times));
      const range = `${Math.min(...t.times).toFixed(0)}–${Math.max(...t.times).toFixed(0)}`;
      cells.push(`${median(t.times).toFixed(0)} | ${range} | ${(t.initMs / 1000).toFixed(1)}`);
      if (COMPARE) cells.push(`${median(t.original).toFixed(0)} | ${(median(t.original) / median(t.times)).toFixed(2)}`);
    }
    const speedUp = BACKENDS.length === 2 ? ` ${(medians[0]! / medians[1]!).toFixed(1)}× |` : '';
    rows.push(`| ${name} | ${batch} | ${cells.join(' | ')} |${speedUp}`);
    console.log(rows[rows.length - 1]); // each row as soon as it is measured (paper-128 takes minutes per step on cpu)
  }
  const both = COMPARE ? ', each on both kernel sets' : '';
  console.log(`\ntfjs ${tf.version.tfjs}, ${steps} timed steps after 1 warm-up${both}; backends ${BACKENDS.join(', ')}\n`);
  const compared = COMPARE ? ['median ms/step, tfjs kernels + direct conv', 'speed-up'] : [];
  const perBackend = (b: string) => [`${b} median ms/step`, `${b} min–max`, `${b} init s`, ...compared];
  const ratioColumn = BACKENDS.length === 2 ? [`${BACKENDS[0]} ÷ ${BACKENDS[1]}`] : [];
  const headers = ['preset', 'batch', ...BACKENDS.flatMap(perBackend), ...ratioColumn];
  console.log(`| ${headers.join(' | ')} |\n|${headers.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(r);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
