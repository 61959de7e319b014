/**
 * src/kernels/wasmKernels.ts and src/kernels/fusedOps.ts: every kernel registered for `wasm` gives what the cpu backend
 * gives (copies bit for bit, arithmetic to float32 rounding), for the patterns ReDO uses and odd ones (strides,
 * paddings, batch broadcast, transposes, ties); the fused spectral-norm and instance-norm ops equal the composed TF.js
 * ops they replace, values and gradients; and wasm training steps hold the tensor count, bytes and the backend's data
 * ids flat (the per-batch aliases of BatchMatMul are released).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset, RedoModel, RedoTrainer, disposeLosses, readLosses } from '../src/redo';
import {
  addSame,
  avgPool,
  concat,
  conv,
  instanceNorm,
  instanceNormAffineRelu,
  Linear,
  reflectPad,
  resizeBilinear1,
  SNConv,
  softmax,
  upsample2,
  ZConv,
  zconvAll,
} from '../src/redo/layers';
import { ParamStore } from '../src/redo/params';
import { Rng } from '../src/redo/random';
import { useFastWasmKernels, FUSED, simdKernels } from '../src/kernels/wasmKernels';
import {
  CONV,
  normalize,
  INSTANCE_NORM_AFFINE_RELU,
  LINEAR,
  REFLECT_PAD,
  REFLECT_PAD_GRAD,
  RESIZE_BILINEAR1,
  RESIZE_BILINEAR1_GRAD,
  ADD_SAME,
  SOFTMAX_GRAD,
  AVG_POOL_GRAD,
  Z_AFFINES,
  Z_AFFINES_GRAD,
  CONCAT,
  snPowerIteration,
  UPSAMPLE2,
  UPSAMPLE2_GRAD,
} from '../src/kernels/fusedOps';
import { normalizeGrad } from '../src/kernels/fusedTrainOps';
import { simdCalls, simdConvArithmetic, useSimdKernels } from '../src/kernels/simdKernels';
import { execFileSync } from 'node:child_process';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const values = (shape: number[], seed: number) =>
  Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37 + seed));

/** f evaluated on `backend` with fresh inputs of the given shapes; the outputs' values and shapes. */
async function on(backend: string, shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const out = f(...shapes.map((s, i) => tf.tensor(values(s, i), s)));
    return (Array.isArray(out) ? out : [out]).map((t) => ({ shape: t.shape, v: t.dataSync() as Float32Array }));
  });
}

/** max |wasm − cpu| relative to max |cpu| over every output (shapes must match). */
async function compare(shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Promise<number> {
  const a = await on('cpu', shapes, f);
  const b = await on('wasm', shapes, f);
  let worst = 0;
  a.forEach((o, k) => {
    expect(b[k]!.shape).toEqual(o.shape);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < o.v.length; i++) {
      err = Math.max(err, Math.abs(o.v[i]! - b[k]!.v[i]!));
      scale = Math.max(scale, Math.abs(o.v[i]!));
    }
    worst = Math.max(worst, err / Math.max(scale, 1e-30));
  });
  return worst;
}

afterAll(() => useFastWasmKernels(true));

/** [x shape, filter shape, stride, padding] */
type ConvCase = [number[], number[], number, 'same' | 'valid' | number];

/** conv2d and both its gradients (under a loss with a sine, so dy varies) on wasm within 1e-5 of the cpu backend. */
async function expectConvsLikeCpu(cases: readonly ConvCase[]): Promise<void> {
  for (const [xs, ws, s, p] of cases) {
    const err = await compare([xs, ws], (x, w) => {
      const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p);
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), tf.sin(conv(a, b))));
      return [conv(x, w), ...tf.grads(f)([x, w])];
    });
    expect(err, JSON.stringify([xs, ws, s, p])).toBeLessThan(1e-5);
  }
}

