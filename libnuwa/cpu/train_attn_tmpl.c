/*
 * cpu/train_attn_tmpl.c — the OpenMP versions of the training attention ops (train_ops.h):
 * attn_null_fwd/_bwd and attn_3dna_fwd/_bwd. The math and its derivation are in
 * ref/train_attn.c; tests/train/attn.c compares the two.
 *
 * Forward: the inference kernels of cpu/kernels_tmpl.c (attn_null, attn_gather) operation for
 * operation — the same dotf, softmax and talking-heads float sums in the same order — with the
 * probabilities kept in P, so `out` is bit-identical to the inference op of the CPU table (both
 * instruction-set variants: the build is ISO C, so no FMA contraction, and the lane-wise sums
 * round the same whether vectorised or not). Rows are independent: `omp for` over query rows.
 *
 * Speed: a dot product of one head (dh = 32 floats, say) is short, and dotf's final sum of its
 * eight lanes is a chain of dependent adds that costs more than the products. So the dots of a
 * row are done eight keys at a time (dotf8): eight independent chains, the same roundings.
 * Like cpu/kernels_tmpl.c this file is compiled once per instruction set (NW_ISA generic, and
 * avx2 with -mavx2 -mfma; train_ops.c picks one from the CPU flags); the AVX2 build has
 * intrinsic versions of the hottest loops doing the same float operations (multiply, then add:
 * no FMA) in the same order, so both variants give the same bits.
 *
 * Backward, in two phases, so that no gradient element is ever summed by two threads and the
 * order of every sum is fixed by the shape alone (results do not depend on the thread count):
 *  1. over blocks of query rows (independent): PT, dPT = dout.v and dS (the talking-heads
 *     transpose mixes all heads of a row, so a row's heads are done together), kept in scratch;
 *     dq of the row; the dth and dbias sums per block (added in block order at the end).
 *  2. over ranges of key rows: each key row sums its (query, column) entries in that order
 *     (3DNA: from lists inverting the index list; attn_null: column r + 1 of every query), in
 *     registers, and adds the sums to its dk and dv rows (column 0, the null/bos key, belongs
 *     to the last range). A row's sums do not depend on how the rows are split, so the split
 *     may follow the team size.
 * Called with one thread (the trainer runs the items of a batch in parallel, one per thread),
 * both phases are plain loops over the whole item.
 */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "cpu/train_cpu.h"
#include "cpu/sum_f.h"
#include "internal.h"
#include "ref/ref.h"

#include "cpu/isa.h"

#define INL static inline __attribute__((always_inline))

/* ---- the inference kernels' arithmetic (cpu/kernels_tmpl.c), repeated exactly ---- */

INL double sum_f(const float *x, size_t n)
{
    return nw_sum_f_blocked(x, n, 1024);
}

#define NB 8 /* dots per dotf8 */

/* s[t] = dotf(a, b[t], n) for t < NB, each rounded exactly as kernels_tmpl.c's dotf: eight
 * lane-wise float sums over the full groups of eight, then s = 0 + the tail products + the
 * lanes in order. The NB sums are independent, so their adds overlap. */
INL void dotf8_c(const float *a, const float *const *b, int n, float *s)
{
    float acc[NB][8];
    for (int t = 0; t < NB; t++)
        for (int l = 0; l < 8; l++)
            acc[t][l] = 0.f;
    int c = 0;
    for (; c + 8 <= n; c += 8)
        for (int t = 0; t < NB; t++) {
            const float *bt = b[t] + c;
#pragma omp simd
            for (int l = 0; l < 8; l++)
                acc[t][l] += a[c + l] * bt[l];
        }
    for (int t = 0; t < NB; t++)
        s[t] = 0.f;
    for (; c < n; c++)
        for (int t = 0; t < NB; t++)
            s[t] += a[c] * b[t][c];
    for (int l = 0; l < 8; l++)
        for (int t = 0; t < NB; t++)
            s[t] += acc[t][l];
}

#if defined(__AVX2__)
#include <immintrin.h>

