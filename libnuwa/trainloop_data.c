/* trainloop_data.c — the training data of trainloop.h: clips of raw rgb24 frames + captions,
 * validated, tokenized once through the public API (the VQGAN with nuwa_vae_encode, the captions
 * with nuwa_tokenize), cached next to the data, and sampled into batches. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ops.h"
#include "trainloop.h"

struct NwDataset {
    int n_clips, S, T, max_frames, text_len;
    int32_t *frames;       /* (n_clips) frames per clip */
    int64_t *first;        /* (n_clips) index of the clip's first frame in tokens */
    int32_t *tokens;       /* (total_frames, T) */
    int32_t *text;         /* (n_clips, text_len), 0-padded */
    int64_t total_frames;
    int from_cache;
};

/* One clip while opening: where its bytes are and where its caption came from (for errors). */
typedef struct Clip {
    char *file;            /* rgb file */
    int64_t offset;        /* byte offset of frame 0 in it */
    int frames;
    char *caption;
    const char *src;       /* the TSV (for messages) */
    int line;              /* 1-based line in the TSV */
} Clip;

typedef struct Open {
    const NwLog *log;
    NuwaModel *model;
    NuwaVaeInfo vi;
    NuwaTransformerInfo ti;
    Clip *clips;
    int n, cap;
    char **files;          /* every data file, for the cache key */
    int n_files;
    char *cache;           /* default cache path */
    char *list;            /* the list TSV's path (Clip.src of its clips) */
} Open;

void nw_data_params_default(NwDataParams *p)
{
    memset(p, 0, sizeof(*p));
}

/* ---- small helpers ----------------------------------------------------------------------- */

static char *join(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir[0])
        return strdup(name);
    const size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (s) {
        memcpy(s, dir, a);
        s[a] = '/';
        memcpy(s + a + 1, name, b + 1);
    }
    return s;
}

static int add_file(Open *o, const char *path)
{
    char **r = realloc(o->files, (size_t)(o->n_files + 1) * sizeof(*r));
    if (!r)
        return NUWA_ERR_NOMEM;
    o->files = r;
    if (!(o->files[o->n_files] = strdup(path)))
        return NUWA_ERR_NOMEM;
    o->n_files++;
    return 0;
}

static Clip *add_clip(Open *o)
{
    if (o->n == o->cap) {
        const int ncap = o->cap ? 2 * o->cap : 64;
        Clip *r = realloc(o->clips, (size_t)ncap * sizeof(*r));
        if (!r)
            return NULL;
        o->clips = r;
        o->cap = ncap;
    }
    Clip *c = &o->clips[o->n++];
    memset(c, 0, sizeof(*c));
    return c;
}

/* The whole file into a NUL-terminated buffer. */
static char *read_text(const char *path, const NwLog *log, int *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        nw_log(log, NUWA_LOG_ERROR, "data: cannot open %s: %s\n", path, strerror(errno));
        *err = NUWA_ERR_IO;
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    while (s) {
        const size_t k = fread(s + n, 1, cap - n - 1, f);
        n += k;
        if (n + 1 < cap)
            break;
        char *r = realloc(s, cap * 2);
        if (!r) {
            free(s);
            s = NULL;
            break;
        }
        s = r;
        cap *= 2;
    }
    const int bad = ferror(f);
    fclose(f);
    if (!s || bad) {
        free(s);
        *err = s ? NUWA_ERR_IO : NUWA_ERR_NOMEM;
        if (bad)
            nw_log(log, NUWA_LOG_ERROR, "data: cannot read %s\n", path);
        return NULL;
    }
    s[n] = 0;
    return s;
}

/* Next line of a buffer (modified in place: '\n' and a trailing '\r' become NUL). */
static char *next_line(char **pos)
{
    char *s = *pos;
    if (!s || !*s)
        return NULL;
    char *e = strchr(s, '\n');
    if (e) {
        *e = 0;
        *pos = e + 1;
    } else {
        *pos = s + strlen(s);
    }
    const size_t n = strlen(s);
    if (n && s[n - 1] == '\r')
        s[n - 1] = 0;
    return s;
}

