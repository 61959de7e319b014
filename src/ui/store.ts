/**
 * The studio's one zustand store: everything the UI shows, fed by the worker's messages (`receive`), and the
 * user's settings, in slices (zustand's slices pattern) with named actions (its flux-inspired practice). Actions
 * only change state: every side effect (worker calls, the export download) lives in ./client.ts.
 * Loss history arrays are appended in place (they grow to one entry per step) and `historyVersion` tells the
 * charts to redraw.
 */
import { create, type StateCreator } from 'zustand';
import { PRESETS, preset, type PresetName, type RedoConfig } from '../redo/config';
import type { DatasetSummary, RunRecord } from '../data/records';
import type { IngestResult, Rejected } from '../data/ingest';
import { appendHistory, emptyHistory, putHistory, type LossHistory } from '../formats/history';
import type { StartRecord } from '../formats/runArchive';
import type { PreviewSet } from '../run/previews';
import {
  idleStatus,
  type BackendName,
  type BackendReport,
  type ComparedRun,
  type DemoKind,
  type ErrorContext,
  type FromWorker,
  type ImportedModel,
  type LoopOptions,
  type SegmentedImage,
  type StartsPlan,
  type TrainingStatus,
} from '../worker/protocol';
import { initialSettings } from './query';
import { UNKNOWN_STORAGE, type StorageView } from './storage';

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

/** The model and loop settings of the next run. */
interface SettingsSlice {
  backend: BackendReport | null;
  requestedBackend: BackendName;
  presetName: PresetName | 'custom';
  config: RedoConfig;
  seed: number;
  options: LoopOptions;
  /** Best of K starts for the next new run (count 1: a plain run). */
  starts: StartsPlan;
  /** The URL chose the starts: a demo keeps them. */
  startsFromUrl: boolean;
  smoothing: number;
  setPreset(name: PresetName): void;
  setConfig(patch: Partial<RedoConfig>): void;
  setOptions(patch: Partial<LoopOptions>): void;
  setSeed(seed: number): void;
  setStarts(patch: Partial<StartsPlan>): void;
  setSmoothing(v: number): void;
}

/** Stored datasets and the import in progress. */
interface DatasetsSlice {
  datasets: DatasetSummary[];
  datasetsLoaded: boolean;
  selectedDatasetId: string | null;
  ingest: IngestView;
  /** The demo button: start training as soon as the demo dataset is stored. */
  autoStartDemo: boolean;
  /** The browser storage holding datasets and checkpoints (./storage.ts; client.ts reads it). */
  storage: StorageView;
  selectDataset(id: string | null): void;
  /** An import (or a demo, `autoStart`: train once it is stored) was asked of the worker. */
  ingestStarted(label: string, total: number, autoStart?: boolean): void;
  /** The demo's automatic start has happened (or is no longer wanted). */
  autoStartConsumed(): void;
  storageRead(storage: StorageView): void;
  /** Files handed to the worker so far (before it decodes them). */
  ingestHandingOver(done: number, total: number): void;
}

/** The current run as the worker reports it, and the stored runs. */
interface RunSlice {
  status: TrainingStatus;
  history: LossHistory;
  historyVersion: number;
  historyRunId: string | null;
  previews: PreviewSet | null;
  /** The best-of-K search of the current run: every start's scores and curve, the one training or kept. */
  search: { runId: string; plan: StartsPlan; records: StartRecord[]; current: number | null } | null;
  runs: RunRecord[];
  runsLoaded: boolean;
  resumeDismissed: boolean;
  lastCheckpoint: { step: number; ms: number } | null;
  /** The worker was restarted (crash, silence, lost device): what happened, and the run that was open then. */
  recovery: { sentences: string[]; runId: string | null } | null;
  /** A run this tab asked for is open in another tab (waiting: a take-over waits for that tab to release it). */
  runLocked: { runId: string; waiting: boolean } | null;
  /** A new run was asked for: what the old one showed is cleared. */
  trainingStarted(): void;
  dismissResume(): void;
  /** A fresh worker replaced a dead one: the run shown is gone (idle), the banner offers its last checkpoint. */
  workerRestarted(sentence: string): void;
  /** Something more to tell about the recovery (e.g. a backend given up). */
  recoveryNote(sentence: string): void;
}

/** Export, import and segmentation. */
interface FilesSlice {
  imported: ImportedModel | null;
  importBusy: boolean;
  importError: string | null;
  exportBusy: boolean;
  lastExport: { fileName: string; bytes: number } | null;
  segmentBusy: boolean;
  segmented: SegmentedImage[];
  segmentRejected: Rejected[];
  exportStarted(): void;
  importStarted(): void;
  segmentStarted(): void;
}

/** A demo's run: which demo, its plan of starts, and the step count chosen from the measured speed (null until measured). */
export interface DemoRun {
  kind: DemoKind;
  starts: StartsPlan;
  /** The URL chose the step count (`&steps=`): the demo keeps it. */
  stepsFromUrl: boolean;
  plannedSteps: number | null;
}

