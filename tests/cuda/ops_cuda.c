/*
 * tests/cuda/ops_cuda.c — every CUDA op (libnuwa/cuda/, kernels/) against its scalar reference
 * (libnuwa/ref/) on random and awkward shapes: size 1, odd sizes, sizes that are not multiples
 * of the warp / block / chunk widths, shapes that take the fallbacks (im2col, the global
 * attention table, chunked distances), and the real model shapes. Also: determinism (a second
 * run is bit-identical), the error paths of the device context, and that an op never touches
 * memory outside its output (guard values around the outputs).
 *
 * Without a CUDA device every test prints "skipped: no CUDA device (<CUDA's reason>)" and
 * passes. build/nuwa_cuda_emu_tests links these same tests against the CPU emulator of the
 * kernels (tests/cuda/emu/), so they run on machines without a GPU too.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/backend.h"
#include "nuwa.h"
#include "ops.h"
#include "ref/ref.h"
#include "testutil.h"
#include "tolerances.h"

/* Extra slack for CUDA's expf / erff (2 ulp, glibc's are within 1) in elementwise results. */
#define TOL_CUDA_EW_REL 1e-6
/* Guard floats written before and after each output buffer and checked afterwards. */
#define GUARD 64
#define GUARD_VAL 12345.f

/* The NUWA_ERR_* name of a code (nuwa_strerror would pull the whole library into the
 * standalone GPU check of bench/gpu.sh). */
static const char *errname(int r)
{
    switch (r) {
    case 0: return "ok";
    case NUWA_ERR_NOMEM: return "NUWA_ERR_NOMEM";
    case NUWA_ERR_INVAL: return "NUWA_ERR_INVAL";
    case NUWA_ERR_UNSUPPORTED: return "NUWA_ERR_UNSUPPORTED";
    case NUWA_ERR_BACKEND: return "NUWA_ERR_BACKEND";
    default: return "another error";
    }
}

typedef struct Dev {
    NwCudaDev *d;
    NwOps ops;
} Dev;

/* Opens cuda:0 with the given flags, or skips the test (printing why) when there is no CUDA
 * device. */
static Dev open_dev_flags(unsigned flags)
{
    char msg[320];
    Dev v;
    memset(&v, 0, sizeof(v));
    const int r = nw_cuda_dev_create(&v.d, 0, flags, msg, sizeof(msg));
    if (r == NUWA_ERR_UNSUPPORTED) {
        printf("skipped: %s\n", msg);
        fflush(stdout);
        cr_skip_test();
    }
    cr_assert_eq(r, 0, "nw_cuda_dev_create: %s (%s)", msg, errname(r));
    nw_ops_init_cuda(&v.ops);
    return v;
}

static Dev open_dev(void)
{
    return open_dev_flags(0);
}

static void close_dev(Dev *v)
{
    nw_cuda_dev_destroy(&v->d);
    cr_assert_null(v->d);
}

static float *halloc(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    cr_assert_not_null(p);
    return p;
}

/* A device buffer of n floats with GUARD guard floats on each side; returns the inner pointer.
 * data: initial contents (NULL: NaN). */
static float *dnew(Dev *v, const float *data, size_t n)
{
    void *p = NULL;
    const size_t tot = n + 2 * GUARD;
    cr_assert_eq(nw_cuda_malloc(v->d, &p, tot * sizeof(float)), 0, "cudaMalloc: %s", nw_cuda_dev_errmsg(v->d));
    float *h = halloc(tot);
    for (size_t i = 0; i < tot; i++)
        h[i] = GUARD_VAL;
    if (data)
        memcpy(h + GUARD, data, n * sizeof(float));
    else
        memset(h + GUARD, 0xff, n * sizeof(float));
    cr_assert_eq(nw_cuda_upload(v->d, p, h, tot * sizeof(float)), 0, "%s", nw_cuda_dev_errmsg(v->d));
    free(h);
    return (float *)p + GUARD;
}

static void *dnew_bytes(Dev *v, const void *data, size_t bytes)
{
    void *p = NULL;
    cr_assert_eq(nw_cuda_malloc(v->d, &p, bytes ? bytes : 1), 0, "%s", nw_cuda_dev_errmsg(v->d));
    if (bytes)
        cr_assert_eq(nw_cuda_upload(v->d, p, data, bytes), 0, "%s", nw_cuda_dev_errmsg(v->d));
    return p;
}

/* Waits for the queued ops and asserts none failed. */
static void sync_ok(Dev *v, const char *what)
{
    const int r = nw_cuda_dev_sync(v->d);
    cr_assert_eq(r, 0, "%s: %s (%s)", what, nw_cuda_dev_errmsg(v->d), errname(r));
}

/* Copies n floats back and checks the guards around them. */
static void dget(Dev *v, float *host, const float *dev, size_t n, const char *what)
{
    float *h = halloc(n + 2 * GUARD);
    cr_assert_eq(nw_cuda_download(v->d, h, dev - GUARD, (n + 2 * GUARD) * sizeof(float)), 0, "%s: %s", what,
                 nw_cuda_dev_errmsg(v->d));
    for (size_t i = 0; i < GUARD; i++) {
        cr_assert(h[i] == GUARD_VAL, "%s: wrote %zu floats before its output", what, GUARD - i);
        cr_assert(h[GUARD + n + i] == GUARD_VAL, "%s: wrote past its output (at +%zu)", what, i);
    }
    memcpy(host, h + GUARD, n * sizeof(float));
    free(h);
}

