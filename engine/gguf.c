/*
 * gguf.c: the GGUF reader and writer. The format and the contract are in
 * gguf.h; this file is how.
 *
 * Reader. One pass over the bytes with a cursor (struct gguf_rd) that knows
 * how many bytes remain; every field goes through a function that checks the
 * bytes are there before it reads them. No count is trusted: before an array
 * of entries is allocated, the count times the smallest encoding one entry can
 * have must fit in the bytes that remain, so memory stays a small multiple of
 * the file size whatever the file claims. Tensor data and string values are
 * never copied; keys and tensor names are copied once, NUL-terminated.
 *
 * Where plumb's reader differs from ggml's (facts from ggml's src/gguf.cpp):
 * - stricter: n_dims 0, a dimension of 0 and an empty key are rejected (ggml
 *   accepts the first two; its kv constructor asserts on the third);
 * - looser: nested arrays are read (the spec allows them, ggml refuses them);
 *   a tensor's offset need only be aligned, inside the file and clear of the
 *   others (ggml demands exactly the running padded sum, the layout its own
 *   writer and this one produce); the zero padding after the last tensor may be missing
 *   (llama.cpp's mmap loader does not need it either), and so may the padding
 *   after the tensor infos of a file that has no tensors (ggml does not seek
 *   there when there are none);
 * - the same: a bool is one byte and any non-zero byte is true (ggml reads an
 *   int8 and tests it against 0); strings over 1 GiB and arrays over 2^30
 *   elements are refused (ggml has since lowered both caps to 64 Mi).
 * - no upper bound on general.alignment (ggml caps it at 1 MiB): nothing here
 *   is allocated from it, and a data section it pushes past the end of the
 *   file is rejected like any other.
 * The mapping is MAP_PRIVATE and read-only; a file truncated by someone else
 * while it is mapped raises SIGBUS on access, which no reader can prevent.
 *
 * Writer. Metadata is encoded into one growing buffer as it is added; tensors
 * are recorded with their offsets (the running sum of sizes, each padded to
 * the alignment) and their bytes are fetched only while writing. Like ggml's
 * writer, it pads after every tensor, the last included, so the file size is
 * a multiple of the alignment. It writes exactly the keys it is given (adding
 * general.quantization_version is the caller's business); a u32
 * general.alignment, however it is added, also sets the padding.
 */
#include "gguf.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtype.h"
#include "outfile.h"

#define GGUF_KEY_ALIGNMENT "general.alignment"

/* Smallest encodings, used to bound counts before anything is allocated. */
#define GGUF_HEADER_BYTES 24     /* magic, version, tensor count, kv count */
#define GGUF_MIN_KV_BYTES 14     /* key length, 1-byte key, type, u8 value */
#define GGUF_MIN_TENSOR_BYTES 32 /* name length, empty name, n_dims, 1 dim, type, offset */
#define GGUF_MIN_STRING_ELEM 8   /* a string element: its length */
#define GGUF_MIN_ARRAY_ELEM 12   /* an array element: element type and count */

static const char *const gguf_vtype_names[GGUF_VTYPE_COUNT] = {
    [GGUF_VTYPE_U8] = "u8",     [GGUF_VTYPE_I8] = "i8",         [GGUF_VTYPE_U16] = "u16",
    [GGUF_VTYPE_I16] = "i16",   [GGUF_VTYPE_U32] = "u32",       [GGUF_VTYPE_I32] = "i32",
    [GGUF_VTYPE_F32] = "f32",   [GGUF_VTYPE_BOOL] = "bool",     [GGUF_VTYPE_STRING] = "string",
    [GGUF_VTYPE_ARRAY] = "array", [GGUF_VTYPE_U64] = "u64",     [GGUF_VTYPE_I64] = "i64",
    [GGUF_VTYPE_F64] = "f64",
};

static const size_t gguf_vtype_sizes[GGUF_VTYPE_COUNT] = {
    [GGUF_VTYPE_U8] = 1,  [GGUF_VTYPE_I8] = 1,  [GGUF_VTYPE_U16] = 2, [GGUF_VTYPE_I16] = 2,
    [GGUF_VTYPE_U32] = 4, [GGUF_VTYPE_I32] = 4, [GGUF_VTYPE_F32] = 4, [GGUF_VTYPE_BOOL] = 1,
    [GGUF_VTYPE_U64] = 8, [GGUF_VTYPE_I64] = 8, [GGUF_VTYPE_F64] = 8,
};

const char *gguf_vtype_name(int vtype)
{
    if (vtype < 0 || vtype >= GGUF_VTYPE_COUNT)
        return "unknown";
    return gguf_vtype_names[vtype];
}

size_t gguf_vtype_size(int vtype)
{
    if (vtype < 0 || vtype >= GGUF_VTYPE_COUNT)
        return 0;
    return gguf_vtype_sizes[vtype];
}

/* ---- little-endian bytes ---- */

static uint64_t gguf_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static void gguf_put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)(v & 0xff);
}

/* ---- shapes, shared by reader and writer ---- */

/* a * b for a, b >= 1; false when it overflows int64. */
static bool gguf_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    if (a > INT64_MAX / b)
        return false;
    *out = a * b;
    return true;
}

/* Bytes of a tensor of a known type whose dims are >= 1 and whose row length
 * is a whole number of blocks; false when it overflows size_t. */
static bool gguf_tensor_bytes(int type, const int64_t ne[GGUF_MAX_DIMS], size_t *size)
{
    size_t row;
    if (!dtype_row_size(type, ne[0], &row))
        return false;
    size_t total = row;
    for (int j = 1; j < GGUF_MAX_DIMS; j++) {
        if ((uint64_t)ne[j] > SIZE_MAX / total)
            return false;
        total *= (size_t)ne[j];
    }
    *size = total;
    return true;
}

/* Bytes of padding after pos up to a multiple of align (a power of two). */
static uint64_t gguf_pad(uint64_t pos, uint32_t align)
{
    return (align - (pos & (align - 1))) & (align - 1);
}

static bool gguf_is_pow2(uint64_t a)
{
    return a != 0 && (a & (a - 1)) == 0;
}

/* ---- reader ---- */

/*
 * A cursor over untrusted bytes. Invariant: pos <= size. item names what is
 * being read ("key 'general.name': ", "tensor 'output.weight': ") and prefixes
 * every reason.
 */
struct gguf_rd {
    const uint8_t *base;
    size_t size;
    size_t pos;
    const char *path;
    struct plumb_err *err;
    char item[160];
};

