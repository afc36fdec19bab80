#!/usr/bin/env python3
"""Train the demo model (VQGanVAE + NUWA) with the nuwa-pytorch 0.7.8 reference on make_shapes.py clips.

    sh tools/setup_env.sh
    python3 tools/make_shapes.py --split train --count 20000 --out data/shapes/train
    python3 tools/make_shapes.py --split val   --count 500   --out data/shapes/val
    tools/.venv/bin/python tools/train_demo.py vae    --data data/shapes/train --out runs/shapes --steps 20000
    tools/.venv/bin/python tools/train_demo.py tokens --data data/shapes/train --out runs/shapes
    tools/.venv/bin/python tools/train_demo.py nuwa   --data data/shapes/train --val data/shapes/val --out runs/shapes --steps 30000
    tools/.venv/bin/python tools/train_demo.py export --out runs/shapes --gguf models/nuwa-shapes.gguf
    tools/.venv/bin/python tools/train_demo.py sample --out runs/shapes --text "a red circle moving up"

Stages (each resumable / idempotent; `all` runs vae, tokens, nuwa, export):

  vae     VQGanVAE(image_size 64, num_layers 3 -> 8x8 tokens, use_vgg_and_gan=False, vq_kmeans_init=True)
          on single frames (random clip, random frame), loss = vae(img, return_loss=True) (the
          reference's L1, or L2 with --l2) -- the VQ commitment loss is NOT part of it (the
          reference returns only the recon loss; the codebook learns by EMA).  Frames in [0, 1]
          (libnuwa maps 8-bit v to v/255).
  tokens  encode every clip of --data (and --val) with the frozen VAE once: <out>/tokens_<name>.npy
          (N, F*64) int16, and the captions with the reference tokenizer, truncated to
          --text-len: <out>/text_<name>.npy (N, text_len) int32.
  nuwa    NUWA(dim 256, dec_depth 6, max_video_frames F, text_max_seq_len 16, text_enc_depth 2,
          shift_video_tokens=True, non-reversible encoder + decoder) on the cached tokens:
          loss = nuwa(text=ids, video=token ids, return_loss=True) with the reference's
          cond_dropout_prob 0.2 (next-token cross-entropy over all F*64 tokens: this is
          text-to-video and, because every frame is predicted from the earlier ones, video
          prediction).  The VAE inside NUWA is frozen (not in the optimizer).
  export  <out>/nuwa_weights.pt (plain state dict), <out>/nuwa_config.json (NUWA kwargs + "vae"),
          then tools/convert.py --dtype f16 -> --gguf, and `build/nuwa info` when it exists.
  sample  the reference's own generate() for --text captions -> <out>/sample_<step>.png
          (a visual sanity check; slow on CPU: F*64 full forward passes, twice with cond_scale != 1).

Reference pitfalls handled here:
  B1  the non-reversible text encoder drops rotary embeddings / raises TypeError: nuwa_ref.apply_b1_patch().
  B3  generate() indexes vae.codebook without project_out: vq_codebook_dim = dim * layer_mults[-1]
      (= 4*vae_dim for num_layers 3), so there is no projection and generate() decodes correctly.
  text ids are CLIP BPE ids used directly as embedding rows (no start/end tokens); libnuwa rejects
      ids >= text_num_tokens.  --text-num-tokens auto = largest id of the caption vocabulary + 1
      (smaller file; other words are rejected), or 49408 for the whole CLIP vocabulary.

Checkpoints (<out>/vae.pt, <out>/nuwa.pt: model + optimizer + step + config + RNG state) are
written every --ckpt-every steps and at the end; --resume continues from them (the step count is
the total).  Losses go to <out>/log_<stage>.csv and <out>/loss_<stage>.png (matplotlib, if
installed).
"""

import argparse
import csv
import hashlib
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402


# --------------------------------------------------------------------------------------------
# data

