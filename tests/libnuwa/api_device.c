/*
 * tests/libnuwa/api_device.c — sessions on a device through the public API: bad device names
 * and an unavailable CUDA backend fail at session creation with a message naming the cause;
 * with the CUDA backend module available (the CPU emulator of the kernels in `make test`,
 * NUWA_CUDA_MODULE), a "cuda" session gives the CPU session's tokens and frames: encode,
 * decode, prompt, context frames and generation with guidance across a window slide.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_module.h"
#include "nuwa.h"

#ifndef NUWA_SOURCE_DIR
#define NUWA_SOURCE_DIR "."
#endif

static char g_log[4096];

static void capture(void *opaque, int level, const char *fmt, va_list ap)
{
    (void)opaque;
    (void)level;
    const size_t n = strlen(g_log);
    vsnprintf(g_log + n, sizeof(g_log) - n, fmt, ap);
}

static NuwaModel *load(const char *name)
{
    char path[1024];
    NuwaModel *m = NULL;
    snprintf(path, sizeof(path), "%s/tests/fixtures/%s", NUWA_SOURCE_DIR, name);
    cr_assert_eq(nuwa_model_load(&m, path, NULL), 0, "%s", path);
    return m;
}

static int session_on(NuwaModel *m, const char *device, NuwaSession **s)
{
    NuwaSessionParams sp;
    nuwa_session_params_default(&sp);
    sp.n_threads = 2;
    sp.device = device;
    sp.log_cb = capture;
    sp.log_level = NUWA_LOG_INFO;
    g_log[0] = 0;
    return nuwa_session_create(s, m, &sp);
}

/* 1 when the CUDA backend module opens and has a device (else prints why). */
static int have_cuda(void)
{
    NwCudaModule *mod = NULL;
    const NwCudaApi *api = NULL;
    char msg[320];
    int n = 0;
    if (nw_cuda_module_open(&mod, &api, msg, sizeof(msg)) < 0) {
        printf("skipped: %s\n", msg);
        return 0;
    }
    const int r = api->device_count(&n, msg, sizeof(msg));
    nw_cuda_module_close(&mod);
    if (r < 0 || n < 1) {
        printf("skipped: %s\n", r < 0 ? msg : "no CUDA device");
        return 0;
    }
    return 1;
}

Test(api_device, bad_names_fail_clearly)
{
    NuwaModel *m = load("vae_v1.gguf");
    NuwaSession *s = NULL;
    cr_expect_eq(session_on(m, "gpu", &s), NUWA_ERR_INVAL);
    cr_expect_null(s);
    cr_expect_not_null(strstr(g_log, "unknown device 'gpu'"), "%s", g_log);
    cr_expect_eq(session_on(m, "cuda:x", &s), NUWA_ERR_INVAL);
    cr_expect_eq(session_on(m, "cpu", &s), 0);
    nuwa_session_destroy(&s);
    cr_expect_eq(session_on(m, NULL, &s), 0);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
}

Test(api_device, unavailable_cuda_fails_at_creation)
{
    NuwaModel *m = load("vae_v1.gguf");
    NuwaSession *s = NULL;
    const char *saved = getenv("NUWA_CUDA_MODULE");
    char *keep = saved ? strdup(saved) : NULL;
    /* no module */
    setenv("NUWA_CUDA_MODULE", "/nonexistent/libnuwa-cuda.so.0", 1);
    const int r = session_on(m, "cuda", &s);
    cr_expect(r == NUWA_ERR_UNSUPPORTED, "cuda without a module: %d (%s)", r, g_log);
    cr_expect_null(s);
    cr_expect_not_null(strstr(g_log, "cuda"), "the message names the device: %s", g_log);
    /* a device index that does not exist, where a module is available */
    if (keep)
        setenv("NUWA_CUDA_MODULE", keep, 1);
    else
        unsetenv("NUWA_CUDA_MODULE");
    if (have_cuda()) {
        cr_expect_eq(session_on(m, "cuda:77", &s), NUWA_ERR_INVAL, "%s", g_log);
        cr_expect_not_null(strstr(g_log, "77"), "%s", g_log);
        cr_expect_null(s);
    }
    free(keep);
    nuwa_model_unref(&m);
}

