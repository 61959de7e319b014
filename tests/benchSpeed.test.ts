/**
 * The speed benchmark's pure helpers (bench/speedStats.ts, bench/pytorchRef.ts): overhead, memory, long-task and
 * target verdicts, its flags, the PyTorch reference's command line. No timing here.
 */
import { describe, expect, it } from 'vitest';
import {
  fasterBy,
  longTaskVerdict,
  loopOverhead,
  memoryVerdict,
  parseBatchFlag,
  parseSkipFlag,
  ratio,
  withinFactor,
} from '../bench/speedStats';
import { refArgs } from '../bench/pytorchRef';
import { preset } from '../src/redo/config';
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

  it('targets: "k× faster" and "within k×" from two medians, not measured when one is missing', () => {
    expect(fasterBy('t', 100, 1000, 10)).toEqual({ target: 't', measured: '10.00× (1000 / 100 ms)', met: true });
    expect(fasterBy('t', 101, 1000, 10).met).toBe(false);
    expect(fasterBy('t', undefined, 1000, 10)).toMatchObject({ measured: 'not measured', met: null });
    expect(withinFactor('t', 300, 100, 3)).toMatchObject({ measured: '3.00× (300 vs 100 ms)', met: true });
    expect(withinFactor('t', 301, 100, 3).met).toBe(false);
    expect(withinFactor('t', 301, undefined, 3).met).toBeNull();
  });

  it('flags: --batch B or PRESET=B,…; --skip PRESET:BACKEND with *', () => {
    expect(parseBatchFlag(undefined)('tiny')).toBe(0);
    expect(parseBatchFlag('4')('small-64')).toBe(4);
    const per = parseBatchFlag('c2mnist-64=2,small-64=6');
    expect([per('c2mnist-64'), per('small-64'), per('tiny')]).toEqual([2, 6, 0]);
    expect(() => parseBatchFlag('tiny=x')).toThrow(/PRESET=B/);
    const skip = parseSkipFlag('small-64:cpu,*:webgl,chromium:c2mnist-64:cpu');
    expect([
      skip('small-64', 'cpu', 'node'),
      skip('small-64', 'wasm', 'node'),
      skip('tiny', 'webgl', 'chromium'),
      skip('tiny', 'cpu', 'node'),
    ]).toEqual([true, false, true, false]);
    expect([skip('c2mnist-64', 'cpu', 'chromium'), skip('c2mnist-64', 'cpu', 'node')]).toEqual([true, false]);
    expect(() => parseSkipFlag('tiny')).toThrow(/PRESET:BACKEND/);
    expect(() => parseSkipFlag('gpu:tiny:cpu')).toThrow(/PRESET:BACKEND/);
  });

  it("the PyTorch reference gets our preset's widths, batch and one thread", () => {
    expect(refArgs(preset('tiny'), 2, 1, 5).join(' ')).toBe(
      '--size 32 --n 2 --nz 8 --nfF 8 --nfG 4 --nfD 4 --nfZ 4 --batch 2 --attention 1 --threads 1 --steps 5',
    );
    expect(() => refArgs(preset('tiny', { attentionD: false }), 2, 1, 5)).toThrow(/one --attention/);
  });
});
