/**
 * Pure formatting for the headless trainer's terminal output: the progress bar, the per-step log line,
 * durations, medians. No I/O here (the iterations-per-second meter is the run core's, src/run/rate.ts).
 */

/** "1h02m", "3m07s", "12.4s", "0.35s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(2)}s`;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(r).padStart(2, '0')}s`;
}

/** A loss or metric value in at most ~6 characters wide. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e4 || a < 1e-3)) return v.toExponential(1);
  return v.toFixed(a >= 100 ? 1 : a >= 10 ? 2 : 3);
}

/** `[#########-----------]  45%` of width `width` characters between the brackets. */
export function progressBar(done: number, total: number, width = 24): string {
  const f = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

/** The one line redrawn in place on a terminal. */
export function progressLine(p: { done: number; total: number; itPerSec: number; elapsedS: number; step: number }): string {
  const eta = p.itPerSec > 0 ? (p.total - p.done) / p.itPerSec : NaN;
  return (
    `${progressBar(p.done, p.total)} ${p.done}/${p.total} step ${p.step} ${p.itPerSec.toFixed(2)} it/s ` +
    `elapsed ${formatDuration(p.elapsedS)} ETA ${formatDuration(eta)}`
  );
}

export interface LogLineInput {
  /** Steps of the whole run so far (as the loss history counts them). */
  step: number;
  done: number;
  total: number;
  losses: { gAdv: number; gRecZ: number; dReal: number; dFake: number; minArea: number; minAreaBinary: number };
  itPerSec: number;
  elapsedS: number;
  restarts: number;
}

/**
 * `step 1200 (300/1000) gAdv 0.512 gRecZ 0.031 dReal 0.954 dFake 0.613 minArea 0.214 minAreaBinary 0.180 | 3.21 it/s
 * elapsed 1m33s ETA 3m38s restarts 0` (the two areas: the collapse watch's soft and binarised readings)
 */
export function logLine(p: LogLineInput): string {
  const l = p.losses;
  const eta = p.itPerSec > 0 ? (p.total - p.done) / p.itPerSec : NaN;
  return (
    `step ${p.step} (${p.done}/${p.total}) gAdv ${formatNumber(l.gAdv)} gRecZ ${formatNumber(l.gRecZ)} dReal ${formatNumber(l.dReal)} ` +
    `dFake ${formatNumber(l.dFake)} minArea ${formatNumber(l.minArea)} minAreaBinary ${formatNumber(l.minAreaBinary)} | ` +
    `${p.itPerSec.toFixed(2)} it/s elapsed ${formatDuration(p.elapsedS)} ` +
    `ETA ${formatDuration(eta)} restarts ${p.restarts}`
  );
}

/** Median of a non-empty list (mean of the middle two for an even length). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