/* An integer field `"key": 123` of a flat JSON object (info.json of make_shapes.py); -1 if absent. */
static long json_int(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\"", key);
    const char *p = strstr(json, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p++ != ':')
        return -1;
    char *end;
    const long v = strtol(p, &end, 10);
    return end == p ? -1 : v;
}

/* ---- the two layouts ---------------------------------------------------------------------- */

/* tools/make_shapes.py: clips.rgb + clips.tsv (header, caption in column 2) + info.json. */
static int open_shapes(Open *o, const char *dir)
{
    const int64_t frame_bytes = (int64_t)o->vi.image_size * o->vi.image_size * 3;
    char *rgb = join(dir, "clips.rgb"), *tsv = join(dir, "clips.tsv"), *info = join(dir, "info.json");
    char *text = NULL, *json = NULL;
    int r = rgb && tsv && info ? 0 : NUWA_ERR_NOMEM;
    struct stat st;
    long count = -1, frames = -1, size = -1;
    if (!r && stat(info, &st) == 0) {
        if (!(json = read_text(info, o->log, &r)))
            goto out;
        count = json_int(json, "count");
        frames = json_int(json, "frames");
        size = json_int(json, "size");
        if ((r = add_file(o, info)))
            goto out;
        if (size >= 0 && size != o->vi.image_size) {
            nw_log(o->log, NUWA_LOG_ERROR,
                   "data: %s: the clips are %ldx%ld, the model takes %dx%d frames (regenerate with --size %d)\n",
                   info, size, size, o->vi.image_size, o->vi.image_size, o->vi.image_size);
            r = NUWA_ERR_INVAL;
            goto out;
        }
    }
    if (r || !(text = read_text(tsv, o->log, &r)) || (r = add_file(o, tsv)) || (r = add_file(o, rgb)))
        goto out;
    char *pos = text, *line;
    int ln = 0;
    while ((line = next_line(&pos))) {
        ln++;
        if (ln == 1 || !line[0]) /* header */
            continue;
        char *tab = strchr(line, '\t');
        char *cap = tab ? tab + 1 : NULL;
        char *end = cap ? strchr(cap, '\t') : NULL;
        if (!cap) {
            nw_log(o->log, NUWA_LOG_ERROR, "data: %s:%d: no caption (expected index TAB caption ...)\n", tsv, ln);
            r = NUWA_ERR_INVAL;
            goto out;
        }
        if (end)
            *end = 0;
        Clip *c = add_clip(o);
        if (!c || !(c->caption = strdup(cap)) || !(c->file = strdup(rgb))) {
            r = NUWA_ERR_NOMEM;
            goto out;
        }
        c->src = "clips.tsv";
        c->line = ln;
    }
    if (count >= 0 && count != o->n) {
        nw_log(o->log, NUWA_LOG_ERROR, "data: %s has %d clips, %s says %ld\n", tsv, o->n, info, count);
        r = NUWA_ERR_INVAL;
        goto out;
    }
    if (stat(rgb, &st) != 0) {
        nw_log(o->log, NUWA_LOG_ERROR, "data: %s: %s\n", rgb, strerror(errno));
        r = NUWA_ERR_IO;
        goto out;
    }
    if (o->n == 0) {
        nw_log(o->log, NUWA_LOG_ERROR, "data: %s lists no clips\n", tsv);
        r = NUWA_ERR_INVAL;
        goto out;
    }
    const int64_t bytes = (int64_t)st.st_size;
    if (frames < 0 && bytes % ((int64_t)o->n * frame_bytes) == 0)
        frames = (long)(bytes / ((int64_t)o->n * frame_bytes));
    if (frames <= 0 || bytes != (int64_t)o->n * frames * frame_bytes) {
        nw_log(o->log, NUWA_LOG_ERROR,
               "data: %s: %lld bytes is not %d clips of %s frames of %dx%d rgb24 (%lld bytes each)\n", rgb,
               (long long)bytes, o->n, frames > 0 ? "the stated" : "whole", o->vi.image_size, o->vi.image_size,
               (long long)frame_bytes);
        r = NUWA_ERR_INVAL;
        goto out;
    }
    if (frames < o->ti.max_video_frames) {
        nw_log(o->log, NUWA_LOG_ERROR,
               "data: %s: clips of %ld frames, the model needs at least %d (max_video_frames)\n", rgb, frames,
               o->ti.max_video_frames);
        r = NUWA_ERR_INVAL;
        goto out;
    }
    for (int i = 0; i < o->n; i++) {
        o->clips[i].frames = (int)frames;
        o->clips[i].offset = (int64_t)i * frames * frame_bytes;
    }
out:
    free(rgb);
    free(tsv);
    free(info);
    free(text);
    free(json);
    return r;
}

