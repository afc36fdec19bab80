/*
 * bench_train — times one NUWA training step (train.h) at the demo model's configuration
 * (models/README.md §3): dim 128, 8 frames of 8x8 tokens (VQGAN 64x64 frames, 3 layers,
 * codebook 512), decoder depth 4 (4 heads x 32, 3x3x3 3DNA, dilation 1, shift on, no relative
 * bias, not reversible), text encoder depth 1 (4 heads x 32, rotary, not reversible), text
 * length 16, text vocabulary 38092; random weights, random batch (10 text ids + padding per
 * item, no conditioning dropout). bench/run_train.sh runs it beside the PyTorch reference
 * (bench/ref_train.py) with the same thread count.
 *
 *   bench_train [--threads N] [--batch B] [--steps S] [--json]
 *
 * A step = zero the gradient + nw_trainer_loss_grad (forward + backward of the batch) + one
 * AdamW step over the whole parameter blob (tops->adamw) + nw_nuwa_refresh_tables: the work of
 * the reference's forward, loss.backward() and opt.step(). Reported: the median over S steps
 * after one warm-up step (and the medians of its parts), tokens/s = B * 8 * 64 / step time,
 * the step's GFLOP/s from the analytic count below, and OpenBLAS sgemm GFLOP/s on this
 * machine with the same thread count (512^3 and the model's two largest GEMM shapes) for the
 * "% of sgemm" ratio (against the fastest of those shapes).
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "nuwa.h"
#include "ops.h"
#include "testutil.h"
#include "train.h"
#include "train_ops.h"
#include "transformer.h"

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

static double median(const double *v, int n)
{
    double *s = malloc(sizeof(double) * n);
    memcpy(s, v, sizeof(double) * n);
    qsort(s, n, sizeof(*s), cmp_d);
    const double r = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return r;
}

/*
 * FLOPs of one training step (loss_grad; the optimizer and all element-wise work — layer norms,
 * GEGLU, softmax, token shift, rotary, embeddings, cross-entropy, AdamW — are not counted).
 * A multiply-add is 2 FLOPs. With R = B*N decoder rows (N = F*T: bos + N-1 tokens per item)
 * and Rt = B*nt text rows:
 * - forward GEMMs, 2*M*N*K each: per decoder layer on R rows q (d->id), kv (d->2id), out
 *   (id->d) of the 3DNA attention, q (d->id) and out (id->d) of the cross-attention, the
 *   feed-forward w0 (d->2f) and w3 (f->d); the cross keys/values of every layer on Rt rows
 *   (d->2id); per encoder layer on Rt rows q (d->ie), kv (d->2ie), out (ie->d), w0, w3; the
 *   logits (d->V) on R rows;
 * - forward attention: for every query row and head, scores q.k and the weighted sum of v over
 *   its keys, 2 * 2*keys*dh: the 3DNA rows (N-1 per item) over 1 (bos) + K window keys (the
 *   whole window as the kernels compute it; the causally masked keys of the current frame make
 *   this an upper bound by < 1% of the step), the cross-attention over 1 (null) + nt keys, the
 *   text self-attention over 1 + nt keys; the talking-heads mix, 2*h*h per score, on each;
 * - backward = 2x forward: each linear's two GEMMs dX = dY W and dW = dY^T X have the forward's
 *   M*N*K; each attention's backward does four products (dP = dO V^T, dQ = dS K, dK = dS^T Q,
 *   dV = P^T dO) for the forward's two, and the talking-heads mix twice (input and matrix).
 * So the step is 3x the forward.
 */
typedef struct Flops {
    double gemm, attn, logits; /* forward only */
} Flops;

static Flops count_flops(const NwNuwa *m, int B)
{
    const double d = m->dim, f = m->ff_inner, V = m->V, nt = m->text_len, N = (double)m->max_frames * m->T;
    const double ie = m->enc_heads * m->enc_dh, id = m->dec_heads * m->dec_dh;
    const double K = m->kernel[0] * m->kernel[1] * m->kernel[2];
    const double R = B * N, Rt = B * nt;
    const double hd = m->dec_heads, he = m->enc_heads;
    Flops c;
    const double dec_layer = 2 * R * d * (id + 2 * id) + 2 * R * id * d /* 3DNA q, kv, out */
                             + 2 * R * d * id + 2 * R * id * d     /* cross q, out */
                             + 2 * R * d * 2 * f + 2 * R * f * d   /* feed-forward */
                             + 2 * Rt * d * 2 * id;                /* cross keys/values */
    const double enc_layer = 2 * Rt * d * 3 * ie + 2 * Rt * ie * d + 2 * Rt * d * 2 * f + 2 * Rt * f * d;
    c.gemm = m->dec_depth * dec_layer + m->enc_depth * enc_layer;
    c.logits = 2 * R * d * V;
    const double dna = B * (N - 1) * (1 + K) * (4 * id + 2 * hd * hd);
    const double cross = R * (1 + nt) * (4 * id + 2 * hd * hd);
    const double text = Rt * (1 + nt) * (4 * ie + 2 * he * he);
    c.attn = m->dec_depth * (dna + cross) + m->enc_depth * text;
    return c;
}

