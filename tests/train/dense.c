/*
 * tests/train/dense.c — the dense backward ops of train_ops.h (linear, layer norm, GEGLU,
 * rotary, token shift, embedding), cross-entropy, AdamW and clip_grad_norm:
 *  - the reference (libnuwa/ref/train_dense.c) against central finite differences of the
 *    forward reference ops (nw_ops_init_ref) on tiny random shapes, for every input that has a
 *    gradient;
 *  - the CPU versions against the reference on awkward shapes (n = 1, odd d, sizes that are not
 *    multiples of the vector or chunk widths, sizes that take the threaded paths), and bit for
 *    bit across 1 and 2 threads;
 *  - accumulation (+=, twice = double, NULL gradients), StableLayerNorm with tied maxima,
 *    AdamW against a double transcription of torch's formulas, clip_grad_norm.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/train_cpu.h"
#include "internal.h"
#include "ops.h"
#include "ref/train_ref.h"
#include "testutil.h"
#include "tolerances.h"
#include "train_ops.h"

/* Finite differences: L(theta) = sum(dy * forward(theta)) in double from the float outputs of
 * the forward reference, central differences with step FD_H (the step actually taken is the
 * float-rounded one). Noise: each output is rounded to float (relative 6e-8), so L carries an
 * error of ~6e-8 * sum|dy y| over the outputs the perturbed input touches (a handful of O(1)
 * terms here: ~1e-6 at worst), divided by 2h = 2e-3: ~5e-4. Truncation error h^2/6 f''' is
 * ~1e-7. So |fd - grad| <= 3e-3 + 3e-3 |grad| passes float noise with a wide margin, while a
 * wrong or missing term of a gradient (a dropped mean term of the layer norm, a wrong sign, a
 * transposed index) is O(0.1 .. 1) on these O(1) inputs and fails it. */
#define FD_H 1e-3
#define FD_ATOL 3e-3
#define FD_RTOL 3e-3

/* CPU vs reference on row-wise ops: float math against double math; a few ulp of O(1) values,
 * plus the cancellation in gy - mean(gy) - h mean(gy h) of the layer norm: 1e-5 of the
 * tensor's max (check_rel_max) is ~100 ulp of the largest value and far below an error of any
 * term. GEMM-shaped: TOL_GEMM_REL_MAX. */
#define TOL_ROW_REL_MAX 1e-5

typedef double (*LossFn)(void *st);

static float *falloc(size_t n)
{
    float *p = nw_alloc((n ? n : 1) * sizeof(float));
    cr_assert_not_null(p);
    memset(p, 0, (n ? n : 1) * sizeof(float));
    return p;
}

static float *fdup(const float *x, size_t n)
{
    float *p = falloc(n);
    memcpy(p, x, n * sizeof(float));
    return p;
}

/* nw_free()s each buffer of the list: FREE_ALL(x, y, ...) at the end of a test. */
static void free_all(float *const *p, size_t n)
{
    for (size_t k = 0; k < n; k++)
        nw_free(p[k]);
}
#define FREE_ALL(...)                                                                                  \
    free_all((float *const[]){__VA_ARGS__}, sizeof((float *const[]){__VA_ARGS__}) / sizeof(float *))

static double dotd(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t k = 0; k < n; k++)
        s += (double)a[k] * b[k];
    return s;
}

/* Central differences of L for each element of in (n) against the analytic gradient an. */
static void fd_check(const char *what, float *in, size_t n, const float *an, LossFn L, void *st)
{
    size_t bad = 0;
    double worst = 0;
    for (size_t k = 0; k < n; k++) {
        const float v = in[k];
        in[k] = (float)(v + FD_H);
        const double hp = (double)in[k] - v, lp = L(st);
        in[k] = (float)(v - FD_H);
        const double hm = (double)v - in[k], lm = L(st);
        in[k] = v;
        const double fd = (lp - lm) / (hp + hm), err = fabs(fd - an[k]);
        const double tol = FD_ATOL + FD_RTOL * fabs(an[k]);
        worst = fmax(worst, err / tol);
        if (err > tol && bad++ < 5)
            cr_log_error("%s [%zu]: finite difference %.6g, gradient %.6g", what, k, fd, an[k]);
    }
    cr_expect_eq(bad, 0, "%s: %zu of %zu gradients off", what, bad, n);
    cr_log_info("%s: worst error %.3g of the tolerance", what, worst);
}

static void check_rel_max(const char *what, const float *got, const float *ref, size_t n, double tol)
{
    double mx = 0;
    for (size_t k = 0; k < n; k++)
        mx = fmax(mx, fabs(ref[k]));
    TCmp c = compare_f32(what, got, ref, n, tol * fmax(mx, 1e-30), 0);
    cr_expect_eq(c.n_bad, 0, "%s: %zu elements off, max err %.3g (max|ref| %.3g)", what, c.n_bad, c.max_err,
                 c.max_ref);
}

static void expect_same(const char *what, const float *a, const float *b, size_t n)
{
    cr_expect(!memcmp(a, b, n * sizeof(float)), "%s: not bit-identical", what);
}

static NwTrainOps ref_ops(void)
{
    NwTrainOps o;
    memset(&o, 0, sizeof(o));
    nw_train_fill_dense_ref(&o);
    return o;
}

static NwTrainOps cpu_ops(void)
{
    NwTrainOps o;
    memset(&o, 0, sizeof(o));
    nw_train_fill_dense_cpu(&o);
    return o;
}

static const NwCtx ctx1 = {1, NULL, 0, NULL, NULL};

/* ---- linear ---------------------------------------------------------------------------------- */

typedef struct LinSt {
    const float *x, *W, *b, *dy;
    int n, i, o;
    float *y;
} LinSt;

static double lin_loss(void *p)
{
    LinSt *s = p;
    NwOps f;
    nw_ops_init_ref(&f);
    f.linear(&ctx1, s->x, s->n, s->i, s->W, s->o, s->b, s->y);
    return dotd(s->dy, s->y, (size_t)s->n * s->o);
}

