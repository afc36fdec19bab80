/*
 * bench_vqgan — times libnuwa's VQGAN encode and decode of 256x256 frames on the benchmark
 * model (dim 64, 4 layers, 1 resnet block, attention on, 8 heads x 64, codebook 512 x 256
 * cosine; random weights), through the public API. bench/run.sh runs it beside the PyTorch
 * reference (bench/ref_vqgan.py) with the same thread count and prints the ratios.
 *
 *   bench_vqgan [--threads N] [--iters I] [--batch B] [--json]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nuwa.h"
#include "testutil.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof(*v), cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), iters = 5, batch = 1, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "usage: bench_vqgan [--threads N] [--iters I] [--batch B] [--json]\n");
            return 2;
        }
    }
    if (threads < 1 || iters < 1 || batch < 1 || iters > 1000 || batch > 64) {
        fprintf(stderr, "bench_vqgan: bad arguments\n");
        return 2;
    }

    const int res[4] = {0, 0, 0, 1}, attn[4] = {0, 0, 0, 1};
    NwVae hp;
    vae_hparams(&hp, 256, 3, 64, 4, NULL, res, attn, 8, 64, 16, 5, 512, 256, 1);
    uint8_t *buf;
    size_t size;
    char path[512];
    if (vae_random_gguf(&hp, 1, NW_TYPE_F32, &buf, &size) || write_temp("bench", buf, size, path, sizeof(path))) {
        fprintf(stderr, "bench_vqgan: cannot write the benchmark model\n");
        return 1;
    }
    free(buf);

    NuwaModel *m = NULL;
    NuwaSession *s = NULL;
    NuwaSessionParams sp;
    int err = nuwa_model_load(&m, path, NULL);
    unlink(path);
    if (err < 0) {
        fprintf(stderr, "bench_vqgan: load failed: %s\n", nuwa_strerror(err));
        return 1;
    }
    nuwa_session_params_default(&sp);
    sp.n_threads = threads;
    if ((err = nuwa_session_create(&s, m, &sp)) < 0) {
        fprintf(stderr, "bench_vqgan: session failed: %s\n", nuwa_strerror(err));
        return 1;
    }
    NuwaVaeInfo info;
    nuwa_model_vae_info(m, &info);
    const int S = info.image_size, T = info.tokens_per_frame;
    float *px = malloc(sizeof(float) * 3 * S * S * batch);
    int32_t *tok = malloc(sizeof(int32_t) * T * batch);
    NuwaFrame *frames = calloc(batch, sizeof(*frames));
    double *te = calloc(iters, sizeof(double)), *td = calloc(iters, sizeof(double));
    if (!px || !tok || !frames || !te || !td)
        return 1;
    TRng r = {7};
    fill_uniform(&r, px, (size_t)3 * S * S * batch, 0.f, 1.f);
    for (int b = 0; b < batch; b++)
        frames[b] = (NuwaFrame){NUWA_FRAME_FLOAT, S, S, 3, px + (size_t)b * 3 * S * S, S, 0};

    /* warm-up */
    if (nuwa_vae_encode(s, frames, batch, tok) < 0 || nuwa_vae_decode(s, tok, batch, frames) < 0)
        return 1;
    fill_uniform(&r, px, (size_t)3 * S * S * batch, 0.f, 1.f);
    for (int i = 0; i < iters; i++) {
        double t0 = now_ms();
        nuwa_vae_encode(s, frames, batch, tok);
        double t1 = now_ms();
        nuwa_vae_decode(s, tok, batch, frames);
        double t2 = now_ms();
        te[i] = (t1 - t0) / batch;
        td[i] = (t2 - t1) / batch;
    }
    const double enc = median(te, iters), dec = median(td, iters);
    if (json)
        printf("{\"impl\": \"libnuwa %s\", \"threads\": %d, \"batch\": %d, \"encode_ms\": %.2f, \"decode_ms\": %.2f}\n",
               nuwa_version(), threads, batch, enc, dec);
    else
        printf("libnuwa %s, %d threads, batch %d: encode %.1f ms/frame, decode %.1f ms/frame\n",
               nuwa_version(), threads, batch, enc, dec);
    free(px);
    free(tok);
    free(frames);
    free(te);
    free(td);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    return 0;
}
