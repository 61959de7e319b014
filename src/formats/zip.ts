/**
 * Zip reading with integrity checks and limits (pure). The central directory is read here and each entry is
 * inflated with fflate's streaming Inflate, in small steps, so that nothing expands past what is allowed:
 * - a zip bomb is refused: entries expanding more than ZIP_LIMITS.maxRatio times, or an import expanding to more
 *   than ZIP_LIMITS.maxTotalBytes in all (nested zips share one budget), or an entry inflating past the size its
 *   header declares (the inflation stops there);
 * - names are made safe: `../` (zip slip) and absolute paths are refused, `\` becomes `/`; names without the
 *   UTF-8 flag are read as UTF-8 when they are valid UTF-8, else in the zip standard's code page 437, and the
 *   Info-ZIP Unicode path field wins when present;
 * - every extracted entry's CRC-32 and size are checked (fflate does not check them).
 * Written by hand around fflate's Inflate because fflate's unzip expands every entry whole, before any check.
 */
import { Inflate } from 'fflate';

export class ZipError extends Error {}

/** Tuning (tests lower them). */
export const ZIP_LIMITS = {
  /** Bytes one import may expand to in all, nested zips included. */
  maxTotalBytes: 2 * 1024 ** 3,
  /** An entry larger than `ratioFloorBytes` may expand at most this many times its compressed size (photos: ~1×). */
  maxRatio: 100,
  ratioFloorBytes: 1024 * 1024,
  /** More entries than this: the zip is refused. */
  maxEntries: 200_000,
};

/** What an import may still expand to; shared by a zip and the zips nested in it. */
export interface ZipBudget {
  bytesLeft: number;
}

export function newZipBudget(): ZipBudget {
  return { bytesLeft: ZIP_LIMITS.maxTotalBytes };
}

export function isZip(bytes: Uint8Array): boolean {
  // local file header, or the end-of-central-directory record of an empty zip
  return (
    bytes.length >= 4 &&
    bytes[0] === 0x50 &&
    bytes[1] === 0x4b &&
    ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6))
  );
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

// Code page 437 above 0x7F: what zip tools without the UTF-8 flag meant (APPNOTE appendix D).
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»' +
  '░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function decodeName(raw: Uint8Array, utf8Flag: boolean): string {
  if (utf8Flag) return new TextDecoder().decode(raw);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw); // many tools write UTF-8 without the flag
  } catch {
    let s = '';
    for (const c of raw) s += c < 0x80 ? String.fromCharCode(c) : CP437_HIGH[c - 0x80]!;
    return s;
  }
}

/** The Info-ZIP Unicode path extra field (0x7075), when it belongs to this name (its CRC-32 matches). */
function unicodePath(extra: Uint8Array, raw: Uint8Array): string | null {
  const v = new DataView(extra.buffer, extra.byteOffset, extra.byteLength);
  for (let i = 0; i + 4 <= extra.length;) {
    const id = v.getUint16(i, true);
    const len = v.getUint16(i + 2, true);
    if (id === 0x7075 && len >= 5 && i + 4 + len <= extra.length && extra[i + 4] === 1 && v.getUint32(i + 5, true) === crc32(raw)) {
      return new TextDecoder().decode(extra.subarray(i + 9, i + 4 + len));
    }
    i += 4 + len;
  }
  return null;
}

/** zip64 extended information (0x0001): the 64-bit values of the fields that hold 0xFFFFFFFF, in order. */
function zip64(extra: Uint8Array, e: { size: number; compressed: number; offset: number }): void {
  const v = new DataView(extra.buffer, extra.byteOffset, extra.byteLength);
  for (let i = 0; i + 4 <= extra.length;) {
    const id = v.getUint16(i, true);
    const len = v.getUint16(i + 2, true);
    if (id === 0x0001) {
      let p = i + 4;
      for (const k of ['size', 'compressed', 'offset'] as const) {
        if (e[k] === 0xffffffff && p + 8 <= i + 4 + len) {
          e[k] = Number(v.getBigUint64(p, true));
          p += 8;
        }
      }
      return;
    }
    i += 4 + len;
  }
}

/**
 * A name as a safe relative path ('/'-separated, no '.' or empty parts), or a refusal when it climbs out of the
 * archive (`..`). Leading '/' and drive letters are dropped, as unzip does.
 */
export function safeEntryName(name: string): { name: string } | { refused: string } {
  const parts = name
    .replace(/\\/g, '/')
    .replace(/^[A-Za-z]:/, '')
    .split('/')
    .filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { refused: 'unsafe name: its "../" would reach outside the archive (a zip-slip attack?); skipped' };
  return { name: parts.join('/') };
}

