#!/usr/bin/env python3
"""Generate the VQGanVAE golden fixtures tests/fixtures/vae_v{1..4}.gguf (docs/MODEL.md section 7).

    sh tools/setup_env.sh && tools/.venv/bin/python tools/make_fixtures.py

Each fixture is one libnuwa GGUF file (docs/FORMAT.md): the F32 weights of a randomly initialised and
perturbed nuwa-pytorch 0.7.8 VQGanVAE, plus the reference's outputs on a batch of B=2 images as
extra tensors named test.* (PyTorch shapes; GGUF ne[] = shape reversed):

    test.input (B,C,S,S)  test.enc.{i}  test.pre_vq (B,C_z,h,w)  test.indices I32 (B,h,w)
    test.margin (B,h,w)   test.quantized (B,C_z,h,w)  test.dec.{i}  test.decoded (B,C,S,S)

test.margin is top-1 minus top-2 of the reference's distance row (indices whose margin is below
1e-5*|top1| are ties).  Also writes tests/fixtures/MANIFEST.md and checks convert.py round trips.
"""

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import nuwa_ref  # noqa: E402  (stubs torchvision/einx if missing; exposes VQGanVAE)
import convert  # noqa: E402

B = 2
PERTURB = 0.3
ATTN_SCALE = math.log(4.0)
SIZE_LIMIT = 5 * 1024 * 1024

V1 = dict(dim=16, image_size=32, num_layers=2, num_resnet_blocks=2, use_attn=True,
          vq_use_cosine_sim=True, vq_codebook_dim=8, vq_codebook_size=64,
          attn_heads=2, attn_dim_head=8, resnet_groups=8)
V2 = dict(dim=16, image_size=16, num_layers=2, num_resnet_blocks=1, use_attn=True,
          vq_use_cosine_sim=False, vq_codebook_dim=32, resnet_groups=4, first_conv_kernel_size=3)
V3 = dict(dim=8, channels=1, image_size=24, num_layers=3, layer_mults=[1, 2, 2],
          num_resnet_blocks=[1, 0, 1], use_attn=[True, False, False],
          vq_use_cosine_sim=True, vq_codebook_dim=4, vq_codebook_size=16,
          attn_heads=4, attn_dim_head=8, resnet_groups=4)
V4 = dict(V1, use_attn=False, num_resnet_blocks=0)

# name, seed, constructor args, one-line description
CONFIGS = [
    ("v1", 1001, V1, "cosine, projections 32<->8, K 64, res 2 + attention (h 2, dh 8) at the last layer"),
    ("v2", 1002, V2, "Euclidean, no projection (C_z = cd = 32), K 512, groups 4, first conv 3, "
                     "attention with default h 8, dh 64"),
    ("v3", 1003, V3, "gray (C 1), S 24, 3 layers, layer_mults (1,2,2), res (1,0,1), attention (h 4, dh 8) "
                     "at layer 0 only, cosine, projections 16<->4, K 16, fmap 3 (vae.fmap_size says 2: B4)"),
    ("v4", 1004, V4, "V1 with use_attn=False, num_resnet_blocks=0"),
]

FIXED = dict(use_vgg_and_gan=False, vq_kmeans_init=False)


def model_kwargs(cfg):
    """Reference constructor kwargs: per-layer lists must be tuples for VQGanVAE."""
    kw = dict(cfg)
    for k in ("num_resnet_blocks", "use_attn"):
        if isinstance(kw.get(k), list):
            kw[k] = tuple(kw[k])
    kw.update(FIXED)
    return kw


def smooth_image(c, s, g):
    """A gradient + a disc + a bar, quantised to k/255 (uint8-representable)."""
    yy, xx = torch.meshgrid(torch.arange(s, dtype=torch.float64), torch.arange(s, dtype=torch.float64),
                            indexing="ij")
    u, v = xx / (s - 1), yy / (s - 1)
    cx, cy, r = s * (0.35 + 0.3 * torch.rand(1, generator=g).item()), s * 0.4, s * 0.22
    disc = (((xx - cx) ** 2 + (yy - cy) ** 2) <= r * r).double()
    bar = ((yy >= 0.7 * s) & (yy < 0.85 * s) & (xx >= 0.15 * s) & (xx < 0.8 * s)).double()
    base = [u, v, 0.5 * (u + 1 - v), u * v]
    chans = []
    for ch in range(c):
        val = 0.15 + 0.6 * base[ch % len(base)] + 0.35 * disc * (1 if ch % 2 == 0 else -1) + 0.2 * bar
        chans.append(val.clamp(0, 1))
    img = torch.stack(chans)
    return (torch.round(img * 255) / 255).float()


