/*
 * attention.cu — the transformer's two attention ops (ref/transformer_ops.c):
 *   attn_null    every query row attends a learned null key/value plus m keys (masked by
 *                `keep`): text self-attention and the video decoder's cross-attention;
 *   attn_gather  every query row attends a bos key plus nk keys gathered by index (-1 =
 *                masked), with a per-key-slot bias: the 3DNA self-attention of the decoder.
 * Both end with talking heads, a (heads x heads) mix of the softmax probabilities across
 * heads, so a query row needs all of its heads' probabilities before any output: one block
 * per query row keeps the (heads x keys) probability table in shared memory (global scratch
 * for attn_null rows too long for it) and runs four phases separated by barriers:
 *   1. scores   one warp per (head, key): lanes split the dh products, a shuffle sum;
 *   2. softmax  one warp per head;
 *   3. talk     one thread per key column, in place (the column is read first);
 *   4. output   one thread per output channel (hd, c): a coalesced pass over the value rows.
 * Blocks loop over rows (grid-stride), so the global fallback needs only a fixed number of
 * tables. Arithmetic follows the reference (q * scale rounded before the product, -FLT_MAX for
 * masked keys, bias after the float score), in float.
 *
 * Decoding one token runs one block per query row: latency, not throughput, bounds it there.
 */
#include "common.cuh"

#define ATT_THREADS 256
#define ATT_MAX_HEADS 64

/* Phase 2: softmax of each head's row (heads x nt), one warp per head. */
__device__ void att_softmax(float *p, int heads, int nt)
{
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int hd = wid; hd < heads; hd += nw) {
        float *r = p + (size_t)hd * nt;
        float mx = -FLT_MAX;
        for (int j = lane; j < nt; j += 32)
            mx = fmaxf(mx, r[j]);
        mx = nw_warp_max(mx);
        double den = 0;
        for (int j = lane; j < nt; j += 32) {
            const float e = expf(r[j] - mx);
            r[j] = e;
            den += e;
        }
        den = nw_warp_sum(den);
        for (int j = lane; j < nt; j += 32)
            r[j] = (float)(r[j] / den);
    }
}

/* Phase 3: pt[hd][j] = sum_g th[hd][g] p[g][j], in place (each column belongs to one thread). */
__device__ void att_talk(float *p, int heads, int nt, const float *th)
{
    if (!th)
        return;
    for (int j = threadIdx.x; j < nt; j += blockDim.x) {
        float col[ATT_MAX_HEADS];
        for (int g = 0; g < heads; g++)
            col[g] = p[(size_t)g * nt + j];
        for (int hd = 0; hd < heads; hd++) {
            const float *tr = th + hd * heads;
            float acc = 0.f;
            for (int g = 0; g < heads; g++)
                acc = fmaf(tr[g], col[g], acc);
            p[(size_t)hd * nt + j] = acc;
        }
    }
}

/* Phase 1 helper: the warp's dot product of (q * scale) with a key row of dh floats. */
__device__ __forceinline__ float att_dot(const float *qr, const float *kr, int dh, float scale)
{
    float s = 0.f;
    if (kr)
        for (int c = threadIdx.x & 31; c < dh; c += 32)
            s = fmaf(__fmul_rn(qr[c], scale), kr[c], s);
    return nw_warp_sum(s);
}

__global__ void k_attn_null(const float *q, int ldq, const float *k, int ldk, const float *v, int ldv, int n,
                            int m, int heads, int dh, const float *null_k, const float *null_v,
                            const uint8_t *keep, const float *th, float scale, float *out, int ldo, float *gbuf)
{
    NW_DYN_SMEM(float, smem);
    const int nt = m + 1, inner = heads * dh, npair = heads * nt;
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    float *p = gbuf ? gbuf + (size_t)blockIdx.x * npair : smem;
    for (int i = blockIdx.x; i < n; i += gridDim.x) {
        for (int pair = wid; pair < npair; pair += nw) {
            const int hd = pair / nt, j = pair % nt;
            const bool masked = j && keep && !keep[j - 1];
            const float *kr = masked ? NULL : j ? k + (size_t)(j - 1) * ldk + hd * dh : null_k + hd * dh;
            const float sc = att_dot(q + (size_t)i * ldq + hd * dh, kr, dh, scale);
            if (lane == 0)
                p[pair] = masked ? -FLT_MAX : sc;
        }
        __syncthreads();
        att_softmax(p, heads, nt);
        __syncthreads();
        att_talk(p, heads, nt, th);
        __syncthreads();
        for (int e = threadIdx.x; e < inner; e += blockDim.x) {
            const float *pr = p + (size_t)(e / dh) * nt;
            float acc = pr[0] * null_v[e];
            for (int j = 1; j < nt; j++) {
                if (keep && !keep[j - 1])
                    continue; /* probability exactly 0 */
                acc = fmaf(pr[j], v[(size_t)(j - 1) * ldv + e], acc);
            }
            out[(size_t)i * ldo + e] = acc;
        }
        __syncthreads(); /* p is rewritten by the next row */
    }
}

