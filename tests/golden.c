/*
 * tests/golden.c — the VQGAN against nuwa-pytorch 0.7.8: tests/fixtures/vae_v*.gguf hold the
 * weights plus the reference's inputs, every encoder/decoder module output, VQ indices and
 * top-2 margins, quantised features and decoded images (tools/make_fixtures.py). Each
 * backend (reference ops and every CPU variant) is run on them; the first module whose output
 * leaves the tolerance is named, and the max error of every checked tensor is printed.
 * The public API (8-bit frames, nuwa_vae_encode/decode) is checked on the same files.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nuwa.h"
#include "ops.h"
#include "backends.h"
#include "testutil.h"
#include "tolerances.h"
#include "vqgan.h"

#ifndef NUWA_SOURCE_DIR
#define NUWA_SOURCE_DIR "."
#endif

typedef struct Golden {
    const char *name;
    NwGguf *g;
    NwVae vae;
    int batch;
    int first_bad_stage, first_bad_index; /* -1 = none */
    double worst;                          /* worst err / max|ref| */
    int item;
    const NwOps *ops;
} Golden;

static const float *fixture_f32(const NwGguf *g, const char *name, size_t *n)
{
    const NwGgufTensor *t = nw_gguf_find_tensor(g, name);
    cr_assert_not_null(t, "fixture lacks tensor %s", name);
    cr_assert_eq(t->type, NW_TYPE_F32, "%s must be F32", name);
    *n = t->n_elems;
    return t->data;
}

static void hook(void *opaque, int stage, int index, const float *x, int c, int h, int w)
{
    Golden *G = opaque;
    char name[64];
    size_t n;
    if (stage == NW_STAGE_ENC)
        snprintf(name, sizeof(name), "test.enc.%d", index);
    else if (stage == NW_STAGE_DEC)
        snprintf(name, sizeof(name), "test.dec.%d", index);
    else
        snprintf(name, sizeof(name), "test.quantized");
    const float *ref = fixture_f32(G->g, name, &n);
    const size_t per = n / G->batch;
    cr_assert_eq(per, (size_t)c * h * w, "%s: %zu elements per item, model produced %dx%dx%d", name, per, c, h, w);
    ref += per * G->item;
    double mx = 0, err = 0;
    for (size_t i = 0; i < per; i++) {
        mx = fmax(mx, fabs(ref[i]));
        err = fmax(err, fabs((double)x[i] - ref[i]));
        if (isnan(x[i]))
            err = INFINITY;
    }
    const double rel = err / fmax(mx, 1e-30);
    fprintf(stderr, "  %s/%s item %d %-16s max|ref| %9.4g  max err %9.3g  (%.2g of max)\n", G->name,
            G->ops->name, G->item, name, mx, err, rel);
    G->worst = fmax(G->worst, rel);
    if (!(rel <= TOL_GOLDEN_REL_MAX) && G->first_bad_stage < 0) {
        G->first_bad_stage = stage;
        G->first_bad_index = index;
    }
}

static void open_fixture(Golden *G, const char *name)
{
    char path[1024], err[512];
    memset(G, 0, sizeof(*G));
    G->name = name;
    G->first_bad_stage = -1;
    snprintf(path, sizeof(path), "%s/tests/fixtures/%s.gguf", NUWA_SOURCE_DIR, name);
    cr_assert_eq(nw_gguf_open(&G->g, path, err, sizeof(err)), 0, "%s: %s", path, err);
    NwLog log = {0};
    cr_assert_eq(nw_vae_load(&G->vae, G->g, &log), 0, "%s: the fixture does not load as a model", path);
    uint32_t b;
    cr_assert_eq(nw_gguf_get_u32(G->g, "test.batch", &b, err, sizeof(err)), 0, "%s", err);
    G->batch = (int)b;
}

static void close_fixture(Golden *G)
{
    nw_vae_free(&G->vae);
    nw_gguf_close(&G->g);
}

static const char *stage_name(int s)
{
    return s == NW_STAGE_ENC ? "encoders" : s == NW_STAGE_DEC ? "decoders" : "quantize";
}

