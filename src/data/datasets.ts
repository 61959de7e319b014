/**
 * Datasets in IndexedDB: list, load, delete, the two demos (colored-2-MNIST; objects on photos), and the crash-safe
 * writer that ingest and the demos share. Images are stored as compact RGB bytes (size·size·3 per image), masks as
 * size·size bytes in {0, 1}; loading converts them to the float ranges the model uses.
 */
import type { ImageSet } from '../redo/batches';
import { generateColored2Mnist } from '../datagen/colored2mnist';
import { splitDigits, unpackMnistDigits, type MnistDigits } from '../datagen/mnistDigits';
import { generateObjectsOnPhotos, parseSourcesIndex, spritesOf, type Photo } from '../datagen/objectsOnPhotos';
import { decodeImage, type DecodedPixels } from './decode';
import { imageRange, openStudioDb, type DatasetRow, type ImageRow, type StudioDatabase } from './db';
import type { DatasetSummary } from './records';

function summaryOf(r: DatasetRow): DatasetSummary {
  return { id: r.id, name: r.name, size: r.size, count: r.count, hasMasks: r.hasMasks, createdAt: r.createdAt };
}

/** Complete datasets, newest first. */
export async function listDatasets(): Promise<DatasetSummary[]> {
  const db = await openStudioDb();
  const rows = await db.getAll('datasets');
  return rows
    .filter((r) => r.complete)
    .map(summaryOf)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
}

/** Removes a dataset and all its images and masks (one transaction). Unknown ids are ignored. */
export async function deleteDataset(id: string): Promise<void> {
  const db = await openStudioDb();
  await removeDataset(db, id);
}

async function removeDataset(db: StudioDatabase, id: string): Promise<void> {
  const tx = db.transaction(['datasets', 'images'], 'readwrite');
  await Promise.all([tx.objectStore('images').delete(imageRange(id)), tx.objectStore('datasets').delete(id), tx.done]);
}

export class DatasetNotFoundError extends Error {}

/**
 * A stored dataset as the trainer uses it: images NHWC as bytes (src/redo/batches.ts reads them into [−1, 1] a batch
 * at a time; 10,000 photos at 128 px hold 0.5 GB, not the 2 GB of float32), masks [N, S, S] as bytes in {0, 1}.
 */
export async function loadDataset(id: string): Promise<{ summary: DatasetSummary; images: ImageSet; names: string[]; masks?: Uint8Array }> {
  const db = await openStudioDb();
  const tx = db.transaction(['datasets', 'images'], 'readonly');
  const [row, records] = await Promise.all([tx.objectStore('datasets').get(id), tx.objectStore('images').getAll(imageRange(id)), tx.done]);
  if (!row || !row.complete) throw new DatasetNotFoundError(`dataset ${id} not found (deleted, or its import never finished)`);
  if (records.length !== row.count)
    throw new Error(`dataset "${row.name}" is damaged: ${records.length} images stored, ${row.count} expected`);
  const s = row.size;
  const per = s * s * 3;
  const pixels = new Uint8Array(records.length * per);
  const masks = row.hasMasks ? new Uint8Array(records.length * s * s) : undefined;
  records.forEach((r, i) => {
    if (r.rgb.length !== per)
      throw new Error(`dataset "${row.name}" is damaged: image ${r.name} has ${r.rgb.length} bytes, ${per} expected`);
    pixels.set(r.rgb, i * per);
    if (masks) {
      if (r.mask?.length !== s * s) throw new Error(`dataset "${row.name}" is damaged: image ${r.name} has no mask of ${s}×${s}`);
      masks.set(r.mask, i * s * s);
    }
  });
  return { summary: summaryOf(row), images: { count: records.length, size: s, pixels }, names: records.map((r) => r.name), masks };
}

/**
 * Writes one dataset in several transactions, invisible until `commit` flips its `complete` flag; `abort`
 * (or, after a crash, the purge on the next open) removes whatever was written.
 */
export class DatasetWriter {
  readonly id: string;
  private row: DatasetRow;
  private next = 0;
  /** Images and bytes committed to IndexedDB so far. */
  storedImages = 0;
  storedBytes = 0;

  private constructor(
    private readonly db: StudioDatabase,
    name: string,
    size: number,
  ) {
    this.id = `ds-${crypto.randomUUID()}`;
    this.row = {
      id: this.id,
      name,
      size,
      count: 0,
      hasMasks: false,
      createdAt: new Date().toISOString(),
      complete: false,
      touchedAt: Date.now(),
    };
  }

