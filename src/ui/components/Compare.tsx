import { useRef, useState } from 'react';
import { useStudio } from '../store';
import { compareArchive, compareRuns } from '../client';
import { alignByStep, configDiff, type Column } from '../compare';
import { smooth, useChart } from './Charts';
import type { ComparedRun } from '../../worker/protocol';

const COLOURS = ['#e0533d', '#3d7be0', '#2ca05a', '#8a3de0', '#e0a23d', '#16a085', '#7f8c8d', '#c0392b'];

const LOSSES = {
  gAdv: { label: 'G adversarial', column: (h) => h.gAdv },
  gRecZ: { label: 'z reconstruction', column: (h) => h.gRecZ },
  d: { label: 'D (real + fake)', column: (h) => h.dReal.map((v, i) => v + h.dFake[i]!) },
} satisfies Record<string, { label: string; column: Column }>;

const DEPENDENCE = {
  pairIoU: { label: "masks' pairwise IoU", column: (h) => h.pairIoU },
  spread: { label: "masks' spread", column: (h) => h.spread },
} satisfies Record<string, { label: string; column: Column }>;

/** A short name for a run in the legend and the table: its file name, or its date and the end of its id. */
function shortLabel(r: ComparedRun): string {
  if (r.source === 'archive') return r.label;
  const m = /^run-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d)-\d+Z?-(\w+)$/.exec(r.id);
  return m ? `${m[1]!.replace('T', ' ')} ·${m[2]!.slice(-4)}` : r.id;
}

/**
 * Compare runs: stored runs (their latest checkpoints) and run archives side by side: loss, smallest region area,
 * image dependence and held-out IoU overlaid on one axis, aligned by the run's step, and a table of the settings on
 * which they differ.
 */
export function ComparePanel() {
  const runs = useStudio((s) => s.runs);
  const compared = useStudio((s) => s.compared);
  const busy = useStudio((s) => s.compareBusy);
  const backend = useStudio((s) => s.backend?.active ?? null);
  const shownIds = new Set(compared.map((r) => r.id));
  // A pick shows at once, while the worker reads the run (the curves follow when it answers).
  const [asked, setAsked] = useState<ReadonlySet<string>>(new Set());
  const toggle = (runId: string, on: boolean) => {
    setAsked((a) => {
      const next = new Set(a);
      if (on) next.add(runId);
      else next.delete(runId);
      return next;
    });
    if (on) compareRuns([runId]);
    else useStudio.getState().compareRemove(runId);
  };
  return (
    <section className="panel" aria-labelledby="compare-title" data-testid="compare">
      <h2 id="compare-title">Compare runs</h2>
      <p className="muted">Pick two or more stored runs or run archives: their curves share one axis, step by step.</p>
      {runs.length === 0 ? (
        <p className="muted">No stored run yet.</p>
      ) : (
        <ul className="compare-runs" data-testid="compare-run-list">
          {runs.map((r) => (
            <li key={r.runId}>
              <label>
                <input
                  type="checkbox"
                  data-testid="compare-pick"
                  data-run-id={r.runId}
                  checked={shownIds.has(r.runId) || asked.has(r.runId)}
                  onChange={(e) => toggle(r.runId, e.target.checked)}
                />{' '}
                <code>{r.runId}</code>{' '}
                <span className="muted">
                  step {r.step} · {r.config.imageSize}px · batch {r.config.batchSize}
                </span>
              </label>
            </li>
          ))}
        </ul>
      )}
      <div className="row">
        <label className="filebutton">
          Add a run archive (.zip)…
          <input
            type="file"
            accept=".zip,application/zip"
            data-testid="compare-archive-input"
            disabled={backend === null}
            onChange={(e) => {
              const f = e.target.files?.[0];
              e.target.value = '';
              if (f) compareArchive(f);
            }}
          />
        </label>
        {busy && <span className="muted">reading…</span>}
        {compared.some((r) => r.source === 'archive') && (
          <span className="muted">
            archives:{' '}
            {compared
              .filter((r) => r.source === 'archive')
              .map((r) => (
                <button
                  key={r.id}
                  className="small"
                  title="Remove from the comparison"
                  onClick={() => useStudio.getState().compareRemove(r.id)}
                >
                  {r.label} ×
                </button>
              ))}
          </span>
        )}
      </div>
      {compared.length >= 2 ? <CompareView runs={compared} /> : compared.length === 1 ? <p className="muted">Pick one more.</p> : null}
    </section>
  );
}

