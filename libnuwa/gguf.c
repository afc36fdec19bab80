/*
 * gguf.c — GGUF v3 reader (untrusted input), writer and half-precision helpers.
 *
 * The reader never touches a byte it has not bounds-checked: every read goes through the
 * cursor `P` (need() before any load), all size arithmetic is done in uint64_t with explicit
 * overflow checks, and counts are compared against the bytes left before anything is
 * allocated. Arrays grow with what has actually been parsed, so a lying header can make us
 * allocate at most a small multiple of the file size.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "internal.h"

#define GGUF_HEADER_SIZE 24u            /* magic, version, n_tensors, n_kv */
#define GGUF_DEFAULT_ALIGNMENT 32u
#define GGUF_MAX_NAME (1u << 20)        /* keys and tensor names */
#define GGUF_MAX_ALIGNMENT (1u << 20)
#define GGUF_MIN_KV_SIZE 13u            /* key length (8) + type (4) + 1-byte value */
#define GGUF_MIN_TENSOR_SIZE 32u        /* name length, n_dims, ne[0], type, offset */

/* ---- little-endian loads / stores ------------------------------------------------- */

static uint16_t ld_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t ld_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t ld_u64(const uint8_t *p) { return ld_u32(p) | ((uint64_t)ld_u32(p + 4) << 32); }

static void st_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void st_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void st_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Size in bytes of a fixed-size value type, 0 for STRING/ARRAY, -1 for unknown types. */
static int value_size(uint32_t t)
{
    switch (t) {
    case NW_GGUF_U8: case NW_GGUF_I8: case NW_GGUF_BOOL: return 1;
    case NW_GGUF_U16: case NW_GGUF_I16: return 2;
    case NW_GGUF_U32: case NW_GGUF_I32: case NW_GGUF_F32: return 4;
    case NW_GGUF_U64: case NW_GGUF_I64: case NW_GGUF_F64: return 8;
    case NW_GGUF_STRING: case NW_GGUF_ARRAY: return 0;
    default: return -1;
    }
}

