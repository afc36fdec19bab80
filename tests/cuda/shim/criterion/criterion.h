/*
 * criterion.h (shim) — the few Criterion macros that tests/cuda/ops_cuda.c uses, and a main,
 * for the standalone GPU check of bench/gpu.sh on machines without Criterion (the CUDA images
 * of GPU hosts rarely have it). The normal builds use the real Criterion; this directory is
 * only on the include path of that standalone build.
 *
 * Tests run one after another in this process (no fork): a failed cr_assert or a skip returns
 * to the runner through longjmp; a crash ends the run. Options: --filter PATTERN (fnmatch on
 * "suite/name"), and Criterion's -j1 / --verbose, accepted and ignored. Exit status 1 if a test
 * failed.
 */
#ifndef NW_CRITERION_SHIM_H
#define NW_CRITERION_SHIM_H

#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct NwCrTest {
    const char *suite, *name;
    void (*fn)(void);
} NwCrTest;

static NwCrTest nw_cr_tests[256];
static int nw_cr_ntests;
static jmp_buf nw_cr_jmp;
static int nw_cr_failed;

static void nw_cr_register(const char *suite, const char *name, void (*fn)(void))
{
    if (nw_cr_ntests < (int)(sizeof(nw_cr_tests) / sizeof(nw_cr_tests[0])))
        nw_cr_tests[nw_cr_ntests++] = (NwCrTest){suite, name, fn};
}

static void nw_cr_fail(const char *file, int line, const char *text, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "[----] %s:%d: Assertion failed: ", file, line);
    if (fmt && *fmt) {
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    } else {
        fputs(text, stderr);
    }
    fputc('\n', stderr);
    nw_cr_failed = 1;
}

#define Test(suite, name)                                                   \
    static void suite##_##name(void);                                       \
    __attribute__((constructor)) static void nw_cr_reg_##suite##_##name(void) \
    {                                                                       \
        nw_cr_register(#suite, #name, suite##_##name);                      \
    }                                                                       \
    static void suite##_##name(void)

#define NW_CR_CHECK(fatal, cond, text, ...)                       \
    do {                                                          \
        if (!(cond)) {                                            \
            nw_cr_fail(__FILE__, __LINE__, text, __VA_ARGS__);    \
            if (fatal)                                            \
                longjmp(nw_cr_jmp, 1);                            \
        }                                                         \
    } while (0)

#define cr_assert(cond, ...) NW_CR_CHECK(1, cond, #cond, "" __VA_ARGS__)
#define cr_expect(cond, ...) NW_CR_CHECK(0, cond, #cond, "" __VA_ARGS__)
#define cr_assert_eq(a, b, ...) NW_CR_CHECK(1, (a) == (b), #a " == " #b, "" __VA_ARGS__)
#define cr_expect_eq(a, b, ...) NW_CR_CHECK(0, (a) == (b), #a " == " #b, "" __VA_ARGS__)
#define cr_expect_neq(a, b, ...) NW_CR_CHECK(0, (a) != (b), #a " != " #b, "" __VA_ARGS__)
#define cr_assert_geq(a, b, ...) NW_CR_CHECK(1, (a) >= (b), #a " >= " #b, "" __VA_ARGS__)
#define cr_expect_gt(a, b, ...) NW_CR_CHECK(0, (a) > (b), #a " > " #b, "" __VA_ARGS__)
#define cr_assert_null(p, ...) NW_CR_CHECK(1, (p) == NULL, #p " == NULL", "" __VA_ARGS__)
#define cr_expect_null(p, ...) NW_CR_CHECK(0, (p) == NULL, #p " == NULL", "" __VA_ARGS__)
#define cr_assert_not_null(p, ...) NW_CR_CHECK(1, (p) != NULL, #p " != NULL", "" __VA_ARGS__)
#define cr_skip_test(...) longjmp(nw_cr_jmp, 2)
#define cr_log_info(...) (printf(__VA_ARGS__), putchar('\n'))
#define cr_log_warn(...) (printf(__VA_ARGS__), putchar('\n'))

/* Runs one test: 0 when it returned, 1 after a failed assertion, 2 when it skipped itself. */
static int nw_cr_run(const NwCrTest *t)
{
    const int r = setjmp(nw_cr_jmp);
    if (r == 0)
        t->fn();
    return r;
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    int pass = 0, fail = 0, skip = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            filter = argv[++i];
    for (int i = 0; i < nw_cr_ntests; i++) {
        const NwCrTest *t = &nw_cr_tests[i];
        char full[256];
        snprintf(full, sizeof(full), "%s/%s", t->suite, t->name);
        if (filter && fnmatch(filter, full, 0))
            continue;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        nw_cr_failed = 0;
        const int r = nw_cr_run(t);
        clock_gettime(CLOCK_MONOTONIC, &b);
        const double s = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
        const char *st = r == 2 ? "SKIP" : nw_cr_failed ? "FAIL" : "PASS";
        printf("[%s] %s::%s: (%.2fs)\n", st, t->suite, t->name, s);
        fflush(stdout);
        if (r == 2)
            skip++;
        else if (nw_cr_failed)
            fail++;
        else
            pass++;
    }
    printf("[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Skipped: %d\n", pass + fail, pass, fail, skip);
    return fail ? 1 : 0;
}

#endif
