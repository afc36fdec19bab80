/*
 * vqgan.h — the VQGAN frame tokenizer (nuwa-pytorch VQGanVAE, MODEL.md §1): layer plan built
 * from the model file's hyperparameters, weights, and the encode/decode passes written as
 * calls through an NwOps table.
 */
#ifndef NW_VQGAN_H
#define NW_VQGAN_H

#include <stdint.h>

#include "gguf.h"
#include "internal.h"
#include "ops.h"
#include "weights.h"

#define NW_VAE_MAX_LAYERS 16

enum NwVaeKind {
    NW_VAE_CONV,    /* plain conv (first / last) */
    NW_VAE_DOWN,    /* conv 4x4 s2 p1 + leaky ReLU */
    NW_VAE_RES,     /* encoder ResBlock */
    NW_VAE_GLURES,  /* decoder GLUResBlock */
    NW_VAE_ATTN,    /* VQGanAttention */
    NW_VAE_UP,      /* bilinear x2 + conv 3x3 + leaky ReLU */
};

typedef struct NwVaeConv {
    int cin, cout, k, stride, pad;
    NwW w, b;
} NwVaeConv;

typedef struct NwVaeModule {
    int kind;
    int c;              /* channels at the module input */
    int size;           /* spatial side at the module input */
    NwVaeConv conv[3];  /* RES/GLURES: net.0, net.3, net.6; ATTN: to_qkv, to_out; others: conv[0] */
    NwW gn_g[2], gn_b[2];
    /* attention */
    NwW scale;          /* exp(scale), (heads), precomputed */
    NwW bias;           /* continuous position bias (heads, n, n), precomputed */
    NwW ln_g, ln_b;
} NwVaeModule;

typedef struct NwVae {
    int image_size, channels, dim, num_layers;
    int layer_mults[NW_VAE_MAX_LAYERS], num_resnet_blocks[NW_VAE_MAX_LAYERS];
    int use_attn[NW_VAE_MAX_LAYERS];
    int attn_heads, attn_dim_head, resnet_groups, first_conv_kernel_size;
    int codebook_size, codebook_dim, feature_dim, fmap_size, use_cosine_sim, has_proj;

    int n_enc, n_dec;
    NwVaeModule *enc, *dec;
    NwW codebook;              /* (K, cd) */
    NwW code_sqnorm;           /* (K) */
    NwW proj_in_w, proj_in_b, proj_out_w, proj_out_b;

    const float *w;            /* the blob the plan is bound to (host or device memory) */
    float *own;                /* the host blob when nw_vae_load made it */
    size_t own_floats;
    size_t max_act;            /* floats of the largest activation (one buffer) */
} NwVae;

/** Reads and checks the nuwa.vae.* hyperparameters and sizes the plan. Returns 0 or
 * NUWA_ERR_BAD_MODEL / NUWA_ERR_NOMEM (logged). */
int nw_vae_hparams(NwVae *vae, const NwGguf *g, const NwLog *log);
/** One loader walk over the plan (weights.h). */
void nw_vae_walk(NwVae *vae, NwLoader *L);
/** After the converting walk: code norms and activation sizes from the host blob L->blob. */
void nw_vae_finish(NwVae *vae, const NwLoader *L);

/** Hyperparameters + weights into a blob of its own (vae->own, vae->w): VQGAN-only users
 * (tests, benchmarks). On failure logs why and returns NUWA_ERR_BAD_MODEL / NUWA_ERR_NOMEM;
 * *vae is then zeroed. */
int nw_vae_load(NwVae *vae, const NwGguf *g, const NwLog *log);
void nw_vae_free(NwVae *vae);

/** Reports every tensor (name, PyTorch shape) that a model with the hyperparameters of `hp`
 * must contain, in plan order (model writers, tests, random models for benchmarks). */
typedef NwTensorFn NwVaeTensorFn;
int nw_vae_describe(const NwVae *hp, NwVaeTensorFn fn, void *opaque);
/** Writes the hyperparameters of `v` as nuwa.vae.* metadata (plus general.architecture). */
int nw_vae_write_hparams(const NwVae *v, NwGgufWriter *w);

/** Scratch (floats) the passes need with these ops and thread count. */
size_t nw_vae_scratch_floats(const NwVae *vae, const NwOps *ops, int n_threads);

/** Working memory of a pass, backend memory: three activation buffers of vae->max_act
 * floats, the planar image and the token grid. */
typedef struct NwVaeBufs {
    float *x, *t1, *t2, *img;
    int32_t *tok;
} NwVaeBufs;

int nw_vae_bufs_alloc(NwVaeBufs *b, const NwVae *vae, const NwOps *ops, const NwCtx *ctx);
void nw_vae_bufs_free(NwVaeBufs *b, const NwOps *ops, const NwCtx *ctx);

enum NwVaeStage { NW_STAGE_ENC = 0, NW_STAGE_QUANT = 1, NW_STAGE_DEC = 2 };
/** Observer of intermediate outputs (tests): stage, module index, tensor (c, h, w) in host
 * memory (downloaded for the hook). */
typedef void (*NwVaeHook)(void *opaque, int stage, int index, const float *x, int c, int h, int w);

/** Encodes one planar float image (channels, S, S) into fmap^2 tokens; margin (may be NULL)
 * receives the top-1 minus top-2 distance of each token. img, tokens, margin: backend memory
 * (img may be b->img, tokens b->tok). */
void nw_vae_encode_image(const NwVae *vae, const NwOps *ops, const NwCtx *ctx, NwVaeBufs *b,
                         const float *img, int32_t *tokens, float *margin, NwVaeHook hook,
                         void *opaque);

/** Decodes fmap^2 tokens (each in [0, K), checked by the caller) into (channels, S, S);
 * backend memory. */
void nw_vae_decode_image(const NwVae *vae, const NwOps *ops, const NwCtx *ctx, NwVaeBufs *b,
                         const int32_t *tokens, float *img, NwVaeHook hook, void *opaque);

#endif
