"""ReDO Studio runs <-> the authors' PyTorch checkpoints: what to_pth.py, convert_pth.py and pth_iterate.py share.

- safetensors (float32) read and write with the standard library and torch only;
- the run archive (the studio's and the headless trainer's export zip: manifest.json, weights.safetensors,
  optimizer.safetensors with `<param>.exp_avg` / `.exp_avg_sq` and the Adam step of each network, losses.csv);
- the authors' networks for a configuration (their models.py at 128 px, models_small.py at 32 / 64 px), imported
  from a folder given with --models: torch's Adam state is indexed by the order of `parameters()`;
- the authors' train.py options (an argparse Namespace: nfM, nfX, nfD, nfZ, nz, nMasks, sizex, lrM, ..., iteration)
  <-> our configuration;
- Adam: our moments (by parameter name, one step count per network) <-> torch.optim.Adam's state_dict.

Step counts: our Adam counts the updates it has applied, per network (src/redo/adam.ts: t += 1, then the update
with bias corrections 1 - beta^t); torch counts the same per parameter (state['step'], incremented before the
update). So a run at Adam step t is torch's state with step t for every parameter of that network, and the
authors' `iteration` is our manifest's `step` (iterations since the last (re)initialisation).
"""
import argparse
import datetime
import json
import os
import struct
import sys
import zipfile

import torch

# (our network id, the authors' attribute / state key, their optimizer's state key)
NETS = (("F", "netEncM", "optimizerEncM"), ("G", "netGenX", "optimizerGenX"), ("D", "netDX", "optimizerDX"),
        ("Z", "netRecZ", "optimizerRecZ"))
ARCHIVE_FORMAT = "redo-studio-run"


class ConversionError(Exception):
    pass


def torch_load(path):
    """torch.load of a training state on the CPU. The authors' checkpoints hold an argparse Namespace, which torch >= 2.6
    loads only with weights_only=False (load only checkpoints you trust: this unpickles)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # torch < 1.13 has no weights_only
        return torch.load(path, map_location="cpu")


# ---- safetensors --------------------------------------------------------------------------------------------------

def read_safetensors(data):
    """bytes -> ({name: float32 tensor}, metadata dict)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, spec in header.items():
        if spec["dtype"] != "F32":
            raise ConversionError(f"{name}: dtype {spec['dtype']}, only F32 is written by ReDO Studio")
        a, b = spec["data_offsets"]
        buf = bytearray(data[base + a:base + b])
        t = torch.frombuffer(buf, dtype=torch.float32) if len(buf) else torch.zeros(0)
        out[name] = t.reshape(spec["shape"]).clone()
    return out, meta


def write_safetensors(tensors, metadata):
    """{name: tensor} (written as little-endian float32, names sorted) + str metadata -> bytes."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().cpu()
        raw = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(blobs)


# ---- run archives -------------------------------------------------------------------------------------------------

def read_archive(path):
    """The studio's run zip -> dict(manifest, weights, moments, adam_steps, losses_csv)."""
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise ConversionError(f"{path}: not a zip file ({e})")
    names = set(z.namelist())
    for need in ("manifest.json", "weights.safetensors", "optimizer.safetensors"):
        if need not in names:
            raise ConversionError(f"{path}: not a ReDO Studio run archive ({need} is missing)")
    manifest = json.loads(z.read("manifest.json"))
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise ConversionError(f"{path}: manifest format {manifest.get('format')!r}, expected {ARCHIVE_FORMAT!r}")
    weights, _ = read_safetensors(z.read("weights.safetensors"))
    moments, meta = read_safetensors(z.read("optimizer.safetensors"))
    steps = {}
    for net, _, _ in NETS:
        if f"step.{net}" not in meta:
            raise ConversionError(f"{path}: optimizer.safetensors lacks the Adam step of {net}")
        steps[net] = int(meta[f"step.{net}"])
    losses = z.read("losses.csv").decode() if "losses.csv" in names else ""
    return dict(manifest=manifest, weights=weights, moments=moments, adam_steps=steps, losses_csv=losses)


