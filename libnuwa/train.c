/*
 * train.c — the NUWA transformer's training objective and its gradient on the CPU tables
 * (train.h, docs/TRAINING.md), llm.c style.
 *
 * The batch is run forward over whole sequences (the text encoder on text_len rows per item, the
 * decoder on N = F*T rows per item: bos + the first N-1 tokens), keeping every activation a
 * backward op reads, then backward in reverse, accumulating into the caller's gradient blob.
 * The items' rows are stacked (item b at rows [b*n, (b+1)*n)), so every row-wise op and every
 * GEMM (forward and weight gradient) runs once over B*n rows; only what mixes rows of one
 * sequence (attention, token shift, rotary positions) runs per item.
 *
 * Every transformer sublayer (text self-attention, 3DNA self-attention, cross-attention, feed
 * forward, each inside its SandwichNorm) is one `Sub` reading residual stream `in` and adding to
 * stream `out`. Plain stacks use one stream (in = out); reversible stacks use two
 * (y1 = x1 + f(x2), y2 = x2 + g(y1)), and since we keep all activations the reversible backward
 * is ordinary backprop: the gradient of `out` is read, the gradient of `in` accumulated.
 *
 * The attention of a sublayer runs per item; with enough items they run in parallel, one
 * thread each (for_items): fewer and larger parallel regions than the ops' own row splits.
 *
 * Host memory only (the ref and cpu tables), so embedding gathers, residual copies and the
 * folding of derived tables are plain loops here.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "internal.h"
#include "train.h"

#define LN_EPS 1e-5f
/* nuwa-pytorch's Embedding(frac_gradient=0.2) in training mode: e*0.2 + e.detach()*0.8 */
#define EMB_FRAC 0.2f
#define EMB_REST 0.8f

enum { SUB_TEXT_ATTN, SUB_DNA, SUB_CROSS, SUB_FF };

typedef struct Sub {
    int kind, layer, in, out, n, shift; /* n: rows per item */
    const NwSandwich *sn;
    const NwAttnW *aw;
    const NwFFW *fw;
    /* saved: LN input, prenormed rows, shifted rows (= nrm without shift), projections,
     * attention output and probabilities, FF hidden, pre-postnorm output */
    float *xin, *nrm, *src, *q, *kv, *o, *P, *u, *a, *y;
} Sub;

struct NwTrainer {
    const NwNuwa *m;
    const NwOps *ops;
    const NwTrainOps *tops;
    int batch, n_threads, nt, N;
    int n_enc, n_dec;
    Sub *enc, *dec;
    float *arena;
    /* forward */
    float *tx[2], *tfin, *E, *kvt, *x[2], *xfin, *yfin, *ybuf, *logits, *dlogits;
    uint8_t *keep_text, *keep_ctx; /* (B, text_len) */
    /* backward */
    float *dtx[2], *dE, *dx[2], *dyfin;
    float *g_dy, *g_dsrc, *g_dn, *g_do, *g_dq, *g_dkv, *g_dkvt, *g_du, *g_da, *drel;
    /* parameters the derived tables come from */
    NwW pos_ax[3];
    NwW *rel_ax; /* (dec_depth, 3) */
    float *scratch;
    size_t scratch_len;  /* one op call with the whole team */
    size_t item_scratch; /* one op call of an item running on one thread (each thread has its own) */
    float *part;         /* per item: the attention's parameter gradients (part_len floats, part_*()) */
    size_t part_len;
};

/* ---- layout: one arena, counted then carved ---- */

typedef struct Arena {
    float *base;
    size_t off;
} Arena;

static float *take(Arena *A, size_t n)
{
    float *p = A->base ? A->base + A->off : NULL;
    A->off += (n + 15) & ~(size_t)15; /* 64-byte aligned pieces */
    return p;
}

