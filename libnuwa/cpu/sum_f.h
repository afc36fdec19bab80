/*
 * cpu/sum_f.h — the float sum of the CPU kernels, one definition inlined into each translation
 * unit with its own instruction-set flags (kernels_tmpl.c, train_attn_tmpl.c, train_dense_cpu.c).
 * The block length is part of the rounding: the inference kernels and the training attention use
 * 1024, which must agree bit for bit; the dense training ops use 512.
 */
#ifndef NW_CPU_SUM_F_H
#define NW_CPU_SUM_F_H

#include <stddef.h>

#define NW_SUM_LANES 16

/* Sum of n floats: NW_SUM_LANES independent float partial sums per block of `block` values,
 * blocks added in double. Vectorises without -ffast-math; the error stays far below the float
 * result's ulp for our n. */
static inline __attribute__((always_inline)) double nw_sum_f_blocked(const float *x, size_t n, size_t block)
{
    double total = 0;
    size_t i = 0;
    while (i < n) {
        const size_t end = n - i < block ? n : i + block;
        float acc[NW_SUM_LANES] = {0};
        for (; i + NW_SUM_LANES <= end; i += NW_SUM_LANES)
            for (int l = 0; l < NW_SUM_LANES; l++)
                acc[l] += x[i + l];
        for (; i < end; i++)
            acc[0] += x[i];
        for (int l = 0; l < NW_SUM_LANES; l++)
            total += acc[l];
    }
    return total;
}

#endif
