/*
 * tests/libnuwa/tokenizer.c — the CLIP BPE text tokenizer (libnuwa/tokenizer.c) against
 * nuwa-pytorch 0.7.8's SimpleTokenizer: every string of tests/fixtures/tokenizer.gguf
 * (tools/make_tokenizer_fixture.py: ASCII, punctuation, digits, contractions, HTML entities,
 * accented / CJK / emoji text, whitespace and control characters, ftfy's quote / ligature /
 * width fixes, case mapping incl. İ and final sigma, over-long texts) must give the reference's
 * ids exactly; plus the docs/MODEL.md §6 examples, truncation, errors (invalid UTF-8, too many
 * tokens, malformed merges) and concurrent encoding on one tokenizer.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "internal.h"
#include "nuwa.h"
#include "tokenizer.h"

#ifndef NUWA_SOURCE_DIR
#define NUWA_SOURCE_DIR "."
#endif

#define MAX_IDS 8192

/* ---- helpers -------------------------------------------------------------------------- */

typedef struct LogBuf {
    char text[4096];
    size_t len;
} LogBuf;

static void capture(void *opaque, int level, const char *fmt, va_list ap)
{
    LogBuf *b = opaque;
    (void)level;
    if (b->len < sizeof(b->text) - 1) {
        int n = vsnprintf(b->text + b->len, sizeof(b->text) - b->len, fmt, ap);
        if (n > 0)
            b->len = NW_MIN(b->len + (size_t)n, sizeof(b->text) - 1);
    }
}

static NwLog logger(LogBuf *b)
{
    memset(b, 0, sizeof(*b));
    NwLog log = { capture, b, NUWA_LOG_DEBUG };
    return log;
}

typedef struct Fixture {
    NwGguf *g;
    NwTokenizer *tok;
    const NwGgufKV *texts;
    const int32_t *ids, *off, *long_index, *truncated;
    int n, n_long, context;
} Fixture;

static const int32_t *i32_tensor(const NwGguf *g, const char *name, uint64_t *n)
{
    const NwGgufTensor *t = nw_gguf_find_tensor(g, name);
    cr_assert_not_null(t, "fixture lacks tensor %s", name);
    cr_assert_eq(t->type, NW_TYPE_I32, "%s must be I32", name);
    *n = t->n_elems;
    return t->data;
}

static void open_fixture(Fixture *F)
{
    char path[1024], err[512];
    memset(F, 0, sizeof(*F));
    snprintf(path, sizeof(path), "%s/tests/fixtures/tokenizer.gguf", NUWA_SOURCE_DIR);
    cr_assert_eq(nw_gguf_open(&F->g, path, err, sizeof(err)), 0, "%s: %s", path, err);
    LogBuf lb;
    NwLog log = logger(&lb);
    cr_assert_eq(nw_tokenizer_load(&F->tok, F->g, &log), 0, "%s: %s", path, lb.text);
    F->texts = nw_gguf_find_kv(F->g, "test.tokenizer.texts");
    cr_assert(F->texts && F->texts->type == NW_GGUF_ARRAY && F->texts->arr_type == NW_GGUF_STRING);
    F->n = (int)F->texts->n;
    uint64_t n_ids, n_off, n_long, n_trunc;
    F->ids = i32_tensor(F->g, "test.tokenizer.ids", &n_ids);
    F->off = i32_tensor(F->g, "test.tokenizer.offsets", &n_off);
    cr_assert_eq(n_off, (uint64_t)F->n + 1);
    cr_assert_eq((uint64_t)F->off[F->n], n_ids);
    uint32_t ctx;
    cr_assert_eq(nw_gguf_get_u32(F->g, "test.tokenizer.context_length", &ctx, err, sizeof(err)), 0, "%s", err);
    F->context = (int)ctx;
    F->long_index = i32_tensor(F->g, "test.tokenizer.long_index", &n_long);
    F->truncated = i32_tensor(F->g, "test.tokenizer.truncated", &n_trunc);
    F->n_long = (int)n_long;
    cr_assert_eq(n_trunc, n_long * ctx);
}

static void close_fixture(Fixture *F)
{
    nw_tokenizer_free(&F->tok);
    cr_assert_null(F->tok);
    nw_gguf_close(&F->g);
}

