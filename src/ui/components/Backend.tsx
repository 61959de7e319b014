import { useStudio } from '../store';
import { setBackend } from '../client';
import type { BackendName } from '../../worker/protocol';

const LABEL: Record<BackendName, string> = { webgpu: 'WebGPU', webgl: 'WebGL', cpu: 'CPU' };

/** The active backend and adapter, always visible. */
export function BackendBadge() {
  const report = useStudio((s) => s.backend);
  let text = 'starting…';
  if (report?.active) {
    const a = report.adapter;
    const adapter = a ? [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' · ') : '';
    text = `${report.active}${adapter ? ` — ${adapter}` : ''}`;
  } else if (report) text = 'none';
  return (
    <span className={`badge ${report?.active === 'webgpu' ? 'ok' : report?.active ? 'warn' : 'bad'}`} title="TF.js backend in the training worker">
      backend: <strong data-testid="backend">{text}</strong>
    </span>
  );
}

/** When WebGPU is missing or fails: says so plainly and offers WebGL / CPU. */
export function BackendBanner() {
  const report = useStudio((s) => s.backend);
  const status = useStudio((s) => s.status.state);
  if (!report) return null;
  const busy = status === 'running' || status === 'pausing';
  const choose = (b: BackendName) => setBackend(b);
  if (report.active === null) {
    return (
      <div className="banner bad" role="alert" data-testid="backend-problem">
        <strong>{LABEL[report.requested]} is not available.</strong> {report.fallbackReason}
        <div className="row">
          {report.offered.map((b) => (
            <button key={b} onClick={() => choose(b)} data-testid={`use-${b}`}>
              Use {LABEL[b]} instead{b === 'cpu' ? ' (slow)' : ''}
            </button>
          ))}
        </div>
      </div>
    );
  }
  if (report.active !== 'webgpu') {
    return (
      <div className="banner warn" data-testid="backend-fallback">
        Training on <strong>{LABEL[report.active]}</strong>, a fallback: it is slower than WebGPU.
        {report.fallbackReason ? ` ${report.fallbackReason}` : ''}{' '}
        <button disabled={busy} onClick={() => choose('webgpu')}>
          Try WebGPU again
        </button>
      </div>
    );
  }
  return null;
}
