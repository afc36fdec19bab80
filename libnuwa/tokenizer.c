/*
 * tokenizer.c — the text tokenizer of nuwa-pytorch 0.7.8 (`nuwa_pytorch/tokenizer.py`, the
 * OpenAI CLIP simple tokenizer), docs/MODEL.md §6, reproduced id for id.
 *
 * encode(text) is, in the reference,
 *
 *     text = whitespace_clean(html.unescape(html.unescape(ftfy.fix_text(text))).strip()).lower()
 *     for piece in regex.findall(PATTERN, text): ids += bpe(bytes_to_unicode(piece.encode()))
 *
 * and here every step works on an array of code points:
 *
 * 1. ftfy 6.1.1 fix_text with its default configuration, minus mojibake repair: the text is
 *    cut into segments after each '\n' (and every 1,000,000 code points); HTML unescaping is
 *    switched off for the segment that contains a '<' and for all later ones; each segment
 *    is fixed until nothing changes by: ftfy's HTML unescape (`&#?[0-9A-Za-z]{1,24};` with the
 *    HTML5 names ending in ';', ftfy's upper-case variants such as &EACUTE; → É, and numeric
 *    references through html.unescape), C1 controls U+0080–U+009F → their Windows-1252
 *    characters, Latin ligatures (ﬁ → fi, Ĳ → IJ, ǅ → Dž, ...), fullwidth / halfwidth forms
 *    (ftfy's width map: U+FF01–U+FFEF by NFKC, U+3000 → space), curly quotes (U+02BC,
 *    U+2018–U+201B → ', U+201C–U+201F → "), line breaks (CRLF, CR, U+2028, U+2029, U+0085 →
 *    LF), ANSI escapes (ESC '[' (Unicode digit | ';')* ASCII letter) removed, the control
 *    characters U+0000–0008, 000B, 000E–001F, 007F, 206A–206F, FEFF, FFF9–FFFC removed, NFC
 *    (utf8proc).
 * 2. Python's html.unescape, twice: `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`,
 *    all 2,231 HTML5 names (with the longest-prefix rule for the legacy names without ';'),
 *    numeric references with the HTML5 replacement table (&#0; → U+FFFD, &#x80; → €, ...,
 *    surrogates and > U+10FFFF → U+FFFD, the noncharacters and most controls → nothing).
 * 3. str.strip() (Python whitespace: White_Space plus U+001C–U+001F), then every run of
 *    White_Space (U+0009–000D, 0020, 0085, 00A0, 1680, 2000–200A, 2028, 2029, 202F, 205F,
 *    3000) → one space, strip again.
 * 4. str.lower(): the simple lower-case mapping (utf8proc), İ (U+0130) → i + U+0307, and Σ →
 *    ς in Python's Final_Sigma context (cased letter, case-ignorables, Σ, and no cased letter
 *    after the case-ignorables that follow).
 * 5. The pre-tokenizer regex with PCRE2 (UTF, UCP, caseless), leftmost alternative first:
 *    `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`.
 *    `\s` is spelled out as the White_Space list (PCRE2 10.42 also counts U+180E), and U+0345
 *    is excluded from the last class: under IGNORECASE the `regex` module matches U+0345
 *    (which case-folds to ι) with none of the alternatives, so the reference skips it.
 * 6. Each piece → UTF-8 bytes → byte symbols (bytes_to_unicode), the last one with `</w>`;
 *    pieces equal to <|startoftext|> / <|endoftext|> map to their ids directly. BPE: merge
 *    every occurrence, left to right, of the adjacent pair with the lowest merge rank until
 *    no pair has a rank or one symbol is left.
 *
 * The vocabulary is built from the merges in the model file (docs/FORMAT.md): ids 0–255 the
 * byte symbols in bytes_to_unicode order, 256–511 the same + `</w>`, one id per merge, then
 * the two special tokens. Like the reference's dict, a symbol string that occurs twice gets
 * the later id, and a merge pair listed twice gets the later rank. BPE runs on ids: a hash
 * map (left id, right id) → (rank, merged id).
 *
 * Not reproduced (known divergences from the reference):
 * - ftfy's mojibake repair (fix_encoding: re-decoding text that looks like UTF-8 read as
 *   Latin-1 / Windows-125x / MacRoman / cp437, restore_byte_a0, replace_lossy_sequences,
 *   decode_inconsistent_utf8, and the C1 fixes inside it). Such text is rare in prompts;
 *   the test corpus drops the strings that this repair changes (tools/make_tokenizer_fixture.py).
 * - Unicode versions: utf8proc 2.8 knows Unicode 15.0, PCRE2 10.42 Unicode 14.0, the reference's
 *   Python 3.11 (lower, NFC) Unicode 14.0 and its `regex` 2022.10.31 Unicode 15.0. Code points
 *   first assigned in Unicode 15 (e.g. Kawi U+11F00–U+11F59, Egyptian format controls
 *   U+13439–U+13455) may be classified differently. The test corpus avoids them.
 * - Cased / Case_Ignorable (for final sigma) are derived from utf8proc's categories and case
 *   mappings plus the few exceptions listed in is_cased()/is_case_ignorable(); they agree with
 *   Python 3.11 on every code point assigned in Unicode 14.
 * - Decimal references with more than 4,300 digits make the reference's html.unescape raise
 *   (Python's int() digit limit); here they decode to U+FFFD.
 * - Input is NUL-terminated UTF-8: invalid UTF-8 (including encoded surrogates) is an error
 *   instead of the lone-surrogate handling of ftfy's fix_surrogates, and text cannot contain
 *   U+0000.
 *
 * No mutable static state: the PCRE2 code (read-only after load, JIT-compiled if possible)
 * lives in the NwTokenizer, every encode call has its own match data and buffers.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <limits.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer.h"

/* ---- tables (generated; at the end of the file) ----------------------------------------- */

typedef struct NwEntity {
    const char *name;  /* without the ';' */
    int flags;         /* ENT_* */
    const char *value; /* UTF-8 */
    const char *upper; /* ENT_UPPER: value of &NAME; in upper case */
} NwEntity;

enum {
    ENT_SEMI = 1,       /* "&name;" is a reference */
    ENT_BARE = 2,       /* "&name" too (legacy) */
    ENT_UPPER_SAME = 4, /* ftfy also decodes "&NAME;" (upper case) to the same value */
    ENT_UPPER = 8,      /* ftfy also decodes "&NAME;" to `upper` */
};

static const NwEntity *entity_find(const char *name);
static uint32_t width_map(uint32_t c, uint32_t *second);

/* ---- tokenizer ---------------------------------------------------------------------------- */

#define SPECIAL_SOT "<|startoftext|>"
#define SPECIAL_EOT "<|endoftext|>"
#define FTFY_MAX_SEGMENT 1000000

struct NwTokenizer {
    int n_merges, n_vocab;
    char *pool;              /* symbol strings, NUL-separated */
    uint32_t *str_off;       /* n_vocab offsets into pool */
    int32_t byte_id[256];    /* byte -> id of its symbol */
    int32_t byte_end_id[256];/* byte -> id of its symbol + "</w>" */
    uint8_t sym_byte[324];   /* symbol code point -> byte (valid where sym_valid) */
    uint8_t sym_valid[324];
    uint64_t *mkey;          /* merge map: (left << 32 | right) + 1; 0 = empty */
    int32_t *mrank, *mres;
    uint64_t mmask;
    pcre2_code *re;
};

/* ---- code point buffers ------------------------------------------------------------------- */

typedef struct CpBuf {
    uint32_t *v;
    size_t n, cap;
} CpBuf;

static int cp_reserve(CpBuf *b, size_t extra)
{
    if (b->n + extra <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + extra) {
        if (cap > SIZE_MAX / 2 / sizeof(uint32_t))
            return NUWA_ERR_NOMEM;
        cap *= 2;
    }
    uint32_t *v = realloc(b->v, cap * sizeof(uint32_t));
    if (!v)
        return NUWA_ERR_NOMEM;
    b->v = v;
    b->cap = cap;
    return 0;
}

static inline int cp_push(CpBuf *b, uint32_t c)
{
    if (b->n == b->cap && cp_reserve(b, 1))
        return NUWA_ERR_NOMEM;
    b->v[b->n++] = c;
    return 0;
}

static int cp_append(CpBuf *b, const uint32_t *s, size_t n)
{
    if (cp_reserve(b, n))
        return NUWA_ERR_NOMEM;
    if (n)
        memcpy(b->v + b->n, s, n * sizeof(uint32_t));
    b->n += n;
    return 0;
}

static void cp_swap(CpBuf *a, CpBuf *b)
{
    CpBuf t = *a;
    *a = *b;
    *b = t;
}

static void cp_free(CpBuf *b)
{
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
}

/* ---- UTF-8 -------------------------------------------------------------------------------- */

/* Strict decoder (no overlong forms, surrogates or values above U+10FFFF). Returns the length
 * of the sequence at s (0 if invalid) and the code point. */
static int utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
    const uint8_t c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        *cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        *cp = c & 0x0F;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        *cp = c & 0x07;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if ((size_t)len > n)
        return 0;
    for (int i = 1; i < len; i++) {
        const uint8_t d = s[i];
        if (d < (i == 1 ? lo : 0x80) || d > (i == 1 ? hi : 0xBF))
            return 0;
        *cp = (*cp << 6) | (d & 0x3F);
    }
    return len;
}

static int utf8_put(uint32_t c, uint8_t *o)
{
    if (c < 0x80) {
        o[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (uint8_t)(0xC0 | (c >> 6));
        o[1] = (uint8_t)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (c >> 12));
        o[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (c >> 18));
    o[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

/* Code points -> malloc'ed UTF-8 (NUL-terminated; *len excludes the NUL). */
static uint8_t *utf8_encode(const uint32_t *s, size_t n, size_t *len)
{
    if (n > (SIZE_MAX - 1) / 4)
        return NULL;
    uint8_t *out = malloc(4 * n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)utf8_put(s[i], out + k);
    out[k] = 0;
    *len = k;
    return out;
}

/* Appends the code points of a valid UTF-8 string (a table value). */
static int append_utf8(CpBuf *b, const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s);
    while (n) {
        uint32_t c;
        int l = utf8_next(p, n, &c);
        if (l <= 0 || cp_push(b, c))
            return NUWA_ERR_NOMEM; /* tables are valid: only allocation can fail */
        p += l;
        n -= (size_t)l;
    }
    return 0;
}

/* ---- Python html.unescape ----------------------------------------------------------------- */

static int is_ascii_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static int is_ascii_alpha(uint32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_ascii_hex(uint32_t c)
{
    return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int hex_val(uint32_t c)
{
    return is_ascii_digit(c) ? (int)(c - '0') : (int)((c | 0x20) - 'a' + 10);
}

/* html._replace_charref for a numeric reference. Appends 0 or 1 code point. */
static int numeric_charref(uint32_t num, CpBuf *out)
{
    /* html._invalid_charrefs: 0x00, 0x0d and 0x80..0x9f (Windows-1252; 0x81 0x8d 0x8f 0x90 0x9d
     * stay) */
    static const uint16_t c1[32] = {
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    };
    if (num == 0)
        return cp_push(out, 0xFFFD);
    if (num == 0x0D)
        return cp_push(out, 0x0D);
    if (num >= 0x80 && num <= 0x9F)
        return cp_push(out, c1[num - 0x80]);
    if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF)
        return cp_push(out, 0xFFFD);
    /* html._invalid_codepoints */
    if ((num >= 0x01 && num <= 0x08) || num == 0x0B || (num >= 0x0E && num <= 0x1F) ||
        (num >= 0x7F && num <= 0x9F) || (num >= 0xFDD0 && num <= 0xFDEF) ||
        (num & 0xFFFE) == 0xFFFE)
        return 0;
    return cp_push(out, num);
}

/* Looks up an ASCII name given as code points (no ';'); NULL unless every code point is
 * ASCII and the name is in the table. */
static const NwEntity *entity_find_cp(const uint32_t *s, size_t n)
{
    char name[40];
    if (n == 0 || n >= sizeof(name))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 0 || s[i] > 0x7F)
            return NULL;
        name[i] = (char)s[i];
    }
    name[n] = 0;
    return entity_find(name);
}

/* Python 3.11 html.unescape(s), appended to out. */
static int py_html_unescape(const uint32_t *s, size_t n, CpBuf *out)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] != '&') {
            size_t j = i;
            while (j < n && s[j] != '&')
                j++;
            if (cp_append(out, s + i, j - i))
                return NUWA_ERR_NOMEM;
            i = j;
            continue;
        }
        /* s[i] == '&' */
        if (i + 1 < n && s[i + 1] == '#') {
            size_t j = i + 2;
            uint32_t num = 0;
            int ok = 0;
            if (j < n && is_ascii_digit(s[j])) {
                while (j < n && is_ascii_digit(s[j])) {
                    num = num > 0x7FFFFFF ? 0x7FFFFFFF : num * 10 + (s[j] - '0');
                    j++;
                }
                ok = 1;
            } else if (j + 1 < n && (s[j] == 'x' || s[j] == 'X') && is_ascii_hex(s[j + 1])) {
                j++;
                while (j < n && is_ascii_hex(s[j])) {
                    num = num > 0x7FFFFFF ? 0x7FFFFFFF : num * 16 + (uint32_t)hex_val(s[j]);
                    j++;
                }
                ok = 1;
            }
            if (!ok) { /* the named alternative cannot start with '#' */
                if (cp_push(out, '&'))
                    return NUWA_ERR_NOMEM;
                i++;
                continue;
            }
            if (j < n && s[j] == ';')
                j++;
            if (numeric_charref(num, out))
                return NUWA_ERR_NOMEM;
            i = j;
            continue;
        }
        /* [^\t\n\f <&#;]{1,32};? */
        size_t j = i + 1;
        while (j < n && j - (i + 1) < 32 && s[j] != '\t' && s[j] != '\n' && s[j] != '\f' &&
               s[j] != ' ' && s[j] != '<' && s[j] != '&' && s[j] != '#' && s[j] != ';')
            j++;
        if (j == i + 1) {
            if (cp_push(out, '&'))
                return NUWA_ERR_NOMEM;
            i++;
            continue;
        }
        const int semi = j < n && s[j] == ';';
        const size_t name_len = j - (i + 1);
        const size_t end = j + (size_t)semi;
        const NwEntity *e = entity_find_cp(s + i + 1, name_len);
        if (e && (semi ? (e->flags & ENT_SEMI) : (e->flags & ENT_BARE))) {
            if (append_utf8(out, e->value))
                return NUWA_ERR_NOMEM;
            i = end;
            continue;
        }
        /* the longest legacy name that is a prefix: x = len(group)-1 .. 2 */
        const size_t glen = name_len + (size_t)semi;
        int done = 0;
        for (size_t x = glen - 1; x >= 2 && x <= name_len; x--) {
            e = entity_find_cp(s + i + 1, x);
            if (e && (e->flags & ENT_BARE)) {
                if (append_utf8(out, e->value) || cp_append(out, s + i + 1 + x, end - (i + 1 + x)))
                    return NUWA_ERR_NOMEM;
                done = 1;
                break;
            }
        }
        if (!done && cp_append(out, s + i, end - i))
            return NUWA_ERR_NOMEM;
        i = end;
    }
    return 0;
}

/* ---- ftfy 6.1.1 fix_text (without fix_encoding) ------------------------------------------- */

/* ftfy.fixes.unescape_html: `&#?[0-9A-Za-z]{1,24};` → HTML_ENTITIES[text], or html.unescape
 * of a numeric reference if that consumes the ';'. */
static int ftfy_unescape_html(const uint32_t *s, size_t n, CpBuf *out)
{
    CpBuf tmp = { 0 };
    int rc = 0;
    size_t i = 0;
    while (i < n) {
        if (s[i] != '&') {
            if ((rc = cp_push(out, s[i])))
                goto done;
            i++;
            continue;
        }
        const int hash = i + 1 < n && s[i + 1] == '#';
        size_t k = i + 1 + (size_t)hash, j = k;
        while (j < n && (is_ascii_digit(s[j]) || is_ascii_alpha(s[j])))
            j++;
        if (j == k || j - k > 24 || j >= n || s[j] != ';') {
            if ((rc = cp_push(out, '&')))
                goto done;
            i++;
            continue;
        }
        /* match = s[i .. j] inclusive */
        const size_t mlen = j + 1 - i;
        if (!hash) {
            const NwEntity *e = entity_find_cp(s + k, j - k);
            const char *val = NULL;
            if (e && (e->flags & ENT_SEMI)) {
                val = e->value;
            } else {
                /* an all-upper-case version of an all-lower-case name */
                int has_lower = 0;
                uint32_t low[24];
                for (size_t t = k; t < j; t++) {
                    has_lower |= s[t] >= 'a' && s[t] <= 'z';
                    low[t - k] = (s[t] >= 'A' && s[t] <= 'Z') ? s[t] + 32 : s[t];
                }
                e = has_lower ? NULL : entity_find_cp(low, j - k);
                if (e && (e->flags & ENT_UPPER_SAME))
                    val = e->value;
                else if (e && (e->flags & ENT_UPPER))
                    val = e->upper;
            }
            rc = val ? append_utf8(out, val) : cp_append(out, s + i, mlen);
        } else {
            tmp.n = 0;
            if ((rc = py_html_unescape(s + i, mlen, &tmp)))
                goto done;
            int has_semi = 0;
            for (size_t t = 0; t < tmp.n; t++)
                has_semi |= tmp.v[t] == ';';
            rc = has_semi ? cp_append(out, s + i, mlen) : cp_append(out, tmp.v, tmp.n);
        }
        if (rc)
            goto done;
        i = j + 1;
    }
done:
    cp_free(&tmp);
    return rc;
}

/* fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes: per character. */
static int ftfy_charmaps(const uint32_t *s, size_t n, CpBuf *out)
{
    /* sloppy-windows-1252 for 0x80..0x9f (undefined bytes keep their Latin-1 value) */
    static const uint16_t c1[32] = {
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    };
    /* ftfy.chardata.LIGATURES */
    static const struct { uint16_t c; uint16_t to[3]; } lig[] = {
        { 0x0132, { 'I', 'J' } }, { 0x0133, { 'i', 'j' } }, { 0x0149, { 0x02BC, 'n' } },
        { 0x01C4, { 'D', 0x017D } }, { 0x01C5, { 'D', 0x017E } }, { 0x01C6, { 'd', 0x017E } },
        { 0x01C7, { 'L', 'J' } }, { 0x01C8, { 'L', 'j' } }, { 0x01C9, { 'l', 'j' } },
        { 0x01CA, { 'N', 'J' } }, { 0x01CB, { 'N', 'j' } }, { 0x01CC, { 'n', 'j' } },
        { 0x01F1, { 'D', 'Z' } }, { 0x01F2, { 'D', 'z' } }, { 0x01F3, { 'd', 'z' } },
        { 0xFB00, { 'f', 'f' } }, { 0xFB01, { 'f', 'i' } }, { 0xFB02, { 'f', 'l' } },
        { 0xFB03, { 'f', 'f', 'i' } }, { 0xFB04, { 'f', 'f', 'l' } }, { 0xFB05, { 0x017F, 't' } },
        { 0xFB06, { 's', 't' } },
    };
    for (size_t i = 0; i < n; i++) {
        uint32_t c = s[i];
        if (c >= 0x80 && c <= 0x9F)
            c = c1[c - 0x80];
        uint32_t seq[3] = { c, 0, 0 };
        int len = 1;
        for (size_t k = 0; k < sizeof(lig) / sizeof(lig[0]); k++) {
            if (lig[k].c == c) {
                seq[0] = lig[k].to[0];
                seq[1] = lig[k].to[1];
                seq[2] = lig[k].to[2];
                len = seq[2] ? 3 : 2;
                break;
            }
        }
        for (int k = 0; k < len; k++) {
            uint32_t second = 0;
            uint32_t d = width_map(seq[k], &second);
            if (d == 0x02BC || (d >= 0x2018 && d <= 0x201B))
                d = '\'';
            else if (d >= 0x201C && d <= 0x201F)
                d = '"';
            if (cp_push(out, d) || (second && cp_push(out, second)))
                return NUWA_ERR_NOMEM;
        }
    }
    return 0;
}

/* fix_line_breaks */
static int ftfy_line_breaks(const uint32_t *s, size_t n, CpBuf *out)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t c = s[i];
        if (c == '\r') {
            if (i + 1 < n && s[i + 1] == '\n')
                i++;
            c = '\n';
        } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
            c = '\n';
        }
        if (cp_push(out, c))
            return NUWA_ERR_NOMEM;
    }
    return 0;
}

static int is_ftfy_control(uint32_t c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
           (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

/* remove_terminal_escapes (`\x1b\[((?:\d|;)*)([a-zA-Z])`, \d = Unicode Nd) and
 * remove_control_chars. */
static int ftfy_escapes_controls(const uint32_t *s, size_t n, CpBuf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 0x1B && i + 1 < n && s[i + 1] == '[') {
            size_t j = i + 2;
            while (j < n && (s[j] == ';' ||
                             utf8proc_category((utf8proc_int32_t)s[j]) == UTF8PROC_CATEGORY_ND))
                j++;
            if (j < n && is_ascii_alpha(s[j])) {
                i = j;
                continue;
            }
        }
        if (!is_ftfy_control(s[i]) && cp_push(out, s[i]))
            return NUWA_ERR_NOMEM;
    }
    return 0;
}

/* unicodedata.normalize('NFC') with utf8proc. */
static int nfc(const uint32_t *s, size_t n, CpBuf *out)
{
    int simple = 1;
    for (size_t i = 0; i < n && simple; i++)
        simple = s[i] < 0x300;
    if (simple) /* nothing below U+0300 decomposes or combines */
        return cp_append(out, s, n);
    size_t len;
    uint8_t *u = utf8_encode(s, n, &len);
    if (!u)
        return NUWA_ERR_NOMEM;
    const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    utf8proc_ssize_t m = utf8proc_decompose(u, (utf8proc_ssize_t)len, NULL, 0, opt);
    int rc = NUWA_ERR_NOMEM;
    if (m >= 0 && cp_reserve(out, (size_t)m + 1) == 0) {
        utf8proc_int32_t *buf = (utf8proc_int32_t *)(out->v + out->n);
        utf8proc_ssize_t m2 = utf8proc_decompose(u, (utf8proc_ssize_t)len, buf, m, opt);
        if (m2 == m) {
            m2 = utf8proc_normalize_utf32(buf, m2, opt);
            if (m2 >= 0) {
                out->n += (size_t)m2;
                rc = 0;
            }
        }
    }
    free(u);
    return rc;
}

/* One round of fix_and_explain's fixers (in ftfy's order) on a segment. */
static int ftfy_round(CpBuf *cur, CpBuf *tmp, int unescape)
{
    int rc;
#define STEP(fn)                                                                                \
    do {                                                                                        \
        tmp->n = 0;                                                                             \
        if ((rc = fn(cur->v, cur->n, tmp)))                                                     \
            return rc;                                                                          \
        cp_swap(cur, tmp);                                                                      \
    } while (0)
    if (unescape)
        STEP(ftfy_unescape_html);
    STEP(ftfy_charmaps);
    STEP(ftfy_line_breaks);
    STEP(ftfy_escapes_controls);
    STEP(nfc);
#undef STEP
    return 0;
}

/* ftfy.fix_text(s) minus fix_encoding, appended to out. */
static int ftfy_fix_text(const uint32_t *s, size_t n, CpBuf *out)
{
    CpBuf cur = { 0 }, tmp = { 0 }, prev = { 0 };
    int rc = 0, unescape = 1;
    size_t pos = 0;
    while (pos < n) {
        size_t end = pos;
        while (end < n && s[end] != '\n')
            end++;
        end = end < n ? end + 1 : n;
        if (end - pos > FTFY_MAX_SEGMENT)
            end = pos + FTFY_MAX_SEGMENT;
        for (size_t i = pos; i < end && unescape; i++)
            if (s[i] == '<')
                unescape = 0;
        cur.n = 0;
        if ((rc = cp_append(&cur, s + pos, end - pos)))
            goto done;
        for (;;) {
            prev.n = 0;
            if ((rc = cp_append(&prev, cur.v, cur.n)) || (rc = ftfy_round(&cur, &tmp, unescape)))
                goto done;
            if (cur.n == prev.n && (cur.n == 0 || !memcmp(cur.v, prev.v, cur.n * sizeof(uint32_t))))
                break;
        }
        if ((rc = cp_append(out, cur.v, cur.n)))
            goto done;
        pos = end;
    }
done:
    cp_free(&cur);
    cp_free(&tmp);
    cp_free(&prev);
    return rc;
}

/* ---- whitespace, lower case --------------------------------------------------------------- */

static int is_white_space(uint32_t c) /* Unicode White_Space = regex \s */
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

static int is_py_space(uint32_t c) /* str.isspace */
{
    return is_white_space(c) || (c >= 0x1C && c <= 0x1F);
}

