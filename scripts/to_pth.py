#!/usr/bin/env python3
"""Hand a ReDO Studio run to PyTorch: writes the authors' checkpoint format, so that their train.py resumes it.

Usage:
    python3 scripts/to_pth.py run.zip -o DIR [--models REDO_CHECKOUT] [--dataset flowers] [--dataroot ./data]

run.zip is the studio's *Export run* or the headless trainer's --out. DIR receives, as the authors' train.py saves them:
  * state_NNNNN.pth (NNNNN = the run's iteration): netEncM, netGenX, netDX, netRecZ (state_dicts, spectral-norm u and
    v included), optimizerEncM, optimizerGenX, optimizerDX, optimizerRecZ (torch.optim.Adam state_dicts: each
    parameter's step, exp_avg, exp_avg_sq in `parameters()` order, and the param group: lr, betas, eps,
    weight_decay and the fields of torch 1.13 and 2.x), and options;
  * options.pth: the argparse Namespace their train.py keeps (sizex, nz, nMasks, nfM, nfX, nfD, nfZ, useSelfAttG/D,
    batchSize, lrM, lrG, lrD, lrZ, wdecay, wrecZ, initOrthoGain, autoRestart, manualSeed, iteration, bestValIoU, ...)
    plus `redoStudio` (our manifest and loss history), which convert_pth.py reads when the run comes back.
Then, in their ReDO checkout:  python train.py --resume --outf DIR   (or --iteration NNNNN --outf DIR and the flags
printed below). The networks are built with the authors' own classes to learn their parameter order: --models names
the folder with their models.py (and models_small.py for 32 / 64 px runs; their train.py itself builds 128 px only).
Needs torch (1.13 or 2.x). torch >= 2.6 loads checkpoints holding an argparse Namespace (theirs do too) only with
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 in the environment of train.py.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redo_pth import (NETS, ConversionError, adam_hyper, adam_state_dict, build_networks, load_weights,  # noqa: E402
                      options_from_run, read_archive)


def resume_flags(opt):
    """The train.py flags that rebuild this run's networks and settings (for --iteration N instead of --resume)."""
    flags = ["--dataset", opt.dataset, "--dataroot", opt.dataroot, "--sizex", opt.sizex, "--nz", opt.nz, "--nMasks", opt.nMasks,
             "--nfM", opt.nfM, "--nfX", opt.nfX, "--nfD", opt.nfD, "--nfZ", opt.nfZ, "--batchSize", opt.batchSize,
             "--lrM", opt.lrM, "--lrG", opt.lrG, "--lrD", opt.lrD, "--lrZ", opt.lrZ, "--wdecay", opt.wdecay, "--wrecZ", opt.wrecZ,
             "--initOrthoGain", opt.initOrthoGain, "--autoRestart", opt.autoRestart, "--manualSeed", opt.manualSeed]
    flags += ["--useSelfAttG"] * bool(opt.useSelfAttG) + ["--useSelfAttD"] * bool(opt.useSelfAttD)
    return " ".join(str(f) for f in flags)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="a ReDO Studio run archive (.zip)")
    ap.add_argument("-o", "--output", required=True, help="folder for state_NNNNN.pth and options.pth")
    ap.add_argument("--models", help="folder with the authors' models.py (and models_small.py for 32/64 px)")
    ap.add_argument("--dataset", default="flowers", help="train.py's --dataset, kept in options.pth (default flowers)")
    ap.add_argument("--dataroot", default="./data", help="train.py's --dataroot, kept in options.pth")
    a = ap.parse_args()
    try:
        run = read_archive(a.run)
        m = run["manifest"]
        c = m["config"]
        iteration = int(m["step"])
        if iteration < 1:
            raise ConversionError("the run has not trained yet (step 0): train.py resumes only from an iteration > 0")
        nets = build_networks(c, a.models)
        load_weights(nets, run["weights"])
        state = {}
        for net, key, okey in NETS:
            state[key] = nets[net].state_dict()
            state[okey] = adam_state_dict(nets[net], run["moments"], key, run["adam_steps"][net], adam_hyper(c, net))
        opt = options_from_run(run, iteration, a.dataset, a.dataroot, os.path.abspath(a.output))
        state["options"] = opt
        os.makedirs(a.output, exist_ok=True)
        path = os.path.join(a.output, "state_%05d.pth" % iteration)
        torch.save(state, path)
        torch.save(opt, os.path.join(a.output, "options.pth"))
    except ConversionError as e:
        sys.exit(f"to_pth: {e}")
    counts = ", ".join(f"{key} {sum(p.numel() for p in nets[net].parameters()):,}" for net, key, _ in NETS)
    print(f"wrote {path} (iteration {iteration}; Adam steps {run['adam_steps']}; parameters {counts}) and options.pth")
    print("resume in the authors' ReDO checkout (torch >= 2.6: prefix TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1):")
    print(f"  python train.py --resume --outf {opt.outf}")
    print(f"  python train.py --iteration {iteration} --outf {opt.outf} {resume_flags(opt)}")
    if c["imageSize"] != 128:
        print(f"note: their train.py builds 128 px only; a {c['imageSize']} px run continues with scripts/pth_iterate.py")


if __name__ == "__main__":
    main()
