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
        NwCtx rc = {1, NULL, 0, NULL, NULL};
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
                NwCtx rc = {1, NULL, 0, NULL, NULL};
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
            NwCtx rc = {1, NULL, 0, NULL, NULL};
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
            NwCtx rc = {1, NULL, 0, NULL, NULL};
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
            NwCtx rc = {1, NULL, 0, NULL, NULL};
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
        NwCtx rc = {1, NULL, 0, NULL, NULL};
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
        NwCtx rc = {1, NULL, 0, NULL, NULL};
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
        NwCtx rc = {1, NULL, 0, NULL, NULL};
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
        NwCtx rc = {1, NULL, 0, NULL, NULL};
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
            NwCtx rc = {1, halloc(nw_vqgan_attn_scratch_ref(h, dh, n, 1)), nw_vqgan_attn_scratch_ref(h, dh, n, 1), NULL, NULL};
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
            NwCtx rc = {1, NULL, 0, NULL, NULL};
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
            NwCtx rc = {1, halloc(nw_attn_null_scratch_ref(n, m, h, 1)), nw_attn_null_scratch_ref(n, m, h, 1), NULL, NULL};
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
            NwCtx rc = {1, NULL, 0, NULL, NULL};
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

/* ---- memory and status slots ---------------------------------------------------------------- */

