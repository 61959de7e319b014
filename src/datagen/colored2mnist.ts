/**
 * colored-2-MNIST, the paper's sanity check (spec, "colored-2-MNIST"). Pure: no DOM, no Node APIs.
 *
 * Reference canvas 128×128: digits scaled from 28×28 to 56×56 (nearest), top-left corner uniform integer in
 * 0..71 on each axis (numpy's `randint(0, 72)`: 72 = 128 − 56 excluded). At another canvas size S everything
 * scales: digit side D = round(56·S/128), top-left uniform in 0..S−D−1 (S = 64 → D = 28, 0..35; S = 32 → D = 14,
 * 0..17).
 *
 * Colours, each channel drawn independently unless tied:
 * - background uniform in [.33, .66] with R = G;
 * - even digit uniform in [0, .33] with G = B;
 * - odd digit uniform in [.66, 1] with R = B.
 * Digits are binarised at 0.5 (already done in `MnistDigits`); overlap is allowed and which digit is drawn on top
 * is a fair coin. Colours in [0, 1] are written to `images` as x·2 − 1, i.e. in [−1, 1] like every ReDO input.
 *
 * Ground truth, one-hot per pixel, regions in this order:
 * - regions 3 (the spec's dataset): [even digit, odd digit, background]; a pixel covered by both digits belongs
 *   to the one on top (it is the one visible there).
 * - regions 2 (a simpler variant, not in the paper): ONE digit of any class on the background, coloured like the
 *   spec's even digit or like its odd digit (fair coin), ground truth [digit, background].
 *
 * Randomness comes only from `Rng(seed)`; same digits, options and seed ⇒ bit-identical output.
 */
import { Rng } from '../redo/random';
import { MNIST_PIXELS, MNIST_SIDE, type MnistDigits } from './mnistDigits';

export type Colored2MnistOptions = {
  count: number;
  /** Canvas side in pixels (e.g. 32, 64, 128; the paper uses 128). */
  size: number;
  seed: number;
  /** 3 (default): even digit, odd digit, background. 2: one digit, background. */
  regions?: 3 | 2;
};

export type Colored2Mnist = {
  /** count × size × size × 3, NHWC, values in [−1, 1]. */
  images: Float32Array;
  /** count × size × size × nRegions, NHWC, one-hot ground truth (region order above). */
  masks: Float32Array;
  nRegions: 3 | 2;
  /**
   * count × (nRegions − 1): the MNIST label of each digit drawn, in ground-truth region order
   * (regions 3: [even label, odd label]; regions 2: [label]).
   */
  labels: Uint8Array;
  /** count × (nRegions − 1): the index in `digits` of each digit drawn, same order as `labels`. */
  digitIndices: Int32Array;
};

/** The reference canvas and digit side; other sizes scale proportionally. */
export const C2M_REFERENCE_SIZE = 128;
export const C2M_REFERENCE_DIGIT = 56;

/** Digit side at canvas size `size`: round(56 · size / 128). */
export function coloredMnistDigitSize(size: number): number {
  return Math.round((C2M_REFERENCE_DIGIT * size) / C2M_REFERENCE_SIZE);
}

type Rgb = [number, number, number];

function backgroundColour(rng: Rng): Rgb {
  const rg = rng.uniform(0.33, 0.66);
  const b = rng.uniform(0.33, 0.66);
  return [rg, rg, b];
}

function evenColour(rng: Rng): Rgb {
  const r = rng.uniform(0, 0.33);
  const gb = rng.uniform(0, 0.33);
  return [r, gb, gb];
}

function oddColour(rng: Rng): Rgb {
  const rb = rng.uniform(0.66, 1);
  const g = rng.uniform(0.66, 1);
  return [rb, g, rb];
}

type Placed = { digit: number; x: number; y: number; colour: Rgb; region: number };

