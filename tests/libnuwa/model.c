/*
 * tests/libnuwa/model.c — nuwa_model_load on good and bad model files: every required tensor
 * and hyperparameter is checked (error code and a distinctive piece of the logged message),
 * the alternative codebook layout and half-precision weight files are accepted and give the
 * expected results, and files that are not models at all are rejected.
 * Small random models (tests/support/testutil.c) are written to temporary files.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "nuwa.h"
#include "testutil.h"
#include "vqgan.h"

/* ---- log capture ---------------------------------------------------------------------- */

typedef struct LogBuf {
    char text[16384];
    size_t len;
    int n_error, n_warning;
} LogBuf;

static void log_to_buf(void *opaque, int level, const char *fmt, va_list ap)
{
    LogBuf *lb = opaque;
    if (level == NUWA_LOG_ERROR)
        lb->n_error++;
    else if (level == NUWA_LOG_WARNING)
        lb->n_warning++;
    if (lb->len + 1 < sizeof(lb->text)) {
        const int n = vsnprintf(lb->text + lb->len, sizeof(lb->text) - lb->len, fmt, ap);
        if (n > 0)
            lb->len = NW_MIN(lb->len + (size_t)n, sizeof(lb->text) - 1);
    }
}

static int load_path(const char *path, LogBuf *lb, NuwaModel **out)
{
    NuwaModelParams mp;
    nuwa_model_params_default(&mp);
    mp.log_cb = log_to_buf;
    mp.log_opaque = lb;
    mp.log_level = NUWA_LOG_DEBUG;
    memset(lb, 0, sizeof(*lb));
    return nuwa_model_load(out, path, &mp);
}

/* Loads a model from a buffer through a temporary file (removed again); frees buf. */
static int load_buf(uint8_t *buf, size_t size, LogBuf *lb, NuwaModel **out)
{
    char path[512];
    cr_assert_eq(write_temp("model", buf, size, path, sizeof(path)), 0, "cannot write a temporary file");
    free(buf);
    const int r = load_path(path, lb, out);
    unlink(path);
    return r;
}

/* Expects the load to fail with `code` and every NULL-terminated substring in the log. */
static void expect_fail(uint8_t *buf, size_t size, int code, const char *what, ...)
{
    LogBuf lb;
    NuwaModel *m = NULL;
    const int r = load_buf(buf, size, &lb, &m);
    cr_expect_eq(r, code, "%s: load returned %d (%s), expected %d; log:\n%s", what, r,
                 nuwa_strerror(r), code, lb.text);
    cr_expect_null(m, "%s: the output pointer was set on failure", what);
    cr_expect_gt(lb.n_error, 0, "%s: no error was logged", what);
    va_list ap;
    va_start(ap, what);
    for (const char *s; (s = va_arg(ap, const char *));)
        cr_expect_not_null(strstr(lb.text, s), "%s: log lacks \"%s\":\n%s", what, s, lb.text);
    va_end(ap);
    nuwa_model_unref(&m);
}

/* ---- models --------------------------------------------------------------------------- */

/* 16x16 RGB, dim 8, 2 layers (mults 1,2), one res block per stage, attention (2 heads x 4)
 * at the last stage, groups 4, first conv 3, K 16, cd 4 (projections 16 <-> 4), cosine. */
static void small_hp(NwVae *hp)
{
    static const int res[2] = {1, 1}, attn[2] = {0, 1};
    vae_hparams(hp, 16, 3, 8, 2, NULL, res, attn, 2, 4, 4, 3, 16, 4, 1);
}

static void random_model(const NwVae *hp, int dtype, TWriterEdit edit, void *opaque, uint8_t **buf,
                         size_t *size)
{
    cr_assert_eq(vae_random_gguf_edit(hp, 1234, dtype, edit, opaque, buf, size), 0,
                 "cannot build a random model");
}

