/*
 * test_report.c: the reports of a suite run, from a struct report built by
 * hand: a passing case, a case whose drift starts at ffn_out-1 and grows
 * after it, a case that could not run. Asserts on the terminal lines, the
 * JSON, the JUnit counts and escaping, the Markdown rows, the HTML charts,
 * and on the files being written atomically.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

/* Criterion's assertion macros store an int into a 1-bit field, which gcc's
 * -Wconversion reports at every cr_assert; the warning is about Criterion's
 * header, so it is off for gcc here, and clang checks this file with it on. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wconversion"
#endif

TestSuite(report, .timeout = 30);

/* ---- building a report ---- */

/* The taps of a two-layer model, in execution order. */
static const char *const block_taps[] = {
    "attn_norm", "Qcur", "Kcur", "Vcur", "kqv_out", "ffn_inp",
    "ffn_norm", "ffn_gate", "ffn_up", "ffn_out", "l_out",
};
#define N_BLOCK ((int)(sizeof block_taps / sizeof block_taps[0]))
#define N_LAYERS 2
#define N_TAPS (1 + N_LAYERS * N_BLOCK + 2)
#define WIDTH 64
#define N_POS 128
#define FFN_OUT_1 (1 + N_BLOCK + 9)  /* index of ffn_out-1 */

struct fixture {
    struct compare_tap short_taps[N_TAPS];
    struct compare_tap long_taps[N_TAPS];
    struct report_case cases[3];
    struct report report;
};

static void tap_name(char *out, int i)
{
    if (i == 0)
        snprintf(out, 64, "inp_embd");
    else if (i == N_TAPS - 2)
        snprintf(out, 64, "result_norm");
    else if (i == N_TAPS - 1)
        snprintf(out, 64, "result_output");
    else
        snprintf(out, 64, "%s-%d", block_taps[(i - 1) % N_BLOCK], (i - 1) / N_BLOCK);
}

static int64_t tap_layer(int i)
{
    return i == 0 || i >= N_TAPS - 2 ? -1 : (i - 1) / N_BLOCK;
}

static void add_check(struct compare_tap *t, enum policy_metric m, double value, double bound,
                      bool pass, double needed)
{
    t->checks[t->n_checks++] = (struct compare_check){m, value, bound, pass, pass ? 0 : needed};
    t->pass = t->pass && pass;
}

static void tap_init(struct compare_tap *t, int i)
{
    memset(t, 0, sizeof *t);
    tap_name(t->name, i);
    t->layer = tap_layer(i);
    t->width = WIDTH;
    t->n_pos = N_POS;
    t->n = WIDTH * N_POS;
    t->max_abs_index = 3;
    t->cosine = 1.0;
    t->pass = true;
}

/* gqa-short: an ULP policy (64 on Qcur/Kcur, exact elsewhere); Qcur-1 is
 * the worst at 3 ULP. */
static void build_short(struct compare_tap *taps)
{
    for (int i = 0; i < N_TAPS; i++) {
        struct compare_tap *t = &taps[i];
        tap_init(t, i);
        bool rope = !strncmp(t->name, "Qcur", 4) || !strncmp(t->name, "Kcur", 4);
        if (rope) {
            t->max_ulp = !strcmp(t->name, "Qcur-1") ? 3 : 1;
            t->max_abs = 2.4e-7 * (double)t->max_ulp;
            t->max_rel = 1.2e-7 * (double)t->max_ulp;
            t->rmse = 4e-8;
            t->nmse = 1.5e-14;
            t->cosine = 0.99999999999;
        }
        add_check(t, POLICY_MAX_ULP, (double)t->max_ulp, rope ? 64 : 0, true, 0);
        if (i == N_TAPS - 1) {
            t->has_logit_metrics = true;
            t->top1 = 1.0;
            t->topk = 1.0;
            t->top_k = 10;
            add_check(t, POLICY_MAX_KLD, 0, 1e-6, true, 0);
        }
    }
}

