import * as tf from './tf';
import { discriminatorWidths } from './config';
import type { ParamStore } from './params';
import { Linear, SNConv, addSame, avgPool } from './layers';
import { SelfAttention } from './attention';

interface ResBlock {
  conv1: SNConv;
  conv2: SNConv;
  /** Shortcut 1×1 conv after avg-pooling; absent for the last (identity shortcut) block. */
  sc?: SNConv;
  /** The first block has no leading ReLU (it sees the image). */
  first: boolean;
}

/**
 * The residual, spectrally normalised trunk shared by D (`netDX`, output 1) and δ (`netRecZ.net`,
 * output n·nz): a first block (conv, ReLU, conv, pool; shortcut pool + 1×1 conv), optional self-attention,
 * down-blocks (ReLU, conv, ReLU, conv, pool; shortcut pool + 1×1), a final block at 4×4 with an identity
 * shortcut, a spatial sum (no ReLU before it, as the reference), then an unnormalised Linear.
 *
 * Keys follow the reference: with attention the first block is `bloc0`/`sc0` and the others `blocs.i`/`sc.i`;
 * without, every block is in `blocs` (first at 0) and shortcuts in `sc`.
 */
export class Discriminator {
  private readonly blocks: ResBlock[] = [];
  private readonly attention?: SelfAttention;
  private readonly dense: Linear;
  readonly snLayers: SNConv[] = [];

  constructor(store: ParamStore, prefix: string, nf: number, imageSize: number, outDim: number, attention: boolean) {
    const w = discriminatorWidths(nf, imageSize);
    const blockKey = (i: number) => (attention ? (i === 0 ? `${prefix}.bloc0` : `${prefix}.blocs.${i - 1}`) : `${prefix}.blocs.${i}`);
    const scKey = (i: number) => (attention ? (i === 0 ? `${prefix}.sc0.1` : `${prefix}.sc.${i - 1}.1`) : `${prefix}.sc.${i}.1`);
    // first block: Sequential(conv, ReLU, conv, AvgPool) → indices 0, 2
    this.blocks.push({
      conv1: new SNConv(store, `${blockKey(0)}.0`, 3, 3, nf, true),
      conv2: new SNConv(store, `${blockKey(0)}.2`, 3, nf, nf, true),
      sc: new SNConv(store, scKey(0), 1, 3, nf, true),
      first: true,
    });
    if (attention) this.attention = new SelfAttention(store, `${prefix}.selfAtt`, nf);
    // down-blocks: Sequential(ReLU, conv, ReLU, conv, AvgPool) → indices 1, 3
    for (let i = 1; i < w.length; i++) {
      this.blocks.push({
        conv1: new SNConv(store, `${blockKey(i)}.1`, 3, w[i - 1]!, w[i]!, true),
        conv2: new SNConv(store, `${blockKey(i)}.3`, 3, w[i]!, w[i]!, true),
        sc: new SNConv(store, scKey(i), 1, w[i - 1]!, w[i]!, true),
        first: false,
      });
    }
    const last = w[w.length - 1]!;
    this.blocks.push({
      conv1: new SNConv(store, `${blockKey(w.length)}.1`, 3, last, last, true),
      conv2: new SNConv(store, `${blockKey(w.length)}.3`, 3, last, last, true),
      first: false,
    });
    this.dense = new Linear(store, `${prefix}.dense`, last, outDim);
    for (const b of this.blocks) {
      this.snLayers.push(b.conv1, b.conv2);
      if (b.sc) this.snLayers.push(b.sc);
    }
    if (this.attention) this.snLayers.push(...this.attention.snLayers);
  }

  /** x: images [N, S, S, 3] in [-1, 1] → [N, outDim]. */
  apply(x: tf.Tensor4D): tf.Tensor2D {
    let h = x;
    this.blocks.forEach((b, i) => {
      let y = b.first ? b.conv1.apply(h) : b.conv1.applyToRelu(h);
      y = b.conv2.applyToRelu(y);
      if (b.sc) {
        y = avgPool(y, 2);
        h = addSame(y, b.sc.apply(avgPool(h, 2)));
      } else {
        h = addSame(y, h);
      }
      if (i === 0 && this.attention) h = this.attention.apply(h);
    });
    return this.dense.apply(tf.sum<tf.Tensor2D>(h, [1, 2]));
  }
}
