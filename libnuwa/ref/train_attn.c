/*
 * ref/train_attn.c — reference forward-for-training and backward of the two attention ops of
 * the NUWA transformer (train_ops.h): attention with a null key/value (attn_null) and the 3DNA
 * gathered attention over a whole sequence (attn_3dna). Plain loops, double accumulation, one
 * query row at a time: the spec the CPU version (cpu/train_attn_tmpl.c) is tested against.
 *
 * Forward, per query row i, head hd, key column j (column 0 = null key / bos key):
 *   s[hd,j]  = scale*q.k_j (+ bias[j-1, hd] for 3DNA keys j >= 1), masked keys -FLT_MAX
 *   P[g,j]   = softmax_j s[g,:]                      (masked keys get exactly 0)
 *   PT[hd,j] = sum_g th[hd,g] P[g,j]                 (talking heads)
 *   out[hd,c]= sum_j PT[hd,j] v_j[hd,c]
 * Backward, from dout (the row's output gradient):
 *   dPT[hd,j] = dout[hd,:] . v_j[hd,:]                dv_j[hd,c] += PT[hd,j] dout[hd,c]
 *   dth[hd,g] += sum_j dPT[hd,j] P[g,j]               (d PT[hd,j] / d th[hd,g] = P[g,j])
 *   dP[g,j]   = sum_hd th[hd,g] dPT[hd,j]             (the transpose of the mix)
 *   dS[g,j]   = P[g,j] (dP[g,j] - sum_l P[g,l] dP[g,l])   (softmax Jacobian)
 *   dq[g,:]  += scale sum_j dS[g,j] k_j[g,:]          dk_j[g,:] += scale dS[g,j] q[g,:]
 *   dbias[j-1, g] += dS[g,j] (3DNA, j >= 1)
 * Column 0's key/value gradients go to dnull_k/dnull_v (attn_null) or dkbos/dvbos (3DNA). A
 * masked key has P = 0, so PT = 0 and dS = 0: it receives nothing (attn_null adds exact zeros;
 * 3DNA has no row to add to). The forward rounds q*scale to float before the product; its
 * derivative is still scale*k up to that rounding.
 *
 * The forwards repeat ref/transformer_ops.c's attn_null / attn_gather operation for operation
 * (the same float roundings in the same order), so `out` is bit-identical to the inference op;
 * tests/train/attn.c checks it. The talking-heads row PT is recomputed per (hd, j) instead of
 * stored: attn_null_fwd has no scratch query, and the same double sum rounded to float gives
 * the same bits.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "ref/ref.h"
#include "ref/train_ref.h"

/* The key rows of one query: column 0 is (k0, v0); column j >= 1 is row ix[j-1] of k/v
 * (-1 = masked), or row j-1 when ix is NULL (attn_null; its mask is already in P). */
typedef struct Keys {
    const float *k, *v, *k0, *v0;
    int ldk, ldv;
    const int32_t *ix;
} Keys;

static inline int key_row(const Keys *ks, int j)
{
    return ks->ix ? ks->ix[j - 1] : j - 1;
}

/* Scores and softmax of one query row into p (heads x nt), as nw_attn_null_ref /
 * nw_attn_gather_ref compute them. masked(j) is given by keep (attn_null) or ix (3DNA). */
static void scores_softmax(const Keys *ks, const uint8_t *keep, const float *qrow, int heads, int dh, int nt,
                           const float *bias, float scale, float *p)
{
    for (int hd = 0; hd < heads; hd++) {
        const float *qi = qrow + hd * dh;
        for (int j = 0; j < nt; j++) {
            const int r = j ? key_row(ks, j) : 0;
            if (j && (r < 0 || (keep && !keep[j - 1]))) {
                p[(size_t)hd * nt + j] = -FLT_MAX;
                continue;
            }
            const float *kj = j ? ks->k + (size_t)r * ks->ldk + hd * dh : ks->k0 + hd * dh;
            double s = 0;
            for (int c = 0; c < dh; c++)
                s += (double)(qi[c] * scale) * kj[c];
            float sf = (float)s;
            if (j && bias)
                sf += bias[(size_t)(j - 1) * heads + hd];
            p[(size_t)hd * nt + j] = sf;
        }
    }
    for (int hd = 0; hd < heads; hd++) {
        float *r = p + (size_t)hd * nt;
        float mx = -FLT_MAX;
        for (int j = 0; j < nt; j++)
            mx = fmaxf(mx, r[j]);
        double den = 0;
        for (int j = 0; j < nt; j++) {
            r[j] = expf(r[j] - mx);
            den += r[j];
        }
        for (int j = 0; j < nt; j++)
            r[j] = (float)(r[j] / den);
    }
}

/* out row from P: PT[hd,j] rounded to float as softmax_talk stores it, then the double sum
 * over j per (hd, c) in j order (acc holds the dh sums of one head; dh <= 1024). The 3DNA
 * reference skips masked keys; attn_null's adds their zero weights. */
