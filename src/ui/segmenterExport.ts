/**
 * "Export segmenter": a run archive cut down to what a page needs to segment with the run's F, as one zip:
 * F alone (src/formats/maskWeights.ts), the built module (`npm run build:segmenter`, served by the studio) and a
 * ready index.html (src/segmenter/page.ts).
 */
import { strToU8, zipSync } from 'fflate';
import { maskNetworkFile } from '../formats/maskWeights';
import { readRunArchive } from '../formats/runArchive';
import { SEGMENTER_MODULE, segmenterPage } from '../segmenter/page';

export const SEGMENTER_WEIGHTS = 'segmenter.safetensors';

export async function segmenterZip(run: Uint8Array, runFileName: string): Promise<{ fileName: string; bytes: Uint8Array }> {
  const { state } = await readRunArchive(run, runFileName);
  const res = await fetch(`${import.meta.env.BASE_URL}${SEGMENTER_MODULE}`);
  if (!res.ok) throw new Error(`${SEGMENTER_MODULE} is missing from this build (npm run build:segmenter)`);
  const weights = maskNetworkFile({ config: state.config, weights: state.weights, step: state.iteration, seed: state.seed });
  const bytes = zipSync({
    [SEGMENTER_WEIGHTS]: weights,
    [SEGMENTER_MODULE]: new Uint8Array(await res.arrayBuffer()),
    'index.html': strToU8(segmenterPage(SEGMENTER_WEIGHTS)),
  });
  return { fileName: runFileName.replace(/\.zip$/, '') + '-segmenter.zip', bytes };
}
