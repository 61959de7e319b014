/**
 * Which TF.js kernels make a training step's WebGPU dispatches: one step of a preset encoded on `webgpu` (Dawn in
 * Node; not waited for), every kernel's dispatches summed by kernel name, largest first. For finding what to fuse.
 *
 *   npx tsx bench/dispatch-profile.ts [PRESET] [BATCH]     # default tiny at its own batch
 */
import * as tf from '../src/redo/tf';
import { preset, RedoModel, RedoTrainer, disposeLosses } from '../src/redo';
import { setupBackend } from '../src/node/backend';

const name = process.argv[2] ?? 'tiny';
const batch = Number(process.argv[3] ?? 0);

async function main(): Promise<void> {
  await setupBackend('webgpu');
  const config = preset(name, batch ? { batchSize: batch } : {});
  const n = 2 * config.batchSize + 2;
  const pixels = new Float32Array(n * config.imageSize * config.imageSize * 3).map((_, i) => Math.sin(i * 0.37) * 0.9);
  const data = { count: n, size: config.imageSize, pixels };
  const model = new RedoModel(config, 1, { uninitialised: true });
  const trainer = new RedoTrainer(model, 1);
  disposeLosses(trainer.stepOn(data, { batchSeed: 1 })); // warm-up: pipelines, first-step work
  const engine = tf.engine() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const backend = tf.backend() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const byKernel = new Map<string, { kernels: number; dispatches: number }>();
  const stack: string[] = [];
  const runKernelFunc = engine.runKernelFunc!;
  const recordAndSubmit = backend.recordAndSubmit!;
  engine.runKernelFunc = function (this: unknown, ...a: unknown[]) {
    const k = (a[0] as { kernelName?: string }).kernelName ?? 'customOp';
    stack.push(k);
    const e = byKernel.get(k) ?? { kernels: 0, dispatches: 0 };
    e.kernels++;
    byKernel.set(k, e);
    try {
      return runKernelFunc.apply(this, a);
    } finally {
      stack.pop();
    }
  };
  backend.recordAndSubmit = function (this: unknown, ...a: unknown[]) {
    const k = stack[stack.length - 1] ?? '(outside a kernel)';
    const e = byKernel.get(k) ?? { kernels: 0, dispatches: 0 };
    e.dispatches++;
    byKernel.set(k, e);
    return recordAndSubmit.apply(this, a);
  };
  disposeLosses(trainer.stepOn(data, { batchSeed: 1 }));
  engine.runKernelFunc = runKernelFunc;
  backend.recordAndSubmit = recordAndSubmit;
  const rows = [...byKernel].sort((a, b) => b[1].dispatches - a[1].dispatches);
  const total = rows.reduce((s, [, e]) => s + e.dispatches, 0);
  console.log(`${name} batch ${config.batchSize}: ${total} dispatches, ${rows.reduce((s, [, e]) => s + e.kernels, 0)} kernels`);
  for (const [k, e] of rows) console.log(`${String(e.dispatches).padStart(6)} ${String(e.kernels).padStart(6)}  ${k}`);
  trainer.dispose();
  model.dispose();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
