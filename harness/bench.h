/*
 * bench.h: measuring the engine, against the machine's memory read
 * bandwidth (membw.h), the roofline of decoding.
 *
 * Two benchmarks. bench_model(): a model's prompt-processing and decode
 * speed, the bytes of weights read per decoded token and the GB/s that
 * makes, peak memory, and a yardstick: a plain C matrix-vector loop in the
 * style of llama2.c's run.c (`val += w[i*n + j] * x[j]`), compiled with the
 * same flags, applied to every matrix one decoded token needs. bench_ops():
 * one decoded token's operations one at a time on a large layer's shapes
 * (by default a 14336 x 4096 matrix, Llama-3-8B's and Mistral-7B's feed-
 * forward), a matrix-vector product per weight type, each figure in GFLOP/s,
 * GB/s and percent of the read bandwidth.
 *
 * Timings are medians over repetitions (machines are shared and noisy), and
 * the yardstick and the bandwidth are measured in the same run. Speed
 * targets are checked here, by `plumb bench`, never by timed tests; what the
 * tests pin is the arithmetic (bench_op_flops, bench_op_bytes, bench_rates)
 * and what the timed code computes.
 */
#ifndef PLUMB_BENCH_H
#define PLUMB_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "kernels.h"
#include "membw.h"
#include "pool.h"

struct bench_options {
    const char *model_path;
    const struct plumb_kernels *kernels; /* NULL: scalar */
    int threads;
    int n_prompt;      /* tokens in the prompt-processing run (default 32) */
    int n_decode;      /* tokens decoded one at a time (default 16); both are
                          reduced to fit a model whose context is smaller */
    int reps;          /* repetitions; medians are reported (default 3) */
    bool yardstick;    /* also time the plain loop (f32 models only) */
    size_t bw_bytes;   /* read-bandwidth buffer (0: MEMBW_DEFAULT_BYTES) */
};

struct bench_result {
    double pp_tps;            /* prompt tokens/s, median over reps */
    double tg_tps;            /* decode tokens/s, median over every decoded token */
    double tg_phase_tps;      /* decode tokens/s over a whole decode phase
                                 (n_decode / its time), median over reps */
    double bytes_per_token;   /* weight bytes one decoded token reads */
    double gbps;              /* bytes_per_token * tg_tps / 1e9 */
    double plain_tps;         /* yardstick tokens/s (0 when not measured) */
    double mapped_bytes;      /* the model file, mapped */
    double kv_bytes;          /* the KV cache */
    double peak_rss_bytes;    /* peak resident set of the process (mapped pages included) */
    double anon_bytes;        /* anonymous resident memory: heap, KV cache, buffers (-1: unknown) */
    double other_bytes;       /* anon - kv: buffers beyond the KV cache */
    int64_t n_ctx;
    int n_prompt, n_decode;   /* as run: fitted into the model's context */
    struct membw_result bw;   /* the read bandwidth, on the engine's threads */
    double pct_bw;            /* 100 * gbps / bw.gbps */
};

/* Run the benchmark. Returns 0, or -1 with err set. */
int bench_model(const struct bench_options *o, struct bench_result *r, struct plumb_err *err);

/* ---- one decoded token's operations, one at a time (plumb bench --ops) ---- */

/* The operations, in the order they are reported. A matvec line is
 * forward_matmul_split() on one token, attention is
 * forward_attention_split() for one query: split over the threads as
 * forward_eval() splits them. The others run on the calling thread, as in
 * forward_eval(). */
enum bench_op {
    BENCH_OP_MATVEC,    /* out (rows) = W (rows, cols) @ x (cols), per weight type */
    BENCH_OP_RMSNORM,   /* cols */
    BENCH_OP_ROPE,      /* the queries: n_heads x head_dim */
    BENCH_OP_ATTENTION, /* n_heads queries over n_kv cached positions */
    BENCH_OP_SOFTMAX,   /* one layer's scores: n_heads rows of n_kv */
    BENCH_OP_SILU_MUL,  /* rows (the feed-forward width) */
    BENCH_OP_ADD,       /* cols (the residual) */
    BENCH_OP_COUNT
};

/* "matvec", "rmsnorm", ...; the names --op takes. */
const char *bench_op_name(enum bench_op op);

/* The op called name, or -1. */
int bench_op_from_name(const char *name);

/* The shapes of one layer. A zero field takes its default (Llama-3-8B). */
struct bench_shape {
    int64_t rows;        /* matrix rows, the feed-forward width (14336) */
    int64_t cols;        /* matrix columns, the model width (4096) */
    int64_t n_heads;     /* query heads (32) */
    int64_t n_kv_heads;  /* key/value heads (8) */
    int64_t head_dim;    /* (128) */
    int64_t n_kv;        /* cached positions one query attends to (512) */
};

/* The weight types bench_ops() measures by default, in report order: f32,
 * f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k (every type
 * plumb both quantizes and multiplies). */
extern const int bench_ops_types[];
extern const int bench_ops_n_types;

