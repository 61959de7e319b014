/**
 * The headless training loop (Node): the exact src/redo trainer, batches drawn by sampleBatches from the run's
 * seed, the collapse watch on every step's smallest region area, the loss history the studio keeps (its `step`
 * counts every iteration of the run, across restarts), held-out evaluation every K steps, and the run archive
 * the studio exports (src/worker/runArchive.ts), previews included (src/worker/previews.ts).
 *
 * Losses are read back once per step (one batched read of its scalars): on the CPU backend that costs
 * nothing; on WebGPU it also keeps the host at most one step ahead of the device. A non-finite reading ends the
 * run with NonFiniteError (src/redo/finite.ts); the archive writer refuses non-finite weights as well.
 */
import * as tf from '../redo/tf';
import {
  captureTrainingState,
  gatherImages,
  readLossBatch,
  RedoModel,
  RedoTrainer,
  restoreTrainer,
  type ImageSet,
  type RedoConfig,
  type LossValues,
  type StepLosses,
  type TrainingState,
} from '../redo';
import { buildRunArchive, encodePng, recordLosses, type LossHistory, type RunManifest } from '../worker/runArchive';
import { renderPreviews, spreadIndices, type PreviewInputs } from '../worker/previews';
import { evaluate, type EvalResult, type EvalSet } from './evaluate';
import { RateMeter } from './progress';

export type StepValues = LossValues;

/** One evaluation on the learning curve. */
export interface CurvePoint {
  /** Steps of the whole run (history's step). */
  step: number;
  /** Iterations since the last (re)initialisation. */
  iteration: number;
  restarts: number;
  result: EvalResult;
}

export interface RunCallbacks {
  /** After every step, with that step's losses. */
  onStep?: (a: { step: number; done: number; losses: StepValues; restarted: boolean; itPerSec: number }) => void;
  onEval?: (p: CurvePoint) => void;
  /** Every `checkpointEvery` steps (the caller writes the archive). */
  onCheckpoint?: () => Promise<void>;
  /** Checked after every step; true ends the run after that step. */
  shouldStop?: () => boolean;
}

const PANEL_SIZE = 8;
const FIGURE_ROWS = 4;
const REDRAW_COLUMNS = 3;

export function emptyHistory(withMetrics: boolean): LossHistory {
  const h: LossHistory = { step: [], gAdv: [], gRecZ: [], dReal: [], dFake: [] };
  if (withMetrics) {
    h.accuracy = [];
    h.iou = [];
  }
  return h;
}

export class HeadlessRun {
  readonly config: RedoConfig;
  readonly curve: CurvePoint[] = [];
  lastEval: EvalResult | null = null;
  /** Steps of the whole run so far (history's step of the last entry). */
  totalSteps: number;
  private readonly preview: PreviewInputs;
  private readonly previewTruth?: Float32Array;

  private constructor(
    readonly model: RedoModel,
    readonly trainer: RedoTrainer,
    readonly data: ImageSet,
    readonly evalSet: EvalSet | null,
    readonly history: LossHistory,
    readonly datasetInfo: RunManifest['dataset'],
    /** Object masks [N, S, S] of the training images, for the preview's ground-truth column. */
    trainObject?: Float32Array,
  ) {
    this.config = model.config;
    if (evalSet && (!history.accuracy || !history.iou)) {
      history.accuracy = history.step.map(() => NaN);
      history.iou = history.step.map(() => NaN);
    }
    this.totalSteps = Math.max(trainer.iteration, history.step.length ? history.step[history.step.length - 1]! : 0);
    const s = this.config.imageSize;
    const plane = s * s;
    const idx = spreadIndices(data.count, PANEL_SIZE);
    const panelPixels = new Float32Array(idx.length * plane * 3);
    idx.forEach((d, i) => panelPixels.set(data.pixels.subarray(d * plane * 3, (d + 1) * plane * 3), i * plane * 3));
    if (trainObject) {
      this.previewTruth = new Float32Array(idx.length * plane);
      idx.forEach((d, i) => this.previewTruth!.set(trainObject.subarray(d * plane, (d + 1) * plane), i * plane));
    }
    this.preview = {
      panel: gatherImages(data, idx),
      panelPixels,
      ...(this.previewTruth ? { panelTruth: this.previewTruth } : {}),
      zColumns: model.sampleZ(REDRAW_COLUMNS, 0x5eed + trainer.seed),
      figureRows: FIGURE_ROWS,
    };
  }

  static create(a: { config: RedoConfig; seed: number; data: ImageSet; evalSet: EvalSet | null; dataset: RunManifest['dataset']; trainObject?: Float32Array }): HeadlessRun {
    checkSize(a.config, a.data);
    const model = new RedoModel(a.config, a.seed);
    const trainer = new RedoTrainer(model, a.seed);
    return new HeadlessRun(model, trainer, a.data, a.evalSet, emptyHistory(!!a.evalSet), a.dataset, a.trainObject);
  }

