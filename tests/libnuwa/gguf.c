/*
 * tests/libnuwa/gguf.c — GGUF reader/writer: round trips of every metadata and tensor type,
 * half-precision conversions, and a corpus of corrupted files (every truncation, every
 * field the reader validates, random byte flips). Every corrupted file is parsed from a
 * malloc'ed buffer of exactly its length so that AddressSanitizer catches any overread.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "nuwa.h"

/* ---- helpers -------------------------------------------------------------------------- */

typedef struct Buf {
    uint8_t *b;
    size_t n;
} Buf;

static Buf writer_buf(NwGgufWriter *w)
{
    Buf r = { 0 };
    cr_assert_eq(nw_gguf_writer_to_buffer(w, &r.b, &r.n), 0);
    return r;
}

/* The small file every corruption test starts from (keys and tensors in this order):
 *   general.alignment = 32 (u32, only if with_align)
 *   general.architecture = "nuwa", k.u32 = 7, k.arr = u32[1,2,3], k.str = "hello",
 *   k.bool = true
 *   t.a F32 (2,3) = 1..6, t.b F16 (4) = 1..4, t.c I32 (4) = 10..13
 * Tensor data starts at the first multiple of 32 after the tensor infos: t.a at +0,
 * t.b at +32, t.c at +64, and the file ends right after t.c. */
static Buf small_file(int with_align)
{
    NwGgufWriter *w = nw_gguf_writer_new();
    cr_assert_not_null(w);
    if (with_align)
        cr_assert_eq(nw_gguf_writer_add_u32(w, "general.alignment", 32), 0);
    cr_assert_eq(nw_gguf_writer_add_str(w, "general.architecture", "nuwa"), 0);
    cr_assert_eq(nw_gguf_writer_add_u32(w, "k.u32", 7), 0);
    const uint32_t arr[3] = { 1, 2, 3 };
    cr_assert_eq(nw_gguf_writer_add_u32_array(w, "k.arr", arr, 3), 0);
    cr_assert_eq(nw_gguf_writer_add_str(w, "k.str", "hello"), 0);
    cr_assert_eq(nw_gguf_writer_add_bool(w, "k.bool", 1), 0);
    const float a[6] = { 1, 2, 3, 4, 5, 6 };
    const int64_t sa[2] = { 2, 3 };
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "t.a", NW_TYPE_F32, 2, sa, a), 0);
    uint16_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = nw_f32_to_f16((float)(i + 1));
    const int64_t sb[1] = { 4 };
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "t.b", NW_TYPE_F16, 1, sb, b), 0);
    const int32_t c[4] = { 10, 11, 12, 13 };
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "t.c", NW_TYPE_I32, 1, sb, c), 0);
    Buf r = writer_buf(w);
    nw_gguf_writer_free(&w);
    cr_assert_null(w);
    return r;
}

static Buf copy_buf(Buf f)
{
    Buf r = { malloc(f.n ? f.n : 1), f.n };
    cr_assert_not_null(r.b);
    memcpy(r.b, f.b, f.n);
    return r;
}

/* Offset of the only occurrence of s in the file (asserted unique). */
static size_t at(Buf f, const char *s)
{
    const size_t len = strlen(s);
    size_t found = SIZE_MAX;
    for (size_t i = 0; i + len <= f.n; i++) {
        if (!memcmp(f.b + i, s, len)) {
            cr_assert_eq(found, SIZE_MAX, "'%s' occurs twice in the test file", s);
            found = i;
        }
    }
    cr_assert_neq(found, SIZE_MAX, "'%s' not found in the test file", s);
    return found;
}

