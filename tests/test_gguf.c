/*
 * test_gguf.c: the GGUF reader and writer (engine/gguf.c).
 *
 * - round trips through the writer and reader: every value type, nested
 *   arrays, several tensor types and shapes, custom alignment;
 * - the reader against a file assembled byte by byte here, and the writer's
 *   bytes against a hand-written expected image, so neither side only agrees
 *   with itself;
 * - one test per reason the reader rejects a file, checking the offset and the
 *   reason in the message; every truncation of a valid file; seeded random
 *   corruptions (run under ASan so an out-of-bounds read fails the test);
 * - writer errors, and atomic file output that leaves nothing behind.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dtype.h"
#include "gguf.h"

/* Criterion's assertion macros store an int into a 1-bit field, which gcc's
 * -Wconversion reports at every cr_assert. The warning is about Criterion's
 * header, so it is off for gcc here; clang checks this file with it on. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wconversion"
#endif

TestSuite(gguf, .timeout = 30);
TestSuite(gguf_reject, .timeout = 30);
TestSuite(gguf_writer, .timeout = 30);

/* ---- a byte builder, independent of the writer ---- */

struct bb {
    uint8_t *p;
    size_t n, cap;
};

static void bb_bytes(struct bb *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        cr_assert(b->p != NULL);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void bb_le(struct bb *b, uint64_t v, size_t n)
{
    uint8_t x[8];
    for (size_t i = 0; i < n; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    bb_bytes(b, x, n);
}

static void bb_u8(struct bb *b, uint8_t v) { bb_le(b, v, 1); }
static void bb_u32(struct bb *b, uint32_t v) { bb_le(b, v, 4); }
static void bb_i32(struct bb *b, int32_t v) { bb_le(b, (uint32_t)v, 4); }
static void bb_u64(struct bb *b, uint64_t v) { bb_le(b, v, 8); }
static void bb_i64(struct bb *b, int64_t v) { bb_le(b, (uint64_t)v, 8); }

static void bb_strn(struct bb *b, const char *s, size_t n)
{
    bb_u64(b, n);
    bb_bytes(b, s, n);
}

static void bb_str(struct bb *b, const char *s) { bb_strn(b, s, strlen(s)); }

static void bb_zeros(struct bb *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bb_u8(b, 0);
}

static void bb_pad(struct bb *b, size_t align)
{
    while (b->n % align)
        bb_u8(b, 0);
}

static void bb_header(struct bb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    bb_bytes(b, "GGUF", 4);
    bb_u32(b, version);
    bb_u64(b, n_tensors);
    bb_u64(b, n_kv);
}

/* A tensor info; returns the file offset of its offset field. */
static size_t bb_tinfo(struct bb *b, const char *name, uint32_t n_dims, const int64_t *ne, int32_t type,
                       uint64_t offset)
{
    bb_str(b, name);
    bb_u32(b, n_dims);
    for (uint32_t j = 0; j < n_dims; j++)
        bb_i64(b, ne[j]);
    bb_i32(b, type);
    size_t at = b->n;
    bb_u64(b, offset);
    return at;
}

static void bb_free(struct bb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- helpers ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Open a private, exactly-sized copy of buf so ASan sees any overread. */
static int open_copy(struct gguf_ctx *ctx, uint8_t **copy, const void *buf, size_t n,
                     struct plumb_err *err)
{
    *copy = malloc(n ? n : 1);
    cr_assert(copy[0] != NULL);
    if (n)
        memcpy(*copy, buf, n);
    return gguf_open_memory(ctx, *copy, n, "bad.gguf", err);
}

/* The file in b must be rejected at offset `off` with `frag` in the reason. */
static void expect_reject(const struct bb *b, size_t off, const char *frag)
{
    struct gguf_ctx ctx;
    struct plumb_err err = {{0}};
    uint8_t *copy;
    int rc = open_copy(&ctx, &copy, b->p, b->n, &err);
    cr_assert(eq(int, rc, -1), "accepted a bad file; expected '%s'", frag);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "bad.gguf: offset %zu: ", off);
    cr_assert(strncmp(err.msg, prefix, strlen(prefix)) == 0, "message '%s' lacks prefix '%s'",
              err.msg, prefix);
    cr_assert(strstr(err.msg, frag) != NULL, "message '%s' lacks '%s'", err.msg, frag);
    cr_assert(strchr(err.msg, '\n') == NULL);
    cr_assert(ctx.kv == NULL && ctx.tensors == NULL && ctx.path == NULL && ctx.base == NULL);
    free(copy);
}

/* Open b, which must be valid; caller closes ctx and frees *copy. */
static void expect_open(struct gguf_ctx *ctx, uint8_t **copy, const struct bb *b)
{
    struct plumb_err err = {{0}};
    int rc = open_copy(ctx, copy, b->p, b->n, &err);
    cr_assert(eq(int, rc, 0), "rejected: %s", err.msg);
}

/* Read every byte a value exposes, so ASan checks each pointer. */
static unsigned touch_value(const struct gguf_value *v)
{
    unsigned sum = 0;
    for (size_t i = 0; i < v->raw_size; i++)
        sum += v->raw[i];
    if (v->type == GGUF_VTYPE_STRING)
        for (uint64_t i = 0; i < v->len; i++)
            sum += v->data[i];
    if (v->type == GGUF_VTYPE_ARRAY) {
        size_t es = gguf_vtype_size(v->elem_type);
        if (es)
            for (uint64_t i = 0; i < v->len * es; i++)
                sum += v->data[i];
        else
            for (uint64_t i = 0; i < v->len; i++)
                sum += touch_value(gguf_value_elem(v, i));
    } else if (gguf_vtype_size(v->type)) {
        for (size_t i = 0; i < gguf_vtype_size(v->type); i++)
            sum += v->data[i];
    }
    return sum;
}

static unsigned touch_all(const struct gguf_ctx *ctx)
{
    unsigned sum = 0;
    for (uint64_t i = 0; i < ctx->n_kv; i++) {
        sum += (unsigned)strlen(ctx->kv[i].key);
        sum += touch_value(&ctx->kv[i].value);
    }
    for (uint64_t i = 0; i < ctx->n_tensors; i++) {
        const uint8_t *d = ctx->tensors[i].data;
        sum += (unsigned)strlen(ctx->tensors[i].name);
        for (size_t k = 0; k < ctx->tensors[i].size; k++)
            sum += d[k];
    }
    return sum;
}

/* A sink into memory that can be told to fail after some bytes. */
struct memsink {
    uint8_t *p;
    size_t n, cap;
    size_t fail_at; /* fail the write that would pass this many bytes; 0 = never */
};

static int mem_sink(void *ctx, const void *buf, size_t n, struct plumb_err *err)
{
    struct memsink *m = ctx;
    if (m->fail_at && m->n + n > m->fail_at)
        return err_set(err, "memsink: full at %zu bytes", m->n);
    if (m->n + n > m->cap) {
        size_t cap = m->cap ? m->cap : 1024;
        while (cap < m->n + n)
            cap *= 2;
        m->p = realloc(m->p, cap);
        cr_assert(m->p != NULL);
        m->cap = cap;
    }
    memcpy(m->p + m->n, buf, n);
    m->n += n;
    return 0;
}

static void write_mem(struct gguf_writer *w, struct memsink *m)
{
    struct plumb_err err = {{0}};
    memset(m, 0, sizeof *m);
    int rc = gguf_writer_write(w, mem_sink, m, &err);
    cr_assert(eq(int, rc, 0), "write failed: %s", err.msg);
}

static const char *mkscratch(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/plumb-test-gguf-XXXXXX");
    cr_assert(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    return dir;
}

/* Number of entries in dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void rm_scratch(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f != NULL);
    fputs(s, f);
    fclose(f);
}

static void expect_text(const char *path, const char *s)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "%s vanished", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    cr_assert(eq(sz, n, strlen(s)));
    cr_assert(eq(str, buf, (char *)s));
}

/* ---- the round trip ---- */

/* A nested array, encoded by hand: [[u16 1, 2, 3], ["p"]]. */
static void nested_raw(struct bb *b)
{
    bb_i32(b, GGUF_VTYPE_ARRAY);
    bb_u64(b, 2);
    bb_i32(b, GGUF_VTYPE_U16);
    bb_u64(b, 3);
    bb_le(b, 1, 2);
    bb_le(b, 2, 2);
    bb_le(b, 3, 2);
    bb_i32(b, GGUF_VTYPE_STRING);
    bb_u64(b, 1);
    bb_str(b, "p");
}

struct rt_arr {
    const char *key;
    enum gguf_vtype type;
    const void *elems;
    uint64_t n;
};

static const uint8_t rt_u8s[] = {0, 1, 255};
static const int8_t rt_i8s[] = {-128, 0, 127};
static const uint16_t rt_u16s[] = {0, 65535};
static const int16_t rt_i16s[] = {-32768, 32767};
static const uint32_t rt_u32s[] = {0, 4294967295u, 7};
static const int32_t rt_i32s[] = {INT32_MIN, -1, INT32_MAX};
static const float rt_f32s[] = {1.5f, -0.0f, 3.0e38f};
static const bool rt_bools[] = {true, false, true};
static const uint64_t rt_u64s[] = {UINT64_MAX, 0};
static const int64_t rt_i64s[] = {INT64_MIN, INT64_MAX};
static const double rt_f64s[] = {0.1, -1e300};

static const struct rt_arr rt_arrs[] = {
    {"arr.u8", GGUF_VTYPE_U8, rt_u8s, 3},     {"arr.i8", GGUF_VTYPE_I8, rt_i8s, 3},
    {"arr.u16", GGUF_VTYPE_U16, rt_u16s, 2},  {"arr.i16", GGUF_VTYPE_I16, rt_i16s, 2},
    {"arr.u32", GGUF_VTYPE_U32, rt_u32s, 3},  {"arr.i32", GGUF_VTYPE_I32, rt_i32s, 3},
    {"arr.f32", GGUF_VTYPE_F32, rt_f32s, 3},  {"arr.bool", GGUF_VTYPE_BOOL, rt_bools, 3},
    {"arr.u64", GGUF_VTYPE_U64, rt_u64s, 2},  {"arr.i64", GGUF_VTYPE_I64, rt_i64s, 2},
    {"arr.f64", GGUF_VTYPE_F64, rt_f64s, 2},  {"arr.empty", GGUF_VTYPE_U32, rt_u32s, 0},
};

struct rt_tensor {
    const char *name;
    int type;
    uint32_t n_dims;
    int64_t ne[4];
    size_t size;
    bool fill;
};

static const struct rt_tensor rt_tensors[] = {
    {"a.f32", PLUMB_TYPE_F32, 2, {7, 3}, 84, false},
    {"b.f16", PLUMB_TYPE_F16, 1, {5}, 10, false},
    {"c.q8_0", PLUMB_TYPE_Q8_0, 2, {64, 2}, 136, false},
    {"d.q4_k", PLUMB_TYPE_Q4_K, 3, {256, 1, 2}, 288, false},
    {"e.filled", PLUMB_TYPE_F32, 4, {2, 2, 2, 2}, 64, true},
    {"f.filled.q8_0", PLUMB_TYPE_Q8_0, 1, {32}, 34, true},
};
#define RT_N_TENSORS (sizeof rt_tensors / sizeof rt_tensors[0])

/* Deterministic bytes of tensor i. */
static void rt_bytes(size_t i, uint8_t *dst, size_t n)
{
    uint64_t s = 0x9E3779B97F4A7C15ull * (i + 1);
    for (size_t k = 0; k < n; k++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        dst[k] = (uint8_t)(s >> 56);
    }
}

static int rt_fill(void *fill_ctx, int64_t index, void *dst, size_t size, struct plumb_err *err)
{
    (void)err;
    int *calls = fill_ctx;
    (*calls)++;
    rt_bytes((size_t)index, dst, size);
    return 0;
}

struct rt_data {
    uint8_t *bytes[RT_N_TENSORS];
    int fill_calls;
    struct bb nested;
};

static void rt_build(struct gguf_writer *w, struct rt_data *d)
{
    memset(d, 0, sizeof *d);
    gguf_writer_init(w);
    cr_assert(eq(int, gguf_writer_alignment(w, 64), 0));
    cr_assert(eq(int, gguf_writer_u8(w, "v.u8", 200), 0));
    cr_assert(eq(int, gguf_writer_i8(w, "v.i8", -100), 0));
    cr_assert(eq(int, gguf_writer_u16(w, "v.u16", 60000), 0));
    cr_assert(eq(int, gguf_writer_i16(w, "v.i16", -30000), 0));
    cr_assert(eq(int, gguf_writer_u32(w, "v.u32", 4000000000u), 0));
    cr_assert(eq(int, gguf_writer_i32(w, "v.i32", -2000000000), 0));
    cr_assert(eq(int, gguf_writer_u64(w, "v.u64", (1ull << 63) + 5), 0));
    cr_assert(eq(int, gguf_writer_i64(w, "v.i64", -(1ll << 62)), 0));
    cr_assert(eq(int, gguf_writer_f32(w, "v.f32", 3.5f), 0));
    cr_assert(eq(int, gguf_writer_f64(w, "v.f64", -0.1), 0));
    cr_assert(eq(int, gguf_writer_bool(w, "v.true", true), 0));
    cr_assert(eq(int, gguf_writer_bool(w, "v.false", false), 0));
    cr_assert(eq(int, gguf_writer_str(w, "v.str", "hello"), 0));
    cr_assert(eq(int, gguf_writer_str(w, "v.empty", ""), 0));
    cr_assert(eq(int, gguf_writer_strn(w, "v.nul", "a\0b", 3), 0));
    for (size_t i = 0; i < sizeof rt_arrs / sizeof rt_arrs[0]; i++)
        cr_assert(eq(int, gguf_writer_arr(w, rt_arrs[i].key, rt_arrs[i].type, rt_arrs[i].elems,
                                          rt_arrs[i].n), 0));
    static const char *const strs[] = {"", "x", "yz"};
    cr_assert(eq(int, gguf_writer_arr_str(w, "arr.str", strs, 3), 0));
    nested_raw(&d->nested);
    cr_assert(eq(int, gguf_writer_raw(w, "arr.nested", GGUF_VTYPE_ARRAY, d->nested.p, d->nested.n), 0));
    for (size_t i = 0; i < RT_N_TENSORS; i++) {
        const struct rt_tensor *t = &rt_tensors[i];
        d->bytes[i] = malloc(t->size);
        rt_bytes(i, d->bytes[i], t->size);
        int rc = t->fill ? gguf_writer_tensor_fill(w, t->name, t->type, t->n_dims, t->ne, rt_fill,
                                                   &d->fill_calls)
                         : gguf_writer_tensor(w, t->name, t->type, t->n_dims, t->ne, d->bytes[i],
                                              t->size);
        cr_assert(eq(int, rc, 0), "%s", w->err.msg);
    }
}

static void rt_data_free(struct rt_data *d)
{
    for (size_t i = 0; i < RT_N_TENSORS; i++)
        free(d->bytes[i]);
    bb_free(&d->nested);
}

static uint64_t get_u64(const struct gguf_ctx *c, const char *key)
{
    uint64_t v = 0;
    struct plumb_err err;
    cr_assert(eq(int, gguf_value_u64(gguf_get(c, key), key, &v, &err), 0), "%s", err.msg);
    return v;
}

static int64_t get_i64(const struct gguf_ctx *c, const char *key)
{
    int64_t v = 0;
    struct plumb_err err;
    cr_assert(eq(int, gguf_value_i64(gguf_get(c, key), key, &v, &err), 0), "%s", err.msg);
    return v;
}

static void rt_check(const struct gguf_ctx *c, const struct rt_data *d)
{
    struct plumb_err err;
    cr_assert(eq(u32, c->version, 3));
    cr_assert(eq(u32, c->alignment, 64));
    cr_assert(eq(u64, c->n_kv, 18 + sizeof rt_arrs / sizeof rt_arrs[0]));
    cr_assert(eq(str, c->kv[0].key, "general.alignment"));
    cr_assert(eq(u64, get_u64(c, "general.alignment"), 64));
    cr_assert(eq(int, gguf_get(c, "v.u8")->type, GGUF_VTYPE_U8));
    cr_assert(eq(u64, get_u64(c, "v.u8"), 200));
    cr_assert(eq(i64, get_i64(c, "v.i8"), -100));
    cr_assert(eq(u64, get_u64(c, "v.u16"), 60000));
    cr_assert(eq(i64, get_i64(c, "v.i16"), -30000));
    cr_assert(eq(u64, get_u64(c, "v.u32"), 4000000000u));
    cr_assert(eq(i64, get_i64(c, "v.i32"), -2000000000));
    cr_assert(eq(u64, get_u64(c, "v.u64"), (1ull << 63) + 5));
    cr_assert(eq(i64, get_i64(c, "v.i64"), -(1ll << 62)));
    double f;
    cr_assert(eq(int, gguf_value_f64(gguf_get(c, "v.f32"), "v.f32", &f, &err), 0));
    cr_assert(eq(dbl, f, 3.5));
    cr_assert(eq(int, gguf_value_f64(gguf_get(c, "v.f64"), "v.f64", &f, &err), 0));
    cr_assert(eq(dbl, f, -0.1));
    bool b = false;
    cr_assert(eq(int, gguf_value_bool(gguf_get(c, "v.true"), "v.true", &b, &err), 0));
    cr_assert(b);
    cr_assert(eq(int, gguf_value_bool(gguf_get(c, "v.false"), "v.false", &b, &err), 0));
    cr_assert(eq(int, b, false));
    const char *s;
    size_t n;
    cr_assert(eq(int, gguf_value_str(gguf_get(c, "v.str"), "v.str", &s, &n, &err), 0));
    cr_assert(eq(sz, n, 5));
    cr_assert(memcmp(s, "hello", 5) == 0);
    cr_assert(eq(int, gguf_value_str(gguf_get(c, "v.empty"), "v.empty", &s, &n, &err), 0));
    cr_assert(eq(sz, n, 0));
    cr_assert(eq(int, gguf_value_str(gguf_get(c, "v.nul"), "v.nul", &s, &n, &err), 0));
    cr_assert(eq(sz, n, 3));
    cr_assert(memcmp(s, "a\0b", 3) == 0);

    for (size_t i = 0; i < sizeof rt_arrs / sizeof rt_arrs[0]; i++) {
        const struct rt_arr *a = &rt_arrs[i];
        const struct gguf_value *v = gguf_get(c, a->key);
        cr_assert(v != NULL, "%s missing", a->key);
        cr_assert(eq(int, v->type, GGUF_VTYPE_ARRAY));
        cr_assert(eq(int, v->elem_type, a->type), "%s", a->key);
        cr_assert(eq(u64, v->len, a->n), "%s", a->key);
        cr_assert(v->elems == NULL);
        cr_assert(memcmp(v->data, a->elems, a->n * gguf_vtype_size(a->type)) == 0, "%s", a->key);
        cr_assert(eq(sz, v->raw_size, 12 + a->n * gguf_vtype_size(a->type)), "%s", a->key);
    }

    const struct gguf_value *v = gguf_get(c, "arr.str");
    cr_assert(eq(int, v->elem_type, GGUF_VTYPE_STRING));
    cr_assert(eq(u64, v->len, 3));
    static const char *const strs[] = {"", "x", "yz"};
    for (uint64_t i = 0; i < 3; i++) {
        const struct gguf_value *e = gguf_value_elem(v, i);
        cr_assert(e != NULL);
        cr_assert(eq(int, e->type, GGUF_VTYPE_STRING));
        cr_assert(eq(u64, e->len, strlen(strs[i])));
        cr_assert(memcmp(e->data, strs[i], e->len) == 0);
    }
    cr_assert(gguf_value_elem(v, 3) == NULL);

    v = gguf_get(c, "arr.nested");
    cr_assert(eq(int, v->elem_type, GGUF_VTYPE_ARRAY));
    cr_assert(eq(u64, v->len, 2));
    cr_assert(eq(sz, v->raw_size, d->nested.n));
    cr_assert(memcmp(v->raw, d->nested.p, d->nested.n) == 0);
    const struct gguf_value *e0 = gguf_value_elem(v, 0), *e1 = gguf_value_elem(v, 1);
    cr_assert(eq(int, e0->type, GGUF_VTYPE_ARRAY));
    cr_assert(eq(int, e0->elem_type, GGUF_VTYPE_U16));
    cr_assert(eq(u64, e0->len, 3));
    cr_assert(eq(u8, e0->data[2], 2));
    cr_assert(eq(int, e1->elem_type, GGUF_VTYPE_STRING));
    cr_assert(eq(u64, e1->len, 1));
    cr_assert(eq(u64, gguf_value_elem(e1, 0)->len, 1));
    cr_assert(eq(u8, gguf_value_elem(e1, 0)->data[0], 'p'));

    cr_assert(eq(u64, c->n_tensors, RT_N_TENSORS));
    cr_assert(eq(sz, c->data_offset % 64, 0));
    uint64_t expect_off = 0;
    for (size_t i = 0; i < RT_N_TENSORS; i++) {
        const struct rt_tensor *rt = &rt_tensors[i];
        const struct gguf_tensor *t = gguf_get_tensor(c, rt->name);
        cr_assert(t != NULL, "%s missing", rt->name);
        cr_assert(eq(i64, gguf_find_tensor(c, rt->name), (int64_t)i));
        cr_assert(eq(int, t->type, rt->type));
        cr_assert(eq(u32, t->n_dims, rt->n_dims));
        int64_t nel = 1;
        for (uint32_t j = 0; j < 4; j++) {
            int64_t want = j < rt->n_dims ? rt->ne[j] : 1;
            cr_assert(eq(i64, t->ne[j], want), "%s dim %u", rt->name, j);
            nel *= want;
        }
        cr_assert(eq(i64, t->n_elements, nel));
        cr_assert(eq(sz, t->size, rt->size));
        cr_assert(eq(u64, t->offset, expect_off), "%s", rt->name);
        cr_assert(eq(u64, t->offset % 64, 0));
        cr_assert(eq(u64, (uint64_t)((const uint8_t *)t->data - c->base) % 64, 0));
        cr_assert(memcmp(t->data, d->bytes[i], t->size) == 0, "%s data differs", rt->name);
        expect_off += (rt->size + 63) / 64 * 64;
    }
    const struct rt_tensor *last = &rt_tensors[RT_N_TENSORS - 1];
    cr_assert(eq(sz, c->data_size, (size_t)(expect_off - 64 + last->size)));
    /* Like ggml, the writer pads after the last tensor too. */
    cr_assert(eq(sz, c->size, c->data_offset + (size_t)expect_off));
}

Test(gguf, round_trip_every_value_type_and_tensor_type)
{
    struct gguf_writer w;
    struct rt_data d;
    rt_build(&w, &d);
    struct memsink m;
    write_mem(&w, &m);
    cr_assert(eq(int, d.fill_calls, 2));
    cr_assert(eq(sz, m.n % 64, 0));

    struct gguf_ctx c;
    uint8_t *copy;
    struct bb file = {m.p, m.n, m.cap};
    expect_open(&c, &copy, &file);
    rt_check(&c, &d);
    gguf_close(&c);
    cr_assert(c.kv == NULL && c.path == NULL);
    gguf_close(&c); /* twice is fine */
    free(copy);
    free(m.p);
    gguf_writer_free(&w);
    rt_data_free(&d);
}

Test(gguf, round_trip_through_a_file_and_mmap)
{
    char dir[64], path[128];
    mkscratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    struct gguf_writer w;
    struct rt_data d;
    rt_build(&w, &d);
    struct plumb_err err = {{0}};
    cr_assert(eq(int, gguf_writer_write_file(&w, path, &err), 0), "%s", err.msg);
    cr_assert(eq(int, count_entries(dir), 1));

    struct gguf_ctx c;
    cr_assert(eq(int, gguf_open(&c, path, &err), 0), "%s", err.msg);
    cr_assert(c.mapped);
    cr_assert(eq(str, c.path, path));
    rt_check(&c, &d);
    gguf_close(&c);
    gguf_writer_free(&w);
    rt_data_free(&d);
    rm_scratch(dir);
}

Test(gguf, copying_every_value_raw_reproduces_the_file)
{
    struct gguf_writer w;
    struct rt_data d;
    rt_build(&w, &d);
    struct memsink m;
    write_mem(&w, &m);

    struct gguf_ctx c;
    struct plumb_err err;
    cr_assert(eq(int, gguf_open_memory(&c, m.p, m.n, "mem", &err), 0), "%s", err.msg);
    struct gguf_writer w2;
    gguf_writer_init(&w2);
    for (uint64_t i = 0; i < c.n_kv; i++) {
        const struct gguf_kv *kv = &c.kv[i];
        cr_assert(eq(int, gguf_writer_raw(&w2, kv->key, kv->value.type, kv->value.raw,
                                          kv->value.raw_size), 0), "%s", w2.err.msg);
    }
    cr_assert(eq(u32, w2.alignment, 64));
    for (uint64_t i = 0; i < c.n_tensors; i++) {
        const struct gguf_tensor *t = &c.tensors[i];
        cr_assert(eq(int, gguf_writer_tensor(&w2, t->name, t->type, t->n_dims, t->ne, t->data,
                                             t->size), 0));
    }
    struct memsink m2;
    write_mem(&w2, &m2);
    cr_assert(eq(sz, m2.n, m.n));
    cr_assert(memcmp(m2.p, m.p, m.n) == 0);

    gguf_close(&c);
    free(m.p);
    free(m2.p);
    gguf_writer_free(&w);
    gguf_writer_free(&w2);
    rt_data_free(&d);
}

/* A tiny file assembled here, byte by byte, read back field by field. */
Test(gguf, reads_a_hand_assembled_file)
{
    struct bb b = {0};
    bb_header(&b, 3, 1, 2);
    size_t kv0 = b.n;
    bb_str(&b, "general.name"); /* 24 */
    bb_i32(&b, GGUF_VTYPE_STRING);
    size_t name_raw = b.n;
    bb_str(&b, "tiny");
    size_t kv1 = b.n;
    bb_str(&b, "tok");
    bb_i32(&b, GGUF_VTYPE_ARRAY);
    size_t tok_raw = b.n;
    bb_i32(&b, GGUF_VTYPE_U32);
    bb_u64(&b, 3);
    bb_u32(&b, 1);
    bb_u32(&b, 2);
    bb_u32(&b, 0xdeadbeef);
    size_t ti = b.n;
    int64_t ne[2] = {4, 2};
    bb_tinfo(&b, "w", 2, ne, PLUMB_TYPE_F32, 0);
    size_t infos_end = b.n;
    bb_pad(&b, 32);
    size_t data_at = b.n;
    for (int i = 0; i < 8; i++) {
        float f = (float)i;
        bb_bytes(&b, &f, 4);
    }
    cr_assert(eq(sz, kv0, 24));
    cr_assert(eq(sz, infos_end, 24 + 8 + 12 + 4 + 8 + 4 + 8 + 3 + 4 + 4 + 8 + 12 + 8 + 1 + 4 + 16 + 4 + 8));

    struct gguf_ctx c;
    uint8_t *copy;
    expect_open(&c, &copy, &b);
    cr_assert(eq(u32, c.version, 3));
    cr_assert(eq(u32, c.alignment, 32));
    cr_assert(eq(u64, c.n_kv, 2));
    cr_assert(eq(str, c.kv[0].key, "general.name"));
    cr_assert(eq(u64, c.kv[0].file_offset, kv0));
    cr_assert(eq(u64, c.kv[1].file_offset, kv1));
    const struct gguf_value *v = &c.kv[0].value;
    cr_assert(eq(int, v->type, GGUF_VTYPE_STRING));
    cr_assert(eq(u64, v->len, 4));
    cr_assert(v->data == copy + name_raw + 8);
    cr_assert(v->raw == copy + name_raw);
    cr_assert(eq(sz, v->raw_size, 12));
    v = gguf_get(&c, "tok");
    cr_assert(eq(i64, gguf_find_key(&c, "tok"), 1));
    cr_assert(eq(i64, gguf_find_key(&c, "nope"), -1));
    cr_assert(gguf_get(&c, "nope") == NULL);
    cr_assert(eq(int, v->type, GGUF_VTYPE_ARRAY));
    cr_assert(eq(int, v->elem_type, GGUF_VTYPE_U32));
    cr_assert(eq(u64, v->len, 3));
    cr_assert(v->data == copy + tok_raw + 12);
    cr_assert(v->raw == copy + tok_raw);
    cr_assert(eq(sz, v->raw_size, 24));
    cr_assert(eq(u8, v->data[8], 0xef));

    cr_assert(eq(u64, c.n_tensors, 1));
    const struct gguf_tensor *t = &c.tensors[0];
    cr_assert(eq(str, t->name, "w"));
    cr_assert(eq(u64, t->file_offset, ti));
    cr_assert(eq(u32, t->n_dims, 2));
    cr_assert(eq(i64, t->ne[0], 4));
    cr_assert(eq(i64, t->ne[1], 2));
    cr_assert(eq(i64, t->ne[2], 1));
    cr_assert(eq(i64, t->ne[3], 1));
    cr_assert(eq(i64, t->n_elements, 8));
    cr_assert(eq(sz, t->size, 32));
    cr_assert(eq(int, t->type, PLUMB_TYPE_F32));
    cr_assert(eq(sz, c.data_offset, data_at));
    cr_assert(eq(sz, c.data_offset, 160));
    cr_assert(eq(sz, c.data_size, 32));
    cr_assert(t->data == copy + data_at);
    float f7;
    memcpy(&f7, (const uint8_t *)t->data + 28, 4);
    cr_assert(eq(flt, f7, 7.0f));
    cr_assert(gguf_get_tensor(&c, "x") == NULL);
    cr_assert(eq(i64, gguf_find_tensor(&c, "x"), -1));
    gguf_close(&c);
    free(copy);
    bb_free(&b);
}

/* The writer's bytes for a tiny file, against an image written out here. */
Test(gguf_writer, emits_the_expected_bytes)
{
    static const uint8_t expect[128] = {
        'G', 'G', 'U', 'F', 3, 0, 0, 0,        /* magic, version 3 */
        1, 0, 0, 0, 0, 0, 0, 0,                /* 1 tensor */
        1, 0, 0, 0, 0, 0, 0, 0,                /* 1 kv */
        1, 0, 0, 0, 0, 0, 0, 0, 'a',           /* key "a" */
        0, 0, 0, 0, 7,                         /* u8 7 */
        1, 0, 0, 0, 0, 0, 0, 0, 't',           /* tensor "t" */
        1, 0, 0, 0,                            /* n_dims 1 */
        2, 0, 0, 0, 0, 0, 0, 0,                /* ne[0] = 2 */
        0, 0, 0, 0,                            /* f32 */
        0, 0, 0, 0, 0, 0, 0, 0,                /* offset 0 */
        /* 71 bytes so far; zero padding to 96 */
        [96] = 0x00, 0x00, 0x80, 0x3f,         /* 1.0f */
        0x00, 0x00, 0x00, 0x40,                /* 2.0f */
        /* zero padding to 128 */
    };
    struct gguf_writer w;
    gguf_writer_init(&w);
    const float data[2] = {1.0f, 2.0f};
    const int64_t ne[1] = {2};
    cr_assert(eq(int, gguf_writer_u8(&w, "a", 7), 0));
    cr_assert(eq(int, gguf_writer_tensor(&w, "t", PLUMB_TYPE_F32, 1, ne, data, 8), 0));
    struct memsink m;
    write_mem(&w, &m);
    cr_assert(eq(sz, m.n, sizeof expect));
    for (size_t i = 0; i < sizeof expect; i++)
        cr_assert(eq(u8, m.p[i], expect[i]), "byte %zu", i);
    free(m.p);
    gguf_writer_free(&w);
}

Test(gguf, reads_version_2_files)
{
    struct bb b = {0};
    bb_header(&b, 2, 1, 1);
    bb_str(&b, "k");
    bb_i32(&b, GGUF_VTYPE_U32);
    bb_u32(&b, 9);
    int64_t ne[1] = {1};
    bb_tinfo(&b, "x", 1, ne, PLUMB_TYPE_F32, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 4);
    struct gguf_ctx c;
    uint8_t *copy;
    expect_open(&c, &copy, &b);
    cr_assert(eq(u32, c.version, 2));
    cr_assert(eq(u64, get_u64(&c, "k"), 9));
    gguf_close(&c);
    free(copy);
    bb_free(&b);
}

/* ggml reads a bool as an int8 and tests it against 0, so any byte opens. */
Test(gguf, any_nonzero_bool_byte_is_true_as_in_ggml)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 2);
    bb_str(&b, "b");
    bb_i32(&b, GGUF_VTYPE_BOOL);
    bb_u8(&b, 2);
    bb_str(&b, "z");
    bb_i32(&b, GGUF_VTYPE_BOOL);
    bb_u8(&b, 0);
    struct gguf_ctx c;
    uint8_t *copy;
    expect_open(&c, &copy, &b);
    bool v = false;
    struct plumb_err err;
    cr_assert(eq(int, gguf_value_bool(gguf_get(&c, "b"), "b", &v, &err), 0));
    cr_assert(v);
    cr_assert(eq(int, gguf_value_bool(gguf_get(&c, "z"), "z", &v, &err), 0));
    cr_assert(eq(int, v, false));
    gguf_close(&c);
    free(copy);
    bb_free(&b);
}

Test(gguf, accepts_a_file_without_padding_after_the_last_tensor)
{
    struct bb b = {0};
    bb_header(&b, 3, 1, 0);
    int64_t ne[1] = {3};
    bb_tinfo(&b, "x", 1, ne, PLUMB_TYPE_F32, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 12); /* 12 bytes of data, no padding to 32 after them */
    struct gguf_ctx c;
    uint8_t *copy;
    expect_open(&c, &copy, &b);
    cr_assert(eq(sz, c.data_size, 12));
    cr_assert(eq(sz, c.data_offset + c.data_size, b.n));
    gguf_close(&c);
    free(copy);
    bb_free(&b);
}

Test(gguf, accepts_tensors_stored_out_of_order_with_gaps)
{
    struct bb b = {0};
    bb_header(&b, 3, 2, 0);
    int64_t ne[1] = {8};
    bb_tinfo(&b, "late", 1, ne, PLUMB_TYPE_F32, 96);
    bb_tinfo(&b, "early", 1, ne, PLUMB_TYPE_F32, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 128);
    struct gguf_ctx c;
    uint8_t *copy;
    expect_open(&c, &copy, &b);
    cr_assert(eq(sz, c.data_size, 128));
    gguf_close(&c);
    free(copy);
    bb_free(&b);
}

Test(gguf, a_file_without_tensors_needs_no_padding)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_i32(&b, GGUF_VTYPE_U8);
    bb_u8(&b, 1);
    struct gguf_ctx c;
    uint8_t *copy;
    expect_open(&c, &copy, &b);
    cr_assert(eq(u64, c.n_tensors, 0));
    cr_assert(eq(sz, c.data_size, 0));
    cr_assert(c.data_offset <= c.size);
    gguf_close(&c);
    free(copy);
    bb_free(&b);
}

