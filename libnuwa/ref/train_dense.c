/*
 * ref/train_dense.c — the reference backward passes of the dense (non-attention) transformer
 * ops, the cross-entropy loss, AdamW and gradient clipping (train_ops.h). Plain loops, every
 * sum in double, each gradient rounded to float once and then accumulated (+=) into the
 * caller's buffer. This file is the spec: libnuwa/cpu/train_dense_cpu.c and tests/train/dense.c
 * are checked against it, and it is checked by finite differences of the forward ops.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "ops.h"
#include "ref/train_ref.h"
#include "train_ops.h"

/* ---- linear: y = x W^T + b ----------------------------------------------------------------
 * dy/dx[r,k] = sum_c dy[r,c] W[c,k];  dW[c,k] = sum_r dy[r,c] x[r,k];  db[c] = sum_r dy[r,c]. */
static void linear_bwd_ref(const NwCtx *ctx, const float *x, int n, int i, const float *W, int o,
                           const float *dy, float *dx, float *dW, float *db)
{
    (void)ctx;
    if (dx)
        for (int r = 0; r < n; r++)
            for (int k = 0; k < i; k++) {
                double s = 0;
                for (int c = 0; c < o; c++)
                    s += (double)dy[(size_t)r * o + c] * W[(size_t)c * i + k];
                dx[(size_t)r * i + k] += (float)s;
            }
    if (dW)
        for (int c = 0; c < o; c++)
            for (int k = 0; k < i; k++) {
                double s = 0;
                for (int r = 0; r < n; r++)
                    s += (double)dy[(size_t)r * o + c] * x[(size_t)r * i + k];
                dW[(size_t)c * i + k] += (float)s;
            }
    if (db)
        for (int c = 0; c < o; c++) {
            double s = 0;
            for (int r = 0; r < n; r++)
                s += dy[(size_t)r * o + c];
            db[c] += (float)s;
        }
}

/* ---- layer norm ------------------------------------------------------------------------------
 * Row x (d), divisor m (the signed row max when stable, else 1), s = x / m,
 * mu = mean(s), var = mean((s - mu)^2), r = 1 / sqrt(var + eps), h = (s - mu) r, y = h g + b.
 * With gy = dy g:  ds_j = r (gy_j - mean(gy) - h_j mean(gy h))  (the usual LayerNorm backward),
 * dg_j = sum_rows dy_j h_j, db_j = sum_rows dy_j, and dx_j = ds_j / m.
 * If m is differentiated too (through_max): dm = sum_j ds_j d(x_j/m)/dm = -(1/m) sum_j ds_j s_j,
 * and dm goes to the argmax; with ties autograd's amax splits it evenly among the tied maxima.
 * (Since sum_j ds_j = 0, sum_j ds_j s_j = d mean(gy h) eps / (var + eps): the term is of the
 * order of eps / var, which is why nuwa-pytorch can detach it without changing much.) */

typedef struct LnRow {
    double m, mean, rstd;
    int nmax; /* elements equal to the max (stable) */
} LnRow;

static LnRow ln_row(const float *x, int d, float eps, int stable)
{
    LnRow s = {1.0, 0, 0, 0};
    if (stable) {
        float mx = -FLT_MAX;
        for (int j = 0; j < d; j++)
            mx = fmaxf(mx, x[j]);
        s.m = mx;
        for (int j = 0; j < d; j++)
            s.nmax += x[j] == mx;
    }
    double sum = 0, sq = 0;
    for (int j = 0; j < d; j++)
        sum += x[j] / s.m;
    s.mean = sum / d;
    for (int j = 0; j < d; j++) {
        const double t = x[j] / s.m - s.mean;
        sq += t * t;
    }
    s.rstd = 1.0 / sqrt(sq / d + eps);
    return s;
}