static void put_u32(Buf f, size_t off, uint32_t v)
{
    cr_assert_leq(off + 4, f.n);
    for (int i = 0; i < 4; i++)
        f.b[off + i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(Buf f, size_t off, uint64_t v)
{
    cr_assert_leq(off + 8, f.n);
    for (int i = 0; i < 8; i++)
        f.b[off + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(Buf f, size_t off)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)f.b[off + i] << (8 * i);
    return v;
}

/* Parses the first n bytes of f from a malloc'ed buffer of exactly n bytes and requires
 * the error code and, if substr is not NULL, that substring in the message. */
static void expect_fail_n(Buf f, size_t n, int code, const char *substr)
{
    uint8_t *b = malloc(n ? n : 1);
    cr_assert_not_null(b);
    if (n)
        memcpy(b, f.b, n);
    NwGguf *g = NULL;
    char err[512] = "";
    const int rc = nw_gguf_open_memory(&g, b, n, err, sizeof(err));
    free(b);
    cr_assert_eq(rc, code, "size %zu: expected %d, got %d (%s)", n, code, rc, err);
    cr_assert_null(g);
    cr_assert_neq(err[0], 0, "size %zu: empty error message", n);
    if (substr)
        cr_assert_not_null(strstr(err, substr), "size %zu: message '%s' lacks '%s'", n, err,
                           substr);
}

static void expect_fail(Buf f, int code, const char *substr)
{
    expect_fail_n(f, f.n, code, substr);
}

static NwGguf *parse_ok(Buf f)
{
    NwGguf *g = NULL;
    char err[512] = "";
    const int rc = nw_gguf_open_memory(&g, f.b, f.n, err, sizeof(err));
    cr_assert_eq(rc, 0, "parse failed: %s", err);
    cr_assert_not_null(g);
    return g;
}

/* ---- round trips ---------------------------------------------------------------------- */

Test(gguf, small_file_parses)
{
    Buf f = small_file(0);
    NwGguf *g = parse_ok(f);
    cr_assert_eq(g->version, 3);
    cr_assert_eq(g->alignment, 32);
    cr_assert_eq(g->n_kv, 5);
    cr_assert_eq(g->n_tensors, 3);
    cr_assert_eq(g->data_offset % 32, 0);
    cr_assert_eq(g->base, f.b);
    cr_assert_eq(g->size, f.n);
    cr_assert_eq(g->mapped, 0);
    const char *s;
    cr_assert_eq(nw_gguf_get_str(g, "general.architecture", &s, NULL, 0), 0);
    cr_assert_str_eq(s, "nuwa");
    const NwGgufTensor *c = nw_gguf_find_tensor(g, "t.c");
    cr_assert_not_null(c);
    cr_assert_eq(c->offset, g->data_offset + 64);
    cr_assert_eq(c->offset + c->size, f.n, "no padding after the last tensor");
    /* keys in insertion order */
    cr_assert_str_eq(g->kv[0].key, "general.architecture");
    cr_assert_str_eq(g->kv[4].key, "k.bool");
    nw_gguf_close(&g);
    cr_assert_null(g);
    nw_gguf_close(&g); /* NULL is fine */
    nw_gguf_close(NULL);
    free(f.b);
}

Test(gguf, metadata_round_trip_every_type)
{
    NwGgufWriter *w = nw_gguf_writer_new();
    cr_assert_not_null(w);
    const uint8_t u8 = 200, bt = 1;
    const int8_t i8 = -100;
    const uint16_t u16 = 60000;
    const int16_t i16 = -30000;
    const uint32_t u32 = 4000000000u;
    const int32_t i32 = -2000000000;
    const float f32 = 1.5f;
    const uint64_t u64 = (1ull << 63) + 5;
    const int64_t i64 = INT64_MIN;
    const double f64 = -0.1;
    const char *str = "h\xc3\xa9llo";
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.u8", NW_GGUF_U8, &u8), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.i8", NW_GGUF_I8, &i8), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.u16", NW_GGUF_U16, &u16), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.i16", NW_GGUF_I16, &i16), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.u32", NW_GGUF_U32, &u32), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.i32", NW_GGUF_I32, &i32), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.f32", NW_GGUF_F32, &f32), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.bool", NW_GGUF_BOOL, &bt), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.str", NW_GGUF_STRING, str), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.u64", NW_GGUF_U64, &u64), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.i64", NW_GGUF_I64, &i64), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "s.f64", NW_GGUF_F64, &f64), 0);
    cr_assert_eq(nw_gguf_writer_add_str(w, "s.empty", ""), 0);

    const uint8_t au8[3] = { 0, 1, 255 };
    const int8_t ai8[3] = { -128, 0, 127 };
    const uint16_t au16[3] = { 0, 1, 65535 };
    const int16_t ai16[3] = { -32768, 0, 32767 };
    const uint32_t au32[3] = { 0, 1, UINT32_MAX };
    const int32_t ai32[3] = { INT32_MIN, 0, INT32_MAX };
    const float af32[3] = { -1.0f, 0.0f, 3.25f };
    const uint8_t abool[3] = { 1, 0, 1 };
    const char *const astr[3] = { "a", "", "ccc" };
    const uint64_t au64[3] = { 0, 1, UINT64_MAX };
    const int64_t ai64[3] = { INT64_MIN, 0, INT64_MAX };
    const double af64[3] = { -2.5, 0.0, 1e300 };
    const void *arrays[13] = { au8, ai8, au16, ai16, au32, ai32, af32, abool, astr, NULL,
                               au64, ai64, af64 };
    const size_t esz[13] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
    char key[32];
    for (int t = 0; t < 13; t++) {
        if (t == NW_GGUF_ARRAY)
            continue;
        snprintf(key, sizeof(key), "a.%d", t);
        cr_assert_eq(nw_gguf_writer_add_array(w, key, t, arrays[t], 3), 0, "type %d", t);
    }
    cr_assert_eq(nw_gguf_writer_add_array(w, "a.empty_u32", NW_GGUF_U32, NULL, 0), 0);
    cr_assert_eq(nw_gguf_writer_add_array(w, "a.empty_str", NW_GGUF_STRING, NULL, 0), 0);
    const int ib[4] = { 1, 0, 7, 0 };
    cr_assert_eq(nw_gguf_writer_add_bool_array(w, "a.bools", ib, 4), 0);

    Buf f = writer_buf(w);
    nw_gguf_writer_free(&w);
    NwGguf *g = parse_ok(f);
    cr_assert_eq(g->n_kv, 13 + 12 + 3);
    cr_assert_eq(g->n_tensors, 0);

    struct { const char *k; int type; const void *v; size_t n; } sc[] = {
        { "s.u8", NW_GGUF_U8, &u8, 1 },      { "s.i8", NW_GGUF_I8, &i8, 1 },
        { "s.u16", NW_GGUF_U16, &u16, 2 },   { "s.i16", NW_GGUF_I16, &i16, 2 },
        { "s.u32", NW_GGUF_U32, &u32, 4 },   { "s.i32", NW_GGUF_I32, &i32, 4 },
        { "s.f32", NW_GGUF_F32, &f32, 4 },   { "s.bool", NW_GGUF_BOOL, &bt, 1 },
        { "s.u64", NW_GGUF_U64, &u64, 8 },   { "s.i64", NW_GGUF_I64, &i64, 8 },
        { "s.f64", NW_GGUF_F64, &f64, 8 },
    };
    for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
        const NwGgufKV *kv = nw_gguf_find_kv(g, sc[i].k);
        cr_assert_not_null(kv, "%s", sc[i].k);
        cr_assert_eq(kv->type, sc[i].type, "%s", sc[i].k);
        cr_assert_eq(kv->n, 1);
        cr_assert_not_null(kv->data);
        cr_assert_eq(memcmp(kv->data, sc[i].v, sc[i].n), 0, "%s value", sc[i].k);
        cr_assert_null(kv->str);
        cr_assert_null(kv->strs);
    }
    const NwGgufKV *kv = nw_gguf_find_kv(g, "s.str");
    cr_assert_eq(kv->type, NW_GGUF_STRING);
    cr_assert_str_eq(kv->str, str);
    cr_assert_str_eq(nw_gguf_find_kv(g, "s.empty")->str, "");

    for (int t = 0; t < 13; t++) {
        if (t == NW_GGUF_ARRAY)
            continue;
        snprintf(key, sizeof(key), "a.%d", t);
        kv = nw_gguf_find_kv(g, key);
        cr_assert_not_null(kv, "%s", key);
        cr_assert_eq(kv->type, NW_GGUF_ARRAY);
        cr_assert_eq(kv->arr_type, t);
        cr_assert_eq(kv->n, 3);
        if (t == NW_GGUF_STRING) {
            cr_assert_not_null(kv->strs);
            for (int j = 0; j < 3; j++)
                cr_assert_str_eq(kv->strs[j], astr[j]);
        } else {
            cr_assert_eq(memcmp(kv->data, arrays[t], 3 * esz[t]), 0, "%s", key);
        }
    }
    kv = nw_gguf_find_kv(g, "a.empty_u32");
    cr_assert_eq(kv->n, 0);
    cr_assert_eq(kv->arr_type, NW_GGUF_U32);
    kv = nw_gguf_find_kv(g, "a.empty_str");
    cr_assert_eq(kv->n, 0);
    cr_assert_null(kv->strs);
    kv = nw_gguf_find_kv(g, "a.bools");
    cr_assert_eq(kv->arr_type, NW_GGUF_BOOL);
    const uint8_t want_bools[4] = { 1, 0, 1, 0 };
    cr_assert_eq(memcmp(kv->data, want_bools, 4), 0);
    cr_assert_null(nw_gguf_find_kv(g, "missing"));
    nw_gguf_close(&g);
    free(f.b);
}

