/* train_cpu.h — the fast CPU backward ops of train_ops.h (libnuwa/cpu/train_*.c), filled slot
 * group by slot group over whatever the table holds. */
#ifndef NW_TRAIN_CPU_H
#define NW_TRAIN_CPU_H

#include "train_ops.h"

/* The dense slots (see ref/train_ref.h); sets o->name = "cpu". */
void nw_train_fill_dense_cpu(NwTrainOps *o);

/* layer_norm_bwd with the StableLayerNorm max detached (0, the slot) or differentiated (1),
 * as nw_layer_norm_bwd_ex_ref. */
void nw_layer_norm_bwd_ex_cpu(const NwCtx *ctx, const float *x, int n, int d, const float *g, float eps,
                              int stable, const float *dy, float *dx, float *dg, float *db, int through_max);

/* attn_null_fwd/_bwd, attn_3dna_fwd/_bwd and their scratch queries (cpu/train_attn_tmpl.c),
 * the variant for cpu_flags (ops.h NW_CPU_*); every variant gives the same bits. */
void nw_train_fill_attn_cpu(NwTrainOps *o, unsigned cpu_flags);

#endif
