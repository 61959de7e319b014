/**
 * What a run's own discriminator D and z-reconstructor δ reward, on held-out colored-MNIST images: the two forces
 * of ReDO's objective for the masks F gives, for the ground-truth masks, for masks of 0.5 everywhere, and for a
 * collapse (the last region everything, the others empty). Per mask source and region k: mean D(x̂_k), the score the
 * generator's adversarial term −mean D(x̂) maximises, and δ's mean squared error on z_k, the information term that
 * should forbid an empty region; and the two together as L_G. These are the CURRENT networks' verdicts (masks they
 * never trained on are off their distribution): which masks they reward now, which is where F's gradient leads.
 * `npm run redo -- probe run.zip` prints it; it answers "why does this run not segment" (e.g. D preferring the
 * collapse to the truth while δ recovers nothing of z, so nothing stops it).
 *
 * No tool does this (it is this model's own objective, read piece by piece), hence written here.
 */
import * as tf from '../redo/tf';
import { imageSlice, type RedoModel } from '../redo';
import { SCORE_SEED, heldOutFor, withArchivedModel } from './scoreRun';

export const MASK_SOURCES = ['F', 'truth', 'uniform', 'collapse'] as const;
export type MaskSource = (typeof MASK_SOURCES)[number];

export interface ProbeRow {
  source: MaskSource;
  /** mean D(x̂_k) per region k (higher = more real to D) */
  dComposite: number[];
  /** mean over regions: what −gAdv would be */
  dMean: number;
  /** δ's mean squared error on z_k per region (1 ≈ it recovers nothing of z_k; z ~ N(0, 1)) */
  zError: number[];
  /** L_G = −mean D(x̂) + λz·mean error: the loss F and G minimise, so the source F's gradient prefers has the lowest */
  objective: number;
}

export interface RunProbe {
  step: number;
  count: number;
  seed: number;
  /** mean D(x) on the same held-out images */
  dReal: number;
  rows: ProbeRow[];
}

/** Masks [N, S, S, n] of one source. `truth` is one-hot with the model's region count (background last). */
function sourceMasks(model: RedoModel, source: MaskSource, x: tf.Tensor4D, truth: tf.Tensor4D): tf.Tensor4D {
  const n = model.config.nRegions;
  const [b, s] = x.shape;
  switch (source) {
    case 'F':
      return model.masks(x);
    case 'truth':
      return truth.clone();
    case 'uniform':
      return tf.fill<tf.Rank.R4>([b, s, s, n], 1 / n);
    case 'collapse':
      return tf.oneHot(tf.fill([b, s, s], n - 1, 'int32'), n).toFloat() as tf.Tensor4D;
  }
}

/** One source's row: composites and Σ regions from the same z for every source, so rows differ by masks only. */
function probeSource(model: RedoModel, source: MaskSource, x: tf.Tensor4D, truth: tf.Tensor4D, z: tf.Tensor3D): Promise<ProbeRow> {
  const n = model.config.nRegions;
  const b = x.shape[0];
  const stats = tf.tidy(() => {
    const masks = sourceMasks(model, source, x, truth);
    const regions = model.regions(masks, z);
    const d = model.D.apply(model.composites(x, masks, regions)).reshape([b, n]); // image-major
    const zErr = tf.mean(tf.square(tf.sub(model.reconstructZ(regions), z)), [0, 2]);
    return tf.concat([tf.mean(d, 0), zErr]);
  });
  return stats.data().then((v) => {
    stats.dispose();
    const dComposite = Array.from(v.subarray(0, n));
    const zError = Array.from(v.subarray(n));
    const dMean = dComposite.reduce((a, c) => a + c, 0) / n;
    return { source, dComposite, dMean, zError, objective: -dMean + (model.config.lambdaZ * zError.reduce((a, c) => a + c, 0)) / n };
  });
}

/** Probes a model on `count` held-out colored-MNIST images of its size and region count (2 or 3). */
export async function probeModel(model: RedoModel, opts: { count?: number; seed?: number } = {}): Promise<Omit<RunProbe, 'step'>> {
  const count = opts.count ?? 64;
  const seed = opts.seed ?? SCORE_SEED;
  const { imageSize: size, nRegions: n } = model.config;
  const set = heldOutFor(model.config, count, seed);
  const x = tf.tensor4d(imageSlice(set.images, 0, count), [count, size, size, 3]);
  const truth = tf.tensor4d(set.truth, [count, size, size, n]);
  const z = model.sampleZ(count, seed);
  try {
    const real = tf.tidy(() => tf.mean(model.D.apply(x)));
    const dReal = (await real.data())[0]!;
    real.dispose();
    const rows: ProbeRow[] = [];
    for (const source of MASK_SOURCES) rows.push(await probeSource(model, source, x, truth, z));
    return { count, seed, dReal, rows };
  } finally {
    x.dispose();
    truth.dispose();
    z.dispose();
  }
}

export function probeRunArchive(bytes: Uint8Array, opts: { count?: number; seed?: number } = {}): Promise<RunProbe> {
  return withArchivedModel(bytes, async (model, state) => ({ step: state.iteration, ...(await probeModel(model, opts)) }));
}

const SOURCE_LABEL: Record<MaskSource, string> = {
  F: "F's masks",
  truth: 'ground truth',
  uniform: 'all regions 1/n',
  collapse: 'collapse (last region all)',
};

export function formatRunProbe(p: RunProbe): string {
  const f = (v: number[]) => v.map((x) => x.toFixed(3)).join(' ');
  const lines = [
    `run at step ${p.step}, ${p.count} held-out images, seed ${p.seed}; D(real) ${p.dReal.toFixed(3)}`,
    `${'masks'.padEnd(26)} | mean D(x̂_k) per region | mean   | δ's MSE on z_k per region | L_G = −mean D + λz·mean MSE`,
  ];
  for (const r of p.rows) {
    lines.push(
      `${SOURCE_LABEL[r.source].padEnd(26)} | ${f(r.dComposite).padEnd(23)} | ${r.dMean.toFixed(3).padStart(6)} | ` +
        `${f(r.zError).padEnd(25)} | ${r.objective.toFixed(3)}`,
    );
  }
  return lines.join('\n');
}
