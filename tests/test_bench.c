/*
 * test_bench.c: the benchmarks' bookkeeping, which the timings hang on,
 * never the timings themselves.
 *
 * The model bench: the prompt and decode lengths fitted into a small
 * context (or refused when nothing fits), the weight bytes a decoded token
 * reads and the KV cache size, each against a hand count for a tiny model.
 * The read bandwidth: every word of the buffer is read (the checksum is the
 * hand-computed sum), by every load width this CPU has, for any split. The
 * ops bench: FLOP and byte counts and the rates made from them against hand
 * arithmetic, its matrices the same for any thread count, its matrix-vector
 * product (the engine's, split as the engine splits it) against the scalar
 * spec, every line present on a small shape, and the command line: refusals
 * with exit 2 and one line, parseable JSON.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dtype.h"
#include "forward.h"
#include "gguf.h"
#include "helpers.h"
#include "kernels_registry.h"
#include "llama_layout.h"
#include "membw.h"
#include "scalar.h"

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
                              .n_decode = n_decode, .reps = 1, .yardstick = true,
                              .bw_bytes = (size_t)1 << 20};
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
    /* the roofline, measured on the engine's pool over the buffer asked for */
    cr_assert(eq(u64, r.bw.bytes, 1 << 20));
    cr_assert(eq(int, r.bw.threads, 1));
    cr_assert(gt(dbl, r.bw.gbps, 0.0));
    cr_assert(eq(dbl, r.pct_bw, 100.0 * r.gbps / r.bw.gbps));
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

/* ---- the read bandwidth ---- */

/* Sum of the words 0 .. n-1, modulo 2^64: what a pass over the buffer gives. */
static uint64_t sum_to(uint64_t n)
{
    return n % 2 ? n * ((n - 1) / 2) : (n / 2) * (n - 1);
}

Test(bench, the_bandwidth_pass_reads_every_word_of_the_buffer)
{
    const enum membw_loads all[] = {MEMBW_LOADS_BEST, MEMBW_LOADS_U64, MEMBW_LOADS_AVX2,
                                    MEMBW_LOADS_AVX512};
    const int threads[] = {1, 2, 3};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        struct pool pool;
        struct plumb_err err = {{0}};
        cr_assert(eq(int, pool_init(&pool, threads[t], &err), 0), "%s", err.msg);
        for (size_t l = 0; l < sizeof all / sizeof all[0]; l++) {
            if (!membw_loads_supported(all[l]))
                continue;
            /* 1 MiB + 40 bytes: the part-line tail is dropped, 16384 lines are split */
            struct membw_result r;
            cr_assert(eq(int, membw_measure(&pool, (1 << 20) + 40, 3, all[l], &r, &err), 0),
                      "%s", err.msg);
            cr_assert(eq(u64, r.bytes, 1 << 20));
            cr_assert(eq(u64, r.checksum, sum_to((1 << 20) / 8)),
                      "%s loads, %d threads", membw_loads_name(all[l]), threads[t]);
            cr_assert(gt(dbl, r.min_gbps, 0.0));
            cr_assert(le(dbl, r.min_gbps, r.gbps));
            cr_assert(le(dbl, r.gbps, r.max_gbps));
            cr_assert(lt(dbl, r.max_gbps, 1e6)); /* finite, and not a million GB/s */
            cr_assert(eq(int, r.reps, 3));
            cr_assert(eq(int, r.threads, threads[t]));
            cr_assert(not(eq(int, r.loads, MEMBW_LOADS_BEST)));
        }
        /* 3 lines over 3 threads, 1 line over 2 or 3: some shares are empty */
        struct membw_result r;
        cr_assert(eq(int, membw_measure(&pool, 64, 1, MEMBW_LOADS_BEST, &r, &err), 0), "%s", err.msg);
        cr_assert(eq(u64, r.checksum, sum_to(8)));
        cr_assert(eq(int, membw_measure(&pool, 63, 1, MEMBW_LOADS_BEST, &r, &err), -1));
        cr_assert(eq(str, err.msg, "read bandwidth: a buffer of 63 bytes is under one 64-byte line"));
        pool_free(&pool);
    }
}