Test(api_device, cuda_session_equals_cpu_session)
{
    if (!have_cuda())
        return;
    NuwaModel *m = load("nuwa_n2.gguf");
    NuwaSession *sc = NULL, *sg = NULL;
    cr_assert_eq(session_on(m, "cpu", &sc), 0);
    cr_assert_eq(session_on(m, "cuda", &sg), 0, "%s", g_log);
    NuwaVaeInfo vi;
    cr_assert_eq(nuwa_model_vae_info(m, &vi), 0);
    const int S = vi.image_size, C = vi.channels, T = vi.tokens_per_frame, frames = 5;
    /* a frame: encode and decode on both */
    unsigned char *px = malloc((size_t)S * S * C), *oc = malloc((size_t)S * S * C), *og = malloc((size_t)S * S * C);
    for (int i = 0; i < S * S * C; i++)
        px[i] = (unsigned char)((i * 37 + (i / 7) * 11) & 255);
    NuwaFrame f = {C == 3 ? NUWA_FRAME_RGB24 : NUWA_FRAME_GRAY8, S, S, C, px, (ptrdiff_t)S * C, 0};
    int32_t *tc = malloc(sizeof(int32_t) * T * (frames + 2)), *tg = malloc(sizeof(int32_t) * T * (frames + 2));
    cr_assert_eq(nuwa_vae_encode(sc, &f, 1, tc), 0);
    cr_assert_eq(nuwa_vae_encode(sg, &f, 1, tg), 0);
    cr_expect(!memcmp(tc, tg, sizeof(int32_t) * T), "encode: cuda tokens differ from cpu");
    NuwaFrame fc = f, fg = f;
    fc.data = oc;
    fg.data = og;
    cr_assert_eq(nuwa_vae_decode(sc, tc, 1, &fc), 0);
    cr_assert_eq(nuwa_vae_decode(sg, tc, 1, &fg), 0);
    int worst = 0;
    for (int i = 0; i < S * S * C; i++)
        worst = abs((int)oc[i] - og[i]) > worst ? abs((int)oc[i] - og[i]) : worst;
    cr_expect_leq(worst, 1, "decode: 8-bit pixels differ by %d", worst);
    /* generation with guidance beyond max_video_frames (the window slides) */
    NuwaGenParams gp;
    nuwa_gen_params_default(&gp);
    gp.seed = 7;
    const int32_t ids[4] = {3, 9, 27, 4};
    int32_t ctx[2 * 16];
    cr_assert_eq(T, 16);
    for (int i = 0; i < 2 * T; i++)
        ctx[i] = (i * 11) % 40;
    cr_assert_eq(nuwa_session_start_ids(sc, ids, 4, &gp), 0);
    cr_assert_eq(nuwa_session_start_ids(sg, ids, 4, &gp), 0);
    cr_assert_eq(nuwa_session_push_tokens(sc, ctx, 2), 0);
    cr_assert_eq(nuwa_session_push_tokens(sg, ctx, 2), 0);
    cr_assert_eq(nuwa_session_generate(sc, frames, tc), 0);
    cr_assert_eq(nuwa_session_generate(sg, frames, tg), 0, "%s", g_log);
    int diff = -1;
    for (int i = 0; i < frames * T && diff < 0; i++)
        if (tc[i] != tg[i])
            diff = i;
    cr_expect_lt(diff, 0, "generate: cuda token %d differs from cpu", diff);
    /* a second session on the same device shares the model's uploaded weights */
    NuwaSession *sg2 = NULL;
    cr_assert_eq(session_on(m, "cuda:0", &sg2), 0, "%s", g_log);
    cr_assert_eq(nuwa_session_start_ids(sg2, ids, 4, &gp), 0);
    cr_assert_eq(nuwa_session_push_tokens(sg2, ctx, 2), 0);
    cr_assert_eq(nuwa_session_generate(sg2, frames, tc), 0);
    cr_expect(!memcmp(tc, tg, sizeof(int32_t) * frames * T), "second cuda session differs");
    nuwa_session_destroy(&sg2);
    nuwa_session_destroy(&sc);
    nuwa_session_destroy(&sg);
    nuwa_model_unref(&m);
    free(px);
    free(oc);
    free(og);
    free(tc);
    free(tg);
}
