/*
 * fuzz_gguf.c: libFuzzer target for the GGUF reader (gguf_open_memory) and,
 * through it, the writer. See fuzz.h for how targets are built and replayed.
 *
 * For each input: validate it as a whole file. A rejected file must come
 * back with one line of message. An accepted file must keep every promise of
 * gguf.h, checked here byte by byte:
 * - every tensor's data lies inside the input (all of it is read, and its
 *   first and last rows are dequantized when a converter exists);
 * - every metadata value, nested arrays included, lies inside the input and
 *   its raw/raw_size span is exactly its encoding; the typed reads answer
 *   without reading out of bounds;
 * - the writer accepts a raw copy of every value and of every tensor, its
 *   metadata bytes are exactly the input's, and the file it writes reads
 *   back with the same keys, shapes and data;
 * - as a vocabulary (tokenizer_init on its tokenizer.ggml.* keys: the fixture
 *   seeds have them) it is refused cleanly or tokenizes a fixed text into
 *   ids in range that decode.
 */
#include <stdbool.h>

#include "dtype.h"
#include "fuzz.h"
#include "gguf.h"
#include "tokenizer.h"

/* v (depth arrays deep) must lie inside [lo, hi) and be what its type says;
 * read all of it. */
static void gguf_fz_value(const struct gguf_value *v, const char *key, unsigned depth,
                          const uint8_t *lo, const uint8_t *hi)
{
    if (!v->raw || v->raw < lo || v->raw_size > (size_t)(hi - v->raw))
        fuzz_fail("key '%s': raw span outside the file", key);
    fuzz_touch(v->raw, v->raw_size);
    size_t esize = gguf_vtype_size(v->type);
    struct plumb_err e;
    if (esize) {
        if (v->len != 1 || v->data != v->raw || v->raw_size != esize || v->elems)
            fuzz_fail("key '%s': scalar %s value is not %zu bytes in place", key,
                      gguf_vtype_name(v->type), esize);
        uint64_t u;
        int64_t s;
        double f;
        bool b;
        if (gguf_value_u64(v, key, &u, &e) != 0)
            fuzz_check_err(&e, "gguf_value_u64");
        if (gguf_value_i64(v, key, &s, &e) != 0)
            fuzz_check_err(&e, "gguf_value_i64");
        if (gguf_value_f64(v, key, &f, &e) != 0)
            fuzz_check_err(&e, "gguf_value_f64");
        if (gguf_value_bool(v, key, &b, &e) != 0)
            fuzz_check_err(&e, "gguf_value_bool");
        return;
    }
    if (v->type == GGUF_VTYPE_STRING) {
        const char *s;
        size_t len;
        if (gguf_value_str(v, key, &s, &len, &e) != 0)
            fuzz_fail("key '%s': a string value does not read as one: %s", key, e.msg);
        if (len != v->len || (const uint8_t *)s != v->raw + 8 || v->raw_size != 8 + len)
            fuzz_fail("key '%s': string of %zu bytes spans %zu", key, len, v->raw_size);
        fuzz_touch(s, len);
        return;
    }
    if (v->type != GGUF_VTYPE_ARRAY)
        fuzz_fail("key '%s': value type %d is unknown", key, (int)v->type);
    if (depth >= GGUF_MAX_DEPTH)
        fuzz_fail("key '%s': arrays nested %u deep were accepted", key, depth + 1);
    if (v->data != v->raw + 12)
        fuzz_fail("key '%s': array elements do not follow the array header", key);
    size_t el = gguf_vtype_size(v->elem_type);
    if (el) {
        if (v->elems || v->len > GGUF_MAX_ARRAY || v->raw_size != 12 + v->len * el)
            fuzz_fail("key '%s': array of %llu %s spans %zu bytes", key,
                      (unsigned long long)v->len, gguf_vtype_name(v->elem_type), v->raw_size);
        fuzz_touch(v->data, (size_t)v->len * el);
        if (gguf_value_elem(v, 0) != NULL)
            fuzz_fail("key '%s': gguf_value_elem on a scalar array", key);
        return;
    }
    if (v->len && !v->elems)
        fuzz_fail("key '%s': array of %s without elements", key, gguf_vtype_name(v->elem_type));
    size_t sum = 12;
    for (uint64_t i = 0; i < v->len; i++) {
        const struct gguf_value *x = gguf_value_elem(v, i);
        if (x != &v->elems[i] || x->type != v->elem_type)
            fuzz_fail("key '%s': element %llu is not of the array's type", key,
                      (unsigned long long)i);
        if (x->raw != v->raw + sum)
            fuzz_fail("key '%s': element %llu is not where the previous one ends", key,
                      (unsigned long long)i);
        gguf_fz_value(x, key, depth + 1, lo, hi);
        sum += x->raw_size;
    }
    if (gguf_value_elem(v, v->len) != NULL)
        fuzz_fail("key '%s': gguf_value_elem past the end", key);
    if (sum != v->raw_size)
        fuzz_fail("key '%s': elements span %zu bytes, the array %zu", key, sum, v->raw_size);
}

