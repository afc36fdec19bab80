/*
 * tests/ops/ops.c — every optimised CPU op against its scalar reference (libnuwa/ref/), for
 * every variant this CPU can run, on random and awkward shapes (1, odd sizes, sizes that are
 * not multiples of the chunk/vector widths, and the real model shapes). Also checks that the
 * result does not depend on the thread count (bit for bit).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "ref/ref.h"
#include "testutil.h"
#include "tolerances.h"

typedef struct Variant {
    const char *name;
    NwOps ops;
    int ok;
} Variant;

static int variants(Variant v[2])
{
    nw_ops_init_cpu(&v[0].ops, 0);
    v[0].name = "cpu-generic";
    v[0].ok = 1;
    nw_ops_init_cpu(&v[1].ops, NW_CPU_AVX2);
    v[1].name = "cpu-avx2";
    v[1].ok = (nw_cpu_flags() & NW_CPU_AVX2) != 0;
    if (!v[1].ok)
        cr_log_warn("AVX2+FMA not available: the avx2 variant is skipped");
    return 2;
}

static float *falloc(size_t n)
{
    float *p = nw_alloc((n ? n : 1) * sizeof(float));
    cr_assert_not_null(p);
    return p;
}

static NwCtx make_ctx(size_t scratch, int threads)
{
    NwCtx c = {threads, falloc(scratch), scratch, NULL};
    return c;
}

static void check_rel_max(const char *what, const float *got, const float *ref, size_t n, double tol)
{
    double mx = 0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(ref[i]));
    TCmp c = compare_f32(what, got, ref, n, tol * fmax(mx, 1e-30), 0);
    cr_expect_eq(c.n_bad, 0, "%s: %zu elements off, max err %.3g (max|ref| %.3g)", what, c.n_bad,
                 c.max_err, c.max_ref);
}

/* ---- conv2d ---- */
static const int conv_shapes[][9] = {
    /* cin h w cout kh kw stride pad act */
    {1, 1, 1, 1, 1, 1, 1, 0, 0},   {3, 7, 5, 4, 3, 3, 1, 1, 0},    {5, 9, 9, 7, 4, 4, 2, 1, 1},
    {3, 17, 17, 8, 5, 5, 1, 2, 0}, {16, 8, 8, 32, 1, 1, 1, 0, 1},  {2, 3, 3, 3, 3, 3, 2, 0, 0},
    {7, 33, 31, 5, 3, 3, 1, 1, 1}, {64, 16, 16, 64, 3, 3, 1, 1, 0}, {3, 40, 40, 16, 5, 5, 1, 2, 0},
    {8, 30, 30, 4, 1, 1, 1, 0, 0}, {1, 2, 70, 3, 1, 1, 1, 0, 1},   {4, 6, 6, 5, 4, 4, 2, 1, 1},
    {2, 1, 1, 3, 3, 3, 1, 1, 0},   {6, 5, 11, 2, 1, 3, 1, 0, 0},    {32, 64, 64, 16, 3, 3, 1, 1, 1},
    /* Winograd path (3x3, stride 1, pad 1, >= 1024 pixels): odd sides, exact 32x32, wide */
    {9, 33, 35, 11, 3, 3, 1, 1, 1}, {16, 32, 32, 8, 3, 3, 1, 1, 0},  {8, 9, 301, 9, 3, 3, 1, 1, 0},
};

