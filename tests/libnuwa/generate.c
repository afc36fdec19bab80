/*
 * tests/libnuwa/generate.c — sampling and the generation loop.
 * - nw_sample against a brute-force top-k + Gumbel-max on random logits with ties;
 * - the window start formulas (reference B5 and corrected) against MODEL.md §3.4;
 * - the incremental generator (caches, prefill blocks, window slides, guidance in both modes)
 *   against a brute-force loop that recomputes the whole window with a fresh full forward for
 *   every token, as nuwa-pytorch's generate() does — identical tokens; and against itself with
 *   another block size and thread count.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "ops.h"
#include "backends.h"
#include "testutil.h"
#include "transformer.h"
#include "vqgan.h"

static int brute_sample(const float *l, int V, double thres, float temp, const float *u)
{
    int k = (int)((1.0 - thres) * V);
    k = k < 1 ? 1 : k;
    int *order = malloc(sizeof(int) * V);
    for (int i = 0; i < V; i++)
        order[i] = i;
    for (int i = 1; i < V; i++) { /* stable insertion sort by value descending */
        const int x = order[i];
        int j = i - 1;
        while (j >= 0 && l[order[j]] < l[x]) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = x;
    }
    char *kept = calloc(V, 1);
    for (int i = 0; i < k; i++)
        kept[order[i]] = 1;
    int best = -1;
    float bv = 0;
    for (int i = 0; i < V; i++) {
        const float uu = fmaxf(u[i], 1e-20f);
        const float g = (float)-log((double)fmaxf((float)-log((double)uu), 1e-20f));
        const float sc = (kept[i] ? l[i] : -INFINITY) / temp + g;
        if (best < 0 || sc > bv) {
            bv = sc;
            best = i;
        }
    }
    free(order);
    free(kept);
    return best;
}

Test(generate, sample_matches_brute_force)
{
    TRng r = {31};
    const int Vs[] = {1, 2, 10, 40, 100, 1000};
    const double thr[] = {0.0, 0.5, 0.9, 0.99};
    for (size_t vi = 0; vi < 6; vi++) {
        const int V = Vs[vi];
        float *l = malloc(sizeof(float) * V), *u = malloc(sizeof(float) * V), *w = malloc(sizeof(float) * V);
        for (int rep = 0; rep < 50; rep++) {
            for (int i = 0; i < V; i++)
                l[i] = (float)(trng_next(&r) % 7) - 3.f + (rep % 2 ? 0.1f * trng_normal(&r) : 0.f); /* ties */
            nw_uniforms(rep, vi, u, V);
            for (int ti = 0; ti < 4; ti++) {
                const float temp = rep % 3 ? 0.7f : 1.f;
                const int a = nw_sample(l, V, thr[ti], temp, u, w, NULL), b = brute_sample(l, V, thr[ti], temp, u);
                cr_expect_eq(a, b, "V %d thres %.2f rep %d: sampled %d, brute force %d", V, thr[ti], rep, a, b);
            }
        }
        free(l);
        free(u);
        free(w);
    }
}

Test(generate, uniforms_in_range_and_reproducible)
{
    float a[1000], b[1000];
    nw_uniforms(5, 9, a, 1000);
    nw_uniforms(5, 9, b, 1000);
    cr_assert(!memcmp(a, b, sizeof(a)));
    double mean = 0;
    for (int i = 0; i < 1000; i++) {
        cr_assert(a[i] >= 0.f && a[i] < 1.f);
        mean += a[i];
    }
    cr_expect(fabs(mean / 1000 - 0.5) < 0.05, "mean %.3f", mean / 1000);
    nw_uniforms(6, 9, b, 1000);
    cr_expect(memcmp(a, b, sizeof(a)), "another seed gives other numbers");
}

Test(generate, window_start_formulas)
{
    NwNuwa m;
    memset(&m, 0, sizeof(m));
    m.T = 4;
    m.max_frames = 2;
    /* reference (B5): 0 while L <= F*T; then for L = m*T+1 .. (m+1)*T the start (m-F+1)*T */
    for (int64_t L = 0; L <= 8; L++)
        cr_expect_eq(nw_gen_window_start(&m, L, 1), 0);
    for (int64_t L = 9; L <= 24; L++) {
        const int64_t mm = (L - 1) / 4;
        cr_expect_eq(nw_gen_window_start(&m, L, 1), (mm - 2 + 1) * 4, "L %lld", (long long)L);
    }
    /* corrected: keep F-1 full frames + the partial one */
    for (int64_t L = 0; L < 8; L++)
        cr_expect_eq(nw_gen_window_start(&m, L, 0), 0);
    for (int64_t L = 8; L <= 24; L++)
        cr_expect_eq(nw_gen_window_start(&m, L, 0), 4 * (L / 4 - 2 + 1), "L %lld", (long long)L);
}