static void run_golden(const char *name, int backend, int threads)
{
    Golden G;
    TBackend B;
    open_fixture(&G, name);
    NwVae vv = G.vae;
    const NwVae *v = &vv;
    if (tb_open(&B, backend, threads, 0)) {
        close_fixture(&G);
        return;
    }
    const NwOps *ops = &B.ops;
    G.ops = ops;
    const size_t scratch = nw_vae_scratch_floats(v, ops, threads);
    tb_close(&B);
    cr_assert_eq(tb_open(&B, backend, threads, scratch), 0);
    ops = &B.ops;
    G.ops = ops;
    if (B.dev)
        vv.w = tb_up(&B, G.vae.own, G.vae.own_floats * sizeof(float));
    NwCtx ctx = B.ctx;
    NwVaeBufs b;
    cr_assert_eq(nw_vae_bufs_alloc(&b, v, ops, &ctx), 0);
    const int T = v->fmap_size * v->fmap_size;
    const size_t img_n = (size_t)v->channels * v->image_size * v->image_size;
    int32_t *tok = malloc(sizeof(int32_t) * T);
    float *margin = malloc(sizeof(float) * T);
    float *d_margin = tb_up(&B, NULL, sizeof(float) * T);
    size_t n;
    const float *input = fixture_f32(G.g, "test.input", &n);
    const float *ref_margin = fixture_f32(G.g, "test.margin", &n);
    const NwGgufTensor *ti = nw_gguf_find_tensor(G.g, "test.indices");
    cr_assert(ti && ti->type == NW_TYPE_I32 && ti->n_elems == (uint64_t)G.batch * T);
    const int32_t *ref_idx = ti->data;
    cr_assert(tok && margin);

    int idx_bad = 0, ties = 0;
    for (G.item = 0; G.item < G.batch; G.item++) {
        ops->upload(&ctx, b.img, input + img_n * G.item, sizeof(float) * img_n);
        nw_vae_encode_image(v, ops, &ctx, &b, b.img, b.tok, d_margin, hook, &G);
        tb_down(&B, tok, b.tok, sizeof(int32_t) * T);
        tb_down(&B, margin, d_margin, sizeof(float) * T);
        for (int t = 0; t < T; t++) {
            const int32_t want = ref_idx[G.item * T + t];
            const float m = ref_margin[G.item * T + t];
            if (m < TOL_GOLDEN_TIE) {
                ties++;
                continue;
            }
            if (tok[t] != want) {
                if (idx_bad < 5)
                    fprintf(stderr, "  %s/%s item %d token %d: got %d want %d (ref margin %.3g)\n", name,
                            ops->name, G.item, t, tok[t], want, m);
                idx_bad++;
            }
        }
        /* decode from the reference's indices so the decoder is checked on its own */
        ops->upload(&ctx, b.tok, ref_idx + G.item * T, sizeof(int32_t) * T);
        nw_vae_decode_image(v, ops, &ctx, &b, b.tok, b.img, hook, &G);
    }
    tb_sync(&B, name);
    fprintf(stderr, "  %s/%s: %d of %d indices differ (%d recorded ties skipped); worst tensor %.2g of max\n",
            name, ops->name, idx_bad, G.batch * T, ties, G.worst);
    cr_expect_eq(idx_bad, 0, "%s/%s: %d VQ indices differ from the reference", name, ops->name, idx_bad);
    cr_expect_lt(G.first_bad_stage, 0, "%s/%s: first divergent layer: %s[%d] (worst %.3g of max|ref|)", name,
                 ops->name, stage_name(G.first_bad_stage), G.first_bad_index, G.worst);

    free(tok);
    free(margin);
    nw_vae_bufs_free(&b, ops, &ctx);
    tb_close(&B);
    close_fixture(&G);
}

static void run_all_backends(const char *name)
{
    for (int i = 0; i < tb_count(); i++)
        run_golden(name, i, i == 0 ? 1 : 2);
}

Test(golden, vae_v1_cosine_projections_attention) { run_all_backends("vae_v1"); }
Test(golden, vae_v2_euclidean_no_projection) { run_all_backends("vae_v2"); }
Test(golden, vae_v3_gray_3layers_attn_first) { run_all_backends("vae_v3"); }
Test(golden, vae_v4_no_attention_no_resblocks) { run_all_backends("vae_v4"); }

/* The public API on the fixture files: 8-bit frames (the inputs are multiples of 1/255) give
 * the reference's tokens, decoding gives the reference's images rounded to 8 bits, and the
 * thread count changes nothing. */
