/*
 * transformer.c — NUWA transformer inference (MODEL.md §2–§4).
 *
 * Loading follows the reference's module tree (§2.6): every tensor the hyperparameters imply is
 * checked by name and shape and converted into one float32 blob. Computation works on blocks of
 * rows; the decoder keeps exactly the state later rows read (§4), so one code path serves the
 * full forward (one block), prefill (blocks of up to the block size) and incremental decoding
 * (blocks of one row), and the incremental result equals the full forward by construction of the
 * same arithmetic per row.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "transformer.h"

#define LN_EPS 1e-5f

/* ---- loading ------------------------------------------------------------------------- */

typedef struct TLoader {
    const NwGguf *g;
    const NwLog *log;
    float *blob;
    size_t used;
    int err;
    NwTensorFn describe; /* describe mode: report each required tensor, read nothing */
    void *opaque;
} TLoader;

static float *tl_alloc(TLoader *L, size_t n)
{
    float *p = L->blob ? L->blob + L->used : NULL;
    L->used += (n + 15) & ~(size_t)15;
    return p;
}

static const float *tl_tensor(TLoader *L, int n, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                              const char *fmt, ...) NW_PRINTF(7, 8);
static const float *tl_tensor(TLoader *L, int n, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                              const char *fmt, ...)
{
    char name[256];
    va_list ap;
    const int64_t shape[4] = {d0, d1, d2, d3};
    if (L->err)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    if (L->describe) {
        L->describe(L->opaque, name, n, shape);
        return NULL;
    }
    const NwGgufTensor *t = nw_gguf_find_tensor(L->g, name);
    if (!t) {
        nw_log(L->log, NUWA_LOG_ERROR, "model: missing tensor '%s' required by the nuwa.* hyperparameters\n", name);
        L->err = NUWA_ERR_BAD_MODEL;
        return NULL;
    }
    int ok = t->n_dims == n && (t->type == NW_TYPE_F32 || t->type == NW_TYPE_F16 || t->type == NW_TYPE_BF16);
    for (int i = 0; ok && i < n; i++)
        ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[96] = "(", have[96] = "(";
        for (int i = 0; i < n; i++)
            snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%lld", i ? "," : "", (long long)shape[i]);
        for (int i = 0; i < t->n_dims; i++)
            snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%lld", i ? "," : "", (long long)t->shape[i]);
        nw_log(L->log, NUWA_LOG_ERROR, "model: tensor '%s' is %s %s) but the hyperparameters imply F32/F16/BF16 %s)\n",
               name, nw_gguf_type_name(t->type), have, want);
        L->err = NUWA_ERR_BAD_MODEL;
        return NULL;
    }
    float *dst = tl_alloc(L, (size_t)t->n_elems);
    if (dst)
        nw_tensor_to_f32(t, dst);
    return dst;
}

static void tl_sandwich(TLoader *L, NwSandwich *s, int d, const char *prefix)
{
    s->pre_g = tl_tensor(L, 1, d, 1, 1, 1, "%s.prenorm.weight", prefix);
    s->pre_b = tl_tensor(L, 1, d, 1, 1, 1, "%s.prenorm.bias", prefix);
    s->post_g = tl_tensor(L, 1, d, 1, 1, 1, "%s.postnorm.weight", prefix);
    s->post_b = tl_tensor(L, 1, d, 1, 1, 1, "%s.postnorm.bias", prefix);
}

static void tl_attn(TLoader *L, NwAttnW *a, int d, int h, int dh, int dense, const char *p)
{
    const int inner = h * dh;
    a->q = tl_tensor(L, 2, inner, d, 1, 1, "%s.to_q.weight", p);
    a->kv = tl_tensor(L, 2, 2 * inner, d, 1, 1, "%s.to_kv.weight", p);
    a->out = tl_tensor(L, 2, d, inner, 1, 1, "%s.to_out.weight", p);
    a->th = tl_tensor(L, 4, h, h, 1, 1, "%s.talking_heads.weight", p);
    if (dense) {
        a->null_k = tl_tensor(L, 3, h, 1, dh, 1, "%s.null_k", p);
        a->null_v = tl_tensor(L, 3, h, 1, dh, 1, "%s.null_v", p);
    } else {
        a->out_b = tl_tensor(L, 1, d, 1, 1, 1, "%s.to_out.bias", p);
    }
}

static void tl_ff(TLoader *L, NwFFW *f, int d, int inner, const char *p)
{
    f->w0 = tl_tensor(L, 2, 2 * inner, d, 1, 1, "%s.net.0.weight", p);
    f->w3 = tl_tensor(L, 2, d, inner, 1, 1, "%s.net.3.weight", p);
}