Test(train_dense, linear_fd)
{
    TRng r = {101};
    const int n = 3, i = 5, o = 4;
    float *x = falloc(n * i), *W = falloc(o * i), *b = falloc(o), *dy = falloc(n * o), *y = falloc(n * o);
    fill_normal(&r, x, n * i, 1.f);
    fill_normal(&r, W, o * i, 1.f);
    fill_normal(&r, b, o, 1.f);
    fill_normal(&r, dy, n * o, 1.f);
    float *dx = falloc(n * i), *dW = falloc(o * i), *db = falloc(o);
    NwTrainOps t = ref_ops();
    t.linear_bwd(&ctx1, x, n, i, W, o, dy, dx, dW, db);
    LinSt s = {x, W, b, dy, n, i, o, y};
    fd_check("linear dx", x, n * i, dx, lin_loss, &s);
    fd_check("linear dW", W, o * i, dW, lin_loss, &s);
    fd_check("linear db", b, o, db, lin_loss, &s);
    FREE_ALL(x, W, b, dy, y, dx, dW, db);
}

/* ---- layer norm ------------------------------------------------------------------------------ */

typedef struct LnSt {
    const float *x, *g, *b, *dy;
    int n, d, stable;
    float eps;
    const float *m0; /* detached max: rows divided by these fixed values, then plain LayerNorm */
    float *y, *xs;
} LnSt;

static double ln_loss(void *p)
{
    LnSt *s = p;
    NwOps f;
    nw_ops_init_ref(&f);
    if (s->m0) {
        for (int i = 0; i < s->n; i++)
            for (int j = 0; j < s->d; j++)
                s->xs[(size_t)i * s->d + j] = s->x[(size_t)i * s->d + j] / s->m0[i];
        f.layer_norm(&ctx1, s->xs, s->y, s->n, s->d, s->g, s->b, s->eps, 0);
    } else {
        f.layer_norm(&ctx1, s->x, s->y, s->n, s->d, s->g, s->b, s->eps, s->stable);
    }
    return dotd(s->dy, s->y, (size_t)s->n * s->d);
}

/* Rows for the stable norm: row 0 all negative (signed max < 0), row 1 with a tied max, the
 * rest random with the max at least 10 steps above the runner-up (so that the +-h steps of the
 * finite differences never change which element is the max). */
static void ln_input(TRng *r, float *x, int n, int d)
{
    fill_normal(r, x, (size_t)n * d, 1.f);
    for (int i = 0; i < n; i++) {
        float *xr = x + (size_t)i * d;
        int am = 0;
        for (int j = 1; j < d; j++)
            if (xr[j] > xr[am])
                am = j;
        if (i == 0)
            for (int j = 0; j < d; j++)
                xr[j] = -1.f - fabsf(xr[j]);
        else
            xr[am] = fabsf(xr[am]) + 0.5f;
        if (i == 0) {
            am = 0;
            for (int j = 1; j < d; j++)
                if (xr[j] > xr[am])
                    am = j;
            xr[am] += 0.05f;
        }
        if (i == 1 && d > 2)
            xr[(am + 2) % d] = xr[am];
    }
}

static void ln_fd_case(int stable, int through_max, float eps, uint64_t seed)
{
    TRng r = {seed};
    const int n = 4, d = 7;
    float *x = falloc(n * d), *g = falloc(d), *b = falloc(d), *dy = falloc(n * d), *y = falloc(n * d);
    float *xs = falloc(n * d), m0[4];
    ln_input(&r, x, n, d);
    fill_normal(&r, g, d, 1.f);
    fill_normal(&r, b, d, 1.f);
    fill_normal(&r, dy, n * d, 1.f);
    for (int i = 0; i < n; i++) {
        m0[i] = -FLT_MAX;
        for (int j = 0; j < d; j++)
            m0[i] = fmaxf(m0[i], x[i * d + j]);
    }
    float *dx = falloc(n * d), *dg = falloc(d), *db = falloc(d);
    nw_layer_norm_bwd_ex_ref(&ctx1, x, n, d, g, eps, stable, dy, dx, dg, db, through_max);
    LnSt s = {x, g, b, dy, n, d, stable, eps, stable && !through_max ? m0 : NULL, y, xs};
    char what[96];
    /* with a tied max (row 1) the forward is not differentiable through the max: skip that
     * row's x there (the tie test covers it) */
    const int from = stable && through_max ? 2 * d : 0;
    if (from) {
        fd_check("layer_norm stable through-max dx (row 0)", x, d, dx, ln_loss, &s);
    }
    snprintf(what, sizeof(what), "layer_norm stable%d max%d eps%g dx", stable, through_max, eps);
    fd_check(what, x + from, (size_t)n * d - from, dx + from, ln_loss, &s);
    snprintf(what, sizeof(what), "layer_norm stable%d max%d eps%g dg", stable, through_max, eps);
    fd_check(what, g, d, dg, ln_loss, &s);
    snprintf(what, sizeof(what), "layer_norm stable%d max%d eps%g db", stable, through_max, eps);
    fd_check(what, b, d, db, ln_loss, &s);
    FREE_ALL(x, g, b, dy, y, xs, dx, dg, db);
}

Test(train_dense, layer_norm_fd)
{
    ln_fd_case(0, 0, 1e-5f, 201);
    ln_fd_case(0, 0, 0.5f, 202);
    /* the slot: max detached as in nuwa-pytorch 0.7.8 (finite differences with the divisor held) */
    ln_fd_case(1, 0, 1e-5f, 203);
    ln_fd_case(1, 0, 0.5f, 204);
    /* max differentiated: eps 0.5 makes the term through the max O(1) (it is ~eps / var) */
    ln_fd_case(1, 1, 0.5f, 205);
    ln_fd_case(1, 1, 1e-5f, 206);
}

/* The max term is visible: through_max and detached differ at eps 0.5 by more than noise. */
Test(train_dense, layer_norm_max_term_matters)
{
    TRng r = {207};
    const int n = 3, d = 6;
    float *x = falloc(n * d), *g = falloc(d), *dy = falloc(n * d), *a = falloc(n * d), *b = falloc(n * d);
    ln_input(&r, x, n, d);
    fill_normal(&r, g, d, 1.f);
    fill_normal(&r, dy, n * d, 1.f);
    nw_layer_norm_bwd_ex_ref(&ctx1, x, n, d, g, 0.5f, 1, dy, a, NULL, NULL, 0);
    nw_layer_norm_bwd_ex_ref(&ctx1, x, n, d, g, 0.5f, 1, dy, b, NULL, NULL, 1);
    double diff = 0;
    for (int k = 0; k < n * d; k++)
        diff = fmax(diff, fabs(a[k] - b[k]));
    cr_expect_gt(diff, 0.05, "the gradient through the max is only %g", diff);
    FREE_ALL(x, g, dy, a, b);
}

/* Tied maxima (autograd's amax splits the gradient evenly among them): the tied gradient equals
 * the mean of the two untied gradients where one or the other element is the max (nudged up by
 * one ulp), up to the float effect of the nudge. */
