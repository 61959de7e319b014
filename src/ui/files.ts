/**
 * Files the user gives: a folder picked with a `webkitdirectory` input, or folders / files / zips dropped on
 * the page (nested folders are walked; names keep their relative paths). A sub-folder named like a mask
 * folder (masks, gt, ground_truth, annotations, segmentations, labels) holds ground-truth masks.
 */
import type { FileEntry } from '../worker/protocol';

const MASK_FOLDER = /^(masks?|gt|ground[-_ ]?truths?|annotations?|segmentations?|labels?)$/i;

export function filesFromList(list: FileList | File[]): FileEntry[] {
  return Array.from(list).map((f) => ({ name: f.webkitRelativePath || f.name, file: f }));
}

function readAllEntries(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const out: FileSystemEntry[] = [];
  return new Promise((resolve, reject) => {
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(out);
        else {
          out.push(...batch);
          next(); // readEntries returns at most ~100 entries per call
        }
      }, reject);
    next();
  });
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(entry: FileSystemEntry, out: FileEntry[]): Promise<void> {
  if (entry.isFile) {
    const f = await fileOf(entry as FileSystemFileEntry);
    out.push({ name: entry.fullPath.replace(/^\/+/, '') || f.name, file: f });
  } else if (entry.isDirectory) {
    for (const child of await readAllEntries(entry as FileSystemDirectoryEntry)) await walk(child, out);
  }
}

/** Everything dropped, folders walked. Must be called synchronously from the drop handler (entries are read at once). */
export function filesFromDrop(dt: DataTransfer): Promise<FileEntry[]> {
  const entries: FileSystemEntry[] = [];
  for (const item of Array.from(dt.items)) {
    if (item.kind !== 'file') continue;
    const e = item.webkitGetAsEntry();
    if (e) entries.push(e);
  }
  if (entries.length === 0) return Promise.resolve(filesFromList(dt.files));
  return (async () => {
    const out: FileEntry[] = [];
    for (const e of entries) await walk(e, out);
    return out;
  })();
}

/** Splits off the files inside a mask folder (any level below the top). */
export function splitMasks(files: FileEntry[]): { images: FileEntry[]; masks: FileEntry[] } {
  const images: FileEntry[] = [];
  const masks: FileEntry[] = [];
  for (const f of files) {
    const dirs = f.name.split('/').slice(0, -1);
    if (
      dirs.slice(1).some((d) => MASK_FOLDER.test(d)) ||
      (dirs.length === 1 && MASK_FOLDER.test(dirs[0]!) && files.some((g) => !g.name.startsWith(`${dirs[0]}/`)))
    ) {
      masks.push(f);
    } else images.push(f);
  }
  return { images, masks };
}

/** The common top folder of the files, as a dataset name. */
export function datasetNameOf(files: FileEntry[]): string {
  const first = files[0]?.name ?? '';
  const top = first.includes('/') ? first.split('/')[0]! : '';
  if (top && files.every((f) => f.name.startsWith(`${top}/`))) return top;
  if (files.length === 1) return first.replace(/\.[^.]+$/, '');
  return `dataset ${new Date().toLocaleString()}`;
}
