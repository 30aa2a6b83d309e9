/*
 * cmd_bench.c: `plumb bench -m MODEL.gguf [--threads N] [--prompt N]
 * [--decode N] [--reps N] [--kernels NAME] [--json]`: speed and memory of
 * the engine on a model with a kernel set, with a plain-loop yardstick
 * measured side by side.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "json.h"
#include "kernels_registry.h"

static void bench_help(void)
{
    printf("usage: plumb bench -m MODEL.gguf [--threads N] [--prompt N] [--decode N] [--reps N]\n"
           "                   [--kernels NAME] [--json]\n\n"
           "Prompt-processing and decode tokens/s (medians), the weight bytes one decoded\n"
           "token reads and the effective GB/s, peak memory against the model's mapped size\n"
           "and the KV cache, and for f32 models a yardstick: a plain C matrix-vector loop in\n"
           "the style of llama2.c's run.c over the same matrices, timed in the same run.\n\n"
           "  --threads N   threads (default 1)\n"
           "  --prompt N    prompt tokens (default 32)\n"
           "  --decode N    decoded tokens per repetition (default 16)\n"
           "  --reps N      repetitions (default 3)\n"
           "  --kernels NAME\n"
           "                kernel set: scalar, avx2, avx512 or auto (the best this CPU runs);\n"
           "                default $PLUMB_KERNELS, else scalar\n"
           "  --json        machine-readable output\n");
}

int cmd_bench(int argc, char **argv)
{
    struct bench_options o = {.threads = 1, .n_prompt = 32, .n_decode = 16, .reps = 3, .yardstick = true};
    bool as_json = false;
    const char *kernels_name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            bench_help();
            return CLI_OK;
        } else if (!strcmp(a, "--json")) {
            as_json = true;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (++i >= argc)
                return cli_usage("bench", "%s needs a file name", a);
            o.model_path = argv[i];
        } else if (!strcmp(a, "--kernels")) {
            if (++i >= argc)
                return cli_usage("bench", "--kernels needs a kernel set name");
            kernels_name = argv[i];
        } else if (!strcmp(a, "--threads") || !strcmp(a, "--prompt") || !strcmp(a, "--decode") ||
                   !strcmp(a, "--reps")) {
            if (++i >= argc || cli_parse_int(argv[i], 1, 100000, &v) != 0)
                return cli_usage("bench", "%s needs a number from 1 to 100000", a);
            int *slot = !strcmp(a, "--threads") ? &o.threads : !strcmp(a, "--prompt") ? &o.n_prompt
                        : !strcmp(a, "--decode") ? &o.n_decode : &o.reps;
            *slot = (int)v;
        } else {
            return cli_usage("bench", "unknown argument '%s'", a);
        }
    }
    if (!o.model_path)
        return cli_usage("bench", "missing -m MODEL.gguf");

    struct plumb_err err = {{0}};
    o.kernels = kernels_get(kernels_name, &err);
    if (!o.kernels) {
        err_prefix(&err, "bench");
        return cli_error(&err);
    }
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
        json_key(&j, "bytes_per_token"); json_f64(&j, r.bytes_per_token);
        json_key(&j, "decode_gb_per_s"); json_f64(&j, r.gbps);
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
    printf("decode     %.3f tokens/s (median of %d tokens), %.1f MB of weights per token, %.2f GB/s\n",
           r.tg_tps, r.n_decode * o.reps, r.bytes_per_token / 1e6, r.gbps);
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