void nw_layer_norm_bwd_ex_ref(const NwCtx *ctx, const float *x, int n, int d, const float *g, float eps,
                              int stable, const float *dy, float *dx, float *dg, float *db, int through_max)
{
    (void)ctx;
    if (dx)
        for (int i = 0; i < n; i++) {
            const float *xr = x + (size_t)i * d, *dyr = dy + (size_t)i * d;
            const LnRow s = ln_row(xr, d, eps, stable);
            double A = 0, B = 0;
            for (int j = 0; j < d; j++) {
                const double gy = (double)dyr[j] * g[j], h = (xr[j] / s.m - s.mean) * s.rstd;
                A += gy;
                B += gy * h;
            }
            A /= d;
            B /= d;
            double dm = 0;
            if (stable && through_max)
                for (int j = 0; j < d; j++) {
                    const double sj = xr[j] / s.m, h = (sj - s.mean) * s.rstd;
                    const double ds = s.rstd * ((double)dyr[j] * g[j] - A - h * B);
                    dm -= ds * sj / s.m;
                }
            for (int j = 0; j < d; j++) {
                const double h = (xr[j] / s.m - s.mean) * s.rstd;
                double v = s.rstd * ((double)dyr[j] * g[j] - A - h * B) / s.m;
                if (stable && through_max && xr[j] == (float)s.m)
                    v += dm / s.nmax;
                dx[(size_t)i * d + j] += (float)v;
            }
        }
    /* column sums: one column at a time over the rows in order (row statistics recomputed:
     * slow, but the spec stays a plain double sum) */
    if (dg || db)
        for (int j = 0; j < d; j++) {
            double sg = 0, sb = 0;
            for (int i = 0; i < n; i++) {
                const float *xr = x + (size_t)i * d;
                const double dyv = dy[(size_t)i * d + j];
                sb += dyv;
                if (dg) {
                    const LnRow s = ln_row(xr, d, eps, stable);
                    sg += dyv * ((xr[j] / s.m - s.mean) * s.rstd);
                }
            }
            if (dg)
                dg[j] += (float)sg;
            if (db)
                db[j] += (float)sb;
        }
}

static void layer_norm_bwd_ref(const NwCtx *ctx, const float *x, int n, int d, const float *g, float eps,
                               int stable, const float *dy, float *dx, float *dg, float *db)
{
    nw_layer_norm_bwd_ex_ref(ctx, x, n, d, g, eps, stable, dy, dx, dg, db, 0);
}

/* ---- GEGLU: a = u1 gelu(u2), gelu(z) = z Phi(z) --------------------------------------------
 * du1 = da gelu(u2);  du2 = da u1 gelu'(u2), gelu'(z) = Phi(z) + z phi(z),
 * Phi(z) = (1 + erf(z / sqrt 2)) / 2, phi(z) = exp(-z^2 / 2) / sqrt(2 pi). */
static void geglu_bwd_ref(const NwCtx *ctx, const float *u, int n, int f, const float *da, float *du)
{
    (void)ctx;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < f; j++) {
            const size_t a = (size_t)i * 2 * f + j, b = a + f;
            const double z = u[b], dav = da[(size_t)i * f + j];
            const double Phi = 0.5 * (1.0 + erf(z / sqrt(2.0)));
            const double phi = exp(-0.5 * z * z) / sqrt(2.0 * M_PI);
            du[a] += (float)(dav * z * Phi);
            du[b] += (float)(dav * u[a] * (Phi + z * phi));
        }
}

/* ---- rotary: (a, b) -> R(th) (a, b) with R = [[c, -s], [s, c]]; the gradient is R^T = R(-th):
 * (da, db) -> (da c + db s, db c - da s). The angle is the forward's float angle. */
