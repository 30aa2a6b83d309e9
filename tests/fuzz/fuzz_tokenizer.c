/*
 * fuzz_tokenizer.c: libFuzzer target for tokenizer_encode / tokenizer_decode
 * on arbitrary bytes with fixed vocabularies. See fuzz.h for how targets
 * are built and replayed.
 *
 * Input: byte 0 chooses (bits 0-1) the vocabulary, (bit 2) add_bos and
 * (bit 3) strip_leading_space for the arbitrary-id decode; the rest is the
 * text. Vocabularies, built once:
 *   0  the shipped fixture vocabulary (fixtures/gqa.yaml generated in memory)
 *   1  llama.cpp's ggml-vocab-llama-spm.gguf  (SentencePiece)
 *   2  llama.cpp's ggml-vocab-gpt-2.gguf      (byte-level BPE, gpt-2 regex)
 *   3  llama.cpp's ggml-vocab-llama-bpe.gguf  (byte-level BPE, llama3 regex)
 * read from build/vocab/ (`make vocab`) under $PLUMB_FUZZ_ROOT (default: the
 * current folder, the repository root under make).
 *
 * Checks: encode succeeds (or fails with a message only for a BOS the
 * vocabulary lacks); every id is in range, BOS first when asked; decode of
 * the ids succeeds; for valid UTF-8 text the round trip of tokenizer.h gives
 * the text back, except where that header says it does not (SPM: a literal
 * U+2581, user-defined tokens); the text read as ids decodes when every id
 * is in range and fails cleanly otherwise; tokenizer_piece never writes past
 * the capacity it is given and always reports the full length.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "gen.h"
#include "gguf.h"
#include "spec.h"
#include "tokenizer.h"

#define TOK_FZ_N 4

struct tok_fz_vocab {
    struct gguf_ctx g;
    struct tokenizer t;
    uint8_t *bytes; /* the generated fixture, for vocabulary 0 */
};

static struct tok_fz_vocab tok_fz_vocabs[TOK_FZ_N];

static void tok_fz_open_file(struct tok_fz_vocab *v, const char *name)
{
    const char *root = getenv("PLUMB_FUZZ_ROOT");
    char path[4096];
    struct plumb_err err;
    snprintf(path, sizeof path, "%s/build/vocab/%s", root ? root : ".", name);
    if (gguf_open(&v->g, path, &err) != 0)
        fuzz_fail("%s (run `make vocab` in the repository root, or set PLUMB_FUZZ_ROOT)",
                  err.msg);
    if (tokenizer_init(&v->t, &v->g, &err) != 0)
        fuzz_fail("%s", err.msg);
}

static void tok_fz_open_fixture(struct tok_fz_vocab *v)
{
    const char *root = getenv("PLUMB_FUZZ_ROOT");
    char path[4096];
    struct plumb_err err;
    snprintf(path, sizeof path, "%s/fixtures/gqa.yaml", root ? root : ".");
    struct spec s;
    if (spec_load(&s, path, &err) != 0)
        fuzz_fail("%s (run from the repository root, or set PLUMB_FUZZ_ROOT)", err.msg);
    struct gguf_writer w;
    struct gen gn;
    struct fuzz_buf out = {0};
    gguf_writer_init(&w);
    if (gen_describe(&gn, &s, 1, &w, &err) != 0 ||
        gguf_writer_write(&w, fuzz_buf_sink, &out, &err) != 0)
        fuzz_fail("generating %s: %s", path, err.msg);
    gen_free(&gn);
    gguf_writer_free(&w);
    spec_free(&s);
    v->bytes = out.p;
    if (gguf_open_memory(&v->g, out.p, out.n, "gqa.gguf", &err) != 0 ||
        tokenizer_init(&v->t, &v->g, &err) != 0)
        fuzz_fail("%s", err.msg);
}

static const struct tokenizer *tok_fz_get(int which)
{
    static bool ready;
    if (!ready) {
        tok_fz_open_fixture(&tok_fz_vocabs[0]);
        tok_fz_open_file(&tok_fz_vocabs[1], "ggml-vocab-llama-spm.gguf");
        tok_fz_open_file(&tok_fz_vocabs[2], "ggml-vocab-gpt-2.gguf");
        tok_fz_open_file(&tok_fz_vocabs[3], "ggml-vocab-llama-bpe.gguf");
        ready = true;
    }
    return &tok_fz_vocabs[which].t;
}

/* Strict UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past
 * U+10FFFF). */
static bool tok_fz_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1fu, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0fu, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

static bool tok_fz_contains(const uint8_t *s, size_t n, const char *pat, size_t m)
{
    if (m == 0)
        return false;
    for (size_t i = 0; i + m <= n; i++)
        if (s[i] == (uint8_t)pat[0] && memcmp(s + i, pat, m) == 0)
            return true;
    return false;
}

