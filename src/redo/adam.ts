import * as tf from './tf';
import { concatFlat, fusedAdamUpdate, splitFlat } from '../kernels/fusedOps';
import { useFusedAdam } from '../kernels/fusedAdam';

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
 * All parameters of one optimizer are updated as one flat vector: a dozen kernels per step instead of a dozen
 * per parameter (hundreds of parameters: this matters on every backend, most on WebGPU's dispatch cost); on webgpu the
 * update is one fused program and the split back into parameters one per seven parameters, on wasm the update, the
 * flattening and the split one kernel each (src/kernels/fusedOps.ts).
 */
export class Adam {
  private t = 0;
  private readonly m: tf.Variable;
  private readonly v: tf.Variable;
  private readonly sizes: number[];
  private readonly shapes: number[][];

  constructor(
    readonly params: ReadonlyArray<{ key: string; variable: tf.Variable }>,
    private opts: AdamOptions,
  ) {
    useFusedAdam(); // the wasm kernels behind fusedAdamUpdate, concatFlat, splitFlat (kept out of the segmenter)
    this.sizes = params.map((p) => p.variable.size);
    this.shapes = params.map((p) => p.variable.shape);
    const total = this.sizes.reduce((a, b) => a + b, 0);
    // A variable shares its initial value's buffer: the initial tensors are released here, or they would
    // keep that buffer alive (one leaked zeros vector per moment) after the first assign.
    const zeros = () => {
      const z = tf.zeros([total]);
      const variable = tf.variable(z, false);
      z.dispose();
      return variable;
    };
    this.m = zeros();
    this.v = zeros();
  }

  get options(): Readonly<AdamOptions> {
    return this.opts;
  }

  /**
   * New settings from the next step on (a knob turned mid-run): the moments and the step count stay, as they do when
   * torch.optim.Adam's param_groups are edited between steps.
   */
  setOptions(patch: Partial<AdamOptions>): void {
    this.opts = { ...this.opts, ...patch };
  }

  get stepCount(): number {
    return this.t;
  }

  /** grads keyed by parameter key; every parameter of this optimizer must have one. */
  apply(grads: ReadonlyMap<string, tf.Tensor>): void {
    this.t += 1;
    const { lr, beta1, beta2, epsilon, weightDecay } = this.opts;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      const g0 = this.flatten(
        this.params.map(({ key }) => {
          const g = grads.get(key);
          if (!g) throw new Error(`no gradient for ${key}`);
          return g;
        }),
      );
      const p = this.flatten(this.params.map((q) => q.variable));
      const fused = fusedAdamUpdate(g0, p, this.m, this.v, { lr, beta1, beta2, epsilon, weightDecay, bc1, bc2 });
      if (fused) {
        const [p1, m1, v1] = fused as [tf.Tensor, tf.Tensor, tf.Tensor];
        this.unflatten(p1).forEach((value, i) => this.params[i]!.variable.assign(value));
        this.m.assign(m1);
        this.v.assign(v1);
        return;
      }
      const g = weightDecay > 0 ? tf.add(g0, tf.mul(p, weightDecay)) : g0;
      const m1 = beta1 === 0 ? g : tf.add(tf.mul(this.m, beta1), tf.mul(g, 1 - beta1));
      const v1 = tf.add(tf.mul(this.v, beta2), tf.mul(tf.square(g), 1 - beta2));
      const denom = tf.add(tf.mul(tf.sqrt(v1), 1 / Math.sqrt(bc2)), epsilon);
      const p1 = tf.sub(p, tf.mul(tf.div(m1, denom), lr / bc1));
      this.unflatten(p1).forEach((value, i) => this.params[i]!.variable.assign(value));
      this.m.assign(m1);
      this.v.assign(v1);
    });
  }

  /** Step count and per-parameter moments (new tensors in the parameters' shapes: the caller disposes them). */
  state(): { step: number; m: Map<string, tf.Tensor>; v: Map<string, tf.Tensor> } {
    const m = this.unflatten(this.m);
    const v = this.unflatten(this.v);
    const keys = this.params.map((p) => p.key);
    return { step: this.t, m: new Map(keys.map((k, i) => [k, m[i]!])), v: new Map(keys.map((k, i) => [k, v[i]!])) };
  }

  setState(step: number, m: ReadonlyMap<string, tf.Tensor>, v: ReadonlyMap<string, tf.Tensor>): void {
    const pick = (src: ReadonlyMap<string, tf.Tensor>, what: string) =>
      this.params.map(({ key }) => {
        const t = src.get(key);
        if (!t) throw new Error(`optimizer state lacks ${what} of ${key}`);
        return t;
      });
    const mm = pick(m, 'exp_avg');
    const vv = pick(v, 'exp_avg_sq');
    tf.tidy(() => {
      this.m.assign(this.flatten(mm));
      this.v.assign(this.flatten(vv));
    });
    this.t = step;
  }

  reset(): void {
    this.t = 0;
    tf.tidy(() => {
      this.m.assign(tf.zerosLike(this.m));
      this.v.assign(tf.zerosLike(this.v));
    });
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }

  private flatten(ts: tf.Tensor[]): tf.Tensor1D {
    return concatFlat(ts) ?? (tf.concat(ts.map((t) => t.reshape([-1]))) as tf.Tensor1D);
  }

  private unflatten(flat: tf.Tensor): tf.Tensor[] {
    // tidy: the split pieces are intermediates (state() is called outside any tidy: they would leak).
    return tf.tidy(() => splitFlat(flat, this.shapes) ?? tf.split(flat, this.sizes).map((t, i) => t.reshape(this.shapes[i]!)));
  }
}