static const char *value_type_name(int t)
{
    static const char *const names[] = { "u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                         "bool", "string", "array", "u64", "i64", "f64" };
    return t >= 0 && t < (int)(sizeof(names) / sizeof(names[0])) ? names[t] : "?";
}

/* Bytes per element of a tensor type, 0 if unsupported. */
static uint64_t tensor_type_size(uint32_t t)
{
    switch (t) {
    case NW_TYPE_F32: case NW_TYPE_I32: return 4;
    case NW_TYPE_F16: case NW_TYPE_BF16: return 2;
    default: return 0;
    }
}

const char *nw_gguf_type_name(int tensor_type)
{
    switch (tensor_type) {
    case NW_TYPE_F32: return "F32";
    case NW_TYPE_F16: return "F16";
    case NW_TYPE_BF16: return "BF16";
    case NW_TYPE_I32: return "I32";
    default: return "?";
    }
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) NW_PRINTF(3, 4);
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- parser cursor ------------------------------------------------------------------ */

typedef struct P {
    const uint8_t *b;
    uint64_t size, pos;
    char *err;
    size_t errlen;
} P;

static int perr(P *p, const char *fmt, ...) NW_PRINTF(2, 3);
static int perr(P *p, const char *fmt, ...)
{
    if (p->err && p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
    return NUWA_ERR_BAD_MODEL;
}

static uint64_t left(const P *p) { return p->size - p->pos; }

/* Ensures n more bytes are readable; otherwise reports "<what> at offset X needs n bytes".
 * `what` is formatted only on failure. */
static int need(P *p, uint64_t n, const char *fmt, ...) NW_PRINTF(3, 4);
static int need(P *p, uint64_t n, const char *fmt, ...)
{
    if (n <= left(p))
        return 0;
    char what[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return perr(p, "truncated file: %s at offset %" PRIu64 " needs %" PRIu64 " bytes, %" PRIu64
                " left", what, p->pos, n, left(p));
}

/* Quoted, escaped, shortened copy of a name for messages. */
static const char *show(char *buf, size_t n, const uint8_t *s, uint64_t len)
{
    size_t o = 0;
    for (uint64_t i = 0; i < len && o + 8 < n; i++) {
        const uint8_t c = s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            buf[o++] = (char)c;
        else
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
    }
    if (o + 8 >= n && len > 0)
        o += (size_t)snprintf(buf + o, n - o, "...");
    buf[o] = 0;
    return buf;
}

/* Reads a string: returns its bytes and length. `maxlen` bounds it (besides the file).
 * The field is described as "<what> <idx><suffix>" (no index if idx == UINT64_MAX). */
static int read_str(P *p, uint64_t maxlen, const uint8_t **s, uint64_t *len, const char *what,
                    uint64_t idx, const char *suffix)
{
    char num[32] = "";
    if (left(p) < 8 || ld_u64(p->b + p->pos) > maxlen ||
        ld_u64(p->b + p->pos) > left(p) - 8) {         /* failure: describe the field */
        if (idx != UINT64_MAX)
            snprintf(num, sizeof(num), " %" PRIu64, idx);
        int rc = need(p, 8, "%s%s%s length", what, num, suffix);
        if (rc)
            return rc;
        const uint64_t n = ld_u64(p->b + p->pos);
        if (n > maxlen)
            return perr(p, "%s%s%s length %" PRIu64 " at offset %" PRIu64 " exceeds the limit "
                        "of %" PRIu64 " bytes", what, num, suffix, n, p->pos, maxlen);
        p->pos += 8;
        return need(p, n, "%s%s%s", what, num, suffix);
    }
    const uint64_t n = ld_u64(p->b + p->pos);
    p->pos += 8;
    *s = p->b + p->pos;
    *len = n;
    p->pos += n;
    return 0;
}

static char *dup_bytes(const uint8_t *s, uint64_t n)
{
    char *r = malloc((size_t)n + 1);
    if (r) {
        if (n)
            memcpy(r, s, (size_t)n);
        r[n] = 0;
    }
    return r;
}

/* ---- string set (duplicate detection) ----------------------------------------------- */

typedef struct StrSet {
    const char **keys;
    uint64_t *idx;
    size_t cap, n;
} StrSet;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* Inserts s (borrowed) with index i. Returns 0, 1 if already present (*prev = its index), or
 * NUWA_ERR_NOMEM. */
static int set_insert(StrSet *set, const char *s, uint64_t i, uint64_t *prev)
{
    if (2 * (set->n + 1) > set->cap) {
        const size_t ncap = set->cap ? set->cap * 2 : 64;
        const char **nk = calloc(ncap, sizeof(*nk));
        uint64_t *ni = calloc(ncap, sizeof(*ni));
        if (!nk || !ni) {
            free(nk);
            free(ni);
            return NUWA_ERR_NOMEM;
        }
        for (size_t j = 0; j < set->cap; j++) {
            if (!set->keys[j])
                continue;
            size_t h = (size_t)hash_str(set->keys[j]) & (ncap - 1);
            while (nk[h])
                h = (h + 1) & (ncap - 1);
            nk[h] = set->keys[j];
            ni[h] = set->idx[j];
        }
        free(set->keys);
        free(set->idx);
        set->keys = nk;
        set->idx = ni;
        set->cap = ncap;
    }
    size_t h = (size_t)hash_str(s) & (set->cap - 1);
    while (set->keys[h]) {
        if (!strcmp(set->keys[h], s)) {
            *prev = set->idx[h];
            return 1;
        }
        h = (h + 1) & (set->cap - 1);
    }
    set->keys[h] = s;
    set->idx[h] = i;
    set->n++;
    return 0;
}

static void set_free(StrSet *set)
{
    free(set->keys);
    free(set->idx);
    memset(set, 0, sizeof(*set));
}

/* Grows *arr (elements of `esz` bytes, zero-filled) so that index n fits. */
static int grow(void **arr, uint64_t *cap, uint64_t n, size_t esz)
{
    if (n < *cap)
        return 0;
    const uint64_t ncap = *cap ? *cap * 2 : 16;
    size_t bytes;
    if (ncap > SIZE_MAX || nw_mul_size((size_t)ncap, esz, &bytes))
        return NUWA_ERR_NOMEM;
    void *r = realloc(*arr, bytes);
    if (!r)
        return NUWA_ERR_NOMEM;
    memset((char *)r + (size_t)*cap * esz, 0, (size_t)(ncap - *cap) * esz);
    *arr = r;
    *cap = ncap;
    return 0;
}

/* ---- reader --------------------------------------------------------------------------- */

static void free_contents(NwGguf *g)
{
    for (uint64_t i = 0; g->kv && i < g->n_kv; i++) {
        NwGgufKV *kv = &g->kv[i];
        free(kv->key);
        free(kv->str);
        if (kv->strs) {
            free(kv->strs[0]); /* one block holds all the strings */
            free(kv->strs);
        }
    }
    free(g->kv);
    for (uint64_t i = 0; g->tensors && i < g->n_tensors; i++)
        free(g->tensors[i].name);
    free(g->tensors);
    g->kv = NULL;
    g->tensors = NULL;
}

/* Parses the value of a KV (its type already read) into kv. */
static int parse_value(P *p, NwGgufKV *kv, const char *kname)
{
    const uint64_t at = p->pos;
    const int sz = value_size((uint32_t)kv->type);
    int rc;
    if (sz > 0) {
        if ((rc = need(p, (uint64_t)sz, "key '%s' %s value", kname, value_type_name(kv->type))))
            return rc;
        kv->data = p->b + p->pos;
        if (kv->type == NW_GGUF_BOOL && kv->data[0] > 1)
            return perr(p, "key '%s' bool value %u at offset %" PRIu64 " is not 0 or 1", kname,
                        kv->data[0], at);
        p->pos += (uint64_t)sz;
        return 0;
    }
    if (kv->type == NW_GGUF_STRING) {
        const uint8_t *s;
        uint64_t len;
        char what[300];
        snprintf(what, sizeof(what), "key '%s' string value", kname);
        if ((rc = read_str(p, UINT64_MAX, &s, &len, what, UINT64_MAX, "")))
            return rc;
        kv->data = s;
        if (!(kv->str = dup_bytes(s, len)))
            return NUWA_ERR_NOMEM;
        return 0;
    }
    /* array */
    if ((rc = need(p, 12, "key '%s' array header", kname)))
        return rc;
    const uint32_t et = ld_u32(p->b + p->pos);
    const uint64_t n = ld_u64(p->b + p->pos + 4);
    if (et == NW_GGUF_ARRAY)
        return perr(p, "key '%s' at offset %" PRIu64 ": arrays of arrays are not supported",
                    kname, at);
    const int esz = value_size(et);
    if (esz < 0)
        return perr(p, "key '%s' array at offset %" PRIu64 " has unknown element type %" PRIu32,
                    kname, at, et);
    p->pos += 12;
    kv->arr_type = (int)et;
    kv->n = n;
    kv->data = p->b + p->pos;
    const uint64_t min_el = esz > 0 ? (uint64_t)esz : 8; /* a string is at least its length */
    if (n > left(p) / min_el)
        return perr(p, "key '%s' array count %" PRIu64 " at offset %" PRIu64 " is too large: %"
                    PRIu64 " elements of at least %" PRIu64 " bytes do not fit in the %" PRIu64
                    " bytes left", kname, n, at + 4, n, min_el, left(p));
    if (esz > 0) {
        if (et == NW_GGUF_BOOL) {
            for (uint64_t j = 0; j < n; j++)
                if (p->b[p->pos + j] > 1)
                    return perr(p, "key '%s' bool element %" PRIu64 " = %u at offset %" PRIu64
                                " is not 0 or 1", kname, j, p->b[p->pos + j], p->pos + j);
        }
        p->pos += n * (uint64_t)esz;
        return 0;
    }
    /* array of strings: validate, then copy all of them into one block */
    const uint64_t start = p->pos;
    uint64_t total = 0;
    char what[300];
    snprintf(what, sizeof(what), "key '%s' string element", kname);
    for (uint64_t j = 0; j < n; j++) {
        const uint8_t *s;
        uint64_t len;
        if ((rc = read_str(p, UINT64_MAX, &s, &len, what, j, "")))
            return rc;
        total += len + 1; /* <= 2 * file size: no overflow */
    }
    if (n == 0)
        return 0;
    if (n > SIZE_MAX / sizeof(char *) || total > SIZE_MAX)
        return NUWA_ERR_NOMEM;
    kv->strs = malloc((size_t)n * sizeof(char *));
    char *block = malloc((size_t)total);
    if (!kv->strs || !block) {
        free(kv->strs);
        kv->strs = NULL;
        free(block);
        return NUWA_ERR_NOMEM;
    }
    uint64_t q = start;
    for (uint64_t j = 0; j < n; j++) {
        const uint64_t len = ld_u64(p->b + q);
        kv->strs[j] = block;
        memcpy(block, p->b + q + 8, (size_t)len);
        block[len] = 0;
        block += len + 1;
        q += 8 + len;
    }
    return 0;
}

static int is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

static int parse(NwGguf *g, P *p)
{
    int rc;
    char nb[200];
    if (p->size < GGUF_HEADER_SIZE)
        return perr(p, "file too small to be GGUF (%" PRIu64 " bytes)", p->size);
    if (memcmp(p->b, "GGUF", 4)) {
        char m[40];
        return perr(p, "bad magic '%s' (not a GGUF file)", show(m, sizeof(m), p->b, 4));
    }
    g->version = ld_u32(p->b + 4);
    if (g->version != 3) {
        const uint32_t v = g->version;
        const uint32_t sw = (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
        return perr(p, "unsupported GGUF version %" PRIu32 " (need 3)%s", v,
                    sw == 3 ? "; the file looks big-endian" : "");
    }
    const uint64_t n_tensors = ld_u64(p->b + 8);
    const uint64_t n_kv = ld_u64(p->b + 16);
    p->pos = GGUF_HEADER_SIZE;
    if (n_tensors > left(p) / GGUF_MIN_TENSOR_SIZE)
        return perr(p, "n_tensors %" PRIu64 " at offset 8 is too large: tensor infos take at "
                    "least %u bytes each and only %" PRIu64 " bytes follow the header (truncated "
                    "or corrupt file)", n_tensors, GGUF_MIN_TENSOR_SIZE, left(p));
    if (n_kv > left(p) / GGUF_MIN_KV_SIZE)
        return perr(p, "n_kv %" PRIu64 " at offset 16 is too large: key/value pairs take at "
                    "least %u bytes each and only %" PRIu64 " bytes follow the header (truncated "
                    "or corrupt file)", n_kv, GGUF_MIN_KV_SIZE, left(p));
    if (n_kv * GGUF_MIN_KV_SIZE + n_tensors * GGUF_MIN_TENSOR_SIZE > left(p))
        return perr(p, "n_kv %" PRIu64 " and n_tensors %" PRIu64 " (offsets 16 and 8) need at "
                    "least %" PRIu64 " bytes, only %" PRIu64 " bytes follow the header", n_kv,
                    n_tensors, n_kv * GGUF_MIN_KV_SIZE + n_tensors * GGUF_MIN_TENSOR_SIZE,
                    left(p));

    StrSet set = { 0 };
    uint64_t cap = 0, prev;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;

    /* key/value pairs */
    for (uint64_t i = 0; i < n_kv; i++) {
        if ((rc = grow((void **)&g->kv, &cap, i, sizeof(NwGgufKV))))
            goto done;
        NwGgufKV *kv = &g->kv[i];
        const uint8_t *s;
        uint64_t len;
        const uint64_t at = p->pos;
        if ((rc = read_str(p, GGUF_MAX_NAME, &s, &len, "KV", i, " key")))
            goto done;
        if (len == 0) {
            rc = perr(p, "KV %" PRIu64 " key at offset %" PRIu64 " is empty", i, at);
            goto done;
        }
        if (memchr(s, 0, (size_t)len)) {
            rc = perr(p, "KV %" PRIu64 " key '%s' at offset %" PRIu64 " contains a NUL byte", i,
                      show(nb, sizeof(nb), s, len), at);
            goto done;
        }
        if (!(kv->key = dup_bytes(s, len))) {
            rc = NUWA_ERR_NOMEM;
            goto done;
        }
        g->n_kv = i + 1; /* kv[i] owns memory from here on */
        kv->arr_type = -1;
        kv->n = 1;
        const char *kname = show(nb, sizeof(nb), s, len);
        if ((rc = set_insert(&set, kv->key, i, &prev)) != 0) {
            if (rc > 0)
                rc = perr(p, "duplicate key '%s' at offset %" PRIu64 " (KV %" PRIu64
                          " and KV %" PRIu64 ")", kname, at, prev, i);
            goto done;
        }
        if ((rc = need(p, 4, "key '%s' value type", kname)))
            goto done;
        const uint32_t type = ld_u32(p->b + p->pos);
        if (value_size(type) < 0) {
            rc = perr(p, "key '%s' at offset %" PRIu64 " has unknown value type %" PRIu32, kname,
                      p->pos, type);
            goto done;
        }
        kv->type = (int)type;
        p->pos += 4;
        const uint64_t vat = p->pos;
        if ((rc = parse_value(p, kv, kname)))
            goto done;
        if (!strcmp(kv->key, "general.alignment")) {
            if (kv->type != NW_GGUF_U32) {
                rc = perr(p, "general.alignment at offset %" PRIu64 " must be u32, not %s", vat,
                          value_type_name(kv->type));
                goto done;
            }
            const uint32_t a = ld_u32(kv->data);
            if (!is_pow2(a)) {
                rc = perr(p, "general.alignment %" PRIu32 " at offset %" PRIu64
                          " is not a power of two", a, vat);
                goto done;
            }
            if (a > GGUF_MAX_ALIGNMENT) {
                rc = perr(p, "general.alignment %" PRIu32 " at offset %" PRIu64
                          " exceeds the limit of %u", a, vat, GGUF_MAX_ALIGNMENT);
                goto done;
            }
            g->alignment = a;
        }
    }
    set_free(&set);

    /* tensor infos */
    cap = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        if ((rc = grow((void **)&g->tensors, &cap, i, sizeof(NwGgufTensor))))
            goto done;
        NwGgufTensor *t = &g->tensors[i];
        const uint8_t *s;
        uint64_t len;
        const uint64_t at = p->pos;
        if ((rc = read_str(p, GGUF_MAX_NAME, &s, &len, "tensor", i, " name")))
            goto done;
        if (len == 0) {
            rc = perr(p, "tensor %" PRIu64 " name at offset %" PRIu64 " is empty", i, at);
            goto done;
        }
        if (memchr(s, 0, (size_t)len)) {
            rc = perr(p, "tensor %" PRIu64 " name '%s' at offset %" PRIu64 " contains a NUL byte",
                      i, show(nb, sizeof(nb), s, len), at);
            goto done;
        }
        if (!(t->name = dup_bytes(s, len))) {
            rc = NUWA_ERR_NOMEM;
            goto done;
        }
        g->n_tensors = i + 1;
        const char *tname = show(nb, sizeof(nb), s, len);
        if ((rc = set_insert(&set, t->name, i, &prev)) != 0) {
            if (rc > 0)
                rc = perr(p, "duplicate tensor name '%s' at offset %" PRIu64 " (tensors %" PRIu64
                          " and %" PRIu64 ")", tname, at, prev, i);
            goto done;
        }
        if ((rc = need(p, 4, "tensor '%s' n_dims", tname)))
            goto done;
        const uint32_t nd = ld_u32(p->b + p->pos);
        if (nd < 1 || nd > 4) {
            rc = perr(p, "tensor '%s' n_dims %" PRIu32 " at offset %" PRIu64 " is not in 1..4",
                      tname, nd, p->pos);
            goto done;
        }
        p->pos += 4;
        if ((rc = need(p, 8ull * nd, "tensor '%s' dims", tname)))
            goto done;
        uint64_t ne[4], n_elems = 1;
        for (uint32_t d = 0; d < nd; d++) {
            const uint64_t dat = p->pos + 8ull * d;
            ne[d] = ld_u64(p->b + dat);
            if (ne[d] == 0) {
                rc = perr(p, "tensor '%s' ne[%" PRIu32 "] at offset %" PRIu64 " is 0 "
                          "(dimensions must be >= 1)", tname, d, dat);
                goto done;
            }
            if (ne[d] > (uint64_t)INT64_MAX) {
                rc = perr(p, "tensor '%s' ne[%" PRIu32 "] = %" PRIu64 " at offset %" PRIu64
                          " exceeds INT64_MAX", tname, d, ne[d], dat);
                goto done;
            }
            if (n_elems > UINT64_MAX / ne[d]) {
                rc = perr(p, "tensor '%s' dims at offset %" PRIu64 ": the element count "
                          "overflows 64 bits", tname, p->pos);
                goto done;
            }
            n_elems *= ne[d];
        }
        p->pos += 8ull * nd;
        if ((rc = need(p, 12, "tensor '%s' type and offset", tname)))
            goto done;
        const uint32_t type = ld_u32(p->b + p->pos);
        const uint64_t esz = tensor_type_size(type);
        if (!esz) {
            rc = perr(p, "tensor '%s' at offset %" PRIu64 " has unsupported type %" PRIu32
                      " (supported: F32, F16, BF16, I32)", tname, p->pos, type);
            goto done;
        }
        if (n_elems > UINT64_MAX / esz) {
            rc = perr(p, "tensor '%s' at offset %" PRIu64 ": the byte size of %" PRIu64
                      " %s elements overflows 64 bits", tname, at, n_elems,
                      nw_gguf_type_name((int)type));
            goto done;
        }
        t->type = (int)type;
        t->n_dims = (int)nd;
        for (int d = 0; d < 4; d++)
            t->shape[d] = d < (int)nd ? (int64_t)ne[(int)nd - 1 - d] : 1;
        t->n_elems = n_elems;
        t->size = n_elems * esz;
        t->offset = ld_u64(p->b + p->pos + 4); /* relative for now */
        p->pos += 12;
    }
    set_free(&set);

    /* data section */
    g->data_offset = (p->pos + g->alignment - 1) / g->alignment * g->alignment;
    if (n_tensors > 0 && g->data_offset > p->size) {
        rc = perr(p, "the tensor data section at offset %" PRIu64 " starts past the end of the "
                  "file (size %" PRIu64 ")", g->data_offset, p->size);
        goto done;
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        NwGgufTensor *t = &g->tensors[i];
        const uint64_t rel = t->offset;
        const char *tname = show(nb, sizeof(nb), (const uint8_t *)t->name, strlen(t->name));
        if (rel % g->alignment) {
            rc = perr(p, "tensor '%s' offset %" PRIu64 " is not a multiple of the alignment %"
                      PRIu64, tname, rel, g->alignment);
            goto done;
        }
        if (rel >= p->size - g->data_offset) {
            rc = perr(p, "tensor '%s' offset %" PRIu64 " (data section at %" PRIu64 ") lies "
                      "past the end of the file (size %" PRIu64 ")", tname, rel, g->data_offset,
                      p->size);
            goto done;
        }
        const uint64_t abs = g->data_offset + rel;
        if (t->size > p->size - abs) {
            if (t->size > UINT64_MAX - abs)
                rc = perr(p, "tensor '%s' data [%" PRIu64 ", %" PRIu64 " + %" PRIu64 ") lies past "
                          "the end of the file (size %" PRIu64 ")", tname, abs, abs, t->size,
                          p->size);
            else
                rc = perr(p, "tensor '%s' data [%" PRIu64 ", %" PRIu64 ") lies past the end of "
                          "the file (size %" PRIu64 ")", tname, abs, abs + t->size, p->size);
            goto done;
        }
        t->offset = abs;
        t->data = p->b + abs;
    }
    return 0;

done:
    set_free(&set);
    return rc;
}

static int open_buffer(NwGguf **out, const uint8_t *buf, size_t size, int mapped, char *err,
                       size_t errlen)
{
    NwGguf *g = calloc(1, sizeof(*g));
    if (!g) {
        set_err(err, errlen, "out of memory");
        return NUWA_ERR_NOMEM;
    }
    g->base = buf;
    g->size = size;
    g->mapped = mapped;
    P p = { buf, size, 0, err, errlen };
    const int rc = parse(g, &p);
    if (rc) {
        if (rc == NUWA_ERR_NOMEM)
            set_err(err, errlen, "out of memory while parsing GGUF metadata");
        free_contents(g);
        free(g);
        return rc;
    }
    *out = g;
    return 0;
}

int nw_gguf_open_memory(NwGguf **out, const void *buf, size_t size, char *err, size_t errlen)
{
    if (!out || (!buf && size)) {
        set_err(err, errlen, "nw_gguf_open_memory: NULL argument");
        return NUWA_ERR_INVAL;
    }
    static const uint8_t empty[1];
    return open_buffer(out, buf ? buf : empty, size, 0, err, errlen);
}

int nw_gguf_open(NwGguf **out, const char *path, char *err, size_t errlen)
{
    if (!out || !path) {
        set_err(err, errlen, "nw_gguf_open: NULL argument");
        return NUWA_ERR_INVAL;
    }
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return NUWA_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        set_err(err, errlen, "cannot stat '%s': %s", path, strerror(errno));
        close(fd);
        return NUWA_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, "'%s' is not a regular file", path);
        close(fd);
        return NUWA_ERR_IO;
    }
    if (st.st_size < (off_t)GGUF_HEADER_SIZE) {
        set_err(err, errlen, "file too small to be GGUF (%lld bytes)", (long long)st.st_size);
        close(fd);
        return NUWA_ERR_BAD_MODEL;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        set_err(err, errlen, "cannot map '%s': file too large for the address space", path);
        close(fd);
        return NUWA_ERR_IO;
    }
    const size_t size = (size_t)st.st_size;
    void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int map_errno = errno;
    close(fd);
    if (m == MAP_FAILED) {
        set_err(err, errlen, "cannot map '%s': %s", path, strerror(map_errno));
        return NUWA_ERR_IO;
    }
    const int rc = open_buffer(out, m, size, 1, err, errlen);
    if (rc)
        munmap(m, size);
    return rc;
}

void nw_gguf_close(NwGguf **pg)
{
    if (!pg || !*pg)
        return;
    NwGguf *g = *pg;
    free_contents(g);
    if (g->mapped)
        munmap((void *)g->base, g->size);
    free(g);
    *pg = NULL;
}

const NwGgufKV *nw_gguf_find_kv(const NwGguf *g, const char *key)
{
    if (!g || !key)
        return NULL;
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (!strcmp(g->kv[i].key, key))
            return &g->kv[i];
    return NULL;
}

const NwGgufTensor *nw_gguf_find_tensor(const NwGguf *g, const char *name)
{
    if (!g || !name)
        return NULL;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name))
            return &g->tensors[i];
    return NULL;
}