typedef struct GModel {
    uint8_t *buf;
    NwGguf *g;
    NwVae vae;
    NwNuwa m;
} GModel;

static void gmodel(GModel *G, int dec_rev, int shift)
{
    NwVae vh;
    NwNuwa nh;
    char err[256];
    size_t size;
    const int res[2] = {0, 0}, attn[2] = {0, 0};
    vae_hparams(&vh, 16, 3, 8, 2, NULL, res, attn, 2, 4, 4, 3, 24, 16, 1);
    memset(&nh, 0, sizeof(nh));
    nh.dim = 32;
    nh.max_frames = 2;
    nh.text_vocab = 50;
    nh.text_len = 7;
    nh.enc_depth = 1;
    nh.enc_heads = 2;
    nh.enc_dh = 16;
    nh.rotary = 1;
    nh.dec_depth = 2;
    nh.dec_heads = 2;
    nh.dec_dh = 16;
    nh.dec_rev = dec_rev;
    nh.shift = shift;
    nh.kernel[0] = nh.kernel[1] = nh.kernel[2] = 3;
    nh.n_dil = 2;
    nh.dil[0] = 1;
    nh.dil[1] = 2;
    cr_assert_eq(nuwa_random_gguf(&vh, &nh, 99, &G->buf, &size), 0);
    cr_assert_eq(nw_gguf_open_memory(&G->g, G->buf, size, err, sizeof(err)), 0, "%s", err);
    NwLog log = {0};
    cr_assert_eq(nw_vae_load(&G->vae, G->g, &log), 0);
    cr_assert_eq(nw_nuwa_load(&G->m, G->g, G->vae.fmap_size, G->vae.codebook_size, &log), 0);
}

static void gmodel_free(GModel *G)
{
    nw_nuwa_free(&G->m);
    nw_vae_free(&G->vae);
    nw_gguf_close(&G->g);
    free(G->buf);
}

/* The reference loop: a fresh full forward of the whole window for every token, on the scalar
 * reference ops (host memory) and the host sampling spec. */
static void brute_generate(const NwNuwa *m, const NwOps *ops, const int32_t *text, const NwGenOpts *o,
                           const int32_t *given, int n_given, int n_total, float thres, float temp, uint64_t seed,
                           int32_t *out)
{
    NwCtx ctx = {1, NULL, 0, NULL, NULL};
    const int V = m->V, maxrows = m->max_frames * m->T + 1, d = m->dim;
    NwTfWork w;
    NwTextCtx t;
    NwDecState s;
    cr_assert_eq(nw_tf_work_alloc(&w, m, ops, &ctx, maxrows, 1), 0);
    cr_assert_eq(nw_text_ctx_alloc(&t, m, ops, &ctx), 0);
    cr_assert_eq(nw_dec_state_alloc(&s, m, ops, &ctx, maxrows), 0);
    nw_text_encode(m, ops, &ctx, &w, text, &t, NULL);
    float *rows = malloc(sizeof(float) * maxrows * d), *outs = malloc(sizeof(float) * maxrows * d);
    float *lc = malloc(sizeof(float) * maxrows * V), *lu = malloc(sizeof(float) * maxrows * V);
    float *l = malloc(sizeof(float) * V), *u = malloc(sizeof(float) * V), *wk = malloc(sizeof(float) * V);
    memcpy(out, given, sizeof(int32_t) * n_given);
    for (int L = n_given; L < n_total; L++) {
        const int64_t st = nw_gen_window_start(m, L, o->ref_window);
        const int n = 1 + L - (int)st;
        nw_dec_inputs(m, ops, &ctx, out + st, 0, n, rows);
        nw_dec_state_reset(&s);
        cr_assert_eq(nw_dec_run(m, ops, &ctx, &w, &t, 0, &s, rows, n, outs, lc, 0), 0);
        const float *c = lc + (size_t)(n - 1) * V;
        if (o->cond_scale != 1.f) {
            nw_dec_state_reset(&s);
            cr_assert_eq(nw_dec_run(m, ops, &ctx, &w, &t, 1, &s, o->ref_guidance ? outs : rows, n, NULL, lu, 0), 0);
            const float *uu = lu + (size_t)(n - 1) * V;
            for (int v = 0; v < V; v++)
                l[v] = uu[v] + (c[v] - uu[v]) * o->cond_scale;
        } else {
            memcpy(l, c, sizeof(float) * V);
        }
        nw_uniforms(seed, (uint64_t)L, u, V);
        out[L] = nw_sample(l, V, thres, temp, u, wk, NULL);
    }
    free(rows);
    free(outs);
    free(lc);
    free(lu);
    free(l);
    free(u);
    free(wk);
    nw_dec_state_free(&s, ops, &ctx);
    nw_text_ctx_free(&t, ops, &ctx);
    nw_tf_work_free(&w, ops, &ctx);
}

