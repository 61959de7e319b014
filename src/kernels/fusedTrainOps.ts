/**
 * The fused kernels that only training runs (spectral norm's power iterations and W/σ's gradient, the instance norms'
 * and the linear map's gradients, and Z_AFFINES, the generator's conditional γ and β of z, both ways) as JavaScript
 * computes for wasm: apart from src/kernels/fusedOps.ts so that the segmenter (src/segmenter, 50 KB budget) bundles
 * only the forward kernels. src/kernels/fusedGrads.ts imports this module, so wherever the fused ops have gradients,
 * their gradient kernels are registered (wasm; toggled with FUSED). Where the SIMD kernels are plugged
 * (src/kernels/simdKernels.ts) they run instead of these, by kernel name.
 */
import * as tf from '@tensorflow/tfjs';
import {
  INSTANCE_NORM_AFFINE_RELU_GRAD,
  INSTANCE_NORM_GRAD,
  LINEAR_GRAD,
  Z_AFFINES,
  Z_AFFINES_GRAD,
  SN_NORMALIZE_GRAD,
  SN_POWER_ITERATION,
  SN_POWER_ITERATIONS,
  SOFTMAX_GRAD,
  affineGradShapes,
  affineRow,
  affineRows,
  linear,
  type Compute,
  type FusedKernel,
} from './fusedOps';
import { addWasmFusedKernels } from './wasmKernels';

const l2 = (x: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
};

/** w as the matrix wm [K, N] (N = last dimension: torch's W is wmᵀ); u [N] → v = n(wm·u) [K], u' = n(wmᵀ·v) [N]. */
const powerIteration: Compute = ([w, u], [uOut, vOut], shapes, { eps }) => {
  const n = u!.length;
  const k = w!.length / n;
  const v = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (let o = 0, r = i * n; o < n; o++) s += w![r + o]! * u![o]!;
    v[i] = s;
  }
  const vf = Float32Array.from(v);
  const vn = Math.max(l2(vf), eps!);
  for (let i = 0; i < k; i++) vOut![i] = vf[i]! / vn;
  const uu = new Float64Array(n);
  for (let i = 0; i < k; i++) {
    const vi = vOut![i]!;
    for (let o = 0, r = i * n; o < n; o++) uu[o]! += w![r + o]! * vi;
  }
  const uf = Float32Array.from(uu);
  const un = Math.max(l2(uf), eps!);
  for (let o = 0; o < n; o++) uOut![o] = uf[o]! / un;
  void shapes;
};

/** d(w/σ)/dw with u, v constant: dy/σ − (Σ dy⊙w)/σ² · v uᵀ. */
export const normalizeGrad: Compute = ([dy, w, u, v, sigma], [dw]) => {
  const n = u!.length;
  const k = v!.length;
  const sg = sigma![0]!;
  let s = 0;
  for (let i = 0; i < w!.length; i++) s += dy![i]! * w![i]!;
  const c = s / (sg * sg);
  for (let i = 0; i < k; i++) {
    const cv = c * v![i]!;
    for (let o = 0, p = i * n; o < n; o++) dw![p + o] = dy![p + o]! / sg - cv * u![o]!;
  }
};

/** dx = rstd·(dy − mean(dy) − ŷ·mean(dy⊙ŷ)) per image and channel, ŷ the normalised output. */
const instanceNormGrad: Compute = ([dy, y, rstd], [dx], shapes) => {
  const [b, h, w, c] = shapes[0]!;
  const hw = h! * w!;
  const sdy = new Float64Array(c!);
  const sdyy = new Float64Array(c!);
  for (let bi = 0; bi < b!; bi++) {
    const base = bi * hw * c!;
    sdy.fill(0);
    sdyy.fill(0);
    for (let p = 0, q = base; p < hw; p++) {
      for (let ch = 0; ch < c!; ch++, q++) {
        sdy[ch]! += dy![q]!;
        sdyy[ch]! += dy![q]! * y![q]!;
      }
    }
    for (let ch = 0; ch < c!; ch++) {
      sdy[ch] = sdy[ch]! / hw;
      sdyy[ch] = sdyy[ch]! / hw;
    }
    for (let p = 0, q = base; p < hw; p++) {
      for (let ch = 0; ch < c!; ch++, q++) dx![q] = rstd![bi * c! + ch]! * (dy![q]! - sdy[ch]! - y![q]! * sdyy[ch]!);
    }
  }
};

