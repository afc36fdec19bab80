/*
 * tests/train/attn.c — the training attention ops (train_ops.h: attn_null_fwd/_bwd,
 * attn_3dna_fwd/_bwd):
 *  (a) the reference backward against double-precision central differences of
 *      L = sum(dout * out) through the reference inference forward (ops.h), for every input
 *      that has a gradient, with masks, dilation, several kernels, 1..4 heads, odd dh;
 *  (b) the CPU version against the reference (odd shapes and a realistic layer), bit-identical
 *      for 1, 2 and 3 threads and for both instruction-set variants (generic, AVX2);
 *  (c) the training forward's `out` bit-identical to the inference op of the same table, P
 *      rows summing to 1 with masked keys exactly 0;
 *  (d) accumulation (+=) and NULL gradient pointers, and nothing written past a row.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/train_cpu.h"
#include "internal.h"
#include "ops.h"
#include "ref/ref.h"
#include "ref/train_ref.h"
#include "testutil.h"
#include "tolerances.h"

/* Finite differences: L is computed by the float forward, so the difference quotient carries
 * the forward's rounding noise divided by the step: one perturbed input changes at most n*inner
 * outputs, each rounded to float (~6e-8 relative, O(1) values, |dout| ~ 1), so the noise in
 * (L+ - L-) is ~ sqrt(n*inner) * 1e-7 <= 3e-6 for our shapes and the quotient's noise
 * <= 3e-6 / 2e-3 = 1.5e-3 (measured worst over these cases: 8e-4); truncation (h^2 f''' / 6)
 * is ~1e-7. FD_ATOL covers that with a margin; FD_RTOL allows for the float rounding of large
 * gradients (|g| ~ 10). A wrong term (a missing transpose of th, a forgotten mask, a missing
 * scale, a wrong column) changes gradients by O(0.1 .. 1), far above the bound. */
#define FD_STEP 1e-3
#define FD_ATOL 3e-3
#define FD_RTOL 1e-3

/* CPU vs reference: float sums of up to n * K products in another order than the reference's
 * double sums, and the softmax backward's cancellation dP - sum P dP; relative to the tensor's
 * max, ~K * 2^-24 * (a few); 1e-4 leaves a margin, indexing bugs give O(1). */
#define TOL_TRAIN_ATTN_REL_MAX 1e-4

static float *falloc(size_t n)
{
    float *p = nw_alloc((n ? n : 1) * sizeof(float));
    cr_assert_not_null(p);
    return p;
}

static float *fzero(size_t n)
{
    float *p = falloc(n);
    memset(p, 0, (n ? n : 1) * sizeof(float));
    return p;
}

static NwCtx make_ctx(size_t scratch, int threads)
{
    NwCtx c = {threads, falloc(scratch + 16), scratch + 16, NULL, NULL};
    return c;
}

static void expect_bits(const char *what, const float *got, const float *want, size_t n)
{
    if (!memcmp(got, want, n * sizeof(float)))
        return;
    TCmp c = compare_f32(what, got, want, n, 0, 0);
    cr_expect(0, "%s: not bit-identical (%zu elements differ, max err %.3g)", what, c.n_bad, c.max_err);
}

static void check_rel_max(const char *what, const float *got, const float *ref, size_t n, double tol)
{
    double mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(ref[i]));
    TCmp c = compare_f32(what, got, ref, n, tol * fmax(mx, 1e-30), 0);
    cr_expect_eq(c.n_bad, 0, "%s: %zu elements off, max err %.3g (max|ref| %.3g)", what, c.n_bad, c.max_err,
                 c.max_ref);
}

/* ---- problems: inputs, dout and gradients of one call ---- */

/* attn_null: q (n, ldq); k and v interleaved in kv (m, ldk), v at + inner, as the model's
 * fused projections are; gradients in the same layouts. */
typedef struct NullProb {
    int n, m, h, dh, inner, ldq, ldk, ldo;
    float scale;
    float *q, *kv, *nk, *nv, *th, *dout;
    uint8_t *keep; /* NULL: all keys */
    float *dq, *dkv, *dnk, *dnv, *dth;
} NullProb;

static void null_init(NullProb *p, TRng *r, int n, int m, int h, int dh, int mask)
{
    memset(p, 0, sizeof(*p));
    p->n = n, p->m = m, p->h = h, p->dh = dh, p->inner = h * dh;
    p->ldq = p->inner + 3, p->ldk = 2 * p->inner + 1, p->ldo = p->inner + 2;
    p->scale = 0.37f;
    p->q = falloc((size_t)n * p->ldq), p->kv = falloc((size_t)m * p->ldk);
    p->nk = falloc(p->inner), p->nv = falloc(p->inner), p->th = falloc((size_t)h * h);
    p->dout = falloc((size_t)n * p->ldo);
    fill_normal(r, p->q, (size_t)n * p->ldq, 1.f);
    fill_normal(r, p->kv, (size_t)m * p->ldk, 1.f);
    fill_normal(r, p->nk, p->inner, 1.f);
    fill_normal(r, p->nv, p->inner, 1.f);
    fill_normal(r, p->th, (size_t)h * h, 0.5f);
    for (int i = 0; i < h; i++)
        p->th[i * h + i] += 1.f; /* near the identity, as initialised in the model */
    fill_normal(r, p->dout, (size_t)n * p->ldo, 1.f);
    if (mask) {
        p->keep = malloc(m);
        for (int j = 0; j < m; j++)
            p->keep[j] = mask == 2 ? 0 : (j % 3) != 1;
    }
    p->dq = fzero((size_t)n * p->ldq), p->dkv = fzero((size_t)m * p->ldk);
    p->dnk = fzero(p->inner), p->dnv = fzero(p->inner), p->dth = fzero((size_t)h * h);
}

