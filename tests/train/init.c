/*
 * tests/train/init.c — a new transformer from a JSON config (nw_train_init_model,
 * libnuwa/traininit.c): the file it writes loads with the config's hyperparameters (defaults,
 * kernel and dilation forms), the VQGAN and tokenizer are the source's, every tensor follows
 * PyTorch's initialisation of its module (ones/zeros, the rotary table, uniform within
 * 1/sqrt(fan_in) with the uniform's spread, standard normals), the file depends only on the seed;
 * and bad configs fail naming the file, line and key.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "internal.h"
#include "trainloop.h"
#include "transformer.h"

#include "loop_util.h"

typedef struct Env {
    char dir[512], model[640], cfg[640], out[640];
} Env;

static void env_init(Env *e, const char *tag)
{
    loop_tmp_path(e->dir, sizeof(e->dir), tag);
    snprintf(e->model, sizeof(e->model), "%s/model.gguf", e->dir);
    snprintf(e->cfg, sizeof(e->cfg), "%s/nuwa.json", e->dir);
    snprintf(e->out, sizeof(e->out), "%s/new.gguf", e->dir);
    loop_make_tok_model(e->model);
}

static void env_free(Env *e)
{
    loop_rm_tree(e->dir);
}

static void write_cfg(const Env *e, const char *json)
{
    FILE *f = fopen(e->cfg, "w");
    cr_assert_not_null(f);
    fputs(json, f);
    fclose(f);
}

static int init(const Env *e, uint64_t seed, const char *out, int64_t *np)
{
    NwLog log = loop_log();
    return nw_train_init_model(e->cfg, e->model, seed, out, np, &log);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n ? *n : 1);
    cr_assert_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static const float *f32(const NwGguf *g, const char *name, int64_t *n)
{
    const NwGgufTensor *t = nw_gguf_find_tensor(g, name);
    cr_assert_not_null(t, "%s missing", name);
    cr_assert_eq(t->type, NW_TYPE_F32, "%s", name);
    *n = (int64_t)t->n_elems;
    return t->data;
}

static void moments(const float *x, int64_t n, double *mean, double *sd, double *amax)
{
    double s = 0, s2 = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
        m = fmax(m, fabs(x[i]));
    }
    *mean = s / n;
    *sd = sqrt(fmax(s2 / n - *mean * *mean, 0));
    *amax = m;
}

/* A uniform in +-bound: everything inside, the spread of U(-b, b) (sd b/sqrt 3), and the ends
 * reached. n >= 256 here, so 15 % on sd is > 5 standard errors. */
static void expect_uniform(const NwGguf *g, const char *name, double bound)
{
    int64_t n;
    const float *x = f32(g, name, &n);
    double mean, sd, amax;
    moments(x, n, &mean, &sd, &amax);
    cr_expect(amax <= bound * (1 + 1e-6) && amax > 0.9 * bound, "%s: max |x| %g, bound %g", name, amax, bound);
    cr_expect(fabs(sd - bound / sqrt(3.0)) < 0.15 * bound / sqrt(3.0), "%s: sd %g, want %g", name, sd,
              bound / sqrt(3.0));
}

static void expect_normal(const NwGguf *g, const char *name)
{
    int64_t n;
    const float *x = f32(g, name, &n);
    double mean, sd, amax;
    moments(x, n, &mean, &sd, &amax);
    const double se = 1 / sqrt((double)n);
    cr_expect(fabs(mean) < 5 * se && fabs(sd - 1) < 5 * se + 0.02 && amax > 1.5, "%s: mean %g sd %g max %g (n %lld)",
              name, mean, sd, amax, (long long)n);
}

static void expect_const(const NwGguf *g, const char *name, float v)
{
    int64_t n;
    const float *x = f32(g, name, &n);
    for (int64_t i = 0; i < n; i++)
        cr_expect_eq(x[i], v, "%s[%lld] = %g", name, (long long)i, x[i]);
}

