/** Iterations per second over the last steps of a run (steady speed, not diluted by the first slow steps). */
export class RateMeter {
  private readonly times: number[] = [];

  /** `window`: steps the rate is measured over; `maxAgeMs`: older ticks are dropped too (two are always kept). */
  constructor(
    private readonly window = 20,
    private readonly maxAgeMs = Infinity,
  ) {}

  /** Call once per finished step (and once at the start) with a monotonic time in milliseconds. */
  tick(nowMs: number): void {
    const t = this.times;
    t.push(nowMs);
    while (t.length > 2 && (t.length > this.window + 1 || nowMs - t[0]! > this.maxAgeMs)) t.shift();
  }

  /** 0 until two ticks. */
  rate(): number {
    const n = this.times.length;
    if (n < 2) return 0;
    const dt = this.times[n - 1]! - this.times[0]!;
    return dt > 0 ? ((n - 1) * 1000) / dt : 0;
  }
}
