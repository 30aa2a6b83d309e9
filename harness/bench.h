/*
 * bench.h: measuring the engine: prompt processing and decode speed, the
 * bytes of weights read per decoded token, peak memory, and a yardstick.
 *
 * Timings are medians over repetitions (machines are shared and noisy), and
 * the yardstick is measured in the same run, side by side: a plain C
 * matrix-vector loop in the style of llama2.c's run.c
 * (`val += w[i*n + j] * x[j]`), compiled with the same flags, applied to
 * every matrix one decoded token needs. Speed targets are checked here, by
 * `plumb bench`, never by timed tests.
 */
#ifndef PLUMB_BENCH_H
#define PLUMB_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "kernels.h"

struct bench_options {
    const char *model_path;
    const struct plumb_kernels *kernels; /* NULL: scalar */
    int threads;
    int n_prompt;      /* tokens in the prompt-processing run (default 32) */
    int n_decode;      /* tokens decoded one at a time (default 16); both are
                          reduced to fit a model whose context is smaller */
    int reps;          /* repetitions; medians are reported (default 3) */
    bool yardstick;    /* also time the plain loop (f32 models only) */
};

struct bench_result {
    double pp_tps;            /* prompt tokens/s, median over reps */
    double tg_tps;            /* decode tokens/s, median over every decoded token */
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
};

/* Run the benchmark. Returns 0, or -1 with err set. */
int bench_model(const struct bench_options *o, struct bench_result *r, struct plumb_err *err);

#endif