class Clips:
    def __init__(self, d):
        with open(os.path.join(d, "info.json")) as fh:
            self.info = json.load(fh)
        self.dir = d
        self.n, self.frames, self.size = self.info["count"], self.info["frames"], self.info["size"]
        self.rgb = np.memmap(os.path.join(d, "clips.rgb"), np.uint8, "r",
                             shape=(self.n, self.frames, self.size, self.size, 3))
        with open(os.path.join(d, "clips.tsv"), encoding="utf-8") as fh:
            rows = [l.rstrip("\n").split("\t") for l in fh][1:]
        self.captions = [r[1] for r in rows]
        assert len(self.captions) == self.n, "clips.tsv and info.json disagree"
        self.name = os.path.basename(os.path.normpath(d))

    def frames_tensor(self, idx):
        """(len(idx)*..., 3, H, W) float in [0, 1] for rgb[idx] of any leading shape."""
        a = np.array(self.rgb[idx])
        t = torch.from_numpy(a).float().div_(255.0)
        return t.movedim(-1, -3)


def load_tokenizer():
    """nuwa_pytorch.tokenizer (see make_tokenizer_fixture.py: the package __init__ is skipped)."""
    import nuwa_ref  # noqa: F401  (registers the bare nuwa_pytorch package)
    import importlib
    return importlib.import_module("nuwa_pytorch.tokenizer").tokenizer


def caption_vocab_max_id(tok):
    import make_shapes as ms
    m = 0
    for c in ms.COLOUR_NAMES:
        for s in ms.SHAPES:
            for d in ms.DIRECTION_NAMES:
                m = max(m, max(tok.encode(f"a {c} {s} moving {d} and")))
    return m


# --------------------------------------------------------------------------------------------
# configs

def vae_config(a):
    mult = [1, 2, 4, 8][:a.vae_layers]
    return dict(dim=a.vae_dim, image_size=64, num_layers=a.vae_layers, layer_mults=mult,
                num_resnet_blocks=a.vae_resnet_blocks, use_attn=False, resnet_groups=a.vae_groups,
                first_conv_kernel_size=5,
                # B3: codebook_dim == dim * layer_mults[-1] -> no project_in/out
                vq_codebook_dim=a.vae_dim * mult[-1], vq_codebook_size=a.codebook,
                vq_use_cosine_sim=True, l2_recon_loss=a.l2,
                # training only: re-seed codes whose EMA usage falls below this from the batch
                # (vector-quantize-pytorch defaults to 0 = never, and the codebook collapses to a
                # handful of codes on this data)
                vq_threshold_ema_dead_code=a.dead_code)


def nuwa_config(a, vcfg, text_num_tokens):
    return dict(dim=a.dim, max_video_frames=a.frames, text_num_tokens=text_num_tokens,
                text_max_seq_len=a.text_len, text_enc_depth=a.text_enc_depth, text_enc_heads=a.heads,
                text_enc_dim_head=a.dim_head, text_rotary_pos_emb=True, enc_reversible=False,
                dec_depth=a.dec_depth, dec_heads=a.heads, dec_dim_head=a.dim_head, dec_reversible=False,
                shift_video_tokens=True, sparse_3dna_kernel_size=3, sparse_3dna_dilation=1,
                vae=vcfg)


def build_vae(vcfg, kmeans_init):
    import nuwa_ref
    return nuwa_ref.VQGanVAE(**vcfg, use_vgg_and_gan=False, vq_kmeans_init=kmeans_init)


def build_nuwa(ncfg, vae):
    import nuwa_ref
    nw = nuwa_ref.nuwa_module()
    nuwa_ref.apply_b1_patch()
    kw = {k: v for k, v in ncfg.items() if k != "vae"}
    return nw.NUWA(vae=vae, **kw)


def n_params(m, skip_prefix=None):
    return sum(p.numel() for n, p in m.named_parameters() if not (skip_prefix and n.startswith(skip_prefix)))


