/**
 * One training run inside the worker: the model, its trainer, the dataset, the loss history and the loop.
 *
 * The loop runs one step per turn and yields to the worker's event loop between steps, so pause / stop /
 * export requests are seen within a step. Readbacks are batched: the losses of `lossEvery` steps are read
 * with one `await data()`; previews (and accuracy / IoU with ground truth) every `previewEvery` steps;
 * on WebGPU a queue fence (no readback) keeps the worker at most one step ahead of the GPU.
 *
 * Everything that must see the model between two steps (checkpoint, export, segmentation with the current
 * model) runs under `exclusive`, a FIFO lock that the loop also takes for each step.
 */
import * as tf from '../redo/tf';
import {
  captureTrainingState,
  exportWeights,
  importWeights,
  RedoModel,
  RedoTrainer,
  readLossBatch,
  restoreTrainer,
  NonFiniteError,
  gatherImages,
  Rng,
  type RedoConfig,
  type StepLosses,
  type TrainingState,
  type ImageSet,
  type NamedTensorData,
} from '../redo';
import { scoreSegmentation } from '../redo/metrics';
import { saveCheckpoint } from '../data/checkpoints';
import type { DatasetSummary } from '../data/datasets';
import { buildRunArchive, encodePng, recordLosses, type LossHistory } from './runArchive';
import { gpuBytes, gpuFence } from './backend';
import { renderPreviews, spreadIndices, type PreviewInputs } from './previews';
import { emptyHistory, type FromWorker, type LoopOptions, type PreviewSet, type RunState, type TrainingStatus } from './protocol';

export interface LoadedDataset {
  summary: DatasetSummary;
  images: ImageSet;
  names: string[];
  masks?: Float32Array;
}

export type Post = (msg: FromWorker, transfer?: Transferable[]) => void;

const PANEL_SIZE = 8;
const FIGURE_ROWS = 4;
const REDRAW_COLUMNS = 3;
const EVAL_MAX = 32;
const STATUS_INTERVAL_MS = 250;

interface PendingStep {
  losses: StepLosses;
  iteration: number;
  total: number;
}

export class TrainingSession {
  state: RunState = 'paused';
  options: LoopOptions;
  history: LossHistory;
  totalSteps: number;
  lastCheckpointStep: number | null = null;
  lastPreviews: PreviewSet | null = null;
  lastMetrics: { accuracy: number; iou: number } | null = null;
  /** Why the run stopped by itself (a loss or weight went NaN / Inf); null while it is healthy. */
  failure: string | null = null;
  /** Called once the loop has ended on such a failure (the worker drops the run; its last good checkpoint stays). */
  onFailure: (() => void) | null = null;

  private readonly preview: PreviewInputs;
  private readonly evalSet: { x: tf.Tensor4D; truth: Float32Array } | null;
  private pending: PendingStep[] = [];
  private fence: Promise<void> | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private loopDone: Promise<void> | null = null;
  private postedUpTo = 0;
  private elapsedBefore = 0;
  private runningSince: number | null = null;
  private rate: Array<{ t: number; steps: number }> = [];
  private lastStatusAt = 0;
  private disposed = false;

  private constructor(
    readonly runId: string,
    readonly dataset: LoadedDataset,
    readonly model: RedoModel,
    readonly trainer: RedoTrainer,
    history: LossHistory,
    options: LoopOptions,
    private readonly post: Post,
  ) {
    this.options = options;
    const hasTruth = !!dataset.masks;
    this.history = history;
    if (hasTruth && (!history.accuracy || !history.iou)) {
      history.accuracy = history.step.map(() => NaN);
      history.iou = history.step.map(() => NaN);
    }
    this.totalSteps = Math.max(trainer.iteration, history.step.length ? history.step[history.step.length - 1]! : 0);
    this.postedUpTo = history.step.length;

    const s = model.config.imageSize;
    const plane = s * s;
    const idx = spreadIndices(dataset.images.count, PANEL_SIZE);
    const panel = gatherImages(dataset.images, idx);
    const panelPixels = new Float32Array(idx.length * plane * 3);
    idx.forEach((d, i) => panelPixels.set(dataset.images.pixels.subarray(d * plane * 3, (d + 1) * plane * 3), i * plane * 3));
    let panelTruth: Float32Array | undefined;
    if (dataset.masks) {
      panelTruth = new Float32Array(idx.length * plane);
      idx.forEach((d, i) => panelTruth!.set(dataset.masks!.subarray(d * plane, (d + 1) * plane), i * plane));
    }
    // Fixed redraw codes: the same columns for the whole run (and after a reload).
    const zColumns = model.sampleZ(REDRAW_COLUMNS, 0x5eed + trainer.seed);
    this.preview = { panel, panelPixels, panelTruth, zColumns, figureRows: FIGURE_ROWS };

    if (dataset.masks) {
      const ev = spreadIndices(dataset.images.count, EVAL_MAX);
      const truth = new Float32Array(ev.length * plane);
      ev.forEach((d, i) => truth.set(dataset.masks!.subarray(d * plane, (d + 1) * plane), i * plane));
      this.evalSet = { x: gatherImages(dataset.images, ev), truth };
    } else this.evalSet = null;
  }

