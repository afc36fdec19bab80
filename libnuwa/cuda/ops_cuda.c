/*
 * cuda/ops_cuda.c — the NwOps slots on device pointers: each op checks its context, carves its
 * scratch, and queues cuBLAS/cuDNN calls and the kernels of kernels/ on the context's stream.
 * Semantics are those of libnuwa/ref/ (the spec); tests/cuda/ compares every op with it.
 *
 *   conv2d        1x1 stride 1: one GEMM; else cuDNN (deterministic FMA-math algorithm, the
 *                 scratch as workspace) or im2col + GEMM per chunk of output pixels; then a
 *                 bias + leaky ReLU pass
 *   matmul        cuBLAS sgemm (fp32 math unless the context allows TF32) + row bias
 *   vqgan_attn    l2-normalise q, k; per batch of heads: batched GEMM, softmax, batched GEMM
 *   vq_assign     column norms, GEMM of the code dot products per chunk of columns, argmax
 *   linear        cuBLAS sgemm (x W^T) + column bias
 *   attn_3dna     the index list of the neighbourhood into the scratch, then attn_gather
 *   memory        cudaMalloc / cudaFree; uploads and downloads wait for the copy (the host
 *                 buffer may be reused), device copies and fills are queued on the stream
 *   others        one kernel launcher each (norms, elementwise, attention, rows, sampling)
 *
 * Scratch sizes depend only on the shape (so a model sizes its arena once), and cap the big
 * temporaries (im2col columns, attention scores, code distances) by working in chunks.
 */
#include <stdio.h>
#include <string.h>

#include "cuda/dev.h"

/* Floats of the largest temporaries: im2col columns, attention scores, code distances. The
 * emulator tests build with caps 1024 times smaller, so that small shapes take the chunked
 * paths too. */
#ifdef NW_CUDA_EMU_BUILD
#define CAP_SHIFT 10
#else
#define CAP_SHIFT 0
#endif
#define CONV_COL_CAP (((size_t)8 << 20) >> CAP_SHIFT)
#define ATTN_SCORE_CAP (((size_t)32 << 20) >> CAP_SHIFT)
#define VQ_DIST_CAP (((size_t)16 << 20) >> CAP_SHIFT)

/* The context's device, made current, or NULL when there is nothing to do (no context, or an
 * error is recorded). */
static NwCudaDev *enter(const NwCtx *ctx)
{
    NwCudaDev *d = ctx ? (NwCudaDev *)ctx->dev : NULL;
    if (!d || d->err)
        return NULL;
    if (!nw_cuda_check(d, cudaSetDevice(d->index), "cudaSetDevice"))
        return NULL;
    return d;
}

/* Records a failed kernel launch; returns 1 on success. */
static int kcheck(NwCudaDev *d, cudaError_t e, const char *op, const char *shape)
{
    if (e == cudaSuccess)
        return 1;
    if (e == cudaErrorInvalidValue)
        nw_cuda_fail(d, NUWA_ERR_UNSUPPORTED, "%s %s: unsupported by the CUDA kernels (%s)", op, shape,
                     cudaGetErrorString(e));
    else
        nw_cuda_fail(d, nw_cuda_code(e), "%s %s: kernel launch: %s (%s)", op, shape, cudaGetErrorName(e),
                     cudaGetErrorString(e));
    return 0;
}

static int need_scratch(NwCudaDev *d, const NwCtx *ctx, size_t floats, const char *op)
{
    if (floats <= ctx->scratch_len && (floats == 0 || ctx->scratch))
        return 1;
    nw_cuda_fail(d, NUWA_ERR_INVAL, "%s: scratch of %zu floats given, %zu needed", op, ctx->scratch_len, floats);
    return 0;
}

/* ---- memory and status ------------------------------------------------------------------------ */

/* cudaMalloc's 256-byte alignment covers the table's 64. A failure is recorded in the context
 * (sync returns it) as well as returned as NULL. */
static void *cu_mem_alloc(const NwCtx *ctx, size_t bytes)
{
    NwCudaDev *d = ctx ? (NwCudaDev *)ctx->dev : NULL;
    void *p = NULL;
    if (!d || nw_cuda_malloc(d, &p, bytes) < 0)
        return NULL;
    return p;
}

