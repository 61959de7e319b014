/**
 * `npm run train -- …` (scripts/train.ts): the headless trainer, the run core (src/run) with files, the progress bar
 * and signals. See TRAIN_USAGE in ./args.ts and the README's *Headless trainer*.
 */
import * as tf from '../redo/tf';
import { KNOB_KEYS, preset, withTrainingSettings, type RedoConfig } from '../redo/config';
import { recordKnobChange, type KnobChange } from '../formats/history';
import { CollapseWatch } from '../redo/collapse';
import { parseTrainArgs, TRAIN_USAGE, type TrainOptions } from './args';
import { ArgsError } from './cli';
import { describeBackend, setupBackend, type BackendInfo } from './backend';
import { readArchiveFile, readWeightsFileAt, writeFileAtomic } from './archiveFile';
import { loadTrainingData } from './datasets';
import { C2MNIST_COLLAPSE } from './c2mnist';
import { formatEval } from '../run/evaluate';
import { TrainingRun, type CurvePoint } from '../run/trainingRun';
import { describeStart, keepBest, startRecord, startSeed } from '../run/starts';
import { finalEvaluation, runSteps } from './headless';
import { appendFileSync, existsSync } from 'node:fs';
import { onStopRequest } from './supervise';
import { formatDuration, logLine, progressLine } from './progress';
import type { BestF, RunManifest, StartRecord } from '../formats/runArchive';
import type { LossHistory } from '../formats/history';
import { NonFiniteError, type LossValues, type NamedTensorData, type TrainingState } from '../redo';

/** The exit code of a run stopped by the NaN / Inf guard. */
export const EXIT_DIVERGED = 3;

interface Out {
  log: (s: string) => void;
  /** The progress bar line (a terminal only); '' clears it. */
  bar: (s: string) => void;
}

function terminal(): Out {
  const tty = process.stderr.isTTY === true;
  let shown = false;
  const clear = () => {
    if (shown) process.stderr.write('\r\x1b[2K');
    shown = false;
  };
  return {
    log: (s) => {
      clear();
      process.stdout.write(`${s}\n`);
    },
    bar: (s) => {
      if (!tty) return;
      clear();
      if (s) {
        process.stderr.write(s.slice(0, (process.stderr.columns ?? 120) - 1));
        shown = true;
      }
    },
  };
}

/**
 * --backend: cpu and wasm as asked; webgpu as asked (falling back to wasm when it cannot start, saying why);
 * auto (the default) = webgpu on a real GPU, else wasm (XNNPACK), the fastest CPU path.
 */
export async function chooseBackend(o: Pick<TrainOptions, 'backend' | 'vulkan'>, log: (s: string) => void): Promise<BackendInfo> {
  if (o.backend === 'cpu' || o.backend === 'wasm') return setupBackend(o.backend);
  const info = await setupBackend('webgpu', { vulkan: o.vulkan, fallback: true });
  if (info.fallbackReason) log(`webgpu unavailable (${info.fallbackReason}); training on ${describeBackend(info)}`);
  else if (/swiftshader/i.test(info.adapter ?? '')) {
    if (o.backend === 'auto') {
      const wasm = await setupBackend('wasm', { fallback: true });
      log(`no GPU: the webgpu adapter is SwiftShader (Vulkan emulated on the CPU); --backend auto chose ${describeBackend(wasm)}`);
      return { ...wasm, fallbackReason: `SwiftShader only${wasm.fallbackReason ? `; ${wasm.fallbackReason}` : ''}` };
    }
    log('note: the webgpu adapter is SwiftShader (Vulkan emulated on the CPU): correct but far slower than --backend wasm on this machine');
  }
  return info;
}

/** The config fields the command line sets: `--set`, then `--size`, `--regions`, `--batch`. */
function cliOverrides(o: TrainOptions): Partial<RedoConfig> {
  const overrides: Partial<RedoConfig> = { ...o.set };
  if (o.size) overrides.imageSize = o.size;
  if (o.regions) overrides.nRegions = o.regions;
  if (o.batch) overrides.batchSize = o.batch;
  return overrides;
}

function configFor(o: TrainOptions): RedoConfig {
  // colored-2-MNIST's digits cover ~2–3 % of the image: the presets' collapse threshold (0.1) would restart a
  // correct segmentation (see C2MNIST_COLLAPSE_THRESHOLD); `--set collapseThreshold=…` still wins.
  return preset(o.preset, { ...(o.dataset === 'c2mnist' ? C2MNIST_COLLAPSE : {}), ...cliOverrides(o) });
}

/** `masks' spread 0.152, pairIoU 0.731` (label-free, on the panel of training images). */
function formatDependence(p: CurvePoint): string {
  return `masks' spread ${p.dependence.spread.toFixed(3)}, pairIoU ${p.dependence.pairIoU.toFixed(3)}`;
}

