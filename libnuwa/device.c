/*
 * device.c — parses compute-device names (device.h). Pure string work: no CUDA call, so it
 * behaves the same with and without a GPU.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "device.h"
#include "internal.h"

int nw_device_parse(const char *spec, int *kind, int *index, char *msg, size_t msglen)
{
    long n = 0;
    const char *p;
    if (msg && msglen)
        msg[0] = 0;
    if (kind)
        *kind = NW_DEVICE_CPU;
    if (index)
        *index = 0;
    if (!spec || !*spec || !strcmp(spec, "cpu"))
        return 0;
    if (strncmp(spec, "cuda", 4) || (spec[4] && spec[4] != ':'))
        goto bad;
    if (spec[4] == ':') {
        p = spec + 5;
        if (!*p)
            goto bad;
        for (; *p; p++) {
            if (*p < '0' || *p > '9' || n > (INT_MAX - 9) / 10)
                goto bad;
            n = n * 10 + (*p - '0');
        }
    }
    if (!NUWA_HAVE_CUDA) {
        if (msg && msglen)
            snprintf(msg, msglen, "device '%s': this libnuwa was built without the CUDA backend (use cpu)", spec);
        return NUWA_ERR_UNSUPPORTED;
    }
    if (kind)
        *kind = NW_DEVICE_CUDA;
    if (index)
        *index = (int)n;
    return 0;
bad:
    if (msg && msglen)
        snprintf(msg, msglen, "unknown device '%s' (cpu, cuda, cuda:N)", spec);
    return NUWA_ERR_INVAL;
}
