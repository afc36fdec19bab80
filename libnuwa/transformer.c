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

static void tl_sandwich(NwLoader *L, NwSandwich *s, int d, const char *prefix)
{
    s->pre_g = nw_ld_tensor(L, 1, d, 1, 1, 1, "%s.prenorm.weight", prefix);
    s->pre_b = nw_ld_tensor(L, 1, d, 1, 1, 1, "%s.prenorm.bias", prefix);
    s->post_g = nw_ld_tensor(L, 1, d, 1, 1, 1, "%s.postnorm.weight", prefix);
    s->post_b = nw_ld_tensor(L, 1, d, 1, 1, 1, "%s.postnorm.bias", prefix);
}

static void tl_attn(NwLoader *L, NwAttnW *a, int d, int h, int dh, int dense, const char *p)
{
    const int inner = h * dh;
    a->q = nw_ld_tensor(L, 2, inner, d, 1, 1, "%s.to_q.weight", p);
    a->kv = nw_ld_tensor(L, 2, 2 * inner, d, 1, 1, "%s.to_kv.weight", p);
    a->out = nw_ld_tensor(L, 2, d, inner, 1, 1, "%s.to_out.weight", p);
    a->th = nw_ld_tensor(L, 4, h, h, 1, 1, "%s.talking_heads.weight", p);
    if (dense) {
        a->null_k = nw_ld_tensor(L, 3, h, 1, dh, 1, "%s.null_k", p);
        a->null_v = nw_ld_tensor(L, 3, h, 1, dh, 1, "%s.null_v", p);
    } else {
        a->out_b = nw_ld_tensor(L, 1, d, 1, 1, 1, "%s.to_out.bias", p);
    }
}

static void tl_ff(NwLoader *L, NwFFW *f, int d, int inner, const char *p)
{
    f->w0 = nw_ld_tensor(L, 2, 2 * inner, d, 1, 1, "%s.net.0.weight", p);
    f->w3 = nw_ld_tensor(L, 2, d, inner, 1, 1, "%s.net.3.weight", p);
}

