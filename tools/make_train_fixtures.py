#!/usr/bin/env python3
"""Generate the NUWA training golden fixtures tests/fixtures/train_t{1..4}.gguf (docs/TRAINING.md).

    sh tools/setup_env.sh && tools/.venv/bin/python tools/make_train_fixtures.py

Each fixture is one libnuwa GGUF file (docs/FORMAT.md) holding a randomly initialised and perturbed
nuwa-pytorch 0.7.8 NUWA (tiny VQGAN under vae.*, the transformer under its state-dict names, F32; the
model-writing code is tools/make_nuwa_fixtures.py's / tools/convert.py's), one fixed batch, the
reference's training loss on it (`NUWA.forward(text, video=<token ids>, return_loss=True)`, training
mode, conditioning dropout off) and the gradient of every trainable transformer parameter as
`grad.<state-dict name>` (the parameter's own shape, F32).  Extras: t2 holds two 20-step AdamW runs
(A: no clipping, decay on all tensors; B: the reference
trainer's recipe, clip_grad_norm 0.5 and decay on tensors with ndim >= 2), t3 a run with conditioning dropout forced on batch
item 0.  tests/fixtures/MANIFEST_TRAIN.md (written by this script) lists every tensor, the seeds, and
per-tensor gradient magnitudes and the reference's own fp32 error (fp32 vs fp64 gradients).
"""

import argparse
import copy
import hashlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import nuwa_ref  # noqa: E402
import convert  # noqa: E402
import make_nuwa_fixtures as mnf  # noqa: E402  (VAE config, PERTURB, check_fixture, Capture-free helpers)

SIZE_LIMIT_EACH = 1_500_000
TEXT_LEN = 6
TEXT_NUM_TOKENS = 50

COMMON = dict(dim=32, text_num_tokens=TEXT_NUM_TOKENS, text_max_seq_len=8, text_enc_depth=2, text_enc_heads=2,
              text_enc_dim_head=16, dec_depth=2, dec_heads=2, dec_dim_head=16)

# name, seed, NUWA kwargs (besides COMMON), batch, text lengths per row, description
CONFIGS = [
    ("t1", 4001, dict(max_video_frames=2, enc_reversible=True, dec_reversible=True, shift_video_tokens=True,
                      sparse_3dna_kernel_size=3, sparse_3dna_dilation=1), 2, (6, 3),
     "reversible text encoder and decoder, rotary text positions, shift, k 3, dil 1, F 2"),
    ("t2", 4002, dict(max_video_frames=2, enc_reversible=False, dec_reversible=False, shift_video_tokens=True,
                      sparse_3dna_kernel_size=3, sparse_3dna_dilation=1, text_rotary_pos_emb=True), 2, (6, 3),
     "non-reversible, rotary text positions (B1 patch), shift, k 3, dil 1, F 2; + 20-step AdamW runs"),
    ("t3", 4003, dict(max_video_frames=3, enc_reversible=False, dec_reversible=False, shift_video_tokens=False,
                      sparse_3dna_kernel_size=3, sparse_3dna_dilation=(1, 2)), 2, (4, 6),
     "non-reversible, no token shift, k 3, dilation cycle (1,2), F 3; + forced conditioning dropout run"),
    ("t4", 4004, dict(max_video_frames=2, enc_reversible=False, dec_reversible=False, shift_video_tokens=True,
                      sparse_3dna_kernel_size=(3, 3, 3), sparse_3dna_dilation=1, sparse_3dna_rel_pos_bias=True,
                      text_rotary_pos_emb=False), 1, (5,),
     "non-reversible, 3DNA relative position bias (batch 1: B8), learned absolute text positions, shift, k 3, "
     "dil 1, F 2"),
]

TRAIN_CFG = "t2"            # the config that gets the 20-step AdamW runs
TRAIN_STEPS = 20
ADAMW = dict(lr=1e-3, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01)
CLIP = 0.5                  # max_norm of the second run (clip_grad_norm_ over all trainable params)
TRAIN_FINAL = ("video_bos", "to_logits.weight", "text_embedding.embed.weight")  # stored after 20 steps

DROP_CFG = "t3"             # the config that gets the forced conditioning-dropout run
DROP_MASK = (True, False)   # uncond_mask: True = item's condition dropped
DROP_PROB = 0.5             # any value > 0 enables the branch; prob_mask_like is replaced


def nuwa_kwargs(cfg):
    kw = dict(COMMON)
    kw.update(cfg)
    return kw