static void dfree(Dev *v, float *p)
{
    if (p)
        nw_cuda_free(v->d, p - GUARD);
}

static NwCtx ctx_for(Dev *v, size_t scratch)
{
    NwCtx c;
    cr_assert_eq(nw_cuda_ctx(v->d, scratch, &c), 0, "scratch arena: %s", nw_cuda_dev_errmsg(v->d));
    return c;
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

static void check_same(const char *what, const float *a, const float *b, size_t n)
{
    cr_expect(!memcmp(a, b, n * sizeof(float)), "%s: a second run differs (not deterministic)", what);
}

/* ---- conv2d ---------------------------------------------------------------------------- */

static const int conv_shapes[][9] = {
    /* cin h w cout kh kw stride pad act */
    {1, 1, 1, 1, 1, 1, 1, 0, 0},    {3, 7, 5, 4, 3, 3, 1, 1, 0},    {5, 9, 9, 7, 4, 4, 2, 1, 1},
    {3, 17, 17, 8, 5, 5, 1, 2, 0},  {16, 8, 8, 32, 1, 1, 1, 0, 1},  {2, 3, 3, 3, 3, 3, 2, 0, 0},
    {7, 33, 31, 5, 3, 3, 1, 1, 1},  {64, 16, 16, 64, 3, 3, 1, 1, 0}, {3, 40, 40, 16, 5, 5, 1, 2, 0},
    {8, 30, 30, 4, 1, 1, 1, 0, 0},  {1, 2, 70, 3, 1, 1, 1, 0, 1},   {4, 6, 6, 5, 4, 4, 2, 1, 1},
    {2, 1, 1, 3, 3, 3, 1, 1, 0},    {6, 5, 11, 2, 1, 3, 1, 0, 0},   {32, 64, 64, 16, 3, 3, 1, 1, 1},
    {9, 33, 35, 11, 3, 3, 1, 1, 1}, {8, 9, 301, 9, 3, 3, 1, 1, 0},  {4, 8, 8, 6, 1, 1, 2, 0, 1},
    /* im2col columns over the 8M-float cap: chunks of output pixels (GPU only: the emulator
     * build has smaller caps and reaches the chunks with the shapes above) */
    {64, 128, 128, 8, 3, 3, 1, 1, 1},
};

/* The CPU emulator of the kernels (build/nuwa_cuda_emu_tests) rather than a GPU. */
static int is_emulator(const Dev *v)
{
    return strstr(nw_cuda_dev_describe(v->d), "emulator") != NULL;
}

static void conv2d_on(int mode)
{
    Dev v = open_dev_flags(mode ? NW_CUDA_NO_CUDNN : 0);
    TRng r = {11};
    for (size_t si = 0; si < sizeof(conv_shapes) / sizeof(conv_shapes[0]); si++) {
        const int *s = conv_shapes[si];
        if (s[0] == 64 && s[1] == 128 && is_emulator(&v))
            continue;
        NwConv2d d = {s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8]};
        const int oh = nw_conv_out(d.h, d.kh, d.stride, d.pad), ow = nw_conv_out(d.w, d.kw, d.stride, d.pad);
        const size_t nin = (size_t)d.cin * d.h * d.w, nw = (size_t)d.cout * d.cin * d.kh * d.kw;
        const size_t nout = (size_t)d.cout * oh * ow;
        float *in = halloc(nin), *w = halloc(nw), *b = halloc(d.cout), *ref = halloc(nout), *got = halloc(nout);
        float *got2 = halloc(nout);
        fill_normal(&r, in, nin, 1.f);
        fill_normal(&r, w, nw, 0.3f);
        fill_normal(&r, b, d.cout, 0.5f);
        const int with_bias = si % 3 != 2;
        NwCtx rc = {1, NULL, 0, NULL};
        nw_conv2d_ref(&rc, &d, in, w, with_bias ? b : NULL, ref);
        float *din = dnew(&v, in, nin), *dw = dnew(&v, w, nw), *db = dnew(&v, b, d.cout), *dout = dnew(&v, NULL, nout);
        NwCtx c = ctx_for(&v, v.ops.conv2d_scratch(&d, 1));
        char what[128];
        snprintf(what, sizeof(what), "cuda%s conv2d #%zu (%dx%dx%d -> %d k%dx%d s%d p%d act%d)",
                 mode ? " (no cuDNN)" : "", si, d.cin, d.h, d.w, d.cout, d.kh, d.kw, d.stride, d.pad, d.act);
        for (int run = 0; run < 2; run++) {
            v.ops.conv2d(&c, &d, din, dw, with_bias ? db : NULL, dout);
            sync_ok(&v, what);
            dget(&v, run ? got2 : got, dout, nout, what);
        }
        check_rel_max(what, got, ref, nout, TOL_GEMM_REL_MAX);
        check_same(what, got, got2, nout);
        dfree(&v, din), dfree(&v, dw), dfree(&v, db), dfree(&v, dout);
        free(in), free(w), free(b), free(ref), free(got), free(got2);
    }
    long counts[3];
    nw_cuda_dev_conv_counts(v.d, counts);
    printf("%s: conv2d paths: %ld cuDNN, %ld im2col + cuBLAS, %ld 1x1 cuBLAS\n", nw_cuda_dev_describe(v.d),
           counts[0], counts[1], counts[2]);
    if (mode)
        cr_expect_eq(counts[0], 0, "NW_CUDA_NO_CUDNN: a convolution went to cuDNN");
    cr_expect_gt(counts[1] + counts[0], 0);
    close_dev(&v);
}

