import * as tf from './tf';
import { validateKnobs, type Knobs, type RedoConfig } from './config';
import type { RedoModel, NetworkId } from './redo';
import { Adam } from './adam';
import { CollapseWatch } from './collapse';
import { deriveSeed } from './random';
import { sampleBatches, type ImageSet } from './batches';
import {
  generatorAdversarialLoss,
  hingeLossFake,
  hingeLossReal,
  smallestBinaryRegionArea,
  smallestRegionArea,
  zReconstructionLoss,
} from './losses';
import { NETWORK_NAMES, NonFiniteError, nonFiniteKeys, nonFiniteNetworks } from './finite';
import '../kernels/wasmTrainKernels'; // wasm's gradient kernels, kept out of the segmenter: registered on import
import '../kernels/fusedGrads'; // the fused kernels' gradients (webgpu's too)
import { useSimdKernels } from '../kernels/simdKernels';

/** What one iteration produced, as scalar tensors still on the device: read them when you choose, then dispose. */
export interface StepLosses {
  /** −mean D(composites) */
  gAdv: tf.Scalar;
  /** mean((z − δ(Σ regions))²), before λz */
  gRecZ: tf.Scalar;
  /** mean relu(1 − D(x_real)) */
  dReal: tf.Scalar;
  /** mean relu(1 + D(composites)) */
  dFake: tf.Scalar;
  /** smallest mean (soft) region area of the step's masks (for the collapse watch) */
  minArea: tf.Scalar;
  /** smallest binarised region area of the step's masks: the fraction of pixels a region owns (collapse watch) */
  minAreaBinary: tf.Scalar;
}

export type LossValues = { [K in keyof StepLosses]: number };

/** The names of a step's readings, in the order of one batched readback. */
export const LOSS_KEYS = ['gAdv', 'gRecZ', 'dReal', 'dFake', 'minArea', 'minAreaBinary'] as const satisfies ReadonlyArray<keyof StepLosses>;

/** One step's losses with one readback (the tensors stay the caller's to dispose). */
export async function readLosses(l: StepLosses): Promise<LossValues> {
  return (await readLossBatch([l], { dispose: false }))[0]!;
}

/**
 * The losses of several steps with ONE readback (one `await data()` of all their scalars), in order. The
 * scalars are disposed afterwards unless `dispose: false`.
 */
export async function readLossBatch(steps: readonly StepLosses[], opts: { dispose?: boolean } = {}): Promise<LossValues[]> {
  if (steps.length === 0) return [];
  const stacked = tf.tidy(() => tf.stack(steps.flatMap((l) => LOSS_KEYS.map((k) => l[k]))));
  let values: Float32Array;
  try {
    values = (await stacked.data()) as Float32Array;
  } finally {
    stacked.dispose();
    if (opts.dispose ?? true) for (const l of steps) disposeLosses(l);
  }
  return steps.map((_, i) => {
    const out = {} as LossValues;
    LOSS_KEYS.forEach((k, j) => (out[k] = values[i * LOSS_KEYS.length + j]!));
    return out;
  });
}

export function disposeLosses(l: StepLosses): void {
  for (const t of Object.values(l)) t.dispose();
}

type Named = Array<{ key: string; variable: tf.Variable }>;

/**
 * Trains a RedoModel exactly as the reference iteration does:
 * 1. m = F(x), z ~ N(0, I); regions G_k(m_k, z_k); composites x̂_k; one power iteration in G, D, δ (train-mode forwards);
 *    L_G = −mean D(x̂) + λz·mean((z − δ(Σ_k regions_k))²); one backward for F, all G_k and δ; Adam steps.
 * 2. Fakes recomputed without gradient by the updated F and G with the same x and z (G iterates again), then
 *    D(x_real) and D(x̂), each after its own power iteration; hinge loss; Adam step on D.
 */
export class RedoTrainer {
  readonly model: RedoModel;
  private readonly optimizers: Record<NetworkId, Adam>;
  private readonly collapseWatch: CollapseWatch;
  /** Iterations since the last (re)initialisation. */
  iteration = 0;
  /** Restarts so far, of either watch (they drive the z and batch streams with the seed). */
  restarts = 0;
  /** Of `restarts`, those the blob watch made (the masks stopped depending on the image). */
  blobRestarts = 0;

