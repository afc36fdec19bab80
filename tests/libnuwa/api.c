/*
 * tests/libnuwa/api.c — the public API contract (include/nuwa.h) on small random models:
 * error strings and version, NULL arguments, handle lifetimes and reference counting, frame
 * validation (with the logged reason), frame layouts (strides, planes, bottom-up rows), token
 * checks, thread-count independence, the model description functions and concurrent use of
 * one model from several threads.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
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

/* ---- helpers -------------------------------------------------------------------------- */

typedef struct LogBuf {
    char text[8192];
    size_t len;
    int n;
} LogBuf;

static void log_to_buf(void *opaque, int level, const char *fmt, va_list ap)
{
    LogBuf *lb = opaque;
    (void)level;
    lb->n++;
    if (lb->len + 1 < sizeof(lb->text)) {
        const int k = vsnprintf(lb->text + lb->len, sizeof(lb->text) - lb->len, fmt, ap);
        if (k > 0)
            lb->len = NW_MIN(lb->len + (size_t)k, sizeof(lb->text) - 1);
    }
}

static void log_clear(LogBuf *lb)
{
    lb->text[0] = 0;
    lb->len = 0;
    lb->n = 0;
}

/* 16x16, dim 8, 2 layers (mults 1,2), res 1 per stage, attention (2 x 4) at the last stage,
 * groups 4, first conv 3, K 16, cd 4, cosine. */
static void small_hp(NwVae *hp, int channels)
{
    static const int res[2] = {1, 1}, attn[2] = {0, 1};
    vae_hparams(hp, 16, channels, 8, 2, NULL, res, attn, 2, 4, 4, 3, 16, 4, 1);
}

#define S_SMALL 16
#define T_SMALL 16

static NuwaModel *load_hp(const NwVae *hp, uint64_t seed)
{
    uint8_t *buf;
    size_t size;
    char path[512];
    NuwaModel *m = NULL;
    cr_assert_eq(vae_random_gguf(hp, seed, NW_TYPE_F32, &buf, &size), 0);
    cr_assert_eq(write_temp("api", buf, size, path, sizeof(path)), 0);
    free(buf);
    const int r = nuwa_model_load(&m, path, NULL);
    unlink(path);
    cr_assert_eq(r, 0, "cannot load a random model: %s", nuwa_strerror(r));
    return m;
}

static NuwaModel *small_model(int channels)
{
    NwVae hp;
    small_hp(&hp, channels);
    return load_hp(&hp, 42);
}

static NuwaSession *session(NuwaModel *m, int threads, LogBuf *lb)
{
    NuwaSessionParams sp;
    NuwaSession *s = NULL;
    nuwa_session_params_default(&sp);
    sp.n_threads = threads;
    if (lb) {
        log_clear(lb);
        sp.log_cb = log_to_buf;
        sp.log_opaque = lb;
    }
    cr_assert_eq(nuwa_session_create(&s, m, &sp), 0);
    cr_assert_not_null(s);
    return s;
}

/* Deterministic random 8-bit pixels, packed (S*S*C). */
static uint8_t *random_pixels(uint64_t seed, int C)
{
    TRng r = {seed};
    uint8_t *px = malloc((size_t)S_SMALL * S_SMALL * C);
    cr_assert_not_null(px);
    for (int i = 0; i < S_SMALL * S_SMALL * C; i++)
        px[i] = (uint8_t)(trng_next(&r) >> 56);
    return px;
}

static NuwaFrame packed_frame(uint8_t *px, int C)
{
    NuwaFrame f = {C == 3 ? NUWA_FRAME_RGB24 : NUWA_FRAME_GRAY8, S_SMALL, S_SMALL, C, px,
                   (ptrdiff_t)S_SMALL * C, 0};
    return f;
}

/* ---- strings -------------------------------------------------------------------------- */

Test(api, strerror_every_code)
{
    static const int codes[] = {NUWA_OK, NUWA_ERR_NOMEM, NUWA_ERR_INVAL, NUWA_ERR_IO,
                                NUWA_ERR_BAD_MODEL, NUWA_ERR_UNSUPPORTED, NUWA_ERR_BACKEND,
                                NUWA_ERR_AGAIN, NUWA_ERR_EOF};
    const int n = (int)(sizeof(codes) / sizeof(codes[0]));
    const char *unknown = nuwa_strerror(-1000);
    cr_assert_not_null(unknown);
    cr_expect_gt(strlen(unknown), 0);
    cr_expect_str_eq(nuwa_strerror(1), unknown);
    cr_expect_str_eq(nuwa_strerror(-9), unknown);
    cr_expect_str_eq(nuwa_strerror(INT32_MIN), unknown);
    for (int i = 0; i < n; i++) {
        const char *s = nuwa_strerror(codes[i]);
        cr_assert_not_null(s, "code %d", codes[i]);
        cr_expect_gt(strlen(s), 0, "code %d", codes[i]);
        cr_expect_str_neq(s, unknown, "code %d is described as unknown", codes[i]);
        for (int j = 0; j < i; j++)
            cr_expect_str_neq(s, nuwa_strerror(codes[j]), "codes %d and %d share \"%s\"", codes[i],
                              codes[j], s);
    }
}