/* r[t] lane l -> r[l] lane t */
INL void transpose8(__m256 *r)
{
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* dotf8_c with the eight sums in registers: the lane sums as vectors (multiply, then add), the
 * tail sums per row, then the lanes transposed so that the final adds run over the lanes in
 * order for all eight rows at once. */
INL void dotf8(const float *a, const float *const *b, int n, float *s)
{
    __m256 acc[NB];
    for (int t = 0; t < NB; t++)
        acc[t] = _mm256_setzero_ps();
    int c = 0;
    for (; c + 8 <= n; c += 8) {
        const __m256 av = _mm256_loadu_ps(a + c);
        for (int t = 0; t < NB; t++)
            acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(av, _mm256_loadu_ps(b[t] + c)));
    }
    float tail[NB];
    for (int t = 0; t < NB; t++)
        tail[t] = 0.f;
    for (; c < n; c++)
        for (int t = 0; t < NB; t++)
            tail[t] += a[c] * b[t][c];
    transpose8(acc);
    __m256 sum = _mm256_loadu_ps(tail);
    for (int l = 0; l < 8; l++)
        sum = _mm256_add_ps(sum, acc[l]);
    _mm256_storeu_ps(s, sum);
}
#else
#define dotf8 dotf8_c
#endif

/* Batches dots of `a` with rows for dotf8: add() queues a row for column j; full batches (and
 * the last, padded with its first row) are evaluated and handed to the caller as (j, dot). */
typedef struct Batch {
    const float *row[NB];
    int col[NB], n;
} Batch;

INL int batch_add(Batch *bt, const float *row, int j)
{
    bt->row[bt->n] = row;
    bt->col[bt->n] = j;
    return ++bt->n == NB;
}

INL int batch_eval(Batch *bt, const float *a, int n, float *s)
{
    const int cnt = bt->n;
    for (int t = cnt; t < NB; t++)
        bt->row[t] = bt->row[0];
    dotf8(a, bt->row, n, s);
    bt->n = 0;
    return cnt;
}

INL void softmax_rows(float *p, int heads, int nt)
{
    for (int hd = 0; hd < heads; hd++) {
        float *r = p + (size_t)hd * nt;
        float mx = -FLT_MAX;
        for (int j = 0; j < nt; j++)
            mx = mx > r[j] ? mx : r[j];
        for (int j = 0; j < nt; j++) { /* a masked score's exp is exactly 0: skip expf's slow underflow path */
            const float x = r[j] - mx;
            r[j] = x < -1e30f ? 0.f : expf(x);
        }
        const float inv = (float)(1.0 / sum_f(r, nt));
        for (int j = 0; j < nt; j++)
            r[j] *= inv;
    }
}

/* Row hd of the talking-heads mix, PT[hd, j] = sum over g in order of th[hd, g] P[g, j], from
 * 0 (softmax_talk_f's float sums). */
INL void talk_row(const float *p, const float *th, int heads, int nt, int hd, float *pt)
{
#pragma omp simd
    for (int j = 0; j < nt; j++)
        pt[j] = 0.f;
    for (int g = 0; g < heads; g++) {
        const float w = th[hd * heads + g];
        const float *pg = p + (size_t)g * nt;
#pragma omp simd
        for (int j = 0; j < nt; j++)
            pt[j] += w * pg[j];
    }
}

/* The problem of one call (both ops, both passes). The key of column j >= 1 is row idx[j-1]
 * of k/v (-1 = masked) for 3DNA, row j - 1 for attn_null (masked by keep in the forward; in
 * the backward its mask is already in P). Column 0 is (k0, v0). */
typedef struct Attn {
    const float *q, *k, *v, *k0, *v0, *th, *bias, *dout;
    const int32_t *idx;
    const uint8_t *keep;
    int ldq, ldk, ldv, ldo, lddo, n, heads, dh, nt;
    float scale;
    float *out, *P;
} Attn;

INL int key_row(const Attn *a, const int32_t *ix, int j)
{
    return ix ? ix[j - 1] : (a->keep && !a->keep[j - 1]) ? -1 : j - 1;
}

/* acc[c] = w[0] * r0[c], then acc[c] += w[j] * (row of column j)[c] for j = 1 .. nt-1 in order
 * (c < dh): the weighted sums of the forward's out (weights PT, rows v) and of dq (weights dS,
 * rows k). Column j >= 1 reads row key(j) of base (stride ld): ix[j-1], or j - 1 without ix; it
 * is skipped when masked (ix < 0) or, with skip_zero, when its weight is 0 (as the inference
 * kernels do). */
