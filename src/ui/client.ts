/** The one training worker and the typed `send` to it; its messages go to the store. */
import type { FromWorker, ToWorker } from '../worker/protocol';
import { useStudio } from './store';

let worker: Worker | null = null;

export function startWorker(): void {
  if (worker) return;
  worker = new Worker(new URL('../worker/trainingWorker.ts', import.meta.url), { type: 'module', name: 'redo-training' });
  worker.onmessage = (e: MessageEvent<FromWorker>) => useStudio.getState().receive(e.data);
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    useStudio.getState().receive({ type: 'error', context: 'training', message: `the training worker failed: ${e.message || 'unknown error (see the console)'}` });
  };
  const s = useStudio.getState();
  send({ type: 'init', backend: s.requestedBackend });
  send({ type: 'list-datasets' });
  send({ type: 'list-runs' });
}

export function send(msg: ToWorker, transfer: Transferable[] = []): void {
  if (!worker) startWorker();
  worker!.postMessage(msg, transfer);
}
