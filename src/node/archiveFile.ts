/** Node-only: run archives and weights files on disk; archives written atomically (a crash or Ctrl-C mid-write never leaves half a zip). */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { readRunArchive, readWeightsFile, type WeightsFile } from '../formats/runArchive';
import type { RedoConfig } from '../redo/config';

export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

export async function readArchiveFile(path: string): ReturnType<typeof readRunArchive> {
  return readRunArchive(await readBytes(path), path);
}

/** A .safetensors weights file, checked whole as the studio's import checks it (src/formats/runArchive.ts). */
export async function readWeightsFileAt(path: string, fallbackImageSize: RedoConfig['imageSize']): Promise<WeightsFile> {
  return readWeightsFile(basename(path), await readBytes(path), fallbackImageSize);
}
