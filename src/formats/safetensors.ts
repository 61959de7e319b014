/**
 * The safetensors file format (8-byte little-endian header length, JSON header, raw little-endian data),
 * float32 tensors only. Written by hand: the format is 40 lines of code and the npm packages for it are
 * Node-only or unmaintained; this one runs in a worker, in Node and in the page.
 */
import type { NamedTensorData } from '../redo/weights';

export interface SafetensorsFile {
  tensors: Map<string, NamedTensorData>;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export class SafetensorsError extends Error {}

export function encodeSafetensors(tensors: ReadonlyMap<string, NamedTensorData>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, HeaderEntry | Record<string, string>> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new SafetensorsError(`${name}: shape [${t.shape}] holds ${size} values, data has ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * size] };
    offset += 4 * size;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' '; // align the data to 8 bytes, as the reference writer does
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** The format's own limit on the JSON header (safetensors refuses larger ones too). */
const MAX_HEADER_BYTES = 100_000_000;

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Reads a safetensors file. Throws SafetensorsError naming what is wrong: a header length that lies (longer than
 * the file, or past the format's 100 MB), a header that is not JSON or whose entries are malformed, data offsets
 * that do not fit the shape or the file, a dtype other than F32.
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) throw new SafetensorsError('not a safetensors file: shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const big = view.getBigUint64(0, true);
  if (big === 0n || big > BigInt(bytes.length - 8)) {
    throw new SafetensorsError(`not a safetensors file: header length ${big} does not fit in ${bytes.length} bytes`);
  }
  const n = Number(big);
  if (n > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`not a safetensors file: header length ${n} is over the format's limit of ${MAX_HEADER_BYTES} bytes`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new SafetensorsError('not a safetensors file: its header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError('not a safetensors file: its header is not a JSON object');
  }
  const dataStart = 8 + n;
  const tensors = new Map<string, NamedTensorData>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw new SafetensorsError('__metadata__ must map names to strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as Partial<HeaderEntry> | null;
    if (typeof e !== 'object' || e === null) throw new SafetensorsError(`${name}: its header entry is not an object`);
    if (!Array.isArray(e.shape) || !e.shape.every(isCount)) throw new SafetensorsError(`${name}: shape must be a list of integers ≥ 0`);
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2 || !e.data_offsets.every(isCount)) {
      throw new SafetensorsError(`${name}: data_offsets must be two integers ≥ 0`);
    }
    if (e.dtype !== 'F32') throw new SafetensorsError(`${name}: dtype ${String(e.dtype)} is not supported (only F32)`);
    const [b, end] = e.data_offsets;
    const size = e.shape.reduce((a, c) => a * c, 1);
    if (end - b !== 4 * size || end < b || dataStart + end > bytes.length) {
      throw new SafetensorsError(`${name}: data offsets [${b}, ${end}] do not fit shape [${e.shape}] or the file`);
    }
    // Copy: the slice may not be 4-byte aligned and must not alias the file buffer.
    const data = new Float32Array(size);
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart + b, dataStart + end));
    tensors.set(name, { shape: e.shape, data });
  }
  return { tensors, metadata };
}
