/** Pure helpers of the benchmarks (scripts/bench-speed.ts, scripts/bench-quality.ts): tables and the leak verdict. */

export function markdownTable(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), `|${headers.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

/** One tf.memory() reading during the leak check. */
export interface MemorySample {
  step: number;
  numTensors: number;
  numBytes: number;
  /** WebGPU only: bytes of the buffers tensors hold now, and of every buffer the backend keeps (its pool included). */
  gpuBytesInUse?: number;
  gpuBytesAllocated?: number;
}

export interface LeakVerdict {
  leak: boolean;
  /** What changed, in words (empty when flat). */
  reasons: string[];
  /** Informative only: pool growth in the second half of the run (allocated bytes may grow while the pool warms up). */
  notes: string[];
}

/**
 * Flat means: from the first sample on (taken after warm-up), the tensor count, the bytes tensors hold and (on
 * WebGPU) the bytes of GPU buffers in use are exactly those of the first sample at every later sample.
 */
export function leakVerdict(samples: MemorySample[]): LeakVerdict {
  const reasons: string[] = [];
  const notes: string[] = [];
  if (samples.length < 2) return { leak: false, reasons, notes: ['fewer than 2 samples: nothing compared'] };
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const check = (key: 'numTensors' | 'numBytes' | 'gpuBytesInUse', label: string) => {
    const v0 = first[key];
    if (v0 === undefined) return;
    const bad = samples.find((s) => s[key] !== v0);
    if (bad) reasons.push(`${label}: ${v0} at step ${first.step}, ${bad[key]} at step ${bad.step}, ${last[key]} at step ${last.step}`);
  };
  check('numTensors', 'tensor count');
  check('numBytes', 'tensor bytes');
  check('gpuBytesInUse', 'WebGPU bytes in use');
  const mid = samples[Math.floor(samples.length / 2)]!;
  if (mid.gpuBytesAllocated !== undefined && last.gpuBytesAllocated !== undefined && last.gpuBytesAllocated > mid.gpuBytesAllocated) {
    notes.push(`WebGPU buffer pool grew in the second half: ${mid.gpuBytesAllocated} → ${last.gpuBytesAllocated} bytes`);
  }
  // Only `reasons` fail the check; pool growth alone (notes) does not.
  return { leak: reasons.length > 0, reasons, notes };
}

/** `2026-11-25T05-59-03` (file-name safe, UTC). */
export function stamp(d = new Date()): string {
  return d.toISOString().slice(0, 19).replace(/:/g, '-');
}
