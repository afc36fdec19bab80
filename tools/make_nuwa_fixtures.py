#!/usr/bin/env python3
"""Generate the NUWA transformer golden fixtures tests/fixtures/nuwa_n{1..6}.gguf (docs/MODEL.md section 7).

    sh tools/setup_env.sh && tools/.venv/bin/python tools/make_nuwa_fixtures.py

Each fixture is one libnuwa GGUF file (docs/FORMAT.md): a whole randomly initialised and perturbed
nuwa-pytorch 0.7.8 NUWA (tiny VQGAN under vae.*, the transformer under its state-dict names, F32),
written with tools/convert.py's write_nuwa_gguf, plus the reference's outputs as extra tensors named
test.* (PyTorch shapes; GGUF ne[] = shape reversed).  See tests/fixtures/MANIFEST_NUWA.md (written by
this script) for the list of tensors and the conventions.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import nuwa_ref  # noqa: E402  (stubs torchvision/einx if missing; exposes VQGanVAE, nuwa_module)
import convert  # noqa: E402

PERTURB = 0.3
SIZE_LIMIT = 3_000_000
TEXT_LEN = 7
TEXT_LENGTHS = (5, 3)          # non-padding ids per text row (the rest of the row is 0 = padding)
PARTIAL = 3                    # the forward test feeds L = F*T - PARTIAL video tokens
TIE_REL = 1e-5                 # margin < TIE_REL*|top1| counts as a tie (docs/MODEL.md 7.4)

# The fixture VQGAN: fmap = 16 // 2**2 = 4 (T = 16 tokens per frame), K = V = 40 codes, codebook_dim =
# dim*layer_mults[-1] = 16 (no projection, so the reference generate() can decode: B3).
VAE = dict(dim=8, image_size=16, num_layers=2, num_resnet_blocks=0, use_attn=False, resnet_groups=4,
           first_conv_kernel_size=3, vq_codebook_size=40, vq_codebook_dim=16, vq_use_cosine_sim=True)
VAE_FIXED = dict(use_vgg_and_gan=False, vq_kmeans_init=False)

COMMON = dict(dim=32, text_num_tokens=50, text_max_seq_len=8, text_enc_depth=2, text_enc_heads=2,
              text_enc_dim_head=16, dec_depth=3, dec_heads=2, dec_dim_head=16)

# name, seed, NUWA kwargs (besides COMMON), batch, description
CONFIGS = [
    ("n1", 2001, dict(max_video_frames=2, enc_reversible=False, dec_reversible=False, shift_video_tokens=True,
                      sparse_3dna_kernel_size=3, sparse_3dna_dilation=1), 2,
     "non-rev enc / non-rev dec, shift, k 3, dil 1, F 2"),
    ("n2", 2002, dict(max_video_frames=3, enc_reversible=True, dec_reversible=True, shift_video_tokens=True,
                      sparse_3dna_kernel_size=(5, 3, 3), sparse_3dna_dilation=(1, 2)), 2,
     "rev enc / rev dec, shift, k (5,3,3), dil cycle (1,2), F 3"),
    ("n3", 2003, dict(max_video_frames=2, enc_reversible=False, dec_reversible=True, shift_video_tokens=False,
                      sparse_3dna_kernel_size=3, sparse_3dna_dilation=2, text_enc_dim_head=48), 2,
     "non-rev enc / rev dec, no shift, k 3, dil 2 (cycle 1,2), F 2; text dim_head 48 (rotary on the first "
     "32 features of each head, 16 pass through)"),
    ("n4", 2004, dict(max_video_frames=3, enc_reversible=True, dec_reversible=False, shift_video_tokens=False,
                      sparse_3dna_kernel_size=(5, 3, 3), sparse_3dna_dilation=2), 2,
     "rev enc / non-rev dec, no shift, k (5,3,3), dil 2 (cycle 1,2), F 3"),
    ("n5", 2005, dict(max_video_frames=2, enc_reversible=False, dec_reversible=False, shift_video_tokens=True,
                      sparse_3dna_kernel_size=(3, 5, 3), sparse_3dna_dilation=(2, 1), text_rotary_pos_emb=False), 2,
     "non-rev / non-rev, shift, k (3,5,3), dil cycle (2,1), F 2; learned absolute text positions "
     "(text_rotary_pos_emb=False, table of 8 rows for texts of 7)"),
    ("n6", 2006, dict(max_video_frames=3, enc_reversible=False, dec_reversible=False, shift_video_tokens=True,
                      sparse_3dna_kernel_size=(3, 1, 5), sparse_3dna_dilation=(1, 2), sparse_3dna_rel_pos_bias=True), 1,
     "non-rev / non-rev, shift, rel-pos bias (batch 1: B8), k (3,1,5) (the size-1 row axis is dropped from the "
     "axial table: rel_pos_bias.axial1 = frames (3,h), axial2 = cols (5,h)), dil cycle (1,2), F 3"),
]

# generate cases: K, config, cond_scale, temperature, filter_thres, rows of test.text, base seed of the uniforms
GEN_CASES = [
    (1, "n2", 3.0, 0.7, 0.5, (0, 1), 3001),
    (2, "n1", 1.0, 1.0, 0.9, (0, 1), 3002),
    (3, "n1", 2.0, 1.0, 0.0, (1,), 3003),
]
# The uniforms' seed is base + 1000*j for the first j whose run has every step's margin >= SAFE_REL*|top1|
# (so no sampled token is a near-tie); the seed used is recorded.
SAFE_REL = 1e-4
SEED_TRIES = 20


def nuwa_kwargs(cfg):
    kw = dict(COMMON)
    kw.update(cfg)
    return kw


def json_config(cfg):
    """The converter's --config object: NUWA kwargs + nested "vae" (tuples as lists)."""
    kw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in nuwa_kwargs(cfg).items()}
    kw["vae"] = dict(VAE, **VAE_FIXED)
    return kw