/** One evaluation as a JSON line with the field names of the authors' ref_train.py log, for side-by-side curves. */
function appendCurve(file: string, p: CurvePoint, wallS: number, losses: LossValues | null): void {
  const r =
    p.result &&
    (p.result.reference ?? {
      iou: p.result.object.iou,
      accuracy: p.result.object.accuracy,
      iouPerImage: p.result.object.iou,
      accuracyPerImage: p.result.object.accuracy,
      region: 0,
    });
  const row = {
    kind: 'eval',
    it: p.step,
    wall: Math.round(wallS * 10) / 10,
    ...(r ? { iou: r.iou, acc: r.accuracy, iouPerImage: r.iouPerImage, accPerImage: r.accuracyPerImage, region: r.region } : {}),
    spread: p.dependence.spread,
    pairIoU: p.dependence.pairIoU,
    restarts: p.restarts,
    ...(p.blobRestart ? { blobRestart: p.blobRestart } : {}),
    ...(losses ? { gAdv: losses.gAdv, recZ: losses.gRecZ, dReal: losses.dReal, dFake: losses.dFake } : {}),
    ...(losses ? { minArea: losses.minArea, minAreaBinary: losses.minAreaBinary } : {}),
  };
  appendFileSync(file, `${JSON.stringify(row)}\n`);
}

