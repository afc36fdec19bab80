/*
 * tests/libnuwa/cuda_module.c — the CUDA module loader (libnuwa/cuda_module.c): error messages
 * for a missing file and for a file that is not a module, and the emulator module
 * (build/libnuwa-cuda-emu.so, the CUDA backend on the CPU emulator of the kernels) opened,
 * used and closed. `make test` points $NUWA_CUDA_MODULE at the emulator module; without it
 * (a build without CUDA, or the binary run by hand) those tests print why they skip. On a GPU
 * machine bench/gpu.sh runs them with the real module instead, also in its standalone build
 * (tests/cuda/shim/ for Criterion: only the macros the shim has are used here).
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuda_module.h"
#include "nuwa.h"

/* Sets (or with NULL, unsets) NUWA_CUDA_MODULE; returns the old value for restore_env. */
static char *set_env(const char *value)
{
    const char *old = getenv("NUWA_CUDA_MODULE");
    char *saved = old ? strdup(old) : NULL;
    if (value)
        setenv("NUWA_CUDA_MODULE", value, 1);
    else
        unsetenv("NUWA_CUDA_MODULE");
    return saved;
}

static void restore_env(char *saved)
{
    if (saved)
        setenv("NUWA_CUDA_MODULE", saved, 1);
    else
        unsetenv("NUWA_CUDA_MODULE");
    free(saved);
}

/* The module make test gives us, or NULL (after printing why the test skips). */
static const char *test_module(void)
{
    const char *p = getenv("NUWA_CUDA_MODULE");
    if (!p || !*p) {
        printf("skipped: NUWA_CUDA_MODULE is not set (make test sets it to build/libnuwa-cuda-emu.so in CUDA "
               "builds)\n");
        return NULL;
    }
    if (access(p, R_OK)) {
        printf("skipped: NUWA_CUDA_MODULE=%s does not exist (make build/libnuwa-cuda-emu.so)\n", p);
        return NULL;
    }
    return p;
}

static int is_emulator(const char *path)
{
    return strstr(path, "libnuwa-cuda-emu") != NULL;
}

Test(cuda_module, null_args)
{
    const NwCudaApi *api = (const NwCudaApi *)1;
    NwCudaModule *m = NULL;
    char msg[64];
    cr_expect_eq(nw_cuda_module_open(NULL, &api, msg, sizeof(msg)), NUWA_ERR_INVAL);
    cr_expect_null(api);
    nw_cuda_module_close(NULL);
    nw_cuda_module_close(&m);
    cr_expect(!strcmp(nw_cuda_module_path(NULL), ""), "%s", nw_cuda_module_path(NULL));
}

Test(cuda_module, missing_file)
{
    const char *path = "/nonexistent/nuwa-test/libnuwa-cuda.so.0";
    char *saved = set_env(path);
    NwCudaModule *m = (NwCudaModule *)1;
    const NwCudaApi *api = (const NwCudaApi *)1;
    char msg[512];
    const int r = nw_cuda_module_open(&m, &api, msg, sizeof(msg));
    restore_env(saved);
    cr_expect_eq(r, NUWA_ERR_UNSUPPORTED, "%d: %s", r, msg);
    cr_expect_null(m);
    cr_expect_null(api);
    cr_expect(strstr(msg, path) != NULL, "the message names the path: %s", msg);
    cr_expect(strstr(msg, "not found") != NULL, "%s", msg);
    /* dlerror()'s reason, without the path twice */
    cr_expect(strstr(msg, "No such file") != NULL, "%s", msg);
    const char *first = strstr(msg, path);
    cr_expect(first && !strstr(first + 1, path), "the path once: %s", msg);
    /* a small buffer truncates, never overflows */
    char small[16];
    saved = set_env(path);
    cr_expect_eq(nw_cuda_module_open(&m, NULL, small, sizeof(small)), NUWA_ERR_UNSUPPORTED);
    restore_env(saved);
    cr_expect_eq(strlen(small), sizeof(small) - 1);
}

