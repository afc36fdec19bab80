/*
 * elementwise.cu — leaky ReLU, add, GLU, bilinear x2 upsampling, GEGLU and the row bias /
 * activation epilogue of the GEMM-based ops. Grid-stride loops, one element per thread and
 * iteration, coalesced; all memory-bound.
 *
 * Exactness vs libnuwa/ref/norm.c: leaky ReLU and add are bit-exact. Upsampling uses the
 * reference's weights and operation order with the rounding intrinsics (__fmul_rn, ...) so
 * that nvcc cannot contract them into FMAs: bit-exact too. GLU uses the same expression with
 * CUDA's expf (2 ulp), GEGLU erff in float instead of the reference's double erf (a few ulp).
 */
#include "common.cuh"

#define EW_THREADS 256

__global__ void k_leaky_relu(float *x, size_t n, float slope)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        const float v = x[i];
        if (v < 0.f)
            x[i] = v * slope;
    }
}

__global__ void k_add(float *y, const float *x, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] += x[i];
}

__global__ void k_glu(const float *in, float *out, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = in[i] * (1.f / (1.f + expf(-in[n + i])));
}

/* Source indices and weight of output o along an axis of input length n (ref up_coord). */
__device__ __forceinline__ void up_coord(int o, int n, int *i0, int *i1, float *lambda)
{
    float s = __fsub_rn(__fmul_rn(__fadd_rn((float)o, 0.5f), 0.5f), 0.5f);
    if (s < 0.f)
        s = 0.f;
    *i0 = (int)s;
    *i1 = *i0 + 1 < n ? *i0 + 1 : n - 1;
    *lambda = __fsub_rn(s, (float)*i0);
}

__device__ __forceinline__ float lerp_rn(float a, float b, float l)
{
    return __fadd_rn(__fmul_rn(__fsub_rn(1.f, l), a), __fmul_rn(l, b));
}

__global__ void k_upsample2x(const float *in, float *out, int c, int h, int w)
{
    const int W = 2 * w, H = 2 * h;
    const size_t total = (size_t)c * H * W;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        const int ox = (int)(e % W);
        const size_t r = e / W;
        const int oy = (int)(r % H), ch = (int)(r / H);
        int y0, y1, x0, x1;
        float ly, lx;
        up_coord(oy, h, &y0, &y1, &ly);
        up_coord(ox, w, &x0, &x1, &lx);
        const float *src = in + (size_t)ch * h * w;
        const float top = lerp_rn(src[y0 * w + x0], src[y0 * w + x1], lx);
        const float bot = lerp_rn(src[y1 * w + x0], src[y1 * w + x1], lx);
        out[e] = lerp_rn(top, bot, ly);
    }
}

__global__ void k_geglu(const float *u, float *a, int n, int f)
{
    const size_t total = (size_t)n * f;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        const size_t i = e / f, j = e % f;
        const float x = u[i * 2 * f + j], gt = u[i * 2 * f + f + j];
        a[e] = x * (0.5f * gt * (1.f + erff(gt * 0.70710678118654752f)));
    }
}

__global__ void k_bias_rows(float *C, int M, int N, int ldc, const float *bias, int act, int overwrite)
{
    const size_t total = (size_t)M * N;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        const int m = (int)(e / N), j = (int)(e % N);
        float *p = C + (size_t)m * ldc + j;
        float v = overwrite ? 0.f : *p;
        if (bias)
            v += bias[m];
        if (act && v < 0.f)
            v *= NW_LEAKY_SLOPE;
        *p = v;
    }
}

extern "C" cudaError_t nw_k_leaky_relu(const NwKStream *s, float *x, size_t n, float slope)
{
    if (n == 0)
        return cudaSuccess;
    NW_LAUNCH(k_leaky_relu, nw_grid_1d(n, EW_THREADS, s->sms), EW_THREADS, 0, s->stream, x, n, slope);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_add(const NwKStream *s, float *y, const float *x, size_t n)
{
    if (n == 0)
        return cudaSuccess;
    NW_LAUNCH(k_add, nw_grid_1d(n, EW_THREADS, s->sms), EW_THREADS, 0, s->stream, y, x, n);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_glu(const NwKStream *s, const float *in, float *out, size_t n)
{
    if (n == 0)
        return cudaSuccess;
    NW_LAUNCH(k_glu, nw_grid_1d(n, EW_THREADS, s->sms), EW_THREADS, 0, s->stream, in, out, n);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_upsample2x(const NwKStream *s, const float *in, float *out, int c, int h, int w)
{
    const size_t total = (size_t)c * 4 * h * w;
    if (total == 0)
        return cudaSuccess;
    NW_LAUNCH(k_upsample2x, nw_grid_1d(total, EW_THREADS, s->sms), EW_THREADS, 0, s->stream, in, out, c, h, w);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_geglu(const NwKStream *s, const float *u, float *a, int n, int f)
{
    const size_t total = (size_t)n * f;
    if (total == 0)
        return cudaSuccess;
    NW_LAUNCH(k_geglu, nw_grid_1d(total, EW_THREADS, s->sms), EW_THREADS, 0, s->stream, u, a, n, f);
    return cudaGetLastError();
}

extern "C" cudaError_t nw_k_bias_rows(const NwKStream *s, float *C, int M, int N, int ldc, const float *bias,
                                      int act, int overwrite)
{
    const size_t total = (size_t)M * N;
    if (total == 0 || (!bias && !act && !overwrite))
        return cudaSuccess;
    NW_LAUNCH(k_bias_rows, nw_grid_1d(total, EW_THREADS, s->sms), EW_THREADS, 0, s->stream, C, M, N, ldc, bias,
              act, overwrite);
    return cudaGetLastError();
}
