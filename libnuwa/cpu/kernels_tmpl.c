/*
 * cpu/kernels_tmpl.c — the optimised CPU ops, compiled once per instruction set (the Makefile
 * builds it with -DNW_ISA=generic and with -DNW_ISA=avx2 -mavx2 -mfma); cpu.c picks one at
 * run time. Every function here has a scalar twin in libnuwa/ref/ and tests/ops/ compares them.
 *
 * Design:
 * - GEMM-shaped work (convolutions via im2col, 1x1 convs, attention, codebook distances) goes
 *   to OpenBLAS sgemm. libnuwa owns the threading: work is cut into chunks whose size depends
 *   only on the problem shape, an OpenMP team of ctx->n_threads runs the chunks, and each
 *   sgemm call is single-threaded (inside our team the OpenMP build of OpenBLAS does not
 *   spawn threads; omp_set_num_threads(1) covers the one-thread team). So results are the
 *   same for any thread count and threads are never oversubscribed.
 * - Elementwise and normalisation kernels are written as simple loops over contiguous rows
 *   that the compiler vectorises; reductions use fixed-width partial sums combined in double.
 */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include <cblas.h>

#include "internal.h"
#include "ops.h"
#include "ref/ref.h"
#include "cpu/gelu_phi.h"
#include "cpu/sum_f.h"

#include "cpu/isa.h"

#define LANES 16

/* Sum of n floats (cpu/sum_f.h), blocks of 1024 (train_attn_tmpl.c rounds the same way). */
static double sum_f(const float *x, size_t n)
{
    return nw_sum_f_blocked(x, n, 1024);
}

/* Sum of (x - m)^2, same scheme. */
static double sumsq_f(const float *x, size_t n, float m)
{
    double total = 0;
    size_t i = 0;
    while (i < n) {
        const size_t end = NW_MIN(n, i + 1024);
        float acc[LANES] = {0};
        for (; i + LANES <= end; i += LANES)
            for (int l = 0; l < LANES; l++) {
                const float d = x[i + l] - m;
                acc[l] += d * d;
            }
        for (; i < end; i++) {
            const float d = x[i] - m;
            acc[0] += d * d;
        }
        for (int l = 0; l < LANES; l++)
            total += acc[l];
    }
    return total;
}

static inline void bias_act_row(float *y, size_t n, float b, int act)
{
    if (act == NW_ACT_LRELU) {
        for (size_t i = 0; i < n; i++) {
            const float v = y[i] + b;
            y[i] = v < 0.f ? v * NW_LRELU_SLOPE : v;
        }
    } else if (b != 0.f) {
        for (size_t i = 0; i < n; i++)
            y[i] += b;
    }
}

static void sgemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                  int ldb, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, 1.f, A, lda, B, ldb, 0.f, C, ldc);
}

/* ---- conv2d: im2col per chunk of output pixels + sgemm ------------------------------ */

/* Output pixels per chunk: the im2col block (K x chunk floats) stays around 512 KiB. */
static int conv_chunk(int K, int npix)
{
    int c = (128 * 1024) / (K > 0 ? K : 1);
    c = c < 64 ? 64 : c > 2048 ? 2048 : c;
    c &= ~15;
    return c < npix ? c : npix;
}

static int conv_is_pointwise(const NwConv2d *d)
{
    return d->kh == 1 && d->kw == 1 && d->stride == 1 && d->pad == 0;
}

/* ---- conv2d 3x3 stride 1 pad 1: Winograd F(2x2, 3x3) ------------------------------------
 * Y = A^T [ (G g G^T) . (B^T d B) ] A per 2x2 output tile: 16 multiplies per tile and channel
 * pair instead of 36. The 16 elementwise products over channels become 16 GEMMs
 * (cout x cin) x (cin x tiles) per block of tiles. Used where the tile count makes those GEMMs
 * efficient; fp32 error stays at the level of the direct sum (the transforms only add, subtract
 * and halve). */

#define WG_MIN_PIX 1024

static int wino_ok(const NwConv2d *d)
{
    return d->kh == 3 && d->kw == 3 && d->stride == 1 && d->pad == 1 && d->h * d->w >= WG_MIN_PIX &&
           d->cin >= 8 && d->cout >= 8;
}

static int wino_block(const NwConv2d *d)
{
    int nb = 131072 / (d->cin + d->cout);
    nb = nb < 128 ? 128 : nb > 1024 ? 1024 : nb;
    return nb & ~7;
}

static size_t wino_scratch(const NwConv2d *d, int n_threads)
{
    const size_t nb = (size_t)wino_block(d);
    return (size_t)16 * d->cout * d->cin +
           (size_t)n_threads * (16 * nb * (d->cin + d->cout) + 10 * (nb + 2));
}

/* U[xi][o][c] = (G g G^T)[xi] */
static void wino_weights(const NwCtx *ctx, const NwConv2d *d, const float *w, float *U)
{
    const size_t oc = (size_t)d->cout * d->cin;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (int o = 0; o < d->cout; o++) {
        for (int c = 0; c < d->cin; c++) {
            const float *g = w + ((size_t)o * d->cin + c) * 9;
            float t[4][3];
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                const float u0 = t[i][0], u1 = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                const float u2 = 0.5f * (t[i][0] - t[i][1] + t[i][2]), u3 = t[i][2];
                float *dst = U + (size_t)(i * 4) * oc + (size_t)o * d->cin + c;
                dst[0] = u0;
                dst[oc] = u1;
                dst[2 * oc] = u2;
                dst[3 * oc] = u3;
            }
        }
    }
}

