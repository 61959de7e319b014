/**
 * Strided walks over row-major typed arrays, shared by the kernels registered for TF.js's `cpu` backend
 * (src/kernels/cpuKernels.ts, over its JS arrays) and for `wasm` (src/kernels/wasmKernels.ts, over the WebAssembly heap):
 * broadcast strides, dimension merging, an odometer over the outer dimensions with a tight loop over the
 * innermost, and the copies (slice, concat, transpose) built on them. Pure functions, no TF.js state.
 */
import type { TypedArray } from '@tensorflow/tfjs';

/** Strides of `inShape` read as `outShape` (right-aligned, 0 along broadcast dimensions). */
export function broadcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const r = outShape.length;
  const off = r - inShape.length;
  const strides = new Array<number>(r).fill(0);
  let s = 1;
  for (let d = inShape.length - 1; d >= 0; d--) {
    strides[d + off] = inShape[d] === 1 ? 0 : s;
    s *= inShape[d]!;
  }
  return strides;
}

/**
 * Merges neighbouring dimensions that every input walks contiguously (stride[d] = stride[d+1]·shape[d+1] for all
 * inputs) and drops size-1 dimensions: the innermost loop gets as long as it can be.
 */
export function mergeDims(shape: readonly number[], strides: ReadonlyArray<readonly number[]>): { shape: number[]; strides: number[][] } {
  const keep = shape.map((n, d) => [n, d] as const).filter(([n]) => n !== 1);
  if (keep.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  const outShape: number[] = [keep[0]![0]];
  const outStrides = strides.map((s) => [s[keep[0]![1]]!]);
  for (let k = 1; k < keep.length; k++) {
    const [n, d] = keep[k]!;
    const last = outShape.length - 1;
    const contiguous = strides.every((s, i) => outStrides[i]![last] === s[d]! * n);
    if (contiguous) {
      outShape[last] = outShape[last]! * n;
      strides.forEach((s, i) => (outStrides[i]![last] = s[d]!));
    } else {
      outShape.push(n);
      strides.forEach((s, i) => outStrides[i]!.push(s[d]!));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/** Calls `row(o, p)` for every innermost row of `shape` in order: o = the row's output offset, p[k] = its offset in input k. */
export function forEachRow(shape: readonly number[], strides: readonly number[][], row: (o: number, p: number[]) => void): void {
  const r = shape.length;
  const inner = shape[r - 1]!;
  const idx = new Array<number>(r).fill(0);
  const p = strides.map(() => 0);
  const size = shape.reduce((a, b) => a * b, 1);
  for (let o = 0; o < size; o += inner) {
    row(o, p);
    for (let d = r - 2; d >= 0; d--) {
      idx[d]!++;
      for (let k = 0; k < p.length; k++) p[k]! += strides[k]![d]!;
      if (idx[d]! < shape[d]!) break;
      for (let k = 0; k < p.length; k++) p[k]! -= strides[k]![d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

/** x transposed by `perm` (output dimension d is input dimension perm[d]). */
export function transposeValues<T extends TypedArray>(x: T, xShape: readonly number[], perm: readonly number[]): T {
  const out = new (x.constructor as new (n: number) => T)(x.length);
  if (x.length === 0) return out;
  const xStrides = rowMajor(xShape);
  const m = mergeDims(
    perm.map((p) => xShape[p]!),
    [perm.map((p) => xStrides[p]!)],
  );
  const r = m.shape.length;
  const n = m.shape[r - 1]!;
  const s = m.strides[0]![r - 1]!;
  forEachRow(m.shape, m.strides, (o, p) => {
    let q = p[0]!;
    for (let j = 0; j < n; j++, q += s) out[o + j] = x[q]!;
  });
  return out;
}

/** Row-major strides of `shape` (one per dimension, the last 1). */
export function rowMajor(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

type Dims = readonly number[];

const TILE = 32;

/**
 * Copies a block of `shape` from `src` (element (i…) at srcBase + Σ i·srcStrides) to `dst` (at dstBase + Σ i·dstStrides):
 * a slice is a strided source and a contiguous destination, a concatenation the reverse, a transpose both strided.
 * When the last two (merged) dimensions swap which side is contiguous (a matrix transpose), they are copied in
 * TILE×TILE tiles, so that neither side walks memory a row apart per element.
 */
export function copyBlock(
  shape: readonly number[],
  src: TypedArray,
  srcBase: number,
  srcStrides: readonly number[],
  dst: TypedArray,
  dstBase: number,
  dstStrides: readonly number[],
): void {
  if (shape.some((n) => n === 0)) return;
  const m = mergeDims(shape, [srcStrides, dstStrides]);
  const r = m.shape.length;
  const n = m.shape[r - 1]!;
  const ss = m.strides[0]![r - 1]!;
  const ds = m.strides[1]![r - 1]!;
  const tiled = r >= 2 && ss !== 1 && ds === 1 && m.strides[0]![r - 2] === 1 && n >= TILE && m.shape[r - 2]! >= TILE;
  const rowsInner = tiled ? m.shape[r - 2]! : 1;
  const dsRow = tiled ? m.strides[1]![r - 2]! : 0;
  // Typed-array set() pays for a subarray object per row: worth it only for long contiguous rows.
  const bulk = ss === 1 && ds === 1 && n >= 64;
  const outer = m.shape.slice(0, tiled ? -2 : -1);
  const idx = new Array<number>(outer.length).fill(0);
  let s = srcBase;
  let d = dstBase;
  const count = outer.reduce((a, b) => a * b, 1);
  for (let row = 0; row < count; row++) {
    if (tiled) {
      // dst[d + a·dsRow + b] = src[s + a + b·ss] for a < rowsInner, b < n
      for (let a0 = 0; a0 < rowsInner; a0 += TILE) {
        const a1 = Math.min(a0 + TILE, rowsInner);
        for (let b0 = 0; b0 < n; b0 += TILE) {
          const b1 = Math.min(b0 + TILE, n);
          for (let a = a0; a < a1; a++) {
            for (let b = b0, q = s + a + b0 * ss, o = d + a * dsRow + b0; b < b1; b++, q += ss, o++) dst[o] = src[q]!;
          }
        }
      }
    } else if (bulk) dst.set(src.subarray(s, s + n), d);
    else for (let j = 0, q = s, o = d; j < n; j++, q += ss, o += ds) dst[o] = src[q]!;
    for (let k = outer.length - 1; k >= 0; k--) {
      idx[k]!++;
      s += m.strides[0]![k]!;
      d += m.strides[1]![k]!;
      if (idx[k]! < outer[k]!) break;
      s -= m.strides[0]![k]! * outer[k]!;
      d -= m.strides[1]![k]! * outer[k]!;
      idx[k] = 0;
    }
  }
}

/** x[begin : begin + size] of a row-major tensor of `shape`, into `out` (new when not given). */
export function sliceValues<T extends TypedArray>(x: T, shape: Dims, begin: Dims, size: Dims, out?: T): T {
  const n = size.reduce((a, b) => a * b, 1);
  const dst = out ?? new (x.constructor as new (n: number) => T)(n);
  const strides = rowMajor(shape);
  const base = begin.reduce((acc, b, d) => acc + b * strides[d]!, 0);
  copyBlock(size, x, base, strides, dst, 0, rowMajor(size));
  return dst;
}