/* ---- typed getters -------------------------------------------------------------------- */

/* Reads an integer or bool element of type t. Returns 0 and sets *neg and *mag, or -1 if t is
 * not an integer type. */
static int load_int(int t, const uint8_t *p, int *neg, uint64_t *mag)
{
    int64_t s;
    *neg = 0;
    *mag = 0;
    switch (t) {
    case NW_GGUF_U8: case NW_GGUF_BOOL: *mag = p[0]; return 0;
    case NW_GGUF_U16: *mag = ld_u16(p); return 0;
    case NW_GGUF_U32: *mag = ld_u32(p); return 0;
    case NW_GGUF_U64: *mag = ld_u64(p); return 0;
    case NW_GGUF_I8: s = (int8_t)p[0]; break;
    case NW_GGUF_I16: s = (int16_t)ld_u16(p); break;
    case NW_GGUF_I32: s = (int32_t)ld_u32(p); break;
    case NW_GGUF_I64: s = (int64_t)ld_u64(p); break;
    default: return -1;
    }
    *neg = s < 0;
    *mag = s < 0 ? 0 - (uint64_t)s : (uint64_t)s;
    return 0;
}

static const NwGgufKV *get_kv(const NwGguf *g, const char *key, char *err, size_t errlen)
{
    const NwGgufKV *kv = nw_gguf_find_kv(g, key);
    if (!kv)
        set_err(err, errlen, "missing key '%s'", key ? key : "(null)");
    return kv;
}

