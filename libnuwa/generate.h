/*
 * generate.h — token generation with the NUWA decoder (MODEL.md §3, §4): the sliding window
 * (reference formula, B5, or the corrected one), classifier-free guidance (corrected, or the
 * reference's B2 behaviour), top-k filtering, temperature and Gumbel-max sampling from a
 * counter-based PRNG. Known tokens (video prediction context) are prefilled in blocks; each new
 * token then costs one incremental decoder row per pass.
 */
#ifndef NW_GENERATE_H
#define NW_GENERATE_H

#include <stdint.h>

#include "transformer.h"

typedef struct NwGenOpts {
    float cond_scale;      /* 1 = no guidance */
    int ref_guidance;      /* B2: the unconditional pass consumes the conditional pass's outputs */
    int ref_window;        /* B5: the reference's window start formula */
} NwGenOpts;

typedef struct NwGen {
    const NwNuwa *m;
    NwGenOpts o;
    int block;             /* rows per decoder call when catching up */
    NwTfWork work, work_u;  /* conditional / unconditional pass (they may run concurrently) */
    NwTextCtx text;
    NwDecState cond, uncond;
    /* backend memory */
    int32_t *hist, *hist_alt; /* tokens [hist_base, hist_base + hist_len); alt: for compaction */
    float *rows, *outs;    /* block x d */
    float *lc, *lu;        /* last row's logits (V): conditional / unconditional */
    float *logits;         /* (V) guided logits of the next token */
    float *sscratch;       /* sampling scratch */
    size_t sscratch_len;
    int hist_cap, hist_len;
    int64_t hist_base;
    int64_t win_start;     /* token index of window position 0; -1 = no window yet */
} NwGen;

int nw_gen_init(NwGen *g, const NwNuwa *m, const NwOps *ops, const NwCtx *ctx, int block, int n_threads);
void nw_gen_free(NwGen *g, const NwOps *ops, const NwCtx *ctx);

/** Sets the text (HOST: text_len ids, 0 = padding) and options; forgets all tokens. */
void nw_gen_start(NwGen *g, const NwOps *ops, NwCtx *ctx, const int32_t *text, const NwGenOpts *o);

/** Appends known tokens (HOST memory, checked here, then one upload; no computation yet). */
int nw_gen_push(NwGen *g, const NwOps *ops, const NwCtx *ctx, const int32_t *tok, int n);

/** Total tokens so far (pushed + sampled). */
int64_t nw_gen_count(const NwGen *g);

/** Window start for predicting token L (the reference's or the corrected formula). */
int64_t nw_gen_window_start(const NwNuwa *m, int64_t L, int ref_window);

/** Computes the guided logits of the next token into g->logits (V, backend memory). */
int nw_gen_logits(NwGen *g, const NwOps *ops, NwCtx *ctx);

/** Samples the next token from g->logits on the backend, appends it to the history there and
 * downloads it to *tok (the only transfer of a generated token). sp->counter is ignored: the
 * token index is the counter. */
int nw_gen_sample(NwGen *g, const NwOps *ops, NwCtx *ctx, const NwSampleParams *sp, int32_t *tok);

/** nw_gen_logits + nw_gen_sample: the next token. A decode step of one row on a backend with
 * graphs (ops->graph_begin) is recorded and launched as one graph. */
int nw_gen_next(NwGen *g, const NwOps *ops, NwCtx *ctx, const NwSampleParams *sp, int32_t *tok);

#endif
