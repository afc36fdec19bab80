#!/usr/bin/env python3
"""Convert a nuwa-pytorch 0.7.8 VQGanVAE or whole NUWA checkpoint to a libnuwa GGUF file (docs/FORMAT.md).

    tools/.venv/bin/python tools/convert.py vae.pt --config vae_config.json -o vae.gguf
    tools/.venv/bin/python tools/convert.py nuwa.pt --dim 64 --image-size 256 --dtype f16 -o vae.gguf
    tools/.venv/bin/python tools/convert.py nuwa.pt --config nuwa_config.json -o nuwa.gguf

Whole NUWA: when the ``--config`` object has a nested ``"vae"`` object it is read as ``NUWA(...)``
keyword arguments (``dim``, ``max_video_frames``, ``text_*``, ``dec_*``, ``enc_reversible``,
``sparse_3dna_*``, ...; defaults as the reference) with ``"vae"`` = the ``VQGanVAE(...)`` arguments, and
the whole model is written: the VQGAN under ``vae.`` as below, ``nuwa.*`` hyperparameters and the
transformer tensors under their state-dict names (reversible ``net.blocks.*`` aliases, checked bitwise
equal, and Sparse3DNA ``mask`` buffers are dropped).  ``--vae-only`` writes only the VQGAN of such a
config/checkpoint.

The input ``.pt`` holds a state dict: a ``VQGanVAE.state_dict()``, a dict wrapping one under
``model`` or ``state_dict``, or a full ``NUWA`` state dict (its ``vae.*`` keys are used).  The
state dict does not record the constructor arguments, so they must be given with ``--config``
(JSON object of ``VQGanVAE(...)`` keyword arguments) and/or the flags below (flags win); the
defaults are those of the reference constructor.

Only torch (for ``torch.load``), numpy and the ``gguf`` package are needed (sh tools/setup_env.sh).
"""

import argparse
import json
import sys

import numpy as np

try:
    import gguf
    from gguf import GGUFValueType, GGMLQuantizationType
except ImportError:  # pragma: no cover
    sys.exit("convert.py: the 'gguf' python package is missing (run: sh tools/setup_env.sh)")

ARCH = "nuwa"

# VQGanVAE constructor defaults (nuwa_pytorch/vqgan_vae.py, 0.7.8) for everything inference reads.
DEFAULTS = {
    "dim": None,                # required
    "image_size": None,         # required
    "channels": 3,
    "num_layers": 4,
    "layer_mults": None,        # -> [2**i for i in range(num_layers)]
    "num_resnet_blocks": 1,     # scalar R -> (0,...,0,R)
    "use_attn": True,           # scalar A -> (False,...,False,A)
    "attn_dim_head": 64,
    "attn_heads": 8,
    "resnet_groups": 16,
    "first_conv_kernel_size": 5,
    "vq_codebook_dim": 256,
    "vq_codebook_size": 512,
    "vq_use_cosine_sim": True,
}

# Constructor arguments that do not change eval-mode inference (accepted and ignored).
TRAINING_ONLY = {
    "l2_recon_loss", "use_hinge_loss", "vgg", "use_vgg_and_gan", "attn_dropout",
    "vq_decay", "vq_commitment_weight", "vq_kmeans_init", "vq_kmeans_iters", "vq_sync_kmeans",
    "vq_eps", "vq_threshold_ema_dead_code", "vq_reset_cluster_size", "vq_orthogonal_reg_weight",
    "vq_orthogonal_reg_active_codes_only", "vq_orthogonal_reg_max_codes",
    "vq_codebook_diversity_loss_weight", "vq_codebook_diversity_temperature",
    "vq_commitment_use_cross_entropy_loss", "vq_stochastic_sample_codes", "vq_sample_codebook_temp",
    "vq_straight_through", "vq_rotation_trick", "vq_directional_reparam",
    "vq_directional_reparam_variance", "vq_sync_codebook", "vq_ema_update", "vq_manual_ema_update",
    "vq_learnable_codebook", "vq_in_place_codebook_optimizer", "vq_manual_in_place_optimizer_update",
    "vq_sync_update_v", "vq_use_ddp", "vq_return_zeros_for_masked_padding", "vq_freeze_codebook",
}

# State-dict entries never stored (training state).
DROP_SUFFIXES = ("vq._codebook.cluster_size", "vq._codebook.embed_avg", "vq._codebook.initted")
DROP_PREFIXES = ("discr.", "vgg.")

DTYPES = ("f32", "f16", "bf16")


class ConvertError(Exception):
    """Bad input (message is printed, exit status 1)."""


def warn(msg):
    print(f"convert.py: warning: {msg}", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# configuration

def _as_bool(v, what):
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, np.integer)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return v.strip().lower() in ("1", "true", "yes", "on")
    raise ConvertError(f"{what}: expected a boolean, got {v!r}")


def _as_int(v, what):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        if isinstance(v, str) and v.strip().lstrip("-").isdigit():
            return int(v)
        if isinstance(v, float) and v.is_integer():
            return int(v)
        raise ConvertError(f"{what}: expected an integer, got {v!r}")
    return int(v)