def build_model(seed, cfg):
    nw = nuwa_ref.nuwa_module()
    torch.manual_seed(seed)
    vae = nuwa_ref.VQGanVAE(**VAE, **VAE_FIXED)
    model = nw.NUWA(vae=vae, **nuwa_kwargs(cfg))
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(PERTURB * torch.randn_like(p))
        model.vae.vq._codebook.initted.fill_(True)
    model.eval()
    return model


def make_inputs(seed, batch, V, F, T, text_num_tokens):
    g = torch.Generator().manual_seed(seed)
    text = torch.zeros(batch, TEXT_LEN, dtype=torch.long)
    for b in range(batch):
        n = TEXT_LENGTHS[b]
        text[b, :n] = torch.randint(1, text_num_tokens, (n,), generator=g)
    full = torch.randint(0, V, (batch, F * T - 1), generator=g)
    return text, full


class Capture:
    """Forward hooks that record per-layer residual streams the way the reference computes them."""

    def __init__(self):
        self.handles = []
        self.out = {}

    def add(self, module, key, fn):
        self.handles.append(module.register_forward_hook(lambda m, i, o: self.out.__setitem__(key, fn(i, o).clone())))

    def add_pre(self, module, key):
        self.handles.append(module.register_forward_pre_hook(lambda m, i: self.out.__setitem__(key, i[0].clone())))

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []


def hook_layers(cap, transformer, reversible, prefix, blocks_per_layer):
    """Layer outputs: non-reversible `ff(x) + x` (the SandwichNorm(ff) hook sees x and ff(x); same
    operands and order as Transformer.forward, so bitwise equal); reversible: the ReversibleBlock output
    cat([x1, x2], -1) after the last block of the layer."""
    if reversible:
        blocks = transformer.net.blocks
        n_layers = len(blocks) // blocks_per_layer
        for i in range(n_layers):
            cap.add(blocks[(i + 1) * blocks_per_layer - 1], f"{prefix}.{i}", lambda inp, o: o)
    else:
        for i, layer in enumerate(transformer.layers):
            cap.add(layer[2], f"{prefix}.{i}", lambda inp, o: o + inp[0])
    cap.add_pre(transformer.norm, f"{prefix}.norm_in")
    return cap


def top2_margin(scores):
    v = scores.topk(2, dim=-1).values
    return v[..., 0] - v[..., 1], v[..., 0]


def run_forward(model, text, tokens, rec, rev_enc, rev_dec):
    """Text encoder + decoder on [bos, tokens] computed the way generate() does (pos[:n], B7)."""
    nw = nuwa_ref.nuwa_module()
    text_mask = text != 0
    cap = Capture()
    hook_layers(cap, model.text_transformer, rev_enc, "text_layer", 1)
    text_embeds = model.embed_text(text, mask=text_mask)
    cap.remove()
    rec["test.text_embeds"] = text_embeds.clone()
    n_text_layers = len(model.text_transformer.net.blocks) if rev_enc else len(model.text_transformer.layers)
    for i in range(n_text_layers):
        rec[f"test.text_layer.{i}"] = cap.out[f"text_layer.{i}"]
    text_norm_in = cap.out["text_layer.norm_in"]

    B, L = tokens.shape
    bos = nw.repeat(model.video_bos, "d -> b 1 d", b=B)
    emb = model.image_embedding(tokens)
    emb = model.video_pos_emb()[:L] + emb
    x = torch.cat((bos, emb), dim=1)
    rec["_dec_in"] = x.clone()

    cap = Capture()
    hook_layers(cap, model.video_transformer, rev_dec, "dec_layer", 2)
    out = model.video_transformer(x, context=text_embeds, context_mask=text_mask)
    cap.remove()
    n_dec = len(model.video_transformer.net.blocks) // 2 if rev_dec else len(model.video_transformer.layers)
    for i in range(n_dec):
        rec[f"test.dec_layer.{i}"] = cap.out[f"dec_layer.{i}"]
    dec_norm_in = cap.out["dec_layer.norm_in"]
    rec["test.dec_out"] = out.clone()
    # the stored layer outputs are the streams the final norms see (bitwise)
    last_t, last_d = rec[f"test.text_layer.{n_text_layers - 1}"], rec[f"test.dec_layer.{n_dec - 1}"]
    if rev_enc:
        last_t = torch.stack(last_t.chunk(2, dim=-1)).sum(dim=0)
    if rev_dec:
        last_d = torch.stack(last_d.chunk(2, dim=-1)).sum(dim=0)
    assert torch.equal(last_t, text_norm_in) and torch.equal(model.text_transformer.norm(last_t), text_embeds)
    assert torch.equal(last_d, dec_norm_in) and torch.equal(model.video_transformer.norm(last_d), out)
    logits = model.to_logits(out)
    rec["test.logits"] = logits.clone()

    # unconditional logits, correct form: same input rows, context mask all False
    unc = model.video_transformer(x, context=text_embeds, context_mask=torch.zeros_like(text_mask).bool())
    rec["test.logits_uncond"] = model.to_logits(unc).clone()
    # what generate() computes (B2): the uncond pass is fed the cond pass's output rows
    unc2 = model.video_transformer(out, context=text_embeds, context_mask=torch.zeros_like(text_mask).bool())
    rec["test.logits_uncond_b2"] = model.to_logits(unc2).clone()

    amax = {
        "text": float(text_norm_in.amax(-1).min()),
        "dec": float(dec_norm_in.amax(-1).min()),
    }
    return text_embeds, amax


