/*
 * cmd_bench.c: `plumb bench -m MODEL.gguf [--threads N] [--prompt N]
 * [--decode N] [--reps N] [--kernels NAME] [--bw-size MIB] [--json]`: speed
 * and memory of the engine on a model with a kernel set, with a plain-loop
 * yardstick and the memory read bandwidth measured side by side; and
 * `plumb bench --ops [--type T,...] [--op NAME,...] ...`: one decoded
 * token's operations one at a time, against the read bandwidth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "dtype.h"
#include "json.h"
#include "kernels_registry.h"

static void bench_help(void)
{
    printf("usage: plumb bench -m MODEL.gguf [--threads N] [--prompt N] [--decode N] [--reps N]\n"
           "                   [--kernels NAME] [--bw-size MIB] [--json]\n"
           "       plumb bench --ops [--type T,...] [--op NAME,...] [--threads N] [--reps N]\n"
           "                   [--kernels NAME] [--bw-size MIB] [--json]\n\n"
           "With -m: prompt-processing and decode tokens/s (medians over --reps runs that\n"
           "follow one uncounted warm-up run; decode both per token and over whole decode\n"
           "phases), the weight bytes one decoded token reads and the effective GB/s, as a\n"
           "percentage of the memory read bandwidth, peak memory against the model's\n"
           "mapped size and the KV cache, and for f32 models a yardstick: a plain C\n"
           "matrix-vector loop in the style of llama2.c's run.c over the same matrices,\n"
           "timed in the same run.\n\n"
           "With --ops: one decoded token's operations one at a time on a Llama-3-8B layer's\n"
           "shapes: a 14336 x 4096 matrix-vector product for each weight type (f32, f16,\n"
           "bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k; seeded random weights\n"
           "quantized by plumb), then rmsnorm (4096), rope (32 heads x 128), attention (32\n"
           "heads, 8 kv heads, 512 cached positions), softmax (32 x 512), silu_mul (14336)\n"
           "and add (4096). For each: the median time of a call, GFLOP/s (a multiply-add\n"
           "counts 2; matvec 2*rows*cols), GB/s (operands read and results written, each\n"
           "once: the weights, x and out of a matvec) and the percentage of the read\n"
           "bandwidth. Matrices and KV caches are copied until the copies span at least\n"
           "256 MiB and 4 x the last-level cache, and each call reads the next copy, so\n"
           "they come from memory as in a decoded token, not from cache. Matvec and\n"
           "attention run split over the threads as the engine splits them, and are held\n"
           "against read passes taken between their own timed calls (a shared machine's\n"
           "bandwidth moves); the other ops run on one thread on data in cache (their\n"
           "percentage can pass 100).\n\n"
           "The read bandwidth, in both modes: the --threads threads sum a buffer (1024\n"
           "MiB, written first) with 256-bit loads (AVX2; else plain C), split as matrix\n"
           "rows are; the median of 5 passes. GB are 10^9 bytes, MiB 2^20.\n\n"
           "  --threads N   threads (default 1)\n"
           "  --prompt N    prompt tokens (default 32; -m)\n"
           "  --decode N    decoded tokens per repetition (default 16; -m)\n"
           "  --reps N      repetitions (-m: default 3); --ops: timed calls per line, or\n"
           "                batches of calls of about 1 ms for the fast ops (default 20)\n"
           "  --type T,...  --ops: only these weight types\n"
           "  --op NAME,... --ops: only these operations (matvec, rmsnorm, rope, attention,\n"
           "                softmax, silu_mul, add)\n"
           "  --bw-size MIB size of the read-bandwidth buffer (default 1024)\n"
           "  --kernels NAME\n"
           "                kernel set: scalar, avx2 or avx512 (x86-64), neon (aarch64), or\n"
           "                auto (the best this CPU runs); default $PLUMB_KERNELS, else\n"
           "                scalar ('plumb kernels list')\n"
           "  --json        machine-readable output\n");
}

/* Split a comma-separated list of names ("q4_0,q8_0", "matvec,rope") and
 * pass each name to add; 0, or the usage error of the option named opt. */
