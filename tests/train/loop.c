/*
 * tests/train/loop.c — the training loop around the gradient (libnuwa/trainloop.h):
 *  - the optimizer step against tops->adamw applied tensor by tensor by hand, the weight-decay
 *    rule, clipping against nw_clip_grad_norm over the concatenated gradients, the refresh of
 *    the derived tables, the learning-rate schedule;
 *  - checkpoints: write, read back bit for bit, resume equals an uninterrupted run, shape errors;
 *  - export in f32 / f16 / bf16, loaded with nuwa_model_load and nw_nuwa_load;
 *  - the training data (tests/train/loop_data.c).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "internal.h"
#include "testutil.h"
#include "train_ops.h"
#include "trainloop.h"
#include "transformer.h"
#include "vqgan.h"

#include "loop_util.h"

void loop_fixture_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/tests/fixtures/%s", NUWA_SOURCE_DIR, name);
}

void loop_load_plan(const char *fixture, NwGguf **g, NwNuwa *m)
{
    char path[1024], err[512];
    if (fixture[0] == '/')
        snprintf(path, sizeof(path), "%s", fixture);
    else
        loop_fixture_path(path, sizeof(path), fixture);
    cr_assert_eq(nw_gguf_open(g, path, err, sizeof(err)), 0, "%s", err);
    NwVae vh;
    NwLog quiet = {0};
    memset(&vh, 0, sizeof(vh));
    cr_assert_eq(nw_vae_hparams(&vh, *g, &quiet), 0);
    memset(m, 0, sizeof(*m));
    cr_assert_eq(nw_nuwa_load(m, *g, vh.image_size >> vh.num_layers, vh.codebook_size, &quiet), 0, "%s", path);
    nw_vae_free(&vh);
}

void loop_tmp_path(char *buf, size_t len, const char *tag)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, len, "%s/nuwa-loop-%s-%ld-XXXXXX", dir && *dir ? dir : "/tmp", tag, (long)getpid());
    cr_assert_not_null(mkdtemp(buf));
}

void loop_rm_tree(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

char g_loop_log[8192];

static void capture(void *opaque, int level, const char *fmt, va_list ap)
{
    (void)opaque;
    (void)level;
    const size_t n = strlen(g_loop_log);
    if (n + 1 < sizeof(g_loop_log))
        vsnprintf(g_loop_log + n, sizeof(g_loop_log) - n, fmt, ap);
}

NwLog loop_log(void)
{
    g_loop_log[0] = 0;
    NwLog l = {capture, NULL, NUWA_LOG_DEBUG};
    return l;
}

static const NwCtx ctx1 = {1, NULL, 0, NULL, NULL};

/* A random gradient over the whole blob (table slots included: the step must ignore them). */
static float *random_grad(size_t n, uint64_t seed, float scale)
{
    TRng r = {seed};
    float *g = nw_alloc(n * sizeof(float));
    cr_assert_not_null(g);
    fill_normal(&r, g, n, scale);
    return g;
}

static NwAdamW hyper_t2(void)
{
    NwAdamW o = {1e-3f, 0.9f, 0.99f, 1e-8f, 0.01f, 0};
    return o;
}

static int bits_equal(const float *a, const float *b, size_t n, size_t *where)
{
    for (size_t k = 0; k < n; k++)
        if (memcmp(&a[k], &b[k], sizeof(float))) {
            if (where)
                *where = k;
            return 0;
        }
    return 1;
}

/* Parameters and derived tables of two blobs of the same plan m equal bit for bit (the
 * alignment padding between them is never written and holds whatever the allocation held). */
static int plan_equal(const NwNuwa *m, const float *a, const float *b, const char **what)
{
    NwParams ps;
    cr_assert_eq(nw_params_list(m, &ps), 0);
    int ok = 1;
    for (int i = 0; ok && i < ps.n; i++)
        if (!bits_equal(a + ps.p[i].at, b + ps.p[i].at, ps.p[i].n, NULL)) {
            ok = 0;
            if (what)
                *what = "a parameter";
        }
    if (ok && !bits_equal(a + m->pos, b + m->pos, (size_t)m->max_frames * m->T * m->dim, NULL)) {
        ok = 0;
        if (what)
            *what = "the position table";
    }
    const size_t K = (size_t)m->kernel[0] * m->kernel[1] * m->kernel[2];
    for (int l = 0; ok && l < m->dec_depth; l++)
        if (m->dec[l].attn.rel_bias &&
            !bits_equal(a + m->dec[l].attn.rel_bias, b + m->dec[l].attn.rel_bias, K * m->dec_heads, NULL)) {
            ok = 0;
            if (what)
                *what = "a rel-pos bias table";
        }
    nw_params_free(&ps);
    return ok;
}

