/** The run archive: bit-exact round trip, resumability, and every refusal with its message. */
import { beforeAll, describe, expect, it } from 'vitest';
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import { decode as decodePng } from 'fast-png';
import * as tf from '../src/redo/tf';
import {
  captureTrainingState,
  preset,
  readLosses,
  disposeLosses,
  restoreTrainingState,
  RedoModel,
  RedoTrainer,
  type NamedTensorData,
  type TrainingState,
  type LossValues,
} from '../src/redo';
import { ArchiveError, ARCHIVE_FORMAT_VERSION, buildRunArchive, readRunArchive } from '../src/formats/runArchive';
import { decodeSafetensors, encodeSafetensors } from '../src/formats/safetensors';
import { historyFromCsv, historyToCsv, recordLosses, type LossHistory } from '../src/formats/history';
import { encodePng } from '../src/formats/images';

const data = { count: 6, size: 32, pixels: new Float32Array(6 * 32 * 32 * 3).map((_, i) => Math.sin(i * 0.37)) };

async function step(trainer: RedoTrainer): Promise<LossValues> {
  const l = trainer.stepOn(data);
  const v = await readLosses(l);
  disposeLosses(l);
  return v;
}

const history: LossHistory = {
  step: [1, 2, 3],
  gAdv: [0.1, -0.25, 1 / 3],
  gRecZ: [0.5, 0.4000000059604645, 1e-12],
  dReal: [1.5, NaN, 0],
  dFake: [-0, 2, Infinity],
  accuracy: [0.61, 0.62],
  iou: [0.3],
};

let state: TrainingState;
let trainer: RedoTrainer;
let archive: Uint8Array;
let preview: Uint8Array;

beforeAll(async () => {
  await tf.setBackend('wasm');
  const model = new RedoModel(preset('tiny'), 11);
  trainer = new RedoTrainer(model, 11);
  await step(trainer);
  await step(trainer);
  state = await captureTrainingState(trainer);
  const rgba = new Uint8Array(4 * 3 * 4).map((_, i) => (i * 23) % 256);
  preview = encodePng(rgba, 4, 3);
  archive = await buildRunArchive({
    state,
    history,
    dataset: { name: 'flowers', count: 6, size: 32 },
    metrics: { accuracy: 0.62, iou: 0.3 },
    previews: [{ name: 'masks step 2', png: preview }],
  });
});

function bits(t: NamedTensorData): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function expectSameTensors(a: ReadonlyMap<string, NamedTensorData>, b: ReadonlyMap<string, NamedTensorData>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, t] of a) {
    expect(b.get(k)!.shape, k).toEqual(t.shape);
    expect(Buffer.from(bits(b.get(k)!)).equals(Buffer.from(bits(t))), k).toBe(true);
  }
}