Test(ops, conv2d)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {11};
    for (size_t si = 0; si < sizeof(conv_shapes) / sizeof(conv_shapes[0]); si++) {
        const int *s = conv_shapes[si];
        NwConv2d d = {s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8]};
        const int oh = nw_conv_out(d.h, d.kh, d.stride, d.pad), ow = nw_conv_out(d.w, d.kw, d.stride, d.pad);
        const size_t nin = (size_t)d.cin * d.h * d.w, nw = (size_t)d.cout * d.cin * d.kh * d.kw;
        const size_t nout = (size_t)d.cout * oh * ow;
        float *in = falloc(nin), *w = falloc(nw), *b = falloc(d.cout), *ref = falloc(nout), *got = falloc(nout);
        fill_normal(&r, in, nin, 1.f);
        fill_normal(&r, w, nw, 0.3f);
        fill_normal(&r, b, d.cout, 0.5f);
        NwCtx rc = {1, NULL, 0, NULL};
        const int with_bias = si % 3 != 2;
        nw_conv2d_ref(&rc, &d, in, w, with_bias ? b : NULL, ref);
        for (int vi = 0; vi < nv; vi++) {
            if (!v[vi].ok)
                continue;
            float *first = falloc(nout);
            for (int th = 1; th <= 3; th++) {
                NwCtx c = make_ctx(v[vi].ops.conv2d_scratch(&d, th), th);
                memset(got, 0xff, nout * sizeof(float));
                v[vi].ops.conv2d(&c, &d, in, w, with_bias ? b : NULL, got);
                char what[128];
                snprintf(what, sizeof(what), "%s conv2d #%zu (%dx%dx%d -> %d k%dx%d s%d p%d) %d thr",
                         v[vi].name, si, d.cin, d.h, d.w, d.cout, d.kh, d.kw, d.stride, d.pad, th);
                check_rel_max(what, got, ref, nout, TOL_GEMM_REL_MAX);
                if (th == 1)
                    memcpy(first, got, nout * sizeof(float));
                else
                    cr_expect(!memcmp(first, got, nout * sizeof(float)),
                              "%s: result differs from the 1-thread result", what);
                nw_free(c.scratch);
            }
            nw_free(first);
        }
        nw_free(in);
        nw_free(w);
        nw_free(b);
        nw_free(ref);
        nw_free(got);
    }
}

Test(ops, matmul)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {12};
    const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 300, 9}, {64, 256, 32}, {8, 513, 130}, {33, 1, 65}};
    for (size_t si = 0; si < 6; si++) {
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                const int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
                const int lda = (ta ? M : K) + (int)si % 2, ldb = (tb ? K : N) + 1, ldc = N + 3;
                float *A = falloc((size_t)(ta ? K : M) * lda), *B = falloc((size_t)(tb ? N : K) * ldb);
                float *bias = falloc(M), *ref = falloc((size_t)M * ldc), *got = falloc((size_t)M * ldc);
                fill_normal(&r, A, (size_t)(ta ? K : M) * lda, 1.f);
                fill_normal(&r, B, (size_t)(tb ? N : K) * ldb, 1.f);
                fill_normal(&r, bias, M, 1.f);
                memset(ref, 0, sizeof(float) * M * ldc);
                NwCtx rc = {1, NULL, 0, NULL};
                const float *bb = (si + ta) % 2 ? bias : NULL;
                nw_matmul_ref(&rc, M, N, K, A, lda, ta, B, ldb, tb, bb, ref, ldc);
                for (int vi = 0; vi < nv; vi++) {
                    if (!v[vi].ok)
                        continue;
                    for (int th = 1; th <= 2; th++) {
                        NwCtx c = {th, NULL, 0, NULL};
                        memset(got, 0, sizeof(float) * M * ldc);
                        v[vi].ops.matmul(&c, M, N, K, A, lda, ta, B, ldb, tb, bb, got, ldc);
                        char what[96];
                        snprintf(what, sizeof(what), "%s matmul %dx%dx%d ta%d tb%d thr%d", v[vi].name, M, N,
                                 K, ta, tb, th);
                        check_rel_max(what, got, ref, (size_t)M * ldc, TOL_GEMM_REL_MAX);
                    }
                }
                nw_free(A);
                nw_free(B);
                nw_free(bias);
                nw_free(ref);
                nw_free(got);
            }
        }
    }
}

