/** Helpers of the training-run tests: a small dataset with object masks, and waiting on a condition. */
import { Rng } from '../../src/redo/random';
import type { LoadedDataset } from '../../src/worker/session';

/** `count` random blobs of side `size` on a flat background, with their object masks (as the studio stores them). */
export function blobDataset(count: number, size: number, seed = 17): LoadedDataset {
  const rng = new Rng(seed);
  const plane = size * size;
  const pixels = new Float32Array(count * plane * 3);
  const masks = new Float32Array(count * plane);
  for (let i = 0; i < count; i++) {
    const cx = 8 + rng.int(size - 16);
    const cy = 8 + rng.int(size - 16);
    const colour = [rng.next() * 2 - 1, rng.next() * 2 - 1, rng.next() * 2 - 1];
    for (let p = 0; p < plane; p++) {
      const inside = ((p % size) - cx) ** 2 + (Math.floor(p / size) - cy) ** 2 < 36;
      masks[i * plane + p] = inside ? 1 : 0;
      for (let c = 0; c < 3; c++) pixels[(i * plane + p) * 3 + c] = inside ? colour[c]! : -0.5;
    }
  }
  return {
    summary: { id: `ds-blobs-${seed}`, name: 'blobs', size, count, hasMasks: true, createdAt: new Date(0).toISOString() },
    images: { count, size, pixels },
    names: Array.from({ length: count }, (_, i) => `blob${i}.png`),
    masks,
  };
}

/** Resolves once `cond()` holds (polled every 10 ms); rejects naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 170_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
