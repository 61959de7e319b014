/**
 * The mask network F alone as a safetensors file (`npm run redo -- mask-weights`, the studio's "Export segmenter"):
 * what segmenting needs, a fifth of a run's weights, with the run's configuration, step and seed in its metadata so
 * that it loads without --size (src/node/segmentFolder.ts loadModelFile, src/segmenter loadSegmenter).
 */
import type { RedoConfig } from '../redo/config';
import type { NamedTensorData } from '../redo/weights';
import { encodeSafetensors } from './safetensors';

export interface MaskNetworkSource {
  config: RedoConfig;
  weights: ReadonlyMap<string, NamedTensorData>;
  step?: number;
  seed?: number;
}

export function maskNetworkFile(model: MaskNetworkSource): Uint8Array {
  const f = new Map([...model.weights].filter(([k]) => k.startsWith('netEncM.')));
  if (f.size === 0) throw new Error('no mask network (netEncM.*) in this model');
  const metadata: Record<string, string> = { config: JSON.stringify(model.config), networks: 'F' };
  if (model.step !== undefined) metadata.step = String(model.step);
  if (model.seed !== undefined) metadata.seed = String(model.seed);
  return encodeSafetensors(f, metadata);
}
