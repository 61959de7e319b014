/** The one command-line parser (src/node/cli.ts) that the trainer, `npm run redo` and the benchmarks share. */
import { describe, expect, it } from 'vitest';
import { ArgsError, parseFlags, type FlagSpec } from '../src/node/cli';

const spec: FlagSpec = {
  steps: { type: 'string' },
  out: { type: 'string' },
  strict: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

describe('parseFlags', () => {
  it('reads values, switches, = forms, short switches and (when allowed) bare arguments', () => {
    const f = parseFlags(['run.zip', '--steps', '5', '--out=a.zip', '--strict', '-h', 'imgs'], spec, { positionals: true });
    expect(f.int('steps', 0)).toBe(5);
    expect(f.string('out')).toBe('a.zip');
    expect(f.has('strict') && f.has('help')).toBe(true);
    expect(f.positionals).toEqual(['run.zip', 'imgs']);
    expect(f.num('missing', 7)).toBe(7);
    expect(parseFlags(['--out', 'x,y, z'], spec).list('out', [])).toEqual(['x', 'y', 'z']);
  });

  it('refuses what it cannot use, naming the option', () => {
    const bad: Array<[string[], RegExp]> = [
      [['--frob', '2'], /^unknown option --frob$/],
      [['--steps'], /^--steps needs a value$/],
      [['--steps', '--out', 'x'], /^--steps needs a value$/],
      [['--steps', '1', '--steps', '2'], /^--steps given twice$/],
      [['--strict=yes'], /^--strict takes no value$/],
      [['extra'], /^unexpected argument "extra"/],
    ];
    for (const [argv, msg] of bad) expect(() => parseFlags(argv, spec), argv.join(' ')).toThrow(msg);
    expect(() => parseFlags(['--steps', '-3'], spec).int('steps', 0)).toThrow(/--steps must be an integer ≥ 0, got "-3"/);
    expect(() => parseFlags(['--steps', 'x'], spec).num('steps', 1)).toThrow(ArgsError);
  });

  it('in lenient mode (benchmark scripts) passes over options it was not asked about', () => {
    const f = parseFlags(['--presets', 'tiny', '--steps', '4', '--build'], { steps: { type: 'string' } }, { unknown: 'ignore' });
    expect(f.int('steps', 0)).toBe(4);
    expect(f.names()).toEqual(['steps']);
  });
});
