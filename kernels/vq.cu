/*
 * vq.cu — vector-quantiser assignment around the cuBLAS GEMM of the code dot products
 * (ref/vq.c): per-column norms (and the cosine normalisation, in place), then one block per
 * column that turns its K dot products into distances and finds the first best code and the
 * top-1 - top-2 margin.
 *
 * Ties: each thread scans its codes in increasing order with the reference's update rule
 * (strictly greater replaces the best), and partial results merge keeping the larger value
 * and, on equal values, the lower index; the runner-up is the largest value other than the
 * winner's. So idx is torch.argmax's first maximum and a duplicated code gives margin 0, as
 * in the reference.
 */
#include <limits.h>

#include "common.cuh"

#define VQ_THREADS 256

__global__ void k_vq_colnorm(float *x, int cd, int n, int cosine, double *xx)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        double ss = 0;
        for (int c = 0; c < cd; c++) {
            const double v = x[(size_t)c * n + i];
            ss += v * v;
        }
        xx[i] = ss;
        if (cosine) {
            const float nrm = fmaxf((float)sqrt(ss), 1e-6f);
            for (int c = 0; c < cd; c++)
                x[(size_t)c * n + i] /= nrm;
        }
    }
}

struct Top2 {
    float best, second;
    int arg;
};

__device__ __forceinline__ Top2 top2_merge(Top2 a, Top2 b)
{
    const bool bw = b.best > a.best || (b.best == a.best && b.arg < a.arg);
    Top2 r;
    r.best = bw ? b.best : a.best;
    r.arg = bw ? b.arg : a.arg;
    r.second = fmaxf(fmaxf(a.second, b.second), bw ? a.best : b.best);
    return r;
}

__device__ __forceinline__ Top2 top2_shfl_xor(Top2 t, int o)
{
    Top2 r;
    r.best = __shfl_xor_sync(NW_FULL_MASK, t.best, o);
    r.second = __shfl_xor_sync(NW_FULL_MASK, t.second, o);
    r.arg = __shfl_xor_sync(NW_FULL_MASK, t.arg, o);
    return r;
}

__global__ void k_vq_argmax(const float *dots, int K, const double *xx, const float *code_sqnorm, int cosine,
                            int32_t *idx, float *margin)
{
    __shared__ Top2 sh[32];
    const int i = blockIdx.x;
    const float *dr = dots + (size_t)i * K;
    Top2 t;
    t.best = -FLT_MAX;
    t.second = -FLT_MAX;
    t.arg = INT_MAX; /* no code yet: loses every tie */
    const double xi = cosine ? 0.0 : xx[i];
    for (int k = threadIdx.x; k < K; k += blockDim.x) {
        float d = dr[k];
        if (!cosine)
            d = -sqrtf(fmaxf((float)(xi + (double)code_sqnorm[k] - 2.0 * (double)d), 1e-8f));
        if (d > t.best || t.arg == INT_MAX) {
            t.second = t.best;
            t.best = d;
            t.arg = k;
        } else if (d > t.second) {
            t.second = d;
        }
    }
    for (int o = 16; o > 0; o >>= 1)
        t = top2_merge(t, top2_shfl_xor(t, o));
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0)
        sh[wid] = t;
    __syncthreads();
    if (wid == 0) {
        if (lane < nw) {
            t = sh[lane];
        } else {
            t.best = t.second = -FLT_MAX;
            t.arg = INT_MAX;
        }
        for (int o = 16; o > 0; o >>= 1)
            t = top2_merge(t, top2_shfl_xor(t, o));
        if (lane == 0) {
            idx[i] = t.arg == INT_MAX ? 0 : t.arg;
            if (margin)
                margin[i] = K > 1 ? t.best - t.second : FLT_MAX;
        }
    }
}

extern "C" cudaError_t nw_k_vq_colnorm(const NwKStream *s, float *x, int cd, int n, int cosine, double *xx)
{
    if (n <= 0)
        return cudaSuccess;
    NW_LAUNCH(k_vq_colnorm, nw_grid_1d((size_t)n, VQ_THREADS, s->sms), VQ_THREADS, 0, s->stream, x, cd, n, cosine,
              xx);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_vq_argmax(const NwKStream *s, const float *dots, int ni, int K, const double *xx,
                                      const float *code_sqnorm, int cosine, int32_t *idx, float *margin)
{
    if (ni <= 0)
        return cudaSuccess;
    NW_LAUNCH(k_vq_argmax, (unsigned)ni, nw_row_threads(K, VQ_THREADS), 0, s->stream, dots, K, xx, code_sqnorm,
              cosine, idx, margin);
    return cudaGetLastError();
}
