import * as tf from './tf';
import type { RedoConfig } from './config';
import { RedoModel, type NetworkId } from './redo';
import { RedoTrainer } from './trainer';
import { exportWeights, importWeights } from './weights';
import { fromTorch, toTorch } from './params';
import type { NamedTensorData } from './weights';

/**
 * Everything needed to continue a run exactly: weights and spectral-norm state (torch names and layout),
 * each optimizer's moments and step, the iteration and restart counters and the run seed (from which every
 * z draw and batch choice is derived, so no other RNG state exists).
 */
export interface TrainingState {
  config: RedoConfig;
  seed: number;
  iteration: number;
  restarts: number;
  /** Of `restarts`, those the blob watch made (absent in files older than it: 0). */
  blobRestarts?: number;
  weights: Map<string, NamedTensorData>;
  /** Per network: Adam step count and moments, keyed `<param key>.exp_avg` / `.exp_avg_sq` as torch names them. */
  optimizer: Record<NetworkId, { step: number; tensors: Map<string, NamedTensorData> }>;
}

const NETS: NetworkId[] = ['F', 'G', 'D', 'Z'];

export async function captureTrainingState(trainer: RedoTrainer): Promise<TrainingState> {
  const model = trainer.model;
  const weights = await exportWeights(model);
  const optimizer = {} as TrainingState['optimizer'];
  for (const net of NETS) {
    const adam = trainer.optimizer(net);
    const { step, m, v } = adam.state();
    const keys = [...m.keys()];
    const torch = tf.tidy(() =>
      keys.flatMap((k) => {
        const spec = model.store.spec(k); // moments share their parameter's layout
        return [toTorch(spec, m.get(k)!), toTorch(spec, v.get(k)!)];
      }),
    );
    for (const t of [...m.values(), ...v.values()]) t.dispose();
    const datas = await Promise.all(torch.map((t) => t.data() as Promise<Float32Array>));
    const tensors = new Map<string, NamedTensorData>();
    keys.forEach((k, i) => {
      const shape = weights.get(k)!.shape;
      tensors.set(`${k}.exp_avg`, { shape, data: datas[2 * i]! });
      tensors.set(`${k}.exp_avg_sq`, { shape, data: datas[2 * i + 1]! });
    });
    for (const t of torch) t.dispose();
    optimizer[net] = { step, tensors };
  }
  return {
    config: trainer.config,
    seed: trainer.seed,
    iteration: trainer.iteration,
    restarts: trainer.restarts,
    blobRestarts: trainer.blobRestarts,
    weights,
    optimizer,
  };
}

/** Loads a captured state into a trainer built with the same config. Validates everything before changing anything. */
export function restoreTrainingState(trainer: RedoTrainer, state: TrainingState): void {
  const model = trainer.model;
  for (const net of NETS) {
    const o = state.optimizer[net];
    if (!o) throw new Error(`checkpoint lacks optimizer state of ${net}`);
    for (const k of trainer.optimizer(net).params.map((p) => p.key)) {
      for (const suffix of ['exp_avg', 'exp_avg_sq']) {
        if (!o.tensors.has(`${k}.${suffix}`)) throw new Error(`checkpoint lacks optimizer tensor ${k}.${suffix}`);
      }
    }
  }
  importWeights(model, state.weights);
  for (const net of NETS) {
    const o = state.optimizer[net];
    const m = new Map<string, tf.Tensor>();
    const v = new Map<string, tf.Tensor>();
    for (const { key } of trainer.optimizer(net).params) {
      const spec = model.store.spec(key);
      m.set(key, fromTorch(spec, o.tensors.get(`${key}.exp_avg`)!.data));
      v.set(key, fromTorch(spec, o.tensors.get(`${key}.exp_avg_sq`)!.data));
    }
    trainer.optimizer(net).setState(o.step, m, v);
    for (const t of [...m.values(), ...v.values()]) t.dispose();
  }
  trainer.iteration = state.iteration;
  trainer.restarts = state.restarts;
  trainer.blobRestarts = state.blobRestarts ?? 0;
}

/** A model and trainer rebuilt from a training state (a checkpoint or an imported run); nothing is left allocated if it does not fit. */
export function restoreTrainer(state: TrainingState): { model: RedoModel; trainer: RedoTrainer } {
  const model = new RedoModel(state.config, state.seed, { uninitialised: true });
  const trainer = new RedoTrainer(model, state.seed);
  try {
    restoreTrainingState(trainer, state);
  } catch (e) {
    trainer.dispose();
    model.dispose();
    throw e;
  }
  return { model, trainer };
}
