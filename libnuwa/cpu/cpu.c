/*
 * cpu/cpu.c — picks the CPU kernels for the running processor. The CPU flags are passed in
 * (nw_cpu_flags() reads them) so tests can force any variant; nothing is cached globally.
 */
#include "ops.h"

void nw_ops_fill_cpu_generic(NwOps *o);
#if defined(NW_HAVE_X86)
void nw_ops_fill_cpu_avx2(NwOps *o);
#endif

unsigned nw_cpu_flags(void)
{
    unsigned f = 0;
#if defined(NW_HAVE_X86) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        f |= NW_CPU_AVX2;
#endif
    return f;
}

void nw_ops_init_cpu(NwOps *o, unsigned flags)
{
    nw_ops_init_ref(o);
    nw_ops_fill_cpu_generic(o);
    o->name = "cpu";
#if defined(NW_HAVE_X86)
    if (flags & NW_CPU_AVX2) {
        nw_ops_fill_cpu_avx2(o);
        o->name = "cpu-avx2";
    }
#else
    (void)flags;
#endif
}
