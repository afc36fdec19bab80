/*
 * cuda_module.c — finds and opens the CUDA backend module (cuda_module.h). Compiled into every
 * libnuwa, with or without CUDA: the CUDA libraries are dependencies of the module only, so
 * libnuwa itself never maps them, and a build without CUDA can still be pointed at a module
 * with $NUWA_CUDA_MODULE (the tests use that for the emulator module).
 *
 * Search order: $NUWA_CUDA_MODULE alone when set; else the directory of the loaded libnuwa code
 * (libnuwa.so's directory, or the executable's for a static link: a build tree and an install
 * both keep the module next to the library), then the install libdir, then the bare soname
 * through the dynamic loader's search path (LD_LIBRARY_PATH, ld.so.cache).
 *
 * RTLD_LOCAL keeps the module's symbols (and cudart's) out of the global namespace, RTLD_NOW
 * turns a missing CUDA library into an open error here instead of a crash at the first call.
 * No global state: each open is a dlopen, each close a dlclose (the loader counts references).
 */
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
/* Sanitizer builds keep modules mapped after the last close (RTLD_NODELETE): the CUDA runtime
 * and libstdc++ they pull in allocate process-lifetime pools, which LeakSanitizer would report
 * as leaks of an "<unknown module>" once the library is unmapped. */
#ifdef NW_SANITIZE
#define NW_DLOPEN_EXTRA RTLD_NODELETE
#else
#define NW_DLOPEN_EXTRA 0
#endif

#include "cuda_module.h"
#include "internal.h"
#include "nuwa.h"

/* The Makefile passes $(PREFIX)/lib, so `make PREFIX=...` is honoured; config.h's prefix
 * otherwise. */
#ifndef NW_CUDA_MODULE_LIBDIR
#define NW_CUDA_MODULE_LIBDIR NUWA_PREFIX "/lib"
#endif

struct NwCudaModule {
    void *handle;
    const NwCudaApi *api;
    char path[PATH_MAX];
};

/* The candidates tried so far and why each failed, for the error message. */
typedef struct Tried {
    char buf[2048];
    size_t len;
    int found; /* a candidate exists but did not load as a module (or its libraries are missing) */
} Tried;

static void tried_add(Tried *t, const char *path, const char *fmt, ...) NW_PRINTF(3, 4);
static void tried_add(Tried *t, const char *path, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (t->len >= sizeof(t->buf) - 1)
        return;
    n = snprintf(t->buf + t->len, sizeof(t->buf) - t->len, "%s%s: ", t->len ? "; " : "", path);
    if (n > 0)
        t->len = NW_MIN(t->len + (size_t)n, sizeof(t->buf) - 1);
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = NW_MIN(t->len + (size_t)n, sizeof(t->buf) - 1);
}

/* dlerror() usually starts with the path ("/x/m.so: cannot open shared object file: ..."); the
 * message names it already. */
static const char *dl_reason(const char *err, const char *path)
{
    const size_t n = strlen(path);
    if (!err)
        return "unknown dlopen error";
    if (!strncmp(err, path, n) && err[n] == ':' && err[n + 1] == ' ')
        return err + n + 2;
    return err;
}

/* Loads one candidate into m: 0, or -1 with the reason added to t. */
static int try_load(NwCudaModule *m, const char *path, Tried *t)
{
    NwCudaModuleApiFn fn;
    const NwCudaApi *api;
    struct link_map *lm = NULL;
    void *h, *sym;

    (void)dlerror();
    if (!(h = dlopen(path, RTLD_NOW | RTLD_LOCAL | NW_DLOPEN_EXTRA))) {
        tried_add(t, path, "%s", dl_reason(dlerror(), path));
        /* the file is there: a wrong file or missing CUDA libraries, not a missing module */
        if (strchr(path, '/') && !access(path, F_OK))
            t->found = 1;
        return -1;
    }
    t->found = 1;
    sym = dlsym(h, NW_CUDA_MODULE_SYMBOL);
    if (!sym) {
        tried_add(t, path, "no %s symbol (not a libnuwa CUDA module)", NW_CUDA_MODULE_SYMBOL);
        dlclose(h);
        return -1;
    }
    /* object to function pointer, as POSIX allows for dlsym's result */
    memcpy(&fn, &sym, sizeof(fn));
    api = fn(NW_CUDA_ABI);
    if (!api || api->abi != NW_CUDA_ABI) {
        if (api)
            tried_add(t, path, "module ABI %d, this libnuwa needs ABI %d", api->abi, NW_CUDA_ABI);
        else
            tried_add(t, path, "the module does not offer ABI %d, which this libnuwa needs", NW_CUDA_ABI);
        dlclose(h);
        return -1;
    }
    m->handle = h;
    m->api = api;
    /* the file the loader picked: for the bare soname, the full path it found */
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0])
        path = lm->l_name;
    snprintf(m->path, sizeof(m->path), "%s", path);
    return 0;
}

