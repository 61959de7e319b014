/**
 * The reference's collapse watch: early in training F may give one region everything. When the smallest
 * mean region area falls below `threshold` before `lastIteration`, all networks are re-initialised and
 * training starts over.
 */
export class CollapseWatch {
  constructor(
    readonly threshold: number,
    readonly lastIteration: number,
  ) {}

  /** True when this reading at this iteration calls for a restart. */
  collapsed(iteration: number, smallestArea: number): boolean {
    return iteration < this.lastIteration && smallestArea < this.threshold;
  }
}
