/*
 * nuwa.c — public API: model lifetime (load, reference counting), sessions (threads, working
 * memory, backend table), frame conversion and argument checking at the boundary.
 */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/backend.h" /* NW_CUDA_* flags (the functions live in the module) */
#include "cuda_module.h"
#include "device.h"
#include "generate.h"
#include "gguf.h"
#include "internal.h"
#include "ops.h"
#include "tokenizer.h"
#include "transformer.h"
#include "vqgan.h"

/* The model's weights on one CUDA device: uploaded once by the first session on that device,
 * shared by every later one, freed with the model. */
typedef struct DevWeights {
    int index;
    NwCudaModule *mod;
    const NwCudaApi *api;
    NwCudaDev *dev;      /* owns the allocation */
    NwOps ops;
    NwCtx ctx;
    float *blob;
    struct DevWeights *next;
} DevWeights;

struct NuwaModel {
    atomic_int refs;
    NwGguf *gguf;   /* kept open for the tensor table (nuwa info); weights are copied */
    NwVae vae;      /* plans bound to `blob` (weights.h) */
    int has_tf;
    NwNuwa tf;
    float *blob;    /* every weight and table of the VQGAN and the transformer, float32 */
    size_t blob_floats;
    NwTokenizer *tok; /* NULL when the file has no merges */
    pthread_mutex_t dev_lock; /* guards devw */
    DevWeights *devw;
};

struct NuwaSession {
    NuwaModel *model;
    NwLog log;
    NwOps ops;
    int n_threads;
    NwCtx ctx;
    NwXfer xfer;     /* host <-> backend traffic of this session */
    NwVae vae;       /* the model's plans bound to this session's weights */
    NwNuwa tf;
    NwVaeBufs bufs;  /* backend memory */
    float *img;      /* one planar float frame, host */
    /* CUDA sessions */
    NwCudaModule *mod;
    const NwCudaApi *api;
    NwCudaDev *dev;
    /* generation */
    int gen_ready, started;
    NwGen gen;
    NuwaGenParams gp;
};

const char *nuwa_strerror(int err)
{
    switch (err) {
    case NUWA_OK: return "success";
    case NUWA_ERR_NOMEM: return "out of memory";
    case NUWA_ERR_INVAL: return "invalid argument";
    case NUWA_ERR_IO: return "input/output error";
    case NUWA_ERR_BAD_MODEL: return "malformed or inconsistent model file";
    case NUWA_ERR_UNSUPPORTED: return "not supported by this model or build";
    case NUWA_ERR_BACKEND: return "compute backend failure";
    case NUWA_ERR_AGAIN: return "more input needed";
    case NUWA_ERR_EOF: return "end of stream";
    default: return "unknown error";
    }
}

const char *nuwa_version(void)
{
#define NW_STR2(x) #x
#define NW_STR(x) NW_STR2(x)
    return NW_STR(NUWA_VERSION_MAJOR) "." NW_STR(NUWA_VERSION_MINOR) "." NW_STR(NUWA_VERSION_PATCH);
}

void nuwa_model_params_default(NuwaModelParams *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof(*p));
    p->log_level = NUWA_LOG_WARNING;
}

/* Both plans (VQGAN, and the transformer when the file has one) into one blob: a counting walk
 * that checks every tensor, then a converting walk (weights.h). */
static int load_weights(NuwaModel *m, const NwLog *log)
{
    NwLoader L;
    int ret = nw_vae_hparams(&m->vae, m->gguf, log);
    if (ret < 0)
        return ret;
    ret = nw_nuwa_hparams(&m->tf, m->gguf, m->vae.fmap_size, m->vae.codebook_size, log);
    if (ret < 0 && ret != NUWA_ERR_UNSUPPORTED) {
        nw_vae_free(&m->vae);
        return ret;
    }
    m->has_tf = ret == 0;
    nw_loader_init(&L, m->gguf, log, NULL, NULL);
    for (int pass = 0; pass < 2 && !L.err; pass++) {
        if (pass == 1 && nw_loader_alloc(&L) < 0)
            break;
        nw_loader_rewind(&L);
        nw_vae_walk(&m->vae, &L);
        if (m->has_tf)
            nw_nuwa_walk(&m->tf, &L);
    }
    if (L.err) {
        nw_free(L.blob);
        nw_nuwa_free(&m->tf);
        nw_vae_free(&m->vae);
        m->has_tf = 0;
        return L.err;
    }
    nw_vae_finish(&m->vae, &L);
    m->blob = L.blob;
    m->blob_floats = L.used;
    m->vae.w = m->blob;
    m->tf.w = m->blob;
    return 0;
}

