/*
 * ops.h — the backend table. Model code (vqgan.c, later transformer.c) computes only through
 * an NwOps table; backends fill it:
 *   nw_ops_init_ref   plain scalar loops, one obvious implementation per op = the spec
 *                     (libnuwa/ref/); every faster version is tested against it;
 *   nw_ops_init_cpu   OpenBLAS + OpenMP versions, compiled once per instruction set from
 *                     libnuwa/cpu/kernels_tmpl.c and chosen at run time by CPU flags;
 *   nw_ops_init_cuda  CUDA kernels + cuBLAS/cuDNN on device pointers (libnuwa/cuda/, kernels/),
 *                     in builds with NUWA_HAVE_CUDA; ctx->dev carries the device context.
 *
 * Tensors are float32, one image at a time, channel-major (C, H, W) and contiguous unless a
 * leading-dimension argument says otherwise. Ops never allocate: temporary memory comes from
 * ctx->scratch, sized beforehand with the matching *_scratch query.
 *
 * Memory: every pointer an op receives is backend memory (host memory for ref/cpu, device
 * memory for CUDA), obtained from the table's mem_alloc. Model code never reads or writes it
 * directly: host data enters through upload and leaves through download, both counted in
 * ctx->xfer when set (tests check that generation moves nothing but the sampled token).
 *
 * Errors: compute ops return nothing. A backend records its first failure and `sync` returns it
 * (a NUWA_ERR_* code and a message); callers check it at every API boundary.
 *
 * Determinism: for a given backend and input, results do not depend on ctx->n_threads
 * (work is split into fixed chunks, reductions run in a fixed order).
 */
#ifndef NW_OPS_H
#define NW_OPS_H

#include <stddef.h>
#include <stdint.h>

enum NwAct {
    NW_ACT_NONE = 0,
    NW_ACT_LRELU = 1, /* leaky ReLU, slope NW_LRELU_SLOPE */
};
#define NW_LRELU_SLOPE 0.1f

/* Host <-> backend traffic, counted by the upload/download slots of every backend. */
typedef struct NwXfer {
    long uploads, downloads;
    size_t up_bytes, down_bytes;
} NwXfer;

typedef struct NwCtx {
    int n_threads;      /* >= 1 */
    float *scratch;     /* at least the size the *_scratch query returned */
    size_t scratch_len; /* in floats */
    void *dev;          /* CUDA ops: the NwCudaDev (stream, handles) they run on; CPU ops ignore it */
    NwXfer *xfer;       /* may be NULL: transfers are not counted */
} NwCtx;

/* 3DNA neighbourhood (MODEL.md §2.3): video token t = (f, r, c) attends the tokens
 * (f - dil*(kf-1-a), r - dil*(kh-1-b), c - dil*(kw-1-e)) for a < kf, b < kh, e < kw, in that
 * order (j = (a*kh + b)*kw + e), masked when a coordinate is < 0; their keys/values are ring
 * rows (token % cap). */
typedef struct NwDna {
    int kf, kh, kw, dil;
    int fmap, T;        /* frame side and tokens per frame */
    int cap;            /* rows in the key/value ring */
} NwDna;

/* Sampling (nw_sample's rule): top-k with k = max((int)((1 - thres) * V), 1), then
 * argmax(l / temperature + gumbel(u)). u: V uniforms in backend memory, or NULL for
 * nw_uniforms(seed, counter). */
typedef struct NwSampleParams {
    double thres;
    float temperature;
    uint64_t seed, counter;
    const float *u;
} NwSampleParams;

typedef struct NwConv2d {
    int cin, h, w;      /* input */
    int cout, kh, kw;   /* weight (cout, cin, kh, kw) */
    int stride, pad;    /* zero padding on all sides */
    int act;            /* enum NwAct, applied after the bias */
} NwConv2d;

static inline int nw_conv_out(int n, int k, int stride, int pad)
{
    return (n + 2 * pad - k) / stride + 1;
}

