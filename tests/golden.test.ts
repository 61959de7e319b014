/**
 * Conformance with the authors' code: golden outputs, losses, gradients and spectral-norm state produced by
 * the reference PyTorch implementation on known weights (../shared/golden/README.md).
 * Tolerances (issue): outputs and losses max|a − b| ≤ 1e-4·max(1, max|b|); gradients ≤ 1e-3 relative to max|b|.
 *
 * Gradients that are zero in exact arithmetic (a bias feeding only an instance norm: G's last block, the
 * second conv of F's residual blocks; D's last bias, where the real and fake hinge terms cancel) or nearly so
 * (G's block biases, which only the attention's lack of shift invariance makes non-zero) are float32 rounding
 * noise in both implementations: the reference's own values there are ~1e-5 in G, whose largest gradient is
 * ~77. A relative error against noise means nothing, so every gradient tensor also gets an absolute floor of
 * 1e-6 × the largest reference gradient of its network (the float32 noise floor of its sums). The test prints
 * every tensor that passes only thanks to that floor.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { RedoModel } from '../src/redo/redo';
import { RedoTrainer } from '../src/redo/trainer';
import { importWeights, exportWeights } from '../src/redo/weights';
import { toTorch } from '../src/redo/params';
import { setupBackend } from '../src/node/backend';
import { compare, evalComparisons, goldenConfig, goldenTensor, goldenWeights, loadGolden, nhwc, type Comparison } from './helpers/golden';

const OUTPUT_TOL = 1e-4;
const GRAD_TOL = 1e-3;

function checkOutput(c: Comparison): void {
  const bound = OUTPUT_TOL * Math.max(1, c.scale);
  expect(c.maxError, `${c.name}: max error ${c.maxError.toExponential(3)} > ${bound.toExponential(3)}`).toBeLessThanOrEqual(bound);
}

const NOISE_FLOOR = 1e-6;

function checkGradient(c: Comparison, networkScale: number): void {
  const bound = GRAD_TOL * c.scale + NOISE_FLOOR * networkScale;
  expect(
    c.maxError,
    `${c.name}: max error ${c.maxError.toExponential(3)} > ${bound.toExponential(3)} (max |ref| ${c.scale.toExponential(3)})`,
  ).toBeLessThanOrEqual(bound);
}

const networkOf = (gradName: string) => gradName.split('.')[1]!;

// Every path at the same tolerances: wasm (XNNPACK and src/kernels/wasmKernels.ts), cpu (src/kernels/cpuKernels.ts) and webgpu
// in Node (Dawn on SwiftShader here; the WGSL programs of src/kernels/webgpuKernels.ts).
describe.each(['wasm', 'cpu', 'webgpu'])('on the %s backend', (backend) => {
  // webgpu here is SwiftShader, a GPU emulated on the CPU: the training iteration takes 10+ minutes on a shared machine
  const limit = backend === 'webgpu' ? 2_400_000 : 600_000;
  beforeAll(async () => {
    if (backend === 'webgpu') await setupBackend('webgpu');
    else await tf.setBackend(backend);
  }, 120_000);

  for (const name of ['redo-ref-n2', 'redo-ref-n3'] as const) {
    it(
      `${name}: eval mode (stored u, v): masks, regions, D on composites and reals, δ`,
      async () => {
        const results = await evalComparisons(loadGolden(name));
        console.table(results);
        expect(results.map((r) => r.name)).toEqual(['eval.masks', 'eval.regions', 'eval.d_composites', 'eval.d_real', 'eval.z_rec']);
        for (const r of results) checkOutput(r);
      },
      limit,
    );
  }

  describe('redo-ref-n2: one training iteration in train mode', () => {
    const file = loadGolden('redo-ref-n2');
    const config = goldenConfig(file);

    it(
      'masks, both generator losses, both hinge terms, every gradient, spectral-norm state after',
      async () => {
        const model = new RedoModel(config, 0, { uninitialised: true });
        importWeights(model, goldenWeights(file));
        const trainer = new RedoTrainer(model);
        const x = nhwc(goldenTensor(file, 'input.x'));
        const xReal = nhwc(goldenTensor(file, 'input.x_real'));
        const zt = goldenTensor(file, 'input.z');
        const z = zt.reshape<tf.Tensor3D>([zt.shape[0], zt.shape[1]!, zt.shape[2]!]);

        const g = trainer.generatorPass(x, z);
        const d = trainer.discriminatorPass(x, xReal, z);
        const outputs = await Promise.all([
          compare('step.masks', tf.transpose(g.masks, [0, 3, 1, 2]), goldenTensor(file, 'step.masks')),
          compare('step.g_adv', g.gAdv.reshape([1]), goldenTensor(file, 'step.g_adv')),
          compare('step.g_recz', g.gRecZ.reshape([1]), goldenTensor(file, 'step.g_recz')),
          compare('step.d_real', d.dReal.reshape([1]), goldenTensor(file, 'step.d_real')),
          compare('step.d_fake', d.dFake.reshape([1]), goldenTensor(file, 'step.d_fake')),
        ]);
        console.table(outputs);

        const gradNames = [...file.tensors.keys()].filter((k) => k.startsWith('grad.'));
        const grads = new Map([...g.grads, ...d.grads]);
        const gradResults: Comparison[] = [];
        for (const gname of gradNames) {
          const key = gname.slice('grad.'.length);
          const ours = grads.get(key);
          expect(ours, `no gradient for ${key}`).toBeDefined();
          gradResults.push(await compare(gname, toTorch(model.store.spec(key), ours!), goldenTensor(file, gname)));
        }
        // every trainable tensor of F, G, δ and D has a reference gradient
        expect(gradNames.length).toBe(model.store.keys({ trainable: true }).length);

        const after = await exportWeights(model);
        const afterResults: Comparison[] = [];
        for (const [key, t] of after) {
          afterResults.push(await compare(`after.${key}`, tf.tensor(t.data, t.shape), goldenTensor(file, `after.${key}`)));
        }
        const worst = (rs: Comparison[]) => [...rs].sort((a, b) => b.ratio - a.ratio).slice(0, Number(process.env.GOLDEN_WORST ?? 5));
        console.table(worst(gradResults));
        console.table(worst(afterResults));
        for (const r of outputs) checkOutput(r);
        const scales = new Map<string, number>();
        for (const r of gradResults) scales.set(networkOf(r.name), Math.max(scales.get(networkOf(r.name)) ?? 0, r.scale));
        console.log('largest reference gradient per network', Object.fromEntries(scales));
        // the largest error per tensor group (the closing-note numbers): absolute, and relative to the tensor's max |ref|
        const groups = new Map<string, { tensors: number; maxError: number; maxRelative: number }>();
        for (const r of gradResults) {
          const g = groups.get(networkOf(r.name)) ?? { tensors: 0, maxError: 0, maxRelative: 0 };
          g.tensors++;
          g.maxError = Math.max(g.maxError, r.maxError);
          const withinRelative = r.scale > 0 && r.maxError <= GRAD_TOL * r.scale; // tensors held by the noise floor are listed below
          if (withinRelative) g.maxRelative = Math.max(g.maxRelative, r.maxError / r.scale);
          groups.set(networkOf(r.name), g);
        }
        console.table(Object.fromEntries([...groups].map(([k, g]) => [`grad.${k}`, g])));
        console.log(
          'gradients within the noise floor only:',
          gradResults
            .filter((r) => r.maxError > GRAD_TOL * r.scale)
            .map((r) => `${r.name} err ${r.maxError.toExponential(2)} ref ${r.scale.toExponential(2)}`),
        );
        for (const r of gradResults) checkGradient(r, scales.get(networkOf(r.name))!);
        for (const r of afterResults) checkOutput(r);
        trainer.dispose();
        model.dispose();
      },
      limit,
    ); // cpu, wasm: ~1 minute on a quiet 2-core machine; minutes when it is shared
  });
});