def write_archive(path, manifest, weights, moments, adam_steps, losses_csv):
    """A run zip the studio and `npm run train -- --resume` read (src/formats/runArchive.ts checks every tensor)."""
    meta = {"format": "pt", "networks": json.dumps({net: key for net, key, _ in NETS})}
    meta.update({f"step.{net}": str(adam_steps[net]) for net, _, _ in NETS})
    tmp = path + ".part"
    with zipfile.ZipFile(tmp, "w") as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=2) + "\n", compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("weights.safetensors", write_safetensors(weights, {"format": "pt"}), compress_type=zipfile.ZIP_STORED)
        z.writestr("optimizer.safetensors", write_safetensors(moments, meta), compress_type=zipfile.ZIP_STORED)
        z.writestr("losses.csv", losses_csv or "step,g_adv,g_recz,d_real,d_fake\n", compress_type=zipfile.ZIP_DEFLATED)
    os.replace(tmp, path)


# ---- the authors' networks ----------------------------------------------------------------------------------------

def load_reference(models_dir=None):
    """Imports the authors' models.py (and models_small.py, for 32 / 64 px) from the first folder that has it."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [models_dir, os.environ.get("REDO_REFERENCE"), os.getcwd(), os.path.join(here, "..", "reference"),
                  os.path.join(here, "..", "..", "shared", "reference")]
    for d in candidates:
        if d and os.path.isfile(os.path.join(d, "models.py")):
            d = os.path.abspath(d)
            if d not in sys.path:
                sys.path.insert(0, d)
            import models  # noqa: E402 (the authors' code, from the folder found)
            try:
                import models_small  # noqa: E402
            except ImportError:
                models_small = None
            return models, models_small
    raise ConversionError("the authors' models.py was not found: give its folder with --models DIR (their ReDO checkout), "
                          "or set REDO_REFERENCE")


def build_networks(c, models_dir=None):
    """The four networks of configuration `c` (our field names), as the authors' train.py / ref_train.py build them."""
    models, ms = load_reference(models_dir)
    S, n, nz = c["imageSize"], c["nRegions"], c["nz"]
    F = models._netEncM(sizex=S, nIn=3, nMasks=n, nRes=3, nf=c["nfF"], temperature=1)
    if S == 128:
        G = models._netGenX(sizex=128, nOut=3, nc=nz, nf=c["nfG"], nMasks=n, selfAtt=c["attentionG"])
        D = models._resDiscriminator128(nIn=3, nf=c["nfD"], selfAtt=c["attentionD"])
        Z = models._netRecZ(sizex=128, nIn=3, nc=nz, nf=c["nfZ"], nMasks=n)
    else:
        if ms is None:
            raise ConversionError(f"{S} px needs models_small.py beside models.py (the authors' code builds 128 px only)")
        G = ms.GenX(S, 3, nz, c["nfG"], n, c["attentionG"])
        D = ms.Disc(S, 3, c["nfD"], c["attentionD"])
        Z = ms.RecZ(S, 3, nz, c["nfZ"], n)
    return {"F": F, "G": G, "D": D, "Z": Z}


def load_weights(nets, weights):
    """Our `netEncM.…` tensors into the four modules, strictly (every name and shape must fit)."""
    for net, key, _ in NETS:
        sd = {k[len(key) + 1:]: v for k, v in weights.items() if k.startswith(key + ".")}
        try:
            nets[net].load_state_dict(sd, strict=True)
        except RuntimeError as e:
            raise ConversionError(f"the weights of {key} do not fit the authors' network: {str(e).splitlines()[0]}")


# ---- options <-> configuration ------------------------------------------------------------------------------------

def adam_hyper(c, net):
    """lr, weight decay, betas, eps of one network's Adam (F has the coupled L2 decay, as the reference)."""
    lr = {"F": c["lrF"], "G": c["lrG"], "D": c["lrD"], "Z": c["lrZ"]}[net]
    return dict(lr=lr, weight_decay=c["weightDecayF"] if net == "F" else 0.0, betas=(c["adamBeta1"], c["adamBeta2"]), eps=c["adamEpsilon"])