describe('wasm kernels against the cpu backend', () => {
  it('conv2d forward and both gradients: strides, paddings, 1×1 / 3×3 / 7×7 filters', async () => {
    const cases: ConvCase[] = [
      [[2, 8, 8, 3], [3, 3, 3, 4], 1, 1],
      [[2, 8, 8, 3], [3, 3, 3, 4], 2, 1],
      [[2, 9, 9, 3], [3, 3, 3, 4], 2, 1],
      [[2, 14, 14, 3], [7, 7, 3, 2], 1, 'valid'],
      [[3, 8, 8, 5], [1, 1, 5, 2], 1, 'valid'],
      [[2, 10, 10, 3], [3, 3, 3, 4], 2, 'same'],
      [[1, 7, 9, 2], [3, 3, 2, 3], 1, 'same'],
    ];
    await expectConvsLikeCpu(cases);
  });

  it('matMul: every transpose, batch broadcast both ways, rank 4, vectors', async () => {
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[5, 7], [7, 3], false, false],
      [[7, 5], [7, 3], true, false],
      [[5, 7], [3, 7], false, true],
      [[7, 5], [3, 7], true, true],
      [[4, 5, 7], [4, 7, 3], false, false],
      [[4, 5, 7], [1, 7, 3], false, false],
      [[1, 5, 7], [4, 7, 3], false, false],
      [[4, 7, 5], [4, 3, 7], true, true],
      [[2, 3, 5, 7], [2, 3, 7, 2], false, false],
      [[4, 5, 7], [7, 3], false, false],
      [[6, 64, 16], [6, 64, 2], true, false], // attention's dV = attnᵀ·dO: computed transposed (fewer copies)
      [[1, 1152], [1152, 128], false, false],
      [[3, 6], [6, 1], false, false],
    ];
    // XNNPACK's float32 sums, then the SIMD kernel's (src/kernels/simd/matmul.ts), against the cpu kernel's: a few ulps
    // over K up to 1152
    for (const simd of [false, true]) {
      useSimdKernels(simd);
      const served = simdCalls.batchMatMul;
      for (const [as, bs, ta, tb] of cases) {
        const err = await compare([as, bs], (a, b) => tf.matMul(a, b, ta, tb));
        expect(err, JSON.stringify([as, bs, ta, tb, simd])).toBeLessThan(1e-5);
      }
      expect(simdCalls.batchMatMul - served).toBe(simd ? cases.length : 0);
    }
    useSimdKernels(false);
  });

  it('copies are exact: slice, split, unstack, concat, stack, transpose; reductions over any axes', async () => {
    const sh = [2, 3, 4, 5];
    const copies: Array<(x: tf.Tensor) => tf.Tensor | tf.Tensor[]> = [
      (x) => tf.slice(x, [0, 1, 2, 3], [2, 2, 2, 2]),
      (x) => tf.slice(x, [1, 0, 0, 0], [1, 3, 4, 5]),
      (x) => tf.split(x, [1, 4], 3),
      (x) => tf.unstack(x, 1),
      (x) => tf.concat([x, tf.slice(x, [0, 0, 0, 0], [2, 3, 4, 2])], 3),
      (x) => tf.concat([x, x], 0),
      (x) => tf.stack([x, tf.neg(x)], 2),
      (x) => tf.transpose(x, [3, 1, 2, 0]),
      (x) => tf.transpose(tf.reshape(x, [2, 60]), [1, 0]),
      (x) => tf.transpose(tf.tile(x, [1, 20, 10, 2]), [0, 2, 1, 3]), // big enough for the tiled path
    ];
    for (const f of copies) expect(await compare([sh], f)).toBe(0);
    // again with the SIMD row copies (slices, splits, concatenations: innermost rows of both sides contiguous)
    useSimdKernels(true);
    const served = simdCalls.copyRows;
    for (const f of copies) expect(await compare([sh], f), `SIMD ${f.toString()}`).toBe(0);
    expect(simdCalls.copyRows - served).toBeGreaterThanOrEqual(5);
    useSimdKernels(false);
    for (const axes of [[1, 2], [0, 1, 2], [0], [3], [0, 3]]) {
      for (const keep of [false, true]) {
        const err = await compare([sh], (x) => [
          tf.sum(x, axes, keep),
          tf.mean(x, axes, keep),
          tf.max(x, axes, keep),
          tf.min(x, axes, keep),
        ]);
        expect(err, `${axes} ${keep}`).toBeLessThan(1e-5);
      }
    }
  });

  it('max-pool gradient goes to the first of tied maxima, as on cpu and in PyTorch', async () => {
    const grad = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.tensor4d([1, 1, 2, 0, 1, 1, 0, 2, 3, 3, 3, 3, 3, 3, 3, 3], [1, 4, 4, 1]);
      const w = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
      return Array.from(
        await tf
          .grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), w)))(x)
          .data(),
      );
    };
    expect(await grad('wasm')).toEqual([1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0]);
    expect(await grad('wasm')).toEqual(await grad('cpu'));
  });

  it('identity and same-dtype cast share memory; other casts convert', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor([1.5, -2.5, 3]);
    const before = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const c = tf.clone(x);
    const k = tf.cast(x, 'float32');
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(before);
    expect(Array.from(await tf.cast(x, 'int32').data())).toEqual([1, -2, 3]);
    expect(Array.from(await c.data())).toEqual([1.5, -2.5, 3]);
    tf.dispose([x, c, k]);
  });
});

