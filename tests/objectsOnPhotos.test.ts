/** The objects-on-photos data set (src/datagen/objectsOnPhotos.ts) from the committed sources (public/objects). */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateObjectsOnPhotos, resampleWindow, type ObjectSources, type Photo, type Sprite } from '../src/datagen/objectsOnPhotos';
import { generateSplits, loadObjectSources } from '../src/node/objectSources';

let src: ObjectSources;
beforeAll(async () => {
  src = await loadObjectSources();
});

describe('sources', () => {
  it('has disjoint train and test emoji and a dozen photos', () => {
    expect(src.train.length).toBeGreaterThan(500);
    expect(src.test.length).toBeGreaterThan(100);
    const names = (s: 'train' | 'test') => new Set(src.index.atlases[s].sprites.map((e) => e.unified));
    const train = names('train');
    expect([...names('test')].filter((u) => train.has(u))).toEqual([]);
    expect(src.photos.length).toBe(12);
    for (const s of [...src.train, ...src.test]) expect(Math.max(s.width, s.height)).toBeGreaterThanOrEqual(32);
  });
});

describe('generator', () => {
  it('is deterministic in its seed and puts objects of 60–95 % of the side inside the image', () => {
    const a = generateSplits(src, { size: 32, train: 40, test: 10, seed: 3 });
    const b = generateSplits(src, { size: 32, train: 40, test: 10, seed: 3 });
    const c = generateSplits(src, { size: 32, train: 40, test: 10, seed: 4 });
    expect(Buffer.from(a.train.images).equals(Buffer.from(b.train.images))).toBe(true);
    expect(Buffer.from(a.test.masks).equals(Buffer.from(b.test.masks))).toBe(true);
    expect(Buffer.from(a.train.images).equals(Buffer.from(c.train.images))).toBe(false);
    const S = 32;
    for (let n = 0; n < 40; n++) {
      let x0 = S,
        x1 = -1,
        y0 = S,
        y1 = -1,
        area = 0;
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          if (a.train.masks[n * S * S + y * S + x]) {
            area++;
            x0 = Math.min(x0, x);
            x1 = Math.max(x1, x);
            y0 = Math.min(y0, y);
            y1 = Math.max(y1, y);
          }
        }
      }
      const long = Math.max(x1 - x0 + 1, y1 - y0 + 1);
      expect(long).toBeGreaterThanOrEqual(Math.floor(0.6 * S) - 2); // the sprite box keeps a 1-px soft margin
      expect(long).toBeLessThanOrEqual(Math.round(0.95 * S));
      expect(area / (S * S)).toBeGreaterThan(0.05);
    }
    // The held-out half uses the test emoji only.
    expect(Math.max(...a.test.spriteIndex)).toBeLessThan(src.test.length);
  });

  it('composites with alpha: an opaque sprite replaces the background, the mask is its footprint', () => {
    const sprite: Sprite = { width: 4, height: 4, rgba: new Uint8Array(64).fill(255) };
    for (let i = 0; i < 16; i++) sprite.rgba.set([200, 10, 10, 255], 4 * i);
    const photo: Photo = { width: 16, height: 16, rgb: new Uint8Array(16 * 16 * 3).fill(40) };
    const g = generateObjectsOnPhotos([sprite], [photo], { count: 5, size: 10, seed: 1, objectMin: 0.5, objectMax: 0.5 });
    for (let n = 0; n < 5; n++) {
      const m = g.masks.subarray(n * 100, (n + 1) * 100);
      expect(m.reduce((s, v) => s + v, 0)).toBe(25);
      for (let q = 0; q < 100; q++) {
        const px = Array.from(g.images.subarray((n * 100 + q) * 3, (n * 100 + q) * 3 + 3));
        expect(px).toEqual(m[q] ? [200, 10, 10] : [40, 40, 40]);
      }
    }
  });

  it('resampleWindow is the identity at scale 1 and averages when shrinking', () => {
    const src1 = Float32Array.from({ length: 16 }, (_, i) => i);
    expect(Array.from(resampleWindow(src1, 4, 4, 1, { x0: 0, y0: 0, w: 4, h: 4 }, 4, 4))).toEqual(Array.from(src1));
    // 4 → 2: a triangle of support 2 centred on 1.0 weighs pixels 0, 1, 2 by 0.75, 0.75, 0.25 (normalised).
    const half = resampleWindow(new Float32Array([0, 2, 4, 6]), 4, 1, 1, { x0: 0, y0: 0, w: 4, h: 1 }, 2, 1);
    expect(half[0]).toBeCloseTo((0 * 0.75 + 2 * 0.75 + 4 * 0.25) / 1.75, 5);
    const flat = resampleWindow(new Float32Array(30 * 20).fill(7), 30, 20, 1, { x0: 3.3, y0: 1.7, w: 17.2, h: 17.2 }, 8, 8);
    for (const v of flat) expect(v).toBeCloseTo(7, 5);
    const mirrored = resampleWindow(src1, 4, 4, 1, { x0: 0, y0: 0, w: 4, h: 4 }, 4, 4, true);
    expect(Array.from(mirrored.subarray(0, 4))).toEqual([3, 2, 1, 0]);
  });
});