# --------------------------------------------------------------------------------------------
# checkpoint / log helpers

def save_ckpt(path, **obj):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Log:
    FIELDS = ["stage", "step", "loss", "val_loss", "lr", "elapsed_s", "steps_per_s"]

    def __init__(self, path, resume):
        new = not (resume and os.path.exists(path))
        self.fh = open(path, "w" if new else "a", newline="")
        self.w = csv.writer(self.fh)
        if new:
            self.w.writerow(self.FIELDS)
        self.path = path

    def row(self, *vals):
        self.w.writerow(["" if v is None else (f"{v:.6g}" if isinstance(v, float) else v) for v in vals])
        self.fh.flush()


def plot_log(csv_path, png_path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"train_demo.py: matplotlib not installed, {os.path.basename(png_path)} skipped "
              "(apt-get install python3-matplotlib)")
        return
    steps, loss, vsteps, vloss = [], [], [], []
    with open(csv_path) as fh:
        for r in csv.DictReader(fh):
            if r["loss"]:
                steps.append(int(r["step"]))
                loss.append(float(r["loss"]))
            if r["val_loss"]:
                vsteps.append(int(r["step"]))
                vloss.append(float(r["val_loss"]))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(steps, loss, label="train", lw=0.8)
    if vloss:
        ax.plot(vsteps, vloss, "o-", label="val", ms=3)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    print(f"train_demo.py: wrote {png_path}")


def lr_at(a, step):
    """Linear warm-up over --warmup steps, then cosine decay to 10% at --steps."""
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    t = min(1.0, (step - a.warmup) / max(1, a.steps - a.warmup))
    return a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def loop(a, stage, model, params, batch_fn, val_fn, ckpt_path, extra):
    """Generic training loop with Adam, checkpoints, CSV log."""
    opt = torch.optim.Adam(params, lr=a.lr, betas=(0.9, 0.99))
    step = 0
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        torch.set_rng_state(ck["rng_cpu"])
        np.random.set_state(ck["rng_np"])
        print(f"train_demo.py: {stage}: resumed at step {step} from {ckpt_path}")
    elif os.path.exists(ckpt_path) and not a.resume:
        sys.exit(f"train_demo.py: {ckpt_path} exists; pass --resume to continue or remove it")
    log = Log(os.path.join(a.out, f"log_{stage}.csv"), a.resume)

    def save():
        save_ckpt(ckpt_path, model=model.state_dict(), opt=opt.state_dict(), step=step,
                  rng_cpu=torch.get_rng_state(), rng_np=np.random.get_state(), **extra)

    model.train()
    t0, s0, run_loss, nrun = time.time(), step, 0.0, 0
    while step < a.steps:
        lr = lr_at(a, step)
        for g in opt.param_groups:
            g["lr"] = lr
        loss = batch_fn()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(params, a.clip_grad)
        opt.step()
        step += 1
        run_loss += loss.item()
        nrun += 1
        val = None
        if val_fn and (step % a.val_every == 0 or step == a.steps):
            model.eval()
            with torch.no_grad():
                val = val_fn()
            model.train()
        if step % a.log_every == 0 or step == a.steps or val is not None:
            el = time.time() - t0
            sps = (step - s0) / el if el > 0 else 0.0
            log.row(stage, step, run_loss / nrun, val, lr, el, sps)
            print(f"{stage} step {step}/{a.steps} loss {run_loss / nrun:.4f}"
                  + (f" val {val:.4f}" if val is not None else "") + f" lr {lr:.2e} {sps:.2f} steps/s",
                  flush=True)
            run_loss, nrun = 0.0, 0
        if step % a.ckpt_every == 0 or step == a.steps:
            save()
    el = time.time() - t0
    if step > s0:
        print(f"train_demo.py: {stage}: {step - s0} steps in {el:.1f} s = {(step - s0) / el:.3f} steps/s "
              f"(batch {a.batch}, device {a.device}, threads {torch.get_num_threads()})")
    log.fh.close()
    plot_log(log.path, os.path.join(a.out, f"loss_{stage}.png"), f"{stage} loss")
    return step


