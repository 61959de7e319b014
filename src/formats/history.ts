/**
 * A run's loss history: the type, its one empty value, copies, chunks and appends (the worker posts chunks, the
 * studio appends them), and its text form `losses.csv` (the run archive's and the checkpoints' column names).
 * Pure: no DOM, no Node APIs.
 */
import { KNOB_KEYS, type KnobKey } from '../redo/config';

/**
 * A knob turned mid-run (issue 21): at the run's step `step` (the change applies from step + 1 on), `field` went from
 * `from` to `to`.
 */
export interface KnobChange {
  step: number;
  field: KnobKey;
  from: number;
  to: number;
}

/** Loss curves: entry i of every array belongs to step[i] (accuracy / iou only where measured). */
export interface LossHistory {
  step: number[];
  gAdv: number[];
  gRecZ: number[];
  dReal: number[];
  dFake: number[];
  accuracy?: number[];
  iou?: number[];
  /** The collapse watch's readings: smallest soft and binarised region areas (NaN for steps logged before them). */
  minArea?: number[];
  minAreaBinary?: number[];
  /** Image dependence of F's masks on the run's panel (src/redo/metrics.ts imageDependence): NaN where not read. */
  spread?: number[];
  pairIoU?: number[];
  /** Knobs turned mid-run, in order (absent until the first; not a column: the archive keeps it in its manifest). */
  knobs?: KnobChange[];
}

/** The loss columns every entry has (accuracy / iou come and go with ground truth). */
export const LOSS_COLUMNS = ['gAdv', 'gRecZ', 'dReal', 'dFake'] as const;

/** The columns a history may lack: measured against masks (accuracy, iou), or the region areas (older files lack them). */
export const OPTIONAL_KEYS = ['accuracy', 'iou', 'minArea', 'minAreaBinary', 'spread', 'pairIoU'] as const;

/** One step's readings as recorded: the losses, and the region areas where the step has them. */
export type HistoryReading = Record<(typeof LOSS_COLUMNS)[number], number> & { minArea?: number; minAreaBinary?: number };

/** No entries yet; `withMetrics`: with (empty) accuracy / IoU columns, for a run that is measured against masks. */
export function emptyHistory(withMetrics = false): LossHistory {
  const h: LossHistory = { step: [], gAdv: [], gRecZ: [], dReal: [], dFake: [] };
  if (withMetrics) {
    h.accuracy = [];
    h.iou = [];
  }
  return h;
}

/**
 * Appends one step's readings; accuracy / iou, where the history keeps them, get NaN until measured. The region
 * areas are kept from the first step that has them (earlier steps, from older files, read NaN).
 */
export function recordLosses(h: LossHistory, step: number, v: HistoryReading): void {
  for (const k of ['minArea', 'minAreaBinary'] as const) {
    if (v[k] !== undefined && !h[k]) h[k] = h.step.map(() => NaN);
  }
  h.step.push(step);
  for (const k of LOSS_COLUMNS) h[k].push(v[k]);
  h.accuracy?.push(NaN);
  h.iou?.push(NaN);
  h.minArea?.push(v.minArea ?? NaN);
  h.minAreaBinary?.push(v.minAreaBinary ?? NaN);
  h.spread?.push(NaN);
  h.pairIoU?.push(NaN);
}

/** Writes an image-dependence reading into the last entry (the columns are made, NaN so far, on the first). */
export function recordDependence(h: LossHistory, d: { spread: number; pairIoU: number }): void {
  if (h.step.length === 0) return;
  for (const k of ['spread', 'pairIoU'] as const) {
    const col = (h[k] ??= h.step.map(() => NaN));
    col[col.length - 1] = d[k];
  }
}

/** Entries `from`… as a new history (the whole of it by default): a copy that shares no array. */
export function historySince(h: LossHistory, from = 0): LossHistory {
  const out: LossHistory = {
    step: h.step.slice(from),
    gAdv: h.gAdv.slice(from),
    gRecZ: h.gRecZ.slice(from),
    dReal: h.dReal.slice(from),
    dFake: h.dFake.slice(from),
  };
  for (const k of OPTIONAL_KEYS) {
    const a = h[k];
    if (a) out[k] = a.slice(from);
  }
  if (h.knobs) out.knobs = h.knobs.map((c) => ({ ...c })); // every chunk carries the whole (short) list
  return out;
}

/** Records a knob change (the list is made on the first). */
export function recordKnobChange(h: LossHistory, c: KnobChange): void {
  (h.knobs ??= []).push(c);
}

/** A list of knob changes read from a file: checked entry by entry; throws Error naming the first that is not one. */
export function parseKnobChanges(raw: unknown): KnobChange[] {
  if (!Array.isArray(raw)) throw new Error('knob changes must be a list');
  return raw.map((c: unknown, i) => {
    const r = c as Partial<Record<keyof KnobChange, unknown>> | null;
    const ok =
      typeof r === 'object' &&
      r !== null &&
      Number.isInteger(r.step) &&
      (r.step as number) >= 0 &&
      typeof r.field === 'string' &&
      (KNOB_KEYS as readonly string[]).includes(r.field) &&
      typeof r.from === 'number' &&
      typeof r.to === 'number';
    if (!ok) throw new Error(`knob change ${i} must be { step, field (${KNOB_KEYS.join(', ')}), from, to }`);
    return { step: r.step as number, field: r.field as KnobKey, from: r.from as number, to: r.to as number };
  });
}

