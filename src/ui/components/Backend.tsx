import { useStudio } from '../store';
import { setBackend } from '../client';
import type { BackendName } from '../../worker/protocol';

const LABEL: Record<BackendName, string> = { webgpu: 'WebGPU', wasm: 'WebAssembly', webgl: 'WebGL', cpu: 'CPU' };

const threadsText = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;

/** Why each fallback is offered, in the words on its button. */
function why(b: BackendName, threads: number): string {
  switch (b) {
    case 'wasm':
      return ` — the fast CPU path (XNNPACK SIMD kernels, ${threadsText(threads)})`;
    case 'webgl':
      return ' — GPU through WebGL (slow on software GL)';
    case 'cpu':
      return ' — plain JavaScript (slow)';
    default:
      return '';
  }
}

/** The active backend and adapter, always visible. */
export function BackendBadge() {
  const report = useStudio((s) => s.backend);
  let text = 'starting…';
  if (report?.active) {
    const a = report.adapter;
    const adapter = a ? [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' · ') : '';
    const detail = report.active === 'wasm' ? `${threadsText(report.threads)}, XNNPACK` : adapter;
    text = `${report.active}${detail ? ` — ${detail}` : ''}`;
  } else if (report) text = 'none';
  return (
    <span
      className={`badge ${report?.active === 'webgpu' || report?.active === 'wasm' ? 'ok' : report?.active ? 'warn' : 'bad'}`}
      title="TF.js backend in the training worker"
    >
      backend: <strong data-testid="backend">{text}</strong>
    </span>
  );
}

/** When WebGPU is missing or fails: says so plainly and offers WebAssembly (first: the fast CPU path), WebGL, CPU. */
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
              Use {LABEL[b]} instead{why(b, report.threads)}
            </button>
          ))}
        </div>
      </div>
    );
  }
  if (report.auto) {
    // chosen for the user (a demo clicked where WebGPU is missing): what failed and why, and what runs instead
    const { instead, tried } = report.auto;
    return (
      <div className="banner warn" data-testid="backend-fallback">
        <span data-testid="backend-auto">
          <strong>{LABEL[instead]} is not available</strong>
          {tried[0]?.reason ? ` (${tried[0].reason.replace(/\.$/, '')})` : ''}, so the demo started on{' '}
          <strong>{LABEL[report.active]}</strong>, the best backend that works here
          {report.active === 'wasm' ? ` (the fast CPU path, ${threadsText(report.threads)})` : ''}.
          {tried
            .slice(1)
            .map((t) => ` ${LABEL[t.backend]} did not start either: ${t.reason}`)
            .join('')}{' '}
          It is slower than WebGPU on a GPU.
        </span>{' '}
        <button disabled={busy} onClick={() => choose('webgpu')}>
          Try WebGPU again
        </button>
      </div>
    );
  }
  if (report.active !== 'webgpu') {
    return (
      <div className="banner warn" data-testid="backend-fallback">
        Training on <strong>{LABEL[report.active]}</strong>
        {report.active === 'wasm' ? `, the fast CPU path (${threadsText(report.threads)}): ` : ', a fallback: '}
        it is slower than WebGPU on a GPU.
        {report.fallbackReason ? ` ${report.fallbackReason}` : ''}{' '}
        <button disabled={busy} onClick={() => choose('webgpu')}>
          Try WebGPU again
        </button>
      </div>
    );
  }
  return null;
}
