/*
 * bench_nuwa — times NUWA generation and prefill on the benchmark configuration: 8 frames of
 * 8x8 tokens, dim 256, decoder depth 6 (8 heads x 32), text encoder depth 2, 3x3x3 3DNA, shift
 * on, codebook 512, cond_scale 2; random weights. bench/run_nuwa.sh runs it beside the PyTorch
 * reference (bench/ref_nuwa.py) with the same thread count.
 *
 *   bench_nuwa [--threads N] [--tokens N] [--json]
 *
 * generate: tokens/s of nuwa_session_generate over the whole video (every token, cond + uncond
 *           passes, incremental); prefill: tokens/s of one full-sequence decoder pass over the
 *           8 x 64 tokens (the work the reference's forward does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nuwa.h"
#include "ops.h"
#include "testutil.h"
#include "transformer.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), json = 0, frames = 8;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--frames") && i + 1 < argc)
            frames = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "usage: bench_nuwa [--threads N] [--frames F] [--json]\n");
            return 2;
        }
    }
    if (threads < 1 || frames < 1 || frames > 64)
        return 2;

    /* VQGAN only supplies fmap 8 and the codebook size here */
    const int res[3] = {0, 0, 0}, attn[3] = {0, 0, 0};
    NwVae vh;
    vae_hparams(&vh, 64, 3, 16, 3, NULL, res, attn, 2, 8, 4, 3, 512, 64, 1);
    NwNuwa nh;
    memset(&nh, 0, sizeof(nh));
    nh.dim = 256;
    nh.max_frames = 8;
    nh.text_vocab = 49408;
    nh.text_len = 256;
    nh.enc_depth = 2;
    nh.enc_heads = 8;
    nh.enc_dh = 32;
    nh.rotary = 1;
    nh.dec_depth = 6;
    nh.dec_heads = 8;
    nh.dec_dh = 32;
    nh.shift = 1;
    nh.kernel[0] = nh.kernel[1] = nh.kernel[2] = 3;
    nh.n_dil = 1;
    nh.dil[0] = 1;
    uint8_t *buf;
    size_t size;
    char path[512];
    if (nuwa_random_gguf(&vh, &nh, 3, &buf, &size) || write_temp("bench-nuwa", buf, size, path, sizeof(path))) {
        fprintf(stderr, "bench_nuwa: cannot write the benchmark model\n");
        return 1;
    }
    free(buf);
    NuwaModel *m = NULL;
    NuwaSession *s = NULL;
    NuwaSessionParams sp;
    int err = nuwa_model_load(&m, path, NULL);
    unlink(path);
    if (err < 0)
        return 1;
    nuwa_session_params_default(&sp);
    sp.n_threads = threads;
    if (nuwa_session_create(&s, m, &sp) < 0)
        return 1;
    NuwaGenParams gp;
    nuwa_gen_params_default(&gp);
    gp.cond_scale = 2.f;
    gp.seed = 1;
    const int32_t text[8] = {320, 2368, 6765, 320, 3701, 256, 0, 0};
    const int T = 64;
    int32_t *tok = malloc(sizeof(int32_t) * frames * T);

    /* generation of the whole video */
    if (nuwa_session_start_ids(s, text, 8, &gp) < 0)
        return 1;
    double t0 = now_s();
    if (nuwa_session_generate(s, frames, tok) < 0)
        return 1;
    const double gen_s = now_s() - t0;

    /* prefill: one full-sequence decoder pass over the 8 x 64 tokens (cond only) */
    NwOps ops;
    nw_ops_init_cpu(&ops, nw_cpu_flags());
    NwGguf *g;
    char e[256];
    NwLog log = {0};
    NwNuwa tf;
    uint8_t *buf2;
    size_t size2;
    nuwa_random_gguf(&vh, &nh, 3, &buf2, &size2);
    nw_gguf_open_memory(&g, buf2, size2, e, sizeof(e));
    if (nw_nuwa_load(&tf, g, 8, 512, &log) < 0)
        return 1;
    const int n = 8 * T;
    NwCtx ctx = {threads, NULL, 0, NULL, NULL};
    NwTfWork w;
    NwTextCtx tc;
    NwDecState st;
    nw_tf_work_alloc(&w, &tf, &ops, &ctx, n, threads);
    nw_text_ctx_alloc(&tc, &tf, &ops, &ctx);
    nw_dec_state_alloc(&st, &tf, &ops, &ctx, n);
    int32_t padded[256] = {0};
    memcpy(padded, text, sizeof(text));
    nw_text_encode(&tf, &ops, &ctx, &w, padded, &tc, NULL);
    float *rows = malloc(sizeof(float) * n * tf.dim), *logits = malloc(sizeof(float) * n * tf.V);
    int32_t *ids = malloc(sizeof(int32_t) * n);
    for (int p = 1; p < n; p++)
        ids[p - 1] = tok[(p - 1) % (frames * T)];
    nw_dec_inputs(&tf, &ops, &ctx, ids, 0, n, rows);
    nw_dec_run(&tf, &ops, &ctx, &w, &tc, 0, &st, rows, n, NULL, logits, 0); /* warm-up */
    double best = 1e30;
    for (int it = 0; it < 3; it++) {
        nw_dec_state_reset(&st);
        t0 = now_s();
        nw_dec_run(&tf, &ops, &ctx, &w, &tc, 0, &st, rows, n, NULL, logits, 0);
        const double dt = now_s() - t0;
        best = dt < best ? dt : best;
    }
    const double gen_tps = frames * T / gen_s, pre_tps = n / best;
    if (json)
        printf("{\"impl\": \"libnuwa %s\", \"threads\": %d, \"frames\": %d, \"generate_tok_s\": %.2f, "
               "\"prefill_tok_s\": %.1f}\n", nuwa_version(), threads, frames, gen_tps, pre_tps);
    else
        printf("libnuwa %s, %d threads: generate %d frames x 64 tokens (cond_scale 2): %.1f tok/s; "
               "prefill %d tokens: %.0f tok/s\n", nuwa_version(), threads, frames, gen_tps, n, pre_tps);
    free(rows);
    free(ids);
    free(logits);
    free(tok);
    nw_dec_state_free(&st, &ops, &ctx);
    nw_text_ctx_free(&tc, &ops, &ctx);
    nw_tf_work_free(&w, &ops, &ctx);
    nw_nuwa_free(&tf);
    nw_gguf_close(&g);
    free(buf2);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    return 0;
}
