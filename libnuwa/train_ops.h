/*
 * train_ops.h — the backward passes and optimizer of NUWA training (the `nuwa train` work),
 * as a table like NwOps: a scalar reference (libnuwa/ref/train_*.c, the spec, plain loops with
 * double accumulation) and a fast CPU version (libnuwa/cpu/, OpenBLAS + OpenMP), tested
 * against each other and by finite differences on tiny shapes (tests/train/).
 *
 * Conventions (all ops):
 * - Rows are tokens, row-major, as in ops.h; the forward op of each backward is the NwOps slot
 *   of the same name, whose contract defines the math.
 * - Every gradient output is ACCUMULATED (+=): a tensor read by several ops receives the sum
 *   of their gradients; the caller zeroes gradients before a step. A gradient pointer may be
 *   NULL when that gradient is not wanted.
 * - Results do not depend on ctx->n_threads (fixed work splits; sums over rows in a fixed
 *   order), so a training run is deterministic for a seed on any thread count.
 * - Temporary memory comes from ctx->scratch, sized by the matching *_scratch query.
 */
#ifndef NW_TRAIN_OPS_H
#define NW_TRAIN_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "ops.h"

typedef struct NwAdamW {
    float lr, beta1, beta2, eps, weight_decay;
    int64_t step;      /* 1-based step number (bias correction) */
} NwAdamW;

typedef struct NwTrainOps {
    const char *name;

    /* y (n, o) = x (n, i) W^T + b: dx += dy W; dW += dy^T x; db += column sums of dy. */
    void (*linear_bwd)(const NwCtx *ctx, const float *x, int n, int i, const float *W, int o,
                       const float *dy, float *dx, float *dW, float *db);

    /* y = layer_norm(x) (ops.h layer_norm; `stable` = StableLayerNorm: the row is divided by
     * its signed maximum first; nuwa-pytorch detaches that maximum, so the gradient flows
     * through the division by a constant, not into the maximum): dx, dg, db += ... */
    void (*layer_norm_bwd)(const NwCtx *ctx, const float *x, int n, int d, const float *g, float eps,
                           int stable, const float *dy, float *dx, float *dg, float *db);

    /* a = u[:, :f] * gelu(u[:, f:]) (exact erf gelu): du (n, 2f) += ... */
    void (*geglu_bwd)(const NwCtx *ctx, const float *u, int n, int f, const float *da, float *du);

    /* attn_null of ops.h, forward for training: as attn_null, and P (n, heads, 1 + m) receives
     * the softmax probabilities before the talking-heads mix (the null key is column 0). */
    void (*attn_null_fwd)(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk,
                          const float *v, int ldv, int n, int m, int heads, int dh,
                          const float *null_k, const float *null_v, const uint8_t *keep,
                          const float *th, float scale, float *out, int ldo, float *P);
    /* Its backward from P: dq, dk, dv (row strides as q, k, v), dnull_k, dnull_v (h, dh),
     * dth (h, h) accumulated. */
    void (*attn_null_bwd)(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk,
                          const float *v, int ldv, int n, int m, int heads, int dh,
                          const float *null_k, const float *null_v, const float *th, float scale,
                          const float *P, const float *dout, int lddo, float *dq, float *dk,
                          float *dv, float *dnull_k, float *dnull_v, float *dth);
    size_t (*attn_null_bwd_scratch)(int n, int m, int heads, int n_threads);

    /* attn_3dna of ops.h, forward for training over a whole sequence: k, v hold every token
     * (g->cap >= t0 + n, so ring row = token), P (n, heads, 1 + K) receives the probabilities
     * before the talking-heads mix (bos key = column 0; masked keys 0). */
    void (*attn_3dna_fwd)(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq,
                          const float *k, const float *v, int ldkv, const float *kbos,
                          const float *vbos, int n, int heads, int dh, const float *bias,
                          const float *th, float scale, float *out, int ldo, float *P);
    size_t (*attn_3dna_fwd_scratch)(const NwDna *g, int n, int heads, int n_threads);
    /* Its backward: dq; dk, dv (rows of k/v, stride ldkv) scattered from every query that read
     * them; dkbos, dvbos (h*dh); dbias (K, heads) when bias was used; dth (h, h). */
    void (*attn_3dna_bwd)(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq,
                          const float *k, const float *v, int ldkv, const float *kbos,
                          const float *vbos, int n, int heads, int dh, const float *bias,
                          const float *th, float scale, const float *P, const float *dout, int lddo,
                          float *dq, float *dk, float *dv, float *dkbos, float *dvbos, float *dbias,
                          float *dth);
    size_t (*attn_3dna_bwd_scratch)(const NwDna *g, int n, int heads, int n_threads);

    /* rotary of ops.h: the gradient is the inverse rotation, in place on dx. */
    void (*rotary_bwd)(const NwCtx *ctx, float *dx, int n, int ld, int heads, int dh, int rot,
                       const float *inv_freq, int p0);

    /* token_shift of ops.h over a whole sequence (rows p0 = 0 .. n-1, no ring: cap >= n):
     * dnrm (n, d) += the gradient of the prenormed rows from dout (n, d). */
    void (*token_shift_bwd)(const NwCtx *ctx, const float *dout, int n, int d, int fmap, int T,
                            float *dnrm);

    /* embed of ops.h (trans = 0): dtable[ids[r]] += dout[r] (and dadd += dout when dadd),
     * in row order (deterministic for repeated ids). */
    void (*embed_bwd)(const NwCtx *ctx, const float *dout, int d, const int32_t *ids, int n,
                      float *dtable, float *dadd);

    /* Mean cross-entropy of logits (n, V) against targets (n): returns it (double) and writes
     * dlogits (n, V) = (softmax - onehot) / n (overwritten, not accumulated); targets < 0 are
     * ignored (and not counted in n). */
    double (*cross_entropy)(const NwCtx *ctx, const float *logits, int n, int V, const int32_t *targets,
                            float *dlogits);

    /* torch.optim.AdamW step on n parameters: m, v the moments (zeros before step 1);
     * weight_decay 0 is Adam. */
    void (*adamw)(const NwCtx *ctx, float *p, const float *grad, float *m, float *v, size_t n,
                  const NwAdamW *o);
} NwTrainOps;

void nw_train_ops_init_ref(NwTrainOps *o);
void nw_train_ops_init_cpu(NwTrainOps *o, unsigned cpu_flags);

/* torch.nn.utils.clip_grad_norm_ over the n floats of grad (one flat buffer): returns the total
 * L2 norm (double accumulation) and scales grad by coef = max_norm / (norm + 1e-6) when
 * coef < 1 (torch's rule). */
double nw_clip_grad_norm(float *grad, size_t n, double max_norm);

#endif
