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
#include "backends.h"
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

static void check_incremental(const TfCase *c, TBackend *B)
{
    Loaded L;
    load_case(&L, c, 2); /* image 16, 2 layers -> fmap 4, T 16 */
    const NwOps *ops = &B->ops;
    NwNuwa mm = L.m;
    if (B->dev)
        mm.w = tb_up(B, L.m.own, L.m.own_floats * sizeof(float));
    const NwNuwa *m = &mm;
    const int T = m->T, n = m->max_frames * T, d = m->dim, V = m->V; /* rows: bos + n - 1 tokens */
    const int32_t text[7] = {5, 17, 3, 44, 9, 0, 0};
    NwCtx ctx = B->ctx;
    NwTfWork w;
    NwTextCtx t;
    cr_assert_eq(nw_tf_work_alloc(&w, m, ops, &ctx, n, 2), 0);
    cr_assert_eq(nw_text_ctx_alloc(&t, m, ops, &ctx), 0);
    nw_text_encode(m, ops, &ctx, &w, text, &t, NULL);

    TRng r = {7};
    int32_t *ids = malloc(sizeof(int32_t) * n);
    for (int p = 1; p < n; p++)
        ids[p - 1] = (int32_t)(trng_next(&r) % V);
    int32_t *d_ids = tb_up(B, ids, sizeof(int32_t) * (n - 1));
    float *rows = tb_up(B, NULL, sizeof(float) * n * d);
    nw_dec_inputs(m, ops, &ctx, d_ids, 0, n, rows);
    float *d_full = tb_up(B, NULL, sizeof(float) * n * V), *d_inc = tb_up(B, NULL, sizeof(float) * n * V);

    for (int uncond = 0; uncond < 2; uncond++) {
        float *full = malloc(sizeof(float) * n * V), *inc = malloc(sizeof(float) * n * V);
        NwDecState s;
        cr_assert_eq(nw_dec_state_alloc(&s, m, ops, &ctx, n), 0);
        cr_assert_eq(nw_dec_run(m, ops, &ctx, &w, &t, uncond, &s, rows, n, NULL, d_full, 0), 0);
        nw_dec_state_free(&s, ops, &ctx);
        tb_down(B, full, d_full, sizeof(float) * n * V);
        double mx = 0;
        for (size_t i = 0; i < (size_t)n * V; i++)
            mx = fmax(mx, fabs(full[i]));
        const int blocks[2] = {1, 5};
        for (int bi = 0; bi < 2; bi++) {
            const int Bk = blocks[bi];
            cr_assert_eq(nw_dec_state_alloc(&s, m, ops, &ctx, Bk), 0);
            for (int p = 0; p < n; p += Bk) {
                const int nb = NW_MIN(Bk, n - p);
                cr_assert_eq(nw_dec_run(m, ops, &ctx, &w, &t, uncond, &s, rows + (size_t)p * d, nb, NULL,
                                        d_inc + (size_t)p * V, 0), 0);
            }
            nw_dec_state_free(&s, ops, &ctx);
            tb_down(B, inc, d_inc, sizeof(float) * n * V);
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
                    c->name, B->name, uncond, Bk, worst, mx);
            cr_expect_lt(bad_row, 0, "%s/%s block %d: row %d differs from the full forward (worst %.3g)", c->name,
                         B->name, Bk, bad_row, worst);
        }
        free(full);
        free(inc);
    }
    tb_sync(B, c->name);
    free(ids);
    nw_text_ctx_free(&t, ops, &ctx);
    nw_tf_work_free(&w, ops, &ctx);
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
    for (int bi = 0; bi < tb_count(); bi++)
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            TBackend B;
            if (bi == 0 && i >= 2)
                continue; /* the reference is slow: two cases */
            if (tb_open(&B, bi, 2, 0))
                break;
            check_incremental(&cases[i], &B);
            tb_close(&B);
        }
}

typedef struct TensorList {
    int n;
    char name[512][96];
    NwW at[512];
    size_t elems[512];
} TensorList;

static void list_tensor(void *opaque, const char *name, int n_dims, const int64_t *shape, NwW at)
{
    TensorList *l = opaque;
    size_t e = 1;
    for (int i = 0; i < n_dims; i++)
        e *= (size_t)shape[i];
    cr_assert_lt(l->n, 512);
    snprintf(l->name[l->n], sizeof(l->name[0]), "%s", name);
    l->at[l->n] = at;
    l->elems[l->n++] = e;
}

/* The parameters of a loaded plan by name and offset (what a trainer updates), and the derived
 * tables recomputed from them after an update. */
Test(transformer, tensors_by_offset_and_table_refresh)
{
    Loaded L;
    load_case(&L, &cases[5], 2); /* relpos-bias: axial positions and relative position biases */
    NwNuwa *m = &L.m;
    TensorList *tl = calloc(1, sizeof(*tl));
    cr_assert_eq(nw_nuwa_tensors(m, list_tensor, tl), 0);
    /* every offset points at the tensor's values as loaded from the file */
    int found_ax = -1;
    for (int i = 0; i < tl->n; i++) {
        const NwGgufTensor *t = nw_gguf_find_tensor(L.g, tl->name[i]);
        cr_assert_not_null(t, "%s", tl->name[i]);
        cr_assert_eq(t->n_elems, tl->elems[i], "%s", tl->name[i]);
        float *want = malloc(sizeof(float) * t->n_elems);
        nw_tensor_to_f32(t, want);
        cr_expect(!memcmp(m->own + tl->at[i], want, sizeof(float) * t->n_elems), "%s at %zu", tl->name[i],
                  (size_t)tl->at[i]);
        free(want);
        if (!strcmp(tl->name[i], "video_pos_emb.axial1"))
            found_ax = i;
    }
    cr_assert_geq(found_ax, 0);
    cr_expect_eq(tl->at[0], m->text_emb);
    /* change the frame-axis embedding of frame 1: the summed table follows after a refresh */
    const int d = m->dim, T = m->T;
    float *ax = m->own + tl->at[found_ax];
    const float before = m->own[m->pos + (size_t)T * d];
    for (int j = 0; j < d; j++)
        ax[d + j] += 1.f;
    cr_expect_eq(m->own[m->pos + (size_t)T * d], before, "the table changes only on refresh");
    nw_nuwa_refresh_tables(m);
    cr_expect(fabsf(m->own[m->pos + (size_t)T * d] - (before + 1.f)) < 1e-6f, "frame 1 position moved by 1");
    free(tl);
    unload(&L);
}
