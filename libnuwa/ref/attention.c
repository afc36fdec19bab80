/*
 * ref/attention.c — reference VQGanAttention core (MODEL.md §1.2): q, k l2-normalised along
 * the spatial axis, learned per-head scale, additive position bias, softmax over keys.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "internal.h"
#include "ops.h"
#include "ref/ref.h"

size_t nw_vqgan_attn_scratch_ref(int heads, int dh, int n, int n_threads)
{
    (void)heads;
    (void)n_threads;
    return (size_t)2 * dh * n + (size_t)n;
}

void nw_vqgan_attn_ref(const NwCtx *ctx, const float *qkv, float *out, int heads, int dh, int n,
                       const float *scale, const float *bias)
{
    const int inner = heads * dh;
    float *qn = ctx->scratch;               /* (dh, n) normalised q of one head */
    float *kn = qn + (size_t)dh * n;        /* (dh, n) */
    float *row = kn + (size_t)dh * n;       /* (n) */
    for (int hd = 0; hd < heads; hd++) {
        const float *q = qkv + (size_t)hd * dh * n;
        const float *k = qkv + (size_t)(inner + hd * dh) * n;
        const float *v = qkv + (size_t)(2 * inner + hd * dh) * n;
        for (int c = 0; c < dh; c++) {
            double sq = 0, sk = 0;
            for (int i = 0; i < n; i++) {
                sq += (double)q[(size_t)c * n + i] * q[(size_t)c * n + i];
                sk += (double)k[(size_t)c * n + i] * k[(size_t)c * n + i];
            }
            const float nq = fmaxf((float)sqrt(sq), 1e-12f), nk = fmaxf((float)sqrt(sk), 1e-12f);
            for (int i = 0; i < n; i++) {
                qn[(size_t)c * n + i] = q[(size_t)c * n + i] / nq;
                kn[(size_t)c * n + i] = k[(size_t)c * n + i] / nk;
            }
        }
        for (int i = 0; i < n; i++) {
            float mx = -FLT_MAX;
            for (int j = 0; j < n; j++) {
                float s = 0.f;
                for (int c = 0; c < dh; c++)
                    s += qn[(size_t)c * n + i] * kn[(size_t)c * n + j];
                s *= scale[hd];
                if (bias)
                    s += bias[((size_t)hd * n + i) * n + j];
                row[j] = s;
                mx = fmaxf(mx, s);
            }
            double den = 0;
            for (int j = 0; j < n; j++) {
                row[j] = expf(row[j] - mx);
                den += row[j];
            }
            for (int c = 0; c < dh; c++) {
                double acc = 0;
                for (int j = 0; j < n; j++)
                    acc += (double)row[j] * v[(size_t)c * n + j];
                out[(size_t)(hd * dh + c) * n + i] = (float)(acc / den);
            }
        }
    }
}
