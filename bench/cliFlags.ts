/** `--name value` flags of the benchmark scripts (a few lines; a CLI library would be more than they need). */
export function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function list(name: string, fallback: string[]): string[] {
  return flag(name)?.split(',').map((s) => s.trim()).filter(Boolean) ?? fallback;
}

export function num(name: string, fallback: number): number {
  const v = flag(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number ≥ 0, got "${v}"`);
  return n;
}
