import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '../../src/redo/tf';
import { preset, type RedoConfig } from '../../src/redo/config';
import { decodeSafetensors, type SafetensorsFile } from '../../src/redo/safetensors';

/** ../shared/golden beside the checkout (CI clones with shared/ beside it). */
export const GOLDEN_DIR = fileURLToPath(new URL('../../../shared/golden/', import.meta.url));

export function loadGolden(name: 'redo-ref-n2' | 'redo-ref-n3'): SafetensorsFile {
  return decodeSafetensors(new Uint8Array(readFileSync(`${GOLDEN_DIR}${name}.safetensors`)));
}

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

/** max |a − b| and the reference scale max |b|. */
export async function compare(name: string, ours: tf.Tensor, ref: tf.Tensor): Promise<Comparison> {
  if (ours.shape.join() !== ref.shape.join()) throw new Error(`${name}: shape [${ours.shape}] vs reference [${ref.shape}]`);
  const [a, b] = await Promise.all([ours.data(), ref.data()]);
  let maxError = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    maxError = Math.max(maxError, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
    if (Number.isNaN(a[i]!)) maxError = Infinity;
  }
  return { name, maxError, scale, ratio: maxError / Math.max(scale, 1e-30) };
}
