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
    NwCtx c = {threads, falloc(scratch), scratch, NULL, NULL};
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
        NwCtx rc = {1, NULL, 0, NULL, NULL};
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
                NwCtx rc = {1, NULL, 0, NULL, NULL};
                const float *bb = (si + ta) % 2 ? bias : NULL;
                nw_matmul_ref(&rc, M, N, K, A, lda, ta, B, ldb, tb, bb, ref, ldc);
                for (int vi = 0; vi < nv; vi++) {
                    if (!v[vi].ok)
                        continue;
                    for (int th = 1; th <= 2; th++) {
                        NwCtx c = {th, NULL, 0, NULL, NULL};
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
            NwCtx rc = {1, NULL, 0, NULL, NULL};
            nw_group_norm_ref(&rc, x, ref, c, hw, g, ga, be, 1e-5f, act);
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                for (int th = 1; th <= 3; th += 2) {
                    NwCtx cc = {th, NULL, 0, NULL, NULL};
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
            NwCtx rc = {1, NULL, 0, NULL, NULL};
            nw_layer_norm_chan_ref(&rc, x, ref, c, hw, g, b, 1e-5f, with_res ? res : NULL);
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                NwCtx cc = {2, NULL, 0, NULL, NULL};
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
        NwCtx rc = {1, NULL, 0, NULL, NULL};
        for (int vi = 0; vi < nv; vi++) {
            if (!v[vi].ok)
                continue;
            NwCtx cc = {3, NULL, 0, NULL, NULL};
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
        NwCtx rc = {1, NULL, 0, NULL, NULL};
        nw_upsample2x_ref(&rc, x, ref, c, h, w);
        for (int vi = 0; vi < nv; vi++) {
            if (!v[vi].ok)
                continue;
            NwCtx cc = {2, NULL, 0, NULL, NULL};
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
            NwCtx rc = {1, NULL, 0, NULL, NULL};
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
            NwCtx rc = {1, NULL, 0, NULL, NULL};
            nw_layer_norm_ref(&rc, x, ref, n, d, g, b, 1e-5f, stable);
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                NwCtx cc = {2, NULL, 0, NULL, NULL};
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
        NwCtx rc = {1, NULL, 0, NULL, NULL};
        nw_geglu_ref(&rc, u, ref, n, f);
        for (int vi = 0; vi < nv; vi++) {
            if (!v[vi].ok)
                continue;
            NwCtx cc = {2, NULL, 0, NULL, NULL};
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
            NwCtx rc = {1, NULL, 0, NULL, NULL};
            nw_attn_gather_ref(&rc, q, inner, kv, ld, kv + inner, ld, bos, bos + inner, idx, n, nk, h, dh,
                               wb ? bias : NULL, th, 0.3f, ref, inner);
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                NwCtx cc = {2, NULL, 0, NULL, NULL};
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

/* ==== the row, generation and memory slots ==================================================
 * These ops are specified by ref/ itself, so beyond "fast variant == reference" each test
 * checks every table (the CPU variants and the reference) against an independent model written
 * here from ops.h's wording: a bug in ref/ would otherwise be copied into the expectation. */

/* The CPU variants this machine runs, then the reference table. */
static int tables(Variant v[3])
{
    variants(v);
    nw_ops_init_ref(&v[2].ops);
    v[2].name = "ref";
    v[2].ok = 1;
    return 3;
}

/* Bit-for-bit equality; on failure compare_f32 prints the first differing elements. */
static void expect_bits(const char *what, const float *got, const float *want, size_t n)
{
    if (!memcmp(got, want, n * sizeof(float)))
        return;
    TCmp c = compare_f32(what, got, want, n, 0, 0);
    cr_expect(0, "%s: not bit-identical (%zu elements differ, max err %.3g)", what, c.n_bad, c.max_err);
}

/* rows x w of a strided buffer, copied out contiguously */
static void unpad(const float *src, int rows, int ld, int w, float *dst)
{
    for (int r = 0; r < rows; r++)
        memcpy(dst + (size_t)r * w, src + (size_t)r * ld, sizeof(float) * w);
}

Test(ops, memory)
{
    Variant v[3];
    const int nv = tables(v);
    TRng r = {30};
    const size_t sizes[] = {1, 3, 64, 1000, 65537};
    for (int vi = 0; vi < nv; vi++) {
        if (!v[vi].ok)
            continue;
        const NwOps *o = &v[vi].ops;
        NwXfer xf = {0, 0, 0, 0};
        NwCtx c = {1, NULL, 0, NULL, &xf};
        long ups = 0, downs = 0;
        size_t upb = 0, downb = 0;
        o->mem_free(&c, NULL); /* a no-op */
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
            const size_t n = sizes[si];
            uint8_t *h = malloc(n), *keep = malloc(n), *back = malloc(n);
            cr_assert(h && keep && back);
            for (size_t i = 0; i < n; i++)
                h[i] = (uint8_t)trng_next(&r);
            memcpy(keep, h, n);
            uint8_t *a = o->mem_alloc(&c, n), *b = o->mem_alloc(&c, n);
            cr_assert(a && b, "%s mem_alloc(%zu) failed", v[vi].name, n);
            cr_expect((uintptr_t)a % 64 == 0 && (uintptr_t)b % 64 == 0, "%s mem_alloc: not 64-byte aligned",
                      v[vi].name);
            o->upload(&c, a, h, n);
            ups++, upb += n;
            memset(h, 0x5a, n); /* the host buffer may be reused once upload returns */
            o->copy(&c, b, a, n);
            o->download(&c, back, b, n);
            downs++, downb += n;
            cr_expect(!memcmp(back, keep, n), "%s upload/copy/download round trip of %zu bytes", v[vi].name, n);
            /* fill and copy touch exactly their range: fill the middle, copy one byte in */
            const size_t lo = n / 3, len = n - lo - (n > 2);
            o->fill(&c, b + lo, 0xa7, len);
            if (n > 1)
                o->copy(&c, b, a + n - 1, 1);
            o->download(&c, back, b, n);
            downs++, downb += n;
            int bad = 0;
            for (size_t i = 0; i < n; i++) {
                uint8_t want = keep[i];
                if (i >= lo && i < lo + len)
                    want = 0xa7;
                if (i == 0 && n > 1)
                    want = keep[n - 1];
                bad += back[i] != want;
            }
            cr_expect_eq(bad, 0, "%s fill/copy of sub-ranges (%zu bytes): %d bytes wrong", v[vi].name, n, bad);
            /* a second upload over the first, partial download */
            o->upload(&c, a, keep, n);
            ups++, upb += n;
            o->download(&c, back, a, (n + 1) / 2);
            downs++, downb += (n + 1) / 2;
            cr_expect(!memcmp(back, keep, (n + 1) / 2), "%s partial download", v[vi].name);
            cr_expect(xf.uploads == ups && xf.up_bytes == upb,
                      "%s: xfer counts %ld uploads / %zu bytes, want %ld / %zu (copy and fill must not count)",
                      v[vi].name, xf.uploads, xf.up_bytes, ups, upb);
            cr_expect(xf.downloads == downs && xf.down_bytes == downb,
                      "%s: xfer counts %ld downloads / %zu bytes, want %ld / %zu", v[vi].name, xf.downloads,
                      xf.down_bytes, downs, downb);
            /* without a counter the transfers still happen */
            NwCtx quiet = {1, NULL, 0, NULL, NULL};
            o->upload(&quiet, a, h, n);
            o->download(&quiet, back, a, n);
            cr_expect(!memcmp(back, h, n), "%s transfers without ctx->xfer", v[vi].name);
            o->mem_free(&c, a);
            o->mem_free(&c, b);
            free(h);
            free(keep);
            free(back);
        }
        char msg[64] = "stale";
        cr_expect_eq(o->sync(&c, msg, sizeof(msg)), 0, "%s sync", v[vi].name);
        cr_expect_eq(msg[0], 0, "%s sync: message not cleared", v[vi].name);
        cr_expect_eq(o->sync(&c, NULL, 0), 0, "%s sync without a message buffer", v[vi].name);
    }
}

Test(ops, linear)
{
    Variant v[3];
    const int nv = tables(v);
    TRng r = {31};
    /* n, i, o. n = 1 takes the GEMV path; the last two are big enough for the threaded,
     * chunked GEMM (n*i*o > 4e6 and more than one 256-column chunk). */
    const int shapes[][3] = {{1, 1, 1}, {1, 7, 13}, {1, 515, 1001}, {3, 5, 9},
                             {17, 33, 65}, {64, 512, 130}, {40, 300, 513}, {100, 257, 300}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int n = shapes[si][0], in = shapes[si][1], o = shapes[si][2];
        const size_t ny = (size_t)n * o;
        float *x = falloc((size_t)n * in), *W = falloc((size_t)o * in), *b = falloc(o);
        float *want = falloc(ny), *got = falloc(ny), *first = falloc(ny);
        fill_normal(&r, x, (size_t)n * in, 1.f);
        fill_normal(&r, W, (size_t)o * in, 1.f);
        fill_normal(&r, b, o, 2.f);
        for (int wb = 0; wb < 2; wb++) {
            /* independent model: double dot products, W read as (o, i) rows */
            for (int rr = 0; rr < n; rr++)
                for (int cc = 0; cc < o; cc++) {
                    double s = wb ? b[cc] : 0.0;
                    for (int k = 0; k < in; k++)
                        s += (double)x[(size_t)rr * in + k] * (double)W[(size_t)cc * in + k];
                    want[(size_t)rr * o + cc] = (float)s;
                }
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                for (int th = 1; th <= 2; th++) {
                    NwCtx c = {th, NULL, 0, NULL, NULL};
                    memset(got, 0xff, ny * sizeof(float)); /* NaN: unwritten outputs fail */
                    v[vi].ops.linear(&c, x, n, in, W, o, wb ? b : NULL, got);
                    char what[96];
                    snprintf(what, sizeof(what), "%s linear n%d i%d o%d bias%d thr%d", v[vi].name, n, in, o, wb, th);
                    check_rel_max(what, got, want, ny, TOL_GEMM_REL_MAX);
                    if (th == 1)
                        memcpy(first, got, ny * sizeof(float));
                    else
                        expect_bits(what, got, first, ny);
                }
            }
        }
        nw_free(x);
        nw_free(W);
        nw_free(b);
        nw_free(want);
        nw_free(got);
        nw_free(first);
    }
}

Test(ops, embed)
{
    Variant v[3];
    const int nv = tables(v);
    TRng r = {32};
    /* rows of the table, d, n */
    const int shapes[][3] = {{1, 1, 1}, {5, 3, 7}, {50, 13, 1}, {9, 8, 33}, {1000, 17, 64}, {8192, 512, 256}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int rows = shapes[si][0], d = shapes[si][1], n = shapes[si][2];
        const size_t no = (size_t)n * d;
        float *table = falloc((size_t)rows * d), *add = falloc(no), *want = falloc(no), *got = falloc(no);
        int32_t *ids = malloc(sizeof(int32_t) * n);
        fill_normal(&r, table, (size_t)rows * d, 1.f);
        fill_normal(&r, add, no, 1.f);
        for (int i = 0; i < n; i++)
            ids[i] = (int32_t)(trng_next(&r) % rows);
        ids[n - 1] = rows - 1; /* the last table row */
        for (int wa = 0; wa < 2; wa++)
            for (int trans = 0; trans < 2; trans++) {
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < d; j++) {
                        float e = table[(size_t)ids[i] * d + j];
                        if (wa)
                            e += add[(size_t)i * d + j];
                        want[trans ? (size_t)j * n + i : (size_t)i * d + j] = e;
                    }
                for (int vi = 0; vi < nv; vi++) {
                    if (!v[vi].ok)
                        continue;
                    for (int th = 1; th <= 2; th++) {
                        NwCtx c = {th, NULL, 0, NULL, NULL};
                        memset(got, 0xff, no * sizeof(float));
                        v[vi].ops.embed(&c, table, d, ids, n, wa ? add : NULL, got, trans);
                        char what[96];
                        snprintf(what, sizeof(what), "%s embed rows%d d%d n%d add%d trans%d thr%d", v[vi].name, rows,
                                 d, n, wa, trans, th);
                        expect_bits(what, got, want, no);
                    }
                }
            }
        nw_free(table);
        nw_free(add);
        nw_free(want);
        nw_free(got);
        free(ids);
    }
}

Test(ops, rotary)
{
    Variant v[3];
    const int nv = tables(v);
    TRng r = {33};
    /* n, heads, dh, rot, extra row padding */
    const int shapes[][5] = {{1, 1, 2, 2, 0}, {3, 1, 7, 6, 1}, {5, 3, 9, 4, 2},  {7, 2, 13, 12, 0},
                             {2, 8, 33, 32, 5}, {4, 8, 64, 32, 3}, {1, 5, 11, 2, 0}, {256, 8, 64, 64, 0}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int n = shapes[si][0], h = shapes[si][1], dh = shapes[si][2], rot = shapes[si][3];
        const int ld = h * dh + shapes[si][4], hr = rot / 2;
        const size_t nx = (size_t)n * ld;
        float *x = falloc(nx), *want = falloc(nx), *got = falloc(nx), *inv = falloc(hr);
        fill_normal(&r, x, nx, 1.f);
        for (int k = 0; k < hr; k++)
            inv[k] = 1.f / powf(10000.f, (float)(2 * k) / (float)rot);
        for (int p0 = 0; p0 <= 37; p0 += 37) {
            /* model: every head's pair (k, k + hr), k < rot/2, turned by (p0 + row) * inv[k];
             * the padding and the features from rot on stay as they are */
            memcpy(want, x, nx * sizeof(float));
            for (int i = 0; i < n; i++)
                for (int hd = 0; hd < h; hd++)
                    for (int k = 0; k < hr; k++) {
                        float *e = want + (size_t)i * ld + (size_t)hd * dh;
                        const float ang = (float)(p0 + i) * inv[k];
                        const float cs = cosf(ang), sn = sinf(ang), a = e[k], b = e[k + hr];
                        e[k] = a * cs - b * sn;
                        e[k + hr] = b * cs + a * sn;
                    }
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                for (int th = 1; th <= 2; th++) {
                    NwCtx c = {th, NULL, 0, NULL, NULL};
                    memcpy(got, x, nx * sizeof(float));
                    v[vi].ops.rotary(&c, got, n, ld, h, dh, rot, inv, p0);
                    char what[96];
                    snprintf(what, sizeof(what), "%s rotary n%d h%d dh%d rot%d ld%d p0=%d thr%d", v[vi].name, n, h, dh,
                             rot, ld, p0, th);
                    expect_bits(what, got, want, nx);
                }
            }
        }
        nw_free(x);
        nw_free(want);
        nw_free(got);
        nw_free(inv);
    }
}

/* Token shift without a ring: decoder row p of the full prenormed rows R (row 0 = bos, row
 * 1 + t = video token t at (frame, row, col) of a fmap x fmap frame). Features [0, c) come from
 * the token above in the same frame, [c, min(2c, d)) from the token to its left, zero at the
 * top row / left column. */
static void shift_model(const float *R, int p, int d, int fmap, float *o)
{
    const int T = fmap * fmap, c = (d + 3) / 4, c2 = 2 * c < d ? 2 * c : d;
    memcpy(o, R + (size_t)p * d, sizeof(float) * d);
    if (p == 0)
        return;
    const int t = p - 1, f = t / T, row = (t - f * T) / fmap, col = t - f * T - row * fmap;
    const float *up = row > 0 ? R + (size_t)(1 + f * T + (row - 1) * fmap + col) * d : NULL;
    const float *left = col > 0 ? R + (size_t)(1 + f * T + row * fmap + col - 1) * d : NULL;
    for (int j = 0; j < c; j++)
        o[j] = up ? up[j] : 0.f;
    for (int j = c; j < c2; j++)
        o[j] = left ? left[j] : 0.f;
}

Test(ops, token_shift)
{
    Variant v[3];
    const int nv = tables(v);
    TRng r = {34};
    const int fmaps[] = {1, 2, 3, 5, 16};
    const int ds[] = {1, 2, 3, 5, 8, 13, 67, 512};
    for (size_t fi = 0; fi < sizeof(fmaps) / sizeof(fmaps[0]); fi++)
        for (size_t di = 0; di < sizeof(ds) / sizeof(ds[0]); di++) {
            const int fmap = fmaps[fi], T = fmap * fmap, d = ds[di];
            const int ns[] = {1, 3, T + 2, 256};
            for (int ni = 0; ni < 4; ni++) {
                const int n = ns[ni], cap = fmap + n;
                /* p0: the start, inside the first frame, and twice past a wrapped ring */
                const int p0s[] = {0, 1, fmap + 1, 2 * cap + 3, 5 * T + 7};
                for (int pi = 0; pi < 5; pi++) {
                    const int p0 = p0s[pi], P = p0 + n;
                    float *R = falloc((size_t)P * d), *ring = falloc((size_t)cap * d);
                    float *want = falloc((size_t)n * d), *got = falloc((size_t)n * d);
                    fill_normal(&r, R, (size_t)P * d, 1.f);
                    for (int i = 0; i < n; i++)
                        shift_model(R, p0 + i, d, fmap, want + (size_t)i * d);
                    /* the ring holds the last cap rows; slots never written stay at a marker */
                    for (size_t i = 0; i < (size_t)cap * d; i++)
                        ring[i] = 1e30f;
                    for (int p = P - cap > 0 ? P - cap : 0; p < P; p++)
                        memcpy(ring + (size_t)(p % cap) * d, R + (size_t)p * d, sizeof(float) * d);
                    for (int vi = 0; vi < nv; vi++) {
                        if (!v[vi].ok)
                            continue;
                        for (int th = 1; th <= 2; th++) {
                            NwCtx c = {th, NULL, 0, NULL, NULL};
                            memset(got, 0xff, sizeof(float) * n * d);
                            v[vi].ops.token_shift(&c, ring, cap, p0, n, d, fmap, T, got);
                            char what[128];
                            snprintf(what, sizeof(what), "%s token_shift fmap%d d%d n%d p0=%d cap%d thr%d",
                                     v[vi].name, fmap, d, n, p0, cap, th);
                            expect_bits(what, got, want, (size_t)n * d);
                        }
                    }
                    nw_free(R);
                    nw_free(ring);
                    nw_free(want);
                    nw_free(got);
                }
            }
        }
}

/* The 3DNA neighbourhood by brute force: every earlier token s (and t itself) is tested for
 * membership of t's dilated causal window; its slot j follows ops.h's NwDna order. Indices are
 * absolute token numbers (not ring rows). */
static void dna_brute(const NwDna *g, int t, int32_t *idx)
{
    const int K = g->kf * g->kh * g->kw;
    const int f = t / g->T, rw = (t % g->T) / g->fmap, cl = t % g->fmap;
    for (int j = 0; j < K; j++)
        idx[j] = -1;
    for (int s = 0; s <= t; s++) {
        const int df = f - s / g->T, dr = rw - (s % g->T) / g->fmap, dc = cl - s % g->fmap;
        if (df < 0 || dr < 0 || dc < 0 || df % g->dil || dr % g->dil || dc % g->dil)
            continue;
        const int a = g->kf - 1 - df / g->dil, b = g->kh - 1 - dr / g->dil, e = g->kw - 1 - dc / g->dil;
        if (a < 0 || b < 0 || e < 0)
            continue;
        idx[(a * g->kh + b) * g->kw + e] = s;
    }
}

Test(ops, attn_3dna)
{
    Variant v[3];
    const int nv = tables(v);
    TRng r = {35};
    /* kf kh kw dil fmap heads dh */
    const int cfgs[][7] = {{1, 1, 1, 1, 3, 1, 1}, {3, 3, 3, 1, 4, 2, 5}, {3, 3, 3, 2, 5, 3, 16},
                           {1, 3, 3, 1, 4, 8, 7}, {1, 3, 3, 2, 6, 4, 9},  {5, 1, 1, 1, 3, 5, 3},
                           {5, 1, 1, 2, 2, 1, 8}, {3, 3, 3, 1, 8, 8, 64}};
    for (size_t ci = 0; ci < sizeof(cfgs) / sizeof(cfgs[0]); ci++) {
        const int *cf = cfgs[ci];
        const int fmap = cf[4], T = fmap * fmap, h = cf[5], dh = cf[6], inner = h * dh;
        const int K = cf[0] * cf[1] * cf[2];
        const int span = cf[3] * ((cf[0] - 1) * T + (cf[1] - 1) * fmap + (cf[2] - 1));
        const int ldq = inner + 3, ldo = inner + 1, ldf = 2 * inner + 1;
        const int ns[] = {1, 7, T + 3};
        for (int ni = 0; ni < 3; ni++) {
            const int n = ns[ni];
            /* the ring must hold the window of the first query through the last query, plus
             * slack so that ring rows are not aligned with frames */
            const int cap = span + n + 2;
            const NwDna g = {cf[0], cf[1], cf[2], cf[3], fmap, T, cap};
            const int t0s[] = {0, 5, cap + T + 1, 3 * cap + 2};
            for (int ti = 0; ti < 4; ti++) {
                const int t0 = t0s[ti], N = t0 + n;
                /* full keys/values (k then v in each row) of tokens 0 .. N-1, and the ring */
                float *kvf = falloc((size_t)N * ldf), *ring = falloc((size_t)cap * ldf);
                float *q = falloc((size_t)n * ldq), *bos = falloc(2 * inner), *bias = falloc((size_t)K * h);
                float *th = falloc((size_t)h * h), *want = falloc((size_t)n * ldo), *got = falloc((size_t)n * ldo);
                float *refo = falloc((size_t)n * ldo), *first = falloc((size_t)n * ldo);
                float *cw = falloc((size_t)n * inner), *cg = falloc((size_t)n * inner);
                int32_t *idx = malloc(sizeof(int32_t) * n * K);
                fill_normal(&r, kvf, (size_t)N * ldf, 1.f);
                fill_normal(&r, q, (size_t)n * ldq, 1.f);
                fill_normal(&r, bos, 2 * inner, 1.f);
                fill_normal(&r, bias, (size_t)K * h, 1.f);
                fill_normal(&r, th, (size_t)h * h, 0.5f);
                for (size_t i = 0; i < (size_t)cap * ldf; i++)
                    ring[i] = 100.f; /* a stale row would dominate the softmax */
                for (int s = N - cap > 0 ? N - cap : 0; s < N; s++)
                    memcpy(ring + (size_t)(s % cap) * ldf, kvf + (size_t)s * ldf, sizeof(float) * ldf);
                for (int i = 0; i < n; i++)
                    dna_brute(&g, t0 + i, idx + (size_t)i * K);
                for (int wb = 0; wb < 2; wb++) {
                    const float *bp = wb ? bias : NULL;
                    NwCtx rc = {1, NULL, 0, NULL, NULL};
                    nw_attn_gather_ref(&rc, q, ldq, kvf, ldf, kvf + inner, ldf, bos, bos + inner, idx, n, K, h, dh,
                                       bp, th, 0.3f, want, ldo);
                    unpad(want, n, ldo, inner, cw);
                    for (int vi = nv - 1; vi >= 0; vi--) { /* the reference (last) first: its output is used below */
                        if (!v[vi].ok)
                            continue;
                        for (int thr = 1; thr <= 2; thr++) {
                            NwCtx c = make_ctx(v[vi].ops.attn_3dna_scratch(&g, n, h, thr), thr);
                            memset(got, 0xff, sizeof(float) * n * ldo);
                            v[vi].ops.attn_3dna(&c, &g, t0, q, ldq, ring, ring + inner, ldf, bos, bos + inner, n, h, dh,
                                                bp, th, 0.3f, got, ldo);
                            nw_free(c.scratch);
                            char what[160];
                            snprintf(what, sizeof(what), "%s attn_3dna k%dx%dx%d dil%d fmap%d h%d dh%d n%d t0=%d cap%d bias%d thr%d",
                                     v[vi].name, cf[0], cf[1], cf[2], cf[3], fmap, h, dh, n, t0, cap, wb, thr);
                            int pad_ok = 1;
                            for (int i = 0; i < n; i++) {
                                uint32_t bits;
                                memcpy(&bits, got + (size_t)i * ldo + inner, 4);
                                pad_ok &= bits == 0xffffffffu;
                            }
                            cr_expect(pad_ok, "%s: wrote past the row (ldo)", what);
                            unpad(got, n, ldo, inner, cg);
                            if (vi == nv - 1) {
                                /* the reference gathers in the same order as the model: exact */
                                expect_bits(what, cg, cw, (size_t)n * inner);
                                if (thr == 1)
                                    memcpy(refo, cg, sizeof(float) * n * inner);
                            } else {
                                check_rel_max(what, cg, cw, (size_t)n * inner, TOL_ATTN_REL_MAX);
                                check_rel_max(what, cg, refo, (size_t)n * inner, TOL_ATTN_REL_MAX);
                            }
                            if (thr == 1)
                                memcpy(first, cg, sizeof(float) * n * inner);
                            else
                                expect_bits(what, cg, first, (size_t)n * inner);
                        }
                    }
                }
                nw_free(kvf);
                nw_free(ring);
                nw_free(q);
                nw_free(bos);
                nw_free(bias);
                nw_free(th);
                nw_free(want);
                nw_free(got);
                nw_free(refo);
                nw_free(first);
                nw_free(cw);
                nw_free(cg);
                free(idx);
            }
        }
    }
}

Test(ops, guide)
{
    Variant v[3];
    const int nv = tables(v);
    TRng r = {36};
    const int sizes[] = {1, 7, 1000, 8193};
    const float scales[] = {0.f, 1.f, 3.5f, -2.f};
    for (int si = 0; si < 4; si++) {
        const int n = sizes[si];
        float *lc = falloc(n), *lu = falloc(n), *want = falloc(n), *got = falloc(n), *a = falloc(n);
        fill_normal(&r, lc, n, 3.f);
        fill_normal(&r, lu, n, 3.f);
        for (int sc = 0; sc < 4; sc++) {
            const float s = scales[sc];
            for (int i = 0; i < n; i++)
                want[i] = lu[i] + (lc[i] - lu[i]) * s;
            for (int vi = 0; vi < nv; vi++) {
                if (!v[vi].ok)
                    continue;
                NwCtx c = {2, NULL, 0, NULL, NULL};
                char what[96];
                /* separate output, then out == lc (the model's in-place use), then out == lu */
                for (int alias = 0; alias < 3; alias++) {
                    float *out = got;
                    const float *pc = lc, *pu = lu;
                    if (alias == 1) {
                        memcpy(a, lc, sizeof(float) * n);
                        out = a, pc = a;
                    } else if (alias == 2) {
                        memcpy(a, lu, sizeof(float) * n);
                        out = a, pu = a;
                    } else {
                        memset(got, 0xff, sizeof(float) * n);
                    }
                    v[vi].ops.guide(&c, pc, pu, out, n, s);
                    snprintf(what, sizeof(what), "%s guide n%d scale%g alias%d", v[vi].name, n, s, alias);
                    expect_bits(what, out, want, n);
                }
            }
        }
        nw_free(lc);
        nw_free(lu);
        nw_free(want);
        nw_free(got);
        nw_free(a);
    }
}

/* nw_sample's rule written the slow way: an element is kept when fewer than k elements rank
 * before it (larger, or equal with a lower index); scores as ops.h; first maximum wins. */
static int sample_model(const float *l, int V, double thres, float temp, const float *u, float *margin)
{
    int k = (int)((1.0 - thres) * V);
    k = k < 1 ? 1 : k > V ? V : k;
    float *sc = malloc(sizeof(float) * V);
    int best = 0;
    for (int i = 0; i < V; i++) {
        int rank = 0;
        for (int j = 0; j < V; j++)
            rank += l[j] > l[i] || (l[j] == l[i] && j < i);
        const float uu = u[i] < 1e-20f ? 1e-20f : u[i];
        const float inner = fmaxf(-logf(uu), 1e-20f);
        sc[i] = (rank < k ? l[i] : -INFINITY) / temp - logf(inner);
        if (sc[i] > sc[best])
            best = i;
    }
    float second = -INFINITY;
    for (int i = 0; i < V; i++)
        if (i != best && sc[i] > second)
            second = sc[i];
    *margin = sc[best] - second;
    free(sc);
    return best;
}

Test(ops, sample)
{
    Variant v[3];
    const int nv = tables(v);
    TRng r = {37};
    const int Vs[] = {1, 2, 7, 512, 1000};
    const double thress[] = {0.0, 0.5, 0.9, 0.999};
    const float temps[] = {1.f, 0.5f};
    for (int vi_ = 0; vi_ < 5; vi_++) {
        const int V = Vs[vi_];
        float *l = falloc(V), *lkeep = falloc(V), *u = falloc(V), *uu = falloc(V), *work = falloc(V);
        for (int ties = 0; ties < 2; ties++)
            for (int ti = 0; ti < 4; ti++)
                for (int tt = 0; tt < 2; tt++) {
                    fill_normal(&r, l, V, 3.f);
                    if (ties) /* coarse logits: many exact ties at the top-k boundary */
                        for (int i = 0; i < V; i++)
                            l[i] = roundf(l[i] * 2.f) * 0.5f;
                    memcpy(lkeep, l, sizeof(float) * V);
                    fill_uniform(&r, u, V, 0.f, 1.f);
                    u[V / 2] = 0.f; /* the clamp in gumbel */
                    const uint64_t seed = 1000 + (uint64_t)V * 7 + (uint64_t)ti, counter = 3 + (uint64_t)tt * 100;
                    nw_uniforms(seed, counter, uu, V);
                    for (int given = 0; given < 2; given++) {
                        const float *up = given ? u : uu;
                        float wm, mm;
                        const int want = nw_sample(l, V, thress[ti], temps[tt], up, work, &wm);
                        const int model = sample_model(l, V, thress[ti], temps[tt], up, &mm);
                        cr_expect(want == model && !memcmp(&wm, &mm, sizeof(float)),
                                  "nw_sample V%d thres%g temp%g ties%d: token %d margin %g, model %d margin %g", V,
                                  thress[ti], (double)temps[tt], ties, want, (double)wm, model, (double)mm);
                        const NwSampleParams p = {thress[ti], temps[tt], seed, counter, given ? u : NULL};
                        for (int vi = 0; vi < nv; vi++) {
                            if (!v[vi].ok)
                                continue;
                            NwCtx c = make_ctx(v[vi].ops.sample_scratch(V, 1), 1);
                            int32_t tok = -7;
                            float m;
                            memset(&m, 0xff, sizeof(m));
                            v[vi].ops.sample(&c, l, V, &p, &tok, &m);
                            cr_expect(tok == want && !memcmp(&m, &wm, sizeof(float)),
                                      "%s sample V%d thres%g temp%g ties%d u%s: token %d margin %g, want %d margin %g",
                                      v[vi].name, V, thress[ti], (double)temps[tt], ties, given ? "given" : "seeded",
                                      tok, (double)m, want, (double)wm);
                            tok = -7;
                            v[vi].ops.sample(&c, l, V, &p, &tok, NULL);
                            cr_expect_eq(tok, want, "%s sample V%d without margin", v[vi].name, V);
                            cr_expect(!memcmp(l, lkeep, sizeof(float) * V), "%s sample modified the logits",
                                      v[vi].name);
                            nw_free(c.scratch);
                        }
                    }
                }
        nw_free(l);
        nw_free(lkeep);
        nw_free(u);
        nw_free(uu);
        nw_free(work);
    }
}