  constructor(
    model: RedoModel,
    readonly seed = 0,
  ) {
    this.model = model;
    useSimdKernels(); // wasm's convolutions in WebAssembly SIMD (kept out of the segmenter)
    const c = this.config;
    const adam = (net: NetworkId, lr: number, weightDecay = 0) =>
      new Adam(model.trainableVariables(net), { lr, beta1: c.adamBeta1, beta2: c.adamBeta2, epsilon: c.adamEpsilon, weightDecay });
    this.optimizers = {
      F: adam('F', c.lrF, c.weightDecayF),
      G: adam('G', c.lrG),
      Z: adam('Z', c.lrZ),
      D: adam('D', c.lrD),
    };
    this.collapseWatch = new CollapseWatch(c.collapseThreshold, c.collapseLastIteration, c.collapseBinaryThreshold);
  }

  /** The model's config: the current training settings (knobs turned mid-run included). */
  get config(): RedoConfig {
    return this.model.config;
  }

  /**
   * Turns knobs (learning rates, λz, Adam's β) from the next iteration on: the config (so checkpoints and archives
   * carry the values) and the live optimizers, whose moments and step counts stay. Validates before changing anything.
   */
  setKnobs(k: Partial<Knobs>): void {
    validateKnobs(k);
    this.model.setTrainingSettings(k);
    const c = this.config;
    const lr: Record<NetworkId, number> = { F: c.lrF, G: c.lrG, Z: c.lrZ, D: c.lrD };
    for (const net of Object.keys(this.optimizers) as NetworkId[])
      this.optimizers[net].setOptions({ lr: lr[net], beta1: c.adamBeta1, beta2: c.adamBeta2 });
  }

  optimizer(net: NetworkId): Adam {
    return this.optimizers[net];
  }

  /**
   * One iteration on a dataset: the two batches `sampleBatches` draws for (batchSeed, restarts, iteration) — the
   * run's own seed unless given, so a resumed run sees the same batches — then step(). The batches are disposed
   * here; the losses are the caller's.
   */
  stepOn(data: ImageSet, opts: { batchSize?: number; batchSeed?: number } = {}): StepLosses {
    const { x, xReal } = sampleBatches(
      data,
      opts.batchSize ?? this.config.batchSize,
      opts.batchSeed ?? this.seed,
      this.restarts,
      this.iteration,
    );
    try {
      return this.step(x, xReal);
    } finally {
      x.dispose();
      xReal.dispose();
    }
  }

  /**
   * One reference iteration on two independent batches x (to redraw) and xReal (for D), both [B, S, S, 3] in
   * [-1, 1]. z defaults to a draw seeded by (seed, restarts, iteration), so a resumed run draws the same z.
   * Returns the losses as device scalars: no readback happens here.
   */
  step(x: tf.Tensor4D, xReal: tf.Tensor4D, z?: tf.Tensor3D): StepLosses {
    const zs = z ?? this.model.sampleZ(x.shape[0], deriveSeed(this.seed, this.restarts, this.iteration));
    const g = this.generatorPass(x, zs);
    this.optimizers.F.apply(g.grads);
    this.optimizers.G.apply(g.grads);
    this.optimizers.Z.apply(g.grads);
    disposeMap(g.grads);
    const minAreaBinary = smallestBinaryRegionArea(g.masks);
    g.masks.dispose();
    const d = this.discriminatorPass(x, xReal, zs);
    this.optimizers.D.apply(d.grads);
    disposeMap(d.grads);
    if (!z) zs.dispose();
    this.iteration += 1;
    return { gAdv: g.gAdv, gRecZ: g.gRecZ, minArea: g.minArea, minAreaBinary, dReal: d.dReal, dFake: d.dFake };
  }

  /**
   * Step 1 without the optimizer: train-mode forwards of F, G, D, δ (one power iteration each), L_G and its
   * gradients for F, every G_k and δ, keyed by parameter key (TF layout). `masks` are F(x) of this pass.
   */
  generatorPass(
    x: tf.Tensor4D,
    z: tf.Tensor3D,
  ): { gAdv: tf.Scalar; gRecZ: tf.Scalar; minArea: tf.Scalar; masks: tf.Tensor4D; grads: Map<string, tf.Tensor> } {
    const m = this.model;
    let gAdv!: tf.Scalar, gRecZ!: tf.Scalar, minArea!: tf.Scalar, masks!: tf.Tensor4D;
    const vars: Named = [...m.trainableVariables('F'), ...m.trainableVariables('G'), ...m.trainableVariables('Z')];
    const grads = this.gradients(vars, () => {
      m.powerIteration('G');
      m.powerIteration('D');
      m.powerIteration('Z');
      masks = m.masks(x);
      const regions = m.regions(masks, z);
      const dFake = m.D.apply(m.composites(x, masks, regions));
      const zRec = m.reconstructZ(regions);
      gAdv = tf.keep(generatorAdversarialLoss(dFake));
      gRecZ = tf.keep(zReconstructionLoss(z, zRec));
      minArea = tf.keep(smallestRegionArea(masks));
      tf.keep(masks);
      return tf.add<tf.Scalar>(gAdv, tf.mul(gRecZ, this.config.lambdaZ));
    });
    return { gAdv, gRecZ, minArea, masks, grads };
  }