static void ln_tie_case(int use_cpu)
{
    TRng r = {301};
    const int n = 3, d = 9;
    float *x = falloc(n * d), *g = falloc(d), *dy = falloc(n * d);
    fill_normal(&r, x, n * d, 1.f);
    fill_normal(&r, g, d, 1.f);
    fill_normal(&r, dy, n * d, 1.f);
    /* row i: elements 1 and 4 (and 7 in row 2) tied at the max */
    for (int i = 0; i < n; i++) {
        float *xr = x + i * d;
        xr[1] = xr[4] = 2.5f + (float)i;
        if (i == 2)
            xr[7] = xr[1];
    }
    float *tied = falloc(n * d), *avg = falloc(n * d), *one = falloc(n * d);
    const int ties[3][3] = {{1, 4, -1}, {1, 4, -1}, {1, 4, 7}};
    void (*bwd)(const NwCtx *, const float *, int, int, const float *, float, int, const float *, float *,
                float *, float *, int) = use_cpu ? nw_layer_norm_bwd_ex_cpu : nw_layer_norm_bwd_ex_ref;
    bwd(&ctx1, x, n, d, g, 0.5f, 1, dy, tied, NULL, NULL, 1);
    for (int i = 0; i < n; i++) {
        const int nt = ties[i][2] < 0 ? 2 : 3;
        for (int w = 0; w < nt; w++) {
            float *xn = fdup(x + i * d, d);
            xn[ties[i][w]] = nextafterf(xn[ties[i][w]], INFINITY);
            memset(one, 0, sizeof(float) * d);
            bwd(&ctx1, xn, 1, d, g, 0.5f, 1, dy + i * d, one, NULL, NULL, 1);
            for (int j = 0; j < d; j++)
                avg[i * d + j] += one[j] / nt;
            nw_free(xn);
        }
    }
    TCmp c = compare_f32(use_cpu ? "cpu tie" : "ref tie", tied, avg, n * d, 1e-5, 1e-5);
    cr_expect_eq(c.n_bad, 0, "tied maxima: gradient is not the even split (max err %g)", c.max_err);
    /* and the split matters: giving it all to the first tied element is far off */
    float *first = falloc(n * d);
    for (int i = 0; i < n; i++) {
        float *xn = fdup(x + i * d, d);
        xn[ties[i][0]] = nextafterf(xn[ties[i][0]], INFINITY);
        bwd(&ctx1, xn, 1, d, g, 0.5f, 1, dy + i * d, first + i * d, NULL, NULL, 1);
        nw_free(xn);
    }
    double diff = 0;
    for (int k = 0; k < n * d; k++)
        diff = fmax(diff, fabs(first[k] - tied[k]));
    cr_expect_gt(diff, 1e-2, "tie test cannot tell the split from no split (%g)", diff);
    FREE_ALL(x, g, dy, tied, avg, one, first);
}

Test(train_dense, layer_norm_ties)
{
    ln_tie_case(0);
    ln_tie_case(1);
}

/* ---- GEGLU --------------------------------------------------------------------------------------- */

typedef struct GeSt {
    const float *u, *da;
    int n, f;
    float *a;
} GeSt;

static double ge_loss(void *p)
{
    GeSt *s = p;
    NwOps o;
    nw_ops_init_ref(&o);
    o.geglu(&ctx1, s->u, s->a, s->n, s->f);
    return dotd(s->da, s->a, (size_t)s->n * s->f);
}

Test(train_dense, geglu_fd)
{
    TRng r = {401};
    const int n = 3, f = 5;
    float *u = falloc(n * 2 * f), *da = falloc(n * f), *a = falloc(n * f), *du = falloc(n * 2 * f);
    fill_normal(&r, u, n * 2 * f, 1.5f);
    fill_normal(&r, da, n * f, 1.f);
    NwTrainOps t = ref_ops();
    t.geglu_bwd(&ctx1, u, n, f, da, du);
    GeSt s = {u, da, n, f, a};
    fd_check("geglu du", u, n * 2 * f, du, ge_loss, &s);
    FREE_ALL(u, da, a, du);
}

/* ---- rotary --------------------------------------------------------------------------------------- */

typedef struct RoSt {
    const float *x, *dy, *inv;
    int n, ld, heads, dh, rot, p0;
    float *y;
} RoSt;

static double ro_loss(void *p)
{
    RoSt *s = p;
    NwOps o;
    nw_ops_init_ref(&o);
    memcpy(s->y, s->x, sizeof(float) * s->n * s->ld);
    o.rotary(&ctx1, s->y, s->n, s->ld, s->heads, s->dh, s->rot, s->inv, s->p0);
    return dotd(s->dy, s->y, (size_t)s->n * s->ld);
}

Test(train_dense, rotary_fd)
{
    TRng r = {501};
    const int n = 3, heads = 2, dh = 6, rot = 4, ld = heads * dh + 3, p0 = 5;
    const float inv[2] = {1.f, 0.37f};
    float *x = falloc(n * ld), *dy = falloc(n * ld), *y = falloc(n * ld);
    fill_normal(&r, x, n * ld, 1.f);
    fill_normal(&r, dy, n * ld, 1.f);
    float *dx = fdup(dy, n * ld);
    NwTrainOps t = ref_ops();
    t.rotary_bwd(&ctx1, dx, n, ld, heads, dh, rot, inv, p0);
    RoSt s = {x, dy, inv, n, ld, heads, dh, rot, p0, y};
    fd_check("rotary dx", x, n * ld, dx, ro_loss, &s);
    FREE_ALL(x, dy, y, dx);
}

/* ---- token shift ---------------------------------------------------------------------------------- */

typedef struct TsSt {
    const float *nrm, *dout;
    int n, d, fmap, T;
    float *out;
} TsSt;

static double ts_loss(void *p)
{
    TsSt *s = p;
    NwOps o;
    nw_ops_init_ref(&o);
    o.token_shift(&ctx1, s->nrm, s->n, 0, s->n, s->d, s->fmap, s->T, s->out);
    return dotd(s->dout, s->out, (size_t)s->n * s->d);
}

