/*
 * weights.c — see weights.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "weights.h"

void nw_loader_init(NwLoader *L, const NwGguf *g, const NwLog *log, NwTensorFn fn, void *opaque)
{
    memset(L, 0, sizeof(*L));
    L->g = g;
    L->log = log;
    L->describe = fn;
    L->opaque = opaque;
    L->used = NW_W_BASE;
}

int nw_loader_alloc(NwLoader *L)
{
    size_t bytes;
    if (nw_mul_size(L->used, sizeof(float), &bytes) || !(L->blob = nw_alloc(bytes))) {
        nw_log(L->log, NUWA_LOG_ERROR, "model: cannot allocate %zu MiB of weights\n", (L->used * sizeof(float)) >> 20);
        L->err = NUWA_ERR_NOMEM;
        return L->err;
    }
    memset(L->blob, 0, sizeof(float) * NW_W_BASE);
    return 0;
}

void nw_loader_rewind(NwLoader *L)
{
    L->used = NW_W_BASE;
}

NwW nw_ld_table(NwLoader *L, size_t n)
{
    const NwW w = L->used;
    L->used += (n + 15) & ~(size_t)15; /* 64-byte aligned tables */
    return w;
}

float *nw_ld_ptr(const NwLoader *L, NwW w)
{
    return L->blob && w && !L->err ? L->blob + w : NULL;
}

static void fmt_shape(char *buf, size_t len, int n, const int64_t *s)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o, "(");
    for (int i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)s[i]);
    if (o < len)
        snprintf(buf + o, len - o, ")");
}

NwW nw_ld_tensor(NwLoader *L, int n, int64_t d0, int64_t d1, int64_t d2, int64_t d3, const char *fmt, ...)
{
    char name[256], want[96], have[96];
    va_list ap;
    const int64_t shape[4] = {d0, d1, d2, d3};
    if (L->err)
        return 0;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    if (L->describe) {
        L->describe(L->opaque, name, n, shape);
        return 0;
    }
    if (L->describe_at || L->refresh) { /* offsets as a load walk hands them out */
        size_t elems = 1;
        for (int i = 0; i < n; i++)
            elems *= (size_t)shape[i];
        const NwW w = nw_ld_table(L, elems);
        if (L->describe_at)
            L->describe_at(L->opaque, name, n, shape, w);
        return w;
    }
    const NwGgufTensor *t = nw_gguf_find_tensor(L->g, name);
    if (!t) {
        fmt_shape(want, sizeof(want), n, shape);
        nw_log(L->log, NUWA_LOG_ERROR, "model: missing tensor '%s' %s required by the hyperparameters\n", name, want);
        L->err = NUWA_ERR_BAD_MODEL;
        return 0;
    }
    if (t->type != NW_TYPE_F32 && t->type != NW_TYPE_F16 && t->type != NW_TYPE_BF16) {
        nw_log(L->log, NUWA_LOG_ERROR, "model: tensor '%s' has type %s, weights must be F32, F16 or BF16\n", name,
               nw_gguf_type_name(t->type));
        L->err = NUWA_ERR_BAD_MODEL;
        return 0;
    }
    int ok = t->n_dims == n;
    for (int i = 0; ok && i < n; i++)
        ok = t->shape[i] == shape[i];
    if (!ok) {
        fmt_shape(want, sizeof(want), n, shape);
        fmt_shape(have, sizeof(have), t->n_dims, t->shape);
        nw_log(L->log, NUWA_LOG_ERROR, "model: tensor '%s' has shape %s but the hyperparameters imply %s\n", name,
               have, want);
        L->err = NUWA_ERR_BAD_MODEL;
        return 0;
    }
    const NwW w = nw_ld_table(L, (size_t)t->n_elems);
    if (L->blob)
        nw_tensor_to_f32(t, L->blob + w);
    return w;
}

int nw_hp_u32(const NwGguf *g, const char *key, uint32_t lo, uint32_t hi, int *dst, char *err, size_t len)
{
    uint32_t x;
    if (nw_gguf_get_u32(g, key, &x, err, len) < 0)
        return -1;
    if (x < lo || x > hi) {
        snprintf(err, len, "%s = %u is out of range [%u, %u]", key, x, lo, hi);
        return -1;
    }
    *dst = (int)x;
    return 0;
}

int nw_hp_bool(const NwGguf *g, const char *key, int *dst, char *err, size_t len)
{
    int b;
    if (nw_gguf_get_bool(g, key, &b, err, len) < 0)
        return -1;
    *dst = b;
    return 0;
}