__global__ void k_attn_gather(const float *q, int ldq, const float *k, int ldk, const float *v, int ldv,
                              const float *kbos, const float *vbos, const int32_t *idx, int n, int nk, int heads,
                              int dh, const float *bias, const float *th, float scale, float *out, int ldo)
{
    NW_DYN_SMEM(float, smem);
    const int nt = nk + 1, inner = heads * dh, npair = heads * nt;
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    float *p = smem;
    int32_t *ix = (int32_t *)(smem + npair);
    for (int i = blockIdx.x; i < n; i += gridDim.x) {
        for (int j = threadIdx.x; j < nk; j += blockDim.x)
            ix[j] = idx[(size_t)i * nk + j];
        __syncthreads();
        for (int pair = wid; pair < npair; pair += nw) {
            const int hd = pair / nt, j = pair % nt;
            const bool masked = j && ix[j - 1] < 0;
            const float *kr = masked ? NULL : j ? k + (size_t)ix[j - 1] * ldk + hd * dh : kbos + hd * dh;
            float sc = att_dot(q + (size_t)i * ldq + hd * dh, kr, dh, scale);
            if (j && bias)
                sc += bias[(size_t)(j - 1) * heads + hd];
            if (lane == 0)
                p[pair] = masked ? -FLT_MAX : sc;
        }
        __syncthreads();
        att_softmax(p, heads, nt);
        __syncthreads();
        att_talk(p, heads, nt, th);
        __syncthreads();
        for (int e = threadIdx.x; e < inner; e += blockDim.x) {
            const float *pr = p + (size_t)(e / dh) * nt;
            float acc = pr[0] * vbos[e];
            for (int j = 1; j < nt; j++) {
                const int r = ix[j - 1];
                if (r >= 0)
                    acc = fmaf(pr[j], v[(size_t)r * ldv + e], acc);
            }
            out[(size_t)i * ldo + e] = acc;
        }
        __syncthreads(); /* p and ix are rewritten by the next row */
    }
}

extern "C" size_t nw_k_attn_null_smem(int m, int heads)
{
    return (size_t)heads * (m + 1) * sizeof(float);
}

extern "C" size_t nw_k_attn_gather_smem(int nk, int heads)
{
    return (size_t)heads * (nk + 1) * sizeof(float) + (size_t)nk * sizeof(int32_t);
}

/* Allows `bytes` of dynamic shared memory for kern when that is above the 48 KiB default. */
template <typename K> static cudaError_t att_smem_optin(K kern, size_t bytes)
{
    if (bytes <= 48 * 1024)
        return cudaSuccess;
    return cudaFuncSetAttribute((const void *)kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
}

extern "C" cudaError_t nw_k_attn_null(const NwKStream *s, const float *q, int ldq, const float *k, int ldk,
                                      const float *v, int ldv, int n, int m, int heads, int dh,
                                      const float *null_k, const float *null_v, const uint8_t *keep,
                                      const float *th, float scale, float *out, int ldo, float *gbuf)
{
    if (n <= 0 || heads <= 0 || dh <= 0 || m < 0)
        return cudaSuccess;
    if (heads > ATT_MAX_HEADS)
        return cudaErrorInvalidValue;
    size_t smem = 0;
    unsigned grid = (unsigned)n;
    if (gbuf) {
        if (grid > NW_K_ATTN_GBLOCKS)
            grid = NW_K_ATTN_GBLOCKS;
    } else {
        smem = nw_k_attn_null_smem(m, heads);
        if (smem > s->smem_optin)
            return cudaErrorInvalidValue;
        cudaError_t e = att_smem_optin(k_attn_null, smem);
        if (e != cudaSuccess)
            return e;
    }
    NW_LAUNCH(k_attn_null, grid, ATT_THREADS, smem, s->stream, q, ldq, k, ldk, v, ldv, n, m, heads, dh, null_k,
              null_v, keep, th, scale, out, ldo, gbuf);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_attn_gather(const NwKStream *s, const float *q, int ldq, const float *k, int ldk,
                                        const float *v, int ldv, const float *kbos, const float *vbos,
                                        const int32_t *idx, int n, int nk, int heads, int dh, const float *bias,
                                        const float *th, float scale, float *out, int ldo)
{
    if (n <= 0 || heads <= 0 || dh <= 0 || nk < 0)
        return cudaSuccess;
    if (heads > ATT_MAX_HEADS)
        return cudaErrorInvalidValue;
    const size_t smem = nw_k_attn_gather_smem(nk, heads);
    if (smem > s->smem_optin)
        return cudaErrorInvalidValue;
    cudaError_t e = att_smem_optin(k_attn_gather, smem);
    if (e != cudaSuccess)
        return e;
    NW_LAUNCH(k_attn_gather, (unsigned)n, ATT_THREADS, smem, s->stream, q, ldq, k, ldk, v, ldv, kbos, vbos, idx, n,
              nk, heads, dh, bias, th, scale, out, ldo);
    return cudaGetLastError();
}
