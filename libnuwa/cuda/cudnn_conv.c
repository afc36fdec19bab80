/*
 * cuda/cudnn_conv.c — convolutions through cuDNN (its own translation unit: the only file that
 * includes cudnn.h, built only when configure found cuDNN).
 *
 * Per conv shape the context caches the descriptors and the algorithm, chosen once from
 * cuDNN's heuristics as the first one that is deterministic, uses FMA math (no TF32 unless the
 * context allows it: fp32 parity with the CPU backend), is not FFT-based (their rounding error
 * grows with the map) and fits the workspace, which is the op's scratch (sized for im2col, so
 * most algorithms fit). When none qualifies the op falls
 * back to im2col + cuBLAS. Bias and activation are a separate kernel (cuDNN's fused
 * bias-activation has no leaky ReLU).
 */
#include <stdio.h>
#include <string.h>

#include <cudnn.h>

#include "cuda/dev.h"

#define CONV_CACHE 32

typedef struct ConvEntry {
    int valid, usable;
    int cin, h, w, cout, kh, kw, stride, pad;
    size_t budget; /* workspace bytes the choice was made for */
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t f;
    cudnnConvolutionDescriptor_t conv;
    cudnnConvolutionFwdAlgo_t algo;
    size_t ws;
} ConvEntry;

typedef struct NwCudnn {
    cudnnHandle_t h;
    char version[32];
    ConvEntry cache[CONV_CACHE];
    int next; /* round-robin replacement */
} NwCudnn;

static int dnn_check(NwCudaDev *d, cudnnStatus_t st, const char *what, const ConvEntry *e)
{
    if (st == CUDNN_STATUS_SUCCESS)
        return 1;
    nw_cuda_fail(d, st == CUDNN_STATUS_ALLOC_FAILED ? NUWA_ERR_NOMEM : NUWA_ERR_BACKEND,
                 "conv2d %dx%dx%d -> %d k%dx%d s%d p%d: %s: %s", e->cin, e->h, e->w, e->cout, e->kh, e->kw, e->stride,
                 e->pad, what, cudnnGetErrorString(st));
    return 0;
}

static void entry_free(ConvEntry *e)
{
    if (e->x)
        cudnnDestroyTensorDescriptor(e->x);
    if (e->y)
        cudnnDestroyTensorDescriptor(e->y);
    if (e->f)
        cudnnDestroyFilterDescriptor(e->f);
    if (e->conv)
        cudnnDestroyConvolutionDescriptor(e->conv);
    memset(e, 0, sizeof(*e));
}

int nw_cudnn_create(NwCudaDev *d, char *msg, size_t msglen)
{
    NwCudnn *s = nw_calloc(1, sizeof(*s));
    cudnnStatus_t st;
    if (!s) {
        snprintf(msg, msglen, "out of host memory");
        return NUWA_ERR_NOMEM;
    }
    if ((st = cudnnCreate(&s->h)) != CUDNN_STATUS_SUCCESS || (st = cudnnSetStream(s->h, d->stream)) != CUDNN_STATUS_SUCCESS) {
        snprintf(msg, msglen, "cudnnCreate: %s", cudnnGetErrorString(st));
        if (s->h)
            cudnnDestroy(s->h);
        nw_free(s);
        return NUWA_ERR_BACKEND;
    }
    const size_t v = cudnnGetVersion();
    snprintf(s->version, sizeof(s->version), "%zu.%zu.%zu", v / 10000, v / 100 % 100, v % 100);
    d->dnn = s;
    return 0;
}

void nw_cudnn_destroy(NwCudaDev *d)
{
    NwCudnn *s = d->dnn;
    if (!s)
        return;
    for (int i = 0; i < CONV_CACHE; i++)
        entry_free(&s->cache[i]);
    cudnnDestroy(s->h);
    nw_free(s);
    d->dnn = NULL;
}

const char *nw_cudnn_version(const NwCudaDev *d)
{
    const NwCudnn *s = d->dnn;
    return s ? s->version : "";
}

