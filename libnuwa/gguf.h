/*
 * gguf.h — GGUF v3 reader (untrusted input) and a small writer (tests, benchmarks, tools).
 *
 * The reader maps the file (or borrows a caller buffer) and validates everything before
 * anything is used: magic, version, counts against the file size, every string length,
 * key and value types, array lengths, tensor names (unique), n_dims (1..4), dims (>0, no
 * overflow), types, offsets (aligned, inside the file, non-overlapping is not required),
 * `general.alignment` (power of two). Errors return NUWA_ERR_BAD_MODEL (or NUWA_ERR_IO /
 * NUWA_ERR_NOMEM) and write one line into `err` that says what is wrong and where.
 *
 * Shapes: GGUF stores ne[0] = fastest axis. `shape[]` below is the PyTorch order
 * (outermost first) = ne reversed.
 */
#ifndef NW_GGUF_H
#define NW_GGUF_H

#include <stddef.h>
#include <stdint.h>

enum NwGgufType {
    NW_GGUF_U8 = 0, NW_GGUF_I8 = 1, NW_GGUF_U16 = 2, NW_GGUF_I16 = 3, NW_GGUF_U32 = 4,
    NW_GGUF_I32 = 5, NW_GGUF_F32 = 6, NW_GGUF_BOOL = 7, NW_GGUF_STRING = 8, NW_GGUF_ARRAY = 9,
    NW_GGUF_U64 = 10, NW_GGUF_I64 = 11, NW_GGUF_F64 = 12,
};

/* Tensor element types (ggml numbering); only these are accepted. */
enum NwTensorType {
    NW_TYPE_F32 = 0,
    NW_TYPE_F16 = 1,
    NW_TYPE_I32 = 26,
    NW_TYPE_BF16 = 30,
};

typedef struct NwGgufKV {
    char *key;              /* NUL-terminated copy */
    int type;               /* enum NwGgufType */
    int arr_type;           /* element type when type == NW_GGUF_ARRAY */
    uint64_t n;             /* array length (1 for scalars) */
    const uint8_t *data;    /* scalar / fixed-size array elements (unaligned: use memcpy) */
    char *str;              /* NUL-terminated copy when type == NW_GGUF_STRING */
    char **strs;            /* copies when type == ARRAY of STRING */
} NwGgufKV;

typedef struct NwGgufTensor {
    char *name;
    int type;               /* enum NwTensorType */
    int n_dims;             /* 1..4 */
    int64_t shape[4];       /* PyTorch order; unused entries = 1 */
    uint64_t n_elems;
    uint64_t offset;        /* from the start of the file */
    uint64_t size;          /* bytes */
    const void *data;       /* inside the mapping */
} NwGgufTensor;

typedef struct NwGguf {
    const uint8_t *base;    /* mapping or borrowed buffer */
    size_t size;
    int mapped;             /* base was mmap'ed by nw_gguf_open */
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;   /* start of the tensor data section */
    uint64_t n_kv, n_tensors;
    NwGgufKV *kv;
    NwGgufTensor *tensors;
} NwGguf;

/** Maps and parses a file. Returns 0 or a negative NUWA_ERR_* with a message in err. */
int nw_gguf_open(NwGguf **out, const char *path, char *err, size_t errlen);
/** Parses a caller buffer, which must outlive the returned object. */
int nw_gguf_open_memory(NwGguf **out, const void *buf, size_t size, char *err, size_t errlen);
void nw_gguf_close(NwGguf **g);

const NwGgufKV *nw_gguf_find_kv(const NwGguf *g, const char *key);
const NwGgufTensor *nw_gguf_find_tensor(const NwGguf *g, const char *name);
const char *nw_gguf_type_name(int tensor_type);     /* "F32", ... or "?" */

/* Typed metadata getters: 0 on success; NUWA_ERR_BAD_MODEL with a message if the key is
 * missing or has another type (integers of any width are accepted if the value fits). */
int nw_gguf_get_u32(const NwGguf *g, const char *key, uint32_t *out, char *err, size_t errlen);
int nw_gguf_get_bool(const NwGguf *g, const char *key, int *out, char *err, size_t errlen);
int nw_gguf_get_str(const NwGguf *g, const char *key, const char **out, char *err, size_t errlen);
/* Array of integers or bools of exactly n elements into out[n]. */
int nw_gguf_get_u32_array(const NwGguf *g, const char *key, uint32_t *out, uint64_t n,
                          char *err, size_t errlen);

/* Converts n elements of a tensor (F32/F16/BF16) to float32. */
void nw_tensor_to_f32(const NwGgufTensor *t, float *dst);

/* Half-precision helpers (exact, round-to-nearest-even for the float -> half direction). */
float nw_f16_to_f32(uint16_t h);
uint16_t nw_f32_to_f16(float f);
float nw_bf16_to_f32(uint16_t h);
uint16_t nw_f32_to_bf16(float f);

/* ---- writer ---------------------------------------------------------------------- */
typedef struct NwGgufWriter NwGgufWriter;

NwGgufWriter *nw_gguf_writer_new(void);
void nw_gguf_writer_free(NwGgufWriter **w);
int nw_gguf_writer_add_u32(NwGgufWriter *w, const char *key, uint32_t v);
int nw_gguf_writer_add_bool(NwGgufWriter *w, const char *key, int v);
int nw_gguf_writer_add_str(NwGgufWriter *w, const char *key, const char *v);
int nw_gguf_writer_add_u32_array(NwGgufWriter *w, const char *key, const uint32_t *v, uint64_t n);
int nw_gguf_writer_add_bool_array(NwGgufWriter *w, const char *key, const int *v, uint64_t n);
/* Any scalar type: v points at a value of the matching C type (uint8_t for BOOL, float for
 * F32, ...); for NW_GGUF_STRING v is the NUL-terminated string itself. A u32
 * `general.alignment` (power of two <= 1 MiB) sets the alignment used by the writer. */
int nw_gguf_writer_add_scalar(NwGgufWriter *w, const char *key, int type, const void *v);
/* Array of any non-array element type: v points at n values of the matching C type; for
 * NW_GGUF_STRING v is a `const char *const *`. */
int nw_gguf_writer_add_array(NwGgufWriter *w, const char *key, int elem_type, const void *v,
                             uint64_t n);
/* shape in PyTorch order; data is copied (nbytes must match type and shape; NULL = zeros).
 * Writer functions return 0, NUWA_ERR_INVAL (bad or duplicate key/name, bad type or shape)
 * or NUWA_ERR_NOMEM. */
int nw_gguf_writer_add_tensor(NwGgufWriter *w, const char *name, int type, int n_dims,
                              const int64_t *shape, const void *data);
/* Serialises (alignment 32 unless general.alignment was added; keys and tensors in insertion
 * order, zero padding, none after the last tensor) into a malloc'ed buffer owned by the
 * caller (free()). */
int nw_gguf_writer_to_buffer(NwGgufWriter *w, uint8_t **buf, size_t *size);
/* Writes the file (NUWA_ERR_IO if it cannot be written; a partial file is removed). */
int nw_gguf_writer_save(NwGgufWriter *w, const char *path);

#endif