Test(cuda, memory_slots)
{
    Dev v = open_dev();
    NwXfer xf;
    memset(&xf, 0, sizeof(xf));
    NwCtx c = ctx_for(&v, 0);
    c.xfer = &xf;
    const size_t n = 1000;
    float *h = halloc(n), *back = halloc(n);
    for (size_t i = 0; i < n; i++)
        h[i] = (float)i - 0.5f;
    /* mem_alloc: aligned device memory the ops can use */
    float *a = v.ops.mem_alloc(&c, n * sizeof(float));
    cr_assert_not_null(a, "mem_alloc: %s", nw_cuda_dev_errmsg(v.d));
    cr_expect_eq((uintptr_t)a % 64, 0, "mem_alloc: not 64-byte aligned");
    v.ops.upload(&c, a, h, n * sizeof(float));
    cr_expect_eq(xf.uploads, 1);
    cr_expect_eq(xf.up_bytes, n * sizeof(float));
    v.ops.upload(&c, a, h, 0); /* counted like the host slot, even when empty */
    cr_expect_eq(xf.uploads, 2);
    cr_expect_eq(xf.up_bytes, n * sizeof(float));
    /* copy (device -> device, into a guarded buffer: 3 floats from offset 7) and fill */
    float *g = dnew(&v, NULL, 5);
    v.ops.copy(&c, g + 1, a + 7, 3 * sizeof(float));
    v.ops.fill(&c, g, 0, sizeof(float));            /* 0.0f */
    v.ops.fill(&c, g + 4, 0xff, sizeof(float));     /* NaN bytes */
    v.ops.add(&c, a, a, n);                          /* an op on mem_alloc'ed memory */
    char msg[320] = "x";
    cr_expect_eq(v.ops.sync(&c, msg, sizeof(msg)), 0, "%s", msg);
    cr_expect_str_eq(msg, "");
    float got[5];
    dget(&v, got, g, 5, "copy/fill");
    cr_expect(got[0] == 0.f && got[1] == 6.5f && got[2] == 7.5f && got[3] == 8.5f, "copy/fill: %g %g %g %g",
              got[0], got[1], got[2], got[3]);
    uint32_t bits;
    memcpy(&bits, &got[4], 4);
    cr_expect_eq(bits, 0xffffffffu, "fill 0xff");
    v.ops.download(&c, back, a, n * sizeof(float));
    cr_expect_eq(xf.downloads, 1);
    cr_expect_eq(xf.down_bytes, n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        cr_assert(back[i] == 2.f * h[i], "download [%zu]: %g", i, back[i]);
    /* without a counter nothing is counted, and the transfers still happen */
    c.xfer = NULL;
    v.ops.download(&c, back, a, sizeof(float));
    cr_expect_eq(xf.downloads, 1);
    cr_expect(back[0] == -1.f);
    /* allocation failure: NULL, recorded, returned by sync with its message, then cleared */
    cr_expect_null(v.ops.mem_alloc(&c, (size_t)1 << 50));
    cr_expect_eq(v.ops.sync(&c, msg, sizeof(msg)), NUWA_ERR_NOMEM);
    cr_expect(strstr(msg, "out of device memory") != NULL, "message: %s", msg);
    cr_expect_eq(v.ops.sync(&c, msg, sizeof(msg)), 0, "sync clears the error: %s", msg);
    cr_expect_eq(v.ops.sync(&c, NULL, 0), 0);
    /* an error recorded by an op comes back through sync too */
    v.ops.sample(&c, a, 0, NULL, NULL, NULL);
    cr_expect_eq(v.ops.sync(&c, msg, 8), NUWA_ERR_INVAL);
    cr_expect_eq(strlen(msg), 7, "message truncated to the buffer: %s", msg);
    /* no device context */
    NwCtx none = {1, NULL, 0, NULL, NULL};
    cr_expect_eq(v.ops.sync(&none, msg, sizeof(msg)), NUWA_ERR_INVAL);
    cr_expect_null(v.ops.mem_alloc(&none, 16));
    v.ops.mem_free(&c, NULL);
    v.ops.mem_free(&c, a);
    dfree(&v, g);
    free(h), free(back);
    close_dev(&v);
}

/* ---- transformer rows ------------------------------------------------------------------------- */

Test(cuda, linear)
{
    Dev v = open_dev();
    TRng r = {25};
    /* n, i, o */
    const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {1, 512, 1536}, {64, 256, 129}, {5, 0, 3},
                             {2, 97, 1}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int n = shapes[si][0], ni = shapes[si][1], o = shapes[si][2];
        const size_t nx = (size_t)n * ni, nw = (size_t)o * ni, ny = (size_t)n * o;
        float *x = halloc(nx), *W = halloc(nw), *b = halloc(o), *ref = halloc(ny), *got = halloc(ny), *got2 = halloc(ny);
        fill_normal(&r, x, nx, 1.f);
        fill_normal(&r, W, nw, 0.5f);
        fill_normal(&r, b, o, 1.f);
        float *dx = dnew(&v, x, nx), *dW = dnew(&v, W, nw), *db = dnew(&v, b, o);
        for (int wb = 0; wb < 2; wb++) {
            NwCtx rc = {1, NULL, 0, NULL, NULL};
            nw_linear_ref(&rc, x, n, ni, W, o, wb ? b : NULL, ref);
            char what[96];
            snprintf(what, sizeof(what), "cuda linear n%d i%d o%d bias%d", n, ni, o, wb);
            for (int run = 0; run < 2; run++) {
                float *dy = dnew(&v, NULL, ny);
                NwCtx cc = ctx_for(&v, 0);
                v.ops.linear(&cc, dx, n, ni, dW, o, wb ? db : NULL, dy);
                sync_ok(&v, what);
                dget(&v, run ? got2 : got, dy, ny, what);
                dfree(&v, dy);
            }
            if (ni == 0 && !wb)
                for (size_t e = 0; e < ny; e++)
                    cr_expect(got[e] == 0.f, "%s: an empty sum is 0", what);
            check_rel_max(what, got, ref, ny, TOL_GEMM_REL_MAX);
            check_same(what, got, got2, ny);
        }
        dfree(&v, dx), dfree(&v, dW), dfree(&v, db);
        free(x), free(W), free(b), free(ref), free(got), free(got2);
    }
    close_dev(&v);
}

Test(cuda, embed)
{
    Dev v = open_dev();
    TRng r = {26};
    /* table rows, d, n */
    const int shapes[][3] = {{1, 1, 1}, {10, 3, 7}, {300, 33, 100}, {50, 512, 5}, {8, 5, 1}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int rows = shapes[si][0], d = shapes[si][1], n = shapes[si][2];
        const size_t nt = (size_t)rows * d, no = (size_t)n * d;
        float *tab = halloc(nt), *add = halloc(no), *ref = halloc(no), *got = halloc(no);
        int32_t *ids = malloc(sizeof(int32_t) * n);
        fill_normal(&r, tab, nt, 1.f);
        fill_normal(&r, add, no, 1.f);
        for (int i = 0; i < n; i++)
            ids[i] = i == n - 1 ? rows - 1 : (int32_t)(trng_next(&r) % rows); /* the last row too */
        float *dtab = dnew(&v, tab, nt), *dadd = dnew(&v, add, no);
        int32_t *dids = dnew_bytes(&v, ids, sizeof(int32_t) * n);
        for (int mode = 0; mode < 4; mode++) {
            const int wa = mode & 1, trans = mode >> 1;
            NwCtx rc = {1, NULL, 0, NULL, NULL};
            nw_embed_ref(&rc, tab, d, ids, n, wa ? add : NULL, ref, trans);
            float *dout = dnew(&v, NULL, no);
            NwCtx cc = ctx_for(&v, 0);
            v.ops.embed(&cc, dtab, d, dids, n, wa ? dadd : NULL, dout, trans);
            char what[96];
            snprintf(what, sizeof(what), "cuda embed rows%d d%d n%d add%d trans%d", rows, d, n, wa, trans);
            sync_ok(&v, what);
            dget(&v, got, dout, no, what);
            TCmp cm = compare_f32(what, got, ref, no, TOL_EXACT, 0);
            cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
            dfree(&v, dout);
        }
        dfree(&v, dtab), dfree(&v, dadd);
        nw_cuda_free(v.d, dids);
        free(tab), free(add), free(ref), free(got), free(ids);
    }
    close_dev(&v);
}

