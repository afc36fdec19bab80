/*
 * cuda/backend.h — the CUDA backend as the rest of libnuwa sees it: device enumeration, the
 * device context (NwCudaDev) that NwCtx.dev points to, device memory, and the NwOps table on
 * device pointers (nw_ops_init_cuda). No CUDA type appears here, so any C file may include it;
 * it exists only in builds with NUWA_HAVE_CUDA.
 *
 * A device context owns a stream, a cuBLAS handle (and a cuDNN handle when the build has
 * cuDNN), a scratch arena for NwCtx.scratch and a small workspace for the kernels' partial
 * results. Nothing is global: two contexts, on one device or two, are independent; a context
 * is used by one thread at a time.
 *
 * Errors: the NwOps slots return nothing, so a context records the first failure (a code and a
 * one-line message naming the op, the call and the shape) and turns every later op into a
 * no-op until nw_cuda_dev_clear_error. Ops only queue work: nw_cuda_dev_sync waits for it and
 * returns the recorded error, including faults of kernels that already ran. Nothing prints,
 * nothing exits, a missing driver or device is an error code with a message.
 */
#ifndef NW_CUDA_BACKEND_H
#define NW_CUDA_BACKEND_H

#include <stddef.h>

#include "ops.h"

typedef struct NwCudaDev NwCudaDev;

enum NwCudaFlags {
    /* Let cuBLAS and cuDNN use TF32 tensor cores for fp32 (~10-bit mantissa products). Off by
     * default: fp32 FMA math, for parity with the CPU backend and nuwa-pytorch. */
    NW_CUDA_TF32 = 1 << 0,
    /* Convolutions through im2col + cuBLAS even when cuDNN is available (tests, benchmarks). */
    NW_CUDA_NO_CUDNN = 1 << 1,
    /* Record each decode step as a CUDA graph and launch it in one call (the ops table's
     * graph_begin/graph_end); off by default, and absent from the emulator build, which cannot
     * run graphs. */
    NW_CUDA_GRAPHS = 1 << 2,
};

/* Number of CUDA devices. Without a usable driver or device, *count = 0 and the return is
 * NUWA_ERR_UNSUPPORTED with msg "no CUDA device (<CUDA's reason>)"; other failures return
 * NUWA_ERR_BACKEND. msg may be NULL. */
int nw_cuda_device_count(int *count, char *msg, size_t msglen);

/* "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 81559 MiB)" for device `index`, without opening
 * it. Errors as nw_cuda_device_count, NUWA_ERR_INVAL for an index with no device. */
int nw_cuda_device_info(int index, char *buf, size_t len);

/* Opens device `index` (0-based, see nw_device_parse). Errors: NUWA_ERR_UNSUPPORTED (no
 * driver/device), NUWA_ERR_INVAL (no such index), NUWA_ERR_NOMEM (out of device memory),
 * NUWA_ERR_BACKEND (CUDA, cuBLAS failures); msg says why. */
int nw_cuda_dev_create(NwCudaDev **out, int index, unsigned flags, char *msg, size_t msglen);
/* Waits for queued work, frees everything, sets *d = NULL. NULL and &NULL are no-ops. */
void nw_cuda_dev_destroy(NwCudaDev **d);

int nw_cuda_dev_index(const NwCudaDev *d);
/* "cuda:0 NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 81559 MiB), cuDNN 9.19.0" */
const char *nw_cuda_dev_describe(const NwCudaDev *d);
/* 1 when convolutions go through cuDNN, 0 when they use im2col + cuBLAS. */
int nw_cuda_dev_has_cudnn(const NwCudaDev *d);
/* Convolutions run so far by each path: n[0] cuDNN, n[1] im2col + GEMM, n[2] 1x1 GEMM. */
void nw_cuda_dev_conv_counts(const NwCudaDev *d, long n[3]);

/* Waits for the queued work; returns the first recorded error (0 if none). */
int nw_cuda_dev_sync(NwCudaDev *d);
/* The first recorded error and its message ("" if none), without waiting. */
int nw_cuda_dev_error(const NwCudaDev *d);
const char *nw_cuda_dev_errmsg(const NwCudaDev *d);
void nw_cuda_dev_clear_error(NwCudaDev *d);

/* Device memory. Failures are recorded in d as well as returned. */
int nw_cuda_malloc(NwCudaDev *d, void **p, size_t bytes);
void nw_cuda_free(NwCudaDev *d, void *p);
/* Copies in stream order and waits for the copy (so the host buffer may be reused). */
int nw_cuda_upload(NwCudaDev *d, void *dst, const void *src, size_t bytes);
int nw_cuda_download(NwCudaDev *d, void *dst, const void *src, size_t bytes);
/* Queues a byte fill. */
int nw_cuda_memset(NwCudaDev *d, void *dst, int byte, size_t bytes);

/* Fills ctx for running ops on d: n_threads 1, dev d, and scratch = d's arena grown to at
 * least scratch_floats (the *_scratch queries of the CUDA ops size it). Growing waits for
 * queued work first and frees the old arena; if the new one cannot be allocated, the arena is
 * empty and the error (NUWA_ERR_NOMEM) is recorded and returned. */
int nw_cuda_ctx(NwCudaDev *d, size_t scratch_floats, NwCtx *ctx);

/* Fills every slot of the table with the CUDA ops: all pointers are device pointers, ctx->dev
 * is an NwCudaDev, ctx->scratch device memory. The scratch queries return CUDA's sizes. */
void nw_ops_init_cuda(NwOps *o);

#endif