def check_against_forward(model, text, full, rec, name):
    """NUWA.forward(return_loss=False) on F*T-1 tokens (the only length its pos[:-1] accepts, B7):
    its first 1+L rows must equal test.logits (causal decoder)."""
    L = rec["test.video_tokens"].shape[1]
    ref = model(text=text, video=full, return_loss=False)
    got = rec["test.logits"]
    diff = float((ref[:, :1 + L] - got).abs().max())
    scale = float(got.abs().max())
    assert diff <= 1e-5 * scale, f"{name}: NUWA.forward rows differ from the generate-style forward by {diff:.3g}"
    return diff


def run_generate(model, text, case, F, T, V, useed):
    """generate() with the module-level gumbel_noise replaced by noise from stored uniforms."""
    K, _, cond_scale, temperature, thres, _, _ = case
    nw = nuwa_ref.nuwa_module()
    B = text.shape[0]
    num_frames = 2 * F
    steps = num_frames * T
    g = torch.Generator().manual_seed(useed)
    u = torch.rand((steps, B, V), generator=g)
    state = {"i": 0, "margin": [], "top1": [], "samples": [], "scores": []}

    def gumbel_noise(t):
        i = state["i"]
        assert tuple(t.shape) == (B, V), t.shape
        noise = u[i].clone()
        gn = -nw.log(-nw.log(noise))          # the reference's formula with its clamped log
        scores = (t / temperature) + gn       # exactly what gumbel_sample computes next
        m, top1 = top2_margin(scores)
        state["margin"].append(m)
        state["top1"].append(top1)
        state["samples"].append(scores.argmax(dim=-1))
        state["i"] = i + 1
        return gn

    codes_seen = []
    orig_decode = model.vae.decode

    def decode(fmap):
        codes_seen.append(fmap.clone())
        return orig_decode(fmap)

    saved = nw.gumbel_noise, nw.tqdm
    nw.gumbel_noise = gumbel_noise
    nw.tqdm = lambda it: it
    model.vae.decode = decode
    try:
        video = model.generate(text=text, filter_thres=thres, temperature=temperature, cond_scale=cond_scale,
                               num_frames=num_frames)
    finally:
        nw.gumbel_noise, nw.tqdm = saved
        del model.vae.decode
    assert state["i"] == steps, (state["i"], steps)
    tokens = torch.stack(state["samples"], 1)          # (B, steps)
    margin = torch.stack(state["margin"], 0)           # (steps, B)
    top1 = torch.stack(state["top1"], 0)

    # the indices generate() used: map the decoded codes back to codebook rows
    codes = torch.cat(codes_seen, 0)                   # ((b f), d, h, w)
    cb = model.vae.codebook
    flat = nw.rearrange(codes, "(b f) d h w -> b (f h w) d", b=B)
    idx = (flat[:, :, None, :] == cb[None, None]).all(-1)
    assert bool((idx.sum(-1) == 1).all()), "decoded codes are not unique codebook rows"
    assert torch.equal(idx.float().argmax(-1), tokens), "recorded samples differ from the decoded indices"
    k = max(int((1 - thres) * V), 1)
    return dict(u=u, tokens=tokens.to(torch.int32), margin=margin, video=video, top1=top1, steps=steps,
                num_frames=num_frames, k=k, seed=useed, batch=B)


