import { describe, expect, it } from 'vitest';
import { loadMnistDigitsNode } from '../src/node/mnistNode';
import {
  MNIST_PIXELS,
  packedMnistSize,
  packMnistDigits,
  splitDigits,
  unpackMnistDigits,
  type MnistDigits,
} from '../src/datagen/mnistDigits';
import { coloredMnistDigitSize, generateColored2Mnist, type Colored2Mnist } from '../src/datagen/colored2mnist';

const digits = loadMnistDigitsNode();

/** Colour (in [0, 1]) of pixel k of image n. */
function rgb(d: Colored2Mnist, size: number, n: number, k: number): [number, number, number] {
  const i = (n * size * size + k) * 3;
  return [(d.images[i]! + 1) / 2, (d.images[i + 1]! + 1) / 2, (d.images[i + 2]! + 1) / 2];
}

/** Ground-truth region of pixel k of image n (asserting the mask is one-hot there). */
function regionOf(d: Colored2Mnist, size: number, n: number, k: number): number {
  const R = d.nRegions;
  const base = (n * size * size + k) * R;
  let region = -1;
  let sum = 0;
  for (let j = 0; j < R; j++) {
    const v = d.masks[base + j]!;
    if (v !== 0 && v !== 1) throw new Error(`mask value ${v}`);
    sum += v;
    if (v === 1) region = j;
  }
  if (sum !== 1) throw new Error(`mask sums to ${sum} at image ${n} pixel ${k}`);
  return region;
}

const EPS = 1e-6;

/** Element-wise equality of two typed arrays (vitest's deep equality is slow on millions of elements). */
function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const sameColour = (a: readonly number[], b: readonly number[]) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

describe('MNIST digits', () => {
  it('loads the 10,000 binarised digits of the mnist package, every class present', () => {
    expect(digits.count).toBe(10_000);
    expect(digits.bits.length).toBe(10_000 * MNIST_PIXELS);
    const perClass = new Array<number>(10).fill(0);
    for (const l of digits.labels) perClass[l]! += 1;
    for (const c of perClass) expect(c).toBeGreaterThan(800);
    for (const b of digits.bits) if (b !== 0 && b !== 1) throw new Error(`bit ${b}`);
    // A binarised MNIST digit covers roughly 10–25 % of its 28×28 square.
    let on = 0;
    for (const b of digits.bits) on += b;
    const frac = on / digits.bits.length;
    expect(frac).toBeGreaterThan(0.08);
    expect(frac).toBeLessThan(0.3);
    expect(loadMnistDigitsNode()).toBe(digits); // cached
  });

  it('pack/unpack round trip, ~1 MB for 10,000 digits, rejects bad input', () => {
    const packed = packMnistDigits(digits);
    expect(packed.length).toBe(packedMnistSize(10_000));
    expect(packed.length).toBe(8 + 10_000 + 980_000);
    expect(String.fromCharCode(...packed.subarray(0, 4))).toBe('MNB1');
    const back = unpackMnistDigits(packed);
    expect(back.count).toBe(digits.count);
    expect(same(back.labels, digits.labels)).toBe(true);
    expect(same(back.bits, digits.bits)).toBe(true);
    // Small and empty sets.
    const three: MnistDigits = { count: 3, labels: digits.labels.slice(0, 3), bits: digits.bits.slice(0, 3 * MNIST_PIXELS) };
    expect(unpackMnistDigits(packMnistDigits(three))).toEqual(three);
    const none: MnistDigits = { count: 0, labels: new Uint8Array(0), bits: new Uint8Array(0) };
    expect(unpackMnistDigits(packMnistDigits(none))).toEqual(none);
    const bad = packed.slice();
    bad[0] = 0x58;
    expect(() => unpackMnistDigits(bad)).toThrow(/magic/);
    expect(() => unpackMnistDigits(packed.subarray(0, packed.length - 1))).toThrow(/expected/);
  });

  it('train/test split is deterministic, per class, disjoint and complete', () => {
    const train = splitDigits(digits, 'train');
    const test = splitDigits(digits, 'test');
    expect(train.count + test.count).toBe(digits.count);
    expect(test.count).toBeGreaterThan(1900);
    expect(test.count).toBeLessThan(2100);
    const again = splitDigits(digits, 'test');
    expect(same(again.labels, test.labels) && same(again.bits, test.bits)).toBe(true);
    // Per class: 20 % (rounded) held out.
    const count = (d: MnistDigits, c: number) => d.labels.filter((l) => l === c).length;
    for (let c = 0; c < 10; c++) {
      const total = count(digits, c);
      expect(count(test, c)).toBe(Math.round(total * 0.2));
      expect(count(train, c)).toBe(total - Math.round(total * 0.2));
    }
    // Disjoint by content too: no held-out digit is (binarised) identical to a training digit, up to the odd
    // duplicate the data set itself may hold.
    const key = (d: MnistDigits, i: number) =>
      `${d.labels[i]}:${Buffer.from(d.bits.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS)).toString('base64')}`;
    const trainKeys = new Set<string>();
    for (let i = 0; i < train.count; i++) trainKeys.add(key(train, i));
    let shared = 0;
    for (let i = 0; i < test.count; i++) if (trainKeys.has(key(test, i))) shared++;
    // The mnist package may contain a few exact duplicate binarised images; content overlap must be tiny.
    expect(shared).toBeLessThanOrEqual(5);
    // Other fractions.
    expect(splitDigits(digits, 'test', 0).count).toBe(0);
    expect(splitDigits(digits, 'train', 1).count).toBe(0);
  });
});