def normalize_config(cfg):
    """Full, expanded inference config from VQGanVAE keyword arguments.

    Returns a dict with every key of DEFAULTS; ``layer_mults``/``num_resnet_blocks``/``use_attn``
    become per-layer lists the way the reference expands them.  A JSON list for
    ``num_resnet_blocks``/``use_attn`` stands for the reference's tuple (per-layer values).
    """
    cfg = dict(cfg)
    unknown = []
    for k in list(cfg):
        if k in DEFAULTS:
            continue
        if k in TRAINING_ONLY:
            cfg.pop(k)
        elif k.startswith("vq_"):
            raise ConvertError(f"config key {k!r} changes VectorQuantize inference and is not supported "
                               "by libnuwa (supported vq_* keys: vq_codebook_dim, vq_codebook_size, "
                               "vq_use_cosine_sim, plus training-only ones)")
        else:
            unknown.append(k)
            cfg.pop(k)
    if unknown:
        warn(f"ignoring unknown config keys {unknown}")

    out = dict(DEFAULTS)
    out.update({k: v for k, v in cfg.items() if v is not None or k == "layer_mults"})
    for req in ("dim", "image_size"):
        if out[req] is None:
            raise ConvertError(f"missing required VQGanVAE argument {req!r} (--{req.replace('_', '-')} or --config)")

    for k in ("dim", "image_size", "channels", "num_layers", "attn_dim_head", "attn_heads",
              "resnet_groups", "first_conv_kernel_size", "vq_codebook_dim", "vq_codebook_size"):
        out[k] = _as_int(out[k], k)
        if out[k] <= 0:
            raise ConvertError(f"{k} must be positive, got {out[k]}")
    out["vq_use_cosine_sim"] = _as_bool(out["vq_use_cosine_sim"], "vq_use_cosine_sim")

    L = out["num_layers"]
    lm = out["layer_mults"]
    if lm is None:
        lm = [2 ** i for i in range(L)]
    if not isinstance(lm, (list, tuple)):
        raise ConvertError(f"layer_mults must be a list, got {lm!r}")
    lm = [_as_int(m, "layer_mults") for m in lm]
    if len(lm) != L:
        raise ConvertError(f"layer_mults has {len(lm)} entries but num_layers is {L}")
    if any(m <= 0 for m in lm):
        raise ConvertError(f"layer_mults must be positive, got {lm}")
    out["layer_mults"] = lm

    rb = out["num_resnet_blocks"]
    if isinstance(rb, (list, tuple)):
        rb = [_as_int(r, "num_resnet_blocks") for r in rb]
    else:
        rb = [0] * (L - 1) + [_as_int(rb, "num_resnet_blocks")]
    if len(rb) != L or any(r < 0 for r in rb):
        raise ConvertError(f"num_resnet_blocks must have {L} non-negative entries, got {rb}")
    out["num_resnet_blocks"] = rb

    ua = out["use_attn"]
    if isinstance(ua, (list, tuple)):
        ua = [_as_bool(a, "use_attn") for a in ua]
    else:
        ua = [False] * (L - 1) + [_as_bool(ua, "use_attn")]
    if len(ua) != L:
        raise ConvertError(f"use_attn must have {L} entries, got {ua}")
    out["use_attn"] = ua

    if out["dim"] % out["resnet_groups"]:
        raise ConvertError(f"dim {out['dim']} must be divisible by resnet_groups {out['resnet_groups']}")
    if out["image_size"] % (2 ** L):
        raise ConvertError(f"image_size {out['image_size']} must be divisible by 2**num_layers = {2 ** L}")
    if out["first_conv_kernel_size"] % 2 == 0:
        raise ConvertError(f"first_conv_kernel_size must be odd, got {out['first_conv_kernel_size']}")
    for i in range(L):
        if ua[i] and out["dim"] * lm[i] < 4:
            raise ConvertError(f"attention at layer {i} needs at least 4 channels (cpb width C//4)")
    return out


def expected_shapes(cfg):
    """Ordered {name (no 'vae.' prefix): PyTorch shape} of every tensor inference reads."""
    c = cfg
    L, dim, ch = c["num_layers"], c["dim"], c["channels"]
    layer_dims = [dim * m for m in c["layer_mults"]]
    dims = [dim] + layer_dims
    R, A = c["num_resnet_blocks"], c["use_attn"]
    h, dh = c["attn_heads"], c["attn_dim_head"]
    inner = h * dh
    k = c["first_conv_kernel_size"]
    out = {}

    def conv(p, o, i, kk, bias=True):
        out[p + "weight"] = (o, i, kk, kk)
        if bias:
            out[p + "bias"] = (o,)

    def norm(p, C):
        out[p + "weight"] = (C,)
        out[p + "bias"] = (C,)

    def resblock(p, C):
        conv(p + "net.0.", C, C, 3); norm(p + "net.1.", C)
        conv(p + "net.3.", C, C, 3); norm(p + "net.4.", C)
        conv(p + "net.6.", C, C, 1)

    def glu_resblock(p, C):
        conv(p + "net.0.", 2 * C, C, 3); norm(p + "net.2.", C)
        conv(p + "net.3.", 2 * C, C, 3); norm(p + "net.5.", C)
        conv(p + "net.6.", C, C, 1)

    def attention(p, C):
        w = C // 4
        out[p + "scale"] = (1, h, 1, 1)
        out[p + "post_norm.g"] = (1, C, 1, 1)
        out[p + "post_norm.b"] = (1, C, 1, 1)
        out[p + "cpb.net.0.0.weight"] = (w, 2)
        out[p + "cpb.net.0.0.bias"] = (w,)
        out[p + "cpb.net.1.0.weight"] = (w, w)
        out[p + "cpb.net.1.0.bias"] = (w,)
        out[p + "cpb.net.2.weight"] = (h, w)
        out[p + "cpb.net.2.bias"] = (h,)
        out[p + "to_qkv.weight"] = (3 * inner, C, 1, 1)
        out[p + "to_out.weight"] = (C, inner, 1, 1)
        out[p + "to_out.bias"] = (C,)

    # encoders
    conv("encoders.0.", dim, ch, k)
    e = 1
    for i in range(L):
        cin, cout = dims[i], dims[i + 1]
        conv(f"encoders.{e}.0.", cout, cin, 4); e += 1
        for _ in range(R[i]):
            resblock(f"encoders.{e}.", cout); e += 1
        if A[i]:
            attention(f"encoders.{e}.", cout); e += 1
    # decoders (forward order)
    d = 0
    for i in reversed(range(L)):
        cin, cout = dims[i], dims[i + 1]
        for _ in range(R[i]):
            glu_resblock(f"decoders.{d}.", cout); d += 1
        if A[i]:
            attention(f"decoders.{d}.", cout); d += 1
        conv(f"decoders.{d}.1.", cin, cout, 3); d += 1
    conv(f"decoders.{d}.", ch, dim, 1)
    # vector quantizer
    cz, cd, K = layer_dims[-1], c["vq_codebook_dim"], c["vq_codebook_size"]
    if cd != cz:
        out["vq.project_in.weight"] = (cd, cz)
        out["vq.project_in.bias"] = (cd,)
        out["vq.project_out.weight"] = (cz, cd)
        out["vq.project_out.bias"] = (cz,)
    out["vq._codebook.embed"] = (K, cd)
    return out


# --------------------------------------------------------------------------------------------
# state dict handling

def _to_numpy_f32(name, v):
    try:
        import torch
        if isinstance(v, torch.Tensor):
            return v.detach().to("cpu").float().contiguous().numpy()
    except ImportError:  # pragma: no cover
        pass
    a = np.asarray(v)
    if not np.issubdtype(a.dtype, np.number) and a.dtype != np.bool_:
        raise ConvertError(f"{name}: not a tensor ({type(v).__name__})")
    return np.ascontiguousarray(a, dtype=np.float32)