static void walk(TLoader *L, NwNuwa *m)
{
    const int d = m->dim;
    char p[160];
    m->text_emb = tl_tensor(L, 2, m->text_vocab, d, 1, 1, "text_embedding.embed.weight");
    if (m->rotary) {
        const float *f = tl_tensor(L, 1, m->rot_dim / 2, 1, 1, 1, "text_rotary_pos_emb.inv_freq");
        m->inv_freq = tl_alloc(L, m->rot_dim / 2);
        if (m->inv_freq && f)
            memcpy(m->inv_freq, f, sizeof(float) * (m->rot_dim / 2));
    } else {
        m->text_abs_pos = tl_tensor(L, 2, m->text_len, d, 1, 1, "text_abs_pos_emb.embed.weight");
    }
    m->video_bos = tl_tensor(L, 1, d, 1, 1, 1, "video_bos");
    m->image_emb = tl_tensor(L, 2, m->V, d, 1, 1, "image_embedding.embed.weight");
    m->to_logits = tl_tensor(L, 2, m->V, d, 1, 1, "to_logits.weight");
    m->text_norm_g = tl_tensor(L, 1, d, 1, 1, 1, "text_transformer.norm.norm.weight");
    m->text_norm_b = tl_tensor(L, 1, d, 1, 1, 1, "text_transformer.norm.norm.bias");
    m->video_norm_g = tl_tensor(L, 1, d, 1, 1, 1, "video_transformer.norm.norm.weight");
    m->video_norm_b = tl_tensor(L, 1, d, 1, 1, 1, "video_transformer.norm.norm.bias");

    /* axial positional embedding over (F, fmap, fmap), axes of length 1 dropped */
    const int axes[3] = {m->max_frames, m->fmap, m->fmap};
    const float *ax[3] = {NULL, NULL, NULL};
    int na = 0;
    for (int i = 0; i < 3; i++)
        if (axes[i] > 1) {
            ax[i] = tl_tensor(L, 2, axes[i], d, 1, 1, "video_pos_emb.axial%d", na + 1);
            na++;
        }
    m->pos = tl_alloc(L, (size_t)m->max_frames * m->T * d);
    if (m->pos && !L->err) {
        for (int f = 0; f < m->max_frames; f++)
            for (int r = 0; r < m->fmap; r++)
                for (int c = 0; c < m->fmap; c++) {
                    const int idx3[3] = {f, r, c};
                    float *dst = m->pos + ((size_t)(f * m->fmap + r) * m->fmap + c) * d;
                    int first = 1;
                    for (int i = 0; i < 3; i++) {
                        if (!ax[i])
                            continue;
                        const float *src = ax[i] + (size_t)idx3[i] * d;
                        for (int j = 0; j < d; j++)
                            dst[j] = first ? src[j] : dst[j] + src[j];
                        first = 0;
                    }
                    if (first)
                        memset(dst, 0, sizeof(float) * d);
                }
    }

    for (int i = 0; i < m->enc_depth; i++) {
        NwEncLayer *e = &m->enc[i];
        const int fi = m->enc_rev ? 1 : 2;
        snprintf(p, sizeof(p), "text_transformer.layers.%d.0", i);
        tl_sandwich(L, &e->sn_attn, d, p);
        snprintf(p, sizeof(p), m->enc_rev ? "text_transformer.layers.%d.0.fn.fn" : "text_transformer.layers.%d.0.fn", i);
        tl_attn(L, &e->attn, d, m->enc_heads, m->enc_dh, 1, p);
        snprintf(p, sizeof(p), "text_transformer.layers.%d.%d", i, fi);
        tl_sandwich(L, &e->sn_ff, d, p);
        snprintf(p, sizeof(p), m->enc_rev ? "text_transformer.layers.%d.%d.fn.fn" : "text_transformer.layers.%d.%d.fn", i, fi);
        tl_ff(L, &e->ff, d, m->ff_inner, p);
    }
    for (int i = 0; i < m->dec_depth; i++) {
        NwDecLayer *l = &m->dec[i];
        const int wrapped = m->dec_rev || m->shift; /* ShiftVideoTokens wrapper adds a .fn */
        const char *w = wrapped ? ".fn.fn" : ".fn";
        const int a = m->dec_rev ? 2 * i : i;
        snprintf(p, sizeof(p), "video_transformer.layers.%d.0", a);
        tl_sandwich(L, &l->sn_attn, d, p);
        snprintf(p, sizeof(p), "video_transformer.layers.%d.0%s", a, w);
        tl_attn(L, &l->attn, d, m->dec_heads, m->dec_dh, 0, p);
        if (m->rel_bias) {
            const int K = m->kernel[0] * m->kernel[1] * m->kernel[2], h = m->dec_heads;
            const float *rb[3] = {NULL, NULL, NULL};
            int nb = 0;
            for (int k = 0; k < 3; k++)
                if (m->kernel[k] > 1)
                    rb[k] = tl_tensor(L, 2, m->kernel[k], h, 1, 1, "%s.rel_pos_bias.axial%d", p, ++nb);
            l->attn.rel_bias = tl_alloc(L, (size_t)K * h);
            if (l->attn.rel_bias && !L->err)
                for (int j = 0; j < K; j++) {
                    const int ia[3] = {j / (m->kernel[1] * m->kernel[2]), (j / m->kernel[2]) % m->kernel[1],
                                       j % m->kernel[2]};
                    for (int hd = 0; hd < h; hd++) {
                        float s = 0.f;
                        int first = 1;
                        for (int k = 0; k < 3; k++)
                            if (rb[k]) {
                                s = first ? rb[k][ia[k] * h + hd] : s + rb[k][ia[k] * h + hd];
                                first = 0;
                            }
                        l->attn.rel_bias[(size_t)j * h + hd] = s;
                    }
                }
        }
        if (m->dec_rev) {
            snprintf(p, sizeof(p), "video_transformer.layers.%d.1", a);
            tl_sandwich(L, &l->sn_ff, d, p);
            snprintf(p, sizeof(p), "video_transformer.layers.%d.1.fn.fn", a);
            tl_ff(L, &l->ff, d, m->ff_inner, p);
            snprintf(p, sizeof(p), "video_transformer.layers.%d.0", a + 1);
            tl_sandwich(L, &l->sn_cross, d, p);
            snprintf(p, sizeof(p), "video_transformer.layers.%d.0.fn", a + 1);
            tl_attn(L, &l->cross, d, m->dec_heads, m->dec_dh, 1, p);
            snprintf(p, sizeof(p), "video_transformer.layers.%d.1", a + 1);
            tl_sandwich(L, &l->sn_ff2, d, p);
            snprintf(p, sizeof(p), "video_transformer.layers.%d.1.fn.fn", a + 1);
            tl_ff(L, &l->ff2, d, m->ff_inner, p);
        } else {
            snprintf(p, sizeof(p), "video_transformer.layers.%d.1", i);
            tl_sandwich(L, &l->sn_cross, d, p);
            snprintf(p, sizeof(p), "video_transformer.layers.%d.1.fn", i);
            tl_attn(L, &l->cross, d, m->dec_heads, m->dec_dh, 1, p);
            snprintf(p, sizeof(p), "video_transformer.layers.%d.2", i);
            tl_sandwich(L, &l->sn_ff, d, p);
            snprintf(p, sizeof(p), "video_transformer.layers.%d.2%s", i, m->shift ? ".fn.fn" : ".fn");
            tl_ff(L, &l->ff, d, m->ff_inner, p);
        }
        l->dil = m->dil[i % m->n_dil];
        l->horizon = (m->kernel[0] - 1) * l->dil * m->T + (m->kernel[1] - 1) * l->dil * m->fmap +
                     (m->kernel[2] - 1) * l->dil;
    }
}

