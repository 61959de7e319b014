/**
 * The studio's adapter of the run core (src/run/trainingRun.ts) inside the worker: it adds only the message port
 * (status, losses, previews, checkpoint messages), the lock and IndexedDB (checkpoints).
 *
 * The loop runs one step per turn and yields to the worker's event loop between steps, so pause / stop / export
 * requests are seen within a step; on WebGPU a queue fence (no readback) keeps the worker at most one step ahead of
 * the GPU. Everything that must see the model between two steps (checkpoint, export, segmentation with the current
 * model) runs under `exclusive`, a FIFO lock that the loop also takes for each step.
 *
 * Best of K starts (src/run/starts.ts, shared with the headless trainer): a new run with a starts plan trains K runs
 * from seeds derived from its seed, `steps` iterations each, scores each (held-out IoU, else 1 − pairIoU), keeps the
 * best one's run alive (the others are disposed as soon as they are beaten) and continues it. No checkpoint is
 * written during the search (a reload then starts over); the kept run's first checkpoint carries every start's record.
 */
import * as tf from '../redo/tf';
import { NonFiniteError, Rng, type NamedTensorData, type RedoConfig, type TrainingState, type ImageSet, type Planes } from '../redo';
import { saveCheckpoint } from '../data/checkpoints';
import { CollapseWatch } from '../redo/collapse';
import type { BestF, StartRecord } from '../formats/runArchive';
import { maskNetworkFile } from '../formats/maskWeights';
import type { DatasetSummary } from '../data/records';
import { historySince, type KnobChange, type LossHistory } from '../formats/history';
import type { Knobs } from '../redo/config';
import { objectEvalSet, type EvalSet } from '../run/evaluate';
import { spreadIndices } from '../redo/batches';
import { RateMeter } from '../run/rate';
import {
  finalEvaluation,
  TrainingRun,
  type CurvePoint,
  type LossReading,
  type RunData,
  type Schedule,
  type StepReport,
} from '../run/trainingRun';
import { keepBest, startRecord, startSeed } from '../run/starts';
import type { PreviewSet } from '../run/previews';
import { gpuBytes, gpuFence } from './backend';
import type { FromWorker, LoopOptions, RestartNote, RunState, StartsPlan, TrainingStatus, WhichF } from './protocol';

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
/** The previews' time cadence by default (LoopOptions.previewSeconds). */
export const PREVIEW_SECONDS = 10;

/** A best-of-K search in progress: the finished starts' records and the run of the best one so far. */
interface StartsSearch {
  plan: StartsPlan;
  seed: number;
  /** The start training now. */
  k: number;
  records: StartRecord[];
  kept: TrainingRun | null;
  make: (seed: number) => TrainingRun;
}

export class TrainingSession {
  state: RunState = 'paused';
  options: LoopOptions;
  lastCheckpointStep: number | null = null;
  /** Why the run stopped by itself (a loss or weight went NaN / Inf); null while it is healthy. */
  failure: string | null = null;
  /** Called once the loop has ended on such a failure (the worker drops the run; its last good checkpoint stays). */
  onFailure: (() => void) | null = null;
  /** The latest restart of either watch, with its reason. */
  lastRestart: RestartNote | null = null;

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
  private search: StartsSearch | null = null;
  /** When the last previews were rendered (performance.now()), for the time cadence. */
  private lastPreviewAt = 0;

  private constructor(
    readonly runId: string,
    readonly dataset: LoadedDataset,
    private current: TrainingRun,
    options: LoopOptions,
    private readonly post: Post,
  ) {
    this.options = options;
    this.postedUpTo = current.history.step.length;
  }

  /** The run training now (during a best-of-K search: the start in progress). */
  get run(): TrainingRun {
    return this.current;
  }

