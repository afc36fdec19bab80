#!/usr/bin/env python3
"""Summarises bench/run.sh rounds: lines 'O <libnuwa json>' and 'R <pytorch json>'."""
import json
import statistics
import sys

rows = [line.split(" ", 1) for line in open(sys.argv[1]) if line.strip()]
ours = [json.loads(j) for k, j in rows if k == "O"]
ref = [json.loads(j) for k, j in rows if k == "R"]
med = statistics.median
o0 = ours[0]
head = f"VQGAN 256x256, dim 64, 4 layers, batch {o0['batch']}, {o0['threads']} threads, {len(ours)} rounds"
if ref:
    head += f" (PyTorch {ref[0]['torch']}, {ref[0]['mode']}, oneDNN convolutions, OpenBLAS)"
print()
print(head)
print(f"{'':8} {'libnuwa ms/frame':>22} {'PyTorch ms/frame':>22} {'speed-up':>9}")
for k in ("encode", "decode"):
    a = [x[k + "_ms"] for x in ours]
    line = f"{k:8} {med(a):9.1f} ({min(a):5.0f}-{max(a):4.0f})"
    if ref:
        b = [x[k + "_ms"] for x in ref]
        line += f" {med(b):9.1f} ({min(b):5.0f}-{max(b):4.0f}) {med(b) / med(a):8.2f}x"
    print(line)
