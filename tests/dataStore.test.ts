/** Dataset ingest and storage in IndexedDB (fake-indexeddb): reasons per file, zips, masks, quota, persistence, deletion. */
import 'fake-indexeddb/auto';
import { imageSlice } from '../src/redo/batches';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encode as encodePng } from 'fast-png';
import { zipSync } from 'fflate';
import { expandZipInputs, ingestDataset, IngestError, INGEST_LIMITS, type IngestInput } from '../src/data/ingest';
import { createDemoDatasetFromDigits, DatasetNotFoundError, deleteDataset, listDatasets, loadDataset } from '../src/data/datasets';
import { closeStudioDb, imageRange, openStudioDb, STALE_MS } from '../src/data/db';
import { resizeCropRgb } from '../src/data/resize';
import { loadMnistDigitsNode } from '../src/node/mnistNode';

const S = 32;

/** A w×h RGB test image whose pixels depend on a seed. */
function pixels(w: number, h: number, seed: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < out.length; i++) out[i] = (i * 7 + seed * 31 + ((i * seed) % 13)) % 256;
  return out;
}
function png(w: number, h: number, seed: number): Uint8Array {
  return encodePng({ width: w, height: h, data: pixels(w, h, seed), channels: 3, depth: 8 });
}
/** A grey mask PNG, white (object) in the columns x < split. */
function maskPng(w: number, h: number, split: number): Uint8Array {
  const d = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < split; x++) d[y * w + x] = 255;
  return encodePng({ width: w, height: h, data: d, channels: 1, depth: 8 });
}
const text = (s: string) => new TextEncoder().encode(s);

async function storedImageCount(): Promise<number> {
  const db = await openStudioDb();
  return db.count('images');
}

afterEach(() => {
  vi.restoreAllMocks();
  INGEST_LIMITS.chunkBytes = 8 * 1024 * 1024;
});