Test(cuda, rotary)
{
    Dev v = open_dev();
    TRng r = {27};
    /* n, heads, dh, rot, extra row stride, p0 */
    const int shapes[][6] = {{1, 1, 2, 2, 0, 0}, {5, 2, 8, 8, 3, 7}, {9, 3, 10, 5, 1, 0}, {33, 8, 64, 32, 0, 5000},
                             {2, 8, 64, 64, 17, 123456}, {4, 1, 7, 6, 0, 1}, {3, 2, 4, 1, 0, 9}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int n = shapes[si][0], h = shapes[si][1], dh = shapes[si][2], rot = shapes[si][3];
        const int ld = h * dh + shapes[si][4], p0 = shapes[si][5], hr = rot / 2;
        const size_t nx = (size_t)n * ld;
        float *x = halloc(nx), *ref = halloc(nx), *got = halloc(nx), *got2 = halloc(nx), *f = halloc(hr ? hr : 1);
        fill_normal(&r, x, nx, 1.f);
        for (int k = 0; k < hr; k++)
            f[k] = powf(10000.f, -2.f * k / rot);
        memcpy(ref, x, nx * sizeof(float));
        NwCtx rc = {1, NULL, 0, NULL, NULL};
        nw_rotary_ref(&rc, ref, n, ld, h, dh, rot, f, p0);
        float *df = dnew(&v, f, hr ? hr : 1);
        char what[96];
        snprintf(what, sizeof(what), "cuda rotary n%d h%d dh%d rot%d ld%d p0 %d", n, h, dh, rot, ld, p0);
        for (int run = 0; run < 2; run++) {
            float *dx = dnew(&v, x, nx);
            NwCtx cc = ctx_for(&v, 0);
            v.ops.rotary(&cc, dx, n, ld, h, dh, rot, df, p0);
            sync_ok(&v, what);
            dget(&v, run ? got2 : got, dx, nx, what);
            dfree(&v, dx);
        }
        /* CUDA's cosf/sinf are within 2 ulp of glibc's (the emulator uses glibc's: exact);
         * features outside the rotated ones are compared exactly */
        TCmp cm = compare_f32(what, got, ref, nx, 1e-6, 1e-6);
        cr_expect_eq(cm.n_bad, 0, "%s: %zu off, max err %.3g", what, cm.n_bad, cm.max_err);
        size_t moved = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < ld; j++) {
                const int hd = j / dh, c = j % dh;
                const size_t e = (size_t)i * ld + j;
                if (hd >= h || c >= 2 * hr)
                    moved += got[e] != x[e];
            }
        cr_expect_eq(moved, 0, "%s: %zu features outside the rotated ones changed", what, moved);
        check_same(what, got, got2, nx);
        dfree(&v, df);
        free(x), free(ref), free(got), free(got2), free(f);
    }
    close_dev(&v);
}