int nw_gguf_get_u32(const NwGguf *g, const char *key, uint32_t *out, char *err, size_t errlen)
{
    const NwGgufKV *kv = get_kv(g, key, err, errlen);
    if (!kv)
        return NUWA_ERR_BAD_MODEL;
    int neg;
    uint64_t v;
    if (kv->type == NW_GGUF_BOOL || load_int(kv->type, kv->data, &neg, &v)) {
        set_err(err, errlen, "key '%s' has type %s, expected an unsigned integer", key,
                value_type_name(kv->type));
        return NUWA_ERR_BAD_MODEL;
    }
    if (neg || v > UINT32_MAX) {
        set_err(err, errlen, "key '%s' value %s%" PRIu64 " does not fit in u32", key,
                neg ? "-" : "", v);
        return NUWA_ERR_BAD_MODEL;
    }
    *out = (uint32_t)v;
    return 0;
}

int nw_gguf_get_bool(const NwGguf *g, const char *key, int *out, char *err, size_t errlen)
{
    const NwGgufKV *kv = get_kv(g, key, err, errlen);
    if (!kv)
        return NUWA_ERR_BAD_MODEL;
    int neg;
    uint64_t v;
    if (load_int(kv->type, kv->data, &neg, &v)) {
        set_err(err, errlen, "key '%s' has type %s, expected bool", key,
                value_type_name(kv->type));
        return NUWA_ERR_BAD_MODEL;
    }
    if (neg || v > 1) {
        set_err(err, errlen, "key '%s' value %s%" PRIu64 " is not a bool (0 or 1)", key,
                neg ? "-" : "", v);
        return NUWA_ERR_BAD_MODEL;
    }
    *out = (int)v;
    return 0;
}