def run_generate_safe(model, text, case, F, T, V):
    """run_generate with the first uniforms seed that gives no near-tie (see SAFE_REL)."""
    base = case[-1]
    for j in range(SEED_TRIES):
        r = run_generate(model, text, case, F, T, V, base + 1000 * j)
        if bool((r["margin"] >= SAFE_REL * r["top1"].abs()).all()):
            r["tries"] = j + 1
            return r
    raise SystemExit(f"gen{case[0]}: no uniforms seed without near-ties in {SEED_TRIES} tries")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def run_config(name, seed, cfg, batch, out_dir, gens, store_video, store_dec_in):
    model = build_model(seed, cfg)
    F = model.max_video_frames
    fmap = model.video_fmap_size
    T = fmap * fmap
    V = model.to_logits.weight.shape[0]
    kw = nuwa_kwargs(cfg)
    text, full = make_inputs(seed + 100, batch, V, F, T, kw["text_num_tokens"])
    L = F * T - PARTIAL
    tokens = full[:, :L].clone()
    rec = {"test.text": text.to(torch.int32), "test.video_tokens": tokens.to(torch.int32)}
    with torch.no_grad():
        _, amax = run_forward(model, text, tokens, rec, kw.get("enc_reversible", False),
                              kw.get("dec_reversible", False))
        fwd_diff = check_against_forward(model, text, full, rec, name)
        gen_res = {}
        dec_in = rec.pop("_dec_in")
        if store_dec_in:
            rec["test.dec_in"] = dec_in
        for case in gens:
            r = run_generate_safe(model, text[list(case[5])], case, F, T, V)
            K = case[0]
            rec[f"test.gen{K}.u"] = r["u"]
            rec[f"test.gen{K}.tokens"] = r["tokens"]
            rec[f"test.gen{K}.margin"] = r["margin"]
            if store_video:
                rec[f"test.gen{K}.video"] = r["video"]
            gen_res[K] = r

    extra_kv = {
        "general.name": f"libnuwa test fixture nuwa_{name}",
        "test.seed": seed,
        "test.input_seed": seed + 100,
        "test.config": json.dumps(json_config(cfg), sort_keys=True),
        "test.torch_version": torch.__version__,
        "test.nuwa_pytorch_version": nuwa_ref.versions()["nuwa_pytorch"],
        "test.batch": batch,
        "test.video_len": L,
        "test.layer_convention": "text_layer/dec_layer: non-reversible (B,n,d) residual stream after the layer; "
                                 "reversible (B,n,2d) = cat(x1,x2) after the layer's last ReversibleBlock",
    }
    for case in gens:
        K, _, cs, temp, thres, rows, _ = case
        r = gen_res[K]
        extra_kv.update({
            f"test.gen{K}.cond_scale": (cs, convert.GGUFValueType.FLOAT32),
            f"test.gen{K}.temperature": (temp, convert.GGUFValueType.FLOAT32),
            f"test.gen{K}.filter_thres": (thres, convert.GGUFValueType.FLOAT64),
            f"test.gen{K}.top_k": r["k"],
            f"test.gen{K}.num_frames": r["num_frames"],
            f"test.gen{K}.text_row": (list(rows), convert.GGUFValueType.UINT32),
            f"test.gen{K}.u_seed": r["seed"],
        })
    path = os.path.join(out_dir, f"nuwa_{name}.gguf")
    sd = model.state_dict()
    ncfg, report = convert.write_nuwa_gguf(path, json_config(cfg), sd, dtype="f32",
                                           extra_tensors={k: v.numpy() for k, v in rec.items()},
                                           extra_kv=extra_kv)
    stats = dict(max_logit=float(rec["test.logits"].abs().max()),
                 max_logit_uncond=float(rec["test.logits_uncond"].abs().max()),
                 max_text=float(rec["test.text_embeds"].abs().max()),
                 min_amax_text=amax["text"], min_amax_dec=amax["dec"], fwd_diff=fwd_diff,
                 aliases=report["aliases_dropped"], masks=report["masks_dropped"], tensors=report["tensors"])
    gstats = {}
    for K, r in gen_res.items():
        rel = r["margin"] / r["top1"].abs().clamp(min=1e-30)
        gstats[K] = dict(steps=r["steps"], batch=r["batch"], seed=r["seed"], tries=r["tries"], min_margin=float(r["margin"].min()),
                         min_rel_margin=float(rel.min()), ties=int((r["margin"] < TIE_REL * r["top1"].abs()).sum()),
                         distinct=int(torch.unique(r["tokens"]).numel()), k=r["k"],
                         max_video=float(r["video"].abs().max()))
    return dict(name=name, seed=seed, cfg=cfg, batch=batch, path=path, model=model, rec=rec, ncfg=ncfg,
                stats=stats, gstats=gstats, F=F, T=T, L=L)