INL void wsum_c(const float *w, const float *r0, const float *base, int ld, const int32_t *ix, int nt, int dh,
                int skip_zero, float *acc)
{
    const float w0 = w[0];
#pragma omp simd
    for (int c = 0; c < dh; c++)
        acc[c] = w0 * r0[c];
    for (int j = 1; j < nt; j++) {
        const int r = ix ? ix[j - 1] : j - 1;
        const float wj = w[j];
        if (r < 0 || (skip_zero && wj == 0.f))
            continue;
        const float *row = base + (size_t)r * ld;
#pragma omp simd
        for (int c = 0; c < dh; c++)
            acc[c] += wj * row[c];
    }
}

#if defined(__AVX2__)
/* wsum_c with 32 columns at a time in registers (the same products and adds, in the same order). */
INL void wsum(const float *w, const float *r0, const float *base, int ld, const int32_t *ix, int nt, int dh,
              int skip_zero, float *acc)
{
    if (dh & 31) {
        wsum_c(w, r0, base, ld, ix, nt, dh, skip_zero, acc);
        return;
    }
    for (int c0 = 0; c0 < dh; c0 += 32) {
        const __m256 w0 = _mm256_set1_ps(w[0]);
        __m256 a0 = _mm256_mul_ps(w0, _mm256_loadu_ps(r0 + c0));
        __m256 a1 = _mm256_mul_ps(w0, _mm256_loadu_ps(r0 + c0 + 8));
        __m256 a2 = _mm256_mul_ps(w0, _mm256_loadu_ps(r0 + c0 + 16));
        __m256 a3 = _mm256_mul_ps(w0, _mm256_loadu_ps(r0 + c0 + 24));
        for (int j = 1; j < nt; j++) {
            const int r = ix ? ix[j - 1] : j - 1;
            if (r < 0 || (skip_zero && w[j] == 0.f))
                continue;
            const float *row = base + (size_t)r * ld + c0;
            const __m256 wj = _mm256_set1_ps(w[j]);
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(wj, _mm256_loadu_ps(row)));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(wj, _mm256_loadu_ps(row + 8)));
            a2 = _mm256_add_ps(a2, _mm256_mul_ps(wj, _mm256_loadu_ps(row + 16)));
            a3 = _mm256_add_ps(a3, _mm256_mul_ps(wj, _mm256_loadu_ps(row + 24)));
        }
        _mm256_storeu_ps(acc + c0, a0);
        _mm256_storeu_ps(acc + c0 + 8, a1);
        _mm256_storeu_ps(acc + c0 + 16, a2);
        _mm256_storeu_ps(acc + c0 + 24, a3);
    }
}
#else
#define wsum wsum_c
#endif

/* ---- forward ---- */

#define PT_MAX 16384 /* one talking-heads row: nt <= 16384 (3DNA: heads * nt; attn_null: text_len + 1) */

/* Evaluates a batch of head hd's scores into pr (bias added after the product, as attn_gather). */
INL void scores(const Attn *a, Batch *bt, const float *qs, int hd, float *pr)
{
    float s[NB];
    const int cnt = batch_eval(bt, qs, a->dh, s);
    for (int t = 0; t < cnt; t++) {
        const int j = bt->col[t];
        float sj = s[t];
        if (j && a->bias)
            sj += a->bias[(size_t)(j - 1) * a->heads + hd];
        pr[j] = sj;
    }
}

