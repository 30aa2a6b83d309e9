/*
 * gguf.h: reading and writing GGUF files (v3; v2 also read).
 *
 * The on-disk format, all little-endian:
 *   1. magic "GGUF" (47 47 55 46)
 *   2. version u32: 3 (2 also read; 0, 1, >3 rejected; low 16 bits zero
 *      means a byte-swapped file, rejected with that reason)
 *   3. tensor count u64
 *   4. metadata count u64
 *   5. metadata, each: key (string), value type (i32), value.
 *      string = u64 length + bytes (no NUL).
 *      array  = element type (i32) + count (u64) + elements; arrays may nest.
 *   6. tensor infos, each: name (string), n_dims (u32, 1..4),
 *      ne[n_dims] (i64; ne[0] is the row length, fastest varying),
 *      ggml type (i32), offset (u64, relative to the data section, a multiple
 *      of the alignment).
 *   7. zero padding to the alignment (`general.alignment`, u32, a power of
 *      two, default 32), then the data section.
 *
 * Reader: the file is mmapped read-only; tensor data and metadata strings are
 * pointers into the mapping, never copied (names and keys are copied once as
 * NUL-terminated strings for convenience). Every count, length, offset and
 * size is checked against the bytes that remain, with overflow-safe
 * arithmetic, before it is used, so no allocation is ever larger than the file
 * justifies: a file claiming 2^60 tensors fails at once. A rejected file gets
 * one line naming the file, the byte offset and the reason.
 *
 * Writer: metadata is encoded as it is added; tensors are described up front
 * (so offsets are known) and their bytes are supplied at write time, either
 * from memory or by a callback that fills one tensor at a time (so a
 * multi-gigabyte model never has to be in memory at once). Output goes
 * through a sink; gguf_writer_write_file() writes to a temporary name beside
 * the destination and renames it into place, so a failed write never leaves a
 * half file under the final name.
 */
#ifndef PLUMB_GGUF_H
#define PLUMB_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_VERSION 3
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME 63                 /* ggml's limit on tensor-name bytes */
#define GGUF_MAX_STRING (1ull << 30)     /* ggml's cap on one string, bytes */
#define GGUF_MAX_ARRAY (1ull << 30)      /* ggml's cap on one array, elements */
#define GGUF_MAX_DEPTH 8                 /* deepest nesting of arrays read */

enum gguf_vtype {
    GGUF_VTYPE_U8 = 0,
    GGUF_VTYPE_I8 = 1,
    GGUF_VTYPE_U16 = 2,
    GGUF_VTYPE_I16 = 3,
    GGUF_VTYPE_U32 = 4,
    GGUF_VTYPE_I32 = 5,
    GGUF_VTYPE_F32 = 6,
    GGUF_VTYPE_BOOL = 7,
    GGUF_VTYPE_STRING = 8,
    GGUF_VTYPE_ARRAY = 9,
    GGUF_VTYPE_U64 = 10,
    GGUF_VTYPE_I64 = 11,
    GGUF_VTYPE_F64 = 12,
    GGUF_VTYPE_COUNT
};

/* "u8", "string", "array", ...; "unknown" outside the enum. */
const char *gguf_vtype_name(int vtype);

/* Bytes of one scalar of this type (bool is 1); 0 for string, array, unknown. */
size_t gguf_vtype_size(int vtype);

/*
 * A metadata value, as a view into the mapped file.
 * - scalar: data points at its little-endian bytes (gguf_vtype_size of them).
 * - string: data points at len bytes (not NUL-terminated; may hold NULs).
 * - array:  elem_type, len = element count. For scalar elements, data points
 *   at len contiguous elements. For string or array elements, elems[] holds
 *   one gguf_value per element (owned by the context) and data points at the
 *   first element's encoding.
 * raw/raw_size span the value's whole encoding in the file (after the type
 * tag), which lets a writer copy any value, nested arrays included.
 */
struct gguf_value {
    enum gguf_vtype type;
    enum gguf_vtype elem_type; /* arrays only */
    uint64_t len;              /* string bytes or array elements */
    const uint8_t *data;
    struct gguf_value *elems;  /* arrays of strings or arrays, else NULL */
    const uint8_t *raw;
    size_t raw_size;
};