/* Both paths: cuDNN where the build and the device have it, and im2col + cuBLAS. */
Test(cuda, conv2d)
{
    conv2d_on(0);
    conv2d_on(1);
}

/* ---- matmul -------------------------------------------------------------------------------- */

Test(cuda, matmul)
{
    Dev v = open_dev();
    TRng r = {12};
    const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 300, 9}, {64, 256, 32}, {8, 513, 130}, {33, 1, 65},
                             {1, 1536, 512}, {5, 7, 0}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                const int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
                const int lda = (ta ? M : K) + (int)si % 2, ldb = (tb ? K : N) + 1, ldc = N + 3;
                const size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
                float *A = halloc(na), *B = halloc(nb), *bias = halloc(M), *ref = halloc(nc), *got = halloc(nc);
                fill_normal(&r, A, na, 1.f);
                fill_normal(&r, B, nb, 1.f);
                fill_normal(&r, bias, M, 1.f);
                fill_normal(&r, ref, nc, 1.f); /* the gaps between rows (ldc > N) must stay as they are */
                const float *bb = (si + ta) % 2 ? bias : NULL;
                float *dA = dnew(&v, A, na), *dB = dnew(&v, B, nb), *dbias = dnew(&v, bias, M), *dC = dnew(&v, ref, nc);
                NwCtx rc = {1, NULL, 0, NULL};
                nw_matmul_ref(&rc, M, N, K, A, lda, ta, B, ldb, tb, bb, ref, ldc);
                NwCtx c = ctx_for(&v, 0);
                v.ops.matmul(&c, M, N, K, dA, lda, ta, dB, ldb, tb, bb ? dbias : NULL, dC, ldc);
                char what[96];
                snprintf(what, sizeof(what), "cuda matmul %dx%dx%d ta%d tb%d bias%d", M, N, K, ta, tb, bb != NULL);
                sync_ok(&v, what);
                dget(&v, got, dC, nc, what);
                check_rel_max(what, got, ref, nc, TOL_GEMM_REL_MAX);
                dfree(&v, dA), dfree(&v, dB), dfree(&v, dbias), dfree(&v, dC);
                free(A), free(B), free(bias), free(ref), free(got);
            }
        }
    }
    close_dev(&v);
}

/* ---- normalisation ---------------------------------------------------------------------------- */

Test(cuda, group_norm)
{
    Dev v = open_dev();
    TRng r = {13};
    /* c, hw, groups: the last ones have groups of more than 32 stats chunks */
    const int shapes[][3] = {{4, 1, 1}, {8, 9, 4}, {32, 1000, 8}, {6, 7, 3}, {64, 256, 16}, {3, 5000, 1},
                             {64, 4096, 32}, {2, 300001, 1}, {7, 10, 2}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int c = shapes[si][0], hw = shapes[si][1], g = shapes[si][2];
        const size_t n = (size_t)c * hw;
        float *x = halloc(n), *ref = halloc(n), *got = halloc(n), *got2 = halloc(n), *ga = halloc(c), *be = halloc(c);
        fill_normal(&r, x, n, 3.f);
        for (size_t i = 0; i < n; i++)
            x[i] += 5.f; /* non-zero mean */
        fill_normal(&r, ga, c, 1.f);
        fill_normal(&r, be, c, 1.f);
        float *dga = dnew(&v, ga, c), *dbe = dnew(&v, be, c);
        for (int act = 0; act < 2; act++) {
            NwCtx rc = {1, NULL, 0, NULL};
            memcpy(ref, x, n * sizeof(float)); /* c % groups channels stay untouched */
            nw_group_norm_ref(&rc, x, ref, c, hw, g, ga, be, 1e-5f, act);
            char what[96];
            snprintf(what, sizeof(what), "cuda group_norm c%d hw%d g%d act%d", c, hw, g, act);
            for (int run = 0; run < 2; run++) {
                float *dx = dnew(&v, x, n);
                NwCtx cc = ctx_for(&v, 0);
                v.ops.group_norm(&cc, dx, dx, c, hw, g, dga, dbe, 1e-5f, act); /* in place */
                sync_ok(&v, what);
                dget(&v, run ? got2 : got, dx, n, what);
                dfree(&v, dx);
            }
            TCmp cm = compare_f32(what, got, ref, n, TOL_NORM_ABS, TOL_NORM_REL);
            cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
            check_same(what, got, got2, n);
        }
        dfree(&v, dga), dfree(&v, dbe);
        free(x), free(ref), free(got), free(got2), free(ga), free(be);
    }
    close_dev(&v);
}

