/*
 * trainrun.c — nw_train_run: the training loop of `nuwa train` (trainrun.h), built from the
 * trainer (train.h) and the loop's parts (trainloop.h). Nothing is printed: errors go to the
 * caller's log, progress to its callback.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "train.h"
#include "train_ops.h"
#include "trainrun.h"

/* Salts of the counter-based streams besides the data stream (seed, k): the dropout draw of batch
 * k is nw_uniforms(seed ^ DROP_SALT, k), the validation batches come from (seed ^ VAL_SALT, 0..).
 * Distinct constants keep the streams independent of each other and of the data windows. */
#define DROP_SALT 0x636f6e64726f7021ull /* "condrop!" */
#define VAL_SALT 0x76616c6964617465ull  /* "validate" */

/* Consecutive non-finite gradients after which the run gives up (nw_opt_step refuses them and
 * changes nothing; a few can be a bad batch, many mean the weights or the settings are broken). */
#define MAX_BAD_STEPS 8

void nw_train_run_opts_default(NwTrainRunOpts *o)
{
    memset(o, 0, sizeof(*o));
    o->steps = 1000;
    o->batch = 4;
    o->lr = 3e-4;
    o->min_lr = 3e-4;
    o->warmup = 0;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->weight_decay = 0.01f;
    o->clip = 0.5;
    o->decay_all = 0;
    o->cond_drop = 0.2;
    o->seed = 0;
    o->threads = 0;
    o->val_every = 100;
    o->ckpt_every = 100;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Option values that make no sense are refused before anything is opened. */
static int check_opts(const NwTrainRunOpts *o, const NwLog *log)
{
#define BAD(...)                                                                                   \
    do {                                                                                           \
        nw_log(log, NUWA_LOG_ERROR, __VA_ARGS__);                                                  \
        return NUWA_ERR_INVAL;                                                                     \
    } while (0)
    if (!o->model || !*o->model)
        BAD("train: no model file\n");
    if (!o->data || !*o->data)
        BAD("train: no training data\n");
    if (!o->out || !*o->out)
        BAD("train: no output checkpoint\n");
    if (o->steps < 0 || (o->steps == 0 && !o->resume))
        BAD("train: the number of steps must be positive, got %lld\n", (long long)o->steps);
    if (o->batch < 1 || o->batch > 65536)
        BAD("train: the batch size must be in [1, 65536], got %d\n", o->batch);
    if (!(o->lr > 0) || !isfinite(o->lr))
        BAD("train: the learning rate must be positive, got %g\n", o->lr);
    if (!(o->min_lr >= 0) || !isfinite(o->min_lr))
        BAD("train: the final learning rate must be >= 0, got %g\n", o->min_lr);
    if (o->warmup < 0)
        BAD("train: the warm-up must be >= 0 steps, got %lld\n", (long long)o->warmup);
    if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1))
        BAD("train: AdamW betas must be in [0, 1), got (%g, %g)\n", o->beta1, o->beta2);
    if (!(o->eps > 0))
        BAD("train: AdamW eps must be positive, got %g\n", o->eps);
    if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay))
        BAD("train: the weight decay must be >= 0, got %g\n", o->weight_decay);
    if (!(o->clip >= 0) || !isfinite(o->clip))
        BAD("train: the gradient clip must be >= 0 (0 = none), got %g\n", o->clip);
    if (!(o->cond_drop >= 0 && o->cond_drop <= 1))
        BAD("train: the conditioning dropout must be in [0, 1], got %g\n", o->cond_drop);
    if (o->threads < 0 || o->threads > 1024)
        BAD("train: the thread count must be in [0, 1024], got %d\n", o->threads);
    if (o->config && o->resume)
        BAD("train: a new transformer (--config) cannot resume a run: resume from the checkpoint, which is a "
            "model file\n");
    if (o->config && (!o->init_out || !*o->init_out))
        BAD("train: a new transformer (--config) needs the path of its initial model file\n");
    if (o->val_every < 0 || o->ckpt_every < 0 || o->val_batches < 0)
        BAD("train: --val-every, --ckpt-every and the validation batches must be >= 0\n");
    return 0;