/**
 * The gradient of relu(ŷ·γ + β) as the composed ops take it: g' = dy where ŷ·γ + β > 0 (else 0); dβ = Σ g',
 * dγ = Σ g'·ŷ per image and channel ([B, C] each, sums in double); dx = instanceNormGrad of float32 g'·γ (so dx is the
 * composed one's bit for bit).
 */
const instanceNormAffineReluGrad: Compute = ([dy, x, stats, gamma, beta], [dx, dgamma, dbeta], shapes) => {
  const [b, h, w, c] = shapes[0]!;
  const rows = affineRows(shapes[3]!, c!);
  const hw = h! * w!;
  const f = Math.fround;
  const yh = new Float32Array(hw * c!);
  const d = new Float32Array(hw * c!);
  const sdy = new Float64Array(c!);
  const sdyy = new Float64Array(c!);
  const sg = new Float64Array(c!);
  const sgy = new Float64Array(c!);
  for (let bi = 0; bi < b!; bi++) {
    const at = bi * c!;
    const row = affineRow(rows, bi, c!);
    [sdy, sdyy, sg, sgy].forEach((s) => s.fill(0));
    for (let p = 0, i = 0, q = bi * hw * c!; p < hw; p++) {
      for (let ch = 0; ch < c!; ch++, i++, q++) {
        const m = stats![(at + ch) * 2]!;
        const r = stats![(at + ch) * 2 + 1]!;
        const yv = f((x![q]! - m) * r);
        const ga = gamma![row + ch]!;
        const gp = f(f(yv * ga) + beta![row + ch]!) > 0 ? dy![q]! : 0;
        const dv = f(gp * ga);
        yh[i] = yv;
        d[i] = dv;
        sg[ch]! += gp;
        sgy[ch]! += gp * yv;
        sdy[ch]! += dv;
        sdyy[ch]! += dv * yv;
      }
    }
    for (let ch = 0; ch < c!; ch++) {
      dbeta![at + ch] = sg[ch]!;
      dgamma![at + ch] = sgy[ch]!;
      sdy[ch] = sdy[ch]! / hw;
      sdyy[ch] = sdyy[ch]! / hw;
    }
    for (let p = 0, i = 0, q = bi * hw * c!; p < hw; p++) {
      for (let ch = 0; ch < c!; ch++, i++, q++) {
        dx![q] = stats![(at + ch) * 2 + 1]! * (d[i]! - sdy[ch]! - yh[i]! * sdyy[ch]!);
      }
    }
  }
};

/** dz = dy·Wᵀ, dW = zᵀ·dy, db = Σ_B dy (dy read as [B, N] whatever its shape), sums in double. */
/** dW += zᵀ·dy and db += Σ_B dy (in double) for z [B, K], dy [B, N]; with w, dz = dy·Wᵀ. */
function linearGradInto(
  dy: Float32Array,
  z: Float32Array,
  bs: number,
  k: number,
  n: number,
  gw: Float64Array,
  gb: Float64Array,
  w?: Float32Array,
  dz?: Float32Array,
): void {
  for (let r = 0; r < bs; r++) {
    const d = dy.subarray(r * n, (r + 1) * n);
    for (let o = 0; o < n; o++) gb[o]! += d[o]!;
    for (let i = 0; i < k; i++) {
      const zi = z[r * k + i]!;
      let s = 0;
      for (let o = 0, p = i * n; o < n; o++, p++) {
        if (w) s += d[o]! * w[p]!;
        gw[p]! += zi * d[o]!;
      }
      if (dz) dz[r * k + i] = s;
    }
  }
}

/** dz = dy·Wᵀ, dW = zᵀ·dy, db = Σ_B dy (dy read as [B, N] whatever its shape), sums in double. */
const linearGrad: Compute = ([dy, z, w], [dz, dw, db], shapes) => {
  const [bs, k] = shapes[1]!;
  const n = shapes[2]![1]!;
  const [gw, gb] = [new Float64Array(k! * n), new Float64Array(n)];
  linearGradInto(dy!, z!, bs!, k!, n, gw, gb, w, dz);
  dw!.set(gw);
  db!.set(gb);
};

/** SOFTMAX_GRAD: dx = dy⊙y − (Σ dy⊙y)·y along the innermost axis, rounded as TF.js's composed softmax gradient. */
const softmaxGrad: Compute = ([dy, y], [dx], shapes) => {
  const f = Math.fround;
  const n = shapes[0]!.at(-1)!;
  for (let r = 0; r < dy!.length; r += n) {
    let s = 0;
    for (let i = r; i < r + n; i++) s = f(s + f(dy![i]! * y![i]!));
    for (let i = r; i < r + n; i++) dx![i] = f(f(dy![i]! * y![i]!) - f(s * y![i]!));
  }
};