/* Lines `FILE TAB caption`, FILE relative to the TSV's directory. */
static int open_list(Open *o, const char *tsv)
{
    const int64_t frame_bytes = (int64_t)o->vi.image_size * o->vi.image_size * 3;
    int r = 0;
    char *text = read_text(tsv, o->log, &r);
    if (!text)
        return r;
    if ((r = add_file(o, tsv)) || !(o->list = strdup(tsv))) {
        free(text);
        return r ? r : NUWA_ERR_NOMEM;
    }
    const char *slash = strrchr(tsv, '/');
    char *dir = slash ? strndup(tsv, (size_t)(slash - tsv)) : strdup("");
    char *pos = text, *line;
    int ln = 0;
    while (!r && dir && (line = next_line(&pos))) {
        ln++;
        if (!line[0] || line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        if (!tab) {
            nw_log(o->log, NUWA_LOG_ERROR, "data: %s:%d: expected FILE<TAB>caption, got '%.80s'\n", tsv, ln, line);
            r = NUWA_ERR_INVAL;
            break;
        }
        *tab = 0;
        Clip *c = add_clip(o);
        if (!c || !(c->file = join(dir, line)) || !(c->caption = strdup(tab + 1))) {
            r = NUWA_ERR_NOMEM;
            break;
        }
        c->src = o->list;
        c->line = ln;
        struct stat st;
        if (stat(c->file, &st) != 0) {
            nw_log(o->log, NUWA_LOG_ERROR, "data: %s:%d: %s: %s\n", tsv, ln, c->file, strerror(errno));
            r = NUWA_ERR_IO;
            break;
        }
        const int64_t bytes = (int64_t)st.st_size;
        if (bytes % frame_bytes) {
            nw_log(o->log, NUWA_LOG_ERROR,
                   "data: %s: %lld bytes is not a whole number of %dx%d rgb24 frames (%lld bytes each): "
                   "write it with ffmpeg -vf scale=%d:%d -pix_fmt rgb24 -f rawvideo\n",
                   c->file, (long long)bytes, o->vi.image_size, o->vi.image_size, (long long)frame_bytes,
                   o->vi.image_size, o->vi.image_size);
            r = NUWA_ERR_INVAL;
            break;
        }
        if (bytes / frame_bytes < o->ti.max_video_frames) {
            nw_log(o->log, NUWA_LOG_ERROR, "data: %s: %lld frames, the model needs at least %d (max_video_frames)\n",
                   c->file, (long long)(bytes / frame_bytes), o->ti.max_video_frames);
            r = NUWA_ERR_INVAL;
            break;
        }
        if (bytes / frame_bytes > INT32_MAX) {
            r = NUWA_ERR_INVAL;
            break;
        }
        c->frames = (int)(bytes / frame_bytes);
        r = add_file(o, c->file);
    }
    if (!dir)
        r = NUWA_ERR_NOMEM;
    if (!r && o->n == 0) {
        nw_log(o->log, NUWA_LOG_ERROR, "data: %s lists no clips\n", tsv);
        r = NUWA_ERR_INVAL;
    }
    free(dir);
    free(text);
    return r;
}

/* ---- tokenizing ---------------------------------------------------------------------------- */

/* The caption's ids into ids[text_len] (0-padded), with a clear error for what the model cannot
 * take: invalid UTF-8, too many tokens, a word outside the model's text vocabulary. */
static int caption_ids(Open *o, const Clip *c, int truncate, int32_t *ids)
{
    const int L = o->ti.text_max_seq_len;
    int n = 0;
    memset(ids, 0, (size_t)L * sizeof(int32_t));
    int r = nuwa_tokenize(o->model, c->caption, ids, L, &n);
    if (r == NUWA_ERR_INVAL && n > L) {
        if (!truncate) {
            nw_log(o->log, NUWA_LOG_ERROR,
                   "data: %s:%d: caption '%.80s' is %d text tokens, the model takes at most %d "
                   "(shorten it, or truncate)\n", c->src, c->line, c->caption, n, L);
            return NUWA_ERR_INVAL;
        }
        int32_t *all = malloc((size_t)n * sizeof(int32_t));
        if (!all)
            return NUWA_ERR_NOMEM;
        r = nuwa_tokenize(o->model, c->caption, all, n, &n);
        memcpy(ids, all, (size_t)L * sizeof(int32_t));
        free(all);
        n = L;
    }
    if (r == NUWA_ERR_INVAL) {
        nw_log(o->log, NUWA_LOG_ERROR, "data: %s:%d: caption is not valid UTF-8\n", c->src, c->line);
        return r;
    }
    if (r)
        return r;
    for (int i = 0; i < n; i++) {
        if (ids[i] >= 0 && ids[i] < o->ti.text_num_tokens)
            continue;
        /* name the word: tokenize the caption's words one at a time (the tokenizer splits
         * words at white space, so a word's ids are the same alone as in the caption) */
        char *copy = strdup(c->caption), *save = NULL;
        const char *bad = NULL;
        for (char *w = copy ? strtok_r(copy, " \t", &save) : NULL; w && !bad; w = strtok_r(NULL, " \t", &save)) {
            int32_t wid[64];
            int wn = 0;
            if (nuwa_tokenize(o->model, w, wid, 64, &wn) == 0)
                for (int k = 0; k < wn && !bad; k++)
                    if (wid[k] < 0 || wid[k] >= o->ti.text_num_tokens)
                        bad = w;
        }
        if (bad)
            nw_log(o->log, NUWA_LOG_ERROR,
                   "data: %s:%d: caption '%.80s': the word '%s' gives text token %d, outside the model's text "
                   "vocabulary [0, %d) (a word the model has no embedding for)\n", c->src, c->line, c->caption, bad,
                   ids[i], o->ti.text_num_tokens);
        else
            nw_log(o->log, NUWA_LOG_ERROR,
                   "data: %s:%d: caption '%.80s': text token %d is outside the model's text vocabulary [0, %d)\n",
                   c->src, c->line, c->caption, ids[i], o->ti.text_num_tokens);
        free(copy);
        return NUWA_ERR_INVAL;
    }
    return 0;
}

/* Every clip's frames through the VQGAN, one file read and one encode call per clip. */
static int encode_frames(Open *o, NwDataset *ds, const NwDataParams *p)
{
    NuwaSessionParams sp;
    NuwaSession *s = NULL;
    nuwa_session_params_default(&sp);
    sp.n_threads = p->n_threads;
    sp.device = p->device;
    sp.log_cb = o->log ? o->log->cb : NULL;
    sp.log_opaque = o->log ? o->log->opaque : NULL;
    sp.log_level = o->log ? o->log->level : NUWA_LOG_QUIET;
    int r = nuwa_session_create(&s, o->model, &sp);
    if (r)
        return r;
    const size_t frame_bytes = (size_t)ds->S * ds->S * 3;
    uint8_t *buf = NULL;
    NuwaFrame *fr = NULL;
    int cap = 0;
    for (int i = 0; !r && i < o->n; i++) {
        const Clip *c = &o->clips[i];
        if (c->frames > cap) {
            cap = c->frames;
            uint8_t *nb = realloc(buf, (size_t)cap * frame_bytes);
            NuwaFrame *nf = realloc(fr, (size_t)cap * sizeof(*nf));
            if (nb)
                buf = nb;
            if (nf)
                fr = nf;
            if (!nb || !nf) {
                r = NUWA_ERR_NOMEM;
                break;
            }
        }
        FILE *f = fopen(c->file, "rb");
        if (!f || fseeko(f, (off_t)c->offset, SEEK_SET) != 0 ||
            fread(buf, frame_bytes, (size_t)c->frames, f) != (size_t)c->frames) {
            nw_log(o->log, NUWA_LOG_ERROR, "data: cannot read %d frames of %s\n", c->frames, c->file);
            r = NUWA_ERR_IO;
        }
        if (f)
            fclose(f);
        for (int k = 0; !r && k < c->frames; k++) {
            NuwaFrame x = {NUWA_FRAME_RGB24, ds->S, ds->S, 3, buf + (size_t)k * frame_bytes, 3 * ds->S, 0};
            fr[k] = x;
        }
        if (!r)
            r = nuwa_vae_encode(s, fr, c->frames, ds->tokens + ds->first[i] * ds->T);
        if (!r && p->progress && p->progress(p->progress_opaque, i + 1, o->n))
            r = NUWA_ERR_AGAIN;
    }
    free(buf);
    free(fr);
    nuwa_session_destroy(&s);
    return r;
}

/* ---- the cache ------------------------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
    return fnv(h, &v, sizeof(v));
}

/* What the cached tokens depend on: the layout and settings, every data file's name, size and
 * modification time, and the model's VQGAN tensors and tokenizer (a retrained VQGAN or another
 * vocabulary must not reuse old tokens). */
static int cache_key(Open *o, const char *model_path, int truncate, uint64_t *key)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv(h, "nuwa-data-cache-v1", 18);
    h = fnv_u64(h, (uint64_t)o->vi.image_size);
    h = fnv_u64(h, (uint64_t)o->vi.tokens_per_frame);
    h = fnv_u64(h, (uint64_t)o->ti.text_max_seq_len);
    h = fnv_u64(h, (uint64_t)o->ti.text_num_tokens);
    h = fnv_u64(h, (uint64_t)o->ti.max_video_frames);
    h = fnv_u64(h, (uint64_t)(truncate != 0));
    for (int i = 0; i < o->n_files; i++) {
        struct stat st;
        if (stat(o->files[i], &st) != 0)
            return NUWA_ERR_IO;
        /* the file's identity, not its spelling: ../d/clips.rgb and d/clips.rgb are one file */
        h = fnv_u64(h, (uint64_t)st.st_dev);
        h = fnv_u64(h, (uint64_t)st.st_ino);
        h = fnv_u64(h, (uint64_t)st.st_size);
        h = fnv_u64(h, (uint64_t)st.st_mtim.tv_sec);
        h = fnv_u64(h, (uint64_t)st.st_mtim.tv_nsec);
    }
    NwGguf *g = NULL;
    char err[512];
    int r = nw_gguf_open(&g, model_path, err, sizeof(err));
    if (r) {
        nw_log(o->log, NUWA_LOG_ERROR, "%s\n", err);
        return r;
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const NwGgufTensor *t = &g->tensors[i];
        if (strncmp(t->name, "vae.", 4))
            continue;
        h = fnv(h, t->name, strlen(t->name) + 1);
        h = fnv_u64(h, (uint64_t)t->type);
        h = fnv(h, t->data, (size_t)t->size);
    }
    const NwGgufKV *kv = nw_gguf_find_kv(g, "nuwa.tokenizer.merges");
    for (uint64_t i = 0; kv && kv->type == NW_GGUF_ARRAY && kv->arr_type == NW_GGUF_STRING && i < kv->n; i++)
        h = fnv(h, kv->strs[i], strlen(kv->strs[i]) + 1);
    nw_gguf_close(&g);
    *key = h;
    return 0;
}