Test(gguf, typed_getters)
{
    NwGgufWriter *w = nw_gguf_writer_new();
    const uint8_t u8 = 9;
    const int64_t i64_small = 12, i64_neg = -1;
    const uint64_t u64_big = 1ull << 32;
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "u8", NW_GGUF_U8, &u8), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "i64", NW_GGUF_I64, &i64_small), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "neg", NW_GGUF_I64, &i64_neg), 0);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "big", NW_GGUF_U64, &u64_big), 0);
    cr_assert_eq(nw_gguf_writer_add_bool(w, "b", 1), 0);
    cr_assert_eq(nw_gguf_writer_add_str(w, "s", "x"), 0);
    const uint32_t arr[3] = { 4, 5, 6 };
    cr_assert_eq(nw_gguf_writer_add_u32_array(w, "arr", arr, 3), 0);
    const int barr[3] = { 0, 1, 1 };
    cr_assert_eq(nw_gguf_writer_add_bool_array(w, "barr", barr, 3), 0);
    const int16_t negarr[2] = { 1, -2 };
    cr_assert_eq(nw_gguf_writer_add_array(w, "negarr", NW_GGUF_I16, negarr, 2), 0);
    const char *sarr[1] = { "x" };
    cr_assert_eq(nw_gguf_writer_add_array(w, "sarr", NW_GGUF_STRING, sarr, 1), 0);
    const float farr[1] = { 1.0f };
    cr_assert_eq(nw_gguf_writer_add_array(w, "farr", NW_GGUF_F32, farr, 1), 0);
    /* last in the file, no tensors: its data pointer is the end of the buffer */
    cr_assert_eq(nw_gguf_writer_add_u32_array(w, "empty", NULL, 0), 0);
    Buf f = writer_buf(w);
    nw_gguf_writer_free(&w);
    NwGguf *g = parse_ok(f);

    char err[256];
    uint32_t v = 0;
    int b = -1;
    const char *s = NULL;
    cr_assert_eq(nw_gguf_get_u32(g, "u8", &v, err, sizeof(err)), 0);
    cr_assert_eq(v, 9);
    cr_assert_eq(nw_gguf_get_u32(g, "i64", &v, err, sizeof(err)), 0);
    cr_assert_eq(v, 12);
    cr_assert_eq(nw_gguf_get_u32(g, "neg", &v, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_not_null(strstr(err, "does not fit in u32"), "%s", err);
    cr_assert_eq(nw_gguf_get_u32(g, "big", &v, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_not_null(strstr(err, "4294967296"), "%s", err);
    cr_assert_eq(nw_gguf_get_u32(g, "s", &v, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_not_null(strstr(err, "has type string"), "%s", err);
    cr_assert_eq(nw_gguf_get_u32(g, "nope", &v, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_not_null(strstr(err, "missing key 'nope'"), "%s", err);
    cr_assert_eq(nw_gguf_get_u32(g, "nope", &v, NULL, 0), NUWA_ERR_BAD_MODEL);

    cr_assert_eq(nw_gguf_get_bool(g, "b", &b, err, sizeof(err)), 0);
    cr_assert_eq(b, 1);
    cr_assert_eq(nw_gguf_get_bool(g, "s", &b, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_eq(nw_gguf_get_bool(g, "u8", &b, err, sizeof(err)), NUWA_ERR_BAD_MODEL);

    cr_assert_eq(nw_gguf_get_str(g, "s", &s, err, sizeof(err)), 0);
    cr_assert_str_eq(s, "x");
    cr_assert_eq(nw_gguf_get_str(g, "u8", &s, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_not_null(strstr(err, "expected string"), "%s", err);

    uint32_t out[3] = { 0 };
    cr_assert_eq(nw_gguf_get_u32_array(g, "arr", out, 3, err, sizeof(err)), 0);
    cr_assert_eq(memcmp(out, arr, sizeof(arr)), 0);
    cr_assert_eq(nw_gguf_get_u32_array(g, "barr", out, 3, err, sizeof(err)), 0);
    cr_assert(out[0] == 0 && out[1] == 1 && out[2] == 1);
    cr_assert_eq(nw_gguf_get_u32_array(g, "arr", out, 2, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_not_null(strstr(err, "has 3 elements, expected 2"), "%s", err);
    cr_assert_eq(nw_gguf_get_u32_array(g, "negarr", out, 2, err, sizeof(err)),
                 NUWA_ERR_BAD_MODEL);
    cr_assert_not_null(strstr(err, "element 1 = -2"), "%s", err);
    cr_assert_eq(nw_gguf_get_u32_array(g, "sarr", out, 1, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_eq(nw_gguf_get_u32_array(g, "farr", out, 1, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_not_null(strstr(err, "has type array of f32"), "%s", err);
    cr_assert_eq(nw_gguf_get_u32_array(g, "empty", out, 0, err, sizeof(err)), 0);
    cr_assert_eq(nw_gguf_get_u32_array(g, "empty", out, 1, err, sizeof(err)),
                 NUWA_ERR_BAD_MODEL);
    cr_assert_eq(nw_gguf_get_u32_array(g, "u8", out, 1, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_not_null(strstr(err, "expected an array"), "%s", err);
    nw_gguf_close(&g);
    free(f.b);
}

Test(gguf, tensor_round_trip)
{
    NwGgufWriter *w = nw_gguf_writer_new();
    const float a[6] = { 1.5f, -2.0f, 3.0f, 0.25f, -0.0f, 1e30f };
    uint16_t h[4], bf[12];
    const float hv[4] = { 1.0f, -0.5f, 65504.0f, 5.9604645e-08f };
    for (int i = 0; i < 4; i++)
        h[i] = nw_f32_to_f16(hv[i]);
    for (int i = 0; i < 12; i++)
        bf[i] = nw_f32_to_bf16((float)i - 5.5f);
    const int32_t iv[5] = { INT32_MIN, -1, 0, 1, 123456 };
    const int64_t sa[2] = { 2, 3 }, sh[1] = { 4 }, sb[4] = { 1, 2, 2, 3 }, si[1] = { 5 };
    cr_assert_eq(nw_gguf_writer_add_str(w, "general.architecture", "nuwa"), 0);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "f32", NW_TYPE_F32, 2, sa, a), 0);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "f16", NW_TYPE_F16, 1, sh, h), 0);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "bf16", NW_TYPE_BF16, 4, sb, bf), 0);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "i32", NW_TYPE_I32, 1, si, iv), 0);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "zeros", NW_TYPE_F32, 1, si, NULL), 0);
    Buf f = writer_buf(w);
    nw_gguf_writer_free(&w);
    NwGguf *g = parse_ok(f);
    cr_assert_eq(g->n_tensors, 5);

    struct { const char *name; int type, nd; int64_t shape[4]; uint64_t n, size; const void *d; }
    want[5] = {
        { "f32", NW_TYPE_F32, 2, { 2, 3, 1, 1 }, 6, 24, a },
        { "f16", NW_TYPE_F16, 1, { 4, 1, 1, 1 }, 4, 8, h },
        { "bf16", NW_TYPE_BF16, 4, { 1, 2, 2, 3 }, 12, 24, bf },
        { "i32", NW_TYPE_I32, 1, { 5, 1, 1, 1 }, 5, 20, iv },
        { "zeros", NW_TYPE_F32, 1, { 5, 1, 1, 1 }, 5, 20, NULL },
    };
    const char *names[5] = { "F32", "F16", "BF16", "I32", "F32" };
    uint64_t prev_end = g->data_offset;
    for (int i = 0; i < 5; i++) {
        const NwGgufTensor *t = nw_gguf_find_tensor(g, want[i].name);
        cr_assert_not_null(t, "%s", want[i].name);
        cr_assert_eq(t, &g->tensors[i], "tensors in insertion order");
        cr_assert_eq(t->type, want[i].type);
        cr_assert_str_eq(nw_gguf_type_name(t->type), names[i]);
        cr_assert_eq(t->n_dims, want[i].nd);
        for (int d = 0; d < 4; d++)
            cr_assert_eq(t->shape[d], want[i].shape[d], "%s shape[%d]", want[i].name, d);
        cr_assert_eq(t->n_elems, want[i].n);
        cr_assert_eq(t->size, want[i].size);
        cr_assert_eq(t->offset % 32, 0);
        cr_assert_eq((const uint8_t *)t->data, f.b + t->offset);
        /* zero padding between tensors */
        for (uint64_t o = prev_end; o < t->offset; o++)
            cr_assert_eq(f.b[o], 0, "padding byte at %llu", (unsigned long long)o);
        prev_end = t->offset + t->size;
        if (want[i].d)
            cr_assert_eq(memcmp(t->data, want[i].d, t->size), 0, "%s data", want[i].name);
        else
            for (uint64_t o = 0; o < t->size; o++)
                cr_assert_eq(((const uint8_t *)t->data)[o], 0);
    }
    cr_assert_eq(prev_end, f.n);
    /* the raw GGUF dims are the PyTorch shape reversed */
    const NwGgufTensor *t = nw_gguf_find_tensor(g, "bf16");
    const size_t name_at = at(f, "bf16") + 4;
    cr_assert_eq(f.b[name_at], 4); /* n_dims */
    const uint64_t ne_want[4] = { 3, 2, 2, 1 };
    for (int d = 0; d < 4; d++)
        cr_assert_eq(get_u64(f, name_at + 4 + 8 * (size_t)d), ne_want[d]);

    float out[12];
    nw_tensor_to_f32(nw_gguf_find_tensor(g, "f32"), out);
    cr_assert_eq(memcmp(out, a, sizeof(a)), 0);
    nw_tensor_to_f32(nw_gguf_find_tensor(g, "f16"), out);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(out[i], hv[i]);
    nw_tensor_to_f32(t, out);
    for (int i = 0; i < 12; i++)
        cr_assert_eq(out[i], (float)i - 5.5f);
    nw_tensor_to_f32(nw_gguf_find_tensor(g, "i32"), out);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(out[i], (float)iv[i]);
    cr_assert_null(nw_gguf_find_tensor(g, "missing"));
    cr_assert_str_eq(nw_gguf_type_name(2), "?");

    /* trailing bytes after the last tensor (e.g. padding by other writers) are fine */
    Buf longer = { calloc(1, f.n + 32), f.n + 32 };
    memcpy(longer.b, f.b, f.n);
    NwGguf *g2 = parse_ok(longer);
    nw_gguf_close(&g2);
    free(longer.b);
    nw_gguf_close(&g);
    free(f.b);
}

Test(gguf, writer_alignment_64)
{
    NwGgufWriter *w = nw_gguf_writer_new();
    cr_assert_eq(nw_gguf_writer_add_u32(w, "general.alignment", 64), 0);
    const int64_t s1[1] = { 3 };
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "x", NW_TYPE_F32, 1, s1, NULL), 0);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "y", NW_TYPE_F32, 1, s1, NULL), 0);
    Buf f = writer_buf(w);
    nw_gguf_writer_free(&w);
    NwGguf *g = parse_ok(f);
    cr_assert_eq(g->alignment, 64);
    cr_assert_eq(g->data_offset % 64, 0);
    cr_assert_eq(g->tensors[1].offset, g->data_offset + 64);
    nw_gguf_close(&g);
    free(f.b);
}

Test(gguf, writer_rejects_bad_input)
{
    NwGgufWriter *w = nw_gguf_writer_new();
    const int64_t s1[1] = { 3 }, s0[1] = { 0 }, s5[5] = { 1, 1, 1, 1, 1 };
    const uint32_t one = 1;
    cr_assert_eq(nw_gguf_writer_add_u32(w, "k", 1), 0);
    cr_assert_eq(nw_gguf_writer_add_u32(w, "k", 2), NUWA_ERR_INVAL);     /* duplicate */
    cr_assert_eq(nw_gguf_writer_add_u32(w, "", 2), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_u32(w, NULL, 2), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_u32(NULL, "z", 2), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_str(w, "z", NULL), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "z", 13, &one), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_scalar(w, "z", NW_GGUF_ARRAY, &one), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_array(w, "z", NW_GGUF_ARRAY, &one, 1), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_u32(w, "general.alignment", 48), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_u32(w, "general.alignment", 0), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_u32(w, "general.alignment", 1u << 21), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_bool(w, "general.alignment", 1), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "t", 2, 1, s1, NULL), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "t", NW_TYPE_F32, 0, s1, NULL), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "t", NW_TYPE_F32, 5, s5, NULL), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "t", NW_TYPE_F32, 1, s0, NULL), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "", NW_TYPE_F32, 1, s1, NULL), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "t", NW_TYPE_F32, 1, s1, NULL), 0);
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "t", NW_TYPE_F32, 1, s1, NULL), NUWA_ERR_INVAL);
    /* failed calls leave nothing behind */
    Buf f = writer_buf(w);
    nw_gguf_writer_free(&w);
    nw_gguf_writer_free(&w);
    NwGguf *g = parse_ok(f);
    cr_assert_eq(g->n_kv, 1);
    cr_assert_eq(g->n_tensors, 1);
    cr_assert_eq(g->alignment, 32);
    nw_gguf_close(&g);
    free(f.b);

    /* an empty writer gives a valid, empty file */
    w = nw_gguf_writer_new();
    f = writer_buf(w);
    nw_gguf_writer_free(&w);
    cr_assert_eq(f.n, 24);
    g = parse_ok(f);
    cr_assert_eq(g->n_kv + g->n_tensors, 0);
    nw_gguf_close(&g);
    free(f.b);
}

