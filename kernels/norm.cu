/*
 * norm.cu — GroupNorm (+ leaky ReLU), LayerNormChan (+ residual) and the row LayerNorm /
 * StableLayerNorm of the transformer. Statistics are accumulated in double, as in
 * libnuwa/ref/norm.c and ref/transformer_ops.c, in a fixed order (results do not vary from run
 * to run).
 *
 * GroupNorm: a group is cg * hw consecutive floats (up to millions at 256x256), too much for
 * one block, so two launches: k_gn_stats cuts each group into <= 32 chunks, one block each,
 * and writes (sum, sum of squares) of x - x[first] per chunk to the aux workspace (the shift
 * keeps E[d^2] - E[d]^2 accurate when |mean| >> std); k_gn_apply, one grid row per channel,
 * folds the chunks of its group into (a, b) and writes y = act(x * a + b).
 *
 * LayerNormChan: statistics over channels for each pixel of (c, hw). A block covers 32 pixels
 * (one per lane, so every load is a coalesced 128-byte row segment) and 8 or 32 channel lanes
 * (one per warp) that split the channel loop; the warps' partials meet in shared memory.
 *
 * Row LayerNorm: one block per row, block reductions (two passes: mean, then centred squares,
 * as the reference does).
 */
#include "common.cuh"

/* ---- GroupNorm ------------------------------------------------------------------------- */

#define GN_THREADS 256
#define GN_CHUNK 16384    /* elements per stats block, at least */
#define GN_MAX_SPLITS 32  /* chunks per group, at most (one warp folds them) */

__global__ void k_gn_stats(const float *x, size_t ng, int splits, double2 *part, float *shift)
{
    __shared__ double sh[32];
    const int g = blockIdx.y, s = blockIdx.x;
    const float *xs = x + (size_t)g * ng;
    const double sft = xs[0];
    const size_t chunk = (ng + splits - 1) / splits;
    const size_t i0 = (size_t)s * chunk, i1 = i0 + chunk < ng ? i0 + chunk : ng;
    double sum = 0, sq = 0;
    for (size_t i = i0 + threadIdx.x; i < i1; i += blockDim.x) {
        const double d = (double)xs[i] - sft;
        sum += d;
        sq += d * d;
    }
    sum = nw_block_sum(sum, sh);
    sq = nw_block_sum(sq, sh);
    if (threadIdx.x == 0) {
        part[(size_t)g * splits + s] = make_double2(sum, sq);
        if (s == 0)
            shift[g] = xs[0];
    }
}

__global__ void k_gn_apply(const float *x, float *y, int hw, int cg, size_t ng, int splits, const double2 *part,
                           const float *shift, const float *gamma, const float *beta, float eps, int act)
{
    __shared__ float ab[2];
    const int ch = blockIdx.y, g = ch / cg;
    if (threadIdx.x < 32) {
        double sum = 0, sq = 0;
        for (int k = threadIdx.x; k < splits; k += 32) {
            const double2 pk = part[(size_t)g * splits + k];
            sum += pk.x;
            sq += pk.y;
        }
        sum = nw_warp_sum(sum);
        sq = nw_warp_sum(sq);
        if (threadIdx.x == 0) {
            const double md = sum / (double)ng;
            double var = sq / (double)ng - md * md;
            if (var < 0)
                var = 0;
            const double mean = (double)shift[g] + md;
            const double rstd = 1.0 / sqrt(var + (double)eps);
            ab[0] = (float)rstd * gamma[ch];
            ab[1] = beta[ch] - (float)(mean * rstd) * gamma[ch];
        }
    }
    __syncthreads();
    const float a = ab[0], b = ab[1];
    const float *xr = x + (size_t)ch * hw;
    float *yr = y + (size_t)ch * hw;
    for (int p = blockIdx.x * blockDim.x + threadIdx.x; p < hw; p += gridDim.x * blockDim.x) {
        float v = fmaf(xr[p], a, b);
        if (act && v < 0.f)
            v *= NW_LEAKY_SLOPE;
        yr[p] = v;
    }
}

extern "C" cudaError_t nw_k_group_norm(const NwKStream *s, const float *x, float *y, int c, int hw, int groups,
                                       const float *gamma, const float *beta, float eps, int act)
{
    if (c <= 0 || hw <= 0 || groups <= 0 || c < groups)
        return cudaSuccess;
    const int cg = c / groups, ch_used = cg * groups;
    if (groups > 65535 || ch_used > 65535)
        return cudaErrorInvalidValue;
    const size_t ng = (size_t)cg * hw;
    size_t splits = (ng + GN_CHUNK - 1) / GN_CHUNK;
    if (splits > GN_MAX_SPLITS)
        splits = GN_MAX_SPLITS;
    /* aux: partials (groups x splits double2), then the shifts */
    const size_t per = sizeof(double2) + sizeof(float);
    if ((size_t)groups * per > s->aux_bytes)
        return cudaErrorInvalidValue;
    while (splits > 1 && (size_t)groups * (splits * sizeof(double2) + sizeof(float)) > s->aux_bytes)
        splits--;
    double2 *part = (double2 *)s->aux;
    float *shift = (float *)(part + (size_t)groups * splits);
    NW_LAUNCH(k_gn_stats, dim3((unsigned)splits, (unsigned)groups), GN_THREADS, 0, s->stream, x, ng, (int)splits,
              part, shift);
    /* apply: enough blocks per channel for ~8 waves over the device, >= 4 elements a thread */
    size_t bx = ((size_t)hw + GN_THREADS * 4 - 1) / (GN_THREADS * 4);
    const size_t want = ((size_t)(s->sms > 0 ? s->sms : 1) * 8 + ch_used - 1) / ch_used;
    if (bx > want)
        bx = want;
    if (bx < 1)
        bx = 1;
    NW_LAUNCH(k_gn_apply, dim3((unsigned)bx, (unsigned)ch_used), GN_THREADS, 0, s->stream, x, y, hw, cg, ng,
              (int)splits, (const double2 *)part, (const float *)shift, gamma, beta, eps, act);
    return cudaGetLastError();
}