INL void fwd_row(const Attn *a, int i, float *qs, float *ptr)
{
    const int heads = a->heads, dh = a->dh, nt = a->nt;
    const int32_t *ix = a->idx ? a->idx + (size_t)i * (nt - 1) : NULL;
    float *p = a->P + (size_t)i * heads * nt;
    for (int hd = 0; hd < heads; hd++) {
        const float *qi = a->q + (size_t)i * a->ldq + hd * dh;
        float *pr = p + (size_t)hd * nt;
#pragma omp simd
        for (int c = 0; c < dh; c++)
            qs[c] = qi[c] * a->scale;
        Batch bt;
        bt.n = 0;
        for (int j = 0; j < nt; j++) {
            const int r = j ? key_row(a, ix, j) : 0;
            if (r < 0)
                pr[j] = -FLT_MAX;
            else if (batch_add(&bt, j ? a->k + (size_t)r * a->ldk + hd * dh : a->k0 + hd * dh, j))
                scores(a, &bt, qs, hd, pr);
        }
        if (bt.n)
            scores(a, &bt, qs, hd, pr);
    }
    softmax_rows(p, heads, nt);
    for (int hd = 0; hd < heads; hd++) {
        talk_row(p, a->th, heads, nt, hd, ptr);
        /* as the inference kernels: attn_gather skips masked keys, attn_null zero weights */
        wsum(ptr, a->v0 + hd * dh, a->v + hd * dh, a->ldv, ix, nt, dh, !ix, a->out + (size_t)i * a->ldo + hd * dh);
    }
}

static void fwd_run(const NwCtx *ctx, const Attn *a)
{
#pragma omp parallel num_threads(ctx->n_threads) if (ctx->n_threads > 1 && a->n > 4)
    {
        float qs[1024], ptr[PT_MAX]; /* dh <= 1024 (checked at load) */
#pragma omp for schedule(static)
        for (int i = 0; i < a->n; i++)
            fwd_row(a, i, qs, ptr);
    }
}

static void attn_null_fwd_cpu(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk, const float *v,
                              int ldv, int n, int m, int heads, int dh, const float *null_k, const float *null_v,
                              const uint8_t *keep, const float *th, float scale, float *out, int ldo, float *P)
{
    const Attn a = {.q = q, .k = k, .v = v, .k0 = null_k, .v0 = null_v, .th = th, .keep = keep, .ldq = ldq,
                    .ldk = ldk, .ldv = ldv, .ldo = ldo, .n = n, .heads = heads, .dh = dh, .nt = m + 1,
                    .scale = scale, .out = out, .P = P};
    fwd_run(ctx, &a);
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
    int32_t *idx = (int32_t *)ctx->scratch;
    nw_dna_indices(g, t0, n, idx);
    const Attn a = {.q = q, .k = k, .v = v, .k0 = kbos, .v0 = vbos, .th = th, .bias = bias, .idx = idx, .ldq = ldq,
                    .ldk = ldkv, .ldv = ldkv, .ldo = ldo, .n = n, .heads = heads, .dh = dh,
                    .nt = g->kf * g->kh * g->kw + 1, .scale = scale, .out = out, .P = P};
    fwd_run(ctx, &a);
}

/* ---- backward (both ops) ---- */

#define RB 16 /* query rows per block of phase 1 (fixed: the partial sums do not depend on threads) */

typedef struct Bwd {
    Attn a;
    float *dq, *dk, *dv, *dk0, *dv0, *dbias, *dth;
    float *pt, *dpt, *ds; /* n x heads x nt each */
    int nkeys;            /* key rows: cap (3DNA) or m */
    float *part;          /* per row block: dbias ((nt - 1) x heads) */
    double *pth;          /* per row block: heads x heads of dth */
    int32_t *off, *ent_i, *ent_j; /* 3DNA: key row r's entries are off[r] .. off[r+1]-1 */
} Bwd;

static size_t r16(size_t x)
{
    return (x + 15) & ~(size_t)15;
}

static size_t part_floats(int heads, int nt)
{
    return r16((size_t)(nt - 1) * heads);
}

/* Evaluates a batch of dots of `x` (n floats): out[col] = dot, or += for add_dots. */
INL void store_dots(Batch *bt, const float *x, int n, float *out)
{
    float s[NB];
    const int cnt = batch_eval(bt, x, n, s);
    for (int t = 0; t < cnt; t++)
        out[bt->col[t]] = s[t];
}

INL void add_dots(Batch *bt, const float *x, int n, double *out)
{
    float s[NB];
    const int cnt = batch_eval(bt, x, n, s);
    for (int t = 0; t < cnt; t++)
        out[bt->col[t]] += s[t];
}

