#!/bin/sh
# Times libnuwa's VQGAN encode/decode (256x256 frames, dim 64, 4 layers) and, when the Python
# environment of tools/setup_env.sh exists, nuwa-pytorch on the same config and thread count
# in the same run, then prints the ratios.
# Usage: sh bench/run.sh BENCH_BINARY   (env: THREADS, ITERS, BATCH)
set -u
bin=${1:?usage: bench/run.sh build/bench_vqgan}
threads=${THREADS:-$(nproc)}
iters=${ITERS:-5}
batch=${BATCH:-1}
py=tools/.venv/bin/python

ours=$("$bin" --threads "$threads" --iters "$iters" --batch "$batch" --json) || exit 1
echo "libnuwa:    $ours"
if [ ! -x "$py" ]; then
    echo "reference:  skipped (no Python environment; run: sh tools/setup_env.sh)"
    exit 0
fi
ref=$("$py" bench/ref_vqgan.py --threads "$threads" --iters "$iters" --batch "$batch" --json) || {
    echo "reference:  failed"; exit 1; }
echo "reference:  $ref"
"$py" - "$ours" "$ref" <<'PY'
import json, sys
o, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print()
print(f"VQGAN 256x256, dim 64, 4 layers, batch {o['batch']}, {o['threads']} threads "
      f"(torch {r['torch']}, {r['mode']}; oneDNN conv, OpenBLAS)")
print(f"{'':8} {'libnuwa ms/frame':>17} {'PyTorch ms/frame':>17} {'speed-up':>9}")
for k in ("encode", "decode"):
    a, b = o[k + "_ms"], r[k + "_ms"]
    print(f"{k:8} {a:17.1f} {b:17.1f} {b / a:8.2f}x")
PY
