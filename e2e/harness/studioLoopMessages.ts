/** Messages between e2e/harness/studioLoop.ts (page) and studioLoopWorker.ts (worker), and the report's empty start. */
import type { BackendName, LoopOptions } from '../../src/worker/protocol';

export interface LoopRequest {
  backend: BackendName;
  preset: string;
  batch: number;
  steps: number;
  rounds: number;
  options: Omit<LoopOptions, 'maxSteps'>;
  leakSteps: number;
  seed: number;
}

export interface MemoryPoint {
  step: number;
  numTensors: number;
  numBytes: number;
  gpuBytesInUse?: number;
  gpuBytesAllocated?: number;
}

export interface LoopReport {
  backend: string;
  adapter: string;
  preset: string;
  batch: number;
  steps: number;
  options: Omit<LoopOptions, 'maxSteps'>;
  /** ms per step of each bare round / studio round, in the order they ran (bare, studio, bare, studio, …) */
  bareMsPerStep: number[];
  studioMsPerStep: number[];
  /** What the studio rounds did, summed over rounds. */
  studioMessages: { status: number; losses: number; previews: number; checkpoints: number };
  restarts: number;
  memory: MemoryPoint[];
  memorySteps: number;
  error?: string;
}

export type LoopProgress = { phase: string; detail: string };
export type FromLoopWorker = { type: 'progress'; progress: LoopProgress } | { type: 'done'; report: LoopReport };

/** A report with nothing measured yet, for `req` (the worker fills it; the page uses it to report a dead worker). */
export function emptyLoopReport(req: LoopRequest): LoopReport {
  return {
    backend: req.backend,
    adapter: '',
    preset: req.preset,
    batch: req.batch,
    steps: req.steps,
    options: req.options,
    bareMsPerStep: [],
    studioMsPerStep: [],
    studioMessages: { status: 0, losses: 0, previews: 0, checkpoints: 0 },
    restarts: 0,
    memory: [],
    memorySteps: 0,
  };
}
