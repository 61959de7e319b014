/**
 * The WebAssembly SIMD kernels of src/kernels/simd/ (AssemblyScript, compiled by scripts/build-simd.ts), instantiated
 * on tfjs-backend-wasm's own memory so that they read and write its tensors in place. Apart from
 * src/kernels/wasmKernels.ts so that what only trains stays out of the segmenter's bundle: src/redo/trainer.ts calls
 * useSimdKernels(), which plugs them in: Conv2D (any output channel count; and so the input gradient, a forward
 * convolution there), Conv2DBackpropFilter and AvgPoolGrad (src/kernels/wasmTrainKernels.ts); the fused convolution's
 * relu, bias, W/σ and their gradients; relu(IN·γ+β) both ways, the power iterations, Adam's update, the upsampling
 * both ways, the bias gradient's Sum, batched matrix products, and the row copies of slices and concatenations
 * (src/kernels/wasmKernels.ts, fusedOps.ts, fusedResample.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as gen from './simd.gen';
import {
  ADAM_UPDATE,
  INSTANCE_NORM_AFFINE_RELU,
  INSTANCE_NORM_AFFINE_RELU_GRAD,
  SN_POWER_ITERATION,
  SN_POWER_ITERATIONS,
  UPSAMPLE2,
  UPSAMPLE2_GRAD,
  SOFTMAX_GRAD,
  affineRows,
} from './fusedOps';
import { adamScalars } from './fusedAdam';
import { forEachRow, mergeDims } from './strided';
import { setSimdKernels, type SimdKernels } from './wasmKernels';

interface Modules {
  conv2d(...args: number[]): void;
  flipFilter(...args: number[]): void;
  conv2dFilterGrad(...args: number[]): void;
  avgPoolGrad(...args: number[]): void;
  columnSum(...args: number[]): void;
  addBias(...args: number[]): void;
  relu(...args: number[]): void;
  reluGrad(...args: number[]): void;
  upsample2(...args: number[]): void;
  copyRows(...args: number[]): void;
  matmul(...args: number[]): void;
  snNormalize(...args: number[]): void;
  snNormalizeGrad(...args: number[]): void;
  divide(...args: number[]): void;
  matmulNarrowT(...args: number[]): void;
  matmulDot(...args: number[]): void;
  transpose2d(...args: number[]): void;
  upsample2Grad(...args: number[]): void;
  softmaxGrad(...args: number[]): void;
  inAffineRelu(...args: number[]): void;
  inAffineReluGrad(...args: number[]): void;
  adam(...args: number[]): void;
  powerIteration(...args: number[]): void;
  winograd(...args: number[]): void;
  winogradFilterGrad(...args: number[]): void;
}

const instances = new WeakMap<WebAssembly.Memory, Map<string, Modules | null>>();

function bytes(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c: string) => c.charCodeAt(0));
}

/** tfjs-backend-wasm's memory: exported by its plain build, created in JS (and shared) by its threaded one. */
function memoryOf(backend: BackendWasm): WebAssembly.Memory | undefined {
  const m = backend.wasm as unknown as { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory };
  return m.wasmMemory ?? m.asm?.memory;
}

/** Relaxed SIMD (fused multiply-add) for the convolutions: asked for (useSimdKernels), and the runtime validates it. */
let relaxedAsked = true;
let relaxedValid: boolean | undefined;

function relaxed(): boolean {
  relaxedValid ??= [gen.CONV2D_RELAXED_WASM, gen.FILTER_GRAD_RELAXED_WASM, gen.WINOGRAD_RELAXED_WASM].every((m) =>
    WebAssembly.validate(bytes(m)),
  );
  return relaxedAsked && relaxedValid;
}

/**
 * The modules on this backend's memory, or null where they cannot be had (then XNNPACK's route serves). Synchronous
 * compiles: each module is under the 4 KB that browsers compile on their main thread.
 */