  /**
   * Step 2 without the optimizer: fakes recomputed without gradient by F and G (G iterates again), then
   * D(x_real) and D(fakes) each after its own power iteration; hinge terms and D's gradients.
   */
  discriminatorPass(
    x: tf.Tensor4D,
    xReal: tf.Tensor4D,
    z: tf.Tensor3D,
  ): { dReal: tf.Scalar; dFake: tf.Scalar; grads: Map<string, tf.Tensor> } {
    const m = this.model;
    const fakes = tf.tidy(() => {
      m.powerIteration('G');
      const masks = m.masks(x);
      return m.composites(x, masks, m.regions(masks, z));
    });
    let dReal!: tf.Scalar, dFake!: tf.Scalar;
    const grads = this.gradients(m.trainableVariables('D'), () => {
      m.powerIteration('D');
      dReal = tf.keep(hingeLossReal(m.D.apply(xReal)));
      m.powerIteration('D');
      dFake = tf.keep(hingeLossFake(m.D.apply(fakes)));
      return tf.add<tf.Scalar>(dReal, dFake);
    });
    fakes.dispose();
    return { dReal, dFake, grads };
  }

  /**
   * The collapse watch on one reading of the smallest region areas taken at `iteration` (read when the caller
   * reads losses): a number is the soft area alone. Returns true, after re-initialising every network and
   * optimizer, when the run had collapsed (see CollapseWatch).
   */
  checkCollapse(areas: number | Pick<LossValues, 'minArea' | 'minAreaBinary'>, iteration = this.iteration): boolean {
    const a = typeof areas === 'number' ? { minArea: areas, minAreaBinary: Infinity } : areas;
    if (!this.collapseWatch.collapsed(iteration, a.minArea, a.minAreaBinary)) return false;
    this.restart();
    return true;
  }

  /**
   * The NaN / Inf guard on one reading of the losses (what the loops read back anyway): throws NonFiniteError,
   * naming `step`, the readings that are not finite and the networks whose weights no longer are, when any
   * reading is NaN or ±Inf. Checking the weights costs one more small readback, and only then.
   */
  async checkFinite(values: LossValues, step: number): Promise<void> {
    const bad = nonFiniteKeys(values);
    if (bad.length === 0) return;
    const nets = await nonFiniteNetworks(this.model);
    const losses = bad.map((k) => `${k} is ${values[k]}`).join(', ');
    const weights = nets.length
      ? `non-finite weights in ${nets.map((n) => NETWORK_NAMES[n]).join(', ')}`
      : 'the weights are still finite (a loss overflowed)';
    throw new NonFiniteError(`training diverged at step ${step}: ${losses}; ${weights}. A learning rate too high is the usual cause`, step);
  }

  /** Re-initialises all networks and optimizers and starts the iteration count over (a collapse or blob restart). */
  restart(why: 'collapse' | 'blob' = 'collapse'): void {
    this.model.store.reinitialize();
    for (const o of Object.values(this.optimizers)) o.reset();
    this.iteration = 0;
    this.restarts += 1;
    if (why === 'blob') this.blobRestarts += 1;
  }

  dispose(): void {
    for (const o of Object.values(this.optimizers)) o.dispose();
  }

  /** Gradients of f's scalar with respect to the named variables, keyed by parameter key. */
  private gradients(vars: Named, f: () => tf.Scalar): Map<string, tf.Tensor> {
    const { value, grads } = tf.variableGrads(
      f,
      vars.map((v) => v.variable),
    );
    value.dispose();
    const out = new Map<string, tf.Tensor>();
    for (const { key, variable } of vars) {
      const g = grads[variable.name];
      if (g) out.set(key, g);
    }
    return out;
  }
}

function disposeMap(m: Map<string, tf.Tensor>): void {
  for (const t of m.values()) t.dispose();
}
