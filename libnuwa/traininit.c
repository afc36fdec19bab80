/*
 * traininit.c — a new transformer for `nuwa train --config`: the NUWA keyword arguments of a JSON
 * config (the file tools/convert.py --config reads), initialised as PyTorch initialises
 * nuwa-pytorch's modules (docs/TRAINING.md §6c), written with the VQGAN and the tokenizer of an
 * existing model file into a new model file.
 *
 * The config is a JSON object; only the NUWA arguments that shape the transformer are read,
 * with nuwa-pytorch's defaults for the missing ones:
 *   dim (required), max_video_frames, text_num_tokens, text_max_seq_len, text_enc_depth,
 *   text_enc_heads, text_enc_dim_head, text_rotary_pos_emb, enc_reversible, dec_depth,
 *   dec_heads, dec_dim_head, dec_reversible, shift_video_tokens, sparse_3dna_kernel_size
 *   (k or [kf, kh, kw]), sparse_3dna_dilation (D = the cycle 1..D, or the cycle as a list),
 *   sparse_3dna_rel_pos_bias.
 * "vae" (the VQGAN's arguments: the VQGAN comes from the model file) and the arguments that only
 * matter to the reference's training (dropouts, chunk sizes, ...) are accepted and ignored; any
 * other key is a warning (a misspelt key would otherwise silently take the default).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trainloop.h"
#include "vqgan.h"

/* ---- a small JSON reader: the values a NUWA config holds ------------------------------------ */

#define CFG_MAX_BYTES (1 << 20)
#define CFG_MAX_LIST 16
#define CFG_MAX_DEPTH 16

typedef struct Json {
    const char *text, *s, *end, *path;
    const NwLog *log;
    int err;
} Json;

/* A config value: an integer (or a whole number written as a float), a boolean, null, a list of
 * integers, or something this reader skips (strings, objects, other lists). */
typedef struct CfgVal {
    enum { V_NUM, V_BOOL, V_NULL, V_LIST, V_OTHER } kind;
    double num;
    int n;
    double list[CFG_MAX_LIST];
} CfgVal;

static int json_line(const Json *j, const char *at)
{
    int line = 1;
    for (const char *p = j->text; p < at && p < j->end; p++)
        line += *p == '\n';
    return line;
}

static void json_fail(Json *j, const char *at, const char *what)
{
    if (!j->err)
        nw_log(j->log, NUWA_LOG_ERROR, "%s:%d: bad config: %s\n", j->path, json_line(j, at), what);
    j->err = NUWA_ERR_INVAL;
}

static void ws(Json *j)
{
    while (j->s < j->end && isspace((unsigned char)*j->s))
        j->s++;
}

static int json_string(Json *j, char *dst, size_t cap)
{
    const char *at = j->s;
    size_t n = 0;
    if (j->s >= j->end || *j->s != '"') {
        json_fail(j, at, "expected a string");
        return -1;
    }
    j->s++;
    while (j->s < j->end && *j->s != '"') {
        char c = *j->s++;
        if (c == '\\') {
            if (j->s >= j->end)
                break;
            c = *j->s++;
            if (c == 'u') {
                /* \uXXXX: ASCII code points are decoded ("\u0064im" is "dim"); every key we
                 * read is ASCII, so another code point only needs to keep the key from matching
                 * (it is then reported as unknown, by name) */
                unsigned cp = 0;
                for (int k = 0; k < 4; k++) {
                    const char h = j->s < j->end ? *j->s++ : 0;
                    if (!isxdigit((unsigned char)h)) {
                        json_fail(j, at, "bad \\u escape in a string");
                        return -1;
                    }
                    cp = cp * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower(h) - 'a' + 10));
                }
                c = cp < 0x80 ? (char)cp : '?';
            } else if (strchr("bfnrt", c)) {
                c = "\b\f\n\r\t"[strchr("bfnrt", c) - "bfnrt"];
            } else if (c != '"' && c != '\\' && c != '/') {
                json_fail(j, at, "bad escape in a string");
                return -1;
            }
        }
        if (dst && n + 1 < cap)
            dst[n++] = c;
    }
    if (j->s >= j->end) {
        json_fail(j, at, "unterminated string");
        return -1;
    }
    j->s++;
    if (dst)
        dst[n] = 0;
    return 0;
}