static int read_hparams(NwNuwa *m, const NwGguf *g, const NwLog *log)
{
    char err[256] = "";
    uint32_t x, arr[16];
    int b;
#define U32(key, dst)                                                           \
    do {                                                                        \
        if (nw_gguf_get_u32(g, key, &x, err, sizeof(err)) < 0)                  \
            goto fail;                                                          \
        if (x < 1 || x > (1u << 20)) {                                          \
            snprintf(err, sizeof(err), "%s = %u is out of range", key, x);      \
            goto fail;                                                          \
        }                                                                       \
        dst = (int)x;                                                           \
    } while (0)
#define BOOL(key, dst)                                                          \
    do {                                                                        \
        if (nw_gguf_get_bool(g, key, &b, err, sizeof(err)) < 0)                 \
            goto fail;                                                          \
        dst = b;                                                                \
    } while (0)
    U32("nuwa.dim", m->dim);
    U32("nuwa.max_video_frames", m->max_frames);
    U32("nuwa.text_num_tokens", m->text_vocab);
    U32("nuwa.text_max_seq_len", m->text_len);
    U32("nuwa.text_enc_depth", m->enc_depth);
    U32("nuwa.text_enc_heads", m->enc_heads);
    U32("nuwa.text_enc_dim_head", m->enc_dh);
    BOOL("nuwa.text_rotary_pos_emb", m->rotary);
    BOOL("nuwa.enc_reversible", m->enc_rev);
    U32("nuwa.dec_depth", m->dec_depth);
    U32("nuwa.dec_heads", m->dec_heads);
    U32("nuwa.dec_dim_head", m->dec_dh);
    BOOL("nuwa.dec_reversible", m->dec_rev);
    BOOL("nuwa.shift_video_tokens", m->shift);
    BOOL("nuwa.sparse_3dna_rel_pos_bias", m->rel_bias);
    if (nw_gguf_get_u32_array(g, "nuwa.sparse_3dna_kernel_size", arr, 3, err, sizeof(err)) < 0)
        goto fail;
    for (int i = 0; i < 3; i++) {
        if (!(arr[i] & 1) || arr[i] > 63) {
            snprintf(err, sizeof(err), "nuwa.sparse_3dna_kernel_size[%d] = %u must be odd and < 64", i, arr[i]);
            goto fail;
        }
        m->kernel[i] = (int)arr[i];
    }
    const NwGgufKV *kv = nw_gguf_find_kv(g, "nuwa.sparse_3dna_dilation");
    if (!kv || kv->type != NW_GGUF_ARRAY || kv->n < 1 || kv->n > 16) {
        snprintf(err, sizeof(err), "nuwa.sparse_3dna_dilation must be an array of 1..16 integers");
        goto fail;
    }
    m->n_dil = (int)kv->n;
    if (nw_gguf_get_u32_array(g, "nuwa.sparse_3dna_dilation", arr, kv->n, err, sizeof(err)) < 0)
        goto fail;
    for (int i = 0; i < m->n_dil; i++) {
        if (arr[i] < 1 || arr[i] > 64) {
            snprintf(err, sizeof(err), "nuwa.sparse_3dna_dilation[%d] = %u out of range", i, arr[i]);
            goto fail;
        }
        m->dil[i] = (int)arr[i];
    }
    if (m->dim < 4 || m->enc_heads > 64 || m->dec_heads > 64 || m->enc_dh > 1024 || m->dec_dh > 1024) {
        snprintf(err, sizeof(err), "nuwa.dim must be >= 4, heads <= 64, dim_head <= 1024");
        goto fail;
    }
    if (m->dec_heads * (1 + m->kernel[0] * m->kernel[1] * m->kernel[2]) > 64 * 256) {
        snprintf(err, sizeof(err), "3DNA window of %dx%dx%d with %d heads is too large", m->kernel[0],
                 m->kernel[1], m->kernel[2], m->dec_heads);
        goto fail;
    }
    if (m->text_len > 4096 || m->max_frames > 4096) {
        snprintf(err, sizeof(err), "nuwa.text_max_seq_len / max_video_frames too large");
        goto fail;
    }
#undef U32
#undef BOOL
    if (m->rotary && ((m->enc_dh < 32 ? m->enc_dh : 32) & 1)) {
        snprintf(err, sizeof(err), "rotary embedding needs an even text_enc_dim_head");
        goto fail;
    }
    return 0;
fail:
    nw_log(log, NUWA_LOG_ERROR, "model: %s\n", err);
    return NUWA_ERR_BAD_MODEL;
}