/* gqa-long: the simd policy (atol 1e-5, rtol 1e-4, max_nmse 1e-8,
 * min_cosine 0.99999). Drift starts at ffn_out-1 (12 mismatches, 3.1e-4 at
 * position 5, column 17) and grows to result_output, which also fails
 * max_nmse. */
static void build_long(struct compare_tap *taps)
{
    for (int i = 0; i < N_TAPS; i++) {
        struct compare_tap *t = &taps[i];
        tap_init(t, i);
        double needed = 0;
        t->max_abs = 1e-7 * (1.0 + 0.25 * i);
        t->max_ulp = (uint64_t)(2 + i);
        t->max_rel = t->max_abs * 3;
        t->rmse = t->max_abs / 8;
        t->nmse = 1e-13 * (1.0 + i);
        t->cosine = 0.9999999999;
        if (i == FFN_OUT_1) {
            t->mismatches = 12;
            t->max_abs = 3.1e-4;
            t->max_abs_index = 5 * WIDTH + 17;
            t->max_ulp = 40211;
            t->nmse = 4e-9;
            t->cosine = 0.9999995;
            needed = 3.04e-4; /* printed rounded up: 3.1e-4 */
        } else if (i == FFN_OUT_1 + 1) {
            t->mismatches = 9;
            t->max_abs = 2.9e-4;
            t->max_ulp = 38000;
            t->nmse = 3e-9;
            t->cosine = 0.9999997;
            needed = 2.8e-4;
        } else if (i == N_TAPS - 2) {
            t->mismatches = 40;
            t->max_abs = 8e-4;
            t->max_ulp = 90000;
            t->nmse = 6e-9;
            t->cosine = 0.9999991;
            needed = 7.7e-4;
        } else if (i == N_TAPS - 1) {
            t->mismatches = 300;
            t->max_abs = 1.2e-3;
            t->max_ulp = 250000;
            t->nmse = 2.5e-6;
            t->cosine = 0.999998;
            needed = 1.1e-3;
        }
        add_check(t, POLICY_ELEMENTWISE, (double)t->mismatches, 0, t->mismatches == 0, needed);
        add_check(t, POLICY_MAX_NMSE, t->nmse, 1e-8, t->nmse <= 1e-8, t->nmse);
        add_check(t, POLICY_MIN_COSINE, t->cosine, 0.99999, t->cosine >= 0.99999, t->cosine);
        if (i == N_TAPS - 1) {
            t->has_logit_metrics = true;
            t->kld_mean = 3e-7;
            t->kld_max = 2e-6;
            t->top1 = 1.0;
            t->topk = 0.97;
            t->top_k = 10;
            add_check(t, POLICY_MAX_KLD, t->kld_mean, 1e-6, true, 0);
            add_check(t, POLICY_MIN_TOP1, t->top1, 1.0, true, 0);
        }
    }
}

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    build_short(f->short_taps);
    build_long(f->long_taps);
    f->cases[0] = (struct report_case){
        .name = "gqa-short", .fixture = "fixtures/gqa.yaml", .policy = "ulp",
        .golden = "golden/gqa-short.gguf.gz", .n_tokens = 6, .seconds = 0.12,
        .result = {f->short_taps, N_TAPS, -1, true},
    };
    f->cases[1] = (struct report_case){
        .name = "gqa-long", .fixture = "fixtures/gqa.yaml", .policy = "simd",
        .golden = "golden/gqa-long.gguf.gz", .n_tokens = 128, .seconds = 0.34,
        .result = {f->long_taps, N_TAPS, FFN_OUT_1, false},
    };
    f->cases[2] = (struct report_case){
        .name = "broken", .fixture = "fixtures/broken.yaml", .policy = "simd",
        .golden = "golden/broken.gguf.gz", .errored = true,
    };
    snprintf(f->cases[2].error, sizeof f->cases[2].error,
             "golden/broken.gguf.gz: cannot open: No such file or directory");
    f->report = (struct report){
        .suite = "fixtures/suite.yaml", .kernels = "avx2", .plumb_version = "0.1.0",
        .compiler = "gcc 12.2.0", .arch = "x86_64", .shard = NULL,
        .cases = f->cases, .n_cases = 3,
    };
}

