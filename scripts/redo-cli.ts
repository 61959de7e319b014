/**
 * `npm run redo -- params --preset NAME [--regions N] [--size S]`: prints, as JSON, the trainable parameter
 * count of each network the preset builds (F, each G_k, D, δ).
 * `npm run redo -- score run.zip [--count N] [--seed S]`: scores a colored-MNIST run archive's masks on held-out
 * images it never saw, next to an untrained model of the same seed (src/node/scoreRun.ts).
 * `npm run redo -- probe run.zip [--count N] [--seed S]`: what the run's D and δ reward on held-out colored-MNIST
 * images, for F's masks, the ground truth, uniform masks and a collapse (src/node/probeRun.ts).
 * `npm run redo -- segment RUN.zip|WEIGHTS.safetensors IMAGES_DIR --out MASKS_DIR [--size S] [--soft]`: one mask PNG per
 * image, at the image's own size, 255 where F puts the first region (src/node/segmentFolder.ts); `--soft`: F's soft
 * first-region mask instead, as float32 (NAME.safetensors, tensor `mask` [height, width]).
 * `npm run redo -- score RUN.zip|WEIGHTS.safetensors --data DIR [--size S]`: F's held-out object IoU on DIR/images
 * against DIR/masks, one assignment for the whole set, exactly as the authors' ref_train.py scores.
 * `npm run redo -- mask-weights RUN.zip --out F.safetensors`: the mask network alone (with the run's configuration,
 * step and seed in its metadata), what segmenting needs; the studio imports it too.
 * `npm run redo -- figure MODEL --data DIR --out figure.png [--count N]`: input, truth, mask and cut-out of the first
 * N images of DIR (the README's picture).
 * `--which best|last` (segment, score --data, mask-weights, figure): a run archive's best F (best-F.safetensors, the
 * best held-out IoU the run saw) or its latest one (the default).
 * `--json` prints that score as one JSON object (the GPU kit reads it); `--backend wasm|cpu|webgpu` (default wasm:
 * XNNPACK, the fast CPU path; webgpu segments on the GPU through Dawn).
 */
import { setupBackend } from '../src/node/backend';
import { preset, PRESET_NAMES, type RedoConfig } from '../src/redo/config';
import { parameterCounts } from '../src/redo/parameterCounts';
import { readFileSync, writeFileSync } from 'node:fs';
import { formatRunScore, scoreRunArchive } from '../src/node/scoreRun';
import { formatRunProbe, probeRunArchive } from '../src/node/probeRun';
import { formatObjectScore, loadModelFile, maskFigure, maskNetworkFile, scoreFolder, segmentFolder } from '../src/node/segmentFolder';
import { parseFlags, type FlagSpec } from '../src/node/cli';

const USAGE = [
  `usage: npm run redo -- params --preset NAME [--regions N] [--size S]   (presets: ${PRESET_NAMES.join(', ')})`,
  '       npm run redo -- score run.zip [--count N] [--seed S]          (colored-2-MNIST runs)',
  '       npm run redo -- score MODEL --data DIR [--size S] [--json]    (DIR/images + DIR/masks)',
  '       npm run redo -- probe run.zip [--count N] [--seed S]',
  '       npm run redo -- segment MODEL IMAGES_DIR --out MASKS_DIR [--size S] [--soft]   (--soft: float masks)',
  '       npm run redo -- mask-weights RUN.zip --out F.safetensors              (F alone, to segment with)',
  '       npm run redo -- figure MODEL --data DIR --out figure.png [--count N]  (input, truth, mask, cut-out)',
  '  MODEL: a run archive (.zip) or a weights file (.safetensors; --size S when it holds F alone)',
  "  --which best|last: an archive's F with the best held-out IoU it saw, or its latest (default last)",
].join('\n');

const COMMANDS = ['params', 'score', 'probe', 'segment', 'mask-weights', 'figure'] as const;
const FLAGS: FlagSpec = {
  ...Object.fromEntries(
    ['preset', 'regions', 'size', 'count', 'seed', 'out', 'data', 'backend', 'which'].map((n) => [n, { type: 'string' as const }]),
  ),
  json: { type: 'boolean' },
  soft: { type: 'boolean' },
};