Test(ops, group_norm)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {13};
    const int shapes[][3] = {{4, 1, 1}, {8, 9, 4}, {32, 1000, 8}, {6, 7, 3}, {64, 256, 16}, {3, 5000, 1}};
    for (size_t si = 0; si < 6; si++) {
        const int c = shapes[si][0], hw = shapes[si][1], g = shapes[si][2];
        const size_t n = (size_t)c * hw;
        float *x = falloc(n), *ref = falloc(n), *got = falloc(n), *ga = falloc(c), *be = falloc(c);
        fill_normal(&r, x, n, 3.f);
        for (size_t i = 0; i < n; i++)
            x[i] += 5.f;  /* non-zero mean */
        fill_normal(&r, ga, c, 1.f);
        fill_normal(&r, be, c, 1.f);
        for (int act = 0; act < 2; act++) {
            NwCtx rc = {1, NULL, 0, NULL};
            nw_group_norm_ref(&rc, x, ref, c, hw, g, ga, be, 1e-5f, act);
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                for (int th = 1; th <= 3; th += 2) {
                    NwCtx cc = {th, NULL, 0, NULL};
                    memcpy(got, x, n * sizeof(float));
                    v[vi].ops.group_norm(&cc, got, got, c, hw, g, ga, be, 1e-5f, act); /* in place */
                    char what[96];
                    snprintf(what, sizeof(what), "%s group_norm c%d hw%d g%d act%d", v[vi].name, c, hw, g, act);
                    TCmp cm = compare_f32(what, got, ref, n, TOL_NORM_ABS, TOL_NORM_REL);
                    cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
                }
            }
        }
        nw_free(x);
        nw_free(ref);
        nw_free(got);
        nw_free(ga);
        nw_free(be);
    }
}

Test(ops, layer_norm_chan)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {14};
    const int shapes[][2] = {{1, 5}, {3, 100}, {64, 130}, {7, 1}, {512, 256}, {2, 65}};
    for (size_t si = 0; si < 6; si++) {
        const int c = shapes[si][0], hw = shapes[si][1];
        const size_t n = (size_t)c * hw;
        float *x = falloc(n), *res = falloc(n), *ref = falloc(n), *got = falloc(n);
        float *g = falloc(c), *b = falloc(c);
        fill_normal(&r, x, n, 2.f);
        fill_normal(&r, res, n, 1.f);
        fill_normal(&r, g, c, 1.f);
        fill_normal(&r, b, c, 1.f);
        for (int with_res = 0; with_res < 2; with_res++) {
            NwCtx rc = {1, NULL, 0, NULL};
            nw_layer_norm_chan_ref(&rc, x, ref, c, hw, g, b, 1e-5f, with_res ? res : NULL);
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                NwCtx cc = {2, NULL, 0, NULL};
                /* with a residual: output written over the residual, as the model does */
                memcpy(got, res, n * sizeof(float));
                v[vi].ops.layer_norm_chan(&cc, x, got, c, hw, g, b, 1e-5f, with_res ? got : NULL);
                char what[96];
                snprintf(what, sizeof(what), "%s layer_norm_chan c%d hw%d res%d", v[vi].name, c, hw, with_res);
                TCmp cm = compare_f32(what, got, ref, n, TOL_NORM_ABS, TOL_NORM_REL);
                cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
            }
        }
        nw_free(x);
        nw_free(res);
        nw_free(ref);
        nw_free(got);
        nw_free(g);
        nw_free(b);
    }
}

