/**
 * The GPU kit end to end on this machine (no GPU): `npm run gpu:kit`'s builder (scripts/gpu-kit/build.ts) writes a
 * kit of at most 60 MiB, and its run.sh runs every step on SwiftShader (Vulkan on the CPU) with small budgets:
 * the WebGPU probe, the data set from the bundled generator, the speed benchmark on webgpu (tiny, one step: ms,
 * kernels and dispatches), the authors' PyTorch iteration on the CPU (/usr/bin/python3, torch 1.13), a short
 * quality run scored on held-out images, and the hand-over to PyTorch and back. The Vulkan loader comes from a
 * carried .deb (the device README's `.gl/` way; built here with dpkg-deb from chromium's loader) unless this
 * machine has one installed; a second, probe-only run uses the loader the kit brings.
 * The output folder must come back through the device tool: at most 8 files, 16 MiB each.
 * The quality run, the scoring and the resumed step run on the cpu backend here (a SwiftShader step takes
 * 30–160 s); on a GPU machine they run on webgpu (run.sh's defaults).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');
const LIMIT = 60 * 2 ** 20;
let dir: string;
let kit: string;

function sizeOf(path: string): number {
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).reduce((s, n) => s + sizeOf(join(path, n)), 0) : st.size;
}

/** A .deb holding chromium's Vulkan loader where libvulkan1 puts it: what the device README carries in `.gl/`. */
function loaderDeb(into: string): void {
  const root = join(dir, 'deb-root');
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'usr/lib/x86_64-linux-gnu'), { recursive: true });
  const control = ['Package: libvulkan1', 'Version: 0-kit-test', 'Architecture: amd64', 'Maintainer: kit test', 'Description: kit test'];
  writeFileSync(join(root, 'DEBIAN/control'), `${control.join('\n')}\n`);
  copyFileSync('/usr/lib/chromium/libvulkan.so.1', join(root, 'usr/lib/x86_64-linux-gnu/libvulkan.so.1'));
  mkdirSync(into, { recursive: true });
  const deb = join(into, 'libvulkan1_kit-test_amd64.deb');
  const r = spawnSync('dpkg-deb', ['--build', '--root-owner-group', root, deb], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

const TINY = {
  BENCH_PRESETS: 'tiny',
  BENCH_WARMUP: '0',
  BENCH_STEPS: '1',
  TORCH_DEVICE: 'cpu',
  TORCH_STEPS: '2',
  PYTHON: '/usr/bin/python3',
  QUALITY_SECONDS: '15',
  QUALITY_BACKEND: 'cpu',
  SCORE_BACKEND: 'cpu',
  RESUME_BACKEND: 'cpu',
  DATA_FLAGS: '--size 32 --train 40 --test 20 --seed 1',
  // SwiftShader on 2 shared cores: one tiny webgpu step (its pipelines compiled first) takes 30 s idle, 3 min loaded
  BUDGET_BENCH: '420',
  BUDGET_DATA: '120',
  BUDGET_TORCH: '120',
  BUDGET_SCORE: '120',
  BUDGET_RESUME: '240',
  KIT_DEADLINE: '1000',
};

function runKit(out: string, env: Record<string, string>) {
  const e: NodeJS.ProcessEnv = { ...process.env, ...TINY, ...env, OUT: out };
  delete e.VK_ICD_FILENAMES;
  delete e.VK_DRIVER_FILES;
  // from the test's own folder: a `.gl/` in the working directory (the device README's) would count as carried
  return spawnSync('bash', [join(kit, 'run.sh')], { cwd: dir, encoding: 'utf8', env: e, timeout: 1_100_000 });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'redo-gpu-kit-test-'));
  kit = join(dir, 'gpu-kit');
  const r = spawnSync('npx', ['tsx', 'scripts/gpu-kit/build.ts', '--out', kit], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`the kit build failed:\n${r.stdout}\n${r.stderr}`);
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the GPU kit (npm run gpu:kit, gpu-kit/run.sh)', () => {
  it('is at most 60 MiB and holds Node, the bundles, Dawn, the data sources, the reference scripts and run.sh', () => {
    const total = sizeOf(kit);
    console.log(`kit: ${(total / 2 ** 20).toFixed(1)} MiB`);
    expect(total).toBeLessThanOrEqual(LIMIT);
    const files = [
      ...['run.sh', 'kit.json', 'bin/node.xz', 'js/train.mjs', 'js/bench-speed.mjs', 'js/data-objects.mjs', 'js/redo.mjs', 'js/kit.mjs'],
      ...['js/dist/linux-x64/dawn.node.xz', 'objects/sources.json', 'reference/ref_step_time.py', 'reference/models.py'],
      ...['python/to_pth.py', 'lib/libvulkan.so.1'],
    ];
    for (const f of files) {
      expect(statSync(join(kit, f)).size, f).toBeGreaterThan(0);
    }
    expect(statSync(join(kit, 'run.sh')).mode & 0o111).not.toBe(0);
    const m = JSON.parse(readFileSync(join(kit, 'kit.json'), 'utf8')) as { node: string; bytes: number; reference: string[] };
    expect(m.node).toBe(process.version);
    expect(m.bytes).toBe(total - statSync(join(kit, 'kit.json')).size);
    expect(m.reference).toContain('ref_step_time.py');
  });

  it('run.sh: every step on SwiftShader with tiny budgets; one summary, a table, the logs; the loader from a carried .deb', () => {
    const system = /\slibvulkan\.so\.1\s/.test(spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '');
    loaderDeb(join(dir, 'gl'));
    const out = join(dir, 'out');
    const t0 = performance.now();
    const r = runKit(out, { KIT_GL_DIR: join(dir, 'gl') });
    const kitLines = r.stdout.split('\n').filter((l) => l.startsWith('[kit'));
    console.log(`run.sh: ${((performance.now() - t0) / 1000).toFixed(0)} s, exit ${r.status}\n${kitLines.join('\n')}`);
    expect(r.status, r.stderr).toBe(0);
    // what comes back through the device tool: ≤ 8 files of ≤ 16 MiB, no folders
    const files = readdirSync(out).sort();
    expect(files).toEqual(['details.tar.gz', 'run.log', 'summary.json', 'summary.md']);
    for (const f of files) expect(statSync(join(out, f)).size).toBeLessThanOrEqual(16 * 2 ** 20);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    const statuses = Object.fromEntries(
      s.steps.map((x: { step: string; status: string }) => [x.step, x.status.replace(/ \(stopped at its \d+s\)/, '')]),
    );
    expect(statuses, JSON.stringify(s.steps)).toEqual({
      probe: 'ok',
      data: 'ok',
      bench: 'ok',
      torch: 'ok',
      quality: 'ok',
      score: 'ok',
      resume: 'ok',
    });
    expect(s.adapter).toMatch(/swiftshader/i);
    expect(s.machine.loader).toMatch(system ? /^system/ : /^carried \(.*libvulkan\.so\.1\)/);
    expect(s.machine.icd).toMatch(/vk_swiftshader_icd\.json/);
    const [tiny] = s.speed;
    expect(tiny).toMatchObject({ preset: 'tiny', px: 32, batch: 2 });
    expect(tiny.webgpu.medianMs).toBeGreaterThan(0);
    expect(tiny.webgpu.timedSteps).toBe(1);
    expect(tiny.webgpu.dispatches).toBeGreaterThan(1000);
    expect(tiny.webgpu.kernels).toBeGreaterThan(tiny.webgpu.dispatches);
    expect(tiny.webgpu.tflops).toBeCloseTo((tiny.gflopPerIter * 1e9) / (tiny.webgpu.medianMs / 1000) / 1e12, 12);
    expect(tiny.pytorch.medianMs).toBeGreaterThan(0);
    expect(tiny.pytorch.device).toBe('cpu');
    expect(tiny.ratio).toBeCloseTo(tiny.webgpu.medianMs / tiny.pytorch.medianMs, 9);
    expect(s.quality.steps).toBeGreaterThanOrEqual(1);
    expect(s.quality.config).toMatchObject({ imageSize: 32, nfF: 8 });
    expect(s.quality.heldOut.count).toBe(20);
    // the trainer scored the held-out folder at its last step (--eval-data, --curve)
    expect(s.quality.curve.at(-1)).toMatchObject({ it: s.quality.steps });
    expect(s.quality.curve.at(-1).iou).toBeCloseTo(s.quality.heldOut.trained.iou, 6);
    expect(s.quality.heldOut.trained.iou).toBeGreaterThanOrEqual(0);
    expect(s.quality.heldOut.trained.iou).toBeLessThanOrEqual(1);
    expect(s.resume).toMatchObject({ ok: true, after: s.quality.steps + 2, resumedTo: s.quality.steps + 3 });
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toContain('| tiny | 32 | 2 |');
    expect(md).toMatch(/ok: step \d+ → PyTorch → \d+/);
    const listing = spawnSync('tar', ['tzf', join(out, 'details.tar.gz')], { encoding: 'utf8' }).stdout;
    const kept = ['bench/speed.json', 'torch/tiny.json', 'quality/train.log', 'quality/score.json', 'resume/check.json', 'logs/bench.log'];
    for (const f of kept) {
      expect(listing).toContain(f);
    }
  }, 1_200_000);

  it("run.sh without a loader on the machine or carried: the kit's own loader finds the adapter", () => {
    const out = join(dir, 'out-probe');
    const r = runKit(out, { KIT_STEPS: 'probe', KIT_GL_DIR: join(dir, 'no-such-folder') });
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(s.steps).toEqual([expect.objectContaining({ step: 'probe', status: 'ok' })]);
    expect(s.adapter).toMatch(/swiftshader/i);
    const system = /\slibvulkan\.so\.1\s/.test(spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '');
    expect(s.machine.loader).toMatch(system ? /^system/ : /^kit \(.*lib\/libvulkan\.so\.1\)/);
  }, 120_000);
});