static NuwaModel *load_ok(uint8_t *buf, size_t size, LogBuf *lb)
{
    NuwaModel *m = NULL;
    const int r = load_buf(buf, size, lb, &m);
    cr_assert_eq(r, 0, "load failed: %s; log:\n%s", nuwa_strerror(r), lb->text);
    cr_assert_not_null(m);
    cr_expect_eq(lb->n_error, 0, "errors logged by a successful load:\n%s", lb->text);
    return m;
}

/* Tensor edits applied while the random model is written. */
enum { ED_SKIP, ED_SHAPE, ED_TYPE, ED_CODEBOOK_3D, ED_SCALE, ED_ROUND_F16, ED_ROUND_BF16 };
typedef struct Edit {
    int mode;
    const char *name;      /* NULL = every tensor */
    int n_dims;            /* ED_SHAPE */
    int64_t shape[4];
    int type;              /* ED_TYPE */
    float scale;           /* ED_SCALE */
    int hits;
} Edit;

static int edit_cb(void *opaque, NwGgufWriter *w, const char *name, int n_dims, int64_t *shape,
                   float *data, size_t n)
{
    Edit *e = opaque;
    if (e->name && strcmp(e->name, name))
        return 0;
    e->hits++;
    switch (e->mode) {
    case ED_SKIP:
        return 1;
    case ED_SHAPE:
        cr_assert_eq(nw_gguf_writer_add_tensor(w, name, NW_TYPE_F32, e->n_dims, e->shape, NULL), 0);
        return 1;
    case ED_TYPE:
        cr_assert_eq(nw_gguf_writer_add_tensor(w, name, e->type, n_dims, shape, NULL), 0);
        return 1;
    case ED_CODEBOOK_3D: {
        const int64_t s3[3] = {1, shape[0], shape[1]};
        cr_assert_eq(n_dims, 2);
        cr_assert_eq(nw_gguf_writer_add_tensor(w, name, NW_TYPE_F32, 3, s3, data), 0);
        return 1;
    }
    case ED_SCALE:
        for (size_t i = 0; i < n; i++)
            data[i] *= e->scale;
        return 0;
    case ED_ROUND_F16:
    case ED_ROUND_BF16:
        /* the random writer stores tensors of >= 2 dims in the requested type */
        if (n_dims >= 2)
            for (size_t i = 0; i < n; i++)
                data[i] = e->mode == ED_ROUND_F16 ? nw_f16_to_f32(nw_f32_to_f16(data[i]))
                                                  : nw_bf16_to_f32(nw_f32_to_bf16(data[i]));
        return 0;
    default:
        return 0;
    }
}

/* A model file written key by key: the hyperparameters of hp except `skip`, with another
 * architecture string or array length if asked, and (if with_tensors) zero tensors for the
 * plan of hp. */
typedef struct HpFile {
    const char *skip;
    const char *arch;      /* NULL = "nuwa" */
    int arr_len;           /* 0 = num_layers */
    int with_tensors;
} HpFile;

static void zero_tensor(void *opaque, const char *name, int n_dims, const int64_t *shape)
{
    cr_assert_eq(nw_gguf_writer_add_tensor(opaque, name, NW_TYPE_F32, n_dims, shape, NULL), 0, "%s", name);
}