/* Every load width gives the plain sum, at every length and misalignment
 * (the vector loops' tails are the plain loop's). */
Test(bench, every_load_width_sums_like_the_plain_loop)
{
    static uint64_t words[300];
    uint64_t st = 42;
    for (size_t i = 0; i < 300; i++)
        words[i] = test_rand(&st);
    const enum membw_loads all[] = {MEMBW_LOADS_U64, MEMBW_LOADS_AVX2, MEMBW_LOADS_AVX512};
    for (size_t l = 0; l < 3; l++) {
        if (!membw_loads_supported(all[l]))
            continue;
        for (size_t off = 0; off < 3; off++)
            for (size_t n = 0; n + off <= 300; n += 7) {
                uint64_t want = 0;
                for (size_t i = 0; i < n; i++)
                    want += words[off + i];
                cr_assert(eq(u64, membw_sum(words + off, n, all[l]), want),
                          "%s loads, offset %zu, n %zu", membw_loads_name(all[l]), off, n);
            }
    }
}

/* ---- the ops bench's arithmetic ---- */

static const struct bench_shape llama3 = {.rows = 14336, .cols = 4096, .n_heads = 32,
                                          .n_kv_heads = 8, .head_dim = 128, .n_kv = 512};

/* By hand, for the default shape:
 *   matvec flops 2 * 14336 * 4096 = 117440512
 *   x and out: 4 * 4096 + 4 * 14336 = 16384 + 57344 = 73728 bytes
 *   f32 rows 4 * 4096 = 16384 bytes: 14336 * 16384 = 234881024 (+ 73728)
 *   q4_0 rows 128 blocks of 18 = 2304: 14336 * 2304 = 33030144 (+ 73728)
 *   q4_k rows 16 blocks of 144 = 2304: the same
 *   q6_k rows 16 blocks of 210 = 3360: 14336 * 3360 = 48168960 (+ 73728)
 *   q8_0 rows 128 blocks of 34 = 4352: 14336 * 4352 = 62390272 (+ 73728)
 *   rmsnorm, add 3 * 4 * 4096 = 49152; silu_mul 3 * 4 * 14336 = 172032
 *   rope 2 * 4 * 32 * 128 + 4 * 128 = 32768 + 512 = 33280
 *   attention 2 * 4 * 4096 + 2 * 4 * 512 * 8 * 128 = 32768 + 4194304 = 4227072,
 *     flops 4 * 32 * 512 * 128 = 8388608
 *   softmax 2 * 4 * 32 * 512 = 131072 */
Test(bench, counts_flops_and_bytes_by_hand)
{
    const struct bench_shape *s = &llama3;
    cr_assert(eq(dbl, bench_op_flops(BENCH_OP_MATVEC, s), 117440512.0));
    cr_assert(eq(dbl, bench_op_flops(BENCH_OP_ATTENTION, s), 8388608.0));
    cr_assert(eq(dbl, bench_op_flops(BENCH_OP_RMSNORM, s), 0.0));
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_MATVEC, PLUMB_TYPE_F32, s), 234881024.0 + 73728));
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_MATVEC, PLUMB_TYPE_Q4_0, s), 33030144.0 + 73728));
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_MATVEC, PLUMB_TYPE_Q4_K, s), 33030144.0 + 73728));
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_MATVEC, PLUMB_TYPE_Q6_K, s), 48168960.0 + 73728));
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_MATVEC, PLUMB_TYPE_Q8_0, s), 62390272.0 + 73728));
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_RMSNORM, -1, s), 49152.0));
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_ADD, -1, s), 49152.0));
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_SILU_MUL, -1, s), 172032.0));
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_ROPE, -1, s), 33280.0));
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_ATTENTION, -1, s), 4227072.0));
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_SOFTMAX, -1, s), 131072.0));
    struct bench_shape odd = llama3;
    odd.cols = 100; /* not a whole number of 256-element blocks */
    cr_assert(eq(dbl, bench_op_bytes(BENCH_OP_MATVEC, PLUMB_TYPE_Q4_K, &odd), -1.0));
}

/* q4_0 in 1 ms against a 40 GB/s roofline: 117.440512 GFLOP/s,
 * 33.103872 GB/s, 82.75968 %. */
