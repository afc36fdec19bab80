/*
 * tests/train/steps.c — whole training steps against nuwa-pytorch, and the training run:
 *  - the 20-step AdamW runs stored in tests/fixtures/train_t2.gguf (MANIFEST_TRAIN.md), run A
 *    (no clipping, weight decay on every tensor) and run B (the reference trainer's recipe: clip
 *    0.5, decay on >= 2-D tensors), reproduced with nw_trainer_loss_grad + nw_opt_step on the 20
 *    stored batches: every step's loss, every step's gradient norm, and the three tensors stored
 *    after the 20th step;
 *  - nw_train_run (libnuwa/trainrun.h): 6 steps in one go equal 3 steps, a stop with its
 *    checkpoint, and a resume for the other 3, bit for bit; bad options and a checkpoint of
 *    another model fail with a message.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "internal.h"
#include "ops.h"
#include "train.h"
#include "train_ops.h"
#include "trainloop.h"
#include "trainrun.h"
#include "transformer.h"

#include "loop_util.h"

/* Tolerances of the 20-step runs (measured: every loss within 4e-7 relative; the final tensors
 * within 0.05% of their displacement).
 * Loss: 1e-3 relative. The first step's loss agrees to ~1e-7 (tests/train/model.c checks 1e-5);
 * later steps inherit the parameters' drift (below), which moves the loss by far less than 1e-3,
 * while a wrong optimizer detail (bias correction, decay on the wrong tensors, the wrong clip
 * coefficient) moves it by more within a few steps.
 * Gradient norm: 1e-4 relative (measured <= 2e-5), except run A's step 15 (index), the step
 * where the norm doubles (7.6; run B's 11.2): that gradient is ill-conditioned (a StableLayerNorm
 * row whose signed maximum is near 0 amplifies rounding, docs/TRAINING.md T3): the scalar
 * reference tables, which accumulate in double, land 1.1e-4 from the reference there and the CPU
 * tables 2.0e-4, i.e. the two C implementations differ from each other by as much as from
 * torch. That step gets NORM_RTOL_ILL.
 * Final tensors: Adam divides by sqrt(v), so an element whose gradient is tiny takes a step of
 * about lr whatever its magnitude, and a rounding difference of such a gradient can flip the sign
 * of that step: C and the reference may drift apart by ~lr (1e-3) per step on a few elements, not
 * by a relative amount. So the check is on the displacement over the 20 steps (final - initial,
 * ~0.01-0.02 here): max |c - ref| <= FINAL_TOL_FRAC * max|Δref| per tensor, and the RMS
 * difference <= FINAL_RMS_FRAC * max|Δref|. A missing decay or a wrong clip changes the
 * displacement by O(max|Δ|); one flipped Adam step would be ~5% of it. */
#define LOSS_RTOL 1e-3
#define NORM_RTOL 1e-4
#define NORM_RTOL_ILL 5e-4
#define ILL_STEP_A 15
#define FINAL_TOL_FRAC 0.005
#define FINAL_RMS_FRAC 0.001

static const float *f32_of(const NwGguf *g, const char *name, size_t want)
{
    const NwGgufTensor *t = nw_gguf_find_tensor(g, name);
    cr_assert_not_null(t, "train_t2 lacks %s", name);
    cr_assert_eq(t->type, NW_TYPE_F32, "%s", name);
    cr_assert_eq((size_t)t->n_elems, want, "%s: %zu elements", name, (size_t)t->n_elems);
    return t->data;
}