Test(ops, elementwise)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {15};
    const size_t sizes[] = {1, 17, 40000, 65537};
    for (size_t si = 0; si < 4; si++) {
        const size_t n = sizes[si];
        float *x = falloc(2 * n), *y = falloc(n), *ref = falloc(2 * n), *got = falloc(2 * n);
        fill_normal(&r, x, 2 * n, 4.f);
        fill_normal(&r, y, n, 1.f);
        NwCtx rc = {1, NULL, 0, NULL};
        for (int vi = 0; vi < nv; vi++) {
            if (!v[vi].ok)
                continue;
            NwCtx cc = {3, NULL, 0, NULL};
            char what[64];
            /* leaky relu */
            memcpy(ref, x, n * sizeof(float));
            memcpy(got, x, n * sizeof(float));
            nw_leaky_relu_ref(&rc, ref, n, 0.1f);
            v[vi].ops.leaky_relu(&cc, got, n, 0.1f);
            snprintf(what, sizeof(what), "%s leaky_relu n%zu", v[vi].name, n);
            cr_expect_eq(compare_f32(what, got, ref, n, TOL_EXACT, 0).n_bad, 0, "%s", what);
            /* add */
            memcpy(ref, x, n * sizeof(float));
            memcpy(got, x, n * sizeof(float));
            nw_add_ref(&rc, ref, y, n);
            v[vi].ops.add(&cc, got, y, n);
            snprintf(what, sizeof(what), "%s add n%zu", v[vi].name, n);
            cr_expect_eq(compare_f32(what, got, ref, n, TOL_EXACT, 0).n_bad, 0, "%s", what);
            /* glu: treat x as (2, n) */
            nw_glu_ref(&rc, x, ref, 1, (int)n);
            v[vi].ops.glu(&cc, x, got, 1, (int)n);
            snprintf(what, sizeof(what), "%s glu n%zu", v[vi].name, n);
            cr_expect_eq(compare_f32(what, got, ref, n, 1e-30, TOL_EW_REL).n_bad, 0, "%s", what);
        }
        nw_free(x);
        nw_free(y);
        nw_free(ref);
        nw_free(got);
    }
}

Test(ops, upsample2x)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {16};
    const int shapes[][3] = {{1, 1, 1}, {2, 1, 5}, {3, 4, 4}, {5, 7, 3}, {2, 16, 16}, {64, 32, 32}, {1, 3, 2100}};
    for (size_t si = 0; si < 7; si++) {
        const int c = shapes[si][0], h = shapes[si][1], w = shapes[si][2];
        const size_t n = (size_t)c * h * w;
        float *x = falloc(n), *ref = falloc(4 * n), *got = falloc(4 * n);
        fill_normal(&r, x, n, 1.f);
        NwCtx rc = {1, NULL, 0, NULL};
        nw_upsample2x_ref(&rc, x, ref, c, h, w);
        for (int vi = 0; vi < nv; vi++) {
            if (!v[vi].ok)
                continue;
            NwCtx cc = {2, NULL, 0, NULL};
            v[vi].ops.upsample2x(&cc, x, got, c, h, w);
            char what[64];
            snprintf(what, sizeof(what), "%s upsample2x %dx%dx%d", v[vi].name, c, h, w);
            TCmp cm = compare_f32(what, got, ref, 4 * n, 1e-6, TOL_EW_REL);
            cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
        }
        nw_free(x);
        nw_free(ref);
        nw_free(got);
    }
}

Test(ops, vqgan_attn)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {17};
    const int shapes[][3] = {{1, 1, 1}, {2, 8, 16}, {3, 5, 9}, {8, 16, 64}, {2, 64, 256}};
    for (size_t si = 0; si < 5; si++) {
        const int h = shapes[si][0], dh = shapes[si][1], n = shapes[si][2];
        const size_t nq = (size_t)3 * h * dh * n, no = (size_t)h * dh * n;
        float *qkv = falloc(nq), *scale = falloc(h), *bias = falloc((size_t)h * n * n);
        float *ref = falloc(no), *got = falloc(no);
        fill_normal(&r, qkv, nq, 1.f);
        for (int i = 0; i < h; i++)
            scale[i] = 2.f + 4.f * trng_unif(&r);
        fill_normal(&r, bias, (size_t)h * n * n, 1.f);
        for (int wb = 0; wb < 2; wb++) {
            NwCtx rc = make_ctx(nw_vqgan_attn_scratch_ref(h, dh, n, 1), 1);
            nw_vqgan_attn_ref(&rc, qkv, ref, h, dh, n, scale, wb ? bias : NULL);
            nw_free(rc.scratch);
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                for (int th = 1; th <= 2; th++) {
                    NwCtx cc = make_ctx(v[vi].ops.vqgan_attn_scratch(h, dh, n, th), th);
                    v[vi].ops.vqgan_attn(&cc, qkv, got, h, dh, n, scale, wb ? bias : NULL);
                    char what[96];
                    snprintf(what, sizeof(what), "%s vqgan_attn h%d dh%d n%d bias%d thr%d", v[vi].name, h,
                             dh, n, wb, th);
                    check_rel_max(what, got, ref, no, TOL_ATTN_REL_MAX);
                    nw_free(cc.scratch);
                }
            }
        }
        nw_free(qkv);
        nw_free(scale);
        nw_free(bias);
        nw_free(ref);
        nw_free(got);
    }
}