static void rotary_bwd_ref(const NwCtx *ctx, float *dx, int n, int ld, int heads, int dh, int rot,
                           const float *inv_freq, int p0)
{
    const int hr = rot / 2;
    (void)ctx;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < hr; k++) {
            const float th = (float)(p0 + i) * inv_freq[k];
            const double cs = cos(th), sn = sin(th);
            for (int hd = 0; hd < heads; hd++) {
                float *v = dx + (size_t)i * ld + (size_t)hd * dh;
                const double a = v[k], b = v[k + hr];
                v[k] = (float)(a * cs + b * sn);
                v[k + hr] = (float)(b * cs - a * sn);
            }
        }
}

/* ---- token shift (whole sequence, ring row = row) ---------------------------------------------
 * out row 0 = nrm row 0; out row p >= 1 (token t = p - 1 at (row, col) of its frame) takes
 * [0, c) from nrm row p - fmap (row > 0), [c, c2) from nrm row p - 1 (col > 0), [c2, d) from
 * nrm row p. The gradient routes each segment back; every element of dnrm has at most one
 * source, so the order of the adds does not matter. */
static void token_shift_bwd_ref(const NwCtx *ctx, const float *dout, int n, int d, int fmap, int T,
                                float *dnrm)
{
    const int c = (d + 3) / 4, c2 = 2 * c < d ? 2 * c : d;
    (void)ctx;
    for (int p = 0; p < n; p++) {
        const float *src = dout + (size_t)p * d;
        float *dst = dnrm + (size_t)p * d;
        if (p == 0) {
            for (int j = 0; j < d; j++)
                dst[j] += src[j];
            continue;
        }
        const int t = p - 1, row = (t % T) / fmap, col = t % fmap;
        if (row > 0)
            for (int j = 0; j < c; j++)
                dnrm[(size_t)(p - fmap) * d + j] += src[j];
        if (col > 0)
            for (int j = c; j < c2; j++)
                dnrm[(size_t)(p - 1) * d + j] += src[j];
        for (int j = c2; j < d; j++)
            dst[j] += src[j];
    }
}

/* ---- embedding: rows gathered by id; the gradient scatters back, in row order ---------------- */
static void embed_bwd_ref(const NwCtx *ctx, const float *dout, int d, const int32_t *ids, int n,
                          float *dtable, float *dadd)
{
    (void)ctx;
    for (int r = 0; r < n; r++) {
        const float *src = dout + (size_t)r * d;
        if (dtable) {
            float *t = dtable + (size_t)ids[r] * d;
            for (int j = 0; j < d; j++)
                t[j] += src[j];
        }
        if (dadd)
            for (int j = 0; j < d; j++)
                dadd[(size_t)r * d + j] += src[j];
    }
}

/* ---- cross entropy --------------------------------------------------------------------------
 * loss_r = lse(l_r) - l_r[t_r], lse(l) = max + log sum exp(l - max); mean over the N rows with
 * t_r >= 0. dl_r = (softmax(l_r) - onehot(t_r)) / N; ignored rows get 0. With N = 0 the loss is
 * 0 (torch would return nan) and dlogits is all zeros. */
static double cross_entropy_ref(const NwCtx *ctx, const float *logits, int n, int V, const int32_t *targets,
                                float *dlogits)
{
    (void)ctx;
    int cnt = 0;
    for (int r = 0; r < n; r++)
        cnt += targets[r] >= 0;
    double loss = 0;
    for (int r = 0; r < n; r++) {
        const float *l = logits + (size_t)r * V;
        float *dl = dlogits + (size_t)r * V;
        if (targets[r] < 0) {
            memset(dl, 0, sizeof(float) * V);
            continue;
        }
        double mx = -INFINITY;
        for (int j = 0; j < V; j++)
            mx = fmax(mx, l[j]);
        double se = 0;
        for (int j = 0; j < V; j++)
            se += exp(l[j] - mx);
        loss += mx + log(se) - l[targets[r]];
        for (int j = 0; j < V; j++)
            dl[j] = (float)((exp(l[j] - mx) / se - (j == targets[r])) / cnt);
    }
    return cnt ? loss / cnt : 0.0;
}

