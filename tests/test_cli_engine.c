/*
 * test_cli_engine.c: `plumb tokenize`, `plumb run` and `plumb dump` as a
 * user runs them: llama.cpp's own tokenizer answers, reproducible
 * generation, dumps that are the same for any thread count, and bad input
 * refused with one line and exit 2.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "helpers.h"

TestSuite(cli_engine, .timeout = 120);

/* A fixture generated into dir; returns its path (malloc'd). */
static char *fixture(const char *dir, const char *name)
{
    char *out = malloc(1024), spec[256];
    snprintf(out, 1024, "%s/%s.gguf", dir, name);
    snprintf(spec, sizeof spec, "fixtures/%s.yaml", name);
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "gen", spec, "-o", out, NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    run_free(&r);
    return out;
}

static void expect_fail(const char *const *argv, const char *fragment)
{
    struct run_result r;
    run_plumb(&r, argv);
    cr_assert(eq(int, r.status, 2), "status %d: %s", r.status, r.err);
    cr_assert(eq(int, count_lines(r.err), 1), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.err, fragment), NULL)), "want '%s' in: %s", fragment, r.err);
    run_free(&r);
}

Test(cli_engine, tokenize_gives_llama_cpp_ids_on_its_own_vocabulary)
{
    /* ggml-vocab-llama-spm.gguf.out lists "Hello world" as 15043 3186 */
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "tokenize", "-m", "build/vocab/ggml-vocab-llama-spm.gguf",
                                   "-p", "Hello world", NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(eq(str, r.out, "15043 3186\n"));
    run_free(&r);
    run_plumb(&r, (const char *[]){"plumb", "tokenize", "-m", "build/vocab/ggml-vocab-llama-spm.gguf",
                                   "-p", "Hello world", "--bos", NULL});
    cr_assert(eq(str, r.out, "1 15043 3186\n"));
    run_free(&r);
    expect_fail((const char *[]){"plumb", "tokenize", "-m", "/nonexistent.gguf", "-p", "x", NULL},
                "/nonexistent.gguf");
}

Test(cli_engine, run_is_reproducible_and_reports_speed)
{
    char *dir = make_temp_dir();
    char *model = fixture(dir, "gqa");
    const char *argv[] = {"plumb", "run", "-m", model, "-p", "The river", "-n", "12",
                          "--seed", "7", "--temp", "0.9", NULL};
    struct run_result a, b;
    run_plumb(&a, argv);
    run_plumb(&b, argv);
    cr_assert(eq(int, a.status, 0), "%s", a.err);
    cr_assert(eq(str, a.out, b.out), "the same seed gives the same text");
    cr_assert(eq(int, strncmp(a.out, "The river", 9), 0), "the prompt is echoed: %s", a.out);
    cr_assert(not(eq(ptr, strstr(a.err, "tokens/s"), NULL)), "%s", a.err);
    cr_assert(eq(int, count_lines(a.err), 1), "%s", a.err);
    run_free(&a);
    run_free(&b);

    /* greedy on every fixture, including the quantized one */
    const char *names[] = {"mha", "mqa", "mixed"};
    for (size_t i = 0; i < 3; i++) {
        char *m = fixture(dir, names[i]);
        run_plumb(&a, (const char *[]){"plumb", "run", "-m", m, "-p", "Hello", "-n", "8", "--temp", "0", NULL});
        cr_assert(eq(int, a.status, 0), "%s: %s", names[i], a.err);
        run_free(&a);
        free(m);
    }

    expect_fail((const char *[]){"plumb", "run", "-m", model, NULL}, "missing -p");
    expect_fail((const char *[]){"plumb", "run", "-m", model, "-p", "x", "--top-p", "2", NULL}, "top_p");
    /* 40 characters of byte-level text: more tokens than the 32-token context */
    expect_fail((const char *[]){"plumb", "run", "-m", model, "-p",
                                 "zqxjzqxjzqxjzqxjzqxjzqxjzqxjzqxjzqxjzqxj", NULL},
                "exceed the context of 32");
    free(model);
    rm_tree(dir);
    free(dir);
}