/* The plan's tensors are the model file's tensors (names, PyTorch shapes), in file order. */
Test(train_loop, params_are_the_file_tensors)
{
    NwGguf *g;
    NwNuwa m;
    NwParams ps;
    loop_load_plan("train_t2.gguf", &g, &m);
    cr_assert_eq(nw_params_list(&m, &ps), 0);
    cr_assert_gt(ps.n, 10);
    int n_untrainable = 0;
    for (int i = 0; i < ps.n; i++) {
        const NwParam *p = &ps.p[i];
        const NwGgufTensor *t = nw_gguf_find_tensor(g, p->name);
        cr_assert_not_null(t, "%s", p->name);
        cr_expect_eq(t->n_dims, p->n_dims, "%s", p->name);
        for (int d = 0; d < p->n_dims; d++)
            cr_expect_eq(t->shape[d], p->shape[d], "%s dim %d", p->name, d);
        float *x = malloc(p->n * sizeof(float));
        nw_tensor_to_f32(t, x);
        cr_expect(bits_equal(x, m.own + p->at, p->n, NULL), "%s: blob differs from the file", p->name);
        free(x);
        n_untrainable += !p->trainable;
        /* a trainable tensor has a gradient in the reference fixtures, a buffer has none */
        char gname[512];
        snprintf(gname, sizeof(gname), "grad.%s", p->name);
        cr_expect_eq(nw_gguf_find_tensor(g, gname) != NULL, p->trainable, "%s", p->name);
    }
    cr_expect_eq(n_untrainable, 1, "inv_freq is the only buffer");
    nw_params_free(&ps);
    nw_nuwa_free(&m);
    nw_gguf_close(&g);
}

/* One step = tops->adamw tensor by tensor (decay on >= 2-D tensors only) + refreshed tables. */
static void step_by_hand(int decay_all, double clip)
{
    NwGguf *g, *g2;
    NwNuwa m, h;
    NwOptState s;
    NwTrainOps tops;
    nw_train_ops_init_cpu(&tops, nw_cpu_flags());
    loop_load_plan("train_t2.gguf", &g, &m);
    loop_load_plan("train_t2.gguf", &g2, &h);
    cr_assert_eq(nw_opt_init(&s, &m), 0);
    const size_t n = m.own_floats;
    float *hm = nw_calloc(n, sizeof(float)), *hv = nw_calloc(n, sizeof(float));
    const NwAdamW o = hyper_t2();
    for (int step = 1; step <= 3; step++) {
        float *gr = random_grad(n, 100 + (uint64_t)step, 0.5f);
        float *gh = nw_alloc(n * sizeof(float));
        memcpy(gh, gr, n * sizeof(float));
        cr_assert_eq(nw_opt_step(&m, gr, &s, &o, clip, decay_all, &tops, (NwCtx *)&ctx1), 0);
        cr_expect_eq(s.step, step);
        /* by hand: the norm over the parameters concatenated, nw_clip_grad_norm on that */
        size_t tot = 0;
        for (int i = 0; i < s.params.n; i++)
            tot += s.params.p[i].trainable ? s.params.p[i].n : 0;
        float *flat = nw_alloc(tot * sizeof(float));
        size_t k = 0;
        for (int i = 0; i < s.params.n; i++)
            if (s.params.p[i].trainable) {
                memcpy(flat + k, gh + s.params.p[i].at, s.params.p[i].n * sizeof(float));
                k += s.params.p[i].n;
            }
        const double norm = nw_clip_grad_norm(flat, tot, clip > 0 ? clip : INFINITY);
        cr_expect_eq(norm, s.last_grad_norm, "norm %.17g vs %.17g", s.last_grad_norm, norm);
        k = 0;
        for (int i = 0; i < s.params.n; i++) {
            const NwParam *p = &s.params.p[i];
            if (!p->trainable)
                continue;
            size_t at;
            cr_expect(bits_equal(gr + p->at, flat + k, p->n, &at), "%s: clipped gradient differs at %zu", p->name, at);
            NwAdamW oh = o;
            oh.step = step;
            oh.weight_decay = decay_all || p->n_dims >= 2 ? o.weight_decay : 0.f;
            tops.adamw(&ctx1, h.own + p->at, flat + k, hm + p->at, hv + p->at, p->n, &oh);
            k += p->n;
        }
        nw_nuwa_refresh_tables(&h);
        size_t at = 0;
        const char *what = "";
        cr_expect(plan_equal(&m, m.own, h.own, &what), "step %d: %s differs", step, what);
        cr_expect(bits_equal(s.m, hm, n, &at), "step %d: m differs at %zu", step, at);
        cr_expect(bits_equal(s.v, hv, n, &at), "step %d: v differs at %zu", step, at);
        nw_free(flat);
        nw_free(gr);
        nw_free(gh);
    }
    nw_free(hm);
    nw_free(hv);
    nw_opt_free(&s);
    nw_nuwa_free(&m);
    nw_nuwa_free(&h);
    nw_gguf_close(&g);
    nw_gguf_close(&g2);
}