Test(cuda, layer_norm_chan)
{
    Dev v = open_dev();
    TRng r = {14};
    const int shapes[][2] = {{1, 5}, {3, 100}, {64, 130}, {7, 1}, {512, 256}, {2, 65}, {256, 33}, {64, 4099}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int c = shapes[si][0], hw = shapes[si][1];
        const size_t n = (size_t)c * hw;
        float *x = halloc(n), *res = halloc(n), *ref = halloc(n), *got = halloc(n), *g = halloc(c), *b = halloc(c);
        fill_normal(&r, x, n, 2.f);
        fill_normal(&r, res, n, 1.f);
        fill_normal(&r, g, c, 1.f);
        fill_normal(&r, b, c, 1.f);
        float *dx = dnew(&v, x, n), *dg = dnew(&v, g, c), *db = dnew(&v, b, c);
        for (int with_res = 0; with_res < 2; with_res++) {
            NwCtx rc = {1, NULL, 0, NULL};
            nw_layer_norm_chan_ref(&rc, x, ref, c, hw, g, b, 1e-5f, with_res ? res : NULL);
            /* with a residual: output written over the residual, as the model does */
            float *dy = dnew(&v, res, n);
            NwCtx cc = ctx_for(&v, 0);
            v.ops.layer_norm_chan(&cc, dx, dy, c, hw, dg, db, 1e-5f, with_res ? dy : NULL);
            char what[96];
            snprintf(what, sizeof(what), "cuda layer_norm_chan c%d hw%d res%d", c, hw, with_res);
            sync_ok(&v, what);
            dget(&v, got, dy, n, what);
            TCmp cm = compare_f32(what, got, ref, n, TOL_NORM_ABS, TOL_NORM_REL);
            cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
            dfree(&v, dy);
        }
        dfree(&v, dx), dfree(&v, dg), dfree(&v, db);
        free(x), free(res), free(ref), free(got), free(g), free(b);
    }
    close_dev(&v);
}

Test(cuda, layer_norm_rows)
{
    Dev v = open_dev();
    TRng r = {21};
    const int shapes[][2] = {{1, 1}, {1, 4}, {7, 33}, {65, 512}, {3, 1000}, {2, 4097}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int n = shapes[si][0], d = shapes[si][1];
        const size_t nn = (size_t)n * d;
        float *x = halloc(nn), *ref = halloc(nn), *got = halloc(nn), *g = halloc(d), *b = halloc(d);
        fill_normal(&r, x, nn, 2.f);
        for (int i = 0; i < n; i++)
            x[(size_t)i * d] = 3.f + (float)i; /* a clearly positive row max for StableLayerNorm */
        fill_normal(&r, g, d, 1.f);
        fill_normal(&r, b, d, 1.f);
        float *dg = dnew(&v, g, d), *db = dnew(&v, b, d);
        for (int stable = 0; stable < 2; stable++) {
            NwCtx rc = {1, NULL, 0, NULL};
            nw_layer_norm_ref(&rc, x, ref, n, d, g, b, 1e-5f, stable);
            float *dx = dnew(&v, x, nn);
            NwCtx cc = ctx_for(&v, 0);
            v.ops.layer_norm(&cc, dx, dx, n, d, dg, db, 1e-5f, stable); /* in place */
            char what[96];
            snprintf(what, sizeof(what), "cuda layer_norm n%d d%d stable%d", n, d, stable);
            sync_ok(&v, what);
            dget(&v, got, dx, nn, what);
            TCmp cm = compare_f32(what, got, ref, nn, TOL_NORM_ABS, TOL_NORM_REL);
            cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
            dfree(&v, dx);
        }
        dfree(&v, dg), dfree(&v, db);
        free(x), free(ref), free(got), free(g), free(b);
    }
    close_dev(&v);
}

/* ---- elementwise ------------------------------------------------------------------------------- */

Test(cuda, elementwise)
{
    Dev v = open_dev();
    TRng r = {15};
    const size_t sizes[] = {1, 17, 40000, 65537};
    for (size_t si = 0; si < 4; si++) {
        const size_t n = sizes[si];
        float *x = halloc(2 * n), *y = halloc(n), *ref = halloc(2 * n), *got = halloc(2 * n);
        fill_normal(&r, x, 2 * n, 4.f);
        fill_normal(&r, y, n, 1.f);
        NwCtx rc = {1, NULL, 0, NULL};
        NwCtx cc = ctx_for(&v, 0);
        float *dx = dnew(&v, x, 2 * n), *dy = dnew(&v, y, n);
        char what[64];
        /* leaky relu */
        float *dt = dnew(&v, x, n);
        memcpy(ref, x, n * sizeof(float));
        nw_leaky_relu_ref(&rc, ref, n, 0.1f);
        v.ops.leaky_relu(&cc, dt, n, 0.1f);
        snprintf(what, sizeof(what), "cuda leaky_relu n%zu", n);
        sync_ok(&v, what);
        dget(&v, got, dt, n, what);
        cr_expect_eq(compare_f32(what, got, ref, n, TOL_EXACT, 0).n_bad, 0, "%s", what);
        dfree(&v, dt);
        /* add */
        dt = dnew(&v, x, n);
        memcpy(ref, x, n * sizeof(float));
        nw_add_ref(&rc, ref, y, n);
        v.ops.add(&cc, dt, dy, n);
        snprintf(what, sizeof(what), "cuda add n%zu", n);
        sync_ok(&v, what);
        dget(&v, got, dt, n, what);
        cr_expect_eq(compare_f32(what, got, ref, n, TOL_EXACT, 0).n_bad, 0, "%s", what);
        dfree(&v, dt);
        /* glu: x as (2, n) */
        dt = dnew(&v, NULL, n);
        nw_glu_ref(&rc, x, ref, 1, (int)n);
        v.ops.glu(&cc, dx, dt, 1, (int)n);
        snprintf(what, sizeof(what), "cuda glu n%zu", n);
        sync_ok(&v, what);
        dget(&v, got, dt, n, what);
        cr_expect_eq(compare_f32(what, got, ref, n, 1e-30, TOL_CUDA_EW_REL).n_bad, 0, "%s", what);
        dfree(&v, dt);
        dfree(&v, dx), dfree(&v, dy);
        free(x), free(y), free(ref), free(got);
    }
    /* GLU with several channels: in (2c, hw) */
    {
        const int c = 5, hw = 37;
        float *x = halloc(2 * c * hw), *ref = halloc(c * hw), *got = halloc(c * hw);
        fill_normal(&r, x, 2 * c * hw, 3.f);
        NwCtx rc = {1, NULL, 0, NULL};
        nw_glu_ref(&rc, x, ref, c, hw);
        float *dx = dnew(&v, x, 2 * c * hw), *dt = dnew(&v, NULL, c * hw);
        NwCtx cc = ctx_for(&v, 0);
        v.ops.glu(&cc, dx, dt, c, hw);
        sync_ok(&v, "cuda glu c5 hw37");
        dget(&v, got, dt, c * hw, "cuda glu c5 hw37");
        cr_expect_eq(compare_f32("cuda glu c5 hw37", got, ref, c * hw, 1e-30, TOL_CUDA_EW_REL).n_bad, 0);
        dfree(&v, dx), dfree(&v, dt);
        free(x), free(ref), free(got);
    }
    close_dev(&v);
}

