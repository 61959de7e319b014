/**
 * `npm run build:segmenter`: src/segmenter bundled by esbuild into public/redo-segmenter.js (one minified ES module,
 * TF.js left external: the page imports it), which the studio's "Export segmenter" serves and zips. Prints its size
 * and fails past 50 KB (the budget for the segmenter without TF.js).
 */
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { SEGMENTER_MODULE } from '../src/segmenter/page';

const OUT = `public/${SEGMENTER_MODULE}`;
const BUDGET = 50 * 1024;

await build({
  entryPoints: ['src/segmenter/index.ts'],
  outfile: OUT,
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  external: ['@tensorflow/*'],
  legalComments: 'none',
  logLevel: 'warning',
});
const bytes = readFileSync(OUT);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
console.log(
  `build:segmenter: ${OUT} ${kb(bytes.length)} minified (${kb(gzipSync(bytes).length)} gzip), TF.js excluded; budget ${kb(BUDGET)}`,
);
if (bytes.length > BUDGET) {
  console.error(`build:segmenter: over the ${kb(BUDGET)} budget`);
  process.exitCode = 1;
}
