/** The speed benchmark's pure helpers (bench/speedStats.ts): overhead, memory and long-task verdicts. No timing here. */
import { describe, expect, it } from 'vitest';
import { longTaskVerdict, loopOverhead, memoryVerdict, ratio } from '../bench/speedStats';
import type { MemorySample } from '../src/node/benchUtil';

const sample = (step: number, numTensors: number, gpuBytesInUse?: number, gpuBytesAllocated?: number): MemorySample => ({
  step,
  numTensors,
  numBytes: numTensors * 4,
  ...(gpuBytesInUse !== undefined ? { gpuBytesInUse } : {}),
  ...(gpuBytesAllocated !== undefined ? { gpuBytesAllocated } : {}),
});

describe('bench speed helpers', () => {
  it('overhead from the medians of the rounds', () => {
    expect(loopOverhead([100, 110, 90], [105, 120, 108])).toEqual({ bareMs: 100, studioMs: 108, pct: 8 });
    expect(loopOverhead([], [1])).toBeNull();
    expect(loopOverhead([0], [1])).toBeNull();
  });

  it('memory: flat passes, a growing tensor count or GPU bytes in use fails', () => {
    const flat = [10, 20, 30, 40].map((s) => sample(s, 500, 1000, 4000));
    expect(memoryVerdict(flat)).toMatchObject({ leak: false, reasons: [], compared: 4 });
    const tensors = [sample(10, 500), sample(20, 500), sample(30, 505)];
    expect(memoryVerdict(tensors).leak).toBe(true);
    expect(memoryVerdict(tensors).reasons[0]).toMatch(/tensor count: 500 at step 10, 505 at step 30/);
    const inUse = [sample(10, 500, 1000), sample(20, 500, 1200)];
    expect(memoryVerdict(inUse).leak).toBe(true);
  });

  it('memory: the GPU pool may warm up in the first half, not grow in the second', () => {
    const warming = [sample(10, 5, 1, 100), sample(20, 5, 1, 200), sample(30, 5, 1, 200), sample(40, 5, 1, 200)];
    const w = memoryVerdict(warming);
    expect(w.leak).toBe(false);
    expect(w.notes[0]).toMatch(/warmed up/);
    const growing = [sample(10, 5, 1, 100), sample(20, 5, 1, 100), sample(30, 5, 1, 100), sample(40, 5, 1, 300)];
    expect(memoryVerdict(growing)).toMatchObject({ leak: true, reasons: [expect.stringMatching(/allocated grew in the second half/)] });
  });

  it('memory: samples before fromStep are skipped; fewer than two compare nothing', () => {
    const s = [sample(1, 400), sample(60, 500), sample(70, 500)];
    expect(memoryVerdict(s).leak).toBe(true);
    expect(memoryVerdict(s, 50)).toMatchObject({ leak: false, compared: 2 });
    expect(memoryVerdict([sample(1, 1)]).leak).toBe(false);
  });

  it('long tasks and ratios', () => {
    expect(longTaskVerdict([])).toEqual({ count: 0, longest: 0, ok: true });
    expect(longTaskVerdict([51, 12])).toEqual({ count: 2, longest: 51, ok: false });
    expect(longTaskVerdict([50])).toMatchObject({ ok: true });
    expect(ratio(300, 100)).toBe('3.00×');
    expect(ratio(undefined, 100)).toBe('—');
    expect(ratio(1, 0)).toBe('—');
  });
});
