/*
 * cuda/backend.c — device enumeration, the device context (stream, cuBLAS, cuDNN, scratch
 * arena, kernel workspace), error recording, device memory helpers and the cuBLAS GEMM used
 * by every GEMM-shaped op (row-major mapping onto column-major cuBLAS).
 *
 * Every CUDA call's status is checked. A failure is recorded once per context (the first one
 * wins, with a message naming the call) and later ops do nothing until the caller clears it,
 * so one bad op cannot cascade into a flood of misleading errors. Nothing prints or exits.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cuda/dev.h"

/* cuBLAS workspace: NVIDIA recommends 32 MiB on Hopper (4 MiB is enough before). */
#define BLAS_WS_BYTES ((size_t)32 << 20)

static void set_msg(char *msg, size_t msglen, const char *fmt, ...) NW_PRINTF(3, 4);
static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    if (!msg || !msglen)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

void nw_cuda_fail(NwCudaDev *d, int err, const char *fmt, ...)
{
    va_list ap;
    if (!d || d->err)
        return;
    d->err = err;
    va_start(ap, fmt);
    vsnprintf(d->errmsg, sizeof(d->errmsg), fmt, ap);
    va_end(ap);
}

int nw_cuda_code(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return 0;
    case cudaErrorMemoryAllocation: return NUWA_ERR_NOMEM;
    case cudaErrorInvalidValue: return NUWA_ERR_INVAL;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorNotSupported: return NUWA_ERR_UNSUPPORTED;
    default: return NUWA_ERR_BACKEND;
    }
}

int nw_cuda_check(NwCudaDev *d, cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return 1;
    nw_cuda_fail(d, nw_cuda_code(e), "%s: %s (%s)", what, cudaGetErrorName(e), cudaGetErrorString(e));
    return 0;
}

int nw_cublas_check(NwCudaDev *d, cublasStatus_t st, const char *what)
{
    if (st == CUBLAS_STATUS_SUCCESS)
        return 1;
    nw_cuda_fail(d, st == CUBLAS_STATUS_ALLOC_FAILED ? NUWA_ERR_NOMEM : NUWA_ERR_BACKEND, "%s: %s", what,
                 cublasGetStatusString(st));
    return 0;
}

/* ---- devices ------------------------------------------------------------------------------ */

int nw_cuda_device_count(int *count, char *msg, size_t msglen)
{
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (count)
        *count = 0;
    if (e != cudaSuccess) {
        const int code = nw_cuda_code(e);
        if (code == NUWA_ERR_UNSUPPORTED)
            set_msg(msg, msglen, "no CUDA device (%s)", cudaGetErrorString(e));
        else
            set_msg(msg, msglen, "cudaGetDeviceCount: %s (%s)", cudaGetErrorName(e), cudaGetErrorString(e));
        (void)cudaGetLastError(); /* not sticky: clear it */
        return code == NUWA_ERR_UNSUPPORTED ? code : NUWA_ERR_BACKEND;
    }
    if (n <= 0) {
        set_msg(msg, msglen, "no CUDA device (the driver reports none)");
        return NUWA_ERR_UNSUPPORTED;
    }
    if (count)
        *count = n;
    set_msg(msg, msglen, "%s", "");
    return 0;
}

int nw_cuda_device_info(int index, char *buf, size_t len)
{
    struct cudaDeviceProp prop;
    cudaError_t e;
    int n = 0, r;
    if ((r = nw_cuda_device_count(&n, buf, len)) < 0)
        return r;
    if (index < 0 || index >= n) {
        set_msg(buf, len, "cuda:%d: no such device (this machine has %d CUDA device%s)", index, n, n == 1 ? "" : "s");
        return NUWA_ERR_INVAL;
    }
    if ((e = cudaGetDeviceProperties(&prop, index)) != cudaSuccess) {
        set_msg(buf, len, "cuda:%d: %s (%s)", index, cudaGetErrorName(e), cudaGetErrorString(e));
        (void)cudaGetLastError();
        return NUWA_ERR_BACKEND;
    }
    set_msg(buf, len, "%s (sm_%d%d, %d SMs, %zu MiB)", prop.name, prop.major, prop.minor, prop.multiProcessorCount,
            prop.totalGlobalMem >> 20);
    return 0;
}