int nuwa_model_load(NuwaModel **out, const char *path, const NuwaModelParams *p)
{
    NuwaModelParams def;
    NwLog log;
    NuwaModel *m;
    char err[512] = "";
    int ret;

    if (!p) {
        nuwa_model_params_default(&def);
        p = &def;
    }
    log.cb = p->log_cb;
    log.opaque = p->log_opaque;
    log.level = p->log_level;
    if (!out || !path) {
        nw_log(&log, NUWA_LOG_ERROR, "nuwa_model_load: NULL %s\n", out ? "path" : "output pointer");
        return NUWA_ERR_INVAL;
    }
    m = nw_calloc(1, sizeof(*m));
    if (!m)
        return NUWA_ERR_NOMEM;
    atomic_init(&m->refs, 1);
    ret = nw_gguf_open(&m->gguf, path, err, sizeof(err));
    if (ret < 0) {
        nw_log(&log, NUWA_LOG_ERROR, "%s: %s\n", path, err);
        nw_free(m);
        return ret;
    }
    ret = load_weights(m, &log);
    if (ret < 0) {
        nw_gguf_close(&m->gguf);
        nw_free(m);
        return ret;
    }
    if (nw_gguf_find_kv(m->gguf, "nuwa.tokenizer.merges")) {
        ret = nw_tokenizer_load(&m->tok, m->gguf, &log);
        if (ret < 0) {
            nw_nuwa_free(&m->tf);
            nw_vae_free(&m->vae);
            nw_free(m->blob);
            nw_gguf_close(&m->gguf);
            nw_free(m);
            return ret;
        }
    }
    pthread_mutex_init(&m->dev_lock, NULL);
    nw_log(&log, NUWA_LOG_INFO, "%s: VQGAN %dx%dx%d -> %dx%d tokens, codebook %d x %d\n", path,
           m->vae.image_size, m->vae.image_size, m->vae.channels, m->vae.fmap_size, m->vae.fmap_size,
           m->vae.codebook_size, m->vae.codebook_dim);
    *out = m;
    return 0;
}

NuwaModel *nuwa_model_ref(NuwaModel *m)
{
    if (m)
        atomic_fetch_add(&m->refs, 1);
    return m;
}

void nuwa_model_unref(NuwaModel **pm)
{
    NuwaModel *m = pm ? *pm : NULL;
    if (!m)
        return;
    *pm = NULL;
    if (atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    while (m->devw) {
        DevWeights *d = m->devw;
        m->devw = d->next;
        d->ops.mem_free(&d->ctx, d->blob);
        d->api->dev_destroy(&d->dev);
        nw_cuda_module_close(&d->mod);
        nw_free(d);
    }
    pthread_mutex_destroy(&m->dev_lock);
    nw_tokenizer_free(&m->tok);
    nw_nuwa_free(&m->tf);
    nw_vae_free(&m->vae);
    nw_free(m->blob);
    nw_gguf_close(&m->gguf);
    nw_free(m);
}

int nuwa_model_vae_info(const NuwaModel *m, NuwaVaeInfo *info)
{
    if (!m || !info)
        return NUWA_ERR_INVAL;
    const NwVae *v = &m->vae;
    memset(info, 0, sizeof(*info));
    info->image_size = v->image_size;
    info->channels = v->channels;
    info->dim = v->dim;
    info->num_layers = v->num_layers;
    info->fmap_size = v->fmap_size;
    info->tokens_per_frame = v->fmap_size * v->fmap_size;
    info->codebook_size = v->codebook_size;
    info->codebook_dim = v->codebook_dim;
    info->feature_dim = v->feature_dim;
    info->use_cosine_sim = v->use_cosine_sim;
    info->attn_heads = v->attn_heads;
    info->attn_dim_head = v->attn_dim_head;
    info->resnet_groups = v->resnet_groups;
    info->first_conv_kernel_size = v->first_conv_kernel_size;
    for (int i = 0; i < v->num_layers && i < 16; i++) {
        info->layer_mults[i] = v->layer_mults[i];
        info->num_resnet_blocks[i] = v->num_resnet_blocks[i];
        info->use_attn[i] = v->use_attn[i];
    }
    return 0;
}

int nuwa_model_tensor_count(const NuwaModel *m)
{
    return m ? (int)m->gguf->n_tensors : 0;
}

int nuwa_model_tensor_info(const NuwaModel *m, int i, NuwaTensorInfo *info)
{
    if (!m || !info || i < 0 || (uint64_t)i >= m->gguf->n_tensors)
        return NUWA_ERR_INVAL;
    const NwGgufTensor *t = &m->gguf->tensors[i];
    memset(info, 0, sizeof(*info));
    info->name = t->name;
    info->type = nw_gguf_type_name(t->type);
    info->n_dims = t->n_dims;
    for (int d = 0; d < 4; d++)
        info->shape[d] = d < t->n_dims ? t->shape[d] : 1;
    info->offset = t->offset;
    info->size = t->size;
    return 0;
}

/* ---- sessions --------------------------------------------------------------------------- */

void nuwa_session_params_default(NuwaSessionParams *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof(*p));
    p->log_level = NUWA_LOG_WARNING;
}

