/*
 * tests/train/loop_data.c — the training data of trainloop.h on tiny synthetic clips written
 * here: both layouts load, tokens equal the public API's (nuwa_vae_encode, nuwa_tokenize), the
 * cache is reused until the data changes, batches are deterministic windows of the clips, and
 * each kind of bad data fails with a message naming the file (and line) and what is wrong.
 *
 * The model is tests/fixtures/nuwa_n1.gguf (16x16 frames, 2-frame window, 8 text tokens) with a
 * tiny BPE tokenizer added and its text embedding widened to 516 rows, so that byte-level ids
 * fit but the merges "red" (513) fits and "blue" (516) does not: an unknown word.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "internal.h"
#include "testutil.h"
#include "trainloop.h"

#include "loop_util.h"

#define TEXT_VOCAB 516

static const char *const merges[] = {"r e", "re d</w>", "b l", "bl u", "blu e</w>"};

typedef struct Env {
    char dir[512];
    char model[640];
} Env;

/* nuwa_n1 + tokenizer + a text embedding of TEXT_VOCAB rows (also used by tests/train/steps.c). */
void loop_make_tok_model(const char *path)
{
    char fx[1024], err[512];
    NwGguf *g;
    loop_fixture_path(fx, sizeof(fx), "nuwa_n1.gguf");
    cr_assert_eq(nw_gguf_open(&g, fx, err, sizeof(err)), 0, "%s", err);
    NwGgufWriter *w = nw_gguf_writer_new();
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const NwGgufKV *kv = &g->kv[i];
        if (!strncmp(kv->key, "test.", 5))
            continue;
        if (!strcmp(kv->key, "nuwa.text_num_tokens"))
            cr_assert_eq(nw_gguf_writer_add_u32(w, kv->key, TEXT_VOCAB), 0);
        else
            cr_assert_eq(nw_gguf_writer_copy_kv(w, kv), 0, "%s", kv->key);
    }
    cr_assert_eq(nw_gguf_writer_add_str(w, "nuwa.tokenizer.model", "clip-bpe"), 0);
    cr_assert_eq(nw_gguf_writer_add_array(w, "nuwa.tokenizer.merges", NW_GGUF_STRING, merges, 5), 0);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const NwGgufTensor *t = &g->tensors[i];
        if (!strncmp(t->name, "test.", 5))
            continue;
        if (!strcmp(t->name, "text_embedding.embed.weight")) {
            const int64_t shape[2] = {TEXT_VOCAB, t->shape[1]};
            float *x = malloc((size_t)TEXT_VOCAB * t->shape[1] * sizeof(float));
            TRng r = {5};
            fill_normal(&r, x, (size_t)TEXT_VOCAB * t->shape[1], 1.f);
            cr_assert_eq(nw_gguf_writer_add_tensor(w, t->name, NW_TYPE_F32, 2, shape, x), 0);
            free(x);
        } else {
            cr_assert_eq(nw_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->shape, t->data), 0);
        }
    }
    NwLog log = loop_log();
    cr_assert_eq(nw_gguf_writer_save_atomic(w, path, &log), 0, "%s", g_loop_log);
    nw_gguf_writer_free(&w);
    nw_gguf_close(&g);
}

static void env_init(Env *e, const char *tag)
{
    loop_tmp_path(e->dir, sizeof(e->dir), tag);
    snprintf(e->model, sizeof(e->model), "%s/model.gguf", e->dir);
    loop_make_tok_model(e->model);
}

static void env_free(Env *e)
{
    loop_rm_tree(e->dir);
}