/* Phase 1, one query row: PT, dPT, dS, dq, and the row's share of the block partials. */
INL void bwd_row(const Bwd *b, int i, float *acc, float *part, double *pth)
{
    const Attn *a = &b->a;
    const int heads = a->heads, dh = a->dh, nt = a->nt;
    const int32_t *ix = a->idx ? a->idx + (size_t)i * (nt - 1) : NULL;
    const float *p = a->P + (size_t)i * heads * nt, *dor = a->dout + (size_t)i * a->lddo;
    float *pt = b->pt + (size_t)i * heads * nt, *dpt = b->dpt + (size_t)i * heads * nt;
    float *ds = b->ds + (size_t)i * heads * nt;
    for (int hd = 0; hd < heads; hd++) {
        float *dptr = dpt + (size_t)hd * nt;
        talk_row(p, a->th, heads, nt, hd, pt + (size_t)hd * nt);
        const float *dh_ = dor + hd * dh;
        Batch bt;
        bt.n = 0;
        for (int j = 0; j < nt; j++) {
            const int r = j ? (ix ? ix[j - 1] : j - 1) : 0;
            if (r < 0)
                dptr[j] = 0.f;
            else if (batch_add(&bt, j ? a->v + (size_t)r * a->ldv + hd * dh : a->v0 + hd * dh, j))
                store_dots(&bt, dh_, dh, dptr);
        }
        if (bt.n)
            store_dots(&bt, dh_, dh, dptr);
    }
    /* dP = th^T dPT (column g of th), then the softmax backward per head; dS -> ds */
    for (int g = 0; g < heads; g++) {
        float *dsr = ds + (size_t)g * nt;
        const float *pr = p + (size_t)g * nt;
#pragma omp simd
        for (int j = 0; j < nt; j++)
            dsr[j] = 0.f;
        for (int hd = 0; hd < heads; hd++) {
            const float w = a->th[hd * heads + g];
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
    if (b->dth) /* the row's dth terms: dPT[hd, :] . P[g, :], added to the block's double sums */
        for (int hd = 0; hd < heads; hd++) {
            Batch bt;
        bt.n = 0;
            double *ph = pth + (size_t)hd * heads;
            for (int g = 0; g < heads; g++)
                if (batch_add(&bt, p + (size_t)g * nt, g))
                    add_dots(&bt, dpt + (size_t)hd * nt, nt, ph);
            if (bt.n)
                add_dots(&bt, dpt + (size_t)hd * nt, nt, ph);
        }
    if (b->dbias)
        for (int j = 1; j < nt; j++)
            for (int hd = 0; hd < heads; hd++)
                part[(size_t)(j - 1) * heads + hd] += ds[(size_t)hd * nt + j];
    if (!b->dq)
        return;
    for (int hd = 0; hd < heads; hd++) {
        wsum(ds + (size_t)hd * nt, a->k0 + hd * dh, a->k + hd * dh, a->ldk, ix, nt, dh, 0, acc);
        float *dqr = b->dq + (size_t)i * a->ldq + hd * dh;
#pragma omp simd
        for (int c = 0; c < dh; c++)
            dqr[c] += a->scale * acc[c];
    }
}

/* The sums of one key row (or of column 0) over its (query, column) entries in order: for each
 * head, ak = sum scale*dS * q and av = sum PT * dout over the entries, then dk += ak, dv += av
 * (either may be NULL). Entries: (ei[e], ej[e]) for e < cnt, or (e, jfix) when ei is NULL
 * (every query reads the column). ak, av: dh floats each. */
INL void key_sum_c(const Bwd *b, const int32_t *ei, const int32_t *ej, int cnt, int jfix, float *dk, float *dv,
                   float *ak, float *av)
{
    const Attn *a = &b->a;
    const int heads = a->heads, dh = a->dh, nt = a->nt;
    for (int hd = 0; hd < heads; hd++) {
        const int h0 = hd * dh;
#pragma omp simd
        for (int c = 0; c < dh; c++)
            ak[c] = 0.f, av[c] = 0.f;
        for (int e = 0; e < cnt; e++) {
            const int i = ei ? ei[e] : e;
            const size_t o = ((size_t)i * heads + hd) * nt + (ei ? ej[e] : jfix);
            const float sc = a->scale * b->ds[o], w = b->pt[o];
            const float *qi = a->q + (size_t)i * a->ldq + h0, *dor = a->dout + (size_t)i * a->lddo + h0;
#pragma omp simd
            for (int c = 0; c < dh; c++) {
                ak[c] += sc * qi[c];
                av[c] += w * dor[c];
            }
        }
        if (dk)
#pragma omp simd
            for (int c = 0; c < dh; c++)
                dk[h0 + c] += ak[c];
        if (dv)
#pragma omp simd
            for (int c = 0; c < dh; c++)
                dv[h0 + c] += av[c];
    }
}

#if defined(__AVX2__)
/* key_sum_c with 32 columns of both sums in registers (the same operations in the same order). */
INL void key_sum(const Bwd *b, const int32_t *ei, const int32_t *ej, int cnt, int jfix, float *dk, float *dv,
                 float *ak, float *av)
{
    const Attn *a = &b->a;
    const int heads = a->heads, dh = a->dh, nt = a->nt;
    if (dh & 31) {
        key_sum_c(b, ei, ej, cnt, jfix, dk, dv, ak, av);
        return;
    }
    for (int hd = 0; hd < heads; hd++)
        for (int c0 = hd * dh; c0 < (hd + 1) * dh; c0 += 32) {
            __m256 k0 = _mm256_setzero_ps(), k1 = k0, k2 = k0, k3 = k0, v0 = k0, v1 = k0, v2 = k0, v3 = k0;
            for (int e = 0; e < cnt; e++) {
                const int i = ei ? ei[e] : e;
                const size_t o = ((size_t)i * heads + hd) * nt + (ei ? ej[e] : jfix);
                const __m256 sc = _mm256_set1_ps(a->scale * b->ds[o]), w = _mm256_set1_ps(b->pt[o]);
                const float *qi = a->q + (size_t)i * a->ldq + c0, *dor = a->dout + (size_t)i * a->lddo + c0;
                k0 = _mm256_add_ps(k0, _mm256_mul_ps(sc, _mm256_loadu_ps(qi)));
                k1 = _mm256_add_ps(k1, _mm256_mul_ps(sc, _mm256_loadu_ps(qi + 8)));
                k2 = _mm256_add_ps(k2, _mm256_mul_ps(sc, _mm256_loadu_ps(qi + 16)));
                k3 = _mm256_add_ps(k3, _mm256_mul_ps(sc, _mm256_loadu_ps(qi + 24)));
                v0 = _mm256_add_ps(v0, _mm256_mul_ps(w, _mm256_loadu_ps(dor)));
                v1 = _mm256_add_ps(v1, _mm256_mul_ps(w, _mm256_loadu_ps(dor + 8)));
                v2 = _mm256_add_ps(v2, _mm256_mul_ps(w, _mm256_loadu_ps(dor + 16)));
                v3 = _mm256_add_ps(v3, _mm256_mul_ps(w, _mm256_loadu_ps(dor + 24)));
            }
            if (dk) {
                float *d = dk + c0;
                _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), k0));
                _mm256_storeu_ps(d + 8, _mm256_add_ps(_mm256_loadu_ps(d + 8), k1));
                _mm256_storeu_ps(d + 16, _mm256_add_ps(_mm256_loadu_ps(d + 16), k2));
                _mm256_storeu_ps(d + 24, _mm256_add_ps(_mm256_loadu_ps(d + 24), k3));
            }
            if (dv) {
                float *d = dv + c0;
                _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), v0));
                _mm256_storeu_ps(d + 8, _mm256_add_ps(_mm256_loadu_ps(d + 8), v1));
                _mm256_storeu_ps(d + 16, _mm256_add_ps(_mm256_loadu_ps(d + 16), v2));
                _mm256_storeu_ps(d + 24, _mm256_add_ps(_mm256_loadu_ps(d + 24), v3));
            }
        }
}
#else
#define key_sum key_sum_c
#endif