static int json_number(Json *j, double *out)
{
    const char *at = j->s;
    char buf[64];
    size_t n = 0;
    while (j->s < j->end && n + 1 < sizeof(buf) && (isdigit((unsigned char)*j->s) || strchr("+-.eE", *j->s)))
        buf[n++] = *j->s++;
    buf[n] = 0;
    char *e;
    errno = 0;
    *out = strtod(buf, &e);
    if (!n || *e || errno || !isfinite(*out)) {
        json_fail(j, at, "bad number");
        return -1;
    }
    return 0;
}

static int json_literal(Json *j, const char *word)
{
    const size_t n = strlen(word);
    if ((size_t)(j->end - j->s) >= n && !memcmp(j->s, word, n)) {
        j->s += n;
        return 1;
    }
    return 0;
}

/* Parses one value at j->s into v (lists of numbers are kept; strings and objects only checked). */
static int json_value(Json *j, CfgVal *v, int depth)
{
    memset(v, 0, sizeof(*v));
    ws(j);
    const char *at = j->s;
    if (depth > CFG_MAX_DEPTH) {
        json_fail(j, at, "nested too deeply");
        return -1;
    }
    if (j->s >= j->end) {
        json_fail(j, at, "expected a value");
        return -1;
    }
    const char c = *j->s;
    if (c == '{' || c == '[') {
        const char close = c == '{' ? '}' : ']';
        int all_num = c == '[';
        v->kind = V_OTHER;
        j->s++;
        ws(j);
        if (j->s < j->end && *j->s == close) {
            j->s++;
            v->kind = c == '[' ? V_LIST : V_OTHER;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                ws(j);
                if (json_string(j, NULL, 0) < 0)
                    return -1;
                ws(j);
                if (j->s >= j->end || *j->s != ':') {
                    json_fail(j, j->s, "expected ':'");
                    return -1;
                }
                j->s++;
            }
            CfgVal e;
            if (json_value(j, &e, depth + 1) < 0)
                return -1;
            if (c == '[') {
                if (e.kind != V_NUM || v->n >= CFG_MAX_LIST)
                    all_num = 0;
                else
                    v->list[v->n++] = e.num;
            }
            ws(j);
            if (j->s < j->end && *j->s == ',') {
                j->s++;
                continue;
            }
            if (j->s < j->end && *j->s == close) {
                j->s++;
                break;
            }
            json_fail(j, j->s, c == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
            return -1;
        }
        if (all_num)
            v->kind = V_LIST;
        return 0;
    }
    if (c == '"') {
        v->kind = V_OTHER;
        return json_string(j, NULL, 0);
    }
    if (json_literal(j, "true") || json_literal(j, "false")) {
        v->kind = V_BOOL;
        v->num = c == 't';
        return 0;
    }
    if (json_literal(j, "null")) {
        v->kind = V_NULL;
        return 0;
    }
    v->kind = V_NUM;
    return json_number(j, &v->num);
}

/* ---- the config's keys -> nuwa.* metadata ----------------------------------------------------- */

enum { K_U32, K_BOOL, K_KERNEL, K_DILATION };

static const struct {
    const char *name;
    int kind;
    double def; /* nuwa-pytorch's default; NAN = required */
} KEYS[] = {
    {"dim", K_U32, NAN},
    {"max_video_frames", K_U32, 5},
    {"text_num_tokens", K_U32, 49408},
    {"text_max_seq_len", K_U32, 256},
    {"text_enc_depth", K_U32, 6},
    {"text_enc_heads", K_U32, 8},
    {"text_enc_dim_head", K_U32, 64},
    {"text_rotary_pos_emb", K_BOOL, 1},
    {"enc_reversible", K_BOOL, 0},
    {"dec_depth", K_U32, 6},
    {"dec_heads", K_U32, 8},
    {"dec_dim_head", K_U32, 64},
    {"dec_reversible", K_BOOL, 0},
    {"shift_video_tokens", K_BOOL, 1},
    {"sparse_3dna_kernel_size", K_KERNEL, 3},
    {"sparse_3dna_dilation", K_DILATION, 1},
    {"sparse_3dna_rel_pos_bias", K_BOOL, 0},
};
#define N_KEYS (int)(sizeof(KEYS) / sizeof(KEYS[0]))

