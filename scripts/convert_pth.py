#!/usr/bin/env python3
"""Bring the authors' ReDO checkpoints (PyTorch .pth) to ReDO Studio.

Usage:
    python3 scripts/convert_pth.py CHECKPOINT.pth [MORE.pth ...] -o weights.safetensors
    python3 scripts/convert_pth.py DIR/state_NNNNN.pth -o run.zip

-o weights.safetensors (torch is the only dependency) accepts
  * one .pth holding a dict with any of the keys netEncM / netGenX / netDX / netRecZ, each a state_dict
    (how the reference's train.py saves its networks), or
  * one .pth per network holding that network's state_dict, named after it (netEncM_*.pth, netGenX_*.pth, ...).
  Every tensor is written as float32 under `<net>.<state_dict key>` in PyTorch layout: exactly the names and
  layout of the studio's exports, so `load_state_dict` works both ways. The studio imports it as weights (a new
  run, or segmentation).
-o run.zip takes a whole training state as the authors' train.py (or scripts/to_pth.py, scripts/pth_iterate.py)
  saves it — state_NNNNN.pth with the four state_dicts, the four Adam optimizers and the options — and writes a run
  archive that the studio's *Import* and `npm run train -- --resume run.zip` continue: the weights, every Adam
  moment and step, the iteration, and (when the run went to PyTorch with to_pth.py) its seed, restarts, dataset
  summary and loss history, which the options carry. Iterations done in PyTorch add no rows to the loss history.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redo_pth import (NETS, ConversionError, config_from_options, manifest_for, moments_from_adam,  # noqa: E402
                      torch_load as load, write_archive, write_safetensors)

NET_KEYS = tuple(key for _, key, _ in NETS)


def collect(paths):
    tensors = {}
    for path in paths:
        obj = load(path)
        if isinstance(obj, dict) and any(k in obj for k in NET_KEYS):
            parts = {k: obj[k] for k in NET_KEYS if k in obj}
        else:
            net = next((n for n in NET_KEYS if os.path.basename(path).startswith(n)), None)
            if net is None:
                sys.exit(f"{path}: neither a dict of {', '.join(NET_KEYS)} nor a file named after one of them")
            parts = {net: obj}
        for net, sd in parts.items():
            if hasattr(sd, "state_dict"):
                sd = sd.state_dict()
            for key, value in sd.items():
                if not torch.is_tensor(value):
                    continue
                name = f"{net}.{key}"
                if name in tensors:
                    sys.exit(f"{name} appears twice")
                tensors[name] = value.detach().to(torch.float32).contiguous()
    if not tensors:
        sys.exit("no tensors found")
    return tensors


def to_run_archive(path, output):
    st = load(path)
    wanted = [k for _, key, okey in NETS for k in (key, okey)] + ["options"]
    missing = [k for k in wanted if not (isinstance(st, dict) and k in st)]
    if missing:
        raise ConversionError(f"{path}: a run archive needs the whole training state as train.py saves it; missing {', '.join(missing)}")
    opt = st["options"]
    config = config_from_options(opt, st)
    iteration = int(opt.iteration)
    weights, moments, steps = {}, {}, {}
    for net, key, okey in NETS:
        for k, v in st[key].items():
            if torch.is_tensor(v):
                weights[f"{key}.{k}"] = v.detach().to(torch.float32).cpu()
        m, steps[net] = moments_from_adam(st[key], st[okey], key)
        moments.update(m)
    carried = getattr(opt, "redoStudio", None) or {}
    write_archive(output, manifest_for(config, iteration, opt, path), weights, moments, steps, carried.get("losses", ""))
    print(json.dumps(dict(wrote=output, iteration=iteration, adamSteps=steps, tensors=len(weights), moments=len(moments),
                          history="carried" if carried.get("losses") else "none (not a to_pth.py run)")))
    if any(s != iteration for s in steps.values()):
        print(f"note: Adam steps {steps} differ from the iteration {iteration} (kept as they are)", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("-o", "--output", required=True, help="weights.safetensors (weights only) or run.zip (the whole run)")
    args = ap.parse_args()
    if args.output.endswith(".zip"):
        if len(args.checkpoints) != 1:
            sys.exit("-o run.zip takes one state_NNNNN.pth")
        try:
            to_run_archive(args.checkpoints[0], args.output)
        except ConversionError as e:
            sys.exit(f"convert_pth: {e}")
        return
    tensors = collect(args.checkpoints)
    with open(args.output, "wb") as f:
        f.write(write_safetensors(tensors, {"format": "redo-studio-weights", "source": "convert_pth.py"}))
    counts = {n: sum(1 for k in tensors if k.startswith(n + ".")) for n in NET_KEYS}
    print(f"wrote {len(tensors)} tensors to {args.output}: " + ", ".join(f"{n} {c}" for n, c in counts.items()))


if __name__ == "__main__":
    main()