describe('WebAssembly SIMD convolutions (src/kernels/simd) against the cpu backend', () => {
  afterAll(() => useSimdKernels(false));

  it('forward and both gradients: every block shape, strides, paddings, tails of channels and pixels', async () => {
    // [x, w, stride, pad]: 4×8, 4×4 and 1-channel blocks; output channels past a multiple of 4 (masks, RGB); 1 to 3
    // input channels; 7×7 valid; stride 2 with 'same' (asymmetric padding); pixel counts past a tile, odd widths.
    const cases: ConvCase[] = [
      [[2, 9, 11, 16], [3, 3, 16, 24], 1, 1],
      [[3, 8, 8, 8], [3, 3, 8, 4], 1, 1],
      [[2, 8, 8, 5], [3, 3, 5, 12], 1, 1],
      [[2, 10, 10, 17], [3, 3, 17, 1], 1, 1],
      [[2, 10, 10, 20], [3, 3, 20, 3], 1, 1],
      [[2, 14, 14, 3], [7, 7, 3, 8], 1, 'valid'],
      [[2, 16, 16, 2], [3, 3, 2, 8], 2, 'same'],
      [[2, 9, 9, 8], [3, 3, 8, 8], 2, 1],
      [[4, 5, 7, 32], [1, 1, 32, 16], 1, 'valid'],
      [[1, 13, 13, 4], [4, 4, 4, 8], 1, 'valid'],
    ];
    useSimdKernels(true);
    const before = { ...simdCalls };
    await expectConvsLikeCpu(cases);
    // every case ran the SIMD forward (1 and 3 output channels padded to 4), input gradient and filter gradient
    expect(simdCalls.filterGrad - before.filterGrad).toBeGreaterThanOrEqual(2 * cases.length);
    expect(simdCalls.conv2d - before.conv2d).toBeGreaterThanOrEqual(3 * cases.length);
  });

  it('Winograd F(2×2, 3×3) (3×3, stride 1, ≥ 16 channels): forward and both gradients like the cpu backend', async () => {
    // odd heights and widths (tiles cut at the edge), input channels past a multiple of 4, output channels 8k + 4 and
    // padded to 4 (17: the filter gradient falls back to the direct kernel), 'valid', one tile, and 333 tiles (blocks
    // of 64 with 13 left over, not a multiple of 4)
    const cases: ConvCase[] = [
      [[2, 9, 11, 16], [3, 3, 16, 24], 1, 1],
      [[3, 7, 6, 17], [3, 3, 17, 20], 1, 'same'],
      [[2, 8, 8, 33], [3, 3, 33, 17], 1, 'valid'],
      [[1, 2, 2, 16], [3, 3, 16, 16], 1, 1],
      [[37, 5, 5, 16], [3, 3, 16, 16], 1, 1],
    ];
    useSimdKernels(true);
    const before = simdCalls.winograd;
    await expectConvsLikeCpu(cases);
    // forward, input gradient and (but where 17 output channels) filter gradient, each case; the sine loss doubles them
    expect(simdCalls.winograd - before).toBeGreaterThanOrEqual(3 * cases.length - 1);
  });

  it('Winograd within float32 noise of the direct kernel where it serves, and only there', async () => {
    await tf.setBackend('wasm');
    type Shape = [number, number, number, number];
    const run = async (winograd: boolean, xs: Shape, ws: Shape) => {
      useSimdKernels(true, { winograd });
      const before = simdCalls.winograd;
      const [x, w] = [tf.tensor4d(values(xs, 1), xs), tf.tensor4d(values(ws, 2), ws)];
      const [y, dw] = tf.tidy(() => [tf.conv2d(x, w, 1, 'same'), tf.grad((f: tf.Tensor) => tf.conv2d(x, f as tf.Tensor4D, 1, 'same'))(w)]);
      const out = [await y.data(), await dw.data()] as Float32Array[];
      tf.dispose([x, w, y, dw]);
      return { out, served: simdCalls.winograd - before };
    };
    const shapes: Array<[Shape, Shape]> = [
      [
        [8, 16, 16, 64],
        [3, 3, 64, 64],
      ],
      [
        [4, 8, 8, 128],
        [3, 3, 128, 32],
      ],
    ];
    for (const [xs, ws] of shapes) {
      const [direct, wino] = [await run(false, xs, ws), await run(true, xs, ws)];
      expect([direct.served, wino.served], 'two forwards and a filter gradient').toEqual([0, 3]);
      direct.out.forEach((d, k) => {
        const scale = d.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const err = d.reduce((m, v, i) => Math.max(m, Math.abs(v - wino.out[k]![i]!)), 0);
        // measured 1.5e-6 to 6.6e-6 of the scale; transforms that mixed the wrong taps give order 1
        expect(err / scale, `${JSON.stringify([xs, ws])} output ${k}`).toBeLessThan(3e-5);
      });
    }
    // 3×3 below 16 channels, 1×1 and stride 2 stay direct
    for (const [xs, ws, s] of [
      [[2, 8, 8, 8], [3, 3, 8, 32], 1],
      [[2, 8, 8, 32], [1, 1, 32, 32], 1],
      [[2, 8, 8, 32], [3, 3, 32, 32], 2],
    ] as Array<[Shape, Shape, number]>) {
      useSimdKernels(true);
      const before = simdCalls.winograd;
      tf.tidy(() => tf.conv2d(tf.ones<tf.Rank.R4>(xs), tf.ones<tf.Rank.R4>(ws), s, 'same').dataSync());
      expect(simdCalls.winograd - before, JSON.stringify([xs, ws, s])).toBe(0);
    }
  });

  it('average-pool gradient: tiling windows, leftover rows and columns, and the fallback (overlapping windows)', async () => {
    const cases: Array<[number[], number, number, 'valid' | 'same']> = [
      [[2, 8, 8, 16], 2, 2, 'valid'],
      [[2, 9, 7, 8], 3, 3, 'valid'],
      [[1, 5, 5, 4], 2, 2, 'valid'],
      [[2, 6, 6, 4], 3, 1, 'same'],
    ];
    useSimdKernels(true);
    const before = simdCalls.avgPoolGrad;
    for (const [xs, f, s, p] of cases) {
      const err = await compare([xs], (x) => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(t as tf.Tensor4D, f, s, p), 3)))(x));
      expect(err, JSON.stringify([xs, f, s, p])).toBeLessThan(1e-6);
    }
    expect(simdCalls.avgPoolGrad - before).toBe(3);
  });

  it('relu(IN·γ+β) both ways: bit for bit the JavaScript kernels (γ, β [C] and [B, C]; odd C: its last channel alone)', async () => {
    await tf.setBackend('wasm');
    for (const [c, affine] of [
      [10, [10]],
      [10, [3, 1, 1, 10]],
      [9, [9]],
      [1, [3, 1, 1, 1]],
    ] as const) {
      const shape: [number, number, number, number] = [3, 6, 5, c];
      const run = (on: boolean) => {
        useSimdKernels(on);
        return tf.tidy(() => {
          const x = tf.tensor4d(
            values(shape, 1).map((v, i) => v * (1 + (i % 4)) + (i % 3)),
            shape,
          );
          const g = tf.tensor(
            values([...affine], 3).map((v) => 1 + v),
            [...affine],
          );
          const b = tf.tensor(
            values([...affine], 4).map((v) => 0.5 * v),
            [...affine],
          );
          const w = tf.tensor4d(values(shape, 2), shape);
          const f = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => instanceNormAffineRelu(xi as tf.Tensor4D, gi, bi);
          const loss = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(f(xi, gi, bi), w));
          return [f(x, g, b), ...tf.grads(loss)([x, g, b])].map((t) => Array.from(t.dataSync()));
        });
      };
      const before = simdCalls.fused;
      const simd = run(true);
      expect(simdCalls.fused - before, 'the SIMD kernels ran: two forwards, one gradient').toBe(3);
      expect(simd, `C ${c}, γ, β ${affine}`).toEqual(run(false));
    }
  });

  it("spectral norm's power iteration: bit for bit the JavaScript kernel (odd N for the scalar tail)", async () => {
    await tf.setBackend('wasm');
    for (const [k, n] of [
      [27, 16],
      [9, 5],
      [64, 33],
    ] as const) {
      const w = tf.tensor(values([k * n], 1), [k, n]);
      const u = tf.tensor(values([n], 2), [n]);
      const run = (on: boolean) => {
        useSimdKernels(on);
        const [u1, v1] = snPowerIteration(w, u, 1e-12)!;
        const out = [Array.from(u1.dataSync()), Array.from(v1.dataSync())];
        tf.dispose([u1, v1]);
        return out;
      };
      const before = simdCalls.fused;
      expect(run(true), `K ${k}, N ${n}`).toEqual(run(false));
      expect(simdCalls.fused - before).toBe(1);
      tf.dispose([w, u]);
    }
  });

  it('sums over every axis but the innermost: bit for bit the transposed route (blocks of 16, 4 and 1 channels)', async () => {
    await tf.setBackend('wasm');
    for (const shape of [
      [4, 6, 5, 36],
      [3, 7, 7],
      [2, 3, 4, 5],
    ]) {
      const x = tf.tensor(values(shape, 5), shape);
      const axes = shape.slice(0, -1).map((_, i) => i);
      const sum = (on: boolean, keep: boolean) => {
        useSimdKernels(on);
        const t = tf.sum(x, axes, keep);
        const out = { shape: t.shape, v: Array.from(t.dataSync()) };
        t.dispose();
        return out;
      };
      const before = simdCalls.columnSum;
      for (const keep of [false, true]) expect(sum(true, keep), `${shape} keepDims ${keep}`).toEqual(sum(false, keep));
      expect(simdCalls.columnSum - before).toBe(2);
      x.dispose();
    }
  });

  it('with relaxed SIMD (fused multiply-adds, where the runtime validates them): forward and both gradients', () => {
    // Node 20 validates relaxed SIMD only behind a flag, so in a child Node (tests/helpers/relaxedConv.ts)
    const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'tests/helpers/relaxedConv.ts'], {
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { arithmetic: string; calls: Record<string, number>; errors: number[] };
    expect(r.arithmetic).toBe('relaxed madd');
    expect(r.calls.filterGrad).toBeGreaterThanOrEqual(4);
    expect(r.calls.conv2d).toBeGreaterThanOrEqual(6);
    for (const e of r.errors) expect(e).toBeLessThan(1e-5);
    expect(simdConvArithmetic(), 'this Node, without the flag').toBe('mul+add');
  });

  it("spectral norm's W/σ bit for bit the JavaScript kernel; its gradient to f64 rounding (Σ dY⊙W in two lanes)", async () => {
    await tf.setBackend('wasm');
    useSimdKernels(true);
    const backend = tf.backend() as unknown as BackendWasm;
    const [n, k] = [48, 3 * 3 * 37]; // wm [K, N]: odd K for the rows past a multiple of 4
    const t = (seed: number, size: number) => tf.tensor1d(values([size], seed).map((x) => x * (1 + (seed % 3))));
    const [w, u, v, dy] = [t(1, n * k), t(2, n), t(3, k), t(4, n * k)];
    const out = () => tf.zeros<tf.Rank.R1>([n * k]);
    const [wn, sigma, dw] = [out(), tf.zeros([1]), out()];
    const at = (x: tf.Tensor) => backend.getMemoryOffset(x.dataId);
    const sk = simdKernels()!;
    expect(sk.snNormalize(backend, { w: at(w), u: at(u), v: at(v), wn: at(wn), sigma: at(sigma) }, n, k)).toBe(true);
    const p = { dy: at(dy), w: at(w), u: at(u), v: at(v), sigma: at(sigma), dw: at(dw) };
    expect(sk.snNormalizeGrad(backend, p, n, k)).toBe(true);
    const js = [new Float32Array(n * k), new Float32Array(1), new Float32Array(n * k)];
    const [wv, uv, vv, dyv] = [w, u, v, dy].map((x) => x.dataSync() as Float32Array);
    normalize([wv!, uv!, vv!], [js[0]!, js[1]!], [], {});
    normalizeGrad([dyv!, wv!, uv!, vv!, js[1]!], [js[2]!], [], {});
    expect(sigma.dataSync()).toEqual(js[1]);
    expect(wn.dataSync()).toEqual(js[0]);
    const g = dw.dataSync();
    js[2]!.forEach((x, i) => expect(Math.abs(g[i]! - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -23));
    tf.dispose([w, u, v, dy, wn, sigma, dw]);
    useSimdKernels(false);
  });

  it('forward: bit for bit what XNNPACK gives (the same order of sums), output channels padded to 4 or not', async () => {
    await tf.setBackend('wasm');
    for (const co of [8, 5]) {
      const x = tf.tensor4d(values([3, 12, 12, 16], 1), [3, 12, 12, 16]);
      const w = tf.tensor4d(values([3, 3, 16, co], 2), [3, 3, 16, co]);
      const y = async (on: boolean) => {
        useSimdKernels(on);
        const t = tf.conv2d(x, w, 1, 'same');
        const v = await t.data();
        t.dispose();
        return v;
      };
      const served = simdCalls.conv2d;
      const simd = await y(true);
      expect(simdCalls.conv2d - served).toBe(1);
      expect(simd, `${co} output channels`).toEqual(await y(false));
      tf.dispose([x, w]);
    }
  });
});

