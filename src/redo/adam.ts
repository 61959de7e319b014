import * as tf from './tf';

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Coupled L2 decay: weightDecay·θ added to the gradient before the moments (torch.optim.Adam's weight_decay). */
  weightDecay: number;
}

/**
 * torch.optim.Adam, step for step, over named variables. Written by hand (not tf.train.adam) because it
 * needs torch's coupled weight decay and a state keyed by our parameter names, so checkpoints can store it.
 */
export class Adam {
  private t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    readonly params: ReadonlyArray<{ key: string; variable: tf.Variable }>,
    readonly options: AdamOptions,
  ) {
    for (const { key, variable } of params) {
      this.m.set(key, tf.variable(tf.zerosLike(variable), false));
      this.v.set(key, tf.variable(tf.zerosLike(variable), false));
    }
  }

  get stepCount(): number {
    return this.t;
  }

  /** grads keyed by parameter key (missing keys are treated as zero gradients, as torch skips p.grad = None). */
  apply(grads: ReadonlyMap<string, tf.Tensor>): void {
    this.t += 1;
    const { lr, beta1, beta2, epsilon, weightDecay } = this.options;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      for (const { key, variable } of this.params) {
        const g0 = grads.get(key);
        if (!g0) continue;
        const g = weightDecay > 0 ? tf.add(g0, tf.mul(variable, weightDecay)) : g0;
        const m = this.m.get(key)!;
        const v = this.v.get(key)!;
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(bc2)), epsilon);
        variable.assign(tf.sub(variable, tf.mul(tf.div(m1, denom), lr / bc1)));
        m.assign(m1);
        v.assign(v1);
      }
    });
  }

  /** Moments and step count, for checkpoints. Tensors are the live variables: read, do not dispose. */
  state(): { step: number; m: ReadonlyMap<string, tf.Variable>; v: ReadonlyMap<string, tf.Variable> } {
    return { step: this.t, m: this.m, v: this.v };
  }

  setState(step: number, m: ReadonlyMap<string, tf.Tensor>, v: ReadonlyMap<string, tf.Tensor>): void {
    for (const { key } of this.params) {
      const mi = m.get(key);
      const vi = v.get(key);
      if (!mi || !vi) throw new Error(`optimizer state lacks ${key}`);
      this.m.get(key)!.assign(mi);
      this.v.get(key)!.assign(vi);
    }
    this.t = step;
  }

  reset(): void {
    this.t = 0;
    tf.tidy(() => {
      for (const x of [...this.m.values(), ...this.v.values()]) x.assign(tf.zerosLike(x));
    });
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}
