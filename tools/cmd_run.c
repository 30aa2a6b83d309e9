/*
 * cmd_run.c: `plumb run -m MODEL.gguf -p TEXT [-n N] [--temp T] [--top-k K]
 * [--top-p P] [--min-p P] [--seed S] [--threads N] [--kernels NAME]`:
 * generate text with the engine (the scalar reference kernels unless
 * --kernels names another set), streaming each piece as it is produced, then
 * one line of prompt and generation speed on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "forward.h"
#include "kernels_registry.h"
#include "model.h"
#include "sampler.h"
#include "tokenizer.h"

static void run_help(void)
{
    printf("usage: plumb run -m MODEL.gguf -p TEXT [-n N] [--temp T] [--top-k K] [--top-p P]\n"
           "                 [--min-p P] [--seed S] [--threads N] [--kernels NAME]\n\n"
           "Generate up to N tokens after TEXT with the engine, printing\n"
           "the text as it is produced, then prompt and generation tokens/s on stderr.\n"
           "The same seed and options give the same text on every machine.\n\n"
           "  -m, --model FILE   the model\n"
           "  -p, --prompt TEXT  the prompt (BOS is added as the model asks)\n"
           "  -n N               tokens to generate (default 32); stops early at EOS\n"
           "  --temp T           temperature; 0 = greedy (default 0.8)\n"
           "  --top-k K          keep the K most likely tokens; 0 = all (default 40)\n"
           "  --top-p P          keep the smallest set with probability >= P (default 0.95)\n"
           "  --min-p P          drop tokens below P * the top probability (default 0.05)\n"
           "  --seed S           sampler seed (default 0)\n"
           "  --threads N        threads (default 1)\n"
           "  --kernels NAME     kernel set: scalar, avx2 or avx512 (x86-64), neon\n"
           "                     (aarch64), or auto (the best this CPU runs); default\n"
           "                     $PLUMB_KERNELS, else scalar ('plumb kernels list')\n");
}

static double run_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run_parse_float(const char *s, float *out)
{
    char *end;
    float v = strtof(s, &end);
    if (end == s || *end || v != v)
        return -1;
    *out = v;
    return 0;
}

/* Write the text of ids to stdout now. */
static int run_print(const struct tokenizer *tok, const int32_t *ids, size_t n, bool strip,
                     struct plumb_err *err)
{
    char *text;
    size_t len;
    if (tokenizer_decode(tok, ids, n, strip, &text, &len, err) != 0)
        return -1;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    free(text);
    if (ferror(stdout)) /* a full disk or a closed pipe: stop generating */
        return err_set(err, "stdout: write failed: %s", strerror(errno ? errno : EIO));
    return 0;
}

/* add_bos from the model's metadata (default true for llama vocabularies). */
static bool run_add_bos(const struct model *m)
{
    const struct gguf_value *v = gguf_get(&m->gguf, "tokenizer.ggml.add_bos_token");
    bool b = true;
    if (v)
        gguf_value_bool(v, "tokenizer.ggml.add_bos_token", &b, NULL);
    return b;
}

