/**
 * The typed messages between the UI (main thread) and the training Web Worker. Both directions are
 * discriminated unions on `type`; nothing else crosses the boundary. Big payloads (previews, zip bytes) are
 * sent as transferables.
 */
import type { Knobs, RedoConfig } from '../redo/config';
import type { DatasetSummary, RunRecord } from '../data/records';
import type { IngestResult, Rejected } from '../data/ingest';
import type { RunManifest, StartRecord } from '../formats/runArchive';
import type { LossHistory } from '../formats/history';
import type { PreviewSet } from '../run/previews';

/** In the order the studio prefers them: a GPU, then WebAssembly (XNNPACK, the fast CPU path), WebGL, plain JS. */
export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export interface BackendReport {
  /** The active TF.js backend, or null while none could be set (the UI then offers the fallbacks). */
  active: BackendName | null;
  /** What was asked for. */
  requested: BackendName;
  /** WebGPU adapter, when the webgpu backend is active (or an adapter was found). */
  adapter?: AdapterInfo;
  /** The threads wasm (XNNPACK) runs on when active, else would run on (1 unless the page is cross-origin isolated). */
  threads: number;
  /** Plain-language reason why the requested backend is not active (e.g. "this browser has no WebGPU"). */
  fallbackReason?: string;
  /** Backends the user may switch to. */
  offered: BackendName[];
  /**
   * Set when this backend was chosen for the user (a demo clicked where `instead` did not work): the backend that
   * failed first and why, and every backend tried before this one, each with its reason.
   */
  auto?: { instead: BackendName; tried: Array<{ backend: BackendName; reason: string }> };
}

/** Loop settings that can change while a run is going. */
export interface LoopOptions {
  /** Losses are read back (one batched readback) every this many steps. */
  lossEvery: number;
  /** Mask previews, the Figure-2 grid and (with ground truth) accuracy / IoU every this many steps. */
  previewEvery: number;
  /**
   * Previews also at step 0 and whenever this many seconds have passed since the last (default 10; 0: by steps
   * only), so a slow machine still shows progress. Only the pictures: accuracy / IoU stay on `previewEvery`.
   */
  previewSeconds?: number;
  /** A checkpoint to IndexedDB every this many steps (and always on pause and stop). 0 = only on pause / stop. */
  checkpointEvery: number;
  /** The run ends (with a checkpoint) at this step. */
  maxSteps: number;
}

/** Best of K starts (src/run/starts.ts): `count` starts of `steps` iterations each, ranked; the best one continues. */
export interface StartsPlan {
  count: number;
  steps: number;
}

/** A restart of either watch: which, at what step of the run, and why in words. */
export interface RestartNote {
  kind: 'collapse' | 'blob';
  step: number;
  why: string;
}

/** Which mask network F an export or a segmentation uses: the best held-out IoU so far, or the latest. */
export type WhichF = 'best' | 'last';

export type RunState = 'idle' | 'loading' | 'running' | 'pausing' | 'paused' | 'stopped' | 'finished';

export interface TrainingStatus {
  state: RunState;
  runId: string | null;
  datasetId: string | null;
  datasetName: string | null;
  config: RedoConfig | null;
  /** Trainer iteration (iterations since the last (re)initialisation, as checkpoints and archives count them). */
  step: number;
  /** Restarts so far, of either watch (collapse and blob). */
  restarts: number;
  /** Of `restarts`, those of the blob watch (the masks stopped depending on the image). */
  blobRestarts: number;
  /** The latest restart, with its reason (null before the first in this session). */
  lastRestart: RestartNote | null;
  /** The F with the best held-out IoU so far (runs with held-out masks): the run's step it is from and its IoU. */
  best: { step: number; iou: number } | null;
  /** Steps done in this run across restarts (the loss chart's x axis). */
  totalSteps: number;
  maxSteps: number;
  itPerSec: number;
  /** Training time of this run in this session and before (ms). */
  elapsedMs: number;
  /** Estimated time to maxSteps (ms), null while unknown. */
  etaMs: number | null;
  /** Step of the last complete checkpoint, null when none yet. */
  lastCheckpointStep: number | null;
  /** The collapse watch's last readings: smallest soft and binarised region areas (null before the first). */
  minArea: number | null;
  minAreaBinary: number | null;
  /** GPU / tensor memory (tf.memory()). */
  numTensors: number;
  numBytesInGPU: number | null;
}

