/*
 * bench_gpu — the end-to-end benchmark of libnuwa on one compute device, through the public API
 * only (nuwa.h): what an application sees, host <-> device transfers, sampling and frame
 * conversion included. Runs on any device; bench/gpu.sh runs it with --device cuda on a GPU
 * machine, `--quick --device cpu` is a smoke test that takes seconds.
 *
 *   bench_gpu [--device NAME] [--threads N] [--iters N] [--streams N] [--budget S] [--quick] [--json]
 *
 *   --device   "cpu", "cuda" (default), "cuda:N"
 *   --threads  CPU threads of each session (default: all cores); nuwa_generate_batch runs
 *              min(threads of the first session, streams) sessions at once (a CUDA session
 *              counts as 1 thread in libnuwa today, so its batch runs the sessions in turn:
 *              the "one host thread per session" line shows what concurrency would give)
 *   --iters    timed iterations per measurement, median reported (default 5; 3 with --quick)
 *   --streams  sessions of the batched measurement (default 16)
 *   --budget   seconds; a measurement stops iterating (after at least one iteration) once it
 *              has used its share (default 150; 40 with --quick)
 *   --quick    tiny models (below) instead of the target configuration
 *   --json     also print one JSON object per part, on a line starting with '{', right after the
 *              part's rows of the table (grep '^{' for the JSON, grep -v for the table)
 *
 * Models (random weights, built in memory with tests/support's nuwa_random_gguf, written to a
 * temporary file because nuwa.h loads models from files only, loaded, file removed):
 *   target  VQGAN 256x256 RGB, dim 64, 4 layers (fmap 16: 256 tokens per frame), one resnet block
 *           and attention (8 x 64) at the last stage, groups 16, first conv 5, cosine codebook
 *           512 x 256 (bench_vqgan's configuration).
 *           NUWA dim 512, max_video_frames 10, text 256 of 49408 ids, text encoder 6 x (8 x 64)
 *           with rotary embeddings, decoder depth 12, 8 heads x 64, 3DNA kernel (3,3,3),
 *           dilation 1, shift_video_tokens on (nuwa-pytorch 0.7.8's NUWA defaults for what the
 *           target does not fix: heads, dim_head, kernel, text encoder).
 *   quick   VQGAN 64x64, dim 16, 3 layers (fmap 8: 64 tokens), attention 2 x 8 at the last stage,
 *           codebook 512 x 64; NUWA dim 64, max_video_frames 10, text 16 of 1000 ids, encoder
 *           1 x (2 x 16), decoder 2 x (4 x 16), kernel (3,3,3), shift on.
 *
 * Measurements (generation: cond_scale 2, filter_thres 0.9, temperature 1, 12 text ids):
 *   vqgan        nuwa_vae_encode / nuwa_vae_decode of RGB24 frames: one frame per call, and the
 *                9 context frames in one call; ms and frames/s (median, after one warm-up).
 *   next frame   start (text) + push 9 context frames (nuwa_session_push_tokens: the prefill),
 *                then nuwa_session_generate_frames(1): one whole frame of tokens sampled and
 *                decoded = the next-frame latency. Tokens/s from nuwa_session_generate(1) alone
 *                in the same state. The first (cold) iteration is reported too.
 *   streams      N sessions on the same model and device, each started and given the 9 context
 *                frames, then one frame each: (a) nuwa_generate_batch, (b) one host thread per
 *                session calling nuwa_session_generate. Total tokens/s and the ratio to one
 *                stream's tokens/s.
 * Exit status: 0; 2 when the device cannot be opened (the reason is printed); 1 on other errors.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nuwa.h"
#include "testutil.h"

#define CTX_FRAMES 9
#define MAX_ITERS 100

/* Targets (reported, not enforced). */
#define TARGET_LATENCY_MS 16.0
#define TARGET_STREAM_RATIO 8.0

