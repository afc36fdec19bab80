/*
 * vqgan.c — VQGanVAE inference (MODEL.md §1).
 *
 * Loading walks the reference's layer plan twice: the first walk checks that every tensor the
 * hyperparameters imply exists with exactly the implied shape and counts floats, the second
 * converts the weights (F32/F16/BF16) into one owned float32 blob and precomputes what is
 * constant at inference (exp of the attention scales, the continuous position bias tables,
 * squared code norms). The passes then only call NwOps.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "vqgan.h"

#define LN_EPS 1e-5f
#define GN_EPS 1e-5f

static void ld_conv(NwLoader *L, NwVaeConv *cv, int cin, int cout, int k, int stride, int pad,
                    int bias, const char *prefix)
{
    cv->cin = cin;
    cv->cout = cout;
    cv->k = k;
    cv->stride = stride;
    cv->pad = pad;
    cv->w = nw_ld_tensor(L, 4, cout, cin, k, k, "%s.weight", prefix);
    cv->b = bias ? nw_ld_tensor(L, 1, cout, 1, 1, 1, "%s.bias", prefix) : 0;
}

/* Continuous position bias of an s x s map (MODEL.md §1.2 step 4), expanded to (h, n, n). */
static void cpb_table(const NwVae *v, const float *w1, const float *b1, const float *w2,
                      const float *b2, const float *w3, const float *b3, int c4, int s, float *tmp,
                      float *bias)
{
    const int h = v->attn_heads, span = 2 * s - 1, n = s * s;
    float *per = tmp;                  /* (span*span, h) */
    float *h1 = per + (size_t)span * span * h, *h2 = h1 + c4;
    for (int dr = -(s - 1); dr <= s - 1; dr++) {
        for (int dc = -(s - 1); dc <= s - 1; dc++) {
            /* u = sign(delta) * log(|delta| + 1), computed in float like the reference */
            const float u[2] = {(float)((dr > 0) - (dr < 0)) * logf((float)abs(dr) + 1.f),
                                (float)((dc > 0) - (dc < 0)) * logf((float)abs(dc) + 1.f)};
            for (int o = 0; o < c4; o++) {
                float a = (float)((double)w1[o * 2] * u[0] + (double)w1[o * 2 + 1] * u[1]) + b1[o];
                h1[o] = a < 0.f ? a * NW_LRELU_SLOPE : a;
            }
            for (int o = 0; o < c4; o++) {
                double acc = 0;
                for (int i = 0; i < c4; i++)
                    acc += (double)w2[(size_t)o * c4 + i] * h1[i];
                const float a = (float)acc + b2[o];
                h2[o] = a < 0.f ? a * NW_LRELU_SLOPE : a;
            }
            float *dst = per + ((size_t)(dr + s - 1) * span + (dc + s - 1)) * h;
            for (int o = 0; o < h; o++) {
                double acc = 0;
                for (int i = 0; i < c4; i++)
                    acc += (double)w3[(size_t)o * c4 + i] * h2[i];
                dst[o] = (float)acc + b3[o];
            }
        }
    }
    for (int hd = 0; hd < h; hd++)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                const int dr = i / s - j / s, dc = i % s - j % s;
                bias[((size_t)hd * n + i) * n + j] =
                    per[((size_t)(dr + s - 1) * span + (dc + s - 1)) * h + hd];
            }
}

