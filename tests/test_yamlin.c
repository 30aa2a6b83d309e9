/*
 * test_yamlin.c: the strict YAML event reader (harness/yamlin.c).
 *
 * Most messages are pinned through the formats built on it (test_spec.c,
 * test_suite.c); this file covers what those cannot reach: double
 * precision, exact range edges, the multi-line text variant, the helpers'
 * own contracts, file loading at its limit, and closing in every state.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

/* Criterion 2.4.1's cr_assert() stores an int into a 1-bit field, which gcc's
 * -Wconversion flags at every use; the rest of the warnings stay on. */
#pragma GCC diagnostic ignored "-Wconversion"

#include "yamlin.h"

TestSuite(yamlin, .timeout = 30);

/* Open "v: VALUE" and stop at VALUE's event. */
static void at_value(struct yamlin *y, const char *yaml, struct plumb_err *err)
{
    cr_assert(eq(int, yamlin_open(y, yaml, strlen(yaml), "t.yaml", "test", 4096, err), 0), "%s", err->msg);
    cr_assert(eq(int, yamlin_document_start(y), 0), "%s", err->msg);
    cr_assert(eq(int, yamlin_next(y), 0), "%s", err->msg);
    cr_assert(eq(int, yamlin_expect_key(y, NULL), 0), "%s", err->msg);
    cr_assert(eq(int, yamlin_next(y), 0), "%s", err->msg);
}

/* One value each way: the text, whether it reads, and then the value or
 * the message. */
struct num_case {
    const char *yaml;
    int rc;
    double want;       /* when rc == 0 */
    const char *msg;   /* when rc == -1: a part of the message */
};

static const struct num_case double_cases[] = {
    {"v: 1.5", 0, 1.5, NULL},
    {"v: -2e-3", 0, -2e-3, NULL},
    {"v: +.25", 0, 0.25, NULL},
    {"v: 5.", 0, 5.0, NULL},
    {"v: 1E2", 0, 100.0, NULL},
    {"v: 0", 0, 0.0, NULL},
    {"v: 0e-99999", 0, 0.0, NULL},
    {"v: 1.7976931348623157e308", 0, DBL_MAX, NULL},
    {"v: 2.2250738585072014e-308", 0, DBL_MIN, NULL},
    /* below DBL_MIN, rounds up to it: ERANGE on aarch64 (tininess before
     * rounding), not on x86-64; a normal result either way */
    {"v: 2.2250738585072012e-308", 0, DBL_MIN, NULL},
    {"v: 0.1", 0, 0.1, NULL},
    {"v: 1.8e308", -1, 0, "t.yaml:1: v: '1.8e308' is out of range for a double"},
    {"v: 1e-310", -1, 0, "t.yaml:1: v: '1e-310' is out of range for a double"},
    {"v: -1e-99999", -1, 0, "is out of range for a double"},
    {"v: .inf", -1, 0, "t.yaml:1: v: expected a finite decimal number, found '.inf'"},
    {"v: NaN", -1, 0, "expected a finite decimal number, found 'NaN'"},
    {"v: 0x10", -1, 0, "expected a finite decimal number, found '0x10'"},
    {"v: 1_000.0", -1, 0, "expected a finite decimal number"},
    {"v: 1e+", -1, 0, "expected a finite decimal number"},
    {"v: +", -1, 0, "expected a finite decimal number, found '+'"},
    {"v: '1.5'", -1, 0, "t.yaml:1: v: expected a number, found the quoted string '1.5'"},
    {"v: [1.5]", -1, 0, "t.yaml:1: v: expected a number, found a sequence"},
    {"v:", -1, 0, "t.yaml:1: v: expected a finite decimal number, found nothing"},
};