Test(api, version)
{
    char want[32];
    snprintf(want, sizeof(want), "%d.%d.%d", NUWA_VERSION_MAJOR, NUWA_VERSION_MINOR, NUWA_VERSION_PATCH);
    cr_assert_not_null(nuwa_version());
    cr_expect_str_eq(nuwa_version(), want);
}

/* ---- NULL arguments and lifetimes ----------------------------------------------------- */

Test(api, null_arguments)
{
    NuwaModelParams mp;
    LogBuf lb = {0};
    NuwaModel *m = NULL;
    NuwaSession *s = NULL;
    NuwaVaeInfo vi;
    NuwaTensorInfo ti;
    int32_t tok[T_SMALL] = {0};
    uint8_t *px = random_pixels(1, 3);
    NuwaFrame f = packed_frame(px, 3);

    nuwa_model_params_default(NULL);
    nuwa_session_params_default(NULL);
    nuwa_model_params_default(&mp);
    cr_expect_eq(mp.log_cb, NULL);
    cr_expect_eq(mp.log_level, NUWA_LOG_WARNING);
    mp.log_cb = log_to_buf;
    mp.log_opaque = &lb;

    cr_expect_eq(nuwa_model_load(NULL, "x.gguf", NULL), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_model_load(&m, NULL, NULL), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_model_load(NULL, NULL, NULL), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_model_load(NULL, "x.gguf", &mp), NUWA_ERR_INVAL);
    cr_expect_not_null(strstr(lb.text, "NULL output pointer"), "%s", lb.text);
    log_clear(&lb);
    cr_expect_eq(nuwa_model_load(&m, NULL, &mp), NUWA_ERR_INVAL);
    cr_expect_not_null(strstr(lb.text, "NULL path"), "%s", lb.text);
    cr_expect_null(m);

    cr_expect_null(nuwa_model_ref(NULL));
    cr_expect_eq(nuwa_model_vae_info(NULL, &vi), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_model_tensor_count(NULL), 0);
    cr_expect_eq(nuwa_model_tensor_info(NULL, 0, &ti), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_session_create(&s, NULL, NULL), NUWA_ERR_INVAL);
    cr_expect_null(s);
    cr_expect_eq(nuwa_session_set_threads(NULL, 1), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_vae_encode(NULL, &f, 1, tok), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_vae_decode(NULL, tok, 1, &f), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_vae_encode(NULL, NULL, 0, NULL), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_vae_decode(NULL, NULL, 0, NULL), NUWA_ERR_INVAL);

    m = small_model(3);
    cr_expect_eq(nuwa_model_vae_info(m, NULL), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_model_tensor_info(m, 0, NULL), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_model_tensor_info(m, -1, &ti), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_model_tensor_info(m, nuwa_model_tensor_count(m), &ti), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_session_create(NULL, m, NULL), NUWA_ERR_INVAL);
    NuwaSessionParams sp;
    nuwa_session_params_default(&sp);
    cr_expect_eq(sp.n_threads, 0);
    cr_expect_eq(sp.log_level, NUWA_LOG_WARNING);
    sp.n_threads = -1;
    cr_expect_eq(nuwa_session_create(&s, m, &sp), NUWA_ERR_INVAL);
    cr_expect_null(s);

    s = session(m, 1, NULL);
    cr_expect_eq(nuwa_session_set_threads(s, -1), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_vae_encode(s, NULL, 1, tok), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_vae_encode(s, &f, 1, NULL), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_vae_encode(s, &f, -1, tok), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_vae_decode(s, NULL, 1, &f), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_vae_decode(s, tok, 1, NULL), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_vae_decode(s, tok, -1, &f), NUWA_ERR_INVAL);
    /* the session still works */
    cr_expect_eq(nuwa_vae_encode(s, &f, 1, tok), 0);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    free(px);
}

Test(api, destroy_null_is_a_noop)
{
    NuwaModel *m = NULL;
    NuwaSession *s = NULL;
    nuwa_model_unref(NULL);
    nuwa_model_unref(&m);
    cr_expect_null(m);
    nuwa_session_destroy(NULL);
    nuwa_session_destroy(&s);
    cr_expect_null(s);

    m = small_model(3);
    s = session(m, 1, NULL);
    nuwa_session_destroy(&s);
    cr_expect_null(s);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    cr_expect_null(m);
    nuwa_model_unref(&m);
}

