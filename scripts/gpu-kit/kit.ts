/**
 * The GPU kit's helper (bundled as gpu-kit/js/kit.mjs; run.sh calls it):
 *
 *   kit.mjs probe [--vulkan system|auto|swiftshader]   the WebGPU adapter Dawn finds, as JSON (exit 1 when none)
 *   kit.mjs ref-args PRESET [--batch B]                the authors' ref_step_time.py flags for a preset
 *   kit.mjs check-resume BEFORE.zip AFTER.zip K [RESUMED.zip]   a run that went through PyTorch for K iterations and
 *                                                      came back: step counters, Adam steps, configuration (and the step
 *                                                      the trainer reached resuming AFTER.zip), as JSON
 *   kit.mjs report WORK_DIR OUT_DIR                    summary.json + summary.md from everything run.sh left in WORK_DIR
 *
 * The report reads: steps.tsv (run.sh: step, status, seconds, budget, exit code), env.txt (key=value: the
 * machine, the Vulkan loader and driver run.sh chose), probe.json, bench/speed.json (scripts/bench-speed.ts),
 * torch/PRESET.json (ref_step_time.py's JSON line), quality/run.zip + quality/train.log + quality/curve.jsonl
 * (the trainer's --curve: held-out IoU every K steps) + quality/score.json (`redo score --json`), resume/check.json.
 * A missing or broken input is reported as such; it never stops the report.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { refArgs } from '../../bench/pytorchRef';
import { preset, type RedoConfig } from '../../src/redo/config';
import { iterationFlops } from '../../src/redo/flops';
import { readRunArchive } from '../../src/formats/runArchive';
import { readZip } from '../../src/formats/zip';
import { setupBackend, type VulkanChoice } from '../../src/node/backend';
import { markdownTable } from '../../src/node/benchUtil';
import { parseFlags } from '../../src/node/cli';
import type { SpeedRow } from '../bench-speed';

function readJson<T>(path: string): T | { error: string } {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    return { error: existsSync(path) ? `${path}: ${e instanceof Error ? e.message : String(e)}` : `${path} was not written` };
  }
}

const isError = (v: unknown): v is { error: string } =>
  typeof v === 'object' && v !== null && 'error' in v && typeof (v).error === 'string';

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** key=value lines (run.sh's env.txt). */
function readEnv(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readText(path).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

interface StepStatus {
  step: string;
  status: string;
  seconds: number;
  budget: number;
  exit: number;
}

function readSteps(path: string): StepStatus[] {
  return readText(path)
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [step = '', status = '', seconds = '0', budget = '0', exit = '0'] = l.split('\t');
      return { step, status, seconds: Number(seconds), budget: Number(budget), exit: Number(exit) };
    });
}

/** What bench-speed.ts writes (the fields the kit uses). */
interface BenchJson {
  adapters?: Record<string, string>;
  rows: SpeedRow[];
}

interface TorchJson {
  version?: string;
  device?: string;
  batch?: number;
  medianMs?: number;
  minMs?: number;
  maxMs?: number;
}

export interface SpeedSummary {
  preset: string;
  px: number;
  batch: number;
  gflopPerIter: number;
  webgpu: {
    medianMs?: number;
    minMs?: number;
    maxMs?: number;
    timedSteps: number;
    itPerSec?: number;
    tflops?: number;
    kernels?: number;
    dispatches?: number | null;
    submits?: number | null;
    initMs?: number;
    firstStepMs?: number;
    error?: string;
  };
  pytorch: { medianMs?: number; minMs?: number; maxMs?: number; tflops?: number; version?: string; device?: string; error?: string };
  /** webgpu median ÷ PyTorch median (2.0 = webgpu takes twice as long) */
  ratio?: number;
}