static void ld_attn(NwLoader *L, NwVae *v, NwVaeModule *m, const char *p)
{
    const int C = m->c, h = v->attn_heads, inner = h * v->attn_dim_head, c4 = C / 4;
    const int s = m->size, n = s * s;
    const NwW scale = nw_ld_tensor(L, 4, 1, h, 1, 1, "%s.scale", p);
    m->ln_g = nw_ld_tensor(L, 4, 1, C, 1, 1, "%s.post_norm.g", p);
    m->ln_b = nw_ld_tensor(L, 4, 1, C, 1, 1, "%s.post_norm.b", p);
    const NwW w1 = nw_ld_tensor(L, 2, c4, 2, 1, 1, "%s.cpb.net.0.0.weight", p);
    const NwW b1 = nw_ld_tensor(L, 1, c4, 1, 1, 1, "%s.cpb.net.0.0.bias", p);
    const NwW w2 = nw_ld_tensor(L, 2, c4, c4, 1, 1, "%s.cpb.net.1.0.weight", p);
    const NwW b2 = nw_ld_tensor(L, 1, c4, 1, 1, 1, "%s.cpb.net.1.0.bias", p);
    const NwW w3 = nw_ld_tensor(L, 2, h, c4, 1, 1, "%s.cpb.net.2.weight", p);
    const NwW b3 = nw_ld_tensor(L, 1, h, 1, 1, 1, "%s.cpb.net.2.bias", p);
    char name[256];
    snprintf(name, sizeof(name), "%s.to_qkv", p);
    ld_conv(L, &m->conv[0], C, 3 * inner, 1, 1, 0, 0, name);
    m->conv[1].cin = inner;
    m->conv[1].cout = C;
    m->conv[1].k = 1;
    m->conv[1].stride = 1;
    m->conv[1].pad = 0;
    m->conv[1].w = nw_ld_tensor(L, 4, C, inner, 1, 1, "%s.to_out.weight", p);
    m->conv[1].b = nw_ld_tensor(L, 1, C, 1, 1, 1, "%s.to_out.bias", p);
    m->scale = nw_ld_table(L, h);
    m->bias = nw_ld_table(L, (size_t)h * n * n);
    const size_t tmp_n = (size_t)(2 * s - 1) * (2 * s - 1) * h + 2 * (size_t)c4;
    const NwW tmp = nw_ld_table(L, tmp_n); /* blob space reused by nothing else; small */
    float *sc = nw_ld_ptr(L, m->scale);
    if (sc) {
        const float *s0 = nw_ld_ptr(L, scale);
        for (int i = 0; i < h; i++)
            sc[i] = expf(s0[i]);
        cpb_table(v, nw_ld_ptr(L, w1), nw_ld_ptr(L, b1), nw_ld_ptr(L, w2), nw_ld_ptr(L, b2), nw_ld_ptr(L, w3),
                  nw_ld_ptr(L, b3), c4, s, nw_ld_ptr(L, tmp), nw_ld_ptr(L, m->bias));
    }
}

static int read_hparams(NwVae *v, const NwGguf *g, const NwLog *log)
{
    char err[256] = "";
    uint32_t u[NW_VAE_MAX_LAYERS];
    const char *arch;

#define GET_U32(key, dst)                                                       \
    do {                                                                        \
        if (nw_hp_u32(g, key, 0, 1u << 20, &(dst), err, sizeof(err)) < 0)       \
            goto fail;                                                          \
    } while (0)

    if (nw_gguf_get_str(g, "general.architecture", &arch, err, sizeof(err)) < 0)
        goto fail;
    if (strcmp(arch, "nuwa")) {
        snprintf(err, sizeof(err), "general.architecture is '%.64s', expected 'nuwa'", arch);
        goto fail;
    }
    GET_U32("nuwa.vae.image_size", v->image_size);
    GET_U32("nuwa.vae.channels", v->channels);
    GET_U32("nuwa.vae.dim", v->dim);
    GET_U32("nuwa.vae.num_layers", v->num_layers);
    GET_U32("nuwa.vae.attn_heads", v->attn_heads);
    GET_U32("nuwa.vae.attn_dim_head", v->attn_dim_head);
    GET_U32("nuwa.vae.resnet_groups", v->resnet_groups);
    GET_U32("nuwa.vae.first_conv_kernel_size", v->first_conv_kernel_size);
    GET_U32("nuwa.vae.codebook_size", v->codebook_size);
    GET_U32("nuwa.vae.codebook_dim", v->codebook_dim);
    if (nw_hp_bool(g, "nuwa.vae.use_cosine_sim", &v->use_cosine_sim, err, sizeof(err)) < 0)
        goto fail;
#undef GET_U32

    if (v->num_layers < 1 || v->num_layers > NW_VAE_MAX_LAYERS - 1) {
        snprintf(err, sizeof(err), "nuwa.vae.num_layers = %d must be in 1..%d", v->num_layers,
                 NW_VAE_MAX_LAYERS - 1);
        goto fail;
    }
    const int L = v->num_layers;
    if (nw_gguf_get_u32_array(g, "nuwa.vae.layer_mults", u, L, err, sizeof(err)) < 0)
        goto fail;
    for (int i = 0; i < L; i++)
        v->layer_mults[i] = (int)u[i];
    if (nw_gguf_get_u32_array(g, "nuwa.vae.num_resnet_blocks", u, L, err, sizeof(err)) < 0)
        goto fail;
    for (int i = 0; i < L; i++)
        v->num_resnet_blocks[i] = (int)u[i];
    if (nw_gguf_get_u32_array(g, "nuwa.vae.use_attn", u, L, err, sizeof(err)) < 0)
        goto fail;
    for (int i = 0; i < L; i++)
        v->use_attn[i] = u[i] != 0;

    if (v->image_size < 1 || v->image_size > 4096) {
        snprintf(err, sizeof(err), "nuwa.vae.image_size = %d must be in 1..4096", v->image_size);
        goto fail;
    }
    if (v->image_size % (1 << L)) {
        snprintf(err, sizeof(err), "nuwa.vae.image_size = %d is not divisible by 2^num_layers = %d",
                 v->image_size, 1 << L);
        goto fail;
    }
    if (v->channels < 1 || v->channels > 16) {
        snprintf(err, sizeof(err), "nuwa.vae.channels = %d must be in 1..16", v->channels);
        goto fail;
    }
    if (v->dim < 1 || v->resnet_groups < 1 || v->dim % v->resnet_groups) {
        snprintf(err, sizeof(err), "nuwa.vae.dim = %d must be a positive multiple of resnet_groups = %d",
                 v->dim, v->resnet_groups);
        goto fail;
    }
    if (v->first_conv_kernel_size < 1 || !(v->first_conv_kernel_size & 1)) {
        snprintf(err, sizeof(err), "nuwa.vae.first_conv_kernel_size = %d must be odd",
                 v->first_conv_kernel_size);
        goto fail;
    }
    for (int i = 0; i < L; i++) {
        if (v->layer_mults[i] < 1 || v->layer_mults[i] > 64 || v->num_resnet_blocks[i] > 64) {
            snprintf(err, sizeof(err), "nuwa.vae stage %d: layer_mult %d / num_resnet_blocks %d out of range",
                     i, v->layer_mults[i], v->num_resnet_blocks[i]);
            goto fail;
        }
        if (v->use_attn[i] && v->dim * v->layer_mults[i] < 4) {
            snprintf(err, sizeof(err), "nuwa.vae stage %d: attention needs at least 4 channels", i);
            goto fail;
        }
    }
    if ((v->attn_heads < 1 || v->attn_dim_head < 1) ) {
        snprintf(err, sizeof(err), "nuwa.vae.attn_heads/attn_dim_head must be positive");
        goto fail;
    }
    if (v->codebook_size < 1 || v->codebook_dim < 1) {
        snprintf(err, sizeof(err), "nuwa.vae.codebook_size/codebook_dim must be positive");
        goto fail;
    }
    v->feature_dim = v->dim * v->layer_mults[L - 1];
    v->fmap_size = v->image_size >> L;
    v->has_proj = v->codebook_dim != v->feature_dim;
    return 0;
fail:
    nw_log(log, NUWA_LOG_ERROR, "model: %s\n", err);
    return NUWA_ERR_BAD_MODEL;
}