interface DirectoryEntry {
  name: string;
  directory: boolean;
  crc: number;
  size: number;
  compressed: number;
  offset: number;
  method: number;
  encrypted: boolean;
  refused?: string;
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
  if (count > ZIP_LIMITS.maxEntries) throw new ZipError(`it holds ${count} entries, more than the ${ZIP_LIMITS.maxEntries} allowed`);
  const entries: DirectoryEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (o + 46 > bytes.length || view.getUint32(o, true) !== 0x02014b50) throw new ZipError('damaged central directory');
    const flags = view.getUint16(o + 8, true);
    const nameLen = view.getUint16(o + 28, true);
    const extraLen = view.getUint16(o + 30, true);
    const commentLen = view.getUint16(o + 32, true);
    const raw = bytes.subarray(o + 46, o + 46 + nameLen);
    const extra = bytes.subarray(o + 46 + nameLen, o + 46 + nameLen + extraLen);
    const decoded = unicodePath(extra, raw) ?? decodeName(raw, (flags & 0x800) !== 0);
    const entry: DirectoryEntry = {
      name: decoded,
      directory: decoded.endsWith('/') || decoded.endsWith('\\'),
      crc: view.getUint32(o + 16, true),
      compressed: view.getUint32(o + 20, true),
      size: view.getUint32(o + 24, true),
      offset: view.getUint32(o + 42, true),
      method: view.getUint16(o + 10, true),
      encrypted: (flags & 1) !== 0,
    };
    zip64(extra, entry);
    const safe = safeEntryName(decoded);
    if ('refused' in safe) entry.refused = safe.refused;
    else entry.name = safe.name;
    entries.push(entry);
    o += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

const METHODS: Record<number, string> = { 9: 'Deflate64', 12: 'bzip2', 14: 'LZMA', 93: 'Zstandard', 95: 'XZ', 98: 'PPMd' };

function formatSize(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** Inflates raw deflate data in 16 KiB steps; null as soon as the output passes `limit` bytes. */
function inflateLimited(src: Uint8Array, limit: number): Uint8Array | null {
  const parts: Uint8Array[] = [];
  let total = 0;
  let over = false;
  const inflate = new Inflate((chunk) => {
    if (over) return;
    total += chunk.length;
    if (total > limit) over = true;
    else parts.push(chunk);
  });
  const STEP = 16 * 1024; // at most ~1032 × 16 KiB of output per step, whatever the data
  for (let i = 0; i < src.length && !over; i += STEP) inflate.push(src.subarray(i, i + STEP), i + STEP >= src.length);
  if (src.length === 0) inflate.push(src, true);
  if (over) return null;
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface UnzippedEntry {
  name: string;
  data: Uint8Array;
  /** Why the entry cannot be trusted (CRC or size mismatch, unreadable data), or undefined when it checks out. */
  damage?: string;
  /** Why the entry was not extracted (unsafe name, zip bomb, encrypted, unknown compression); `data` is empty. */
  refused?: string;
}

/**
 * Every file entry (directories left out) with its bytes, in archive order. Throws ZipError when the archive
 * itself cannot be read; a single damaged entry is reported in its `damage` field, one that is not extracted in
 * `refused`. `budget`: what this zip (and the zips it came from) may still expand to.
 */
export function readZip(bytes: Uint8Array, budget: ZipBudget = newZipBudget()): UnzippedEntry[] {
  let directory: DirectoryEntry[];
  try {
    directory = centralDirectory(bytes);
  } catch (e) {
    if (e instanceof ZipError) throw e;
    throw new ZipError(e instanceof Error ? e.message : String(e));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: UnzippedEntry[] = [];
  const seen = new Set<string>();
  for (const d of directory) {
    if (d.directory || seen.has(d.name)) continue;
    seen.add(d.name);
    const refuse = (why: string) => out.push({ name: d.name, data: new Uint8Array(0), refused: why });
    if (d.refused) {
      refuse(d.refused);
      continue;
    }
    if (d.encrypted) {
      refuse('encrypted (password-protected) entry: extract it yourself, then import the files');
      continue;
    }
    if (d.method !== 0 && d.method !== 8) {
      const method = METHODS[d.method] ?? `method ${d.method}`;
      refuse(`compressed with ${method}, which is not supported here: re-zip it with ordinary (deflate) compression`);
      continue;
    }
    if (d.size > budget.bytesLeft) {
      const all = formatSize(ZIP_LIMITS.maxTotalBytes);
      refuse(`the zip would expand to more than ${all} in all (this entry alone is ${formatSize(d.size)}): skipped (a zip bomb?)`);
      continue;
    }
    if (d.size > ZIP_LIMITS.ratioFloorBytes && d.size > ZIP_LIMITS.maxRatio * Math.max(d.compressed, 1)) {
      const ratio = Math.round(d.size / Math.max(d.compressed, 1));
      refuse(`it would expand ${ratio}× (${formatSize(d.size)} from ${d.compressed} bytes): skipped (a zip bomb?)`);
      continue;
    }
    if (d.offset + 30 > bytes.length || view.getUint32(d.offset, true) !== 0x04034b50) {
      out.push({ name: d.name, data: new Uint8Array(0), damage: 'its local header is missing' });
      continue;
    }
    const start = d.offset + 30 + view.getUint16(d.offset + 26, true) + view.getUint16(d.offset + 28, true);
    if (start + d.compressed > bytes.length) {
      out.push({ name: d.name, data: new Uint8Array(0), damage: 'its data runs past the end of the zip (truncated?)' });
      continue;
    }
    const src = bytes.subarray(start, start + d.compressed);
    let data: Uint8Array | null;
    try {
      data = d.method === 0 ? src.slice() : inflateLimited(src, d.size);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      out.push({ name: d.name, data: new Uint8Array(0), damage: `its compressed data is corrupt (${why})` });
      continue;
    }
    if (data === null) {
      const damage = `it inflates to more than the ${d.size} bytes its header declares (a zip bomb?); stopped there`;
      out.push({ name: d.name, data: new Uint8Array(0), damage });
      continue;
    }
    budget.bytesLeft -= data.length;
    let damage: string | undefined;
    if (data.length !== d.size) damage = `size ${data.length} bytes, the zip says ${d.size}`;
    else if (crc32(data) !== d.crc) damage = 'CRC-32 mismatch';
    out.push({ name: d.name, data, ...(damage ? { damage } : {}) });
  }
  return out;
}