Test(cuda, token_shift)
{
    Dev v = open_dev();
    TRng r = {28};
    /* cap, p0, n, d, fmap (T = fmap^2): p0 = 0 (bos), rings that wrap, p0 > cap, d not a multiple of 4 */
    const int shapes[][5] = {{1, 0, 1, 1, 1},     {7, 0, 7, 5, 2},      {16, 3, 10, 4, 3},   {9, 20, 9, 33, 3},
                             {40, 100, 40, 512, 4}, {5, 1234, 1, 6, 8}, {64, 17, 64, 3, 8}, {3, 2, 3, 2, 1}};
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int cap = shapes[si][0], p0 = shapes[si][1], n = shapes[si][2], d = shapes[si][3],
                  fmap = shapes[si][4], T = fmap * fmap;
        const size_t nr = (size_t)cap * d, no = (size_t)n * d;
        float *ring = halloc(nr), *ref = halloc(no), *got = halloc(no), *back = halloc(nr);
        fill_normal(&r, ring, nr, 1.f);
        NwCtx rc = {1, NULL, 0, NULL, NULL};
        nw_token_shift_ref(&rc, ring, cap, p0, n, d, fmap, T, ref);
        float *dring = dnew(&v, ring, nr), *dout = dnew(&v, NULL, no);
        NwCtx cc = ctx_for(&v, 0);
        v.ops.token_shift(&cc, dring, cap, p0, n, d, fmap, T, dout);
        char what[96];
        snprintf(what, sizeof(what), "cuda token_shift cap%d p0 %d n%d d%d fmap%d", cap, p0, n, d, fmap);
        sync_ok(&v, what);
        dget(&v, got, dout, no, what);
        cr_expect(!memcmp(got, ref, no * sizeof(float)), "%s: differs from the reference", what);
        dget(&v, back, dring, nr, what);
        cr_expect(!memcmp(back, ring, nr * sizeof(float)), "%s: the ring was modified", what);
        dfree(&v, dring), dfree(&v, dout);
        free(ring), free(ref), free(got), free(back);
    }
    close_dev(&v);
}

Test(cuda, attn_3dna)
{
    Dev v = open_dev();
    TRng r = {29};
    /* kf kh kw dil fmap cap | t0 n heads dh */
    const int shapes[][10] = {
        {1, 1, 1, 1, 1, 1, 0, 1, 1, 1},      {3, 3, 3, 2, 4, 50, 0, 20, 2, 8},   {3, 3, 3, 2, 4, 50, 37, 9, 8, 16},
        {5, 3, 3, 1, 8, 256, 300, 5, 8, 64}, {5, 5, 5, 1, 3, 40, 61, 4, 4, 5},  {2, 1, 3, 3, 5, 30, 7, 33, 3, 3},
    };
    for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
        const int *s = shapes[si];
        const NwDna g = {s[0], s[1], s[2], s[3], s[4], s[4] * s[4], s[5]};
        const int t0 = s[6], n = s[7], h = s[8], dh = s[9], K = g.kf * g.kh * g.kw;
        const int inner = h * dh, ldq = inner + 3, ldkv = 2 * inner + 1;
        const size_t nq = (size_t)n * ldq, nkv = (size_t)g.cap * ldkv, no = (size_t)n * inner, nb = (size_t)K * h;
        float *q = halloc(nq), *kv = halloc(nkv), *bos = halloc(2 * inner), *bias = halloc(nb), *th = halloc((size_t)h * h);
        float *ref = halloc(no), *got = halloc(no), *got2 = halloc(no);
        fill_normal(&r, q, nq, 1.f);
        fill_normal(&r, kv, nkv, 1.f);
        fill_normal(&r, bos, 2 * inner, 1.f);
        fill_normal(&r, bias, nb, 1.f);
        fill_normal(&r, th, (size_t)h * h, 0.5f);
        float *dq = dnew(&v, q, nq), *dkv = dnew(&v, kv, nkv), *dbos = dnew(&v, bos, 2 * inner), *dbias = dnew(&v, bias, nb);
        float *dth = dnew(&v, th, (size_t)h * h);
        int32_t *iref = malloc(sizeof(int32_t) * n * K), *igot = malloc(sizeof(int32_t) * n * K);
        nw_dna_indices(&g, t0, n, iref);
        for (int wb = 0; wb < 2; wb++) {
            const size_t rs = nw_attn_3dna_scratch_ref(&g, n, h, 1);
            NwCtx rc = {1, halloc(rs), rs, NULL, NULL};
            nw_attn_3dna_ref(&rc, &g, t0, q, ldq, kv, kv + inner, ldkv, bos, bos + inner, n, h, dh, wb ? bias : NULL,
                             th, 0.3f, ref, inner);
            free(rc.scratch);
            char what[128];
            snprintf(what, sizeof(what), "cuda attn_3dna k%dx%dx%d dil%d fmap%d cap%d t0 %d n%d h%d dh%d bias%d", g.kf,
                     g.kh, g.kw, g.dil, g.fmap, g.cap, t0, n, h, dh, wb);
            for (int run = 0; run < 2; run++) {
                float *dout = dnew(&v, NULL, no);
                const size_t cs = v.ops.attn_3dna_scratch(&g, n, h, 1);
                cr_assert_geq(cs, (size_t)n * K);
                NwCtx cc = ctx_for(&v, cs);
                v.ops.attn_3dna(&cc, &g, t0, dq, ldq, dkv, dkv + inner, ldkv, dbos, dbos + inner, n, h, dh,
                                wb ? dbias : NULL, dth, 0.3f, dout, inner);
                sync_ok(&v, what);
                dget(&v, run ? got2 : got, dout, no, what);
                dfree(&v, dout);
                /* the index list the device derived is the reference's, exactly */
                cr_assert_eq(nw_cuda_download(v.d, igot, cc.scratch, sizeof(int32_t) * n * K), 0);
                cr_expect(!memcmp(igot, iref, sizeof(int32_t) * n * K), "%s: index list differs", what);
            }
            check_rel_max(what, got, ref, no, TOL_ATTN_REL_MAX);
            check_same(what, got, got2, no);
        }
        /* scratch too small: an error, not a write past it */
        NwCtx small = ctx_for(&v, 0);
        small.scratch_len = (size_t)n * K - 1;
        float *dout = dnew(&v, NULL, no);
        v.ops.attn_3dna(&small, &g, t0, dq, ldq, dkv, dkv + inner, ldkv, dbos, dbos + inner, n, h, dh, NULL, dth, 0.3f,
                        dout, inner);
        cr_expect_eq(nw_cuda_dev_sync(v.d), NUWA_ERR_INVAL, "small scratch: %s", nw_cuda_dev_errmsg(v.d));
        nw_cuda_dev_clear_error(v.d);
        dfree(&v, dout);
        dfree(&v, dq), dfree(&v, dkv), dfree(&v, dbos), dfree(&v, dbias), dfree(&v, dth);
        free(q), free(kv), free(bos), free(bias), free(th), free(ref), free(got), free(got2), free(iref), free(igot);
    }
    close_dev(&v);
}