/* ---- AdamW, as torch 1.13's _single_tensor_adamw computes it on float32 CPU tensors ----------
 * Python scalars (double): wd_mul = 1 - lr wd, bc1 = 1 - beta1^step, bc2 = 1 - beta2^step,
 * step_size = lr / bc1, bc2_sqrt = sqrt(bc2). Each tensor op rounds its scalar to float and
 * computes in float:
 *   p = p * (float)wd_mul                                  param.mul_
 *   m = m * b1;  m = fma(g, (float)(1 - b1), m)            exp_avg.mul_().add_(alpha=): torch's
 *                                                          add kernel is vec::fmadd(b, alpha, a)
 *   v = v * b2;  v = fma((float)(1 - b2) * g, g, v)        addcmul_: self + value * t1 * t2,
 *                                                          contracted to an fma by GCC-built torch
 *   den = sqrtf(v) / (float)bc2_sqrt + (float)eps
 *   p = p + ((float)(-step_size) * m) / den                addcdiv_: self + value * t1 / t2
 * The two fma are an assumption about the torch build (AVX2/AVX-512 kernels, GCC contraction of
 * the scalar tail); they change the last bit only. Hyperparameters are NwAdamW floats, so torch
 * must be given the same float values (e.g. lr = float32(3e-4)) for bit equality. */
static void adamw_ref(const NwCtx *ctx, float *p, const float *grad, float *m, float *v, size_t n,
                      const NwAdamW *o)
{
    (void)ctx;
    const double lr = o->lr, b1 = o->beta1, b2 = o->beta2, step = (double)o->step;
    const float wd_mul = (float)(1.0 - lr * (double)o->weight_decay);
    const double bc1 = 1.0 - pow(b1, step), bc2 = 1.0 - pow(b2, step);
    const float neg_step = (float)(-(lr / bc1)), bc2_sqrt = (float)sqrt(bc2);
    const float fb1 = (float)b1, fb2 = (float)b2, a1 = (float)(1.0 - b1), a2 = (float)(1.0 - b2);
    const float eps = o->eps;
    for (size_t k = 0; k < n; k++) {
        const float g = grad[k];
        float pk = p[k] * wd_mul;
        const float mk = fmaf(g, a1, m[k] * fb1);
        const float vk = fmaf(a2 * g, g, v[k] * fb2);
        const float den = sqrtf(vk) / bc2_sqrt + eps;
        pk = pk + (neg_step * mk) / den;
        p[k] = pk;
        m[k] = mk;
        v[k] = vk;
    }
}

/* ---- clip_grad_norm_ -------------------------------------------------------------------------
 * torch: total_norm (float32 tensor), clip_coef = max_norm / (total_norm + 1e-6) evaluated as a
 * tensor op in float (Python's scalar / tensor is tensor.reciprocal() * scalar), grads scaled by
 * it when it is < 1. The norm itself is summed in double here (torch sums in float). */
double nw_clip_grad_norm(float *grad, size_t n, double max_norm)
{
    double sq = 0;
    for (size_t k = 0; k < n; k++)
        sq += (double)grad[k] * grad[k];
    const double norm = sqrt(sq);
    const float coef = (1.f / ((float)norm + 1e-6f)) * (float)max_norm;
    if (coef < 1.f)
        for (size_t k = 0; k < n; k++)
            grad[k] *= coef;
    return norm;
}

void nw_train_fill_dense_ref(NwTrainOps *o)
{
    o->name = "ref";
    o->linear_bwd = linear_bwd_ref;
    o->layer_norm_bwd = layer_norm_bwd_ref;
    o->geglu_bwd = geglu_bwd_ref;
    o->rotary_bwd = rotary_bwd_ref;
    o->token_shift_bwd = token_shift_bwd_ref;
    o->embed_bwd = embed_bwd_ref;
    o->cross_entropy = cross_entropy_ref;
    o->adamw = adamw_ref;
}
