/*
 * cmd_tokenize.c: `plumb tokenize -m MODEL.gguf (-p TEXT | -f FILE) [--bos]
 * [--pieces]`: tokenize a text with the model's own tokenizer (engine/
 * tokenizer.h) and print the ids space-separated on one line, the way
 * llama.cpp's tokenizer test vectors (*.gguf.out) list them, or with
 * --pieces one "ID<TAB>"PIECE"" line per token. Reads only metadata, so a
 * vocab-only GGUF (no tensors) works. Exit 0, or 2 with one line
 * "plumb: FILE: reason".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gguf.h"
#include "tokenizer.h"

static void tokenize_help(void)
{
    printf("usage: plumb tokenize -m MODEL.gguf (-p TEXT | -f FILE) [--bos] [--pieces]\n\n"
           "Tokenize TEXT (or the bytes of FILE) with the tokenizer in MODEL.gguf's\n"
           "metadata (llama.cpp-compatible: tokenizer.ggml.model 'llama' or 'gpt2'),\n"
           "and print the token ids space-separated on one line.\n\n"
           "  -m, --model FILE   the GGUF file (a vocab-only file is enough)\n"
           "  -p, --prompt TEXT  the text to tokenize\n"
           "  -f, --file FILE    tokenize the bytes of FILE instead\n"
           "  --bos              put the BOS token first (default: none, as in\n"
           "                     llama.cpp's tokenizer tests)\n"
           "  --pieces           one line per token: ID, a tab, and the quoted text\n"
           "                     it decodes to (escapes: \\\\ \\\" \\n \\r \\t \\xNN)\n");
}

/* Length of the well-formed UTF-8 sequence (2..4 bytes) at s, or 0. */
static size_t tokenize_utf8_seq(const unsigned char *s, size_t n)
{
    size_t k = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    if (!k || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((k == 3 && s[0] == 0xE0 && s[1] < 0xA0) || (k == 4 && s[0] == 0xF0 && s[1] < 0x90) ||
        (k == 4 && s[0] == 0xF4 && s[1] >= 0x90))
        return 0;
    return k;
}

/* A piece between double quotes: valid UTF-8 as is, the rest escaped. */
static void tokenize_print_piece(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    putchar('"');
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k;
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c == '\n') {
            fputs("\\n", stdout);
        } else if (c == '\r') {
            fputs("\\r", stdout);
        } else if (c == '\t') {
            fputs("\\t", stdout);
        } else if (c < 0x20 || c == 0x7F) {
            printf("\\x%02x", c);
        } else if (c >= 0x80) {
            if ((k = tokenize_utf8_seq(s + i, n - i))) {
                fwrite(s + i, 1, k, stdout);
                i += k;
                continue;
            }
            printf("\\x%02x", c);
        } else {
            putchar(c);
        }
        i++;
    }
    putchar('"');
}

/* The whole of path into a malloc'd buffer. */
static char *tokenize_read_file(const char *path, size_t *len, struct plumb_err *err)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, used = 0;
    if (!fp) {
        err_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (used == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nbuf = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nbuf) {
                err_set(err, "%s: out of memory reading the file", path);
                goto fail;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t got = fread(buf + used, 1, cap - used, fp);
        used += got;
        if (got == 0) {
            if (ferror(fp)) {
                err_set(err, "%s: read failed: %s", path, strerror(errno));
                goto fail;
            }
            break;
        }
    }
    fclose(fp);
    *len = used;
    return buf;
fail:
    free(buf);
    fclose(fp);
    return NULL;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *prompt = NULL, *file = NULL;
    bool bos = false, pieces = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], **dst;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            tokenize_help();
            return CLI_OK;
        } else if ((dst = !strcmp(a, "-m") || !strcmp(a, "--model") ? &model
                          : !strcmp(a, "-p") || !strcmp(a, "--prompt") ? &prompt
                          : !strcmp(a, "-f") || !strcmp(a, "--file") ? &file
                          : NULL)) {
            if (i + 1 >= argc)
                return cli_usage("tokenize", "%s needs a value", a);
            if (*dst)
                return cli_usage("tokenize", "%s given twice", a);
            *dst = argv[++i];
        } else if (!strcmp(a, "--bos")) {
            bos = true;
        } else if (!strcmp(a, "--pieces")) {
            pieces = true;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage("tokenize", "unknown option '%s'", a);
        } else {
            return cli_usage("tokenize", "unexpected argument '%s'", a);
        }
    }
    if (!model)
        return cli_usage("tokenize", "missing -m MODEL.gguf");
    if (!prompt && !file)
        return cli_usage("tokenize", "missing -p TEXT or -f FILE");
    if (prompt && file)
        return cli_usage("tokenize", "give -p TEXT or -f FILE, not both");

    struct plumb_err err = {{0}};
    struct gguf_ctx g = {0};
    struct tokenizer t = {0};
    char *text = NULL;
    int32_t *ids = NULL;
    size_t len, n = 0;
    int rc = CLI_BAD_INPUT;
    if (file) {
        if (!(text = tokenize_read_file(file, &len, &err)))
            goto fail;
    } else {
        len = strlen(prompt);
    }
    if (gguf_open(&g, model, &err) != 0 || tokenizer_init(&t, &g, &err) != 0)
        goto fail;
    if (tokenizer_encode(&t, text ? text : prompt, len, bos, &ids, &n, &err) != 0) {
        err_prefix(&err, "%s", model);
        goto fail;
    }
    if (pieces) {
        char small[256];
        for (size_t i = 0; i < n; i++) {
            size_t k = tokenizer_piece(&t, ids[i], small, sizeof small);
            char *p = small;
            if (k > sizeof small) {
                if (!(p = malloc(k))) {
                    err_set(&err, "%s: out of memory", model);
                    goto fail;
                }
                tokenizer_piece(&t, ids[i], p, k);
            }
            printf("%ld\t", (long)ids[i]);
            tokenize_print_piece(p, k);
            putchar('\n');
            if (p != small)
                free(p);
        }
    } else {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %ld" : "%ld", (long)ids[i]);
        putchar('\n');
    }
    rc = CLI_OK;
fail:
    if (rc != CLI_OK)
        cli_error(&err);
    free(ids);
    free(text);
    tokenizer_free(&t);
    gguf_close(&g);
    return rc;
}