static void cu_mem_free(const NwCtx *ctx, void *p)
{
    NwCudaDev *d = ctx ? (NwCudaDev *)ctx->dev : NULL;
    if (d && p)
        nw_cuda_free(d, p);
}

/* Transfers are counted as requested (like nw_host_upload), even when a recorded error turns
 * them into no-ops: the count measures what the caller asks to move. */
static void cu_upload(const NwCtx *ctx, void *dst, const void *src, size_t bytes)
{
    NwCudaDev *d;
    if (ctx && ctx->xfer) {
        ctx->xfer->uploads++;
        ctx->xfer->up_bytes += bytes;
    }
    if ((d = enter(ctx)) && bytes)
        nw_cuda_upload(d, dst, src, bytes);
}

static void cu_download(const NwCtx *ctx, void *dst, const void *src, size_t bytes)
{
    NwCudaDev *d;
    if (ctx && ctx->xfer) {
        ctx->xfer->downloads++;
        ctx->xfer->down_bytes += bytes;
    }
    if ((d = enter(ctx)) && bytes)
        nw_cuda_download(d, dst, src, bytes);
}

/* Device to device, in stream order (no wait: the copy sits between the ops around it). */
static void cu_copy(const NwCtx *ctx, void *dst, const void *src, size_t bytes)
{
    NwCudaDev *d = enter(ctx);
    if (!d || !bytes)
        return;
    if (!dst || !src) {
        nw_cuda_fail(d, NUWA_ERR_INVAL, "copy of %zu bytes: NULL pointer", bytes);
        return;
    }
    nw_cuda_check(d, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, d->stream), "copy: cudaMemcpyAsync");
}

static void cu_fill(const NwCtx *ctx, void *dst, int byte, size_t bytes)
{
    NwCudaDev *d = enter(ctx);
    if (d && bytes)
        nw_cuda_memset(d, dst, byte, bytes);
}

static int cu_sync(const NwCtx *ctx, char *msg, size_t msglen)
{
    NwCudaDev *d = ctx ? (NwCudaDev *)ctx->dev : NULL;
    if (!d) {
        if (msg && msglen)
            snprintf(msg, msglen, "no CUDA device context");
        return NUWA_ERR_INVAL;
    }
    const int r = nw_cuda_dev_sync(d);
    if (msg && msglen)
        snprintf(msg, msglen, "%s", r ? nw_cuda_dev_errmsg(d) : "");
    if (r)
        nw_cuda_dev_clear_error(d);
    return r;
}

/* ---- CUDA graphs for the decode step ---------------------------------------------------- */

#if !defined(NW_CUDA_EMU_BUILD)
/* A decode step queues the same kernels every token with other arguments (positions, ring
 * rows). It is recorded by stream capture and the executable graph of the previous step is
 * updated in place (cudaGraphExecUpdate: same topology, new parameters), then launched as
 * one unit, which removes the per-kernel launch gaps of a latency-bound step. When the
 * topology changes (another block size, the window moved) the update fails and the graph is
 * instantiated anew. */
static int cu_graph_begin(const NwCtx *ctx)
{
    NwCudaDev *d = (NwCudaDev *)ctx->dev;
    if (!d || !(d->flags & NW_CUDA_GRAPHS) || d->err || d->capturing)
        return -1;
    if (!nw_cuda_check(d, cudaStreamBeginCapture(d->stream, cudaStreamCaptureModeThreadLocal), "graph capture"))
        return -1;
    d->capturing = 1;
    return 0;
}

static void cu_graph_end(const NwCtx *ctx)
{
    NwCudaDev *d = (NwCudaDev *)ctx->dev;
    cudaGraph_t g = NULL;
    if (!d || !d->capturing)
        return;
    d->capturing = 0;
    const cudaError_t e = cudaStreamEndCapture(d->stream, &g);
    if (!nw_cuda_check(d, e, "graph capture") || !g)
        return;
    cudaGraphExec_t x = (cudaGraphExec_t)d->graph_exec;
    if (x) {
        cudaGraphExecUpdateResultInfo info;
        if (cudaGraphExecUpdate(x, g, &info) != cudaSuccess) {
            (void)cudaGetLastError();
            cudaGraphExecDestroy(x);
            x = NULL;
        }
    }
    if (!x) {
        d->graph_rebuilds++;
        if (!nw_cuda_check(d, cudaGraphInstantiate(&x, g, 0), "graph instantiate"))
            x = NULL;
    }
    d->graph_exec = x;
    if (x && nw_cuda_check(d, cudaGraphLaunch(x, d->stream), "graph launch"))
        d->graph_launches++;
    cudaGraphDestroy(g);
}
#endif