/* The product loop (nw_gen_*) on backend `bi`. Returns 0, or 1 when the backend is skipped.
 * Also checks that generating moves nothing between host and backend but the sampled tokens:
 * no upload, one 4-byte download per token. */
static int inc_generate(const NwNuwa *m0, int bi, int threads, int block, const int32_t *text, const NwGenOpts *o,
                        const int32_t *given, int n_given, int n_total, float thres, float temp, uint64_t seed,
                        int32_t *out, int batch)
{
    TBackend B;
    NwGen g;
    if (tb_open(&B, bi, threads, 0))
        return 1;
    if (batch >= 0)
        B.ops.batch_passes = batch; /* both ways of running guidance's two passes */
    NwNuwa mm = *m0;
    if (B.dev)
        mm.w = tb_up(&B, m0->own, m0->own_floats * sizeof(float));
    NwCtx ctx = B.ctx;
    cr_assert_eq(nw_gen_init(&g, &mm, &B.ops, &ctx, block, threads), 0);
    nw_gen_start(&g, &B.ops, &ctx, text, o);
    cr_assert_eq(nw_gen_push(&g, &B.ops, &ctx, given, n_given), 0);
    memcpy(out, given, sizeof(int32_t) * n_given);
    const NwSampleParams sp = {thres, temp, seed, 0, NULL};
    const NwXfer before = B.xfer;
    for (int L = n_given; L < n_total; L++) {
        cr_assert_eq(nw_gen_logits(&g, &B.ops, &ctx), 0);
        cr_assert_eq(nw_gen_sample(&g, &B.ops, &ctx, &sp, &out[L]), 0);
    }
    const long made = n_total - n_given;
    cr_expect_eq(B.xfer.uploads - before.uploads, 0, "%s: %ld uploads while generating", B.name,
                 B.xfer.uploads - before.uploads);
    cr_expect_eq(B.xfer.downloads - before.downloads, made, "%s: %ld downloads for %ld tokens", B.name,
                 B.xfer.downloads - before.downloads, made);
    cr_expect_eq(B.xfer.down_bytes - before.down_bytes, (size_t)made * sizeof(int32_t));
    tb_sync(&B, "generate");
    nw_gen_free(&g, &B.ops, &ctx);
    tb_close(&B);
    return 0;
}

Test(generate, incremental_generation_equals_recomputing_the_window)
{
    NwOps ops;
    nw_ops_init_ref(&ops);
    const int32_t text[7] = {12, 7, 33, 2, 0, 0, 0};
    for (int variant = 0; variant < 4; variant++) {
        GModel G;
        gmodel(&G, variant & 1, (variant >> 1) & 1);
        const NwNuwa *m = &G.m;
        const int total = 2 * m->max_frames * m->T + 3; /* several window slides and a partial frame */
        int32_t given[20], *a = malloc(sizeof(int32_t) * total), *b = malloc(sizeof(int32_t) * total);
        for (int i = 0; i < 20; i++)
            given[i] = (i * 7 + 3) % m->V;
        for (int mode = 0; mode < 4; mode++) {
            NwGenOpts o = {mode == 0 ? 1.f : mode == 3 ? 3.f : 2.f, mode == 1, mode != 2};
            const int n_given = mode == 3 ? 20 : 0;
            brute_generate(m, &ops, text, &o, given, n_given, total, 0.5f, 0.8f, 1234 + mode, a);
            inc_generate(m, 0, 1, 1, text, &o, given, n_given, total, 0.5f, 0.8f, 1234 + mode, b, -1);
            int diff = -1;
            for (int i = 0; i < total && diff < 0; i++)
                if (a[i] != b[i])
                    diff = i;
            cr_expect_lt(diff, 0, "variant %d mode %d (cond %.1f ref_guidance %d ref_window %d): token %d differs",
                         variant, mode, o.cond_scale, o.ref_guidance, o.ref_window, diff);
            /* every other backend, block size (prefill in blocks) and thread count: same tokens */
            int32_t *c = malloc(sizeof(int32_t) * total);
            for (int bi = 1; bi < tb_count(); bi++)
                for (int run = 0; run < (bi == 1 ? 3 : 1); run++) {
                    /* cpu-generic: 1 and 3 threads, and the two passes batched */
                    const int th = run == 1 ? 3 : 1;
                    if (inc_generate(m, bi, th, 16, text, &o, given, n_given, total, 0.5f, 0.8f, 1234 + mode, c,
                                     run == 2 ? 1 : -1))
                        break;
                    diff = -1;
                    for (int i = 0; i < total && diff < 0; i++)
                        if (a[i] != c[i])
                            diff = i;
                    cr_expect_lt(diff, 0, "variant %d mode %d backend %d run %d: token %d differs", variant, mode,
                                 bi, run, diff);
                }
            free(c);
        }
        free(a);
        free(b);
        gmodel_free(&G);
    }
}
