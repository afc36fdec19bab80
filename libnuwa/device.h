/*
 * device.h — compute-device names as users write them ("cpu", "cuda", "cuda:N"), parsed the
 * same way in every build; a build without CUDA rejects the CUDA names with a clear message.
 */
#ifndef NW_DEVICE_H
#define NW_DEVICE_H

#include <stddef.h>

enum NwDeviceKind {
    NW_DEVICE_CPU = 0,
    NW_DEVICE_CUDA = 1,
};

/* Parses spec: "cpu" -> (CPU, 0); "cuda" -> (CUDA, 0); "cuda:N" -> (CUDA, N), N a decimal
 * number without sign. NULL or "" means "cpu". Returns 0, NUWA_ERR_INVAL for anything else,
 * or NUWA_ERR_UNSUPPORTED for a CUDA name in a build without the CUDA backend; msg (may be
 * NULL) says why. Whether device N exists is the backend's question (nw_cuda_dev_create). */
int nw_device_parse(const char *spec, int *kind, int *index, char *msg, size_t msglen);

#endif
