/*
 * seeds.c: the fuzzers' synthetic inputs, written by plumb's own writers.
 *
 *   fuzz-seeds corpus DIR    small valid inputs for DIR/gguf/ and DIR/dump/
 *                            (tools/fuzz.sh adds them to the seed corpora
 *                            beside the shipped fixtures, which are large:
 *                            small seeds keep executions fast);
 *   fuzz-seeds hostile DIR   the hand-written hostile cases, into
 *                            DIR/<target>/hostile-* (committed under
 *                            tests/fuzz/regress/; this is how they were made).
 *
 * Every hostile-* input must be rejected with a clean error; edge-* inputs
 * may be accepted or not (tests/test_fuzz_regress.c checks both kinds).
 * The bytes are deterministic: a fixed seed for random data, no dates.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "dtype.h"
#include "gguf.h"

/* ---- output ---- */

static void die(const char *what)
{
    fprintf(stderr, "fuzz-seeds: %s\n", what);
    exit(2);
}

static void mkdir_p(const char *dir, const char *sub)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        die(dir);
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        die(path);
}

static void put_file(const char *dir, const char *sub, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        die(path);
}

/* gzip (one member, no name, no time: deterministic) of p[0..n). */
static void put_gz(const char *dir, const char *sub, const char *name, const void *p, size_t n)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2");
    uLong cap = deflateBound(&zs, (uLong)n);
    uint8_t *out = malloc(cap);
    if (!out)
        die("out of memory");
    zs.next_in = (Bytef *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        die("deflate");
    put_file(dir, sub, name, out, zs.total_out);
    deflateEnd(&zs);
    free(out);
}

/* A byte builder for hand-made files. */
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
        if (!b->p)
            die("out of memory");
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void bb_le(struct bb *b, uint64_t v, int n)
{
    uint8_t x[8];
    for (int i = 0; i < n; i++, v >>= 8)
        x[i] = (uint8_t)v;
    bb_bytes(b, x, (size_t)n);
}

static void bb_str(struct bb *b, const char *s)
{
    bb_le(b, strlen(s), 8);
    bb_bytes(b, s, strlen(s));
}

static void bb_header(struct bb *b, uint64_t n_tensors, uint64_t n_kv)
{
    bb_bytes(b, "GGUF", 4);
    bb_le(b, 3, 4);
    bb_le(b, n_tensors, 8);
    bb_le(b, n_kv, 8);
}

static void bb_zeros(struct bb *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bb_le(b, 0, 1);
}

/* A GGUF writer into memory. */
static int mem_sink(void *ctx, const void *p, size_t n, struct plumb_err *err)
{
    (void)err;
    bb_bytes(ctx, p, n);
    return 0;
}

static void write_gguf(struct gguf_writer *w, struct bb *out)
{
    struct plumb_err err;
    if (gguf_writer_write(w, mem_sink, out, &err) != 0)
        die(err.msg);
    gguf_writer_free(w);
}

static uint64_t rng_state = 0x5eed5eed5eedULL;

static uint8_t rng_byte(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (uint8_t)((z ^ (z >> 31)) >> 56);
}

/* ---- corpus ---- */

/* The metadata seed: one key of every value type, arrays of scalars and of
 * strings, and arrays nested to the depth limit. */
static void add_values(struct gguf_writer *w)
{
    static const int32_t ints[4] = {1, -1, 0, 7};
    static const char *const strs[3] = {"x", "", "\xE2\x96\x81y"};
    gguf_writer_str(w, "general.architecture", "llama");
    gguf_writer_u8(w, "a.u8", 200);
    gguf_writer_i8(w, "a.i8", -3);
    gguf_writer_u16(w, "a.u16", 65535);
    gguf_writer_i16(w, "a.i16", -300);
    gguf_writer_u32(w, "a.u32", 4000000000u);
    gguf_writer_i32(w, "a.i32", -5);
    gguf_writer_f32(w, "a.f32", 1.5f);
    gguf_writer_bool(w, "a.bool", true);
    gguf_writer_u64(w, "a.u64", UINT64_MAX);
    gguf_writer_i64(w, "a.i64", INT64_MIN);
    gguf_writer_f64(w, "a.f64", -0.0);
    gguf_writer_strn(w, "a.str.nul", "a\0b", 3);
    gguf_writer_arr(w, "a.arr.i32", GGUF_VTYPE_I32, ints, 4);
    gguf_writer_arr(w, "a.arr.empty", GGUF_VTYPE_U8, NULL, 0);
    gguf_writer_arr_str(w, "a.arr.str", strs, 3);
    /* built inside out as raw encodings */
    struct bb nest = {0};
    bb_le(&nest, GGUF_VTYPE_STRING, 4);
    bb_le(&nest, 1, 8);
    bb_str(&nest, "deep");
    for (int d = 1; d < GGUF_MAX_DEPTH; d++) {
        struct bb up = {0};
        bb_le(&up, GGUF_VTYPE_ARRAY, 4);
        bb_le(&up, 1, 8);
        bb_bytes(&up, nest.p, nest.n);
        free(nest.p);
        nest = up;
    }
    gguf_writer_raw(w, "a.arr.nested", GGUF_VTYPE_ARRAY, nest.p, nest.n);
    free(nest.p);
}

