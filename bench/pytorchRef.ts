/**
 * The authors' PyTorch iteration at one of our configurations, timed by ../shared/reference/ref_step_time.py
 * (Debian's python3-torch, one CPU thread): the reference column of the speed benchmark (scripts/bench-speed.ts).
 * Its networks at 32 and 64 px have exactly our parameter counts (../shared/reference/README.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RedoConfig } from '../src/redo/config';

export interface PytorchTiming {
  medianMs?: number;
  minMs?: number;
  maxMs?: number;
  /** torch version, threads, and the exact command */
  torch?: string;
  threads?: number;
  command: string;
  error?: string;
}

/**
 * ref_step_time.py's flags for a config at `batch` (its batch size unless given; it has one attention switch for G and
 * D); --threads and --steps only when given (the GPU kit's run.sh adds its own --steps).
 */
export function refArgs(c: RedoConfig, batch = c.batchSize, threads?: number, steps?: number): string[] {
  if (c.attentionG !== c.attentionD) throw new Error('ref_step_time.py has one --attention for G and D; this config differs');
  const f = {
    size: c.imageSize,
    n: c.nRegions,
    nz: c.nz,
    nfF: c.nfF,
    nfG: c.nfG,
    nfD: c.nfD,
    nfZ: c.nfZ,
    batch,
    attention: c.attentionG ? 1 : 0,
    threads,
    steps,
  };
  return Object.entries(f).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, String(v)]));
}

export const DEFAULT_REF_DIR = resolve('../shared/reference');

export function timePytorch(
  c: RedoConfig,
  batch: number,
  opts: { steps: number; threads?: number; refDir?: string; python?: string },
): PytorchTiming {
  const script = join(opts.refDir ?? DEFAULT_REF_DIR, 'ref_step_time.py');
  const python = opts.python ?? '/usr/bin/python3';
  let args: string[];
  try {
    args = [script, ...refArgs(c, batch, opts.threads ?? 1, opts.steps)];
  } catch (e) {
    return { command: '', error: e instanceof Error ? e.message : String(e) };
  }
  const command = `${python} ${args.join(' ')}`;
  if (!existsSync(script)) return { command, error: `${script} not found (../shared/reference beside the checkout)` };
  const r = spawnSync(python, args, { encoding: 'utf8', timeout: 30 * 60_000 });
  if (r.status !== 0)
    return { command, error: `exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout || '').trim().split('\n').pop() ?? ''}` };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(line) as { medianMs: number; minMs: number; maxMs: number; version: string; threads: number };
    return { medianMs: j.medianMs, minMs: j.minMs, maxMs: j.maxMs, torch: j.version, threads: j.threads, command };
  } catch {
    return { command, error: `unreadable output: ${line.slice(0, 200)}` };
  }
}