int nw_gguf_get_str(const NwGguf *g, const char *key, const char **out, char *err, size_t errlen)
{
    const NwGgufKV *kv = get_kv(g, key, err, errlen);
    if (!kv)
        return NUWA_ERR_BAD_MODEL;
    if (kv->type != NW_GGUF_STRING) {
        set_err(err, errlen, "key '%s' has type %s, expected string", key,
                value_type_name(kv->type));
        return NUWA_ERR_BAD_MODEL;
    }
    *out = kv->str;
    return 0;
}

int nw_gguf_get_u32_array(const NwGguf *g, const char *key, uint32_t *out, uint64_t n,
                          char *err, size_t errlen)
{
    const NwGgufKV *kv = get_kv(g, key, err, errlen);
    if (!kv)
        return NUWA_ERR_BAD_MODEL;
    int neg = 0;
    uint64_t v = 0;
    const int esz = kv->type == NW_GGUF_ARRAY ? value_size((uint32_t)kv->arr_type) : 0;
    if (kv->type != NW_GGUF_ARRAY || esz <= 0 || kv->arr_type == NW_GGUF_F32 ||
        kv->arr_type == NW_GGUF_F64) { /* (an empty array has no element to look at) */
        set_err(err, errlen, "key '%s' has type %s%s%s, expected an array of integers", key,
                value_type_name(kv->type), kv->type == NW_GGUF_ARRAY ? " of " : "",
                kv->type == NW_GGUF_ARRAY ? value_type_name(kv->arr_type) : "");
        return NUWA_ERR_BAD_MODEL;
    }
    if (kv->n != n) {
        set_err(err, errlen, "key '%s' has %" PRIu64 " elements, expected %" PRIu64, key, kv->n,
                n);
        return NUWA_ERR_BAD_MODEL;
    }
    for (uint64_t i = 0; i < n; i++) {
        load_int(kv->arr_type, kv->data + i * (uint64_t)esz, &neg, &v);
        if (neg || v > UINT32_MAX) {
            set_err(err, errlen, "key '%s' element %" PRIu64 " = %s%" PRIu64
                    " does not fit in u32", key, i, neg ? "-" : "", v);
            return NUWA_ERR_BAD_MODEL;
        }
        out[i] = (uint32_t)v;
    }
    return 0;
}

