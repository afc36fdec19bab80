/*
 * bench_cuda.c — timings of the CUDA backend's single ops at the shapes of the target model:
 * 256x256 RGB frames; VQGAN dim 64, 4 layers (16x16 tokens), one residual block and attention
 * (8 x 64) at the last stage, cosine codebook 512 x 256 with projections; NUWA dim 512, 12
 * decoder layers of 8 heads x 64, GEGLU inner 1365, 3DNA kernel (5,3,3), 10 frames (2560 video
 * tokens), text 256.
 *
 * Weights and inputs are random. Each op is timed as the mean over a batch of back-to-back
 * calls between two stream synchronisations (the batch doubles until it lasts 50 ms), so the
 * small ops include the launch overhead they would have in a decode loop. For kernel work: the
 * whole model (VQGAN, generation, batched streams) is timed end to end through the public API by
 * bench/bench_gpu.c, which replaced the hand-made VQGAN and decoder passes this file had.
 * bench/gpu.sh runs both on a GPU machine; alone: make build/bench_cuda && build/bench_cuda.
 *
 * Usage: bench_cuda [--device cuda:N] [--tf32] [--quick]
 * Exit status: 0, 2 without a CUDA device (the reason is printed), 1 when an op fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cuda/backend.h"
#include "device.h"
#include "nuwa.h"
#include "ops.h"
#include "testutil.h"

/* target configuration (NW_BENCH_IMG=64 shrinks the frames for a smoke run on the emulator) */
#ifdef NW_BENCH_IMG
#define IMG NW_BENCH_IMG
#else
#define IMG 256
#endif
#define VAE_DIM 64
#define FMAP (IMG / 16)
#define T_TOK (FMAP * FMAP)
#define CODES 512
#define CD 256
#define CZ 512 /* VQGAN feature channels at the last stage */
#define GROUPS 16
#define HEADS 8
#define DH 64
#define INNER (HEADS * DH)
#define DIM 512
#define FF 1365
#define KF 5
#define KH 3
#define KW 3
#define NK (KF * KH * KW)
#define FRAMES 10
#define ROWS (FRAMES * T_TOK)
#define TEXT 256

typedef struct Bench {
    NwCudaDev *d;
    NwOps ops;
    NwCtx ctx;
    TRng rng;
    double min_s;
    int failed;
} Bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A device buffer of n floats: normal(0, scale) values, or zeros when scale is 0. */
static float *dbuf(Bench *b, size_t n, float scale)
{
    void *p = NULL;
    float *h = calloc(n ? n : 1, sizeof(float));
    if (!h || nw_cuda_malloc(b->d, &p, n * sizeof(float)) < 0) {
        fprintf(stderr, "bench_cuda: %s\n", h ? nw_cuda_dev_errmsg(b->d) : "out of host memory");
        exit(1);
    }
    if (scale != 0.f)
        fill_normal(&b->rng, h, n, scale);
    nw_cuda_upload(b->d, p, h, n * sizeof(float));
    free(h);
    return p;
}

/* Grows the context's scratch to n floats. */
static void need(Bench *b, size_t n)
{
    if (n > b->ctx.scratch_len && nw_cuda_ctx(b->d, n, &b->ctx) < 0) {
        fprintf(stderr, "bench_cuda: %s\n", nw_cuda_dev_errmsg(b->d));
        exit(1);
    }
}

static int sync_failed(Bench *b, const char *what)
{
    if (nw_cuda_dev_sync(b->d) == 0)
        return 0;
    printf("%-18s FAILED: %s\n", what, nw_cuda_dev_errmsg(b->d));
    nw_cuda_dev_clear_error(b->d);
    b->failed = 1;
    return 1;
}

static void report(const char *what, const char *shape, double s, double flops, double bytes)
{
    printf("%-18s %-44s %11.2f us", what, shape, s * 1e6);
    if (flops > 0)
        printf(" %9.1f GFLOP/s", flops / s * 1e-9);
    if (bytes > 0)
        printf(" %8.1f GB/s", bytes / s * 1e-9);
    printf("\n");
    fflush(stdout);
}

