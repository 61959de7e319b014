"""The authors' ReDO iteration, K times, on given weights, batches and z: the PyTorch half of the multi-step
conformance check (tests/multistepConformance.test.ts), which feeds ReDO Studio the same inputs.

Usage: /usr/bin/python3 scripts/ref_multistep.py IN.safetensors OUT.safetensors CONFIG_JSON
  IN:  the initial weights (the reference's state_dict names under netEncM./netGenX./netDX./netRecZ., torch layout)
       and, for every step k, `input.x.k`, `input.x_real.k` ([B, 3, S, S], in [-1, 1]) and `input.z.k` ([B, n, nz]).
  OUT: every state tensor after the K steps (same names), and `loss.g_adv`, `loss.g_recz`, `loss.d_real`,
       `loss.d_fake`, `loss.min_area` ([K] each).
  CONFIG_JSON: {"size", "nRegions", "nz", "nfF", "nfG", "nfD", "nfZ", "attentionG", "attentionD", "lambdaZ",
                "lrF", "lrG", "lrD", "lrZ", "weightDecayF", "steps"}
Needs the authors' networks: ../shared/reference (models.py, models_small.py) beside the checkout, or REDO_REFERENCE.
The iteration is ref_train.py's (the authors' train.py): G/F/δ step on −mean D(x̂) + λz·MSE, then the hinge D step
on fakes recomputed without gradient."""
import json, os, struct, sys
import torch, torch.nn as nn

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get('REDO_REFERENCE', os.path.join(here, '..', '..', 'shared', 'reference')))
import models, models_small as ms  # noqa: E402


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(v['shape']).clone()
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for k, t in tensors.items():
        b = t.detach().contiguous().float().cpu().numpy().tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    src, dst, cfg = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    torch.set_num_threads(1)
    S, n = cfg['size'], cfg['nRegions']
    M = models._netEncM(sizex=S, nIn=3, nMasks=n, nRes=3, nf=cfg['nfF'], temperature=1)
    if S == 128:
        G = models._netGenX(sizex=128, nOut=3, nc=cfg['nz'], nf=cfg['nfG'], nMasks=n, selfAtt=cfg['attentionG'])
        D = models._resDiscriminator128(nIn=3, nf=cfg['nfD'], selfAtt=cfg['attentionD'])
        Z = models._netRecZ(sizex=128, nIn=3, nc=cfg['nz'], nf=cfg['nfZ'], nMasks=n)
    else:
        G = ms.GenX(S, 3, cfg['nz'], cfg['nfG'], n, cfg['attentionG'])
        D = ms.Disc(S, 3, cfg['nfD'], cfg['attentionD'])
        Z = ms.RecZ(S, 3, cfg['nz'], cfg['nfZ'], n)
    nets = {'netEncM': M, 'netGenX': G, 'netDX': D, 'netRecZ': Z}
    t = read_safetensors(src)
    for name, net in nets.items():
        net.load_state_dict({k[len(name) + 1:]: v for k, v in t.items() if k.startswith(name + '.')}, strict=True)
    oM = torch.optim.Adam(M.parameters(), lr=cfg['lrF'], betas=(0, .9), weight_decay=cfg['weightDecayF'])
    oG = torch.optim.Adam(G.parameters(), lr=cfg['lrG'], betas=(0, .9))
    oD = torch.optim.Adam(D.parameters(), lr=cfg['lrD'], betas=(0, .9))
    oZ = torch.optim.Adam(Z.parameters(), lr=cfg['lrZ'], betas=(0, .9))
    losses = {k: [] for k in ('g_adv', 'g_recz', 'd_real', 'd_fake', 'min_area')}
    for k in range(cfg['steps']):
        x, xr = t[f'input.x.{k}'], t[f'input.x_real.{k}']
        z = t[f'input.z.{k}'].reshape(x.size(0), n, cfg['nz'], 1, 1)
        for net in nets.values():
            net.zero_grad()
            net.train()
        m = M(x)
        h = G(m, z)
        xg = (h + (1 - m.unsqueeze(2)) * x.unsqueeze(1)).view(-1, 3, S, S)
        lossG = -D(xg).mean()
        rz = ((z - Z(h.sum(1))) ** 2).mean()
        (lossG + cfg['lambdaZ'] * rz).backward()
        oM.step(); oG.step(); oZ.step()
        D.zero_grad()
        area = m.detach().mean((0, 2, 3)).min()
        with torch.no_grad():
            m = M(x); h = G(m, z); xg = (h + (1 - m.unsqueeze(2)) * x.unsqueeze(1)).view(-1, 3, S, S)
        dp, dn = D(xr), D(xg)
        ep, en = torch.relu(1 - dp).mean(), torch.relu(1 + dn).mean()
        (ep + en).backward()
        oD.step()
        for key, v in (('g_adv', lossG), ('g_recz', rz), ('d_real', ep), ('d_fake', en), ('min_area', area)):
            losses[key].append(float(v))
    out = {f'{name}.{k}': v for name, net in nets.items() for k, v in net.state_dict().items()}
    out.update({f'loss.{k}': torch.tensor(v) for k, v in losses.items()})
    write_safetensors(dst, out)


if __name__ == '__main__':
    main()
