/*
 * ref/sample.c — the sampling spec (nw_sample, nw_uniforms) and the reference ops of the
 * generation loop: guidance mix and sampling. Host memory, plain loops.
 */
#include <math.h>
#include <string.h>

#include "ops.h"
#include "ref/ref.h"

int nw_sample(const float *logits, int V, double thres, float temperature, const float *u, float *work,
              float *margin)
{
    int k = (int)((1.0 - thres) * V);
    if (k < 1)
        k = 1;
    if (k > V)
        k = V;
    /* k-th largest value (quickselect on a copy), then keep the values above it and, among
     * the values equal to it, the lowest indices */
    float *w = work;
    memcpy(w, logits, sizeof(float) * V);
    int lo = 0, hi = V - 1;
    const int target = k - 1;
    while (lo < hi) {
        const float pivot = w[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (w[i] > pivot)
                i++;
            while (w[j] < pivot)
                j--;
            if (i <= j) {
                const float t = w[i];
                w[i] = w[j];
                w[j] = t;
                i++;
                j--;
            }
        }
        if (target <= j)
            hi = j;
        else if (target >= i)
            lo = i;
        else
            break;
    }
    const float kth = w[target];
    int above = 0;
    for (int i = 0; i < V; i++)
        above += logits[i] > kth;
    int keep_n = k - above; /* entries equal to kth that are kept, lowest indices first */
    int best = -1;
    float bv = -INFINITY, second = -INFINITY;
    for (int i = 0; i < V; i++) {
        float l = logits[i];
        int kept = l > kth;
        if (!kept && l == kth && keep_n > 0) {
            kept = 1;
            keep_n--;
        }
        /* each log in double, rounded to float: the result then does not depend on the
         * platform's logf (glibc's and CUDA's differ by an ulp), so every backend agrees */
        const float uu = u[i] < 1e-20f ? 1e-20f : u[i];
        float inner = (float)-log((double)uu);
        inner = inner < 1e-20f ? 1e-20f : inner;
        const float gmb = (float)-log((double)inner);
        const float sc = (kept ? l : -INFINITY) / temperature + gmb;
        if (best < 0 || sc > bv) {
            second = bv;
            bv = sc;
            best = i;
        } else if (sc > second) {
            second = sc;
        }
    }
    if (margin)
        *margin = bv - second;
    return best;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void nw_uniforms(uint64_t seed, uint64_t counter, float *u, int n)
{
    const uint64_t key = mix64(seed ^ 0x6A09E667F3BCC909ull);
    for (int i = 0; i < n; i++) {
        const uint64_t x = mix64(key + mix64(counter * 0x9E3779B97F4A7C15ull + (uint64_t)i));
        u[i] = (float)(x >> 40) * (1.0f / 16777216.0f);
    }
}

void nw_guide_ref(const NwCtx *ctx, const float *lc, const float *lu, float *out, int n, float scale)
{
    (void)ctx;
    for (int i = 0; i < n; i++)
        out[i] = lu[i] + (lc[i] - lu[i]) * scale;
}

size_t nw_sample_scratch_ref(int V, int n_threads)
{
    (void)n_threads;
    return (size_t)2 * V;
}

void nw_sample_ref(const NwCtx *ctx, const float *logits, int V, const NwSampleParams *p, int32_t *tok,
                   float *margin)
{
    float *u = ctx->scratch, *work = u + V;
    if (p->u)
        memcpy(u, p->u, sizeof(float) * V);
    else
        nw_uniforms(p->seed, p->counter, u, V);
    *tok = nw_sample(logits, V, p->thres, p->temperature, u, work, margin);
}