def options_from_run(run, iteration, dataset="flowers", dataroot="./data", outf="."):
    """The authors' train.py options for our run (every field their parser defines, plus bestValIoU and device, which it adds)."""
    m = run["manifest"]
    c = m["config"]
    opt = argparse.Namespace(
        dataset=dataset, dataroot=dataroot, nx=3, sizex=c["imageSize"], nz=c["nz"], nMasks=c["nRegions"], nResM=3,
        nf=c["nfD"], nfD=c["nfD"], nfX=c["nfG"], nfM=c["nfF"], nfZ=c["nfZ"],
        useSelfAttD=bool(c["attentionD"]), useSelfAttG=bool(c["attentionG"]), workers=4, batchSize=c["batchSize"], nTest=5,
        nIteration=max(50000, iteration + 1), initOrthoGain=c["initGain"], lrG=c["lrG"], lrM=c["lrF"], lrD=c["lrD"], lrZ=c["lrZ"],
        gStepFreq=1, dStepFreq=1, temperature=1.0, wdecay=c["weightDecayF"], wrecZ=c["lambdaZ"], outf=outf, checkpointFreq=500,
        iteration=iteration, manualSeed=m["seed"], resume=False, clean=False, silent=False, autoRestart=c["collapseThreshold"],
        bestValIoU=0, device="cuda:0")
    # ours, carried through their train.py untouched (it saves its options with every checkpoint): what convert_pth.py
    # needs to give the run back its seed, restarts, dataset summary, loss history and the settings the authors lack
    opt.redoStudio = {"manifest": m, "losses": run["losses_csv"]}
    return opt


def config_from_options(opt, optimizers):
    """Our configuration from the authors' options and their Adam param_groups (betas, eps); refuses what we cannot build."""
    for field, want in (("nResM", 3), ("temperature", 1), ("nx", 3), ("gStepFreq", 1), ("dStepFreq", 1)):
        if getattr(opt, field, want) != want:
            raise ConversionError(f"options.{field} = {getattr(opt, field)!r}: ReDO Studio builds {field} = {want} only")
    groups = [optimizers[key]["param_groups"][0] for _, _, key in NETS]
    betas = {tuple(float(b) for b in g["betas"]) for g in groups}
    eps = {float(g["eps"]) for g in groups}
    if len(betas) != 1 or len(eps) != 1:
        raise ConversionError(f"the four optimizers differ in betas {betas} or eps {eps}: ReDO Studio has one setting for all")
    (b1, b2), = betas
    base = dict(((getattr(opt, "redoStudio", None) or {}).get("manifest") or {}).get("config") or {})
    base.setdefault("collapseLastIteration", 7000)  # train.py restarts a collapse only up to iteration 7000
    base.update(
        imageSize=int(opt.sizex), nRegions=int(opt.nMasks), nz=int(opt.nz), nfF=int(opt.nfM), nfG=int(opt.nfX), nfD=int(opt.nfD),
        nfZ=int(opt.nfZ), attentionG=bool(opt.useSelfAttG), attentionD=bool(opt.useSelfAttD), batchSize=int(opt.batchSize),
        lambdaZ=float(opt.wrecZ), lrG=float(groups[1]["lr"]), lrD=float(groups[2]["lr"]), lrZ=float(groups[3]["lr"]),
        lrF=float(groups[0]["lr"]), weightDecayF=float(groups[0]["weight_decay"]), adamBeta1=b1, adamBeta2=b2, adamEpsilon=eps.pop(),
        initGain=float(opt.initOrthoGain), collapseThreshold=float(opt.autoRestart))
    return base


# ---- Adam -----------------------------------------------------------------------------------------------------------

ADAM_GROUP_DEFAULTS = dict(amsgrad=False, maximize=False, foreach=None, capturable=False, differentiable=False, fused=None)