static void bb_nested_kv(struct bb *b, unsigned levels, size_t *body)
{
    bb_str(b, "deep");
    bb_i32(b, GGUF_VTYPE_ARRAY);
    *body = b->n;
    for (unsigned i = 1; i < levels; i++) {
        bb_i32(b, GGUF_VTYPE_ARRAY);
        bb_u64(b, 1);
    }
    bb_i32(b, GGUF_VTYPE_U8);
    bb_u64(b, 1);
    bb_u8(b, 7);
}

Test(gguf, reads_arrays_nested_to_the_maximum_depth)
{
    struct bb b = {0};
    size_t body;
    bb_header(&b, 3, 0, 1);
    bb_nested_kv(&b, GGUF_MAX_DEPTH, &body);
    struct gguf_ctx c;
    uint8_t *copy;
    expect_open(&c, &copy, &b);
    const struct gguf_value *v = gguf_get(&c, "deep");
    for (int i = 1; i < GGUF_MAX_DEPTH; i++) {
        cr_assert(eq(int, v->elem_type, GGUF_VTYPE_ARRAY));
        v = gguf_value_elem(v, 0);
        cr_assert(v != NULL);
    }
    cr_assert(eq(int, v->elem_type, GGUF_VTYPE_U8));
    cr_assert(eq(u8, v->data[0], 7));
    gguf_close(&c);
    free(copy);
    bb_free(&b);
}