/* ---- conv2d ----------------------------------------------------------------------------- */

static int conv_pointwise(const NwConv2d *c)
{
    return c->kh == 1 && c->kw == 1 && c->stride == 1 && c->pad == 0;
}

/* Output pixels per im2col chunk: all of them when the columns fit CONV_COL_CAP. */
static size_t conv_chunk(size_t K, size_t P)
{
    if (K * P <= CONV_COL_CAP)
        return P;
    size_t np = CONV_COL_CAP / K;
    if (np < 256)
        np = 256;
    return np < P ? np : P;
}

static size_t cu_conv2d_scratch(const NwConv2d *c, int n_threads)
{
    (void)n_threads;
    if (conv_pointwise(c))
        return 0;
    const size_t oh = (size_t)nw_conv_out(c->h, c->kh, c->stride, c->pad);
    const size_t ow = (size_t)nw_conv_out(c->w, c->kw, c->stride, c->pad);
    const size_t K = (size_t)c->cin * c->kh * c->kw;
    return K * conv_chunk(K, oh * ow);
}

static void cu_conv2d(const NwCtx *ctx, const NwConv2d *c, const float *in, const float *weight, const float *bias,
                      float *out)
{
    NwCudaDev *d = enter(ctx);
    const int oh = nw_conv_out(c->h, c->kh, c->stride, c->pad), ow = nw_conv_out(c->w, c->kw, c->stride, c->pad);
    char shape[96];
    if (!d || oh <= 0 || ow <= 0 || c->cout <= 0 || c->cin <= 0)
        return;
    snprintf(shape, sizeof(shape), "%dx%dx%d -> %d k%dx%d s%d p%d", c->cin, c->h, c->w, c->cout, c->kh, c->kw,
             c->stride, c->pad);
    const int P = oh * ow;
    if (conv_pointwise(c)) {
        if (!nw_cuda_gemm(d, 0, 0, c->cout, P, c->cin, weight, c->cin, 0, in, P, 0, out, P, 0, 1, "conv2d 1x1"))
            return;
        d->conv_counts[2]++;
    } else {
        const int K = c->cin * c->kh * c->kw;
        int done = 0;
#if NW_USE_CUDNN
        if (d->dnn) {
            done = nw_cudnn_conv2d(d, c, in, weight, out, ctx->scratch, ctx->scratch_len * sizeof(float));
            if (done < 0)
                return;
            d->conv_counts[0] += done;
        }
#endif
        if (!done) {
            const int np = (int)conv_chunk((size_t)K, (size_t)P);
            if (!need_scratch(d, ctx, (size_t)K * np, "conv2d"))
                return;
            for (int p0 = 0; p0 < P; p0 += np) {
                const int nn = NW_MIN(np, P - p0);
                if (!kcheck(d, nw_k_im2col(&d->ks, in, c->cin, c->h, c->w, c->kh, c->kw, c->stride, c->pad, ow, p0, nn,
                                           ctx->scratch),
                            "conv2d im2col", shape) ||
                    !nw_cuda_gemm(d, 0, 0, c->cout, nn, K, weight, K, 0, ctx->scratch, nn, 0, out + p0, P, 0, 1,
                                  "conv2d"))
                    return;
            }
            d->conv_counts[1]++;
        }
    }
    kcheck(d, nw_k_bias_rows(&d->ks, out, c->cout, P, P, bias, c->act == NW_ACT_LRELU, 0), "conv2d bias", shape);
}

/* ---- matmul ------------------------------------------------------------------------------ */