  /** A new run from scratch (or from imported weights without optimizer state). */
  static create(a: {
    runId: string;
    dataset: LoadedDataset;
    config: RedoConfig;
    seed: number;
    options: LoopOptions;
    post: Post;
    weights?: ReadonlyMap<string, NamedTensorData>;
  }): TrainingSession {
    checkSize(a.config, a.dataset);
    const model = new RedoModel(a.config, a.seed);
    try {
      if (a.weights) importWeights(model, a.weights);
    } catch (e) {
      model.dispose();
      throw e;
    }
    const trainer = new RedoTrainer(model, a.seed);
    return new TrainingSession(a.runId, a.dataset, model, trainer, emptyHistory(), a.options, a.post);
  }

  /** A run continued from a checkpoint or an imported archive: same weights, optimizer state, counters and seed. */
  static restore(a: { runId: string; dataset: LoadedDataset; state: TrainingState; history: LossHistory; options: LoopOptions; post: Post }): TrainingSession {
    checkSize(a.state.config, a.dataset);
    const { model, trainer } = restoreTrainer(a.state);
    const s = new TrainingSession(a.runId, a.dataset, model, trainer, cloneHistory(a.history), a.options, a.post);
    s.lastCheckpointStep = a.state.iteration;
    return s;
  }

  get config(): RedoConfig {
    return this.model.config;
  }

  /** Runs `fn` between two steps (FIFO with the loop's steps). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.chain.then(fn);
    this.chain = r.catch(() => undefined);
    return r;
  }

  start(): void {
    if (this.disposed || this.state === 'running' || this.state === 'pausing' || this.state === 'stopped') return;
    if (this.trainer.iteration >= this.options.maxSteps) {
      this.state = 'finished';
      this.postStatus(true);
      return;
    }
    this.state = 'running';
    this.runningSince = performance.now();
    this.rate = [{ t: performance.now(), steps: this.totalSteps }];
    this.postStatus(true);
    this.loopDone = this.loop();
  }

  /** Stops after the step in flight, reads what is pending and writes a checkpoint. */
  async pause(): Promise<void> {
    if (this.state !== 'running') {
      await this.loopDone;
      return;
    }
    this.state = 'pausing';
    this.postStatus(true);
    await this.loopDone;
  }

  /** Ends the run (a final checkpoint is written); it can still be exported or used for segmentation. */
  async stop(): Promise<void> {
    if (this.state === 'running') {
      this.state = 'pausing';
      await this.loopDone;
    } else await this.loopDone;
    this.state = 'stopped';
    this.postStatus(true);
  }

  setOptions(o: Partial<LoopOptions>): void {
    this.options = { ...this.options, ...o };
    this.postStatus(true);
  }