Test(gguf, typed_reads_convert_integers_only_when_they_fit)
{
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_u8(&w, "u8", 5);
    gguf_writer_i8(&w, "neg", -1);
    gguf_writer_u64(&w, "big", UINT64_MAX);
    gguf_writer_i64(&w, "min", INT64_MIN);
    gguf_writer_str(&w, "s", "x");
    gguf_writer_f32(&w, "f", 0.25f);
    cr_assert(eq(int, w.failed, false));
    struct memsink m;
    write_mem(&w, &m);
    struct gguf_ctx c;
    struct plumb_err err;
    cr_assert(eq(int, gguf_open_memory(&c, m.p, m.n, "mem", &err), 0), "%s", err.msg);
    uint64_t u;
    int64_t i;
    double d;
    bool b;
    const char *s;
    size_t n;
    cr_assert(eq(int, gguf_value_u64(gguf_get(&c, "u8"), "u8", &u, &err), 0));
    cr_assert(eq(u64, u, 5));
    cr_assert(eq(int, gguf_value_i64(gguf_get(&c, "neg"), "neg", &i, &err), 0));
    cr_assert(eq(i64, i, -1));
    cr_assert(eq(int, gguf_value_u64(gguf_get(&c, "neg"), "neg", &u, &err), -1));
    cr_assert(eq(str, err.msg, "neg: value -1 does not fit in u64"));
    cr_assert(eq(int, gguf_value_i64(gguf_get(&c, "big"), "big", &i, &err), -1));
    cr_assert(eq(str, err.msg, "big: value 18446744073709551615 does not fit in i64"));
    cr_assert(eq(int, gguf_value_i64(gguf_get(&c, "min"), "min", &i, &err), 0));
    cr_assert(eq(i64, i, INT64_MIN));
    cr_assert(eq(int, gguf_value_u64(gguf_get(&c, "s"), "s", &u, &err), -1));
    cr_assert(eq(str, err.msg, "s: has type string, expected an integer"));
    cr_assert(eq(int, gguf_value_u64(gguf_get(&c, "f"), "f", &u, &err), -1));
    cr_assert(eq(int, gguf_value_f64(gguf_get(&c, "f"), "f", &d, &err), 0));
    cr_assert(eq(dbl, d, 0.25));
    cr_assert(eq(int, gguf_value_f64(gguf_get(&c, "u8"), "u8", &d, &err), -1));
    cr_assert(eq(int, gguf_value_bool(gguf_get(&c, "u8"), "u8", &b, &err), -1));
    cr_assert(eq(str, err.msg, "u8: has type u8, expected bool"));
    cr_assert(eq(int, gguf_value_str(gguf_get(&c, "u8"), "u8", &s, &n, &err), -1));
    cr_assert(eq(int, gguf_value_u64(gguf_get(&c, "missing"), "missing", &u, &err), -1));
    cr_assert(eq(str, err.msg, "missing: not found"));
    cr_assert(gguf_value_elem(gguf_get(&c, "s"), 0) == NULL);
    cr_assert(eq(str, (char *)gguf_vtype_name(GGUF_VTYPE_ARRAY), "array"));
    cr_assert(eq(str, (char *)gguf_vtype_name(13), "unknown"));
    cr_assert(eq(sz, gguf_vtype_size(GGUF_VTYPE_BOOL), 1));
    cr_assert(eq(sz, gguf_vtype_size(GGUF_VTYPE_STRING), 0));
    gguf_close(&c);
    free(m.p);
    gguf_writer_free(&w);
}