/** The status when no run is open (numTensors: what tf.memory() reports, 0 where it is not known). */
export function idleStatus(numTensors = 0): TrainingStatus {
  return {
    state: 'idle',
    runId: null,
    datasetId: null,
    datasetName: null,
    config: null,
    step: 0,
    restarts: 0,
    blobRestarts: 0,
    lastRestart: null,
    best: null,
    totalSteps: 0,
    maxSteps: 0,
    itPerSec: 0,
    elapsedMs: 0,
    etaMs: null,
    lastCheckpointStep: null,
    minArea: null,
    minAreaBinary: null,
    numTensors,
    numBytesInGPU: null,
  };
}

export interface SegmentedImage {
  name: string;
  width: number;
  height: number;
  /** Input crop as PNG. */
  input: Blob;
  /** Colour-coded regions as PNG. */
  mask: Blob;
  /** Per region: the crop with that region's soft mask as alpha (PNG). */
  cutouts: Blob[];
  /** Fraction of the picture each region covers. */
  areas: number[];
}

export type SegmentSource = 'current' | 'imported';

/** What was imported and can be used next. */
export interface ImportedModel {
  kind: 'run' | 'weights';
  fileName: string;
  config: RedoConfig;
  step: number;
  restarts: number;
  /** Whole model (G, D, δ too): can continue training. False: mask network only, inference only. */
  trainable: boolean;
  dataset?: RunManifest['dataset'];
  /** How the configuration of a bare weights file was determined. */
  configSource?: string;
}

export type ErrorContext =
  'backend' | 'ingest' | 'datasets' | 'training' | 'checkpoint' | 'export' | 'import' | 'segment' | 'runs' | 'compare';

/** A run laid beside others (Compare runs): a stored run's latest checkpoint or an imported archive, without weights. */
export interface ComparedRun {
  /** The stored run's id, or `archive:<file name>`. */
  id: string;
  label: string;
  source: 'stored' | 'archive';
  config: RedoConfig;
  seed: number;
  /** The trainer's iteration of the checkpoint or archive. */
  step: number;
  history: LossHistory;
}

// ---------------------------------------------------------------------------------------------------------
// UI → worker

export interface FileEntry {
  /** Relative path (folders kept). */
  name: string;
  file: Blob;
}

/** The studio's demo data sets: colored-2-MNIST (3 regions) and objects on photos (2 regions). */
export type DemoKind = 'c2mnist' | 'objects';

