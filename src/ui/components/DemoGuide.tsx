import { useEffect } from 'react';
import { useStudio } from '../store';
import { importObjectsCheckpoint, setLoopOptions } from '../client';
import { aboutMinutes, demoIterations, demoSteps, OBJECTS_FOLLOW_AT } from '../demoPlan';
import { formatRate } from '../format';

/** Steps measured before the demo's step count is chosen from the speed (the first includes the step-0 previews). */
const MEASURE_STEPS = 3;

/**
 * What a demo run tells a new user once its speed is measured: how many iterations it trains here (chosen from the
 * speed, ./demoPlan.ts), how long that takes, when the masks usually start to follow the objects, and (objects on
 * photos) the committed checkpoint to start from instead.
 */
export function DemoGuide() {
  const demo = useStudio((s) => s.demo);
  const status = useStudio((s) => s.status);
  const backend = useStudio((s) => s.backend?.active ?? null);
  const importBusy = useStudio((s) => s.importBusy);
  const imported = useStudio((s) => s.imported);
  const ips = status.itPerSec;
  const measured = status.state === 'running' && ips > 0 && status.totalSteps >= MEASURE_STEPS;

  useEffect(() => {
    if (!demo || demo.plannedSteps !== null || !measured) return;
    const steps = demo.stepsFromUrl ? useStudio.getState().options.maxSteps : demoSteps(ips, demo.starts);
    if (!demo.stepsFromUrl) setLoopOptions({ maxSteps: steps });
    useStudio.getState().demoPlanned(steps);
  }, [demo, measured, ips]);

  if (!demo || status.runId === null) return null;
  const objects = demo.kind === 'objects';
  const planned = demo.plannedSteps;
  const total = planned !== null ? demoIterations(planned, demo.starts) : null;
  const search =
    demo.starts.count >= 2 ? `best of ${demo.starts.count} starts × ${demo.starts.steps} iterations, then the kept start` : 'one run';
  return (
    <div className="banner info" data-testid="demo-guide" role="status">
      {planned === null || !(ips > 0) ? (
        <div data-testid="demo-expect">
          The first masks above are the untrained model&apos;s. Measuring this machine&apos;s speed
          {backend ? ` on ${backend}` : ''}…
        </div>
      ) : (
        <div data-testid="demo-expect">
          {objects
            ? `Masks usually start to follow the objects after about ${OBJECTS_FOLLOW_AT} iterations: ${aboutMinutes(OBJECTS_FOLLOW_AT / ips)} here (${formatRate(ips)} it/s${backend ? ` on ${backend}` : ''}). `
            : `${formatRate(ips)} it/s here${backend ? ` on ${backend}` : ''}. `}
          This demo trains {search} to <strong data-testid="demo-steps">{planned}</strong> iterations
          {total !== null ? `: ${aboutMinutes(total / ips)} in all` : ''}. The masks refresh every few seconds.
        </div>
      )}
      {objects && (
        <div className="row">
          <button data-testid="demo-checkpoint" disabled={importBusy || backend === null} onClick={importObjectsCheckpoint}>
            Start from the trained checkpoint instead
          </button>
          <span className="muted">
            {imported?.fileName === 'objects-32-F.safetensors'
              ? 'imported: segment your photos with it below.'
              : 'objects-32-F.safetensors, the mask network trained by the recipe in docs/recipe-objects-32.md: it segments photos at once.'}
          </span>
        </div>
      )}
    </div>
  );
}
