import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useStudio } from '../store';

/** Exponential moving average with TensorBoard's debiasing; NaN entries are skipped (kept as gaps). */
export function smooth(values: number[], weight: number): Array<number | null> {
  const out: Array<number | null> = new Array(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    n++;
    out[i] = weight > 0 ? last / (1 - weight ** n) : v;
  }
  return out;
}

function useChart(
  container: React.RefObject<HTMLDivElement | null>,
  makeOpts: (width: number) => uPlot.Options,
  data: () => uPlot.AlignedData,
  deps: unknown[],
): void {
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const u = new uPlot(makeOpts(Math.max(300, el.clientWidth)), data(), el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(300, el.clientWidth), height: u.height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useEffect(() => {
    plot.current?.setData(data());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
}

/** The generator's adversarial term, the z-reconstruction term and the discriminator (dReal + dFake) over the whole run. */
export function LossChart() {
  const ref = useRef<HTMLDivElement>(null);
  const version = useStudio((s) => s.historyVersion);
  const smoothing = useStudio((s) => s.smoothing);
  const count = useStudio((s) => s.history.step.length);
  useChart(
    ref,
    (width) => ({
      width,
      height: 220,
      // The z reconstruction (λz·MSE) is an order of magnitude above the adversarial terms: its own axis, right.
      scales: { x: { time: false }, y: {}, z: {} },
      axes: [
        { label: 'step' },
        { label: 'G adversarial, D', scale: 'y' },
        { label: 'z reconstruction', scale: 'z', side: 1, grid: { show: false } },
      ],
      series: [
        { label: 'step' },
        { label: 'G adversarial', stroke: '#e0533d', width: 1.5, scale: 'y' },
        { label: 'z reconstruction', stroke: '#3d7be0', width: 1.5, scale: 'z' },
        { label: 'D (real + fake)', stroke: '#2ca05a', width: 1.5, scale: 'y' },
      ],
      legend: { live: true },
    }),
    () => {
      const h = useStudio.getState().history;
      const w = useStudio.getState().smoothing;
      const d = h.dReal.map((v, i) => v + h.dFake[i]!);
      return [h.step, smooth(h.gAdv, w), smooth(h.gRecZ, w), smooth(d, w)] as uPlot.AlignedData;
    },
    [version, smoothing],
  );
  return (
    <section className="panel chart" aria-labelledby="loss-title">
      <h2 id="loss-title">Losses</h2>
      <div className="row">
        <label className="field inline">
          <span>smoothing</span>
          <input
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={smoothing}
            data-testid="smoothing"
            onChange={(e) => useStudio.getState().setSmoothing(e.target.valueAsNumber)}
          />
          <span className="muted">{smoothing.toFixed(2)}</span>
        </label>
        <span className="muted" data-testid="loss-count">
          {count} steps recorded
        </span>
      </div>
      <div ref={ref} data-testid="loss-chart" className="plot" />
    </section>
  );
}

/** The last measured accuracy / IoU of a history, or null before the first. */
function latestMetrics(h: ReturnType<typeof useStudio.getState>['history']): { accuracy: number; iou: number; step: number } | null {
  const a = h.accuracy;
  const iou = h.iou;
  if (!a || !iou) return null;
  for (let i = a.length - 1; i >= 0; i--) if (Number.isFinite(a[i]!)) return { accuracy: a[i]!, iou: iou[i]!, step: h.step[i]! };
  return null;
}

/** Pixel accuracy and object IoU against the ground truth, when the dataset has it. */
export function MetricsChart() {
  const version = useStudio((s) => s.historyVersion);
  const shown = useStudio((s) => !!s.history.accuracy);
  return shown ? <MetricsPlot version={version} /> : null;
}

/** Redrawn whenever `version` (the history's) changes: the arrays are appended in place. */
function MetricsPlot(props: { version: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const latest = latestMetrics(useStudio.getState().history);
  useChart(
    ref,
    (width) => ({
      width,
      height: 180,
      scales: { x: { time: false }, y: { range: [0, 1] } },
      axes: [{ label: 'step' }, {}],
      series: [
        { label: 'step' },
        { label: 'accuracy', stroke: '#8a3de0', width: 1.5, spanGaps: true },
        { label: 'object IoU', stroke: '#e0a23d', width: 1.5, spanGaps: true },
      ],
    }),
    () => {
      const h = useStudio.getState().history;
      const xs: number[] = [];
      const acc: number[] = [];
      const iou: number[] = [];
      const a = h.accuracy ?? [];
      for (let i = 0; i < a.length; i++) {
        if (!Number.isFinite(a[i]!)) continue;
        xs.push(h.step[i]!);
        acc.push(a[i]!);
        iou.push(h.iou?.[i] ?? NaN);
      }
      return [xs, acc, iou] as uPlot.AlignedData;
    },
    [props.version],
  );
  return (
    <section className="panel chart" aria-labelledby="metrics-title">
      <h2 id="metrics-title">Accuracy / IoU (ground truth)</h2>
      <p data-testid="metrics-latest">
        {latest
          ? `step ${latest.step}: accuracy ${(100 * latest.accuracy).toFixed(1)} %, object IoU ${(100 * latest.iou).toFixed(1)} %`
          : 'measured with the previews'}
      </p>
      <div ref={ref} data-testid="metrics-chart" className="plot" />
    </section>
  );
}