/* Times CALL (a statement using b): one warm-up call, then batches of back-to-back calls. */
#define TIME(b, what, shape, flops, bytes, CALL)                           \
    do {                                                                   \
        long k_ = 1;                                                       \
        double dt_ = 0;                                                    \
        CALL;                                                              \
        if (sync_failed(b, what))                                          \
            break;                                                         \
        for (;;) {                                                         \
            const double t0_ = now_s();                                    \
            for (long i_ = 0; i_ < k_; i_++) {                             \
                CALL;                                                      \
            }                                                              \
            if (sync_failed(b, what)) {                                    \
                k_ = 0;                                                    \
                break;                                                     \
            }                                                              \
            dt_ = now_s() - t0_;                                           \
            if (dt_ >= (b)->min_s || k_ >= (1L << 16))                     \
                break;                                                     \
            k_ *= 2;                                                       \
        }                                                                  \
        if (k_)                                                            \
            report(what, shape, dt_ / k_, flops, bytes);                   \
    } while (0)

/* ---- single ops ------------------------------------------------------------------------------ */

static void bench_gemms(Bench *b)
{
    static const struct {
        const char *name;
        int out, in;
    } lin[] = {{"q / out proj", DIM, DIM}, {"kv proj", 2 * INNER, DIM}, {"ff in", 2 * FF, DIM},
               {"ff out", DIM, FF},        {"logits", CODES, DIM}};
    const int rows[] = {1, 2, ROWS};
    printf("\n== cuBLAS GEMMs: y (n, out) = x (n, in) W^T, the decoder's linears\n");
    float *x = dbuf(b, (size_t)ROWS * 2 * FF, 1.f), *w = dbuf(b, (size_t)2 * FF * DIM, 0.05f);
    float *y = dbuf(b, (size_t)ROWS * 2 * FF, 0.f);
    for (size_t li = 0; li < sizeof(lin) / sizeof(lin[0]); li++)
        for (int ri = 0; ri < 3; ri++) {
            const int n = rows[ri], o = lin[li].out, i = lin[li].in;
            char shape[64];
            snprintf(shape, sizeof(shape), "n %d, %d -> %d", n, i, o);
            TIME(b, lin[li].name, shape, 2.0 * n * o * i, 4.0 * ((double)n * i + (double)o * i + (double)n * o),
                 b->ops.matmul(&b->ctx, n, o, i, x, i, 0, w, i, 1, NULL, y, o));
        }
    nw_cuda_free(b->d, x), nw_cuda_free(b->d, w), nw_cuda_free(b->d, y);
}

static const int conv_shapes[][8] = {
    /* cin, size, cout, k, stride, pad, act, (unused): encoder, then decoder */
    {3, IMG, 64, 5, 1, 2, 0, 0},          {64, IMG, 64, 4, 2, 1, 1, 0},         {64, IMG / 2, 128, 4, 2, 1, 1, 0},
    {128, IMG / 4, 256, 4, 2, 1, 1, 0},   {256, IMG / 8, 512, 4, 2, 1, 1, 0},   {512, FMAP, 512, 3, 1, 1, 0, 0},
    {512, FMAP, 1024, 3, 1, 1, 0, 0},     {512, FMAP, 1536, 1, 1, 0, 0, 0},     {512, IMG / 8, 256, 3, 1, 1, 1, 0},
    {256, IMG / 4, 128, 3, 1, 1, 1, 0},   {128, IMG / 2, 64, 3, 1, 1, 1, 0},    {64, IMG, 64, 3, 1, 1, 1, 0},
    {64, IMG, 3, 1, 1, 0, 0, 0},
};

