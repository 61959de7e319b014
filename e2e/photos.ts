/**
 * Generated "photos" for the ingest scale test and benchmark (e2e/ingest-scale.spec.ts, bench/ingest.ts): a sky
 * gradient, a ground band and a few soft-edged blobs with noise, PNG-encoded (fast-png), deterministic per index.
 * A folder is written once and reused while it holds the count asked for.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { encode } from 'fast-png';
import { Rng } from '../src/redo/random';

export function photoPng(index: number, width: number, height: number): Uint8Array {
  const rng = new Rng(1000 + index);
  const rgb = new Uint8Array(width * height * 3);
  const horizon = Math.floor(height * (0.5 + 0.3 * rng.next()));
  const sky = [90 + 80 * rng.next(), 130 + 80 * rng.next(), 200 + 50 * rng.next()];
  const ground = [60 + 80 * rng.next(), 90 + 60 * rng.next(), 40 + 40 * rng.next()];
  const blobs = Array.from({ length: 1 + Math.floor(3 * rng.next()) }, () => ({
    x: width * rng.next(),
    y: height * rng.next(),
    r: Math.min(width, height) * (0.08 + 0.2 * rng.next()),
    c: [255 * rng.next(), 255 * rng.next(), 255 * rng.next()],
  }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = y < horizon ? sky.map((v) => v * (0.7 + (0.3 * y) / horizon)) : ground;
      let c = base;
      for (const b of blobs) {
        const d = Math.hypot(x - b.x, y - b.y) / b.r;
        if (d < 1) c = c.map((v, k) => v + (b.c[k]! - v) * Math.min(1, (1 - d) * 4));
      }
      const n = (rng.next() - 0.5) * 16;
      const o = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) rgb[o + k] = Math.max(0, Math.min(255, Math.round(c[k]! + n)));
    }
  }
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}

/**
 * `count` photos in `dir` (photo00000.png …), in sub-folders of 1,000; reused when already there. With `distinct`
 * below count, photo i has the pixels of photo i mod distinct (generating is slower than ingesting; every file is
 * still read and decoded on its own).
 */
export function writePhotoFolder(dir: string, count: number, o: { distinct?: number; width?: number; height?: number } = {}): string {
  const { distinct = count, width = 160, height = 120 } = o;
  // Beside the folder, not in it: a picked folder hands the page every file, dot files too.
  const marker = `${dir}.complete-${count}-${distinct}-${width}x${height}`;
  if (existsSync(marker)) return dir;
  const made = new Map<number, Uint8Array>();
  const pathOf = (i: number) => join(dir, `part${Math.floor(i / 1000)}`, `photo${String(i).padStart(5, '0')}.png`);
  for (let i = 0; i < count; i++) {
    if (i % 1000 === 0) mkdirSync(dirname(pathOf(i)), { recursive: true });
    const k = i % distinct;
    // Deterministic: a file an interrupted run left is kept (a partial one ends the same run's folder anew).
    let png = made.get(k) ?? (i === k && existsSync(pathOf(i)) ? readFileSync(pathOf(i)) : undefined);
    if (!png) png = photoPng(k, width, height);
    if (distinct < count) made.set(k, png);
    if (!existsSync(pathOf(i))) writeFileSync(pathOf(i), png);
  }
  writeFileSync(marker, '');
  return dir;
}

/** Files under dir (recursively), for a check that the folder is whole. */
export function countFiles(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (n, e) => n + (e.isDirectory() ? countFiles(join(dir, e.name)) : e.name.startsWith('.') ? 0 : 1),
    0,
  );
}