Test(api, model_reference_counting)
{
    NuwaModel *m = small_model(3);
    NuwaModel *keep = m;
    uint8_t *px = random_pixels(3, 3);
    NuwaFrame f = packed_frame(px, 3);
    int32_t a[T_SMALL], b[T_SMALL];

    /* extra references */
    NuwaModel *r1 = nuwa_model_ref(m);
    NuwaModel *r2 = nuwa_model_ref(m);
    cr_expect_eq(r1, m);
    cr_expect_eq(r2, m);
    nuwa_model_unref(&r1);
    nuwa_model_unref(&r2);
    cr_expect_null(r1);
    cr_expect_null(r2);

    NuwaSession *s1 = session(m, 1, NULL);
    cr_assert_eq(nuwa_vae_encode(s1, &f, 1, a), 0);
    nuwa_model_unref(&m);   /* the session keeps the model alive */
    cr_expect_null(m);
    cr_assert_eq(nuwa_vae_encode(s1, &f, 1, b), 0);
    cr_expect_arr_eq(a, b, sizeof(a));
    NuwaVaeInfo vi;
    cr_expect_eq(nuwa_model_vae_info(keep, &vi), 0);
    cr_expect_eq(vi.image_size, S_SMALL);
    /* a second session on the (caller-unreferenced) model, from a borrowed pointer */
    NuwaSession *s2 = session(keep, 2, NULL);
    nuwa_session_destroy(&s1);
    cr_assert_eq(nuwa_vae_encode(s2, &f, 1, b), 0);
    cr_expect_arr_eq(a, b, sizeof(a));
    nuwa_session_destroy(&s2);   /* frees the model (ASan would report a leak otherwise) */
    free(px);
}

/* ---- frame validation ----------------------------------------------------------------- */

/* Expects encode (and decode into the same frame) to fail with INVAL and the log to contain
 * `substr`. */
static void expect_bad_frame(NuwaSession *s, LogBuf *lb, NuwaFrame *f, int n, const char *what,
                             const char *enc_substr)
{
    int32_t tok[2 * T_SMALL];
    for (int i = 0; i < 2 * T_SMALL; i++)
        tok[i] = -7;
    log_clear(lb);
    cr_expect_eq(nuwa_vae_encode(s, f, n, tok), NUWA_ERR_INVAL, "%s: encode accepted it", what);
    cr_expect_not_null(strstr(lb->text, enc_substr), "%s: encode log lacks \"%s\":\n%s", what,
                       enc_substr, lb->text);
    cr_expect_eq(lb->n, 1, "%s: %d messages logged", what, lb->n);
    for (int i = 0; i < 2 * T_SMALL; i++)
        cr_expect_eq(tok[i], -7, "%s: tokens written by a failed call", what);
    for (int i = 0; i < 2 * T_SMALL; i++)
        tok[i] = i % 16;
    log_clear(lb);
    cr_expect_eq(nuwa_vae_decode(s, tok, n, f), NUWA_ERR_INVAL, "%s: decode accepted it", what);
    cr_expect_not_null(strstr(lb->text, "decode: "), "%s: decode log:\n%s", what, lb->text);
}

Test(api, bad_frames_rgb_model)
{
    NuwaModel *m = small_model(3);
    LogBuf lb;
    NuwaSession *s = session(m, 1, &lb);
    uint8_t *px = random_pixels(5, 3);
    float *fl = calloc((size_t)3 * S_SMALL * S_SMALL, sizeof(float));
    NuwaFrame f;

    f = packed_frame(px, 3);
    f.width = 15;
    expect_bad_frame(s, &lb, &f, 1, "width 15", "frame 0 is 15x16 but the model takes 16x16 frames");
    f = packed_frame(px, 3);
    f.height = 32;
    expect_bad_frame(s, &lb, &f, 1, "height 32", "frame 0 is 16x32 but the model takes 16x16 frames");
    f = packed_frame(px, 3);
    f.format = NUWA_FRAME_GRAY8;
    f.channels = 1;
    f.stride = S_SMALL;
    expect_bad_frame(s, &lb, &f, 1, "GRAY8 on RGB", "frame 0 has 1 channel(s) (GRAY8) but the model has 3");
    f = packed_frame(px, 3);
    f.channels = 1;
    expect_bad_frame(s, &lb, &f, 1, "RGB24 declaring 1 channel", "channel(s)");
    f = packed_frame(px, 3);
    f.stride = 3 * S_SMALL - 1;
    expect_bad_frame(s, &lb, &f, 1, "stride 47", "frame 0 stride 47 is smaller than a row (48 bytes)");
    f.stride = 0;
    expect_bad_frame(s, &lb, &f, 1, "stride 0", "frame 0 stride 0 is smaller than a row (48 bytes)");
    f.stride = -(3 * S_SMALL - 1);
    expect_bad_frame(s, &lb, &f, 1, "stride -47", "stride -47 is smaller than a row");
    f = packed_frame(NULL, 3);
    expect_bad_frame(s, &lb, &f, 1, "NULL data", "frame 0 has no data");
    f = packed_frame(px, 3);
    f.format = 7;
    expect_bad_frame(s, &lb, &f, 1, "format 7", "frame 0 has unknown format 7");
    f.format = -1;
    expect_bad_frame(s, &lb, &f, 1, "format -1", "frame 0 has unknown format -1");

    NuwaFrame ff = {NUWA_FRAME_FLOAT, S_SMALL, S_SMALL, 1, fl, S_SMALL, 0};
    expect_bad_frame(s, &lb, &ff, 1, "FLOAT 1 channel", "frame 0 has 1 channel(s) but the model has 3");
    ff.channels = 4;
    expect_bad_frame(s, &lb, &ff, 1, "FLOAT 4 channels", "frame 0 has 4 channel(s) but the model has 3");
    ff.channels = 3;
    ff.stride = S_SMALL - 1;
    expect_bad_frame(s, &lb, &ff, 1, "FLOAT stride 15", "frame 0 stride 15 is smaller than a row (16 floats)");

    /* the second of two frames is bad: named, and nothing is encoded */
    NuwaFrame two[2] = {packed_frame(px, 3), packed_frame(px, 3)};
    two[1].width = 8;
    expect_bad_frame(s, &lb, two, 2, "second frame", "frame 1 is 8x16");

    /* and good frames still work */
    int32_t tok[T_SMALL];
    f = packed_frame(px, 3);
    cr_expect_eq(nuwa_vae_encode(s, &f, 1, tok), 0);
    cr_expect_eq(nuwa_vae_decode(s, tok, 1, &f), 0);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    free(px);
    free(fl);
}