static void cu_matmul(const NwCtx *ctx, int M, int N, int K, const float *A, int lda, int trans_a, const float *B,
                      int ldb, int trans_b, const float *bias, float *C, int ldc)
{
    NwCudaDev *d = enter(ctx);
    char shape[64];
    if (!d || M <= 0 || N <= 0)
        return;
    snprintf(shape, sizeof(shape), "%dx%dx%d", M, N, K);
    if (K <= 0) { /* an empty sum: C = bias (or 0) */
        kcheck(d, nw_k_bias_rows(&d->ks, C, M, N, ldc, bias, 0, 1), "matmul", shape);
        return;
    }
    if (nw_cuda_gemm(d, trans_a, trans_b, M, N, K, A, lda, 0, B, ldb, 0, C, ldc, 0, 1, "matmul") && bias)
        kcheck(d, nw_k_bias_rows(&d->ks, C, M, N, ldc, bias, 0, 0), "matmul bias", shape);
}

/* ---- normalisation and elementwise ------------------------------------------------------- */

static void cu_group_norm(const NwCtx *ctx, const float *x, float *y, int c, int hw, int groups, const float *gamma,
                          const float *beta, float eps, int act)
{
    NwCudaDev *d = enter(ctx);
    char shape[64];
    if (!d)
        return;
    snprintf(shape, sizeof(shape), "c%d hw%d g%d", c, hw, groups);
    kcheck(d, nw_k_group_norm(&d->ks, x, y, c, hw, groups, gamma, beta, eps, act == NW_ACT_LRELU), "group_norm",
           shape);
}

static void cu_layer_norm_chan(const NwCtx *ctx, const float *x, float *y, int c, int hw, const float *g,
                               const float *b, float eps, const float *res)
{
    NwCudaDev *d = enter(ctx);
    char shape[64];
    if (!d)
        return;
    snprintf(shape, sizeof(shape), "c%d hw%d", c, hw);
    kcheck(d, nw_k_layer_norm_chan(&d->ks, x, y, c, hw, g, b, eps, res), "layer_norm_chan", shape);
}

static void cu_leaky_relu(const NwCtx *ctx, float *x, size_t n, float slope)
{
    NwCudaDev *d = enter(ctx);
    char shape[32];
    if (!d)
        return;
    snprintf(shape, sizeof(shape), "n%zu", n);
    kcheck(d, nw_k_leaky_relu(&d->ks, x, n, slope), "leaky_relu", shape);
}

static void cu_glu(const NwCtx *ctx, const float *in, float *out, int c, int hw)
{
    NwCudaDev *d = enter(ctx);
    char shape[32];
    if (!d || c <= 0 || hw <= 0)
        return;
    snprintf(shape, sizeof(shape), "c%d hw%d", c, hw);
    kcheck(d, nw_k_glu(&d->ks, in, out, (size_t)c * hw), "glu", shape);
}

static void cu_upsample2x(const NwCtx *ctx, const float *in, float *out, int c, int h, int w)
{
    NwCudaDev *d = enter(ctx);
    char shape[48];
    if (!d || c <= 0 || h <= 0 || w <= 0)
        return;
    snprintf(shape, sizeof(shape), "%dx%dx%d", c, h, w);
    kcheck(d, nw_k_upsample2x(&d->ks, in, out, c, h, w), "upsample2x", shape);
}

static void cu_add(const NwCtx *ctx, float *y, const float *x, size_t n)
{
    NwCudaDev *d = enter(ctx);
    char shape[32];
    if (!d)
        return;
    snprintf(shape, sizeof(shape), "n%zu", n);
    kcheck(d, nw_k_add(&d->ks, y, x, n), "add", shape);
}

static void cu_layer_norm(const NwCtx *ctx, const float *x, float *y, int n, int dd, const float *g, const float *b,
                          float eps, int stable)
{
    NwCudaDev *d = enter(ctx);
    char shape[48];
    if (!d)
        return;
    snprintf(shape, sizeof(shape), "n%d d%d", n, dd);
    kcheck(d, nw_k_layer_norm(&d->ks, x, y, n, dd, g, b, eps, stable), "layer_norm", shape);
}

static void cu_geglu(const NwCtx *ctx, const float *u, float *a, int n, int f)
{
    NwCudaDev *d = enter(ctx);
    char shape[48];
    if (!d || n <= 0 || f <= 0)
        return;
    snprintf(shape, sizeof(shape), "n%d f%d", n, f);
    kcheck(d, nw_k_geglu(&d->ks, u, a, n, f), "geglu", shape);
}