static void null_free(NullProb *p)
{
    float *bufs[] = {p->q, p->kv, p->nk, p->nv, p->th, p->dout, p->dq, p->dkv, p->dnk, p->dnv, p->dth};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        nw_free(bufs[i]);
    free(p->keep);
}

/* 3DNA over a whole sequence: tokens 0 .. cap-1 in kv (cap, ldkv), queries t0 .. t0+n-1. */
typedef struct DnaProb {
    NwDna g;
    int t0, n, h, dh, inner, K, ldq, ldkv, ldo, use_bias;
    float scale;
    float *q, *kv, *bos, *bias, *th, *dout;
    float *dq, *dkv, *dbos, *dbias, *dth;
} DnaProb;

static void dna_init(DnaProb *p, TRng *r, int kf, int kh, int kw, int dil, int fmap, int t0, int n, int extra,
                     int h, int dh, int use_bias)
{
    memset(p, 0, sizeof(*p));
    const NwDna g = {kf, kh, kw, dil, fmap, fmap * fmap, t0 + n + extra};
    p->g = g;
    p->t0 = t0, p->n = n, p->h = h, p->dh = dh, p->inner = h * dh, p->K = kf * kh * kw;
    p->ldq = p->inner + 1, p->ldkv = 2 * p->inner + 3, p->ldo = p->inner + 2, p->use_bias = use_bias;
    p->scale = 0.41f;
    const int cap = g.cap;
    p->q = falloc((size_t)n * p->ldq), p->kv = falloc((size_t)cap * p->ldkv), p->bos = falloc(2 * p->inner);
    p->bias = falloc((size_t)p->K * h), p->th = falloc((size_t)h * h), p->dout = falloc((size_t)n * p->ldo);
    fill_normal(r, p->q, (size_t)n * p->ldq, 1.f);
    fill_normal(r, p->kv, (size_t)cap * p->ldkv, 1.f);
    fill_normal(r, p->bos, 2 * p->inner, 1.f);
    fill_normal(r, p->bias, (size_t)p->K * h, 0.5f);
    fill_normal(r, p->th, (size_t)h * h, 0.5f);
    for (int i = 0; i < h; i++)
        p->th[i * h + i] += 1.f;
    fill_normal(r, p->dout, (size_t)n * p->ldo, 1.f);
    p->dq = fzero((size_t)n * p->ldq), p->dkv = fzero((size_t)cap * p->ldkv), p->dbos = fzero(2 * p->inner);
    p->dbias = fzero((size_t)p->K * h), p->dth = fzero((size_t)h * h);
}

static void dna_free(DnaProb *p)
{
    float *bufs[] = {p->q, p->kv, p->bos, p->bias, p->th, p->dout, p->dq, p->dkv, p->dbos, p->dbias, p->dth};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        nw_free(bufs[i]);
}

/* ---- calls ---- */

static double dot_loss(const float *out, const float *dout, int n, int inner, int ldo)
{
    double L = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < inner; c++)
            L += (double)dout[(size_t)i * ldo + c] * out[(size_t)i * ldo + c];
    return L;
}

/* L through the inference op of `ops` */
static double null_loss(const NwOps *ops, const NullProb *p)
{
    NwCtx c = make_ctx(ops->attn_null_scratch(p->n, p->m, p->h, 1), 1);
    float *out = fzero((size_t)p->n * p->ldo);
    ops->attn_null(&c, p->q, p->ldq, p->kv, p->ldk, p->kv + p->inner, p->ldk, p->n, p->m, p->h, p->dh, p->nk,
                   p->nv, p->keep, p->th, p->scale, out, p->ldo);
    const double L = dot_loss(out, p->dout, p->n, p->inner, p->ldo);
    nw_free(out);
    nw_free(c.scratch);
    return L;
}

static double dna_loss(const NwOps *ops, const DnaProb *p)
{
    NwCtx c = make_ctx(ops->attn_3dna_scratch(&p->g, p->n, p->h, 1), 1);
    float *out = fzero((size_t)p->n * p->ldo);
    ops->attn_3dna(&c, &p->g, p->t0, p->q, p->ldq, p->kv, p->kv + p->inner, p->ldkv, p->bos, p->bos + p->inner,
                   p->n, p->h, p->dh, p->use_bias ? p->bias : NULL, p->th, p->scale, out, p->ldo);
    const double L = dot_loss(out, p->dout, p->n, p->inner, p->ldo);
    nw_free(out);
    nw_free(c.scratch);
    return L;
}

/* Training forward into out (n, ldo) and P, then the backward into p's gradients. */
static void null_fwd(const NwTrainOps *t, const NullProb *p, int threads, float *out, float *P)
{
    NwCtx c = make_ctx(0, threads);
    t->attn_null_fwd(&c, p->q, p->ldq, p->kv, p->ldk, p->kv + p->inner, p->ldk, p->n, p->m, p->h, p->dh, p->nk,
                     p->nv, p->keep, p->th, p->scale, out, p->ldo, P);
    nw_free(c.scratch);
}