Test(train_dense, token_shift_fd)
{
    TRng r = {601};
    const int shapes[][4] = {{11, 7, 2, 4}, {14, 9, 3, 9}, {6, 1, 2, 4}, {20, 12, 2, 4}};
    for (int si = 0; si < 4; si++) {
        const int n = shapes[si][0], d = shapes[si][1], fmap = shapes[si][2], T = shapes[si][3];
        float *nrm = falloc(n * d), *dout = falloc(n * d), *out = falloc(n * d), *dn = falloc(n * d);
        fill_normal(&r, nrm, n * d, 1.f);
        fill_normal(&r, dout, n * d, 1.f);
        NwTrainOps t = ref_ops();
        t.token_shift_bwd(&ctx1, dout, n, d, fmap, T, dn);
        TsSt s = {nrm, dout, n, d, fmap, T, out};
        char what[64];
        snprintf(what, sizeof(what), "token_shift n%d d%d fmap%d T%d", n, d, fmap, T);
        fd_check(what, nrm, n * d, dn, ts_loss, &s);
        FREE_ALL(nrm, dout, out, dn);
    }
}

/* ---- embedding ----------------------------------------------------------------------------------- */

typedef struct EmSt {
    const float *table, *add, *dout;
    const int32_t *ids;
    int d, n;
    float *out;
} EmSt;

static double em_loss(void *p)
{
    EmSt *s = p;
    NwOps o;
    nw_ops_init_ref(&o);
    o.embed(&ctx1, s->table, s->d, s->ids, s->n, s->add, s->out, 0);
    return dotd(s->dout, s->out, (size_t)s->n * s->d);
}

Test(train_dense, embed_fd)
{
    TRng r = {701};
    const int V = 5, d = 3, n = 7;
    const int32_t ids[7] = {2, 0, 2, 4, 2, 1, 0}; /* repeats: the gradient sums */
    float *table = falloc(V * d), *add = falloc(n * d), *dout = falloc(n * d), *out = falloc(n * d);
    fill_normal(&r, table, V * d, 1.f);
    fill_normal(&r, add, n * d, 1.f);
    fill_normal(&r, dout, n * d, 1.f);
    float *dt = falloc(V * d), *da = falloc(n * d);
    NwTrainOps t = ref_ops();
    t.embed_bwd(&ctx1, dout, d, ids, n, dt, da);
    EmSt s = {table, add, dout, ids, d, n, out};
    fd_check("embed dtable", table, V * d, dt, em_loss, &s);
    fd_check("embed dadd", add, n * d, da, em_loss, &s);
    /* row 3 (id 3) is never read: its gradient stays exactly 0 */
    for (int j = 0; j < d; j++)
        cr_expect_eq(dt[3 * d + j], 0.f);
    FREE_ALL(table, add, dout, out, dt, da);
}

/* ---- cross entropy -------------------------------------------------------------------------------- */

typedef struct CeSt {
    const float *l;
    const int32_t *t;
    int n, V;
    float *dl;
} CeSt;

static double ce_loss(void *p)
{
    CeSt *s = p;
    NwTrainOps t = ref_ops();
    return t.cross_entropy(&ctx1, s->l, s->n, s->V, s->t, s->dl);
}

Test(train_dense, cross_entropy_fd)
{
    TRng r = {801};
    const int n = 5, V = 7;
    const int32_t tg[5] = {3, -100, 0, 6, 3};
    float *l = falloc(n * V), *dl = falloc(n * V), *scr = falloc(n * V);
    fill_normal(&r, l, n * V, 2.f);
    NwTrainOps t = ref_ops();
    const double loss = t.cross_entropy(&ctx1, l, n, V, tg, dl);
    /* the loss itself, in double: mean of lse - l[t] over the 4 counted rows */
    double want = 0;
    for (int i = 0; i < n; i++) {
        if (tg[i] < 0)
            continue;
        double se = 0;
        for (int j = 0; j < V; j++)
            se += exp((double)l[i * V + j]);
        want += log(se) - l[i * V + tg[i]];
    }
    cr_expect(fabs(loss - want / 4) < 1e-12 * fabs(want), "loss %.17g, want %.17g", loss, want / 4);
    CeSt s = {l, tg, n, V, scr};
    fd_check("cross_entropy dlogits", l, n * V, dl, ce_loss, &s);
    for (int j = 0; j < V; j++)
        cr_expect_eq(dl[V + j], 0.f, "ignored row has a gradient");
    /* all ignored: 0 and zero gradients (torch would give nan) */
    const int32_t none[2] = {-1, -100};
    dl[0] = 1.f;
    cr_expect_eq(t.cross_entropy(&ctx1, l, 2, V, none, dl), 0.0);
    cr_expect_eq(dl[0], 0.f);
    FREE_ALL(l, dl, scr);
}

/* ---- CPU vs reference, threads ------------------------------------------------------------------- */

Test(train_dense, linear_cpu)
{
    TRng r = {901};
    const int shapes[][3] = {{1, 5, 3}, {7, 13, 9}, {33, 300, 17}, {64, 257, 129}, {200, 96, 300}, {5, 1, 1}};
    NwTrainOps R = ref_ops(), C = cpu_ops();
    for (int si = 0; si < 6; si++) {
        const int n = shapes[si][0], i = shapes[si][1], o = shapes[si][2];
        const size_t nx = (size_t)n * i, nW = (size_t)o * i;
        float *x = falloc(nx), *W = falloc(nW), *dy = falloc((size_t)n * o);
        fill_normal(&r, x, nx, 1.f);
        fill_normal(&r, W, nW, 1.f);
        fill_normal(&r, dy, (size_t)n * o, 1.f);
        /* accumulate onto random gradients */
        float *gx0 = falloc(nx), *gW0 = falloc(nW), *gb0 = falloc(o);
        fill_normal(&r, gx0, nx, 1.f);
        fill_normal(&r, gW0, nW, 1.f);
        fill_normal(&r, gb0, o, 1.f);
        float *rx = fdup(gx0, nx), *rW = fdup(gW0, nW), *rb = fdup(gb0, o);
        R.linear_bwd(&ctx1, x, n, i, W, o, dy, rx, rW, rb);
        float *first[3] = {NULL, NULL, NULL};
        for (int th = 1; th <= 2; th++) {
            NwCtx c = {th, NULL, 0, NULL, NULL};
            float *cx = fdup(gx0, nx), *cW = fdup(gW0, nW), *cb = fdup(gb0, o);
            C.linear_bwd(&c, x, n, i, W, o, dy, cx, cW, cb);
            char what[96];
            snprintf(what, sizeof(what), "cpu linear_bwd n%d i%d o%d thr%d", n, i, o, th);
            check_rel_max(what, cx, rx, nx, TOL_GEMM_REL_MAX);
            check_rel_max(what, cW, rW, nW, TOL_GEMM_REL_MAX);
            check_rel_max(what, cb, rb, o, TOL_GEMM_REL_MAX);
            if (th == 1) {
                first[0] = cx;
                first[1] = cW;
                first[2] = cb;
            } else {
                expect_same(what, cx, first[0], nx);
                expect_same(what, cW, first[1], nW);
                expect_same(what, cb, first[2], o);
                FREE_ALL(cx, cW, cb);
            }
        }
        FREE_ALL(x, W, dy, gx0, gW0, gb0, rx, rW, rb, first[0], first[1], first[2]);
    }
}