def unwrap_checkpoint(obj):
    """State dict out of what torch.load returned; VAE keys (no 'vae.' prefix)."""
    for _ in range(3):  # {'model': {...}} / {'state_dict': {...}}, possibly nested once more
        if isinstance(obj, dict):
            for key in ("model", "state_dict"):
                if key in obj and isinstance(obj[key], dict):
                    obj = obj[key]
                    break
            else:
                break
    if hasattr(obj, "state_dict") and callable(obj.state_dict) and not isinstance(obj, dict):
        obj = obj.state_dict()  # a pickled module
    if not isinstance(obj, dict) or not obj:
        raise ConvertError("input does not contain a state dict (expected a dict of tensors, "
                           "or a dict with a 'model' or 'state_dict' entry)")
    keys = [k for k in obj if isinstance(k, str)]
    if keys and all(k.startswith("module.") for k in keys):  # DistributedDataParallel wrapper
        obj = {k[len("module."):]: v for k, v in obj.items()}
    if any(k.startswith("vae.") for k in obj):
        n_other = sum(1 for k in obj if not k.startswith("vae."))
        if n_other:
            print(f"convert.py: full NUWA state dict: using its vae.* keys, ignoring {n_other} others",
                  file=sys.stderr)
        obj = {k[len("vae."):]: v for k, v in obj.items() if k.startswith("vae.")}
    return obj


def prepare_vae_tensors(cfg, state_dict):
    """Validate a VQGanVAE state dict against the (normalised) config.

    Returns an ordered {name (no prefix): float32 ndarray in PyTorch shape}; the codebook is
    reshaped to (K, cd).  Raises ConvertError naming the key and shapes on any mismatch.
    """
    sd = {}
    for k, v in state_dict.items():
        if k.startswith("vae."):
            k = k[len("vae."):]
        sd[k] = v

    if "vq._codebook.initted" in sd:
        try:
            initted = bool(np.asarray(_to_numpy_f32("vq._codebook.initted", sd["vq._codebook.initted"])).all())
        except Exception:
            initted = True
        if not initted:
            warn("vq._codebook.initted is False: this codebook was never k-means initialised; the "
                 "reference would overwrite it with k-means of the first batch it sees (even in eval)")

    exp = expected_shapes(cfg)
    out = {}
    missing = [k for k in exp if k not in sd]
    if missing:
        raise ConvertError(
            f"missing tensor {missing[0]!r} (expected shape {tuple(exp[missing[0]])})"
            + (f" and {len(missing) - 1} more: {missing[1:6]}{' ...' if len(missing) > 6 else ''}" if len(missing) > 1 else "")
            + "; is the config (dim, num_layers, layer_mults, num_resnet_blocks, use_attn, ...) right?")
    for k, shape in exp.items():
        a = _to_numpy_f32(k, sd[k])
        if k == "vq._codebook.embed":
            if a.ndim == 3 and a.shape[0] == 1:
                a = a[0]
            elif a.ndim == 3:
                raise ConvertError(f"{k}: shape {tuple(a.shape)}: separate codebooks per head are not supported "
                                   f"(expected {tuple(shape)} or (1, {shape[0]}, {shape[1]}))")
        if tuple(a.shape) != tuple(shape):
            extra = f" or (1, {shape[0]}, {shape[1]})" if k == "vq._codebook.embed" else ""
            raise ConvertError(f"{k}: checkpoint shape {tuple(sd[k].shape)} does not match the shape "
                               f"{tuple(shape)}{extra} implied by the config")
        if not np.all(np.isfinite(a)):
            raise ConvertError(f"{k}: contains NaN or Inf")
        out[k] = np.ascontiguousarray(a)

    extra = [k for k in sd if k not in exp and not k.endswith(DROP_SUFFIXES)
             and not k.startswith(DROP_PREFIXES)]
    if extra:
        warn(f"ignoring {len(extra)} unexpected tensors: {extra[:6]}{' ...' if len(extra) > 6 else ''}")

    if cfg["vq_use_cosine_sim"]:
        norms = np.linalg.norm(out["vq._codebook.embed"].astype(np.float64), axis=1)
        dev = np.abs(norms - 1.0)
        if dev.max() > 1e-3:
            warn(f"cosine codebook rows are not unit-norm ({int((dev > 1e-3).sum())} of {len(norms)} rows off "
                 f"by > 1e-3, max |norm-1| = {dev.max():.3g}); VQ >= 1.6 uses the stored rows as is")
    return out


# --------------------------------------------------------------------------------------------
# writing

def _encode_weight(name, a, dtype):
    """(array, raw_dtype) for one weight tensor; only >=2-D '.weight' tensors and the codebook are
    narrowed, biases/norm affines/attention scales stay F32."""
    narrow = dtype != "f32" and ((name.endswith(".weight") and a.ndim >= 2) or name.endswith("_codebook.embed"))
    if not narrow:
        return a.astype(np.float32), None
    if dtype == "f16":
        if np.abs(a).max(initial=0.0) > 65504.0:
            raise ConvertError(f"{name}: values exceed the float16 range; use --dtype bf16 or f32")
        return a.astype(np.float16), None
    # bf16: round to nearest even, stored as raw uint16 with GGUF type BF16 (30)
    u = a.astype(np.float32).view(np.uint32)
    rounded = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16)
    return rounded, GGMLQuantizationType.BF16


def _add_kv(w, key, val):
    if isinstance(val, tuple) and len(val) == 2 and isinstance(val[1], GGUFValueType):
        val, vtype = val
        if vtype == GGUFValueType.ARRAY:
            raise ValueError("give arrays as (list, element_type)")
        if isinstance(val, (list, tuple)):
            w.add_key_value(key, list(val), GGUFValueType.ARRAY, sub_type=vtype)
        else:
            w.add_key_value(key, val, vtype)
        return
    if isinstance(val, bool):
        w.add_bool(key, val)
    elif isinstance(val, (int, np.integer)):
        if 0 <= val < 2 ** 32:
            w.add_uint32(key, int(val))
        else:
            w.add_int64(key, int(val))
    elif isinstance(val, float):
        w.add_float32(key, val)
    elif isinstance(val, str):
        w.add_key_value(key, val, GGUFValueType.STRING)  # (add_string drops empty strings)
    elif isinstance(val, (list, tuple)):
        if all(isinstance(x, bool) for x in val):
            sub = GGUFValueType.BOOL
        elif all(isinstance(x, (int, np.integer)) and x >= 0 for x in val):
            sub = GGUFValueType.UINT32
        elif all(isinstance(x, (int, np.integer)) for x in val):
            sub = GGUFValueType.INT32
        elif all(isinstance(x, (int, float)) for x in val):
            sub = GGUFValueType.FLOAT32
        elif all(isinstance(x, str) for x in val):
            sub = GGUFValueType.STRING
        else:
            raise ValueError(f"{key}: unsupported array {val!r}")
        w.add_key_value(key, [x for x in val], GGUFValueType.ARRAY, sub_type=sub)
    else:
        raise ValueError(f"{key}: unsupported metadata value {val!r}")