/* ---- half precision ------------------------------------------------------------------- */

/* Exact value of a half, computed independently of the implementation under test. */
static double f16_value(uint16_t h)
{
    const int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    const double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

Test(gguf, f16_all_values_round_trip)
{
    for (uint32_t i = 0; i < 65536; i++) {
        const uint16_t h = (uint16_t)i;
        const float f = nw_f16_to_f32(h);
        const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
        if (e == 0x1f && m) {
            cr_assert(isnan(f), "0x%04x should be NaN", h);
            const uint16_t back = nw_f32_to_f16(f);
            cr_assert_eq(back & 0x7c00, 0x7c00, "0x%04x", h);
            cr_assert_neq(back & 0x3ff, 0, "0x%04x NaN must stay NaN", h);
            cr_assert_eq(back & 0x8000, h & 0x8000);
            continue;
        }
        if (e == 0x1f)
            cr_assert(isinf(f) && (f < 0) == (h >> 15), "0x%04x should be inf", h);
        else
            cr_assert_eq((double)f, f16_value(h), "0x%04x: %.9g", h, (double)f);
        cr_assert_eq(nw_f32_to_f16(f), h, "0x%04x does not round trip (0x%04x)", h,
                     nw_f32_to_f16(f));
    }
}

Test(gguf, f16_rounding)
{
    const struct { float f; uint16_t h; } cases[] = {
        { 1.0f, 0x3c00 },
        { 1.0f + 0x1p-11f, 0x3c00 },            /* tie -> even (down) */
        { 1.0f + 0x1p-11f + 0x1p-23f, 0x3c01 }, /* just above the tie */
        { 1.0f + 3 * 0x1p-11f, 0x3c02 },        /* tie -> even (up) */
        { 1.0f + 0x1p-11f - 0x1p-23f, 0x3c00 }, /* just below the tie */
        { -2.0f, 0xc000 },
        { 0.0f, 0x0000 },
        { -0.0f, 0x8000 },
        { 65504.0f, 0x7bff },                   /* largest half */
        { 65519.0f, 0x7bff },
        { 65520.0f, 0x7c00 },                   /* tie with 65536 -> overflow to inf */
        { 1e6f, 0x7c00 },
        { -1e6f, 0xfc00 },
        { INFINITY, 0x7c00 },
        { -INFINITY, 0xfc00 },
        { 3.4028235e38f, 0x7c00 },
        { 0x1p-14f, 0x0400 },                   /* smallest normal */
        { 1023 * 0x1p-24f, 0x03ff },            /* largest subnormal */
        { 1023.5f * 0x1p-24f, 0x0400 },         /* tie -> even rounds up into the normals */
        { 0x1p-24f, 0x0001 },                   /* smallest subnormal */
        { 0x1p-25f, 0x0000 },                   /* tie with 0 -> even (0) */
        { 0x1p-25f + 0x1p-40f, 0x0001 },
        { 3 * 0x1p-25f, 0x0002 },               /* 1.5 units: tie -> even (2) */
        { 5 * 0x1p-25f, 0x0002 },               /* 2.5 units: tie -> even (2) */
        { 7 * 0x1p-25f, 0x0004 },               /* 3.5 units: tie -> even (4) */
        { -0x1p-24f, 0x8001 },
        { 1e-10f, 0x0000 },
        { -1e-10f, 0x8000 },
        { 1e-45f, 0x0000 },                     /* f32 subnormal */
        { 0.1f, 0x2e66 },
        { 3.14159265f, 0x4248 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_eq(nw_f32_to_f16(cases[i].f), cases[i].h, "%a -> 0x%04x, want 0x%04x",
                     (double)cases[i].f, nw_f32_to_f16(cases[i].f), cases[i].h);
    const uint16_t n = nw_f32_to_f16(NAN);
    cr_assert(((n & 0x7c00) == 0x7c00) && (n & 0x3ff));
    /* a NaN whose payload sits only in the low bits must not become infinity */
    const uint16_t n2 = nw_f32_to_f16(from_bits(0x7f800001u));
    cr_assert(((n2 & 0x7c00) == 0x7c00) && (n2 & 0x3ff));
}

Test(gguf, bf16_conversions)
{
    for (uint32_t i = 0; i < 65536; i++) {
        const float f = nw_bf16_to_f32((uint16_t)i);
        cr_assert_eq(bits(f), i << 16);
        if (!isnan(f))
            cr_assert_eq(nw_f32_to_bf16(f), i, "0x%04x", i);
        else
            cr_assert(isnan(nw_bf16_to_f32(nw_f32_to_bf16(f))));
    }
    const struct { uint32_t f; uint16_t h; } cases[] = {
        { 0x3f800000u, 0x3f80 },
        { 0x3f808000u, 0x3f80 }, /* tie -> even (down) */
        { 0x3f818000u, 0x3f82 }, /* tie -> even (up) */
        { 0x3f808001u, 0x3f81 },
        { 0x3f807fffu, 0x3f80 },
        { 0x7f7fffffu, 0x7f80 }, /* FLT_MAX rounds to inf */
        { 0xff7fffffu, 0xff80 },
        { 0x00000001u, 0x0000 }, /* subnormal rounds to 0 */
        { 0x00008000u, 0x0000 }, /* tie -> even */
        { 0x00018000u, 0x0002 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_eq(nw_f32_to_bf16(from_bits(cases[i].f)), cases[i].h, "0x%08x", cases[i].f);
    const uint16_t n = nw_f32_to_bf16(from_bits(0x7f800001u));
    cr_assert(((n & 0x7f80) == 0x7f80) && (n & 0x7f), "NaN stays NaN: 0x%04x", n);
}

/* ---- corruption ----------------------------------------------------------------------- */

Test(gguf, truncated_at_every_length)
{
    Buf f = small_file(1);
    for (size_t n = 0; n < f.n; n++) {
        expect_fail_n(f, n, NUWA_ERR_BAD_MODEL, NULL);
        uint8_t *b = malloc(n ? n : 1);
        memcpy(b, f.b, n);
        NwGguf *g = NULL;
        char err[512] = "";
        nw_gguf_open_memory(&g, b, n, err, sizeof(err));
        free(b);
        if (n < 24)
            cr_assert_not_null(strstr(err, "file too small to be GGUF"), "%zu: %s", n, err);
        else
            cr_assert(strstr(err, "truncated file") || strstr(err, "past the end") ||
                      strstr(err, "too large") || strstr(err, "need at least"),
                      "%zu: %s", n, err);
    }
    expect_fail_n(f, 0, NUWA_ERR_BAD_MODEL, "file too small to be GGUF (0 bytes)");
    expect_fail_n(f, 23, NUWA_ERR_BAD_MODEL, "file too small to be GGUF (23 bytes)");
    /* the name of the truncated field and its offset are in the message */
    const size_t ta = at(f, "t.a");
    char want[128];
    snprintf(want, sizeof(want), "truncated file: tensor 0 name at offset %zu needs 3 bytes, 1 "
             "left", ta);
    expect_fail_n(f, ta + 1, NUWA_ERR_BAD_MODEL, want);
    expect_fail_n(f, f.n - 1, NUWA_ERR_BAD_MODEL, "tensor 't.c' data [");
    NwGguf *g = parse_ok(f);
    nw_gguf_close(&g);
    free(f.b);
}

Test(gguf, bad_magic)
{
    Buf f = small_file(0);
    f.b[3] = 'X';
    expect_fail(f, NUWA_ERR_BAD_MODEL, "bad magic 'GGUX' (not a GGUF file)");
    f.b[0] = 0x89;
    expect_fail(f, NUWA_ERR_BAD_MODEL, "bad magic '\\x89GUX'");
    free(f.b);
}

Test(gguf, bad_version)
{
    Buf f = small_file(0);
    const uint32_t versions[3] = { 1, 2, 4 };
    char want[64];
    for (int i = 0; i < 3; i++) {
        put_u32(f, 4, versions[i]);
        snprintf(want, sizeof(want), "unsupported GGUF version %u (need 3)", versions[i]);
        expect_fail(f, NUWA_ERR_BAD_MODEL, want);
    }
    put_u32(f, 4, 0x03000000u);
    expect_fail(f, NUWA_ERR_BAD_MODEL, "big-endian");
    free(f.b);
}

Test(gguf, huge_counts)
{
    Buf f = small_file(0);
    Buf c = copy_buf(f);
    put_u64(c, 16, 1ull << 62);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "n_kv 4611686018427387904 at offset 16 is too large");
    memcpy(c.b, f.b, f.n);
    put_u64(c, 8, 1ull << 62);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "n_tensors 4611686018427387904 at offset 8 is too large");
    memcpy(c.b, f.b, f.n);
    put_u64(c, 16, UINT64_MAX);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "n_kv 18446744073709551615");
    memcpy(c.b, f.b, f.n);
    /* each count fits alone but not both together */
    put_u64(c, 16, (f.n - 24) / 13);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "need at least");
    /* one tensor more than the file holds: the parser runs into the data */
    memcpy(c.b, f.b, f.n);
    put_u64(c, 8, 4);
    expect_fail(c, NUWA_ERR_BAD_MODEL, NULL);
    free(c.b);
    free(f.b);
}

Test(gguf, bad_strings)
{
    Buf f = small_file(0);
    Buf c = copy_buf(f);
    const size_t k = at(f, "k.u32");
    char want[160];
    put_u64(c, k - 8, 1ull << 62);
    snprintf(want, sizeof(want), "KV 1 key length 4611686018427387904 at offset %zu exceeds the "
             "limit of 1048576 bytes", k - 8);
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);
    put_u64(c, k - 8, (1u << 20) + 1);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "length 1048577");
    put_u64(c, k - 8, 0);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "KV 1 key at offset");
    expect_fail(c, NUWA_ERR_BAD_MODEL, "is empty");

    memcpy(c.b, f.b, f.n);
    const size_t s = at(f, "hello");
    put_u64(c, s - 8, 1ull << 40);
    snprintf(want, sizeof(want), "truncated file: key 'k.str' string value at offset %zu needs "
             "1099511627776 bytes", s);
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);
    put_u64(c, s - 8, UINT64_MAX);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "needs 18446744073709551615 bytes");

    memcpy(c.b, f.b, f.n);
    c.b[k + 1] = 0;
    expect_fail(c, NUWA_ERR_BAD_MODEL, "contains a NUL byte");
    memcpy(c.b, f.b, f.n);
    const size_t t = at(f, "t.b");
    c.b[t + 2] = 0;
    expect_fail(c, NUWA_ERR_BAD_MODEL, "tensor 1 name 't.\\x00' at offset");
    memcpy(c.b, f.b, f.n);
    put_u64(c, t - 8, 0);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "tensor 1 name at offset");
    free(c.b);
    free(f.b);
}