static int bench_parse_list(const char *opt, const char *s,
                            int (*add)(const char *opt, const char *name, void *ctx), void *ctx)
{
    const char *p = s;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char name[32];
        if (len == 0 || len >= sizeof name)
            return cli_usage("bench", "%s: '%s' is not a list of names", opt, s);
        memcpy(name, p, len);
        name[len] = '\0';
        if (add(opt, name, ctx) != 0)
            return 2;
        if (!end)
            return 0;
        p = end + 1;
    }
}

struct bench_type_list {
    int *types;
    int max, n;
};

static int bench_add_type(const char *opt, const char *name, void *ctx)
{
    struct bench_type_list *l = ctx;
    int t = dtype_from_name(name);
    if (t < 0)
        return cli_usage("bench", "%s: unknown type '%s'", opt, name);
    if (l->n == l->max)
        return cli_usage("bench", "%s: more than %d types", opt, l->max);
    l->types[l->n++] = t;
    return 0;
}

static int bench_add_op(const char *opt, const char *name, void *ctx)
{
    unsigned *ops = ctx;
    int op = bench_op_from_name(name);
    if (op < 0)
        return cli_usage("bench", "%s: unknown operation '%s' (known: matvec, rmsnorm, rope, "
                         "attention, softmax, silu_mul, add)", opt, name);
    *ops |= 1u << op;
    return 0;
}

static void bench_json_bw(struct json *j, const struct membw_result *bw)
{
    json_key(j, "read_bandwidth_gb_per_s"); json_f64(j, bw->gbps);
    json_key(j, "read_bandwidth_bytes"); json_uint(j, bw->bytes);
    json_key(j, "read_bandwidth_reps"); json_int(j, bw->reps);
    json_key(j, "read_bandwidth_loads"); json_str(j, membw_loads_name(bw->loads));
}

static void bench_print_bw(const struct membw_result *bw)
{
    printf("read bw    %.2f GB/s: %.0f MiB summed by %d thread%s with %s loads (median of %d passes, "
           "%.1f to %.1f)\n",
           bw->gbps, (double)bw->bytes / 1048576.0, bw->threads, bw->threads == 1 ? "" : "s",
           membw_loads_name(bw->loads), bw->reps, bw->min_gbps, bw->max_gbps);
}