static void layout(NwTrainer *t, Arena *A)
{
    const NwNuwa *m = t->m;
    const int d = m->dim, B = t->batch, nt = t->nt, N = t->N, f = m->ff_inner;
    const int ie = m->enc_heads * m->enc_dh, id = m->dec_heads * m->dec_dh;
    const int K = m->kernel[0] * m->kernel[1] * m->kernel[2];
    const int wide = NW_MAX(NW_MAX(ie, id), NW_MAX(d, f)), rows = B * NW_MAX(nt, N);
    for (int i = 0; i < t->n_enc + t->n_dec; i++) {
        Sub *s = i < t->n_enc ? &t->enc[i] : &t->dec[i - t->n_enc];
        const int n = B * s->n, inner = s->kind == SUB_TEXT_ATTN ? ie : id;
        s->xin = take(A, (size_t)n * d);
        s->nrm = take(A, (size_t)n * d);
        s->src = s->shift ? take(A, (size_t)n * d) : s->nrm;
        s->y = take(A, (size_t)n * d);
        switch (s->kind) {
        case SUB_TEXT_ATTN:
            s->q = take(A, (size_t)n * ie);
            s->kv = take(A, (size_t)n * 2 * ie);
            s->o = take(A, (size_t)n * ie);
            s->P = take(A, (size_t)n * m->enc_heads * (1 + nt));
            break;
        case SUB_DNA: /* P: the N-1 token rows of each item (the bos row has none) */
            s->q = take(A, (size_t)n * inner);
            s->kv = take(A, (size_t)n * 2 * inner);
            s->o = take(A, (size_t)n * inner);
            s->P = take(A, (size_t)n * m->dec_heads * (1 + K));
            break;
        case SUB_CROSS:
            s->q = take(A, (size_t)n * inner);
            s->o = take(A, (size_t)n * inner);
            s->P = take(A, (size_t)n * m->dec_heads * (1 + nt));
            break;
        default:
            s->u = take(A, (size_t)n * 2 * f);
            s->a = take(A, (size_t)n * f);
        }
    }
    const size_t tr = (size_t)B * nt, dr = (size_t)B * N;
    for (int k = 0; k < 2; k++) {
        t->tx[k] = take(A, tr * d);
        t->dtx[k] = take(A, tr * d);
        t->x[k] = take(A, dr * d);
        t->dx[k] = take(A, dr * d);
    }
    t->tfin = take(A, tr * d);
    t->E = take(A, tr * d);
    t->dE = take(A, tr * d);
    t->kvt = take(A, (size_t)m->dec_depth * tr * 2 * id);
    t->xfin = take(A, dr * d);
    t->yfin = take(A, dr * d);
    t->dyfin = take(A, dr * d);
    t->ybuf = take(A, (size_t)rows * d);
    t->logits = take(A, dr * m->V);
    t->dlogits = take(A, dr * m->V);
    t->g_dy = take(A, (size_t)rows * d);
    t->g_dsrc = take(A, (size_t)rows * d);
    t->g_dn = take(A, (size_t)rows * d);
    t->g_do = take(A, (size_t)rows * wide);
    t->g_dq = take(A, (size_t)rows * wide);
    t->g_dkv = take(A, (size_t)rows * 2 * wide);
    t->g_dkvt = take(A, tr * 2 * id);
    t->g_du = take(A, (size_t)rows * 2 * f);
    t->g_da = take(A, (size_t)rows * f);
    t->drel = take(A, (size_t)K * m->dec_heads);
    t->part = take(A, (size_t)B * t->part_len);
    t->scratch = take(A, NW_MAX(t->scratch_len, (size_t)t->n_threads * t->item_scratch) + 16);
}

/* ---- parameters behind the derived tables ---- */

typedef struct Collect {
    NwW pos[3], *rel;
    int npos, nrel, maxrel;
} Collect;

static void collect_fn(void *opaque, const char *name, int n_dims, const int64_t *shape, NwW at)
{
    Collect *c = opaque;
    (void)n_dims;
    (void)shape;
    /* the walk reports them in its order: axes of length > 1, layers in order */
    if (!strncmp(name, "video_pos_emb.axial", 19) && c->npos < 3)
        c->pos[c->npos++] = at;
    else if (strstr(name, ".rel_pos_bias.axial") && c->nrel < c->maxrel)
        c->rel[c->nrel++] = at;
}

static int find_sources(NwTrainer *t)
{
    const NwNuwa *m = t->m;
    NwW rel[3 * 64]; /* dec_depth <= 64 (checked at creation) */
    Collect c = {{0, 0, 0}, rel, 0, 0, (int)(sizeof(rel) / sizeof(rel[0]))};
    int r = nw_nuwa_tensors(m, collect_fn, &c);
    if (r < 0)
        return r;
    const int axes[3] = {m->max_frames, m->fmap, m->fmap};
    for (int i = 0, k = 0; i < 3; i++)
        t->pos_ax[i] = axes[i] > 1 && k < c.npos ? c.pos[k++] : 0;
    int k = 0;
    for (int l = 0; l < m->dec_depth; l++)
        for (int a = 0; a < 3; a++)
            t->rel_ax[l * 3 + a] = m->rel_bias && m->kernel[a] > 1 && k < c.nrel ? c.rel[k++] : 0;
    return 0;
}

/* ---- construction ---- */

static void add_sub(Sub *s, int kind, int layer, int in, int out, int n, int shift, const NwSandwich *sn,
                    const NwAttnW *aw, const NwFFW *fw)
{
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->layer = layer;
    s->in = in;
    s->out = out;
    s->n = n;
    s->shift = shift;
    s->sn = sn;
    s->aw = aw;
    s->fw = fw;
}

static NwDna layer_dna(const NwTrainer *t, int li)
{
    const NwNuwa *m = t->m;
    /* the whole sequence's keys are kept: ring row = token */
    const NwDna g = {m->kernel[0], m->kernel[1], m->kernel[2], m->dec[li].dil, m->fmap, m->T, NW_MAX(t->N - 1, 1)};
    return g;
}