Test(train_loop, step_equals_adamw_by_hand) { step_by_hand(1, 0); }
Test(train_loop, step_equals_adamw_by_hand_clipped) { step_by_hand(0, 0.5); }

/* Zero gradient: AdamW moves nothing but the decay; decay_all = 0 leaves 1-D tensors alone. */
Test(train_loop, decay_rule)
{
    for (int decay_all = 0; decay_all < 2; decay_all++) {
        NwGguf *g;
        NwNuwa m;
        NwOptState s;
        NwTrainOps tops;
        nw_train_ops_init_ref(&tops);
        loop_load_plan("train_t2.gguf", &g, &m);
        cr_assert_eq(nw_opt_init(&s, &m), 0);
        float *before = nw_alloc(m.own_floats * sizeof(float));
        memcpy(before, m.own, m.own_floats * sizeof(float));
        float *gr = nw_calloc(m.own_floats, sizeof(float));
        NwAdamW o = hyper_t2();
        o.weight_decay = 0.5f; /* large, so every decayed value visibly moves */
        cr_assert_eq(nw_opt_step(&m, gr, &s, &o, 0.0, decay_all, &tops, (NwCtx *)&ctx1), 0);
        int saw1 = 0, saw2 = 0;
        for (int i = 0; i < s.params.n; i++) {
            const NwParam *p = &s.params.p[i];
            const int decayed = p->trainable && (decay_all || p->n_dims >= 2);
            const float f = (float)(1.0 - (double)o.lr * o.weight_decay);
            for (size_t k = 0; k < p->n; k++) {
                const float want = decayed ? before[p->at + k] * f : before[p->at + k];
                if (memcmp(&want, &m.own[p->at + k], 4)) {
                    cr_expect(0, "decay_all %d: %s[%zu] = %.9g, expected %.9g", decay_all, p->name, k,
                              m.own[p->at + k], want);
                    break;
                }
            }
            saw1 |= p->trainable && p->n_dims == 1;
            saw2 |= p->n_dims >= 2;
        }
        cr_expect(saw1 && saw2);
        cr_expect_eq(s.last_grad_norm, 0.0);
        nw_free(before);
        nw_free(gr);
        nw_opt_free(&s);
        nw_nuwa_free(&m);
        nw_gguf_close(&g);
    }
}

/* Clipping scales the gradient as torch.nn.utils.clip_grad_norm_: to max_norm when above it,
 * untouched below; a non-finite norm changes nothing. */
