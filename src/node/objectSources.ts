/**
 * Node-only: reads the committed sources of the objects-on-photos data set (`public/objects/`, written by
 * scripts/pack-objects.ts) and writes a generated set as a folder of PNGs the trainer, the scorer and the
 * authors' `ref_train.py` all read (`images/` + `masks/`, same names, mask 255 = object).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, encode } from 'fast-png';
import { Jimp } from 'jimp';
import {
  generateObjectsOnPhotos,
  parseSourcesIndex,
  spritesOf,
  testSeed,
  type ObjectsOnPhotos,
  type Photo,
  type ObjectSources,
  type Sprite,
} from '../datagen/objectsOnPhotos';

export const OBJECT_SOURCES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'public', 'objects');

export async function loadObjectSources(dir = OBJECT_SOURCES_DIR): Promise<ObjectSources> {
  const index = parseSourcesIndex(JSON.parse(await readFile(join(dir, 'sources.json'), 'utf8')));
  const atlas = async (split: 'train' | 'test'): Promise<Sprite[]> => {
    const png = decode(await readFile(join(dir, index.atlases[split].file)));
    if (png.channels !== 4 || png.depth !== 8) throw new Error(`${index.atlases[split].file}: expected 8-bit RGBA`);
    return spritesOf({ width: png.width, data: png.data as Uint8Array }, index, split);
  };
  const photos: Photo[] = [];
  for (const p of index.photos) {
    const img = await Jimp.read(join(dir, p.file));
    const { width, height, data } = img.bitmap;
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      rgb[3 * i] = data[4 * i]!;
      rgb[3 * i + 1] = data[4 * i + 1]!;
      rgb[3 * i + 2] = data[4 * i + 2]!;
    }
    photos.push({ width, height, rgb });
  }
  return { train: await atlas('train'), test: await atlas('test'), photos, index };
}

/** Both halves of a data set: training images from the training emoji, held-out ones from the test emoji. */
export function generateSplits(
  src: ObjectSources,
  o: { size: number; train: number; test: number; seed: number },
): { train: ObjectsOnPhotos; test: ObjectsOnPhotos } {
  return {
    train: generateObjectsOnPhotos(src.train, src.photos, { count: o.train, size: o.size, seed: o.seed }),
    test: generateObjectsOnPhotos(src.test, src.photos, { count: o.test, size: o.size, seed: testSeed(o.seed) }),
  };
}

/** Writes `set` as DIR/images/NNNNN.png and DIR/masks/NNNNN.png (mask 255 = object). */
export async function writeImageSet(dir: string, set: ObjectsOnPhotos, size: number): Promise<void> {
  await mkdir(join(dir, 'images'), { recursive: true });
  await mkdir(join(dir, 'masks'), { recursive: true });
  const n = set.masks.length / (size * size);
  const digits = Math.max(5, String(n - 1).length);
  for (let i = 0; i < n; i++) {
    const name = `${String(i).padStart(digits, '0')}.png`;
    const img = set.images.subarray(i * size * size * 3, (i + 1) * size * size * 3);
    const m = new Uint8Array(size * size);
    for (let j = 0; j < m.length; j++) m[j] = set.masks[i * size * size + j]! ? 255 : 0;
    await writeFile(join(dir, 'images', name), encode({ width: size, height: size, data: img, channels: 3, depth: 8 }));
    await writeFile(join(dir, 'masks', name), encode({ width: size, height: size, data: m, channels: 1, depth: 8 }));
  }
}