/* Input transform of the tiles [tx0, tx1) of tile row ty, channel plane src, written to
 * V[xi * xs + t], t counted from tb. Vectorised over x: first the 4-row (vertical) transform of
 * the zero-padded rows, then the horizontal one with stride-2 reads. */
static void wino_in_rows(const float *src, int H, int W, int ty, int tx0, int tx1, float *V,
                         size_t xs, int tb, float *tmp)
{
    const int n = tx1 - tx0, wp = 2 * n + 2, xb = 2 * tx0 - 1;
    float *P[4], *q[4];
    for (int k = 0; k < 4; k++) {
        P[k] = tmp + (size_t)k * wp;
        q[k] = tmp + (size_t)(4 + k) * wp;
        const int y = 2 * ty - 1 + k;
        if (y < 0 || y >= H) {
            memset(P[k], 0, sizeof(float) * wp);
            continue;
        }
        const float *row = src + (size_t)y * W;
        const int a = xb < 0 ? -xb : 0;              /* first xp with x >= 0 */
        const int e = NW_MIN(wp, W - xb);             /* first xp with x >= W */
        for (int xp = 0; xp < a; xp++)
            P[k][xp] = 0.f;
        if (e > a)
            memcpy(P[k] + a, row + xb + a, sizeof(float) * (e - a));
        for (int xp = NW_MAX(e, a); xp < wp; xp++)
            P[k][xp] = 0.f;
    }
    for (int xp = 0; xp < wp; xp++) {
        q[0][xp] = P[0][xp] - P[2][xp];
        q[1][xp] = P[1][xp] + P[2][xp];
        q[2][xp] = P[2][xp] - P[1][xp];
        q[3][xp] = P[1][xp] - P[3][xp];
    }
    for (int i = 0; i < 4; i++) {
        const float *r = q[i];
        float *v0 = V + (size_t)(i * 4 + 0) * xs + tb, *v1 = V + (size_t)(i * 4 + 1) * xs + tb;
        float *v2 = V + (size_t)(i * 4 + 2) * xs + tb, *v3 = V + (size_t)(i * 4 + 3) * xs + tb;
        for (int t = 0; t < n; t++) {
            const float a0 = r[2 * t], a1 = r[2 * t + 1], a2 = r[2 * t + 2], a3 = r[2 * t + 3];
            v0[t] = a0 - a2;
            v1[t] = a1 + a2;
            v2[t] = a2 - a1;
            v3[t] = a1 - a3;
        }
    }
}

/* Output transform of n tiles of one tile row (M[xi * xs + t], t from tb) into the output
 * plane dst, with bias and activation. */
static void wino_out_rows(const float *M, size_t xs, int tb, int n, float b, int act, float *dst,
                          int H, int W, int ty, int tx0, float *tmp)
{
    float *r0 = tmp, *r1 = tmp + 4 * (size_t)n; /* r_i0 / r_i1 for i = 0..3, each n long */
    for (int i = 0; i < 4; i++) {
        const float *m0 = M + (size_t)(i * 4 + 0) * xs + tb, *m1 = M + (size_t)(i * 4 + 1) * xs + tb;
        const float *m2 = M + (size_t)(i * 4 + 2) * xs + tb, *m3 = M + (size_t)(i * 4 + 3) * xs + tb;
        float *a = r0 + (size_t)i * n, *c = r1 + (size_t)i * n;
        for (int t = 0; t < n; t++) {
            a[t] = m0[t] + m1[t] + m2[t];
            c[t] = m1[t] - m2[t] - m3[t];
        }
    }
    float *row = tmp + 8 * (size_t)n; /* 2n outputs */
    for (int yi = 0; yi < 2; yi++) {
        const int y = 2 * ty + yi;
        if (y >= H)
            break;
        const float *a0 = r0 + (size_t)(yi ? 1 : 0) * n, *a1 = r0 + (size_t)(yi ? 2 : 1) * n;
        const float *a2 = r0 + (size_t)(yi ? 3 : 2) * n;
        const float *c0 = r1 + (size_t)(yi ? 1 : 0) * n, *c1 = r1 + (size_t)(yi ? 2 : 1) * n;
        const float *c2 = r1 + (size_t)(yi ? 3 : 2) * n;
        const float s = yi ? -1.f : 1.f; /* row 1: r1 - r2 - r3; row 0: r0 + r1 + r2 */
        for (int t = 0; t < n; t++) {
            float e = yi ? a0[t] - a1[t] - a2[t] : a0[t] + a1[t] + a2[t];
            float o = yi ? c0[t] - c1[t] - c2[t] : c0[t] + c1[t] + c2[t];
            e += b;
            o += b;
            if (act == NW_ACT_LRELU) {
                e = e < 0.f ? e * NW_LRELU_SLOPE : e;
                o = o < 0.f ? o * NW_LRELU_SLOPE : o;
            }
            row[2 * t] = e;
            row[2 * t + 1] = o;
        }
        (void)s;
        const int x0 = 2 * tx0, nx = NW_MIN(2 * n, W - x0);
        memcpy(dst + (size_t)y * W + x0, row, sizeof(float) * nx);
    }
}