static void run_twenty(int clipped)
{
    NwGguf *g;
    NwNuwa m;
    loop_load_plan("train_t2.gguf", &g, &m);
    const NwGgufTensor *tt = nw_gguf_find_tensor(g, "test.train.text");
    const NwGgufTensor *tv = nw_gguf_find_tensor(g, "test.train.video_tokens");
    cr_assert(tt && tv);
    const int S = (int)tt->shape[0], B = (int)tt->shape[1], tn = (int)tt->shape[2];
    const int L = m.max_frames * m.T;
    cr_assert_eq(S, 20);
    cr_assert_eq(tv->shape[2], L);
    cr_assert(tn <= m.text_len);
    const float *losses = f32_of(g, clipped ? "test.losses20_clip" : "test.losses20", 20);
    const float *norms = f32_of(g, clipped ? "test.gradnorm20_clip" : "test.gradnorm20", 20);

    NwOps ops;
    NwTrainOps tops;
    nw_ops_init_cpu(&ops, nw_cpu_flags());
    nw_train_ops_init_cpu(&tops, nw_cpu_flags());
    NwTrainer *tr;
    cr_assert_eq(nw_trainer_create(&tr, &m, &ops, &tops, B, 2), 0);
    NwOptState s;
    cr_assert_eq(nw_opt_init(&s, &m), 0);
    float *grad = nw_alloc(m.own_floats * sizeof(float));
    float *init = nw_alloc(m.own_floats * sizeof(float));
    memcpy(init, m.own, m.own_floats * sizeof(float));
    int32_t *text = calloc((size_t)B * m.text_len, sizeof(int32_t));
    const NwAdamW hyper = {1e-3f, 0.9f, 0.99f, 1e-8f, 0.01f, 0};
    NwCtx ctx = {2, NULL, 0, NULL, NULL};
    double worst_loss = 0, worst_norm = 0;
    int wl = 0, wn = 0;
    for (int st = 0; st < S; st++) {
        /* the stored texts are (B, 6); the plan takes text_len ids: padding adds masked keys only */
        for (int b = 0; b < B; b++)
            memcpy(text + (size_t)b * m.text_len, (const int32_t *)tt->data + ((size_t)st * B + b) * tn,
                   sizeof(int32_t) * tn);
        const int32_t *video = (const int32_t *)tv->data + (size_t)st * B * L;
        double loss;
        memset(grad, 0, m.own_floats * sizeof(float));
        cr_assert_eq(nw_trainer_loss_grad(tr, text, video, NULL, grad, &loss), 0);
        cr_assert_eq(nw_opt_step(&m, grad, &s, &hyper, clipped ? 0.5 : 0.0, !clipped, &tops, &ctx), 0);
        const double el = fabs(loss - losses[st]) / fabs(losses[st]);
        const double en = fabs(s.last_grad_norm - norms[st]) / fabs(norms[st]);
        cr_expect(el <= LOSS_RTOL, "run %c step %d: loss %.7f, reference %.7f", clipped ? 'B' : 'A', st, loss,
                  losses[st]);
        const double ntol = !clipped && st == ILL_STEP_A ? NORM_RTOL_ILL : NORM_RTOL;
        cr_expect(en <= ntol, "run %c step %d: |g| %.7f, reference %.7f", clipped ? 'B' : 'A', st,
                  s.last_grad_norm, norms[st]);
        if (getenv("STEPS_VERBOSE"))
            fprintf(stderr, "%c %2d loss %.7f ref %.7f  |g| %.7f ref %.7f (%.1e)\n", clipped ? 'B' : 'A', st, loss,
                    losses[st], s.last_grad_norm, norms[st], en);
        if (el > worst_loss)
            worst_loss = el, wl = st;
        if (en > worst_norm)
            worst_norm = en, wn = st;
    }
    cr_log_info("run %c: worst loss rel. error %.2e (step %d), worst |g| rel. error %.2e (step %d)\n",
                clipped ? 'B' : 'A', worst_loss, wl, worst_norm, wn);
    fprintf(stderr, "train_steps run %c: worst loss rel. error %.2e (step %d), worst |g| rel. error %.2e (step %d)\n",
            clipped ? 'B' : 'A', worst_loss, wl, worst_norm, wn);

    static const char *const names[] = {"video_bos", "to_logits.weight", "text_embedding.embed.weight"};
    NwParams ps;
    cr_assert_eq(nw_params_list(&m, &ps), 0);
    for (int i = 0; i < 3; i++) {
        const NwParam *p = nw_params_find(&ps, names[i]);
        cr_assert_not_null(p, "%s", names[i]);
        char key[256];
        snprintf(key, sizeof(key), "test.%s.%s", clipped ? "final20_clip" : "final20", names[i]);
        const float *ref = f32_of(g, key, p->n);
        double dmax = 0, emax = 0, esq = 0;
        for (size_t k = 0; k < p->n; k++) {
            const double dref = (double)ref[k] - init[p->at + k];
            const double e = fabs((double)m.own[p->at + k] - ref[k]);
            dmax = fmax(dmax, fabs(dref));
            emax = fmax(emax, e);
            esq += e * e;
        }
        const double rms = sqrt(esq / p->n);
        fprintf(stderr, "train_steps run %c: %s: max |Δref| %.3e, max |c - ref| %.3e (%.2f%%), rms %.3e\n",
                clipped ? 'B' : 'A', names[i], dmax, emax, 100 * emax / dmax, rms);
        cr_expect(dmax > 1e-3, "%s barely moved: the test would prove nothing", names[i]);
        cr_expect(emax <= FINAL_TOL_FRAC * dmax, "run %c: %s: max |c - ref| %.3e > %.0f%% of max |Δ| %.3e",
                  clipped ? 'B' : 'A', names[i], emax, 100 * FINAL_TOL_FRAC, dmax);
        cr_expect(rms <= FINAL_RMS_FRAC * dmax, "run %c: %s: rms %.3e", clipped ? 'B' : 'A', names[i], rms);
    }
    nw_params_free(&ps);
    free(text);
    nw_free(grad);
    nw_free(init);
    nw_opt_free(&s);
    nw_trainer_free(&tr);
    nw_nuwa_free(&m);
    nw_gguf_close(&g);
}

