/**
 * The speed benchmark's pure helpers (bench/speedStats.ts, bench/pytorchRef.ts): overhead, memory, long-task and
 * target verdicts (issues 11 and 20), its flags, the PyTorch reference's command line; and the SIMD peak kernels
 * (bench/simdPeak.ts), compiled from their .wat and run very briefly.
 */
import { describe, expect, it } from 'vitest';
import {
  atBatch,
  atMost,
  fasterBy,
  gflops,
  issue20Targets,
  percentOf,
  shareOfPeak,
  longTaskVerdict,
  loopOverhead,
  memoryVerdict,
  parseBatchFlag,
  parseSkipFlag,
  ratio,
  withinFactor,
} from '../bench/speedStats';
import { refArgs, startPytorchSteps } from '../bench/pytorchRef';
import { betterPeak, measureSimdPeak, peakBinary, peakKernel } from '../bench/simdPeak';
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

  it('GFLOP/s, share of the peak, counts at most, batch-bound targets', () => {
    expect(gflops(2e9, 100)).toBe(20);
    expect(gflops(2e9, undefined)).toBeUndefined();
    expect(percentOf(30, 40)).toBe(75);
    expect(percentOf(30, 0)).toBeUndefined();
    expect(shareOfPeak('t', 2.4e9, 100, 40, 60)).toEqual({ target: 't', measured: '24.0 GFLOP/s = 60 % of 40.0', met: true });
    expect(shareOfPeak('t', 2.3e9, 100, 40, 60).met).toBe(false);
    expect(shareOfPeak('t', 2.4e9, 100, undefined, 60)).toMatchObject({ measured: 'not measured', met: null });
    expect(atMost('t', 1500, 1500, 'kernels')).toEqual({ target: 't', measured: '1500 kernels', met: true });
    expect(atMost('t', 1501, 1500, 'kernels').met).toBe(false);
    expect(atMost('t', undefined, 1500, 'kernels').met).toBeNull();
    const row = { target: 't', measured: '1.00×', met: true };
    expect(atBatch(row, 16, 16)).toBe(row);
    expect(atBatch(row, 4, 16)).toEqual({ target: 't', measured: "1.00× at batch 4, not the target's 16", met: null });
  });

  it('issue 20: met / missed / not measured from the numbers of a run', () => {
    const flat = { target: 'tensor count and bytes flat over 200 wasm steps (Node)', measured: 'tensors 5 → 5', met: true };
    const rows = issue20Targets({
      nodeWasm: {
        'objects-32': { batch: 16, ms: 1000, flops: 30e9, kernels: 2000 },
        'c2mnist-64': { batch: 2, ms: 1300, flops: 9e9 },
        tiny: { batch: 2, ms: 150, flops: 1e9, kernels: 1400 },
      },
      pytorch: { 'objects-32': { batch: 16, ms: 700 }, 'c2mnist-64': { batch: 2, ms: 1000 }, tiny: { batch: 2, ms: 100 } },
      chromium1t: { tiny: { batch: 2, ms: 160 }, 'c2mnist-64': { batch: 2, ms: 1500 } },
      peakGflops: 45,
      memory: [flat],
    });
    const verdicts = rows.map((r) => [r.target.split(':').pop()!.trim(), r.met]);
    expect(verdicts).toEqual([
      ['objects-32, batch 16', true], // 1000 / 700 = 1.43 ≤ 1.6
      ['c2mnist-64, batch 2', false], // 1.30 > 1.2
      ['tiny, batch 2', true], // 1.50 ≤ 1.5
      ['objects-32, batch 16', true], // 30 GFLOP/s = 67 % of 45
      ['tiny, batch 2', true], // 1400 ≤ 1500
      ['tiny, batch 2', true], // 160 / 150 = 1.07
      ['c2mnist-64, batch 2', false], // 1500 / 1300 = 1.15
      ['tensor count and bytes flat over 200 wasm steps (Node)', true],
    ]);
    expect(rows[0]!.target).toMatch(/^Node wasm ÷ PyTorch per iteration ≤ 1.6×/);
    expect(rows[3]!.measured).toBe('30.0 GFLOP/s = 67 % of 45.0');
    expect(rows[4]!.measured).toBe('1400 kernels');
    expect(rows[6]!.measured).toBe('1.15× (1500 vs 1300 ms)');
  });

  it('issue 20: a preset not run, another batch, no peak, no memory run: not measured', () => {
    const rows = issue20Targets({
      nodeWasm: { tiny: { batch: 4, ms: 300, flops: 2e9, kernels: 1400 } },
      pytorch: { tiny: { batch: 4, ms: 100 } },
      chromium1t: {},
      memory: [],
    });
    expect(rows.map((r) => r.met)).toEqual([null, null, null, null, null, null, null]);
    expect(rows[2]!.measured).toBe("3.00× (300 vs 100 ms) at batch 4, not the target's 2");
    expect(rows[3]!.measured).toBe('not measured'); // objects-32 not run, and no peak
    expect(rows.slice(5).map((r) => r.target)).toEqual([
      'Chromium wasm-1t within 10 % of Node wasm',
      'tensor count and bytes flat over 200 wasm steps',
    ]);
  });

  it('the SIMD peak kernels compile from their .wat; mul+add runs, converges and gives a positive GFLOP/s', async () => {
    const bytes = await peakBinary('mul+add');
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x00, 0x61, 0x73, 0x6d]); // "\0asm"
    expect(WebAssembly.validate(bytes)).toBe(true);
    const k = (await peakKernel('mul+add'))!;
    expect(k.flopsPerIteration).toBe(12 * 4 * 4 * 2); // chains × unrolled × lanes × (mul + add)
    // every lane of the 12 chains converges to a / (1 − m) = 1 (m = a = 0.5): the sum of 48 lanes
    expect(k.run(100, 0.5, 0.5)).toBe(48);
    // one iteration = 4 unrolled steps from x_i = i: x_i / 16 + 15 / 16 on each of 4 lanes
    expect(k.run(1, 0.5, 0.5)).toBe(4 * (66 / 16 + (12 * 15) / 16));
    const p = await measureSimdPeak('mul+add', { iterations: 2000, runs: 2, warmup: 1 });
    expect(p).toMatchObject({ kind: 'mul+add', iterations: 2000, runs: 2, result: 48 });
    expect('gflops' in p && p.gflops > 0 && Number.isFinite(p.gflops)).toBe(true);
  });

  it('the peak kept over several measurements: the best, a failed one gives way', () => {
    const m = (gflops: number) => ({ kind: 'mul+add' as const, gflops, bestMs: 1, iterations: 10, runs: 7, result: 48 });
    const failed = { kind: 'mul+add' as const, error: 'x' };
    expect(betterPeak(m(40), m(45))).toMatchObject({ gflops: 45, runs: 14 });
    expect(betterPeak(m(45), m(40))).toMatchObject({ gflops: 45, runs: 14 });
    expect(betterPeak(undefined, m(40))).toMatchObject({ gflops: 40, runs: 7 });
    expect(betterPeak(failed, m(40))).toMatchObject({ gflops: 40 });
    expect(betterPeak(m(40), failed)).toMatchObject({ gflops: 40 });
    expect(betterPeak(undefined, failed)).toBe(failed);
  });

  it('relaxed madd: compiled by wabt; measured where the runtime validates relaxed SIMD, else why not', async () => {
    const bytes = await peakBinary('relaxed madd');
    const p = await measureSimdPeak('relaxed madd', { iterations: 2000, runs: 1, warmup: 1 });
    if (WebAssembly.validate(bytes)) expect(p).toMatchObject({ kind: 'relaxed madd', result: 48 });
    else expect(p).toEqual({ kind: 'relaxed madd', error: expect.stringMatching(/^WebAssembly.validate rejects it \(Node /) });
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

  it('the interleaved reference says why where it cannot start, so the benchmark times PyTorch on its own', async () => {
    const s = await startPytorchSteps(preset('tiny'), 2, { refDir: '/nonexistent/reference' });
    expect('error' in s && s.error).toMatch(/ref_step_time\.py not found/);
    expect(s.command).toContain('bench/ref_step_server.py /nonexistent/reference/ref_step_time.py --size 32');
  });
});