function speedSummary(work: string, presets: string[]): SpeedSummary[] {
  const bench = readJson<BenchJson>(join(work, 'bench', 'speed.json'));
  return presets.map((p) => {
    const c = preset(p);
    const row = isError(bench) ? undefined : bench.rows.find((r) => r.preset === p && r.backend === 'webgpu');
    const flops = iterationFlops(c, row?.batch || c.batchSize);
    const webgpu: SpeedSummary['webgpu'] = row
      ? {
          ...(row.medianMs !== undefined
            ? { medianMs: row.medianMs, minMs: row.minMs, maxMs: row.maxMs, itPerSec: 1000 / row.medianMs, tflops: row.tflops }
            : {}),
          timedSteps: row.timedSteps,
          ...(row.counts ? { kernels: row.counts.kernels, dispatches: row.counts.dispatches, submits: row.counts.submits } : {}),
          ...(row.initMs !== undefined ? { initMs: row.initMs } : {}),
          ...(row.firstStepMs !== undefined ? { firstStepMs: row.firstStepMs } : {}),
          ...(row.error ? { error: row.error } : {}),
        }
      : { timedSteps: 0, error: isError(bench) ? bench.error : 'not measured (the bench step ended before this preset)' };
    const t = readJson<TorchJson>(join(work, 'torch', `${p}.json`));
    const pytorch: SpeedSummary['pytorch'] = isError(t)
      ? { error: t.error }
      : {
          medianMs: t.medianMs,
          minMs: t.minMs,
          maxMs: t.maxMs,
          version: t.version,
          device: t.device,
          ...(t.medianMs ? { tflops: flops / (t.medianMs / 1000) / 1e12 } : {}),
        };
    return {
      preset: p,
      px: c.imageSize,
      batch: row?.batch || c.batchSize,
      gflopPerIter: flops / 1e9,
      webgpu,
      pytorch,
      ...(webgpu.medianMs && pytorch.medianMs ? { ratio: webgpu.medianMs / pytorch.medianMs } : {}),
    };
  });
}

interface QualitySummary {
  flags: string;
  seconds?: number;
  steps?: number;
  itPerSec?: number;
  restarts?: number;
  config?: RedoConfig;
  lastTrainerEval?: string;
  /** The trainer's held-out evaluations (--curve, ref_train.py's fields): step, wall seconds, IoU, accuracy. */
  curve?: Array<{ it: number; wall: number; iou: number; acc: number }>;
  heldOut?: unknown;
  error?: string;
}

function qualitySummary(work: string, env: Record<string, string>): QualitySummary {
  const q: QualitySummary = { flags: env.quality_flags ?? '' };
  const log = readText(join(work, 'quality', 'train.log'));
  const done = /(?:done|stopped): (\d+) steps in (\S+) \(([\d.]+) it\/s\)/.exec(log);
  if (done) {
    q.steps = Number(done[1]);
    q.itPerSec = Number(done[3]);
  }
  if (env.quality_seconds) q.seconds = Number(env.quality_seconds);
  const evals = log.split('\n').filter((l) => l.startsWith('eval step'));
  if (evals.length) q.lastTrainerEval = evals[evals.length - 1];
  const curve = readText(join(work, 'quality', 'curve.jsonl'))
    .split('\n')
    .flatMap((l) => {
      try {
        const { it, wall, iou, acc } = JSON.parse(l) as { it: number; wall: number; iou: number; acc: number };
        return [{ it, wall, iou, acc }];
      } catch {
        return []; // a line cut short when the run was stopped
      }
    });
  if (curve.length) q.curve = curve;
  const zip = join(work, 'quality', 'run.zip');
  if (existsSync(zip)) {
    try {
      const manifest = readZip(new Uint8Array(readFileSync(zip))).find((e) => e.name === 'manifest.json');
      const m = JSON.parse(new TextDecoder().decode(manifest!.data)) as { step: number; restarts: number; config: RedoConfig };
      q.steps ??= m.step;
      q.restarts = m.restarts;
      q.config = m.config;
    } catch (e) {
      q.error = `quality/run.zip: ${e instanceof Error ? e.message : String(e)}`;
    }
  } else q.error = 'the quality run wrote no archive';
  const score = readJson<unknown>(join(work, 'quality', 'score.json'));
  q.heldOut = score;
  return q;
}

const f = (v: number | undefined | null, d = 0) => (v === undefined || v === null || !Number.isFinite(v) ? '—' : v.toFixed(d));
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 160);