/* The first error a backend recorded since the last check, logged with what was being done.
 * Called at every API boundary (ops do not return errors; see ops.h). */
static int backend_status(NuwaSession *s, const char *what)
{
    char msg[320];
    const int r = s->ops.sync(&s->ctx, msg, sizeof(msg));
    if (r < 0)
        nw_log(&s->log, NUWA_LOG_ERROR, "%s: %s backend: %s\n", what, s->ops.name, msg[0] ? msg : nuwa_strerror(r));
    return r;
}

static void session_free_gen(NuwaSession *s)
{
    if (s->gen_ready)
        nw_gen_free(&s->gen, &s->ops, &s->ctx);
    s->gen_ready = 0;
    s->started = 0;
}

/* CPU threads: the CPU scratch arena is sized per thread (CUDA contexts keep theirs). */
static int session_set_scratch(NuwaSession *s, int n_threads)
{
    const size_t scratch = nw_vae_scratch_floats(&s->vae, &s->ops, n_threads);
    if (s->dev) {
        s->n_threads = s->ctx.n_threads = n_threads;
        return 0;
    }
    float *sc = nw_alloc((scratch ? scratch : 1) * sizeof(float));
    if (!sc) {
        nw_log(&s->log, NUWA_LOG_ERROR, "session: cannot allocate %zu MiB of scratch memory\n",
               (scratch * sizeof(float)) >> 20);
        return NUWA_ERR_NOMEM;
    }
    nw_free(s->ctx.scratch);
    s->ctx.scratch = sc;
    s->ctx.scratch_len = scratch;
    s->n_threads = s->ctx.n_threads = n_threads;
    return 0;
}

static int resolve_threads(int n)
{
    if (n > 0)
        return n > 1024 ? 1024 : n;
    n = omp_get_num_procs();
    return n > 0 ? n : 1;
}

/* The model's weights on CUDA device `index`, uploaded by the first session that asks. */
static int model_device_weights(NuwaModel *m, int index, const NwLog *log, const float **blob)
{
    char msg[320] = "";
    DevWeights *d;
    int r = 0;
    pthread_mutex_lock(&m->dev_lock);
    for (d = m->devw; d && d->index != index; d = d->next)
        ;
    if (!d) {
        d = nw_calloc(1, sizeof(*d));
        if (!d) {
            r = NUWA_ERR_NOMEM;
            goto out;
        }
        d->index = index;
        if ((r = nw_cuda_module_open(&d->mod, &d->api, msg, sizeof(msg))) < 0 ||
            (r = d->api->dev_create(&d->dev, index, 0, msg, sizeof(msg))) < 0 ||
            (r = d->api->ctx(d->dev, 0, &d->ctx)) < 0) {
            nw_log(log, NUWA_LOG_ERROR, "device 'cuda:%d': %s\n", index, msg);
            goto fail;
        }
        d->api->ops_init(&d->ops);
        d->blob = d->ops.mem_alloc(&d->ctx, m->blob_floats * sizeof(float));
        if (!d->blob) {
            nw_log(log, NUWA_LOG_ERROR, "device 'cuda:%d': cannot allocate %zu MiB for the weights\n", index,
                   (m->blob_floats * sizeof(float)) >> 20);
            r = NUWA_ERR_NOMEM;
            goto fail;
        }
        d->ops.upload(&d->ctx, d->blob, m->blob, m->blob_floats * sizeof(float));
        if ((r = d->ops.sync(&d->ctx, msg, sizeof(msg))) < 0) {
            nw_log(log, NUWA_LOG_ERROR, "device 'cuda:%d': uploading the weights: %s\n", index, msg);
            goto fail;
        }
        d->next = m->devw;
        m->devw = d;
    }
    *blob = d->blob;
    goto out;
fail:
    if (d->blob)
        d->ops.mem_free(&d->ctx, d->blob);
    if (d->api)
        d->api->dev_destroy(&d->dev);
    nw_cuda_module_close(&d->mod);
    nw_free(d);
out:
    pthread_mutex_unlock(&m->dev_lock);
    return r;
}

/* NUWA_CUDA_GRAPHS=1 in the environment: decode steps as CUDA graphs (kernels/README.md). */
static unsigned cuda_flags(void)
{
    const char *g = getenv("NUWA_CUDA_GRAPHS");
    return g && !strcmp(g, "1") ? NW_CUDA_GRAPHS : 0;
}