static void bench_convs(Bench *b, Bench *nodnn)
{
    printf("\n== conv2d (VQGAN shapes): %s, then im2col + cuBLAS\n",
           nw_cuda_dev_has_cudnn(b->d) ? "cuDNN" : "im2col + cuBLAS (no cuDNN)");
    for (int pass = 0; pass < 2; pass++) {
        Bench *c = pass ? nodnn : b;
        if (!c)
            continue;
        /* the largest input and output (64 x IMG x IMG) and weight (512 -> 1024, 3x3) of the list */
        float *in = dbuf(c, (size_t)VAE_DIM * IMG * IMG, 1.f), *w = dbuf(c, (size_t)2 * CZ * CZ * 9, 0.02f);
        float *bias = dbuf(c, 1536, 0.1f), *out = dbuf(c, (size_t)VAE_DIM * IMG * IMG, 0.f);
        for (size_t si = 0; si < sizeof(conv_shapes) / sizeof(conv_shapes[0]); si++) {
            const int *s = conv_shapes[si];
            const NwConv2d d = {s[0], s[1], s[1], s[2], s[3], s[3], s[4], s[5], s[6]};
            const int o = nw_conv_out(s[1], s[3], s[4], s[5]);
            need(c, c->ops.conv2d_scratch(&d, 1));
            char shape[64];
            snprintf(shape, sizeof(shape), "%dx%dx%d -> %dx%dx%d k%d s%d", d.cin, d.h, d.w, d.cout, o, o, d.kh,
                     d.stride);
            TIME(c, pass ? "conv2d im2col" : "conv2d", shape, 2.0 * d.cout * o * o * d.cin * d.kh * d.kw, 0,
                 c->ops.conv2d(&c->ctx, &d, in, w, bias, out));
        }
        long n[3];
        nw_cuda_dev_conv_counts(c->d, n);
        printf("%-18s %ld cuDNN, %ld im2col, %ld 1x1 GEMM calls\n", "conv2d paths", n[0], n[1], n[2]);
        nw_cuda_free(c->d, in), nw_cuda_free(c->d, w), nw_cuda_free(c->d, bias), nw_cuda_free(c->d, out);
    }
}

static void bench_small_ops(Bench *b)
{
    char shape[64];
    printf("\n== normalisation and elementwise\n");
    const size_t big = (size_t)VAE_DIM * IMG * IMG;
    float *x = dbuf(b, 2 * big, 1.f), *y = dbuf(b, 4 * big, 0.f), *g = dbuf(b, 4096, 1.f), *be = dbuf(b, 4096, 0.1f);
    TIME(b, "add (1 launch)", "n 1", 0, 8, b->ops.add(&b->ctx, y, x, 1));
    snprintf(shape, sizeof(shape), "c %d, hw %d, groups %d, lrelu", CZ, T_TOK, GROUPS);
    TIME(b, "group_norm", shape, 0, 8.0 * CZ * T_TOK,
         b->ops.group_norm(&b->ctx, x, y, CZ, T_TOK, GROUPS, g, be, 1e-5f, NW_ACT_LRELU));
    snprintf(shape, sizeof(shape), "c %d, hw %d, groups %d, lrelu", VAE_DIM, IMG * IMG, GROUPS);
    TIME(b, "group_norm", shape, 0, 12.0 * big,
         b->ops.group_norm(&b->ctx, x, y, VAE_DIM, IMG * IMG, GROUPS, g, be, 1e-5f, NW_ACT_LRELU));
    snprintf(shape, sizeof(shape), "c %d, hw %d, + res", CZ, T_TOK);
    TIME(b, "layer_norm_chan", shape, 0, 12.0 * CZ * T_TOK,
         b->ops.layer_norm_chan(&b->ctx, x, y, CZ, T_TOK, g, be, 1e-5f, y));
    snprintf(shape, sizeof(shape), "%d x %d x %d -> x2", VAE_DIM, IMG / 2, IMG / 2);
    TIME(b, "upsample2x", shape, 0, 5.0 * big, b->ops.upsample2x(&b->ctx, x, y, VAE_DIM, IMG / 2, IMG / 2));
    snprintf(shape, sizeof(shape), "c %d, hw %d", CZ, T_TOK);
    TIME(b, "glu", shape, 0, 12.0 * CZ * T_TOK, b->ops.glu(&b->ctx, x, y, CZ, T_TOK));
    snprintf(shape, sizeof(shape), "n %zu", big);
    TIME(b, "add", shape, 0, 12.0 * big, b->ops.add(&b->ctx, y, x, big));
    TIME(b, "leaky_relu", shape, 0, 8.0 * big, b->ops.leaky_relu(&b->ctx, y, big, 0.1f));
    const int rows[] = {1, ROWS};
    for (int ri = 0; ri < 2; ri++) {
        snprintf(shape, sizeof(shape), "n %d, d %d", rows[ri], DIM);
        TIME(b, "layer_norm", shape, 0, 8.0 * rows[ri] * DIM,
             b->ops.layer_norm(&b->ctx, x, y, rows[ri], DIM, g, be, 1e-5f, 0));
        TIME(b, "stable layer_norm", shape, 0, 8.0 * rows[ri] * DIM,
             b->ops.layer_norm(&b->ctx, x, y, rows[ri], DIM, g, be, 1e-5f, 1));
        snprintf(shape, sizeof(shape), "n %d, f %d", rows[ri], FF);
        TIME(b, "geglu", shape, 0, 12.0 * rows[ri] * FF, b->ops.geglu(&b->ctx, x, y, rows[ri], FF));
    }
    nw_cuda_free(b->d, x), nw_cuda_free(b->d, y), nw_cuda_free(b->d, g), nw_cuda_free(b->d, be);
}