void nw_nuwa_walk(NwNuwa *m, NwLoader *L)
{
    const int d = m->dim;
    char p[160];
    m->text_emb = nw_ld_tensor(L, 2, m->text_vocab, d, 1, 1, "text_embedding.embed.weight");
    if (m->rotary)
        m->inv_freq = nw_ld_tensor(L, 1, m->rot_dim / 2, 1, 1, 1, "text_rotary_pos_emb.inv_freq");
    else
        m->text_abs_pos = nw_ld_tensor(L, 2, m->text_len, d, 1, 1, "text_abs_pos_emb.embed.weight");
    m->video_bos = nw_ld_tensor(L, 1, d, 1, 1, 1, "video_bos");
    m->image_emb = nw_ld_tensor(L, 2, m->V, d, 1, 1, "image_embedding.embed.weight");
    m->to_logits = nw_ld_tensor(L, 2, m->V, d, 1, 1, "to_logits.weight");
    m->text_norm_g = nw_ld_tensor(L, 1, d, 1, 1, 1, "text_transformer.norm.norm.weight");
    m->text_norm_b = nw_ld_tensor(L, 1, d, 1, 1, 1, "text_transformer.norm.norm.bias");
    m->video_norm_g = nw_ld_tensor(L, 1, d, 1, 1, 1, "video_transformer.norm.norm.weight");
    m->video_norm_b = nw_ld_tensor(L, 1, d, 1, 1, 1, "video_transformer.norm.norm.bias");

    /* axial positional embedding over (F, fmap, fmap), axes of length 1 dropped */
    const int axes[3] = {m->max_frames, m->fmap, m->fmap};
    NwW axw[3] = {0, 0, 0};
    int na = 0;
    for (int i = 0; i < 3; i++)
        if (axes[i] > 1) {
            axw[i] = nw_ld_tensor(L, 2, axes[i], d, 1, 1, "video_pos_emb.axial%d", na + 1);
            na++;
        }
    m->pos = nw_ld_table(L, (size_t)m->max_frames * m->T * d);
    float *pos = nw_ld_ptr(L, m->pos);
    if (pos) {
        const float *ax[3] = {nw_ld_ptr(L, axw[0]), nw_ld_ptr(L, axw[1]), nw_ld_ptr(L, axw[2])};
        for (int f = 0; f < m->max_frames; f++)
            for (int r = 0; r < m->fmap; r++)
                for (int c = 0; c < m->fmap; c++) {
                    const int idx3[3] = {f, r, c};
                    float *dst = pos + ((size_t)(f * m->fmap + r) * m->fmap + c) * d;
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
            NwW rbw[3] = {0, 0, 0};
            int nb = 0;
            for (int k = 0; k < 3; k++)
                if (m->kernel[k] > 1)
                    rbw[k] = nw_ld_tensor(L, 2, m->kernel[k], h, 1, 1, "%s.rel_pos_bias.axial%d", p, ++nb);
            l->attn.rel_bias = nw_ld_table(L, (size_t)K * h);
            float *rel = nw_ld_ptr(L, l->attn.rel_bias);
            const float *rb[3] = {nw_ld_ptr(L, rbw[0]), nw_ld_ptr(L, rbw[1]), nw_ld_ptr(L, rbw[2])};
            if (rel)
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
                        rel[(size_t)j * h + hd] = s;
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
    uint32_t arr[16];
#define U32(key, dst)                                                           \
    do {                                                                        \
        if (nw_hp_u32(g, key, 1, 1u << 20, &(dst), err, sizeof(err)) < 0)       \
            goto fail;                                                          \
    } while (0)
#define BOOL(key, dst)                                                          \
    do {                                                                        \
        if (nw_hp_bool(g, key, &(dst), err, sizeof(err)) < 0)                   \
            goto fail;                                                          \
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
    NwLoader L;
    nw_loader_init(&L, NULL, NULL, fn, opaque);
    int ret = derive(&m, fmap, codebook_size);
    if (ret == 0)
        nw_nuwa_walk(&m, &L);
    nw_free(m.enc);
    nw_free(m.dec);
    return ret;
}

int nw_nuwa_tensors(const NwNuwa *m, NwTensorAtFn fn, void *opaque)
{
    NwNuwa c = *m;
    NwLoader L;
    int r;
    /* the walk writes offsets into the plan: walk a copy with its own layer arrays */
    c.enc = nw_calloc(m->enc_depth, sizeof(*c.enc));
    c.dec = nw_calloc(m->dec_depth, sizeof(*c.dec));
    if (!c.enc || !c.dec) {
        nw_free(c.enc);
        nw_free(c.dec);
        return NUWA_ERR_NOMEM;
    }
    memcpy(c.dec, m->dec, sizeof(*c.dec) * m->dec_depth); /* dilation, horizon */
    nw_loader_init(&L, NULL, NULL, NULL, NULL);
    L.describe_at = fn;
    L.opaque = opaque;
    nw_nuwa_walk(&c, &L);
    r = L.err;
    nw_free(c.enc);
    nw_free(c.dec);
    return r;
}

void nw_nuwa_refresh_tables(NwNuwa *m)
{
    NwLoader L;
    /* a converting walk over the plan's own blob that reads no file: tensors keep their values
     * (the walk only recomputes tables from them) */
    nw_loader_init(&L, NULL, NULL, NULL, NULL);
    L.blob = m->own;
    L.refresh = 1;
    nw_nuwa_walk(m, &L);
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

int nw_nuwa_hparams(NwNuwa *m, const NwGguf *g, int fmap, int codebook_size, const NwLog *log)
{
    int ret;
    memset(m, 0, sizeof(*m));
    if (!nw_gguf_find_kv(g, "nuwa.dim"))
        return NUWA_ERR_UNSUPPORTED;
    if ((ret = read_hparams(m, g, log)) < 0)
        return ret;
    if ((ret = derive(m, fmap, codebook_size)) < 0)
        nw_nuwa_free(m);
    return ret;
}

int nw_nuwa_load(NwNuwa *m, const NwGguf *g, int fmap, int codebook_size, const NwLog *log)
{
    NwLoader L;
    int ret;
    if ((ret = nw_nuwa_hparams(m, g, fmap, codebook_size, log)) < 0)
        return ret;
    nw_loader_init(&L, g, log, NULL, NULL);
    nw_nuwa_walk(m, &L);
    if (!L.err && nw_loader_alloc(&L) == 0) {
        nw_loader_rewind(&L);
        nw_nuwa_walk(m, &L);
    }
    if (L.err) {
        nw_free(L.blob);
        nw_nuwa_free(m);
        return L.err;
    }
    m->own = L.blob;
    m->own_floats = L.used;
    m->w = L.blob;
    return 0;
}

void nw_nuwa_free(NwNuwa *m)
{
    if (!m)
        return;
    nw_free(m->enc);
    nw_free(m->dec);
    nw_free(m->own);
    memset(m, 0, sizeof(*m));
}

/* ---- working memory ---------------------------------------------------------------------- */

#define N_SHIFT 3
#define WP(x) nw_wp(m->w, (x))

static void *balloc(const NwOps *ops, const NwCtx *ctx, size_t count, size_t size, int *bad)
{
    size_t n;
    void *p = NULL;
    if (nw_mul_size(count, size, &n) == 0)
        p = ops->mem_alloc(ctx, n ? n : 1);
    if (!p)
        *bad = 1;
    return p;
}

static size_t dec_dna_scratch(const NwNuwa *m, const NwOps *ops, int rows, int n_threads)
{
    const NwDna g = {m->kernel[0], m->kernel[1], m->kernel[2], 1, m->fmap, m->T, 1};
    return ops->attn_3dna_scratch(&g, rows, m->dec_heads, n_threads);
}

int nw_tf_work_alloc(NwTfWork *w, const NwNuwa *m, const NwOps *ops, const NwCtx *ctx, int max_rows,
                     int n_threads)
{
    const int d = m->dim, inner = NW_MAX(m->enc_heads * m->enc_dh, m->dec_heads * m->dec_dh);
    const size_t wide = (size_t)NW_MAX(NW_MAX(d, 2 * inner), m->ff_inner);
    int bad = 0;
    memset(w, 0, sizeof(*w));
    max_rows = NW_MAX(max_rows, m->text_len);
    w->max_rows = max_rows;
    w->x1 = balloc(ops, ctx, (size_t)max_rows * d, sizeof(float), &bad);
    w->x2 = balloc(ops, ctx, (size_t)max_rows * d, sizeof(float), &bad);
    w->n1 = balloc(ops, ctx, (size_t)max_rows * d, sizeof(float), &bad);
    w->t1 = balloc(ops, ctx, (size_t)max_rows * wide, sizeof(float), &bad);
    w->t2 = balloc(ops, ctx, (size_t)max_rows * wide, sizeof(float), &bad);
    w->t3 = balloc(ops, ctx, (size_t)max_rows * wide, sizeof(float), &bad);
    w->u = balloc(ops, ctx, (size_t)max_rows * 2 * m->ff_inner, sizeof(float), &bad);
    w->y = balloc(ops, ctx, (size_t)max_rows * d, sizeof(float), &bad);
    w->scratch_len = NW_MAX(ops->attn_null_scratch(max_rows, m->text_len, NW_MAX(m->enc_heads, m->dec_heads), n_threads),
                            dec_dna_scratch(m, ops, max_rows, n_threads));
    w->scratch = balloc(ops, ctx, w->scratch_len + 1, sizeof(float), &bad);
    if (bad) {
        nw_tf_work_free(w, ops, ctx);
        return NUWA_ERR_NOMEM;
    }
    return 0;
}

void nw_tf_work_free(NwTfWork *w, const NwOps *ops, const NwCtx *ctx)
{
    if (ops) {
        float *b[] = {w->x1, w->x2, w->n1, w->t1, w->t2, w->t3, w->u, w->y, w->scratch};
        for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
            ops->mem_free(ctx, b[i]);
    }
    memset(w, 0, sizeof(*w));
}

int nw_text_ctx_alloc(NwTextCtx *t, const NwNuwa *m, const NwOps *ops, const NwCtx *ctx)
{
    const size_t inner = (size_t)m->dec_heads * m->dec_dh;
    int bad = 0;
    memset(t, 0, sizeof(*t));
    t->n = m->text_len;
    t->ids = balloc(ops, ctx, t->n, sizeof(int32_t), &bad);
    t->embeds = balloc(ops, ctx, (size_t)t->n * m->dim, sizeof(float), &bad);
    t->keep = balloc(ops, ctx, t->n, 1, &bad);
    t->keep_none = balloc(ops, ctx, t->n, 1, &bad);
    t->kv = balloc(ops, ctx, (size_t)m->dec_depth * t->n * 2 * inner, sizeof(float), &bad);
    if (bad) {
        nw_text_ctx_free(t, ops, ctx);
        return NUWA_ERR_NOMEM;
    }
    ops->fill(ctx, t->keep_none, 0, (size_t)t->n);
    return 0;
}

void nw_text_ctx_free(NwTextCtx *t, const NwOps *ops, const NwCtx *ctx)
{
    if (ops) {
        ops->mem_free(ctx, t->ids);
        ops->mem_free(ctx, t->embeds);
        ops->mem_free(ctx, t->keep);
        ops->mem_free(ctx, t->keep_none);
        ops->mem_free(ctx, t->kv);
    }
    memset(t, 0, sizeof(*t));
}

int nw_dec_state_alloc(NwDecState *s, const NwNuwa *m, const NwOps *ops, const NwCtx *ctx, int max_block)
{
    const size_t inner = (size_t)m->dec_heads * m->dec_dh;
    int hmax = 0, bad = 0;
    for (int i = 0; i < m->dec_depth; i++)
        hmax = NW_MAX(hmax, m->dec[i].horizon);
    memset(s, 0, sizeof(*s));
    s->shift_cap = m->fmap + max_block;
    s->kv_cap = hmax + max_block;
    s->shift = balloc(ops, ctx, (size_t)m->dec_depth * N_SHIFT * s->shift_cap * m->dim, sizeof(float), &bad);
    s->kv = balloc(ops, ctx, (size_t)m->dec_depth * s->kv_cap * 2 * inner, sizeof(float), &bad);
    s->kv_bos = balloc(ops, ctx, (size_t)m->dec_depth * 2 * inner, sizeof(float), &bad);
    if (bad) {
        nw_dec_state_free(s, ops, ctx);
        return NUWA_ERR_NOMEM;
    }
    return 0;
}

void nw_dec_state_free(NwDecState *s, const NwOps *ops, const NwCtx *ctx)
{
    if (ops) {
        ops->mem_free(ctx, s->shift);
        ops->mem_free(ctx, s->kv);
        ops->mem_free(ctx, s->kv_bos);
    }
    memset(s, 0, sizeof(*s));
}

void nw_dec_state_reset(NwDecState *s)
{
    s->rows = 0;
}

/* ---- building blocks ----------------------------------------------------------------------- */

/* Writes n rows (each `width` floats, contiguous) for rows p0 .. p0+n-1 into a ring of `cap`
 * rows (row p at p % cap): at most two device copies. */
static void ring_write(const NwOps *ops, const NwCtx *ctx, float *ring, int cap, int width, int p0,
                       const float *src, int n)
{
    const int at = p0 % cap, first = NW_MIN(n, cap - at);
    ops->copy(ctx, ring + (size_t)at * width, src, sizeof(float) * first * width);
    if (n > first)
        ops->copy(ctx, ring, src + (size_t)first * width, sizeof(float) * (n - first) * width);
}

/* Downloads rows (n, d) into the test hook's host buffer at rows of stride ld, offset off. */
static void hook_rows(const NwOps *ops, const NwCtx *ctx, float *dst, int ld, int off, const float *x, int n, int d)
{
    if (ld == d) {
        ops->download(ctx, dst + off, x, sizeof(float) * n * d);
        return;
    }
    for (int i = 0; i < n; i++)
        ops->download(ctx, dst + (size_t)i * ld + off, x + (size_t)i * d, sizeof(float) * d);
}

/* ---- text encoder -------------------------------------------------------------------------- */

/* One text self-attention sublayer (SandwichNorm included) on rows x (n, d) -> y. */
static void text_attn(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwEncLayer *e,
                      const uint8_t *keep, const float *x, float *y)
{
    const int n = m->text_len, d = m->dim, h = m->enc_heads, dh = m->enc_dh, inner = h * dh;
    ops->layer_norm(ctx, x, w->n1, n, d, WP(e->sn_attn.pre_g), WP(e->sn_attn.pre_b), LN_EPS, 0);
    ops->linear(ctx, w->n1, n, d, WP(e->attn.q), inner, NULL, w->t1);
    ops->linear(ctx, w->n1, n, d, WP(e->attn.kv), 2 * inner, NULL, w->t2);
    if (m->rotary) {
        const float *f = WP(m->inv_freq);
        ops->rotary(ctx, w->t1, n, inner, h, dh, m->rot_dim, f, 0);
        ops->rotary(ctx, w->t2, n, 2 * inner, h, dh, m->rot_dim, f, 0);         /* k */
        ops->rotary(ctx, w->t2 + inner, n, 2 * inner, h, dh, m->rot_dim, f, 0); /* v (B15) */
    }
    NwCtx c2 = *ctx;
    c2.scratch = w->scratch;
    c2.scratch_len = w->scratch_len;
    ops->attn_null(&c2, w->t1, inner, w->t2, 2 * inner, w->t2 + inner, 2 * inner, n, n, h, dh,
                   WP(e->attn.null_k), WP(e->attn.null_v), keep, WP(e->attn.th), 1.f / sqrtf((float)dh), w->t3, inner);
    ops->linear(ctx, w->t3, n, inner, WP(e->attn.out), d, NULL, y);
    ops->layer_norm(ctx, y, y, n, d, WP(e->sn_attn.post_g), WP(e->sn_attn.post_b), LN_EPS, 0);
}

static void text_ff(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwSandwich *sn,
                    const NwFFW *ff, const float *x, int n, float *y)
{
    const int d = m->dim, f = m->ff_inner;
    ops->layer_norm(ctx, x, w->n1, n, d, WP(sn->pre_g), WP(sn->pre_b), LN_EPS, 0);
    ops->linear(ctx, w->n1, n, d, WP(ff->w0), 2 * f, NULL, w->u);
    ops->geglu(ctx, w->u, w->t3, n, f);
    ops->linear(ctx, w->t3, n, f, WP(ff->w3), d, NULL, y);
    ops->layer_norm(ctx, y, y, n, d, WP(sn->post_g), WP(sn->post_b), LN_EPS, 0);
}

void nw_text_encode(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const int32_t *text,
                    NwTextCtx *t, float *layer_out)
{
    const int n = m->text_len, d = m->dim;
    const size_t nd = (size_t)n * d;
    float *x1 = w->x1, *x2 = w->x2, *ybuf = w->y;
    uint8_t keep[4096]; /* text_len <= 4096 (checked at load) */
    for (int i = 0; i < n; i++)
        keep[i] = text[i] != 0;
    ops->upload(ctx, t->ids, text, sizeof(int32_t) * n);
    ops->upload(ctx, t->keep, keep, (size_t)n);
    ops->embed(ctx, WP(m->text_emb), d, t->ids, n, WP(m->text_abs_pos), x1, 0);
    if (m->enc_rev)
        ops->copy(ctx, x2, x1, sizeof(float) * nd);
    for (int l = 0; l < m->enc_depth; l++) {
        const NwEncLayer *e = &m->enc[l];
        if (!m->enc_rev) {
            text_attn(m, ops, ctx, w, e, t->keep, x1, ybuf);
            ops->add(ctx, x1, ybuf, nd);
            text_ff(m, ops, ctx, w, &e->sn_ff, &e->ff, x1, n, ybuf);
            ops->add(ctx, x1, ybuf, nd);
            if (layer_out)
                hook_rows(ops, ctx, layer_out + (size_t)l * nd, d, 0, x1, n, d);
        } else {
            text_attn(m, ops, ctx, w, e, t->keep, x2, ybuf);
            ops->add(ctx, x1, ybuf, nd);
            text_ff(m, ops, ctx, w, &e->sn_ff, &e->ff, x1, n, ybuf);
            ops->add(ctx, x2, ybuf, nd);
            if (layer_out) { /* reversible: cat(x1, x2) per row, (n, 2d) */
                hook_rows(ops, ctx, layer_out + (size_t)l * 2 * nd, 2 * d, 0, x1, n, d);
                hook_rows(ops, ctx, layer_out + (size_t)l * 2 * nd, 2 * d, d, x2, n, d);
            }
        }
    }
    if (m->enc_rev)
        ops->add(ctx, x1, x2, nd);
    ops->layer_norm(ctx, x1, t->embeds, n, d, WP(m->text_norm_g), WP(m->text_norm_b), LN_EPS, 1);
    /* cross-attention keys/values of every decoder layer */
    const int inner = m->dec_heads * m->dec_dh;
    for (int l = 0; l < m->dec_depth; l++)
        ops->linear(ctx, t->embeds, n, d, WP(m->dec[l].cross.kv), 2 * inner, NULL, t->kv + (size_t)l * n * 2 * inner);
}

/* ---- decoder --------------------------------------------------------------------------------- */

void nw_dec_inputs(const NwNuwa *m, const NwOps *ops, const NwCtx *ctx, const int32_t *win_ids, int p0, int n,
                   float *rows)
{
    const int d = m->dim;
    if (p0 == 0) {
        ops->copy(ctx, rows, WP(m->video_bos), sizeof(float) * d);
        rows += d;
        p0 = 1;
        n--;
    }
    if (n > 0)
        ops->embed(ctx, WP(m->image_emb), d, win_ids + (p0 - 1), n, WP(m->pos) + (size_t)(p0 - 1) * d, rows, 0);
}

/* Prenorm rows nrm (n, d) of rows p0.. -> shifted rows out (n, d), through the ring. */
static void shift_rows(const NwNuwa *m, const NwOps *ops, const NwCtx *ctx, const NwDecState *s, float *ring,
                       int p0, const float *nrm, int n, float *out)
{
    ring_write(ops, ctx, ring, s->shift_cap, m->dim, p0, nrm, n);
    ops->token_shift(ctx, ring, s->shift_cap, p0, n, m->dim, m->fmap, m->T, out);
}

/* The decoder runs `np` passes at once (1, or 2 for the conditional and unconditional passes of
 * guidance): their rows are stacked, pass k at rows [k*n, (k+1)*n), so every GEMM and
 * elementwise op runs once over np*n rows; only what reads a pass's own state (shift rings,
 * key/value rings, the text mask) runs per pass. The passes are at the same position p0. */
typedef struct Passes {
    int np;
    NwDecState *s[2];
    int uncond[2];
} Passes;

/* Self-attention (3DNA) sublayer, SandwichNorm included: x rows p0.. -> y. */
static void dec_attn(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const Passes *P, int li,
                     int p0, const float *x, int n, float *y)
{
    const NwDecLayer *l = &m->dec[li];
    const int d = m->dim, h = m->dec_heads, dh = m->dec_dh, inner = h * dh, N = P->np * n;
    const float *src = w->n1;
    ops->layer_norm(ctx, x, w->n1, N, d, WP(l->sn_attn.pre_g), WP(l->sn_attn.pre_b), LN_EPS, 0);
    if (m->shift) {
        for (int k = 0; k < P->np; k++) {
            const NwDecState *s = P->s[k];
            shift_rows(m, ops, ctx, s, s->shift + ((size_t)li * N_SHIFT + 0) * s->shift_cap * d, p0,
                       w->n1 + (size_t)k * n * d, n, w->t3 + (size_t)k * n * d);
        }
        src = w->t3;
    }
    ops->linear(ctx, src, N, d, WP(l->attn.q), inner, NULL, w->t1);
    ops->linear(ctx, src, N, d, WP(l->attn.kv), 2 * inner, NULL, w->t2);
    for (int k = 0; k < P->np; k++) {
        NwDecState *s = P->s[k];
        float *ring = s->kv + (size_t)li * s->kv_cap * 2 * inner, *bos = s->kv_bos + (size_t)li * 2 * inner;
        const float *kv = w->t2 + (size_t)k * n * 2 * inner, *q = w->t1 + (size_t)k * n * inner;
        float *o = w->t3 + (size_t)k * n * inner;
        /* keys/values into the ring: row p (>= 1) at (p - 1) % kv_cap, the bos row apart */
        int first = 0;
        if (p0 == 0) {
            ops->copy(ctx, bos, kv, sizeof(float) * 2 * inner);
            ops->copy(ctx, o, bos + inner, sizeof(float) * inner); /* bos attends only to itself */
            first = 1;
        }
        if (n > first) {
            const int t0 = p0 + first - 1;
            ring_write(ops, ctx, ring, s->kv_cap, 2 * inner, t0, kv + (size_t)first * 2 * inner, n - first);
            const NwDna g = {m->kernel[0], m->kernel[1], m->kernel[2], l->dil, m->fmap, m->T, s->kv_cap};
            NwCtx c2 = *ctx;
            c2.scratch = w->scratch;
            c2.scratch_len = w->scratch_len;
            ops->attn_3dna(&c2, &g, t0, q + (size_t)first * inner, inner, ring, ring + inner, 2 * inner, bos,
                           bos + inner, n - first, h, dh, WP(l->attn.rel_bias), WP(l->attn.th),
                           1.f / sqrtf((float)dh), o + (size_t)first * inner, inner);
        }
    }
    ops->linear(ctx, w->t3, N, inner, WP(l->attn.out), d, WP(l->attn.out_b), y);
    ops->layer_norm(ctx, y, y, N, d, WP(l->sn_attn.post_g), WP(l->sn_attn.post_b), LN_EPS, 0);
}

static void dec_cross(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwTextCtx *t,
                      const Passes *P, int li, const float *x, int n, float *y)
{
    const NwDecLayer *l = &m->dec[li];
    const int d = m->dim, h = m->dec_heads, dh = m->dec_dh, inner = h * dh, N = P->np * n;
    const float *kv = t->kv + (size_t)li * t->n * 2 * inner;
    ops->layer_norm(ctx, x, w->n1, N, d, WP(l->sn_cross.pre_g), WP(l->sn_cross.pre_b), LN_EPS, 0);
    ops->linear(ctx, w->n1, N, d, WP(l->cross.q), inner, NULL, w->t1);
    NwCtx c2 = *ctx;
    c2.scratch = w->scratch;
    c2.scratch_len = w->scratch_len;
    for (int k = 0; k < P->np; k++)
        ops->attn_null(&c2, w->t1 + (size_t)k * n * inner, inner, kv, 2 * inner, kv + inner, 2 * inner, n, t->n, h,
                       dh, WP(l->cross.null_k), WP(l->cross.null_v), P->uncond[k] ? t->keep_none : t->keep,
                       WP(l->cross.th), 1.f / sqrtf((float)dh), w->t3 + (size_t)k * n * inner, inner);
    ops->linear(ctx, w->t3, N, inner, WP(l->cross.out), d, NULL, y);
    ops->layer_norm(ctx, y, y, N, d, WP(l->sn_cross.post_g), WP(l->sn_cross.post_b), LN_EPS, 0);
}

static void dec_ff(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const Passes *P, int li,
                   int which, int p0, const float *x, int n, float *y)
{
    const NwDecLayer *l = &m->dec[li];
    const NwSandwich *sn = which ? &l->sn_ff2 : &l->sn_ff;
    const NwFFW *ff = which ? &l->ff2 : &l->ff;
    const int d = m->dim, f = m->ff_inner, N = P->np * n;
    const float *src = w->n1;
    ops->layer_norm(ctx, x, w->n1, N, d, WP(sn->pre_g), WP(sn->pre_b), LN_EPS, 0);
    if (m->shift) {
        for (int k = 0; k < P->np; k++) {
            const NwDecState *s = P->s[k];
            shift_rows(m, ops, ctx, s, s->shift + ((size_t)li * N_SHIFT + 1 + which) * s->shift_cap * d, p0,
                       w->n1 + (size_t)k * n * d, n, w->t1 + (size_t)k * n * d);
        }
        src = w->t1;
    }
    ops->linear(ctx, src, N, d, WP(ff->w0), 2 * f, NULL, w->u);
    ops->geglu(ctx, w->u, w->t3, N, f);
    ops->linear(ctx, w->t3, N, f, WP(ff->w3), d, NULL, y);
    ops->layer_norm(ctx, y, y, N, d, WP(sn->post_g), WP(sn->post_b), LN_EPS, 0);
}

/* x1 (and x2) already hold the np*n input rows. */
static int dec_layers(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwTextCtx *t,
                      const Passes *P, int n, float *out, float *const *logits, int last_only)
{
    const int d = m->dim, p0 = P->s[0]->rows, N = P->np * n;
    const size_t nd = (size_t)N * d;
    float *x1 = w->x1, *x2 = w->x2, *y = w->y;
    for (int li = 0; li < m->dec_depth; li++) {
        if (!m->dec_rev) {
            dec_attn(m, ops, ctx, w, P, li, p0, x1, n, y);
            ops->add(ctx, x1, y, nd);
            dec_cross(m, ops, ctx, w, t, P, li, x1, n, y);
            ops->add(ctx, x1, y, nd);
            dec_ff(m, ops, ctx, w, P, li, 0, p0, x1, n, y);
            ops->add(ctx, x1, y, nd);
            if (w->layer_out)
                hook_rows(ops, ctx, w->layer_out + (size_t)li * nd, d, 0, x1, N, d);
        } else {
            dec_attn(m, ops, ctx, w, P, li, p0, x2, n, y);
            ops->add(ctx, x1, y, nd);
            dec_ff(m, ops, ctx, w, P, li, 0, p0, x1, n, y);
            ops->add(ctx, x2, y, nd);
            dec_cross(m, ops, ctx, w, t, P, li, x2, n, y);
            ops->add(ctx, x1, y, nd);
            dec_ff(m, ops, ctx, w, P, li, 1, p0, x1, n, y);
            ops->add(ctx, x2, y, nd);
            if (w->layer_out) { /* cat(x1, x2) per row */
                hook_rows(ops, ctx, w->layer_out + (size_t)li * 2 * nd, 2 * d, 0, x1, N, d);
                hook_rows(ops, ctx, w->layer_out + (size_t)li * 2 * nd, 2 * d, d, x2, N, d);
            }
        }
    }
    if (m->dec_rev)
        ops->add(ctx, x1, x2, nd);
    ops->layer_norm(ctx, x1, y, N, d, WP(m->video_norm_g), WP(m->video_norm_b), LN_EPS, 1);
    if (out)
        ops->copy(ctx, out, y, sizeof(float) * nd);
    for (int k = 0; k < P->np; k++) {
        const float *yk = y + (size_t)k * n * d;
        if (!logits[k])
            continue;
        if (last_only)
            ops->linear(ctx, yk + (size_t)(n - 1) * d, 1, d, WP(m->to_logits), m->V, NULL, logits[k]);
        else
            ops->linear(ctx, yk, n, d, WP(m->to_logits), m->V, NULL, logits[k]);
    }
    for (int k = 0; k < P->np; k++)
        P->s[k]->rows += n;
    return 0;
}

static int block_fits(const NwNuwa *m, const NwTfWork *w, const NwDecState *s, int rows, int n)
{
    return n >= 1 && rows <= w->max_rows && n <= s->shift_cap - m->fmap && n <= s->kv_cap - 1;
}

int nw_dec_run(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwTextCtx *t,
               int uncond, NwDecState *s, const float *in, int n, float *out, float *logits, int last_only)
{
    const Passes P = {1, {s, NULL}, {uncond, 0}};
    float *const lg[1] = {logits};
    if (!block_fits(m, w, s, n, n))
        return NUWA_ERR_INVAL;
    ops->copy(ctx, w->x1, in, sizeof(float) * n * m->dim);
    if (m->dec_rev)
        ops->copy(ctx, w->x2, in, sizeof(float) * n * m->dim);
    return dec_layers(m, ops, ctx, w, t, &P, n, out, lg, last_only);
}

int nw_dec_run2(const NwNuwa *m, const NwOps *ops, NwCtx *ctx, NwTfWork *w, const NwTextCtx *t,
                NwDecState *sc, NwDecState *su, const float *in, int n, float *logits_c, float *logits_u)
{
    const Passes P = {2, {sc, su}, {0, 1}};
    float *const lg[2] = {logits_c, logits_u};
    const size_t nd = (size_t)n * m->dim;
    if (!block_fits(m, w, sc, 2 * n, n) || !block_fits(m, w, su, 2 * n, n) || sc->rows != su->rows)
        return NUWA_ERR_INVAL;
    for (int k = 0; k < 2; k++) {
        ops->copy(ctx, w->x1 + k * nd, in, sizeof(float) * nd);
        if (m->dec_rev)
            ops->copy(ctx, w->x2 + k * nd, in, sizeof(float) * nd);
    }
    return dec_layers(m, ops, ctx, w, t, &P, n, NULL, lg, 1);
}