def vae_metadata(cfg):
    """The nuwa.vae.* metadata (docs/FORMAT.md) for a normalised config, in file order."""
    U, B = GGUFValueType.UINT32, GGUFValueType.BOOL
    return {
        "nuwa.vae.image_size": (cfg["image_size"], U),
        "nuwa.vae.channels": (cfg["channels"], U),
        "nuwa.vae.dim": (cfg["dim"], U),
        "nuwa.vae.num_layers": (cfg["num_layers"], U),
        "nuwa.vae.layer_mults": (list(cfg["layer_mults"]), U),
        "nuwa.vae.num_resnet_blocks": (list(cfg["num_resnet_blocks"]), U),
        "nuwa.vae.use_attn": ([bool(a) for a in cfg["use_attn"]], B),
        "nuwa.vae.attn_heads": (cfg["attn_heads"], U),
        "nuwa.vae.attn_dim_head": (cfg["attn_dim_head"], U),
        "nuwa.vae.resnet_groups": (cfg["resnet_groups"], U),
        "nuwa.vae.first_conv_kernel_size": (cfg["first_conv_kernel_size"], U),
        "nuwa.vae.codebook_size": (cfg["vq_codebook_size"], U),
        "nuwa.vae.codebook_dim": (cfg["vq_codebook_dim"], U),
        "nuwa.vae.use_cosine_sim": (bool(cfg["vq_use_cosine_sim"]), B),
    }


def write_vae_gguf(path, cfg, state_dict, dtype="f32", extra_tensors=None, extra_kv=None, name=None):
    """Validate a VQGanVAE state dict and write it as a libnuwa GGUF file.

    path: output file.  cfg: VQGanVAE keyword arguments (partial; defaults as the reference).
    state_dict: VAE state dict (keys with or without 'vae.'; torch tensors or arrays; the codebook
    as (K,cd) or (1,K,cd); cluster_size/embed_avg/initted/discr.*/vgg.* are dropped).
    dtype: 'f32' | 'f16' | 'bf16' for the >=2-D weights and the codebook.
    extra_tensors: {name: array} written verbatim after the weights, in PyTorch shape order
    (float64/float32 -> F32, integer -> I32, float16 -> F16).
    extra_kv: {key: value} (bool -> BOOL, int -> UINT32, float -> FLOAT32, str -> STRING, lists
    -> arrays) or {key: (value, GGUFValueType)} for an explicit (element) type.
    Returns the normalised config.
    """
    if dtype not in DTYPES:
        raise ConvertError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    ncfg = normalize_config(cfg)
    tensors = prepare_vae_tensors(ncfg, state_dict)

    w = gguf.GGUFWriter(str(path), ARCH)  # writes general.architecture = "nuwa"
    if name:
        w.add_key_value("general.name", name, GGUFValueType.STRING)
    for k, v in vae_metadata(ncfg).items():
        _add_kv(w, k, v)
    for k, v in (extra_kv or {}).items():
        _add_kv(w, k, v)

    for k, a in tensors.items():
        data, raw = _encode_weight(k, a, dtype)
        w.add_tensor("vae." + k, data, raw_dtype=raw)
    for k, a in (extra_tensors or {}).items():
        w.add_tensor(k, _extra_array(k, a))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return ncfg


def read_gguf_tensors(path):
    """{name: float32/int32 ndarray in PyTorch shape} of a GGUF file (BF16/F16 widened to F32)."""
    r = gguf.GGUFReader(str(path))
    out = {}
    for t in r.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        if t.tensor_type == GGMLQuantizationType.BF16:
            u = np.frombuffer(np.ascontiguousarray(t.data).tobytes(), dtype=np.uint16)
            a = (u.astype(np.uint32) << np.uint32(16)).view(np.float32).reshape(shape)
        elif t.tensor_type == GGMLQuantizationType.F16:
            a = np.asarray(t.data, dtype=np.float32).reshape(shape)
        else:
            a = np.array(t.data).reshape(shape)
        out[t.name] = a
    return out


# --------------------------------------------------------------------------------------------
# whole NUWA model (transformer + VQGAN): docs/FORMAT.md "Transformer", docs/MODEL.md section 2.6

# NUWA constructor defaults (nuwa_pytorch/nuwa_pytorch.py, 0.7.8) for everything inference reads.
NUWA_DEFAULTS = {
    "dim": None,                      # required
    "max_video_frames": 5,
    "text_num_tokens": 49408,
    "text_max_seq_len": 256,
    "text_enc_depth": 6,
    "text_enc_dim_head": 64,
    "text_enc_heads": 8,
    "text_rotary_pos_emb": True,
    "enc_reversible": False,
    "dec_depth": 6,
    "dec_dim_head": 64,
    "dec_heads": 8,
    "dec_reversible": False,
    "shift_video_tokens": True,
    "sparse_3dna_kernel_size": 3,     # int k -> (k,k,k); or (kf,kh,kw)
    "sparse_3dna_dilation": 1,        # int D -> cycle (1,...,D); or the cycle itself
    "sparse_3dna_rel_pos_bias": False,
}

# NUWA constructor arguments that do not change inference results (accepted and ignored).
NUWA_TRAINING_ONLY = {"attn_dropout", "ff_dropout", "ff_chunk_size", "embed_gradient_frac",
                      "sparse_3dna_query_num_frames_chunk", "image_size"}

NUWA_FF_MULT = 4  # fixed in NUWA