/* which: bit mask of the gradients wanted (1 dq, 2 dk, 4 dv, 8 dnull_k, 16 dnull_v, 32 dth) */
static void null_bwd(const NwTrainOps *t, NullProb *p, int threads, const float *P, unsigned which)
{
    NwCtx c = make_ctx(t->attn_null_bwd_scratch(p->n, p->m, p->h, threads), threads);
    t->attn_null_bwd(&c, p->q, p->ldq, p->kv, p->ldk, p->kv + p->inner, p->ldk, p->n, p->m, p->h, p->dh, p->nk,
                     p->nv, p->th, p->scale, P, p->dout, p->ldo, which & 1 ? p->dq : NULL,
                     which & 2 ? p->dkv : NULL, which & 4 ? p->dkv + p->inner : NULL, which & 8 ? p->dnk : NULL,
                     which & 16 ? p->dnv : NULL, which & 32 ? p->dth : NULL);
    nw_free(c.scratch);
}

static void dna_fwd(const NwTrainOps *t, const DnaProb *p, int threads, float *out, float *P)
{
    NwCtx c = make_ctx(t->attn_3dna_fwd_scratch(&p->g, p->n, p->h, threads), threads);
    t->attn_3dna_fwd(&c, &p->g, p->t0, p->q, p->ldq, p->kv, p->kv + p->inner, p->ldkv, p->bos, p->bos + p->inner,
                     p->n, p->h, p->dh, p->use_bias ? p->bias : NULL, p->th, p->scale, out, p->ldo, P);
    nw_free(c.scratch);
}

/* which: 1 dq, 2 dk, 4 dv, 8 dkbos, 16 dvbos, 32 dth, 64 dbias */
static void dna_bwd(const NwTrainOps *t, DnaProb *p, int threads, const float *P, unsigned which)
{
    NwCtx c = make_ctx(t->attn_3dna_bwd_scratch(&p->g, p->n, p->h, threads), threads);
    t->attn_3dna_bwd(&c, &p->g, p->t0, p->q, p->ldq, p->kv, p->kv + p->inner, p->ldkv, p->bos, p->bos + p->inner,
                     p->n, p->h, p->dh, p->use_bias ? p->bias : NULL, p->th, p->scale, P, p->dout, p->ldo,
                     which & 1 ? p->dq : NULL, which & 2 ? p->dkv : NULL, which & 4 ? p->dkv + p->inner : NULL,
                     which & 8 ? p->dbos : NULL, which & 16 ? p->dbos + p->inner : NULL, which & 64 ? p->dbias : NULL,
                     which & 32 ? p->dth : NULL);
    nw_free(c.scratch);
}

static NwTrainOps ref_table(void)
{
    NwTrainOps t;
    memset(&t, 0, sizeof(t));
    t.name = "ref";
    nw_train_fill_attn_ref(&t);
    return t;
}

/* The CPU table of one instruction-set variant (flags: NW_CPU_*). */
static NwTrainOps cpu_table(unsigned flags)
{
    NwTrainOps t = ref_table();
    t.name = flags & NW_CPU_AVX2 ? "cpu-avx2" : "cpu-generic";
    nw_train_fill_attn_cpu(&t, flags);
    return t;
}

/* The CPU variants this CPU runs: the generic build, and AVX2 where available. They must give
 * the same bits (the same float operations in the same order). */
static int cpu_tables(NwTrainOps t[2])
{
    int k = 0;
    t[k++] = cpu_table(0);
    if (nw_cpu_flags() & NW_CPU_AVX2)
        t[k++] = cpu_table(NW_CPU_AVX2);
    return k;
}

/* ---- (a) finite differences ---- */

typedef double (*LossFn)(const NwOps *ops, const void *p);
static double null_loss_v(const NwOps *ops, const void *p)
{
    return null_loss(ops, p);
}
static double dna_loss_v(const NwOps *ops, const void *p)
{
    return dna_loss(ops, p);
}

/* Central differences over the rows x w elements of x (row stride ld) against the analytic
 * gradient g (same layout). The step actually taken is the float difference (xp - xm). */
static void fd_check(const char *what, const NwOps *ops, LossFn loss, const void *p, float *x, const float *g,
                     int rows, int w, int ld)
{
    size_t bad = 0;
    double worst = 0, worst_fd = 0, worst_an = 0;
    for (int i = 0; i < rows; i++)
        for (int c = 0; c < w; c++) {
            float *e = x + (size_t)i * ld + c;
            const float x0 = *e, xp = (float)(x0 + FD_STEP), xm = (float)(x0 - FD_STEP);
            *e = xp;
            const double lp = loss(ops, p);
            *e = xm;
            const double lm = loss(ops, p);
            *e = x0;
            const double fd = (lp - lm) / ((double)xp - xm), an = g[(size_t)i * ld + c];
            const double err = fabs(fd - an);
            if (err > FD_ATOL + FD_RTOL * fabs(fd))
                bad++;
            if (err > worst)
                worst = err, worst_fd = fd, worst_an = an;
        }
    cr_expect_eq(bad, 0, "%s: %zu of %d gradients off, worst |fd - analytic| %.3g (fd %.5g, analytic %.5g)", what,
                 bad, rows * w, worst, worst_fd, worst_an);
}