Test(bench, makes_rates_from_a_time_by_hand)
{
    struct bench_op_line l = {.seconds = 1e-3, .flops = 117440512.0, .bytes = 33103872.0};
    bench_rates(&l, 40.0);
    cr_assert(epsilon_eq(dbl, l.gflops, 117.440512, 1e-9));
    cr_assert(epsilon_eq(dbl, l.gbps, 33.103872, 1e-9));
    cr_assert(epsilon_eq(dbl, l.pct_bw, 82.75968, 1e-9));
    struct bench_op_line z = {.seconds = 0, .flops = 1, .bytes = 1};
    bench_rates(&z, 40.0);
    cr_assert(eq(dbl, z.gbps, 0.0)); /* no time: no rate, not Inf */
    struct bench_op_line n = {.seconds = 1, .flops = 0, .bytes = 2e9};
    bench_rates(&n, 0.0);
    cr_assert(eq(dbl, n.gbps, 2.0));
    cr_assert(eq(dbl, n.gflops, 0.0));
    cr_assert(eq(dbl, n.pct_bw, 0.0)); /* no roofline: no percentage */
    cr_assert(eq(int, bench_op_from_name("silu_mul"), BENCH_OP_SILU_MUL));
    cr_assert(eq(int, bench_op_from_name("gemm"), -1));
    cr_assert(eq(str, (char *)bench_op_name(BENCH_OP_ATTENTION), "attention"));
}

/* ---- the ops bench's matrices and matrix-vector product ---- */

Test(bench, a_matrix_is_the_same_whatever_the_threads)
{
    struct pool p1, p3;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, pool_init(&p1, 1, &err), 0), "%s", err.msg);
    cr_assert(eq(int, pool_init(&p3, 3, &err), 0), "%s", err.msg);
    for (int i = 0; i < bench_ops_n_types; i++) {
        int type = bench_ops_types[i];
        size_t rs1, rs3;
        void *a = bench_matrix_new(&p1, type, 5, 512, 9, &rs1, &err);
        void *b = bench_matrix_new(&p3, type, 5, 512, 9, &rs3, &err);
        cr_assert(not(eq(ptr, a, NULL)), "%s", err.msg);
        cr_assert(not(eq(ptr, b, NULL)), "%s", err.msg);
        size_t want;
        cr_assert(dtype_row_size(type, 512, &want));
        cr_assert(eq(u64, rs1, want));
        cr_assert(eq(int, memcmp(a, b, 5 * rs1), 0), "%s", dtype_name(type));
        /* the values are the uniform floats in [-1, 1) the header promises */
        float row[512];
        dtype_traits(type)->to_float(a, row, 512);
        float lo = 0, hi = 0;
        for (int j = 0; j < 512; j++) {
            lo = row[j] < lo ? row[j] : lo;
            hi = row[j] > hi ? row[j] : hi;
        }
        cr_assert(le(flt, -1.05f, lo), "%s", dtype_name(type));
        cr_assert(le(flt, hi, 1.05f), "%s", dtype_name(type));
        cr_assert(lt(flt, lo, -0.9f), "%s: spread", dtype_name(type));
        cr_assert(gt(flt, hi, 0.9f), "%s: spread", dtype_name(type));
        free(a);
        free(b);
    }
    size_t rs;
    cr_assert(eq(ptr, bench_matrix_new(&p1, PLUMB_TYPE_Q2_K, 5, 512, 9, &rs, &err), NULL));
    cr_assert(eq(str, err.msg, "type q2_k: plumb has no quantizer for it"));
    cr_assert(eq(ptr, bench_matrix_new(&p1, PLUMB_TYPE_Q4_K, 5, 100, 9, &rs, &err), NULL));
    cr_assert(eq(str, err.msg, "type q4_k: cannot hold 5 x 100 (rows of 100 elements in blocks of 256)"));
    pool_free(&p1);
    pool_free(&p3);
}

/* The product --ops times is forward_matmul_split on a bench matrix: with
 * the scalar set it is the spec bit for bit (7 rows over 2 threads: an
 * uneven split); with a SIMD set within the class bound n 2^-23 sum|w x|
 * (engine/kernels/simd_ops.h). The ggml set quantizes the activations and
 * is checked against llama.cpp's numbers elsewhere (test_ggml_ref.c). */
