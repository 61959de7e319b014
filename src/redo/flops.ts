/**
 * Arithmetic of one ReDO run, in multiply-accumulates (MAC; 1 MAC = 2 FLOP), from the configuration alone:
 * forward MACs per image of each network, and the FLOPs of one reference training iteration. Used to turn a
 * measured ms per step into effective TFLOP/s (scripts/bench-speed.ts, the GPU kit).
 *
 * Counted: every convolution (output elements × input channels × kernel area), every dense layer, and the two
 * matrix products of each self-attention block. Not counted: normalisation, activations, pooling, resampling,
 * the spectral-norm power iteration — elementwise work, under 1 % of the total at every preset.
 * `convLinear` alone is what the issue's anchors count (paper-128, forward GMAC per image: F 0.49, G 4.62 for
 * two regions, D 4.61, δ 4.59); with the attention products the same layers give exactly what forward hooks
 * on the authors' PyTorch modules count (tests/flops.test.ts, tests/helpers/ref_macs.py).
 *
 * Layer by layer this follows src/redo/maskNet.ts, generator.ts and discriminator.ts (the reference's
 * networks, and their 32/64 px forms: config.ts generatorWidths / discriminatorWidths).
 */
import { discriminatorWidths, generatorWidths, type RedoConfig } from './config';

/** MACs of one network's forward pass for ONE image. */
export interface NetworkMacs {
  convLinear: number;
  attention: number;
  total: number;
}

/** Forward MACs per image: F (mask network), G (all n region generators together), D (one image), Z (δ). */
export type ForwardMacs = Record<'F' | 'G' | 'D' | 'Z', NetworkMacs>;

const macs = (convLinear: number, attention = 0): NetworkMacs => ({ convLinear, attention, total: convLinear + attention });

/** A conv of k×k with `cin` → `cout` channels producing an h×w map (bias-free count: bias adds are not MACs). */
const conv = (hw: number, cin: number, cout: number, k = 1) => hw * cin * cout * k * k;

/**
 * SAGAN self-attention on a C-channel s×s map, as the reference builds it: 1×1 convs f, g (C → max(C/8, 1)),
 * h (C → C/2), o (C/2 → C); keys and values max-pooled 2×2; scores [HW/4 × HW] and values [C/2 × HW/4] · scores.
 */
function selfAttention(C: number, s: number): { convs: number; products: number } {
  const hw = s * s;
  const nh = Math.max(Math.floor(C / 8), 1);
  const half = Math.floor(C / 2);
  return {
    convs: 2 * conv(hw, C, nh) + conv(hw, C, half) + conv(hw, half, C),
    products: (hw / 4) * hw * nh + half * hw * (hw / 4),
  };
}

/** F: down-convolutions, residual blocks at S/4, pyramid pooling, up-convolutions (src/redo/maskNet.ts). */
function maskNetMacs(c: RedoConfig): NetworkMacs {
  const S = c.imageSize;
  const nf = c.nfF;
  const q = S / 4;
  let n = conv(S * S, 3, nf / 4, 7) + conv((S / 2) ** 2, nf / 4, nf / 2, 3) + conv(q * q, nf / 2, nf, 3);
  n += 3 * 2 * conv(q * q, nf, nf, 3); // 3 residual blocks of two 3×3 convs
  for (const g of [1, 2, 3, 6]) {
    const k = Math.floor(q / g); // the reference's AvgPool2d(sizex // g) on the S/4 map
    const side = Math.floor(q / k);
    n += conv(side * side, nf, 1);
  }
  const w = nf + 4;
  const c1 = Math.floor(w / 2);
  const c2 = Math.floor(w / 4);
  const nOut = c.nRegions === 2 ? 1 : c.nRegions;
  n += conv((S / 2) ** 2, w, c1, 3) + conv(S * S, c1, c2, 3) + conv(S * S, c2, nOut, 7);
  return macs(n);
}

/** One region generator G_k (src/redo/generator.ts); G is n of them. */
function generatorMacs(c: RedoConfig): NetworkMacs {
  const w = generatorWidths(c);
  const nz = c.nz;
  const blocks = w.length - 1;
  let n = nz * 16 * w[0]!; // dense z → 4×4×w0
  let att = 0;
  for (let k = 0; k < blocks; k++) {
    const prev = w[k]!;
    const next = w[k + 1]!;
    const r = 4 * 2 ** k; // input side; the block doubles it
    if (k === blocks - 1 && c.attentionG) {
      const a = selfAttention(prev, r);
      n += a.convs;
      att += a.products;
    }
    n += 2 * nz * prev + 2 * nz * next; // CIN γ, β of both norms (1×1 convs on z)
    n += conv((2 * r) ** 2, prev + 1, next, 3) + conv((2 * r) ** 2, next, next, 3) + conv((2 * r) ** 2, prev, next);
  }
  const S = c.imageSize;
  const last = w[blocks]!;
  n += 2 * nz * last + conv(S * S, last + 1, 3, 3); // output CIN and the 3×3 conv to RGB (mask concatenated)
  return macs(n, att);
}

/** D (attention after the first block, one output) or δ (no attention, nz·n outputs): src/redo/discriminator.ts. */
function encoderMacs(S: number, nf: number, attention: boolean, outputs: number): NetworkMacs {
  const w = discriminatorWidths(nf, S);
  let n = conv(S * S, 3, nf, 3) + conv(S * S, nf, nf, 3) + conv((S / 2) ** 2, 3, nf);
  let att = 0;
  if (attention) {
    const a = selfAttention(nf, S / 2);
    n += a.convs;
    att += a.products;
  }
  for (let i = 0; i + 1 < w.length; i++) {
    const s = S / 2 ** (i + 1);
    n += conv(s * s, w[i]!, w[i + 1]!, 3) + conv(s * s, w[i + 1]!, w[i + 1]!, 3) + conv((s / 2) ** 2, w[i]!, w[i + 1]!);
  }
  const last = w[w.length - 1]!;
  n += 2 * conv(16, last, last, 3) + last * outputs; // the last block at 4×4, then the dense layer
  return macs(n, att);
}

export function forwardMacs(c: RedoConfig): ForwardMacs {
  const g = generatorMacs(c);
  return {
    F: maskNetMacs(c),
    G: macs(c.nRegions * g.convLinear, c.nRegions * g.attention),
    D: encoderMacs(c.imageSize, c.nfD, c.attentionD, 1),
    Z: encoderMacs(c.imageSize, c.nfZ, false, c.nz * c.nRegions),
  };
}

/**
 * FLOPs of one reference training iteration at `batch` images (the config's batch by default), counted as
 * 2 × MACs, with a backward pass of 2× the forward for a network whose weights that pass trains (input and
 * weight gradients) and 1× for one the gradient only flows through (input gradients):
 * - G/F/δ step: F, G, δ forward + backward (3×); D on the n composites forward + input gradients (2×);
 * - D step: F and G forward without gradient (1×); D on the real batch and on the n composites, 3×.
 * Per image: 3F + 3G + 2nD + 3Z + F + G + 3(1 + n)D. At paper-128 and batch 20 this is ≈ 3.8 TFLOP with the
 * issue's anchors (3.77 TFLOP for convLinear, 3.91 with the attention products).
 */
export function iterationFlops(c: RedoConfig, batch = c.batchSize, part: keyof NetworkMacs = 'total'): number {
  const m = forwardMacs(c);
  const n = c.nRegions;
  const perImage = 4 * m.F[part] + 4 * m.G[part] + (2 * n + 3 * (1 + n)) * m.D[part] + 3 * m.Z[part];
  return 2 * perImage * batch;
}