Test(train_loop, clipping)
{
    NwGguf *g;
    NwNuwa m;
    NwOptState s;
    NwTrainOps tops;
    nw_train_ops_init_ref(&tops);
    loop_load_plan("train_t2.gguf", &g, &m);
    cr_assert_eq(nw_opt_init(&s, &m), 0);
    const size_t n = m.own_floats;
    float *gr = random_grad(n, 7, 1.f);
    NwAdamW o = hyper_t2();
    cr_assert_eq(nw_opt_step(&m, gr, &s, &o, 0.5, 0, &tops, (NwCtx *)&ctx1), 0);
    const double norm0 = s.last_grad_norm;
    cr_expect_gt(norm0, 10.0);
    double sq = 0;
    for (int i = 0; i < s.params.n; i++)
        for (size_t k = 0; s.params.p[i].trainable && k < s.params.p[i].n; k++)
            sq += (double)gr[s.params.p[i].at + k] * gr[s.params.p[i].at + k];
    cr_expect(fabs(sqrt(sq) - 0.5) < 1e-5, "clipped norm %.9g", sqrt(sq));
    /* below the limit: untouched */
    float *g2 = random_grad(n, 8, 1e-3f), *g2c = nw_alloc(n * sizeof(float));
    memcpy(g2c, g2, n * sizeof(float));
    cr_assert_eq(nw_opt_step(&m, g2, &s, &o, 1e6, 0, &tops, (NwCtx *)&ctx1), 0);
    cr_expect(bits_equal(g2, g2c, n, NULL));
    /* NaN: refused, nothing moves */
    float *before = nw_alloc(n * sizeof(float));
    memcpy(before, m.own, n * sizeof(float));
    g2[s.params.p[0].at] = NAN;
    cr_expect_eq(nw_opt_step(&m, g2, &s, &o, 0.5, 0, &tops, (NwCtx *)&ctx1), NUWA_ERR_INVAL);
    cr_expect_eq(s.step, 2);
    cr_expect(plan_equal(&m, before, m.own, NULL));
    nw_free(before);
    nw_free(gr);
    nw_free(g2);
    nw_free(g2c);
    nw_opt_free(&s);
    nw_nuwa_free(&m);
    nw_gguf_close(&g);
}

/* After a step the derived tables (summed axial positions, rel-pos biases) follow the
 * parameters: the blob equals a fresh load of the updated parameters (train_t4 has both). */
Test(train_loop, tables_follow)
{
    NwGguf *g, *g2;
    NwNuwa m, m2;
    NwOptState s;
    NwTrainOps tops;
    char dir[512], path[600];
    nw_train_ops_init_ref(&tops);
    loop_load_plan("train_t4.gguf", &g, &m);
    cr_assert_eq(nw_opt_init(&s, &m), 0);
    float *pos0 = nw_alloc((size_t)m.max_frames * m.T * m.dim * sizeof(float));
    memcpy(pos0, m.own + m.pos, (size_t)m.max_frames * m.T * m.dim * sizeof(float));
    float *gr = random_grad(m.own_floats, 9, 1.f);
    NwAdamW o = hyper_t2();
    o.lr = 0.05f;
    cr_assert_eq(nw_opt_step(&m, gr, &s, &o, 0.0, 1, &tops, (NwCtx *)&ctx1), 0);
    cr_expect(!bits_equal(pos0, m.own + m.pos, (size_t)m.max_frames * m.T * m.dim, NULL), "pos table unchanged");
    loop_tmp_path(dir, sizeof(dir), "tables");
    snprintf(path, sizeof(path), "%s/m.gguf", dir);
    NwLog log = loop_log();
    cr_assert_eq(nw_export_model(path, g, &m, NW_TYPE_F32, &log), 0, "%s", g_loop_log);
    loop_load_plan(path, &g2, &m2);
    cr_assert_eq(m2.own_floats, m.own_floats);
    const char *what = "";
    cr_expect(m.dec[0].attn.rel_bias != 0);
    cr_expect(plan_equal(&m, m.own, m2.own, &what), "blob vs reload: %s differs", what);
    unlink(path);
    rmdir(dir);
    nw_free(pos0);
    nw_free(gr);
    nw_opt_free(&s);
    nw_nuwa_free(&m);
    nw_nuwa_free(&m2);
    nw_gguf_close(&g);
    nw_gguf_close(&g2);
}