static void wino_conv(const NwCtx *ctx, const NwConv2d *d, const float *in, const float *weight,
                      const float *bias, float *out)
{
    const int H = d->h, W = d->w, cin = d->cin, cout = d->cout;
    const int th = (H + 1) / 2, tw = (W + 1) / 2, ntiles = th * tw;
    const int nb = wino_block(d);
    const int nblocks = (ntiles + nb - 1) / nb;
    float *U = ctx->scratch;
    const size_t per = (size_t)16 * nb * (cin + cout) + (size_t)10 * (nb + 2);
    wino_weights(ctx, d, weight, U);
#pragma omp parallel num_threads(ctx->n_threads)
    {
        omp_set_num_threads(1);
        float *V = U + (size_t)16 * cout * cin + (size_t)omp_get_thread_num() * per;
        float *M = V + (size_t)16 * nb * cin;
        float *tmp = M + (size_t)16 * nb * cout;
#pragma omp for schedule(dynamic)
        for (int bi = 0; bi < nblocks; bi++) {
            const int t0 = bi * nb, nt = NW_MIN(nb, ntiles - t0);
            const size_t vxs = (size_t)cin * nt, mxs = (size_t)cout * nt;
            for (int c = 0; c < cin; c++) {
                const float *src = in + (size_t)c * H * W;
                for (int t = t0; t < t0 + nt;) {
                    const int ty = t / tw, tx0 = t % tw, tx1 = NW_MIN(tw, tx0 + (t0 + nt - t));
                    wino_in_rows(src, H, W, ty, tx0, tx1, V + (size_t)c * nt, vxs, t - t0, tmp);
                    t += tx1 - tx0;
                }
            }
            for (int xi = 0; xi < 16; xi++)
                sgemm(0, 0, cout, nt, cin, U + (size_t)xi * cout * cin, cin, V + (size_t)xi * vxs, nt,
                      M + (size_t)xi * mxs, nt);
            for (int o = 0; o < cout; o++) {
                float *dst = out + (size_t)o * H * W;
                for (int t = t0; t < t0 + nt;) {
                    const int ty = t / tw, tx0 = t % tw, n = NW_MIN(tw - tx0, t0 + nt - t);
                    wino_out_rows(M + (size_t)o * nt, mxs, t - t0, n, bias ? bias[o] : 0.f, d->act, dst,
                                  H, W, ty, tx0, tmp);
                    t += n;
                }
            }
        }
    }
}

static size_t FN(conv2d_scratch)(const NwConv2d *d, int n_threads)
{
    const int oh = nw_conv_out(d->h, d->kh, d->stride, d->pad);
    const int ow = nw_conv_out(d->w, d->kw, d->stride, d->pad);
    const int K = d->cin * d->kh * d->kw;
    if (conv_is_pointwise(d))
        return 0;
    if (wino_ok(d))
        return wino_scratch(d, n_threads);
    return (size_t)n_threads * K * conv_chunk(K, oh * ow);
}

/* col (K, np): column j = output pixel p0 + j. */
static void im2col(const NwConv2d *d, int oh, int ow, const float *in, int p0, int np, float *col)
{
    const int s = d->stride;
    (void)oh;
    for (int c = 0; c < d->cin; c++) {
        const float *src = in + (size_t)c * d->h * d->w;
        for (int i = 0; i < d->kh; i++) {
            for (int j = 0; j < d->kw; j++) {
                float *dst = col + ((size_t)(c * d->kh + i) * d->kw + j) * np;
                int p = p0;
                while (p < p0 + np) {
                    const int y = p / ow, x0 = p % ow;
                    const int x1 = NW_MIN(ow, x0 + (p0 + np - p));
                    const int iy = y * s - d->pad + i;
                    float *o = dst + (p - p0);
                    if (iy < 0 || iy >= d->h) {
                        memset(o, 0, sizeof(float) * (x1 - x0));
                    } else {
                        const float *row = src + (size_t)iy * d->w;
                        /* [xa, xb): output columns whose input column lies inside the row */
                        const int off = j - d->pad;
                        int xa = off >= 0 ? 0 : (-off + s - 1) / s;
                        int xb = d->w - off > 0 ? (d->w - off + s - 1) / s : 0;
                        xa = NW_MAX(xa, x0);
                        xb = NW_MIN(xb, x1);
                        if (xb < xa)
                            xb = xa;
                        for (int x = x0; x < xa; x++)
                            o[x - x0] = 0.f;
                        if (s == 1) {
                            memcpy(o + (xa - x0), row + xa + off, sizeof(float) * (xb - xa));
                        } else if (s == 2) {
                            const float *r2 = row + off;
                            for (int x = xa; x < xb; x++)
                                o[x - x0] = r2[2 * x];
                        } else {
                            for (int x = xa; x < xb; x++)
                                o[x - x0] = row[x * s + off];
                        }
                        for (int x = xb; x < x1; x++)
                            o[x - x0] = 0.f;
                    }
                    p += x1 - x0;
                }
            }
        }
    }
}

static void FN(conv2d)(const NwCtx *ctx, const NwConv2d *d, const float *in, const float *weight,
                       const float *bias, float *out)
{
    if (wino_ok(d)) {
        wino_conv(ctx, d, in, weight, bias, out);
        return;
    }
    const int oh = nw_conv_out(d->h, d->kh, d->stride, d->pad);
    const int ow = nw_conv_out(d->w, d->kw, d->stride, d->pad);
    const int npix = oh * ow;
    const int K = d->cin * d->kh * d->kw;
    const int pw = conv_is_pointwise(d);
    const int chunk = pw ? NW_MIN(npix, 512) : conv_chunk(K, npix);
    const int nchunks = (npix + chunk - 1) / chunk;

#pragma omp parallel num_threads(ctx->n_threads)
    {
        omp_set_num_threads(1);
        float *col = pw ? NULL : ctx->scratch + (size_t)omp_get_thread_num() * K * chunk;
#pragma omp for schedule(dynamic)
        for (int ci = 0; ci < nchunks; ci++) {
            const int p0 = ci * chunk;
            const int np = NW_MIN(chunk, npix - p0);
            if (pw) {
                sgemm(0, 0, d->cout, np, K, weight, K, in + p0, npix, out + p0, npix);
            } else {
                im2col(d, oh, ow, in, p0, np, col);
                sgemm(0, 0, d->cout, np, K, weight, K, col, np, out + p0, npix);
            }
            for (int o = 0; o < d->cout; o++)
                bias_act_row(out + (size_t)o * npix + p0, np, bias ? bias[o] : 0.f, d->act);
        }
    }
}

