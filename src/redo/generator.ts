import * as tf from './tf';
import { generatorWidths, type RedoConfig } from './config';
import type { ParamStore } from './params';
import { Linear, SNConv, ZConv, addSame, avgPool, concat, instanceNormAffineRelu, upsample2, zconvAll } from './layers';
import { SelfAttention } from './attention';

interface UpBlock {
  gammaA: ZConv;
  betaA: ZConv;
  convA: SNConv;
  gammaB: ZConv;
  betaB: ZConv;
  convB: SNConv;
  sc: SNConv;
}

/**
 * One region generator G_k (`netGenX.net.<k>`): z → 4×4 map → up-blocks to S×S, the region's mask fed at
 * every scale, self-attention before the last block, tanh head multiplied by the mask.
 */
export class RegionGenerator {
  private readonly dense: Linear;
  private readonly blocks: UpBlock[];
  private readonly attention?: SelfAttention;
  private readonly gammaOut: ZConv;
  private readonly betaOut: ZConv;
  private readonly convOut: SNConv;
  readonly snLayers: SNConv[] = [];
  private readonly c0: number;

  constructor(
    store: ParamStore,
    private readonly config: RedoConfig,
    key: string,
  ) {
    const w = generatorWidths(config);
    const nz = config.nz;
    this.c0 = w[0]!;
    this.dense = new Linear(store, `${key}.dense`, nz, this.c0 * 16);
    this.blocks = [];
    for (let i = 0; i + 1 < w.length; i++) {
      const cin_ = w[i]!;
      const cout = w[i + 1]!;
      this.blocks.push({
        gammaA: new ZConv(store, `${key}.gammaA.${i}`, nz, cin_),
        betaA: new ZConv(store, `${key}.betaA.${i}`, nz, cin_),
        convA: new SNConv(store, `${key}.convA.${i}.1`, 3, cin_ + 1, cout, false),
        gammaB: new ZConv(store, `${key}.gammaB.${i}`, nz, cout),
        betaB: new ZConv(store, `${key}.betaB.${i}`, nz, cout),
        convB: new SNConv(store, `${key}.convB.${i}`, 3, cout, cout, true),
        sc: new SNConv(store, `${key}.sc.${i}.1`, 1, cin_, cout, true),
      });
    }
    // Reference order of registration: the state_dict lists gammaA…, convA…, but order does not matter to us.
    for (const b of this.blocks) this.snLayers.push(b.convA, b.convB, b.sc);
    if (config.attentionG) {
      this.attention = new SelfAttention(store, `${key}.selfAtt`, w[w.length - 2]!);
      this.snLayers.push(...this.attention.snLayers);
    }
    const nf = w[w.length - 1]!;
    this.gammaOut = new ZConv(store, `${key}.gammaOut`, nz, nf);
    this.betaOut = new ZConv(store, `${key}.betaOut`, nz, nf);
    this.convOut = new SNConv(store, `${key}.convOut`, 3, nf + 1, 3, true);
    this.snLayers.push(this.convOut);
  }

  /** The CIN layers' γ, β maps of z in the order apply uses them. */
  private get zconvs(): ZConv[] {
    return [...this.blocks.flatMap((b) => [b.gammaA, b.betaA, b.gammaB, b.betaB]), this.gammaOut, this.betaOut];
  }

  /** m: this region's mask [B, S, S, 1]; z: [B, nz]. Returns the redrawn region [B, S, S, 3], already × m. */
  apply(m: tf.Tensor4D, z: tf.Tensor2D): tf.Tensor4D {
    const b = z.shape[0];
    const s = this.config.imageSize;
    let x = this.dense.apply(z).reshape([b, this.c0, 4, 4]).transpose<tf.Tensor4D>([0, 2, 3, 1]);
    // conditional instance norm then relu: every γ(z), β(z) at once, then relu(IN(x)·γ + β) with the next pair (γ
    // used as is, no `1 +`)
    const affine = zconvAll(z, this.zconvs);
    let next = 0;
    const cinRelu = (t: tf.Tensor4D) => instanceNormAffineRelu(t, affine[next++]!, affine[next++]!);
    this.blocks.forEach((blk, i) => {
      const res = x.shape[1];
      let h = cinRelu(x);
      h = concat([h, avgPool(m, s / res)], 3);
      h = blk.convA.apply(upsample2(h));
      h = blk.convB.apply(cinRelu(h));
      x = addSame(h, blk.sc.apply(upsample2(x)));
      if (this.attention && i === this.blocks.length - 2) x = this.attention.apply(x);
    });
    const h = cinRelu(x);
    const out = tf.tanh(this.convOut.apply(concat([h, m], 3)));
    return tf.mul(out, m);
  }
}

/** All region generators (`netGenX`): regions [B, n, S, S, 3] from masks [B, S, S, n] and z [B, n, nz]. */
export class Generators {
  readonly regions: RegionGenerator[];

  constructor(store: ParamStore, config: RedoConfig, prefix = 'netGenX') {
    this.regions = Array.from({ length: config.nRegions }, (_, k) => new RegionGenerator(store, config, `${prefix}.net.${k}`));
  }

  get snLayers(): SNConv[] {
    return this.regions.flatMap((g) => g.snLayers);
  }

  apply(masks: tf.Tensor4D, z: tf.Tensor3D): tf.Tensor5D {
    const n = this.regions.length;
    const ms = tf.split<tf.Tensor4D>(masks, n, 3);
    const zs = tf.unstack(z, 1) as tf.Tensor2D[];
    return tf.stack(
      this.regions.map((g, k) => g.apply(ms[k]!, zs[k]!)),
      1,
    ) as tf.Tensor5D;
  }
}
