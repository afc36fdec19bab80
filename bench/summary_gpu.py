#!/usr/bin/env python3
"""The targets table of bench/gpu.sh: bench_gpu's JSON lines (grep '^{' of `bench_gpu --json`) and,
when it ran, bench/ref_nuwa.py's JSON line (nuwa-pytorch generate() on the same GPU and config).

    python3 bench/summary_gpu.py OUT/bench_gpu.txt [OUT/ref.json]

Targets (reported, not pass/fail):
  next-frame latency <= 16 ms      bench_gpu next_frame.latency_ms (9 context frames pushed, one frame of
                                   tokens generated, decoded)
  >= 20x nuwa-pytorch generate()   ours: tokens/s of generating the 10th frame after 9 context frames
                                   (prefill included); reference: gen_last, generate()'s loop over the last
                                   --tokens tokens of the 10-frame video (each step recomputes the prefix)
  16 streams >= 8x one stream      bench_gpu streams.batch_ratio (nuwa_generate_batch), threads_ratio shown too
"""
import json
import sys


def load_lines(path):
    out = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("{"):
                    try:
                        d = json.loads(line)
                    except ValueError:
                        continue
                    out[d.get("what", "?")] = d
    except OSError:
        pass
    return out


def verdict(ok):
    return "met" if ok else "MISSED"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ours = load_lines(sys.argv[1])
    ref = None
    if len(sys.argv) > 2:
        try:
            with open(sys.argv[2]) as f:
                ref = json.loads(f.read().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            ref = None
    rows = []
    nf, st = ours.get("next_frame"), ours.get("streams")
    if nf:
        rows.append(("next-frame latency", f"{nf['latency_ms']:.2f} ms", "<= 16 ms", verdict(nf["latency_ms"] <= 16.0)))
    else:
        rows.append(("next-frame latency", "not measured", "<= 16 ms", "-"))
    if nf and ref and "gen_last" in ref:
        r = nf["tok_s"] / ref["gen_last"]["tok_s"]
        rows.append(("vs nuwa-pytorch generate()", f"{r:.1f}x", ">= 20x", verdict(r >= 20.0)))
        rows.append(("  ours / reference", f"{nf['tok_s']:.1f} / {ref['gen_last']['tok_s']:.2f} tok/s",
                     "", f"ref: last {ref['gen_last']['tokens']} tokens, prefix {ref['gen_last']['prefix']}"))
    else:
        rows.append(("vs nuwa-pytorch generate()", "not measured", ">= 20x", "-"))
    if st:
        rows.append((f"{st['streams']} streams, nuwa_generate_batch", f"{st['batch_ratio']:.2f}x", ">= 8x",
                     verdict(st["batch_ratio"] >= 8.0)))
        rows.append((f"{st['streams']} streams, one thread each", f"{st['threads_ratio']:.2f}x", ">= 8x",
                     verdict(st["threads_ratio"] >= 8.0)))
    else:
        rows.append(("16 streams batched", "not measured", ">= 8x", "-"))
    print(f"{'target':34} {'value':>28} {'goal':>9}  verdict")
    for r in rows:
        print(f"{r[0]:34} {r[1]:>28} {r[2]:>9}  {r[3]}")


if __name__ == "__main__":
    main()
