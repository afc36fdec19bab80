#!/usr/bin/env python3
"""nuwa-pytorch 0.7.8 trained on the batches of a `nuwa train` run, from the same initial weights:
the reference's loss curve beside ours (models/README.md, docs/TRAINING.md §6c).

    build/nuwa train models/nuwa-shapes.gguf --config models/nuwa-shapes.json --data D \\
        --out run.ckpt --dump-batches run.batches.gguf [--lr ... as below]
    tools/.venv/bin/python tools/ref_train_curve.py --init run.ckpt.init.gguf \\
        --config models/nuwa-shapes.json --batches run.batches.gguf --steps 100 --out ref.csv

The model is NUWA(**config) with the transformer tensors of --init (the VQGAN is never run: the
batches are token ids); the optimizer is the one `nuwa train` uses by default, which is the
reference trainer's (nuwa_pytorch.optimizer.get_optimizer): AdamW, weight decay only on tensors
with ndim >= 2, clip_grad_norm_ before each step; the learning rate of every step is taken from
the dump, so any schedule matches. Conditioning dropout: the dump's pattern is forced into
NUWA.forward's own draw (prob_mask_like), so the reference runs its own dropout code path.
Writes CSV lines `step,loss_ref,loss_ours,grad_norm_ref`.
"""

import argparse
import csv
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--init", required=True, help="the initial model file of the run (CKPT.init.gguf)")
    ap.add_argument("--config", required=True, help="the JSON config the run was started with")
    ap.add_argument("--batches", required=True, help="the run's --dump-batches file")
    ap.add_argument("--steps", type=int, default=100, help="steps to run (default 100)")
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--clip-grad", type=float, default=0.5, help="0 = none")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", required=True, help="CSV to write")
    return ap.parse_args()


args = parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import gguf  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import convert  # noqa: E402
import nuwa_ref  # noqa: E402
from make_train_fixtures import ForcedDrop  # noqa: E402

VAE_KEYS = {"image_size": "image_size", "channels": "channels", "dim": "dim", "num_layers": "num_layers",
            "layer_mults": "layer_mults", "num_resnet_blocks": "num_resnet_blocks", "use_attn": "use_attn",
            "attn_heads": "attn_heads", "attn_dim_head": "attn_dim_head", "resnet_groups": "resnet_groups",
            "first_conv_kernel_size": "first_conv_kernel_size", "codebook_size": "vq_codebook_size",
            "codebook_dim": "vq_codebook_dim", "use_cosine_sim": "vq_use_cosine_sim"}


def vae_config(path):
    """VQGanVAE's arguments from the nuwa.vae.* metadata (the VQGAN only fixes the token grid here)."""
    r = gguf.GGUFReader(path)
    out = {}
    for f in r.fields.values():
        if not f.name.startswith("nuwa.vae."):
            continue
        key = VAE_KEYS.get(f.name[len("nuwa.vae."):])
        if key is None:
            continue
        vals = [f.parts[i].tolist()[0] for i in f.data]
        out[key] = tuple(vals) if len(vals) > 1 or key in ("layer_mults", "num_resnet_blocks", "use_attn") else vals[0]
    out["use_attn"] = tuple(bool(x) for x in out["use_attn"])
    out["vq_use_cosine_sim"] = bool(out["vq_use_cosine_sim"])
    return out


def main():
    torch.set_num_threads(args.threads)
    nw = nuwa_ref.nuwa_module()
    nuwa_ref.apply_b1_patch()
    with open(args.config) as f:
        cfg = json.load(f)
    cfg.pop("vae", None)
    vae = nuwa_ref.VQGanVAE(**vae_config(args.init), use_vgg_and_gan=False, vq_kmeans_init=False)
    model = nw.NUWA(vae=vae, **cfg)

    # the run's initial transformer
    tensors = convert.read_gguf_tensors(args.init)
    state = model.state_dict()
    loaded = 0
    for name, a in tensors.items():
        if name.startswith("vae."):
            continue
        if name not in state or tuple(state[name].shape) != a.shape:
            sys.exit(f"ref_train_curve.py: {name} {a.shape} does not fit NUWA(**config)")
        state[name] = torch.from_numpy(np.array(a, dtype=np.float32))
        loaded += 1
    model.load_state_dict(state)
    params = [(n, p) for n, p in model.named_parameters() if not n.startswith("vae.")]
    missing = [n for n, _ in params if n not in tensors]
    if missing:
        sys.exit(f"ref_train_curve.py: the init file lacks {missing[:3]}")
    for n, p in model.named_parameters():
        if n.startswith("vae."):
            p.requires_grad_(False)
    model.train()
    model.vae.eval()
    plist = [p for _, p in params]
    opt = torch.optim.AdamW([{"params": [p for p in plist if p.ndim >= 2]},
                             {"params": [p for p in plist if p.ndim < 2], "weight_decay": 0.0}],
                            lr=1.0, betas=(args.beta1, args.beta2), eps=args.eps, weight_decay=args.weight_decay)

    b = convert.read_gguf_tensors(args.batches)
    text, video, drop = b["batch.text"], b["batch.video"], b["batch.drop"]
    ours, lrs = b["batch.loss"], b["batch.lr"]
    steps = min(args.steps, text.shape[0])
    rows = []
    t0 = time.perf_counter()
    for s in range(steps):
        for g in opt.param_groups:
            g["lr"] = float(lrs[s])
        t = torch.from_numpy(text[s].astype(np.int64))
        v = torch.from_numpy(video[s].astype(np.int64))
        d = drop[s].astype(bool)
        with ForcedDrop(d.tolist()):
            loss = model(text=t, video=v, return_loss=True, cond_dropout_prob=1.0 if d.any() else 0.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip_grad > 0:
            norm = float(torch.nn.utils.clip_grad_norm_(plist, args.clip_grad))
        else:
            norm = float(torch.norm(torch.stack([torch.norm(p.grad.detach(), 2.0) for p in plist]), 2.0))
        opt.step()
        rows.append((s + 1, float(loss), float(ours[s]), norm))
        el = time.perf_counter() - t0
        print(f"step {s + 1}/{steps}  loss {float(loss):.4f} (ours {float(ours[s]):.4f})  |g| {norm:.3f}  "
              f"{el / (s + 1):.2f} s/step", file=sys.stderr, flush=True)
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "loss_ref", "loss_ours", "grad_norm_ref"])
        w.writerows(rows)
    worst = max(abs(r[1] - r[2]) / abs(r[1]) for r in rows)
    print(f"{steps} steps, torch {torch.__version__}: worst relative loss difference {worst:.2e}", file=sys.stderr)


if __name__ == "__main__":
    main()