#undef BAD
}

/* The batches of a session (NwTrainRunOpts.dump_batches), written at its end. */
typedef struct Dump {
    int32_t *text, *video, *drop;
    float *loss, *lr;
    int64_t n, cap, first_step;
} Dump;

typedef struct Run {
    const NwTrainRunOpts *o;
    const char *model;      /* the model file the run starts from (o->model or o->init_out) */
    Dump dump;
    const NwLog *log;
    NwGguf *g;
    NwNuwa m;
    NwOptState s;
    NwTrainMeta meta;
    NwDataset *ds, *vs;
    NwTrainer *tr;
    NwOps ops;
    NwTrainOps tops;
    NwCtx ctx;
    int32_t *text, *video;
    uint8_t *drop;
    float *grad, *u;
    int val_batches;
} Run;

static int save(Run *r, const NwDataRng *rng)
{
    r->meta.step = r->s.step;
    r->meta.rng_state = rng->counter;
    return nw_ckpt_save(r->o->out, r->g, &r->m, &r->s, &r->meta, r->log);
}

static void dump_free(Dump *d)
{
    free(d->text);
    free(d->video);
    free(d->drop);
    free(d->loss);
    free(d->lr);
    memset(d, 0, sizeof(*d));
}

/* realloc that keeps the old block (still owned by the dump) on failure */
static void *grown(void *p, int64_t cap, size_t each, int *bad)
{
    void *q = realloc(p, (size_t)cap * each);
    if (!q)
        *bad = 1;
    return q ? q : p;
}

static int dump_add(Dump *d, const Run *r, int64_t step, double loss, double lr)
{
    const size_t B = (size_t)r->meta.batch, tn = (size_t)r->m.text_len, L = (size_t)r->m.max_frames * r->m.T;
    if (d->n == d->cap) {
        const int64_t cap = d->cap ? 2 * d->cap : 64;
        int bad = 0;
        d->text = grown(d->text, cap, sizeof(int32_t) * B * tn, &bad);
        d->video = grown(d->video, cap, sizeof(int32_t) * B * L, &bad);
        d->drop = grown(d->drop, cap, sizeof(int32_t) * B, &bad);
        d->loss = grown(d->loss, cap, sizeof(float), &bad);
        d->lr = grown(d->lr, cap, sizeof(float), &bad);
        if (bad) {
            nw_log(r->log, NUWA_LOG_ERROR, "train: out of memory for the batch dump\n");
            return NUWA_ERR_NOMEM;
        }
        d->cap = cap;
    }
    if (!d->n)
        d->first_step = step;
    memcpy(d->text + d->n * B * tn, r->text, sizeof(int32_t) * B * tn);
    memcpy(d->video + d->n * B * L, r->video, sizeof(int32_t) * B * L);
    for (size_t b = 0; b < B; b++)
        d->drop[d->n * B + b] = r->drop[b];
    d->loss[d->n] = (float)loss;
    d->lr[d->n] = (float)lr;
    d->n++;
    return 0;
}

/* batch.text (S, B, text_len), batch.video (S, B, frames x tokens), batch.drop (S, B: 1 = the
 * caption was replaced by the null condition), batch.loss and batch.lr (S); S steps from
 * batch.first_step. */