Test(train_attn, null_fd)
{
    NwOps ops;
    nw_ops_init_ref(&ops);
    const NwTrainOps t = ref_table();
    TRng r = {101};
    /* n, m, heads, dh, mask (0 none, 1 keep with zeros, 2 keep all zero: only the null key) */
    const int cases[][5] = {{1, 1, 1, 1, 0}, {4, 5, 3, 5, 1}, {3, 6, 2, 3, 2}, {5, 3, 4, 3, 0}, {2, 7, 1, 7, 1},
                            {3, 4, 2, 2, 1}};
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        const int *cs = cases[ci];
        NullProb p;
        null_init(&p, &r, cs[0], cs[1], cs[2], cs[3], cs[4]);
        float *out = falloc((size_t)p.n * p.ldo), *P = falloc((size_t)p.n * p.h * (p.m + 1));
        null_fwd(&t, &p, 1, out, P);
        null_bwd(&t, &p, 1, P, ~0u);
        char what[128];
#define NULL_FD(name, x, g, rows, w, ld)                                                                              \
    snprintf(what, sizeof(what), "attn_null n%d m%d h%d dh%d mask%d d%s", p.n, p.m, p.h, p.dh, cs[4], name);          \
    fd_check(what, &ops, null_loss_v, &p, x, g, rows, w, ld)
        NULL_FD("q", p.q, p.dq, p.n, p.inner, p.ldq);
        NULL_FD("k", p.kv, p.dkv, p.m, p.inner, p.ldk);
        NULL_FD("v", p.kv + p.inner, p.dkv + p.inner, p.m, p.inner, p.ldk);
        NULL_FD("null_k", p.nk, p.dnk, 1, p.inner, p.inner);
        NULL_FD("null_v", p.nv, p.dnv, 1, p.inner, p.inner);
        NULL_FD("th", p.th, p.dth, p.h, p.h, p.h);
#undef NULL_FD
        nw_free(out);
        nw_free(P);
        null_free(&p);
    }
}

Test(train_attn, dna_fd)
{
    NwOps ops;
    nw_ops_init_ref(&ops);
    const NwTrainOps t = ref_table();
    TRng r = {102};
    /* kf kh kw dil fmap t0 n extra heads dh bias: the whole sequence (t0 = 0) meets every frame,
     * row and column edge; t0 > 0 with keys before it; extra: tokens after the queries */
    const int cases[][11] = {{1, 1, 1, 1, 2, 0, 8, 0, 1, 3, 1},  {3, 3, 3, 1, 3, 0, 27, 0, 2, 3, 1},
                             {1, 3, 3, 2, 4, 3, 13, 2, 3, 5, 1}, {3, 3, 3, 2, 4, 0, 48, 0, 4, 1, 1},
                             {3, 3, 3, 1, 3, 10, 8, 1, 2, 2, 0}, {2, 1, 3, 1, 3, 4, 9, 0, 1, 4, 1}};
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        const int *cs = cases[ci];
        DnaProb p;
        dna_init(&p, &r, cs[0], cs[1], cs[2], cs[3], cs[4], cs[5], cs[6], cs[7], cs[8], cs[9], cs[10]);
        float *out = falloc((size_t)p.n * p.ldo), *P = falloc((size_t)p.n * p.h * (p.K + 1));
        dna_fwd(&t, &p, 1, out, P);
        dna_bwd(&t, &p, 1, P, ~0u);
        char what[160];
#define DNA_FD(name, x, g, rows, w, ld)                                                                               \
    snprintf(what, sizeof(what), "attn_3dna k%dx%dx%d dil%d fmap%d t0=%d n%d h%d dh%d bias%d d%s", cs[0], cs[1],     \
             cs[2], cs[3], cs[4], p.t0, p.n, p.h, p.dh, p.use_bias, name);                                            \
    fd_check(what, &ops, dna_loss_v, &p, x, g, rows, w, ld)
        DNA_FD("q", p.q, p.dq, p.n, p.inner, p.ldq);
        DNA_FD("k", p.kv, p.dkv, p.g.cap, p.inner, p.ldkv);
        DNA_FD("v", p.kv + p.inner, p.dkv + p.inner, p.g.cap, p.inner, p.ldkv);
        DNA_FD("kbos", p.bos, p.dbos, 1, p.inner, p.inner);
        DNA_FD("vbos", p.bos + p.inner, p.dbos + p.inner, 1, p.inner, p.inner);
        DNA_FD("th", p.th, p.dth, p.h, p.h, p.h);
        if (p.use_bias) {
            DNA_FD("bias", p.bias, p.dbias, p.K, p.h, p.h);
        } else {
            for (int i = 0; i < p.K * p.h; i++)
                cr_expect_eq(p.dbias[i], 0.f, "%s: dbias written without a bias", what);
        }
#undef DNA_FD
        nw_free(out);
        nw_free(P);
        dna_free(&p);
    }
}

/* ---- gradient regions of a problem (for comparisons, zeroing and the NULL-pointer test) ---- */

typedef struct Region {
    const char *name;
    float *g;
    int rows, w, ld;
    unsigned bit; /* the `which` bit of null_bwd / dna_bwd */
} Region;

/* The gradient buffers (whole, padding included) and their regions. */
typedef struct Grads {
    float *buf[5];
    size_t len[5];
    int nbuf;
    Region reg[7];
    int nreg;
} Grads;