static void FN(matmul)(const NwCtx *ctx, int M, int N, int K, const float *A, int lda, int trans_a,
                       const float *B, int ldb, int trans_b, const float *bias, float *C, int ldc)
{
    if (M == 1 && !trans_a) {
        /* a single row (incremental decoding): a GEMV reads the weights once, no packing */
#pragma omp parallel num_threads(1)
        {
            omp_set_num_threads(1); /* keep OpenBLAS on this thread */
            if (trans_b)
                cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.f, B, ldb, A, 1, 0.f, C, 1);
            else
                cblas_sgemv(CblasRowMajor, CblasTrans, K, N, 1.f, B, ldb, A, 1, 0.f, C, 1);
        }
        if (bias)
            for (int n = 0; n < N; n++)
                C[n] += bias[0];
        return;
    }
    /* Tiles of at most 256 columns and, for tall products (training batches: thousands of
     * rows), 256 rows, so that narrow linears (N <= 256) use every thread too. The tiling
     * depends only on the shape, never on the thread count: results stay thread-independent. */
    const int chunk = NW_MIN(N, 256);
    const int nchunks = chunk > 0 ? (N + chunk - 1) / chunk : 0;
    const int mchunk = M > 512 ? 256 : M;
    const int mchunks = mchunk > 0 ? (M + mchunk - 1) / mchunk : 0;
    const int tiles = nchunks * mchunks;
    /* small products run on the calling thread: a team costs more than it saves */
    const int big = (double)M * N * K > 4e6 && tiles > 1;
#pragma omp parallel num_threads(ctx->n_threads) if (big)
    {
        omp_set_num_threads(1);
#pragma omp for schedule(dynamic)
        for (int ti = 0; ti < tiles; ti++) {
            const int ci = ti % nchunks, mi = ti / nchunks;
            const int n0 = ci * chunk, nn = NW_MIN(chunk, N - n0);
            const int m0 = mi * mchunk, mm = NW_MIN(mchunk, M - m0);
            const float *Bc = trans_b ? B + (size_t)n0 * ldb : B + n0;
            const float *Am = trans_a ? A + m0 : A + (size_t)m0 * lda;
            sgemm(trans_a, trans_b, mm, nn, K, Am, lda, Bc, ldb, C + (size_t)m0 * ldc + n0, ldc);
            if (bias)
                for (int m = m0; m < m0 + mm; m++)
                    bias_act_row(C + (size_t)m * ldc + n0, nn, bias[m], NW_ACT_NONE);
        }
    }
}

/* ---- normalisation ------------------------------------------------------------------ */

static void FN(group_norm)(const NwCtx *ctx, const float *x, float *y, int c, int hw, int groups,
                           const float *gamma, const float *beta, float eps, int act)
{
    const int cg = c / groups;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(dynamic)
    for (int g = 0; g < groups; g++) {
        const size_t n = (size_t)cg * hw;
        const float *xs = x + (size_t)g * n;
        const double mean = sum_f(xs, n) / n;
        const double var = sumsq_f(xs, n, (float)mean) / n;
        const double rstd = 1.0 / sqrt(var + eps);
        for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
            const float a = (float)rstd * gamma[ch];
            const float b = beta[ch] - (float)(mean * rstd) * gamma[ch];
            const float *xr = x + (size_t)ch * hw;
            float *yr = y + (size_t)ch * hw;
            if (act == NW_ACT_LRELU) {
                for (int p = 0; p < hw; p++) {
                    const float v = xr[p] * a + b;
                    yr[p] = v < 0.f ? v * NW_LRELU_SLOPE : v;
                }
            } else {
                for (int p = 0; p < hw; p++)
                    yr[p] = xr[p] * a + b;
            }
        }
    }
}

#define LNC_BLOCK 64

static void FN(layer_norm_chan)(const NwCtx *ctx, const float *x, float *y, int c, int hw,
                                const float *g, const float *b, float eps, const float *res)
{
    const int nblocks = (hw + LNC_BLOCK - 1) / LNC_BLOCK;
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (int bi = 0; bi < nblocks; bi++) {
        const int p0 = bi * LNC_BLOCK, np = NW_MIN(LNC_BLOCK, hw - p0);
        float mean[LNC_BLOCK], rstd[LNC_BLOCK], acc[LNC_BLOCK];
        for (int p = 0; p < np; p++)
            acc[p] = 0.f;
        for (int ch = 0; ch < c; ch++) {
            const float *xr = x + (size_t)ch * hw + p0;
            for (int p = 0; p < np; p++)
                acc[p] += xr[p];
        }
        for (int p = 0; p < np; p++) {
            mean[p] = acc[p] / c;
            acc[p] = 0.f;
        }
        for (int ch = 0; ch < c; ch++) {
            const float *xr = x + (size_t)ch * hw + p0;
            for (int p = 0; p < np; p++) {
                const float d = xr[p] - mean[p];
                acc[p] += d * d;
            }
        }
        for (int p = 0; p < np; p++)
            rstd[p] = 1.f / sqrtf(acc[p] / c + eps);
        for (int ch = 0; ch < c; ch++) {
            const float *xr = x + (size_t)ch * hw + p0;
            float *yr = y + (size_t)ch * hw + p0;
            const float gc = g[ch], bc = b[ch];
            if (res) {
                const float *rr = res + (size_t)ch * hw + p0;
                for (int p = 0; p < np; p++)
                    yr[p] = (xr[p] - mean[p]) * rstd[p] * gc + bc + rr[p];
            } else {
                for (int p = 0; p < np; p++)
                    yr[p] = (xr[p] - mean[p]) * rstd[p] * gc + bc;
            }
        }
    }
}