/* Read every byte of t and dequantize rows, when a converter exists. */
static void gguf_fz_tensor(const struct gguf_ctx *g, const struct gguf_tensor *t, float **row,
                           int64_t *row_cap)
{
    const uint8_t *p = t->data;
    if (p < g->base + g->data_offset || t->size > (size_t)(g->base + g->size - p))
        fuzz_fail("tensor '%s': data outside the file", t->name);
    fuzz_touch(p, t->size);
    const struct dtype_traits *tr = dtype_traits(t->type);
    if (!tr)
        fuzz_fail("tensor '%s': type %d has no traits", t->name, t->type);
    if (!tr->to_float)
        return;
    size_t row_size;
    if (!dtype_row_size(t->type, t->ne[0], &row_size))
        fuzz_fail("tensor '%s': no row size", t->name);
    int64_t rows = t->n_elements / t->ne[0];
    if ((uint64_t)rows * row_size != t->size)
        fuzz_fail("tensor '%s': %lld rows of %zu bytes are not its %zu bytes", t->name,
                  (long long)rows, row_size, t->size);
    if (t->ne[0] > *row_cap) {
        float *r = realloc(*row, (size_t)t->ne[0] * sizeof *r);
        if (!r)
            fuzz_fail("out of memory for a row of %lld", (long long)t->ne[0]);
        *row = r;
        *row_cap = t->ne[0];
    }
    /* The first and the last row: any row shows a converter's faults on
     * odd bytes, the last one any reach past the end (all of them would
     * make big inputs slow to fuzz). */
    tr->to_float(p, *row, t->ne[0]);
    if (rows > 1)
        tr->to_float(p + (size_t)(rows - 1) * row_size, *row, t->ne[0]);
}

/* The bytes the writer will emit for g's metadata and tensors, bounded so a
 * huge general.alignment (legal: padding is the writer's, not the input's)
 * does not make the round trip write gigabytes. */
static bool gguf_fz_small_enough(const struct gguf_ctx *g, size_t meta)
{
    uint64_t total = 24 + meta + g->n_tensors * 100u + g->alignment;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        total += g->tensors[i].size + g->alignment;
    return total <= (UINT64_C(64) << 20);
}

/* Write g back through the writer, value by value and tensor by tensor. */
static void gguf_fz_rewrite(const struct gguf_ctx *g)
{
    struct gguf_writer w;
    gguf_writer_init(&w);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const struct gguf_kv *kv = &g->kv[i];
        if (gguf_writer_raw(&w, kv->key, kv->value.type, kv->value.raw, kv->value.raw_size))
            fuzz_fail("writer refuses key '%s' the reader accepted: %s", kv->key, w.err.msg);
    }
    /* The metadata section, encoded again, is the input's own bytes. */
    size_t meta_end = 24;
    if (g->n_kv) {
        const struct gguf_value *last = &g->kv[g->n_kv - 1].value;
        meta_end = (size_t)(last->raw - g->base) + last->raw_size;
    }
    if (w.meta_len != meta_end - 24 || (w.meta_len && memcmp(w.meta, g->base + 24, w.meta_len)))
        fuzz_fail("metadata written again differs from the input (%zu bytes, input %zu)",
                  w.meta_len, meta_end - 24);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *t = &g->tensors[i];
        if (gguf_writer_tensor(&w, t->name, t->type, t->n_dims, t->ne, t->data, t->size))
            fuzz_fail("writer refuses tensor '%s' the reader accepted: %s", t->name, w.err.msg);
    }
    if (!gguf_fz_small_enough(g, w.meta_len)) {
        gguf_writer_free(&w);
        return;
    }
    struct fuzz_buf out = {0};
    struct plumb_err e;
    if (gguf_writer_write(&w, fuzz_buf_sink, &out, &e))
        fuzz_fail("writing the copy failed: %s", e.msg);
    gguf_writer_free(&w);

    struct gguf_ctx h;
    if (gguf_open_memory(&h, out.p, out.n, "copy", &e))
        fuzz_fail("the writer's copy does not read back: %s", e.msg);
    if (h.n_kv != g->n_kv || h.n_tensors != g->n_tensors || h.alignment != g->alignment)
        fuzz_fail("the copy has %llu keys, %llu tensors, alignment %u",
                  (unsigned long long)h.n_kv, (unsigned long long)h.n_tensors, h.alignment);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const struct gguf_kv *a = &g->kv[i], *b = &h.kv[i];
        if (strcmp(a->key, b->key) || a->value.type != b->value.type ||
            a->value.raw_size != b->value.raw_size ||
            memcmp(a->value.raw, b->value.raw, a->value.raw_size))
            fuzz_fail("the copy's key %llu differs", (unsigned long long)i);
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const struct gguf_tensor *a = &g->tensors[i], *b = &h.tensors[i];
        if (strcmp(a->name, b->name) || a->type != b->type || a->n_dims != b->n_dims ||
            memcmp(a->ne, b->ne, sizeof a->ne) || a->size != b->size ||
            memcmp(a->data, b->data, a->size))
            fuzz_fail("the copy's tensor %llu differs", (unsigned long long)i);
    }
    gguf_close(&h);
    free(out.p);
}

