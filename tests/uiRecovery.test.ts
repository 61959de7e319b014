/**
 * The store's side of a restarted worker and of a run held by another tab (src/ui/store.ts): the run that was open
 * is remembered for the resume offer, the status drops to idle, later sentences (a backend given up) are added,
 * and the offer goes once a run is open again.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { useStudio } from '../src/ui/store';
import type { TrainingStatus } from '../src/worker/protocol';

const initial = useStudio.getState();
const running = (runId: string, step: number): TrainingStatus => ({
  ...initial.status,
  state: 'running',
  runId,
  step,
  totalSteps: step,
  maxSteps: 50,
});

describe('recovery in the store', () => {
  beforeEach(() => useStudio.setState(initial, true));

  it('a restarted worker: the open run is remembered, the status is idle, notes add up, an opened run ends the offer', () => {
    const s = () => useStudio.getState();
    s().receive({ type: 'status', status: running('run-a', 7) });
    s().dismissResume();
    s().workerRestarted('The GPU device was lost (destroyed); the training worker was restarted.');
    expect(s().status.state).toBe('idle');
    expect(s().status.runId).toBeNull();
    expect(s().resumeDismissed).toBe(false);
    expect(s().recovery).toEqual({
      sentences: ['The GPU device was lost (destroyed); the training worker was restarted.'],
      runId: 'run-a',
    });
    s().recoveryNote('WebGPU did not come back after the device was lost, so the studio switched to WebGL.');
    expect(s().recovery?.sentences).toHaveLength(2);
    s().workerRestarted('The training worker crashed (x) and was restarted.'); // a second crash before resuming: still run-a
    expect(s().recovery?.runId).toBe('run-a');
    s().receive({ type: 'status', status: { ...initial.status } });
    expect(s().recovery).not.toBeNull();
    s().receive({ type: 'status', status: { ...running('run-a', 6), state: 'paused' } });
    expect(s().recovery).toBeNull();
  });

  it('a run open in another tab: refused, then waiting, then cleared when it opens here', () => {
    const s = () => useStudio.getState();
    s().receive({ type: 'run-locked', runId: 'run-b', waiting: false });
    expect(s().runLocked).toEqual({ runId: 'run-b', waiting: false });
    s().receive({ type: 'run-locked', runId: 'run-b', waiting: true });
    expect(s().runLocked).toEqual({ runId: 'run-b', waiting: true });
    s().receive({ type: 'status', status: { ...running('run-b', 4), state: 'paused' } });
    expect(s().runLocked).toBeNull();
  });
});