int nw_trainer_create(NwTrainer **out, const NwNuwa *m, const NwOps *ops, const NwTrainOps *tops, int batch,
                      int n_threads)
{
    *out = NULL;
    if (!m || !m->own || !ops || !tops || batch < 1 || batch > 65536 || n_threads < 1 || m->dec_depth > 64)
        return NUWA_ERR_INVAL;
    NwTrainer *t = nw_calloc(1, sizeof(*t));
    if (!t)
        return NUWA_ERR_NOMEM;
    t->m = m;
    t->ops = ops;
    t->tops = tops;
    t->batch = batch;
    t->n_threads = n_threads;
    t->nt = m->text_len;
    t->N = m->max_frames * m->T;
    t->n_enc = 2 * m->enc_depth;
    t->n_dec = (m->dec_rev ? 4 : 3) * m->dec_depth;
    t->enc = nw_calloc((size_t)t->n_enc, sizeof(Sub));
    t->dec = nw_calloc((size_t)t->n_dec, sizeof(Sub));
    t->rel_ax = nw_calloc((size_t)m->dec_depth * 3, sizeof(NwW));
    t->keep_text = nw_calloc((size_t)batch * m->text_len, 1);
    t->keep_ctx = nw_calloc((size_t)batch * m->text_len, 1);
    if (!t->enc || !t->dec || !t->rel_ax || !t->keep_text || !t->keep_ctx) {
        nw_trainer_free(&t);
        return NUWA_ERR_NOMEM;
    }
    const int nt = t->nt, N = t->N, er = m->enc_rev, dr = m->dec_rev, sh = m->shift;
    for (int l = 0; l < m->enc_depth; l++) {
        const NwEncLayer *e = &m->enc[l];
        add_sub(&t->enc[2 * l], SUB_TEXT_ATTN, l, er ? 1 : 0, 0, nt, 0, &e->sn_attn, &e->attn, NULL);
        add_sub(&t->enc[2 * l + 1], SUB_FF, l, 0, er ? 1 : 0, nt, 0, &e->sn_ff, NULL, &e->ff);
    }
    Sub *s = t->dec;
    for (int l = 0; l < m->dec_depth; l++) {
        const NwDecLayer *L = &m->dec[l];
        if (!dr) {
            add_sub(s++, SUB_DNA, l, 0, 0, N, sh, &L->sn_attn, &L->attn, NULL);
            add_sub(s++, SUB_CROSS, l, 0, 0, N, 0, &L->sn_cross, &L->cross, NULL);
            add_sub(s++, SUB_FF, l, 0, 0, N, sh, &L->sn_ff, NULL, &L->ff);
        } else { /* as dec_layers: x1 += attn(x2); x2 += ff(x1); x1 += cross(x2); x2 += ff2(x1) */
            add_sub(s++, SUB_DNA, l, 1, 0, N, sh, &L->sn_attn, &L->attn, NULL);
            add_sub(s++, SUB_FF, l, 0, 1, N, sh, &L->sn_ff, NULL, &L->ff);
            add_sub(s++, SUB_CROSS, l, 1, 0, N, 0, &L->sn_cross, &L->cross, NULL);
            add_sub(s++, SUB_FF, l, 0, 1, N, sh, &L->sn_ff2, NULL, &L->ff2);
        }
    }
    size_t sc = 0, si = 0;
    for (int k = 0; k < 2; k++) { /* k = 0: the whole team; 1: one thread (an item of for_items) */
        const int th = k ? 1 : n_threads;
        size_t c = NW_MAX(tops->attn_null_bwd_scratch(nt, nt, m->enc_heads, th),
                          tops->attn_null_bwd_scratch(N, nt, m->dec_heads, th));
        for (int l = 0; l < m->dec_depth; l++) {
            const NwDna g = layer_dna(t, l);
            c = NW_MAX(c, tops->attn_3dna_fwd_scratch(&g, N - 1, m->dec_heads, th));
            c = NW_MAX(c, tops->attn_3dna_bwd_scratch(&g, N - 1, m->dec_heads, th));
        }
        *(k ? &si : &sc) = c;
    }
    t->scratch_len = sc;
    t->item_scratch = (si + 15) & ~(size_t)15; /* each thread's piece 64-byte aligned */
    /* per item: null_k/bos-key and null_v/bos-value gradients, dth and the 3DNA bias gradient */
    const int hmax = NW_MAX(m->enc_heads, m->dec_heads);
    const size_t imax = (size_t)NW_MAX(m->enc_heads * m->enc_dh, m->dec_heads * m->dec_dh);
    t->part_len = (2 * imax + (size_t)hmax * hmax + (size_t)m->kernel[0] * m->kernel[1] * m->kernel[2] * m->dec_heads +
                   15) & ~(size_t)15;
    Arena A = {NULL, 0};
    layout(t, &A);
    t->arena = nw_calloc(A.off, sizeof(float));
    if (!t->arena) {
        nw_trainer_free(&t);
        return NUWA_ERR_NOMEM;
    }
    A.base = t->arena;
    A.off = 0;
    layout(t, &A);
    int r = find_sources(t);
    if (r < 0) {
        nw_trainer_free(&t);
        return r;
    }
    *out = t;
    return 0;
}

void nw_trainer_free(NwTrainer **pt)
{
    if (!pt || !*pt)
        return;
    NwTrainer *t = *pt;
    nw_free(t->enc);
    nw_free(t->dec);
    nw_free(t->rel_ax);
    nw_free(t->keep_text);
    nw_free(t->keep_ctx);
    nw_free(t->arena);
    nw_free(t);
    *pt = NULL;
}

/* ---- forward ---- */

#define WP(x) nw_wp(m->w, (x))
#define GP(x) ((x) ? grad + (x) : NULL)

static NwCtx sctx(const NwTrainer *t)
{
    NwCtx c = {t->n_threads, t->scratch, t->scratch_len, NULL, NULL};
    return c;
}

/* Zeroes a gradient buffer before ops accumulate into it, with the team when it is large (one
 * core does not saturate the memory bus). */
static void zero(const NwTrainer *t, float *p, size_t n)
{
    const size_t ch = 16384; /* floats per task */
    const long nch = (long)((n + ch - 1) / ch);
#pragma omp parallel for num_threads(t->n_threads) schedule(static) if (nch > 4)
    for (long c = 0; c < nch; c++)
        memset(p + (size_t)c * ch, 0, sizeof(float) * NW_MIN(ch, n - (size_t)c * ch));
}

/* dst = src (n floats), with the team when large */
static void copy(const NwTrainer *t, float *dst, const float *src, size_t n)
{
    const size_t ch = 16384;
    const long nch = (long)((n + ch - 1) / ch);
#pragma omp parallel for num_threads(t->n_threads) schedule(static) if (nch > 4)
    for (long c = 0; c < nch; c++)
        memcpy(dst + (size_t)c * ch, src + (size_t)c * ch, sizeof(float) * NW_MIN(ch, n - (size_t)c * ch));
}