/** Z_AFFINES: each output LINEAR's z·Wᵢ + bᵢ; inputs [z, W₀, b₀, …]. */
const zAffines: Compute = ([z, ...wb], ys, shapes) => {
  for (let i = 0; i < ys.length; i++) linear([z!, wb[2 * i]!, wb[2 * i + 1]!], [ys[i]!], [shapes[0]!, shapes[2 * i + 1]!], {});
};

/** Z_AFFINES_GRAD: inputs [z, dy₀, dy₁, …], outputs [dW₀, db₀, dW₁, db₁, …], as linearGrad's. */
const zAffinesGrad: Compute = ([z, ...dys], outs, shapes) => {
  const [bs, k] = shapes[0]!;
  dys.forEach((dy, i) => {
    const n = shapes[i + 1]!.at(-1)!;
    const [gw, gb] = [new Float64Array(k! * n), new Float64Array(n)];
    linearGradInto(dy, z!, bs!, k!, n, gw, gb);
    outs[2 * i]!.set(gw);
    outs[2 * i + 1]!.set(gb);
  });
};

const TRAIN_KERNELS: FusedKernel[] = [
  {
    name: SN_POWER_ITERATION,
    inputs: ['w', 'u'],
    outShapes: ([w, u]) => [u!, [tf.util.sizeFromShape(w!) / u![0]!]],
    compute: powerIteration,
  },
  {
    name: SN_POWER_ITERATIONS,
    outShapes: (shapes) => shapes.flatMap((s, i) => (i % 2 ? [s, [tf.util.sizeFromShape(shapes[i - 1]!) / s[0]!]] : [])),
    compute: (ins, outs, shapes, attrs) => {
      for (let i = 0; i < ins.length; i += 2) powerIteration(ins.slice(i, i + 2), outs.slice(i, i + 2), shapes.slice(i, i + 2), attrs);
    },
  },
  { name: SN_NORMALIZE_GRAD, inputs: ['dy', 'w', 'u', 'v', 'sigma'], outShapes: ([dy]) => [dy!], compute: normalizeGrad },
  { name: INSTANCE_NORM_GRAD, inputs: ['dy', 'y', 'rstd'], outShapes: ([dy]) => [dy!], compute: instanceNormGrad },
  {
    name: INSTANCE_NORM_AFFINE_RELU_GRAD,
    inputs: ['dy', 'x', 'stats', 'gamma', 'beta'],
    outShapes: ([dy, , , gamma]) => [dy!, ...affineGradShapes(dy!, gamma!)],
    compute: instanceNormAffineReluGrad,
  },
  {
    name: Z_AFFINES,
    outShapes: ([z, ...wb]) => wb.filter((_, i) => i % 2 === 1).map((b) => [z![0]!, 1, 1, b[0]!]),
    compute: zAffines,
  },
  {
    name: Z_AFFINES_GRAD,
    outShapes: ([z, ...dys]) => dys.flatMap((d) => [[z![1]!, d.at(-1)!], [d.at(-1)!]]),
    compute: zAffinesGrad,
  },
  { name: SOFTMAX_GRAD, inputs: ['dy', 'y'], outShapes: ([dy]) => [dy!], compute: softmaxGrad },
  { name: LINEAR_GRAD, inputs: ['dy', 'z', 'w'], outShapes: ([, z, w]) => [z!, w!, [w![1]!]], compute: linearGrad },
];

addWasmFusedKernels(TRAIN_KERNELS);

tf.registerGradient({
  kernelName: Z_AFFINES,
  inputsToSave: ['0'],
  // no entry for z ('0'): the tape throws if z ever needs a gradient
  gradFunc: (dys, [z], attrs) => {
    const { sizes } = attrs as unknown as { sizes: number[] };
    const dy = (Array.isArray(dys) ? (dys as Array<tf.Tensor | null>) : [dys]).map((d, i) => d ?? tf.zeros([z!.shape[0], 1, 1, sizes[i]!]));
    const g = tf.engine().runKernel(Z_AFFINES_GRAD, [z!, ...dy] as unknown as tf.NamedTensorMap, {}) as unknown as tf.Tensor[];
    return Object.fromEntries(g.map((t, i) => [String(i + 1), () => t]));
  },
});