/* The text with non-printable / non-ASCII characters escaped, for messages. */
static const char *escaped(const char *s, char *buf, size_t cap)
{
    size_t k = 0;
    for (; *s && k + 8 < cap; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7F && c != '\\')
            buf[k++] = (char)c;
        else
            k += (size_t)snprintf(buf + k, cap - k, "\\x%02x", c);
    }
    buf[k] = 0;
    return buf;
}

static void print_ids(const char *what, const int32_t *ids, int n)
{
    fprintf(stderr, "    %s (%d):", what, n);
    for (int i = 0; i < n && i < 40; i++)
        fprintf(stderr, " %d", (int)ids[i]);
    fprintf(stderr, n > 40 ? " ...\n" : "\n");
}

/* Encodes the whole corpus; returns the number of mismatching strings (printing up to
 * `verbose` of them). */
static int check_corpus(const Fixture *F, int verbose)
{
    int32_t *got = malloc(sizeof(int32_t) * MAX_IDS);
    cr_assert_not_null(got);
    int bad = 0;
    for (int i = 0; i < F->n; i++) {
        const char *text = F->texts->strs[i];
        const int32_t *want = F->ids + F->off[i];
        const int n_want = F->off[i + 1] - F->off[i];
        int n = -1;
        LogBuf lb;
        NwLog log = logger(&lb);
        const int rc = nw_tokenizer_encode(F->tok, text, got, MAX_IDS, &n, 0, &log);
        if (rc != 0 || n != n_want || memcmp(got, want, sizeof(int32_t) * (size_t)n_want)) {
            if (bad < verbose) {
                char esc[1024];
                fprintf(stderr, "  tokenizer mismatch on text %d \"%s\" (rc %d %s)\n", i,
                        escaped(text, esc, sizeof(esc)), rc, lb.text);
                print_ids("want", want, n_want);
                print_ids("got ", got, rc ? 0 : n);
            }
            bad++;
        }
    }
    free(got);
    return bad;
}

/* ---- the fixture corpus --------------------------------------------------------------- */

Test(tokenizer, fixture_corpus_matches_reference)
{
    Fixture F;
    open_fixture(&F);
    cr_assert_eq(nw_tokenizer_vocab_size(F.tok), 49408);
    cr_assert_eq(nw_tokenizer_sot_id(F.tok), 49406);
    cr_assert_eq(nw_tokenizer_eot_id(F.tok), 49407);
    const int bad = check_corpus(&F, 20);
    fprintf(stderr, "tokenizer: %d strings, %d ids, %d mismatches\n", F.n, (int)F.off[F.n], bad);
    cr_assert_geq(F.n, 2000);
    cr_assert_eq(bad, 0, "%d of %d strings differ from the reference (listed above)", bad, F.n);
    close_fixture(&F);
}

Test(tokenizer, truncation_and_overlong_error)
{
    Fixture F;
    open_fixture(&F);
    cr_assert_gt(F.n_long, 0);
    int32_t *got = malloc(sizeof(int32_t) * (size_t)F.context);
    for (int k = 0; k < F.n_long; k++) {
        const int i = F.long_index[k];
        const int full = F.off[i + 1] - F.off[i];
        cr_assert_gt(full, F.context);
        int n = -1;
        LogBuf lb;
        NwLog log = logger(&lb);
        cr_assert_eq(nw_tokenizer_encode(F.tok, F.texts->strs[i], got, F.context, &n, 1, &log), 0, "%s",
                     lb.text);
        cr_assert_eq(n, F.context);
        cr_assert_arr_eq(got, F.truncated + (size_t)k * F.context, sizeof(int32_t) * (size_t)F.context,
                         "text %d: truncated ids differ from tokenize(truncate_text=True)", i);

        log = logger(&lb);
        n = -1;
        cr_assert_eq(nw_tokenizer_encode(F.tok, F.texts->strs[i], got, F.context, &n, 0, &log), NUWA_ERR_INVAL);
        cr_assert_eq(n, full, "the error reports the full count (%d), got %d", full, n);
        char count[32];
        snprintf(count, sizeof(count), "%d tokens", full);
        cr_assert(strstr(lb.text, count) && strstr(lb.text, "256"), "message: %s", lb.text);
    }
    /* a short text is never cut; exactly max_ids tokens is not an error */
    int n;
    cr_assert_eq(nw_tokenizer_encode(F.tok, "a cat riding a bike!", got, 6, &n, 0, NULL), 0);
    cr_assert_eq(n, 6);
    cr_assert_eq(nw_tokenizer_encode(F.tok, "a cat riding a bike!", got, 5, &n, 0, NULL), NUWA_ERR_INVAL);
    cr_assert_eq(n, 6);
    cr_assert_eq(nw_tokenizer_encode(F.tok, "a cat riding a bike!", got, 3, &n, 1, NULL), 0);
    cr_assert_eq(n, 3);
    cr_assert(got[0] == 320 && got[1] == 2368 && got[2] == 6765);
    cr_assert_eq(nw_tokenizer_encode(F.tok, "a cat", NULL, 0, &n, 1, NULL), 0);
    cr_assert_eq(n, 0);
    free(got);
    close_fixture(&F);
}