/* ---- elementwise -------------------------------------------------------------------- */

#define EW_CHUNK 16384

static void FN(leaky_relu)(const NwCtx *ctx, float *x, size_t n, float slope)
{
    const long nchunks = (long)((n + EW_CHUNK - 1) / EW_CHUNK);
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (long ci = 0; ci < nchunks; ci++) {
        float *p = x + (size_t)ci * EW_CHUNK;
        const size_t m = NW_MIN((size_t)EW_CHUNK, n - (size_t)ci * EW_CHUNK);
        for (size_t i = 0; i < m; i++)
            p[i] = p[i] < 0.f ? p[i] * slope : p[i];
    }
}

static void FN(add)(const NwCtx *ctx, float *y, const float *x, size_t n)
{
    const long nchunks = (long)((n + EW_CHUNK - 1) / EW_CHUNK);
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (long ci = 0; ci < nchunks; ci++) {
        const size_t o = (size_t)ci * EW_CHUNK, m = NW_MIN((size_t)EW_CHUNK, n - o);
        for (size_t i = 0; i < m; i++)
            y[o + i] += x[o + i];
    }
}

static void FN(glu)(const NwCtx *ctx, const float *in, float *out, int c, int hw)
{
    const size_t n = (size_t)c * hw;
    const long nchunks = (long)((n + EW_CHUNK - 1) / EW_CHUNK);
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static)
    for (long ci = 0; ci < nchunks; ci++) {
        const size_t o = (size_t)ci * EW_CHUNK, m = NW_MIN((size_t)EW_CHUNK, n - o);
        for (size_t i = 0; i < m; i++)
            out[o + i] = in[o + i] * (1.f / (1.f + expf(-in[n + o + i])));
    }
}

/* Bilinear x2, align_corners=false: even outputs mix (k-1, k) with (1/4, 3/4), odd outputs
 * (k, k+1) with (3/4, 1/4), indices clamped at the borders; rows first, then columns,
 * exactly like the reference's weights (top/bottom rows interpolated along x first). */
static void FN(upsample2x)(const NwCtx *ctx, const float *in, float *out, int c, int h, int w)
{
    const int W = 2 * w;
    if (W > 4096) {
        nw_upsample2x_ref(ctx, in, out, c, h, w);
        return;
    }
#pragma omp parallel num_threads(ctx->n_threads)
    {
        float tmp0[4096], tmp1[4096];  /* two horizontally upsampled rows (W <= 4096) */
#pragma omp for schedule(static)
        for (int ch = 0; ch < c; ch++) {
            const float *src = in + (size_t)ch * h * w;
            float *dst = out + (size_t)ch * 4 * h * w;
            for (int oy = 0; oy < 2 * h; oy++) {
                const int k = oy >> 1;
                int y0, y1;
                float ly;
                if (oy & 1) {
                    y0 = k;
                    y1 = NW_MIN(k + 1, h - 1);
                    ly = 0.25f;
                } else if (k == 0) {
                    y0 = y1 = 0;
                    ly = 0.f;
                } else {
                    y0 = k - 1;
                    y1 = k;
                    ly = 0.75f;
                }
                const float *r0 = src + (size_t)y0 * w, *r1 = src + (size_t)y1 * w;
                /* horizontal pass on rows y0 and y1 */
                tmp0[0] = r0[0];
                tmp1[0] = r1[0];
                for (int x = 1; x < w; x++) {
                    tmp0[2 * x] = 0.25f * r0[x - 1] + 0.75f * r0[x];
                    tmp1[2 * x] = 0.25f * r1[x - 1] + 0.75f * r1[x];
                }
                for (int x = 0; x < w - 1; x++) {
                    tmp0[2 * x + 1] = 0.75f * r0[x] + 0.25f * r0[x + 1];
                    tmp1[2 * x + 1] = 0.75f * r1[x] + 0.25f * r1[x + 1];
                }
                tmp0[W - 1] = r0[w - 1];
                tmp1[W - 1] = r1[w - 1];
                float *d = dst + (size_t)oy * W;
                const float a = 1.f - ly;
                for (int x = 0; x < W; x++)
                    d[x] = a * tmp0[x] + ly * tmp1[x];
            }
        }
    }
}

/* ---- VQGanAttention ----------------------------------------------------------------- */

static size_t FN(vqgan_attn_scratch)(int heads, int dh, int n, int n_threads)
{
    (void)heads;
    return (size_t)n_threads * ((size_t)2 * dh * n + (size_t)n * n);
}