/* A report whose names need escaping everywhere: a case `esc "1" <&>` whose
 * first failing tap is `t<&>"'-0` (with a non-finite value), and an errored
 * case whose message holds markup and a control character. */
struct odd_fixture {
    struct compare_tap taps[2];
    struct report_case cases[2];
    struct report report;
};

static void odd_init(struct odd_fixture *f)
{
    memset(f, 0, sizeof *f);
    struct compare_tap *t = &f->taps[0];
    tap_init(t, 1);
    snprintf(t->name, sizeof t->name, "t<&>\"'-0");
    t->layer = 0;
    t->max_abs = INFINITY;
    t->nonfinite = 2;
    t->cosine = NAN;
    t->nmse = NAN;
    add_check(t, POLICY_ELEMENTWISE, 2, 0, false, INFINITY);
    tap_init(&f->taps[1], N_TAPS - 1);
    f->cases[0] = (struct report_case){
        .name = "esc \"1\" <&>", .policy = "simd", .seconds = 0.5,
        .result = {f->taps, 2, 0, false},
    };
    f->cases[1] = (struct report_case){.name = "err", .errored = true};
    snprintf(f->cases[1].error, sizeof f->cases[1].error, "x.yaml: bad\x01 <tag> & 'q'");
    f->report = (struct report){
        .suite = "suites/odd.yaml", .kernels = "scalar", .shard = "2/3",
        .cases = f->cases, .n_cases = 2,
    };
}

/* ---- file helpers ---- */

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    cr_assert(not(eq(ptr, fp, NULL)), "cannot open %s", path);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(fp);
    fclose(mem);
    return buf;
}

static char *temp_dir(void)
{
    char *dir = strdup("/tmp/plumb-test-report-XXXXXX");
    cr_assert(not(eq(ptr, mkdtemp(dir), NULL)));
    return dir;
}

static void remove_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert(eq(int, system(cmd), 0));
}

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void assert_contains(const char *hay, const char *needle)
{
    cr_assert(not(eq(ptr, strstr(hay, needle), NULL)), "missing: %s\n--- in:\n%s", needle, hay);
}

static void assert_absent(const char *hay, const char *needle)
{
    cr_assert(eq(int, count_of(hay, needle), 0), "unexpected: %s", needle);
}

/* Whether any file in dir has ".tmp." in its name. */
static bool temp_left(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(not(eq(ptr, d, NULL)));
    bool found = false;
    for (struct dirent *e; (e = readdir(d));)
        found = found || strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return found;
}

static bool have_python3(void)
{
    return system("command -v python3 >/dev/null 2>&1") == 0;
}

static char *render_text(const struct report *r, bool color)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    report_text(fp, r, color);
    fclose(fp);
    return buf;
}

/* Write one report file with fn into a fresh folder and read it back. */
static char *render_file(const struct report *r,
                         int (*fn)(const struct report *, const char *, struct plumb_err *),
                         const char *name, char **dir_out)
{
    char *dir = temp_dir();
    char *path = path_in(dir, name);
    struct plumb_err err = {{0}};
    cr_assert(eq(int, fn(r, path, &err), 0), "%s", err.msg);
    char *text = slurp(path);
    cr_assert(not(temp_left(dir)));
    free(path);
    if (dir_out)
        *dir_out = dir;
    else {
        remove_tree(dir);
        free(dir);
    }
    return text;
}

/* ---- terminal ---- */

Test(report, terminal_prints_one_line_per_case_and_the_count_line)
{
    struct fixture f;
    fixture_init(&f);
    char *out = render_text(&f.report, false);
    const char *want =
        "PASS  gqa-short   worst: Qcur-1 max_ulp 3 <= 64\n"
        "FAIL  gqa-long    first divergence: ffn_out-1 (layer 1): atol/rtol 12 mismatches of "
        "8192, max |a-b| 3.1e-4 at position 5, column 17 (needs atol >= 3.1e-4); then grows: "
        "l_out-1 2.9e-4, ..., result_output 1.2e-3\n"
        "ERROR broken      golden/broken.gguf.gz: cannot open: No such file or directory\n"
        "1 passed, 2 failed\n";
    cr_assert(eq(str, out, (char *)want));
    assert_absent(out, "\033");
    free(out);
}

