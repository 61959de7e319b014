/**
 * Segmenting new images with a trained mask network (Segmenter): each image is decoded and centre-cropped
 * like the training images (the model's input at its size), and also at a display size (up to 512 px) for
 * the outputs; the soft masks are upsampled bilinearly to that size. Outputs are PNGs: the crop, the
 * colour-coded regions, and one cut-out per region with the soft mask as alpha.
 */
import * as tf from '../redo/tf';
import { Segmenter, type NamedTensorData, type RedoConfig } from '../redo';
import { prepareImage, DecodeRefusal } from '../data/decode';
import type { Rejected } from '../data/ingest';
import type { FileEntry, SegmentedImage } from './protocol';
import { regionColour } from '../formats/colours';

const MAX_OUT = 512;

function rgbaPng(rgba: Uint8ClampedArray<ArrayBuffer>, w: number, h: number): Promise<Blob> {
  const c = new OffscreenCanvas(w, h);
  const ctx = c.getContext('2d');
  if (!ctx) throw new Error('no 2D OffscreenCanvas in this worker');
  ctx.putImageData(new ImageData(rgba, w, h), 0, 0);
  return c.convertToBlob({ type: 'image/png' });
}

/** Bilinear upsampling of one channel plane (align-corners false, as tf.image.resizeBilinear with halfPixelCenters). */
function upsample(src: Float32Array, s: number, channel: number, channels: number, out: number): Float32Array {
  const dst = new Float32Array(out * out);
  const scale = s / out;
  for (let y = 0; y < out; y++) {
    const sy = Math.min(s - 1, Math.max(0, (y + 0.5) * scale - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(s - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < out; x++) {
      const sx = Math.min(s - 1, Math.max(0, (x + 0.5) * scale - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(s - 1, x0 + 1);
      const fx = sx - x0;
      const at = (yy: number, xx: number) => src[(yy * s + xx) * channels + channel]!;
      dst[y * out + x] = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
    }
  }
  return dst;
}

export async function segmentFiles(
  config: RedoConfig,
  weights: ReadonlyMap<string, NamedTensorData>,
  files: FileEntry[],
): Promise<{ images: SegmentedImage[]; rejected: Rejected[] }> {
  const s = config.imageSize;
  const n = config.nRegions;
  const seg = new Segmenter(config, weights);
  const images: SegmentedImage[] = [];
  const rejected: Rejected[] = [];
  try {
    for (const f of files) {
      let small: Awaited<ReturnType<typeof prepareImage>>;
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await f.file.arrayBuffer());
        small = await prepareImage(f.name, bytes, s, f.file.type);
      } catch (e) {
        rejected.push({ name: f.name, reason: e instanceof DecodeRefusal || e instanceof Error ? e.message : String(e) });
        continue;
      }
      const out = Math.max(s, Math.min(MAX_OUT, small.width, small.height));
      const big = out === s ? small : await prepareImage(f.name, bytes, out, f.file.type);
      const x = tf.tidy(() =>
        tf.tensor4d(
          Float32Array.from(small.rgb, (v) => v / 127.5 - 1),
          [1, s, s, 3],
        ),
      );
      const m = seg.segment(x);
      x.dispose();
      let masks: Float32Array;
      try {
        masks = (await m.data()) as Float32Array;
      } finally {
        m.dispose();
      }
      const planes = Array.from({ length: n }, (_, k) => upsample(masks, s, k, n, out));
      const px = out * out;
      const input = new Uint8ClampedArray(px * 4);
      const colours = new Uint8ClampedArray(px * 4);
      for (let p = 0; p < px; p++) {
        input[4 * p] = big.rgb[3 * p]!;
        input[4 * p + 1] = big.rgb[3 * p + 1]!;
        input[4 * p + 2] = big.rgb[3 * p + 2]!;
        input[4 * p + 3] = 255;
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = 0; k < n; k++) {
          const c = regionColour(k);
          const v = planes[k]![p]!;
          r += v * c[0];
          g += v * c[1];
          b += v * c[2];
        }
        colours[4 * p] = r;
        colours[4 * p + 1] = g;
        colours[4 * p + 2] = b;
        colours[4 * p + 3] = 255;
      }
      const cutouts: Blob[] = [];
      const areas: number[] = [];
      for (let k = 0; k < n; k++) {
        const cut = new Uint8ClampedArray(px * 4);
        let area = 0;
        for (let p = 0; p < px; p++) {
          cut[4 * p] = big.rgb[3 * p]!;
          cut[4 * p + 1] = big.rgb[3 * p + 1]!;
          cut[4 * p + 2] = big.rgb[3 * p + 2]!;
          const a = Math.min(1, Math.max(0, planes[k]![p]!));
          cut[4 * p + 3] = Math.round(a * 255);
          area += a;
        }
        cutouts.push(await rgbaPng(cut, out, out));
        areas.push(area / px);
      }
      images.push({
        name: f.name,
        width: out,
        height: out,
        input: await rgbaPng(input, out, out),
        mask: await rgbaPng(colours, out, out),
        cutouts,
        areas,
      });
    }
  } finally {
    seg.dispose();
  }
  return { images, rejected };
}
