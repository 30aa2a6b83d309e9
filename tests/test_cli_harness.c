/*
 * test_cli_harness.c: `plumb check` and `plumb compare` end to end: the
 * shipped suite passes against the committed goldens; a deliberate
 * regression in one tap is caught and named as where drift begins; goldens
 * are recorded and replaced only when asked, never in CI, atomically; and
 * every broken golden is a clear error, never a pass.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "helpers.h"

TestSuite(cli_harness, .timeout = 120);

/* A suite in dir with its own golden folder: two cases on the gqa fixture.
 * These tests record goldens, which plumb refuses when CI is set (as it is
 * when the suite runs in CI): each test process runs without it, and the
 * test of that refusal sets it itself. */
static char *write_suite(const char *dir)
{
    unsetenv("CI");
    char cwd[1024], text[8192];
    cr_assert(not(eq(ptr, getcwd(cwd, sizeof cwd), NULL)));
    snprintf(text, sizeof text,
             "golden_dir: golden\n"
             "cases:\n"
             "  - name: g-short\n"
             "    fixture: %s/fixtures/gqa.yaml\n"
             "    tokens: [1, 5, 300]\n"
             "    policy: %s/fixtures/policies/exact.yaml\n"
             "  - name: m-short\n"
             "    fixture: %s/fixtures/mha.yaml\n"
             "    tokens: [1, 7]\n"
             "    policy: %s/fixtures/policies/exact.yaml\n",
             cwd, cwd, cwd, cwd);
    char *path = malloc(2048);
    snprintf(path, 2048, "%s/suite.yaml", dir);
    write_file(path, text, strlen(text));
    char golden[2048];
    snprintf(golden, sizeof golden, "%s/golden", dir);
    mkdir(golden, 0777);
    return path;
}

/* Run plumb check with the suite, a private cache, and extra arguments. */
static void check(struct run_result *r, const char *dir, const char *suite, const char *const *extra)
{
    char cache[2048];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    const char *argv[32] = {"plumb", "check", "--suite", suite, "--cache", cache};
    int n = 6;
    for (; extra && *extra && n < 31; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    run_plumb(r, argv);
}

static char *golden_path(const char *dir, const char *name)
{
    char *p = malloc(2048);
    snprintf(p, 2048, "%s/golden/%s.gguf.gz", dir, name);
    return p;
}

Test(cli_harness, shipped_suite_passes_against_committed_goldens)
{
    struct run_result r;
    char *dir = make_temp_dir();
    char cache[2048];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    run_plumb(&r, (const char *[]){"plumb", "check", "--cache", cache, "--report", dir, NULL});
    cr_assert(eq(int, r.status, 0), "%s%s", r.out, r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "8 passed, 0 failed"), NULL)), "%s", r.out);
    const char *files[] = {"report.json", "summary.md", "report.html", "junit.xml"};
    for (size_t i = 0; i < 4; i++) {
        char p[2100];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        size_t len = 0;
        char *text = read_file(p, &len);
        cr_assert(not(eq(ptr, text, NULL)), "%s written", files[i]);
        cr_assert(gt(sz, len, 100), "%s", files[i]);
        free(text);
    }
    run_free(&r);

    /* shards cover the suite between them */
    run_plumb(&r, (const char *[]){"plumb", "check", "--cache", cache, "--shard", "2/3", NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "3 passed, 0 failed"), NULL)), "%s", r.out);
    run_free(&r);
    rm_tree(dir);
    free(dir);
}

Test(cli_harness, a_perturbed_tap_fails_and_is_named_as_where_drift_begins)
{
    struct run_result r;
    char *dir = make_temp_dir();
    char cache[2048], junit[2048];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(junit, sizeof junit, "%s/junit.xml", dir);
    run_plumb(&r, (const char *[]){"plumb", "check", "--cache", cache, "--perturb", "ffn_out-1=1.001",
                                   "--junit", junit, NULL});
    cr_assert(eq(int, r.status, 1), "%s%s", r.out, r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "first divergence: ffn_out-1"), NULL)), "%s", r.out);
    cr_assert(not(eq(ptr, strstr(r.out, "0 passed, 8 failed"), NULL)), "%s", r.out);
    /* nothing before the perturbed tap is blamed */
    cr_assert(eq(ptr, strstr(r.out, "first divergence: ffn_up-1"), NULL), "%s", r.out);
    size_t len;
    char *xml = read_file(junit, &len);
    cr_assert(not(eq(ptr, strstr(xml, "failures=\"8\""), NULL)), "%s", xml);
    cr_assert(not(eq(ptr, strstr(xml, "ffn_out-1"), NULL)));
    free(xml);
    run_free(&r);
    rm_tree(dir);
    free(dir);
}

