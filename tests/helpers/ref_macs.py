"""Forward MACs per image of the authors' ReDO networks, counted with forward hooks on their PyTorch modules
(every Conv2d and Linear: output elements x input channels x kernel area; every Tensor.matmul, i.e. the
self-attention products). Regenerates the reference numbers of tests/flops.test.ts:
    /usr/bin/python3 tests/helpers/ref_macs.py [../shared/reference]
Needs torch and the reference code (models.py, models_small.py) in the folder given (default ../shared/reference)."""
import json, os, sys
import torch, torch.nn as nn

ref = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared', 'reference')
sys.path.insert(0, os.path.abspath(ref))
import models, models_small as ms  # noqa: E402

def count(net, *inp):
    total = [0]
    def hook(m, i, o):
        if isinstance(m, nn.Conv2d):
            total[0] += o.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total[0] += o.numel() * m.in_features
    hooks = [m.register_forward_hook(hook) for m in net.modules()]
    matmul = torch.Tensor.matmul
    def counted(a, b):
        r = matmul(a, b); total[0] += r.numel() * a.shape[-1]; return r
    torch.Tensor.matmul = counted
    try:
        with torch.no_grad():
            net.eval(); net(*inp)
    finally:
        torch.Tensor.matmul = matmul
        for h in hooks: h.remove()
    return total[0]

def networks(S, n, nz, nfF, nfG, nfD, nfZ, att=True):
    M = models._netEncM(sizex=S, nIn=3, nMasks=n, nRes=3, nf=nfF)
    G = models._netGenX(sizex=128, nOut=3, nc=nz, nf=nfG, nMasks=n, selfAtt=att) if S == 128 else ms.GenX(S, 3, nz, nfG, n, att)
    D = models._resDiscriminator128(nIn=3, nf=nfD, selfAtt=att) if S == 128 else ms.Disc(S, 3, nfD, att)
    Z = models._netRecZ(sizex=128, nIn=3, nc=nz, nf=nfZ, nMasks=n) if S == 128 else ms.RecZ(S, 3, nz, nfZ, n)
    x = torch.zeros(1, 3, S, S); m = M(x); z = torch.zeros(1, n, nz, 1, 1)
    return dict(F=count(M, x), G=count(G, m, z), D=count(D, x), Z=count(Z, x))

# The presets of src/redo/config.ts: size, regions, nz, nf of F, G, D, delta.
PRESETS = {'paper-128': (128, 2, 32, 64, 32, 64, 64), 'laptop-128': (128, 2, 32, 64, 16, 32, 32), 'small-64': (64, 2, 32, 32, 16, 32, 32),
           'c2mnist-64': (64, 3, 16, 16, 8, 16, 16), 'objects-32': (32, 2, 4, 64, 16, 32, 16), 'tiny': (32, 2, 8, 8, 4, 4, 4)}
print(json.dumps({name: networks(*c) for name, c in PRESETS.items()}, indent=1))
