/* trainloop.c — see trainloop.h: parameters, optimizer step, schedule, checkpoints, export.
 * The training data lives in trainloop_data.c. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trainloop.h"
#include "vqgan.h"

/* ---- parameters ------------------------------------------------------------------------- */

typedef struct ListCtx {
    NwParams *ps;
    int cap, err;
} ListCtx;

static int ends_with(const char *s, const char *suffix)
{
    const size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void list_cb(void *opaque, const char *name, int n_dims, const int64_t *shape, NwW at)
{
    ListCtx *c = opaque;
    if (c->err)
        return;
    if (c->ps->n == c->cap) {
        const int ncap = c->cap ? 2 * c->cap : 64;
        NwParam *r = realloc(c->ps->p, (size_t)ncap * sizeof(*r));
        if (!r) {
            c->err = NUWA_ERR_NOMEM;
            return;
        }
        c->ps->p = r;
        c->cap = ncap;
    }
    NwParam *p = &c->ps->p[c->ps->n];
    memset(p, 0, sizeof(*p));
    p->name = strdup(name);
    if (!p->name) {
        c->err = NUWA_ERR_NOMEM;
        return;
    }
    p->n_dims = n_dims;
    p->n = 1;
    for (int i = 0; i < 4; i++)
        p->shape[i] = i < n_dims ? shape[i] : 1;
    for (int i = 0; i < n_dims; i++)
        p->n *= (size_t)shape[i];
    p->at = at;
    /* the rotary frequencies are a buffer of the reference (no gradient, not in its optimizer)
     * that the converter stores as a weight */
    p->trainable = !ends_with(name, "inv_freq");
    c->ps->n++;
}

int nw_params_list(const NwNuwa *m, NwParams *out)
{
    memset(out, 0, sizeof(*out));
    if (!m || !m->own)
        return NUWA_ERR_INVAL;
    ListCtx c = {out, 0, 0};
    int r = nw_nuwa_tensors(m, list_cb, &c);
    if (!r)
        r = c.err;
    for (int i = 0; !r && i < out->n; i++)
        if (!out->p[i].at || out->p[i].at + out->p[i].n > m->own_floats)
            r = NUWA_ERR_INVAL; /* a plan that does not match its blob */
    if (r)
        nw_params_free(out);
    return r;
}

void nw_params_free(NwParams *ps)
{
    if (!ps)
        return;
    for (int i = 0; i < ps->n; i++)
        free(ps->p[i].name);
    free(ps->p);
    ps->p = NULL;
    ps->n = 0;
}

const NwParam *nw_params_find(const NwParams *ps, const char *name)
{
    for (int i = 0; i < ps->n; i++)
        if (!strcmp(ps->p[i].name, name))
            return &ps->p[i];
    return NULL;
}

/* ---- optimizer ---------------------------------------------------------------------------- */

int nw_opt_init(NwOptState *s, const NwNuwa *m)
{
    memset(s, 0, sizeof(*s));
    if (!m || !m->own || !m->own_floats)
        return NUWA_ERR_INVAL;
    int r = nw_params_list(m, &s->params);
    if (r)
        return r;
    s->n = m->own_floats;
    s->m = nw_calloc(s->n, sizeof(float));
    s->v = nw_calloc(s->n, sizeof(float));
    if (!s->m || !s->v) {
        nw_opt_free(s);
        return NUWA_ERR_NOMEM;
    }
    return 0;
}

void nw_opt_free(NwOptState *s)
{
    if (!s)
        return;
    nw_free(s->m);
    nw_free(s->v);
    nw_params_free(&s->params);
    memset(s, 0, sizeof(*s));
}

int nw_opt_step(NwNuwa *m, float *grad, NwOptState *s, const NwAdamW *hyper, double clip, int decay_all,
                const NwTrainOps *tops, NwCtx *ctx)
{
    if (!m || !m->own || !grad || !s || !s->m || s->n != m->own_floats || !hyper || !tops || !tops->adamw ||
        !(clip >= 0))
        return NUWA_ERR_INVAL;
    const NwParams *ps = &s->params;

    /* One norm over all parameters together, accumulated exactly as nw_clip_grad_norm does on a
     * single buffer (double, element order), so that this equals nw_clip_grad_norm over the
     * parameters' gradients concatenated — the derived tables' slots are not parameters and must
     * not count (a trainer leaves them 0, but nothing here relies on it). */
    double sq = 0;
    for (int i = 0; i < ps->n; i++) {
        if (!ps->p[i].trainable)
            continue;
        const float *g = grad + ps->p[i].at;
        for (size_t k = 0; k < ps->p[i].n; k++)
            sq += (double)g[k] * g[k];
    }
    const double norm = sqrt(sq);
    s->last_grad_norm = norm;
    if (!isfinite(norm))
        return NUWA_ERR_INVAL;
    if (clip > 0) {
        /* nw_clip_grad_norm's coefficient, float as torch evaluates it */
        const float coef = (1.f / ((float)norm + 1e-6f)) * (float)clip;
        if (coef < 1.f)
            for (int i = 0; i < ps->n; i++) {
                if (!ps->p[i].trainable)
                    continue;
                float *g = grad + ps->p[i].at;
                for (size_t k = 0; k < ps->p[i].n; k++)
                    g[k] *= coef;
            }
    }

    NwAdamW o = *hyper;
    o.step = s->step + 1;
    for (int i = 0; i < ps->n; i++) {
        const NwParam *p = &ps->p[i];
        if (!p->trainable)
            continue;
        o.weight_decay = decay_all || p->n_dims >= 2 ? hyper->weight_decay : 0.f;
        tops->adamw(ctx, m->own + p->at, grad + p->at, s->m + p->at, s->v + p->at, p->n, &o);
    }
    s->step++;
    nw_nuwa_refresh_tables(m);
    return 0;
}

double nw_lr_at(int64_t step, double base_lr, int64_t warmup, int64_t total, double min_lr)
{
    if (step < 1)
        step = 1;
    if (warmup > 0 && step <= warmup)
        return base_lr * (double)step / (double)warmup;
    if (total <= warmup)
        return base_lr;
    if (step >= total)
        return min_lr;
    const double p = (double)(step - warmup) / (double)(total - warmup);
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + cos(M_PI * p));
}

