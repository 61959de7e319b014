/** The building blocks against hand-computed values. */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { ParamStore } from '../src/redo/params';
import { Rng } from '../src/redo/random';
import { orthogonal } from '../src/redo/init';
import { SNConv, ZConv, instanceNorm } from '../src/redo/layers';
import { SelfAttention } from '../src/redo/attention';
import { preset, RedoModel } from '../src/redo';
import { hingeLossFake, hingeLossReal, generatorAdversarialLoss, zReconstructionLoss } from '../src/redo/losses';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Largest singular value of a row-major [r, c] matrix, by many power iterations in float64. */
function largestSingularValue(w: Float32Array | Float64Array, r: number, c: number): number {
  let v = new Float64Array(c).fill(1);
  let s = 0;
  for (let it = 0; it < 500; it++) {
    const u = new Float64Array(r);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) u[i]! += w[i * c + j]! * v[j]!;
    const nv = new Float64Array(c);
    for (let j = 0; j < c; j++) for (let i = 0; i < r; i++) nv[j]! += w[i * c + j]! * u[i]!;
    const norm = Math.hypot(...nv);
    s = Math.sqrt(norm);
    v = nv.map((x) => x / norm);
  }
  return s;
}

describe('spectral normalisation', () => {
  it('σ = uᵀWv converges to the largest singular value; W/σ has spectral norm 1', async () => {
    const store = new ParamStore(new Rng(1), 1);
    const sn = new SNConv(store, 'test', 3, 4, 5, false); // torch W: [5, 36]
    // A known matrix: Q1·diag(7, 3, 2, 1, 0.5)·Q2ᵀ with Q1 [5,5], Q2 [36,5] orthonormal.
    const rng = new Rng(7);
    const q1 = orthogonal(5, 5, 1, rng);
    const q2 = orthogonal(36, 5, 1, rng); // [36, 5] orthonormal columns
    const sv = [7, 3, 2, 1, 0.5];
    const torchW = new Float64Array(5 * 36);
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 36; j++) for (let k = 0; k < 5; k++) torchW[i * 36 + j]! += q1[i * 5 + k]! * sv[k]! * q2[j * 5 + k]!;
    expect(largestSingularValue(torchW, 5, 36)).toBeCloseTo(7, 6);
    // torch [out, in, kh, kw] → TF [kh, kw, in, out]
    sn.w.assign(tf.transpose(tf.tensor(Float32Array.from(torchW), [5, 4, 3, 3]), [2, 3, 1, 0]));
    const sigma = async () => {
      const wn = await sn.weight().data();
      const w0 = await sn.w.data();
      return w0[0]! / wn[0]!;
    };
    for (let i = 0; i < 30; i++) sn.powerIteration();
    expect(await sigma()).toBeCloseTo(7, 4);
    const normalised = (await tf.transpose(sn.weight(), [3, 2, 0, 1]).data()) as Float32Array;
    expect(largestSingularValue(normalised, 5, 36)).toBeCloseTo(1, 4);
    store.dispose();
  });

  it('one power iteration per call: u and v change only when asked', async () => {
    const store = new ParamStore(new Rng(2), 0.8);
    const sn = new SNConv(store, 'test', 3, 2, 3, true);
    const u0 = await sn.u.data();
    tf.tidy(() => sn.weight());
    expect(Array.from(await sn.u.data())).toEqual(Array.from(u0));
    sn.powerIteration();
    expect(Array.from(await sn.u.data())).not.toEqual(Array.from(u0));
    store.dispose();
  });
});

describe('orthogonal initialisation (gain 0.8)', () => {
  it('wide: W·Wᵀ = gain²·I (rows orthonormal)', () => {
    const w = orthogonal(6, 36, 0.8, new Rng(3));
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 6; j++) {
        let d = 0;
        for (let k = 0; k < 36; k++) d += w[i * 36 + k]! * w[j * 36 + k]!;
        expect(d).toBeCloseTo(i === j ? 0.64 : 0, 5);
      }
    }
  });

  it('tall: Wᵀ·W = gain²·I (columns orthonormal), on a conv weight in the store', async () => {
    const store = new ParamStore(new Rng(4), 0.8);
    const v = store.add({ key: 'c.weight', shape: [1, 1, 3, 10], layout: 'conv', init: { kind: 'orthogonal' }, trainable: true });
    const w = await tf.transpose(v.reshape([3, 10])).data(); // torch [10, 3]
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let d = 0;
        for (let k = 0; k < 10; k++) d += w[k * 3 + i]! * w[k * 3 + j]!;
        expect(d).toBeCloseTo(i === j ? 0.64 : 0, 5);
      }
    }
    store.dispose();
  });
});

