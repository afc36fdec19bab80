/*
 * weights.h — the one loader of model weights (VQGAN and transformer) and the relocatable
 * weight plan.
 *
 * A plan (NwVae, NwNuwa) refers to every weight and precomputed table by its offset in floats
 * into one float32 blob (NwW; 0 means "absent": the blob starts with NW_W_BASE unused floats).
 * The same plan therefore serves the host blob and a copy of it in device memory: binding a
 * plan to a blob is setting its base pointer (NwVae.w, NwNuwa.w). A model file is loaded in
 * two walks over the plans: the first checks every tensor the hyperparameters imply (name,
 * type, shape) and counts floats, the second converts F32/F16/BF16 into the blob and fills the
 * precomputed tables.
 */
#ifndef NW_WEIGHTS_H
#define NW_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "internal.h"

typedef size_t NwW;           /* offset in floats into the weight blob; 0 = absent */
#define NW_W_BASE 16          /* first usable offset (keeps 0 free and 64-byte alignment) */

/* Tensor reporter (name, PyTorch shape): describe mode, for writers and random test models. */
typedef void (*NwTensorFn)(void *opaque, const char *name, int n_dims, const int64_t *shape);

/* Tensor reporter with the tensor's offset in the blob the same plan would load into (trainers,
 * exporters: the parameters of a loaded plan, by name). */
typedef void (*NwTensorAtFn)(void *opaque, const char *name, int n_dims, const int64_t *shape, NwW at);

typedef struct NwLoader {
    const NwGguf *g;
    const NwLog *log;
    float *blob;              /* NULL while counting */
    size_t used;              /* floats handed out so far */
    int err;                  /* first error (NUWA_ERR_*) */
    NwTensorFn describe;      /* describe mode: report each required tensor, read nothing */
    NwTensorAtFn describe_at; /* the same, with offsets (set after nw_loader_init) */
    int refresh;              /* walk over a loaded blob: tensors stay, tables are recomputed */
    void *opaque;
} NwLoader;

/* Starts a counting walk over g (or a describe walk when fn is set; g may then be NULL). */
void nw_loader_init(NwLoader *L, const NwGguf *g, const NwLog *log, NwTensorFn fn, void *opaque);
/* After a clean counting walk: allocates the blob (L->used floats) for the converting walk.
 * Returns 0 or NUWA_ERR_NOMEM (logged). */
int nw_loader_alloc(NwLoader *L);
/* Rewinds for the next walk over the same blob. */
void nw_loader_rewind(NwLoader *L);

/* The tensor `fmt` with the PyTorch shape (d0..d[n-1]), converted to float32; on a missing
 * tensor, wrong type or shape: logs why, sets L->err and returns 0. */
NwW nw_ld_tensor(NwLoader *L, int n, int64_t d0, int64_t d1, int64_t d2, int64_t d3, const char *fmt, ...)
    NW_PRINTF(7, 8);
/* Space for a table of n floats computed at load time. */
NwW nw_ld_table(NwLoader *L, size_t n);
/* Host pointer of w while converting (NULL while counting, on error, or for w == 0). */
float *nw_ld_ptr(const NwLoader *L, NwW w);

/* Reads the unsigned integer `key` into *dst, which must lie in [lo, hi]; on failure writes
 * the reason to err and returns -1. One rule for every hyperparameter of every module. */
int nw_hp_u32(const NwGguf *g, const char *key, uint32_t lo, uint32_t hi, int *dst, char *err, size_t len);
int nw_hp_bool(const NwGguf *g, const char *key, int *dst, char *err, size_t len);

/* Base pointer + offset, NULL for an absent weight. */
static inline const float *nw_wp(const float *base, NwW w)
{
    return w ? base + w : NULL;
}

#endif