static void hp_file(const NwVae *hp, const HpFile *o, uint8_t **buf, size_t *size)
{
    NwGgufWriter *w = nw_gguf_writer_new();
    uint32_t mult[NW_VAE_MAX_LAYERS], res[NW_VAE_MAX_LAYERS];
    int attn[NW_VAE_MAX_LAYERS];
    const int n = o->arr_len ? o->arr_len : hp->num_layers;
    cr_assert_not_null(w);
    cr_assert(n >= 0 && n <= NW_VAE_MAX_LAYERS);
    for (int i = 0; i < n; i++) {
        mult[i] = (uint32_t)(i < hp->num_layers ? hp->layer_mults[i] : 1);
        res[i] = (uint32_t)(i < hp->num_layers ? hp->num_resnet_blocks[i] : 0);
        attn[i] = i < hp->num_layers ? hp->use_attn[i] : 0;
    }
#define SKIP(k) (o->skip && !strcmp(o->skip, k))
#define U32(k, v) \
    if (!SKIP(k)) \
        cr_assert_eq(nw_gguf_writer_add_u32(w, k, (uint32_t)(v)), 0)
    if (!SKIP("general.architecture"))
        cr_assert_eq(nw_gguf_writer_add_str(w, "general.architecture", o->arch ? o->arch : "nuwa"), 0);
    U32("nuwa.vae.image_size", hp->image_size);
    U32("nuwa.vae.channels", hp->channels);
    U32("nuwa.vae.dim", hp->dim);
    U32("nuwa.vae.num_layers", hp->num_layers);
    if (!SKIP("nuwa.vae.layer_mults"))
        cr_assert_eq(nw_gguf_writer_add_u32_array(w, "nuwa.vae.layer_mults", mult, (uint64_t)n), 0);
    if (!SKIP("nuwa.vae.num_resnet_blocks"))
        cr_assert_eq(nw_gguf_writer_add_u32_array(w, "nuwa.vae.num_resnet_blocks", res, (uint64_t)n), 0);
    if (!SKIP("nuwa.vae.use_attn"))
        cr_assert_eq(nw_gguf_writer_add_bool_array(w, "nuwa.vae.use_attn", attn, (uint64_t)n), 0);
    U32("nuwa.vae.attn_heads", hp->attn_heads);
    U32("nuwa.vae.attn_dim_head", hp->attn_dim_head);
    U32("nuwa.vae.resnet_groups", hp->resnet_groups);
    U32("nuwa.vae.first_conv_kernel_size", hp->first_conv_kernel_size);
    U32("nuwa.vae.codebook_size", hp->codebook_size);
    U32("nuwa.vae.codebook_dim", hp->codebook_dim);
    if (!SKIP("nuwa.vae.use_cosine_sim"))
        cr_assert_eq(nw_gguf_writer_add_bool(w, "nuwa.vae.use_cosine_sim", hp->use_cosine_sim), 0);
#undef U32
#undef SKIP
    if (o->with_tensors)
        cr_assert_eq(nw_vae_describe(hp, zero_tensor, w), 0);
    cr_assert_eq(nw_gguf_writer_to_buffer(w, buf, size), 0);
    nw_gguf_writer_free(&w);
}

/* Encodes one deterministic random 8-bit frame. */
static void encode_random(NuwaModel *m, uint64_t seed, int32_t *tok)
{
    NuwaVaeInfo vi;
    NuwaSession *s = NULL;
    NuwaSessionParams sp;
    TRng r = {seed};
    cr_assert_eq(nuwa_model_vae_info(m, &vi), 0);
    const int S = vi.image_size, C = vi.channels;
    uint8_t *px = malloc((size_t)S * S * C);
    cr_assert_not_null(px);
    for (int i = 0; i < S * S * C; i++)
        px[i] = (uint8_t)(trng_next(&r) & 255);
    nuwa_session_params_default(&sp);
    sp.n_threads = 1;
    cr_assert_eq(nuwa_session_create(&s, m, &sp), 0);
    NuwaFrame f = {C == 3 ? NUWA_FRAME_RGB24 : NUWA_FRAME_GRAY8, S, S, C, px, (ptrdiff_t)S * C, 0};
    cr_assert_eq(nuwa_vae_encode(s, &f, 1, tok), 0);
    nuwa_session_destroy(&s);
    free(px);
}

/* Decodes one token grid into planar floats (C*S*S, malloc'ed). */
static float *decode_float(NuwaModel *m, const int32_t *tok)
{
    NuwaVaeInfo vi;
    NuwaSession *s = NULL;
    NuwaSessionParams sp;
    cr_assert_eq(nuwa_model_vae_info(m, &vi), 0);
    const int S = vi.image_size, C = vi.channels;
    float *out = malloc(sizeof(float) * S * S * C);
    cr_assert_not_null(out);
    nuwa_session_params_default(&sp);
    sp.n_threads = 1;
    cr_assert_eq(nuwa_session_create(&s, m, &sp), 0);
    NuwaFrame f = {NUWA_FRAME_FLOAT, S, S, C, out, S, 0};
    cr_assert_eq(nuwa_vae_decode(s, tok, 1, &f), 0);
    nuwa_session_destroy(&s);
    return out;
}

