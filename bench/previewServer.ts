/**
 * The benchmarks' built studio: `npx vite build --mode harness` (the harness pages too) into a folder of bench-results/ (not dist/, which `npm test`
 * owns) when it is missing or older than the sources, and `vite preview` of it on a free port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newestMtime(join(path, n))));
}

/** Builds into outDir when one of `pages` is missing or older than the sources (or `force`). */
export function ensureBuiltInto(outDir: string, pages: string[], force: boolean): void {
  const built = pages.map((p) => join(ROOT, outDir, p));
  const sources = ['src', 'e2e/harness', 'index.html', 'public', 'vite.config.ts', 'package-lock.json']
    .map((p) => join(ROOT, p))
    .filter(existsSync);
  const newest = Math.max(...sources.map(newestMtime));
  const stale = built.some((p) => !existsSync(p) || statSync(p).mtimeMs < newest);
  if (!stale && !force) return;
  console.log(`== npx vite build --mode harness --outDir ${outDir} (missing or older than the sources)`);
  const r = spawnSync('npx', ['vite', 'build', '--mode', 'harness', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (r.status !== 0 || built.some((p) => !existsSync(p))) throw new Error('vite build failed');
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/** `vite preview` of outDir on a free port, once `probe` (a path) answers. */
export async function startPreviewOf(outDir: string, probe: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(
    join(ROOT, 'node_modules/.bin/vite'),
    ['preview', '--outDir', outDir, '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`vite preview exited (${proc.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${url}${probe}`)).ok) return { url, proc };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  proc.kill();
  throw new Error(`vite preview did not answer on ${url} within 30 s:\n${log}`);
}
