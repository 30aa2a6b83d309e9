/*
 * cmd_dump.c: `plumb dump -m MODEL.gguf (--tokens 1,2,3 | -p TEXT)
 * -o DUMP.gguf.gz [--threads N] [--kernels NAME]`: run the engine on a token
 * sequence and write every tap, every position, as a gzip-compressed GGUF
 * (the kernel set's name in its provenance).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dump.h"
#include "forward.h"
#include "kernels_registry.h"
#include "model.h"
#include "sha256.h"
#include "tokenizer.h"

static void dump_help(void)
{
    printf("usage: plumb dump -m MODEL.gguf (--tokens 1,2,3 | -p TEXT) -o DUMP.gguf.gz [--threads N]\n"
           "                  [--kernels NAME]\n\n"
           "Evaluate the tokens with the engine and write every\n"
           "intermediate (inp_embd, attn_norm-N, Qcur-N, ..., result_output), all\n"
           "positions, as F32 tensors of a gzip-compressed GGUF with provenance.\n\n"
           "  -m, --model FILE     the model\n"
           "  --tokens LIST        token ids, comma-separated\n"
           "  -p, --prompt TEXT    text, tokenized with the model's tokenizer (BOS added)\n"
           "  -o, --output FILE    where to write the dump (.gguf.gz)\n"
           "  --threads N          threads (default 1; the dump is the same for any N)\n"
           "  --kernels NAME       kernel set: scalar, avx2 or avx512 (x86-64), neon\n"
           "                       (aarch64), or auto (the best this CPU runs); default\n"
           "                       $PLUMB_KERNELS, else scalar ('plumb kernels list')\n");
}

/* Parse "1,2,3" into a malloc'd array. */
int cli_parse_tokens(const char *s, int32_t **out, int64_t *n)
{
    int64_t cap = 16, count = 0;
    int32_t *ids = malloc((size_t)cap * sizeof *ids);
    if (!ids)
        return -1;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
            free(ids);
            return -1;
        }
        if (count == cap) {
            cap *= 2;
            int32_t *grown = realloc(ids, (size_t)cap * sizeof *ids);
            if (!grown) {
                free(ids);
                return -1;
            }
            ids = grown;
        }
        ids[count++] = (int32_t)v;
        if (!*end)
            break;
        p = end + 1;
    }
    *out = ids;
    *n = count;
    return 0;
}

int cmd_dump(int argc, char **argv)
{
    const char *model_path = NULL, *tokens_arg = NULL, *prompt = NULL, *out = NULL;
    const char *kernels_name = NULL;
    long threads = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            dump_help();
            return CLI_OK;
        }
        const char **slot = NULL;
        if (!strcmp(a, "-m") || !strcmp(a, "--model"))
            slot = &model_path;
        else if (!strcmp(a, "--tokens"))
            slot = &tokens_arg;
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt"))
            slot = &prompt;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            slot = &out;
        else if (!strcmp(a, "--kernels"))
            slot = &kernels_name;
        if (slot) {
            if (++i >= argc)
                return cli_usage("dump", "%s needs a value", a);
            *slot = argv[i];
        } else if (!strcmp(a, "--threads")) {
            if (++i >= argc || cli_parse_int(argv[i], 1, 256, &threads) != 0)
                return cli_usage("dump", "--threads needs a number from 1 to 256");
        } else {
            return cli_usage("dump", "unknown argument '%s'", a);
        }
    }
    if (!model_path)
        return cli_usage("dump", "missing -m MODEL.gguf");
    if (!out)
        return cli_usage("dump", "missing -o DUMP.gguf.gz");
    if (!tokens_arg == !prompt)
        return cli_usage("dump", "give exactly one of --tokens and -p");

    struct plumb_err err = {{0}};
    const struct plumb_kernels *ks = kernels_get(kernels_name, &err);
    if (!ks) {
        err_prefix(&err, "dump");
        return cli_error(&err);
    }
    struct model m;
    struct forward f;
    struct dump d;
    struct tokenizer tok;
    int32_t *ids = NULL;
    int64_t n_ids = 0;
    int rc = CLI_BAD_INPUT;
    memset(&m, 0, sizeof m);
    memset(&f, 0, sizeof f);
    memset(&tok, 0, sizeof tok);
    dump_init(&d);

    if (tokens_arg && cli_parse_tokens(tokens_arg, &ids, &n_ids) != 0) {
        rc = cli_usage("dump", "--tokens wants comma-separated token ids, got '%s'", tokens_arg);
        goto done;
    }
    if (model_open(&m, model_path, &err) != 0)
        goto fail;
    if (prompt) {
        size_t n = 0;
        if (tokenizer_init(&tok, &m.gguf, &err) != 0 ||
            tokenizer_encode(&tok, prompt, strlen(prompt), true, &ids, &n, &err) != 0)
            goto fail;
        n_ids = (int64_t)n;
    }
    if (n_ids == 0) {
        err_set(&err, "%s: nothing to evaluate: the token list is empty", model_path);
        goto fail;
    }
    /* a cache just long enough (a model may declare a context of millions);
     * a sequence longer than the model's context gets the engine's error */
    int64_t need = n_ids <= m.hp.n_ctx ? n_ids : 0;
    if (forward_init(&f, &m, ks, (int)threads, need, &err) != 0)
        goto fail;
    forward_set_tap(&f, dump_capture_tap, &d);
    if (forward_eval(&f, ids, n_ids, &err) != 0)
        goto fail;

    uint8_t digest[32];
    char hex[65];
    sha256(m.gguf.base, m.gguf.size, digest);
    sha256_hex(digest, hex);
    const char *base = strrchr(model_path, '/');
    struct dump_provenance prov = {
        .model_file = base ? base + 1 : model_path,
        .model_sha256 = hex,
        .tokens = ids,
        .n_tokens = n_ids,
        .kernels = f.k.name,
        .threads = (int)threads,
    };
    if (dump_write(&d, &prov, out, &err) != 0)
        goto fail;
    printf("%s: %lld taps, %lld positions\n", out, (long long)d.n_taps, (long long)n_ids);
    rc = CLI_OK;
    goto done;
fail:
    rc = cli_error(&err);
done:
    forward_free(&f);
    tokenizer_free(&tok);
    model_close(&m);
    dump_free(&d);
    free(ids);
    return rc;
}