def normalize_nuwa_config(cfg):
    """Full, expanded config of a whole NUWA model from its keyword arguments.

    ``cfg`` holds NUWA keyword arguments plus ``"vae"``: a dict of VQGanVAE keyword arguments.
    Returns a dict with every key of NUWA_DEFAULTS (kernel size as 3 ints, dilation as the cycle
    list), ``"vae"`` (normalize_config of the VAE part) and the derived ``fmap``, ``num_image_tokens``.
    """
    if not isinstance(cfg, dict):
        raise ConvertError("NUWA config must be a JSON object")
    cfg = dict(cfg)
    vae_cfg = cfg.pop("vae", None)
    if not isinstance(vae_cfg, dict):
        raise ConvertError("NUWA config needs a \"vae\" object with the VQGanVAE keyword arguments")
    if "image_size" in cfg and cfg["image_size"] is not None:
        if "image_size" in vae_cfg and int(vae_cfg["image_size"]) != int(cfg["image_size"]):
            raise ConvertError(f"NUWA image_size {cfg['image_size']} differs from vae.image_size "
                               f"{vae_cfg['image_size']} (NUWA takes the VAE's)")
        vae_cfg.setdefault("image_size", cfg["image_size"])
    unknown = []
    for k in list(cfg):
        if k in NUWA_DEFAULTS:
            continue
        cfg.pop(k)
        if k not in NUWA_TRAINING_ONLY:
            unknown.append(k)
    if unknown:
        warn(f"ignoring unknown NUWA config keys {unknown}")

    out = dict(NUWA_DEFAULTS)
    out.update({k: v for k, v in cfg.items() if v is not None})
    if out["dim"] is None:
        raise ConvertError("missing required NUWA argument 'dim' (in --config)")
    for k in ("dim", "max_video_frames", "text_num_tokens", "text_max_seq_len", "text_enc_depth",
              "text_enc_dim_head", "text_enc_heads", "dec_depth", "dec_dim_head", "dec_heads"):
        out[k] = _as_int(out[k], k)
        if out[k] <= 0:
            raise ConvertError(f"{k} must be positive, got {out[k]}")
    for k in ("text_rotary_pos_emb", "enc_reversible", "dec_reversible", "shift_video_tokens",
              "sparse_3dna_rel_pos_bias"):
        out[k] = _as_bool(out[k], k)

    ks = out["sparse_3dna_kernel_size"]
    if isinstance(ks, (list, tuple)):
        ks = [_as_int(k, "sparse_3dna_kernel_size") for k in ks]
        if len(ks) != 3:
            raise ConvertError(f"sparse_3dna_kernel_size must be an int or 3 ints (frames, rows, cols), got {ks}")
    else:
        ks = [_as_int(ks, "sparse_3dna_kernel_size")] * 3
    if any(k <= 0 or k % 2 == 0 for k in ks):
        raise ConvertError(f"sparse_3dna_kernel_size must be odd and positive, got {ks}")
    out["sparse_3dna_kernel_size"] = ks

    dl = out["sparse_3dna_dilation"]
    if isinstance(dl, (list, tuple)):
        dl = [_as_int(d, "sparse_3dna_dilation") for d in dl]
        if not dl:
            raise ConvertError("sparse_3dna_dilation: empty cycle")
    else:
        dl = list(range(1, _as_int(dl, "sparse_3dna_dilation") + 1))
        if not dl:
            raise ConvertError("sparse_3dna_dilation must be >= 1")
    if any(d <= 0 for d in dl):
        raise ConvertError(f"sparse_3dna_dilation entries must be positive, got {dl}")
    out["sparse_3dna_dilation"] = dl

    vcfg = normalize_config(vae_cfg)
    out["vae"] = vcfg
    out["fmap"] = vcfg["image_size"] // (2 ** vcfg["num_layers"])
    out["num_image_tokens"] = vcfg["vq_codebook_size"]
    return out


def _axial_shapes(prefix, shape, dim, out):
    """AxialPositionalEmbedding(dim, shape): axes of length 1 dropped, the rest axial1, axial2, ..."""
    n = 0
    for length in shape:
        if length > 1:
            n += 1
            out[f"{prefix}axial{n}"] = (length, dim)


def nuwa_expected_shapes(ncfg):
    """Ordered {state-dict name: PyTorch shape} of every transformer tensor inference reads
    (everything but ``vae.*``; no reversible aliases, no ``mask`` buffers)."""
    c = ncfg
    d = c["dim"]
    V = c["num_image_tokens"]
    ff_inner = (d * NUWA_FF_MULT * 2) // 3
    out = {}

    def sandwich(p):
        for n in ("prenorm", "postnorm"):
            out[f"{p}{n}.weight"] = (d,)
            out[f"{p}{n}.bias"] = (d,)

    def attention(p, h, dh):
        inner = h * dh
        out[p + "null_k"] = (h, 1, dh)
        out[p + "null_v"] = (h, 1, dh)
        out[p + "talking_heads.weight"] = (h, h, 1, 1)
        out[p + "to_q.weight"] = (inner, d)
        out[p + "to_kv.weight"] = (2 * inner, d)
        out[p + "to_out.weight"] = (d, inner)

    def sparse3dna(p, h, dh):
        inner = h * dh
        out[p + "to_q.weight"] = (inner, d)
        out[p + "to_kv.weight"] = (2 * inner, d)
        out[p + "talking_heads.weight"] = (h, h, 1, 1)
        out[p + "to_out.weight"] = (d, inner)
        out[p + "to_out.bias"] = (d,)
        if c["sparse_3dna_rel_pos_bias"]:
            _axial_shapes(p + "rel_pos_bias.", c["sparse_3dna_kernel_size"], h, out)

    def ff(p):
        out[p + "net.0.weight"] = (2 * ff_inner, d)
        out[p + "net.3.weight"] = (d, ff_inner)

    out["video_bos"] = (d,)
    out["text_embedding.embed.weight"] = (c["text_num_tokens"], d)
    if c["text_rotary_pos_emb"]:
        r = min(32, c["text_enc_dim_head"])
        out["text_rotary_pos_emb.inv_freq"] = (len(range(0, r, 2)),)
    else:
        out["text_abs_pos_emb.embed.weight"] = (c["text_max_seq_len"], d)

    he, dhe = c["text_enc_heads"], c["text_enc_dim_head"]
    for i in range(c["text_enc_depth"]):
        p = f"text_transformer.layers.{i}."
        if c["enc_reversible"]:
            sandwich(p + "0."); attention(p + "0.fn.fn.", he, dhe)
            sandwich(p + "1."); ff(p + "1.fn.fn.")
        else:
            sandwich(p + "0."); attention(p + "0.fn.", he, dhe)
            sandwich(p + "2."); ff(p + "2.fn.")
    out["text_transformer.norm.norm.weight"] = (d,)
    out["text_transformer.norm.norm.bias"] = (d,)

    out["image_embedding.embed.weight"] = (V, d)
    _axial_shapes("video_pos_emb.", (c["max_video_frames"], c["fmap"], c["fmap"]), d, out)

    hd, dhd = c["dec_heads"], c["dec_dim_head"]
    for i in range(c["dec_depth"]):
        if c["dec_reversible"]:
            p, q = f"video_transformer.layers.{2 * i}.", f"video_transformer.layers.{2 * i + 1}."
            sandwich(p + "0."); sparse3dna(p + "0.fn.fn.", hd, dhd)
            sandwich(p + "1."); ff(p + "1.fn.fn.")
            sandwich(q + "0."); attention(q + "0.fn.", hd, dhd)
            sandwich(q + "1."); ff(q + "1.fn.fn.")
        else:
            p = f"video_transformer.layers.{i}."
            w = "fn.fn." if c["shift_video_tokens"] else "fn."
            sandwich(p + "0."); sparse3dna(p + "0." + w, hd, dhd)
            sandwich(p + "1."); attention(p + "1.fn.", hd, dhd)
            sandwich(p + "2."); ff(p + "2." + w)
    out["video_transformer.norm.norm.weight"] = (d,)
    out["video_transformer.norm.norm.bias"] = (d,)
    out["to_logits.weight"] = (V, d)
    return out