Test(gguf, bad_value_types)
{
    Buf f = small_file(0);
    Buf c = copy_buf(f);
    char want[160];
    const size_t k = at(f, "k.u32");
    put_u32(c, k + 5, 13);
    snprintf(want, sizeof(want), "key 'k.u32' at offset %zu has unknown value type 13", k + 5);
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);
    put_u32(c, k + 5, 0xffffffffu);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "unknown value type 4294967295");

    memcpy(c.b, f.b, f.n);
    const size_t a = at(f, "k.arr");
    put_u32(c, a + 9, NW_GGUF_ARRAY);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "key 'k.arr' at offset");
    expect_fail(c, NUWA_ERR_BAD_MODEL, "arrays of arrays are not supported");
    put_u32(c, a + 9, 200);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "unknown element type 200");

    memcpy(c.b, f.b, f.n);
    put_u64(c, a + 13, 1ull << 61);
    snprintf(want, sizeof(want), "key 'k.arr' array count 2305843009213693952 at offset %zu is "
             "too large", a + 13);
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);
    put_u64(c, a + 13, 4); /* one element too many: runs into the next key */
    expect_fail(c, NUWA_ERR_BAD_MODEL, NULL);

    memcpy(c.b, f.b, f.n);
    const size_t b = at(f, "k.bool");
    c.b[b + 10] = 2;
    expect_fail(c, NUWA_ERR_BAD_MODEL, "key 'k.bool' bool value 2");

    /* a bool array element outside 0/1 */
    memcpy(c.b, f.b, f.n);
    put_u32(c, a + 9, NW_GGUF_BOOL);
    put_u64(c, a + 13, 12); /* the 12 bytes of the three u32 */
    expect_fail(c, NUWA_ERR_BAD_MODEL, "bool element 4 = 2");

    /* a string read as the wrong type shifts everything after it: still a clean error */
    memcpy(c.b, f.b, f.n);
    const size_t s = at(f, "k.str");
    put_u32(c, s + 5, NW_GGUF_U8);
    expect_fail(c, NUWA_ERR_BAD_MODEL, NULL);
    free(c.b);
    free(f.b);
}

