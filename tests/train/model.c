/*
 * tests/train/model.c — the trainer (train.h) against nuwa-pytorch 0.7.8's training gradients on
 * tests/fixtures/train_t{1..4}.gguf (tools/make_train_fixtures.py, MANIFEST_TRAIN.md,
 * docs/TRAINING.md): the loss (relative 1e-5) and every `grad.<param>` tensor within
 * 1e-4 * max|ref| + 1e-6, with the reference tables and with the CPU tables; t3's forced
 * conditioning dropout (`drop_grad.*`); every trainable tensor of the plan must have a fixture
 * gradient and the other way round. Also: gradients accumulate (two calls = twice one), and the
 * CPU tables give bit-identical gradients on 1 and 2 threads.
 *
 * The tolerance: the reference's own fp32 error is <= 6e-6 with max|g| up to 0.6 (MANIFEST), so
 * 1e-4 of a tensor's max leaves a wide margin for float rounding, while a missing term (the 0.2
 * embedding factor, a null-key gradient, a gradient through the StableLayerNorm maximum, an
 * unfolded derived table) is O(max|g|).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ops.h"
#include "testutil.h"
#include "train.h"
#include "train_ops.h"
#include "transformer.h"
#include "vqgan.h"

#ifndef NUWA_SOURCE_DIR
#define NUWA_SOURCE_DIR "."
#endif

#define LOSS_RTOL 1e-5
#define GRAD_RTOL_MAX 1e-4
#define GRAD_ATOL 1e-6

typedef struct Fx {
    const char *name;
    NwGguf *g;
    NwVae vae;
    NwNuwa m;
    int B, L;
    int32_t *text;  /* (B, text_len), padded with 0 */
    const int32_t *video;
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
    cr_assert_eq(F->L, F->m.max_frames * F->m.T);
    /* the reference's text is (B, tn) with tn <= text_len: padding to text_len adds masked keys
     * only, which change nothing (their rows get no gradient) */
    const NwGgufTensor *tt = fx_tensor(F, "test.text");
    const int tn = (int)tt->shape[1];
    cr_assert(tn <= F->m.text_len);
    F->text = calloc((size_t)F->B * F->m.text_len, sizeof(int32_t));
    for (int b = 0; b < F->B; b++)
        memcpy(F->text + (size_t)b * F->m.text_len, (const int32_t *)tt->data + (size_t)b * tn, sizeof(int32_t) * tn);
    F->video = fx_tensor(F, "test.video_tokens")->data;
}

static void fx_close(Fx *F)
{
    free(F->text);
    nw_nuwa_free(&F->m);
    nw_vae_free(&F->vae);
    nw_gguf_close(&F->g);
}

typedef struct Tables {
    const char *name;
    NwOps ops;
    NwTrainOps tops;
} Tables;

static void tables(Tables *T, int cpu)
{
    T->name = cpu ? "cpu" : "ref";
    if (cpu) {
        nw_ops_init_cpu(&T->ops, nw_cpu_flags());
        nw_train_ops_init_cpu(&T->tops, nw_cpu_flags());
    } else {
        nw_ops_init_ref(&T->ops);
        nw_train_ops_init_ref(&T->tops);
    }
}

/* Loss and gradient (a fresh zeroed buffer) of the fixture batch. */
static float *run(const Fx *F, const Tables *T, int n_threads, const uint8_t *drop, double *loss)
{
    NwTrainer *tr;
    float *grad = calloc(F->m.own_floats, sizeof(float));
    cr_assert_not_null(grad);
    cr_assert_eq(nw_trainer_create(&tr, &F->m, &T->ops, &T->tops, F->B, n_threads), 0);
    cr_assert_eq(nw_trainer_loss_grad(tr, F->text, F->video, drop, grad, loss), 0);
    nw_trainer_free(&tr);
    return grad;
}

typedef struct Check {
    const Fx *F;
    const float *grad;
    const char *prefix, *tag;
    int n_bad, n_checked, n_missing;
    double worst_ratio, worst_err, worst_max;
    char worst[160];
} Check;