/* ---- the items' attention ---- */

/* One item's attention work of sublayer s; part: the item's parameter-gradient partials
 * (part_* below; zeroed by for_items, NULL in the forward). A backward item zeroes its own rows
 * of the q/k/v gradients before the op accumulates into them. */
typedef void (*ItemFn)(NwTrainer *t, const Sub *s, int b, const NwCtx *ctx, float *part);

/* Runs fn for every item b. With enough items, they run in parallel, one thread each with its
 * own scratch (an op's results do not depend on its thread count); else one after another,
 * each op using the whole team. An item's parameter gradients go to its own partials (part),
 * added in item order by the caller, so both ways give the same bits. Dynamic: a busy core
 * takes fewer items. */
static void for_items(NwTrainer *t, const Sub *s, ItemFn fn, int with_part)
{
    const int B = t->batch, T = t->n_threads;
    if (with_part)
        memset(t->part, 0, sizeof(float) * (size_t)B * t->part_len);
    /* an item per thread when the items divide evenly (or are many): else a round of a few
     * items would leave threads idle */
    if (T > 1 && B >= T && (B % T == 0 || B >= 4 * T)) {
#pragma omp parallel for num_threads(T) schedule(dynamic)
        for (int b = 0; b < B; b++) {
            const NwCtx c = {1, t->scratch + (size_t)omp_get_thread_num() * t->item_scratch, t->item_scratch, NULL,
                             NULL};
            fn(t, s, b, &c, with_part ? t->part + (size_t)b * t->part_len : NULL);
        }
    } else {
        const NwCtx c = sctx(t);
        for (int b = 0; b < B; b++)
            fn(t, s, b, &c, with_part ? t->part + (size_t)b * t->part_len : NULL);
    }
}

/* The partials' layout: null/bos key and value gradients (inner each), dth (heads^2), the
 * 3DNA bias gradient (K x heads). */
static float *part_dk0(const NwTrainer *t, float *part)
{
    (void)t;
    return part;
}

static size_t part_inner(const NwTrainer *t)
{
    const NwNuwa *m = t->m;
    return (size_t)NW_MAX(m->enc_heads * m->enc_dh, m->dec_heads * m->dec_dh);
}

static float *part_dv0(const NwTrainer *t, float *part)
{
    return part + part_inner(t);
}

static float *part_dth(const NwTrainer *t, float *part)
{
    return part + 2 * part_inner(t);
}

static float *part_drel(const NwTrainer *t, float *part)
{
    const int h = NW_MAX(t->m->enc_heads, t->m->dec_heads);
    return part + 2 * part_inner(t) + (size_t)h * h;
}

/* grad[w .. w+n) += the items' partials at offset off, in item order (w = 0: not wanted) */
static void fold_parts(const NwTrainer *t, float *grad, NwW w, size_t off, size_t n)
{
    if (!w)
        return;
    for (int b = 0; b < t->batch; b++) {
        const float *p = t->part + (size_t)b * t->part_len + off;
        for (size_t i = 0; i < n; i++)
            grad[w + i] += p[i];
    }
}

static void text_attn_fwd_item(NwTrainer *t, const Sub *s, int b, const NwCtx *ctx, float *part)
{
    const NwNuwa *m = t->m;
    const NwOps *ops = t->ops;
    const int n = s->n, h = m->enc_heads, dh = m->enc_dh, ie = h * dh;
    float *q = s->q + (size_t)b * n * ie, *kv = s->kv + (size_t)b * n * 2 * ie;
    (void)part;
    if (m->rotary) { /* q, k and v (B15), as the inference encoder */
        const float *fr = WP(m->inv_freq);
        ops->rotary(ctx, q, n, ie, h, dh, m->rot_dim, fr, 0);
        ops->rotary(ctx, kv, n, 2 * ie, h, dh, m->rot_dim, fr, 0);
        ops->rotary(ctx, kv + ie, n, 2 * ie, h, dh, m->rot_dim, fr, 0);
    }
    t->tops->attn_null_fwd(ctx, q, ie, kv, 2 * ie, kv + ie, 2 * ie, n, n, h, dh, WP(s->aw->null_k), WP(s->aw->null_v),
                           t->keep_text + (size_t)b * t->nt, WP(s->aw->th), 1.f / sqrtf((float)dh),
                           s->o + (size_t)b * n * ie, ie, s->P + (size_t)b * n * h * (1 + n));
}

static void dna_fwd_item(NwTrainer *t, const Sub *s, int b, const NwCtx *ctx, float *part)
{
    const NwNuwa *m = t->m;
    const int n = s->n, h = m->dec_heads, dh = m->dec_dh, id = h * dh;
    const int nP = h * (1 + m->kernel[0] * m->kernel[1] * m->kernel[2]);
    const float *q = s->q + (size_t)b * n * id, *kv = s->kv + (size_t)b * n * 2 * id;
    float *o = s->o + (size_t)b * n * id;
    (void)part;
    memcpy(o, kv + id, sizeof(float) * id); /* the bos row attends only to itself */
    if (n > 1) {
        const NwDna g = layer_dna(t, s->layer);
        t->tops->attn_3dna_fwd(ctx, &g, 0, q + id, id, kv + 2 * id, kv + 3 * id, 2 * id, kv, kv + id, n - 1, h, dh,
                               WP(s->aw->rel_bias), WP(s->aw->th), 1.f / sqrtf((float)dh), o + id, id,
                               s->P + (size_t)b * n * nP);
    }
}

