import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors, type SafetensorsFile } from '../../src/formats/safetensors';

export { compare, evalComparisons, goldenConfig, goldenTensor, goldenWeights, nhwc, type Comparison } from '../../e2e/harness/goldenEval';

/** ../shared/golden beside the checkout (CI clones with shared/ beside it). */
export const GOLDEN_DIR = fileURLToPath(new URL('../../../shared/golden/', import.meta.url));

export function loadGolden(name: 'redo-ref-n2' | 'redo-ref-n3'): SafetensorsFile {
  return decodeSafetensors(new Uint8Array(readFileSync(`${GOLDEN_DIR}${name}.safetensors`)));
}
