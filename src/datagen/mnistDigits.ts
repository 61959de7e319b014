/**
 * MNIST digits as the colored-2-MNIST generator needs them: 28×28, binarised, with their labels, plus a
 * compact binary form the browser fetches (`public/mnist-digits.bin`, written by `scripts/pack-mnist.ts`).
 * Pure: no DOM, no Node APIs, so it runs in Node, in the page and in a Web Worker.
 */

export const MNIST_SIDE = 28;
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE; // 784

export type MnistDigits = {
  count: number;
  /** count labels, 0..9. */
  labels: Uint8Array;
  /** count × 784 bytes, row-major, each 0 or 1: the 28×28 digit binarised at 0.5 (pixel > 0.5 → 1). */
  bits: Uint8Array;
};

/** The packed form starts with these four ASCII bytes, then the count as a little-endian uint32. */
export const MNIST_PACK_MAGIC = 'MNB1';
const HEADER_BYTES = 8;

/** Size in bytes of the packed form of `count` digits: 8-byte header, one label byte each, 1 bit per pixel. */
export function packedMnistSize(count: number): number {
  return HEADER_BYTES + count + Math.ceil((count * MNIST_PIXELS) / 8);
}

/** Binarises one grey-level pixel in [0, 1] the way the spec does ("binarised at 0.5"). */
export function binarisePixel(v: number): 0 | 1 {
  return v > 0.5 ? 1 : 0;
}

function checkDigits(d: MnistDigits): void {
  if (!Number.isInteger(d.count) || d.count < 0) throw new Error(`MnistDigits: bad count ${d.count}`);
  if (d.labels.length !== d.count) throw new Error(`MnistDigits: ${d.labels.length} labels for ${d.count} digits`);
  if (d.bits.length !== d.count * MNIST_PIXELS) {
    throw new Error(`MnistDigits: ${d.bits.length} pixels for ${d.count} digits (expected ${d.count * MNIST_PIXELS})`);
  }
}

/**
 * Packs digits into the compact binary form:
 * bytes 0..3 'MNB1'; 4..7 count (uint32 LE); then `count` label bytes; then every pixel of every digit in order
 * (digit-major, row-major), one bit each, most significant bit first, the last byte zero-padded.
 * 10,000 digits → 990,008 bytes.
 */
export function packMnistDigits(d: MnistDigits): Uint8Array {
  checkDigits(d);
  const out = new Uint8Array(packedMnistSize(d.count));
  for (let i = 0; i < 4; i++) out[i] = MNIST_PACK_MAGIC.charCodeAt(i);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(4, d.count, true);
  out.set(d.labels, HEADER_BYTES);
  const base = HEADER_BYTES + d.count;
  const bits = d.bits;
  for (let i = 0; i < bits.length; i++) {
    if (bits[i] !== 0) out[base + (i >> 3)]! |= 0x80 >> (i & 7);
  }
  return out;
}

/** Inverse of `packMnistDigits`; throws on a wrong magic or a truncated buffer. */
export function unpackMnistDigits(buf: Uint8Array): MnistDigits {
  if (buf.length < HEADER_BYTES) throw new Error(`mnist pack: ${buf.length} bytes, too short for a header`);
  for (let i = 0; i < 4; i++) {
    if (buf[i] !== MNIST_PACK_MAGIC.charCodeAt(i)) throw new Error('mnist pack: bad magic (expected MNB1)');
  }
  const count = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(4, true);
  const expected = packedMnistSize(count);
  if (buf.length !== expected) throw new Error(`mnist pack: ${buf.length} bytes, expected ${expected} for ${count} digits`);
  const labels = buf.slice(HEADER_BYTES, HEADER_BYTES + count);
  for (let i = 0; i < count; i++) {
    if (labels[i]! > 9) throw new Error(`mnist pack: label ${labels[i]} at ${i}`);
  }
  const base = HEADER_BYTES + count;
  const bits = new Uint8Array(count * MNIST_PIXELS);
  for (let i = 0; i < bits.length; i++) bits[i] = (buf[base + (i >> 3)]! >> (7 - (i & 7))) & 1;
  return { count, labels, bits };
}

/**
 * Deterministic train/test split, by index within each class: of the n_c digits of class c (in their order in
 * `d`), the last round(n_c · testFraction) are the test set and the others the training set. The two parts are
 * disjoint and together are the whole of `d`; each keeps the order of `d`. No randomness: every call, in Node or
 * in the browser, gives the same split of the same digits.
 */
export function splitDigits(d: MnistDigits, part: 'train' | 'test', testFraction = 0.2): MnistDigits {
  checkDigits(d);
  if (!(testFraction >= 0 && testFraction <= 1)) throw new Error(`splitDigits: testFraction ${testFraction} not in [0, 1]`);
  const perClass = new Array<number>(10).fill(0);
  for (let i = 0; i < d.count; i++) perClass[d.labels[i]!]! += 1;
  const firstTest = perClass.map((n) => n - Math.round(n * testFraction));
  const seen = new Array<number>(10).fill(0);
  const keep: number[] = [];
  for (let i = 0; i < d.count; i++) {
    const c = d.labels[i]!;
    const isTest = seen[c]! >= firstTest[c]!;
    seen[c]! += 1;
    if (isTest === (part === 'test')) keep.push(i);
  }
  return selectDigits(d, keep);
}

/** The digits at `indices`, in that order. */
export function selectDigits(d: MnistDigits, indices: readonly number[]): MnistDigits {
  const labels = new Uint8Array(indices.length);
  const bits = new Uint8Array(indices.length * MNIST_PIXELS);
  indices.forEach((src, i) => {
    if (!(src >= 0 && src < d.count)) throw new Error(`selectDigits: index ${src} out of range`);
    labels[i] = d.labels[src]!;
    bits.set(d.bits.subarray(src * MNIST_PIXELS, (src + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
  });
  return { count: indices.length, labels, bits };
}