static void write_file(const char *dir, const char *name, const void *data, size_t n)
{
    char path[900];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void write_str(const char *dir, const char *name, const char *s)
{
    write_file(dir, name, s, strlen(s));
}

#define FB (16 * 16 * 3)

/* n_frames random frames (smooth enough that the VQGAN sees varied content) */
static uint8_t *frames_rgb(int n, uint64_t seed)
{
    uint8_t *b = malloc((size_t)n * FB);
    TRng r = {seed};
    for (size_t k = 0; k < (size_t)n * FB; k++)
        b[k] = (uint8_t)(trng_next(&r) >> 56);
    return b;
}

static void write_clip(const char *dir, const char *name, int n, uint64_t seed)
{
    uint8_t *b = frames_rgb(n, seed);
    write_file(dir, name, b, (size_t)n * FB);
    free(b);
}

/* What the public API gives for these frames / caption. */
static void api_tokens(const char *model, const uint8_t *rgb, int n, int32_t *tok)
{
    NuwaModel *m = NULL;
    NuwaSession *s = NULL;
    cr_assert_eq(nuwa_model_load(&m, model, NULL), 0);
    cr_assert_eq(nuwa_session_create(&s, m, NULL), 0);
    NuwaFrame *f = calloc((size_t)n, sizeof(*f));
    for (int k = 0; k < n; k++) {
        NuwaFrame x = {NUWA_FRAME_RGB24, 16, 16, 3, (void *)(rgb + (size_t)k * FB), 48, 0};
        f[k] = x;
    }
    cr_assert_eq(nuwa_vae_encode(s, f, n, tok), 0);
    free(f);
    nuwa_session_destroy(&s);
    nuwa_model_unref(&m);
}

static void api_text(const char *model, const char *caption, int32_t *ids /* [8] */)
{
    NuwaModel *m = NULL;
    int n = 0;
    cr_assert_eq(nuwa_model_load(&m, model, NULL), 0);
    memset(ids, 0, 8 * sizeof(int32_t));
    cr_assert_eq(nuwa_tokenize(m, caption, ids, 8, &n), 0);
    nuwa_model_unref(&m);
}

static NwDataset *open_ok(const Env *e, const char *path, int threads)
{
    NwDataset *ds = NULL;
    NwDataParams p;
    nw_data_params_default(&p);
    p.n_threads = threads;
    NwLog log = loop_log();
    cr_assert_eq(nw_data_open(&ds, path, e->model, &p, &log), 0, "%s", g_loop_log);
    return ds;
}

/* The error and its message. */
static void open_bad(const Env *e, const char *path, int want, const char *s1, const char *s2)
{
    NwDataset *ds = NULL;
    NwLog log = loop_log();
    cr_expect_eq(nw_data_open(&ds, path, e->model, NULL, &log), want, "log: %s", g_loop_log);
    cr_expect_null(ds);
    cr_expect(strstr(g_loop_log, s1) != NULL, "'%s' not in: %s", s1, g_loop_log);
    cr_expect(!s2 || strstr(g_loop_log, s2) != NULL, "'%s' not in: %s", s2, g_loop_log);
}

/* A directory of ffmpeg-style .rgb clips + captions.tsv: tokens, text, cache, batches. */
Test(train_loop, data_rgb_dir)
{
    Env e;
    env_init(&e, "data");
    write_clip(e.dir, "a.rgb", 3, 1);
    write_clip(e.dir, "b.rgb", 2, 2);
    write_str(e.dir, "captions.tsv", "# file\tcaption\na.rgb\tred green\n\nb.rgb\tred\n");

    NwDataset *ds = open_ok(&e, e.dir, 1);
    NwDataInfo info;
    nw_data_info(ds, &info);
    cr_expect_eq(info.clips, 2);
    cr_expect_eq(info.frames, 5);
    cr_expect_eq(info.max_frames, 2);
    cr_expect_eq(info.tokens_per_frame, 16);
    cr_expect_eq(info.text_len, 8);
    cr_expect_eq(info.from_cache, 0);

    /* expected tokens per clip, through the public API */
    int32_t ta[3 * 16], tb[2 * 16], xa[8], xb[8];
    uint8_t *ra = frames_rgb(3, 1), *rb = frames_rgb(2, 2);
    api_tokens(e.model, ra, 3, ta);
    api_tokens(e.model, rb, 2, tb);
    api_text(e.model, "red green", xa);
    api_text(e.model, "red", xb);
    cr_expect_eq(xa[0], 513, "the merge 're d</w>'");
    free(ra);
    free(rb);

    /* batches: every item is a window of a clip with its caption; all windows appear */
    NwDataRng rng = {42, 0};
    int32_t text[4 * 8], video[4 * 32];
    int seen[3] = {0, 0, 0}; /* a@0, a@1, b@0 */
    for (int k = 0; k < 20; k++) {
        cr_assert_eq(nw_data_batch(ds, &rng, 4, text, video), 0);
        for (int b = 0; b < 4; b++) {
            const int32_t *v = video + b * 32, *t = text + b * 8;
            if (!memcmp(t, xb, sizeof(xb))) {
                cr_expect(!memcmp(v, tb, 32 * sizeof(int32_t)), "clip b window");
                seen[2]++;
            } else {
                cr_expect(!memcmp(t, xa, sizeof(xa)), "caption of a");
                const int s = !memcmp(v, ta, 32 * sizeof(int32_t)) ? 0 : !memcmp(v, ta + 16, 32 * sizeof(int32_t)) ? 1 : -1;
                cr_expect_neq(s, -1, "clip a window");
                if (s >= 0)
                    seen[s]++;
            }
        }
    }
    cr_expect_eq(rng.counter, 20);
    cr_expect(seen[0] && seen[1] && seen[2], "windows seen %d %d %d", seen[0], seen[1], seen[2]);

    /* deterministic: (seed, counter) decides; the second open (from the cache, 2 threads) agrees */
    NwDataset *ds2 = open_ok(&e, e.dir, 2);
    nw_data_info(ds2, &info);
    cr_expect_eq(info.from_cache, 1, "second open reads the cache");
    NwDataRng r1 = {7, 5}, r2 = {7, 5};
    int32_t t1[3 * 8], v1[3 * 32], t2[3 * 8], v2[3 * 32];
    for (int k = 0; k < 5; k++) {
        cr_assert_eq(nw_data_batch(ds, &r1, 3, t1, v1), 0);
        cr_assert_eq(nw_data_batch(ds2, &r2, 3, t2, v2), 0);
        cr_expect(!memcmp(t1, t2, sizeof(t1)) && !memcmp(v1, v2, sizeof(v1)), "batch %d differs", k);
    }
    nw_data_close(&ds2);
    /* the same directory spelt another way ("DIR/." ): still the cache */
    char other[700];
    snprintf(other, sizeof(other), "%s/.", e.dir);
    ds2 = open_ok(&e, other, 1);
    nw_data_info(ds2, &info);
    cr_expect_eq(info.from_cache, 1, "the cache of %s is not found through %s", e.dir, other);
    nw_data_close(&ds2);

    /* changed data: the cache is not reused, and the new tokens are the new clip's */
    write_clip(e.dir, "b.rgb", 2, 3);
    ds2 = open_ok(&e, e.dir, 1);
    nw_data_info(ds2, &info);
    cr_expect_eq(info.from_cache, 0, "stale cache reused");
    rb = frames_rgb(2, 3);
    api_tokens(e.model, rb, 2, tb);
    free(rb);
    NwDataRng r3 = {1, 0};
    int found = 0;
    for (int k = 0; k < 10 && !found; k++) {
        cr_assert_eq(nw_data_batch(ds2, &r3, 4, text, video), 0);
        for (int b = 0; b < 4; b++)
            if (!memcmp(text + b * 8, xb, sizeof(xb))) {
                cr_expect(!memcmp(video + b * 32, tb, sizeof(tb)));
                found = 1;
            }
    }
    cr_expect(found);
    nw_data_close(&ds2);
    nw_data_close(&ds);
    env_free(&e);
}

/* The make_shapes.py layout; a list file (.tsv) with paths relative to it. */
Test(train_loop, data_shapes_and_list)
{
    Env e;
    env_init(&e, "shapes");
    char sub[700], list[800];
    snprintf(sub, sizeof(sub), "%s/shapes", e.dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    uint8_t *rgb = frames_rgb(3 * 4, 11); /* 3 clips x 4 frames */
    write_file(sub, "clips.rgb", rgb, (size_t)12 * FB);
    write_str(sub, "clips.tsv",
              "index\tcaption\tcolour\n0\tred\tred\n1\tgreen\tgreen\n2\tred red\tred\n");
    write_str(sub, "info.json", "{\n \"split\": \"train\",\n \"count\": 3,\n \"frames\": 4,\n \"size\": 16\n}\n");
    NwDataset *ds = open_ok(&e, sub, 1);
    NwDataInfo info;
    nw_data_info(ds, &info);
    cr_expect_eq(info.clips, 3);
    cr_expect_eq(info.frames, 12);
    int32_t all[12 * 16], xg[8];
    api_tokens(e.model, rgb, 12, all);
    api_text(e.model, "green", xg);
    NwDataRng rng = {3, 0};
    int32_t text[8 * 8], video[8 * 32];
    int got_green = 0;
    for (int k = 0; k < 10; k++) {
        cr_assert_eq(nw_data_batch(ds, &rng, 8, text, video), 0);
        for (int b = 0; b < 8; b++) {
            /* the window is frames [4c + s, 4c + s + 2) for some clip c and s <= 2 */
            int ok = 0;
            for (int f = 0; f < 12 && !ok; f++)
                ok = f % 4 <= 2 && !memcmp(video + b * 32, all + f * 16, 32 * sizeof(int32_t));
            cr_expect(ok, "batch %d item %d is not a window of a clip", k, b);
            if (!memcmp(text + b * 8, xg, sizeof(xg))) {
                got_green = 1;
                cr_expect(!memcmp(video + b * 32, all + 4 * 16, 16 * sizeof(int32_t)) ||
                          !memcmp(video + b * 32, all + 5 * 16, 16 * sizeof(int32_t)) ||
                          !memcmp(video + b * 32, all + 6 * 16, 16 * sizeof(int32_t)), "green is clip 1");
            }
        }
    }
    cr_expect(got_green);
    nw_data_close(&ds);

    /* a list file elsewhere, naming clips relative to its directory */
    write_clip(e.dir, "c.rgb", 2, 21);
    snprintf(list, sizeof(list), "%s/train.tsv", e.dir);
    write_str(e.dir, "train.tsv", "c.rgb\tgreen red\n");
    ds = open_ok(&e, list, 1);
    nw_data_info(ds, &info);
    cr_expect_eq(info.clips, 1);
    nw_data_close(&ds);
    char cache[900];
    snprintf(cache, sizeof(cache), "%s.tokens.gguf", list);
    cr_expect_eq(access(cache, F_OK), 0, "the list's cache is next to it");
    free(rgb);
    env_free(&e);
}

Test(train_loop, data_errors)
{
    Env e;
    env_init(&e, "bad");
    char d[700], path[800];
#define SUBDIR(name)                                                  \
    do {                                                              \
        snprintf(d, sizeof(d), "%s/%s", e.dir, name);                 \
        cr_assert_eq(mkdir(d, 0755), 0);                              \
    } while (0)

    /* not a whole number of frames */
    SUBDIR("size");
    write_clip(d, "a.rgb", 2, 1);
    uint8_t *odd = frames_rgb(3, 1);
    write_file(d, "b.rgb", odd, 2 * FB + 100);
    write_str(d, "captions.tsv", "a.rgb\tred\nb.rgb\tred\n");
    open_bad(&e, d, NUWA_ERR_INVAL, "b.rgb", "not a whole number of 16x16 rgb24 frames");

    /* too few frames for the window */
    SUBDIR("short");
    write_clip(d, "a.rgb", 1, 1);
    write_str(d, "captions.tsv", "a.rgb\tred\n");
    open_bad(&e, d, NUWA_ERR_INVAL, "a.rgb: 1 frames", "at least 2");

    /* missing clip */
    SUBDIR("missing");
    write_str(d, "captions.tsv", "a.rgb\tred\nnope.rgb\tred\n");
    write_clip(d, "a.rgb", 2, 1);
    open_bad(&e, d, NUWA_ERR_IO, "captions.tsv:2", "nope.rgb");

    /* a line without a caption */
    SUBDIR("notab");
    write_clip(d, "a.rgb", 2, 1);
    write_str(d, "captions.tsv", "a.rgb red\n");
    open_bad(&e, d, NUWA_ERR_INVAL, "captions.tsv:1", "FILE<TAB>caption");

    /* a word outside the text vocabulary: the file, line and word are named */
    SUBDIR("unknown");
    write_clip(d, "a.rgb", 2, 1);
    write_clip(d, "b.rgb", 2, 2);
    write_str(d, "captions.tsv", "a.rgb\tred\n\nb.rgb\tred blue\n");
    open_bad(&e, d, NUWA_ERR_INVAL, "captions.tsv:3", "the word 'blue'");

    /* too long: 3 x 4 tokens > 8 ("green" = g re e n</w>) */
    SUBDIR("long");
    write_clip(d, "a.rgb", 2, 1);
    write_str(d, "captions.tsv", "a.rgb\tgreen green green\n");
    open_bad(&e, d, NUWA_ERR_INVAL, "captions.tsv:1", "is 12 text tokens, the model takes at most 8");
    /* ... unless truncating, as the reference's truncate_text=True */
    {
        NwDataset *ds = NULL;
        NwDataParams p;
        nw_data_params_default(&p);
        p.truncate_text = 1;
        NwLog log = loop_log();
        cr_expect_eq(nw_data_open(&ds, d, e.model, &p, &log), 0, "%s", g_loop_log);
        nw_data_close(&ds);
    }

    /* neither layout */
    SUBDIR("empty");
    open_bad(&e, d, NUWA_ERR_INVAL, "neither clips.rgb", NULL);

    /* shapes: frames of another size, and a clips.rgb that does not match the table */
    SUBDIR("shapes64");
    write_file(d, "clips.rgb", odd, 2 * FB);
    write_str(d, "clips.tsv", "index\tcaption\n0\tred\n");
    write_str(d, "info.json", "{\"count\": 1, \"frames\": 2, \"size\": 64}");
    open_bad(&e, d, NUWA_ERR_INVAL, "info.json", "the clips are 64x64, the model takes 16x16");
    SUBDIR("shapes_trunc");
    write_file(d, "clips.rgb", odd, 2 * FB);
    write_str(d, "clips.tsv", "index\tcaption\n0\tred\n1\tred\n");
    write_str(d, "info.json", "{\"count\": 2, \"frames\": 2, \"size\": 16}");
    open_bad(&e, d, NUWA_ERR_INVAL, "clips.rgb", "is not 2 clips");

    /* a model without tokenizer */
    {
        NwDataset *ds = NULL;
        char fx[1024];
        loop_fixture_path(fx, sizeof(fx), "nuwa_n1.gguf");
        snprintf(path, sizeof(path), "%s/size", e.dir);
        NwLog log = loop_log();
        cr_expect_eq(nw_data_open(&ds, path, fx, NULL, &log), NUWA_ERR_UNSUPPORTED);
        cr_expect(strstr(g_loop_log, "tokenizer") != NULL, "%s", g_loop_log);
    }
    free(odd);
    env_free(&e);
#undef SUBDIR
}