/* Random gather lists: nk slots per row into `rows` K/V rows, a quarter masked. */
static int32_t *dgather(Bench *b, int n, int rows)
{
    int32_t *h = malloc(sizeof(int32_t) * (size_t)n * NK);
    void *p = NULL;
    for (size_t i = 0; i < (size_t)n * NK; i++)
        h[i] = trng_next(&b->rng) % 4 == 0 ? -1 : (int32_t)(trng_next(&b->rng) % rows);
    nw_cuda_malloc(b->d, &p, sizeof(int32_t) * (size_t)n * NK);
    nw_cuda_upload(b->d, p, h, sizeof(int32_t) * (size_t)n * NK);
    free(h);
    return p;
}

static void bench_attention(Bench *b)
{
    char shape[80];
    printf("\n== attention and vector quantisation\n");
    float *qkv = dbuf(b, (size_t)3 * INNER * T_TOK, 1.f), *scale = dbuf(b, HEADS, 1.f);
    float *bias = dbuf(b, (size_t)HEADS * T_TOK * T_TOK, 1.f), *out = dbuf(b, (size_t)ROWS * INNER, 0.f);
    need(b, b->ops.vqgan_attn_scratch(HEADS, DH, T_TOK, 1));
    snprintf(shape, sizeof(shape), "heads %d x %d, n %d, bias", HEADS, DH, T_TOK);
    TIME(b, "vqgan_attn", shape, 4.0 * HEADS * DH * T_TOK * T_TOK, 0,
         b->ops.vqgan_attn(&b->ctx, qkv, out, HEADS, DH, T_TOK, scale, bias));
    nw_cuda_free(b->d, qkv), nw_cuda_free(b->d, scale), nw_cuda_free(b->d, bias);

    const int Ks[] = {CODES, 8192};
    float *z = dbuf(b, (size_t)CD * T_TOK, 1.f), *E = dbuf(b, (size_t)8192 * CD, 0.06f), *sq = dbuf(b, 8192, 0.f);
    void *idx = NULL;
    nw_cuda_malloc(b->d, &idx, sizeof(int32_t) * T_TOK);
    for (int ki = 0; ki < 2; ki++) {
        need(b, b->ops.vq_assign_scratch(CD, T_TOK, Ks[ki], 1));
        snprintf(shape, sizeof(shape), "cd %d, n %d, K %d, cosine", CD, T_TOK, Ks[ki]);
        TIME(b, "vq_assign", shape, 2.0 * CD * T_TOK * Ks[ki], 0,
             b->ops.vq_assign(&b->ctx, z, CD, T_TOK, E, Ks[ki], sq, 1, idx, NULL));
    }
    nw_cuda_free(b->d, z), nw_cuda_free(b->d, E), nw_cuda_free(b->d, sq), nw_cuda_free(b->d, idx);

    /* decoder self-attention over a K/V ring of the whole video, cross-attention to the text */
    float *q = dbuf(b, (size_t)ROWS * INNER, 1.f), *kv = dbuf(b, (size_t)ROWS * 2 * INNER, 1.f);
    float *bos = dbuf(b, 2 * INNER, 1.f), *rb = dbuf(b, (size_t)NK * HEADS, 0.1f), *th = dbuf(b, HEADS * HEADS, 0.3f);
    float *tkv = dbuf(b, (size_t)TEXT * 2 * INNER, 1.f), *nkv = dbuf(b, 2 * INNER, 1.f);
    void *keep = NULL;
    uint8_t hk[TEXT];
    for (int j = 0; j < TEXT; j++)
        hk[j] = j < 40; /* a 40-token caption, the rest padding */
    nw_cuda_malloc(b->d, &keep, TEXT);
    nw_cuda_upload(b->d, keep, hk, TEXT);
    const int rows[] = {1, ROWS};
    for (int ri = 0; ri < 2; ri++) {
        const int n = rows[ri];
        int32_t *gi = dgather(b, n, ROWS);
        snprintf(shape, sizeof(shape), "n %d, %d+1 keys of %d rows, %dx%d, bias", n, NK, ROWS, HEADS, DH);
        TIME(b, "attn_gather", shape, 4.0 * n * (NK + 1) * INNER, 0,
             b->ops.attn_gather(&b->ctx, q, INNER, kv, 2 * INNER, kv + INNER, 2 * INNER, bos, bos + INNER, gi, n, NK,
                                HEADS, DH, rb, th, 0.125f, out, INNER));
        nw_cuda_free(b->d, gi);
        need(b, b->ops.attn_null_scratch(n, TEXT, HEADS, 1));
        snprintf(shape, sizeof(shape), "n %d, %d+1 text keys, %dx%d", n, TEXT, HEADS, DH);
        TIME(b, "attn_null", shape, 4.0 * n * (TEXT + 1) * INNER, 0,
             b->ops.attn_null(&b->ctx, q, INNER, tkv, 2 * INNER, tkv + INNER, 2 * INNER, n, TEXT, HEADS, DH, nkv,
                              nkv + INNER, keep, th, 0.125f, out, INNER));
    }
    nw_cuda_free(b->d, q), nw_cuda_free(b->d, kv), nw_cuda_free(b->d, bos), nw_cuda_free(b->d, rb);
    nw_cuda_free(b->d, th), nw_cuda_free(b->d, tkv), nw_cuda_free(b->d, nkv), nw_cuda_free(b->d, keep);
    nw_cuda_free(b->d, out);
}

