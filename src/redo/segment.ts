import * as tf from './tf';
import { validateConfig, type RedoConfig } from './config';
import { ParamStore } from './params';
import { Rng } from './random';
import { MaskNet } from './maskNet';
import { NETWORKS } from './redo';
import { importStore } from './weights';
import type { NamedTensorData } from './weights';

/**
 * Inference only: the mask network F alone, loaded from trained weights (`netEncM.*`), without building
 * G, D or δ. `segment(images)` maps [B, S, S, 3] in [-1, 1] to soft masks [B, S, S, n].
 */
export class Segmenter {
  readonly config: RedoConfig;
  private readonly store: ParamStore;
  private readonly net: MaskNet;

  constructor(config: RedoConfig, weights?: ReadonlyMap<string, NamedTensorData>) {
    this.config = validateConfig(config);
    this.store = new ParamStore(new Rng(0), config.initGain, true);
    this.net = new MaskNet(this.store, config, NETWORKS.F);
    if (weights) this.load(weights);
  }

  /** Loads `netEncM.*` tensors (torch layout); other networks' tensors in the map are ignored. */
  load(weights: ReadonlyMap<string, NamedTensorData>): void {
    importStore(this.store, weights, { prefix: `${NETWORKS.F}.` });
  }

  segment(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.net.apply(images));
  }

  dispose(): void {
    this.store.dispose();
  }
}
