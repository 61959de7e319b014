/**
 * The training worker's message handling: one route per message type (a table typed per message), the worker's
 * state in one object, and one wrapper that turns a failure into the reply the UI expects (an `error` with the
 * route's context, or the route's own failure message) and then runs the route's follow-ups (status, lists).
 * No `self` here: src/worker/trainingWorker.ts binds it to the worker's port; tests drive it with a plain `post`.
 */
import * as tf from '../redo/tf';
import type { NamedTensorData, RedoConfig, TrainingState } from '../redo';
import { weightsChecksum } from '../redo/weights';
import { createDemoDataset, createObjectsDemoDataset, deleteDataset, listDatasets, loadDataset } from '../data/datasets';
import { ingestDataset, IngestError, type IngestInput } from '../data/ingest';
import { deleteRun, listRuns, loadLatestCheckpoint, loadRunHistory } from '../data/checkpoints';
import { readRunArchive, readWeightsFile, type BestF, type StartRecord } from '../formats/runArchive';
import { emptyHistory, type LossHistory } from '../formats/history';
import { isZip } from '../formats/zip';
import { destroyDevice, selectBackend, selectBestBackend, watchDeviceLoss } from './backend';
import { platformLocks, RunLocks } from './runLock';
import { segmentFiles } from './segmentImages';
import { errorText, newRunId, TrainingSession, type Post } from './session';
import {
  idleStatus,
  type BackendName,
  type ComparedRun,
  type ErrorContext,
  type FileEntry,
  type FromWorker,
  type ImportedModel,
  type LoopOptions,
  type ToWorker,
  type WeightsChecksum,
} from './protocol';

/** What an import produced, waiting for the user's choice (continue training / segment). */
interface Imported {
  model: ImportedModel;
  weights: Map<string, NamedTensorData>;
  state?: TrainingState;
  history?: LossHistory;
  /** A run archive's best F and best-of-K starts, carried into the run it continues as. */
  best?: BestF;
  starts?: StartRecord[];
}

/** Everything the worker holds between messages. */
interface WorkerState {
  backend: BackendName | null;
  session: TrainingSession | null;
  imported: Imported | null;
  /** The Web Locks of the runs this worker has open (one tab per run). */
  locks: RunLocks;
  /** Files handed over in parts (ingest-part), by hand-over id, until their ingest message. */
  handOvers: Map<string, { files: FileEntry[]; masks: FileEntry[] }>;
}

/** What is posted after a message, whatever its outcome. */
type FollowUp = 'status' | 'datasets' | 'runs';

interface Route<M extends ToWorker> {
  /** What an error of this message is about (the UI files it there). */
  context: ErrorContext;
  run: (msg: M) => Promise<void>;
  /** The reply to a failure, instead of `{ type: 'error', context }`. */
  failure?: (e: unknown) => FromWorker;
  then?: readonly FollowUp[];
}

type Routes = { [K in ToWorker['type']]: Route<Extract<ToWorker, { type: K }>> };

/** Messages handled at once, not after the message in progress: they must reach a running loop (it yields between steps). */
const IMMEDIATE = new Set<ToWorker['type']>([
  'pause',
  'stop',
  'set-options',
  'list-datasets',
  'list-runs',
  'ping',
  'take-over',
  'test-destroy-device',
]);

