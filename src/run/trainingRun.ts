/**
 * The run core: one ReDO training run over `RedoTrainer.stepOn`, the same for the studio and the headless trainer.
 * It owns the model, the trainer, the loss history, the evaluation set, the preview panel, the learning curve and
 * the archive; it knows nothing of where it runs (no DOM, no Node APIs, no storage, no messages). Its two adapters:
 * - src/worker/session.ts (the studio's worker) adds the message port, the lock between steps and IndexedDB;
 * - src/node/headless.ts (`npm run train`) adds files, the progress bar and signals.
 *
 * One step (`step(schedule)`): stepOn, then the work that is due, scheduled on the run's step (`history.step`, which
 * counts every iteration of the run across collapse restarts):
 * - losses: read back in batches, ONE readback for the losses of `lossEvery` steps (and always before previews, an
 *   evaluation or a checkpoint), named reads (LossValues); the collapse watch sees every reading in order, at most
 *   one restart per readback (the readings after a restart belong to the old networks). The studio reads every 5
 *   steps by default; the headless trainer reads every step (lossEvery 1) so that its log line and a collapse name
 *   the step they happened at; on WebGPU both stay at most one step ahead of the device (the fence or the read).
 *   A NaN / Inf reading ends the run with NonFiniteError (src/redo/finite.ts), naming the run's step.
 * - previews every `previewEvery` steps, an evaluation every `evalEvery` (./dependence.ts's label-free image
 *   dependence on a fixed panel of training images, always; accuracy / IoU where the run has held-out masks; both
 *   written into the history's last entry and a point on the learning curve), and `checkpointDue` every
 *   `checkpointEvery` (the adapter stores it).
 * - at each evaluation, the blob watch (src/redo/collapse.ts BlobWatch) on the dependence reading: a run whose masks
 *   ignore the image is restarted; and the F with the best held-out IoU so far is kept (`best`, archived beside the
 *   latest state as best-F.safetensors).
 */
import * as tf from '../redo/tf';
import {
  captureTrainingState,
  disposeLosses,
  exportWeights,
  importWeights,
  readLossBatch,
  RedoModel,
  RedoTrainer,
  restoreTrainer,
  type ImageSet,
  type Planes,
  type LossValues,
  type NamedTensorData,
  type RedoConfig,
  type StepLosses,
  type TrainingState,
} from '../redo';
import {
  cloneHistory,
  emptyHistory,
  recordDependence,
  recordKnobChange,
  recordLosses,
  withMetricColumns,
  type KnobChange,
  type LossHistory,
} from '../formats/history';
import { KNOB_KEYS, validateKnobs, type Knobs } from '../redo/config';
import { buildRunArchive, type BestF, type RunManifest, type StartRecord } from '../formats/runArchive';
import { BlobWatch } from '../redo/collapse';
import type { ImageDependence } from '../redo/metrics';
import { evaluate, type EvalResult, type EvalSet } from './evaluate';
import { dependencePanel, readDependence } from './dependence';
import { disposePreviewInputs, previewInputs, previewPngs, renderPreviews, type PreviewInputs, type PreviewSet } from './previews';

/** What a run trains on. */
export interface RunData {
  images: ImageSet;
  /** Binary object masks [N, S, S] of the training images, for the previews' ground-truth column. */
  objectMasks?: Planes;
  /** The dataset as the archive's manifest names it. */
  info: RunManifest['dataset'];
}

/** When the periodic work of a run happens, in steps of the run (0 = never). */
export interface Schedule {
  /** Losses are read back (one readback) every this many steps; 1 = every step. */
  lossEvery: number;
  previewEvery: number;
  /**
   * Asked once the step is taken: previews after it whatever its number (the studio's clock, so that a slow machine
   * still shows progress).
   */
  previewNow?: () => boolean;
  evalEvery: number;
  checkpointEvery: number;
}

/** One step's losses, as read back. */
export interface LossReading {
  /** The run's step (history's step). */
  step: number;
  /** The trainer's iteration after this step. */
  iteration: number;
  losses: LossValues;
  /** The collapse watch restarted every network on this reading. */
  restarted: boolean;
}