Test(bench, the_ops_matvec_matches_the_scalar_spec)
{
    const int64_t rows = 7, cols = 512;
    struct pool pool;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, pool_init(&pool, 2, &err), 0), "%s", err.msg);
    float x[512], want[7], got[7], deq[512], scratch[2 * 512];
    uint64_t st = 5;
    for (int i = 0; i < cols; i++)
        x[i] = (float)((int64_t)(test_rand(&st) % 2001) - 1000) / 1000.0f;
    for (size_t si = 0; si < kernels_count(); si++) {
        if (!kernels_supported(si) || kernels_at(si)->accuracy == PLUMB_ACCURACY_QUANTIZED)
            continue;
        struct plumb_kernels k;
        cr_assert(eq(int, kernels_resolve(kernels_at(si), &k, &err), 0), "%s", err.msg);
        for (int i = 0; i < bench_ops_n_types; i++) {
            int type = bench_ops_types[i];
            size_t rs;
            void *w = bench_matrix_new(&pool, type, rows, cols, 3, &rs, &err);
            cr_assert(not(eq(ptr, w, NULL)), "%s", err.msg);
            struct model_weight mw = {.name = "w", .data = w, .type = type, .n = cols,
                                      .n_rows = rows, .row_size = rs};
            struct forward_matmul_job job = {.k = &k, .w = &mw, .out = got, .x = x, .n_tok = 1,
                                             .scratch = scratch, .scratch_len = cols};
            for (int64_t r = 0; r < rows; r++)
                got[r] = NAN; /* a row the split missed stays NaN and fails */
            forward_matmul_split(&pool, &job);
            scalar_matmul(want, rows, w, rs, x, cols, 1, 0, rows, deq, type);
            double worst = -1;
            int64_t at = 0;
            double bound_at = 0;
            for (int64_t r = 0; r < rows; r++) {
                dtype_traits(type)->to_float((const char *)w + r * rs, deq, cols);
                double abs_sum = 0;
                for (int64_t c = 0; c < cols; c++)
                    abs_sum += fabs((double)deq[c] * (double)x[c]);
                double bound = k.accuracy == PLUMB_ACCURACY_EXACT ? 0 : (double)cols * 0x1p-23 * abs_sum;
                double excess = fabs((double)got[r] - (double)want[r]) - bound;
                if (excess > worst) {
                    worst = excess;
                    at = r;
                    bound_at = bound;
                }
            }
            cr_assert(le(dbl, worst, 0.0), "%s %s: row %lld of %lld: %.9g against the spec's %.9g "
                      "(bound %.3g)", k.name, dtype_name(type), (long long)at, (long long)rows,
                      got[at], want[at], bound_at);
            free(w);
        }
    }
    pool_free(&pool);
}

/* ---- the ops bench, whole, on a small shape ---- */

static const struct bench_shape tiny = {.rows = 64, .cols = 256, .n_heads = 4, .n_kv_heads = 2,
                                        .head_dim = 16, .n_kv = 8};

