/* train_ref.h — the reference (spec) backward ops of train_ops.h, filled slot group by slot
 * group: each fill sets its slots of an NwTrainOps and leaves the others alone. */
#ifndef NW_TRAIN_REF_H
#define NW_TRAIN_REF_H

#include "train_ops.h"

/* linear, layer_norm, geglu, rotary, token_shift, embed backwards; cross_entropy; adamw.
 * Sets o->name = "ref". */
void nw_train_fill_dense_ref(NwTrainOps *o);

/* layer_norm_bwd with the StableLayerNorm max either detached (through_max = 0: nuwa-pytorch
 * 0.7.8 divides by x.amax(...).detach(); this is the slot) or differentiated like autograd
 * without the detach (through_max = 1: the max element(s) also receive the gradient of the
 * divisor, split evenly among tied maxima). */
void nw_layer_norm_bwd_ex_ref(const NwCtx *ctx, const float *x, int n, int d, const float *g, float eps,
                              int stable, const float *dy, float *dx, float *dg, float *db, int through_max);

/* attn_null_fwd/_bwd, attn_3dna_fwd/_bwd and their scratch queries (ref/train_attn.c). */
void nw_train_fill_attn_ref(NwTrainOps *o);

#endif
