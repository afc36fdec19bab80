/*
 * sample.cu — one token from V logits on the device, identical to the host spec nw_sample
 * (ref/sample.c) for the same logits and uniforms, so that a generation gives the same tokens
 * on every backend.
 *
 * One block does everything (a decode step samples one token; V is a few thousand), with
 * fixed reduction orders and no atomics:
 *   1. the k-th largest logit, as an order-preserving uint32 key, by a bitwise radix select:
 *      from the top bit down, keep a bit when at least k keys are >= the candidate (32 block
 *      counts; skipped when k = V);
 *   2. ties at the threshold: the spec keeps the lowest indices among the values equal to the
 *      k-th largest, k - (number above) of them; when that is fewer than all of them, a binary
 *      search on the index finds the cut (another ~log2(V) block counts);
 *   3. scores (kept ? l : -inf) / temperature + gumbel(u) and a block top-2 reduction with the
 *      spec's tie rules: the winner is the first index of the maximum, the runner-up the
 *      largest score of any other index.
 * Gumbel noise takes the two logarithms in double and rounds each to float, as the spec does:
 * a double log is within an ulp of the exact value on both sides, so the float results agree
 * (glibc's and CUDA's logf may differ by an ulp, which would flip near-tied tokens). The
 * division and the addition use the rounding intrinsics so nvcc cannot fuse them.
 * The uniforms are p->u, or nw_uniforms(seed, counter) computed here: integer arithmetic and
 * an exact conversion, so bit-identical to the host.
 * Logits are expected to be free of NaN (the spec's quickselect has no order for them); -0
 * and +0 are one value, as the spec's comparisons see them.
 */
#include <limits.h>

#include "common.cuh"

#define SMP_THREADS 1024

/* Order-preserving key: a < b as floats <=> key(a) < key(b) (for non-NaN floats, with -0 = +0). */
__device__ __forceinline__ uint32_t smp_key(float f)
{
    uint32_t u;
    if (f == 0.f)
        f = 0.f; /* -0 -> +0 */
    memcpy(&u, &f, sizeof(u));
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* The mix of nw_uniforms (ref/sample.c), bit for bit. */
__device__ __forceinline__ uint64_t smp_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

__device__ __forceinline__ float smp_gumbel(float u)
{
    const float uu = u < 1e-20f ? 1e-20f : u;
    float inner = (float)(-log((double)uu));
    inner = inner < 1e-20f ? 1e-20f : inner;
    return (float)(-log((double)inner));
}

enum { SMP_GE, SMP_GT, SMP_EQ_BEFORE };

/* Block-wide count of the indices i < V with: key >= t (SMP_GE), key > t (SMP_GT), or
 * key == t and i < cut (SMP_EQ_BEFORE). Every thread gets the count. */
__device__ int smp_count(const float *l, int V, int mode, uint32_t t, int cut, int *sh)
{
    int c = 0;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        const uint32_t kk = smp_key(l[i]);
        c += mode == SMP_GE ? kk >= t : mode == SMP_GT ? kk > t : (kk == t && i < cut);
    }
    return nw_block_sum(c, sh);
}

struct SmpTop2 {
    float best, second;
    int arg; /* INT_MAX: nothing yet, loses every tie */
};

__device__ __forceinline__ SmpTop2 smp_merge(SmpTop2 a, SmpTop2 b)
{
    const bool bw = b.best > a.best || (b.best == a.best && b.arg < a.arg);
    SmpTop2 r;
    r.best = bw ? b.best : a.best;
    r.arg = bw ? b.arg : a.arg;
    r.second = fmaxf(fmaxf(a.second, b.second), bw ? a.best : b.best);
    return r;
}

__device__ __forceinline__ SmpTop2 smp_shfl(SmpTop2 t, int o)
{
    SmpTop2 r;
    r.best = __shfl_xor_sync(NW_FULL_MASK, t.best, o);
    r.second = __shfl_xor_sync(NW_FULL_MASK, t.second, o);
    r.arg = __shfl_xor_sync(NW_FULL_MASK, t.arg, o);
    return r;
}

