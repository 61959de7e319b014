/**
 * `npm run gpu:kit`: writes the git-ignored folder `gpu-kit/` (at most 60 MiB), everything a bare NVIDIA machine
 * needs to measure ReDO Studio on its GPU in one call of `gpu-kit/run.sh` (scripts/gpu-kit/run.sh):
 *
 *   bin/node.xz                    this Node binary, stripped and xz-compressed (run.sh unpacks it)
 *   js/*.mjs                       the headless trainer, the speed benchmark, the data generator, the redo CLI and
 *                                  the kit's own helper, bundled by esbuild into plain JS (with their shared chunks)
 *   js/dist/linux-x64/dawn.node.xz the `webgpu` package's Dawn for Linux x64 (where its bundled loader looks)
 *   objects/                       the objects-on-photos sources (public/objects)
 *   reference/*.py                 the authors' PyTorch networks and scripts (../shared/reference, copied at build)
 *   python/*.py                    to_pth.py, convert_pth.py, pth_iterate.py and their module redo_pth.py
 *   lib/                           a Vulkan loader (and glvnd's libGLdispatch) for a machine that lacks one
 *   run.sh, kit.json (what was built, from which commit), README.txt
 *
 * Adding a file to the kit is one line of COPIES (e.g. a WebAssembly backend's .wasm beside the bundles).
 * The compressed Node binary is cached in node_modules/.cache/redo-gpu-kit (xz -9 of 86 MB takes a minute).
 *
 * Flags: --out DIR (default gpu-kit)  --no-reference (build without ../shared/reference: the PyTorch steps are skipped)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parseFlags } from '../../src/node/cli';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const flags = parseFlags(process.argv.slice(2), { out: { type: 'string' }, 'no-reference': { type: 'boolean' } }, { unknown: 'ignore' });
const OUT = resolve(ROOT, flags.string('out') ?? 'gpu-kit');
const WITH_REFERENCE = !flags.has('no-reference');
export const KIT_LIMIT_BYTES = 60 * 2 ** 20;
const CACHE = join(ROOT, 'node_modules', '.cache', 'redo-gpu-kit');
const REFERENCE_DIR = resolve(ROOT, '..', 'shared', 'reference');

/** Command-line programs bundled into js/NAME.mjs. */
const BUNDLES: Record<string, string> = {
  train: 'scripts/train.ts',
  'bench-speed': 'scripts/bench-speed.ts',
  'data-objects': 'scripts/data-objects.ts',
  redo: 'scripts/redo-cli.ts',
  kit: 'scripts/gpu-kit/kit.ts',
};

/** Files and folders copied as they are: [source (from the repository root), destination in the kit, required]. */
const COPIES: Array<[string, string, boolean]> = [
  ['public/objects', 'objects', true],
  ['scripts/gpu-kit/run.sh', 'run.sh', true],
  ['scripts/redo_pth.py', 'python/redo_pth.py', true],
  ['scripts/to_pth.py', 'python/to_pth.py', true],
  ['scripts/convert_pth.py', 'python/convert_pth.py', true],
  ['scripts/pth_iterate.py', 'python/pth_iterate.py', true],
];

/** Files xz-compressed into the kit (run.sh unpacks every *.xz): [source, destination without .xz]. */
const COMPRESSED: Array<[string, string]> = [['node_modules/webgpu/dist/linux-x64/dawn.node', 'js/dist/linux-x64/dawn.node']];

/** A Vulkan loader and glvnd's dispatch library (NVIDIA's Vulkan driver needs it), for machines without them. */
const VULKAN_LIBS: Array<[string[], string]> = [
  [['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/chromium/libvulkan.so.1'], 'libvulkan.so.1'],
  [['/usr/lib/x86_64-linux-gnu/libGLdispatch.so.0'], 'libGLdispatch.so.0'],
  [['/usr/lib/x86_64-linux-gnu/libGLX.so.0'], 'libGLX.so.0'],
  [['/usr/lib/x86_64-linux-gnu/libEGL.so.1'], 'libEGL.so.1'],
];