static void check_fn(void *opaque, const char *name, int n_dims, const int64_t *shape, NwW at)
{
    Check *c = opaque;
    char key[256];
    (void)n_dims;
    (void)shape;
    if (!strcmp(name, "text_rotary_pos_emb.inv_freq")) /* a buffer: no gradient */
        return;
    snprintf(key, sizeof(key), "%s%s", c->prefix, name);
    const NwGgufTensor *t = nw_gguf_find_tensor(c->F->g, key);
    if (!t) {
        fprintf(stderr, "  %s: %s: no %s in the fixture\n", c->F->name, c->tag, key);
        c->n_missing++;
        return;
    }
    const float *ref = t->data, *got = c->grad + at;
    double mx = 0, err = 0;
    for (uint64_t i = 0; i < t->n_elems; i++) {
        mx = fmax(mx, fabs(ref[i]));
        const double e = fabs((double)got[i] - ref[i]);
        err = fmax(err, isnan(got[i]) ? INFINITY : e);
    }
    const double tol = GRAD_RTOL_MAX * mx + GRAD_ATOL, ratio = err / tol;
    c->n_checked++;
    if (!(err <= tol)) {
        c->n_bad++;
        fprintf(stderr, "  %s/%s: %s max|ref| %.4g max err %.3g (tol %.3g)\n", c->F->name, c->tag, key, mx, err, tol);
    }
    if (!(ratio <= c->worst_ratio)) {
        c->worst_ratio = ratio;
        c->worst_err = err;
        c->worst_max = mx;
        snprintf(c->worst, sizeof(c->worst), "%s", name);
    }
}

/* Compares every parameter's gradient with the fixture's `<prefix><name>`. */
static void check_grads(const Fx *F, const float *grad, const char *prefix, const char *tag)
{
    Check c = {F, grad, prefix, tag, 0, 0, 0, 0, 0, 0, ""};
    cr_assert_eq(nw_nuwa_tensors(&F->m, check_fn, &c), 0);
    /* and no fixture gradient without a parameter */
    int n_fx = 0;
    const size_t pl = strlen(prefix);
    for (uint64_t i = 0; i < F->g->n_tensors; i++)
        n_fx += !strncmp(F->g->tensors[i].name, prefix, pl);
    fprintf(stderr, "%s/%s: %d tensors, worst %s: max err %.3g, max|ref| %.3g (%.3g of the tolerance)\n", F->name,
            tag, c.n_checked, c.worst, c.worst_err, c.worst_max, c.worst_ratio);
    cr_expect_eq(c.n_missing, 0, "%s/%s: %d parameters lack a fixture gradient", F->name, tag, c.n_missing);
    cr_expect_eq(n_fx, c.n_checked, "%s/%s: the fixture has %d %s* tensors, the plan %d", F->name, tag, n_fx, prefix,
                 c.n_checked);
    cr_expect_eq(c.n_bad, 0, "%s/%s: %d gradient tensors out of tolerance (worst %s)", F->name, tag, c.n_bad, c.worst);
}

static float fx_scalar(const Fx *F, const char *name)
{
    return *(const float *)fx_tensor(F, name)->data;
}

static void check_fixture(const char *name)
{
    Fx F;
    fx_open(&F, name);
    const float want = fx_scalar(&F, "test.loss");
    for (int cpu = 0; cpu < 2; cpu++) {
        Tables T;
        tables(&T, cpu);
        double loss;
        float *grad = run(&F, &T, 2, NULL, &loss);
        fprintf(stderr, "%s/%s: loss %.7f, reference %.7f\n", name, T.name, loss, want);
        cr_expect(fabs(loss - want) <= LOSS_RTOL * fabs(want), "%s/%s: loss %.8g, reference %.8g", name, T.name, loss,
                  want);
        check_grads(&F, grad, "grad.", T.name);
        free(grad);
    }
    fx_close(&F);
}

Test(train_model, t1_reversible, .timeout = 120)
{
    check_fixture("train_t1");
}

Test(train_model, t2_plain_rotary, .timeout = 120)
{
    check_fixture("train_t2");
}

Test(train_model, t3_dilation_noshift, .timeout = 120)
{
    check_fixture("train_t3");
}

