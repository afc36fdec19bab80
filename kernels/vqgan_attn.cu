/*
 * vqgan_attn.cu — the non-GEMM parts of VQGanAttention (ref/attention.c): l2-normalisation of
 * the q and k rows along the pixel axis, and the scaled, biased softmax of the similarity rows.
 * The backend runs them around two strided-batched cuBLAS GEMMs (sim = q^T k per head, out =
 * v attn^T), a batch of heads at a time. One block per row, block reductions in double as in
 * the reference.
 */
#include "common.cuh"

__global__ void k_l2norm_rows(const float *src, float *dst, int n)
{
    __shared__ double sh[32];
    const float *sr = src + (size_t)blockIdx.x * n;
    float *dr = dst + (size_t)blockIdx.x * n;
    double ss = 0;
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        ss += (double)sr[j] * sr[j];
    const float nrm = fmaxf((float)sqrt(nw_block_sum(ss, sh)), 1e-12f);
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        dr[j] = sr[j] / nrm;
}

__global__ void k_softmax_scaled(float *S, int h0, int n, const float *scale, const float *bias)
{
    __shared__ float shf[32];
    __shared__ double shd[32];
    const int hd = h0 + (int)(blockIdx.x / n), i = (int)(blockIdx.x % n);
    float *row = S + (size_t)blockIdx.x * n;
    const float *br = bias ? bias + ((size_t)hd * n + i) * n : NULL;
    const float sc = scale[hd];
    float mx = -FLT_MAX;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        float v = __fmul_rn(row[j], sc);
        if (br)
            v = __fadd_rn(v, br[j]);
        row[j] = v;
        mx = fmaxf(mx, v);
    }
    mx = nw_block_max(mx, shf);
    double den = 0;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        const float e = expf(row[j] - mx);
        row[j] = e;
        den += e;
    }
    den = nw_block_sum(den, shd);
    for (int j = threadIdx.x; j < n; j += blockDim.x)
        row[j] = (float)(row[j] / den);
}

extern "C" cudaError_t nw_k_l2norm_rows(const NwKStream *s, const float *src, float *dst, int rows, int n)
{
    if (rows <= 0 || n <= 0)
        return cudaSuccess;
    NW_LAUNCH(k_l2norm_rows, (unsigned)rows, nw_row_threads(n, 256), 0, s->stream, src, dst, n);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_softmax_scaled(const NwKStream *s, float *S, int h0, int batch, int n,
                                           const float *scale, const float *bias)
{
    if (batch <= 0 || n <= 0)
        return cudaSuccess;
    NW_LAUNCH(k_softmax_scaled, (unsigned)((size_t)batch * n), nw_row_threads(n, 256), 0, s->stream, S, h0, n,
              scale, bias);
    return cudaGetLastError();
}
