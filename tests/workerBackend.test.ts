/**
 * Backend selection in the training worker (src/worker/backend.ts): WebGPU missing or failing is reported
 * in plain words with WebGL and CPU offered, never a silent fallback; a backend the user picks is used.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as tf from '../src/redo/tf';
import { selectBackend } from '../src/worker/backend';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('selectBackend', () => {
  it('says plainly when the browser has no WebGPU and offers WebGL and CPU', async () => {
    vi.stubGlobal('navigator', {});
    const r = await selectBackend('webgpu');
    expect(r.active).toBeNull();
    expect(r.requested).toBe('webgpu');
    expect(r.fallbackReason).toMatch(/no WebGPU/);
    expect(r.offered).toEqual(['webgl', 'cpu']);
  });

  it('says so when no adapter is available, or asking for one fails', async () => {
    vi.stubGlobal('navigator', { gpu: { requestAdapter: () => Promise.resolve(null) } });
    const none = await selectBackend('webgpu');
    expect(none.active).toBeNull();
    expect(none.fallbackReason).toMatch(/no GPU adapter/);
    expect(none.offered).toEqual(['webgl', 'cpu']);

    vi.stubGlobal('navigator', { gpu: { requestAdapter: () => Promise.reject(new Error('device lost')) } });
    const failed = await selectBackend('webgpu');
    expect(failed.active).toBeNull();
    expect(failed.fallbackReason).toMatch(/failed: device lost/);
  });

  it('uses the backend the user picks', async () => {
    const r = await selectBackend('cpu');
    expect(r.active).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(r.fallbackReason).toBeUndefined();
    expect(r.offered).toEqual(['webgpu', 'webgl']);
  });
});
