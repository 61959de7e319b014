#!/usr/bin/env python3
"""Held-out IoU against iterations for learning-curve files, one line per file, into one PNG.

    python3 scripts/plot_curves.py -o curves.png LABEL=FILE.jsonl [LABEL=FILE.jsonl ...] [--title T]

A file is what the authors' ref_train.py writes (`--out`) or what `npm run train -- --curve FILE.jsonl` writes (the
same fields): one JSON object per line; rows with "it" and "iou" are plotted (IoU with ONE object/background
assignment for the whole held-out set). A label starting with "ours" is drawn solid, any other dashed.
Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import json

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def curve(path):
    pts = {}
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if 'it' in r and r.get('iou') is not None:
            pts[int(r['it'])] = float(r['iou'])  # a later row for the same iteration wins (a final score)
    return sorted(pts.items())


def main():
    p = argparse.ArgumentParser()
    p.add_argument('runs', nargs='+', help='LABEL=FILE.jsonl')
    p.add_argument('-o', '--out', required=True)
    p.add_argument('--title', default='held-out IoU (one assignment for the whole test set)')
    p.add_argument('--target', type=float, default=0.8)
    o = p.parse_args()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for spec in o.runs:
        label, path = spec.split('=', 1)
        pts = curve(path)
        if not pts:
            continue
        ax.plot([i for i, _ in pts], [v for _, v in pts], '-' if label.startswith('ours') else '--', marker='o', ms=3, label=label)
    ax.axhline(o.target, color='grey', lw=0.8, ls=':', label=f'target {o.target:g}')
    ax.set_xlabel('iteration')
    ax.set_ylabel('IoU')
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.set_title(o.title)
    ax.legend(fontsize=8, loc='lower right')
    fig.tight_layout()
    fig.savefig(o.out)


if __name__ == '__main__':
    main()
