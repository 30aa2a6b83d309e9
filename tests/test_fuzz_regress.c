/*
 * test_fuzz_regress.c: the fuzzers' regression corpus, replayed in
 * `make test` (and so under ASan and UBSan in `make test SAN=...`).
 *
 * - Every file in tests/fuzz/regress/TARGET/ goes through fuzz_TARGET, the
 *   very function the libFuzzer target runs (the targets' sources are
 *   included below with PLUMB_FUZZ_REPLAY, which leaves out libFuzzer's
 *   entry point): it must not crash, and every check the target makes must
 *   hold. The files are minimised inputs that once found a defect (named
 *   crash-*, leak-*, timeout-*, oom-* by tools/fuzz.sh) and the hand-made
 *   cases of tests/fuzz/seeds.c (hostile-*: a GGUF claiming 2^60 tensors, a
 *   2^62-byte string, arrays nested 9 deep, YAML alias bombs, a gzip bomb,
 *   ...; edge-*: odd text for the tokenizer). A hostile-* input must
 *   moreover be rejected, with a message.
 * - Cases too big to commit are made here: a gzip bomb against a lowered
 *   limit (it must stop at the limit, to the byte), YAML over the 1 MiB
 *   limit, and dump_read from a file agreeing with dump_read_memory.
 *
 * Tests run from the repository root (the tokenizer target reads
 * build/vocab/, which `make test` fetches, and fixtures/gqa.yaml).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PLUMB_FUZZ_REPLAY
#include "fuzz/fuzz_dump.c"
#include "fuzz/fuzz_gguf.c"
#include "fuzz/fuzz_policy.c"
#include "fuzz/fuzz_spec.c"
#include "fuzz/fuzz_suite.c"
#include "fuzz/fuzz_tokenizer.c"

#include "helpers.h"

#define REGRESS_DIR "tests/fuzz/regress/"

TestSuite(fuzz_regress, .timeout = 300);

/* Does the library accept this input? (only asked of hostile-* files) */
static bool regress_accepts(const char *target, const uint8_t *data, size_t size, char *msg)
{
    struct plumb_err err = {{0}};
    int rc = -1;
    if (!strcmp(target, "gguf")) {
        struct gguf_ctx g;
        rc = gguf_open_memory(&g, data, size, "hostile", &err);
        gguf_close(&g);
    } else if (!strcmp(target, "spec")) {
        struct spec s;
        rc = spec_parse(&s, (const char *)data, size, "hostile", &err);
        spec_free(&s);
    } else if (!strcmp(target, "policy")) {
        struct policy p;
        rc = policy_parse(&p, (const char *)data, size, "hostile", &err);
        policy_free(&p);
    } else if (!strcmp(target, "suite")) {
        struct suite s;
        rc = suite_parse(&s, (const char *)data, size, "hostile", &err);
        suite_free(&s);
    } else if (!strcmp(target, "dump")) {
        struct dump d;
        rc = dump_read_memory(&d, data, size, "hostile", &err);
        dump_free(&d);
    } else {
        cr_fail("no acceptance check for target %s", target);
    }
    snprintf(msg, PLUMB_ERR_MAX, "%s", err.msg);
    return rc == 0;
}

static int regress_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every file of tests/fuzz/regress/<target>/ through fn, in name
 * order; returns how many. */
static size_t regress_replay(const char *target, int (*fn)(const uint8_t *, size_t))
{
    char dir[256];
    snprintf(dir, sizeof dir, REGRESS_DIR "%s", target);
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* nothing found yet for this target */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            cr_assert(names != NULL);
        }
        names[n] = strdup(e->d_name);
        cr_assert(names[n] != NULL);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, regress_cmp);
    for (size_t i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = 0;
        char *text = read_file(path, &len);
        cr_assert(text != NULL, "%s: cannot read", path);
        /* exactly len bytes, so ASan sees a read one past the end */
        uint8_t *data = malloc(len ? len : 1);
        cr_assert(data != NULL);
        memcpy(data, text, len);
        free(text);
        fn(data, len);
        if (!strncmp(names[i], "hostile-", 8)) {
            char msg[PLUMB_ERR_MAX];
            int accepted = regress_accepts(target, data, len, msg);
            cr_assert(eq(int, accepted, 0), "%s: accepted", path);
            cr_assert(gt(sz, strlen(msg), 0), "%s: rejected without a message", path);
        }
        free(data);
        free(names[i]);
    }
    free(names);
    return n;
}

Test(fuzz_regress, gguf_inputs_replay_cleanly)
{
    cr_assert(gt(sz, regress_replay("gguf", fuzz_gguf), 0), "no gguf cases in " REGRESS_DIR);
}

Test(fuzz_regress, spec_inputs_replay_cleanly)
{
    cr_assert(gt(sz, regress_replay("spec", fuzz_spec), 0), "no spec cases in " REGRESS_DIR);
}