Test(api, bad_frames_gray_model)
{
    NuwaModel *m = small_model(1);
    LogBuf lb;
    NuwaSession *s = session(m, 1, &lb);
    uint8_t *px = random_pixels(6, 3);
    NuwaFrame f = packed_frame(px, 3);
    expect_bad_frame(s, &lb, &f, 1, "RGB24 on gray", "frame 0 has 3 channel(s) (RGB24) but the model has 1");
    float *fl = calloc((size_t)3 * S_SMALL * S_SMALL, sizeof(float));
    NuwaFrame ff = {NUWA_FRAME_FLOAT, S_SMALL, S_SMALL, 3, fl, S_SMALL, 0};
    expect_bad_frame(s, &lb, &ff, 1, "FLOAT 3 on gray", "frame 0 has 3 channel(s) but the model has 1");
    f = packed_frame(px, 1);
    f.stride = S_SMALL - 1;
    expect_bad_frame(s, &lb, &f, 1, "gray stride", "stride 15 is smaller than a row (16 bytes)");
    f = packed_frame(px, 1);
    int32_t tok[T_SMALL];
    cr_expect_eq(nuwa_vae_encode(s, &f, 1, tok), 0);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    free(px);
    free(fl);
}

Test(api, decode_rejects_bad_tokens)
{
    NuwaModel *m = small_model(3);
    LogBuf lb;
    NuwaSession *s = session(m, 1, &lb);
    uint8_t *px = random_pixels(7, 3);
    NuwaFrame f = packed_frame(px, 3);
    int32_t tok[2 * T_SMALL];
    for (int i = 0; i < 2 * T_SMALL; i++)
        tok[i] = i % 16;

    memset(px, 0xab, (size_t)S_SMALL * S_SMALL * 3);
    tok[5] = -1;
    cr_expect_eq(nuwa_vae_decode(s, tok, 1, &f), NUWA_ERR_INVAL);
    cr_expect_not_null(strstr(lb.text, "decode: frame 0 token 5 is -1, outside the codebook [0, 16)"), "%s", lb.text);
    tok[5] = 16;
    log_clear(&lb);
    cr_expect_eq(nuwa_vae_decode(s, tok, 1, &f), NUWA_ERR_INVAL);
    cr_expect_not_null(strstr(lb.text, "token 5 is 16, outside the codebook"), "%s", lb.text);
    tok[5] = INT32_MIN;
    cr_expect_eq(nuwa_vae_decode(s, tok, 1, &f), NUWA_ERR_INVAL);
    tok[5] = INT32_MAX;
    cr_expect_eq(nuwa_vae_decode(s, tok, 1, &f), NUWA_ERR_INVAL);
    tok[5] = 5;
    /* a bad token in the second grid: the first frame is not written either */
    NuwaFrame two[2] = {f, f};
    tok[T_SMALL + 15] = 99;
    log_clear(&lb);
    cr_expect_eq(nuwa_vae_decode(s, tok, 2, two), NUWA_ERR_INVAL);
    cr_expect_not_null(strstr(lb.text, "frame 1 token 15 is 99"), "%s", lb.text);
    for (int i = 0; i < S_SMALL * S_SMALL * 3; i++)
        cr_assert_eq(px[i], 0xab, "byte %d written by a failed decode", i);
    tok[T_SMALL + 15] = 15;
    cr_expect_eq(nuwa_vae_decode(s, tok, 1, &f), 0);
    tok[0] = 15; /* the largest valid token */
    cr_expect_eq(nuwa_vae_decode(s, tok, 1, &f), 0);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    free(px);
}

