"""Import shim for the nuwa-pytorch 0.7.8 reference (VQGanVAE, NUWA) on Debian's torch 1.13.

Usage (tools/ on sys.path):

    import nuwa_ref
    vae = nuwa_ref.VQGanVAE(dim=16, image_size=32, use_vgg_and_gan=False, vq_kmeans_init=False)

    nw = nuwa_ref.nuwa_module()        # nuwa_pytorch.nuwa_pytorch (imported on first call)
    nuwa_ref.apply_b1_patch()          # docs/MODEL.md B1: non-reversible text encoder with rotary
    model = nw.NUWA(dim=32, vae=vae, ...)

What it papers over (all only on import; numerics are untouched):

* ``torchvision``: ``nuwa_pytorch/vqgan_vae.py`` does ``import torchvision`` at module level but
  only uses it for ``torchvision.models.vgg16(pretrained=True)`` when ``use_vgg_and_gan=True`` and no
  ``vgg`` is passed.  If torchvision is not installed a stub module is registered whose
  ``models.vgg16`` raises (so build the VAE with ``use_vgg_and_gan=False`` or pass ``vgg=``).
* ``einx``: vector-quantize-pytorch 1.27.21 imports ``einx`` (and ``from einx import get_at``) at
  module level but calls it only on masked / top-k paths that VQGanVAE never takes.  If einx is
  not installed a stub is registered whose functions raise.
* ``nuwa_pytorch/__init__.py`` also imports the trainers and the BPE tokenizer, which pull in
  ``torchvision.datasets/transforms/utils`` and the compiled ``regex`` package.  We do not execute
  that ``__init__``: a bare package module pointing at the installed directory is registered and
  only ``nuwa_pytorch.vqgan_vae`` is imported.
* torch version: VQ 1.27.21 declares ``torch>=2.4`` but its eval forward (cosine and Euclidean,
  with and without ``project_in``/``project_out``) only uses APIs present in torch 1.13
  (``torch.amp.autocast('cuda', enabled=False)`` used as a decorator, ``functools.cache``, 0-d bool
  ``initted`` buffer, ``Tensor.gather``/``einsum`` paths: all fine; verified on torch 1.13.1 CPU,
  which reports itself as ``1.13.0a0``).  No monkeypatch is needed; ``tools/make_fixtures.py`` re-derives the distances independently and asserts the
  indices agree, which would catch a behavioural difference.
* ``nuwa_pytorch.nuwa_pytorch`` (NUWA, imported lazily by :func:`nuwa_module` so that VAE-only
  users need nothing more) imports ``nuwa_pytorch.reversible*`` (torch only), ``unfoldNd`` (which
  needs ``packaging``) and ``tqdm``: all real packages from tools/requirements.txt, no stubs.  It
  does not import the tokenizer (``regex``/``ftfy``) or torchvision.
* :func:`apply_b1_patch` replaces the non-reversible ``Transformer.forward`` with one that accepts
  ``rotary_pos_emb`` and passes it to the self-attention (docs/MODEL.md B1; the unpatched
  reference raises TypeError for every NUWA with ``enc_reversible=False``).  It is opt-in.
"""

import importlib
import importlib.util
import sys
import types

__all__ = ["VQGanVAE", "VectorQuantize", "versions", "stubbed", "nuwa_module", "apply_b1_patch",
           "apply_fast_3dna", "remove_fast_3dna"]

stubbed = []  # names of the modules replaced by stubs in this process


def _missing(name):
    if name in sys.modules:
        return False
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return True


def _raiser(what):
    def f(*args, **kwargs):
        raise RuntimeError(
            f"{what} is a stub installed by tools/nuwa_ref.py (the real package is not installed)")
    return f


def _install_stubs():
    if _missing("torchvision"):
        tv = types.ModuleType("torchvision")
        tv.__version__ = "0.0.0+nuwa_ref_stub"
        models = types.ModuleType("torchvision.models")
        models.vgg16 = _raiser("torchvision.models.vgg16 (use use_vgg_and_gan=False or pass vgg=)")
        tv.models = models
        sys.modules["torchvision"] = tv
        sys.modules["torchvision.models"] = models
        stubbed.append("torchvision")
    if _missing("einx"):
        ex = types.ModuleType("einx")
        ex.__version__ = "0.0.0+nuwa_ref_stub"
        for fn in ("get_at", "where", "rearrange", "add", "multiply", "subtract", "divide",
                   "sum", "mean", "dot", "less", "greater", "equal", "logical_and", "logical_or"):
            setattr(ex, fn, _raiser(f"einx.{fn}"))
        ex.__getattr__ = lambda attr: _raiser(f"einx.{attr}")  # PEP 562 fallback
        sys.modules["einx"] = ex
        stubbed.append("einx")


def _import_vqgan_vae():
    if "nuwa_pytorch.vqgan_vae" in sys.modules:
        return sys.modules["nuwa_pytorch.vqgan_vae"]
    if "nuwa_pytorch" not in sys.modules:
        spec = importlib.util.find_spec("nuwa_pytorch")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("nuwa_pytorch is not installed (run: sh tools/setup_env.sh)")
        # bare package: skip nuwa_pytorch/__init__.py (trainers, tokenizer, torchvision.transforms)
        pkg = types.ModuleType("nuwa_pytorch")
        pkg.__path__ = list(spec.submodule_search_locations)
        pkg.__file__ = spec.origin
        pkg.__package__ = "nuwa_pytorch"
        pkg.__spec__ = spec
        sys.modules["nuwa_pytorch"] = pkg
    return importlib.import_module("nuwa_pytorch.vqgan_vae")


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "unknown"