def make_inputs(c, s):
    noise = torch.randint(0, 256, (1, c, s, s)).float() / 255.0
    g = torch.Generator().manual_seed(12345)
    smooth = smooth_image(c, s, g)[None]
    return torch.cat([noise, smooth], 0)


def perturb(vae):
    """+0.3*N(0,1) on every parameter, attention scale = ln 4, codebook handled separately."""
    from nuwa_pytorch.vqgan_vae import VQGanAttention
    with torch.no_grad():
        for _, p in vae.named_parameters():
            p.add_(PERTURB * torch.randn_like(p))
        for m in vae.modules():
            if isinstance(m, VQGanAttention):
                m.scale.fill_(ATTN_SCALE)
        cb = vae.vq._codebook
        cb.initted.fill_(True)


def vq_tokens(vae, fmap):
    """Tokens as VQ 1.27.21 forms them before the distance: (1, B*h*w, cd)."""
    vq = vae.vq
    x = fmap.permute(0, 2, 3, 1).reshape(fmap.shape[0], -1, fmap.shape[1])  # 'b c h w -> b (h w) c'
    x = vq.project_in(x)
    if vq.use_cosine_sim:
        x = F.normalize(x, p=2, dim=-1, eps=1e-6)
    return x.reshape(1, -1, x.shape[-1])


def reference_dist(vae, fmap):
    """Recompute VQ 1.27.21's distance matrix (1, B*h*w, K) the way Codebook.forward does."""
    t = vq_tokens(vae, fmap)
    embed = vae.vq._codebook.embed.detach().float()
    if vae.vq.use_cosine_sim:
        return torch.einsum("h n d, h c d -> h n c", t, embed)
    x2 = (t ** 2).sum(-1)
    y2 = (embed ** 2).sum(-1)
    xy = torch.einsum("b i d, b j d -> b i j", t, embed) * -2
    return -((x2[:, :, None] + y2[:, None, :] + xy).clamp(min=1e-8).sqrt())


def set_codebook(vae, fmap):
    """Codebook matched to the batch's tokens so the assignment is spread over many codes.

    The perturbed encoders put all tokens in a narrow cone (mean cosine to the mean direction
    ~0.9), so random unit rows would leave most codes unused (12 of 64 in V1).  Instead, with t the
    tokens exactly as VQ sees them (project_in, then l2-normalised for cosine):
    cosine: E = normalize(mean(t) + std(t) * N(0,1)) (unit rows);
    Euclidean: E = mean(t) + std(t) * N(0,1) (per feature).
    """
    cb = vae.vq._codebook
    with torch.no_grad():
        t = vq_tokens(vae, fmap)[0]
        mu, sd = t.mean(0), t.std(0)
        e = mu + sd * torch.randn(cb.embed.shape[1:], dtype=torch.float32)
        if vae.vq.use_cosine_sim:
            e = F.normalize(e, p=2, dim=-1)
        cb.embed.copy_(e[None])
        cb.embed_avg.copy_(cb.embed)


