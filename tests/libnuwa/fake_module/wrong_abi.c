/*
 * wrong_abi.c — a fake CUDA module for the loader tests (tests/libnuwa/cuda_module.c): it has
 * the entry point, but offers only a table of the next ABI, as a module from a newer libnuwa
 * would. The loader must refuse it with a message, without calling through the table.
 */
#include "cuda_module.h"

__attribute__((visibility("default"))) const NwCudaApi *nw_cuda_module_api(int abi);

static const NwCudaApi next = {.abi = NW_CUDA_ABI + 1};

__attribute__((visibility("default"))) const NwCudaApi *nw_cuda_module_api(int abi)
{
    /* a module may answer an ABI it does not have with its own table: the loader checks .abi */
    return abi == NW_CUDA_ABI + 1 || abi == NW_CUDA_ABI ? &next : NULL;
}