static void cross_fwd_item(NwTrainer *t, const Sub *s, int b, const NwCtx *ctx, float *part)
{
    const NwNuwa *m = t->m;
    const int n = s->n, h = m->dec_heads, dh = m->dec_dh, id = h * dh, nt = t->nt;
    const float *kv = t->kvt + ((size_t)s->layer * t->batch + b) * nt * 2 * id;
    (void)part;
    t->tops->attn_null_fwd(ctx, s->q + (size_t)b * n * id, id, kv, 2 * id, kv + id, 2 * id, n, nt, h, dh,
                           WP(s->aw->null_k), WP(s->aw->null_v), t->keep_ctx + (size_t)b * nt, WP(s->aw->th),
                           1.f / sqrtf((float)dh), s->o + (size_t)b * n * id, id, s->P + (size_t)b * n * h * (1 + nt));
}

static void text_attn_bwd_item(NwTrainer *t, const Sub *s, int b, const NwCtx *ctx, float *part)
{
    const NwNuwa *m = t->m;
    const int n = s->n, h = m->enc_heads, dh = m->enc_dh, ie = h * dh;
    float *dq = t->g_dq + (size_t)b * n * ie, *dkv = t->g_dkv + (size_t)b * n * 2 * ie;
    const float *kv = s->kv + (size_t)b * n * 2 * ie;
    memset(dq, 0, sizeof(float) * n * ie); /* the item's rows, zeroed here: in parallel, and cache-warm */
    memset(dkv, 0, sizeof(float) * n * 2 * ie);
    t->tops->attn_null_bwd(ctx, s->q + (size_t)b * n * ie, ie, kv, 2 * ie, kv + ie, 2 * ie, n, n, h, dh,
                           WP(s->aw->null_k), WP(s->aw->null_v), WP(s->aw->th), 1.f / sqrtf((float)dh),
                           s->P + (size_t)b * n * h * (1 + n), t->g_do + (size_t)b * n * ie, ie, dq, dkv, dkv + ie,
                           part_dk0(t, part), part_dv0(t, part), part_dth(t, part));
    if (m->rotary) {
        const float *fr = WP(m->inv_freq);
        t->tops->rotary_bwd(ctx, dq, n, ie, h, dh, m->rot_dim, fr, 0);
        t->tops->rotary_bwd(ctx, dkv, n, 2 * ie, h, dh, m->rot_dim, fr, 0);
        t->tops->rotary_bwd(ctx, dkv + ie, n, 2 * ie, h, dh, m->rot_dim, fr, 0);
    }
}

static void dna_bwd_item(NwTrainer *t, const Sub *s, int b, const NwCtx *ctx, float *part)
{
    const NwNuwa *m = t->m;
    const int n = s->n, h = m->dec_heads, dh = m->dec_dh, id = h * dh;
    const int nP = h * (1 + m->kernel[0] * m->kernel[1] * m->kernel[2]);
    const float *q = s->q + (size_t)b * n * id, *kv = s->kv + (size_t)b * n * 2 * id;
    const float *dout = t->g_do + (size_t)b * n * id;
    float *dq = t->g_dq + (size_t)b * n * id, *dkv = t->g_dkv + (size_t)b * n * 2 * id;
    memset(dq, 0, sizeof(float) * n * id);
    memset(dkv, 0, sizeof(float) * n * 2 * id);
    for (int j = 0; j < id; j++) /* the bos row's output is its own value */
        dkv[id + j] += dout[j];
    if (n > 1) {
        const NwDna g = layer_dna(t, s->layer);
        t->tops->attn_3dna_bwd(ctx, &g, 0, q + id, id, kv + 2 * id, kv + 3 * id, 2 * id, kv, kv + id, n - 1, h, dh,
                               WP(s->aw->rel_bias), WP(s->aw->th), 1.f / sqrtf((float)dh), s->P + (size_t)b * n * nP,
                               dout + id, id, dq + id, dkv + 2 * id, dkv + 3 * id, dkv, dkv + id,
                               s->aw->rel_bias ? part_drel(t, part) : NULL, part_dth(t, part));
    }
}

static void cross_bwd_item(NwTrainer *t, const Sub *s, int b, const NwCtx *ctx, float *part)
{
    const NwNuwa *m = t->m;
    const int n = s->n, h = m->dec_heads, dh = m->dec_dh, id = h * dh, nt = t->nt;
    const float *kv = t->kvt + ((size_t)s->layer * t->batch + b) * nt * 2 * id;
    float *dkv = t->g_dkvt + (size_t)b * nt * 2 * id;
    memset(t->g_dq + (size_t)b * n * id, 0, sizeof(float) * n * id);
    memset(dkv, 0, sizeof(float) * nt * 2 * id);
    t->tops->attn_null_bwd(ctx, s->q + (size_t)b * n * id, id, kv, 2 * id, kv + id, 2 * id, n, nt, h, dh,
                           WP(s->aw->null_k), WP(s->aw->null_v), WP(s->aw->th), 1.f / sqrtf((float)dh),
                           s->P + (size_t)b * n * h * (1 + nt), t->g_do + (size_t)b * n * id, id,
                           t->g_dq + (size_t)b * n * id, dkv, dkv + id, part_dk0(t, part), part_dv0(t, part),
                           part_dth(t, part));
}

/* The items' null key/value and talking-heads gradients of attention weights aw (inner, heads). */
static void fold_attn_parts(const NwTrainer *t, const NwAttnW *aw, int inner, int h, float *grad)
{
    fold_parts(t, grad, aw->null_k, 0, (size_t)inner);
    fold_parts(t, grad, aw->null_v, part_inner(t), (size_t)inner);
    fold_parts(t, grad, aw->th, 2 * part_inner(t), (size_t)h * h);
}

