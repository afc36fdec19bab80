/*
 * cpu/gelu_phi.h — the standard normal CDF for GEGLU in float without libm calls, shared by
 * the forward (kernels_tmpl.c, compiled per instruction set) and the backward
 * (train_dense_cpu.c): one definition, inlined into each translation unit with its own flags.
 */
#ifndef NW_CPU_GELU_PHI_H
#define NW_CPU_GELU_PHI_H

#include <string.h>

/* Phi(z) (the normal CDF) and exp(-z^2/2) in float, vectorisable: with t = |z|/sqrt(2) (clamped
 * to 5), Phi(-|z|) = erfc(t)/2 = exp(-t^2) Q(t)/2, Q = erfc(t) exp(t^2) a degree-11 polynomial in
 * s = 1.4 (t-2)/(t+2) + 0.4 (Chebyshev fit on t in [0,5], relative error < 4e-7), exp by
 * Cody-Waite reduction and a degree-7 Taylor polynomial. No libm calls; deterministic per element. */
static inline __attribute__((always_inline)) float gelu_phi(float z, float *ez)
{
    /* selections on the bits (no float compares, so the loops vectorise under -ftrapping-math) */
    unsigned zb, tb;
    memcpy(&zb, &z, sizeof(zb));
    zb &= 0x7fffffffu;
    float t;
    memcpy(&t, &zb, sizeof(t));
    t *= 0.70710678118654752f;
    memcpy(&tb, &t, sizeof(tb));
    tb = tb < 0x40a00000u ? tb : 0x40a00000u; /* min(t, 5), t >= 0 */
    memcpy(&t, &tb, sizeof(t));
    const float x = -t * t; /* in [-25, 0] */
    const float kk = x * 1.44269504088896341f + 12582912.f;
    const float n = kk - 12582912.f;
    const float r = (x - n * 0.693145751953125f) - n * 1.42860676533018704e-06f;
    float p = 1.98412698e-04f;
    p = p * r + 1.38888889e-03f;
    p = p * r + 8.33333333e-03f;
    p = p * r + 4.16666667e-02f;
    p = p * r + 1.66666667e-01f;
    p = p * r + 0.5f;
    p = p * r + 1.f;
    p = p * r + 1.f;
    const int ni = (int)n;
    const unsigned bits = (unsigned)(ni + 127) << 23;
    float sc;
    memcpy(&sc, &bits, sizeof(sc));
    const float e = p * sc;
    const float s = 1.4f * ((t - 2.f) / (t + 2.f)) + 0.4f;
    float q = 1.090758133e-07f;
    q = q * s + 1.370152745e-06f;
    q = q * s + 2.029708639e-06f;
    q = q * s - 1.610760410e-05f;
    q = q * s - 6.514745473e-05f;
    q = q * s + 1.234306983e-04f;
    q = q * s + 1.271324465e-03f;
    q = q * s - 1.696247258e-03f;
    q = q * s - 2.819378674e-02f;
    q = q * s + 1.579105854e-01f;
    q = q * s - 4.176622033e-01f;
    q = q * s + 3.990292847e-01f;
    const float h = 0.5f * e * q, h1 = 1.f - h;
    *ez = e;
    unsigned hb, h1b, zs;
    memcpy(&hb, &h, sizeof(hb));
    memcpy(&h1b, &h1, sizeof(h1b));
    memcpy(&zs, &z, sizeof(zs));
    const unsigned neg = (unsigned)((int)zs >> 31); /* all ones where z < 0 (or -0) */
    const unsigned rb = (hb & neg) | (h1b & ~neg);
    float res;
    memcpy(&res, &rb, sizeof(res));
    return res;
}

#endif