Test(gguf, bad_tensor_infos)
{
    Buf f = small_file(0);
    Buf c = copy_buf(f);
    char want[200];
    const size_t ta = at(f, "t.a"), tb = at(f, "t.b"), tc = at(f, "t.c");

    put_u32(c, ta + 3, 0);
    snprintf(want, sizeof(want), "tensor 't.a' n_dims 0 at offset %zu is not in 1..4", ta + 3);
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);
    put_u32(c, ta + 3, 5);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "tensor 't.a' n_dims 5 at offset");

    memcpy(c.b, f.b, f.n);
    put_u64(c, ta + 15, 0);
    snprintf(want, sizeof(want), "tensor 't.a' ne[1] at offset %zu is 0", ta + 15);
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);

    memcpy(c.b, f.b, f.n);
    put_u64(c, ta + 7, 1ull << 32);
    put_u64(c, ta + 15, 1ull << 32);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "tensor 't.a' dims at offset");
    expect_fail(c, NUWA_ERR_BAD_MODEL, "element count overflows 64 bits");

    memcpy(c.b, f.b, f.n);
    put_u64(c, ta + 7, 1ull << 63);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "ne[0] = 9223372036854775808");
    expect_fail(c, NUWA_ERR_BAD_MODEL, "exceeds INT64_MAX");

    memcpy(c.b, f.b, f.n);
    put_u64(c, ta + 7, 1ull << 32);
    put_u64(c, ta + 15, 1ull << 31); /* 2^63 elements of 4 bytes */
    expect_fail(c, NUWA_ERR_BAD_MODEL, "byte size of 9223372036854775808 F32 elements "
                "overflows");

    memcpy(c.b, f.b, f.n);
    put_u32(c, ta + 23, 2);
    snprintf(want, sizeof(want), "tensor 't.a' at offset %zu has unsupported type 2", ta + 23);
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);
    put_u32(c, ta + 23, 0xffffffffu);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "unsupported type 4294967295");

    /* duplicate tensor name */
    memcpy(c.b, f.b, f.n);
    c.b[tb + 2] = 'a';
    snprintf(want, sizeof(want), "duplicate tensor name 't.a' at offset %zu (tensors 0 and 1)",
             tb - 8);
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);
    (void)tc;
    free(c.b);
    free(f.b);
}

