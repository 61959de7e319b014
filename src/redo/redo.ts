import * as tf from './tf';
import { validateConfig, withTrainingSettings, type RedoConfig } from './config';
import { ParamStore } from './params';
import { Rng } from './random';
import { MaskNet } from './maskNet';
import { Generators } from './generator';
import { Discriminator } from './discriminator';
import { powerIterations, type SNConv } from './layers';

/** The reference's four networks and their state_dict prefixes. */
export const NETWORKS = { F: 'netEncM', G: 'netGenX', D: 'netDX', Z: 'netRecZ' } as const;
export type NetworkId = keyof typeof NETWORKS;

/**
 * One ReDO model: mask network F, region generators G_k, discriminator D, z-reconstructor δ, with every
 * tensor in one ParamStore under the reference's state_dict keys.
 */
export class RedoModel {
  private cfg: RedoConfig;
  readonly store: ParamStore;
  readonly F: MaskNet;
  readonly G: Generators;
  readonly D: Discriminator;
  readonly Z: Discriminator;

  /** `options.uninitialised`: all tensors zero, for shape checks or weights loaded right after. */
  constructor(config: RedoConfig, seed = 0, options: { uninitialised?: boolean } = {}) {
    this.cfg = validateConfig(config);
    this.store = new ParamStore(new Rng(seed), config.initGain, options.uninitialised ?? false);
    this.F = new MaskNet(this.store, config, NETWORKS.F);
    this.G = new Generators(this.store, config, NETWORKS.G);
    this.D = new Discriminator(this.store, NETWORKS.D, config.nfD, config.imageSize, 1, config.attentionD);
    this.Z = new Discriminator(this.store, `${NETWORKS.Z}.net`, config.nfZ, config.imageSize, config.nRegions * config.nz, false);
  }

  get config(): RedoConfig {
    return this.cfg;
  }

  /** New training settings (a knob turned mid-run); throws, changing nothing, when a shape field would change. */
  setTrainingSettings(overrides: Partial<RedoConfig>): void {
    this.cfg = withTrainingSettings(this.cfg, overrides);
  }

  /** One power iteration in every spectrally normalised layer of a network (what a torch train-mode forward does first). */
  powerIteration(net: 'G' | 'D' | 'Z'): void {
    const layers: SNConv[] = net === 'G' ? this.G.snLayers : net === 'D' ? this.D.snLayers : this.Z.snLayers;
    powerIterations(layers);
  }

  trainableVariables(net: NetworkId): Array<{ key: string; variable: tf.Variable }> {
    return this.store.keys({ prefix: `${NETWORKS[net]}.`, trainable: true }).map((key) => ({ key, variable: this.store.get(key) }));
  }

  /** Soft masks [B, S, S, n]. */
  masks(x: tf.Tensor4D): tf.Tensor4D {
    return this.F.apply(x);
  }

  /** Redrawn regions [B, n, S, S, 3] (each already multiplied by its mask). z: [B, n, nz]. */
  regions(masks: tf.Tensor4D, z: tf.Tensor3D): tf.Tensor5D {
    return this.G.apply(masks, z);
  }

  /** Composites x̂_k = G_k(m_k, z_k) + (1 − m_k) ⊙ x as [B·n, S, S, 3], image-major (image 0 region 0, image 0 region 1, …). */
  composites(x: tf.Tensor4D, masks: tf.Tensor4D, regions: tf.Tensor5D): tf.Tensor4D {
    const [b, n, s] = regions.shape;
    const m = tf.transpose(masks, [0, 3, 1, 2]).expandDims(4); // [B, n, S, S, 1]
    const comp = tf.add(regions, tf.mul(tf.sub(1, m), x.expandDims(1)));
    return comp.reshape([b * n, s, s, 3]);
  }

  /** δ(Σ_k regions_k) read as [B, n, nz]. */
  reconstructZ(regions: tf.Tensor5D): tf.Tensor3D {
    const [b, n] = regions.shape;
    return this.Z.apply(tf.sum<tf.Tensor4D>(regions, 1)).reshape([b, n, this.config.nz]);
  }

  /** Draws z ~ N(0, I) of shape [B, n, nz] from a seed (reproducible on every backend). */
  sampleZ(batch: number, seed: number): tf.Tensor3D {
    return tf.randomNormal([batch, this.config.nRegions, this.config.nz], 0, 1, 'float32', seed);
  }

  /** Trainable parameter count of one network (torch's sum of numel over parameters()). */
  parameterCount(net: NetworkId): number {
    return this.store.countTrainable(`${NETWORKS[net]}.`);
  }

  dispose(): void {
    this.store.dispose();
  }
}
