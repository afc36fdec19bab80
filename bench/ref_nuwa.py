#!/usr/bin/env python3
"""PyTorch reference timing of the nuwa-pytorch 0.7.8 NUWA transformer (the other side of the libnuwa
transformer bench).

    tools/.venv/bin/python bench/ref_nuwa.py --threads 2 --json
    tools/.venv/bin/python bench/ref_nuwa.py --threads 2 --tokens 16 --json     # quicker
    python3 bench/ref_nuwa.py --device cuda --config '{...}' --skip first --json   # on a GPU (bench/gpu.sh)

Model (random weights, torch.manual_seed(--seed), eval, fp32, on --device: cpu (default) or cuda[:N]):
    VQGanVAE(dim=16, image_size=64, num_layers=3, num_resnet_blocks=0, use_attn=False, resnet_groups=4,
             vq_codebook_size=512, vq_codebook_dim=64, use_vgg_and_gan=False, vq_kmeans_init=False)
        -> fmap 64 / 2**3 = 8, T = 64 tokens per frame, V = 512 (the VAE is only built for its shape;
           it is not timed)
    NUWA(dim=256, max_video_frames=8, text_num_tokens=49408, text_max_seq_len=256,
         text_enc_depth=2, text_enc_heads=8, text_enc_dim_head=32,
         dec_depth=6, dec_heads=8, dec_dim_head=32, shift_video_tokens=True,
         sparse_3dna_kernel_size=3, sparse_3dna_dilation=1)        (override with --config JSON)
    The non-reversible text encoder needs the B1 patch (tools/nuwa_ref.apply_b1_patch(); the unpatched
    reference raises TypeError in embed_text).  Text: one row of --text-len ids (default 256, the
    reference tokenizer's context length) whose first --text-tokens (default 12) are non-zero, the rest
    padding.  Batch 1, cond_scale 2 (two decoder passes per token: B2), filter_thres 0.9, temperature 1.

Measurements (torch.no_grad(), like generate()):
* gen_first: the real ``NUWA.generate(num_frames=8)`` for its first --tokens tokens.  The module-level
  ``tqdm`` wrapper of the sampling loop is replaced by an iterator that timestamps every step and stops
  the loop (by raising) after --tokens steps, so the frames are never decoded.  Step time excludes the
  one-off text encoding.
* gen_last: the same loop for the last --tokens tokens of the 8x64-token video, i.e. from a random
  prefix of 512 - --tokens tokens.  The reference has no prefix argument, so this runs a verbatim copy of
  the loop body of ``NUWA.generate`` (0.7.8) with ``video_indices`` initialised to the prefix
  (docs/MODEL.md section 4, "Prefill").  Before timing, the copy is checked against the real generate on
  its first --check tokens with injected Gumbel noise: identical tokens required.
  The reference recomputes the whole window every token, so a token costs O(current length): report
  both ends rather than one average.
* prefill: one full-sequence decoder forward over bos + 512 tokens (all 8 frames) plus to_logits,
  the way generate() builds its input (pos[:n]); and "prefill_guided": that plus the uncond pass
  generate() runs at cond_scale 2 (fed the cond output, B2).  Median of --iters, after one warm-up;
  tokens/s = 512 / time.
On a CUDA device every timestamp is taken after torch.cuda.synchronize(), so a step's time includes
its kernels (TF32 stays off: torch's default for matmuls in fp32, set explicitly).
Prints a JSON line with --json.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

VAE_CONFIG = dict(dim=16, image_size=64, num_layers=3, num_resnet_blocks=0, use_attn=False, resnet_groups=4,
                  vq_codebook_size=512, vq_codebook_dim=64, use_vgg_and_gan=False, vq_kmeans_init=False)
NUWA_CONFIG = dict(dim=256, max_video_frames=8, text_num_tokens=49408, text_max_seq_len=256,
                   text_enc_depth=2, text_enc_heads=8, text_enc_dim_head=32,
                   dec_depth=6, dec_heads=8, dec_dim_head=32, shift_video_tokens=True,
                   sparse_3dna_kernel_size=3, sparse_3dna_dilation=1)
COND_SCALE = 2.0
FILTER_THRES = 0.9
TEMPERATURE = 1.0


def parse_args():
    ap = argparse.ArgumentParser(description="PyTorch NUWA generate/prefill timing (reference for the libnuwa bench)")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
    ap.add_argument("--tokens", type=int, default=64, help="tokens timed at each end of generate (default 64)")
    ap.add_argument("--iters", type=int, default=3, help="timed prefill iterations (default 3)")
    ap.add_argument("--check", type=int, default=8, help="tokens of the loop-copy check (default 8; 0 = skip)")
    ap.add_argument("--text-len", type=int, default=256, help="text row length incl. padding (default 256)")
    ap.add_argument("--text-tokens", type=int, default=12, help="non-padding text ids (default 12)")
    ap.add_argument("--config", help="NUWA kwargs (JSON object or file) overriding the bench config; "
                                     "a nested \"vae\" object overrides VQGanVAE kwargs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip", default="", help="comma list of parts to skip: first,last,prefill")
    ap.add_argument("--json", action="store_true", help="print only one JSON line")
    ap.add_argument("--device", default="cpu", help="torch device: cpu (default), cuda, cuda:N")
    return ap.parse_args()


args = parse_args()
if args.threads < 1 or args.tokens < 1 or args.iters < 1 or args.check < 0:
    sys.exit("ref_nuwa.py: --threads, --tokens, --iters must be >= 1, --check >= 0")
if not (1 <= args.text_tokens <= args.text_len):
    sys.exit("ref_nuwa.py: need 1 <= --text-tokens <= --text-len")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

sys.path.insert(0, os.path.join(ROOT, "tools"))
import torch  # noqa: E402
import nuwa_ref  # noqa: E402

nw = nuwa_ref.nuwa_module()
nuwa_ref.apply_b1_patch()

DEVICE = torch.device(args.device)
if DEVICE.type == "cuda":
    if not torch.cuda.is_available():
        sys.exit(f"ref_nuwa.py: --device {args.device}: torch {torch.__version__} sees no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
elif DEVICE.type != "cpu":
    sys.exit(f"ref_nuwa.py: --device {args.device}: only cpu and cuda[:N]")


def now():
    """perf_counter after the device has finished the work queued so far."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)
    return time.perf_counter()