function modules(backend: BackendWasm): Modules | null {
  const memory = memoryOf(backend);
  if (!memory) return null;
  const kind = relaxed() ? 'relaxed' : 'plain';
  const byKind = instances.get(memory) ?? new Map<string, Modules | null>();
  instances.set(memory, byKind);
  let mods = byKind.get(kind);
  if (mods === undefined) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const load = (plain: string, sharedMemory: string) =>
      new WebAssembly.Instance(new WebAssembly.Module(bytes(shared ? sharedMemory : plain)), { env: { memory } }).exports;
    const fma = kind === 'relaxed';
    try {
      mods = {
        ...load(fma ? gen.CONV2D_RELAXED_WASM : gen.CONV2D_WASM, fma ? gen.CONV2D_RELAXED_WASM_SHARED : gen.CONV2D_WASM_SHARED),
        ...load(
          fma ? gen.FILTER_GRAD_RELAXED_WASM : gen.FILTER_GRAD_WASM,
          fma ? gen.FILTER_GRAD_RELAXED_WASM_SHARED : gen.FILTER_GRAD_WASM_SHARED,
        ),
        ...load(gen.CHANNELS_WASM, gen.CHANNELS_WASM_SHARED),
        ...load(gen.NORM_WASM, gen.NORM_WASM_SHARED),
        ...load(gen.OPTIM_WASM, gen.OPTIM_WASM_SHARED),
        ...load(gen.MATMUL_WASM, gen.MATMUL_WASM_SHARED),
        ...load(gen.SN_WASM, gen.SN_WASM_SHARED),
        ...load(fma ? gen.WINOGRAD_RELAXED_WASM : gen.WINOGRAD_WASM, fma ? gen.WINOGRAD_RELAXED_WASM_SHARED : gen.WINOGRAD_WASM_SHARED),
        ...load(
          fma ? gen.WINOGRAD_GRAD_RELAXED_WASM : gen.WINOGRAD_GRAD_WASM,
          fma ? gen.WINOGRAD_GRAD_RELAXED_WASM_SHARED : gen.WINOGRAD_GRAD_WASM_SHARED,
        ),
      } as unknown as Modules;
    } catch {
      mods = null;
    }
    byKind.set(kind, mods);
  }
  return mods;
}

const at = (backend: BackendWasm, t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);

/** The geometry both kernels take after their pointers. */
function geometry(c: tf.backend_util.Conv2DInfo): number[] {
  return [
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.outChannels,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.padInfo.top,
    c.padInfo.left,
  ];
}

/** The geometry winograd.ts and winogradGrad.ts take after their pointers and tiles per block. */
function tileGeometry(c: tf.backend_util.Conv2DInfo): number[] {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, padInfo } = c;
  return [batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, padInfo.top, padInfo.left];
}

/** Calls served here (tests and benchmarks read them); the rest went to the kernels these stand in for. */
export const simdCalls = {
  conv2d: 0,
  filterGrad: 0,
  avgPoolGrad: 0,
  columnSum: 0,
  flipFilter: 0,
  addBias: 0,
  relu: 0,
  copyRows: 0,
  batchMatMul: 0,
  sn: 0,
  fused: 0,
  /** of conv2d and filterGrad, those by Winograd F(2×2, 3×3) */
  winograd: 0,
};

/** The modules, the call counted as served here; null where they cannot be had. */
function serve(backend: BackendWasm, kernel: keyof typeof simdCalls): Modules | null {
  const mods = modules(backend);
  if (mods) simdCalls[kernel]++;
  return mods;
}

/** f given the byte offset (and the tensor) of `floats` float32 of scratch on the heap, freed after. */
function withScratch<T>(backend: BackendWasm, floats: number, f: (scratch: number, t: tf.TensorInfo) => T): T {
  const t = backend.makeOutput([floats], 'float32');
  try {
    return f(at(backend, t), t);
  } finally {
    backend.disposeData(t.dataId);
  }
}

type Eps = { eps: number };
const even = (c: number) => c + (c % 2);