Test(train_init, config_to_model)
{
    Env e;
    env_init(&e, "init");
    /* every form: defaults (text_enc_heads, ...), a kernel list, a dilation cycle, keys that are
     * ignored (vae, dropouts), null = default */
    write_cfg(&e, "{\n"
                  "  \"dim\": 32, \"max_video_frames\": 2, \"text_num_tokens\": 516,\n"
                  "  \"text_max_seq_len\": 8, \"text_enc_depth\": 1, \"text_enc_dim_head\": 16,\n"
                  "  \"dec_depth\": 2, \"dec_heads\": 2, \"dec_dim_head\": 16,\n"
                  "  \"sparse_3dna_kernel_size\": [3, 5, 3], \"sparse_3dna_dilation\": [1, 2],\n"
                  "  \"sparse_3dna_rel_pos_bias\": true, \"text_rotary_pos_emb\": null,\n"
                  "  \"vae\": {\"dim\": 8, \"layer_mults\": [1, 2]}, \"attn_dropout\": 0.1, \"ff_chunk_size\": null\n"
                  "}\n");
    int64_t np = 0;
    cr_assert_eq(init(&e, 7, e.out, &np), 0, "%s", g_loop_log);
    cr_expect(!strstr(g_loop_log, "ignoring"), "no key ignored with a warning: %s", g_loop_log);

    NwGguf *g;
    NwNuwa m;
    loop_load_plan(e.out, &g, &m);
    cr_expect_eq(m.dim, 32);
    cr_expect_eq(m.max_frames, 2);
    cr_expect_eq(m.text_vocab, 516);
    cr_expect_eq(m.enc_heads, 8, "nuwa-pytorch's default text_enc_heads");
    cr_expect_eq(m.enc_dh, 16);
    cr_expect_eq(m.rotary, 1, "null takes the default (rotary)");
    cr_expect_eq(m.shift, 1);
    cr_expect(m.kernel[0] == 3 && m.kernel[1] == 5 && m.kernel[2] == 3);
    cr_expect(m.n_dil == 2 && m.dil[0] == 1 && m.dil[1] == 2);
    cr_expect_eq(m.rel_bias, 1);

    /* the source's VQGAN and tokenizer, byte for byte */
    NwGguf *src;
    char err[512];
    cr_assert_eq(nw_gguf_open(&src, e.model, err, sizeof(err)), 0, "%s", err);
    int n_vae = 0;
    for (uint64_t i = 0; i < src->n_tensors; i++) {
        const NwGgufTensor *t = &src->tensors[i];
        if (strncmp(t->name, "vae.", 4))
            continue;
        const NwGgufTensor *u = nw_gguf_find_tensor(g, t->name);
        cr_assert_not_null(u, "%s", t->name);
        cr_expect(u->type == t->type && u->size == t->size && !memcmp(u->data, t->data, t->size), "%s",
                  t->name);
        n_vae++;
    }
    cr_expect_gt(n_vae, 4);
    cr_expect_not_null(nw_gguf_find_kv(g, "nuwa.tokenizer.merges"));
    nw_gguf_close(&src);

    /* PyTorch's initialisation, module by module */
    expect_const(g, "text_transformer.layers.0.0.prenorm.weight", 1.0f);
    expect_const(g, "video_transformer.layers.1.2.postnorm.bias", 0.0f);
    expect_const(g, "video_transformer.norm.norm.weight", 1.0f);
    int64_t n;
    const float *inv = f32(g, "text_rotary_pos_emb.inv_freq", &n);
    cr_assert_eq(n, 8);
    for (int i = 0; i < 8; i++)
        cr_expect_float_eq(inv[i], (float)(1.0 / pow(10000.0, 2.0 * i / 16.0)), 1e-6f, "inv_freq[%d]", i);
    expect_uniform(g, "to_logits.weight", 1 / sqrt(32.0));
    expect_uniform(g, "video_transformer.layers.0.2.fn.fn.net.3.weight", 1 / sqrt((double)m.ff_inner));
    expect_uniform(g, "video_transformer.layers.0.0.fn.fn.to_out.weight", 1 / sqrt(32.0));
    expect_uniform(g, "text_transformer.layers.0.0.fn.to_kv.weight", 1 / sqrt(32.0));
    /* a Linear's bias: the fan-in of its weight (inner = 2 x 16), not its own length */
    int64_t nb;
    const float *b = f32(g, "video_transformer.layers.1.0.fn.fn.to_out.bias", &nb);
    double mean, sd, amax;
    moments(b, nb, &mean, &sd, &amax);
    cr_expect(amax <= 1 / sqrt(32.0) + 1e-7 && amax > 0.1, "to_out.bias max %g", amax);
    /* talking heads: Conv2d(h, h, 1): fan-in h */
    const float *th = f32(g, "video_transformer.layers.0.0.fn.fn.talking_heads.weight", &n);
    for (int i = 0; i < n; i++)
        cr_expect(fabsf(th[i]) <= 1 / sqrtf(2.0f) + 1e-7f);
    expect_normal(g, "text_embedding.embed.weight");
    expect_normal(g, "image_embedding.embed.weight");
    const float *bos = f32(g, "video_bos", &n);
    moments(bos, n, &mean, &sd, &amax);
    cr_expect(sd > 0.5 && sd < 1.6, "video_bos sd %g", sd);
    cr_expect_not_null(nw_gguf_find_tensor(g, "video_pos_emb.axial2"));
    cr_expect_not_null(nw_gguf_find_tensor(g, "video_transformer.layers.0.1.fn.null_k"));

    /* the count of trainable values: every tensor but the rotary table */
    int64_t total = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (strncmp(g->tensors[i].name, "vae.", 4) && !strstr(g->tensors[i].name, "inv_freq"))
            total += (int64_t)g->tensors[i].n_elems;
    cr_expect_eq(np, total);
    nw_nuwa_free(&m);
    nw_gguf_close(&g);

    /* the seed alone decides the file */
    char again[800], other[800];
    snprintf(again, sizeof(again), "%s/again.gguf", e.dir);
    snprintf(other, sizeof(other), "%s/other.gguf", e.dir);
    cr_assert_eq(init(&e, 7, again, NULL), 0, "%s", g_loop_log);
    cr_assert_eq(init(&e, 8, other, NULL), 0, "%s", g_loop_log);
    size_t na, nb2, nc;
    uint8_t *a = slurp(e.out, &na), *a2 = slurp(again, &nb2), *c = slurp(other, &nc);
    cr_expect(na == nb2 && !memcmp(a, a2, na), "same seed, same file");
    cr_expect(na == nc && memcmp(a, c, na), "another seed, other weights");
    free(a);
    free(a2);
    free(c);
    env_free(&e);
}

