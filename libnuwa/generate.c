/*
 * generate.c — see generate.h.
 *
 * State machine: the decoder states hold the rows [bos, tokens win_start .. win_start+rows-2].
 * To predict token L the window start s(L) is computed; if it moved, both passes are reset
 * (positions restart at 0, so every hidden state changes — MODEL.md §4 "Window slide"); then
 * the missing rows are fed in blocks and the last row's logits are kept. With a fixed window
 * this costs one row per new token.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"

int nw_gen_init(NwGen *g, const NwNuwa *m, const NwOps *ops, const NwCtx *ctx, int block, int n_threads)
{
    int r;
    memset(g, 0, sizeof(*g));
    g->m = m;
    g->block = block < 1 ? 1 : block;
    g->hist_cap = (m->max_frames + 2) * m->T + g->block;
    g->win_start = -1;
    /* the conditional work area also serves both passes batched: 2 x block rows */
    if ((r = nw_tf_work_alloc(&g->work, m, ops, ctx, 2 * g->block, n_threads)) < 0 ||
        (r = nw_tf_work_alloc(&g->work_u, m, ops, ctx, g->block, n_threads)) < 0 ||
        (r = nw_text_ctx_alloc(&g->text, m, ops, ctx)) < 0 ||
        (r = nw_dec_state_alloc(&g->cond, m, ops, ctx, g->block)) < 0 ||
        (r = nw_dec_state_alloc(&g->uncond, m, ops, ctx, g->block)) < 0)
        goto fail;
    g->sscratch_len = ops->sample_scratch(m->V, n_threads);
    g->hist = ops->mem_alloc(ctx, sizeof(int32_t) * g->hist_cap);
    g->hist_alt = ops->mem_alloc(ctx, sizeof(int32_t) * g->hist_cap);
    g->rows = ops->mem_alloc(ctx, sizeof(float) * g->block * m->dim);
    g->outs = ops->mem_alloc(ctx, sizeof(float) * g->block * m->dim);
    g->lc = ops->mem_alloc(ctx, sizeof(float) * m->V);
    g->lu = ops->mem_alloc(ctx, sizeof(float) * m->V);
    g->logits = ops->mem_alloc(ctx, sizeof(float) * m->V);
    g->sscratch = ops->mem_alloc(ctx, sizeof(float) * (g->sscratch_len + 1));
    if (!g->hist || !g->hist_alt || !g->rows || !g->outs || !g->lc || !g->lu || !g->logits || !g->sscratch) {
        r = NUWA_ERR_NOMEM;
        goto fail;
    }
    return 0;
fail:
    nw_gen_free(g, ops, ctx);
    return r;
}

void nw_gen_free(NwGen *g, const NwOps *ops, const NwCtx *ctx)
{
    if (ops) {
        nw_tf_work_free(&g->work, ops, ctx);
        nw_tf_work_free(&g->work_u, ops, ctx);
        nw_text_ctx_free(&g->text, ops, ctx);
        nw_dec_state_free(&g->cond, ops, ctx);
        nw_dec_state_free(&g->uncond, ops, ctx);
        void *b[] = {g->hist, g->hist_alt, g->rows, g->outs, g->lc, g->lu, g->logits, g->sscratch};
        for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
            ops->mem_free(ctx, b[i]);
    }
    memset(g, 0, sizeof(*g));
}

void nw_gen_start(NwGen *g, const NwOps *ops, NwCtx *ctx, const int32_t *text, const NwGenOpts *o)
{
    g->o = *o;
    nw_text_encode(g->m, ops, ctx, &g->work, text, &g->text, NULL);
    g->hist_len = 0;
    g->hist_base = 0;
    g->win_start = -1;
    nw_dec_state_reset(&g->cond);
    nw_dec_state_reset(&g->uncond);
}

int64_t nw_gen_count(const NwGen *g)
{
    return g->hist_base + g->hist_len;
}

/* Makes room for n more tokens: when the history is full, keeps what any future window can
 * still need (the last F+1 frames), moved through the second buffer (device copies must not
 * overlap). */
static void hist_room(NwGen *g, const NwOps *ops, const NwCtx *ctx, int n)
{
    if (g->hist_len + n <= g->hist_cap)
        return;
    const int keep = (g->m->max_frames + 1) * g->m->T;
    const int drop = g->hist_len - keep;
    ops->copy(ctx, g->hist_alt, g->hist + drop, sizeof(int32_t) * keep);
    int32_t *t = g->hist;
    g->hist = g->hist_alt;
    g->hist_alt = t;
    g->hist_len = keep;
    g->hist_base += drop;
}

int nw_gen_push(NwGen *g, const NwOps *ops, const NwCtx *ctx, const int32_t *tok, int n)
{
    for (int i = 0; i < n; i++)
        if (tok[i] < 0 || tok[i] >= g->m->V)
            return NUWA_ERR_INVAL;
    /* in pieces that fit next to the kept frames (a push is at most a frame in practice) */
    const int piece = g->hist_cap - (g->m->max_frames + 1) * g->m->T;
    for (int i = 0; i < n; i += piece) {
        const int k = NW_MIN(piece, n - i);
        hist_room(g, ops, ctx, k);
        ops->upload(ctx, g->hist + g->hist_len, tok + i, sizeof(int32_t) * k);
        g->hist_len += k;
    }
    return 0;
}