Test(gguf, open_refuses_empty_files_directories_and_missing_files)
{
    char dir[64], path[128];
    struct gguf_ctx c;
    struct plumb_err err;
    mkscratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/empty.gguf", dir);
    write_text(path, "");
    cr_assert(eq(int, gguf_open(&c, path, &err), -1));
    cr_assert(strstr(err.msg, "empty file") != NULL, "%s", err.msg);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0);
    cr_assert(c.path == NULL && c.base == NULL);
    cr_assert(eq(int, gguf_open(&c, dir, &err), -1));
    cr_assert(strstr(err.msg, "is a directory") != NULL, "%s", err.msg);
    snprintf(path, sizeof path, "%s/missing.gguf", dir);
    cr_assert(eq(int, gguf_open(&c, path, &err), -1));
    cr_assert(strstr(err.msg, "cannot open") != NULL, "%s", err.msg);
    snprintf(path, sizeof path, "%s/text.gguf", dir);
    write_text(path, "hello world, not a model");
    cr_assert(eq(int, gguf_open(&c, path, &err), -1));
    cr_assert(strstr(err.msg, "offset 0: bad magic 'hell'") != NULL, "%s", err.msg);
    rm_scratch(dir);
}

/* A FIFO with no writer: refused as not a regular file (mmap needs one), at
 * once. A blocking open() would wait forever for a writer; the timeout on
 * this test is what catches that. */
