import { useEffect, useRef, useState } from 'react';
import { useStudio } from '../store';
import type { RgbaImage } from '../../formats/images';
import { regionColour } from '../../formats/colours';

/** Draws worker-rendered RGBA bytes, scaled up crisply by CSS. */
export function RgbaCanvas(props: { image: RgbaImage; scale: number; testId: string; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const { image } = props;
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    c.width = image.width;
    c.height = image.height;
    const ctx = c.getContext('2d');
    ctx?.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
  }, [image]);
  return (
    <canvas
      ref={ref}
      data-testid={props.testId}
      aria-label={props.label}
      role="img"
      className="pixelated"
      style={{ width: image.width * props.scale, height: image.height * props.scale }}
    />
  );
}

export function PreviewPanel() {
  const previews = useStudio((s) => s.previews);
  const n = useStudio((s) => s.status.config?.nRegions ?? s.config.nRegions);
  const [view, setView] = useState<'overlay' | 'cutouts'>('overlay');
  const scale = previews ? Math.max(1, Math.floor(96 / previews.cell)) : 1;
  return (
    <section className="panel" aria-labelledby="prev-title">
      <h2 id="prev-title">
        Live masks{' '}
        {previews ? (
          <span className="muted" data-testid="preview-step">
            step {previews.step}
          </span>
        ) : null}
      </h2>
      <div className="row">
        <label>
          <input type="radio" checked={view === 'overlay'} onChange={() => setView('overlay')} /> overlay
        </label>
        <label>
          <input type="radio" checked={view === 'cutouts'} onChange={() => setView('cutouts')} data-testid="view-cutouts" /> cut-outs
        </label>
        <span className="legend">
          {Array.from({ length: n }, (_, k) => (
            <span key={k} className="swatch" style={{ background: `rgb(${regionColour(k).join(',')})` }}>
              region {k + 1}
            </span>
          ))}
        </span>
      </div>
      {previews ? (
        <div className="scroll">
          {view === 'overlay' ? (
            <RgbaCanvas image={previews.overlay} scale={scale} testId="mask-preview" label="masks over the panel images" />
          ) : (
            <RgbaCanvas image={previews.cutouts} scale={scale} testId="mask-cutouts" label="cut-outs per region" />
          )}
        </div>
      ) : (
        <p className="muted" data-testid="no-previews">
          Masks of a fixed panel of your images appear here every few steps.
        </p>
      )}
      <h3>Redrawn samples (as the paper’s Figure 2)</h3>
      {previews ? (
        <div className="scroll">
          <div className="fig2-head" style={{ width: previews.figure2.width * scale }}>
            {previews.figure2Columns.map((c) => (
              <span
                key={c.label}
                style={{ width: (c.cells * (previews.cell + previews.gap) - previews.gap) * scale + previews.gap * scale }}
              >
                {c.label}
              </span>
            ))}
          </div>
          <RgbaCanvas
            image={previews.figure2}
            scale={scale}
            testId="figure2"
            label="Figure 2: input, masks and redraws per region, z fixed per column"
          />
          <p className="muted">
            Each column of a region keeps the same z, so the redrawn colour and texture stay constant down the column.
          </p>
        </div>
      ) : (
        <p className="muted">Input, masks, then several redraws per region (z fixed per column).</p>
      )}
    </section>
  );
}