function log(s: string): void {
  process.stdout.write(`${s}\n`);
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function sizeOf(path: string): number {
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).reduce((s, n) => s + sizeOf(join(path, n)), 0) : st.size;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** xz -9 of `src` (optionally stripped first) into `dest`, through the cache keyed by the source's hash. */
function compressed(src: string, dest: string, opts: { strip?: boolean } = {}): void {
  const key = `${sha256(src).slice(0, 16)}${opts.strip ? '-stripped' : ''}.xz`;
  const cached = join(CACHE, key);
  if (!existsSync(cached)) {
    mkdirSync(CACHE, { recursive: true });
    let input = src;
    if (opts.strip) {
      input = join(CACHE, `${key}.tmp`);
      cpSync(src, input);
      // `strip` drops the debug info Node's official binaries carry (99 → 86 MB); without it the kit is bigger, not broken
      if (spawnSync('strip', [input]).status !== 0) log(`  (strip not available: ${src} goes in unstripped)`);
    }
    log(`  xz -9 ${src.startsWith(ROOT) ? relative(ROOT, src) : src} (once; cached in ${relative(ROOT, CACHE)})`);
    const t = performance.now();
    execFileSync('sh', ['-c', `xz -9 -T0 -c "$1" > "$2.part" && mv "$2.part" "$2"`, 'sh', input, cached]);
    if (input !== src) rmSync(input);
    log(`    ${mib(statSync(src).size)} → ${mib(statSync(cached).size)} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
  mkdirSync(dirname(dest), { recursive: true });
  cpSync(cached, dest);
}

function gitCommit(): string {
  const r = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout.trim() !== '';
  return r.status === 0 ? `${r.stdout.trim()}${dirty ? '+changes' : ''}` : 'unknown';
}

async function main(): Promise<number> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      "the kit carries this machine's Node binary to an x86-64 Linux GPU machine: " +
        `build it on linux-x64 (this is ${process.platform}-${process.arch})`,
    );
  }
  const t0 = performance.now();
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  log(`== gpu kit → ${relative(ROOT, OUT) || OUT}`);

  log('  bundling (esbuild): ' + Object.values(BUNDLES).join(', '));
  await build({
    entryPoints: Object.fromEntries(Object.entries(BUNDLES).map(([name, src]) => [name, join(ROOT, src)])),
    outdir: join(OUT, 'js'),
    outExtension: { '.js': '.mjs' },
    // chunks beside the entry points: the `webgpu` package finds dawn.node relative to its own module's folder
    chunkNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // CommonJS dependencies inside an ES module bundle still call require() and read __dirname
    banner: {
      js: [
        "import { createRequire as __kitRequire } from 'node:module'; import { fileURLToPath as __kitPath } from 'node:url';",
        'const require = __kitRequire(import.meta.url); const __filename = __kitPath(import.meta.url);',
        "const __dirname = __kitPath(new URL('.', import.meta.url));",
      ].join(' '),
    },
  });

  log(`  node ${process.version} (${process.execPath})`);
  compressed(process.execPath, join(OUT, 'bin', 'node.xz'), { strip: true });
  for (const [src, dest] of COMPRESSED) compressed(join(ROOT, src), join(OUT, `${dest}.xz`));

  for (const [src, dest, required] of COPIES) {
    const from = join(ROOT, src);
    if (!existsSync(from)) {
      if (required) throw new Error(`${src} is missing`);
      continue;
    }
    cpSync(from, join(OUT, dest), { recursive: true });
  }
  chmodSync(join(OUT, 'run.sh'), 0o755);

  const reference: string[] = [];
  if (WITH_REFERENCE) {
    if (!existsSync(REFERENCE_DIR)) {
      throw new Error(`${REFERENCE_DIR} is missing (the authors' networks for the PyTorch steps); --no-reference builds without`);
    }
    mkdirSync(join(OUT, 'reference'), { recursive: true });
    for (const f of readdirSync(REFERENCE_DIR).filter((n) => n.endsWith('.py'))) {
      cpSync(join(REFERENCE_DIR, f), join(OUT, 'reference', f));
      reference.push(f);
    }
  }

  const vulkan: Record<string, string> = {};
  for (const [candidates, name] of VULKAN_LIBS) {
    const src = candidates.find((c) => existsSync(c));
    if (!src) continue;
    mkdirSync(join(OUT, 'lib'), { recursive: true });
    cpSync(src, join(OUT, 'lib', name), { dereference: true });
    vulkan[name] = src;
  }

  const commit = gitCommit();
  const built = new Date().toISOString();
  writeFileSync(
    join(OUT, 'README.txt'),
    [
      `ReDO Studio GPU kit (commit ${commit}, built ${built}).`,
      'Run on an x86-64 Linux machine with an NVIDIA GPU and its Vulkan driver:  bash gpu-kit/run.sh',
      'Output ($OUT if set, else gpu-kit/out): summary.json, summary.md, run.log, details.tar.gz.',
      'The settings (presets, the quality run, budgets) are the variables at the top of run.sh.',
      '',
    ].join('\n'),
  );
  const tfjs = (JSON.parse(readFileSync(join(ROOT, 'node_modules/@tensorflow/tfjs/package.json'), 'utf8')) as { version: string }).version;
  const webgpu = (JSON.parse(readFileSync(join(ROOT, 'node_modules/webgpu/package.json'), 'utf8')) as { version: string }).version;
  /** every file of the kit but kit.json itself */
  const bytes = sizeOf(OUT);
  const manifest = {
    kit: 'redo-studio-gpu-kit',
    built,
    commit,
    node: process.version,
    tfjs,
    webgpu,
    bundles: Object.keys(BUNDLES).map((n) => `js/${n}.mjs`),
    reference,
    vulkanLibs: vulkan,
    bytes,
  };
  writeFileSync(join(OUT, 'kit.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  const total = sizeOf(OUT);
  const parts = readdirSync(OUT).map((n) => [n, sizeOf(join(OUT, n))] as const).sort((a, b) => b[1] - a[1]);
  for (const [n, b] of parts) log(`  ${n.padEnd(12)} ${mib(b)}`);
  const secs = ((performance.now() - t0) / 1000).toFixed(0);
  log(`== ${relative(ROOT, OUT) || OUT}: ${mib(total)} (limit ${mib(KIT_LIMIT_BYTES)}) in ${secs} s`);
  if (total > KIT_LIMIT_BYTES) {
    log(`the kit is over its ${mib(KIT_LIMIT_BYTES)} limit`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? `error: ${e.message}` : e);
    process.exit(1);
  },
);
