/*
 * cuda_module.h — the CUDA backend as a module that libnuwa opens at run time, only when a
 * session asks for a CUDA device. A CPU-only user of a CUDA build never maps cudart, cuBLAS or
 * cuDNN.
 *
 * The module (libnuwa-cuda.so.0, built from libnuwa/cuda/ and kernels/) exports one symbol,
 * nw_cuda_module_api, returning its NwCudaApi table for the ABI version libnuwa asks for.
 * Where libnuwa looks: $NUWA_CUDA_MODULE (a path) if set; else the directory of the loaded
 * libnuwa (or of the executable, for static links), then the install libdir, then the
 * dynamic loader's search path.
 *
 * No global state: each open is a dlopen (the dynamic loader counts references), each close a
 * dlclose.
 */
#ifndef NW_CUDA_MODULE_H
#define NW_CUDA_MODULE_H

#include <stddef.h>

#include "ops.h"

#define NW_CUDA_ABI 1
#define NW_CUDA_MODULE_SYMBOL "nw_cuda_module_api"
#define NW_CUDA_MODULE_SONAME "libnuwa-cuda.so.0"

typedef struct NwCudaDev NwCudaDev;

/* The functions of libnuwa/cuda/backend.h, as a table (see there for each contract). */
typedef struct NwCudaApi {
    int abi;  /* NW_CUDA_ABI */
    int (*device_count)(int *count, char *msg, size_t msglen);
    int (*device_info)(int index, char *buf, size_t len);
    int (*dev_create)(NwCudaDev **out, int index, unsigned flags, char *msg, size_t msglen);
    void (*dev_destroy)(NwCudaDev **d);
    const char *(*dev_describe)(const NwCudaDev *d);
    /* NwCtx for running ops on d with a scratch arena of at least scratch_floats */
    int (*ctx)(NwCudaDev *d, size_t scratch_floats, NwCtx *ctx);
    /* the NwOps table on device pointers, memory and sync slots included */
    void (*ops_init)(NwOps *o);
} NwCudaApi;

typedef const NwCudaApi *(*NwCudaModuleApiFn)(int abi);

typedef struct NwCudaModule NwCudaModule;

/* Opens the module and returns its table. Errors: NUWA_ERR_UNSUPPORTED when the module cannot
 * be found or loaded, or was built for another ABI; msg names the module path(s) tried and
 * dlerror()'s reason. */
int nw_cuda_module_open(NwCudaModule **out, const NwCudaApi **api, char *msg, size_t msglen);
/* The path the module was loaded from. */
const char *nw_cuda_module_path(const NwCudaModule *m);
void nw_cuda_module_close(NwCudaModule **m);

#endif