static int bench_ops_report(const struct bench_ops_result *r, const char *kernels, bool as_json)
{
    const struct bench_shape *s = &r->shape;
    if (as_json) {
        struct json j;
        json_init(&j, stdout, true);
        json_begin_object(&j);
        json_key(&j, "kernels"); json_str(&j, kernels);
        json_key(&j, "threads"); json_int(&j, r->threads);
        json_key(&j, "reps"); json_int(&j, r->reps);
        bench_json_bw(&j, &r->bw);
        json_key(&j, "llc_bytes"); json_uint(&j, r->llc_bytes);
        json_key(&j, "rotate_bytes"); json_uint(&j, r->rotate_bytes);
        json_key(&j, "shape");
        json_begin_object(&j);
        json_key(&j, "rows"); json_int(&j, s->rows);
        json_key(&j, "cols"); json_int(&j, s->cols);
        json_key(&j, "n_heads"); json_int(&j, s->n_heads);
        json_key(&j, "n_kv_heads"); json_int(&j, s->n_kv_heads);
        json_key(&j, "head_dim"); json_int(&j, s->head_dim);
        json_key(&j, "n_kv"); json_int(&j, s->n_kv);
        json_end_object(&j);
        json_key(&j, "ops");
        json_begin_array(&j);
        for (int i = 0; i < r->n_lines; i++) {
            const struct bench_op_line *l = &r->lines[i];
            json_begin_object(&j);
            json_key(&j, "op"); json_str(&j, bench_op_name(l->op));
            json_key(&j, "type");
            if (l->type >= 0)
                json_str(&j, dtype_name(l->type));
            else
                json_null(&j);
            json_key(&j, "from_scalar"); json_bool(&j, l->from_scalar);
            json_key(&j, "copies"); json_int(&j, l->copies);
            json_key(&j, "seconds"); json_f64(&j, l->seconds);
            json_key(&j, "flops"); json_f64(&j, l->flops);
            json_key(&j, "bytes"); json_f64(&j, l->bytes);
            json_key(&j, "gflop_per_s");
            if (l->flops > 0)
                json_f64(&j, l->gflops);
            else
                json_null(&j);
            json_key(&j, "gb_per_s"); json_f64(&j, l->gbps);
            json_key(&j, "read_bandwidth_gb_per_s"); json_f64(&j, l->bw_gbps);
            json_key(&j, "pct_of_read_bandwidth"); json_f64(&j, l->pct_bw);
            json_end_object(&j);
        }
        json_end_array(&j);
        json_end_object(&j);
        return json_finish(&j) == 0 ? CLI_OK : CLI_BAD_INPUT;
    }
    printf("ops        %s kernels, %d thread%s, median of %d timed calls per line\n", kernels,
           r->threads, r->threads == 1 ? "" : "s", r->reps);
    bench_print_bw(&r->bw);
    printf("rotation   matrices and KV caches copied to span %.0f MiB (last-level cache %.0f MiB), "
           "each call reading the next copy\n",
           (double)r->rotate_bytes / 1048576.0, (double)r->llc_bytes / 1048576.0);
    printf("roofline   matvec and attention are held against read passes taken between their own "
           "calls (read GB/s); the other ops, on data in cache, against the figure above\n\n");
    printf("%-10s %-6s %-24s %6s %11s %9s %8s %10s %7s\n", "op", "type", "shape", "copies",
           "time (us)", "GFLOP/s", "GB/s", "read GB/s", "% read");
    bool any_scalar = false;
    for (int i = 0; i < r->n_lines; i++) {
        const struct bench_op_line *l = &r->lines[i];
        char shape[64], gf[32], type[16];
        switch (l->op) {
        case BENCH_OP_MATVEC:
            snprintf(shape, sizeof shape, "%lld x %lld", (long long)s->rows, (long long)s->cols);
            break;
        case BENCH_OP_ROPE:
            snprintf(shape, sizeof shape, "%lld x %lld", (long long)s->n_heads, (long long)s->head_dim);
            break;
        case BENCH_OP_ATTENTION:
            snprintf(shape, sizeof shape, "%lld/%lld heads x %lld x %lld", (long long)s->n_heads,
                     (long long)s->n_kv_heads, (long long)s->n_kv, (long long)s->head_dim);
            break;
        case BENCH_OP_SOFTMAX:
            snprintf(shape, sizeof shape, "%lld x %lld", (long long)s->n_heads, (long long)s->n_kv);
            break;
        case BENCH_OP_SILU_MUL:
            snprintf(shape, sizeof shape, "%lld", (long long)s->rows);
            break;
        default:
            snprintf(shape, sizeof shape, "%lld", (long long)s->cols);
            break;
        }
        snprintf(type, sizeof type, "%s%s", l->type >= 0 ? dtype_name(l->type) : "-",
                 l->from_scalar ? "*" : "");
        if (l->flops > 0)
            snprintf(gf, sizeof gf, "%.1f", l->gflops);
        else
            snprintf(gf, sizeof gf, "-");
        any_scalar |= l->from_scalar;
        printf("%-10s %-6s %-24s %6d %11.1f %9s %8.2f %10.2f %7.1f\n", bench_op_name(l->op), type,
               shape, l->copies, l->seconds * 1e6, gf, l->gbps, l->bw_gbps, l->pct_bw);
    }
    if (any_scalar)
        printf("* the scalar set's kernel: %s has none of its own\n", kernels);
    return CLI_OK;
}