static void seed_gguf(const char *dir)
{
    uint8_t *blob = malloc(1 << 16);
    if (!blob)
        die("out of memory");
    for (size_t i = 0; i < (1 << 16); i++)
        blob[i] = rng_byte();

    /* a small tensor (two rows of one block) of every type with traits */
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_str(&w, "general.architecture", "llama");
    size_t used = 0;
    for (int type = 0; type < PLUMB_TYPE_COUNT; type++) {
        const struct dtype_traits *tr = dtype_traits(type);
        if (!tr)
            continue;
        char name[32];
        snprintf(name, sizeof name, "t.%s", tr->name);
        int64_t ne[2] = {tr->blck_size, 2};
        size_t size = 2 * tr->type_size;
        if (used + size > (1 << 16))
            die("blob too small");
        gguf_writer_tensor(&w, name, type, 2, ne, blob + used, size);
        used += size;
    }
    struct bb out = {0};
    write_gguf(&w, &out);
    put_file(dir, "gguf", "gen-tensor-types.gguf", out.p, out.n);
    free(out.p);

    /* the values, no tensors; and the same as version 2 */
    gguf_writer_init(&w);
    add_values(&w);
    out = (struct bb){0};
    write_gguf(&w, &out);
    put_file(dir, "gguf", "gen-values.gguf", out.p, out.n);
    out.p[4] = 2;
    put_file(dir, "gguf", "gen-values-v2.gguf", out.p, out.n);
    free(out.p);

    /* alignment 1: an i8 tensor of 3 bytes puts the next ones at odd
     * offsets */
    gguf_writer_init(&w);
    gguf_writer_alignment(&w, 1);
    int64_t ne3 = 3, ne8 = 8;
    gguf_writer_tensor(&w, "odd", PLUMB_TYPE_I8, 1, &ne3, blob, 3);
    gguf_writer_tensor(&w, "f16", PLUMB_TYPE_F16, 1, &ne8, blob + 3, 16);
    gguf_writer_tensor(&w, "f32", PLUMB_TYPE_F32, 1, &ne8, blob + 19, 32);
    gguf_writer_tensor(&w, "bf16", PLUMB_TYPE_BF16, 1, &ne8, blob + 51, 16);
    size_t at = 67;
    for (int type = 0; type < PLUMB_TYPE_COUNT; type++) { /* every type, oddly placed */
        const struct dtype_traits *tr = dtype_traits(type);
        if (!tr)
            continue;
        char name[32];
        snprintf(name, sizeof name, "odd.%s", tr->name);
        int64_t ne[2] = {tr->blck_size, 1};
        gguf_writer_tensor(&w, name, type, 2, ne, blob + at, tr->type_size);
        at += tr->type_size;
    }
    out = (struct bb){0};
    write_gguf(&w, &out);
    put_file(dir, "gguf", "gen-align1.gguf", out.p, out.n);
    free(out.p);

    /* the header alone */
    struct bb e = {0};
    bb_header(&e, 0, 0);
    put_file(dir, "gguf", "gen-empty.gguf", e.p, e.n);
    free(e.p);
    free(blob);
}

/* UTF-8 of code point cp into out (4 bytes room); returns the length. */
static int utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | cp >> 12);
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/* Small vocabularies, so that the GGUF fuzzer reaches tokenizer_init's
 * checks of every tokenizer.ggml.* key without megabyte inputs: byte-level
 * BPE (GPT-2's 256 byte characters, a few merges, a control and a
 * user-defined token) with the gpt-2 and llama-bpe pre-tokenizers, and a
 * SentencePiece one (byte tokens, a few pieces with scores). */