/* ---- half precision ------------------------------------------------------------------- */

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

float nw_f16_to_f32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f)                               /* inf / NaN (payload kept) */
        return bits_f32(sign | 0x7f800000u | (man << 13));
    if (exp != 0)
        return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
    if (man == 0)
        return bits_f32(sign);
    uint32_t e = 113;                              /* subnormal: normalise */
    while (!(man & 0x400u)) {
        man <<= 1;
        e--;
    }
    return bits_f32(sign | (e << 23) | ((man & 0x3ffu) << 13));
}

uint16_t nw_f32_to_f16(float f)
{
    const uint32_t x = f32_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) {
        if (ax == 0x7f800000u)
            return sign | 0x7c00u;
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu)); /* quiet NaN */
    }
    if (ax >= 0x477ff000u)                         /* >= 65520 rounds to infinity */
        return sign | 0x7c00u;
    if (ax >= 0x38800000u) {                       /* normal half */
        const uint32_t r = ax - 0x38000000u;
        uint32_t h = r >> 13;
        const uint32_t rem = r & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1)))
            h++;
        return (uint16_t)(sign | h);
    }
    const uint32_t e = ax >> 23;                   /* subnormal half or zero */
    if (e < 102)
        return sign;                               /* < 2^-25: rounds to 0 */
    const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;                /* 14..24 */
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1)))
        h++;
    return (uint16_t)(sign | h);
}

float nw_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t nw_f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);      /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

void nw_tensor_to_f32(const NwGgufTensor *t, float *dst)
{
    const uint8_t *src = t->data;
    const uint64_t n = t->n_elems;
    switch (t->type) {
    case NW_TYPE_F32:
        for (uint64_t i = 0; i < n; i++)
            dst[i] = bits_f32(ld_u32(src + 4 * i));
        break;
    case NW_TYPE_F16:
        for (uint64_t i = 0; i < n; i++)
            dst[i] = nw_f16_to_f32(ld_u16(src + 2 * i));
        break;
    case NW_TYPE_BF16:
        for (uint64_t i = 0; i < n; i++)
            dst[i] = nw_bf16_to_f32(ld_u16(src + 2 * i));
        break;
    case NW_TYPE_I32:
        for (uint64_t i = 0; i < n; i++)
            dst[i] = (float)(int32_t)ld_u32(src + 4 * i);
        break;
    default:
        break;
    }
}

/* ---- writer --------------------------------------------------------------------------- */

typedef struct WTensor {
    char *name;
    uint32_t type;
    int n_dims;
    uint64_t ne[4];
    uint64_t size;
    uint8_t *data;
} WTensor;

struct NwGgufWriter {
    uint8_t *kv;            /* serialised key/value pairs */
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    char **keys;
    size_t keys_cap;
    WTensor *tensors;
    size_t n_tensors, tensors_cap;
    uint64_t alignment;
};

NwGgufWriter *nw_gguf_writer_new(void)
{
    NwGgufWriter *w = calloc(1, sizeof(*w));
    if (w)
        w->alignment = GGUF_DEFAULT_ALIGNMENT;
    return w;
}

