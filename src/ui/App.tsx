import { useEffect } from 'react';
import { useStudio } from './store';
import { startWorker } from './client';
import { BackendBadge, BackendBanner } from './components/Backend';
import { DatasetPanel } from './components/DatasetPanel';
import { TrainingPanel } from './components/TrainingPanel';
import { DependenceChart, LossChart, MetricsChart, StartsPanel } from './components/Charts';
import { PreviewPanel } from './components/Previews';
import { ResumeBanner, RunFilesPanel } from './components/RunPanel';
import { SegmentPanel } from './components/SegmentPanel';
import { KeyboardShortcuts } from './components/Keyboard';
import { ComparePanel } from './components/Compare';
import { DemoGuide } from './components/DemoGuide';

function Errors() {
  const errors = useStudio((s) => s.errors);
  if (errors.length === 0) return null;
  return (
    <div className="errors" data-testid="errors" role="alert">
      {errors.map((e) => (
        <div key={e.id} className="error" data-context={e.context}>
          <span>
            <strong>{e.context}:</strong> {e.message}
          </span>
          <button className="small" aria-label="dismiss" onClick={() => useStudio.getState().dismissError(e.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

export function App() {
  useEffect(() => {
    startWorker();
  }, []);
  return (
    <div className="studio">
      <header>
        <div>
          <h1>ReDO Studio</h1>
          <p className="muted">Unsupervised object segmentation by redrawing — trained in your browser, in a worker, on the GPU.</p>
        </div>
        <div className="row">
          <BackendBadge />
          <KeyboardShortcuts />
        </div>
      </header>
      <BackendBanner />
      <ResumeBanner />
      <DemoGuide />
      <Errors />
      <main>
        <div className="col">
          <DatasetPanel />
          <TrainingPanel />
          <RunFilesPanel />
        </div>
        <div className="col wide">
          <LossChart />
          <MetricsChart />
          <DependenceChart />
          <StartsPanel />
          <PreviewPanel />
          <SegmentPanel />
          <ComparePanel />
        </div>
      </main>
    </div>
  );
}