/* An executable and a library that are not modules: clean errors naming them. */
Test(cuda_module, not_a_module)
{
    Dl_info info;
    const char *libc;
    char msg[512];
    NwCudaModule *m = NULL;
    cr_assert(dladdr((void *)&printf, &info) && info.dli_fname && strchr(info.dli_fname, '/'),
              "cannot find libc's path");
    libc = info.dli_fname;
    const char *paths[] = {"/bin/sh", libc, "/etc/passwd"};
    for (int i = 0; i < 3; i++) {
        char *saved = set_env(paths[i]);
        const int r = nw_cuda_module_open(&m, NULL, msg, sizeof(msg));
        restore_env(saved);
        cr_expect_eq(r, NUWA_ERR_UNSUPPORTED, "%s: %d: %s", paths[i], r, msg);
        cr_expect_null(m);
        cr_expect(strstr(msg, paths[i]) != NULL, "%s: %s", paths[i], msg);
        if (paths[i] == libc)
            cr_expect(strstr(msg, "not a libnuwa CUDA module") != NULL, "%s", msg);
    }
}

/* Without NUWA_CUDA_MODULE: the module next to the test binary (CUDA builds), or an error that
 * lists every place looked at. */
Test(cuda_module, default_search)
{
    char *saved = set_env(NULL);
    NwCudaModule *m = NULL;
    const NwCudaApi *api = NULL;
    char msg[2048];
    const int r = nw_cuda_module_open(&m, &api, msg, sizeof(msg));
    restore_env(saved);
    if (r == 0) {
        const char *p = nw_cuda_module_path(m);
        cr_expect(strstr(p, NW_CUDA_MODULE_SONAME) != NULL, "%s", p);
        cr_expect(api != NULL);
        cr_expect_eq(api->abi, NW_CUDA_ABI);
        printf("default search found %s\n", p);
        nw_cuda_module_close(&m);
        cr_expect_null(m);
        return;
    }
    cr_expect_eq(r, NUWA_ERR_UNSUPPORTED, "%d: %s", r, msg);
    cr_expect(strstr(msg, "/" NW_CUDA_MODULE_SONAME ": ") != NULL, "%s", msg);
    /* the bare soname, through the loader's search path, comes last */
    cr_expect(strstr(msg, "; " NW_CUDA_MODULE_SONAME ": ") != NULL, "%s", msg);
}