/* ---- LayerNormChan ---------------------------------------------------------------------- */

#define LNC_PIX 32

__global__ void __launch_bounds__(1024) k_layer_norm_chan(const float *x, float *y, int c, int hw, const float *g, const float *b,
                                  float eps, const float *res)
{
    __shared__ double part[32][LNC_PIX + 1];
    __shared__ double stat[2][LNC_PIX];
    const int lane = threadIdx.x & 31, cl = threadIdx.x >> 5, ncl = blockDim.x >> 5;
    const int p = blockIdx.x * LNC_PIX + lane;
    const bool ok = p < hw;
    double sum = 0;
    if (ok)
        for (int ch = cl; ch < c; ch += ncl)
            sum += x[(size_t)ch * hw + p];
    part[cl][lane] = sum;
    __syncthreads();
    if (cl == 0) {
        double t = 0;
        for (int k = 0; k < ncl; k++)
            t += part[k][lane];
        stat[0][lane] = t / c;
    }
    __syncthreads();
    const double mean = stat[0][lane];
    double sq = 0;
    if (ok)
        for (int ch = cl; ch < c; ch += ncl) {
            const double d = x[(size_t)ch * hw + p] - mean;
            sq += d * d;
        }
    part[cl][lane] = sq;
    __syncthreads();
    if (cl == 0) {
        double t = 0;
        for (int k = 0; k < ncl; k++)
            t += part[k][lane];
        stat[1][lane] = 1.0 / sqrt(t / c + (double)eps);
    }
    __syncthreads();
    const double rstd = stat[1][lane];
    if (ok)
        for (int ch = cl; ch < c; ch += ncl) {
            const size_t e = (size_t)ch * hw + p;
            float v = __fadd_rn(__fmul_rn((float)((x[e] - mean) * rstd), g[ch]), b[ch]);
            if (res)
                v += res[e];
            y[e] = v;
        }
}

extern "C" cudaError_t nw_k_layer_norm_chan(const NwKStream *s, const float *x, float *y, int c, int hw,
                                            const float *g, const float *b, float eps, const float *res)
{
    if (c <= 0 || hw <= 0)
        return cudaSuccess;
    const unsigned blocks = (unsigned)((hw + LNC_PIX - 1) / LNC_PIX);
    /* few pixels and many channels (attention stages): 32 channel lanes, else 8 */
    const int ncl = (blocks < (unsigned)(2 * (s->sms > 0 ? s->sms : 1)) && c >= 128) ? 32 : 8;
    NW_LAUNCH(k_layer_norm_chan, blocks, 32 * ncl, 0, s->stream, x, y, c, hw, g, b, eps, res);
    return cudaGetLastError();
}

/* ---- row LayerNorm / StableLayerNorm ------------------------------------------------------ */

__global__ void k_layer_norm(const float *x, float *y, int d, const float *g, const float *b, float eps,
                             int stable)
{
    __shared__ double shd[32];
    __shared__ float shf[32];
    const float *xr = x + (size_t)blockIdx.x * d;
    float *yr = y + (size_t)blockIdx.x * d;
    float div = 1.f;
    if (stable) {
        float mx = -FLT_MAX;
        for (int j = threadIdx.x; j < d; j += blockDim.x)
            mx = fmaxf(mx, xr[j]);
        div = nw_block_max(mx, shf);
    }
    double sum = 0;
    for (int j = threadIdx.x; j < d; j += blockDim.x)
        sum += xr[j] / div;
    const double mean = nw_block_sum(sum, shd) / d;
    double sq = 0;
    for (int j = threadIdx.x; j < d; j += blockDim.x) {
        const double t = xr[j] / div - mean;
        sq += t * t;
    }
    const double rstd = 1.0 / sqrt(nw_block_sum(sq, shd) / d + (double)eps);
    for (int j = threadIdx.x; j < d; j += blockDim.x)
        yr[j] = __fadd_rn(__fmul_rn((float)((xr[j] / div - mean) * rstd), g[j]), b[j]);
}

extern "C" cudaError_t nw_k_layer_norm(const NwKStream *s, const float *x, float *y, int n, int d,
                                       const float *g, const float *b, float eps, int stable)
{
    if (n <= 0 || d <= 0)
        return cudaSuccess;
    NW_LAUNCH(k_layer_norm, (unsigned)n, nw_row_threads(d, 256), 0, s->stream, x, y, d, g, b, eps, stable);
    return cudaGetLastError();
}
