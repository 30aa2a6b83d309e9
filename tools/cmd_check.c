/*
 * cmd_check.c: `plumb check [--suite S.yaml] [--kernels NAME] [--report DIR]
 * [--junit FILE] [--shard I/N] [--record] [--update-golden] ...`: run the
 * suite against its goldens and report. The work is harness/check.c's.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "kernels_registry.h"
#include "plugin.h"
#include "report.h"
#include "suite.h"

static void check_help(void)
{
    printf("usage: plumb check [--suite S.yaml] [--kernels NAME] [--threads N] [--report DIR]\n"
           "                   [--junit FILE] [--shard I/N] [--record] [--update-golden]\n"
           "                   [--tolerances P.yaml] [--cache DIR]\n\n"
           "Run every case of the suite: generate its fixture (cached by spec hash), run\n"
           "the engine with the kernel set, compare every tap against the case's golden\n"
           "under its tolerance policy, and report. A kernel set other than scalar is held\n"
           "to the policy its accuracy class names, from the folder of the case's policy:\n"
           "simd.yaml for SIMD sets (avx2, avx512, neon), quantized.yaml for sets that\n"
           "quantize activations, the case's own policy for exact ones; --tolerances\n"
           "overrides.\n\n"
           "  --suite FILE        the suite (default fixtures/suite.yaml)\n"
           "  --kernels NAME      kernel set: scalar, avx2 or avx512 (x86-64), neon\n"
           "                      (aarch64), or auto (the best this CPU runs); default\n"
           "                      $PLUMB_KERNELS, else scalar ('plumb kernels list')\n"
           "  --plugin FILE.so    kernel set from a plugin (see 'plumb kernels --help')\n"
           "  --threads N         threads (default 1)\n"
           "  --report DIR        write report.json, summary.md, report.html, junit.xml\n"
           "  --junit FILE        write JUnit XML to FILE\n"
           "  --shard I/N         run cases I, I+N, I+2N, ... (1-based), for CI runners\n"
           "  --record            write goldens that are missing (never when CI is set)\n"
           "  --update-golden     replace goldens that differ, printing what changed\n"
           "  --tolerances FILE   use this policy for every case\n"
           "  --cache DIR         generated fixtures (default build/fixture-cache)\n"
           "  --perturb TAP=F     testing the harness: scale activation TAP by F in flight\n\n"
           "exit: 0 all pass, 1 a case failed its policy, 2 bad input or a case could not run\n");
}

static void check_print_note(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "%s\n", line);
}

int cmd_check(int argc, char **argv)
{
    struct check_options o = {.suite_path = "fixtures/suite.yaml", .threads = 1,
                              .cache_dir = "build/fixture-cache", .shard_index = 1,
                              .shard_count = 1, .note = check_print_note};
    const char *report_dir = NULL, *junit = NULL, *kernels = NULL;
    char perturb[128];
    const char *plugin_path = NULL;
    struct plugin plugin = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            check_help();
            return CLI_OK;
        } else if (!strcmp(a, "--record")) {
            o.record = true;
        } else if (!strcmp(a, "--update-golden")) {
            o.update = true;
        } else if (!v) {
            return cli_usage("check", "unknown option '%s', or it needs a value", a);
        } else if (!strcmp(a, "--suite")) {
            o.suite_path = argv[++i];
        } else if (!strcmp(a, "--kernels")) {
            kernels = argv[++i];
        } else if (!strcmp(a, "--plugin")) {
            plugin_path = argv[++i];
        } else if (!strcmp(a, "--report")) {
            report_dir = argv[++i];
        } else if (!strcmp(a, "--junit")) {
            junit = argv[++i];
        } else if (!strcmp(a, "--tolerances")) {
            o.policy_override = argv[++i];
        } else if (!strcmp(a, "--cache")) {
            o.cache_dir = argv[++i];
        } else if (!strcmp(a, "--threads")) {
            if (cli_parse_int(v, 1, 256, &l) != 0)
                return cli_usage("check", "--threads needs a number from 1 to 256");
            o.threads = (int)l;
            i++;
        } else if (!strcmp(a, "--shard")) {
            int si, sn, used = 0;
            if (sscanf(v, "%d/%d%n", &si, &sn, &used) != 2 || v[used] || sn < 1 || si < 1 || si > sn)
                return cli_usage("check", "--shard wants I/N with 1 <= I <= N, got '%s'", v);
            o.shard_index = si;
            o.shard_count = sn;
            i++;
        } else if (!strcmp(a, "--perturb")) {
            const char *eq = strchr(v, '=');
            char *end;
            if (!eq || eq == v || (size_t)(eq - v) >= sizeof perturb)
                return cli_usage("check", "--perturb wants TAP=FACTOR, got '%s'", v);
            memcpy(perturb, v, (size_t)(eq - v));
            perturb[eq - v] = '\0';
            o.perturb_factor = strtof(eq + 1, &end);
            if (end == eq + 1 || *end)
                return cli_usage("check", "--perturb wants TAP=FACTOR, got '%s'", v);
            o.perturb_tap = perturb;
            i++;
        } else {
            return cli_usage("check", "unknown option '%s'", a);
        }
    }
    struct plumb_err err = {{0}};
    if (plugin_path && kernels)
        return cli_usage("check", "--kernels and --plugin name one set each: give one");
    if (plugin_path && plugin_open(&plugin, plugin_path, &err) != 0)
        return cli_error(&err);
    o.kernels = plugin_path ? plugin.set : kernels_get(kernels, &err);
    if (!o.kernels) {
        err_prefix(&err, "check");
        return cli_error(&err);
    }
    if ((o.record || o.update) && o.kernels->accuracy != PLUMB_ACCURACY_EXACT) {
        int rc = cli_usage("check", "goldens are recorded by the scalar set, not '%s'",
                           o.kernels->name);
        plugin_close(&plugin);
        return rc;
    }
    const char *ci = getenv("CI");
    o.ci = ci && *ci && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0;
    if (o.ci && (o.record || o.update))
        return cli_usage("check", "goldens are never written in CI (the CI variable is set)");

    struct suite suite = {0};
    struct report r;
    memset(&r, 0, sizeof r);
    if (suite_load(&suite, o.suite_path, &err) != 0) {
        suite_free(&suite);
        return cli_error(&err);
    }
    int rc;
    if (check_run(&o, &suite, &r, &err) != 0) {
        rc = cli_error(&err);
        goto done;
    }
    char shard[32];
    if (o.shard_count > 1) {
        snprintf(shard, sizeof shard, "%d/%d", o.shard_index, o.shard_count);
        r.shard = shard;
    }
    report_text(stdout, &r, isatty(STDOUT_FILENO) != 0);
    rc = CLI_OK;
    int64_t n_errored = 0, first_errored = -1;
    for (int64_t i = 0; i < r.n_cases; i++) {
        if (r.cases[i].errored) {
            rc = CLI_BAD_INPUT;
            if (n_errored++ == 0)
                first_errored = i;
        } else if (!r.cases[i].result.pass && rc == CLI_OK) {
            rc = CLI_FAIL;
        }
    }
    bool said = false; /* exit 2 says why on stderr, in one line */
    if (report_dir && report_write_dir(&r, report_dir, &err) != 0)
        rc = cli_error(&err), said = true;
    if (junit && !said && report_junit(&r, junit, &err) != 0)
        rc = cli_error(&err), said = true;
    if (first_errored >= 0 && !said) {
        fprintf(stderr, "plumb: %s", r.cases[first_errored].error);
        if (n_errored > 1)
            fprintf(stderr, " (and %lld more cases could not run)", (long long)(n_errored - 1));
        fputc('\n', stderr);
    }
done:
    check_report_free(&r);
    suite_free(&suite);
    plugin_close(&plugin);
    return rc;
}
