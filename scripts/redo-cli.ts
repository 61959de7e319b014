/**
 * `npm run redo -- params --preset NAME [--regions N] [--size S]`: prints, as JSON, the trainable parameter
 * count of each network the preset builds (F, each G_k, D, δ).
 */
import * as tf from '../src/redo/tf';
import { preset, PRESET_NAMES, type RedoConfig } from '../src/redo/config';
import { parameterCounts } from '../src/redo/parameterCounts';

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0];
  if (command !== 'params') {
    console.error(`usage: npm run redo -- params --preset NAME   (presets: ${PRESET_NAMES.join(', ')})`);
    process.exit(2);
  }
  await tf.setBackend('cpu');
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
