#!/usr/bin/env python3
"""PyTorch reference timing of one nuwa-pytorch 0.7.8 NUWA training step (the other side of
bench/bench_train.c).

    tools/.venv/bin/python bench/ref_train.py --threads 2 --json
    tools/.venv/bin/python bench/ref_train.py --threads 2 --steps 2 --modes fast   # quicker

Model (random weights, torch.manual_seed(--seed), fp32, CPU), the demo model's configuration
(models/README.md section 3, tools/train_demo.py nuwa --dim 128 --dec-depth 4 --text-enc-depth 1
--heads 4 --dim-head 32):
    VQGanVAE(dim=32, image_size=64, num_layers=3, layer_mults=(1, 2, 4), num_resnet_blocks=1,
             use_attn=False, resnet_groups=16, first_conv_kernel_size=5, vq_codebook_size=512,
             vq_codebook_dim=128, vq_use_cosine_sim=True, use_vgg_and_gan=False, vq_kmeans_init=False)
        -> fmap 8, 64 tokens per frame, 512 codes (frozen: not in the optimizer, never run)
    NUWA(dim=128, max_video_frames=8, text_num_tokens=38092, text_max_seq_len=16, text_enc_depth=1,
         text_enc_heads=4, text_enc_dim_head=32, text_rotary_pos_emb=True, enc_reversible=False,
         dec_depth=4, dec_heads=4, dec_dim_head=32, dec_reversible=False, shift_video_tokens=True,
         sparse_3dna_kernel_size=3, sparse_3dna_dilation=1)            (B1 patch applied)
Batch: --batch items of 10 random text ids + 6 padding, and 8 x 64 random video token ids.

A step, as tools/train_demo.py's loop: loss = model(text=..., video=..., return_loss=True) (train
mode: the reference's cond_dropout_prob 0.2 applies), opt.zero_grad(set_to_none=True),
loss.backward(), opt.step() with torch.optim.AdamW(lr 1e-4, the other arguments torch's
defaults) over the transformer's parameters.  Median of --steps steps after --warmup steps,
twice: "plain" (nuwa-pytorch as installed) and "fast" (tools/nuwa_ref.apply_fast_3dna(): an exact
slicing unfoldNd and broadcast einsums in Sparse3DNA; same model and maths).  Each mode has its own
model and optimizer made from the same seed, and the two modes' steps alternate (plain, fast,
plain, ...), so that on a shared machine both see the same load.  Prints a JSON line with --json, with the torch
version and its BLAS (torch.__config__.show()).
"""

import argparse
import json
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

VAE_CONFIG = dict(dim=32, image_size=64, num_layers=3, layer_mults=(1, 2, 4), num_resnet_blocks=1, use_attn=False,
                  resnet_groups=16, first_conv_kernel_size=5, vq_codebook_size=512, vq_codebook_dim=128,
                  vq_use_cosine_sim=True, use_vgg_and_gan=False, vq_kmeans_init=False)
NUWA_CONFIG = dict(dim=128, max_video_frames=8, text_num_tokens=38092, text_max_seq_len=16, text_enc_depth=1,
                   text_enc_heads=4, text_enc_dim_head=32, text_rotary_pos_emb=True, enc_reversible=False,
                   dec_depth=4, dec_heads=4, dec_dim_head=32, dec_reversible=False, shift_video_tokens=True,
                   sparse_3dna_kernel_size=3, sparse_3dna_dilation=1)
TEXT_IDS = 10


def parse_args():
    ap = argparse.ArgumentParser(description="PyTorch NUWA training-step timing (reference for bench_train)")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3, help="timed steps per mode (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ap.add_argument("--modes", default="plain,fast", help="comma list of plain,fast (default both)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print only one JSON line")
    return ap.parse_args()


args = parse_args()
if args.threads < 1 or args.batch < 1 or args.steps < 1 or args.warmup < 0:
    sys.exit("ref_train.py: --threads, --batch, --steps must be >= 1, --warmup >= 0")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

sys.path.insert(0, os.path.join(ROOT, "tools"))
import torch  # noqa: E402
import nuwa_ref  # noqa: E402

nw = nuwa_ref.nuwa_module()
nuwa_ref.apply_b1_patch()