struct gguf_kv {
    char *key;        /* NUL-terminated copy (a key holding a NUL is rejected) */
    struct gguf_value value;
    uint64_t file_offset; /* where this entry (its key) starts in the file */
};

struct gguf_tensor {
    char *name;               /* NUL-terminated copy */
    uint32_t n_dims;          /* 1..4 */
    int64_t ne[GGUF_MAX_DIMS]; /* ne[i] = 1 for i >= n_dims */
    int type;                 /* ggml type id; dtype_traits(type) != NULL */
    uint64_t offset;          /* from the start of the data section */
    int64_t n_elements;
    size_t size;              /* bytes of data */
    const void *data;         /* into the mapping */
    uint64_t file_offset;     /* where this tensor's info starts in the file */
};

/*
 * An open GGUF file. Zero it before use; gguf_close() on a zeroed or
 * half-opened context is safe. Invariants after a successful open: every
 * tensor's data lies inside the file, is aligned, and overlaps no other
 * tensor; keys and tensor names are unique.
 */
struct gguf_ctx {
    char *path;               /* copy of the name used in messages */
    const uint8_t *base;      /* the file's bytes */
    size_t size;
    bool mapped;              /* base is an mmap (else borrowed memory) */
    uint32_t version;
    uint64_t n_kv;
    struct gguf_kv *kv;
    uint64_t n_tensors;
    struct gguf_tensor *tensors;
    uint32_t alignment;
    size_t data_offset;       /* start of the data section */
    size_t data_size;         /* bytes from data_offset to the end of the last tensor */
};

/*
 * Open and validate `path`. Returns 0, or -1 with err set to
 * "PATH: offset N: reason" (or "PATH: reason" for open/mmap failures).
 */
int gguf_open(struct gguf_ctx *ctx, const char *path, struct plumb_err *err);

/*
 * Validate a GGUF image held in memory (size bytes at buf, borrowed: it must
 * outlive ctx). `name` is used in messages. Same checks as gguf_open.
 */
int gguf_open_memory(struct gguf_ctx *ctx, const void *buf, size_t size,
                     const char *name, struct plumb_err *err);

/* Release everything; safe on a zeroed or failed context. Leaves ctx zeroed. */
void gguf_close(struct gguf_ctx *ctx);

/* Index of key, or -1. */
int64_t gguf_find_key(const struct gguf_ctx *ctx, const char *key);

/* The value of key, or NULL. */
const struct gguf_value *gguf_get(const struct gguf_ctx *ctx, const char *key);

/* Index of the tensor named name, or -1. */
int64_t gguf_find_tensor(const struct gguf_ctx *ctx, const char *name);

/* The tensor named name, or NULL. */
const struct gguf_tensor *gguf_get_tensor(const struct gguf_ctx *ctx, const char *name);

/*
 * Typed reads of a scalar value. Integers convert between widths when the
 * value fits (a u8 read as u32, an i32 of 5 read as u64), and fail with a
 * message otherwise: "KEY: has type string, expected an integer" or
 * "KEY: value -1 does not fit in u32". f32/f64 read as double. Each returns 0
 * or -1 with err set (err names the key, not the file: callers add it).
 */
int gguf_value_u64(const struct gguf_value *v, const char *key, uint64_t *out, struct plumb_err *err);
int gguf_value_i64(const struct gguf_value *v, const char *key, int64_t *out, struct plumb_err *err);
int gguf_value_f64(const struct gguf_value *v, const char *key, double *out, struct plumb_err *err);
int gguf_value_bool(const struct gguf_value *v, const char *key, bool *out, struct plumb_err *err);

/* String value as a view (not NUL-terminated); -1 when not a string. */
int gguf_value_str(const struct gguf_value *v, const char *key, const char **s,
                   size_t *len, struct plumb_err *err);

/* Element i of an array whose elements are strings or arrays (elems[i]), or
 * NULL when out of range or the elements are scalars. */
const struct gguf_value *gguf_value_elem(const struct gguf_value *v, uint64_t i);

/* ---- writing ---- */

/* Receives the output bytes in order. Returns 0, or -1 with err set. */
typedef int (*gguf_sink_fn)(void *sink_ctx, const void *buf, size_t n, struct plumb_err *err);