  /** True while a best-of-K search is still running its starts. */
  get searching(): boolean {
    return this.search !== null;
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
    /** Best of K starts first (count ≥ 2; start 0 is `seed` itself). */
    starts?: StartsPlan;
  }): TrainingSession {
    const make = (seed: number) =>
      TrainingRun.create({
        config: a.config,
        seed,
        ...runInputs(a.dataset),
        ...(a.weights ? { weights: a.weights } : {}),
        fence: gpuFence,
      });
    const s = new TrainingSession(a.runId, a.dataset, make(startSeed(a.seed, 0)), a.options, a.post);
    const plan = a.starts;
    if (plan && plan.count >= 2) {
      if (!Number.isInteger(plan.count) || !Number.isInteger(plan.steps) || plan.steps < 1)
        throw new Error(`starts: a whole number of starts and of iterations per start (≥ 1), got ${plan.count} × ${plan.steps}`);
      s.search = { plan, seed: a.seed, k: 0, records: [], kept: null, make };
    }
    return s;
  }

  /** A run continued from a checkpoint or an imported archive: same weights, optimizer state, counters and seed. */
  static restore(a: {
    runId: string;
    dataset: LoadedDataset;
    state: TrainingState;
    history: LossHistory;
    options: LoopOptions;
    post: Post;
    /** What the checkpoint or archive kept beside the state: the best F, a best-of-K search's starts. */
    best?: BestF | null;
    starts?: StartRecord[];
  }): TrainingSession {
    const run = TrainingRun.restore({
      state: a.state,
      history: a.history,
      ...runInputs(a.dataset),
      fence: gpuFence,
      best: a.best ?? null,
      starts: a.starts ?? [],
    });
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
      await this.exclusive(() => this.previewsAtStart());
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
          if (!this.search && (this.lastCheckpointStep !== this.trainer.iteration || this.unsaved)) await this.checkpoint();
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

  private previewSeconds(): number {
    return this.options.previewSeconds ?? PREVIEW_SECONDS;
  }

  /** A new run's masks and Figure 2 before its first step (the untrained model), unless previews are off. */
  private async previewsAtStart(): Promise<void> {
    if (this.state !== 'running' || this.run.totalSteps > 0 || this.run.lastPreviews) return;
    if (this.options.previewEvery <= 0 || this.previewSeconds() <= 0) return;
    this.postPreviews(await this.run.renderPreviews());
  }

  private schedule(): Schedule {
    const o = this.options;
    const seconds = this.previewSeconds();
    const previewNow = () => o.previewEvery > 0 && seconds > 0 && performance.now() - this.lastPreviewAt >= seconds * 1000;
    // accuracy / IoU are measured with every preview by steps (the clock's previews are pictures only)
    return {
      lossEvery: o.lossEvery,
      previewEvery: o.previewEvery,
      previewNow,
      evalEvery: o.previewEvery,
      checkpointEvery: o.checkpointEvery,
    };
  }

  private async oneStep(): Promise<void> {
    if (this.state !== 'running') return;
    await this.advance();
    if (!this.search && this.trainer.iteration >= this.options.maxSteps) this.state = 'pausing';
    this.postStatus(this.firstStepPending);
    this.firstStepPending = false;
  }

  /**
   * Step (issue 21): exactly one iteration of a paused run, the same `advance` the loop takes (so the step counter,
   * the z and batch streams, the scheduled previews / evaluations / checkpoints are those of an uninterrupted run);
   * then every pending loss is read and posted, the masks panel and Figure 2 rendered at that step (unless the
   * schedule just did) and a checkpoint written, as a pause would. The run stays paused ('finished' at maxSteps).
   */
  step(): Promise<void> {
    if (this.disposed || this.state !== 'paused')
      return Promise.reject(new Error(`Step runs one iteration of a paused run; this run is ${this.state}`));
    if (this.trainer.iteration >= this.options.maxSteps)
      return Promise.reject(new Error(`the run has reached its ${this.options.maxSteps} steps: raise "steps" to go on`));
    return this.exclusive(async () => {
      if (this.state !== 'paused') return; // resumed meanwhile: the loop steps
      const t0 = performance.now();
      try {
        const r = await this.advance();
        await this.settle();
        if (!r.previews) this.postPreviews(await this.run.renderPreviews());
        if (!this.search && this.unsaved) await this.checkpoint();
      } catch (e) {
        if (e instanceof NonFiniteError) {
          this.fail(e);
          this.onFailure?.();
          return;
        }
        throw e;
      } finally {
        this.elapsedBefore += performance.now() - t0;
      }
      if (!this.search && this.trainer.iteration >= this.options.maxSteps) this.state = 'finished';
      this.postStatus(true);
    });
  }

  /**
   * Knobs mid-run (issue 21): the learning rates, λz and Adam's β, from the next iteration on (between two steps,
   * under the lock), recorded in the history (the page draws a line at the step; checkpoints and archives keep it).
   * Refused during a best-of-K search (each start must train with the settings it is ranked on).
   */
  setKnobs(k: Partial<Knobs>): Promise<KnobChange[]> {
    if (this.search) return Promise.reject(new Error('knobs can change once the best-of-K search has kept its start'));
    if (this.failure) return Promise.reject(new Error('this run stopped on a non-finite value: resume its last checkpoint first'));
    return this.exclusive(async () => {
      const changes = this.run.setKnobs(k);
      if (changes.length > 0) {
        this.unsaved = true;
        this.postKnobs();
        // A paused run is stored at once (a reload keeps the change); a running one with its next checkpoint.
        if (this.state !== 'running' && this.state !== 'pausing') await this.checkpoint();
        this.postStatus(true);
      }
      return changes;
    });
  }

  /** The history's knob changes reach the page: an empty chunk (entries from the end) carries the whole list. */
  private postKnobs(): void {
    this.postHistory();
    const h = this.history;
    this.post({ type: 'losses', runId: this.runId, chunk: historySince(h, h.step.length), reset: false, from: h.step.length });
  }

  /** One step of the run and the work due after it (the loop's and Step's). */
  private async advance(): Promise<StepReport> {
    const r = await this.run.step(this.schedule());
    this.unsaved = true;
    this.rate.tick(performance.now());
    this.noteRestarts(r.readings);
    if (r.previews) this.postPreviews(r.previews);
    if (r.evaluation) this.noteEvaluation(r.evaluation);
    this.postHistory();
    const search = this.search;
    if (search) {
      if (r.evaluation) this.postStarts();
      if (this.run.totalSteps >= Math.min(search.plan.steps, this.options.maxSteps)) await this.endStart(search);
    } else if (r.checkpointDue) await this.checkpoint();
    return r;
  }

  /** A collapse restart among the readings: noted with its reason, the page told at once. */
  private noteRestarts(readings: LossReading[]): void {
    const r = readings.find((x) => x.restarted);
    if (!r) return;
    const c = this.config;
    const why = new CollapseWatch(c.collapseThreshold, c.collapseLastIteration, c.collapseBinaryThreshold).describe(
      r.losses.minArea,
      r.losses.minAreaBinary,
    );
    this.lastRestart = { kind: 'collapse', step: r.step, why };
    this.postStatus(true);
  }

  /**
   * An evaluation wrote into the history's last entry (accuracy / IoU, spread / pairIoU): that entry goes to the page
   * again with the next chunk. A blob restart is noted with its reason.
   */
  private noteEvaluation(p: CurvePoint): void {
    this.postedUpTo = Math.min(this.postedUpTo, Math.max(0, this.history.step.length - 1));
    if (p.blobRestart) {
      this.lastRestart = { kind: 'blob', step: p.step, why: p.blobRestart };
      this.postStatus(true);
    }
  }

  /**
   * The start in progress has had its iterations: measured at its last step, scored and ranked (./starts.ts); the
   * best so far stays alive, the others are disposed. Then the next start, or, after the last, the kept one goes on.
   */
  private async endStart(search: StartsSearch): Promise<void> {
    await this.settle();
    const closing = await finalEvaluation(this.run);
    if (closing) this.noteEvaluation(closing);
    this.postHistory();
    search.records.push(startRecord(search.k, this.run));
    const best = keepBest(search.records);
    if (best === search.k) {
      search.kept?.dispose();
      search.kept = this.run;
    } else this.run.dispose();
    search.k += 1;
    if (search.k < search.plan.count) {
      this.current = search.make(startSeed(search.seed, search.k));
    } else {
      this.current = search.kept!;
      this.current.starts = search.records;
      this.search = null;
    }
    this.postFullHistory();
    this.postStarts();
    this.postStatus(true);
    if (!this.search) await this.checkpoint(); // the kept start is the run: stored at once, a reload offers it
  }

  /** The starts so far (during a search, the one training now with its record so far). */
  postStarts(): void {
    const search = this.search;
    if (!search) {
      if (this.run.starts.length === 0) return;
      const plan = { count: this.run.starts.length, steps: this.run.starts[0]!.steps };
      this.post({ type: 'starts', runId: this.runId, plan, records: this.run.starts, current: null });
      return;
    }
    const records = search.records.slice();
    if (this.run.curve.length > 0) records.push(startRecord(search.k, this.run));
    this.post({ type: 'starts', runId: this.runId, plan: search.plan, records, current: search.k });
  }

  /** Waits for the GPU, reads every pending loss and posts them (NonFiniteError when a reading is NaN / Inf). */
  private async settle(): Promise<void> {
    this.noteRestarts(await this.run.settle());
    this.postHistory();
  }

  private postHistory(): void {
    const h = this.history;
    if (this.postedUpTo >= h.step.length) return;
    const from = this.postedUpTo;
    const chunk = historySince(h, from);
    this.postedUpTo = h.step.length;
    this.post({ type: 'losses', runId: this.runId, chunk, reset: false, from });
  }

  /** The whole history (after a restore), replacing what the UI shows. */
  postFullHistory(): void {
    this.postedUpTo = this.history.step.length;
    this.post({ type: 'losses', runId: this.runId, chunk: historySince(this.history), reset: true, from: 0 });
  }

  /** A copy goes to the page (its buffers transferred); the run keeps its own for the archive. */
  private postPreviews(previews: PreviewSet): void {
    this.lastPreviewAt = performance.now();
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
    await saveCheckpoint(this.runId, this.dataset.summary.id, state, this.history, { best: this.run.best, starts: this.run.starts });
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

  /** The mask network's weights now, or the best ones kept (for segmentation and export with the current model). */
  maskWeights(which: WhichF = 'last'): Promise<ReadonlyMap<string, NamedTensorData>> {
    if (which === 'best') return Promise.resolve(this.bestF().weights);
    return this.exclusive(() => this.run.maskWeights());
  }

  /** F alone as a .safetensors file (the run's config, the iteration it is from and the seed in its metadata). */
  exportMaskWeights(which: WhichF): Promise<{ bytes: Uint8Array; step: number }> {
    return this.exclusive(async () => {
      await this.settle();
      const run = this.run;
      const seed = run.trainer.seed;
      if (which === 'best') {
        const b = this.bestF();
        return { bytes: maskNetworkFile({ config: run.config, weights: b.weights, step: b.iteration, seed }), step: b.step };
      }
      const bytes = maskNetworkFile({ config: run.config, weights: await run.maskWeights(), step: run.trainer.iteration, seed });
      return { bytes, step: run.totalSteps };
    });
  }

  private bestF(): BestF {
    const b = this.run.best;
    if (!b) throw new Error('no best F: it is kept for runs on a dataset with masks, from their first evaluation');
    return b;
  }

  /** Renders previews (and measures, with ground truth) now, e.g. right after a restore, outside the loop. */
  previewNow(): Promise<void> {
    return this.exclusive(async () => {
      this.postPreviews(await this.run.renderPreviews());
      this.noteEvaluation(await this.run.evaluate(false)); // measured only: no blob restart on opening a run
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
    const remaining = this.remainingSteps();
    return {
      state: this.state,
      runId: this.runId,
      datasetId: this.dataset.summary.id,
      datasetName: this.dataset.summary.name,
      config: this.config,
      step: this.trainer.iteration,
      restarts: this.trainer.restarts,
      blobRestarts: this.trainer.blobRestarts,
      lastRestart: this.lastRestart,
      best: this.run.best ? { step: this.run.best.step, iou: this.run.best.iou } : null,
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

  /** Iterations left to maxSteps; during a best-of-K search, the starts still to train count too. */
  private remainingSteps(): number {
    const max = this.options.maxSteps;
    const search = this.search;
    if (!search) return Math.max(0, max - this.trainer.iteration);
    const perStart = Math.min(search.plan.steps, max);
    const thisStart = Math.max(0, perStart - this.run.totalSteps);
    return thisStart + (search.plan.count - search.k - 1) * perStart + Math.max(0, max - perStart);
  }

  postStatus(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastStatusAt < STATUS_INTERVAL_MS) return;
    this.lastStatusAt = now;
    this.post({ type: 'status', status: this.status() });
  }

  /** Frees every tensor of the run (call after pause/stop), and a search's kept start. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.search?.kept && this.search.kept !== this.run) this.search.kept.dispose();
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
