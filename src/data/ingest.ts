/**
 * Dataset ingest, in the training Web Worker: files (nested folders: names are relative paths; zips expanded)
 * are decoded, resized (shorter side) and centre-cropped to the run's size, and stored in IndexedDB as RGB
 * bytes with their names; optional ground-truth masks (matched by file name without extension) are stored
 * alongside as binary object masks. Every file that cannot be used is skipped with a reason; the dataset
 * appears only once fully stored (see DatasetWriter).
 */
import { prepareImage, prepareMask, DecodeRefusal, extensionOf } from './decode';
import { DatasetWriter } from './datasets';
import type { DatasetSummary } from './records';
import { formatBytes, isQuotaError } from './db';
import { isZip, newZipBudget, readZip, type ZipBudget } from '../formats/zip';
import { maskKeys, naturalOrder, stem } from './names';

export interface IngestInput {
  /** relative path */
  name: string;
  bytes: Uint8Array | Blob;
}
export interface Rejected {
  name: string;
  reason: string;
}
export interface IngestResult {
  datasetId: string;
  accepted: number;
  rejected: Rejected[];
  /** e.g. smaller than size, still used */
  warnings: Rejected[];
}

export class IngestError extends Error {
  override name = 'IngestError';
  constructor(
    message: string,
    /** The files refused before the error, with their reasons. */
    readonly rejected: Rejected[] = [],
  ) {
    super(message);
  }
}

const MAX_ZIP_DEPTH = 4;
/** Tuning: bytes of pixels per write transaction (tests lower it to exercise several chunks). */
export const INGEST_LIMITS = { chunkBytes: 8 * 1024 * 1024 };

/** OS clutter that is no file the user chose (macOS resource forks and folder metadata, Windows thumbnails). */
function isSystemFile(name: string): boolean {
  const parts = name.split('/');
  const base = parts[parts.length - 1]!;
  return parts.includes('__MACOSX') || base === '.DS_Store' || base === 'Thumbs.db' || base === 'desktop.ini' || base.startsWith('._');
}

function declaredType(b: Uint8Array | Blob): string {
  return b instanceof Blob ? b.type : '';
}

async function toBytes(b: Uint8Array | Blob): Promise<Uint8Array> {
  return b instanceof Uint8Array ? b : new Uint8Array(await b.arrayBuffer());
}

function isZipName(f: IngestInput): boolean {
  return extensionOf(f.name) === 'zip' || ['application/zip', 'application/x-zip-compressed'].includes(declaredType(f.bytes));
}

/**
 * Expands zips (nested ones too, up to MAX_ZIP_DEPTH, all sharing one expansion budget: src/formats/zip.ts's limits);
 * a zip that cannot be read becomes a rejection, damaged and refused entries too; system files are dropped.
 */
async function expand(
  files: IngestInput[],
  depth = 0,
  budget: ZipBudget = newZipBudget(),
): Promise<{ inputs: IngestInput[]; rejected: Rejected[] }> {
  const inputs: IngestInput[] = [];
  const rejected: Rejected[] = [];
  for (const f of files) {
    if (isSystemFile(f.name)) continue;
    if (!isZipName(f)) {
      inputs.push(f);
      continue;
    }
    const bytes = await toBytes(f.bytes);
    if (bytes.length === 0) {
      rejected.push({ name: f.name, reason: 'empty file (0 bytes)' });
      continue;
    }
    if (!isZip(bytes)) {
      rejected.push({ name: f.name, reason: 'corrupt zip archive: it does not start like a zip file' });
      continue;
    }
    if (depth >= MAX_ZIP_DEPTH) {
      rejected.push({ name: f.name, reason: `zip nested more than ${MAX_ZIP_DEPTH} levels deep (skipped)` });
      continue;
    }
    let entries: ReturnType<typeof readZip>;
    try {
      entries = readZip(bytes, budget);
    } catch (e) {
      rejected.push({ name: f.name, reason: `corrupt zip archive: ${e instanceof Error ? e.message : String(e)}` });
      continue;
    }
    const inner: IngestInput[] = [];
    for (const e of entries) {
      const name = `${f.name}/${e.name}`;
      if (isSystemFile(name)) continue;
      if (e.refused) rejected.push({ name, reason: `zip entry refused: ${e.refused}` });
      else if (e.damage) rejected.push({ name, reason: `corrupt zip entry (${e.damage})` });
      else inner.push({ name, bytes: e.data });
    }
    const sub = await expand(inner, depth + 1, budget);
    inputs.push(...sub.inputs);
    rejected.push(...sub.rejected);
  }
  return { inputs, rejected };
}

/**
 * *.zip entries expanded (fflate), nested folders kept in names (`archive.zip/folder/image.png`). A zip that cannot
 * be read is passed through unchanged (ingestDataset then reports it).
 */