/* Opens the session's device: the CPU tables, or a CUDA context + the model's device weights. */
static int session_open_device(NuwaSession *s, const char *device)
{
    char msg[320] = "";
    int kind, index, r;
    const float *wblob = s->model->blob;
    if ((r = nw_device_parse(device, &kind, &index, msg, sizeof(msg))) < 0) {
        nw_log(&s->log, NUWA_LOG_ERROR, "session: %s\n", msg);
        return r;
    }
    if (kind == NW_DEVICE_CPU) {
        nw_ops_init_cpu(&s->ops, nw_cpu_flags());
    } else {
        if ((r = nw_cuda_module_open(&s->mod, &s->api, msg, sizeof(msg))) < 0 ||
            (r = s->api->dev_create(&s->dev, index, cuda_flags(), msg, sizeof(msg))) < 0) {
            nw_log(&s->log, NUWA_LOG_ERROR, "session: device '%s': %s\n", device, msg);
            return r;
        }
        s->api->ops_init(&s->ops);
        if ((r = model_device_weights(s->model, index, &s->log, &wblob)) < 0)
            return r;
        nw_log(&s->log, NUWA_LOG_INFO, "session: %s\n", s->api->dev_describe(s->dev));
    }
    s->vae = s->model->vae;
    s->vae.w = wblob;
    s->vae.own = NULL;
    s->tf = s->model->tf;
    s->tf.w = wblob;
    s->tf.own = NULL;
    if (s->dev) {
        const size_t scratch = nw_vae_scratch_floats(&s->vae, &s->ops, 1);
        if ((r = s->api->ctx(s->dev, scratch, &s->ctx)) < 0) {
            nw_log(&s->log, NUWA_LOG_ERROR, "session: device '%s': cannot allocate %zu MiB of scratch memory\n",
                   device, (scratch * sizeof(float)) >> 20);
            return r;
        }
    }
    s->ctx.xfer = &s->xfer;
    return 0;
}

int nuwa_session_create(NuwaSession **out, NuwaModel *m, const NuwaSessionParams *p)
{
    NuwaSessionParams def;
    NuwaSession *s;
    int ret;
    if (!p) {
        nuwa_session_params_default(&def);
        p = &def;
    }
    if (!out || !m || p->n_threads < 0)
        return NUWA_ERR_INVAL;
    s = nw_calloc(1, sizeof(*s));
    if (!s)
        return NUWA_ERR_NOMEM;
    s->log.cb = p->log_cb;
    s->log.opaque = p->log_opaque;
    s->log.level = p->log_level;
    s->model = nuwa_model_ref(m);
    const NwVae *v = &m->vae;
    if ((ret = session_open_device(s, p->device)) < 0 ||
        (ret = session_set_scratch(s, s->dev ? 1 : resolve_threads(p->n_threads))) < 0)
        goto fail;
    s->img = nw_alloc(sizeof(float) * v->channels * v->image_size * v->image_size);
    if (!s->img || nw_vae_bufs_alloc(&s->bufs, &s->vae, &s->ops, &s->ctx) < 0) {
        nw_log(&s->log, NUWA_LOG_ERROR, "session: cannot allocate %zu MiB of working memory on %s\n",
               ((3 * v->max_act) * sizeof(float)) >> 20, s->ops.name);
        ret = NUWA_ERR_NOMEM;
        goto fail;
    }
    if ((ret = backend_status(s, "session")) < 0)
        goto fail;
    nw_log(&s->log, NUWA_LOG_DEBUG, "session: backend %s, %d threads\n", s->ops.name, s->n_threads);
    *out = s;
    return 0;
fail:
    nuwa_session_destroy(&s);
    return ret;
}

void nuwa_session_destroy(NuwaSession **ps)
{
    NuwaSession *s = ps ? *ps : NULL;
    if (!s)
        return;
    *ps = NULL;
    if (s->ops.mem_free) {
        session_free_gen(s);
        nw_vae_bufs_free(&s->bufs, &s->ops, &s->ctx);
    }
    if (!s->dev)
        nw_free(s->ctx.scratch); /* a CUDA context owns its arena */
    if (s->api)
        s->api->dev_destroy(&s->dev);
    nw_cuda_module_close(&s->mod);
    nw_free(s->img);
    nuwa_model_unref(&s->model);
    nw_free(s);
}

int nuwa_session_set_threads(NuwaSession *s, int n_threads)
{
    if (!s || n_threads < 0)
        return NUWA_ERR_INVAL;
    n_threads = resolve_threads(n_threads);
    if (n_threads == s->n_threads || s->dev)
        return 0;
    int r = session_set_scratch(s, n_threads);
    if (r == 0 && s->gen_ready) {
        /* the generator's scratch is sized per thread; its caches stay valid */
        NwTfWork w, wu;
        if ((r = nw_tf_work_alloc(&w, &s->tf, &s->ops, &s->ctx, 2 * s->gen.block, n_threads)) == 0) {
            if ((r = nw_tf_work_alloc(&wu, &s->tf, &s->ops, &s->ctx, s->gen.block, n_threads)) < 0) {
                nw_tf_work_free(&w, &s->ops, &s->ctx);
                return r;
            }
            nw_tf_work_free(&s->gen.work, &s->ops, &s->ctx);
            nw_tf_work_free(&s->gen.work_u, &s->ops, &s->ctx);
            s->gen.work = w;
            s->gen.work_u = wu;
        }
    }
    return r;
}