/* NUWA arguments that do not change the transformer's tensors (the VQGAN's come from the model). */
static const char *const IGNORED[] = {"vae", "image_size", "attn_dropout", "ff_dropout", "ff_chunk_size",
                                      "embed_gradient_frac", "sparse_3dna_query_num_frames_chunk"};

static int whole(double x, double lo, double hi)
{
    return x == floor(x) && x >= lo && x <= hi;
}

/* Writes the nuwa.* metadata of the config at `path` into w. */
static int config_to_kv(const char *path, const char *text, size_t len, NwGgufWriter *w, const NwLog *log)
{
    Json j = {text, text, text + len, path, log, 0};
    CfgVal vals[N_KEYS];
    int have[N_KEYS] = {0};
    ws(&j);
    if (j.s >= j.end || *j.s != '{') {
        json_fail(&j, j.s, "the config must be a JSON object of NUWA's keyword arguments");
        return j.err;
    }
    j.s++;
    ws(&j);
    if (j.s < j.end && *j.s == '}')
        j.s++;
    else
        for (;;) {
            char key[64];
            ws(&j);
            const char *at = j.s;
            if (json_string(&j, key, sizeof(key)) < 0)
                return j.err;
            ws(&j);
            if (j.s >= j.end || *j.s != ':') {
                json_fail(&j, j.s, "expected ':'");
                return j.err;
            }
            j.s++;
            int k = 0;
            while (k < N_KEYS && strcmp(KEYS[k].name, key))
                k++;
            CfgVal v;
            if (json_value(&j, &v, 1) < 0)
                return j.err;
            if (k < N_KEYS) {
                if (have[k]) {
                    json_fail(&j, at, "a key appears twice");
                    nw_log(log, NUWA_LOG_ERROR, "%s: \"%s\" is given twice\n", path, key);
                    return j.err;
                }
                have[k] = v.kind != V_NULL; /* null: the default, as in Python */
                vals[k] = v;
            } else {
                int known = 0;
                for (size_t i = 0; i < sizeof(IGNORED) / sizeof(IGNORED[0]); i++)
                    known |= !strcmp(IGNORED[i], key);
                if (!known)
                    nw_log(log, NUWA_LOG_WARNING, "%s:%d: ignoring \"%s\": not a NUWA transformer argument\n", path,
                           json_line(&j, at), key);
            }
            ws(&j);
            if (j.s < j.end && *j.s == ',') {
                j.s++;
                continue;
            }
            if (j.s < j.end && *j.s == '}') {
                j.s++;
                break;
            }
            json_fail(&j, j.s, "expected ',' or '}'");
            return j.err;
        }
    ws(&j);
    if (j.s != j.end) {
        json_fail(&j, j.s, "text after the config object");
        return j.err;
    }

    int r = 0;
    for (int k = 0; k < N_KEYS && !r; k++) {
        char key[96];
        snprintf(key, sizeof(key), "nuwa.%s", KEYS[k].name);
        const CfgVal *v = have[k] ? &vals[k] : NULL;
        if (!v && isnan(KEYS[k].def)) {
            nw_log(log, NUWA_LOG_ERROR, "%s: \"%s\" is required\n", path, KEYS[k].name);
            return NUWA_ERR_INVAL;
        }
        const char *bad = NULL;
        switch (KEYS[k].kind) {
        case K_U32:
            if (v && (v->kind != V_NUM || !whole(v->num, 1, 1u << 20)))
                bad = "a positive integer";
            else
                r = nw_gguf_writer_add_u32(w, key, (uint32_t)(v ? v->num : KEYS[k].def));
            break;
        case K_BOOL:
            if (v && v->kind != V_BOOL)
                bad = "true or false";
            else
                r = nw_gguf_writer_add_bool(w, key, v ? (int)v->num : (int)KEYS[k].def);
            break;
        case K_KERNEL: {
            uint32_t ks[3];
            if (!v || v->kind == V_NUM) {
                const double x = v ? v->num : KEYS[k].def;
                if (!whole(x, 1, 63))
                    bad = "an odd integer or a list of 3";
                ks[0] = ks[1] = ks[2] = (uint32_t)x;
            } else if (v->kind == V_LIST && v->n == 3) {
                for (int i = 0; i < 3; i++) {
                    if (!whole(v->list[i], 1, 63))
                        bad = "an odd integer or a list of 3";
                    ks[i] = (uint32_t)v->list[i];
                }
            } else {
                bad = "an odd integer or a list of 3 (frames, rows, columns)";
            }
            if (!bad)
                r = nw_gguf_writer_add_u32_array(w, key, ks, 3);
            break;
        }
        case K_DILATION: {
            uint32_t dl[CFG_MAX_LIST];
            int n = 0;
            if (!v || v->kind == V_NUM) { /* D: the cycle 1, 2, ..., D */
                const double x = v ? v->num : KEYS[k].def;
                if (!whole(x, 1, CFG_MAX_LIST))
                    bad = "an integer in 1..16 or a list of 1..16 integers";
                else
                    for (n = 0; n < (int)x; n++)
                        dl[n] = (uint32_t)(n + 1);
            } else if (v->kind == V_LIST && v->n >= 1) {
                for (n = 0; n < v->n; n++) {
                    if (!whole(v->list[n], 1, 1u << 16))
                        bad = "a list of positive integers";
                    dl[n] = (uint32_t)v->list[n];
                }
            } else {
                bad = "an integer in 1..16 or a list of 1..16 integers";
            }
            if (!bad)
                r = nw_gguf_writer_add_u32_array(w, key, dl, (uint64_t)n);
            break;
        }
        }
        if (bad) {
            nw_log(log, NUWA_LOG_ERROR, "%s: \"%s\" must be %s\n", path, KEYS[k].name, bad);
            return NUWA_ERR_INVAL;
        }
    }
    return r ? NUWA_ERR_NOMEM : 0;
}