/* One walk over the layer plan (counting when L->blob is NULL). */
void nw_vae_walk(NwVae *v, NwLoader *L)
{
    const int nl = v->num_layers;
    int dims[NW_VAE_MAX_LAYERS + 1];
    int e = 0, d = 0;
    char p[128];

    dims[0] = v->dim;
    for (int i = 0; i < nl; i++)
        dims[i + 1] = v->dim * v->layer_mults[i];

    /* encoder */
    NwVaeModule *m = &v->enc[e];
    m->kind = NW_VAE_CONV;
    m->c = v->channels;
    m->size = v->image_size;
    snprintf(p, sizeof(p), "vae.encoders.%d", e++);
    ld_conv(L, &m->conv[0], v->channels, v->dim, v->first_conv_kernel_size, 1,
            v->first_conv_kernel_size / 2, 1, p);
    for (int i = 0; i < nl; i++) {
        const int cin = dims[i], cout = dims[i + 1], s = v->image_size >> (i + 1);
        m = &v->enc[e];
        m->kind = NW_VAE_DOWN;
        m->c = cin;
        m->size = s * 2;
        snprintf(p, sizeof(p), "vae.encoders.%d.0", e++);
        ld_conv(L, &m->conv[0], cin, cout, 4, 2, 1, 1, p);
        for (int r = 0; r < v->num_resnet_blocks[i]; r++) {
            m = &v->enc[e];
            m->kind = NW_VAE_RES;
            m->c = cout;
            m->size = s;
            snprintf(p, sizeof(p), "vae.encoders.%d.net.0", e);
            ld_conv(L, &m->conv[0], cout, cout, 3, 1, 1, 1, p);
            snprintf(p, sizeof(p), "vae.encoders.%d.net.3", e);
            ld_conv(L, &m->conv[1], cout, cout, 3, 1, 1, 1, p);
            snprintf(p, sizeof(p), "vae.encoders.%d.net.6", e);
            ld_conv(L, &m->conv[2], cout, cout, 1, 1, 0, 1, p);
            m->gn_g[0] = nw_ld_tensor(L, 1, cout, 1, 1, 1, "vae.encoders.%d.net.1.weight", e);
            m->gn_b[0] = nw_ld_tensor(L, 1, cout, 1, 1, 1, "vae.encoders.%d.net.1.bias", e);
            m->gn_g[1] = nw_ld_tensor(L, 1, cout, 1, 1, 1, "vae.encoders.%d.net.4.weight", e);
            m->gn_b[1] = nw_ld_tensor(L, 1, cout, 1, 1, 1, "vae.encoders.%d.net.4.bias", e);
            e++;
        }
        if (v->use_attn[i]) {
            m = &v->enc[e];
            m->kind = NW_VAE_ATTN;
            m->c = cout;
            m->size = s;
            snprintf(p, sizeof(p), "vae.encoders.%d", e++);
            ld_attn(L, v, m, p);
        }
    }
    /* decoder: stages from the deepest up */
    for (int i = nl - 1; i >= 0; i--) {
        const int cin = dims[i], cout = dims[i + 1], s = v->image_size >> (i + 1);
        for (int r = 0; r < v->num_resnet_blocks[i]; r++) {
            m = &v->dec[d];
            m->kind = NW_VAE_GLURES;
            m->c = cout;
            m->size = s;
            snprintf(p, sizeof(p), "vae.decoders.%d.net.0", d);
            ld_conv(L, &m->conv[0], cout, 2 * cout, 3, 1, 1, 1, p);
            snprintf(p, sizeof(p), "vae.decoders.%d.net.3", d);
            ld_conv(L, &m->conv[1], cout, 2 * cout, 3, 1, 1, 1, p);
            snprintf(p, sizeof(p), "vae.decoders.%d.net.6", d);
            ld_conv(L, &m->conv[2], cout, cout, 1, 1, 0, 1, p);
            m->gn_g[0] = nw_ld_tensor(L, 1, cout, 1, 1, 1, "vae.decoders.%d.net.2.weight", d);
            m->gn_b[0] = nw_ld_tensor(L, 1, cout, 1, 1, 1, "vae.decoders.%d.net.2.bias", d);
            m->gn_g[1] = nw_ld_tensor(L, 1, cout, 1, 1, 1, "vae.decoders.%d.net.5.weight", d);
            m->gn_b[1] = nw_ld_tensor(L, 1, cout, 1, 1, 1, "vae.decoders.%d.net.5.bias", d);
            d++;
        }
        if (v->use_attn[i]) {
            m = &v->dec[d];
            m->kind = NW_VAE_ATTN;
            m->c = cout;
            m->size = s;
            snprintf(p, sizeof(p), "vae.decoders.%d", d++);
            ld_attn(L, v, m, p);
        }
        m = &v->dec[d];
        m->kind = NW_VAE_UP;
        m->c = cout;
        m->size = s;
        snprintf(p, sizeof(p), "vae.decoders.%d.1", d++);
        ld_conv(L, &m->conv[0], cout, cin, 3, 1, 1, 1, p);
    }
    m = &v->dec[d];
    m->kind = NW_VAE_CONV;
    m->c = v->dim;
    m->size = v->image_size;
    snprintf(p, sizeof(p), "vae.decoders.%d", d++);
    ld_conv(L, &m->conv[0], v->dim, v->channels, 1, 1, 0, 1, p);

    /* vector quantiser */
    const int K = v->codebook_size, cd = v->codebook_dim, cz = v->feature_dim;
    if (v->has_proj) {
        v->proj_in_w = nw_ld_tensor(L, 2, cd, cz, 1, 1, "vae.vq.project_in.weight");
        v->proj_in_b = nw_ld_tensor(L, 1, cd, 1, 1, 1, "vae.vq.project_in.bias");
        v->proj_out_w = nw_ld_tensor(L, 2, cz, cd, 1, 1, "vae.vq.project_out.weight");
        v->proj_out_b = nw_ld_tensor(L, 1, cz, 1, 1, 1, "vae.vq.project_out.bias");
    }
    const NwGgufTensor *t = L->g ? nw_gguf_find_tensor(L->g, "vae.vq._codebook.embed") : NULL;
    if (t && t->n_dims == 3 && t->shape[0] == 1)
        v->codebook = nw_ld_tensor(L, 3, 1, K, cd, 1, "vae.vq._codebook.embed");
    else
        v->codebook = nw_ld_tensor(L, 2, K, cd, 1, 1, "vae.vq._codebook.embed");
    v->code_sqnorm = nw_ld_table(L, K);
}