Test(gguf, bad_tensor_extents)
{
    Buf f = small_file(0);
    Buf c = copy_buf(f);
    char want[200];
    const size_t tb = at(f, "t.b"), tc = at(f, "t.c");
    NwGguf *g = parse_ok(f);
    const uint64_t data_off = g->data_offset;
    nw_gguf_close(&g);
    cr_assert_eq(get_u64(f, tb + 19), 32);
    cr_assert_eq(get_u64(f, tc + 19), 64);

    /* misaligned offset */
    put_u64(c, tb + 19, 33);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "tensor 't.b' offset 33 is not a multiple of the "
                "alignment 32");

    /* offset past the end */
    memcpy(c.b, f.b, f.n);
    put_u64(c, tc + 19, 1u << 20);
    snprintf(want, sizeof(want), "tensor 't.c' offset 1048576 (data section at %llu) lies past "
             "the end of the file (size %zu)", (unsigned long long)data_off, f.n);
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);
    put_u64(c, tc + 19, UINT64_MAX - 31); /* aligned, and data_offset + offset overflows */
    expect_fail(c, NUWA_ERR_BAD_MODEL, "lies past the end of the file");
    put_u64(c, tc + 19, f.n - data_off + 32 - (f.n - data_off) % 32);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "lies past the end of the file");

    /* size past the end: one element more */
    memcpy(c.b, f.b, f.n);
    put_u64(c, tc + 7, 5);
    snprintf(want, sizeof(want), "tensor 't.c' data [%llu, %llu) lies past the end of the "
             "file (size %zu)", (unsigned long long)(data_off + 64),
             (unsigned long long)(data_off + 84), f.n);
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);
    /* a huge but non-overflowing size, and one whose end overflows 64 bits */
    put_u64(c, tc + 7, 1ull << 40);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "tensor 't.c' data [");
    put_u64(c, tc + 7, (1ull << 62) - 1);
    snprintf(want, sizeof(want), "tensor 't.c' data [%llu, %llu + 18446744073709551612) lies past",
             (unsigned long long)(data_off + 64), (unsigned long long)(data_off + 64));
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);
    free(c.b);
    free(f.b);
}

Test(gguf, bad_alignment_key)
{
    Buf f = small_file(1);
    Buf c = copy_buf(f);
    const size_t k = at(f, "general.alignment");
    const size_t v = k + 17 + 4;
    char want[160];
    NwGguf *g = parse_ok(f);
    cr_assert_eq(g->alignment, 32);
    nw_gguf_close(&g);

    put_u32(c, v, 48);
    snprintf(want, sizeof(want), "general.alignment 48 at offset %zu is not a power of two", v);
    expect_fail(c, NUWA_ERR_BAD_MODEL, want);
    put_u32(c, v, 0);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "general.alignment 0 at offset");
    put_u32(c, v, 1u << 21);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "general.alignment 2097152 at offset");
    expect_fail(c, NUWA_ERR_BAD_MODEL, "exceeds the limit of 1048576");
    memcpy(c.b, f.b, f.n);
    put_u32(c, k + 17, NW_GGUF_I32);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "general.alignment at offset");
    expect_fail(c, NUWA_ERR_BAD_MODEL, "must be u32, not i32");

    /* a valid smaller alignment moves the data section: offsets 32 and 64 still align */
    memcpy(c.b, f.b, f.n);
    put_u32(c, v, 16);
    g = parse_ok(c);
    cr_assert_eq(g->alignment, 16);
    nw_gguf_close(&g);
    /* a larger one makes t.b's offset 32 misaligned */
    put_u32(c, v, 64);
    expect_fail(c, NUWA_ERR_BAD_MODEL, "tensor 't.b' offset 32 is not a multiple of the "
                "alignment 64");
    free(c.b);
    free(f.b);
}

