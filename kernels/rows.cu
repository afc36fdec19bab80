/*
 * rows.cu — the kernels that move transformer rows (ref/rows.c, ref/sample.c): the column bias
 * of linear, the embedding gather, rotary, token shift, the 3DNA index list of attn_3dna and
 * the classifier-free guidance mix. Grid-stride loops, one output element per thread and
 * iteration, all memory-bound.
 *
 * Exactness vs the reference: bias, embed, token shift, the index list and guide are
 * bit-exact (the same float operations; the rounding intrinsics keep nvcc from contracting
 * guide and rotary into FMAs, which the reference, built without FMA, does not do). Rotary
 * computes th exactly as the reference and then CUDA's cosf/sinf, which are within 2 ulp of
 * glibc's (the precise functions: the Makefile does not pass --use_fast_math, and __cosf
 * would lose all accuracy for the large angles of late positions).
 */
#include "common.cuh"

#define ROW_THREADS 256

/* C (M rows of N, stride ldc): C[m][j] = (overwrite ? 0 : C[m][j]) + (bias ? bias[j] : 0) */
__global__ void k_bias_cols(float *C, int M, int N, int ldc, const float *bias, int overwrite)
{
    const size_t total = (size_t)M * N;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        const int m = (int)(e / N), j = (int)(e % N);
        float *p = C + (size_t)m * ldc + j;
        const float v = overwrite ? 0.f : *p;
        *p = bias ? v + bias[j] : v;
    }
}

/* Output element e in the output's own order (coalesced writes; the reads are gathered). */
__global__ void k_embed(const float *table, int d, const int32_t *ids, int n, const float *add, float *out,
                        int trans)
{
    const size_t total = (size_t)n * d;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        const int r = trans ? (int)(e % n) : (int)(e / d), j = trans ? (int)(e / n) : (int)(e % d);
        const float t = table[(size_t)ids[r] * d + j];
        out[e] = add ? t + add[(size_t)r * d + j] : t;
    }
}

/* One thread per (row, frequency, head): th, cos and sin are recomputed per head rather than
 * shared, which costs nothing next to the memory traffic and keeps every thread independent. */
__global__ void k_rotary(float *x, int n, int ld, int heads, int dh, int hr, const float *inv_freq, int p0)
{
    const size_t total = (size_t)n * hr * heads;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        const int hd = (int)(e % heads), k = (int)(e / heads % hr), i = (int)(e / heads / hr);
        const float th = __fmul_rn((float)(p0 + i), inv_freq[k]);
        const float cs = cosf(th), sn = sinf(th);
        float *v = x + (size_t)i * ld + (size_t)hd * dh;
        const float a = v[k], b = v[k + hr];
        v[k] = __fadd_rn(__fmul_rn(a, cs), __fmul_rn(-b, sn));
        v[k + hr] = __fadd_rn(__fmul_rn(b, cs), __fmul_rn(a, sn));
    }
}

/* out row i = ring row p (p = p0 + i), with features [0, c) from the row above (p - fmap) and
 * [c, c2) from the left neighbour (p - 1) of token p - 1, zero at the frame's top row / left
 * column. */
__global__ void k_token_shift(const float *ring, int cap, int p0, int n, int d, int fmap, int T, float *out)
{
    const int c = (d + 3) / 4, c2 = 2 * c < d ? 2 * c : d;
    const size_t total = (size_t)n * d;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        const int i = (int)(e / d), j = (int)(e % d), p = p0 + i;
        int src = p; /* ring position to read; -1: zero */
        if (p > 0 && j < c2) {
            const int t = p - 1;
            if (j < c)
                src = (t % T) / fmap > 0 ? p - fmap : -1;
            else
                src = t % fmap > 0 ? p - 1 : -1;
        }
        out[e] = src < 0 ? 0.f : ring[(size_t)(src % cap) * d + j];
    }
}

