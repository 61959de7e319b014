/**
 * src/kernels/cpuKernels.ts: the strided kernels that replace tfjs-backend-cpu's give exactly (bit for bit) what a plain
 * per-element reference gives and what tfjs's own kernels give, for the patterns the models use and the odd ones.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { useFastCpuKernels } from '../src/kernels/cpuKernels';
import { broadcastStrides, mergeDims } from '../src/kernels/strided';

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Reference: every output element through its own index arithmetic (what numpy broadcasting means). */
function reference(
  op: (a: number, b: number) => number,
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
): Float32Array {
  const r = Math.max(aShape.length, bShape.length);
  const pa = [...new Array<number>(r - aShape.length).fill(1), ...aShape];
  const pb = [...new Array<number>(r - bShape.length).fill(1), ...bShape];
  const shape = pa.map((n, d) => (n === 1 ? pb[d]! : n));
  const out = new Float32Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let d = r - 1; d >= 0; d--) {
      const c = rem % shape[d]!;
      rem = Math.floor(rem / shape[d]!);
      ia += (pa[d] === 1 ? 0 : c) * sa;
      ib += (pb[d] === 1 ? 0 : c) * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    out[i] = op(a[ia]!, b[ib]!);
  }
  return out;
}

const OPS: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, (a: number, b: number) => number]> = [
  ['add', tf.add, (a, b) => a + b],
  ['sub', tf.sub, (a, b) => a - b],
  ['mul', tf.mul, (a, b) => a * b],
  ['div', tf.div, (a, b) => a / b],
  ['maximum', tf.maximum, (a, b) => Math.max(a, b)],
  ['minimum', tf.minimum, (a, b) => Math.min(a, b)],
  ['squaredDifference', tf.squaredDifference, (a, b) => (a - b) * (a - b)],
];

const SHAPES: Array<[number[], number[]]> = [
  [[2, 5, 6, 8], [8]], // bias
  [
    [2, 5, 6, 8],
    [2, 1, 1, 8],
  ], // instance norm statistics
  [
    [2, 5, 6, 1],
    [2, 5, 6, 3],
  ], // a mask times an image
  [
    [3, 1, 5],
    [1, 4, 1],
  ], // both sides broadcast
  [
    [4, 7],
    [4, 7],
  ], // same shape
  [[], [2, 3]], // scalar and tensor
  [[2, 3], []],
  [[], []],
  [
    [1, 1, 1],
    [2, 1, 3],
  ],
  [[0, 3], [3]], // empty
  [
    [5, 1, 4, 1, 2],
    [3, 1, 1, 2],
  ],
];