static void FN(vqgan_attn)(const NwCtx *ctx, const float *qkv, float *out, int heads, int dh, int n,
                           const float *scale, const float *bias)
{
    const int inner = heads * dh;
    const size_t per = (size_t)2 * dh * n + (size_t)n * n;
#pragma omp parallel num_threads(ctx->n_threads)
    {
        omp_set_num_threads(1);
        float *qn = ctx->scratch + (size_t)omp_get_thread_num() * per;
        float *kn = qn + (size_t)dh * n;
        float *sim = kn + (size_t)dh * n;
#pragma omp for schedule(dynamic)
        for (int hd = 0; hd < heads; hd++) {
            const float *q = qkv + (size_t)hd * dh * n;
            const float *k = qkv + (size_t)(inner + hd * dh) * n;
            const float *v = qkv + (size_t)(2 * inner + hd * dh) * n;
            for (int c = 0; c < dh; c++) {
                const float *qr = q + (size_t)c * n, *kr = k + (size_t)c * n;
                /* the learned scale is folded into q */
                const float fq = scale[hd] / fmaxf((float)sqrt(sumsq_f(qr, n, 0.f)), 1e-12f);
                const float fk = 1.f / fmaxf((float)sqrt(sumsq_f(kr, n, 0.f)), 1e-12f);
                for (int i = 0; i < n; i++) {
                    qn[(size_t)c * n + i] = qr[i] * fq;
                    kn[(size_t)c * n + i] = kr[i] * fk;
                }
            }
            sgemm(1, 0, n, n, dh, qn, n, kn, n, sim, n);
            for (int i = 0; i < n; i++) {
                float *row = sim + (size_t)i * n;
                const float *br = bias ? bias + ((size_t)hd * n + i) * n : NULL;
                float mx = -FLT_MAX;
                if (br)
                    for (int j = 0; j < n; j++)
                        row[j] += br[j];
                for (int j = 0; j < n; j++)
                    mx = fmaxf(mx, row[j]);
                for (int j = 0; j < n; j++)
                    row[j] = expf(row[j] - mx);
                const float inv = (float)(1.0 / sum_f(row, n));
                for (int j = 0; j < n; j++)
                    row[j] *= inv;
            }
            sgemm(0, 1, dh, n, n, v, n, sim, n, out + (size_t)hd * dh * n, n);
        }
    }
}

/* ---- vector quantisation ------------------------------------------------------------ */

#define VQ_CHUNK 128

static size_t FN(vq_assign_scratch)(int cd, int n, int K, int n_threads)
{
    (void)cd;
    (void)n;
    return (size_t)n_threads * K * VQ_CHUNK + (size_t)n;
}

static void FN(vq_assign)(const NwCtx *ctx, float *x, int cd, int n, const float *codebook, int K,
                          const float *code_sqnorm, int cosine, int32_t *idx, float *margin)
{
    float *xx = ctx->scratch;  /* |x_i|^2 (Euclidean) */
    const int nchunks = (n + VQ_CHUNK - 1) / VQ_CHUNK;
#pragma omp parallel num_threads(ctx->n_threads)
    {
        omp_set_num_threads(1);
        float *dist = ctx->scratch + n + (size_t)omp_get_thread_num() * K * VQ_CHUNK;
        double acc[VQ_CHUNK];
#pragma omp for schedule(dynamic)
        for (int ci = 0; ci < nchunks; ci++) {
            const int i0 = ci * VQ_CHUNK, ni = NW_MIN(VQ_CHUNK, n - i0);
            for (int i = 0; i < ni; i++)
                acc[i] = 0;
            for (int c = 0; c < cd; c++) {
                const float *xr = x + (size_t)c * n + i0;
                for (int i = 0; i < ni; i++)
                    acc[i] += (double)xr[i] * xr[i];
            }
            if (cosine) {
                for (int c = 0; c < cd; c++) {
                    float *xr = x + (size_t)c * n + i0;
                    for (int i = 0; i < ni; i++)
                        xr[i] /= fmaxf((float)sqrt(acc[i]), 1e-6f);
                }
            } else {
                for (int i = 0; i < ni; i++)
                    xx[i0 + i] = (float)acc[i];
            }
            sgemm(0, 0, K, ni, cd, codebook, cd, x + i0, n, dist, ni);
            for (int i = 0; i < ni; i++) {
                float best = -FLT_MAX, second = -FLT_MAX;
                int arg = 0;
                for (int k = 0; k < K; k++) {
                    float d = dist[(size_t)k * ni + i];
                    if (!cosine)
                        d = -sqrtf(fmaxf(xx[i0 + i] + code_sqnorm[k] - 2.f * d, 1e-8f));
                    if (d > best) {
                        second = best;
                        best = d;
                        arg = k;
                    } else if (d > second) {
                        second = d;
                    }
                }
                idx[i0 + i] = arg;
                if (margin)
                    margin[i0 + i] = K > 1 ? best - second : FLT_MAX;
            }
        }
    }
}


/* ---- transformer ops ------------------------------------------------------------------ */

static void FN(layer_norm)(const NwCtx *ctx, const float *x, float *y, int n, int d, const float *g,
                           const float *b, float eps, int stable)
{
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if (n > 8)
    for (int i = 0; i < n; i++) {
        const float *xr = x + (size_t)i * d;
        float *yr = y + (size_t)i * d;
        float inv = 1.f;
        if (stable) {
            float mx = -FLT_MAX;
            for (int j = 0; j < d; j++)
                mx = mx > xr[j] ? mx : xr[j];
            inv = 1.f / mx;
        }
        /* statistics of x/max: scale the float sums instead of the row */
        const double mean = sum_f(xr, d) * inv / d;
        const float mx_mean = (float)(mean / inv);
        const double var = sumsq_f(xr, d, mx_mean) * inv * inv / d;
        const float rstd = (float)(1.0 / sqrt(var + eps));
        const float fm = (float)mean;
        if (stable) {
            for (int j = 0; j < d; j++)
                yr[j] = (xr[j] / (1.f / inv) - fm) * rstd * g[j] + b[j];
        } else {
            for (int j = 0; j < d; j++)
                yr[j] = (xr[j] - fm) * rstd * g[j] + b[j];
        }
    }
}



static void FN(geglu)(const NwCtx *ctx, const float *u, float *a, int n, int f)
{
#pragma omp parallel for num_threads(ctx->n_threads) schedule(static) if (n > 8)
    for (int i = 0; i < n; i++) {
        const float *ur = u + (size_t)i * 2 * f;
        float *ar = a + (size_t)i * f;
#pragma omp simd
        for (int j = 0; j < f; j++) {
            const float gt = ur[f + j];
            float e;
            const float Phi = gelu_phi(gt, &e);
            ar[j] = ur[j] * (gt * Phi);
        }
    }
}