#define T_SMALL 16 /* tokens per frame of small_hp: (16 / 4)^2 */

/* ---- valid models --------------------------------------------------------------------- */

Test(model, small_random_model_loads)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    LogBuf lb;
    small_hp(&hp);
    random_model(&hp, NW_TYPE_F32, NULL, NULL, &buf, &size);
    NuwaModel *m = load_ok(buf, size, &lb);
    cr_expect_eq(lb.n_warning, 0, "warnings logged:\n%s", lb.text);
    cr_expect_not_null(strstr(lb.text, "VQGAN 16x16x3 -> 4x4 tokens, codebook 16 x 4"), "%s", lb.text);
    NuwaVaeInfo vi;
    cr_assert_eq(nuwa_model_vae_info(m, &vi), 0);
    cr_expect_eq(vi.tokens_per_frame, T_SMALL);
    nuwa_model_unref(&m);
    cr_expect_null(m);
}

Test(model, codebook_with_leading_axis_is_accepted)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    LogBuf lb;
    Edit e = {.mode = ED_CODEBOOK_3D, .name = "vae.vq._codebook.embed"};
    int32_t tok2[T_SMALL], tok3[T_SMALL];
    small_hp(&hp);
    random_model(&hp, NW_TYPE_F32, NULL, NULL, &buf, &size);
    NuwaModel *m2 = load_ok(buf, size, &lb);
    random_model(&hp, NW_TYPE_F32, edit_cb, &e, &buf, &size);
    cr_assert_eq(e.hits, 1);
    NuwaModel *m3 = load_ok(buf, size, &lb);

    int found = 0;
    for (int i = 0; i < nuwa_model_tensor_count(m3); i++) {
        NuwaTensorInfo ti;
        cr_assert_eq(nuwa_model_tensor_info(m3, i, &ti), 0);
        if (!strcmp(ti.name, "vae.vq._codebook.embed")) {
            found = 1;
            cr_expect_eq(ti.n_dims, 3);
            cr_expect(ti.shape[0] == 1 && ti.shape[1] == 16 && ti.shape[2] == 4, "(%lld,%lld,%lld)",
                      (long long)ti.shape[0], (long long)ti.shape[1], (long long)ti.shape[2]);
        }
    }
    cr_expect(found);

    encode_random(m2, 7, tok2);
    encode_random(m3, 7, tok3);
    cr_expect_arr_eq(tok2, tok3, sizeof(tok2), "the (1,K,cd) codebook gives other tokens");
    float *d2 = decode_float(m2, tok2), *d3 = decode_float(m3, tok2);
    cr_expect_arr_eq(d2, d3, sizeof(float) * 3 * 16 * 16, "the (1,K,cd) codebook decodes differently");
    free(d2);
    free(d3);
    nuwa_model_unref(&m2);
    nuwa_model_unref(&m3);

    /* (2,K,cd) is not a codebook layout */
    Edit bad = {.mode = ED_SHAPE, .name = "vae.vq._codebook.embed", .n_dims = 3, .shape = {2, 16, 4}};
    random_model(&hp, NW_TYPE_F32, edit_cb, &bad, &buf, &size);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "codebook (2,K,cd)",
                "tensor 'vae.vq._codebook.embed' has shape (2,16,4) but the hyperparameters imply (16,4)",
                NULL);
}

/* An F16/BF16 file loads to exactly the F32 file holding the same rounded weights, and stays
 * close to the unrounded F32 model. */