async function main(argv: string[]): Promise<void> {
  const command = argv[0];
  if (!(COMMANDS as readonly string[]).includes(command ?? '')) {
    console.error(USAGE);
    process.exit(2);
  }
  const f = parseFlags(argv.slice(1), FLAGS, { positionals: true });
  const [first, second] = f.positionals;
  await setupBackend(f.oneOf('backend', ['wasm', 'cpu', 'webgpu'] as const, 'wasm')); // wasm: XNNPACK, the fast CPU path
  const sizeArg = f.int('size', 1);
  const size = sizeArg !== undefined ? (sizeArg as RedoConfig['imageSize']) : undefined;
  const which = f.oneOf('which', ['last', 'best'] as const, 'last');
  const load = async (path: string) => {
    const m = await loadModelFile(path, size, which);
    if (m.kind === 'archive')
      console.error(`${path}: the ${which} F, from iteration ${m.step}${m.iou !== undefined ? ` (held-out IoU ${m.iou.toFixed(3)})` : ''}`);
    return m;
  };
  if (command === 'segment') {
    const out = f.string('out');
    if (!first || !second || !out)
      throw new Error('segment: npm run redo -- segment RUN.zip|WEIGHTS.safetensors IMAGES_DIR --out MASKS_DIR');
    const model = await load(first);
    const r = await segmentFolder(model, second, out, undefined, { soft: f.has('soft') });
    for (const s of r.skipped) console.error(`skipped ${s.name}: ${s.reason}`);
    console.log(
      `segment: ${r.written.length} mask${r.written.length === 1 ? '' : 's'} written to ${out}, ${r.skipped.length} file(s) skipped`,
    );
    if (r.written.length === 0) process.exitCode = 1;
    return;
  }
  if (command === 'mask-weights') {
    const out = f.string('out');
    if (!first || !out) throw new Error('mask-weights: npm run redo -- mask-weights RUN.zip --out F.safetensors');
    const bytes = maskNetworkFile(await load(first));
    writeFileSync(out, bytes);
    console.log(`mask-weights: F of ${first} (${(bytes.length / 2 ** 20).toFixed(2)} MiB) written to ${out}`);
    return;
  }
  const data = f.string('data');
  if (command === 'figure') {
    const out = f.string('out');
    if (!first || !data || !out) throw new Error('figure: npm run redo -- figure MODEL --data DIR --out figure.png [--count N]');
    writeFileSync(out, await maskFigure(await load(first), data, f.int('count', 1) ?? 8));
    console.log(`figure: input, truth, mask and cut-out of ${data} written to ${out}`);
    return;
  }
  if (command === 'score' && data) {
    if (!first) throw new Error('score: which model? npm run redo -- score RUN.zip --data DIR');
    const s = await scoreFolder(await load(first), data);
    if (f.has('json')) {
      console.log(JSON.stringify({ data, ...s }));
      return;
    }
    console.log(`${s.count} held-out images of ${data}`);
    console.log(`  trained:   ${formatObjectScore(s.trained)}`);
    if (s.untrained) console.log(`  untrained: ${formatObjectScore(s.untrained)}`);
    return;
  }
  if (command === 'score' || command === 'probe') {
    if (!first) throw new Error(`${command}: which run archive? npm run redo -- ${command} run.zip`);
    const count = f.int('count', 1);
    const seed = f.int('seed', 0);
    const bytes = new Uint8Array(readFileSync(first));
    const opts = { ...(count !== undefined ? { count } : {}), ...(seed !== undefined ? { seed } : {}) };
    console.log(
      command === 'score' ? formatRunScore(await scoreRunArchive(bytes, opts)) : formatRunProbe(await probeRunArchive(bytes, opts)),
    );
    return;
  }
  const name = f.string('preset') ?? 'paper-128';
  const overrides: Partial<RedoConfig> = {};
  const regions = f.int('regions', 2);
  if (regions !== undefined) overrides.nRegions = regions;
  if (size) overrides.imageSize = size;
  const config = preset(name, overrides);
  console.log(JSON.stringify({ preset: name, config, parameters: parameterCounts(config) }, null, 2));
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