describe('fused ops (wasm) against the composed TF.js ops they replace', () => {
  /** f(x) and d(Σ f(x)·w)/dx for x [2, 7, 6, C], with or without the fused kernels, and the kernels one pass ran. */
  async function resample(fused: boolean, f: (x: tf.Tensor4D) => tf.Tensor4D, c = 5) {
    await tf.setBackend('wasm');
    useFastWasmKernels(fused, [FUSED]);
    const x = tf.tensor4d(values([2, 7, 6, c], 5), [2, 7, 6, c]);
    const kernels = new Set<string>();
    const prof = await tf.profile(() => {
      const y = f(x);
      const w = tf.tensor(values(y.shape, 6), y.shape);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), w)))(x);
      return [y, dx];
    });
    prof.kernels.forEach((k) => kernels.add(k.name));
    const [y, dx] = prof.result as tf.Tensor[];
    const out = { y: Array.from(await y!.data()), shape: y!.shape, dx: Array.from(await dx!.data()), kernels };
    tf.dispose([x, y!, dx!]);
    useFastWasmKernels(true, [FUSED]);
    return out;
  }

  it('reflection padding as one kernel each way: bit for bit the composed slices, reversals and concatenations', async () => {
    for (const p of [1, 3]) {
      const a = await resample(true, (t) => reflectPad(t, p));
      const b = await resample(false, (t) => reflectPad(t, p));
      expect(a.kernels.has(REFLECT_PAD) && a.kernels.has(REFLECT_PAD_GRAD)).toBe(true);
      expect(b.kernels.has(REFLECT_PAD)).toBe(false);
      expect(a.shape).toEqual([2, 7 + 2 * p, 6 + 2 * p, 5]);
      expect(a.y).toEqual(b.y);
      expect(a.dx).toEqual(b.dx);
    }
  });

  it('nearest ×2 upsampling as one kernel each way: bit for bit the composed ops (4·avgPool backward), JavaScript or SIMD', async () => {
    const b = await resample(false, upsample2);
    for (const [simd, channels] of [
      [false, 5],
      [true, 5],
      [true, 8],
    ] as const) {
      useSimdKernels(simd);
      const served = simdCalls.fused;
      const a = await resample(true, upsample2, channels);
      const ref = channels === 5 ? b : await resample(false, upsample2, channels);
      expect(simdCalls.fused - served, `SIMD ${simd}`).toBe(simd ? 3 : 0); // forward twice (alone, under tf.grad), backward once
      expect(a.kernels.has(UPSAMPLE2) && a.kernels.has(UPSAMPLE2_GRAD)).toBe(true);
      expect(ref.kernels.has(UPSAMPLE2)).toBe(false);
      expect(a.shape).toEqual([2, 14, 12, channels]);
      expect(a.y).toEqual(ref.y);
      expect(a.dx).toEqual(ref.dx);
    }
    useSimdKernels(false);
  });

  it("one-channel bilinear resizing (torch's, align_corners=False) as one kernel each way: bit for bit the matrix products", async () => {
    for (const size of [12, 13, 4]) {
      const a = await resample(true, (t) => resizeBilinear1(t, size), 1);
      const b = await resample(false, (t) => resizeBilinear1(t, size), 1);
      expect(a.kernels.has(RESIZE_BILINEAR1) && a.kernels.has(RESIZE_BILINEAR1_GRAD)).toBe(true);
      expect(b.kernels.has(RESIZE_BILINEAR1)).toBe(false);
      expect(a.shape).toEqual([2, size, size, 1]);
      expect(a.y).toEqual(b.y);
      expect(a.dx).toEqual(b.dx);
    }
  });

  it('softmax over the innermost axis, its gradient as one kernel: bit for bit TF.js composed one, JavaScript or SIMD', async () => {
    for (const [simd, channels] of [
      [false, 5],
      [true, 5],
      [true, 16],
    ] as const) {
      useSimdKernels(simd);
      const served = simdCalls.fused;
      const a = await resample(true, (t) => softmax(t), channels);
      const b = await resample(false, (t) => tf.softmax(t), channels);
      expect(simdCalls.fused - served, `SIMD ${simd}`).toBe(simd ? 1 : 0);
      expect(a.kernels.has(SOFTMAX_GRAD)).toBe(true);
      expect(b.kernels.has(SOFTMAX_GRAD)).toBe(false);
      expect(a.y).toEqual(b.y);
      expect(a.dx).toEqual(b.dx);
    }
    useSimdKernels(false);
  });

  it('residual sums and concatenations that save nothing for their gradients: what tf.add and tf.concat give, no tensor left', async () => {
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const x = tf.tensor4d(values([2, 3, 4, 5], 5), [2, 3, 4, 5]);
      const u = tf.tensor4d(values([2, 3, 4, 5], 6), [2, 3, 4, 5]);
      type Add = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.Tensor4D;
      type Cat = (xs: tf.Tensor4D[], axis: number) => tf.Tensor4D;
      // t reaches the loss five ways: twice through one sum (dy itself for one input), beside and after it, and alone
      const loss = (add: Add, cat: Cat) => (t: tf.Tensor) => {
        const s = add(t as tf.Tensor4D, t as tf.Tensor4D);
        const r = add(s, u);
        return tf.sum(tf.mul(cat([r, t as tf.Tensor4D], 3), cat([t as tf.Tensor4D, s], 3)));
      };
      const run = async (add: Add, cat: Cat) => {
        const before = tf.memory().numTensors;
        const prof = await tf.profile(() => tf.grad(loss(add, cat))(x));
        const dx = prof.result as tf.Tensor;
        const out = { dx: Array.from(await dx.data()), kernels: prof.kernels.map((k) => k.name) };
        dx.dispose();
        expect(tf.memory().numTensors, backend).toBe(before);
        return out;
      };
      const ours = await run(addSame, concat);
      const theirs = await run(tf.add, tf.concat);
      expect(ours.dx, backend).toEqual(theirs.dx);
      expect(ours.kernels).toContain(ADD_SAME);
      expect(ours.kernels).toContain(CONCAT);
      const clones = (ks: string[]) => ks.filter((k) => k === 'Identity').length;
      // TF.js's save 8 clones (two sums' inputs, two concatenations'); ours clone only the one b that reaches the loss
      expect(clones(theirs.kernels) - clones(ours.kernels), backend).toBe(7);
      expect(ours.kernels.filter((k) => k === 'Reshape').length, backend).toBe(theirs.kernels.filter((k) => k === 'Reshape').length - 3);
      tf.dispose([x, u]);
    }
  });

  /** An SN conv's power iteration, W/σ and its gradient under a loss, with or without the fused kernels. */
  async function spectral(fused: boolean) {
    await tf.setBackend('wasm');
    useFastWasmKernels(fused, [FUSED]);
    const store = new ParamStore(new Rng(7), 0.8, false);
    const layer = new SNConv(store, 'c', 3, 5, 6, true);
    layer.powerIteration();
    layer.powerIteration();
    const x = tf.tensor4d(values([2, 6, 6, 5], 3), [2, 6, 6, 5]);
    const { value, grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(tf.square(layer.apply(x))), [layer.w]);
    const out = {
      u: await layer.u.data(),
      v: await layer.v.data(),
      loss: (await value.data())[0]!,
      grad: await grads[layer.w.name]!.data(),
    };
    store.dispose();
    tf.dispose([x, value, grads[layer.w.name]!]);
    useFastWasmKernels(true, [FUSED]);
    return out;
  }

  it('spectral norm: u, v after two power iterations; W/σ through a conv; its gradient', async () => {
    const a = await spectral(false);
    const b = await spectral(true);
    const rel = (p: ArrayLike<number>, q: ArrayLike<number>) => {
      let e = 0;
      let s = 0;
      for (let i = 0; i < p.length; i++) {
        e = Math.max(e, Math.abs(p[i]! - q[i]!));
        s = Math.max(s, Math.abs(p[i]!));
      }
      return e / s;
    };
    expect(rel(a.u, b.u)).toBeLessThan(1e-5);
    expect(rel(a.v, b.v)).toBeLessThan(1e-5);
    expect(Math.abs(a.loss - b.loss) / Math.abs(a.loss)).toBeLessThan(1e-5);
    expect(rel(a.grad, b.grad)).toBeLessThan(1e-4);
  });

  /** A stride-1 conv (k×k, spectral norm or not, bias or not, of relu(x) or x) and its gradients, with or without the fused kernels. */
  const convRun = async (fused: boolean, k: number, bias: boolean, sn: boolean, relu = false) => {
    await tf.setBackend('wasm');
    useFastWasmKernels(fused, [CONV]);
    const store = new ParamStore(new Rng(7), 0.8, false);
    const layer = new SNConv(store, 'c', k, 5, 6, bias);
    const pad = (k - 1) / 2;
    const apply = (t: tf.Tensor4D) => (relu ? layer.applyToRelu(t) : sn ? layer.apply(t) : conv(t, layer.w, layer.b, 1, pad));
    layer.powerIteration();
    const x = tf.tensor4d(values([2, 6, 6, 5], 3), [2, 6, 6, 5]);
    const w = tf.tensor4d(values([2, 6, 6, 6], 4), [2, 6, 6, 6]);
    const params = [layer.w, ...(layer.b ? [layer.b] : [])];
    const { value, grads } = tf.variableGrads(() => {
      const y = apply(x);
      layer.powerIteration(); // the snapshot, not the moved u and v, must serve the gradient
      return tf.sum<tf.Scalar>(tf.mul(tf.add(y, apply(tf.mul(x, 0.5))), w));
    }, params);
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(apply(t as tf.Tensor4D), w)))(x);
    const out = [await value.data(), ...(await Promise.all(params.map((p) => grads[p.name]!.data()))), await dx.data()];
    store.dispose();
    tf.dispose([x, w, value, dx, ...Object.values(grads)]);
    useFastWasmKernels(true, [CONV]);
    return out.map((a) => Array.from(a));
  };
  it('stride-1 convolutions as one kernel each way: bit for bit the composed ops (spectral norm or not, bias or not, relu first or not)', async () => {
    for (const [k, bias, sn, relu] of [
      [3, true, true, false],
      [1, false, true, false],
      [3, true, false, false],
      [1, false, false, false],
      [3, true, true, true],
      [1, false, true, true],
    ] as const) {
      // with XNNPACK's convolutions and JavaScript's bias, and with the SIMD kernels (src/kernels/simdKernels.ts)
      for (const simd of [false, true]) {
        useSimdKernels(simd);
        const at = `${k}×${k} bias ${bias} sn ${sn} relu ${relu} simd ${simd}`;
        expect(await convRun(true, k, bias, sn, relu), at).toEqual(await convRun(false, k, bias, sn, relu));
      }
      useSimdKernels(false);
    }
  });

  it("the spectral-norm conv's snapshot declares [σ, u, v] alone: the engine's zero gradient for it leaves W out", async () => {
    await tf.setBackend('wasm');
    useFastWasmKernels(true, [CONV]);
    const store = new ParamStore(new Rng(7), 0.8, false);
    const layer = new SNConv(store, 'c', 3, 5, 6, true); // W 3·3·5 × 6: u 6, v 45
    layer.powerIteration();
    const engine = tf.engine() as unknown as { makeTensor: (values: ArrayLike<number> | null, ...rest: unknown[]) => tf.Tensor };
    const makeTensor = engine.makeTensor;
    const x = tf.tensor4d(values([2, 6, 6, 5], 3), [2, 6, 6, 5]);
    const made: number[] = [];
    engine.makeTensor = function (values, ...rest) {
      if (values) made.push(values.length);
      return makeTensor.call(this, values, ...rest);
    };
    try {
      const { value, grads } = tf.variableGrads(() => tf.sum<tf.Scalar>(layer.apply(x)), [layer.w]);
      tf.dispose([value, ...Object.values(grads)]);
    } finally {
      engine.makeTensor = makeTensor;
      tf.dispose(x);
      store.dispose();
    }
    // the zero gradient of the snapshot output: 1 + 6 + 45 floats, not 322 with W (the rest: the loss's seed and its
    // ones over y, 2·6·6·6)
    expect(made.sort((a, b) => a - b)).toEqual([1, 52, 432]);
  });

  it('the spectral-norm conv gradient still reads its snapshot when the heap grows inside it (views detach)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as BackendWasm;
    const heapBytes = () => (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer.byteLength;
    const original = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm');
    let grown = 0;
    tf.unregisterKernel(tf.Conv2DBackpropFilter, 'wasm');
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => {
        const before = heapBytes();
        const big = backend.makeOutput([before / 2], 'float32'); // twice the heap: it must grow
        backend.disposeData(big.dataId);
        if (heapBytes() > before) grown++;
        return original.kernelFunc(args);
      },
    });
    try {
      const composed = await convRun(false, 3, true, true);
      grown = 0;
      expect(await convRun(true, 3, true, true)).toEqual(composed);
      expect(grown).toBeGreaterThan(0);
    } finally {
      tf.unregisterKernel(tf.Conv2DBackpropFilter, 'wasm');
      tf.registerKernel(original);
    }
  });

  it('instance norm: values and input gradient', async () => {
    const run = async (fused: boolean) => {
      await tf.setBackend('wasm');
      useFastWasmKernels(fused, [FUSED]);
      const x = tf.tensor4d(
        values([2, 5, 7, 3], 1).map((v, i) => v * (1 + (i % 3)) + (i % 3)),
        [2, 5, 7, 3],
      );
      const w = tf.tensor4d(values([2, 5, 7, 3], 2), [2, 5, 7, 3]);
      const y = instanceNorm(x);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(instanceNorm(t as tf.Tensor4D), w)))(x);
      const out = { y: await y.data(), g: await g.data() };
      tf.dispose([x, w, y, g]);
      useFastWasmKernels(true, [FUSED]);
      return out;
    };
    const a = await run(false);
    const b = await run(true);
    for (const k of ['y', 'g'] as const) {
      let e = 0;
      for (let i = 0; i < a[k].length; i++) e = Math.max(e, Math.abs(a[k][i]! - b[k][i]!));
      expect(e, k).toBeLessThan(2e-5);
    }
  });

  it('instance norm with affine and relu: values bit for bit, gradients in x, γ, β, γ/β [C] and [B, 1, 1, C]', async () => {
    await tf.setBackend('wasm');
    const shape = [2, 5, 7, 3];
    const composed = (x: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor) => tf.relu(tf.add(tf.mul(instanceNorm(x), g), b)) as tf.Tensor4D;
    for (const affine of [[3], [2, 1, 1, 3]]) {
      const run = (f: typeof composed) =>
        tf.tidy(() => {
          const x = tf.tensor4d(
            values(shape, 1).map((v, i) => v * (1 + (i % 3)) + (i % 3)),
            shape as [number, number, number, number],
          );
          const g = tf.tensor(
            values(affine, 3).map((v) => 1 + v),
            affine,
          );
          const b = tf.tensor(
            values(affine, 4).map((v) => 0.5 * v),
            affine,
          );
          const w = tf.tensor4d(values(shape, 2), shape as [number, number, number, number]);
          const loss = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(f(xi as tf.Tensor4D, gi, bi), w));
          return [f(x, g, b), ...tf.grads(loss)([x, g, b])].map((t) => t.dataSync() as Float32Array);
        });
      const fusedOut = run(instanceNormAffineRelu);
      // the composed ops, with the fused kernels off but instance norm's own on
      tf.unregisterKernel(INSTANCE_NORM_AFFINE_RELU, 'wasm');
      let composedOut: Float32Array[];
      try {
        composedOut = run(composed);
      } finally {
        useFastWasmKernels(true, [FUSED]);
      }
      const [y, ...grads] = fusedOut.map((v, k) => {
        let e = 0;
        let scale = 0;
        for (let i = 0; i < v.length; i++) {
          e = Math.max(e, Math.abs(v[i]! - composedOut[k]![i]!));
          scale = Math.max(scale, Math.abs(composedOut[k]![i]!));
        }
        return e / scale;
      });
      expect(fusedOut[0]!.some((v) => v === 0) && fusedOut[0]!.some((v) => v > 0)).toBe(true); // relu both ways
      expect(y, `y ${affine}`).toBe(0);
      expect(grads[0], `dx ${affine}`).toBe(0);
      // dγ, dβ: sums in double against TF.js's float32 Sum (≈1.4e-7 here)
      expect(Math.max(grads[1]!, grads[2]!), `dγ dβ ${affine}`).toBeLessThan(1e-6);
    }
  });

  it('Linear and ZConv: values and gradients in z, W, b against the composed matMul and add', async () => {
    await tf.setBackend('wasm');
    const store = new ParamStore(new Rng(3), 1);
    const lin = new Linear(store, 'lin', 6, 5);
    const zc = new ZConv(store, 'zc', 6, 5);
    const run = () =>
      tf.tidy(() => {
        const z = tf.tensor2d(values([3, 6], 1), [3, 6]);
        const out: Float32Array[] = [];
        for (const layer of [lin, zc]) {
          const w = tf.tensor(values([3, 5], 2), layer === zc ? [3, 1, 1, 5] : [3, 5]);
          const f = (zi: tf.Tensor) => tf.sum(tf.mul(tf.sin(layer.apply(zi as tf.Tensor2D)), w));
          const { grads } = tf.variableGrads(() => f(z) as tf.Scalar, [layer.w, layer.b]);
          out.push(layer.apply(z).dataSync() as Float32Array, tf.grad(f)(z).dataSync() as Float32Array);
          out.push(grads[layer.w.name]!.dataSync() as Float32Array, grads[layer.b.name]!.dataSync() as Float32Array);
        }
        return out;
      });
    const fusedOut = run();
    tf.unregisterKernel(LINEAR, 'wasm');
    let composedOut: Float32Array[];
    try {
      composedOut = run();
    } finally {
      useFastWasmKernels(true, [FUSED]);
    }
    fusedOut.forEach((v, k) => {
      let e = 0;
      let scale = 0;
      for (let i = 0; i < v.length; i++) {
        e = Math.max(e, Math.abs(v[i]! - composedOut[k]![i]!));
        scale = Math.max(scale, Math.abs(composedOut[k]![i]!));
      }
      expect(v.length, `output ${k}`).toBe(composedOut[k]!.length);
      // sums in double against XNNPACK's float32 ones
      expect(e / scale, `output ${k}`).toBeLessThan(1e-6);
    });
  });
  it('average pooling that saves nothing for its gradient: what tf.avgPool gives both ways (windows of 2 and 3, remainders)', async () => {
    await tf.setBackend('wasm');
    for (const [k, c] of [
      [2, 8],
      [3, 5],
    ] as const) {
      const x = tf.tensor4d(values([2, 7, 6, c], 5), [2, 7, 6, c]);
      const run = async (pool: (t: tf.Tensor4D) => tf.Tensor4D) => {
        const prof = await tf.profile(() => {
          const y = pool(x);
          const w = tf.tensor(values(y.shape, 6), y.shape);
          return [y, tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t as tf.Tensor4D), w)))(x)];
        });
        const [y, dx] = prof.result as tf.Tensor[];
        const out = { y: Array.from(await y!.data()), dx: Array.from(await dx!.data()), kernels: prof.kernels.map((p) => p.name) };
        tf.dispose([y!, dx!]);
        return out;
      };
      const ours = await run((t) => avgPool(t, k));
      const theirs = await run((t) => tf.avgPool(t, k, k, 'valid'));
      expect(ours.kernels).toContain(AVG_POOL_GRAD);
      expect(ours.y).toEqual(theirs.y);
      expect(ours.dx).toEqual(theirs.dx);
      const clones = (ks: string[]) => ks.filter((n) => n === 'Identity').length;
      // the loss's own clones alone (its product's and sum's inputs); tf.avgPool saves x as well
      const loss = await run((t) => t);
      expect(clones(ours.kernels), `k ${k}`).toBe(clones(loss.kernels));
      expect(clones(theirs.kernels), `k ${k}`).toBeGreaterThan(clones(loss.kernels));
      x.dispose();
    }
  });

  it("every ZConv of one z as one kernel each way: each ZConv.apply's values and W, b gradients bit for bit; none in z", async () => {
    await tf.setBackend('wasm');
    const store = new ParamStore(new Rng(4), 1);
    const layers = [new ZConv(store, 'a', 6, 5), new ZConv(store, 'b', 6, 3), new ZConv(store, 'c', 6, 5)];
    const vars = layers.flatMap((l) => [l.w, l.b]);
    const z = tf.tensor2d(values([3, 6], 1), [3, 6]);
    const loss = (ys: tf.Tensor4D[]) =>
      tf.addN(ys.map((y, i) => tf.sum(tf.mul(tf.sin(y), tf.tensor(values(y.shape, 2 + i), y.shape))))) as tf.Scalar;
    const run = async (all: boolean) => {
      const prof = await tf.profile(() => {
        const ys = all ? zconvAll(z, layers) : layers.map((l) => l.apply(z));
        const { grads } = tf.variableGrads(() => loss(all ? zconvAll(z, layers) : layers.map((l) => l.apply(z))), vars);
        return [...ys, ...vars.map((v) => grads[v.name]!)];
      });
      const ts = prof.result as tf.Tensor[];
      const out = { values: await Promise.all(ts.map(async (t) => Array.from(await t.data()))), kernels: prof.kernels.map((k) => k.name) };
      tf.dispose(ts);
      return out;
    };
    const ours = await run(true);
    const theirs = await run(false);
    expect(ours.kernels.filter((k) => k === Z_AFFINES)).toHaveLength(2);
    expect(ours.kernels.filter((k) => k === Z_AFFINES_GRAD)).toHaveLength(1);
    expect(theirs.kernels).not.toContain(Z_AFFINES);
    expect(ours.values).toEqual(theirs.values);
    // z is a constant to it (ReDO's noise): asking for dz is an error, not a zero
    expect(() => tf.grad((t: tf.Tensor) => loss(zconvAll(t as tf.Tensor2D, layers)))(z)).toThrow(/backprop through input 0/);
    tf.dispose(z);
    store.dispose();
  });
});

describe('wasm training steps', () => {
  it('hold the tensor count, tensor bytes and the backend data ids flat (steps 2 to 12 of tiny, n = 3)', async () => {
    await tf.setBackend('wasm');
    const model = new RedoModel(preset('tiny', { nRegions: 3 }), 4);
    const trainer = new RedoTrainer(model, 4);
    const x = tf.randomUniform<tf.Rank.R4>([2, 32, 32, 3], -1, 1, 'float32', 1);
    const ids = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const seen: Array<[number, number, number]> = [];
    for (let i = 0; i < 12; i++) {
      const l = trainer.step(x, x);
      const v = await readLosses(l);
      disposeLosses(l);
      expect(Object.values(v).every(Number.isFinite)).toBe(true);
      seen.push([tf.memory().numTensors, tf.memory().numBytes, ids()]);
    }
    for (const s of seen.slice(2)) expect(s).toEqual(seen[1]);
    trainer.dispose();
    model.dispose();
    x.dispose();
  });
});
