/*
 * ref/transformer_ops.c — reference transformer ops (MODEL.md §2.2): row LayerNorm /
 * StableLayerNorm, GEGLU, attention with a null key/value and talking heads, and the gathered
 * sparse attention used by 3DNA. Plain loops, double accumulation, one query row at a time.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "ops.h"
#include "ref/ref.h"

void nw_layer_norm_ref(const NwCtx *ctx, const float *x, float *y, int n, int d, const float *g,
                       const float *b, float eps, int stable)
{
    (void)ctx;
    for (int i = 0; i < n; i++) {
        const float *xr = x + (size_t)i * d;
        float *yr = y + (size_t)i * d;
        float div = 1.f;
        if (stable) {
            div = -FLT_MAX;
            for (int j = 0; j < d; j++)
                div = fmaxf(div, xr[j]);
        }
        double sum = 0, sq = 0;
        for (int j = 0; j < d; j++)
            sum += xr[j] / div;
        const double mean = sum / d;
        for (int j = 0; j < d; j++) {
            const double t = xr[j] / div - mean;
            sq += t * t;
        }
        const double rstd = 1.0 / sqrt(sq / d + eps);
        for (int j = 0; j < d; j++)
            yr[j] = (float)((xr[j] / div - mean) * rstd) * g[j] + b[j];
    }
}

void nw_geglu_ref(const NwCtx *ctx, const float *u, float *a, int n, int f)
{
    (void)ctx;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < f; j++) {
            const double gt = u[(size_t)i * 2 * f + f + j];
            const double ge = 0.5 * gt * (1.0 + erf(gt / sqrt(2.0)));
            a[(size_t)i * f + j] = (float)(u[(size_t)i * 2 * f + j] * ge);
        }
}

size_t nw_attn_null_scratch_ref(int n, int m, int heads, int n_threads)
{
    (void)n;
    (void)n_threads;
    return (size_t)2 * heads * (m + 1);
}

/* Softmax of each head's row p (heads x nk) in place, then talking heads into pt. */
static void softmax_talk(float *p, float *pt, int heads, int nk, const float *th)
{
    for (int hd = 0; hd < heads; hd++) {
        float *r = p + (size_t)hd * nk;
        float mx = -FLT_MAX;
        for (int j = 0; j < nk; j++)
            mx = fmaxf(mx, r[j]);
        double den = 0;
        for (int j = 0; j < nk; j++) {
            r[j] = expf(r[j] - mx);
            den += r[j];
        }
        for (int j = 0; j < nk; j++)
            r[j] = (float)(r[j] / den);
    }
    for (int hd = 0; hd < heads; hd++)
        for (int j = 0; j < nk; j++) {
            double acc = 0;
            for (int g2 = 0; g2 < heads; g2++)
                acc += (double)th[hd * heads + g2] * p[(size_t)g2 * nk + j];
            pt[(size_t)hd * nk + j] = (float)acc;
        }
}

void nw_attn_null_ref(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk,
                      const float *v, int ldv, int n, int m, int heads, int dh,
                      const float *null_k, const float *null_v, const uint8_t *keep,
                      const float *th, float scale, float *out, int ldo)
{
    const int nk = m + 1;
    float *p = ctx->scratch, *pt = p + (size_t)heads * nk;
    for (int i = 0; i < n; i++) {
        for (int hd = 0; hd < heads; hd++) {
            const float *qi = q + (size_t)i * ldq + hd * dh;
            for (int j = 0; j < nk; j++) {
                const float *kj = j ? k + (size_t)(j - 1) * ldk + hd * dh : null_k + hd * dh;
                double s = 0;
                for (int c = 0; c < dh; c++)
                    s += (double)(qi[c] * scale) * kj[c];
                p[(size_t)hd * nk + j] = (j && keep && !keep[j - 1]) ? -FLT_MAX : (float)s;
            }
        }
        softmax_talk(p, pt, heads, nk, th);
        for (int hd = 0; hd < heads; hd++)
            for (int c = 0; c < dh; c++) {
                double acc = 0;
                for (int j = 0; j < nk; j++) {
                    const float vj = j ? v[(size_t)(j - 1) * ldv + hd * dh + c] : null_v[hd * dh + c];
                    acc += (double)pt[(size_t)hd * nk + j] * vj;
                }
                out[(size_t)i * ldo + hd * dh + c] = (float)acc;
            }
    }
}

void nw_attn_gather_ref(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk,
                        const float *v, int ldv, const float *kbos, const float *vbos,
                        const int32_t *idx, int n, int nk, int heads, int dh, const float *bias,
                        const float *th, float scale, float *out, int ldo)
{
    const int nt = nk + 1;
    float p[2 * 64 * 256], *pt = p + (size_t)heads * nt; /* heads * nt <= 16384 (checked at load) */
    (void)ctx;
    for (int i = 0; i < n; i++) {
        const int32_t *ix = idx + (size_t)i * nk;
        for (int hd = 0; hd < heads; hd++) {
            const float *qi = q + (size_t)i * ldq + hd * dh;
            for (int j = 0; j < nt; j++) {
                if (j && ix[j - 1] < 0) {
                    p[(size_t)hd * nt + j] = -FLT_MAX;
                    continue;
                }
                const float *kj = j ? k + (size_t)ix[j - 1] * ldk + hd * dh : kbos + hd * dh;
                double s = 0;
                for (int c = 0; c < dh; c++)
                    s += (double)(qi[c] * scale) * kj[c];
                float sf = (float)s;
                if (j && bias)
                    sf += bias[(size_t)(j - 1) * heads + hd];
                p[(size_t)hd * nt + j] = sf;
            }
        }
        softmax_talk(p, pt, heads, nt, th);
        for (int hd = 0; hd < heads; hd++)
            for (int c = 0; c < dh; c++) {
                double acc = 0;
                for (int j = 0; j < nt; j++) {
                    if (j && ix[j - 1] < 0)
                        continue;
                    const float vj = j ? v[(size_t)ix[j - 1] * ldv + hd * dh + c] : vbos[hd * dh + c];
                    acc += (double)pt[(size_t)hd * nt + j] * vj;
                }
                out[(size_t)i * ldo + hd * dh + c] = (float)acc;
            }
    }
}