# --------------------------------------------------------------------------------------------
# stages

def stage_vae(a):
    data = Clips(a.data)
    vcfg = vae_config(a)
    ckpt = os.path.join(a.out, "vae.pt")
    if a.resume and os.path.exists(ckpt):
        vcfg = torch.load(ckpt, map_location="cpu")["config"]
    vae = build_vae(vcfg, kmeans_init=True).to(a.device)
    print(f"train_demo.py: vae: {vcfg} -> {n_params(vae) / 1e6:.2f} M parameters; {data.n} clips")
    rng = np.random.default_rng(a.seed)

    def frames(n):
        ci = np.sort(rng.integers(0, data.n, n))
        fi = rng.integers(0, data.frames, n)
        x = torch.from_numpy(np.stack([data.rgb[c, f] for c, f in zip(ci, fi)])).float().div_(255.0)
        return x.permute(0, 3, 1, 2).contiguous().to(a.device)

    val_fn = None
    if a.val:
        vdata = Clips(a.val)
        vx = torch.from_numpy(np.ascontiguousarray(vdata.rgb[:min(vdata.n, 64), 0])).float().div_(255.0)
        vx = vx.permute(0, 3, 1, 2).contiguous().to(a.device)

        def val_fn():
            _, idx, _ = vae.encode(vx)
            print(f"vae: validation codebook usage {torch.unique(idx).numel()}/{vcfg['vq_codebook_size']} codes",
                  flush=True)
            return vae(vx, return_loss=True).item()
    loop(a, "vae", vae, list(vae.parameters()), lambda: vae(frames(a.batch), return_loss=True), val_fn,
         ckpt, {"config": vcfg})


def load_vae(a):
    ck = torch.load(os.path.join(a.out, "vae.pt"), map_location="cpu")
    vae = build_vae(ck["config"], kmeans_init=False)
    vae.load_state_dict(ck["model"])
    vae.eval()
    return vae, ck


def stage_tokens(a):
    vae, ck = load_vae(a)
    vae.to(a.device)
    tok = load_tokenizer()
    fmap = vae.image_size // 2 ** vae.num_layers
    for d in [a.data] + ([a.val] if a.val else []):
        data = Clips(d)
        key = {"vae_step": ck["step"], "data_sha256": data.info["sha256_clips_rgb"], "text_len": a.text_len}
        meta_p = os.path.join(a.out, f"tokens_{data.name}.json")
        if os.path.exists(meta_p) and json.load(open(meta_p)) == key:
            print(f"train_demo.py: tokens: {data.name} cached")
            continue
        t0 = time.time()
        out = np.empty((data.n, data.frames * fmap ** 2), np.int16)
        with torch.no_grad():
            for s in range(0, data.n, a.encode_batch):
                x = data.frames_tensor(slice(s, min(data.n, s + a.encode_batch))).to(a.device)
                idx = vae.get_video_indices(x)
                out[s:s + x.shape[0]] = idx.reshape(x.shape[0], -1).cpu().numpy()
        text = tok.tokenize(data.captions, context_length=a.text_len, truncate_text=True).numpy().astype(np.int32)
        np.save(os.path.join(a.out, f"tokens_{data.name}.npy"), out)
        np.save(os.path.join(a.out, f"text_{data.name}.npy"), text)
        with open(meta_p, "w") as fh:
            json.dump(key, fh)
        used = np.unique(out).size
        print(f"train_demo.py: tokens: {data.name}: {data.n} clips in {time.time() - t0:.1f} s, "
              f"{used}/{vae.codebook_size} codes used, max text id {int(text.max())}")


