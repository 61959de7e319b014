import * as tf from './tf';
import type { RedoConfig } from './config';
import type { ParamStore } from './params';
import { Conv, InstanceNormAffine, addSame, avgPool, concat, reflectPad, resizeBilinear1, upsample2 } from './layers';

const PSP_GRIDS = [1, 2, 3, 6];

/** A residual block of F: IN(ReLU)-wrapped `x + conv(ReLU(IN(conv(x))))`, keys `blocs.*` and `activationF.0`. */
class ResBlock {
  readonly conv0: Conv;
  readonly in1: InstanceNormAffine;
  readonly conv3: Conv;
  readonly inOut: InstanceNormAffine;

  constructor(store: ParamStore, key: string, c: number) {
    this.conv0 = new Conv(store, `${key}.blocs.0`, 3, c, c, { bias: false, pad: 1 });
    this.in1 = new InstanceNormAffine(store, `${key}.blocs.1`, c);
    this.conv3 = new Conv(store, `${key}.blocs.3`, 3, c, c, { bias: true, pad: 1 });
    this.inOut = new InstanceNormAffine(store, `${key}.activationF.0`, c);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const h = this.conv3.apply(this.in1.applyRelu(this.conv0.apply(x)));
    return this.inOut.applyRelu(addSame(x, h));
  }
}

/**
 * The mask network F (`netEncM`): encoder to S/4, 3 residual blocks, pyramid pooling, decoder back to S.
 * Returns soft masks [B, S, S, n] summing to 1 over regions: for n = 2 one logit channel o gives
 * [σ(o), 1 − σ(o)] as the reference does; for n > 2 a softmax over n channels.
 */
export class MaskNet {
  private readonly enc: Array<{ conv: Conv; norm: InstanceNormAffine }>;
  private readonly res: ResBlock[];
  private readonly psp: Conv[];
  private readonly dec1: Conv;
  private readonly decIn1: InstanceNormAffine;
  private readonly dec2: Conv;
  private readonly decIn2: InstanceNormAffine;
  private readonly out: Conv;

  constructor(
    store: ParamStore,
    private readonly config: RedoConfig,
    prefix = 'netEncM',
  ) {
    const nf = config.nfF;
    const widths = [3, nf / 4, nf / 2, nf];
    // cnn.0.mods: [ReflectionPad(3), conv7, IN, ReLU, conv3 s2, IN, ReLU, conv3 s2, IN, ReLU]
    this.enc = [0, 1, 2].map((i) => ({
      conv: new Conv(store, `${prefix}.cnn.0.mods.${1 + 3 * i}`, i === 0 ? 7 : 3, widths[i]!, widths[i + 1]!, {
        bias: false,
        stride: i === 0 ? 1 : 2,
        pad: i === 0 ? 0 : 1,
      }),
      norm: new InstanceNormAffine(store, `${prefix}.cnn.0.mods.${2 + 3 * i}`, widths[i + 1]!),
    }));
    this.res = [1, 2, 3].map((i) => new ResBlock(store, `${prefix}.cnn.${i}`, nf));
    this.psp = PSP_GRIDS.map((_, i) => new Conv(store, `${prefix}.psp.${i}.1`, 1, nf, 1, { bias: true }));
    // out.mods: [Up, conv3, IN, ReLU, Up, conv3, IN, ReLU, ReflectionPad(3), conv7]
    const c1 = Math.floor((nf + PSP_GRIDS.length) / 2);
    const c2 = Math.floor(c1 / 2);
    const nOut = config.nRegions === 2 ? 1 : config.nRegions;
    this.dec1 = new Conv(store, `${prefix}.out.mods.1`, 3, nf + PSP_GRIDS.length, c1, { bias: false, pad: 1 });
    this.decIn1 = new InstanceNormAffine(store, `${prefix}.out.mods.2`, c1);
    this.dec2 = new Conv(store, `${prefix}.out.mods.5`, 3, c1, c2, { bias: false, pad: 1 });
    this.decIn2 = new InstanceNormAffine(store, `${prefix}.out.mods.6`, c2);
    this.out = new Conv(store, `${prefix}.out.mods.9`, 7, c2, nOut, { bias: true });
  }

  /** Mask logits before the sigmoid/softmax: [B, S, S, 1] for n = 2, else [B, S, S, n]. */
  logits(x: tf.Tensor4D): tf.Tensor4D {
    let h = reflectPad(x, 3);
    for (const { conv, norm } of this.enc) h = norm.applyRelu(conv.apply(h));
    for (const block of this.res) h = block.apply(h);
    const s4 = h.shape[1];
    const branches = PSP_GRIDS.map((g, i) => {
      const k = Math.floor(s4 / g);
      return resizeBilinear1(this.psp[i]!.apply(avgPool(h, k)), s4);
    });
    let d = concat([h, ...branches], 3);
    d = this.decIn1.applyRelu(this.dec1.apply(upsample2(d)));
    d = this.decIn2.applyRelu(this.dec2.apply(upsample2(d)));
    return this.out.apply(reflectPad(d, 3));
  }

  /** Soft masks [B, S, S, n], region k in channel k. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const o = this.logits(x);
    if (this.config.nRegions === 2) {
      const m0 = tf.sigmoid(o);
      return concat<tf.Tensor4D>([m0, tf.sub(1, m0)], 3);
    }
    return tf.softmax<tf.Tensor4D>(o);
  }
}