/** A deep copy. */
export function cloneHistory(h: LossHistory): LossHistory {
  return historySince(h, 0);
}

/** Gives a history without accuracy / IoU the two columns, NaN for every entry so far (a run now measured against masks). */
export function withMetricColumns(h: LossHistory): LossHistory {
  if (!h.accuracy || !h.iou) {
    h.accuracy = h.step.map(() => NaN);
    h.iou = h.step.map(() => NaN);
  }
  return h;
}

/** Appends a chunk in place; an optional column is padded with NaN where the target had none, so every array stays aligned with `step`. */
export function appendHistory(target: LossHistory, chunk: LossHistory): void {
  const before = target.step.length;
  target.step.push(...chunk.step);
  for (const k of LOSS_COLUMNS) target[k].push(...chunk[k]);
  for (const k of OPTIONAL_KEYS) {
    const add = chunk[k];
    if (!add) continue;
    const col = (target[k] ??= []);
    while (col.length < before) col.push(NaN);
    col.push(...add);
  }
  if (chunk.knobs) target.knobs = chunk.knobs.map((c) => ({ ...c }));
}

/**
 * Puts a chunk of entries `from`… in place: entries from `from` on are replaced (an evaluation wrote into one the
 * target already had), then the rest appended as appendHistory does.
 */
export function putHistory(target: LossHistory, from: number, chunk: LossHistory): void {
  if (from > target.step.length) throw new Error(`history chunk from entry ${from}, but only ${target.step.length} entries are held`);
  target.step.length = from;
  for (const k of LOSS_COLUMNS) target[k].length = from;
  for (const k of OPTIONAL_KEYS) {
    const col = target[k];
    if (col && col.length > from) col.length = from;
  }
  appendHistory(target, chunk);
}

// ---------------------------------------------------------------------------------------------------------
// losses.csv: `step,g_adv,g_recz,d_real,d_fake` (+ `,accuracy,iou` when measured, + `,min_area,min_area_binary`:
// the collapse watch's smallest soft and binarised region areas); one row per entry, numbers in
// JS's shortest round-trip form (reading gives back the same doubles, bit for bit); an empty cell is a value a
// shorter column lacks.

const BASE_COLUMNS = [
  ['step', 'step'],
  ['g_adv', 'gAdv'],
  ['g_recz', 'gRecZ'],
  ['d_real', 'dReal'],
  ['d_fake', 'dFake'],
] as const;
const OPTIONAL_COLUMNS = [
  ['accuracy', 'accuracy'],
  ['iou', 'iou'],
  ['min_area', 'minArea'],
  ['min_area_binary', 'minAreaBinary'],
  ['spread', 'spread'],
  ['pair_iou', 'pairIoU'],
] as const;
type HistoryKey = (typeof BASE_COLUMNS)[number][1] | (typeof OPTIONAL_COLUMNS)[number][1];

function formatNumber(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

export function historyToCsv(h: LossHistory): string {
  const cols: Array<[string, number[]]> = BASE_COLUMNS.map(([header, key]) => [header, h[key]]);
  for (const [header, key] of OPTIONAL_COLUMNS) {
    const arr = h[key];
    if (arr) cols.push([header, arr]);
  }
  const rows = Math.max(0, ...cols.map(([, a]) => a.length));
  const lines = [cols.map(([header]) => header).join(',')];
  for (let i = 0; i < rows; i++) lines.push(cols.map(([, a]) => (i < a.length ? formatNumber(a[i]!) : '')).join(','));
  return lines.join('\n') + '\n';
}

/** Inverse of historyToCsv. Throws Error naming the line that does not parse. */
export function historyFromCsv(csv: string): LossHistory {
  const lines = csv.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const header = (lines[0] ?? '').split(',').map((s) => s.trim());
  const base = BASE_COLUMNS.map(([h]) => h);
  if (base.some((h, i) => header[i] !== h)) throw new Error(`its header is "${lines[0] ?? ''}", expected to start with ${base.join(',')}`);
  const keys: HistoryKey[] = BASE_COLUMNS.map(([, k]) => k);
  for (const h of header.slice(base.length)) {
    const opt = OPTIONAL_COLUMNS.find(([name]) => name === h);
    if (!opt || keys.includes(opt[1])) throw new Error(`unknown column "${h}"`);
    keys.push(opt[1]);
  }
  const cols: number[][] = keys.map(() => []);
  const lastFilled: number[] = keys.map(() => -1);
  for (let li = 1; li < lines.length; li++) {
    const cells = lines[li]!.split(',');
    if (cells.length !== keys.length) throw new Error(`line ${li + 1} has ${cells.length} cells, expected ${keys.length}`);
    cells.forEach((c, j) => {
      if (c === '') {
        cols[j]!.push(NaN);
        return;
      }
      const v = Number(c);
      if (Number.isNaN(v) && c !== 'NaN') throw new Error(`line ${li + 1}: "${c}" is not a number`);
      cols[j]!.push(v);
      lastFilled[j] = li - 1;
    });
  }
  const trimmed = cols.map((a, j) => a.slice(0, lastFilled[j]! + 1));
  const h = emptyHistory();
  keys.forEach((k, j) => (h[k] = trimmed[j]!));
  return h;
}