static int dev_alloc(NwCudaDev *d, void **p, size_t bytes, const char *what, char *msg, size_t msglen)
{
    const cudaError_t e = cudaMalloc(p, bytes ? bytes : 1);
    if (e == cudaSuccess)
        return 0;
    *p = NULL;
    (void)cudaGetLastError();
    if (e == cudaErrorMemoryAllocation) {
        size_t fr = 0, tot = 0;
        if (cudaMemGetInfo(&fr, &tot) != cudaSuccess)
            (void)cudaGetLastError();
        set_msg(msg, msglen, "cuda:%d: out of device memory: %s needs %zu MiB (%zu of %zu MiB free)", d->index,
                what, (bytes + (1 << 20) - 1) >> 20, fr >> 20, tot >> 20);
        return NUWA_ERR_NOMEM;
    }
    set_msg(msg, msglen, "cuda:%d: cudaMalloc (%s): %s (%s)", d->index, what, cudaGetErrorName(e),
            cudaGetErrorString(e));
    return nw_cuda_code(e) ? nw_cuda_code(e) : NUWA_ERR_BACKEND;
}

int nw_cuda_dev_create(NwCudaDev **out, int index, unsigned flags, char *msg, size_t msglen)
{
    int n = 0, r;
    cudaError_t e;
    struct cudaDeviceProp prop;
    NwCudaDev *d;
    cublasStatus_t st;

    if (!out)
        return NUWA_ERR_INVAL;
    *out = NULL;
    if ((r = nw_cuda_device_count(&n, msg, msglen)) < 0)
        return r;
    if (index < 0 || index >= n) {
        set_msg(msg, msglen, "cuda:%d: no such device (this machine has %d CUDA device%s)", index, n,
                n == 1 ? "" : "s");
        return NUWA_ERR_INVAL;
    }
    if (!(d = nw_calloc(1, sizeof(*d)))) {
        set_msg(msg, msglen, "out of host memory");
        return NUWA_ERR_NOMEM;
    }
    d->index = index;
    d->flags = flags;
    if ((e = cudaSetDevice(index)) != cudaSuccess || (e = cudaGetDeviceProperties(&prop, index)) != cudaSuccess) {
        set_msg(msg, msglen, "cuda:%d: %s (%s)", index, cudaGetErrorName(e), cudaGetErrorString(e));
        r = nw_cuda_code(e);
        goto fail;
    }
    d->ks.sms = prop.multiProcessorCount;
    d->ks.smem_optin = prop.sharedMemPerBlockOptin > prop.sharedMemPerBlock ? prop.sharedMemPerBlockOptin
                                                                             : prop.sharedMemPerBlock;
    if ((e = cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking)) != cudaSuccess) {
        set_msg(msg, msglen, "cuda:%d: cudaStreamCreate: %s (%s)", index, cudaGetErrorName(e), cudaGetErrorString(e));
        r = nw_cuda_code(e);
        d->stream = NULL;
        goto fail;
    }
    d->ks.stream = d->stream;
    d->ks.aux_bytes = NW_K_AUX_BYTES;
    if ((r = dev_alloc(d, &d->ks.aux, d->ks.aux_bytes, "kernel workspace", msg, msglen)) < 0 ||
        (r = dev_alloc(d, &d->blas_ws, BLAS_WS_BYTES, "cuBLAS workspace", msg, msglen)) < 0)
        goto fail;
    if ((st = cublasCreate(&d->blas)) != CUBLAS_STATUS_SUCCESS) {
        set_msg(msg, msglen, "cuda:%d: cublasCreate: %s", index, cublasGetStatusString(st));
        r = st == CUBLAS_STATUS_ALLOC_FAILED ? NUWA_ERR_NOMEM : NUWA_ERR_BACKEND;
        d->blas = NULL;
        goto fail;
    }
    if ((st = cublasSetStream(d->blas, d->stream)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasSetWorkspace(d->blas, d->blas_ws, BLAS_WS_BYTES)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasSetMathMode(d->blas, (flags & NW_CUDA_TF32) ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH)) !=
            CUBLAS_STATUS_SUCCESS) {
        set_msg(msg, msglen, "cuda:%d: cuBLAS setup: %s", index, cublasGetStatusString(st));
        r = NUWA_ERR_BACKEND;
        goto fail;
    }