export function generateColored2Mnist(digits: MnistDigits, opts: Colored2MnistOptions): Colored2Mnist {
  const { count, size, seed } = opts;
  const nRegions = opts.regions ?? 3;
  if (nRegions !== 2 && nRegions !== 3) throw new Error(`colored-2-MNIST: regions must be 2 or 3, got ${String(nRegions)}`);
  if (!Number.isInteger(count) || count < 0) throw new Error(`colored-2-MNIST: bad count ${count}`);
  if (!Number.isInteger(size) || size < 8) throw new Error(`colored-2-MNIST: canvas size ${size} must be an integer ≥ 8`);
  if (digits.bits.length !== digits.count * MNIST_PIXELS) throw new Error('colored-2-MNIST: malformed MnistDigits');

  const even: number[] = [];
  const odd: number[] = [];
  for (let i = 0; i < digits.count; i++) (digits.labels[i]! % 2 === 0 ? even : odd).push(i);
  if (nRegions === 3 && (even.length === 0 || odd.length === 0)) {
    throw new Error('colored-2-MNIST: needs at least one even and one odd digit');
  }
  if (digits.count === 0) throw new Error('colored-2-MNIST: no digits');

  const D = coloredMnistDigitSize(size);
  const positions = size - D; // top-left uniform in 0..positions−1 (0..71 at 128)
  // Nearest-neighbour source row/column of each digit pixel.
  const src = new Int32Array(D);
  for (let i = 0; i < D; i++) src[i] = Math.min(MNIST_SIDE - 1, Math.floor((i * MNIST_SIDE) / D));

  const nDigits = nRegions - 1;
  const bgRegion = nRegions - 1;
  const plane = size * size;
  const images = new Float32Array(count * plane * 3);
  const masks = new Float32Array(count * plane * nRegions);
  const labels = new Uint8Array(count * nDigits);
  const digitIndices = new Int32Array(count * nDigits);
  const owner = new Int8Array(plane); // ground-truth region of each pixel of the current image
  const rng = new Rng(seed);

  for (let n = 0; n < count; n++) {
    // Draw order is fixed (part of the determinism contract): background, then per digit (index, colour,
    // position), then the z-order coin.
    const bg = backgroundColour(rng);
    const placed: Placed[] = [];
    if (nRegions === 3) {
      const e = even[rng.int(even.length)]!;
      const ec = evenColour(rng);
      const ex = rng.int(positions);
      const ey = rng.int(positions);
      const o = odd[rng.int(odd.length)]!;
      const oc = oddColour(rng);
      const ox = rng.int(positions);
      const oy = rng.int(positions);
      placed.push({ digit: e, x: ex, y: ey, colour: ec, region: 0 }, { digit: o, x: ox, y: oy, colour: oc, region: 1 });
      if (rng.next() < 0.5) placed.reverse(); // the last one drawn is on top
    } else {
      const d = rng.int(digits.count);
      const c = rng.next() < 0.5 ? evenColour(rng) : oddColour(rng);
      const x = rng.int(positions);
      const y = rng.int(positions);
      placed.push({ digit: d, x, y, colour: c, region: 0 });
    }
    for (const p of placed) {
      labels[n * nDigits + p.region] = digits.labels[p.digit]!;
      digitIndices[n * nDigits + p.region] = p.digit;
    }

    owner.fill(bgRegion);
    for (const p of placed) {
      const bits = digits.bits.subarray(p.digit * MNIST_PIXELS, (p.digit + 1) * MNIST_PIXELS);
      for (let i = 0; i < D; i++) {
        const row = (p.y + i) * size + p.x;
        const srow = src[i]! * MNIST_SIDE;
        for (let j = 0; j < D; j++) if (bits[srow + src[j]!] !== 0) owner[row + j] = p.region;
      }
    }

    const colours: Rgb[] = [];
    for (const p of placed) colours[p.region] = p.colour;
    colours[bgRegion] = bg;
    const imgBase = n * plane * 3;
    const maskBase = n * plane * nRegions;
    for (let k = 0; k < plane; k++) {
      const r = owner[k]!;
      const c = colours[r]!;
      images[imgBase + 3 * k] = c[0] * 2 - 1;
      images[imgBase + 3 * k + 1] = c[1] * 2 - 1;
      images[imgBase + 3 * k + 2] = c[2] * 2 - 1;
      masks[maskBase + nRegions * k + r] = 1;
    }
  }
  return { images, masks, nRegions, labels, digitIndices };
}