def json_config(cfg):
    kw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in nuwa_kwargs(cfg).items()}
    kw["vae"] = dict(mnf.VAE, **mnf.VAE_FIXED)
    return kw


def build_model(seed, cfg):
    """As make_nuwa_fixtures.build_model (same VAE, same perturbation) with this file's COMMON; training
    mode, VAE frozen (requires_grad False; it is never called: the batch is token ids)."""
    nw = nuwa_ref.nuwa_module()
    torch.manual_seed(seed)
    vae = nuwa_ref.VQGanVAE(**mnf.VAE, **mnf.VAE_FIXED)
    model = nw.NUWA(vae=vae, **nuwa_kwargs(cfg))
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(mnf.PERTURB * torch.randn_like(p))
        model.vae.vq._codebook.initted.fill_(True)
    for n, p in model.named_parameters():
        if n.startswith("vae."):
            p.requires_grad_(False)
    model.train()
    return model


def trainable(model):
    """(name, param) of the trainable transformer parameters in named_parameters() order (reversible
    aliases are deduplicated by named_parameters(); the first name is the layers.* one)."""
    return [(n, p) for n, p in model.named_parameters() if not n.startswith("vae.")]


def make_batch(g, batch, text_lengths, F, T, V):
    text = torch.zeros(batch, TEXT_LEN, dtype=torch.long)
    for b in range(batch):
        n = text_lengths[b % len(text_lengths)]
        text[b, :n] = torch.randint(1, TEXT_NUM_TOKENS, (n,), generator=g)
    video = torch.randint(0, V, (batch, F * T), generator=g)
    return text, video


class Softmax64:
    """The reference's attention softmaxes pass dtype=torch.float32 (a no-op on fp32 scores); for the
    float64 copy of the model that would mix dtypes, so while this is active a softmax of a float64 tensor
    ignores the dtype argument (stays float64)."""

    def __enter__(self):
        self.saved = torch.Tensor.softmax
        saved = self.saved

        def softmax(t, *a, dtype=None, **kw):
            if t.dtype == torch.float64:
                dtype = None
            return saved(t, *a, dtype=dtype, **kw) if dtype is not None else saved(t, *a, **kw)
        torch.Tensor.softmax = softmax
        return self

    def __exit__(self, *a):
        torch.Tensor.softmax = self.saved


def loss_and_grads(model, text, video, cond_dropout_prob=0.0):
    if next(model.parameters()).dtype == torch.float64:
        with Softmax64():
            return _loss_and_grads(model, text, video, cond_dropout_prob)
    return _loss_and_grads(model, text, video, cond_dropout_prob)


def _loss_and_grads(model, text, video, cond_dropout_prob=0.0):
    for _, p in trainable(model):
        p.grad = None
    loss = model(text=text, video=video, return_loss=True, cond_dropout_prob=cond_dropout_prob)
    loss.backward()
    grads = {n: (None if p.grad is None else p.grad.detach().clone()) for n, p in trainable(model)}
    return loss.detach().clone(), grads


class ForcedDrop:
    """Replace nuwa_pytorch.nuwa_pytorch.prob_mask_like (the only random draw of NUWA.forward) by a fixed
    pattern; records that it was called with shape (batch,)."""

    def __init__(self, mask):
        self.mask = torch.tensor(mask, dtype=torch.bool)
        self.calls = []

    def __enter__(self):
        nw = nuwa_ref.nuwa_module()
        self.saved = nw.prob_mask_like

        def prob_mask_like(shape, prob, device):
            self.calls.append((tuple(shape), prob))
            assert tuple(shape) == tuple(self.mask.shape), shape
            return self.mask.clone()
        nw.prob_mask_like = prob_mask_like
        return self

    def __exit__(self, *a):
        nuwa_ref.nuwa_module().prob_mask_like = self.saved


class Unrolled:
    """ReversibleSequence.forward computed with plain autograd (x1 += f(x2); x2 += g(x1); out = x1 + x2),
    to check that the reference's reversible backward gives the same gradients (docs/TRAINING.md)."""

    def __enter__(self):
        from nuwa_pytorch import reversible as rv
        self.rv = rv
        self.saved = rv.ReversibleSequence.forward

        def forward(seq, x, **kwargs):
            args = rv.route_args(seq.args_route, kwargs, len(seq.blocks))
            x1 = x2 = x
            for block, (f_args, g_args) in zip(seq.blocks, args):
                x1 = x1 + block.f.net(x2, **f_args)
                x2 = x2 + block.g.net(x1, **g_args)
            return torch.stack((x1, x2)).sum(dim=0)
        rv.ReversibleSequence.forward = forward
        return self

    def __exit__(self, *a):
        self.rv.ReversibleSequence.forward = self.saved