static int derive(NwNuwa *m, int fmap, int codebook_size)
{
    m->ff_inner = (m->dim * 4 * 2) / 3;
    m->rot_dim = m->enc_dh < 32 ? m->enc_dh : 32;
    m->fmap = fmap;
    m->T = fmap * fmap;
    m->V = codebook_size;
    m->enc = nw_calloc(m->enc_depth, sizeof(*m->enc));
    m->dec = nw_calloc(m->dec_depth, sizeof(*m->dec));
    return m->enc && m->dec ? 0 : NUWA_ERR_NOMEM;
}

int nw_nuwa_describe(const NwNuwa *hp, int fmap, int codebook_size, NwTensorFn fn, void *opaque)
{
    NwNuwa m = *hp;
    TLoader L = {NULL, NULL, NULL, 0, 0, fn, opaque};
    int ret = derive(&m, fmap, codebook_size);
    if (ret == 0)
        walk(&L, &m);
    nw_free(m.enc);
    nw_free(m.dec);
    return ret;
}

int nw_nuwa_write_hparams(const NwNuwa *m, NwGgufWriter *w)
{
    uint32_t k[3] = {(uint32_t)m->kernel[0], (uint32_t)m->kernel[1], (uint32_t)m->kernel[2]}, dl[16];
    int r = 0;
    for (int i = 0; i < m->n_dil; i++)
        dl[i] = (uint32_t)m->dil[i];
    r |= nw_gguf_writer_add_u32(w, "nuwa.dim", (uint32_t)m->dim);
    r |= nw_gguf_writer_add_u32(w, "nuwa.max_video_frames", (uint32_t)m->max_frames);
    r |= nw_gguf_writer_add_u32(w, "nuwa.text_num_tokens", (uint32_t)m->text_vocab);
    r |= nw_gguf_writer_add_u32(w, "nuwa.text_max_seq_len", (uint32_t)m->text_len);
    r |= nw_gguf_writer_add_u32(w, "nuwa.text_enc_depth", (uint32_t)m->enc_depth);
    r |= nw_gguf_writer_add_u32(w, "nuwa.text_enc_heads", (uint32_t)m->enc_heads);
    r |= nw_gguf_writer_add_u32(w, "nuwa.text_enc_dim_head", (uint32_t)m->enc_dh);
    r |= nw_gguf_writer_add_bool(w, "nuwa.text_rotary_pos_emb", m->rotary);
    r |= nw_gguf_writer_add_bool(w, "nuwa.enc_reversible", m->enc_rev);
    r |= nw_gguf_writer_add_u32(w, "nuwa.dec_depth", (uint32_t)m->dec_depth);
    r |= nw_gguf_writer_add_u32(w, "nuwa.dec_heads", (uint32_t)m->dec_heads);
    r |= nw_gguf_writer_add_u32(w, "nuwa.dec_dim_head", (uint32_t)m->dec_dh);
    r |= nw_gguf_writer_add_bool(w, "nuwa.dec_reversible", m->dec_rev);
    r |= nw_gguf_writer_add_bool(w, "nuwa.shift_video_tokens", m->shift);
    r |= nw_gguf_writer_add_u32_array(w, "nuwa.sparse_3dna_kernel_size", k, 3);
    r |= nw_gguf_writer_add_u32_array(w, "nuwa.sparse_3dna_dilation", dl, (uint64_t)m->n_dil);
    r |= nw_gguf_writer_add_bool(w, "nuwa.sparse_3dna_rel_pos_bias", m->rel_bias);
    return r ? NUWA_ERR_NOMEM : 0;
}

int nw_nuwa_load(NwNuwa *m, const NwGguf *g, int fmap, int codebook_size, const NwLog *log)
{
    TLoader L = {g, log, NULL, 0, 0, NULL, NULL};
    int ret;
    memset(m, 0, sizeof(*m));
    if (!nw_gguf_find_kv(g, "nuwa.dim"))
        return NUWA_ERR_UNSUPPORTED;
    if ((ret = read_hparams(m, g, log)) < 0)
        return ret;
    if ((ret = derive(m, fmap, codebook_size)) < 0)
        goto fail;
    walk(&L, m);
    if (L.err) {
        ret = L.err;
        goto fail;
    }
    m->blob = nw_alloc(L.used * sizeof(float));
    if (!m->blob) {
        ret = NUWA_ERR_NOMEM;
        goto fail;
    }
    L.blob = m->blob;
    L.used = 0;
    walk(&L, m);
    if (L.err) {
        ret = L.err;
        goto fail;
    }
    return 0;
fail:
    nw_nuwa_free(m);
    return ret;
}

