/**
 * The NaN / Inf guard. A loss or a weight that is no longer finite ends a run at that step (NonFiniteError says
 * which step, which loss and which network), and no checkpoint or archive holding a non-finite value is written:
 * the writers call assertFiniteTensors on what they are about to encode, the loops check every loss reading
 * (RedoTrainer.checkFinite, on the losses they read back anyway).
 */
import * as tf from './tf';
import { NETWORKS, type NetworkId, type RedoModel } from './redo';
import type { NamedTensorData } from './weights';

export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
  constructor(
    message: string,
    /** The step the caller named (null where none was known, e.g. a file being encoded). */
    readonly step: number | null = null,
  ) {
    super(message);
  }
}

/** What the user reads for each network. */
export const NETWORK_NAMES: Record<NetworkId, string> = {
  F: 'F (mask network)',
  G: 'G (region generators)',
  D: 'D (discriminator)',
  Z: 'δ (z reconstructor)',
};

/** The network a state_dict key (or an Adam moment's `<key>.exp_avg`) belongs to, by its prefix. */
export function networkOfKey(key: string): NetworkId | null {
  for (const [net, prefix] of Object.entries(NETWORKS) as Array<[NetworkId, string]>) if (key.startsWith(`${prefix}.`)) return net;
  return null;
}

/**
 * How many values of `data` are NaN or ±Inf. One float64 sum first (NaN and ±Inf propagate through it, and a
 * sum of finite float32 values cannot overflow a double), so the common all-finite case is a single pass.
 */
export function countNonFinite(data: Float32Array): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i]!;
  if (Number.isFinite(s)) return 0;
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) n++;
  return n;
}

/** Every tensor holding a non-finite value, with how many, in the map's order. */
export function nonFiniteTensors(tensors: ReadonlyMap<string, NamedTensorData>): Array<{ name: string; count: number; size: number }> {
  const out: Array<{ name: string; count: number; size: number }> = [];
  for (const [name, t] of tensors) {
    const count = countNonFinite(t.data);
    if (count > 0) out.push({ name, count, size: t.data.length });
  }
  return out;
}

/**
 * Throws NonFiniteError when any tensor holds NaN or ±Inf: `what` names the file or state ("the weights"), the
 * message names the networks, the first tensor and how many tensors are affected.
 */
export function assertFiniteTensors(tensors: ReadonlyMap<string, NamedTensorData>, what: string, step: number | null = null): void {
  const bad = nonFiniteTensors(tensors);
  if (bad.length === 0) return;
  const nets = [...new Set(bad.map((b) => networkOfKey(b.name)))].map((n) => (n ? NETWORK_NAMES[n] : 'other tensors'));
  const first = bad[0]!;
  const more = bad.length > 1 ? `, and ${bad.length - 1} more tensor${bad.length > 2 ? 's' : ''}` : '';
  throw new NonFiniteError(
    `non-finite values (NaN or Inf) in ${what}${step !== null ? ` at step ${step}` : ''}, in ${nets.join(', ')}: ` +
      `${first.name} has ${first.count} of ${first.size}${more}`,
    step,
  );
}

/** The names of the readings that are not finite numbers. */
export function nonFiniteKeys<T extends Record<string, number>>(values: T): Array<keyof T & string> {
  return (Object.keys(values) as Array<keyof T & string>).filter((k) => !Number.isFinite(values[k]));
}

/**
 * The networks with a non-finite weight (any tensor of their state: parameters and spectral-norm vectors), in
 * F, G, D, δ order. One readback of four numbers; meant for after a loss went non-finite, not for every step.
 */
export async function nonFiniteNetworks(model: RedoModel): Promise<NetworkId[]> {
  const nets = Object.keys(NETWORKS) as NetworkId[];
  const counts = tf.tidy(() =>
    tf.stack(
      nets.map((net) => {
        const keys = model.store.keys({ prefix: `${NETWORKS[net]}.` });
        const perTensor = keys.map((k) => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(model.store.get(k))), 'float32')));
        return perTensor.length ? tf.addN(perTensor) : tf.scalar(0);
      }),
    ),
  );
  try {
    const v = await counts.data();
    return nets.filter((_, i) => v[i]! > 0);
  } finally {
    counts.dispose();
  }
}