Test(api, zero_frames_is_a_noop)
{
    NuwaModel *m = small_model(3);
    LogBuf lb;
    NuwaSession *s = session(m, 1, &lb);
    uint8_t *px = random_pixels(8, 3);
    NuwaFrame f = packed_frame(px, 3);
    int32_t tok[T_SMALL];
    for (int i = 0; i < T_SMALL; i++)
        tok[i] = -3;
    cr_expect_eq(nuwa_vae_encode(s, NULL, 0, NULL), 0);
    cr_expect_eq(nuwa_vae_decode(s, NULL, 0, NULL), 0);
    cr_expect_eq(nuwa_vae_encode(s, &f, 0, tok), 0);
    for (int i = 0; i < T_SMALL; i++)
        cr_expect_eq(tok[i], -3);
    uint8_t *copy = malloc((size_t)S_SMALL * S_SMALL * 3);
    memcpy(copy, px, (size_t)S_SMALL * S_SMALL * 3);
    cr_expect_eq(nuwa_vae_decode(s, tok, 0, &f), 0); /* the bad tokens are not even read */
    cr_expect_arr_eq(px, copy, (size_t)S_SMALL * S_SMALL * 3);
    cr_expect_eq(lb.n, 0, "%s", lb.text);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    free(px);
    free(copy);
}

/* ---- results ---------------------------------------------------------------------------- */

Test(api, thread_count_changes_nothing)
{
    NuwaModel *m = small_model(3);
    NuwaSession *s = session(m, 1, NULL);
    const size_t npx = (size_t)S_SMALL * S_SMALL * 3;
    uint8_t *px[2] = {random_pixels(9, 3), random_pixels(10, 3)};
    NuwaFrame f[2] = {packed_frame(px[0], 3), packed_frame(px[1], 3)};
    int32_t ref[2 * T_SMALL], tok[2 * T_SMALL];
    float *dref = malloc(sizeof(float) * 2 * npx), *dec = malloc(sizeof(float) * 2 * npx);
    NuwaFrame df[2] = {{NUWA_FRAME_FLOAT, S_SMALL, S_SMALL, 3, dref, S_SMALL, 0},
                       {NUWA_FRAME_FLOAT, S_SMALL, S_SMALL, 3, dref + npx, S_SMALL, 0}};
    cr_assert_eq(nuwa_vae_encode(s, f, 2, ref), 0);
    cr_assert_eq(nuwa_vae_decode(s, ref, 2, df), 0);
    df[0].data = dec;
    df[1].data = dec + npx;
    const int threads[] = {2, 3, 1, 0, 3};
    for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
        cr_assert_eq(nuwa_session_set_threads(s, threads[i]), 0);
        memset(tok, 0xff, sizeof(tok));
        memset(dec, 0xff, sizeof(float) * 2 * npx);
        cr_assert_eq(nuwa_vae_encode(s, f, 2, tok), 0);
        cr_expect_arr_eq(tok, ref, sizeof(tok), "%d threads: other tokens", threads[i]);
        cr_assert_eq(nuwa_vae_decode(s, ref, 2, df), 0);
        cr_expect_arr_eq(dec, dref, sizeof(float) * 2 * npx, "%d threads: other decoded frames", threads[i]);
    }
    /* a fresh session created with 3 threads agrees as well */
    NuwaSession *s3 = session(m, 3, NULL);
    cr_assert_eq(nuwa_vae_encode(s3, f, 2, tok), 0);
    cr_expect_arr_eq(tok, ref, sizeof(tok));
    nuwa_session_destroy(&s3);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    free(px[0]);
    free(px[1]);
    free(dref);
    free(dec);
}