void nw_gguf_writer_free(NwGgufWriter **pw)
{
    if (!pw || !*pw)
        return;
    NwGgufWriter *w = *pw;
    for (uint64_t i = 0; i < w->n_kv; i++)
        free(w->keys[i]);
    free(w->keys);
    for (size_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    free(w->tensors);
    free(w->kv);
    free(w);
    *pw = NULL;
}

/* Reserves n bytes at the end of the KV buffer. */
static uint8_t *w_reserve(NwGgufWriter *w, size_t n)
{
    if (n > SIZE_MAX - w->kv_len)
        return NULL;
    if (w->kv_len + n > w->kv_cap) {
        size_t ncap = w->kv_cap ? w->kv_cap : 256;
        while (ncap < w->kv_len + n) {
            if (ncap > SIZE_MAX / 2)
                return NULL;
            ncap *= 2;
        }
        uint8_t *r = realloc(w->kv, ncap);
        if (!r)
            return NULL;
        w->kv = r;
        w->kv_cap = ncap;
    }
    uint8_t *p = w->kv + w->kv_len;
    w->kv_len += n;
    return p;
}

static int w_put_str(NwGgufWriter *w, const char *s)
{
    const size_t len = strlen(s);
    if (len > SIZE_MAX - 8)
        return NUWA_ERR_NOMEM;
    uint8_t *p = w_reserve(w, 8 + len);
    if (!p)
        return NUWA_ERR_NOMEM;
    st_u64(p, len);
    memcpy(p + 8, s, len);
    return 0;
}

static int w_name_ok(const char *name)
{
    return name && name[0] && strlen(name) <= GGUF_MAX_NAME;
}

/* Starts KV `key` of `type`; on failure nothing is added. */
static int w_begin_kv(NwGgufWriter *w, const char *key, uint32_t type, size_t *mark)
{
    if (!w || !w_name_ok(key))
        return NUWA_ERR_INVAL;
    for (uint64_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->keys[i], key))
            return NUWA_ERR_INVAL;
    if (w->n_kv == w->keys_cap) {
        const size_t ncap = w->keys_cap ? 2 * w->keys_cap : 16;
        char **r = realloc(w->keys, ncap * sizeof(*r));
        if (!r)
            return NUWA_ERR_NOMEM;
        w->keys = r;
        w->keys_cap = ncap;
    }
    *mark = w->kv_len;
    uint8_t *p;
    if (w_put_str(w, key) || !(p = w_reserve(w, 4))) {
        w->kv_len = *mark;
        return NUWA_ERR_NOMEM;
    }
    st_u32(p, type);
    return 0;
}

static int w_end_kv(NwGgufWriter *w, const char *key, int rc, size_t mark)
{
    if (!rc && !(w->keys[w->n_kv] = strdup(key)))
        rc = NUWA_ERR_NOMEM;
    if (rc) {
        w->kv_len = mark;
        return rc;
    }
    w->n_kv++;
    return 0;
}

/* Appends n elements of fixed-size type t from v (native C types). */
static int w_put_fixed(NwGgufWriter *w, uint32_t t, const void *v, uint64_t n)
{
    const int sz = value_size(t);
    if (n > SIZE_MAX / (size_t)sz)
        return NUWA_ERR_NOMEM;
    uint8_t *p = w_reserve(w, (size_t)n * (size_t)sz);
    if (!p)
        return NUWA_ERR_NOMEM;
    const uint8_t *s = v;
    for (uint64_t i = 0; i < n; i++, s += sz, p += sz) {
        if (t == NW_GGUF_BOOL) {
            p[0] = s[0] ? 1 : 0;
        } else if (sz == 1) {
            p[0] = s[0];
        } else if (sz == 2) {
            uint16_t x;
            memcpy(&x, s, 2);
            st_u16(p, x);
        } else if (sz == 4) {
            uint32_t x;
            memcpy(&x, s, 4);
            st_u32(p, x);
        } else {
            uint64_t x;
            memcpy(&x, s, 8);
            st_u64(p, x);
        }
    }
    return 0;
}

int nw_gguf_writer_add_scalar(NwGgufWriter *w, const char *key, int type, const void *v)
{
    if (!v || type < 0 || value_size((uint32_t)type) < 0 || type == NW_GGUF_ARRAY)
        return NUWA_ERR_INVAL;
    const int is_align = key && !strcmp(key, "general.alignment");
    uint32_t a = 0;
    if (is_align) {
        if (type != NW_GGUF_U32)
            return NUWA_ERR_INVAL;
        memcpy(&a, v, 4);
        if (!is_pow2(a) || a > GGUF_MAX_ALIGNMENT)
            return NUWA_ERR_INVAL;
    }
    size_t mark;
    int rc = w_begin_kv(w, key, (uint32_t)type, &mark);
    if (rc)
        return rc;
    if (type == NW_GGUF_STRING)
        rc = w_put_str(w, v);
    else
        rc = w_put_fixed(w, (uint32_t)type, v, 1);
    rc = w_end_kv(w, key, rc, mark);
    if (!rc && is_align)
        w->alignment = a;
    return rc;
}

int nw_gguf_writer_add_array(NwGgufWriter *w, const char *key, int elem_type, const void *v,
                             uint64_t n)
{
    if ((!v && n) || elem_type < 0 || value_size((uint32_t)elem_type) < 0 ||
        elem_type == NW_GGUF_ARRAY || (key && !strcmp(key, "general.alignment")))
        return NUWA_ERR_INVAL;
    if (elem_type == NW_GGUF_STRING)
        for (uint64_t i = 0; i < n; i++)
            if (!((const char *const *)v)[i])
                return NUWA_ERR_INVAL;
    size_t mark;
    int rc = w_begin_kv(w, key, NW_GGUF_ARRAY, &mark);
    if (rc)
        return rc;
    uint8_t *p = w_reserve(w, 12);
    if (!p) {
        rc = NUWA_ERR_NOMEM;
    } else {
        st_u32(p, (uint32_t)elem_type);
        st_u64(p + 4, n);
        if (elem_type == NW_GGUF_STRING) {
            for (uint64_t i = 0; i < n && !rc; i++)
                rc = w_put_str(w, ((const char *const *)v)[i]);
        } else if (n) {
            rc = w_put_fixed(w, (uint32_t)elem_type, v, n);
        }
    }
    return w_end_kv(w, key, rc, mark);
}

int nw_gguf_writer_add_u32(NwGgufWriter *w, const char *key, uint32_t v)
{
    return nw_gguf_writer_add_scalar(w, key, NW_GGUF_U32, &v);
}

