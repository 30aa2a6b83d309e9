/*
 * cmd_gen.c: `plumb gen SPEC.yaml -o OUT.gguf [--threads N]`.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "gen.h"
#include "sha256.h"
#include "spec.h"

static void gen_help(void)
{
    printf("usage: plumb gen SPEC.yaml -o OUT.gguf [--threads N]\n\n"
           "Generate the synthetic llama model SPEC.yaml describes (see fixtures/*.yaml).\n"
           "The same spec gives the same bytes on every machine, compiler and thread\n"
           "count. OUT.gguf is written to a temporary name and renamed into place.\n\n"
           "  -o, --output FILE   where to write the model (required)\n"
           "  --threads N         threads for filling tensors (default 2)\n");
}

int cmd_gen(int argc, char **argv)
{
    const char *spec_path = NULL, *out = NULL;
    long threads = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            gen_help();
            return CLI_OK;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (++i >= argc)
                return cli_usage("gen", "%s needs a file name", a);
            out = argv[i];
        } else if (!strcmp(a, "--threads")) {
            if (++i >= argc || cli_parse_int(argv[i], 1, 256, &threads) != 0)
                return cli_usage("gen", "--threads needs a number from 1 to 256");
        } else if (a[0] == '-' && a[1]) {
            return cli_usage("gen", "unknown option '%s'", a);
        } else if (!spec_path) {
            spec_path = a;
        } else {
            return cli_usage("gen", "one spec at a time, got '%s' and '%s'", spec_path, a);
        }
    }
    if (!spec_path)
        return cli_usage("gen", "missing SPEC.yaml");
    if (!out)
        return cli_usage("gen", "missing -o OUT.gguf");

    struct plumb_err err = {{0}};
    struct spec spec = {0};
    if (spec_load(&spec, spec_path, &err) != 0) {
        spec_free(&spec);
        return cli_error(&err);
    }
    int rc = gen_write_file(&spec, out, (int)threads, &err);
    spec_free(&spec);
    if (rc != 0)
        return cli_error(&err);
    struct stat st;
    if (stat(out, &st) == 0)
        printf("%s: %lld bytes\n", out, (long long)st.st_size);
    return CLI_OK;
}