static int open_bench(Bench *b, int index, unsigned flags)
{
    char msg[320];
    memset(b, 0, sizeof(*b));
    b->rng.s = 1;
    b->min_s = 0.05;
    const int r = nw_cuda_dev_create(&b->d, index, flags, msg, sizeof(msg));
    if (r < 0) {
        fprintf(stderr, "bench_cuda: %s\n", msg);
        return r;
    }
    nw_ops_init_cuda(&b->ops);
    need(b, 1);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dev = "cuda";
    unsigned flags = 0;
    int quick = 0, kind, index;
    char msg[256];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc)
            dev = argv[++i];
        else if (!strcmp(argv[i], "--tf32"))
            flags |= NW_CUDA_TF32;
        else if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else {
            fprintf(stderr, "usage: bench_cuda [--device cuda:N] [--tf32] [--quick]\n");
            return 1;
        }
    }
    if (nw_device_parse(dev, &kind, &index, msg, sizeof(msg)) < 0 || kind != NW_DEVICE_CUDA) {
        fprintf(stderr, "bench_cuda: %s\n", kind != NW_DEVICE_CUDA && !msg[0] ? "a CUDA device is needed" : msg);
        return 1;
    }
    Bench b, nodnn;
    int r = open_bench(&b, index, flags);
    if (r < 0)
        return r == NUWA_ERR_UNSUPPORTED ? 2 : 1;
    const int have_nodnn = nw_cuda_dev_has_cudnn(b.d) && open_bench(&nodnn, index, flags | NW_CUDA_NO_CUDNN) == 0;
    if (quick) {
        b.min_s = 0.01;
        nodnn.min_s = 0.01;
    }
    printf("bench_cuda: %s, %s math\n", nw_cuda_dev_describe(b.d), (flags & NW_CUDA_TF32) ? "TF32" : "fp32 (FMA)");
    printf("%-18s %-44s %14s\n", "op", "shape", "time per call");
    bench_gemms(&b);
    bench_convs(&b, have_nodnn ? &nodnn : NULL);
    bench_small_ops(&b);
    bench_attention(&b);
    const int failed = b.failed || (have_nodnn && nodnn.failed);
    if (have_nodnn)
        nw_cuda_dev_destroy(&nodnn.d);
    nw_cuda_dev_destroy(&b.d);
    return failed ? 1 : 0;
}
