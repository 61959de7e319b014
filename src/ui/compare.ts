/**
 * Compare runs, the arithmetic: curves of several runs on one x axis (the run's step, so iteration k of every run
 * lines up), and the configuration fields (and the seed) on which the runs differ. Pure: the panel draws it
 * (components/Compare.tsx).
 */
import type { LossHistory } from '../formats/history';
import type { ComparedRun } from '../worker/protocol';

/** What a history holds, read as one curve (NaN / missing entries are gaps). */
export type Column = (h: LossHistory) => ArrayLike<number> | undefined;

/**
 * The runs' curves on the union of their steps: `[xs, ys of run 0, ys of run 1, …]`, null where a run has no finite
 * value at that step (uPlot's aligned data; gaps spanned). Steps each run recorded once; a later entry at the same
 * step (an evaluation re-sent) wins.
 */
export function alignByStep(histories: readonly LossHistory[], column: Column): [number[], ...Array<Array<number | null>>] {
  const maps = histories.map((h) => {
    const col = column(h);
    const at = new Map<number, number>();
    if (!col) return at;
    for (let i = 0; i < h.step.length && i < col.length; i++) {
      const v = col[i]!;
      if (Number.isFinite(v)) at.set(h.step[i]!, v);
    }
    return at;
  });
  const xs = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  return [xs, ...maps.map((m) => xs.map((x) => m.get(x) ?? null))];
}

/** One row of the difference table: a field and each run's value, as shown. */
export interface DiffRow {
  field: string;
  values: string[];
}

function shown(v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** The fields of the runs' configurations (and their seeds) whose values are not all equal; config order, seed first. */
export function configDiff(runs: readonly Pick<ComparedRun, 'config' | 'seed'>[]): DiffRow[] {
  if (runs.length < 2) return [];
  const rows: DiffRow[] = [];
  const seeds = runs.map((r) => shown(r.seed));
  if (new Set(seeds).size > 1) rows.push({ field: 'seed', values: seeds });
  const fields: string[] = [];
  for (const r of runs) for (const k of Object.keys(r.config)) if (!fields.includes(k)) fields.push(k);
  for (const f of fields) {
    const values = runs.map((r) => shown((r.config as unknown as Record<string, unknown>)[f]));
    if (new Set(values).size > 1) rows.push({ field: f, values });
  }
  return rows;
}
