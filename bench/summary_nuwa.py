#!/usr/bin/env python3
"""Prints the libnuwa vs nuwa-pytorch table of bench/run_nuwa.sh (two JSON arguments)."""
import json
import sys

o, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
first, last = r["gen_first"]["tok_s"], r["gen_last"]["tok_s"]
ref_video = 2.0 / (1.0 / first + 1.0 / last)  # mean time per token, linear growth
print()
print(f"NUWA dim 256, decoder depth 6, text depth 2, 8 frames x 64 tokens, cond_scale 2, "
      f"{o['threads']} threads (PyTorch {r['torch']})")
print(f"{'':34} {'libnuwa':>10} {'PyTorch':>10} {'speed-up':>9}")
print(f"{'generate, whole video (tok/s)':34} {o['generate_tok_s']:10.1f} {ref_video:10.3f} "
      f"{o['generate_tok_s'] / ref_video:8.0f}x")
print(f"{'  PyTorch first / last tokens':34} {'':10} {first:5.2f}/{last:4.2f}")
print(f"{'prefill, 512 tokens (tok/s)':34} {o['prefill_tok_s']:10.0f} {r['prefill']['tok_s']:10.0f} "
      f"{o['prefill_tok_s'] / r['prefill']['tok_s']:8.1f}x")
