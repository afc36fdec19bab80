#!/bin/sh
# Times libnuwa's NUWA generation and prefill (8 frames x 8x8 tokens, dim 256, decoder depth 6,
# text depth 2, cond_scale 2) and, when the Python environment of tools/setup_env.sh exists,
# nuwa-pytorch's generate() and forward on the same config and thread count, then prints the
# ratios. The reference recomputes the whole prefix for every token, so its cost per token grows
# along the video: it is timed on the first and the last REF_TOKENS tokens and its whole-video
# rate is estimated from the two ends (cost linear in the position).
# Usage: sh bench/run_nuwa.sh BENCH_BINARY   (env: THREADS, REF_TOKENS)
set -u
bin=${1:?usage: bench/run_nuwa.sh build/bench_nuwa}
threads=${THREADS:-$(nproc)}
ref_tokens=${REF_TOKENS:-8}
py=tools/.venv/bin/python

ours=$("$bin" --threads "$threads" --json) || exit 1
echo "libnuwa:   $ours"
if [ ! -x "$py" ]; then
    echo "reference: skipped (no Python environment; run: sh tools/setup_env.sh)"
    exit 0
fi
ref=$("$py" bench/ref_nuwa.py --threads "$threads" --tokens "$ref_tokens" --json) || {
    echo "reference: failed"; exit 1; }
echo "reference: $(echo "$ref" | cut -c1-120)..."
python3 bench/summary_nuwa.py "$ours" "$ref"
