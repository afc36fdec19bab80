/* cpu/train_cpu.h — the OpenMP training ops (train_ops.h), filled over the reference ones. */
#ifndef NW_TRAIN_CPU_H
#define NW_TRAIN_CPU_H

#include "train_ops.h"

/* attn_null_fwd/_bwd, attn_3dna_fwd/_bwd and their scratch queries (cpu/train_attn_cpu.c). */
void nw_train_fill_attn_cpu(NwTrainOps *o);

#endif
