/* loop_util.h — helpers shared by tests/train/loop.c and loop_data.c. */
#ifndef NW_LOOP_UTIL_H
#define NW_LOOP_UTIL_H

#include <stddef.h>

#include "gguf.h"
#include "internal.h"
#include "transformer.h"

/* tests/fixtures/<name> */
void loop_fixture_path(char *buf, size_t len, const char *name);
/* Opens a model file (a fixture name or an absolute path) and loads its transformer plan. */
void loop_load_plan(const char *fixture, NwGguf **g, NwNuwa *m);
/* A fresh temporary directory. */
void loop_tmp_path(char *buf, size_t len, const char *tag);
/* Removes a directory of loop_tmp_path with everything in it. */
void loop_rm_tree(const char *dir);
/* tests/fixtures/nuwa_n1.gguf with a tiny BPE tokenizer ("red" is one id, "green" four) and a
 * text vocabulary of 516 ids, written to path (tests/train/loop_data.c). */
void loop_make_tok_model(const char *path);
/* A log that captures into g_loop_log (cleared). */
NwLog loop_log(void);
extern char g_loop_log[8192];

#endif