  /** A run continued from an archive's state and history (weights, optimizer moments, counters and seed). */
  static restore(a: {
    state: TrainingState;
    history: LossHistory;
    data: ImageSet;
    evalSet: EvalSet | null;
    dataset: RunManifest['dataset'];
    trainObject?: Float32Array;
  }): HeadlessRun {
    checkSize(a.state.config, a.data);
    const { model, trainer } = restoreTrainer(a.state);
    return new HeadlessRun(model, trainer, a.data, a.evalSet, a.history, a.dataset, a.trainObject);
  }

  /**
   * Reads one step's losses (one readback), stops the run on a NaN / Inf (NonFiniteError, naming the step),
   * records them, runs the collapse watch.
   */
  private async record(losses: StepLosses, iteration: number): Promise<{ values: StepValues; restarted: boolean }> {
    const [values] = await readLossBatch([losses]);
    await this.trainer.checkFinite(values!, this.totalSteps);
    recordLosses(this.history, this.totalSteps, values!);
    const restarted = this.trainer.checkCollapse(values!, iteration + 1);
    return { values: values!, restarted };
  }

  /** Scores the held-out set now; stores the object accuracy / IoU in the history's last entry (as the studio does). */
  async evaluateNow(): Promise<EvalResult | null> {
    if (!this.evalSet) return null;
    const result = await evaluate((x) => this.model.masks(x), this.evalSet, this.config.nRegions);
    this.lastEval = result;
    const h = this.history;
    if (h.accuracy && h.iou && h.step.length > 0) {
      h.accuracy[h.accuracy.length - 1] = result.object.accuracy;
      h.iou[h.iou.length - 1] = result.object.iou;
    }
    const point: CurvePoint = { step: this.totalSteps, iteration: this.trainer.iteration, restarts: this.trainer.restarts, result };
    this.curve.push(point);
    return result;
  }

  /**
   * Runs up to `steps` iterations (fewer when `shouldStop` says so). Evaluates every `evalEvery` steps of the
   * whole run (0 = never), calls onCheckpoint every `checkpointEvery` (0 = never). Returns the steps done.
   */
  async run(steps: number, opts: { evalEvery: number; checkpointEvery: number }, cb: RunCallbacks = {}): Promise<number> {
    const t = this.trainer;
    const rate = new RateMeter(20);
    rate.tick(performance.now());
    let done = 0;
    while (done < steps) {
      const it = t.iteration;
      const losses = t.stepOn(this.data);
      this.totalSteps += 1;
      done += 1;
      const { values, restarted } = await this.record(losses, it);
      rate.tick(performance.now());
      cb.onStep?.({ step: this.totalSteps, done, losses: values, restarted, itPerSec: rate.rate() });
      if (opts.evalEvery > 0 && this.totalSteps % opts.evalEvery === 0 && this.evalSet) {
        await this.evaluateNow();
        cb.onEval?.(this.curve[this.curve.length - 1]!);
      }
      if (opts.checkpointEvery > 0 && this.totalSteps % opts.checkpointEvery === 0) await cb.onCheckpoint?.();
      // Let signal handlers and timers run between steps (the CPU backend never yields by itself).
      await new Promise<void>((r) => setImmediate(r));
      if (cb.shouldStop?.()) break;
    }
    return done;
  }

  /** The run as the studio's export zip: manifest, weights, optimizer, losses, and (optionally) the previews. */
  async archive(withPreviews = true): Promise<Uint8Array> {
    const state = await this.captureState();
    const previews: Array<{ name: string; png: Uint8Array }> = [];
    if (withPreviews) {
      const p = await renderPreviews(this.model, this.preview, this.trainer.iteration);
      const png = (img: { data: Uint8ClampedArray; width: number; height: number }) =>
        encodePng(new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength), img.width, img.height);
      previews.push({ name: 'masks-overlay', png: png(p.overlay) });
      previews.push({ name: 'masks-cutouts', png: png(p.cutouts) });
      previews.push({ name: 'figure2', png: png(p.figure2) });
    }
    const m = this.lastEval;
    return buildRunArchive({
      state,
      history: this.history,
      dataset: this.datasetInfo,
      ...(m ? { metrics: { accuracy: m.object.accuracy, iou: m.object.iou } } : {}),
      previews,
    });
  }

  /**
   * captureTrainingState inside an engine scope: it returns plain arrays, and the scope frees any intermediate
   * tensor it leaves behind (tfjs 4.22: Adam.state()'s tf.split pieces, ~2 tensors per parameter per capture).
   */
  async captureState(): Promise<TrainingState> {
    tf.engine().startScope();
    try {
      return await captureTrainingState(this.trainer);
    } finally {
      tf.engine().endScope();
    }
  }

  dispose(): void {
    this.preview.panel.dispose();
    this.preview.zColumns.dispose();
    this.trainer.dispose();
    this.model.dispose();
  }
}

function checkSize(config: RedoConfig, data: ImageSet): void {
  if (config.imageSize !== data.size) throw new Error(`the run trains on ${config.imageSize} px images, the dataset has ${data.size} px`);
}
