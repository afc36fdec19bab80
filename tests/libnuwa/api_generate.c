/*
 * tests/libnuwa/api_generate.c — the public generation API on the fixture models: clear errors
 * for bad input (no transformer, no tokenizer, generate before start, bad parameters, text ids
 * out of range or too long, wrong-size context frames, frame count < 0), determinism (same seed
 * → same video; thread count irrelevant), push_frames == encode + push_tokens, the progress
 * callback can stop a run, and the tokenizer through the API.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "nuwa.h"
#include "testutil.h"

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

static NuwaSession *session(NuwaModel *m, int threads)
{
    NuwaSessionParams sp;
    NuwaSession *s = NULL;
    nuwa_session_params_default(&sp);
    sp.n_threads = threads;
    sp.log_cb = capture;
    sp.log_level = NUWA_LOG_DEBUG;
    cr_assert_eq(nuwa_session_create(&s, m, &sp), 0);
    return s;
}

Test(api_generate, errors_are_clear)
{
    NuwaModel *vae = load("vae_v1.gguf"), *m = load("nuwa_n1.gguf");
    NuwaSession *sv = session(vae, 1), *s = session(m, 1);
    NuwaGenParams gp;
    int32_t tok[64];
    const int32_t ids[3] = {5, 6, 7};
    nuwa_gen_params_default(&gp);

    g_log[0] = 0;
    cr_expect_eq(nuwa_session_start_ids(sv, ids, 3, &gp), NUWA_ERR_UNSUPPORTED);
    cr_expect(strstr(g_log, "no NUWA transformer"), "log: %s", g_log);

    g_log[0] = 0;
    cr_expect_eq(nuwa_session_generate(s, 1, tok), NUWA_ERR_INVAL, "generate before start");
    cr_expect(strstr(g_log, "start"), "log: %s", g_log);

    gp.temperature = 0.f;
    g_log[0] = 0;
    cr_expect_eq(nuwa_session_start_ids(s, ids, 3, &gp), NUWA_ERR_INVAL);
    cr_expect(strstr(g_log, "temperature"), "log: %s", g_log);
    nuwa_gen_params_default(&gp);
    gp.filter_thres = 1.0;
    cr_expect_eq(nuwa_session_start_ids(s, ids, 3, &gp), NUWA_ERR_INVAL);
    nuwa_gen_params_default(&gp);

    const int32_t bad[2] = {5, 50}; /* text_num_tokens is 50 */
    g_log[0] = 0;
    cr_expect_eq(nuwa_session_start_ids(s, bad, 2, &gp), NUWA_ERR_INVAL);
    cr_expect(strstr(g_log, "text token 1 is 50"), "log: %s", g_log);
    int32_t longer[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    g_log[0] = 0;
    cr_expect_eq(nuwa_session_start_ids(s, longer, 9, &gp), NUWA_ERR_INVAL);
    cr_expect(strstr(g_log, "at most 8"), "log: %s", g_log);

    g_log[0] = 0;
    cr_expect_eq(nuwa_session_start_text(s, "a cat", &gp), NUWA_ERR_UNSUPPORTED, "the fixture has no tokenizer");
    cr_expect(strstr(g_log, "no tokenizer"), "log: %s", g_log);
    cr_expect_eq(nuwa_session_start_text(s, "", &gp), 0, "empty text = unconditional, no tokenizer needed");

    /* context frames of the wrong size, bad tokens, negative counts */
    unsigned char px[20 * 16 * 3] = {0};
    NuwaFrame f = {NUWA_FRAME_RGB24, 20, 16, 3, px, 60, 0};
    g_log[0] = 0;
    cr_expect_eq(nuwa_session_push_frames(s, &f, 1), NUWA_ERR_INVAL);
    cr_expect(strstr(g_log, "16x16"), "log: %s", g_log);
    int32_t grid[16] = {0};
    grid[3] = 40;
    cr_expect_eq(nuwa_session_push_tokens(s, grid, 1), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_session_generate(s, -1, tok), NUWA_ERR_INVAL);
    cr_expect_eq(nuwa_session_generate(s, 0, tok), 0);
    cr_expect_eq(nuwa_session_generate(NULL, 1, tok), NUWA_ERR_INVAL);

    nuwa_session_destroy(&sv);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&vae);
    nuwa_model_unref(&m);
}

