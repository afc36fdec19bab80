/*
 * tokenizer.h — the text tokenizer of nuwa-pytorch 0.7.8 (OpenAI CLIP "simple tokenizer":
 * ftfy + HTML unescape + whitespace clean + lowercase + regex pre-tokenizer + byte-level BPE),
 * docs/MODEL.md §6. The merges come from the model file (docs/FORMAT.md, `nuwa.tokenizer.*`).
 *
 * Thread-safety: an NwTokenizer is immutable after nw_tokenizer_load; any number of threads
 * may call nw_tokenizer_encode / nw_tokenizer_decode on the same tokenizer at once (each call
 * allocates its own working memory).
 */
#ifndef NW_TOKENIZER_H
#define NW_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"
#include "internal.h"

typedef struct NwTokenizer NwTokenizer;

/** Value of `nuwa.tokenizer.model` that this tokenizer implements. */
#define NW_TOKENIZER_MODEL "clip-bpe"
/** Most merges accepted in a model file (the CLIP vocabulary has 48,894). */
#define NW_TOKENIZER_MAX_MERGES (1 << 22)

/**
 * Builds the tokenizer from `nuwa.tokenizer.model` (must be "clip-bpe") and
 * `nuwa.tokenizer.merges` (array of strings, each `left SPACE right`, both sides non-empty
 * and made of byte symbols). The vocabulary is 256 byte symbols, the same 256 with `</w>`,
 * one entry per merge, then `<|startoftext|>` and `<|endoftext|>` (n_vocab = n_merges + 514).
 * The GGUF is only read during the call.
 *
 * @return 0, NUWA_ERR_INVAL (NULL argument), NUWA_ERR_BAD_MODEL (missing or malformed key;
 *         the log says which merge and why), NUWA_ERR_NOMEM
 */
int nw_tokenizer_load(NwTokenizer **out, const NwGguf *g, const NwLog *log);

/** Frees the tokenizer and sets *t = NULL; t == NULL or *t == NULL is a no-op. */
void nw_tokenizer_free(NwTokenizer **t);

/** Number of ids (49,408 for the CLIP merges); ids are 0 .. vocab_size-1. */
int nw_tokenizer_vocab_size(const NwTokenizer *t);
/** Ids of `<|startoftext|>` (vocab_size-2) and `<|endoftext|>` (vocab_size-1). */
int nw_tokenizer_sot_id(const NwTokenizer *t);
int nw_tokenizer_eot_id(const NwTokenizer *t);

/**
 * Tokenizes NUL-terminated UTF-8 text exactly like SimpleTokenizer.encode (no start/end
 * tokens are added), writing at most max_ids ids. Over-long text is cut to max_ids ids when
 * `truncate` is set (the reference's `tokenize(..., truncate_text=True)`), and is an error
 * otherwise. ids may be NULL when max_ids == 0.
 *
 * *n_ids receives the number of ids written; when the text is too long (and !truncate) it
 * receives the full token count instead, so the caller can size a buffer.
 *
 * @return 0, NUWA_ERR_INVAL (NULL argument, negative max_ids, invalid UTF-8 — the log names
 *         the byte offset —, or more than max_ids tokens without truncate — the log gives
 *         the count), NUWA_ERR_NOMEM
 */
int nw_tokenizer_encode(const NwTokenizer *t, const char *utf8, int32_t *ids, int max_ids,
                        int *n_ids, int truncate, const NwLog *log);

/**
 * Debug helper: turns ids back into text (symbols → bytes, `</w>` → space, special tokens
 * as their names; bytes that do not form valid UTF-8 become U+FFFD, one per byte).
 * Unlike the reference's decode it filters no ids. Writes at most cap-1 bytes plus a NUL
 * (snprintf-like) and sets *len to the full length, NUL excluded. buf may be NULL if cap == 0.
 *
 * @return 0, NUWA_ERR_INVAL (NULL argument or id out of range), NUWA_ERR_NOMEM
 */
int nw_tokenizer_decode(const NwTokenizer *t, const int32_t *ids, int n_ids, char *buf,
                        size_t cap, size_t *len, const NwLog *log);

#endif
