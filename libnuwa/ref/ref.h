/* ref.h — the reference ops, also callable one by one (tests, fallbacks). */
#ifndef NW_REF_H
#define NW_REF_H

#include "ops.h"

void nw_conv2d_ref(const NwCtx *ctx, const NwConv2d *d, const float *in, const float *weight,
                   const float *bias, float *out);
size_t nw_conv2d_scratch_none(const NwConv2d *d, int n_threads);
void nw_matmul_ref(const NwCtx *ctx, int M, int N, int K, const float *A, int lda, int trans_a,
                   const float *B, int ldb, int trans_b, const float *bias, float *C, int ldc);
void nw_group_norm_ref(const NwCtx *ctx, const float *x, float *y, int c, int hw, int groups,
                       const float *gamma, const float *beta, float eps, int act);
void nw_layer_norm_chan_ref(const NwCtx *ctx, const float *x, float *y, int c, int hw,
                            const float *g, const float *b, float eps, const float *res);
void nw_leaky_relu_ref(const NwCtx *ctx, float *x, size_t n, float slope);
void nw_glu_ref(const NwCtx *ctx, const float *in, float *out, int c, int hw);
void nw_upsample2x_ref(const NwCtx *ctx, const float *in, float *out, int c, int h, int w);
void nw_add_ref(const NwCtx *ctx, float *y, const float *x, size_t n);
void nw_vqgan_attn_ref(const NwCtx *ctx, const float *qkv, float *out, int heads, int dh, int n,
                       const float *scale, const float *bias);
size_t nw_vqgan_attn_scratch_ref(int heads, int dh, int n, int n_threads);
void nw_vq_assign_ref(const NwCtx *ctx, float *x, int cd, int n, const float *codebook, int K,
                      const float *code_sqnorm, int cosine, int32_t *idx, float *margin);
size_t nw_vq_assign_scratch_ref(int cd, int n, int K, int n_threads);

void nw_layer_norm_ref(const NwCtx *ctx, const float *x, float *y, int n, int d, const float *g,
                       const float *b, float eps, int stable);
void nw_geglu_ref(const NwCtx *ctx, const float *u, float *a, int n, int f);
void nw_attn_null_ref(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk,
                      const float *v, int ldv, int n, int m, int heads, int dh,
                      const float *null_k, const float *null_v, const uint8_t *keep,
                      const float *th, float scale, float *out, int ldo);
size_t nw_attn_null_scratch_ref(int n, int m, int heads, int n_threads);
void nw_attn_gather_ref(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk,
                        const float *v, int ldv, const float *kbos, const float *vbos,
                        const int32_t *idx, int n, int nk, int heads, int dh, const float *bias,
                        const float *th, float scale, float *out, int ldo);


/* host memory slots (ref and cpu tables) */
void *nw_host_alloc(const NwCtx *ctx, size_t bytes);
void nw_host_free(const NwCtx *ctx, void *p);
void nw_host_upload(const NwCtx *ctx, void *dst, const void *src, size_t bytes);
void nw_host_download(const NwCtx *ctx, void *dst, const void *src, size_t bytes);
void nw_host_copy(const NwCtx *ctx, void *dst, const void *src, size_t bytes);
void nw_host_fill(const NwCtx *ctx, void *dst, int byte, size_t bytes);
int nw_host_sync(const NwCtx *ctx, char *msg, size_t msglen);

void nw_linear_ref(const NwCtx *ctx, const float *x, int n, int i, const float *W, int o, const float *bias,
                   float *y);
void nw_embed_ref(const NwCtx *ctx, const float *table, int d, const int32_t *ids, int n, const float *add,
                  float *out, int trans);
void nw_rotary_ref(const NwCtx *ctx, float *x, int n, int ld, int heads, int dh, int rot,
                   const float *inv_freq, int p0);
void nw_token_shift_ref(const NwCtx *ctx, const float *ring, int cap, int p0, int n, int d, int fmap, int T,
                        float *out);
/* The 3DNA index list of tokens t0 .. t0+n-1 (n rows of kf*kh*kw ring rows, -1 = masked). */
void nw_dna_indices(const NwDna *g, int t0, int n, int32_t *idx);
size_t nw_attn_3dna_scratch_ref(const NwDna *g, int n, int heads, int n_threads);
void nw_attn_3dna_ref(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq, const float *k,
                      const float *v, int ldkv, const float *kbos, const float *vbos, int n, int heads, int dh,
                      const float *bias, const float *th, float scale, float *out, int ldo);
void nw_guide_ref(const NwCtx *ctx, const float *lc, const float *lu, float *out, int n, float scale);
size_t nw_sample_scratch_ref(int V, int n_threads);
void nw_sample_ref(const NwCtx *ctx, const float *logits, int V, const NwSampleParams *p, int32_t *tok,
                   float *margin);

#endif
