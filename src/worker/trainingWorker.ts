/**
 * The training Web Worker: backend selection, dataset ingest / storage, the training loop, previews,
 * checkpoints, export / import and segmentation. The UI talks to it only through ./protocol.ts messages.
 */
import * as tf from '../redo/tf';
import { type NamedTensorData, type RedoConfig, type TrainingState } from '../redo';
import { createDemoDataset, createObjectsDemoDataset, deleteDataset, listDatasets, loadDataset } from '../data/datasets';
import { ingestDataset, IngestError, type IngestInput } from '../data/ingest';
import { deleteRun, listRuns, loadLatestCheckpoint } from '../data/checkpoints';
import { ArchiveError, readRunArchive, readWeightsFile, type LossHistory } from './runArchive';
import { isZip } from '../data/zip';
import { selectBackend } from './backend';
import { segmentFiles } from './segmentImages';
import { errorText, newRunId, TrainingSession, type LoadedDataset } from './session';
import { emptyHistory, idleStatus, type BackendName, type ErrorContext, type FromWorker, type ImportedModel, type LoopOptions, type ToWorker } from './protocol';

const scope = self as unknown as {
  postMessage(msg: FromWorker, transfer: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};

function post(msg: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(msg, transfer);
}

function fail(context: ErrorContext, e: unknown): void {
  post({ type: 'error', context, message: errorText(e) });
}

let backend: BackendName | null = null;
let session: TrainingSession | null = null;
/** What an import produced, waiting for the user's choice (continue training / segment). */
let imported: { model: ImportedModel; weights: Map<string, NamedTensorData>; state?: TrainingState; history?: LossHistory } | null = null;

function postStatus(): void {
  if (session) session.postStatus(true);
  else post({ type: 'status', status: idleStatus(tf.memory().numTensors) });
}

async function setBackend(requested: BackendName): Promise<void> {
  if (session && (session.state === 'running' || session.state === 'pausing')) {
    throw new Error('pause training before switching the backend');
  }
  const report = await selectBackend(requested);
  backend = report.active;
  if (report.active && session) {
    // Tensors live on the old backend: rebuild the run from its last checkpoint on the new one.
    const runId = session.runId;
    const options = session.options;
    await dropSession();
    await resumeRun(runId, options, false);
  }
  post({ type: 'backend', report });
}

function requireBackend(): void {
  if (!backend) throw new Error('no compute backend is active: WebGPU is not available here; choose WebAssembly, WebGL or CPU above');
}

async function refreshDatasets(): Promise<void> {
  post({ type: 'datasets', list: await listDatasets() });
}

async function refreshRuns(): Promise<void> {
  post({ type: 'runs', list: await listRuns() });
}

async function load(datasetId: string): Promise<LoadedDataset> {
  return loadDataset(datasetId);
}

/**
 * Makes `s` the current run. A run the NaN / Inf guard stopped is dropped: the status goes idle and the studio
 * offers its last good checkpoint, as after a reload.
 */
function adopt(s: TrainingSession): TrainingSession {
  s.onFailure = () => {
    if (session !== s) return;
    session = null;
    s.dispose();
    postStatus();
    void refreshRuns().catch((e: unknown) => fail('runs', e));
  };
  session = s;
  return s;
}

/** Pauses (with its checkpoint) and frees the current run. */
async function dropSession(): Promise<void> {
  if (!session) return;
  const s = session;
  await s.pause();
  session = null;
  s.dispose();
}

async function ingest(msg: Extract<ToWorker, { type: 'ingest' }>): Promise<void> {
  const t0 = performance.now();
  let last = 0;
  const toInputs = (list: { name: string; file: Blob }[]): IngestInput[] => list.map((f) => ({ name: f.name, bytes: f.file }));
  post({ type: 'ingest-progress', done: 0, total: msg.files.length + (msg.masks?.length ?? 0), phase: 'reading' });
  try {
    const result = await ingestDataset({
      name: msg.name,
      size: msg.size,
      files: toInputs(msg.files),
      masks: msg.masks ? toInputs(msg.masks) : undefined,
      onProgress: (done, total) => {
        const now = performance.now();
        if (done === total || now - last > 100) {
          last = now;
          post({ type: 'ingest-progress', done, total, phase: 'decoding' });
        }
      },
    });
    const list = await listDatasets();
    post({ type: 'datasets', list });
    post({ type: 'ingest-done', result, summary: list.find((d) => d.id === result.datasetId) ?? null, ms: performance.now() - t0 });
  } catch (e) {
    post({ type: 'ingest-failed', message: errorText(e), rejected: e instanceof IngestError ? e.rejected : [] });
  }
}

async function startRun(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  requireBackend();
  await dropSession();
  const dataset = await load(msg.datasetId);
  const s = adopt(TrainingSession.create({ runId: newRunId(), dataset, config: msg.config, seed: msg.seed, options: msg.options, post }));
  s.postFullHistory();
  s.start();
}

async function resumeRun(runId: string, options: LoopOptions, autostart: boolean): Promise<void> {
  requireBackend();
  await dropSession();
  const runs = await listRuns();
  const record = runs.find((r) => r.runId === runId);
  if (!record) throw new Error(`run ${runId} has no checkpoint (deleted?)`);
  const ckpt = await loadLatestCheckpoint(runId);
  if (!ckpt) throw new Error(`run ${runId} has no complete checkpoint`);
  const dataset = await load(record.datasetId);
  const s = adopt(TrainingSession.restore({ runId, dataset, state: ckpt.state, history: ckpt.history, options, post }));
  s.postFullHistory();
  s.postStatus(true);
  if (autostart) s.start();
  else await s.previewNow();
}

/** Reads a run archive (.zip) or a bare weights file (.safetensors). A refused file changes nothing. */
async function importFile(msg: Extract<ToWorker, { type: 'import' }>): Promise<void> {
  requireBackend();
  const bytes = new Uint8Array(await msg.file.arrayBuffer());
  const lower = msg.fileName.toLowerCase();
  if (lower.endsWith('.zip') || isZip(bytes)) {
    const r = await readRunArchive(bytes, msg.fileName); // throws ArchiveError with the reason
    imported = {
      model: {
        kind: 'run',
        fileName: msg.fileName,
        config: r.manifest.config,
        step: r.manifest.step,
        restarts: r.manifest.restarts,
        trainable: true,
        dataset: r.manifest.dataset,
      },
      weights: r.state.weights,
      state: r.state,
      history: r.history,
    };
  } else {
    // a bare weights file (or a .pth, refused with how to convert it): checked whole by readWeightsFile
    const w = readWeightsFile(msg.fileName, bytes, msg.fallbackConfig.imageSize);
    const { config, trainable, configSource } = w;
    const model: ImportedModel = { kind: 'weights', fileName: msg.fileName, config, step: 0, restarts: 0, trainable, configSource };
    imported = { model, weights: w.tensors };
  }
  post({ type: 'imported', model: imported.model });
}

async function continueImported(datasetId: string, options: LoopOptions): Promise<void> {
  requireBackend();
  if (!imported) throw new Error('nothing imported yet');
  if (!imported.model.trainable) throw new Error('this file holds only the mask network: it can segment images but not continue training');
  const imp = imported;
  const dataset = await load(datasetId);
  if (dataset.images.size !== imp.model.config.imageSize) {
    throw new Error(`the imported model is ${imp.model.config.imageSize} px but dataset "${dataset.summary.name}" is ${dataset.images.size} px: pick a dataset of that size`);
  }
  await dropSession();
  const runId = newRunId();
  const s = adopt(
    imp.state
      ? TrainingSession.restore({ runId, dataset, state: imp.state, history: imp.history ?? emptyHistory(), options, post })
      : TrainingSession.create({ runId, dataset, config: imp.model.config, seed: 0, options, post, weights: imp.weights }),
  );
  s.postFullHistory();
  await s.exclusive(() => s.checkpoint()); // persisted at once: a reload offers it
  await s.previewNow();
  await refreshRuns();
}

async function segment(msg: Extract<ToWorker, { type: 'segment' }>): Promise<void> {
  requireBackend();
  let config: RedoConfig;
  let weights: ReadonlyMap<string, NamedTensorData>;
  if (msg.source === 'imported') {
    if (!imported) throw new Error('import a model first (.zip run archive or .safetensors weights)');
    config = imported.model.config;
    weights = imported.weights;
  } else {
    if (!session) throw new Error('no current model: start or resume a run, or import one');
    config = session.config;
    weights = await session.maskWeights();
  }
  const r = await segmentFiles(config, weights, msg.files);
  post({ type: 'segmented', images: r.images, rejected: r.rejected });
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init':
    case 'set-backend':
      try {
        await setBackend(msg.backend);
      } catch (e) {
        fail('backend', e);
      }
      postStatus();
      return;
    case 'list-datasets':
      return refreshDatasets().catch((e: unknown) => fail('datasets', e));
    case 'ingest':
      return ingest(msg);
    case 'create-demo': {
      const t0 = performance.now();
      try {
        const summary = await (msg.demo === 'objects' ? createObjectsDemoDataset : createDemoDataset)(msg.size, msg.count);
        await refreshDatasets();
        post({ type: 'ingest-done', result: { datasetId: summary.id, accepted: summary.count, rejected: [], warnings: [] }, summary, ms: performance.now() - t0 });
      } catch (e) {
        post({ type: 'ingest-failed', message: errorText(e), rejected: [] });
      }
      return;
    }
    case 'delete-dataset':
      try {
        if (session?.dataset.summary.id === msg.id) throw new Error('this dataset is in use by the current run: stop the run first');
        await deleteDataset(msg.id);
      } catch (e) {
        fail('datasets', e);
      }
      return refreshDatasets().catch((e: unknown) => fail('datasets', e));
    case 'list-runs':
      return refreshRuns().catch((e: unknown) => fail('runs', e));
    case 'delete-run':
      try {
        if (session?.runId === msg.runId) {
          const s = session;
          session = null;
          await s.pause();
          s.dispose();
        }
        await deleteRun(msg.runId);
      } catch (e) {
        fail('runs', e);
      }
      postStatus();
      return refreshRuns().catch((e: unknown) => fail('runs', e));
    case 'start':
      try {
        await startRun(msg);
      } catch (e) {
        fail('training', e);
        postStatus();
      }
      return refreshRuns().catch((e: unknown) => fail('runs', e));
    case 'pause':
      if (session) {
        await session.pause();
        await refreshRuns().catch((e: unknown) => fail('runs', e));
      }
      return;
    case 'resume':
      if (!session) return fail('training', new Error('no run to resume'));
      try {
        requireBackend();
        session.start();
      } catch (e) {
        fail('training', e);
      }
      return;
    case 'stop':
      if (session) {
        await session.stop();
        await refreshRuns().catch((e: unknown) => fail('runs', e));
      }
      return;
    case 'set-options':
      session?.setOptions(msg.options);
      return;
    case 'resume-run':
      try {
        await resumeRun(msg.runId, msg.options, msg.autostart);
      } catch (e) {
        fail('checkpoint', e);
        postStatus();
      }
      return;
    case 'export':
      try {
        if (!session) throw new Error('no run to export: start or resume one first');
        const bytes = await session.exportArchive();
        const safeName = (session.dataset.summary.name || 'run').replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40);
        post({ type: 'export-ready', fileName: `redo-${safeName}-step${session.trainer.iteration}.zip`, bytes }, [bytes.buffer]);
      } catch (e) {
        fail('export', e);
      }
      return;
    case 'import':
      try {
        await importFile(msg);
      } catch (e) {
        fail('import', e instanceof ArchiveError || e instanceof Error ? e : new Error(String(e)));
      }
      return;
    case 'continue-imported':
      try {
        await continueImported(msg.datasetId, msg.options);
      } catch (e) {
        fail('import', e);
      }
      postStatus();
      return;
    case 'segment':
      try {
        await segment(msg);
      } catch (e) {
        fail('segment', e);
      }
      return;
  }
}

// Messages are handled one at a time, in order, except pause / stop / options, which must reach a running
// loop at once (the loop yields between steps).
let queue: Promise<void> = Promise.resolve();
const IMMEDIATE = new Set<ToWorker['type']>(['pause', 'stop', 'set-options', 'list-datasets', 'list-runs']);

scope.onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (IMMEDIATE.has(msg.type)) {
    void handle(msg).catch((err: unknown) => fail('training', err));
    return;
  }
  queue = queue.then(() => handle(msg)).catch((err: unknown) => fail('training', err));
};