static void run(NuwaModel *m, int threads, uint64_t seed, float cond, const int32_t *ctx, int n_ctx, int frames,
                int32_t *out)
{
    NuwaSession *s = session(m, threads);
    NuwaGenParams gp;
    const int32_t ids[4] = {3, 9, 27, 4};
    nuwa_gen_params_default(&gp);
    gp.seed = seed;
    gp.cond_scale = cond;
    cr_assert_eq(nuwa_session_start_ids(s, ids, 4, &gp), 0);
    if (n_ctx)
        cr_assert_eq(nuwa_session_push_tokens(s, ctx, n_ctx), 0);
    cr_assert_eq(nuwa_session_generate(s, frames, out), 0);
    nuwa_session_destroy(&s);
}

Test(api_generate, deterministic_and_thread_independent)
{
    NuwaModel *m = load("nuwa_n2.gguf");
    const int T = 16, frames = 7; /* beyond max_video_frames (3): the window slides */
    int32_t a[7 * 16], b[7 * 16], c[7 * 16], ctx[2 * 16];
    for (int i = 0; i < 2 * T; i++)
        ctx[i] = (i * 11) % 40;
    run(m, 1, 42, 2.f, ctx, 2, frames, a);
    run(m, 1, 42, 2.f, ctx, 2, frames, b);
    run(m, 3, 42, 2.f, ctx, 2, frames, c);
    cr_expect(!memcmp(a, b, sizeof(a)), "same seed, same video");
    cr_expect(!memcmp(a, c, sizeof(a)), "the thread count changes nothing");
    run(m, 1, 43, 2.f, ctx, 2, frames, b);
    cr_expect(memcmp(a, b, sizeof(a)), "another seed, another video");
    for (int i = 0; i < frames * T; i++)
        cr_expect(a[i] >= 0 && a[i] < 40);
    /* generating 3 frames then 4 more equals generating 7 */
    NuwaSession *s = session(m, 2);
    NuwaGenParams gp;
    const int32_t ids[4] = {3, 9, 27, 4};
    nuwa_gen_params_default(&gp);
    gp.seed = 42;
    cr_assert_eq(nuwa_session_start_ids(s, ids, 4, &gp), 0);
    cr_assert_eq(nuwa_session_push_tokens(s, ctx, 2), 0);
    cr_assert_eq(nuwa_session_generate(s, 3, c), 0);
    cr_assert_eq(nuwa_session_generate(s, 4, c + 3 * T), 0);
    cr_expect(!memcmp(a, c, sizeof(a)), "generation split across calls");
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
}

Test(api_generate, push_frames_equals_encoded_tokens)
{
    NuwaModel *m = load("nuwa_n1.gguf");
    NuwaSession *s = session(m, 2);
    unsigned char px[2][16 * 16 * 3];
    for (int i = 0; i < 16 * 16 * 3; i++) {
        px[0][i] = (unsigned char)(i * 7);
        px[1][i] = (unsigned char)(i * 13 + 5);
    }
    NuwaFrame f[2] = {{NUWA_FRAME_RGB24, 16, 16, 3, px[0], 48, 0}, {NUWA_FRAME_RGB24, 16, 16, 3, px[1], 48, 0}};
    int32_t enc[32], a[32], b[32];
    cr_assert_eq(nuwa_vae_encode(s, f, 2, enc), 0);
    NuwaGenParams gp;
    nuwa_gen_params_default(&gp);
    gp.seed = 7;
    cr_assert_eq(nuwa_session_start_ids(s, NULL, 0, &gp), 0);
    cr_assert_eq(nuwa_session_push_frames(s, f, 2), 0);
    cr_assert_eq(nuwa_session_generate(s, 2, a), 0);
    cr_assert_eq(nuwa_session_start_ids(s, NULL, 0, &gp), 0);
    cr_assert_eq(nuwa_session_push_tokens(s, enc, 2), 0);
    cr_assert_eq(nuwa_session_generate(s, 2, b), 0);
    cr_expect(!memcmp(a, b, sizeof(a)));
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
}

static int stop_after_5(void *opaque, int64_t done, int64_t total)
{
    (void)total;
    *(int64_t *)opaque = done;
    return done >= 5;
}

Test(api_generate, progress_can_stop)
{
    NuwaModel *m = load("nuwa_n1.gguf");
    NuwaSession *s = session(m, 1);
    NuwaGenParams gp;
    int64_t seen = 0;
    int32_t tok[32];
    nuwa_gen_params_default(&gp);
    gp.progress = stop_after_5;
    gp.progress_opaque = &seen;
    cr_assert_eq(nuwa_session_start_ids(s, NULL, 0, &gp), 0);
    cr_expect_eq(nuwa_session_generate(s, 2, tok), NUWA_ERR_AGAIN);
    cr_expect_eq(seen, 5);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
}