/* ---- VQGAN attention -------------------------------------------------------------------- */

/* Heads whose (n, n) score matrices are held at once. */
static int va_batch(int heads, int n)
{
    const size_t nn = (size_t)n * n;
    size_t hb = nn ? ATTN_SCORE_CAP / nn : (size_t)heads;
    if (hb < 1)
        hb = 1;
    return hb < (size_t)heads ? (int)hb : heads;
}

static size_t cu_vqgan_attn_scratch(int heads, int dh, int n, int n_threads)
{
    (void)n_threads;
    if (heads <= 0 || n <= 0)
        return 0;
    return (size_t)2 * heads * dh * n + (size_t)va_batch(heads, n) * n * n;
}

static void cu_vqgan_attn(const NwCtx *ctx, const float *qkv, float *out, int heads, int dh, int n,
                          const float *scale, const float *bias)
{
    NwCudaDev *d = enter(ctx);
    char shape[64];
    if (!d || heads <= 0 || dh <= 0 || n <= 0)
        return;
    snprintf(shape, sizeof(shape), "h%d dh%d n%d", heads, dh, n);
    if (!need_scratch(d, ctx, cu_vqgan_attn_scratch(heads, dh, n, 1), "vqgan_attn"))
        return;
    const int inner = heads * dh, hb = va_batch(heads, n);
    const long long hs = (long long)dh * n, ss = (long long)n * n;
    float *qn = ctx->scratch, *kn = qn + (size_t)inner * n, *S = kn + (size_t)inner * n;
    /* q and k are the first 2 * inner rows of qkv */
    if (!kcheck(d, nw_k_l2norm_rows(&d->ks, qkv, qn, 2 * inner, n), "vqgan_attn l2norm", shape))
        return;
    for (int h0 = 0; h0 < heads; h0 += hb) {
        const int b = NW_MIN(hb, heads - h0);
        const float *v = qkv + (size_t)(2 * inner + h0 * dh) * n;
        /* S[h] (n, n) = qn[h]^T kn[h]; qn[h] is stored (dh, n) */
        if (!nw_cuda_gemm(d, 1, 0, n, n, dh, qn + (size_t)h0 * dh * n, n, hs, kn + (size_t)h0 * dh * n, n, hs, S, n,
                          ss, b, "vqgan_attn q^T k") ||
            !kcheck(d, nw_k_softmax_scaled(&d->ks, S, h0, b, n, scale, bias), "vqgan_attn softmax", shape) ||
            /* out[h] (dh, n) = v[h] (dh, n) S[h]^T */
            !nw_cuda_gemm(d, 0, 1, dh, n, n, v, n, hs, S, n, ss, out + (size_t)h0 * dh * n, n, hs, b,
                          "vqgan_attn v attn^T"))
            return;
    }
}

/* ---- vector quantisation ---------------------------------------------------------------- */

static size_t vq_chunk(int n, int K)
{
    if ((size_t)n * K <= VQ_DIST_CAP)
        return (size_t)n;
    size_t nc = VQ_DIST_CAP / (size_t)K;
    return nc < 1 ? 1 : nc;
}

/* The double column norms first (2 floats each), rounded up to 256 bytes, then distances. */
static size_t vq_xx_floats(int n)
{
    return ((size_t)2 * n + 63) & ~(size_t)63;
}

static size_t cu_vq_assign_scratch(int cd, int n, int K, int n_threads)
{
    (void)cd;
    (void)n_threads;
    if (n <= 0 || K <= 0)
        return 0;
    return vq_xx_floats(n) + vq_chunk(n, K) * K;
}

