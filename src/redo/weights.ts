import * as tf from './tf';
import type { RedoModel } from './redo';
import { fromTorch, toTorch, toTorchShape, type ParamStore } from './params';

/** One tensor's values and PyTorch shape, as weight files (src/formats/safetensors.ts) hold them. */
export interface NamedTensorData {
  shape: number[];
  data: Float32Array;
}

/**
 * Every tensor of a model (trainable weights and spectral-norm u, v) under the reference's state_dict keys
 * (`netEncM.…`, `netGenX.…`, `netDX.…`, `netRecZ.…`) in PyTorch layout. One batched readback per tensor.
 */
export async function exportWeights(model: RedoModel, filter: { prefix?: string } = {}): Promise<Map<string, NamedTensorData>> {
  return exportStore(model.store, filter);
}

export async function exportStore(store: ParamStore, filter: { prefix?: string } = {}): Promise<Map<string, NamedTensorData>> {
  const keys = store.keys(filter);
  const torchTensors = tf.tidy(() => keys.map((k) => toTorch(store.spec(k), store.get(k))));
  const out = new Map<string, NamedTensorData>();
  try {
    const datas = await Promise.all(torchTensors.map((t) => t.data() as Promise<Float32Array>));
    keys.forEach((k, i) => out.set(k, { shape: toTorchShape(store.spec(k)), data: datas[i]! }));
  } finally {
    for (const t of torchTensors) t.dispose();
  }
  return out;
}

export class WeightsMismatchError extends Error {}

/**
 * Loads torch-layout tensors into the model. Checks every name and shape first and throws, naming the first
 * tensor that does not fit, before anything is assigned: a refused file changes nothing.
 * `prefix` limits the check and the load to one network (e.g. only `netEncM.` for inference).
 */
export function importWeights(model: RedoModel, tensors: ReadonlyMap<string, NamedTensorData>, options: { prefix?: string } = {}): void {
  importStore(model.store, tensors, options);
}

export function importStore(store: ParamStore, tensors: ReadonlyMap<string, NamedTensorData>, options: { prefix?: string } = {}): void {
  const keys = store.keys({ prefix: options.prefix });
  for (const k of keys) {
    const t = tensors.get(k);
    const want = toTorchShape(store.spec(k));
    if (!t) throw new WeightsMismatchError(`missing tensor ${k} (expected shape [${want}])`);
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new WeightsMismatchError(`tensor ${k} has shape [${t.shape}], the configuration needs [${want}]`);
    }
  }
  const prefixes = options.prefix ? [options.prefix] : ['netEncM.', 'netGenX.', 'netDX.', 'netRecZ.'];
  const known = new Set(keys);
  for (const name of tensors.keys()) {
    if (prefixes.some((p) => name.startsWith(p)) && !known.has(name)) {
      throw new WeightsMismatchError(`tensor ${name} has no place in this configuration`);
    }
  }
  for (const k of keys) {
    const value = fromTorch(store.spec(k), tensors.get(k)!.data);
    store.get(k).assign(value);
    value.dispose();
  }
}

/**
 * A checksum of named weights: FNV-1a (32 bit) over each name and its float bytes, names sorted, as 8 hex digits.
 * Identical weights give identical checksums (used to prove a resumed run holds its checkpoint's weights).
 */
export function weightsChecksum(weights: ReadonlyMap<string, NamedTensorData>): string {
  let h = 0x811c9dc5;
  const mix = (b: number) => {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (const name of [...weights.keys()].sort()) {
    for (let i = 0; i < name.length; i++) mix(name.charCodeAt(i) & 0xff);
    const t = weights.get(name)!;
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    for (let i = 0; i < bytes.length; i++) mix(bytes[i]!);
  }
  return h.toString(16).padStart(8, '0');
}