/* ---- frames -------------------------------------------------------------------------------- */

static int check_frame(NuwaSession *s, const NuwaFrame *f, int i, const char *what)
{
    const NwVae *v = &s->model->vae;
    if (!f->data) {
        nw_log(&s->log, NUWA_LOG_ERROR, "%s: frame %d has no data\n", what, i);
        return NUWA_ERR_INVAL;
    }
    if (f->width != v->image_size || f->height != v->image_size) {
        nw_log(&s->log, NUWA_LOG_ERROR,
               "%s: frame %d is %dx%d but the model takes %dx%d frames (scale or crop first)\n",
               what, i, f->width, f->height, v->image_size, v->image_size);
        return NUWA_ERR_INVAL;
    }
    switch (f->format) {
    case NUWA_FRAME_RGB24:
    case NUWA_FRAME_GRAY8: {
        const int ch = f->format == NUWA_FRAME_RGB24 ? 3 : 1;
        if (f->channels != ch) {
            nw_log(&s->log, NUWA_LOG_ERROR, "%s: frame %d has format %s (%d channel(s)) but declares channels = %d\n",
                   what, i, f->format == NUWA_FRAME_RGB24 ? "RGB24" : "GRAY8", ch, f->channels);
            return NUWA_ERR_INVAL;
        }
        if (ch != v->channels) {
            nw_log(&s->log, NUWA_LOG_ERROR,
                   "%s: frame %d has %d channel(s) (%s) but the model has %d\n", what, i, ch,
                   f->format == NUWA_FRAME_RGB24 ? "RGB24" : "GRAY8", v->channels);
            return NUWA_ERR_INVAL;
        }
        if (f->stride < (ptrdiff_t)ch * f->width && f->stride > -(ptrdiff_t)ch * f->width) {
            nw_log(&s->log, NUWA_LOG_ERROR, "%s: frame %d stride %td is smaller than a row (%d bytes)\n",
                   what, i, f->stride, ch * f->width);
            return NUWA_ERR_INVAL;
        }
        return 0;
    }
    case NUWA_FRAME_FLOAT:
        if (f->channels != v->channels) {
            nw_log(&s->log, NUWA_LOG_ERROR, "%s: frame %d has %d channel(s) but the model has %d\n",
                   what, i, f->channels, v->channels);
            return NUWA_ERR_INVAL;
        }
        if (f->stride < f->width && f->stride > -(ptrdiff_t)f->width) {
            nw_log(&s->log, NUWA_LOG_ERROR, "%s: frame %d stride %td is smaller than a row (%d floats)\n",
                   what, i, f->stride, f->width);
            return NUWA_ERR_INVAL;
        }
        return 0;
    default:
        nw_log(&s->log, NUWA_LOG_ERROR, "%s: frame %d has unknown format %d\n", what, i, f->format);
        return NUWA_ERR_INVAL;
    }
}

static void frame_to_planar(const NuwaFrame *f, float *dst, int C, int S)
{
    const size_t plane = (size_t)S * S;
    if (f->format == NUWA_FRAME_FLOAT) {
        const ptrdiff_t ps = f->plane_stride ? f->plane_stride : f->stride * f->height;
        for (int c = 0; c < C; c++)
            for (int y = 0; y < S; y++)
                memcpy(dst + c * plane + (size_t)y * S, (const float *)f->data + c * ps + y * f->stride,
                       sizeof(float) * S);
        return;
    }
    for (int y = 0; y < S; y++) {
        const uint8_t *row = (const uint8_t *)f->data + y * f->stride;
        for (int x = 0; x < S; x++)
            for (int c = 0; c < C; c++)
                dst[c * plane + (size_t)y * S + x] = row[x * C + c] * (1.f / 255.f);
    }
}