int nw_gguf_writer_add_bool(NwGgufWriter *w, const char *key, int v)
{
    const uint8_t b = v ? 1 : 0;
    return nw_gguf_writer_add_scalar(w, key, NW_GGUF_BOOL, &b);
}

int nw_gguf_writer_add_str(NwGgufWriter *w, const char *key, const char *v)
{
    return nw_gguf_writer_add_scalar(w, key, NW_GGUF_STRING, v);
}

int nw_gguf_writer_add_u32_array(NwGgufWriter *w, const char *key, const uint32_t *v, uint64_t n)
{
    return nw_gguf_writer_add_array(w, key, NW_GGUF_U32, v, n);
}

int nw_gguf_writer_add_bool_array(NwGgufWriter *w, const char *key, const int *v, uint64_t n)
{
    if (!v && n)
        return NUWA_ERR_INVAL;
    if (n > SIZE_MAX)
        return NUWA_ERR_NOMEM;
    uint8_t *b = malloc(n ? (size_t)n : 1);
    if (!b)
        return NUWA_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++)
        b[i] = v[i] ? 1 : 0;
    const int rc = nw_gguf_writer_add_array(w, key, NW_GGUF_BOOL, b, n);
    free(b);
    return rc;
}

int nw_gguf_writer_add_tensor(NwGgufWriter *w, const char *name, int type, int n_dims,
                              const int64_t *shape, const void *data)
{
    if (!w || !w_name_ok(name) || !shape || n_dims < 1 || n_dims > 4 || type < 0 ||
        !tensor_type_size((uint32_t)type))
        return NUWA_ERR_INVAL;
    for (size_t i = 0; i < w->n_tensors; i++)
        if (!strcmp(w->tensors[i].name, name))
            return NUWA_ERR_INVAL;
    uint64_t n = 1;
    for (int d = 0; d < n_dims; d++) {
        if (shape[d] < 1 || n > UINT64_MAX / (uint64_t)shape[d])
            return NUWA_ERR_INVAL;
        n *= (uint64_t)shape[d];
    }
    const uint64_t esz = tensor_type_size((uint32_t)type);
    if (n > SIZE_MAX / esz)
        return NUWA_ERR_NOMEM;
    const uint64_t size = n * esz;
    if (w->n_tensors == w->tensors_cap) {
        const size_t ncap = w->tensors_cap ? 2 * w->tensors_cap : 16;
        WTensor *r = realloc(w->tensors, ncap * sizeof(*r));
        if (!r)
            return NUWA_ERR_NOMEM;
        w->tensors = r;
        w->tensors_cap = ncap;
    }
    WTensor t = { 0 };
    t.name = strdup(name);
    t.data = data ? malloc((size_t)size) : calloc(1, (size_t)size);
    if (!t.name || !t.data) {
        free(t.name);
        free(t.data);
        return NUWA_ERR_NOMEM;
    }
    if (data)
        memcpy(t.data, data, (size_t)size);
    t.type = (uint32_t)type;
    t.n_dims = n_dims;
    for (int d = 0; d < n_dims; d++)
        t.ne[d] = (uint64_t)shape[n_dims - 1 - d];
    t.size = size;
    w->tensors[w->n_tensors++] = t;
    return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

int nw_gguf_writer_to_buffer(NwGgufWriter *w, uint8_t **buf, size_t *size)
{
    if (!w || !buf || !size)
        return NUWA_ERR_INVAL;
    const uint64_t a = w->alignment;
    uint64_t pos = GGUF_HEADER_SIZE + (uint64_t)w->kv_len;
    for (size_t i = 0; i < w->n_tensors; i++)
        pos += 8 + strlen(w->tensors[i].name) + 4 + 8 * (uint64_t)w->tensors[i].n_dims + 4 + 8;
    uint64_t total = pos;
    if (w->n_tensors) {
        const uint64_t data_off = align_up(pos, a);
        uint64_t rel = 0;
        for (size_t i = 0; i < w->n_tensors; i++) {
            rel = align_up(rel, a);
            if (w->tensors[i].size > UINT64_MAX / 2 - rel)
                return NUWA_ERR_NOMEM;
            rel += w->tensors[i].size;
        }
        total = data_off + rel; /* no padding after the last tensor */
    }
    if (total > SIZE_MAX)
        return NUWA_ERR_NOMEM;
    uint8_t *b = calloc(1, (size_t)total);
    if (!b)
        return NUWA_ERR_NOMEM;
    memcpy(b, "GGUF", 4);
    st_u32(b + 4, 3);
    st_u64(b + 8, w->n_tensors);
    st_u64(b + 16, w->n_kv);
    uint8_t *p = b + GGUF_HEADER_SIZE;
    if (w->kv_len)
        memcpy(p, w->kv, w->kv_len);
    p += w->kv_len;
    uint64_t rel = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        const WTensor *t = &w->tensors[i];
        const size_t len = strlen(t->name);
        st_u64(p, len);
        memcpy(p + 8, t->name, len);
        p += 8 + len;
        st_u32(p, (uint32_t)t->n_dims);
        p += 4;
        for (int d = 0; d < t->n_dims; d++, p += 8)
            st_u64(p, t->ne[d]);
        st_u32(p, t->type);
        rel = align_up(rel, a);
        st_u64(p + 4, rel);
        p += 12;
        memcpy(b + align_up(pos, a) + rel, t->data, (size_t)t->size);
        rel += t->size;
    }
    *buf = b;
    *size = (size_t)total;
    return 0;
}

int nw_gguf_writer_save(NwGgufWriter *w, const char *path)
{
    if (!w || !path)
        return NUWA_ERR_INVAL;
    uint8_t *buf;
    size_t size;
    int rc = nw_gguf_writer_to_buffer(w, &buf, &size);
    if (rc)
        return rc;
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(buf);
        return NUWA_ERR_IO;
    }
    const int ok_write = fwrite(buf, 1, size, f) == size;
    const int ok_close = fclose(f) == 0;
    free(buf);
    if (!ok_write || !ok_close) {
        remove(path);
        return NUWA_ERR_IO;
    }
    return 0;
}