Test(api, float_frames_padded_layout)
{
    NuwaModel *m = small_model(3);
    NuwaSession *s = session(m, 2, NULL);
    const int S = S_SMALL, C = 3, pad_row = 5, pad_plane = 37;
    const size_t plane = (size_t)S * S;
    TRng r = {11};
    float *packed = malloc(sizeof(float) * C * plane);
    for (size_t i = 0; i < C * plane; i++)
        packed[i] = trng_unif(&r);
    const ptrdiff_t stride = S + pad_row, pstride = (ptrdiff_t)(S * stride + pad_plane);
    const size_t big_n = (size_t)C * pstride;
    float *big = malloc(sizeof(float) * big_n);
    for (size_t i = 0; i < big_n; i++)
        big[i] = 1e30f; /* padding that would ruin the tokens if read */
    for (int c = 0; c < C; c++)
        for (int y = 0; y < S; y++)
            memcpy(big + c * pstride + y * stride, packed + c * plane + (size_t)y * S, sizeof(float) * S);

    int32_t a[T_SMALL], b[T_SMALL], c8[T_SMALL];
    NuwaFrame fp = {NUWA_FRAME_FLOAT, S, S, C, packed, S, 0};
    NuwaFrame fb = {NUWA_FRAME_FLOAT, S, S, C, big, stride, pstride};
    cr_assert_eq(nuwa_vae_encode(s, &fp, 1, a), 0);
    cr_assert_eq(nuwa_vae_encode(s, &fb, 1, b), 0);
    cr_expect_arr_eq(a, b, sizeof(a), "padded FLOAT frame gives other tokens");

    /* plane_stride 0 = stride * height */
    float *rows = malloc(sizeof(float) * C * S * stride);
    for (size_t i = 0; i < (size_t)C * S * stride; i++)
        rows[i] = -1e30f;
    for (int c = 0; c < C; c++)
        for (int y = 0; y < S; y++)
            memcpy(rows + (c * S + y) * stride, packed + c * plane + (size_t)y * S, sizeof(float) * S);
    NuwaFrame fr = {NUWA_FRAME_FLOAT, S, S, C, rows, stride, 0};
    cr_assert_eq(nuwa_vae_encode(s, &fr, 1, c8), 0);
    cr_expect_arr_eq(a, c8, sizeof(a), "padded rows, default plane stride: other tokens");

    /* decode into the padded layout: the same values, padding untouched */
    float *dp = malloc(sizeof(float) * C * plane);
    NuwaFrame dfp = {NUWA_FRAME_FLOAT, S, S, C, dp, S, 0};
    cr_assert_eq(nuwa_vae_decode(s, a, 1, &dfp), 0);
    cr_assert_eq(nuwa_vae_decode(s, a, 1, &fb), 0);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S + pad_row && c * pstride + y * stride + x < (ptrdiff_t)big_n; x++) {
                const float got = big[c * pstride + y * stride + x];
                if (x < S)
                    cr_assert_eq(got, dp[c * plane + (size_t)y * S + x], "(%d,%d,%d)", c, y, x);
                else
                    cr_assert_eq(got, 1e30f, "padding (%d,%d,%d) overwritten", c, y, x);
            }
    for (int c = 0; c < C; c++)
        for (ptrdiff_t i = S * stride; i < pstride; i++)
            cr_assert_eq(big[c * pstride + i], 1e30f, "plane padding %d/%td overwritten", c, i);

    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    free(packed);
    free(big);
    free(rows);
    free(dp);
}

/* Non-finite input still gives tokens inside the codebook (they can be decoded again). */
Test(api, non_finite_float_frames)
{
    NuwaModel *m = small_model(3);
    NuwaSession *s = session(m, 2, NULL);
    const size_t n = (size_t)3 * S_SMALL * S_SMALL;
    float *fl = malloc(sizeof(float) * n);
    const float values[] = {NAN, INFINITY, -INFINITY, 1e30f};
    for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
        int32_t tok[T_SMALL];
        for (size_t i = 0; i < n; i++)
            fl[i] = i % 7 ? 0.5f : values[v];
        NuwaFrame f = {NUWA_FRAME_FLOAT, S_SMALL, S_SMALL, 3, fl, S_SMALL, 0};
        cr_assert_eq(nuwa_vae_encode(s, &f, 1, tok), 0);
        for (int t = 0; t < T_SMALL; t++)
            cr_expect(tok[t] >= 0 && tok[t] < 16, "input %g: token %d is %d", values[v], t, tok[t]);
        cr_expect_eq(nuwa_vae_decode(s, tok, 1, &f), 0);
    }
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    free(fl);
}

static void eight_bit_layouts(int C)
{
    NuwaModel *m = small_model(C);
    NuwaSession *s = session(m, 1, NULL);
    const int S = S_SMALL, pad = 7;
    const ptrdiff_t row = (ptrdiff_t)S * C, stride = row + pad;
    uint8_t *px = random_pixels(12 + C, C);
    uint8_t *flipped = malloc((size_t)S * row);
    for (int y = 0; y < S; y++)
        memcpy(flipped + y * row, px + (S - 1 - y) * row, (size_t)row);
    /* padded copy of the flipped image, padding 0xee */
    uint8_t *big = malloc((size_t)S * stride);
    memset(big, 0xee, (size_t)S * stride);
    for (int y = 0; y < S; y++)
        memcpy(big + y * stride, flipped + y * row, (size_t)row);

    int32_t want[T_SMALL], got[T_SMALL], normal[T_SMALL];
    NuwaFrame ff = packed_frame(flipped, C);
    cr_assert_eq(nuwa_vae_encode(s, &ff, 1, want), 0);
    NuwaFrame fpad = packed_frame(big, C);
    fpad.stride = stride;
    cr_assert_eq(nuwa_vae_encode(s, &fpad, 1, got), 0);
    cr_expect_arr_eq(got, want, sizeof(got), "C=%d: padded stride gives other tokens", C);

    /* bottom-up: data at the last row, negative stride = the unflipped image */
    NuwaFrame fn = packed_frame(px, C);
    cr_assert_eq(nuwa_vae_encode(s, &fn, 1, normal), 0);
    NuwaFrame fup = packed_frame(big + (S - 1) * stride, C);
    fup.stride = -stride;
    cr_assert_eq(nuwa_vae_encode(s, &fup, 1, got), 0);
    cr_expect_arr_eq(got, normal, sizeof(got), "C=%d: bottom-up rows give other tokens", C);
    cr_expect_arr_neq(normal, want, sizeof(normal), "C=%d: flipping the frame changes no token; "
                      "the test cannot see the row order", C);
    NuwaFrame fup2 = packed_frame(flipped + (S - 1) * row, C);
    fup2.stride = -row;
    cr_assert_eq(nuwa_vae_encode(s, &fup2, 1, got), 0);
    cr_expect_arr_eq(got, normal, sizeof(got), "C=%d: bottom-up packed rows give other tokens", C);

    /* decoding into a bottom-up padded frame writes the flipped image, not the padding */
    uint8_t *dec = malloc((size_t)S * row);
    NuwaFrame fd = packed_frame(dec, C);
    cr_assert_eq(nuwa_vae_decode(s, normal, 1, &fd), 0);
    memset(big, 0xee, (size_t)S * stride);
    cr_assert_eq(nuwa_vae_decode(s, normal, 1, &fup), 0);
    for (int y = 0; y < S; y++) {
        cr_expect_arr_eq(big + y * stride, dec + (S - 1 - y) * row, (size_t)row, "C=%d: row %d", C, y);
        for (int x = (int)row; x < stride; x++)
            cr_assert_eq(big[y * stride + x], 0xee, "C=%d: padding of row %d overwritten", C, y);
    }
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    free(px);
    free(flipped);
    free(big);
    free(dec);
}

