/*
 * ref/conv.c — reference conv2d and matmul: direct loops accumulating in double, the spec that
 * the im2col + BLAS versions are tested against.
 */
#include "ops.h"
#include "ref/ref.h"

void nw_conv2d_ref(const NwCtx *ctx, const NwConv2d *d, const float *in, const float *weight,
                   const float *bias, float *out)
{
    const int oh = nw_conv_out(d->h, d->kh, d->stride, d->pad);
    const int ow = nw_conv_out(d->w, d->kw, d->stride, d->pad);
    (void)ctx;
    for (int o = 0; o < d->cout; o++) {
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                double acc = bias ? bias[o] : 0.f;
                for (int c = 0; c < d->cin; c++) {
                    for (int i = 0; i < d->kh; i++) {
                        const int iy = y * d->stride - d->pad + i;
                        if (iy < 0 || iy >= d->h)
                            continue;
                        for (int j = 0; j < d->kw; j++) {
                            const int ix = x * d->stride - d->pad + j;
                            if (ix < 0 || ix >= d->w)
                                continue;
                            acc += (double)weight[((size_t)(o * d->cin + c) * d->kh + i) * d->kw + j] *
                                   in[((size_t)c * d->h + iy) * d->w + ix];
                        }
                    }
                }
                float v = (float)acc;
                if (d->act == NW_ACT_LRELU && v < 0.f)
                    v *= NW_LRELU_SLOPE;
                out[((size_t)o * oh + y) * ow + x] = v;
            }
        }
    }
}

size_t nw_conv2d_scratch_none(const NwConv2d *d, int n_threads)
{
    (void)d;
    (void)n_threads;
    return 0;
}

void nw_matmul_ref(const NwCtx *ctx, int M, int N, int K, const float *A, int lda, int trans_a,
                   const float *B, int ldb, int trans_b, const float *bias, float *C, int ldc)
{
    (void)ctx;
    for (int m = 0; m < M; m++) {
        for (int n = 0; n < N; n++) {
            double acc = 0;
            for (int k = 0; k < K; k++) {
                const float a = trans_a ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
                const float b = trans_b ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n];
                acc += (double)a * b;
            }
            C[(size_t)m * ldc + n] = (float)acc + (bias ? bias[m] : 0.f);
        }
    }
}