Test(cli_harness, goldens_are_recorded_only_when_asked_and_never_in_ci)
{
    struct run_result r;
    char *dir = make_temp_dir();
    char *suite = write_suite(dir);
    char *g = golden_path(dir, "g-short");

    check(&r, dir, suite, NULL);
    cr_assert(eq(int, r.status, 2), "a missing golden is an error: %s", r.out);
    cr_assert(not(eq(ptr, strstr(r.out, "golden missing"), NULL)), "%s", r.out);
    run_free(&r);

    setenv("CI", "true", 1);
    check(&r, dir, suite, (const char *[]){"--record", NULL});
    unsetenv("CI");
    cr_assert(eq(int, r.status, 2), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.err, "never written in CI"), NULL)), "%s", r.err);
    struct stat st;
    cr_assert(not(eq(int, stat(g, &st), 0)), "nothing recorded in CI");
    run_free(&r);

    check(&r, dir, suite, (const char *[]){"--record", NULL});
    cr_assert(eq(int, r.status, 0), "%s%s", r.out, r.err);
    cr_assert(eq(int, stat(g, &st), 0));
    run_free(&r);
    check(&r, dir, suite, NULL);
    cr_assert(eq(int, r.status, 0), "%s", r.out);
    run_free(&r);
    free(g);
    free(suite);
    rm_tree(dir);
    free(dir);
}

Test(cli_harness, a_failing_check_never_touches_goldens_and_update_reports_changes)
{
    struct run_result r;
    char *dir = make_temp_dir();
    char *suite = write_suite(dir);
    char *g = golden_path(dir, "g-short");
    check(&r, dir, suite, (const char *[]){"--record", NULL});
    run_free(&r);
    size_t len0;
    char *before = read_file(g, &len0);

    check(&r, dir, suite, (const char *[]){"--perturb", "Kcur-0=1.01", NULL});
    cr_assert(eq(int, r.status, 1), "%s", r.out);
    cr_assert(not(eq(ptr, strstr(r.out, "first divergence: Kcur-0"), NULL)), "%s", r.out);
    run_free(&r);
    size_t len1;
    char *after = read_file(g, &len1);
    cr_assert(eq(sz, len0, len1));
    cr_assert(eq(int, memcmp(before, after, len0), 0), "the golden is untouched");
    free(after);

    check(&r, dir, suite, (const char *[]){"--perturb", "Kcur-0=1.01", "--update-golden", NULL});
    cr_assert(not(eq(ptr, strstr(r.err, "updating; what changed"), NULL)), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.err, "Kcur-0: max abs"), NULL)), "%s", r.err);
    cr_assert(eq(ptr, strstr(r.err, "attn_norm-0: max abs"), NULL), "unchanged taps not listed: %s", r.err);
    run_free(&r);
    /* the new golden holds the perturbed run: checking with the same perturbation passes */
    check(&r, dir, suite, (const char *[]){"--perturb", "Kcur-0=1.01", NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.out);
    run_free(&r);
    cr_assert(eq(int, dir_entries(dir), 3), "suite, golden/, cache/ only"); /* no temporaries */
    free(before);
    free(g);
    free(suite);
    rm_tree(dir);
    free(dir);
}

Test(cli_harness, an_interrupted_update_leaves_every_golden_whole)
{
    char *dir = make_temp_dir();
    char *suite = write_suite(dir);
    struct run_result r;
    check(&r, dir, suite, (const char *[]){"--record", NULL});
    run_free(&r);
    char cache[2048];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    /* Interrupt updates at several moments; whatever the moment, each golden
     * is either the old file or the new one, whole, and no temporary stays. */
    for (int delay_ms = 0; delay_ms < 60; delay_ms += 6) {
        pid_t pid = fork();
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            dup2(devnull, 2);
            exec_plumb((const char *[]){"plumb", "check", "--suite", suite, "--cache", cache,
                                        "--update-golden", "--perturb", "l_out-0=1.5", NULL});
            _exit(127);
        }
        struct timespec ts = {0, delay_ms * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGTERM);
        int st;
        waitpid(pid, &st, 0);
        const char *names[] = {"g-short", "m-short"};
        for (int i = 0; i < 2; i++) {
            char *g = golden_path(dir, names[i]);
            struct dump d;
            struct plumb_err err = {{0}};
            cr_assert(eq(int, dump_read(&d, g, &err), 0), "after %d ms: %s", delay_ms, err.msg);
            dump_free(&d);
            free(g);
        }
        char gdir[2100];
        snprintf(gdir, sizeof gdir, "%s/golden", dir);
        cr_assert(eq(int, dir_entries(gdir), 2), "after %d ms: a temporary file was left", delay_ms);
    }
    free(suite);
    rm_tree(dir);
    free(dir);
}