def nuwa_cfg_for(a):
    vae, ck = load_vae(a)
    vcfg = dict(ck["config"])
    if a.text_num_tokens == "auto":
        ntt = caption_vocab_max_id(load_tokenizer()) + 1
    else:
        ntt = int(a.text_num_tokens)
    return vae, ck, nuwa_config(a, vcfg, ntt)


def stage_nuwa(a):
    ckpt = os.path.join(a.out, "nuwa.pt")
    vae, vck, ncfg = nuwa_cfg_for(a)
    if a.resume and os.path.exists(ckpt):
        ncfg = torch.load(ckpt, map_location="cpu")["config"]
    model = build_nuwa(ncfg, vae).to(a.device)
    name = os.path.basename(os.path.normpath(a.data))
    toks = torch.from_numpy(np.load(os.path.join(a.out, f"tokens_{name}.npy")).astype(np.int64))
    text = torch.from_numpy(np.load(os.path.join(a.out, f"text_{name}.npy")).astype(np.int64))
    fmap = vae.image_size // 2 ** vae.num_layers
    if toks.shape[1] != ncfg["max_video_frames"] * fmap ** 2:
        sys.exit(f"train_demo.py: cached tokens have {toks.shape[1]} per clip, expected "
                 f"{ncfg['max_video_frames']} frames x {fmap ** 2}")
    if int(text.max()) >= ncfg["text_num_tokens"]:
        sys.exit("train_demo.py: caption ids exceed text_num_tokens")
    params = [p for n, p in model.named_parameters() if not n.startswith("vae.")]
    for n, p in model.named_parameters():
        if n.startswith("vae."):
            p.requires_grad_(False)
    npar = sum(p.numel() for p in params)
    print(f"train_demo.py: nuwa: {json.dumps({k: v for k, v in ncfg.items() if k != 'vae'})}\n"
          f"  {npar / 1e6:.2f} M trainable parameters (~{2 * npar / 1e6:.1f} MB at F16 without the VAE); "
          f"{toks.shape[0]} clips")
    rng = np.random.default_rng(a.seed + 1)
    if a.fast_3dna:
        # same model, same maths: check the loss on one batch with and without the speed-up
        import nuwa_ref
        i = torch.from_numpy(np.random.default_rng(0).integers(0, toks.shape[0], min(4, a.batch)))
        with torch.no_grad():
            torch.manual_seed(0)
            l_ref = model(text=text[i].to(a.device), video=toks[i].to(a.device), return_loss=True).item()
            nuwa_ref.apply_fast_3dna()
            torch.manual_seed(0)
            l_fast = model(text=text[i].to(a.device), video=toks[i].to(a.device), return_loss=True).item()
        print(f"train_demo.py: nuwa: fast 3DNA (nuwa_ref.apply_fast_3dna): loss {l_fast:.7f} vs reference "
              f"{l_ref:.7f} on one batch", flush=True)
        if abs(l_fast - l_ref) > 1e-4 * max(1.0, abs(l_ref)):
            sys.exit("train_demo.py: the fast 3DNA path disagrees with the reference; use --no-fast-3dna")

    def batch():
        i = torch.from_numpy(rng.integers(0, toks.shape[0], a.batch))
        model.vae.eval()
        return model(text=text[i].to(a.device), video=toks[i].to(a.device), return_loss=True)

    val_fn = None
    if a.val:
        vname = os.path.basename(os.path.normpath(a.val))
        vt = torch.from_numpy(np.load(os.path.join(a.out, f"tokens_{vname}.npy")).astype(np.int64))[:a.val_clips]
        vx = torch.from_numpy(np.load(os.path.join(a.out, f"text_{vname}.npy")).astype(np.int64))[:a.val_clips]

        def val_fn():
            ls = [model(text=vx[s:s + a.batch].to(a.device), video=vt[s:s + a.batch].to(a.device),
                        return_loss=True).item() * min(a.batch, vt.shape[0] - s)
                  for s in range(0, vt.shape[0], a.batch)]
            return sum(ls) / vt.shape[0]
    loop(a, "nuwa", model, params, batch, val_fn, ckpt, {"config": ncfg, "vae_step": vck["step"]})


