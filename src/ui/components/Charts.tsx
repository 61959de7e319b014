import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useStudio } from '../store';
import type { KnobChange, LossHistory } from '../../formats/history';
import type { StartRecord } from '../../formats/runArchive';

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

/** How a knob change reads on a curve's mark and in the lists: `lrF 1e-5 → 2e-5`. */
export function knobLabel(c: KnobChange): string {
  return `${KNOB_LABELS[c.field]} ${formatKnob(c.from)} → ${formatKnob(c.to)}`;
}

export const KNOB_LABELS: Record<KnobChange['field'], string> = {
  lrF: 'lr F',
  lrG: 'lr G',
  lrD: 'lr D',
  lrZ: 'lr δ',
  lambdaZ: 'λz',
  adamBeta1: 'β1',
  adamBeta2: 'β2',
};

export function formatKnob(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v);
}

/**
 * Knob changes (issue 21) as marked vertical lines on a history curve: one dashed line per step where knobs were
 * turned (they apply from the next step), labelled with the fields. The container's `data-knob-lines` says how many
 * lines the last draw put on the canvas (the e2e test reads it).
 */
function knobLines(): uPlot.Plugin {
  return {
    hooks: {
      draw: (u: uPlot) => {
        const knobs = useStudio.getState().history.knobs ?? [];
        const byStep = new Map<number, KnobChange[]>();
        for (const c of knobs) byStep.set(c.step, [...(byStep.get(c.step) ?? []), c]);
        const ctx = u.ctx;
        const { left, top, width, height } = u.bbox;
        let drawn = 0;
        ctx.save();
        ctx.beginPath();
        ctx.rect(left, top, width, height);
        ctx.clip();
        ctx.strokeStyle = '#b8860b';
        ctx.fillStyle = '#8a6508';
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
        ctx.font = `${11 * devicePixelRatio}px sans-serif`;
        for (const [step, changes] of byStep) {
          const x = Math.round(u.valToPos(step, 'x', true));
          if (!Number.isFinite(x) || x < left - 1 || x > left + width + 1) continue;
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          const text = changes.map((c) => KNOB_LABELS[c.field]).join(', ');
          const tw = ctx.measureText(text).width;
          ctx.fillText(text, Math.min(x + 3 * devicePixelRatio, left + width - tw), top + 12 * devicePixelRatio);
          drawn++;
        }
        ctx.restore();
        u.root.parentElement?.setAttribute('data-knob-lines', String(drawn));
      },
    },
  };
}

/**
 * The x range of a curve of evaluations: the whole run's steps (as the loss chart), so that the curves line up and a
 * knob change between two evaluations is drawn where it happened.
 */
function wholeRun(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  const steps = useStudio.getState().history.step;
  const lo = Math.min(min ?? Infinity, steps[0] ?? Infinity);
  const hi = Math.max(max ?? -Infinity, steps.at(-1) ?? -Infinity);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  return lo === hi ? [lo - 1, hi + 1] : [lo, hi];
}

/** Every knob change of the run, under a curve: what its marked lines stand for. */
function KnobMarks() {
  useStudio((s) => s.historyVersion);
  const knobs = useStudio.getState().history.knobs ?? [];
  if (knobs.length === 0) return null;
  return (
    <p className="knob-marks muted" data-testid="knob-marks">
      <span className="knob-swatch">┆</span> knobs turned:{' '}
      {knobs.map((c, i) => (
        <span key={i} data-testid="knob-mark" data-step={c.step} data-field={c.field}>
          {i > 0 ? ' · ' : ''}after step {c.step}: {knobLabel(c)}
        </span>
      ))}
    </p>
  );
}

/** A uPlot chart in `container`, sized to it and kept so on resize, its data refreshed when `deps` change. */
export function useChart(
  container: React.RefObject<HTMLDivElement | null>,
  makeOpts: (width: number) => uPlot.Options,
  data: () => uPlot.AlignedData,
  deps: unknown[],
  marks = false,
): void {
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const opts = makeOpts(Math.max(300, el.clientWidth));
    if (marks) opts.plugins = [...(opts.plugins ?? []), knobLines()];
    const u = new uPlot(opts, data(), el);
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
    true,
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
      <KnobMarks />
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
      scales: { x: { time: false, range: wholeRun }, y: { range: [0, 1] } },
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
    true,
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
      <KnobMarks />
    </section>
  );
}

/** The entries of a history where `key` was measured: steps and values (x and y of a curve of evaluations). */
function measured(h: LossHistory, key: 'spread' | 'pairIoU'): { xs: number[]; ys: number[] } {
  const xs: number[] = [];
  const ys: number[] = [];
  const col = h[key] ?? [];
  for (let i = 0; i < col.length; i++) {
    if (!Number.isFinite(col[i]!)) continue;
    xs.push(h.step[i]!);
    ys.push(col[i]!);
  }
  return { xs, ys };
}

/** The last image-dependence reading of a history (label-free, read with every evaluation), or null before the first. */
export function latestDependence(h: LossHistory): { step: number; spread: number; pairIoU: number } | null {
  const s = h.spread;
  const p = h.pairIoU;
  if (!s || !p) return null;
  for (let i = s.length - 1; i >= 0; i--) if (Number.isFinite(s[i]!)) return { step: h.step[i]!, spread: s[i]!, pairIoU: p[i]! };
  return null;
}

/**
 * How much F's masks depend on the image, without labels (src/redo/metrics.ts imageDependence): the binarised masks'
 * pairwise IoU (1: one blob for every image) and the soft masks' per-pixel spread across images (0: the same).
 */