static void py_strip(CpBuf *b)
{
    size_t a = 0, e = b->n;
    while (a < e && is_py_space(b->v[a]))
        a++;
    while (e > a && is_py_space(b->v[e - 1]))
        e--;
    if (a > 0)
        memmove(b->v, b->v + a, (e - a) * sizeof(uint32_t));
    b->n = e - a;
}

/* re.sub(r'\s+', ' ', s).strip(), in place */
static void whitespace_clean(CpBuf *b)
{
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (is_white_space(b->v[i])) {
            if (i == 0 || !is_white_space(b->v[i - 1])) /* first of a run */
                b->v[k++] = ' ';
        } else {
            b->v[k++] = b->v[i];
        }
    }
    b->n = k;
    py_strip(b);
}

/* Case_Ignorable: Mn, Me, Cf, Lm, Sk, and Word_Break MidLetter / MidNumLet / Single_Quote. */
static int is_case_ignorable(uint32_t c)
{
    switch (c) {
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4:
    case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55:
    case 0xFF07: case 0xFF0E: case 0xFF1A:
        return 1;
    default:
        break;
    }
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_SK:
        return 1;
    default:
        return 0;
    }
}

/* Cased: Lu, Ll, Lt, anything with a case mapping, and the Other_Lowercase/Other_Uppercase
 * symbols without one (ª º, squared/negative circled Latin letters). */
static int is_cased(uint32_t c)
{
    const utf8proc_int32_t x = (utf8proc_int32_t)c;
    const utf8proc_category_t cat = utf8proc_category(x);
    if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT)
        return 1;
    if (utf8proc_tolower(x) != x || utf8proc_toupper(x) != x || utf8proc_totitle(x) != x)
        return 1;
    return c == 0xAA || c == 0xBA || (c >= 0x1F130 && c <= 0x1F149) ||
           (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189);
}

/* CPython's handle_capital_sigma */
static int final_sigma(const uint32_t *s, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && is_case_ignorable(s[j - 1]))
        j--;
    if (j == 0 || !is_cased(s[j - 1]))
        return 0;
    j = i + 1;
    while (j < n && is_case_ignorable(s[j]))
        j++;
    return j == n || !is_cased(s[j]);
}

/* str.lower() */
static int py_lower(const uint32_t *s, size_t n, CpBuf *out)
{
    for (size_t i = 0; i < n; i++) {
        const uint32_t c = s[i];
        int rc;
        if (c == 0x130)
            rc = cp_push(out, 'i') || cp_push(out, 0x307);
        else if (c == 0x3A3)
            rc = cp_push(out, final_sigma(s, n, i) ? 0x3C2 : 0x3C3);
        else if (c < 0x80)
            rc = cp_push(out, (c >= 'A' && c <= 'Z') ? c + 32 : c);
        else
            rc = cp_push(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)c));
        if (rc)
            return NUWA_ERR_NOMEM;
    }
    return 0;
}

/* ---- vocabulary and merges ---------------------------------------------------------------- */

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001B3ull;
    return h;
}

static uint64_t hash_pair(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDull;
    k ^= k >> 33;
    k *= 0xC4CEB9FE1A85EC53ull;
    return k ^ (k >> 33);
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 16;
    while (p < n)
        p *= 2;
    return p;
}

/* string -> id map used while loading (later ids replace earlier ones, like dict(zip(...))) */
typedef struct StrMap {
    int32_t *slot;
    uint64_t mask;
    const char *pool;
    const uint32_t *off;
} StrMap;

static int32_t *strmap_slot(const StrMap *m, const char *s, size_t len)
{
    uint64_t h = hash_bytes(s, len, 0xCBF29CE484222325ull) & m->mask;
    for (;;) {
        int32_t *sl = &m->slot[h];
        if (*sl < 0)
            return sl;
        const char *t = m->pool + m->off[*sl];
        if (strlen(t) == len && !memcmp(t, s, len))
            return sl;
        h = (h + 1) & m->mask;
    }
}

static int32_t strmap_get(const StrMap *m, const char *s, size_t len)
{
    return *strmap_slot(m, s, len);
}

static int32_t merge_find(const NwTokenizer *t, int32_t l, int32_t r, int32_t *res)
{
    const uint64_t key = (((uint64_t)(uint32_t)l << 32) | (uint32_t)r) + 1;
    uint64_t h = hash_pair(key) & t->mmask;
    for (;;) {
        if (t->mkey[h] == 0)
            return INT32_MAX;
        if (t->mkey[h] == key) {
            *res = t->mres[h];
            return t->mrank[h];
        }
        h = (h + 1) & t->mmask;
    }
}

static void merge_put(NwTokenizer *t, int32_t l, int32_t r, int32_t rank, int32_t res)
{
    const uint64_t key = (((uint64_t)(uint32_t)l << 32) | (uint32_t)r) + 1;
    uint64_t h = hash_pair(key) & t->mmask;
    while (t->mkey[h] != 0 && t->mkey[h] != key)
        h = (h + 1) & t->mmask;
    t->mkey[h] = key;
    t->mrank[h] = rank;
    t->mres[h] = res;
}

/* Checks one merge line; on success sets *space to the offset of its space. */
static int check_merge(const NwTokenizer *t, const char *m, size_t *space, char *why, size_t whylen)
{
    const size_t n = strlen(m);
    const char *sp = strchr(m, ' ');
    if (!sp || strchr(sp + 1, ' ')) {
        snprintf(why, whylen, "must contain exactly one space");
        return -1;
    }
    *space = (size_t)(sp - m);
    if (*space == 0 || *space + 1 == n) {
        snprintf(why, whylen, "empty %s side", *space == 0 ? "left" : "right");
        return -1;
    }
    for (size_t i = 0; i < n;) {
        if (i == *space) {
            i++;
            continue;
        }
        uint32_t c;
        int l = utf8_next((const uint8_t *)m + i, n - i, &c);
        if (l <= 0) {
            snprintf(why, whylen, "invalid UTF-8 at byte %zu", i);
            return -1;
        }
        if (c >= 324 || !t->sym_valid[c]) {
            snprintf(why, whylen, "U+%04X at byte %zu is not a byte symbol", (unsigned)c, i);
            return -1;
        }
        i += (size_t)l;
    }
    return 0;
}

int nw_tokenizer_load(NwTokenizer **out, const NwGguf *g, const NwLog *log)
{
    if (!out || !g) {
        nw_log(log, NUWA_LOG_ERROR, "nw_tokenizer_load: NULL argument\n");
        return NUWA_ERR_INVAL;
    }
    *out = NULL;
    char err[256];
    const char *model;
    int rc = nw_gguf_get_str(g, "nuwa.tokenizer.model", &model, err, sizeof(err));
    if (rc) {
        nw_log(log, NUWA_LOG_ERROR, "tokenizer: %s\n", err);
        return rc;
    }
    if (strcmp(model, NW_TOKENIZER_MODEL)) {
        nw_log(log, NUWA_LOG_ERROR, "tokenizer: nuwa.tokenizer.model is '%.64s', expected '%s'\n",
               model, NW_TOKENIZER_MODEL);
        return NUWA_ERR_BAD_MODEL;
    }
    const NwGgufKV *kv = nw_gguf_find_kv(g, "nuwa.tokenizer.merges");
    if (!kv) {
        nw_log(log, NUWA_LOG_ERROR, "tokenizer: missing key 'nuwa.tokenizer.merges'\n");
        return NUWA_ERR_BAD_MODEL;
    }
    if (kv->type != NW_GGUF_ARRAY || kv->arr_type != NW_GGUF_STRING) {
        nw_log(log, NUWA_LOG_ERROR, "tokenizer: nuwa.tokenizer.merges must be an array of strings\n");
        return NUWA_ERR_BAD_MODEL;
    }
    if (kv->n > NW_TOKENIZER_MAX_MERGES) {
        nw_log(log, NUWA_LOG_ERROR, "tokenizer: %llu merges (at most %d supported)\n",
               (unsigned long long)kv->n, NW_TOKENIZER_MAX_MERGES);
        return NUWA_ERR_BAD_MODEL;
    }

    NwTokenizer *t = calloc(1, sizeof(*t));
    if (!t)
        return NUWA_ERR_NOMEM;
    StrMap map = { 0 };
    t->n_merges = (int)kv->n;
    t->n_vocab = t->n_merges + 514;

    /* bytes_to_unicode: printable Latin-1 bytes keep their code point, the others get
     * 256, 257, ... in byte order; the id order lists the printable ones first. */
    uint32_t byte_cp[256];
    int order[256], n_order = 0, extra = 0;
    for (int b = 0; b < 256; b++) {
        const int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
        if (printable) {
            byte_cp[b] = (uint32_t)b;
            order[n_order++] = b;
        }
    }
    for (int b = 0; b < 256; b++) {
        const int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
        if (!printable) {
            byte_cp[b] = 256 + (uint32_t)extra++;
            order[n_order++] = b;
        }
    }
    for (int b = 0; b < 256; b++) {
        t->sym_byte[byte_cp[b]] = (uint8_t)b;
        t->sym_valid[byte_cp[b]] = 1;
    }

    /* validate the merges and size the string pool */
    size_t pool_size = 0;
    for (int i = 0; i < 256; i++)
        pool_size += 2 * ((size_t)(byte_cp[order[i]] < 0x80 ? 1 : 2) + 1) + 4;
    for (int r = 0; r < t->n_merges; r++) {
        size_t space;
        char why[96];
        if (check_merge(t, kv->strs[r], &space, why, sizeof(why))) {
            nw_log(log, NUWA_LOG_ERROR, "tokenizer: nuwa.tokenizer.merges[%d] = \"%.60s\": %s\n", r,
                   kv->strs[r], why);
            rc = NUWA_ERR_BAD_MODEL;
            goto fail;
        }
        pool_size += strlen(kv->strs[r]); /* minus the space, plus the NUL */
        if (pool_size > UINT32_MAX - 64) {
            nw_log(log, NUWA_LOG_ERROR, "tokenizer: merges too long\n");
            rc = NUWA_ERR_BAD_MODEL;
            goto fail;
        }
    }
    pool_size += sizeof(SPECIAL_SOT) + sizeof(SPECIAL_EOT);

    rc = NUWA_ERR_NOMEM;
    t->pool = malloc(pool_size);
    t->str_off = malloc(sizeof(uint32_t) * (size_t)t->n_vocab);
    const uint64_t smap_size = pow2_at_least(2 * (uint64_t)t->n_vocab);
    const uint64_t mmap_size = pow2_at_least(2 * (uint64_t)t->n_merges);
    map.slot = malloc(sizeof(int32_t) * smap_size);
    t->mkey = calloc(mmap_size, sizeof(uint64_t));
    t->mrank = malloc(sizeof(int32_t) * mmap_size);
    t->mres = malloc(sizeof(int32_t) * mmap_size);
    if (!t->pool || !t->str_off || !map.slot || !t->mkey || !t->mrank || !t->mres)
        goto fail;
    memset(map.slot, 0xFF, sizeof(int32_t) * smap_size);
    map.mask = smap_size - 1;
    map.pool = t->pool;
    map.off = t->str_off;
    t->mmask = mmap_size - 1;

    /* the vocabulary strings, in id order; the map keeps the last id of each string */
    size_t p = 0;
    for (int id = 0; id < t->n_vocab; id++) {
        char *s = t->pool + p;
        size_t len;
        if (id < 512) {
            len = (size_t)utf8_put(byte_cp[order[id % 256]], (uint8_t *)s);
            if (id >= 256) {
                memcpy(s + len, "</w>", 4);
                len += 4;
            }
        } else if (id < 512 + t->n_merges) {
            const char *m = kv->strs[id - 512];
            const char *sp = strchr(m, ' ');
            const size_t ll = (size_t)(sp - m), rl = strlen(sp + 1);
            memcpy(s, m, ll);
            memcpy(s + ll, sp + 1, rl);
            len = ll + rl;
        } else {
            const char *sp = id == t->n_vocab - 2 ? SPECIAL_SOT : SPECIAL_EOT;
            len = strlen(sp);
            memcpy(s, sp, len);
        }
        s[len] = 0;
        t->str_off[id] = (uint32_t)p;
        *strmap_slot(&map, s, len) = id;
        p += len + 1;
    }
    for (int b = 0; b < 256; b++) {
        uint8_t u[8];
        const int l = utf8_put(byte_cp[b], u);
        t->byte_id[b] = strmap_get(&map, (const char *)u, (size_t)l);
        memcpy(u + l, "</w>", 4);
        t->byte_end_id[b] = strmap_get(&map, (const char *)u, (size_t)l + 4);
    }

    /* merges: (left id, right id) -> rank, merged id; a side that is not a vocabulary string
     * can never occur in a word, so such a merge is dropped */
    for (int r = 0; r < t->n_merges; r++) {
        const char *m = kv->strs[r];
        const char *sp = strchr(m, ' ');
        const int32_t l = strmap_get(&map, m, (size_t)(sp - m));
        const int32_t rr = strmap_get(&map, sp + 1, strlen(sp + 1));
        const char *joined = t->pool + t->str_off[512 + r];
        const int32_t res = strmap_get(&map, joined, strlen(joined));
        if (l >= 0 && rr >= 0)
            merge_put(t, l, rr, r, res);
    }
    free(map.slot);
    map.slot = NULL;

    static const char pattern[] =
        "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|"
        "[^\\t\\n\\x0b\\f\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}"
        "\\x{205f}\\x{3000}\\p{L}\\p{N}\\x{345}]+";
    int perr;
    PCRE2_SIZE poff;
    t->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &perr, &poff, NULL);
    if (!t->re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(perr, msg, sizeof(msg));
        nw_log(log, NUWA_LOG_ERROR, "tokenizer: PCRE2 cannot compile the pattern: %s\n",
               (const char *)msg);
        rc = NUWA_ERR_UNSUPPORTED;
        goto fail;
    }
    (void)pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE); /* optional: the interpreter is exact too */

    nw_log(log, NUWA_LOG_DEBUG, "tokenizer: clip-bpe, %d merges, %d ids\n", t->n_merges, t->n_vocab);
    *out = t;
    return 0;
fail:
    free(map.slot);
    nw_tokenizer_free(&t);
    return rc;
}

void nw_tokenizer_free(NwTokenizer **pt)
{
    if (!pt || !*pt)
        return;
    NwTokenizer *t = *pt;
    pcre2_code_free(t->re);
    free(t->pool);
    free(t->str_off);
    free(t->mkey);
    free(t->mrank);
    free(t->mres);
    free(t);
    *pt = NULL;
}

int nw_tokenizer_vocab_size(const NwTokenizer *t) { return t ? t->n_vocab : 0; }
int nw_tokenizer_sot_id(const NwTokenizer *t) { return t ? t->n_vocab - 2 : -1; }
int nw_tokenizer_eot_id(const NwTokenizer *t) { return t ? t->n_vocab - 1 : -1; }

/* ---- encode ------------------------------------------------------------------------------- */

typedef struct Emit {
    int32_t *ids;
    int max, count;
    int truncate;
} Emit;

static int emit_full(const Emit *e) { return e->truncate && e->count >= e->max; }

static void emit(Emit *e, int32_t id)
{
    if (e->count < e->max)
        e->ids[e->count] = id;
    e->count++;
}

/* BPE of one piece (bytes); `word` has room for len ids. */
static void bpe_piece(const NwTokenizer *t, const uint8_t *p, size_t len, int32_t *word, Emit *e)
{
    for (size_t i = 0; i + 1 < len; i++)
        word[i] = t->byte_id[p[i]];
    word[len - 1] = t->byte_end_id[p[len - 1]];
    size_t m = len;
    while (m > 1) {
        int32_t best = INT32_MAX, first = 0, second = 0, merged = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            int32_t res;
            const int32_t r = merge_find(t, word[i], word[i + 1], &res);
            if (r < best) {
                best = r;
                first = word[i];
                second = word[i + 1];
                merged = res;
            }
        }
        if (best == INT32_MAX)
            break;
        size_t k = 0;
        for (size_t i = 0; i < m;) {
            if (i + 1 < m && word[i] == first && word[i + 1] == second) {
                word[k++] = merged;
                i += 2;
            } else {
                word[k++] = word[i++];
            }
        }
        m = k;
    }
    for (size_t i = 0; i < m && !emit_full(e); i++)
        emit(e, word[i]);
}

/* The cleaned, lower-cased text of the reference's encode() (before the regex). */
static int clean_text(const uint32_t *s, size_t n, CpBuf *out)
{
    CpBuf a = { 0 }, b = { 0 };
    int rc;
    if ((rc = ftfy_fix_text(s, n, &a)) || (rc = py_html_unescape(a.v, a.n, &b)))
        goto done;
    a.n = 0;
    if ((rc = py_html_unescape(b.v, b.n, &a)))
        goto done;
    py_strip(&a);
    whitespace_clean(&a);
    rc = py_lower(a.v, a.n, out);
done:
    cp_free(&a);
    cp_free(&b);
    return rc;
}