Test(train_model, t4_rel_bias_abs_pos, .timeout = 120)
{
    check_fixture("train_t4");
}

Test(train_model, t3_cond_dropout, .timeout = 120)
{
    Fx F;
    fx_open(&F, "train_t3");
    const NwGgufTensor *mt = fx_tensor(&F, "test.cond_drop_mask");
    uint8_t drop[64];
    cr_assert((int)mt->n_elems == F.B && F.B <= 64);
    for (int b = 0; b < F.B; b++)
        drop[b] = ((const int32_t *)mt->data)[b] != 0;
    const float want = fx_scalar(&F, "test.drop_loss");
    for (int cpu = 0; cpu < 2; cpu++) {
        Tables T;
        tables(&T, cpu);
        double loss;
        float *grad = run(&F, &T, 2, drop, &loss);
        fprintf(stderr, "train_t3 dropout/%s: loss %.7f, reference %.7f\n", T.name, loss, want);
        cr_expect(fabs(loss - want) <= LOSS_RTOL * fabs(want), "dropout/%s: loss %.8g, reference %.8g", T.name, loss,
                  want);
        check_grads(&F, grad, "drop_grad.", cpu ? "cpu dropout" : "ref dropout");
        free(grad);
    }
    fx_close(&F);
}

/* Two calls on one buffer give twice one call's gradient (accumulation, no hidden zeroing). */
Test(train_model, accumulates, .timeout = 120)
{
    Fx F;
    fx_open(&F, "train_t2");
    Tables T;
    tables(&T, 1);
    NwTrainer *tr;
    const size_t n = F.m.own_floats;
    float *g1 = calloc(n, sizeof(float)), *g2 = calloc(n, sizeof(float));
    double l1, l2, l3;
    cr_assert_eq(nw_trainer_create(&tr, &F.m, &T.ops, &T.tops, F.B, 1), 0);
    cr_assert_eq(nw_trainer_loss_grad(tr, F.text, F.video, NULL, g1, &l1), 0);
    cr_assert_eq(nw_trainer_loss_grad(tr, F.text, F.video, NULL, g2, &l2), 0);
    cr_assert_eq(nw_trainer_loss_grad(tr, F.text, F.video, NULL, g2, &l3), 0);
    cr_expect_eq(l1, l2);
    cr_expect_eq(l1, l3);
    double mx = 0, err = 0;
    size_t nz = 0;
    for (size_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs(2.0 * g1[i]));
        err = fmax(err, fabs((double)g2[i] - 2.0 * g1[i]));
        nz += g1[i] != 0;
    }
    cr_expect(nz > 0);
    cr_expect(err <= 1e-6 * mx, "twice accumulated differs from 2x by %g (max %g)", err, mx);
    /* ids out of range are refused */
    int32_t bad = F.text[0];
    F.text[0] = F.m.text_vocab;
    cr_expect_eq(nw_trainer_loss_grad(tr, F.text, F.video, NULL, g1, &l1), NUWA_ERR_INVAL);
    F.text[0] = bad;
    nw_trainer_free(&tr);
    free(g1);
    free(g2);
    fx_close(&F);
}

/* The CPU tables' gradients do not depend on the thread count, bit for bit. */
static void threads_identical(const char *name)
{
    Fx F;
    fx_open(&F, name);
    Tables T;
    tables(&T, 1);
    double l1, l2;
    uint8_t drop[64] = {1};
    for (int dr = 0; dr < 2; dr++) {
        float *g1 = run(&F, &T, 1, dr ? drop : NULL, &l1), *g2 = run(&F, &T, 2, dr ? drop : NULL, &l2);
        cr_expect_eq(l1, l2, "%s: loss on 1 and 2 threads differ", name);
        cr_expect_eq(memcmp(g1, g2, F.m.own_floats * sizeof(float)), 0, "%s: gradients on 1 and 2 threads differ",
                     name);
        free(g1);
        free(g2);
    }
    fx_close(&F);
}

Test(train_model, threads_bitwise, .timeout = 120)
{
    threads_identical("train_t1");
    threads_identical("train_t4");
}