def run_config(name, seed, cfg, out_dir, batch):
    torch.manual_seed(seed)
    vae = nuwa_ref.VQGanVAE(**model_kwargs(cfg))
    perturb(vae)
    vae.eval()
    ncfg = convert.normalize_config(cfg)
    C, S = ncfg["channels"], ncfg["image_size"]
    x = make_inputs(C, S)[:batch]
    rec = {"test.input": x.clone()}

    with torch.no_grad():
        # pre-VQ features (codebook not involved yet)
        h = x
        for enc in vae.encoders:
            h = enc(h)
        set_codebook(vae, h)

        h = x
        for i, enc in enumerate(vae.encoders):
            h = enc(h)
            rec[f"test.enc.{i}"] = h.clone()
        pre_vq = h
        rec["test.pre_vq"] = pre_vq.clone()

        captured = {}
        hook = vae.vq._codebook.register_forward_hook(lambda m, i, o: captured.__setitem__("dist", o[2]))
        quantized, indices, loss = vae.vq(pre_vq)
        hook.remove()
        assert float(loss) == 0.0
        rec["test.quantized"] = quantized.clone()

        dist = reference_dist(vae, pre_vq)
        ref_dist = captured["dist"].reshape(dist.shape)
        assert torch.equal(dist, ref_dist), f"{name}: recomputed distances differ from VQ's " \
            f"(max |diff| {float((dist - ref_dist).abs().max()):.3g})"
        idx_flat = indices.reshape(-1)
        assert torch.equal(dist[0].argmax(-1), idx_flat), f"{name}: argmax of the distance != VQ indices"
        top2 = dist[0].topk(2, dim=-1).values
        margin = (top2[:, 0] - top2[:, 1]).reshape(indices.shape)
        top1 = top2[:, 0].reshape(indices.shape)

        # quantized = project_out(E[idx])
        e_idx = vae.vq._codebook.embed[0][idx_flat]
        q2 = vae.vq.project_out(e_idx).reshape(quantized.shape[0], quantized.shape[2], quantized.shape[3], -1)
        assert torch.equal(q2.permute(0, 3, 1, 2), quantized), f"{name}: quantize != project_out(E[idx])"

        d = quantized
        for i, dec in enumerate(vae.decoders):
            d = dec(d)
            rec[f"test.dec.{i}"] = d.clone()
        rec["test.decoded"] = d.clone()
        assert torch.equal(vae.decode(quantized), d)
        q3, i3, _ = vae.encode(x)
        assert torch.equal(q3, quantized) and torch.equal(i3, indices)
        assert torch.equal(vae(x), d)

    rec["test.indices"] = indices.to(torch.int32)
    rec["test.margin"] = margin.clone()

    K = ncfg["vq_codebook_size"]
    n_tok = indices.numel()
    distinct = int(torch.unique(indices).numel())
    ties = int((margin < 1e-5 * top1.abs()).sum())
    stats = dict(distinct=distinct, tokens=n_tok, K=K, min_margin=float(margin.min()), ties=ties,
                 max_abs_decoded=float(d.abs().max()), max_abs_pre_vq=float(pre_vq.abs().max()))
    if distinct < 0.4 * min(K, n_tok):
        raise SystemExit(f"make_fixtures: {name}: only {distinct} distinct indices of {n_tok} tokens (K {K}): "
                         "assignments too degenerate")

    torch_version = torch.__version__
    vers = nuwa_ref.versions()
    json_cfg = json.dumps(dict(cfg, **FIXED), sort_keys=True)
    extra_kv = {
        "general.name": f"libnuwa test fixture vae_{name}",
        "test.seed": seed,
        "test.config": json_cfg,
        "test.torch_version": torch_version,
        "test.nuwa_pytorch_version": vers["nuwa_pytorch"],
        "test.vq_version": vers["vector_quantize_pytorch"],
        "test.batch": int(x.shape[0]),
    }
    path = os.path.join(out_dir, f"vae_{name}.gguf")
    sd = vae.state_dict()
    convert.write_vae_gguf(path, cfg, sd, dtype="f32",
                           extra_tensors={k: v.numpy() for k, v in rec.items()}, extra_kv=extra_kv)
    return dict(name=name, seed=seed, cfg=cfg, path=path, vae=vae, rec=rec, stats=stats,
                shapes={k: tuple(v.shape) for k, v in rec.items()}, batch=int(x.shape[0]))