describe('colored-2-MNIST', () => {
  it('digit side scales from 56 at 128', () => {
    expect(coloredMnistDigitSize(128)).toBe(56);
    expect(coloredMnistDigitSize(64)).toBe(28);
    expect(coloredMnistDigitSize(32)).toBe(14);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = generateColored2Mnist(digits, { count: 6, size: 64, seed: 42 });
    const b = generateColored2Mnist(digits, { count: 6, size: 64, seed: 42 });
    const c = generateColored2Mnist(digits, { count: 6, size: 64, seed: 43 });
    expect(same(a.images, b.images)).toBe(true);
    expect(same(a.masks, b.masks)).toBe(true);
    expect(same(a.labels, b.labels)).toBe(true);
    expect(same(a.digitIndices, b.digitIndices)).toBe(true);
    expect(same(a.images, c.images)).toBe(false);
  });

  for (const size of [32, 64, 128]) {
    it(`size ${size}: shapes, ranges, colour constraints, one-hot masks, parity, area`, () => {
      const count = size === 128 ? 16 : 40;
      const d = generateColored2Mnist(digits, { count, size, seed: 7 + size });
      const plane = size * size;
      expect(d.nRegions).toBe(3);
      expect(d.images.length).toBe(count * plane * 3);
      expect(d.masks.length).toBe(count * plane * 3);
      expect(d.labels.length).toBe(count * 2);
      let min = Infinity;
      let max = -Infinity;
      for (const v of d.images) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      expect(min).toBeGreaterThanOrEqual(-1);
      expect(max).toBeLessThanOrEqual(1);

      const D = coloredMnistDigitSize(size);
      const areas = [0, 0];
      for (let n = 0; n < count; n++) {
        // Parity: region 0 is an even digit, region 1 an odd one; the labels are the digits' own.
        const [le, lo] = [d.labels[2 * n]!, d.labels[2 * n + 1]!];
        expect(le % 2).toBe(0);
        expect(lo % 2).toBe(1);
        expect(digits.labels[d.digitIndices[2 * n]!]).toBe(le);
        expect(digits.labels[d.digitIndices[2 * n + 1]!]).toBe(lo);

        const colour: ([number, number, number] | undefined)[] = [undefined, undefined, undefined];
        const bbox = [
          [size, size, -1, -1],
          [size, size, -1, -1],
        ];
        const count2 = [0, 0, 0];
        for (let k = 0; k < plane; k++) {
          const g = regionOf(d, size, n, k);
          count2[g]! += 1;
          const c = rgb(d, size, n, k);
          // Each region is one flat colour.
          if (colour[g] === undefined) colour[g] = c;
          else if (!sameColour(c, colour[g])) throw new Error(`image ${n}: region ${g} is not one flat colour`);
          if (g < 2) {
            const y = Math.floor(k / size);
            const x = k % size;
            const bb = bbox[g]!;
            bb[0] = Math.min(bb[0]!, x);
            bb[1] = Math.min(bb[1]!, y);
            bb[2] = Math.max(bb[2]!, x);
            bb[3] = Math.max(bb[3]!, y);
          }
        }
        const [even, odd, bg] = colour;
        expect(bg).toBeDefined();
        const [br, bgG, bb] = bg!;
        expect(br).toBe(bgG); // R = G
        for (const v of [br, bb]) {
          expect(v).toBeGreaterThanOrEqual(0.33 - EPS);
          expect(v).toBeLessThanOrEqual(0.66 + EPS);
        }
        if (even) {
          expect(even[1]).toBe(even[2]); // G = B
          for (const v of even) {
            expect(v).toBeGreaterThanOrEqual(0 - EPS);
            expect(v).toBeLessThanOrEqual(0.33 + EPS);
          }
        }
        if (odd) {
          expect(odd[0]).toBe(odd[2]); // R = B
          for (const v of odd) {
            expect(v).toBeGreaterThanOrEqual(0.66 - EPS);
            expect(v).toBeLessThanOrEqual(1 + EPS);
          }
        }
        // Each digit lies inside a D×D box fully on the canvas.
        for (let g = 0; g < 2; g++) {
          const bb2 = bbox[g]!;
          if (bb2[2]! < 0) continue; // fully hidden under the other digit (rare)
          expect(bb2[2]! - bb2[0]!).toBeLessThan(D);
          expect(bb2[3]! - bb2[1]!).toBeLessThan(D);
          expect(bb2[2]!).toBeLessThan(size);
          expect(bb2[3]!).toBeLessThan(size);
        }
        areas[0]! += count2[0]! / plane;
        areas[1]! += count2[1]! / plane;
      }
      // A binarised digit covers ~10–25 % of its D×D square; D² / size² = (56/128)² ≈ 0.19 of the canvas.
      const square = (D * D) / plane;
      for (const a of areas) {
        const meanArea = a / count;
        expect(meanArea).toBeGreaterThan(0.07 * square);
        expect(meanArea).toBeLessThan(0.3 * square);
      }
    });
  }

  it('the digit on top owns overlapping pixels; both z-orders occur', () => {
    // Use two solid squares as "digits" so the overlap is large and easy to check.
    const solid = new Uint8Array(MNIST_PIXELS).fill(1);
    const fake: MnistDigits = { count: 2, labels: Uint8Array.from([2, 7]), bits: new Uint8Array([...solid, ...solid]) };
    const size = 32;
    const count = 60;
    const d = generateColored2Mnist(fake, { count, size, seed: 3 });
    const D = coloredMnistDigitSize(size);
    let evenOnTop = 0;
    for (let n = 0; n < count; n++) {
      const area = [0, 0, 0];
      for (let k = 0; k < size * size; k++) area[regionOf(d, size, n, k)]! += 1;
      // Two D×D squares: the top one is whole, the bottom one loses the overlap.
      const top = area[0] === D * D ? 0 : 1;
      expect(area[top]).toBe(D * D);
      expect(area[1 - top]! + area[top]! + area[2]!).toBe(size * size);
      if (area[0] === D * D && area[1]! < D * D) evenOnTop++;
    }
    expect(evenOnTop).toBeGreaterThan(5);
    expect(evenOnTop).toBeLessThan(count - 5);
  });

  it('regions 2: one digit of any class on the background, even- or odd-style colour', () => {
    const size = 64;
    const count = 60;
    const d = generateColored2Mnist(digits, { count, size, seed: 11, regions: 2 });
    expect(d.nRegions).toBe(2);
    expect(d.masks.length).toBe(count * size * size * 2);
    expect(d.labels.length).toBe(count);
    let dark = 0;
    const parities = new Set<number>();
    for (let n = 0; n < count; n++) {
      parities.add(d.labels[n]! % 2);
      let digitColour: [number, number, number] | undefined;
      let area = 0;
      for (let k = 0; k < size * size; k++) {
        const g = regionOf(d, size, n, k);
        const c = rgb(d, size, n, k);
        if (g === 0) {
          area++;
          digitColour ??= c;
          if (!sameColour(c, digitColour)) throw new Error(`image ${n}: digit is not one flat colour`);
        } else if (c[0] !== c[1]) {
          throw new Error(`image ${n}: background R ≠ G`);
        }
      }
      expect(area).toBeGreaterThan(0);
      const c = digitColour!;
      if (c[0] <= 0.33 + EPS) {
        dark++;
        expect(c[1]).toBe(c[2]);
        for (const v of c) expect(v).toBeLessThanOrEqual(0.33 + EPS);
      } else {
        expect(c[0]).toBe(c[2]);
        for (const v of c) expect(v).toBeGreaterThanOrEqual(0.66 - EPS);
      }
    }
    expect(parities.size).toBe(2);
    expect(dark).toBeGreaterThan(10);
    expect(dark).toBeLessThan(count - 10);
  });

  it('a test set built from the test split uses only held-out digits', () => {
    // Synthetic digits whose pixels encode their index, classes interleaved (not sorted by class).
    const count = 500;
    const labels = new Uint8Array(count);
    const bits = new Uint8Array(count * MNIST_PIXELS);
    for (let i = 0; i < count; i++) {
      labels[i] = (i * 7 + (i >> 3)) % 10;
      for (let b = 0; b < 16; b++) bits[i * MNIST_PIXELS + b] = (i >> b) & 1;
    }
    const all: MnistDigits = { count, labels, bits };
    const id = (d: MnistDigits, i: number) => {
      let v = 0;
      for (let b = 0; b < 16; b++) v |= d.bits[i * MNIST_PIXELS + b]! << b;
      return v;
    };
    const train = splitDigits(all, 'train', 0.25);
    const test = splitDigits(all, 'test', 0.25);
    const trainIds = Array.from({ length: train.count }, (_, i) => id(train, i));
    const testIds = Array.from({ length: test.count }, (_, i) => id(test, i));
    expect(new Set([...trainIds, ...testIds]).size).toBe(count); // disjoint and complete
    for (let i = 0; i < train.count; i++) expect(train.labels[i]).toBe(labels[trainIds[i]!]);
    for (let i = 0; i < test.count; i++) expect(test.labels[i]).toBe(labels[testIds[i]!]);
    // Per class, the test digits are the last ones of that class.
    for (let c = 0; c < 10; c++) {
      const ofClass = [...labels.keys()].filter((i) => labels[i] === c);
      const nTest = Math.round(ofClass.length * 0.25);
      expect(testIds.filter((i) => labels[i] === c)).toEqual(ofClass.slice(ofClass.length - nTest));
    }
    // Generating from the test part draws only test digits.
    const d = generateColored2Mnist(test, { count: 50, size: 32, seed: 5 });
    for (const i of d.digitIndices) {
      expect(i).toBeLessThan(test.count);
      expect(trainIds).not.toContain(testIds[i]);
    }
  });
});
