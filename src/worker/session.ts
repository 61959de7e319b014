/**
 * The studio's adapter of the run core (src/run/trainingRun.ts) inside the worker: it adds only the message port
 * (status, losses, previews, checkpoint messages), the lock and IndexedDB (checkpoints).
 *
 * The loop runs one step per turn and yields to the worker's event loop between steps, so pause / stop / export
 * requests are seen within a step; on WebGPU a queue fence (no readback) keeps the worker at most one step ahead of
 * the GPU. Everything that must see the model between two steps (checkpoint, export, segmentation with the current
 * model) runs under `exclusive`, a FIFO lock that the loop also takes for each step.
 */
import * as tf from '../redo/tf';
import { NonFiniteError, Rng, type NamedTensorData, type RedoConfig, type TrainingState, type ImageSet, type Planes } from '../redo';
import { saveCheckpoint } from '../data/checkpoints';
import type { DatasetSummary } from '../data/records';
import { historySince, type LossHistory } from '../formats/history';
import { objectEvalSet, type EvalSet } from '../run/evaluate';
import { spreadIndices } from '../redo/batches';
import { RateMeter } from '../run/rate';
import { TrainingRun, type LossReading, type RunData, type Schedule } from '../run/trainingRun';
import type { PreviewSet } from '../run/previews';
import { gpuBytes, gpuFence } from './backend';
import type { FromWorker, LoopOptions, RunState, TrainingStatus } from './protocol';

export interface LoadedDataset {
  summary: DatasetSummary;
  images: ImageSet;
  names: string[];
  masks?: Planes;
}

export type Post = (msg: FromWorker, transfer?: Transferable[]) => void;

/** Images of a dataset with masks that accuracy / IoU are measured on at every preview. */
const EVAL_MAX = 32;
const STATUS_INTERVAL_MS = 250;

export class TrainingSession {
  state: RunState = 'paused';
  options: LoopOptions;
  lastCheckpointStep: number | null = null;
  /** Why the run stopped by itself (a loss or weight went NaN / Inf); null while it is healthy. */
  failure: string | null = null;
  /** Called once the loop has ended on such a failure (the worker drops the run; its last good checkpoint stays). */
  onFailure: (() => void) | null = null;

  private chain: Promise<unknown> = Promise.resolve();
  private loopDone: Promise<void> | null = null;
  /** Steps taken since the last checkpoint. */
  private unsaved = false;
  private postedUpTo: number;
  private elapsedBefore = 0;
  private runningSince: number | null = null;
  private rate = new RateMeter();
  private lastStatusAt = 0;
  /** The first step after a start or resume is reported at once, not at the next 250 ms status tick. */
  private firstStepPending = false;
  private disposed = false;

  private constructor(
    readonly runId: string,
    readonly dataset: LoadedDataset,
    readonly run: TrainingRun,
    options: LoopOptions,
    private readonly post: Post,
  ) {
    this.options = options;
    this.postedUpTo = run.history.step.length;
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
    const run = TrainingRun.create({
      config: a.config,
      seed: a.seed,
      ...runInputs(a.dataset),
      ...(a.weights ? { weights: a.weights } : {}),
      fence: gpuFence,
    });
    return new TrainingSession(a.runId, a.dataset, run, a.options, a.post);
  }

  /** A run continued from a checkpoint or an imported archive: same weights, optimizer state, counters and seed. */
  static restore(a: {
    runId: string;
    dataset: LoadedDataset;
    state: TrainingState;
    history: LossHistory;
    options: LoopOptions;
    post: Post;
  }): TrainingSession {
    const run = TrainingRun.restore({ state: a.state, history: a.history, ...runInputs(a.dataset), fence: gpuFence });
    const s = new TrainingSession(a.runId, a.dataset, run, a.options, a.post);
    s.lastCheckpointStep = a.state.iteration;
    return s;
  }

  get config(): RedoConfig {
    return this.run.config;
  }

  get trainer(): TrainingRun['trainer'] {
    return this.run.trainer;
  }

