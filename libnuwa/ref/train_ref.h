/* ref/train_ref.h — the reference training ops (train_ops.h), filled into a table slot group by
 * slot group. */
#ifndef NW_TRAIN_REF_H
#define NW_TRAIN_REF_H

#include "train_ops.h"

/* attn_null_fwd/_bwd, attn_3dna_fwd/_bwd and their scratch queries (ref/train_attn.c). */
void nw_train_fill_attn_ref(NwTrainOps *o);

#endif