static size_t module_max_act(const NwVae *v, const NwVaeModule *m)
{
    const size_t hw = (size_t)m->size * m->size;
    size_t mx = m->c * hw;
    switch (m->kind) {
    case NW_VAE_CONV:
        mx = NW_MAX(mx, (size_t)m->conv[0].cout * hw);
        break;
    case NW_VAE_GLURES:
        mx = NW_MAX(mx, 2 * m->c * hw);
        break;
    case NW_VAE_ATTN:
        mx = NW_MAX(mx, (size_t)3 * v->attn_heads * v->attn_dim_head * hw);
        break;
    case NW_VAE_UP:
        mx = NW_MAX(mx, (size_t)NW_MAX(m->c, m->conv[0].cout) * 4 * hw);
        break;
    default:
        break;
    }
    return mx;
}

static void count_modules(NwVae *v)
{
    v->n_enc = 1;
    v->n_dec = 1;
    for (int i = 0; i < v->num_layers; i++) {
        v->n_enc += 1 + v->num_resnet_blocks[i] + v->use_attn[i];
        v->n_dec += 1 + v->num_resnet_blocks[i] + v->use_attn[i];
    }
}

int nw_vae_describe(const NwVae *hp, NwVaeTensorFn fn, void *opaque)
{
    NwVae v = *hp;
    NwLoader L;
    nw_loader_init(&L, NULL, NULL, fn, opaque);
    v.feature_dim = v.dim * v.layer_mults[v.num_layers - 1];
    v.fmap_size = v.image_size >> v.num_layers;
    v.has_proj = v.codebook_dim != v.feature_dim;
    count_modules(&v);
    v.enc = nw_calloc(v.n_enc, sizeof(*v.enc));
    v.dec = nw_calloc(v.n_dec, sizeof(*v.dec));
    if (!v.enc || !v.dec) {
        nw_free(v.enc);
        nw_free(v.dec);
        return NUWA_ERR_NOMEM;
    }
    nw_vae_walk(&v, &L);
    nw_free(v.enc);
    nw_free(v.dec);
    return 0;
}

