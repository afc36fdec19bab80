/*
 * tensor.c — the dependency-free part of the test helpers (testutil.h): random numbers and
 * tensor comparison. Kept apart from testutil.c (random model files, which need the whole
 * library) so that the standalone GPU checks of bench/gpu.sh link it alone.
 */
#include <math.h>
#include <stdio.h>

#include "testutil.h"

float trng_normal(TRng *r)
{
    float u1 = trng_unif(r), u2 = trng_unif(r);
    if (u1 < 1e-12f)
        u1 = 1e-12f;
    return sqrtf(-2.f * logf(u1)) * cosf(6.2831853f * u2);
}

void fill_uniform(TRng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * trng_unif(r);
}

void fill_normal(TRng *r, float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * trng_normal(r);
}

TCmp compare_f32(const char *what, const float *got, const float *ref, size_t n, double atol,
                 double rtol)
{
    TCmp c = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        const double e = fabs((double)got[i] - ref[i]);
        if (fabs(ref[i]) > c.max_ref)
            c.max_ref = fabs(ref[i]);
        if (e > c.max_err || isnan(got[i])) {
            c.max_err = isnan(got[i]) ? INFINITY : e;
            c.worst = i;
        }
        if (!(e <= atol + rtol * fabs(ref[i]))) {
            if (c.n_bad < 5)
                fprintf(stderr, "  %s: [%zu] got %.9g want %.9g (err %.3g)\n", what, i, got[i],
                        ref[i], e);
            c.n_bad++;
        }
    }
    return c;
}