static void ln_cpu_case(int n, int d, int stable, int through_max, TRng *r)
{
    const size_t N = (size_t)n * d;
    float *x = falloc(N), *g = falloc(d), *dy = falloc(N);
    if (stable)
        ln_input(r, x, n, d);
    else
        fill_normal(r, x, N, 2.f);
    fill_normal(r, g, d, 1.f);
    fill_normal(r, dy, N, 1.f);
    float *rx = falloc(N), *rg = falloc(d), *rb = falloc(d);
    nw_layer_norm_bwd_ex_ref(&ctx1, x, n, d, g, 1e-5f, stable, dy, rx, rg, rb, through_max);
    float *f[3] = {NULL, NULL, NULL};
    for (int th = 1; th <= 2; th++) {
        NwCtx c = {th, NULL, 0, NULL, NULL};
        float *cx = falloc(N), *cg = falloc(d), *cb = falloc(d);
        nw_layer_norm_bwd_ex_cpu(&c, x, n, d, g, 1e-5f, stable, dy, cx, cg, cb, through_max);
        char what[96];
        snprintf(what, sizeof(what), "cpu layer_norm_bwd n%d d%d stable%d max%d thr%d", n, d, stable, through_max,
                 th);
        check_rel_max(what, cx, rx, N, TOL_ROW_REL_MAX);
        check_rel_max(what, cg, rg, d, TOL_ROW_REL_MAX);
        check_rel_max(what, cb, rb, d, TOL_ROW_REL_MAX);
        if (th == 1) {
            f[0] = cx;
            f[1] = cg;
            f[2] = cb;
        } else {
            expect_same(what, cx, f[0], N);
            expect_same(what, cg, f[1], d);
            expect_same(what, cb, f[2], d);
            FREE_ALL(cx, cg, cb);
        }
    }
    FREE_ALL(x, g, dy, rx, rg, rb, f[0], f[1], f[2]);
}

Test(train_dense, layer_norm_cpu)
{
    TRng r = {1001};
    const int shapes[][2] = {{1, 7}, {3, 1}, {5, 13}, {17, 64}, {100, 257}, {301, 96}};
    for (int si = 0; si < 6; si++)
        for (int mode = 0; mode < 3; mode++)
            if (shapes[si][1] > 1 || mode == 0)
                ln_cpu_case(shapes[si][0], shapes[si][1], mode > 0, mode == 2, &r);
    /* the table slot is the detached version */
    NwTrainOps C = cpu_ops(), R = ref_ops();
    const int n = 9, d = 11;
    float *x = falloc(n * d), *g = falloc(d), *dy = falloc(n * d), *a = falloc(n * d), *b = falloc(n * d);
    ln_input(&r, x, n, d);
    fill_normal(&r, g, d, 1.f);
    fill_normal(&r, dy, n * d, 1.f);
    C.layer_norm_bwd(&ctx1, x, n, d, g, 1e-5f, 1, dy, a, NULL, NULL);
    R.layer_norm_bwd(&ctx1, x, n, d, g, 1e-5f, 1, dy, b, NULL, NULL);
    check_rel_max("cpu layer_norm_bwd slot", a, b, n * d, TOL_ROW_REL_MAX);
    memset(b, 0, sizeof(float) * n * d);
    nw_layer_norm_bwd_ex_cpu(&ctx1, x, n, d, g, 1e-5f, 1, dy, b, NULL, NULL, 0);
    expect_same("cpu layer_norm_bwd slot = detached", a, b, n * d);
    FREE_ALL(x, g, dy, a, b);
}

Test(train_dense, geglu_rotary_cpu)
{
    TRng r = {1101};
    NwTrainOps R = ref_ops(), C = cpu_ops();
    const int gs[][2] = {{1, 5}, {3, 17}, {130, 341}, {64, 8}};
    for (int si = 0; si < 4; si++) {
        const int n = gs[si][0], f = gs[si][1];
        const size_t nu = (size_t)n * 2 * f;
        float *u = falloc(nu), *da = falloc((size_t)n * f), *du0 = falloc(nu);
        fill_normal(&r, u, nu, 2.f);
        fill_normal(&r, da, (size_t)n * f, 1.f);
        fill_normal(&r, du0, nu, 1.f);
        float *rd = fdup(du0, nu), *c1 = fdup(du0, nu), *c2 = fdup(du0, nu);
        R.geglu_bwd(&ctx1, u, n, f, da, rd);
        NwCtx t2 = {2, NULL, 0, NULL, NULL};
        C.geglu_bwd(&ctx1, u, n, f, da, c1);
        C.geglu_bwd(&t2, u, n, f, da, c2);
        char what[64];
        snprintf(what, sizeof(what), "cpu geglu_bwd n%d f%d", n, f);
        check_rel_max(what, c1, rd, nu, TOL_ROW_REL_MAX);
        expect_same(what, c1, c2, nu);
        FREE_ALL(u, da, du0, rd, c1, c2);
    }
    const int rs[][5] = {{1, 1, 4, 4, 0}, {5, 3, 10, 6, 7}, {300, 8, 64, 32, 1}, {7, 2, 33, 17, 100}};
    for (int si = 0; si < 4; si++) {
        const int n = rs[si][0], heads = rs[si][1], dh = rs[si][2], rot = rs[si][3], p0 = rs[si][4];
        const int ld = heads * dh + si;
        float inv[512];
        for (int k = 0; k < rot / 2; k++)
            inv[k] = powf(10000.f, -2.f * k / rot);
        const size_t N = (size_t)n * ld;
        float *dy = falloc(N);
        fill_normal(&r, dy, N, 1.f);
        float *rd = fdup(dy, N), *c1 = fdup(dy, N), *c2 = fdup(dy, N);
        R.rotary_bwd(&ctx1, rd, n, ld, heads, dh, rot, inv, p0);
        NwCtx t2 = {2, NULL, 0, NULL, NULL};
        C.rotary_bwd(&ctx1, c1, n, ld, heads, dh, rot, inv, p0);
        C.rotary_bwd(&t2, c2, n, ld, heads, dh, rot, inv, p0);
        char what[64];
        snprintf(what, sizeof(what), "cpu rotary_bwd n%d h%d dh%d rot%d", n, heads, dh, rot);
        check_rel_max(what, c1, rd, N, TOL_ROW_REL_MAX);
        expect_same(what, c1, c2, N);
        /* features past rot and past heads*dh are untouched */
        for (int i = 0; i < n; i++)
            for (int hd = 0; hd < heads; hd++)
                for (int k = rot; k < dh; k++)
                    cr_expect_eq(c1[(size_t)i * ld + hd * dh + k], dy[(size_t)i * ld + hd * dh + k]);
        FREE_ALL(dy, rd, c1, c2);
    }
}