int nw_vae_write_hparams(const NwVae *v, NwGgufWriter *w)
{
    uint32_t mult[NW_VAE_MAX_LAYERS], res[NW_VAE_MAX_LAYERS];
    int attn[NW_VAE_MAX_LAYERS];
    int r = 0;
    for (int i = 0; i < v->num_layers; i++) {
        mult[i] = (uint32_t)v->layer_mults[i];
        res[i] = (uint32_t)v->num_resnet_blocks[i];
        attn[i] = v->use_attn[i];
    }
    r |= nw_gguf_writer_add_str(w, "general.architecture", "nuwa");
    r |= nw_gguf_writer_add_u32(w, "nuwa.vae.image_size", (uint32_t)v->image_size);
    r |= nw_gguf_writer_add_u32(w, "nuwa.vae.channels", (uint32_t)v->channels);
    r |= nw_gguf_writer_add_u32(w, "nuwa.vae.dim", (uint32_t)v->dim);
    r |= nw_gguf_writer_add_u32(w, "nuwa.vae.num_layers", (uint32_t)v->num_layers);
    r |= nw_gguf_writer_add_u32_array(w, "nuwa.vae.layer_mults", mult, (uint64_t)v->num_layers);
    r |= nw_gguf_writer_add_u32_array(w, "nuwa.vae.num_resnet_blocks", res, (uint64_t)v->num_layers);
    r |= nw_gguf_writer_add_bool_array(w, "nuwa.vae.use_attn", attn, (uint64_t)v->num_layers);
    r |= nw_gguf_writer_add_u32(w, "nuwa.vae.attn_heads", (uint32_t)v->attn_heads);
    r |= nw_gguf_writer_add_u32(w, "nuwa.vae.attn_dim_head", (uint32_t)v->attn_dim_head);
    r |= nw_gguf_writer_add_u32(w, "nuwa.vae.resnet_groups", (uint32_t)v->resnet_groups);
    r |= nw_gguf_writer_add_u32(w, "nuwa.vae.first_conv_kernel_size", (uint32_t)v->first_conv_kernel_size);
    r |= nw_gguf_writer_add_u32(w, "nuwa.vae.codebook_size", (uint32_t)v->codebook_size);
    r |= nw_gguf_writer_add_u32(w, "nuwa.vae.codebook_dim", (uint32_t)v->codebook_dim);
    r |= nw_gguf_writer_add_bool(w, "nuwa.vae.use_cosine_sim", v->use_cosine_sim);
    return r ? NUWA_ERR_NOMEM : 0;
}