/* ---- generation: guidance and sampling ---------------------------------------------------------- */

Test(cuda, guide)
{
    Dev v = open_dev();
    TRng r = {30};
    const int sizes[] = {1, 17, 4097};
    const float scales[] = {0.f, 1.f, 3.5f};
    for (int si = 0; si < 3; si++) {
        const int n = sizes[si];
        float *lc = halloc(n), *lu = halloc(n), *ref = halloc(n), *got = halloc(n);
        fill_normal(&r, lc, n, 3.f);
        fill_normal(&r, lu, n, 3.f);
        for (int ki = 0; ki < 3; ki++) {
            NwCtx rc = {1, NULL, 0, NULL, NULL};
            nw_guide_ref(&rc, lc, lu, ref, n, scales[ki]);
            char what[64];
            snprintf(what, sizeof(what), "cuda guide n%d scale %g", n, scales[ki]);
            /* out separate, out = lc, out = lu */
            for (int mode = 0; mode < 3; mode++) {
                float *dlc = dnew(&v, lc, n), *dlu = dnew(&v, lu, n), *dout = mode ? NULL : dnew(&v, NULL, n);
                float *o = mode == 0 ? dout : mode == 1 ? dlc : dlu;
                NwCtx cc = ctx_for(&v, 0);
                v.ops.guide(&cc, dlc, dlu, o, n, scales[ki]);
                sync_ok(&v, what);
                dget(&v, got, o, n, what);
                cr_expect(!memcmp(got, ref, sizeof(float) * n), "%s (out mode %d): differs from the reference", what,
                          mode);
                dfree(&v, dlc), dfree(&v, dlu), dfree(&v, dout);
            }
        }
        free(lc), free(lu), free(ref), free(got);
    }
    close_dev(&v);
}

