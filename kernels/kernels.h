/*
 * kernels.h — the extern "C" launchers of the CUDA kernels (the .cu files here), called by the host
 * backend (libnuwa/cuda/). Plain C: every pointer is a device pointer, every launcher queues
 * its kernels on s->stream, never synchronises, never allocates, and returns the launch status
 * (cudaSuccess or the error cudaGetLastError() reported).
 *
 * GEMM-shaped work is not here: the backend calls cuBLAS (and cuDNN) around these kernels.
 * Each launcher implements the elementwise / reduction part of one NwOps slot
 * (libnuwa/ops.h), whose scalar reference in libnuwa/ref/ is the spec.
 */
#ifndef NW_KERNELS_H
#define NW_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where and with what the launchers run: the stream, two device properties that shape the
 * grids, and a small device workspace for cross-block partial results. */
typedef struct NwKStream {
    cudaStream_t stream;
    int sms;           /* multiprocessors of the device */
    size_t smem_optin; /* largest dynamic shared memory a block may opt in to (bytes) */
    void *aux;         /* device workspace, >= NW_K_AUX_BYTES, 256-byte aligned */
    size_t aux_bytes;
} NwKStream;

#define NW_K_AUX_BYTES ((size_t)4 << 20)

/* ---- elementwise (elementwise.cu) ---- */

/* x = x >= 0 ? x : slope * x */
cudaError_t nw_k_leaky_relu(const NwKStream *s, float *x, size_t n, float slope);
/* y += x */
cudaError_t nw_k_add(const NwKStream *s, float *y, const float *x, size_t n);
/* out (n) = in[0:n] * sigmoid(in[n:2n]) */
cudaError_t nw_k_glu(const NwKStream *s, const float *in, float *out, size_t n);
/* out (c, 2h, 2w) = bilinear x2 of in (c, h, w), align_corners = false */
cudaError_t nw_k_upsample2x(const NwKStream *s, const float *in, float *out, int c, int h, int w);
/* a (n, f) = u[:, :f] * gelu_erf(u[:, f:]) */
cudaError_t nw_k_geglu(const NwKStream *s, const float *u, float *a, int n, int f);
/* C (M rows of N, stride ldc): C[m][j] = act((overwrite ? 0 : C[m][j]) + (bias ? bias[m] : 0)) */
cudaError_t nw_k_bias_rows(const NwKStream *s, float *C, int M, int N, int ldc, const float *bias, int act,
                           int overwrite);

/* ---- normalisation (norm.cu) ---- */

/* GroupNorm (+ leaky ReLU) of x (c, hw); y may equal x. Uses s->aux for partial sums. */
cudaError_t nw_k_group_norm(const NwKStream *s, const float *x, float *y, int c, int hw, int groups,
                            const float *gamma, const float *beta, float eps, int act);
/* LayerNorm over channels of each pixel of x (c, hw) [+ res]; y may equal x or res. */
cudaError_t nw_k_layer_norm_chan(const NwKStream *s, const float *x, float *y, int c, int hw, const float *g,
                                 const float *b, float eps, const float *res);
/* LayerNorm / StableLayerNorm of the n rows of x (n, d); y may equal x. */
cudaError_t nw_k_layer_norm(const NwKStream *s, const float *x, float *y, int n, int d, const float *g,
                            const float *b, float eps, int stable);

/* ---- convolution helpers (conv.cu) ---- */

/* col (cin*kh*kw, np): the im2col columns of output pixels [p0, p0 + np) of a conv with
 * output width ow; zero padding. */
cudaError_t nw_k_im2col(const NwKStream *s, const float *in, int cin, int h, int w, int kh, int kw, int stride,
                        int pad, int ow, int p0, int np, float *col);

/* ---- VQGAN attention (vqgan_attn.cu) ---- */

/* dst rows r (rows of n) = src rows / max(||src row||, 1e-12) */
cudaError_t nw_k_l2norm_rows(const NwKStream *s, const float *src, float *dst, int rows, int n);
/* rows (rows of n, stride n) of `batch` heads starting at head h0, rows_per_head = n:
 * p = softmax(scale[h] * S + bias[h]) in place, bias (heads, n, n) or NULL. */
cudaError_t nw_k_softmax_scaled(const NwKStream *s, float *S, int h0, int batch, int n, const float *scale,
                                const float *bias);