Test(api, rgb24_strides_and_bottom_up_rows) { eight_bit_layouts(3); }
Test(api, gray8_strides_and_bottom_up_rows) { eight_bit_layouts(1); }

/* ---- model description ---------------------------------------------------------------- */

Test(api, vae_info_matches_hyperparameters)
{
    static const int mults[3] = {1, 2, 4}, res[3] = {1, 0, 2}, attn[3] = {1, 0, 1};
    NwVae hp;
    NuwaVaeInfo vi;
    vae_hparams(&hp, 24, 1, 8, 3, mults, res, attn, 3, 5, 2, 5, 20, 6, 0);
    NuwaModel *m = load_hp(&hp, 5);
    memset(&vi, 0x5a, sizeof(vi));
    cr_assert_eq(nuwa_model_vae_info(m, &vi), 0);
    cr_expect_eq(vi.image_size, 24);
    cr_expect_eq(vi.channels, 1);
    cr_expect_eq(vi.dim, 8);
    cr_expect_eq(vi.num_layers, 3);
    cr_expect_eq(vi.fmap_size, 3);
    cr_expect_eq(vi.tokens_per_frame, 9);
    cr_expect_eq(vi.codebook_size, 20);
    cr_expect_eq(vi.codebook_dim, 6);
    cr_expect_eq(vi.feature_dim, 32);
    cr_expect_eq(vi.use_cosine_sim, 0);
    cr_expect_eq(vi.attn_heads, 3);
    cr_expect_eq(vi.attn_dim_head, 5);
    cr_expect_eq(vi.resnet_groups, 2);
    cr_expect_eq(vi.first_conv_kernel_size, 5);
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(vi.layer_mults[i], mults[i], "stage %d", i);
        cr_expect_eq(vi.num_resnet_blocks[i], res[i], "stage %d", i);
        cr_expect_eq(vi.use_attn[i], attn[i], "stage %d", i);
    }
    for (int i = 3; i < 16; i++)
        cr_expect(vi.layer_mults[i] == 0 && vi.num_resnet_blocks[i] == 0 && vi.use_attn[i] == 0,
                  "unused stage %d not zeroed", i);
    nuwa_model_unref(&m);

    /* the small cosine RGB model */
    m = small_model(3);
    cr_assert_eq(nuwa_model_vae_info(m, &vi), 0);
    cr_expect(vi.image_size == 16 && vi.channels == 3 && vi.fmap_size == 4 && vi.tokens_per_frame == 16 &&
              vi.codebook_size == 16 && vi.codebook_dim == 4 && vi.feature_dim == 16 && vi.use_cosine_sim == 1);
    nuwa_model_unref(&m);
}

typedef struct Described {
    int n;
    char names[128][64];
    int n_dims[128];
    int64_t shape[128][4];
} Described;

static void describe_cb(void *opaque, const char *name, int n_dims, const int64_t *shape)
{
    Described *d = opaque;
    cr_assert_lt(d->n, 128);
    cr_assert_lt(strlen(name), sizeof(d->names[0]));
    strcpy(d->names[d->n], name);
    d->n_dims[d->n] = n_dims;
    for (int i = 0; i < 4; i++)
        d->shape[d->n][i] = i < n_dims ? shape[i] : 1;
    d->n++;
}

