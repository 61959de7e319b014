/**
 * `npm run redo -- params --preset NAME [--regions N] [--size S]`: prints, as JSON, the trainable parameter
 * count of each network the preset builds (F, each G_k, D, δ).
 * `npm run redo -- score run.zip [--count N] [--seed S]`: scores a colored-MNIST run archive's masks on held-out
 * images it never saw, next to an untrained model of the same seed (src/node/scoreRun.ts).
 * `npm run redo -- probe run.zip [--count N] [--seed S]`: what the run's D and δ reward on held-out colored-MNIST
 * images, for F's masks, the ground truth, uniform masks and a collapse (src/node/probeRun.ts).
 * `npm run redo -- segment RUN.zip|WEIGHTS.safetensors IMAGES_DIR --out MASKS_DIR [--size S]`: one mask PNG per
 * image, at the image's own size, 255 where F puts the first region (src/node/segmentFolder.ts).
 * `npm run redo -- score RUN.zip|WEIGHTS.safetensors --data DIR [--size S]`: F's held-out object IoU on DIR/images
 * against DIR/masks, one assignment for the whole set, exactly as the authors' ref_train.py scores.
 * `npm run redo -- mask-weights RUN.zip --out F.safetensors`: the mask network alone (with the run's configuration
 * in its metadata), what segmenting needs; the studio imports it too.
 * `npm run redo -- figure MODEL --data DIR --out figure.png [--count N]`: input, truth, mask and cut-out of the first
 * N images of DIR (the README's picture).
 * `--json` prints that score as one JSON object (the GPU kit reads it); `--backend webgpu` segments on the GPU
 * (Dawn; default wasm).
 */
import { setupBackend } from '../src/node/backend';
import { preset, PRESET_NAMES, type RedoConfig } from '../src/redo/config';
import { parameterCounts } from '../src/redo/parameterCounts';
import { readFileSync, writeFileSync } from 'node:fs';
import { formatRunScore, scoreRunArchive } from '../src/node/scoreRun';
import { formatRunProbe, probeRunArchive } from '../src/node/probeRun';
import { formatObjectScore, loadModelFile, maskFigure, maskNetworkFile, scoreFolder, segmentFolder } from '../src/node/segmentFolder';

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0];
  if (
    command !== 'params' &&
    command !== 'score' &&
    command !== 'probe' &&
    command !== 'segment' &&
    command !== 'mask-weights' &&
    command !== 'figure'
  ) {
    console.error(`usage: npm run redo -- params --preset NAME   (presets: ${PRESET_NAMES.join(', ')})`);
    console.error('       npm run redo -- score run.zip [--count N] [--seed S]          (colored-2-MNIST runs)');
    console.error('       npm run redo -- score MODEL --data DIR [--size S] [--json]    (DIR/images + DIR/masks)');
    console.error('       npm run redo -- probe run.zip [--count N] [--seed S]');
    console.error('       npm run redo -- segment MODEL IMAGES_DIR --out MASKS_DIR [--size S]');
    console.error('       npm run redo -- mask-weights RUN.zip --out F.safetensors              (F alone, to segment with)');
    console.error('       npm run redo -- figure MODEL --data DIR --out figure.png [--count N]  (input, truth, mask, cut-out)');
    console.error('  MODEL: a run archive (.zip) or a weights file (.safetensors; --size S when it holds F alone)');
    process.exit(2);
  }
  const backend = arg(argv, 'backend') ?? 'wasm'; // XNNPACK: the fast CPU path
  if (backend !== 'cpu' && backend !== 'wasm' && backend !== 'webgpu') {
    throw new Error(`--backend must be wasm, cpu or webgpu, got "${backend}"`);
  }
  await setupBackend(backend);
  const sizeArg = arg(argv, 'size');
  const size = sizeArg ? (Number(sizeArg) as RedoConfig['imageSize']) : undefined;
  if (command === 'segment') {
    const [file, images] = [argv[1], argv[2]];
    const out = arg(argv, 'out');
    if (!file || !images || file.startsWith('--') || images.startsWith('--') || !out) {
      throw new Error('segment: npm run redo -- segment RUN.zip|WEIGHTS.safetensors IMAGES_DIR --out MASKS_DIR');
    }
    const model = await loadModelFile(file, size);
    const r = await segmentFolder(model, images, out);
    for (const s of r.skipped) console.error(`skipped ${s.name}: ${s.reason}`);
    console.log(
      `segment: ${r.written.length} mask${r.written.length === 1 ? '' : 's'} written to ${out}, ${r.skipped.length} file(s) skipped`,
    );
    if (r.written.length === 0) process.exitCode = 1;
    return;
  }
  if (command === 'mask-weights') {
    const file = argv[1];
    const out = arg(argv, 'out');
    if (!file || file.startsWith('--') || !out) throw new Error('mask-weights: npm run redo -- mask-weights RUN.zip --out F.safetensors');
    const bytes = maskNetworkFile(await loadModelFile(file, size));
    writeFileSync(out, bytes);
    console.log(`mask-weights: F of ${file} (${(bytes.length / 2 ** 20).toFixed(2)} MiB) written to ${out}`);
    return;
  }
  const data = arg(argv, 'data');
  if (command === 'figure') {
    const file = argv[1];
    const out = arg(argv, 'out');
    if (!file || file.startsWith('--') || !data || !out)
      throw new Error('figure: npm run redo -- figure MODEL --data DIR --out figure.png');
    writeFileSync(out, await maskFigure(await loadModelFile(file, size), data, Number(arg(argv, 'count') ?? 8)));
    console.log(`figure: input, truth, mask and cut-out of ${data} written to ${out}`);
    return;
  }
  if (command === 'score' && data) {
    const file = argv[1];
    if (!file || file.startsWith('--')) throw new Error('score: which model? npm run redo -- score RUN.zip --data DIR');
    const s = await scoreFolder(await loadModelFile(file, size), data);
    if (argv.includes('--json')) {
      console.log(JSON.stringify({ data, ...s }));
      return;
    }
    console.log(`${s.count} held-out images of ${data}`);
    console.log(`  trained:   ${formatObjectScore(s.trained)}`);
    if (s.untrained) console.log(`  untrained: ${formatObjectScore(s.untrained)}`);
    return;
  }
  if (command === 'score' || command === 'probe') {
    const file = argv[1];
    if (!file || file.startsWith('--')) throw new Error(`${command}: which run archive? npm run redo -- ${command} run.zip`);
    const count = arg(argv, 'count');
    const seed = arg(argv, 'seed');
    const bytes = new Uint8Array(readFileSync(file));
    const opts = { ...(count ? { count: Number(count) } : {}), ...(seed ? { seed: Number(seed) } : {}) };
    console.log(
      command === 'score' ? formatRunScore(await scoreRunArchive(bytes, opts)) : formatRunProbe(await probeRunArchive(bytes, opts)),
    );
    return;
  }
  const name = arg(argv, 'preset') ?? 'paper-128';
  const overrides: Partial<RedoConfig> = {};
  const regions = arg(argv, 'regions');
  if (regions) overrides.nRegions = Number(regions);
  if (size) overrides.imageSize = size;
  const config = preset(name, overrides);
  console.log(JSON.stringify({ preset: name, config, parameters: parameterCounts(config) }, null, 2));
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