/** The demo's guide and the runs laid side by side. */
interface GuideSlice {
  demo: DemoRun | null;
  /** Compare runs: the runs loaded so far (stored ones and archives), in the order they were added. */
  compared: ComparedRun[];
  compareBusy: boolean;
  demoStarted(demo: Omit<DemoRun, 'plannedSteps'>): void;
  demoPlanned(steps: number): void;
  demoEnded(): void;
  compareStarted(): void;
  compareRemove(id: string): void;
}

interface ErrorsSlice {
  errors: StudioError[];
  /** An error to show (from the worker, or the UI's own checks before asking it). */
  reportError(context: ErrorContext, message: string): void;
  dismissError(id: number): void;
}

export type StudioState = SettingsSlice &
  DatasetsSlice &
  RunSlice &
  FilesSlice &
  GuideSlice &
  ErrorsSlice & {
    /** Every message of the worker. */
    receive(msg: FromWorker): void;
  };

type Slice<T> = StateCreator<StudioState, [], [], T>;

const emptyIngest: IngestView = {
  running: false,
  label: '',
  done: 0,
  total: 0,
  result: null,
  summary: null,
  failure: null,
  rejected: [],
  ms: null,
};

export function isModelSize(n: number): n is RedoConfig['imageSize'] {
  return n === 32 || n === 64 || n === 128;
}

const settings = initialSettings();

const settingsSlice: Slice<SettingsSlice> = (set, get) => ({
  backend: null,
  requestedBackend: settings.backend,
  presetName: settings.presetName,
  config: settings.config,
  seed: settings.seed,
  options: settings.options,
  starts: settings.starts,
  startsFromUrl: settings.startsFromUrl,
  smoothing: 0.9,
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
  setStarts(patch) {
    set((s) => ({ starts: { ...s.starts, ...patch } }));
  },
  setSmoothing(v) {
    set({ smoothing: v });
  },
});

const datasetsSlice: Slice<DatasetsSlice> = (set, get) => ({
  datasets: [],
  datasetsLoaded: false,
  selectedDatasetId: null,
  ingest: emptyIngest,
  autoStartDemo: false,
  storage: UNKNOWN_STORAGE,
  selectDataset(id) {
    const d = get().datasets.find((x) => x.id === id);
    set((s) => ({ selectedDatasetId: id, ...(d && isModelSize(d.size) ? { config: { ...s.config, imageSize: d.size } } : {}) }));
  },
  ingestStarted(label, total, autoStart = false) {
    set({ ingest: { ...emptyIngest, running: true, label, total }, ...(autoStart ? { autoStartDemo: true } : {}) });
  },
  autoStartConsumed() {
    set({ autoStartDemo: false });
  },
  storageRead(storage) {
    set({ storage });
  },
  ingestHandingOver(done, total) {
    set((s) => ({ ingest: { ...s.ingest, running: true, label: `Handing ${done} of ${total} files to the worker…`, done, total } }));
  },
});

const runSlice: Slice<RunSlice> = (set) => ({
  status: idleStatus(),
  history: emptyHistory(),
  historyVersion: 0,
  historyRunId: null,
  previews: null,
  search: null,
  runs: [],
  runsLoaded: false,
  resumeDismissed: false,
  lastCheckpoint: null,
  recovery: null,
  runLocked: null,
  trainingStarted() {
    set({ previews: null, search: null, lastCheckpoint: null, recovery: null, runLocked: null });
  },
  dismissResume() {
    set({ resumeDismissed: true, recovery: null, runLocked: null });
  },
  workerRestarted(sentence) {
    set((s) => ({
      recovery: { sentences: [sentence], runId: s.status.runId ?? s.recovery?.runId ?? null },
      status: idleStatus(),
      previews: null,
      search: null,
      resumeDismissed: false,
      runLocked: null,
      // the list may predate the last checkpoint (its refresh died with the worker): offer only what the new one reads
      runs: [],
      runsLoaded: false,
    }));
  },
  recoveryNote(sentence) {
    set((s) => ({ recovery: { sentences: [...(s.recovery?.sentences ?? []), sentence], runId: s.recovery?.runId ?? null } }));
  },
});

const filesSlice: Slice<FilesSlice> = (set) => ({
  imported: null,
  importBusy: false,
  importError: null,
  exportBusy: false,
  lastExport: null,
  segmentBusy: false,
  segmented: [],
  segmentRejected: [],
  exportStarted() {
    set({ exportBusy: true });
  },
  importStarted() {
    set({ importBusy: true, importError: null });
  },
  segmentStarted() {
    set({ segmentBusy: true });
  },
});

const guideSlice: Slice<GuideSlice> = (set) => ({
  demo: null,
  compared: [],
  compareBusy: false,
  demoStarted(demo) {
    set({ demo: { ...demo, plannedSteps: null } });
  },
  demoPlanned(steps) {
    set((s) => (s.demo ? { demo: { ...s.demo, plannedSteps: steps } } : {}));
  },
  demoEnded() {
    set({ demo: null });
  },
  compareStarted() {
    set({ compareBusy: true });
  },
  compareRemove(id) {
    set((s) => ({ compared: s.compared.filter((r) => r.id !== id) }));
  },
});