static Grads null_grads(NullProb *p)
{
    Grads g = {{p->dq, p->dkv, p->dnk, p->dnv, p->dth},
               {(size_t)p->n * p->ldq, (size_t)p->m * p->ldk, p->inner, p->inner, (size_t)p->h * p->h},
               5,
               {{"dq", p->dq, p->n, p->inner, p->ldq, 1},
                {"dk", p->dkv, p->m, p->inner, p->ldk, 2},
                {"dv", p->dkv + p->inner, p->m, p->inner, p->ldk, 4},
                {"dnull_k", p->dnk, 1, p->inner, p->inner, 8},
                {"dnull_v", p->dnv, 1, p->inner, p->inner, 16},
                {"dth", p->dth, p->h, p->h, p->h, 32}},
               6};
    return g;
}

static Grads dna_grads(DnaProb *p)
{
    Grads g = {{p->dq, p->dkv, p->dbos, p->dbias, p->dth},
               {(size_t)p->n * p->ldq, (size_t)p->g.cap * p->ldkv, 2 * p->inner, (size_t)p->K * p->h,
                (size_t)p->h * p->h},
               5,
               {{"dq", p->dq, p->n, p->inner, p->ldq, 1},
                {"dk", p->dkv, p->g.cap, p->inner, p->ldkv, 2},
                {"dv", p->dkv + p->inner, p->g.cap, p->inner, p->ldkv, 4},
                {"dkbos", p->dbos, 1, p->inner, p->inner, 8},
                {"dvbos", p->dbos + p->inner, 1, p->inner, p->inner, 16},
                {"dth", p->dth, p->h, p->h, p->h, 32},
                {"dbias", p->dbias, p->K, p->h, p->h, 64}},
               7};
    return g;
}

static void grads_zero(const Grads *g)
{
    for (int b = 0; b < g->nbuf; b++)
        memset(g->buf[b], 0, g->len[b] * sizeof(float));
}

/* A copy of every gradient buffer, concatenated (nw_free). */
static float *grads_save(const Grads *g, size_t *total)
{
    size_t t = 0;
    for (int b = 0; b < g->nbuf; b++)
        t += g->len[b];
    float *s = falloc(t);
    t = 0;
    for (int b = 0; b < g->nbuf; b++) {
        memcpy(s + t, g->buf[b], g->len[b] * sizeof(float));
        t += g->len[b];
    }
    *total = t;
    return s;
}

/* region r of a saved copy, contiguous */
static void region_of(const Grads *g, const float *saved, int r, float *dst)
{
    size_t off = 0;
    const Region *R = &g->reg[r];
    for (int b = 0; b < g->nbuf; b++) {
        if (R->g >= g->buf[b] && R->g < g->buf[b] + g->len[b]) {
            off += (size_t)(R->g - g->buf[b]);
            break;
        }
        off += g->len[b];
    }
    for (int i = 0; i < R->rows; i++)
        memcpy(dst + (size_t)i * R->w, saved + off + (size_t)i * R->ld, sizeof(float) * R->w);
}

/* Every region of `got` against `want` (saved copies) within TOL_TRAIN_ATTN_REL_MAX. */
static void grads_close(const char *what, const Grads *g, const float *got, const float *want)
{
    for (int r = 0; r < g->nreg; r++) {
        const Region *R = &g->reg[r];
        const size_t len = (size_t)R->rows * R->w;
        float *a = falloc(len), *b = falloc(len);
        region_of(g, got, r, a);
        region_of(g, want, r, b);
        char w2[200];
        snprintf(w2, sizeof(w2), "%s %s", what, R->name);
        check_rel_max(w2, a, b, len, TOL_TRAIN_ATTN_REL_MAX);
        nw_free(a);
        nw_free(b);
    }
}

/* ---- (b) CPU vs reference, thread independence ---- */

static const int null_shapes[][5] = {
    /* n, m, heads, dh, mask */
    {1, 1, 1, 1, 0}, {7, 5, 3, 5, 1}, {33, 9, 2, 7, 2}, {6, 3, 4, 3, 0}, {5, 40, 3, 17, 1},
    {20, 7, 2, 64, 1},  {64, 16, 4, 32, 1}, /* realistic: 64 video tokens reading 16 text tokens */
};
static const int dna_shapes[][11] = {
    /* kf kh kw dil fmap t0 n extra heads dh bias */
    {1, 1, 1, 1, 3, 0, 9, 0, 1, 3, 1},   {1, 3, 3, 2, 5, 7, 30, 3, 3, 5, 1}, {3, 3, 3, 2, 4, 0, 48, 0, 2, 9, 1},
    {5, 1, 1, 1, 3, 2, 20, 1, 1, 8, 0},  {3, 3, 3, 1, 4, 5, 7, 0, 4, 33, 1}, {3, 3, 3, 1, 4, 0, 40, 0, 2, 64, 0},
    {3, 3, 3, 1, 8, 128, 64, 0, 4, 32, 1}, /* realistic: the 64 tokens of the third 8x8 frame, K = 27 */
};