static void out_row(const Keys *ks, int skip_masked, const float *p, int heads, int dh, int nt, const float *th,
                    float *orow)
{
    double acc[1024];
    for (int hd = 0; hd < heads; hd++) {
        for (int c = 0; c < dh; c++)
            acc[c] = 0;
        for (int j = 0; j < nt; j++) {
            const int r = j ? key_row(ks, j) : 0;
            if (j && skip_masked && r < 0)
                continue;
            double w = 0;
            for (int g = 0; g < heads; g++)
                w += (double)th[hd * heads + g] * p[(size_t)g * nt + j];
            const float wf = (float)w;
            const float *vj = j ? ks->v + (size_t)r * ks->ldv + hd * dh : ks->v0 + hd * dh;
            for (int c = 0; c < dh; c++)
                acc[c] += (double)wf * vj[c];
        }
        for (int c = 0; c < dh; c++)
            orow[hd * dh + c] = (float)acc[c];
    }
}

/* The backward of one query row (the derivation at the top). work: 3 * heads * nt doubles.
 * Gradient pointers may be NULL. */
static void bwd_row(const Keys *ks, const float *qrow, const float *p, const float *dorow, int heads, int dh,
                    int nt, const float *th, float scale, double *work, float *dqrow, float *dk, float *dv,
                    float *dk0, float *dv0, float *dbias, float *dth)
{
    double *pt = work, *dpt = pt + (size_t)heads * nt, *ds = dpt + (size_t)heads * nt;
    for (int hd = 0; hd < heads; hd++)
        for (int j = 0; j < nt; j++) {
            double w = 0;
            for (int g = 0; g < heads; g++)
                w += (double)th[hd * heads + g] * p[(size_t)g * nt + j];
            pt[(size_t)hd * nt + j] = w;
            double d = 0;
            const int r = j ? key_row(ks, j) : 0;
            if (r >= 0) {
                const float *vj = j ? ks->v + (size_t)r * ks->ldv + hd * dh : ks->v0 + hd * dh;
                for (int c = 0; c < dh; c++)
                    d += (double)dorow[hd * dh + c] * vj[c];
            }
            dpt[(size_t)hd * nt + j] = d;
        }
    if (dth)
        for (int hd = 0; hd < heads; hd++)
            for (int g = 0; g < heads; g++) {
                double a = 0;
                for (int j = 0; j < nt; j++)
                    a += dpt[(size_t)hd * nt + j] * p[(size_t)g * nt + j];
                dth[hd * heads + g] += (float)a;
            }
    for (int g = 0; g < heads; g++) {
        double dot = 0;
        for (int j = 0; j < nt; j++) {
            double dp = 0;
            for (int hd = 0; hd < heads; hd++)
                dp += (double)th[hd * heads + g] * dpt[(size_t)hd * nt + j];
            ds[(size_t)g * nt + j] = dp;
            dot += p[(size_t)g * nt + j] * dp;
        }
        for (int j = 0; j < nt; j++)
            ds[(size_t)g * nt + j] = p[(size_t)g * nt + j] * (ds[(size_t)g * nt + j] - dot);
    }
    for (int hd = 0; hd < heads; hd++)
        for (int j = 0; j < nt; j++) {
            const int r = j ? key_row(ks, j) : 0;
            if (r < 0)
                continue; /* masked 3DNA key: no row */
            const double s = ds[(size_t)hd * nt + j], w = pt[(size_t)hd * nt + j];
            float *dkj = j ? (dk ? dk + (size_t)r * ks->ldk + hd * dh : NULL) : (dk0 ? dk0 + hd * dh : NULL);
            float *dvj = j ? (dv ? dv + (size_t)r * ks->ldv + hd * dh : NULL) : (dv0 ? dv0 + hd * dh : NULL);
            for (int c = 0; c < dh; c++) {
                if (dkj)
                    dkj[c] += (float)(scale * s * qrow[hd * dh + c]);
                if (dvj)
                    dvj[c] += (float)(w * dorow[hd * dh + c]);
            }
            if (j && dbias)
                dbias[(size_t)(j - 1) * heads + hd] += (float)s;
        }
    if (dqrow)
        for (int hd = 0; hd < heads; hd++)
            for (int c = 0; c < dh; c++) {
                double a = 0;
                for (int j = 0; j < nt; j++) {
                    const int r = j ? key_row(ks, j) : 0;
                    if (r < 0)
                        continue;
                    const float *kj = j ? ks->k + (size_t)r * ks->ldk + hd * dh : ks->k0 + hd * dh;
                    a += ds[(size_t)hd * nt + j] * kj[c];
                }
                dqrow[hd * dh + c] += (float)(scale * a);
            }
}

/* ---- attn_null ---- */