typedef struct Opts {
    const char *device;
    int threads, iters, streams, quick, json;
    double budget;
} Opts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double t[MAX_ITERS];
    if (n < 1)
        return 0;
    memcpy(t, v, sizeof(double) * n);
    qsort(t, n, sizeof(double), cmp_d);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Session log: errors and warnings of libnuwa go to stderr with a prefix. */
static void log_cb(void *opaque, int level, const char *fmt, va_list ap)
{
    (void)opaque;
    (void)level;
    fputs("bench_gpu: libnuwa: ", stderr);
    vfprintf(stderr, fmt, ap);
}

static int fail(const char *what, int err)
{
    fprintf(stderr, "bench_gpu: %s failed: %s\n", what, nuwa_strerror(err));
    return 1;
}

/* ---- models ------------------------------------------------------------------------------- */

static void configs(int quick, NwVae *vh, NwNuwa *nh)
{
    memset(nh, 0, sizeof(*nh));
    if (quick) {
        const int res[3] = {0, 0, 1}, attn[3] = {0, 0, 1};
        vae_hparams(vh, 64, 3, 16, 3, NULL, res, attn, 2, 8, 4, 3, 512, 64, 1);
        nh->dim = 64;
        nh->text_vocab = 1000;
        nh->text_len = 16;
        nh->enc_depth = 1;
        nh->enc_heads = 2;
        nh->enc_dh = 16;
        nh->dec_depth = 2;
        nh->dec_heads = 4;
        nh->dec_dh = 16;
    } else {
        const int res[4] = {0, 0, 0, 1}, attn[4] = {0, 0, 0, 1};
        vae_hparams(vh, 256, 3, 64, 4, NULL, res, attn, 8, 64, 16, 5, 512, 256, 1);
        nh->dim = 512;
        nh->text_vocab = 49408;
        nh->text_len = 256;
        nh->enc_depth = 6;
        nh->enc_heads = 8;
        nh->enc_dh = 64;
        nh->dec_depth = 12;
        nh->dec_heads = 8;
        nh->dec_dh = 64;
    }
    nh->max_frames = CTX_FRAMES + 1;
    nh->rotary = 1;
    nh->shift = 1;
    nh->kernel[0] = nh->kernel[1] = nh->kernel[2] = 3;
    nh->n_dil = 1;
    nh->dil[0] = 1;
}