/* P of the reference and the CPU, out, and each thread count's gradients bit for bit. */
Test(train_attn, null_cpu_vs_ref)
{
    const NwTrainOps tr = ref_table();
    NwTrainOps tcs[2];
    const int nv = cpu_tables(tcs);
    TRng r = {103};
    for (size_t si = 0; si < sizeof(null_shapes) / sizeof(null_shapes[0]); si++) {
        const int *s = null_shapes[si];
        NullProb p;
        null_init(&p, &r, s[0], s[1], s[2], s[3], s[4]);
        const Grads g = null_grads(&p);
        const size_t no = (size_t)p.n * p.ldo, np = (size_t)p.n * p.h * (p.m + 1);
        float *out_r = fzero(no), *P_r = fzero(np), *out_c = fzero(no), *P_c = fzero(np);
        float *out_1 = fzero(no), *P_1 = fzero(np), *g_1 = NULL;
        size_t ng;
        null_fwd(&tr, &p, 1, out_r, P_r);
        null_bwd(&tr, &p, 1, P_r, ~0u);
        float *g_r = grads_save(&g, &ng);
        for (int run = 0; run < 3 * nv; run++) {
            /* every variant and thread count: bit-identical to the first (generic, 1 thread) */
            const NwTrainOps *tc = &tcs[run / 3];
            const int thr = 1 + run % 3;
            char what[128];
            snprintf(what, sizeof(what), "%s attn_null n%d m%d h%d dh%d mask%d thr%d", tc->name, p.n, p.m, p.h, p.dh,
                     s[4], thr);
            grads_zero(&g);
            null_fwd(tc, &p, thr, out_c, P_c);
            null_bwd(tc, &p, thr, P_c, ~0u);
            float *g_c = grads_save(&g, &ng);
            check_rel_max(what, out_c, out_r, no, TOL_TRAIN_ATTN_REL_MAX);
            check_rel_max(what, P_c, P_r, np, TOL_TRAIN_ATTN_REL_MAX);
            grads_close(what, &g, g_c, g_r);
            if (run == 0) {
                memcpy(out_1, out_c, no * sizeof(float));
                memcpy(P_1, P_c, np * sizeof(float));
                g_1 = g_c;
            } else {
                expect_bits(what, out_c, out_1, no);
                expect_bits(what, P_c, P_1, np);
                expect_bits(what, g_c, g_1, ng);
                nw_free(g_c);
            }
        }
        nw_free(g_1);
        nw_free(g_r);
        float *bufs[] = {out_r, P_r, out_c, P_c, out_1, P_1};
        for (size_t i = 0; i < 6; i++)
            nw_free(bufs[i]);
        null_free(&p);
    }
}

Test(train_attn, dna_cpu_vs_ref)
{
    const NwTrainOps tr = ref_table();
    NwTrainOps tcs[2];
    const int nv = cpu_tables(tcs);
    TRng r = {104};
    for (size_t si = 0; si < sizeof(dna_shapes) / sizeof(dna_shapes[0]); si++) {
        const int *s = dna_shapes[si];
        DnaProb p;
        dna_init(&p, &r, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10]);
        const Grads g = dna_grads(&p);
        const size_t no = (size_t)p.n * p.ldo, np = (size_t)p.n * p.h * (p.K + 1);
        float *out_r = fzero(no), *P_r = fzero(np), *out_c = fzero(no), *P_c = fzero(np);
        float *out_1 = fzero(no), *P_1 = fzero(np), *g_1 = NULL;
        size_t ng;
        dna_fwd(&tr, &p, 1, out_r, P_r);
        dna_bwd(&tr, &p, 1, P_r, ~0u);
        float *g_r = grads_save(&g, &ng);
        for (int run = 0; run < 3 * nv; run++) {
            /* every variant and thread count: bit-identical to the first (generic, 1 thread) */
            const NwTrainOps *tc = &tcs[run / 3];
            const int thr = 1 + run % 3;
            char what[160];
            snprintf(what, sizeof(what), "%s attn_3dna k%dx%dx%d dil%d fmap%d t0=%d n%d h%d dh%d bias%d thr%d",
                     tc->name, s[0], s[1], s[2], s[3], s[4], p.t0, p.n, p.h, p.dh, p.use_bias, thr);
            grads_zero(&g);
            dna_fwd(tc, &p, thr, out_c, P_c);
            dna_bwd(tc, &p, thr, P_c, ~0u);
            float *g_c = grads_save(&g, &ng);
            check_rel_max(what, out_c, out_r, no, TOL_TRAIN_ATTN_REL_MAX);
            check_rel_max(what, P_c, P_r, np, TOL_TRAIN_ATTN_REL_MAX);
            grads_close(what, &g, g_c, g_r);
            if (run == 0) {
                memcpy(out_1, out_c, no * sizeof(float));
                memcpy(P_1, P_c, np * sizeof(float));
                g_1 = g_c;
            } else {
                expect_bits(what, out_c, out_1, no);
                expect_bits(what, P_c, P_1, np);
                expect_bits(what, g_c, g_1, ng);
                nw_free(g_c);
            }
        }
        nw_free(g_1);
        nw_free(g_r);
        float *bufs[] = {out_r, P_r, out_c, P_c, out_1, P_1};
        for (size_t i = 0; i < 6; i++)
            nw_free(bufs[i]);
        dna_free(&p);
    }
}

/* ---- (c) the training forward against the inference op of the same table ---- */

/* P rows sum to 1 (float probabilities: within nt * 2^-24 of it) and masked keys are exactly
 * 0; masked(i, j) for key column j >= 1 of query i. */
static void check_P(const char *what, const float *P, int n, int h, int nt, const uint8_t *keep, const int32_t *idx)
{
    size_t bad_sum = 0, bad_mask = 0;
    for (int i = 0; i < n; i++)
        for (int hd = 0; hd < h; hd++) {
            const float *pr = P + ((size_t)i * h + hd) * nt;
            double s = 0;
            for (int j = 0; j < nt; j++) {
                s += pr[j];
                const int masked = j && ((keep && !keep[j - 1]) || (idx && idx[(size_t)i * (nt - 1) + j - 1] < 0));
                if (masked && pr[j] != 0.f)
                    bad_mask++;
                if (!(pr[j] >= 0.f))
                    bad_sum++;
            }
            if (fabs(s - 1.0) > 1e-6 * nt)
                bad_sum++;
        }
    cr_expect_eq(bad_sum, 0, "%s: %zu P rows do not sum to 1", what, bad_sum);
    cr_expect_eq(bad_mask, 0, "%s: %zu masked probabilities are not 0", what, bad_mask);
}