_ALIAS_RE = None


def _canonical_nuwa_name(k):
    """Reversible alias '<X>.net.blocks.{j}.f.net.<rest>' -> '<X>.layers.{j}.0.<rest>' (g -> .1.);
    None if k is not an alias."""
    global _ALIAS_RE
    if _ALIAS_RE is None:
        import re
        _ALIAS_RE = re.compile(r"^(text_transformer|video_transformer)\.net\.blocks\.(\d+)\.([fg])\.net\.(.+)$")
    m = _ALIAS_RE.match(k)
    if not m:
        return None
    return f"{m.group(1)}.layers.{m.group(2)}.{0 if m.group(3) == 'f' else 1}.{m.group(4)}"


def prepare_nuwa_tensors(ncfg, state_dict):
    """Validate a whole NUWA state dict against the normalised config.

    Returns (vae_tensors, nuwa_tensors, report): ordered {name: float32 ndarray (PyTorch shape)}
    for the VAE (names without 'vae.') and the transformer, and a dict with the counts of dropped
    aliases / mask buffers.  Reversible aliases are checked to be bitwise equal to the kept tensor
    (or used when the kept name is absent).  Raises ConvertError naming the key on any problem.
    """
    sd = dict(state_dict)
    vae_sd = {k[len("vae."):]: v for k, v in sd.items() if k.startswith("vae.")}
    if not vae_sd:
        raise ConvertError("the checkpoint has no vae.* tensors: a NUWA GGUF needs the VQGAN too")
    vae_t = prepare_vae_tensors(ncfg["vae"], vae_sd)

    rest = {k: v for k, v in sd.items() if not k.startswith("vae.")}
    n_alias = n_mask = 0
    canon = {}
    aliases = {}
    for k, v in rest.items():
        c = _canonical_nuwa_name(k)
        if c is None:
            canon[k] = v
        else:
            aliases[k] = (c, v)
    for k, (c, v) in aliases.items():
        a = _to_numpy_f32(k, v)
        if c in canon:
            b = _to_numpy_f32(c, canon[c])
            if a.shape != b.shape or a.dtype != b.dtype or a.tobytes() != b.tobytes():
                raise ConvertError(f"reversible alias {k!r} differs from {c!r} (they share storage in "
                                   "nuwa-pytorch; the checkpoint is inconsistent)")
        else:
            canon[c] = v
        n_alias += 1

    exp = nuwa_expected_shapes(ncfg)
    missing = [k for k in exp if k not in canon]
    if missing:
        raise ConvertError(
            f"missing tensor {missing[0]!r} (expected shape {tuple(exp[missing[0]])})"
            + (f" and {len(missing) - 1} more: {missing[1:6]}{' ...' if len(missing) > 6 else ''}"
               if len(missing) > 1 else "")
            + "; is the NUWA config (enc_reversible, dec_reversible, shift_video_tokens, depths, "
              "sparse_3dna_rel_pos_bias, text_rotary_pos_emb, ...) right?")
    out = {}
    for k, shape in exp.items():
        a = _to_numpy_f32(k, canon[k])
        if tuple(a.shape) != tuple(shape):
            raise ConvertError(f"{k}: checkpoint shape {tuple(a.shape)} does not match the shape "
                               f"{tuple(shape)} implied by the config")
        if not np.all(np.isfinite(a)):
            raise ConvertError(f"{k}: contains NaN or Inf")
        out[k] = np.ascontiguousarray(a)

    if "text_rotary_pos_emb.inv_freq" in out:
        r = min(32, ncfg["text_enc_dim_head"])
        ref = 1.0 / (10000.0 ** (np.arange(0, r, 2, dtype=np.float64) / r))
        got = out["text_rotary_pos_emb.inv_freq"].astype(np.float64)
        if np.max(np.abs(got - ref) / ref) > 1e-6:
            warn("text_rotary_pos_emb.inv_freq differs from 1/10000^(2k/r); the stored values are kept")

    extra = []
    for k in canon:
        if k in exp:
            continue
        if k.endswith(".mask") and (k.startswith("video_transformer.")):
            n_mask += 1
            continue
        extra.append(k)
    if extra:
        warn(f"ignoring {len(extra)} unexpected tensors: {extra[:6]}{' ...' if len(extra) > 6 else ''}")
    return vae_t, out, {"aliases_dropped": n_alias, "masks_dropped": n_mask, "ignored": len(extra)}


def nuwa_metadata(ncfg):
    """The nuwa.* transformer metadata (docs/FORMAT.md), in file order."""
    U, B = GGUFValueType.UINT32, GGUFValueType.BOOL
    c = ncfg
    return {
        "nuwa.dim": (c["dim"], U),
        "nuwa.max_video_frames": (c["max_video_frames"], U),
        "nuwa.text_num_tokens": (c["text_num_tokens"], U),
        "nuwa.text_max_seq_len": (c["text_max_seq_len"], U),
        "nuwa.text_enc_depth": (c["text_enc_depth"], U),
        "nuwa.text_enc_heads": (c["text_enc_heads"], U),
        "nuwa.text_enc_dim_head": (c["text_enc_dim_head"], U),
        "nuwa.text_rotary_pos_emb": (c["text_rotary_pos_emb"], B),
        "nuwa.enc_reversible": (c["enc_reversible"], B),
        "nuwa.dec_depth": (c["dec_depth"], U),
        "nuwa.dec_heads": (c["dec_heads"], U),
        "nuwa.dec_dim_head": (c["dec_dim_head"], U),
        "nuwa.dec_reversible": (c["dec_reversible"], B),
        "nuwa.shift_video_tokens": (c["shift_video_tokens"], B),
        "nuwa.sparse_3dna_kernel_size": (list(c["sparse_3dna_kernel_size"]), U),
        "nuwa.sparse_3dna_dilation": (list(c["sparse_3dna_dilation"]), U),
        "nuwa.sparse_3dna_rel_pos_bias": (c["sparse_3dna_rel_pos_bias"], B),
    }


