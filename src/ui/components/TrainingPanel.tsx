import { useEffect, useState, type ReactNode } from 'react';
import { useStudio } from '../store';
import { pauseTraining, resumeTraining, setKnobs, setLoopOptions, startTraining, stepTraining, stopTraining } from '../client';
import { KNOB_KEYS, PRESET_NAMES, SHAPE_KEYS, SHAPE_LOCK_REASON, type Knobs, type PresetName, type RedoConfig } from '../../redo/config';
import type { LoopOptions } from '../../worker/protocol';
import { formatAreas, formatBytes, formatDuration, formatRate } from '../format';
import { KNOB_LABELS, formatKnob, knobLabel, latestDependence } from './Charts';

function Num(props: {
  label: string;
  value: number;
  onChange: (v: number) => void;
  step?: number;
  min?: number;
  testId?: string;
  title?: string;
  disabled?: boolean;
}) {
  return (
    <label className="field" title={props.title}>
      <span>{props.label}</span>
      <input
        type="number"
        value={Number.isFinite(props.value) ? props.value : ''}
        step={props.step ?? 1}
        min={props.min ?? 0}
        disabled={props.disabled}
        data-testid={props.testId}
        onChange={(e) => {
          const v = e.target.valueAsNumber;
          if (Number.isFinite(v)) props.onChange(v);
        }}
      />
    </label>
  );
}

function Stat(props: { label: string; testId?: string; children: ReactNode }) {
  return (
    <div className="stat">
      <span className="muted">{props.label}</span>
      <strong data-testid={props.testId}>{props.children}</strong>
    </div>
  );
}