static void seed_vocabs(const char *dir)
{
    static char text[256 * 4 + 1024];
    const char *tok[300];
    int32_t types[300];
    float scores[300];
    size_t used = 0, n = 0;
    /* GPT-2 bytes_to_unicode: printable bytes map to themselves, the rest
     * to 256, 257, ... in byte order */
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
        uint32_t cp = printable ? (uint32_t)b : next++;
        tok[n] = text + used;
        used += (size_t)utf8_put(cp, text + used);
        text[used++] = '\0';
        types[n] = 1;
        scores[n] = 0;
        n++;
    }
    static const char *const extra[] = {"\xC4\xA0t", "he", "\xC4\xA0the", "in", "er",
                                        "<|endoftext|>", "<|user|>"};
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) {
        tok[n] = extra[i];
        types[n] = i == 5 ? 3 : i == 6 ? 4 : 1;
        scores[n] = 0;
        n++;
    }
    static const char *const merges[] = {"\xC4\xA0 t", "h e", "\xC4\xA0t he", "i n", "e r"};
    static const char *const pres[2] = {"gpt-2", "llama-bpe"};
    for (int p = 0; p < 2; p++) {
        struct gguf_writer w;
        gguf_writer_init(&w);
        gguf_writer_str(&w, "tokenizer.ggml.model", "gpt2");
        gguf_writer_str(&w, "tokenizer.ggml.pre", pres[p]);
        gguf_writer_arr_str(&w, "tokenizer.ggml.tokens", tok, n);
        gguf_writer_arr(&w, "tokenizer.ggml.token_type", GGUF_VTYPE_I32, types, n);
        gguf_writer_arr_str(&w, "tokenizer.ggml.merges", merges, 5);
        gguf_writer_u32(&w, "tokenizer.ggml.bos_token_id", 261);
        gguf_writer_u32(&w, "tokenizer.ggml.eos_token_id", 261);
        struct bb out = {0};
        write_gguf(&w, &out);
        put_file(dir, "gguf", p ? "gen-vocab-llama-bpe.gguf" : "gen-vocab-gpt2.gguf", out.p, out.n);
        free(out.p);
    }

    /* SentencePiece: <unk> <s> </s>, <0x00>..<0xFF>, then pieces */
    n = 0;
    used = 0;
    static const char *const heads[3] = {"<unk>", "<s>", "</s>"};
    for (int i = 0; i < 3; i++) {
        tok[n] = heads[i];
        types[n] = i ? 3 : 2;
        scores[n++] = 0;
    }
    for (int b = 0; b < 256; b++) {
        tok[n] = text + used;
        used += (size_t)snprintf(text + used, 8, "<0x%02X>", b) + 1;
        types[n] = 6;
        scores[n++] = 0;
    }
    static const char *const pieces[] = {"\xE2\x96\x81", "\xE2\x96\x81t", "he",
                                         "\xE2\x96\x81the", "a", "b", "ab", "<user>"};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        tok[n] = pieces[i];
        types[n] = i == 7 ? 4 : 1;
        scores[n++] = -(float)(i + 1);
    }
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_str(&w, "tokenizer.ggml.model", "llama");
    gguf_writer_arr_str(&w, "tokenizer.ggml.tokens", tok, n);
    gguf_writer_arr(&w, "tokenizer.ggml.scores", GGUF_VTYPE_F32, scores, n);
    gguf_writer_arr(&w, "tokenizer.ggml.token_type", GGUF_VTYPE_I32, types, n);
    gguf_writer_u32(&w, "tokenizer.ggml.bos_token_id", 1);
    gguf_writer_u32(&w, "tokenizer.ggml.eos_token_id", 2);
    gguf_writer_u32(&w, "tokenizer.ggml.unknown_token_id", 0);
    gguf_writer_bool(&w, "tokenizer.ggml.add_space_prefix", true);
    gguf_writer_bool(&w, "tokenizer.ggml.add_bos_token", true);
    struct bb out = {0};
    write_gguf(&w, &out);
    put_file(dir, "gguf", "gen-vocab-spm.gguf", out.p, out.n);
    free(out.p);
}

