/*
 * common.cuh — what every .cu file of kernels/ shares: the launch macro, warp and block
 * reductions, grid sizing.
 *
 * Kernels are launched through NW_LAUNCH and declare dynamic shared memory with NW_DYN_SMEM so
 * that the same source also builds as plain C++ against tests/cuda/emu/emu.h (NW_CUDA_EMU),
 * which runs every block's threads as coroutines on the CPU: the op tests then exercise these
 * kernels (indexing, barriers, shuffles, shared memory bounds) on machines without a GPU.
 * Everything here is therefore restricted to what the emulator provides: full-warp shuffles,
 * __syncthreads/__syncwarp, no atomics, no warp-synchronous tricks without a sync.
 */
#ifndef NW_KERNELS_COMMON_CUH
#define NW_KERNELS_COMMON_CUH

#ifdef NW_CUDA_EMU
#include "emu.h"
#else
#include <cuda_runtime.h>
#endif

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

#ifdef NW_CUDA_EMU
#define NW_LAUNCH(kern, grid, block, smem, stream, ...) \
    nw_emu_launch(kern, dim3(grid), dim3(block), (size_t)(smem), __VA_ARGS__)
#define NW_DYN_SMEM(T, name) T *name = (T *)nw_emu_dyn_smem()
#else
#define NW_LAUNCH(kern, grid, block, smem, stream, ...) kern<<<(grid), (block), (smem), (stream)>>>(__VA_ARGS__)
#define NW_DYN_SMEM(T, name)                                    \
    extern __shared__ __align__(16) unsigned char nw_smem_raw_[]; \
    T *name = (T *)nw_smem_raw_
#endif

#define NW_FULL_MASK 0xffffffffu
#define NW_LEAKY_SLOPE 0.1f /* NW_LRELU_SLOPE of ops.h */

template <typename T> __device__ __forceinline__ T nw_warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(NW_FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float nw_warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(NW_FULL_MASK, v, o));
    return v;
}

/* Sum over a 1-D block whose size is a multiple of 32 (<= 1024), in a fixed order (so the
 * result is the same on every run); every thread gets the total. sh: >= 32 elements of
 * shared memory, free for reuse once the call returns. All threads must call it. */
template <typename T> __device__ T nw_block_sum(T v, T *sh)
{
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = nw_warp_sum(v);
    __syncthreads(); /* earlier readers of sh are done */
    if (lane == 0)
        sh[wid] = v;
    __syncthreads();
    if (wid == 0) {
        T r = lane < nw ? sh[lane] : T(0);
        r = nw_warp_sum(r);
        if (lane == 0)
            sh[0] = r;
    }
    __syncthreads();
    return sh[0];
}

__device__ inline float nw_block_max(float v, float *sh)
{
    const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = nw_warp_max(v);
    __syncthreads();
    if (lane == 0)
        sh[wid] = v;
    __syncthreads();
    if (wid == 0) {
        float r = lane < nw ? sh[lane] : -FLT_MAX;
        r = nw_warp_max(r);
        if (lane == 0)
            sh[0] = r;
    }
    __syncthreads();
    return sh[0];
}

/* Blocks for a grid-stride loop over n items with `threads` per block: enough to fill the
 * device several times over, never more than the items need. */
static inline unsigned nw_grid_1d(size_t n, int threads, int sms)
{
    size_t b = (n + threads - 1) / threads;
    const size_t cap = (size_t)(sms > 0 ? sms : 1) * 32;
    if (b > cap)
        b = cap;
    return (unsigned)(b ? b : 1);
}

/* Threads for one block per row of d elements: a multiple of 32 in [32, maxt]. */
static inline int nw_row_threads(int d, int maxt)
{
    int t = 32;
    while (t < maxt && t < d)
        t <<= 1;
    return t;
}

#endif