Test(ops, vq_assign)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {18};
    const int shapes[][3] = {{1, 1, 1}, {8, 20, 32}, {4, 300, 16}, {32, 64, 512}, {256, 256, 512}, {3, 129, 2}};
    for (size_t si = 0; si < 6; si++) {
        const int cd = shapes[si][0], n = shapes[si][1], K = shapes[si][2];
        float *x = falloc((size_t)cd * n), *xr = falloc((size_t)cd * n), *xg = falloc((size_t)cd * n);
        float *E = falloc((size_t)K * cd), *sq = falloc(K), *mref = falloc(n), *mgot = falloc(n);
        int32_t *iref = malloc(sizeof(int32_t) * n), *igot = malloc(sizeof(int32_t) * n);
        for (int cosine = 0; cosine < 2; cosine++) {
            fill_normal(&r, x, (size_t)cd * n, 1.f);
            fill_normal(&r, E, (size_t)K * cd, 1.f);
            for (int k = 0; k < K; k++) {
                double s = 0;
                for (int c = 0; c < cd; c++)
                    s += (double)E[k * cd + c] * E[k * cd + c];
                if (cosine)
                    for (int c = 0; c < cd; c++)
                        E[k * cd + c] /= (float)sqrt(s);
                sq[k] = cosine ? 1.f : (float)s;
            }
            /* a duplicated code makes an exact tie: the first index must win */
            if (K > 2)
                memcpy(E + (size_t)(K - 1) * cd, E + (size_t)1 * cd, sizeof(float) * cd), sq[K - 1] = sq[1];
            memcpy(xr, x, sizeof(float) * cd * n);
            NwCtx rc = {1, NULL, 0, NULL};
            nw_vq_assign_ref(&rc, xr, cd, n, E, K, sq, cosine, iref, mref);
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                for (int th = 1; th <= 2; th++) {
                    NwCtx cc = make_ctx(v[vi].ops.vq_assign_scratch(cd, n, K, th), th);
                    memcpy(xg, x, sizeof(float) * cd * n);
                    v[vi].ops.vq_assign(&cc, xg, cd, n, E, K, sq, cosine, igot, mgot);
                    int bad = 0;
                    for (int i = 0; i < n; i++)
                        if (igot[i] != iref[i] && mref[i] > 1e-5f)
                            bad++;
                    cr_expect_eq(bad, 0, "%s vq_assign cd%d n%d K%d cos%d: %d indices differ", v[vi].name, cd,
                                 n, K, cosine, bad);
                    if (K > 2)
                        for (int i = 0; i < n; i++)
                            cr_expect_neq(igot[i], K - 1, "duplicate code: the first index must win");
                    nw_free(cc.scratch);
                }
            }
        }
        nw_free(x);
        nw_free(xr);
        nw_free(xg);
        nw_free(E);
        nw_free(sq);
        nw_free(mref);
        nw_free(mgot);
        free(iref);
        free(igot);
    }
}

/* ---- transformer ops ---- */