/* The directory of the file holding libnuwa's code: libnuwa.so, or the executable when libnuwa
 * is linked statically (its link map has an empty name). 0, or -1 when it cannot be told. */
static int self_dir(char *dir, size_t len)
{
    Dl_info info;
    struct link_map *lm = NULL;
    char exe[PATH_MAX];
    const char *file = NULL, *slash;
    size_t n;

    if (dladdr1((const void *)&nw_cuda_module_open, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm && lm->l_name &&
        lm->l_name[0])
        file = lm->l_name;
    if (!file) {
        const ssize_t r = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (r <= 0)
            return -1;
        exe[r] = 0;
        file = exe;
    }
    if (!(slash = strrchr(file, '/')))
        return -1;
    n = slash == file ? 1 : (size_t)(slash - file);
    if (n >= len)
        return -1;
    memcpy(dir, file, n);
    dir[n] = 0;
    return 0;
}

int nw_cuda_module_open(NwCudaModule **out, const NwCudaApi **api, char *msg, size_t msglen)
{
    NwCudaModule *m;
    Tried t;
    char dir[PATH_MAX], cand[PATH_MAX + sizeof(NW_CUDA_MODULE_SONAME) + 1];
    const char *env = getenv("NUWA_CUDA_MODULE");
    int ok = 0;

    if (msg && msglen)
        msg[0] = 0;
    if (api)
        *api = NULL;
    if (!out)
        return NUWA_ERR_INVAL;
    *out = NULL;
    if (!(m = nw_calloc(1, sizeof(*m)))) {
        if (msg && msglen)
            snprintf(msg, msglen, "out of host memory");
        return NUWA_ERR_NOMEM;
    }
    memset(&t, 0, sizeof(t));
    if (env && *env) {
        /* an explicit choice: no fallback that could load a different module silently */
        ok = try_load(m, env, &t) == 0;
    } else {
        int have_dir = self_dir(dir, sizeof(dir)) == 0;
        if (have_dir) {
            snprintf(cand, sizeof(cand), "%s/%s", dir, NW_CUDA_MODULE_SONAME);
            ok = try_load(m, cand, &t) == 0;
        }
        if (!ok && (!have_dir || strcmp(dir, NW_CUDA_MODULE_LIBDIR))) {
            snprintf(cand, sizeof(cand), "%s/%s", NW_CUDA_MODULE_LIBDIR, NW_CUDA_MODULE_SONAME);
            ok = try_load(m, cand, &t) == 0;
        }
        if (!ok)
            ok = try_load(m, NW_CUDA_MODULE_SONAME, &t) == 0;
    }
    if (!ok) {
        if (msg && msglen)
            snprintf(msg, msglen, "CUDA backend module %s (tried %s)", t.found ? "not usable" : "not found", t.buf);
        nw_free(m);
        return NUWA_ERR_UNSUPPORTED;
    }
    *out = m;
    if (api)
        *api = m->api;
    return 0;
}

const char *nw_cuda_module_path(const NwCudaModule *m)
{
    return m ? m->path : "";
}

void nw_cuda_module_close(NwCudaModule **m)
{
    if (!m || !*m)
        return;
    dlclose((*m)->handle);
    nw_free(*m);
    *m = NULL;
}