/** One evaluation on the learning curve. */
export interface CurvePoint {
  /** Steps of the whole run (history's step). */
  step: number;
  /** Iterations since the last (re)initialisation. */
  iteration: number;
  restarts: number;
  /** Held-out accuracy / IoU; null for a run without held-out masks. */
  result: EvalResult | null;
  /** How much F's masks depend on the image (label-free, on the run's panel of training images). */
  dependence: ImageDependence;
  /** Set when the blob watch restarted the run on this reading: why, in words. */
  blobRestart?: string;
}

/** What one call of `step` did. */
export interface StepReport {
  step: number;
  /** Losses read back during this step: none, or those of every step since the last readback. */
  readings: LossReading[];
  previews: PreviewSet | null;
  evaluation: CurvePoint | null;
  /** A checkpoint is due now (the adapter writes it; every loss is read). */
  checkpointDue: boolean;
}

/** Waits until the device has done the work submitted so far (WebGPU's queue fence); null where nothing waits. */
export type DeviceFence = () => Promise<void> | null;

interface PendingStep {
  losses: StepLosses;
  /** The trainer's iteration before the step. */
  iteration: number;
  step: number;
}

export class TrainingRun {
  readonly history: LossHistory;
  readonly curve: CurvePoint[] = [];
  /** Steps of the whole run so far (history's step of the last entry once every loss is read). */
  totalSteps: number;
  lastPreviews: PreviewSet | null = null;
  lastEval: EvalResult | null = null;
  /** The F with the best held-out IoU seen so far (runs with held-out masks). */
  best: BestF | null = null;
  /** A best-of-K search that chose this run: every start's scores (./starts.ts), kept in the archive. */
  starts: StartRecord[] = [];

  private readonly preview: PreviewInputs;
  private readonly panel: ImageSet;
  private readonly blobWatch: BlobWatch;
  private pending: PendingStep[] = [];
  private fence: Promise<void> | null = null;
  private disposed = false;

  private constructor(
    readonly model: RedoModel,
    readonly trainer: RedoTrainer,
    readonly data: RunData,
    readonly evalSet: EvalSet | null,
    history: LossHistory,
    private readonly deviceFence: DeviceFence | null,
  ) {
    this.history = evalSet ? withMetricColumns(history) : history;
    this.totalSteps = Math.max(trainer.iteration, history.step.at(-1) ?? 0);
    this.preview = previewInputs(model, data.images, data.objectMasks, trainer.seed);
    this.panel = dependencePanel(data.images);
    const c = model.config;
    this.blobWatch = new BlobWatch(c.blobPairIoU, c.blobSpread, c.blobFrom, c.blobLastIteration);
  }

  /** A new run from scratch, or from imported weights without optimizer state. */
  static create(a: {
    config: RedoConfig;
    seed: number;
    data: RunData;
    evalSet: EvalSet | null;
    weights?: ReadonlyMap<string, NamedTensorData>;
    fence?: DeviceFence;
  }): TrainingRun {
    checkSize(a.config, a.data);
    const model = new RedoModel(a.config, a.seed);
    try {
      if (a.weights) importWeights(model, a.weights);
    } catch (e) {
      model.dispose();
      throw e;
    }
    const trainer = new RedoTrainer(model, a.seed);
    return new TrainingRun(model, trainer, a.data, a.evalSet, emptyHistory(!!a.evalSet), a.fence ?? null);
  }

  /**
   * A run continued from a checkpoint or an archive: same weights, optimizer state, counters, seed and history, and
   * the best F and the starts it kept.
   */
  static restore(a: {
    state: TrainingState;
    history: LossHistory;
    data: RunData;
    evalSet: EvalSet | null;
    fence?: DeviceFence;
    best?: BestF | null;
    starts?: StartRecord[];
  }): TrainingRun {
    checkSize(a.state.config, a.data);
    const { model, trainer } = restoreTrainer(a.state);
    const run = new TrainingRun(model, trainer, a.data, a.evalSet, cloneHistory(a.history), a.fence ?? null);
    run.best = a.best ?? null;
    run.starts = a.starts ?? [];
    return run;
  }