Test(train_loop, lr_schedule)
{
    const double b = 1e-3, lo = 1e-5;
    cr_expect_eq(nw_lr_at(1, b, 10, 110, lo), b * 0.1);
    cr_expect_eq(nw_lr_at(5, b, 10, 110, lo), b * 0.5);
    cr_expect_eq(nw_lr_at(10, b, 10, 110, lo), b);
    cr_expect(fabs(nw_lr_at(60, b, 10, 110, lo) - (lo + (b - lo) * 0.5)) < 1e-15);
    cr_expect(nw_lr_at(11, b, 10, 110, lo) < b && nw_lr_at(11, b, 10, 110, lo) > nw_lr_at(12, b, 10, 110, lo));
    cr_expect_eq(nw_lr_at(110, b, 10, 110, lo), lo);
    cr_expect_eq(nw_lr_at(1000, b, 10, 110, lo), lo);
    cr_expect_eq(nw_lr_at(0, b, 10, 110, lo), b * 0.1);
    /* no warm-up: cosine from the first step; no decay phase: constant */
    cr_expect(fabs(nw_lr_at(1, b, 0, 100, 0) - b * 0.5 * (1 + cos(M_PI * 0.01))) < 1e-15);
    cr_expect_eq(nw_lr_at(50, b, 0, 0, lo), b);
    cr_expect_eq(nw_lr_at(50, b, 100, 50, lo), b * 0.5);
}

/* ---- checkpoints ------------------------------------------------------------------------- */

static NwTrainMeta meta_example(const NwOptState *s)
{
    NwTrainMeta mt;
    memset(&mt, 0, sizeof(mt));
    mt.step = s->step;
    mt.seed = 0x123456789abcdefull;
    mt.rng_state = 0xfedcba987654321ull;
    mt.hyper = hyper_t2();
    mt.hyper.step = s->step;
    mt.clip = 0.5;
    mt.decay_all = 0;
    mt.warmup = 7;
    mt.total = 1000;
    mt.min_lr = 1e-6;
    mt.batch = 3;
    return mt;
}

/* Write, read back: every float bit for bit; then the resumed run continues identically. */
Test(train_loop, checkpoint_roundtrip_and_resume)
{
    NwGguf *g;
    NwNuwa a, b;
    NwOptState sa, sb;
    NwTrainOps tops;
    char dir[512], path[600];
    nw_train_ops_init_cpu(&tops, nw_cpu_flags());
    loop_load_plan("train_t2.gguf", &g, &a);
    cr_assert_eq(nw_opt_init(&sa, &a), 0);
    const size_t n = a.own_floats;
    NwAdamW o = hyper_t2();
    for (int k = 0; k < 3; k++) {
        float *gr = random_grad(n, 200 + (uint64_t)k, 0.3f);
        cr_assert_eq(nw_opt_step(&a, gr, &sa, &o, 0.5, 0, &tops, (NwCtx *)&ctx1), 0);
        nw_free(gr);
    }
    loop_tmp_path(dir, sizeof(dir), "ckpt");
    snprintf(path, sizeof(path), "%s/ck.gguf", dir);
    const NwTrainMeta mt = meta_example(&sa);
    NwLog log = loop_log();
    cr_assert_eq(nw_ckpt_save(path, g, &a, &sa, &mt, &log), 0, "%s", g_loop_log);
    char tmp[700];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    cr_expect_neq(access(tmp, F_OK), 0, "the temporary file is gone");

    /* a fresh model (the original weights) + fresh state, resumed from the file */
    NwGguf *g2;
    loop_load_plan("train_t2.gguf", &g2, &b);
    cr_assert_eq(nw_opt_init(&sb, &b), 0);
    NwTrainMeta rt;
    cr_assert_eq(nw_ckpt_load(path, &b, &sb, &rt, &log), 0, "%s", g_loop_log);
    size_t at = 0;
    cr_expect(plan_equal(&a, a.own, b.own, NULL), "blob differs");
    cr_expect(bits_equal(sa.m, sb.m, n, &at), "m differs at %zu", at);
    cr_expect(bits_equal(sa.v, sb.v, n, &at), "v differs at %zu", at);
    cr_expect_eq(sb.step, 3);
    cr_expect_eq(rt.step, mt.step);
    cr_expect_eq(rt.seed, mt.seed);
    cr_expect_eq(rt.rng_state, mt.rng_state);
    cr_expect(!memcmp(&rt.hyper.lr, &mt.hyper.lr, 4) && rt.hyper.beta1 == mt.hyper.beta1 &&
              rt.hyper.beta2 == mt.hyper.beta2 && rt.hyper.eps == mt.hyper.eps &&
              rt.hyper.weight_decay == mt.hyper.weight_decay);
    cr_expect(rt.clip == mt.clip && rt.decay_all == mt.decay_all && rt.warmup == mt.warmup &&
              rt.total == mt.total && rt.min_lr == mt.min_lr && rt.batch == mt.batch);
    /* both continue: identical */
    for (int k = 3; k < 5; k++) {
        float *ga = random_grad(n, 200 + (uint64_t)k, 0.3f), *gb = random_grad(n, 200 + (uint64_t)k, 0.3f);
        cr_assert_eq(nw_opt_step(&a, ga, &sa, &o, 0.5, 0, &tops, (NwCtx *)&ctx1), 0);
        cr_assert_eq(nw_opt_step(&b, gb, &sb, &o, 0.5, 0, &tops, (NwCtx *)&ctx1), 0);
        nw_free(ga);
        nw_free(gb);
    }
    cr_expect(plan_equal(&a, a.own, b.own, NULL), "resumed run differs");
    cr_expect(bits_equal(sa.m, sb.m, n, NULL) && bits_equal(sa.v, sb.v, n, NULL));

    /* the checkpoint is itself a model file */
    NuwaModel *pm = NULL;
    cr_expect_eq(nuwa_model_load(&pm, path, NULL), 0);
    nuwa_model_unref(&pm);

    unlink(path);
    rmdir(dir);
    nw_opt_free(&sa);
    nw_opt_free(&sb);
    nw_nuwa_free(&a);
    nw_nuwa_free(&b);
    nw_gguf_close(&g);
    nw_gguf_close(&g2);
}

