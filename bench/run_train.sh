#!/bin/sh
# Times one NUWA training step of libnuwa (forward + backward + AdamW, the demo model's config,
# batch 8 x 8 frames x 64 tokens) and, when the Python environment of tools/setup_env.sh exists,
# nuwa-pytorch's step on the same config, batch and thread count (plain, and with
# tools/nuwa_ref.py's exact fast 3DNA), then prints the ratios and libnuwa's share of the
# machine's sgemm throughput. On a shared machine, ROUNDS=3 alternates the two sides three
# times and reports medians and ranges.
# RESULTS=DIR keeps the rounds' JSON lines (DIR/ours, DIR/ref).
# Usage: sh bench/run_train.sh BENCH_BINARY   (env: THREADS, BATCH, STEPS, REF_STEPS, ROUNDS, RESULTS)
set -u
bin=${1:?usage: bench/run_train.sh build/bench_train}
threads=${THREADS:-$(nproc)}
batch=${BATCH:-8}
steps=${STEPS:-5}
ref_steps=${REF_STEPS:-3}
rounds=${ROUNDS:-1}
py=tools/.venv/bin/python

dir=$(mktemp -d "${TMPDIR:-/tmp}/nuwa-bench-train-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
: >"$dir/ours"
: >"$dir/ref"
have_ref=1
if [ ! -x "$py" ]; then
    echo "reference: skipped (no Python environment; run: sh tools/setup_env.sh)"
    have_ref=0
fi
r=1
while [ "$r" -le "$rounds" ]; do
    ours=$("$bin" --threads "$threads" --batch "$batch" --steps "$steps" --json) || exit 1
    echo "$ours" >>"$dir/ours"
    echo "round $r libnuwa:   $(echo "$ours" | cut -c1-120)..."
    if [ "$have_ref" = 1 ]; then
        ref=$("$py" bench/ref_train.py --threads "$threads" --batch "$batch" --steps "$ref_steps" --json) || {
            echo "reference: failed"; exit 1; }
        echo "$ref" >>"$dir/ref"
        echo "round $r reference: $(echo "$ref" | cut -c1-120)..."
    fi
    r=$((r + 1))
done
if [ -n "${RESULTS:-}" ]; then
    mkdir -p "$RESULTS" && cp "$dir/ours" "$dir/ref" "$RESULTS/"
fi
python3 bench/summary_train.py "$dir/ours" "$dir/ref"