static void half_precision(int dtype, int round_mode, const char *tname)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    LogBuf lb;
    int32_t t32[T_SMALL], th[T_SMALL], tr[T_SMALL];
    Edit round = {.mode = round_mode};
    small_hp(&hp);
    random_model(&hp, NW_TYPE_F32, NULL, NULL, &buf, &size);
    NuwaModel *m32 = load_ok(buf, size, &lb);
    random_model(&hp, dtype, NULL, NULL, &buf, &size);
    NuwaModel *mh = load_ok(buf, size, &lb);
    random_model(&hp, NW_TYPE_F32, edit_cb, &round, &buf, &size);
    NuwaModel *mr = load_ok(buf, size, &lb);

    /* the tensor table reports the stored type: matrices in dtype, vectors F32 */
    int n_half = 0;
    for (int i = 0; i < nuwa_model_tensor_count(mh); i++) {
        NuwaTensorInfo ti;
        cr_assert_eq(nuwa_model_tensor_info(mh, i, &ti), 0);
        cr_expect_str_eq(ti.type, ti.n_dims >= 2 ? tname : "F32", "%s", ti.name);
        n_half += ti.n_dims >= 2;
    }
    cr_expect_gt(n_half, 10);

    int agree = 0;
    uint32_t distinct = 0; /* codes used (K = 16) */
    for (uint64_t seed = 1; seed <= 4; seed++) {
        encode_random(m32, seed, t32);
        encode_random(mh, seed, th);
        encode_random(mr, seed, tr);
        cr_expect_arr_eq(th, tr, sizeof(th), "%s load differs from converting by hand (tokens)", tname);
        for (int i = 0; i < T_SMALL; i++) {
            cr_assert(t32[i] >= 0 && t32[i] < 16);
            agree += th[i] == t32[i];
            distinct |= 1u << t32[i];
        }

        float *dh = decode_float(mh, t32), *dr = decode_float(mr, t32), *d32 = decode_float(m32, t32);
        const size_t n = (size_t)3 * 16 * 16;
        cr_expect_arr_eq(dh, dr, sizeof(float) * n, "%s load differs from converting by hand (decode)", tname);
        double mx = 0, err = 0;
        for (size_t i = 0; i < n; i++) {
            mx = fmax(mx, fabs(d32[i]));
            err = fmax(err, fabs((double)dh[i] - d32[i]));
        }
        const double tol = dtype == NW_TYPE_F16 ? 0.01 : 0.05;
        cr_expect_leq(err, tol * mx, "%s decode: max err %.3g vs max|ref| %.3g", tname, err, mx);
        cr_log_info("%s decode: max err %.3g of max|ref| %.3g", tname, err, mx);
        free(dh);
        free(dr);
        free(d32);
    }
    /* rounded weights may move a token across a decision boundary, but rarely */
    cr_expect_geq(agree, 4 * T_SMALL * 3 / 4, "%s: only %d of %d tokens equal the F32 model's", tname,
                  agree, 4 * T_SMALL);
    cr_log_info("%s: %d of %d tokens equal the F32 model's; %d codes used", tname, agree, 4 * T_SMALL,
                __builtin_popcount(distinct));
    cr_expect_geq(__builtin_popcount(distinct), 3, "the random model uses too few codes for this test");
    nuwa_model_unref(&m32);
    nuwa_model_unref(&mh);
    nuwa_model_unref(&mr);
}

Test(model, f16_weights) { half_precision(NW_TYPE_F16, ED_ROUND_F16, "F16"); }
Test(model, bf16_weights) { half_precision(NW_TYPE_BF16, ED_ROUND_BF16, "BF16"); }

Test(model, cosine_codebook_not_unit_norm_warns)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    LogBuf lb;
    Edit e = {.mode = ED_SCALE, .name = "vae.vq._codebook.embed", .scale = 2.f};
    small_hp(&hp);
    random_model(&hp, NW_TYPE_F32, edit_cb, &e, &buf, &size);
    cr_assert_eq(e.hits, 1);
    NuwaModel *m = load_ok(buf, size, &lb);
    cr_expect_eq(lb.n_warning, 1, "log:\n%s", lb.text);
    cr_expect_not_null(strstr(lb.text, "16 of 16 codes of the cosine codebook are not unit-norm"), "%s", lb.text);
    nuwa_model_unref(&m);

    /* the same codebook in a Euclidean model is fine */
    hp.use_cosine_sim = 0;
    e.hits = 0;
    random_model(&hp, NW_TYPE_F32, edit_cb, &e, &buf, &size);
    m = load_ok(buf, size, &lb);
    cr_expect_eq(lb.n_warning, 0, "log:\n%s", lb.text);
    nuwa_model_unref(&m);
}