def stage_export(a):
    ck = torch.load(os.path.join(a.out, "nuwa.pt"), map_location="cpu")
    ncfg = ck["config"]
    w = os.path.join(a.out, "nuwa_weights.pt")
    torch.save(ck["model"], w)
    cfg_p = os.path.join(a.out, "nuwa_config.json")
    vcfg = {k: v for k, v in ncfg["vae"].items() if k != "l2_recon_loss"}
    with open(cfg_p, "w") as fh:
        json.dump(dict(ncfg, vae=vcfg), fh, indent=1)
        fh.write("\n")
    os.makedirs(os.path.dirname(os.path.abspath(a.gguf)), exist_ok=True)
    cmd = [sys.executable, os.path.join(HERE, "convert.py"), w, "--config", cfg_p, "--dtype", a.dtype,
           "--name", a.name, "-o", a.gguf]
    print("train_demo.py: export:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    print(f"train_demo.py: export: {a.gguf} ({os.path.getsize(a.gguf) / 1e6:.2f} MB, "
          f"sha256 {hashlib.sha256(open(a.gguf, 'rb').read()).hexdigest()[:16]}), nuwa step {ck['step']}")
    tool = os.path.join(ROOT, "build", "nuwa")
    if os.path.exists(tool):
        r = subprocess.run([tool, "info", a.gguf], capture_output=True, text=True)
        print("\n".join(r.stdout.splitlines()[:25]))
        if r.returncode:
            sys.exit(f"train_demo.py: build/nuwa info failed: {r.stderr.strip()}")
    else:
        print("train_demo.py: build/nuwa not built (make), skipped the load check")


def stage_sample(a):
    ck = torch.load(os.path.join(a.out, "nuwa.pt"), map_location="cpu")
    ncfg = ck["config"]
    vae = build_vae({k: v for k, v in ncfg["vae"].items()}, kmeans_init=False)
    model = build_nuwa(ncfg, vae)
    model.load_state_dict(ck["model"])
    model.to(a.device).eval()
    tok = load_tokenizer()
    texts = a.text or ["a red circle moving right", "a blue square moving up and to the left"]
    ids = tok.tokenize(texts, context_length=ncfg["text_max_seq_len"], truncate_text=True).to(a.device)
    torch.manual_seed(a.seed)
    t0 = time.time()
    video = model.generate(text=ids, num_frames=a.sample_frames, cond_scale=a.cond_scale,
                           filter_thres=0.9, temperature=1.0)
    print(f"train_demo.py: sample: {len(texts)} x {a.sample_frames} frames in {time.time() - t0:.1f} s")
    v = (video.clamp(0, 1) * 255 + 0.5).byte().permute(0, 1, 3, 4, 2).cpu().numpy()  # b f h w c
    try:
        from PIL import Image
    except ImportError:
        np.save(os.path.join(a.out, f"sample_{ck['step']}.npy"), v)
        print("train_demo.py: Pillow not installed, saved .npy")
        return
    b, f, h, w_, _ = v.shape
    sheet = np.full((b * (h + 2), f * (w_ + 2), 3), 255, np.uint8)
    for i in range(b):
        for j in range(f):
            sheet[i * (h + 2):i * (h + 2) + h, j * (w_ + 2):j * (w_ + 2) + w_] = v[i, j]
    p = os.path.join(a.out, f"sample_{ck['step']}.png")
    Image.fromarray(sheet).save(p)
    print(f"train_demo.py: sample: wrote {p} ({' | '.join(texts)})")


# --------------------------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("stage", choices=("vae", "tokens", "nuwa", "export", "sample", "all"))
    p.add_argument("--data", default="data/shapes/train", help="training split (make_shapes.py output)")
    p.add_argument("--val", default=None, help="validation split (optional)")
    p.add_argument("--out", default="runs/shapes", help="run directory (checkpoints, logs, token cache)")
    p.add_argument("--steps", type=int, default=None, help="total steps of the stage (vae 20000, nuwa 30000)")
    p.add_argument("--batch", type=int, default=None, help="batch size (vae 32 frames, nuwa 16 clips)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (vae 3e-4, nuwa 3e-4)")
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--clip-grad", type=float, default=1.0, help="gradient-norm clip (0: off)")
    p.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:N")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--resume", action="store_true", help="continue from <out>/<stage>.pt")
    p.add_argument("--ckpt-every", type=int, default=1000)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--val-every", type=int, default=1000)
    p.add_argument("--val-clips", type=int, default=256)
    p.add_argument("--encode-batch", type=int, default=32, help="clips per batch when caching tokens")
    g = p.add_argument_group("VQGanVAE")
    g.add_argument("--vae-dim", type=int, default=32)
    g.add_argument("--vae-layers", type=int, default=3, help="3 -> 8x8 tokens for 64x64 frames")
    g.add_argument("--vae-resnet-blocks", type=int, default=1)
    g.add_argument("--vae-groups", type=int, default=16, help="GroupNorm groups (divides vae-dim)")
    g.add_argument("--codebook", type=int, default=512)
    g.add_argument("--dead-code", type=float, default=2.0,
                   help="re-seed codes used less than this (EMA count); 0 disables (default 2)")
    g.add_argument("--l2", action="store_true", help="L2 recon loss (default L1, the reference default)")
    g = p.add_argument_group("NUWA")
    g.add_argument("--dim", type=int, default=256)
    g.add_argument("--dec-depth", type=int, default=6)
    g.add_argument("--text-enc-depth", type=int, default=2)
    g.add_argument("--heads", type=int, default=4)
    g.add_argument("--dim-head", type=int, default=64)
    g.add_argument("--frames", type=int, default=8, help="max_video_frames (= clip length)")
    g.add_argument("--text-len", type=int, default=16, help="text_max_seq_len; captions are truncated to it")
    g.add_argument("--text-num-tokens", default="auto",
                   help="text embedding rows: auto (caption vocabulary's max id + 1) or a number (49408 = all)")
    g.add_argument("--fast-3dna", action=argparse.BooleanOptionalAction, default=True,
                   help="train with nuwa_ref.apply_fast_3dna (same maths, faster unfold/einsum; default on)")
    g = p.add_argument_group("export / sample")
    g.add_argument("--gguf", default=os.path.join("models", "nuwa-shapes.gguf"))
    g.add_argument("--dtype", default="f16", choices=("f32", "f16", "bf16"))
    g.add_argument("--name", default="nuwa-shapes")
    g.add_argument("--text", action="append", help="caption for `sample` (repeatable)")
    g.add_argument("--sample-frames", type=int, default=8)
    g.add_argument("--cond-scale", type=float, default=3.0)
    a = p.parse_args(argv)

    if a.device == "auto":
        a.device = "cuda" if torch.cuda.is_available() else "cpu"
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    defaults = {"vae": (20000, 32, 3e-4), "nuwa": (30000, 16, 3e-4)}

    def run(stage):
        b = argparse.Namespace(**vars(a))
        if stage in defaults:
            s, bs, lr = defaults[stage]
            b.steps = a.steps if a.steps is not None else s
            b.batch = a.batch if a.batch is not None else bs
            b.lr = a.lr if a.lr is not None else lr
            b.warmup = min(a.warmup, max(1, b.steps // 10))
        {"vae": stage_vae, "tokens": stage_tokens, "nuwa": stage_nuwa, "export": stage_export,
         "sample": stage_sample}[stage](b)

    for st in (("vae", "tokens", "nuwa", "export") if a.stage == "all" else (a.stage,)):
        t0 = time.time()
        run(st)
        print(f"train_demo.py: stage {st} done in {time.time() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