export async function trainMain(argv: string[]): Promise<number> {
  let o: TrainOptions;
  try {
    o = parseTrainArgs(argv);
  } catch (e) {
    if (e instanceof ArgsError) {
      process.stderr.write(`${e.message}\n\n${TRAIN_USAGE}`);
      return 2;
    }
    throw e;
  }
  if (o.help) {
    process.stdout.write(TRAIN_USAGE);
    return 0;
  }
  const out = terminal();
  const backend = await chooseBackend(o, out.log);
  out.log(`backend: ${describeBackend(backend)}, tfjs ${tf.version.tfjs}`);

  let resumed: { manifest: RunManifest; state: TrainingState; history: LossHistory; best?: BestF } | null = null;
  let config: RedoConfig;
  if (o.resume) {
    resumed = await readArchiveFile(o.resume);
    // training settings (--set lrF=…, --batch) may change on resume; the networks' shapes (--size, --regions) may not
    try {
      config = withTrainingSettings(resumed.state.config, cliOverrides(o));
    } catch (e) {
      process.stderr.write(`--resume ${o.resume}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
    const archived = resumed.state.config;
    // The archive's config holds the settings the run trained with last, knobs turned in the studio included
    // (issue 21): the run goes on with them; the history of those changes is logged and kept.
    const recorded = resumed.history.knobs ?? [];
    if (recorded.length)
      out.log(
        `--resume: knobs turned during the run (kept): ${recorded.map(describeKnobChange).join('; ')}; ` +
          `training goes on with ${KNOB_KEYS.map((k) => `${k}=${archived[k]}`).join(', ')}`,
      );
    const changed = (Object.keys(config) as Array<keyof RedoConfig>).filter((k) => config[k] !== archived[k]);
    if (changed.length)
      out.log(
        `--resume: training settings changed: ${changed.map((k) => `${k} ${String(archived[k])} → ${String(config[k])}`).join(', ')}`,
      );
    // Knobs changed on the command line join the run's history of changes, at the step it resumes from.
    const at = Math.max(resumed.state.iteration, resumed.history.step.at(-1) ?? 0);
    const history = { ...resumed.history, ...(resumed.history.knobs ? { knobs: resumed.history.knobs.slice() } : {}) };
    for (const field of KNOB_KEYS)
      if (config[field] !== archived[field]) recordKnobChange(history, { step: at, field, from: archived[field], to: config[field] });
    resumed = { ...resumed, history, state: { ...resumed.state, config } };
    out.log(
      `resuming ${o.resume}: step ${resumed.history.step.at(-1) ?? 0} (iteration ${resumed.state.iteration}, ` +
        `restarts ${resumed.state.restarts}), dataset "${resumed.manifest.dataset.name}"`,
    );
  } else config = configFor(o);
  let initial: Map<string, NamedTensorData> | undefined;
  if (o.init) {
    const w = await readWeightsFileAt(o.init, config.imageSize);
    if (!w.trainable) {
      process.stderr.write(`--init ${o.init}: it holds F alone (for segmentation); a run needs G, D and δ too\n`);
      return 2;
    }
    initial = w.tensors;
    out.log(`initial weights: ${o.init} (${w.tensors.size} tensors; optimizers start fresh)`);
  }

  const t0 = performance.now();
  const data = await loadTrainingData({
    dataset: o.dataset,
    ...(o.masks ? { masks: o.masks } : {}),
    size: config.imageSize,
    nRegions: config.nRegions,
    count: o.count,
    ...(o.evalCount !== undefined ? { evalCount: o.evalCount } : {}),
    ...(o.evalData ? { evalData: o.evalData } : {}),
    onProgress: (d, n) => out.bar(`reading images ${d}/${n}`),
  });
  out.bar('');
  for (const s of data.skipped) out.log(`skipped ${s.name}: ${s.reason}`);
  for (const w of data.warnings.slice(0, 20)) out.log(`warning ${w.name}: ${w.reason}`);
  if (data.warnings.length > 20) out.log(`… and ${data.warnings.length - 20} more warnings`);
  out.log(
    `dataset "${data.info.name}": ${data.train.count} training images at ${config.imageSize} px` +
      `${data.evalSet ? `, ${data.evalSet.images.count} held out for accuracy / IoU` : ', no ground truth'} ` +
      `(${formatDuration((performance.now() - t0) / 1000)})`,
  );
  if (resumed && (resumed.manifest.dataset.name !== data.info.name || resumed.manifest.dataset.size !== data.info.size)) {
    out.log(
      `note: the archive was trained on "${resumed.manifest.dataset.name}" (${resumed.manifest.dataset.size} px); ` +
        `continuing on "${data.info.name}"`,
    );
  }

  const runData = { images: data.train, ...(data.trainObject ? { objectMasks: data.trainObject } : {}), info: data.info };
  const createRun = (seed: number): TrainingRun => {
    try {
      return TrainingRun.create({ config, seed, data: runData, evalSet: data.evalSet, ...(initial ? { weights: initial } : {}) });
    } catch (e) {
      if (!o.init) throw e;
      throw new Error(`--init ${o.init} does not fit --preset ${o.preset}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  };
  out.log(`config: ${o.resume ? '(from the archive)' : o.preset} ${JSON.stringify(config)}`);

  let stopRequested = false;
  const removeStop = onStopRequest((reason, again) => {
    if (again) {
      out.log(`${reason} again: exiting without a checkpoint`);
      process.exit(130);
    }
    stopRequested = true;
    out.log(`${reason}: finishing this step, then writing ${o.out} (Ctrl-C again to quit at once)`);
  });

  let lastWritten: number | null = null;
  const writeArchive = async (run: TrainingRun, why: string) => {
    const t = performance.now();
    const bytes = await run.archive(o.previews ? 'fresh' : 'none');
    await writeFileAtomic(o.out, bytes);
    lastWritten = run.totalSteps;
    const best = run.best ? `, best F from step ${run.best.step}: held-out IoU ${run.best.iou.toFixed(3)}` : '';
    out.log(
      `wrote ${o.out} (${(bytes.length / 1024).toFixed(0)} KiB, step ${run.totalSteps}${best}, ${why}, ` +
        `${formatDuration((performance.now() - t) / 1000)})`,
    );
  };

  const start = performance.now();
  let last: LossValues | null = null;
  const watch = new CollapseWatch(config.collapseThreshold, config.collapseLastIteration, config.collapseBinaryThreshold);
  let lateCollapse = false;
  /** Trains `run` for `steps` steps with the log, the curve file and (unless a start) the checkpoints. */
  const train = (run: TrainingRun, steps: number, checkpoints: boolean) =>
    runSteps(
      run,
      steps,
      { evalEvery: o.evalEvery, checkpointEvery: checkpoints ? o.checkpointEvery : 0 },
      {
        onStep: ({ step, done, losses, restarted, itPerSec }) => {
          last = losses;
          const elapsedS = (performance.now() - start) / 1000;
          const why = () => watch.describe(losses.minArea, losses.minAreaBinary);
          if (restarted) out.log(`collapse at step ${step} (${why()}): all networks re-initialised (restart ${run.trainer.restarts})`);
          else if (!lateCollapse && watch.under(losses.minArea, losses.minAreaBinary)) {
            lateCollapse = true; // past collapseLastIteration: said once, not restarted
            out.log(
              `warning: the masks look collapsed at step ${step} (${why()}); past iteration ${config.collapseLastIteration} the ` +
                'collapse watch no longer restarts: an earlier checkpoint may be the one to keep',
            );
          }
          if (done % o.logEvery === 0 || done === steps) {
            out.log(logLine({ step, done, total: steps, losses, itPerSec, elapsedS, restarts: run.trainer.restarts }));
          }
          out.bar(progressLine({ done, total: steps, itPerSec, elapsedS, step }));
        },
        onEval: (p) => logEval(run, p),
        onCheckpoint: () => writeArchive(run, 'checkpoint'),
        shouldStop: () => stopRequested,
      },
    );
  const logEval = (run: TrainingRun, p: CurvePoint) => {
    const newBest = p.result && run.best?.step === p.step && run.curve.filter((c) => c.result).length > 1 ? ' (best so far, kept)' : '';
    out.log(
      `eval step ${p.step}: ${formatDependence(p)}${p.result ? ` | ${formatEval(p.result, run.evalSet!.regionNames)}${newBest}` : ''}`,
    );
    if (p.blobRestart) {
      out.log(
        `blob watch at step ${p.step} (iteration ${p.iteration}): ${p.blobRestart}; all networks re-initialised ` +
          `(restart ${run.trainer.restarts}, ${run.trainer.blobRestarts} by the blob watch)`,
      );
    }
    if (o.curve) appendCurve(o.curve, p, (performance.now() - start) / 1000, last);
  };

  let run: TrainingRun;
  let stepsLeft = o.steps;
  try {
    if (resumed) {
      run = TrainingRun.restore({
        state: resumed.state,
        history: resumed.history,
        data: runData,
        evalSet: data.evalSet,
        best: resumed.best ?? null,
        starts: resumed.manifest.starts ?? [],
      });
    } else if (o.starts > 1) {
      run = await bestOfStarts();
      stepsLeft = o.steps - run.totalSteps;
    } else run = createRun(o.seed);
  } catch (e) {
    removeStop();
    throw e;
  }
  const startStep = run.totalSteps;

  /** Best of K starts: each start trained for --start-steps and measured; the best one's state is kept and returned. */
  async function bestOfStarts(): Promise<TrainingRun> {
    const records: StartRecord[] = [];
    let kept: { state: TrainingState; history: LossHistory; best: TrainingRun['best']; curve: CurvePoint[] } | null = null;
    const by = data.evalSet ? 'held-out IoU' : 'the masks’ image dependence (1 − pairIoU; no held-out masks)';
    out.log(`best of ${o.starts} starts, ${o.startSteps} iterations each, ranked by ${by}`);
    for (let k = 0; k < o.starts && !(stopRequested && records.length > 0); k++) {
      const seed = startSeed(o.seed, k);
      out.log(`start ${k + 1}/${o.starts}: seed ${seed}`);
      const r = createRun(seed);
      try {
        await train(r, o.startSteps, false);
        await finalEvaluation(r);
        const rec = startRecord(k, r);
        const isBest = kept === null || rec.score > Math.max(...records.map((x) => x.score));
        records.push(rec);
        out.log(`${describeStart(rec)}${isBest ? ' — best so far' : ''}`);
        if (isBest) kept = { state: await r.captureState(), history: r.history, best: r.best, curve: r.curve };
      } finally {
        r.dispose();
      }
    }
    const i = keepBest(records);
    const spent = records.reduce((n, x) => n + x.steps, 0);
    out.log(`kept start ${i + 1} (seed ${records[i]!.seed}) of ${records.length}; the starts took ${spent} iterations`);
    const chosen = TrainingRun.restore({
      state: kept!.state,
      history: kept!.history,
      data: runData,
      evalSet: data.evalSet,
      best: kept!.best,
      starts: records,
    });
    chosen.curve.push(...kept!.curve);
    return chosen;
  }

  try {
    if (!stopRequested) await train(run, stepsLeft, true);
    const closing = await finalEvaluation(run);
    if (closing) logEval(run, closing);
    await writeArchive(run, stopRequested ? 'interrupted' : 'final');
  } catch (e) {
    if (!(e instanceof NonFiniteError)) throw e;
    // The NaN / Inf guard: nothing non-finite is written; the archive of the last checkpoint (if any) stays as it was.
    out.bar('');
    const kept =
      lastWritten !== null
        ? `${o.out} keeps the last good checkpoint (step ${lastWritten}); nothing after it was written`
        : existsSync(o.out)
          ? `${o.out} was not touched (it is the file from before this run)`
          : `no archive was written (the run had no checkpoint yet)`;
    process.stderr.write(`error: ${e.message}.\n${kept}. Lower the learning rates (--set lrG=…) and resume or start again.\n`);
    run.dispose();
    return EXIT_DIVERGED;
  } finally {
    removeStop();
  }
  const secs = (performance.now() - start) / 1000;
  const n = run.totalSteps - startStep;
  out.log(
    `${stopRequested ? 'stopped' : 'done'}: ${n} steps in ${formatDuration(secs)} ` +
      `(${(n / Math.max(secs, 1e-9)).toFixed(2)} it/s), restarts ${run.trainer.restarts} (${run.trainer.blobRestarts} by the blob watch)` +
      `${last ? `, last gAdv ${(last as { gAdv: number }).gAdv.toFixed(3)}` : ''}`,
  );
  run.dispose();
  return stopRequested ? 130 : 0;
}

/** One recorded knob change in words: `at step 12: lrF 0.00001 → 0.00002`. */
export function describeKnobChange(c: KnobChange): string {
  return `at step ${c.step}: ${c.field} ${c.from} → ${c.to}`;
}