/* ---- docs/MODEL.md §6 reference outputs ------------------------------------------------ */

typedef struct Example {
    const char *text;
    int n;
    int32_t ids[16];
} Example;

static const Example examples[] = {
    { "a cat riding a bike!", 6, { 320, 2368, 6765, 320, 3701, 256 } },
    { "Hello, World's 123 &amp;amp; test", 9, { 3306, 267, 1002, 568, 272, 273, 274, 261, 1628 } },
    { "A  moving\tMNIST digit 7", 6, { 320, 3584, 76, 17782, 27472, 278 } },
    { "!!", 1, { 748 } },
    { "\xe2\x80\x9cquoted\xe2\x80\x9d", 3, { 257, 27706, 257 } },
    { "x<|endoftext|>y", 3, { 343, 49407, 344 } },
    { "don't   STOP", 3, { 847, 713, 1691 } },
    { "42", 2, { 275, 273 } },
    { "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 na\xc3\xaf" "ve caf\xc3\xa9", 11,
      { 6522, 77, 35689, 66, 7255, 67, 4166, 1097, 35689, 563, 15304 } },
    { "!!x", 2, { 748, 343 } }, /* B16: '!' is id 0 */
    { "!", 1, { 256 } },
    { "<|startoftext|>", 1, { 49406 } },
};

Test(tokenizer, model_md_reference_examples)
{
    Fixture F;
    open_fixture(&F);
    for (size_t k = 0; k < sizeof(examples) / sizeof(examples[0]); k++) {
        const Example *e = &examples[k];
        int32_t got[64];
        int n = -1;
        cr_assert_eq(nw_tokenizer_encode(F.tok, e->text, got, 64, &n, 0, NULL), 0, "\"%s\"", e->text);
        if (n != e->n || memcmp(got, e->ids, sizeof(int32_t) * (size_t)n)) {
            print_ids("want", e->ids, e->n);
            print_ids("got ", got, n);
            cr_assert_fail("\"%s\": ids differ from docs/MODEL.md", e->text);
        }
    }
    close_fixture(&F);
}

Test(tokenizer, empty_and_blank_text_give_no_ids)
{
    Fixture F;
    open_fixture(&F);
    const char *blank[] = { "", " ", "\t\n\r ", "\xc2\xa0\xe3\x80\x80", "\x01\x02", "\x1b[0m" };
    for (size_t k = 0; k < sizeof(blank) / sizeof(blank[0]); k++) {
        int32_t got[4] = { -1, -1, -1, -1 };
        int n = -1;
        cr_assert_eq(nw_tokenizer_encode(F.tok, blank[k], got, 4, &n, 0, NULL), 0);
        cr_assert_eq(n, 0, "blank text %zu gave %d ids", k, n);
        cr_assert_eq(got[0], -1, "nothing is written");
    }
    close_fixture(&F);
}

Test(tokenizer, invalid_utf8_is_rejected)
{
    Fixture F;
    open_fixture(&F);
    static const struct {
        const char *text;
        int offset;
    } bad[] = {
        { "abc\xff", 3 },               /* never valid */
        { "\x80", 0 },                  /* stray continuation */
        { "ok \xc3", 3 },               /* truncated sequence */
        { "\xc0\xaf", 0 },              /* overlong '/' */
        { "\xe0\x80\xaf", 0 },          /* overlong */
        { "x\xed\xa0\x80y", 1 },        /* encoded surrogate U+D800 */
        { "\xf4\x90\x80\x80", 0 },      /* > U+10FFFF */
        { "\xf8\x88\x80\x80\x80", 0 },  /* 5-byte form */
        { "caf\xc3\xa9 \xe2\x82", 6 },  /* valid, then truncated */
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        int32_t got[16];
        int n = -1;
        LogBuf lb;
        NwLog log = logger(&lb);
        cr_assert_eq(nw_tokenizer_encode(F.tok, bad[k].text, got, 16, &n, 0, &log), NUWA_ERR_INVAL,
                     "case %zu", k);
        char want[64];
        snprintf(want, sizeof(want), "invalid UTF-8 at byte %d", bad[k].offset);
        cr_assert(strstr(lb.text, want), "case %zu: message '%s' lacks '%s'", k, lb.text, want);
        cr_assert_eq(n, 0);
    }
    /* valid edge cases */
    int32_t got[16];
    int n;
    cr_assert_eq(nw_tokenizer_encode(F.tok, "\xf4\x8f\xbf\xbf \xef\xbf\xbd \xed\x9f\xbf", got, 16, &n, 0, NULL), 0);
    close_fixture(&F);
}