describe('ingestDataset', () => {
  it('stores good images (nested folders, resized and cropped) and skips bad ones with a reason each', async () => {
    const good = png(48, 40, 1);
    const truncated = png(48, 40, 2).subarray(0, 80);
    const progress: Array<[number, number]> = [];
    const r = await ingestDataset({
      name: 'garden',
      size: S,
      files: [
        { name: 'garden/b/02.png', bytes: png(40, 64, 2) },
        { name: 'garden/a/01.png', bytes: good },
        { name: 'garden/notes.txt', bytes: text('some notes') },
        { name: 'garden/empty.png', bytes: new Uint8Array(0) },
        { name: 'garden/broken.png', bytes: truncated },
        { name: 'garden/tiny.png', bytes: new Blob([png(20, 16, 3) as Uint8Array<ArrayBuffer>], { type: 'image/png' }) },
        { name: 'garden/10.png', bytes: png(32, 32, 4) },
      ],
      onProgress: (d, t) => progress.push([d, t]),
    });
    expect(r.accepted).toBe(4);
    expect(r.rejected).toEqual([
      {
        name: 'garden/broken.png',
        reason: 'corrupt image data: could not decode (truncated PNG: it ends inside its IDAT chunk; an incomplete download or copy?)',
      },
      { name: 'garden/empty.png', reason: 'empty file (0 bytes)' },
      { name: 'garden/notes.txt', reason: 'not an image (text/plain)' },
    ]);
    expect(r.warnings).toEqual([{ name: 'garden/tiny.png', reason: 'smaller than 32×32 (20×16): upscaled, may look blurry' }]);
    expect(progress.length).toBe(7);
    expect(progress[6]).toEqual([7, 7]);

    const list = await listDatasets();
    const summary = list.find((d) => d.id === r.datasetId)!;
    expect(summary).toMatchObject({ name: 'garden', size: S, count: 4, hasMasks: false });

    const loaded = await loadDataset(r.datasetId);
    expect(loaded.names).toEqual(['garden/10.png', 'garden/a/01.png', 'garden/b/02.png', 'garden/tiny.png']); // natural order
    expect(loaded.images.count).toBe(4);
    expect(loaded.images.size).toBe(S);
    expect(loaded.masks).toBeUndefined();
    const expected = resizeCropRgb(pixels(48, 40, 1), 48, 40, 3, S);
    const per = S * S * 3;
    // kept as the stored bytes (a quarter of float32's memory), read into [−1, 1] as x / 127.5 − 1
    expect(loaded.images.pixels).toBeInstanceOf(Uint8Array);
    expect(loaded.images.pixels.subarray(per, 2 * per)).toEqual(expected);
    const got = imageSlice(loaded.images, 1, 1);
    for (let k = 0; k < per; k++) expect(got[k]).toBe(Math.fround(expected[k]! / 127.5 - 1));
    const all = imageSlice(loaded.images, 0, loaded.images.count);
    expect(Math.min(...all)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...all)).toBeLessThanOrEqual(1);
    // the 32×32 source is stored unchanged
    const same = pixels(32, 32, 4);
    expect(Array.from(all.subarray(0, 6))).toEqual(Array.from(same.subarray(0, 6)).map((v) => Math.fround(v / 127.5 - 1)));
  });

  it('expands zips (nested folders kept, OS clutter dropped, damaged entries refused)', async () => {
    const zip = zipSync({
      'set/x/1.png': [png(32, 32, 5), { level: 0 }],
      'set/2.png': png(36, 32, 6),
      '__MACOSX/set/._2.png': text('resource fork'),
      'set/.DS_Store': new Uint8Array([0, 0, 0, 1]),
      'set/readme.md': text('# hi'),
    });
    const expanded = await expandZipInputs([
      { name: 'upload/set.zip', bytes: zip },
      { name: 'loose.png', bytes: png(32, 32, 7) },
    ]);
    expect(expanded.map((f) => f.name)).toEqual([
      'upload/set.zip/set/x/1.png',
      'upload/set.zip/set/2.png',
      'upload/set.zip/set/readme.md',
      'loose.png',
    ]);

    const damaged = zip.slice();
    const at = Buffer.from(damaged).indexOf(Buffer.from('IHDR')); // inside the stored set/x/1.png
    damaged[at + 40]! ^= 0xff;
    const r = await ingestDataset({
      name: 'zipped',
      size: S,
      files: [
        { name: 'set.zip', bytes: damaged },
        { name: 'bad.zip', bytes: text('PK but not really') },
        { name: 'half.zip', bytes: zip.subarray(0, zip.length - 30) },
      ],
    });
    expect(r.accepted).toBe(1);
    expect(r.rejected).toEqual([
      { name: 'set.zip/set/x/1.png', reason: 'corrupt zip entry (CRC-32 mismatch)' },
      { name: 'bad.zip', reason: 'corrupt zip archive: it does not start like a zip file' },
      { name: 'half.zip', reason: 'corrupt zip archive: no end-of-central-directory record (truncated?)' },
      { name: 'set.zip/set/readme.md', reason: 'not an image (text/markdown)' },
    ]);
    expect((await loadDataset(r.datasetId)).names).toEqual(['set.zip/set/2.png']);
  });

  it('matches ground-truth masks by file name without extension and stores them as binary object masks', async () => {
    const r = await ingestDataset({
      name: 'with masks',
      size: S,
      files: [
        { name: 'imgs/cat/0001.jpg.png', bytes: png(64, 32, 1) },
        { name: 'imgs/dog/0002.png', bytes: png(32, 32, 2) },
      ],
      masks: [
        { name: 'masks/0001.jpg.png', bytes: maskPng(64, 32, 32) }, // left half of the source is object
        { name: 'masks/0002_mask.png', bytes: maskPng(32, 32, 8) },
        { name: 'masks/0003.png', bytes: maskPng(32, 32, 8) },
        { name: 'masks/junk.txt', bytes: text('x') },
      ],
    });
    expect(r.accepted).toBe(2);
    expect(r.rejected).toEqual([{ name: 'masks/junk.txt', reason: 'ground-truth mask: not an image (text/plain)' }]);
    expect(r.warnings).toEqual([{ name: 'masks/0003.png', reason: 'ground-truth mask matches no image' }]);
    const d = await loadDataset(r.datasetId);
    expect(d.summary.hasMasks).toBe(true);
    const m = d.masks!;
    expect(m.length).toBe(2 * S * S);
    // image 1: 64×32 → resized 64×32, crop left 16: object columns 0..15 of the crop
    for (let x = 0; x < S; x++) expect(m[5 * S + x], `x=${x}`).toBe(x < 16 ? 1 : 0);
    // image 2: object columns 0..7
    for (let x = 0; x < S; x++) expect(m[S * S + 3 * S + x]).toBe(x < 8 ? 1 : 0);
    expect(new Set(m)).toEqual(new Set([0, 1]));
  });

  it('drops the masks (with warnings) when some image has none', async () => {
    const r = await ingestDataset({
      name: 'partial',
      size: S,
      files: [
        { name: 'a.png', bytes: png(32, 32, 1) },
        { name: 'b.png', bytes: png(32, 32, 2) },
      ],
      masks: [{ name: 'a.png', bytes: maskPng(32, 32, 4) }],
    });
    expect(r.warnings).toEqual([
      { name: 'b.png', reason: 'no ground-truth mask named b.*' },
      { name: '(ground-truth masks)', reason: 'masks ignored: only 1 of 2 images have one (accuracy and IoU need a mask for every image)' },
    ]);
    const d = await loadDataset(r.datasetId);
    expect(d.summary.hasMasks).toBe(false);
    expect(d.masks).toBeUndefined();
  });

  it('throws IngestError when no file is an image, and stores nothing', async () => {
    const before = (await listDatasets()).length;
    const imagesBefore = await storedImageCount();
    const err = await ingestDataset({
      name: 'nothing',
      size: S,
      files: [
        { name: 'docs/a.txt', bytes: text('hello') },
        { name: 'docs/b.png', bytes: new Uint8Array(0) },
      ],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect((err as Error).message).toBe(
      'no images found among 2 files (docs/a.txt: not an image (text/plain); docs/b.png: empty file (0 bytes))',
    );
    expect((err as IngestError).rejected.length).toBe(2);
    expect((await listDatasets()).length).toBe(before);
    expect(await storedImageCount()).toBe(imagesBefore);
  });

  it('on QuotaExceededError says how much was stored and what to do, and leaves no dataset behind', async () => {
    const before = await listDatasets();
    const imagesBefore = await storedImageCount();
    INGEST_LIMITS.chunkBytes = 2 * S * S * 3; // two images per transaction
    const put = IDBObjectStore.prototype.put;
    let imagePuts = 0;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (this.name === 'images' && ++imagePuts === 5) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return put.call(this, value, key);
    });
    const files: IngestInput[] = [1, 2, 3, 4, 5].map((i) => ({ name: `q/${i}.png`, bytes: png(32, 32, i) }));
    const err = await ingestDataset({ name: 'too big', size: S, files }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect((err as Error).message).toBe(
      'storage quota exceeded: the browser refused more data after 4 images (12.0 KB) of 5 were stored. ' +
        'Nothing was kept. Free space by deleting datasets or runs you no longer need, import fewer images or use a smaller image size, or allow this site more storage, then try again.',
    );
    expect(imagePuts).toBe(5);
    vi.restoreAllMocks();
    expect(await listDatasets()).toEqual(before);
    expect(await storedImageCount()).toBe(imagesBefore);
    const db = await openStudioDb();
    expect((await db.getAll('datasets')).filter((d) => d.name === 'too big')).toEqual([]);
  });
});

