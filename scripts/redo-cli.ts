/**
 * `npm run redo -- params --preset NAME [--regions N] [--size S]`: prints, as JSON, the trainable parameter
 * count of each network the preset builds (F, each G_k, D, δ).
 * `npm run redo -- score run.zip [--count N] [--seed S]`: scores a colored-MNIST run archive's masks on held-out
 * images it never saw, next to an untrained model of the same seed (src/node/scoreRun.ts).
 * `npm run redo -- probe run.zip [--count N] [--seed S]`: what the run's D and δ reward on held-out colored-MNIST
 * images, for F's masks, the ground truth, uniform masks and a collapse (src/node/probeRun.ts).
 */
import * as tf from '../src/redo/tf';
import { preset, PRESET_NAMES, type RedoConfig } from '../src/redo/config';
import { parameterCounts } from '../src/redo/parameterCounts';
import { readFileSync } from 'node:fs';
import { formatRunScore, scoreRunArchive } from '../src/node/scoreRun';
import { formatRunProbe, probeRunArchive } from '../src/node/probeRun';

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0];
  if (command !== 'params' && command !== 'score' && command !== 'probe') {
    console.error(`usage: npm run redo -- params --preset NAME   (presets: ${PRESET_NAMES.join(', ')})`);
    console.error('       npm run redo -- score run.zip [--count N] [--seed S]');
    console.error('       npm run redo -- probe run.zip [--count N] [--seed S]');
    process.exit(2);
  }
  await tf.setBackend('wasm'); // XNNPACK: the fast CPU path
  if (command === 'score' || command === 'probe') {
    const file = argv[1];
    if (!file || file.startsWith('--')) throw new Error(`${command}: which run archive? npm run redo -- ${command} run.zip`);
    const count = arg(argv, 'count');
    const seed = arg(argv, 'seed');
    const bytes = new Uint8Array(readFileSync(file));
    const opts = { ...(count ? { count: Number(count) } : {}), ...(seed ? { seed: Number(seed) } : {}) };
    console.log(command === 'score' ? formatRunScore(await scoreRunArchive(bytes, opts)) : formatRunProbe(await probeRunArchive(bytes, opts)));
    return;
  }
  const name = arg(argv, 'preset') ?? 'paper-128';
  const overrides: Partial<RedoConfig> = {};
  const regions = arg(argv, 'regions');
  if (regions) overrides.nRegions = Number(regions);
  const size = arg(argv, 'size');
  if (size) overrides.imageSize = Number(size) as RedoConfig['imageSize'];
  const config = preset(name, overrides);
  console.log(JSON.stringify({ preset: name, config, parameters: parameterCounts(config) }, null, 2));
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