Test(report, terminal_colours_only_the_verdict_when_asked)
{
    struct fixture f;
    fixture_init(&f);
    char *out = render_text(&f.report, true);
    assert_contains(out, "\033[32mPASS\033[0m  gqa-short");
    assert_contains(out, "\033[31mFAIL\033[0m  gqa-long");
    assert_contains(out, "\033[33mERROR\033[0m broken");
    /* the count line stays plain for CI to parse */
    assert_contains(out, "\n1 passed, 2 failed\n");
    free(out);
}

Test(report, terminal_names_every_failing_metric_and_keeps_control_characters_out)
{
    struct odd_fixture f;
    odd_init(&f);
    char *out = render_text(&f.report, false);
    assert_contains(out, "FAIL  esc \"1\" <&>   first divergence: t<&>\"'-0 (layer 0): 2 non-finite "
                         "values where the reference is finite; atol/rtol 2 mismatches of 8192, "
                         "max |a-b| inf at position 0, column 3; after it: result_output 0\n");
    assert_contains(out, "ERROR err           x.yaml: bad? <tag> & 'q'\n");
    assert_contains(out, "0 passed, 2 failed\n");
    free(out);
}

Test(report, pass_needs_every_case_to_run_and_pass)
{
    struct fixture f;
    fixture_init(&f);
    cr_assert(not(report_pass(&f.report)));
    f.report.n_cases = 1;
    cr_assert(report_pass(&f.report));
    f.cases[0].errored = true;
    cr_assert(not(report_pass(&f.report)));
}

/* ---- report.json ---- */

Test(report, json_holds_provenance_every_metric_and_every_check)
{
    struct fixture f;
    fixture_init(&f);
    char *dir;
    char *text = render_file(&f.report, report_json, "report.json", &dir);
    assert_contains(text, "\"schema_version\": 1");
    assert_contains(text, "\"suite\": \"fixtures/suite.yaml\"");
    assert_contains(text, "\"kernels\": \"avx2\"");
    assert_contains(text, "\"plumb_version\": \"0.1.0\"");
    assert_contains(text, "\"compiler\": \"gcc 12.2.0\"");
    assert_contains(text, "\"arch\": \"x86_64\"");
    assert_contains(text, "\"shard\": null");
    assert_contains(text, "\"pass\": false");
    assert_contains(text, "\"first_fail\": \"ffn_out-1\"");
    assert_contains(text, "\"first_fail_index\": 21");
    assert_contains(text, "\"error\": \"golden/broken.gguf.gz: cannot open: No such file or directory\"");
    assert_contains(text, "\"max_abs_position\": 5");
    assert_contains(text, "\"max_abs_column\": 17");
    assert_contains(text, "\"max_ulp\": 40211");
    assert_contains(text, "\"metric\": \"atol/rtol\"");
    assert_contains(text, "\"metric\": \"min_cosine\"");
    assert_contains(text, "\"kld_mean\": 2.9999999999999999e-07");
    assert_contains(text, "\"top_k\": 10");
    /* every tap of both cases that ran, every check of each */
    cr_assert(eq(int, count_of(text, "\"mismatches\":"), 2 * N_TAPS));
    cr_assert(eq(int, count_of(text, "\"metric\":"), N_TAPS + 1 + 3 * N_TAPS + 2));
    if (have_python3()) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import json,sys; json.load(open(sys.argv[1]))' %s/report.json", dir);
        cr_assert(eq(int, system(cmd), 0), "report.json does not parse");
    }
    remove_tree(dir);
    free(dir);
    free(text);
}

