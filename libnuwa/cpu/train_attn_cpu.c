/*
 * cpu/train_attn_cpu.c — the OpenMP versions of the training attention ops (train_ops.h):
 * attn_null_fwd/_bwd and attn_3dna_fwd/_bwd. The math and its derivation are in
 * ref/train_attn.c; tests/train/attn.c compares the two.
 *
 * Forward: the inference kernels of cpu/kernels_tmpl.c (attn_null, attn_gather) operation for
 * operation — the same dotf, softmax and talking-heads float sums in the same order — with the
 * probabilities kept in P, so `out` is bit-identical to the inference op of the CPU table (both
 * instruction-set variants: the build is ISO C, so no FMA contraction, and the lane-wise sums
 * round the same whether vectorised or not). The talking-heads weight PT[hd,j] is recomputed
 * per (hd, j) (the same float sum as softmax_talk_f's) instead of stored: attn_null_fwd has no
 * scratch query. Rows are independent: `omp for` over query rows.
 *
 * Backward, in two phases, so that no gradient element is ever summed by two threads and the
 * order of every sum is fixed by the shape alone (results do not depend on the thread count):
 *  1. over query rows (independent): PT, dPT = dout.v and dS (the talking-heads transpose
 *     mixes all heads of a row, so a row's heads are done together), kept in scratch
 *     (3 x n x heads x nt floats); dq of the row.
 *  2. over heads: head hd alone owns columns hd*dh .. (hd+1)*dh of dk, dv, dnull_k/dkbos,
 *     dnull_v/dvbos, column hd of dbias and row hd of dth; its thread adds the contributions of
 *     rows 0 .. n-1 in that order.
 * Per-thread gradient copies reduced afterwards (the other deterministic option) would need
 * n_threads copies of dk and dv (the whole sequence for 3DNA) and a reduction pass; splitting
 * by heads needs neither. Its parallelism is the number of heads (8 or more in the model), plenty
 * for the few cores a training run on CPU gets.
 */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "cpu/train_cpu.h"
#include "internal.h"
#include "ref/ref.h"

/* ---- the inference kernels' arithmetic (cpu/kernels_tmpl.c), repeated exactly ---- */

#define LANES 16

static double sum_f(const float *x, size_t n)
{
    double total = 0;
    size_t i = 0;
    while (i < n) {
        const size_t end = NW_MIN(n, i + 1024);
        float acc[LANES] = {0};
        for (; i + LANES <= end; i += LANES)
            for (int l = 0; l < LANES; l++)
                acc[l] += x[i + l];
        for (; i < end; i++)
            acc[0] += x[i];
        for (int l = 0; l < LANES; l++)
            total += acc[l];
    }
    return total;
}

static inline float dotf(const float *a, const float *b, int n)
{
    float acc[8] = {0};
    int c = 0;
    for (; c + 8 <= n; c += 8)
#pragma omp simd
        for (int l = 0; l < 8; l++)
            acc[l] += a[c + l] * b[c + l];
    float s = 0.f;
    for (; c < n; c++)
        s += a[c] * b[c];
    for (int l = 0; l < 8; l++)
        s += acc[l];
    return s;
}

static void softmax_rows(float *p, int heads, int nt)
{
    for (int hd = 0; hd < heads; hd++) {
        float *r = p + (size_t)hd * nt;
        float mx = -FLT_MAX;
        for (int j = 0; j < nt; j++)
            mx = mx > r[j] ? mx : r[j];
        for (int j = 0; j < nt; j++)
            r[j] = expf(r[j] - mx);
        const float inv = (float)(1.0 / sum_f(r, nt));
        for (int j = 0; j < nt; j++)
            r[j] *= inv;
    }
}

/* PT[hd, j] as softmax_talk_f computes it: float sum over g in order, from 0. */
static inline float talk(const float *p, const float *th, int heads, int nt, int hd, int j)
{
    float w = 0.f;
    for (int g = 0; g < heads; g++)
        w += th[hd * heads + g] * p[(size_t)g * nt + j];
    return w;
}