static const NwGgufTensor *i32_tensor(const NwGguf *g, const char *name, uint64_t n)
{
    const NwGgufTensor *t = nw_gguf_find_tensor(g, name);
    return t && t->type == NW_TYPE_I32 && t->n_elems == n ? t : NULL;
}

/* Reads the cache when its key matches and its contents fit; 0 = used, 1 = not usable. */
static int cache_read(Open *o, NwDataset *ds, const char *path, uint64_t key)
{
    NwGguf *g = NULL;
    char err[512];
    struct stat st;
    if (stat(path, &st) != 0)
        return 1;
    if (nw_gguf_open(&g, path, err, sizeof(err))) {
        nw_log(o->log, NUWA_LOG_WARNING, "data: ignoring the token cache: %s\n", err);
        return 1;
    }
    const NwGgufKV *kv = nw_gguf_find_kv(g, "data.key");
    uint64_t k = 0;
    int use = kv && kv->type == NW_GGUF_U64;
    if (use)
        memcpy(&k, kv->data, 8);
    use = use && k == key;
    const NwGgufTensor *tf = use ? i32_tensor(g, "data.frames", (uint64_t)ds->n_clips) : NULL;
    const NwGgufTensor *tt = tf ? i32_tensor(g, "data.text", (uint64_t)ds->n_clips * ds->text_len) : NULL;
    const NwGgufTensor *tk = tt ? i32_tensor(g, "data.tokens", (uint64_t)ds->total_frames * ds->T) : NULL;
    if (tk) {
        memcpy(ds->text, tt->data, (size_t)tt->size);
        memcpy(ds->tokens, tk->data, (size_t)tk->size);
        /* the clip table was rebuilt from the data; it must agree with the cache's */
        for (int i = 0; i < ds->n_clips && tk; i++) {
            int32_t f;
            memcpy(&f, (const uint8_t *)tf->data + 4 * (size_t)i, 4);
            if (f != ds->frames[i])
                tk = NULL;
        }
    }
    nw_gguf_close(&g);
    if (!tk) {
        nw_log(o->log, NUWA_LOG_INFO, "data: token cache %s is stale; tokenizing again\n", path);
        return 1;
    }
    return 0;
}