/* ---- writing files ---------------------------------------------------------------------- */

int nw_gguf_writer_copy_kv(NwGgufWriter *w, const NwGgufKV *kv)
{
    if (kv->type == NW_GGUF_ARRAY)
        return nw_gguf_writer_add_array(w, kv->key, kv->arr_type,
                                        kv->arr_type == NW_GGUF_STRING ? (const void *)kv->strs : kv->data, kv->n);
    if (kv->type == NW_GGUF_STRING)
        return nw_gguf_writer_add_scalar(w, kv->key, NW_GGUF_STRING, kv->str);
    /* the reader's scalar bytes are unaligned little-endian file bytes: the writer memcpy's them */
    return nw_gguf_writer_add_scalar(w, kv->key, kv->type, kv->data);
}

int nw_gguf_writer_save_atomic(NwGgufWriter *w, const char *path, const NwLog *log)
{
    uint8_t *buf = NULL;
    size_t size = 0;
    int r = nw_gguf_writer_to_buffer(w, &buf, &size);
    if (r) {
        nw_log(log, NUWA_LOG_ERROR, "%s: cannot serialise the file (%s)\n", path, nuwa_strerror(r));
        return r;
    }
    const size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        free(buf);
        return NUWA_ERR_NOMEM;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    r = NUWA_ERR_IO;
    const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        nw_log(log, NUWA_LOG_ERROR, "%s: cannot create: %s\n", tmp, strerror(errno));
        goto out;
    }
    size_t done = 0;
    while (done < size) {
        const ssize_t k = write(fd, buf + done, size - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        done += (size_t)k;
    }
    /* the data must be on disk before the rename makes it the file: otherwise a crash could
     * leave a renamed but empty checkpoint in place of the previous good one */
    if (done != size || fsync(fd) != 0) {
        nw_log(log, NUWA_LOG_ERROR, "%s: write failed: %s\n", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        nw_log(log, NUWA_LOG_ERROR, "%s: cannot replace with %s: %s\n", path, tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    /* and the rename itself durable: fsync the directory (best effort) */
    {
        const char *slash = strrchr(path, '/');
        char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
        if (dir) {
            const int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                (void)fsync(dfd);
                close(dfd);
            }
            free(dir);
        }
    }
    r = 0;
out:
    free(tmp);
    free(buf);
    return r;
}

/* convert.py's rule: only >= 2-D `.weight` tensors and the codebook are narrowed */
static int narrowed(const char *name, int n_dims)
{
    return (ends_with(name, ".weight") && n_dims >= 2) || ends_with(name, "_codebook.embed");
}

static int add_tensor_typed(NwGgufWriter *w, const char *name, int n_dims, const int64_t *shape, const float *x,
                            size_t n, int dtype, const NwLog *log)
{
    const int type = dtype != NW_TYPE_F32 && narrowed(name, n_dims) ? dtype : NW_TYPE_F32;
    if (type == NW_TYPE_F32)
        return nw_gguf_writer_add_tensor(w, name, NW_TYPE_F32, n_dims, shape, x);
    uint16_t *h = malloc((n ? n : 1) * sizeof(uint16_t));
    if (!h)
        return NUWA_ERR_NOMEM;
    for (size_t k = 0; k < n; k++) {
        if (type == NW_TYPE_F16 && isfinite(x[k]) && fabsf(x[k]) > 65504.f) {
            nw_log(log, NUWA_LOG_ERROR,
                   "export: %s[%zu] = %g exceeds the float16 range; export as bf16 or f32\n", name, k, x[k]);
            free(h);
            return NUWA_ERR_INVAL;
        }
        h[k] = type == NW_TYPE_F16 ? nw_f32_to_f16(x[k]) : nw_f32_to_bf16(x[k]);
    }
    const int r = nw_gguf_writer_add_tensor(w, name, type, n_dims, shape, h);
    free(h);
    return r;
}

static int starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* The model file of nw_export_model as a writer (the checkpoint adds to it). */
static int export_writer(NwGgufWriter **out, const NwGguf *src, const NwNuwa *m, const NwParams *ps, int dtype,
                         const NwLog *log)
{
    NwGgufWriter *w = nw_gguf_writer_new();
    int r = w ? 0 : NUWA_ERR_NOMEM;
    /* metadata: what describes the VQGAN and the tokenizer comes from the source; the
     * transformer's hyperparameters from the plan (they define the tensors written below) */
    for (uint64_t i = 0; src && !r && i < src->n_kv; i++) {
        const NwGgufKV *kv = &src->kv[i];
        if (starts_with(kv->key, "general.") || starts_with(kv->key, "nuwa.vae.") ||
            starts_with(kv->key, "nuwa.tokenizer."))
            r = nw_gguf_writer_copy_kv(w, kv);
    }
    if (!r)
        r = nw_nuwa_write_hparams(m, w);
    float *tmp = NULL;
    for (uint64_t i = 0; src && !r && i < src->n_tensors; i++) {
        const NwGgufTensor *t = &src->tensors[i];
        if (!starts_with(t->name, "vae."))
            continue;
        if (t->type != NW_TYPE_F32 && t->type != NW_TYPE_F16 && t->type != NW_TYPE_BF16) {
            r = nw_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->shape, t->data);
            continue;
        }
        float *x = realloc(tmp, (size_t)t->n_elems * sizeof(float));
        if (!x) {
            r = NUWA_ERR_NOMEM;
            break;
        }
        tmp = x;
        nw_tensor_to_f32(t, tmp);
        r = add_tensor_typed(w, t->name, t->n_dims, t->shape, tmp, (size_t)t->n_elems, dtype, log);
    }
    free(tmp);
    for (int i = 0; !r && i < ps->n; i++) {
        const NwParam *p = &ps->p[i];
        r = add_tensor_typed(w, p->name, p->n_dims, p->shape, m->own + p->at, p->n, dtype, log);
    }
    if (r) {
        if (r != NUWA_ERR_INVAL)
            nw_log(log, NUWA_LOG_ERROR, "export: cannot build the model file (%s)\n", nuwa_strerror(r));
        nw_gguf_writer_free(&w);
        return r;
    }
    *out = w;
    return 0;
}

int nw_export_model(const char *path, const NwGguf *src, const NwNuwa *m, int dtype, const NwLog *log)
{
    if (!path || !m || !m->own || (dtype != NW_TYPE_F32 && dtype != NW_TYPE_F16 && dtype != NW_TYPE_BF16))
        return NUWA_ERR_INVAL;
    NwParams ps;
    NwGgufWriter *w = NULL;
    int r = nw_params_list(m, &ps);
    if (!r)
        r = export_writer(&w, src, m, &ps, dtype, log);
    if (!r)
        r = nw_gguf_writer_save_atomic(w, path, log);
    nw_gguf_writer_free(&w);
    nw_params_free(&ps);
    return r;
}

/* ---- checkpoints ------------------------------------------------------------------------- */

static int add_u64(NwGgufWriter *w, const char *key, uint64_t v)
{
    return nw_gguf_writer_add_scalar(w, key, NW_GGUF_U64, &v);
}

static int add_f32(NwGgufWriter *w, const char *key, float v)
{
    return nw_gguf_writer_add_scalar(w, key, NW_GGUF_F32, &v);
}

static int add_f64(NwGgufWriter *w, const char *key, double v)
{
    return nw_gguf_writer_add_scalar(w, key, NW_GGUF_F64, &v);
}

int nw_ckpt_save(const char *path, const NwGguf *src, const NwNuwa *m, const NwOptState *s,
                 const NwTrainMeta *meta, const NwLog *log)
{
    if (!path || !m || !m->own || !s || !s->m || s->n != m->own_floats || !meta)
        return NUWA_ERR_INVAL;
    NwGgufWriter *w = NULL;
    const NwParams *ps = &s->params;
    int r = export_writer(&w, src, m, ps, NW_TYPE_F32, log);
    char name[4096];
    for (int i = 0; !r && i < ps->n; i++) {
        const NwParam *p = &ps->p[i];
        if (!p->trainable)
            continue;
        snprintf(name, sizeof(name), "opt.m.%s", p->name);
        r = nw_gguf_writer_add_tensor(w, name, NW_TYPE_F32, p->n_dims, p->shape, s->m + p->at);
        snprintf(name, sizeof(name), "opt.v.%s", p->name);
        if (!r)
            r = nw_gguf_writer_add_tensor(w, name, NW_TYPE_F32, p->n_dims, p->shape, s->v + p->at);
    }
    /* every number that decides the next step, at full precision (F32 where the run uses floats) */
    if (!r)
        r = add_u64(w, "train.step", (uint64_t)meta->step);
    if (!r)
        r = add_u64(w, "train.seed", meta->seed);
    if (!r)
        r = add_u64(w, "train.rng_state", meta->rng_state);
    if (!r)
        r = add_f32(w, "train.lr", meta->hyper.lr);
    if (!r)
        r = add_f32(w, "train.beta1", meta->hyper.beta1);
    if (!r)
        r = add_f32(w, "train.beta2", meta->hyper.beta2);
    if (!r)
        r = add_f32(w, "train.eps", meta->hyper.eps);
    if (!r)
        r = add_f32(w, "train.weight_decay", meta->hyper.weight_decay);
    if (!r)
        r = add_f64(w, "train.clip", meta->clip);
    if (!r)
        r = add_u64(w, "train.decay_all", (uint64_t)(meta->decay_all != 0));
    if (!r)
        r = add_u64(w, "train.warmup", (uint64_t)meta->warmup);
    if (!r)
        r = add_u64(w, "train.total", (uint64_t)meta->total);
    if (!r)
        r = add_f64(w, "train.min_lr", meta->min_lr);
    if (!r)
        r = add_u64(w, "train.batch", (uint64_t)meta->batch);
    if (!r)
        r = add_f64(w, "train.cond_drop", meta->cond_drop);
    if (!r)
        r = nw_gguf_writer_save_atomic(w, path, log);
    else if (w)
        nw_log(log, NUWA_LOG_ERROR, "%s: cannot build the checkpoint (%s)\n", path, nuwa_strerror(r));
    nw_gguf_writer_free(&w);
    return r;
}

/* A scalar of exactly `type` (the checkpoint writes each key with one type). */
static int get_scalar(const NwGguf *g, const char *path, const char *key, int type, void *dst, size_t size,
                      const NwLog *log)
{
    const NwGgufKV *kv = nw_gguf_find_kv(g, key);
    if (!kv || kv->type != type) {
        nw_log(log, NUWA_LOG_ERROR, "%s: not a training checkpoint: %s %s\n", path, key,
               kv ? "has the wrong type" : "is missing");
        return NUWA_ERR_BAD_MODEL;
    }
    memcpy(dst, kv->data, size);
    return 0;
}

static void shape_str(char *buf, size_t len, int n_dims, const int64_t *shape)
{
    size_t k = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < n_dims && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (k < len)
        snprintf(buf + k, len - k, ")");
}

/* The tensor `name` of the checkpoint, F32 and of the parameter's shape; else logs which and why. */
static const NwGgufTensor *ckpt_tensor(const NwGguf *g, const char *path, const char *name, const NwParam *p,
                                       const NwLog *log)
{
    const NwGgufTensor *t = nw_gguf_find_tensor(g, name);
    char want[96], got[96];
    if (!t) {
        nw_log(log, NUWA_LOG_ERROR, "%s: tensor %s is missing (a checkpoint of another model?)\n", path, name);
        return NULL;
    }
    int same = t->n_dims == p->n_dims;
    for (int i = 0; same && i < p->n_dims; i++)
        same = t->shape[i] == p->shape[i];
    if (!same) {
        shape_str(want, sizeof(want), p->n_dims, p->shape);
        shape_str(got, sizeof(got), t->n_dims, t->shape);
        nw_log(log, NUWA_LOG_ERROR,
               "%s: tensor %s has shape %s, the model's is %s (a checkpoint of another model?)\n", path, name,
               got, want);
        return NULL;
    }
    if (t->type != NW_TYPE_F32) {
        nw_log(log, NUWA_LOG_ERROR, "%s: tensor %s is %s, a checkpoint stores F32\n", path, name,
               nw_gguf_type_name(t->type));
        return NULL;
    }
    return t;
}

int nw_ckpt_load(const char *path, NwNuwa *m, NwOptState *s, NwTrainMeta *meta, const NwLog *log)
{
    if (!path || !m || !m->own || !s || !s->m || s->n != m->own_floats || !meta)
        return NUWA_ERR_INVAL;
    NwGguf *g = NULL;
    char err[512];
    int r = nw_gguf_open(&g, path, err, sizeof(err));
    if (r) {
        nw_log(log, NUWA_LOG_ERROR, "%s\n", err);
        return r;
    }
    const NwParams *ps = &s->params;
    const NwGgufTensor **tw = calloc((size_t)ps->n * 3 + 1, sizeof(*tw));
    char name[4096];
    NwTrainMeta mt;
    memset(&mt, 0, sizeof(mt));
    uint64_t u;
    if (!tw) {
        r = NUWA_ERR_NOMEM;
        goto out;
    }
    /* validate everything first: a failed resume leaves the model and the moments untouched */
    for (int i = 0; i < ps->n; i++) {
        const NwParam *p = &ps->p[i];
        if (!(tw[3 * i] = ckpt_tensor(g, path, p->name, p, log))) {
            r = NUWA_ERR_BAD_MODEL;
            goto out;
        }
        if (!p->trainable)
            continue;
        snprintf(name, sizeof(name), "opt.m.%s", p->name);
        if (!(tw[3 * i + 1] = ckpt_tensor(g, path, name, p, log)))
            r = NUWA_ERR_BAD_MODEL;
        snprintf(name, sizeof(name), "opt.v.%s", p->name);
        if (!r && !(tw[3 * i + 2] = ckpt_tensor(g, path, name, p, log)))
            r = NUWA_ERR_BAD_MODEL;
        if (r)
            goto out;
    }
    if ((r = get_scalar(g, path, "train.step", NW_GGUF_U64, &u, 8, log)))
        goto out;
    mt.step = (int64_t)u;
    if ((r = get_scalar(g, path, "train.seed", NW_GGUF_U64, &mt.seed, 8, log)) ||
        (r = get_scalar(g, path, "train.rng_state", NW_GGUF_U64, &mt.rng_state, 8, log)) ||
        (r = get_scalar(g, path, "train.lr", NW_GGUF_F32, &mt.hyper.lr, 4, log)) ||
        (r = get_scalar(g, path, "train.beta1", NW_GGUF_F32, &mt.hyper.beta1, 4, log)) ||
        (r = get_scalar(g, path, "train.beta2", NW_GGUF_F32, &mt.hyper.beta2, 4, log)) ||
        (r = get_scalar(g, path, "train.eps", NW_GGUF_F32, &mt.hyper.eps, 4, log)) ||
        (r = get_scalar(g, path, "train.weight_decay", NW_GGUF_F32, &mt.hyper.weight_decay, 4, log)) ||
        (r = get_scalar(g, path, "train.clip", NW_GGUF_F64, &mt.clip, 8, log)) ||
        (r = get_scalar(g, path, "train.min_lr", NW_GGUF_F64, &mt.min_lr, 8, log)))
        goto out;
    if ((r = get_scalar(g, path, "train.decay_all", NW_GGUF_U64, &u, 8, log)))
        goto out;
    mt.decay_all = u != 0;
    if ((r = get_scalar(g, path, "train.warmup", NW_GGUF_U64, &u, 8, log)))
        goto out;
    mt.warmup = (int64_t)u;
    if ((r = get_scalar(g, path, "train.total", NW_GGUF_U64, &u, 8, log)))
        goto out;
    mt.total = (int64_t)u;
    if ((r = get_scalar(g, path, "train.batch", NW_GGUF_U64, &u, 8, log)))
        goto out;
    mt.batch = (int)u;
    if ((r = get_scalar(g, path, "train.cond_drop", NW_GGUF_F64, &mt.cond_drop, 8, log)))
        goto out;
    mt.hyper.step = mt.step;

    /* now copy: a parameter's moments outside the parameters (the tables' slots) stay 0 */
    memset(s->m, 0, s->n * sizeof(float));
    memset(s->v, 0, s->n * sizeof(float));
    for (int i = 0; i < ps->n; i++) {
        const NwParam *p = &ps->p[i];
        memcpy(m->own + p->at, tw[3 * i]->data, p->n * sizeof(float));
        if (p->trainable) {
            memcpy(s->m + p->at, tw[3 * i + 1]->data, p->n * sizeof(float));
            memcpy(s->v + p->at, tw[3 * i + 2]->data, p->n * sizeof(float));
        }
    }
    nw_nuwa_refresh_tables(m);
    s->step = mt.step;
    *meta = mt;
out:
    free(tw);
    nw_gguf_close(&g);
    return r;
}

/* ---- files ---------------------------------------------------------------------------------- */

int nw_train_open_model(const char *path, NwGguf **g, NwNuwa *m, const NwLog *log)
{
    char err[512];
    NwVae vh;
    *g = NULL;
    memset(m, 0, sizeof(*m));
    memset(&vh, 0, sizeof(vh));
    int r = nw_gguf_open(g, path, err, sizeof(err));
    if (r) {
        nw_log(log, NUWA_LOG_ERROR, "%s\n", err);
        return r;
    }
    /* the transformer's token grid and vocabulary come from the VQGAN */
    r = nw_vae_hparams(&vh, *g, log);
    if (!r) {
        r = nw_nuwa_load(m, *g, vh.image_size >> vh.num_layers, vh.codebook_size, log);
        if (r == NUWA_ERR_UNSUPPORTED)
            nw_log(log, NUWA_LOG_ERROR, "%s: no NUWA transformer in this file (VQGAN only)\n", path);
    }
    nw_vae_free(&vh);
    if (r)
        nw_gguf_close(g);
    return r;
}

int nw_export_file(const char *ckpt_path, const char *out_path, int dtype, const NwLog *log)
{
    if (!ckpt_path || !out_path)
        return NUWA_ERR_INVAL;
    NwGguf *g = NULL;
    NwNuwa m;
    int r = nw_train_open_model(ckpt_path, &g, &m, log);
    if (r)
        return r;
    r = nw_export_model(out_path, g, &m, dtype, log);
    nw_nuwa_free(&m);
    nw_gguf_close(&g);
    return r;
}