def manual_drop_loss(model, text, video, drop):
    """The dropout path written out (docs/TRAINING.md): text encoder with the full mask, decoder with the
    dropped items' context mask all False."""
    nw = nuwa_ref.nuwa_module()
    text_mask = text != 0
    emb = model.embed_text(text, mask=text_mask)
    ctx_mask = text_mask & ~torch.tensor(drop)[:, None]
    x = model.image_embedding(video[:, :-1])
    x = model.video_pos_emb()[:-1] + x
    x = torch.cat((nw.repeat(model.video_bos, "d -> b 1 d", b=text.shape[0]), x), dim=1)
    out = model.video_transformer(x, context=emb, context_mask=ctx_mask)
    logits = model.to_logits(out)
    return torch.nn.functional.cross_entropy(logits.transpose(1, 2), video)


def train_run(model0, batches, clip):
    """20 AdamW steps from model0's weights (a deep copy); returns losses, grad norms, final params.
    clip == 0: run A, one param group (decay on every tensor), no clipping.  clip > 0: run B, the reference
    NUWATrainer recipe: clip_grad_norm_(params, clip) and weight decay only on tensors with ndim >= 2."""
    model = copy.deepcopy(model0)
    model.train()
    params = [p for _, p in trainable(model)]
    if clip:
        # nuwa_pytorch.optimizer.get_optimizer (what NUWATrainer uses): decay only tensors with ndim >= 2
        opt = torch.optim.AdamW([{"params": [p for p in params if p.ndim >= 2]},
                                 {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}], **ADAMW)
    else:
        opt = torch.optim.AdamW(params, **ADAMW)
    losses, norms = [], []
    for text, video in batches:
        loss = model(text=text, video=video, return_loss=True, cond_dropout_prob=0.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, clip)))
        else:
            norms.append(float(torch.norm(torch.stack([torch.norm(p.grad.detach(), 2.0) for p in params]), 2.0)))
        opt.step()
        losses.append(float(loss))
    final = {n: p.detach().clone() for n, p in trainable(model) if n in TRAIN_FINAL}
    return torch.tensor(losses, dtype=torch.float32), torch.tensor(norms, dtype=torch.float32), final


def grad_table(grads, g64, extra=None):
    rows = []
    for n, g in grads.items():
        if g is None:
            rows.append((n, None, None, None, None))
            continue
        d = float((g.double() - g64[n]).abs().max())
        ex = None if extra is None else float((g - extra[n]).abs().max())
        rows.append((n, tuple(g.shape), float(g.abs().max()), d, ex))
    return rows