static void planar_to_frame(const float *src, NuwaFrame *f, int C, int S)
{
    const size_t plane = (size_t)S * S;
    if (f->format == NUWA_FRAME_FLOAT) {
        const ptrdiff_t ps = f->plane_stride ? f->plane_stride : f->stride * f->height;
        for (int c = 0; c < C; c++)
            for (int y = 0; y < S; y++)
                memcpy((float *)f->data + c * ps + y * f->stride, src + c * plane + (size_t)y * S,
                       sizeof(float) * S);
        return;
    }
    for (int y = 0; y < S; y++) {
        uint8_t *row = (uint8_t *)f->data + y * f->stride;
        for (int x = 0; x < S; x++)
            for (int c = 0; c < C; c++) {
                float v = src[c * plane + (size_t)y * S + x] * 255.f + 0.5f;
                v = !(v >= 0.f) ? 0.f : v > 255.f ? 255.f : v; /* NaN -> 0 */
                row[x * C + c] = (uint8_t)v;
            }
    }
}

int nuwa_vae_encode(NuwaSession *s, const NuwaFrame *frames, int n, int32_t *tokens)
{
    int ret;
    if (!s || (n > 0 && (!frames || !tokens)) || n < 0)
        return NUWA_ERR_INVAL;
    const NwVae *v = &s->model->vae;
    const int T = v->fmap_size * v->fmap_size;
    for (int i = 0; i < n; i++)
        if ((ret = check_frame(s, &frames[i], i, "encode")) < 0)
            return ret;
    const size_t img = sizeof(float) * v->channels * v->image_size * v->image_size;
    for (int i = 0; i < n; i++) {
        frame_to_planar(&frames[i], s->img, v->channels, v->image_size);
        s->ops.upload(&s->ctx, s->bufs.img, s->img, img);
        nw_vae_encode_image(&s->vae, &s->ops, &s->ctx, &s->bufs, s->bufs.img, s->bufs.tok, NULL, NULL, NULL);
        s->ops.download(&s->ctx, tokens + (size_t)i * T, s->bufs.tok, sizeof(int32_t) * T);
    }
    return backend_status(s, "encode");
}

int nuwa_vae_decode(NuwaSession *s, const int32_t *tokens, int n, NuwaFrame *frames)
{
    int ret;
    if (!s || (n > 0 && (!frames || !tokens)) || n < 0)
        return NUWA_ERR_INVAL;
    const NwVae *v = &s->model->vae;
    const int T = v->fmap_size * v->fmap_size;
    for (int i = 0; i < n; i++) {
        if ((ret = check_frame(s, &frames[i], i, "decode")) < 0)
            return ret;
        for (int t = 0; t < T; t++) {
            const int32_t tok = tokens[(size_t)i * T + t];
            if (tok < 0 || tok >= v->codebook_size) {
                nw_log(&s->log, NUWA_LOG_ERROR,
                       "decode: frame %d token %d is %d, outside the codebook [0, %d)\n", i, t, tok,
                       v->codebook_size);
                return NUWA_ERR_INVAL;
            }
        }
    }
    const size_t img = sizeof(float) * v->channels * v->image_size * v->image_size;
    for (int i = 0; i < n; i++) {
        s->ops.upload(&s->ctx, s->bufs.tok, tokens + (size_t)i * T, sizeof(int32_t) * T);
        nw_vae_decode_image(&s->vae, &s->ops, &s->ctx, &s->bufs, s->bufs.tok, s->bufs.img, NULL, NULL);
        s->ops.download(&s->ctx, s->img, s->bufs.img, img);
        if ((ret = backend_status(s, "decode")) < 0)
            return ret;
        planar_to_frame(s->img, &frames[i], v->channels, v->image_size);
    }
    return 0;
}

/* ---- transformer ------------------------------------------------------------------------- */

int nuwa_model_transformer_info(const NuwaModel *m, NuwaTransformerInfo *info)
{
    if (!m || !info)
        return NUWA_ERR_INVAL;
    memset(info, 0, sizeof(*info));
    info->has_tokenizer = m->tok != NULL;
    if (!m->has_tf)
        return 0;
    const NwNuwa *t = &m->tf;
    info->present = 1;
    info->dim = t->dim;
    info->max_video_frames = t->max_frames;
    info->text_max_seq_len = t->text_len;
    info->text_num_tokens = t->text_vocab;
    info->enc_depth = t->enc_depth;
    info->dec_depth = t->dec_depth;
    info->dec_heads = t->dec_heads;
    info->dec_dim_head = t->dec_dh;
    memcpy(info->kernel, t->kernel, sizeof(info->kernel));
    info->reversible = t->dec_rev;
    return 0;
}

void nuwa_gen_params_default(NuwaGenParams *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof(*p));
    p->temperature = 1.f;
    p->filter_thres = 0.9f;
    p->cond_scale = 2.f;
}

int nuwa_tokenize(const NuwaModel *m, const char *text, int32_t *ids, int max_ids, int *n_ids)
{
    NwLog quiet = {0};
    if (!m || !text || !n_ids || max_ids < 0 || (max_ids > 0 && !ids))
        return NUWA_ERR_INVAL;
    if (!m->tok)
        return NUWA_ERR_UNSUPPORTED;
    return nw_tokenizer_encode(m->tok, text, ids, max_ids, n_ids, 0, &quiet);
}

