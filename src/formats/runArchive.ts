/**
 * The run archive: one .zip holding everything needed to continue, inspect or reuse a training run.
 * Pure (no DOM, no Node APIs): written by the run core (src/run) for the studio and the headless trainer.
 *
 * - manifest.json: format 'redo-studio-run', formatVersion, config, step (iterations since the last
 *   (re)initialisation), restarts (and blobRestarts, those of the blob watch), seed, dataset summary, metrics,
 *   createdAt, app (name and version); where they exist, `best` (the step and held-out IoU of best-F.safetensors)
 *   and `starts` (a best-of-K search's every start: seed, scores, curve, which was kept); `knobChanges`: the knobs
 *   turned mid-run (issue 21), each { step, field, from, to } in order (absent when none was: older archives open).
 * - best-F.safetensors (runs with held-out masks): the mask network F with the best held-out IoU seen, F alone
 *   with the run's config, step and seed in its metadata (as `redo mask-weights` writes it).
 * - weights.safetensors: every model tensor under the reference PyTorch state_dict names, torch layout
 *   (`safetensors.torch.load_file` then `load_state_dict` in the reference code).
 * - optimizer.safetensors: each parameter's Adam moments as `<param key>.exp_avg` / `<param key>.exp_avg_sq`;
 *   its __metadata__ holds each network's Adam step count (`step.F`, `step.G`, `step.D`, `step.Z`) and the
 *   network → state_dict prefix map (`networks`).
 * - losses.csv: the loss history (./history.ts: `step,g_adv,g_recz,d_real,d_fake` (+ `,accuracy,iou`,
 *   + `,min_area,min_area_binary`), numbers that read back bit for bit).
 * - previews/*.png.
 *
 * readRunArchive validates everything and builds nothing the caller must undo: it throws ArchiveError with the
 * reason, or returns the state for the caller to apply.
 */
import { zipSync, type Zippable } from 'fflate';
// From the modules themselves, not src/redo's index: the segmenter bundles this file, and the index reaches the trainer.
import { assertFiniteTensors, NonFiniteError } from '../redo/finite';
import { importWeights, WeightsMismatchError, type NamedTensorData } from '../redo/weights';
import { inferConfigFromWeights } from '../redo/weightsConfig';
import { NETWORKS, RedoModel, type NetworkId } from '../redo/redo';
import { Segmenter } from '../redo/segment';
import type { TrainingState } from '../redo/checkpoint';
import { PRESETS, validateConfig, withLegacyDefaults, type RedoConfig } from '../redo/config';
import { decodeSafetensors, encodeSafetensors } from './safetensors';
import { maskNetworkFile } from './maskWeights';
import { historyFromCsv, historyToCsv, parseKnobChanges, type KnobChange, type LossHistory } from './history';
import { isZip, readZip, ZipError } from './zip';
import { version as appVersion } from '../../package.json';

export const ARCHIVE_FORMAT_VERSION = 1;
export const ARCHIVE_FORMAT = 'redo-studio-run';
export const APP_NAME = `ReDO Studio ${appVersion}`;

export interface RunManifest {
  format: 'redo-studio-run';
  formatVersion: number;
  config: RedoConfig;
  step: number;
  restarts: number;
  /** Of `restarts`, those the blob watch made. */
  blobRestarts?: number;
  seed: number;
  dataset: { name: string; count: number; size: number };
  /** The latest evaluation (the state in weights.safetensors). */
  metrics?: { accuracy?: number; iou?: number };
  /** best-F.safetensors: the run's step it is from and its held-out IoU. */
  best?: { step: number; iou: number };
  starts?: StartRecord[];
  /** Knobs turned mid-run, in order: the run's step after which each applied, the field, its old and new value. */
  knobChanges?: KnobChange[];
  createdAt: string;
  app: string;
}

/** The F with the best held-out IoU of a run (`weights`: netEncM.* tensors). */
export interface BestF {
  /** The run's step (across restarts) and the iteration since the last (re)initialisation. */
  step: number;
  iteration: number;
  iou: number;
  weights: Map<string, NamedTensorData>;
}

