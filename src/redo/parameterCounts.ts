import type { RedoConfig } from './config';
import { RedoModel } from './redo';

export interface ParameterCounts {
  F: number;
  /** Each region generator G_k (they are identical in shape). */
  G: number;
  D: number;
  /** δ, the z-reconstructor. */
  Z: number;
  total: number;
}

/** Trainable parameter counts of the networks a config builds (without drawing initial values). */
export function parameterCounts(config: RedoConfig): ParameterCounts {
  const model = new RedoModel(config, 0, { uninitialised: true });
  try {
    const F = model.parameterCount('F');
    const allG = model.parameterCount('G');
    const D = model.parameterCount('D');
    const Z = model.parameterCount('Z');
    return { F, G: allG / config.nRegions, D, Z, total: F + allG + D + Z };
  } finally {
    model.dispose();
  }
}