/* The key rows of a query: column 0 is (k0, v0); column j >= 1 is row ix[j-1] (-1 = masked),
 * or row j-1 when ix is NULL (attn_null, whose mask is already in P). */
static inline int key_row(const int32_t *ix, int j)
{
    return ix ? ix[j - 1] : j - 1;
}

/* ---- forward ---- */

static void attn_null_fwd_cpu(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk, const float *v,
                              int ldv, int n, int m, int heads, int dh, const float *null_k, const float *null_v,
                              const uint8_t *keep, const float *th, float scale, float *out, int ldo, float *P)
{
    const int nt = m + 1;
#pragma omp parallel num_threads(ctx->n_threads) if (n > 4)
    {
        float qs[1024]; /* dh <= 1024 (checked at load) */
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            float *p = P + (size_t)i * heads * nt;
            for (int hd = 0; hd < heads; hd++) {
                const float *qi = q + (size_t)i * ldq + hd * dh;
                float *pr = p + (size_t)hd * nt;
#pragma omp simd
                for (int c = 0; c < dh; c++)
                    qs[c] = qi[c] * scale;
                pr[0] = dotf(qs, null_k + hd * dh, dh);
                for (int j = 1; j < nt; j++)
                    pr[j] = (keep && !keep[j - 1]) ? -FLT_MAX : dotf(qs, k + (size_t)(j - 1) * ldk + hd * dh, dh);
            }
            softmax_rows(p, heads, nt);
            for (int hd = 0; hd < heads; hd++) {
                float *o = out + (size_t)i * ldo + hd * dh;
                const float w0 = talk(p, th, heads, nt, hd, 0);
#pragma omp simd
                for (int c = 0; c < dh; c++)
                    o[c] = w0 * null_v[hd * dh + c];
                for (int j = 1; j < nt; j++) {
                    const float w = talk(p, th, heads, nt, hd, j);
                    if (w == 0.f)
                        continue;
                    const float *vr = v + (size_t)(j - 1) * ldv + hd * dh;
#pragma omp simd
                    for (int c = 0; c < dh; c++)
                        o[c] += w * vr[c];
                }
            }
        }
    }
}

/* The index list, rounded up to 64 bytes (ctx->scratch is 64-byte aligned). */
static size_t idx_floats(const NwDna *g, int n)
{
    return ((size_t)n * g->kf * g->kh * g->kw + 15) & ~(size_t)15;
}

static size_t attn_3dna_fwd_scratch_cpu(const NwDna *g, int n, int heads, int n_threads)
{
    (void)heads;
    (void)n_threads;
    return idx_floats(g, n);
}

static void attn_3dna_fwd_cpu(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq, const float *k,
                              const float *v, int ldkv, const float *kbos, const float *vbos, int n, int heads, int dh,
                              const float *bias, const float *th, float scale, float *out, int ldo, float *P)
{
    const int nk = g->kf * g->kh * g->kw, nt = nk + 1;
    int32_t *idx = (int32_t *)ctx->scratch;
    nw_dna_indices(g, t0, n, idx);
#pragma omp parallel num_threads(ctx->n_threads) if (n > 4)
    {
        float qs[1024];
#pragma omp for schedule(static)
        for (int i = 0; i < n; i++) {
            const int32_t *ix = idx + (size_t)i * nk;
            float *p = P + (size_t)i * heads * nt;
            for (int hd = 0; hd < heads; hd++) {
                const float *qi = q + (size_t)i * ldq + hd * dh;
                float *pr = p + (size_t)hd * nt;
#pragma omp simd
                for (int c = 0; c < dh; c++)
                    qs[c] = qi[c] * scale;
                pr[0] = dotf(qs, kbos + hd * dh, dh);
                for (int j = 1; j < nt; j++) {
                    if (ix[j - 1] < 0) {
                        pr[j] = -FLT_MAX;
                        continue;
                    }
                    float sj = dotf(qs, k + (size_t)ix[j - 1] * ldkv + hd * dh, dh);
                    if (bias)
                        sj += bias[(size_t)(j - 1) * heads + hd];
                    pr[j] = sj;
                }
            }
            softmax_rows(p, heads, nt);
            for (int hd = 0; hd < heads; hd++) {
                float *o = out + (size_t)i * ldo + hd * dh;
                const float w0 = talk(p, th, heads, nt, hd, 0);
#pragma omp simd
                for (int c = 0; c < dh; c++)
                    o[c] = w0 * vbos[hd * dh + c];
                for (int j = 1; j < nt; j++) {
                    if (ix[j - 1] < 0)
                        continue;
                    const float w = talk(p, th, heads, nt, hd, j);
                    const float *vr = v + (size_t)ix[j - 1] * ldkv + hd * dh;
#pragma omp simd
                    for (int c = 0; c < dh; c++)
                        o[c] += w * vr[c];
                }
            }
        }
    }
}