describe('datasets', () => {
  it('persist across connections, and deleteDataset removes the dataset and all its images', async () => {
    const r = await ingestDataset({ name: 'keep me', size: S, files: [1, 2, 3].map((i) => ({ name: `${i}.png`, bytes: png(32, 32, i) })) });
    await closeStudioDb();
    expect((await listDatasets()).some((d) => d.id === r.datasetId && d.count === 3)).toBe(true);
    const db = await openStudioDb();
    expect(await db.count('images', imageRange(r.datasetId))).toBe(3);

    await deleteDataset(r.datasetId);
    expect((await listDatasets()).some((d) => d.id === r.datasetId)).toBe(false);
    expect(await db.count('images', imageRange(r.datasetId))).toBe(0);
    await expect(loadDataset(r.datasetId)).rejects.toBeInstanceOf(DatasetNotFoundError);
  });

  it('an import interrupted by a crash stays invisible and is purged on the next open', async () => {
    const db = await openStudioDb();
    const id = 'ds-crashed';
    await db.put('datasets', {
      id,
      name: 'crashed',
      size: S,
      count: 0,
      hasMasks: false,
      createdAt: new Date().toISOString(),
      complete: false,
      touchedAt: Date.now() - STALE_MS - 1,
    });
    await db.put('images', { datasetId: id, index: 0, name: 'x.png', rgb: new Uint8Array(S * S * 3) });
    expect((await listDatasets()).some((d) => d.id === id)).toBe(false);
    await closeStudioDb();
    const db2 = await openStudioDb();
    expect(await db2.get('datasets', id)).toBeUndefined();
    expect(await db2.count('images', imageRange(id))).toBe(0);
  });

  it('creates the colored-2-MNIST demo with object masks, deterministically', async () => {
    const digits = loadMnistDigitsNode();
    const a = await createDemoDatasetFromDigits(digits, S, 12);
    const b = await createDemoDatasetFromDigits(digits, S, 12);
    expect(a).toMatchObject({ name: 'colored-2-MNIST (12 × 32 px)', size: S, count: 12, hasMasks: true });
    const da = await loadDataset(a.id);
    const db = await loadDataset(b.id);
    expect(da.images.pixels).toEqual(db.images.pixels);
    expect(da.masks).toEqual(db.masks);
    const objectFraction = da.masks!.reduce((s, v) => s + v, 0) / da.masks!.length;
    expect(objectFraction).toBeGreaterThan(0.02); // two 14-px digits on a 32-px canvas
    expect(objectFraction).toBeLessThan(0.5);
    // background pixels have R = G (the spec's background colour), object pixels mostly not
    const p = da.images.pixels;
    let bgEqual = 0;
    let bg = 0;
    for (let i = 0; i < S * S; i++) {
      if (da.masks![i] === 0) {
        bg++;
        if (p[3 * i] === p[3 * i + 1]) bgEqual++;
      }
    }
    expect(bgEqual).toBe(bg);
    expect(da.names[0]).toBe('colored-2-mnist/00000.png');
  });
});