Test(train_dense, cross_entropy_cpu)
{
    TRng r = {1201};
    NwTrainOps R = ref_ops(), C = cpu_ops();
    const int shapes[][2] = {{1, 7}, {3, 1}, {17, 100}, {300, 513}, {1000, 33}};
    for (int si = 0; si < 5; si++) {
        const int n = shapes[si][0], V = shapes[si][1];
        const size_t N = (size_t)n * V;
        float *l = falloc(N);
        int32_t *t = malloc(sizeof(int32_t) * n);
        fill_normal(&r, l, N, 3.f);
        for (int i = 0; i < n; i++)
            t[i] = i % 5 == 3 ? -100 : (int32_t)(trng_next(&r) % V);
        float *rd = falloc(N), *c1 = falloc(N), *c2 = falloc(N);
        const double lr = R.cross_entropy(&ctx1, l, n, V, t, rd);
        NwCtx t2 = {2, NULL, 0, NULL, NULL};
        const double l1 = C.cross_entropy(&ctx1, l, n, V, t, c1), l2 = C.cross_entropy(&t2, l, n, V, t, c2);
        char what[64];
        snprintf(what, sizeof(what), "cpu cross_entropy n%d V%d", n, V);
        /* float exp and sums: a few ulp of the O(1) loss */
        cr_expect(fabs(l1 - lr) <= 1e-6 * fmax(1.0, fabs(lr)), "%s: loss %.9g vs %.9g", what, l1, lr);
        cr_expect(l1 == l2, "%s: loss depends on threads", what);
        check_rel_max(what, c1, rd, N, TOL_ROW_REL_MAX);
        expect_same(what, c1, c2, N);
        FREE_ALL(l, rd, c1, c2);
        free(t);
    }
}

/* ---- accumulation semantics --------------------------------------------------------------------- */

Test(train_dense, accumulate_and_null)
{
    TRng r = {1301};
    NwTrainOps ops[2] = {ref_ops(), cpu_ops()};
    const int n = 6, i = 9, o = 5, d = 9;
    float *x = falloc(n * i), *W = falloc(o * i), *dy = falloc(n * o), *g = falloc(d), *dyl = falloc(n * d);
    fill_normal(&r, x, n * i, 1.f);
    fill_normal(&r, W, o * i, 1.f);
    fill_normal(&r, dy, n * o, 1.f);
    fill_normal(&r, g, d, 1.f);
    fill_normal(&r, dyl, n * d, 1.f);
    for (int k = 0; k < 2; k++) {
        NwTrainOps *t = &ops[k];
        const char *nm = k ? "cpu" : "ref";
        /* linear: once, twice, one gradient at a time */
        float *a[3] = {falloc(n * i), falloc(o * i), falloc(o)}, *b[3] = {falloc(n * i), falloc(o * i), falloc(o)};
        const size_t sz[3] = {(size_t)n * i, (size_t)o * i, (size_t)o};
        t->linear_bwd(&ctx1, x, n, i, W, o, dy, a[0], a[1], a[2]);
        t->linear_bwd(&ctx1, x, n, i, W, o, dy, b[0], b[1], b[2]);
        t->linear_bwd(&ctx1, x, n, i, W, o, dy, b[0], b[1], b[2]);
        for (int q = 0; q < 3; q++) {
            for (size_t e = 0; e < sz[q]; e++)
                a[q][e] *= 2.f;
            TCmp c = compare_f32(nm, b[q], a[q], sz[q], 1e-6, 1e-6);
            cr_expect_eq(c.n_bad, 0, "%s linear_bwd twice != 2x (output %d)", nm, q);
        }
        float *s[3] = {falloc(n * i), falloc(o * i), falloc(o)};
        t->linear_bwd(&ctx1, x, n, i, W, o, dy, s[0], NULL, NULL);
        t->linear_bwd(&ctx1, x, n, i, W, o, dy, NULL, s[1], NULL);
        t->linear_bwd(&ctx1, x, n, i, W, o, dy, NULL, NULL, s[2]);
        for (int q = 0; q < 3; q++) {
            for (size_t e = 0; e < sz[q]; e++)
                a[q][e] *= 0.5f;
            TCmp c = compare_f32(nm, s[q], a[q], sz[q], 1e-6, 1e-6);
            cr_expect_eq(c.n_bad, 0, "%s linear_bwd with NULLs differs (output %d)", nm, q);
        }
        /* layer norm */
        float *l1[3] = {falloc(n * d), falloc(d), falloc(d)}, *l2[3] = {falloc(n * d), falloc(d), falloc(d)};
        const size_t lz[3] = {(size_t)n * d, (size_t)d, (size_t)d};
        t->layer_norm_bwd(&ctx1, x, n, d, g, 1e-5f, 1, dyl, l1[0], l1[1], l1[2]);
        t->layer_norm_bwd(&ctx1, x, n, d, g, 1e-5f, 1, dyl, l2[0], l2[1], l2[2]);
        t->layer_norm_bwd(&ctx1, x, n, d, g, 1e-5f, 1, dyl, l2[0], l2[1], l2[2]);
        float *ls[3] = {falloc(n * d), falloc(d), falloc(d)};
        t->layer_norm_bwd(&ctx1, x, n, d, g, 1e-5f, 1, dyl, ls[0], NULL, NULL);
        t->layer_norm_bwd(&ctx1, x, n, d, g, 1e-5f, 1, dyl, NULL, ls[1], NULL);
        t->layer_norm_bwd(&ctx1, x, n, d, g, 1e-5f, 1, dyl, NULL, NULL, ls[2]);
        for (int q = 0; q < 3; q++) {
            expect_same("layer_norm_bwd with NULLs", ls[q], l1[q], lz[q]);
            for (size_t e = 0; e < lz[q]; e++)
                l1[q][e] *= 2.f;
            TCmp c = compare_f32(nm, l2[q], l1[q], lz[q], 1e-6, 1e-6);
            cr_expect_eq(c.n_bad, 0, "%s layer_norm_bwd twice != 2x (output %d)", nm, q);
        }
        /* geglu, token shift, embed: twice = 2x */
        float *u = fdup(x, 2 * 2 * 4), *g1 = falloc(16), *g2 = falloc(16);
        t->geglu_bwd(&ctx1, u, 2, 4, dy, g1);
        t->geglu_bwd(&ctx1, u, 2, 4, dy, g2);
        t->geglu_bwd(&ctx1, u, 2, 4, dy, g2);
        for (int e = 0; e < 16; e++)
            cr_expect_eq(g2[e], 2.f * g1[e], "%s geglu_bwd twice != 2x", nm);
        float *t1 = falloc(n * d), *t2 = falloc(n * d);
        t->token_shift_bwd(&ctx1, dyl, n, d, 2, 4, t1);
        t->token_shift_bwd(&ctx1, dyl, n, d, 2, 4, t2);
        t->token_shift_bwd(&ctx1, dyl, n, d, 2, 4, t2);
        for (int e = 0; e < n * d; e++)
            cr_expect_eq(t2[e], 2.f * t1[e], "%s token_shift_bwd twice != 2x", nm);
        const int32_t ids[6] = {1, 1, 0, 2, 1, 0};
        float *e1 = falloc(3 * d), *e2 = falloc(3 * d), *ea = falloc(n * d);
        t->embed_bwd(&ctx1, dyl, d, ids, n, e1, NULL);
        t->embed_bwd(&ctx1, dyl, d, ids, n, e2, NULL);
        t->embed_bwd(&ctx1, dyl, d, ids, n, e2, ea);
        /* repeated ids sum in float in row order: twice is 2x up to that rounding */
        for (int e = 0; e < 3 * d; e++)
            e1[e] *= 2.f;
        TCmp ce = compare_f32(nm, e2, e1, 3 * d, 1e-6, 1e-6);
        cr_expect_eq(ce.n_bad, 0, "%s embed_bwd twice != 2x", nm);
        expect_same("embed_bwd dadd", ea, dyl, n * d);
        t->embed_bwd(&ctx1, dyl, d, ids, n, NULL, ea);
        for (int e = 0; e < n * d; e++)
            cr_expect_eq(ea[e], 2.f * dyl[e], "%s embed_bwd dadd twice != 2x", nm);
        FREE_ALL(a[0], a[1], a[2], b[0], b[1], b[2], s[0], s[1], s[2]);
        FREE_ALL(l1[0], l1[1], l1[2], l2[0], l2[1], l2[2], ls[0], ls[1], ls[2]);
        FREE_ALL(u, g1, g2, t1, t2, e1, e2, ea);
    }
    FREE_ALL(x, W, dy, g, dyl);
}