def check_fixture(res):
    """Read the fixture back: weights bitwise equal to the state dict (aliases included), test tensors
    exact, metadata as documented."""
    import gguf
    r = gguf.GGUFReader(res["path"])
    by_name = {t.name: t for t in r.tensors}
    sd = res["model"].state_dict()
    exp = convert.nuwa_expected_shapes(res["ncfg"])
    for k, shape in exp.items():
        t = by_name[k]
        assert t.tensor_type == gguf.GGMLQuantizationType.F32, k
        assert tuple(int(v) for v in reversed(t.shape.tolist())) == tuple(shape), (k, t.shape, shape)
        assert np.array_equal(np.asarray(t.data).reshape(shape), sd[k].numpy()), k
    for k, v in sd.items():
        if k.startswith("vae.") or k in exp:
            continue
        c = convert._canonical_nuwa_name(k)
        if c is not None and c in exp:
            assert np.array_equal(sd[c].numpy(), v.numpy()), k
        else:
            assert k.endswith(".mask"), f"state-dict entry {k} neither stored nor an alias/mask"
    for k, v in res["rec"].items():
        t = by_name[k]
        want = gguf.GGMLQuantizationType.I32 if v.dtype in (torch.int32, torch.int64) else gguf.GGMLQuantizationType.F32
        assert t.tensor_type == want, (k, t.tensor_type)
        assert tuple(int(s) for s in reversed(t.shape.tolist())) == tuple(v.shape), k
        assert np.array_equal(np.asarray(t.data).reshape(v.shape), v.numpy()), k
    kv = {f.name: f for f in r.fields.values()}
    c = res["ncfg"]
    assert kv["nuwa.sparse_3dna_kernel_size"].contents() == c["sparse_3dna_kernel_size"]
    assert kv["nuwa.sparse_3dna_dilation"].contents() == c["sparse_3dna_dilation"]
    assert kv["nuwa.sparse_3dna_kernel_size"].types == [gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.UINT32]
    assert kv["nuwa.dec_reversible"].types == [gguf.GGUFValueType.BOOL]
    assert kv["nuwa.vae.codebook_size"].contents() == 40


