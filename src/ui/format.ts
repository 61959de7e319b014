/** Small display helpers. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

export function formatBytes(n: number | null): string {
  if (n === null) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatRate(itPerSec: number): string {
  if (!(itPerSec > 0)) return '—';
  return itPerSec >= 10 ? itPerSec.toFixed(1) : itPerSec >= 1 ? itPerSec.toFixed(2) : itPerSec.toFixed(3);
}

/** The collapse watch's last readings: `0.432 / 0.000` (soft / binarised smallest region area), `—` before any. */
export function formatAreas(s: { minArea: number | null; minAreaBinary: number | null }): string {
  const f = (v: number | null) => (v === null ? '—' : v.toFixed(3));
  return s.minArea === null && s.minAreaBinary === null ? '—' : `${f(s.minArea)} / ${f(s.minAreaBinary)}`;
}