int nw_vae_hparams(NwVae *v, const NwGguf *g, const NwLog *log)
{
    int ret;
    memset(v, 0, sizeof(*v));
    if ((ret = read_hparams(v, g, log)) < 0)
        return ret;
    count_modules(v);
    v->enc = nw_calloc(v->n_enc, sizeof(*v->enc));
    v->dec = nw_calloc(v->n_dec, sizeof(*v->dec));
    if (!v->enc || !v->dec) {
        nw_vae_free(v);
        return NUWA_ERR_NOMEM;
    }
    return 0;
}

void nw_vae_finish(NwVae *v, const NwLoader *L)
{
    const int K = v->codebook_size, cd = v->codebook_dim;
    const float *cb = nw_ld_ptr(L, v->codebook);
    float *sq = nw_ld_ptr(L, v->code_sqnorm);
    int bad = 0;
    if (!cb || !sq)
        return;
    for (int k = 0; k < K; k++) {
        double s = 0;
        for (int c = 0; c < cd; c++)
            s += (double)cb[(size_t)k * cd + c] * cb[(size_t)k * cd + c];
        sq[k] = (float)s;
        bad += v->use_cosine_sim && fabs(sqrt(s) - 1.0) > 1e-3;
    }
    if (bad)
        nw_log(L->log, NUWA_LOG_WARNING,
               "model: %d of %d codes of the cosine codebook are not unit-norm; tokens may differ "
               "from a model trained with this codebook\n", bad, K);

    v->max_act = (size_t)v->channels * v->image_size * v->image_size;
    for (int i = 0; i < v->n_enc; i++)
        v->max_act = NW_MAX(v->max_act, module_max_act(v, &v->enc[i]));
    for (int i = 0; i < v->n_dec; i++)
        v->max_act = NW_MAX(v->max_act, module_max_act(v, &v->dec[i]));
    const size_t T = (size_t)v->fmap_size * v->fmap_size;
    v->max_act = NW_MAX(v->max_act, (size_t)NW_MAX(cd, v->feature_dim) * T);
}

int nw_vae_load(NwVae *v, const NwGguf *g, const NwLog *log)
{
    NwLoader L;
    int ret;
    if ((ret = nw_vae_hparams(v, g, log)) < 0)
        return ret;
    nw_loader_init(&L, g, log, NULL, NULL);
    nw_vae_walk(v, &L); /* validate + count */
    if (!L.err && nw_loader_alloc(&L) == 0) {
        nw_loader_rewind(&L);
        nw_vae_walk(v, &L); /* convert */
    }
    if (L.err) {
        nw_free(L.blob);
        nw_vae_free(v);
        return L.err;
    }
    nw_vae_finish(v, &L);
    v->own = L.blob;
    v->own_floats = L.used;
    v->w = L.blob;
    return 0;
}

void nw_vae_free(NwVae *v)
{
    if (!v)
        return;
    nw_free(v->enc);
    nw_free(v->dec);
    nw_free(v->own);
    memset(v, 0, sizeof(*v));
}

static size_t module_scratch(const NwVae *v, const NwOps *ops, const NwVaeModule *m, int nt)
{
    size_t mx = 0;
    const int s = m->size;
    for (int i = 0; i < 3; i++) {
        const NwVaeConv *cv = &m->conv[i];
        if (!cv->w)
            continue;
        int in_size = s;
        if (m->kind == NW_VAE_UP)
            in_size = 2 * s;
        if (m->kind == NW_VAE_GLURES && i == 1)
            in_size = s;
        const NwConv2d d = {cv->cin, in_size, in_size, cv->cout, cv->k, cv->k, cv->stride, cv->pad, 0};
        mx = NW_MAX(mx, ops->conv2d_scratch(&d, nt));
    }
    if (m->kind == NW_VAE_ATTN)
        mx = NW_MAX(mx, ops->vqgan_attn_scratch(v->attn_heads, v->attn_dim_head, s * s, nt));
    return mx;
}

size_t nw_vae_scratch_floats(const NwVae *v, const NwOps *ops, int n_threads)
{
    const int T = v->fmap_size * v->fmap_size;
    size_t mx = ops->vq_assign_scratch(v->codebook_dim, T, v->codebook_size, n_threads);
    for (int i = 0; i < v->n_enc; i++)
        mx = NW_MAX(mx, module_scratch(v, ops, &v->enc[i], n_threads));
    for (int i = 0; i < v->n_dec; i++)
        mx = NW_MAX(mx, module_scratch(v, ops, &v->dec[i], n_threads));
    return mx;
}

#define WP(x) nw_wp(v->w, (x))