static int cache_write(Open *o, const NwDataset *ds, const char *path, uint64_t key)
{
    NwGgufWriter *w = nw_gguf_writer_new();
    int r = w ? 0 : NUWA_ERR_NOMEM;
    const int64_t sf[1] = {ds->n_clips}, st[2] = {ds->n_clips, ds->text_len}, sk[2] = {ds->total_frames, ds->T};
    if (!r)
        r = nw_gguf_writer_add_scalar(w, "data.key", NW_GGUF_U64, &key);
    if (!r)
        r = nw_gguf_writer_add_tensor(w, "data.frames", NW_TYPE_I32, 1, sf, ds->frames);
    if (!r)
        r = nw_gguf_writer_add_tensor(w, "data.text", NW_TYPE_I32, 2, st, ds->text);
    if (!r)
        r = nw_gguf_writer_add_tensor(w, "data.tokens", NW_TYPE_I32, 2, sk, ds->tokens);
    if (!r)
        r = nw_gguf_writer_save_atomic(w, path, o->log);
    nw_gguf_writer_free(&w);
    return r;
}

/* ---- open / close / batches ------------------------------------------------------------------ */

static void model_log(void *opaque, int level, const char *fmt, va_list ap)
{
    const NwLog *log = opaque;
    if (log && log->cb && level <= log->level)
        log->cb(log->opaque, level, fmt, ap);
}

