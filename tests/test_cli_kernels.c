/*
 * test_cli_kernels.c: `plumb kernels` and `plumb check --plugin` end to end:
 * the listing; a buggy plugin's failing shapes on stdout and exit 1; a good
 * plugin passing op by op and then the suite under the simd policy; bad
 * plugins and bad usage as one line on stderr and exit 2.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

TestSuite(cli_kernels, .timeout = 120);

#define EXAMPLES PLUMB_BUILD_DIR "/examples/"

/* The last line of s (without its newline). */
static const char *last_line(const char *s, char *buf, size_t size)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '\n')
        n--;
    size_t start = n;
    while (start > 0 && s[start - 1] != '\n')
        start--;
    snprintf(buf, size, "%.*s", (int)(n - start), s + start);
    return buf;
}

static void expect_error(const char *const *argv, const char *fragment)
{
    struct run_result r;
    run_plumb(&r, argv);
    cr_assert(eq(int, r.status, 2), "status %d, stderr: %s", r.status, r.err);
    cr_assert(eq(int, count_lines(r.err), 1), "stderr: %s", r.err);
    cr_assert(eq(int, strncmp(r.err, "plumb: ", 7), 0), "stderr: %s", r.err);
    cr_assert(not(eq(ptr, strstr(r.err, fragment), NULL)), "want '%s' in: %s", fragment, r.err);
    run_free(&r);
}

Test(cli_kernels, list_shows_every_built_in_set_with_its_class)
{
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "kernels", "list", NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "scalar      supported      exact"), NULL)), "%s", r.out);
    run_free(&r);
    run_plumb(&r, (const char *[]){"plumb", "kernels", "--help", NULL});
    cr_assert(eq(int, r.status, 0));
    cr_assert(not(eq(ptr, strstr(r.out, "usage: plumb kernels"), NULL)));
    run_free(&r);
}

Test(cli_kernels, the_buggy_plugin_fails_with_its_shapes_and_exit_1)
{
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "kernels", "check", "--plugin",
                                   EXAMPLES "buggy_kernels.so", "--op", "matmul", "--no-e2e", NULL});
    cr_assert(eq(int, r.status, 1), "status %d, stderr: %s", r.status, r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "\n  matmul f32 n=33 rows=7 tokens=1: NMSE "), NULL)), "%s",
              r.out);
    cr_assert(not(eq(ptr, strstr(r.out, "\n  matmul f32 n=32 rows=7 tokens=1: NMSE "), NULL)));
    /* n = 33 fails, n = 32 passes */
    const char *l33 = strstr(r.out, "matmul f32 n=33 rows=7 tokens=1:");
    const char *l32 = strstr(r.out, "matmul f32 n=32 rows=7 tokens=1:");
    cr_assert(not(eq(ptr, strstr(l33, "FAIL: max |a-b|"), NULL)));
    cr_assert(strstr(l33, "FAIL") < strchr(l33, '\n'));
    cr_assert(strstr(l32, " ok\n") == strchr(l32, '\n') - 3, "%s", l32);
    char last[256];
    int passed, failed;
    char tail;
    last_line(r.out, last, sizeof last);
    cr_assert(eq(int, sscanf(last, "%d passed, %d failed%c", &passed, &failed, &tail), 2), "%s", last);
    cr_assert(gt(int, failed, 0));
    cr_assert(gt(int, passed, 0));
    cr_assert(eq(int, count_lines(r.out), passed + failed + 2), "a header, a line per case, a summary");
    run_free(&r);
}

Test(cli_kernels, the_good_plugin_passes_op_by_op_and_end_to_end_under_the_simd_policy)
{
    char *dir = make_temp_dir();
    char cache[1024];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    unsetenv("CI");
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "kernels", "check", "--plugin",
                                   EXAMPLES "good_kernels.so", "--cache", cache, NULL});
    cr_assert(eq(int, r.status, 0), "status %d\n%s\n%s", r.status, r.out, r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "end to end: fixtures/suite.yaml with kernel set 'good', "
                                        "policy simd.yaml\n"), NULL)), "%s", r.out);
    cr_assert(not(eq(ptr, strstr(r.out, "PASS  mixed-long"), NULL)), "%s", r.out);
    cr_assert(eq(ptr, strstr(r.out, "FAIL"), NULL), "%s", r.out);
    run_free(&r);

    /* plumb check takes the plugin too */
    run_plumb(&r, (const char *[]){"plumb", "check", "--plugin", EXAMPLES "good_kernels.so",
                                   "--cache", cache, NULL});
    cr_assert(eq(int, r.status, 0), "status %d\n%s\n%s", r.status, r.out, r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "max_nmse"), NULL)), "held to the simd policy: %s", r.out);
    run_free(&r);
    rm_tree(dir);
    free(dir);
}

Test(cli_kernels, a_crash_in_a_plugin_is_a_failing_case_not_a_crash_of_plumb)
{
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "kernels", "check", "--plugin",
                                   EXAMPLES "bad/crash_kernels.so", "--no-e2e", NULL});
    cr_assert(eq(int, r.status, 1), "status %d, stderr: %s", r.status, r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "  matmul f32 n=17 rows=7 tokens=1: FAIL: crashed: SIGSEGV"),
                     NULL)), "%s", r.out);
    run_free(&r);
}

Test(cli_kernels, bad_plugins_and_bad_usage_are_one_line_and_exit_2)
{
    expect_error((const char *[]){"plumb", "kernels", "check", "--plugin",
                                  EXAMPLES "bad/abi_mismatch.so", NULL},
                 "bad/abi_mismatch.so: kernel ABI version");
    expect_error((const char *[]){"plumb", "kernels", "check", "--plugin",
                                  EXAMPLES "bad/no_entry.so", NULL},
                 "bad/no_entry.so: no symbol 'plumb_kernels_entry'");
    expect_error((const char *[]){"plumb", "check", "--plugin", EXAMPLES "bad/no_name.so", NULL},
                 "bad/no_name.so: kernel set has no name");
    expect_error((const char *[]){"plumb", "check", "--plugin", EXAMPLES "bad/bad_accuracy.so", NULL},
                 "bad/bad_accuracy.so: kernel set 'bad_accuracy': accuracy 7");
    expect_error((const char *[]){"plumb", "kernels", "check", "--plugin",
                                  EXAMPLES "good_kernels.so", "--op", "softmax", NULL},
                 "--op 'softmax' selects none of the operations kernel set 'good' fills");
    expect_error((const char *[]){"plumb", "kernels", NULL}, "missing 'list' or 'check'");
    expect_error((const char *[]){"plumb", "kernels", "frob", NULL}, "unknown subcommand 'frob'");
    expect_error((const char *[]){"plumb", "kernels", "check", "--kernels", "scalar", "--plugin",
                                  EXAMPLES "good_kernels.so", NULL},
                 "--kernels and --plugin");
    expect_error((const char *[]){"plumb", "kernels", "check", "--kernels", "nonesuch", NULL},
                 "nonesuch");
    expect_error((const char *[]){"plumb", "kernels", "check", "--timeout", "0", NULL}, "--timeout");
}
