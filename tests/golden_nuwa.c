/*
 * tests/golden_nuwa.c — the NUWA transformer against nuwa-pytorch 0.7.8 on
 * tests/fixtures/nuwa_n*.gguf (tools/make_nuwa_fixtures.py, MANIFEST_NUWA.md): text encoder
 * layers and output, decoder layers, final rows and logits on a sequence with a partial last
 * frame, the unconditional logits (corrected and the reference's B2 form), and generate() with
 * the reference's Gumbel uniforms injected (tokens identical, reference-compatible window and
 * guidance). Every tensor must be within 1e-4 + 1e-4·|ref|; the first divergent layer is named.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "generate.h"
#include "ops.h"
#include "testutil.h"
#include "transformer.h"
#include "vqgan.h"

#ifndef NUWA_SOURCE_DIR
#define NUWA_SOURCE_DIR "."
#endif

#define TOL_ABS 1e-4
#define TOL_REL 1e-4

typedef struct Fx {
    const char *name;
    NwGguf *g;
    NwVae vae;
    NwNuwa m;
    int B, L, text_n;
} Fx;

static const NwGgufTensor *fx_tensor(const Fx *F, const char *name)
{
    const NwGgufTensor *t = nw_gguf_find_tensor(F->g, name);
    cr_assert_not_null(t, "%s lacks %s", F->name, name);
    return t;
}

static void fx_open(Fx *F, const char *name)
{
    char path[1024], err[512];
    uint32_t x;
    memset(F, 0, sizeof(*F));
    F->name = name;
    snprintf(path, sizeof(path), "%s/tests/fixtures/%s.gguf", NUWA_SOURCE_DIR, name);
    cr_assert_eq(nw_gguf_open(&F->g, path, err, sizeof(err)), 0, "%s: %s", path, err);
    NwLog log = {0};
    cr_assert_eq(nw_vae_load(&F->vae, F->g, &log), 0);
    cr_assert_eq(nw_nuwa_load(&F->m, F->g, F->vae.fmap_size, F->vae.codebook_size, &log), 0, "%s: transformer", name);
    cr_assert_eq(nw_gguf_get_u32(F->g, "test.batch", &x, err, sizeof(err)), 0);
    F->B = (int)x;
    cr_assert_eq(nw_gguf_get_u32(F->g, "test.video_len", &x, err, sizeof(err)), 0);
    F->L = (int)x;
    F->text_n = (int)fx_tensor(F, "test.text")->shape[1];
}

static void fx_close(Fx *F)
{
    nw_nuwa_free(&F->m);
    nw_vae_free(&F->vae);
    nw_gguf_close(&F->g);
}

/* Compares rows [0, rows) of item b of a (B, n, w) fixture tensor with got (rows, w). */
static int cmp(const Fx *F, const char *what, const char *tensor, int b, const float *got, int rows, int w,
               const char *backend)
{
    const NwGgufTensor *t = fx_tensor(F, tensor);
    cr_assert_eq(t->type, NW_TYPE_F32);
    const int n = (int)t->shape[t->n_dims - 2], tw = (int)t->shape[t->n_dims - 1];
    cr_assert_eq(tw, w, "%s: width %d, model gives %d", tensor, tw, w);
    cr_assert(rows <= n);
    const float *ref = (const float *)t->data + (size_t)b * n * w;
    double worst = 0, mx = 0;
    size_t bad = 0;
    for (size_t i = 0; i < (size_t)rows * w; i++) {
        const double e = fabs((double)got[i] - ref[i]);
        mx = fmax(mx, fabs(ref[i]));
        worst = fmax(worst, isnan(got[i]) ? INFINITY : e);
        bad += !(e <= TOL_ABS + TOL_REL * fabs(ref[i]));
    }
    fprintf(stderr, "  %s/%s item %d %-22s max|ref| %7.3g  max err %9.3g\n", F->name, backend, b, what, mx, worst);
    return bad == 0;
}

/* The plan of F bound to backend b's copy of its blob. */
static NwNuwa bind_nuwa(const Fx *F, TBackend *b)
{
    NwNuwa m = F->m;
    m.w = b->dev ? tb_up(b, F->m.own, F->m.own_floats * sizeof(float)) : F->m.own;
    m.own = NULL;
    return m;
}