Test(yamlin, doubles_read_the_decimal_grammar_to_the_edges_of_the_range)
{
    for (size_t i = 0; i < sizeof double_cases / sizeof double_cases[0]; i++) {
        const struct num_case *c = &double_cases[i];
        struct yamlin y;
        struct plumb_err err = {{0}};
        at_value(&y, c->yaml, &err);
        double d = -123.0;
        int rc = yamlin_read_double(&y, "v", &d);
        cr_assert(eq(int, rc, c->rc), "%s: %s", c->yaml, err.msg);
        if (rc == 0)
            cr_assert(eq(dbl, d, c->want), "%s", c->yaml);
        else
            cr_assert(ne(ptr, strstr(err.msg, c->msg), NULL), "%s: '%s' lacks '%s'", c->yaml, err.msg, c->msg);
        yamlin_close(&y);
    }
}

static const struct num_case float_cases[] = {
    {"v: 3.4028234663852886e38", 0, (double)FLT_MAX, NULL},
    {"v: 1.1754943508222875e-38", 0, (double)FLT_MIN, NULL}, /* below, rounds up: see the doubles */
    {"v: -0.0", 0, -0.0, NULL},
    {"v: 0.1", 0, (double)0.1f, NULL},
    {"v: 3.5e38", -1, 0, "t.yaml:1: v: '3.5e38' is out of range for a float"},
    {"v: 1e-39", -1, 0, "t.yaml:1: v: '1e-39' is out of range for a float"},
    {"v: -1e-39", -1, 0, "'-1e-39' is out of range for a float"},
};

Test(yamlin, floats_refuse_overflow_and_subnormals_but_keep_zero)
{
    for (size_t i = 0; i < sizeof float_cases / sizeof float_cases[0]; i++) {
        const struct num_case *c = &float_cases[i];
        struct yamlin y;
        struct plumb_err err = {{0}};
        at_value(&y, c->yaml, &err);
        float f = -123.0f;
        int rc = yamlin_read_float(&y, "v", &f);
        cr_assert(eq(int, rc, c->rc), "%s: %s", c->yaml, err.msg);
        if (rc == 0) {
            cr_assert(eq(flt, f, (float)c->want), "%s", c->yaml);
            cr_assert(eq(int, signbit(f) != 0, signbit(c->want) != 0), "%s: sign", c->yaml);
        } else {
            cr_assert(ne(ptr, strstr(err.msg, c->msg), NULL), "%s: '%s' lacks '%s'", c->yaml, err.msg, c->msg);
        }
        yamlin_close(&y);
    }
}

/* 64 characters are a number; 65 are not, whatever their value. */
Test(yamlin, numbers_are_at_most_64_characters)
{
    char yaml[80] = "v: 1.";
    memset(yaml + 5, '0', 62);
    yaml[67] = '\0';
    struct yamlin y;
    struct plumb_err err;
    double d = 0;
    at_value(&y, yaml, &err);
    cr_assert(eq(int, yamlin_read_double(&y, "v", &d), 0), "%s", err.msg);
    cr_assert(eq(dbl, d, 1.0));
    yamlin_close(&y);
    yaml[67] = '0';
    yaml[68] = '\0';
    at_value(&y, yaml, &err);
    cr_assert(eq(int, yamlin_read_double(&y, "v", &d), -1));
    cr_assert(ne(ptr, strstr(err.msg, "is too long for a number"), NULL), "%s", err.msg);
    yamlin_close(&y);
}

Test(yamlin, doubles_ignore_the_host_locale)
{
    static const char *const locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "C.UTF-8"};
    const char *old = setlocale(LC_NUMERIC, NULL);
    char *saved = old ? strdup(old) : NULL;
    for (size_t i = 0; i < sizeof locales / sizeof locales[0]; i++) {
        if (!setlocale(LC_NUMERIC, locales[i]))
            continue;
        struct yamlin y;
        struct plumb_err err;
        at_value(&y, "v: 2.5e-6", &err);
        double d = 0;
        int rc = yamlin_read_double(&y, "v", &d);
        yamlin_close(&y);
        setlocale(LC_NUMERIC, saved ? saved : "C");
        cr_assert(eq(int, rc, 0), "%s: %s", locales[i], err.msg);
        cr_assert(eq(dbl, d, 2.5e-6));
    }
    free(saved);
}