let errorId = 0;

const errorsSlice: Slice<ErrorsSlice> = (set) => ({
  errors: [],
  reportError(context, message) {
    set((s) => ({ errors: [...s.errors.slice(-4), { id: ++errorId, context, message }] }));
  },
  dismissError(id) {
    set((s) => ({ errors: s.errors.filter((e) => e.id !== id) }));
  },
});

export const useStudio = create<StudioState>()((set, get, store) => ({
  ...settingsSlice(set, get, store),
  ...datasetsSlice(set, get, store),
  ...runSlice(set, get, store),
  ...filesSlice(set, get, store),
  ...guideSlice(set, get, store),
  ...errorsSlice(set, get, store),

  receive(msg) {
    switch (msg.type) {
      case 'backend':
        set({ backend: msg.report, requestedBackend: msg.report.requested });
        return;
      case 'datasets': {
        const sel = get().selectedDatasetId;
        const keep = sel && msg.list.some((d) => d.id === sel) ? sel : (msg.list[0]?.id ?? null);
        set({ datasets: msg.list, datasetsLoaded: true, selectedDatasetId: keep });
        return;
      }
      case 'ingest-progress':
        set((s) => ({
          ingest: {
            ...s.ingest,
            running: true,
            done: msg.done,
            total: msg.total,
            label: msg.phase === 'decoding' ? `Decoding and storing ${msg.total} files…` : s.ingest.label,
          },
        }));
        return;
      case 'ingest-done':
        set((s) => ({
          ingest: {
            ...s.ingest,
            running: false,
            done: s.ingest.total,
            result: msg.result,
            summary: msg.summary,
            failure: null,
            rejected: msg.result.rejected,
            ms: msg.ms,
          },
          selectedDatasetId: msg.result.datasetId,
          config: msg.summary && isModelSize(msg.summary.size) ? { ...s.config, imageSize: msg.summary.size } : s.config,
        }));
        return;
      case 'ingest-failed':
        set((s) => ({
          autoStartDemo: false,
          ingest: { ...s.ingest, running: false, result: null, summary: null, failure: msg.message, rejected: msg.rejected, ms: null },
        }));
        return;
      case 'runs':
        set({ runs: msg.list, runsLoaded: true });
        return;
      case 'compared': {
        // a run loaded again (a newer checkpoint, the same archive) replaces its earlier curves in place
        const compared = get().compared.slice();
        for (const r of msg.runs) {
          const i = compared.findIndex((c) => c.id === r.id);
          if (i >= 0) compared[i] = r;
          else compared.push(r);
        }
        set({ compared, compareBusy: false });
        return;
      }
      case 'status': {
        const st = msg.status;
        set(st.runId !== get().historyRunId && st.runId !== null ? { status: st, historyRunId: st.runId } : { status: st });
        if (st.runId !== null && (get().recovery || get().runLocked?.runId === st.runId)) set({ recovery: null, runLocked: null });
        return;
      }
      case 'run-locked':
        set({ runLocked: { runId: msg.runId, waiting: msg.waiting }, resumeDismissed: false });
        return;
      case 'pong':
      case 'device-lost':
      case 'checksums':
        return; // the client's (./client.ts and its supervisor)
      case 'losses': {
        const s = get();
        if (msg.reset || s.historyRunId !== msg.runId) {
          const h = emptyHistory();
          appendHistory(h, msg.chunk);
          const otherRun = s.search !== null && s.search.runId !== msg.runId;
          set({
            history: h,
            historyRunId: msg.runId,
            historyVersion: s.historyVersion + 1,
            ...(msg.reset ? { previews: null } : {}),
            ...(otherRun ? { search: null } : {}),
          });
        } else {
          // entries from `from` on replace what is held (an evaluation wrote into the last one), the rest appended
          putHistory(s.history, Math.min(msg.from, s.history.step.length), msg.chunk);
          set({ historyVersion: s.historyVersion + 1 });
        }
        return;
      }
      case 'previews':
        set({ previews: msg.previews });
        return;
      case 'starts':
        set({ search: { runId: msg.runId, plan: msg.plan, records: msg.records, current: msg.current } });
        return;
      case 'checkpoint-saved':
        set({ lastCheckpoint: { step: msg.step, ms: msg.ms } });
        return;
      case 'export-ready':
        // the download itself is ./client.ts's
        set({ exportBusy: false, lastExport: { fileName: msg.fileName, bytes: msg.bytes.byteLength } });
        return;
      case 'imported':
        set({ imported: msg.model, importBusy: false, importError: null });
        return;
      case 'segmented':
        set({ segmented: msg.images, segmentRejected: msg.rejected, segmentBusy: false });
        return;
      case 'error':
        if (msg.context === 'import') set({ importError: msg.message, importBusy: false });
        if (msg.context === 'export') set({ exportBusy: false });
        if (msg.context === 'segment') set({ segmentBusy: false });
        if (msg.context === 'compare') set({ compareBusy: false });
        get().reportError(msg.context, msg.message);
        return;
    }
  },
}));