typedef struct NwOps {
    const char *name;
    /* 1: run guidance's conditional and unconditional decoder passes as one batch of 2 (every
     * GEMM over both passes' rows: fewer launches, weights read once); 0: one pass after the
     * other, or on two CPU threads. */
    int batch_passes;

    /* ---- memory and status ---- */

    /* Backend memory of `bytes` (64-byte aligned), NULL on failure. */
    void *(*mem_alloc)(const NwCtx *ctx, size_t bytes);
    void (*mem_free)(const NwCtx *ctx, void *p);   /* NULL is a no-op */
    /* host -> backend and backend -> host; the host buffer may be reused when they return */
    void (*upload)(const NwCtx *ctx, void *dst, const void *src, size_t bytes);
    void (*download)(const NwCtx *ctx, void *dst, const void *src, size_t bytes);
    /* backend -> backend, regions must not overlap; byte fill */
    void (*copy)(const NwCtx *ctx, void *dst, const void *src, size_t bytes);
    void (*fill)(const NwCtx *ctx, void *dst, int byte, size_t bytes);
    /* Waits for queued work; returns 0 or the first recorded error (NUWA_ERR_*) with its
     * message in msg (may be NULL), and clears it. */
    int (*sync)(const NwCtx *ctx, char *msg, size_t msglen);
    /* Optional (NULL when the backend has none): record the ops queued between graph_begin and
     * graph_end as one graph and launch it at graph_end (CUDA graphs for the decode step: the
     * same kernels with new arguments each token, updated in place). graph_begin returns 0 when
     * it started recording, < 0 when the ops run directly. Nothing between them may wait for
     * the device (no download, no sync). */
    int (*graph_begin)(const NwCtx *ctx);
    void (*graph_end)(const NwCtx *ctx);

    /* out (cout, oh, ow) = act(conv2d(in) + bias); bias may be NULL. */
    void (*conv2d)(const NwCtx *ctx, const NwConv2d *d, const float *in, const float *weight,
                   const float *bias, float *out);
    size_t (*conv2d_scratch)(const NwConv2d *d, int n_threads);

    /* C (M, N) = A (M, K) * B (K, N) [+ bias[m] on row m]; row-major with leading dims;
     * trans_a: A is stored (K, M); trans_b: B is stored (N, K). */
    void (*matmul)(const NwCtx *ctx, int M, int N, int K, const float *A, int lda, int trans_a,
                   const float *B, int ldb, int trans_b, const float *bias, float *C, int ldc);

    /* y = act(GroupNorm(x)); x (c, hw); groups of c/groups consecutive channels; biased
     * variance, eps inside the sqrt. y may equal x. */
    void (*group_norm)(const NwCtx *ctx, const float *x, float *y, int c, int hw, int groups,
                       const float *gamma, const float *beta, float eps, int act);

    /* y = (x - mean_c) / sqrt(var_c + eps) * g + b [+ res], statistics over the channel axis
     * of each pixel; x (c, hw); res may be NULL; y may equal x or res. */
    void (*layer_norm_chan)(const NwCtx *ctx, const float *x, float *y, int c, int hw,
                            const float *g, const float *b, float eps, const float *res);

    /* x = x >= 0 ? x : slope * x, in place */
    void (*leaky_relu)(const NwCtx *ctx, float *x, size_t n, float slope);

    /* out (c, hw) = in[0:c] * sigmoid(in[c:2c]); in (2c, hw) */
    void (*glu)(const NwCtx *ctx, const float *in, float *out, int c, int hw);

    /* out (c, 2h, 2w) = bilinear x2 upsampling of in (c, h, w), align_corners = false */
    void (*upsample2x)(const NwCtx *ctx, const float *in, float *out, int c, int h, int w);

    /* y += x */
    void (*add)(const NwCtx *ctx, float *y, const float *x, size_t n);

    /* VQGanAttention core. qkv (3*heads*dh, n): q, k, v blocks, channel hd*dh + c.
     * q, k are l2-normalised along n (per head and channel, eps 1e-12),
     * sim = scale[hd] * q^T k + bias[hd] (bias (heads, n, n), may be NULL), softmax over keys,
     * out (heads*dh, n) = v attn^T. qkv is not modified. */
    void (*vqgan_attn)(const NwCtx *ctx, const float *qkv, float *out, int heads, int dh, int n,
                       const float *scale, const float *bias);
    size_t (*vqgan_attn_scratch)(int heads, int dh, int n, int n_threads);

    /* Vector quantisation of the n columns of x (cd, n) against codebook (K, cd).
     * cosine: columns are divided by max(|x|, 1e-6) (in place) and dist = E x;
     * otherwise dist = -sqrt(max(|x|^2 + |E_k|^2 - 2 E_k.x, 1e-8)) (code_sqnorm[k] = |E_k|^2).
     * idx[i] = first argmax_k dist; margin[i] (may be NULL) = top1 - top2. */
    void (*vq_assign)(const NwCtx *ctx, float *x, int cd, int n, const float *codebook, int K,
                      const float *code_sqnorm, int cosine, int32_t *idx, float *margin);
    size_t (*vq_assign_scratch)(int cd, int n, int K, int n_threads);

    /* ---- transformer (rows = tokens, row-major (n, d)) ---- */

    /* y = LayerNorm(x) * g + b per row (biased variance, eps inside the sqrt); with `stable`,
     * each row is first divided by its signed maximum (StableLayerNorm, MODEL.md B14).
     * y may equal x. */
    void (*layer_norm)(const NwCtx *ctx, const float *x, float *y, int n, int d, const float *g,
                       const float *b, float eps, int stable);

    /* a (n, f) = u[:, :f] * gelu(u[:, f:]) with the exact erf gelu; u (n, 2f). */
    void (*geglu)(const NwCtx *ctx, const float *u, float *a, int n, int f);

    /* Attention with a learned null key/value in front of the keys (MODEL.md §2.2):
     * q (n, h*dh) row stride ldq; k, v (m, h*dh) strides ldk, ldv; null_k, null_v (h, dh);
     * keep (m) 1 = attend, 0 = masked, NULL = all; s = scale * q.k, softmax over 1 + m keys,
     * talking heads th (h, h) mixing the probabilities across heads, out (n, h*dh) stride ldo. */
    void (*attn_null)(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk,
                      const float *v, int ldv, int n, int m, int heads, int dh,
                      const float *null_k, const float *null_v, const uint8_t *keep,
                      const float *th, float scale, float *out, int ldo);
    size_t (*attn_null_scratch)(int n, int m, int heads, int n_threads);

    /* Gathered sparse attention (3DNA): query row i attends key 0 = (kbos, vbos) and keys
     * idx[i*nk + j] (rows of k/v, strides ldk/ldv; -1 = masked). s = scale * q.k (+ bias[j*h + hd]
     * for j >= 1 when bias != NULL; the bos key gets no bias), softmax over 1 + nk keys,
     * talking heads th (h, h), out (n, h*dh) stride ldo. */
    void (*attn_gather)(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk,
                        const float *v, int ldv, const float *kbos, const float *vbos,
                        const int32_t *idx, int n, int nk, int heads, int dh, const float *bias,
                        const float *th, float scale, float *out, int ldo);

    /* y (n, o) = x (n, i) W^T [+ bias[c] on every row]; W (o, i) as nn.Linear; rows contiguous. */
    void (*linear)(const NwCtx *ctx, const float *x, int n, int i, const float *W, int o,
                   const float *bias, float *y);

    /* Row gather: out row r = table[ids[r]] (d floats) [+ add row r]; add (n, d) may be NULL.
     * trans: out is (d, n), column r (codebook lookup before the VQGAN decoder). ids must be
     * in range (callers check them where they enter the library). */
    void (*embed)(const NwCtx *ctx, const float *table, int d, const int32_t *ids, int n,
                  const float *add, float *out, int trans);

    /* Rotary embedding (MODEL.md §2.4) in place on the first `rot` features of each of the
     * `heads` heads (dh apart) of rows x (n, ld) at positions p0 + r: with hr = rot/2,
     * th = pos * inv_freq[k], (a, b) = (x[k], x[k+hr]) -> (a cos - b sin, b cos + a sin). */
    void (*rotary)(const NwCtx *ctx, float *x, int n, int ld, int heads, int dh, int rot,
                   const float *inv_freq, int p0);

    /* Token shift (MODEL.md §2.5) of decoder rows p0 .. p0+n-1 (row 0 = bos) whose prenormed
     * rows are already in `ring` (cap rows of d, row p at p % cap): out row = ring row p, then
     * for p >= 1, token t = p - 1 at (row, col) of its frame, features [0, c) come from row
     * p - fmap (zero when row == 0) and [c, min(2c, d)) from row p - 1 (zero when col == 0),
     * c = ceil(d / 4). */
    void (*token_shift)(const NwCtx *ctx, const float *ring, int cap, int p0, int n, int d,
                        int fmap, int T, float *out);

    /* Causal 3DNA attention of the n video tokens t0 .. t0+n-1: as attn_gather with the
     * neighbourhood of NwDna derived here (no index list from the host); k and v are the
     * key/value rings (row stride ldkv). */
    void (*attn_3dna)(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq,
                      const float *k, const float *v, int ldkv, const float *kbos,
                      const float *vbos, int n, int heads, int dh, const float *bias,
                      const float *th, float scale, float *out, int ldo);
    size_t (*attn_3dna_scratch)(const NwDna *g, int n, int heads, int n_threads);

    /* Classifier-free guidance: out (n) = lu + (lc - lu) * scale. out may equal lc or lu. */
    void (*guide)(const NwCtx *ctx, const float *lc, const float *lu, float *out, int n, float scale);

    /* Samples one token from logits (V) (NwSampleParams); writes it to *tok (backend memory)
     * and, when margin is not NULL, the top-1 minus top-2 score to *margin. */
    void (*sample)(const NwCtx *ctx, const float *logits, int V, const NwSampleParams *p,
                   int32_t *tok, float *margin);
    size_t (*sample_scratch)(int V, int n_threads);
} NwOps;

/* The sampling spec on host memory: top-k filter (ties prefer the lower index), then
 * argmax(l / temperature + gumbel(u)) with gumbel(u) = -ln(max(-ln(max(u, 1e-20)), 1e-20)), each ln
 * taken in double and rounded to float (so that every backend computes the same noise).
 * u: V uniforms in [0, 1); work: V floats. Returns the token; *margin (may be NULL) = top-1
 * minus top-2 score. */
int nw_sample(const float *logits, int V, double thres, float temperature, const float *u, float *work,
              float *margin);

/* Counter-based uniform [0, 1) floats: stream (seed, counter) -> n values, independent of
 * threads and call pattern (a splitmix64-style mix; exact on any backend). */
void nw_uniforms(uint64_t seed, uint64_t counter, float *u, int n);

void nw_ops_init_ref(NwOps *ops);

enum NwCpuFlags {
    NW_CPU_AVX2 = 1 << 0, /* AVX2 + FMA */
};
/* Flags of the running CPU. */
unsigned nw_cpu_flags(void);
/* Fills every slot: the reference first, then the fastest variants `flags` allows. */
void nw_ops_init_cpu(NwOps *ops, unsigned flags);

#endif