Test(bench, the_ops_bench_reports_every_type_and_op)
{
    struct bench_ops_options o = {.threads = 2, .reps = 2, .shape = tiny, .bw_bytes = 1 << 20,
                                  .rotate_bytes = 64 << 10, .seed = 1};
    struct bench_ops_result *r = malloc(sizeof *r);
    struct plumb_err err = {{0}};
    cr_assert(eq(int, bench_ops(&o, r, &err), 0), "%s", err.msg);
    cr_assert(eq(int, r->n_lines, bench_ops_n_types + BENCH_OP_COUNT - 1));
    cr_assert(eq(int, r->threads, 2));
    cr_assert(eq(u64, r->rotate_bytes, 64 << 10));
    cr_assert(eq(u64, r->bw.checksum, sum_to((1 << 20) / 8)));
    for (int i = 0; i < r->n_lines; i++) {
        const struct bench_op_line *l = &r->lines[i];
        bool mv = i < bench_ops_n_types;
        cr_assert(eq(int, l->op, mv ? BENCH_OP_MATVEC : i - bench_ops_n_types + 1), "line %d", i);
        cr_assert(eq(int, l->type, mv ? bench_ops_types[i] : -1), "line %d", i);
        cr_assert(not(l->from_scalar), "line %d: the scalar set is its own", i);
        cr_assert(gt(dbl, l->seconds, 0.0), "line %d", i);
        cr_assert(lt(dbl, l->seconds, 1.0), "line %d", i);
        cr_assert(eq(dbl, l->bytes, bench_op_bytes(l->op, l->type, &tiny)), "line %d", i);
        cr_assert(eq(dbl, l->flops, bench_op_flops(l->op, &tiny)), "line %d", i);
        cr_assert(eq(dbl, l->gbps, l->bytes / l->seconds / 1e9), "line %d", i);
        cr_assert(eq(dbl, l->pct_bw, 100.0 * l->gbps / l->bw_gbps), "line %d", i);
        if (mv || l->op == BENCH_OP_ATTENTION) /* held against its own passes */
            cr_assert(gt(dbl, l->bw_gbps, 0.0), "line %d", i);
        else /* in cache: against the run's figure */
            cr_assert(eq(dbl, l->bw_gbps, r->bw.gbps), "line %d", i);
        /* the copies a line rotates among span the bytes asked for, and no more than needed */
        double unit = 2.0 * 8 * (2 * 16) * 4; /* a KV cache: K and V, 8 positions of 32 floats */
        if (mv) {
            size_t rs;
            dtype_row_size(l->type, 256, &rs);
            unit = (double)(((64 * rs) + 4095) / 4096 * 4096);
        }
        if (mv || l->op == BENCH_OP_ATTENTION) {
            cr_assert(ge(dbl, l->copies * unit, 64 << 10), "line %d", i);
            cr_assert(lt(dbl, (l->copies - 1) * unit, 64 << 10), "line %d", i);
        } else {
            cr_assert(eq(int, l->copies, 1), "line %d", i);
        }
    }
    /* a selection: two types, one other op; the ggml set has no f32 matvec
     * nor rmsnorm of its own */
    const int two[] = {PLUMB_TYPE_F32, PLUMB_TYPE_Q8_0};
    struct plumb_err e2 = {{0}};
    o.kernels = kernels_get("ggml", &e2);
    cr_assert(not(eq(ptr, (void *)o.kernels, NULL)), "%s", e2.msg);
    o.types = two;
    o.n_types = 2;
    o.ops = 1u << BENCH_OP_MATVEC | 1u << BENCH_OP_RMSNORM;
    cr_assert(eq(int, bench_ops(&o, r, &err), 0), "%s", err.msg);
    cr_assert(eq(int, r->n_lines, 3));
    cr_assert(eq(int, r->lines[0].type, PLUMB_TYPE_F32));
    cr_assert(r->lines[0].from_scalar);
    cr_assert(not(r->lines[1].from_scalar));
    cr_assert(eq(int, r->lines[2].op, BENCH_OP_RMSNORM));
    cr_assert(r->lines[2].from_scalar);
    free(r);
}

Test(bench, the_ops_bench_refuses_what_it_cannot_build)
{
    const struct {
        int type;
        struct bench_shape shape;
        const char *msg;
    } cases[] = {
        {PLUMB_TYPE_Q2_K, {0}, "type q2_k: plumb has no quantizer for it"},
        {PLUMB_TYPE_Q8_1, {0}, "type q8_1: plumb has no matrix product for it"},
        {PLUMB_TYPE_Q4_0, {.cols = 100}, "type q4_0: a row of 100 is not a whole number of its 32-element blocks"},
        {PLUMB_TYPE_F32, {.n_heads = 6, .n_kv_heads = 4},
         "ops shape: 6 heads over 4 kv heads of dim 128: heads must be a multiple of kv heads, the dim even"},
        {PLUMB_TYPE_F32, {.rows = -1}, "ops shape: every size must be 1 to 16777216 (found -1)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bench_ops_options o = {.threads = 1, .reps = 1, .shape = cases[i].shape,
                                      .types = &cases[i].type, .n_types = 1, .bw_bytes = 4096};
        struct bench_ops_result *r = malloc(sizeof *r);
        struct plumb_err err = {{0}};
        cr_assert(eq(int, bench_ops(&o, r, &err), -1), "case %zu", i);
        cr_assert(eq(str, err.msg, (char *)cases[i].msg), "case %zu", i);
        free(r);
    }
}