/* Builds the descriptors of entry e (key fields set) and picks its algorithm. */
static int entry_init(NwCudaDev *d, NwCudnn *s, ConvEntry *e, int oh, int ow)
{
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    const cudnnMathType_t math = (d->flags & NW_CUDA_TF32) ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    int n = 0, c = 0, hh = 0, ww = 0, found = 0;
    if (!dnn_check(d, cudnnCreateTensorDescriptor(&e->x), "cudnnCreateTensorDescriptor", e) ||
        !dnn_check(d, cudnnCreateTensorDescriptor(&e->y), "cudnnCreateTensorDescriptor", e) ||
        !dnn_check(d, cudnnCreateFilterDescriptor(&e->f), "cudnnCreateFilterDescriptor", e) ||
        !dnn_check(d, cudnnCreateConvolutionDescriptor(&e->conv), "cudnnCreateConvolutionDescriptor", e) ||
        !dnn_check(d, cudnnSetTensor4dDescriptor(e->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, e->cin, e->h, e->w),
                   "cudnnSetTensor4dDescriptor", e) ||
        !dnn_check(d, cudnnSetFilter4dDescriptor(e->f, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, e->cout, e->cin, e->kh, e->kw),
                   "cudnnSetFilter4dDescriptor", e) ||
        !dnn_check(d, cudnnSetConvolution2dDescriptor(e->conv, e->pad, e->pad, e->stride, e->stride, 1, 1,
                                                      CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                   "cudnnSetConvolution2dDescriptor", e) ||
        !dnn_check(d, cudnnSetConvolutionMathType(e->conv, math), "cudnnSetConvolutionMathType", e) ||
        !dnn_check(d, cudnnGetConvolution2dForwardOutputDim(e->conv, e->x, e->f, &n, &c, &hh, &ww),
                   "cudnnGetConvolution2dForwardOutputDim", e))
        return -1;
    if (n != 1 || c != e->cout || hh != oh || ww != ow) {
        nw_cuda_fail(d, NUWA_ERR_BACKEND, "conv2d: cuDNN output %dx%dx%dx%d, expected 1x%dx%dx%d", n, c, hh, ww, e->cout,
                     oh, ow);
        return -1;
    }
    if (!dnn_check(d, cudnnSetTensor4dDescriptor(e->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, e->cout, oh, ow),
                   "cudnnSetTensor4dDescriptor", e) ||
        !dnn_check(d, cudnnGetConvolutionForwardAlgorithm_v7(s->h, e->x, e->f, e->conv, e->y,
                                                             CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf),
                   "cudnnGetConvolutionForwardAlgorithm_v7", e))
        return -1;
    e->usable = 0;
    for (int i = 0; i < found; i++) {
        const cudnnConvolutionFwdAlgoPerf_t *p = &perf[i];
        if (p->status != CUDNN_STATUS_SUCCESS || p->memory > e->budget || p->determinism != CUDNN_DETERMINISTIC)
            continue;
        /* FFT convolutions round differently from a direct sum (errors grow with the map size) */
        if (p->algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT || p->algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING)
            continue;
        if (!(d->flags & NW_CUDA_TF32) && p->mathType != CUDNN_FMA_MATH)
            continue;
        if (!dnn_check(d, cudnnSetConvolutionMathType(e->conv, p->mathType), "cudnnSetConvolutionMathType", e))
            return -1;
        e->algo = p->algo;
        e->ws = p->memory;
        e->usable = 1;
        break;
    }
    e->valid = 1;
    return 0;
}

int nw_cudnn_conv2d(NwCudaDev *d, const NwConv2d *c, const float *in, const float *weight, float *out, void *ws,
                    size_t ws_bytes)
{
    NwCudnn *s = d->dnn;
    const int oh = nw_conv_out(c->h, c->kh, c->stride, c->pad), ow = nw_conv_out(c->w, c->kw, c->stride, c->pad);
    const float one = 1.f, zero = 0.f;
    ConvEntry *e = NULL;
    if (!s)
        return 0;
    if (!ws)
        ws_bytes = 0;
    for (int i = 0; i < CONV_CACHE && !e; i++) {
        ConvEntry *t = &s->cache[i];
        if (t->valid && t->cin == c->cin && t->h == c->h && t->w == c->w && t->cout == c->cout && t->kh == c->kh &&
            t->kw == c->kw && t->stride == c->stride && t->pad == c->pad && t->budget == ws_bytes)
            e = t;
    }
    if (!e) {
        e = &s->cache[s->next];
        s->next = (s->next + 1) % CONV_CACHE;
        entry_free(e);
        e->cin = c->cin, e->h = c->h, e->w = c->w, e->cout = c->cout;
        e->kh = c->kh, e->kw = c->kw, e->stride = c->stride, e->pad = c->pad;
        e->budget = ws_bytes;
        if (entry_init(d, s, e, oh, ow) < 0) {
            entry_free(e);
            return -1;
        }
    }
    if (!e->usable)
        return 0;
    if (!dnn_check(d, cudnnConvolutionForward(s->h, &one, e->x, in, e->f, weight, e->conv, e->algo, ws, e->ws, &zero,
                                              e->y, out),
                   "cudnnConvolutionForward", e))
        return -1;
    return 1;
}
