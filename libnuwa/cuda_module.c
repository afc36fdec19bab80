/* cuda_module.c — placeholder until the module loader lands: no module can be found. */
#include <stdio.h>

#include "cuda_module.h"
#include "nuwa.h"

int nw_cuda_module_open(NwCudaModule **out, const NwCudaApi **api, char *msg, size_t msglen)
{
    *out = NULL;
    *api = NULL;
    if (msg && msglen)
        snprintf(msg, msglen, "CUDA backend module not available");
    return NUWA_ERR_UNSUPPORTED;
}

const char *nw_cuda_module_path(const NwCudaModule *m)
{
    (void)m;
    return "";
}

void nw_cuda_module_close(NwCudaModule **m)
{
    if (m)
        *m = NULL;
}