describe('instance norm', () => {
  it('without affine, biased variance, ε = 1e-5', async () => {
    const x = tf.tensor4d([1, 2, 3, 4, 10, 10, 10, 14], [1, 2, 2, 2]);
    const y = await instanceNorm(x).data();
    // channel 0: 1, 3, 10, 10 → mean 6, var (25 + 9 + 16 + 16)/4 = 16.5
    const s0 = Math.sqrt(16.5 + 1e-5);
    // channel 1: 2, 4, 10, 14 → mean 7.5, var (30.25 + 12.25 + 6.25 + 42.25)/4 = 22.75
    const s1 = Math.sqrt(22.75 + 1e-5);
    const expected = [(1 - 6) / s0, (2 - 7.5) / s1, (3 - 6) / s0, (4 - 7.5) / s1, 4 / s0, 2.5 / s1, 4 / s0, 6.5 / s1];
    expected.forEach((e, i) => expect(y[i]).toBeCloseTo(e, 5));
  });

  it('conditional: γ(z)·x̂ + β(z) with γ, β linear in z (no 1 +)', async () => {
    const store = new ParamStore(new Rng(5), 1);
    const gamma = new ZConv(store, 'g', 2, 1);
    const beta = new ZConv(store, 'b', 2, 1);
    gamma.w.assign(tf.tensor2d([[2], [0.5]]));
    gamma.b.assign(tf.tensor1d([0.25]));
    beta.w.assign(tf.tensor2d([[1], [-1]]));
    beta.b.assign(tf.tensor1d([3]));
    const z = tf.tensor2d([[1, 2]]);
    const x = tf.tensor4d([0, 2, 4, 6], [1, 2, 2, 1]); // mean 3, var 5
    const y = await tf.add(tf.mul(instanceNorm(x), gamma.apply(z)), beta.apply(z)).data();
    const g = 2 * 1 + 0.5 * 2 + 0.25; // 3.25
    const b = 1 * 1 - 1 * 2 + 3; // 2
    [0, 2, 4, 6].forEach((v, i) => expect(y[i]).toBeCloseTo(((v - 3) / Math.sqrt(5 + 1e-5)) * g + b, 5));
    store.dispose();
  });
});

describe('self-attention', () => {
  it('is the identity at initialisation (γ = 0), and not once γ ≠ 0', async () => {
    const store = new ParamStore(new Rng(6), 0.8);
    const att = new SelfAttention(store, 'att', 16);
    const x = tf.randomNormal<tf.Rank.R4>([2, 8, 8, 16], 0, 1, 'float32', 1);
    expect(Array.from(await att.apply(x).data())).toEqual(Array.from(await x.data()));
    att.gamma.assign(tf.tensor1d([0.5]));
    const diff = await tf.sub(att.apply(x), x).abs().max().data();
    expect(diff[0]).toBeGreaterThan(1e-3);
    store.dispose();
  });
});

describe('composition and losses on fixed inputs', () => {
  it('x̂_k = G_k(m_k, z_k) + (1 − m_k) ⊙ x, image-major', async () => {
    const model = new RedoModel(preset('tiny', { imageSize: 32 }), 0, { uninitialised: true });
    const b = 2;
    const x = tf.fill<tf.Rank.R4>([b, 32, 32, 3], 0.5);
    const masks = tf.concat<tf.Tensor4D>([tf.fill([b, 32, 32, 1], 0.25), tf.fill([b, 32, 32, 1], 0.75)], 3);
    const regions = tf.stack([tf.fill([b, 32, 32, 3], 0.1), tf.fill([b, 32, 32, 3], -0.2)], 1) as tf.Tensor5D;
    const comp = model.composites(x, masks, regions);
    expect(comp.shape).toEqual([4, 32, 32, 3]);
    const firstPixel = await comp.slice([0, 0, 0, 0], [4, 1, 1, 1]).data();
    // image 0 region 0, image 0 region 1, image 1 region 0, image 1 region 1
    const r0 = 0.1 + 0.75 * 0.5;
    const r1 = -0.2 + 0.25 * 0.5;
    [r0, r1, r0, r1].forEach((e, i) => expect(firstPixel[i]).toBeCloseTo(e, 6));
    model.dispose();
  });

  it('hinge terms, adversarial term and z reconstruction', async () => {
    const dReal = tf.tensor1d([0.5, 2, -1]);
    const dFake = tf.tensor1d([-2, 0, 0.5]);
    expect((await hingeLossReal(dReal).data())[0]).toBeCloseTo((0.5 + 0 + 2) / 3, 6);
    expect((await hingeLossFake(dFake).data())[0]).toBeCloseTo((0 + 1 + 1.5) / 3, 6);
    expect((await generatorAdversarialLoss(dFake).data())[0]).toBeCloseTo(0.5, 6);
    const z = tf.tensor1d([1, 2, 3, 4]);
    const zr = tf.tensor1d([1, 1, 1, 1]);
    expect((await zReconstructionLoss(z, zr).data())[0]).toBeCloseTo((0 + 1 + 4 + 9) / 4, 6);
  });
});