Test(ops, layer_norm_rows)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {21};
    const int shapes[][2] = {{1, 1}, {1, 4}, {7, 33}, {65, 512}, {3, 1000}};
    for (size_t si = 0; si < 5; si++) {
        const int n = shapes[si][0], d = shapes[si][1];
        float *x = falloc((size_t)n * d), *ref = falloc((size_t)n * d), *got = falloc((size_t)n * d);
        float *g = falloc(d), *b = falloc(d);
        fill_normal(&r, x, (size_t)n * d, 2.f);
        for (int i = 0; i < n; i++)
            x[(size_t)i * d] = 3.f + (float)i; /* a clearly positive row max for StableLayerNorm */
        fill_normal(&r, g, d, 1.f);
        fill_normal(&r, b, d, 1.f);
        for (int stable = 0; stable < 2; stable++) {
            NwCtx rc = {1, NULL, 0, NULL};
            nw_layer_norm_ref(&rc, x, ref, n, d, g, b, 1e-5f, stable);
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                NwCtx cc = {2, NULL, 0, NULL};
                memcpy(got, x, sizeof(float) * n * d);
                v[vi].ops.layer_norm(&cc, got, got, n, d, g, b, 1e-5f, stable); /* in place */
                char what[96];
                snprintf(what, sizeof(what), "%s layer_norm n%d d%d stable%d", v[vi].name, n, d, stable);
                TCmp cm = compare_f32(what, got, ref, (size_t)n * d, TOL_NORM_ABS, TOL_NORM_REL);
                cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
            }
        }
        nw_free(x);
        nw_free(ref);
        nw_free(got);
        nw_free(g);
        nw_free(b);
    }
}

Test(ops, geglu)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {22};
    const int shapes[][2] = {{1, 1}, {3, 85}, {64, 1365}};
    for (size_t si = 0; si < 3; si++) {
        const int n = shapes[si][0], f = shapes[si][1];
        float *u = falloc((size_t)n * 2 * f), *ref = falloc((size_t)n * f), *got = falloc((size_t)n * f);
        fill_normal(&r, u, (size_t)n * 2 * f, 3.f);
        NwCtx rc = {1, NULL, 0, NULL};
        nw_geglu_ref(&rc, u, ref, n, f);
        for (int vi = 0; vi < nv; vi++) {
            if (!v[vi].ok)
                continue;
            NwCtx cc = {2, NULL, 0, NULL};
            v[vi].ops.geglu(&cc, u, got, n, f);
            char what[64];
            snprintf(what, sizeof(what), "%s geglu n%d f%d", v[vi].name, n, f);
            TCmp cm = compare_f32(what, got, ref, (size_t)n * f, 1e-6, 1e-5);
            cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
        }
        nw_free(u);
        nw_free(ref);
        nw_free(got);
    }
}

Test(ops, attn_null)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {23};
    /* n, m, heads, dh */
    const int shapes[][4] = {{1, 1, 1, 1}, {7, 7, 2, 16}, {33, 5, 3, 8}, {20, 64, 8, 64}};
    for (size_t si = 0; si < 4; si++) {
        const int n = shapes[si][0], m = shapes[si][1], h = shapes[si][2], dh = shapes[si][3];
        const int inner = h * dh, ldq = inner + 3, ldk = 2 * inner + 1;
        float *q = falloc((size_t)n * ldq), *kv = falloc((size_t)m * ldk), *nk = falloc(inner), *nvv = falloc(inner);
        float *th = falloc((size_t)h * h), *ref = falloc((size_t)n * inner), *got = falloc((size_t)n * inner);
        uint8_t *keep = malloc(m);
        fill_normal(&r, q, (size_t)n * ldq, 1.f);
        fill_normal(&r, kv, (size_t)m * ldk, 1.f);
        fill_normal(&r, nk, inner, 1.f);
        fill_normal(&r, nvv, inner, 1.f);
        fill_normal(&r, th, (size_t)h * h, 0.5f);
        for (int j = 0; j < m; j++)
            keep[j] = (j % 3) != 2;
        for (int masked = 0; masked < 3; masked++) {
            const uint8_t *kp = masked == 0 ? NULL : keep;
            if (masked == 2)
                memset(keep, 0, m); /* unconditional: only the null key */
            NwCtx rc = make_ctx(nw_attn_null_scratch_ref(n, m, h, 1), 1);
            nw_attn_null_ref(&rc, q, ldq, kv, ldk, kv + inner, ldk, n, m, h, dh, nk, nvv, kp, th, 0.25f, ref, inner);
            nw_free(rc.scratch);
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                NwCtx cc = make_ctx(v[vi].ops.attn_null_scratch(n, m, h, 2), 2);
                v[vi].ops.attn_null(&cc, q, ldq, kv, ldk, kv + inner, ldk, n, m, h, dh, nk, nvv, kp, th, 0.25f,
                                    got, inner);
                char what[96];
                snprintf(what, sizeof(what), "%s attn_null n%d m%d h%d dh%d mask%d", v[vi].name, n, m, h, dh, masked);
                check_rel_max(what, got, ref, (size_t)n * inner, TOL_ATTN_REL_MAX);
                nw_free(cc.scratch);
            }
        }
        nw_free(q);
        nw_free(kv);
        nw_free(nk);
        nw_free(nvv);
        nw_free(th);
        nw_free(ref);
        nw_free(got);
        free(keep);
    }
}