Test(api_generate, tokenizer_through_the_api)
{
    /* a VQGAN model file carrying the CLIP merges of the tokenizer fixture */
    char path[1024], err[256], tmp[512];
    NwGguf *tg;
    snprintf(path, sizeof(path), "%s/tests/fixtures/tokenizer.gguf", NUWA_SOURCE_DIR);
    cr_assert_eq(nw_gguf_open(&tg, path, err, sizeof(err)), 0, "%s", err);
    const NwGgufKV *kv = nw_gguf_find_kv(tg, "nuwa.tokenizer.merges");
    cr_assert(kv && kv->strs);
    NwVae hp;
    const int res[2] = {0, 0}, attn[2] = {0, 0};
    vae_hparams(&hp, 16, 3, 8, 2, NULL, res, attn, 2, 4, 4, 3, 16, 8, 1);
    uint8_t *buf;
    size_t size;
    cr_assert_eq(vae_random_gguf_with_merges(&hp, 1, (const char *const *)kv->strs, kv->n, &buf, &size), 0);
    nw_gguf_close(&tg);
    cr_assert_eq(write_temp("tok", buf, size, tmp, sizeof(tmp)), 0);
    free(buf);
    NuwaModel *m = NULL;
    cr_assert_eq(nuwa_model_load(&m, tmp, NULL), 0);
    unlink(tmp);
    NuwaTransformerInfo ti;
    nuwa_model_transformer_info(m, &ti);
    cr_expect(ti.has_tokenizer && !ti.present);
    int32_t ids[16];
    int n = 0;
    cr_assert_eq(nuwa_tokenize(m, "a cat riding a bike!", ids, 16, &n), 0);
    const int32_t want[6] = {320, 2368, 6765, 320, 3701, 256};
    cr_assert_eq(n, 6);
    cr_expect(!memcmp(ids, want, sizeof(want)));
    cr_expect_eq(nuwa_tokenize(m, "a cat riding a bike!", ids, 3, &n), NUWA_ERR_INVAL, "too long");
    cr_expect_eq(n, 6, "the full count is reported");
    cr_expect_eq(nuwa_tokenize(m, "\xff", ids, 16, &n), NUWA_ERR_INVAL, "invalid UTF-8");
    nuwa_model_unref(&m);
    NuwaModel *v = load("vae_v1.gguf");
    cr_expect_eq(nuwa_tokenize(v, "a", ids, 16, &n), NUWA_ERR_UNSUPPORTED);
    nuwa_model_unref(&v);
}

Test(api_generate, batch_equals_single_sessions)
{
    NuwaModel *m = load("nuwa_n2.gguf");
    const int T = 16, frames = 4;
    NuwaSession *s[3];
    int32_t single[3][4 * 16], batch[3][4 * 16];
    int32_t *outs[3] = {batch[0], batch[1], batch[2]};
    const int32_t texts[3][2] = {{3, 9}, {11, 0}, {40, 41}};
    for (int i = 0; i < 3; i++) {
        NuwaGenParams gp;
        nuwa_gen_params_default(&gp);
        gp.seed = 100 + i;
        s[i] = session(m, 2);
        cr_assert_eq(nuwa_session_start_ids(s[i], texts[i], 2, &gp), 0);
        cr_assert_eq(nuwa_session_generate(s[i], frames, single[i]), 0);
        cr_assert_eq(nuwa_session_start_ids(s[i], texts[i], 2, &gp), 0); /* again from the start */
    }
    cr_assert_eq(nuwa_generate_batch(s, 3, frames, outs), 0);
    for (int i = 0; i < 3; i++)
        cr_expect(!memcmp(single[i], batch[i], sizeof(int32_t) * frames * T), "session %d differs in the batch", i);
    NuwaSession *dup[2] = {s[0], s[0]};
    cr_expect_eq(nuwa_generate_batch(dup, 2, 1, outs), NUWA_ERR_INVAL, "the same session twice");
    /* generate_frames decodes what it samples */
    unsigned char px[2][16 * 16 * 3];
    NuwaFrame f[2] = {{NUWA_FRAME_RGB24, 16, 16, 3, px[0], 48, 0}, {NUWA_FRAME_RGB24, 16, 16, 3, px[1], 48, 0}};
    int32_t tok[32];
    cr_assert_eq(nuwa_session_generate_frames(s[0], 2, f, tok), 0);
    unsigned char px2[16 * 16 * 3];
    NuwaFrame f2 = {NUWA_FRAME_RGB24, 16, 16, 3, px2, 48, 0};
    cr_assert_eq(nuwa_vae_decode(s[0], tok + 16, 1, &f2), 0);
    cr_expect(!memcmp(px[1], px2, sizeof(px2)));
    for (int i = 0; i < 3; i++)
        nuwa_session_destroy(&s[i]);
    nuwa_model_unref(&m);
}