/* Phase 2, key rows [r0, r1) (and column 0 when col0). */
INL void bwd_keys(const Bwd *b, int r0, int r1, int col0, float *ak, float *av)
{
    const Attn *a = &b->a;
    if (col0 && (b->dk0 || b->dv0))
        key_sum(b, NULL, NULL, a->n, 0, b->dk0, b->dv0, ak, av);
    if (!b->dk && !b->dv)
        return;
    for (int r = r0; r < r1; r++) {
        float *dk = b->dk ? b->dk + (size_t)r * a->ldk : NULL, *dv = b->dv ? b->dv + (size_t)r * a->ldv : NULL;
        if (a->idx)
            key_sum(b, b->ent_i + b->off[r], b->ent_j + b->off[r], b->off[r + 1] - b->off[r], 0, dk, dv, ak, av);
        else /* attn_null: key r is column r + 1 of every query */
            key_sum(b, NULL, NULL, a->n, r + 1, dk, dv, ak, av);
    }
}

/* 3DNA: the inverse of the index list, each key row's (query, column) entries in that order. */
static void build_lists(const Bwd *b)
{
    const Attn *a = &b->a;
    const int nk = a->nt - 1;
    int32_t *off = b->off;
    memset(off, 0, ((size_t)b->nkeys + 1) * sizeof(int32_t));
    for (size_t e = 0; e < (size_t)a->n * nk; e++)
        if (a->idx[e] >= 0)
            off[a->idx[e] + 1]++;
    for (int r = 0; r < b->nkeys; r++)
        off[r + 1] += off[r];
    /* off[r] runs ahead as the fill cursor of row r, then everything shifts back by one row */
    for (int i = 0; i < a->n; i++)
        for (int j = 1; j <= nk; j++) {
            const int r = a->idx[(size_t)i * nk + j - 1];
            if (r >= 0) {
                b->ent_i[off[r]] = i;
                b->ent_j[off[r]++] = j;
            }
        }
    for (int r = b->nkeys; r > 0; r--)
        off[r] = off[r - 1];
    off[0] = 0;
}