static void cu_vq_assign(const NwCtx *ctx, float *x, int cd, int n, const float *codebook, int K,
                         const float *code_sqnorm, int cosine, int32_t *idx, float *margin)
{
    NwCudaDev *d = enter(ctx);
    char shape[64];
    if (!d || n <= 0 || K <= 0)
        return;
    snprintf(shape, sizeof(shape), "cd%d n%d K%d", cd, n, K);
    if (!need_scratch(d, ctx, cu_vq_assign_scratch(cd, n, K, 1), "vq_assign"))
        return;
    double *xx = (double *)ctx->scratch;
    float *dist = ctx->scratch + vq_xx_floats(n);
    const int nc = (int)vq_chunk(n, K);
    if (!kcheck(d, nw_k_vq_colnorm(&d->ks, x, cd, n, cosine, xx), "vq_assign norms", shape))
        return;
    for (int i0 = 0; i0 < n; i0 += nc) {
        const int ni = NW_MIN(nc, n - i0);
        /* dist (ni, K) = x[:, i0:i0+ni]^T E^T; x is stored (cd, n), E (K, cd) */
        if (cd > 0) {
            if (!nw_cuda_gemm(d, 1, 1, ni, K, cd, x + i0, n, 0, codebook, cd, 0, dist, K, 0, 1, "vq_assign"))
                return;
        } else if (!kcheck(d, nw_k_bias_rows(&d->ks, dist, ni, K, K, NULL, 0, 1), "vq_assign", shape)) {
            return;
        }
        if (!kcheck(d, nw_k_vq_argmax(&d->ks, dist, ni, K, xx + i0, code_sqnorm, cosine, idx + i0,
                                      margin ? margin + i0 : NULL),
                    "vq_assign argmax", shape))
            return;
    }
}

/* ---- transformer attention ---------------------------------------------------------------- */

/* Above the 48 KiB every device gives without opting in, the table may not fit on-chip. */
#define SMEM_SAFE (48 * 1024)

static size_t cu_attn_null_scratch(int n, int m, int heads, int n_threads)
{
    (void)n;
    (void)n_threads;
    if (heads <= 0 || m < 0 || nw_k_attn_null_smem(m, heads) <= SMEM_SAFE)
        return 0;
    return (size_t)NW_K_ATTN_GBLOCKS * heads * (m + 1);
}

static void cu_attn_null(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk, const float *v, int ldv,
                         int n, int m, int heads, int dh, const float *null_k, const float *null_v,
                         const uint8_t *keep, const float *th, float scale, float *out, int ldo)
{
    NwCudaDev *d = enter(ctx);
    char shape[64];
    float *gbuf = NULL;
    if (!d || n <= 0 || heads <= 0 || dh <= 0)
        return;
    snprintf(shape, sizeof(shape), "n%d m%d h%d dh%d", n, m, heads, dh);
    if (nw_k_attn_null_smem(m, heads) > d->ks.smem_optin) {
        if (!need_scratch(d, ctx, (size_t)NW_K_ATTN_GBLOCKS * heads * (m + 1), "attn_null"))
            return;
        gbuf = ctx->scratch;
    }
    kcheck(d, nw_k_attn_null(&d->ks, q, ldq, k, ldk, v, ldv, n, m, heads, dh, null_k, null_v, keep, th, scale, out,
                             ldo, gbuf),
           "attn_null", shape);
}

/* Shared by attn_gather and attn_3dna: the shared-memory check, then the kernel. */
static void gather_launch(NwCudaDev *d, const char *op, const float *q, int ldq, const float *k, int ldk,
                          const float *v, int ldv, const float *kbos, const float *vbos, const int32_t *idx, int n,
                          int nk, int heads, int dh, const float *bias, const float *th, float scale, float *out,
                          int ldo)
{
    char shape[64];
    snprintf(shape, sizeof(shape), "n%d nk%d h%d dh%d", n, nk, heads, dh);
    if (nw_k_attn_gather_smem(nk, heads) > d->ks.smem_optin) {
        nw_cuda_fail(d, NUWA_ERR_UNSUPPORTED, "%s %s: %zu bytes of shared memory needed, the device allows %zu", op,
                     shape, nw_k_attn_gather_smem(nk, heads), d->ks.smem_optin);
        return;
    }
    kcheck(d, nw_k_attn_gather(&d->ks, q, ldq, k, ldk, v, ldv, kbos, vbos, idx, n, nk, heads, dh, bias, th, scale,
                               out, ldo),
           op, shape);
}

static void cu_attn_gather(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk, const float *v,
                           int ldv, const float *kbos, const float *vbos, const int32_t *idx, int n, int nk,
                           int heads, int dh, const float *bias, const float *th, float scale, float *out, int ldo)
{
    NwCudaDev *d = enter(ctx);
    if (!d || n <= 0 || heads <= 0 || dh <= 0)
        return;
    gather_launch(d, "attn_gather", q, ldq, k, ldk, v, ldv, kbos, vbos, idx, n, nk, heads, dh, bias, th, scale, out,
                  ldo);
}