class StopLoop(Exception):
    pass


def load_configs(spec):
    vae_cfg, cfg = dict(VAE_CONFIG), dict(NUWA_CONFIG)
    if spec:
        if os.path.isfile(spec):
            with open(spec) as f:
                over = json.load(f)
        else:
            over = json.loads(spec)
        over = dict(over)
        vae_cfg.update(over.pop("vae", {}) or {})
        cfg.update(over)
    for k in ("sparse_3dna_kernel_size", "sparse_3dna_dilation"):
        if isinstance(cfg.get(k), list):
            cfg[k] = tuple(cfg[k])
    for k in ("num_resnet_blocks", "use_attn"):
        if isinstance(vae_cfg.get(k), list):
            vae_cfg[k] = tuple(vae_cfg[k])
    return vae_cfg, cfg


def timed_loop(n_stop, stamps):
    """Replacement for the module-level tqdm: timestamps each step, stops after n_stop steps."""
    def wrap(it):
        for i, x in enumerate(it):
            stamps.append(now())
            if i == n_stop:
                raise StopLoop()
            yield x
    return wrap


def real_generate_first(model, text, n, noise=None):
    """Run NUWA.generate for its first n tokens; returns (per-step seconds, sampled tokens)."""
    stamps, samples = [], []
    saved = nw.tqdm, nw.gumbel_noise
    orig_noise = nw.gumbel_noise

    def gumbel_noise(t):
        g = noise(t) if noise is not None else orig_noise(t)
        samples.append(((t / TEMPERATURE) + g).argmax(dim=-1))
        return g

    nw.tqdm = timed_loop(n, stamps)
    nw.gumbel_noise = gumbel_noise
    try:
        model.generate(text=text, filter_thres=FILTER_THRES, temperature=TEMPERATURE, cond_scale=COND_SCALE,
                       num_frames=model.max_video_frames)
        raise RuntimeError("generate finished before the requested number of tokens")
    except StopLoop:
        pass
    finally:
        nw.tqdm, nw.gumbel_noise = saved
    steps = [b - a for a, b in zip(stamps[:-1], stamps[1:])]
    return steps, torch.stack(samples, 1)