/** The worker's message handler: messages are handled one at a time, in order, except IMMEDIATE ones. */
export function createWorkerHandler(post: Post, locks = new RunLocks(platformLocks())): (msg: ToWorker) => Promise<void> {
  const w: WorkerState = { backend: null, session: null, imported: null, locks, handOvers: new Map() };

  const postStatus = (): void => {
    if (w.session) w.session.postStatus(true);
    // tf.memory() would start the engine's preferred backend: without one chosen, there is nothing to count
    else post({ type: 'status', status: idleStatus(w.backend ? tf.memory().numTensors : 0) });
  };

  const requireBackend = (): void => {
    if (!w.backend) throw new Error('no compute backend is active: WebGPU is not available here; choose WebAssembly, WebGL or CPU above');
  };

  const requireSession = (why: string): TrainingSession => {
    if (!w.session) throw new Error(why);
    return w.session;
  };

  /** Pauses (with its checkpoint) and frees the current run. */
  const dropSession = async (): Promise<void> => {
    const s = w.session;
    if (!s) return;
    await s.pause();
    w.session = null;
    s.dispose();
    w.locks.release(s.runId);
  };

  /** Takes a fresh run's lock (no other tab can know its id yet, so it is granted). */
  const claimNew = async (runId: string): Promise<void> => {
    if (!(await w.locks.tryAcquire(runId))) throw new Error(`run ${runId} is open in another tab`);
  };

  /**
   * Makes `s` the current run: the UI gets its whole history. A run the NaN / Inf guard stops is dropped: the
   * status goes idle and the studio offers its last good checkpoint, as after a reload.
   */
  const open = (s: TrainingSession): TrainingSession => {
    s.onFailure = () => {
      if (w.session !== s) return;
      w.session = null;
      s.dispose();
      w.locks.release(s.runId);
      postStatus();
      void followUps.runs().catch((e: unknown) => post({ type: 'error', context: 'runs', message: errorText(e) }));
    };
    w.session = s;
    s.postFullHistory();
    s.postStarts();
    return s;
  };

  const setBackend = async (requested: BackendName, fallback = false): Promise<void> => {
    const s = w.session;
    if (s && (s.state === 'running' || s.state === 'pausing')) throw new Error('pause training before switching the backend');
    const report = await (fallback ? selectBestBackend : selectBackend)(requested);
    w.backend = report.active;
    watchDeviceLoss((info) => post({ type: 'device-lost', ...info }));
    if (report.active && s) {
      // Tensors live on the old backend: rebuild the run from its last checkpoint on the new one.
      const { runId, options } = s;
      await dropSession();
      await resumeRun(runId, options, false);
    }
    post({ type: 'backend', report });
  };

  const resumeRun = async (runId: string, options: LoopOptions, autostart: boolean): Promise<void> => {
    requireBackend();
    const record = (await listRuns()).find((r) => r.runId === runId);
    if (!record) throw new Error(`run ${runId} has no checkpoint (deleted?)`);
    if (!(await w.locks.tryAcquire(runId))) {
      post({ type: 'run-locked', runId, waiting: false });
      return;
    }
    if (w.session?.runId !== runId) await dropSession();
    else {
      // Reopening the open run: drop it without letting the lock go.
      const s = w.session;
      await s.pause();
      w.session = null;
      s.dispose();
    }
    const ckpt = await loadLatestCheckpoint(runId);
    if (!ckpt) throw new Error(`run ${runId} has no complete checkpoint`);
    const dataset = await loadDataset(record.datasetId);
    const s = open(
      TrainingSession.restore({
        runId,
        dataset,
        state: ckpt.state,
        history: ckpt.history,
        options,
        post,
        best: ckpt.best,
        starts: ckpt.starts,
      }),
    );
    s.postStatus(true);
    if (autostart) s.start();
    else await s.previewNow();
  };

  const ingest = async (msg: Extract<ToWorker, { type: 'ingest' }>): Promise<void> => {
    const t0 = performance.now();
    let last = 0;
    const toInputs = (list: { name: string; file: Blob }[]): IngestInput[] => list.map((f) => ({ name: f.name, bytes: f.file }));
    const parts = msg.handOver ? w.handOvers.get(msg.handOver) : undefined;
    if (msg.handOver) w.handOvers.delete(msg.handOver);
    const files = parts ? [...parts.files, ...msg.files] : msg.files;
    const masks = parts ? [...parts.masks, ...(msg.masks ?? [])] : (msg.masks ?? []);
    post({ type: 'ingest-progress', done: 0, total: files.length + masks.length, phase: 'reading' });
    const result = await ingestDataset({
      name: msg.name,
      size: msg.size,
      files: toInputs(files),
      masks: masks.length ? toInputs(masks) : undefined,
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
  };

  const createDemo = async (msg: Extract<ToWorker, { type: 'create-demo' }>): Promise<void> => {
    const t0 = performance.now();
    const summary = await (msg.demo === 'objects' ? createObjectsDemoDataset : createDemoDataset)(msg.size, msg.count);
    post({ type: 'datasets', list: await listDatasets() });
    post({
      type: 'ingest-done',
      result: { datasetId: summary.id, accepted: summary.count, rejected: [], warnings: [] },
      summary,
      ms: performance.now() - t0,
    });
  };

  /** Reads a run archive (.zip) or a bare weights file (.safetensors). A refused file changes nothing. */
  const importFile = async (msg: Extract<ToWorker, { type: 'import' }>): Promise<void> => {
    requireBackend();
    const bytes = new Uint8Array(await msg.file.arrayBuffer());
    w.imported =
      msg.fileName.toLowerCase().endsWith('.zip') || isZip(bytes)
        ? await importArchive(msg.fileName, bytes)
        : importWeightsFile(msg, bytes);
    post({ type: 'imported', model: w.imported.model });
  };

  const continueImported = async (msg: Extract<ToWorker, { type: 'continue-imported' }>): Promise<void> => {
    requireBackend();
    const imp = w.imported;
    if (!imp) throw new Error('nothing imported yet');
    if (!imp.model.trainable) throw new Error('this file holds only the mask network: it can segment images but not continue training');
    const dataset = await loadDataset(msg.datasetId);
    if (dataset.images.size !== imp.model.config.imageSize) {
      throw new Error(
        `the imported model is ${imp.model.config.imageSize} px but dataset "${dataset.summary.name}" is ` +
          `${dataset.images.size} px: pick a dataset of that size`,
      );
    }
    await dropSession();
    const runId = newRunId();
    await claimNew(runId);
    const { options } = msg;
    const s = open(
      imp.state
        ? TrainingSession.restore({
            runId,
            dataset,
            state: imp.state,
            history: imp.history ?? emptyHistory(),
            options,
            post,
            best: imp.best ?? null,
            starts: imp.starts ?? [],
          })
        : TrainingSession.create({ runId, dataset, config: imp.model.config, seed: 0, options, post, weights: imp.weights }),
    );
    await s.exclusive(() => s.checkpoint()); // persisted at once: a reload offers it
    await s.previewNow();
  };

  const segment = async (msg: Extract<ToWorker, { type: 'segment' }>): Promise<void> => {
    requireBackend();
    let config: RedoConfig;
    let weights: ReadonlyMap<string, NamedTensorData>;
    if (msg.source === 'imported') {
      if (!w.imported) throw new Error('import a model first (.zip run archive or .safetensors weights)');
      config = w.imported.model.config;
      weights = w.imported.weights;
    } else {
      const s = requireSession('no current model: start or resume a run, or import one');
      config = s.config;
      weights = await s.maskWeights(msg.which ?? 'last');
    }
    const r = await segmentFiles(config, weights, msg.files);
    post({ type: 'segmented', images: r.images, rejected: r.rejected });
  };

  /** The open run's weights now and its latest stored checkpoint's, as checksums (the recovery tests compare them). */
  const checksums = async (): Promise<void> => {
    const s = w.session;
    let live: WeightsChecksum | null = null;
    let checkpoint: WeightsChecksum | null = null;
    if (s) {
      const state = await s.exclusive(() => s.run.captureState());
      live = { step: state.iteration, checksum: weightsChecksum(state.weights) };
      const stored = await loadLatestCheckpoint(s.runId);
      if (stored) checkpoint = { step: stored.state.iteration, checksum: weightsChecksum(stored.state.weights) };
    }
    post({ type: 'checksums', runId: s?.runId ?? null, live, checkpoint });
  };

  /** Stored runs' config, seed and history (their latest checkpoints, weights left unread) for Compare runs. */
  const compare = async (msg: Extract<ToWorker, { type: 'compare' }>): Promise<void> => {
    const runs: ComparedRun[] = [];
    for (const runId of msg.runIds) {
      const r = await loadRunHistory(runId);
      if (!r) throw new Error(`run ${runId} has no checkpoint (deleted?)`);
      runs.push({ id: runId, label: runId, source: 'stored', config: r.config, seed: r.seed, step: r.iteration, history: r.history });
    }
    post({ type: 'compared', runs });
  };

  /** A run archive read and checked as an import is (its shapes on a model: a backend), kept only as curves to compare. */
  const compareArchive = async (msg: Extract<ToWorker, { type: 'compare-archive' }>): Promise<void> => {
    requireBackend();
    const r = await readRunArchive(new Uint8Array(await msg.file.arrayBuffer()), msg.fileName);
    const m = r.manifest;
    const run: ComparedRun = {
      id: `archive:${msg.fileName}`,
      label: msg.fileName,
      source: 'archive',
      config: m.config,
      seed: m.seed,
      step: m.step,
      history: r.history,
    };
    post({ type: 'compared', runs: [run] });
  };

  const ingestFailed = (e: unknown): FromWorker => ({
    type: 'ingest-failed',
    message: errorText(e),
    rejected: e instanceof IngestError ? e.rejected : [],
  });

  const routes: Routes = {
    init: { context: 'backend', run: (m) => setBackend(m.backend), then: ['status'] },
    'set-backend': { context: 'backend', run: (m) => setBackend(m.backend, m.fallback), then: ['status'] },
    'list-datasets': { context: 'datasets', run: async () => undefined, then: ['datasets'] },
    ingest: { context: 'ingest', run: ingest, failure: ingestFailed },
    'ingest-part': {
      context: 'ingest',
      run: async (m) => {
        const h = w.handOvers.get(m.handOver) ?? { files: [], masks: [] };
        w.handOvers.set(m.handOver, h);
        for (const f of m.files) h.files.push(f);
        for (const f of m.masks) h.masks.push(f);
      },
    },
    'create-demo': { context: 'ingest', run: createDemo, failure: ingestFailed },
    'delete-dataset': {
      context: 'datasets',
      run: async (m) => {
        if (w.session?.dataset.summary.id === m.id) throw new Error('this dataset is in use by the current run: stop the run first');
        await deleteDataset(m.id);
      },
      then: ['datasets'],
    },
    'list-runs': { context: 'runs', run: async () => undefined, then: ['runs'] },
    compare: { context: 'compare', run: compare },
    'compare-archive': { context: 'compare', run: compareArchive },
    'delete-run': {
      context: 'runs',
      run: async (m) => {
        if (w.session?.runId === m.runId) await dropSession();
        if (!(await w.locks.tryAcquire(m.runId))) throw new Error('this run is open in another tab: close it there before deleting it');
        try {
          await deleteRun(m.runId);
        } finally {
          w.locks.release(m.runId);
        }
      },
      then: ['status', 'runs'],
    },
    start: {
      context: 'training',
      run: async (m) => {
        requireBackend();
        await dropSession();
        const dataset = await loadDataset(m.datasetId);
        const runId = newRunId();
        await claimNew(runId);
        const starts = m.starts && m.starts.count >= 2 ? { starts: m.starts } : {};
        open(TrainingSession.create({ runId, dataset, config: m.config, seed: m.seed, options: m.options, post, ...starts })).start();
      },
      then: ['status', 'runs'],
    },
    pause: { context: 'training', run: async () => w.session?.pause(), then: ['runs'] },
    resume: {
      context: 'training',
      run: async () => {
        const s = requireSession('no run to resume');
        requireBackend();
        s.start();
      },
    },
    stop: { context: 'training', run: async () => w.session?.stop(), then: ['runs'] },
    'set-options': { context: 'training', run: async (m) => w.session?.setOptions(m.options) },
    step: {
      context: 'training',
      run: async () => {
        requireBackend();
        await requireSession('no run to step: start or resume one, then pause it').step();
      },
      then: ['runs'],
    },
    'set-knobs': {
      context: 'training',
      run: async (m) => {
        await requireSession('no run to change: start or resume one first').setKnobs(m.knobs);
      },
      then: ['status'],
    },
    'resume-run': { context: 'checkpoint', run: (m) => resumeRun(m.runId, m.options, m.autostart), then: ['status'] },
    export: {
      context: 'export',
      run: async () => {
        const s = requireSession('no run to export: start or resume one first');
        const bytes = await s.exportArchive();
        post({ type: 'export-ready', fileName: `redo-${safeName(s)}-step${s.trainer.iteration}.zip`, bytes, kind: 'run' }, [bytes.buffer]);
      },
    },
    'export-weights': {
      context: 'export',
      run: async (m) => {
        const s = requireSession('no run to export: start or resume one first');
        const { bytes, step } = await s.exportMaskWeights(m.which);
        const fileName = `redo-${safeName(s)}-F-${m.which}-step${step}.safetensors`;
        post({ type: 'export-ready', fileName, bytes, kind: 'weights' }, [bytes.buffer]);
      },
    },
    import: { context: 'import', run: importFile },
    'continue-imported': { context: 'import', run: continueImported, then: ['status', 'runs'] },
    segment: { context: 'segment', run: segment },
    ping: { context: 'training', run: async () => post({ type: 'pong' }) },
    'take-over': {
      context: 'checkpoint',
      run: async (m) => {
        post({ type: 'run-locked', runId: m.runId, waiting: true });
        // Waits outside the message queue (other messages go on); the run opens, paused, once the lock is ours.
        void w.locks
          .wait(m.runId)
          .then(() => dispatch({ type: 'resume-run', runId: m.runId, options: m.options, autostart: false }))
          .catch((e: unknown) => post({ type: 'error', context: 'checkpoint', message: errorText(e) }));
      },
    },
    'test-destroy-device': {
      context: 'backend',
      run: async () => {
        if (!destroyDevice()) throw new Error('no WebGPU device to destroy: the active backend is not WebGPU');
      },
    },
    checksums: { context: 'training', run: checksums },
  };

  const followUps: Record<FollowUp, () => Promise<void>> = {
    status: async () => postStatus(),
    datasets: async () => post({ type: 'datasets', list: await listDatasets() }),
    runs: async () => post({ type: 'runs', list: await listRuns() }),
  };
  const followUpContext: Record<FollowUp, ErrorContext> = { status: 'training', datasets: 'datasets', runs: 'runs' };

  /** The one wrapper: the route, its failure reply, its follow-ups (each failing on its own). */
  async function handle<M extends ToWorker>(route: Route<M>, msg: M): Promise<void> {
    try {
      await route.run(msg);
    } catch (e) {
      post(route.failure ? route.failure(e) : { type: 'error', context: route.context, message: errorText(e) });
    }
    for (const f of route.then ?? []) {
      await followUps[f]().catch((e: unknown) => post({ type: 'error', context: followUpContext[f], message: errorText(e) }));
    }
  }

  // Whatever escapes the wrapper (a message that cannot be posted) is reported, and the queue goes on.
  const guarded = (p: Promise<void>): Promise<void> =>
    p.catch((e: unknown) => post({ type: 'error', context: 'training', message: errorText(e) }));
  let queue: Promise<void> = Promise.resolve();
  function dispatch(msg: ToWorker): Promise<void> {
    const route = routes[msg.type] as Route<typeof msg>;
    if (IMMEDIATE.has(msg.type)) return guarded(handle(route, msg));
    queue = queue.then(() => guarded(handle(route, msg)));
    return queue;
  }
  return dispatch;
}

/** The dataset's name as a file-name part. */
function safeName(s: TrainingSession): string {
  return (s.dataset.summary.name || 'run').replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40);
}

async function importArchive(fileName: string, bytes: Uint8Array): Promise<Imported> {
  const r = await readRunArchive(bytes, fileName); // throws ArchiveError with the reason
  const m = r.manifest;
  return {
    model: { kind: 'run', fileName, config: m.config, step: m.step, restarts: m.restarts, trainable: true, dataset: m.dataset },
    weights: r.state.weights,
    state: r.state,
    history: r.history,
    ...(r.best ? { best: r.best } : {}),
    ...(m.starts ? { starts: m.starts } : {}),
  };
}

/** A bare weights file (or a .pth, refused with how to convert it), checked whole by readWeightsFile. */
function importWeightsFile(msg: Extract<ToWorker, { type: 'import' }>, bytes: Uint8Array): Imported {
  const { tensors, config, trainable, configSource } = readWeightsFile(msg.fileName, bytes, msg.fallbackConfig.imageSize);
  return { model: { kind: 'weights', fileName: msg.fileName, config, step: 0, restarts: 0, trainable, configSource }, weights: tensors };
}