static int dump_write(const Dump *d, const Run *r, const char *path)
{
    const int64_t B = r->meta.batch, tn = r->m.text_len, L = (int64_t)r->m.max_frames * r->m.T;
    NwGgufWriter *w = nw_gguf_writer_new();
    if (!w)
        return NUWA_ERR_NOMEM;
    const int64_t st[3] = {d->n, B, tn}, sv[3] = {d->n, B, L}, sd[2] = {d->n, B}, s1[1] = {d->n};
    const uint32_t first = (uint32_t)d->first_step;
    int e = nw_gguf_writer_add_u32(w, "batch.first_step", first) ||
            nw_gguf_writer_add_tensor(w, "batch.text", NW_TYPE_I32, 3, st, d->text) ||
            nw_gguf_writer_add_tensor(w, "batch.video", NW_TYPE_I32, 3, sv, d->video) ||
            nw_gguf_writer_add_tensor(w, "batch.drop", NW_TYPE_I32, 2, sd, d->drop) ||
            nw_gguf_writer_add_tensor(w, "batch.loss", NW_TYPE_F32, 1, s1, d->loss) ||
            nw_gguf_writer_add_tensor(w, "batch.lr", NW_TYPE_F32, 1, s1, d->lr)
                ? NUWA_ERR_NOMEM
                : 0;
    if (!e)
        e = nw_gguf_writer_save_atomic(w, path, r->log);
    nw_gguf_writer_free(&w);
    return e;
}

/* Mean loss over the fixed validation batches: no dropout, and the gradient (which the trainer
 * always computes) goes into the step's buffer, which the next step zeroes anyway. */
static int validate(Run *r, double *out)
{
    NwDataRng vr = {r->meta.seed ^ VAL_SALT, 0};
    const int B = r->meta.batch;
    double sum = 0;
    for (int k = 0; k < r->val_batches; k++) {
        double l;
        int e = nw_data_batch(r->vs, &vr, B, r->text, r->video);
        if (!e)
            e = nw_trainer_loss_grad(r->tr, r->text, r->video, NULL, r->grad, &l);
        if (e)
            return e;
        sum += l;
    }
    *out = sum / r->val_batches;
    return 0;
}

typedef struct DataProgress {
    const Run *r;
    const char *path;
    void *opaque;
    volatile sig_atomic_t *stop;
} DataProgress;

static int data_progress(void *opaque, int done, int total)
{
    const DataProgress *d = opaque;
    if (d->r->o->data_progress)
        d->r->o->data_progress(d->opaque, d->path, done, total);
    return d->stop && *d->stop;
}

static int open_data(NwDataset **ds, const char *path, const Run *r, NwDataInfo *info, void *opaque,
                     volatile sig_atomic_t *stop)
{
    NwDataParams dp;
    DataProgress prog = {r, path, opaque, stop};
    nw_data_params_default(&dp);
    dp.progress = data_progress;
    dp.progress_opaque = &prog;
    dp.n_threads = r->ctx.n_threads;
    dp.truncate_text = r->o->truncate_text;
    int e = nw_data_open(ds, path, r->model, &dp, r->log);
    if (e == NUWA_ERR_AGAIN)
        nw_log(r->log, NUWA_LOG_WARNING, "train: stopped while tokenizing %s: no step taken, nothing written\n", path);
    if (e)
        return e;
    nw_data_info(*ds, info);
    /* the same model file defines both, but a mismatch would index out of bounds: check */
    if (info->max_frames != r->m.max_frames || info->tokens_per_frame != r->m.T || info->text_len != r->m.text_len) {
        nw_log(r->log, NUWA_LOG_ERROR, "%s: the data's clips do not match the model's window\n", path);
        return NUWA_ERR_INVAL;
    }
    return 0;
}