static void sub_fwd(NwTrainer *t, Sub *s, float *const *X)
{
    const NwNuwa *m = t->m;
    const NwOps *ops = t->ops;
    NwCtx c = sctx(t);
    const NwCtx *ctx = &c;
    const int d = m->dim, n = s->n, B = t->batch, R = B * n, f = m->ff_inner;
    copy(t, s->xin, X[s->in], (size_t)R * d);
    ops->layer_norm(ctx, s->xin, s->nrm, R, d, WP(s->sn->pre_g), WP(s->sn->pre_b), LN_EPS, 0);
    if (s->shift) /* the item's whole prenormed sequence is its ring (cap = n, row = position) */
        for (int b = 0; b < B; b++)
            ops->token_shift(ctx, s->nrm + (size_t)b * n * d, n, 0, n, d, m->fmap, m->T, s->src + (size_t)b * n * d);
    switch (s->kind) {
    case SUB_TEXT_ATTN: {
        const int ie = m->enc_heads * m->enc_dh;
        ops->linear(ctx, s->src, R, d, WP(s->aw->q), ie, NULL, s->q);
        ops->linear(ctx, s->src, R, d, WP(s->aw->kv), 2 * ie, NULL, s->kv);
        for_items(t, s, text_attn_fwd_item, 0);
        ops->linear(ctx, s->o, R, ie, WP(s->aw->out), d, NULL, s->y);
        break;
    }
    case SUB_DNA: {
        const int id = m->dec_heads * m->dec_dh;
        ops->linear(ctx, s->src, R, d, WP(s->aw->q), id, NULL, s->q);
        ops->linear(ctx, s->src, R, d, WP(s->aw->kv), 2 * id, NULL, s->kv);
        for_items(t, s, dna_fwd_item, 0);
        ops->linear(ctx, s->o, R, id, WP(s->aw->out), d, WP(s->aw->out_b), s->y);
        break;
    }
    case SUB_CROSS: {
        const int id = m->dec_heads * m->dec_dh;
        ops->linear(ctx, s->src, R, d, WP(s->aw->q), id, NULL, s->q);
        for_items(t, s, cross_fwd_item, 0);
        ops->linear(ctx, s->o, R, id, WP(s->aw->out), d, NULL, s->y);
        break;
    }
    default:
        ops->linear(ctx, s->src, R, d, WP(s->fw->w0), 2 * f, NULL, s->u);
        ops->geglu(ctx, s->u, s->a, R, f);
        ops->linear(ctx, s->a, R, f, WP(s->fw->w3), d, NULL, s->y);
    }
    ops->layer_norm(ctx, s->y, t->ybuf, R, d, WP(s->sn->post_g), WP(s->sn->post_b), LN_EPS, 0);
    ops->add(ctx, X[s->out], t->ybuf, (size_t)R * d);
}

/* ---- backward: dX[out] is the gradient of the sublayer's output, dX[in] accumulates ---- */

static void fold_rel_bias(const NwTrainer *t, int li, float *grad)
{
    const NwNuwa *m = t->m;
    const int h = m->dec_heads, K = m->kernel[0] * m->kernel[1] * m->kernel[2];
    /* the table is rel[j, hd] = sum over axes of axial_a[idx_a(j), hd] (transformer.c's walk) */
    for (int j = 0; j < K; j++) {
        const int ia[3] = {j / (m->kernel[1] * m->kernel[2]), (j / m->kernel[2]) % m->kernel[1], j % m->kernel[2]};
        for (int a = 0; a < 3; a++) {
            const NwW w = t->rel_ax[li * 3 + a];
            if (!w)
                continue;
            for (int hd = 0; hd < h; hd++)
                grad[w + (size_t)ia[a] * h + hd] += t->drel[(size_t)j * h + hd];
        }
    }
}