/* GFLOP/s of OpenBLAS sgemm C (M, N) = A (M, K) B (K, N) with `threads` threads: best of 5
 * after a warm-up. ta = A stored transposed (the weight-gradient shape dW = dY^T X). */
static double sgemm_gflops(int M, int N, int K, int ta, int threads)
{
    float *A = malloc(sizeof(float) * M * K), *Bm = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
    TRng r = {7};
    fill_uniform(&r, A, (size_t)M * K, -1, 1);
    fill_uniform(&r, Bm, (size_t)K * N, -1, 1);
    memset(C, 0, sizeof(float) * M * N);
    omp_set_num_threads(threads);
    double best = 1e30;
    for (int it = 0; it < 6; it++) {
        const double t0 = now_ms();
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, CblasNoTrans, M, N, K, 1.f, A, ta ? M : K, Bm, N,
                    0.f, C, N);
        const double dt = now_ms() - t0;
        if (it > 0 && dt < best)
            best = dt;
    }
    free(A);
    free(Bm);
    free(C);
    return 2.0 * M * N * K / (best * 1e-3) / 1e9;
}

int main(int argc, char **argv)
{
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), B = 8, steps = 5, json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "usage: bench_train [--threads N] [--batch B] [--steps S] [--json]\n");
            return 2;
        }
    }
    if (threads < 1 || B < 1 || B > 1024 || steps < 1 || steps > 1000) {
        fprintf(stderr, "bench_train: bad arguments\n");
        return 2;
    }

    /* the demo VQGAN (only its fmap 8 and codebook 512 matter here) */
    const int mults[3] = {1, 2, 4}, res[3] = {1, 1, 1}, attn[3] = {0, 0, 0};
    NwVae vh;
    vae_hparams(&vh, 64, 3, 32, 3, mults, res, attn, 8, 64, 16, 5, 512, 128, 1);
    NwNuwa nh;
    memset(&nh, 0, sizeof(nh));
    nh.dim = 128;
    nh.max_frames = 8;
    nh.text_vocab = 38092;
    nh.text_len = 16;
    nh.enc_depth = 1;
    nh.enc_heads = 4;
    nh.enc_dh = 32;
    nh.rotary = 1;
    nh.dec_depth = 4;
    nh.dec_heads = 4;
    nh.dec_dh = 32;
    nh.shift = 1;
    nh.kernel[0] = nh.kernel[1] = nh.kernel[2] = 3;
    nh.n_dil = 1;
    nh.dil[0] = 1;
    uint8_t *buf;
    size_t size;
    NwGguf *g;
    char e[256];
    NwLog log = {0};
    NwNuwa m;
    if (nuwa_random_gguf(&vh, &nh, 3, &buf, &size) || nw_gguf_open_memory(&g, buf, size, e, sizeof(e)) ||
        nw_nuwa_load(&m, g, 8, 512, &log) < 0) {
        fprintf(stderr, "bench_train: cannot make the benchmark model\n");
        return 1;
    }
    nw_gguf_close(&g);
    free(buf);

    NwOps ops;
    NwTrainOps tops;
    nw_ops_init_cpu(&ops, nw_cpu_flags());
    nw_train_ops_init_cpu(&tops, nw_cpu_flags());
    NwTrainer *tr;
    if (nw_trainer_create(&tr, &m, &ops, &tops, B, threads) < 0) {
        fprintf(stderr, "bench_train: cannot create the trainer\n");
        return 1;
    }
    const int N = m.max_frames * m.T, nt = m.text_len;
    const size_t P = m.own_floats;
    int32_t *text = calloc((size_t)B * nt, sizeof(int32_t)), *video = malloc(sizeof(int32_t) * B * N);
    float *grad = malloc(sizeof(float) * P), *mom1 = calloc(P, sizeof(float)), *mom2 = calloc(P, sizeof(float));
    double *t_step = malloc(sizeof(double) * steps), *t_lg = malloc(sizeof(double) * steps);
    double *t_opt = malloc(sizeof(double) * steps), *t_zero = malloc(sizeof(double) * steps);
    if (!text || !video || !grad || !mom1 || !mom2 || !t_step || !t_lg || !t_opt || !t_zero)
        return 1;
    TRng r = {11};
    for (int b = 0; b < B; b++)
        for (int j = 0; j < 10; j++)
            text[(size_t)b * nt + j] = 1 + (int32_t)(trng_next(&r) % (uint64_t)(m.text_vocab - 1));
    for (int i = 0; i < B * N; i++)
        video[i] = (int32_t)(trng_next(&r) % (uint64_t)m.V);
    /* torch.optim.AdamW's defaults but the learning rate */
    NwAdamW opt = {1e-4f, 0.9f, 0.999f, 1e-8f, 0.01f, 0};
    NwCtx ctx = {threads, NULL, 0, NULL, NULL};
    double loss = 0, loss0 = 0;
    for (int it = -1; it < steps; it++) { /* it = -1: warm-up */
        const double t0 = now_ms();
        memset(grad, 0, sizeof(float) * P);
        const double t1 = now_ms();
        if (nw_trainer_loss_grad(tr, text, video, NULL, grad, &loss) < 0)
            return 1;
        const double t2 = now_ms();
        opt.step++;
        tops.adamw(&ctx, m.own, grad, mom1, mom2, P, &opt);
        nw_nuwa_refresh_tables(&m);
        const double t3 = now_ms();
        if (it < 0) {
            loss0 = loss;
            continue;
        }
        t_zero[it] = t1 - t0;
        t_lg[it] = t2 - t1;
        t_opt[it] = t3 - t2;
        t_step[it] = t3 - t0;
    }
    const double step_ms = median(t_step, steps), lg_ms = median(t_lg, steps), opt_ms = median(t_opt, steps);
    const double zero_ms = median(t_zero, steps);
    double lo = t_step[0], hi = t_step[0];
    for (int i = 1; i < steps; i++) {
        lo = fmin(lo, t_step[i]);
        hi = fmax(hi, t_step[i]);
    }
    const Flops fc = count_flops(&m, B);
    const double fwd = fc.gemm + fc.attn + fc.logits, total = 3 * fwd;
    const double gflops = total / (step_ms * 1e-3) / 1e9, gflops_lg = total / (lg_ms * 1e-3) / 1e9;
    const double tok_s = (double)B * N / (step_ms * 1e-3);

    /* sgemm on this machine: 512^3 and the two largest GEMMs of the step (the feed-forward's
     * first layer forward, and its weight gradient, whose inner dimension is the B*N rows) */
    const int R = B * N, f2 = 2 * m.ff_inner;
    const double sg512 = sgemm_gflops(512, 512, 512, 0, threads);
    const double sgff = sgemm_gflops(R, f2, m.dim, 0, threads);
    const double sgdw = sgemm_gflops(f2, m.dim, R, 1, threads);
    const double sgbest = fmax(sg512, fmax(sgff, sgdw));

    if (json)
        printf("{\"impl\": \"libnuwa %s\", \"threads\": %d, \"batch\": %d, \"steps\": %d, \"tokens\": %d, "
               "\"loss_first\": %.5f, \"loss_last\": %.5f, \"blob_floats\": %zu, "
               "\"step_ms\": %.2f, \"step_ms_min\": %.2f, \"step_ms_max\": %.2f, \"loss_grad_ms\": %.2f, "
               "\"adamw_ms\": %.2f, \"zero_ms\": %.2f, \"tok_s\": %.1f, "
               "\"gflop_step\": %.4f, \"gflop_fwd_gemm\": %.4f, \"gflop_fwd_logits\": %.4f, \"gflop_fwd_attn\": %.4f, "
               "\"gflops\": %.2f, \"gflops_loss_grad\": %.2f, "
               "\"sgemm_gflops\": {\"512x512x512\": %.2f, \"%dx%dx%d\": %.2f, \"%dx%dx%d_At\": %.2f}, "
               "\"sgemm_best\": %.2f, \"pct_sgemm\": %.1f}\n",
               nuwa_version(), threads, B, steps, B * N, loss0, loss, P, step_ms, lo, hi, lg_ms, opt_ms, zero_ms,
               tok_s, total / 1e9, fc.gemm / 1e9, fc.logits / 1e9, fc.attn / 1e9, gflops, gflops_lg, sg512, R, f2,
               m.dim, sgff, f2, m.dim, R, sgdw, sgbest, 100 * gflops / sgbest);
    else {
        printf("libnuwa %s, %d threads: training step, batch %d x %d tokens (demo config): %.1f ms/step "
               "(min %.1f, max %.1f over %d steps; loss+grad %.1f, AdamW %.1f, zero %.1f), %.0f tokens/s\n",
               nuwa_version(), threads, B, N, step_ms, lo, hi, steps, lg_ms, opt_ms, zero_ms, tok_s);
        printf("  %.2f GFLOP/step (forward: GEMMs %.2f, logits %.2f, attention %.2f; x3 with the backward): "
               "%.1f GFLOP/s (%.1f in loss+grad alone)\n",
               total / 1e9, fc.gemm / 1e9, fc.logits / 1e9, fc.attn / 1e9, gflops, gflops_lg);
        printf("  OpenBLAS sgemm, %d threads: 512^3 %.1f, %dx%dx%d %.1f, %dx%dx%d (A^T) %.1f GFLOP/s: "
               "step = %.0f%% of the best\n",
               threads, sg512, R, f2, m.dim, sgff, f2, m.dim, R, sgdw, 100 * gflops / sgbest);
        printf("  loss %.4f at the warm-up, %.4f after %d AdamW steps\n", loss0, loss, steps + 1);
    }
    free(text);
    free(video);
    free(grad);
    free(mom1);
    free(mom2);
    free(t_step);
    free(t_lg);
    free(t_opt);
    free(t_zero);
    nw_trainer_free(&tr);
    nw_nuwa_free(&m);
    return 0;
}