/* A checkpoint of another model: the error names the tensor; the model is left untouched. */
Test(train_loop, checkpoint_shape_mismatch)
{
    NwGguf *g, *g3;
    NwNuwa a, c;
    NwOptState sa, sc;
    char dir[512], path[600];
    loop_load_plan("train_t2.gguf", &g, &a);
    loop_load_plan("train_t3.gguf", &g3, &c); /* max_video_frames 3: other axial shapes */
    cr_assert_eq(nw_opt_init(&sa, &a), 0);
    cr_assert_eq(nw_opt_init(&sc, &c), 0);
    loop_tmp_path(dir, sizeof(dir), "ckbad");
    snprintf(path, sizeof(path), "%s/ck.gguf", dir);
    const NwTrainMeta mt = meta_example(&sa);
    NwLog log = loop_log();
    cr_assert_eq(nw_ckpt_save(path, g, &a, &sa, &mt, &log), 0, "%s", g_loop_log);
    float *before = nw_alloc(c.own_floats * sizeof(float));
    memcpy(before, c.own, c.own_floats * sizeof(float));
    NwTrainMeta rt;
    log = loop_log();
    cr_expect_eq(nw_ckpt_load(path, &c, &sc, &rt, &log), NUWA_ERR_BAD_MODEL);
    cr_expect(strstr(g_loop_log, "video_pos_emb.axial1") && strstr(g_loop_log, "shape"), "log: %s", g_loop_log);
    cr_expect(plan_equal(&c, before, c.own, NULL), "a failed resume changed the model");
    /* a plain model file (no moments) is not a checkpoint */
    char fx[1024];
    loop_fixture_path(fx, sizeof(fx), "train_t2.gguf");
    log = loop_log();
    cr_expect_eq(nw_ckpt_load(fx, &a, &sa, &rt, &log), NUWA_ERR_BAD_MODEL);
    cr_expect(strstr(g_loop_log, "opt.m.") != NULL, "log: %s", g_loop_log);
    unlink(path);
    rmdir(dir);
    nw_free(before);
    nw_opt_free(&sa);
    nw_opt_free(&sc);
    nw_nuwa_free(&a);
    nw_nuwa_free(&c);
    nw_gguf_close(&g);
    nw_gguf_close(&g3);
}

/* ---- export ------------------------------------------------------------------------------- */

