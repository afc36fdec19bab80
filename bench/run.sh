#!/bin/sh
# Times libnuwa's VQGAN encode/decode (256x256 frames, dim 64, 4 layers) and, when the Python
# environment of tools/setup_env.sh exists, nuwa-pytorch on the same config and thread count
# in the same run. The two alternate for ROUNDS rounds (shared machines are noisy); the table
# gives the median of the rounds' medians, the spread, and the ratio of the medians.
# Usage: sh bench/run.sh BENCH_BINARY   (env: THREADS, ITERS, BATCH, ROUNDS)
set -u
bin=${1:?usage: bench/run.sh build/bench_vqgan}
threads=${THREADS:-$(nproc)}
iters=${ITERS:-5}
batch=${BATCH:-1}
rounds=${ROUNDS:-3}
py=tools/.venv/bin/python
have_ref=1
if [ ! -x "$py" ]; then
    have_ref=0
    echo "reference: skipped (no Python environment; run: sh tools/setup_env.sh)"
fi

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT INT TERM
i=0
while [ "$i" -lt "$rounds" ]; do
    o=$("$bin" --threads "$threads" --iters "$iters" --batch "$batch" --json) || exit 1
    echo "libnuwa   $o"
    echo "O $o" >> "$out"
    if [ "$have_ref" = 1 ]; then
        r=$("$py" bench/ref_vqgan.py --threads "$threads" --iters "$iters" --batch "$batch" --json) || {
            echo "reference failed"; exit 1; }
        echo "pytorch   $(echo "$r" | cut -c1-100)..."
        echo "R $r" >> "$out"
    fi
    i=$((i + 1))
done

if command -v python3 >/dev/null 2>&1; then
    python3 bench/summary.py "$out"
fi
