import * as tf from './tf';
import type { Rng } from './random';
import { orthogonal } from './init';

/**
 * How a tensor is laid out in the reference's PyTorch state_dict, relative to our TF.js layout:
 * - `conv`: TF [kh, kw, in, out] ↔ torch [out, in, kh, kw]
 * - `linear`: TF [in, out] ↔ torch [out, in]
 * - `zconv`: a 1×1 conv applied to z (CIN's γ/β): TF [nz, out] ↔ torch [out, nz, 1, 1]
 * - `snv`: spectral-norm v of a conv, TF order (kh, kw, in) ↔ torch order (in, kh, kw)
 * - `vector`: same in both (biases, norms, u, γ of attention)
 */
export type TorchLayout = 'conv' | 'linear' | 'zconv' | 'snv' | 'vector';

export type InitKind =
  | { kind: 'orthogonal' } // torch.nn.init.orthogonal_ with the config's gain, on the torch-layout matrix
  | { kind: 'bias'; fanIn: number } // torch's default bias init: U(−1/√fanIn, 1/√fanIn)
  | { kind: 'constant'; value: number }
  | { kind: 'unit-normal' }; // normalize(N(0, I)): spectral norm's u and v

export interface ParamSpec {
  /** The reference state_dict key with its network prefix, e.g. `netEncM.cnn.0.mods.1.weight`. */
  key: string;
  /** Shape in TF layout. */
  shape: number[];
  layout: TorchLayout;
  /** For `snv`: the conv kernel's TF shape [kh, kw, in, out], to reorder v. */
  convShape?: number[];
  init: InitKind;
  /** Trained by an optimizer (false for spectral-norm u, v). */
  trainable: boolean;
}

/** Every tensor of a model, by reference key: trainable weights and spectral-norm state alike. */
export class ParamStore {
  private readonly specs = new Map<string, ParamSpec>();
  private readonly vars = new Map<string, tf.Variable>();

  /**
   * `zeros: true` skips the random initial values (a large orthogonal init costs seconds): for counting
   * parameters, checking shapes, or a model whose weights are loaded right after.
   */
  constructor(
    private readonly rng: Rng,
    private readonly gain: number,
    private readonly zeros = false,
  ) {}

  /** Registers a tensor and creates its variable with its initial value. */
  add(spec: ParamSpec): tf.Variable {
    if (this.specs.has(spec.key)) throw new Error(`duplicate parameter ${spec.key}`);
    this.specs.set(spec.key, spec);
    const value = this.initialValue(spec);
    const v = tf.variable(value, spec.trainable);
    value.dispose();
    this.vars.set(spec.key, v);
    return v;
  }

  get(key: string): tf.Variable {
    const v = this.vars.get(key);
    if (!v) throw new Error(`no parameter ${key}`);
    return v;
  }

  spec(key: string): ParamSpec {
    const s = this.specs.get(key);
    if (!s) throw new Error(`no parameter ${key}`);
    return s;
  }

  keys(filter: { prefix?: string; trainable?: boolean } = {}): string[] {
    const out: string[] = [];
    for (const [k, s] of this.specs) {
      if (filter.prefix !== undefined && !k.startsWith(filter.prefix)) continue;
      if (filter.trainable !== undefined && s.trainable !== filter.trainable) continue;
      out.push(k);
    }
    return out;
  }

  /** Trainable parameter count (the number torch's sum(p.numel() for p in parameters()) gives). */
  countTrainable(prefix: string): number {
    let n = 0;
    for (const k of this.keys({ prefix, trainable: true })) n += this.spec(k).shape.reduce((a, b) => a * b, 1);
    return n;
  }

  /** Re-draws every tensor's initial value in place (a collapse restart). */
  reinitialize(): void {
    for (const [k, spec] of this.specs) {
      const value = this.initialValue(spec);
      this.get(k).assign(value);
      value.dispose();
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }

  private initialValue(spec: ParamSpec): tf.Tensor {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const init = spec.init;
    if (this.zeros) return tf.zeros(spec.shape);
    switch (init.kind) {
      case 'constant':
        return tf.fill(spec.shape, init.value);
      case 'bias': {
        const bound = 1 / Math.sqrt(init.fanIn);
        const a = new Float32Array(size);
        for (let i = 0; i < size; i++) a[i] = this.rng.uniform(-bound, bound);
        return tf.tensor(a, spec.shape);
      }
      case 'unit-normal': {
        const a = new Float32Array(size);
        let norm = 0;
        for (let i = 0; i < size; i++) {
          a[i] = this.rng.normal();
          norm += a[i]! * a[i]!;
        }
        norm = Math.max(Math.sqrt(norm), 1e-12);
        for (let i = 0; i < size; i++) a[i]! /= norm;
        return tf.tensor(a, spec.shape);
      }
      case 'orthogonal': {
        const torchShape = toTorchShape(spec);
        const rows = torchShape[0]!;
        const cols = size / rows;
        const q = orthogonal(rows, cols, this.gain, this.rng);
        return fromTorch(spec, q);
      }
    }
  }
}

/** The tensor's shape in the reference's PyTorch layout. */
export function toTorchShape(spec: Pick<ParamSpec, 'shape' | 'layout'>): number[] {
  const s = spec.shape;
  switch (spec.layout) {
    case 'conv':
      return [s[3]!, s[2]!, s[0]!, s[1]!];
    case 'linear':
      return [s[1]!, s[0]!];
    case 'zconv':
      return [s[1]!, s[0]!, 1, 1];
    case 'snv':
    case 'vector':
      return [...s];
  }
}

/** Reorders data given in torch layout into our TF layout. */
export function fromTorch(spec: ParamSpec, data: Float32Array): tf.Tensor {
  const ts = toTorchShape(spec);
  switch (spec.layout) {
    case 'conv':
      return tf.tidy(() => tf.transpose(tf.tensor(data, ts), [2, 3, 1, 0]));
    case 'linear':
    case 'zconv':
      return tf.tidy(() => tf.transpose(tf.tensor(data, [ts[0]!, ts[1]!])));
    case 'snv': {
      const [kh, kw, cin] = spec.convShape!;
      return tf.tidy(() => tf.transpose(tf.tensor(data, [cin!, kh!, kw!]), [1, 2, 0]).reshape(spec.shape));
    }
    case 'vector':
      return tf.tensor(data, spec.shape);
  }
}

/** Our TF-layout tensor as torch-layout data. */
export function toTorch(spec: ParamSpec, value: tf.Tensor): tf.Tensor {
  switch (spec.layout) {
    case 'conv':
      return tf.transpose(value, [3, 2, 0, 1]);
    case 'linear':
      return tf.transpose(value);
    case 'zconv':
      return tf.transpose(value).reshape(toTorchShape(spec));
    case 'snv': {
      const [kh, kw, cin] = spec.convShape!;
      return tf.tidy(() => tf.transpose(value.reshape([kh!, kw!, cin!]), [2, 0, 1]).reshape(spec.shape));
    }
    case 'vector':
      return value.clone();
  }
}
