/*
 * cmd_kernels.c: `plumb kernels list` (the built-in kernel sets) and
 * `plumb kernels check [--kernels NAME | --plugin FILE.so] [--op PATTERN]
 * [--no-e2e] ...`: a set's operations against the scalar specification over
 * a sweep of shapes (harness/kcheck.c), then the suite end to end with that
 * set under the policy its accuracy class names (harness/check.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "kcheck.h"
#include "kernels_registry.h"
#include "plugin.h"
#include "report.h"
#include "scalar.h"
#include "suite.h"

static void kernels_help(void)
{
    printf("usage: plumb kernels list\n"
           "       plumb kernels check [--kernels NAME | --plugin FILE.so] [--op PATTERN]\n"
           "                           [--no-e2e] [--seed N] [--timeout S] [--in-process]\n"
           "                           [--suite S.yaml] [--cache DIR] [--threads N]\n\n"
           "list: the kernel sets built into plumb, whether this CPU runs them, their\n"
           "accuracy class and the operations each overrides; then the sets of the\n"
           "other CPU architectures, which this build does not contain.\n\n"
           "check: run every operation the set fills against the scalar specification\n"
           "over a sweep of shapes (tails, 1, primes, 4096, row ranges, batches of 1, 3\n"
           "and 32 tokens, unaligned pointers, large and near-zero inputs), with guard\n"
           "bytes after every buffer; one line per operation, type and shape. Each\n"
           "operation runs in a child process, so a crash fails its case. Then run the\n"
           "suite end to end with the set, under the policy its class names (exact: each\n"
           "case's own; simd, quantized: fixtures/policies/CLASS.yaml).\n\n"
           "  --kernels NAME    a built-in set (default: every one this CPU supports)\n"
           "  --plugin FILE.so  a set from a plugin built against engine/kernels.h, which\n"
           "                    exports const struct plumb_kernels *plumb_kernels_entry(void)\n"
           "  --op PATTERN      only operations matching the glob, as OP or OP/TYPE\n"
           "                    (matmul, 'matmul/q4_*', rmsnorm, ...)\n"
           "  --no-e2e          skip the end-to-end suite\n"
           "  --seed N          seed of the inputs (default 1)\n"
           "  --timeout S       seconds a case may take before it fails (default 10)\n"
           "  --in-process      no child processes (a crash then stops plumb; debugging)\n"
           "  --suite FILE      the suite for the end-to-end step (default fixtures/suite.yaml)\n"
           "  --cache DIR       generated fixtures (default build/fixture-cache)\n"
           "  --threads N       threads for the end-to-end step (default 1)\n\n"
           "exit: 0 all pass, 1 a case failed, 2 bad input or usage\n");
}

static int kernels_list(void)
{
    printf("%-11s %-14s %-10s %s\n", "set", "on this CPU", "accuracy", "overrides");
    for (size_t i = 0; i < kernels_count(); i++) {
        const struct plumb_kernels *k = kernels_at(i);
        char ops[512];
        kcheck_describe(k, ops, sizeof ops);
        printf("%-11s %-14s %-10s %s\n", k->name, kernels_supported(i) ? "supported" : "not supported",
               kcheck_accuracy_name(k->accuracy),
               k == kernels_scalar() ? "(the specification: every operation)" : ops);
    }
    const char *name, *arch;
    enum plumb_accuracy acc;
    for (size_t i = 0; (name = kernels_foreign(i, &arch, &acc)); i++) {
        char where[64];
        snprintf(where, sizeof where, "(in %s builds only)", arch);
        printf("%-11s %-14s %-10s %s\n", name, "not built", kcheck_accuracy_name(acc), where);
    }
    return CLI_OK;
}

struct kernels_check_args {
    const char *op;
    uint64_t seed;
    double timeout;
    bool in_process, e2e;
    const char *suite, *cache;
    int threads;
};

static void kernels_print_result(void *ctx, const struct kcheck_result *r)
{
    (void)ctx;
    char line[1024];
    kcheck_format(r, line, sizeof line);
    printf("  %s\n", line);
    fflush(stdout);
}

static void kernels_print_note(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "%s\n", line);
}

/* The suite with set k under its class's policy. Returns a CLI exit code. */
static int kernels_e2e(const struct kernels_check_args *a, const struct plumb_kernels *k)
{
    /* check.c holds a set to the policy its class names (simd.yaml beside
     * each case's policy, ...), and an exact set to each case's own. */
    struct check_options o = {.suite_path = a->suite, .kernels = k, .threads = a->threads,
                              .cache_dir = a->cache, .shard_index = 1, .shard_count = 1,
                              .note = kernels_print_note};
    const char *ci = getenv("CI");
    o.ci = ci && *ci && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0;
    if (k->accuracy == PLUMB_ACCURACY_EXACT)
        printf("end to end: %s with kernel set '%s', each case's own policy\n", a->suite, k->name);
    else
        printf("end to end: %s with kernel set '%s', policy %s.yaml\n", a->suite, k->name,
               kcheck_accuracy_name(k->accuracy));
    fflush(stdout);

    struct plumb_err err = {{0}};
    struct suite suite = {0};
    struct report r;
    memset(&r, 0, sizeof r);
    if (suite_load(&suite, a->suite, &err) != 0) {
        suite_free(&suite);
        return cli_error(&err);
    }
    int rc = CLI_OK;
    if (check_run(&o, &suite, &r, &err) != 0) {
        rc = cli_error(&err);
    } else {
        report_text(stdout, &r, isatty(STDOUT_FILENO) != 0);
        for (int64_t i = 0; i < r.n_cases; i++) {
            if (r.cases[i].errored)
                rc = CLI_BAD_INPUT;
            else if (!r.cases[i].result.pass && rc == CLI_OK)
                rc = CLI_FAIL;
        }
    }
    check_report_free(&r);
    suite_free(&suite);
    return rc;
}