static void export_case(int dtype)
{
    NwGguf *g, *ge;
    NwNuwa a, e;
    NwOptState sa;
    NwTrainOps tops;
    char dir[512], path[600];
    nw_train_ops_init_ref(&tops);
    loop_load_plan("nuwa_n1.gguf", &g, &a);
    cr_assert_eq(nw_opt_init(&sa, &a), 0);
    float *gr = random_grad(a.own_floats, 31, 1.f);
    NwAdamW o = hyper_t2();
    cr_assert_eq(nw_opt_step(&a, gr, &sa, &o, 0, 1, &tops, (NwCtx *)&ctx1), 0);
    loop_tmp_path(dir, sizeof(dir), "export");
    snprintf(path, sizeof(path), "%s/x.gguf", dir);
    NwLog log = loop_log();
    cr_assert_eq(nw_export_model(path, g, &a, dtype, &log), 0, "%s", g_loop_log);

    /* the public loader takes it, with the VQGAN and transformer of the source */
    NuwaModel *pm = NULL, *src = NULL;
    char fx[1024];
    loop_fixture_path(fx, sizeof(fx), "nuwa_n1.gguf");
    cr_assert_eq(nuwa_model_load(&pm, path, NULL), 0);
    cr_assert_eq(nuwa_model_load(&src, fx, NULL), 0);
    NuwaVaeInfo vi, vs;
    NuwaTransformerInfo ti, ts;
    nuwa_model_vae_info(pm, &vi);
    nuwa_model_vae_info(src, &vs);
    nuwa_model_transformer_info(pm, &ti);
    nuwa_model_transformer_info(src, &ts);
    cr_expect(!memcmp(&vi, &vs, sizeof(vi)));
    cr_expect(!memcmp(&ti, &ts, sizeof(ti)));
    /* every tensor of the source but its test data */
    int n_src = 0;
    for (int i = 0; i < nuwa_model_tensor_count(src); i++) {
        NuwaTensorInfo tinfo;
        nuwa_model_tensor_info(src, i, &tinfo);
        n_src += strncmp(tinfo.name, "test.", 5) != 0;
    }
    cr_expect_eq(nuwa_model_tensor_count(pm), n_src);
    nuwa_model_unref(&pm);
    nuwa_model_unref(&src);

    loop_load_plan(path, &ge, &e);
    cr_assert_eq(e.own_floats, a.own_floats);
    for (int i = 0; i < sa.params.n; i++) {
        const NwParam *p = &sa.params.p[i];
        const NwGgufTensor *t = nw_gguf_find_tensor(ge, p->name);
        const int narrow = dtype != NW_TYPE_F32 && p->n_dims >= 2 && strstr(p->name, ".weight");
        cr_expect_eq(t->type, narrow ? dtype : NW_TYPE_F32, "%s", p->name);
        for (size_t k = 0; k < p->n; k++) {
            const float x = a.own[p->at + k], y = e.own[p->at + k];
            /* half precision: round to nearest of 11 / 8 significant bits */
            const double tol = !narrow ? 0.0 : (dtype == NW_TYPE_F16 ? 0x1p-11 : 0x1p-8) * fabs(x) + 1e-7;
            if (!(fabs(x - y) <= tol)) {
                cr_expect(0, "%s[%zu]: %.9g exported as %.9g", p->name, k, x, y);
                break;
            }
        }
    }
    /* the VQGAN tensors are the source's (converted like convert.py would) */
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const NwGgufTensor *t = &g->tensors[i];
        if (strncmp(t->name, "vae.", 4))
            continue;
        const NwGgufTensor *te = nw_gguf_find_tensor(ge, t->name);
        cr_assert_not_null(te, "%s", t->name);
        float *x = malloc(t->n_elems * sizeof(float)), *y = malloc(t->n_elems * sizeof(float));
        nw_tensor_to_f32(t, x);
        nw_tensor_to_f32(te, y);
        if (te->type == NW_TYPE_F32) {
            cr_expect(bits_equal(x, y, t->n_elems, NULL), "%s", t->name);
        } else {
            for (uint64_t k = 0; k < t->n_elems; k++)
                cr_expect(fabsf(x[k] - y[k]) <= 0x1p-8f * fabsf(x[k]) + 1e-7f, "%s", t->name);
        }
        free(x);
        free(y);
    }
    unlink(path);
    rmdir(dir);
    nw_free(gr);
    nw_opt_free(&sa);
    nw_nuwa_free(&a);
    nw_nuwa_free(&e);
    nw_gguf_close(&g);
    nw_gguf_close(&ge);
}

Test(train_loop, export_f32) { export_case(NW_TYPE_F32); }
Test(train_loop, export_f16) { export_case(NW_TYPE_F16); }
Test(train_loop, export_bf16) { export_case(NW_TYPE_BF16); }

