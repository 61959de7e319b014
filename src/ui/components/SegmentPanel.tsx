import { useEffect, useMemo, useState, type DragEvent } from 'react';
import { useStudio } from '../store';
import { segmentImages } from '../client';
import { filesFromDrop, filesFromList } from '../files';
import type { FileEntry, SegmentSource, WhichF } from '../../worker/protocol';
import { WhichFSelect } from './RunPanel';

function baseName(name: string): string {
  const b = name.split('/').pop() ?? name;
  return b.replace(/\.[^.]+$/, '');
}

/** Segment new images with the current or an imported model; see and download masks and cut-outs. */
export function SegmentPanel() {
  const imported = useStudio((s) => s.imported);
  const status = useStudio((s) => s.status);
  const runId = status.runId;
  const [which, setWhich] = useState<WhichF>('best');
  const busy = useStudio((s) => s.segmentBusy);
  const results = useStudio((s) => s.segmented);
  const rejected = useStudio((s) => s.segmentRejected);
  const [source, setSource] = useState<SegmentSource>('current');
  const effective: SegmentSource = source === 'imported' && imported ? 'imported' : runId ? 'current' : imported ? 'imported' : 'current';

  const urls = useMemo(
    () =>
      results.map((r) => ({
        input: URL.createObjectURL(r.input),
        mask: URL.createObjectURL(r.mask),
        cutouts: r.cutouts.map((c) => URL.createObjectURL(c)),
      })),
    [results],
  );
  useEffect(
    () => () => {
      for (const u of urls) for (const x of [u.input, u.mask, ...u.cutouts]) URL.revokeObjectURL(x);
    },
    [urls],
  );

  const run = (files: FileEntry[]) => segmentImages(effective, files, status.best ? which : 'last');
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    void filesFromDrop(e.dataTransfer).then(run);
  };
  const none = !runId && !imported;

  return (
    <section className="panel" aria-labelledby="seg-title">
      <h2 id="seg-title">3 · Segment new images</h2>
      <div className="dropzone small" onDragOver={(e) => e.preventDefault()} onDrop={onDrop} data-testid="segment-drop">
        <div className="row">
          <label className="field inline">
            <span>model</span>
            <select value={effective} onChange={(e) => setSource(e.target.value as SegmentSource)} data-testid="segment-source">
              <option value="current" disabled={!runId}>
                current run
              </option>
              <option value="imported" disabled={!imported}>
                imported{imported ? ` (${imported.fileName})` : ''}
              </option>
            </select>
          </label>
          {effective === 'current' && runId && <WhichFSelect status={status} value={which} onChange={setWhich} testId="segment-which" />}
          <label className="filebutton">
            Images…
            <input
              type="file"
              multiple
              accept="image/*"
              disabled={none || busy}
              data-testid="segment-input"
              onChange={(e) => {
                if (e.target.files) run(filesFromList(e.target.files));
                e.target.value = '';
              }}
            />
          </label>
          <span className="muted">{none ? 'Train or import a model first.' : busy ? 'segmenting…' : 'or drop images here'}</span>
        </div>
      </div>
      {rejected.length > 0 && (
        <ul className="rejected" data-testid="segment-rejected">
          {rejected.map((r) => (
            <li key={r.name} data-name={r.name}>
              <code>{r.name}</code> — {r.reason}
            </li>
          ))}
        </ul>
      )}
      <div className="segmented" data-testid="segment-results">
        {results.map((r, i) => (
          <figure key={`${r.name}-${i}`} className="seg-item" data-testid="segment-item">
            <div className="row">
              <img src={urls[i]!.input} alt={`${r.name} input`} width={128} height={128} />
              <img src={urls[i]!.mask} alt={`${r.name} mask`} width={128} height={128} />
              {urls[i]!.cutouts.map((u, k) => (
                <img key={k} src={u} alt={`${r.name} region ${k + 1}`} width={128} height={128} className="checker" />
              ))}
            </div>
            <figcaption>
              <code>{r.name}</code> · areas {r.areas.map((a) => `${(100 * a).toFixed(0)}%`).join(' / ')} ·{' '}
              <a href={urls[i]!.mask} download={`${baseName(r.name)}-mask.png`} data-testid="download-mask">
                mask
              </a>
              {urls[i]!.cutouts.map((u, k) => (
                <span key={k}>
                  {' · '}
                  <a href={u} download={`${baseName(r.name)}-region${k + 1}.png`} data-testid={`download-cutout-${k + 1}`}>
                    cut-out {k + 1}
                  </a>
                </span>
              ))}
            </figcaption>
          </figure>
        ))}
      </div>
    </section>
  );
}
