/*
 * cuda/module.c — the one entry point of the CUDA backend module (libnuwa-cuda.so.0, and
 * libnuwa-cuda-emu.so on the CPU emulator): the backend.h functions as a NwCudaApi table
 * (cuda_module.h), which libnuwa's loader (libnuwa/cuda_module.c) finds with dlsym.
 *
 * Everything else in the module is hidden (-fvisibility=hidden and libnuwa/cuda/module.map),
 * so its copies of libnuwa's helpers never interpose on, or get interposed by, libnuwa's own.
 * The table is const: the module has no mutable global state.
 */
#include "cuda/backend.h"
#include "cuda_module.h"

#define NW_MODULE_EXPORT __attribute__((visibility("default")))

static const NwCudaApi api = {
    .abi = NW_CUDA_ABI,
    .device_count = nw_cuda_device_count,
    .device_info = nw_cuda_device_info,
    .dev_create = nw_cuda_dev_create,
    .dev_destroy = nw_cuda_dev_destroy,
    .dev_describe = nw_cuda_dev_describe,
    .ctx = nw_cuda_ctx,
    .ops_init = nw_ops_init_cuda,
};

/* Declared here, not in a header: only dlsym looks for it. */
NW_MODULE_EXPORT const NwCudaApi *nw_cuda_module_api(int abi);

/* NULL for any ABI but ours: a libnuwa of another ABI must not call through a table whose
 * layout or contracts it does not know. */
NW_MODULE_EXPORT const NwCudaApi *nw_cuda_module_api(int abi)
{
    return abi == NW_CUDA_ABI ? &api : NULL;
}