Test(gguf, duplicate_key)
{
    Buf f = small_file(0);
    const size_t a = at(f, "k.arr");
    memcpy(f.b + a, "k.u32", 5);
    char want[128];
    snprintf(want, sizeof(want), "duplicate key 'k.u32' at offset %zu (KV 1 and KV 2)", a - 8);
    expect_fail(f, NUWA_ERR_BAD_MODEL, want);
    free(f.b);
}

Test(gguf, bad_arguments)
{
    NwGguf *g = NULL;
    char err[128];
    cr_assert_eq(nw_gguf_open_memory(NULL, "GGUF", 4, err, sizeof(err)), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_open_memory(&g, NULL, 4, err, sizeof(err)), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_open_memory(&g, NULL, 0, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_eq(nw_gguf_open(&g, NULL, err, sizeof(err)), NUWA_ERR_INVAL);
    cr_assert_eq(nw_gguf_open_memory(&g, NULL, 0, NULL, 0), NUWA_ERR_BAD_MODEL);
    cr_assert_null(g);
}

/* Parses a (possibly) mutated file; on success exercises everything it exposes. */
static int parse_and_walk(const uint8_t *b, size_t n)
{
    NwGguf *g = NULL;
    char err[512] = "";
    const int rc = nw_gguf_open_memory(&g, b, n, err, sizeof(err));
    if (rc) {
        cr_assert_eq(rc, NUWA_ERR_BAD_MODEL, "rc %d: %s", rc, err);
        cr_assert_neq(err[0], 0);
        cr_assert_null(g);
        return rc;
    }
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const NwGgufKV *kv = &g->kv[i];
        cr_assert_eq(nw_gguf_find_kv(g, kv->key), kv);
        uint32_t u, arr[8];
        int bo;
        const char *s;
        nw_gguf_get_u32(g, kv->key, &u, err, sizeof(err));
        nw_gguf_get_bool(g, kv->key, &bo, err, sizeof(err));
        if (nw_gguf_get_str(g, kv->key, &s, err, sizeof(err)) == 0)
            cr_assert_leq(strlen(s), n);
        if (kv->type == NW_GGUF_ARRAY && kv->n <= 8)
            nw_gguf_get_u32_array(g, kv->key, arr, kv->n, err, sizeof(err));
        for (uint64_t j = 0; kv->strs && j < kv->n; j++)
            cr_assert_leq(strlen(kv->strs[j]), n);
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const NwGgufTensor *t = &g->tensors[i];
        cr_assert_eq(nw_gguf_find_tensor(g, t->name), t);
        cr_assert_leq(t->offset + t->size, n);
        float *out = malloc(t->n_elems * sizeof(float));
        cr_assert_not_null(out);
        nw_tensor_to_f32(t, out);
        free(out);
    }
    nw_gguf_close(&g);
    return 0;
}

Test(gguf, random_mutations)
{
    Buf f = small_file(1);
    uint64_t state = 0x9e3779b97f4a7c15ull;
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 4000; iter++) {
        Buf c = copy_buf(f);
        const int flips = 1 + (int)(state % 4);
        for (int k = 0; k < flips; k++) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            const size_t pos = (size_t)(state % c.n);
            const uint8_t x = (uint8_t)((state >> 32) | 1);
            /* mostly xor, sometimes a small or a saturated value (lengths, counts) */
            switch ((state >> 48) % 4) {
            case 0: c.b[pos] = 0; break;
            case 1: c.b[pos] = 0xff; break;
            default: c.b[pos] ^= x; break;
            }
        }
        if (parse_and_walk(c.b, c.n) == 0)
            ok++;
        else
            bad++;
        free(c.b);
    }
    cr_assert_gt(bad, 0);
    cr_log_info("random mutations: %d parsed, %d rejected", ok, bad);
    free(f.b);
}

/* ---- files ---------------------------------------------------------------------------- */

Test(gguf, open_files)
{
    char dir[] = "/tmp/nuwa-gguf-test.XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256], missing[256], empty[256], bad[256];
    snprintf(path, sizeof(path), "%s/model.gguf", dir);
    snprintf(missing, sizeof(missing), "%s/missing.gguf", dir);
    snprintf(empty, sizeof(empty), "%s/empty.gguf", dir);
    snprintf(bad, sizeof(bad), "%s/no/such/dir/x.gguf", dir);

    NwGguf *g = NULL;
    char err[512] = "";
    cr_assert_eq(nw_gguf_open(&g, missing, err, sizeof(err)), NUWA_ERR_IO);
    cr_assert_not_null(strstr(err, "No such file or directory"), "%s", err);
    cr_assert_not_null(strstr(err, missing), "%s", err);
    cr_assert_null(g);
    cr_assert_eq(nw_gguf_open(&g, dir, err, sizeof(err)), NUWA_ERR_IO);
    cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);

    FILE *fp = fopen(empty, "wb");
    cr_assert_not_null(fp);
    fclose(fp);
    cr_assert_eq(nw_gguf_open(&g, empty, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_not_null(strstr(err, "file too small to be GGUF (0 bytes)"), "%s", err);

    NwGgufWriter *w = nw_gguf_writer_new();
    cr_assert_eq(nw_gguf_writer_add_str(w, "general.architecture", "nuwa"), 0);
    const float d[3] = { 1, 2, 3 };
    const int64_t s[1] = { 3 };
    cr_assert_eq(nw_gguf_writer_add_tensor(w, "w", NW_TYPE_F32, 1, s, d), 0);
    cr_assert_eq(nw_gguf_writer_save(w, bad), NUWA_ERR_IO);
    cr_assert_eq(nw_gguf_writer_save(w, path), 0);
    nw_gguf_writer_free(&w);

    cr_assert_eq(nw_gguf_open(&g, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(g->mapped, 1);
    const NwGgufTensor *t = nw_gguf_find_tensor(g, "w");
    cr_assert_not_null(t);
    cr_assert_eq(memcmp(t->data, d, sizeof(d)), 0);
    const char *arch;
    cr_assert_eq(nw_gguf_get_str(g, "general.architecture", &arch, err, sizeof(err)), 0);
    cr_assert_str_eq(arch, "nuwa");
    nw_gguf_close(&g);

    /* a corrupted file on disk is BAD_MODEL and unmapped again */
    fp = fopen(path, "r+b");
    cr_assert_not_null(fp);
    fputc('X', fp);
    fclose(fp);
    cr_assert_eq(nw_gguf_open(&g, path, err, sizeof(err)), NUWA_ERR_BAD_MODEL);
    cr_assert_not_null(strstr(err, "bad magic 'XGUF'"), "%s", err);
    cr_assert_null(g);

    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(unlink(empty), 0);
    cr_assert_eq(rmdir(dir), 0);
}