void nw_nuwa_free(NwNuwa *m)
{
    if (!m)
        return;
    nw_free(m->enc);
    nw_free(m->dec);
    nw_free(m->blob);
    memset(m, 0, sizeof(*m));
}

/* ---- working memory ---------------------------------------------------------------------- */

int nw_tf_work_alloc(NwTfWork *w, const NwNuwa *m, const NwOps *ops, int max_rows, int n_threads)
{
    const int d = m->dim, inner = NW_MAX(m->enc_heads * m->enc_dh, m->dec_heads * m->dec_dh);
    const int K = m->kernel[0] * m->kernel[1] * m->kernel[2];
    const size_t wide = (size_t)NW_MAX(NW_MAX(d, 2 * inner), m->ff_inner);
    memset(w, 0, sizeof(*w));
    max_rows = NW_MAX(max_rows, m->text_len);
    w->max_rows = max_rows;
    w->x1 = nw_alloc(sizeof(float) * max_rows * d);
    w->x2 = nw_alloc(sizeof(float) * max_rows * d);
    w->n1 = nw_alloc(sizeof(float) * max_rows * d);
    w->t1 = nw_alloc(sizeof(float) * max_rows * wide);
    w->t2 = nw_alloc(sizeof(float) * max_rows * wide);
    w->t3 = nw_alloc(sizeof(float) * max_rows * wide);
    w->u = nw_alloc(sizeof(float) * max_rows * 2 * (size_t)m->ff_inner);
    w->y = nw_alloc(sizeof(float) * max_rows * d);
    w->idx = nw_alloc(sizeof(int32_t) * max_rows * (size_t)K);
    w->scratch_len = ops->attn_null_scratch(max_rows, m->text_len, NW_MAX(m->enc_heads, m->dec_heads), n_threads);
    w->scratch = nw_alloc(sizeof(float) * (w->scratch_len + 1));
    if (!w->x1 || !w->x2 || !w->n1 || !w->t1 || !w->t2 || !w->t3 || !w->u || !w->y || !w->idx || !w->scratch) {
        nw_tf_work_free(w);
        return NUWA_ERR_NOMEM;
    }
    return 0;
}

void nw_tf_work_free(NwTfWork *w)
{
    nw_free(w->x1);
    nw_free(w->x2);
    nw_free(w->n1);
    nw_free(w->t1);
    nw_free(w->t2);
    nw_free(w->t3);
    nw_free(w->u);
    nw_free(w->y);
    nw_free(w->idx);
    nw_free(w->scratch);
    memset(w, 0, sizeof(*w));
}

int nw_text_ctx_alloc(NwTextCtx *t, const NwNuwa *m)
{
    const size_t inner = (size_t)m->dec_heads * m->dec_dh;
    memset(t, 0, sizeof(*t));
    t->n = m->text_len;
    t->embeds = nw_alloc(sizeof(float) * t->n * m->dim);
    t->keep = nw_calloc(t->n, 1);
    t->keep_none = nw_calloc(t->n, 1);
    t->kv = nw_alloc(sizeof(float) * m->dec_depth * t->n * 2 * inner);
    if (!t->embeds || !t->keep || !t->keep_none || !t->kv) {
        nw_text_ctx_free(t);
        return NUWA_ERR_NOMEM;
    }
    return 0;
}

void nw_text_ctx_free(NwTextCtx *t)
{
    nw_free(t->embeds);
    nw_free(t->keep);
    nw_free(t->keep_none);
    nw_free(t->kv);
    memset(t, 0, sizeof(*t));
}

#define N_SHIFT 3

int nw_dec_state_alloc(NwDecState *s, const NwNuwa *m, int max_block)
{
    const size_t inner = (size_t)m->dec_heads * m->dec_dh;
    int hmax = 0;
    for (int i = 0; i < m->dec_depth; i++)
        hmax = NW_MAX(hmax, m->dec[i].horizon);
    memset(s, 0, sizeof(*s));
    s->shift_cap = m->fmap + max_block;
    s->kv_cap = hmax + max_block;
    s->shift = nw_alloc(sizeof(float) * m->dec_depth * N_SHIFT * (size_t)s->shift_cap * m->dim);
    s->kv = nw_alloc(sizeof(float) * m->dec_depth * (size_t)s->kv_cap * 2 * inner);
    s->kv_bos = nw_alloc(sizeof(float) * m->dec_depth * 2 * inner);
    if (!s->shift || !s->kv || !s->kv_bos) {
        nw_dec_state_free(s);
        return NUWA_ERR_NOMEM;
    }
    return 0;
}

void nw_dec_state_free(NwDecState *s)
{
    nw_free(s->shift);
    nw_free(s->kv);
    nw_free(s->kv_bos);
    memset(s, 0, sizeof(*s));
}

void nw_dec_state_reset(NwDecState *s)
{
    s->rows = 0;
}

/* ---- building blocks ----------------------------------------------------------------------- */

