/*
 * cpu/isa.h — naming for the kernel files compiled once per instruction set (kernels_tmpl.c,
 * train_attn_tmpl.c): the build defines NW_ISA (generic, avx2), FN(x) names x_<isa>.
 */
#ifndef NW_CPU_ISA_H
#define NW_CPU_ISA_H

#ifndef NW_ISA
#error "NW_ISA must be defined"
#endif
#define NW_CAT2(a, b) a##_##b
#define NW_CAT(a, b) NW_CAT2(a, b)
#define FN(name) NW_CAT(name, NW_ISA)

#endif
