#!/usr/bin/env python3
"""PyTorch reference timing of the nuwa-pytorch 0.7.8 VQGanVAE (the other side of the libnuwa bench).

    tools/.venv/bin/python bench/ref_vqgan.py --threads 2 --iters 5 --batch 1 --json

Builds VQGanVAE(dim=64, image_size=256, num_layers=4, num_resnet_blocks=1, use_attn=True,
use_vgg_and_gan=False, vq_kmeans_init=False) (the rest at the reference defaults: attn_heads 8,
attn_dim_head 64, resnet_groups 16, codebook 512 x 256 cosine) with random weights, or the
VQGanVAE arguments given by --config (a JSON object, inline or a file).  Runs on CPU in eval mode
with N intra-op threads (OpenMP, and OpenBLAS/MKL via their environment variables, set before
torch is imported), warms up once, then times vae.encode(x) on B random 256x256 frames and
vae.decode(quantized) separately, each under torch.no_grad() and torch.inference_mode(); the
faster mode is reported.  Prints the median milliseconds per frame.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

DEFAULT_CONFIG = dict(dim=64, image_size=256, num_layers=4, num_resnet_blocks=1, use_attn=True,
                      use_vgg_and_gan=False, vq_kmeans_init=False)


def parse_args():
    ap = argparse.ArgumentParser(description="PyTorch VQGanVAE encode/decode timing (reference for the libnuwa bench)")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    ap.add_argument("--iters", type=int, default=5, help="timed iterations per measurement (default 5)")
    ap.add_argument("--batch", type=int, default=1, help="frames per call (default 1)")
    ap.add_argument("--config", help="VQGanVAE kwargs as a JSON object or a JSON file (default: the bench config)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", choices=("best", "no_grad", "inference_mode"), default="best",
                    help="grad-disabling context to time (default: both, report the faster)")
    ap.add_argument("--json", action="store_true", help="print only one JSON line")
    return ap.parse_args()


args = parse_args()
if args.threads < 1 or args.iters < 1 or args.batch < 1:
    sys.exit("ref_vqgan.py: --threads, --iters and --batch must be >= 1")
# must precede the torch import: OpenMP / OpenBLAS / MKL size their pools at load time
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

sys.path.insert(0, os.path.join(ROOT, "tools"))
import torch  # noqa: E402
import nuwa_ref  # noqa: E402


def load_config(spec):
    if spec is None:
        return dict(DEFAULT_CONFIG)
    if os.path.isfile(spec):
        with open(spec) as f:
            cfg = json.load(f)
    else:
        cfg = json.loads(spec)
    cfg = dict(cfg)
    for k in ("num_resnet_blocks", "use_attn"):  # JSON lists stand for the reference's tuples
        if isinstance(cfg.get(k), list):
            cfg[k] = tuple(cfg[k])
    cfg.setdefault("use_vgg_and_gan", False)  # offline: no VGG download, no discriminator
    cfg.setdefault("vq_kmeans_init", False)   # k-means init would rewrite the codebook on first call
    return cfg


def blas_info():
    """What this torch uses for GEMM/conv: build config + the BLAS library actually mapped."""
    cfg = torch.__config__.show()
    info = {}
    for line in cfg.splitlines():
        line = line.strip()
        if "Build settings:" in line:
            for kv in line.split("Build settings:", 1)[1].split(","):
                if "=" in kv:
                    k, v = kv.strip().split("=", 1)
                    if k in ("BLAS_INFO", "LAPACK_INFO", "USE_MKLDNN", "USE_OPENMP", "USE_MKL"):
                        info[k] = v
        elif "MKL-DNN" in line or "oneDNN" in line or "Math Kernel Library" in line or "CPU capability" in line:
            info.setdefault("libs", []).append(line.lstrip("- "))
    info["mkldnn_available"] = torch.backends.mkldnn.is_available()
    info["mkl_available"] = torch.backends.mkl.is_available()
    try:  # the BLAS/oneDNN/OpenMP shared objects really mapped (Debian: the libblas.so.3 alternative)
        with open("/proc/self/maps") as f:
            paths = {l.split()[-1] for l in f if l.split()[-1].startswith("/")}
        keys = ("blas", "lapack", "mkl", "dnnl", "gomp", "iomp")
        info["loaded"] = sorted({os.path.realpath(p) for p in paths
                                 if any(k in os.path.basename(p) for k in keys)})
    except OSError:
        pass
    return info


def time_calls(fn, iters):
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def main():
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(args.seed)
    cfg = load_config(args.config)
    vae = nuwa_ref.VQGanVAE(**cfg).eval()
    for p in vae.parameters():
        p.requires_grad_(False)
    S, C = vae.image_size, vae.channels
    x = torch.rand(args.batch, C, S, S)

    modes = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode}
    if args.mode != "best":
        modes = {args.mode: modes[args.mode]}
    results = {}
    for mode, ctx in modes.items():
        with ctx():
            q, idx, _ = vae.encode(x)  # warm-up (also: oneDNN primitive creation)
            vae.decode(q)
            enc = time_calls(lambda: vae.encode(x), args.iters)
            dec = time_calls(lambda: vae.decode(q), args.iters)
        results[mode] = dict(encode_ms=1e3 * statistics.median(enc) / args.batch,
                             decode_ms=1e3 * statistics.median(dec) / args.batch)
    best = min(results, key=lambda m: results[m]["encode_ms"] + results[m]["decode_ms"])
    out = {
        "torch": torch.__version__,
        "threads": args.threads,
        "encode_ms": round(results[best]["encode_ms"], 3),
        "decode_ms": round(results[best]["decode_ms"], 3),
        "blas": blas_info(),
        "mode": best,
        "modes": {m: {k: round(v, 3) for k, v in r.items()} for m, r in results.items()},
        "batch": args.batch,
        "iters": args.iters,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
        "params": sum(p.numel() for p in vae.parameters()) + vae.vq._codebook.embed.numel(),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"torch {out['torch']}, {args.threads} threads, batch {args.batch}, {args.iters} iters, "
              f"{out['params'] / 1e6:.2f} M weights")
        for m, r in results.items():
            print(f"  {m:15s} encode {r['encode_ms']:9.2f} ms/frame   decode {r['decode_ms']:9.2f} ms/frame")
        print(f"  blas: {json.dumps(out['blas'])}")


if __name__ == "__main__":
    main()