  get history(): LossHistory {
    return this.run.history;
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
    this.rate = new RateMeter(29, 30_000);
    this.rate.tick(performance.now());
    this.postStatus(true);
    this.firstStepPending = true;
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
    if (this.state === 'running') this.state = 'pausing';
    await this.loopDone;
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
        if (!this.run.waitsOnDevice) await macrotask(); // CPU / WebGL: let messages in
      }
    } catch (e) {
      if (e instanceof NonFiniteError) this.fail(e);
      else {
        this.state = 'paused';
        this.post({ type: 'error', context: 'training', message: `training stopped: ${errorText(e)}` });
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
          if (this.lastCheckpointStep !== this.trainer.iteration || this.unsaved) await this.checkpoint();
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
    const kept =
      this.lastCheckpointStep !== null
        ? `the last good checkpoint (step ${this.lastCheckpointStep}) is kept: resume it, with lower learning rates`
        : 'no checkpoint had been saved yet: start again with lower learning rates';
    this.failure = `${e.message}. Training stopped and nothing after that was saved; ${kept}.`;
    this.state = 'stopped';
    this.post({ type: 'error', context: 'training', message: this.failure });
  }

  private schedule(): Schedule {
    const o = this.options;
    // accuracy / IoU are measured with every preview
    return { lossEvery: o.lossEvery, previewEvery: o.previewEvery, evalEvery: o.previewEvery, checkpointEvery: o.checkpointEvery };
  }

  private async oneStep(): Promise<void> {
    if (this.state !== 'running') return;
    const r = await this.run.step(this.schedule());
    this.unsaved = true;
    this.rate.tick(performance.now());
    this.noteRestarts(r.readings);
    if (r.previews) this.postPreviews(r.previews);
    this.postHistory();
    if (r.checkpointDue) await this.checkpoint();
    if (this.trainer.iteration >= this.options.maxSteps) this.state = 'pausing';
    this.postStatus(this.firstStepPending);
    this.firstStepPending = false;
  }

  private noteRestarts(readings: LossReading[]): void {
    if (readings.some((r) => r.restarted)) this.postStatus(true);
  }

  /** Waits for the GPU, reads every pending loss and posts them (NonFiniteError when a reading is NaN / Inf). */
  private async settle(): Promise<void> {
    this.noteRestarts(await this.run.settle());
    this.postHistory();
  }

  private postHistory(): void {
    const h = this.history;
    if (this.postedUpTo >= h.step.length) return;
    const chunk = historySince(h, this.postedUpTo);
    this.postedUpTo = h.step.length;
    this.post({ type: 'losses', runId: this.runId, chunk, reset: false });
  }

  /** The whole history (after a restore), replacing what the UI shows. */
  postFullHistory(): void {
    this.postedUpTo = this.history.step.length;
    this.post({ type: 'losses', runId: this.runId, chunk: historySince(this.history), reset: true });
  }

  /** A copy goes to the page (its buffers transferred); the run keeps its own for the archive. */
  private postPreviews(previews: PreviewSet): void {
    const copy: PreviewSet = {
      ...previews,
      overlay: { ...previews.overlay, data: previews.overlay.data.slice() },
      cutouts: { ...previews.cutouts, data: previews.cutouts.data.slice() },
      figure2: { ...previews.figure2, data: previews.figure2.data.slice() },
    };
    this.post({ type: 'previews', runId: this.runId, previews: copy }, [
      copy.overlay.data.buffer,
      copy.cutouts.data.buffer,
      copy.figure2.data.buffer,
    ]);
  }

  /** Writes a checkpoint to IndexedDB (all pending losses read first). */
  async checkpoint(): Promise<void> {
    await this.settle();
    const t0 = performance.now();
    const state = await this.run.captureState();
    await saveCheckpoint(this.runId, this.dataset.summary.id, state, this.history);
    this.lastCheckpointStep = state.iteration;
    this.unsaved = false;
    this.post({ type: 'checkpoint-saved', runId: this.runId, step: state.iteration, ms: performance.now() - t0 });
    this.postStatus(true);
  }

  /** The run as a zip (manifest, weights, optimizer, losses, the last previews). */
  exportArchive(): Promise<Uint8Array> {
    return this.exclusive(async () => {
      await this.settle();
      return this.run.archive('last');
    });
  }

  /** The mask network's weights now (for segmentation with the current model). */
  maskWeights(): Promise<Map<string, NamedTensorData>> {
    return this.exclusive(() => this.run.maskWeights());
  }

  /** Renders previews (and measures, with ground truth) now, e.g. right after a restore, outside the loop. */
  previewNow(): Promise<void> {
    return this.exclusive(async () => {
      this.postPreviews(await this.run.renderPreviews());
      await this.run.evaluate();
      this.postHistory();
    });
  }

  private accumulateElapsed(): void {
    if (this.runningSince !== null) {
      this.elapsedBefore += performance.now() - this.runningSince;
      this.runningSince = null;
    }
  }

  status(): TrainingStatus {
    const ips = this.state === 'running' || this.state === 'pausing' ? this.rate.rate() : 0;
    const remaining = Math.max(0, this.options.maxSteps - this.trainer.iteration);
    return {
      state: this.state,
      runId: this.runId,
      datasetId: this.dataset.summary.id,
      datasetName: this.dataset.summary.name,
      config: this.config,
      step: this.trainer.iteration,
      restarts: this.trainer.restarts,
      totalSteps: this.run.totalSteps,
      maxSteps: this.options.maxSteps,
      itPerSec: ips,
      elapsedMs: this.elapsedBefore + (this.runningSince !== null ? performance.now() - this.runningSince : 0),
      etaMs: ips > 0 ? (remaining / ips) * 1000 : null,
      lastCheckpointStep: this.lastCheckpointStep,
      minArea: lastFinite(this.history.minArea),
      minAreaBinary: lastFinite(this.history.minAreaBinary),
      numTensors: tf.memory().numTensors,
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
    this.run.dispose();
  }
}

/** A stored dataset as the run core's data and evaluation set (up to EVAL_MAX images with masks, spread evenly). */
function runInputs(d: LoadedDataset): { data: RunData; evalSet: EvalSet | null } {
  const s = d.summary;
  return {
    data: { images: d.images, ...(d.masks ? { objectMasks: d.masks } : {}), info: { name: s.name, count: s.count, size: s.size } },
    evalSet: d.masks ? objectEvalSet(d.images, d.masks, spreadIndices(d.images.count, EVAL_MAX)) : null,
  };
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