/* A bad config: the call fails with `want`, the log names each of `needles`. */
static void bad(Env *e, const char *json, int want, const char *n1, const char *n2)
{
    write_cfg(e, json);
    const int r = init(e, 1, e->out, NULL);
    cr_expect_eq(r, want, "config %s: got %d, log %s", json, r, g_loop_log);
    if (n1)
        cr_expect(strstr(g_loop_log, n1) != NULL, "%s: log lacks '%s': %s", json, n1, g_loop_log);
    if (n2)
        cr_expect(strstr(g_loop_log, n2) != NULL, "%s: log lacks '%s': %s", json, n2, g_loop_log);
    cr_expect_neq(access(e->out, F_OK), 0, "no file after a failure");
}

Test(train_init, bad_configs)
{
    Env e;
    env_init(&e, "initbad");
    const int I = NUWA_ERR_INVAL;
    bad(&e, "{\"max_video_frames\": 2}", I, "\"dim\" is required", "nuwa.json");
    bad(&e, "{\"dim\": 32,\n \"dec_depth\": 2,,}", I, "nuwa.json:2", NULL);
    bad(&e, "{\"dim\": \"big\"}", I, "\"dim\" must be a positive integer", NULL);
    bad(&e, "{\"dim\": 32.5}", I, "\"dim\"", NULL);
    bad(&e, "{\"dim\": -4}", I, "\"dim\"", NULL);
    bad(&e, "{\"dim\": 32, \"dec_reversible\": 1}", I, "\"dec_reversible\" must be true or false", NULL);
    bad(&e, "{\"dim\": 32, \"sparse_3dna_kernel_size\": [3, 3]}", I, "sparse_3dna_kernel_size", NULL);
    bad(&e, "{\"dim\": 32, \"sparse_3dna_dilation\": []}", I, "sparse_3dna_dilation", NULL);
    bad(&e, "{\"dim\": 32, \"dim\": 64}", I, "given twice", NULL);
    bad(&e, "[1, 2]", I, "JSON object", NULL);
    bad(&e, "{\"dim\": 32, \"vae\": \"a\\qb\"}", I, "bad escape", NULL);
    bad(&e, "{\"\\u00zzim\": 32}", I, "bad \\u escape", NULL);
    bad(&e, "{\"dim\": 32} x", I, "after the config", NULL);
    bad(&e, "{\"dim\": 32, \"vae\": {\"a\": [1, {\"b\": \"unterminated}", I, "unterminated", NULL);
    /* even kernel sizes: the loader's own check of the hyperparameters */
    bad(&e, "{\"dim\": 32, \"max_video_frames\": 2, \"text_num_tokens\": 516, \"text_max_seq_len\": 8,"
            " \"sparse_3dna_kernel_size\": 4}",
        I, "kernel", NULL);
    /* a missing config file */
    NwLog log = loop_log();
    cr_expect_eq(nw_train_init_model("/nonexistent/c.json", e.model, 1, e.out, NULL, &log), NUWA_ERR_IO);
    cr_expect(strstr(g_loop_log, "/nonexistent/c.json") != NULL, "%s", g_loop_log);

    /* an escaped key is the key it spells */
    write_cfg(&e, "{\"\\u0064im\": 32, \"max_video_frames\": 2, \"text_num_tokens\": 516, \"text_max_seq_len\": 8,"
                  " \"text_enc_depth\": 1, \"dec_depth\": 1, \"dec_heads\": 2, \"dec_dim_head\": 16}");
    cr_expect_eq(init(&e, 1, e.out, NULL), 0, "%s", g_loop_log);
    unlink(e.out);

    /* a misspelt key is a warning naming it (the run goes on with the default) */
    write_cfg(&e, "{\"dim\": 32, \"max_video_frames\": 2, \"text_num_tokens\": 516, \"text_max_seq_len\": 8,\n"
                  " \"text_enc_depth\": 1, \"dec_depth\": 1, \"dec_heads\": 2, \"dec_dim_heads\": 16}");
    cr_expect_eq(init(&e, 1, e.out, NULL), 0, "%s", g_loop_log);
    cr_expect(strstr(g_loop_log, "nuwa.json:2: ignoring \"dec_dim_heads\"") != NULL, "%s", g_loop_log);
    unlink(e.out);

    /* a model file without a tokenizer: the captions could not be read */
    char fx[1024];
    loop_fixture_path(fx, sizeof(fx), "nuwa_n1.gguf");
    log = loop_log();
    cr_expect_eq(nw_train_init_model(e.cfg, fx, 1, e.out, NULL, &log), NUWA_ERR_UNSUPPORTED);
    cr_expect(strstr(g_loop_log, "tokenizer") != NULL, "%s", g_loop_log);
    env_free(&e);
}