static void bwd_phases(const NwCtx *ctx, const Bwd *b)
{
    const int nb = (b->a.n + RB - 1) / RB;
    const size_t pf = part_floats(b->a.heads, b->a.nt), hh = (size_t)b->a.heads * b->a.heads;
#pragma omp parallel num_threads(ctx->n_threads) if (ctx->n_threads > 1 && b->a.n > 4)
    {
        float acc[2 * 1024]; /* dh <= 1024 */
#pragma omp for schedule(static)
        for (int blk = 0; blk < nb; blk++) {
            const int i1 = NW_MIN(b->a.n, (blk + 1) * RB);
            for (int i = blk * RB; i < i1; i++)
                bwd_row(b, i, acc, b->part + (size_t)blk * pf, b->pth + (size_t)blk * hh);
        }
        /* the implicit barrier: every row's dS is ready */
        const int T = omp_get_num_threads();
#pragma omp for schedule(static)
        for (int c = 0; c < T; c++)
            bwd_keys(b, (int)((long)b->nkeys * c / T), (int)((long)b->nkeys * (c + 1) / T), c == T - 1, acc,
                     acc + 1024);
    }
}

/* pt, dpt, ds; the row blocks' partials; 3DNA (lists): the key lists (nkeys + 1 offsets and
 * two entries per index) */
static size_t bwd_floats(int n, int heads, int nt, int lists, int nkeys)
{
    const size_t nb = (size_t)(n + RB - 1) / RB;
    return r16((size_t)n * heads * nt) * 3 + nb * part_floats(heads, nt) + r16(nb * heads * heads * 2) +
           (lists ? r16((size_t)nkeys + 1) + 2 * r16((size_t)n * (nt - 1)) : 0);
}

/* Carves the scratch and runs both phases. */
static void bwd_run(const NwCtx *ctx, Bwd *b, float *s)
{
    const size_t one = r16((size_t)b->a.n * b->a.heads * b->a.nt), nb = (size_t)(b->a.n + RB - 1) / RB;
    b->pt = s, b->dpt = s + one, b->ds = s + 2 * one;
    s += 3 * one;
    b->part = s;
    s += nb * part_floats(b->a.heads, b->a.nt);
    b->pth = (double *)s;
    s += r16(nb * b->a.heads * b->a.heads * 2);
    if (b->a.idx) {
        b->off = (int32_t *)s;
        s += r16((size_t)b->nkeys + 1);
        b->ent_i = (int32_t *)s;
        s += r16((size_t)b->a.n * (b->a.nt - 1));
        b->ent_j = (int32_t *)s;
        build_lists(b);
    }
    const int heads = b->a.heads, nbk = (b->a.n + RB - 1) / RB;
    const size_t pf = part_floats(heads, b->a.nt), hh = (size_t)heads * heads;
    memset(b->part, 0, (size_t)nbk * pf * sizeof(float));
    memset(b->pth, 0, (size_t)nbk * hh * sizeof(double));
    bwd_phases(ctx, b);
    /* the row blocks' partials, in block order */
    if (b->dbias)
        for (int blk = 0; blk < nbk; blk++) {
            const float *pb = b->part + (size_t)blk * pf;
            for (int c = 0; c < (b->a.nt - 1) * heads; c++)
                b->dbias[c] += pb[c];
        }
    if (b->dth)
        for (size_t x = 0; x < hh; x++) {
            double sum = 0;
            for (int blk = 0; blk < nbk; blk++)
                sum += b->pth[(size_t)blk * hh + x];
            b->dth[x] += (float)sum;
        }
}