def check_fixture(res):
    """Read the fixture back: weights and test tensors bit-exact, shapes reversed in GGUF."""
    import gguf
    r = gguf.GGUFReader(res["path"])
    by_name = {t.name: t for t in r.tensors}
    ncfg = convert.normalize_config(res["cfg"])
    sd = res["vae"].state_dict()
    for k, shape in convert.expected_shapes(ncfg).items():
        t = by_name["vae." + k]
        assert t.tensor_type == gguf.GGMLQuantizationType.F32, k
        assert tuple(int(v) for v in t.shape) == tuple(reversed(shape)), (k, t.shape, shape)
        ref = sd[k].reshape(shape).numpy()
        assert np.array_equal(np.asarray(t.data).reshape(shape), ref), k
    for k, v in res["rec"].items():
        t = by_name[k]
        want = gguf.GGMLQuantizationType.I32 if k == "test.indices" else gguf.GGMLQuantizationType.F32
        assert t.tensor_type == want, (k, t.tensor_type)
        assert tuple(int(s) for s in reversed(t.shape.tolist())) == tuple(v.shape), k
        assert np.array_equal(np.asarray(t.data).reshape(v.shape), v.numpy()), k
    kv = {f.name: f for f in r.fields.values()}
    assert kv["nuwa.vae.use_attn"].types == [gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.BOOL]
    assert kv["nuwa.vae.layer_mults"].types == [gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.UINT32]
    assert kv["test.seed"].types == [gguf.GGUFValueType.UINT32]
    assert int(kv["test.seed"].contents()) == res["seed"]
    assert kv["general.architecture"].contents() == "nuwa"
    assert kv["nuwa.vae.use_attn"].contents() == ncfg["use_attn"]
    assert kv["nuwa.vae.num_resnet_blocks"].contents() == ncfg["num_resnet_blocks"]


def converter_round_trip(res):
    """Save the fixture's state dict as .pt in several layouts, convert with the CLI, compare."""
    sd = res["vae"].state_dict()
    ncfg = convert.normalize_config(res["cfg"])
    fixture = convert.read_gguf_tensors(res["path"])
    weights = {k: v for k, v in fixture.items() if k.startswith("vae.")}
    with tempfile.TemporaryDirectory() as td:
        cfg_path = os.path.join(td, "cfg.json")
        with open(cfg_path, "w") as f:
            json.dump(dict(res["cfg"], **FIXED), f)
        sd_2d = dict(sd)
        sd_2d["vq._codebook.embed"] = sd["vq._codebook.embed"][0].clone()
        variants = {
            "embed_1Kcd": (sd, ["--config", cfg_path], "f32"),
            "embed_Kcd_wrapped_flags": ({"model": sd_2d}, flag_args(res["cfg"]), "f32"),
            "nuwa_prefixed": ({"state_dict": {**{"vae." + k: v for k, v in sd.items()},
                                              "text_embedding.weight": torch.zeros(3, 3)}},
                              ["--config", cfg_path], "f32"),
            "bf16": (sd, ["--config", cfg_path], "bf16"),
            "f16": (sd_2d, ["--config", cfg_path], "f16"),
        }
        for vname, (obj, args, dtype) in variants.items():
            pt = os.path.join(td, vname + ".pt")
            out = os.path.join(td, vname + ".gguf")
            torch.save(obj, pt)
            cmd = [sys.executable, os.path.join(HERE, "convert.py"), pt, "-o", out, "--dtype", dtype] + args
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                raise SystemExit(f"convert.py failed for {vname}:\n{p.stdout}{p.stderr}")
            got = convert.read_gguf_tensors(out)
            assert set(got) == set(weights), (vname, set(got) ^ set(weights))
            for k, ref in weights.items():
                g = got[k]
                assert g.shape == ref.shape, (vname, k, g.shape, ref.shape)
                if dtype == "f32":
                    assert np.array_equal(g, ref), (vname, k)
                else:  # narrowed weights: round-to-nearest error; biases/norms stay exact F32
                    tol = 2 ** -8 if dtype == "bf16" else 2 ** -11
                    assert np.all(np.abs(g - ref) <= tol * np.abs(ref) + 2 ** -24), (vname, k)
        # error path: wrong config must fail with a message naming the key
        bad = [sys.executable, os.path.join(HERE, "convert.py"), os.path.join(td, "embed_1Kcd.pt"),
               "-o", os.path.join(td, "bad.gguf"), "--config", cfg_path,
               "--vq-codebook-dim", str(ncfg["vq_codebook_dim"] + 1)]
        p = subprocess.run(bad, capture_output=True, text=True)
        assert p.returncode == 1 and "vq." in p.stderr, p.stderr
    return list(variants)