describe('buildRunArchive / readRunArchive', () => {
  it('holds the documented files, with the reference state_dict names and optimizer metadata', () => {
    const files = unzipSync(archive);
    expect(Object.keys(files).sort()).toEqual([
      'losses.csv',
      'manifest.json',
      'optimizer.safetensors',
      'previews/masks_step_2.png',
      'weights.safetensors',
    ]);
    const manifest = JSON.parse(strFromU8(files['manifest.json']!)) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      format: 'redo-studio-run',
      formatVersion: ARCHIVE_FORMAT_VERSION,
      config: preset('tiny'),
      step: 2,
      restarts: 0,
      seed: 11,
      dataset: { name: 'flowers', count: 6, size: 32 },
      metrics: { accuracy: 0.62, iou: 0.3 },
    });
    expect(manifest.app).toMatch(/^ReDO Studio \d+\.\d+\.\d+/);
    expect(Number.isNaN(Date.parse(manifest.createdAt as string))).toBe(false);

    const weights = decodeSafetensors(files['weights.safetensors']!);
    expectSameTensors(state.weights, weights.tensors);
    expect([...weights.tensors.keys()].every((k) => /^(netEncM|netGenX|netDX|netRecZ)\./.test(k))).toBe(true);
    for (const suffix of ['.weight_orig', '.weight_u', '.weight_v'])
      expect([...weights.tensors.keys()].some((k) => k.startsWith('netDX.') && k.endsWith(suffix))).toBe(true);
    expect(weights.metadata).toEqual({ format: 'pt' });

    const opt = decodeSafetensors(files['optimizer.safetensors']!);
    expect(opt.metadata).toMatchObject({ 'step.F': '2', 'step.G': '2', 'step.D': '2', 'step.Z': '2' });
    const someKey = [...state.optimizer.G.tensors.keys()][0]!;
    expect(someKey).toMatch(/^netGenX\..*\.exp_avg(_sq)?$/);
    expect(opt.tensors.size).toBe(Object.values(state.optimizer).reduce((a, o) => a + o.tensors.size, 0));

    expect(strFromU8(files['losses.csv']!).split('\n').slice(0, 4)).toEqual([
      'step,g_adv,g_recz,d_real,d_fake,accuracy,iou',
      '1,0.1,0.5,1.5,-0,0.61,0.3',
      '2,-0.25,0.4000000059604645,NaN,2,0.62,',
      '3,0.3333333333333333,1e-12,0,Infinity,,',
    ]);
    expect(files['previews/masks_step_2.png']).toEqual(preview);
    const png = decodePng(preview);
    expect([png.width, png.height, png.channels]).toEqual([4, 3, 4]);
  });

  it('reads back identical tensors (bit for bit), counters and history', async () => {
    const before = tf.memory().numTensors;
    const r = await readRunArchive(archive);
    expect(tf.memory().numTensors).toBe(before); // the shape-check model is disposed
    expect(r.manifest.step).toBe(2);
    expect(r.state.config).toEqual(state.config);
    expect([r.state.seed, r.state.iteration, r.state.restarts]).toEqual([11, 2, 0]);
    expectSameTensors(state.weights, r.state.weights);
    for (const net of ['F', 'G', 'D', 'Z'] as const) {
      expect(r.state.optimizer[net].step).toBe(state.optimizer[net].step);
      const a = state.optimizer[net].tensors;
      const b = r.state.optimizer[net].tensors;
      expect(new Set(b.keys())).toEqual(new Set(a.keys()));
      for (const [k, t] of a) expect(Buffer.from(bits(b.get(k)!)).equals(Buffer.from(bits(t))), k).toBe(true);
    }
    expect(r.history).toEqual(history);
    expect(Object.is(r.history.dFake[0], -0)).toBe(true);
  });

  it('continues training exactly: a trainer restored from the archive steps like the original', async () => {
    const r = await readRunArchive(archive);
    const model = new RedoModel(r.state.config, 99); // different init, overwritten by the restore
    const resumed = new RedoTrainer(model, r.state.seed);
    restoreTrainingState(resumed, r.state);
    const a = await step(trainer);
    const b = await step(resumed);
    expect(b).toEqual(a);
    resumed.dispose();
    model.dispose();
  });

  it("losses.csv keeps the collapse watch's two areas (min_area, min_area_binary), NaN for steps logged before them", () => {
    const h: LossHistory = { step: [1], gAdv: [0.5], gRecZ: [0.25], dReal: [1], dFake: [1] };
    recordLosses(h, 2, { gAdv: 0.1, gRecZ: 0.2, dReal: 0.3, dFake: 0.4, minArea: 0.45, minAreaBinary: 0 });
    expect(h.minArea).toEqual([NaN, 0.45]);
    const csv = historyToCsv(h);
    expect(csv.split('\n').slice(0, 3)).toEqual([
      'step,g_adv,g_recz,d_real,d_fake,min_area,min_area_binary',
      '1,0.5,0.25,1,1,NaN,NaN',
      '2,0.1,0.2,0.3,0.4,0.45,0',
    ]);
    expect(historyFromCsv(csv)).toEqual(h);
  });

  it('an archive written before collapseBinaryThreshold existed opens with that watch off (it resumes as it ran)', async () => {
    const f = unzipSync(archive) as Zippable;
    const m = JSON.parse(strFromU8(f['manifest.json'] as Uint8Array)) as { config: Record<string, unknown> };
    delete m.config.collapseBinaryThreshold;
    f['manifest.json'] = strToU8(JSON.stringify(m));
    const r = await readRunArchive(zipSync(f));
    expect(r.manifest.config.collapseBinaryThreshold).toBe(0);
    expect(state.config.collapseBinaryThreshold).toBe(0.01);
  });

  it('writes history without accuracy / iou columns when there are none', () => {
    const h: LossHistory = { step: [5], gAdv: [1], gRecZ: [2], dReal: [3], dFake: [4] };
    expect(historyToCsv(h)).toBe('step,g_adv,g_recz,d_real,d_fake\n5,1,2,3,4\n');
    expect(historyFromCsv(historyToCsv(h))).toEqual(h);
  });
});