Test(tokenizer, bad_arguments)
{
    Fixture F;
    open_fixture(&F);
    int32_t got[4];
    int n;
    cr_assert_eq(nw_tokenizer_encode(NULL, "a", got, 4, &n, 0, NULL), NUWA_ERR_INVAL);
    cr_assert_eq(nw_tokenizer_encode(F.tok, NULL, got, 4, &n, 0, NULL), NUWA_ERR_INVAL);
    cr_assert_eq(nw_tokenizer_encode(F.tok, "a", got, 4, NULL, 0, NULL), NUWA_ERR_INVAL);
    cr_assert_eq(nw_tokenizer_encode(F.tok, "a", got, -1, &n, 0, NULL), NUWA_ERR_INVAL);
    cr_assert_eq(nw_tokenizer_encode(F.tok, "a", NULL, 4, &n, 0, NULL), NUWA_ERR_INVAL);
    NwTokenizer *t = NULL;
    cr_assert_eq(nw_tokenizer_load(&t, NULL, NULL), NUWA_ERR_INVAL);
    cr_assert_eq(nw_tokenizer_load(NULL, F.g, NULL), NUWA_ERR_INVAL);
    nw_tokenizer_free(NULL);
    nw_tokenizer_free(&t);
    close_fixture(&F);
}

Test(tokenizer, decode_round_trip)
{
    Fixture F;
    open_fixture(&F);
    const char *texts[] = { "a cat riding a bike!", "don't   STOP", "\xe4\xb8\x80\xe5\x8f\xaa\xe7\x8c\xab caf\xc3\xa9",
                            "x<|endoftext|>y" };
    const char *want[] = { "a cat riding a bike ! ", "don 't stop ", "\xe4\xb8\x80\xe5\x8f\xaa\xe7\x8c\xab caf\xc3\xa9 ",
                           "x <|endoftext|>y " };
    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
        int32_t ids[64];
        int n;
        cr_assert_eq(nw_tokenizer_encode(F.tok, texts[k], ids, 64, &n, 0, NULL), 0);
        char buf[256];
        size_t len;
        cr_assert_eq(nw_tokenizer_decode(F.tok, ids, n, buf, sizeof(buf), &len, NULL), 0);
        cr_assert_str_eq(buf, want[k]);
        cr_assert_eq(len, strlen(want[k]));
        /* snprintf-like truncation */
        char small[4];
        cr_assert_eq(nw_tokenizer_decode(F.tok, ids, n, small, sizeof(small), &len, NULL), 0);
        cr_assert_eq(len, strlen(want[k]));
        cr_assert_eq(strlen(small), 3);
    }
    const int32_t bad_id = 49408;
    size_t len;
    cr_assert_eq(nw_tokenizer_decode(F.tok, &bad_id, 1, NULL, 0, &len, NULL), NUWA_ERR_INVAL);
    /* a lone continuation byte decodes to U+FFFD */
    const int32_t lone[2] = { 'a' - 33, 256 + 94 + 0xA9 - 161 };
    char buf[16];
    cr_assert_eq(nw_tokenizer_decode(F.tok, lone, 2, buf, sizeof(buf), &len, NULL), 0);
    cr_assert_str_eq(buf, "a\xef\xbf\xbd ");
    close_fixture(&F);
}

/* ---- malformed model files ------------------------------------------------------------- */