int cmd_run(int argc, char **argv)
{
    const char *model_path = NULL, *prompt = NULL, *kernels_name = NULL;
    long n_gen = 32, threads = 1;
    struct sampler_params sp = {.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f,
                                .seed = 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            run_help();
            return CLI_OK;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!v)
                return cli_usage("run", "%s needs a file name", a);
            model_path = argv[++i];
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            if (!v)
                return cli_usage("run", "%s needs a text", a);
            prompt = argv[++i];
        } else if (!strcmp(a, "-n")) {
            if (!v || cli_parse_int(v, 0, 1 << 24, &n_gen) != 0)
                return cli_usage("run", "-n needs a number from 0 to 16777216");
            i++;
        } else if (!strcmp(a, "--threads")) {
            if (!v || cli_parse_int(v, 1, 256, &threads) != 0)
                return cli_usage("run", "--threads needs a number from 1 to 256");
            i++;
        } else if (!strcmp(a, "--kernels")) {
            if (!v)
                return cli_usage("run", "--kernels needs a kernel set name");
            kernels_name = argv[++i];
        } else if (!strcmp(a, "--top-k")) {
            if (!v || cli_parse_int(v, 0, INT32_MAX, &l) != 0)
                return cli_usage("run", "--top-k needs a number >= 0");
            sp.top_k = (int32_t)l;
            i++;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            if (!v || !*v || (sp.seed = strtoull(v, &end, 10), *end) || v[0] == '-')
                return cli_usage("run", "--seed needs a number from 0 to 2^64-1");
            i++;
        } else if (!strcmp(a, "--temp") || !strcmp(a, "--top-p") || !strcmp(a, "--min-p")) {
            float *slot = !strcmp(a, "--temp") ? &sp.temperature
                          : !strcmp(a, "--top-p") ? &sp.top_p : &sp.min_p;
            if (!v || run_parse_float(v, slot) != 0)
                return cli_usage("run", "%s needs a number", a);
            i++;
        } else {
            return cli_usage("run", "unknown argument '%s'", a);
        }
    }
    if (!model_path)
        return cli_usage("run", "missing -m MODEL.gguf");
    if (!prompt)
        return cli_usage("run", "missing -p TEXT");

    struct plumb_err err = {{0}};
    const struct plumb_kernels *ks = kernels_get(kernels_name, &err);
    if (!ks) {
        err_prefix(&err, "run");
        return cli_error(&err);
    }
    struct model m;
    struct forward f;
    struct tokenizer tok;
    struct sampler s;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    int rc = CLI_BAD_INPUT;
    memset(&m, 0, sizeof m);
    memset(&f, 0, sizeof f);
    memset(&tok, 0, sizeof tok);
    memset(&s, 0, sizeof s);

    if (model_open(&m, model_path, &err) != 0 || tokenizer_init(&tok, &m.gguf, &err) != 0 ||
        tokenizer_encode(&tok, prompt, strlen(prompt), run_add_bos(&m), &ids, &n_ids, &err) != 0)
        goto fail;
    if (n_ids == 0) {
        err_set(&err, "%s: the prompt tokenizes to nothing", model_path);
        goto fail;
    }
    if (sampler_init(&s, &sp, m.hp.n_vocab, &err) != 0) {
        err_prefix(&err, "run");
        goto fail;
    }
    /* a cache just long enough for prompt and generation (a model may
     * declare a context of millions); an overlong prompt gets the engine's
     * error */
    int64_t need = (int64_t)n_ids + n_gen;
    if (need > m.hp.n_ctx)
        need = (int64_t)n_ids <= m.hp.n_ctx ? m.hp.n_ctx : 0;
    if (forward_init(&f, &m, ks, (int)threads, need, &err) != 0)
        goto fail;
    if ((int64_t)n_ids + n_gen > f.n_ctx)
        n_gen = f.n_ctx - (long)n_ids; /* stop at the end of the context */
    if (n_gen < 0) {
        err_set(&err, "%s: the prompt's %zu tokens exceed the context of %lld", model_path, n_ids,
                (long long)f.n_ctx);
        goto fail;
    }

    /* the prompt: echo it as its tokens decode (control tokens such as BOS
     * print nothing), then process it in one call */
    if (run_print(&tok, ids, n_ids, true, &err) != 0)
        goto fail;
    double t0 = run_now();
    if (forward_eval(&f, ids, (int64_t)n_ids, &err) != 0)
        goto fail;
    double t_prompt = run_now() - t0;

    /* generation: sample, print, feed back; decode speed counts the
     * forward passes of generated tokens only */
    long generated = 0, decoded = 0;
    double t_decode = 0;
    for (; generated < n_gen; generated++) {
        int32_t next = sampler_sample(&s, forward_logits(&f));
        if (next < 0) {
            err_set(&err, "%s: nothing to sample at position %lld: every logit is NaN or -Inf",
                    model_path, (long long)f.n_past);
            goto fail;
        }
        if (next == tokenizer_eos(&tok))
            break;
        if (run_print(&tok, &next, 1, false, &err) != 0)
            goto fail;
        if (generated + 1 < n_gen) {
            double t1 = run_now();
            if (forward_eval(&f, &next, 1, &err) != 0)
                goto fail;
            t_decode += run_now() - t1;
            decoded++;
        }
    }
    putchar('\n');
    fflush(stdout);
    fprintf(stderr, "prompt: %zu tokens, %.2f tokens/s | generation: %ld tokens, decode %.2f tokens/s\n",
            n_ids, t_prompt > 0 ? (double)n_ids / t_prompt : 0.0, generated,
            t_decode > 0 ? (double)decoded / t_decode : 0.0);
    rc = CLI_OK;
    goto done;
fail:
    rc = cli_error(&err);
done:
    sampler_free(&s);
    forward_free(&f);
    tokenizer_free(&tok);
    model_close(&m);
    free(ids);
    return rc;
}