Test(ops, attn_gather)
{
    Variant v[2];
    const int nv = variants(v);
    TRng r = {24};
    /* n queries, nk keys per query, rows of k/v, heads, dh */
    const int shapes[][5] = {{1, 1, 1, 1, 1}, {9, 27, 40, 2, 16}, {16, 45, 100, 4, 8}, {3, 125, 300, 8, 64}};
    for (size_t si = 0; si < 4; si++) {
        const int n = shapes[si][0], nk = shapes[si][1], rows = shapes[si][2], h = shapes[si][3], dh = shapes[si][4];
        const int inner = h * dh, ld = 2 * inner;
        float *q = falloc((size_t)n * inner), *kv = falloc((size_t)rows * ld), *bos = falloc(2 * inner);
        float *bias = falloc((size_t)nk * h), *th = falloc((size_t)h * h);
        float *ref = falloc((size_t)n * inner), *got = falloc((size_t)n * inner);
        int32_t *idx = malloc(sizeof(int32_t) * n * nk);
        fill_normal(&r, q, (size_t)n * inner, 1.f);
        fill_normal(&r, kv, (size_t)rows * ld, 1.f);
        fill_normal(&r, bos, 2 * inner, 1.f);
        fill_normal(&r, bias, (size_t)nk * h, 1.f);
        fill_normal(&r, th, (size_t)h * h, 0.5f);
        for (int i = 0; i < n * nk; i++)
            idx[i] = (trng_next(&r) % 4 == 0) ? -1 : (int32_t)(trng_next(&r) % rows);
        for (int wb = 0; wb < 2; wb++) {
            NwCtx rc = {1, NULL, 0, NULL};
            nw_attn_gather_ref(&rc, q, inner, kv, ld, kv + inner, ld, bos, bos + inner, idx, n, nk, h, dh,
                               wb ? bias : NULL, th, 0.3f, ref, inner);
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                NwCtx cc = {2, NULL, 0, NULL};
                v[vi].ops.attn_gather(&cc, q, inner, kv, ld, kv + inner, ld, bos, bos + inner, idx, n, nk, h, dh,
                                      wb ? bias : NULL, th, 0.3f, got, inner);
                char what[96];
                snprintf(what, sizeof(what), "%s attn_gather n%d nk%d h%d dh%d bias%d", v[vi].name, n, nk, h, dh, wb);
                check_rel_max(what, got, ref, (size_t)n * inner, TOL_ATTN_REL_MAX);
            }
        }
        nw_free(q);
        nw_free(kv);
        nw_free(bos);
        nw_free(bias);
        nw_free(th);
        nw_free(ref);
        nw_free(got);
        free(idx);
    }
}