Test(cuda, upsample2x)
{
    Dev v = open_dev();
    TRng r = {16};
    const int shapes[][3] = {{1, 1, 1}, {2, 1, 5}, {3, 4, 4}, {5, 7, 3}, {2, 16, 16}, {64, 32, 32}, {1, 3, 2100}};
    for (size_t si = 0; si < 7; si++) {
        const int c = shapes[si][0], h = shapes[si][1], w = shapes[si][2];
        const size_t n = (size_t)c * h * w;
        float *x = halloc(n), *ref = halloc(4 * n), *got = halloc(4 * n);
        fill_normal(&r, x, n, 1.f);
        NwCtx rc = {1, NULL, 0, NULL};
        nw_upsample2x_ref(&rc, x, ref, c, h, w);
        float *dx = dnew(&v, x, n), *dy = dnew(&v, NULL, 4 * n);
        NwCtx cc = ctx_for(&v, 0);
        v.ops.upsample2x(&cc, dx, dy, c, h, w);
        char what[64];
        snprintf(what, sizeof(what), "cuda upsample2x %dx%dx%d", c, h, w);
        sync_ok(&v, what);
        dget(&v, got, dy, 4 * n, what);
        /* same weights, same operation order, no FMA contraction: exact */
        TCmp cm = compare_f32(what, got, ref, 4 * n, TOL_EXACT, 0);
        cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
        dfree(&v, dx), dfree(&v, dy);
        free(x), free(ref), free(got);
    }
    close_dev(&v);
}

Test(cuda, geglu)
{
    Dev v = open_dev();
    TRng r = {22};
    const int shapes[][2] = {{1, 1}, {3, 85}, {64, 1365}, {2, 2048}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int n = shapes[si][0], f = shapes[si][1];
        float *u = halloc((size_t)n * 2 * f), *ref = halloc((size_t)n * f), *got = halloc((size_t)n * f);
        fill_normal(&r, u, (size_t)n * 2 * f, 3.f);
        NwCtx rc = {1, NULL, 0, NULL};
        nw_geglu_ref(&rc, u, ref, n, f);
        float *du = dnew(&v, u, (size_t)n * 2 * f), *da = dnew(&v, NULL, (size_t)n * f);
        NwCtx cc = ctx_for(&v, 0);
        v.ops.geglu(&cc, du, da, n, f);
        char what[64];
        snprintf(what, sizeof(what), "cuda geglu n%d f%d", n, f);
        sync_ok(&v, what);
        dget(&v, got, da, (size_t)n * f, what);
        TCmp cm = compare_f32(what, got, ref, (size_t)n * f, 1e-6, 1e-5);
        cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
        dfree(&v, du), dfree(&v, da);
        free(u), free(ref), free(got);
    }
    close_dev(&v);
}

/* ---- VQGAN attention and vector quantisation ------------------------------------------------- */

Test(cuda, vqgan_attn)
{
    Dev v = open_dev();
    TRng r = {17};
    const int shapes[][3] = {{1, 1, 1}, {2, 8, 16}, {3, 5, 9}, {8, 16, 64}, {2, 64, 256}, {1, 3, 300}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int h = shapes[si][0], dh = shapes[si][1], n = shapes[si][2];
        const size_t nq = (size_t)3 * h * dh * n, no = (size_t)h * dh * n;
        float *qkv = halloc(nq), *scale = halloc(h), *bias = halloc((size_t)h * n * n);
        float *ref = halloc(no), *got = halloc(no), *got2 = halloc(no);
        fill_normal(&r, qkv, nq, 1.f);
        for (int i = 0; i < h; i++)
            scale[i] = 2.f + 4.f * trng_unif(&r);
        fill_normal(&r, bias, (size_t)h * n * n, 1.f);
        float *dqkv = dnew(&v, qkv, nq), *dscale = dnew(&v, scale, h), *dbias = dnew(&v, bias, (size_t)h * n * n);
        for (int wb = 0; wb < 2; wb++) {
            NwCtx rc = {1, halloc(nw_vqgan_attn_scratch_ref(h, dh, n, 1)), nw_vqgan_attn_scratch_ref(h, dh, n, 1), NULL};
            nw_vqgan_attn_ref(&rc, qkv, ref, h, dh, n, scale, wb ? bias : NULL);
            free(rc.scratch);
            char what[96];
            snprintf(what, sizeof(what), "cuda vqgan_attn h%d dh%d n%d bias%d", h, dh, n, wb);
            for (int run = 0; run < 2; run++) {
                float *dout = dnew(&v, NULL, no);
                NwCtx cc = ctx_for(&v, v.ops.vqgan_attn_scratch(h, dh, n, 1));
                v.ops.vqgan_attn(&cc, dqkv, dout, h, dh, n, dscale, wb ? dbias : NULL);
                sync_ok(&v, what);
                dget(&v, run ? got2 : got, dout, no, what);
                dfree(&v, dout);
            }
            check_rel_max(what, got, ref, no, TOL_ATTN_REL_MAX);
            check_same(what, got, got2, no);
        }
        /* qkv is not modified */
        float *back = halloc(nq);
        dget(&v, back, dqkv, nq, "vqgan_attn qkv");
        cr_expect(!memcmp(back, qkv, nq * sizeof(float)), "vqgan_attn modified qkv");
        free(back);
        dfree(&v, dqkv), dfree(&v, dscale), dfree(&v, dbias);
        free(qkv), free(scale), free(bias), free(ref), free(got), free(got2);
    }
    close_dev(&v);
}