int nw_vae_bufs_alloc(NwVaeBufs *b, const NwVae *v, const NwOps *ops, const NwCtx *ctx)
{
    const size_t img = (size_t)v->channels * v->image_size * v->image_size;
    const size_t T = (size_t)v->fmap_size * v->fmap_size;
    memset(b, 0, sizeof(*b));
    b->x = ops->mem_alloc(ctx, v->max_act * sizeof(float));
    b->t1 = ops->mem_alloc(ctx, v->max_act * sizeof(float));
    b->t2 = ops->mem_alloc(ctx, v->max_act * sizeof(float));
    b->img = ops->mem_alloc(ctx, img * sizeof(float));
    b->tok = ops->mem_alloc(ctx, T * sizeof(int32_t));
    if (!b->x || !b->t1 || !b->t2 || !b->img || !b->tok) {
        nw_vae_bufs_free(b, ops, ctx);
        return NUWA_ERR_NOMEM;
    }
    return 0;
}

void nw_vae_bufs_free(NwVaeBufs *b, const NwOps *ops, const NwCtx *ctx)
{
    if (ops) {
        ops->mem_free(ctx, b->x);
        ops->mem_free(ctx, b->t1);
        ops->mem_free(ctx, b->t2);
        ops->mem_free(ctx, b->img);
        ops->mem_free(ctx, b->tok);
    }
    memset(b, 0, sizeof(*b));
}

static void conv(const NwVae *v, const NwOps *ops, const NwCtx *ctx, const NwVaeConv *cv, int size,
                 const float *in, float *out, int act)
{
    const NwConv2d d = {cv->cin, size, size, cv->cout, cv->k, cv->k, cv->stride, cv->pad, act};
    ops->conv2d(ctx, &d, in, WP(cv->w), WP(cv->b), out);
}

/* Runs one module on buf[0] (its input); the output is left in buf[0] (buffers may rotate).
 * Returns the output channel count. */
static int run_module(const NwVae *v, const NwOps *ops, const NwCtx *ctx, const NwVaeModule *m,
                      float *buf[3])
{
    const int C = m->c, s = m->size;
    const size_t hw = (size_t)s * s;
    float *x = buf[0], *t1 = buf[1], *t2 = buf[2];
    switch (m->kind) {
    case NW_VAE_DOWN:
        conv(v, ops, ctx, &m->conv[0], s, x, t1, NW_ACT_LRELU);
        buf[0] = t1;
        buf[1] = x;
        return m->conv[0].cout;
    case NW_VAE_RES:
        conv(v, ops, ctx, &m->conv[0], s, x, t1, NW_ACT_NONE);
        ops->group_norm(ctx, t1, t1, C, (int)hw, v->resnet_groups, WP(m->gn_g[0]), WP(m->gn_b[0]), GN_EPS, NW_ACT_LRELU);
        conv(v, ops, ctx, &m->conv[1], s, t1, t2, NW_ACT_NONE);
        ops->group_norm(ctx, t2, t2, C, (int)hw, v->resnet_groups, WP(m->gn_g[1]), WP(m->gn_b[1]), GN_EPS, NW_ACT_LRELU);
        conv(v, ops, ctx, &m->conv[2], s, t2, t1, NW_ACT_NONE);
        ops->add(ctx, x, t1, (size_t)C * hw);
        return C;
    case NW_VAE_GLURES:
        conv(v, ops, ctx, &m->conv[0], s, x, t1, NW_ACT_NONE);
        ops->glu(ctx, t1, t2, C, (int)hw);
        ops->group_norm(ctx, t2, t2, C, (int)hw, v->resnet_groups, WP(m->gn_g[0]), WP(m->gn_b[0]), GN_EPS, NW_ACT_NONE);
        conv(v, ops, ctx, &m->conv[1], s, t2, t1, NW_ACT_NONE);
        ops->glu(ctx, t1, t2, C, (int)hw);
        ops->group_norm(ctx, t2, t2, C, (int)hw, v->resnet_groups, WP(m->gn_g[1]), WP(m->gn_b[1]), GN_EPS, NW_ACT_NONE);
        conv(v, ops, ctx, &m->conv[2], s, t2, t1, NW_ACT_NONE);
        ops->add(ctx, x, t1, (size_t)C * hw);
        return C;
    case NW_VAE_ATTN:
        conv(v, ops, ctx, &m->conv[0], s, x, t1, NW_ACT_NONE);
        ops->vqgan_attn(ctx, t1, t2, v->attn_heads, v->attn_dim_head, (int)hw, WP(m->scale), WP(m->bias));
        conv(v, ops, ctx, &m->conv[1], s, t2, t1, NW_ACT_NONE);
        ops->layer_norm_chan(ctx, t1, x, C, (int)hw, WP(m->ln_g), WP(m->ln_b), LN_EPS, x);
        return C;
    case NW_VAE_UP:
        ops->upsample2x(ctx, x, t1, C, s, s);
        conv(v, ops, ctx, &m->conv[0], 2 * s, t1, x, NW_ACT_LRELU);
        return m->conv[0].cout;
    default:
        return C;
    }
}

