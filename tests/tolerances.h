/*
 * tolerances.h — per-op bounds for fast variant vs scalar reference, |got - ref| <=
 * ATOL + RTOL * |ref|, both scaled by max|ref| of the tensor where noted. Why each value:
 */
#ifndef NW_TOLERANCES_H
#define NW_TOLERANCES_H

/* GEMM-based ops (conv2d, matmul, attention, codebook distances): fp32 sums of up to ~5000
 * products in another order than the double-accumulating reference; the relative error of
 * such a sum is ~K * 2^-24 * (sum|terms| / |sum|). 2e-5 of the tensor's max covers K = 4608
 * with margin; a real indexing bug gives errors of the order of the values themselves. */
#define TOL_GEMM_REL_MAX 2e-5

/* Normalisations: statistics in float partial sums vs double; result within a few ulp of
 * O(1) normalised values times the affine gain. */
#define TOL_NORM_ABS 2e-5
#define TOL_NORM_REL 2e-5

/* Elementwise (leaky ReLU, add): exact. GLU uses expf in both: a few ulp. Upsampling computes
 * the same weights but rows and columns in another order: a few ulp. */
#define TOL_EXACT 0.0
#define TOL_EW_REL 4e-7

/* VQGanAttention: normalisation, a GEMM over dh, a softmax and a GEMM over n. */
#define TOL_ATTN_REL_MAX 2e-5

/* Golden tests vs nuwa-pytorch (MODEL.md §7.4): VAE tensors within 1e-4 * max|ref| of the
 * tensor; VQ indices identical except where the reference's top-2 margin is below 1e-5. */
#define TOL_GOLDEN_REL_MAX 1e-4
#define TOL_GOLDEN_TIE 1e-5

#endif