describe('readRunArchive refusals', () => {
  const files = () => unzipSync(archive) as Zippable;
  const rezip = (f: Zippable) => zipSync(f);
  const refusal = async (bytes: Uint8Array): Promise<string> => {
    const before = tf.memory().numTensors;
    try {
      await readRunArchive(bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(ArchiveError);
      expect(tf.memory().numTensors).toBe(before);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };
  const withManifest = (edit: (m: Record<string, unknown>) => void) => {
    const f = files();
    const m = JSON.parse(strFromU8(f['manifest.json'] as Uint8Array)) as Record<string, unknown>;
    edit(m);
    f['manifest.json'] = strToU8(JSON.stringify(m));
    return rezip(f);
  };
  const withTensors = (file: 'weights.safetensors' | 'optimizer.safetensors', edit: (t: Map<string, NamedTensorData>) => void) => {
    const f = files();
    const st = decodeSafetensors(f[file] as Uint8Array);
    edit(st.tensors);
    f[file] = encodeSafetensors(st.tensors, st.metadata);
    return rezip(f);
  };

  it('not a zip', async () => {
    expect(await refusal(strToU8('hello, I am a text file'))).toBe(
      'not a zip file: a ReDO Studio run archive is a .zip with manifest.json, weights.safetensors, optimizer.safetensors and losses.csv',
    );
    expect(await refusal(new Uint8Array(0))).toBe('not a zip file: the file is empty');
    expect(await refusal(unzipSync(archive)['weights.safetensors']!)).toBe(
      'not a zip file: this is a safetensors weights file, not a run archive (import it as weights)',
    );
  });

  it('a zip that is not ours: no manifest, or another format', async () => {
    expect(await refusal(zipSync({ 'photos/a.jpg': strToU8('x'), 'b.txt': strToU8('y') }))).toBe(
      'not a ReDO Studio run archive: the zip has no manifest.json (it holds 2 files: photos/a.jpg, b.txt)',
    );
    expect(await refusal(withManifest((m) => (m.format = 'something-else')))).toBe(
      'not a ReDO Studio run archive: manifest.json has format "something-else", expected "redo-studio-run"',
    );
  });

  it('corrupt: bad CRC, truncated, unparsable JSON, bad safetensors, missing file', async () => {
    const damaged = archive.slice();
    // a byte inside weights.safetensors' float data (stored uncompressed)
    const at = Buffer.from(damaged).indexOf('{"__metadata__":{"format":"pt"}');
    expect(at).toBeGreaterThan(0);
    damaged[at + 4000]! ^= 0x5a;
    expect(await refusal(damaged)).toBe('corrupt archive: weights.safetensors is damaged (CRC-32 mismatch)');

    expect(await refusal(archive.subarray(0, Math.floor(archive.length * 0.6)))).toMatch(
      /^corrupt archive: the zip cannot be read \(no end-of-central-directory record \(truncated\?\)\); it may be truncated$/,
    );

    const f = files();
    f['manifest.json'] = strToU8('{"format": "redo-studio-run", ');
    expect(await refusal(rezip(f))).toMatch(/^corrupt archive: manifest\.json is not valid JSON \(.+\)$/);

    const g = files();
    g['weights.safetensors'] = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7b]);
    expect(await refusal(rezip(g))).toBe('corrupt archive: weights.safetensors: not a safetensors file: its header is not JSON');

    const h = files();
    delete h['optimizer.safetensors'];
    expect(await refusal(rezip(h))).toBe('corrupt archive: optimizer.safetensors is missing');

    const c = files();
    c['losses.csv'] = strToU8('step,g_adv,g_recz,d_real,d_fake\n1,2,3,x,5\n');
    expect(await refusal(rezip(c))).toBe('corrupt archive: losses.csv: line 2: "x" is not a number');
  });

  it('a future formatVersion', async () => {
    expect(await refusal(withManifest((m) => (m.formatVersion = 3)))).toBe(
      'made by a newer ReDO Studio (format 3, this one reads up to 1); update ReDO Studio to open it',
    );
  });

  it('a manifest config that cannot build a model', async () => {
    expect(await refusal(withManifest((m) => delete (m.config as Record<string, unknown>).nz))).toBe(
      'corrupt archive: manifest config.nz is missing, expected a number',
    );
    expect(await refusal(withManifest((m) => ((m.config as Record<string, unknown>).nfF = 6)))).toBe(
      "corrupt archive: manifest nfF must be a multiple of 4 (F's encoder uses nfF/4 and nfF/2), got 6",
    );
  });

  it('tensors missing or ill-shaped for the manifest config, named', async () => {
    const first = [...state.weights.keys()][0]!;
    expect(await refusal(withTensors('weights.safetensors', (t) => t.delete(first)))).toBe(
      `weights do not fit the manifest's configuration: missing tensor ${first} (expected shape [${state.weights.get(first)!.shape}])`,
    );
    // the manifest says nfF 12, the weights were made with nfF 8
    const msg = await refusal(withManifest((m) => ((m.config as Record<string, unknown>).nfF = 12)));
    expect(msg).toMatch(
      /^weights do not fit the manifest's configuration: tensor netEncM\.\S+ has shape \[[\d,]+\], the configuration needs \[[\d,]+\]$/,
    );
    const optKey = [...state.optimizer.D.tensors.keys()][1]!;
    expect(await refusal(withTensors('optimizer.safetensors', (t) => t.delete(optKey)))).toMatch(
      new RegExp(
        `^optimizer state does not fit the manifest's configuration: missing optimizer tensor ${optKey.replace(/\./g, '\\.')} \\(expected shape \\[[\\d,]+\\]\\)$`,
      ),
    );
    expect(
      await refusal(
        withTensors('optimizer.safetensors', (t) => {
          const v = t.get(optKey)!;
          t.set(optKey, { shape: [v.data.length], data: v.data });
        }),
      ),
    ).toMatch(
      /^optimizer state does not fit the manifest's configuration: optimizer tensor \S+ has shape \[\d+\], the configuration needs \[[\d,]+\]$/,
    );
  });

  it('non-finite weights or Adam moments (a run saved after it diverged): refused, naming the network', async () => {
    const key = [...state.weights.keys()].find((k) => k.startsWith('netDX.'))!;
    const nan = (t: Map<string, NamedTensorData>, k: string) => {
      const v = t.get(k)!;
      const data = v.data.slice();
      data[1] = NaN;
      data[2] = Infinity;
      t.set(k, { shape: v.shape, data });
    };
    expect(await refusal(withTensors('weights.safetensors', (t) => nan(t, key)))).toBe(
      `unusable archive: non-finite values (NaN or Inf) in weights.safetensors, in D (discriminator): ${key} has 2 of ` +
        `${state.weights.get(key)!.data.length} (it was saved after training diverged)`,
    );
    const optKey = [...state.optimizer.F.tensors.keys()][0]!;
    expect(await refusal(withTensors('optimizer.safetensors', (t) => nan(t, optKey)))).toMatch(
      /^unusable archive: non-finite values \(NaN or Inf\) in optimizer\.safetensors, in F \(mask network\): netEncM\.\S+\.exp_avg has 2 of \d+/,
    );
  });
});

