/* backends.c — see backends.h. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "backends.h"
#include "internal.h"

static const char *const names[] = {"ref", "cpu-generic", "cpu-avx2", "cuda"};

int tb_count(void)
{
    return (int)(sizeof(names) / sizeof(names[0]));
}

int tb_open(TBackend *b, int i, int threads, size_t scratch)
{
    char msg[320];
    memset(b, 0, sizeof(*b));
    b->name = names[i];
    b->ctx.n_threads = threads;
    switch (i) {
    case 0:
        nw_ops_init_ref(&b->ops);
        break;
    case 1:
        nw_ops_init_cpu(&b->ops, 0);
        break;
    case 2:
        if (!(nw_cpu_flags() & NW_CPU_AVX2)) {
            printf("skipped %s: this CPU has no AVX2+FMA\n", b->name);
            return 1;
        }
        nw_ops_init_cpu(&b->ops, NW_CPU_AVX2);
        break;
    default:
        if (nw_cuda_module_open(&b->mod, &b->api, msg, sizeof(msg)) < 0) {
            printf("skipped %s: %s\n", b->name, msg);
            return 1;
        }
        if (b->api->dev_create(&b->dev, 0, 0, msg, sizeof(msg)) < 0) {
            printf("skipped %s: %s\n", b->name, msg);
            nw_cuda_module_close(&b->mod);
            return 1;
        }
        b->api->ops_init(&b->ops);
        cr_assert_eq(b->api->ctx(b->dev, scratch, &b->ctx), 0, "cuda scratch of %zu floats", scratch);
        b->ctx.xfer = &b->xfer;
        fflush(stdout);
        return 0;
    }
    b->ctx.scratch = nw_alloc((scratch ? scratch : 1) * sizeof(float));
    b->ctx.scratch_len = scratch;
    b->ctx.xfer = &b->xfer;
    cr_assert_not_null(b->ctx.scratch);
    return 0;
}

void tb_close(TBackend *b)
{
    for (int i = 0; i < b->n_bufs; i++)
        b->ops.mem_free(&b->ctx, b->bufs[i]);
    if (b->dev) {
        b->api->dev_destroy(&b->dev);
        nw_cuda_module_close(&b->mod);
    } else {
        nw_free(b->ctx.scratch);
    }
    memset(b, 0, sizeof(*b));
}

void *tb_up(TBackend *b, const void *host, size_t bytes)
{
    cr_assert_lt(b->n_bufs, 64);
    void *p = b->ops.mem_alloc(&b->ctx, bytes ? bytes : 1);
    cr_assert_not_null(p, "%s: cannot allocate %zu bytes", b->name, bytes);
    if (host && bytes)
        b->ops.upload(&b->ctx, p, host, bytes);
    b->bufs[b->n_bufs++] = p;
    return p;
}

void tb_down(TBackend *b, void *host, const void *src, size_t bytes)
{
    b->ops.download(&b->ctx, host, src, bytes);
}

void tb_sync(TBackend *b, const char *what)
{
    char msg[320];
    const int r = b->ops.sync(&b->ctx, msg, sizeof(msg));
    cr_assert_eq(r, 0, "%s on %s: %s", what, b->name, msg);
}
