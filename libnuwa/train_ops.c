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

void nw_train_fill_attn_cpu_generic(NwTrainOps *o);
#if defined(NW_HAVE_X86)
void nw_train_fill_attn_cpu_avx2(NwTrainOps *o);
#endif

void nw_train_fill_attn_cpu(NwTrainOps *o, unsigned cpu_flags)
{
#if defined(NW_HAVE_X86)
    if (cpu_flags & NW_CPU_AVX2) {
        nw_train_fill_attn_cpu_avx2(o);
        return;
    }
#endif
    (void)cpu_flags;
    nw_train_fill_attn_cpu_generic(o);
}

void nw_train_ops_init_cpu(NwTrainOps *o, unsigned cpu_flags)
{
    nw_train_ops_init_ref(o);
    nw_train_fill_dense_cpu(o);
    nw_train_fill_attn_cpu(o, cpu_flags);
    o->name = "cpu";
}
