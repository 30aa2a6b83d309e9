/*
 * test_bench.c: the benchmark's bookkeeping, which the timings hang on: the
 * prompt and decode lengths fitted into a small context (or refused when
 * nothing fits), the weight bytes a decoded token reads and the KV cache
 * size, each against a hand count for a tiny model.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dtype.h"
#include "gguf.h"
#include "helpers.h"
#include "llama_layout.h"

TestSuite(bench, .timeout = 60);

static const float zeros[256];

/* dim 8, 2 heads (head dim 4), 1 kv head (kv dim 4), ffn 16, vocab 4, one
 * layer, f32 weights (all zero), context n_ctx. */
static char *write_tiny(const char *dir, int64_t n_ctx, bool tied)
{
    struct llama_hparams hp = {.n_vocab = 4, .dim = 8, .n_layers = 1, .n_heads = 2, .n_kv_heads = 1,
                               .ffn_dim = 16, .n_ctx = n_ctx, .n_rot = 4, .rope_base = 10000.0f,
                               .rms_eps = 1e-5f, .tied_output = tied};
    struct gguf_writer w;
    gguf_writer_init(&w);
    gguf_writer_str(&w, "general.architecture", "llama");
    gguf_writer_u32(&w, "llama.context_length", (uint32_t)n_ctx);
    gguf_writer_u32(&w, "llama.embedding_length", 8);
    gguf_writer_u32(&w, "llama.block_count", 1);
    gguf_writer_u32(&w, "llama.feed_forward_length", 16);
    gguf_writer_u32(&w, "llama.attention.head_count", 2);
    gguf_writer_u32(&w, "llama.attention.head_count_kv", 1);
    gguf_writer_f32(&w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    for (int64_t i = 0; i < llama_layout_count(&hp); i++) {
        struct llama_tensor_desc d;
        llama_layout_get(&hp, i, &d);
        int64_t ne[2] = {d.ne[0], d.ne[1]};
        gguf_writer_tensor(&w, d.name, PLUMB_TYPE_F32, d.n_dims, ne, zeros,
                           (size_t)(ne[0] * ne[1]) * sizeof(float));
    }
    char *path = malloc(512);
    snprintf(path, 512, "%s/ctx%lld%s.gguf", dir, (long long)n_ctx, tied ? "-tied" : "");
    struct plumb_err err;
    cr_assert(eq(int, gguf_writer_write_file(&w, path, &err), 0), "%s", err.msg);
    gguf_writer_free(&w);
    return path;
}

static int run_bench(const char *path, int n_prompt, int n_decode, struct bench_result *r,
                     struct plumb_err *err)
{
    struct bench_options o = {.model_path = path, .threads = 1, .n_prompt = n_prompt,
                              .n_decode = n_decode, .reps = 1, .yardstick = true};
    return bench_model(&o, r, err);
}

/* Weight bytes per decoded token, by hand, f32 (4 bytes):
 *   wq 8x8 256, wk 4x8 128, wv 4x8 128, wo 8x8 256, gate/up 16x8 512 each,
 *   down 8x16 512, the two norms 2*8*4 64      -> 2368 for the layer
 *   output 4x8 128, one embedding row 32, output_norm 32 -> 2560;
 *   tied: the embedding is the output, read whole, no extra row -> 2528.
 * KV cache: 2 (k and v) x 1 layer x n_ctx x kv dim 4 x 4 bytes. */
Test(bench, counts_bytes_per_token_and_the_kv_cache_by_hand)
{
    char *dir = make_temp_dir();
    char *path = write_tiny(dir, 32, false);
    struct bench_result r;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, run_bench(path, 3, 2, &r, &err), 0), "%s", err.msg);
    cr_assert(eq(int, r.n_prompt, 3));
    cr_assert(eq(int, r.n_decode, 2));
    cr_assert(eq(i64, r.n_ctx, 5)); /* the run's own context, not the model's 32 */
    cr_assert(eq(dbl, r.bytes_per_token, 2560.0));
    cr_assert(eq(dbl, r.kv_bytes, 2.0 * 1 * 5 * 4 * 4));
    cr_assert(gt(dbl, r.plain_tps, 0.0)); /* f32: the yardstick ran */
    free(path);
    path = write_tiny(dir, 32, true);
    cr_assert(eq(int, run_bench(path, 3, 2, &r, &err), 0), "%s", err.msg);
    cr_assert(eq(dbl, r.bytes_per_token, 2528.0));
    free(path);
    rm_tree(dir);
    free(dir);
}

/* A context smaller than prompt + decode: decode gets at most half of it,
 * the prompt the rest; a context of 1 leaves no room for both. */
Test(bench, fits_prompt_and_decode_into_a_small_context)
{
    const struct {
        int64_t n_ctx;
        int n_prompt, n_decode; /* asked */
        int want_prompt, want_decode;
    } cases[] = {
        {8, 32, 16, 4, 4}, /* both cut: decode to 8/2, prompt to the rest */
        {8, 2, 16, 2, 4},  /* only decode cut */
        {8, 7, 1, 7, 1},   /* fits exactly: untouched */
        {9, 32, 1, 8, 1},  /* only the prompt cut */
        {2, 32, 16, 1, 1},
    };
    char *dir = make_temp_dir();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = write_tiny(dir, cases[i].n_ctx, false);
        struct bench_result r;
        struct plumb_err err = {{0}};
        cr_assert(eq(int, run_bench(path, cases[i].n_prompt, cases[i].n_decode, &r, &err), 0),
                  "case %zu: %s", i, err.msg);
        cr_assert(eq(int, r.n_prompt, cases[i].want_prompt), "case %zu", i);
        cr_assert(eq(int, r.n_decode, cases[i].want_decode), "case %zu", i);
        cr_assert(le(i64, r.n_ctx, cases[i].n_ctx), "case %zu", i);
        free(path);
    }
    rm_tree(dir);
    free(dir);
}

Test(bench, refuses_a_context_too_small_and_a_missing_model)
{
    char *dir = make_temp_dir();
    char *path = write_tiny(dir, 1, false);
    struct bench_result r;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, run_bench(path, 32, 16, &r, &err), -1));
    char want[700];
    snprintf(want, sizeof want, "%s: a context of 1 is too small to benchmark", path);
    cr_assert(eq(str, err.msg, want));
    free(path);
    path = malloc(600);
    snprintf(path, 600, "%s/missing.gguf", dir);
    cr_assert(eq(int, run_bench(path, 4, 4, &r, &err), -1));
    cr_assert(eq(int, strncmp(err.msg, path, strlen(path)), 0), "%s", err.msg);
    free(path);
    rm_tree(dir);
    free(dir);
}
