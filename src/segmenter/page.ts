/**
 * The ready page that goes with an exported segmenter (the studio's "Export segmenter" zip, the README's example,
 * the e2e test): TF.js and its WebAssembly backend from jsDelivr, the bundle (`npm run build:segmenter`) and F's
 * weights next to it. Not part of the bundle.
 */
import pkg from '../../package.json' with { type: 'json' };

const TFJS = pkg.dependencies['@tensorflow/tfjs'];
export const CDN = {
  tfjs: `https://cdn.jsdelivr.net/npm/@tensorflow/tfjs@${TFJS}/dist/tf.fesm.min.js`,
  wasm: `https://cdn.jsdelivr.net/npm/@tensorflow/tfjs-backend-wasm@${TFJS}/dist/tf-backend-wasm.fesm.min.js`,
  wasmDir: `https://cdn.jsdelivr.net/npm/@tensorflow/tfjs-backend-wasm@${TFJS}/dist/`,
};
export const SEGMENTER_MODULE = 'redo-segmenter.js';

/** index.html: segments `image` with `weights` and shows the cut-out. */
export function segmenterPage(weights = 'segmenter.safetensors', image = 'photo.jpg'): string {
  // The wasm backend's ES build names Node's modules (unused in a page): empty modules stand in for them.
  const empty = 'data:text/javascript,export default {}';
  const imports = {
    '@tensorflow/tfjs': CDN.tfjs,
    '@tensorflow/tfjs-core': CDN.tfjs,
    '@tensorflow/tfjs-backend-wasm': CDN.wasm,
    ...Object.fromEntries(['fs', 'path', 'os', 'perf_hooks'].map((m) => [m, empty])),
  };
  return `<!doctype html>
<script type="importmap">${JSON.stringify({ imports }, null, 1)}</script>
<img id="photo" src="${image}"> <canvas id="cutout"></canvas>
<script type="module">
  import * as tf from '@tensorflow/tfjs';
  import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
  import { loadSegmenter } from './${SEGMENTER_MODULE}';
  setWasmPaths('${CDN.wasmDir}');
  await tf.setBackend('wasm');
  const segmenter = await loadSegmenter('${weights}');
  const cut = await segmenter.cutout(document.getElementById('photo'));
  const canvas = document.getElementById('cutout');
  [canvas.width, canvas.height] = [cut.width, cut.height];
  canvas.getContext('2d').putImageData(cut, 0, 0);
</script>
`;
}
