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

#endif
