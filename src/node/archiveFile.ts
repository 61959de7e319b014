/** Node-only: run archives on disk, written atomically (a crash or Ctrl-C mid-write never leaves half a zip). */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { readRunArchive } from '../formats/runArchive';

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

export async function readArchiveFile(path: string): ReturnType<typeof readRunArchive> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return readRunArchive(bytes, path);
}