static void attn_null_fwd_ref(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk, const float *v,
                              int ldv, int n, int m, int heads, int dh, const float *null_k, const float *null_v,
                              const uint8_t *keep, const float *th, float scale, float *out, int ldo, float *P)
{
    (void)ctx;
    const int nt = m + 1;
    const Keys ks = {k, v, null_k, null_v, ldk, ldv, NULL};
    for (int i = 0; i < n; i++) {
        float *p = P + (size_t)i * heads * nt;
        scores_softmax(&ks, keep, q + (size_t)i * ldq, heads, dh, nt, NULL, scale, p);
        out_row(&ks, 0, p, heads, dh, nt, th, out + (size_t)i * ldo);
    }
}

static size_t attn_null_bwd_scratch_ref(int n, int m, int heads, int n_threads)
{
    (void)n;
    (void)n_threads;
    return (size_t)6 * heads * (m + 1); /* 3 * heads * nt doubles */
}

static void attn_null_bwd_ref(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk, const float *v,
                              int ldv, int n, int m, int heads, int dh, const float *null_k, const float *null_v,
                              const float *th, float scale, const float *P, const float *dout, int lddo, float *dq,
                              float *dk, float *dv, float *dnull_k, float *dnull_v, float *dth)
{
    const int nt = m + 1;
    const Keys ks = {k, v, null_k, null_v, ldk, ldv, NULL};
    double *work = (double *)ctx->scratch;
    for (int i = 0; i < n; i++)
        bwd_row(&ks, q + (size_t)i * ldq, P + (size_t)i * heads * nt, dout + (size_t)i * lddo, heads, dh, nt, th,
                scale, work, dq ? dq + (size_t)i * ldq : NULL, dk, dv, dnull_k, dnull_v, NULL, dth);
}

/* ---- attn_3dna ---- */

/* Floats taken by the index list, rounded up to 64 bytes so that the doubles after it are
 * aligned (ctx->scratch is 64-byte aligned). */
static size_t idx_floats(const NwDna *g, int n)
{
    return ((size_t)n * g->kf * g->kh * g->kw + 15) & ~(size_t)15;
}

static size_t attn_3dna_fwd_scratch_ref(const NwDna *g, int n, int heads, int n_threads)
{
    (void)heads;
    (void)n_threads;
    return idx_floats(g, n);
}

static void attn_3dna_fwd_ref(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq, const float *k,
                              const float *v, int ldkv, const float *kbos, const float *vbos, int n, int heads, int dh,
                              const float *bias, const float *th, float scale, float *out, int ldo, float *P)
{
    const int K = g->kf * g->kh * g->kw, nt = K + 1;
    int32_t *idx = (int32_t *)ctx->scratch;
    nw_dna_indices(g, t0, n, idx);
    for (int i = 0; i < n; i++) {
        const Keys ks = {k, v, kbos, vbos, ldkv, ldkv, idx + (size_t)i * K};
        float *p = P + (size_t)i * heads * nt;
        scores_softmax(&ks, NULL, q + (size_t)i * ldq, heads, dh, nt, bias, scale, p);
        out_row(&ks, 1, p, heads, dh, nt, th, out + (size_t)i * ldo);
    }
}

static size_t attn_3dna_bwd_scratch_ref(const NwDna *g, int n, int heads, int n_threads)
{
    (void)n_threads;
    return idx_floats(g, n) + (size_t)6 * heads * (g->kf * g->kh * g->kw + 1);
}

static void attn_3dna_bwd_ref(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq, const float *k,
                              const float *v, int ldkv, const float *kbos, const float *vbos, int n, int heads, int dh,
                              const float *bias, const float *th, float scale, const float *P, const float *dout,
                              int lddo, float *dq, float *dk, float *dv, float *dkbos, float *dvbos, float *dbias,
                              float *dth)
{
    const int K = g->kf * g->kh * g->kw, nt = K + 1;
    int32_t *idx = (int32_t *)ctx->scratch;
    double *work = (double *)(ctx->scratch + idx_floats(g, n));
    nw_dna_indices(g, t0, n, idx);
    for (int i = 0; i < n; i++) {
        const Keys ks = {k, v, kbos, vbos, ldkv, ldkv, idx + (size_t)i * K};
        bwd_row(&ks, q + (size_t)i * ldq, P + (size_t)i * heads * nt, dout + (size_t)i * lddo, heads, dh, nt, th,
                scale, work, dq ? dq + (size_t)i * ldq : NULL, dk, dv, dkbos, dvbos, bias ? dbias : NULL, dth);
    }
}

void nw_train_fill_attn_ref(NwTrainOps *o)
{
    o->attn_null_fwd = attn_null_fwd_ref;
    o->attn_null_bwd = attn_null_bwd_ref;
    o->attn_null_bwd_scratch = attn_null_bwd_scratch_ref;
    o->attn_3dna_fwd = attn_3dna_fwd_ref;
    o->attn_3dna_fwd_scratch = attn_3dna_fwd_scratch_ref;
    o->attn_3dna_bwd = attn_3dna_bwd_ref;
    o->attn_3dna_bwd_scratch = attn_3dna_bwd_scratch_ref;
}