static size_t attn_null_bwd_scratch_cpu(int n, int m, int heads, int n_threads)
{
    (void)n_threads;
    return bwd_floats(n, heads, m + 1, 0, m);
}

static void attn_null_bwd_cpu(const NwCtx *ctx, const float *q, int ldq, const float *k, int ldk, const float *v,
                              int ldv, int n, int m, int heads, int dh, const float *null_k, const float *null_v,
                              const float *th, float scale, const float *P, const float *dout, int lddo, float *dq,
                              float *dk, float *dv, float *dnull_k, float *dnull_v, float *dth)
{
    Bwd b = {.a = {.q = q, .k = k, .v = v, .k0 = null_k, .v0 = null_v, .th = th, .dout = dout, .ldq = ldq,
                   .ldk = ldk, .ldv = ldv, .lddo = lddo, .n = n, .heads = heads, .dh = dh, .nt = m + 1,
                   .scale = scale, .P = (float *)P},
             .dq = dq, .dk = dk, .dv = dv, .dk0 = dnull_k, .dv0 = dnull_v, .dth = dth, .nkeys = m};
    bwd_run(ctx, &b, ctx->scratch);
}

static size_t attn_3dna_bwd_scratch_cpu(const NwDna *g, int n, int heads, int n_threads)
{
    (void)n_threads;
    return idx_floats(g, n) + bwd_floats(n, heads, g->kf * g->kh * g->kw + 1, 1, g->cap);
}

static void attn_3dna_bwd_cpu(const NwCtx *ctx, const NwDna *g, int t0, const float *q, int ldq, const float *k,
                              const float *v, int ldkv, const float *kbos, const float *vbos, int n, int heads, int dh,
                              const float *bias, const float *th, float scale, const float *P, const float *dout,
                              int lddo, float *dq, float *dk, float *dv, float *dkbos, float *dvbos, float *dbias,
                              float *dth)
{
    int32_t *idx = (int32_t *)ctx->scratch;
    nw_dna_indices(g, t0, n, idx);
    Bwd b = {.a = {.q = q, .k = k, .v = v, .k0 = kbos, .v0 = vbos, .th = th, .dout = dout, .idx = idx, .ldq = ldq,
                   .ldk = ldkv, .ldv = ldkv, .lddo = lddo, .n = n, .heads = heads, .dh = dh,
                   .nt = g->kf * g->kh * g->kw + 1, .scale = scale, .P = (float *)P},
             .dq = dq, .dk = dk, .dv = dv, .dk0 = dkbos, .dv0 = dvbos, .dbias = bias ? dbias : NULL, .dth = dth,
             .nkeys = g->cap};
    bwd_run(ctx, &b, ctx->scratch + idx_floats(g, n));
}

void FN(nw_train_fill_attn_cpu)(NwTrainOps *o)
{
    o->attn_null_fwd = attn_null_fwd_cpu;
    o->attn_null_bwd = attn_null_bwd_cpu;
    o->attn_null_bwd_scratch = attn_null_bwd_scratch_cpu;
    o->attn_3dna_fwd = attn_3dna_fwd_cpu;
    o->attn_3dna_fwd_scratch = attn_3dna_fwd_scratch_cpu;
    o->attn_3dna_bwd = attn_3dna_bwd_cpu;
    o->attn_3dna_bwd_scratch = attn_3dna_bwd_scratch_cpu;
}
