/**
 * The collapse watch: early in training F may give one region everything. Two readings of the step's masks are
 * watched, each against its own threshold, until `lastIteration`:
 * - the smallest mean (soft) region area, below `threshold` (the reference's suggested 0.1 in the presets);
 * - the smallest binarised region area (the fraction of pixels a region owns; for n = 2 the authors' train.py
 *   reading `mask ≥ 0.5`), below `binaryThreshold`. It catches the collapse the soft area misses: every mask
 *   value just under 0.5, soft area ≈ 0.5, binarised area 0.
 * Either reading under its threshold before `lastIteration` re-initialises all networks and starts over.
 * A threshold of 0 turns that reading's watch off.
 */
export class CollapseWatch {
  constructor(
    readonly threshold: number,
    readonly lastIteration: number,
    readonly binaryThreshold = 0,
  ) {}

  /** True when a reading is under its threshold, whatever the iteration (past `lastIteration`: a warning only). */
  under(smallestArea: number, smallestBinaryArea = Infinity): boolean {
    return smallestArea < this.threshold || smallestBinaryArea < this.binaryThreshold;
  }

  /** What is under its threshold, in words: `smallest region area 0.043 < 0.1` (and / or the binarised one). */
  describe(smallestArea: number, smallestBinaryArea = Infinity): string {
    const parts: string[] = [];
    if (smallestArea < this.threshold) parts.push(`smallest region area ${smallestArea.toFixed(3)} < ${this.threshold}`);
    if (smallestBinaryArea < this.binaryThreshold) {
      const area = smallestBinaryArea.toFixed(3);
      parts.push(`smallest binarised region area ${area} < ${this.binaryThreshold} (a region owns almost no pixel)`);
    }
    return parts.join(', ');
  }

  /** True when this reading at this iteration calls for a restart. */
  collapsed(iteration: number, smallestArea: number, smallestBinaryArea = Infinity): boolean {
    return iteration < this.lastIteration && this.under(smallestArea, smallestBinaryArea);
  }
}

/**
 * The blob watch: a run whose masks stop depending on the image (one blob or stripe for every picture, see
 * metrics.ts `imageDependence`) rarely recovers, and shows it early (docs/recipe-objects-32.md, "Early signs").
 * Read on a fixed panel of training images at each evaluation; from iteration `from` until `lastIteration`, a
 * pairwise IoU of the binarised masks above `pairIoU`, or a soft-mask spread below `spread`, restarts the run.
 * A threshold of 0 turns that reading's watch off.
 */
export class BlobWatch {
  constructor(
    readonly pairIoU: number,
    readonly spread: number,
    readonly from: number,
    readonly lastIteration: number,
  ) {}

  get on(): boolean {
    return this.pairIoU > 0 || this.spread > 0;
  }

  /** True when a reading says the masks ignore the image, whatever the iteration. */
  under(d: { spread: number; pairIoU: number }): boolean {
    return (this.pairIoU > 0 && d.pairIoU > this.pairIoU) || (this.spread > 0 && d.spread < this.spread);
  }

  /** What is past its threshold, in words. */
  describe(d: { spread: number; pairIoU: number }): string {
    const parts: string[] = [];
    if (this.pairIoU > 0 && d.pairIoU > this.pairIoU) parts.push(`masks' pairwise IoU ${d.pairIoU.toFixed(3)} > ${this.pairIoU}`);
    if (this.spread > 0 && d.spread < this.spread) parts.push(`masks' spread ${d.spread.toFixed(3)} < ${this.spread}`);
    return `${parts.join(', ')}: the masks no longer depend on the image`;
  }

  /** True when this reading at this iteration (since the last (re)initialisation) calls for a restart. */
  blob(iteration: number, d: { spread: number; pairIoU: number }): boolean {
    return iteration >= this.from && iteration <= this.lastIteration && this.under(d);
  }
}