/* y (n, o) = x (n, i) W^T [+ bias] */
static void linear(const NwOps *ops, const NwCtx *ctx, const float *x, int n, int i, const float *W,
                   int o, const float *bias, float *y)
{
    ops->matmul(ctx, n, o, i, x, i, 0, W, i, 1, NULL, y, o);
    if (bias)
        for (int r = 0; r < n; r++)
            for (int c = 0; c < o; c++)
                y[(size_t)r * o + c] += bias[c];
}

static void add_rows(float *x, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

/* Rotary embedding on the first r features of each head of rows (n, h*dh) at positions p0.. */
static void rotary(const NwNuwa *m, float *x, int n, int ld, int heads, int dh)
{
    const int r = m->rot_dim, hr = r / 2;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < hr; k++) {
            const float th = (float)i * m->inv_freq[k];
            const float cs = cosf(th), sn = sinf(th);
            for (int hd = 0; hd < heads; hd++) {
                float *v = x + (size_t)i * ld + hd * dh;
                const float a = v[k], b = v[k + hr];
                v[k] = a * cs + (-b) * sn;
                v[k + hr] = b * cs + a * sn;
            }
        }
}

/* ---- text encoder -------------------------------------------------------------------------- */

/* One text self-attention sublayer (SandwichNorm included) on rows x (n, d) -> y. */
static void text_attn(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwEncLayer *e,
                      const uint8_t *keep, const float *x, float *y)
{
    const int n = m->text_len, d = m->dim, h = m->enc_heads, dh = m->enc_dh, inner = h * dh;
    ops->layer_norm(ctx, x, w->n1, n, d, e->sn_attn.pre_g, e->sn_attn.pre_b, LN_EPS, 0);
    linear(ops, ctx, w->n1, n, d, e->attn.q, inner, NULL, w->t1);
    linear(ops, ctx, w->n1, n, d, e->attn.kv, 2 * inner, NULL, w->t2);
    if (m->rotary) {
        rotary(m, w->t1, n, inner, h, dh);
        rotary(m, w->t2, n, 2 * inner, h, dh);           /* k */
        rotary(m, w->t2 + inner, n, 2 * inner, h, dh);   /* v (B15) */
    }
    NwCtx c2 = *ctx;
    c2.scratch = w->scratch;
    c2.scratch_len = w->scratch_len;
    ops->attn_null(&c2, w->t1, inner, w->t2, 2 * inner, w->t2 + inner, 2 * inner, n, n, h, dh,
                   e->attn.null_k, e->attn.null_v, keep, e->attn.th, 1.f / sqrtf((float)dh), w->t3, inner);
    linear(ops, ctx, w->t3, n, inner, e->attn.out, d, NULL, y);
    ops->layer_norm(ctx, y, y, n, d, e->sn_attn.post_g, e->sn_attn.post_b, LN_EPS, 0);
}

static void text_ff(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwSandwich *sn,
                    const NwFFW *ff, const float *x, int n, float *y)
{
    const int d = m->dim, f = m->ff_inner;
    ops->layer_norm(ctx, x, w->n1, n, d, sn->pre_g, sn->pre_b, LN_EPS, 0);
    linear(ops, ctx, w->n1, n, d, ff->w0, 2 * f, NULL, w->u);
    ops->geglu(ctx, w->u, w->t3, n, f);
    linear(ops, ctx, w->t3, n, f, ff->w3, d, NULL, y);
    ops->layer_norm(ctx, y, y, n, d, sn->post_g, sn->post_b, LN_EPS, 0);
}

void nw_text_encode(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const int32_t *text,
                    NwTextCtx *t, float *layer_out)
{
    const int n = m->text_len, d = m->dim;
    float *x1 = w->x1, *x2 = w->x2, *ybuf = w->y;
    for (int i = 0; i < n; i++) {
        memcpy(x1 + (size_t)i * d, m->text_emb + (size_t)text[i] * d, sizeof(float) * d);
        if (m->text_abs_pos)
            add_rows(x1 + (size_t)i * d, m->text_abs_pos + (size_t)i * d, d);
        t->keep[i] = text[i] != 0;
        t->keep_none[i] = 0;
    }
    if (m->enc_rev)
        memcpy(x2, x1, sizeof(float) * n * d);
    for (int l = 0; l < m->enc_depth; l++) {
        const NwEncLayer *e = &m->enc[l];
        if (!m->enc_rev) {
            text_attn(m, ops, ctx, w, e, t->keep, x1, ybuf);
            add_rows(x1, ybuf, (size_t)n * d);
            text_ff(m, ops, ctx, w, &e->sn_ff, &e->ff, x1, n, ybuf);
            add_rows(x1, ybuf, (size_t)n * d);
            if (layer_out)
                memcpy(layer_out + (size_t)l * n * d, x1, sizeof(float) * n * d);
        } else {
            text_attn(m, ops, ctx, w, e, t->keep, x2, ybuf);
            add_rows(x1, ybuf, (size_t)n * d);
            text_ff(m, ops, ctx, w, &e->sn_ff, &e->ff, x1, n, ybuf);
            add_rows(x2, ybuf, (size_t)n * d);
            if (layer_out) /* reversible: cat(x1, x2) per row, (n, 2d) */
                for (int i = 0; i < n; i++) {
                    memcpy(layer_out + ((size_t)l * n + i) * 2 * d, x1 + (size_t)i * d, sizeof(float) * d);
                    memcpy(layer_out + ((size_t)l * n + i) * 2 * d + d, x2 + (size_t)i * d, sizeof(float) * d);
                }
        }
    }
    if (m->enc_rev)
        add_rows(x1, x2, (size_t)n * d);
    ops->layer_norm(ctx, x1, t->embeds, n, d, m->text_norm_g, m->text_norm_b, LN_EPS, 1);
    /* cross-attention keys/values of every decoder layer */
    const int inner = m->dec_heads * m->dec_dh;
    for (int l = 0; l < m->dec_depth; l++)
        linear(ops, ctx, t->embeds, n, d, m->dec[l].cross.kv, 2 * inner, NULL, t->kv + (size_t)l * n * 2 * inner);
}