function markdown(s: ReturnType<typeof buildSummary>): string {
  const speed = markdownTable(
    [
      ...['preset', 'px', 'batch', 'GFLOP/iter', 'webgpu ms/iter (median)', 'min–max', 'it/s', 'effective TFLOP/s'],
      ...['kernels / dispatches per step', 'PyTorch ms/iter', 'PyTorch TFLOP/s', 'webgpu ÷ PyTorch (time)'],
    ],
    s.speed.map((r) => [
      r.preset,
      r.px,
      r.batch,
      f(r.gflopPerIter, 1),
      r.webgpu.medianMs !== undefined ? f(r.webgpu.medianMs, 1) : `failed: ${cell(r.webgpu.error ?? 'no timing')}`,
      r.webgpu.medianMs !== undefined ? `${f(r.webgpu.minMs, 1)}–${f(r.webgpu.maxMs, 1)} (${r.webgpu.timedSteps})` : '',
      f(r.webgpu.itPerSec, 2),
      r.webgpu.tflops !== undefined ? r.webgpu.tflops.toPrecision(3) : '—',
      r.webgpu.kernels !== undefined ? `${r.webgpu.kernels} / ${r.webgpu.dispatches ?? '—'}` : '—',
      r.pytorch.medianMs !== undefined ? f(r.pytorch.medianMs, 1) : `failed: ${cell(r.pytorch.error ?? '?')}`,
      r.pytorch.tflops !== undefined ? r.pytorch.tflops.toPrecision(3) : '—',
      r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : '—',
    ]),
  );
  const steps = markdownTable(
    ['step', 'status', 'seconds', 'budget s'],
    s.steps.map((x) => [x.step, x.status, f(x.seconds), f(x.budget)]),
  );
  const q = s.quality;
  type Score = { iou: number; accuracy: number };
  const held = q.heldOut as { count?: number; trained?: Score; untrained?: Score; error?: string } | undefined;
  const quality = [
    `- flags: \`${q.flags}\`; trained ${f(q.seconds)} s: ${q.steps ?? '—'} steps (${f(q.itPerSec, 2)} it/s), ` +
      `restarts ${q.restarts ?? '—'}`,
    held?.trained
      ? `- held-out object IoU ${held.trained.iou.toFixed(3)}, accuracy ${held.trained.accuracy.toFixed(3)} on ${held.count} images` +
        (held.untrained ? ` (untrained: IoU ${held.untrained.iou.toFixed(3)}, accuracy ${held.untrained.accuracy.toFixed(3)})` : '')
      : `- held-out score: ${held?.error ?? 'none'}`,
    ...(q.curve
      ? [
          '- held-out curve (step: object IoU, one assignment for the set): ' +
            q.curve.map((p) => `${p.it}: ${p.iou.toFixed(3)}`).join(', ') +
            ` — best ${Math.max(...q.curve.map((p) => p.iou)).toFixed(3)}`,
        ]
      : []),
    ...(q.lastTrainerEval ? [`- the trainer's last evaluation: ${q.lastTrainerEval}`] : []),
    ...(q.error ? [`- ${q.error}`] : []),
  ].join('\n');
  const r = s.resume as
    | { ok?: boolean; error?: string; before?: number; after?: number; adamSteps?: Record<string, number>; resumedTo?: number }
    | undefined;
  const resumed = !r
    ? '- not run'
    : r.ok
      ? `- ok: step ${r.before} → PyTorch → ${r.after}; Adam steps ${JSON.stringify(r.adamSteps)}; ` +
        `the trainer resumed to step ${r.resumedTo ?? '—'}`
      : `- FAILED: ${r.error ?? '?'}`;
  return [
    `# ReDO Studio GPU kit: ${s.date}`,
    '',
    `Machine: ${s.machine.gpu || 'no NVIDIA GPU seen'}; ${s.machine.cpus ?? '?'} CPUs; ${s.machine.host ?? ''}. ` +
      `WebGPU adapter: ${s.adapter}. Vulkan loader: ${s.machine.loader ?? '?'}; driver (ICD): ${s.machine.icd ?? '?'}. ` +
      `Kit ${s.kit.commit ?? '?'} (tfjs ${s.kit.tfjs ?? '?'}, Node ${s.kit.node ?? '?'}).`,
    '',
    '## Speed: webgpu (Dawn) against the authors\' PyTorch on the same GPU',
    '',
    'One iteration = the reference iteration (G/F/δ step, then D step) on random inputs, median of the timed steps after one warm-up; ' +
      'FLOPs from src/redo/flops.ts (convolutions, dense layers, attention products; backward 2× for trained networks, ' +
      '1× for D in the G step).',
    '',
    speed,
    '',
    '## Quality run (objects on photos)',
    '',
    quality,
    '',
    '## A run handed to PyTorch and back (to_pth.py → pth_iterate.py → convert_pth.py → trainer --resume)',
    '',
    resumed,
    '',
    '## Steps',
    '',
    steps,
    '',
  ].join('\n');
}