/* ---- AdamW ---------------------------------------------------------------------------------------- */

/* torch's formulas in double (an independent transcription, not the float emulation) */
static void adamw_double(double *p, const double *g, double *m, double *v, size_t n, const NwAdamW *o)
{
    const double lr = o->lr, b1 = o->beta1, b2 = o->beta2, wd = o->weight_decay, eps = o->eps;
    const double bc1 = 1 - pow(b1, (double)o->step), bc2 = 1 - pow(b2, (double)o->step);
    for (size_t k = 0; k < n; k++) {
        p[k] *= 1 - lr * wd;
        m[k] = b1 * m[k] + (1 - b1) * g[k];
        v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k];
        p[k] -= lr / bc1 * m[k] / (sqrt(v[k]) / sqrt(bc2) + eps);
    }
}

/* |a - b| in ulps of `scale` (the largest term that went into b: a float result cannot be
 * closer than half an ulp of its largest term when terms cancel) */
static double ulps(float a, double b, double scale)
{
    const float s = (float)fmax(fabs(scale), fabs(b));
    const double u = fmax(nextafterf(s, INFINITY) - s, FLT_MIN);
    return fabs(a - b) / u;
}

static void adam_case(float wd, uint64_t seed, int64_t step0)
{
    TRng r = {seed};
    const size_t n = 40000; /* > 2 chunks of the cpu version */
    NwAdamW o = {1e-2f, 0.9f, 0.999f, 1e-8f, wd, 0};
    NwTrainOps R = ref_ops(), C = cpu_ops();
    float *p = falloc(n), *m = falloc(n), *v = falloc(n), *g = falloc(n);
    fill_normal(&r, p, n, 1.f);
    double *pd = malloc(n * sizeof(double)), *md = calloc(n, sizeof(double)), *vd = calloc(n, sizeof(double));
    double *gd = malloc(n * sizeof(double)), *p1 = malloc(n * sizeof(double)), *m1 = malloc(n * sizeof(double));
    double *v1 = malloc(n * sizeof(double)), *p_old = malloc(n * sizeof(double));
    double *m_old = malloc(n * sizeof(double));
    float *p_start = fdup(p, n);
    for (size_t k = 0; k < n; k++)
        pd[k] = p[k];
    float *cp = fdup(p, n), *cm = falloc(n), *cv = falloc(n);
    double worst_step = 0, worst_traj = 0, worst_mv = 0;
    for (int s = 1; s <= 10; s++) {
        o.step = step0 + s;
        fill_normal(&r, g, n, s == 3 ? 0.f : 0.5f); /* a step with zero gradients */
        if (s == 5)
            for (size_t k = 0; k < n; k += 7)
                g[k] = 0.f;
        for (size_t k = 0; k < n; k++) {
            gd[k] = g[k];
            p1[k] = p_old[k] = p[k]; /* one double step from the float state */
            m1[k] = m_old[k] = m[k];
            v1[k] = v[k];
        }
        adamw_double(p1, gd, m1, v1, n, &o);
        const double bc1 = 1 - pow(o.beta1, (double)o.step), bc2 = 1 - pow(o.beta2, (double)o.step);
        adamw_double(pd, gd, md, vd, n, &o); /* the double trajectory */
        R.adamw(&ctx1, p, g, m, v, n, &o);
        NwCtx t2 = {2, NULL, 0, NULL, NULL};
        C.adamw(s % 2 ? &t2 : &ctx1, cp, g, cm, cv, n, &o);
        for (size_t k = 0; k < n; k++) {
            /* p's equation alone, from the new float moments (an error of m where its terms
             * cancel would otherwise show up scaled in p) */
            const double pdec = p_old[k] * (1 - (double)o.lr * o.weight_decay);
            const double upd = -(double)o.lr / bc1 * m[k] / (sqrt((double)v[k]) / sqrt(bc2) + o.eps);
            worst_step = fmax(worst_step, ulps(p[k], pdec + upd, fmax(fabs(pdec), fabs(upd))));
            worst_mv = fmax(worst_mv, ulps(m[k], m1[k], fmax(o.beta1 * fabs(m_old[k]), (1 - o.beta1) * fabs(gd[k]))));
            worst_mv = fmax(worst_mv, ulps(v[k], v1[k], v1[k]));
            /* the float trajectory is off by a few ulp of the largest |p| it went through */
            worst_traj = fmax(worst_traj, fabs(p[k] - pd[k]) / fmax(fmax(fabs(p_start[k]), fabs(pd[k])), o.lr));
        }
        expect_same("cpu adamw vs ref", cp, p, n);
        expect_same("cpu adamw m", cm, m, n);
        expect_same("cpu adamw v", cv, v, n);
    }
    cr_log_info("adamw wd %g step0 %lld: one step %.2f ulp (m, v %.2f ulp); 10-step drift %.3g", wd,
                (long long)step0, worst_step, worst_mv, worst_traj);
    /* one step from the same float state, each equation in ulps of its largest term: m and v
     * within 2 ulp (two roundings each); p within 4: torch rounds every Python scalar to float
     * (1 - lr wd, -step_size, bc2_sqrt: half an ulp each) and every tensor op rounds (the decay
     * product, m * step, sqrt, / bc2_sqrt, + eps, the division, the final add) */
    cr_expect_leq(worst_step, 4.0, "adamw: one step %.2f ulp from the double formulas", worst_step);
    cr_expect_leq(worst_mv, 2.0, "adamw: moments %.2f ulp from the double formulas", worst_mv);
    /* 10 steps: the per-step roundings add up: at most ~40 ulp (4 per step, 4.8e-6) of the
     * largest |p| the element went through */
    cr_expect_leq(worst_traj, 5e-6, "adamw: 10 steps drift %.3g from the double trajectory", worst_traj);
    free(pd);
    free(md);
    free(vd);
    free(gd);
    free(p1);
    free(m1);
    free(v1);
    free(p_old);
    free(m_old);
    FREE_ALL(p, m, v, g, p_start, cp, cm, cv);
}