/* The index list (n * K int32 in float slots) comes first in the scratch, rounded up to 256
 * bytes. */
static size_t cu_attn_3dna_scratch(const NwDna *g, int n, int heads, int n_threads)
{
    (void)heads;
    (void)n_threads;
    if (!g || n <= 0 || g->kf <= 0 || g->kh <= 0 || g->kw <= 0)
        return 0;
    return ((size_t)n * g->kf * g->kh * g->kw + 63) & ~(size_t)63;
}

static void cu_attn_3dna(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq, const float *k,
                         const float *v, int ldkv, const float *kbos, const float *vbos, int n, int heads, int dh,
                         const float *bias, const float *th, float scale, float *out, int ldo)
{
    NwCudaDev *d = enter(ctx);
    char shape[96];
    if (!d || n <= 0 || heads <= 0 || dh <= 0)
        return;
    snprintf(shape, sizeof(shape), "t0 %d n%d k%dx%dx%d dil%d fmap%d T%d cap%d", t0, n, g->kf, g->kh, g->kw, g->dil,
             g->fmap, g->T, g->cap);
    if (g->kf <= 0 || g->kh <= 0 || g->kw <= 0 || g->fmap <= 0 || g->T <= 0 || g->cap <= 0 ||
        t0 < 0) {
        nw_cuda_fail(d, NUWA_ERR_INVAL, "attn_3dna %s: invalid neighbourhood", shape);
        return;
    }
    if (!need_scratch(d, ctx, cu_attn_3dna_scratch(g, n, heads, 1), "attn_3dna"))
        return;
    int32_t *idx = (int32_t *)ctx->scratch;
    const int K = g->kf * g->kh * g->kw;
    if (!kcheck(d, nw_k_dna_indices(&d->ks, g->kf, g->kh, g->kw, g->dil, g->fmap, g->T, g->cap, t0, n, idx),
                "attn_3dna indices", shape))
        return;
    gather_launch(d, "attn_3dna", q, ldq, k, ldkv, v, ldkv, kbos, vbos, idx, n, K, heads, dh, bias, th, scale, out,
                  ldo);
}

/* ---- transformer rows ---------------------------------------------------------------------------- */

/* y (n, o) = x (n, i) W^T: the matmul mapping with W stored (o, i) as B transposed. */
static void cu_linear(const NwCtx *ctx, const float *x, int n, int i, const float *W, int o, const float *bias,
                      float *y)
{
    NwCudaDev *d = enter(ctx);
    char shape[64];
    if (!d || n <= 0 || o <= 0)
        return;
    snprintf(shape, sizeof(shape), "n%d i%d o%d", n, i, o);
    if (i <= 0) { /* an empty sum: y = bias (or 0) */
        kcheck(d, nw_k_bias_cols(&d->ks, y, n, o, o, bias, 1), "linear", shape);
        return;
    }
    if (nw_cuda_gemm(d, 0, 1, n, o, i, x, i, 0, W, i, 0, y, o, 0, 1, "linear") && bias)
        kcheck(d, nw_k_bias_cols(&d->ks, y, n, o, o, bias, 0), "linear bias", shape);
}

static void cu_embed(const NwCtx *ctx, const float *table, int dd, const int32_t *ids, int n, const float *add,
                     float *out, int trans)
{
    NwCudaDev *d = enter(ctx);
    char shape[48];
    if (!d || n <= 0 || dd <= 0)
        return;
    snprintf(shape, sizeof(shape), "n%d d%d trans%d", n, dd, trans);
    kcheck(d, nw_k_embed(&d->ks, table, dd, ids, n, add, out, trans), "embed", shape);
}

static void cu_rotary(const NwCtx *ctx, float *x, int n, int ld, int heads, int dh, int rot, const float *inv_freq,
                      int p0)
{
    NwCudaDev *d = enter(ctx);
    char shape[64];
    if (!d)
        return;
    snprintf(shape, sizeof(shape), "n%d h%d dh%d rot%d p0 %d", n, heads, dh, rot, p0);
    kcheck(d, nw_k_rotary(&d->ks, x, n, ld, heads, dh, rot, inv_freq, p0), "rotary", shape);
}