Test(cuda, vq_assign)
{
    Dev v = open_dev();
    TRng r = {18};
    const int shapes[][3] = {{1, 1, 1}, {8, 20, 32}, {4, 300, 16}, {32, 64, 512}, {256, 256, 512}, {3, 129, 2},
                             {16, 40, 1000}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int cd = shapes[si][0], n = shapes[si][1], K = shapes[si][2];
        const size_t nx = (size_t)cd * n;
        float *x = halloc(nx), *xr = halloc(nx), *xg = halloc(nx), *E = halloc((size_t)K * cd), *sq = halloc(K);
        float *mref = halloc(n), *mgot = halloc(n);
        int32_t *iref = malloc(sizeof(int32_t) * n), *igot = malloc(sizeof(int32_t) * n),
                *igot2 = malloc(sizeof(int32_t) * n);
        for (int cosine = 0; cosine < 2; cosine++) {
            fill_normal(&r, x, nx, 1.f);
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
            memcpy(xr, x, sizeof(float) * nx);
            NwCtx rc = {1, NULL, 0, NULL};
            nw_vq_assign_ref(&rc, xr, cd, n, E, K, sq, cosine, iref, mref);
            float *dE = dnew(&v, E, (size_t)K * cd), *dsq = dnew(&v, sq, K), *dm = dnew(&v, NULL, n);
            int32_t *di = dnew_bytes(&v, iref, sizeof(int32_t) * n);
            char what[96];
            snprintf(what, sizeof(what), "cuda vq_assign cd%d n%d K%d cos%d", cd, n, K, cosine);
            for (int run = 0; run < 2; run++) {
                float *dx = dnew(&v, x, nx);
                NwCtx cc = ctx_for(&v, v.ops.vq_assign_scratch(cd, n, K, 1));
                cr_assert_eq(nw_cuda_memset(v.d, di, 0xff, sizeof(int32_t) * n), 0);
                v.ops.vq_assign(&cc, dx, cd, n, dE, K, dsq, cosine, di, dm);
                sync_ok(&v, what);
                cr_assert_eq(nw_cuda_download(v.d, run ? igot2 : igot, di, sizeof(int32_t) * n), 0);
                if (!run) {
                    dget(&v, mgot, dm, n, what);
                    dget(&v, xg, dx, nx, what);
                }
                dfree(&v, dx);
            }
            int bad = 0, dup = 0;
            for (int i = 0; i < n; i++) {
                bad += igot[i] != iref[i] && mref[i] > TOL_GOLDEN_TIE;
                dup += K > 2 && igot[i] == K - 1;
            }
            cr_expect_eq(bad, 0, "%s: %d indices differ", what, bad);
            cr_expect_eq(dup, 0, "%s: duplicate code: the first index must win", what);
            cr_expect(!memcmp(igot, igot2, sizeof(int32_t) * n), "%s: a second run differs", what);
            /* margins where the winner agrees; x normalised in place with cosine, untouched otherwise */
            TCmp cm = compare_f32(what, mgot, mref, n, 1e-4, 1e-4);
            cr_expect_eq(cm.n_bad, 0, "%s margins: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
            cm = compare_f32(what, xg, xr, nx, 1e-7, 1e-6);
            cr_expect_eq(cm.n_bad, 0, "%s x after: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
            dfree(&v, dE), dfree(&v, dsq), dfree(&v, dm);
            nw_cuda_free(v.d, di);
        }
        free(x), free(xr), free(xg), free(E), free(sq), free(mref), free(mgot), free(iref), free(igot), free(igot2);
    }
    close_dev(&v);
}

/* ---- transformer attention ------------------------------------------------------------------- */

Test(cuda, attn_null)
{
    Dev v = open_dev();
    TRng r = {23};
    /* n, m, heads, dh; the last one's table (8 x 2101 floats) exceeds 64 KiB: global fallback on
     * devices (and the emulator) without that much shared memory */
    const int shapes[][4] = {{1, 1, 1, 1}, {7, 7, 2, 16}, {33, 5, 3, 8}, {20, 64, 8, 64}, {1, 256, 8, 64},
                             {3, 0, 2, 5}, {3, 2100, 8, 8}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int n = shapes[si][0], m = shapes[si][1], h = shapes[si][2], dh = shapes[si][3];
        const int inner = h * dh, ldq = inner + 3, ldk = 2 * inner + 1;
        const size_t nq = (size_t)n * ldq, nkv = (size_t)(m ? m : 1) * ldk, no = (size_t)n * inner;
        float *q = halloc(nq), *kv = halloc(nkv), *nk = halloc(inner), *nvv = halloc(inner);
        float *th = halloc((size_t)h * h), *ref = halloc(no), *got = halloc(no);
        uint8_t *keep = malloc(m ? m : 1);
        fill_normal(&r, q, nq, 1.f);
        fill_normal(&r, kv, nkv, 1.f);
        fill_normal(&r, nk, inner, 1.f);
        fill_normal(&r, nvv, inner, 1.f);
        fill_normal(&r, th, (size_t)h * h, 0.5f);
        float *dq = dnew(&v, q, nq), *dkv = dnew(&v, kv, nkv), *dnk = dnew(&v, nk, inner), *dnv = dnew(&v, nvv, inner);
        float *dth = dnew(&v, th, (size_t)h * h);
        for (int masked = 0; masked < 3; masked++) {
            for (int j = 0; j < m; j++)
                keep[j] = masked == 2 ? 0 : (j % 3) != 2; /* 2: unconditional, only the null key */
            const uint8_t *kp = masked == 0 ? NULL : keep;
            uint8_t *dkeep = dnew_bytes(&v, keep, m);
            NwCtx rc = {1, halloc(nw_attn_null_scratch_ref(n, m, h, 1)), nw_attn_null_scratch_ref(n, m, h, 1), NULL};
            nw_attn_null_ref(&rc, q, ldq, kv, ldk, kv + inner, ldk, n, m, h, dh, nk, nvv, kp, th, 0.25f, ref, inner);
            free(rc.scratch);
            float *dout = dnew(&v, NULL, no);
            NwCtx cc = ctx_for(&v, v.ops.attn_null_scratch(n, m, h, 1));
            v.ops.attn_null(&cc, dq, ldq, dkv, ldk, dkv + inner, ldk, n, m, h, dh, dnk, dnv, kp ? dkeep : NULL, dth,
                            0.25f, dout, inner);
            char what[96];
            snprintf(what, sizeof(what), "cuda attn_null n%d m%d h%d dh%d mask%d", n, m, h, dh, masked);
            sync_ok(&v, what);
            dget(&v, got, dout, no, what);
            check_rel_max(what, got, ref, no, TOL_ATTN_REL_MAX);
            dfree(&v, dout);
            nw_cuda_free(v.d, dkeep);
        }
        dfree(&v, dq), dfree(&v, dkv), dfree(&v, dnk), dfree(&v, dnv), dfree(&v, dth);
        free(q), free(kv), free(nk), free(nvv), free(th), free(ref), free(got), free(keep);
    }
    close_dev(&v);
}

Test(cuda, attn_gather)
{
    Dev v = open_dev();
    TRng r = {24};
    /* n queries, nk keys per query, rows of k/v, heads, dh; (5,3,3) 3DNA = 45 keys, 8 x 64 heads */
    const int shapes[][5] = {{1, 1, 1, 1, 1},     {9, 27, 40, 2, 16},  {16, 45, 100, 4, 8},
                             {3, 125, 300, 8, 64}, {1, 45, 2560, 8, 64}, {5, 0, 3, 3, 7},
                             {4, 33, 50, 5, 40}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int n = shapes[si][0], nk = shapes[si][1], rows = shapes[si][2], h = shapes[si][3], dh = shapes[si][4];
        const int inner = h * dh, ld = 2 * inner;
        const size_t nq = (size_t)n * inner, nkv = (size_t)rows * ld, nb = (size_t)(nk ? nk : 1) * h;
        float *q = halloc(nq), *kv = halloc(nkv), *bos = halloc(2 * inner), *bias = halloc(nb), *th = halloc((size_t)h * h);
        float *ref = halloc(nq), *got = halloc(nq), *got2 = halloc(nq);
        int32_t *idx = malloc(sizeof(int32_t) * ((size_t)n * nk + 1));
        fill_normal(&r, q, nq, 1.f);
        fill_normal(&r, kv, nkv, 1.f);
        fill_normal(&r, bos, 2 * inner, 1.f);
        fill_normal(&r, bias, nb, 1.f);
        fill_normal(&r, th, (size_t)h * h, 0.5f);
        for (int i = 0; i < n * nk; i++)
            idx[i] = (trng_next(&r) % 4 == 0) ? -1 : (int32_t)(trng_next(&r) % rows);
        float *dq = dnew(&v, q, nq), *dkv = dnew(&v, kv, nkv), *dbos = dnew(&v, bos, 2 * inner), *dbias = dnew(&v, bias, nb);
        float *dth = dnew(&v, th, (size_t)h * h);
        int32_t *didx = dnew_bytes(&v, idx, sizeof(int32_t) * n * nk);
        for (int wb = 0; wb < 2; wb++) {
            NwCtx rc = {1, NULL, 0, NULL};
            nw_attn_gather_ref(&rc, q, inner, kv, ld, kv + inner, ld, bos, bos + inner, idx, n, nk, h, dh,
                               wb ? bias : NULL, th, 0.3f, ref, inner);
            char what[96];
            snprintf(what, sizeof(what), "cuda attn_gather n%d nk%d h%d dh%d bias%d", n, nk, h, dh, wb);
            for (int run = 0; run < 2; run++) {
                float *dout = dnew(&v, NULL, nq);
                NwCtx cc = ctx_for(&v, 0);
                v.ops.attn_gather(&cc, dq, inner, dkv, ld, dkv + inner, ld, dbos, dbos + inner, didx, n, nk, h, dh,
                                  wb ? dbias : NULL, dth, 0.3f, dout, inner);
                sync_ok(&v, what);
                dget(&v, run ? got2 : got, dout, nq, what);
                dfree(&v, dout);
            }
            check_rel_max(what, got, ref, nq, TOL_ATTN_REL_MAX);
            check_same(what, got, got2, nq);
        }
        dfree(&v, dq), dfree(&v, dkv), dfree(&v, dbos), dfree(&v, dbias), dfree(&v, dth);
        nw_cuda_free(v.d, didx);
        free(q), free(kv), free(bos), free(bias), free(th), free(ref), free(got), free(got2), free(idx);
    }
    close_dev(&v);
}

/* ---- the device context ------------------------------------------------------------------------ */

Test(cuda, device_errors)
{
    Dev v = open_dev();
    char msg[320];
    int count = 0;
    cr_assert_eq(nw_cuda_device_count(&count, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_geq(count, 1);
    /* an index past the last device */
    NwCudaDev *bad = NULL;
    cr_expect_eq(nw_cuda_dev_create(&bad, count, 0, msg, sizeof(msg)), NUWA_ERR_INVAL);
    cr_expect_null(bad);
    cr_expect(strstr(msg, "no such device") != NULL, "message: %s", msg);
    cr_expect_eq(nw_cuda_dev_create(&bad, -1, 0, msg, sizeof(msg)), NUWA_ERR_INVAL);
    cr_expect(strlen(nw_cuda_dev_describe(v.d)) > 0);
    for (int i = 0; i < count; i++) {
        cr_expect_eq(nw_cuda_device_info(i, msg, sizeof(msg)), 0, "%s", msg);
        printf("cuda:%d: %s\n", i, msg);
    }
    cr_expect_eq(nw_cuda_device_info(count, msg, sizeof(msg)), NUWA_ERR_INVAL);
    cr_expect(strstr(msg, "no such device") != NULL, "message: %s", msg);

    /* out of device memory: an error code and a message, and the context stays usable */
    void *huge = NULL;
    cr_expect_eq(nw_cuda_malloc(v.d, &huge, (size_t)1 << 50), NUWA_ERR_NOMEM);
    cr_expect_null(huge);
    cr_expect(strstr(nw_cuda_dev_errmsg(v.d), "out of device memory") != NULL, "message: %s",
              nw_cuda_dev_errmsg(v.d));
    nw_cuda_dev_clear_error(v.d);
    NwCtx hc;
    cr_expect_eq(nw_cuda_ctx(v.d, (size_t)1 << 48, &hc), NUWA_ERR_NOMEM, "%s", nw_cuda_dev_errmsg(v.d));
    nw_cuda_dev_clear_error(v.d);

    /* an unsupported op records an error; later ops are no-ops until it is cleared */
    float *buf = dnew(&v, NULL, 1024);
    NwCtx c = ctx_for(&v, 0);
    int32_t *didx = dnew_bytes(&v, (int32_t[4]){0, 0, 0, 0}, sizeof(int32_t) * 4);
    v.ops.attn_gather(&c, buf, 65, buf, 65, buf, 65, buf, buf, didx, 1, 1, 65, 1, NULL, NULL, 1.f, buf, 65);
    cr_expect_eq(nw_cuda_dev_error(v.d), NUWA_ERR_UNSUPPORTED, "heads > 64: %s", nw_cuda_dev_errmsg(v.d));
    cr_expect(strstr(nw_cuda_dev_errmsg(v.d), "attn_gather") != NULL, "message: %s", nw_cuda_dev_errmsg(v.d));
    float one = 1.f, got = 0.f;
    cr_assert_eq(nw_cuda_dev_sync(v.d), NUWA_ERR_UNSUPPORTED);
    nw_cuda_dev_clear_error(v.d);
    cr_assert_eq(nw_cuda_upload(v.d, buf, &one, sizeof(float)), 0);
    /* scratch too small */
    NwConv2d cd = {3, 8, 8, 4, 3, 3, 1, 1, 0};
    NwCtx small = c;
    small.scratch_len = 0;
    v.ops.conv2d(&small, &cd, buf, buf, NULL, buf);
    cr_expect_eq(nw_cuda_dev_sync(v.d), NUWA_ERR_INVAL, "scratch: %s", nw_cuda_dev_errmsg(v.d));
    v.ops.leaky_relu(&c, buf, 1, 0.5f); /* skipped: an error is recorded */
    nw_cuda_dev_clear_error(v.d);
    cr_assert_eq(nw_cuda_download(v.d, &got, buf, sizeof(float)), 0);
    cr_expect(got == 1.f, "an op ran while an error was recorded");
    /* a context without a device does nothing and does not crash */
    NwCtx none = {1, NULL, 0, NULL};
    v.ops.add(&none, buf, buf, 1);
    cr_expect_eq(nw_cuda_dev_sync(v.d), 0);
    nw_cuda_free(v.d, didx);
    dfree(&v, buf);
    close_dev(&v);
    nw_cuda_dev_destroy(&v.d); /* &NULL: no-op */
}
