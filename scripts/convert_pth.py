#!/usr/bin/env python3
"""Turn the authors' ReDO checkpoints (PyTorch .pth) into one safetensors file that ReDO Studio imports.

Usage:
    python3 scripts/convert_pth.py CHECKPOINT.pth [MORE.pth ...] -o weights.safetensors

Accepted inputs (torch is the only dependency):
  * one .pth holding a dict with any of the keys netEncM / netGenX / netDX / netRecZ, each a state_dict
    (how the reference's train.py saves its networks), or
  * one .pth per network holding that network's state_dict, named after it (netEncM_*.pth, netGenX_*.pth, ...).
Every tensor is written as float32 under `<net>.<state_dict key>` in PyTorch layout: exactly the names and
layout of the studio's exports, so `load_state_dict` works both ways.
"""
import argparse
import json
import os
import struct
import sys

import torch

NETS = ("netEncM", "netGenX", "netDX", "netRecZ")


def collect(paths):
    tensors = {}
    for path in paths:
        obj = torch.load(path, map_location="cpu")
        if isinstance(obj, dict) and any(k in obj for k in NETS):
            parts = {k: obj[k] for k in NETS if k in obj}
        else:
            net = next((n for n in NETS if os.path.basename(path).startswith(n)), None)
            if net is None:
                sys.exit(f"{path}: neither a dict of {', '.join(NETS)} nor a file named after one of them")
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


def write_safetensors(tensors, path, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        data = tensors[name].numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - (8 + len(raw)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    tensors = collect(args.checkpoints)
    write_safetensors(tensors, args.output, {"format": "redo-studio-weights", "source": "convert_pth.py"})
    counts = {n: sum(1 for k in tensors if k.startswith(n + ".")) for n in NETS}
    print(f"wrote {len(tensors)} tensors to {args.output}: " + ", ".join(f"{n} {c}" for n, c in counts.items()))


if __name__ == "__main__":
    main()