function buildSummary(work: string) {
  const env = readEnv(join(work, 'env.txt'));
  const kit = readJson<Record<string, string>>(join(work, 'kit.json'));
  const probe = readJson<{ adapter?: string }>(join(work, 'probe.json'));
  const presets = (env.bench_presets ?? 'tiny,small-64,laptop-128,paper-128').split(',').filter(Boolean);
  return {
    date: env.date ?? new Date().toISOString(),
    kit: isError(kit) ? {} : kit,
    machine: { host: env.host, cpus: env.cpus, gpu: env.gpu, loader: env.vulkan_loader, icd: env.vulkan_icd },
    adapter: isError(probe) ? `none (${probe.error})` : (probe.adapter ?? '?'),
    steps: readSteps(join(work, 'steps.tsv')),
    speed: speedSummary(work, presets),
    quality: qualitySummary(work, env),
    resume: readJson<unknown>(join(work, 'resume', 'check.json')),
  };
}

async function checkResume(before: string, after: string, k: number, resumed?: string): Promise<Record<string, unknown>> {
  const a = await readRunArchive(new Uint8Array(readFileSync(before)));
  const b = await readRunArchive(new Uint8Array(readFileSync(after)));
  const adamSteps = Object.fromEntries(Object.entries(b.state.optimizer).map(([net, o]) => [net, o.step]));
  const problems: string[] = [];
  if (b.state.iteration !== a.state.iteration + k) problems.push(`step ${b.state.iteration}, expected ${a.state.iteration} + ${k}`);
  for (const [net, s] of Object.entries(adamSteps)) {
    const was = a.state.optimizer[net as keyof typeof a.state.optimizer].step;
    if (s !== was + k) problems.push(`Adam step of ${net} is ${s}, expected ${was} + ${k}`);
  }
  for (const key of Object.keys(a.state.config) as Array<keyof RedoConfig>) {
    const [x, y] = [a.state.config[key], b.state.config[key]];
    if (x !== y) problems.push(`config.${key}: ${String(x)} → ${String(y)}`);
  }
  if (b.state.seed !== a.state.seed) problems.push(`seed ${a.state.seed} → ${b.state.seed}`);
  let resumedTo: number | undefined;
  if (resumed) {
    resumedTo = (await readRunArchive(new Uint8Array(readFileSync(resumed)))).state.iteration;
    if (resumedTo !== b.state.iteration + 1) problems.push(`the trainer resumed to step ${resumedTo}, expected ${b.state.iteration + 1}`);
  }
  return {
    ok: problems.length === 0,
    before: a.state.iteration,
    after: b.state.iteration,
    adamSteps,
    ...(resumedTo !== undefined ? { resumedTo } : {}),
    ...(problems.length ? { error: problems.join('; ') } : {}),
  };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'probe') {
    const vulkan = parseFlags(rest, { vulkan: { type: 'string' } }).oneOf<VulkanChoice>('vulkan', ['auto', 'swiftshader', 'system'], 'system');
    try {
      const info = await setupBackend('webgpu', { vulkan });
      console.log(JSON.stringify({ adapter: info.adapter, swiftshader: /swiftshader/i.test(info.adapter ?? ''), node: process.version }));
      return 0;
    } catch (e) {
      console.log(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
      return 1;
    }
  }
  if (command === 'ref-args' && rest[0]) {
    const f = parseFlags(rest, { batch: { type: 'string' } }, { positionals: true });
    const batch = f.int('batch', 1);
    console.log(refArgs(preset(f.positionals[0] ?? rest[0], batch !== undefined ? { batchSize: batch } : {})).join(' '));
    return 0;
  }
  if (command === 'check-resume' && (rest.length === 3 || rest.length === 4)) {
    await setupBackend('cpu');
    const r = await checkResume(rest[0]!, rest[1]!, Number(rest[2]), rest[3]);
    console.log(JSON.stringify(r));
    return r.ok ? 0 : 1;
  }
  if (command === 'report' && rest.length === 2) {
    const [work, out] = rest as [string, string];
    const s = buildSummary(work);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'summary.json'), `${JSON.stringify(s, null, 1)}\n`);
    const md = markdown(s);
    writeFileSync(join(out, 'summary.md'), md);
    process.stdout.write(md);
    return 0;
  }
  console.error('usage: kit.mjs probe [--vulkan V] | ref-args PRESET [--batch B] | check-resume BEFORE.zip AFTER.zip K [RESUMED.zip]');
  console.error('       kit.mjs report WORK_DIR OUT_DIR');
  return 2;
}

// run only as the kit's program, not when a test imports it
if (process.argv[1] && /kit\.(m?js|ts)$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? `error: ${e.message}` : e);
      process.exit(1);
    },
  );
}
