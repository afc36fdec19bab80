/*
 * cpu/train_dense_cpu.c — fast CPU versions of the dense backward ops of train_ops.h (the
 * reference is libnuwa/ref/train_dense.c; tests/train/dense.c compares them).
 *
 * Determinism (train_ops.h): nothing depends on ctx->n_threads.
 * - The GEMMs of linear_bwd are cut into fixed tiles of rows and columns (never along the inner
 *   dimension), each one single-threaded sgemm (the pattern of cpu/kernels_tmpl.c: inside our
 *   OpenMP team OpenBLAS does not spawn threads).
 * - Column sums over rows (db of linear: a column-parallel loop, each column summed over the
 *   rows in order; dg/db of layer norm: at most LN_NCH fixed chunks of rows whose partial sums
 *   are stored per chunk and then added in chunk order, column-parallel) and the loss of cross_entropy (fixed chunks added in
 *   order) use splits that depend only on the shape.
 * - Row-wise ops compute each row independently.
 * Ops never allocate: the per-thread rows of layer_norm_bwd live on the thread's stack (VLAs of
 * d floats, d <= LN_MAXD, else the reference runs), its per-chunk partial sums on the caller's
 * (at most LN_PARTS doubles).
 */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include <immintrin.h>

#include <cblas.h>

#include "internal.h"
#include "ops.h"
#include "cpu/train_cpu.h"
#include "ref/train_ref.h"
#include "train_ops.h"
#include "cpu/gelu_phi.h"
#include "cpu/sum_f.h"

#define LANES 8

#define INL static inline __attribute__((always_inline))
#define AVX2 __attribute__((target("avx2,fma")))

static int have_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* sum of x (n): cpu/sum_f.h in blocks of 512 (inlined, so that the AVX2 functions get vector
 * code for it) */
INL double sum_f(const float *x, int n)
{
    return nw_sum_f_blocked(x, (size_t)n, 512);
}

/* sum of a * b, same scheme */
INL double dot_f(const float *a, const float *b, int n)
{
    double total = 0;
    int i = 0;
    while (i < n) {
        const int end = NW_MIN(n, i + 512);
        float acc[LANES] = {0};
        for (; i + LANES <= end; i += LANES)
            for (int l = 0; l < LANES; l++)
                acc[l] += a[i + l] * b[i + l];
        for (; i < end; i++)
            acc[0] += a[i] * b[i];
        for (int l = 0; l < LANES; l++)
            total += acc[l];
    }
    return total;
}

/* ---- linear ----------------------------------------------------------------------------------- */

#define LIN_CHUNK 256 /* columns of dx / dW per sgemm */
#define LIN_ROWS 512  /* rows of dx per sgemm */
#define LIN_OROWS 256 /* rows of dW per sgemm (its inner dimension, the n rows, is never split) */
#define COL_BLOCK 64  /* columns per task of a column sum */

