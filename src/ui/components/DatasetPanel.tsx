import { useEffect, useEffectEvent, useRef, useState, type DragEvent } from 'react';
import { useStudio } from '../store';
import { createDemo, deleteDataset, ingestFiles, setBackend } from '../client';
import { filesFromDrop, filesFromList } from '../files';
import type { DemoKind, FileEntry, StartsPlan } from '../../worker/protocol';
import { PRESETS, type PresetName } from '../../redo/config';
import { describeStorage } from '../storage';
import { demoSteps } from '../demoPlan';

/** Skipped files and warnings shown at most (a 10,000-file folder of non-images must not render 10,000 rows at once). */
const LIST_MAX = 200;

const DEMO_COUNT = 2000;
/**
 * The demos' presets; objects on photos trains best of 3 starts of 300 iterations (which basin a run lands in is
 * chance: docs/recipe-objects-32.md), unless the URL sets `starts` / `startSteps`.
 */
const DEMOS: Record<DemoKind, { title: string; preset: PresetName; starts?: StartsPlan }> = {
  c2mnist: { title: 'colored-2-MNIST', preset: 'c2mnist-64' },
  objects: { title: 'objects-on-photos', preset: 'objects-32', starts: { count: 3, steps: 300 } },
};

export function DatasetPanel() {
  const datasets = useStudio((s) => s.datasets);
  const selected = useStudio((s) => s.selectedDatasetId);
  const ingest = useStudio((s) => s.ingest);
  const size = useStudio((s) => s.config.imageSize);
  const presetName = useStudio((s) => s.presetName);
  const status = useStudio((s) => s.status);
  const storage = useStudio((s) => s.storage);
  const [masks, setMasks] = useState<FileEntry[]>([]);
  const [over, setOver] = useState(false);
  const folderInput = useRef<HTMLInputElement>(null);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (ingest.running) return;
    void filesFromDrop(e.dataTransfer).then((files) => {
      if (files.length) ingestFiles(files, masks, size);
    });
  };

  // A folder dropped anywhere else on the page is a dataset too (and the browser must not navigate away to
  // the dropped file). Drop zones that handled the drop have called preventDefault.
  const pageDrop = useEffectEvent((e: globalThis.DragEvent) => {
    if (e.defaultPrevented || !e.dataTransfer) return;
    e.preventDefault();
    if (useStudio.getState().ingest.running) return;
    void filesFromDrop(e.dataTransfer).then((files) => {
      if (files.length) ingestFiles(files, masks, useStudio.getState().config.imageSize);
    });
  });
  useEffect(() => {
    const over = (e: globalThis.DragEvent) => e.preventDefault();
    const drop = (e: globalThis.DragEvent) => pageDrop(e);
    window.addEventListener('dragover', over);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragover', over);
      window.removeEventListener('drop', drop);
    };
  }, []);

  const demo = (kind: DemoKind) => {
    const st = useStudio.getState();
    // The demo's own preset unless the URL chose one: colored-2-MNIST (3 regions) or objects on photos (2).
    const own = DEMOS[kind].preset;
    const fromUrl = new URLSearchParams(location.search).has('preset');
    if (!fromUrl) st.setPreset(own);
    const starts = DEMOS[kind].starts;
    if (starts && !st.startsFromUrl) st.setStarts(starts);
    const demoSize = fromUrl ? st.config.imageSize : PRESETS[own].imageSize;
    // No backend yet (WebGPU missing): the best one that works, said so in the banner; never silently.
    if (!st.backend?.active) setBackend(st.backend?.requested ?? st.requestedBackend, true);
    const plan = useStudio.getState().starts;
    const stepsFromUrl = new URLSearchParams(location.search).has('steps');
    // Until its speed is measured the demo counts its fewest steps (the ETA never reads 20,000 default steps).
    if (!stepsFromUrl) st.setOptions({ maxSteps: demoSteps(0, plan) });
    useStudio.getState().demoStarted({ kind, starts: plan, stepsFromUrl });
    createDemo(kind, DEMOS[kind].title, demoSize, DEMO_COUNT);
  };

  const busyRun = status.state === 'running' || status.state === 'pausing';
  const pct = ingest.total > 0 ? Math.round((100 * ingest.done) / ingest.total) : ingest.running ? 0 : 100;

  return (
    <section className="panel" aria-labelledby="ds-title">
      <h2 id="ds-title">1 · Dataset</h2>
      <div
        className={`dropzone ${over ? 'over' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p>
          <strong>Drop a folder of images here</strong> (sub-folders too), or a .zip of images.
          <br />A sub-folder named <code>masks</code> is read as ground truth (turns on accuracy / IoU).
        </p>
        <div className="row">
          <button onClick={() => folderInput.current?.click()} disabled={ingest.running}>
            Choose a folder…
          </button>
          <label className="filebutton">
            Zip or images…
            <input
              type="file"
              multiple
              accept=".zip,image/*"
              data-testid="files-input"
              disabled={ingest.running}
              onChange={(e) => {
                if (e.target.files?.length) ingestFiles(filesFromList(e.target.files), masks, size);
                e.target.value = '';
              }}
            />
          </label>
          <label className="filebutton secondary" title="Optional: a folder of ground-truth masks named like the images">
            Masks folder{masks.length ? ` (${masks.length})` : ''}…
            <input
              type="file"
              data-testid="masks-input"
              {...{ webkitdirectory: '', directory: '' }}
              onChange={(e) => {
                if (e.target.files) setMasks(filesFromList(e.target.files));
                e.target.value = '';
              }}
            />
          </label>
          <input
            ref={folderInput}
            type="file"
            hidden
            data-testid="folder-input"
            {...{ webkitdirectory: '', directory: '' }}
            onChange={(e) => {
              if (e.target.files?.length) ingestFiles(filesFromList(e.target.files), masks, size);
              e.target.value = '';
            }}
          />
          <span className="muted">
            imported at {size}×{size} px
          </span>
        </div>
        <div className="row">
          <button className="primary" onClick={() => demo('c2mnist')} disabled={ingest.running || busyRun} data-testid="demo">
            ▶ Try the colored-2-MNIST demo
          </button>
          <button className="primary" onClick={() => demo('objects')} disabled={ingest.running || busyRun} data-testid="demo-objects">
            ▶ Try objects on photos
          </button>
          <span className="muted">{presetName === 'custom' ? '' : 'trains at once, with ground truth'}</span>
        </div>
      </div>

      {(ingest.running || ingest.result || ingest.failure) && (
        <div className="ingest" data-testid="ingest">
          {ingest.running && (
            <>
              <div>{ingest.label}</div>
              <progress data-testid="ingest-progress" max={100} value={pct} />
              <span className="muted">
                {' '}
                {ingest.done} / {ingest.total}
              </span>
            </>
          )}
          {ingest.result && (
            <div data-testid="ingest-result" className="ok-text">
              Imported <strong data-testid="ingest-accepted">{ingest.result.accepted}</strong> image
              {ingest.result.accepted === 1 ? '' : 's'}
              {ingest.summary?.hasMasks ? ' with ground truth' : ''}
              {ingest.ms !== null && ingest.ms > 0
                ? ` in ${(ingest.ms / 1000).toFixed(1)} s (${((ingest.result.accepted * 1000) / ingest.ms).toFixed(0)} images/s)`
                : ''}
              {ingest.result.rejected.length > 0 ? `; ${ingest.result.rejected.length} skipped:` : '.'}
            </div>
          )}
          {ingest.failure && (
            <div className="bad-text" role="alert" data-testid="ingest-failure">
              Import failed: {ingest.failure}
            </div>
          )}
          {ingest.rejected.length > 0 && (
            <ul className="rejected" data-testid="rejected-list">
              {ingest.rejected.slice(0, LIST_MAX).map((r) => (
                <li key={r.name} data-name={r.name}>
                  <code>{r.name}</code> — {r.reason}
                </li>
              ))}
              {ingest.rejected.length > LIST_MAX && <li className="muted">… and {ingest.rejected.length - LIST_MAX} more</li>}
            </ul>
          )}
          {ingest.result && ingest.result.warnings.length > 0 && (
            <details data-testid="ingest-warnings">
              <summary>{ingest.result.warnings.length} warning(s)</summary>
              <ul>
                {ingest.result.warnings.slice(0, LIST_MAX).map((w, i) => (
                  <li key={`${w.name}-${i}`}>
                    <code>{w.name}</code> — {w.reason}
                  </li>
                ))}
                {ingest.result.warnings.length > LIST_MAX && (
                  <li className="muted">… and {ingest.result.warnings.length - LIST_MAX} more</li>
                )}
              </ul>
            </details>
          )}
        </div>
      )}

      <h3>Stored datasets</h3>
      <p className="muted" data-testid="storage">
        {describeStorage(storage)}
      </p>
      {datasets.length === 0 ? (
        <p className="muted" data-testid="no-datasets">
          None yet.
        </p>
      ) : (
        <ul className="datasets" data-testid="dataset-list">
          {datasets.map((d) => (
            <li key={d.id} className={d.id === selected ? 'selected' : ''} data-testid="dataset-item" data-dataset-id={d.id}>
              <label>
                <input type="radio" name="dataset" checked={d.id === selected} onChange={() => useStudio.getState().selectDataset(d.id)} />
                <span data-testid="dataset-name">{d.name}</span>{' '}
                <span className="muted">
                  {d.count} × {d.size}px{d.hasMasks ? ' · ground truth' : ''}
                </span>
              </label>
              <button
                className="small"
                title="Delete this dataset"
                disabled={busyRun && status.datasetId === d.id}
                onClick={() => {
                  if (confirm(`Delete dataset "${d.name}" (${d.count} images)?`)) deleteDataset(d.id);
                }}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
