/*
 * emu.h — compiles the kernels of kernels/ as plain C++ and runs them on the CPU, so that the
 * CUDA op tests (tests/cuda/) execute the real kernel code on machines without a GPU (CI, and
 * the development machine). Test-only: nothing here is linked into libnuwa.
 *
 * Model: blocks run one after another; the threads of a block are coroutines (ucontext) that
 * the scheduler in emu_runtime.cc switches at every barrier. __syncthreads() waits for all
 * threads of the block, __syncwarp() and the shuffles for the 32 lanes of the warp (warps
 * are consecutive linear thread ids, as on the GPU). The scheduler lets the first (or, every
 * other launch, the last) warp run ahead as far as it can, so a missing barrier changes the
 * results. __shared__ variables become statics in one section (one block runs at a time) and
 * dynamic shared memory a buffer; both are filled with NaN bytes before every block, so reads
 * of shared memory no thread of the block wrote show up. Launch-configuration errors are reported through
 * cudaGetLastError like the real runtime; misuse that the GPU would not diagnose (a barrier
 * some threads of the block or warp never reach, shuffles with a partial mask) aborts with a
 * message, because it is a kernel bug.
 *
 * kernels/common.cuh includes this file instead of cuda_runtime.h when NW_CUDA_EMU is
 * defined, and routes launches and dynamic shared memory through nw_emu_launch and
 * nw_emu_dyn_smem. The host side (cudaMalloc, cuBLAS, ...) is emulated in emu_runtime.cc
 * against the real headers' declarations.
 */
#ifndef NW_CUDA_EMU_H
#define NW_CUDA_EMU_H

#ifndef __cplusplus
#error "emu.h is C++ (it compiles the kernels' .cu files)"
#endif

/* CUDA's headers leave these alone when they are already defined. */
#define __device__
#define __global__
#define __host__
#define __shared__ static __attribute__((section("nw_emu_shared")))
#define __constant__ static
#define __launch_bounds__(...)

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

struct NwEmuIndex {
    uint3 tid, bid;
    dim3 bdim, gdim;
};

/* The running coroutine's indices. */
NwEmuIndex *nw_emu_index(void);
void nw_emu_syncthreads(void);
void nw_emu_syncwarp(void);
/* The 32 x 8-byte exchange slots of the caller's warp for its next shuffle (two sets used in
 * turn), and the caller's lane. */
unsigned char *nw_emu_warp_slots(void);
int nw_emu_lane(void);
void *nw_emu_dyn_smem(void);
void nw_emu_abort(const char *what);
/* Runs thunk(arg), the launch of kernel kern, as every thread of every block of the grid. */
void nw_emu_run(const void *kern, dim3 grid, dim3 block, size_t smem, void (*thunk)(void *), void *arg);

#define threadIdx (nw_emu_index()->tid)
#define blockIdx (nw_emu_index()->bid)
#define blockDim (nw_emu_index()->bdim)
#define gridDim (nw_emu_index()->gdim)

static inline void __syncthreads(void)
{
    nw_emu_syncthreads();
}

static inline void __syncwarp(unsigned mask = 0xffffffffu)
{
    if (mask != 0xffffffffu)
        nw_emu_abort("__syncwarp with a partial mask");
    nw_emu_syncwarp();
}

/* Shuffle: every lane publishes its value, the warp meets, every lane reads its source lane's
 * value. Consecutive shuffles alternate between two sets of slots: a lane can only write a
 * set again after the next shuffle's meeting, which every lane reaches after its read. */
template <typename T> static inline T nw_emu_shfl(unsigned mask, T v, int kind, int arg, int width)
{
    static_assert(sizeof(T) <= 8, "shuffle of more than 8 bytes");
    if (mask != 0xffffffffu)
        nw_emu_abort("shuffle with a partial mask");
    unsigned char *slots = nw_emu_warp_slots();
    const int lane = nw_emu_lane(), base = lane / width * width;
    int src;
    switch (kind) {
    case 0: src = lane ^ arg; break;                       /* xor */
    case 1: src = lane + arg; break;                       /* down */
    case 2: src = lane - arg; break;                       /* up */
    default: src = base + ((arg % width) + width) % width; /* indexed */
    }
    if (src < base || src >= base + width)
        src = lane; /* out of the segment: the lane keeps its own value */
    memcpy(slots + lane * 8, &v, sizeof(T));
    nw_emu_syncwarp();
    T r;
    memcpy(&r, slots + src * 8, sizeof(T));
    return r;
}

template <typename T> static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32)
{
    return nw_emu_shfl(mask, v, 0, lane_mask, width);
}
template <typename T> static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
    return nw_emu_shfl(mask, v, 1, (int)delta, width);
}
template <typename T> static inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
    return nw_emu_shfl(mask, v, 2, (int)delta, width);
}
template <typename T> static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32)
{
    return nw_emu_shfl(mask, v, 3, src, width);
}

/* Rounded arithmetic: the host compiler does not contract these (no FMA in the target ISA,
 * and each is a separate call). */
static inline float __fadd_rn(float a, float b)
{
    return a + b;
}
static inline float __fsub_rn(float a, float b)
{
    return a - b;
}
static inline float __fmul_rn(float a, float b)
{
    return a * b;
}
static inline float __fdiv_rn(float a, float b)
{
    return a / b;
}
static inline float rsqrtf(float x)
{
    return 1.f / sqrtf(x);
}
template <typename T> static inline T __ldg(const T *p)
{
    return *p;
}

template <typename... P, typename... A>
static inline void nw_emu_launch(void (*kern)(P...), dim3 grid, dim3 block, size_t smem, A... args)
{
    auto call = [=]() { kern(static_cast<P>(args)...); };
    typedef decltype(call) Call;
    nw_emu_run((const void *)kern, grid, block, smem, [](void *p) { (*(Call *)p)(); }, &call);
}

#endif
