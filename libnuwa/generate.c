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

int nw_gen_init(NwGen *g, const NwNuwa *m, const NwOps *ops, int block, int n_threads)
{
    int r;
    memset(g, 0, sizeof(*g));
    g->m = m;
    g->block = block < 1 ? 1 : block;
    g->hist_cap = (m->max_frames + 2) * m->T + g->block;
    g->win_start = -1;
    if ((r = nw_tf_work_alloc(&g->work, m, ops, g->block, n_threads)) < 0 ||
        (r = nw_tf_work_alloc(&g->work_u, m, ops, g->block, n_threads)) < 0 ||
        (r = nw_text_ctx_alloc(&g->text, m)) < 0 || (r = nw_dec_state_alloc(&g->cond, m, g->block)) < 0 ||
        (r = nw_dec_state_alloc(&g->uncond, m, g->block)) < 0)
        goto fail;
    g->hist = nw_alloc(sizeof(int32_t) * g->hist_cap);
    g->rows = nw_alloc(sizeof(float) * g->block * m->dim);
    g->outs = nw_alloc(sizeof(float) * g->block * m->dim);
    g->lc = nw_alloc(sizeof(float) * g->block * m->V);
    g->lu = nw_alloc(sizeof(float) * g->block * m->V);
    g->logits = nw_alloc(sizeof(float) * m->V);
    if (!g->hist || !g->rows || !g->outs || !g->lc || !g->lu || !g->logits) {
        r = NUWA_ERR_NOMEM;
        goto fail;
    }
    return 0;
fail:
    nw_gen_free(g);
    return r;
}

void nw_gen_free(NwGen *g)
{
    nw_tf_work_free(&g->work);
    nw_tf_work_free(&g->work_u);
    nw_text_ctx_free(&g->text);
    nw_dec_state_free(&g->cond);
    nw_dec_state_free(&g->uncond);
    nw_free(g->hist);
    nw_free(g->rows);
    nw_free(g->outs);
    nw_free(g->lc);
    nw_free(g->lu);
    nw_free(g->logits);
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

int nw_gen_push(NwGen *g, const int32_t *tok, int n)
{
    for (int i = 0; i < n; i++) {
        if (tok[i] < 0 || tok[i] >= g->m->V)
            return NUWA_ERR_INVAL;
    }
    for (int i = 0; i < n; i++) {
        if (g->hist_len == g->hist_cap) {
            /* keep what any future window can still need: the last (F+1) frames */
            const int keep = (g->m->max_frames + 1) * g->m->T;
            const int drop = g->hist_len - keep;
            memmove(g->hist, g->hist + drop, sizeof(int32_t) * keep);
            g->hist_len = keep;
            g->hist_base += drop;
        }
        g->hist[g->hist_len++] = tok[i];
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
    const int d = m->dim, V = m->V;
    const int64_t L = nw_gen_count(g);
    const int64_t s = nw_gen_window_start(m, L, g->o.ref_window);
    const int guide = g->o.cond_scale != 1.f;
    int r;
    if (s < g->hist_base)
        return NUWA_ERR_INVAL; /* cannot happen: the history keeps F+1 frames */
    if (s != g->win_start) {
        nw_dec_state_reset(&g->cond);
        nw_dec_state_reset(&g->uncond);
        g->win_start = s;
    }
    /* rows needed: bos + tokens [s, L) -> 1 + L - s rows */
    const int64_t need = 1 + L - s;
    if (g->cond.rows == need && g->cond.rows > 0)
        goto combine; /* logits of the last row are still in lc/lu[last] */
    while (g->cond.rows < need) {
        const int p0 = g->cond.rows;
        const int n = (int)NW_MIN((int64_t)g->block, need - p0);
        for (int i = 0; i < n; i++) {
            const int p = p0 + i;
            if (p == 0)
                memcpy(g->rows, m->video_bos, sizeof(float) * d);
            else
                nw_dec_input_row(m, g->hist[s + p - 1 - g->hist_base], p - 1, g->rows + (size_t)i * d);
        }
        if (guide && !g->o.ref_guidance && ctx->n_threads > 1) {
            /* the two passes are independent: one thread each */
            int rc = 0, ru = 0;
            NwCtx c1 = *ctx;
            c1.n_threads = NW_MAX(1, ctx->n_threads / 2);
#pragma omp parallel sections num_threads(2)
            {
#pragma omp section
                rc = nw_dec_run(m, ops, &c1, &g->work, &g->text, 0, &g->cond, g->rows, n, g->outs, g->lc);
#pragma omp section
                ru = nw_dec_run(m, ops, &c1, &g->work_u, &g->text, 1, &g->uncond, g->rows, n, NULL, g->lu);
            }
            if (rc < 0 || ru < 0)
                return rc < 0 ? rc : ru;
        } else {
            if ((r = nw_dec_run(m, ops, ctx, &g->work, &g->text, 0, &g->cond, g->rows, n, g->outs, g->lc)) < 0)
                return r;
            if (guide && (r = nw_dec_run(m, ops, ctx, &g->work_u, &g->text, 1, &g->uncond,
                                         g->o.ref_guidance ? g->outs : g->rows, n, NULL, g->lu)) < 0)
                return r;
        }
        /* keep the last row's logits at the front for `combine` */
        if (n > 1) {
            memmove(g->lc, g->lc + (size_t)(n - 1) * V, sizeof(float) * V);
            if (guide)
                memmove(g->lu, g->lu + (size_t)(n - 1) * V, sizeof(float) * V);
        }
    }
combine:
    for (int v = 0; v < V; v++)
        g->logits[v] = guide ? g->lu[v] + (g->lc[v] - g->lu[v]) * g->o.cond_scale : g->lc[v];
    return 0;
}