export function DependenceChart() {
  const version = useStudio((s) => s.historyVersion);
  const shown = useStudio((s) => !!s.history.pairIoU);
  return shown ? <DependencePlot version={version} /> : null;
}

function DependencePlot(props: { version: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const latest = latestDependence(useStudio.getState().history);
  useChart(
    ref,
    (width) => ({
      width,
      height: 160,
      scales: { x: { time: false, range: wholeRun }, y: { range: [0, 1] } },
      axes: [{ label: 'step' }, {}],
      series: [
        { label: 'step' },
        { label: 'pairwise IoU of masks', stroke: '#c0392b', width: 1.5, spanGaps: true },
        { label: 'spread of masks', stroke: '#16a085', width: 1.5, spanGaps: true },
      ],
    }),
    () => {
      const h = useStudio.getState().history;
      const p = measured(h, 'pairIoU');
      const s = measured(h, 'spread');
      return [p.xs, p.ys, s.ys] as uPlot.AlignedData;
    },
    [props.version],
    true,
  );
  return (
    <section className="panel chart" aria-labelledby="dependence-title">
      <h2 id="dependence-title">Image dependence (no labels)</h2>
      <p data-testid="dependence-latest">
        {latest
          ? `step ${latest.step}: masks' pairwise IoU ${latest.pairIoU.toFixed(3)}, spread ${latest.spread.toFixed(3)}`
          : 'measured with the previews'}
        <span className="muted"> · one blob for every image reads pairwise IoU ≈ 1, spread ≈ 0</span>
      </p>
      <div ref={ref} data-testid="dependence-chart" className="plot" />
      <KnobMarks />
    </section>
  );
}

const START_COLOURS = ['#e0533d', '#3d7be0', '#2ca05a', '#8a3de0', '#e0a23d', '#16a085', '#7f8c8d', '#c0392b'];

/** What a start's curve draws: held-out IoU where the run has masks, else the masks' pairwise IoU. */
function startValue(p: StartRecord['curve'][number], byIoU: boolean): number {
  return (byIoU ? p.iou : p.pairIoU) ?? NaN;
}

/** A best-of-K search: every start's curve and scores, the one training now, the one kept. */
export function StartsPanel() {
  const search = useStudio((s) => s.search);
  const runId = useStudio((s) => s.status.runId);
  if (!search || search.runId !== runId || search.records.length === 0) return null;
  return <StartsView search={search} />;
}

function StartsView(props: { search: NonNullable<ReturnType<typeof useStudio.getState>['search']> }) {
  const { plan, records, current } = props.search;
  const ref = useRef<HTMLDivElement>(null);
  const byIoU = records.some((r) => r.rankedBy === 'held-out IoU');
  const key = `${records.length}-${byIoU}-${current}`;
  return (
    <section className="panel chart" aria-labelledby="starts-title">
      <h2 id="starts-title">
        Best of {plan.count} starts <span className="muted">({plan.steps} iterations each)</span>
      </h2>
      <p className="muted" data-testid="starts-state">
        {current !== null
          ? `start ${current + 1} of ${plan.count} training; ranked by ${byIoU ? 'held-out IoU' : '1 − pairwise IoU of the masks'}`
          : `kept start ${records.findIndex((r) => r.kept) + 1}; it goes on training`}
      </p>
      <ol className="starts" data-testid="starts-list">
        {records.map((r, i) => (
          <li key={r.start} data-testid="start-item" data-kept={r.kept && current === null ? 'true' : 'false'}>
            <span style={{ color: START_COLOURS[i % START_COLOURS.length] }}>■</span> seed {r.seed} · {r.steps} steps ·{' '}
            {r.iou !== undefined ? `held-out IoU ${r.iou.toFixed(3)} · ` : ''}pairwise IoU {r.pairIoU.toFixed(3)} · spread{' '}
            {r.spread.toFixed(3)}
            {i === current ? <em> (training)</em> : null}
            {r.kept && current === null ? <strong data-testid="start-kept"> ✓ kept</strong> : null}
          </li>
        ))}
      </ol>
      <StartsPlot key={key} records={records} byIoU={byIoU} container={ref} />
      <div ref={ref} data-testid="starts-chart" className="plot" />
    </section>
  );
}

/** One series per start, on the steps of all of them. */
function StartsPlot(props: { records: StartRecord[]; byIoU: boolean; container: React.RefObject<HTMLDivElement | null> }) {
  const { records, byIoU } = props;
  const data = (): uPlot.AlignedData => {
    const xs = [...new Set(records.flatMap((r) => r.curve.map((p) => p.step)))].sort((a, b) => a - b);
    const ys = records.map((r) => {
      const at = new Map(r.curve.map((p) => [p.step, startValue(p, byIoU)]));
      return xs.map((x) => at.get(x) ?? null);
    });
    return [xs, ...ys] as uPlot.AlignedData;
  };
  useChart(
    props.container,
    (width) => ({
      width,
      height: 160,
      scales: { x: { time: false }, y: { range: [0, 1] } },
      axes: [{ label: 'step of the start' }, { label: byIoU ? 'held-out IoU' : 'pairwise IoU' }],
      series: [
        { label: 'step' },
        ...records.map((r, i) => ({
          label: `start ${r.start + 1}${r.kept ? ' (kept)' : ''}`,
          stroke: START_COLOURS[i % START_COLOURS.length]!,
          width: r.kept ? 2.5 : 1.2,
          spanGaps: true,
        })),
      ],
    }),
    data,
    [records],
  );
  return null;
}