static void run_forward(const char *name, TBackend *B)
{
    Fx F;
    fx_open(&F, name);
    const NwOps *ops = &B->ops;
    const NwNuwa mm = bind_nuwa(&F, B), *m = &mm;
    const int d = m->dim, V = m->V, n = 1 + F.L, tn = F.text_n;
    const int wl = m->dec_rev ? 2 * d : d, wt = m->enc_rev ? 2 * d : d;
    NwCtx ctx = B->ctx;
    NwTfWork w;
    NwTextCtx t;
    NwDecState s;
    cr_assert_eq(nw_tf_work_alloc(&w, m, ops, &ctx, n, ctx.n_threads), 0);
    cr_assert_eq(nw_text_ctx_alloc(&t, m, ops, &ctx), 0);
    cr_assert_eq(nw_dec_state_alloc(&s, m, ops, &ctx, n), 0);
    float *tl = malloc(sizeof(float) * m->enc_depth * m->text_len * wt);
    float *dl = malloc(sizeof(float) * m->dec_depth * n * wl);
    float *out = malloc(sizeof(float) * n * d), *emb = malloc(sizeof(float) * m->text_len * d);
    float *logits = malloc(sizeof(float) * n * V), *row_tmp = malloc(sizeof(float) * m->text_len * wt);
    float *d_rows = tb_up(B, NULL, sizeof(float) * n * d), *d_out = tb_up(B, NULL, sizeof(float) * n * d);
    float *d_logits = tb_up(B, NULL, sizeof(float) * n * V);
    int32_t *d_ids = tb_up(B, NULL, sizeof(int32_t) * F.L);
    const int32_t *text = fx_tensor(&F, "test.text")->data, *vt = fx_tensor(&F, "test.video_tokens")->data;
    char first_bad[96] = "";
#define CHECK(what, tensor, got, r, wd)                                                        \
    do {                                                                                       \
        if (!cmp(&F, what, tensor, b, got, r, wd, B->name) && !first_bad[0])                   \
            snprintf(first_bad, sizeof(first_bad), "%s (item %d)", what, b);                   \
    } while (0)

    for (int b = 0; b < F.B; b++) {
        int32_t padded[4096] = {0};
        memcpy(padded, text + (size_t)b * tn, sizeof(int32_t) * tn);
        nw_text_encode(m, ops, &ctx, &w, padded, &t, tl);
        for (int l = 0; l < m->enc_depth; l++) {
            char nm[64], wh[64];
            snprintf(nm, sizeof(nm), "test.text_layer.%d", l);
            snprintf(wh, sizeof(wh), "text layer %d", l);
            memcpy(row_tmp, tl + (size_t)l * m->text_len * wt, sizeof(float) * tn * wt);
            CHECK(wh, nm, row_tmp, tn, wt);
        }
        tb_down(B, emb, t.embeds, sizeof(float) * m->text_len * d);
        CHECK("text_embeds", "test.text_embeds", emb, tn, d);

        B->ops.upload(&ctx, d_ids, vt + (size_t)b * F.L, sizeof(int32_t) * F.L);
        nw_dec_inputs(m, ops, &ctx, d_ids, 0, n, d_rows);
        w.layer_out = dl;
        nw_dec_state_reset(&s);
        cr_assert_eq(nw_dec_run(m, ops, &ctx, &w, &t, 0, &s, d_rows, n, d_out, d_logits, 0), 0);
        w.layer_out = NULL;
        for (int l = 0; l < m->dec_depth; l++) {
            char nm[64], wh[64];
            snprintf(nm, sizeof(nm), "test.dec_layer.%d", l);
            snprintf(wh, sizeof(wh), "decoder layer %d", l);
            CHECK(wh, nm, dl + (size_t)l * n * wl, n, wl);
        }
        tb_down(B, out, d_out, sizeof(float) * n * d);
        tb_down(B, logits, d_logits, sizeof(float) * n * V);
        CHECK("dec_out", "test.dec_out", out, n, d);
        CHECK("logits", "test.logits", logits, n, V);
        nw_dec_state_reset(&s);
        cr_assert_eq(nw_dec_run(m, ops, &ctx, &w, &t, 1, &s, d_rows, n, NULL, d_logits, 0), 0);
        tb_down(B, logits, d_logits, sizeof(float) * n * V);
        CHECK("logits_uncond", "test.logits_uncond", logits, n, V);
        nw_dec_state_reset(&s);
        cr_assert_eq(nw_dec_run(m, ops, &ctx, &w, &t, 1, &s, d_out, n, NULL, d_logits, 0), 0);
        tb_down(B, logits, d_logits, sizeof(float) * n * V);
        CHECK("logits_uncond_b2", "test.logits_uncond_b2", logits, n, V);
        /* the last row's logits alone (what generation asks for) are the same numbers */
        nw_dec_state_reset(&s);
        cr_assert_eq(nw_dec_run(m, ops, &ctx, &w, &t, 1, &s, d_out, n, NULL, d_logits, 1), 0);
        float *last = malloc(sizeof(float) * V);
        tb_down(B, last, d_logits, sizeof(float) * V);
        /* (a GEMV instead of a GEMM row on the CPU: same values up to summation order) */
        for (int v = 0; v < V; v++)
            cr_expect(fabsf(last[v] - logits[(size_t)(n - 1) * V + v]) <= 1e-5f * (1.f + fabsf(last[v])),
                      "%s/%s: last-row logit %d is %g, the full forward's %g", name, B->name, v, last[v],
                      logits[(size_t)(n - 1) * V + v]);
        free(last);
    }
    tb_sync(B, name);
    cr_expect_eq(first_bad[0], 0, "%s/%s: first divergent tensor: %s", name, B->name, first_bad);
    free(tl);
    free(dl);
    free(out);
    free(emb);
    free(logits);
    free(row_tmp);
    nw_dec_state_free(&s, ops, &ctx);
    nw_text_ctx_free(&t, ops, &ctx);
    nw_tf_work_free(&w, ops, &ctx);
    fx_close(&F);
}