#if NW_USE_CUDNN
    if (!(flags & NW_CUDA_NO_CUDNN)) {
        /* without a working cuDNN the convolutions use im2col + cuBLAS: not fatal */
        char dmsg[NW_CUDA_MSG];
        if (nw_cudnn_create(d, dmsg, sizeof(dmsg)) < 0)
            d->dnn = NULL;
    }
#endif
    snprintf(d->desc, sizeof(d->desc), "cuda:%d %s (sm_%d%d, %d SMs, %zu MiB)%s%s", index, prop.name, prop.major,
             prop.minor, prop.multiProcessorCount, prop.totalGlobalMem >> 20, d->dnn ? ", cuDNN " : "",
#if NW_USE_CUDNN
             d->dnn ? nw_cudnn_version(d) : ""
#else
             ""
#endif
    );
    set_msg(msg, msglen, "%s", "");
    *out = d;
    return 0;
fail:
    nw_cuda_dev_destroy(&d);
    return r < 0 ? r : NUWA_ERR_BACKEND;
}

void nw_cuda_dev_destroy(NwCudaDev **pd)
{
    NwCudaDev *d = pd ? *pd : NULL;
    if (!d)
        return;
    if (cudaSetDevice(d->index) != cudaSuccess)
        (void)cudaGetLastError();
    if (d->stream && cudaStreamSynchronize(d->stream) != cudaSuccess)
        (void)cudaGetLastError();
#if NW_USE_CUDNN
    nw_cudnn_destroy(d);
#endif
#if !defined(NW_CUDA_EMU_BUILD)
    if (d->graph_exec)
        cudaGraphExecDestroy((cudaGraphExec_t)d->graph_exec);
#endif
    if (d->blas)
        cublasDestroy(d->blas);
    cudaFree(d->blas_ws);
    cudaFree(d->ks.aux);
    cudaFree(d->arena);
    if (d->stream)
        cudaStreamDestroy(d->stream);
    (void)cudaGetLastError();
    nw_free(d);
    *pd = NULL;
}

int nw_cuda_dev_index(const NwCudaDev *d)
{
    return d ? d->index : -1;
}

const char *nw_cuda_dev_describe(const NwCudaDev *d)
{
    return d ? d->desc : "";
}

int nw_cuda_dev_has_cudnn(const NwCudaDev *d)
{
    return d && d->dnn;
}

void nw_cuda_dev_conv_counts(const NwCudaDev *d, long n[3])
{
    for (int i = 0; i < 3; i++)
        n[i] = d ? d->conv_counts[i] : 0;
}

int nw_cuda_dev_sync(NwCudaDev *d)
{
    if (!d)
        return NUWA_ERR_INVAL;
    if (nw_cuda_check(d, cudaSetDevice(d->index), "cudaSetDevice"))
        nw_cuda_check(d, cudaStreamSynchronize(d->stream), "cudaStreamSynchronize");
    return d->err;
}

int nw_cuda_dev_error(const NwCudaDev *d)
{
    return d ? d->err : NUWA_ERR_INVAL;
}

const char *nw_cuda_dev_errmsg(const NwCudaDev *d)
{
    return d ? d->errmsg : "no CUDA device context";
}

void nw_cuda_dev_clear_error(NwCudaDev *d)
{
    if (!d)
        return;
    d->err = 0;
    d->errmsg[0] = 0;
    (void)cudaGetLastError();
}

/* ---- memory --------------------------------------------------------------------------------- */

int nw_cuda_malloc(NwCudaDev *d, void **p, size_t bytes)
{
    char msg[NW_CUDA_MSG];
    int r;
    if (!d || !p)
        return NUWA_ERR_INVAL;
    *p = NULL;
    if (!nw_cuda_check(d, cudaSetDevice(d->index), "cudaSetDevice"))
        return d->err;
    if ((r = dev_alloc(d, p, bytes, "buffer", msg, sizeof(msg))) < 0)
        nw_cuda_fail(d, r, "%s", msg);
    return r;
}