def adam_state_dict(module, moments, prefix, step, hyper):
    """torch.optim.Adam's state_dict for `module` from our moments (`<prefix>.<name>.exp_avg`); loads in torch 1.13 and 2.x."""
    names = [(n, p) for n, p in module.named_parameters()]
    state = {}
    if step > 0:
        for i, (n, p) in enumerate(names):
            pair = []
            for suffix in ("exp_avg", "exp_avg_sq"):
                t = moments.get(f"{prefix}.{n}.{suffix}")
                if t is None:
                    raise ConversionError(f"the run has no {prefix}.{n}.{suffix}")
                if tuple(t.shape) != tuple(p.shape):
                    raise ConversionError(f"{prefix}.{n}.{suffix} has shape {tuple(t.shape)}, the parameter {tuple(p.shape)}")
                pair.append(t.clone())
            state[i] = {"step": torch.tensor(float(step)), "exp_avg": pair[0], "exp_avg_sq": pair[1]}
    group = dict(lr=hyper["lr"], betas=tuple(hyper["betas"]), eps=hyper["eps"], weight_decay=hyper["weight_decay"], **ADAM_GROUP_DEFAULTS)
    group["params"] = list(range(len(names)))
    sd = {"state": state, "param_groups": [group]}
    # the proof that it loads: this torch's own Adam over the module takes it
    check = torch.optim.Adam(module.parameters(), lr=hyper["lr"], betas=tuple(hyper["betas"]), eps=hyper["eps"],
                             weight_decay=hyper["weight_decay"])
    check.load_state_dict(sd)
    return sd


def is_buffer_key(key):
    """State-dict entries that are not parameters in the ReDO networks: spectral norm's u and v (no other buffers exist)."""
    return key.endswith("weight_u") or key.endswith("weight_v")


def moments_from_adam(net_sd, adam_sd, prefix):
    """Our moments and step count from torch's Adam state_dict of one network. The parameter order is the state_dict's
    (named_parameters() and state_dict() walk the modules alike; the only buffers are spectral norm's u and v), checked
    against every moment's shape."""
    names = [k for k in net_sd if not is_buffer_key(k)]
    params = adam_sd["param_groups"][0]["params"]
    if len(adam_sd["param_groups"]) != 1 or len(params) != len(names):
        raise ConversionError(f"{prefix}: the optimizer holds {len(params)} parameters in {len(adam_sd['param_groups'])} group(s), "
                              f"the network {len(names)}")
    moments, steps = {}, set()
    for name, idx in zip(names, params):
        s = adam_sd["state"].get(idx)
        shape = tuple(net_sd[name].shape)
        if not s:  # never stepped
            s = {"step": 0, "exp_avg": torch.zeros(shape), "exp_avg_sq": torch.zeros(shape)}
        for suffix in ("exp_avg", "exp_avg_sq"):
            if tuple(s[suffix].shape) != shape:
                raise ConversionError(f"{prefix}.{name}.{suffix} has shape {tuple(s[suffix].shape)}, the parameter {shape}")
            moments[f"{prefix}.{name}.{suffix}"] = s[suffix].detach().to(torch.float32).cpu()
        steps.add(int(float(s["step"])))
    if len(steps) != 1:
        raise ConversionError(f"{prefix}: the parameters were stepped different numbers of times {sorted(steps)}; "
                              "ReDO Studio keeps one count per network")
    return moments, steps.pop()


def manifest_for(config, iteration, opt, source):
    """The run archive's manifest after a PyTorch leg: ours carried in the options where present, else the authors' fields."""
    carried = ((getattr(opt, "redoStudio", None) or {}).get("manifest")) or {}
    return {
        "format": ARCHIVE_FORMAT,
        "formatVersion": 1,
        "config": config,
        "step": iteration,
        "restarts": int(carried.get("restarts", 0)),
        "seed": int(carried.get("seed", getattr(opt, "manualSeed", 0) or 0)),
        "dataset": carried.get("dataset") or {"name": str(getattr(opt, "dataset", "pytorch")), "count": 0, "size": int(opt.sizex)},
        "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
        "app": f"convert_pth.py (from {os.path.basename(source)}, torch {torch.__version__})",
    }
