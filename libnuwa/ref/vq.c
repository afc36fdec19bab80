/*
 * ref/vq.c — reference vector-quantiser assignment (MODEL.md §1.3): cosine (normalised input
 * dotted with the stored, unit-norm codes) or negated clamped Euclidean distance; the first
 * maximum wins ties, as torch.argmax does.
 */
#include <float.h>
#include <math.h>

#include "ops.h"
#include "ref/ref.h"

size_t nw_vq_assign_scratch_ref(int cd, int n, int K, int n_threads)
{
    (void)cd;
    (void)n;
    (void)K;
    (void)n_threads;
    return 0;
}

void nw_vq_assign_ref(const NwCtx *ctx, float *x, int cd, int n, const float *codebook, int K,
                      const float *code_sqnorm, int cosine, int32_t *idx, float *margin)
{
    (void)ctx;
    for (int i = 0; i < n; i++) {
        double xx = 0;
        for (int c = 0; c < cd; c++)
            xx += (double)x[(size_t)c * n + i] * x[(size_t)c * n + i];
        if (cosine) {
            const float nrm = fmaxf((float)sqrt(xx), 1e-6f);
            for (int c = 0; c < cd; c++)
                x[(size_t)c * n + i] /= nrm;
        }
        float best = -FLT_MAX, second = -FLT_MAX;
        int arg = 0;
        for (int k = 0; k < K; k++) {
            double dot = 0;
            for (int c = 0; c < cd; c++)
                dot += (double)codebook[(size_t)k * cd + c] * x[(size_t)c * n + i];
            float dist;
            if (cosine)
                dist = (float)dot;
            else
                dist = -sqrtf(fmaxf((float)(xx + code_sqnorm[k] - 2.0 * dot), 1e-8f));
            if (dist > best) {
                second = best;
                best = dist;
                arg = k;
            } else if (dist > second) {
                second = dist;
            }
        }
        idx[i] = arg;
        if (margin)
            margin[i] = K > 1 ? best - second : FLT_MAX;
    }
}