static int rd_fail(const struct gguf_rd *r, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets "PATH: offset OFF: ITEM REASON"; returns -1. */
static int rd_fail(const struct gguf_rd *r, size_t off, const char *fmt, ...)
{
    char reason[PLUMB_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return err_set(r->err, "%s: offset %zu: %s%s", r->path, off, r->item, reason);
}

/* s[0..len) as a printable C string in dst: control bytes become '?', and a
 * name too long for dst is cut and ends in "...". */
static void gguf_shown(char *dst, size_t cap, const uint8_t *s, size_t len)
{
    size_t max = cap - 1, n = 0;
    if (len > max)
        max -= 3;
    for (size_t i = 0; i < len && n < max; i++)
        dst[n++] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char)s[i];
    if (len > n) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
}

/* item = "WHAT 'NAME': ", the name shortened and with control bytes shown as
 * '?', so that a hostile key cannot break the one-line message. */
static void rd_item_name(struct gguf_rd *r, const char *what, const uint8_t *s, size_t len)
{
    char shown[100];
    gguf_shown(shown, sizeof shown, s, len);
    snprintf(r->item, sizeof r->item, "%s '%s': ", what, shown);
}

static size_t rd_left(const struct gguf_rd *r)
{
    return r->size - r->pos;
}

/* Check that n bytes of `what` remain at the cursor. */
static int rd_need(const struct gguf_rd *r, uint64_t n, const char *what)
{
    if (n > rd_left(r))
        return rd_fail(r, r->pos, "truncated: %s needs %" PRIu64 " bytes, %zu remain", what,
                       n, rd_left(r));
    return 0;
}

static int rd_uint(struct gguf_rd *r, size_t n, const char *what, uint64_t *v)
{
    if (rd_need(r, n, what))
        return -1;
    *v = gguf_le(r->base + r->pos, n);
    r->pos += n;
    return 0;
}

static int rd_u32(struct gguf_rd *r, const char *what, uint32_t *v)
{
    uint64_t u;
    if (rd_uint(r, 4, what, &u))
        return -1;
    *v = (uint32_t)u;
    return 0;
}

static int rd_i32(struct gguf_rd *r, const char *what, int32_t *v)
{
    uint64_t u;
    if (rd_uint(r, 4, what, &u))
        return -1;
    *v = (int32_t)(uint32_t)u; /* two's complement, as on disk */
    return 0;
}

static int rd_u64(struct gguf_rd *r, const char *what, uint64_t *v)
{
    return rd_uint(r, 8, what, v);
}

/* A string: u64 length, then that many bytes, which *s points at. */
static int rd_str(struct gguf_rd *r, const char *what, const uint8_t **s, uint64_t *len)
{
    size_t at = r->pos;
    if (rd_left(r) < 8) { /* the name of the field is built only when needed */
        char field[64];
        snprintf(field, sizeof field, "%s length", what);
        return rd_need(r, 8, field);
    }
    uint64_t n;
    if (rd_u64(r, "string length", &n))
        return -1;
    if (n > GGUF_MAX_STRING)
        return rd_fail(r, at, "%s length %" PRIu64 " exceeds the %llu-byte (1 GiB) limit", what, n,
                       GGUF_MAX_STRING);
    if (n > rd_left(r))
        return rd_fail(r, at, "%s length %" PRIu64 " exceeds the %zu bytes that remain", what, n,
                       rd_left(r));
    *s = r->base + r->pos;
    *len = n;
    r->pos += (size_t)n;
    return 0;
}

static void gguf_value_free(struct gguf_value *v)
{
    if (v->elems) {
        for (uint64_t i = 0; i < v->len; i++)
            gguf_value_free(&v->elems[i]);
        free(v->elems);
    }
    memset(v, 0, sizeof *v);
}

/*
 * Parse one value of `type` (already checked to be a known type) at the
 * cursor. depth counts the arrays that enclose it. out may be NULL: then the
 * encoding is only validated and nothing is allocated. On failure *out may be
 * half filled; gguf_value_free() releases it.
 */
static int rd_value(struct gguf_rd *r, int type, unsigned depth, struct gguf_value *out)
{
    size_t start = r->pos;
    if (out) {
        out->type = (enum gguf_vtype)type;
        out->raw = r->base + start;
    }
    size_t size = gguf_vtype_size(type);
    if (size) {
        if (rd_left(r) < size) {
            char what[32];
            snprintf(what, sizeof what, "%s value", gguf_vtype_name(type));
            return rd_need(r, size, what);
        }
        if (out) {
            out->data = r->base + r->pos;
            out->len = 1;
        }
        r->pos += size;
    } else if (type == GGUF_VTYPE_STRING) {
        const uint8_t *s;
        uint64_t n;
        if (rd_str(r, "string", &s, &n))
            return -1;
        if (out) {
            out->data = s;
            out->len = n;
        }
    } else {
        if (depth >= GGUF_MAX_DEPTH)
            return rd_fail(r, start, "array nested %u deep, at most %d levels allowed", depth + 1,
                           GGUF_MAX_DEPTH);
        size_t et_at = r->pos;
        int32_t et;
        if (rd_i32(r, "array element type", &et))
            return -1;
        if (et < 0 || et >= GGUF_VTYPE_COUNT)
            return rd_fail(r, et_at, "array element type %" PRId32 " is unknown, expected 0..%d",
                           et, GGUF_VTYPE_COUNT - 1);
        size_t n_at = r->pos;
        uint64_t n;
        if (rd_u64(r, "array length", &n))
            return -1;
        if (n > GGUF_MAX_ARRAY)
            return rd_fail(r, n_at, "array of %" PRIu64 " elements exceeds the limit of %llu (2^30)",
                           n, GGUF_MAX_ARRAY);
        size_t esize = gguf_vtype_size(et);
        uint64_t min = esize ? esize
                             : (et == GGUF_VTYPE_STRING ? GGUF_MIN_STRING_ELEM : GGUF_MIN_ARRAY_ELEM);
        if (n * min > rd_left(r)) /* n <= 2^30 and min <= 12: no overflow */
            return rd_fail(r, n_at,
                           "array of %" PRIu64 " %s elements needs at least %" PRIu64
                           " bytes, %zu remain",
                           n, gguf_vtype_name(et), n * min, rd_left(r));
        if (out) {
            out->elem_type = (enum gguf_vtype)et;
            out->len = n;
            out->data = r->base + r->pos;
        }
        if (esize) {
            r->pos += (size_t)(n * esize);
        } else {
            if (out && n) {
                out->elems = calloc((size_t)n, sizeof *out->elems);
                if (!out->elems) {
                    out->len = 0;
                    return rd_fail(r, start, "out of memory for %" PRIu64 " array elements", n);
                }
            }
            for (uint64_t i = 0; i < n; i++)
                if (rd_value(r, et, depth + 1, out ? &out->elems[i] : NULL))
                    return -1;
        }
    }
    if (out)
        out->raw_size = r->pos - start;
    return 0;
}

/* A name or an offset, and the index of the entry it came from, for sorting. */
struct gguf_sortent {
    const char *name;
    uint64_t key;
    uint64_t idx;
};

static int gguf_cmp_name(const void *a, const void *b)
{
    const struct gguf_sortent *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static int gguf_cmp_key(const void *a, const void *b)
{
    const struct gguf_sortent *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Among n entries of `stride` bytes at `array`, each with a `char *` name at
 * byte name_off, find the earliest (in file order) whose name an earlier entry
 * already has: *dup is its index, *first the original's; *dup = n when all
 * names are unique. Sorting keeps this O(n log n) whatever the file holds.
 * Returns -1 on allocation failure.
 */
static int gguf_find_dup(const void *array, size_t stride, size_t name_off, uint64_t n,
                         uint64_t *dup, uint64_t *first)
{
    *dup = n;
    if (n < 2)
        return 0;
    struct gguf_sortent *e = malloc((size_t)n * sizeof *e);
    if (!e)
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        const char *entry = (const char *)array + i * stride;
        memcpy(&e[i].name, entry + name_off, sizeof e[i].name);
        e[i].key = 0;
        e[i].idx = i;
    }
    qsort(e, (size_t)n, sizeof *e, gguf_cmp_name);
    /* Equal names sort together by index: a run's first entry is the
     * original, the rest are copies. */
    uint64_t run = 0;
    for (uint64_t i = 1; i < n; i++) {
        if (strcmp(e[run].name, e[i].name) != 0) {
            run = i;
        } else if (e[i].idx < *dup) {
            *dup = e[i].idx;
            *first = e[run].idx;
        }
    }
    free(e);
    return 0;
}

/* File position of tensor t's offset field (its info is validated). */
static size_t gguf_offset_field_at(const struct gguf_tensor *t)
{
    return (size_t)t->file_offset + 8 + strlen(t->name) + 4 + 8 * (size_t)t->n_dims + 4;
}

static int rd_header(struct gguf_rd *r, struct gguf_ctx *ctx, uint64_t *n_tensors, uint64_t *n_kv)
{
    const uint8_t *m = r->base;
    if (r->size == 0)
        return rd_fail(r, 0, "empty file, expected a GGUF header");
    if (rd_need(r, 4, "magic"))
        return -1;
    if (memcmp(m, GGUF_MAGIC, 4) != 0) {
        char shown[5];
        for (int i = 0; i < 4; i++)
            shown[i] = (m[i] >= 0x20 && m[i] < 0x7f) ? (char)m[i] : '?';
        shown[4] = '\0';
        return rd_fail(r, 0, "bad magic '%s' (%02x %02x %02x %02x), expected 'GGUF' (47 47 55 46)",
                       shown, m[0], m[1], m[2], m[3]);
    }
    r->pos = 4;
    uint32_t v;
    if (rd_u32(r, "version", &v))
        return -1;
    if (v != 0 && (v & 0xffffu) == 0)
        return rd_fail(r, 4, "version 0x%08" PRIx32 " looks like a byte-swapped (big-endian) file,"
                       " expected 2 or 3", v);
    if (v != 2 && v != 3)
        return rd_fail(r, 4, "unsupported version %" PRIu32 ", expected 2 or 3", v);
    ctx->version = v;
    if (rd_u64(r, "tensor count", n_tensors) || rd_u64(r, "metadata count", n_kv))
        return -1;
    if (*n_tensors > rd_left(r) / GGUF_MIN_TENSOR_BYTES)
        return rd_fail(r, 8,
                       "tensor count %" PRIu64 " cannot fit in the %zu bytes after the header"
                       " (a tensor info takes at least %d)",
                       *n_tensors, rd_left(r), GGUF_MIN_TENSOR_BYTES);
    if (*n_kv > rd_left(r) / GGUF_MIN_KV_BYTES)
        return rd_fail(r, 16,
                       "metadata count %" PRIu64 " cannot fit in the %zu bytes after the header"
                       " (an entry takes at least %d)",
                       *n_kv, rd_left(r), GGUF_MIN_KV_BYTES);
    return 0;
}

static int rd_kvs(struct gguf_rd *r, struct gguf_ctx *ctx, uint64_t n_kv)
{
    if (n_kv) {
        ctx->kv = calloc((size_t)n_kv, sizeof *ctx->kv);
        if (!ctx->kv)
            return rd_fail(r, 16, "out of memory for %" PRIu64 " metadata entries", n_kv);
        ctx->n_kv = n_kv;
    }
    for (uint64_t i = 0; i < n_kv; i++) {
        struct gguf_kv *kv = &ctx->kv[i];
        size_t at = r->pos;
        kv->file_offset = at;
        snprintf(r->item, sizeof r->item, "metadata entry %" PRIu64 ": ", i);
        const uint8_t *k;
        uint64_t klen;
        if (rd_str(r, "key", &k, &klen))
            return -1;
        if (klen == 0)
            return rd_fail(r, at, "key is empty");
        const uint8_t *nul = memchr(k, 0, (size_t)klen);
        if (nul)
            return rd_fail(r, at, "key contains a NUL byte at position %zu", (size_t)(nul - k));
        kv->key = malloc((size_t)klen + 1);
        if (!kv->key)
            return rd_fail(r, at, "out of memory for a %" PRIu64 "-byte key", klen);
        memcpy(kv->key, k, (size_t)klen);
        kv->key[klen] = '\0';
        rd_item_name(r, "key", k, (size_t)klen);
        size_t type_at = r->pos;
        int32_t type;
        if (rd_i32(r, "value type", &type))
            return -1;
        if (type < 0 || type >= GGUF_VTYPE_COUNT)
            return rd_fail(r, type_at, "value type %" PRId32 " is unknown, expected 0..%d", type,
                           GGUF_VTYPE_COUNT - 1);
        if (rd_value(r, type, 0, &kv->value))
            return -1;
    }
    r->item[0] = '\0';

    uint64_t dup = 0, first = 0;
    if (gguf_find_dup(ctx->kv, sizeof *ctx->kv, offsetof(struct gguf_kv, key), n_kv, &dup, &first))
        return rd_fail(r, 16, "out of memory checking %" PRIu64 " keys", n_kv);
    if (dup < n_kv) {
        const char *k = ctx->kv[dup].key;
        rd_item_name(r, "key", (const uint8_t *)k, strlen(k));
        return rd_fail(r, (size_t)ctx->kv[dup].file_offset,
                       "duplicate key (first at offset %" PRIu64 ")", ctx->kv[first].file_offset);
    }

    ctx->alignment = GGUF_DEFAULT_ALIGNMENT;
    const struct gguf_value *a = gguf_get(ctx, GGUF_KEY_ALIGNMENT);
    if (a) {
        size_t at = (size_t)(a->raw - r->base);
        if (a->type != GGUF_VTYPE_U32)
            return rd_fail(r, at - 4, GGUF_KEY_ALIGNMENT " has type %s, expected u32",
                           gguf_vtype_name(a->type));
        uint32_t align = (uint32_t)gguf_le(a->data, 4);
        if (!gguf_is_pow2(align))
            return rd_fail(r, at, GGUF_KEY_ALIGNMENT " is %" PRIu32 ", expected a power of two",
                           align);
        ctx->alignment = align;
    }
    return 0;
}

/* One tensor info at the cursor into *t. */
static int rd_tensor_info(struct gguf_rd *r, const struct gguf_ctx *ctx, uint64_t i,
                          struct gguf_tensor *t)
{
    size_t at = r->pos;
    t->file_offset = at;
    snprintf(r->item, sizeof r->item, "tensor %" PRIu64 ": ", i);
    const uint8_t *s;
    uint64_t len;
    if (rd_str(r, "name", &s, &len))
        return -1;
    if (len > GGUF_MAX_NAME)
        return rd_fail(r, at, "name is %" PRIu64 " bytes, expected at most %d", len, GGUF_MAX_NAME);
    const uint8_t *nul = memchr(s, 0, (size_t)len);
    if (nul)
        return rd_fail(r, at, "name contains a NUL byte at position %zu", (size_t)(nul - s));
    t->name = malloc((size_t)len + 1);
    if (!t->name)
        return rd_fail(r, at, "out of memory");
    memcpy(t->name, s, (size_t)len);
    t->name[len] = '\0';
    rd_item_name(r, "tensor", s, (size_t)len);

    size_t nd_at = r->pos;
    uint32_t n_dims;
    if (rd_u32(r, "n_dims", &n_dims))
        return -1;
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return rd_fail(r, nd_at, "n_dims is %" PRIu32 ", expected 1..%d", n_dims, GGUF_MAX_DIMS);
    t->n_dims = n_dims;

    size_t ne0_at = r->pos;
    int64_t n_elements = 1;
    for (uint32_t j = 0; j < GGUF_MAX_DIMS; j++) {
        t->ne[j] = 1;
        if (j >= n_dims)
            continue;
        size_t ne_at = r->pos;
        char what[16];
        snprintf(what, sizeof what, "dim %" PRIu32, j);
        uint64_t u;
        if (rd_u64(r, what, &u))
            return -1;
        int64_t ne = (int64_t)u;
        if (ne < 1)
            return rd_fail(r, ne_at, "dim %" PRIu32 " is %" PRId64 ", expected >= 1", j, ne);
        if (!gguf_mul_i64(n_elements, ne, &n_elements))
            return rd_fail(r, ne_at,
                           "element count overflows int64 at dim %" PRIu32 " (%" PRId64 " x %" PRId64 ")",
                           j, n_elements, ne);
        t->ne[j] = ne;
    }
    t->n_elements = n_elements;

    size_t type_at = r->pos;
    int32_t type;
    if (rd_i32(r, "type", &type))
        return -1;
    const struct dtype_traits *tr = dtype_traits(type);
    if (!tr)
        return rd_fail(r, type_at, "type %" PRId32 " is not a known ggml type (retired or undefined)",
                       type);
    t->type = type;
    if (t->ne[0] % tr->blck_size != 0)
        return rd_fail(r, ne0_at,
                       "row length %" PRId64 " is not a multiple of %s's block size %" PRId64,
                       t->ne[0], tr->name, tr->blck_size);
    if (!gguf_tensor_bytes(type, t->ne, &t->size))
        return rd_fail(r, type_at, "byte size of %" PRId64 " %s elements overflows size_t",
                       n_elements, tr->name);

    size_t off_at = r->pos;
    if (rd_u64(r, "offset", &t->offset))
        return -1;
    if (t->offset % ctx->alignment != 0)
        return rd_fail(r, off_at, "offset %" PRIu64 " is not a multiple of the alignment %" PRIu32,
                       t->offset, ctx->alignment);
    return 0;
}

static int rd_tensors(struct gguf_rd *r, struct gguf_ctx *ctx, uint64_t n_tensors)
{
    /* The header check bounded the count by the whole file; the metadata has
     * since used some of it. */
    if (n_tensors > rd_left(r) / GGUF_MIN_TENSOR_BYTES)
        return rd_fail(r, 8,
                       "tensor count %" PRIu64 " cannot fit in the %zu bytes after the metadata"
                       " (a tensor info takes at least %d)",
                       n_tensors, rd_left(r), GGUF_MIN_TENSOR_BYTES);
    if (n_tensors) {
        ctx->tensors = calloc((size_t)n_tensors, sizeof *ctx->tensors);
        if (!ctx->tensors)
            return rd_fail(r, 8, "out of memory for %" PRIu64 " tensors", n_tensors);
        ctx->n_tensors = n_tensors;
    }
    for (uint64_t i = 0; i < n_tensors; i++)
        if (rd_tensor_info(r, ctx, i, &ctx->tensors[i]))
            return -1;
    r->item[0] = '\0';

    uint64_t dup = 0, first = 0;
    if (gguf_find_dup(ctx->tensors, sizeof *ctx->tensors, offsetof(struct gguf_tensor, name),
                      n_tensors, &dup, &first))
        return rd_fail(r, 8, "out of memory checking %" PRIu64 " tensor names", n_tensors);
    if (dup < n_tensors) {
        const char *name = ctx->tensors[dup].name;
        rd_item_name(r, "tensor", (const uint8_t *)name, strlen(name));
        return rd_fail(r, (size_t)ctx->tensors[dup].file_offset,
                       "duplicate tensor name (first at offset %" PRIu64 ")",
                       ctx->tensors[first].file_offset);
    }

    /* The data section starts at the next multiple of the alignment. */
    uint64_t data_offset = r->pos + gguf_pad(r->pos, ctx->alignment);
    if (data_offset > r->size) {
        if (n_tensors)
            return rd_fail(r, r->pos,
                           "data section would start at %" PRIu64 " (padding to the %" PRIu32
                           "-byte alignment), past the end of the %zu-byte file",
                           data_offset, ctx->alignment, r->size);
        data_offset = r->size;
    }
    ctx->data_offset = (size_t)data_offset;
    size_t avail = r->size - ctx->data_offset;
    for (uint64_t i = 0; i < n_tensors; i++) {
        struct gguf_tensor *t = &ctx->tensors[i];
        if (t->offset > avail || t->size > avail - t->offset) {
            rd_item_name(r, "tensor", (const uint8_t *)t->name, strlen(t->name));
            return rd_fail(r, gguf_offset_field_at(t),
                           "data at offset %" PRIu64 ", %zu bytes, runs past the end of the"
                           " %zu-byte data section (file is %zu bytes)",
                           t->offset, t->size, avail, r->size);
        }
        t->data = r->base + ctx->data_offset + t->offset;
    }

    /* Sorted by offset, each tensor must end before the next begins. */
    if (n_tensors) {
        struct gguf_sortent *e = malloc((size_t)n_tensors * sizeof *e);
        if (!e)
            return rd_fail(r, 8, "out of memory checking %" PRIu64 " tensors", n_tensors);
        for (uint64_t i = 0; i < n_tensors; i++)
            e[i] = (struct gguf_sortent){ctx->tensors[i].name, ctx->tensors[i].offset, i};
        qsort(e, (size_t)n_tensors, sizeof *e, gguf_cmp_key);
        for (uint64_t i = 1; i < n_tensors; i++) {
            const struct gguf_tensor *a = &ctx->tensors[e[i - 1].idx];
            const struct gguf_tensor *b = &ctx->tensors[e[i].idx];
            if (a->offset + a->size > b->offset) { /* both inside the file: no overflow */
                char other[GGUF_MAX_NAME + 1];
                gguf_shown(other, sizeof other, (const uint8_t *)a->name, strlen(a->name));
                rd_item_name(r, "tensor", (const uint8_t *)b->name, strlen(b->name));
                rd_fail(r, gguf_offset_field_at(b),
                        "data at offset %" PRIu64 " overlaps tensor '%s' (offset %" PRIu64
                        ", %zu bytes)",
                        b->offset, other, a->offset, a->size);
                free(e);
                return -1;
            }
        }
        const struct gguf_tensor *last = &ctx->tensors[e[n_tensors - 1].idx];
        ctx->data_size = (size_t)last->offset + last->size;
        free(e);
    }
    return 0;
}

/* Validate ctx->base[0..size) and build the index. */
static int gguf_parse(struct gguf_ctx *ctx, struct plumb_err *err)
{
    struct gguf_rd r = {.base = ctx->base, .size = ctx->size, .path = ctx->path, .err = err};
    uint64_t n_tensors = 0, n_kv = 0;
    if (rd_header(&r, ctx, &n_tensors, &n_kv))
        return -1;
    if (rd_kvs(&r, ctx, n_kv))
        return -1;
    return rd_tensors(&r, ctx, n_tensors);
}

static int gguf_set_path(struct gguf_ctx *ctx, const char *name, struct plumb_err *err)
{
    ctx->path = malloc(strlen(name) + 1);
    if (!ctx->path)
        return err_set(err, "%s: out of memory", name);
    strcpy(ctx->path, name);
    return 0;
}

int gguf_open(struct gguf_ctx *ctx, const char *path, struct plumb_err *err)
{
    memset(ctx, 0, sizeof *ctx);
    int fd = -1;
    if (gguf_set_path(ctx, path, err))
        goto fail;
    /* O_NONBLOCK: a FIFO with no writer must be refused below, not wait
     * forever in open(); it changes nothing for a regular file. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        err_set(err, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err_set(err, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        err_set(err, "%s: is a directory, expected a GGUF file", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        err_set(err, "%s: not a regular file", path);
        goto fail;
    }
    if (st.st_size == 0) { /* mmap of 0 bytes is invalid */
        err_set(err, "%s: empty file, expected a GGUF header", path);
        goto fail;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        err_set(err, "%s: %lld bytes is too large to map", path, (long long)st.st_size);
        goto fail;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        err_set(err, "%s: cannot map: %s", path, strerror(errno));
        goto fail;
    }
    ctx->base = m;
    ctx->size = (size_t)st.st_size;
    ctx->mapped = true;
    close(fd);
    fd = -1;
    if (gguf_parse(ctx, err))
        goto fail;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    gguf_close(ctx);
    return -1;
}

int gguf_open_memory(struct gguf_ctx *ctx, const void *buf, size_t size, const char *name,
                     struct plumb_err *err)
{
    memset(ctx, 0, sizeof *ctx);
    if (gguf_set_path(ctx, name, err))
        return -1;
    if (size > 0 && !buf) {
        err_set(err, "%s: no buffer for %zu bytes", name, size);
        gguf_close(ctx);
        return -1;
    }
    ctx->base = size ? buf : NULL;
    ctx->size = size;
    if (gguf_parse(ctx, err)) {
        gguf_close(ctx);
        return -1;
    }
    return 0;
}

void gguf_close(struct gguf_ctx *ctx)
{
    if (ctx->kv) {
        for (uint64_t i = 0; i < ctx->n_kv; i++) {
            free(ctx->kv[i].key);
            gguf_value_free(&ctx->kv[i].value);
        }
        free(ctx->kv);
    }
    if (ctx->tensors) {
        for (uint64_t i = 0; i < ctx->n_tensors; i++)
            free(ctx->tensors[i].name);
        free(ctx->tensors);
    }
    if (ctx->mapped && ctx->base)
        munmap((void *)(uintptr_t)ctx->base, ctx->size);
    free(ctx->path);
    memset(ctx, 0, sizeof *ctx);
}

int64_t gguf_find_key(const struct gguf_ctx *ctx, const char *key)
{
    for (uint64_t i = 0; i < ctx->n_kv; i++)
        if (strcmp(ctx->kv[i].key, key) == 0)
            return (int64_t)i;
    return -1;
}

const struct gguf_value *gguf_get(const struct gguf_ctx *ctx, const char *key)
{
    int64_t i = gguf_find_key(ctx, key);
    return i < 0 ? NULL : &ctx->kv[i].value;
}

int64_t gguf_find_tensor(const struct gguf_ctx *ctx, const char *name)
{
    for (uint64_t i = 0; i < ctx->n_tensors; i++)
        if (strcmp(ctx->tensors[i].name, name) == 0)
            return (int64_t)i;
    return -1;
}

const struct gguf_tensor *gguf_get_tensor(const struct gguf_ctx *ctx, const char *name)
{
    int64_t i = gguf_find_tensor(ctx, name);
    return i < 0 ? NULL : &ctx->tensors[i];
}

/* ---- typed reads ---- */

/* An integer value as sign and magnitude parts: *neg set when it is a
 * negative signed value (then *s holds it), else *u holds it. */
static int gguf_value_int(const struct gguf_value *v, const char *key, bool *neg, int64_t *s,
                          uint64_t *u, struct plumb_err *err)
{
    if (!v)
        return err_set(err, "%s: not found", key);
    size_t n = gguf_vtype_size(v->type);
    switch (v->type) {
    case GGUF_VTYPE_U8:
    case GGUF_VTYPE_U16:
    case GGUF_VTYPE_U32:
    case GGUF_VTYPE_U64:
        *neg = false;
        *u = gguf_le(v->data, n);
        return 0;
    case GGUF_VTYPE_I8:
    case GGUF_VTYPE_I16:
    case GGUF_VTYPE_I32:
    case GGUF_VTYPE_I64: {
        uint64_t bits = gguf_le(v->data, n);
        int64_t val = n == 1   ? (int8_t)(uint8_t)bits
                      : n == 2 ? (int16_t)(uint16_t)bits
                      : n == 4 ? (int32_t)(uint32_t)bits
                               : (int64_t)bits; /* two's complement, as on disk */
        *neg = val < 0;
        *s = val;
        *u = val < 0 ? 0 : (uint64_t)val;
        return 0;
    }
    default:
        return err_set(err, "%s: has type %s, expected an integer", key, gguf_vtype_name(v->type));
    }
}

int gguf_value_u64(const struct gguf_value *v, const char *key, uint64_t *out, struct plumb_err *err)
{
    bool neg = false;
    int64_t s = 0;
    uint64_t u = 0;
    if (gguf_value_int(v, key, &neg, &s, &u, err))
        return -1;
    if (neg)
        return err_set(err, "%s: value %" PRId64 " does not fit in u64", key, s);
    *out = u;
    return 0;
}

int gguf_value_i64(const struct gguf_value *v, const char *key, int64_t *out, struct plumb_err *err)
{
    bool neg = false;
    int64_t s = 0;
    uint64_t u = 0;
    if (gguf_value_int(v, key, &neg, &s, &u, err))
        return -1;
    if (neg) {
        *out = s;
        return 0;
    }
    if (u > INT64_MAX)
        return err_set(err, "%s: value %" PRIu64 " does not fit in i64", key, u);
    *out = (int64_t)u;
    return 0;
}

int gguf_value_f64(const struct gguf_value *v, const char *key, double *out, struct plumb_err *err)
{
    if (!v)
        return err_set(err, "%s: not found", key);
    if (v->type == GGUF_VTYPE_F32) {
        uint32_t bits = (uint32_t)gguf_le(v->data, 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        *out = f;
        return 0;
    }
    if (v->type == GGUF_VTYPE_F64) {
        uint64_t bits = gguf_le(v->data, 8);
        memcpy(out, &bits, sizeof *out);
        return 0;
    }
    return err_set(err, "%s: has type %s, expected f32 or f64", key, gguf_vtype_name(v->type));
}

int gguf_value_bool(const struct gguf_value *v, const char *key, bool *out, struct plumb_err *err)
{
    if (!v)
        return err_set(err, "%s: not found", key);
    if (v->type != GGUF_VTYPE_BOOL)
        return err_set(err, "%s: has type %s, expected bool", key, gguf_vtype_name(v->type));
    *out = v->data[0] != 0; /* any non-zero byte is true, as in ggml */
    return 0;
}

int gguf_value_str(const struct gguf_value *v, const char *key, const char **s, size_t *len,
                   struct plumb_err *err)
{
    if (!v)
        return err_set(err, "%s: not found", key);
    if (v->type != GGUF_VTYPE_STRING)
        return err_set(err, "%s: has type %s, expected string", key, gguf_vtype_name(v->type));
    *s = (const char *)v->data;
    *len = (size_t)v->len;
    return 0;
}

const struct gguf_value *gguf_value_elem(const struct gguf_value *v, uint64_t i)
{
    if (!v || v->type != GGUF_VTYPE_ARRAY || !v->elems || i >= v->len)
        return NULL;
    return &v->elems[i];
}

/* ---- writer ---- */

static int w_fail(struct gguf_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first failure; every later call returns -1 at once. */
static int w_fail(struct gguf_writer *w, const char *fmt, ...)
{
    if (!w->failed) {
        va_list ap;
        va_start(ap, fmt);
        err_vset(&w->err, fmt, ap);
        va_end(ap);
        w->failed = true;
    }
    return -1;
}

void gguf_writer_init(struct gguf_writer *w)
{
    memset(w, 0, sizeof *w);
    w->alignment = GGUF_DEFAULT_ALIGNMENT;
}

void gguf_writer_free(struct gguf_writer *w)
{
    if (w->keys)
        for (uint64_t i = 0; i < w->n_kv; i++)
            free(w->keys[i]);
    free(w->keys);
    free(w->key_set);
    free(w->name_set);
    if (w->tensors)
        for (uint64_t i = 0; i < w->n_tensors; i++)
            free(w->tensors[i].name);
    free(w->tensors);
    free(w->meta);
    memset(w, 0, sizeof *w);
}

/* Append n bytes to the metadata buffer. */
static int w_bytes(struct gguf_writer *w, const void *p, size_t n)
{
    if (n > SIZE_MAX - w->meta_len)
        return w_fail(w, "metadata does not fit in memory");
    size_t need = w->meta_len + n;
    if (need > w->meta_cap) {
        size_t cap = w->meta_cap ? w->meta_cap : 256;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        uint8_t *m = realloc(w->meta, cap);
        if (!m)
            return w_fail(w, "out of memory for %zu bytes of metadata", cap);
        w->meta = m;
        w->meta_cap = cap;
    }
    if (n)
        memcpy(w->meta + w->meta_len, p, n);
    w->meta_len = need;
    return 0;
}

static int w_le(struct gguf_writer *w, uint64_t v, size_t n)
{
    uint8_t b[8];
    gguf_put_le(b, v, n);
    return w_bytes(w, b, n);
}

static int w_str(struct gguf_writer *w, const char *s, size_t n)
{
    if (w_le(w, n, 8))
        return -1;
    return w_bytes(w, s, n);
}

/*
 * Duplicate detection in O(1) per name, so that copying a file of n keys or
 * tensors (gguf_writer_raw over a reader's values) costs O(n), not O(n^2):
 * an open-addressed set of entry indices + 1 (0 = empty) with linear
 * probing, at most half full, over names stored elsewhere (entry i's name is
 * the char * at base + i * stride + off).
 */
struct w_names {
    const void *base;
    size_t stride, off;
};

static const char *w_name_at(const struct w_names *nm, size_t i)
{
    const char *p;
    memcpy(&p, (const char *)nm->base + i * nm->stride + nm->off, sizeof p);
    return p;
}

static uint64_t w_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

/* The slot holding name, or the empty slot where it would go. */
static size_t w_set_slot(const size_t *set, size_t mask, const struct w_names *nm, const char *name)
{
    size_t i = (size_t)w_hash(name) & mask;
    while (set[i] && strcmp(w_name_at(nm, set[i] - 1), name) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Make room for entry n (entries 0..n-1 are in the set) and return the slot
 * for name: set[slot] != 0 when an entry already has it. -1 on no memory. */
static int w_set_prepare(size_t **set, size_t *mask, const struct w_names *nm, uint64_t n,
                         const char *name, size_t *slot)
{
    if (!*set || 2 * (n + 1) > (uint64_t)*mask + 1) {
        size_t cap = *set ? 2 * (*mask + 1) : 64;
        if (cap > SIZE_MAX / sizeof **set)
            return -1;
        size_t *fresh = calloc(cap, sizeof *fresh);
        if (!fresh)
            return -1;
        for (uint64_t i = 0; i < n; i++)
            fresh[w_set_slot(fresh, cap - 1, nm, w_name_at(nm, (size_t)i))] = (size_t)i + 1;
        free(*set);
        *set = fresh;
        *mask = cap - 1;
    }
    *slot = w_set_slot(*set, *mask, nm, name);
    return 0;
}

/*
 * Check key (non-empty, new, general.alignment only as u32) and append it
 * with its type tag. keys[] grows in powers of two from 8; its capacity is
 * implied by n_kv.
 */
static int w_key(struct gguf_writer *w, const char *key, enum gguf_vtype type)
{
    if (w->failed)
        return -1;
    if (!key || !*key)
        return w_fail(w, "metadata key is empty");
    size_t n = strlen(key);
    if (n > GGUF_MAX_STRING)
        return w_fail(w, "metadata key of %zu bytes exceeds the 1 GiB limit", n);
    if (strcmp(key, GGUF_KEY_ALIGNMENT) == 0 && type != GGUF_VTYPE_U32)
        return w_fail(w, "key '%s': has type %s, expected u32", key, gguf_vtype_name(type));
    struct w_names nm = {w->keys, sizeof *w->keys, 0};
    size_t slot;
    if (w_set_prepare(&w->key_set, &w->key_set_mask, &nm, w->n_kv, key, &slot))
        return w_fail(w, "out of memory");
    if (w->key_set[slot])
        return w_fail(w, "duplicate key '%s'", key);
    if (w->n_kv == 0 || (w->n_kv >= 8 && gguf_is_pow2(w->n_kv))) {
        uint64_t cap = w->n_kv ? 2 * w->n_kv : 8;
        if (cap > SIZE_MAX / sizeof *w->keys)
            return w_fail(w, "too many keys");
        char **k = realloc(w->keys, (size_t)cap * sizeof *k);
        if (!k)
            return w_fail(w, "out of memory");
        w->keys = k;
    }
    char *copy = malloc(n + 1);
    if (!copy)
        return w_fail(w, "out of memory");
    memcpy(copy, key, n + 1);
    w->keys[w->n_kv++] = copy;
    w->key_set[slot] = (size_t)w->n_kv; /* index + 1 */
    if (w_str(w, key, n))
        return -1;
    return w_le(w, (uint64_t)type, 4);
}

static int w_scalar(struct gguf_writer *w, const char *key, enum gguf_vtype type, uint64_t bits)
{
    if (w_key(w, key, type))
        return -1;
    return w_le(w, bits, gguf_vtype_size(type));
}

int gguf_writer_u8(struct gguf_writer *w, const char *key, uint8_t v)
{
    return w_scalar(w, key, GGUF_VTYPE_U8, v);
}

int gguf_writer_i8(struct gguf_writer *w, const char *key, int8_t v)
{
    return w_scalar(w, key, GGUF_VTYPE_I8, (uint8_t)v);
}

int gguf_writer_u16(struct gguf_writer *w, const char *key, uint16_t v)
{
    return w_scalar(w, key, GGUF_VTYPE_U16, v);
}

int gguf_writer_i16(struct gguf_writer *w, const char *key, int16_t v)
{
    return w_scalar(w, key, GGUF_VTYPE_I16, (uint16_t)v);
}

int gguf_writer_u32(struct gguf_writer *w, const char *key, uint32_t v)
{
    if (key && strcmp(key, GGUF_KEY_ALIGNMENT) == 0)
        return gguf_writer_alignment(w, v);
    return w_scalar(w, key, GGUF_VTYPE_U32, v);
}

int gguf_writer_i32(struct gguf_writer *w, const char *key, int32_t v)
{
    return w_scalar(w, key, GGUF_VTYPE_I32, (uint32_t)v);
}

int gguf_writer_u64(struct gguf_writer *w, const char *key, uint64_t v)
{
    return w_scalar(w, key, GGUF_VTYPE_U64, v);
}

int gguf_writer_i64(struct gguf_writer *w, const char *key, int64_t v)
{
    return w_scalar(w, key, GGUF_VTYPE_I64, (uint64_t)v);
}

int gguf_writer_f32(struct gguf_writer *w, const char *key, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return w_scalar(w, key, GGUF_VTYPE_F32, bits);
}

int gguf_writer_f64(struct gguf_writer *w, const char *key, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return w_scalar(w, key, GGUF_VTYPE_F64, bits);
}

int gguf_writer_bool(struct gguf_writer *w, const char *key, bool v)
{
    return w_scalar(w, key, GGUF_VTYPE_BOOL, v ? 1 : 0);
}

int gguf_writer_str(struct gguf_writer *w, const char *key, const char *s)
{
    if (w->failed)
        return -1;
    if (!s)
        return w_fail(w, "key '%s': string is NULL", key ? key : "");
    return gguf_writer_strn(w, key, s, strlen(s));
}

int gguf_writer_strn(struct gguf_writer *w, const char *key, const char *s, size_t len)
{
    if (w->failed)
        return -1;
    if (!s && len)
        return w_fail(w, "key '%s': string is NULL", key ? key : "");
    if (len > GGUF_MAX_STRING)
        return w_fail(w, "key '%s': string of %zu bytes exceeds the 1 GiB limit", key ? key : "", len);
    if (w_key(w, key, GGUF_VTYPE_STRING))
        return -1;
    return w_str(w, s ? s : "", len);
}

int gguf_writer_arr(struct gguf_writer *w, const char *key, enum gguf_vtype elem_type,
                    const void *elems, uint64_t n)
{
    if (w->failed)
        return -1;
    const char *k = key ? key : "";
    size_t esize = gguf_vtype_size(elem_type);
    if (!esize)
        return w_fail(w, "key '%s': array element type %s is not a scalar", k,
                      gguf_vtype_name(elem_type));
    if (n > GGUF_MAX_ARRAY)
        return w_fail(w, "key '%s': array of %" PRIu64 " elements exceeds the limit of %llu", k, n,
                      GGUF_MAX_ARRAY);
    if (n && !elems)
        return w_fail(w, "key '%s': array elements are NULL", k);
    if (w_key(w, key, GGUF_VTYPE_ARRAY) || w_le(w, (uint64_t)elem_type, 4) || w_le(w, n, 8))
        return -1;
    if (elem_type != GGUF_VTYPE_BOOL)
        return w_bytes(w, elems, (size_t)(n * esize)); /* host order is little-endian */
    const bool *b = elems;
    for (uint64_t i = 0; i < n; i++)
        if (w_le(w, b[i] ? 1 : 0, 1))
            return -1;
    return 0;
}

int gguf_writer_arr_str(struct gguf_writer *w, const char *key, const char *const *strs, uint64_t n)
{
    if (w->failed)
        return -1;
    const char *k = key ? key : "";
    if (n > GGUF_MAX_ARRAY)
        return w_fail(w, "key '%s': array of %" PRIu64 " elements exceeds the limit of %llu", k, n,
                      GGUF_MAX_ARRAY);
    if (n && !strs)
        return w_fail(w, "key '%s': array elements are NULL", k);
    for (uint64_t i = 0; i < n; i++) {
        if (!strs[i])
            return w_fail(w, "key '%s': string %" PRIu64 " is NULL", k, i);
        if (strlen(strs[i]) > GGUF_MAX_STRING)
            return w_fail(w, "key '%s': string %" PRIu64 " exceeds the 1 GiB limit", k, i);
    }
    if (w_key(w, key, GGUF_VTYPE_ARRAY) || w_le(w, GGUF_VTYPE_STRING, 4) || w_le(w, n, 8))
        return -1;
    for (uint64_t i = 0; i < n; i++)
        if (w_str(w, strs[i], strlen(strs[i])))
            return -1;
    return 0;
}

int gguf_writer_raw(struct gguf_writer *w, const char *key, enum gguf_vtype type, const void *raw,
                    size_t raw_size)
{
    if (w->failed)
        return -1;
    const char *k = key ? key : "";
    if ((int)type < 0 || type >= GGUF_VTYPE_COUNT)
        return w_fail(w, "key '%s': value type %d is unknown", k, (int)type);
    if (!raw)
        return w_fail(w, "key '%s': raw value is NULL", k);
    /* The reader's own parser validates the encoding, so a writer never emits
     * a value its reader would refuse. */
    struct plumb_err e;
    struct gguf_rd r = {.base = raw, .size = raw_size, .path = "raw value", .err = &e};
    if (rd_value(&r, type, 0, NULL))
        return w_fail(w, "key '%s': bad %s encoding: %s", k, gguf_vtype_name(type), e.msg);
    if (r.pos != raw_size)
        return w_fail(w, "key '%s': raw %s value is %zu bytes, its encoding takes %zu", k,
                      gguf_vtype_name(type), raw_size, r.pos);
    if (type == GGUF_VTYPE_U32 && key && strcmp(key, GGUF_KEY_ALIGNMENT) == 0)
        return gguf_writer_alignment(w, (uint32_t)gguf_le(raw, 4));
    if (w_key(w, key, type))
        return -1;
    return w_bytes(w, raw, raw_size);
}

int gguf_writer_alignment(struct gguf_writer *w, uint32_t alignment)
{
    if (w->failed)
        return -1;
    if (w->n_tensors)
        return w_fail(w, GGUF_KEY_ALIGNMENT " must be set before the first tensor");
    if (!gguf_is_pow2(alignment))
        return w_fail(w, GGUF_KEY_ALIGNMENT " is %" PRIu32 ", expected a power of two", alignment);
    if (w_scalar(w, GGUF_KEY_ALIGNMENT, GGUF_VTYPE_U32, alignment))
        return -1;
    w->alignment = alignment;
    return 0;
}

/* Validate and record one tensor; data or fill is its source. want_size is
 * the caller's size for data tensors, checked against shape and type. */
static int w_tensor(struct gguf_writer *w, const char *name, int type, uint32_t n_dims,
                    const int64_t *ne, const void *data, size_t want_size, gguf_fill_fn fill,
                    void *fill_ctx)
{
    if (w->failed)
        return -1;
    if (!name)
        return w_fail(w, "tensor name is NULL");
    size_t nlen = strlen(name);
    if (nlen > GGUF_MAX_NAME)
        return w_fail(w, "tensor '%s': name is %zu bytes, expected at most %d", name, nlen,
                      GGUF_MAX_NAME);
    struct w_names nm = {w->tensors, sizeof *w->tensors, offsetof(struct gguf_writer_tensor, name)};
    size_t slot;
    if (w_set_prepare(&w->name_set, &w->name_set_mask, &nm, w->n_tensors, name, &slot))
        return w_fail(w, "out of memory");
    if (w->name_set[slot])
        return w_fail(w, "duplicate tensor name '%s'", name);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return w_fail(w, "tensor '%s': n_dims is %" PRIu32 ", expected 1..%d", name, n_dims,
                      GGUF_MAX_DIMS);
    if (!ne)
        return w_fail(w, "tensor '%s': shape is NULL", name);
    const struct dtype_traits *tr = dtype_traits(type);
    if (!tr)
        return w_fail(w, "tensor '%s': type %d is not a known ggml type", name, type);
    int64_t full[GGUF_MAX_DIMS] = {1, 1, 1, 1};
    int64_t n_elements = 1;
    for (uint32_t j = 0; j < n_dims; j++) {
        if (ne[j] < 1)
            return w_fail(w, "tensor '%s': dim %" PRIu32 " is %" PRId64 ", expected >= 1", name, j,
                          ne[j]);
        if (!gguf_mul_i64(n_elements, ne[j], &n_elements))
            return w_fail(w, "tensor '%s': element count overflows int64", name);
        full[j] = ne[j];
    }
    if (full[0] % tr->blck_size != 0)
        return w_fail(w, "tensor '%s': row length %" PRId64 " is not a multiple of %s's block size %" PRId64,
                      name, full[0], tr->name, tr->blck_size);
    size_t size;
    if (!gguf_tensor_bytes(type, full, &size))
        return w_fail(w, "tensor '%s': byte size overflows size_t", name);
    if (!fill) {
        if (want_size != size)
            return w_fail(w, "tensor '%s': size is %zu bytes, expected %zu for %" PRId64 " %s elements",
                          name, want_size, size, n_elements, tr->name);
        if (!data)
            return w_fail(w, "tensor '%s': data is NULL", name);
    }
    uint64_t padded = (uint64_t)size + gguf_pad(size, w->alignment);
    if (padded < size || padded > UINT64_MAX - w->data_size)
        return w_fail(w, "tensor '%s': data section size overflows", name);
    if (w->n_tensors == w->tensors_cap) {
        uint64_t cap = w->tensors_cap ? 2 * w->tensors_cap : 16;
        if (cap > SIZE_MAX / sizeof *w->tensors)
            return w_fail(w, "too many tensors");
        struct gguf_writer_tensor *t = realloc(w->tensors, (size_t)cap * sizeof *t);
        if (!t)
            return w_fail(w, "out of memory");
        w->tensors = t;
        w->tensors_cap = cap;
    }
    char *copy = malloc(nlen + 1);
    if (!copy)
        return w_fail(w, "out of memory");
    memcpy(copy, name, nlen + 1);
    struct gguf_writer_tensor *t = &w->tensors[w->n_tensors++];
    *t = (struct gguf_writer_tensor){
        .name = copy, .n_dims = n_dims, .type = type, .size = size, .offset = w->data_size,
        .data = fill ? NULL : data, .fill = fill, .fill_ctx = fill_ctx,
    };
    memcpy(t->ne, full, sizeof full);
    w->name_set[slot] = (size_t)w->n_tensors; /* index + 1 */
    w->data_size += padded;
    return 0;
}

int gguf_writer_tensor(struct gguf_writer *w, const char *name, int type, uint32_t n_dims,
                       const int64_t *ne, const void *data, size_t size)
{
    return w_tensor(w, name, type, n_dims, ne, data, size, NULL, NULL);
}

int gguf_writer_tensor_fill(struct gguf_writer *w, const char *name, int type, uint32_t n_dims,
                            const int64_t *ne, gguf_fill_fn fill, void *fill_ctx)
{
    if (!w->failed && !fill)
        return w_fail(w, "tensor '%s': fill function is NULL", name ? name : "");
    return w_tensor(w, name, type, n_dims, ne, NULL, 0, fill, fill_ctx);
}

/* Output state while writing: counts bytes so padding and offsets agree. */
struct gguf_wout {
    gguf_sink_fn sink;
    void *sink_ctx;
    struct plumb_err *err;
    uint64_t pos;
};

static int wout_put(struct gguf_wout *o, const void *p, size_t n)
{
    if (!n)
        return 0;
    o->err->msg[0] = '\0';
    if (o->sink(o->sink_ctx, p, n, o->err)) {
        if (!o->err->msg[0])
            err_set(o->err, "write failed at byte %" PRIu64, o->pos);
        return -1;
    }
    o->pos += n;
    return 0;
}

static int wout_pad(struct gguf_wout *o, uint32_t align)
{
    static const uint8_t zeros[4096];
    uint64_t n = gguf_pad(o->pos, align);
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        if (wout_put(o, zeros, k))
            return -1;
        n -= k;
    }
    return 0;
}

/* Fill tensor i into buf (zeroed first, so a fill that skips bytes still
 * gives the same file every time). */
static int gguf_fill_one(struct gguf_writer *w, uint64_t i, uint8_t *buf, struct plumb_err *e)
{
    const struct gguf_writer_tensor *t = &w->tensors[i];
    memset(buf, 0, t->size);
    e->msg[0] = '\0';
    if (t->fill(t->fill_ctx, (int64_t)i, buf, t->size, e)) {
        if (!e->msg[0])
            err_set(e, "fill failed");
        err_prefix(e, "tensor '%s'", t->name);
        return -1;
    }
    return 0;
}

/* A fill running on a helper thread. */
struct gguf_prefetch {
    struct gguf_writer *w;
    uint64_t index;
    uint8_t *buf;
    pthread_t tid;
    bool started;
    int rc;
    struct plumb_err err;
};

static void *gguf_prefetch_main(void *arg)
{
    struct gguf_prefetch *pf = arg;
    pf->rc = gguf_fill_one(pf->w, pf->index, pf->buf, &pf->err);
    return NULL;
}

int gguf_writer_write(struct gguf_writer *w, gguf_sink_fn sink, void *sink_ctx, struct plumb_err *err)
{
    struct plumb_err e = {{0}};
    struct gguf_wout o = {sink, sink_ctx, &e, 0};
    uint8_t *buf = NULL, *buf2 = NULL;
    struct gguf_prefetch pf = {0};
    if (w->failed) {
        e = w->err;
        goto fail;
    }
    if (!sink) {
        err_set(&e, "no sink to write to");
        goto fail;
    }

    uint8_t head[GGUF_HEADER_BYTES];
    memcpy(head, GGUF_MAGIC, 4);
    gguf_put_le(head + 4, GGUF_VERSION, 4);
    gguf_put_le(head + 8, w->n_tensors, 8);
    gguf_put_le(head + 16, w->n_kv, 8);
    if (wout_put(&o, head, sizeof head) || wout_put(&o, w->meta, w->meta_len))
        goto fail;

    size_t fill_max = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const struct gguf_writer_tensor *t = &w->tensors[i];
        uint8_t info[8 + GGUF_MAX_NAME + 4 + 8 * GGUF_MAX_DIMS + 4 + 8];
        size_t nlen = strlen(t->name), n = 0;
        gguf_put_le(info, nlen, 8);
        memcpy(info + 8, t->name, nlen);
        n = 8 + nlen;
        gguf_put_le(info + n, t->n_dims, 4);
        n += 4;
        for (uint32_t j = 0; j < t->n_dims; j++, n += 8)
            gguf_put_le(info + n, (uint64_t)t->ne[j], 8);
        gguf_put_le(info + n, (uint64_t)(uint32_t)t->type, 4);
        n += 4;
        gguf_put_le(info + n, t->offset, 8);
        n += 8;
        if (wout_put(&o, info, n))
            goto fail;
        if (t->fill && t->size > fill_max)
            fill_max = t->size;
    }
    if (wout_pad(&o, w->alignment))
        goto fail;

    /* Two buffers: while one tensor's bytes go to the sink, a helper thread
     * fills the next fill tensor into the other, so generating and writing
     * overlap. The fill function is never called twice at once. */
    if (fill_max) {
        buf = malloc(fill_max);
        buf2 = malloc(fill_max);
        if (!buf || !buf2) {
            err_set(&e, "out of memory for a %zu-byte tensor buffer", fill_max);
            goto fail;
        }
    }
    uint64_t data_start = o.pos;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const struct gguf_writer_tensor *t = &w->tensors[i];
        assert(o.pos - data_start == t->offset);
        (void)data_start;
        const void *bytes = t->data;
        if (t->fill) {
            if (pf.started && pf.index == i) {
                pthread_join(pf.tid, NULL);
                pf.started = false;
                if (pf.rc) {
                    e = pf.err;
                    goto fail;
                }
            } else if (gguf_fill_one(w, i, buf, &e)) {
                goto fail;
            }
            bytes = buf;
            /* start on the next fill tensor in the other buffer */
            uint64_t j = i + 1;
            while (j < w->n_tensors && !w->tensors[j].fill)
                j++;
            if (j < w->n_tensors) {
                uint8_t *tmp = buf;
                buf = buf2;
                buf2 = tmp;
                pf = (struct gguf_prefetch){.w = w, .index = j, .buf = buf};
                if (pthread_create(&pf.tid, NULL, gguf_prefetch_main, &pf) == 0)
                    pf.started = true;
                else
                    buf2 = buf, buf = tmp; /* no thread: fill it in turn instead */
            }
        }
        if (wout_put(&o, bytes, t->size) || wout_pad(&o, w->alignment))
            goto fail;
    }
    free(buf);
    free(buf2);
    return 0;
fail:
    if (pf.started)
        pthread_join(pf.tid, NULL);
    free(buf2);
    free(buf);
    if (err)
        *err = e;
    return -1;
}

/* Wraps outfile_sink to tell its failures (which name the path) from others. */
struct gguf_file_sink {
    struct outfile *of;
    bool failed;
};

static int gguf_file_sink(void *ctx, const void *buf, size_t n, struct plumb_err *err)
{
    struct gguf_file_sink *s = ctx;
    if (outfile_sink(s->of, buf, n, err)) {
        s->failed = true;
        return -1;
    }
    return 0;
}

int gguf_writer_write_file(struct gguf_writer *w, const char *path, struct plumb_err *err)
{
    struct plumb_err e;
    if (w->failed) {
        e = w->err;
        err_prefix(&e, "%s", path);
        goto fail;
    }
    struct outfile of;
    if (outfile_open(&of, path, &e))
        goto fail;
    struct gguf_file_sink s = {&of, false};
    if (gguf_writer_write(w, gguf_file_sink, &s, &e)) {
        if (!s.failed)
            err_prefix(&e, "%s", path);
        outfile_abort(&of);
        goto fail;
    }
    if (outfile_commit(&of, &e))
        goto fail;
    return 0;
fail:
    if (err)
        *err = e;
    return -1;
}