/* Writes a GGUF with the given tokenizer keys (model == NULL / merges == NULL: key absent). */
static NwGguf *tok_gguf(const char *model, const char *const *merges, int n, uint8_t **buf)
{
    NwGgufWriter *w = nw_gguf_writer_new();
    cr_assert_not_null(w);
    cr_assert_eq(nw_gguf_writer_add_str(w, "general.architecture", "nuwa"), 0);
    if (model)
        cr_assert_eq(nw_gguf_writer_add_str(w, "nuwa.tokenizer.model", model), 0);
    if (merges)
        cr_assert_eq(nw_gguf_writer_add_array(w, "nuwa.tokenizer.merges", NW_GGUF_STRING, merges, (uint64_t)n), 0);
    size_t size;
    cr_assert_eq(nw_gguf_writer_to_buffer(w, buf, &size), 0);
    nw_gguf_writer_free(&w);
    NwGguf *g = NULL;
    char err[256];
    cr_assert_eq(nw_gguf_open_memory(&g, *buf, size, err, sizeof(err)), 0, "%s", err);
    return g;
}

static void expect_bad_model(const char *model, const char *const *merges, int n, const char *needle)
{
    uint8_t *buf;
    NwGguf *g = tok_gguf(model, merges, n, &buf);
    NwTokenizer *t = NULL;
    LogBuf lb;
    NwLog log = logger(&lb);
    cr_assert_eq(nw_tokenizer_load(&t, g, &log), NUWA_ERR_BAD_MODEL, "expected BAD_MODEL (%s)", needle);
    cr_assert_null(t);
    cr_assert(strstr(lb.text, needle), "message '%s' lacks '%s'", lb.text, needle);
    nw_gguf_close(&g);
    free(buf);
}

Test(tokenizer, malformed_merges_are_rejected)
{
    const char *ok[] = { "a b", "c d" };
    expect_bad_model(NULL, ok, 2, "nuwa.tokenizer.model");
    expect_bad_model("gpt2-bpe", ok, 2, "expected 'clip-bpe'");
    expect_bad_model("clip-bpe", NULL, 0, "missing key 'nuwa.tokenizer.merges'");
    static const struct {
        const char *merge, *why;
    } bad[] = {
        { "ab", "exactly one space" },
        { "a  b", "exactly one space" },
        { "a b c", "exactly one space" },
        { " b", "empty left side" },
        { "a ", "empty right side" },
        { "a\tb", "exactly one space" },
        { "a \x01", "U+0001 at byte 2 is not a byte symbol" },
        { "\xc4\x80 \xc2\xa0", "U+00A0 at byte 3 is not a byte symbol" }, /* 0xA0 maps to U+0142 */
        { "a \xff", "invalid UTF-8 at byte 2" },
        { "\xc5\x84 b", "U+0144 at byte 0 is not a byte symbol" },         /* past U+0143 */
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        const char *merges[3] = { "a b", bad[k].merge, "c d" };
        expect_bad_model("clip-bpe", merges, 3, "nuwa.tokenizer.merges[1]");
        expect_bad_model("clip-bpe", merges, 3, bad[k].why);
    }
    /* wrong value type */
    NwGgufWriter *w = nw_gguf_writer_new();
    cr_assert_eq(nw_gguf_writer_add_str(w, "nuwa.tokenizer.model", "clip-bpe"), 0);
    const uint32_t nums[2] = { 1, 2 };
    cr_assert_eq(nw_gguf_writer_add_u32_array(w, "nuwa.tokenizer.merges", nums, 2), 0);
    uint8_t *buf;
    size_t size;
    cr_assert_eq(nw_gguf_writer_to_buffer(w, &buf, &size), 0);
    nw_gguf_writer_free(&w);
    NwGguf *g = NULL;
    char err[256];
    cr_assert_eq(nw_gguf_open_memory(&g, buf, size, err, sizeof(err)), 0);
    NwTokenizer *t = NULL;
    LogBuf lb;
    NwLog log = logger(&lb);
    cr_assert_eq(nw_tokenizer_load(&t, g, &log), NUWA_ERR_BAD_MODEL);
    cr_assert(strstr(lb.text, "array of strings"), "%s", lb.text);
    nw_gguf_close(&g);
    free(buf);
}

/* A hand-made vocabulary: merge ranks, duplicate merge results (the later id wins, like the
 * reference's dict), merges involving `</w>`, and a vocabulary without merges. */
