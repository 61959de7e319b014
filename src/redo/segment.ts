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

  /** F's soft mask of `region` [S, S] for one image given as modelInput's [S, S, 3] (one readback). */
  async regionMask(input: Float32Array, region = 0): Promise<Float32Array> {
    const S = this.config.imageSize;
    const m = tf.tidy(() => tf.slice(this.segment(tf.tensor4d(input, [1, S, S, 3])), [0, 0, 0, region], [1, S, S, 1]));
    try {
      return (await m.data()) as Float32Array;
    } finally {
      m.dispose();
    }
  }

  dispose(): void {
    this.store.dispose();
  }
}