Test(gguf, open_refuses_a_fifo_without_waiting_for_a_writer, .timeout = 10)
{
    char dir[64], path[128];
    struct gguf_ctx c;
    struct plumb_err err;
    mkscratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/pipe.gguf", dir);
    cr_assert(eq(int, mkfifo(path, 0600), 0));
    cr_assert(eq(int, gguf_open(&c, path, &err), -1));
    char want[200];
    snprintf(want, sizeof want, "%s: not a regular file", path);
    cr_assert(eq(str, err.msg, want));
    struct stat st;
    if (stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode)) { /* unless something replaced it */
        cr_assert(eq(int, gguf_open(&c, "/dev/null", &err), -1));
        cr_assert(eq(str, err.msg, "/dev/null: not a regular file"));
    }
    rm_scratch(dir);
}

Test(gguf, close_and_free_are_safe_on_zeroed_objects)
{
    struct gguf_ctx c;
    memset(&c, 0, sizeof c);
    gguf_close(&c);
    gguf_close(&c);
    struct gguf_writer w;
    memset(&w, 0, sizeof w);
    gguf_writer_free(&w);
    gguf_writer_init(&w);
    gguf_writer_free(&w);
    gguf_writer_free(&w);
    cr_assert(eq(ptr, c.path, NULL));
}

/* ---- the rejection battery: one file per reason ---- */

Test(gguf_reject, an_empty_buffer)
{
    struct bb b = {0};
    expect_reject(&b, 0, "empty file");
}

Test(gguf_reject, bad_magic)
{
    struct bb b = {0};
    bb_bytes(&b, "GGML", 4);
    bb_u32(&b, 3);
    bb_u64(&b, 0);
    bb_u64(&b, 0);
    expect_reject(&b, 0, "bad magic 'GGML' (47 47 4d 4c), expected 'GGUF'");
    bb_free(&b);
}

Test(gguf_reject, version_0_1_and_4)
{
    static const uint32_t bad[] = {0, 1, 4, 0xffff};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct bb b = {0};
        bb_header(&b, bad[i], 0, 0);
        char frag[64];
        snprintf(frag, sizeof frag, "unsupported version %u, expected 2 or 3", bad[i]);
        expect_reject(&b, 4, frag);
        bb_free(&b);
    }
}

Test(gguf_reject, a_byte_swapped_version)
{
    struct bb b = {0};
    bb_header(&b, 0x03000000u, 0, 0);
    expect_reject(&b, 4, "byte-swapped (big-endian) file");
    bb_free(&b);
}

Test(gguf_reject, a_tensor_count_of_2_to_the_60_at_once)
{
    struct bb b = {0};
    bb_header(&b, 3, 1ull << 60, 0);
    bb_zeros(&b, 1000);
    expect_reject(&b, 8, "tensor count 1152921504606846976 cannot fit in the 1000 bytes after the header");
    bb_free(&b);
}

Test(gguf_reject, a_tensor_count_too_large_for_what_follows_the_metadata)
{
    struct bb b = {0};
    bb_header(&b, 3, 2, 1);
    bb_str(&b, "k");
    bb_i32(&b, GGUF_VTYPE_STRING);
    bb_str(&b, "0123456789012345678901234567890123456789");
    bb_zeros(&b, 40); /* room for 2 tensor infos counting the metadata, not after it */
    expect_reject(&b, 8, "tensor count 2 cannot fit in the 40 bytes after the metadata");
    bb_free(&b);
}

Test(gguf_reject, a_metadata_count_that_cannot_fit)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, UINT64_MAX);
    bb_zeros(&b, 100);
    expect_reject(&b, 16, "metadata count 18446744073709551615 cannot fit");
    bb_free(&b);
}

Test(gguf_reject, a_key_of_2_to_the_62_bytes_at_once)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_u64(&b, 1ull << 62);
    bb_zeros(&b, 32);
    expect_reject(&b, 24, "key length 4611686018427387904 exceeds the 1073741824-byte (1 GiB) limit");
    bb_free(&b);
}

Test(gguf_reject, a_string_longer_than_the_bytes_left)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_i32(&b, GGUF_VTYPE_STRING);
    size_t at = b.n;
    bb_u64(&b, 1000);
    bb_zeros(&b, 10);
    expect_reject(&b, at, "key 'k': string length 1000 exceeds the 10 bytes that remain");
    bb_free(&b);
}

Test(gguf_reject, a_string_value_over_1_gib)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_i32(&b, GGUF_VTYPE_STRING);
    size_t at = b.n;
    bb_u64(&b, GGUF_MAX_STRING + 1);
    bb_zeros(&b, 10);
    expect_reject(&b, at, "string length 1073741825 exceeds the 1073741824-byte (1 GiB) limit");
    bb_free(&b);
}

Test(gguf_reject, an_unknown_value_type)
{
    static const int32_t bad[] = {13, -1, 1000};
    for (size_t i = 0; i < 3; i++) {
        struct bb b = {0};
        bb_header(&b, 3, 0, 1);
        bb_str(&b, "k");
        size_t at = b.n;
        bb_i32(&b, bad[i]);
        bb_zeros(&b, 8);
        char frag[64];
        snprintf(frag, sizeof frag, "key 'k': value type %d is unknown, expected 0..12", bad[i]);
        expect_reject(&b, at, frag);
        bb_free(&b);
    }
}

Test(gguf_reject, an_unknown_array_element_type)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_i32(&b, GGUF_VTYPE_ARRAY);
    size_t at = b.n;
    bb_i32(&b, 13);
    bb_u64(&b, 0);
    expect_reject(&b, at, "array element type 13 is unknown, expected 0..12");
    bb_free(&b);
}

Test(gguf_reject, an_array_of_more_than_2_to_the_30_elements)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "k");
    bb_i32(&b, GGUF_VTYPE_ARRAY);
    bb_i32(&b, GGUF_VTYPE_U8);
    size_t at = b.n;
    bb_u64(&b, GGUF_MAX_ARRAY + 1);
    bb_zeros(&b, 16);
    expect_reject(&b, at, "array of 1073741825 elements exceeds the limit of 1073741824");
    bb_free(&b);
}

Test(gguf_reject, array_counts_that_cannot_fit_for_each_element_kind)
{
    /* 5 u32 need 20 bytes, 5 strings at least 40, 5 arrays at least 60;
     * each file has 19, 39 and 59 bytes after the count. */
    static const struct {
        int32_t et;
        size_t room;
        const char *frag;
    } cases[] = {
        {GGUF_VTYPE_U32, 19, "array of 5 u32 elements needs at least 20 bytes, 19 remain"},
        {GGUF_VTYPE_STRING, 39, "array of 5 string elements needs at least 40 bytes, 39 remain"},
        {GGUF_VTYPE_ARRAY, 59, "array of 5 array elements needs at least 60 bytes, 59 remain"},
    };
    for (size_t i = 0; i < 3; i++) {
        struct bb b = {0};
        bb_header(&b, 3, 0, 1);
        bb_str(&b, "k");
        bb_i32(&b, GGUF_VTYPE_ARRAY);
        bb_i32(&b, cases[i].et);
        size_t at = b.n;
        bb_u64(&b, 5);
        bb_zeros(&b, cases[i].room);
        expect_reject(&b, at, cases[i].frag);
        bb_free(&b);
    }
}

Test(gguf_reject, a_string_array_of_2_to_the_30_elements_in_a_small_file)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "tokenizer.ggml.tokens");
    bb_i32(&b, GGUF_VTYPE_ARRAY);
    bb_i32(&b, GGUF_VTYPE_STRING);
    size_t at = b.n;
    bb_u64(&b, GGUF_MAX_ARRAY);
    bb_zeros(&b, 4096);
    expect_reject(&b, at, "array of 1073741824 string elements needs at least 8589934592 bytes");
    bb_free(&b);
}

Test(gguf_reject, arrays_nested_deeper_than_the_limit)
{
    struct bb b = {0};
    size_t body;
    bb_header(&b, 3, 0, 1);
    bb_nested_kv(&b, GGUF_MAX_DEPTH + 1, &body);
    expect_reject(&b, body + 12 * GGUF_MAX_DEPTH, "array nested 9 deep, at most 8 levels allowed");
    bb_free(&b);
}

Test(gguf_reject, an_empty_key)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "");
    bb_i32(&b, GGUF_VTYPE_U8);
    bb_u8(&b, 0);
    bb_zeros(&b, 8);
    expect_reject(&b, 24, "metadata entry 0: key is empty");
    bb_free(&b);
}

Test(gguf_reject, a_key_containing_nul)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_strn(&b, "abc\0def", 7);
    bb_i32(&b, GGUF_VTYPE_U8);
    bb_u8(&b, 0);
    expect_reject(&b, 24, "key contains a NUL byte at position 3");
    bb_free(&b);
}

Test(gguf_reject, a_duplicate_key)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 3);
    bb_str(&b, "a.b");
    bb_i32(&b, GGUF_VTYPE_U8);
    bb_u8(&b, 0);
    bb_str(&b, "c");
    bb_i32(&b, GGUF_VTYPE_U8);
    bb_u8(&b, 0);
    size_t at = b.n;
    bb_str(&b, "a.b");
    bb_i32(&b, GGUF_VTYPE_U32);
    bb_u32(&b, 0);
    expect_reject(&b, at, "key 'a.b': duplicate key (first at offset 24)");
    bb_free(&b);
}