static void linear_bwd_cpu(const NwCtx *ctx, const float *x, int n, int i, const float *W, int o,
                           const float *dy, float *dx, float *dW, float *db)
{
    /* tasks: the tiles of dW (o, i) += dy^T (o, n) x (n, i), then those of
     * dx (n, i) += dy (n, o) W (o, i). Every element is one sgemm's sum over the whole inner
     * dimension, so the tiling changes no bits; tiles of some ten million multiply-adds, the
     * larger (dW: inner dimension n) first, let a dynamic schedule even out the threads (and a
     * core another process is using). */
    const int nci = (i + LIN_CHUNK - 1) / LIN_CHUNK;
    const int nwr = dW ? (o + LIN_OROWS - 1) / LIN_OROWS : 0, nxr = dx ? (n + LIN_ROWS - 1) / LIN_ROWS : 0;
    const int nw = nwr * nci, ntask = nw + nxr * nci;
    const int big = (double)n * o * i > 2e6 && ntask > 1;
#pragma omp parallel num_threads(ctx->n_threads) if (big)
    {
        omp_set_num_threads(1); /* keep OpenBLAS on this thread */
#pragma omp for schedule(dynamic)
        for (int t = 0; t < ntask; t++) {
            const int second = t >= nw, tt = second ? t - nw : t;
            const int c0 = (tt % nci) * LIN_CHUNK, nc = NW_MIN(LIN_CHUNK, i - c0);
            if (!second) {
                const int r0 = tt / nci * LIN_OROWS, nr = NW_MIN(LIN_OROWS, o - r0);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nr, nc, n, 1.f, dy + r0, o, x + c0, i, 1.f,
                            dW + (size_t)r0 * i + c0, i);
            } else {
                const int r0 = tt / nci * LIN_ROWS, nr = NW_MIN(LIN_ROWS, n - r0);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, nc, o, 1.f, dy + (size_t)r0 * o, o,
                            W + c0, i, 1.f, dx + (size_t)r0 * i + c0, i);
            }
        }
    }
    if (db) {
        const int nb = (o + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if ((double)n * o > 1e5)
        for (int bi = 0; bi < nb; bi++) {
            const int c0 = bi * COL_BLOCK, nc = NW_MIN(COL_BLOCK, o - c0);
            double acc[COL_BLOCK] = {0};
            for (int r = 0; r < n; r++) {
                const float *row = dy + (size_t)r * o + c0;
                for (int c = 0; c < nc; c++)
                    acc[c] += row[c];
            }
            for (int c = 0; c < nc; c++)
                db[c0 + c] += (float)acc[c];
        }
    }
}

/* ---- layer norm (math: ref/train_dense.c) -------------------------------------------------------- */

#define LN_CHUNK 16   /* rows per chunk of the column sums, at least */
#define LN_NCH 64     /* chunks at most (then longer chunks): the chunking depends on n only */
#define LN_MAXD 8192  /* larger rows: the reference (stack VLAs per thread) */
#define LN_PARTS 16384 /* doubles of per-chunk partial column sums (on the caller's stack) */

/* The arguments of one call. */
typedef struct LnBwd {
    const float *x, *g, *dy;
    float *dx;
    int d, stable, through_max, cols;
    float eps;
} LnBwd;

/* Rows i0 .. i1-1: dx, and when cols the rows' dg (part[0..d)) and db (part[d..2d)) terms added
 * to the chunk's double sums. h, gy: d floats of the thread's. */
INL void ln_bwd_rows_body(const LnBwd *a, int i0, int i1, double *part, float *h, float *gy)
{
    const int d = a->d;
    for (int i = i0; i < i1; i++) {
        const float *xr = a->x + (size_t)i * d, *dyr = a->dy + (size_t)i * d;
        float m = 1.f;
        int nmax = 0;
        if (a->stable) {
            m = -FLT_MAX;
            for (int j = 0; j < d; j++)
                m = m > xr[j] ? m : xr[j];
            for (int j = 0; j < d; j++)
                nmax += xr[j] == m;
        }
        /* h = x / m for now */
        if (a->stable)
#pragma omp simd
            for (int j = 0; j < d; j++)
                h[j] = xr[j] / m;
        else
            memcpy(h, xr, sizeof(float) * d);
        const float mean = (float)(sum_f(h, d) / d);
#pragma omp simd
        for (int j = 0; j < d; j++)
            h[j] -= mean;
        const double var = dot_f(h, h, d) / d;
        const float rstd = (float)(1.0 / sqrt(var + a->eps));
#pragma omp simd
        for (int j = 0; j < d; j++) {
            h[j] *= rstd;
            gy[j] = dyr[j] * a->g[j];
        }
        if (a->cols)
#pragma omp simd
            for (int j = 0; j < d; j++) {
                part[j] += (double)(dyr[j] * h[j]);
                part[d + j] += dyr[j];
            }
        if (!a->dx)
            continue;
        const float A = (float)(sum_f(gy, d) / d), B = (float)(dot_f(gy, h, d) / d);
        const float c = rstd / m;
        float *dxr = a->dx + (size_t)i * d;
        if (a->stable && a->through_max) {
            /* dm = -(1/m) sum_j ds_j s_j with s_j = h_j / rstd + mean, ds_j = rstd (gy_j - A - h_j B);
             * ds is formed in gy (no longer needed) */
            for (int j = 0; j < d; j++)
                gy[j] = rstd * (gy[j] - A - h[j] * B);
            double sds = 0;
            for (int j = 0; j < d; j++)
                sds += (double)gy[j] * xr[j];
            const float share = (float)(-sds / ((double)m * m) / nmax);
            for (int j = 0; j < d; j++)
                dxr[j] += xr[j] == m ? gy[j] / m + share : gy[j] / m;
        } else {
#pragma omp simd
            for (int j = 0; j < d; j++)
                dxr[j] += c * (gy[j] - A - h[j] * B);
        }
    }
}