def run_config(name, seed, cfg, batch, text_lengths, desc, out_dir):
    t0 = time.time()
    model = build_model(seed, cfg)
    F = model.max_video_frames
    T = model.video_fmap_size ** 2
    V = model.to_logits.weight.shape[0]
    init_sd = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(seed + 100)
    text, video = make_batch(g, batch, text_lengths, F, T, V)
    rec = {"test.text": text.to(torch.int32), "test.video_tokens": video.to(torch.int32)}

    loss, grads = loss_and_grads(model, text, video)
    # determinism: the same call again gives bitwise the same loss and gradients
    loss_b, grads_b = loss_and_grads(model, text, video)
    assert torch.equal(loss, loss_b) and all(torch.equal(grads[k], grads_b[k]) for k in grads if grads[k] is not None)
    none = [n for n, gr in grads.items() if gr is None]
    rec["test.loss"] = loss.reshape(1)
    for n, gr in grads.items():
        if gr is not None:
            rec["grad." + n] = gr

    # the reference in float64 (same code, same inputs): its fp32 error, to size C tolerances
    m64 = copy.deepcopy(model).double()
    loss64, g64 = loss_and_grads(m64, text, video)
    del m64
    info = dict(loss=float(loss), loss64=float(loss64), none=none)

    unrolled = None
    if cfg.get("enc_reversible") or cfg.get("dec_reversible"):
        with Unrolled():
            mu = copy.deepcopy(model)
            loss_u, unrolled = loss_and_grads(mu, text, video)
            del mu
        info["unrolled_loss_diff"] = float((loss_u - loss).abs())
        info["unrolled_max_diff"] = max(float((unrolled[k] - grads[k]).abs().max()) for k in grads)
        with Unrolled():
            mu = copy.deepcopy(model).double()
            _, u64 = loss_and_grads(mu, text, video)
            del mu
        info["unrolled64_max_rel"] = max(float((u64[k] - g64[k]).abs().max() / g64[k].abs().max().clamp(min=1e-300))
                                         for k in grads)
    info["table"] = grad_table(grads, g64, unrolled)
    if cfg.get("enc_reversible") and batch > 1:
        # the reversible text encoder's backward re-runs its blocks with the stored `mask` object, which
        # NUWA.forward modifies in place for conditioning dropout (docs/TRAINING.md): check that this does not
        # change the gradients (dropped items receive exactly zero gradient through the text)
        drop = tuple(b == 0 for b in range(batch))
        with ForcedDrop(drop):
            _, rg = loss_and_grads(copy.deepcopy(model), text, video, cond_dropout_prob=DROP_PROB)
        with Unrolled(), ForcedDrop(drop):
            _, ug = loss_and_grads(copy.deepcopy(model), text, video, cond_dropout_prob=DROP_PROB)
        info["rev_drop_max_diff"] = max(float((rg[k] - ug[k]).abs().max()) for k in rg)
    extra_kv = {}

    if name == DROP_CFG:
        with ForcedDrop(DROP_MASK) as fd:
            dloss, dgrads = loss_and_grads(model, text, video, cond_dropout_prob=DROP_PROB)
        assert fd.calls == [((batch,), DROP_PROB)], fd.calls
        mloss = manual_drop_loss(model, text, video, DROP_MASK)
        assert float((mloss - dloss).abs()) <= 1e-6 * float(dloss), (float(mloss), float(dloss))
        md64 = copy.deepcopy(model).double()
        with ForcedDrop(DROP_MASK):
            dloss64, dg64 = loss_and_grads(md64, text, video, cond_dropout_prob=DROP_PROB)
        del md64
        rec["test.cond_drop_mask"] = torch.tensor(DROP_MASK, dtype=torch.int32)
        rec["test.drop_loss"] = dloss.reshape(1)
        for n, gr in dgrads.items():
            if gr is not None:
                rec["drop_grad." + n] = gr
        info["drop"] = dict(loss=float(dloss), loss64=float(dloss64), manual_diff=float((mloss - dloss).abs()),
                            none=[n for n, gr in dgrads.items() if gr is None],
                            table=grad_table(dgrads, dg64),
                            zero=[n for n, gr in dgrads.items() if gr is not None and not bool(gr.any())])
        extra_kv["test.drop_prob"] = (DROP_PROB, convert.GGUFValueType.FLOAT32)

    if name == TRAIN_CFG:
        gt = torch.Generator().manual_seed(seed + 200)
        batches = [(text, video)] + [make_batch(gt, batch, text_lengths, F, T, V) for _ in range(TRAIN_STEPS - 1)]
        l20, n20, fin = train_run(model, batches, 0.0)
        l20c, n20c, finc = train_run(model, batches, CLIP)
        assert float(l20[0]) == float(loss) and float(l20c[0]) == float(loss)
        # the training runs must not have touched the fixture model
        assert all(torch.equal(v, model.state_dict()[k]) for k, v in init_sd.items())
        rec["test.train.text"] = torch.stack([b[0] for b in batches]).to(torch.int32)
        rec["test.train.video_tokens"] = torch.stack([b[1] for b in batches]).to(torch.int32)
        rec["test.losses20"] = l20
        rec["test.gradnorm20"] = n20
        rec["test.losses20_clip"] = l20c
        rec["test.gradnorm20_clip"] = n20c
        for n in TRAIN_FINAL:
            rec["test.final20." + n] = fin[n]
            rec["test.final20_clip." + n] = finc[n]
        extra_kv.update({
            "test.adamw.lr": (ADAMW["lr"], convert.GGUFValueType.FLOAT32),
            "test.adamw.beta1": (ADAMW["betas"][0], convert.GGUFValueType.FLOAT32),
            "test.adamw.beta2": (ADAMW["betas"][1], convert.GGUFValueType.FLOAT32),
            "test.adamw.eps": (ADAMW["eps"], convert.GGUFValueType.FLOAT32),
            "test.adamw.weight_decay": (ADAMW["weight_decay"], convert.GGUFValueType.FLOAT32),
            "test.adamw.clip": (CLIP, convert.GGUFValueType.FLOAT32),
            "test.train.steps": TRAIN_STEPS,
            "test.train.seed": seed + 200,
        })
        info["train"] = dict(l20=l20.tolist(), n20=n20.tolist(), l20c=l20c.tolist(), n20c=n20c.tolist())

    assert all(torch.equal(v, model.state_dict()[k]) for k, v in init_sd.items()), "fixture weights changed"
    extra_kv.update({
        "general.name": f"libnuwa training fixture train_{name}",
        "test.seed": seed,
        "test.input_seed": seed + 100,
        "test.config": json.dumps(json_config(cfg), sort_keys=True),
        "test.torch_version": torch.__version__,
        "test.nuwa_pytorch_version": nuwa_ref.versions()["nuwa_pytorch"],
        "test.batch": batch,
        "test.video_len": F * mnf_T(model),
        "test.embed_gradient_frac": (0.2, convert.GGUFValueType.FLOAT32),
        "test.grad_params": (",".join(n for n in grads if grads[n] is not None), convert.GGUFValueType.STRING),
        "test.grad_none": (",".join(none), convert.GGUFValueType.STRING),
    })
    path = os.path.join(out_dir, f"train_{name}.gguf")
    ncfg, report = convert.write_nuwa_gguf(path, json_config(cfg), model.state_dict(), dtype="f32",
                                           extra_tensors={k: v.numpy() for k, v in rec.items()},
                                           extra_kv=extra_kv)
    res = dict(name=name, seed=seed, cfg=cfg, batch=batch, path=path, model=model, rec=rec, ncfg=ncfg,
               F=F, T=T, V=V, info=info, desc=desc, text_lengths=text_lengths, secs=time.time() - t0)
    mnf.check_fixture(res)
    # every stored weight tensor that is a trainable parameter has its gradient, same shape
    import gguf
    r = gguf.GGUFReader(path)
    names = {t.name for t in r.tensors}
    for n, p in trainable(model):
        assert n in names, n
        assert n in none or "grad." + n in names, n
    return res