int64_t nw_gen_window_start(const NwNuwa *m, int64_t L, int ref_window)
{
    const int64_t T = m->T, F = m->max_frames;
    if (ref_window) {
        if (L <= F * T)
            return 0;
        const int64_t rem = L % T;
        const int64_t lookback = (F - (rem != 0)) * T + rem;
        return L - lookback;
    }
    if (L < F * T)
        return 0;
    return T * (L / T - F + 1);
}

int nw_gen_logits(NwGen *g, const NwOps *ops, NwCtx *ctx)
{
    const NwNuwa *m = g->m;
    const int V = m->V;
    const int64_t L = nw_gen_count(g);
    const int64_t s = nw_gen_window_start(m, L, g->o.ref_window);
    const int guide = g->o.cond_scale != 1.f;
    int r;
    if (s < g->hist_base)
        return NUWA_ERR_INVAL; /* cannot happen: the history keeps F+1 frames */
    const int32_t *win = g->hist + (s - g->hist_base);
    if (s != g->win_start) {
        nw_dec_state_reset(&g->cond);
        nw_dec_state_reset(&g->uncond);
        g->win_start = s;
    }
    /* rows needed: bos + tokens [s, L) -> 1 + L - s rows */
    const int64_t need = 1 + L - s;
    if (g->cond.rows == need && g->cond.rows > 0)
        goto combine; /* logits of the last row are still in lc/lu */
    while (g->cond.rows < need) {
        const int p0 = g->cond.rows;
        const int n = (int)NW_MIN((int64_t)g->block, need - p0);
        /* logits only for the last row of the last block: the one the next token needs */
        const int last = p0 + n == need;
        nw_dec_inputs(m, ops, ctx, win, p0, n, g->rows);
        if (guide && !g->o.ref_guidance && ops->batch_passes) {
            if ((r = nw_dec_run2(m, ops, ctx, &g->work, &g->text, &g->cond, &g->uncond, g->rows, n,
                                 last ? g->lc : NULL, last ? g->lu : NULL)) < 0)
                return r;
        } else if (guide && !g->o.ref_guidance && ctx->n_threads > 1 && !ctx->dev) {
            /* CPU: the two passes are independent, one thread each */
            int rc = 0, ru = 0;
            NwCtx c1 = *ctx;
            c1.n_threads = NW_MAX(1, ctx->n_threads / 2);
#pragma omp parallel sections num_threads(2)
            {
#pragma omp section
                rc = nw_dec_run(m, ops, &c1, &g->work, &g->text, 0, &g->cond, g->rows, n, NULL,
                                last ? g->lc : NULL, 1);
#pragma omp section
                ru = nw_dec_run(m, ops, &c1, &g->work_u, &g->text, 1, &g->uncond, g->rows, n, NULL,
                                last ? g->lu : NULL, 1);
            }
            if (rc < 0 || ru < 0)
                return rc < 0 ? rc : ru;
        } else {
            const int keep_out = guide && g->o.ref_guidance;
            if ((r = nw_dec_run(m, ops, ctx, &g->work, &g->text, 0, &g->cond, g->rows, n, keep_out ? g->outs : NULL,
                                last ? g->lc : NULL, 1)) < 0)
                return r;
            if (guide && (r = nw_dec_run(m, ops, ctx, &g->work_u, &g->text, 1, &g->uncond,
                                         g->o.ref_guidance ? g->outs : g->rows, n, NULL, last ? g->lu : NULL, 1)) < 0)
                return r;
        }
    }
combine:
    if (guide)
        ops->guide(ctx, g->lc, g->lu, g->logits, V, g->o.cond_scale);
    else
        ops->copy(ctx, g->logits, g->lc, sizeof(float) * V);
    return 0;
}

/* Queues the sampling of the next token into the history; returns where it will be. */
static int32_t *gen_sample_queue(NwGen *g, const NwOps *ops, NwCtx *ctx, const NwSampleParams *sp)
{
    NwSampleParams p = *sp;
    p.counter = (uint64_t)nw_gen_count(g);
    hist_room(g, ops, ctx, 1);
    NwCtx c2 = *ctx;
    c2.scratch = g->sscratch;
    c2.scratch_len = g->sscratch_len;
    int32_t *dst = g->hist + g->hist_len;
    ops->sample(&c2, g->logits, g->m->V, &p, dst, NULL);
    g->hist_len++;
    return dst;
}

int nw_gen_sample(NwGen *g, const NwOps *ops, NwCtx *ctx, const NwSampleParams *sp, int32_t *tok)
{
    const int32_t *dst = gen_sample_queue(g, ops, ctx, sp);
    ops->download(ctx, tok, dst, sizeof(int32_t));
    return 0;
}

int nw_gen_next(NwGen *g, const NwOps *ops, NwCtx *ctx, const NwSampleParams *sp, int32_t *tok)
{
    const int64_t L = nw_gen_count(g);
    /* a plain decode step: the window did not move and one row is missing */
    const int step = ops->graph_begin && g->cond.rows > 0 &&
                     nw_gen_window_start(g->m, L, g->o.ref_window) == g->win_start &&
                     1 + L - g->win_start == g->cond.rows + 1;
    const int graph = step && ops->graph_begin(ctx) == 0;
    int r = nw_gen_logits(g, ops, ctx);
    const int32_t *dst = r == 0 ? gen_sample_queue(g, ops, ctx, sp) : NULL;
    if (graph)
        ops->graph_end(ctx);
    if (r < 0)
        return r;
    ops->download(ctx, tok, dst, sizeof(int32_t));
    return 0;
}