/* The same float operations (ISO C: no contraction) with AVX2 vectors where the CPU has them. */
AVX2 static void ln_bwd_rows_avx2(const LnBwd *a, int i0, int i1, double *part, float *h, float *gy)
{
    ln_bwd_rows_body(a, i0, i1, part, h, gy);
}

static void ln_bwd_rows_base(const LnBwd *a, int i0, int i1, double *part, float *h, float *gy)
{
    ln_bwd_rows_body(a, i0, i1, part, h, gy);
}

void nw_layer_norm_bwd_ex_cpu(const NwCtx *ctx, const float *x, int n, int d, const float *g, float eps,
                              int stable, const float *dy, float *dx, float *dg, float *db, int through_max)
{
    if (d > LN_MAXD || n <= 0) {
        if (n > 0)
            nw_layer_norm_bwd_ex_ref(ctx, x, n, d, g, eps, stable, dy, dx, dg, db, through_max);
        return;
    }
    const int cols = dg || db;
    const LnBwd a = {x, g, dy, dx, d, stable, through_max, cols, eps};
    void (*rows)(const LnBwd *, int, int, double *, float *, float *) =
        have_avx2() ? ln_bwd_rows_avx2 : ln_bwd_rows_base;
    const int crow = NW_MAX(LN_CHUNK, (n + LN_NCH - 1) / LN_NCH);
    const int nch = (n + crow - 1) / crow;
    /* chunks run in groups of gch; each chunk's partial column sums go to its own row of parts,
     * then (column-parallel) added to acc in chunk order: the same sums as one ordered pass */
    const int gch = cols ? NW_MAX(1, NW_MIN(nch, LN_PARTS / (2 * d))) : nch;
    double acc[2 * d]; /* dg then db, summed over the chunks in chunk order */
    double parts[cols ? (size_t)gch * 2 * d : 1];
    if (cols)
        memset(acc, 0, sizeof(acc));
#pragma omp parallel num_threads(ctx->n_threads) if (n > LN_CHUNK)
    {
        float h[d], gy[d];
        for (int c0 = 0; c0 < nch; c0 += gch) {
            const int c1 = NW_MIN(nch, c0 + gch);
#pragma omp for schedule(static)
            for (int ch = c0; ch < c1; ch++) {
                double *part = parts + (size_t)(ch - c0) * 2 * d * cols;
                if (cols)
                    memset(part, 0, sizeof(double) * 2 * d);
                rows(&a, ch * crow, NW_MIN(n, (ch + 1) * crow), part, h, gy);
            }
            if (cols) {
#pragma omp for schedule(static)
                for (int j = 0; j < 2 * d; j++)
                    for (int ch = c0; ch < c1; ch++)
                        acc[j] += parts[(size_t)(ch - c0) * 2 * d + j];
            }
        }
    }
    if (dg)
        for (int j = 0; j < d; j++)
            dg[j] += (float)acc[j];
    if (db)
        for (int j = 0; j < d; j++)
            db[j] += (float)acc[d + j];
}

static void layer_norm_bwd_cpu(const NwCtx *ctx, const float *x, int n, int d, const float *g, float eps,
                               int stable, const float *dy, float *dx, float *dg, float *db)
{
    nw_layer_norm_bwd_ex_cpu(ctx, x, n, d, g, eps, stable, dy, dx, dg, db, 0);
}

/* ---- GEGLU ---------------------------------------------------------------------------------------- */