describe('fast cpu kernels', () => {
  it('broadcast binary ops equal the per-element reference bit for bit', async () => {
    await tf.setBackend('cpu');
    expect(tf.getBackend()).toBe('cpu');
    for (const [aShape, bShape] of SHAPES) {
      const a = seeded(size(aShape), 3 + aShape.length);
      const b = seeded(size(bShape), 11 + bShape.length).map((v) => (v === 0 ? 0.5 : v));
      for (const [name, fn, op] of OPS) {
        const t = tf.tidy(() => fn(tf.tensor(a, aShape), tf.tensor(b, bShape)));
        const got = (await t.data()) as Float32Array;
        const want = reference(op, a, aShape, b, bShape);
        expect(t.shape, `${name} ${aShape}·${bShape}`).toEqual(tf.backend_util.assertAndGetBroadcastShape(aShape, bShape));
        // toEqual compares numbers with Object.is: float32 values equal bit for bit (0 and -0 differ)
        expect(Array.from(got), `${name} ${aShape}·${bShape}`).toEqual(Array.from(want));
        t.dispose();
      }
    }
  });

  it('int32 and bool inputs still go through the original kernels', async () => {
    const s = tf.add(tf.tensor([1, 2, 3], [3], 'int32'), tf.tensor([10], [1], 'int32'));
    expect(s.dtype).toBe('int32');
    expect(Array.from(await s.data())).toEqual([11, 12, 13]);
    s.dispose();
  });

  it('transpose equals the per-element reference for every permutation up to rank 4, and for int32 / bool', async () => {
    const perms = (n: number): number[][] =>
      n === 0 ? [[]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
    const shapes = [[7], [3, 4], [2, 1, 5], [2, 3, 4, 5], [1, 6, 1, 2]];
    for (const shape of shapes) {
      const x = seeded(size(shape), shape.length);
      const strides = broadcastStrides(shape, shape);
      for (const perm of perms(shape.length)) {
        const outShape = perm.map((p) => shape[p]!);
        const want = new Float32Array(x.length);
        for (let i = 0; i < want.length; i++) {
          let rem = i;
          let src = 0;
          for (let d = outShape.length - 1; d >= 0; d--) {
            const c = rem % outShape[d]!;
            rem = Math.floor(rem / outShape[d]!);
            src += c * (shape[perm[d]!] === 1 ? 0 : strides[perm[d]!]!);
          }
          want[i] = x[src]!;
        }
        const t = tf.transpose(tf.tensor(x, shape), perm);
        expect(t.shape).toEqual(outShape);
        expect(Array.from(await t.data()), `${shape} perm ${perm}`).toEqual(Array.from(want));
        t.dispose();
      }
    }
    const i = tf.transpose(
      tf.tensor(
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
        [2, 3],
        'int32',
      ),
    );
    expect(i.dtype).toBe('int32');
    expect(Array.from(await i.data())).toEqual([1, 4, 2, 5, 3, 6]);
    const b = tf.transpose(
      tf.tensor(
        [
          [1, 0, 0],
          [0, 1, 1],
        ],
        [2, 3],
        'bool',
      ),
    );
    expect(b.dtype).toBe('bool');
    expect(Array.from(await b.data())).toEqual([1, 0, 0, 1, 0, 1]);
    tf.dispose([i, b]);
  });

  it('merges contiguous and broadcast dimensions so the inner loop is as long as it can be', () => {
    expect(mergeDims([2, 5, 6, 8], [broadcastStrides([2, 5, 6, 8], [2, 5, 6, 8]), broadcastStrides([8], [2, 5, 6, 8])])).toEqual({
      shape: [60, 8],
      strides: [
        [8, 1],
        [0, 1],
      ],
    });
    expect(
      mergeDims(
        [4, 7],
        [
          [7, 1],
          [7, 1],
        ],
      ),
    ).toEqual({ shape: [28], strides: [[1], [1]] });
    expect(mergeDims([1, 1], [[0, 0]])).toEqual({ shape: [1], strides: [[0]] });
  });

  it("slice, split, sum and softmax equal tfjs-backend-cpu's own kernels bit for bit", async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor(seeded(2 * 5 * 6 * 7, 9), [2, 5, 6, 7]);
    const ops: Array<[string, () => tf.Tensor | tf.Tensor[]]> = [
      ['slice channels', () => tf.slice(x, [0, 1, 2, 3], [2, 3, 4, 2])],
      ['slice rows', () => tf.slice(x, [1, 0, 0, 0], [1, 5, 6, 7])],
      ['slice int32', () => tf.slice(tf.cast(tf.mul(x, 100), 'int32'), [0, 0, 1, 1], [2, 5, 4, 5])],
      ['split channels', () => tf.split(x, [3, 4], 3)],
      ['split rows', () => tf.split(x, [2, 3], 1)],
      ['split batch', () => tf.split(x, 2, 0)],
      ['sum spatial keepDims', () => tf.sum(x, [1, 2], true)],
      ['sum batch', () => tf.sum(x, 0)],
      ['sum axes unsorted', () => tf.sum(x, [3, 1])],
      ['sum all', () => tf.sum(x)],
      ['sum last', () => tf.sum(x, -1)],
      ['sum int32', () => tf.sum(tf.cast(tf.mul(x, 100), 'int32'), [1, 2])],
      ['softmax', () => tf.softmax(tf.mul(x, 7))],
      ['softmax one wide', () => tf.softmax(tf.slice(x, [0, 0, 0, 0], [2, 5, 6, 1]))],
      ['broadcast add', () => tf.add(x, tf.slice(x, [0, 0, 0, 0], [2, 1, 1, 7]))],
      ['transpose', () => tf.transpose(x, [0, 3, 1, 2])],
    ];
    const run = async (fast: boolean) => {
      useFastCpuKernels(fast);
      const out: Array<{ shape: number[]; dtype: string; values: number[] }[]> = [];
      for (const [, op] of ops) {
        const r = tf.tidy(op);
        const list = Array.isArray(r) ? r : [r];
        out.push(await Promise.all(list.map(async (t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(await t.data()) }))));
        tf.dispose(list);
      }
      return out;
    };
    try {
      const before = tf.memory().numTensors;
      const theirs = await run(false);
      const tfjsSum = tf.getKernel(tf.Sum, 'cpu').kernelFunc;
      const ours = await run(true);
      expect(tf.getKernel(tf.Sum, 'cpu').kernelFunc).not.toBe(tfjsSum); // the two runs really used different kernels
      ops.forEach(([name], i) => expect(ours[i], name).toEqual(theirs[i]));
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      useFastCpuKernels(true);
      x.dispose();
    }
  });

  it("matMul (every transpose, batch broadcast) agrees with tfjs-backend-cpu's blocked loop to float32 rounding", async () => {
    await tf.setBackend('cpu');
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[37, 53], [53, 11], false, false],
      [[53, 37], [53, 11], true, false],
      [[37, 53], [11, 53], false, true],
      [[53, 37], [11, 53], true, true],
      [[3, 20, 30], [3, 30, 5], false, false],
      [[2, 1, 20, 30], [3, 30, 5], false, false], // batch broadcast
      [[300, 2], [300, 6], true, false], // long shared dimension (a filter gradient)
    ];
    for (const [aShape, bShape, ta, tb] of cases) {
      const a = tf.tensor(seeded(size(aShape), aShape.length * 7), aShape);
      const b = tf.tensor(seeded(size(bShape), bShape.length * 13), bShape);
      useFastCpuKernels(false);
      const theirs = tf.matMul(a, b, ta, tb);
      useFastCpuKernels(true);
      const ours = tf.matMul(a, b, ta, tb);
      expect(ours.shape).toEqual(theirs.shape);
      const x = await ours.data();
      const y = await theirs.data();
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(y[i]!)));
      expect(worst, `${aShape} × ${bShape} ${ta} ${tb}`).toBeLessThan(1e-5);
      tf.dispose([a, b, ours, theirs]);
    }
    expect(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 5]))).toThrow(/inner shapes/);
  });
});