def _extra_array(k, a):
    """An extra (test) tensor as a contiguous F32/F16/I32 ndarray (write_vae_gguf, write_nuwa_gguf)."""
    try:
        import torch
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    a = np.asarray(a)
    if a.dtype == np.float64:
        a = a.astype(np.float32)
    elif np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
        if a.size and (a.min() < -2 ** 31 or a.max() >= 2 ** 31):
            raise ConvertError(f"{k}: integer values do not fit int32")
        a = a.astype(np.int32)
    elif a.dtype not in (np.float32, np.float16):
        raise ConvertError(f"{k}: unsupported dtype {a.dtype}")
    if a.ndim == 0:
        a = a.reshape(1)
    return np.ascontiguousarray(a)


def write_nuwa_gguf(path, cfg, state_dict, dtype="f32", extra_tensors=None, extra_kv=None, name=None):
    """Validate a whole NUWA state dict and write it as one libnuwa GGUF file.

    cfg: NUWA keyword arguments with a nested "vae" dict of VQGanVAE keyword arguments.
    state_dict: ``NUWA.state_dict()`` (torch tensors or arrays).  The VQGAN goes under ``vae.``
    exactly as write_vae_gguf writes it; the transformer tensors keep their state-dict names
    (reversible ``net.blocks.*`` aliases and Sparse3DNA ``mask`` buffers are dropped).
    dtype/extra_tensors/extra_kv/name: as write_vae_gguf.  Returns (normalised config, report).
    """
    if dtype not in DTYPES:
        raise ConvertError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    ncfg = normalize_nuwa_config(cfg)
    vae_t, nuwa_t, report = prepare_nuwa_tensors(ncfg, state_dict)

    w = gguf.GGUFWriter(str(path), ARCH)
    if name:
        w.add_key_value("general.name", name, GGUFValueType.STRING)
    for k, v in vae_metadata(ncfg["vae"]).items():
        _add_kv(w, k, v)
    for k, v in nuwa_metadata(ncfg).items():
        _add_kv(w, k, v)
    for k, v in (extra_kv or {}).items():
        _add_kv(w, k, v)
    for k, a in vae_t.items():
        data, raw = _encode_weight(k, a, dtype)
        w.add_tensor("vae." + k, data, raw_dtype=raw)
    for k, a in nuwa_t.items():
        data, raw = _encode_weight(k, a, dtype)
        w.add_tensor(k, data, raw_dtype=raw)
    for k, a in (extra_tensors or {}).items():
        w.add_tensor(k, _extra_array(k, a))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    report = dict(report, tensors=len(vae_t) + len(nuwa_t))
    return ncfg, report


def is_nuwa_config(cfg):
    """True if a --config object describes a whole NUWA (has a nested "vae" object)."""
    return isinstance(cfg, dict) and isinstance(cfg.get("vae"), dict)


def _unwrap_nuwa_checkpoint(obj):
    """Full NUWA state dict out of what torch.load returned (keeps every key, 'vae.*' included)."""
    for _ in range(3):
        if isinstance(obj, dict):
            for key in ("model", "state_dict"):
                if key in obj and isinstance(obj[key], dict):
                    obj = obj[key]
                    break
            else:
                break
    if hasattr(obj, "state_dict") and callable(obj.state_dict) and not isinstance(obj, dict):
        obj = obj.state_dict()
    if not isinstance(obj, dict) or not obj:
        raise ConvertError("input does not contain a state dict (expected a dict of tensors, "
                           "or a dict with a 'model' or 'state_dict' entry)")
    keys = [k for k in obj if isinstance(k, str)]
    if keys and all(k.startswith("module.") for k in keys):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    if not any(isinstance(k, str) and k.startswith("vae.") for k in obj):
        raise ConvertError("the config describes a whole NUWA (it has a \"vae\" object) but the checkpoint has "
                           "no vae.* tensors; for a VQGanVAE checkpoint pass the VAE arguments only")
    return obj


def convert_nuwa_cli(args, cfg):
    """CLI path for a whole NUWA (--config has a nested "vae" object).  Returns the exit status."""
    flags = [k for k in CLI_KEYS if getattr(args, k, None) is not None]
    if flags:
        raise ConvertError(f"--{flags[0].replace('_', '-')}: with a NUWA config (nested \"vae\" object) give the "
                           "VQGanVAE arguments inside its \"vae\" object, not as flags")
    import torch
    try:
        obj = torch.load(args.checkpoint, map_location="cpu")
    except Exception as e:
        raise ConvertError(f"cannot load {args.checkpoint}: {e}")
    sd = _unwrap_nuwa_checkpoint(obj)
    tok = tokenizer_metadata() if getattr(args, "tokenizer", None) is not False else None
    ncfg, rep = write_nuwa_gguf(args.output, cfg, sd, dtype=args.dtype, name=args.name, extra_kv=tok)
    v = ncfg["vae"]
    print(f"convert.py: wrote {args.output}: NUWA, {rep['tensors']} tensors ({args.dtype}); dim {ncfg['dim']}, "
          f"F {ncfg['max_video_frames']}, fmap {ncfg['fmap']}, V {ncfg['num_image_tokens']}, "
          f"text {ncfg['text_enc_depth']}x{ncfg['text_enc_heads']}x{ncfg['text_enc_dim_head']}"
          f"{' rev' if ncfg['enc_reversible'] else ''}, "
          f"dec {ncfg['dec_depth']}x{ncfg['dec_heads']}x{ncfg['dec_dim_head']}{' rev' if ncfg['dec_reversible'] else ''}, "
          f"kernel {tuple(ncfg['sparse_3dna_kernel_size'])}, dilation {tuple(ncfg['sparse_3dna_dilation'])}; "
          f"VAE dim {v['dim']}, S {v['image_size']}, layers {v['num_layers']}; dropped {rep['aliases_dropped']} "
          f"reversible aliases and {rep['masks_dropped']} mask buffers")
    return 0


# --------------------------------------------------------------------------------------------
# text tokenizer (docs/FORMAT.md "Text tokenizer", docs/MODEL.md section 6)

TOKENIZER_MODEL = "clip-bpe"
TOKENIZER_N_MERGES = 49152 - 256 - 2  # SimpleTokenizer reads lines 2 .. 48895 of the file


