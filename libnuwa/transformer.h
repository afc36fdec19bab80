/*
 * transformer.h — the NUWA transformer (MODEL.md §2–§4): text encoder, causal 3DNA video decoder
 * and logits head, written as calls through NwOps.
 *
 * The decoder runs on blocks of consecutive rows with per-layer state (NwDecState): the full
 * forward is one block, prefill a few blocks, incremental decoding a block of one row. The state
 * of a layer holds what later rows can read (MODEL.md §4): the last `fmap` prenormed rows of each
 * shifted sublayer, the 3DNA keys/values of the last H_i + block tokens (a ring), and k/v of the
 * bos row; the cross-attention keys/values of the text are computed once per stream.
 */
#ifndef NW_TRANSFORMER_H
#define NW_TRANSFORMER_H

#include <stdint.h>

#include "gguf.h"
#include "internal.h"
#include "ops.h"
#include "weights.h"

/* Weights are offsets into the model's blob (weights.h); NwNuwa.w is the bound base. */
typedef struct NwSandwich {
    NwW pre_g, pre_b, post_g, post_b;
} NwSandwich;

typedef struct NwAttnW {
    NwW q, kv, out, out_b;             /* to_q (inner,d), to_kv (2inner,d), to_out (d,inner) */
    NwW null_k, null_v;                /* (h,dh), dense attention only */
    NwW th;                            /* talking heads (h,h) */
    NwW rel_bias;                      /* 3DNA with rel-pos bias: (K, h), precomputed; else 0 */
} NwAttnW;

typedef struct NwFFW {
    NwW w0, w3;                        /* net.0 (2f,d), net.3 (d,f) */
} NwFFW;

typedef struct NwEncLayer {
    NwSandwich sn_attn, sn_ff;
    NwAttnW attn;
    NwFFW ff;
} NwEncLayer;

typedef struct NwDecLayer {
    NwSandwich sn_attn, sn_cross, sn_ff, sn_ff2;
    NwAttnW attn, cross;
    NwFFW ff, ff2;                     /* ff2: reversible decoders only */
    int dil;
    int horizon;                       /* tokens back the 3DNA window reaches */
} NwDecLayer;

typedef struct NwNuwa {
    int dim, max_frames, text_vocab, text_len, enc_depth, enc_heads, enc_dh, rotary, enc_rev;
    int dec_depth, dec_heads, dec_dh, dec_rev, shift, kernel[3], n_dil, dil[16], rel_bias;
    int fmap, T, V, ff_inner, rot_dim;

    NwW text_emb, text_abs_pos, video_bos, image_emb, to_logits;
    NwW inv_freq;                      /* (rot_dim/2), as stored (the reference's buffer) */
    NwW pos;                           /* (F*T, d) axial positional embedding, summed */
    NwW text_norm_g, text_norm_b, video_norm_g, video_norm_b;
    NwEncLayer *enc;
    NwDecLayer *dec;
    const float *w;                    /* the blob the plan is bound to (host or device) */
    float *own;                        /* the host blob when nw_nuwa_load made it */
    size_t own_floats;
} NwNuwa;

/** Reads the `nuwa.*` hyperparameters and sizes the plan. Returns 0, NUWA_ERR_UNSUPPORTED
 * when the file has no transformer (no `nuwa.dim`), or NUWA_ERR_BAD_MODEL / NUWA_ERR_NOMEM
 * with a logged reason. fmap and V come from the VQGAN. */
int nw_nuwa_hparams(NwNuwa *m, const NwGguf *g, int fmap, int codebook_size, const NwLog *log);
/** One loader walk over the plan (weights.h). */
void nw_nuwa_walk(NwNuwa *m, NwLoader *L);
/** Hyperparameters + tensors into a blob of its own (m->own, m->w); errors as above. */
int nw_nuwa_load(NwNuwa *m, const NwGguf *g, int fmap, int codebook_size, const NwLog *log);
void nw_nuwa_free(NwNuwa *m);

/** Reports every tensor a model with the hyperparameters of `hp` must contain. */
int nw_nuwa_describe(const NwNuwa *hp, int fmap, int codebook_size, NwTensorFn fn, void *opaque);
/** Reports every tensor of a loaded plan `m` (nw_nuwa_load: its own blob) with its offset in
 * m->own, in load order (trainers and exporters address parameters by name this way). */
int nw_nuwa_tensors(const NwNuwa *m, NwTensorAtFn fn, void *opaque);
/** Recomputes the tables derived from parameters (the summed axial positions, the expanded
 * relative position biases) in m->own after the parameters changed (a training step). */
