#!/usr/bin/env python3
"""Held-out IoU (or another field: --field pairIoU) against iterations for learning-curve files, one line per file,
into one PNG; `--also FIELD` draws a second field below it (e.g. IoU above, pairIoU below).

    python3 scripts/plot_curves.py -o curves.png LABEL=FILE.jsonl [LABEL=FILE.jsonl ...] [--title T] [--also pairIoU]

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


def curve(path, field='iou'):
    pts = {}
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if 'it' in r and r.get(field) is not None:
            pts[int(r['it'])] = float(r[field])  # a later row for the same iteration wins (a final score)
    return sorted(pts.items())


def main():
    p = argparse.ArgumentParser()
    p.add_argument('runs', nargs='+', help='LABEL=FILE.jsonl')
    p.add_argument('-o', '--out', required=True)
    p.add_argument('--title', default='held-out IoU (one assignment for the whole test set)')
    p.add_argument('--target', type=float, default=0.8)
    p.add_argument('--also', default='', help='a second field drawn below (e.g. pairIoU)')
    o = p.parse_args()
    p_also = o.also
    fig, axes = plt.subplots(2 if p_also else 1, 1, figsize=(8, 7.5 if p_also else 4.5), dpi=100, sharex=True, squeeze=False)
    for ax, field in zip(axes[:, 0], ['iou'] + ([p_also] if p_also else [])):
        for spec in o.runs:
            label, path = spec.split('=', 1)
            pts = curve(path, field)
            if not pts:
                continue
            style = '-' if label.startswith('ours') else '--'
            ax.plot([i for i, _ in pts], [v for _, v in pts], style, marker='o', ms=3, label=label)
        if field == 'iou':
            ax.axhline(o.target, color='grey', lw=0.8, ls=':', label=f'target {o.target:g}')
            ax.set_title(o.title)
        ax.set_ylabel('IoU' if field == 'iou' else field)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc='lower right', ncol=2)
    axes[-1, 0].set_xlabel('iteration')
    fig.tight_layout()
    fig.savefig(o.out)


if __name__ == '__main__':
    main()
