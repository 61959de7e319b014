/**
 * Worker side of e2e/harness/studio-loop.html (driven by bench/browser-speed.ts): the studio's own training
 * loop — `TrainingSession` from src/worker/session.ts with the backend selection of src/worker/backend.ts,
 * exactly the code trainingWorker.ts runs — against bare `trainer.step` calls, in a Web Worker as in the
 * studio, in one page, alternating, on the same backend, preset and seed.
 *
 * - bare: N × (sampleBatches + trainer.step + dispose), ONE readback after the last step (the fastest
 *   possible use of trainStep: no loss reading, no previews, nothing posted).
 * - studio: a TrainingSession with the studio's loop options (losses read every `lossEvery` steps, previews
 *   and accuracy/IoU every `previewEvery`, checkpoints to IndexedDB every `checkpointEvery` and at the end,
 *   status / loss / preview messages posted to the page) started and timed until it reports `finished`
 *   (its final checkpoint included).
 * - memory: tf.memory() is sampled every time a timed studio round posts new losses (right after a flush: no
 *   loss tensors pending), and over one more TrainingSession of `leakSteps` steps when leakSteps > 0; the
 *   tensor count and WebGPU bytes in use must be the same at every sample, across rounds too.
 */
import * as tf from '../../src/redo/tf';
import { RedoModel, RedoTrainer, disposeLosses, readLosses, preset, type ImageSet, type StepLosses } from '../../src/redo';
import { selectBackend } from '../../src/worker/backend';
import { TrainingSession, type LoadedDataset } from '../../src/worker/session';
import type { FromWorker, LoopOptions } from '../../src/worker/protocol';
import { emptyLoopReport, type FromLoopWorker, type LoopReport, type LoopRequest, type MemoryPoint } from './studioLoopMessages';

const scope = self as unknown as { postMessage(msg: FromLoopWorker): void; onmessage: ((e: MessageEvent<LoopRequest>) => void) | null };
const progress = (phase: string, detail: string) => scope.postMessage({ type: 'progress', progress: { phase, detail } });

function randomDataset(count: number, size: number, seed: number): LoadedDataset {
  const pixels = new Float32Array(count * size * size * 3);
  const masks = new Float32Array(count * size * size);
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
  for (let i = 0; i < pixels.length; i++) pixels[i] = next() * 2 - 1;
  // A centred square as "ground truth", so the studio also measures accuracy / IoU at every preview (as with the demo).
  for (let n = 0; n < count; n++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        masks[(n * size + y) * size + x] = Math.abs(y - size / 2) < size / 4 && Math.abs(x - size / 2) < size / 4 ? 1 : 0;
  const images: ImageSet = { count, size, pixels };
  return {
    summary: { id: `bench-${size}`, name: 'bench (random pixels)', size, count, hasMasks: true, createdAt: new Date(0).toISOString() },
    images,
    names: Array.from({ length: count }, (_, i) => `img${i}.png`),
    masks,
  };
}

function memoryNow(step: number): MemoryPoint {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number };
  return {
    step,
    numTensors: m.numTensors,
    numBytes: m.numBytes,
    ...(typeof m.numBytesInGPU === 'number' ? { gpuBytesInUse: m.numBytesInGPU } : {}),
    ...(typeof m.numBytesAllocatedInGPU === 'number' ? { gpuBytesAllocated: m.numBytesAllocatedInGPU } : {}),
  };
}