int nw_data_open(NwDataset **out, const char *path, const char *model_path, const NwDataParams *params,
                 const NwLog *log)
{
    NwDataParams defp;
    if (!out || !path || !model_path)
        return NUWA_ERR_INVAL;
    if (!params) {
        nw_data_params_default(&defp);
        params = &defp;
    }
    Open o;
    memset(&o, 0, sizeof(o));
    o.log = log;
    NwDataset *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return NUWA_ERR_NOMEM;
    NuwaModelParams mp;
    nuwa_model_params_default(&mp);
    mp.log_cb = model_log;
    mp.log_opaque = (void *)log;
    mp.log_level = log ? log->level : NUWA_LOG_QUIET;
    int r = nuwa_model_load(&o.model, model_path, &mp);
    if (r)
        goto out;
    nuwa_model_vae_info(o.model, &o.vi);
    nuwa_model_transformer_info(o.model, &o.ti);
    if (!o.ti.present || !o.ti.has_tokenizer) {
        nw_log(log, NUWA_LOG_ERROR, "data: %s has no %s: cannot make training data for it\n", model_path,
               !o.ti.present ? "NUWA transformer" : "text tokenizer (nuwa.tokenizer.merges)");
        r = NUWA_ERR_UNSUPPORTED;
        goto out;
    }
    if (o.vi.channels != 3) {
        nw_log(log, NUWA_LOG_ERROR, "data: the model's VQGAN takes %d channels; clips are rgb24\n", o.vi.channels);
        r = NUWA_ERR_UNSUPPORTED;
        goto out;
    }

    /* which layout */
    struct stat st;
    if (stat(path, &st) != 0) {
        nw_log(log, NUWA_LOG_ERROR, "data: %s: %s\n", path, strerror(errno));
        r = NUWA_ERR_IO;
        goto out;
    }
    char *probe = S_ISDIR(st.st_mode) ? join(path, "clips.rgb") : NULL;
    const char *cache_name = NULL;
    if (S_ISDIR(st.st_mode) && probe && stat(probe, &st) == 0) {
        r = open_shapes(&o, path);
        cache_name = "clips.tokens.gguf";
    } else if (probe || !S_ISDIR(st.st_mode)) {
        char *tsv = probe ? join(path, "captions.tsv") : strdup(path);
        if (probe && tsv && stat(tsv, &st) != 0) {
            nw_log(log, NUWA_LOG_ERROR,
                   "data: %s has neither clips.rgb + clips.tsv (tools/make_shapes.py) nor captions.tsv "
                   "(FILE<TAB>caption lines)\n", path);
            r = NUWA_ERR_INVAL;
        } else {
            r = tsv ? open_list(&o, tsv) : NUWA_ERR_NOMEM;
        }
        if (!r && !probe && !(o.cache = malloc(strlen(tsv) + 14)))
            r = NUWA_ERR_NOMEM;
        if (!r && !probe)
            sprintf(o.cache, "%s.tokens.gguf", tsv);
        cache_name = "captions.tokens.gguf";
        free(tsv);
    } else {
        r = NUWA_ERR_NOMEM;
    }
    if (!r && !o.cache && !(o.cache = join(path, cache_name)))
        r = NUWA_ERR_NOMEM;
    free(probe);
    if (r)
        goto out;

    ds->n_clips = o.n;
    ds->S = o.vi.image_size;
    ds->T = o.vi.tokens_per_frame;
    ds->max_frames = o.ti.max_video_frames;
    ds->text_len = o.ti.text_max_seq_len;
    ds->frames = calloc((size_t)o.n, sizeof(int32_t));
    ds->first = calloc((size_t)o.n, sizeof(int64_t));
    ds->text = calloc((size_t)o.n * ds->text_len, sizeof(int32_t));
    if (!ds->frames || !ds->first || !ds->text) {
        r = NUWA_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < o.n; i++) {
        ds->frames[i] = o.clips[i].frames;
        ds->first[i] = ds->total_frames;
        ds->total_frames += o.clips[i].frames;
    }
    ds->tokens = malloc((size_t)ds->total_frames * ds->T * sizeof(int32_t));
    if (!ds->tokens) {
        r = NUWA_ERR_NOMEM;
        goto out;
    }

    const char *cache = params->cache_path ? params->cache_path : o.cache;
    uint64_t key = 0;
    if (cache[0] && (r = cache_key(&o, model_path, params->truncate_text, &key)))
        goto out;
    if (cache[0] && cache_read(&o, ds, cache, key) == 0) {
        ds->from_cache = 1;
        goto out;
    }
    /* captions first: they fail fast, the frames take the time */
    int warned0 = 0;
    for (int i = 0; !r && i < o.n; i++) {
        r = caption_ids(&o, &o.clips[i], params->truncate_text, ds->text + (size_t)i * ds->text_len);
        for (int k = 0; !r && !warned0 && k < ds->text_len; k++)
            if (ds->text[(size_t)i * ds->text_len + k] == 0 && k + 1 < ds->text_len &&
                ds->text[(size_t)i * ds->text_len + k + 1] != 0) {
                /* id 0 is the byte '!' to the tokenizer but padding to the model (the
                 * reference's mask is text != 0): that word is silently dropped */
                nw_log(log, NUWA_LOG_WARNING,
                       "data: %s:%d: caption contains text token 0 ('!'), which the model treats as padding\n",
                       o.clips[i].src, o.clips[i].line);
                warned0 = 1;
            }
    }
    if (!r)
        r = encode_frames(&o, ds, params);
    if (!r && cache[0] && cache_write(&o, ds, cache, key))
        nw_log(log, NUWA_LOG_WARNING, "data: could not write the token cache %s (continuing without)\n", cache);
out:
    for (int i = 0; i < o.n; i++) {
        free(o.clips[i].file);
        free(o.clips[i].caption);
    }
    free(o.clips);
    for (int i = 0; i < o.n_files; i++)
        free(o.files[i]);
    free(o.files);
    free(o.cache);
    free(o.list);
    nuwa_model_unref(&o.model);
    if (r)
        nw_data_close(&ds);
    *out = ds;
    return r;
}