/* The ldo padding after each out row: still the sentinel. */
static int pad_intact(const float *out, int n, int inner, int ldo)
{
    for (int i = 0; i < n; i++)
        for (int c = inner; c < ldo; c++) {
            uint32_t bits;
            memcpy(&bits, out + (size_t)i * ldo + c, 4);
            if (bits != 0xffffffffu)
                return 0;
        }
    return 1;
}

/* The inference tables: the reference, and the CPU table of each instruction set this CPU runs
 * (the training table is compiled once and must match both). */
static int inference_tables(NwOps o[3], const char *names[3])
{
    int k = 0;
    nw_ops_init_ref(&o[k]);
    names[k++] = "ref";
    nw_ops_init_cpu(&o[k], 0);
    names[k++] = "cpu-generic";
    if (nw_cpu_flags() & NW_CPU_AVX2) {
        nw_ops_init_cpu(&o[k], NW_CPU_AVX2);
        names[k++] = "cpu-avx2";
    }
    return k;
}

Test(train_attn, fwd_matches_inference)
{
    const NwTrainOps tr = ref_table();
    NwTrainOps tcs[2];
    const int nv = cpu_tables(tcs);
    NwOps inf[3];
    const char *names[3];
    const int ni = inference_tables(inf, names);
    TRng r = {105};
    for (size_t si = 0; si < sizeof(null_shapes) / sizeof(null_shapes[0]); si++) {
        const int *s = null_shapes[si];
        NullProb p;
        null_init(&p, &r, s[0], s[1], s[2], s[3], s[4]);
        const size_t no = (size_t)p.n * p.ldo, np = (size_t)p.n * p.h * (p.m + 1);
        float *want = falloc(no), *got = falloc(no), *P = falloc(np);
        /* the reference table against the reference inference op, every CPU variant against
         * every CPU inference variant */
        for (int run = 0; run < 1 + (ni - 1) * nv; run++) {
            const int ti = run ? 1 + (run - 1) / nv : 0;
            const NwTrainOps *t = run ? &tcs[(run - 1) % nv] : &tr;
            char what[128];
            snprintf(what, sizeof(what), "attn_null_fwd %s/%s n%d m%d h%d dh%d mask%d", t->name, names[ti], p.n, p.m,
                     p.h, p.dh, s[4]);
            for (int thr = 1; thr <= 2; thr++) {
                NwCtx c = make_ctx(inf[ti].attn_null_scratch(p.n, p.m, p.h, thr), thr);
                memset(want, 0xff, no * sizeof(float));
                memset(got, 0xff, no * sizeof(float));
                inf[ti].attn_null(&c, p.q, p.ldq, p.kv, p.ldk, p.kv + p.inner, p.ldk, p.n, p.m, p.h, p.dh, p.nk, p.nv,
                                  p.keep, p.th, p.scale, want, p.ldo);
                nw_free(c.scratch);
                null_fwd(t, &p, thr, got, P);
                expect_bits(what, got, want, no); /* the padding (sentinel) included */
                cr_expect(pad_intact(got, p.n, p.inner, p.ldo), "%s: wrote past the row", what);
                check_P(what, P, p.n, p.h, p.m + 1, p.keep, NULL);
            }
        }
        nw_free(want);
        nw_free(got);
        nw_free(P);
        null_free(&p);
    }
    for (size_t si = 0; si < sizeof(dna_shapes) / sizeof(dna_shapes[0]); si++) {
        const int *s = dna_shapes[si];
        DnaProb p;
        dna_init(&p, &r, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10]);
        const size_t no = (size_t)p.n * p.ldo, np = (size_t)p.n * p.h * (p.K + 1);
        float *want = falloc(no), *got = falloc(no), *P = falloc(np);
        int32_t *idx = malloc(sizeof(int32_t) * p.n * p.K);
        nw_dna_indices(&p.g, p.t0, p.n, idx);
        /* the reference table against the reference inference op, every CPU variant against
         * every CPU inference variant */
        for (int run = 0; run < 1 + (ni - 1) * nv; run++) {
            const int ti = run ? 1 + (run - 1) / nv : 0;
            const NwTrainOps *t = run ? &tcs[(run - 1) % nv] : &tr;
            char what[160];
            snprintf(what, sizeof(what), "attn_3dna_fwd %s/%s k%dx%dx%d dil%d fmap%d t0=%d n%d h%d dh%d bias%d",
                     t->name, names[ti], s[0], s[1], s[2], s[3], s[4], p.t0, p.n, p.h, p.dh, p.use_bias);
            for (int thr = 1; thr <= 2; thr++) {
                NwCtx c = make_ctx(inf[ti].attn_3dna_scratch(&p.g, p.n, p.h, thr), thr);
                memset(want, 0xff, no * sizeof(float));
                memset(got, 0xff, no * sizeof(float));
                inf[ti].attn_3dna(&c, &p.g, p.t0, p.q, p.ldq, p.kv, p.kv + p.inner, p.ldkv, p.bos, p.bos + p.inner,
                                  p.n, p.h, p.dh, p.use_bias ? p.bias : NULL, p.th, p.scale, want, p.ldo);
                nw_free(c.scratch);
                dna_fwd(t, &p, thr, got, P);
                expect_bits(what, got, want, no);
                cr_expect(pad_intact(got, p.n, p.inner, p.ldo), "%s: wrote past the row", what);
                check_P(what, P, p.n, p.h, p.K + 1, NULL, idx);
            }
        }
        free(idx);
        nw_free(want);
        nw_free(got);
        nw_free(P);
        dna_free(&p);
    }
}

