/*
 * testutil.h — shared helpers of the test programs: a seeded RNG, tensor comparison that
 * reports the worst error and the first bad indices, random VQGAN models.
 */
#ifndef NW_TESTUTIL_H
#define NW_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "transformer.h"
#include "vqgan.h"

typedef struct TRng {
    uint64_t s;
} TRng;

static inline uint64_t trng_next(TRng *r)
{
    uint64_t x = r->s += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
/* uniform in [0, 1) */
static inline float trng_unif(TRng *r)
{
    return (float)(trng_next(r) >> 40) * (1.0f / 16777216.0f);
}
float trng_normal(TRng *r);
void fill_uniform(TRng *r, float *x, size_t n, float lo, float hi);
void fill_normal(TRng *r, float *x, size_t n, float scale);

/* Result of comparing `got` with `ref`: the max |got - ref| and max |ref|. */
typedef struct TCmp {
    double max_err, max_ref;
    size_t worst, n_bad;
} TCmp;

/* Counts elements with |got-ref| > atol + rtol*|ref|; prints up to 5 of them (with `what`). */
TCmp compare_f32(const char *what, const float *got, const float *ref, size_t n, double atol,
                 double rtol);

/* Hyperparameters of a random VQGAN (fields of NwVae that nw_vae_describe reads). */
void vae_hparams(NwVae *hp, int image_size, int channels, int dim, int num_layers,
                 const int *mults, const int *res, const int *attn, int heads, int dim_head,
                 int groups, int first_k, int K, int cd, int cosine);
/* A complete random model file (weights ~ N(0, 1/fan_in), unit codes if cosine), written into
 * a malloc'ed buffer (free()). dtype: NW_TYPE_F32 / F16 / BF16 for the weights. Returns 0. */
int vae_random_gguf(const NwVae *hp, uint64_t seed, int dtype, uint8_t **buf, size_t *size);
/* Same, but adds the writer's tensors through a callback first (for corrupting tests). */
typedef int (*TWriterEdit)(void *opaque, NwGgufWriter *w, const char *name, int n_dims,
                           int64_t *shape, float *data, size_t n);
int vae_random_gguf_edit(const NwVae *hp, uint64_t seed, int dtype, TWriterEdit edit, void *opaque,
                         uint8_t **buf, size_t *size);
/* A random VQGAN model file that also carries tokenizer merges. */
int vae_random_gguf_with_merges(const NwVae *hp, uint64_t seed, const char *const *merges, uint64_t n,
                                uint8_t **buf, size_t *size);
/* A random whole NUWA model (VQGAN + transformer) in a malloc'ed GGUF buffer. */
int nuwa_random_gguf(const NwVae *vhp, const NwNuwa *nhp, uint64_t seed, uint8_t **buf, size_t *size);
/* Writes buf to a fresh temporary file; returns its path (static storage per call site: copy). */
int write_temp(const char *tag, const uint8_t *buf, size_t size, char *path, size_t pathlen);

#endif