Test(cuda_module, emulator_module)
{
    const char *path = test_module();
    NwCudaModule *m = NULL;
    const NwCudaApi *api = NULL;
    NwCudaDev *d = NULL;
    NwOps ops;
    NwCtx ctx;
    char msg[512], info[256];
    int n = -1, r;
    if (!path)
        return;
    r = nw_cuda_module_open(&m, &api, msg, sizeof(msg));
    cr_assert_eq(r, 0, "%s", msg);
    cr_assert_not_null(m);
    cr_assert_not_null(api);
    cr_expect(!strcmp(msg, ""), "%s", msg);
    cr_expect_eq(api->abi, NW_CUDA_ABI);
    cr_expect(!strcmp(nw_cuda_module_path(m), path), "%s", nw_cuda_module_path(m));
    cr_assert(api->device_count && api->device_info && api->dev_create && api->dev_destroy && api->dev_describe &&
              api->ctx && api->ops_init);

    r = api->device_count(&n, msg, sizeof(msg));
    if (r == NUWA_ERR_UNSUPPORTED && !is_emulator(path)) {
        printf("skipped the device part: %s\n", msg);
        nw_cuda_module_close(&m);
        return;
    }
    cr_assert_eq(r, 0, "%s", msg);
    if (is_emulator(path))
        cr_expect_eq(n, 1);
    else
        cr_expect(n >= 1);
    cr_expect_eq(api->device_info(0, info, sizeof(info)), 0, "%s", info);
    cr_expect_eq(api->device_info(n, msg, sizeof(msg)), NUWA_ERR_INVAL, "%s", msg);

    r = api->dev_create(&d, 0, 0, msg, sizeof(msg));
    cr_assert_eq(r, 0, "%s", msg);
    cr_assert_not_null(d);
    cr_expect(strstr(api->dev_describe(d), "cuda:0") != NULL, "%s", api->dev_describe(d));
    memset(&ctx, 0, sizeof(ctx));
    cr_expect_eq(api->ctx(d, 1024, &ctx), 0);
    cr_expect(ctx.dev == (void *)d);
    cr_expect(ctx.scratch_len >= 1024);
    memset(&ops, 0, sizeof(ops));
    api->ops_init(&ops);
    cr_expect(ops.matmul != NULL);
    printf("%s: %s\n", nw_cuda_module_path(m), api->dev_describe(d));
    api->dev_destroy(&d);
    cr_expect_null(d);
    api->dev_destroy(&d); /* &NULL: no-op */
    cr_expect_eq(api->dev_create(&d, n, 0, msg, sizeof(msg)), NUWA_ERR_INVAL, "%s", msg);
    cr_expect_null(d);

    nw_cuda_module_close(&m);
    cr_expect_null(m);
    nw_cuda_module_close(&m); /* closing twice is a no-op */
}

/* Two opens are two references to one loaded module: closing one leaves the other usable. */
Test(cuda_module, open_twice)
{
    const char *path = test_module();
    NwCudaModule *a = NULL, *b = NULL;
    const NwCudaApi *api_a = NULL, *api_b = NULL;
    char msg[512];
    int n = 0;
    if (!path)
        return;
    cr_assert_eq(nw_cuda_module_open(&a, &api_a, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(nw_cuda_module_open(&b, &api_b, msg, sizeof(msg)), 0, "%s", msg);
    cr_expect(a != b);
    cr_expect(api_a == api_b, "one module in memory, one table");
    nw_cuda_module_close(&a);
    cr_expect_null(a);
    const int r = api_b->device_count(&n, msg, sizeof(msg));
    cr_expect(r == 0 || (r == NUWA_ERR_UNSUPPORTED && !is_emulator(path)), "%d: %s", r, msg);
    nw_cuda_module_close(&b);
    nw_cuda_module_close(&b);
    cr_expect_null(b);
    /* and it opens again after the last close */
    cr_assert_eq(nw_cuda_module_open(&a, NULL, msg, sizeof(msg)), 0, "%s", msg);
    nw_cuda_module_close(&a);
}

/* A module of another ABI (tests/libnuwa/fake_module/wrong_abi.c): refused, with both ABIs
 * named. */
Test(cuda_module, wrong_abi)
{
    const char *path = getenv("NUWA_TEST_WRONG_ABI_MODULE");
    NwCudaModule *m = NULL;
    const NwCudaApi *api = NULL;
    char msg[512], want[64];
    if (!path || access(path, R_OK)) {
        printf("skipped: NUWA_TEST_WRONG_ABI_MODULE is not set or missing (make test builds "
               "build/test-wrong-abi-module.so and sets it)\n");
        return;
    }
    char *saved = set_env(path);
    const int r = nw_cuda_module_open(&m, &api, msg, sizeof(msg));
    restore_env(saved);
    cr_expect_eq(r, NUWA_ERR_UNSUPPORTED, "%d: %s", r, msg);
    cr_expect_null(m);
    cr_expect_null(api);
    cr_expect(strstr(msg, path) != NULL, "%s", msg);
    snprintf(want, sizeof(want), "module ABI %d, this libnuwa needs ABI %d", NW_CUDA_ABI + 1, NW_CUDA_ABI);
    cr_expect(strstr(msg, want) != NULL, "%s", msg);
}