static int kernels_worse(int a, int b)
{
    return a == CLI_BAD_INPUT || b == CLI_BAD_INPUT ? CLI_BAD_INPUT : a > b ? a : b;
}

/* Check one set; origin is the plugin file or NULL. Returns a CLI exit code. */
static int kernels_check_set(const struct kernels_check_args *a, const struct plumb_kernels *k,
                             const char *origin)
{
    char ops[512];
    kcheck_describe(k, ops, sizeof ops);
    printf("kernel set '%s' (%s%s%s), overrides: %s; against scalar:\n", k->name,
           kcheck_accuracy_name(k->accuracy), origin ? ", " : "", origin ? origin : "",
           k == kernels_scalar() ? "none (the specification itself)" : ops);
    fflush(stdout);
    struct kcheck_options o = {.set = k, .op_pattern = a->op, .seed = a->seed,
                               .timeout = a->timeout, .in_process = a->in_process,
                               .on_result = kernels_print_result};
    struct kcheck_summary s;
    struct plumb_err err = {{0}};
    if (kcheck_run(&o, &s, &err) != 0)
        return cli_error(&err);
    printf("%lld passed, %lld failed\n", (long long)s.passed, (long long)s.failed);
    int rc = s.failed ? CLI_FAIL : CLI_OK;
    if (a->e2e)
        rc = kernels_worse(rc, kernels_e2e(a, k));
    return rc;
}

static int kernels_check(int argc, char **argv)
{
    struct kernels_check_args a = {.e2e = true, .suite = "fixtures/suite.yaml",
                                   .cache = "build/fixture-cache", .threads = 1};
    const char *name = NULL, *plugin_path = NULL;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            kernels_help();
            return CLI_OK;
        } else if (!strcmp(o, "--no-e2e")) {
            a.e2e = false;
        } else if (!strcmp(o, "--in-process")) {
            a.in_process = true;
        } else if (!v) {
            return cli_usage("kernels", "unknown option '%s', or it needs a value", o);
        } else if (!strcmp(o, "--kernels")) {
            name = argv[++i];
        } else if (!strcmp(o, "--plugin")) {
            plugin_path = argv[++i];
        } else if (!strcmp(o, "--op")) {
            a.op = argv[++i];
        } else if (!strcmp(o, "--suite")) {
            a.suite = argv[++i];
        } else if (!strcmp(o, "--cache")) {
            a.cache = argv[++i];
        } else if (!strcmp(o, "--seed")) {
            if (cli_parse_int(v, 1, 0x7FFFFFFF, &l) != 0)
                return cli_usage("kernels", "--seed needs a number from 1 to 2147483647");
            a.seed = (uint64_t)l;
            i++;
        } else if (!strcmp(o, "--timeout")) {
            if (cli_parse_int(v, 1, 3600, &l) != 0)
                return cli_usage("kernels", "--timeout needs whole seconds from 1 to 3600");
            a.timeout = (double)l;
            i++;
        } else if (!strcmp(o, "--threads")) {
            if (cli_parse_int(v, 1, 256, &l) != 0)
                return cli_usage("kernels", "--threads needs a number from 1 to 256");
            a.threads = (int)l;
            i++;
        } else {
            return cli_usage("kernels", "unknown option '%s'", o);
        }
    }
    if (name && plugin_path)
        return cli_usage("kernels", "--kernels and --plugin name one set each: give one");

    struct plumb_err err = {{0}};
    if (plugin_path) {
        struct plugin p;
        if (plugin_open(&p, plugin_path, &err) != 0)
            return cli_error(&err);
        int rc = kernels_check_set(&a, p.set, plugin_path);
        plugin_close(&p);
        return rc;
    }
    if (name) {
        const struct plumb_kernels *k = kernels_get(name, &err);
        if (!k)
            return cli_error(&err);
        return kernels_check_set(&a, k, NULL);
    }
    int rc = CLI_OK;
    for (size_t i = 0; i < kernels_count(); i++)
        if (kernels_supported(i))
            rc = kernels_worse(rc, kernels_check_set(&a, kernels_at(i), NULL));
    return rc;
}

int cmd_kernels(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("kernels", "missing 'list' or 'check'");
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        kernels_help();
        return CLI_OK;
    }
    if (!strcmp(sub, "list")) {
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                kernels_help();
                return CLI_OK;
            }
            return cli_usage("kernels", "list takes no arguments, got '%s'", argv[i]);
        }
        return kernels_list();
    }
    if (!strcmp(sub, "check"))
        return kernels_check(argc, argv);
    return cli_usage("kernels", "unknown subcommand '%s' (list, check)", sub);
}
