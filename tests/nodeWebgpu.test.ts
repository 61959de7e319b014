/**
 * The headless trainer's WebGPU path: Dawn (npm `webgpu`) initialises in Node (SwiftShader on machines without a
 * GPU), and one tiny training step on the tfjs webgpu backend gives the cpu backend's losses and updated masks.
 * Slow on SwiftShader (~1 min, mostly shader compilation): one step only.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset, RedoModel, RedoTrainer, readLosses, disposeLosses, type LossValues } from '../src/redo';
import { setupBackend, type BackendName } from '../src/node/backend';

async function oneStep(backend: BackendName): Promise<{ losses: LossValues; masks: Float32Array; adapter?: string }> {
  const info = await setupBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  const model = new RedoModel(preset('tiny', { nRegions: 3 }), 11);
  const trainer = new RedoTrainer(model, 11);
  const x = tf.randomUniform<tf.Rank.R4>([2, 32, 32, 3], -1, 1, 'float32', 21);
  const xr = tf.randomUniform<tf.Rank.R4>([2, 32, 32, 3], -1, 1, 'float32', 22);
  const l = trainer.step(x, xr);
  const losses = await readLosses(l);
  disposeLosses(l);
  const m = model.masks(x);
  const masks = (await m.data()) as Float32Array;
  tf.dispose([m, x, xr]);
  trainer.dispose();
  model.dispose();
  return { losses, masks, ...(info.adapter ? { adapter: info.adapter } : {}) };
}

// Never skipped: without a Vulkan driver (Debian's chromium brings SwiftShader; scripts/setup.sh installs it)
// setupBackend('webgpu') fails with a message that says what is missing.
describe('tfjs webgpu backend in Node (Dawn)', () => {
  it('one tiny trainStep: same losses and updated masks as the cpu backend (within 1e-3)', async () => {
    const cpu = await oneStep('cpu');
    const gpu = await oneStep('webgpu');
    console.log(`webgpu adapter: ${gpu.adapter}`);
    expect(gpu.adapter).toBeTruthy();
    for (const k of Object.keys(cpu.losses) as Array<keyof LossValues>) {
      const a = cpu.losses[k];
      const b = gpu.losses[k];
      expect(Number.isFinite(b), k).toBe(true);
      expect(Math.abs(a - b), `${k}: cpu ${a} webgpu ${b}`).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(a)));
    }
    expect(gpu.masks.length).toBe(cpu.masks.length);
    let worst = 0;
    for (let i = 0; i < cpu.masks.length; i++) worst = Math.max(worst, Math.abs(cpu.masks[i]! - gpu.masks[i]!));
    expect(worst).toBeLessThan(1e-3);
  }, 400_000);
});