Test(cli_engine, dump_is_identical_for_any_thread_count_and_readable)
{
    char *dir = make_temp_dir();
    char *model = fixture(dir, "mixed");
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/a.gguf.gz", dir);
    snprintf(b, sizeof b, "%s/b.gguf.gz", dir);
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "dump", "-m", model, "--tokens", "1,17,300,5", "-o", a, NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    run_free(&r);
    run_plumb(&r, (const char *[]){"plumb", "dump", "-m", model, "--tokens", "1,17,300,5", "-o", b,
                                   "--threads", "2", NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    run_free(&r);

    struct dump da, db;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, dump_read(&da, a, &err), 0), "%s", err.msg);
    cr_assert(eq(int, dump_read(&db, b, &err), 0), "%s", err.msg);
    cr_assert(eq(i64, da.n_taps, 25));
    for (int64_t i = 0; i < da.n_taps; i++) {
        cr_assert(eq(str, da.taps[i].name, db.taps[i].name));
        cr_assert(eq(i64, da.taps[i].n_pos, 4));
        size_t bytes = (size_t)(da.taps[i].width * da.taps[i].n_pos) * sizeof(float);
        cr_assert(eq(int, memcmp(da.taps[i].data, db.taps[i].data, bytes), 0), "%s", da.taps[i].name);
    }
    /* provenance */
    const struct gguf_value *t = gguf_get(&da.gguf, "plumb.tokens");
    cr_assert(eq(u64, t->len, 4));
    cr_assert(not(eq(ptr, (void *)gguf_get(&da.gguf, "plumb.model.sha256"), NULL)));
    cr_assert(not(eq(ptr, (void *)gguf_get(&da.gguf, "plumb.compiler"), NULL)));
    dump_free(&da);
    dump_free(&db);

    expect_fail((const char *[]){"plumb", "dump", "-m", model, "--tokens", "1,999", "-o", a, NULL},
                "token id 999 (at 1) is out of range 0..319");
    expect_fail((const char *[]){"plumb", "dump", "-m", model, "--tokens", "1,x", "-o", a, NULL},
                "--tokens");
    expect_fail((const char *[]){"plumb", "dump", "-m", model, "-o", a, NULL}, "exactly one of");
    char bad[1100];
    snprintf(bad, sizeof bad, "%s/missing/x.gguf.gz", dir);
    expect_fail((const char *[]){"plumb", "dump", "-m", model, "--tokens", "1", "-o", bad, NULL}, bad);
    free(model);
    rm_tree(dir);
    free(dir);
}

Test(cli_engine, a_model_of_another_architecture_is_refused)
{
    /* gpt-2's vocabulary file says general.architecture = gpt2 and has no tensors */
    expect_fail((const char *[]){"plumb", "run", "-m", "build/vocab/ggml-vocab-gpt-2.gguf", "-p", "x", NULL},
                "general.architecture is 'gpt2'; plumb runs 'llama'");
}

Test(cli_engine, bench_reports_speed_memory_the_yardstick_and_the_roofline)
{
    /* figures only: speed targets are checked by running plumb bench, never
     * asserted by a test on a shared machine */
    char *dir = make_temp_dir();
    char *model = fixture(dir, "gqa");
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "bench", "-m", model, "--reps", "1", "--bw-size", "8",
                                   "--json", NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(json_valid(r.out), "%s", r.out);
    const char *keys[] = {"\"prompt_tokens_per_s\"", "\"decode_tokens_per_s\"",
                          "\"decode_phase_tokens_per_s\"", "\"decode_gb_per_s\"",
                          "\"yardstick_tokens_per_s\"", "\"peak_rss_bytes\"", "\"kv_bytes\"",
                          "\"prompt_tokens\": 16", "\"decode_tokens\": 16",
                          "\"decode_pct_of_read_bandwidth\"", "\"read_bandwidth_gb_per_s\"",
                          "\"read_bandwidth_bytes\": 8388608"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert(not(eq(ptr, strstr(r.out, keys[i]), NULL)), "%s in %s", keys[i], r.out);
    /* bytes per token: 2 layers of (64x64 q, 64x16 k, v, 64x64 o, 3 x 64x160) f32, the
     * 512x64 output, one 64-wide embedding row, 2 norms per layer and the final norm */
    double want = 2.0 * (64 * 64 + 2 * 64 * 16 + 64 * 64 + 3 * 64 * 160) * 4 + 512 * 64 * 4 + 64 * 4 +
                  2 * 2 * 64 * 4 + 64 * 4;
    char expect[64];
    snprintf(expect, sizeof expect, "\"bytes_per_token\": %.17g", want);
    cr_assert(not(eq(ptr, strstr(r.out, expect), NULL)), "%s in %s", expect, r.out);
    run_free(&r);
    free(model);
    rm_tree(dir);
    free(dir);
}
