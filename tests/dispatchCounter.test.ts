/**
 * The work counter of the speed benchmark and the GPU kit (src/worker/dispatchCounter.ts): TF.js kernels on any
 * backend; on webgpu (Dawn in Node, SwiftShader here) one dispatch per GPU program, none for a reshape, queue
 * submits and readbacks; the engine and backend are left as they were.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { setupBackend } from '../src/node/backend';
import { countWork, formatCounts, WorkCounter } from '../src/worker/dispatchCounter';

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('WorkCounter', () => {
  it('cpu: counts each kernel the engine runs, no GPU fields, and restores the engine', async () => {
    await setupBackend('cpu');
    const engine = tf.engine() as unknown as Record<string, unknown>;
    const before = engine.runKernelFunc;
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.tensor1d([4, 5, 6]);
    const { result, counts } = countWork(() => tf.tidy(() => tf.relu(tf.add(a, b)).sum()));
    expect(await result.data()).toEqual(new Float32Array([21]));
    expect(counts).toEqual({ kernels: 3, dispatches: null, submits: null, readbacks: null });
    expect(engine.runKernelFunc).toBe(before);
    expect(Object.prototype.hasOwnProperty.call(engine, 'runKernelFunc')).toBe(false);
    tf.dispose([a, b, result]);
  });

  it('take() starts a new interval; stop() returns the rest and stops counting', async () => {
    await setupBackend('cpu');
    const x = tf.tensor1d([1, 2]);
    const c = new WorkCounter();
    tf.neg(x).dispose();
    expect(c.take().kernels).toBe(1);
    tf.neg(x).dispose();
    tf.neg(x).dispose();
    expect(c.stop().kernels).toBe(2);
    tf.neg(x).dispose();
    expect(c.read().kernels).toBe(2);
    x.dispose();
  });

  it('webgpu: one dispatch per GPU program, none for a reshape; the readback is one submit and one buffer read', async () => {
    const info = await setupBackend('webgpu');
    expect(tf.getBackend(), info.adapter).toBe('webgpu');
    // 4096 elements: above WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD (1000), so the ops run on the GPU, not on the CPU
    const a = tf.tensor2d(
      Array.from({ length: 4096 }, (_, i) => i),
      [64, 64],
    );
    const b = tf.ones([64, 64]);
    const backend = tf.backend() as unknown as Record<string, unknown>;
    const proto = Object.getPrototypeOf(backend) as Record<string, unknown>;
    const c = new WorkCounter();
    const y = tf.tidy(() => tf.add(a, b).reshape([4096]).mul(tf.scalar(2)));
    const encoded = c.read();
    expect(encoded.kernels).toBe(3); // add, reshape, mul
    expect(encoded.dispatches).toBe(2); // reshape moves no data
    const values = await y.data();
    const all = c.stop();
    expect(Array.from(values.slice(0, 3))).toEqual([2, 4, 6]);
    expect(values[4095]).toBe(8192);
    expect(all.readbacks).toBe(1);
    expect(all.dispatches).toBe(2);
    expect(all.submits).toBeGreaterThanOrEqual(1);
    expect(formatCounts(all)).toMatch(/^3 kernels, 2 dispatches, \d+ submits?, 1 readback$/);
    for (const m of ['recordAndSubmit', 'submitQueue', 'getBufferData']) {
      expect(Object.prototype.hasOwnProperty.call(backend, m), m).toBe(false);
      expect(backend[m]).toBe(proto[m]);
    }
    tf.dispose([a, b, y]);
  }, 120_000);
});