  private async loop(): Promise<void> {
    try {
      while (this.state === 'running') {
        await this.exclusive(() => this.oneStep());
        if (this.fence === null) await macrotask(); // CPU / WebGL: let messages in
      }
    } catch (e) {
      if (e instanceof NonFiniteError) this.fail(e);
      else {
        this.state = 'paused';
        this.post({ type: 'error', context: 'training', message: `training stopped: ${e instanceof Error ? e.message : String(e)}` });
      }
    } finally {
      await this.exclusive(async () => {
        if (this.failure) return; // nothing after a non-finite reading is read or saved
        try {
          await this.settle();
        } catch (e) {
          if (!(e instanceof NonFiniteError)) throw e;
          this.fail(e);
          return;
        } finally {
          this.accumulateElapsed();
        }
        try {
          if (this.lastCheckpointStep !== this.trainer.iteration || this.pendingCheckpoint) await this.checkpoint();
        } catch (e) {
          if (e instanceof NonFiniteError) this.fail(e);
          else this.post({ type: 'error', context: 'checkpoint', message: errorText(e) });
        }
      }).catch((e: unknown) => this.post({ type: 'error', context: 'training', message: errorText(e) }));
      if (this.state === 'pausing' || this.state === 'running') this.state = 'paused';
      if (this.trainer.iteration >= this.options.maxSteps && this.state === 'paused') this.state = 'finished';
      this.postStatus(true);
      if (this.failure) this.onFailure?.();
    }
  }

  /**
   * A loss or weight went non-finite: the run stops for good (state 'stopped'), nothing more is saved, and the
   * last good checkpoint stays what a resume starts from.
   */
  private fail(e: NonFiniteError): void {
    for (const p of this.pending) for (const t of Object.values(p.losses)) t.dispose();
    this.pending = [];
    const kept =
      this.lastCheckpointStep !== null
        ? `the last good checkpoint (step ${this.lastCheckpointStep}) is kept: resume it, with lower learning rates`
        : 'no checkpoint had been saved yet: start again with lower learning rates';
    this.failure = `${e.message}. Training stopped and nothing after that was saved; ${kept}.`;
    this.state = 'stopped';
    this.post({ type: 'error', context: 'training', message: this.failure });
  }

  private pendingCheckpoint = false;

  private async oneStep(): Promise<void> {
    if (this.state !== 'running') return;
    const t = this.trainer;
    const it = t.iteration;
    const losses = t.stepOn(this.dataset.images);
    this.totalSteps += 1;
    this.pending.push({ losses, iteration: it, total: this.totalSteps });
    this.pendingCheckpoint = true;

    const previous = this.fence;
    this.fence = gpuFence();
    if (previous) await previous;
    this.noteRate();

    const step = t.iteration;
    const o = this.options;
    const wantPreview = o.previewEvery > 0 && step % o.previewEvery === 0;
    const wantCheckpoint = o.checkpointEvery > 0 && step % o.checkpointEvery === 0;
    if (this.pending.length >= Math.max(1, o.lossEvery) || wantPreview || wantCheckpoint) await this.flushLosses();
    if (wantPreview) await this.refreshPreviews();
    this.postHistory();
    if (wantCheckpoint) await this.checkpoint();
    if (t.iteration >= o.maxSteps) this.state = 'pausing';
    this.postStatus(false);
  }

  /** Waits for the GPU and reads every pending loss. */
  private async settle(): Promise<void> {
    if (this.fence) {
      await this.fence;
      this.fence = null;
    }
    await this.flushLosses();
    this.postHistory();
  }

  /**
   * One readback for the losses of every pending step; the NaN / Inf guard and the collapse watch on each reading
   * in order (a non-finite reading throws NonFiniteError: the loop then stops without a checkpoint).
   */
  private async flushLosses(): Promise<void> {
    if (this.pending.length === 0) return;
    const pending = this.pending;
    this.pending = [];
    const values = await readLossBatch(pending.map((p) => p.losses));
    const h = this.history;
    let restarted = false;
    for (const [i, p] of pending.entries()) {
      const v = values[i]!;
      await this.trainer.checkFinite(v, p.iteration + 1);
      recordLosses(h, p.total, v);
      // Readings taken before a restart belong to the old networks: one restart per flush at most.
      if (!restarted && this.trainer.checkCollapse(v, p.iteration + 1)) restarted = true;
    }
    if (restarted) this.postStatus(true);
  }

  private postHistory(): void {
    const h = this.history;
    if (this.postedUpTo >= h.step.length) return;
    const from = this.postedUpTo;
    const chunk: LossHistory = {
      step: h.step.slice(from),
      gAdv: h.gAdv.slice(from),
      gRecZ: h.gRecZ.slice(from),
      dReal: h.dReal.slice(from),
      dFake: h.dFake.slice(from),
    };
    if (h.accuracy && h.iou) {
      chunk.accuracy = h.accuracy.slice(from);
      chunk.iou = h.iou.slice(from);
    }
    this.postedUpTo = h.step.length;
    this.post({ type: 'losses', runId: this.runId, chunk, reset: false });
  }