def flag_args(cfg):
    out = []
    for k, v in cfg.items():
        if isinstance(v, (list, tuple)):
            v = ",".join(str(x).lower() for x in v)
        elif isinstance(v, bool):
            v = str(v).lower()
        out += ["--" + k.replace("_", "-"), str(v)]
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def write_manifest(results, out_dir):
    vers = nuwa_ref.versions()
    total = sum(os.path.getsize(r["path"]) for r in results)
    L = []
    L.append("# VQGanVAE golden fixtures")
    L.append("")
    L.append("Generated by `tools/make_fixtures.py` (do not edit by hand). Reproduce from the repository root:")
    L.append("")
    L.append("```sh")
    L.append("sh tools/setup_env.sh && tools/.venv/bin/python tools/make_fixtures.py")
    L.append("```")
    L.append("")
    L.append("## Environment")
    L.append("")
    L.append(f"- Python {vers['python']}, torch `{vers['torch']}` (Debian `python3-torch` 1.13.1, CPU; it reports "
             "itself as 1.13.0a0), numpy " + np.__version__)
    L.append(f"- nuwa-pytorch {vers['nuwa_pytorch']}, vector-quantize-pytorch {vers['vector_quantize_pytorch']}, "
             f"einops {vers['einops']}, gguf " + _dist("gguf"))
    L.append(f"- stubbed by `tools/nuwa_ref.py` (not installed): {', '.join(vers['stubbed']) or 'none'} "
             "(import-time only; unused on the eval path)")
    L.append("- CPU, `torch.set_num_threads(1)`, `torch.use_deterministic_algorithms(True)`, `vae.eval()`, "
             "`torch.no_grad()`")
    L.append("")
    L.append("## Procedure (docs/MODEL.md section 7)")
    L.append("")
    L.append("Per config: `torch.manual_seed(seed)`; `VQGanVAE(**config, use_vgg_and_gan=False, vq_kmeans_init=False)`; "
             f"every parameter `+= {PERTURB}*N(0,1)` (GroupNorm/LayerNormChan affines included); every "
             "VQGanAttention `scale = ln 4`; `initted = True`. Inputs (B=2): image 0 = "
             "`torch.randint(0,256,(1,C,S,S))/255`, image 1 = a smooth gradient + disc + bar quantised to k/255. "
             "Codebook (drawn after the input), matched to the batch's tokens `t` as VQ sees them (after "
             "`project_in`, l2-normalised for cosine) so that many codes are used: cosine = "
             "`normalize(mean(t) + std(t)*N(0,1))` (unit rows; random unit rows used only 12 of 64 codes in V1 "
             "because the perturbed encoders put the tokens in a narrow cone), Euclidean = "
             "`mean(t) + std(t)*N(0,1)` per feature. The script "
             "recomputes VQ 1.27.21's distance matrix (cosine: `F.normalize(project_in(t), eps=1e-6) . E`; "
             "Euclidean: `-sqrt(clamp(|t|^2+|E|^2-2 t.E, 1e-8))`), asserts it is bit-identical to the "
             "`Codebook.forward` distances and that its argmax equals the returned indices, and checks "
             "`quantize == project_out(E[idx])`, `decode`, `encode` and `forward` against the recorded tensors.")
    L.append("")
    L.append("## Contents of each file")
    L.append("")
    L.append("Weights `vae.*` (F32, docs/FORMAT.md), metadata `nuwa.vae.*`, plus (PyTorch shapes; GGUF ne[] reversed):")
    L.append("")
    L.append("| tensor | type | meaning |")
    L.append("|---|---|---|")
    L.append("| `test.input` | F32 (B,C,S,S) | input images in [0,1] |")
    L.append("| `test.enc.{i}` | F32 | output of `vae.encoders[i]`, for every i |")
    L.append("| `test.pre_vq` | F32 (B,C_z,h,w) | = last `test.enc.{i}` |")
    L.append("| `test.indices` | I32 (B,h,w) | VQ indices |")
    L.append("| `test.margin` | F32 (B,h,w) | top-1 minus top-2 of the reference distance row; "
             "`margin < 1e-5*|top1|` = tie |")
    L.append("| `test.quantized` | F32 (B,C_z,h,w) | VQ output `project_out(E[idx])` |")
    L.append("| `test.dec.{i}` | F32 | output of `vae.decoders[i]`, applied in order from `test.quantized` |")
    L.append("| `test.decoded` | F32 (B,C,S,S) | = last `test.dec.{i}` |")
    L.append("")
    L.append("Metadata: `test.seed` (u32), `test.config` (JSON constructor args), `test.torch_version`, "
             "`test.nuwa_pytorch_version`, `test.vq_version`, `test.batch` (u32).")
    L.append("")
    L.append("## Configs")
    L.append("")
    L.append("| file | seed | B | bytes | config | notes |")
    L.append("|---|---|---|---|---|---|")
    for r, (_, _, _, desc) in zip(results, CONFIGS):
        L.append(f"| `{os.path.basename(r['path'])}` | {r['seed']} | {r['batch']} | {os.path.getsize(r['path'])} | "
                 f"`{json.dumps(r['cfg'], sort_keys=True)}` | {desc} |")
    L.append("")
    L.append(f"Total: {total} bytes.")
    L.append("")
    L.append("## Statistics")
    L.append("")
    L.append("| file | tokens | K | distinct indices | min margin | ties (margin < 1e-5*|top1|) | max |pre_vq| | max |decoded| | sha256 |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        s = r["stats"]
        L.append(f"| `{os.path.basename(r['path'])}` | {s['tokens']} | {s['K']} | {s['distinct']} | "
                 f"{s['min_margin']:.3e} | {s['ties']} | {s['max_abs_pre_vq']:.4g} | {s['max_abs_decoded']:.4g} | "
                 f"`{sha256(r['path'])[:16]}` |")
    L.append("")
    L.append("The sha256 prefixes identify this generation; another torch build or BLAS may change the last bits.")
    L.append("")
    with open(os.path.join(out_dir, "MANIFEST.md"), "w") as f:
        f.write("\n".join(L))


def _dist(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "tests", "fixtures"))
    ap.add_argument("--skip-convert-check", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out_dir, exist_ok=True)

    results = []
    for name, seed, cfg, _ in CONFIGS:
        res = run_config(name, seed, cfg, args.out_dir, B)
        check_fixture(res)
        results.append(res)
    total = sum(os.path.getsize(r["path"]) for r in results)
    if total > SIZE_LIMIT:
        big = max(results, key=lambda r: os.path.getsize(r["path"]))
        print(f"make_fixtures: total {total} bytes > {SIZE_LIMIT}: regenerating {big['name']} with B=1")
        i = results.index(big)
        name, seed, cfg, _ = CONFIGS[i]
        results[i] = run_config(name, seed, cfg, args.out_dir, 1)
        check_fixture(results[i])
        total = sum(os.path.getsize(r["path"]) for r in results)
        assert total <= SIZE_LIMIT, total

    for r in results:
        s = r["stats"]
        print(f"{os.path.basename(r['path'])}: {os.path.getsize(r['path'])} bytes, seed {r['seed']}, "
              f"{s['distinct']} distinct indices / {s['tokens']} tokens (K {s['K']}), "
              f"min margin {s['min_margin']:.3e}, ties {s['ties']}, "
              f"max|pre_vq| {s['max_abs_pre_vq']:.4g}, max|decoded| {s['max_abs_decoded']:.4g}")
    print(f"total {total} bytes")

    if not args.skip_convert_check:
        variants = converter_round_trip(results[0])
        print(f"convert.py round trip OK on {results[0]['name']}: {', '.join(variants)}")
    write_manifest(results, args.out_dir)
    print(f"wrote {os.path.relpath(os.path.join(args.out_dir, 'MANIFEST.md'), ROOT)}")


if __name__ == "__main__":
    main()