/* ---- backward (both ops) ---- */

#define RB 16 /* query rows per block of phase 1 (fixed: the partial sums do not depend on threads) */

typedef struct Bwd {
    const float *q, *k, *v, *k0, *v0, *th, *P, *dout;
    int ldq, ldk, ldv, lddo, n, heads, dh, nt;
    float scale;
    const int32_t *idx; /* n x (nt - 1) key rows, or NULL: row j - 1 */
    float *dq, *dk, *dv, *dk0, *dv0, *dbias, *dth;
    float *pt, *dpt, *ds;  /* n x heads x nt each */
    int nkeys;             /* key rows: cap (3DNA) or m */
    int32_t *off, *ent;    /* the key rows' (query, column) lists, nkeys + 1 offsets, i * nt + j */
    float *part;           /* per row block: dbias ((nt - 1) x heads) */
    double *pth;           /* per row block: heads x heads of dth */
    float *keyw;           /* per thread: 4 * KEYW_FLOATS(heads) floats for the key phase */
} Bwd;

/* The key phase's per-thread buffers come from the scratch (ops never allocate): sized for the
 * largest head size a model may have (dim_head <= 1024, checked at load), as the scratch
 * queries do not know dh. */
#define KEYW_FLOATS(heads) ((size_t)(heads) * 1024 * 4)

static size_t r16(size_t x)
{
    return (x + 15) & ~(size_t)15;
}

static size_t part_floats(int heads, int nt)
{
    return r16((size_t)(nt - 1) * heads);
}

/* The inverse of the index list: for each key row r, its (i, j) pairs with j >= 1, in the order
 * (i, then j) ascending. */
static void build_lists(const Bwd *b)
{
    const int nk = b->nt - 1;
    int32_t *off = b->off;
    memset(off, 0, ((size_t)b->nkeys + 1) * sizeof(int32_t));
    for (int i = 0; i < b->n; i++)
        for (int j = 1; j <= nk; j++) {
            const int r = b->idx ? b->idx[(size_t)i * nk + j - 1] : j - 1;
            if (r >= 0)
                off[r + 1]++;
        }
    for (int r = 0; r < b->nkeys; r++)
        off[r + 1] += off[r];
    /* fill with a running cursor per key: off[r] is advanced, then restored by a shift */
    for (int i = 0; i < b->n; i++)
        for (int j = 1; j <= nk; j++) {
            const int r = b->idx ? b->idx[(size_t)i * nk + j - 1] : j - 1;
            if (r >= 0)
                b->ent[off[r]++] = i * b->nt + j;
        }
    for (int r = b->nkeys; r > 0; r--)
        off[r] = off[r - 1];
    off[0] = 0;
}

