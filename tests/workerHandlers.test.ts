/**
 * The worker's message table (src/worker/handlers.ts) in Node, on the CPU backend with IndexedDB faked: each failure
 * comes back once, with its message's context; follow-ups (status, lists) come after every outcome; a run started,
 * exported and deleted goes through the same drop path (checkpoint on pause, tensors freed).
 */
import 'fake-indexeddb/auto';
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import { preset } from '../src/redo/config';
import { closeStudioDb } from '../src/data/db';
import { createDemoDatasetFromDigits } from '../src/data/datasets';
import { readRunArchive } from '../src/formats/runArchive';
import { loadMnistDigitsNode } from '../src/node/mnistNode';
import { createWorkerHandler } from '../src/worker/handlers';
import type { FromWorker } from '../src/worker/protocol';
import { until } from './helpers/runs';

const messages: FromWorker[] = [];
const handle = createWorkerHandler((m) => messages.push(m));
const types = () => messages.map((m) => m.type);
const errors = () => messages.flatMap((m) => (m.type === 'error' ? [`${m.context}: ${m.message}`] : []));

describe('the worker handler table', () => {
  afterAll(() => closeStudioDb());

  it('without a backend or a run: one error each, with its context, then the follow-ups', async () => {
    await handle({ type: 'resume' });
    await handle({ type: 'export' });
    await handle({
      type: 'start',
      datasetId: 'nope',
      config: preset('tiny'),
      seed: 1,
      options: { lossEvery: 1, previewEvery: 0, checkpointEvery: 0, maxSteps: 1 },
    });
    expect(errors()).toEqual([
      'training: no run to resume',
      'export: no run to export: start or resume one first',
      'training: no compute backend is active: WebGPU is not available here; choose WebAssembly, WebGL or CPU above',
    ]);
    expect(types().slice(-2)).toEqual(['status', 'runs']); // start: status and the run list, whatever happened
    messages.length = 0;
    await handle({ type: 'ingest', name: 'empty', size: 32, files: [] });
    expect(types()).toEqual(['ingest-progress', 'ingest-failed']);
  });

  it('a run started, exported and deleted', async () => {
    messages.length = 0;
    await handle({ type: 'init', backend: 'cpu' });
    const report = messages.find((m) => m.type === 'backend');
    expect(report?.type === 'backend' && report.report.active).toBe('cpu');
    expect(types().at(-1)).toBe('status');
    const before = tf.memory().numTensors;

    const summary = await createDemoDatasetFromDigits(loadMnistDigitsNode(), 32, 8);
    messages.length = 0;
    const options = { lossEvery: 1, previewEvery: 0, checkpointEvery: 0, maxSteps: 2 };
    await handle({ type: 'start', datasetId: summary.id, config: preset('tiny'), seed: 2, options });
    const finished = () => messages.some((m) => m.type === 'status' && m.status.state === 'finished');
    await until(finished, 'the run to finish');
    await handle({ type: 'export' });
    const ready = messages.find((m) => m.type === 'export-ready');
    if (ready?.type !== 'export-ready') throw new Error(`no export: ${errors().join('; ')}`);
    expect(ready.fileName).toMatch(/-step2\.zip$/);
    expect((await readRunArchive(ready.bytes)).history.step).toEqual([1, 2]);

    const runId = messages.flatMap((m) => (m.type === 'status' && m.status.runId ? [m.status.runId] : []))[0]!;
    messages.length = 0;
    await handle({ type: 'delete-run', runId });
    const status = messages.filter((m) => m.type === 'status').at(-1);
    expect(status?.type === 'status' && status.status.state).toBe('idle');
    const runs = messages.filter((m) => m.type === 'runs').at(-1);
    expect(runs?.type === 'runs' && runs.list).toEqual([]);
    expect(errors()).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