Test(train_steps, adamw20_run_a, .timeout = 120) { run_twenty(0); }
Test(train_steps, adamw20_run_b_clip, .timeout = 120) { run_twenty(1); }

/* ---- nw_train_run ------------------------------------------------------------------------ */

typedef struct Env {
    char dir[512], model[640], data[640];
} Env;

static void write_bytes(const char *path, size_t n, uint64_t seed)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    uint64_t x = seed;
    for (size_t k = 0; k < n; k++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        fputc((int)(x >> 56), f);
    }
    fclose(f);
}

/* The tokenizer-enabled nuwa_n1 (16x16 frames, 2-frame window) and three clips with captions. */
static void env_init(Env *e, const char *tag)
{
    char p[800];
    loop_tmp_path(e->dir, sizeof(e->dir), tag);
    snprintf(e->model, sizeof(e->model), "%s/model.gguf", e->dir);
    snprintf(e->data, sizeof(e->data), "%s/data", e->dir);
    loop_make_tok_model(e->model);
    cr_assert_eq(mkdir(e->data, 0755), 0);
    for (int c = 0; c < 3; c++) {
        snprintf(p, sizeof(p), "%s/c%d.rgb", e->data, c);
        write_bytes(p, (size_t)(2 + c) * 16 * 16 * 3, 100 + (uint64_t)c);
    }
    snprintf(p, sizeof(p), "%s/captions.tsv", e->data);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("c0.rgb\tred\nc1.rgb\tgreen red\nc2.rgb\tred red\n", f);
    fclose(f);
}

static void env_free(Env *e)
{
    loop_rm_tree(e->dir);
}

static NwTrainRunOpts opts(const Env *e, const char *out)
{
    NwTrainRunOpts o;
    nw_train_run_opts_default(&o);
    o.model = e->model;
    o.data = e->data;
    o.val = e->data;
    o.out = out;
    o.steps = 6;
    o.batch = 2;
    o.lr = 1e-3;
    o.min_lr = 1e-4;  /* a cosine schedule, so that the resumed steps need the right step number */
    o.warmup = 2;
    o.cond_drop = 0.5; /* dropout on: the resumed run must draw the same masks */
    o.seed = 77;
    o.threads = 1;
    o.val_every = 2;
    o.ckpt_every = 0;
    return o;
}