/* ---- vector quantisation (vq.cu) ---- */

/* Column statistics of x (cd, n): xx[i] = |x_i|^2 (double); with `cosine`, x_i /= max(|x_i|, 1e-6)
 * in place. */
cudaError_t nw_k_vq_colnorm(const NwKStream *s, float *x, int cd, int n, int cosine, double *xx);
/* Rows i of dots (ni rows of K, stride K) for columns i0 + i: idx/margin of the first best code. */
cudaError_t nw_k_vq_argmax(const NwKStream *s, const float *dots, int ni, int K, const double *xx,
                           const float *code_sqnorm, int cosine, int32_t *idx, float *margin);

/* ---- transformer attention (attention.cu) ---- */

/* Dynamic shared memory (bytes) one query row of attn_null / attn_gather needs. */
size_t nw_k_attn_null_smem(int m, int heads);
size_t nw_k_attn_gather_smem(int nk, int heads);
/* Blocks of the global-memory fallback of attn_null (when its smem exceeds s->smem_optin):
 * the scratch is NW_K_ATTN_GBLOCKS * heads * (m + 1) floats. */
#define NW_K_ATTN_GBLOCKS 256

/* ops.h attn_null; gbuf: NULL (shared memory) or the fallback scratch above. */
cudaError_t nw_k_attn_null(const NwKStream *s, const float *q, int ldq, const float *k, int ldk, const float *v,
                           int ldv, int n, int m, int heads, int dh, const float *null_k, const float *null_v,
                           const uint8_t *keep, const float *th, float scale, float *out, int ldo, float *gbuf);
/* ops.h attn_gather (needs nw_k_attn_gather_smem(nk, heads) <= s->smem_optin) */
cudaError_t nw_k_attn_gather(const NwKStream *s, const float *q, int ldq, const float *k, int ldk,
                             const float *v, int ldv, const float *kbos, const float *vbos, const int32_t *idx,
                             int n, int nk, int heads, int dh, const float *bias, const float *th, float scale,
                             float *out, int ldo);

/* ---- transformer rows (rows.cu) ---- */

/* C (M rows of N, stride ldc): C[m][j] = (overwrite ? 0 : C[m][j]) + (bias ? bias[j] : 0):
 * the column bias of linear. */
cudaError_t nw_k_bias_cols(const NwKStream *s, float *C, int M, int N, int ldc, const float *bias, int overwrite);
/* ops.h embed: out row r (or column r of (d, n) with trans) = table[ids[r]] (+ add row r) */
cudaError_t nw_k_embed(const NwKStream *s, const float *table, int d, const int32_t *ids, int n, const float *add,
                       float *out, int trans);
/* ops.h rotary, in place */
cudaError_t nw_k_rotary(const NwKStream *s, float *x, int n, int ld, int heads, int dh, int rot,
                        const float *inv_freq, int p0);
/* ops.h token_shift (out must not overlap ring) */
cudaError_t nw_k_token_shift(const NwKStream *s, const float *ring, int cap, int p0, int n, int d, int fmap, int T,
                             float *out);
/* idx (n, kf*kh*kw) = nw_dna_indices of tokens t0 .. t0+n-1 (ref/rows.c): ring rows, -1 masked */
cudaError_t nw_k_dna_indices(const NwKStream *s, int kf, int kh, int kw, int dil, int fmap, int T, int cap, int t0,
                             int n, int32_t *idx);
/* out (n) = lu + (lc - lu) * scale; out may equal lc or lu */
cudaError_t nw_k_guide(const NwKStream *s, const float *lc, const float *lu, float *out, int n, float scale);

/* ---- sampling (sample.cu) ---- */

/* nw_sample (ref/sample.c) of logits (V) in one block: *tok (device) = the token, *margin
 * (device, may be NULL) = top-1 minus top-2 score. u: V device uniforms, or NULL for
 * nw_uniforms(seed, counter) generated on the device. V <= 0: cudaErrorInvalidValue. */
cudaError_t nw_k_sample(const NwKStream *s, const float *logits, int V, double thres, float temperature,
                        uint64_t seed, uint64_t counter, const float *u, int32_t *tok, float *margin);

#ifdef __cplusplus
}
#endif

#endif
