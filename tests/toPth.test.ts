/**
 * A run handed to PyTorch and back (scripts/to_pth.py, pth_iterate.py, convert_pth.py), against the authors' code
 * as the oracle: `/usr/bin/python3` with torch (Debian's python3-torch, 1.13; scripts/setup.sh installs it) and the
 * authors' networks in ../shared/reference (models_small.py builds our `tiny` at 32 px with the same names).
 *
 * 1. to_pth → convert_pth with nothing in between gives back the run bit for bit (weights, Adam moments and steps,
 *    iteration, configuration, seed, loss history), and the state file holds what the authors' train.py loads.
 * 2. Five of the authors' iterations in PyTorch from our archive, then back: the step counter and Adam steps are
 *    8, the weights are PyTorch's (float64 sums of every tensor equal), and our trainer resumes to step 9.
 * 3. One PyTorch iteration from our exported weights + Adam state on the same x, x_real and z as one of our steps:
 *    the same losses, weights, Adam moments and spectral-norm vectors within float32 tolerance (below).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '../src/redo/tf';
import {
  captureTrainingState,
  disposeLosses,
  preset,
  readLosses,
  RedoModel,
  RedoTrainer,
  restoreTrainer,
  type TrainingState,
} from '../src/redo';
import { encodeSafetensors } from '../src/formats/safetensors';
import { buildRunArchive, readRunArchive } from '../src/formats/runArchive';
import type { LossHistory } from '../src/formats/history';
import { TrainingRun } from '../src/run/trainingRun';
import { runSteps } from '../src/node/headless';
import { setupBackend } from '../src/node/backend';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const REFERENCE = resolve(__dirname, '..', '..', 'shared', 'reference');
const SCRIPTS = resolve(__dirname, '..', 'scripts');
const NETS = ['F', 'G', 'D', 'Z'] as const;

let dir: string;
let runZip: string;
let before: TrainingState;

/** Runs one of our Python scripts; its stdout, or a failure that shows its stderr. */
function py(script: string, args: string[]): string {
  const r = spawnSync(PYTHON, [join(SCRIPTS, script), ...args], { encoding: 'utf8', timeout: 120_000 });
  const err = (r.stderr ?? '')
    .split('\n')
    .filter((l) => l && !/Warning|warn\(/.test(l))
    .join('\n');
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited with ${r.status ?? r.signal}:\n${err}\n${r.stdout}`);
  return r.stdout;
}

function lastJson<T>(stdout: string): T {
  return JSON.parse(
    stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop()!,
  ) as T;
}

const read = async (path: string) => readRunArchive(new Uint8Array(readFileSync(path)));

function randomImages(count: number, seed: number) {
  let s = seed;
  const pixels = new Float32Array(count * 32 * 32 * 3).map(() => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
  return { count, size: 32, pixels };
}

/** float64 sum of a tensor's values in storage (torch) order: what pth_iterate.py prints per state_dict entry. */
const sum = (d: Float32Array) => d.reduce((a, v) => a + v, 0);

beforeAll(async () => {
  await setupBackend('wasm');
  const check = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (check.status !== 0) {
    throw new Error(`${PYTHON} cannot import torch (scripts/setup.sh installs Debian's python3-torch): ${check.stderr}`);
  }
  if (!existsSync(join(REFERENCE, 'models_small.py'))) throw new Error(`${REFERENCE}/models_small.py is missing (the authors' networks)`);
  dir = mkdtempSync(join(tmpdir(), 'redo-topth-'));
  // a tiny run three steps in, so that every Adam moment is non-trivial
  const model = new RedoModel(preset('tiny'), 5);
  const trainer = new RedoTrainer(model, 5);
  const data = randomImages(16, 9);
  const history: LossHistory = { step: [], gAdv: [], gRecZ: [], dReal: [], dFake: [] };
  for (let i = 1; i <= 3; i++) {
    const l = await readLosses(trainer.stepOn(data));
    history.step.push(i);
    history.gAdv.push(l.gAdv);
    history.gRecZ.push(l.gRecZ);
    history.dReal.push(l.dReal);
    history.dFake.push(l.dFake);
  }
  before = await captureTrainingState(trainer);
  trainer.dispose();
  model.dispose();
  runZip = join(dir, 'run.zip');
  writeFileSync(runZip, await buildRunArchive({ state: before, history, dataset: { name: 'noise', count: 16, size: 32 } }));
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('to_pth.py / convert_pth.py: a run handed to PyTorch and back', () => {
  it('round trip with nothing in between: bit for bit, and the state file holds what train.py loads', async () => {
    const out = py('to_pth.py', [runZip, '-o', join(dir, 'rt'), '--models', REFERENCE]);
    expect(out).toMatch(/wrote .*state_00003\.pth \(iteration 3; Adam steps \{'F': 3, 'G': 3, 'D': 3, 'Z': 3\}/);
    // what the authors' train.py reads: torch.load(state)[key] for the nets and optimizers, options.pth as a Namespace
    const probe = spawnSync(
      PYTHON,
      [
        '-c',
        [
          'import json, sys, torch',
          's = torch.load(sys.argv[1], weights_only=False); o = torch.load(sys.argv[2], weights_only=False)',
          'a = s["optimizerGenX"]; g = a["param_groups"][0]',
          'print(json.dumps(dict(keys=sorted(s), iteration=o.iteration, sizex=o.sizex, nfX=o.nfX, att=[o.useSelfAttG, o.useSelfAttD],' +
            ' best=o.bestValIoU, step=[float(v["step"]) for v in a["state"].values()][:3], n=len(a["state"]),' +
            ' group=sorted(k for k in g if k != "params"), betas=list(g["betas"]),' +
            ' wd=s["optimizerEncM"]["param_groups"][0]["weight_decay"])))',
        ].join('\n'),
        join(dir, 'rt', 'state_00003.pth'),
        join(dir, 'rt', 'options.pth'),
      ],
      { encoding: 'utf8' },
    );
    expect(probe.status, probe.stderr).toBe(0);
    const s = lastJson<Record<string, unknown>>(probe.stdout);
    const keys = ['netDX', 'netEncM', 'netGenX', 'netRecZ', 'optimizerDX', 'optimizerEncM', 'optimizerGenX', 'optimizerRecZ', 'options'];
    expect(s.keys).toEqual(keys.sort());
    expect(s).toMatchObject({ iteration: 3, sizex: 32, nfX: 4, att: [true, true], best: 0, step: [3, 3, 3], betas: [0, 0.9], wd: 1e-4 });
    expect(s.n).toBe(before.optimizer.G.tensors.size / 2);
    const group = ['amsgrad', 'betas', 'capturable', 'differentiable', 'eps', 'foreach', 'fused', 'lr', 'maximize', 'weight_decay'];
    expect(s.group).toEqual(group);

    lastJson(py('convert_pth.py', [join(dir, 'rt', 'state_00003.pth'), '-o', join(dir, 'rt.zip')]));
    const back = await read(join(dir, 'rt.zip'));
    const orig = await read(runZip);
    expect(back.state.iteration).toBe(3);
    expect(back.state.config).toEqual(orig.state.config);
    expect([back.state.seed, back.state.restarts]).toEqual([5, 0]);
    expect(back.manifest.dataset).toEqual({ name: 'noise', count: 16, size: 32 });
    expect(back.history).toEqual(orig.history);
    expect([...back.state.weights.keys()].sort()).toEqual([...orig.state.weights.keys()].sort());
    for (const [k, t] of orig.state.weights) expect(back.state.weights.get(k)!.data, k).toEqual(t.data);
    for (const net of NETS) {
      expect(back.state.optimizer[net].step).toBe(3);
      for (const [k, t] of orig.state.optimizer[net].tensors) expect(back.state.optimizer[net].tensors.get(k)!.data, k).toEqual(t.data);
    }
  }, 180_000);

  it("five of the authors' iterations in PyTorch, back: step 8, PyTorch's weights, and our trainer resumes to 9", async () => {
    py('to_pth.py', [runZip, '-o', join(dir, 'five'), '--models', REFERENCE]);
    const r = lastJson<{ iteration: number; sums: Record<string, number> }>(
      py('pth_iterate.py', [join(dir, 'five', 'state_00003.pth'), '--iterations', '5', '--models', REFERENCE, '--seed', '3']),
    );
    expect(r.iteration).toBe(8);
    const c = lastJson<{ iteration: number; adamSteps: Record<string, number> }>(
      py('convert_pth.py', [join(dir, 'five', 'state_00008.pth'), '-o', join(dir, 'five.zip')]),
    );
    expect(c).toMatchObject({ iteration: 8, adamSteps: { F: 8, G: 8, D: 8, Z: 8 } });
    const back = await read(join(dir, 'five.zip'));
    expect(back.state.iteration).toBe(8);
    for (const net of NETS) expect(back.state.optimizer[net].step).toBe(8);
    // the weights are exactly what PyTorch left (float64 sums of every tensor, same order), and they moved
    expect(Object.keys(r.sums).sort()).toEqual([...back.state.weights.keys()].sort());
    let moved = 0;
    for (const [k, t] of back.state.weights) {
      expect(sum(t.data), k).toBe(r.sums[k]);
      if (sum(t.data) !== sum(before.weights.get(k)!.data)) moved++;
    }
    expect(moved).toBeGreaterThan(back.state.weights.size / 2);
    // our trainer continues the run: history (3 rows from before) and step counter 8 → 9
    const data = randomImages(16, 4);
    const run = TrainingRun.restore({
      state: back.state,
      history: back.history,
      data: { images: data, info: back.manifest.dataset },
      evalSet: null,
    });
    try {
      expect(run.totalSteps).toBe(8);
      await runSteps(run, 1, { evalEvery: 0, checkpointEvery: 0 });
      expect(run.totalSteps).toBe(9);
      expect(run.trainer.iteration).toBe(9);
      for (const net of NETS) expect(run.trainer.optimizer(net).stepCount).toBe(9);
      expect(run.history.step).toEqual([1, 2, 3, 9]);
      for (const v of [run.history.gAdv, run.history.dReal].map((a) => a.at(-1)!)) expect(Number.isFinite(v)).toBe(true);
    } finally {
      run.dispose();
    }
  }, 180_000);

  it('one PyTorch iteration from our weights and Adam state = one of our steps on the same x, x_real, z', async () => {
    const B = before.config.batchSize;
    const { nRegions: n, nz } = before.config;
    const x = tf.randomUniform<tf.Rank.R4>([B, 32, 32, 3], -1, 1, 'float32', 31);
    const xReal = tf.randomUniform<tf.Rank.R4>([B, 32, 32, 3], -1, 1, 'float32', 32);
    const z = tf.randomNormal<tf.Rank.R3>([B, n, nz], 0, 1, 'float32', 33);
    const nchw = async (t: tf.Tensor4D) => ({ shape: [B, 3, 32, 32], data: (await tf.transpose(t, [0, 3, 1, 2]).data()) as Float32Array });
    const inputs = new Map([
      ['x', await nchw(x)],
      ['xReal', await nchw(xReal)],
      ['z', { shape: [B, n, nz], data: (await z.data()) as Float32Array }],
    ]);
    writeFileSync(join(dir, 'inputs.safetensors'), encodeSafetensors(inputs, {}));

    // ours: the run restored, one step
    const { model, trainer } = restoreTrainer(before);
    const l = trainer.step(x, xReal, z);
    const ours = await readLosses(l);
    disposeLosses(l);
    const after = await captureTrainingState(trainer);
    trainer.dispose();
    model.dispose();
    tf.dispose([x, xReal, z]);

    // theirs: to_pth, the authors' iteration on the same inputs, back
    py('to_pth.py', [runZip, '-o', join(dir, 'one'), '--models', REFERENCE]);
    const r = lastJson<{ iteration: number; losses: Record<string, number> }>(
      py('pth_iterate.py', [join(dir, 'one', 'state_00003.pth'), '--inputs', join(dir, 'inputs.safetensors'), '--models', REFERENCE]),
    );
    expect(r.iteration).toBe(4);
    py('convert_pth.py', [join(dir, 'one', 'state_00004.pth'), '-o', join(dir, 'one.zip')]);
    const theirs = (await read(join(dir, 'one.zip'))).state;

    for (const k of ['gAdv', 'gRecZ', 'dReal', 'dFake'] as const) {
      const theirsK = r.losses[k]!;
      const bound = 1e-4 * Math.max(1, Math.abs(theirsK));
      expect(Math.abs(ours[k] - theirsK), `${k}: ours ${ours[k]} torch ${theirsK}`).toBeLessThanOrEqual(bound);
    }
    // Weights: compare each tensor's UPDATE (after − before). Adam divides by √v: a gradient that is zero in exact
    // arithmetic (tests/golden.test.ts: biases feeding an instance norm) is rounding noise whose sign decides a full
    // step either way. With β1 = 0 a step is lr·g/√(v/(1 − β2^t)) and v ≥ (1 − β2)·g², so |step| ≤ lr·√((1 − β2^t)/(1 − β2))
    // and two opposite steps differ by at most twice that: those tensors get that bound (the test prints them);
    // every other tensor's update must agree to 1e-3 of its largest value.
    const report: Array<{ tensor: string; maxUpdate: number; maxError: number; bound: string }> = [];
    const { adamBeta2: b2 } = before.config;
    const maxStep = Math.sqrt((1 - b2 ** 4) / (1 - b2));
    const lr = (k: string) => (k.startsWith('netEncM.') ? before.config.lrF : before.config.lrG);
    for (const [k, t0] of before.weights) {
      const a = after.weights.get(k)!.data;
      const b = theirs.weights.get(k)!.data;
      let maxUpdate = 0;
      let maxError = 0;
      for (let i = 0; i < a.length; i++) {
        maxUpdate = Math.max(maxUpdate, Math.abs(b[i]! - t0.data[i]!));
        maxError = Math.max(maxError, Math.abs(a[i]! - b[i]!));
      }
      const relOk = maxError <= 1e-3 * maxUpdate + 1e-7;
      report.push({ tensor: k, maxUpdate, maxError, bound: relOk ? 'relative' : `noise (${(2 * maxStep).toFixed(2)}·lr)` });
      if (!relOk) expect(maxError, `${k}: update ${maxUpdate}, error ${maxError}`).toBeLessThanOrEqual(2 * maxStep * lr(k) * (1 + 1e-6));
    }
    const noisy = report.filter((x) => x.bound !== 'relative');
    console.log(`weights: ${report.length - noisy.length} tensors within 1e-3 of their update, ${noisy.length} at the noise bound:`);
    console.table(noisy);
    expect(noisy.length).toBeLessThan(report.length / 4);
    // Adam moments: m = this step's gradient (β1 = 0), v its running square. As in tests/golden.test.ts, each tensor
    // must agree to 1e-3 of its largest value, with a float32 noise floor of 1e-6 × the network's largest value of
    // that moment (gradients that are zero in exact arithmetic are rounding noise on both sides).
    for (const net of NETS) {
      expect(theirs.optimizer[net].step).toBe(4);
      expect(after.optimizer[net].step).toBe(4);
      for (const suffix of ['.exp_avg', '.exp_avg_sq']) {
        const names = [...after.optimizer[net].tensors.keys()].filter((k) => k.endsWith(suffix));
        const maxAbs = (d: Float32Array) => d.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const netScale = Math.max(...names.map((k) => maxAbs(theirs.optimizer[net].tensors.get(k)!.data)));
        for (const k of names) {
          const a = after.optimizer[net].tensors.get(k)!.data;
          const b = theirs.optimizer[net].tensors.get(k)!.data;
          let err = 0;
          for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
          const bound = 1e-3 * maxAbs(b) + 1e-6 * netScale;
          expect(err, `${k}: max error ${err} (largest ${maxAbs(b)}, network ${netScale})`).toBeLessThanOrEqual(bound);
        }
      }
    }
    // the spectral-norm vectors after the step's power iterations
    for (const [k, t] of after.weights) {
      if (!/weight_[uv]$/.test(k)) continue;
      const b = theirs.weights.get(k)!.data;
      for (let i = 0; i < b.length; i++) expect(Math.abs(t.data[i]! - b[i]!), k).toBeLessThanOrEqual(1e-4);
    }
  }, 180_000);
});