  /** The whole history (after a restore), replacing what the UI shows. */
  postFullHistory(): void {
    this.postedUpTo = this.history.step.length;
    this.post({ type: 'losses', runId: this.runId, chunk: cloneHistory(this.history), reset: true });
  }

  private async refreshPreviews(): Promise<void> {
    const previews = await renderPreviews(this.model, this.preview, this.trainer.iteration);
    this.lastPreviews = previews;
    if (this.evalSet) await this.measure();
    const copy: PreviewSet = {
      ...previews,
      overlay: { ...previews.overlay, data: previews.overlay.data.slice() },
      cutouts: { ...previews.cutouts, data: previews.cutouts.data.slice() },
      figure2: { ...previews.figure2, data: previews.figure2.data.slice() },
    };
    this.post({ type: 'previews', runId: this.runId, previews: copy }, [copy.overlay.data.buffer, copy.cutouts.data.buffer, copy.figure2.data.buffer]);
  }

  /** Accuracy and object IoU on (up to) 32 images with ground truth, per image with the best region matching. */
  private async measure(): Promise<void> {
    const ev = this.evalSet!;
    const c = this.config;
    const s = c.imageSize;
    const b = ev.x.shape[0];
    const masks = tf.tidy(() => {
      const parts: tf.Tensor4D[] = [];
      for (let i = 0; i < b; i += 16) parts.push(this.model.masks(ev.x.slice([i, 0, 0, 0], [Math.min(16, b - i), s, s, 3])));
      return tf.concat(parts);
    });
    let pred: Float32Array;
    try {
      pred = (await masks.data()) as Float32Array;
    } finally {
      masks.dispose();
    }
    const gt = new Float32Array(b * s * s * 2);
    for (let p = 0; p < b * s * s; p++) {
      const obj = ev.truth[p]! > 0.5 ? 1 : 0;
      gt[2 * p] = obj;
      gt[2 * p + 1] = 1 - obj;
    }
    const score = scoreSegmentation(pred, gt, { B: b, H: s, W: s, n: c.nRegions, r: 2 }, 'per-image');
    this.lastMetrics = { accuracy: score.accuracy, iou: score.iou[0]! };
    const h = this.history;
    if (h.accuracy && h.iou && h.step.length > 0) {
      h.accuracy[h.accuracy.length - 1] = score.accuracy;
      h.iou[h.iou.length - 1] = score.iou[0]!;
    }
  }

  /** Writes a checkpoint (all pending losses read first). */
  async checkpoint(): Promise<void> {
    await this.settle();
    const t0 = performance.now();
    const state = await captureTrainingState(this.trainer);
    await saveCheckpoint(this.runId, this.dataset.summary.id, state, this.history);
    this.lastCheckpointStep = state.iteration;
    this.pendingCheckpoint = false;
    this.post({ type: 'checkpoint-saved', runId: this.runId, step: state.iteration, ms: performance.now() - t0 });
    this.postStatus(true);
  }

  /** The run as a zip (manifest, weights, optimizer, losses, previews). */
  async exportArchive(): Promise<Uint8Array> {
    return this.exclusive(async () => {
      await this.settle();
      const state = await captureTrainingState(this.trainer);
      const previews: Array<{ name: string; png: Uint8Array }> = [];
      const p = this.lastPreviews;
      if (p) {
        previews.push({ name: 'masks-overlay', png: encodePng(new Uint8Array(p.overlay.data.buffer), p.overlay.width, p.overlay.height) });
        previews.push({ name: 'masks-cutouts', png: encodePng(new Uint8Array(p.cutouts.data.buffer), p.cutouts.width, p.cutouts.height) });
        previews.push({ name: 'figure2', png: encodePng(new Uint8Array(p.figure2.data.buffer), p.figure2.width, p.figure2.height) });
      }
      const d = this.dataset.summary;
      return buildRunArchive({
        state,
        history: this.history,
        dataset: { name: d.name, count: d.count, size: d.size },
        ...(this.lastMetrics ? { metrics: { accuracy: this.lastMetrics.accuracy, iou: this.lastMetrics.iou } } : {}),
        previews,
      });
    });
  }

