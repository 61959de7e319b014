/**
 * `--name value` flags of the benchmark scripts, read one at a time from process.argv through the one parser
 * (src/node/cli.ts; options a script does not read are passed over).
 */
import { parseFlags } from '../src/node/cli';

const read = (name: string) => parseFlags(process.argv.slice(2), { [name]: { type: 'string' } }, { unknown: 'ignore' });

export function flag(name: string): string | undefined {
  return read(name).string(name);
}

export function list(name: string, fallback: string[]): string[] {
  return read(name).list(name, fallback);
}

export function num(name: string, fallback: number): number {
  return read(name).num(name, fallback);
}

/** A switch (`--strict`, `--build`): given or not. */
export function switchOn(name: string): boolean {
  return parseFlags(process.argv.slice(2), { [name]: { type: 'boolean' } }, { unknown: 'ignore' }).has(name);
}

/** The bare arguments, given the flags that take a value (their values are not arguments). */
export function positionals(valueFlags: string[]): string[] {
  const spec = Object.fromEntries(valueFlags.map((n) => [n, { type: 'string' as const }]));
  return [...parseFlags(process.argv.slice(2), spec, { positionals: true, unknown: 'ignore' }).positionals];
}
