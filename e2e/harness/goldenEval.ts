/**
 * The eval-mode comparison with the authors' golden outputs, shared by the unit test (CPU backend, Node) and the
 * browser harness (WebGPU in headless Chromium). Pure: no file system, no DOM.
 */
import * as tf from '../../src/redo/tf';
import { preset, type RedoConfig } from '../../src/redo/config';
import { RedoModel } from '../../src/redo/redo';
import { importWeights } from '../../src/redo/weights';
import type { SafetensorsFile } from '../../src/formats/safetensors';

interface GoldenMeta {
  nMasks: number;
  nz: number;
  nfM: number;
  nfX: number;
  nfD: number;
  nfZ: number;
  sizex: number;
  batch: number;
}

/** Our config for the reference configuration recorded in a golden file's metadata. */
export function goldenConfig(file: SafetensorsFile): RedoConfig {
  const meta = JSON.parse(file.metadata.config!) as GoldenMeta;
  return preset('paper-128', {
    imageSize: meta.sizex as RedoConfig['imageSize'],
    nRegions: meta.nMasks,
    nz: meta.nz,
    nfF: meta.nfM,
    nfG: meta.nfX,
    nfD: meta.nfD,
    nfZ: meta.nfZ,
    batchSize: meta.batch,
  });
}

export function goldenTensor(file: SafetensorsFile, name: string): tf.Tensor {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`golden file lacks ${name}`);
  return tf.tensor(t.data, t.shape);
}

/** The model's tensors of a golden file (weights and spectral-norm state, not inputs, outputs or gradients). */
export function goldenWeights(file: SafetensorsFile): SafetensorsFile['tensors'] {
  return new Map([...file.tensors].filter(([k]) => /^(netEncM|netGenX|netDX|netRecZ)\./.test(k)));
}

/** NCHW torch images → NHWC. */
export function nhwc(t: tf.Tensor): tf.Tensor4D {
  return tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
}

export interface Comparison {
  name: string;
  maxError: number;
  scale: number;
  ratio: number;
}

/** max |a − b| and the reference scale max |b| (a NaN counts as an infinite error). */
export async function compare(name: string, ours: tf.Tensor, ref: tf.Tensor): Promise<Comparison> {
  if (ours.shape.join() !== ref.shape.join()) throw new Error(`${name}: shape [${ours.shape}] vs reference [${ref.shape}]`);
  const [a, b] = await Promise.all([ours.data(), ref.data()]);
  let maxError = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    maxError = Number.isNaN(e) ? Infinity : Math.max(maxError, e);
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { name, maxError, scale, ratio: maxError / Math.max(scale, 1e-30) };
}

/**
 * Loads the golden weights into a model built from the golden config and compares, in eval mode (stored u, v):
 * masks, regions, D on composites and on reals, and δ's output.
 */
export async function evalComparisons(file: SafetensorsFile): Promise<Comparison[]> {
  const model = new RedoModel(goldenConfig(file), 0, { uninitialised: true });
  try {
    importWeights(model, goldenWeights(file));
    const held: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => (held.push(t), t);
    const x = keep(nhwc(goldenTensor(file, 'input.x')));
    const xReal = keep(nhwc(goldenTensor(file, 'input.x_real')));
    const zt = keep(goldenTensor(file, 'input.z'));
    const z = keep(zt.reshape<tf.Tensor3D>([zt.shape[0], zt.shape[1]!, zt.shape[2]!]));
    const masks = keep(model.masks(x));
    const regions = keep(model.regions(masks, z));
    const pairs: Array<[string, tf.Tensor]> = [
      ['eval.masks', tf.transpose(masks, [0, 3, 1, 2])],
      ['eval.regions', tf.transpose(regions, [0, 1, 4, 2, 3])],
      ['eval.d_composites', model.D.apply(model.composites(x, masks, regions))],
      ['eval.d_real', model.D.apply(xReal)],
      ['eval.z_rec', model.reconstructZ(regions).reshape(zt.shape)],
    ];
    const out: Comparison[] = [];
    for (const [name, ours] of pairs) {
      const ref = goldenTensor(file, name);
      out.push(await compare(name, ours, ref));
      tf.dispose([ours, ref]);
    }
    tf.dispose(held);
    return out;
  } finally {
    model.dispose();
  }
}
