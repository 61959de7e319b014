/**
 * Any image in, F's input out, and F's mask back at the image's own size: the whole image resized to S×S (no crop,
 * so every pixel gets a label) with the objects data set's resampler (./objectsOnPhotos.ts resampleWindow).
 * Shared by `npm run redo -- segment` (src/node/segmentFolder.ts) and the page segmenter (src/segmenter).
 */
import { resampleWindow } from './objectsOnPhotos';

/**
 * One image's interleaved pixels (`channels` per pixel, 0–255: grey uses its one channel for r, g and b, alpha is
 * ignored) → F's input [S, S, 3] in [-1, 1]: the whole image resized to S×S (antialiased bilinear, no crop, so
 * every pixel gets a label). What `npm run redo -- segment` and the page segmenter (src/segmenter) both feed F.
 */
export function modelInput(pixels: ArrayLike<number>, width: number, height: number, channels: number, S: number): Float32Array {
  const rgb = new Float32Array(width * height * 3);
  for (let q = 0; q < width * height; q++) {
    for (let c = 0; c < 3; c++) rgb[3 * q + c] = pixels[q * channels + (channels >= 3 ? c : 0)]!;
  }
  const small = resampleWindow(rgb, width, height, 3, { x0: 0, y0: 0, w: width, h: height }, S, S);
  for (let q = 0; q < small.length; q++) small[q] = small[q]! / 127.5 - 1;
  return small;
}

/** A soft S×S mask resized back (bilinearly) to the image's width × height. */
export function maskAtSize(mask: Float32Array, S: number, width: number, height: number): Float32Array {
  return resampleWindow(mask, S, S, 1, { x0: 0, y0: 0, w: S, h: S }, width, height);
}