static void api_roundtrip(const char *name)
{
    char path[1024];
    NuwaModel *m = NULL;
    NuwaSession *s1 = NULL, *s3 = NULL;
    NuwaSessionParams sp;
    Golden G;
    size_t n;

    open_fixture(&G, name);
    snprintf(path, sizeof(path), "%s/tests/fixtures/%s.gguf", NUWA_SOURCE_DIR, name);
    cr_assert_eq(nuwa_model_load(&m, path, NULL), 0);
    nuwa_session_params_default(&sp);
    sp.n_threads = 1;
    cr_assert_eq(nuwa_session_create(&s1, m, &sp), 0);
    sp.n_threads = 3;
    cr_assert_eq(nuwa_session_create(&s3, m, &sp), 0);
    nuwa_model_unref(&m); /* the sessions keep it alive */
    cr_assert_null(m);

    const NwVae *v = &G.vae;
    const int S = v->image_size, C = v->channels, T = v->fmap_size * v->fmap_size;
    const float *input = fixture_f32(G.g, "test.input", &n);
    const float *decoded = fixture_f32(G.g, "test.decoded", &n);
    const float *ref_margin = fixture_f32(G.g, "test.margin", &n);
    const int32_t *ref_idx = nw_gguf_find_tensor(G.g, "test.indices")->data;
    uint8_t *px = malloc((size_t)S * S * C), *px3 = malloc((size_t)S * S * C);
    float *fl = malloc(sizeof(float) * S * S * C), *fl3 = malloc(sizeof(float) * S * S * C);
    int32_t *tok = malloc(sizeof(int32_t) * T), *tok3 = malloc(sizeof(int32_t) * T);
    for (int item = 0; item < G.batch; item++) {
        const float *img = input + (size_t)item * C * S * S;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                for (int c = 0; c < C; c++)
                    px[(y * S + x) * C + c] = (uint8_t)lrintf(img[(size_t)c * S * S + y * S + x] * 255.f);
        NuwaFrame f = {C == 3 ? NUWA_FRAME_RGB24 : NUWA_FRAME_GRAY8, S, S, C, px, (ptrdiff_t)S * C, 0};
        cr_assert_eq(nuwa_vae_encode(s1, &f, 1, tok), 0);
        cr_assert_eq(nuwa_vae_encode(s3, &f, 1, tok3), 0);
        for (int t = 0; t < T; t++) {
            cr_expect_eq(tok[t], tok3[t], "%s: token %d depends on the thread count", name, t);
            if (ref_margin[item * T + t] >= TOL_GOLDEN_TIE)
                cr_expect_eq(tok[t], ref_idx[item * T + t], "%s item %d token %d", name, item, t);
        }
        /* decode the reference's tokens to planar float and to 8 bits */
        NuwaFrame ff = {NUWA_FRAME_FLOAT, S, S, C, fl, S, 0};
        NuwaFrame ff3 = {NUWA_FRAME_FLOAT, S, S, C, fl3, S, 0};
        cr_assert_eq(nuwa_vae_decode(s1, ref_idx + item * T, 1, &ff), 0);
        cr_assert_eq(nuwa_vae_decode(s3, ref_idx + item * T, 1, &ff3), 0);
        cr_expect(!memcmp(fl, fl3, sizeof(float) * S * S * C), "%s: decode depends on the thread count", name);
        const float *ref = decoded + (size_t)item * C * S * S;
        double mx = 0;
        for (size_t i = 0; i < (size_t)C * S * S; i++)
            mx = fmax(mx, fabs(ref[i]));
        TCmp cm = compare_f32("api decode", fl, ref, (size_t)C * S * S, TOL_GOLDEN_REL_MAX * mx, 0);
        cr_expect_eq(cm.n_bad, 0, "%s: API decode off by %.3g (max|ref| %.3g)", name, cm.max_err, mx);
        NuwaFrame f8 = {C == 3 ? NUWA_FRAME_RGB24 : NUWA_FRAME_GRAY8, S, S, C, px3, (ptrdiff_t)S * C, 0};
        cr_assert_eq(nuwa_vae_decode(s1, ref_idx + item * T, 1, &f8), 0);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                for (int c = 0; c < C; c++) {
                    const float r = ref[(size_t)c * S * S + y * S + x] * 255.f;
                    const float want = r < 0.f ? 0.f : r > 255.f ? 255.f : r;
                    cr_expect(fabsf(px3[(y * S + x) * C + c] - want) <= 0.5f + 255.f * (float)(TOL_GOLDEN_REL_MAX * mx) + 1e-3f,
                              "%s: 8-bit pixel (%d,%d,%d) = %d, reference %.3f", name, x, y, c,
                              px3[(y * S + x) * C + c], want);
                }
    }
    free(px);
    free(px3);
    free(fl);
    free(fl3);
    free(tok);
    free(tok3);
    nuwa_session_destroy(&s1);
    nuwa_session_destroy(&s3);
    close_fixture(&G);
}

Test(golden, api_8bit_v1) { api_roundtrip("vae_v1"); }
Test(golden, api_8bit_v3_gray) { api_roundtrip("vae_v3"); }