/* ---- tensors -------------------------------------------------------------------------- */

static void collect_name(void *opaque, const char *name, int n_dims, const int64_t *shape)
{
    (void)n_dims;
    (void)shape;
    char *names = opaque;
    strcat(names, name);
    strcat(names, "\n");
}

Test(model, every_missing_tensor_is_named)
{
    NwVae hp;
    static char names[16384];
    small_hp(&hp);
    names[0] = 0;
    cr_assert_eq(nw_vae_describe(&hp, collect_name, names), 0);
    int count = 0;
    for (char *p = names, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        char name[256], want[300], what[300];
        uint8_t *buf;
        size_t size;
        snprintf(name, sizeof(name), "%.*s", (int)(nl - p), p);
        Edit e = {.mode = ED_SKIP, .name = name};
        random_model(&hp, NW_TYPE_F32, edit_cb, &e, &buf, &size);
        cr_assert_eq(e.hits, 1, "%s", name);
        snprintf(want, sizeof(want), "missing tensor '%s'", name);
        snprintf(what, sizeof(what), "without %s", name);
        expect_fail(buf, size, NUWA_ERR_BAD_MODEL, what, want, "required by the hyperparameters", NULL);
        count++;
    }
    /* conv 3 (first) + per stage down 2 + res 14 + (stage 1) attention 14 ... well over 50 */
    cr_expect_gt(count, 50, "only %d tensors described", count);
}

Test(model, wrong_shape_names_both_shapes)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    small_hp(&hp);
    /* the first conv: (dim, channels, k, k) = (8,3,3,3) */
    Edit e = {.mode = ED_SHAPE, .name = "vae.encoders.0.weight", .n_dims = 4, .shape = {8, 3, 5, 5}};
    random_model(&hp, NW_TYPE_F32, edit_cb, &e, &buf, &size);
    cr_assert_eq(e.hits, 1);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "first conv 5x5",
                "tensor 'vae.encoders.0.weight' has shape (8,3,5,5) but the hyperparameters imply (8,3,3,3)",
                NULL);

    /* wrong rank */
    Edit r = {.mode = ED_SHAPE, .name = "vae.encoders.0.bias", .n_dims = 2, .shape = {8, 1}};
    random_model(&hp, NW_TYPE_F32, edit_cb, &r, &buf, &size);
    cr_assert_eq(r.hits, 1);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "bias (8,1)",
                "tensor 'vae.encoders.0.bias' has shape (8,1) but the hyperparameters imply (8)", NULL);

    /* the projection, transposed */
    Edit p = {.mode = ED_SHAPE, .name = "vae.vq.project_in.weight", .n_dims = 2, .shape = {16, 4}};
    random_model(&hp, NW_TYPE_F32, edit_cb, &p, &buf, &size);
    cr_assert_eq(p.hits, 1);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "project_in transposed",
                "tensor 'vae.vq.project_in.weight' has shape (16,4) but the hyperparameters imply (4,16)",
                NULL);
}

Test(model, integer_weights_are_rejected)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    small_hp(&hp);
    Edit e = {.mode = ED_TYPE, .name = "vae.encoders.0.weight", .type = NW_TYPE_I32};
    random_model(&hp, NW_TYPE_F32, edit_cb, &e, &buf, &size);
    cr_assert_eq(e.hits, 1);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "I32 weight",
                "tensor 'vae.encoders.0.weight' has type I32, weights must be F32, F16 or BF16", NULL);
}