static int cmp_desc(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

Test(cuda, sample)
{
    Dev v = open_dev();
    TRng r = {31};
    const int Vs[] = {1, 2, 7, 512, 1000, 8192, 16385};
    const double thres[] = {0.0, 0.5, 0.9, 0.999};
    const float temps[] = {0.7f, 1.f, 1.3f};
    int n_cases = 0, n_cut = 0;
    for (size_t vi = 0; vi < sizeof(Vs) / sizeof(Vs[0]); vi++) {
        const int V = Vs[vi];
        float *l = halloc(V), *u = halloc(V), *w = halloc(V);
        float *dl = dnew(&v, NULL, V), *du = dnew(&v, NULL, V), *dtok = dnew(&v, NULL, 1), *dm = dnew(&v, NULL, 1);
        NwCtx cc = ctx_for(&v, v.ops.sample_scratch(V, 1));
        for (int rep = 0; rep < 3; rep++) {
            /* ties everywhere: a few distinct values (rep 0: integers, with -0 and +0 both
             * present; rep 1: integers and a little noise; rep 2: smooth logits) */
            for (int i = 0; i < V; i++) {
                const float base = (float)(trng_next(&r) % 5) - 2.f;
                l[i] = rep == 0 ? (base == 0.f && (i & 1) ? -0.f : base)
                       : rep == 1 ? (trng_next(&r) % 4 ? base : base + 0.25f * trng_normal(&r))
                                  : 3.f * trng_normal(&r);
            }
            cr_assert_eq(nw_cuda_upload(v.d, dl, l, sizeof(float) * V), 0);
            for (size_t ti = 0; ti < sizeof(thres) / sizeof(thres[0]); ti++) {
                for (size_t ki = 0; ki < sizeof(temps) / sizeof(temps[0]); ki++) {
                    /* uniforms given (with exact zeros: the 1e-20 clamp) or generated on the device */
                    const int given = (int)(ti + ki + rep) % 2;
                    NwSampleParams p = {thres[ti], temps[ki], 1000 + rep, (uint64_t)(vi * 100 + ti * 10 + ki), NULL};
                    nw_uniforms(p.seed, p.counter, u, V);
                    if (given) {
                        /* rep 0: two values only, so equal logits get equal scores and the
                         * first index must win across threads; else a few exact zeros */
                        for (int i = 0; i < V; i += rep ? 97 : 1)
                            u[i] = rep ? 0.f : i % 3 ? 0.5f : 0.f;
                        cr_assert_eq(nw_cuda_upload(v.d, du, u, sizeof(float) * V), 0);
                        p.u = du;
                    }
                    float mref, mgot;
                    const int want = nw_sample(l, V, p.thres, p.temperature, u, w, &mref);
                    /* margin NULL once per V */
                    const int with_margin = ti + ki > 0;
                    v.ops.sample(&cc, dl, V, &p, (int32_t *)dtok, with_margin ? dm : NULL);
                    char what[96];
                    snprintf(what, sizeof(what), "cuda sample V%d thres %g temp %g rep %d u %s", V, p.thres,
                             p.temperature, rep, given ? "given" : "generated");
                    sync_ok(&v, what);
                    int32_t tok;
                    float tf;
                    dget(&v, &tf, dtok, 1, what);
                    memcpy(&tok, &tf, sizeof(tok));
                    cr_expect_eq(tok, want, "%s: token %d, nw_sample %d", what, tok, want);
                    if (with_margin) {
                        dget(&v, &mgot, dm, 1, what);
                        cr_expect(!memcmp(&mgot, &mref, sizeof(float)), "%s: margin %.9g, nw_sample %.9g", what, mgot,
                                  mref);
                    }
                    /* count the cases whose k-th largest value is tied across the cut */
                    int k = (int)((1.0 - p.thres) * V);
                    k = k < 1 ? 1 : k > V ? V : k;
                    memcpy(w, l, sizeof(float) * V);
                    qsort(w, V, sizeof(float), cmp_desc);
                    int above = 0, eq = 0;
                    for (int i = 0; i < V; i++)
                        above += l[i] > w[k - 1], eq += l[i] == w[k - 1];
                    n_cut += k - above < eq;
                    n_cases++;
                }
            }
        }
        dfree(&v, dl), dfree(&v, du), dfree(&v, dtok), dfree(&v, dm);
        free(l), free(u), free(w);
    }
    printf("cuda sample: %d cases, %d with ties split by the top-k cut\n", n_cases, n_cut);
    cr_expect_gt(n_cut, 10, "the cases should split ties at the cut");
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
    NwCtx none = {1, NULL, 0, NULL, NULL};
    v.ops.add(&none, buf, buf, 1);
    cr_expect_eq(nw_cuda_dev_sync(v.d), 0);
    nw_cuda_free(v.d, didx);
    dfree(&v, buf);
    close_dev(&v);
    nw_cuda_dev_destroy(&v.d); /* &NULL: no-op */
}
