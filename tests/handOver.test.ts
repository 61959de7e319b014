/**
 * Files handed to the worker a slice at a time (src/ui/handOver.ts): with a fake clock on which posting a file
 * costs 2 ms (Chromium's per-File snapshot on a busy machine), 10,000 files go one per message, in order,
 * masks after images, no slice runs past its 8 ms budget by more than one part, and progress comes after every slice.
 */
import { describe, expect, it } from 'vitest';
import { handOverFiles } from '../src/ui/handOver';
import type { FileEntry, ToWorker } from '../src/worker/protocol';

const entries = (n: number, prefix: string): FileEntry[] =>
  Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}.png`, file: new Blob([]) }));

describe('handing files to the worker', () => {
  it('10,000 files: small parts, in order, slices within budget, progress per slice', async () => {
    let now = 0;
    const posts: Array<Extract<ToWorker, { type: 'ingest-part' }>> = [];
    const slices: number[] = [];
    let sliceStart = 0;
    const progress: number[] = [];
    const files = entries(10_000, 'img');
    const masks = entries(13, 'mask');
    await handOverFiles({
      id: 'h1',
      files,
      masks,
      post: (m) => {
        posts.push(m);
        now += 2 * (m.files.length + m.masks.length); // what posting costs the main thread
      },
      onProgress: (done) => progress.push(done),
      now: () => now,
      yieldNow: async () => {
        slices.push(now - sliceStart);
        sliceStart = now;
      },
    });
    slices.push(now - sliceStart);
    expect(posts.every((p) => p.handOver === 'h1' && p.files.length + p.masks.length === 1)).toBe(true);
    expect(posts.flatMap((p) => p.files.map((f) => f.name))).toEqual(files.map((f) => f.name));
    expect(posts.flatMap((p) => p.masks.map((f) => f.name))).toEqual(masks.map((f) => f.name));
    expect(Math.max(...slices)).toBeLessThanOrEqual(8 + 2); // the budget, plus the part that crossed it
    expect(slices.length).toBeGreaterThan(1000);
    expect(progress.at(-1)).toBe(10_013);
    expect(progress.length).toBe(slices.length - 1); // the first yield comes before any file
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });
});