/* Small dumps: taps of a few positions with ordinary and odd floats. */
static void seed_dumps(const char *dir)
{
    static const float odd[8] = {0.0f, -0.0f, 1.0f, -2.5f, 1e-45f, 3.4e38f, 0.0f, 0.0f};
    float vals[4 * 8];
    for (int i = 0; i < 32; i++)
        vals[i] = (float)(i % 7) - 3.0f + (float)i / 64.0f;
    float special[8];
    memcpy(special, odd, sizeof special);
    special[6] = (float)INFINITY;
    special[7] = (float)NAN;

    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_str(&w, "general.architecture", "plumb-dump");
    static const int32_t toks[2] = {1, 42};
    gguf_writer_arr(&w, "plumb.tokens", GGUF_VTYPE_I32, toks, 2);
    int64_t ne_a[2] = {8, 4}, ne_b[2] = {8, 1}, ne_c[2] = {4, 2};
    gguf_writer_tensor(&w, "inp_embd", PLUMB_TYPE_F32, 2, ne_a, vals, sizeof vals);
    gguf_writer_tensor(&w, "l_out-0", PLUMB_TYPE_F32, 2, ne_b, special, sizeof special);
    gguf_writer_tensor(&w, "result_output", PLUMB_TYPE_F32, 2, ne_c, vals, 8 * sizeof(float));
    struct bb out = {0};
    write_gguf(&w, &out);
    put_gz(dir, "dump", "gen-small.gguf.gz", out.p, out.n);
    free(out.p);

    /* one tap, one float */
    gguf_writer_init(&w);
    int64_t ne1[2] = {1, 1};
    gguf_writer_tensor(&w, "result_output", PLUMB_TYPE_F32, 2, ne1, vals, sizeof(float));
    out = (struct bb){0};
    write_gguf(&w, &out);
    put_gz(dir, "dump", "gen-one.gguf.gz", out.p, out.n);
    free(out.p);
}

/* ---- hostile cases ---- */

static void hostile_gguf(const char *dir)
{
    struct bb b = {0};
    bb_header(&b, UINT64_C(1) << 60, 0); /* 2^60 tensors */
    bb_zeros(&b, 64);
    put_file(dir, "gguf", "hostile-2e60-tensors.gguf", b.p, b.n);
    free(b.p);

    b = (struct bb){0};
    bb_header(&b, 0, UINT64_C(1) << 62); /* 2^62 metadata entries */
    bb_zeros(&b, 64);
    put_file(dir, "gguf", "hostile-2e62-kvs.gguf", b.p, b.n);
    free(b.p);

    b = (struct bb){0};
    bb_header(&b, 0, 1);
    bb_le(&b, UINT64_C(1) << 62, 8); /* a 2^62-byte key */
    bb_zeros(&b, 32);
    put_file(dir, "gguf", "hostile-2e62-key.gguf", b.p, b.n);
    free(b.p);

    b = (struct bb){0};
    bb_header(&b, 0, 1);
    bb_str(&b, "s");
    bb_le(&b, GGUF_VTYPE_STRING, 4);
    bb_le(&b, UINT64_C(1) << 62, 8); /* a 2^62-byte string */
    bb_zeros(&b, 32);
    put_file(dir, "gguf", "hostile-2e62-string.gguf", b.p, b.n);
    free(b.p);

    b = (struct bb){0};
    bb_header(&b, 0, 1);
    bb_str(&b, "n");
    bb_le(&b, GGUF_VTYPE_ARRAY, 4); /* arrays nested 9 deep */
    for (int d = 0; d < 8; d++) {
        bb_le(&b, GGUF_VTYPE_ARRAY, 4);
        bb_le(&b, 1, 8);
    }
    bb_le(&b, GGUF_VTYPE_U8, 4);
    bb_le(&b, 1, 8);
    bb_le(&b, 7, 1);
    put_file(dir, "gguf", "hostile-nested-9.gguf", b.p, b.n);
    free(b.p);

    b = (struct bb){0};
    bb_header(&b, 0, 1);
    bb_str(&b, "a");
    bb_le(&b, GGUF_VTYPE_ARRAY, 4); /* 2^30 strings in a small file */
    bb_le(&b, GGUF_VTYPE_STRING, 4);
    bb_le(&b, UINT64_C(1) << 30, 8);
    bb_zeros(&b, 64);
    put_file(dir, "gguf", "hostile-2e30-strings.gguf", b.p, b.n);
    free(b.p);

    b = (struct bb){0};
    bb_header(&b, 0, 1);
    bb_str(&b, "a");
    bb_le(&b, GGUF_VTYPE_ARRAY, 4); /* 2^30 empty arrays, each 12 bytes claimed */
    bb_le(&b, GGUF_VTYPE_ARRAY, 4);
    bb_le(&b, UINT64_C(1) << 30, 8);
    bb_zeros(&b, 4096);
    put_file(dir, "gguf", "hostile-2e30-arrays.gguf", b.p, b.n);
    free(b.p);

    b = (struct bb){0};
    bb_header(&b, 1, 0); /* a tensor of 2^62 x 4 f32 elements */
    bb_str(&b, "t");
    bb_le(&b, 2, 4);
    bb_le(&b, UINT64_C(1) << 62, 8);
    bb_le(&b, 4, 8);
    bb_le(&b, PLUMB_TYPE_F32, 4);
    bb_le(&b, 0, 8);
    bb_zeros(&b, 64);
    put_file(dir, "gguf", "hostile-2e64-elements.gguf", b.p, b.n);
    free(b.p);

    b = (struct bb){0};
    bb_header(&b, 1, 0); /* a tensor whose data runs past the end */
    bb_str(&b, "t");
    bb_le(&b, 1, 4);
    bb_le(&b, 1024, 8);
    bb_le(&b, PLUMB_TYPE_F32, 4);
    bb_le(&b, UINT64_MAX - 31, 8);
    bb_zeros(&b, 64);
    put_file(dir, "gguf", "hostile-offset-past-end.gguf", b.p, b.n);
    free(b.p);

    b = (struct bb){0};
    bb_header(&b, 0, 1); /* general.alignment 0 */
    bb_str(&b, "general.alignment");
    bb_le(&b, GGUF_VTYPE_U32, 4);
    bb_le(&b, 0, 4);
    put_file(dir, "gguf", "hostile-alignment-0.gguf", b.p, b.n);
    free(b.p);
}