Test(tokenizer, small_vocabulary_semantics)
{
    const char *merges[] = {
        "a b",     /* 512: ab */
        "ab c</w>",/* 513: abc</w> */
        "b c</w>", /* 514: bc</w> */
        "a bc</w>",/* 515: abc</w> again: the string's id is now 515 */
        "x y",     /* 516 */
        "x y",     /* 517: same pair again, later rank wins; "xy" is now id 517 */
    };
    uint8_t *buf;
    NwGguf *g = tok_gguf("clip-bpe", merges, 6, &buf);
    NwTokenizer *t = NULL;
    LogBuf lb;
    NwLog log = logger(&lb);
    cr_assert_eq(nw_tokenizer_load(&t, g, &log), 0, "%s", lb.text);
    cr_assert_eq(nw_tokenizer_vocab_size(t), 6 + 514);
    cr_assert_eq(nw_tokenizer_eot_id(t), 519);
    int32_t ids[16];
    int n;
    /* "abc": word (a, b, c</w>): rank 0 merges a b -> ab; then (ab, c</w>) rank 1 -> abc</w>
     * whose id is the later 515 */
    cr_assert_eq(nw_tokenizer_encode(t, "abc", ids, 16, &n, 0, NULL), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(ids[0], 515);
    /* "xy": (x, y</w>) has no merge: two ids, 'x' = 'x' - 33, 'y</w>' = 256 + 'y' - 33 */
    cr_assert_eq(nw_tokenizer_encode(t, "xy", ids, 16, &n, 0, NULL), 0);
    cr_assert_eq(n, 2);
    cr_assert(ids[0] == 'x' - 33 && ids[1] == 256 + 'y' - 33);
    /* "xyz": x y merges (id 517) */
    cr_assert_eq(nw_tokenizer_encode(t, "xyz", ids, 16, &n, 0, NULL), 0);
    cr_assert_eq(n, 2);
    cr_assert(ids[0] == 517 && ids[1] == 256 + 'z' - 33);
    /* bytes outside ASCII: the symbols of 0xC3 0xA9 ('é') */
    cr_assert_eq(nw_tokenizer_encode(t, "\xc3\xa9", ids, 16, &n, 0, NULL), 0);
    cr_assert_eq(n, 2);
    cr_assert(ids[0] == 94 + 0xC3 - 174 + 12 && ids[1] == 256 + 94 + 0xA9 - 161);
    nw_tokenizer_free(&t);
    nw_gguf_close(&g);
    free(buf);

    /* no merges at all: pure byte-level */
    g = tok_gguf("clip-bpe", merges, 0, &buf);
    cr_assert_eq(nw_tokenizer_load(&t, g, NULL), 0);
    cr_assert_eq(nw_tokenizer_vocab_size(t), 514);
    cr_assert_eq(nw_tokenizer_encode(t, "ab <|endoftext|>", ids, 16, &n, 0, NULL), 0);
    cr_assert_eq(n, 3);
    cr_assert(ids[0] == 'a' - 33 && ids[1] == 256 + 'b' - 33 && ids[2] == 513);
    nw_tokenizer_free(&t);
    nw_gguf_close(&g);
    free(buf);
}

/* ---- threads --------------------------------------------------------------------------- */

typedef struct Worker {
    const Fixture *F;
    int first, bad;
} Worker;

static void *worker(void *arg)
{
    Worker *w = arg;
    int32_t *got = malloc(sizeof(int32_t) * MAX_IDS);
    for (int r = 0; r < w->F->n; r++) {
        const int i = (w->first + r) % w->F->n; /* both threads cover everything, offset */
        int n = -1;
        const int rc = nw_tokenizer_encode(w->F->tok, w->F->texts->strs[i], got, MAX_IDS, &n, 0, NULL);
        const int n_want = w->F->off[i + 1] - w->F->off[i];
        if (rc || n != n_want || memcmp(got, w->F->ids + w->F->off[i], sizeof(int32_t) * (size_t)n))
            w->bad++;
    }
    free(got);
    return NULL;
}

Test(tokenizer, concurrent_encoding_on_one_tokenizer)
{
    Fixture F;
    open_fixture(&F);
    Worker w[2] = { { &F, 0, 0 }, { &F, F.n / 2, 0 } };
    pthread_t th[2];
    for (int k = 0; k < 2; k++)
        cr_assert_eq(pthread_create(&th[k], NULL, worker, &w[k]), 0);
    for (int k = 0; k < 2; k++)
        pthread_join(th[k], NULL);
    cr_assert_eq(w[0].bad + w[1].bad, 0, "threads: %d + %d mismatches", w[0].bad, w[1].bad);
    close_fixture(&F);
}
