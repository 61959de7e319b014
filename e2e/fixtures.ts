/**
 * Test data for the studio e2e tests, written once per run by the global setup: a folder of real
 * colored-2-MNIST PNGs (nested sub-folders) with ground-truth masks, plus files the ingest must refuse
 * (a text file, a truncated PNG, an empty file), and a zip of a few images for the drop test.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { encode } from 'fast-png';
import { generateColored2Mnist } from '../src/datagen/colored2mnist';
import { loadMnistDigitsNode } from '../src/node/mnistNode';

export const FIXTURE_ROOT = process.env.E2E_FIXTURES ?? join(tmpdir(), 'redo-studio-e2e-fixtures');
/** The folder the test picks with the directory input (its name becomes the dataset name). */
export const DATASET_DIR = join(FIXTURE_ROOT, 'c2mnist-e2e');
export const ZIP_FILE = join(FIXTURE_ROOT, 'digits.zip');
export const IMAGE_COUNT = 120;
export const ZIP_IMAGE_COUNT = 12;
export const FIXTURE_SIZE = 32;
/** The files the ingest must refuse, by relative path (as the page sees them), with what their reason says. */
export const BAD_FILES: Array<{ name: string; reason: RegExp }> = [
  { name: 'c2mnist-e2e/notes.txt', reason: /not an image/i },
  { name: 'c2mnist-e2e/b/truncated.png', reason: /corrupt|could not decode/i },
  { name: 'c2mnist-e2e/empty.png', reason: /empty/i },
];

function png(rgb: Uint8Array, size: number): Uint8Array {
  return encode({ width: size, height: size, data: rgb, channels: 3, depth: 8 });
}

function greyPng(v: Uint8Array, size: number): Uint8Array {
  return encode({ width: size, height: size, data: v, channels: 1, depth: 8 });
}

/** count images of side `size` as PNG bytes, with binary object masks (object = either digit). */
export function c2mnistPngs(count: number, size: number, seed: number): Array<{ image: Uint8Array; mask: Uint8Array }> {
  const g = generateColored2Mnist(loadMnistDigitsNode(), { count, size, seed, regions: 3 });
  const plane = size * size;
  const out: Array<{ image: Uint8Array; mask: Uint8Array }> = [];
  for (let i = 0; i < count; i++) {
    const rgb = new Uint8Array(plane * 3);
    for (let k = 0; k < plane * 3; k++) rgb[k] = Math.round((g.images[i * plane * 3 + k]! + 1) * 127.5);
    const mask = new Uint8Array(plane);
    for (let k = 0; k < plane; k++) mask[k] = g.masks[(i * plane + k) * 3 + 2] === 1 ? 0 : 255;
    out.push({ image: png(rgb, size), mask: greyPng(mask, size) });
  }
  return out;
}

export function writeFixtures(): void {
  rmSync(FIXTURE_ROOT, { recursive: true, force: true });
  const items = c2mnistPngs(IMAGE_COUNT, FIXTURE_SIZE, 7);
  for (const sub of ['a', 'b', 'b/deeper', 'masks']) mkdirSync(join(DATASET_DIR, sub), { recursive: true });
  items.forEach((it, i) => {
    const name = `img${String(i).padStart(4, '0')}`;
    const folder = i % 3 === 0 ? 'a' : i % 3 === 1 ? 'b' : 'b/deeper';
    writeFileSync(join(DATASET_DIR, folder, `${name}.png`), it.image);
    writeFileSync(join(DATASET_DIR, 'masks', `${name}.png`), it.mask);
  });
  writeFileSync(join(DATASET_DIR, 'notes.txt'), 'These are colored-2-MNIST test images.\n');
  const whole = items[0]!.image;
  writeFileSync(join(DATASET_DIR, 'b', 'truncated.png'), whole.subarray(0, Math.floor(whole.length / 2)));
  writeFileSync(join(DATASET_DIR, 'empty.png'), new Uint8Array(0));

  const zipItems = c2mnistPngs(ZIP_IMAGE_COUNT, FIXTURE_SIZE, 11);
  const entries: Record<string, Uint8Array> = {};
  zipItems.forEach((it, i) => (entries[`digits/${String(i).padStart(3, '0')}.png`] = it.image));
  writeFileSync(ZIP_FILE, zipSync(entries));
}