/* ---- initial values ----------------------------------------------------------------------------- */

typedef struct Tensor {
    char name[160];
    int n_dims;
    int64_t shape[4];
} Tensor;

typedef struct TList {
    Tensor *t;
    int n, cap, err;
} TList;

static void collect(void *opaque, const char *name, int n_dims, const int64_t *shape)
{
    TList *l = opaque;
    if (l->err)
        return;
    if (l->n == l->cap) {
        const int cap = l->cap ? 2 * l->cap : 256;
        Tensor *t = realloc(l->t, sizeof(*t) * (size_t)cap);
        if (!t) {
            l->err = NUWA_ERR_NOMEM;
            return;
        }
        l->t = t;
        l->cap = cap;
    }
    Tensor *t = &l->t[l->n++];
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->n_dims = n_dims;
    for (int i = 0; i < 4; i++)
        t->shape[i] = i < n_dims ? shape[i] : 1;
}

static int ends_with(const char *s, const char *suffix)
{
    const size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

enum { I_ONES, I_ZEROS, I_NORMAL, I_UNIFORM, I_INV_FREQ };

/* PyTorch's default initialisation of the module each tensor belongs to (docs/TRAINING.md §6c):
 * returns the rule and, for I_UNIFORM, the bound 1/sqrt(fan_in). -1: a tensor this table does
 * not know (a new module must get its rule here rather than a silent guess). */
static int init_rule(const Tensor *t, const TList *all, double *bound)
{
    const char *n = t->name;
    if (ends_with(n, "norm.weight"))        /* nn.LayerNorm: prenorm, postnorm, norm.norm */
        return I_ONES;
    if (ends_with(n, "norm.bias"))
        return I_ZEROS;
    if (ends_with(n, "inv_freq"))           /* the rotary buffer */
        return I_INV_FREQ;
    if (ends_with(n, ".embed.weight") || ends_with(n, "null_k") || ends_with(n, "null_v") ||
        !strcmp(n, "video_bos") || strstr(n, ".axial"))
        return I_NORMAL;                    /* nn.Embedding, torch.randn parameters */
    if (ends_with(n, "talking_heads.weight") && t->n_dims == 4) {
        *bound = 1.0 / sqrt((double)(t->shape[1] * t->shape[2] * t->shape[3])); /* Conv2d 1x1 */
        return I_UNIFORM;
    }
    if (ends_with(n, ".weight") && t->n_dims == 2) { /* nn.Linear: kaiming_uniform(a = sqrt(5)) */
        *bound = 1.0 / sqrt((double)t->shape[1]);
        return I_UNIFORM;
    }
    if (ends_with(n, ".bias") && t->n_dims == 1) {   /* nn.Linear's bias: the weight's fan-in */
        char wname[sizeof(t->name)];
        snprintf(wname, sizeof(wname), "%.*s.weight", (int)(strlen(n) - 5), n);
        for (int i = 0; i < all->n; i++)
            if (!strcmp(all->t[i].name, wname) && all->t[i].n_dims == 2) {
                *bound = 1.0 / sqrt((double)all->t[i].shape[1]);
                return I_UNIFORM;
            }
    }
    return -1;
}

/* Tensor i's values: its own counter-based stream (nw_uniforms(seed ^ salt, i)), so a tensor's
 * initial values depend only on the seed and its position, not on the thread count. */
#define INIT_SALT 0x6e65776d6f64656cull /* "newmodel" */

static int init_values(int rule, double bound, int rot_dim, uint64_t seed, uint64_t index, float *x, size_t n)
{
    switch (rule) {
    case I_ONES:
    case I_ZEROS:
        for (size_t i = 0; i < n; i++)
            x[i] = rule == I_ONES ? 1.0f : 0.0f;
        return 0;
    case I_INV_FREQ: { /* RotaryEmbedding(r): 1 / 10000^(2i / r) */
        const double r = rot_dim;
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(1.0 / pow(10000.0, (double)(2 * i) / r));
        return 0;
    }
    default:
        break;
    }
    /* 2 uniforms per value (Box-Muller for the normal ones), 2^19 values per counter */
    const size_t chunk = 1 << 19;
    float *u = malloc(sizeof(float) * 2 * chunk);
    if (!u)
        return NUWA_ERR_NOMEM;
    for (size_t base = 0, c = 0; base < n; base += chunk, c++) {
        const size_t m = n - base < chunk ? n - base : chunk;
        nw_uniforms(seed ^ INIT_SALT, (index << 20) + c, u, (int)(2 * m));
        for (size_t i = 0; i < m; i++) {
            const double u0 = u[2 * i], u1 = u[2 * i + 1];
            if (rule == I_UNIFORM)
                x[base + i] = (float)((2.0 * u0 - 1.0) * bound);
            else /* u0 in (0, 1): the 24-bit uniform moved half a step off 0 */
                x[base + i] = (float)(sqrt(-2.0 * log((u0 * 16777216.0 + 0.5) / 16777216.0)) * cos(2.0 * M_PI * u1));
        }
    }
    free(u);
    return 0;
}

static char *read_text(const char *path, size_t *len, const NwLog *log)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        nw_log(log, NUWA_LOG_ERROR, "cannot open the config %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(CFG_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, CFG_MAX_BYTES + 1, f) : 0;
    const int bad = !buf || ferror(f) || n > CFG_MAX_BYTES;
    fclose(f);
    if (bad) {
        nw_log(log, NUWA_LOG_ERROR, "%s: cannot read the config (%s)\n", path,
               !buf ? "out of memory" : n > CFG_MAX_BYTES ? "larger than 1 MiB" : "read error");
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static int starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

int nw_train_init_model(const char *config, const char *model, uint64_t seed, const char *out, int64_t *n_params,
                        const NwLog *log)
{
    char err[512];
    size_t len = 0;
    char *text = NULL;
    uint8_t *buf = NULL;
    size_t size = 0;
    NwGgufWriter *hw = NULL, *w = NULL;
    NwGguf *src = NULL, *hg = NULL;
    NwVae vh;
    NwNuwa hp;
    TList tl = {0};
    float *x = NULL;
    int r;
    memset(&vh, 0, sizeof(vh));
    memset(&hp, 0, sizeof(hp));
    if (!config || !model || !out)
        return NUWA_ERR_INVAL;

    if ((r = nw_gguf_open(&src, model, err, sizeof(err)))) {
        nw_log(log, NUWA_LOG_ERROR, "%s\n", err);
        goto end;
    }
    if ((r = nw_vae_hparams(&vh, src, log)))
        goto end;
    if (!nw_gguf_find_kv(src, "nuwa.tokenizer.merges")) {
        nw_log(log, NUWA_LOG_ERROR, "%s has no text tokenizer (nuwa.tokenizer.merges): a new transformer needs one "
                                    "for its captions\n", model);
        r = NUWA_ERR_UNSUPPORTED;
        goto end;
    }
    if (nw_gguf_find_kv(src, "nuwa.dim"))
        nw_log(log, NUWA_LOG_INFO, "%s: its transformer is not used: a new one is made from %s\n", model, config);

    /* the config's hyperparameters go through the loader's own checks (nw_nuwa_hparams) */
    if (!(text = read_text(config, &len, log))) {
        r = NUWA_ERR_IO;
        goto end;
    }
    if (!(hw = nw_gguf_writer_new())) {
        r = NUWA_ERR_NOMEM;
        goto end;
    }
    if ((r = config_to_kv(config, text, len, hw, log)) || (r = nw_gguf_writer_to_buffer(hw, &buf, &size)))
        goto end;
    if ((r = nw_gguf_open_memory(&hg, buf, size, err, sizeof(err)))) {
        nw_log(log, NUWA_LOG_ERROR, "%s\n", err);
        goto end;
    }
    const int fmap = vh.image_size >> vh.num_layers;
    if ((r = nw_nuwa_hparams(&hp, hg, fmap, vh.codebook_size, log))) {
        nw_log(log, NUWA_LOG_ERROR, "%s: the config does not describe a transformer libnuwa can run\n", config);
        if (r == NUWA_ERR_BAD_MODEL)
            r = NUWA_ERR_INVAL; /* a bad option, not a bad file */
        goto end;
    }
    if ((r = nw_nuwa_describe(&hp, fmap, vh.codebook_size, collect, &tl)) || (r = tl.err))
        goto end;

    /* the file: the source's VQGAN and tokenizer as they are, the new transformer in F32 */
    if (!(w = nw_gguf_writer_new())) {
        r = NUWA_ERR_NOMEM;
        goto end;
    }
    for (uint64_t i = 0; !r && i < src->n_kv; i++) {
        const NwGgufKV *kv = &src->kv[i];
        if (starts_with(kv->key, "general.") || starts_with(kv->key, "nuwa.vae.") ||
            starts_with(kv->key, "nuwa.tokenizer."))
            r = nw_gguf_writer_copy_kv(w, kv);
    }
    if (!r)
        r = nw_nuwa_write_hparams(&hp, w);
    for (uint64_t i = 0; !r && i < src->n_tensors; i++) {
        const NwGgufTensor *t = &src->tensors[i];
        if (starts_with(t->name, "vae."))
            r = nw_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->shape, t->data);
    }
    int64_t total = 0;
    for (int i = 0; !r && i < tl.n; i++) {
        const Tensor *t = &tl.t[i];
        double bound = 0;
        const int rule = init_rule(t, &tl, &bound);
        if (rule < 0) {
            nw_log(log, NUWA_LOG_ERROR, "init: no initialisation rule for %s\n", t->name);
            r = NUWA_ERR_UNSUPPORTED;
            break;
        }
        const size_t n = (size_t)(t->shape[0] * t->shape[1] * t->shape[2] * t->shape[3]);
        float *nx = realloc(x, sizeof(float) * (n ? n : 1));
        if (!nx) {
            r = NUWA_ERR_NOMEM;
            break;
        }
        x = nx;
        if ((r = init_values(rule, bound, hp.rot_dim, seed, (uint64_t)i, x, n)))
            break;
        if (rule != I_INV_FREQ)
            total += (int64_t)n;
        r = nw_gguf_writer_add_tensor(w, t->name, NW_TYPE_F32, t->n_dims, t->shape, x);
    }
    if (r) {
        if (r == NUWA_ERR_NOMEM)
            nw_log(log, NUWA_LOG_ERROR, "init: out of memory\n");
        goto end;
    }
    if ((r = nw_gguf_writer_save_atomic(w, out, log)))
        goto end;
    if (n_params)
        *n_params = total;
end:
    free(x);
    free(tl.t);
    nw_nuwa_free(&hp);
    nw_gguf_close(&hg);
    free(buf);
    nw_gguf_writer_free(&hw);
    nw_gguf_writer_free(&w);
    nw_vae_free(&vh);
    nw_gguf_close(&src);
    free(text);
    return r;
}
