/**
 * The studio's one zustand store: everything the UI shows, fed by the worker's messages (`receive`), and the
 * user's settings. Loss history arrays are appended in place (they grow to one entry per step) and
 * `historyVersion` tells the charts to redraw.
 */
import { create } from 'zustand';
import { PRESETS, preset, type PresetName, type RedoConfig } from '../redo/config';
import type { DatasetSummary } from '../data/datasets';
import type { IngestResult, Rejected } from '../data/ingest';
import type { RunRecord } from '../data/checkpoints';
import type { LossHistory } from '../worker/runArchive';
import {
  emptyHistory,
  type BackendName,
  type BackendReport,
  type ErrorContext,
  type FromWorker,
  type ImportedModel,
  type LoopOptions,
  type PreviewSet,
  type SegmentedImage,
  type TrainingStatus,
  idleStatus,
} from '../worker/protocol';
import { initialSettings } from './query';
import { browserStorage, refreshStorage, UNKNOWN_STORAGE, type StorageView } from './storage';

export interface StudioError {
  id: number;
  context: ErrorContext;
  message: string;
}

export interface IngestView {
  running: boolean;
  label: string;
  done: number;
  total: number;
  result: IngestResult | null;
  summary: DatasetSummary | null;
  failure: string | null;
  rejected: Rejected[];
  ms: number | null;
}

export interface StudioState {
  backend: BackendReport | null;
  requestedBackend: BackendName;
  datasets: DatasetSummary[];
  datasetsLoaded: boolean;
  selectedDatasetId: string | null;
  ingest: IngestView;
  /** The demo button: start training as soon as the demo dataset is stored. */
  autoStartDemo: boolean;
  presetName: PresetName | 'custom';
  config: RedoConfig;
  seed: number;
  options: LoopOptions;
  status: TrainingStatus;
  history: LossHistory;
  historyVersion: number;
  historyRunId: string | null;
  smoothing: number;
  previews: PreviewSet | null;
  runs: RunRecord[];
  runsLoaded: boolean;
  resumeDismissed: boolean;
  lastCheckpoint: { step: number; ms: number } | null;
  imported: ImportedModel | null;
  importBusy: boolean;
  importError: string | null;
  exportBusy: boolean;
  lastExport: { fileName: string; bytes: number } | null;
  segmentBusy: boolean;
  segmented: SegmentedImage[];
  segmentRejected: Rejected[];
  errors: StudioError[];
  /** The browser storage holding datasets and checkpoints (./storage.ts). */
  storage: StorageView;

  receive(msg: FromWorker): void;
  /** Re-reads usage and persistence; `ask`: a dataset was just stored, ask for persistent storage (once). */
  refreshStorage(ask: boolean): void;
  setPreset(name: PresetName): void;
  setConfig(patch: Partial<RedoConfig>): void;
  setOptions(patch: Partial<LoopOptions>): void;
  setSeed(seed: number): void;
  selectDataset(id: string | null): void;
  setSmoothing(v: number): void;
  dismissError(id: number): void;
  dismissResume(): void;
  patch(p: Partial<StudioState>): void;
}

const idle = idleStatus();

const emptyIngest: IngestView = { running: false, label: '', done: 0, total: 0, result: null, summary: null, failure: null, rejected: [], ms: null };

let errorId = 0;

export function isModelSize(n: number): n is RedoConfig['imageSize'] {
  return n === 32 || n === 64 || n === 128;
}

function appendHistory(target: LossHistory, chunk: LossHistory): void {
  target.step.push(...chunk.step);
  target.gAdv.push(...chunk.gAdv);
  target.gRecZ.push(...chunk.gRecZ);
  target.dReal.push(...chunk.dReal);
  target.dFake.push(...chunk.dFake);
  if (chunk.accuracy && chunk.iou) {
    // entries before the first measured chunk have no accuracy: pad so every array stays aligned with `step`
    target.accuracy ??= [];
    target.iou ??= [];
    const pad = target.step.length - chunk.step.length - target.accuracy.length;
    for (let i = 0; i < pad; i++) {
      target.accuracy.push(NaN);
      target.iou.push(NaN);
    }
    target.accuracy.push(...chunk.accuracy);
    target.iou.push(...chunk.iou);
  }
}

const settings = initialSettings();