def versions():
    """Versions of the reference stack actually imported (for fixture manifests)."""
    import torch
    import einops
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "nuwa_pytorch": _dist_version("nuwa-pytorch"),
        "vector_quantize_pytorch": _dist_version("vector-quantize-pytorch"),
        "einops": einops.__version__,
        "unfoldNd": _dist_version("unfoldNd"),
        "stubbed": list(stubbed),
    }


def nuwa_module():
    """The reference module ``nuwa_pytorch.nuwa_pytorch`` (NUWA, Transformer, Sparse3DNA, ...)."""
    if "nuwa_pytorch.nuwa_pytorch" in sys.modules:
        return sys.modules["nuwa_pytorch.nuwa_pytorch"]
    try:
        return importlib.import_module("nuwa_pytorch.nuwa_pytorch")
    except ModuleNotFoundError as e:
        raise ImportError(f"nuwa_pytorch.nuwa_pytorch needs {e.name!r} (run: sh tools/setup_env.sh)") from e


def apply_b1_patch():
    """docs/MODEL.md B1: let the non-reversible ``Transformer.forward`` take ``rotary_pos_emb``.

    The patched forward is the reference loop with ``rotary_pos_emb`` passed to the self-attention
    call only (when given; the decoder never passes it, so its calls are unchanged).  Idempotent.
    """
    nw = nuwa_module()
    T = nw.Transformer
    if getattr(T.forward, "_nuwa_ref_b1", False):
        return
    exists = nw.exists

    def forward(self, x, mask=None, context=None, context_mask=None, rotary_pos_emb=None):
        attn_kw = {"rotary_pos_emb": rotary_pos_emb} if rotary_pos_emb is not None else {}
        for attn, cross_attn, ff in self.layers:
            x = attn(x, mask=mask, **attn_kw) + x

            if exists(cross_attn):
                x = cross_attn(x, context=context, mask=mask, context_mask=context_mask) + x

            x = ff(x) + x

        return self.norm(x)

    forward._nuwa_ref_b1 = True
    T.forward = forward


def _unfold3d(x, kernel_size, dilation=1, **kw):
    """``unfoldNd.unfoldNd`` for 5-D input with stride 1 and no padding (all Sparse3DNA uses):
    (b, c, F, H, W) -> (b, c*K, L), channel-major (channel outer, kernel offset inner), L = the
    output positions (f h w).  Slices + stack instead of a convolution with one-hot kernels:
    bit-identical output, several times faster on CPU."""
    if any(kw.get(k) not in (None, 0, 1) for k in ("padding", "stride")):
        raise ValueError("_unfold3d: only stride 1 without padding")
    import torch
    ks = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 3
    dl = tuple(dilation) if isinstance(dilation, (tuple, list)) else (dilation,) * 3
    b, c, f, h, w = x.shape
    of, oh, ow = (f - (ks[0] - 1) * dl[0], h - (ks[1] - 1) * dl[1], w - (ks[2] - 1) * dl[2])
    parts = [x[:, :, a * dl[0]:a * dl[0] + of, i * dl[1]:i * dl[1] + oh, j * dl[2]:j * dl[2] + ow]
             for a in range(ks[0]) for i in range(ks[1]) for j in range(ks[2])]
    return torch.stack(parts, 2).reshape(b, c * len(parts), of * oh * ow)


def apply_fast_3dna():
    """Training speed-up for ``Sparse3DNA`` (tools/train_demo.py): the module's ``unfoldNd`` is
    replaced by an exact slicing version and its two gathered-attention einsums
    ('b i d, b i j d -> b i j' and 'b i j, b i j d -> b i d', a CPU bmm over b*i tiny matrices)
    by broadcast multiply + sum.  The model, its parameters and its maths are unchanged: the loss
    is identical and gradients differ by float rounding only (train_demo.py checks this on the
    first batch).  Idempotent; ``remove_fast_3dna()`` undoes it."""
    nw = nuwa_module()
    if getattr(nw, "_nuwa_ref_fast", None):
        return
    orig = (nw.unfoldNd, nw.einsum)

    def einsum(eq, *ops):
        e = eq.replace(" ", "")
        if e == "bid,bijd->bij":
            return (ops[0].unsqueeze(2) * ops[1]).sum(-1)
        if e == "bij,bijd->bid":
            return (ops[0].unsqueeze(-1) * ops[1]).sum(2)
        return orig[1](eq, *ops)

    nw._nuwa_ref_fast = orig
    nw.unfoldNd, nw.einsum = _unfold3d, einsum


def remove_fast_3dna():
    nw = nuwa_module()
    orig = getattr(nw, "_nuwa_ref_fast", None)
    if orig:
        nw.unfoldNd, nw.einsum = orig
        nw._nuwa_ref_fast = None


_install_stubs()
_vqgan_vae = _import_vqgan_vae()
from vector_quantize_pytorch import VectorQuantize  # noqa: E402

VQGanVAE = _vqgan_vae.VQGanVAE