int cmd_bench(int argc, char **argv)
{
    struct bench_options o = {.threads = 1, .n_prompt = 32, .n_decode = 16, .reps = 3, .yardstick = true};
    struct bench_ops_options oo = {.threads = 1, .reps = 20};
    int types[BENCH_OPS_MAX_LINES];
    bool as_json = false, ops = false, model_only = false, ops_only = false;
    const char *kernels_name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            bench_help();
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            as_json = true;
        } else if (!strcmp(a, "--ops")) {
            ops = true;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (++i >= argc)
                return cli_usage("bench", "%s needs a file name", a);
            o.model_path = argv[i];
        } else if (!strcmp(a, "--kernels")) {
            if (++i >= argc)
                return cli_usage("bench", "--kernels needs a kernel set name");
            kernels_name = argv[i];
        } else if (!strcmp(a, "--type")) {
            if (++i >= argc)
                return cli_usage("bench", "--type needs a list of type names");
            struct bench_type_list tl = {types, BENCH_OPS_MAX_LINES - BENCH_OP_COUNT, 0};
            if (bench_parse_list(a, argv[i], bench_add_type, &tl) != 0)
                return CLI_BAD_INPUT;
            oo.types = types;
            oo.n_types = tl.n;
            ops_only = true;
        } else if (!strcmp(a, "--op")) {
            if (++i >= argc)
                return cli_usage("bench", "--op needs a list of operation names");
            oo.ops = 0;
            if (bench_parse_list(a, argv[i], bench_add_op, &oo.ops) != 0)
                return CLI_BAD_INPUT;
            ops_only = true;
        } else if (!strcmp(a, "--bw-size")) {
            if (++i >= argc || cli_parse_int(argv[i], 1, 1048576, &v) != 0)
                return cli_usage("bench", "--bw-size needs a number of MiB from 1 to 1048576");
            o.bw_bytes = oo.bw_bytes = (size_t)v << 20;
        } else if (!strcmp(a, "--threads") || !strcmp(a, "--prompt") || !strcmp(a, "--decode") ||
                   !strcmp(a, "--reps")) {
            if (++i >= argc || cli_parse_int(argv[i], 1, 100000, &v) != 0)
                return cli_usage("bench", "%s needs a number from 1 to 100000", a);
            if (!strcmp(a, "--threads")) {
                o.threads = oo.threads = (int)v;
            } else if (!strcmp(a, "--reps")) {
                o.reps = oo.reps = (int)v;
            } else {
                *(!strcmp(a, "--prompt") ? &o.n_prompt : &o.n_decode) = (int)v;
                model_only = true;
            }
        } else {
            return cli_usage("bench", "unknown argument '%s'", a);
        }
    }
    if (ops && o.model_path)
        return cli_usage("bench", "-m and --ops are separate benchmarks: give one");
    if (ops && model_only)
        return cli_usage("bench", "--prompt and --decode go with -m, not --ops");
    if (!ops && ops_only)
        return cli_usage("bench", "--type and --op go with --ops");
    if (!ops && !o.model_path)
        return cli_usage("bench", "missing -m MODEL.gguf or --ops");

    struct plumb_err err = {{0}};
    const struct plumb_kernels *set = kernels_get(kernels_name, &err);
    if (!set) {
        err_prefix(&err, "bench");
        return cli_error(&err);
    }
    if (ops) {
        oo.kernels = set;
        struct bench_ops_result *r = malloc(sizeof *r);
        if (!r) {
            err_set(&err, "bench: out of memory");
            return cli_error(&err);
        }
        int rc = CLI_OK;
        if (bench_ops(&oo, r, &err) != 0) {
            err_prefix(&err, "bench");
            rc = cli_error(&err);
        } else {
            rc = bench_ops_report(r, set->name, as_json);
        }
        free(r);
        return rc;
    }
    o.kernels = set;
    struct bench_result r;
    if (bench_model(&o, &r, &err) != 0)
        return cli_error(&err);
    if (as_json) {
        struct json j;
        json_init(&j, stdout, true);
        json_begin_object(&j);
        json_key(&j, "model"); json_str(&j, o.model_path);
        json_key(&j, "kernels"); json_str(&j, o.kernels->name);
        json_key(&j, "threads"); json_int(&j, o.threads);
        json_key(&j, "prompt_tokens"); json_int(&j, r.n_prompt);
        json_key(&j, "decode_tokens"); json_int(&j, r.n_decode);
        json_key(&j, "reps"); json_int(&j, o.reps);
        json_key(&j, "prompt_tokens_per_s"); json_f64(&j, r.pp_tps);
        json_key(&j, "decode_tokens_per_s"); json_f64(&j, r.tg_tps);
        json_key(&j, "decode_phase_tokens_per_s"); json_f64(&j, r.tg_phase_tps);
        json_key(&j, "bytes_per_token"); json_f64(&j, r.bytes_per_token);
        json_key(&j, "decode_gb_per_s"); json_f64(&j, r.gbps);
        json_key(&j, "decode_pct_of_read_bandwidth"); json_f64(&j, r.pct_bw);
        bench_json_bw(&j, &r.bw);
        json_key(&j, "yardstick_tokens_per_s"); json_f64(&j, r.plain_tps);
        json_key(&j, "mapped_bytes"); json_f64(&j, r.mapped_bytes);
        json_key(&j, "kv_bytes"); json_f64(&j, r.kv_bytes);
        json_key(&j, "peak_rss_bytes"); json_f64(&j, r.peak_rss_bytes);
        json_key(&j, "anon_bytes"); json_f64(&j, r.anon_bytes);
        json_key(&j, "other_bytes"); json_f64(&j, r.other_bytes);
        json_end_object(&j);
        return json_finish(&j) == 0 ? CLI_OK : CLI_BAD_INPUT;
    }
    printf("model      %s (%s, %d thread%s)\n", o.model_path, o.kernels->name, o.threads,
           o.threads == 1 ? "" : "s");
    printf("prompt     %d tokens: %.2f tokens/s (median of %d)\n", r.n_prompt, r.pp_tps, o.reps);
    printf("decode     %.3f tokens/s (median of %d tokens), %.1f MB of weights per token, %.2f GB/s "
           "= %.1f%% of the read bandwidth\n",
           r.tg_tps, r.n_decode * o.reps, r.bytes_per_token / 1e6, r.gbps, r.pct_bw);
    printf("           %.3f tokens/s over whole decode phases of %d tokens (median of %d)\n",
           r.tg_phase_tps, r.n_decode, o.reps);
    bench_print_bw(&r.bw);
    if (r.plain_tps > 0)
        printf("yardstick  plain matvec loop (llama2.c style) over the same matrices: %.3f tokens/s; "
               "engine/yardstick = %.2f\n", r.plain_tps, r.tg_tps / r.plain_tps);
    double budget = r.mapped_bytes + r.kv_bytes + 16e6;
    printf("memory     peak RSS %.1f MB (budget: mapped model %.1f MB + KV cache %.1f MB + 16 MB = %.1f MB: %s)\n",
           r.peak_rss_bytes / 1e6, r.mapped_bytes / 1e6, r.kv_bytes / 1e6, budget / 1e6,
           r.peak_rss_bytes <= budget ? "within" : "OVER");
    if (r.anon_bytes >= 0)
        printf("           engine heap %.1f MB = KV cache %.1f MB + %.1f MB of buffers\n",
               r.anon_bytes / 1e6, r.kv_bytes / 1e6, r.other_bytes / 1e6);
    return CLI_OK;
}