int nw_train_run(const NwTrainRunOpts *o, const NwLog *log, NwTrainProgressFn progress, void *opaque,
                 volatile sig_atomic_t *stop, NwTrainRunResult *res)
{
    NwTrainRunResult rs;
    memset(&rs, 0, sizeof(rs));
    rs.last_loss = rs.last_val = NAN;
    if (!o)
        return NUWA_ERR_INVAL;
    int e = check_opts(o, log);
    if (e)
        return e;
    Run r;
    memset(&r, 0, sizeof(r));
    r.o = o;
    r.log = log;
    r.ctx.n_threads = o->threads > 0 ? o->threads : NW_MAX(omp_get_num_procs(), 1);
    nw_ops_init_cpu(&r.ops, nw_cpu_flags());
    nw_train_ops_init_cpu(&r.tops, nw_cpu_flags());

    r.model = o->model;
    if (o->config) {
        if ((e = nw_train_init_model(o->config, o->model, o->seed, o->init_out, &rs.new_params, log)))
            goto out;
        r.model = o->init_out;
    }
    if ((e = nw_train_open_model(r.model, &r.g, &r.m, log)))
        goto out;
    if ((e = nw_opt_init(&r.s, &r.m)))
        goto out;

    /* the run's settings: from the options, or all of them from the checkpoint (resuming must
     * continue the same run, so only the length may change: a new total reshapes the schedule) */
    NwTrainMeta *mt = &r.meta;
    if (o->resume) {
        if ((e = nw_ckpt_load(o->resume, &r.m, &r.s, mt, log)))
            goto out;
        if (o->steps > 0)
            mt->total = o->steps;
        if (mt->batch < 1 || mt->batch > 65536 || mt->total < 1 || !(mt->cond_drop >= 0 && mt->cond_drop <= 1)) {
            nw_log(log, NUWA_LOG_ERROR, "%s: bad training settings in the checkpoint\n", o->resume);
            e = NUWA_ERR_BAD_MODEL;
            goto out;
        }
    } else {
        mt->step = 0;
        mt->seed = o->seed;
        mt->rng_state = 0;
        mt->hyper.lr = (float)o->lr;
        mt->hyper.beta1 = o->beta1;
        mt->hyper.beta2 = o->beta2;
        mt->hyper.eps = o->eps;
        mt->hyper.weight_decay = o->weight_decay;
        mt->clip = o->clip;
        mt->decay_all = o->decay_all;
        mt->warmup = o->warmup;
        mt->total = o->steps;
        mt->min_lr = o->min_lr;
        mt->batch = o->batch;
        mt->cond_drop = o->cond_drop;
    }
    rs.start_step = rs.step = r.s.step;
    const int B = mt->batch;
    const size_t L = (size_t)r.m.max_frames * r.m.T;

    if ((e = open_data(&r.ds, o->data, &r, &rs.data, opaque, stop)))
        goto out;
    if (o->val && (e = open_data(&r.vs, o->val, &r, &rs.val, opaque, stop)))
        goto out;
    if (r.vs)
        r.val_batches = o->val_batches > 0 ? o->val_batches : NW_MIN(16, NW_MAX(1, (rs.val.clips + B - 1) / B));

    r.text = malloc(sizeof(int32_t) * (size_t)B * r.m.text_len);
    r.video = malloc(sizeof(int32_t) * (size_t)B * L);
    r.drop = malloc((size_t)B);
    r.u = malloc(sizeof(float) * (size_t)B);
    r.grad = nw_alloc(r.m.own_floats * sizeof(float));
    if (!r.text || !r.video || !r.drop || !r.u || !r.grad) {
        e = NUWA_ERR_NOMEM;
        goto out;
    }
    if ((e = nw_trainer_create(&r.tr, &r.m, &r.ops, &r.tops, B, r.ctx.n_threads))) {
        nw_log(log, NUWA_LOG_ERROR, "train: cannot create the trainer for batch %d (%s)\n", B, nuwa_strerror(e));
        goto out;
    }

    NwDataRng rng = {mt->seed, mt->rng_state};
    const double t0 = now_s();
    int bad = 0;
    int64_t done = 0; /* steps taken in this session, for the rate */
    while (r.s.step < mt->total) {
        if (stop && *stop)
            break;
        NwTrainProgress p;
        memset(&p, 0, sizeof(p));
        const uint64_t k = rng.counter;
        if ((e = nw_data_batch(r.ds, &rng, B, r.text, r.video)))
            goto out;
        /* conditioning dropout as the reference (prob_mask_like: U(0,1) < p drops the item),
         * from its own counter stream so that it does not shift the data windows */
        nw_uniforms(mt->seed ^ DROP_SALT, k, r.u, B);
        int any = 0;
        for (int b = 0; b < B; b++)
            any |= r.drop[b] = r.u[b] < mt->cond_drop;
        memset(r.grad, 0, r.m.own_floats * sizeof(float));
        double loss;
        if ((e = nw_trainer_loss_grad(r.tr, r.text, r.video, any ? r.drop : NULL, r.grad, &loss))) {
            nw_log(log, NUWA_LOG_ERROR, "train: batch %llu: bad token ids (%s)\n", (unsigned long long)k,
                   nuwa_strerror(e));
            goto out;
        }
        const int64_t step = r.s.step + 1;
        NwAdamW h = mt->hyper;
        const double lr = nw_lr_at(step, mt->hyper.lr, mt->warmup, mt->total, mt->min_lr);
        h.lr = (float)lr;
        e = nw_opt_step(&r.m, r.grad, &r.s, &h, mt->clip, mt->decay_all, &r.tops, &r.ctx);
        p.step = r.s.step;
        p.total = mt->total;
        p.loss = loss;
        p.lr = lr;
        p.grad_norm = r.s.last_grad_norm;
        p.resumed_from = rs.start_step;
        if (e == NUWA_ERR_INVAL) {
            /* a non-finite gradient: nothing changed; the next batch retries this step */
            p.skipped = 1;
            nw_log(log, NUWA_LOG_WARNING, "train: step %lld: the gradient is not finite (loss %g): batch skipped\n",
                   (long long)step, loss);
            if (++bad >= MAX_BAD_STEPS) {
                nw_log(log, NUWA_LOG_ERROR,
                       "train: %d non-finite gradients in a row: stopping (lower the learning rate?)\n", bad);
                goto out;
            }
            e = 0;
        } else if (e) {
            goto out;
        } else {
            bad = 0;
            done++;
        }
        if (o->dump_batches && (e = dump_add(&r.dump, &r, step, loss, lr)))
            goto out;
        rs.step = r.s.step;
        rs.last_loss = loss;
        const double el = now_s() - t0;
        const double sps = el > 0 ? done / el : 0;
        p.tokens_per_s = sps * B * (double)L;
        p.eta_s = sps > 0 ? (mt->total - r.s.step) / sps : 0;

        if (!p.skipped && r.vs && ((o->val_every > 0 && r.s.step % o->val_every == 0) || r.s.step == mt->total)) {
            if ((e = validate(&r, &rs.last_val)))
                goto out;
            p.val_now = 1;
        }
        p.val_loss = rs.last_val;
        int want_stop = stop && *stop;
        if (!p.skipped && ((o->ckpt_every > 0 && r.s.step % o->ckpt_every == 0) || r.s.step == mt->total)) {
            if ((e = save(&r, &rng)))
                goto out;
            p.saved = 1;
        }
        if (progress && progress(opaque, &p))
            want_stop = 1;
        if (want_stop || (stop && *stop)) {
            if (!p.saved && (e = save(&r, &rng)))
                goto out;
            rs.stopped = 1;
            break;
        }
    }
    /* stopped before the first step, or resumed at the end: still leave the checkpoint */
    if (!rs.stopped && stop && *stop) {
        rs.stopped = 1;
        if ((e = save(&r, &rng)))
            goto out;
    } else if (!rs.stopped && r.s.step == rs.start_step && (e = save(&r, &rng))) {
        goto out;
    }
out:
    if (o->dump_batches && r.dump.n) { /* also after an error: the steps that were taken */
        const int de = dump_write(&r.dump, &r, o->dump_batches);
        if (!e)
            e = de;
    }
    dump_free(&r.dump);
    if (res)
        *res = rs;
    nw_trainer_free(&r.tr);
    nw_free(r.grad);
    free(r.u);
    free(r.drop);
    free(r.text);
    free(r.video);
    nw_data_close(&r.vs);
    nw_data_close(&r.ds);
    nw_opt_free(&r.s);
    nw_nuwa_free(&r.m);
    nw_gguf_close(&r.g);
    return e;
}