Test(train_loop, export_f16_range)
{
    NwGguf *g;
    NwNuwa a;
    char dir[512], path[600];
    loop_load_plan("nuwa_n1.gguf", &g, &a);
    NwParams ps;
    cr_assert_eq(nw_params_list(&a, &ps), 0);
    const NwParam *p = nw_params_find(&ps, "to_logits.weight");
    cr_assert_not_null(p);
    a.own[p->at + 3] = 1e5f;
    loop_tmp_path(dir, sizeof(dir), "exprange");
    snprintf(path, sizeof(path), "%s/x.gguf", dir);
    NwLog log = loop_log();
    cr_expect_eq(nw_export_model(path, g, &a, NW_TYPE_F16, &log), NUWA_ERR_INVAL);
    cr_expect(strstr(g_loop_log, "to_logits.weight") != NULL, "log: %s", g_loop_log);
    cr_expect_neq(access(path, F_OK), 0);
    cr_expect_eq(nw_export_model(path, g, &a, NW_TYPE_BF16, &log), 0);
    unlink(path);
    rmdir(dir);
    nw_params_free(&ps);
    nw_nuwa_free(&a);
    nw_gguf_close(&g);
}

/* `nuwa export`: checkpoint -> model file without the optimizer state, loadable by the public API. */
Test(train_loop, export_from_checkpoint)
{
    NwGguf *g, *ge;
    NwNuwa a, e;
    NwOptState sa;
    NwTrainOps tops;
    char dir[512], ck[600], out[600];
    nw_train_ops_init_ref(&tops);
    NwLog log = loop_log();
    char fx[1024];
    loop_fixture_path(fx, sizeof(fx), "nuwa_n1.gguf");
    cr_assert_eq(nw_train_open_model(fx, &g, &a, &log), 0, "%s", g_loop_log);
    cr_assert_eq(nw_opt_init(&sa, &a), 0);
    float *gr = random_grad(a.own_floats, 41, 1.f);
    NwAdamW o = hyper_t2();
    cr_assert_eq(nw_opt_step(&a, gr, &sa, &o, 0.5, 0, &tops, (NwCtx *)&ctx1), 0);
    loop_tmp_path(dir, sizeof(dir), "expck");
    snprintf(ck, sizeof(ck), "%s/ck.gguf", dir);
    snprintf(out, sizeof(out), "%s/out.gguf", dir);
    const NwTrainMeta mt = meta_example(&sa);
    cr_assert_eq(nw_ckpt_save(ck, g, &a, &sa, &mt, &log), 0, "%s", g_loop_log);
    cr_assert_eq(nw_export_file(ck, out, NW_TYPE_BF16, &log), 0, "%s", g_loop_log);
    NuwaModel *pm = NULL;
    cr_assert_eq(nuwa_model_load(&pm, out, NULL), 0);
    for (int i = 0; i < nuwa_model_tensor_count(pm); i++) {
        NuwaTensorInfo ti;
        nuwa_model_tensor_info(pm, i, &ti);
        cr_expect(strncmp(ti.name, "opt.", 4), "%s left in the export", ti.name);
    }
    nuwa_model_unref(&pm);
    cr_assert_eq(nw_train_open_model(out, &ge, &e, &log), 0, "%s", g_loop_log);
    cr_expect_null(nw_gguf_find_kv(ge, "train.step"));
    for (int i = 0; i < sa.params.n; i++) {
        const NwParam *p = &sa.params.p[i];
        for (size_t k = 0; k < p->n; k++)
            if (!(fabsf(a.own[p->at + k] - e.own[p->at + k]) <= 0x1p-8f * fabsf(a.own[p->at + k]) + 1e-7f)) {
                cr_expect(0, "%s[%zu]", p->name, k);
                break;
            }
    }
    /* a VQGAN-only file is refused with a reason */
    NwGguf *gv;
    NwNuwa mv;
    loop_fixture_path(fx, sizeof(fx), "vae_v1.gguf");
    log = loop_log();
    cr_expect_eq(nw_train_open_model(fx, &gv, &mv, &log), NUWA_ERR_UNSUPPORTED);
    cr_expect(strstr(g_loop_log, "no NUWA transformer") != NULL, "%s", g_loop_log);
    unlink(ck);
    unlink(out);
    rmdir(dir);
    nw_free(gr);
    nw_opt_free(&sa);
    nw_nuwa_free(&a);
    nw_nuwa_free(&e);
    nw_gguf_close(&g);
    nw_gguf_close(&ge);
}