  static async open(name: string, size: number): Promise<DatasetWriter> {
    return new DatasetWriter(await openStudioDb(), name, size);
  }

  /** Stores a chunk of images (rgb: size·size·3 bytes each) in one transaction. */
  async add(images: Array<{ name: string; rgb: Uint8Array; mask?: Uint8Array }>): Promise<void> {
    if (images.length === 0) return;
    const s = this.row.size;
    const rows: ImageRow[] = images.map((im, i) => {
      if (im.rgb.length !== s * s * 3) throw new Error(`${im.name}: ${im.rgb.length} bytes, expected ${s * s * 3}`);
      if (im.mask && im.mask.length !== s * s) throw new Error(`${im.name}: mask of ${im.mask.length} bytes, expected ${s * s}`);
      return { datasetId: this.id, index: this.next + i, name: im.name, rgb: im.rgb, ...(im.mask ? { mask: im.mask } : {}) };
    });
    const tx = this.db.transaction(['datasets', 'images'], 'readwrite');
    const done = tx.done;
    done.catch(() => undefined); // awaited below
    const store = tx.objectStore('images');
    this.row = { ...this.row, touchedAt: Date.now() };
    const requests: Array<Promise<unknown>> = [];
    try {
      requests.push(tx.objectStore('datasets').put(this.row));
      for (const r of rows) requests.push(store.put(r));
      await Promise.all([...requests, done]);
    } catch (e) {
      for (const r of requests) r.catch(() => undefined); // settled by the abort below
      try {
        tx.abort(); // the chunk is all or nothing
      } catch {
        // already aborted by the error
      }
      throw e;
    }
    this.next += rows.length;
    this.storedImages += rows.length;
    this.storedBytes += rows.reduce((a, r) => a + r.rgb.length + (r.mask?.length ?? 0), 0);
  }

  /** Makes the dataset visible; checks first that every image is there. */
  async commit(hasMasks: boolean): Promise<DatasetSummary> {
    const tx = this.db.transaction(['datasets', 'images'], 'readwrite');
    const stored = await tx.objectStore('images').count(imageRange(this.id));
    if (stored !== this.next) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw new Error(`dataset "${this.row.name}": ${stored} of ${this.next} images found at commit (removed by another tab?)`);
    }
    this.row = { ...this.row, count: this.next, hasMasks, complete: true, touchedAt: Date.now() };
    await Promise.all([tx.objectStore('datasets').put(this.row), tx.done]);
    return summaryOf(this.row);
  }

  /** Removes everything written so far. */
  async abort(): Promise<void> {
    await removeDataset(this.db, this.id);
  }
}

// ---------------------------------------------------------------------------------------------------------
// colored-2-MNIST demo

/** Seed of the demo dataset: the same demo on every machine. */
export const DEMO_SEED = 2019;

function assetUrl(file: string): string {
  const base = (import.meta.env as { BASE_URL?: string } | undefined)?.BASE_URL ?? '/';
  const origin = typeof location !== 'undefined' ? location.origin : 'http://localhost';
  return new URL(`${base.endsWith('/') ? base : `${base}/`}${file}`, origin).href;
}

/** An asset of the app (public/), as bytes; `what` names it in the error a failed download gives. */
async function fetchAsset(file: string, what: string): Promise<Uint8Array> {
  const url = assetUrl(file);
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not load ${what} (${url}): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!res.ok) throw new Error(`could not load ${what} (${url}: HTTP ${res.status})`);
  return new Uint8Array(await res.arrayBuffer());
}

/** colored-2-MNIST (n = 3: even digit, odd digit, background) from the digits at /mnist-digits.bin. */
export async function createDemoDataset(size: number, count: number): Promise<DatasetSummary> {
  const digits = unpackMnistDigits(await fetchAsset('mnist-digits.bin', 'the MNIST digits'));
  return createDemoDatasetFromDigits(digits, size, count);
}

/**
 * Stores `count` colored-2-MNIST images of side `size` drawn from the training split of `digits`, with their
 * ground truth as binary object masks (object = either digit).
 */