static int out_size(const NwVaeModule *m)
{
    switch (m->kind) {
    case NW_VAE_DOWN: return m->size / 2;
    case NW_VAE_UP: return m->size * 2;
    default: return m->size;
    }
}

/* Test hooks see host memory: the tensor is downloaded for them (never on the product path). */
static void call_hook(const NwOps *ops, const NwCtx *ctx, NwVaeHook hook, void *opaque, int stage, int index,
                      const float *x, int c, int h, int w)
{
    const size_t n = (size_t)c * h * w;
    float *tmp = nw_alloc(n * sizeof(float));
    if (!tmp)
        return;
    ops->download(ctx, tmp, x, n * sizeof(float));
    hook(opaque, stage, index, tmp, c, h, w);
    nw_free(tmp);
}

void nw_vae_encode_image(const NwVae *v, const NwOps *ops, const NwCtx *ctx, NwVaeBufs *b,
                         const float *img, int32_t *tokens, float *margin, NwVaeHook hook,
                         void *opaque)
{
    float *buf[3] = {b->x, b->t1, b->t2};
    const int T = v->fmap_size * v->fmap_size;
    int c;
    conv(v, ops, ctx, &v->enc[0].conv[0], v->image_size, img, buf[0], NW_ACT_NONE);
    c = v->dim;
    if (hook)
        call_hook(ops, ctx, hook, opaque, NW_STAGE_ENC, 0, buf[0], c, v->image_size, v->image_size);
    for (int i = 1; i < v->n_enc; i++) {
        c = run_module(v, ops, ctx, &v->enc[i], buf);
        if (hook)
            call_hook(ops, ctx, hook, opaque, NW_STAGE_ENC, i, buf[0], c, out_size(&v->enc[i]), out_size(&v->enc[i]));
    }
    float *z = buf[0], *t = buf[1];
    if (v->has_proj)
        ops->matmul(ctx, v->codebook_dim, T, v->feature_dim, WP(v->proj_in_w), v->feature_dim, 0, z, T, 0,
                    WP(v->proj_in_b), t, T);
    else
        ops->copy(ctx, t, z, sizeof(float) * (size_t)v->feature_dim * T);
    ops->vq_assign(ctx, t, v->codebook_dim, T, WP(v->codebook), v->codebook_size, WP(v->code_sqnorm),
                   v->use_cosine_sim, tokens, margin);
}

void nw_vae_decode_image(const NwVae *v, const NwOps *ops, const NwCtx *ctx, NwVaeBufs *b,
                         const int32_t *tokens, float *img, NwVaeHook hook, void *opaque)
{
    float *buf[3] = {b->x, b->t1, b->t2};
    const int T = v->fmap_size * v->fmap_size, cd = v->codebook_dim;
    float *q = buf[1];
    ops->embed(ctx, WP(v->codebook), cd, tokens, T, NULL, q, 1); /* (cd, T) */
    if (v->has_proj)
        ops->matmul(ctx, v->feature_dim, T, cd, WP(v->proj_out_w), cd, 0, q, T, 0, WP(v->proj_out_b),
                    buf[0], T);
    else
        ops->copy(ctx, buf[0], q, sizeof(float) * (size_t)cd * T);
    if (hook)
        call_hook(ops, ctx, hook, opaque, NW_STAGE_QUANT, 0, buf[0], v->feature_dim, v->fmap_size, v->fmap_size);
    for (int i = 0; i < v->n_dec - 1; i++) {
        const int c = run_module(v, ops, ctx, &v->dec[i], buf);
        if (hook)
            call_hook(ops, ctx, hook, opaque, NW_STAGE_DEC, i, buf[0], c, out_size(&v->dec[i]), out_size(&v->dec[i]));
    }
    conv(v, ops, ctx, &v->dec[v->n_dec - 1].conv[0], v->image_size, buf[0], img, NW_ACT_NONE);
    if (hook)
        call_hook(ops, ctx, hook, opaque, NW_STAGE_DEC, v->n_dec - 1, img, v->channels, v->image_size, v->image_size);
}
