import * as tf from '../src/redo/tf';
import '@tensorflow/tfjs-backend-webgpu';
import { preset, RedoModel, RedoTrainer, readLosses, disposeLosses } from '../src/redo';
const post = (s: string) => postMessage(s);
async function main() {
  post('gpu ' + String('gpu' in navigator));
  const ad = await (navigator as any).gpu?.requestAdapter();
  post('adapter ' + JSON.stringify(ad ? { v: ad.info?.vendor, a: ad.info?.architecture, d: ad.info?.description } : null));
  const ok = await tf.setBackend('webgpu');
  await tf.ready();
  post('setBackend ' + ok + ' ' + tf.getBackend());
  const config = preset('tiny', { batchSize: 4 });
  const model = new RedoModel(config, 1);
  const trainer = new RedoTrainer(model, 1);
  const x = tf.randomUniform([4, 32, 32, 3], -1, 1) as tf.Tensor4D;
  const xr = tf.randomUniform([4, 32, 32, 3], -1, 1) as tf.Tensor4D;
  for (let i = 0; i < 12; i++) {
    const t = performance.now();
    const l = trainer.step(x, xr);
    const v = await readLosses(l); disposeLosses(l);
    post(`step ${i} ${(performance.now() - t).toFixed(0)}ms ${JSON.stringify(v)} tensors=${tf.memory().numTensors} gpu=${(tf.memory() as any).numBytesInGPU}`);
  }
  post('DONE');
}
main().catch((e) => post('FAIL ' + (e?.stack ?? e)));