Test(cli_harness, broken_goldens_are_errors_never_passes)
{
    char *dir = make_temp_dir();
    char *suite = write_suite(dir);
    struct run_result r;
    check(&r, dir, suite, (const char *[]){"--record", NULL});
    run_free(&r);
    char *g = golden_path(dir, "g-short"), *m = golden_path(dir, "m-short");
    size_t len;
    char *good = read_file(g, &len);

    struct {
        const char *what;
        size_t keep;      /* truncate to this many bytes, or 0 */
        long flip;        /* flip a byte at this offset from the end (gzip data), or -1 */
        const char *fragment;
    } cases[] = {
        {"truncated", 0, -1, "truncated"},
        {"crc", 0, 200, "corrupt gzip data"},
        {"empty", 1, -1, "empty file"},
    };
    cases[0].keep = len / 2;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bytes = malloc(len);
        memcpy(bytes, good, len);
        size_t n = len;
        if (cases[i].keep)
            n = cases[i].keep == 1 ? 0 : cases[i].keep;
        if (cases[i].flip >= 0)
            bytes[len - (size_t)cases[i].flip] ^= 0x55;
        write_file(g, bytes, n);
        free(bytes);
        check(&r, dir, suite, NULL);
        cr_assert(eq(int, r.status, 2), "%s: %s", cases[i].what, r.out);
        cr_assert(not(eq(ptr, strstr(r.out, g), NULL)), "%s: names the golden: %s", cases[i].what, r.out);
        cr_assert(not(eq(ptr, strstr(r.out, cases[i].fragment), NULL)), "%s: %s", cases[i].what, r.out);
        run_free(&r);
    }
    /* a golden recorded from another fixture */
    size_t mlen;
    char *other = read_file(m, &mlen);
    write_file(g, other, mlen);
    free(other);
    check(&r, dir, suite, NULL);
    cr_assert(eq(int, r.status, 2), "%s", r.out);
    cr_assert(not(eq(ptr, strstr(r.out, "recorded from a different fixture"), NULL)), "%s", r.out);
    run_free(&r);
    free(good);
    free(g);
    free(m);
    free(suite);
    rm_tree(dir);
    free(dir);
}

Test(cli_harness, compare_reports_taps_and_exit_codes)
{
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "compare", "golden/gqa-short.gguf.gz", "golden/gqa-short.gguf.gz", NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "all 25 taps pass"), NULL)), "%s", r.out);
    run_free(&r);
    /* different models: every shape differs */
    run_plumb(&r, (const char *[]){"plumb", "compare", "golden/gqa-short.gguf.gz", "golden/mha-short.gguf.gz",
                                   "--tolerances", "fixtures/policies/simd.yaml", NULL});
    cr_assert(eq(int, r.status, 1), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "first divergence: inp_embd"), NULL)), "%s", r.out);
    run_free(&r);
    run_plumb(&r, (const char *[]){"plumb", "compare", "golden/gqa-short.gguf.gz", "fixtures/suite.yaml", NULL});
    cr_assert(eq(int, r.status, 2));
    cr_assert(not(eq(ptr, strstr(r.err, "fixtures/suite.yaml"), NULL)), "%s", r.err);
    cr_assert(eq(int, count_lines(r.err), 1), "%s", r.err);
    run_free(&r);
}

Test(cli_harness, a_token_id_beyond_the_vocabulary_is_named_at_its_suite_line)
{
    unsetenv("CI");
    struct run_result r;
    char *dir = make_temp_dir();
    char cwd[1024], text[8192], suite[2048];
    cr_assert(not(eq(ptr, getcwd(cwd, sizeof cwd), NULL)));
    /* gqa.yaml has a 512-token vocabulary: 512 is one past its last id. */
    snprintf(text, sizeof text,
             "golden_dir: golden\n"
             "cases:\n"
             "  - name: fine\n"
             "    fixture: %s/fixtures/gqa.yaml\n"
             "    tokens: [1, 511]\n"
             "    policy: %s/fixtures/policies/exact.yaml\n"
             "  - name: beyond\n"
             "    fixture: %s/fixtures/gqa.yaml\n"
             "    tokens: [1, 5, 512]\n"
             "    policy: %s/fixtures/policies/exact.yaml\n",
             cwd, cwd, cwd, cwd);
    snprintf(suite, sizeof suite, "%s/suite.yaml", dir);
    write_file(suite, text, strlen(text));
    check(&r, dir, suite, (const char *[]){"--record", NULL});
    cr_assert(eq(int, r.status, 2), "%s%s", r.out, r.err);
    char want[4096];
    snprintf(want, sizeof want,
             "%s:7: beyond: tokens[2]: token id 512 is out of range 0..511 (the vocabulary of %s/fixtures/gqa.yaml)",
             suite, cwd);
    cr_assert(not(eq(ptr, strstr(r.out, want), NULL)), "want '%s' in:\n%s%s", want, r.out, r.err);
    run_free(&r);
    rm_tree(dir);
    free(dir);
}
