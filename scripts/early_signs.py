"""Early signs of a run that will segment (issue 19, item 2): reads ref_train.py / `npm run train --curve` JSON-lines
logs and prints, per run, the readings at an early iteration beside the outcome (the best held-out IoU by the
outcome iteration), then for each reading whether one threshold separates the runs that rise past 0.55 from the
rest. Usage: python3 scripts/early_signs.py [--at 500] [--outcome 2500] [--rise 0.55] NAME=FILE.jsonl[+MORE.jsonl] ...
A run given as FILE+MORE reads both logs of one deterministic run (the same seed and flags): the early readings
from FILE where it has them, the rest from MORE (e.g. a rerun that logs readings an older long log lacks).
"""
import argparse, json, statistics

p = argparse.ArgumentParser()
p.add_argument('runs', nargs='+')
p.add_argument('--at', type=int, default=500)
p.add_argument('--outcome', type=int, default=2500)
p.add_argument('--rise', type=float, default=0.55)
o = p.parse_args()

# reading: (label, higher means "segments"?)
# None: the direction is read off the runs (the segmenting runs' mean against the others')
READINGS = [('iou', 'held-out IoU (labelled)', True), ('spread', 'spread', True), ('pairIoU', 'pairIoU', False),
            ('flipIoU', 'flip agreement', None), ('dMargin', "D's margin", None), ('recZ', "δ's loss", False),
            ('areaStd', 'area std 125..at', None)]
rows = []
for spec in o.runs:
    name, paths = spec.split('=', 1)
    by = {}
    for path in reversed(paths.split('+')):  # the first file wins where both have an iteration
        for l in open(path):
            e = json.loads(l) if l.strip() else {}
            if 'iou' in e and e.get('kind') != 'end': by[e['it']] = {**by.get(e['it'], {}), **e}
    if o.at not in by: continue
    last = max(by)
    reach = [by[i]['iou'] for i in by if i <= o.outcome and 'iou' in by[i]]
    r = dict(name=name, last=last, best=max(reach), done=last >= o.outcome)
    e = by[o.at]
    for k, _, _ in READINGS:
        if k in e: r[k] = e[k]
    if 'spread' not in r and 'dep' in e: r['spread'] = e['dep']
    areas = [by[i]['area'] for i in sorted(by) if 0 < i <= o.at and 'area' in by[i]]
    if len(areas) >= 2: r['areaStd'] = statistics.pstdev(areas)
    r['segments'] = r['best'] >= o.rise
    rows.append(r)

f = lambda v: '—' if v is None else f'{v:.3f}'
print(f'| run | {" | ".join(lab for _, lab, _ in READINGS)} at {o.at} | best IoU by {o.outcome} (last it) | segments |')
print('|---' * (len(READINGS) + 3) + '|')
for r in sorted(rows, key=lambda r: -r['best']):
    seg = 'yes' if r['segments'] else ('no' if r['done'] else 'not known yet')
    print(f'| {r["name"]} | ' + ' | '.join(f(r.get(k)) for k, _, _ in READINGS) + f' | {r["best"]:.3f} ({r["last"]}) | {seg} |')
print()
for k, lab, hi in READINGS:
    # runs still short of the outcome iteration and below the bar are left out: their outcome is not known
    pos = [r[k] for r in rows if r['segments'] and k in r]; neg = [r[k] for r in rows if not r['segments'] and r['done'] and k in r]
    if not pos or not neg: print(f'- {lab}: not enough runs'); continue
    if hi is None: hi = statistics.mean(pos) > statistics.mean(neg)
    gap = (min(pos) - max(neg)) if hi else (min(neg) - max(pos))
    # pairs ranked right: the share of (segments, fails) pairs the reading orders correctly (AUC)
    auc = sum((a > b) if hi else (a < b) for a in pos for b in neg) / (len(pos) * len(neg))
    side = 'higher' if hi else 'lower'
    print(f'- {lab} ({side} = segments): segments {f(min(pos))}..{f(max(pos))}, fails {f(min(neg))}..{f(max(neg))}; '
          f'{"separates, margin " + f(gap) if gap > 0 else "overlaps"}; pairs ordered right {auc:.2f} ({len(pos)}+{len(neg)} runs)')