  /** The mask network's weights now (for segmentation with the current model). */
  maskWeights(): Promise<Map<string, NamedTensorData>> {
    return this.exclusive(() => exportWeights(this.model, { prefix: 'netEncM.' }));
  }

  /** Renders previews now (e.g. right after a restore), outside the loop. */
  previewNow(): Promise<void> {
    return this.exclusive(async () => {
      await this.refreshPreviews();
      this.postHistory();
    });
  }

  private noteRate(): void {
    const now = performance.now();
    this.rate.push({ t: now, steps: this.totalSteps });
    while (this.rate.length > 2 && (this.rate.length > 30 || now - this.rate[0]!.t > 30_000)) this.rate.shift();
  }

  private itPerSec(): number {
    if (this.state !== 'running' && this.state !== 'pausing') return 0;
    const r = this.rate;
    if (r.length < 2) return 0;
    const a = r[0]!;
    const b = r[r.length - 1]!;
    return b.t > a.t ? ((b.steps - a.steps) * 1000) / (b.t - a.t) : 0;
  }

  private accumulateElapsed(): void {
    if (this.runningSince !== null) {
      this.elapsedBefore += performance.now() - this.runningSince;
      this.runningSince = null;
    }
  }

  status(): TrainingStatus {
    const ips = this.itPerSec();
    const remaining = Math.max(0, this.options.maxSteps - this.trainer.iteration);
    const mem = tf.memory();
    return {
      state: this.state,
      runId: this.runId,
      datasetId: this.dataset.summary.id,
      datasetName: this.dataset.summary.name,
      config: this.config,
      step: this.trainer.iteration,
      restarts: this.trainer.restarts,
      totalSteps: this.totalSteps,
      maxSteps: this.options.maxSteps,
      itPerSec: ips,
      elapsedMs: this.elapsedBefore + (this.runningSince !== null ? performance.now() - this.runningSince : 0),
      etaMs: ips > 0 ? (remaining / ips) * 1000 : null,
      lastCheckpointStep: this.lastCheckpointStep,
      minArea: lastFinite(this.history.minArea),
      minAreaBinary: lastFinite(this.history.minAreaBinary),
      numTensors: mem.numTensors,
      numBytesInGPU: gpuBytes(),
    };
  }

  postStatus(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastStatusAt < STATUS_INTERVAL_MS) return;
    this.lastStatusAt = now;
    this.post({ type: 'status', status: this.status() });
  }

  /** Frees every tensor of the run (call after pause/stop). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.pending) for (const t of Object.values(p.losses)) t.dispose();
    this.pending = [];
    this.preview.panel.dispose();
    this.preview.zColumns.dispose();
    this.evalSet?.x.dispose();
    this.trainer.dispose();
    this.model.dispose();
  }
}

function checkSize(config: RedoConfig, dataset: LoadedDataset): void {
  if (config.imageSize !== dataset.images.size) {
    throw new Error(
      `the dataset "${dataset.summary.name}" holds ${dataset.images.size}×${dataset.images.size} images but the model is ${config.imageSize}×${config.imageSize}; pick a dataset of that size or re-import the images at ${config.imageSize} px`,
    );
  }
}

export function cloneHistory(h: LossHistory): LossHistory {
  const out: LossHistory = { step: [...h.step], gAdv: [...h.gAdv], gRecZ: [...h.gRecZ], dReal: [...h.dReal], dFake: [...h.dFake] };
  for (const k of ['accuracy', 'iou', 'minArea', 'minAreaBinary'] as const) {
    const a = h[k];
    if (a) out[k] = [...a];
  }
  return out;
}

/** The last entry of a history column, or null when it has none (or only NaN there). */
function lastFinite(a: number[] | undefined): number | null {
  const v = a?.at(-1);
  return v === undefined || Number.isNaN(v) ? null : v;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A fresh run id. */
export function newRunId(): string {
  return `run-${new Date().toISOString().replace(/[:.]/g, '-')}-${new Rng(Date.now() >>> 0).int(1 << 30).toString(36)}`;
}
