/**
 * The authors' PyTorch iteration at one of our configurations, timed by ../shared/reference/ref_step_time.py
 * (Debian's python3-torch, one CPU thread): the reference column of the speed benchmark (scripts/bench-speed.ts).
 * Its networks at 32 and 64 px have exactly our parameter counts (../shared/reference/README.md). startPytorchSteps
 * runs the same iteration one at a time on request (bench/ref_step_server.py), for timings interleaved with ours.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
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

/** The reference's iteration on request (bench/ref_step_server.py), to interleave with ours. */
export interface PytorchStepper {
  torch: string;
  threads: number;
  command: string;
  /** One more reference iteration; its milliseconds. */
  step(): Promise<number>;
  close(): void;
}

/**
 * Starts ref_step_server.py at a config (its networks built and warmed up) and resolves once it is ready, or with an
 * error string where it cannot run.
 */
export async function startPytorchSteps(
  c: RedoConfig,
  batch: number,
  opts: { threads?: number; refDir?: string; python?: string } = {},
): Promise<PytorchStepper | { error: string; command: string }> {
  const script = join(opts.refDir ?? DEFAULT_REF_DIR, 'ref_step_time.py');
  const server = resolve('bench/ref_step_server.py');
  const python = opts.python ?? '/usr/bin/python3';
  let args: string[];
  try {
    args = [server, script, ...refArgs(c, batch, opts.threads ?? 1)];
  } catch (e) {
    return { command: '', error: e instanceof Error ? e.message : String(e) };
  }
  const command = `${python} ${args.join(' ')}`;
  if (!existsSync(script)) return { command, error: `${script} not found (../shared/reference beside the checkout)` };
  if (!existsSync(server)) return { command, error: `${server} not found (run from the repository root)` };
  const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new Error(`ref_step_server.py ended: ${stderr.trim().split('\n').pop() ?? ''}`);
    return r.value;
  };
  try {
    const hello = JSON.parse(await next()) as { version: string; threads: number };
    return {
      torch: hello.version,
      threads: hello.threads,
      command,
      step: async () => {
        child.stdin.write('step\n');
        return Number(await next());
      },
      close: () => child.stdin.end(),
    };
  } catch (e) {
    child.kill();
    return { command, error: e instanceof Error ? e.message : String(e) };
  }
}