static void cu_token_shift(const NwCtx *ctx, const float *ring, int cap, int p0, int n, int dd, int fmap, int T,
                           float *out)
{
    NwCudaDev *d = enter(ctx);
    char shape[80];
    if (!d || n <= 0 || dd <= 0)
        return;
    snprintf(shape, sizeof(shape), "cap%d p0 %d n%d d%d fmap%d T%d", cap, p0, n, dd, fmap, T);
    if (cap <= 0 || fmap <= 0 || T <= 0 || p0 < 0) {
        nw_cuda_fail(d, NUWA_ERR_INVAL, "token_shift %s: invalid shape", shape);
        return;
    }
    kcheck(d, nw_k_token_shift(&d->ks, ring, cap, p0, n, dd, fmap, T, out), "token_shift", shape);
}

/* ---- generation ------------------------------------------------------------------------------------ */

static void cu_guide(const NwCtx *ctx, const float *lc, const float *lu, float *out, int n, float scale)
{
    NwCudaDev *d = enter(ctx);
    char shape[32];
    if (!d || n <= 0)
        return;
    snprintf(shape, sizeof(shape), "n%d", n);
    kcheck(d, nw_k_guide(&d->ks, lc, lu, out, n, scale), "guide", shape);
}

/* One block computes everything in registers and shared memory: no scratch. */
static size_t cu_sample_scratch(int V, int n_threads)
{
    (void)V;
    (void)n_threads;
    return 0;
}

static void cu_sample(const NwCtx *ctx, const float *logits, int V, const NwSampleParams *p, int32_t *tok,
                      float *margin)
{
    NwCudaDev *d = enter(ctx);
    char shape[32];
    if (!d)
        return;
    snprintf(shape, sizeof(shape), "V%d", V);
    if (V <= 0 || !p || !tok) {
        nw_cuda_fail(d, NUWA_ERR_INVAL, "sample %s: no logits, parameters or output", shape);
        return;
    }
    kcheck(d, nw_k_sample(&d->ks, logits, V, p->thres, p->temperature, p->seed, p->counter, p->u, tok, margin),
           "sample", shape);
}

void nw_ops_init_cuda(NwOps *o)
{
    memset(o, 0, sizeof(*o));
    o->name = "cuda";
    o->batch_passes = 1; /* guidance's two passes as one batch: half the launches of a step */
#if !defined(NW_CUDA_EMU_BUILD)
    o->graph_begin = cu_graph_begin;
    o->graph_end = cu_graph_end;
#endif
    o->mem_alloc = cu_mem_alloc;
    o->mem_free = cu_mem_free;
    o->upload = cu_upload;
    o->download = cu_download;
    o->copy = cu_copy;
    o->fill = cu_fill;
    o->sync = cu_sync;
    o->conv2d = cu_conv2d;
    o->conv2d_scratch = cu_conv2d_scratch;
    o->matmul = cu_matmul;
    o->group_norm = cu_group_norm;
    o->layer_norm_chan = cu_layer_norm_chan;
    o->leaky_relu = cu_leaky_relu;
    o->glu = cu_glu;
    o->upsample2x = cu_upsample2x;
    o->add = cu_add;
    o->vqgan_attn = cu_vqgan_attn;
    o->vqgan_attn_scratch = cu_vqgan_attn_scratch;
    o->vq_assign = cu_vq_assign;
    o->vq_assign_scratch = cu_vq_assign_scratch;
    o->layer_norm = cu_layer_norm;
    o->geglu = cu_geglu;
    o->attn_null = cu_attn_null;
    o->attn_null_scratch = cu_attn_null_scratch;
    o->attn_gather = cu_attn_gather;
    o->linear = cu_linear;
    o->embed = cu_embed;
    o->rotary = cu_rotary;
    o->token_shift = cu_token_shift;
    o->attn_3dna = cu_attn_3dna;
    o->attn_3dna_scratch = cu_attn_3dna_scratch;
    o->guide = cu_guide;
    o->sample = cu_sample;
    o->sample_scratch = cu_sample_scratch;
}