/* A file with tokenizer.ggml.* metadata is a vocabulary: build it (or see
 * it refused cleanly) and tokenize a fixed text with it. */
static void gguf_fz_tokenizer(const struct gguf_ctx *g)
{
    static const char text[] = "Hello world, it's 2024! \xE4\xB8\xAD\xF0\x9F\xA6\x99 <s></s>"
                               "\xE2\x96\x81 \xff\xfe  a\n\tb";
    struct tokenizer t;
    struct plumb_err err;
    if (tokenizer_init(&t, g, &err) != 0) {
        fuzz_check_err(&err, "tokenizer_init");
        if (t.tokens || t.token_slots || t.merge_slots || t.specials || t.owned)
            fuzz_fail("a failed tokenizer_init left memory behind");
        return;
    }
    int64_t n = tokenizer_n_vocab(&t);
    if (n < 1 || t.bos < -1 || t.bos >= n || t.eos < -1 || t.eos >= n || t.unk < -1 ||
        t.unk >= n)
        fuzz_fail("vocabulary of %lld with bos %d, eos %d, unk %d", (long long)n, t.bos, t.eos,
                  t.unk);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (tokenizer_encode(&t, text, sizeof text - 1, t.bos >= 0, &ids, &n_ids, &err) != 0)
        fuzz_fail("encoding with a vocabulary that built failed: %s", err.msg);
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= n)
            fuzz_fail("id %d outside the vocabulary of %lld", ids[i], (long long)n);
    char *back = NULL;
    size_t len = 0;
    if (tokenizer_decode(&t, ids, n_ids, false, &back, &len, &err) != 0)
        fuzz_fail("decoding our own ids failed: %s", err.msg);
    free(back);
    free(ids);
    for (int32_t id = 0; id < n && id < 512; id++) {
        char piece[8];
        tokenizer_piece(&t, id, piece, sizeof piece);
    }
    tokenizer_free(&t);
}

int fuzz_gguf(const uint8_t *data, size_t size)
{
    struct gguf_ctx g;
    struct plumb_err err;
    if (gguf_open_memory(&g, data, size, "fuzz.gguf", &err) != 0) {
        fuzz_check_err(&err, "gguf_open_memory");
        if (g.kv || g.tensors || g.path)
            fuzz_fail("a failed open left memory in the context");
        return 0;
    }
    if (g.base != (size ? data : NULL) || g.size != size || g.mapped)
        fuzz_fail("the context does not describe the input");
    const uint8_t *lo = data, *hi = data + size;
    for (uint64_t i = 0; i < g.n_kv; i++) {
        const struct gguf_kv *kv = &g.kv[i];
        /* (lookups are linear: checked on small files only) */
        if (!kv->key[0] || (g.n_kv <= 1024 && gguf_find_key(&g, kv->key) != (int64_t)i))
            fuzz_fail("key %llu is empty or not unique", (unsigned long long)i);
        gguf_fz_value(&kv->value, kv->key, 0, lo, hi);
    }
    float *row = NULL;
    int64_t row_cap = 0;
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const struct gguf_tensor *t = &g.tensors[i];
        if (strlen(t->name) > GGUF_MAX_NAME ||
            (g.n_tensors <= 1024 && gguf_find_tensor(&g, t->name) != (int64_t)i))
            fuzz_fail("tensor %llu: name too long or not unique", (unsigned long long)i);
        if (t->offset % g.alignment)
            fuzz_fail("tensor '%s': offset not aligned", t->name);
        gguf_fz_tensor(&g, t, &row, &row_cap);
    }
    free(row);
    gguf_fz_tokenizer(&g);
    gguf_fz_rewrite(&g);
    gguf_close(&g);
    return 0;
}

FUZZ_ENTRY(fuzz_gguf)