__global__ void k_sample(const float *l, int V, int k, float temperature, uint64_t seed, uint64_t counter,
                         const float *u, int32_t *tok, float *margin)
{
    __shared__ int shc[32];
    __shared__ SmpTop2 sht[32];
    /* kept: key > t, or key == t and index < cut; k = V keeps everything (t = 0 is below every
     * non-NaN key) */
    uint32_t t = 0;
    int cut = V;
    if (k < V) {
        for (int b = 31; b >= 0; b--) {
            const uint32_t cand = t | (1u << b);
            if (smp_count(l, V, SMP_GE, cand, 0, shc) >= k)
                t = cand;
        }
        const int keep_n = k - smp_count(l, V, SMP_GT, t, 0, shc); /* >= 1: t is the k-th largest */
        if (smp_count(l, V, SMP_EQ_BEFORE, t, V, shc) > keep_n) {
            /* the largest I with fewer than keep_n equal values before it: index I is the
             * keep_n-th equal one */
            int I = 0, hb = 0;
            while (hb < 30 && (1 << (hb + 1)) <= V)
                hb++;
            for (int b = hb; b >= 0; b--) {
                const int cand = I | (1 << b);
                if (cand <= V && smp_count(l, V, SMP_EQ_BEFORE, t, cand, shc) < keep_n)
                    I = cand;
            }
            cut = I + 1;
        }
    }
    const uint64_t key = smp_mix64(seed ^ 0x6A09E667F3BCC909ull);
    SmpTop2 r;
    r.best = r.second = -INFINITY;
    r.arg = INT_MAX;
    /* each thread visits its indices in increasing order with the spec's update rule */
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        const float li = l[i];
        const uint32_t kk = smp_key(li);
        const bool kept = kk > t || (kk == t && i < cut);
        float ui;
        if (u) {
            ui = u[i];
        } else {
            const uint64_t x = smp_mix64(key + smp_mix64(counter * 0x9E3779B97F4A7C15ull + (uint64_t)i));
            ui = (float)(x >> 40) * (1.0f / 16777216.0f);
        }
        const float sc = __fadd_rn(__fdiv_rn(kept ? li : -INFINITY, temperature), smp_gumbel(ui));
        if (r.arg == INT_MAX || sc > r.best) {
            r.second = r.best;
            r.best = sc;
            r.arg = i;
        } else if (sc > r.second) {
            r.second = sc;
        }
    }
    for (int o = 16; o > 0; o >>= 1)
        r = smp_merge(r, smp_shfl(r, o));
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0)
        sht[wid] = r;
    __syncthreads();
    if (wid == 0) {
        if (lane < nw) {
            r = sht[lane];
        } else {
            r.best = r.second = -INFINITY;
            r.arg = INT_MAX;
        }
        for (int o = 16; o > 0; o >>= 1)
            r = smp_merge(r, smp_shfl(r, o));
        if (lane == 0) {
            *tok = r.arg;
            if (margin)
                *margin = r.best - r.second;
        }
    }
}

extern "C" cudaError_t nw_k_sample(const NwKStream *s, const float *logits, int V, double thres, float temperature,
                                   uint64_t seed, uint64_t counter, const float *u, int32_t *tok, float *margin)
{
    if (V <= 0)
        return cudaErrorInvalidValue;
    /* the spec's k, computed on the host in double exactly as nw_sample does */
    int k = (int)((1.0 - thres) * V);
    if (k < 1)
        k = 1;
    if (k > V)
        k = V;
    NW_LAUNCH(k_sample, 1, nw_row_threads(V, SMP_THREADS), 0, s->stream, logits, V, k, temperature, seed, counter, u,
              tok, margin);
    return cudaGetLastError();
}