@torch.no_grad()
def generate_from(model, text, prefix, n_steps, stamps=None):
    """Verbatim copy of the loop of NUWA.generate (nuwa-pytorch 0.7.8) with video_indices = prefix."""
    filter_thres, temperature, cond_scale = FILTER_THRES, TEMPERATURE, COND_SCALE
    batch, seq_len, device = *text.shape, text.device

    text_mask = text != 0
    text_embeds = model.embed_text(text, mask=text_mask)

    bos = nw.repeat(model.video_bos, 'd -> b 1 d', b=batch)

    video_indices = prefix.clone()

    num_tokens_per_frame = model.video_fmap_size ** 2

    max_video_tokens = num_tokens_per_frame * model.max_video_frames

    pos_emb = model.video_pos_emb()

    for ind in range(n_steps):
        if stamps is not None:
            stamps.append(now())
        video_indices_input = video_indices

        num_video_tokens = video_indices.shape[1]
        if num_video_tokens > max_video_tokens:
            curr_frame_tokens = num_video_tokens % num_tokens_per_frame
            lookback_tokens = (model.max_video_frames - (0 if curr_frame_tokens == 0 else 1)) * num_tokens_per_frame + curr_frame_tokens
            video_indices_input = video_indices[:, -lookback_tokens:]

        frame_embeddings = model.image_embedding(video_indices_input)
        frame_embeddings = pos_emb[:frame_embeddings.shape[1]] + frame_embeddings
        frame_embeddings = torch.cat((bos, frame_embeddings), dim=1)

        frame_embeddings = model.video_transformer(
            frame_embeddings,
            context=text_embeds,
            context_mask=text_mask
        )

        logits = model.to_logits(frame_embeddings)

        if cond_scale != 1:
            uncond_frame_embeddings = model.video_transformer(
                frame_embeddings,
                context=text_embeds,
                context_mask=torch.zeros_like(text_mask).bool()
            )

            uncond_logits = model.to_logits(uncond_frame_embeddings)
            logits = uncond_logits + (logits - uncond_logits) * cond_scale

        logits = logits[:, -1, :]

        filtered_logits = nw.top_k(logits, thres=filter_thres)
        sample = nw.gumbel_sample(filtered_logits, temperature=temperature, dim=-1)
        sample = nw.rearrange(sample, 'b -> b 1')
        video_indices = torch.cat((video_indices, sample), dim=1)
    if stamps is not None:
        stamps.append(now())
    return video_indices


def check_copy(model, text, n):
    """The loop copy must sample the same tokens as the real generate (same injected noise)."""
    gen = torch.Generator().manual_seed(1234)
    V = model.to_logits.weight.shape[0]
    u = torch.rand((n + 1, text.shape[0], V), generator=gen).to(text.device)
    state = {"i": 0}

    def noise(t):
        g = -nw.log(-nw.log(u[state["i"]]))
        state["i"] += 1
        return g

    _, ref_tokens = real_generate_first(model, text, n, noise)
    state["i"] = 0
    saved = nw.gumbel_noise
    nw.gumbel_noise = noise
    try:
        got = generate_from(model, text, torch.empty((text.shape[0], 0), dtype=torch.long, device=text.device), n)
    finally:
        nw.gumbel_noise = saved
    if not torch.equal(got, ref_tokens):
        raise SystemExit(f"ref_nuwa.py: loop copy differs from NUWA.generate: {got.tolist()} vs {ref_tokens.tolist()}")
    return n


def stats(steps):
    return dict(tok_s=round(len(steps) / sum(steps), 4), ms_per_token_median=round(1e3 * statistics.median(steps), 2),
                ms_first=round(1e3 * steps[0], 2), ms_last=round(1e3 * steps[-1], 2), tokens=len(steps))


