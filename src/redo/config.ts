/** Everything that decides the shape and the training of one ReDO run. */
export interface RedoConfig {
  /** Square image side in pixels: 128 is the reference; 64 and 32 drop generator / discriminator blocks. */
  imageSize: 32 | 64 | 128;
  /** Number of regions n (2 = object + background). */
  nRegions: number;
  /** Size of each region's latent code z_k. */
  nz: number;
  /** Base widths: mask network F (reference nfM = 64), generators G_k (nfX), discriminator D (nfD), z-reconstructor δ (nfZ). */
  nfF: number;
  nfG: number;
  nfD: number;
  nfZ: number;
  /** SAGAN self-attention in G (before its last block) and in D (after its first block). */
  attentionG: boolean;
  attentionD: boolean;
  batchSize: number;
  /** Weight of the z-reconstruction term (λz, 5 in the reference). */
  lambdaZ: number;
  lrG: number;
  lrD: number;
  lrZ: number;
  lrF: number;
  /** L2 weight decay on F, added to its gradient (Adam's coupled decay, as torch.optim.Adam). */
  weightDecayF: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
  /** Gain of the orthogonal initialisation of every conv and linear weight. */
  initGain: number;
  /**
   * Collapse watch (src/redo/collapse.ts): before `collapseLastIteration`, restart when the smallest mean (soft)
   * region area falls below `collapseThreshold`, or the smallest binarised area (the fraction of pixels a region
   * owns: `mask ≥ 0.5` for n = 2) below `collapseBinaryThreshold`. 0 turns a reading's watch off.
   */
  collapseThreshold: number;
  collapseBinaryThreshold: number;
  collapseLastIteration: number;
  /**
   * Blob watch (src/redo/collapse.ts BlobWatch), read at each evaluation on a fixed panel of training images: from
   * iteration `blobFrom` until `blobLastIteration`, restart when the binarised masks' mean pairwise IoU is above
   * `blobPairIoU` or the soft masks' spread below `blobSpread` (the masks ignore the image). 0 turns a reading off.
   */
  blobPairIoU: number;
  blobSpread: number;
  blobFrom: number;
  blobLastIteration: number;
}

export type PresetName = 'paper-128' | 'laptop-128' | 'small-64' | 'c2mnist-64' | 'objects-32' | 'tiny';

const reference: RedoConfig = {
  imageSize: 128,
  nRegions: 2,
  nz: 32,
  nfF: 64,
  nfG: 32,
  nfD: 64,
  nfZ: 64,
  attentionG: true,
  attentionD: true,
  batchSize: 20,
  lambdaZ: 5,
  lrG: 1e-4,
  lrD: 1e-4,
  lrZ: 1e-4,
  lrF: 1e-5,
  weightDecayF: 1e-4,
  adamBeta1: 0,
  adamBeta2: 0.9,
  adamEpsilon: 1e-8,
  initGain: 0.8,
  collapseThreshold: 0.1,
  collapseBinaryThreshold: 0.01,
  collapseLastIteration: 7000,
  blobPairIoU: 0,
  blobSpread: 0,
  blobFrom: 500,
  blobLastIteration: 1500,
};