Test(gguf_reject, an_alignment_that_is_not_u32)
{
    struct bb b = {0};
    bb_header(&b, 3, 0, 1);
    bb_str(&b, "general.alignment");
    size_t at = b.n;
    bb_i32(&b, GGUF_VTYPE_U64);
    bb_u64(&b, 32);
    expect_reject(&b, at, "general.alignment has type u64, expected u32");
    bb_free(&b);
}

Test(gguf_reject, an_alignment_of_0_or_not_a_power_of_two)
{
    static const uint32_t bad[] = {0, 48, 3, 0x80000001u};
    for (size_t i = 0; i < 4; i++) {
        struct bb b = {0};
        bb_header(&b, 3, 0, 1);
        bb_str(&b, "general.alignment");
        bb_i32(&b, GGUF_VTYPE_U32);
        size_t at = b.n;
        bb_u32(&b, bad[i]);
        char frag[64];
        snprintf(frag, sizeof frag, "general.alignment is %u, expected a power of two", bad[i]);
        expect_reject(&b, at, frag);
        bb_free(&b);
    }
}

Test(gguf_reject, a_tensor_name_of_64_bytes)
{
    char name[65];
    memset(name, 'n', 64);
    name[64] = '\0';
    struct bb b = {0};
    bb_header(&b, 3, 1, 0);
    int64_t ne[1] = {1};
    bb_tinfo(&b, name, 1, ne, PLUMB_TYPE_F32, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 32);
    expect_reject(&b, 24, "tensor 0: name is 64 bytes, expected at most 63");
    bb_free(&b);

    /* 63 is fine */
    name[63] = '\0';
    bb_header(&b, 3, 1, 0);
    bb_tinfo(&b, name, 1, ne, PLUMB_TYPE_F32, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 32);
    struct gguf_ctx c;
    uint8_t *copy;
    expect_open(&c, &copy, &b);
    cr_assert(eq(str, c.tensors[0].name, name));
    gguf_close(&c);
    free(copy);
    bb_free(&b);
}

Test(gguf_reject, a_tensor_name_containing_nul)
{
    struct bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_strn(&b, "ab\0", 3);
    bb_u32(&b, 1);
    bb_i64(&b, 1);
    bb_i32(&b, 0);
    bb_u64(&b, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 32);
    expect_reject(&b, 24, "name contains a NUL byte at position 2");
    bb_free(&b);
}

Test(gguf_reject, a_duplicate_tensor_name)
{
    struct bb b = {0};
    bb_header(&b, 3, 3, 0);
    int64_t ne[1] = {8};
    bb_tinfo(&b, "w", 1, ne, PLUMB_TYPE_F32, 0);
    bb_tinfo(&b, "v", 1, ne, PLUMB_TYPE_F32, 32);
    size_t at = b.n;
    bb_tinfo(&b, "w", 1, ne, PLUMB_TYPE_F32, 64);
    bb_pad(&b, 32);
    bb_zeros(&b, 96);
    expect_reject(&b, at, "tensor 'w': duplicate tensor name (first at offset 24)");
    bb_free(&b);
}

Test(gguf_reject, n_dims_0_or_more_than_4)
{
    static const uint32_t bad[] = {0, 5, 0xffffffffu};
    for (size_t i = 0; i < 3; i++) {
        struct bb b = {0};
        bb_header(&b, 3, 1, 0);
        bb_str(&b, "t");
        size_t at = b.n;
        bb_u32(&b, bad[i]);
        bb_zeros(&b, 64);
        char frag[64];
        snprintf(frag, sizeof frag, "tensor 't': n_dims is %u, expected 1..4", bad[i]);
        expect_reject(&b, at, frag);
        bb_free(&b);
    }
}

Test(gguf_reject, a_dimension_of_0)
{
    struct bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_str(&b, "blk.3.attn_q.weight");
    bb_u32(&b, 2);
    bb_i64(&b, 32);
    size_t at = b.n;
    bb_i64(&b, 0);
    bb_i32(&b, PLUMB_TYPE_F32);
    bb_u64(&b, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 128);
    expect_reject(&b, at, "tensor 'blk.3.attn_q.weight': dim 1 is 0, expected >= 1");
    bb_free(&b);
}

Test(gguf_reject, a_negative_dimension)
{
    struct bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_str(&b, "t");
    bb_u32(&b, 1);
    size_t at = b.n;
    bb_i64(&b, -5);
    bb_i32(&b, PLUMB_TYPE_F32);
    bb_u64(&b, 0);
    bb_zeros(&b, 64);
    expect_reject(&b, at, "dim 0 is -5, expected >= 1");
    bb_free(&b);
}

Test(gguf_reject, an_element_count_overflowing_int64)
{
    struct bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_str(&b, "t");
    bb_u32(&b, 3);
    bb_i64(&b, 1ll << 32);
    bb_i64(&b, 1ll << 30);
    size_t at = b.n;
    bb_i64(&b, 4);
    bb_i32(&b, PLUMB_TYPE_F32);
    bb_u64(&b, 0);
    bb_zeros(&b, 64);
    expect_reject(&b, at, "element count overflows int64 at dim 2");
    bb_free(&b);
}

Test(gguf_reject, a_byte_size_overflowing)
{
    struct bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_str(&b, "t");
    bb_u32(&b, 1);
    bb_i64(&b, 1ll << 62); /* 2^62 f32 elements: 2^64 bytes */
    size_t at = b.n;
    bb_i32(&b, PLUMB_TYPE_F32);
    bb_u64(&b, 0);
    bb_zeros(&b, 64);
    expect_reject(&b, at, "byte size of 4611686018427387904 f32 elements overflows");
    bb_free(&b);
}

Test(gguf_reject, unknown_or_retired_ggml_types)
{
    static const int32_t bad[] = {4, 5, 31, 32, 33, 36, 37, 38, 1000, INT32_MAX, -1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct bb b = {0};
        bb_header(&b, 3, 1, 0);
        bb_str(&b, "t");
        bb_u32(&b, 1);
        bb_i64(&b, 256);
        size_t at = b.n;
        bb_i32(&b, bad[i]);
        bb_u64(&b, 0);
        bb_zeros(&b, 64);
        char frag[80];
        snprintf(frag, sizeof frag, "type %d is not a known ggml type", bad[i]);
        expect_reject(&b, at, frag);
        bb_free(&b);
    }
}

Test(gguf_reject, a_row_that_is_not_whole_blocks)
{
    struct bb b = {0};
    bb_header(&b, 3, 1, 0);
    bb_str(&b, "t");
    bb_u32(&b, 2);
    size_t at = b.n;
    bb_i64(&b, 33);
    bb_i64(&b, 2);
    bb_i32(&b, PLUMB_TYPE_Q8_0);
    bb_u64(&b, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 128);
    expect_reject(&b, at, "row length 33 is not a multiple of q8_0's block size 32");
    bb_free(&b);
}

Test(gguf_reject, an_offset_not_a_multiple_of_the_alignment)
{
    struct bb b = {0};
    bb_header(&b, 3, 1, 1);
    bb_str(&b, "general.alignment");
    bb_i32(&b, GGUF_VTYPE_U32);
    bb_u32(&b, 16);
    int64_t ne[1] = {4};
    size_t at = bb_tinfo(&b, "t", 1, ne, PLUMB_TYPE_F32, 40);
    bb_pad(&b, 16);
    bb_zeros(&b, 64);
    expect_reject(&b, at, "offset 40 is not a multiple of the alignment 16");
    bb_free(&b);
}

Test(gguf_reject, tensor_data_past_the_end_of_the_file)
{
    static const uint64_t offs[] = {32, 1ull << 40, UINT64_MAX - 31};
    for (size_t i = 0; i < 3; i++) {
        struct bb b = {0};
        bb_header(&b, 3, 1, 0);
        int64_t ne[1] = {8};
        size_t at = bb_tinfo(&b, "t", 1, ne, PLUMB_TYPE_F32, offs[i]);
        bb_pad(&b, 32);
        bb_zeros(&b, 40);
        char frag[96];
        snprintf(frag, sizeof frag, "tensor 't': data at offset %llu, 32 bytes, runs past the end",
                 (unsigned long long)offs[i]);
        expect_reject(&b, at, frag);
        bb_free(&b);
    }
}

Test(gguf_reject, the_padding_before_the_data_running_past_the_end)
{
    struct bb b = {0};
    bb_header(&b, 3, 1, 0);
    int64_t ne[1] = {1};
    bb_tinfo(&b, "t", 1, ne, PLUMB_TYPE_F32, 0);
    size_t at = b.n;
    bb_zeros(&b, 3);
    expect_reject(&b, at, "data section would start at 64");
    bb_free(&b);
}

Test(gguf_reject, overlapping_tensor_data)
{
    struct bb b = {0};
    bb_header(&b, 3, 3, 0);
    int64_t ne8[1] = {8}, ne16[1] = {16};
    bb_tinfo(&b, "a", 1, ne8, PLUMB_TYPE_F32, 0);
    bb_tinfo(&b, "c", 1, ne8, PLUMB_TYPE_F32, 96);
    size_t at = bb_tinfo(&b, "b", 1, ne16, PLUMB_TYPE_F32, 32); /* [32, 96) is fine */
    bb_pad(&b, 32);
    bb_zeros(&b, 128);
    struct gguf_ctx c;
    uint8_t *copy;
    expect_open(&c, &copy, &b);
    gguf_close(&c);
    free(copy);
    bb_free(&b);

    /* b grows to 20 floats: [32, 112) runs into c at 96 */
    int64_t ne20[1] = {20};
    bb_header(&b, 3, 3, 0);
    bb_tinfo(&b, "a", 1, ne8, PLUMB_TYPE_F32, 0);
    at = bb_tinfo(&b, "c", 1, ne8, PLUMB_TYPE_F32, 96);
    bb_tinfo(&b, "b", 1, ne20, PLUMB_TYPE_F32, 32);
    bb_pad(&b, 32);
    bb_zeros(&b, 128);
    expect_reject(&b, at, "tensor 'c': data at offset 96 overlaps tensor 'b' (offset 32, 80 bytes)");
    bb_free(&b);

    /* two tensors at the same offset */
    bb_header(&b, 3, 2, 0);
    bb_tinfo(&b, "x", 1, ne8, PLUMB_TYPE_F32, 0);
    at = bb_tinfo(&b, "y", 1, ne8, PLUMB_TYPE_F32, 0);
    bb_pad(&b, 32);
    bb_zeros(&b, 64);
    expect_reject(&b, at, "tensor 'y': data at offset 0 overlaps tensor 'x'");
    bb_free(&b);
}