def mnf_T(model):
    return model.video_fmap_size ** 2


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def print_tables(res):
    i = res["info"]
    print(f"{os.path.basename(res['path'])}: {os.path.getsize(res['path'])} bytes, loss {i['loss']:.7f} "
          f"(fp64 {i['loss64']:.7f}), {len(i['table'])} params, grad None: {i['none'] or 'none'}, {res['secs']:.1f} s")
    if "unrolled_max_diff" in i:
        print(f"  reversible vs unrolled autograd: loss diff {i['unrolled_loss_diff']:.2e}, max grad diff "
              f"{i['unrolled_max_diff']:.2e}; fp64 max rel {i['unrolled64_max_rel']:.2e}")
    if "rev_drop_max_diff" in i:
        print(f"  reversible vs unrolled with item 0's condition dropped: max grad diff {i['rev_drop_max_diff']:.2e}")
    for n, shape, mx, d64, _ in i["table"]:
        print(f"  max|grad| {mx:10.4g}  |g32-g64| {d64:9.2e}  {n} {list(shape)}")
    if "drop" in i:
        d = i["drop"]
        print(f"  drop run: mask {list(DROP_MASK)}, loss {d['loss']:.7f} (fp64 {d['loss64']:.7f}), manual path diff "
              f"{d['manual_diff']:.1e}, all-zero grads: {d['zero'] or 'none'}")
        print(f"  drop max|grad| over tensors {max(r[2] for r in d['table']):.4g}, max |g32-g64| "
              f"{max(r[3] for r in d['table']):.2e}")
    if "train" in i:
        t = i["train"]
        print("  losses20      " + " ".join(f"{x:.4f}" for x in t["l20"]))
        print("  losses20_clip " + " ".join(f"{x:.4f}" for x in t["l20c"]))
        print("  gradnorm20_clip (before clipping) " + " ".join(f"{x:.3g}" for x in t["n20c"]))