static void sub_bwd(NwTrainer *t, const Sub *s, float *const *dX, float *grad)
{
    const NwNuwa *m = t->m;
    const NwTrainOps *tops = t->tops;
    NwCtx c = sctx(t);
    const NwCtx *ctx = &c;
    const int d = m->dim, n = s->n, B = t->batch, R = B * n, f = m->ff_inner, nt = t->nt;
    const size_t nd = (size_t)R * d;
    zero(t, t->g_dy, nd);
    tops->layer_norm_bwd(ctx, s->y, R, d, WP(s->sn->post_g), LN_EPS, 0, dX[s->out], t->g_dy, GP(s->sn->post_g),
                         GP(s->sn->post_b));
    zero(t, t->g_dsrc, nd);
    switch (s->kind) {
    case SUB_TEXT_ATTN: {
        const int h = m->enc_heads, ie = h * m->enc_dh;
        zero(t, t->g_do, (size_t)R * ie);
        tops->linear_bwd(ctx, s->o, R, ie, WP(s->aw->out), d, t->g_dy, t->g_do, GP(s->aw->out), NULL);
        for_items(t, s, text_attn_bwd_item, 1);
        fold_attn_parts(t, s->aw, ie, h, grad);
        tops->linear_bwd(ctx, s->src, R, d, WP(s->aw->q), ie, t->g_dq, t->g_dsrc, GP(s->aw->q), NULL);
        tops->linear_bwd(ctx, s->src, R, d, WP(s->aw->kv), 2 * ie, t->g_dkv, t->g_dsrc, GP(s->aw->kv), NULL);
        break;
    }
    case SUB_DNA: {
        const int h = m->dec_heads, id = h * m->dec_dh, K = m->kernel[0] * m->kernel[1] * m->kernel[2];
        const int rb = s->aw->rel_bias != 0;
        zero(t, t->g_do, (size_t)R * id);
        tops->linear_bwd(ctx, s->o, R, id, WP(s->aw->out), d, t->g_dy, t->g_do, GP(s->aw->out), GP(s->aw->out_b));
        for_items(t, s, dna_bwd_item, 1);
        fold_parts(t, grad, s->aw->th, 2 * part_inner(t), (size_t)h * h);
        if (rb) { /* B8: the reference crashes for batch > 1; the per-head bias is what batch 1 computes */
            zero(t, t->drel, (size_t)K * h);
            for (int b = 0; b < B; b++) {
                const float *p = part_drel(t, t->part + (size_t)b * t->part_len);
                for (int j = 0; j < K * h; j++)
                    t->drel[j] += p[j];
            }
            fold_rel_bias(t, s->layer, grad);
        }
        tops->linear_bwd(ctx, s->src, R, d, WP(s->aw->q), id, t->g_dq, t->g_dsrc, GP(s->aw->q), NULL);
        tops->linear_bwd(ctx, s->src, R, d, WP(s->aw->kv), 2 * id, t->g_dkv, t->g_dsrc, GP(s->aw->kv), NULL);
        break;
    }
    case SUB_CROSS: {
        const int h = m->dec_heads, id = h * m->dec_dh;
        zero(t, t->g_do, (size_t)R * id);
        tops->linear_bwd(ctx, s->o, R, id, WP(s->aw->out), d, t->g_dy, t->g_do, GP(s->aw->out), NULL);
        for_items(t, s, cross_bwd_item, 1);
        fold_attn_parts(t, s->aw, id, h, grad);
        tops->linear_bwd(ctx, s->src, R, d, WP(s->aw->q), id, t->g_dq, t->g_dsrc, GP(s->aw->q), NULL);
        /* the text side: keys/values are projections of the encoder output */
        tops->linear_bwd(ctx, t->E, B * nt, d, WP(s->aw->kv), 2 * id, t->g_dkvt, t->dE, GP(s->aw->kv), NULL);
        break;
    }
    default:
        zero(t, t->g_da, (size_t)R * f);
        tops->linear_bwd(ctx, s->a, R, f, WP(s->fw->w3), d, t->g_dy, t->g_da, GP(s->fw->w3), NULL);
        zero(t, t->g_du, (size_t)R * 2 * f);
        tops->geglu_bwd(ctx, s->u, R, f, t->g_da, t->g_du);
        tops->linear_bwd(ctx, s->src, R, d, WP(s->fw->w0), 2 * f, t->g_du, t->g_dsrc, GP(s->fw->w0), NULL);
    }
    const float *dn = t->g_dsrc;
    if (s->shift) {
        zero(t, t->g_dn, nd);
        for (int b = 0; b < B; b++)
            tops->token_shift_bwd(ctx, t->g_dsrc + (size_t)b * n * d, n, d, m->fmap, m->T, t->g_dn + (size_t)b * n * d);
        dn = t->g_dn;
    }
    tops->layer_norm_bwd(ctx, s->xin, R, d, WP(s->sn->pre_g), LN_EPS, 0, dn, dX[s->in], GP(s->sn->pre_g),
                         GP(s->sn->pre_b));
}

/* ---- the batch ---- */