export function TrainingPanel() {
  const config = useStudio((s) => s.config);
  const presetName = useStudio((s) => s.presetName);
  const options = useStudio((s) => s.options);
  const seed = useStudio((s) => s.seed);
  const status = useStudio((s) => s.status);
  const backend = useStudio((s) => s.backend);
  const selected = useStudio((s) => s.selectedDatasetId);
  const autoStart = useStudio((s) => s.autoStartDemo);
  const ingest = useStudio((s) => s.ingest);
  const lastCheckpoint = useStudio((s) => s.lastCheckpoint);
  const starts = useStudio((s) => s.starts);
  useStudio((s) => s.historyVersion); // the dependence stat is read from the history
  const dependence = latestDependence(useStudio.getState().history);
  const st = useStudio.getState();

  useEffect(() => {
    if (autoStart && !ingest.running && ingest.summary && backend?.active) {
      useStudio.getState().autoStartConsumed();
      startTraining(true);
    }
  }, [autoStart, ingest.running, ingest.summary, backend?.active]);

  const setOpt = (patch: Partial<LoopOptions>) => setLoopOptions(patch);
  const set = (patch: Partial<RedoConfig>) => st.setConfig(patch);

  const state = status.state;
  const running = state === 'running';
  const hasRun = status.runId !== null;
  const canStart = !!selected && !!backend?.active && state !== 'running' && state !== 'pausing' && state !== 'loading';
  const checkpointStep = status.lastCheckpointStep ?? lastCheckpoint?.step ?? null;
  const canStep = state === 'paused' && !!backend?.active && status.step < status.maxSteps;

  const shape = status.config
    ? ` · ${status.config.imageSize}px · ${status.config.nRegions} regions · batch ${status.config.batchSize}`
    : '';
  return (
    <section className="panel" aria-labelledby="train-title">
      <h2 id="train-title">2 · Training</h2>
      <div className="controls row">
        <button
          className="primary"
          onClick={() => startTraining()}
          disabled={!canStart}
          data-testid="start"
          title="A new run with these settings"
        >
          {hasRun ? 'New run' : 'Start'}
        </button>
        <button onClick={pauseTraining} disabled={!running} data-testid="pause">
          Pause
        </button>
        <button onClick={resumeTraining} disabled={!(state === 'paused' || state === 'finished') || !backend?.active} data-testid="resume">
          Resume
        </button>
        <button
          onClick={stepTraining}
          disabled={!canStep}
          data-testid="step-once"
          title="One iteration of the paused run; every view then shows that step (key s)"
        >
          Step
        </button>
        <button onClick={stopTraining} disabled={!hasRun || state === 'stopped'} data-testid="stop">
          Stop
        </button>
        <span className={`state state-${state}`} data-testid="run-state">
          {state}
        </span>
      </div>

      <div className="stats">
        <Stat label="step" testId="step">
          {status.step}
        </Stat>
        <Stat label="of">{status.maxSteps || options.maxSteps}</Stat>
        <Stat label="it/s" testId="its">
          {formatRate(status.itPerSec)}
        </Stat>
        <Stat label="elapsed" testId="elapsed">
          {formatDuration(status.elapsedMs)}
        </Stat>
        <Stat label="remaining" testId="eta">
          {formatDuration(status.etaMs)}
        </Stat>
        <Stat label="collapse restarts" testId="restarts">
          {status.restarts - status.blobRestarts}
        </Stat>
        <Stat label="blob restarts" testId="blob-restarts">
          {status.blobRestarts}
        </Stat>
        <Stat label="smallest region (soft / mask ≥ 0.5)" testId="min-area">
          {formatAreas(status)}
        </Stat>
        <Stat label="masks' pairwise IoU / spread" testId="dependence">
          {dependence ? `${dependence.pairIoU.toFixed(3)} / ${dependence.spread.toFixed(3)}` : '—'}
        </Stat>
        <Stat label="last checkpoint" testId="last-checkpoint">
          {checkpointStep === null ? '—' : checkpointStep}
        </Stat>
        <Stat label="tensors / GPU">
          {status.numTensors} / {formatBytes(status.numBytesInGPU)}
        </Stat>
      </div>
      {status.lastRestart && (
        <p className="warn-text" role="status" data-testid="last-restart" data-kind={status.lastRestart.kind}>
          Restarted at step {status.lastRestart.step} by the {status.lastRestart.kind === 'blob' ? 'blob' : 'collapse'} watch:{' '}
          {status.lastRestart.why}; all networks re-initialised.
        </p>
      )}
      {status.datasetName && (
        <p className="muted" data-testid="run-info">
          Run on “{status.datasetName}”{shape} · <code className="muted">{status.runId}</code>
        </p>
      )}

      {status.config && hasRun && <KnobsPanel config={status.config} state={state} />}

      <details open className="settings">
        <summary>Settings {hasRun ? <span className="muted">(model settings apply to the next new run)</span> : null}</summary>
        <div className="grid">
          <label className="field">
            <span>preset</span>
            <select value={presetName} data-testid="preset" onChange={(e) => st.setPreset(e.target.value as PresetName)}>
              {presetName === 'custom' && <option value="custom">custom</option>}
              {PRESET_NAMES.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <label className="field" title="Set by the dataset; new imports use it">
            <span>image size</span>
            <select value={config.imageSize} onChange={(e) => set({ imageSize: Number(e.target.value) as RedoConfig['imageSize'] })}>
              {[32, 64, 128].map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </label>
          <Num label="regions n" value={config.nRegions} min={2} onChange={(v) => set({ nRegions: v })} testId="cfg-regions" />
          <Num label="batch" value={config.batchSize} min={1} onChange={(v) => set({ batchSize: v })} testId="cfg-batch" />
          <Num label="λz" value={config.lambdaZ} step={0.5} onChange={(v) => set({ lambdaZ: v })} testId="cfg-lambdaz" />
          <Num label="lr F" value={config.lrF} step={1e-6} onChange={(v) => set({ lrF: v })} />
          <Num label="lr G" value={config.lrG} step={1e-5} onChange={(v) => set({ lrG: v })} />
          <Num label="lr D" value={config.lrD} step={1e-5} onChange={(v) => set({ lrD: v })} />
          <Num label="lr δ" value={config.lrZ} step={1e-5} onChange={(v) => set({ lrZ: v })} />
          <Num label="nz" value={config.nz} min={1} onChange={(v) => set({ nz: v })} />
          <Num
            label="blob watch: pairwise IoU over"
            value={config.blobPairIoU}
            step={0.01}
            min={0}
            onChange={(v) => set({ blobPairIoU: v })}
            testId="cfg-blob-pairiou"
            title="restart a run whose masks' pairwise IoU passes this between the two iterations below (the masks ignore the image); 0: off"
          />
          <Num label="blob watch from iteration" value={config.blobFrom} min={0} onChange={(v) => set({ blobFrom: v })} />
          <Num label="… until iteration" value={config.blobLastIteration} min={0} onChange={(v) => set({ blobLastIteration: v })} />
          <Num label="seed" value={seed} onChange={(v) => st.setSeed(v)} />
          <Num
            label="starts"
            value={starts.count}
            min={1}
            onChange={(v) => st.setStarts({ count: Math.max(1, Math.round(v)) })}
            testId="opt-starts"
            title="best of K starts: K runs from seeds derived from the seed, ranked (held-out IoU, else image dependence); the best goes on (1: a plain run)"
          />
          <Num
            label="iterations per start"
            value={starts.steps}
            min={1}
            disabled={starts.count < 2}
            onChange={(v) => st.setStarts({ steps: Math.max(1, Math.round(v)) })}
            testId="opt-start-steps"
          />
        </div>
        <div className="grid">
          <Num label="steps" value={options.maxSteps} min={1} onChange={(v) => setOpt({ maxSteps: v })} testId="opt-steps" />
          <Num
            label="checkpoint every"
            value={options.checkpointEvery}
            onChange={(v) => setOpt({ checkpointEvery: v })}
            testId="opt-ckpt"
            title="steps (0: only on pause / stop)"
          />
          <Num
            label="previews every"
            value={options.previewEvery}
            onChange={(v) => setOpt({ previewEvery: v })}
            testId="opt-preview"
            title="steps"
          />
          <Num
            label="read losses every"
            value={options.lossEvery}
            min={1}
            onChange={(v) => setOpt({ lossEvery: Math.max(1, v) })}
            testId="opt-loss"
            title="steps (one batched GPU readback)"
          />
        </div>
      </details>
    </section>
  );
}

/**
 * Knobs mid-run (issue 21): the learning rates, λz and Adam's β of the open run, changed while it runs or is paused;
 * they apply from the next iteration, are drawn on every curve and kept in the run's history. The shape fields stay
 * locked, with the reason.
 */
function KnobsPanel(props: { config: RedoConfig; state: string }) {
  const { config } = props;
  const [draft, setDraft] = useState<Partial<Knobs>>({});
  const knobs = useStudio((s) => s.history.knobs) ?? [];
  useStudio((s) => s.historyVersion);
  const editable = props.state === 'running' || props.state === 'paused' || props.state === 'finished';
  const changed = KNOB_KEYS.filter((k) => draft[k] !== undefined && draft[k] !== config[k]);
  const apply = () => {
    const patch: Partial<Knobs> = {};
    for (const k of changed) patch[k] = draft[k];
    setKnobs(patch);
    setDraft({});
  };
  return (
    <details open className="settings knobs" data-testid="knobs">
      <summary>
        Knobs <span className="muted">(this run, from the next iteration)</span>
      </summary>
      <div className="grid">
        {KNOB_KEYS.map((k) => (
          <label key={k} className="field">
            <span>{KNOB_LABELS[k]}</span>
            <input
              type="number"
              step="any"
              min={0}
              disabled={!editable}
              data-testid={`knob-${k}`}
              data-current={config[k]}
              value={draft[k] ?? config[k]}
              onChange={(e) => {
                const v = e.target.valueAsNumber;
                if (Number.isFinite(v)) setDraft((d) => ({ ...d, [k]: v }));
              }}
            />
          </label>
        ))}
      </div>
      <div className="row">
        <button onClick={apply} disabled={!editable || changed.length === 0} data-testid="knob-apply">
          Apply {changed.length ? `(${changed.map((k) => KNOB_LABELS[k]).join(', ')})` : ''}
        </button>
        {changed.length > 0 && (
          <button className="small" onClick={() => setDraft({})}>
            Reset
          </button>
        )}
      </div>
      <p className="muted" data-testid="shape-lock">
        🔒 {SHAPE_KEYS.join(', ')}, locked: {SHAPE_LOCK_REASON}.
      </p>
      {knobs.length > 0 && (
        <ol className="knob-changes" data-testid="knob-changes">
          {knobs.map((c, i) => (
            <li key={i} data-testid="knob-change" data-step={c.step} data-field={c.field} data-from={c.from} data-to={c.to}>
              after step {c.step}: {knobLabel(c)}
            </li>
          ))}
        </ol>
      )}
      {knobs.length === 0 && (
        <p className="muted">
          No knob turned yet: current {KNOB_KEYS.map((k) => `${KNOB_LABELS[k]} ${formatKnob(config[k])}`).join(' · ')}
        </p>
      )}
    </details>
  );
}