export async function expandZipInputs(files: IngestInput[]): Promise<IngestInput[]> {
  const out: IngestInput[] = [];
  for (const f of files) {
    const { inputs, rejected } = await expand([f]);
    if (rejected.some((r) => r.name === f.name)) out.push(f);
    else out.push(...inputs);
  }
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

async function storageNote(): Promise<string> {
  try {
    if (typeof navigator === 'undefined' || !navigator.storage?.estimate) return '';
    const e = await navigator.storage.estimate();
    return e.quota ? ` (this site now uses ${formatBytes(e.usage ?? 0)} of the ${formatBytes(e.quota)} the browser allows it)` : '';
  } catch {
    return '';
  }
}

export async function ingestDataset(opts: {
  name: string;
  size: number;
  files: IngestInput[];
  masks?: IngestInput[];
  onProgress?: (done: number, total: number) => void;
}): Promise<IngestResult> {
  const { size } = opts;
  if (!Number.isInteger(size) || size < 1) throw new IngestError(`image size must be a positive integer, got ${size}`);
  const name = opts.name.trim() || 'dataset';
  const images = await expand(opts.files);
  const maskFiles = await expand(opts.masks ?? []);
  const rejected: Rejected[] = [...images.rejected, ...maskFiles.rejected];
  const warnings: Rejected[] = [];
  const total = images.inputs.length + maskFiles.inputs.length;
  let done = 0;
  const tick = () => opts.onProgress?.(++done, total);

  // Masks first (small: size·size bytes each), keyed by stem.
  const masks = new Map<string, { name: string; mask: Uint8Array; used: boolean }>();
  const maskEntries: Array<{ name: string; mask: Uint8Array; used: boolean }> = [];
  for (const f of maskFiles.inputs) {
    try {
      const mask = await prepareMask(f.name, await toBytes(f.bytes), size, declaredType(f.bytes));
      const entry = { name: f.name, mask, used: false };
      maskEntries.push(entry);
      for (const k of maskKeys(f.name)) {
        if (masks.has(k))
          warnings.push({
            name: f.name,
            reason: `ground-truth mask: another mask (${masks.get(k)!.name}) has the same name; that one is used`,
          });
        else masks.set(k, entry);
      }
    } catch (e) {
      rejected.push({ name: f.name, reason: `ground-truth mask: ${reasonOf(e)}` });
    }
    tick();
  }

  const inputs = [...images.inputs].sort((a, b) => naturalOrder.compare(a.name, b.name));
  const seen = new Set<string>();
  let writer: DatasetWriter | undefined;
  let chunk: Array<{ name: string; rgb: Uint8Array; mask?: Uint8Array }> = [];
  let chunkBytes = 0;
  let accepted = 0;
  let withMask = 0;

  const flush = async () => {
    if (chunk.length === 0) return;
    writer ??= await DatasetWriter.open(name, size);
    await writer.add(chunk);
    chunk = [];
    chunkBytes = 0;
  };

  try {
    for (const f of inputs) {
      if (seen.has(f.name)) {
        rejected.push({ name: f.name, reason: 'duplicate: an earlier file has the same name' });
        tick();
        continue;
      }
      seen.add(f.name);
      let prepared: Awaited<ReturnType<typeof prepareImage>>;
      try {
        prepared = await prepareImage(f.name, await toBytes(f.bytes), size, declaredType(f.bytes));
      } catch (e) {
        rejected.push({ name: f.name, reason: reasonOf(e) });
        tick();
        continue;
      }
      for (const note of prepared.notes) warnings.push({ name: f.name, reason: note });
      if (prepared.width < size || prepared.height < size) {
        warnings.push({
          name: f.name,
          reason: `smaller than ${size}×${size} (${prepared.width}×${prepared.height}): upscaled, may look blurry`,
        });
      }
      let mask: Uint8Array | undefined;
      if (maskEntries.length > 0) {
        const m = masks.get(stem(f.name));
        if (m) {
          m.used = true;
          mask = m.mask;
          withMask++;
        } else warnings.push({ name: f.name, reason: `no ground-truth mask named ${stem(f.name)}.*` });
      }
      chunk.push({ name: f.name, rgb: prepared.rgb, ...(mask ? { mask } : {}) });
      chunkBytes += prepared.rgb.length;
      accepted++;
      if (chunkBytes >= INGEST_LIMITS.chunkBytes) await flush();
      tick();
    }
    if (accepted === 0) {
      const n = images.inputs.length + images.rejected.length;
      const shown = rejected.slice(0, 3).map((r) => `${r.name}: ${r.reason}`);
      throw new IngestError(
        `no images found among ${plural(n, 'file')}${shown.length ? ` (${shown.join('; ')}${rejected.length > 3 ? '; …' : ''})` : ''}`,
        rejected,
      );
    }
    await flush();
    for (const m of maskEntries) if (!m.used) warnings.push({ name: m.name, reason: 'ground-truth mask matches no image' });
    const hasMasks = maskEntries.length > 0 && withMask === accepted;
    if (maskEntries.length > 0 && !hasMasks) {
      warnings.push({
        name: '(ground-truth masks)',
        reason: `masks ignored: only ${withMask} of ${plural(accepted, 'image')} have one (accuracy and IoU need a mask for every image)`,
      });
    }
    const summary: DatasetSummary = await writer!.commit(hasMasks);
    return { datasetId: summary.id, accepted, rejected, warnings };
  } catch (e) {
    const stored = writer ? { images: writer.storedImages, bytes: writer.storedBytes } : { images: 0, bytes: 0 };
    if (writer) await writer.abort().catch(() => undefined);
    if (e instanceof IngestError) throw e;
    if (isQuotaError(e)) {
      throw new IngestError(
        `storage quota exceeded: the browser refused more data after ${plural(stored.images, 'image')} ` +
          `(${formatBytes(stored.bytes)}) of ${accepted} were stored${await storageNote()}. ` +
          'Nothing was kept. Free space by deleting datasets or runs you no longer need, import fewer images or use a ' +
          'smaller image size, or allow this site more storage, then try again.',
        rejected,
      );
    }
    throw new IngestError(`could not store the dataset: ${e instanceof Error ? e.message : String(e)} (nothing was kept)`, rejected);
  }
}

function reasonOf(e: unknown): string {
  if (e instanceof DecodeRefusal) return e.message;
  return `corrupt image data: could not decode (${e instanceof Error ? e.message : String(e)})`;
}