/*
 * The arithmetic of one call of op (type: the weights' ggml type for a
 * matvec, ignored otherwise) on shape s, by hand in the tests:
 *   flops: multiply-adds count 2: matvec 2*rows*cols; attention
 *     4*n_heads*n_kv*head_dim (scores and the mix of values); 0 for the
 *     elementwise ops, whose work is not counted in FLOPs.
 *   bytes: each operand read once and each result written once, in bytes:
 *     matvec    rows*row_size(type, cols) + 4*cols + 4*rows
 *     rmsnorm   4*cols * 3          (x, weights, out)
 *     rope      4*n_heads*head_dim*2 + 4*head_dim  (q in place; cos, sin)
 *     attention 4*n_heads*head_dim*2 + 4*n_kv*n_kv_heads*head_dim*2
 *     softmax   4*n_heads*n_kv*2    (in place)
 *     silu_mul  4*rows * 3          (gate, up, out)
 *     add       4*cols * 3
 * -1 from bench_op_bytes when the type cannot hold a row of cols.
 */
double bench_op_flops(enum bench_op op, const struct bench_shape *s);
double bench_op_bytes(enum bench_op op, int type, const struct bench_shape *s);

/* One line of the report. */
struct bench_op_line {
    enum bench_op op;
    int type;            /* matvec: the weight type; -1 otherwise */
    bool from_scalar;    /* the set has no kernel of its own: scalar's ran */
    int copies;          /* copies of the data the calls rotate among */
    double seconds;      /* median time of one call */
    double flops;        /* per call (0: not counted) */
    double bytes;        /* per call */
    double gflops;       /* flops / seconds / 1e9 (0 when flops is) */
    double gbps;         /* bytes / seconds / 1e9 */
    double bw_gbps;      /* the read bandwidth it is held against: matvec and
                            attention, the median of passes taken between its
                            timed calls; the others, the run's (bench_ops_result.bw) */
    double pct_bw;       /* 100 * gbps / bw_gbps */
};

/* Fill l's gflops, gbps and pct_bw from its seconds, flops and bytes and the
 * read bandwidth bw_gbps (rates are 0 where seconds or bw_gbps is not
 * positive). */
void bench_rates(struct bench_op_line *l, double bw_gbps);

struct bench_ops_options {
    const struct plumb_kernels *kernels; /* NULL: scalar */
    int threads;
    int reps;                 /* timed calls (or batches of calls) per line (default 20) */
    struct bench_shape shape; /* zero fields: the defaults */
    const int *types;         /* matvec weight types (NULL: bench_ops_types) */
    int n_types;
    unsigned ops;             /* bit 1 << op for each op to run (0: all) */
    size_t bw_bytes;          /* read-bandwidth buffer (0: MEMBW_DEFAULT_BYTES) */
    size_t rotate_bytes;      /* the copies of a matrix or KV cache span at least
                                 this (0: the larger of 256 MiB and 4 x the LLC) */
    uint64_t seed;            /* of the random weights and activations */
};

#define BENCH_OPS_MAX_LINES 32

struct bench_ops_result {
    struct membw_result bw;
    struct bench_shape shape; /* as run */
    size_t rotate_bytes;      /* as run */
    size_t llc_bytes;         /* membw_llc_bytes(); 0 unknown */
    int reps, threads;
    int n_lines;
    struct bench_op_line lines[BENCH_OPS_MAX_LINES];
};

/*
 * A rows x cols weight matrix of type: element (r, c) a uniform float in
 * [-1, 1) drawn from seed, r and c alone (so any split gives the same
 * matrix), each row quantized by dtype_quantizer(type), rows generated on
 * the pool's threads. Returns the malloc'd matrix (rows * *row_size bytes,
 * 64-byte aligned; free() it), or NULL with err set: a type plumb cannot
 * quantize, cols not a multiple of its block, sizes that overflow, out of
 * memory.
 */
void *bench_matrix_new(struct pool *pool, int type, int64_t rows, int64_t cols, uint64_t seed,
                       size_t *row_size, struct plumb_err *err);

/*
 * Measure the read bandwidth on o->threads threads, then time each op the
 * options select: a matvec per weight type (a matrix built by
 * bench_matrix_new, copied until the copies span o->rotate_bytes, each
 * timed call reading the next copy so that it comes from memory, not the
 * cache), then the other ops (attention's KV cache rotated the same way;
 * the elementwise ops' operands stay in cache, as in a decoded token, so
 * their GB/s may pass the memory's). The lines that read memory (matvec,
 * attention) take a bandwidth pass after each timed call and are held
 * against those passes: on a shared machine the bandwidth moves. Errors: a
 * type given that plumb cannot quantize or that cannot hold a row of cols,
 * a set kernels_resolve() refuses, out of memory. Returns 0, or -1 with err
 * set.
 */
int bench_ops(const struct bench_ops_options *o, struct bench_ops_result *r, struct plumb_err *err);

#endif