Test(report, json_writes_non_finite_numbers_as_strings)
{
    struct odd_fixture f;
    odd_init(&f);
    char *text = render_file(&f.report, report_json, "report.json", NULL);
    assert_contains(text, "\"max_abs\": \"Infinity\"");
    assert_contains(text, "\"cosine\": \"NaN\"");
    assert_contains(text, "\"needed\": \"Infinity\"");
    assert_contains(text, "\"name\": \"t<&>\\\"'-0\"");
    assert_contains(text, "\"error\": \"x.yaml: bad\\u0001 <tag> & 'q'\"");
    assert_contains(text, "\"shard\": \"2/3\"");
    free(text);
}

/* ---- junit.xml ---- */

Test(report, junit_counts_failures_and_errors_per_case)
{
    struct fixture f;
    fixture_init(&f);
    char *text = render_file(&f.report, report_junit, "junit.xml", NULL);
    assert_contains(text, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ");
    assert_contains(text, "<testsuite name=\"suite\" tests=\"3\" failures=\"1\" errors=\"1\" "
                          "skipped=\"0\" time=\"0.460\">");
    assert_contains(text, "<testcase classname=\"plumb.suite\" name=\"gqa-short\" time=\"0.120\">");
    assert_contains(text, "<testcase classname=\"plumb.suite\" name=\"gqa-long\" time=\"0.340\">");
    assert_contains(text, "<failure message=\"ffn_out-1 (layer 1): atol/rtol 12 mismatches of "
                          "8192, max |a-b| 3.1e-4 at position 5, column 17 (needs atol &gt;= "
                          "3.1e-4)\" type=\"drift\">");
    assert_contains(text, "<error message=\"golden/broken.gguf.gz: cannot open: No such file or "
                          "directory\" type=\"error\">");
    assert_contains(text, "  result_output: atol/rtol 300 mismatches of 8192");
    cr_assert(eq(int, count_of(text, "<testcase "), 3));
    cr_assert(eq(int, count_of(text, "<failure "), 1));
    cr_assert(eq(int, count_of(text, "<error "), 1));
    free(text);
}

Test(report, junit_escapes_markup_and_drops_control_characters)
{
    struct odd_fixture f;
    odd_init(&f);
    char *text = render_file(&f.report, report_junit, "junit.xml", NULL);
    assert_contains(text, "classname=\"plumb.odd\" name=\"esc &quot;1&quot; &lt;&amp;&gt;\"");
    assert_contains(text, "<failure message=\"t&lt;&amp;&gt;&quot;&#39;-0 (layer 0): ");
    assert_contains(text, "<error message=\"x.yaml: bad &lt;tag&gt; &amp; &#39;q&#39;\"");
    assert_contains(text, "<property name=\"shard\" value=\"2/3\"/>");
    assert_absent(text, "\x01");
    assert_absent(text, "t<&>");
    if (have_python3()) {
        char *dir = temp_dir();
        char *path = path_in(dir, "junit.xml");
        struct plumb_err err = {{0}};
        cr_assert(eq(int, report_junit(&f.report, path, &err), 0), "%s", err.msg);
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import sys,xml.dom.minidom as m; m.parse(sys.argv[1])' %s", path);
        cr_assert(eq(int, system(cmd), 0), "junit.xml is not well-formed");
        free(path);
        remove_tree(dir);
        free(dir);
    }
    free(text);
}

/* ---- summary.md ---- */

Test(report, markdown_has_a_verdict_a_row_per_case_and_the_divergence_table)
{
    struct fixture f;
    fixture_init(&f);
    char *text = render_file(&f.report, report_markdown, "summary.md", NULL);
    cr_assert(eq(int, strncmp(text, "## plumb check: FAIL\n", 21), 0), "%s", text);
    assert_contains(text, "\n| case | result | first divergence | worst metric vs bound | time |\n"
                          "| --- | --- | --- | --- | ---: |\n");
    assert_contains(text, "\n| gqa-short | pass | - | Qcur-1 max_ulp 3 <= 64 | 0.12 s |\n");
    assert_contains(text, "\n| gqa-long | **FAIL** | ffn_out-1 (layer 1): atol/rtol 12 mismatches "
                          "of 8192, max \\|a-b\\| 3.1e-4 at position 5, column 17 (needs atol >= "
                          "3.1e-4) | result_output max_nmse 2.5e-6 > 1e-8 | 0.34 s |\n");
    assert_contains(text, "\n| broken | **ERROR** | golden/broken.gguf.gz: cannot open: No such "
                          "file or directory | - | 0.00 s |\n");
    assert_contains(text, "\n### gqa-long: first divergence at ffn_out-1 (layer 1)\n");
    assert_contains(text, "\n| ffn_up-1 | 1 | 0 | 6e-7 | 22 | 2.1e-12 | 0.9999999999 | pass |\n");
    assert_contains(text, "\n| ffn_out-1 | 1 | 12 | 3.1e-4 | 40211 | 4e-9 | 0.9999995 | **FAIL** "
                          "(first): atol/rtol |\n");
    assert_contains(text, "\n| result_output | - | 300 | 1.2e-3 | 250000 | 2.5e-6 | 0.999998 | "
                          "**FAIL**: atol/rtol, max_nmse |\n");
    free(text);
}

Test(report, markdown_escapes_table_breaking_text)
{
    struct odd_fixture f;
    odd_init(&f);
    f.cases[1].name = "a|b";
    char *text = render_file(&f.report, report_markdown, "summary.md", NULL);
    assert_contains(text, "\n| a\\|b | **ERROR** | x.yaml: bad  &lt;tag> & 'q' | - | 0.00 s |\n");
    free(text);
}

/* ---- report.html ---- */

Test(report, html_is_self_contained_with_a_chart_per_metric_and_the_bounds)
{
    struct fixture f;
    fixture_init(&f);
    char *dir;
    char *text = render_file(&f.report, report_html, "report.html", &dir);
    cr_assert(eq(int, strncmp(text, "<!DOCTYPE html>\n<html lang=\"en\">", 31), 0));
    assert_contains(text, "<meta charset=\"utf-8\">");
    /* max_abs, max_ulp, nmse, 1-cosine and KLD for each case that ran */
    cr_assert(eq(int, count_of(text, "<svg"), 10));
    cr_assert(eq(int, count_of(text, "</svg>"), 10));
    assert_absent(text, "<script");
    /* nothing fetched: the only URL is the SVG namespace, which names, not loads */
    cr_assert(eq(int, count_of(text, "http"), count_of(text, "xmlns=\"http://www.w3.org/2000/svg\"")));
    assert_absent(text, " src=");
    assert_absent(text, "url(");
    assert_absent(text, "@import");
    assert_contains(text, "class=\"bound\"");
    assert_contains(text, ">bound: max_nmse 1e-8</text>");
    assert_contains(text, ">bound: min_cosine 0.99999</text>");
    assert_contains(text, ">bound: max_ulp 64 (Qcur, Kcur)</text>");
    assert_contains(text, ">first failure: ffn_out-1</text>");
    assert_contains(text, "<tr class=\"fail first\"><td class=\"l\">ffn_out-1</td><td>1</td>");
    assert_contains(text, "max |a-b| by layer");
    assert_contains(text, ">0</text>");
    for (int k = 0; k < N_BLOCK; k++)
        assert_contains(text, block_taps[k]);
    if (have_python3()) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import sys,html.parser as h; p=h.HTMLParser(); "
                 "p.feed(open(sys.argv[1]).read()); p.close()' %s/report.html", dir);
        cr_assert(eq(int, system(cmd), 0));
    }
    remove_tree(dir);
    free(dir);
    free(text);
}