#define GEGLU_BWD_ROW                                                                              \
    do {                                                                                           \
        const float *ua = u + (size_t)i * 2 * f, *ub = ua + f, *dar = da + (size_t)i * f;          \
        float *dua = du + (size_t)i * 2 * f, *dub = dua + f;                                       \
        _Pragma("omp simd") for (int j = 0; j < f; j++)                                            \
        {                                                                                          \
            const float z = ub[j];                                                                 \
            float e;                                                                               \
            const float Phi = gelu_phi(z, &e);                                                     \
            const float phi = 0.39894228040143268f * e;                                            \
            dua[j] += dar[j] * (z * Phi);                                                          \
            dub[j] += dar[j] * ua[j] * (Phi + z * phi);                                            \
        }                                                                                          \
    } while (0)

/* the same float operations (no contraction under -std=c11) with AVX2 vectors where the CPU has them */
__attribute__((target("avx2,fma"))) static void geglu_bwd_avx2(const NwCtx *ctx, const float *u, int n, int f,
                                                               const float *da, float *du)
{
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if ((double)n * f > 32768)
    for (int i = 0; i < n; i++)
        GEGLU_BWD_ROW;
}

static void geglu_bwd_cpu(const NwCtx *ctx, const float *u, int n, int f, const float *da, float *du)
{
    if (have_avx2()) {
        geglu_bwd_avx2(ctx, u, n, f, da, du);
        return;
    }
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if ((double)n * f > 32768)
    for (int i = 0; i < n; i++)
        GEGLU_BWD_ROW;
}

/* ---- rotary: the inverse rotation, angles once per row (as cpu rotary) ------------------------------ */

static void rotary_bwd_cpu(const NwCtx *ctx, float *dx, int n, int ld, int heads, int dh, int rot,
                           const float *inv_freq, int p0)
{
    const int hr = rot / 2;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if ((double)n * heads * hr > 65536)
    for (int i = 0; i < n; i++) {
        float cs[512], sn[512]; /* hr <= dh / 2 <= 512 (dh is checked at load) */
        for (int k = 0; k < hr; k++) {
            const float th = (float)(p0 + i) * inv_freq[k];
            cs[k] = cosf(th);
            sn[k] = sinf(th);
        }
        for (int hd = 0; hd < heads; hd++) {
            float *v = dx + (size_t)i * ld + (size_t)hd * dh;
            for (int k = 0; k < hr; k++) {
                const float a = v[k], b = v[k + hr];
                v[k] = a * cs[k] + b * sn[k];
                v[k + hr] = b * cs[k] - a * sn[k];
            }
        }
    }
}

/* ---- cross entropy ---------------------------------------------------------------------------------- */

#define CE_MAX_CHUNKS 256

static double cross_entropy_cpu(const NwCtx *ctx, const float *logits, int n, int V, const int32_t *targets,
                                float *dlogits)
{
    int cnt = 0;
    for (int r = 0; r < n; r++)
        cnt += targets[r] >= 0;
    if (n <= 0)
        return 0.0;
    /* fixed chunks of rows (their number depends on n only), losses added in chunk order */
    const int cs = (n + CE_MAX_CHUNKS - 1) / CE_MAX_CHUNKS, nch = (n + cs - 1) / cs;
    double part[CE_MAX_CHUNKS];
    const double inv_cnt = cnt ? 1.0 / cnt : 0.0;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if ((double)n * V > 65536)
    for (int ch = 0; ch < nch; ch++) {
        double loss = 0;
        for (int r = ch * cs; r < NW_MIN(n, (ch + 1) * cs); r++) {
            const float *l = logits + (size_t)r * V;
            float *dl = dlogits + (size_t)r * V;
            const int t = targets[r];
            if (t < 0) {
                memset(dl, 0, sizeof(float) * V);
                continue;
            }
            float mx = -INFINITY;
            for (int j = 0; j < V; j++)
                mx = mx > l[j] ? mx : l[j];
            for (int j = 0; j < V; j++)
                dl[j] = expf(l[j] - mx);
            const double se = sum_f(dl, V);
            loss += (double)mx + log(se) - l[t];
            const float sc = (float)(inv_cnt / se);
            for (int j = 0; j < V; j++)
                dl[j] *= sc;
            dl[t] -= (float)inv_cnt;
        }
        part[ch] = loss;
    }
    double loss = 0;
    for (int ch = 0; ch < nch; ch++)
        loss += part[ch];
    return loss * inv_cnt;
}

