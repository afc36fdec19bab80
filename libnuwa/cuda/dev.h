/*
 * cuda/dev.h — the device context's insides, shared by the files of libnuwa/cuda/ only (they
 * include the CUDA runtime and cuBLAS headers; cuDNN stays inside cudnn_conv.c).
 */
#ifndef NW_CUDA_DEV_H
#define NW_CUDA_DEV_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "config.h"
#include "cuda/backend.h"
#include "internal.h"
#include "kernels/kernels.h"

/* cuDNN is used when the build found it; the CPU emulation build of the tests leaves it out. */
#if NUWA_HAVE_CUDNN && !defined(NW_CUDA_EMU_BUILD)
#define NW_USE_CUDNN 1
#else
#define NW_USE_CUDNN 0
#endif

#define NW_CUDA_MSG 320

struct NwCudaDev {
    int index;
    unsigned flags;
    char desc[NW_CUDA_MSG];
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_ws; /* cuBLAS workspace (set explicitly: stream-ordered, graph-capturable) */
    NwKStream ks;  /* what the kernel launchers need; ks.aux is device memory of this context */
    float *arena;  /* NwCtx.scratch */
    size_t arena_floats;
    void *dnn;     /* cudnn_conv.c's state (handle, descriptor cache), NULL without cuDNN */
    long conv_counts[3]; /* convolutions by path: cuDNN, im2col, 1x1 GEMM */
    void *graph_exec; /* cudaGraphExec_t of the last recorded decode step (NW_CUDA_GRAPHS) */
    int capturing;
    long graph_launches, graph_rebuilds;
    int err;       /* first recorded error, 0 if none */
    char errmsg[NW_CUDA_MSG];
};

/* Records err (a NUWA_ERR_* code) with a message unless an error is already recorded. */
void nw_cuda_fail(NwCudaDev *d, int err, const char *fmt, ...) NW_PRINTF(3, 4);
/* NUWA_ERR_* for a CUDA runtime error. */
int nw_cuda_code(cudaError_t e);
/* 1 if e is cudaSuccess, else records "<what>: <name> (<string>)" and returns 0. */
int nw_cuda_check(NwCudaDev *d, cudaError_t e, const char *what);
/* 1 if st is CUBLAS_STATUS_SUCCESS, else records "<what>: <status>" and returns 0. */
int nw_cublas_check(NwCudaDev *d, cublasStatus_t st, const char *what);

/* Row-major C (M, N) = A (M, K) * B (K, N) with the trans/lda conventions of NwOps.matmul, as
 * cuBLAS column-major C^T = B^T A^T; `batch` > 1: strided batches (strides in floats). */
int nw_cuda_gemm(NwCudaDev *d, int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
                 long long sa, const float *B, int ldb, long long sb, float *C, int ldc, long long sc, int batch,
                 const char *what);

#if NW_USE_CUDNN
/* cudnn_conv.c: the handle and a small cache of descriptors and algorithms per conv shape. */
int nw_cudnn_create(NwCudaDev *d, char *msg, size_t msglen);
void nw_cudnn_destroy(NwCudaDev *d);
/* "9.19.0" (the loaded library's version) */
const char *nw_cudnn_version(const NwCudaDev *d);
/* out = conv(in, weight), no bias. Returns 1 when done, 0 when no deterministic FMA-math
 * algorithm fits the workspace (nothing queued: use im2col), < 0 on error (recorded). */
int nw_cudnn_conv2d(NwCudaDev *d, const NwConv2d *c, const float *in, const float *weight, float *out,
                    void *ws, size_t ws_bytes);
#endif

#endif
