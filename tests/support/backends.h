/*
 * backends.h — every compute backend a model test runs on: the scalar reference, the CPU
 * kernels (generic and AVX2), and CUDA through the backend module (the real one on a GPU
 * machine, the CPU emulator of the kernels in `make test`, which points NUWA_CUDA_MODULE at
 * it). A test loops over tb_count() backends; tb_open skips (returns 1, printing why) what
 * this machine cannot run.
 *
 * Model tests keep their host-side fixtures and move data only through tb_up / tb_down, the
 * same upload/download slots the library uses; a plan (NwVae, NwNuwa) is bound to the
 * backend's copy of its blob with tb_weights.
 */
#ifndef NW_TEST_BACKENDS_H
#define NW_TEST_BACKENDS_H

#include <stddef.h>

#include "cuda_module.h"
#include "ops.h"

typedef struct TBackend {
    const char *name;
    NwOps ops;
    NwCtx ctx;              /* n_threads, scratch (CPU: owned here), dev, xfer */
    NwXfer xfer;
    NwCudaModule *mod;
    const NwCudaApi *api;
    NwCudaDev *dev;
    void *bufs[64];         /* tb_up / tb_weights allocations, freed by tb_close */
    int n_bufs;
} TBackend;

int tb_count(void);
/* Opens backend i with `threads` CPU threads and a scratch arena of `scratch` floats.
 * Returns 0, or 1 when this machine cannot run it (the reason is printed). */
int tb_open(TBackend *b, int i, int threads, size_t scratch);
void tb_close(TBackend *b);
/* Backend copy of n bytes of host data (NULL data: uninitialised); freed by tb_close. */
void *tb_up(TBackend *b, const void *host, size_t bytes);
void tb_down(TBackend *b, void *host, const void *src, size_t bytes);
/* Waits and asserts no backend error. */
void tb_sync(TBackend *b, const char *what);

#endif