int nw_tokenizer_encode(const NwTokenizer *t, const char *utf8, int32_t *ids, int max_ids,
                        int *n_ids, int truncate, const NwLog *log)
{
    if (!t || !utf8 || !n_ids || max_ids < 0 || (!ids && max_ids > 0)) {
        nw_log(log, NUWA_LOG_ERROR, "nw_tokenizer_encode: NULL argument or negative max_ids\n");
        return NUWA_ERR_INVAL;
    }
    *n_ids = 0;
    const size_t len = strlen(utf8);
    CpBuf in = { 0 }, clean = { 0 };
    uint8_t *text = NULL;
    int32_t *word = NULL;
    pcre2_match_data *md = NULL;
    int rc;

    /* decode (strict) */
    if ((rc = cp_reserve(&in, len)))
        goto done;
    for (size_t i = 0; i < len;) {
        uint32_t c;
        const int l = utf8_next((const uint8_t *)utf8 + i, len - i, &c);
        if (l <= 0) {
            nw_log(log, NUWA_LOG_ERROR, "tokenizer: invalid UTF-8 at byte %zu (0x%02x)\n", i,
                   (unsigned)(uint8_t)utf8[i]);
            rc = NUWA_ERR_INVAL;
            goto done;
        }
        in.v[in.n++] = c;
        i += (size_t)l;
    }

    if ((rc = clean_text(in.v, in.n, &clean)))
        goto done;
    size_t tlen;
    rc = NUWA_ERR_NOMEM;
    text = utf8_encode(clean.v, clean.n, &tlen);
    word = malloc(sizeof(int32_t) * (tlen ? tlen : 1));
    md = pcre2_match_data_create_from_pattern(t->re, NULL);
    if (!text || !word || !md)
        goto done;

    Emit e = { ids, max_ids, 0, truncate };
    PCRE2_SIZE off = 0;
    while (off < tlen && !emit_full(&e)) {
        int m = pcre2_match(t->re, text, tlen, off, PCRE2_NO_UTF_CHECK, md, NULL);
        if (m == PCRE2_ERROR_JIT_STACKLIMIT)
            m = pcre2_match(t->re, text, tlen, off, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
        if (m == PCRE2_ERROR_NOMATCH)
            break;
        if (m < 0) {
            PCRE2_UCHAR msg[128];
            pcre2_get_error_message(m, msg, sizeof(msg));
            nw_log(log, NUWA_LOG_ERROR, "tokenizer: PCRE2 match failed: %s\n", (const char *)msg);
            rc = NUWA_ERR_NOMEM;
            goto done;
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        const uint8_t *piece = text + ov[0];
        const size_t plen = ov[1] - ov[0];
        if (plen == 0) { /* cannot happen: no alternative matches the empty string */
            off = ov[1] + 1;
            continue;
        }
        if (plen == sizeof(SPECIAL_SOT) - 1 && !memcmp(piece, SPECIAL_SOT, plen)) {
            emit(&e, t->n_vocab - 2);
        } else if (plen == sizeof(SPECIAL_EOT) - 1 && !memcmp(piece, SPECIAL_EOT, plen)) {
            emit(&e, t->n_vocab - 1);
        } else {
            bpe_piece(t, piece, plen, word, &e);
        }
        off = ov[1];
    }

    if (e.count > max_ids && !truncate) {
        nw_log(log, NUWA_LOG_ERROR,
               "tokenizer: the text is %d tokens, more than the context length %d\n", e.count,
               max_ids);
        *n_ids = e.count;
        rc = NUWA_ERR_INVAL;
        goto done;
    }
    *n_ids = e.count < max_ids ? e.count : max_ids;
    rc = 0;
done:
    pcre2_match_data_free(md);
    free(word);
    free(text);
    cp_free(&in);
    cp_free(&clean);
    return rc;
}

/* ---- decode ------------------------------------------------------------------------------- */

int nw_tokenizer_decode(const NwTokenizer *t, const int32_t *ids, int n_ids, char *buf,
                        size_t cap, size_t *len, const NwLog *log)
{
    if (!t || (!ids && n_ids > 0) || n_ids < 0 || !len || (!buf && cap > 0)) {
        nw_log(log, NUWA_LOG_ERROR, "nw_tokenizer_decode: NULL argument\n");
        return NUWA_ERR_INVAL;
    }
    /* symbols -> bytes, then "</w>" -> ' ' */
    size_t nb = 0;
    for (int i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab) {
            nw_log(log, NUWA_LOG_ERROR, "nw_tokenizer_decode: id %d out of range [0, %d)\n",
                   (int)ids[i], t->n_vocab);
            return NUWA_ERR_INVAL;
        }
        nb += strlen(t->pool + t->str_off[ids[i]]);
    }
    uint8_t *bytes = malloc(nb + 1);
    if (!bytes)
        return NUWA_ERR_NOMEM;
    size_t k = 0;
    for (int i = 0; i < n_ids; i++) {
        const char *s = t->pool + t->str_off[ids[i]];
        const size_t sl = strlen(s);
        for (size_t j = 0; j < sl;) {
            uint32_t c = 0;
            const int l = utf8_next((const uint8_t *)s + j, sl - j, &c);
            /* every character of every vocabulary string is a byte symbol (checked at load) */
            bytes[k++] = l > 0 && c < 324 ? t->sym_byte[c] : '?';
            j += (size_t)(l > 0 ? l : 1);
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < k;) {
        if (i + 4 <= k && !memcmp(bytes + i, "</w>", 4)) {
            bytes[w++] = ' ';
            i += 4;
        } else {
            bytes[w++] = bytes[i++];
        }
    }
    k = w;
    /* bytes -> valid UTF-8 (U+FFFD per invalid byte) */
    size_t o = 0;
    for (size_t i = 0; i < k;) {
        uint32_t c;
        int l = utf8_next(bytes + i, k - i, &c);
        uint8_t u[4];
        int ul;
        if (l <= 0) {
            ul = utf8_put(0xFFFD, u);
            l = 1;
        } else {
            ul = l;
            memcpy(u, bytes + i, (size_t)l);
        }
        for (int q = 0; q < ul; q++, o++)
            if (o + 1 < cap)
                buf[o] = (char)u[q];
        i += (size_t)l;
    }
    if (cap)
        buf[o < cap ? o : cap - 1] = 0;
    *len = o;
    free(bytes);
    return 0;
}

/* ---- generated tables --------------------------------------------------------------------- */
/* HTML5 named character references (Python 3.11.2 html.entities.html5, 2231 names)
 * and ftfy's upper-case variants &NAME; of all-lower-case names (ftfy.chardata.HTML_ENTITIES, 1376).
 * Generated by tools/make_tokenizer_fixture.py --c-tables. Sorted by name. */
static const NwEntity nw_entities[] = {
    {"AElig", 3, "\xc3\x86", NULL}, {"AMP", 3, "&", NULL}, {"Aacute", 3, "\xc3\x81", NULL},
    {"Abreve", 1, "\xc4\x82", NULL}, {"Acirc", 3, "\xc3\x82", NULL}, {"Acy", 1, "\xd0\x90", NULL},
    {"Afr", 1, "\xf0\x9d\x94\x84", NULL}, {"Agrave", 3, "\xc3\x80", NULL}, {"Alpha", 1, "\xce\x91", NULL},
    {"Amacr", 1, "\xc4\x80", NULL}, {"And", 1, "\xe2\xa9\x93", NULL}, {"Aogon", 1, "\xc4\x84", NULL},
    {"Aopf", 1, "\xf0\x9d\x94\xb8", NULL}, {"ApplyFunction", 1, "\xe2\x81\xa1", NULL},
    {"Aring", 3, "\xc3\x85", NULL}, {"Ascr", 1, "\xf0\x9d\x92\x9c", NULL},
    {"Assign", 1, "\xe2\x89\x94", NULL}, {"Atilde", 3, "\xc3\x83", NULL}, {"Auml", 3, "\xc3\x84", NULL},
    {"Backslash", 1, "\xe2\x88\x96", NULL}, {"Barv", 1, "\xe2\xab\xa7", NULL},
    {"Barwed", 1, "\xe2\x8c\x86", NULL}, {"Bcy", 1, "\xd0\x91", NULL}, {"Because", 1, "\xe2\x88\xb5", NULL},
    {"Bernoullis", 1, "\xe2\x84\xac", NULL}, {"Beta", 1, "\xce\x92", NULL},
    {"Bfr", 1, "\xf0\x9d\x94\x85", NULL}, {"Bopf", 1, "\xf0\x9d\x94\xb9", NULL},
    {"Breve", 1, "\xcb\x98", NULL}, {"Bscr", 1, "\xe2\x84\xac", NULL}, {"Bumpeq", 1, "\xe2\x89\x8e", NULL},
    {"CHcy", 1, "\xd0\xa7", NULL}, {"COPY", 3, "\xc2\xa9", NULL}, {"Cacute", 1, "\xc4\x86", NULL},
    {"Cap", 1, "\xe2\x8b\x92", NULL}, {"CapitalDifferentialD", 1, "\xe2\x85\x85", NULL},
    {"Cayleys", 1, "\xe2\x84\xad", NULL}, {"Ccaron", 1, "\xc4\x8c", NULL}, {"Ccedil", 3, "\xc3\x87", NULL},
    {"Ccirc", 1, "\xc4\x88", NULL}, {"Cconint", 1, "\xe2\x88\xb0", NULL}, {"Cdot", 1, "\xc4\x8a", NULL},
    {"Cedilla", 1, "\xc2\xb8", NULL}, {"CenterDot", 1, "\xc2\xb7", NULL}, {"Cfr", 1, "\xe2\x84\xad", NULL},
    {"Chi", 1, "\xce\xa7", NULL}, {"CircleDot", 1, "\xe2\x8a\x99", NULL},
    {"CircleMinus", 1, "\xe2\x8a\x96", NULL}, {"CirclePlus", 1, "\xe2\x8a\x95", NULL},
    {"CircleTimes", 1, "\xe2\x8a\x97", NULL}, {"ClockwiseContourIntegral", 1, "\xe2\x88\xb2", NULL},
    {"CloseCurlyDoubleQuote", 1, "\xe2\x80\x9d", NULL}, {"CloseCurlyQuote", 1, "\xe2\x80\x99", NULL},
    {"Colon", 1, "\xe2\x88\xb7", NULL}, {"Colone", 1, "\xe2\xa9\xb4", NULL},
    {"Congruent", 1, "\xe2\x89\xa1", NULL}, {"Conint", 1, "\xe2\x88\xaf", NULL},
    {"ContourIntegral", 1, "\xe2\x88\xae", NULL}, {"Copf", 1, "\xe2\x84\x82", NULL},
    {"Coproduct", 1, "\xe2\x88\x90", NULL}, {"CounterClockwiseContourIntegral", 1, "\xe2\x88\xb3", NULL},
    {"Cross", 1, "\xe2\xa8\xaf", NULL}, {"Cscr", 1, "\xf0\x9d\x92\x9e", NULL},
    {"Cup", 1, "\xe2\x8b\x93", NULL}, {"CupCap", 1, "\xe2\x89\x8d", NULL}, {"DD", 1, "\xe2\x85\x85", NULL},
    {"DDotrahd", 1, "\xe2\xa4\x91", NULL}, {"DJcy", 1, "\xd0\x82", NULL}, {"DScy", 1, "\xd0\x85", NULL},
    {"DZcy", 1, "\xd0\x8f", NULL}, {"Dagger", 1, "\xe2\x80\xa1", NULL}, {"Darr", 1, "\xe2\x86\xa1", NULL},
    {"Dashv", 1, "\xe2\xab\xa4", NULL}, {"Dcaron", 1, "\xc4\x8e", NULL}, {"Dcy", 1, "\xd0\x94", NULL},
    {"Del", 1, "\xe2\x88\x87", NULL}, {"Delta", 1, "\xce\x94", NULL}, {"Dfr", 1, "\xf0\x9d\x94\x87", NULL},
    {"DiacriticalAcute", 1, "\xc2\xb4", NULL}, {"DiacriticalDot", 1, "\xcb\x99", NULL},
    {"DiacriticalDoubleAcute", 1, "\xcb\x9d", NULL}, {"DiacriticalGrave", 1, "`", NULL},
    {"DiacriticalTilde", 1, "\xcb\x9c", NULL}, {"Diamond", 1, "\xe2\x8b\x84", NULL},
    {"DifferentialD", 1, "\xe2\x85\x86", NULL}, {"Dopf", 1, "\xf0\x9d\x94\xbb", NULL},
    {"Dot", 1, "\xc2\xa8", NULL}, {"DotDot", 1, "\xe2\x83\x9c", NULL}, {"DotEqual", 1, "\xe2\x89\x90", NULL},
    {"DoubleContourIntegral", 1, "\xe2\x88\xaf", NULL}, {"DoubleDot", 1, "\xc2\xa8", NULL},
    {"DoubleDownArrow", 1, "\xe2\x87\x93", NULL}, {"DoubleLeftArrow", 1, "\xe2\x87\x90", NULL},
    {"DoubleLeftRightArrow", 1, "\xe2\x87\x94", NULL}, {"DoubleLeftTee", 1, "\xe2\xab\xa4", NULL},
    {"DoubleLongLeftArrow", 1, "\xe2\x9f\xb8", NULL}, {"DoubleLongLeftRightArrow", 1, "\xe2\x9f\xba", NULL},
    {"DoubleLongRightArrow", 1, "\xe2\x9f\xb9", NULL}, {"DoubleRightArrow", 1, "\xe2\x87\x92", NULL},
    {"DoubleRightTee", 1, "\xe2\x8a\xa8", NULL}, {"DoubleUpArrow", 1, "\xe2\x87\x91", NULL},
    {"DoubleUpDownArrow", 1, "\xe2\x87\x95", NULL}, {"DoubleVerticalBar", 1, "\xe2\x88\xa5", NULL},
    {"DownArrow", 1, "\xe2\x86\x93", NULL}, {"DownArrowBar", 1, "\xe2\xa4\x93", NULL},
    {"DownArrowUpArrow", 1, "\xe2\x87\xb5", NULL}, {"DownBreve", 1, "\xcc\x91", NULL},
    {"DownLeftRightVector", 1, "\xe2\xa5\x90", NULL}, {"DownLeftTeeVector", 1, "\xe2\xa5\x9e", NULL},
    {"DownLeftVector", 1, "\xe2\x86\xbd", NULL}, {"DownLeftVectorBar", 1, "\xe2\xa5\x96", NULL},
    {"DownRightTeeVector", 1, "\xe2\xa5\x9f", NULL}, {"DownRightVector", 1, "\xe2\x87\x81", NULL},
    {"DownRightVectorBar", 1, "\xe2\xa5\x97", NULL}, {"DownTee", 1, "\xe2\x8a\xa4", NULL},
    {"DownTeeArrow", 1, "\xe2\x86\xa7", NULL}, {"Downarrow", 1, "\xe2\x87\x93", NULL},
    {"Dscr", 1, "\xf0\x9d\x92\x9f", NULL}, {"Dstrok", 1, "\xc4\x90", NULL}, {"ENG", 1, "\xc5\x8a", NULL},
    {"ETH", 3, "\xc3\x90", NULL}, {"Eacute", 3, "\xc3\x89", NULL}, {"Ecaron", 1, "\xc4\x9a", NULL},
    {"Ecirc", 3, "\xc3\x8a", NULL}, {"Ecy", 1, "\xd0\xad", NULL}, {"Edot", 1, "\xc4\x96", NULL},
    {"Efr", 1, "\xf0\x9d\x94\x88", NULL}, {"Egrave", 3, "\xc3\x88", NULL},
    {"Element", 1, "\xe2\x88\x88", NULL}, {"Emacr", 1, "\xc4\x92", NULL},
    {"EmptySmallSquare", 1, "\xe2\x97\xbb", NULL}, {"EmptyVerySmallSquare", 1, "\xe2\x96\xab", NULL},
    {"Eogon", 1, "\xc4\x98", NULL}, {"Eopf", 1, "\xf0\x9d\x94\xbc", NULL}, {"Epsilon", 1, "\xce\x95", NULL},
    {"Equal", 1, "\xe2\xa9\xb5", NULL}, {"EqualTilde", 1, "\xe2\x89\x82", NULL},
    {"Equilibrium", 1, "\xe2\x87\x8c", NULL}, {"Escr", 1, "\xe2\x84\xb0", NULL},
    {"Esim", 1, "\xe2\xa9\xb3", NULL}, {"Eta", 1, "\xce\x97", NULL}, {"Euml", 3, "\xc3\x8b", NULL},
    {"Exists", 1, "\xe2\x88\x83", NULL}, {"ExponentialE", 1, "\xe2\x85\x87", NULL},
    {"Fcy", 1, "\xd0\xa4", NULL}, {"Ffr", 1, "\xf0\x9d\x94\x89", NULL},
    {"FilledSmallSquare", 1, "\xe2\x97\xbc", NULL}, {"FilledVerySmallSquare", 1, "\xe2\x96\xaa", NULL},
    {"Fopf", 1, "\xf0\x9d\x94\xbd", NULL}, {"ForAll", 1, "\xe2\x88\x80", NULL},
    {"Fouriertrf", 1, "\xe2\x84\xb1", NULL}, {"Fscr", 1, "\xe2\x84\xb1", NULL}, {"GJcy", 1, "\xd0\x83", NULL},
    {"GT", 3, ">", NULL}, {"Gamma", 1, "\xce\x93", NULL}, {"Gammad", 1, "\xcf\x9c", NULL},
    {"Gbreve", 1, "\xc4\x9e", NULL}, {"Gcedil", 1, "\xc4\xa2", NULL}, {"Gcirc", 1, "\xc4\x9c", NULL},
    {"Gcy", 1, "\xd0\x93", NULL}, {"Gdot", 1, "\xc4\xa0", NULL}, {"Gfr", 1, "\xf0\x9d\x94\x8a", NULL},
    {"Gg", 1, "\xe2\x8b\x99", NULL}, {"Gopf", 1, "\xf0\x9d\x94\xbe", NULL},
    {"GreaterEqual", 1, "\xe2\x89\xa5", NULL}, {"GreaterEqualLess", 1, "\xe2\x8b\x9b", NULL},
    {"GreaterFullEqual", 1, "\xe2\x89\xa7", NULL}, {"GreaterGreater", 1, "\xe2\xaa\xa2", NULL},
    {"GreaterLess", 1, "\xe2\x89\xb7", NULL}, {"GreaterSlantEqual", 1, "\xe2\xa9\xbe", NULL},
    {"GreaterTilde", 1, "\xe2\x89\xb3", NULL}, {"Gscr", 1, "\xf0\x9d\x92\xa2", NULL},
    {"Gt", 1, "\xe2\x89\xab", NULL}, {"HARDcy", 1, "\xd0\xaa", NULL}, {"Hacek", 1, "\xcb\x87", NULL},
    {"Hat", 1, "^", NULL}, {"Hcirc", 1, "\xc4\xa4", NULL}, {"Hfr", 1, "\xe2\x84\x8c", NULL},
    {"HilbertSpace", 1, "\xe2\x84\x8b", NULL}, {"Hopf", 1, "\xe2\x84\x8d", NULL},
    {"HorizontalLine", 1, "\xe2\x94\x80", NULL}, {"Hscr", 1, "\xe2\x84\x8b", NULL},
    {"Hstrok", 1, "\xc4\xa6", NULL}, {"HumpDownHump", 1, "\xe2\x89\x8e", NULL},
    {"HumpEqual", 1, "\xe2\x89\x8f", NULL}, {"IEcy", 1, "\xd0\x95", NULL}, {"IJlig", 1, "\xc4\xb2", NULL},
    {"IOcy", 1, "\xd0\x81", NULL}, {"Iacute", 3, "\xc3\x8d", NULL}, {"Icirc", 3, "\xc3\x8e", NULL},
    {"Icy", 1, "\xd0\x98", NULL}, {"Idot", 1, "\xc4\xb0", NULL}, {"Ifr", 1, "\xe2\x84\x91", NULL},
    {"Igrave", 3, "\xc3\x8c", NULL}, {"Im", 1, "\xe2\x84\x91", NULL}, {"Imacr", 1, "\xc4\xaa", NULL},
    {"ImaginaryI", 1, "\xe2\x85\x88", NULL}, {"Implies", 1, "\xe2\x87\x92", NULL},
    {"Int", 1, "\xe2\x88\xac", NULL}, {"Integral", 1, "\xe2\x88\xab", NULL},
    {"Intersection", 1, "\xe2\x8b\x82", NULL}, {"InvisibleComma", 1, "\xe2\x81\xa3", NULL},
    {"InvisibleTimes", 1, "\xe2\x81\xa2", NULL}, {"Iogon", 1, "\xc4\xae", NULL},
    {"Iopf", 1, "\xf0\x9d\x95\x80", NULL}, {"Iota", 1, "\xce\x99", NULL}, {"Iscr", 1, "\xe2\x84\x90", NULL},
    {"Itilde", 1, "\xc4\xa8", NULL}, {"Iukcy", 1, "\xd0\x86", NULL}, {"Iuml", 3, "\xc3\x8f", NULL},
    {"Jcirc", 1, "\xc4\xb4", NULL}, {"Jcy", 1, "\xd0\x99", NULL}, {"Jfr", 1, "\xf0\x9d\x94\x8d", NULL},
    {"Jopf", 1, "\xf0\x9d\x95\x81", NULL}, {"Jscr", 1, "\xf0\x9d\x92\xa5", NULL},
    {"Jsercy", 1, "\xd0\x88", NULL}, {"Jukcy", 1, "\xd0\x84", NULL}, {"KHcy", 1, "\xd0\xa5", NULL},
    {"KJcy", 1, "\xd0\x8c", NULL}, {"Kappa", 1, "\xce\x9a", NULL}, {"Kcedil", 1, "\xc4\xb6", NULL},
    {"Kcy", 1, "\xd0\x9a", NULL}, {"Kfr", 1, "\xf0\x9d\x94\x8e", NULL}, {"Kopf", 1, "\xf0\x9d\x95\x82", NULL},
    {"Kscr", 1, "\xf0\x9d\x92\xa6", NULL}, {"LJcy", 1, "\xd0\x89", NULL}, {"LT", 3, "<", NULL},
    {"Lacute", 1, "\xc4\xb9", NULL}, {"Lambda", 1, "\xce\x9b", NULL}, {"Lang", 1, "\xe2\x9f\xaa", NULL},
    {"Laplacetrf", 1, "\xe2\x84\x92", NULL}, {"Larr", 1, "\xe2\x86\x9e", NULL},
    {"Lcaron", 1, "\xc4\xbd", NULL}, {"Lcedil", 1, "\xc4\xbb", NULL}, {"Lcy", 1, "\xd0\x9b", NULL},
    {"LeftAngleBracket", 1, "\xe2\x9f\xa8", NULL}, {"LeftArrow", 1, "\xe2\x86\x90", NULL},
    {"LeftArrowBar", 1, "\xe2\x87\xa4", NULL}, {"LeftArrowRightArrow", 1, "\xe2\x87\x86", NULL},
    {"LeftCeiling", 1, "\xe2\x8c\x88", NULL}, {"LeftDoubleBracket", 1, "\xe2\x9f\xa6", NULL},
    {"LeftDownTeeVector", 1, "\xe2\xa5\xa1", NULL}, {"LeftDownVector", 1, "\xe2\x87\x83", NULL},
    {"LeftDownVectorBar", 1, "\xe2\xa5\x99", NULL}, {"LeftFloor", 1, "\xe2\x8c\x8a", NULL},
    {"LeftRightArrow", 1, "\xe2\x86\x94", NULL}, {"LeftRightVector", 1, "\xe2\xa5\x8e", NULL},
    {"LeftTee", 1, "\xe2\x8a\xa3", NULL}, {"LeftTeeArrow", 1, "\xe2\x86\xa4", NULL},
    {"LeftTeeVector", 1, "\xe2\xa5\x9a", NULL}, {"LeftTriangle", 1, "\xe2\x8a\xb2", NULL},
    {"LeftTriangleBar", 1, "\xe2\xa7\x8f", NULL}, {"LeftTriangleEqual", 1, "\xe2\x8a\xb4", NULL},
    {"LeftUpDownVector", 1, "\xe2\xa5\x91", NULL}, {"LeftUpTeeVector", 1, "\xe2\xa5\xa0", NULL},
    {"LeftUpVector", 1, "\xe2\x86\xbf", NULL}, {"LeftUpVectorBar", 1, "\xe2\xa5\x98", NULL},
    {"LeftVector", 1, "\xe2\x86\xbc", NULL}, {"LeftVectorBar", 1, "\xe2\xa5\x92", NULL},
    {"Leftarrow", 1, "\xe2\x87\x90", NULL}, {"Leftrightarrow", 1, "\xe2\x87\x94", NULL},
    {"LessEqualGreater", 1, "\xe2\x8b\x9a", NULL}, {"LessFullEqual", 1, "\xe2\x89\xa6", NULL},
    {"LessGreater", 1, "\xe2\x89\xb6", NULL}, {"LessLess", 1, "\xe2\xaa\xa1", NULL},
    {"LessSlantEqual", 1, "\xe2\xa9\xbd", NULL}, {"LessTilde", 1, "\xe2\x89\xb2", NULL},
    {"Lfr", 1, "\xf0\x9d\x94\x8f", NULL}, {"Ll", 1, "\xe2\x8b\x98", NULL},
    {"Lleftarrow", 1, "\xe2\x87\x9a", NULL}, {"Lmidot", 1, "\xc4\xbf", NULL},
    {"LongLeftArrow", 1, "\xe2\x9f\xb5", NULL}, {"LongLeftRightArrow", 1, "\xe2\x9f\xb7", NULL},
    {"LongRightArrow", 1, "\xe2\x9f\xb6", NULL}, {"Longleftarrow", 1, "\xe2\x9f\xb8", NULL},
    {"Longleftrightarrow", 1, "\xe2\x9f\xba", NULL}, {"Longrightarrow", 1, "\xe2\x9f\xb9", NULL},
    {"Lopf", 1, "\xf0\x9d\x95\x83", NULL}, {"LowerLeftArrow", 1, "\xe2\x86\x99", NULL},
    {"LowerRightArrow", 1, "\xe2\x86\x98", NULL}, {"Lscr", 1, "\xe2\x84\x92", NULL},
    {"Lsh", 1, "\xe2\x86\xb0", NULL}, {"Lstrok", 1, "\xc5\x81", NULL}, {"Lt", 1, "\xe2\x89\xaa", NULL},
    {"Map", 1, "\xe2\xa4\x85", NULL}, {"Mcy", 1, "\xd0\x9c", NULL}, {"MediumSpace", 1, "\xe2\x81\x9f", NULL},
    {"Mellintrf", 1, "\xe2\x84\xb3", NULL}, {"Mfr", 1, "\xf0\x9d\x94\x90", NULL},
    {"MinusPlus", 1, "\xe2\x88\x93", NULL}, {"Mopf", 1, "\xf0\x9d\x95\x84", NULL},
    {"Mscr", 1, "\xe2\x84\xb3", NULL}, {"Mu", 1, "\xce\x9c", NULL}, {"NJcy", 1, "\xd0\x8a", NULL},
    {"Nacute", 1, "\xc5\x83", NULL}, {"Ncaron", 1, "\xc5\x87", NULL}, {"Ncedil", 1, "\xc5\x85", NULL},
    {"Ncy", 1, "\xd0\x9d", NULL}, {"NegativeMediumSpace", 1, "\xe2\x80\x8b", NULL},
    {"NegativeThickSpace", 1, "\xe2\x80\x8b", NULL}, {"NegativeThinSpace", 1, "\xe2\x80\x8b", NULL},
    {"NegativeVeryThinSpace", 1, "\xe2\x80\x8b", NULL}, {"NestedGreaterGreater", 1, "\xe2\x89\xab", NULL},
    {"NestedLessLess", 1, "\xe2\x89\xaa", NULL}, {"NewLine", 1, "\x0a", NULL},
    {"Nfr", 1, "\xf0\x9d\x94\x91", NULL}, {"NoBreak", 1, "\xe2\x81\xa0", NULL},
    {"NonBreakingSpace", 1, "\xc2\xa0", NULL}, {"Nopf", 1, "\xe2\x84\x95", NULL},
    {"Not", 1, "\xe2\xab\xac", NULL}, {"NotCongruent", 1, "\xe2\x89\xa2", NULL},
    {"NotCupCap", 1, "\xe2\x89\xad", NULL}, {"NotDoubleVerticalBar", 1, "\xe2\x88\xa6", NULL},
    {"NotElement", 1, "\xe2\x88\x89", NULL}, {"NotEqual", 1, "\xe2\x89\xa0", NULL},
    {"NotEqualTilde", 1, "\xe2\x89\x82\xcc\xb8", NULL}, {"NotExists", 1, "\xe2\x88\x84", NULL},
    {"NotGreater", 1, "\xe2\x89\xaf", NULL}, {"NotGreaterEqual", 1, "\xe2\x89\xb1", NULL},
    {"NotGreaterFullEqual", 1, "\xe2\x89\xa7\xcc\xb8", NULL},
    {"NotGreaterGreater", 1, "\xe2\x89\xab\xcc\xb8", NULL}, {"NotGreaterLess", 1, "\xe2\x89\xb9", NULL},
    {"NotGreaterSlantEqual", 1, "\xe2\xa9\xbe\xcc\xb8", NULL}, {"NotGreaterTilde", 1, "\xe2\x89\xb5", NULL},
    {"NotHumpDownHump", 1, "\xe2\x89\x8e\xcc\xb8", NULL}, {"NotHumpEqual", 1, "\xe2\x89\x8f\xcc\xb8", NULL},
    {"NotLeftTriangle", 1, "\xe2\x8b\xaa", NULL}, {"NotLeftTriangleBar", 1, "\xe2\xa7\x8f\xcc\xb8", NULL},
    {"NotLeftTriangleEqual", 1, "\xe2\x8b\xac", NULL}, {"NotLess", 1, "\xe2\x89\xae", NULL},
    {"NotLessEqual", 1, "\xe2\x89\xb0", NULL}, {"NotLessGreater", 1, "\xe2\x89\xb8", NULL},
    {"NotLessLess", 1, "\xe2\x89\xaa\xcc\xb8", NULL}, {"NotLessSlantEqual", 1, "\xe2\xa9\xbd\xcc\xb8", NULL},
    {"NotLessTilde", 1, "\xe2\x89\xb4", NULL}, {"NotNestedGreaterGreater", 1, "\xe2\xaa\xa2\xcc\xb8", NULL},
    {"NotNestedLessLess", 1, "\xe2\xaa\xa1\xcc\xb8", NULL}, {"NotPrecedes", 1, "\xe2\x8a\x80", NULL},
    {"NotPrecedesEqual", 1, "\xe2\xaa\xaf\xcc\xb8", NULL}, {"NotPrecedesSlantEqual", 1, "\xe2\x8b\xa0", NULL},
    {"NotReverseElement", 1, "\xe2\x88\x8c", NULL}, {"NotRightTriangle", 1, "\xe2\x8b\xab", NULL},
    {"NotRightTriangleBar", 1, "\xe2\xa7\x90\xcc\xb8", NULL},
    {"NotRightTriangleEqual", 1, "\xe2\x8b\xad", NULL}, {"NotSquareSubset", 1, "\xe2\x8a\x8f\xcc\xb8", NULL},
    {"NotSquareSubsetEqual", 1, "\xe2\x8b\xa2", NULL}, {"NotSquareSuperset", 1, "\xe2\x8a\x90\xcc\xb8", NULL},
    {"NotSquareSupersetEqual", 1, "\xe2\x8b\xa3", NULL}, {"NotSubset", 1, "\xe2\x8a\x82\xe2\x83\x92", NULL},
    {"NotSubsetEqual", 1, "\xe2\x8a\x88", NULL}, {"NotSucceeds", 1, "\xe2\x8a\x81", NULL},
    {"NotSucceedsEqual", 1, "\xe2\xaa\xb0\xcc\xb8", NULL}, {"NotSucceedsSlantEqual", 1, "\xe2\x8b\xa1", NULL},
    {"NotSucceedsTilde", 1, "\xe2\x89\xbf\xcc\xb8", NULL},
    {"NotSuperset", 1, "\xe2\x8a\x83\xe2\x83\x92", NULL}, {"NotSupersetEqual", 1, "\xe2\x8a\x89", NULL},
    {"NotTilde", 1, "\xe2\x89\x81", NULL}, {"NotTildeEqual", 1, "\xe2\x89\x84", NULL},
    {"NotTildeFullEqual", 1, "\xe2\x89\x87", NULL}, {"NotTildeTilde", 1, "\xe2\x89\x89", NULL},
    {"NotVerticalBar", 1, "\xe2\x88\xa4", NULL}, {"Nscr", 1, "\xf0\x9d\x92\xa9", NULL},
    {"Ntilde", 3, "\xc3\x91", NULL}, {"Nu", 1, "\xce\x9d", NULL}, {"OElig", 1, "\xc5\x92", NULL},
    {"Oacute", 3, "\xc3\x93", NULL}, {"Ocirc", 3, "\xc3\x94", NULL}, {"Ocy", 1, "\xd0\x9e", NULL},
    {"Odblac", 1, "\xc5\x90", NULL}, {"Ofr", 1, "\xf0\x9d\x94\x92", NULL}, {"Ograve", 3, "\xc3\x92", NULL},
    {"Omacr", 1, "\xc5\x8c", NULL}, {"Omega", 1, "\xce\xa9", NULL}, {"Omicron", 1, "\xce\x9f", NULL},
    {"Oopf", 1, "\xf0\x9d\x95\x86", NULL}, {"OpenCurlyDoubleQuote", 1, "\xe2\x80\x9c", NULL},
    {"OpenCurlyQuote", 1, "\xe2\x80\x98", NULL}, {"Or", 1, "\xe2\xa9\x94", NULL},
    {"Oscr", 1, "\xf0\x9d\x92\xaa", NULL}, {"Oslash", 3, "\xc3\x98", NULL}, {"Otilde", 3, "\xc3\x95", NULL},
    {"Otimes", 1, "\xe2\xa8\xb7", NULL}, {"Ouml", 3, "\xc3\x96", NULL}, {"OverBar", 1, "\xe2\x80\xbe", NULL},
    {"OverBrace", 1, "\xe2\x8f\x9e", NULL}, {"OverBracket", 1, "\xe2\x8e\xb4", NULL},
    {"OverParenthesis", 1, "\xe2\x8f\x9c", NULL}, {"PartialD", 1, "\xe2\x88\x82", NULL},
    {"Pcy", 1, "\xd0\x9f", NULL}, {"Pfr", 1, "\xf0\x9d\x94\x93", NULL}, {"Phi", 1, "\xce\xa6", NULL},
    {"Pi", 1, "\xce\xa0", NULL}, {"PlusMinus", 1, "\xc2\xb1", NULL},
    {"Poincareplane", 1, "\xe2\x84\x8c", NULL}, {"Popf", 1, "\xe2\x84\x99", NULL},
    {"Pr", 1, "\xe2\xaa\xbb", NULL}, {"Precedes", 1, "\xe2\x89\xba", NULL},
    {"PrecedesEqual", 1, "\xe2\xaa\xaf", NULL}, {"PrecedesSlantEqual", 1, "\xe2\x89\xbc", NULL},
    {"PrecedesTilde", 1, "\xe2\x89\xbe", NULL}, {"Prime", 1, "\xe2\x80\xb3", NULL},
    {"Product", 1, "\xe2\x88\x8f", NULL}, {"Proportion", 1, "\xe2\x88\xb7", NULL},
    {"Proportional", 1, "\xe2\x88\x9d", NULL}, {"Pscr", 1, "\xf0\x9d\x92\xab", NULL},
    {"Psi", 1, "\xce\xa8", NULL}, {"QUOT", 3, "\x22", NULL}, {"Qfr", 1, "\xf0\x9d\x94\x94", NULL},
    {"Qopf", 1, "\xe2\x84\x9a", NULL}, {"Qscr", 1, "\xf0\x9d\x92\xac", NULL},
    {"RBarr", 1, "\xe2\xa4\x90", NULL}, {"REG", 3, "\xc2\xae", NULL}, {"Racute", 1, "\xc5\x94", NULL},
    {"Rang", 1, "\xe2\x9f\xab", NULL}, {"Rarr", 1, "\xe2\x86\xa0", NULL}, {"Rarrtl", 1, "\xe2\xa4\x96", NULL},
    {"Rcaron", 1, "\xc5\x98", NULL}, {"Rcedil", 1, "\xc5\x96", NULL}, {"Rcy", 1, "\xd0\xa0", NULL},
    {"Re", 1, "\xe2\x84\x9c", NULL}, {"ReverseElement", 1, "\xe2\x88\x8b", NULL},
    {"ReverseEquilibrium", 1, "\xe2\x87\x8b", NULL}, {"ReverseUpEquilibrium", 1, "\xe2\xa5\xaf", NULL},
    {"Rfr", 1, "\xe2\x84\x9c", NULL}, {"Rho", 1, "\xce\xa1", NULL},
    {"RightAngleBracket", 1, "\xe2\x9f\xa9", NULL}, {"RightArrow", 1, "\xe2\x86\x92", NULL},
    {"RightArrowBar", 1, "\xe2\x87\xa5", NULL}, {"RightArrowLeftArrow", 1, "\xe2\x87\x84", NULL},
    {"RightCeiling", 1, "\xe2\x8c\x89", NULL}, {"RightDoubleBracket", 1, "\xe2\x9f\xa7", NULL},
    {"RightDownTeeVector", 1, "\xe2\xa5\x9d", NULL}, {"RightDownVector", 1, "\xe2\x87\x82", NULL},
    {"RightDownVectorBar", 1, "\xe2\xa5\x95", NULL}, {"RightFloor", 1, "\xe2\x8c\x8b", NULL},
    {"RightTee", 1, "\xe2\x8a\xa2", NULL}, {"RightTeeArrow", 1, "\xe2\x86\xa6", NULL},
    {"RightTeeVector", 1, "\xe2\xa5\x9b", NULL}, {"RightTriangle", 1, "\xe2\x8a\xb3", NULL},
    {"RightTriangleBar", 1, "\xe2\xa7\x90", NULL}, {"RightTriangleEqual", 1, "\xe2\x8a\xb5", NULL},
    {"RightUpDownVector", 1, "\xe2\xa5\x8f", NULL}, {"RightUpTeeVector", 1, "\xe2\xa5\x9c", NULL},
    {"RightUpVector", 1, "\xe2\x86\xbe", NULL}, {"RightUpVectorBar", 1, "\xe2\xa5\x94", NULL},
    {"RightVector", 1, "\xe2\x87\x80", NULL}, {"RightVectorBar", 1, "\xe2\xa5\x93", NULL},
    {"Rightarrow", 1, "\xe2\x87\x92", NULL}, {"Ropf", 1, "\xe2\x84\x9d", NULL},
    {"RoundImplies", 1, "\xe2\xa5\xb0", NULL}, {"Rrightarrow", 1, "\xe2\x87\x9b", NULL},
    {"Rscr", 1, "\xe2\x84\x9b", NULL}, {"Rsh", 1, "\xe2\x86\xb1", NULL},
    {"RuleDelayed", 1, "\xe2\xa7\xb4", NULL}, {"SHCHcy", 1, "\xd0\xa9", NULL}, {"SHcy", 1, "\xd0\xa8", NULL},
    {"SOFTcy", 1, "\xd0\xac", NULL}, {"Sacute", 1, "\xc5\x9a", NULL}, {"Sc", 1, "\xe2\xaa\xbc", NULL},
    {"Scaron", 1, "\xc5\xa0", NULL}, {"Scedil", 1, "\xc5\x9e", NULL}, {"Scirc", 1, "\xc5\x9c", NULL},
    {"Scy", 1, "\xd0\xa1", NULL}, {"Sfr", 1, "\xf0\x9d\x94\x96", NULL},
    {"ShortDownArrow", 1, "\xe2\x86\x93", NULL}, {"ShortLeftArrow", 1, "\xe2\x86\x90", NULL},
    {"ShortRightArrow", 1, "\xe2\x86\x92", NULL}, {"ShortUpArrow", 1, "\xe2\x86\x91", NULL},
    {"Sigma", 1, "\xce\xa3", NULL}, {"SmallCircle", 1, "\xe2\x88\x98", NULL},
    {"Sopf", 1, "\xf0\x9d\x95\x8a", NULL}, {"Sqrt", 1, "\xe2\x88\x9a", NULL},
    {"Square", 1, "\xe2\x96\xa1", NULL}, {"SquareIntersection", 1, "\xe2\x8a\x93", NULL},
    {"SquareSubset", 1, "\xe2\x8a\x8f", NULL}, {"SquareSubsetEqual", 1, "\xe2\x8a\x91", NULL},
    {"SquareSuperset", 1, "\xe2\x8a\x90", NULL}, {"SquareSupersetEqual", 1, "\xe2\x8a\x92", NULL},
    {"SquareUnion", 1, "\xe2\x8a\x94", NULL}, {"Sscr", 1, "\xf0\x9d\x92\xae", NULL},
    {"Star", 1, "\xe2\x8b\x86", NULL}, {"Sub", 1, "\xe2\x8b\x90", NULL}, {"Subset", 1, "\xe2\x8b\x90", NULL},
    {"SubsetEqual", 1, "\xe2\x8a\x86", NULL}, {"Succeeds", 1, "\xe2\x89\xbb", NULL},
    {"SucceedsEqual", 1, "\xe2\xaa\xb0", NULL}, {"SucceedsSlantEqual", 1, "\xe2\x89\xbd", NULL},
    {"SucceedsTilde", 1, "\xe2\x89\xbf", NULL}, {"SuchThat", 1, "\xe2\x88\x8b", NULL},
    {"Sum", 1, "\xe2\x88\x91", NULL}, {"Sup", 1, "\xe2\x8b\x91", NULL}, {"Superset", 1, "\xe2\x8a\x83", NULL},
    {"SupersetEqual", 1, "\xe2\x8a\x87", NULL}, {"Supset", 1, "\xe2\x8b\x91", NULL},
    {"THORN", 3, "\xc3\x9e", NULL}, {"TRADE", 1, "\xe2\x84\xa2", NULL}, {"TSHcy", 1, "\xd0\x8b", NULL},
    {"TScy", 1, "\xd0\xa6", NULL}, {"Tab", 1, "\x09", NULL}, {"Tau", 1, "\xce\xa4", NULL},
    {"Tcaron", 1, "\xc5\xa4", NULL}, {"Tcedil", 1, "\xc5\xa2", NULL}, {"Tcy", 1, "\xd0\xa2", NULL},
    {"Tfr", 1, "\xf0\x9d\x94\x97", NULL}, {"Therefore", 1, "\xe2\x88\xb4", NULL},
    {"Theta", 1, "\xce\x98", NULL}, {"ThickSpace", 1, "\xe2\x81\x9f\xe2\x80\x8a", NULL},
    {"ThinSpace", 1, "\xe2\x80\x89", NULL}, {"Tilde", 1, "\xe2\x88\xbc", NULL},
    {"TildeEqual", 1, "\xe2\x89\x83", NULL}, {"TildeFullEqual", 1, "\xe2\x89\x85", NULL},
    {"TildeTilde", 1, "\xe2\x89\x88", NULL}, {"Topf", 1, "\xf0\x9d\x95\x8b", NULL},
    {"TripleDot", 1, "\xe2\x83\x9b", NULL}, {"Tscr", 1, "\xf0\x9d\x92\xaf", NULL},
    {"Tstrok", 1, "\xc5\xa6", NULL}, {"Uacute", 3, "\xc3\x9a", NULL}, {"Uarr", 1, "\xe2\x86\x9f", NULL},
    {"Uarrocir", 1, "\xe2\xa5\x89", NULL}, {"Ubrcy", 1, "\xd0\x8e", NULL}, {"Ubreve", 1, "\xc5\xac", NULL},
    {"Ucirc", 3, "\xc3\x9b", NULL}, {"Ucy", 1, "\xd0\xa3", NULL}, {"Udblac", 1, "\xc5\xb0", NULL},
    {"Ufr", 1, "\xf0\x9d\x94\x98", NULL}, {"Ugrave", 3, "\xc3\x99", NULL}, {"Umacr", 1, "\xc5\xaa", NULL},
    {"UnderBar", 1, "_", NULL}, {"UnderBrace", 1, "\xe2\x8f\x9f", NULL},
    {"UnderBracket", 1, "\xe2\x8e\xb5", NULL}, {"UnderParenthesis", 1, "\xe2\x8f\x9d", NULL},
    {"Union", 1, "\xe2\x8b\x83", NULL}, {"UnionPlus", 1, "\xe2\x8a\x8e", NULL},
    {"Uogon", 1, "\xc5\xb2", NULL}, {"Uopf", 1, "\xf0\x9d\x95\x8c", NULL},
    {"UpArrow", 1, "\xe2\x86\x91", NULL}, {"UpArrowBar", 1, "\xe2\xa4\x92", NULL},
    {"UpArrowDownArrow", 1, "\xe2\x87\x85", NULL}, {"UpDownArrow", 1, "\xe2\x86\x95", NULL},
    {"UpEquilibrium", 1, "\xe2\xa5\xae", NULL}, {"UpTee", 1, "\xe2\x8a\xa5", NULL},
    {"UpTeeArrow", 1, "\xe2\x86\xa5", NULL}, {"Uparrow", 1, "\xe2\x87\x91", NULL},
    {"Updownarrow", 1, "\xe2\x87\x95", NULL}, {"UpperLeftArrow", 1, "\xe2\x86\x96", NULL},
    {"UpperRightArrow", 1, "\xe2\x86\x97", NULL}, {"Upsi", 1, "\xcf\x92", NULL},
    {"Upsilon", 1, "\xce\xa5", NULL}, {"Uring", 1, "\xc5\xae", NULL}, {"Uscr", 1, "\xf0\x9d\x92\xb0", NULL},
    {"Utilde", 1, "\xc5\xa8", NULL}, {"Uuml", 3, "\xc3\x9c", NULL}, {"VDash", 1, "\xe2\x8a\xab", NULL},
    {"Vbar", 1, "\xe2\xab\xab", NULL}, {"Vcy", 1, "\xd0\x92", NULL}, {"Vdash", 1, "\xe2\x8a\xa9", NULL},
    {"Vdashl", 1, "\xe2\xab\xa6", NULL}, {"Vee", 1, "\xe2\x8b\x81", NULL},
    {"Verbar", 1, "\xe2\x80\x96", NULL}, {"Vert", 1, "\xe2\x80\x96", NULL},
    {"VerticalBar", 1, "\xe2\x88\xa3", NULL}, {"VerticalLine", 1, "|", NULL},
    {"VerticalSeparator", 1, "\xe2\x9d\x98", NULL}, {"VerticalTilde", 1, "\xe2\x89\x80", NULL},
    {"VeryThinSpace", 1, "\xe2\x80\x8a", NULL}, {"Vfr", 1, "\xf0\x9d\x94\x99", NULL},
    {"Vopf", 1, "\xf0\x9d\x95\x8d", NULL}, {"Vscr", 1, "\xf0\x9d\x92\xb1", NULL},
    {"Vvdash", 1, "\xe2\x8a\xaa", NULL}, {"Wcirc", 1, "\xc5\xb4", NULL}, {"Wedge", 1, "\xe2\x8b\x80", NULL},
    {"Wfr", 1, "\xf0\x9d\x94\x9a", NULL}, {"Wopf", 1, "\xf0\x9d\x95\x8e", NULL},
    {"Wscr", 1, "\xf0\x9d\x92\xb2", NULL}, {"Xfr", 1, "\xf0\x9d\x94\x9b", NULL}, {"Xi", 1, "\xce\x9e", NULL},
    {"Xopf", 1, "\xf0\x9d\x95\x8f", NULL}, {"Xscr", 1, "\xf0\x9d\x92\xb3", NULL},
    {"YAcy", 1, "\xd0\xaf", NULL}, {"YIcy", 1, "\xd0\x87", NULL}, {"YUcy", 1, "\xd0\xae", NULL},
    {"Yacute", 3, "\xc3\x9d", NULL}, {"Ycirc", 1, "\xc5\xb6", NULL}, {"Ycy", 1, "\xd0\xab", NULL},
    {"Yfr", 1, "\xf0\x9d\x94\x9c", NULL}, {"Yopf", 1, "\xf0\x9d\x95\x90", NULL},
    {"Yscr", 1, "\xf0\x9d\x92\xb4", NULL}, {"Yuml", 1, "\xc5\xb8", NULL}, {"ZHcy", 1, "\xd0\x96", NULL},
    {"Zacute", 1, "\xc5\xb9", NULL}, {"Zcaron", 1, "\xc5\xbd", NULL}, {"Zcy", 1, "\xd0\x97", NULL},
    {"Zdot", 1, "\xc5\xbb", NULL}, {"ZeroWidthSpace", 1, "\xe2\x80\x8b", NULL}, {"Zeta", 1, "\xce\x96", NULL},
    {"Zfr", 1, "\xe2\x84\xa8", NULL}, {"Zopf", 1, "\xe2\x84\xa4", NULL},
    {"Zscr", 1, "\xf0\x9d\x92\xb5", NULL}, {"aacute", 11, "\xc3\xa1", "\xc3\x81"},
    {"abreve", 9, "\xc4\x83", "\xc4\x82"}, {"ac", 5, "\xe2\x88\xbe", NULL},
    {"acE", 1, "\xe2\x88\xbe\xcc\xb3", NULL}, {"acd", 5, "\xe2\x88\xbf", NULL},
    {"acirc", 11, "\xc3\xa2", "\xc3\x82"}, {"acute", 7, "\xc2\xb4", NULL}, {"acy", 9, "\xd0\xb0", "\xd0\x90"},
    {"aelig", 11, "\xc3\xa6", "\xc3\x86"}, {"af", 5, "\xe2\x81\xa1", NULL},
    {"afr", 5, "\xf0\x9d\x94\x9e", NULL}, {"agrave", 11, "\xc3\xa0", "\xc3\x80"},
    {"alefsym", 5, "\xe2\x84\xb5", NULL}, {"aleph", 5, "\xe2\x84\xb5", NULL},
    {"alpha", 9, "\xce\xb1", "\xce\x91"}, {"amacr", 9, "\xc4\x81", "\xc4\x80"},
    {"amalg", 5, "\xe2\xa8\xbf", NULL}, {"amp", 3, "&", NULL}, {"and", 5, "\xe2\x88\xa7", NULL},
    {"andand", 5, "\xe2\xa9\x95", NULL}, {"andd", 5, "\xe2\xa9\x9c", NULL},
    {"andslope", 5, "\xe2\xa9\x98", NULL}, {"andv", 5, "\xe2\xa9\x9a", NULL},
    {"ang", 5, "\xe2\x88\xa0", NULL}, {"ange", 5, "\xe2\xa6\xa4", NULL}, {"angle", 5, "\xe2\x88\xa0", NULL},
    {"angmsd", 5, "\xe2\x88\xa1", NULL}, {"angmsdaa", 5, "\xe2\xa6\xa8", NULL},
    {"angmsdab", 5, "\xe2\xa6\xa9", NULL}, {"angmsdac", 5, "\xe2\xa6\xaa", NULL},
    {"angmsdad", 5, "\xe2\xa6\xab", NULL}, {"angmsdae", 5, "\xe2\xa6\xac", NULL},
    {"angmsdaf", 5, "\xe2\xa6\xad", NULL}, {"angmsdag", 5, "\xe2\xa6\xae", NULL},
    {"angmsdah", 5, "\xe2\xa6\xaf", NULL}, {"angrt", 5, "\xe2\x88\x9f", NULL},
    {"angrtvb", 5, "\xe2\x8a\xbe", NULL}, {"angrtvbd", 5, "\xe2\xa6\x9d", NULL},
    {"angsph", 5, "\xe2\x88\xa2", NULL}, {"angst", 5, "\xc3\x85", NULL}, {"angzarr", 5, "\xe2\x8d\xbc", NULL},
    {"aogon", 9, "\xc4\x85", "\xc4\x84"}, {"aopf", 5, "\xf0\x9d\x95\x92", NULL},
    {"ap", 5, "\xe2\x89\x88", NULL}, {"apE", 1, "\xe2\xa9\xb0", NULL}, {"apacir", 5, "\xe2\xa9\xaf", NULL},
    {"ape", 5, "\xe2\x89\x8a", NULL}, {"apid", 5, "\xe2\x89\x8b", NULL}, {"apos", 5, "'", NULL},
    {"approx", 5, "\xe2\x89\x88", NULL}, {"approxeq", 5, "\xe2\x89\x8a", NULL},
    {"aring", 11, "\xc3\xa5", "\xc3\x85"}, {"ascr", 5, "\xf0\x9d\x92\xb6", NULL}, {"ast", 5, "*", NULL},
    {"asymp", 5, "\xe2\x89\x88", NULL}, {"asympeq", 5, "\xe2\x89\x8d", NULL},
    {"atilde", 11, "\xc3\xa3", "\xc3\x83"}, {"auml", 11, "\xc3\xa4", "\xc3\x84"},
    {"awconint", 5, "\xe2\x88\xb3", NULL}, {"awint", 5, "\xe2\xa8\x91", NULL},
    {"bNot", 1, "\xe2\xab\xad", NULL}, {"backcong", 5, "\xe2\x89\x8c", NULL},
    {"backepsilon", 5, "\xcf\xb6", NULL}, {"backprime", 5, "\xe2\x80\xb5", NULL},
    {"backsim", 5, "\xe2\x88\xbd", NULL}, {"backsimeq", 5, "\xe2\x8b\x8d", NULL},
    {"barvee", 5, "\xe2\x8a\xbd", NULL}, {"barwed", 5, "\xe2\x8c\x85", NULL},
    {"barwedge", 5, "\xe2\x8c\x85", NULL}, {"bbrk", 5, "\xe2\x8e\xb5", NULL},
    {"bbrktbrk", 5, "\xe2\x8e\xb6", NULL}, {"bcong", 5, "\xe2\x89\x8c", NULL},
    {"bcy", 9, "\xd0\xb1", "\xd0\x91"}, {"bdquo", 5, "\xe2\x80\x9e", NULL},
    {"becaus", 5, "\xe2\x88\xb5", NULL}, {"because", 5, "\xe2\x88\xb5", NULL},
    {"bemptyv", 5, "\xe2\xa6\xb0", NULL}, {"bepsi", 5, "\xcf\xb6", NULL}, {"bernou", 5, "\xe2\x84\xac", NULL},
    {"beta", 9, "\xce\xb2", "\xce\x92"}, {"beth", 5, "\xe2\x84\xb6", NULL},
    {"between", 5, "\xe2\x89\xac", NULL}, {"bfr", 5, "\xf0\x9d\x94\x9f", NULL},
    {"bigcap", 5, "\xe2\x8b\x82", NULL}, {"bigcirc", 5, "\xe2\x97\xaf", NULL},
    {"bigcup", 5, "\xe2\x8b\x83", NULL}, {"bigodot", 5, "\xe2\xa8\x80", NULL},
    {"bigoplus", 5, "\xe2\xa8\x81", NULL}, {"bigotimes", 5, "\xe2\xa8\x82", NULL},
    {"bigsqcup", 5, "\xe2\xa8\x86", NULL}, {"bigstar", 5, "\xe2\x98\x85", NULL},
    {"bigtriangledown", 5, "\xe2\x96\xbd", NULL}, {"bigtriangleup", 5, "\xe2\x96\xb3", NULL},
    {"biguplus", 5, "\xe2\xa8\x84", NULL}, {"bigvee", 5, "\xe2\x8b\x81", NULL},
    {"bigwedge", 5, "\xe2\x8b\x80", NULL}, {"bkarow", 5, "\xe2\xa4\x8d", NULL},
    {"blacklozenge", 5, "\xe2\xa7\xab", NULL}, {"blacksquare", 5, "\xe2\x96\xaa", NULL},
    {"blacktriangle", 5, "\xe2\x96\xb4", NULL}, {"blacktriangledown", 5, "\xe2\x96\xbe", NULL},
    {"blacktriangleleft", 5, "\xe2\x97\x82", NULL}, {"blacktriangleright", 5, "\xe2\x96\xb8", NULL},
    {"blank", 5, "\xe2\x90\xa3", NULL}, {"blk12", 5, "\xe2\x96\x92", NULL},
    {"blk14", 5, "\xe2\x96\x91", NULL}, {"blk34", 5, "\xe2\x96\x93", NULL},
    {"block", 5, "\xe2\x96\x88", NULL}, {"bne", 5, "=\xe2\x83\xa5", NULL},
    {"bnequiv", 5, "\xe2\x89\xa1\xe2\x83\xa5", NULL}, {"bnot", 5, "\xe2\x8c\x90", NULL},
    {"bopf", 5, "\xf0\x9d\x95\x93", NULL}, {"bot", 5, "\xe2\x8a\xa5", NULL},
    {"bottom", 5, "\xe2\x8a\xa5", NULL}, {"bowtie", 5, "\xe2\x8b\x88", NULL},
    {"boxDL", 1, "\xe2\x95\x97", NULL}, {"boxDR", 1, "\xe2\x95\x94", NULL},
    {"boxDl", 1, "\xe2\x95\x96", NULL}, {"boxDr", 1, "\xe2\x95\x93", NULL}, {"boxH", 1, "\xe2\x95\x90", NULL},
    {"boxHD", 1, "\xe2\x95\xa6", NULL}, {"boxHU", 1, "\xe2\x95\xa9", NULL},
    {"boxHd", 1, "\xe2\x95\xa4", NULL}, {"boxHu", 1, "\xe2\x95\xa7", NULL},
    {"boxUL", 1, "\xe2\x95\x9d", NULL}, {"boxUR", 1, "\xe2\x95\x9a", NULL},
    {"boxUl", 1, "\xe2\x95\x9c", NULL}, {"boxUr", 1, "\xe2\x95\x99", NULL}, {"boxV", 1, "\xe2\x95\x91", NULL},
    {"boxVH", 1, "\xe2\x95\xac", NULL}, {"boxVL", 1, "\xe2\x95\xa3", NULL},
    {"boxVR", 1, "\xe2\x95\xa0", NULL}, {"boxVh", 1, "\xe2\x95\xab", NULL},
    {"boxVl", 1, "\xe2\x95\xa2", NULL}, {"boxVr", 1, "\xe2\x95\x9f", NULL},
    {"boxbox", 5, "\xe2\xa7\x89", NULL}, {"boxdL", 1, "\xe2\x95\x95", NULL},
    {"boxdR", 1, "\xe2\x95\x92", NULL}, {"boxdl", 5, "\xe2\x94\x90", NULL},
    {"boxdr", 5, "\xe2\x94\x8c", NULL}, {"boxh", 5, "\xe2\x94\x80", NULL}, {"boxhD", 1, "\xe2\x95\xa5", NULL},
    {"boxhU", 1, "\xe2\x95\xa8", NULL}, {"boxhd", 5, "\xe2\x94\xac", NULL},
    {"boxhu", 5, "\xe2\x94\xb4", NULL}, {"boxminus", 5, "\xe2\x8a\x9f", NULL},
    {"boxplus", 5, "\xe2\x8a\x9e", NULL}, {"boxtimes", 5, "\xe2\x8a\xa0", NULL},
    {"boxuL", 1, "\xe2\x95\x9b", NULL}, {"boxuR", 1, "\xe2\x95\x98", NULL},
    {"boxul", 5, "\xe2\x94\x98", NULL}, {"boxur", 5, "\xe2\x94\x94", NULL}, {"boxv", 5, "\xe2\x94\x82", NULL},
    {"boxvH", 1, "\xe2\x95\xaa", NULL}, {"boxvL", 1, "\xe2\x95\xa1", NULL},
    {"boxvR", 1, "\xe2\x95\x9e", NULL}, {"boxvh", 5, "\xe2\x94\xbc", NULL},
    {"boxvl", 5, "\xe2\x94\xa4", NULL}, {"boxvr", 5, "\xe2\x94\x9c", NULL},
    {"bprime", 5, "\xe2\x80\xb5", NULL}, {"breve", 5, "\xcb\x98", NULL}, {"brvbar", 7, "\xc2\xa6", NULL},
    {"bscr", 5, "\xf0\x9d\x92\xb7", NULL}, {"bsemi", 5, "\xe2\x81\x8f", NULL},
    {"bsim", 5, "\xe2\x88\xbd", NULL}, {"bsime", 5, "\xe2\x8b\x8d", NULL}, {"bsol", 5, "\x5c", NULL},
    {"bsolb", 5, "\xe2\xa7\x85", NULL}, {"bsolhsub", 5, "\xe2\x9f\x88", NULL},
    {"bull", 5, "\xe2\x80\xa2", NULL}, {"bullet", 5, "\xe2\x80\xa2", NULL}, {"bump", 5, "\xe2\x89\x8e", NULL},
    {"bumpE", 1, "\xe2\xaa\xae", NULL}, {"bumpe", 5, "\xe2\x89\x8f", NULL},
    {"bumpeq", 5, "\xe2\x89\x8f", NULL}, {"cacute", 9, "\xc4\x87", "\xc4\x86"},
    {"cap", 5, "\xe2\x88\xa9", NULL}, {"capand", 5, "\xe2\xa9\x84", NULL},
    {"capbrcup", 5, "\xe2\xa9\x89", NULL}, {"capcap", 5, "\xe2\xa9\x8b", NULL},
    {"capcup", 5, "\xe2\xa9\x87", NULL}, {"capdot", 5, "\xe2\xa9\x80", NULL},
    {"caps", 5, "\xe2\x88\xa9\xef\xb8\x80", NULL}, {"caret", 5, "\xe2\x81\x81", NULL},
    {"caron", 5, "\xcb\x87", NULL}, {"ccaps", 5, "\xe2\xa9\x8d", NULL}, {"ccaron", 9, "\xc4\x8d", "\xc4\x8c"},
    {"ccedil", 11, "\xc3\xa7", "\xc3\x87"}, {"ccirc", 9, "\xc4\x89", "\xc4\x88"},
    {"ccups", 5, "\xe2\xa9\x8c", NULL}, {"ccupssm", 5, "\xe2\xa9\x90", NULL},
    {"cdot", 9, "\xc4\x8b", "\xc4\x8a"}, {"cedil", 7, "\xc2\xb8", NULL}, {"cemptyv", 5, "\xe2\xa6\xb2", NULL},
    {"cent", 7, "\xc2\xa2", NULL}, {"centerdot", 5, "\xc2\xb7", NULL}, {"cfr", 5, "\xf0\x9d\x94\xa0", NULL},
    {"chcy", 9, "\xd1\x87", "\xd0\xa7"}, {"check", 5, "\xe2\x9c\x93", NULL},
    {"checkmark", 5, "\xe2\x9c\x93", NULL}, {"chi", 9, "\xcf\x87", "\xce\xa7"},
    {"cir", 5, "\xe2\x97\x8b", NULL}, {"cirE", 1, "\xe2\xa7\x83", NULL}, {"circ", 5, "\xcb\x86", NULL},
    {"circeq", 5, "\xe2\x89\x97", NULL}, {"circlearrowleft", 5, "\xe2\x86\xba", NULL},
    {"circlearrowright", 5, "\xe2\x86\xbb", NULL}, {"circledR", 1, "\xc2\xae", NULL},
    {"circledS", 1, "\xe2\x93\x88", NULL}, {"circledast", 5, "\xe2\x8a\x9b", NULL},
    {"circledcirc", 5, "\xe2\x8a\x9a", NULL}, {"circleddash", 5, "\xe2\x8a\x9d", NULL},
    {"cire", 5, "\xe2\x89\x97", NULL}, {"cirfnint", 5, "\xe2\xa8\x90", NULL},
    {"cirmid", 5, "\xe2\xab\xaf", NULL}, {"cirscir", 5, "\xe2\xa7\x82", NULL},
    {"clubs", 5, "\xe2\x99\xa3", NULL}, {"clubsuit", 5, "\xe2\x99\xa3", NULL}, {"colon", 5, ":", NULL},
    {"colone", 5, "\xe2\x89\x94", NULL}, {"coloneq", 5, "\xe2\x89\x94", NULL}, {"comma", 5, ",", NULL},
    {"commat", 5, "@", NULL}, {"comp", 5, "\xe2\x88\x81", NULL}, {"compfn", 5, "\xe2\x88\x98", NULL},
    {"complement", 5, "\xe2\x88\x81", NULL}, {"complexes", 5, "\xe2\x84\x82", NULL},
    {"cong", 5, "\xe2\x89\x85", NULL}, {"congdot", 5, "\xe2\xa9\xad", NULL},
    {"conint", 5, "\xe2\x88\xae", NULL}, {"copf", 5, "\xf0\x9d\x95\x94", NULL},
    {"coprod", 5, "\xe2\x88\x90", NULL}, {"copy", 3, "\xc2\xa9", NULL}, {"copysr", 1, "\xe2\x84\x97", NULL},
    {"crarr", 5, "\xe2\x86\xb5", NULL}, {"cross", 5, "\xe2\x9c\x97", NULL},
    {"cscr", 5, "\xf0\x9d\x92\xb8", NULL}, {"csub", 5, "\xe2\xab\x8f", NULL},
    {"csube", 5, "\xe2\xab\x91", NULL}, {"csup", 5, "\xe2\xab\x90", NULL}, {"csupe", 5, "\xe2\xab\x92", NULL},
    {"ctdot", 5, "\xe2\x8b\xaf", NULL}, {"cudarrl", 5, "\xe2\xa4\xb8", NULL},
    {"cudarrr", 5, "\xe2\xa4\xb5", NULL}, {"cuepr", 5, "\xe2\x8b\x9e", NULL},
    {"cuesc", 5, "\xe2\x8b\x9f", NULL}, {"cularr", 5, "\xe2\x86\xb6", NULL},
    {"cularrp", 5, "\xe2\xa4\xbd", NULL}, {"cup", 5, "\xe2\x88\xaa", NULL},
    {"cupbrcap", 5, "\xe2\xa9\x88", NULL}, {"cupcap", 5, "\xe2\xa9\x86", NULL},
    {"cupcup", 5, "\xe2\xa9\x8a", NULL}, {"cupdot", 5, "\xe2\x8a\x8d", NULL},
    {"cupor", 5, "\xe2\xa9\x85", NULL}, {"cups", 5, "\xe2\x88\xaa\xef\xb8\x80", NULL},
    {"curarr", 5, "\xe2\x86\xb7", NULL}, {"curarrm", 5, "\xe2\xa4\xbc", NULL},
    {"curlyeqprec", 5, "\xe2\x8b\x9e", NULL}, {"curlyeqsucc", 5, "\xe2\x8b\x9f", NULL},
    {"curlyvee", 5, "\xe2\x8b\x8e", NULL}, {"curlywedge", 5, "\xe2\x8b\x8f", NULL},
    {"curren", 7, "\xc2\xa4", NULL}, {"curvearrowleft", 5, "\xe2\x86\xb6", NULL},
    {"curvearrowright", 5, "\xe2\x86\xb7", NULL}, {"cuvee", 5, "\xe2\x8b\x8e", NULL},
    {"cuwed", 5, "\xe2\x8b\x8f", NULL}, {"cwconint", 5, "\xe2\x88\xb2", NULL},
    {"cwint", 5, "\xe2\x88\xb1", NULL}, {"cylcty", 5, "\xe2\x8c\xad", NULL},
    {"dArr", 1, "\xe2\x87\x93", NULL}, {"dHar", 1, "\xe2\xa5\xa5", NULL}, {"dagger", 5, "\xe2\x80\xa0", NULL},
    {"daleth", 5, "\xe2\x84\xb8", NULL}, {"darr", 5, "\xe2\x86\x93", NULL}, {"dash", 5, "\xe2\x80\x90", NULL},
    {"dashv", 5, "\xe2\x8a\xa3", NULL}, {"dbkarow", 5, "\xe2\xa4\x8f", NULL}, {"dblac", 5, "\xcb\x9d", NULL},
    {"dcaron", 9, "\xc4\x8f", "\xc4\x8e"}, {"dcy", 9, "\xd0\xb4", "\xd0\x94"},
    {"dd", 1, "\xe2\x85\x86", NULL}, {"ddagger", 5, "\xe2\x80\xa1", NULL}, {"ddarr", 5, "\xe2\x87\x8a", NULL},
    {"ddotseq", 5, "\xe2\xa9\xb7", NULL}, {"deg", 7, "\xc2\xb0", NULL}, {"delta", 9, "\xce\xb4", "\xce\x94"},
    {"demptyv", 5, "\xe2\xa6\xb1", NULL}, {"dfisht", 5, "\xe2\xa5\xbf", NULL},
    {"dfr", 5, "\xf0\x9d\x94\xa1", NULL}, {"dharl", 5, "\xe2\x87\x83", NULL},
    {"dharr", 5, "\xe2\x87\x82", NULL}, {"diam", 5, "\xe2\x8b\x84", NULL},
    {"diamond", 5, "\xe2\x8b\x84", NULL}, {"diamondsuit", 5, "\xe2\x99\xa6", NULL},
    {"diams", 5, "\xe2\x99\xa6", NULL}, {"die", 5, "\xc2\xa8", NULL}, {"digamma", 9, "\xcf\x9d", "\xcf\x9c"},
    {"disin", 5, "\xe2\x8b\xb2", NULL}, {"div", 5, "\xc3\xb7", NULL}, {"divide", 7, "\xc3\xb7", NULL},
    {"divideontimes", 5, "\xe2\x8b\x87", NULL}, {"divonx", 5, "\xe2\x8b\x87", NULL},
    {"djcy", 9, "\xd1\x92", "\xd0\x82"}, {"dlcorn", 5, "\xe2\x8c\x9e", NULL},
    {"dlcrop", 5, "\xe2\x8c\x8d", NULL}, {"dollar", 5, "$", NULL}, {"dopf", 5, "\xf0\x9d\x95\x95", NULL},
    {"dot", 5, "\xcb\x99", NULL}, {"doteq", 5, "\xe2\x89\x90", NULL}, {"doteqdot", 5, "\xe2\x89\x91", NULL},
    {"dotminus", 5, "\xe2\x88\xb8", NULL}, {"dotplus", 5, "\xe2\x88\x94", NULL},
    {"dotsquare", 5, "\xe2\x8a\xa1", NULL}, {"doublebarwedge", 5, "\xe2\x8c\x86", NULL},
    {"downarrow", 5, "\xe2\x86\x93", NULL}, {"downdownarrows", 5, "\xe2\x87\x8a", NULL},
    {"downharpoonleft", 5, "\xe2\x87\x83", NULL}, {"downharpoonright", 5, "\xe2\x87\x82", NULL},
    {"drbkarow", 5, "\xe2\xa4\x90", NULL}, {"drcorn", 5, "\xe2\x8c\x9f", NULL},
    {"drcrop", 5, "\xe2\x8c\x8c", NULL}, {"dscr", 5, "\xf0\x9d\x92\xb9", NULL},
    {"dscy", 9, "\xd1\x95", "\xd0\x85"}, {"dsol", 5, "\xe2\xa7\xb6", NULL},
    {"dstrok", 9, "\xc4\x91", "\xc4\x90"}, {"dtdot", 5, "\xe2\x8b\xb1", NULL},
    {"dtri", 5, "\xe2\x96\xbf", NULL}, {"dtrif", 5, "\xe2\x96\xbe", NULL}, {"duarr", 5, "\xe2\x87\xb5", NULL},
    {"duhar", 5, "\xe2\xa5\xaf", NULL}, {"dwangle", 5, "\xe2\xa6\xa6", NULL},
    {"dzcy", 9, "\xd1\x9f", "\xd0\x8f"}, {"dzigrarr", 5, "\xe2\x9f\xbf", NULL},
    {"eDDot", 1, "\xe2\xa9\xb7", NULL}, {"eDot", 1, "\xe2\x89\x91", NULL},
    {"eacute", 11, "\xc3\xa9", "\xc3\x89"}, {"easter", 5, "\xe2\xa9\xae", NULL},
    {"ecaron", 9, "\xc4\x9b", "\xc4\x9a"}, {"ecir", 5, "\xe2\x89\x96", NULL},
    {"ecirc", 11, "\xc3\xaa", "\xc3\x8a"}, {"ecolon", 5, "\xe2\x89\x95", NULL},
    {"ecy", 9, "\xd1\x8d", "\xd0\xad"}, {"edot", 9, "\xc4\x97", "\xc4\x96"}, {"ee", 5, "\xe2\x85\x87", NULL},
    {"efDot", 1, "\xe2\x89\x92", NULL}, {"efr", 5, "\xf0\x9d\x94\xa2", NULL}, {"eg", 5, "\xe2\xaa\x9a", NULL},
    {"egrave", 11, "\xc3\xa8", "\xc3\x88"}, {"egs", 5, "\xe2\xaa\x96", NULL},
    {"egsdot", 5, "\xe2\xaa\x98", NULL}, {"el", 5, "\xe2\xaa\x99", NULL},
    {"elinters", 5, "\xe2\x8f\xa7", NULL}, {"ell", 5, "\xe2\x84\x93", NULL}, {"els", 5, "\xe2\xaa\x95", NULL},
    {"elsdot", 5, "\xe2\xaa\x97", NULL}, {"emacr", 9, "\xc4\x93", "\xc4\x92"},
    {"empty", 5, "\xe2\x88\x85", NULL}, {"emptyset", 5, "\xe2\x88\x85", NULL},
    {"emptyv", 5, "\xe2\x88\x85", NULL}, {"emsp", 5, "\xe2\x80\x83", NULL},
    {"emsp13", 5, "\xe2\x80\x84", NULL}, {"emsp14", 5, "\xe2\x80\x85", NULL}, {"eng", 1, "\xc5\x8b", NULL},
    {"ensp", 5, "\xe2\x80\x82", NULL}, {"eogon", 9, "\xc4\x99", "\xc4\x98"},
    {"eopf", 5, "\xf0\x9d\x95\x96", NULL}, {"epar", 5, "\xe2\x8b\x95", NULL},
    {"eparsl", 5, "\xe2\xa7\xa3", NULL}, {"eplus", 5, "\xe2\xa9\xb1", NULL},
    {"epsi", 9, "\xce\xb5", "\xce\x95"}, {"epsilon", 9, "\xce\xb5", "\xce\x95"},
    {"epsiv", 9, "\xcf\xb5", "\xce\x95"}, {"eqcirc", 5, "\xe2\x89\x96", NULL},
    {"eqcolon", 5, "\xe2\x89\x95", NULL}, {"eqsim", 5, "\xe2\x89\x82", NULL},
    {"eqslantgtr", 5, "\xe2\xaa\x96", NULL}, {"eqslantless", 5, "\xe2\xaa\x95", NULL},
    {"equals", 5, "=", NULL}, {"equest", 5, "\xe2\x89\x9f", NULL}, {"equiv", 5, "\xe2\x89\xa1", NULL},
    {"equivDD", 1, "\xe2\xa9\xb8", NULL}, {"eqvparsl", 5, "\xe2\xa7\xa5", NULL},
    {"erDot", 1, "\xe2\x89\x93", NULL}, {"erarr", 5, "\xe2\xa5\xb1", NULL}, {"escr", 5, "\xe2\x84\xaf", NULL},
    {"esdot", 5, "\xe2\x89\x90", NULL}, {"esim", 5, "\xe2\x89\x82", NULL}, {"eta", 9, "\xce\xb7", "\xce\x97"},
    {"eth", 3, "\xc3\xb0", NULL}, {"euml", 11, "\xc3\xab", "\xc3\x8b"}, {"euro", 5, "\xe2\x82\xac", NULL},
    {"excl", 5, "!", NULL}, {"exist", 5, "\xe2\x88\x83", NULL}, {"expectation", 5, "\xe2\x84\xb0", NULL},
    {"exponentiale", 5, "\xe2\x85\x87", NULL}, {"fallingdotseq", 5, "\xe2\x89\x92", NULL},
    {"fcy", 9, "\xd1\x84", "\xd0\xa4"}, {"female", 5, "\xe2\x99\x80", NULL},
    {"ffilig", 9, "\xef\xac\x83", "FFI"}, {"fflig", 9, "\xef\xac\x80", "FF"},
    {"ffllig", 9, "\xef\xac\x84", "FFL"}, {"ffr", 5, "\xf0\x9d\x94\xa3", NULL},
    {"filig", 9, "\xef\xac\x81", "FI"}, {"fjlig", 9, "fj", "FJ"}, {"flat", 5, "\xe2\x99\xad", NULL},
    {"fllig", 9, "\xef\xac\x82", "FL"}, {"fltns", 5, "\xe2\x96\xb1", NULL},
    {"fnof", 9, "\xc6\x92", "\xc6\x91"}, {"fopf", 5, "\xf0\x9d\x95\x97", NULL},
    {"forall", 5, "\xe2\x88\x80", NULL}, {"fork", 5, "\xe2\x8b\x94", NULL},
    {"forkv", 5, "\xe2\xab\x99", NULL}, {"fpartint", 5, "\xe2\xa8\x8d", NULL},
    {"frac12", 7, "\xc2\xbd", NULL}, {"frac13", 5, "\xe2\x85\x93", NULL}, {"frac14", 7, "\xc2\xbc", NULL},
    {"frac15", 5, "\xe2\x85\x95", NULL}, {"frac16", 5, "\xe2\x85\x99", NULL},
    {"frac18", 5, "\xe2\x85\x9b", NULL}, {"frac23", 5, "\xe2\x85\x94", NULL},
    {"frac25", 5, "\xe2\x85\x96", NULL}, {"frac34", 7, "\xc2\xbe", NULL}, {"frac35", 5, "\xe2\x85\x97", NULL},
    {"frac38", 5, "\xe2\x85\x9c", NULL}, {"frac45", 5, "\xe2\x85\x98", NULL},
    {"frac56", 5, "\xe2\x85\x9a", NULL}, {"frac58", 5, "\xe2\x85\x9d", NULL},
    {"frac78", 5, "\xe2\x85\x9e", NULL}, {"frasl", 5, "\xe2\x81\x84", NULL},
    {"frown", 5, "\xe2\x8c\xa2", NULL}, {"fscr", 5, "\xf0\x9d\x92\xbb", NULL},
    {"gE", 1, "\xe2\x89\xa7", NULL}, {"gEl", 1, "\xe2\xaa\x8c", NULL}, {"gacute", 9, "\xc7\xb5", "\xc7\xb4"},
    {"gamma", 9, "\xce\xb3", "\xce\x93"}, {"gammad", 9, "\xcf\x9d", "\xcf\x9c"},
    {"gap", 5, "\xe2\xaa\x86", NULL}, {"gbreve", 9, "\xc4\x9f", "\xc4\x9e"},
    {"gcirc", 9, "\xc4\x9d", "\xc4\x9c"}, {"gcy", 9, "\xd0\xb3", "\xd0\x93"},
    {"gdot", 9, "\xc4\xa1", "\xc4\xa0"}, {"ge", 5, "\xe2\x89\xa5", NULL}, {"gel", 5, "\xe2\x8b\x9b", NULL},
    {"geq", 5, "\xe2\x89\xa5", NULL}, {"geqq", 5, "\xe2\x89\xa7", NULL},
    {"geqslant", 5, "\xe2\xa9\xbe", NULL}, {"ges", 5, "\xe2\xa9\xbe", NULL},
    {"gescc", 5, "\xe2\xaa\xa9", NULL}, {"gesdot", 5, "\xe2\xaa\x80", NULL},
    {"gesdoto", 5, "\xe2\xaa\x82", NULL}, {"gesdotol", 5, "\xe2\xaa\x84", NULL},
    {"gesl", 5, "\xe2\x8b\x9b\xef\xb8\x80", NULL}, {"gesles", 5, "\xe2\xaa\x94", NULL},
    {"gfr", 5, "\xf0\x9d\x94\xa4", NULL}, {"gg", 5, "\xe2\x89\xab", NULL}, {"ggg", 5, "\xe2\x8b\x99", NULL},
    {"gimel", 5, "\xe2\x84\xb7", NULL}, {"gjcy", 9, "\xd1\x93", "\xd0\x83"}, {"gl", 5, "\xe2\x89\xb7", NULL},
    {"glE", 1, "\xe2\xaa\x92", NULL}, {"gla", 5, "\xe2\xaa\xa5", NULL}, {"glj", 5, "\xe2\xaa\xa4", NULL},
    {"gnE", 1, "\xe2\x89\xa9", NULL}, {"gnap", 5, "\xe2\xaa\x8a", NULL},
    {"gnapprox", 5, "\xe2\xaa\x8a", NULL}, {"gne", 5, "\xe2\xaa\x88", NULL},
    {"gneq", 5, "\xe2\xaa\x88", NULL}, {"gneqq", 5, "\xe2\x89\xa9", NULL}, {"gnsim", 5, "\xe2\x8b\xa7", NULL},
    {"gopf", 5, "\xf0\x9d\x95\x98", NULL}, {"grave", 5, "`", NULL}, {"gscr", 5, "\xe2\x84\x8a", NULL},
    {"gsim", 5, "\xe2\x89\xb3", NULL}, {"gsime", 5, "\xe2\xaa\x8e", NULL}, {"gsiml", 5, "\xe2\xaa\x90", NULL},
    {"gt", 3, ">", NULL}, {"gtcc", 1, "\xe2\xaa\xa7", NULL}, {"gtcir", 1, "\xe2\xa9\xba", NULL},
    {"gtdot", 1, "\xe2\x8b\x97", NULL}, {"gtlPar", 1, "\xe2\xa6\x95", NULL},
    {"gtquest", 1, "\xe2\xa9\xbc", NULL}, {"gtrapprox", 1, "\xe2\xaa\x86", NULL},
    {"gtrarr", 1, "\xe2\xa5\xb8", NULL}, {"gtrdot", 1, "\xe2\x8b\x97", NULL},
    {"gtreqless", 1, "\xe2\x8b\x9b", NULL}, {"gtreqqless", 1, "\xe2\xaa\x8c", NULL},
    {"gtrless", 1, "\xe2\x89\xb7", NULL}, {"gtrsim", 1, "\xe2\x89\xb3", NULL},
    {"gvertneqq", 5, "\xe2\x89\xa9\xef\xb8\x80", NULL}, {"gvnE", 1, "\xe2\x89\xa9\xef\xb8\x80", NULL},
    {"hArr", 1, "\xe2\x87\x94", NULL}, {"hairsp", 5, "\xe2\x80\x8a", NULL}, {"half", 5, "\xc2\xbd", NULL},
    {"hamilt", 5, "\xe2\x84\x8b", NULL}, {"hardcy", 9, "\xd1\x8a", "\xd0\xaa"},
    {"harr", 5, "\xe2\x86\x94", NULL}, {"harrcir", 5, "\xe2\xa5\x88", NULL},
    {"harrw", 5, "\xe2\x86\xad", NULL}, {"hbar", 5, "\xe2\x84\x8f", NULL},
    {"hcirc", 9, "\xc4\xa5", "\xc4\xa4"}, {"hearts", 5, "\xe2\x99\xa5", NULL},
    {"heartsuit", 5, "\xe2\x99\xa5", NULL}, {"hellip", 5, "\xe2\x80\xa6", NULL},
    {"hercon", 5, "\xe2\x8a\xb9", NULL}, {"hfr", 5, "\xf0\x9d\x94\xa5", NULL},
    {"hksearow", 5, "\xe2\xa4\xa5", NULL}, {"hkswarow", 5, "\xe2\xa4\xa6", NULL},
    {"hoarr", 5, "\xe2\x87\xbf", NULL}, {"homtht", 5, "\xe2\x88\xbb", NULL},
    {"hookleftarrow", 5, "\xe2\x86\xa9", NULL}, {"hookrightarrow", 5, "\xe2\x86\xaa", NULL},
    {"hopf", 5, "\xf0\x9d\x95\x99", NULL}, {"horbar", 5, "\xe2\x80\x95", NULL},
    {"hscr", 5, "\xf0\x9d\x92\xbd", NULL}, {"hslash", 5, "\xe2\x84\x8f", NULL},
    {"hstrok", 9, "\xc4\xa7", "\xc4\xa6"}, {"hybull", 5, "\xe2\x81\x83", NULL},
    {"hyphen", 5, "\xe2\x80\x90", NULL}, {"iacute", 11, "\xc3\xad", "\xc3\x8d"},
    {"ic", 5, "\xe2\x81\xa3", NULL}, {"icirc", 11, "\xc3\xae", "\xc3\x8e"},
    {"icy", 9, "\xd0\xb8", "\xd0\x98"}, {"iecy", 9, "\xd0\xb5", "\xd0\x95"}, {"iexcl", 7, "\xc2\xa1", NULL},
    {"iff", 5, "\xe2\x87\x94", NULL}, {"ifr", 5, "\xf0\x9d\x94\xa6", NULL},
    {"igrave", 11, "\xc3\xac", "\xc3\x8c"}, {"ii", 5, "\xe2\x85\x88", NULL},
    {"iiiint", 5, "\xe2\xa8\x8c", NULL}, {"iiint", 5, "\xe2\x88\xad", NULL},
    {"iinfin", 5, "\xe2\xa7\x9c", NULL}, {"iiota", 5, "\xe2\x84\xa9", NULL},
    {"ijlig", 9, "\xc4\xb3", "\xc4\xb2"}, {"imacr", 9, "\xc4\xab", "\xc4\xaa"},
    {"image", 5, "\xe2\x84\x91", NULL}, {"imagline", 5, "\xe2\x84\x90", NULL},
    {"imagpart", 5, "\xe2\x84\x91", NULL}, {"imath", 9, "\xc4\xb1", "I"}, {"imof", 5, "\xe2\x8a\xb7", NULL},
    {"imped", 5, "\xc6\xb5", NULL}, {"in", 5, "\xe2\x88\x88", NULL}, {"incare", 5, "\xe2\x84\x85", NULL},
    {"infin", 5, "\xe2\x88\x9e", NULL}, {"infintie", 5, "\xe2\xa7\x9d", NULL}, {"inodot", 9, "\xc4\xb1", "I"},
    {"int", 5, "\xe2\x88\xab", NULL}, {"intcal", 5, "\xe2\x8a\xba", NULL},
    {"integers", 5, "\xe2\x84\xa4", NULL}, {"intercal", 5, "\xe2\x8a\xba", NULL},
    {"intlarhk", 5, "\xe2\xa8\x97", NULL}, {"intprod", 5, "\xe2\xa8\xbc", NULL},
    {"iocy", 9, "\xd1\x91", "\xd0\x81"}, {"iogon", 9, "\xc4\xaf", "\xc4\xae"},
    {"iopf", 5, "\xf0\x9d\x95\x9a", NULL}, {"iota", 9, "\xce\xb9", "\xce\x99"},
    {"iprod", 5, "\xe2\xa8\xbc", NULL}, {"iquest", 7, "\xc2\xbf", NULL},
    {"iscr", 5, "\xf0\x9d\x92\xbe", NULL}, {"isin", 5, "\xe2\x88\x88", NULL},
    {"isinE", 1, "\xe2\x8b\xb9", NULL}, {"isindot", 5, "\xe2\x8b\xb5", NULL},
    {"isins", 5, "\xe2\x8b\xb4", NULL}, {"isinsv", 5, "\xe2\x8b\xb3", NULL},
    {"isinv", 5, "\xe2\x88\x88", NULL}, {"it", 5, "\xe2\x81\xa2", NULL},
    {"itilde", 9, "\xc4\xa9", "\xc4\xa8"}, {"iukcy", 9, "\xd1\x96", "\xd0\x86"},
    {"iuml", 11, "\xc3\xaf", "\xc3\x8f"}, {"jcirc", 9, "\xc4\xb5", "\xc4\xb4"},
    {"jcy", 9, "\xd0\xb9", "\xd0\x99"}, {"jfr", 5, "\xf0\x9d\x94\xa7", NULL}, {"jmath", 5, "\xc8\xb7", NULL},
    {"jopf", 5, "\xf0\x9d\x95\x9b", NULL}, {"jscr", 5, "\xf0\x9d\x92\xbf", NULL},
    {"jsercy", 9, "\xd1\x98", "\xd0\x88"}, {"jukcy", 9, "\xd1\x94", "\xd0\x84"},
    {"kappa", 9, "\xce\xba", "\xce\x9a"}, {"kappav", 9, "\xcf\xb0", "\xce\x9a"},
    {"kcedil", 9, "\xc4\xb7", "\xc4\xb6"}, {"kcy", 9, "\xd0\xba", "\xd0\x9a"},
    {"kfr", 5, "\xf0\x9d\x94\xa8", NULL}, {"kgreen", 5, "\xc4\xb8", NULL},
    {"khcy", 9, "\xd1\x85", "\xd0\xa5"}, {"kjcy", 9, "\xd1\x9c", "\xd0\x8c"},
    {"kopf", 5, "\xf0\x9d\x95\x9c", NULL}, {"kscr", 5, "\xf0\x9d\x93\x80", NULL},
    {"lAarr", 1, "\xe2\x87\x9a", NULL}, {"lArr", 1, "\xe2\x87\x90", NULL},
    {"lAtail", 1, "\xe2\xa4\x9b", NULL}, {"lBarr", 1, "\xe2\xa4\x8e", NULL}, {"lE", 1, "\xe2\x89\xa6", NULL},
    {"lEg", 1, "\xe2\xaa\x8b", NULL}, {"lHar", 1, "\xe2\xa5\xa2", NULL},
    {"lacute", 9, "\xc4\xba", "\xc4\xb9"}, {"laemptyv", 5, "\xe2\xa6\xb4", NULL},
    {"lagran", 5, "\xe2\x84\x92", NULL}, {"lambda", 9, "\xce\xbb", "\xce\x9b"},
    {"lang", 5, "\xe2\x9f\xa8", NULL}, {"langd", 5, "\xe2\xa6\x91", NULL},
    {"langle", 5, "\xe2\x9f\xa8", NULL}, {"lap", 5, "\xe2\xaa\x85", NULL}, {"laquo", 7, "\xc2\xab", NULL},
    {"larr", 5, "\xe2\x86\x90", NULL}, {"larrb", 5, "\xe2\x87\xa4", NULL},
    {"larrbfs", 5, "\xe2\xa4\x9f", NULL}, {"larrfs", 5, "\xe2\xa4\x9d", NULL},
    {"larrhk", 5, "\xe2\x86\xa9", NULL}, {"larrlp", 5, "\xe2\x86\xab", NULL},
    {"larrpl", 5, "\xe2\xa4\xb9", NULL}, {"larrsim", 5, "\xe2\xa5\xb3", NULL},
    {"larrtl", 5, "\xe2\x86\xa2", NULL}, {"lat", 5, "\xe2\xaa\xab", NULL},
    {"latail", 5, "\xe2\xa4\x99", NULL}, {"late", 5, "\xe2\xaa\xad", NULL},
    {"lates", 5, "\xe2\xaa\xad\xef\xb8\x80", NULL}, {"lbarr", 5, "\xe2\xa4\x8c", NULL},
    {"lbbrk", 5, "\xe2\x9d\xb2", NULL}, {"lbrace", 5, "{", NULL}, {"lbrack", 5, "[", NULL},
    {"lbrke", 5, "\xe2\xa6\x8b", NULL}, {"lbrksld", 5, "\xe2\xa6\x8f", NULL},
    {"lbrkslu", 5, "\xe2\xa6\x8d", NULL}, {"lcaron", 9, "\xc4\xbe", "\xc4\xbd"},
    {"lcedil", 9, "\xc4\xbc", "\xc4\xbb"}, {"lceil", 5, "\xe2\x8c\x88", NULL}, {"lcub", 5, "{", NULL},
    {"lcy", 9, "\xd0\xbb", "\xd0\x9b"}, {"ldca", 5, "\xe2\xa4\xb6", NULL}, {"ldquo", 5, "\xe2\x80\x9c", NULL},
    {"ldquor", 5, "\xe2\x80\x9e", NULL}, {"ldrdhar", 5, "\xe2\xa5\xa7", NULL},
    {"ldrushar", 5, "\xe2\xa5\x8b", NULL}, {"ldsh", 5, "\xe2\x86\xb2", NULL}, {"le", 5, "\xe2\x89\xa4", NULL},
    {"leftarrow", 5, "\xe2\x86\x90", NULL}, {"leftarrowtail", 5, "\xe2\x86\xa2", NULL},
    {"leftharpoondown", 5, "\xe2\x86\xbd", NULL}, {"leftharpoonup", 5, "\xe2\x86\xbc", NULL},
    {"leftleftarrows", 5, "\xe2\x87\x87", NULL}, {"leftrightarrow", 5, "\xe2\x86\x94", NULL},
    {"leftrightarrows", 5, "\xe2\x87\x86", NULL}, {"leftrightharpoons", 5, "\xe2\x87\x8b", NULL},
    {"leftrightsquigarrow", 5, "\xe2\x86\xad", NULL}, {"leftthreetimes", 5, "\xe2\x8b\x8b", NULL},
    {"leg", 5, "\xe2\x8b\x9a", NULL}, {"leq", 5, "\xe2\x89\xa4", NULL}, {"leqq", 5, "\xe2\x89\xa6", NULL},
    {"leqslant", 5, "\xe2\xa9\xbd", NULL}, {"les", 5, "\xe2\xa9\xbd", NULL},
    {"lescc", 5, "\xe2\xaa\xa8", NULL}, {"lesdot", 5, "\xe2\xa9\xbf", NULL},
    {"lesdoto", 5, "\xe2\xaa\x81", NULL}, {"lesdotor", 5, "\xe2\xaa\x83", NULL},
    {"lesg", 5, "\xe2\x8b\x9a\xef\xb8\x80", NULL}, {"lesges", 5, "\xe2\xaa\x93", NULL},
    {"lessapprox", 5, "\xe2\xaa\x85", NULL}, {"lessdot", 5, "\xe2\x8b\x96", NULL},
    {"lesseqgtr", 5, "\xe2\x8b\x9a", NULL}, {"lesseqqgtr", 5, "\xe2\xaa\x8b", NULL},
    {"lessgtr", 5, "\xe2\x89\xb6", NULL}, {"lesssim", 5, "\xe2\x89\xb2", NULL},
    {"lfisht", 5, "\xe2\xa5\xbc", NULL}, {"lfloor", 5, "\xe2\x8c\x8a", NULL},
    {"lfr", 5, "\xf0\x9d\x94\xa9", NULL}, {"lg", 5, "\xe2\x89\xb6", NULL}, {"lgE", 1, "\xe2\xaa\x91", NULL},
    {"lhard", 5, "\xe2\x86\xbd", NULL}, {"lharu", 5, "\xe2\x86\xbc", NULL},
    {"lharul", 5, "\xe2\xa5\xaa", NULL}, {"lhblk", 5, "\xe2\x96\x84", NULL},
    {"ljcy", 9, "\xd1\x99", "\xd0\x89"}, {"ll", 5, "\xe2\x89\xaa", NULL}, {"llarr", 5, "\xe2\x87\x87", NULL},
    {"llcorner", 5, "\xe2\x8c\x9e", NULL}, {"llhard", 5, "\xe2\xa5\xab", NULL},
    {"lltri", 5, "\xe2\x97\xba", NULL}, {"lmidot", 9, "\xc5\x80", "\xc4\xbf"},
    {"lmoust", 5, "\xe2\x8e\xb0", NULL}, {"lmoustache", 5, "\xe2\x8e\xb0", NULL},
    {"lnE", 1, "\xe2\x89\xa8", NULL}, {"lnap", 5, "\xe2\xaa\x89", NULL},
    {"lnapprox", 5, "\xe2\xaa\x89", NULL}, {"lne", 5, "\xe2\xaa\x87", NULL},
    {"lneq", 5, "\xe2\xaa\x87", NULL}, {"lneqq", 5, "\xe2\x89\xa8", NULL}, {"lnsim", 5, "\xe2\x8b\xa6", NULL},
    {"loang", 5, "\xe2\x9f\xac", NULL}, {"loarr", 5, "\xe2\x87\xbd", NULL},
    {"lobrk", 5, "\xe2\x9f\xa6", NULL}, {"longleftarrow", 5, "\xe2\x9f\xb5", NULL},
    {"longleftrightarrow", 5, "\xe2\x9f\xb7", NULL}, {"longmapsto", 5, "\xe2\x9f\xbc", NULL},
    {"longrightarrow", 5, "\xe2\x9f\xb6", NULL}, {"looparrowleft", 5, "\xe2\x86\xab", NULL},
    {"looparrowright", 5, "\xe2\x86\xac", NULL}, {"lopar", 5, "\xe2\xa6\x85", NULL},
    {"lopf", 5, "\xf0\x9d\x95\x9d", NULL}, {"loplus", 5, "\xe2\xa8\xad", NULL},
    {"lotimes", 5, "\xe2\xa8\xb4", NULL}, {"lowast", 5, "\xe2\x88\x97", NULL}, {"lowbar", 5, "_", NULL},
    {"loz", 5, "\xe2\x97\x8a", NULL}, {"lozenge", 5, "\xe2\x97\x8a", NULL}, {"lozf", 5, "\xe2\xa7\xab", NULL},
    {"lpar", 5, "(", NULL}, {"lparlt", 5, "\xe2\xa6\x93", NULL}, {"lrarr", 5, "\xe2\x87\x86", NULL},
    {"lrcorner", 5, "\xe2\x8c\x9f", NULL}, {"lrhar", 5, "\xe2\x87\x8b", NULL},
    {"lrhard", 5, "\xe2\xa5\xad", NULL}, {"lrm", 5, "\xe2\x80\x8e", NULL}, {"lrtri", 5, "\xe2\x8a\xbf", NULL},
    {"lsaquo", 5, "\xe2\x80\xb9", NULL}, {"lscr", 5, "\xf0\x9d\x93\x81", NULL},
    {"lsh", 5, "\xe2\x86\xb0", NULL}, {"lsim", 5, "\xe2\x89\xb2", NULL}, {"lsime", 5, "\xe2\xaa\x8d", NULL},
    {"lsimg", 5, "\xe2\xaa\x8f", NULL}, {"lsqb", 5, "[", NULL}, {"lsquo", 5, "\xe2\x80\x98", NULL},
    {"lsquor", 5, "\xe2\x80\x9a", NULL}, {"lstrok", 9, "\xc5\x82", "\xc5\x81"}, {"lt", 3, "<", NULL},
    {"ltcc", 1, "\xe2\xaa\xa6", NULL}, {"ltcir", 1, "\xe2\xa9\xb9", NULL}, {"ltdot", 1, "\xe2\x8b\x96", NULL},
    {"lthree", 1, "\xe2\x8b\x8b", NULL}, {"ltimes", 1, "\xe2\x8b\x89", NULL},
    {"ltlarr", 1, "\xe2\xa5\xb6", NULL}, {"ltquest", 1, "\xe2\xa9\xbb", NULL},
    {"ltrPar", 1, "\xe2\xa6\x96", NULL}, {"ltri", 1, "\xe2\x97\x83", NULL},
    {"ltrie", 1, "\xe2\x8a\xb4", NULL}, {"ltrif", 1, "\xe2\x97\x82", NULL},
    {"lurdshar", 5, "\xe2\xa5\x8a", NULL}, {"luruhar", 5, "\xe2\xa5\xa6", NULL},
    {"lvertneqq", 5, "\xe2\x89\xa8\xef\xb8\x80", NULL}, {"lvnE", 1, "\xe2\x89\xa8\xef\xb8\x80", NULL},
    {"mDDot", 1, "\xe2\x88\xba", NULL}, {"macr", 7, "\xc2\xaf", NULL}, {"male", 5, "\xe2\x99\x82", NULL},
    {"malt", 5, "\xe2\x9c\xa0", NULL}, {"maltese", 5, "\xe2\x9c\xa0", NULL}, {"map", 5, "\xe2\x86\xa6", NULL},
    {"mapsto", 5, "\xe2\x86\xa6", NULL}, {"mapstodown", 5, "\xe2\x86\xa7", NULL},
    {"mapstoleft", 5, "\xe2\x86\xa4", NULL}, {"mapstoup", 5, "\xe2\x86\xa5", NULL},
    {"marker", 5, "\xe2\x96\xae", NULL}, {"mcomma", 5, "\xe2\xa8\xa9", NULL},
    {"mcy", 9, "\xd0\xbc", "\xd0\x9c"}, {"mdash", 5, "\xe2\x80\x94", NULL},
    {"measuredangle", 5, "\xe2\x88\xa1", NULL}, {"mfr", 5, "\xf0\x9d\x94\xaa", NULL},
    {"mho", 5, "\xe2\x84\xa7", NULL}, {"micro", 11, "\xc2\xb5", "\xce\x9c"}, {"mid", 5, "\xe2\x88\xa3", NULL},
    {"midast", 5, "*", NULL}, {"midcir", 5, "\xe2\xab\xb0", NULL}, {"middot", 7, "\xc2\xb7", NULL},
    {"minus", 5, "\xe2\x88\x92", NULL}, {"minusb", 5, "\xe2\x8a\x9f", NULL},
    {"minusd", 5, "\xe2\x88\xb8", NULL}, {"minusdu", 5, "\xe2\xa8\xaa", NULL},
    {"mlcp", 5, "\xe2\xab\x9b", NULL}, {"mldr", 5, "\xe2\x80\xa6", NULL}, {"mnplus", 5, "\xe2\x88\x93", NULL},
    {"models", 5, "\xe2\x8a\xa7", NULL}, {"mopf", 5, "\xf0\x9d\x95\x9e", NULL},
    {"mp", 5, "\xe2\x88\x93", NULL}, {"mscr", 5, "\xf0\x9d\x93\x82", NULL},
    {"mstpos", 5, "\xe2\x88\xbe", NULL}, {"mu", 9, "\xce\xbc", "\xce\x9c"},
    {"multimap", 5, "\xe2\x8a\xb8", NULL}, {"mumap", 5, "\xe2\x8a\xb8", NULL},
    {"nGg", 1, "\xe2\x8b\x99\xcc\xb8", NULL}, {"nGt", 1, "\xe2\x89\xab\xe2\x83\x92", NULL},
    {"nGtv", 1, "\xe2\x89\xab\xcc\xb8", NULL}, {"nLeftarrow", 1, "\xe2\x87\x8d", NULL},
    {"nLeftrightarrow", 1, "\xe2\x87\x8e", NULL}, {"nLl", 1, "\xe2\x8b\x98\xcc\xb8", NULL},
    {"nLt", 1, "\xe2\x89\xaa\xe2\x83\x92", NULL}, {"nLtv", 1, "\xe2\x89\xaa\xcc\xb8", NULL},
    {"nRightarrow", 1, "\xe2\x87\x8f", NULL}, {"nVDash", 1, "\xe2\x8a\xaf", NULL},
    {"nVdash", 1, "\xe2\x8a\xae", NULL}, {"nabla", 5, "\xe2\x88\x87", NULL},
    {"nacute", 9, "\xc5\x84", "\xc5\x83"}, {"nang", 5, "\xe2\x88\xa0\xe2\x83\x92", NULL},
    {"nap", 5, "\xe2\x89\x89", NULL}, {"napE", 1, "\xe2\xa9\xb0\xcc\xb8", NULL},
    {"napid", 5, "\xe2\x89\x8b\xcc\xb8", NULL}, {"napos", 9, "\xc5\x89", "\xca\xbcN"},
    {"napprox", 5, "\xe2\x89\x89", NULL}, {"natur", 5, "\xe2\x99\xae", NULL},
    {"natural", 5, "\xe2\x99\xae", NULL}, {"naturals", 5, "\xe2\x84\x95", NULL},
    {"nbsp", 7, "\xc2\xa0", NULL}, {"nbump", 5, "\xe2\x89\x8e\xcc\xb8", NULL},
    {"nbumpe", 5, "\xe2\x89\x8f\xcc\xb8", NULL}, {"ncap", 5, "\xe2\xa9\x83", NULL},
    {"ncaron", 9, "\xc5\x88", "\xc5\x87"}, {"ncedil", 9, "\xc5\x86", "\xc5\x85"},
    {"ncong", 5, "\xe2\x89\x87", NULL}, {"ncongdot", 5, "\xe2\xa9\xad\xcc\xb8", NULL},
    {"ncup", 5, "\xe2\xa9\x82", NULL}, {"ncy", 9, "\xd0\xbd", "\xd0\x9d"}, {"ndash", 5, "\xe2\x80\x93", NULL},
    {"ne", 5, "\xe2\x89\xa0", NULL}, {"neArr", 1, "\xe2\x87\x97", NULL}, {"nearhk", 5, "\xe2\xa4\xa4", NULL},
    {"nearr", 5, "\xe2\x86\x97", NULL}, {"nearrow", 5, "\xe2\x86\x97", NULL},
    {"nedot", 5, "\xe2\x89\x90\xcc\xb8", NULL}, {"nequiv", 5, "\xe2\x89\xa2", NULL},
    {"nesear", 5, "\xe2\xa4\xa8", NULL}, {"nesim", 5, "\xe2\x89\x82\xcc\xb8", NULL},
    {"nexist", 5, "\xe2\x88\x84", NULL}, {"nexists", 5, "\xe2\x88\x84", NULL},
    {"nfr", 5, "\xf0\x9d\x94\xab", NULL}, {"ngE", 1, "\xe2\x89\xa7\xcc\xb8", NULL},
    {"nge", 5, "\xe2\x89\xb1", NULL}, {"ngeq", 5, "\xe2\x89\xb1", NULL},
    {"ngeqq", 5, "\xe2\x89\xa7\xcc\xb8", NULL}, {"ngeqslant", 5, "\xe2\xa9\xbe\xcc\xb8", NULL},
    {"nges", 5, "\xe2\xa9\xbe\xcc\xb8", NULL}, {"ngsim", 5, "\xe2\x89\xb5", NULL},
    {"ngt", 5, "\xe2\x89\xaf", NULL}, {"ngtr", 5, "\xe2\x89\xaf", NULL}, {"nhArr", 1, "\xe2\x87\x8e", NULL},
    {"nharr", 5, "\xe2\x86\xae", NULL}, {"nhpar", 5, "\xe2\xab\xb2", NULL}, {"ni", 5, "\xe2\x88\x8b", NULL},
    {"nis", 5, "\xe2\x8b\xbc", NULL}, {"nisd", 5, "\xe2\x8b\xba", NULL}, {"niv", 5, "\xe2\x88\x8b", NULL},
    {"njcy", 9, "\xd1\x9a", "\xd0\x8a"}, {"nlArr", 1, "\xe2\x87\x8d", NULL},
    {"nlE", 1, "\xe2\x89\xa6\xcc\xb8", NULL}, {"nlarr", 5, "\xe2\x86\x9a", NULL},
    {"nldr", 5, "\xe2\x80\xa5", NULL}, {"nle", 5, "\xe2\x89\xb0", NULL},
    {"nleftarrow", 5, "\xe2\x86\x9a", NULL}, {"nleftrightarrow", 5, "\xe2\x86\xae", NULL},
    {"nleq", 5, "\xe2\x89\xb0", NULL}, {"nleqq", 5, "\xe2\x89\xa6\xcc\xb8", NULL},
    {"nleqslant", 5, "\xe2\xa9\xbd\xcc\xb8", NULL}, {"nles", 5, "\xe2\xa9\xbd\xcc\xb8", NULL},
    {"nless", 5, "\xe2\x89\xae", NULL}, {"nlsim", 5, "\xe2\x89\xb4", NULL}, {"nlt", 5, "\xe2\x89\xae", NULL},
    {"nltri", 5, "\xe2\x8b\xaa", NULL}, {"nltrie", 5, "\xe2\x8b\xac", NULL},
    {"nmid", 5, "\xe2\x88\xa4", NULL}, {"nopf", 5, "\xf0\x9d\x95\x9f", NULL}, {"not", 7, "\xc2\xac", NULL},
    {"notin", 5, "\xe2\x88\x89", NULL}, {"notinE", 1, "\xe2\x8b\xb9\xcc\xb8", NULL},
    {"notindot", 5, "\xe2\x8b\xb5\xcc\xb8", NULL}, {"notinva", 5, "\xe2\x88\x89", NULL},
    {"notinvb", 5, "\xe2\x8b\xb7", NULL}, {"notinvc", 5, "\xe2\x8b\xb6", NULL},
    {"notni", 5, "\xe2\x88\x8c", NULL}, {"notniva", 5, "\xe2\x88\x8c", NULL},
    {"notnivb", 5, "\xe2\x8b\xbe", NULL}, {"notnivc", 5, "\xe2\x8b\xbd", NULL},
    {"npar", 5, "\xe2\x88\xa6", NULL}, {"nparallel", 5, "\xe2\x88\xa6", NULL},
    {"nparsl", 5, "\xe2\xab\xbd\xe2\x83\xa5", NULL}, {"npart", 5, "\xe2\x88\x82\xcc\xb8", NULL},
    {"npolint", 5, "\xe2\xa8\x94", NULL}, {"npr", 5, "\xe2\x8a\x80", NULL},
    {"nprcue", 5, "\xe2\x8b\xa0", NULL}, {"npre", 5, "\xe2\xaa\xaf\xcc\xb8", NULL},
    {"nprec", 5, "\xe2\x8a\x80", NULL}, {"npreceq", 5, "\xe2\xaa\xaf\xcc\xb8", NULL},
    {"nrArr", 1, "\xe2\x87\x8f", NULL}, {"nrarr", 5, "\xe2\x86\x9b", NULL},
    {"nrarrc", 5, "\xe2\xa4\xb3\xcc\xb8", NULL}, {"nrarrw", 5, "\xe2\x86\x9d\xcc\xb8", NULL},
    {"nrightarrow", 5, "\xe2\x86\x9b", NULL}, {"nrtri", 5, "\xe2\x8b\xab", NULL},
    {"nrtrie", 5, "\xe2\x8b\xad", NULL}, {"nsc", 5, "\xe2\x8a\x81", NULL},
    {"nsccue", 5, "\xe2\x8b\xa1", NULL}, {"nsce", 5, "\xe2\xaa\xb0\xcc\xb8", NULL},
    {"nscr", 5, "\xf0\x9d\x93\x83", NULL}, {"nshortmid", 5, "\xe2\x88\xa4", NULL},
    {"nshortparallel", 5, "\xe2\x88\xa6", NULL}, {"nsim", 5, "\xe2\x89\x81", NULL},
    {"nsime", 5, "\xe2\x89\x84", NULL}, {"nsimeq", 5, "\xe2\x89\x84", NULL},
    {"nsmid", 5, "\xe2\x88\xa4", NULL}, {"nspar", 5, "\xe2\x88\xa6", NULL},
    {"nsqsube", 5, "\xe2\x8b\xa2", NULL}, {"nsqsupe", 5, "\xe2\x8b\xa3", NULL},
    {"nsub", 5, "\xe2\x8a\x84", NULL}, {"nsubE", 1, "\xe2\xab\x85\xcc\xb8", NULL},
    {"nsube", 5, "\xe2\x8a\x88", NULL}, {"nsubset", 5, "\xe2\x8a\x82\xe2\x83\x92", NULL},
    {"nsubseteq", 5, "\xe2\x8a\x88", NULL}, {"nsubseteqq", 5, "\xe2\xab\x85\xcc\xb8", NULL},
    {"nsucc", 5, "\xe2\x8a\x81", NULL}, {"nsucceq", 5, "\xe2\xaa\xb0\xcc\xb8", NULL},
    {"nsup", 5, "\xe2\x8a\x85", NULL}, {"nsupE", 1, "\xe2\xab\x86\xcc\xb8", NULL},
    {"nsupe", 5, "\xe2\x8a\x89", NULL}, {"nsupset", 5, "\xe2\x8a\x83\xe2\x83\x92", NULL},
    {"nsupseteq", 5, "\xe2\x8a\x89", NULL}, {"nsupseteqq", 5, "\xe2\xab\x86\xcc\xb8", NULL},
    {"ntgl", 5, "\xe2\x89\xb9", NULL}, {"ntilde", 11, "\xc3\xb1", "\xc3\x91"},
    {"ntlg", 5, "\xe2\x89\xb8", NULL}, {"ntriangleleft", 5, "\xe2\x8b\xaa", NULL},
    {"ntrianglelefteq", 5, "\xe2\x8b\xac", NULL}, {"ntriangleright", 5, "\xe2\x8b\xab", NULL},
    {"ntrianglerighteq", 5, "\xe2\x8b\xad", NULL}, {"nu", 9, "\xce\xbd", "\xce\x9d"}, {"num", 5, "#", NULL},
    {"numero", 5, "\xe2\x84\x96", NULL}, {"numsp", 5, "\xe2\x80\x87", NULL},
    {"nvDash", 1, "\xe2\x8a\xad", NULL}, {"nvHarr", 1, "\xe2\xa4\x84", NULL},
    {"nvap", 5, "\xe2\x89\x8d\xe2\x83\x92", NULL}, {"nvdash", 5, "\xe2\x8a\xac", NULL},
    {"nvge", 5, "\xe2\x89\xa5\xe2\x83\x92", NULL}, {"nvgt", 5, ">\xe2\x83\x92", NULL},
    {"nvinfin", 5, "\xe2\xa7\x9e", NULL}, {"nvlArr", 1, "\xe2\xa4\x82", NULL},
    {"nvle", 5, "\xe2\x89\xa4\xe2\x83\x92", NULL}, {"nvlt", 5, "<\xe2\x83\x92", NULL},
    {"nvltrie", 5, "\xe2\x8a\xb4\xe2\x83\x92", NULL}, {"nvrArr", 1, "\xe2\xa4\x83", NULL},
    {"nvrtrie", 5, "\xe2\x8a\xb5\xe2\x83\x92", NULL}, {"nvsim", 5, "\xe2\x88\xbc\xe2\x83\x92", NULL},
    {"nwArr", 1, "\xe2\x87\x96", NULL}, {"nwarhk", 5, "\xe2\xa4\xa3", NULL},
    {"nwarr", 5, "\xe2\x86\x96", NULL}, {"nwarrow", 5, "\xe2\x86\x96", NULL},
    {"nwnear", 5, "\xe2\xa4\xa7", NULL}, {"oS", 1, "\xe2\x93\x88", NULL},
    {"oacute", 11, "\xc3\xb3", "\xc3\x93"}, {"oast", 5, "\xe2\x8a\x9b", NULL},
    {"ocir", 5, "\xe2\x8a\x9a", NULL}, {"ocirc", 11, "\xc3\xb4", "\xc3\x94"},
    {"ocy", 9, "\xd0\xbe", "\xd0\x9e"}, {"odash", 5, "\xe2\x8a\x9d", NULL},
    {"odblac", 9, "\xc5\x91", "\xc5\x90"}, {"odiv", 5, "\xe2\xa8\xb8", NULL},
    {"odot", 5, "\xe2\x8a\x99", NULL}, {"odsold", 5, "\xe2\xa6\xbc", NULL},
    {"oelig", 9, "\xc5\x93", "\xc5\x92"}, {"ofcir", 5, "\xe2\xa6\xbf", NULL},
    {"ofr", 5, "\xf0\x9d\x94\xac", NULL}, {"ogon", 5, "\xcb\x9b", NULL},
    {"ograve", 11, "\xc3\xb2", "\xc3\x92"}, {"ogt", 5, "\xe2\xa7\x81", NULL},
    {"ohbar", 5, "\xe2\xa6\xb5", NULL}, {"ohm", 5, "\xce\xa9", NULL}, {"oint", 5, "\xe2\x88\xae", NULL},
    {"olarr", 5, "\xe2\x86\xba", NULL}, {"olcir", 5, "\xe2\xa6\xbe", NULL},
    {"olcross", 5, "\xe2\xa6\xbb", NULL}, {"oline", 5, "\xe2\x80\xbe", NULL},
    {"olt", 5, "\xe2\xa7\x80", NULL}, {"omacr", 9, "\xc5\x8d", "\xc5\x8c"},
    {"omega", 9, "\xcf\x89", "\xce\xa9"}, {"omicron", 9, "\xce\xbf", "\xce\x9f"},
    {"omid", 5, "\xe2\xa6\xb6", NULL}, {"ominus", 5, "\xe2\x8a\x96", NULL},
    {"oopf", 5, "\xf0\x9d\x95\xa0", NULL}, {"opar", 5, "\xe2\xa6\xb7", NULL},
    {"operp", 5, "\xe2\xa6\xb9", NULL}, {"oplus", 5, "\xe2\x8a\x95", NULL}, {"or", 5, "\xe2\x88\xa8", NULL},
    {"orarr", 5, "\xe2\x86\xbb", NULL}, {"ord", 5, "\xe2\xa9\x9d", NULL}, {"order", 5, "\xe2\x84\xb4", NULL},
    {"orderof", 5, "\xe2\x84\xb4", NULL}, {"ordf", 7, "\xc2\xaa", NULL}, {"ordm", 7, "\xc2\xba", NULL},
    {"origof", 5, "\xe2\x8a\xb6", NULL}, {"oror", 5, "\xe2\xa9\x96", NULL},
    {"orslope", 5, "\xe2\xa9\x97", NULL}, {"orv", 5, "\xe2\xa9\x9b", NULL}, {"oscr", 5, "\xe2\x84\xb4", NULL},
    {"oslash", 11, "\xc3\xb8", "\xc3\x98"}, {"osol", 5, "\xe2\x8a\x98", NULL},
    {"otilde", 11, "\xc3\xb5", "\xc3\x95"}, {"otimes", 5, "\xe2\x8a\x97", NULL},
    {"otimesas", 5, "\xe2\xa8\xb6", NULL}, {"ouml", 11, "\xc3\xb6", "\xc3\x96"},
    {"ovbar", 5, "\xe2\x8c\xbd", NULL}, {"par", 5, "\xe2\x88\xa5", NULL}, {"para", 7, "\xc2\xb6", NULL},
    {"parallel", 5, "\xe2\x88\xa5", NULL}, {"parsim", 5, "\xe2\xab\xb3", NULL},
    {"parsl", 5, "\xe2\xab\xbd", NULL}, {"part", 5, "\xe2\x88\x82", NULL}, {"pcy", 9, "\xd0\xbf", "\xd0\x9f"},
    {"percnt", 5, "%", NULL}, {"period", 5, ".", NULL}, {"permil", 5, "\xe2\x80\xb0", NULL},
    {"perp", 5, "\xe2\x8a\xa5", NULL}, {"pertenk", 5, "\xe2\x80\xb1", NULL},
    {"pfr", 5, "\xf0\x9d\x94\xad", NULL}, {"phi", 9, "\xcf\x86", "\xce\xa6"},
    {"phiv", 9, "\xcf\x95", "\xce\xa6"}, {"phmmat", 5, "\xe2\x84\xb3", NULL},
    {"phone", 5, "\xe2\x98\x8e", NULL}, {"pi", 9, "\xcf\x80", "\xce\xa0"},
    {"pitchfork", 5, "\xe2\x8b\x94", NULL}, {"piv", 9, "\xcf\x96", "\xce\xa0"},
    {"planck", 5, "\xe2\x84\x8f", NULL}, {"planckh", 5, "\xe2\x84\x8e", NULL},
    {"plankv", 5, "\xe2\x84\x8f", NULL}, {"plus", 5, "+", NULL}, {"plusacir", 5, "\xe2\xa8\xa3", NULL},
    {"plusb", 5, "\xe2\x8a\x9e", NULL}, {"pluscir", 5, "\xe2\xa8\xa2", NULL},
    {"plusdo", 5, "\xe2\x88\x94", NULL}, {"plusdu", 5, "\xe2\xa8\xa5", NULL},
    {"pluse", 5, "\xe2\xa9\xb2", NULL}, {"plusmn", 7, "\xc2\xb1", NULL}, {"plussim", 5, "\xe2\xa8\xa6", NULL},
    {"plustwo", 5, "\xe2\xa8\xa7", NULL}, {"pm", 5, "\xc2\xb1", NULL}, {"pointint", 5, "\xe2\xa8\x95", NULL},
    {"popf", 5, "\xf0\x9d\x95\xa1", NULL}, {"pound", 7, "\xc2\xa3", NULL}, {"pr", 5, "\xe2\x89\xba", NULL},
    {"prE", 1, "\xe2\xaa\xb3", NULL}, {"prap", 5, "\xe2\xaa\xb7", NULL}, {"prcue", 5, "\xe2\x89\xbc", NULL},
    {"pre", 5, "\xe2\xaa\xaf", NULL}, {"prec", 5, "\xe2\x89\xba", NULL},
    {"precapprox", 5, "\xe2\xaa\xb7", NULL}, {"preccurlyeq", 5, "\xe2\x89\xbc", NULL},
    {"preceq", 5, "\xe2\xaa\xaf", NULL}, {"precnapprox", 5, "\xe2\xaa\xb9", NULL},
    {"precneqq", 5, "\xe2\xaa\xb5", NULL}, {"precnsim", 5, "\xe2\x8b\xa8", NULL},
    {"precsim", 5, "\xe2\x89\xbe", NULL}, {"prime", 5, "\xe2\x80\xb2", NULL},
    {"primes", 5, "\xe2\x84\x99", NULL}, {"prnE", 1, "\xe2\xaa\xb5", NULL},
    {"prnap", 5, "\xe2\xaa\xb9", NULL}, {"prnsim", 5, "\xe2\x8b\xa8", NULL},
    {"prod", 5, "\xe2\x88\x8f", NULL}, {"profalar", 5, "\xe2\x8c\xae", NULL},
    {"profline", 5, "\xe2\x8c\x92", NULL}, {"profsurf", 5, "\xe2\x8c\x93", NULL},
    {"prop", 5, "\xe2\x88\x9d", NULL}, {"propto", 5, "\xe2\x88\x9d", NULL},
    {"prsim", 5, "\xe2\x89\xbe", NULL}, {"prurel", 5, "\xe2\x8a\xb0", NULL},
    {"pscr", 5, "\xf0\x9d\x93\x85", NULL}, {"psi", 9, "\xcf\x88", "\xce\xa8"},
    {"puncsp", 5, "\xe2\x80\x88", NULL}, {"qfr", 5, "\xf0\x9d\x94\xae", NULL},
    {"qint", 5, "\xe2\xa8\x8c", NULL}, {"qopf", 5, "\xf0\x9d\x95\xa2", NULL},
    {"qprime", 5, "\xe2\x81\x97", NULL}, {"qscr", 5, "\xf0\x9d\x93\x86", NULL},
    {"quaternions", 5, "\xe2\x84\x8d", NULL}, {"quatint", 5, "\xe2\xa8\x96", NULL},
    {"quest", 5, "\x3f", NULL}, {"questeq", 5, "\xe2\x89\x9f", NULL}, {"quot", 3, "\x22", NULL},
    {"rAarr", 1, "\xe2\x87\x9b", NULL}, {"rArr", 1, "\xe2\x87\x92", NULL},
    {"rAtail", 1, "\xe2\xa4\x9c", NULL}, {"rBarr", 1, "\xe2\xa4\x8f", NULL},
    {"rHar", 1, "\xe2\xa5\xa4", NULL}, {"race", 5, "\xe2\x88\xbd\xcc\xb1", NULL},
    {"racute", 9, "\xc5\x95", "\xc5\x94"}, {"radic", 5, "\xe2\x88\x9a", NULL},
    {"raemptyv", 5, "\xe2\xa6\xb3", NULL}, {"rang", 5, "\xe2\x9f\xa9", NULL},
    {"rangd", 5, "\xe2\xa6\x92", NULL}, {"range", 5, "\xe2\xa6\xa5", NULL},
    {"rangle", 5, "\xe2\x9f\xa9", NULL}, {"raquo", 7, "\xc2\xbb", NULL}, {"rarr", 5, "\xe2\x86\x92", NULL},
    {"rarrap", 5, "\xe2\xa5\xb5", NULL}, {"rarrb", 5, "\xe2\x87\xa5", NULL},
    {"rarrbfs", 5, "\xe2\xa4\xa0", NULL}, {"rarrc", 5, "\xe2\xa4\xb3", NULL},
    {"rarrfs", 5, "\xe2\xa4\x9e", NULL}, {"rarrhk", 5, "\xe2\x86\xaa", NULL},
    {"rarrlp", 5, "\xe2\x86\xac", NULL}, {"rarrpl", 5, "\xe2\xa5\x85", NULL},
    {"rarrsim", 5, "\xe2\xa5\xb4", NULL}, {"rarrtl", 5, "\xe2\x86\xa3", NULL},
    {"rarrw", 5, "\xe2\x86\x9d", NULL}, {"ratail", 5, "\xe2\xa4\x9a", NULL},
    {"ratio", 5, "\xe2\x88\xb6", NULL}, {"rationals", 5, "\xe2\x84\x9a", NULL},
    {"rbarr", 5, "\xe2\xa4\x8d", NULL}, {"rbbrk", 5, "\xe2\x9d\xb3", NULL}, {"rbrace", 5, "}", NULL},
    {"rbrack", 5, "]", NULL}, {"rbrke", 5, "\xe2\xa6\x8c", NULL}, {"rbrksld", 5, "\xe2\xa6\x8e", NULL},
    {"rbrkslu", 5, "\xe2\xa6\x90", NULL}, {"rcaron", 9, "\xc5\x99", "\xc5\x98"},
    {"rcedil", 9, "\xc5\x97", "\xc5\x96"}, {"rceil", 5, "\xe2\x8c\x89", NULL}, {"rcub", 5, "}", NULL},
    {"rcy", 9, "\xd1\x80", "\xd0\xa0"}, {"rdca", 5, "\xe2\xa4\xb7", NULL},
    {"rdldhar", 5, "\xe2\xa5\xa9", NULL}, {"rdquo", 5, "\xe2\x80\x9d", NULL},
    {"rdquor", 5, "\xe2\x80\x9d", NULL}, {"rdsh", 5, "\xe2\x86\xb3", NULL}, {"real", 5, "\xe2\x84\x9c", NULL},
    {"realine", 5, "\xe2\x84\x9b", NULL}, {"realpart", 5, "\xe2\x84\x9c", NULL},
    {"reals", 5, "\xe2\x84\x9d", NULL}, {"rect", 5, "\xe2\x96\xad", NULL}, {"reg", 3, "\xc2\xae", NULL},
    {"rfisht", 5, "\xe2\xa5\xbd", NULL}, {"rfloor", 5, "\xe2\x8c\x8b", NULL},
    {"rfr", 5, "\xf0\x9d\x94\xaf", NULL}, {"rhard", 5, "\xe2\x87\x81", NULL},
    {"rharu", 5, "\xe2\x87\x80", NULL}, {"rharul", 5, "\xe2\xa5\xac", NULL},
    {"rho", 9, "\xcf\x81", "\xce\xa1"}, {"rhov", 9, "\xcf\xb1", "\xce\xa1"},
    {"rightarrow", 5, "\xe2\x86\x92", NULL}, {"rightarrowtail", 5, "\xe2\x86\xa3", NULL},
    {"rightharpoondown", 5, "\xe2\x87\x81", NULL}, {"rightharpoonup", 5, "\xe2\x87\x80", NULL},
    {"rightleftarrows", 5, "\xe2\x87\x84", NULL}, {"rightleftharpoons", 5, "\xe2\x87\x8c", NULL},
    {"rightrightarrows", 5, "\xe2\x87\x89", NULL}, {"rightsquigarrow", 5, "\xe2\x86\x9d", NULL},
    {"rightthreetimes", 5, "\xe2\x8b\x8c", NULL}, {"ring", 5, "\xcb\x9a", NULL},
    {"risingdotseq", 5, "\xe2\x89\x93", NULL}, {"rlarr", 5, "\xe2\x87\x84", NULL},
    {"rlhar", 5, "\xe2\x87\x8c", NULL}, {"rlm", 5, "\xe2\x80\x8f", NULL}, {"rmoust", 5, "\xe2\x8e\xb1", NULL},
    {"rmoustache", 5, "\xe2\x8e\xb1", NULL}, {"rnmid", 5, "\xe2\xab\xae", NULL},
    {"roang", 5, "\xe2\x9f\xad", NULL}, {"roarr", 5, "\xe2\x87\xbe", NULL},
    {"robrk", 5, "\xe2\x9f\xa7", NULL}, {"ropar", 5, "\xe2\xa6\x86", NULL},
    {"ropf", 5, "\xf0\x9d\x95\xa3", NULL}, {"roplus", 5, "\xe2\xa8\xae", NULL},
    {"rotimes", 5, "\xe2\xa8\xb5", NULL}, {"rpar", 5, ")", NULL}, {"rpargt", 5, "\xe2\xa6\x94", NULL},
    {"rppolint", 5, "\xe2\xa8\x92", NULL}, {"rrarr", 5, "\xe2\x87\x89", NULL},
    {"rsaquo", 5, "\xe2\x80\xba", NULL}, {"rscr", 5, "\xf0\x9d\x93\x87", NULL},
    {"rsh", 5, "\xe2\x86\xb1", NULL}, {"rsqb", 5, "]", NULL}, {"rsquo", 5, "\xe2\x80\x99", NULL},
    {"rsquor", 5, "\xe2\x80\x99", NULL}, {"rthree", 5, "\xe2\x8b\x8c", NULL},
    {"rtimes", 5, "\xe2\x8b\x8a", NULL}, {"rtri", 5, "\xe2\x96\xb9", NULL},
    {"rtrie", 5, "\xe2\x8a\xb5", NULL}, {"rtrif", 5, "\xe2\x96\xb8", NULL},
    {"rtriltri", 5, "\xe2\xa7\x8e", NULL}, {"ruluhar", 5, "\xe2\xa5\xa8", NULL},
    {"rx", 5, "\xe2\x84\x9e", NULL}, {"sacute", 9, "\xc5\x9b", "\xc5\x9a"},
    {"sbquo", 5, "\xe2\x80\x9a", NULL}, {"sc", 5, "\xe2\x89\xbb", NULL}, {"scE", 1, "\xe2\xaa\xb4", NULL},
    {"scap", 5, "\xe2\xaa\xb8", NULL}, {"scaron", 9, "\xc5\xa1", "\xc5\xa0"},
    {"sccue", 5, "\xe2\x89\xbd", NULL}, {"sce", 5, "\xe2\xaa\xb0", NULL},
    {"scedil", 9, "\xc5\x9f", "\xc5\x9e"}, {"scirc", 9, "\xc5\x9d", "\xc5\x9c"},
    {"scnE", 1, "\xe2\xaa\xb6", NULL}, {"scnap", 5, "\xe2\xaa\xba", NULL},
    {"scnsim", 5, "\xe2\x8b\xa9", NULL}, {"scpolint", 5, "\xe2\xa8\x93", NULL},
    {"scsim", 5, "\xe2\x89\xbf", NULL}, {"scy", 9, "\xd1\x81", "\xd0\xa1"}, {"sdot", 5, "\xe2\x8b\x85", NULL},
    {"sdotb", 5, "\xe2\x8a\xa1", NULL}, {"sdote", 5, "\xe2\xa9\xa6", NULL},
    {"seArr", 1, "\xe2\x87\x98", NULL}, {"searhk", 5, "\xe2\xa4\xa5", NULL},
    {"searr", 5, "\xe2\x86\x98", NULL}, {"searrow", 5, "\xe2\x86\x98", NULL}, {"sect", 7, "\xc2\xa7", NULL},
    {"semi", 5, ";", NULL}, {"seswar", 5, "\xe2\xa4\xa9", NULL}, {"setminus", 5, "\xe2\x88\x96", NULL},
    {"setmn", 5, "\xe2\x88\x96", NULL}, {"sext", 5, "\xe2\x9c\xb6", NULL},
    {"sfr", 5, "\xf0\x9d\x94\xb0", NULL}, {"sfrown", 5, "\xe2\x8c\xa2", NULL},
    {"sharp", 5, "\xe2\x99\xaf", NULL}, {"shchcy", 9, "\xd1\x89", "\xd0\xa9"},
    {"shcy", 9, "\xd1\x88", "\xd0\xa8"}, {"shortmid", 5, "\xe2\x88\xa3", NULL},
    {"shortparallel", 5, "\xe2\x88\xa5", NULL}, {"shy", 7, "\xc2\xad", NULL},
    {"sigma", 9, "\xcf\x83", "\xce\xa3"}, {"sigmaf", 9, "\xcf\x82", "\xce\xa3"},
    {"sigmav", 9, "\xcf\x82", "\xce\xa3"}, {"sim", 5, "\xe2\x88\xbc", NULL},
    {"simdot", 5, "\xe2\xa9\xaa", NULL}, {"sime", 5, "\xe2\x89\x83", NULL},
    {"simeq", 5, "\xe2\x89\x83", NULL}, {"simg", 5, "\xe2\xaa\x9e", NULL}, {"simgE", 1, "\xe2\xaa\xa0", NULL},
    {"siml", 5, "\xe2\xaa\x9d", NULL}, {"simlE", 1, "\xe2\xaa\x9f", NULL}, {"simne", 5, "\xe2\x89\x86", NULL},
    {"simplus", 5, "\xe2\xa8\xa4", NULL}, {"simrarr", 5, "\xe2\xa5\xb2", NULL},
    {"slarr", 5, "\xe2\x86\x90", NULL}, {"smallsetminus", 5, "\xe2\x88\x96", NULL},
    {"smashp", 5, "\xe2\xa8\xb3", NULL}, {"smeparsl", 5, "\xe2\xa7\xa4", NULL},
    {"smid", 5, "\xe2\x88\xa3", NULL}, {"smile", 5, "\xe2\x8c\xa3", NULL}, {"smt", 5, "\xe2\xaa\xaa", NULL},
    {"smte", 5, "\xe2\xaa\xac", NULL}, {"smtes", 5, "\xe2\xaa\xac\xef\xb8\x80", NULL},
    {"softcy", 9, "\xd1\x8c", "\xd0\xac"}, {"sol", 5, "/", NULL}, {"solb", 5, "\xe2\xa7\x84", NULL},
    {"solbar", 5, "\xe2\x8c\xbf", NULL}, {"sopf", 5, "\xf0\x9d\x95\xa4", NULL},
    {"spades", 5, "\xe2\x99\xa0", NULL}, {"spadesuit", 5, "\xe2\x99\xa0", NULL},
    {"spar", 5, "\xe2\x88\xa5", NULL}, {"sqcap", 5, "\xe2\x8a\x93", NULL},
    {"sqcaps", 5, "\xe2\x8a\x93\xef\xb8\x80", NULL}, {"sqcup", 5, "\xe2\x8a\x94", NULL},
    {"sqcups", 5, "\xe2\x8a\x94\xef\xb8\x80", NULL}, {"sqsub", 5, "\xe2\x8a\x8f", NULL},
    {"sqsube", 5, "\xe2\x8a\x91", NULL}, {"sqsubset", 5, "\xe2\x8a\x8f", NULL},
    {"sqsubseteq", 5, "\xe2\x8a\x91", NULL}, {"sqsup", 5, "\xe2\x8a\x90", NULL},
    {"sqsupe", 5, "\xe2\x8a\x92", NULL}, {"sqsupset", 5, "\xe2\x8a\x90", NULL},
    {"sqsupseteq", 5, "\xe2\x8a\x92", NULL}, {"squ", 5, "\xe2\x96\xa1", NULL},
    {"square", 5, "\xe2\x96\xa1", NULL}, {"squarf", 5, "\xe2\x96\xaa", NULL},
    {"squf", 5, "\xe2\x96\xaa", NULL}, {"srarr", 5, "\xe2\x86\x92", NULL},
    {"sscr", 5, "\xf0\x9d\x93\x88", NULL}, {"ssetmn", 5, "\xe2\x88\x96", NULL},
    {"ssmile", 5, "\xe2\x8c\xa3", NULL}, {"sstarf", 5, "\xe2\x8b\x86", NULL},
    {"star", 5, "\xe2\x98\x86", NULL}, {"starf", 5, "\xe2\x98\x85", NULL},
    {"straightepsilon", 9, "\xcf\xb5", "\xce\x95"}, {"straightphi", 9, "\xcf\x95", "\xce\xa6"},
    {"strns", 5, "\xc2\xaf", NULL}, {"sub", 5, "\xe2\x8a\x82", NULL}, {"subE", 1, "\xe2\xab\x85", NULL},
    {"subdot", 5, "\xe2\xaa\xbd", NULL}, {"sube", 5, "\xe2\x8a\x86", NULL},
    {"subedot", 5, "\xe2\xab\x83", NULL}, {"submult", 5, "\xe2\xab\x81", NULL},
    {"subnE", 1, "\xe2\xab\x8b", NULL}, {"subne", 5, "\xe2\x8a\x8a", NULL},
    {"subplus", 5, "\xe2\xaa\xbf", NULL}, {"subrarr", 5, "\xe2\xa5\xb9", NULL},
    {"subset", 5, "\xe2\x8a\x82", NULL}, {"subseteq", 5, "\xe2\x8a\x86", NULL},
    {"subseteqq", 5, "\xe2\xab\x85", NULL}, {"subsetneq", 5, "\xe2\x8a\x8a", NULL},
    {"subsetneqq", 5, "\xe2\xab\x8b", NULL}, {"subsim", 5, "\xe2\xab\x87", NULL},
    {"subsub", 5, "\xe2\xab\x95", NULL}, {"subsup", 5, "\xe2\xab\x93", NULL},
    {"succ", 5, "\xe2\x89\xbb", NULL}, {"succapprox", 5, "\xe2\xaa\xb8", NULL},
    {"succcurlyeq", 5, "\xe2\x89\xbd", NULL}, {"succeq", 5, "\xe2\xaa\xb0", NULL},
    {"succnapprox", 5, "\xe2\xaa\xba", NULL}, {"succneqq", 5, "\xe2\xaa\xb6", NULL},
    {"succnsim", 5, "\xe2\x8b\xa9", NULL}, {"succsim", 5, "\xe2\x89\xbf", NULL},
    {"sum", 5, "\xe2\x88\x91", NULL}, {"sung", 5, "\xe2\x99\xaa", NULL}, {"sup", 5, "\xe2\x8a\x83", NULL},
    {"sup1", 7, "\xc2\xb9", NULL}, {"sup2", 7, "\xc2\xb2", NULL}, {"sup3", 7, "\xc2\xb3", NULL},
    {"supE", 1, "\xe2\xab\x86", NULL}, {"supdot", 5, "\xe2\xaa\xbe", NULL},
    {"supdsub", 5, "\xe2\xab\x98", NULL}, {"supe", 5, "\xe2\x8a\x87", NULL},
    {"supedot", 5, "\xe2\xab\x84", NULL}, {"suphsol", 5, "\xe2\x9f\x89", NULL},
    {"suphsub", 5, "\xe2\xab\x97", NULL}, {"suplarr", 5, "\xe2\xa5\xbb", NULL},
    {"supmult", 5, "\xe2\xab\x82", NULL}, {"supnE", 1, "\xe2\xab\x8c", NULL},
    {"supne", 5, "\xe2\x8a\x8b", NULL}, {"supplus", 5, "\xe2\xab\x80", NULL},
    {"supset", 5, "\xe2\x8a\x83", NULL}, {"supseteq", 5, "\xe2\x8a\x87", NULL},
    {"supseteqq", 5, "\xe2\xab\x86", NULL}, {"supsetneq", 5, "\xe2\x8a\x8b", NULL},
    {"supsetneqq", 5, "\xe2\xab\x8c", NULL}, {"supsim", 5, "\xe2\xab\x88", NULL},
    {"supsub", 5, "\xe2\xab\x94", NULL}, {"supsup", 5, "\xe2\xab\x96", NULL},
    {"swArr", 1, "\xe2\x87\x99", NULL}, {"swarhk", 5, "\xe2\xa4\xa6", NULL},
    {"swarr", 5, "\xe2\x86\x99", NULL}, {"swarrow", 5, "\xe2\x86\x99", NULL},
    {"swnwar", 5, "\xe2\xa4\xaa", NULL}, {"szlig", 11, "\xc3\x9f", "SS"}, {"target", 5, "\xe2\x8c\x96", NULL},
    {"tau", 9, "\xcf\x84", "\xce\xa4"}, {"tbrk", 5, "\xe2\x8e\xb4", NULL},
    {"tcaron", 9, "\xc5\xa5", "\xc5\xa4"}, {"tcedil", 9, "\xc5\xa3", "\xc5\xa2"},
    {"tcy", 9, "\xd1\x82", "\xd0\xa2"}, {"tdot", 5, "\xe2\x83\x9b", NULL},
    {"telrec", 5, "\xe2\x8c\x95", NULL}, {"tfr", 5, "\xf0\x9d\x94\xb1", NULL},
    {"there4", 5, "\xe2\x88\xb4", NULL}, {"therefore", 5, "\xe2\x88\xb4", NULL},
    {"theta", 9, "\xce\xb8", "\xce\x98"}, {"thetasym", 9, "\xcf\x91", "\xce\x98"},
    {"thetav", 9, "\xcf\x91", "\xce\x98"}, {"thickapprox", 5, "\xe2\x89\x88", NULL},
    {"thicksim", 5, "\xe2\x88\xbc", NULL}, {"thinsp", 5, "\xe2\x80\x89", NULL},
    {"thkap", 5, "\xe2\x89\x88", NULL}, {"thksim", 5, "\xe2\x88\xbc", NULL}, {"thorn", 3, "\xc3\xbe", NULL},
    {"tilde", 5, "\xcb\x9c", NULL}, {"times", 7, "\xc3\x97", NULL}, {"timesb", 5, "\xe2\x8a\xa0", NULL},
    {"timesbar", 5, "\xe2\xa8\xb1", NULL}, {"timesd", 5, "\xe2\xa8\xb0", NULL},
    {"tint", 5, "\xe2\x88\xad", NULL}, {"toea", 5, "\xe2\xa4\xa8", NULL}, {"top", 5, "\xe2\x8a\xa4", NULL},
    {"topbot", 5, "\xe2\x8c\xb6", NULL}, {"topcir", 5, "\xe2\xab\xb1", NULL},
    {"topf", 5, "\xf0\x9d\x95\xa5", NULL}, {"topfork", 5, "\xe2\xab\x9a", NULL},
    {"tosa", 5, "\xe2\xa4\xa9", NULL}, {"tprime", 5, "\xe2\x80\xb4", NULL},
    {"trade", 1, "\xe2\x84\xa2", NULL}, {"triangle", 5, "\xe2\x96\xb5", NULL},
    {"triangledown", 5, "\xe2\x96\xbf", NULL}, {"triangleleft", 5, "\xe2\x97\x83", NULL},
    {"trianglelefteq", 5, "\xe2\x8a\xb4", NULL}, {"triangleq", 5, "\xe2\x89\x9c", NULL},
    {"triangleright", 5, "\xe2\x96\xb9", NULL}, {"trianglerighteq", 5, "\xe2\x8a\xb5", NULL},
    {"tridot", 5, "\xe2\x97\xac", NULL}, {"trie", 5, "\xe2\x89\x9c", NULL},
    {"triminus", 5, "\xe2\xa8\xba", NULL}, {"triplus", 5, "\xe2\xa8\xb9", NULL},
    {"trisb", 5, "\xe2\xa7\x8d", NULL}, {"tritime", 5, "\xe2\xa8\xbb", NULL},
    {"trpezium", 5, "\xe2\x8f\xa2", NULL}, {"tscr", 5, "\xf0\x9d\x93\x89", NULL},
    {"tscy", 9, "\xd1\x86", "\xd0\xa6"}, {"tshcy", 9, "\xd1\x9b", "\xd0\x8b"},
    {"tstrok", 9, "\xc5\xa7", "\xc5\xa6"}, {"twixt", 5, "\xe2\x89\xac", NULL},
    {"twoheadleftarrow", 5, "\xe2\x86\x9e", NULL}, {"twoheadrightarrow", 5, "\xe2\x86\xa0", NULL},
    {"uArr", 1, "\xe2\x87\x91", NULL}, {"uHar", 1, "\xe2\xa5\xa3", NULL},
    {"uacute", 11, "\xc3\xba", "\xc3\x9a"}, {"uarr", 5, "\xe2\x86\x91", NULL},
    {"ubrcy", 9, "\xd1\x9e", "\xd0\x8e"}, {"ubreve", 9, "\xc5\xad", "\xc5\xac"},
    {"ucirc", 11, "\xc3\xbb", "\xc3\x9b"}, {"ucy", 9, "\xd1\x83", "\xd0\xa3"},
    {"udarr", 5, "\xe2\x87\x85", NULL}, {"udblac", 9, "\xc5\xb1", "\xc5\xb0"},
    {"udhar", 5, "\xe2\xa5\xae", NULL}, {"ufisht", 5, "\xe2\xa5\xbe", NULL},
    {"ufr", 5, "\xf0\x9d\x94\xb2", NULL}, {"ugrave", 11, "\xc3\xb9", "\xc3\x99"},
    {"uharl", 5, "\xe2\x86\xbf", NULL}, {"uharr", 5, "\xe2\x86\xbe", NULL},
    {"uhblk", 5, "\xe2\x96\x80", NULL}, {"ulcorn", 5, "\xe2\x8c\x9c", NULL},
    {"ulcorner", 5, "\xe2\x8c\x9c", NULL}, {"ulcrop", 5, "\xe2\x8c\x8f", NULL},
    {"ultri", 5, "\xe2\x97\xb8", NULL}, {"umacr", 9, "\xc5\xab", "\xc5\xaa"}, {"uml", 7, "\xc2\xa8", NULL},
    {"uogon", 9, "\xc5\xb3", "\xc5\xb2"}, {"uopf", 5, "\xf0\x9d\x95\xa6", NULL},
    {"uparrow", 5, "\xe2\x86\x91", NULL}, {"updownarrow", 5, "\xe2\x86\x95", NULL},
    {"upharpoonleft", 5, "\xe2\x86\xbf", NULL}, {"upharpoonright", 5, "\xe2\x86\xbe", NULL},
    {"uplus", 5, "\xe2\x8a\x8e", NULL}, {"upsi", 9, "\xcf\x85", "\xce\xa5"}, {"upsih", 5, "\xcf\x92", NULL},
    {"upsilon", 9, "\xcf\x85", "\xce\xa5"}, {"upuparrows", 5, "\xe2\x87\x88", NULL},
    {"urcorn", 5, "\xe2\x8c\x9d", NULL}, {"urcorner", 5, "\xe2\x8c\x9d", NULL},
    {"urcrop", 5, "\xe2\x8c\x8e", NULL}, {"uring", 9, "\xc5\xaf", "\xc5\xae"},
    {"urtri", 5, "\xe2\x97\xb9", NULL}, {"uscr", 5, "\xf0\x9d\x93\x8a", NULL},
    {"utdot", 5, "\xe2\x8b\xb0", NULL}, {"utilde", 9, "\xc5\xa9", "\xc5\xa8"},
    {"utri", 5, "\xe2\x96\xb5", NULL}, {"utrif", 5, "\xe2\x96\xb4", NULL}, {"uuarr", 5, "\xe2\x87\x88", NULL},
    {"uuml", 11, "\xc3\xbc", "\xc3\x9c"}, {"uwangle", 5, "\xe2\xa6\xa7", NULL},
    {"vArr", 1, "\xe2\x87\x95", NULL}, {"vBar", 1, "\xe2\xab\xa8", NULL}, {"vBarv", 1, "\xe2\xab\xa9", NULL},
    {"vDash", 1, "\xe2\x8a\xa8", NULL}, {"vangrt", 5, "\xe2\xa6\x9c", NULL},
    {"varepsilon", 9, "\xcf\xb5", "\xce\x95"}, {"varkappa", 9, "\xcf\xb0", "\xce\x9a"},
    {"varnothing", 5, "\xe2\x88\x85", NULL}, {"varphi", 9, "\xcf\x95", "\xce\xa6"},
    {"varpi", 9, "\xcf\x96", "\xce\xa0"}, {"varpropto", 5, "\xe2\x88\x9d", NULL},
    {"varr", 5, "\xe2\x86\x95", NULL}, {"varrho", 9, "\xcf\xb1", "\xce\xa1"},
    {"varsigma", 9, "\xcf\x82", "\xce\xa3"}, {"varsubsetneq", 5, "\xe2\x8a\x8a\xef\xb8\x80", NULL},
    {"varsubsetneqq", 5, "\xe2\xab\x8b\xef\xb8\x80", NULL},
    {"varsupsetneq", 5, "\xe2\x8a\x8b\xef\xb8\x80", NULL},
    {"varsupsetneqq", 5, "\xe2\xab\x8c\xef\xb8\x80", NULL}, {"vartheta", 9, "\xcf\x91", "\xce\x98"},
    {"vartriangleleft", 5, "\xe2\x8a\xb2", NULL}, {"vartriangleright", 5, "\xe2\x8a\xb3", NULL},
    {"vcy", 9, "\xd0\xb2", "\xd0\x92"}, {"vdash", 5, "\xe2\x8a\xa2", NULL}, {"vee", 5, "\xe2\x88\xa8", NULL},
    {"veebar", 5, "\xe2\x8a\xbb", NULL}, {"veeeq", 5, "\xe2\x89\x9a", NULL},
    {"vellip", 5, "\xe2\x8b\xae", NULL}, {"verbar", 5, "|", NULL}, {"vert", 5, "|", NULL},
    {"vfr", 5, "\xf0\x9d\x94\xb3", NULL}, {"vltri", 5, "\xe2\x8a\xb2", NULL},
    {"vnsub", 5, "\xe2\x8a\x82\xe2\x83\x92", NULL}, {"vnsup", 5, "\xe2\x8a\x83\xe2\x83\x92", NULL},
    {"vopf", 5, "\xf0\x9d\x95\xa7", NULL}, {"vprop", 5, "\xe2\x88\x9d", NULL},
    {"vrtri", 5, "\xe2\x8a\xb3", NULL}, {"vscr", 5, "\xf0\x9d\x93\x8b", NULL},
    {"vsubnE", 1, "\xe2\xab\x8b\xef\xb8\x80", NULL}, {"vsubne", 5, "\xe2\x8a\x8a\xef\xb8\x80", NULL},
    {"vsupnE", 1, "\xe2\xab\x8c\xef\xb8\x80", NULL}, {"vsupne", 5, "\xe2\x8a\x8b\xef\xb8\x80", NULL},
    {"vzigzag", 5, "\xe2\xa6\x9a", NULL}, {"wcirc", 9, "\xc5\xb5", "\xc5\xb4"},
    {"wedbar", 5, "\xe2\xa9\x9f", NULL}, {"wedge", 5, "\xe2\x88\xa7", NULL},
    {"wedgeq", 5, "\xe2\x89\x99", NULL}, {"weierp", 5, "\xe2\x84\x98", NULL},
    {"wfr", 5, "\xf0\x9d\x94\xb4", NULL}, {"wopf", 5, "\xf0\x9d\x95\xa8", NULL},
    {"wp", 5, "\xe2\x84\x98", NULL}, {"wr", 5, "\xe2\x89\x80", NULL}, {"wreath", 5, "\xe2\x89\x80", NULL},
    {"wscr", 5, "\xf0\x9d\x93\x8c", NULL}, {"xcap", 5, "\xe2\x8b\x82", NULL},
    {"xcirc", 5, "\xe2\x97\xaf", NULL}, {"xcup", 5, "\xe2\x8b\x83", NULL}, {"xdtri", 5, "\xe2\x96\xbd", NULL},
    {"xfr", 5, "\xf0\x9d\x94\xb5", NULL}, {"xhArr", 1, "\xe2\x9f\xba", NULL},
    {"xharr", 5, "\xe2\x9f\xb7", NULL}, {"xi", 9, "\xce\xbe", "\xce\x9e"}, {"xlArr", 1, "\xe2\x9f\xb8", NULL},
    {"xlarr", 5, "\xe2\x9f\xb5", NULL}, {"xmap", 5, "\xe2\x9f\xbc", NULL}, {"xnis", 5, "\xe2\x8b\xbb", NULL},
    {"xodot", 5, "\xe2\xa8\x80", NULL}, {"xopf", 5, "\xf0\x9d\x95\xa9", NULL},
    {"xoplus", 5, "\xe2\xa8\x81", NULL}, {"xotime", 5, "\xe2\xa8\x82", NULL},
    {"xrArr", 1, "\xe2\x9f\xb9", NULL}, {"xrarr", 5, "\xe2\x9f\xb6", NULL},
    {"xscr", 5, "\xf0\x9d\x93\x8d", NULL}, {"xsqcup", 5, "\xe2\xa8\x86", NULL},
    {"xuplus", 5, "\xe2\xa8\x84", NULL}, {"xutri", 5, "\xe2\x96\xb3", NULL},
    {"xvee", 5, "\xe2\x8b\x81", NULL}, {"xwedge", 5, "\xe2\x8b\x80", NULL},
    {"yacute", 11, "\xc3\xbd", "\xc3\x9d"}, {"yacy", 9, "\xd1\x8f", "\xd0\xaf"},
    {"ycirc", 9, "\xc5\xb7", "\xc5\xb6"}, {"ycy", 9, "\xd1\x8b", "\xd0\xab"}, {"yen", 7, "\xc2\xa5", NULL},
    {"yfr", 5, "\xf0\x9d\x94\xb6", NULL}, {"yicy", 9, "\xd1\x97", "\xd0\x87"},
    {"yopf", 5, "\xf0\x9d\x95\xaa", NULL}, {"yscr", 5, "\xf0\x9d\x93\x8e", NULL},
    {"yucy", 9, "\xd1\x8e", "\xd0\xae"}, {"yuml", 11, "\xc3\xbf", "\xc5\xb8"},
    {"zacute", 9, "\xc5\xba", "\xc5\xb9"}, {"zcaron", 9, "\xc5\xbe", "\xc5\xbd"},
    {"zcy", 9, "\xd0\xb7", "\xd0\x97"}, {"zdot", 9, "\xc5\xbc", "\xc5\xbb"},
    {"zeetrf", 5, "\xe2\x84\xa8", NULL}, {"zeta", 9, "\xce\xb6", "\xce\x96"},
    {"zfr", 5, "\xf0\x9d\x94\xb7", NULL}, {"zhcy", 9, "\xd0\xb6", "\xd0\x96"},
    {"zigrarr", 5, "\xe2\x87\x9d", NULL}, {"zopf", 5, "\xf0\x9d\x95\xab", NULL},
    {"zscr", 5, "\xf0\x9d\x93\x8f", NULL}, {"zwj", 5, "\xe2\x80\x8d", NULL},
    {"zwnj", 5, "\xe2\x80\x8c", NULL},
};
/* ftfy's width map for U+FF5F..U+FFEF (U+FF01..U+FF5E map to U+0021..U+007E, U+3000 to U+0020; U+FFE3 maps to U+0020 U+0304): 0 = unchanged. */
static const uint16_t nw_width_ff5f[0xfff0 - 0xff5f] = {
    0x2985, 0x2986, 0x3002, 0x300c, 0x300d, 0x3001, 0x30fb, 0x30f2, 0x30a1, 0x30a3, 0x30a5, 0x30a7,
    0x30a9, 0x30e3, 0x30e5, 0x30e7, 0x30c3, 0x30fc, 0x30a2, 0x30a4, 0x30a6, 0x30a8, 0x30aa, 0x30ab,
    0x30ad, 0x30af, 0x30b1, 0x30b3, 0x30b5, 0x30b7, 0x30b9, 0x30bb, 0x30bd, 0x30bf, 0x30c1, 0x30c4,
    0x30c6, 0x30c8, 0x30ca, 0x30cb, 0x30cc, 0x30cd, 0x30ce, 0x30cf, 0x30d2, 0x30d5, 0x30d8, 0x30db,
    0x30de, 0x30df, 0x30e0, 0x30e1, 0x30e2, 0x30e4, 0x30e6, 0x30e8, 0x30e9, 0x30ea, 0x30eb, 0x30ec,
    0x30ed, 0x30ef, 0x30f3, 0x3099, 0x309a, 0x1160, 0x1100, 0x1101, 0x11aa, 0x1102, 0x11ac, 0x11ad,
    0x1103, 0x1104, 0x1105, 0x11b0, 0x11b1, 0x11b2, 0x11b3, 0x11b4, 0x11b5, 0x111a, 0x1106, 0x1107,
    0x1108, 0x1121, 0x1109, 0x110a, 0x110b, 0x110c, 0x110d, 0x110e, 0x110f, 0x1110, 0x1111, 0x1112,
    0, 0, 0, 0x1161, 0x1162, 0x1163, 0x1164, 0x1165, 0x1166, 0, 0, 0x1167,
    0x1168, 0x1169, 0x116a, 0x116b, 0x116c, 0, 0, 0x116d, 0x116e, 0x116f, 0x1170, 0x1171,
    0x1172, 0, 0, 0x1173, 0x1174, 0x1175, 0, 0, 0, 0x00a2, 0x00a3, 0x00ac,
    0, 0x00a6, 0x00a5, 0x20a9, 0, 0x2502, 0x2190, 0x2191, 0x2192, 0x2193, 0x25a0, 0x25cb,
    0,
};

static int entity_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const NwEntity *)elem)->name);
}

static const NwEntity *entity_find(const char *name)
{
    return bsearch(name, nw_entities, sizeof(nw_entities) / sizeof(nw_entities[0]),
                   sizeof(nw_entities[0]), entity_cmp);
}

/* ftfy.chardata.WIDTH_MAP; *second receives a second code point (U+FFE3) or 0. */
static uint32_t width_map(uint32_t c, uint32_t *second)
{
    *second = 0;
    if (c == 0x3000)
        return ' ';
    if (c < 0xFF01 || c > 0xFFEF)
        return c;
    if (c <= 0xFF5E)
        return c - 0xFEE0;
    if (c == 0xFFE3) {
        *second = 0x304;
        return ' ';
    }
    const uint16_t d = nw_width_ff5f[c - 0xFF5F];
    return d ? d : c;
}