Test(yamlin, uints_take_their_whole_range_and_nothing_beyond)
{
    static const struct {
        const char *yaml;
        uint64_t min, max;
        int rc;
        uint64_t want;
        const char *msg;
    } cases[] = {
        {"v: 0", 0, 0, 0, 0, NULL},
        {"v: 18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX, NULL},
        {"v: 18446744073709551616", 0, UINT64_MAX, -1, 0, "'18446744073709551616' does not fit in 64 bits"},
        {"v: 7", 7, 7, 0, 7, NULL},
        {"v: 6", 7, 9, -1, 0, "t.yaml:1: v: 6 is out of range, expected 7 to 9"},
        {"v: 10", 7, 9, -1, 0, "10 is out of range, expected 7 to 9"},
        {"v: -0", 0, 9, -1, 0, "-0 is negative, expected 0 to 9"},
        {"v: 00", 0, 9, -1, 0, "expected a decimal integer, found '00'"},
        {"v: 1 000", 0, 9999, -1, 0, "expected an integer, found '1 000'"},
        {"v: -x", 0, 9, -1, 0, "expected an integer, found '-x'"},
        {"v: '7'", 0, 9, -1, 0, "expected an integer, found the quoted string '7'"},
        {"v: |\n  7\n", 0, 9, -1, 0, "expected an integer, found the quoted string '7\\x0a'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct yamlin y;
        struct plumb_err err = {{0}};
        at_value(&y, cases[i].yaml, &err);
        uint64_t u = 12345;
        int rc = yamlin_read_uint(&y, "v", cases[i].min, cases[i].max, &u);
        cr_assert(eq(int, rc, cases[i].rc), "%s: %s", cases[i].yaml, err.msg);
        if (rc == 0)
            cr_assert(eq(u64, u, cases[i].want));
        else
            cr_assert(ne(ptr, strstr(err.msg, cases[i].msg), NULL), "'%s' lacks '%s'", err.msg, cases[i].msg);
        yamlin_close(&y);
    }
}

Test(yamlin, bools_are_plain_true_or_false_only)
{
    static const struct {
        const char *yaml;
        int rc;
        bool want;
    } cases[] = {
        {"v: true", 0, true}, {"v: false", 0, false}, {"v: 'true'", -1, false},
        {"v: TRUE", -1, false}, {"v: on", -1, false}, {"v: \"false\"", -1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct yamlin y;
        struct plumb_err err = {{0}};
        at_value(&y, cases[i].yaml, &err);
        bool b = !cases[i].want;
        int rc = yamlin_read_bool(&y, "v", &b);
        cr_assert(eq(int, rc, cases[i].rc), "%s", cases[i].yaml);
        if (rc == 0)
            cr_assert(eq(int, b, cases[i].want));
        else
            cr_assert(ne(ptr, strstr(err.msg, "t.yaml:1: v: expected true or false, found "), NULL), "%s", err.msg);
        yamlin_close(&y);
    }
}

Test(yamlin, text_limits_are_exact_and_multiline_allows_newline_and_tab_only)
{
    struct yamlin y;
    struct plumb_err err;
    char *s = NULL;
    at_value(&y, "v: abcd", &err);
    cr_assert(eq(int, yamlin_read_text(&y, "v", "a word", 4, &s), 0), "%s", err.msg);
    cr_assert(eq(str, s, "abcd"));
    free(s);
    cr_assert(eq(int, yamlin_read_text(&y, "v", "a word", 3, &s), -1));
    cr_assert(eq(str, err.msg, "t.yaml:1: v: a word is 4 bytes, more than 3"));
    yamlin_close(&y);

    at_value(&y, "v: \"a\\tb\\nc\"", &err);
    cr_assert(eq(int, yamlin_read_text(&y, "v", "a word", 100, &s), -1));
    cr_assert(eq(str, err.msg, "t.yaml:1: v: control character 0x09 in a word"));
    cr_assert(eq(int, yamlin_read_multiline_text(&y, "v", "text", 100, &s), 0), "%s", err.msg);
    cr_assert(eq(str, s, "a\tb\nc"));
    free(s);
    yamlin_close(&y);

    static const char *const refused[] = {"v: \"a\\rb\"", "v: \"a\\0b\"", "v: \"\\e\"", "v: \"\\x7f\""};
    static const char *const want[] = {"0x0d", "0x00", "0x1b", "0x7f"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        at_value(&y, refused[i], &err);
        cr_assert(eq(int, yamlin_read_multiline_text(&y, "v", "text", 100, &s), -1), "%s", refused[i]);
        char msg[64];
        snprintf(msg, sizeof msg, "t.yaml:1: v: control character %s in text", want[i]);
        cr_assert(eq(str, err.msg, msg));
        yamlin_close(&y);
    }

    /* A block scalar keeps its lines; "null" is text once quoted. */
    at_value(&y, "v: |\n  one\n  two\n", &err);
    cr_assert(eq(int, yamlin_read_multiline_text(&y, "v", "text", 100, &s), 0), "%s", err.msg);
    cr_assert(eq(str, s, "one\ntwo\n"));
    free(s);
    yamlin_close(&y);
    at_value(&y, "v: 'null'", &err);
    cr_assert(eq(int, yamlin_read_text(&y, "v", "text", 100, &s), 0), "%s", err.msg);
    cr_assert(eq(str, s, "null"));
    free(s);
    yamlin_close(&y);
    at_value(&y, "v: NULL", &err);
    cr_assert(eq(int, yamlin_read_text(&y, "v", "text", 100, &s), -1));
    cr_assert(eq(str, err.msg, "t.yaml:1: v: expected text, found null"));
    yamlin_close(&y);
}

Test(yamlin, show_escapes_and_cuts_untrusted_bytes)
{
    char out[YAMLIN_SHOW_SIZE];
    cr_assert(eq(str, (char *)yamlin_show(out, "ab\x01\xff", 4), "ab\\x01\\xff"));
    cr_assert(eq(str, (char *)yamlin_show(out, "", 0), ""));
    char worst[1000];
    memset(worst, 0xff, sizeof worst);
    yamlin_show(out, worst, sizeof worst);
    cr_assert(eq(sz, strlen(out), (size_t)(11 * 4 + 3)));
    cr_assert(eq(int, strcmp(out + 44, "..."), 0));
    memset(worst, 'a', sizeof worst);
    yamlin_show(out, worst, sizeof worst);
    cr_assert(eq(sz, strlen(out), (size_t)(41 + 3)));
}

Test(yamlin, fail_formats_path_line_and_key)
{
    struct yamlin y;
    struct plumb_err err;
    cr_assert(eq(int, yamlin_open(&y, "a: 1", 4, "p.yaml", "doc", 100, &err), 0));
    cr_assert(eq(int, yamlin_fail(&y, 3, "k", "r %d", 1), -1));
    cr_assert(eq(str, err.msg, "p.yaml:3: k: r 1"));
    yamlin_fail(&y, 0, "k", "r");
    cr_assert(eq(str, err.msg, "p.yaml: k: r"));
    yamlin_fail(&y, 3, NULL, "r");
    cr_assert(eq(str, err.msg, "p.yaml:3: r"));
    yamlin_fail(&y, 0, NULL, "r");
    cr_assert(eq(str, err.msg, "p.yaml: r"));
    yamlin_close(&y);
    /* Still reports after close; a NULL err is allowed. */
    yamlin_fail(&y, 2, NULL, "late");
    cr_assert(eq(str, err.msg, "p.yaml:2: late"));
    y.err = NULL;
    cr_assert(eq(int, yamlin_fail(&y, 2, NULL, "dropped"), -1));
}

Test(yamlin, open_refuses_input_over_its_limit_and_close_is_safe_everywhere)
{
    struct yamlin y;
    struct plumb_err err;
    cr_assert(eq(int, yamlin_open(&y, "a: 12", 5, "p.yaml", "policy", 4, &err), -1));
    cr_assert(eq(str, err.msg, "p.yaml: policy is 5 bytes, more than the 4-byte limit"));
    yamlin_close(&y);
    yamlin_close(&y);

    memset(&y, 0, sizeof y);
    yamlin_close(&y);
    yamlin_close(NULL);

    cr_assert(eq(int, yamlin_open(&y, NULL, 0, NULL, NULL, 0, &err), 0));
    cr_assert(eq(int, yamlin_document_start(&y), -1));
    cr_assert(eq(str, err.msg, "input: empty document, expected a mapping of keys"));
    yamlin_close(&y);
    cr_assert(eq(int, yamlin_next(&y), -1));
    cr_assert(ne(ptr, strstr(err.msg, "closed"), NULL), "%s", err.msg);
    yamlin_close(&y);
}

Test(yamlin, key_helpers_find_refuse_and_track_duplicates)
{
    static const char yaml[] = "alpha: 1\n\"be\\0ta\": 2\nalpha: 3\n";
    static const char *const names[] = {"alpha", "beta"};
    struct yamlin y;
    struct plumb_err err;
    cr_assert(eq(int, yamlin_open(&y, yaml, sizeof yaml - 1, "k.yaml", "doc", 100, &err), 0));
    cr_assert(eq(int, yamlin_document_start(&y), 0));
    int lines[2] = {0, 0};

    cr_assert(eq(int, yamlin_next(&y), 0));
    cr_assert(eq(int, yamlin_key_index(&y, names, 2), 0));
    cr_assert(eq(int, yamlin_once(&y, "alpha", &lines[0]), 0));
    cr_assert(eq(int, lines[0], 1));
    cr_assert(eq(int, yamlin_next(&y), 0));

    /* A NUL inside a key never matches a C string, and shows escaped. */
    cr_assert(eq(int, yamlin_next(&y), 0));
    cr_assert(eq(int, yamlin_key_index(&y, names, 2), -1));
    cr_assert(eq(int, yamlin_scalar_is(&y, "be"), 0));
    cr_assert(eq(int, yamlin_unknown_key(&y, "top"), -1));
    cr_assert(eq(str, err.msg, "k.yaml:2: top: unknown key 'be\\x00ta'"));
    cr_assert(eq(int, yamlin_next(&y), 0));

    cr_assert(eq(int, yamlin_next(&y), 0));
    cr_assert(eq(int, yamlin_key_index(&y, names, 2), 0));
    cr_assert(eq(int, yamlin_once(&y, "alpha", &lines[0]), -1));
    cr_assert(eq(str, err.msg, "k.yaml:3: alpha: duplicate key (first at line 1)"));
    yamlin_close(&y);
}

Test(yamlin, expect_helpers_name_what_was_found)
{
    struct yamlin y;
    struct plumb_err err;
    at_value(&y, "v: [1]", &err);
    cr_assert(eq(int, yamlin_expect_sequence_start(&y, "v", "a list"), 0));
    cr_assert(eq(int, yamlin_expect_mapping_start(&y, "v", "a table"), -1));
    cr_assert(eq(str, err.msg, "t.yaml:1: v: expected a table, found a sequence"));
    cr_assert(eq(int, yamlin_next(&y), 0));
    cr_assert(eq(int, yamlin_expect_key(&y, "v"), 0));
    cr_assert(eq(int, yamlin_next(&y), 0));
    cr_assert(eq(int, yamlin_expect_key(&y, "v"), -1));
    cr_assert(eq(str, err.msg, "t.yaml:1: v: expected a key, found the end of a collection"));
    yamlin_close(&y);
}

Test(yamlin, a_utf8_byte_order_mark_is_skipped)
{
    static const char yaml[] = "\xef\xbb\xbf" "a: 1\nb: x\n";
    struct yamlin y;
    struct plumb_err err;
    cr_assert(eq(int, yamlin_open(&y, yaml, sizeof yaml - 1, "b.yaml", "doc", 100, &err), 0));
    cr_assert(eq(int, yamlin_document_start(&y), 0), "%s", err.msg);
    for (int i = 0; i < 3; i++)
        cr_assert(eq(int, yamlin_next(&y), 0), "%s", err.msg);
    cr_assert(eq(int, yamlin_scalar_is(&y, "b"), 1));
    cr_assert(eq(int, yamlin_next(&y), 0), "%s", err.msg);
    uint64_t u;
    cr_assert(eq(int, yamlin_read_uint(&y, "b", 0, 9, &u), -1));
    cr_assert(eq(str, err.msg, "b.yaml:2: b: expected an integer, found 'x'"));
    cr_assert(eq(int, yamlin_next(&y), 0));
    cr_assert(eq(int, yamlin_document_end(&y), 0), "%s", err.msg);
    yamlin_close(&y);
}

Test(yamlin, reader_errors_count_lines_to_the_bad_byte)
{
    static const char yaml[] = "a: 1\nb: 2\nc: \xc3\x28\n";
    struct yamlin y;
    struct plumb_err err;
    cr_assert(eq(int, yamlin_open(&y, yaml, sizeof yaml - 1, "r.yaml", "doc", 100, &err), 0));
    int rc = yamlin_document_start(&y);
    while (rc == 0)
        rc = yamlin_next(&y);
    cr_assert(ne(ptr, strstr(err.msg, "r.yaml:3: invalid trailing UTF-8 octet (byte 0x28 at offset"), NULL),
              "%s", err.msg);
    yamlin_close(&y);
}

/* Write len bytes to a fresh temporary file; returns its path (static). */
static const char *temp_file(const char *data, size_t len)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/plumb-test-yamlin-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(ge(int, fd, 0));
    FILE *f = fdopen(fd, "wb");
    cr_assert(ne(ptr, f, NULL));
    cr_assert(eq(sz, fwrite(data, 1, len, f), len));
    fclose(f);
    return path;
}

Test(yamlin, load_file_reads_up_to_its_limit_exactly)
{
    const char *path = temp_file("12345678", 8);
    char *buf = NULL;
    size_t len = 0;
    struct plumb_err err;
    cr_assert(eq(int, yamlin_load_file(path, 8, &buf, &len, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, len, (size_t)8));
    cr_assert(eq(int, memcmp(buf, "12345678", 8), 0));
    free(buf);
    cr_assert(eq(int, yamlin_load_file(path, 7, &buf, &len, &err), -1));
    char want[128];
    snprintf(want, sizeof want, "%s: larger than the 7-byte limit", path);
    cr_assert(eq(str, err.msg, want));
    cr_assert(eq(ptr, buf, NULL));
    cr_assert(eq(sz, len, (size_t)0));
    unlink(path);

    path = temp_file("", 0);
    cr_assert(eq(int, yamlin_load_file(path, 8, &buf, &len, &err), 0), "%s", err.msg);
    cr_assert(ne(ptr, buf, NULL));
    cr_assert(eq(sz, len, (size_t)0));
    free(buf);
    unlink(path);

    cr_assert(eq(int, yamlin_load_file("/nonexistent/plumb/y.yaml", 8, &buf, &len, &err), -1));
    cr_assert(eq(str, err.msg, "/nonexistent/plumb/y.yaml: cannot open: No such file or directory"));
    cr_assert(eq(int, yamlin_load_file("/tmp", 8, &buf, &len, &err), -1));
    cr_assert(ne(ptr, strstr(err.msg, "/tmp: cannot read: "), NULL), "%s", err.msg);
    cr_assert(eq(ptr, buf, NULL));
}