function CompareView(props: { runs: ComparedRun[] }) {
  const { runs } = props;
  const [loss, setLoss] = useState<keyof typeof LOSSES>('gAdv');
  const [dep, setDep] = useState<keyof typeof DEPENDENCE>('pairIoU');
  const smoothing = useStudio((s) => s.smoothing);
  const labels = runs.map(shortLabel);
  const diff = configDiff(runs);
  const key = runs.map((r) => `${r.id}@${r.step}`).join('|');
  const lossColumn: Column = (h) => smooth(Array.from(LOSSES[loss].column(h)), smoothing).map((v) => v ?? NaN);
  return (
    <div data-testid="compare-view">
      <table className="compare-diff" data-testid="compare-diff">
        <thead>
          <tr>
            <th>differs</th>
            {labels.map((l, i) => (
              <th key={runs[i]!.id} style={{ color: COLOURS[i % COLOURS.length] }}>
                {l}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {diff.length === 0 ? (
            <tr>
              <td colSpan={runs.length + 1} className="muted">
                same settings and seed
              </td>
            </tr>
          ) : (
            diff.map((d) => (
              <tr key={d.field} data-testid="compare-diff-row" data-field={d.field}>
                <th>{d.field}</th>
                {d.values.map((v, i) => (
                  <td key={runs[i]!.id}>{v}</td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
      <div className="row">
        <label className="field inline">
          <span>loss</span>
          <select value={loss} data-testid="compare-loss" onChange={(e) => setLoss(e.target.value as keyof typeof LOSSES)}>
            {Object.entries(LOSSES).map(([k, v]) => (
              <option key={k} value={k}>
                {v.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field inline">
          <span>image dependence</span>
          <select value={dep} data-testid="compare-dependence" onChange={(e) => setDep(e.target.value as keyof typeof DEPENDENCE)}>
            {Object.entries(DEPENDENCE).map(([k, v]) => (
              <option key={k} value={k}>
                {v.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Overlay
        key={`loss-${key}-${loss}-${smoothing}`}
        title={LOSSES[loss].label}
        testId="compare-loss-chart"
        runs={runs}
        labels={labels}
        column={lossColumn}
      />
      <Overlay
        key={`area-${key}`}
        title="smallest region area (soft)"
        testId="compare-area-chart"
        runs={runs}
        labels={labels}
        column={(h) => h.minArea}
        range={[0, 1]}
      />
      <Overlay
        key={`dep-${key}-${dep}`}
        title={DEPENDENCE[dep].label}
        testId="compare-dependence-chart"
        runs={runs}
        labels={labels}
        column={DEPENDENCE[dep].column}
        range={[0, 1]}
      />
      <Overlay
        key={`iou-${key}`}
        title="object IoU (ground truth)"
        testId="compare-iou-chart"
        runs={runs}
        labels={labels}
        column={(h) => h.iou}
        range={[0, 1]}
      />
    </div>
  );
}

/** One quantity of every run on one axis (series in the runs' order and colours), x the run's step. */
function Overlay(props: {
  title: string;
  testId: string;
  runs: ComparedRun[];
  labels: string[];
  column: Column;
  range?: [number, number];
}) {
  const ref = useRef<HTMLDivElement>(null);
  const data = alignByStep(
    props.runs.map((r) => r.history),
    props.column,
  );
  const points = data.slice(1).map((ys) => ys.filter((v) => v !== null).length);
  // the parent remounts this (its key) when the runs, the column or the smoothing change: the data are set once
  useChart(
    ref,
    (width) => ({
      width,
      height: 170,
      scales: { x: { time: false }, y: props.range ? { range: props.range } : {} },
      axes: [{ label: 'step' }, {}],
      series: [
        { label: 'step' },
        ...props.labels.map((l, i) => ({ label: l, stroke: COLOURS[i % COLOURS.length]!, width: 1.5, spanGaps: true })),
      ],
    }),
    () => data,
    [],
  );
  return (
    <div className="chart">
      <h3>
        {props.title}{' '}
        <span className="muted" data-testid={`${props.testId}-points`}>
          ({points.map((n, i) => `${props.labels[i]}: ${n}`).join(', ')} points)
        </span>
      </h3>
      <div ref={ref} data-testid={props.testId} data-series={props.runs.length} className="plot" />
    </div>
  );
}