Test(gguf_reject, truncated_fields_name_what_is_missing)
{
    struct bb b = {0};
    bb_bytes(&b, "GGUF", 4);
    bb_u32(&b, 3);
    bb_u32(&b, 0);
    expect_reject(&b, 8, "truncated: tensor count needs 8 bytes, 4 remain");
    bb_free(&b);
    bb_bytes(&b, "GG", 2);
    expect_reject(&b, 0, "truncated: magic needs 4 bytes, 2 remain");
    bb_free(&b);
}

/* ---- truncation and corruption ---- */

/* A small valid file touching every structure; the last tensor's size is a
 * multiple of the alignment, so no byte of it is optional. */
static void small_file(struct memsink *m)
{
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_alignment(&w, 32);
    gguf_writer_str(&w, "general.name", "tiny");
    gguf_writer_u32(&w, "n", 7);
    gguf_writer_bool(&w, "b", true);
    gguf_writer_f64(&w, "f", 1.25);
    static const int32_t ids[] = {1, -2, 3};
    gguf_writer_arr(&w, "ids", GGUF_VTYPE_I32, ids, 3);
    static const char *const strs[] = {"a", "", "bc"};
    gguf_writer_arr_str(&w, "toks", strs, 3);
    struct bb nested = {0};
    nested_raw(&nested);
    gguf_writer_raw(&w, "nested", GGUF_VTYPE_ARRAY, nested.p, nested.n);
    static uint8_t q[34], f[32];
    for (int i = 0; i < 34; i++)
        q[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 32; i++)
        f[i] = (uint8_t)(i * 3 + 1);
    const int64_t ne_q[2] = {32, 1}, ne_f[1] = {8};
    gguf_writer_tensor(&w, "q", PLUMB_TYPE_Q8_0, 2, ne_q, q, 34);
    gguf_writer_tensor(&w, "f", PLUMB_TYPE_F32, 1, ne_f, f, 32);
    cr_assert(eq(int, w.failed, false), "%s", w.err.msg);
    write_mem(&w, m);
    bb_free(&nested);
    gguf_writer_free(&w);
}

Test(gguf_reject, every_truncation_of_a_valid_file)
{
    struct memsink m;
    small_file(&m);
    struct gguf_ctx c;
    struct plumb_err err;
    uint8_t *copy;
    cr_assert(eq(int, open_copy(&c, &copy, m.p, m.n, &err), 0), "%s", err.msg);
    cr_assert(eq(u64, c.n_kv, 8));
    cr_assert(eq(sz, c.data_offset + c.data_size, m.n));
    gguf_close(&c);
    free(copy);
    for (size_t len = 0; len < m.n; len++) {
        err.msg[0] = '\0';
        int rc = open_copy(&c, &copy, m.p, len, &err);
        cr_assert(eq(int, rc, -1), "a %zu-byte prefix of %zu opened", len, m.n);
        cr_assert(strncmp(err.msg, "bad.gguf: offset ", 17) == 0, "len %zu: %s", len, err.msg);
        cr_assert(c.kv == NULL && c.tensors == NULL && c.path == NULL);
        free(copy);
    }
    free(m.p);
}

Test(gguf_reject, random_single_byte_corruptions_never_crash)
{
    struct memsink m;
    small_file(&m);
    struct gguf_ctx c;
    struct plumb_err err;
    cr_assert(eq(int, gguf_open_memory(&c, m.p, m.n, "x", &err), 0));
    size_t meta = c.data_offset;
    gguf_close(&c);
    const uint64_t seed = 0x5eed1234abcdull;
    rng_state = seed;
    int opened = 0, failed = 0;
    for (int it = 0; it < 50000; it++) {
        uint8_t *copy = malloc(m.n);
        memcpy(copy, m.p, m.n);
        uint64_t r = rng_next();
        /* mostly the metadata, where the structure is */
        size_t pos = (size_t)(r % (r & 0x100 ? m.n : meta));
        uint8_t val = (uint8_t)(rng_next() >> 32);
        if (val == copy[pos])
            val ^= 0x80;
        copy[pos] = val;
        err.msg[0] = '\0';
        if (gguf_open_memory(&c, copy, m.n, "bad.gguf", &err) == 0) {
            (void)touch_all(&c);
            opened++;
            gguf_close(&c);
        } else {
            cr_assert(strncmp(err.msg, "bad.gguf: offset ", 17) == 0,
                      "seed %llx iteration %d pos %zu: %s", (unsigned long long)seed, it, pos,
                      err.msg);
            failed++;
        }
        free(copy);
    }
    cr_assert(opened > 0 && failed > 0, "opened %d failed %d", opened, failed);
    free(m.p);
}

Test(gguf_reject, random_wide_field_corruptions_never_crash)
{
    struct memsink m;
    small_file(&m);
    struct gguf_ctx c;
    struct plumb_err err;
    cr_assert(eq(int, gguf_open_memory(&c, m.p, m.n, "x", &err), 0));
    size_t meta = c.data_offset;
    gguf_close(&c);
    static const uint64_t extremes[] = {0, 1, 0x7fffffffffffffffull, 0xffffffffffffffffull,
                                        1ull << 30, (1ull << 30) + 1, 1ull << 32, 63, 64, 4096};
    const uint64_t seed = 0xc0ffee;
    rng_state = seed;
    for (int it = 0; it < 50000; it++) {
        uint8_t *copy = malloc(m.n);
        memcpy(copy, m.p, m.n);
        size_t pos = (size_t)(rng_next() % (meta - 4));
        uint64_t r = rng_next();
        uint64_t v = (r & 1) ? extremes[(r >> 1) % 10] : rng_next();
        size_t width = (r & 2) ? 4 : 8;
        if (pos + width > m.n)
            width = m.n - pos;
        for (size_t k = 0; k < width; k++)
            copy[pos + k] = (uint8_t)(v >> (8 * k));
        if (gguf_open_memory(&c, copy, m.n, "bad.gguf", &err) == 0) {
            (void)touch_all(&c);
            gguf_close(&c);
        } else {
            cr_assert(strncmp(err.msg, "bad.gguf: offset ", 17) == 0,
                      "seed %llx iteration %d pos %zu: %s", (unsigned long long)seed, it, pos,
                      err.msg);
        }
        free(copy);
    }
    free(m.p);
}

/* ---- writer errors ---- */

static void expect_writer_failed(struct gguf_writer *w, const char *frag)
{
    cr_assert(w->failed);
    cr_assert(strstr(w->err.msg, frag) != NULL, "'%s' lacks '%s'", w->err.msg, frag);
    /* refuses further work, and write returns that first error */
    cr_assert(eq(int, gguf_writer_u8(w, "later.key", 1), -1));
    cr_assert(strstr(w->err.msg, frag) != NULL);
    struct memsink m = {0};
    struct plumb_err err;
    cr_assert(eq(int, gguf_writer_write(w, mem_sink, &m, &err), -1));
    cr_assert(eq(str, err.msg, w->err.msg));
    cr_assert(eq(sz, m.n, 0));
    gguf_writer_free(w);
}

Test(gguf_writer, refuses_a_duplicate_key)
{
    struct gguf_writer w;
    gguf_writer_init(&w);
    cr_assert(eq(int, gguf_writer_u8(&w, "a", 1), 0));
    cr_assert(eq(int, gguf_writer_str(&w, "a", "x"), -1));
    expect_writer_failed(&w, "duplicate key 'a'");
}

Test(gguf_writer, refuses_an_empty_key)
{
    struct gguf_writer w;
    gguf_writer_init(&w);
    cr_assert(eq(int, gguf_writer_u8(&w, "", 1), -1));
    expect_writer_failed(&w, "metadata key is empty");
}

Test(gguf_writer, refuses_a_duplicate_tensor_name)
{
    struct gguf_writer w;
    gguf_writer_init(&w);
    const float d[4] = {0};
    const int64_t ne[1] = {4};
    cr_assert(eq(int, gguf_writer_tensor(&w, "t", PLUMB_TYPE_F32, 1, ne, d, 16), 0));
    cr_assert(eq(int, gguf_writer_tensor(&w, "t", PLUMB_TYPE_F32, 1, ne, d, 16), -1));
    expect_writer_failed(&w, "duplicate tensor name 't'");
}

Test(gguf_writer, refuses_bad_n_dims)
{
    static const uint32_t bad[] = {0, 5};
    for (int i = 0; i < 2; i++) {
        struct gguf_writer w;
        gguf_writer_init(&w);
        const int64_t ne[5] = {1, 1, 1, 1, 1};
        cr_assert(eq(int, gguf_writer_tensor(&w, "t", PLUMB_TYPE_F32, bad[i], ne, ne, 4), -1));
        char frag[64];
        snprintf(frag, sizeof frag, "tensor 't': n_dims is %u, expected 1..4", bad[i]);
        expect_writer_failed(&w, frag);
    }
}

Test(gguf_writer, refuses_a_size_that_does_not_match_shape_and_type)
{
    struct gguf_writer w;
    gguf_writer_init(&w);
    uint8_t d[200] = {0};
    const int64_t ne[2] = {32, 3};
    cr_assert(eq(int, gguf_writer_tensor(&w, "q", PLUMB_TYPE_Q8_0, 2, ne, d, 100), -1));
    expect_writer_failed(&w, "tensor 'q': size is 100 bytes, expected 102 for 96 q8_0 elements");
}