/* buf -> temporary file -> NuwaModel (nuwa.h has no loader from memory). */
static int load_buffer(NuwaModel **m, const char *tag, uint8_t *buf, size_t size)
{
    char path[512];
    NuwaModelParams mp;
    nuwa_model_params_default(&mp);
    mp.log_cb = log_cb;
    if (write_temp(tag, buf, size, path, sizeof(path)) < 0) {
        fprintf(stderr, "bench_gpu: cannot write a temporary model file (TMPDIR=%s)\n",
                getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        unlink(path);
        return NUWA_ERR_IO;
    }
    const int err = nuwa_model_load(m, path, &mp);
    unlink(path);
    return err;
}

static int make_session(NuwaSession **s, NuwaModel *m, const Opts *o)
{
    NuwaSessionParams sp;
    nuwa_session_params_default(&sp);
    sp.n_threads = o->threads;
    sp.device = o->device;
    sp.log_cb = log_cb;
    sp.log_level = NUWA_LOG_WARNING;
    return nuwa_session_create(s, m, &sp);
}

/* Opens the device on a tiny tokenizer-only model first, so that a missing device fails in
 * milliseconds instead of after building the target model. */
static int probe_device(const Opts *o)
{
    const int res[2] = {0, 0}, attn[2] = {0, 0};
    NwVae hp;
    vae_hparams(&hp, 16, 3, 8, 2, NULL, res, attn, 1, 8, 4, 3, 16, 8, 1);
    uint8_t *buf;
    size_t size;
    NuwaModel *m = NULL;
    NuwaSession *s = NULL;
    if (vae_random_gguf(&hp, 1, NW_TYPE_F32, &buf, &size)) {
        fprintf(stderr, "bench_gpu: cannot build the probe model\n");
        return 1;
    }
    int err = load_buffer(&m, "bench-gpu-probe", buf, size);
    free(buf);
    if (err < 0)
        return fail("loading the probe model", err);
    err = make_session(&s, m, o);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
    if (err < 0) {
        fprintf(stderr, "bench_gpu: cannot open device '%s': %s (the lines above say why)\n", o->device,
                nuwa_strerror(err));
        return 2;
    }
    return 0;
}

/* ---- measurements ------------------------------------------------------------------------- */

typedef struct Bench {
    const Opts *o;
    NuwaModel *m;
    NuwaVaeInfo vi;
    NuwaTransformerInfo ti;
    int S, T;                    /* frame side, tokens per frame */
    int32_t ctx[CTX_FRAMES * 1024]; /* context tokens (T <= 1024) */
    int32_t text[12];
    TRng rng;
    /* results */
    double enc_ms, dec_ms, enc9_ms, dec9_ms;
    double start_ms, push_ms, first_ms, step_ms, gen_ms, gen_cold_ms, lat_ms, lat_cold_ms;
    int vae_iters, gen_iters, lat_iters, start_iters, batch_iters, thr_iters;
    double batch_ms, thr_ms;
    int batch_threads;
} Bench;

/* Progress stamps of one generate call: when the first and the last token came. */
typedef struct Stamps {
    double first, last;
} Stamps;

static int on_progress(void *opaque, int64_t done, int64_t total)
{
    Stamps *st = opaque;
    const double t = now_s();
    if (done == 1)
        st->first = t;
    if (done == total)
        st->last = t;
    return 0;
}

static int start_video(Bench *b, NuwaSession *s, uint64_t seed, Stamps *st, double *start_ms, double *push_ms)
{
    NuwaGenParams gp;
    nuwa_gen_params_default(&gp);
    gp.cond_scale = 2.f;
    gp.seed = seed;
    if (st) {
        gp.progress = on_progress;
        gp.progress_opaque = st;
    }
    double t0 = now_s();
    int err = nuwa_session_start_ids(s, b->text, 12, &gp);
    double t1 = now_s();
    if (err < 0)
        return fail("nuwa_session_start_ids", err);
    if ((err = nuwa_session_push_tokens(s, b->ctx, CTX_FRAMES)) < 0)
        return fail("nuwa_session_push_tokens (9 context frames)", err);
    double t2 = now_s();
    if (start_ms)
        *start_ms = (t1 - t0) * 1e3;
    if (push_ms)
        *push_ms = (t2 - t1) * 1e3;
    return 0;
}

static int bench_vqgan(Bench *b, NuwaSession *s, double deadline)
{
    const int S = b->S, T = b->T, n = CTX_FRAMES;
    uint8_t *px = malloc((size_t)3 * S * S * n);
    int32_t *tok = malloc(sizeof(int32_t) * T * n);
    NuwaFrame f[CTX_FRAMES];
    double te[MAX_ITERS], td[MAX_ITERS], te9[MAX_ITERS], td9[MAX_ITERS];
    int err = 0, i;
    if (!px || !tok) {
        free(px);
        free(tok);
        return fail("allocating frames", NUWA_ERR_NOMEM);
    }
    for (size_t k = 0; k < (size_t)3 * S * S * n; k++)
        px[k] = (uint8_t)(trng_next(&b->rng) >> 56);
    for (i = 0; i < n; i++)
        f[i] = (NuwaFrame){NUWA_FRAME_RGB24, S, S, 3, px + (size_t)i * 3 * S * S, 3 * S, 0};
    /* warm-up */
    if ((err = nuwa_vae_encode(s, f, 1, tok)) < 0 || (err = nuwa_vae_decode(s, tok, 1, f)) < 0)
        goto out;
    for (i = 0; i < b->o->iters; i++) {
        double t0 = now_s();
        if ((err = nuwa_vae_encode(s, f, 1, tok)) < 0)
            goto out;
        double t1 = now_s();
        if ((err = nuwa_vae_decode(s, tok, 1, f)) < 0)
            goto out;
        double t2 = now_s();
        if ((err = nuwa_vae_encode(s, f, n, tok)) < 0)
            goto out;
        double t3 = now_s();
        if ((err = nuwa_vae_decode(s, tok, n, f)) < 0)
            goto out;
        double t4 = now_s();
        te[i] = (t1 - t0) * 1e3, td[i] = (t2 - t1) * 1e3, te9[i] = (t3 - t2) * 1e3, td9[i] = (t4 - t3) * 1e3;
        if (now_s() > deadline) {
            i++;
            break;
        }
    }
    b->vae_iters = i;
    b->enc_ms = median(te, i), b->dec_ms = median(td, i), b->enc9_ms = median(te9, i), b->dec9_ms = median(td9, i);
out:
    free(px);
    free(tok);
    return err < 0 ? fail("VQGAN encode/decode", err) : 0;
}

static int bench_next_frame(Bench *b, NuwaSession *s, double deadline)
{
    const int S = b->S, T = b->T;
    uint8_t *px = malloc((size_t)3 * S * S);
    int32_t *tok = malloc(sizeof(int32_t) * T);
    double ts[MAX_ITERS], tp[MAX_ITERS], tg[MAX_ITERS], tl[MAX_ITERS], tf[MAX_ITERS], tr[MAX_ITERS];
    int err = 0, ng = 0, nl = 0;
    Stamps st;
    if (!px || !tok) {
        free(px);
        free(tok);
        return fail("allocating frames", NUWA_ERR_NOMEM);
    }
    NuwaFrame f = {NUWA_FRAME_RGB24, S, S, 3, px, 3 * S, 0};
    /* alternate: tokens only (tokens/s), tokens + decode (latency); the first of each is cold */
    for (int i = 0; i < 2 * b->o->iters; i++) {
        const int latency = i & 1;
        if (start_video(b, s, 100 + i, &st, &ts[i], &tp[i]) != 0) {
            err = 1;
            break;
        }
        const double t0 = now_s();
        const int r = latency ? nuwa_session_generate_frames(s, 1, &f, tok) : nuwa_session_generate(s, 1, tok);
        const double dt = (now_s() - t0) * 1e3;
        if (r < 0) {
            err = fail(latency ? "nuwa_session_generate_frames" : "nuwa_session_generate", r);
            break;
        }
        if (latency) {
            tl[nl++] = dt;
        } else {
            tf[ng] = (st.first - t0) * 1e3;
            tr[ng] = (st.last - st.first) * 1e3 / (T > 1 ? T - 1 : 1);
            tg[ng++] = dt;
        }
        if (latency && now_s() > deadline)
            break;
    }
    free(px);
    free(tok);
    if (err || !nl)
        return 1;
    b->gen_cold_ms = tg[0], b->lat_cold_ms = tl[0];
    /* medians without the cold iteration when there are others */
    b->gen_iters = ng > 1 ? ng - 1 : ng;
    b->lat_iters = nl > 1 ? nl - 1 : nl;
    b->gen_ms = median(tg + (ng > 1), b->gen_iters);
    b->first_ms = median(tf + (ng > 1), b->gen_iters);
    b->step_ms = median(tr + (ng > 1), b->gen_iters);
    b->lat_ms = median(tl + (nl > 1), b->lat_iters);
    b->start_iters = ng + nl;
    b->start_ms = median(ts, ng + nl);
    b->push_ms = median(tp, ng + nl);
    return 0;
}

typedef struct ThreadJob {
    NuwaSession *s;
    int32_t *tok;
    int err;
} ThreadJob;

static void *gen_thread(void *p)
{
    ThreadJob *j = p;
    j->err = nuwa_session_generate(j->s, 1, j->tok);
    return NULL;
}

static int bench_streams(Bench *b, double deadline)
{
    const int n = b->o->streams, T = b->T;
    NuwaSession **ss = calloc(n, sizeof(*ss));
    int32_t **tok = calloc(n, sizeof(*tok));
    ThreadJob *jobs = calloc(n, sizeof(*jobs));
    pthread_t *th = calloc(n, sizeof(*th));
    double tb[MAX_ITERS], tt[MAX_ITERS];
    int err = 0, nb = 0, nt = 0;
    if (!ss || !tok || !jobs || !th) {
        err = fail("allocating streams", NUWA_ERR_NOMEM);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        int r;
        if (!(tok[i] = malloc(sizeof(int32_t) * T))) {
            err = fail("allocating streams", NUWA_ERR_NOMEM);
            goto out;
        }
        if ((r = make_session(&ss[i], b->m, b->o)) < 0) {
            fprintf(stderr, "bench_gpu: stream %d of %d: ", i + 1, n);
            err = fail("nuwa_session_create", r);
            goto out;
        }
    }
    for (int it = 0; it < b->o->iters; it++) {
        /* (a) nuwa_generate_batch */
        for (int i = 0; i < n; i++)
            if (start_video(b, ss[i], 1000 + 100 * it + i, NULL, NULL, NULL) != 0) {
                err = 1;
                goto out;
            }
        double t0 = now_s();
        int r = nuwa_generate_batch(ss, n, 1, tok);
        tb[nb++] = (now_s() - t0) * 1e3;
        if (r < 0) {
            err = fail("nuwa_generate_batch", r);
            goto out;
        }
        /* (b) one host thread per session */
        for (int i = 0; i < n; i++)
            if (start_video(b, ss[i], 5000 + 100 * it + i, NULL, NULL, NULL) != 0) {
                err = 1;
                goto out;
            }
        int started = 0;
        t0 = now_s();
        for (; started < n; started++) {
            jobs[started] = (ThreadJob){ss[started], tok[started], 0};
            if (pthread_create(&th[started], NULL, gen_thread, &jobs[started]) != 0)
                break;
        }
        for (int i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        tt[nt++] = (now_s() - t0) * 1e3;
        if (started < n) {
            fprintf(stderr, "bench_gpu: cannot start %d threads\n", n);
            err = 1;
            goto out;
        }
        for (int i = 0; i < n; i++)
            if (jobs[i].err < 0) {
                err = fail("nuwa_session_generate (one thread per stream)", jobs[i].err);
                goto out;
            }
        if (now_s() > deadline)
            break;
    }
    b->batch_iters = nb, b->thr_iters = nt;
    b->batch_ms = median(tb, nb), b->thr_ms = median(tt, nt);
    b->batch_threads = b->o->threads < n ? b->o->threads : n;
out:
    for (int i = 0; ss && i < n; i++)
        nuwa_session_destroy(&ss[i]);
    for (int i = 0; tok && i < n; i++)
        free(tok[i]);
    free(ss), free(tok), free(jobs), free(th);
    return err;
}

/* ---- report ------------------------------------------------------------------------------- */

/* Prints one part of the table (0: header, 1: VQGAN, 2: one stream, 3: streams) as soon as it is
 * measured, with its JSON line under --json, so that a run cut short keeps what it measured. */
static void report(const Bench *b, int part)
{
    const Opts *o = b->o;
    const int T = b->T, n = o->streams;
    const double tok_s = T / (b->gen_ms * 1e-3);
    const char *cfg = o->quick ? "quick" : "target";
    char what[64];
    switch (part) {
    case 0:
        printf("bench_gpu: libnuwa %s, device %s, %d threads, %s models\n", nuwa_version(), o->device, o->threads,
               cfg);
        printf("  VQGAN %dx%d, dim %d, %d layers (%d tokens/frame, codebook %d); NUWA dim %d, decoder %d x (%d x %d), "
               "3DNA (%d,%d,%d), %d frames (%d of context), text %d, cond_scale 2\n",
               b->S, b->S, b->vi.dim, b->vi.num_layers, T, b->vi.codebook_size, b->ti.dim, b->ti.dec_depth,
               b->ti.dec_heads, b->ti.dec_dim_head, b->ti.kernel[0], b->ti.kernel[1], b->ti.kernel[2],
               b->ti.max_video_frames, CTX_FRAMES, b->ti.text_max_seq_len);
        printf("%-44s %12s %12s  %s\n", "measurement", "value", "unit", "notes");
        if (o->json)
            printf("{\"what\": \"config\", \"impl\": \"libnuwa %s\", \"device\": \"%s\", \"threads\": %d, "
                   "\"models\": \"%s\", \"image_size\": %d, \"vae_dim\": %d, \"vae_layers\": %d, "
                   "\"tokens_per_frame\": %d, \"codebook\": %d, \"dim\": %d, \"dec_depth\": %d, \"dec_heads\": %d, "
                   "\"dec_dim_head\": %d, \"kernel\": [%d, %d, %d], \"max_video_frames\": %d, \"text_len\": %d, "
                   "\"enc_depth\": %d, \"context_frames\": %d, \"cond_scale\": 2}\n",
                   nuwa_version(), o->device, o->threads, cfg, b->S, b->vi.dim, b->vi.num_layers, T,
                   b->vi.codebook_size, b->ti.dim, b->ti.dec_depth, b->ti.dec_heads, b->ti.dec_dim_head,
                   b->ti.kernel[0], b->ti.kernel[1], b->ti.kernel[2], b->ti.max_video_frames, b->ti.text_max_seq_len,
                   b->ti.enc_depth, CTX_FRAMES);
        break;
    case 1:
        printf("%-44s %12.2f %12s  median of %d\n", "VQGAN encode, 1 frame", b->enc_ms, "ms", b->vae_iters);
        printf("%-44s %12.1f %12s\n", "VQGAN encode, 1 frame per call", 1e3 / b->enc_ms, "frames/s");
        printf("%-44s %12.1f %12s\n", "VQGAN encode, 9 frames per call", CTX_FRAMES * 1e3 / b->enc9_ms, "frames/s");
        printf("%-44s %12.2f %12s\n", "VQGAN decode, 1 frame", b->dec_ms, "ms");
        printf("%-44s %12.1f %12s\n", "VQGAN decode, 1 frame per call", 1e3 / b->dec_ms, "frames/s");
        printf("%-44s %12.1f %12s\n", "VQGAN decode, 9 frames per call", CTX_FRAMES * 1e3 / b->dec9_ms, "frames/s");
        if (o->json)
            printf("{\"what\": \"vqgan\", \"device\": \"%s\", \"encode_ms\": %.3f, \"decode_ms\": %.3f, "
                   "\"encode_fps\": %.2f, \"decode_fps\": %.2f, \"encode9_fps\": %.2f, \"decode9_fps\": %.2f, "
                   "\"iters\": %d}\n",
                   o->device, b->enc_ms, b->dec_ms, 1e3 / b->enc_ms, 1e3 / b->dec_ms, CTX_FRAMES * 1e3 / b->enc9_ms,
                   CTX_FRAMES * 1e3 / b->dec9_ms, b->vae_iters);
        break;
    case 2:
        printf("%-44s %12.2f %12s  text encoder, median of %d\n", "start (text prompt)", b->start_ms, "ms",
               b->start_iters);
        printf("%-44s %12.2f %12s  %d tokens (libnuwa defers the prefill to generate)\n", "push 9 context frames",
               b->push_ms, "ms", CTX_FRAMES * T);
        printf("%-44s %12.2f %12s  median of %d; cold %.2f ms\n", "generate 1 frame (tokens only)", b->gen_ms, "ms",
               b->gen_iters, b->gen_cold_ms);
        printf("%-44s %12.2f %12s  prefill of %d context tokens + 1 step\n", "  of which the first token", b->first_ms,
               "ms", CTX_FRAMES * T);
        printf("%-44s %12.3f %12s  = %.1f tokens/s without the prefill\n", "  then per token", b->step_ms, "ms",
               1e3 / b->step_ms);
        printf("%-44s %12.1f %12s  %d tokens / generate 1 frame\n", "generation, one stream", tok_s, "tokens/s", T);
        printf("%-44s %12.2f %12s  median of %d; cold %.2f ms; target <= %.0f ms: %s\n",
               "next-frame latency (generate + decode)", b->lat_ms, "ms", b->lat_iters, b->lat_cold_ms,
               TARGET_LATENCY_MS, o->quick ? "n/a (quick)" : b->lat_ms <= TARGET_LATENCY_MS ? "met" : "MISSED");
        if (o->json)
            printf("{\"what\": \"next_frame\", \"device\": \"%s\", \"start_ms\": %.3f, \"push_ms\": %.3f, "
                   "\"gen_ms\": %.3f, \"gen_cold_ms\": %.3f, \"first_token_ms\": %.3f, \"step_ms\": %.4f, "
                   "\"tok_s\": %.2f, \"latency_ms\": %.3f, \"latency_cold_ms\": %.3f, \"target_latency_ms\": %.1f, "
                   "\"iters\": %d}\n",
                   o->device, b->start_ms, b->push_ms, b->gen_ms, b->gen_cold_ms, b->first_ms, b->step_ms, tok_s,
                   b->lat_ms, b->lat_cold_ms, TARGET_LATENCY_MS, b->lat_iters);
        break;
    case 3: {
        const double batch_tok_s = n * T / (b->batch_ms * 1e-3), thr_tok_s = n * T / (b->thr_ms * 1e-3);
        snprintf(what, sizeof(what), "%d streams, nuwa_generate_batch", n);
        printf("%-44s %12.1f %12s  median of %d; workers: min(threads of a session, %d)\n", what, batch_tok_s,
               "tokens/s", b->batch_iters, n);
        printf("%-44s %12.2f %12s  target >= %.0fx: %s\n", "  ratio to one stream", batch_tok_s / tok_s, "x",
               TARGET_STREAM_RATIO,
               o->quick ? "n/a (quick)" : batch_tok_s / tok_s >= TARGET_STREAM_RATIO ? "met" : "MISSED");
        snprintf(what, sizeof(what), "%d streams, one host thread each", n);
        printf("%-44s %12.1f %12s  median of %d\n", what, thr_tok_s, "tokens/s", b->thr_iters);
        printf("%-44s %12.2f %12s\n", "  ratio to one stream", thr_tok_s / tok_s, "x");
        if (o->json)
            printf("{\"what\": \"streams\", \"device\": \"%s\", \"streams\": %d, \"batch_ms\": %.3f, "
                   "\"batch_tok_s\": %.2f, \"batch_ratio\": %.3f, \"threads_requested\": %d, \"threads_ms\": %.3f, "
                   "\"threads_tok_s\": %.2f, \"threads_ratio\": %.3f, \"one_stream_tok_s\": %.2f, "
                   "\"target_ratio\": %.1f, \"iters\": %d}\n",
                   o->device, n, b->batch_ms, batch_tok_s, batch_tok_s / tok_s, b->batch_threads, b->thr_ms,
                   thr_tok_s, thr_tok_s / tok_s, tok_s, TARGET_STREAM_RATIO, b->batch_iters);
        break;
    }
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_gpu [--device cpu|cuda|cuda:N] [--threads N] [--iters N] [--streams N] "
                    "[--budget S] [--quick] [--json]\n");
    return 1;
}

int main(int argc, char **argv)
{
    Opts o = {"cuda", (int)sysconf(_SC_NPROCESSORS_ONLN), 0, 16, 0, 0, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc)
            o.device = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            o.threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
            o.iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--streams") && i + 1 < argc)
            o.streams = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--budget") && i + 1 < argc)
            o.budget = atof(argv[++i]);
        else if (!strcmp(argv[i], "--quick"))
            o.quick = 1;
        else if (!strcmp(argv[i], "--json"))
            o.json = 1;
        else
            return usage();
    }
    if (!o.iters)
        o.iters = o.quick ? 3 : 5;
    if (o.budget <= 0)
        o.budget = o.quick ? 40 : 150;
    if (o.threads < 1 || o.iters < 1 || o.iters > MAX_ITERS / 2 || o.streams < 1 || o.streams > 256) {
        fprintf(stderr, "bench_gpu: bad arguments (threads >= 1, 1 <= iters <= %d, 1 <= streams <= 256)\n",
                MAX_ITERS / 2);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    const double t_start = now_s();

    int r = probe_device(&o);
    if (r)
        return r;

    NwVae vh;
    NwNuwa nh;
    configs(o.quick, &vh, &nh);
    uint8_t *buf;
    size_t size;
    if (nuwa_random_gguf(&vh, &nh, 3, &buf, &size)) {
        fprintf(stderr, "bench_gpu: cannot build the benchmark model\n");
        return 1;
    }
    static Bench b;
    b.o = &o;
    b.rng.s = 7;
    int err = load_buffer(&b.m, "bench-gpu", buf, size);
    free(buf);
    if (err < 0)
        return fail("loading the benchmark model", err);
    nuwa_model_vae_info(b.m, &b.vi);
    nuwa_model_transformer_info(b.m, &b.ti);
    b.S = b.vi.image_size, b.T = b.vi.tokens_per_frame;
    if (b.T > 1024)
        return 1;
    for (int i = 0; i < CTX_FRAMES * b.T; i++)
        b.ctx[i] = (int32_t)(trng_next(&b.rng) % (uint64_t)b.vi.codebook_size);
    for (int i = 0; i < 12; i++)
        b.text[i] = 1 + (int32_t)(trng_next(&b.rng) % (uint64_t)(b.ti.text_num_tokens - 1));
    fprintf(stderr, "bench_gpu: model of %.1f MB built and loaded in %.1f s; device %s\n", size / 1e6,
            now_s() - t_start, o.device);

    NuwaSession *s = NULL;
    const double t0 = now_s();
    if ((err = make_session(&s, b.m, &o)) < 0) {
        fprintf(stderr, "bench_gpu: device '%s': ", o.device);
        nuwa_model_unref(&b.m);
        return fail("nuwa_session_create", err) + (err == NUWA_ERR_UNSUPPORTED);
    }
    fprintf(stderr, "bench_gpu: session created in %.2f s (weights uploaded once per model and device)\n",
            now_s() - t0);
    /* shares of the budget: VQGAN 15%, one stream 35%, streams the rest */
    report(&b, 0);
    double t = now_s();
    r = bench_vqgan(&b, s, t + 0.15 * o.budget);
    if (!r) {
        report(&b, 1);
        fprintf(stderr, "bench_gpu: VQGAN done (%.1f s)\n", now_s() - t_start);
        t = now_s();
        r = bench_next_frame(&b, s, t + 0.35 * o.budget);
    }
    nuwa_session_destroy(&s);
    if (!r) {
        report(&b, 2);
        fprintf(stderr, "bench_gpu: next frame done (%.1f s)\n", now_s() - t_start);
        t = now_s();
        r = bench_streams(&b, t + 0.5 * o.budget);
    }
    if (!r) {
        report(&b, 3);
        fprintf(stderr, "bench_gpu: streams done (%.1f s)\n", now_s() - t_start);
    }
    nuwa_model_unref(&b.m);
    return r ? 1 : 0;
}
