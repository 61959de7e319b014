/**
 * The training Web Worker: backend selection, dataset ingest / storage, the training loop, previews, checkpoints,
 * export / import and segmentation. The UI talks to it only through ./protocol.ts messages; ./handlers.ts handles
 * them, this file binds that handler to the worker's port.
 */
import { createWorkerHandler } from './handlers';
import type { FromWorker, ToWorker } from './protocol';

const scope = self as unknown as {
  postMessage(msg: FromWorker, transfer: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};

const handle = createWorkerHandler((msg, transfer = []) => scope.postMessage(msg, transfer));

scope.onmessage = (e: MessageEvent<ToWorker>) => void handle(e.data);
