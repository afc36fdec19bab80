/* train_ops.c — the training tables: the reference (the spec) and the fast CPU versions, each
 * filled slot group by slot group (dense ops, attention). */
#include "cpu/train_cpu.h"
#include "ref/train_ref.h"
#include "train_ops.h"

void nw_train_ops_init_ref(NwTrainOps *o)
{
    nw_train_fill_dense_ref(o);
    nw_train_fill_attn_ref(o);
    o->name = "ref";
}

void nw_train_ops_init_cpu(NwTrainOps *o, unsigned cpu_flags)
{
    (void)cpu_flags; /* one build for every x86-64 level: the GEMMs are OpenBLAS's */
    nw_train_ops_init_ref(o);
    nw_train_fill_dense_cpu(o);
    nw_train_fill_attn_cpu(o);
    o->name = "cpu";
}
