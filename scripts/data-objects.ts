/**
 * `npm run data:objects -- --size 32 --train 2000 --test 500 --seed 1 --out DIR`: the objects-on-photos data set
 * (src/datagen/objectsOnPhotos.ts) from the committed sources in public/objects/, as DIR/train and DIR/test,
 * each `images/` + `masks/` (same names; mask 255 = object), plus DIR/dataset.json and DIR/CREDITS.md.
 * `--sources DIR` reads the sources from another folder than public/objects (the GPU kit carries its own copy).
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSplits, loadObjectSources, OBJECT_SOURCES_DIR, writeImageSet } from '../src/node/objectSources';

const USAGE = 'usage: npm run data:objects -- --out DIR [--size 32] [--train 2000] [--test 500] [--seed 1] [--sources public/objects]';

async function main(): Promise<number> {
  let v;
  try {
    v = parseArgs({
      options: {
        out: { type: 'string' },
        size: { type: 'string', default: '32' },
        train: { type: 'string', default: '2000' },
        test: { type: 'string', default: '500' },
        seed: { type: 'string', default: '1' },
        sources: { type: 'string', default: OBJECT_SOURCES_DIR },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const num = (k: 'size' | 'train' | 'test' | 'seed', min: number): number => {
    const n = Number(v[k]);
    if (!Number.isInteger(n) || n < min) throw new RangeError(`--${k} must be an integer ≥ ${min} (got ${v[k]})`);
    return n;
  };
  if (!v.out) {
    console.error(`--out DIR is required\n${USAGE}`);
    return 2;
  }
  let o;
  try {
    o = { size: num('size', 8), train: num('train', 1), test: num('test', 0), seed: num('seed', 0) };
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const t0 = Date.now();
  const src = await loadObjectSources(v.sources);
  const { train, test } = generateSplits(src, o);
  await writeImageSet(join(v.out, 'train'), train, o.size);
  await writeImageSet(join(v.out, 'test'), test, o.size);
  await mkdir(v.out, { recursive: true });
  await writeFile(
    join(v.out, 'dataset.json'),
    `${JSON.stringify({ kind: 'objects-on-photos', ...o, trainEmoji: src.train.length, testEmoji: src.test.length, photos: src.photos.length }, null, 1)}\n`,
  );
  await writeFile(
    join(v.out, 'CREDITS.md'),
    `Objects: ${src.index.emoji.licence} (npm ${src.index.emoji.package} ${src.index.emoji.version}).\n` +
      "Backgrounds: photographs of Debian's mate-backgrounds (nature/), GPL-2+; authors in public/objects/CREDITS.md.\n",
  );
  console.log(
    `data:objects: ${o.train} train + ${o.test} test images of ${o.size} px (seed ${o.seed}) → ${v.out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return 0;
}

main().then(
  (c) => process.exit(c),
  (e: unknown) => {
    console.error(e instanceof Error ? `error: ${e.message}` : e);
    process.exit(1);
  },
);