/* Fills dst (size bytes) with one tensor's data. Returns 0 or -1. */
typedef int (*gguf_fill_fn)(void *fill_ctx, int64_t tensor_index, void *dst,
                            size_t size, struct plumb_err *err);

struct gguf_writer_tensor {
    char *name;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    int type;
    size_t size;
    uint64_t offset;
    const void *data;      /* borrowed; NULL when fill is used */
    gguf_fill_fn fill;
    void *fill_ctx;
};

/*
 * A GGUF file being built. gguf_writer_init() then add metadata and tensors
 * in the order they are to appear, then write. Functions return 0, or -1 with
 * w->err set (a message without a file name); after the first failure the
 * writer refuses further work and write returns that first error.
 */
struct gguf_writer {
    uint8_t *meta;          /* encoded metadata entries */
    size_t meta_len, meta_cap;
    uint64_t n_kv;
    char **keys;            /* for duplicate detection */
    size_t *key_set;        /* hash set over keys[]: index + 1, 0 = empty */
    size_t key_set_mask;
    size_t *name_set;       /* the same over tensors[].name */
    size_t name_set_mask;
    struct gguf_writer_tensor *tensors;
    uint64_t n_tensors, tensors_cap;
    uint32_t alignment;
    uint64_t data_size;     /* running padded size of the data section */
    bool failed;
    struct plumb_err err;
};

void gguf_writer_init(struct gguf_writer *w);
void gguf_writer_free(struct gguf_writer *w);

int gguf_writer_u8(struct gguf_writer *w, const char *key, uint8_t v);
int gguf_writer_i8(struct gguf_writer *w, const char *key, int8_t v);
int gguf_writer_u16(struct gguf_writer *w, const char *key, uint16_t v);
int gguf_writer_i16(struct gguf_writer *w, const char *key, int16_t v);
int gguf_writer_u32(struct gguf_writer *w, const char *key, uint32_t v);
int gguf_writer_i32(struct gguf_writer *w, const char *key, int32_t v);
int gguf_writer_u64(struct gguf_writer *w, const char *key, uint64_t v);
int gguf_writer_i64(struct gguf_writer *w, const char *key, int64_t v);
int gguf_writer_f32(struct gguf_writer *w, const char *key, float v);
int gguf_writer_f64(struct gguf_writer *w, const char *key, double v);
int gguf_writer_bool(struct gguf_writer *w, const char *key, bool v);
int gguf_writer_str(struct gguf_writer *w, const char *key, const char *s);
int gguf_writer_strn(struct gguf_writer *w, const char *key, const char *s, size_t len);

/* Array of n fixed-size scalars of elem_type, host (little-endian) layout. */
int gguf_writer_arr(struct gguf_writer *w, const char *key, enum gguf_vtype elem_type,
                    const void *elems, uint64_t n);
/* Array of n NUL-terminated strings. */
int gguf_writer_arr_str(struct gguf_writer *w, const char *key, const char *const *strs, uint64_t n);

/* A value already encoded in GGUF form (type tag not included), e.g. a
 * reader's value.raw: how nested arrays are written and values copied. */
int gguf_writer_raw(struct gguf_writer *w, const char *key, enum gguf_vtype type,
                    const void *raw, size_t raw_size);

/* general.alignment: sets the key (u32) and the padding used. Must come
 * before the first tensor. */
int gguf_writer_alignment(struct gguf_writer *w, uint32_t alignment);

/* Describe a tensor whose bytes are at data (borrowed until written). size
 * must equal the size its type and shape imply. */
int gguf_writer_tensor(struct gguf_writer *w, const char *name, int type, uint32_t n_dims,
                       const int64_t *ne, const void *data, size_t size);

/* Describe a tensor whose bytes fill() produces at write time. */
int gguf_writer_tensor_fill(struct gguf_writer *w, const char *name, int type, uint32_t n_dims,
                            const int64_t *ne, gguf_fill_fn fill, void *fill_ctx);

/* Emit the whole file to a sink. */
int gguf_writer_write(struct gguf_writer *w, gguf_sink_fn sink, void *sink_ctx, struct plumb_err *err);

/* Emit to path atomically (temporary file in the same folder, fsync, rename).
 * Errors name the path. */
int gguf_writer_write_file(struct gguf_writer *w, const char *path, struct plumb_err *err);

#endif