void nw_nuwa_refresh_tables(NwNuwa *m);
/** Writes the nuwa.* hyperparameters of `m`. */
int nw_nuwa_write_hparams(const NwNuwa *m, NwGgufWriter *w);

/* ---- working memory (backend memory, from ops->mem_alloc) ------------------------------ */

/** Per-stream text context: encoder output and per-layer cross keys/values. */
typedef struct NwTextCtx {
    int n;                 /* text length */
    int32_t *ids;          /* (n) the prompt, uploaded once per prompt */
    float *embeds;         /* (n, d) */
    uint8_t *keep;         /* (n) 1 = real token, uploaded with the ids */
    uint8_t *keep_none;    /* (n) all 0: unconditional pass */
    float *kv;             /* per decoder layer (n, 2inner) */
} NwTextCtx;

/** Decoder state of one stream (one pass: conditional or unconditional). */
typedef struct NwDecState {
    int rows;              /* rows consumed so far (row 0 = bos) */
    int shift_cap;         /* rows kept in each shift ring */
    int kv_cap;            /* tokens kept in each 3DNA ring */
    float *shift;          /* per layer, per shifted sublayer (up to 3): (shift_cap, d) */
    float *kv;             /* per layer: (kv_cap, 2inner) */
    float *kv_bos;         /* per layer: (2inner) */
} NwDecState;

/** Scratch for running blocks of up to `max_rows` rows. */
typedef struct NwTfWork {
    int max_rows;
    float *x1, *x2, *n1, *t1, *t2, *t3, *u, *y; /* rows x d / inner / 2ff */
    float *scratch;
    size_t scratch_len;
    float *layer_out;      /* tests (HOST memory): when set, nw_dec_run downloads each layer's
                              residual stream, (depth, n, d), reversible (depth, n, 2d) = cat(x1, x2) */
} NwTfWork;

int nw_tf_work_alloc(NwTfWork *w, const NwNuwa *m, const NwOps *ops, const NwCtx *ctx, int max_rows,
                     int n_threads);
void nw_tf_work_free(NwTfWork *w, const NwOps *ops, const NwCtx *ctx);

int nw_text_ctx_alloc(NwTextCtx *t, const NwNuwa *m, const NwOps *ops, const NwCtx *ctx);
void nw_text_ctx_free(NwTextCtx *t, const NwOps *ops, const NwCtx *ctx);
int nw_dec_state_alloc(NwDecState *s, const NwNuwa *m, const NwOps *ops, const NwCtx *ctx, int max_block);
void nw_dec_state_free(NwDecState *s, const NwOps *ops, const NwCtx *ctx);
void nw_dec_state_reset(NwDecState *s);

/** Runs the text encoder on `text` (HOST: text_len ids; 0 = padding; uploaded with the key
 * mask, the only transfers of a prompt) and fills `t` (embeds, masks, per-layer cross K/V).
 * `layer_out` (HOST, may be NULL) receives (enc_depth, n, d) residual streams after each
 * layer (reversible: (enc_depth, n, 2d) = cat(x1, x2)). */
void nw_text_encode(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const int32_t *text,
                    NwTextCtx *t, float *layer_out);

/** Feeds `n` decoder input rows (n, d) — the rows numbered s->rows … s->rows + n − 1 of the
 * window (row 0 = bos) — through the decoder, updating the state; writes the final StableLN
 * rows to `out` (n, d) (may be NULL) and logits to `logits` (may be NULL): (n, V), or with
 * `last_only` only the last row's (1, V). `uncond`: cross-attend to the null key only.
 * n <= the block size the state was made for. All buffers backend memory. */
int nw_dec_run(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwTextCtx *t,
               int uncond, NwDecState *s, const float *in, int n, float *out, float *logits, int last_only);

/** The conditional and unconditional passes of guidance as one batch of 2: the same input rows
 * (n, d) go through both states (at the same position) with every GEMM over 2n rows; the last
 * row's logits of each pass go to logits_c / logits_u (V). The work area needs 2n rows. */
int nw_dec_run2(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwTextCtx *t,
                NwDecState *sc, NwDecState *su, const float *in, int n, float *logits_c, float *logits_u);

/** Decoder input rows p0 .. p0+n-1 of a window into rows (n, d): row 0 is video_bos, row p
 * the embedding of token win_ids[p-1] plus the position embedding of window position p-1.
 * win_ids: backend memory. */
void nw_dec_inputs(const NwNuwa *m, const NwOps *ops, const NwCtx *ctx, const int32_t *win_ids, int p0, int n,
                   float *rows);

#endif