Test(fuzz_regress, policy_inputs_replay_cleanly)
{
    cr_assert(gt(sz, regress_replay("policy", fuzz_policy), 0), "no policy cases in " REGRESS_DIR);
}

Test(fuzz_regress, suite_inputs_replay_cleanly)
{
    cr_assert(gt(sz, regress_replay("suite", fuzz_suite), 0), "no suite cases in " REGRESS_DIR);
}

Test(fuzz_regress, dump_inputs_replay_cleanly)
{
    cr_assert(gt(sz, regress_replay("dump", fuzz_dump), 0), "no dump cases in " REGRESS_DIR);
}

Test(fuzz_regress, tokenizer_inputs_replay_cleanly)
{
    cr_assert(gt(sz, regress_replay("tokenizer", fuzz_tokenizer), 0),
              "no tokenizer cases in " REGRESS_DIR);
}

/* ---- made here ---- */

/* gzip of n bytes of value c, in memory. */
static uint8_t *regress_gzip_fill(size_t n, int c, size_t *gz_len)
{
    uint8_t *raw = malloc(n);
    cr_assert(raw != NULL);
    memset(raw, c, n);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    cr_assert(eq(int, deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK));
    uLong cap = deflateBound(&zs, (uLong)n);
    uint8_t *gz = malloc(cap);
    cr_assert(gz != NULL);
    zs.next_in = raw;
    zs.avail_in = (uInt)n;
    zs.next_out = gz;
    zs.avail_out = (uInt)cap;
    cr_assert(eq(int, deflate(&zs, Z_FINISH), Z_STREAM_END));
    *gz_len = zs.total_out;
    deflateEnd(&zs);
    free(raw);
    return gz;
}

Test(fuzz_regress, a_gzip_bomb_stops_at_the_limit_to_the_byte)
{
    size_t n = (size_t)4 << 20, gz_len;
    uint8_t *gz = regress_gzip_fill(n, 0, &gz_len);
    cr_assert(lt(sz, gz_len, n / 500), "4 MiB of zeros compress to %zu bytes", gz_len);
    struct dump d;
    struct plumb_err err;

    /* a limit far below: refused, naming the limit, nothing kept */
    cr_assert(eq(int, dump_read_memory_max(&d, gz, gz_len, 65536, "bomb.gz", &err), -1));
    cr_assert(eq(str, err.msg, "bomb.gz: decompresses to more than 65536 bytes; refusing"));
    dump_free(&d);

    /* one byte short of the data: still refused */
    cr_assert(eq(int, dump_read_memory_max(&d, gz, gz_len, n - 1, "bomb.gz", &err), -1));
    cr_assert(eq(str, err.msg, "bomb.gz: decompresses to more than 4194303 bytes; refusing"));
    dump_free(&d);

    /* exactly the data: inflates, then fails as GGUF (zeros are no magic) */
    cr_assert(eq(int, dump_read_memory_max(&d, gz, gz_len, n, "bomb.gz", &err), -1));
    cr_assert(eq(str, err.msg,
                 "bomb.gz (after gunzip): offset 0: bad magic '?\?\?\?' (00 00 00 00), "
                 "expected 'GGUF' (47 47 55 46)"));
    dump_free(&d);
    free(gz);
}

Test(fuzz_regress, truncated_and_padded_gzip_is_refused)
{
    size_t gz_len;
    uint8_t *gz = regress_gzip_fill(1000, 'x', &gz_len);
    struct dump d;
    struct plumb_err err;
    cr_assert(eq(int, dump_read_memory(&d, gz, gz_len - 1, "t.gz", &err), -1));
    cr_assert(eq(str, err.msg, "t.gz: truncated: the gzip stream ends early"));
    dump_free(&d);
    cr_assert(eq(int, dump_read_memory(&d, gz, 0, "t.gz", &err), -1));
    cr_assert(eq(str, err.msg, "t.gz: empty file, expected a gzip-compressed GGUF dump"));
    dump_free(&d);
    uint8_t *more = malloc(gz_len + 1);
    cr_assert(more != NULL);
    memcpy(more, gz, gz_len);
    more[gz_len] = 0;
    cr_assert(eq(int, dump_read_memory(&d, more, gz_len + 1, "t.gz", &err), -1));
    cr_assert(eq(str, err.msg, "t.gz: data after the end of the gzip stream"));
    dump_free(&d);
    static const uint8_t not_gz[20] = "GGUF, not gzip";
    cr_assert(eq(int, dump_read_memory(&d, not_gz, sizeof not_gz, "t.gz", &err), -1));
    cr_assert(eq(str, err.msg, "t.gz: corrupt gzip data (incorrect header check)"));
    dump_free(&d);
    free(more);
    free(gz);
}