void nw_data_close(NwDataset **ds)
{
    if (!ds || !*ds)
        return;
    free((*ds)->frames);
    free((*ds)->first);
    free((*ds)->tokens);
    free((*ds)->text);
    free(*ds);
    *ds = NULL;
}

void nw_data_info(const NwDataset *ds, NwDataInfo *info)
{
    memset(info, 0, sizeof(*info));
    if (!ds)
        return;
    info->clips = ds->n_clips;
    info->frames = ds->total_frames;
    info->max_frames = ds->max_frames;
    info->tokens_per_frame = ds->T;
    info->text_len = ds->text_len;
    info->from_cache = ds->from_cache;
}

int nw_data_batch(NwDataset *ds, NwDataRng *rng, int B, int32_t *text, int32_t *video)
{
    if (!ds || !rng || B < 1 || B > (1 << 24) || !text || !video)
        return NUWA_ERR_INVAL;
    float *u = malloc((size_t)2 * B * sizeof(float));
    if (!u)
        return NUWA_ERR_NOMEM;
    nw_uniforms(rng->seed, rng->counter, u, 2 * B);
    rng->counter++;
    const size_t win = (size_t)ds->max_frames * ds->T;
    for (int b = 0; b < B; b++) {
        /* float products can round up to n: clamp */
        int c = (int)((double)u[2 * b] * ds->n_clips);
        c = c < ds->n_clips ? c : ds->n_clips - 1;
        const int n_win = ds->frames[c] - ds->max_frames + 1;
        int s = (int)((double)u[2 * b + 1] * n_win);
        s = s < n_win ? s : n_win - 1;
        memcpy(text + (size_t)b * ds->text_len, ds->text + (size_t)c * ds->text_len,
               (size_t)ds->text_len * sizeof(int32_t));
        memcpy(video + (size_t)b * win, ds->tokens + (ds->first[c] + s) * ds->T, win * sizeof(int32_t));
    }
    free(u);
    return 0;
}
