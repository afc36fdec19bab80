/*
 * tests/libnuwa/device.c — compute-device names (libnuwa/device.c): what parses, what is
 * rejected and how a build without CUDA answers the CUDA names.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "config.h"
#include "device.h"
#include "nuwa.h"

Test(device, parse_cpu)
{
    const char *specs[] = {NULL, "", "cpu"};
    for (int i = 0; i < 3; i++) {
        int kind = -1, index = -1;
        char msg[128];
        cr_expect_eq(nw_device_parse(specs[i], &kind, &index, msg, sizeof(msg)), 0);
        cr_expect_eq(kind, NW_DEVICE_CPU);
        cr_expect_eq(index, 0);
    }
}

Test(device, parse_cuda)
{
    const struct {
        const char *spec;
        int index;
    } ok[] = {{"cuda", 0}, {"cuda:0", 0}, {"cuda:3", 3}, {"cuda:12", 12}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int kind = -1, index = -1;
        char msg[128];
        const int r = nw_device_parse(ok[i].spec, &kind, &index, msg, sizeof(msg));
        if (NUWA_HAVE_CUDA) {
            cr_expect_eq(r, 0, "%s: %s", ok[i].spec, msg);
            cr_expect_eq(kind, NW_DEVICE_CUDA, "%s", ok[i].spec);
            cr_expect_eq(index, ok[i].index, "%s", ok[i].spec);
        } else {
            cr_expect_eq(r, NUWA_ERR_UNSUPPORTED, "%s", ok[i].spec);
            cr_expect(strstr(msg, "without the CUDA backend") != NULL, "%s: %s", ok[i].spec, msg);
        }
    }
}

Test(device, parse_bad)
{
    const char *bad[] = {"gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:+1", "cuda1", "cudaa", "CUDA", "cuda:1x",
                         "cuda:99999999999", " cpu", "cpu:0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int kind = -1, index = -1;
        char msg[128];
        cr_expect_eq(nw_device_parse(bad[i], &kind, &index, msg, sizeof(msg)), NUWA_ERR_INVAL, "'%s'", bad[i]);
        cr_expect(strstr(msg, "unknown device") != NULL, "'%s': %s", bad[i], msg);
        cr_expect_eq(kind, NW_DEVICE_CPU);
    }
    /* NULL outputs and message buffer are allowed */
    cr_expect_eq(nw_device_parse("bogus", NULL, NULL, NULL, 0), NUWA_ERR_INVAL);
}