Test(fuzz_regress, dump_read_from_a_file_agrees_with_memory)
{
    const char *path = "golden/gqa-short.gguf.gz";
    size_t len;
    char *gz = read_file(path, &len);
    cr_assert(gz != NULL, "%s missing", path);
    struct dump a, b;
    struct plumb_err err;
    cr_assert(eq(int, dump_read(&a, path, &err), 0), "%s", err.msg);
    cr_assert(eq(int, dump_read_memory(&b, gz, len, path, &err), 0), "%s", err.msg);
    cr_assert(eq(i64, a.n_taps, b.n_taps));
    cr_assert(eq(sz, a.n_bytes, b.n_bytes));
    cr_assert(eq(int, memcmp(a.bytes, b.bytes, a.n_bytes), 0));
    for (int64_t i = 0; i < a.n_taps; i++) {
        cr_assert(eq(str, a.taps[i].name, b.taps[i].name));
        cr_assert(eq(i64, a.taps[i].width, b.taps[i].width));
        cr_assert(eq(i64, a.taps[i].n_pos, b.taps[i].n_pos));
    }
    dump_free(&a);
    dump_free(&b);
    free(gz);

    /* what is not a regular file is read through, and refused as before */
    cr_assert(eq(int, dump_read(&a, "golden", &err), -1));
    cr_assert(eq(str, err.msg, "golden: read failed: Is a directory"));
    dump_free(&a);
    cr_assert(eq(int, dump_read(&a, "golden/.gitkeep", &err), -1));
    cr_assert(eq(str, err.msg, "golden/.gitkeep: empty file, expected a gzip-compressed GGUF dump"));
    dump_free(&a);
    cr_assert(eq(int, dump_read(&a, "golden/none.gguf.gz", &err), -1));
    cr_assert(eq(str, err.msg, "golden/none.gguf.gz: cannot open: No such file or directory"));
    dump_free(&a);
}

Test(fuzz_regress, yaml_over_one_mebibyte_is_refused_before_parsing)
{
    size_t n = ((size_t)1 << 20) + 1;
    char *text = malloc(n);
    cr_assert(text != NULL);
    memset(text, '[', n); /* would nest a million deep */
    struct plumb_err err;
    struct spec s;
    struct policy p;
    struct suite u;
    cr_assert(eq(int, spec_parse(&s, text, n, "big.yaml", &err), -1));
    cr_assert(eq(str, err.msg, "big.yaml: spec is 1048577 bytes, more than the 1048576-byte limit"));
    cr_assert(eq(int, policy_parse(&p, text, n, "big.yaml", &err), -1));
    cr_assert(eq(str, err.msg,
                 "big.yaml: policy is 1048577 bytes, more than the 1048576-byte limit"));
    cr_assert(eq(int, suite_parse(&u, text, n, "big.yaml", &err), -1));
    cr_assert(eq(str, err.msg, "big.yaml: suite is 1048577 bytes, more than the 1048576-byte limit"));
    free(text);
}

/* Found by the harness's own writer round trip: the writer searched every
 * earlier key and tensor name for a duplicate, so copying a 1.3 MB file of
 * 70,000 one-byte keys took a minute and a half. Now a hash set: linear. */
Test(fuzz_regress, the_writer_takes_100000_keys_and_tensors_in_linear_time, .timeout = 60)
{
    enum { N = 100000 };
    static const int8_t byte = 7;
    struct gguf_writer w;
    gguf_writer_init(&w);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "k.%d", i);
        cr_assert(eq(int, gguf_writer_u8(&w, name, (uint8_t)i), 0), "%s", w.err.msg);
        snprintf(name, sizeof name, "t%d", i);
        int64_t ne = 1;
        cr_assert(eq(int, gguf_writer_tensor(&w, name, PLUMB_TYPE_I8, 1, &ne, &byte, 1), 0), "%s",
                  w.err.msg);
    }
    struct fuzz_buf out = {0};
    struct plumb_err err;
    cr_assert(eq(int, gguf_writer_write(&w, fuzz_buf_sink, &out, &err), 0), "%s", err.msg);
    struct gguf_ctx g;
    cr_assert(eq(int, gguf_open_memory(&g, out.p, out.n, "many.gguf", &err), 0), "%s", err.msg);
    cr_assert(eq(u64, g.n_kv, N));
    cr_assert(eq(u64, g.n_tensors, N));
    gguf_close(&g);
    free(out.p);

    /* and duplicates are still refused, by name */
    cr_assert(eq(int, gguf_writer_u8(&w, "k.99999", 1), -1));
    cr_assert(eq(str, w.err.msg, "duplicate key 'k.99999'"));
    gguf_writer_free(&w);
    gguf_writer_init(&w);
    int64_t ne = 1;
    cr_assert(eq(int, gguf_writer_tensor(&w, "t", PLUMB_TYPE_I8, 1, &ne, &byte, 1), 0));
    cr_assert(eq(int, gguf_writer_tensor(&w, "t", PLUMB_TYPE_I8, 1, &ne, &byte, 1), -1));
    cr_assert(eq(str, w.err.msg, "duplicate tensor name 't'"));
    gguf_writer_free(&w);
}