Test(model, extra_tensors_are_ignored)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    LogBuf lb;
    small_hp(&hp);
    NwGgufWriter *w = nw_gguf_writer_new();
    cr_assert_not_null(w);
    cr_assert_eq(nw_vae_write_hparams(&hp, w), 0);
    cr_assert_eq(nw_vae_describe(&hp, zero_tensor, w), 0);
    const int64_t s[1] = {3};
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "test.extra", NW_TYPE_I32, 1, s, NULL), 0);
    cr_assert_eq(nw_gguf_writer_to_buffer(w, &buf, &size), 0);
    nw_gguf_writer_free(&w);
    NuwaModel *m = load_ok(buf, size, &lb);
    nuwa_model_unref(&m);
}

/* ---- hyperparameters ------------------------------------------------------------------ */

Test(model, hp_file_writer_matches_the_library)
{
    /* the custom writer below produces loadable files when nothing is skipped */
    NwVae hp;
    uint8_t *buf;
    size_t size;
    LogBuf lb;
    HpFile o = {.with_tensors = 1};
    small_hp(&hp);
    hp_file(&hp, &o, &buf, &size);
    NuwaModel *m = load_ok(buf, size, &lb);
    nuwa_model_unref(&m);
}

Test(model, each_missing_hyperparameter_is_named)
{
    static const char *const keys[] = {
        "general.architecture", "nuwa.vae.image_size", "nuwa.vae.channels", "nuwa.vae.dim",
        "nuwa.vae.num_layers", "nuwa.vae.layer_mults", "nuwa.vae.num_resnet_blocks",
        "nuwa.vae.use_attn", "nuwa.vae.attn_heads", "nuwa.vae.attn_dim_head",
        "nuwa.vae.resnet_groups", "nuwa.vae.first_conv_kernel_size", "nuwa.vae.codebook_size",
        "nuwa.vae.codebook_dim", "nuwa.vae.use_cosine_sim",
    };
    NwVae hp;
    small_hp(&hp);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        uint8_t *buf;
        size_t size;
        char want[128];
        HpFile o = {.skip = keys[i], .with_tensors = 1};
        hp_file(&hp, &o, &buf, &size);
        snprintf(want, sizeof(want), "missing key '%s'", keys[i]);
        expect_fail(buf, size, NUWA_ERR_BAD_MODEL, keys[i], want, NULL);
    }
}

Test(model, wrong_architecture)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    HpFile o = {.arch = "llama", .with_tensors = 1};
    small_hp(&hp);
    hp_file(&hp, &o, &buf, &size);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "llama",
                "general.architecture is 'llama', expected 'nuwa'", NULL);
}

Test(model, image_size_not_divisible)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    small_hp(&hp);
    hp.image_size = 18; /* 2 layers: needs a multiple of 4 */
    random_model(&hp, NW_TYPE_F32, NULL, NULL, &buf, &size);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "image_size 18",
                "nuwa.vae.image_size = 18 is not divisible by 2^num_layers = 4", NULL);
}

Test(model, num_layers_out_of_range)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    small_hp(&hp);
    hp.num_layers = 0;
    HpFile o = {.arr_len = 2};
    hp_file(&hp, &o, &buf, &size);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "num_layers 0",
                "nuwa.vae.num_layers = 0 must be in 1..15", NULL);

    small_hp(&hp);
    hp.num_layers = 16;
    hp.image_size = 4096;
    for (int i = 0; i < 16; i++) {
        hp.layer_mults[i] = 1;
        hp.num_resnet_blocks[i] = 0;
        hp.use_attn[i] = 0;
    }
    HpFile o16 = {.arr_len = 16};
    hp_file(&hp, &o16, &buf, &size);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "num_layers 16",
                "nuwa.vae.num_layers = 16 must be in 1..15", NULL);
}

Test(model, dim_not_multiple_of_groups)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    small_hp(&hp);
    hp.resnet_groups = 3;
    random_model(&hp, NW_TYPE_F32, NULL, NULL, &buf, &size);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "groups 3",
                "nuwa.vae.dim = 8 must be a positive multiple of resnet_groups = 3", NULL);
}