/** One start of a best-of-K search (src/run/starts.ts). */
export interface StartRecord {
  start: number;
  seed: number;
  steps: number;
  /** Held-out IoU at the end of the start (runs with held-out masks). */
  iou?: number;
  spread: number;
  pairIoU: number;
  /** What the ranking compared: held-out IoU, else the label-free score. */
  score: number;
  rankedBy: 'held-out IoU' | 'label-free';
  kept: boolean;
  /** Its evaluations: step, held-out IoU (if any), spread, pairIoU. */
  curve: Array<{ step: number; iou?: number; spread: number; pairIoU: number }>;
}

export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

const NETS = Object.keys(NETWORKS) as NetworkId[];

// ---------------------------------------------------------------------------------------------------------
// Tensor files (shared with the IndexedDB checkpoints)

/** The weights file; throws NonFiniteError (and writes nothing) when a value is NaN or Inf. */
export function encodeWeights(state: TrainingState): Uint8Array {
  assertFiniteTensors(state.weights, 'the weights', state.iteration);
  return encodeSafetensors(state.weights, { format: 'pt' });
}

/** The optimizer file; throws NonFiniteError (and writes nothing) when a moment is NaN or Inf. */
export function encodeOptimizer(optimizer: TrainingState['optimizer']): Uint8Array {
  for (const net of NETS) assertFiniteTensors(optimizer[net].tensors, 'the optimizer state (Adam moments)');
  const tensors = new Map<string, NamedTensorData>();
  const metadata: Record<string, string> = { format: 'pt', networks: JSON.stringify(NETWORKS) };
  for (const net of NETS) {
    const o = optimizer[net];
    metadata[`step.${net}`] = String(o.step);
    for (const [k, t] of o.tensors) tensors.set(k, t);
  }
  return encodeSafetensors(tensors, metadata);
}

/** Splits optimizer.safetensors back per network (by state_dict prefix). Throws Error naming what is wrong. */
export function decodeOptimizer(bytes: Uint8Array): TrainingState['optimizer'] {
  const file = decodeSafetensors(bytes);
  const out = {} as TrainingState['optimizer'];
  for (const net of NETS) {
    const raw = file.metadata[`step.${net}`];
    const step = Number(raw);
    if (typeof raw !== 'string' || !Number.isInteger(step) || step < 0)
      throw new Error(`its metadata lacks a valid step.${net} (Adam step count)`);
    out[net] = { step, tensors: new Map() };
  }
  for (const [name, t] of file.tensors) {
    const net = NETS.find((n) => name.startsWith(`${NETWORKS[n]}.`));
    if (!net || !(name.endsWith('.exp_avg') || name.endsWith('.exp_avg_sq')))
      throw new Error(`tensor ${name} is not an Adam moment of a ReDO network`);
    out[net].tensors.set(name, t);
  }
  return out;
}

/**
 * Checks the optimizer moments against the model's trainable parameters (names and shapes from `weights`,
 * already checked against the model). Throws Error naming the first misfit.
 */
