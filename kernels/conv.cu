/*
 * conv.cu — im2col for the convolutions that do not go to cuDNN (no cuDNN in the build, or no
 * deterministic FMA-math algorithm fits the workspace): the backend then multiplies the
 * weights (cout, cin*kh*kw) by these columns with cuBLAS, a chunk of output pixels at a time.
 * One thread per column element; consecutive threads write consecutive pixels (coalesced) and,
 * at stride 1, read consecutive input pixels.
 */
#include "common.cuh"

#define IM2COL_THREADS 256

__global__ void k_im2col(const float *in, int h, int w, int kh, int kw, int stride, int pad, int ow, int p0,
                         int np, size_t total, float *col)
{
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < total; e += (size_t)gridDim.x * blockDim.x) {
        const int pp = (int)(e % np);
        const int r = (int)(e / np); /* (c * kh + i) * kw + j */
        const int j = r % kw, i = (r / kw) % kh, c = r / (kw * kh);
        const int p = p0 + pp, oy = p / ow, ox = p % ow;
        const int iy = oy * stride - pad + i, ix = ox * stride - pad + j;
        col[e] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? in[((size_t)c * h + iy) * w + ix] : 0.f;
    }
}

extern "C" cudaError_t nw_k_im2col(const NwKStream *s, const float *in, int cin, int h, int w, int kh, int kw,
                                   int stride, int pad, int ow, int p0, int np, float *col)
{
    const size_t total = (size_t)cin * kh * kw * np;
    if (total == 0)
        return cudaSuccess;
    NW_LAUNCH(k_im2col, nw_grid_1d(total, IM2COL_THREADS, s->sms), IM2COL_THREADS, 0, s->stream, in, h, w, kh, kw,
              stride, pad, ow, p0, np, total, col);
    return cudaGetLastError();
}