Test(api, tensor_table)
{
    NwVae hp;
    static Described d;
    small_hp(&hp, 3);
    memset(&d, 0, sizeof(d));
    cr_assert_eq(nw_vae_describe(&hp, describe_cb, &d), 0);
    NuwaModel *m = load_hp(&hp, 42);
    const int n = nuwa_model_tensor_count(m);
    cr_assert_eq(n, d.n, "%d tensors listed, %d described", n, d.n);
    uint64_t end = 0;
    int seen_first = 0, seen_codebook = 0;
    for (int i = 0; i < n; i++) {
        NuwaTensorInfo ti;
        cr_assert_eq(nuwa_model_tensor_info(m, i, &ti), 0);
        cr_assert_not_null(ti.name);
        cr_expect_str_eq(ti.name, d.names[i], "tensor %d", i);
        cr_expect_str_eq(ti.type, "F32", "%s", ti.name);
        cr_expect_eq(ti.n_dims, d.n_dims[i], "%s", ti.name);
        uint64_t elems = 1;
        for (int k = 0; k < 4; k++) {
            cr_expect_eq(ti.shape[k], d.shape[i][k], "%s dim %d", ti.name, k);
            elems *= (uint64_t)ti.shape[k];
        }
        cr_expect_eq(ti.size, 4 * elems, "%s", ti.name);
        cr_expect_eq(ti.offset % 32, 0, "%s offset %llu", ti.name, (unsigned long long)ti.offset);
        cr_expect_geq(ti.offset, end, "%s overlaps its predecessor", ti.name);
        end = ti.offset + ti.size;
        if (!strcmp(ti.name, "vae.encoders.0.weight")) {
            seen_first = 1;
            cr_expect(ti.n_dims == 4 && ti.shape[0] == 8 && ti.shape[1] == 3 && ti.shape[2] == 3 &&
                      ti.shape[3] == 3, "first conv is not (8,3,3,3)");
        }
        if (!strcmp(ti.name, "vae.vq._codebook.embed")) {
            seen_codebook = 1;
            cr_expect(ti.n_dims == 2 && ti.shape[0] == 16 && ti.shape[1] == 4, "codebook is not (16,4)");
        }
    }
    cr_expect(seen_first && seen_codebook);
    NuwaTensorInfo ti;
    cr_expect_eq(nuwa_model_tensor_info(m, n, &ti), NUWA_ERR_INVAL);
    nuwa_model_unref(&m);
}

/* ---- threads ---------------------------------------------------------------------------- */

#define N_WORKERS 2
#define N_FRAMES 3

typedef struct Worker {
    NuwaModel *model;
    const NuwaFrame *frames;
    int threads;
    int32_t tok[N_FRAMES * T_SMALL];
    float *dec;
    int err;
} Worker;

static void *worker(void *opaque)
{
    Worker *w = opaque;
    NuwaSessionParams sp;
    NuwaSession *s = NULL;
    nuwa_session_params_default(&sp);
    sp.n_threads = w->threads;
    w->err = nuwa_session_create(&s, w->model, &sp);
    for (int rep = 0; rep < 3 && !w->err; rep++) {
        w->err = nuwa_vae_encode(s, w->frames, N_FRAMES, w->tok);
        if (!w->err) {
            NuwaFrame f = {NUWA_FRAME_FLOAT, S_SMALL, S_SMALL, 3, w->dec, S_SMALL, 0};
            w->err = nuwa_vae_decode(s, w->tok, 1, &f);
        }
    }
    nuwa_session_destroy(&s);
    nuwa_model_unref(&w->model);
    return NULL;
}

Test(api, threads_share_one_model)
{
    NuwaModel *m = small_model(3);
    uint8_t *px[N_FRAMES];
    NuwaFrame f[N_FRAMES];
    const size_t npx = (size_t)3 * S_SMALL * S_SMALL;
    for (int i = 0; i < N_FRAMES; i++) {
        px[i] = random_pixels(100 + i, 3);
        f[i] = packed_frame(px[i], 3);
    }
    int32_t ref[N_FRAMES * T_SMALL];
    float *dref = malloc(sizeof(float) * npx);
    NuwaSession *s = session(m, 1, NULL);
    cr_assert_eq(nuwa_vae_encode(s, f, N_FRAMES, ref), 0);
    NuwaFrame df = {NUWA_FRAME_FLOAT, S_SMALL, S_SMALL, 3, dref, S_SMALL, 0};
    cr_assert_eq(nuwa_vae_decode(s, ref, 1, &df), 0);
    nuwa_session_destroy(&s);

    static Worker w[N_WORKERS];
    pthread_t th[N_WORKERS];
    for (int i = 0; i < N_WORKERS; i++) {
        w[i].model = nuwa_model_ref(m);
        w[i].frames = f;
        w[i].threads = 1 + i;
        w[i].err = 0;
        w[i].dec = malloc(sizeof(float) * npx);
        cr_assert_eq(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    nuwa_model_unref(&m); /* the workers hold the last references */
    for (int i = 0; i < N_WORKERS; i++) {
        cr_assert_eq(pthread_join(th[i], NULL), 0);
        cr_expect_eq(w[i].err, 0, "worker %d: %s", i, nuwa_strerror(w[i].err));
        cr_expect_arr_eq(w[i].tok, ref, sizeof(ref), "worker %d: other tokens", i);
        cr_expect_arr_eq(w[i].dec, dref, sizeof(float) * npx, "worker %d: other decoded frame", i);
        cr_expect_null(w[i].model);
        free(w[i].dec);
    }
    for (int i = 0; i < N_FRAMES; i++)
        free(px[i]);
    free(dref);
}