int nuwa_session_start_ids(NuwaSession *s, const int32_t *text_ids, int n_ids, const NuwaGenParams *p)
{
    NuwaGenParams def;
    int r;
    if (!s || n_ids < 0 || (n_ids > 0 && !text_ids))
        return NUWA_ERR_INVAL;
    const NuwaModel *m = s->model;
    if (!m->has_tf) {
        nw_log(&s->log, NUWA_LOG_ERROR, "generate: this model file has no NUWA transformer (VQGAN only)\n");
        return NUWA_ERR_UNSUPPORTED;
    }
    if (!p) {
        nuwa_gen_params_default(&def);
        p = &def;
    }
    if (!(p->temperature > 0.f) || !(p->filter_thres >= 0.f && p->filter_thres < 1.f) || !isfinite(p->cond_scale)) {
        nw_log(&s->log, NUWA_LOG_ERROR,
               "generate: bad parameters (temperature %g must be > 0, filter_thres %g in [0, 1), cond_scale %g finite)\n",
               p->temperature, p->filter_thres, p->cond_scale);
        return NUWA_ERR_INVAL;
    }
    const NwNuwa *t = &m->tf;
    if (n_ids > t->text_len) {
        nw_log(&s->log, NUWA_LOG_ERROR, "generate: %d text tokens, the model takes at most %d\n", n_ids, t->text_len);
        return NUWA_ERR_INVAL;
    }
    for (int i = 0; i < n_ids; i++)
        if (text_ids[i] < 0 || text_ids[i] >= t->text_vocab) {
            nw_log(&s->log, NUWA_LOG_ERROR,
                   "generate: text token %d is %d, outside this model's text vocabulary [0, %d) (a prompt word "
                   "the model was not trained with: use other words)\n", i, text_ids[i], t->text_vocab);
            return NUWA_ERR_INVAL;
        }
    if (!s->gen_ready) {
        if ((r = nw_gen_init(&s->gen, &s->tf, &s->ops, &s->ctx, t->T, s->n_threads)) < 0) {
            nw_log(&s->log, NUWA_LOG_ERROR, "generate: cannot allocate the generator's memory on %s\n", s->ops.name);
            return r;
        }
        s->gen_ready = 1;
    }
    int32_t *padded = nw_calloc(t->text_len, sizeof(int32_t));
    if (!padded)
        return NUWA_ERR_NOMEM;
    if (n_ids)
        memcpy(padded, text_ids, sizeof(int32_t) * n_ids);
    NwGenOpts o = {p->cond_scale, p->reference_guidance != 0, p->reference_window != 0};
    NwCtx ctx = s->ctx;
    nw_gen_start(&s->gen, &s->ops, &ctx, padded, &o);
    nw_free(padded);
    s->gp = *p;
    if ((r = backend_status(s, "generate")) < 0)
        return r;
    s->started = 1;
    return 0;
}

int nuwa_session_start_text(NuwaSession *s, const char *text, const NuwaGenParams *p)
{
    if (!s || !text)
        return NUWA_ERR_INVAL;
    const NuwaModel *m = s->model;
    if (!m->has_tf || !text[0])
        return nuwa_session_start_ids(s, NULL, 0, p); /* no text: unconditional */
    if (!m->tok) {
        nw_log(&s->log, NUWA_LOG_ERROR, "generate: this model file has no tokenizer; pass token ids instead\n");
        return NUWA_ERR_UNSUPPORTED;
    }
    const int max = m->tf.text_len;
    int32_t *ids = nw_calloc(max, sizeof(int32_t));
    int n = 0, r;
    if (!ids)
        return NUWA_ERR_NOMEM;
    r = nw_tokenizer_encode(m->tok, text, ids, max, &n, 0, &s->log);
    if (r == 0)
        r = nuwa_session_start_ids(s, ids, n, p);
    nw_free(ids);
    return r;
}

static int check_started(NuwaSession *s, const char *what)
{
    if (!s->model->has_tf) {
        nw_log(&s->log, NUWA_LOG_ERROR, "%s: this model file has no NUWA transformer (VQGAN only)\n", what);
        return NUWA_ERR_UNSUPPORTED;
    }
    if (!s->started) {
        nw_log(&s->log, NUWA_LOG_ERROR, "%s: call nuwa_session_start_text/_ids first\n", what);
        return NUWA_ERR_INVAL;
    }
    return 0;
}