def write_manifest(results, out_dir, cmd):
    vers = nuwa_ref.versions()
    L = []
    a = L.append
    a("# NUWA training golden fixtures")
    a("")
    a("Generated by `tools/make_train_fixtures.py` (do not edit by hand); semantics in docs/TRAINING.md. "
      "Reproduce from the repository root:")
    a("")
    a("```sh")
    a("sh tools/setup_env.sh && " + cmd)
    a("```")
    a("")
    a("## Environment")
    a("")
    a(f"- Python {vers['python']}, torch `{vers['torch']}` (Debian `python3-torch` 1.13.1, CPU), numpy {np.__version__}")
    a(f"- nuwa-pytorch {vers['nuwa_pytorch']}, vector-quantize-pytorch {vers['vector_quantize_pytorch']}, "
      f"einops {vers['einops']}, unfoldNd {vers['unfoldNd']}")
    a(f"- stubbed by `tools/nuwa_ref.py` (import time only): {', '.join(vers['stubbed']) or 'none'}")
    a("- CPU, `torch.set_num_threads(1)`, `torch.use_deterministic_algorithms(True)`; the reference code as "
      "installed (the `apply_fast_3dna` speed-up is NOT used), plus the **B1 patch** (`nuwa_ref.apply_b1_patch()`: "
      "the non-reversible text encoder gets its rotary embedding; without it t2/t3 raise TypeError).")
    a("- `model.train()` (this enables `Embedding(frac_gradient=0.2)` on `text_embedding` and `image_embedding` and "
      "the conditioning-dropout branch); every dropout probability is 0.")
    a("")
    a("## Procedure")
    a("")
    a(f"Model: as tools/make_nuwa_fixtures.py: `torch.manual_seed(seed)`; `VQGanVAE(**{json.dumps(mnf.VAE, sort_keys=True)}, "
      "use_vgg_and_gan=False, vq_kmeans_init=False)`; `NUWA(vae=vae, **kwargs)`; every parameter (VAE included) "
      f"`+= {mnf.PERTURB}*N(0,1)` in `named_parameters()` order; VQ `initted = True`. The VAE parameters get "
      "`requires_grad=False` (frozen; the VAE is never run, see below). fmap 4, T = 16 tokens per frame, V = 40 codes.")
    a("")
    a("Batch (`torch.Generator().manual_seed(seed+100)`): `test.text` (B, 6) row b = `text_lengths[b]` ids drawn "
      "from 1..49 then zeros (padding), then `test.video_tokens` (B, F*T) uniform in [0,40).")
    a("")
    a("Loss and gradients: `loss = model(text=text, video=video_tokens (int64), return_loss=True, "
      "cond_dropout_prob=0.0)`; `loss.backward()`. `NUWA.forward` takes token ids directly when `video.dtype == "
      "torch.long` (it calls `vae.get_video_indices` only for float pixel videos), so no monkeypatching is needed and "
      "the VAE is not used. `grad.<name>` = `param.grad` of every `named_parameters()` entry not under `vae.` "
      "(reversible aliases `net.blocks.*` deduplicated by torch: the stored name is the `layers.*` one, as in the "
      "weights). The computation is run twice and must be bitwise identical. It is also run on a float64 copy of "
      "the model (same code): `|g32-g64|` below is the reference's own fp32 rounding error, a floor for C "
      "tolerances.")
    a("")
    a("Reversible configs (t1): the loss/gradients are also computed with `ReversibleSequence.forward` replaced by "
      "plain autograd on the same blocks (`x1 = x1 + f(x2); x2 = x2 + g(x1)`; `out = x1 + x2`); the differences are "
      "printed below (float rounding of the reference's activation reconstruction).")
    a("")
    a(f"20-step AdamW ({TRAIN_CFG}): `torch.optim.AdamW(trainable params in named_parameters() order, lr={ADAMW['lr']}, "
      f"betas={ADAMW['betas']}, eps={ADAMW['eps']}, weight_decay={ADAMW['weight_decay']})` (one param group: the "
      f"decay applies to every trainable tensor, norms/biases/embeddings included), constant lr, no warm-up, "
      f"`cond_dropout_prob=0`. Step s: forward on batch s, `zero_grad(set_to_none=True)`, backward, [clip], "
      f"`opt.step()`; `losses20[s]` is the loss computed before step s's update. Batch 0 is the fixture batch "
      f"(`losses20[0] == test.loss`), batches 1..19 come from `Generator().manual_seed(seed+200)` as above; all 20 "
      f"are stored. Run A: no clipping (`test.losses20`, `test.gradnorm20` = total L2 norm of the gradients). "
      f"Run B: `torch.nn.utils.clip_grad_norm_(params, {CLIP})` before each step (`test.losses20_clip`, "
      f"`test.gradnorm20_clip` = the norm it returns, before clipping; it scales by `{CLIP}/(norm+1e-6)` when "
      f"norm > {CLIP}) and, as the reference's `NUWATrainer`/`get_optimizer` do, weight decay only on tensors "
      f"with ndim >= 2 (PyTorch shape; 1-D tensors: norms, biases, `video_bos` get weight_decay 0). Adam is almost "
      f"invariant to a global gradient scale, so run B's losses stay close to run A's: the per-step norms and "
      f"`test.final20_clip.*` are the sharper checks of the clip path. (NUWATrainer itself also uses betas "
      f"(0.9, 0.999), lr 3e-4, 8 accumulated micro-batches of `loss/8` and cond_dropout_prob 0.2; these fixtures "
      f"keep one micro-batch, betas {ADAMW['betas']} and no dropout.)")
    a("")
    a(f"Forced conditioning dropout ({DROP_CFG}): `nuwa_pytorch.nuwa_pytorch.prob_mask_like` (the only random draw "
      f"in `NUWA.forward`) is replaced by a function returning the fixed mask `{list(DROP_MASK)}` (True = item's "
      f"condition dropped), and the forward is called with `cond_dropout_prob={DROP_PROB}` (any value > 0 enables the "
      "branch). The script asserts it was called once with shape (B,), and that the loss equals the path written "
      "out (text encoder with the full mask, decoder `context_mask = (text != 0) & ~drop`).")
    a("")
    a("## Tensors (PyTorch shapes; GGUF ne[] reversed)")
    a("")
    a("| tensor | type | in | meaning |")
    a("|---|---|---|---|")
    a("| weights | F32 | all | `vae.*` + the transformer under its state-dict names (as the nuwa_n* fixtures; "
      "loadable by `nw_vae_load` / `nw_nuwa_load`) |")
    a("| `test.text` | I32 (B,6) | all | text ids, 0 = padding |")
    a("| `test.video_tokens` | I32 (B,F*T) | all | the whole clip's token ids (targets; inputs are `[:, :-1]`) |")
    a("| `test.loss` | F32 (1) | all | mean cross-entropy (docs/TRAINING.md) |")
    a("| `grad.<name>` | F32, shape of `<name>` | all | d loss / d param (for embeddings: the reference's 0.2-scaled "
      "gradient) |")
    a("| `test.cond_drop_mask` | I32 (B) | t3 | 1 = condition dropped for that item |")
    a("| `test.drop_loss` | F32 (1) | t3 | the loss with that dropout pattern |")
    a("| `drop_grad.<name>` | F32 | t3 | gradients with that dropout pattern |")
    a("| `test.train.text` | I32 (20,B,6) | t2 | the 20 training batches' texts (batch 0 = `test.text`) |")
    a("| `test.train.video_tokens` | I32 (20,B,F*T) | t2 | their video tokens |")
    a("| `test.losses20`, `test.gradnorm20` | F32 (20) | t2 | run A (no clipping): loss before each step, "
      "total grad L2 norm |")
    a("| `test.losses20_clip`, `test.gradnorm20_clip` | F32 (20) | t2 | run B (clip_grad_norm 0.5, decay on ndim >= 2 only) |")
    a(f"| `test.final20.<name>`, `test.final20_clip.<name>` | F32 | t2 | the parameter after the 20 steps of run A / "
      f"B, for {', '.join(f'`{n}`' for n in TRAIN_FINAL)} |")
    a("")
    a("Metadata: `test.seed`, `test.input_seed` (u32), `test.config` (JSON, the converter's --config object), "
      "`test.torch_version`, `test.nuwa_pytorch_version`, `test.batch`, `test.video_len` (= F*T), "
      "`test.embed_gradient_frac` (f32 0.2), `test.grad_params` (comma-separated names that have `grad.*`, in "
      "named_parameters() order = the AdamW order), `test.grad_none` (params whose grad was None: empty in every "
      "fixture); t3: `test.drop_prob`; t2: `test.adamw.{lr,beta1,beta2,eps,weight_decay,clip}` (f32), "
      "`test.train.steps`, `test.train.seed`.")
    a("")
    a("Not trainable (buffers, no gradient): `text_rotary_pos_emb.inv_freq` (stored as a weight by the "
      "converter), the Sparse3DNA `mask` buffers (not stored). The VAE (`vae.*`) is frozen.")
    a("")
    a("## Configs")
    a("")
    a(f"Common: `{json.dumps(COMMON, sort_keys=True)}`.")
    a("")
    a("| file | seed | B | text lengths | F | kwargs | notes | bytes | loss | loss (fp64 ref) | sha256 |")
    a("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        kw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in r["cfg"].items()}
        a(f"| `{os.path.basename(r['path'])}` | {r['seed']} | {r['batch']} | {'/'.join(map(str, r['text_lengths']))} | "
          f"{r['F']} | `{json.dumps(kw, sort_keys=True)}` | {r['desc']} | {os.path.getsize(r['path'])} | "
          f"{r['info']['loss']:.7f} | {r['info']['loss64']:.7f} | `{sha256(r['path'])[:16]}` |")
    a("")
    for r in results:
        i = r["info"]
        if "unrolled_max_diff" in i:
            a(f"{os.path.basename(r['path'])}: reversible backward vs plain autograd: loss diff "
              f"{i['unrolled_loss_diff']:.2e}, max |grad diff| {i['unrolled_max_diff']:.2e} (fp32); in fp64 the "
              f"largest relative difference is {i['unrolled64_max_rel']:.1e}, i.e. the reversible layers change "
              "nothing but rounding.")
        if "rev_drop_max_diff" in i:
            a(f"{os.path.basename(r['path'])}: the same comparison with item 0's condition dropped (forced, not "
              f"stored): max |grad diff| {i['rev_drop_max_diff']:.2e}, so the reversible text encoder re-running its "
              "blocks with the in-place-modified mask (docs/TRAINING.md) does not change the gradients.")
        if "drop" in i:
            d = i["drop"]
            a(f"{os.path.basename(r['path'])}: dropout run, mask {[int(x) for x in DROP_MASK]}: loss {d['loss']:.7f} "
              f"(fp64 {d['loss64']:.7f}); written-out path differs by {d['manual_diff']:.1e}; tensors whose dropout "
              f"gradient is exactly zero: {', '.join(d['zero']) or 'none'}.")
        if "train" in i:
            t = i["train"]
            a("")
            a(f"{os.path.basename(r['path'])} 20-step runs (loss before each step):")
            a("")
            a("- A (no clip): " + " ".join(f"{x:.4f}" for x in t["l20"]))
            a("- B (clip 0.5, decay ndim>=2): " + " ".join(f"{x:.4f}" for x in t["l20c"]))
            a("- B grad norms before clipping: " + " ".join(f"{x:.3g}" for x in t["n20c"]))
            a("")
    a("")
    a("## Per-tensor gradient magnitudes")
    a("")
    a("`max|g|` = max |grad| of the stored tensor; `fp32 err` = max |g32 - g64| (the fp32 reference against the "
      "same reference in float64): a C implementation in fp32 cannot be expected to be closer than a few times this. "
      "For t1 `rev-unrolled` = max |g - g_unrolled| (fp32).")
    a("")
    for r in results:
        i = r["info"]
        a(f"### {os.path.basename(r['path'])}")
        a("")
        rev = "unrolled_max_diff" in i
        a("| tensor | shape | max&#124;g&#124; | fp32 err |" + (" rev-unrolled |" if rev else ""))
        a("|---|---|---|---|" + ("---|" if rev else ""))
        for n, shape, mx, d64, ex in i["table"]:
            a(f"| `{n}` | {list(shape)} | {mx:.4g} | {d64:.2e} |" + (f" {ex:.2e} |" if rev else ""))
        if "drop" in i:
            a("")
            a(f"Dropout run (`drop_grad.*`): max |g| {max(x[2] for x in i['drop']['table']):.4g}, max fp32 err "
              f"{max(x[3] for x in i['drop']['table']):.2e} over all tensors.")
        a("")
    with open(os.path.join(out_dir, "MANIFEST_TRAIN.md"), "w") as f:
        f.write("\n".join(L))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "tests", "fixtures"))
    ap.add_argument("--only", default=None, help="comma-separated config names (default: all; no manifest)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    nuwa_ref.apply_b1_patch()
    os.makedirs(args.out_dir, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    results = []
    for name, seed, cfg, batch, tl, desc in CONFIGS:
        if only and name not in only:
            continue
        res = run_config(name, seed, cfg, batch, tl, desc, args.out_dir)
        print_tables(res)
        size = os.path.getsize(res["path"])
        if size > SIZE_LIMIT_EACH:
            raise SystemExit(f"make_train_fixtures: {res['path']} is {size} bytes > {SIZE_LIMIT_EACH}")
        results.append(res)
    total = sum(os.path.getsize(r["path"]) for r in results)
    print(f"total {total} bytes")
    if not only:
        write_manifest(results, args.out_dir, "tools/.venv/bin/python tools/make_train_fixtures.py")
        print(f"wrote {os.path.relpath(os.path.join(args.out_dir, 'MANIFEST_TRAIN.md'), ROOT)}")


if __name__ == "__main__":
    main()