def default_bpe_path():
    """bpe_simple_vocab_16e6.txt of the installed nuwa-pytorch (found without importing it)."""
    import importlib.util
    import os
    spec = importlib.util.find_spec("nuwa_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ConvertError("nuwa_pytorch is not installed, so its BPE vocabulary cannot be found "
                           "(run: sh tools/setup_env.sh, or pass --no-tokenizer)")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "bpe_simple_vocab_16e6.txt")
    if not os.path.isfile(path):
        raise ConvertError(f"{path} is missing")
    return path


def read_bpe_merges(path=None):
    """The merges SimpleTokenizer uses, in rank order, each as 'left right'."""
    path = path or default_bpe_path()
    with open(path, encoding="utf8") as f:
        lines = f.read().split("\n")
    merges = lines[1:TOKENIZER_N_MERGES + 1]
    if len(merges) != TOKENIZER_N_MERGES:
        raise ConvertError(f"{path}: {len(merges)} merges, expected {TOKENIZER_N_MERGES}")
    for i, m in enumerate(merges):
        parts = m.split()
        if len(parts) != 2 or m != " ".join(parts):
            raise ConvertError(f"{path}:{i + 2}: not a 'left right' merge: {m!r}")
    return merges


def tokenizer_metadata(path=None):
    """The nuwa.tokenizer.* keys (for extra_kv of write_vae_gguf / write_nuwa_gguf)."""
    return {
        "nuwa.tokenizer.model": (TOKENIZER_MODEL, GGUFValueType.STRING),
        "nuwa.tokenizer.merges": (read_bpe_merges(path), GGUFValueType.STRING),
    }


# --------------------------------------------------------------------------------------------
# CLI

def _list_arg(s):
    s = s.strip()
    if s.startswith("["):
        return json.loads(s)
    parts = [p.strip() for p in s.strip("()").split(",") if p.strip()]
    return parts


def _scalar_or_list(s):
    v = _list_arg(s)
    if isinstance(v, list) and len(v) == 1 and "," not in s and not s.strip().startswith(("[", "(")):
        return v[0]
    return v


def build_arg_parser():
    p = argparse.ArgumentParser(
        prog="convert.py",
        description="Convert a nuwa-pytorch 0.7.8 VQGanVAE checkpoint (.pt state dict) to a libnuwa "
                    "GGUF file (docs/FORMAT.md).",
        epilog="Per-layer values: --num-resnet-blocks 2 means (0,...,0,2) like the reference; "
               "--num-resnet-blocks 1,0,1 gives one value per layer (same for --use-attn true / "
               "true,false,false).  With --dtype f16/bf16 only >=2-D '.weight' tensors and the codebook "
               "are narrowed; biases, norms and attention scales stay F32.  Exit status 1 on bad input.",
    )
    p.add_argument("checkpoint", help="input .pt (VQGanVAE or NUWA state dict, or a dict with 'model'/'state_dict')")
    p.add_argument("-o", "--output", required=True, help="output .gguf")
    p.add_argument("--config", help="JSON file with VQGanVAE constructor keyword arguments")
    p.add_argument("--dtype", choices=DTYPES, default="f32", help="storage type of the weights (default f32)")
    p.add_argument("--name", help="general.name to store")
    p.add_argument("--vae-only", action="store_true",
                   help="with a NUWA --config (nested \"vae\" object): write only the VQGAN")
    p.add_argument("--tokenizer", action=argparse.BooleanOptionalAction, default=None,
                   help="store the text tokenizer (nuwa.tokenizer.*: the BPE merges of the installed "
                        "nuwa-pytorch); default: on for a whole NUWA, off for a VQGanVAE")
    g = p.add_argument_group("VQGanVAE constructor arguments (override --config; default = reference default)")
    g.add_argument("--dim", type=int, help="base width (required unless in --config)")
    g.add_argument("--image-size", type=int, help="frame side (required unless in --config)")
    g.add_argument("--channels", type=int, help="default 3")
    g.add_argument("--num-layers", type=int, help="default 4")
    g.add_argument("--layer-mults", type=_list_arg, help="comma list, default 1,2,4,...")
    g.add_argument("--num-resnet-blocks", type=_scalar_or_list, help="scalar or comma list, default 1")
    g.add_argument("--use-attn", type=_scalar_or_list, help="scalar or comma list of true/false, default true")
    g.add_argument("--attn-heads", type=int, help="default 8")
    g.add_argument("--attn-dim-head", type=int, help="default 64")
    g.add_argument("--resnet-groups", type=int, help="default 16")
    g.add_argument("--first-conv-kernel-size", type=int, help="default 5")
    g.add_argument("--vq-codebook-size", type=int, help="default 512")
    g.add_argument("--vq-codebook-dim", type=int, help="default 256")
    g.add_argument("--vq-use-cosine-sim", help="true/false, default true")
    return p


CLI_KEYS = ("dim", "image_size", "channels", "num_layers", "layer_mults", "num_resnet_blocks", "use_attn",
            "attn_heads", "attn_dim_head", "resnet_groups", "first_conv_kernel_size", "vq_codebook_size",
            "vq_codebook_dim", "vq_use_cosine_sim")


def main(argv=None):
    args = build_arg_parser().parse_args(argv)
    try:
        cfg = {}
        if args.config:
            with open(args.config) as f:
                cfg = json.load(f)
            if not isinstance(cfg, dict):
                raise ConvertError(f"{args.config}: expected a JSON object of VQGanVAE arguments")
            if is_nuwa_config(cfg):
                if not args.vae_only:
                    return convert_nuwa_cli(args, cfg)
                cfg = dict(cfg["vae"])
        for k in CLI_KEYS:
            v = getattr(args, k)
            if v is not None:
                cfg[k] = v
        import torch
        try:
            obj = torch.load(args.checkpoint, map_location="cpu")
        except Exception as e:
            raise ConvertError(f"cannot load {args.checkpoint}: {e}")
        sd = unwrap_checkpoint(obj)
        tok = tokenizer_metadata() if args.tokenizer else None
        ncfg = write_vae_gguf(args.output, cfg, sd, dtype=args.dtype, name=args.name, extra_kv=tok)
        n = len(expected_shapes(ncfg))
        print(f"convert.py: wrote {args.output}: {n} tensors ({args.dtype}), "
              f"dim {ncfg['dim']}, S {ncfg['image_size']}, layers {ncfg['num_layers']}, "
              f"K {ncfg['vq_codebook_size']}, cd {ncfg['vq_codebook_dim']}, "
              f"{'cosine' if ncfg['vq_use_cosine_sim'] else 'euclidean'}")
    except ConvertError as e:
        print(f"convert.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
