#!/usr/bin/env python3
"""Continue a run in PyTorch with the authors' training iteration, at any size: loads state_NNNNN.pth as the authors'
train.py resumes (the four networks and their Adam states), runs K iterations of their loop body (G/F/delta step,
then the hinge D step on fakes recomputed without gradient), and saves state_{NNNNN+K}.pth and options.pth beside it
exactly as train.py checkpoints. Their train.py builds 128 px only; this builds 32 / 64 px with models_small.py, and
is what the hand-over tests run (tests/toPth.test.ts, the GPU kit).

Usage:
    python3 scripts/pth_iterate.py DIR/state_00123.pth --iterations K [--models DIR] [--device cpu|cuda]
                                   [--data FOLDER] [--seed S] [--inputs FILE.safetensors]
--data FOLDER: batches drawn from FOLDER/images (PNG / JPEG, the run's size; needs Pillow); without it, uniform noise.
--inputs FILE: ONE iteration on the given batches instead: tensors x and xReal [B, 3, S, S] in [-1, 1] and z [B, n, nz]
(safetensors, float32), for comparing one step with ReDO Studio's on the same inputs.
Prints one JSON line: the iteration reached, the last iteration's losses, the file written, and a float64 sum of
every tensor of the four state_dicts (for checking the weights after a round trip).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redo_pth import NETS, ConversionError, build_networks, config_from_options, read_safetensors, torch_load  # noqa: E402


def load_images(folder, size):
    from PIL import Image  # only for --data
    d = os.path.join(folder, "images") if os.path.isdir(os.path.join(folder, "images")) else folder
    names = sorted(n for n in os.listdir(d) if n.lower().endswith((".png", ".jpg", ".jpeg")))
    if not names:
        raise ConversionError(f"{d}: no PNG or JPEG images")
    import numpy
    x = torch.stack([torch.from_numpy(numpy.asarray(Image.open(os.path.join(d, n)).convert("RGB").resize((size, size)))) for n in names])
    return x.permute(0, 3, 1, 2).float() / 127.5 - 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("state", help="state_NNNNN.pth (to_pth.py's, or the authors' train.py's)")
    ap.add_argument("--iterations", type=int, default=1)
    ap.add_argument("--models", help="folder with the authors' models.py and models_small.py")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--inputs")
    a = ap.parse_args()
    try:
        run(a)
    except ConversionError as e:
        sys.exit(f"pth_iterate: {e}")


def run(a):
    dev = torch.device(a.device)
    st = torch_load(a.state)
    opt = st["options"]
    c = config_from_options(opt, st)
    nets = build_networks(c, a.models)
    M, G, D, Z = (nets[k].to(dev) for k in ("F", "G", "D", "Z"))
    # as train.py: optimizers built from the options, then every state loaded
    oM = torch.optim.Adam(M.parameters(), lr=opt.lrM, betas=(0, 0.9), weight_decay=opt.wdecay, amsgrad=False)
    oG = torch.optim.Adam(G.parameters(), lr=opt.lrG, betas=(0, 0.9), amsgrad=False)
    oD = torch.optim.Adam(D.parameters(), lr=opt.lrD, betas=(0, 0.9), amsgrad=False)
    oZ = torch.optim.Adam(Z.parameters(), lr=opt.lrZ, betas=(0, 0.9), amsgrad=False)
    for net, o, (_, key, okey) in zip((M, G, D, Z), (oM, oG, oD, oZ), NETS):
        net.load_state_dict(st[key])
        o.load_state_dict(st[okey])
    S, n, nz, B = c["imageSize"], c["nRegions"], c["nz"], c["batchSize"]
    torch.manual_seed(a.seed + int(opt.iteration))
    if a.inputs:
        with open(a.inputs, "rb") as f:
            given, _ = read_safetensors(f.read())
        batches = [(given["x"].to(dev), given["xReal"].to(dev), given["z"].reshape(given["z"].shape[0], n, nz, 1, 1).to(dev))]
    else:
        pool = load_images(a.data, S) if a.data else None
        batches = []
        for _ in range(a.iterations):
            pick = (lambda: pool[torch.randint(len(pool), (B,))]) if pool is not None else (lambda: torch.rand(B, 3, S, S) * 2 - 1)
            batches.append((pick().to(dev), pick().to(dev), torch.randn(B, n, nz, 1, 1).to(dev)))
    for xData, xReal, zData in batches:
        # the authors' train.py loop body (gStepFreq = dStepFreq = 1)
        for net in (M, G, D, Z):
            net.zero_grad()
            net.train()
        mEnc = M(xData)
        hGen = G(mEnc, zData)
        xGen = (hGen + ((1 - mEnc.unsqueeze(2)) * xData.unsqueeze(1))).view(
            hGen.size(0) * hGen.size(1), hGen.size(2), hGen.size(3), hGen.size(4))
        lossG = -D(xGen).mean()
        zRec = Z(hGen.sum(1))
        err_recZ = ((zData - zRec) * (zData - zRec)).mean()
        gAdv = lossG.item()
        lossG = lossG + err_recZ * opt.wrecZ
        lossG.backward()
        oM.step()
        oG.step()
        oZ.step()
        D.zero_grad()
        with torch.no_grad():
            mEnc = M(xData)
            hGen = G(mEnc, zData)
            xGen = (hGen + ((1 - mEnc.unsqueeze(2)) * xData.unsqueeze(1))).view(
                hGen.size(0) * hGen.size(1), hGen.size(2), hGen.size(3), hGen.size(4))
        dPosX = D(xReal)
        dNegX = D(xGen)
        err_dPosX = (-1 + dPosX)
        err_dNegX = (-1 - dNegX)
        err_dPosX = ((err_dPosX < 0).float() * err_dPosX).mean()
        err_dNegX = ((err_dNegX < 0).float() * err_dNegX).mean()
        (-err_dPosX - err_dNegX).backward()
        oD.step()
        opt.iteration += 1
    losses = dict(gAdv=gAdv, gRecZ=err_recZ.item(), dReal=-err_dPosX.item(), dFake=-err_dNegX.item())
    state = {"options": opt}
    for net, o, (_, key, okey) in zip((M, G, D, Z), (oM, oG, oD, oZ), NETS):
        state[key] = net.state_dict()
        state[okey] = o.state_dict()
    out_dir = os.path.dirname(os.path.abspath(a.state))
    path = os.path.join(out_dir, "state_%05d.pth" % opt.iteration)
    torch.save(state, path)
    torch.save(opt, os.path.join(out_dir, "options.pth"))
    sums = {f"{key}.{k}": float(v.double().sum()) for _, key, _ in NETS for k, v in state[key].items()}
    print(json.dumps(dict(iteration=opt.iteration, losses=losses, file=path, torch=torch.__version__, device=str(dev), sums=sums)))


if __name__ == "__main__":
    main()