describe('the NaN / Inf guard of the writers', () => {
  it('buildRunArchive refuses non-finite weights or optimizer state, naming the step and the network', async () => {
    const key = [...state.weights.keys()].find((k) => k.startsWith('netGenX.'))!;
    const weights = new Map(state.weights);
    const w = weights.get(key)!;
    weights.set(key, { shape: w.shape, data: w.data.map((v, i) => (i === 0 ? NaN : v)) });
    const bad = { ...state, weights };
    const build = (s: TrainingState) => buildRunArchive({ state: s, history, dataset: { name: 'x', count: 1, size: 32 } });
    await expect(build(bad)).rejects.toThrow(
      new RegExp(
        `^non-finite values \\(NaN or Inf\\) in the weights at step 2, in G \\(region generators\\): ${key.replace(/\./g, '\\.')} has 1 of `,
      ),
    );
    const optimizer = { ...state.optimizer, Z: { ...state.optimizer.Z, tensors: new Map(state.optimizer.Z.tensors) } };
    const [mKey, m] = [...optimizer.Z.tensors][0]!;
    optimizer.Z.tensors.set(mKey, { shape: m.shape, data: m.data.map(() => -Infinity) });
    await expect(build({ ...state, optimizer })).rejects.toThrow(
      /^non-finite values \(NaN or Inf\) in the optimizer state \(Adam moments\), in δ \(z reconstructor\)/,
    );
    // the untouched state still builds
    expect((await build(state)).length).toBeGreaterThan(0);
  });
});