def blas_info():
    """torch.__config__.show()'s BLAS settings and CPU capability, and the BLAS libraries this process
    has loaded after a matmul (Debian's torch: BLAS_INFO=generic, i.e. the system libblas.so.3)."""
    show = torch.__config__.show()
    parts = [m.group(0) for m in re.finditer(r"(BLAS_INFO|LAPACK_INFO)=[^,]*|CPU capability usage: \w+|"
                                             r"Intel\(R\) MKL-DNN v[\d.]+", show)]
    a = torch.ones(64, 64)
    a @ a
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({ln.split()[-1] for ln in f if re.search(r"blas|mkl_|dnnl", ln)})
        parts.append("loaded: " + " ".join(os.path.realpath(x) for x in libs))
    except OSError:
        pass
    return "; ".join(parts)


def set_mode(mode):
    if mode == "fast":
        nuwa_ref.apply_fast_3dna()
    else:
        nuwa_ref.remove_fast_3dna()


def build():
    torch.manual_seed(args.seed)
    vae = nuwa_ref.VQGanVAE(**VAE_CONFIG)
    model = nw.NUWA(vae=vae, **NUWA_CONFIG)
    params = [p for n, p in model.named_parameters() if not n.startswith("vae.")]
    for n, p in model.named_parameters():
        if n.startswith("vae."):
            p.requires_grad_(False)
    model.train()
    model.vae.eval()
    return model, params, torch.optim.AdamW(params, lr=1e-4)


def run_modes(modes, text, video):
    """One model and optimizer per mode (same seed); the modes' steps alternate, so that both see
    the same load on a shared machine."""
    runs = {m: dict(zip(("model", "params", "opt"), build()), times=[], fwd=[], losses=[]) for m in modes}
    for it in range(args.warmup + args.steps):
        for mode in modes:
            r = runs[mode]
            set_mode(mode)
            torch.manual_seed(args.seed + it)  # the same conditioning dropout in every mode
            t0 = time.perf_counter()
            loss = r["model"](text=text, video=video, return_loss=True)
            t1 = time.perf_counter()
            r["opt"].zero_grad(set_to_none=True)
            loss.backward()
            r["opt"].step()
            t2 = time.perf_counter()
            r["losses"].append(loss.item())
            if it >= args.warmup:
                r["times"].append(t2 - t0)
                r["fwd"].append(t1 - t0)
    set_mode("plain")
    out = {}
    for mode, r in runs.items():
        times, med = r["times"], statistics.median(r["times"])
        out[mode] = dict(step_ms=round(1e3 * med, 1), step_ms_min=round(1e3 * min(times), 1),
                         step_ms_max=round(1e3 * max(times), 1),
                         forward_ms=round(1e3 * statistics.median(r["fwd"]), 1),
                         tok_s=round(video.numel() / med, 1), steps=args.steps, loss_first=round(r["losses"][0], 5),
                         loss_last=round(r["losses"][-1], 5), params=sum(p.numel() for p in r["params"]))
    return out


def main():
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    cfg = NUWA_CONFIG
    F, fmap = cfg["max_video_frames"], VAE_CONFIG["image_size"] // 2 ** VAE_CONFIG["num_layers"]
    g = torch.Generator().manual_seed(args.seed + 1)
    text = torch.zeros(args.batch, cfg["text_max_seq_len"], dtype=torch.long)
    text[:, :TEXT_IDS] = torch.randint(1, cfg["text_num_tokens"], (args.batch, TEXT_IDS), generator=g)
    video = torch.randint(0, VAE_CONFIG["vq_codebook_size"], (args.batch, F * fmap * fmap), generator=g)
    out = {"torch": torch.__version__, "blas": blas_info(), "threads": args.threads, "batch": args.batch,
           "tokens": video.numel(), "config": cfg}
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("plain", "fast") for m in modes):
        sys.exit(f"ref_train.py: --modes {args.modes!r}: a comma list of plain, fast")
    out.update(run_modes(modes, text, video))
    if args.json:
        print(json.dumps(out))
    else:
        print(f"torch {out['torch']} ({out['blas']}), {args.threads} threads; NUWA demo config, batch {args.batch} "
              f"x {F * fmap * fmap} tokens")
        for mode in ("plain", "fast"):
            if mode in out:
                s = out[mode]
                print(f"{mode}: {s['step_ms']} ms/step (min {s['step_ms_min']}, max {s['step_ms_max']}; forward "
                      f"{s['forward_ms']}), {s['tok_s']} tokens/s; loss {s['loss_first']} -> {s['loss_last']}")


if __name__ == "__main__":
    main()