void nw_cuda_free(NwCudaDev *d, void *p)
{
    if (!d || !p)
        return;
    if (cudaSetDevice(d->index) != cudaSuccess || cudaFree(p) != cudaSuccess)
        (void)cudaGetLastError();
}

static int copy(NwCudaDev *d, void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind, const char *what)
{
    if (!d || (bytes && (!dst || !src)))
        return NUWA_ERR_INVAL;
    if (!bytes)
        return 0;
    if (!nw_cuda_check(d, cudaSetDevice(d->index), "cudaSetDevice") ||
        !nw_cuda_check(d, cudaMemcpyAsync(dst, src, bytes, kind, d->stream), what) ||
        !nw_cuda_check(d, cudaStreamSynchronize(d->stream), what))
        return d->err;
    return 0;
}

int nw_cuda_upload(NwCudaDev *d, void *dst, const void *src, size_t bytes)
{
    return copy(d, dst, src, bytes, cudaMemcpyHostToDevice, "upload");
}

int nw_cuda_download(NwCudaDev *d, void *dst, const void *src, size_t bytes)
{
    return copy(d, dst, src, bytes, cudaMemcpyDeviceToHost, "download");
}

int nw_cuda_memset(NwCudaDev *d, void *dst, int byte, size_t bytes)
{
    if (!d || (bytes && !dst))
        return NUWA_ERR_INVAL;
    if (!bytes)
        return 0;
    if (!nw_cuda_check(d, cudaSetDevice(d->index), "cudaSetDevice") ||
        !nw_cuda_check(d, cudaMemsetAsync(dst, byte, bytes, d->stream), "cudaMemsetAsync"))
        return d->err;
    return 0;
}

int nw_cuda_ctx(NwCudaDev *d, size_t scratch_floats, NwCtx *ctx)
{
    if (!d || !ctx)
        return NUWA_ERR_INVAL;
    if (scratch_floats > d->arena_floats) {
        char msg[NW_CUDA_MSG];
        void *p = NULL;
        int r;
        if (scratch_floats > SIZE_MAX / sizeof(float)) {
            nw_cuda_fail(d, NUWA_ERR_NOMEM, "scratch arena of %zu floats: size overflow", scratch_floats);
            return NUWA_ERR_NOMEM;
        }
        if (!nw_cuda_check(d, cudaSetDevice(d->index), "cudaSetDevice") ||
            !nw_cuda_check(d, cudaStreamSynchronize(d->stream), "cudaStreamSynchronize"))
            return d->err;
        cudaFree(d->arena);
        d->arena = NULL;
        d->arena_floats = 0;
        if ((r = dev_alloc(d, &p, scratch_floats * sizeof(float), "scratch arena", msg, sizeof(msg))) < 0) {
            nw_cuda_fail(d, r, "%s", msg);
            return r;
        }
        d->arena = p;
        d->arena_floats = scratch_floats;
    }
    ctx->n_threads = 1;
    ctx->scratch = d->arena;
    ctx->scratch_len = d->arena_floats;
    ctx->dev = d;
    return 0;
}

/* ---- GEMM ------------------------------------------------------------------------------------ */

int nw_cuda_gemm(NwCudaDev *d, int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
                 long long sa, const float *B, int ldb, long long sb, float *C, int ldc, long long sc, int batch,
                 const char *what)
{
    const float one = 1.f, zero = 0.f;
    const cublasOperation_t oa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, ob = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasStatus_t st;
    char buf[128];
    /* row-major C = A B  <=>  column-major C^T (N x M) = B^T (N x K) A^T (K x M) */
    if (batch > 1)
        st = cublasSgemmStridedBatched(d->blas, ob, oa, N, M, K, &one, B, ldb, sb, A, lda, sa, &zero, C, ldc, sc,
                                       batch);
    else
        st = cublasSgemm(d->blas, ob, oa, N, M, K, &one, B, ldb, A, lda, &zero, C, ldc);
    if (st == CUBLAS_STATUS_SUCCESS)
        return 1;
    snprintf(buf, sizeof(buf), "%s: cublasSgemm%s %dx%dx%d ta%d tb%d lda %d ldb %d ldc %d", what,
             batch > 1 ? "StridedBatched" : "", M, N, K, trans_a, trans_b, lda, ldb, ldc);
    return nw_cublas_check(d, st, buf);
}
