/*
 * cli.h: what the plumb subcommands share: their entry points and the
 * conventions for messages and exit codes.
 *
 * Exit codes: 0 pass, 1 a numeric check failed, 2 bad input or usage. Every
 * error is one line on stderr, "plumb: FILE: reason" (or "plumb: CMD: reason"
 * for usage errors).
 */
#ifndef PLUMB_CLI_H
#define PLUMB_CLI_H

#include <stdint.h>

#include "err.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_BAD_INPUT = 2 };

int cmd_gen(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_kernels(int argc, char **argv);

/* Print "plumb: <msg>" and return CLI_BAD_INPUT. */
int cli_error(const struct plumb_err *e);

/* Print "plumb: CMD: <formatted reason> (see 'plumb CMD --help')" and return
 * CLI_BAD_INPUT. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse "1,2,3" (non-negative int32 ids) into a malloc'd array. 0 or -1. */
int cli_parse_tokens(const char *s, int32_t **out, int64_t *n);

/* Parse a whole decimal integer in [lo, hi]. Returns 0 or -1. */
int cli_parse_int(const char *s, long lo, long hi, long *out);

#endif