Test(train_dense, adamw)
{
    adam_case(0.01f, 1401, 0);
    adam_case(0.1f, 1402, 1000); /* late steps: the bias corrections are ~1 */
}

/* weight_decay 0 is Adam: no decay factor at all, the update alone (checked against Adam's
 * formulas, which have no decay term) */
Test(train_dense, adamw_wd0_is_adam)
{
    adam_case(0.f, 1403, 0);
    NwTrainOps R = ref_ops();
    float p = 3.f, g = 0.f, m = 0.f, v = 0.f;
    NwAdamW o = {1e-2f, 0.9f, 0.999f, 1e-8f, 0.f, 1};
    R.adamw(&ctx1, &p, &g, &m, &v, 1, &o);
    cr_expect_eq(p, 3.f, "Adam with zero gradient moved the parameter");
    o.weight_decay = 0.5f;
    R.adamw(&ctx1, &p, &g, &m, &v, 1, &o);
    cr_expect_eq(p, 3.f * (float)(1.0 - 0.01f * (double)0.5f), "AdamW decay");
    /* step 1, g = 1: m = 0.1, v = 0.001, m^ = 1, v^ = 1: p -= lr / (1 + eps) */
    p = 1.f;
    g = 1.f;
    m = v = 0.f;
    o.weight_decay = 0.f;
    R.adamw(&ctx1, &p, &g, &m, &v, 1, &o);
    cr_expect(fabsf(p - (1.f - 1e-2f)) <= 1e-7f, "Adam step 1 gave %.9g", p);
}

/* ---- clip_grad_norm -------------------------------------------------------------------------------- */

Test(train_dense, clip_grad_norm)
{
    TRng r = {1501};
    const size_t n = 1001;
    float *g = falloc(n);
    fill_normal(&r, g, n, 1.f);
    double sq = 0;
    for (size_t k = 0; k < n; k++)
        sq += (double)g[k] * g[k];
    float *g0 = fdup(g, n);
    /* below the limit: untouched */
    double norm = nw_clip_grad_norm(g, n, 1e3);
    cr_expect(fabs(norm - sqrt(sq)) <= 1e-12 * sqrt(sq), "norm %.17g vs %.17g", norm, sqrt(sq));
    expect_same("clip below max_norm", g, g0, n);
    /* above: scaled to max_norm / (norm + 1e-6) */
    norm = nw_clip_grad_norm(g, n, 2.0);
    const double coef = 2.0 / (sqrt(sq) + 1e-6);
    double sq2 = 0;
    for (size_t k = 0; k < n; k++) {
        cr_expect(fabs(g[k] - g0[k] * coef) <= 1e-6 * fabs(g0[k]) + 1e-12, "clip [%zu]", k);
        sq2 += (double)g[k] * g[k];
    }
    cr_expect(fabs(sqrt(sq2) - 2.0) < 1e-5, "clipped norm %.9g", sqrt(sq2));
    /* zero gradients: norm 0, nothing changes */
    memset(g, 0, n * sizeof(float));
    cr_expect_eq(nw_clip_grad_norm(g, n, 1.0), 0.0);
    cr_expect_eq(g[0], 0.f);
    FREE_ALL(g, g0);
}

/* Both tables fill every slot (a missing one would be a NULL call in the trainer). */
Test(train_dense, tables_fill_every_slot)
{
    NwTrainOps t[2];
    nw_train_ops_init_ref(&t[0]);
    nw_train_ops_init_cpu(&t[1], nw_cpu_flags());
    for (int k = 0; k < 2; k++) {
        const void *const *slot = (const void *const *)&t[k];
        const size_t n = sizeof(NwTrainOps) / sizeof(void *);
        for (size_t i = 0; i < n; i++)
            cr_expect_not_null(slot[i], "%s table: slot %zu is NULL", k ? "cpu" : "ref", i);
    }
    cr_expect_str_eq(t[0].name, "ref");
    cr_expect_str_eq(t[1].name, "cpu");
}