export async function createDemoDatasetFromDigits(
  digits: MnistDigits,
  size: number,
  count: number,
  seed = DEMO_SEED,
): Promise<DatasetSummary> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`demo dataset: count must be a positive integer, got ${count}`);
  const writer = await DatasetWriter.open(`colored-2-MNIST (${count} × ${size} px)`, size);
  const chunk = Math.max(1, Math.floor(4_000_000 / (size * size * 4)));
  const plane = size * size;
  const train = splitDigits(digits, 'train');
  try {
    for (let start = 0; start < count; start += chunk) {
      const n = Math.min(chunk, count - start);
      // One generator call per chunk, each with its own derived seed, keeps memory bounded.
      const g = generateColored2Mnist(train, { count: n, size, seed: (seed + start * 7919) >>> 0, regions: 3 });
      const images = [];
      for (let i = 0; i < n; i++) {
        const rgb = new Uint8Array(plane * 3);
        for (let k = 0; k < plane * 3; k++) rgb[k] = Math.min(255, Math.max(0, Math.round((g.images[i * plane * 3 + k]! + 1) * 127.5)));
        const mask = new Uint8Array(plane);
        const bg = g.nRegions - 1;
        for (let k = 0; k < plane; k++) mask[k] = g.masks[(i * plane + k) * g.nRegions + bg] === 1 ? 0 : 1;
        images.push({ name: `colored-2-mnist/${String(start + i).padStart(5, '0')}.png`, rgb, mask });
      }
      await writer.add(images);
    }
    return await writer.commit(true);
  } catch (e) {
    await writer.abort().catch(() => undefined);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Objects on photos demo

/** Seed of the objects-on-photos demo (the same images on every machine; `npm run data:objects -- --seed 1`). */
export const OBJECTS_DEMO_SEED = 1;

function rgbOf(p: DecodedPixels): Uint8Array {
  const rgb = new Uint8Array(p.width * p.height * 3);
  for (let i = 0; i < p.width * p.height; i++) {
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = p.data[i * p.channels + (p.channels >= 3 ? c : 0)]!;
  }
  return rgb;
}

/**
 * Objects on photos (src/datagen/objectsOnPhotos.ts): `count` images of side `size` made from the training emoji
 * and the photographs in public/objects/, with their exact object masks, so accuracy and IoU run live.
 */
export async function createObjectsDemoDataset(size: number, count: number, seed = OBJECTS_DEMO_SEED): Promise<DatasetSummary> {
  if (!Number.isInteger(count) || count < 1) throw new Error(`demo dataset: count must be a positive integer, got ${count}`);
  const index = parseSourcesIndex(
    JSON.parse(new TextDecoder().decode(await fetchAsset('objects/sources.json', 'the objects-on-photos sources'))),
  );
  // Sources decode at full size: `size` (the data set's side) only sets decodeImage's upscale and shrink limits.
  const atlas = await decodeImage('emoji-train.png', await fetchAsset(`objects/${index.atlases.train.file}`, 'the emoji atlas'), size);
  if (atlas.channels !== 4) throw new Error('the emoji atlas has no alpha channel');
  const sprites = spritesOf({ width: atlas.width, data: atlas.data as Uint8Array }, index, 'train');
  const photos: Photo[] = [];
  for (const p of index.photos) {
    const d = await decodeImage(p.file, await fetchAsset(`objects/${p.file}`, `the photograph ${p.file}`), size);
    photos.push({ width: d.width, height: d.height, rgb: rgbOf(d) });
  }
  const writer = await DatasetWriter.open(`objects on photos (${count} × ${size} px)`, size);
  const chunk = Math.max(1, Math.floor(4_000_000 / (size * size * 4)));
  const plane = size * size;
  try {
    for (let start = 0; start < count; start += chunk) {
      const n = Math.min(chunk, count - start);
      const g = generateObjectsOnPhotos(sprites, photos, { count: n, size, seed: (seed + start * 7919) >>> 0 });
      const images = [];
      for (let i = 0; i < n; i++) {
        images.push({
          name: `objects-on-photos/${String(start + i).padStart(5, '0')}.png`,
          rgb: g.images.slice(i * plane * 3, (i + 1) * plane * 3),
          mask: g.masks.slice(i * plane, (i + 1) * plane),
        });
      }
      await writer.add(images);
    }
    return await writer.commit(true);
  } catch (e) {
    await writer.abort().catch(() => undefined);
    throw e;
  }
}
