/** Compare runs (src/ui/compare.ts): curves aligned by step with gaps where a run has no value; only the differing settings. */
import { describe, expect, it } from 'vitest';
import { alignByStep, configDiff } from '../src/ui/compare';
import { emptyHistory, recordLosses, type LossHistory } from '../src/formats/history';
import { preset } from '../src/redo/config';

function history(steps: number[], gAdv: number[], iou?: number[]): LossHistory {
  const h = emptyHistory(!!iou);
  steps.forEach((s, i) => recordLosses(h, s, { gAdv: gAdv[i]!, gRecZ: 0, dReal: 0, dFake: 0 }));
  if (iou && h.iou) iou.forEach((v, i) => (h.iou![i] = v));
  return h;
}

describe('Compare runs', () => {
  it('aligns curves by step: the union of steps, null where a run has no (finite) value', () => {
    const a = history([1, 2, 3], [0.5, 0.6, 0.7], [NaN, 0.3, NaN]);
    const b = history([2, 3, 4, 5], [1.5, 1.6, 1.7, 1.8], [NaN, NaN, NaN, 0.4]);
    expect(alignByStep([a, b], (h) => h.gAdv)).toEqual([
      [1, 2, 3, 4, 5],
      [0.5, 0.6, 0.7, null, null],
      [null, 1.5, 1.6, 1.7, 1.8],
    ]);
    expect(alignByStep([a, b], (h) => h.iou)).toEqual([
      [2, 5],
      [0.3, null],
      [null, 0.4],
    ]);
    // a run without the column: all gaps
    expect(alignByStep([a, emptyHistory()], (h) => h.iou)).toEqual([[2], [0.3], [null]]);
  });

  it('lists only the settings that differ, the seed first', () => {
    const base = preset('tiny');
    const rows = configDiff([
      { config: base, seed: 1 },
      { config: { ...base, lrF: base.lrF * 2 }, seed: 2 },
      { config: base, seed: 1 },
    ]);
    expect(rows).toEqual([
      { field: 'seed', values: ['1', '2', '1'] },
      { field: 'lrF', values: [String(base.lrF), String(base.lrF * 2), String(base.lrF)] },
    ]);
    expect(
      configDiff([
        { config: base, seed: 1 },
        { config: { ...base }, seed: 1 },
      ]),
    ).toEqual([]);
    expect(configDiff([{ config: base, seed: 1 }])).toEqual([]);
  });
});