export const useStudio = create<StudioState>()((set, get) => ({
  backend: null,
  requestedBackend: settings.backend,
  datasets: [],
  datasetsLoaded: false,
  selectedDatasetId: null,
  ingest: emptyIngest,
  autoStartDemo: false,
  presetName: settings.presetName,
  config: settings.config,
  seed: settings.seed,
  options: settings.options,
  status: idle,
  history: emptyHistory(),
  historyVersion: 0,
  historyRunId: null,
  smoothing: 0.9,
  previews: null,
  runs: [],
  runsLoaded: false,
  resumeDismissed: false,
  lastCheckpoint: null,
  imported: null,
  importBusy: false,
  importError: null,
  exportBusy: false,
  lastExport: null,
  segmentBusy: false,
  segmented: [],
  segmentRejected: [],
  errors: [],
  storage: UNKNOWN_STORAGE,

  refreshStorage(ask) {
    void refreshStorage(browserStorage(), get().storage, ask).then((storage) => set({ storage }));
  },

  receive(msg) {
    switch (msg.type) {
      case 'backend':
        set({ backend: msg.report, requestedBackend: msg.report.requested });
        return;
      case 'datasets': {
        const sel = get().selectedDatasetId;
        const keep = sel && msg.list.some((d) => d.id === sel) ? sel : (msg.list[0]?.id ?? null);
        set({ datasets: msg.list, datasetsLoaded: true, selectedDatasetId: keep });
        get().refreshStorage(false);
        return;
      }
      case 'ingest-progress':
        set((s) => ({ ingest: { ...s.ingest, running: true, done: msg.done, total: msg.total } }));
        return;
      case 'ingest-done':
        set((s) => ({
          ingest: { ...s.ingest, running: false, done: s.ingest.total, result: msg.result, summary: msg.summary, failure: null, rejected: msg.result.rejected, ms: msg.ms },
          selectedDatasetId: msg.result.datasetId,
          config: msg.summary && isModelSize(msg.summary.size) ? { ...s.config, imageSize: msg.summary.size } : s.config,
        }));
        get().refreshStorage(true); // a dataset is stored: ask the browser to keep it (persist()), once
        return;
      case 'ingest-failed':
        set((s) => ({ autoStartDemo: false, ingest: { ...s.ingest, running: false, result: null, summary: null, failure: msg.message, rejected: msg.rejected, ms: null } }));
        return;
      case 'runs':
        set({ runs: msg.list, runsLoaded: true });
        return;
      case 'status': {
        const st = msg.status;
        const p: Partial<StudioState> = { status: st };
        if (st.runId !== get().historyRunId && st.runId !== null) {
          p.historyRunId = st.runId;
        }
        set(p);
        return;
      }
      case 'losses': {
        const s = get();
        if (msg.reset || s.historyRunId !== msg.runId) {
          const h = emptyHistory();
          appendHistory(h, msg.chunk);
          set({ history: h, historyRunId: msg.runId, historyVersion: s.historyVersion + 1, ...(msg.reset ? { previews: null } : {}) });
        } else {
          appendHistory(s.history, msg.chunk);
          set({ historyVersion: s.historyVersion + 1 });
        }
        return;
      }
      case 'previews':
        set({ previews: msg.previews });
        return;
      case 'checkpoint-saved':
        set({ lastCheckpoint: { step: msg.step, ms: msg.ms } });
        return;
      case 'export-ready': {
        const blob = new Blob([msg.bytes as Uint8Array<ArrayBuffer>], { type: 'application/zip' });
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url;
        a.download = msg.fileName;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        set({ exportBusy: false, lastExport: { fileName: msg.fileName, bytes: msg.bytes.byteLength } });
        return;
      }
      case 'imported':
        set({ imported: msg.model, importBusy: false, importError: null });
        return;
      case 'segmented':
        set({ segmented: msg.images, segmentRejected: msg.rejected, segmentBusy: false });
        return;
      case 'error': {
        const p: Partial<StudioState> = {};
        if (msg.context === 'import') {
          p.importError = msg.message;
          p.importBusy = false;
        }
        if (msg.context === 'export') p.exportBusy = false;
        if (msg.context === 'segment') p.segmentBusy = false;
        set((s) => ({ ...p, errors: [...s.errors.slice(-4), { id: ++errorId, context: msg.context, message: msg.message }] }));
        return;
      }
    }
  },

  setPreset(name) {
    const size = get().config.imageSize;
    set({ presetName: name, config: preset(name, { imageSize: get().selectedDatasetId ? size : PRESETS[name].imageSize }) });
  },
  setConfig(patch) {
    set((s) => ({ config: { ...s.config, ...patch }, presetName: 'custom' }));
  },
  setOptions(patch) {
    set((s) => ({ options: { ...s.options, ...patch } }));
  },
  setSeed(seed) {
    set({ seed });
  },
  selectDataset(id) {
    const d = get().datasets.find((x) => x.id === id);
    set((s) => ({ selectedDatasetId: id, ...(d && isModelSize(d.size) ? { config: { ...s.config, imageSize: d.size } } : {}) }));
  },
  setSmoothing(v) {
    set({ smoothing: v });
  },
  dismissError(id) {
    set((s) => ({ errors: s.errors.filter((e) => e.id !== id) }));
  },
  dismissResume() {
    set({ resumeDismissed: true });
  },
  patch(p) {
    set(p);
  },
}));