def main():
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(args.seed)
    vae_cfg, cfg = load_configs(args.config)
    vae = nuwa_ref.VQGanVAE(**vae_cfg)
    model = nw.NUWA(vae=vae, **cfg).eval().to(DEVICE)
    for p in model.parameters():
        p.requires_grad_(False)
    F = model.max_video_frames
    T = model.video_fmap_size ** 2
    V = model.to_logits.weight.shape[0]
    n_total = F * T
    n = min(args.tokens, n_total)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}

    g = torch.Generator().manual_seed(args.seed + 1)
    text = torch.zeros(1, args.text_len, dtype=torch.long)
    text[0, :args.text_tokens] = torch.randint(1, cfg["text_num_tokens"], (args.text_tokens,), generator=g)
    video = torch.randint(0, V, (1, n_total), generator=g)
    text, video = text.to(DEVICE), video.to(DEVICE)

    out = {
        "torch": torch.__version__,
        "device": str(DEVICE) + (f" ({torch.cuda.get_device_name(DEVICE)})" if DEVICE.type == "cuda" else ""),
        "threads": args.threads,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
        "vae": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vae_cfg.items()},
        "frames": F, "tokens_per_frame": T, "codebook": V, "text_len": args.text_len,
        "text_tokens": args.text_tokens, "cond_scale": COND_SCALE, "batch": 1,
        "params_transformer": sum(p.numel() for k, p in model.named_parameters() if not k.startswith("vae.")),
    }
    with torch.no_grad():
        if args.check:
            out["copy_checked_tokens"] = check_copy(model, text, min(args.check, n_total))
        if "first" not in skip:
            real_generate_first(model, text, min(2, n))  # warm-up
            steps, _ = real_generate_first(model, text, n)
            out["gen_first"] = stats(steps)
        if "last" not in skip:
            prefix = video[:, :n_total - n]
            generate_from(model, text, video[:, :n_total - 2], 1)  # warm-up at full length
            stamps = []
            generate_from(model, text, prefix, n, stamps)
            steps = [b - a for a, b in zip(stamps[:-1], stamps[1:])]
            out["gen_last"] = dict(stats(steps), prefix=n_total - n)
        if "prefill" not in skip:
            text_mask = text != 0
            text_embeds = model.embed_text(text, mask=text_mask)
            bos = nw.repeat(model.video_bos, 'd -> b 1 d', b=1)
            pos = model.video_pos_emb()

            def prefill(guided):
                x = model.image_embedding(video)
                x = pos[:x.shape[1]] + x
                x = torch.cat((bos, x), dim=1)
                y = model.video_transformer(x, context=text_embeds, context_mask=text_mask)
                logits = model.to_logits(y)
                if guided:
                    u = model.video_transformer(y, context=text_embeds, context_mask=torch.zeros_like(text_mask))
                    ul = model.to_logits(u)
                    logits = ul + (logits - ul) * COND_SCALE
                return logits

            for key, guided in (("prefill", False), ("prefill_guided", True)):
                prefill(guided)
                ts = []
                for _ in range(args.iters):
                    t0 = now()
                    prefill(guided)
                    ts.append(now() - t0)
                med = statistics.median(ts)
                out[key] = dict(tok_s=round(n_total / med, 2), ms=round(1e3 * med, 2), tokens=n_total,
                                iters=args.iters)
    if args.json:
        print(json.dumps(out))
    else:
        print(f"torch {out['torch']} on {out['device']}, {args.threads} threads; NUWA dim {cfg['dim']}, dec {cfg['dec_depth']}x"
              f"{cfg['dec_heads']}x{cfg['dec_dim_head']}, {F} frames x {T} tokens, V {V}, text {args.text_len} "
              f"({args.text_tokens} ids), cond_scale {COND_SCALE}")
        for key in ("gen_first", "gen_last"):
            if key in out:
                s = out[key]
                print(f"{key}: {s['tok_s']:.3f} tokens/s over {s['tokens']} tokens (median {s['ms_per_token_median']} "
                      f"ms/token, first {s['ms_first']}, last {s['ms_last']})")
        for key in ("prefill", "prefill_guided"):
            if key in out:
                s = out[key]
                print(f"{key}: {s['tok_s']:.1f} tokens/s ({s['ms']} ms for {s['tokens']} tokens)")
        if "copy_checked_tokens" in out:
            print(f"loop copy == NUWA.generate on the first {out['copy_checked_tokens']} tokens")


if __name__ == "__main__":
    main()