/* Phase 1, one query row: PT, dPT, dS, dq, and the row's share of the block partials. */
static void bwd_row(const Bwd *b, int i, float *acc, float *part, double *pth)
{
    const int heads = b->heads, dh = b->dh, nt = b->nt;
    const int32_t *ix = b->idx ? b->idx + (size_t)i * (nt - 1) : NULL;
    const float *p = b->P + (size_t)i * heads * nt, *dor = b->dout + (size_t)i * b->lddo;
    float *pt = b->pt + (size_t)i * heads * nt, *dpt = b->dpt + (size_t)i * heads * nt;
    float *ds = b->ds + (size_t)i * heads * nt;
    for (int hd = 0; hd < heads; hd++) {
        float *ptr = pt + (size_t)hd * nt, *dptr = dpt + (size_t)hd * nt;
#pragma omp simd
        for (int j = 0; j < nt; j++)
            ptr[j] = 0.f;
        for (int g = 0; g < heads; g++) {
            const float w = b->th[hd * heads + g];
            const float *pg = p + (size_t)g * nt;
#pragma omp simd
            for (int j = 0; j < nt; j++)
                ptr[j] += w * pg[j];
        }
        const float *dh_ = dor + hd * dh;
        dptr[0] = dotf(dh_, b->v0 + hd * dh, dh);
        for (int j = 1; j < nt; j++) {
            const int r = key_row(ix, j);
            dptr[j] = r < 0 ? 0.f : dotf(dh_, b->v + (size_t)r * b->ldv + hd * dh, dh);
        }
    }
    /* dP = th^T dPT (column g of th), then the softmax backward per head; dS -> ds */
    for (int g = 0; g < heads; g++) {
        float *dsr = ds + (size_t)g * nt;
        const float *pr = p + (size_t)g * nt;
#pragma omp simd
        for (int j = 0; j < nt; j++)
            dsr[j] = 0.f;
        for (int hd = 0; hd < heads; hd++) {
            const float w = b->th[hd * heads + g];
            const float *d = dpt + (size_t)hd * nt;
#pragma omp simd
            for (int j = 0; j < nt; j++)
                dsr[j] += w * d[j];
        }
        double dot = 0;
        for (int j = 0; j < nt; j++)
            dot += (double)pr[j] * dsr[j];
        const float dotf_ = (float)dot;
#pragma omp simd
        for (int j = 0; j < nt; j++)
            dsr[j] = pr[j] * (dsr[j] - dotf_);
    }
    if (b->dth)
        for (int hd = 0; hd < heads; hd++)
            for (int g = 0; g < heads; g++)
                pth[hd * heads + g] += dotf(dpt + (size_t)hd * nt, p + (size_t)g * nt, nt);
    /* block partials: dbias */
    float *pb = part;
    if (b->dbias)
#pragma omp simd
        for (int j = 1; j < nt; j++)
            for (int hd = 0; hd < heads; hd++)
                pb[(size_t)(j - 1) * heads + hd] += ds[(size_t)hd * nt + j];
    if (!b->dq)
        return;
    for (int hd = 0; hd < heads; hd++) {
        const float *dsr = ds + (size_t)hd * nt;
        const float *k0 = b->k0 + hd * dh;
        const float s0 = dsr[0];
#pragma omp simd
        for (int c = 0; c < dh; c++)
            acc[c] = s0 * k0[c];
        for (int j = 1; j < nt; j++) {
            const int r = key_row(ix, j);
            if (r < 0)
                continue;
            const float s = dsr[j];
            const float *kj = b->k + (size_t)r * b->ldk + hd * dh;
#pragma omp simd
            for (int c = 0; c < dh; c++)
                acc[c] += s * kj[c];
        }
        float *dqr = b->dq + (size_t)i * b->ldq + hd * dh;
#pragma omp simd
        for (int c = 0; c < dh; c++)
            dqr[c] += b->scale * acc[c];
    }
}

/* Phase 2, one key row r: its rows of dk and dv, the contributions in (query, column) order;
 * r == nkeys: column 0 (dk0, dv0), every query in order. */
