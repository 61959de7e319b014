/**
 * The studio's side effects: the one training worker, every call to it (one wrapper, `call`, as squoosh's
 * worker-bridge has one for every worker method), and the export download. Components call these functions;
 * the store (./store.ts) only records state: the worker's messages go to its `receive`, the UI's intents to its
 * named actions.
 */
import { validateConfig, type Knobs, type RedoConfig } from '../redo/config';
import type { BackendName, DemoKind, FileEntry, FromWorker, LoopOptions, SegmentSource, ToWorker, WhichF } from '../worker/protocol';
import { datasetNameOf, splitMasks } from './files';
import { handOverFiles } from './handOver';
import { harnessFlags } from './query';
import { WorkerSupervisor } from './workerSupervisor';
import { useStudio } from './store';
import { browserStorage, refreshStorage } from './storage';
import { segmenterZip } from './segmenterExport';

/** What the test hooks (`?testHooks=1`) give a test: src/ui/query.ts harnessFlags. */
export interface TestHooks {
  /** Ends the worker as the browser would (no event): the watchdog restarts it. */
  killWorker(): void;
  /** Destroys the worker's WebGPU device (GPUDevice.destroy()). */
  destroyDevice(): void;
  /** The open run's weights and its latest checkpoint's, as checksums. */
  checksums(): Promise<Extract<FromWorker, { type: 'checksums' }>>;
  /** Every ingest progress report received so far. */
  ingestProgress(): Array<{ done: number; total: number }>;
}

const flags = harnessFlags();
const checksumWaiters: Array<(m: Extract<FromWorker, { type: 'checksums' }>) => void> = [];
const progressSeen: Array<{ done: number; total: number }> = [];

const supervisor = new WorkerSupervisor({
  watchdogMs: flags.watchdogMs,
  create: (events) => {
    const w = new Worker(new URL('../worker/trainingWorker.ts', import.meta.url), { type: 'module', name: 'redo-training' });
    w.onmessage = (e: MessageEvent<FromWorker>) => events.message(e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      events.error(e.message);
    };
    return { post: (msg, transfer = []) => w.postMessage(msg, transfer), terminate: () => w.terminate() };
  },
  onMessage: (msg) => {
    if (msg.type === 'export-ready' && msg.kind === 'run' && segmenterPending) return void finishSegmenterExport(msg);
    if (msg.type === 'error' && msg.context === 'export') segmenterPending = false;
    if (msg.type === 'export-ready') download(msg.bytes, msg.fileName, msg.kind === 'run' ? 'application/zip' : 'application/octet-stream');
    if (msg.type === 'checksums') checksumWaiters.splice(0).forEach((resolve) => resolve(msg));
    if (msg.type === 'ingest-progress' && flags.testHooks) progressSeen.push({ done: msg.done, total: msg.total });
    useStudio.getState().receive(msg);
    if (msg.type === 'datasets') readStorage(false);
    if (msg.type === 'ingest-done') readStorage(true); // a dataset is stored: ask the browser to keep it (persist()), once
    if (msg.type === 'checkpoint-saved') call({ type: 'list-runs' }); // the stored runs (Compare runs, resume) with their new step
  },
  onStart: (after) => {
    const s = useStudio.getState();
    if (after) s.workerRestarted(after.sentence);
    supervisor.post({ type: 'init', backend: after?.kind === 'device-lost' ? 'webgpu' : s.requestedBackend });
    supervisor.post({ type: 'list-datasets' });
    supervisor.post({ type: 'list-runs' });
  },
  onFallback: (sentence) => useStudio.getState().recoveryNote(sentence),
});

export function startWorker(): void {
  if (supervisor.running) return;
  supervisor.start();
  if (flags.testHooks) {
    const hooks: TestHooks = {
      killWorker: () => supervisor.kill(),
      destroyDevice: () => call({ type: 'test-destroy-device' }),
      checksums: () =>
        new Promise((resolve) => {
          checksumWaiters.push(resolve);
          call({ type: 'checksums' });
        }),
      ingestProgress: () => progressSeen.slice(),
    };
    (window as Window & { __redoTest?: TestHooks }).__redoTest = hooks;
  }
}

