/*
 * internal.h — helpers shared by every libnuwa source file: logging through the caller's
 * callback, checked allocation, small math helpers. Nothing here is exported.
 */
#ifndef NW_INTERNAL_H
#define NW_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "nuwa.h"

/** Where a handle's messages go. A zeroed NwLog is silent. */
typedef struct NwLog {
    NuwaLogFn cb;
    void *opaque;
    int level;
} NwLog;

#if defined(__GNUC__)
#define NW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NW_PRINTF(a, b)
#endif

void nw_log(const NwLog *log, int level, const char *fmt, ...) NW_PRINTF(3, 4);

#define NW_MIN(a, b) ((a) < (b) ? (a) : (b))
#define NW_MAX(a, b) ((a) > (b) ? (a) : (b))

/** 64-byte aligned allocation; free with nw_free. Returns NULL on failure or n == 0 overflow. */
void *nw_alloc(size_t n);
void *nw_calloc(size_t count, size_t size);
void nw_free(void *p);

/** Multiplies sizes; returns 0 and sets *out, or -1 on overflow. */
static inline int nw_mul_size(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

#endif