/**
 * The fused kernels of src/kernels/fusedOps.ts served here: where one applies, the float32 of scratch it needs (if
 * any), and its call on the byte offsets of [inputs…, outputs…, scratch] (shapes: the inputs').
 */
const FUSED: Record<
  string,
  {
    applies?(shapes: number[][]): boolean;
    scratch?(shapes: number[][]): number;
    run(m: Modules, p: number[], shapes: number[][], attrs: object): void;
  }
> = {
  [SN_POWER_ITERATION]: {
    scratch: ([, u]) => 2 * u![0]!, // N f64
    run: (m, p, [w, u], attrs) => m.powerIteration(...p, u![0]!, tf.util.sizeFromShape(w!) / u![0]!, (attrs as Eps).eps),
  },
  // pairs (w, u) in, pairs (u', v') out: p = [w₀, u₀, …, u₀', v₀', …, scratch]
  [SN_POWER_ITERATIONS]: {
    scratch: (shapes) => 2 * Math.max(...shapes.filter((_, i) => i % 2).map((u) => u[0]!)),
    run: (m, p, shapes, attrs) => {
      const outs = shapes.length;
      for (let i = 0; i < shapes.length; i += 2) {
        const [w, u] = [shapes[i]!, shapes[i + 1]!];
        m.powerIteration(
          p[i]!,
          p[i + 1]!,
          p[outs + i]!,
          p[outs + i + 1]!,
          p[2 * outs]!,
          u[0]!,
          tf.util.sizeFromShape(w) / u[0]!,
          (attrs as Eps).eps,
        );
      }
    },
  },
  [UPSAMPLE2]: { run: (m, p, [x]) => m.upsample2(...p, ...x!) },
  [UPSAMPLE2_GRAD]: {
    run: (m, p, [dy]) => {
      const [b, h2, w2, c] = dy!;
      m.upsample2Grad(...p, b!, h2! / 2, w2! / 2, c!);
    },
  },
  [SOFTMAX_GRAD]: {
    run: (m, p, [dy]) => {
      const n = dy!.at(-1)!;
      m.softmaxGrad(...p, tf.util.sizeFromShape(dy!) / n, n);
    },
  },
  [ADAM_UPDATE]: {
    run: (m, p, [g], attrs) => {
      const a = adamScalars(attrs as Record<string, number>);
      const flags = [a.decay ? 1 : 0, a.momentum ? 1 : 0];
      m.adam(...p, tf.util.sizeFromShape(g!), a.wd, a.b1, a.c1, a.b2, a.c2, a.rbc2, a.eps, a.rate, ...flags);
    },
  },
  // x [B, H, W, C], channels in pairs (an odd C's last alone); 8·C' f64 of scratch (C' = C rounded up to even): sums,
  // statistics, γ and β
  [INSTANCE_NORM_AFFINE_RELU]: {
    scratch: ([x]) => 16 * even(x![3]!),
    run: (m, p, [x, gamma], attrs) => {
      const [b, h, w, c] = x!;
      m.inAffineRelu(...p, b!, h! * w!, c!, affineRows(gamma!, c!), (attrs as Eps).eps);
    },
  },
  [INSTANCE_NORM_AFFINE_RELU_GRAD]: {
    scratch: ([dy]) => 16 * even(dy![3]!),
    run: (m, p, [dy, , , gamma]) => {
      const [b, h, w, c] = dy!;
      m.inAffineReluGrad(...p, b!, h! * w!, c!, affineRows(gamma!, c!));
    },
  },
};

/** Winograd F(2×2, 3×3) (simd/winograd.ts) on or off: useSimdKernels' `winograd`. */
let winogradAsked = true;

/**
 * Tiles per block for Winograd F(2×2, 3×3) where a convolution takes it, else 0 (the direct kernel): 3×3, stride 1,
 * and 16 channels or more each way (below, the transforms cost more than the 2.25× less arithmetic saves; measured in
 * docs/performance.md). A block's V[ξ] (TB·CI floats) stays in L1; no more tiles than the convolution has.
 */