/* ---- decoder --------------------------------------------------------------------------------- */

void nw_dec_input_row(const NwNuwa *m, int tok, int pos, float *row)
{
    const int d = m->dim;
    const float *e = m->image_emb + (size_t)tok * d, *p = m->pos + (size_t)pos * d;
    for (int j = 0; j < d; j++)
        row[j] = p[j] + e[j];
}

/* Prenorm rows nrm (n, d) of rows p0.. -> shifted rows out (n, d), using/updating ring `ring`. */
static void shift_rows(const NwNuwa *m, const NwDecState *s, float *ring, int p0, const float *nrm,
                       int n, float *out)
{
    const int d = m->dim, c = (d + 3) / 4, fmap = m->fmap, T = m->T;
    for (int i = 0; i < n; i++)
        memcpy(ring + (size_t)((p0 + i) % s->shift_cap) * d, nrm + (size_t)i * d, sizeof(float) * d);
    for (int i = 0; i < n; i++) {
        const int p = p0 + i;
        float *o = out + (size_t)i * d;
        memcpy(o, nrm + (size_t)i * d, sizeof(float) * d);
        if (p == 0)
            continue;
        const int t = p - 1, row = (t % T) / fmap, col = t % fmap;
        if (row > 0)
            memcpy(o, ring + (size_t)((p - fmap) % s->shift_cap) * d, sizeof(float) * c);
        else
            memset(o, 0, sizeof(float) * c);
        const int c2 = NW_MIN(2 * c, d);
        if (col > 0)
            memcpy(o + c, ring + (size_t)((p - 1) % s->shift_cap) * d + c, sizeof(float) * (c2 - c));
        else
            memset(o + c, 0, sizeof(float) * (c2 - c));
    }
}

/* Self-attention (3DNA) sublayer, SandwichNorm included: x rows p0.. -> y. */
static void dec_attn(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, NwDecState *s, int li,
                     int p0, const float *x, int n, float *y)
{
    const NwDecLayer *l = &m->dec[li];
    const int d = m->dim, h = m->dec_heads, dh = m->dec_dh, inner = h * dh;
    const int kf = m->kernel[0], kh = m->kernel[1], kw = m->kernel[2], K = kf * kh * kw;
    const int T = m->T, fmap = m->fmap, dil = l->dil;
    float *ring = s->kv + (size_t)li * s->kv_cap * 2 * inner, *bos = s->kv_bos + (size_t)li * 2 * inner;
    const float *src = w->n1;
    ops->layer_norm(ctx, x, w->n1, n, d, l->sn_attn.pre_g, l->sn_attn.pre_b, LN_EPS, 0);
    if (m->shift) {
        shift_rows(m, s, s->shift + ((size_t)li * N_SHIFT + 0) * s->shift_cap * d, p0, w->n1, n, w->t3);
        src = w->t3;
    }
    linear(ops, ctx, src, n, d, l->attn.q, inner, NULL, w->t1);
    linear(ops, ctx, src, n, d, l->attn.kv, 2 * inner, NULL, w->t2);
    for (int i = 0; i < n; i++) {
        const int p = p0 + i;
        float *dst = p == 0 ? bos : ring + (size_t)((p - 1) % s->kv_cap) * 2 * inner;
        memcpy(dst, w->t2 + (size_t)i * 2 * inner, sizeof(float) * 2 * inner);
    }
    /* gather lists for the video rows */
    int first = 0;
    if (p0 == 0) {
        memcpy(w->t3, bos + inner, sizeof(float) * inner); /* bos attends only to itself */
        first = 1;
    }
    for (int i = first; i < n; i++) {
        const int t = p0 + i - 1, f = t / T, r = (t % T) / fmap, c = t % fmap;
        int32_t *ix = w->idx + (size_t)(i - first) * K;
        for (int a = 0; a < kf; a++)
            for (int b = 0; b < kh; b++)
                for (int cc = 0; cc < kw; cc++) {
                    const int ff = f - dil * (kf - 1 - a), rr = r - dil * (kh - 1 - b), c3 = c - dil * (kw - 1 - cc);
                    const int j = (a * kh + b) * kw + cc;
                    ix[j] = (ff < 0 || rr < 0 || c3 < 0) ? -1 : ((ff * T + rr * fmap + c3) % s->kv_cap);
                }
    }
    if (n > first)
        ops->attn_gather(ctx, w->t1 + (size_t)first * inner, inner, ring, 2 * inner, ring + inner, 2 * inner, bos,
                         bos + inner, w->idx, n - first, K, h, dh, l->attn.rel_bias, l->attn.th,
                         1.f / sqrtf((float)dh), w->t3 + (size_t)first * inner, inner);
    linear(ops, ctx, w->t3, n, inner, l->attn.out, d, l->attn.out_b, y);
    ops->layer_norm(ctx, y, y, n, d, l->sn_attn.post_g, l->sn_attn.post_b, LN_EPS, 0);
}

