import { useEffect, useState } from 'react';
import { useStudio } from '../store';
import { exportRun, pauseTraining, resumeTraining, stepTraining } from '../client';

/** The studio's keys (issue 21), as the help overlay lists them. */
export const KEYS: ReadonlyArray<{ key: string; label: string; what: string }> = [
  { key: ' ', label: 'space', what: 'pause / resume the run' },
  { key: 's', label: 's', what: 'step: one iteration of the paused run' },
  { key: 'e', label: 'e', what: 'export the run (.zip)' },
  { key: '?', label: '?', what: 'show / hide this help' },
  { key: 'Escape', label: 'Esc', what: 'close this help' },
];

/** True when a key press belongs to a field the user types in (no shortcut there). */
export function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  return !['button', 'checkbox', 'radio', 'range', 'submit', 'reset', 'file', 'color'].includes(type);
}

/** Space, s, e and ? on the whole page (not while typing in a field); `?` opens the overlay that lists them. */
export function KeyboardShortcuts() {
  const [help, setHelp] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing || typingIn(e.target)) return;
      const s = useStudio.getState();
      const state = s.status.state;
      const backend = !!s.backend?.active;
      switch (e.key) {
        case ' ':
          e.preventDefault();
          if (state === 'running') pauseTraining();
          else if ((state === 'paused' || state === 'finished') && backend) resumeTraining();
          return;
        case 's':
        case 'S':
          if (state === 'paused' && backend && s.status.step < s.status.maxSteps) stepTraining();
          return;
        case 'e':
        case 'E':
          if (s.status.runId !== null && !s.exportBusy) exportRun();
          return;
        case '?':
          setHelp((h) => !h);
          return;
        case 'Escape':
          setHelp(false);
          return;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <>
      <button className="small help-button" onClick={() => setHelp((h) => !h)} data-testid="keys-help-button" title="Keyboard (?)">
        ?
      </button>
      {help && (
        <div
          className="help-overlay"
          role="dialog"
          aria-modal="true"
          aria-labelledby="keys-title"
          data-testid="help-overlay"
          onClick={() => setHelp(false)}
        >
          <div className="help-card" onClick={(e) => e.stopPropagation()}>
            <h2 id="keys-title">Keyboard</h2>
            <dl>
              {KEYS.map((k) => (
                <div key={k.key} data-testid="help-key">
                  <dt>
                    <kbd>{k.label}</kbd>
                  </dt>
                  <dd>{k.what}</dd>
                </div>
              ))}
            </dl>
            <p className="muted">Keys do nothing while you type in a field.</p>
            <button onClick={() => setHelp(false)}>Close</button>
          </div>
        </div>
      )}
    </>
  );
}
