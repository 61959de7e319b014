import * as tf from './tf';
import type { ParamStore } from './params';
import { SNConv, addSame, maxPool2, softmax } from './layers';

/**
 * SAGAN self-attention as the reference builds it: query f (C→C/8) at full resolution, key g (C→C/8) and
 * value h (C→C/2) max-pooled by 2, softmax over keys, output o (C/2→C) scaled by γ (initialised at 0) and
 * added to the input. All 1×1 convs spectrally normalised, no bias. C/8 is at least 1 (the reference's
 * narrow test networks have C = 4).
 */
export class SelfAttention {
  readonly f: SNConv;
  readonly g: SNConv;
  readonly h: SNConv;
  readonly o: SNConv;
  readonly gamma: tf.Variable;

  constructor(store: ParamStore, key: string, c: number) {
    const c8 = Math.max(1, Math.floor(c / 8));
    const c2 = Math.max(1, Math.floor(c / 2));
    this.f = new SNConv(store, `${key}.f`, 1, c, c8, false);
    this.g = new SNConv(store, `${key}.g`, 1, c, c8, false);
    this.h = new SNConv(store, `${key}.h`, 1, c, c2, false);
    this.o = new SNConv(store, `${key}.o`, 1, c2, c, false);
    this.gamma = store.add({ key: `${key}.gamma`, shape: [1], layout: 'vector', init: { kind: 'constant', value: 0 }, trainable: true });
  }

  get snLayers(): SNConv[] {
    return [this.f, this.g, this.h, this.o];
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [b, hh, ww] = x.shape;
    const n = hh * ww;
    const q = this.f.apply(x).reshape<tf.Tensor3D>([b, n, -1]); // [b, n, c8]
    const k = maxPool2(this.g.apply(x)).reshape<tf.Tensor3D>([b, n / 4, -1]); // [b, n/4, c8]
    const v = maxPool2(this.h.apply(x)).reshape<tf.Tensor3D>([b, n / 4, -1]); // [b, n/4, c2]
    const attn = softmax(tf.matMul(q, k, false, true)); // [b, n, n/4]
    const o = this.o.apply(tf.matMul(attn, v).reshape<tf.Tensor4D>([b, hh, ww, -1]));
    return addSame(x, tf.mul(this.gamma, o));
  }
}
