/*
 * util.c — logging through the caller's callback and aligned allocation.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void nw_log(const NwLog *log, int level, const char *fmt, ...)
{
    va_list ap;
    if (!log || !log->cb || level > log->level)
        return;
    va_start(ap, fmt);
    log->cb(log->opaque, level, fmt, ap);
    va_end(ap);
}

void *nw_alloc(size_t n)
{
    void *p = NULL;
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - 63)
        return NULL;
    n = (n + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, n))
        return NULL;
    return p;
}

void *nw_calloc(size_t count, size_t size)
{
    size_t n;
    void *p;
    if (nw_mul_size(count, size, &n))
        return NULL;
    p = nw_alloc(n);
    if (p)
        memset(p, 0, n);
    return p;
}

void nw_free(void *p)
{
    free(p);
}