  get config(): RedoConfig {
    return this.model.config;
  }

  /**
   * Turns knobs (src/redo/config.ts KNOB_KEYS) from the next step on: the trainer's config and live optimizers change
   * (moments kept), and each field whose value changes is recorded in the history at the run's step now. Call it
   * between steps. Returns the changes recorded (none when every value was already so); throws, changing nothing,
   * on a value a run cannot train with.
   */
  setKnobs(k: Partial<Knobs>): KnobChange[] {
    validateKnobs(k);
    const before = this.config;
    const changed: Partial<Knobs> = {};
    const changes: KnobChange[] = [];
    for (const field of KNOB_KEYS) {
      const to = k[field];
      if (to === undefined || Object.is(to, before[field])) continue;
      changed[field] = to;
      changes.push({ step: this.totalSteps, field, from: before[field], to });
    }
    if (changes.length === 0) return [];
    this.trainer.setKnobs(changed);
    for (const c of changes) recordKnobChange(this.history, c);
    return changes;
  }

  /** True on a device the run waits on between steps (WebGPU): the wait itself lets other work in. */
  get waitsOnDevice(): boolean {
    return this.fence !== null;
  }

  /** One training step and the work due after it (see the file's header). */
  async step(s: Schedule): Promise<StepReport> {
    const iteration = this.trainer.iteration;
    const losses = this.trainer.stepOn(this.data.images);
    this.totalSteps += 1;
    this.pending.push({ losses, iteration, step: this.totalSteps });
    if (this.deviceFence) {
      const previous = this.fence;
      this.fence = this.deviceFence();
      if (previous) await previous;
    }
    const step = this.totalSteps;
    const due = (every: number) => every > 0 && step % every === 0;
    const previews = due(s.previewEvery) || s.previewNow?.() === true;
    const evaluation = due(s.evalEvery);
    const checkpointDue = due(s.checkpointEvery);
    const readings =
      this.pending.length >= Math.max(1, s.lossEvery) || previews || evaluation || checkpointDue ? await this.flushLosses() : [];
    return {
      step,
      readings,
      previews: previews ? await this.renderPreviews() : null,
      evaluation: evaluation ? await this.evaluate() : null,
      checkpointDue,
    };
  }

  /** Waits for the device and reads every pending loss. */
  async settle(): Promise<LossReading[]> {
    if (this.fence) {
      await this.fence;
      this.fence = null;
    }
    return this.flushLosses();
  }

  /**
   * One readback for the losses of every pending step (the scalars disposed), recorded in the history; the NaN / Inf
   * guard and the collapse watch on each reading in order. A non-finite reading throws NonFiniteError naming the
   * run's step (RedoTrainer.checkFinite): it and every later reading are not recorded, and the run must not go on.
   */
  private async flushLosses(): Promise<LossReading[]> {
    if (this.pending.length === 0) return [];
    const pending = this.pending;
    this.pending = [];
    const values = await readLossBatch(pending.map((p) => p.losses));
    const readings: LossReading[] = [];
    let restarted = false;
    for (const [i, p] of pending.entries()) {
      const losses = values[i]!;
      await this.trainer.checkFinite(losses, p.step);
      recordLosses(this.history, p.step, losses);
      // Readings taken before a restart belong to the old networks: one restart per readback at most.
      const restartedHere: boolean = !restarted && this.trainer.checkCollapse(losses, p.iteration + 1);
      restarted ||= restartedHere;
      readings.push({ step: p.step, iteration: p.iteration + 1, losses, restarted: restartedHere });
    }
    return readings;
  }

  /** The panel and the Figure-2 grid with the model now (kept as `lastPreviews`). */
  async renderPreviews(): Promise<PreviewSet> {
    this.lastPreviews = await renderPreviews(this.model, this.preview, this.trainer.iteration);
    return this.lastPreviews;
  }