static void bwd_key(const Bwd *b, int r, float *ak, float *av, float *coef)
{
    const int heads = b->heads, dh = b->dh, nt = b->nt, inner = heads * dh;
    const int bos = r == b->nkeys;
    const int e0 = bos ? 0 : b->off[r], e1 = bos ? b->n : b->off[r + 1];
    float *dk = bos ? b->dk0 : b->dk ? b->dk + (size_t)r * b->ldk : NULL;
    float *dv = bos ? b->dv0 : b->dv ? b->dv + (size_t)r * b->ldv : NULL;
    if (e0 == e1 || (!dk && !dv))
        return;
    float *cs = coef, *cw = coef + inner;
#pragma omp simd
    for (int c = 0; c < inner; c++)
        ak[c] = 0.f, av[c] = 0.f;
    for (int e = e0; e < e1; e++) {
        const int i = bos ? e : b->ent[e] / nt, j = bos ? 0 : b->ent[e] % nt;
        const size_t o = (size_t)i * heads * nt + j;
        const float *qi = b->q + (size_t)i * b->ldq, *dor = b->dout + (size_t)i * b->lddo;
        for (int hd = 0; hd < heads; hd++) {
            const float s = b->scale * b->ds[o + (size_t)hd * nt], w = b->pt[o + (size_t)hd * nt];
#pragma omp simd
            for (int c = 0; c < dh; c++)
                cs[hd * dh + c] = s, cw[hd * dh + c] = w;
        }
        if (dk)
#pragma omp simd
            for (int c = 0; c < inner; c++)
                ak[c] += cs[c] * qi[c];
        if (dv)
#pragma omp simd
            for (int c = 0; c < inner; c++)
                av[c] += cw[c] * dor[c];
    }
    if (dk)
#pragma omp simd
        for (int c = 0; c < inner; c++)
            dk[c] += ak[c];
    if (dv)
#pragma omp simd
        for (int c = 0; c < inner; c++)
            dv[c] += av[c];
}

static void bwd_run(const NwCtx *ctx, const Bwd *b)
{
    const int heads = b->heads, inner = heads * b->dh, nb = (b->n + RB - 1) / RB;
    const size_t pf = part_floats(heads, b->nt), hh = (size_t)heads * heads;
    memset(b->part, 0, (size_t)nb * pf * sizeof(float));
    memset(b->pth, 0, (size_t)nb * hh * sizeof(double));
#pragma omp parallel num_threads(ctx->n_threads) if (b->n > 4)
    {
        float acc[1024]; /* dh <= 1024 */
#pragma omp single nowait
        build_lists(b);
#pragma omp for schedule(static)
        for (int blk = 0; blk < nb; blk++) {
            const int i1 = NW_MIN(b->n, (blk + 1) * RB);
            for (int i = blk * RB; i < i1; i++)
                bwd_row(b, i, acc, b->part + (size_t)blk * pf, b->pth + (size_t)blk * hh);
        }
        /* the implicit barrier: every row's dS and the key lists are ready */
        if (b->dk || b->dv || b->dk0 || b->dv0) {
            float *w = b->keyw + KEYW_FLOATS(heads) * (size_t)omp_get_thread_num();
#pragma omp for schedule(static)
            for (int r = 0; r <= b->nkeys; r++)
                bwd_key(b, r, w, w + inner, w + 2 * inner);
        }
    }
    /* the row blocks' partials, in block order */
    for (int blk = 0; blk < nb; blk++) {
        const float *pb = b->part + (size_t)blk * pf;
        if (b->dbias)
            for (int c = 0; c < (b->nt - 1) * heads; c++)
                b->dbias[c] += pb[c];
    }
    if (b->dth)
        for (size_t x = 0; x < hh; x++) {
            double a = 0;
            for (int blk = 0; blk < nb; blk++)
                a += b->pth[(size_t)blk * hh + x];
            b->dth[x] += (float)a;
        }
}

