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
import { generateObjectsOnPhotos, testSeed, type ObjectsOnPhotos, type Photo, type Sprite } from '../redo/data/objectsOnPhotos';

export const OBJECT_SOURCES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'public', 'objects');

export interface SourcesIndex {
  format: 'redo-objects-sources';
  version: number;
  cell: number;
  columns: number;
  emoji: { package: string; version: string; licence: string };
  atlases: Record<'train' | 'test', { file: string; sprites: Array<{ name: string; unified: string; w: number; h: number }> }>;
  photos: Array<{ file: string; width: number; height: number }>;
}

export interface ObjectSources {
  train: Sprite[];
  test: Sprite[];
  photos: Photo[];
  index: SourcesIndex;
}

/** Cuts the sprites out of an atlas (each at the top-left of its cell). */
export function spritesOf(atlas: { width: number; data: Uint8Array }, index: SourcesIndex, split: 'train' | 'test'): Sprite[] {
  return index.atlases[split].sprites.map((s, k) => {
    const cx = (k % index.columns) * index.cell;
    const cy = Math.floor(k / index.columns) * index.cell;
    const rgba = new Uint8Array(s.w * s.h * 4);
    for (let y = 0; y < s.h; y++) rgba.set(atlas.data.subarray(((cy + y) * atlas.width + cx) * 4, ((cy + y) * atlas.width + cx + s.w) * 4), y * s.w * 4);
    return { width: s.w, height: s.h, rgba };
  });
}

export async function loadObjectSources(dir = OBJECT_SOURCES_DIR): Promise<ObjectSources> {
  const index = JSON.parse(await readFile(join(dir, 'sources.json'), 'utf8')) as SourcesIndex;
  if (index.format !== 'redo-objects-sources') throw new Error(`${dir}/sources.json is not an objects-on-photos source index`);
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
export function generateSplits(src: ObjectSources, o: { size: number; train: number; test: number; seed: number }): { train: ObjectsOnPhotos; test: ObjectsOnPhotos } {
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
