import { useStudio } from '../store';
import { useState } from 'react';
import { continueImported, deleteRun, exportRun, exportSegmenter, exportWeights, importFile, resumeRun, takeOverRun } from '../client';
import type { TrainingStatus, WhichF } from '../../worker/protocol';
import { formatBytes } from '../format';

/**
 * After a reload or a restarted worker (what happened, in a sentence): offers to resume the last run (the one that
 * was open) from its last complete checkpoint; if another tab has that run open, says so and offers a take-over.
 */
export function ResumeBanner() {
  const runs = useStudio((s) => s.runs);
  const status = useStudio((s) => s.status);
  const dismissed = useStudio((s) => s.resumeDismissed);
  const datasets = useStudio((s) => s.datasets);
  const backend = useStudio((s) => s.backend);
  const recovery = useStudio((s) => s.recovery);
  const locked = useStudio((s) => s.runLocked);
  const last = runs.find((r) => r.runId === (locked?.runId ?? recovery?.runId)) ?? runs[0];
  if (dismissed || status.runId !== null) return null;
  if (!last) {
    if (!recovery) return null;
    return (
      <div className="banner warn" data-testid="resume-offer">
        <div data-testid="recovery" role="alert">
          {recovery.sentences.join(' ')} No run had a checkpoint yet, so there is nothing to resume: start it again.
        </div>
        <button onClick={() => useStudio.getState().dismissResume()}>OK</button>
      </div>
    );
  }
  const ds = datasets.find((d) => d.id === last.datasetId);
  const dsName = ds?.name ?? 'a deleted dataset';
  const lockedHere = locked?.runId === last.runId ? locked : null;
  return (
    <div className={`banner ${recovery ? 'warn' : 'info'}`} data-testid="resume-offer">
      {recovery && (
        <div data-testid="recovery" role="alert">
          {recovery.sentences.join(' ')} Your run is safe up to its last complete checkpoint.
        </div>
      )}
      {lockedHere && (
        <div data-testid="run-locked" role="status">
          {lockedHere.waiting
            ? 'This run is open in another tab: it opens here, paused, as soon as that tab lets it go (closes it or opens another run).'
            : 'This run is open in another tab; only one tab may train or write a run.'}{' '}
          {!lockedHere.waiting && (
            <button data-testid="take-over" onClick={() => takeOverRun(last.runId)}>
              Take it over when that tab releases it
            </button>
          )}
        </div>
      )}
      <div>
        <strong>Resume your last run?</strong> Step <span data-testid="resume-step">{last.step}</span> on “{dsName}” (
        {last.config.imageSize}px, {last.config.nRegions} regions), saved {new Date(last.updatedAt).toLocaleString()}.
      </div>
      <div className="row">
        <button className="primary" data-testid="resume-run" disabled={!backend?.active || !ds} onClick={() => resumeRun(last.runId, true)}>
          Resume training
        </button>
        <button data-testid="open-run" disabled={!backend?.active || !ds} onClick={() => resumeRun(last.runId, false)}>
          Open paused
        </button>
        <button onClick={() => useStudio.getState().dismissResume()}>Not now</button>
        <button
          className="small"
          onClick={() => {
            if (confirm('Delete this run and its checkpoints?')) deleteRun(last.runId);
          }}
        >
          Delete run
        </button>
      </div>
    </div>
  );
}

/**
 * The choice of F for export and segmentation: the best held-out IoU so far (runs on a dataset with masks) or the
 * latest, each with the step of the run it is from.
 */
export function WhichFSelect(props: { status: TrainingStatus; value: WhichF; onChange: (w: WhichF) => void; testId: string }) {
  const { best, totalSteps } = props.status;
  return (
    <select value={best ? props.value : 'last'} data-testid={props.testId} onChange={(e) => props.onChange(e.target.value as WhichF)}>
      <option value="last">last F — step {totalSteps}</option>
      <option value="best" disabled={!best}>
        {best ? `best F — step ${best.step}, held-out IoU ${best.iou.toFixed(3)}` : 'best F — needs a dataset with masks'}
      </option>
    </select>
  );
}

/** Export the run as a zip (latest state and best F), or F alone (best or last); import a run archive or a bare weights file. */
export function RunFilesPanel() {
  const status = useStudio((s) => s.status);
  const exportBusy = useStudio((s) => s.exportBusy);
  const lastExport = useStudio((s) => s.lastExport);
  const imported = useStudio((s) => s.imported);
  const importBusy = useStudio((s) => s.importBusy);
  const importError = useStudio((s) => s.importError);
  const selected = useStudio((s) => s.selectedDatasetId);
  const datasets = useStudio((s) => s.datasets);
  const ds = datasets.find((d) => d.id === selected);
  const [which, setWhich] = useState<WhichF>('best');

  return (
    <section className="panel" aria-labelledby="files-title">
      <h2 id="files-title">Run files</h2>
      <div className="row">
        <button data-testid="export" disabled={!status.runId || exportBusy} onClick={exportRun}>
          {exportBusy ? 'Exporting…' : 'Export run (.zip)'}
        </button>
        <button
          data-testid="export-segmenter"
          disabled={!status.runId || exportBusy}
          onClick={exportSegmenter}
          title="F's weights, redo-segmenter.js and a ready index.html: segment in your own page (README)"
        >
          Export segmenter (.zip)
        </button>
        {lastExport && (
          <span className="muted" data-testid="export-done">
            {lastExport.fileName} ({formatBytes(lastExport.bytes)})
          </span>
        )}
      </div>
      <div className="row">
        <button
          data-testid="export-weights"
          disabled={!status.runId || exportBusy}
          onClick={() => exportWeights(status.best ? which : 'last')}
        >
          Export F (.safetensors)
        </button>
        <WhichFSelect status={status} value={which} onChange={setWhich} testId="export-which" />
      </div>
      <div className="row">
        <label className="filebutton">
          Import .zip or .safetensors…
          <input
            type="file"
            accept=".zip,.safetensors,application/zip"
            data-testid="import-input"
            onChange={(e) => {
              const f = e.target.files?.[0];
              e.target.value = '';
              if (f) importFile(f);
            }}
          />
        </label>
        {importBusy && <span className="muted">reading…</span>}
      </div>
      {importError && (
        <div className="bad-text" role="alert" data-testid="import-error">
          Import refused: {importError} <span className="muted">(the current run is unchanged)</span>
        </div>
      )}
      {imported && !importError && (
        <div className="imported" data-testid="imported">
          <div>
            Imported <code>{imported.fileName}</code>: {imported.kind === 'run' ? `run at step ${imported.step}` : 'weights'} ·{' '}
            {imported.config.imageSize}px · {imported.config.nRegions} regions
            {imported.configSource ? ` · configuration ${imported.configSource}` : ''}
            {imported.dataset ? ` · trained on “${imported.dataset.name}” (${imported.dataset.count} images)` : ''}
          </div>
          <div className="row">
            <button
              data-testid="continue-imported"
              disabled={!imported.trainable || !ds}
              title={!imported.trainable ? 'Only the mask network is in this file: segmentation only' : !ds ? 'Choose a dataset first' : ''}
              onClick={() => ds && continueImported(ds.id)}
            >
              {imported.kind === 'run' ? 'Continue this run' : 'New run from these weights'}
              {ds ? ` on “${ds.name}”` : ''}
            </button>
            <span className="muted">or segment images with it below.</span>
          </div>
        </div>
      )}
    </section>
  );
}