export function checkOptimizer(
  model: RedoModel,
  weights: ReadonlyMap<string, NamedTensorData>,
  optimizer: TrainingState['optimizer'],
): void {
  for (const net of NETS) {
    const keys = model.trainableVariables(net).map((v) => v.key);
    const expected = new Set<string>();
    for (const k of keys) {
      const shape = weights.get(k)!.shape;
      for (const suffix of ['exp_avg', 'exp_avg_sq']) {
        const name = `${k}.${suffix}`;
        expected.add(name);
        const t = optimizer[net].tensors.get(name);
        if (!t) throw new Error(`missing optimizer tensor ${name} (expected shape [${shape}])`);
        if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
          throw new Error(`optimizer tensor ${name} has shape [${t.shape}], the configuration needs [${shape}]`);
        }
      }
    }
    for (const name of optimizer[net].tensors.keys()) {
      if (!expected.has(name)) throw new Error(`optimizer tensor ${name} has no place in this configuration`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// manifest.json

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/**
 * Reads a config with exactly the fields of RedoConfig (each of the preset's type; fields newer than the file get
 * LEGACY_CONFIG_DEFAULTS); throws Error naming the first bad one.
 */
export function parseConfig(raw: unknown): RedoConfig {
  if (!isRecord(raw)) throw new Error('config is not an object');
  const v = withLegacyDefaults(raw); // a file older than a field gets the value that keeps it behaving as it did
  const template = PRESETS.tiny;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(template) as Array<keyof RedoConfig>) {
    if (typeof v[key] !== typeof template[key])
      throw new Error(`config.${key} is ${v[key] === undefined ? 'missing' : `a ${typeof v[key]}`}, expected a ${typeof template[key]}`);
    out[key] = v[key];
  }
  return validateConfig(out as unknown as RedoConfig);
}

function parseManifest(text: string): RunManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new ArchiveError(`corrupt archive: manifest.json is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isRecord(m)) throw new ArchiveError('corrupt archive: manifest.json is not a JSON object');
  if (m.format !== ARCHIVE_FORMAT) {
    throw new ArchiveError(
      `not a ReDO Studio run archive: manifest.json has format ${JSON.stringify(m.format ?? null)}, expected "${ARCHIVE_FORMAT}"`,
    );
  }
  const fv = m.formatVersion;
  if (typeof fv !== 'number' || !Number.isInteger(fv) || fv < 1)
    throw new ArchiveError(`corrupt archive: manifest formatVersion ${JSON.stringify(fv ?? null)} is not a positive integer`);
  if (fv > ARCHIVE_FORMAT_VERSION) {
    throw new ArchiveError(
      `made by a newer ReDO Studio (format ${fv}, this one reads up to ${ARCHIVE_FORMAT_VERSION}); update ReDO Studio to open it`,
    );
  }
  let config: RedoConfig;
  try {
    config = parseConfig(m.config);
  } catch (e) {
    throw new ArchiveError(`corrupt archive: manifest ${e instanceof Error ? e.message : String(e)}`);
  }
  for (const k of ['step', 'restarts', 'seed'] as const) {
    if (!isCount(m[k])) throw new ArchiveError(`corrupt archive: manifest ${k} ${JSON.stringify(m[k] ?? null)} is not an integer ≥ 0`);
  }
  const d = m.dataset;
  if (!isRecord(d) || typeof d.name !== 'string' || !isCount(d.count) || !isCount(d.size)) {
    throw new ArchiveError('corrupt archive: manifest dataset must be { name, count, size }');
  }
  let metrics: RunManifest['metrics'];
  if (m.metrics !== undefined) {
    const x = m.metrics;
    if (
      !isRecord(x) ||
      (x.accuracy !== undefined && typeof x.accuracy !== 'number') ||
      (x.iou !== undefined && typeof x.iou !== 'number')
    ) {
      throw new ArchiveError('corrupt archive: manifest metrics must be { accuracy?: number, iou?: number }');
    }
    metrics = {};
    if (typeof x.accuracy === 'number') metrics.accuracy = x.accuracy;
    if (typeof x.iou === 'number') metrics.iou = x.iou;
  }
  let best: RunManifest['best'];
  if (m.best !== undefined) {
    const b = m.best;
    if (!isRecord(b) || !isCount(b.step) || typeof b.iou !== 'number')
      throw new ArchiveError('corrupt archive: manifest best must be { step, iou }');
    best = { step: b.step, iou: b.iou };
  }
  const starts = m.starts === undefined ? undefined : parseStarts(m.starts);
  let knobChanges: KnobChange[] | undefined;
  try {
    knobChanges = m.knobChanges === undefined ? undefined : parseKnobChanges(m.knobChanges);
  } catch (e) {
    throw new ArchiveError(`corrupt archive: manifest ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof m.createdAt !== 'string' || typeof m.app !== 'string')
    throw new ArchiveError('corrupt archive: manifest createdAt and app must be strings');
  return {
    format: ARCHIVE_FORMAT,
    formatVersion: fv,
    config,
    step: m.step as number,
    restarts: m.restarts as number,
    seed: m.seed as number,
    dataset: { name: d.name, count: d.count, size: d.size },
    ...(metrics ? { metrics } : {}),
    ...(isCount(m.blobRestarts) ? { blobRestarts: m.blobRestarts } : {}),
    ...(best ? { best } : {}),
    ...(starts ? { starts } : {}),
    ...(knobChanges ? { knobChanges } : {}),
    createdAt: m.createdAt,
    app: m.app,
  };
}

function parseStarts(raw: unknown): StartRecord[] {
  if (!Array.isArray(raw)) throw new ArchiveError('corrupt archive: manifest starts must be a list');
  return raw.map((s: unknown, i) => {
    const num = (v: unknown) => typeof v === 'number' || v === null; // JSON writes NaN as null
    if (!isRecord(s) || !isCount(s.start) || !isCount(s.seed) || !isCount(s.steps) || !num(s.spread) || !num(s.pairIoU) || !num(s.score))
      throw new ArchiveError(`corrupt archive: manifest starts[${i}] must be { start, seed, steps, spread, pairIoU, score, … }`);
    if (!Array.isArray(s.curve)) throw new ArchiveError(`corrupt archive: manifest starts[${i}].curve must be a list`);
    return s as unknown as StartRecord;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Build and read

function previewPath(name: string, used: Set<string>): string {
  const base = (name.split('/').pop() ?? '').replace(/\.png$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'preview';
  let path = `previews/${base}.png`;
  for (let i = 2; used.has(path); i++) path = `previews/${base}-${i}.png`;
  used.add(path);
  return path;
}

export async function buildRunArchive(a: {
  state: TrainingState;
  history: LossHistory;
  dataset: RunManifest['dataset'];
  metrics?: RunManifest['metrics'];
  previews?: Array<{ name: string; png: Uint8Array }>;
  best?: BestF;
  starts?: StartRecord[];
}): Promise<Uint8Array> {
  const { state } = a;
  const createdAt = new Date();
  const manifest: RunManifest = {
    format: ARCHIVE_FORMAT,
    formatVersion: ARCHIVE_FORMAT_VERSION,
    config: state.config,
    step: state.iteration,
    restarts: state.restarts,
    ...(state.blobRestarts ? { blobRestarts: state.blobRestarts } : {}),
    seed: state.seed,
    dataset: a.dataset,
    ...(a.metrics ? { metrics: a.metrics } : {}),
    ...(a.best ? { best: { step: a.best.step, iou: a.best.iou } } : {}),
    ...(a.starts ? { starts: a.starts } : {}),
    ...(a.history.knobs?.length ? { knobChanges: a.history.knobs } : {}),
    createdAt: createdAt.toISOString(),
    app: APP_NAME,
  };
  const text = (s: string) => new TextEncoder().encode(s);
  const stored = { level: 0 as const, mtime: createdAt };
  const deflated = { level: 6 as const, mtime: createdAt };
  const files: Zippable = {
    'manifest.json': [text(JSON.stringify(manifest, null, 2) + '\n'), deflated],
    // float data barely compresses: stored, so that a big model zips in no time
    'weights.safetensors': [encodeWeights(state), stored],
    'optimizer.safetensors': [encodeOptimizer(state.optimizer), stored],
    'losses.csv': [text(historyToCsv(a.history)), deflated],
  };
  if (a.best)
    files['best-F.safetensors'] = [
      maskNetworkFile({ config: state.config, weights: a.best.weights, step: a.best.iteration, seed: state.seed }),
      stored,
    ];
  const used = new Set<string>();
  for (const p of a.previews ?? []) files[previewPath(p.name, used)] = [p.png, stored];
  return zipSync(files);
}

function looksLikeSafetensors(b: Uint8Array): boolean {
  if (b.length < 10) return false;
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  return n > 0 && 8 + n <= b.length && b[8] === 0x7b; // '{'
}

/** Reads and checks a run archive; throws ArchiveError with the reason. `fileName` only words the messages. */
export async function readRunArchive(
  bytes: Uint8Array,
  fileName = '',
): Promise<{ manifest: RunManifest; state: TrainingState; history: LossHistory; best?: BestF }> {
  if (!isZip(bytes)) {
    if (bytes.length === 0) throw new ArchiveError('not a zip file: the file is empty');
    const pth = pytorchCheckpointHint(fileName, bytes);
    if (pth) throw new ArchiveError(pth);
    if (looksLikeSafetensors(bytes))
      throw new ArchiveError('not a zip file: this is a safetensors weights file, not a run archive (import it as weights)');
    throw new ArchiveError(
      'not a zip file: a ReDO Studio run archive is a .zip with manifest.json, weights.safetensors, optimizer.safetensors and losses.csv',
    );
  }
  let entries: ReturnType<typeof readZip>;
  try {
    entries = readZip(bytes);
  } catch (e) {
    throw new ArchiveError(
      `corrupt archive: the zip cannot be read (${e instanceof ZipError || e instanceof Error ? e.message : String(e)}); ` +
        'it may be truncated',
    );
  }
  const files = new Map(entries.map((e) => [e.name, e]));
  const pth = files.has('manifest.json') ? null : pytorchCheckpointHint(fileName, bytes, [...files.keys()]);
  if (pth) throw new ArchiveError(pth);
  if (!files.has('manifest.json')) {
    const names = entries.slice(0, 5).map((e) => e.name);
    throw new ArchiveError(
      `not a ReDO Studio run archive: the zip has no manifest.json (it holds ${entries.length} file${entries.length === 1 ? '' : 's'}` +
        `${names.length ? `: ${names.join(', ')}${entries.length > 5 ? ', …' : ''}` : ''})`,
    );
  }
  for (const e of entries) {
    if (e.damage) throw new ArchiveError(`corrupt archive: ${e.name} is damaged (${e.damage})`);
    if (e.refused) throw new ArchiveError(`not a usable archive: ${e.name} was not read (${e.refused})`);
  }
  const manifest = parseManifest(new TextDecoder().decode(files.get('manifest.json')!.data));

  const need = (name: string): Uint8Array => {
    const f = files.get(name);
    if (!f) throw new ArchiveError(`corrupt archive: ${name} is missing`);
    return f.data;
  };
  let weights: Map<string, NamedTensorData>;
  try {
    weights = decodeSafetensors(need('weights.safetensors')).tensors;
  } catch (e) {
    if (e instanceof ArchiveError) throw e;
    throw new ArchiveError(`corrupt archive: weights.safetensors: ${e instanceof Error ? e.message : String(e)}`);
  }
  let optimizer: TrainingState['optimizer'];
  try {
    optimizer = decodeOptimizer(need('optimizer.safetensors'));
  } catch (e) {
    if (e instanceof ArchiveError) throw e;
    throw new ArchiveError(`corrupt archive: optimizer.safetensors: ${e instanceof Error ? e.message : String(e)}`);
  }
  let history: LossHistory;
  try {
    history = historyFromCsv(new TextDecoder().decode(need('losses.csv')));
  } catch (e) {
    if (e instanceof ArchiveError) throw e;
    throw new ArchiveError(`corrupt archive: losses.csv: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (manifest.knobChanges) history.knobs = manifest.knobChanges;

  try {
    assertFiniteTensors(weights, 'weights.safetensors');
    for (const net of NETS) assertFiniteTensors(optimizer[net].tensors, 'optimizer.safetensors');
  } catch (e) {
    if (e instanceof NonFiniteError) throw new ArchiveError(`unusable archive: ${e.message} (it was saved after training diverged)`);
    throw e;
  }

  // Shapes: a zero-initialised model of the manifest's config takes the weights or names the first misfit.
  const model = new RedoModel(manifest.config, 0, { uninitialised: true });
  try {
    try {
      importWeights(model, weights);
    } catch (e) {
      if (e instanceof WeightsMismatchError) throw new ArchiveError(`weights do not fit the manifest's configuration: ${e.message}`);
      throw e;
    }
    try {
      checkOptimizer(model, weights, optimizer);
    } catch (e) {
      throw new ArchiveError(`optimizer state does not fit the manifest's configuration: ${e instanceof Error ? e.message : String(e)}`);
    }
  } finally {
    model.dispose();
  }

  const state: TrainingState = {
    config: manifest.config,
    seed: manifest.seed,
    iteration: manifest.step,
    restarts: manifest.restarts,
    blobRestarts: manifest.blobRestarts ?? 0,
    weights,
    optimizer,
  };
  let best: BestF | undefined;
  if (manifest.best) {
    let f: ReturnType<typeof decodeSafetensors>;
    try {
      f = decodeSafetensors(need('best-F.safetensors'));
    } catch (e) {
      if (e instanceof ArchiveError) throw e;
      throw new ArchiveError(`corrupt archive: best-F.safetensors: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const [k, t] of weights) {
      if (k.startsWith(`${NETWORKS.F}.`) && f.tensors.get(k)?.data.length !== t.data.length)
        throw new ArchiveError(`corrupt archive: best-F.safetensors lacks ${k} or has another shape`);
    }
    const iteration = Number(f.metadata.step ?? manifest.best.step);
    best = { step: manifest.best.step, iteration, iou: manifest.best.iou, weights: f.tensors };
  }
  return { manifest, state, history, ...(best ? { best } : {}) };
}

// ---------------------------------------------------------------------------------------------------------
// Bare weights files and PyTorch checkpoints

/**
 * What to say about a PyTorch checkpoint (`torch.save`: a zip holding `…/data.pkl`, or a bare pickle), or null
 * when `bytes` is not one. Zip entry names are given when the caller has read them already.
 */
export function pytorchCheckpointHint(fileName: string, bytes: Uint8Array, zipNames?: readonly string[]): string | null {
  const pickle = bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5;
  const torchZip = zipNames?.some((n) => n === 'data.pkl' || n.endsWith('/data.pkl')) ?? false;
  const named = /\.(pth|pt|ckpt)$/i.test(fileName) && !looksLikeSafetensors(bytes) && !isZip(bytes);
  if (!pickle && !torchZip && !named) return null;
  const base = /\.(pth|pt|ckpt)$/i.test(fileName) ? fileName.replace(/^.*[\\/]/, '') : 'model.pth';
  return (
    `${base} is a PyTorch checkpoint (.pth, a Python pickle), which the studio cannot read: convert it first with ` +
    `\`python3 scripts/convert_pth.py ${base} -o weights.safetensors\` (torch is its only dependency), then import weights.safetensors`
  );
}

/** A bare weights file, checked whole: what it holds and how its configuration was found. */
export interface WeightsFile {
  tensors: Map<string, NamedTensorData>;
  config: RedoConfig;
  configSource: string;
  /** G, D and δ are there too (it can continue training); otherwise F alone, for segmentation. */
  trainable: boolean;
}

/**
 * Reads a .safetensors weights file (the studio's export, the trainer's, or convert_pth.py's) and checks it
 * before anything uses it. Throws ArchiveError with the reason: a PyTorch checkpoint (say how to convert it), a
 * header that lies, non-finite weights, a tensor whose shape fits no configuration. The configuration comes from
 * the file's metadata when it has one, else from the tensor shapes (`fallbackImageSize` for an F-only file).
 */
export function readWeightsFile(fileName: string, bytes: Uint8Array, fallbackImageSize: RedoConfig['imageSize']): WeightsFile {
  const pth = pytorchCheckpointHint(fileName, bytes);
  if (pth) throw new ArchiveError(pth);
  let tensors: Map<string, NamedTensorData>;
  let metadata: Record<string, string>;
  try {
    ({ tensors, metadata } = decodeSafetensors(bytes));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ArchiveError(`${fileName} is neither a run archive (.zip) nor a safetensors weights file: ${why}`);
  }
  try {
    assertFiniteTensors(tensors, fileName);
  } catch (e) {
    if (e instanceof NonFiniteError) throw new ArchiveError(`unusable weights: ${e.message} (saved after training diverged?)`);
    throw e;
  }
  let config: RedoConfig;
  let configSource: string;
  try {
    if (metadata.config) {
      config = parseConfig(JSON.parse(metadata.config) as unknown);
      configSource = 'from the file\u2019s metadata';
    } else {
      // Image size is not recorded by F alone: the current form's size is used for an F-only file.
      config = inferConfigFromWeights(tensors, fallbackImageSize);
      configSource =
        `inferred from the tensor shapes (${config.imageSize}px, ${config.nRegions} regions, nz ${config.nz}); ` +
        'batch, learning rates and λz are the paper\u2019s';
    }
  } catch (e) {
    throw new ArchiveError(`${fileName}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const trainable = ['netGenX.', 'netDX.', 'netRecZ.'].every((p) => [...tensors.keys()].some((k) => k.startsWith(p)));
  // The tensors must fit before anything is offered: a zero model of the configuration takes them or names the misfit.
  const probe = trainable ? new RedoModel(config, 0, { uninitialised: true }) : new Segmenter(config);
  try {
    if (probe instanceof RedoModel) importWeights(probe, tensors);
    else probe.load(tensors);
  } catch (e) {
    throw new ArchiveError(`${fileName} does not fit a ReDO model: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    probe.dispose();
  }
  return { tensors, config, configSource, trainable };
}
