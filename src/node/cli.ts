/**
 * The one command-line parser of the trainer (./args.ts), `npm run redo` (scripts/redo-cli.ts) and the benchmarks
 * (bench/cliFlags.ts): node:util parseArgs' tokenizer, with the checks its strict mode lacks or words differently —
 * an option given twice, a value that is another option, a negative number as a value (`--steps -3` reaches the
 * integer check) — and one wording of every refusal (ArgsError). Pure: no I/O.
 */
import { parseArgs } from 'node:util';

export class ArgsError extends Error {
  override name = 'ArgsError';
}

/** Options a command takes: a string value each, or a boolean switch (no value). */
export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** The parsed command line, with typed reads that refuse ill-formed values naming the option. */
export class Flags {
  constructor(
    private readonly values: ReadonlyMap<string, string | true>,
    readonly positionals: readonly string[],
  ) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  names(): string[] {
    return [...this.values.keys()];
  }

  string(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  /** An integer ≥ min, or undefined when absent. */
  int(name: string, min: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new ArgsError(`--${name} must be an integer ≥ ${min}, got "${v}"`);
    return n;
  }

  /** A finite number ≥ min, or `fallback` when absent. */
  num(name: string, fallback: number, min = 0): number {
    const v = this.string(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new ArgsError(`--${name} must be a number ≥ ${min}, got "${v}"`);
    return n;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.string(name);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) throw new ArgsError(`--${name} must be one of ${allowed.join(', ')}, got "${v}"`);
    return v as T;
  }

  /** `a,b,c` → ['a', 'b', 'c'], or `fallback` when absent. */
  list(name: string, fallback: string[]): string[] {
    return (
      this.string(name)
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean) ?? fallback
    );
  }
}

/**
 * `--name value`, `--name=value`, switches, and (with `positionals`) bare arguments. `unknown: 'ignore'` skips
 * options the spec does not name (and bare arguments), for scripts whose flags are read one at a time.
 */
export function parseFlags(
  argv: readonly string[],
  spec: FlagSpec,
  opts: { positionals?: boolean; unknown?: 'refuse' | 'ignore' } = {},
): Flags {
  const lenient = opts.unknown === 'ignore';
  const { tokens } = parseArgs({ args: [...argv], options: spec, strict: false, allowPositionals: true, tokens: true });
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      if (opts.positionals) positionals.push(t.value);
      else if (!lenient) throw new ArgsError(`unexpected argument "${t.value}" (options start with --)`);
      continue;
    }
    const def = spec[t.name];
    if (!def) {
      if (lenient) continue;
      throw new ArgsError(`unknown option --${t.name}`);
    }
    if (values.has(t.name)) throw new ArgsError(`--${t.name} given twice`);
    if (def.type === 'boolean') {
      if (t.inlineValue) throw new ArgsError(`--${t.name} takes no value`);
      values.set(t.name, true);
    } else {
      if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) throw new ArgsError(`--${t.name} needs a value`);
      values.set(t.name, t.value);
    }
  }
  return new Flags(values, positionals);
}
