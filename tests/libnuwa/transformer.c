/*
 * tests/libnuwa/transformer.c — the decoder run incrementally (one row at a time, and in
 * prefill blocks) equals the full forward at every position of a full video, for shift on/off,
 * reversible on/off, several kernels, dilation cycles and the relative position bias; on the
 * reference ops and the CPU ops. Random models written with the GGUF writer.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "testutil.h"
#include "transformer.h"
#include "vqgan.h"

typedef struct TfCase {
    const char *name;
    int enc_rev, dec_rev, shift, k[3], n_dil, dil[2], rel, rotary, frames;
} TfCase;

typedef struct Loaded {
    NwGguf *g;
    uint8_t *buf;
    NwVae vae;
    NwNuwa m;
} Loaded;

static void load_case(Loaded *L, const TfCase *c, int fmap_layers)
{
    NwVae vh;
    NwNuwa nh;
    char err[256];
    size_t size;
    const int res[2] = {0, 0}, attn[2] = {0, 0};
    vae_hparams(&vh, 4 << fmap_layers, 3, 8, 2, NULL, res, attn, 2, 4, 4, 3, 24, 16, 1);
    memset(&nh, 0, sizeof(nh));
    nh.dim = 32;
    nh.max_frames = c->frames;
    nh.text_vocab = 50;
    nh.text_len = 7;
    nh.enc_depth = 2;
    nh.enc_heads = 2;
    nh.enc_dh = 16;
    nh.rotary = c->rotary;
    nh.enc_rev = c->enc_rev;
    nh.dec_depth = 3;
    nh.dec_heads = 2;
    nh.dec_dh = 16;
    nh.dec_rev = c->dec_rev;
    nh.shift = c->shift;
    memcpy(nh.kernel, c->k, sizeof(nh.kernel));
    nh.n_dil = c->n_dil;
    memcpy(nh.dil, c->dil, sizeof(int) * 2);
    nh.rel_bias = c->rel;
    cr_assert_eq(nuwa_random_gguf(&vh, &nh, 42, &L->buf, &size), 0);
    cr_assert_eq(nw_gguf_open_memory(&L->g, L->buf, size, err, sizeof(err)), 0, "%s", err);
    NwLog log = {0};
    cr_assert_eq(nw_vae_load(&L->vae, L->g, &log), 0);
    cr_assert_eq(nw_nuwa_load(&L->m, L->g, L->vae.fmap_size, L->vae.codebook_size, &log), 0);
}

static void unload(Loaded *L)
{
    nw_nuwa_free(&L->m);
    nw_vae_free(&L->vae);
    nw_gguf_close(&L->g);
    free(L->buf);
}

static void check_incremental(const TfCase *c, const NwOps *ops)
{
    Loaded L;
    load_case(&L, c, 2); /* image 16, 2 layers -> fmap 4, T 16 */
    const NwNuwa *m = &L.m;
    const int T = m->T, n = m->max_frames * T, d = m->dim, V = m->V; /* rows: bos + n - 1 tokens */
    const int32_t text[7] = {5, 17, 3, 44, 9, 0, 0};
    NwCtx ctx = {2, NULL, 0, NULL};
    NwTfWork w;
    NwTextCtx t;
    cr_assert_eq(nw_tf_work_alloc(&w, m, ops, n, 2), 0);
    cr_assert_eq(nw_text_ctx_alloc(&t, m), 0);
    nw_text_encode(m, ops, &ctx, &w, text, &t, NULL);

    TRng r = {7};
    float *rows = malloc(sizeof(float) * n * d);
    memcpy(rows, m->video_bos, sizeof(float) * d);
    for (int p = 1; p < n; p++)
        nw_dec_input_row(m, (int)(trng_next(&r) % V), p - 1, rows + (size_t)p * d);

    for (int uncond = 0; uncond < 2; uncond++) {
        float *full = malloc(sizeof(float) * n * V), *inc = malloc(sizeof(float) * n * V);
        NwDecState s;
        cr_assert_eq(nw_dec_state_alloc(&s, m, n), 0);
        cr_assert_eq(nw_dec_run(m, ops, &ctx, &w, &t, uncond, &s, rows, n, NULL, full), 0);
        nw_dec_state_free(&s);
        double mx = 0;
        for (size_t i = 0; i < (size_t)n * V; i++)
            mx = fmax(mx, fabs(full[i]));
        const int blocks[2] = {1, 5};
        for (int bi = 0; bi < 2; bi++) {
            const int B = blocks[bi];
            cr_assert_eq(nw_dec_state_alloc(&s, m, B), 0);
            for (int p = 0; p < n; p += B) {
                const int nb = NW_MIN(B, n - p);
                cr_assert_eq(nw_dec_run(m, ops, &ctx, &w, &t, uncond, &s, rows + (size_t)p * d, nb, NULL,
                                        inc + (size_t)p * V), 0);
            }
            nw_dec_state_free(&s);
            int bad_row = -1;
            double worst = 0;
            for (int p = 0; p < n; p++)
                for (int v = 0; v < V; v++) {
                    const double e = fabs(inc[(size_t)p * V + v] - full[(size_t)p * V + v]);
                    if (e > worst)
                        worst = e;
                    if (!(e <= 1e-5 * fmax(mx, 1.0)) && bad_row < 0)
                        bad_row = p;
                }
            fprintf(stderr, "  %s/%s uncond %d block %d: max |incremental - full| = %.3g (max|logit| %.3g)\n",
                    c->name, ops->name, uncond, B, worst, mx);
            cr_expect_lt(bad_row, 0, "%s/%s block %d: row %d differs from the full forward (worst %.3g)", c->name,
                         ops->name, B, bad_row, worst);
        }
        free(full);
        free(inc);
    }
    free(rows);
    nw_text_ctx_free(&t);
    nw_tf_work_free(&w);
    unload(&L);
}

static const TfCase cases[] = {
    {"nonrev-shift-k3-d1", 0, 0, 1, {3, 3, 3}, 1, {1, 1}, 0, 1, 3},
    {"rev-shift-k533-d12", 1, 1, 1, {5, 3, 3}, 2, {1, 2}, 0, 1, 3},
    {"rev-dec-noshift-k3-d12", 0, 1, 0, {3, 3, 3}, 2, {1, 2}, 0, 0, 2},
    {"rev-enc-noshift-k533-d12", 1, 0, 0, {5, 3, 3}, 2, {1, 2}, 0, 1, 3},
    {"k353-d21", 0, 0, 1, {3, 5, 3}, 2, {2, 1}, 0, 1, 2},
    {"relpos-bias", 0, 0, 1, {3, 3, 3}, 1, {1, 1}, 1, 1, 2},
};

Test(transformer, incremental_equals_full_forward)
{
    NwOps ref, cpu;
    nw_ops_init_ref(&ref);
    nw_ops_init_cpu(&cpu, nw_cpu_flags());
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_incremental(&cases[i], &cpu);
        if (i < 2)
            check_incremental(&cases[i], &ref);
    }
}
