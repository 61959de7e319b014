/**
 * Best of K starts (the paper restarts runs that fail early, and picks models by held-out IoU): K runs from seeds
 * derived from the run's seed, each trained for the same few iterations, ranked, and the best one continued. This
 * file is the part the studio and the headless trainer share: the seeds, the score, the ranking and the record the
 * archive keeps; each adapter drives the steps its own way.
 */
import { deriveSeed } from '../redo';
import type { ImageDependence } from '../redo/metrics';
import type { StartRecord } from '../formats/runArchive';
import { heldOutIoU, type TrainingRun } from './trainingRun';

/** Start k's seed: start 0 is the run's own seed (one start is a plain run); the others are derived from it. */
export function startSeed(seed: number, k: number): number {
  return k === 0 ? seed : deriveSeed(seed, 0x57a7, k) % 1_000_000;
}

/**
 * The label-free score of a start (higher is better): 1 − the masks' pairwise IoU on the panel. A run that will
 * settle on one blob or stripe for every image reads pairIoU ≈ 0.9 early; docs/recipe-objects-32.md, "Early signs",
 * has the evidence for this choice.
 */
export function labelFreeScore(d: ImageDependence): number {
  return Number.isFinite(d.pairIoU) ? 1 - d.pairIoU : -Infinity;
}

/** What start k did, from its run's curve (its last point scores it). */
export function startRecord(k: number, run: TrainingRun): StartRecord {
  const last = run.curve.at(-1);
  if (!last) throw new Error(`start ${k} has no evaluation to rank it by`);
  const iou = last.result ? heldOutIoU(last.result) : undefined;
  return {
    start: k,
    seed: run.trainer.seed,
    steps: run.totalSteps,
    ...(iou !== undefined ? { iou } : {}),
    spread: last.dependence.spread,
    pairIoU: last.dependence.pairIoU,
    score: iou ?? labelFreeScore(last.dependence),
    rankedBy: iou !== undefined ? 'held-out IoU' : 'label-free',
    kept: false,
    curve: run.curve.map((p) => ({
      step: p.step,
      ...(p.result ? { iou: heldOutIoU(p.result) } : {}),
      spread: p.dependence.spread,
      pairIoU: p.dependence.pairIoU,
    })),
  };
}

/** Index of the best start (the first of equals); the records are marked with `kept`. */
export function keepBest(records: StartRecord[]): number {
  let best = 0;
  records.forEach((r, i) => {
    if (r.score > records[best]!.score) best = i;
  });
  records.forEach((r, i) => (r.kept = i === best));
  return best;
}

/** `start 2 (seed 123456): held-out IoU 0.512, spread 0.151, pairIoU 0.73` */
export function describeStart(r: StartRecord): string {
  const iou = r.iou !== undefined ? `held-out IoU ${r.iou.toFixed(3)}, ` : '';
  return `start ${r.start + 1} (seed ${r.seed}): ${iou}spread ${r.spread.toFixed(3)}, pairIoU ${r.pairIoU.toFixed(3)}`;
}