static inline float dotf(const float *a, const float *b, int n)
{
    float acc[8] = {0};
    int c = 0;
    for (; c + 8 <= n; c += 8)
        for (int l = 0; l < 8; l++)
            acc[l] += a[c + l] * b[c + l];
    float s = 0.f;
    for (; c < n; c++)
        s += a[c] * b[c];
    for (int l = 0; l < 8; l++)
        s += acc[l];
    return s;
}

/* Softmax per head row (heads x nt, stride nt) then talking heads into pt. */
static void softmax_talk_f(float *p, float *pt, int heads, int nt, const float *th)
{
    for (int hd = 0; hd < heads; hd++) {
        float *r = p + (size_t)hd * nt;
        float mx = -FLT_MAX;
        for (int j = 0; j < nt; j++)
            mx = mx > r[j] ? mx : r[j];
        for (int j = 0; j < nt; j++)
            r[j] = expf(r[j] - mx);
        const float inv = (float)(1.0 / sum_f(r, nt));
        for (int j = 0; j < nt; j++)
            r[j] *= inv;
    }
    for (int hd = 0; hd < heads; hd++) {
        float *o = pt + (size_t)hd * nt;
        for (int j = 0; j < nt; j++)
            o[j] = 0.f;
        for (int g2 = 0; g2 < heads; g2++) {
            const float w = th[hd * heads + g2];
            const float *r = p + (size_t)g2 * nt;
            for (int j = 0; j < nt; j++)
                o[j] += w * r[j];
        }
    }
}

static size_t FN(attn_null_scratch)(int n, int m, int heads, int n_threads)
{
    (void)n;
    return (size_t)n_threads * 2 * heads * (m + 1);
}

static void FN(attn_null)(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk,
                          const float *v, int ldv, int n, int m, int heads, int dh,
                          const float *null_k, const float *null_v, const uint8_t *keep,
                          const float *th, float scale, float *out, int ldo)
{
    const int nt = m + 1;
#pragma omp parallel num_threads(ctx->n_threads) if (n > 4)
    {
        float *p = ctx->scratch + (size_t)omp_get_thread_num() * 2 * heads * nt;
        float *pt = p + (size_t)heads * nt;
        float qs[1024];
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            for (int hd = 0; hd < heads; hd++) {
                const float *qi = q + (size_t)i * ldq + hd * dh;
                float *pr = p + (size_t)hd * nt;
                for (int c = 0; c < dh; c++) /* dh <= 1024 (checked at load) */
                    qs[c] = qi[c] * scale;
                pr[0] = dotf(qs, null_k + hd * dh, dh);
                for (int j = 1; j < nt; j++)
                    pr[j] = (keep && !keep[j - 1]) ? -FLT_MAX : dotf(qs, k + (size_t)(j - 1) * ldk + hd * dh, dh);
            }
            softmax_talk_f(p, pt, heads, nt, th);
            for (int hd = 0; hd < heads; hd++) {
                float *o = out + (size_t)i * ldo + hd * dh;
                const float *pr = pt + (size_t)hd * nt;
                for (int c = 0; c < dh; c++)
                    o[c] = pr[0] * null_v[hd * dh + c];
                for (int j = 1; j < nt; j++) {
                    const float w = pr[j];
                    if (w == 0.f)
                        continue;
                    const float *vr = v + (size_t)(j - 1) * ldv + hd * dh;
                    for (int c = 0; c < dh; c++)
                        o[c] += w * vr[c];
                }
            }
        }
    }
}

static void FN(attn_gather)(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk,
                            const float *v, int ldv, const float *kbos, const float *vbos,
                            const int32_t *idx, int n, int nk, int heads, int dh, const float *bias,
                            const float *th, float scale, float *out, int ldo)
{
    const int nt = nk + 1;
#pragma omp parallel num_threads(ctx->n_threads) if (n > 4)
    {
        float p[2 * 64 * 256], qs[1024]; /* heads * nt <= 16384 (checked at load) */
        float *pt = p + 64 * 256;
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            const int32_t *ix = idx + (size_t)i * nk;
            for (int hd = 0; hd < heads; hd++) {
                const float *qi = q + (size_t)i * ldq + hd * dh;
                float *pr = p + (size_t)hd * nt;
                for (int c = 0; c < dh; c++)
                    qs[c] = qi[c] * scale;
                pr[0] = dotf(qs, kbos + hd * dh, dh);
                for (int j = 1; j < nt; j++) {
                    if (ix[j - 1] < 0) {
                        pr[j] = -FLT_MAX;
                        continue;
                    }
                    float sj = dotf(qs, k + (size_t)ix[j - 1] * ldk + hd * dh, dh);
                    if (bias)
                        sj += bias[(size_t)(j - 1) * heads + hd];
                    pr[j] = sj;
                }
            }
            softmax_talk_f(p, pt, heads, nt, th);
            for (int hd = 0; hd < heads; hd++) {
                float *o = out + (size_t)i * ldo + hd * dh;
                const float *pr = pt + (size_t)hd * nt;
                for (int c = 0; c < dh; c++)
                    o[c] = pr[0] * vbos[hd * dh + c];
                for (int j = 1; j < nt; j++) {
                    if (ix[j - 1] < 0)
                        continue;
                    const float w = pr[j];
                    const float *vr = v + (size_t)ix[j - 1] * ldv + hd * dh;
                    for (int c = 0; c < dh; c++)
                        o[c] += w * vr[c];
                }
            }
        }
    }
}