Test(report, html_escapes_every_name_and_message)
{
    struct odd_fixture f;
    odd_init(&f);
    char *text = render_file(&f.report, report_html, "report.html", NULL);
    assert_contains(text, "esc &quot;1&quot; &lt;&amp;&gt;");
    assert_contains(text, "t&lt;&amp;&gt;&quot;&#39;-0");
    assert_contains(text, "x.yaml: bad &lt;tag&gt; &amp; &#39;q&#39;");
    assert_absent(text, "t<&>");
    assert_absent(text, "<tag>");
    assert_absent(text, "\x01");
    free(text);
}

/* ---- the report folder ---- */

Test(report, write_dir_creates_the_folder_and_leaves_only_the_four_files)
{
    struct fixture f;
    fixture_init(&f);
    char *dir = temp_dir();
    char *sub = path_in(dir, "a/b/reports/");
    struct plumb_err err = {{0}};
    cr_assert(eq(int, report_write_dir(&f.report, sub, &err), 0), "%s", err.msg);
    static const char *const names[] = {"report.json", "summary.md", "report.html", "junit.xml"};
    for (int i = 0; i < 4; i++) {
        char *p = path_in(sub, names[i]);
        struct stat st;
        cr_assert(eq(int, stat(p, &st), 0), "%s missing", p);
        cr_assert(gt(i64, (int64_t)st.st_size, 0));
        free(p);
    }
    DIR *d = opendir(sub);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    cr_assert(eq(int, entries, 4));
    /* a second run replaces the files in place */
    cr_assert(eq(int, report_write_dir(&f.report, sub, &err), 0), "%s", err.msg);
    cr_assert(not(temp_left(sub)));
    free(sub);
    remove_tree(dir);
    free(dir);
}