typedef struct Seen {
    int n, stop_at, dropped_steps;
    double loss[16];
} Seen;

static int on_step(void *opaque, const NwTrainProgress *p)
{
    Seen *s = opaque;
    if (s->n < 16)
        s->loss[s->n] = p->loss;
    s->n++;
    cr_expect(p->lr > 0 && isfinite(p->loss) && p->grad_norm > 0);
    cr_expect_eq(p->total, 6);
    if (p->step % 2 == 0)
        cr_expect(p->val_now && isfinite(p->val_loss), "validation at step %lld", (long long)p->step);
    return s->stop_at && p->step == s->stop_at;
}

/* Both files' parameters and moments equal bit for bit (the metadata too, but for nothing). */
static void same_checkpoint(const char *a, const char *b)
{
    NwGguf *ga, *gb;
    char err[512];
    cr_assert_eq(nw_gguf_open(&ga, a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(nw_gguf_open(&gb, b, err, sizeof(err)), 0, "%s", err);
    int n = 0;
    for (uint64_t i = 0; i < ga->n_tensors; i++) {
        const NwGgufTensor *t = &ga->tensors[i];
        const NwGgufTensor *u = nw_gguf_find_tensor(gb, t->name);
        cr_assert_not_null(u, "%s", t->name);
        cr_expect_eq(t->n_elems, u->n_elems);
        cr_expect(!memcmp(t->data, u->data, (size_t)t->n_elems * 4), "%s differs", t->name);
        n++;
    }
    cr_expect_gt(n, 20);
    const NwGgufKV *ka = nw_gguf_find_kv(ga, "train.rng_state"), *kb = nw_gguf_find_kv(gb, "train.rng_state");
    cr_assert(ka && kb);
    cr_expect(!memcmp(ka->data, kb->data, 8), "data counters differ");
    nw_gguf_close(&ga);
    nw_gguf_close(&gb);
}

Test(train_steps, run_resume_bitwise, .timeout = 120)
{
    Env e;
    env_init(&e, "run");
    char one[800], two[800];
    snprintf(one, sizeof(one), "%s/one.gguf", e.dir);
    snprintf(two, sizeof(two), "%s/two.gguf", e.dir);
    NwLog log = loop_log();
    NwTrainRunResult r;

    /* 6 steps in one go */
    NwTrainRunOpts o = opts(&e, one);
    Seen s1 = {0};
    cr_assert_eq(nw_train_run(&o, &log, on_step, &s1, NULL, &r), 0, "%s", g_loop_log);
    cr_expect_eq(r.step, 6);
    cr_expect_eq(r.stopped, 0);
    cr_expect_eq(s1.n, 6);
    cr_expect_eq(r.data.clips, 3);
    cr_expect(isfinite(r.last_val));

    /* 3 steps, stopped by the callback (the checkpoint is written), then resumed to 6; the
     * resumed run is given other hyperparameters, which it must ignore (the checkpoint's win) */
    o = opts(&e, two);
    Seen s2 = {0, 3, 0, {0}};
    cr_assert_eq(nw_train_run(&o, &log, on_step, &s2, NULL, &r), 0, "%s", g_loop_log);
    cr_expect_eq(r.step, 3);
    cr_expect_eq(r.stopped, 1);
    cr_expect_eq(access(two, F_OK), 0);
    o = opts(&e, two);
    o.resume = two;
    o.steps = 0; /* the checkpoint's total */
    o.lr = 5e-2;
    o.seed = 1;
    o.threads = 2; /* the thread count changes nothing */
    Seen s3 = {0};
    cr_assert_eq(nw_train_run(&o, &log, on_step, &s3, NULL, &r), 0, "%s", g_loop_log);
    cr_expect_eq(r.start_step, 3);
    cr_expect_eq(r.step, 6);
    cr_expect_eq(s3.n, 3);
    for (int k = 0; k < 3; k++) {
        cr_expect_eq(s2.loss[k], s1.loss[k], "step %d loss", k + 1);
        cr_expect_eq(s3.loss[k], s1.loss[3 + k], "step %d loss after the resume", k + 4);
    }
    same_checkpoint(one, two);

    /* the stop flag set before the first step: a checkpoint of step 0 all the same */
    char three[800];
    snprintf(three, sizeof(three), "%s/three.gguf", e.dir);
    o = opts(&e, three);
    volatile sig_atomic_t flag = 1;
    cr_assert_eq(nw_train_run(&o, &log, NULL, NULL, &flag, &r), 0, "%s", g_loop_log);
    cr_expect(r.stopped && r.step == 0);
    cr_expect_eq(access(three, F_OK), 0);
    env_free(&e);
}

/* A new transformer from a config (NwTrainRunOpts.config): the run writes its initial model,
 * trains from it exactly as a run given that file would, dumps its batches with the losses it
 * reported, and resumes from the checkpoint used as the model file. */
Test(train_steps, run_new_transformer, .timeout = 120)
{
    Env e;
    env_init(&e, "runcfg");
    char cfg[800], init[800], a[800], b[800], dump[800];
    snprintf(cfg, sizeof(cfg), "%s/nuwa.json", e.dir);
    snprintf(init, sizeof(init), "%s/a.gguf.init.gguf", e.dir);
    snprintf(a, sizeof(a), "%s/a.gguf", e.dir);
    snprintf(b, sizeof(b), "%s/b.gguf", e.dir);
    snprintf(dump, sizeof(dump), "%s/batches.gguf", e.dir);
    FILE *f = fopen(cfg, "w");
    cr_assert_not_null(f);
    fputs("{\"dim\": 16, \"max_video_frames\": 2, \"text_num_tokens\": 516, \"text_max_seq_len\": 8,\n"
          " \"text_enc_depth\": 1, \"text_enc_heads\": 2, \"text_enc_dim_head\": 8, \"dec_depth\": 2,\n"
          " \"dec_heads\": 2, \"dec_dim_head\": 8, \"sparse_3dna_dilation\": 2}\n", f);
    fclose(f);
    NwLog log = loop_log();
    NwTrainRunResult r;

    NwTrainRunOpts o = opts(&e, a);
    o.config = cfg;
    o.init_out = init;
    o.dump_batches = dump;
    Seen s1 = {0};
    cr_assert_eq(nw_train_run(&o, &log, on_step, &s1, NULL, &r), 0, "%s", g_loop_log);
    cr_expect_eq(r.step, 6);
    cr_expect_gt(r.new_params, 1000);
    cr_assert_eq(access(init, F_OK), 0, "the initial model is kept");

    /* the same run from the written initial model: the same losses, the same checkpoint */
    o = opts(&e, b);
    o.model = init;
    Seen s2 = {0};
    cr_assert_eq(nw_train_run(&o, &log, on_step, &s2, NULL, &r), 0, "%s", g_loop_log);
    for (int k = 0; k < 6; k++)
        cr_expect_eq(s2.loss[k], s1.loss[k], "step %d", k + 1);
    same_checkpoint(a, b);

    /* the dump: 6 steps of batch 2, with the reported losses */
    NwGguf *g;
    char err[512];
    cr_assert_eq(nw_gguf_open(&g, dump, err, sizeof(err)), 0, "%s", err);
    const NwGgufTensor *tt = nw_gguf_find_tensor(g, "batch.text"), *tv = nw_gguf_find_tensor(g, "batch.video");
    const NwGgufTensor *td = nw_gguf_find_tensor(g, "batch.drop"), *tl = nw_gguf_find_tensor(g, "batch.loss");
    cr_assert(tt && tv && td && tl && nw_gguf_find_tensor(g, "batch.lr"));
    cr_expect(tt->type == NW_TYPE_I32 && tt->shape[0] == 6 && tt->shape[1] == 2 && tt->shape[2] == 8);
    cr_expect(tv->shape[0] == 6 && tv->shape[1] == 2 && tv->shape[2] == 2 * 16);
    const int32_t *drop = td->data;
    int dropped = 0;
    for (int k = 0; k < 12; k++)
        dropped += drop[k];
    cr_expect(dropped > 0 && dropped < 12, "cond_drop 0.5: %d of 12 dropped", dropped);
    for (int k = 0; k < 6; k++)
        cr_expect_eq(((const float *)tl->data)[k], (float)s1.loss[k]);
    nw_gguf_close(&g);

    /* --config cannot resume; the checkpoint itself is the model to resume with */
    o = opts(&e, a);
    o.config = cfg;
    o.init_out = init;
    o.resume = a;
    log = loop_log();
    cr_expect_eq(nw_train_run(&o, &log, NULL, NULL, NULL, &r), NUWA_ERR_INVAL);
    cr_expect(strstr(g_loop_log, "resume") != NULL, "%s", g_loop_log);
    o = opts(&e, a);
    o.model = a;
    o.resume = a;
    o.steps = 8;
    log = loop_log();
    cr_expect_eq(nw_train_run(&o, &log, NULL, NULL, NULL, &r), 0, "%s", g_loop_log);
    cr_expect(r.start_step == 6 && r.step == 8);
    env_free(&e);
}

Test(train_steps, run_errors, .timeout = 60)
{
    Env e;
    env_init(&e, "runerr");
    char out[800], fx[1024];
    snprintf(out, sizeof(out), "%s/o.gguf", e.dir);
    NwTrainRunResult r;
    NwLog log;

    NwTrainRunOpts o = opts(&e, out);
    o.batch = 0;
    log = loop_log();
    cr_expect_eq(nw_train_run(&o, &log, NULL, NULL, NULL, &r), NUWA_ERR_INVAL);
    cr_expect(strstr(g_loop_log, "batch") != NULL, "%s", g_loop_log);

    o = opts(&e, out);
    o.cond_drop = 1.5;
    log = loop_log();
    cr_expect_eq(nw_train_run(&o, &log, NULL, NULL, NULL, &r), NUWA_ERR_INVAL);
    cr_expect(strstr(g_loop_log, "dropout") != NULL, "%s", g_loop_log);

    /* a missing model, a missing data directory: named */
    o = opts(&e, out);
    o.model = "/nonexistent/model.gguf";
    log = loop_log();
    cr_expect_lt(nw_train_run(&o, &log, NULL, NULL, NULL, &r), 0);
    cr_expect(strstr(g_loop_log, "/nonexistent/model.gguf") != NULL, "%s", g_loop_log);
    o = opts(&e, out);
    o.data = "/nonexistent/data";
    log = loop_log();
    cr_expect_lt(nw_train_run(&o, &log, NULL, NULL, NULL, &r), 0);
    cr_expect(strstr(g_loop_log, "/nonexistent/data") != NULL, "%s", g_loop_log);
    cr_expect_neq(access(out, F_OK), 0, "no checkpoint after a failed start");

    /* resuming from a checkpoint of another model (train_t3: other shapes) */
    NwGguf *g;
    NwNuwa m;
    NwOptState s;
    NwTrainMeta mt;
    memset(&mt, 0, sizeof(mt));
    loop_fixture_path(fx, sizeof(fx), "train_t3.gguf");
    log = loop_log();
    cr_assert_eq(nw_train_open_model(fx, &g, &m, &log), 0, "%s", g_loop_log);
    cr_assert_eq(nw_opt_init(&s, &m), 0);
    mt.batch = 1;
    mt.total = 5;
    char other[800];
    snprintf(other, sizeof(other), "%s/other.gguf", e.dir);
    cr_assert_eq(nw_ckpt_save(other, g, &m, &s, &mt, &log), 0, "%s", g_loop_log);
    nw_opt_free(&s);
    nw_nuwa_free(&m);
    nw_gguf_close(&g);
    o = opts(&e, out);
    o.resume = other;
    log = loop_log();
    cr_expect_eq(nw_train_run(&o, &log, NULL, NULL, NULL, &r), NUWA_ERR_BAD_MODEL);
    cr_expect(strstr(g_loop_log, "other.gguf") != NULL, "%s", g_loop_log);
    env_free(&e);
}