async function bare(req: LoopRequest, data: ImageSet): Promise<number> {
  const config = preset(req.preset, { batchSize: req.batch });
  const model = new RedoModel(config, req.seed);
  const trainer = new RedoTrainer(model, req.seed);
  try {
    const t0 = performance.now();
    let last: StepLosses | null = null;
    for (let i = 0; i < req.steps; i++) {
      const l = trainer.stepOn(data, { batchSeed: req.seed });
      if (last) disposeLosses(last);
      last = l;
    }
    if (last) {
      await readLosses(last); // the one readback: the device has finished every step
      disposeLosses(last);
    }
    return (performance.now() - t0) / req.steps;
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** Runs one TrainingSession to `steps`; resolves with its wall time once it reports `finished`. */
function studio(
  req: LoopRequest,
  dataset: LoadedDataset,
  steps: number,
  options: Omit<LoopOptions, 'maxSteps'>,
  onMessage: (msg: FromWorker, session: TrainingSession) => void,
): Promise<{ ms: number; restarts: number }> {
  const config = preset(req.preset, { batchSize: req.batch });
  return new Promise((resolve, reject) => {
    let session: TrainingSession | null = null;
    let t0 = 0;
    let settled = false;
    const post = (msg: FromWorker) => {
      if (!session || settled) return;
      onMessage(msg, session);
      if (msg.type === 'error') {
        settled = true;
        reject(new Error(`studio loop (${msg.context}): ${msg.message}`));
      } else if (msg.type === 'status' && (msg.status.state === 'finished' || msg.status.state === 'stopped')) {
        settled = true;
        const ms = performance.now() - t0;
        const s = session;
        const restarts = s.trainer.restarts;
        s.dispose();
        resolve({ ms, restarts });
      }
    };
    try {
      session = TrainingSession.create({
        runId: `bench-${config.imageSize}-${Date.now()}`,
        dataset,
        config,
        seed: req.seed,
        options: { ...options, maxSteps: steps },
        post,
      });
      t0 = performance.now();
      session.start();
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}

async function run(req: LoopRequest, report: LoopReport): Promise<void> {
  const b = await selectBackend(req.backend);
  if (b.active !== req.backend) throw new Error(`backend ${req.backend} could not start: ${b.fallbackReason ?? 'unknown reason'}`);
  report.adapter = b.adapter ? [b.adapter.vendor, b.adapter.architecture, b.adapter.description].filter(Boolean).join(' / ') : '';
  const config = preset(req.preset, { batchSize: req.batch });
  report.batch = config.batchSize;
  const dataset = randomDataset(Math.max(64, 2 * config.batchSize), config.imageSize, req.seed);

  // Warm-up: every shader / kernel both loops use (train step, previews, metrics, checkpoint) compiled once.
  progress('warm-up', 'studio loop, 2 steps with a preview and a checkpoint each');
  await studio(req, dataset, 2, { lossEvery: 1, previewEvery: 1, checkpointEvery: 1 }, () => undefined);
  progress('warm-up', 'bare, 2 steps');
  await bare({ ...req, steps: 2 }, dataset.images);

  const counts = report.studioMessages;
  for (let r = 0; r < req.rounds; r++) {
    progress('timed', `round ${r + 1}/${req.rounds}: bare ${req.steps} steps`);
    report.bareMsPerStep.push(await bare(req, dataset.images));
    progress(
      'timed',
      `round ${r + 1}/${req.rounds}: studio loop ${req.steps} steps (last bare ${report.bareMsPerStep.at(-1)!.toFixed(0)} ms/step)`,
    );
    const s = await studio(req, dataset, req.steps, req.options, (msg, session) => {
      if (msg.type === 'status') counts.status++;
      else if (msg.type === 'losses') {
        counts.losses++;
        // Memory after every loss flush of every timed studio round (fresh session each round: the same numbers
        // again unless something outlives a session).
        if (msg.chunk.step.length) report.memory.push(memoryNow(session.trainer.iteration));
      } else if (msg.type === 'previews') counts.previews++;
      else if (msg.type === 'checkpoint-saved') counts.checkpoints++;
    });
    report.studioMsPerStep.push(s.ms / req.steps);
    report.restarts += s.restarts;
    report.memorySteps += req.steps;
  }

  if (req.leakSteps > 0) {
    // A longer run on top: its samples follow those of the timed rounds.
    progress('memory', `studio loop ${req.leakSteps} steps, tf.memory() after every loss flush`);
    let lastShown = 0;
    const s = await studio(req, dataset, req.leakSteps, req.options, (msg, session) => {
      if (msg.type !== 'losses' || msg.chunk.step.length === 0) return;
      const step = session.trainer.iteration;
      report.memory.push(memoryNow(step));
      if (step - lastShown >= 20) {
        lastShown = step;
        progress('memory', `step ${step}/${req.leakSteps}: ${tf.memory().numTensors} tensors`);
      }
    });
    report.memorySteps += req.leakSteps;
    report.restarts += s.restarts;
  }
}

scope.onmessage = (e: MessageEvent<LoopRequest>) => {
  const req = e.data;
  const report = emptyLoopReport(req);
  run(req, report)
    .catch((err: unknown) => {
      report.error = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
    })
    .finally(() => scope.postMessage({ type: 'done', report }));
};
