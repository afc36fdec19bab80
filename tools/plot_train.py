#!/usr/bin/env python3
"""Loss curves of a `nuwa train` run (its stderr log) beside nuwa-pytorch's on the same batches
(tools/ref_train_curve.py's CSV): a CSV of our curve and a two-panel PNG.

    python3 tools/plot_train.py --log run/train.log --ref run/ref.csv --out models/loss_train.png \\
        --csv models/loss_train.csv

Left: our training loss per step (and a 50-step moving mean) with the validation loss. Right: the
first steps, ours and the reference's, step by step. Needs matplotlib for the PNG
(apt-get install python3-matplotlib); the CSV is written without it.
"""

import argparse
import csv
import re
import sys

STEP = re.compile(r"^step (\d+)/(\d+)\s+loss ([0-9.naif]+)(?:\s+val ([0-9.naif]+))?\s+lr ([0-9.e+-]+)")


def read_log(path):
    rows = []
    with open(path) as f:
        for line in f:
            m = STEP.match(line)
            if m:
                rows.append(dict(step=int(m.group(1)), loss=float(m.group(3)),
                                 val=float(m.group(4)) if m.group(4) else None, lr=float(m.group(5))))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True, help="nuwa train's stderr")
    ap.add_argument("--ref", help="tools/ref_train_curve.py's CSV")
    ap.add_argument("--out", help="PNG to write")
    ap.add_argument("--csv", help="CSV of our curve (step, loss, val, lr) to write")
    ap.add_argument("--title", default="nuwa train")
    a = ap.parse_args()
    rows = read_log(a.log)
    if not rows:
        sys.exit(f"plot_train.py: no progress lines in {a.log}")
    # the validation loss is printed on every line once known: keep the steps where it changed
    vals, last = [], None
    for r in rows:
        if r["val"] is not None and r["val"] != last:
            vals.append((r["step"], r["val"]))
            last = r["val"]
    ref = []
    if a.ref:
        with open(a.ref) as f:
            ref = [(int(r["step"]), float(r["loss_ref"]), float(r["loss_ours"])) for r in csv.DictReader(f)]
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["step", "loss", "val_loss", "lr"])
            vd = dict(vals)
            for r in rows:
                w.writerow([r["step"], r["loss"], vd.get(r["step"], ""), r["lr"]])
    if not a.out:
        return
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_train.py: matplotlib is missing (apt-get install python3-matplotlib): no PNG", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, 2 if ref else 1, figsize=(11 if ref else 6, 4), squeeze=False)
    ax = axes[0][0]
    steps = [r["step"] for r in rows]
    loss = [r["loss"] for r in rows]
    k = 50
    mean = [sum(loss[max(0, i - k + 1):i + 1]) / (i + 1 - max(0, i - k + 1)) for i in range(len(loss))]
    ax.plot(steps, loss, color="#9ecae1", lw=0.6, label="train loss (batch)")
    ax.plot(steps, mean, color="#08519c", lw=1.5, label=f"train loss ({k}-step mean)")
    if vals:
        ax.plot(*zip(*vals), "o-", color="#d94801", ms=4, label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats / token)")
    ax.set_title(a.title)
    ax.grid(alpha=0.3)
    ax.legend()
    if ref:
        ax = axes[0][1]
        ax.plot([r[0] for r in ref], [r[2] for r in ref], color="#08519c", lw=2.5, label="libnuwa")
        ax.plot([r[0] for r in ref], [r[1] for r in ref], "--", color="#ef3b2c", lw=1.2,
                label="nuwa-pytorch 0.7.8")
        worst = max(abs(r[1] - r[2]) / abs(r[1]) for r in ref)
        ax.set_title(f"first {len(ref)} steps, same init and batches (max rel. diff {worst:.1e})")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"plot_train.py: wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