  /**
   * Measures now: the image dependence on the panel, and object accuracy / IoU on the evaluation set if any, into the
   * history's last entry and as a point on the curve. Then the F is kept if its held-out IoU is the best so far, and
   * the blob watch may restart the run (`watch` false: measure only, as after a restore).
   */
  async evaluate(watch = true): Promise<CurvePoint> {
    const masksOf = (x: tf.Tensor4D) => this.model.masks(x);
    const dependence = await readDependence(masksOf, this.panel, this.config.nRegions);
    const result = this.evalSet ? await evaluate(masksOf, this.evalSet, this.config.nRegions) : null;
    const h = this.history;
    recordDependence(h, dependence);
    if (result) {
      this.lastEval = result;
      if (h.accuracy && h.iou && h.step.length > 0) {
        h.accuracy[h.accuracy.length - 1] = result.object.accuracy;
        h.iou[h.iou.length - 1] = result.object.iou;
      }
      const iou = heldOutIoU(result);
      if (!this.best || iou > this.best.iou) {
        this.best = { step: this.totalSteps, iteration: this.trainer.iteration, iou, weights: await this.maskWeights() };
      }
    }
    const point: CurvePoint = {
      step: this.totalSteps,
      iteration: this.trainer.iteration,
      restarts: this.trainer.restarts,
      result,
      dependence,
    };
    if (watch && this.blobWatch.blob(this.trainer.iteration, dependence)) {
      point.blobRestart = this.blobWatch.describe(dependence);
      this.trainer.restart('blob');
    }
    this.curve.push(point);
    return point;
  }

  /**
   * The training state as plain arrays (weights, Adam moments, counters), inside an engine scope: the scope frees
   * any intermediate tensor it leaves behind (tfjs 4.22: Adam.state()'s tf.split pieces).
   */
  async captureState(): Promise<TrainingState> {
    tf.engine().startScope();
    try {
      return await captureTrainingState(this.trainer);
    } finally {
      tf.engine().endScope();
    }
  }

  /**
   * The run as a zip (src/formats/runArchive.ts), every loss read first. previews: 'last' (those last rendered,
   * if any), 'fresh' (rendered now) or 'none'.
   */
  async archive(previews: 'last' | 'fresh' | 'none'): Promise<Uint8Array> {
    await this.settle();
    const state = await this.captureState();
    const p = previews === 'fresh' ? await this.renderPreviews() : previews === 'last' ? this.lastPreviews : null;
    const m = this.lastEval;
    return buildRunArchive({
      state,
      history: this.history,
      dataset: this.data.info,
      ...(m ? { metrics: { accuracy: m.object.accuracy, iou: m.object.iou } } : {}),
      previews: p ? previewPngs(p) : [],
      ...(this.best ? { best: this.best } : {}),
      ...(this.starts.length ? { starts: this.starts } : {}),
    });
  }

  /** The mask network's weights now (segmentation with the current model). */
  maskWeights(): Promise<Map<string, NamedTensorData>> {
    return exportWeights(this.model, { prefix: 'netEncM.' });
  }

  /** Frees every tensor of the run. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.pending) disposeLosses(p.losses);
    this.pending = [];
    disposePreviewInputs(this.preview);
    this.trainer.dispose();
    this.model.dispose();
  }
}

/** The closing evaluation of a run (measured only: no blob restart now), unless its last step was just measured (null then). */
export async function finalEvaluation(run: TrainingRun): Promise<CurvePoint | null> {
  if (run.totalSteps === 0 || run.curve.at(-1)?.step === run.totalSteps) return null;
  return run.evaluate(false);
}

/** A curve point with held-out scores. */
export type ScoredPoint = CurvePoint & { result: EvalResult };
export function isScored(p: CurvePoint): p is ScoredPoint {
  return p.result !== null;
}

/** The held-out IoU a run is judged by: the authors' one-assignment score where it applies, else object IoU. */
export function heldOutIoU(r: EvalResult): number {
  return r.reference?.iou ?? r.object.iou;
}

function checkSize(config: RedoConfig, data: RunData): void {
  const s = data.images.size;
  if (config.imageSize !== s) {
    throw new Error(
      `the dataset "${data.info.name}" holds ${s}×${s} images but the model is ${config.imageSize}×${config.imageSize}; ` +
        `pick a dataset of that size or re-import the images at ${config.imageSize} px`,
    );
  }
}
