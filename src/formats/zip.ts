/**
 * Zip reading with integrity checks (pure). fflate extracts but does not verify the stored CRC-32 of each
 * entry, so this reads the central directory and checks every extracted entry's CRC-32 and size.
 */
import { unzipSync } from 'fflate';

export class ZipError extends Error {}

export function isZip(bytes: Uint8Array): boolean {
  // local file header, or the end-of-central-directory record of an empty zip
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

let crcTable: Uint32Array | undefined;

export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface DirectoryEntry {
  name: string;
  crc: number;
  size: number;
}

function centralDirectory(bytes: Uint8Array): DirectoryEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let e = bytes.length - 22;
  while (e >= 0 && view.getUint32(e, true) !== 0x06054b50) {
    if (bytes.length - e > 65557) throw new ZipError('no end-of-central-directory record (truncated?)');
    e--;
  }
  if (e < 0) throw new ZipError('no end-of-central-directory record (truncated?)');
  let count = view.getUint16(e + 10, true);
  let o = view.getUint32(e + 16, true);
  if (e >= 20 && view.getUint32(e - 20, true) === 0x07064b50) {
    // zip64: counts and offsets in the zip64 end-of-central-directory record
    const ze = Number(view.getBigUint64(e - 12, true));
    if (ze + 56 <= bytes.length && view.getUint32(ze, true) === 0x06064b50) {
      count = Number(view.getBigUint64(ze + 32, true));
      o = Number(view.getBigUint64(ze + 48, true));
    }
  }
  const entries: DirectoryEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (o + 46 > bytes.length || view.getUint32(o, true) !== 0x02014b50) throw new ZipError('damaged central directory');
    const flags = view.getUint16(o + 8, true);
    const crc = view.getUint32(o + 16, true);
    const size = view.getUint32(o + 24, true);
    const nameLen = view.getUint16(o + 28, true);
    const extraLen = view.getUint16(o + 30, true);
    const commentLen = view.getUint16(o + 32, true);
    const raw = bytes.subarray(o + 46, o + 46 + nameLen);
    const name = flags & 0x800 ? new TextDecoder().decode(raw) : String.fromCharCode(...raw);
    entries.push({ name, crc, size });
    o += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

export interface UnzippedEntry {
  name: string;
  data: Uint8Array;
  /** Why the entry cannot be trusted (CRC or size mismatch), or undefined when it checks out. */
  damage?: string;
}

/**
 * Every file entry (directories left out) with its bytes, in archive order. Throws ZipError when the archive
 * itself cannot be read; a single damaged entry is reported in its `damage` field.
 */
export function readZip(bytes: Uint8Array): UnzippedEntry[] {
  let files: Record<string, Uint8Array>;
  let directory: DirectoryEntry[];
  try {
    directory = centralDirectory(bytes);
    files = unzipSync(bytes);
  } catch (e) {
    if (e instanceof ZipError) throw e;
    throw new ZipError(e instanceof Error ? e.message : String(e));
  }
  const out: UnzippedEntry[] = [];
  const seen = new Set<string>();
  for (const d of directory) {
    if (d.name.endsWith('/') || seen.has(d.name)) continue;
    seen.add(d.name);
    const data = files[d.name];
    if (!data) continue;
    let damage: string | undefined;
    if (d.size !== 0xffffffff && data.length !== d.size) damage = `size ${data.length} bytes, the zip says ${d.size}`;
    else if (crc32(data) !== d.crc) damage = 'CRC-32 mismatch';
    out.push({ name: d.name, data, damage });
  }
  return out;
}