Test(model, even_first_conv_kernel)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    small_hp(&hp);
    hp.first_conv_kernel_size = 4;
    random_model(&hp, NW_TYPE_F32, NULL, NULL, &buf, &size);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "first conv 4",
                "nuwa.vae.first_conv_kernel_size = 4 must be odd", NULL);
}

Test(model, layer_array_of_wrong_length)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    small_hp(&hp);
    HpFile o = {.arr_len = 3, .with_tensors = 1};
    hp_file(&hp, &o, &buf, &size);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "arrays of 3",
                "key 'nuwa.vae.layer_mults' has 3 elements, expected 2", NULL);
    HpFile o1 = {.arr_len = 1};
    hp_file(&hp, &o1, &buf, &size);
    expect_fail(buf, size, NUWA_ERR_BAD_MODEL, "arrays of 1",
                "key 'nuwa.vae.layer_mults' has 1 elements, expected 2", NULL);
}

/* ---- not models ----------------------------------------------------------------------- */

Test(model, nonexistent_path)
{
    LogBuf lb;
    NuwaModel *m = NULL;
    char path[512];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/nuwa-test-no-such-dir-%ld/model.gguf", dir && *dir ? dir : "/tmp",
             (long)getpid());
    cr_expect_eq(load_path(path, &lb, &m), NUWA_ERR_IO);
    cr_expect_null(m);
    cr_expect_not_null(strstr(lb.text, "No such file or directory"), "%s", lb.text);
    cr_expect_not_null(strstr(lb.text, path), "%s", lb.text);
}

Test(model, empty_file)
{
    uint8_t *buf = malloc(1);
    expect_fail(buf, 0, NUWA_ERR_BAD_MODEL, "empty file", "file too small to be GGUF (0 bytes)", NULL);
}

Test(model, text_file)
{
    static const char text[] = "# this is a text file, not a model\nimage_size = 16\nchannels = 3\n";
    uint8_t *buf = malloc(sizeof(text));
    memcpy(buf, text, sizeof(text));
    expect_fail(buf, sizeof(text) - 1, NUWA_ERR_BAD_MODEL, "text file", "bad magic '# th' (not a GGUF file)",
                NULL);
    /* shorter than a GGUF header */
    buf = malloc(8);
    memcpy(buf, "hello\n\n\n", 8);
    expect_fail(buf, 8, NUWA_ERR_BAD_MODEL, "short text", "file too small to be GGUF (8 bytes)", NULL);
}

Test(model, truncated_to_half)
{
    NwVae hp;
    uint8_t *buf;
    size_t size;
    small_hp(&hp);
    random_model(&hp, NW_TYPE_F32, NULL, NULL, &buf, &size);
    expect_fail(buf, size / 2, NUWA_ERR_BAD_MODEL, "half a model", "past the end of the file", NULL);
}

Test(model, truncated_anywhere)
{
    /* a handful of cut points from the header to the last byte: never loads, never crashes */
    NwVae hp;
    uint8_t *full;
    size_t size;
    small_hp(&hp);
    random_model(&hp, NW_TYPE_F32, NULL, NULL, &full, &size);
    const size_t cuts[] = {24, 40, 100, 1000, size / 3, size - 4096, size - 1};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        LogBuf lb;
        NuwaModel *m = NULL;
        uint8_t *buf = malloc(cuts[i]);
        cr_assert_not_null(buf);
        memcpy(buf, full, cuts[i]);
        cr_expect_eq(load_buf(buf, cuts[i], &lb, &m), NUWA_ERR_BAD_MODEL, "cut at %zu of %zu", cuts[i], size);
        cr_expect_null(m);
        cr_expect(strstr(lb.text, "truncated") || strstr(lb.text, "past the end of the file"),
                  "cut at %zu of %zu:\n%s", cuts[i], size, lb.text);
        nuwa_model_unref(&m);
    }
    free(full);
}