Test(report, write_dir_under_a_regular_file_fails_naming_it)
{
    struct fixture f;
    fixture_init(&f);
    char *dir = temp_dir();
    char *file = path_in(dir, "plain");
    FILE *fp = fopen(file, "w");
    fputs("x\n", fp);
    fclose(fp);
    char *sub = path_in(file, "reports");
    struct plumb_err err = {{0}};
    cr_assert(eq(int, report_write_dir(&f.report, sub, &err), -1));
    char want[600];
    snprintf(want, sizeof want, "'%s' is a file, not a folder", file);
    assert_contains(err.msg, want);
    cr_assert(eq(int, strncmp(err.msg, sub, strlen(sub)), 0), "%s", err.msg);
    free(sub);
    free(file);
    remove_tree(dir);
    free(dir);
}

Test(report, failed_write_keeps_the_destination_and_leaves_no_temporary_file)
{
    struct fixture f;
    fixture_init(&f);
    char *dir = temp_dir();
    /* the destination is a folder: the final rename fails */
    char *target = path_in(dir, "report.json");
    cr_assert(eq(int, mkdir(target, 0777), 0));
    struct plumb_err err = {{0}};
    cr_assert(eq(int, report_json(&f.report, target, &err), -1));
    assert_contains(err.msg, target);
    cr_assert(not(temp_left(dir)));
    struct stat st;
    cr_assert(eq(int, stat(target, &st), 0));
    bool still_folder = S_ISDIR(st.st_mode);
    cr_assert(still_folder);
    free(target);
    remove_tree(dir);
    free(dir);
}

/* A write that fails part-way (RLIMIT_FSIZE, as a full disk) names the file
 * and says why: the JSON writer notices the stream's error flag and must
 * fill the message itself (it once left it empty: "report.json: "). */
Test(report, a_write_failing_part_way_names_the_file_and_the_reason)
{
    struct fixture f;
    fixture_init(&f);
    char *dir = temp_dir();
    char *target = path_in(dir, "report.json");
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 1024; /* report.json is far larger */
    cr_assert(eq(int, setrlimit(RLIMIT_FSIZE, &lim), 0));
    struct plumb_err err = {{0}};
    int rc = report_json(&f.report, target, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    cr_assert(eq(int, rc, -1));
    char want[700];
    snprintf(want, sizeof want, "%s: write failed: ", target);
    cr_assert(eq(int, strncmp(err.msg, want, strlen(want)), 0), "%s", err.msg);
    cr_assert(gt(sz, strlen(err.msg), strlen(want)), "no reason: %s", err.msg);
    cr_assert(not(temp_left(dir)));
    struct stat st;
    cr_assert(eq(int, stat(target, &st), -1));
    free(target);
    remove_tree(dir);
    free(dir);
}