/* idx (n, K): nw_dna_indices, one thread per entry. */
__global__ void k_dna_indices(int kf, int kh, int kw, int dil, int fmap, int T, int cap, int t0, int n,
                              int32_t *idx)
{
    const int K = kf * kh * kw;
    const size_t total = (size_t)n * K;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        const int i = (int)(e / K), j = (int)(e % K);
        const int a = j / (kh * kw), b = j / kw % kh, ee = j % kw;
        const int t = t0 + i, f = t / T, r = (t % T) / fmap, c = t % fmap;
        const int ff = f - dil * (kf - 1 - a), rr = r - dil * (kh - 1 - b), cc = c - dil * (kw - 1 - ee);
        idx[e] = (ff < 0 || rr < 0 || cc < 0) ? -1 : (int32_t)(((int64_t)ff * T + rr * fmap + cc) % cap);
    }
}

__global__ void k_guide(const float *lc, const float *lu, float *out, int n, float scale)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        const float u = lu[i];
        out[i] = __fadd_rn(u, __fmul_rn(__fsub_rn(lc[i], u), scale));
    }
}

extern "C" cudaError_t nw_k_bias_cols(const NwKStream *s, float *C, int M, int N, int ldc, const float *bias,
                                      int overwrite)
{
    const size_t total = (size_t)(M > 0 ? M : 0) * (N > 0 ? N : 0);
    if (total == 0 || (!bias && !overwrite))
        return cudaSuccess;
    NW_LAUNCH(k_bias_cols, nw_grid_1d(total, ROW_THREADS, s->sms), ROW_THREADS, 0, s->stream, C, M, N, ldc, bias,
              overwrite);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_embed(const NwKStream *s, const float *table, int d, const int32_t *ids, int n,
                                  const float *add, float *out, int trans)
{
    if (n <= 0 || d <= 0)
        return cudaSuccess;
    const size_t total = (size_t)n * d;
    NW_LAUNCH(k_embed, nw_grid_1d(total, ROW_THREADS, s->sms), ROW_THREADS, 0, s->stream, table, d, ids, n, add, out,
              trans);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_rotary(const NwKStream *s, float *x, int n, int ld, int heads, int dh, int rot,
                                   const float *inv_freq, int p0)
{
    const int hr = rot / 2;
    if (n <= 0 || heads <= 0 || hr <= 0)
        return cudaSuccess;
    const size_t total = (size_t)n * hr * heads;
    NW_LAUNCH(k_rotary, nw_grid_1d(total, ROW_THREADS, s->sms), ROW_THREADS, 0, s->stream, x, n, ld, heads, dh, hr,
              inv_freq, p0);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_token_shift(const NwKStream *s, const float *ring, int cap, int p0, int n, int d,
                                        int fmap, int T, float *out)
{
    if (n <= 0 || d <= 0)
        return cudaSuccess;
    if (cap <= 0 || fmap <= 0 || T <= 0 || p0 < 0)
        return cudaErrorInvalidValue;
    const size_t total = (size_t)n * d;
    NW_LAUNCH(k_token_shift, nw_grid_1d(total, ROW_THREADS, s->sms), ROW_THREADS, 0, s->stream, ring, cap, p0, n, d,
              fmap, T, out);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_dna_indices(const NwKStream *s, int kf, int kh, int kw, int dil, int fmap, int T,
                                        int cap, int t0, int n, int32_t *idx)
{
    if (n <= 0 || kf <= 0 || kh <= 0 || kw <= 0)
        return cudaSuccess;
    if (cap <= 0 || fmap <= 0 || T <= 0 || t0 < 0)
        return cudaErrorInvalidValue;
    const size_t total = (size_t)n * kf * kh * kw;
    NW_LAUNCH(k_dna_indices, nw_grid_1d(total, ROW_THREADS, s->sms), ROW_THREADS, 0, s->stream, kf, kh, kw, dil,
              fmap, T, cap, t0, n, idx);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_guide(const NwKStream *s, const float *lc, const float *lu, float *out, int n,
                                  float scale)
{
    if (n <= 0)
        return cudaSuccess;
    NW_LAUNCH(k_guide, nw_grid_1d((size_t)n, ROW_THREADS, s->sms), ROW_THREADS, 0, s->stream, lc, lu, out, n, scale);
    return cudaGetLastError();
}
