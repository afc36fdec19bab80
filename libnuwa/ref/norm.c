/*
 * ref/norm.c — reference GroupNorm, LayerNormChan and the elementwise ops (leaky ReLU, GLU,
 * bilinear x2 upsampling, add). Statistics are accumulated in double.
 */
#include <math.h>

#include "ops.h"
#include "ref/ref.h"

void nw_group_norm_ref(const NwCtx *ctx, const float *x, float *y, int c, int hw, int groups,
                       const float *gamma, const float *beta, float eps, int act)
{
    const int cg = c / groups;
    (void)ctx;
    for (int g = 0; g < groups; g++) {
        const float *xs = x + (size_t)g * cg * hw;
        const size_t n = (size_t)cg * hw;
        double sum = 0, sq = 0;
        for (size_t i = 0; i < n; i++)
            sum += xs[i];
        const double mean = sum / n;
        for (size_t i = 0; i < n; i++)
            sq += (xs[i] - mean) * (xs[i] - mean);
        const double rstd = 1.0 / sqrt(sq / n + eps);
        for (int ch = g * cg; ch < (g + 1) * cg; ch++) {
            for (int p = 0; p < hw; p++) {
                float v = (float)((x[(size_t)ch * hw + p] - mean) * rstd) * gamma[ch] + beta[ch];
                if (act == NW_ACT_LRELU && v < 0.f)
                    v *= NW_LRELU_SLOPE;
                y[(size_t)ch * hw + p] = v;
            }
        }
    }
}

void nw_layer_norm_chan_ref(const NwCtx *ctx, const float *x, float *y, int c, int hw,
                            const float *g, const float *b, float eps, const float *res)
{
    (void)ctx;
    for (int p = 0; p < hw; p++) {
        double sum = 0, sq = 0;
        for (int ch = 0; ch < c; ch++)
            sum += x[(size_t)ch * hw + p];
        const double mean = sum / c;
        for (int ch = 0; ch < c; ch++) {
            const double dv = x[(size_t)ch * hw + p] - mean;
            sq += dv * dv;
        }
        const double rstd = 1.0 / sqrt(sq / c + eps);
        for (int ch = 0; ch < c; ch++) {
            float v = (float)((x[(size_t)ch * hw + p] - mean) * rstd) * g[ch] + b[ch];
            if (res)
                v += res[(size_t)ch * hw + p];
            y[(size_t)ch * hw + p] = v;
        }
    }
}

void nw_leaky_relu_ref(const NwCtx *ctx, float *x, size_t n, float slope)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        if (x[i] < 0.f)
            x[i] *= slope;
}

void nw_glu_ref(const NwCtx *ctx, const float *in, float *out, int c, int hw)
{
    (void)ctx;
    const size_t n = (size_t)c * hw;
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] * (1.f / (1.f + expf(-in[n + i])));
}

/* Source index and weight of output o along an axis of input length n (align_corners false). */
static void up_coord(int o, int n, int *i0, int *i1, float *lambda)
{
    float s = (o + 0.5f) * 0.5f - 0.5f;
    if (s < 0.f)
        s = 0.f;
    *i0 = (int)s;
    *i1 = *i0 + 1 < n ? *i0 + 1 : n - 1;
    *lambda = s - (float)*i0;
}

void nw_upsample2x_ref(const NwCtx *ctx, const float *in, float *out, int c, int h, int w)
{
    (void)ctx;
    for (int ch = 0; ch < c; ch++) {
        const float *src = in + (size_t)ch * h * w;
        float *dst = out + (size_t)ch * 4 * h * w;
        for (int oy = 0; oy < 2 * h; oy++) {
            int y0, y1;
            float ly;
            up_coord(oy, h, &y0, &y1, &ly);
            for (int ox = 0; ox < 2 * w; ox++) {
                int x0, x1;
                float lx;
                up_coord(ox, w, &x0, &x1, &lx);
                const float top = (1.f - lx) * src[y0 * w + x0] + lx * src[y0 * w + x1];
                const float bot = (1.f - lx) * src[y1 * w + x0] + lx * src[y1 * w + x1];
                dst[(size_t)oy * 2 * w + ox] = (1.f - ly) * top + ly * bot;
            }
        }
    }
}

void nw_add_ref(const NwCtx *ctx, float *y, const float *x, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}