static double batch(NwTrainer *t, const int32_t *text, const int32_t *vid, const uint8_t *drop, float *grad)
{
    const NwNuwa *m = t->m;
    const NwOps *ops = t->ops;
    const NwTrainOps *tops = t->tops;
    NwCtx c = sctx(t);
    const NwCtx *ctx = &c;
    const int d = m->dim, B = t->batch, nt = t->nt, N = t->N, V = m->V, id = m->dec_heads * m->dec_dh;
    const int TR = B * nt, DR = B * N; /* text and decoder rows of the whole batch */
    const size_t tnd = (size_t)TR * d, nd = (size_t)DR * d;

    /* the encoder keeps the true mask; the decoder's context mask drops the item's text (T1) */
    for (int i = 0; i < TR; i++) {
        t->keep_text[i] = text[i] != 0;
        t->keep_ctx[i] = t->keep_text[i] && !(drop && drop[i / nt]);
    }
    /* text encoder */
    const float *te = WP(m->text_emb), *ap = WP(m->text_abs_pos);
    for (int i = 0; i < TR; i++) {
        const float *e = te + (size_t)text[i] * d;
        float *x = t->tx[0] + (size_t)i * d;
        for (int j = 0; j < d; j++) {
            x[j] = e[j] * EMB_FRAC + e[j] * EMB_REST;
            if (ap)
                x[j] += ap[(size_t)(i % nt) * d + j];
        }
    }
    if (m->enc_rev)
        copy(t, t->tx[1], t->tx[0], tnd);
    for (int i = 0; i < t->n_enc; i++)
        sub_fwd(t, &t->enc[i], t->tx);
    copy(t, t->tfin, t->tx[0], tnd);
    if (m->enc_rev)
        ops->add(ctx, t->tfin, t->tx[1], tnd);
    ops->layer_norm(ctx, t->tfin, t->E, TR, d, WP(m->text_norm_g), WP(m->text_norm_b), LN_EPS, 1);
    for (int l = 0; l < m->dec_depth; l++)
        ops->linear(ctx, t->E, TR, d, WP(m->dec[l].cross.kv), 2 * id, NULL, t->kvt + (size_t)l * TR * 2 * id);

    /* decoder: row 0 = bos, row p = embedding of token p-1 + its position */
    const float *ie = WP(m->image_emb), *pos = WP(m->pos);
    for (int b = 0; b < B; b++) {
        const int32_t *v = vid + (size_t)b * N;
        float *xb = t->x[0] + (size_t)b * N * d;
        memcpy(xb, WP(m->video_bos), sizeof(float) * d);
        for (int p = 1; p < N; p++) {
            const float *e = ie + (size_t)v[p - 1] * d, *ps = pos + (size_t)(p - 1) * d;
            float *x = xb + (size_t)p * d;
            for (int j = 0; j < d; j++)
                x[j] = (e[j] * EMB_FRAC + e[j] * EMB_REST) + ps[j];
        }
    }
    if (m->dec_rev)
        copy(t, t->x[1], t->x[0], nd);
    for (int i = 0; i < t->n_dec; i++)
        sub_fwd(t, &t->dec[i], t->x);
    copy(t, t->xfin, t->x[0], nd);
    if (m->dec_rev)
        ops->add(ctx, t->xfin, t->x[1], nd);
    ops->layer_norm(ctx, t->xfin, t->yfin, DR, d, WP(m->video_norm_g), WP(m->video_norm_b), LN_EPS, 1);
    ops->linear(ctx, t->yfin, DR, d, WP(m->to_logits), V, NULL, t->logits);
    /* row p predicts token p; the mean is over all B*N positions */
    const double loss = tops->cross_entropy(ctx, t->logits, DR, V, vid, t->dlogits);

    /* backward: head, decoder, inputs */
    zero(t, t->dyfin, nd);
    tops->linear_bwd(ctx, t->yfin, DR, d, WP(m->to_logits), V, t->dlogits, t->dyfin, GP(m->to_logits), NULL);
    zero(t, t->dx[0], nd);
    tops->layer_norm_bwd(ctx, t->xfin, DR, d, WP(m->video_norm_g), LN_EPS, 1, t->dyfin, t->dx[0],
                         GP(m->video_norm_g), GP(m->video_norm_b));
    if (m->dec_rev)
        copy(t, t->dx[1], t->dx[0], nd);
    zero(t, t->dE, tnd);
    for (int i = t->n_dec - 1; i >= 0; i--)
        sub_bwd(t, &t->dec[i], t->dx, grad);
    if (m->dec_rev)
        for (size_t i = 0; i < nd; i++)
            t->dx[0][i] += t->dx[1][i];
    float *gb = grad + m->video_bos, *gi = grad + m->image_emb;
    for (int b = 0; b < B; b++) {
        const float *dx = t->dx[0] + (size_t)b * N * d;
        const int32_t *v = vid + (size_t)b * N;
        for (int j = 0; j < d; j++)
            gb[j] += dx[j];
        for (int p = 1; p < N; p++) {
            const int tk = p - 1, ix[3] = {tk / m->T, (tk % m->T) / m->fmap, tk % m->fmap};
            const float *g = dx + (size_t)p * d;
            float *ge = gi + (size_t)v[p - 1] * d;
            for (int j = 0; j < d; j++)
                ge[j] += g[j] * EMB_FRAC;
            /* the position table is the sum of the axial tensors: each receives the row's gradient */
            for (int a = 0; a < 3; a++)
                if (t->pos_ax[a]) {
                    float *ga = grad + t->pos_ax[a] + (size_t)ix[a] * d;
                    for (int j = 0; j < d; j++)
                        ga[j] += g[j];
                }
        }
    }

    /* text side (a dropped item's rows receive exactly zero gradient, docs/TRAINING.md §4) */
    zero(t, t->dtx[0], tnd);
    tops->layer_norm_bwd(ctx, t->tfin, TR, d, WP(m->text_norm_g), LN_EPS, 1, t->dE, t->dtx[0], GP(m->text_norm_g),
                         GP(m->text_norm_b));
    if (m->enc_rev)
        copy(t, t->dtx[1], t->dtx[0], tnd);
    for (int i = t->n_enc - 1; i >= 0; i--)
        sub_bwd(t, &t->enc[i], t->dtx, grad);
    if (m->enc_rev)
        for (size_t i = 0; i < tnd; i++)
            t->dtx[0][i] += t->dtx[1][i];
    float *gt = grad + m->text_emb, *ga = GP(m->text_abs_pos);
    for (int i = 0; i < TR; i++) {
        const float *g = t->dtx[0] + (size_t)i * d;
        float *ge = gt + (size_t)text[i] * d;
        for (int j = 0; j < d; j++) {
            ge[j] += g[j] * EMB_FRAC;
            if (ga)
                ga[(size_t)(i % nt) * d + j] += g[j];
        }
    }
    return loss;
}

int nw_trainer_loss_grad(NwTrainer *t, const int32_t *text, const int32_t *video, const uint8_t *drop,
                         float *grad, double *loss)
{
    if (!t || !text || !video || !grad || !loss)
        return NUWA_ERR_INVAL;
    const NwNuwa *m = t->m;
    for (size_t i = 0; i < (size_t)t->batch * t->nt; i++)
        if (text[i] < 0 || text[i] >= m->text_vocab)
            return NUWA_ERR_INVAL;
    for (size_t i = 0; i < (size_t)t->batch * t->N; i++)
        if (video[i] < 0 || video[i] >= m->V)
            return NUWA_ERR_INVAL;
    *loss = batch(t, text, video, drop, grad);
    return 0;
}