/** Every message to the worker goes through here (the worker starts on first use). */
function call(msg: ToWorker, transfer: Transferable[] = []): void {
  supervisor.post(msg, transfer);
}

/** Saves bytes as a file through the browser's download. */
function download(bytes: Uint8Array, fileName: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Re-reads usage and persistence into the store; `ask`: a dataset was just stored, ask for persistent storage (once). */
function readStorage(ask: boolean): void {
  void refreshStorage(browserStorage(), useStudio.getState().storage, ask).then((v) => useStudio.getState().storageRead(v));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

// ---------------------------------------------------------------------------------------------------------
// Backend and datasets

/** `fallback`: if `backend` does not start, the best one that does (the worker's report says which, and why). */
export function setBackend(backend: BackendName, fallback = false): void {
  call({ type: 'set-backend', backend, ...(fallback ? { fallback } : {}) });
}

let handOvers = 0;

/**
 * Imports dropped or chosen files (images, and masks in a masks/ folder or given apart) as a dataset: handed to
 * the worker a slice at a time (./handOver.ts), then the ingest message.
 */
export function ingestFiles(files: FileEntry[], extraMasks: FileEntry[], size: number): void {
  const { images, masks } = splitMasks(files);
  const allMasks = [...masks, ...extraMasks];
  const s = useStudio.getState();
  s.ingestStarted(`Importing ${plural(images.length, 'file')}…`, images.length + allMasks.length);
  const handOver = `hand-over-${++handOvers}`;
  void handOverFiles({
    id: handOver,
    files: images,
    masks: allMasks,
    post: (m) => call(m),
    onProgress: (done, total) => s.ingestHandingOver(done, total),
  }).then(() => call({ type: 'ingest', name: datasetNameOf(images), size, files: [], handOver }));
}

/** Creates a demo dataset; training starts once it is stored. */
export function createDemo(demo: DemoKind, title: string, size: number, count: number): void {
  useStudio.getState().ingestStarted(`Creating the ${title} demo…`, 0, true);
  call({ type: 'create-demo', demo, size, count });
}

export function deleteDataset(id: string): void {
  call({ type: 'delete-dataset', id });
}

// ---------------------------------------------------------------------------------------------------------
// Training

/**
 * A new run on the selected dataset with the form's settings (checked here first: a refusal is shown, nothing sent).
 * `fromDemo`: the demo's own start (its guide stays); any other start ends the demo's guide.
 */
export function startTraining(fromDemo = false): void {
  const s = useStudio.getState();
  if (!fromDemo) s.demoEnded();
  const d = s.datasets.find((x) => x.id === s.selectedDatasetId);
  if (!d) {
    s.reportError('training', 'choose or import a dataset first');
    return;
  }
  let config: RedoConfig;
  try {
    if (d.size !== 32 && d.size !== 64 && d.size !== 128)
      throw new Error(`the dataset is ${d.size} px; the model takes 32, 64 or 128 px images`);
    config = validateConfig({ ...s.config, imageSize: d.size });
  } catch (e) {
    s.reportError('training', e instanceof Error ? e.message : String(e));
    return;
  }
  const { count, steps } = s.starts;
  if (count > 1 && !(Number.isInteger(count) && Number.isInteger(steps) && steps >= 1)) {
    s.reportError('training', `starts: a whole number of starts and of iterations per start (≥ 1), got ${count} × ${steps}`);
    return;
  }
  s.trainingStarted();
  call({ type: 'start', datasetId: d.id, config, seed: s.seed, options: s.options, ...(count > 1 ? { starts: s.starts } : {}) });
}

export function pauseTraining(): void {
  call({ type: 'pause' });
}

export function resumeTraining(): void {
  call({ type: 'resume' });
}

/** Step: exactly one iteration of the paused run (every view then shows that step). */
export function stepTraining(): void {
  call({ type: 'step' });
}

/** Knobs mid-run: learning rates, λz, Adam's β, from the next iteration on (checked in the worker). */
export function setKnobs(knobs: Partial<Knobs>): void {
  call({ type: 'set-knobs', knobs });
}

export function stopTraining(): void {
  call({ type: 'stop' });
}

/** Loop settings: the form's, and the running loop's at once. */
export function setLoopOptions(patch: Partial<LoopOptions>): void {
  useStudio.getState().setOptions(patch);
  call({ type: 'set-options', options: patch });
}

/** Reopens a stored run from its last checkpoint (training at once, or paused). */
export function resumeRun(runId: string, autostart: boolean): void {
  useStudio.getState().demoEnded();
  call({ type: 'resume-run', runId, options: useStudio.getState().options, autostart });
}

/** Opens a run held by another tab as soon as that tab releases it (paused). */
export function takeOverRun(runId: string): void {
  call({ type: 'take-over', runId, options: useStudio.getState().options });
}

export function deleteRun(runId: string): void {
  call({ type: 'delete-run', runId });
}

// ---------------------------------------------------------------------------------------------------------
// Compare runs

/** Adds stored runs to the comparison (their curves and configs come back as `compared`). */
export function compareRuns(runIds: string[]): void {
  if (!runIds.length) return;
  useStudio.getState().compareStarted();
  call({ type: 'compare', runIds });
}

/** Adds a run archive (.zip) to the comparison; it is read and checked, nothing else changes. */
export function compareArchive(file: File): void {
  useStudio.getState().compareStarted();
  call({ type: 'compare-archive', fileName: file.name, file });
}

/** The committed objects-32 checkpoint (F alone, docs/recipe-objects-32.md), served with the app. */
export const OBJECTS_CHECKPOINT = 'models/objects-32-F.safetensors';

/** Imports the committed objects-32 checkpoint as weights, as a file chosen under Run files would be. */
export function importObjectsCheckpoint(): void {
  const s = useStudio.getState();
  s.importStarted();
  void fetch(`${import.meta.env.BASE_URL}${OBJECTS_CHECKPOINT}`)
    .then(async (r) => {
      if (!r.ok) throw new Error(`${OBJECTS_CHECKPOINT}: HTTP ${r.status}`);
      const name = OBJECTS_CHECKPOINT.split('/').pop()!;
      call({ type: 'import', fileName: name, file: await r.blob(), fallbackConfig: { ...s.config, imageSize: 32 } });
    })
    .catch((e: unknown) => s.receive({ type: 'error', context: 'import', message: e instanceof Error ? e.message : String(e) }));
}

// ---------------------------------------------------------------------------------------------------------
// Run files and segmentation

/** The run as a zip: the worker builds it, the download starts when it arrives (see startWorker). */
export function exportRun(): void {
  useStudio.getState().exportStarted();
  call({ type: 'export' });
}

/** Set while "Export segmenter" waits for the run archive it is cut from. */
let segmenterPending = false;

/** F, the segmenter module and a ready page as a zip (./segmenterExport.ts), cut from the run's export. */
export function exportSegmenter(): void {
  segmenterPending = true;
  exportRun();
}

async function finishSegmenterExport(run: Extract<FromWorker, { type: 'export-ready' }>): Promise<void> {
  segmenterPending = false;
  const s = useStudio.getState();
  try {
    const zip = await segmenterZip(run.bytes, run.fileName);
    download(zip.bytes, zip.fileName, 'application/zip');
    s.receive({ ...run, ...zip });
  } catch (e) {
    s.receive({ type: 'error', context: 'export', message: e instanceof Error ? e.message : String(e) });
  }
}

/** A run archive (.zip) or weights (.safetensors); an F-only file takes the form's image size. */
export function importFile(file: File): void {
  const s = useStudio.getState();
  s.importStarted();
  call({ type: 'import', fileName: file.name, file, fallbackConfig: s.config });
}

export function continueImported(datasetId: string): void {
  call({ type: 'continue-imported', datasetId, options: useStudio.getState().options });
}

/** The current run's mask network F alone (.safetensors): its best one (held-out IoU) or its latest. */
export function exportWeights(which: WhichF): void {
  useStudio.getState().exportStarted();
  call({ type: 'export-weights', which });
}

/** `which`: with the current run, its best F or its latest. */
export function segmentImages(source: SegmentSource, files: FileEntry[], which: WhichF = 'last'): void {
  if (!files.length) return;
  useStudio.getState().segmentStarted();
  call({ type: 'segment', source, files, which });
}