/* ---- rows ---- */

static void FN(linear)(const NwCtx *ctx, const float *x, int n, int i, const float *W, int o, const float *bias,
                       float *y)
{
    FN(matmul)(ctx, n, o, i, x, i, 0, W, i, 1, NULL, y, o);
    if (bias)
        for (int r = 0; r < n; r++) {
            float *yr = y + (size_t)r * o;
            for (int c = 0; c < o; c++)
                yr[c] += bias[c];
        }
}

/* Row movers: embedding gather and rotary. ref/'s versions decide per element (add? trans?)
 * and redo the angles per head; here whole rows are copied or handled by branch-free loops the
 * compiler vectorises. Every output element is computed by the same float operation as in ref/,
 * so results are bit-identical to the reference (tests/ops checks that exactly). Measured,
 * n = 256, d = 512, 1 thread: embed 207 -> 20 us, with add 75 -> 25 us, transposed 480 -> 90 us;
 * rotary (256 rows, 8 heads of 64) 340 -> 78 us. No OpenMP: on the shared 2-core build machine
 * a team never beat one thread for these sizes (tens of microseconds, memory- or libm-bound),
 * and at one decoding row a team only costs. Token shift is already whole-segment memcpy in
 * ref/ (27 us at n = 256) and gets no CPU version. */

static void embed_row(const float *table, int d, int32_t id, const float *a, float *o)
{
    const float *e = table + (size_t)id * d;
    if (a)
        for (int j = 0; j < d; j++)
            o[j] = e[j] + a[j];
    else
        memcpy(o, e, sizeof(float) * d);
}

static void FN(embed)(const NwCtx *ctx, const float *table, int d, const int32_t *ids, int n, const float *add,
                      float *out, int trans)
{
    (void)ctx;
    if (!trans) {
        for (int r = 0; r < n; r++)
            embed_row(table, d, ids[r], add ? add + (size_t)r * d : NULL, out + (size_t)r * d);
        return;
    }
    /* out (d, n), tiled by 16 features: for each token one cache line of its table row is read
     * and one column of 16 output rows written, so both sides stay in L1 */
    for (int j0 = 0; j0 < d; j0 += 16) {
        const int nj = NW_MIN(16, d - j0);
        float *o = out + (size_t)j0 * n;
        for (int r = 0; r < n; r++) {
            const float *e = table + (size_t)ids[r] * d + j0;
            if (add) {
                const float *a = add + (size_t)r * d + j0;
                for (int j = 0; j < nj; j++)
                    o[(size_t)j * n + r] = e[j] + a[j];
            } else {
                for (int j = 0; j < nj; j++)
                    o[(size_t)j * n + r] = e[j];
            }
        }
    }
}

/* One row: the angles are shared by the heads, so cosf/sinf once per k, then one vectorisable
 * pass per head. hr <= dh / 2 <= 512 (dh is checked at load). */
static void rotary_row(float *x, int heads, int dh, int hr, const float *inv_freq, int pos)
{
    float cs[512], sn[512];
    for (int k = 0; k < hr; k++) {
        const float th = (float)pos * inv_freq[k];
        cs[k] = cosf(th);
        sn[k] = sinf(th);
    }
    for (int hd = 0; hd < heads; hd++) {
        float *v = x + (size_t)hd * dh;
        for (int k = 0; k < hr; k++) {
            const float a = v[k], b = v[k + hr];
            v[k] = a * cs[k] + (-b) * sn[k];
            v[k + hr] = b * cs[k] + a * sn[k];
        }
    }
}

static void FN(rotary)(const NwCtx *ctx, float *x, int n, int ld, int heads, int dh, int rot, const float *inv_freq,
                       int p0)
{
    (void)ctx;
    for (int i = 0; i < n; i++)
        rotary_row(x + (size_t)i * ld, heads, dh, rot / 2, inv_freq, p0 + i);
}

static void FN(attn_3dna)(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq, const float *k,
                          const float *v, int ldkv, const float *kbos, const float *vbos, int n, int heads, int dh,
                          const float *bias, const float *th, float scale, float *out, int ldo)
{
    int32_t *idx = (int32_t *)ctx->scratch;
    nw_dna_indices(g, t0, n, idx);
    FN(attn_gather)(ctx, q, ldq, k, ldkv, v, ldkv, kbos, vbos, idx, n, g->kf * g->kh * g->kw, heads, dh, bias, th,
                    scale, out, ldo);
}

void FN(nw_ops_fill_cpu)(NwOps *o);
void FN(nw_ops_fill_cpu)(NwOps *o)
{
    o->conv2d = FN(conv2d);
    o->conv2d_scratch = FN(conv2d_scratch);
    o->matmul = FN(matmul);
    o->group_norm = FN(group_norm);
    o->layer_norm_chan = FN(layer_norm_chan);
    o->leaky_relu = FN(leaky_relu);
    o->glu = FN(glu);
    o->upsample2x = FN(upsample2x);
    o->add = FN(add);
    o->vqgan_attn = FN(vqgan_attn);
    o->vqgan_attn_scratch = FN(vqgan_attn_scratch);
    o->vq_assign = FN(vq_assign);
    o->vq_assign_scratch = FN(vq_assign_scratch);
    o->layer_norm = FN(layer_norm);
    o->geglu = FN(geglu);
    o->attn_null = FN(attn_null);
    o->attn_null_scratch = FN(attn_null_scratch);
    o->attn_gather = FN(attn_gather);
    o->linear = FN(linear);
    o->embed = FN(embed);
    o->rotary = FN(rotary);
    o->attn_3dna = FN(attn_3dna);
}