static void forward_all(const char *name)
{
    for (int i = 0; i < tb_count(); i++) {
        TBackend B;
        if (tb_open(&B, i, 2, 0))
            continue;
        run_forward(name, &B);
        tb_close(&B);
    }
}

Test(golden_nuwa, n1_forward) { forward_all("nuwa_n1"); }
Test(golden_nuwa, n2_forward_reversible) { forward_all("nuwa_n2"); }
Test(golden_nuwa, n3_forward_rev_decoder) { forward_all("nuwa_n3"); }
Test(golden_nuwa, n4_forward_rev_encoder) { forward_all("nuwa_n4"); }
Test(golden_nuwa, n5_forward_abs_pos) { forward_all("nuwa_n5"); }
Test(golden_nuwa, n6_forward_rel_pos_bias) { forward_all("nuwa_n6"); }

static void run_generate(const char *name, int K)
{
    Fx F;
    char key[64], err[256];
    fx_open(&F, name);
    const NwNuwa *m = &F.m;
    const int V = m->V;
    const NwGgufKV *kv;
    snprintf(key, sizeof(key), "test.gen%d.cond_scale", K);
    kv = nw_gguf_find_kv(F.g, key);
    cr_assert(kv && kv->type == NW_GGUF_F32, "%s", key);
    float cond, temp;
    memcpy(&cond, kv->data, 4);
    snprintf(key, sizeof(key), "test.gen%d.temperature", K);
    kv = nw_gguf_find_kv(F.g, key);
    cr_assert(kv && kv->type == NW_GGUF_F32);
    memcpy(&temp, kv->data, 4);
    double thres;
    snprintf(key, sizeof(key), "test.gen%d.filter_thres", K);
    kv = nw_gguf_find_kv(F.g, key);
    cr_assert(kv && kv->type == NW_GGUF_F64);
    memcpy(&thres, kv->data, 8);
    uint32_t frames, rows_used[8];
    snprintf(key, sizeof(key), "test.gen%d.num_frames", K);
    cr_assert_eq(nw_gguf_get_u32(F.g, key, &frames, err, sizeof(err)), 0);
    snprintf(key, sizeof(key), "test.gen%d.u", K);
    const NwGgufTensor *tu = fx_tensor(&F, key);
    const int steps = (int)tu->shape[0], GB = (int)tu->shape[1];
    cr_assert_eq(tu->shape[2], V);
    snprintf(key, sizeof(key), "test.gen%d.text_row", K);
    cr_assert_eq(nw_gguf_get_u32_array(F.g, key, rows_used, GB, err, sizeof(err)), 0, "%s", err);
    snprintf(key, sizeof(key), "test.gen%d.tokens", K);
    const int32_t *want = fx_tensor(&F, key)->data;
    snprintf(key, sizeof(key), "test.gen%d.margin", K);
    const float *margin = fx_tensor(&F, key)->data;
    const int32_t *text = fx_tensor(&F, "test.text")->data;

    for (int bi = 1; bi < tb_count(); bi++) { /* the reference ops are the CPU ones' spec: skipped */
        TBackend B;
        if (tb_open(&B, bi, 2, 0))
            continue;
        const NwOps *ops = &B.ops;
        NwCtx ctx = B.ctx;
        const NwNuwa mm = bind_nuwa(&F, &B);
        NwGen g;
        cr_assert_eq(nw_gen_init(&g, &mm, ops, &ctx, m->T, 2), 0);
        float *d_u = tb_up(&B, NULL, sizeof(float) * V);
        float *d_scr = tb_up(&B, NULL, sizeof(float) * (ops->sample_scratch(V, 2) + 1));
        int32_t *d_tok = tb_up(&B, NULL, sizeof(int32_t));
        NwCtx cs = ctx;
        cs.scratch = d_scr;
        cs.scratch_len = ops->sample_scratch(V, 2);
        NwGenOpts o = {cond, 1, 1};
        for (int b = 0; b < GB; b++) {
            int32_t padded[4096] = {0};
            memcpy(padded, text + (size_t)rows_used[b] * F.text_n, sizeof(int32_t) * F.text_n);
            nw_gen_start(&g, ops, &ctx, padded, &o);
            int diverged = -1, tie_at = -1;
            for (int i = 0; i < steps; i++) {
                cr_assert_eq(nw_gen_logits(&g, ops, &ctx), 0);
                /* the reference's uniforms through the backend's sampling op */
                ops->upload(&ctx, d_u, (const float *)tu->data + ((size_t)i * GB + b) * V, sizeof(float) * V);
                const NwSampleParams sp = {thres, temp, 0, 0, d_u};
                int32_t tok;
                ops->sample(&cs, g.logits, V, &sp, d_tok, NULL);
                ops->download(&ctx, &tok, d_tok, sizeof(tok));
                const int32_t ref = want[(size_t)b * steps + i];
                if (tok != ref && diverged < 0) {
                    diverged = i;
                    if (margin[(size_t)i * GB + b] < 1e-5f)
                        tie_at = i;
                }
                tok = ref; /* continue on the reference's path */
                cr_assert_eq(nw_gen_push(&g, ops, &ctx, &tok, 1), 0);
            }
            fprintf(stderr, "  %s/%s gen%d item %d: %d steps (cond_scale %g, temperature %g, thres %g, %u frames): %s\n",
                    name, B.name, K, b, steps, cond, temp, thres, frames,
                    diverged < 0 ? "all tokens identical" : "DIFFERENT");
            cr_expect(diverged < 0 || tie_at == diverged, "%s/%s gen%d item %d: token %d differs from the reference",
                      name, B.name, K, b, diverged);
        }
        tb_sync(&B, name);
        nw_gen_free(&g, ops, &ctx);
        tb_close(&B);
    }
    fx_close(&F);
}

Test(golden_nuwa, generate_n2_cond3_t07_thres05) { run_generate("nuwa_n2", 1); }
Test(golden_nuwa, generate_n1_cond1) { run_generate("nuwa_n1", 2); }
Test(golden_nuwa, generate_n1_cond2_thres0) { run_generate("nuwa_n1", 3); }