export const PRESETS: Record<PresetName, RedoConfig> = {
  /** The authors' configuration (Flowers): 128 px, generator nf 32, D and δ nf 64, batch 20. */
  'paper-128': { ...reference },
  /** 128 px for a laptop GPU: a quarter of the reference widths in G, D and δ. */
  'laptop-128': { ...reference, nfG: 16, nfD: 32, nfZ: 32, batchSize: 8 },
  /** 64 px for browsers with little GPU memory. */
  'small-64': { ...reference, imageSize: 64, nfF: 32, nfG: 16, nfD: 32, nfZ: 32, batchSize: 12 },
  /** colored-2-MNIST (n = 3) at 64 px. On the TF.js cpu backend a step takes ~170 s of CPU: train it on a GPU. */
  'c2mnist-64': {
    ...reference,
    imageSize: 64,
    nRegions: 3,
    nz: 16,
    nfF: 16,
    nfG: 8,
    nfD: 16,
    nfZ: 16,
    batchSize: 16,
    // Each digit covers 2–3 % of the image: the reference's suggested 0.1 would restart a correct
    // segmentation as a "collapse" (the reference itself never restarts on colored-2-MNIST).
    collapseThreshold: 0.005,
    collapseBinaryThreshold: 0.005,
  },
  /**
   * Objects on photos at 32 px (`npm run data:objects`, the studio's second demo): the best recipe a search with the
   * authors' code found (docs/recipe-objects-32.md): a wide F (nf 64, cheap at 32 px), a small noise vector
   * (nz 4, so δ can read z back from the redrawn region) and F's learning rate 3e-5.
   */
  'objects-32': {
    ...reference,
    imageSize: 32,
    nz: 4,
    nfF: 64,
    nfG: 16,
    nfD: 32,
    nfZ: 16,
    batchSize: 16,
    lrF: 3e-5,
    // The blob watch: with this recipe, the runs whose masks' pairwise IoU passed 0.85 between iterations 500 and 750
    // had not segmented by 2,500, and those that segmented stayed under 0.82 there (docs/recipe-objects-32.md,
    // "Early signs"). Past 750 a dip is no verdict: runs that segment later pass 0.85 around 1,000 too.
    blobPairIoU: 0.85,
    blobFrom: 500,
    blobLastIteration: 750,
  },
  /** The smallest model that is still ReDO (32 px, attention on): what tests and the e2e run train. */
  tiny: {
    ...reference,
    imageSize: 32,
    nz: 8,
    nfF: 8,
    nfG: 4,
    nfD: 4,
    nfZ: 4,
    batchSize: 2,
  },
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function preset(name: string, overrides: Partial<RedoConfig> = {}): RedoConfig {
  const base = (PRESETS as Record<string, RedoConfig | undefined>)[name];
  if (!base) throw new Error(`unknown preset "${name}"; known: ${PRESET_NAMES.join(', ')}`);
  return validateConfig({ ...base, ...overrides });
}

/** Throws a message naming the first field that cannot build a model. */
export function validateConfig(c: RedoConfig): RedoConfig {
  if (![32, 64, 128].includes(c.imageSize)) throw new Error(`imageSize must be 32, 64 or 128, got ${c.imageSize}`);
  if (!Number.isInteger(c.nRegions) || c.nRegions < 2) throw new Error(`nRegions must be an integer ≥ 2, got ${c.nRegions}`);
  for (const k of ['blobFrom', 'blobLastIteration'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw new Error(`${k} must be an integer ≥ 0, got ${c[k]}`);
  }
  for (const k of ['nz', 'nfF', 'nfG', 'nfD', 'nfZ', 'batchSize'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.nfF % 4 !== 0) throw new Error(`nfF must be a multiple of 4 (F's encoder uses nfF/4 and nfF/2), got ${c.nfF}`);
  for (const k of [
    'lrG',
    'lrD',
    'lrZ',
    'lrF',
    'lambdaZ',
    'weightDecayF',
    'adamEpsilon',
    'initGain',
    'collapseBinaryThreshold',
    'blobPairIoU',
    'blobSpread',
  ] as const) {
    if (!(c[k] >= 0) || !Number.isFinite(c[k])) throw new Error(`${k} must be a finite number ≥ 0, got ${c[k]}`);
  }
  return c;
}

/**
 * Fields added after run files were first written, with the value that keeps an older run behaving exactly as it
 * did (a checkpoint or archive without them resumes bit for bit): the binarised collapse watch and the blob watch
 * are off for them.
 */
export const LEGACY_CONFIG_DEFAULTS: Readonly<Partial<RedoConfig>> = {
  collapseBinaryThreshold: 0,
  blobPairIoU: 0,
  blobSpread: 0,
  blobFrom: 500,
  blobLastIteration: 1500,
};

/** A config read from an older file, with the fields it predates filled in (LEGACY_CONFIG_DEFAULTS). */
export function withLegacyDefaults<T extends object>(c: T): T & Partial<RedoConfig> {
  return { ...LEGACY_CONFIG_DEFAULTS, ...c };
}

/** The fields that decide the networks' shapes: a trained model cannot change them. */
export const SHAPE_KEYS = ['imageSize', 'nRegions', 'nz', 'nfF', 'nfG', 'nfD', 'nfZ', 'attentionG', 'attentionD'] as const;

/**
 * The knobs a run may turn while it trains (issue 21): the four learning rates, λz and Adam's β. A change applies from
 * the next iteration, on the live optimizers (their moments and step counts kept).
 */
export const KNOB_KEYS = ['lrF', 'lrG', 'lrD', 'lrZ', 'lambdaZ', 'adamBeta1', 'adamBeta2'] as const;
export type KnobKey = (typeof KNOB_KEYS)[number];
export type Knobs = Pick<RedoConfig, KnobKey>;

/** Why the shape fields stay locked in a running model (the studio shows it beside them). */
export const SHAPE_LOCK_REASON = "they decide the networks' shapes: a trained model cannot change them (start a new run)";

/** Throws naming the first knob that is not a number a run can train with (Adam's β in [0, 1)). */
export function validateKnobs(k: Partial<Knobs>): void {
  for (const key of Object.keys(k)) {
    if ((SHAPE_KEYS as readonly string[]).includes(key)) throw new Error(`${key} is locked: ${SHAPE_LOCK_REASON}`);
    if (!(KNOB_KEYS as readonly string[]).includes(key)) throw new Error(`${key} is not a knob that can change while a run trains`);
  }
  for (const key of KNOB_KEYS) {
    const v = k[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${key} must be a finite number ≥ 0, got ${String(v)}`);
    if ((key === 'adamBeta1' || key === 'adamBeta2') && v >= 1) throw new Error(`${key} must be below 1, got ${v}`);
  }
}

/**
 * A trained model's config with new training settings (learning rates, batch, λz, Adam, collapse watch): what
 * continuing a run with other settings may change. Throws naming the first shape field asked for.
 */
export function withTrainingSettings(c: RedoConfig, overrides: Partial<RedoConfig>): RedoConfig {
  for (const k of SHAPE_KEYS) {
    if (k in overrides && overrides[k] !== c[k]) {
      throw new Error(`${k} cannot change in a trained model (it decides the networks' shapes): ${String(c[k])} → ${String(overrides[k])}`);
    }
  }
  return validateConfig({ ...c, ...overrides });
}

/**
 * How the networks scale with the image size (the reference only builds 128 px):
 * - G starts from a 4×4 map and doubles it per up-block: log2(S/4) blocks (5 at 128, 4 at 64, 3 at 32).
 *   A smaller G keeps the reference's LAST blocks (so it always ends 2nf → nf with attention before
 *   the last block) and drops its first ones; the dense layer feeds the first kept block.
 * - D and δ halve the map per block down to 4×4: one first block plus log2(S/8) down-blocks
 *   (4 at 128, 3 at 64, 2 at 32), widths doubling from nf; a smaller D drops its LAST down-blocks,
 *   so its final width is nf·2^(blocks) (16nf at 128, 8nf at 64, 4nf at 32).
 * - F is fully convolutional and needs no change; its pyramid pooling uses the reference's
 *   kernel floor((S/4)/g) for g in 1, 2, 3, 6.
 */
export function generatorWidths(c: RedoConfig): number[] {
  const all = [16, 16, 8, 4, 2, 1].map((m) => m * c.nfG); // reference: 16nf→16nf→8nf→4nf→2nf→nf
  const nBlocks = Math.log2(c.imageSize / 4);
  return all.slice(all.length - 1 - nBlocks);
}

export function discriminatorWidths(nf: number, imageSize: number): number[] {
  const nDown = Math.log2(imageSize / 8); // down-blocks after the first block
  const w = [nf];
  for (let i = 0; i < nDown; i++) w.push(nf * 2 ** (i + 1));
  return w;
}