Test(gguf_writer, refuses_a_tensor_name_over_63_bytes)
{
    char name[65];
    memset(name, 'x', 64);
    name[64] = '\0';
    struct gguf_writer w;
    gguf_writer_init(&w);
    const int64_t ne[1] = {1};
    float d = 0;
    cr_assert(eq(int, gguf_writer_tensor(&w, name, PLUMB_TYPE_F32, 1, ne, &d, 4), -1));
    expect_writer_failed(&w, "name is 64 bytes, expected at most 63");
}

Test(gguf_writer, refuses_rows_of_partial_blocks_bad_dims_and_unknown_types)
{
    struct gguf_writer w;
    uint8_t d[64] = {0};
    const int64_t ne33[1] = {33}, ne0[2] = {32, 0};
    gguf_writer_init(&w);
    cr_assert(eq(int, gguf_writer_tensor(&w, "t", PLUMB_TYPE_Q8_0, 1, ne33, d, 34), -1));
    expect_writer_failed(&w, "row length 33 is not a multiple of q8_0's block size 32");
    gguf_writer_init(&w);
    cr_assert(eq(int, gguf_writer_tensor(&w, "t", PLUMB_TYPE_F32, 2, ne0, d, 0), -1));
    expect_writer_failed(&w, "dim 1 is 0, expected >= 1");
    gguf_writer_init(&w);
    cr_assert(eq(int, gguf_writer_tensor(&w, "t", 4, 1, ne33, d, 34), -1));
    expect_writer_failed(&w, "type 4 is not a known ggml type");
}

Test(gguf_writer, alignment_must_be_a_power_of_two_set_before_tensors)
{
    struct gguf_writer w;
    gguf_writer_init(&w);
    cr_assert(eq(int, gguf_writer_alignment(&w, 48), -1));
    expect_writer_failed(&w, "general.alignment is 48, expected a power of two");

    gguf_writer_init(&w);
    const int64_t ne[1] = {1};
    float d = 0;
    cr_assert(eq(int, gguf_writer_tensor(&w, "t", PLUMB_TYPE_F32, 1, ne, &d, 4), 0));
    cr_assert(eq(int, gguf_writer_alignment(&w, 64), -1));
    expect_writer_failed(&w, "must be set before the first tensor");

    gguf_writer_init(&w);
    cr_assert(eq(int, gguf_writer_u64(&w, "general.alignment", 64), -1));
    expect_writer_failed(&w, "key 'general.alignment': has type u64, expected u32");

    /* the plain u32 setter is the same as gguf_writer_alignment */
    gguf_writer_init(&w);
    cr_assert(eq(int, gguf_writer_u32(&w, "general.alignment", 128), 0));
    cr_assert(eq(u32, w.alignment, 128));
    cr_assert(eq(int, gguf_writer_alignment(&w, 64), -1));
    expect_writer_failed(&w, "duplicate key 'general.alignment'");
}

Test(gguf_writer, raw_values_are_validated)
{
    struct gguf_writer w;
    struct bb b = {0};
    nested_raw(&b);
    gguf_writer_init(&w);
    cr_assert(eq(int, gguf_writer_raw(&w, "n", GGUF_VTYPE_ARRAY, b.p, b.n - 1), -1));
    expect_writer_failed(&w, "key 'n': bad array encoding: raw value: offset");
    gguf_writer_init(&w);
    uint8_t big[64] = {0};
    memcpy(big, b.p, b.n);
    cr_assert(eq(int, gguf_writer_raw(&w, "n", GGUF_VTYPE_ARRAY, big, b.n + 1), -1));
    expect_writer_failed(&w, "its encoding takes");
    gguf_writer_init(&w);
    cr_assert(eq(int, gguf_writer_raw(&w, "n", (enum gguf_vtype)13, b.p, b.n), -1));
    expect_writer_failed(&w, "value type 13 is unknown");
    bb_free(&b);

    /* nesting deeper than the reader accepts */
    size_t body;
    bb_nested_kv(&b, GGUF_MAX_DEPTH + 1, &body);
    gguf_writer_init(&w);
    cr_assert(eq(int, gguf_writer_raw(&w, "deep", GGUF_VTYPE_ARRAY, b.p + body, b.n - body), -1));
    expect_writer_failed(&w, "array nested 9 deep");
    bb_free(&b);
}

Test(gguf_writer, arrays_need_scalar_element_types)
{
    struct gguf_writer w;
    gguf_writer_init(&w);
    const char *s = "x";
    cr_assert(eq(int, gguf_writer_arr(&w, "a", GGUF_VTYPE_STRING, &s, 1), -1));
    expect_writer_failed(&w, "array element type string is not a scalar");
}

Test(gguf_writer, a_failing_sink_stops_the_write_with_its_message)
{
    struct gguf_writer w;
    struct rt_data d;
    rt_build(&w, &d);
    struct memsink m = {0};
    m.fail_at = 200;
    struct plumb_err err;
    cr_assert(eq(int, gguf_writer_write(&w, mem_sink, &m, &err), -1));
    cr_assert(strstr(err.msg, "memsink: full") != NULL, "%s", err.msg);
    cr_assert(eq(int, w.failed, false)); /* an I/O failure leaves the writer usable */
    free(m.p);
    write_mem(&w, &m);
    free(m.p);
    gguf_writer_free(&w);
    rt_data_free(&d);
}

/* ---- atomic file output ---- */

Test(gguf_writer, a_missing_parent_directory_leaves_nothing)
{
    char dir[64], path[128];
    mkscratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/no/such/dir/out.gguf", dir);
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_u8(&w, "a", 1);
    struct plumb_err err;
    cr_assert(eq(int, gguf_writer_write_file(&w, path, &err), -1));
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    cr_assert(eq(int, count_entries(dir), 0));

    /* a parent that is a file, not a directory */
    snprintf(path, sizeof path, "%s/file", dir);
    write_text(path, "x");
    snprintf(path, sizeof path, "%s/file/out.gguf", dir);
    cr_assert(eq(int, gguf_writer_write_file(&w, path, &err), -1));
    cr_assert(eq(int, count_entries(dir), 1));
    gguf_writer_free(&w);
    rm_scratch(dir);
}

Test(gguf_writer, an_unwritable_directory_leaves_nothing)
{
    if (geteuid() == 0)
        cr_skip_test("root ignores directory permissions");
    char dir[64], path[128];
    mkscratch(dir, sizeof dir);
    chmod(dir, 0555);
    snprintf(path, sizeof path, "%s/out.gguf", dir);
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_u8(&w, "a", 1);
    struct plumb_err err;
    cr_assert(eq(int, gguf_writer_write_file(&w, path, &err), -1));
    cr_assert(strstr(err.msg, "cannot create") != NULL, "%s", err.msg);
    cr_assert(eq(int, count_entries(dir), 0));
    chmod(dir, 0755);
    gguf_writer_free(&w);
    rm_scratch(dir);
}

static int fail_second(void *fill_ctx, int64_t index, void *dst, size_t size, struct plumb_err *err)
{
    (void)fill_ctx;
    if (index == 1)
        return err_set(err, "generator exploded");
    memset(dst, 0x5a, size);
    return 0;
}

Test(gguf_writer, a_failing_fill_leaves_the_destination_untouched)
{
    char dir[64], path[128];
    mkscratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    write_text(path, "OLD");
    struct gguf_writer w;
    gguf_writer_init(&w);
    const int64_t ne[1] = {1024};
    gguf_writer_tensor_fill(&w, "one", PLUMB_TYPE_F32, 1, ne, fail_second, NULL);
    gguf_writer_tensor_fill(&w, "two", PLUMB_TYPE_F32, 1, ne, fail_second, NULL);
    struct plumb_err err;
    cr_assert(eq(int, gguf_writer_write_file(&w, path, &err), -1));
    char want[256];
    snprintf(want, sizeof want, "%s: tensor 'two': generator exploded", path);
    cr_assert(eq(str, err.msg, want));
    expect_text(path, "OLD");
    cr_assert(eq(int, count_entries(dir), 1)); /* no temporary file left */
    gguf_writer_free(&w);
    rm_scratch(dir);
}

Test(gguf_writer, a_failed_writer_writes_no_file)
{
    char dir[64], path[128];
    mkscratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_u8(&w, "a", 1);
    gguf_writer_u8(&w, "a", 2);
    struct plumb_err err;
    cr_assert(eq(int, gguf_writer_write_file(&w, path, &err), -1));
    char want[256];
    snprintf(want, sizeof want, "%s: duplicate key 'a'", path);
    cr_assert(eq(str, err.msg, want));
    cr_assert(eq(int, count_entries(dir), 0));
    gguf_writer_free(&w);
    rm_scratch(dir);
}

/* A file-size limit makes the write itself fail midway (EFBIG). */
Test(gguf_writer, a_write_failing_midway_leaves_the_destination_untouched)
{
    char dir[64], path[128];
    mkscratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    write_text(path, "OLD");
    struct gguf_writer w;
    gguf_writer_init(&w);
    const int64_t ne[1] = {65536};
    float *d = calloc(65536, sizeof *d);
    gguf_writer_tensor(&w, "big", PLUMB_TYPE_F32, 1, ne, d, 65536 * sizeof *d);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 8192;
    cr_assert(eq(int, setrlimit(RLIMIT_FSIZE, &lim), 0));
    struct plumb_err err;
    int rc = gguf_writer_write_file(&w, path, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    cr_assert(eq(int, rc, -1));
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "%s", err.msg);
    cr_assert(strstr(err.msg, "write failed") != NULL, "%s", err.msg);
    expect_text(path, "OLD");
    cr_assert(eq(int, count_entries(dir), 1));
    free(d);
    gguf_writer_free(&w);
    rm_scratch(dir);
}

Test(gguf_writer, replaces_the_destination_on_success)
{
    char dir[64], path[128];
    mkscratch(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    write_text(path, "OLD");
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_str(&w, "general.name", "new");
    struct plumb_err err;
    cr_assert(eq(int, gguf_writer_write_file(&w, path, &err), 0), "%s", err.msg);
    cr_assert(eq(int, count_entries(dir), 1));
    struct gguf_ctx c;
    cr_assert(eq(int, gguf_open(&c, path, &err), 0), "%s", err.msg);
    cr_assert(eq(u64, c.n_kv, 1));
    cr_assert(eq(sz, c.size % 32, 0));
    gguf_close(&c);
    gguf_writer_free(&w);
    rm_scratch(dir);
}
