/**
 * A trained ReDO mask network F in any page: `npm run build:segmenter` bundles this file (with the model's own code
 * from src/redo, TF.js left external) into dist-segmenter/redo-segmenter.js.
 *
 *   const s = await loadSegmenter('F.safetensors');   // `npm run redo -- mask-weights`, the studio's "Export segmenter"
 *   const mask = await s.segment(img);                 // { width, height, data: Float32Array, toImageData() }
 *   ctx.putImageData(await s.cutout(img), 0, 0);       // the object on transparency
 *
 * The image is read exactly as `npm run redo -- segment` reads a file (src/redo/segment.ts modelInput / maskAtSize:
 * the whole image resized to S×S, F's soft mask resized back bilinearly), so both give the same soft mask.
 * The page picks the TF.js backend (`await tf.setBackend('wasm')`); the segmenter uses whichever is active.
 */
import { parseConfig } from '../formats/runArchive';
import { decodeSafetensors } from '../formats/safetensors';
import { Segmenter as MaskNetwork } from '../redo/segment';
import { maskAtSize, modelInput } from '../datagen/segmentIO';
import type { RedoConfig } from '../redo/config';

/** A soft mask at the image's own size: `data[y * width + x]` in [0, 1], 1 where F puts the region. */
export interface SoftMask {
  width: number;
  height: number;
  data: Float32Array;
  /** The mask as a grey picture (white = the region), opaque. */
  toImageData(): ImageData;
}

export interface SegmentOptions {
  /** Which of F's regions (0 = the first, what `redo segment` writes); for 2 regions, 1 is the complement. */
  region?: number;
}

export type SegmenterImage = ImageData | HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | ImageBitmap | OffscreenCanvas;

export interface RedoSegmenter {
  /** The run's configuration (imageSize S, nRegions, …), and its step and seed when the file records them. */
  readonly config: RedoConfig;
  readonly step?: number;
  readonly seed?: number;
  segment(image: SegmenterImage, options?: SegmentOptions): Promise<SoftMask>;
  /** The image with the region's soft mask as its alpha (0 elsewhere). */
  cutout(image: SegmenterImage, options?: SegmentOptions): Promise<ImageData>;
  /** Frees F's weights. */
  dispose(): void;
}

/** F's weights from a URL or bytes: an F-only safetensors file with its config in the metadata. */
export async function loadSegmenter(source: string | URL | ArrayBuffer | Uint8Array | Blob): Promise<RedoSegmenter> {
  const bytes = await bytesOf(source);
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    throw new Error('a run archive (.zip): export F alone (the studio\'s "Export segmenter", or npm run redo -- mask-weights)');
  }
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (!metadata.config) throw new Error('this weights file records no configuration: export it with npm run redo -- mask-weights');
  const config = parseConfig(JSON.parse(metadata.config) as unknown);
  const net = new MaskNetwork(config, tensors);
  const S = config.imageSize;
  const num = (v: string | undefined) => (v !== undefined && Number.isFinite(Number(v)) ? Number(v) : undefined);

  const segment = async (image: SegmenterImage, options: SegmentOptions = {}): Promise<SoftMask> => {
    const region = options.region ?? 0;
    const { width, height, data } = await pixelsOf(image);
    const n = config.nRegions;
    if (!Number.isInteger(region) || region < 0 || region >= n) throw new RangeError(`region ${region}: this F has regions 0–${n - 1}`);
    const mask = maskAtSize(await net.regionMask(modelInput(data, width, height, 4, S), region), S, width, height);
    return { width, height, data: mask, toImageData: () => greyImage(mask, width, height) };
  };

  return {
    config,
    ...optional('step', num(metadata.step)),
    ...optional('seed', num(metadata.seed)),
    segment,
    async cutout(image, options) {
      const { data } = await pixelsOf(image);
      const m = await segment(image, options);
      const out = new ImageData(new Uint8ClampedArray(data), m.width, m.height);
      for (let q = 0; q < m.data.length; q++) out.data[4 * q + 3] = Math.round(data[4 * q + 3]! * clamp01(m.data[q]!));
      return out;
    },
    dispose: () => net.dispose(),
  };
}

const optional = <K extends string>(key: K, v: number | undefined): Partial<Record<K, number>> =>
  (v === undefined ? {} : { [key]: v }) as Partial<Record<K, number>>;

const clamp01 = (v: number): number => Math.min(Math.max(v, 0), 1);

async function bytesOf(source: string | URL | ArrayBuffer | Uint8Array | Blob): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  const res = await fetch(source);
  if (!res.ok) throw new Error(`${String(source)}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** RGBA pixels of an image at its own (natural) size, drawn unscaled through a canvas when not ImageData already. */
async function pixelsOf(image: SegmenterImage): Promise<ImageData> {
  if (image instanceof ImageData) return image;
  if ('decode' in image && !image.complete) await image.decode(); // an <img> still loading
  const [w, h] =
    'naturalWidth' in image
      ? [image.naturalWidth, image.naturalHeight]
      : 'videoWidth' in image
        ? [image.videoWidth, image.videoHeight]
        : [image.width, image.height];
  if (!w || !h) throw new Error('the image has no size yet (not loaded?)');
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas context');
  ctx.drawImage(image, 0, 0);
  return ctx.getImageData(0, 0, w, h);
}

function greyImage(mask: Float32Array, width: number, height: number): ImageData {
  const out = new ImageData(width, height);
  for (let q = 0; q < mask.length; q++) {
    const v = Math.round(255 * clamp01(mask[q]!));
    out.data.set([v, v, v, 255], 4 * q);
  }
  return out;
}
