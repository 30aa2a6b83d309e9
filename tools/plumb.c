/*
 * plumb.c: the plumb command line: dispatches to one file per subcommand
 * (cmd_*.c) and holds the shared message helpers of cli.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "outfile.h"
#include "version.h"

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct cli_command cli_commands[] = {
    {"gen", cmd_gen, "generate a synthetic llama GGUF model from a YAML spec"},
    {"inspect", cmd_inspect, "validate a GGUF file and describe its header, metadata and tensors"},
    {"tokenize", cmd_tokenize, "print the token ids of a text under a model's tokenizer"},
    {"run", cmd_run, "generate text with the scalar reference engine"},
    {"dump", cmd_dump, "write every layer's activations for a token sequence (.gguf.gz)"},
    {"compare", cmd_compare, "compare two dumps tap by tap under a tolerance policy"},
    {"check", cmd_check, "run the suite against its goldens and report drift"},
    {"kernels", cmd_kernels, "list kernel sets; check one op by op against the scalar spec"},
    {"bench", cmd_bench, "measure engine speed and memory on a model"},
};

#define CLI_N_COMMANDS (sizeof cli_commands / sizeof cli_commands[0])

int cli_error(const struct plumb_err *e)
{
    fprintf(stderr, "plumb: %s\n", e->msg);
    return CLI_BAD_INPUT;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    char msg[PLUMB_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "plumb: %s: %s (see 'plumb %s --help')\n", cmd, msg, cmd);
    return CLI_BAD_INPUT;
}

int cli_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void cli_help(FILE *fp)
{
    fprintf(fp, "plumb %s: a plumb line for LLM inference numerics\n\n"
                "usage: plumb COMMAND [ARGS]   (plumb COMMAND --help for each)\n\n"
                "commands:\n", PLUMB_VERSION);
    for (size_t i = 0; i < CLI_N_COMMANDS; i++)
        fprintf(fp, "  %-9s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fprintf(fp, "\nexit codes: 0 pass, 1 a numeric check failed, 2 bad input or usage\n");
}

/* A command that succeeded but whose output did not all reach stdout (a full
 * disk, a closed pipe) failed. ferror as well as fflush: a command that
 * flushed as it went has nothing left to flush, only the error flag. */
static int cli_finish_stdout(int rc)
{
    int e = fflush(stdout) != 0 ? errno : 0;
    if (rc != CLI_OK || (!e && !ferror(stdout)))
        return rc;
    if (e) /* errno of an earlier failed write may since have been overwritten: only this one's */
        fprintf(stderr, "plumb: stdout: write failed: %s\n", strerror(e));
    else
        fprintf(stderr, "plumb: stdout: write failed (output is incomplete)\n");
    return CLI_BAD_INPUT;
}

int main(int argc, char **argv)
{
    /* A closed pipe must be a write error we report, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    /* Past a file-size limit (ulimit -f), write() must fail with EFBIG so the
     * temporary output is removed, not kill the process mid-file. */
    signal(SIGXFSZ, SIG_IGN);
    /* Ctrl-C or a kill during a write leaves no temporary file behind. */
    outfile_cleanup_on_signals();
    if (argc < 2) {
        cli_help(stderr);
        return CLI_BAD_INPUT;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        cli_help(stdout);
        return cli_finish_stdout(CLI_OK);
    }
    if (!strcmp(name, "--version")) {
        printf("plumb %s\n", PLUMB_VERSION);
        return cli_finish_stdout(CLI_OK);
    }
    for (size_t i = 0; i < CLI_N_COMMANDS; i++)
        if (!strcmp(name, cli_commands[i].name)) {
            return cli_finish_stdout(cli_commands[i].run(argc - 1, argv + 1));
        }
    fprintf(stderr, "plumb: unknown command '%s' (see 'plumb --help')\n", name);
    return CLI_BAD_INPUT;
}