/* billion laughs: each level nine aliases of the one before */
static void put_alias_bomb(const char *dir, const char *sub, const char *head)
{
    struct bb b = {0};
    bb_bytes(&b, head, strlen(head));
    bb_bytes(&b, "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
             strlen("a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"));
    for (int i = 1; i < 10; i++) {
        char line[160];
        int n = snprintf(line, sizeof line, "a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n",
                         i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        bb_bytes(&b, line, (size_t)n);
    }
    put_file(dir, sub, "hostile-alias-bomb.yaml", b.p, b.n);
    free(b.p);
}

/* [[[[... 10000 deep */
static void put_deep(const char *dir, const char *sub, const char *head)
{
    struct bb b = {0};
    bb_bytes(&b, head, strlen(head));
    for (int i = 0; i < 10000; i++)
        bb_bytes(&b, "[", 1);
    for (int i = 0; i < 10000; i++)
        bb_bytes(&b, "]", 1);
    bb_bytes(&b, "\n", 1);
    put_file(dir, sub, "hostile-nesting-10000.yaml", b.p, b.n);
    free(b.p);
}

static void hostile_yaml(const char *dir)
{
    put_alias_bomb(dir, "spec", "");
    put_alias_bomb(dir, "policy", "");
    put_alias_bomb(dir, "suite", "");
    put_deep(dir, "spec", "types: ");
    put_deep(dir, "policy", "taps: ");
    put_deep(dir, "suite", "cases: ");
    static const char spec_big[] =
        "name: big\nseed: 1\nvocab: 16777216\ndim: 1048576\nlayers: 1024\nheads: 1\n"
        "ffn_dim: 1048576\ncontext: 16777216\n";
    put_file(dir, "spec", "hostile-2e32-weights.yaml", spec_big, sizeof spec_big - 1);
    static const char spec_num[] =
        "name: n\nseed: 18446744073709551616\nvocab: 512\ndim: 64\nlayers: 1\nheads: 1\n"
        "ffn_dim: 64\ncontext: 8\n";
    put_file(dir, "spec", "hostile-seed-2e64.yaml", spec_num, sizeof spec_num - 1);
    static const char suite_tok[] =
        "golden_dir: g\ncases:\n  - name: a\n    fixture: f.yaml\n    policy: p.yaml\n"
        "    tokens: [2147483648]\n";
    put_file(dir, "suite", "hostile-token-2e31.yaml", suite_tok, sizeof suite_tok - 1);
    static const char policy_inf[] = "defaults:\n  atol: .inf\n";
    put_file(dir, "policy", "hostile-inf.yaml", policy_inf, sizeof policy_inf - 1);
    static const char policy_huge[] = "defaults:\n  max_abs: 1e400\n";
    put_file(dir, "policy", "hostile-1e400.yaml", policy_huge, sizeof policy_huge - 1);
}

static void hostile_dump(const char *dir)
{
    /* a gzip bomb: 16 MiB of zeros in ~16 KiB (not GGUF: rejected after
     * inflating; the lowered-limit test is in test_fuzz_regress.c) */
    size_t n = (size_t)16 << 20;
    uint8_t *zeros = calloc(n, 1);
    if (!zeros)
        die("out of memory");
    put_gz(dir, "dump", "hostile-gzip-bomb-16mib.gz", zeros, n);
    free(zeros);

    static const char not_gz[] = "GGUF\x03\0\0\0";
    put_file(dir, "dump", "hostile-not-gzip", not_gz, sizeof not_gz - 1);

    /* a dump whose taps sit at odd addresses: alignment 1 after a name of
     * odd length */
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_alignment(&w, 1);
    static const float f[4] = {1, 2, 3, 4};
    int64_t ne[2] = {2, 2};
    gguf_writer_tensor(&w, "odd1", PLUMB_TYPE_F32, 2, ne, f, sizeof f); /* data at 101 */
    struct bb out = {0};
    write_gguf(&w, &out);
    put_gz(dir, "dump", "hostile-misaligned-tap.gguf.gz", out.p, out.n);

    /* the same GGUF with bytes after the gzip stream */
    struct bb tail = {0};
    gguf_writer_init(&w);
    gguf_writer_tensor(&w, "x", PLUMB_TYPE_F32, 2, ne, f, sizeof f);
    write_gguf(&w, &tail);
    put_gz(dir, "dump", "edge-tmp.gz", tail.p, tail.n);
    char path[4096];
    snprintf(path, sizeof path, "%s/dump/edge-tmp.gz", dir);
    FILE *fp = fopen(path, "ab");
    if (!fp || fwrite("junk", 1, 4, fp) != 4 || fclose(fp) != 0)
        die(path);
    char dest[4096];
    snprintf(dest, sizeof dest, "%s/dump/hostile-trailing-bytes.gguf.gz", dir);
    if (rename(path, dest) != 0)
        die(dest);
    free(out.p);
    free(tail.p);
}

/* Tokenizer edge cases (accepted: they must tokenize and round-trip), for
 * each vocabulary selector (see fuzz_tokenizer.c). */
static void edge_tokenizer(const char *dir)
{
    struct edge {
        const char *name;
        const char *unit;
        size_t unit_len;
        size_t repeat;
    };
    static const struct edge edges[] = {
        {"a-run", "a", 1, 4000},
        {"space-run", " ", 1, 4000},
        {"newline-run", "\n", 1, 1000},
        {"invalid-utf8", "\x80\xff\xc0\xe2\x96", 5, 400},
        {"lead-before-space", "\xe2 ", 2, 500},
        {"spm-space-mark", "\xe2\x96\x81", 3, 500},
        {"nul-bytes", "\0a\0", 3, 500},
        {"cjk", "\xe4\xb8\xad", 3, 1000},
        {"emoji", "\xf0\x9f\xa6\x99", 4, 800},
        {"digits", "0123456789", 10, 300},
        {"contractions", "'s'll've're 'S", 14, 200},
        {"specials", "<s></s><unk><|endoftext|><|begin_of_text|>", 42, 60},
    };
    for (size_t e = 0; e < sizeof edges / sizeof *edges; e++) {
        for (int sel = 0; sel < 4; sel++) {
            struct bb b = {0};
            uint8_t first = (uint8_t)(sel | (e % 2 ? 4 : 0) | (e % 3 ? 0 : 8));
            bb_bytes(&b, &first, 1);
            for (size_t r = 0; r < edges[e].repeat; r++)
                bb_bytes(&b, edges[e].unit, edges[e].unit_len);
            char name[64];
            snprintf(name, sizeof name, "edge-%s-%d", edges[e].name, sel);
            put_file(dir, "tokenizer", name, b.p, b.n);
            free(b.p);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "corpus") != 0 && strcmp(argv[1], "hostile") != 0)) {
        fprintf(stderr, "usage: fuzz-seeds corpus|hostile DIR\n");
        return 2;
    }
    const char *dir = argv[2];
    if (!strcmp(argv[1], "corpus")) {
        mkdir_p(dir, "gguf");
        mkdir_p(dir, "dump");
        seed_gguf(dir);
        seed_vocabs(dir);
        seed_dumps(dir);
    } else {
        static const char *const subs[] = {"gguf", "spec", "policy", "suite", "dump", "tokenizer"};
        for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
            mkdir_p(dir, subs[i]);
        hostile_gguf(dir);
        hostile_yaml(dir);
        hostile_dump(dir);
        edge_tokenizer(dir);
    }
    return 0;
}
