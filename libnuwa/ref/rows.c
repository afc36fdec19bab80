/*
 * ref/rows.c — host memory slots (shared by the ref and cpu tables) and the reference ops that
 * move transformer rows: linear with a column bias, embedding gather, rotary, token shift, and
 * 3DNA attention that derives its neighbourhood from the token position.
 */
#include <math.h>
#include <string.h>

#include "config.h"
#include "internal.h"
#include "ops.h"
#include "ref/ref.h"

/* ---- host memory ---- */

void *nw_host_alloc(const NwCtx *ctx, size_t bytes)
{
    (void)ctx;
    return nw_alloc(bytes);
}

void nw_host_free(const NwCtx *ctx, void *p)
{
    (void)ctx;
    nw_free(p);
}

void nw_host_upload(const NwCtx *ctx, void *dst, const void *src, size_t bytes)
{
    if (ctx && ctx->xfer) {
        ctx->xfer->uploads++;
        ctx->xfer->up_bytes += bytes;
    }
    if (bytes)
        memcpy(dst, src, bytes);
}

void nw_host_download(const NwCtx *ctx, void *dst, const void *src, size_t bytes)
{
    if (ctx && ctx->xfer) {
        ctx->xfer->downloads++;
        ctx->xfer->down_bytes += bytes;
    }
    if (bytes)
        memcpy(dst, src, bytes);
}

void nw_host_copy(const NwCtx *ctx, void *dst, const void *src, size_t bytes)
{
    (void)ctx;
    if (bytes)
        memcpy(dst, src, bytes);
}

void nw_host_fill(const NwCtx *ctx, void *dst, int byte, size_t bytes)
{
    (void)ctx;
    if (bytes)
        memset(dst, byte, bytes);
}

int nw_host_sync(const NwCtx *ctx, char *msg, size_t msglen)
{
    (void)ctx;
    if (msg && msglen)
        msg[0] = 0;
    return 0;
}

/* ---- rows ---- */

void nw_linear_ref(const NwCtx *ctx, const float *x, int n, int i, const float *W, int o, const float *bias,
                   float *y)
{
    (void)ctx;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < o; c++) {
            double s = 0;
            for (int k = 0; k < i; k++)
                s += (double)x[(size_t)r * i + k] * W[(size_t)c * i + k];
            y[(size_t)r * o + c] = bias ? (float)s + bias[c] : (float)s;
        }
}

void nw_embed_ref(const NwCtx *ctx, const float *table, int d, const int32_t *ids, int n, const float *add,
                  float *out, int trans)
{
    (void)ctx;
    for (int r = 0; r < n; r++) {
        const float *e = table + (size_t)ids[r] * d;
        for (int j = 0; j < d; j++) {
            const float v = add ? e[j] + add[(size_t)r * d + j] : e[j];
            if (trans)
                out[(size_t)j * n + r] = v;
            else
                out[(size_t)r * d + j] = v;
        }
    }
}

void nw_rotary_ref(const NwCtx *ctx, float *x, int n, int ld, int heads, int dh, int rot,
                   const float *inv_freq, int p0)
{
    const int hr = rot / 2;
    (void)ctx;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < hr; k++) {
            const float th = (float)(p0 + i) * inv_freq[k];
            const float cs = cosf(th), sn = sinf(th);
            for (int hd = 0; hd < heads; hd++) {
                float *v = x + (size_t)i * ld + (size_t)hd * dh;
                const float a = v[k], b = v[k + hr];
                v[k] = a * cs + (-b) * sn;
                v[k + hr] = b * cs + a * sn;
            }
        }
}

void nw_token_shift_ref(const NwCtx *ctx, const float *ring, int cap, int p0, int n, int d, int fmap, int T,
                        float *out)
{
    const int c = (d + 3) / 4, c2 = NW_MIN(2 * c, d);
    (void)ctx;
    for (int i = 0; i < n; i++) {
        const int p = p0 + i;
        float *o = out + (size_t)i * d;
        memcpy(o, ring + (size_t)(p % cap) * d, sizeof(float) * d);
        if (p == 0)
            continue;
        const int t = p - 1, row = (t % T) / fmap, col = t % fmap;
        if (row > 0)
            memcpy(o, ring + (size_t)((p - fmap) % cap) * d, sizeof(float) * c);
        else
            memset(o, 0, sizeof(float) * c);
        if (col > 0)
            memcpy(o + c, ring + (size_t)((p - 1) % cap) * d + c, sizeof(float) * (c2 - c));
        else
            memset(o + c, 0, sizeof(float) * (c2 - c));
    }
}

void nw_dna_indices(const NwDna *g, int t0, int n, int32_t *idx)
{
    const int K = g->kf * g->kh * g->kw;
    for (int i = 0; i < n; i++) {
        const int t = t0 + i, f = t / g->T, r = (t % g->T) / g->fmap, c = t % g->fmap;
        int32_t *ix = idx + (size_t)i * K;
        for (int a = 0; a < g->kf; a++)
            for (int b = 0; b < g->kh; b++)
                for (int e = 0; e < g->kw; e++) {
                    const int ff = f - g->dil * (g->kf - 1 - a), rr = r - g->dil * (g->kh - 1 - b),
                              cc = c - g->dil * (g->kw - 1 - e);
                    ix[(a * g->kh + b) * g->kw + e] =
                        (ff < 0 || rr < 0 || cc < 0) ? -1 : (int32_t)(((int64_t)ff * g->T + rr * g->fmap + cc) % g->cap);
                }
    }
}

size_t nw_attn_3dna_scratch_ref(const NwDna *g, int n, int heads, int n_threads)
{
    (void)heads;
    (void)n_threads;
    return (size_t)n * g->kf * g->kh * g->kw; /* the index list (int32 in float slots) */
}

void nw_attn_3dna_ref(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq, const float *k,
                      const float *v, int ldkv, const float *kbos, const float *vbos, int n, int heads, int dh,
                      const float *bias, const float *th, float scale, float *out, int ldo)
{
    int32_t *idx = (int32_t *)ctx->scratch;
    nw_dna_indices(g, t0, n, idx);
    nw_attn_gather_ref(ctx, q, ldq, k, ldkv, v, ldkv, kbos, vbos, idx, n, g->kf * g->kh * g->kw, heads, dh, bias,
                       th, scale, out, ldo);
}
