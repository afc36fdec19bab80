/*
 * nuwa.c — public API: model lifetime (load, reference counting), sessions (threads, working
 * memory, backend table), frame conversion and argument checking at the boundary.
 */
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "gguf.h"
#include "internal.h"
#include "ops.h"
#include "vqgan.h"

struct NuwaModel {
    atomic_int refs;
    NwGguf *gguf;   /* kept open for the tensor table (nuwa info); weights are copied */
    NwVae vae;
};

struct NuwaSession {
    NuwaModel *model;
    NwLog log;
    NwOps ops;
    int n_threads;
    NwCtx ctx;
    NwVaeBufs bufs;
    float *img;      /* one planar float frame */
};

const char *nuwa_strerror(int err)
{
    switch (err) {
    case NUWA_OK: return "success";
    case NUWA_ERR_NOMEM: return "out of memory";
    case NUWA_ERR_INVAL: return "invalid argument";
    case NUWA_ERR_IO: return "input/output error";
    case NUWA_ERR_BAD_MODEL: return "malformed or inconsistent model file";
    case NUWA_ERR_UNSUPPORTED: return "not supported by this build";
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
    ret = nw_vae_load(&m->vae, m->gguf, &log);
    if (ret < 0) {
        nw_gguf_close(&m->gguf);
        nw_free(m);
        return ret;
    }
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
    nw_vae_free(&m->vae);
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

static void session_free_bufs(NuwaSession *s)
{
    nw_free(s->bufs.x);
    nw_free(s->bufs.t1);
    nw_free(s->bufs.t2);
    nw_free(s->ctx.scratch);
    nw_free(s->img);
    memset(&s->bufs, 0, sizeof(s->bufs));
    s->ctx.scratch = NULL;
    s->img = NULL;
}

static int session_alloc(NuwaSession *s, int n_threads)
{
    const NwVae *v = &s->model->vae;
    const size_t scratch = nw_vae_scratch_floats(v, &s->ops, n_threads);
    const size_t img = (size_t)v->channels * v->image_size * v->image_size;
    float *x = nw_alloc(v->max_act * sizeof(float));
    float *t1 = nw_alloc(v->max_act * sizeof(float));
    float *t2 = nw_alloc(v->max_act * sizeof(float));
    float *sc = nw_alloc((scratch ? scratch : 1) * sizeof(float));
    float *im = nw_alloc(img * sizeof(float));
    if (!x || !t1 || !t2 || !sc || !im) {
        nw_free(x);
        nw_free(t1);
        nw_free(t2);
        nw_free(sc);
        nw_free(im);
        nw_log(&s->log, NUWA_LOG_ERROR, "session: cannot allocate %zu MiB of working memory\n",
               ((3 * v->max_act + scratch + img) * sizeof(float)) >> 20);
        return NUWA_ERR_NOMEM;
    }
    session_free_bufs(s);
    s->bufs.x = x;
    s->bufs.t1 = t1;
    s->bufs.t2 = t2;
    s->ctx.scratch = sc;
    s->ctx.scratch_len = scratch;
    s->img = im;
    s->n_threads = n_threads;
    s->ctx.n_threads = n_threads;
    return 0;
}

static int resolve_threads(int n)
{
    if (n > 0)
        return n > 1024 ? 1024 : n;
    n = omp_get_num_procs();
    return n > 0 ? n : 1;
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
    nw_ops_init_cpu(&s->ops, nw_cpu_flags());
    ret = session_alloc(s, resolve_threads(p->n_threads));
    if (ret < 0) {
        nuwa_session_destroy(&s);
        return ret;
    }
    nw_log(&s->log, NUWA_LOG_DEBUG, "session: backend %s, %d threads\n", s->ops.name, s->n_threads);
    *out = s;
    return 0;
}

void nuwa_session_destroy(NuwaSession **ps)
{
    NuwaSession *s = ps ? *ps : NULL;
    if (!s)
        return;
    *ps = NULL;
    session_free_bufs(s);
    nuwa_model_unref(&s->model);
    nw_free(s);
}

int nuwa_session_set_threads(NuwaSession *s, int n_threads)
{
    if (!s || n_threads < 0)
        return NUWA_ERR_INVAL;
    n_threads = resolve_threads(n_threads);
    if (n_threads == s->n_threads)
        return 0;
    return session_alloc(s, n_threads);
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
    for (int i = 0; i < n; i++) {
        frame_to_planar(&frames[i], s->img, v->channels, v->image_size);
        nw_vae_encode_image(v, &s->ops, &s->ctx, &s->bufs, s->img, tokens + (size_t)i * T, NULL,
                            NULL, NULL);
    }
    return 0;
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
    for (int i = 0; i < n; i++) {
        nw_vae_decode_image(v, &s->ops, &s->ctx, &s->bufs, tokens + (size_t)i * T, s->img, NULL, NULL);
        planar_to_frame(s->img, &frames[i], v->channels, v->image_size);
    }
    return 0;
}