def converter_round_trip(res):
    """Save the fixture model's full state dict as .pt, convert with the CLI, compare; plus error paths."""
    sd = res["model"].state_dict()
    fixture = convert.read_gguf_tensors(res["path"])
    weights = {k: v for k, v in fixture.items() if not k.startswith("test.")}
    with tempfile.TemporaryDirectory() as td:
        cfg_path = os.path.join(td, "cfg.json")
        with open(cfg_path, "w") as f:
            json.dump(json_config(res["cfg"]), f)
        pt = os.path.join(td, "nuwa.pt")
        torch.save(sd, pt)
        out = os.path.join(td, "nuwa.gguf")
        cmd = [sys.executable, os.path.join(HERE, "convert.py"), pt, "-o", out, "--config", cfg_path]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit(f"convert.py failed:\n{p.stdout}{p.stderr}")
        got = convert.read_gguf_tensors(out)
        assert set(got) == set(weights), set(got) ^ set(weights)
        for k, ref in weights.items():
            assert np.array_equal(got[k], ref), k
        # VQGAN-only mode on the same checkpoint and config
        out_v = os.path.join(td, "vae.gguf")
        p = subprocess.run(cmd[:3] + ["-o", out_v, "--config", cfg_path, "--vae-only"], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        got_v = convert.read_gguf_tensors(out_v)
        assert set(got_v) == {k for k in weights if k.startswith("vae.")}, set(got_v)
        # error paths name the key
        errs = {}
        for what, mod in (("depth", {"dec_depth": res["ncfg"]["dec_depth"] + 1}),
                          ("heads", {"dec_heads": 4, "dec_dim_head": 8}),
                          ("rev", {"dec_reversible": not res["ncfg"]["dec_reversible"]})):
            bad_cfg = dict(json_config(res["cfg"]), **mod)
            bp = os.path.join(td, f"bad_{what}.json")
            with open(bp, "w") as f:
                json.dump(bad_cfg, f)
            p = subprocess.run(cmd[:3] + ["-o", os.path.join(td, "bad.gguf"), "--config", bp],
                               capture_output=True, text=True)
            assert p.returncode == 1 and "video_transformer." in p.stderr, (what, p.stderr)
            errs[what] = p.stderr.strip().splitlines()[-1]
        # an alias that disagrees with its layers.* twin is rejected
        sd2 = dict(sd)
        alias = next(k for k in sd2 if ".net.blocks." in k and k.endswith("to_q.weight"))
        sd2[alias] = sd2[alias].clone() + 1
        torch.save(sd2, pt)
        p = subprocess.run(cmd, capture_output=True, text=True)
        assert p.returncode == 1 and "alias" in p.stderr, p.stderr
        errs["alias"] = p.stderr.strip().splitlines()[-1]
    return errs


def _dist(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "unknown"


def write_manifest(results, out_dir, store_video, store_dec_in):
    vers = nuwa_ref.versions()
    total = sum(os.path.getsize(r["path"]) for r in results)
    L = []
    a = L.append
    a("# NUWA transformer golden fixtures")
    a("")
    a("Generated by `tools/make_nuwa_fixtures.py` (do not edit by hand). Reproduce from the repository root:")
    a("")
    a("```sh")
    a("sh tools/setup_env.sh && tools/.venv/bin/python tools/make_nuwa_fixtures.py")
    a("```")
    a("")
    a("## Environment")
    a("")
    a(f"- Python {vers['python']}, torch `{vers['torch']}` (Debian `python3-torch` 1.13.1, CPU), numpy {np.__version__}")
    a(f"- nuwa-pytorch {vers['nuwa_pytorch']}, vector-quantize-pytorch {vers['vector_quantize_pytorch']}, "
      f"einops {vers['einops']}, unfoldNd {vers['unfoldNd']}, gguf {_dist('gguf')}")
    a(f"- stubbed by `tools/nuwa_ref.py` (not installed): {', '.join(vers['stubbed']) or 'none'} (import-time only)")
    a("- CPU, `torch.set_num_threads(1)`, `torch.use_deterministic_algorithms(True)`, `model.eval()`, `torch.no_grad()`")
    a("- **B1 patch applied** (`nuwa_ref.apply_b1_patch()`): the non-reversible `Transformer.forward` accepts "
      "`rotary_pos_emb` and passes it to the self-attention (docs/MODEL.md 7.2 step 2). Without it every config with a "
      "non-reversible text encoder raises TypeError in the reference.")
    a("")
    a("## Procedure")
    a("")
    a(f"Per config: `torch.manual_seed(seed)`; `VQGanVAE(**{json.dumps(VAE, sort_keys=True)}, use_vgg_and_gan=False, "
      "vq_kmeans_init=False)`; `NUWA(vae=vae, **kwargs)` (stores `vae.copy_for_eval()`); every NUWA parameter "
      f"(VAE included) `+= {PERTURB}*N(0,1)` in `named_parameters()` order; the VQ codebook (a buffer: unit-norm "
      "uniform init) is left as is, `initted = True`. The VAE has `codebook_dim = dim*layer_mults[-1] = 16`, so "
      "`generate()` can decode its frames (B3 does not trigger). fmap = 16 // 2**2 = 4, T = 16 tokens per frame, "
      "V = 40.")
    a("")
    a(f"Inputs (`torch.Generator().manual_seed(seed+100)`): `test.text` (B, {TEXT_LEN}) with row b holding "
      f"{'/'.join(map(str, TEXT_LENGTHS))} ids drawn from 1..49 followed by zeros (padding; no 0 inside); "
      f"`full` = F*T-1 random video tokens in [0,40); `test.video_tokens = full[:, :F*T-{PARTIAL}]` "
      f"(L = F*T-{PARTIAL}: the last frame is partial, 13 of 16 tokens).")
    a("")
    a("**Decoder forward (B7).** `NUWA.forward(return_loss=False)` adds `video_pos_emb()[:-1]` (F*T-1 rows), so it "
      "only accepts exactly F*T-1 tokens. The fixture computes the forward the way `generate()` does: "
      "`x = cat(video_bos, video_pos_emb()[:L] + image_embedding(tokens))`, `video_transformer(x, context=text_embeds, "
      "context_mask=text!=0)`, `to_logits`. As a check the script also runs the real `NUWA.forward` on `full` "
      "(F*T-1 tokens) and asserts that its first 1+L logit rows equal `test.logits` (max diff per file below; the "
      "decoder is causal).")
    a("")
    a("**generate().** `NUWA.generate(text=test.text, filter_thres, temperature, cond_scale, num_frames=2*F)` unchanged "
      "(reference sliding window B5, uncond pass fed the cond output B2), except that the module-level "
      "`nuwa_pytorch.nuwa_pytorch.gumbel_noise` is replaced by a function returning, at step i, "
      "`-log(-log(u[i]))` with the module's own `log(t) = torch.log(t.clamp(min=1e-20))`, i.e. "
      "`g = -ln(max(-ln(max(u,1e-20)),1e-20))` in fp32, where `u = torch.rand((steps,B,V), "
      "generator=Generator().manual_seed(u_seed))` is stored. The replacement also records the scores "
      "`filtered/temperature + g` that `gumbel_sample` then argmaxes (same fp32 ops), their top1-top2 margin and "
      "argmax; the script checks that these argmaxes are the indices `generate()` decodes (codes passed to "
      "`vae.decode` mapped back to codebook rows).")
    a("")
    a("## Tensors (PyTorch shapes; GGUF ne[] reversed)")
    a("")
    a("Weights: `vae.*` (the VQGAN, docs/FORMAT.md) and the transformer tensors under their `NUWA.state_dict()` names "
      "(reversible `net.blocks.*` aliases and `….mask` buffers dropped), all F32, metadata `nuwa.*` and `nuwa.vae.*`.")
    a("")
    a("| tensor | type | meaning |")
    a("|---|---|---|")
    a("| `test.text` | I32 (B,7) | text ids, 0 = padding (`mask = text != 0`) |")
    a("| `test.text_layer.{i}` | F32 | text encoder residual stream after layer i (see conventions) |")
    a("| `test.text_embeds` | F32 (B,7,d) | text encoder output (after the final StableLayerNorm; all rows, padding included) |")
    a(f"| `test.video_tokens` | I32 (B,L) | video tokens, L = F*T-{PARTIAL} |")
    if store_dec_in:
        a("| `test.dec_in` | F32 (B,1+L,d) | decoder input rows: `video_bos`, then `pos[t] + image_embedding[tok_t]` |")
    a("| `test.dec_layer.{i}` | F32 | decoder residual stream after layer i, bos row included (see conventions) |")
    a("| `test.dec_out` | F32 (B,1+L,d) | decoder output after the final StableLayerNorm |")
    a("| `test.logits` | F32 (B,1+L,V) | `to_logits(dec_out)`; row p predicts token p |")
    a("| `test.logits_uncond` | F32 (B,1+L,V) | same input rows, `context_mask` all False (the correct uncond pass) |")
    a("| `test.logits_uncond_b2` | F32 (B,1+L,V) | what `generate()` uses (B2): the decoder re-run on `test.dec_out` "
      "(not `dec_in`) with `context_mask` all False |")
    a("| `test.gen{K}.u` | F32 (steps,B,V) | the uniforms of step i (steps = num_frames*T); C computes "
      "`g = -logf(fmaxf(-logf(fmaxf(u,1e-20f)),1e-20f))` |")
    a("| `test.gen{K}.tokens` | I32 (B,steps) | the sampled video tokens |")
    a("| `test.gen{K}.margin` | F32 (steps,B) | top1 - top2 of the final scores `filtered/temperature + g` at each step; "
      f"`margin < {TIE_REL}*|top1|` = tie (treat a mismatch there as acceptable, then the rest of that row diverges) |")
    if store_video:
        a("| `test.gen{K}.video` | F32 (B,num_frames,3,16,16) | the video `generate()` returns "
          "(`vae.decode(codebook[idx])`, unclamped) |")
    a("")
    a("Metadata: `test.seed` (u32, model), `test.input_seed` (u32), `test.config` (JSON: the converter's --config "
      "object), `test.torch_version`, `test.nuwa_pytorch_version`, `test.batch`, `test.video_len` (L), "
      "`test.layer_convention` (string). Per generate case K: `test.gen{K}.cond_scale` (f32), "
      "`test.gen{K}.temperature` (f32: torch divides the fp32 logits by `float32(temperature)`, verified bitwise, so "
      "use the stored f32 value), `test.gen{K}.filter_thres` (**f64**: the reference computes "
      "`k = max(int((1 - thres)*V), 1)` in double; with f32 0.9 that would give 4 instead of 3), `test.gen{K}.top_k` "
      "(u32, that k), `test.gen{K}.num_frames` (u32, = 2*F), `test.gen{K}.text_row` (u32[B]: rows of `test.text` used, "
      "in batch order), `test.gen{K}.u_seed` (u32).")
    a("")
    a("## Conventions for layer outputs")
    a("")
    a("- Non-reversible encoder/decoder: `test.*_layer.{i}` (B,n,d) is the residual stream `x` after the whole layer i "
      "(text: after `x += SN_attn(x); x += SN_ff(x)`; decoder: after `x += SN_3DNA(x); x += SN_cross(x); "
      "x += SN_ff(x)`), before the final StableLayerNorm.")
    a("- Reversible (ReversibleSequence): `test.*_layer.{i}` (B,n,**2d**) is `cat([x1, x2], -1)` (x1 = features "
      "[0,d), x2 = [d,2d)) as output by the last ReversibleBlock of layer i; the sequence starts from "
      "`x1 = x2 = input`. Text encoder: one block per layer, `x1 += attn(x2); x2 += ff(x1)`. Decoder: two blocks per "
      "layer (2i: `x1 += 3DNA_i(x2); x2 += FF_i(x1)`, 2i+1: `x1 += cross_i(x2); x2 += FF'_i(x1)`); the stored tensor "
      "is the state after block 2i+1. The final StableLayerNorm is applied to `x1 + x2`.")
    a("- Decoder rows include the bos row (row 0).")
    a("")
    a("## Generate cases")
    a("")
    a("| K | file | cond_scale | temperature | filter_thres | top_k | num_frames | text rows | steps | u_seed | "
      "distinct tokens | min margin | min margin/|top1| | ties | max abs video |")
    a("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for case in GEN_CASES:
        K, cname, cs, temp, thres, rows, _ = case
        r = next(x for x in results if x["name"] == cname)
        g = r["gstats"][K]
        a(f"| {K} | `nuwa_{cname}.gguf` | {cs:g} | {temp:g} | {thres:g} | {g['k']} | {2 * r['F']} | "
          f"{','.join(map(str, rows))} | {g['steps']} | {g['seed']} | {g['distinct']} | {g['min_margin']:.3e} | "
          f"{g['min_rel_margin']:.3e} | {g['ties']} | {g['max_video']:.4g} |")
    a("")
    a(f"u_seed: the first of `base + 1000*j` (base 3001/3002/3003) whose run has no step with margin < {SAFE_REL:g}*|top1| "
      "(so the cases contain no near-ties at all); the decoded video is checked in the script but not stored (size "
      "budget; `--video` stores it as `test.gen{K}.video` F32 (B,num_frames,3,16,16)).")
    a("")
    a("The sliding window makes every frame beyond F start from the reference window (B5), and cond_scale != 1 "
      "uses the B2 uncond pass, so these are the reference's (bug-compatible) tokens.")
    a("")
    a("## Configs")
    a("")
    a(f"Common: `{json.dumps(COMMON, sort_keys=True)}`; VAE as above; texts of length 7.")
    a("")
    a("| file | seed | B | F | L | bytes | kwargs | notes |")
    a("|---|---|---|---|---|---|---|---|")
    for r, c in zip(results, CONFIGS):
        kw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in c[2].items()}
        a(f"| `{os.path.basename(r['path'])}` | {r['seed']} | {r['batch']} | {r['F']} | {r['L']} | "
          f"{os.path.getsize(r['path'])} | `{json.dumps(kw, sort_keys=True)}` | {c[4]} |")
    a("")
    a(f"Total: {total} bytes.")
    a("")
    a("## Statistics")
    a("")
    a("| file | max abs logit | max abs uncond logit | max abs text_embeds | min amax before text StableLN | "
      "min amax before dec StableLN | NUWA.forward vs fixture | tensors stored | aliases dropped | masks dropped | sha256 |")
    a("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        s = r["stats"]
        a(f"| `{os.path.basename(r['path'])}` | {s['max_logit']:.4g} | {s['max_logit_uncond']:.4g} | {s['max_text']:.4g} | "
          f"{s['min_amax_text']:.4g} | {s['min_amax_dec']:.4g} | {s['fwd_diff']:.2e} | {s['tensors']} | {s['aliases']} | "
          f"{s['masks']} | `{sha256(r['path'])[:16]}` |")
    a("")
    low = [os.path.basename(r["path"]) for r in results
           if min(r["stats"]["min_amax_text"], r["stats"]["min_amax_dec"]) < 1e-3]
    a("'min amax' is the smallest row max (signed, over features) entering a StableLayerNorm (B14; docs/MODEL.md 7.4 "
      "flags rows with |amax| < 1e-3): " + (f"flagged in {', '.join(low)}." if low else "none is below 1e-3, nothing "
      "to flag.") + " 'NUWA.forward vs fixture' is the max |difference| between the first 1+L rows of the real "
      "`NUWA.forward` logits (F*T-1 tokens) and `test.logits`. The sha256 prefixes identify this generation; "
      "another torch build or BLAS may change the last bits.")
    a("")
    with open(os.path.join(out_dir, "MANIFEST_NUWA.md"), "w") as f:
        f.write("\n".join(L))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "tests", "fixtures"))
    ap.add_argument("--skip-convert-check", action="store_true")
    ap.add_argument("--video", action="store_true", help="also store the decoded generate() videos (over budget)")
    ap.add_argument("--dec-in", action="store_true", help="also store the decoder input rows test.dec_in")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    nuwa_ref.apply_b1_patch()
    os.makedirs(args.out_dir, exist_ok=True)
    store_video = args.video

    results = []
    for name, seed, cfg, batch, _ in CONFIGS:
        gens = [c for c in GEN_CASES if c[1] == name]
        res = run_config(name, seed, cfg, batch, args.out_dir, gens, store_video, args.dec_in)
        check_fixture(res)
        results.append(res)
        s = res["stats"]
        print(f"{os.path.basename(res['path'])}: {os.path.getsize(res['path'])} bytes, max|logit| {s['max_logit']:.4g}, "
              f"min amax text {s['min_amax_text']:.3g} dec {s['min_amax_dec']:.3g}, forward check {s['fwd_diff']:.2e}")
        for K, g in res["gstats"].items():
            print(f"  gen{K}: {g['steps']} steps x B {g['batch']}, u_seed {g['seed']}, {g['distinct']} distinct tokens, "
                  f"min margin {g['min_margin']:.3e} (rel {g['min_rel_margin']:.3e}), ties {g['ties']}")
    total = sum(os.path.getsize(r["path"]) for r in results)
    print(f"total {total} bytes")
    if total > SIZE_LIMIT:
        raise SystemExit(f"make_nuwa_fixtures: total {total} bytes > {SIZE_LIMIT}")
    if not args.skip_convert_check:
        for r in results:
            if r["name"] in ("n2", "n4"):
                errs = converter_round_trip(r)
                print(f"convert.py round trip OK on {r['name']}; errors: {errs}")
    write_manifest(results, args.out_dir, store_video, args.dec_in)
    print(f"wrote {os.path.relpath(os.path.join(args.out_dir, 'MANIFEST_NUWA.md'), ROOT)}")


if __name__ == "__main__":
    main()
