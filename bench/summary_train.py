#!/usr/bin/env python3
"""Prints the libnuwa vs nuwa-pytorch training-step table of bench/run_train.sh: two files of JSON
lines (bench_train --json, bench/ref_train.py --json), one line per round; medians over the rounds,
[min-max] when there are several. The reference file may be empty (no Python environment)."""
import json
import statistics
import sys


def load(path):
    with open(path) as f:
        return [json.loads(ln) for ln in f if ln.strip()]


def med(xs):
    return statistics.median(xs)


def rng(xs, fmt):
    return f" [{fmt.format(min(xs))}-{fmt.format(max(xs))}]" if len(xs) > 1 else ""


ours, refs = load(sys.argv[1]), load(sys.argv[2])
o0 = ours[0]
step = [o["step_ms"] for o in ours]
print()
print(f"NUWA training step, demo config (dim 128, decoder 4 x 4 heads x 32, text encoder 1, 3x3x3 3DNA), "
      f"batch {o0['batch']} x {o0['tokens'] // o0['batch']} tokens, {o0['threads']} threads, {len(ours)} round(s)"
      + (f"; PyTorch {refs[0]['torch']}" if refs else ""))
print(f"{'':34} {'ms/step':>22} {'tokens/s':>9} {'libnuwa speed-up':>17}")
print(f"{'libnuwa (loss+grad + AdamW)':34} {med(step):8.0f}{rng(step, '{:.0f}'):14} {med([o['tok_s'] for o in ours]):9.0f}")
for mode, name in (("plain", "PyTorch nuwa-pytorch 0.7.8"), ("fast", "PyTorch + fast 3DNA")):
    if not refs or mode not in refs[0]:
        continue
    rs = [r[mode]["step_ms"] for r in refs]
    ratios = [r / o for r, o in zip(rs, step)]  # per round: both sides ran back to back
    print(f"{name:34} {med(rs):8.0f}{rng(rs, '{:.0f}'):14} {med([r[mode]['tok_s'] for r in refs]):9.0f} "
          f"{med(rs) / med(step):8.1f}x{rng(ratios, '{:.1f}'):8}")
lg = [o["loss_grad_ms"] for o in ours]
ad = [o["adamw_ms"] for o in ours]
print(f"  libnuwa parts: loss+grad {med(lg):.0f} ms, AdamW + table refresh {med(ad):.0f} ms")
gf = [o["gflops"] for o in ours]
pct = [o["pct_sgemm"] for o in ours]
sg = [o["sgemm_best"] for o in ours]
print(f"libnuwa {o0['gflop_step']:.2f} GFLOP/step: {med(gf):.1f}{rng(gf, '{:.1f}')} GFLOP/s = "
      f"{med(pct):.0f}%{rng(pct, '{:.0f}')} of OpenBLAS sgemm ({med(sg):.0f}{rng(sg, '{:.0f}')} GFLOP/s, "
      f"best of {', '.join(o0['sgemm_gflops'])})")