/* Does tokenizer.h promise that text comes back from its own ids? */
static bool tok_fz_round_trips(const struct tokenizer *t, const uint8_t *s, size_t n)
{
    if (!tok_fz_utf8(s, n))
        return false;
    if (t->model == TOKENIZER_MODEL_SPM && tok_fz_contains(s, n, "\xE2\x96\x81", 3))
        return false;
    for (int64_t i = 0; i < t->n_specials; i++) {
        const struct tokenizer_token *k = &t->tokens[t->specials[i]];
        if (tok_fz_contains(s, n, k->text, k->len))
            return false;
    }
    return true;
}

/* tokenizer_piece into a buffer of exactly cap bytes (ASan guards its end). */
static void tok_fz_piece(const struct tokenizer *t, int32_t id)
{
    size_t full = tokenizer_piece(t, id, NULL, 0);
    if (id < 0 || id >= tokenizer_n_vocab(t)) {
        if (full != 0)
            fuzz_fail("piece of out-of-range id %d has %zu bytes", id, full);
        return;
    }
    size_t caps[3] = {1, full / 2, full};
    for (int k = 0; k < 3; k++) {
        size_t cap = caps[k];
        char *buf = malloc(cap ? cap : 1);
        if (!buf)
            fuzz_fail("out of memory");
        size_t got = tokenizer_piece(t, id, buf, cap);
        if (got != full)
            fuzz_fail("piece of id %d: %zu bytes with cap %zu, %zu with none", id, got, cap, full);
        free(buf);
    }
}

int fuzz_tokenizer(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const struct tokenizer *t = tok_fz_get(data[0] & 3);
    bool add_bos = data[0] & 4, strip = data[0] & 8;
    const uint8_t *text = data + 1;
    size_t len = size - 1;
    int64_t n_vocab = tokenizer_n_vocab(t);
    struct plumb_err err;

    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (tokenizer_encode(t, (const char *)text, len, add_bos, &ids, &n_ids, &err) != 0) {
        fuzz_check_err(&err, "tokenizer_encode");
        if (!(add_bos && tokenizer_bos(t) < 0) || ids || n_ids)
            fuzz_fail("encode failed: %s", err.msg);
    } else {
        if (!ids)
            fuzz_fail("encode returned NULL ids");
        for (size_t i = 0; i < n_ids; i++)
            if (ids[i] < 0 || ids[i] >= n_vocab)
                fuzz_fail("id %d at %zu is outside the vocabulary of %lld", ids[i], i,
                          (long long)n_vocab);
        if (add_bos && (n_ids == 0 || ids[0] != tokenizer_bos(t)))
            fuzz_fail("BOS asked for, not first");
        char *back = NULL;
        size_t back_len = 0;
        bool spm_strip = t->model == TOKENIZER_MODEL_SPM && t->add_space_prefix;
        if (tokenizer_decode(t, ids, n_ids, spm_strip, &back, &back_len, &err) != 0)
            fuzz_fail("decoding our own ids failed: %s", err.msg);
        if (back[back_len] != '\0')
            fuzz_fail("decode result is not NUL-terminated");
        if (tok_fz_round_trips(t, text, len) && (back_len != len || memcmp(back, text, len)))
            fuzz_fail("valid UTF-8 of %zu bytes came back as %zu bytes (vocabulary %d)", len,
                      back_len, data[0] & 3);
        free(back);
    }
    free(ids);

    /* The text as little-endian ids, a few of them just out of range. */
    size_t n_raw = len / 4;
    int32_t *raw = malloc((n_raw ? n_raw : 1) * sizeof *raw);
    if (!raw)
        fuzz_fail("out of memory");
    bool in_range = true;
    for (size_t i = 0; i < n_raw; i++) {
        uint32_t u = (uint32_t)text[4 * i] | (uint32_t)text[4 * i + 1] << 8 |
                     (uint32_t)text[4 * i + 2] << 16 | (uint32_t)text[4 * i + 3] << 24;
        raw[i] = (int32_t)(u % (uint32_t)(n_vocab + 2)) - 1; /* -1 .. n_vocab */
        in_range = in_range && raw[i] >= 0 && raw[i] < n_vocab;
        tok_fz_piece(t, raw[i]);
        if (raw[i] >= 0 && raw[i] < n_vocab) {
            const struct tokenizer_token *k = &t->tokens[raw[i]];
            if (tokenizer_find(t, k->text, k->len) != raw[i])
                fuzz_fail("token %d is not found by its own text", raw[i]);
        }
    }
    char *out = NULL;
    size_t out_len = 0;
    int rc = tokenizer_decode(t, raw, n_raw, strip, &out, &out_len, &err);
    if (rc != 0) {
        fuzz_check_err(&err, "tokenizer_decode");
        if (in_range || out)
            fuzz_fail("decoding ids in range failed: %s", err.msg);
    } else {
        if (!in_range)
            fuzz_fail("decoding an id out of range succeeded");
        if (!out || out[out_len] != '\0')
            fuzz_fail("decode result is not NUL-terminated");
    }
    free(out);
    free(raw);
    return 0;
}

FUZZ_ENTRY(fuzz_tokenizer)