/* ---- AdamW: the reference's float arithmetic on fixed chunks (bit-identical to ref/) ----------------- */

#define ADAM_CHUNK 16384

/* The reference's element update with AVX2/FMA vectors: fmaf is correctly rounded, as is
 * _mm256_fmadd_ps; sqrt, div, mul and add are IEEE in both, so the results are bit-identical. The
 * scalars are derived exactly as ref/train_dense.c derives them; a tail of < 8 runs the reference. */
__attribute__((target("avx2,fma"))) static void adamw_avx2(const NwCtx *ctx, float *p, const float *grad, float *m,
                                                           float *v, size_t n, const NwAdamW *o,
                                                           const NwTrainOps *ref)
{
    const double lr = o->lr, b1 = o->beta1, b2 = o->beta2, step = (double)o->step;
    const float wd_mul = (float)(1.0 - lr * (double)o->weight_decay);
    const double bc1 = 1.0 - pow(b1, step), bc2 = 1.0 - pow(b2, step);
    const float neg_step = (float)(-(lr / bc1)), bc2_sqrt = (float)sqrt(bc2);
    const float fb1 = (float)b1, fb2 = (float)b2, a1 = (float)(1.0 - b1), a2 = (float)(1.0 - b2);
    const __m256 vwd = _mm256_set1_ps(wd_mul), vns = _mm256_set1_ps(neg_step), vbs = _mm256_set1_ps(bc2_sqrt);
    const __m256 vb1 = _mm256_set1_ps(fb1), vb2 = _mm256_set1_ps(fb2), va1 = _mm256_set1_ps(a1),
                 va2 = _mm256_set1_ps(a2), veps = _mm256_set1_ps(o->eps);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        const __m256 g = _mm256_loadu_ps(grad + k);
        __m256 pk = _mm256_mul_ps(_mm256_loadu_ps(p + k), vwd);
        const __m256 mk = _mm256_fmadd_ps(g, va1, _mm256_mul_ps(_mm256_loadu_ps(m + k), vb1));
        const __m256 vk = _mm256_fmadd_ps(_mm256_mul_ps(va2, g), g, _mm256_mul_ps(_mm256_loadu_ps(v + k), vb2));
        const __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vk), vbs), veps);
        pk = _mm256_add_ps(pk, _mm256_div_ps(_mm256_mul_ps(vns, mk), den));
        _mm256_storeu_ps(p + k, pk);
        _mm256_storeu_ps(m + k, mk);
        _mm256_storeu_ps(v + k, vk);
    }
    if (k < n)
        ref->adamw(ctx, p + k, grad + k, m + k, v + k, n - k, o);
}

static void adamw_cpu(const NwCtx *ctx, float *p, const float *grad, float *m, float *v, size_t n,
                      const NwAdamW *o)
{
    NwTrainOps ref;
    nw_train_fill_dense_ref(&ref);
    const int vec = have_avx2();
    const long nch = (long)((n + ADAM_CHUNK - 1) / ADAM_CHUNK);
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if (nch > 1)
    for (long ch = 0; ch < nch; ch++) {
        const size_t k0 = (size_t)ch * ADAM_CHUNK, nk = NW_MIN((size_t)ADAM_CHUNK, n - k0);
        if (vec)
            adamw_avx2(ctx, p + k0, grad + k0, m + k0, v + k0, nk, o, &ref);
        else
            ref.adamw(ctx, p + k0, grad + k0, m + k0, v + k0, nk, o);
    }
}

void nw_train_fill_dense_cpu(NwTrainOps *o)
{
    /* token_shift_bwd and embed_bwd: the reference is already a single pass of adds */
    nw_train_fill_dense_ref(o);
    o->name = "cpu";
    o->linear_bwd = linear_bwd_cpu;
    o->layer_norm_bwd = layer_norm_bwd_cpu;
    o->geglu_bwd = geglu_bwd_cpu;
    o->rotary_bwd = rotary_bwd_cpu;
    o->cross_entropy = cross_entropy_cpu;
    o->adamw = adamw_cpu;
}