export type ToWorker =
  | { type: 'init'; backend: BackendName }
  /** `fallback`: if `backend` does not start, the next that works (BACKEND order), said so in the report's `auto`. */
  | { type: 'set-backend'; backend: BackendName; fallback?: boolean }
  | { type: 'list-datasets' }
  /**
   * A part of the files of the ingest `handOver` (posted a few at a time: Chromium stats every posted File on the
   * main thread, a few ms each, so one message of 10,000 files would freeze the page for seconds).
   */
  | { type: 'ingest-part'; handOver: string; files: FileEntry[]; masks: FileEntry[] }
  /** An import: `files` and `masks`, plus every ingest-part of `handOver` when given. */
  | { type: 'ingest'; name: string; size: number; files: FileEntry[]; masks?: FileEntry[]; handOver?: string }
  | { type: 'create-demo'; demo: DemoKind; size: number; count: number }
  | { type: 'delete-dataset'; id: string }
  | { type: 'list-runs' }
  | { type: 'delete-run'; runId: string }
  /** Stored runs to compare: each one's config, seed and history from its latest checkpoint (answered by `compared`). */
  | { type: 'compare'; runIds: string[] }
  /** A run archive (.zip) to compare, read and checked as an import is (answered by `compared`); nothing else changes. */
  | { type: 'compare-archive'; fileName: string; file: Blob }
  /** A new run; with `starts` (count ≥ 2), best of K starts first (the kept start continues). */
  | { type: 'start'; datasetId: string; config: RedoConfig; seed: number; options: LoopOptions; starts?: StartsPlan }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'set-options'; options: Partial<LoopOptions> }
  /** Step: exactly one iteration of the paused run (every view updated at that step, a checkpoint written). */
  | { type: 'step' }
  /** Knobs mid-run: learning rates, λz, Adam's β from the next iteration on (recorded in the run's history). */
  | { type: 'set-knobs'; knobs: Partial<Knobs> }
  | { type: 'resume-run'; runId: string; options: LoopOptions; autostart: boolean }
  | { type: 'export' }
  /** The mask network F alone (.safetensors), the best one or the latest. */
  | { type: 'export-weights'; which: WhichF }
  | { type: 'import'; fileName: string; file: Blob; fallbackConfig: RedoConfig }
  | { type: 'continue-imported'; datasetId: string; options: LoopOptions }
  /** `which`: with the current run, its best F or its latest (default). */
  | { type: 'segment'; source: SegmentSource; files: FileEntry[]; which?: WhichF }
  /** The page's watchdog: answered at once with `pong` (a worker that stops answering is restarted). */
  | { type: 'ping' }
  /** Opens a run another tab holds as soon as that tab releases it (its Web Lock); `run-locked` with waiting until then. */
  | { type: 'take-over'; runId: string; options: LoopOptions }
  /** Test hooks (the page sends them only with `?testHooks=1`): destroy the WebGPU device; report weight checksums. */
  | { type: 'test-destroy-device' }
  | { type: 'checksums' };

// ---------------------------------------------------------------------------------------------------------
// worker → UI

export type FromWorker =
  | { type: 'backend'; report: BackendReport }
  | { type: 'datasets'; list: DatasetSummary[] }
  | { type: 'ingest-progress'; done: number; total: number; phase: 'reading' | 'decoding' }
  | { type: 'ingest-done'; result: IngestResult; summary: DatasetSummary | null; ms: number }
  | { type: 'ingest-failed'; message: string; rejected: Rejected[] }
  | { type: 'runs'; list: RunRecord[] }
  | { type: 'compared'; runs: ComparedRun[] }
  | { type: 'status'; status: TrainingStatus }
  /**
   * Loss entries from index `from` of the run's history on (reset: replace everything shown so far, e.g. a resumed
   * run's whole history). `from` below what the page holds re-sends entries an evaluation wrote into.
   */
  | { type: 'losses'; runId: string; chunk: LossHistory; reset: boolean; from: number }
  /** A best-of-K search: every start so far (`current`: the one training now, its record so far; null once ranked). */
  | { type: 'starts'; runId: string; plan: StartsPlan; records: StartRecord[]; current: number | null }
  | { type: 'previews'; runId: string; previews: PreviewSet }
  | { type: 'checkpoint-saved'; runId: string; step: number; ms: number }
  | { type: 'export-ready'; fileName: string; bytes: Uint8Array; kind: 'run' | 'weights' }
  | { type: 'imported'; model: ImportedModel }
  | { type: 'segmented'; images: SegmentedImage[]; rejected: Rejected[] }
  | { type: 'error'; context: ErrorContext; message: string }
  | { type: 'pong' }
  /** The WebGPU device was lost (GPUDevice.lost): the page restarts the worker and offers to resume. */
  | { type: 'device-lost'; reason: string; message: string }
  /** The run is open (its Web Lock held) in another tab; waiting: a take-over waits for its release. */
  | { type: 'run-locked'; runId: string; waiting: boolean }
  /** Weight checksums (test hook): the open run's weights now, and its latest stored checkpoint's. */
  | { type: 'checksums'; runId: string | null; live: WeightsChecksum | null; checkpoint: WeightsChecksum | null };

export interface WeightsChecksum {
  step: number;
  /** FNV-1a over every weight's bytes in name order (src/redo/weights.ts weightsChecksum). */
  checksum: string;
}