static void dec_cross(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwTextCtx *t,
                      int uncond, int li, const float *x, int n, float *y)
{
    const NwDecLayer *l = &m->dec[li];
    const int d = m->dim, h = m->dec_heads, dh = m->dec_dh, inner = h * dh;
    const float *kv = t->kv + (size_t)li * t->n * 2 * inner;
    ops->layer_norm(ctx, x, w->n1, n, d, l->sn_cross.pre_g, l->sn_cross.pre_b, LN_EPS, 0);
    linear(ops, ctx, w->n1, n, d, l->cross.q, inner, NULL, w->t1);
    NwCtx c2 = *ctx;
    c2.scratch = w->scratch;
    c2.scratch_len = w->scratch_len;
    ops->attn_null(&c2, w->t1, inner, kv, 2 * inner, kv + inner, 2 * inner, n, t->n, h, dh, l->cross.null_k,
                   l->cross.null_v, uncond ? t->keep_none : t->keep, l->cross.th, 1.f / sqrtf((float)dh), w->t3,
                   inner);
    linear(ops, ctx, w->t3, n, inner, l->cross.out, d, NULL, y);
    ops->layer_norm(ctx, y, y, n, d, l->sn_cross.post_g, l->sn_cross.post_b, LN_EPS, 0);
}

static void dec_ff(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, NwDecState *s, int li,
                   int which, int p0, const float *x, int n, float *y)
{
    const NwDecLayer *l = &m->dec[li];
    const NwSandwich *sn = which ? &l->sn_ff2 : &l->sn_ff;
    const NwFFW *ff = which ? &l->ff2 : &l->ff;
    const int d = m->dim, f = m->ff_inner;
    const float *src = w->n1;
    ops->layer_norm(ctx, x, w->n1, n, d, sn->pre_g, sn->pre_b, LN_EPS, 0);
    if (m->shift) {
        shift_rows(m, s, s->shift + ((size_t)li * N_SHIFT + 1 + which) * s->shift_cap * d, p0, w->n1, n, w->t1);
        src = w->t1;
    }
    linear(ops, ctx, src, n, d, ff->w0, 2 * f, NULL, w->u);
    ops->geglu(ctx, w->u, w->t3, n, f);
    linear(ops, ctx, w->t3, n, f, ff->w3, d, NULL, y);
    ops->layer_norm(ctx, y, y, n, d, sn->post_g, sn->post_b, LN_EPS, 0);
}

int nw_dec_run(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwTextCtx *t,
               int uncond, NwDecState *s, const float *in, int n, float *out, float *logits)
{
    const int d = m->dim, p0 = s->rows;
    const size_t nd = (size_t)n * d;
    float *x1 = w->x1, *x2 = w->x2, *y = w->y;
    if (n < 1 || n > w->max_rows || n > s->shift_cap - m->fmap || n > s->kv_cap - 1)
        return NUWA_ERR_INVAL;
    memcpy(x1, in, sizeof(float) * nd);
    if (m->dec_rev)
        memcpy(x2, in, sizeof(float) * nd);
    for (int li = 0; li < m->dec_depth; li++) {
        if (!m->dec_rev) {
            dec_attn(m, ops, ctx, w, s, li, p0, x1, n, y);
            add_rows(x1, y, nd);
            dec_cross(m, ops, ctx, w, t, uncond, li, x1, n, y);
            add_rows(x1, y, nd);
            dec_ff(m, ops, ctx, w, s, li, 0, p0, x1, n, y);
            add_rows(x1, y, nd);
            if (w->layer_out)
                memcpy(w->layer_out + (size_t)li * nd, x1, sizeof(float) * nd);
        } else {
            dec_attn(m, ops, ctx, w, s, li, p0, x2, n, y);
            add_rows(x1, y, nd);
            dec_ff(m, ops, ctx, w, s, li, 0, p0, x1, n, y);
            add_rows(x2, y, nd);
            dec_cross(m, ops, ctx, w, t, uncond, li, x2, n, y);
            add_rows(x1, y, nd);
            dec_ff(m, ops, ctx, w, s, li, 1, p0, x1, n, y);
            add_rows(x2, y, nd);
            if (w->layer_out) /* cat(x1, x2) per row */
                for (int i = 0; i < n; i++) {
                    memcpy(w->layer_out + ((size_t)li * n + i) * 2 * d, x1 + (size_t)i * d, sizeof(float) * d);
                    memcpy(w->layer_out + ((size_t)li * n + i) * 2 * d + d, x2 + (size_t)i * d, sizeof(float) * d);
                }
        }
    }
    if (m->dec_rev)
        add_rows(x1, x2, nd);
    ops->layer_norm(ctx, x1, y, n, d, m->video_norm_g, m->video_norm_b, LN_EPS, 1);
    if (out)
        memcpy(out, y, sizeof(float) * nd);
    if (logits)
        linear(ops, ctx, y, n, d, m->to_logits, m->V, NULL, logits);
    s->rows += n;
    return 0;
}