/* ---- the command line ---- */

Test(bench, bad_arguments_exit_2_with_one_line)
{
    const struct {
        const char *argv[10];
        const char *msg;
    } cases[] = {
        {{"plumb", "bench", NULL}, "plumb: bench: missing -m MODEL.gguf or --ops"},
        {{"plumb", "bench", "--ops", "-m", "x.gguf", NULL}, "-m and --ops are separate benchmarks"},
        {{"plumb", "bench", "--type", "q4_0", NULL}, "--type and --op go with --ops"},
        {{"plumb", "bench", "-m", "x.gguf", "--op", "add", NULL}, "--type and --op go with --ops"},
        {{"plumb", "bench", "--ops", "--prompt", "4", NULL}, "--prompt and --decode go with -m"},
        {{"plumb", "bench", "--ops", "--type", "q9_9", NULL}, "--type: unknown type 'q9_9'"},
        {{"plumb", "bench", "--ops", "--type", "q4_0,", NULL}, "--type: 'q4_0,' is not a list"},
        {{"plumb", "bench", "--ops", "--op", "gemm", NULL}, "--op: unknown operation 'gemm'"},
        {{"plumb", "bench", "--ops", "--bw-size", "0", NULL}, "--bw-size needs a number of MiB"},
        {{"plumb", "bench", "--ops", "--reps", NULL}, "--reps needs a number"},
        {{"plumb", "bench", "--ops", "--kernels", "nosuch", NULL}, "plumb: bench: unknown kernel set 'nosuch'"},
        {{"plumb", "bench", "--ops", "--type", "q2_k", "--bw-size", "1", NULL},
         "plumb: bench: type q2_k: plumb has no quantizer for it"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run_result r;
        run_plumb(&r, cases[i].argv);
        cr_assert(eq(int, r.status, 2), "case %zu: %s", i, r.err);
        cr_assert(eq(int, count_lines(r.err), 1), "case %zu: %s", i, r.err);
        cr_assert(not(eq(ptr, strstr(r.err, cases[i].msg), NULL)), "case %zu: %s", i, r.err);
        cr_assert(eq(u64, r.out_len, 0), "case %zu: %s", i, r.out);
        run_free(&r);
    }
}

Test(bench, the_ops_bench_writes_json_and_a_table)
{
    cr_assert(json_valid("{\"a\": [1, -2.5e3, true, null, \"x\\u00e9\"]}"));
    cr_assert(not(json_valid("{\"a\": 1,}")), "the checker refuses what JSON does");
    cr_assert(not(json_valid("{\"a\": 01}")));
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "bench", "--ops", "--op", "rmsnorm,add", "--bw-size", "8",
                                   "--reps", "2", "--threads", "2", "--json", NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(json_valid(r.out), "%s", r.out);
    const char *keys[] = {"\"kernels\": \"scalar\"", "\"threads\": 2", "\"read_bandwidth_gb_per_s\"",
                          "\"read_bandwidth_bytes\": 8388608", "\"op\": \"rmsnorm\"", "\"op\": \"add\"",
                          "\"gflop_per_s\": null", "\"pct_of_read_bandwidth\"", "\"rows\": 14336",
                          "\"read_bandwidth_reps\": 5", "\"read_bandwidth_loads\""};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert(not(eq(ptr, strstr(r.out, keys[i]), NULL)), "%s in %s", keys[i], r.out);
    cr_assert(eq(ptr, strstr(r.out, "\"op\": \"matvec\""), NULL), "%s", r.out);
    run_free(&r);
    run_plumb(&r, (const char *[]){"plumb", "bench", "--ops", "--op", "softmax", "--bw-size", "8",
                                   "--reps", "2", NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "read bw"), NULL)), "%s", r.out);
    cr_assert(not(eq(ptr, strstr(r.out, "\nsoftmax    -      32 x 512"), NULL)), "%s", r.out);
    run_free(&r);
}