static size_t bwd_floats(int n, int heads, int nt, int nkeys)
{
    const size_t nb = (size_t)(n + RB - 1) / RB;
    return r16((size_t)n * heads * nt) * 3 + r16((size_t)nkeys + 1) + r16((size_t)n * (nt - 1)) +
           nb * part_floats(heads, nt) + r16(nb * heads * heads * 2);
}

static void bwd_bufs(Bwd *b, float *s)
{
    const size_t one = r16((size_t)b->n * b->heads * b->nt), nb = (size_t)(b->n + RB - 1) / RB;
    b->pt = s, b->dpt = s + one, b->ds = s + 2 * one;
    s += 3 * one;
    b->off = (int32_t *)s;
    s += r16((size_t)b->nkeys + 1);
    b->ent = (int32_t *)s;
    s += r16((size_t)b->n * (b->nt - 1));
    b->part = s;
    s += nb * part_floats(b->heads, b->nt);
    b->pth = (double *)s;
    s += r16(nb * b->heads * b->heads * 2);
    b->keyw = s;
}

static size_t attn_null_bwd_scratch_cpu(int n, int m, int heads, int n_threads)
{
    return bwd_floats(n, heads, m + 1, m) + KEYW_FLOATS(heads) * (size_t)NW_MAX(n_threads, 1);
}

static void attn_null_bwd_cpu(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk, const float *v,
                              int ldv, int n, int m, int heads, int dh, const float *null_k, const float *null_v,
                              const float *th, float scale, const float *P, const float *dout, int lddo, float *dq,
                              float *dk, float *dv, float *dnull_k, float *dnull_v, float *dth)
{
    Bwd b = {q, k, v, null_k, null_v, th, P, dout, ldq, ldk, ldv, lddo, n, heads, dh, m + 1, scale, NULL,
             dq, dk, dv, dnull_k, dnull_v, NULL, dth, NULL, NULL, NULL, m, NULL, NULL, NULL, NULL, NULL};
    bwd_bufs(&b, ctx->scratch);
    bwd_run(ctx, &b);
}

static size_t attn_3dna_bwd_scratch_cpu(const NwDna *g, int n, int heads, int n_threads)
{
    return idx_floats(g, n) + bwd_floats(n, heads, g->kf * g->kh * g->kw + 1, g->cap) +
           KEYW_FLOATS(heads) * (size_t)NW_MAX(n_threads, 1);
}

static void attn_3dna_bwd_cpu(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq, const float *k,
                              const float *v, int ldkv, const float *kbos, const float *vbos, int n, int heads, int dh,
                              const float *bias, const float *th, float scale, const float *P, const float *dout,
                              int lddo, float *dq, float *dk, float *dv, float *dkbos, float *dvbos, float *dbias,
                              float *dth)
{
    int32_t *idx = (int32_t *)ctx->scratch;
    nw_dna_indices(g, t0, n, idx);
    Bwd b = {q, k, v, kbos, vbos, th, P, dout, ldq, ldkv, ldkv, lddo, n, heads, dh, g->kf * g->kh * g->kw + 1, scale,
             idx, dq, dk, dv, dkbos, dvbos, bias ? dbias : NULL, dth, NULL, NULL, NULL, g->cap, NULL, NULL, NULL, NULL, NULL};
    bwd_bufs(&b, ctx->scratch + idx_floats(g, n));
    bwd_run(ctx, &b);
}

void nw_train_fill_attn_cpu(NwTrainOps *o)
{
    o->attn_null_fwd = attn_null_fwd_cpu;
    o->attn_null_bwd = attn_null_bwd_cpu;
    o->attn_null_bwd_scratch = attn_null_bwd_scratch_cpu;
    o->attn_3dna_fwd = attn_3dna_fwd_cpu;
    o->attn_3dna_fwd_scratch = attn_3dna_fwd_scratch_cpu;
    o->attn_3dna_bwd = attn_3dna_bwd_cpu;
    o->attn_3dna_bwd_scratch = attn_3dna_bwd_scratch_cpu;
}