/* ---- (d) accumulation and NULL gradient pointers ---- */

/* Runs the backward of problem `pb` (null or dna) with the gradients in `which`. */
typedef void (*BwdFn)(const NwTrainOps *t, void *pb, int threads, const float *P, unsigned which);
static void null_bwd_v(const NwTrainOps *t, void *pb, int threads, const float *P, unsigned which)
{
    null_bwd(t, pb, threads, P, which);
}
static void dna_bwd_v(const NwTrainOps *t, void *pb, int threads, const float *P, unsigned which)
{
    dna_bwd(t, pb, threads, P, which);
}

/* 1. From zero: D. 2. From random G0: G1 must be G0 + D (the op adds; it does not overwrite;
 * up to the rounding of adding in another order). 3. Each gradient alone (the others NULL):
 * bit-identical to its part of D, and no other buffer touched (all stay 0 — in particular the
 * v columns of the shared k/v gradient when only dk is asked, and the padding). */
static void accumulate_check(const char *what, const NwTrainOps *t, void *pb, const Grads *g, BwdFn bwd,
                             const float *P, TRng *r)
{
    size_t ng;
    grads_zero(g);
    bwd(t, pb, 2, P, ~0u);
    float *D = grads_save(g, &ng);
    for (int b = 0; b < g->nbuf; b++)
        fill_normal(r, g->buf[b], g->len[b], 1.f);
    float *G0 = grads_save(g, &ng);
    bwd(t, pb, 2, P, ~0u);
    float *G1 = grads_save(g, &ng), *sum = falloc(ng);
    double mx = 0;
    for (size_t i = 0; i < ng; i++) {
        sum[i] = G0[i] + D[i];
        mx = fmax(mx, fabs(G0[i]) + fabs(D[i]));
    }
    char w2[200];
    snprintf(w2, sizeof(w2), "%s accumulate", what);
    TCmp c = compare_f32(w2, G1, sum, ng, 1e-6 * mx, 0);
    cr_expect_eq(c.n_bad, 0, "%s: %zu gradients not accumulated (max err %.3g)", w2, c.n_bad, c.max_err);
    for (int ri = 0; ri < g->nreg; ri++) {
        const Region *R = &g->reg[ri];
        grads_zero(g);
        bwd(t, pb, 2, P, R->bit);
        float *one = grads_save(g, &ng), *want = fzero(ng);
        /* expected: D's values in this region, 0 elsewhere */
        size_t off = 0;
        for (int b = 0; b < g->nbuf; b++) {
            if (R->g >= g->buf[b] && R->g < g->buf[b] + g->len[b]) {
                off += (size_t)(R->g - g->buf[b]);
                break;
            }
            off += g->len[b];
        }
        for (int i = 0; i < R->rows; i++)
            memcpy(want + off + (size_t)i * R->ld, D + off + (size_t)i * R->ld, sizeof(float) * R->w);
        snprintf(w2, sizeof(w2), "%s only %s", what, R->name);
        expect_bits(w2, one, want, ng);
        nw_free(one);
        nw_free(want);
    }
    nw_free(D);
    nw_free(G0);
    nw_free(G1);
    nw_free(sum);
}

Test(train_attn, accumulate_and_null_pointers)
{
    const NwTrainOps tabs[3] = {ref_table(), cpu_table(0), cpu_table(NW_CPU_AVX2)};
    TRng r = {106};
    for (int ti = 0; ti < ((nw_cpu_flags() & NW_CPU_AVX2) ? 3 : 2); ti++) {
        const NwTrainOps *t = &tabs[ti];
        {
            NullProb p;
            null_init(&p, &r, 9, 6, 3, 5, 1);
            float *out = falloc((size_t)p.n * p.ldo), *P = falloc((size_t)p.n * p.h * (p.m + 1));
            null_fwd(t, &p, 2, out, P);
            const Grads g = null_grads(&p);
            char what[64];
            snprintf(what, sizeof(what), "%s attn_null_bwd", t->name);
            accumulate_check(what, t, &p, &g, null_bwd_v, P, &r);
            nw_free(out);
            nw_free(P);
            null_free(&p);
        }
        for (int wb = 0; wb < 2; wb++) {
            DnaProb p;
            dna_init(&p, &r, 3, 3, 3, 1, 3, 4, 20, 2, 2, 5, wb);
            float *out = falloc((size_t)p.n * p.ldo), *P = falloc((size_t)p.n * p.h * (p.K + 1));
            dna_fwd(t, &p, 2, out, P);
            const Grads g = dna_grads(&p);
            char what[64];
            snprintf(what, sizeof(what), "%s attn_3dna_bwd bias%d", t->name, wb);
            accumulate_check(what, t, &p, &g, dna_bwd_v, P, &r);
            nw_free(out);
            nw_free(P);
            dna_free(&p);
        }
    }
}