int nuwa_session_push_tokens(NuwaSession *s, const int32_t *tokens, int n_frames)
{
    int r;
    if (!s || n_frames < 0 || (n_frames > 0 && !tokens))
        return NUWA_ERR_INVAL;
    if ((r = check_started(s, "push")) < 0)
        return r;
    const NwNuwa *t = &s->model->tf;
    const size_t n = (size_t)n_frames * t->T;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= t->V) {
            nw_log(&s->log, NUWA_LOG_ERROR, "push: token %zu is %d, outside the codebook [0, %d)\n", i, tokens[i], t->V);
            return NUWA_ERR_INVAL;
        }
    for (size_t i = 0; i < n; i += (size_t)t->T)
        if ((r = nw_gen_push(&s->gen, &s->ops, &s->ctx, tokens + i, t->T)) < 0)
            return r;
    return backend_status(s, "push");
}

int nuwa_session_push_frames(NuwaSession *s, const NuwaFrame *frames, int n)
{
    int r;
    if (!s || n < 0 || (n > 0 && !frames))
        return NUWA_ERR_INVAL;
    if ((r = check_started(s, "push")) < 0)
        return r;
    const int T = s->model->vae.fmap_size * s->model->vae.fmap_size;
    int32_t *tok = nw_alloc(sizeof(int32_t) * T);
    if (!tok)
        return NUWA_ERR_NOMEM;
    for (int i = 0; i < n && r == 0; i++) {
        r = nuwa_vae_encode(s, &frames[i], 1, tok);
        if (r == 0)
            r = nuwa_session_push_tokens(s, tok, 1);
    }
    nw_free(tok);
    return r;
}

int nuwa_session_generate(NuwaSession *s, int n_frames, int32_t *tokens)
{
    int r;
    if (!s || n_frames < 0 || (n_frames > 0 && !tokens))
        return NUWA_ERR_INVAL;
    if ((r = check_started(s, "generate")) < 0)
        return r;
    const NwNuwa *t = &s->model->tf;
    const int64_t total = (int64_t)n_frames * t->T;
    const NwSampleParams sp = {s->gp.filter_thres, s->gp.temperature, s->gp.seed, 0, NULL};
    NwCtx ctx = s->ctx;
    for (int64_t i = 0; i < total; i++) {
        if ((r = nw_gen_next(&s->gen, &s->ops, &ctx, &sp, &tokens[i])) < 0)
            return r;
        if ((r = backend_status(s, "generate")) < 0)
            return r;
        if (s->gp.progress && s->gp.progress(s->gp.progress_opaque, i + 1, total))
            return NUWA_ERR_AGAIN;
    }
    return 0;
}

int nuwa_session_generate_frames(NuwaSession *s, int n_frames, NuwaFrame *frames, int32_t *tokens)
{
    int r;
    if (!s || n_frames < 0 || (n_frames > 0 && !frames))
        return NUWA_ERR_INVAL;
    if ((r = check_started(s, "generate")) < 0)
        return r;
    for (int i = 0; i < n_frames; i++)
        if ((r = check_frame(s, &frames[i], i, "generate")) < 0)
            return r;
    const int T = s->model->tf.T;
    int32_t *tok = tokens ? tokens : nw_alloc(sizeof(int32_t) * (size_t)(n_frames ? n_frames : 1) * T);
    if (!tok)
        return NUWA_ERR_NOMEM;
    r = nuwa_session_generate(s, n_frames, tok);
    if (r == 0)
        r = nuwa_vae_decode(s, tok, n_frames, frames);
    if (!tokens)
        nw_free(tok);
    return r;
}

int nuwa_generate_batch(NuwaSession *const *sessions, int n, int n_frames, int32_t *const *tokens)
{
    int ret = 0;
    if (!sessions || !tokens || n < 0 || n_frames < 0)
        return NUWA_ERR_INVAL;
    for (int i = 0; i < n; i++) {
        if (!sessions[i] || (!tokens[i] && n_frames > 0))
            return NUWA_ERR_INVAL;
        for (int j = 0; j < i; j++)
            if (sessions[j] == sessions[i])
                return NUWA_ERR_INVAL;
    }
    if (n == 0)
        return 0;
    /* CPU sessions: one per thread, up to the first session's thread count. Device sessions:
     * one host thread each, so that their streams run concurrently on the device. */
    int threads = sessions[0]->n_threads;
    for (int i = 0; i < n; i++)
        if (sessions[i]->dev)
            threads = n;
    if (threads > n)
        threads = n;
#pragma omp parallel for num_threads(threads) schedule(dynamic)
    for (int i = 0; i < n; i++) {
        NuwaSession *s = sessions[i];
        const int own = s->ctx.n_threads;
        s->ctx.n_threads = 1; /* one thread per session; the result does not depend on it */
        const int r = nuwa_session_generate(s, n_frames, tokens[i]);
        s->ctx.n_threads = own;
        if (r < 0) {
#pragma omp critical(nuwa_batch_err)
            if (ret == 0)
                ret = r;
        }
    }
    return ret;
}