function winogradTiles(c: tf.backend_util.Conv2DInfo): number {
  if (!winogradAsked || c.filterHeight !== 3 || c.filterWidth !== 3 || c.strideHeight !== 1 || c.strideWidth !== 1) return 0;
  if (c.inChannels < 16 || c.outChannels < 16) return 0;
  const tiles = c.batchSize * Math.ceil(c.outHeight / 2) * Math.ceil(c.outWidth / 2);
  const perL1 = Math.max(8, Math.floor(1024 / c.inChannels) * 4);
  return Math.min(64, perL1, Math.ceil(tiles / 4) * 4);
}

/**
 * Floats of scratch winograd.ts and winogradGrad.ts take: 16 planes of the filter's transform (or its gradient, `rows`
 * × CO), of the windows' (TB × CI4) and of the products' (TB × CO), the last two padded by a cache line each, then 80
 * i32 of window addresses.
 */
const winogradScratch = (rows: number, ci4: number, co: number, tb: number) => 16 * (rows * co + tb * (ci4 + co) + 2 * 16) + 80;

const simd: SimdKernels = {
  conv2d(backend, x, filter, c) {
    if (c.dilationHeight !== 1 || c.dilationWidth !== 1) return null;
    const mods = serve(backend, 'conv2d');
    if (!mods) return null;
    const [co, co4] = [c.outChannels, Math.ceil(c.outChannels / 4) * 4];
    const y = backend.makeOutput([c.batchSize, c.outHeight, c.outWidth, co], 'float32');
    const pixels = c.batchSize * c.outHeight * c.outWidth;
    const taps = c.filterHeight * c.filterWidth * c.inChannels;
    // what a tap in the padding reads (CI zeros), the work space (conv2d.ts's table of windows, 3·64 i32, or
    // winograd.ts's U, V, M and addresses), and where the output channels are not a multiple of 4, the filter with
    // zero channels up to one and the output before its cut
    const pad = Math.ceil(c.inChannels / 4) * 4;
    const wide = co4 === co ? 0 : taps * co4 + pixels * co4;
    const tb = winogradTiles(c);
    if (tb) simdCalls.winograd++;
    const work = tb ? winogradScratch(c.inChannels, pad, co4, tb) : 3 * 64;
    withScratch(backend, pad + work + wide, (zero, t) => {
      const scratch = backend.typedArrayFromHeap(t);
      scratch.fill(0, 0, pad);
      const s = zero + 4 * pad;
      const run = (f: number, out: number, cc: tf.backend_util.Conv2DInfo) => {
        if (tb) mods.winograd(at(backend, x), f, out, zero, s, tb, ...tileGeometry(cc));
        else mods.conv2d(at(backend, x), f, out, zero, s, ...geometry(cc));
      };
      if (!wide) return run(at(backend, filter), at(backend, y), c);
      const [w4, y4] = [s + 4 * work, s + 4 * work + 4 * taps * co4];
      scratch.fill(0, pad + work, pad + work + taps * co4);
      mods.copyRows(at(backend, filter), w4, taps, co, co, co4);
      run(w4, y4, { ...c, outChannels: co4 });
      mods.copyRows(y4, at(backend, y), pixels, co, co4, co);
    });
    return y;
  },
  filterGrad(backend, x, dy, c) {
    if (c.dilationHeight !== 1 || c.dilationWidth !== 1) return null;
    const mods = serve(backend, 'filterGrad');
    if (!mods) return null;
    const dw = backend.makeOutput([c.filterHeight, c.filterWidth, c.inChannels, c.outChannels], 'float32');
    const tb = c.outChannels % 4 === 0 ? winogradTiles(c) : 0;
    if (!tb) {
      mods.conv2dFilterGrad(at(backend, x), at(backend, dy), at(backend, dw), ...geometry(c));
      return dw;
    }
    simdCalls.winograd++;
    // CI rounded up to 4 zeros (a window's taps in the padding), then winogradGrad.ts's dU, V, P and addresses
    const [ci4, co] = [Math.ceil(c.inChannels / 4) * 4, c.outChannels];
    withScratch(backend, ci4 + winogradScratch(ci4, ci4, co, tb), (zero, t) => {
      backend.typedArrayFromHeap(t).fill(0, 0, ci4);
      mods.winogradFilterGrad(at(backend, x), at(backend, dy), at(backend, dw), zero, zero + 4 * ci4, tb, ...tileGeometry(c));
    });
    return dw;
  },
  avgPoolGrad(backend, dy, c) {
    const tiles = c.strideHeight === c.filterHeight && c.strideWidth === c.filterWidth && c.padInfo.top + c.padInfo.left === 0;
    if (!tiles || c.dilationHeight !== 1 || c.dilationWidth !== 1 || c.inChannels % 4 !== 0) return null;
    const mods = serve(backend, 'avgPoolGrad');
    if (!mods) return null;
    const dx = backend.makeOutput([c.batchSize, c.inHeight, c.inWidth, c.inChannels], 'float32');
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight: fh, filterWidth: fw } = c;
    const size = [batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, fh, fw];
    mods.avgPoolGrad(at(backend, dy), at(backend, dx), ...size, 1 / (fh * fw));
    return dx;
  },
  columnSum(backend, x) {
    const mods = serve(backend, 'columnSum');
    if (!mods) return null;
    const c = x.shape[x.shape.length - 1]!;
    const out = backend.makeOutput([c], 'float32');
    mods.columnSum(at(backend, x), at(backend, out), tf.util.sizeFromShape(x.shape) / c, c);
    return out;
  },
  flipFilter(backend, filter, out) {
    const mods = serve(backend, 'flipFilter');
    mods?.flipFilter(at(backend, filter), at(backend, out), ...filter.shape);
    return mods !== null;
  },
  addBias(backend, y, b) {
    const mods = serve(backend, 'addBias');
    const c = b.shape[0]!;
    mods?.addBias(at(backend, y), at(backend, b), tf.util.sizeFromShape(y.shape) / c, c);
    return mods !== null;
  },
  batchMatMul(backend, a, b, out, { batchA, batchB, m, k, n, transposeA, transposeB }) {
    const mods = serve(backend, 'batchMatMul');
    if (!mods) return false;
    const [pa, pb, pc] = [at(backend, a), at(backend, b), at(backend, out)];
    const batch = Math.max(batchA, batchB);
    const aOf = (i: number) => pa + 4 * (i % batchA) * m * k;
    const cOf = (i: number) => pc + 4 * i * m * n;
    // B as the kernel takes it, row-major [k, n] (`stored` false: [n, k]), transposed into scratch where it is not
    const withB = (rowMajor: boolean, f: (bOf: (i: number) => number) => void) => {
      if (rowMajor === !transposeB) return f((i) => pb + 4 * (i % batchB) * k * n);
      withScratch(backend, batchB * k * n, (bt) => {
        for (let i = 0; i < batchB; i++) {
          const [from, to] = [pb + 4 * i * k * n, bt + 4 * i * k * n];
          mods.transpose2d(from, to, transposeB ? n : k, transposeB ? k : n);
        }
        f((i) => bt + 4 * (i % batchB) * k * n);
      });
    };
    if (n >= 4) {
      const [sam, sak] = transposeA ? [1, m] : [k, 1];
      withB(true, (bOf) => {
        for (let i = 0; i < batch; i++) mods.matmul(aOf(i), bOf(i), cOf(i), m, k, n, sam, sak);
      });
    } else if (transposeA) {
      withB(true, (bOf) => {
        for (let i = 0; i < batch; i++) mods.matmulNarrowT(aOf(i), bOf(i), cOf(i), m, k, n);
      });
    } else {
      withB(false, (bOf) => {
        for (let i = 0; i < batch; i++) mods.matmulDot(aOf(i), bOf(i), cOf(i), m, k, n);
      });
    }
    return true;
  },
  snNormalize(backend, { w, u, v, wn, sigma }, n, k) {
    const mods = serve(backend, 'sn');
    mods?.snNormalize(w, u, v, wn, sigma, n, k);
    return mods !== null;
  },
  snNormalizeGrad(backend, { dy, w, u, v, sigma, dw }, n, k) {
    const mods = serve(backend, 'sn');
    mods?.snNormalizeGrad(dy, w, u, v, sigma, dw, n, k);
    return mods !== null;
  },
  divide(backend, x, out, len, d) {
    const mods = serve(backend, 'sn');
    mods?.divide(x, out, len, d);
    return mods !== null;
  },
  copyBlock(backend, shape, src, srcBase, srcStrides, dst, dstBase, dstStrides) {
    // the innermost (merged) dimension goes to copyRows as rows of the next one; the outer ones are walked here
    const m = mergeDims(shape, [srcStrides, dstStrides]);
    const r = m.shape.length;
    const [ss, ds] = m.strides as [number[], number[]];
    if (r < 2 || ss[r - 1] !== 1 || ds[r - 1] !== 1 || tf.util.bytesPerElement(src.dtype) !== 4 || shape.includes(0)) return false;
    const mods = serve(backend, 'copyRows');
    if (!mods) return false;
    const [ps, pd] = [at(backend, src) + 4 * srcBase, at(backend, dst) + 4 * dstBase];
    const [n, rows] = [m.shape[r - 1]!, m.shape[r - 2]!];
    const outer = [...m.shape.slice(0, r - 2), 1];
    forEachRow(
      outer,
      [
        [...ss.slice(0, r - 2), 0],
        [...ds.slice(0, r - 2), 0],
      ],
      (_, [s, d]) => {
        mods.copyRows(ps + 4 * s!, pd + 4 * d!, rows, n, ss[r - 2]!, ds[r - 2]!);
      },
    );
    return true;
  },
  relu(backend, x, out) {
    const mods = serve(backend, 'relu');
    mods?.relu(at(backend, x), at(backend, out), tf.util.sizeFromShape(x.shape));
    return mods !== null;
  },
  reluGrad(backend, x, dx) {
    const mods = serve(backend, 'relu');
    mods?.reluGrad(at(backend, x), at(backend, dx), tf.util.sizeFromShape(x.shape));
    return mods !== null;
  },
  fused(name, backend, ins, outs, shapes, attrs) {
    const k = FUSED[name];
    if (!k || (k.applies && !k.applies(shapes))) return false;
    const mods = serve(backend, 'fused');
    if (!mods) return false;
    const p = [...ins, ...outs].map((t) => at(backend, t));
    if (k.scratch) withScratch(backend, k.scratch(shapes), (scratch) => k.run(mods, [...p, scratch], shapes, attrs));
    else k.run(mods, p, shapes, attrs);
    return true;
  },
};

/**
 * Plugs (on) or unplugs the SIMD kernels into the wasm backend's kernels listed at the top of this file.
 * - `relaxed` (default true): the convolutions with fused multiply-adds where the runtime has relaxed SIMD (Chromium;
 *   Node 20 only behind --experimental-wasm-relaxed-simd): faster, rounded once per madd, so no longer XNNPACK's values
 *   bit for bit.
 * - `winograd` (default true): 3×3 stride-1 convolutions with 16 channels or more each way, forward and filter
 *   gradient, by Winograd F(2×2, 3×3): 1.4× faster steps at objects-32, within a few 1e-6 of the direct kernel's values.
 */
export function useSimdKernels(on = true, { relaxed: fma = true, winograd = true }: { relaxed?: boolean; winograd?: boolean } = {}): void {
  relaxedAsked = fma;
  winogradAsked = winograd;
  setSimdKernels(on ? simd : undefined);
}

/** What the convolutions run with now: fused multiply-adds (relaxed SIMD) or a multiply and an add. */
export const simdConvArithmetic = (): 'relaxed madd' | 'mul+add' => (relaxed() ? 'relaxed madd' : 'mul+add');
