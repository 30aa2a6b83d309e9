/*
 * test_suite.c: reading suite files (harness/suite.c).
 *
 * Valid suites are read field by field; every refused input is checked for
 * the one-line message "FILE:LINE: key: reason" it must give; the suite
 * plumb ships is loaded and held against its fixtures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

/* Criterion 2.4.1's cr_assert() stores an int into a 1-bit field, which gcc's
 * -Wconversion flags at every use; the rest of the warnings stay on. */
#pragma GCC diagnostic ignored "-Wconversion"

#include "spec.h"
#include "suite.h"

TestSuite(suite, .timeout = 30);

/* Every form a case can take. Line numbers matter to the tests below. */
static const char full_suite[] =
    "# a comment line\n"                                                  /* 1 */
    "golden_dir: ../golden\n"                                             /* 2 */
    "cases:\n"                                                            /* 3 */
    "  - name: a-1.x_y\n"                                                 /* 4 */
    "    fixture: gqa.yaml\n"                                             /* 5 */
    "    policy: policies/exact.yaml\n"                                   /* 6 */
    "    tokens: [1, 0, 2147483647]\n"                                    /* 7 */
    "  - name: \"b\"\n"                                                   /* 8 */
    "    fixture: /abs/mha.yaml\n"                                        /* 9 */
    "    tokens:\n"                                                       /* 10 */
    "      - 1\n"                                                         /* 11 */
    "      - 42\n"                                                        /* 12 */
    "    policy: 'p q.yaml'\n"                                            /* 13 */
    "  - {name: c, fixture: x.yaml, policy: p.yaml, prompt: \"Hello, world.\"}\n" /* 14 */
    "  - prompt: |\n"                                                     /* 15 */
    "      Two lines,\n"                                                  /* 16 */
    "      \tthe second with a tab.\n"                                    /* 17 */
    "    name: d\n"                                                       /* 18 */
    "    fixture: sub/dir/m.yaml\n"                                       /* 19 */
    "    policy: ../p.yaml\n"                                             /* 20 */
    "  - name: e\n"                                                       /* 21 */
    "    fixture: f.yaml\n"                                               /* 22 */
    "    policy: p.yaml\n"                                                /* 23 */
    "    prompt: A plain scalar\n"                                        /* 24 */
    "      folded over two lines.\n";                                     /* 25 */

static int parse(struct suite *s, const char *yaml, struct plumb_err *err)
{
    return suite_parse(s, yaml, strlen(yaml), "dir/suite.yaml", err);
}

/* The suite must be refused with a message containing `want`, on one line,
 * and the struct left zeroed. */
static void expect_error(const char *yaml, size_t len, const char *want)
{
    struct suite s;
    struct plumb_err err = {{0}};
    int rc = suite_parse(&s, yaml, len, "s.yaml", &err);
    cr_assert(eq(int, rc, -1), "accepted:\n%s", yaml);
    cr_assert(ne(ptr, strstr(err.msg, want), NULL), "message '%s' lacks '%s'", err.msg, want);
    cr_assert(eq(ptr, strchr(err.msg, '\n'), NULL), "message has a newline");
    cr_assert(eq(ptr, s.path, NULL));
    cr_assert(eq(ptr, s.golden_dir, NULL));
    cr_assert(eq(ptr, s.cases, NULL));
    cr_assert(eq(sz, s.n_cases, (size_t)0));
    suite_free(&s);
}

static void expect_error_str(const char *yaml, const char *want)
{
    expect_error(yaml, strlen(yaml), want);
}

Test(suite, full_suite_reads_every_field)
{
    struct suite s;
    struct plumb_err err;
    cr_assert(eq(int, parse(&s, full_suite, &err), 0), "%s", err.msg);
    cr_assert(eq(str, s.path, "dir/suite.yaml"));
    cr_assert(eq(str, s.golden_dir, "dir/../golden"));
    cr_assert(eq(sz, s.n_cases, (size_t)5));

    const struct suite_case *c = &s.cases[0];
    cr_assert(eq(str, c->name, "a-1.x_y"));
    cr_assert(eq(str, c->fixture, "dir/gqa.yaml"));
    cr_assert(eq(str, c->policy, "dir/policies/exact.yaml"));
    cr_assert(eq(i64, c->n_tokens, 3));
    cr_assert(eq(i32, c->tokens[0], 1));
    cr_assert(eq(i32, c->tokens[1], 0));
    cr_assert(eq(i32, c->tokens[2], 2147483647));
    cr_assert(eq(ptr, c->prompt, NULL));
    cr_assert(eq(int, c->line, 4));

    c = &s.cases[1];
    cr_assert(eq(str, c->name, "b"));
    cr_assert(eq(str, c->fixture, "/abs/mha.yaml"));
    cr_assert(eq(str, c->policy, "dir/p q.yaml"));
    cr_assert(eq(i64, c->n_tokens, 2));
    cr_assert(eq(i32, c->tokens[0], 1));
    cr_assert(eq(i32, c->tokens[1], 42));
    cr_assert(eq(ptr, c->prompt, NULL));
    cr_assert(eq(int, c->line, 8));

    c = &s.cases[2];
    cr_assert(eq(str, c->name, "c"));
    cr_assert(eq(str, c->fixture, "dir/x.yaml"));
    cr_assert(eq(str, c->policy, "dir/p.yaml"));
    cr_assert(eq(str, c->prompt, "Hello, world."));
    cr_assert(eq(ptr, c->tokens, NULL));
    cr_assert(eq(i64, c->n_tokens, 0));
    cr_assert(eq(int, c->line, 14));

    c = &s.cases[3];
    cr_assert(eq(str, c->name, "d"));
    cr_assert(eq(str, c->fixture, "dir/sub/dir/m.yaml"));
    cr_assert(eq(str, c->policy, "dir/../p.yaml"));
    cr_assert(eq(str, c->prompt, "Two lines,\n\tthe second with a tab.\n"));
    cr_assert(eq(ptr, c->tokens, NULL));
    cr_assert(eq(int, c->line, 15));

    c = &s.cases[4];
    cr_assert(eq(str, c->prompt, "A plain scalar folded over two lines."));
    suite_free(&s);
    cr_assert(eq(ptr, s.cases, NULL));
    cr_assert(eq(sz, s.n_cases, (size_t)0));
}

/* The example at the top of suite.h, line for line. */
static const char header_example[] =
    "# fixtures/suite.yaml (paths are relative to this file's folder)\n"
    "golden_dir: ../golden          # where each case's golden lives (required)\n"
    "cases:\n"
    "  - name: gqa-short            # [a-z0-9._-]+, unique; golden: <name>.gguf.gz\n"
    "    fixture: gqa.yaml          # a model spec (see spec.h)\n"
    "    tokens: [1, 17, 42, 7]     # token ids ...\n"
    "    policy: policies/exact.yaml\n"
    "  - name: gqa-long\n"
    "    fixture: gqa.yaml\n"
    "    prompt: \"Some text\"        # ... or text, tokenized by the fixture's\n"
    "    policy: policies/exact.yaml  # tokenizer with BOS\n";

Test(suite, header_example_is_valid)
{
    struct suite s;
    struct plumb_err err;
    cr_assert(eq(int, suite_parse(&s, header_example, strlen(header_example), "fixtures/suite.yaml", &err), 0),
              "%s", err.msg);
    cr_assert(eq(str, s.golden_dir, "fixtures/../golden"));
    cr_assert(eq(sz, s.n_cases, (size_t)2));
    cr_assert(eq(str, s.cases[0].name, "gqa-short"));
    cr_assert(eq(str, s.cases[0].fixture, "fixtures/gqa.yaml"));
    cr_assert(eq(str, s.cases[0].policy, "fixtures/policies/exact.yaml"));
    cr_assert(eq(i64, s.cases[0].n_tokens, 4));
    cr_assert(eq(i32, s.cases[0].tokens[3], 7));
    cr_assert(eq(str, s.cases[1].name, "gqa-long"));
    cr_assert(eq(str, s.cases[1].prompt, "Some text"));
    suite_free(&s);
}

Test(suite, a_path_without_a_folder_resolves_in_the_current_one)
{
    static const char yaml[] =
        "golden_dir: g\ncases: [{name: a, fixture: f.yaml, policy: /p.yaml, tokens: [3]}]\n";
    struct suite s;
    struct plumb_err err;
    cr_assert(eq(int, suite_parse(&s, yaml, strlen(yaml), "suite.yaml", &err), 0), "%s", err.msg);
    cr_assert(eq(str, s.golden_dir, "g"));
    cr_assert(eq(str, s.cases[0].fixture, "f.yaml"));
    cr_assert(eq(str, s.cases[0].policy, "/p.yaml"));
    suite_free(&s);
}

Test(suite, resolve_joins_the_suite_folder_and_keeps_absolute_paths)
{
    static const struct {
        const char *base, *rel, *want;
    } cases[] = {
        {"a/b/suite.yaml", "x.yaml", "a/b/x.yaml"},
        {"suite.yaml", "x.yaml", "x.yaml"},
        {"/suite.yaml", "x.yaml", "/x.yaml"},
        {"/etc/plumb/suite.yaml", "../golden", "/etc/plumb/../golden"},
        {"a/b/suite.yaml", "/abs/x.yaml", "/abs/x.yaml"},
        {"suite.yaml", "/abs/x.yaml", "/abs/x.yaml"},
        {"./suite.yaml", "x", "./x"},
        {"a//suite.yaml", "x", "a//x"},
        {"a/b/", "x", "a/b/x"},
        {"a/b/suite.yaml", "sub/y.yaml", "a/b/sub/y.yaml"},
        {NULL, "x", "x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = suite_resolve(cases[i].base, cases[i].rel);
        cr_assert(ne(ptr, got, NULL));
        cr_assert(eq(str, got, (char *)cases[i].want), "case %zu", i);
        free(got);
    }
    cr_assert(eq(ptr, suite_resolve("a/s.yaml", NULL), NULL));
}

/* Two lines of header, then one valid case on lines 3-6. */
#define HEAD "golden_dir: g\ncases:\n"
#define CASE_A "  - name: a\n    fixture: f.yaml\n    policy: p.yaml\n    tokens: [1]\n"

/* Wrong shapes, types and values, one case each. */
static const struct bad_value {
    const char *yaml;
    const char *want;
} bad_values[] = {
    /* the top level */
    {"golden_dir: g\ngolden: x\n", "s.yaml:2: unknown key 'golden'"},
    {HEAD CASE_A "golden_dir: h\n", "s.yaml:7: golden_dir: duplicate key (first at line 1)"},
    {HEAD CASE_A "cases: []\n", "s.yaml:7: cases: duplicate key (first at line 2)"},
    {"cases:\n" CASE_A, "s.yaml: missing required key 'golden_dir'"},
    {"golden_dir: g\n", "s.yaml: missing required key 'cases'"},
    {"golden_dir: [a]\n", "s.yaml:1: golden_dir: expected a path, found a sequence"},
    {"golden_dir:\n", "s.yaml:1: golden_dir: expected a path, found nothing"},
    {"golden_dir: ''\n", "s.yaml:1: golden_dir: expected a path, found an empty string"},
    {"golden_dir: \"a\\nb\"\n", "s.yaml:1: golden_dir: control character 0x0a in a path"},
    {"hello\n", "s.yaml:1: expected a mapping of keys at the top level, found 'hello'"},
    {"- a\n", "s.yaml:1: expected a mapping of keys at the top level, found a sequence"},
    {"? [a]\n: b\n", "s.yaml:1: expected a key, found a sequence"},
    {HEAD CASE_A "---\n" HEAD CASE_A, "s.yaml:7: only one YAML document is allowed"},
    {"!!map\ngolden_dir: g\n", "s.yaml:1: tags are not supported (found tag:yaml.org,2002:map)"},
    /* cases */
    {HEAD, "s.yaml:2: cases: expected a sequence of cases, found nothing"},
    {"golden_dir: g\ncases: []\n", "s.yaml:2: cases: expected at least one case, found an empty sequence"},
    {"golden_dir: g\ncases: {a: 1}\n", "s.yaml:2: cases: expected a sequence of cases, found a mapping"},
    {"golden_dir: g\ncases: x\n", "s.yaml:2: cases: expected a sequence of cases, found 'x'"},
    {HEAD "  - x\n",
     "s.yaml:3: cases[0]: expected a mapping of name, fixture, policy and tokens or prompt, found 'x'"},
    {HEAD CASE_A "  - [a]\n", "s.yaml:7: cases[1]: expected a mapping of name, fixture, policy"},
    {HEAD CASE_A "  - name: b\n    fixtures: f\n", "s.yaml:8: cases[1]: unknown key 'fixtures'"},
    {HEAD "  - ? [a]\n    : b\n", "s.yaml:3: cases[0]: expected a key, found a sequence"},
    {HEAD "  - name: a\n    name: b\n", "s.yaml:4: name: duplicate key (first at line 3)"},
    {HEAD "  - fixture: f\n    policy: p\n    tokens: [1]\n",
     "s.yaml:3: cases[0]: missing required key 'name'"},
    {HEAD "  - name: a\n    policy: p\n    tokens: [1]\n",
     "s.yaml:3: cases[0]: missing required key 'fixture'"},
    {HEAD CASE_A "  - {name: b, fixture: f, tokens: [1]}\n",
     "s.yaml:7: cases[1]: missing required key 'policy'"},
    {HEAD "  - name: a\n    fixture: f\n    policy: p\n",
     "s.yaml:3: cases[0]: missing tokens or prompt (one is required)"},
    {HEAD CASE_A "    prompt: hi\n",
     "s.yaml:7: prompt: a case has tokens or a prompt, not both (tokens at line 6)"},
    {HEAD "  - prompt: hi\n    tokens: [1]\n",
     "s.yaml:4: tokens: a case has tokens or a prompt, not both (prompt at line 3)"},
    /* name */
    {HEAD "  - name: Gqa\n", "s.yaml:3: name: 'Gqa' has a character outside [a-z0-9._-] at byte 0"},
    {HEAD "  - name: a/b\n", "s.yaml:3: name: 'a/b' has a character outside [a-z0-9._-] at byte 1"},
    {HEAD "  - name: 'a b'\n", "s.yaml:3: name: 'a b' has a character outside [a-z0-9._-] at byte 1"},
    {HEAD "  - name: \"\\u00e9\"\n",
     "s.yaml:3: name: '\\xc3\\xa9' has a character outside [a-z0-9._-] at byte 0"},
    {HEAD "  - name:\n", "s.yaml:3: name: expected a case name, found nothing"},
    {HEAD "  - name: ~\n", "s.yaml:3: name: expected a case name, found null"},
    {HEAD "  - name: ''\n", "s.yaml:3: name: expected a case name, found an empty string"},
    {HEAD "  - name: [a]\n", "s.yaml:3: name: expected a case name, found a sequence"},
    {HEAD "  - name: \"a\\0b\"\n", "s.yaml:3: name: control character 0x00 in a case name"},
    {HEAD CASE_A CASE_A, "s.yaml:7: name: duplicate case name 'a' (first at line 3)"},
    {HEAD "  - {fixture: f, name: x}\n  - name: y\n  - {policy: p, name: x}\n",
     "s.yaml:3: cases[0]: missing required key 'policy'"},
    /* fixture and policy */
    {HEAD "  - name: a\n    fixture: [f]\n", "s.yaml:4: fixture: expected a path, found a sequence"},
    {HEAD "  - name: a\n    fixture: {f: 1}\n", "s.yaml:4: fixture: expected a path, found a mapping"},
    {HEAD "  - name: a\n    policy: ''\n", "s.yaml:4: policy: expected a path, found an empty string"},
    {HEAD "  - name: a\n    policy: \"a\\tb\"\n", "s.yaml:4: policy: control character 0x09 in a path"},
    /* tokens */
    {HEAD "  - name: a\n    tokens: 5\n", "s.yaml:4: tokens: expected a sequence of token ids, found '5'"},
    {HEAD "  - name: a\n    tokens:\n", "s.yaml:4: tokens: expected a sequence of token ids, found nothing"},
    {HEAD "  - name: a\n    tokens: {a: 1}\n",
     "s.yaml:4: tokens: expected a sequence of token ids, found a mapping"},
    {HEAD "  - name: a\n    tokens: []\n",
     "s.yaml:4: tokens: expected at least one token id, found an empty sequence"},
    {HEAD "  - name: a\n    tokens: [1, -2]\n",
     "s.yaml:4: tokens[1]: -2 is negative, expected 0 to 2147483647"},
    {HEAD "  - name: a\n    tokens: [2147483648]\n",
     "s.yaml:4: tokens[0]: 2147483648 is out of range, expected 0 to 2147483647"},
    {HEAD "  - name: a\n    tokens: [18446744073709551615]\n",
     "s.yaml:4: tokens[0]: 18446744073709551615 is out of range, expected 0 to 2147483647"},
    {HEAD "  - name: a\n    tokens: [99999999999999999999999]\n",
     "s.yaml:4: tokens[0]: '99999999999999999999999' does not fit in 64 bits"},
    {HEAD "  - name: a\n    tokens: [1, \"2\"]\n",
     "s.yaml:4: tokens[1]: expected an integer, found the quoted string '2'"},
    {HEAD "  - name: a\n    tokens: [01]\n", "s.yaml:4: tokens[0]: expected a decimal integer, found '01'"},
    {HEAD "  - name: a\n    tokens: [1.0]\n", "s.yaml:4: tokens[0]: expected an integer, found '1.0'"},
    {HEAD "  - name: a\n    tokens: [0x1]\n", "s.yaml:4: tokens[0]: expected an integer, found '0x1'"},
    {HEAD "  - name: a\n    tokens: [+1]\n", "s.yaml:4: tokens[0]: expected an integer, found '+1'"},
    {HEAD "  - name: a\n    tokens: [1, , 2]\n", "s.yaml:4: "},
    {HEAD "  - name: a\n    tokens: [[1]]\n", "s.yaml:4: tokens[0]: expected an integer, found a sequence"},
    {HEAD "  - name: a\n    tokens: [{a: 1}]\n", "s.yaml:4: tokens[0]: expected an integer, found a mapping"},
    {HEAD "  - name: a\n    tokens:\n      - 1\n      - 2\n      - x\n",
     "s.yaml:7: tokens[2]: expected an integer, found 'x'"},
    {HEAD "  - name: a\n    tokens: [!!int 1]\n",
     "s.yaml:4: tags are not supported (found tag:yaml.org,2002:int)"},
    /* prompt */
    {HEAD "  - name: a\n    prompt:\n", "s.yaml:4: prompt: expected text, found nothing"},
    {HEAD "  - name: a\n    prompt: null\n", "s.yaml:4: prompt: expected text, found null"},
    {HEAD "  - name: a\n    prompt: \"\"\n", "s.yaml:4: prompt: expected text, found an empty string"},
    {HEAD "  - name: a\n    prompt: [a]\n", "s.yaml:4: prompt: expected text, found a sequence"},
    {HEAD "  - name: a\n    prompt: \"a\\0b\"\n", "s.yaml:4: prompt: control character 0x00 in text"},
    {HEAD "  - name: a\n    prompt: \"a\\rb\"\n", "s.yaml:4: prompt: control character 0x0d in text"},
    {HEAD "  - name: a\n    prompt: \"a\\x7fb\"\n", "s.yaml:4: prompt: control character 0x7f in text"},
    /* syntax */
    {HEAD "  - name: 'a\n", "s.yaml:4: found unexpected end of stream (while scanning a quoted scalar at line 3)"},
    {"golden_dir: g\n  cases: 1\n", "s.yaml:2: mapping values are not allowed"},
};

Test(suite, bad_values_name_line_key_and_what_was_found)
{
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
        expect_error_str(bad_values[i].yaml, bad_values[i].want);
}

Test(suite, the_tag_on_a_tokens_sequence_is_named)
{
    expect_error_str(HEAD "  - name: a\n    tokens: !!seq [1]\n",
                     "s.yaml:4: tags are not supported (found tag:yaml.org,2002:seq)");
}

/* Names and prompts at their byte limits pass; one byte more fails. */
Test(suite, length_limits_are_exact)
{
    char name[102];
    memset(name, 'n', sizeof name);
    char *prompt = malloc(65538);
    cr_assert(ne(ptr, prompt, NULL));
    memset(prompt, 'p', 65538);
    size_t cap = 70000 + 200;
    char *yaml = malloc(cap);
    cr_assert(ne(ptr, yaml, NULL));

    snprintf(yaml, cap, HEAD "  - {name: %.100s, fixture: f, policy: p, prompt: %.65536s}\n", name, prompt);
    struct suite s;
    struct plumb_err err;
    cr_assert(eq(int, parse(&s, yaml, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, strlen(s.cases[0].name), (size_t)100));
    cr_assert(eq(sz, strlen(s.cases[0].prompt), (size_t)65536));
    suite_free(&s);

    snprintf(yaml, cap, HEAD "  - {name: %.101s, fixture: f, policy: p, prompt: x}\n", name);
    expect_error_str(yaml, "s.yaml:3: name: a case name is 101 bytes, more than 100");
    snprintf(yaml, cap, HEAD "  - {name: a, fixture: f, policy: p, prompt: %.65537s}\n", prompt);
    expect_error_str(yaml, "s.yaml:3: prompt: text is 65537 bytes, more than 65536");
    free(prompt);

    char *path = malloc(4098);
    cr_assert(ne(ptr, path, NULL));
    memset(path, 'd', 4097);
    path[4097] = '\0';
    snprintf(yaml, cap, HEAD "  - {name: a, fixture: %.4096s, policy: p, tokens: [1]}\n", path);
    cr_assert(eq(int, parse(&s, yaml, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, strlen(s.cases[0].fixture), (size_t)4096 + strlen("dir/")));
    suite_free(&s);
    snprintf(yaml, cap, HEAD "  - {name: a, fixture: %s, policy: p, tokens: [1]}\n", path);
    expect_error_str(yaml, "s.yaml:3: fixture: a path is 4097 bytes, more than 4096");
    free(path);
    free(yaml);
}

Test(suite, aliases_and_anchors_are_refused)
{
    expect_error_str(HEAD "  - name: &n a\n", "s.yaml:3: anchors and aliases are not supported (found &n)");
    expect_error_str(HEAD "  - name: a\n    fixture: *n\n", "s.yaml:4: aliases are not supported (found *n)");
    expect_error_str("golden_dir: g\ncases: &c\n" CASE_A, "s.yaml:2: anchors and aliases are not supported (found &c)");
    expect_error_str(HEAD "  - &c {name: a}\n", "s.yaml:3: anchors and aliases are not supported (found &c)");
}

/* A billion-laughs expansion inside a case: refused at its first anchor,
 * long before any expansion (the suite's timeout would catch a slow path). */
Test(suite, alias_bomb_fails_fast)
{
    static const char bomb[] =
        HEAD
        "  - name: a\n"
        "    fixture: f\n"
        "    tokens: &a [1,1,1,1,1,1,1,1,1]\n"
        "    policy: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "    prompt: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "    x: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "    y: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "    z: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n";
    expect_error_str(bomb, "s.yaml:5: anchors and aliases are not supported (found &a)");
    static const char classic[] =
        "golden_dir: &lol1 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        "cases: &lol2 [*lol1,*lol1,*lol1,*lol1,*lol1,*lol1,*lol1,*lol1,*lol1]\n";
    expect_error_str(classic, "s.yaml:1: anchors and aliases are not supported (found &lol1)");
}

/* Nesting is refused at the first level the format does not have, however
 * deep the input goes. */
Test(suite, deep_nesting_is_refused_at_the_first_level)
{
    size_t depth = 200000;
    const char *prefix = HEAD "  - name: a\n    tokens: ";
    size_t plen = strlen(prefix);
    char *yaml = malloc(plen + 2 * depth + 2);
    cr_assert(ne(ptr, yaml, NULL));
    memcpy(yaml, prefix, plen);
    memset(yaml + plen, '[', depth);
    memset(yaml + plen + depth, ']', depth);
    yaml[plen + 2 * depth] = '\n';
    yaml[plen + 2 * depth + 1] = '\0';
    expect_error_str(yaml, "s.yaml:4: tokens[0]: expected an integer, found a sequence");

    prefix = "golden_dir: g\ncases: ";
    plen = strlen(prefix);
    memcpy(yaml, prefix, plen);
    memset(yaml + plen, '[', depth);
    memset(yaml + plen + depth, ']', depth);
    yaml[plen + 2 * depth] = '\0';
    expect_error_str(yaml, "s.yaml:2: cases[0]: expected a mapping of name, fixture, policy and "
                           "tokens or prompt, found a sequence");

    memset(yaml, '{', depth);
    memset(yaml + depth, '}', depth);
    yaml[2 * depth] = '\0';
    expect_error_str(yaml, "s.yaml:1: expected a key, found a mapping");
    free(yaml);

    expect_error_str(HEAD "  - name: a\n    fixture:\n      a:\n        b: c\n",
                     "s.yaml:5: fixture: expected a path, found a mapping");
}

Test(suite, huge_numbers_are_refused_by_name)
{
    /* 100,000 digits: strtoull saturates, the message shows a prefix. */
    size_t digits = 100000;
    const char *prefix = HEAD "  - name: a\n    tokens: [";
    size_t plen = strlen(prefix);
    char *yaml = malloc(plen + digits + 3);
    cr_assert(ne(ptr, yaml, NULL));
    memcpy(yaml, prefix, plen);
    memset(yaml + plen, '9', digits);
    memcpy(yaml + plen + digits, "]\n", 3);
    expect_error_str(yaml, "s.yaml:4: tokens[0]: '99999999999999999999999999999999999999999...' does not fit in 64 bits");
    free(yaml);
    expect_error_str(HEAD "  - name: a\n    tokens: [4294967296]\n",
                     "s.yaml:4: tokens[0]: 4294967296 is out of range, expected 0 to 2147483647");
    expect_error_str(HEAD "  - name: a\n    tokens: [1e9]\n", "s.yaml:4: tokens[0]: expected an integer, found '1e9'");
}

Test(suite, empty_input_is_refused)
{
    expect_error(NULL, 0, "s.yaml: empty suite, expected a mapping of keys");
    expect_error_str("", "s.yaml: empty suite, expected a mapping of keys");
    expect_error_str("# only a comment\n\n", "s.yaml: empty suite");
    expect_error_str("---\n", "s.yaml:2: expected a mapping of keys at the top level, found nothing");
    expect_error_str("{}\n", "s.yaml: missing required key 'golden_dir'");
}

Test(suite, binary_garbage_and_utf16_give_a_yaml_error_with_its_line)
{
    static const char garbage[] = "golden_dir: g\ncases:\n\xff\xfe\x00\x01\x80garbage";
    expect_error(garbage, sizeof garbage - 1, "s.yaml:3: ");
    expect_error(garbage, sizeof garbage - 1, "byte 0xff");
    static const char utf16[] = "\xff\xfeg\x00o\x00";
    expect_error(utf16, sizeof utf16 - 1, "s.yaml:1: ");
}

Test(suite, input_over_one_mebibyte_is_refused)
{
    size_t len = (1u << 20) + 1;
    char *big = malloc(len);
    cr_assert(ne(ptr, big, NULL));
    memset(big, '#', len);
    expect_error(big, len, "s.yaml: suite is 1048577 bytes, more than the 1048576-byte limit");
    free(big);
}

/* Many cases: duplicates are found by the name set (linear time), also
 * after it has grown several times, and against the right first line. */
Test(suite, many_cases_and_a_late_duplicate)
{
    size_t n = 15000;
    size_t cap = 64 + n * 64;
    char *yaml = malloc(cap);
    cr_assert(ne(ptr, yaml, NULL));
    size_t o = (size_t)snprintf(yaml, cap, HEAD);
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(yaml + o, cap - o, "  - {name: c%zu, fixture: f, policy: p, tokens: [%zu]}\n",
                              i, i);
    struct suite s;
    struct plumb_err err;
    cr_assert(eq(int, parse(&s, yaml, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, s.n_cases, n));
    for (size_t i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof want, "c%zu", i);
        cr_assert(eq(str, s.cases[i].name, want));
        cr_assert(eq(i32, s.cases[i].tokens[0], (int32_t)i));
        cr_assert(eq(int, s.cases[i].line, (int)i + 3));
    }
    suite_free(&s);
    snprintf(yaml + o, cap - o, "  - {name: c1234, fixture: f, policy: p, tokens: [1]}\n");
    char want[128];
    snprintf(want, sizeof want, "s.yaml:%zu: name: duplicate case name 'c1234' (first at line 1237)", n + 3);
    expect_error_str(yaml, want);
    free(yaml);
}

/* Write text to a fresh folder's suite.yaml; returns the folder. */
static char *write_suite(const char *text, size_t len, char *path, size_t path_size)
{
    char tmpl[] = "/tmp/plumb-test-suite-XXXXXX";
    char *dir = mkdtemp(tmpl);
    cr_assert(ne(ptr, dir, NULL));
    snprintf(path, path_size, "%s/suite.yaml", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(ne(ptr, f, NULL));
    cr_assert(eq(sz, fwrite(text, 1, len, f), len));
    fclose(f);
    return strdup(dir);
}

Test(suite, load_resolves_paths_against_the_file_folder)
{
    char path[256];
    char *dir = write_suite(full_suite, strlen(full_suite), path, sizeof path);
    struct suite s;
    struct plumb_err err;
    cr_assert(eq(int, suite_load(&s, path, &err), 0), "%s", err.msg);
    char want[512];
    cr_assert(eq(str, s.path, path));
    snprintf(want, sizeof want, "%s/../golden", dir);
    cr_assert(eq(str, s.golden_dir, want));
    snprintf(want, sizeof want, "%s/gqa.yaml", dir);
    cr_assert(eq(str, s.cases[0].fixture, want));
    cr_assert(eq(str, s.cases[1].fixture, "/abs/mha.yaml"));
    suite_free(&s);

    /* An error through load names the path given. */
    static const char bad[] = HEAD CASE_A "  - name: a\n";
    FILE *f = fopen(path, "wb");
    cr_assert(ne(ptr, f, NULL));
    fputs(bad, f);
    fclose(f);
    cr_assert(eq(int, suite_load(&s, path, &err), -1));
    snprintf(want, sizeof want, "%s:7: name: duplicate case name 'a' (first at line 3)", path);
    cr_assert(eq(str, err.msg, want));
    unlink(path);
    rmdir(dir);
    free(dir);
}

/* A file of exactly 1 MiB loads; one byte more does not. */
Test(suite, load_takes_exactly_one_mebibyte)
{
    size_t len = 1u << 20;
    char *text = malloc(len + 1);
    cr_assert(ne(ptr, text, NULL));
    size_t head = strlen(HEAD CASE_A);
    memcpy(text, HEAD CASE_A, head);
    memset(text + head, '#', len - head - 1);
    text[len - 1] = '\n';
    char path[256];
    char *dir = write_suite(text, len, path, sizeof path);
    struct suite s;
    struct plumb_err err;
    cr_assert(eq(int, suite_load(&s, path, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, s.n_cases, (size_t)1));
    suite_free(&s);
    text[len] = '\n';
    FILE *f = fopen(path, "wb");
    cr_assert(ne(ptr, f, NULL));
    cr_assert(eq(sz, fwrite(text, 1, len + 1, f), len + 1));
    fclose(f);
    cr_assert(eq(int, suite_load(&s, path, &err), -1));
    char want[512];
    snprintf(want, sizeof want, "%s: larger than the 1048576-byte limit", path);
    cr_assert(eq(str, err.msg, want));
    cr_assert(eq(ptr, s.cases, NULL));
    unlink(path);
    rmdir(dir);
    free(dir);
    free(text);
}

Test(suite, load_of_a_missing_file_names_it)
{
    struct suite s;
    struct plumb_err err;
    cr_assert(eq(int, suite_load(&s, "/nonexistent/plumb/suite.yaml", &err), -1));
    cr_assert(eq(str, err.msg, "/nonexistent/plumb/suite.yaml: cannot open: No such file or directory"));
    cr_assert(eq(ptr, s.path, NULL));
    cr_assert(eq(int, suite_load(&s, "/tmp", &err), -1));
    cr_assert(ne(ptr, strstr(err.msg, "/tmp: cannot read"), NULL), "%s", err.msg);
    suite_free(&s);
}

Test(suite, load_of_an_empty_file_is_refused)
{
    char path[256];
    char *dir = write_suite("", 0, path, sizeof path);
    struct suite s;
    struct plumb_err err;
    cr_assert(eq(int, suite_load(&s, path, &err), -1));
    char want[512];
    snprintf(want, sizeof want, "%s: empty suite, expected a mapping of keys", path);
    cr_assert(eq(str, err.msg, want));
    unlink(path);
    rmdir(dir);
    free(dir);
}

Test(suite, free_is_safe_on_zeroed_failed_and_twice)
{
    struct suite s;
    memset(&s, 0, sizeof s);
    suite_free(&s);
    suite_free(NULL);
    cr_assert(eq(int, parse(&s, HEAD CASE_A "  - name: b\n    tokens: [x]\n", NULL), -1));
    suite_free(&s);
    cr_assert(eq(int, parse(&s, full_suite, NULL), 0));
    suite_free(&s);
    suite_free(&s);
}

/* The suite plumb ships (run from the project root, as `make test` does):
 * two cases per fixture, every fixture a valid spec, every id inside its
 * vocabulary, short cases starting with BOS. */
Test(suite, shipped_suite_is_valid_and_fits_its_fixtures)
{
    struct suite s;
    struct plumb_err err;
    cr_assert(eq(int, suite_load(&s, "fixtures/suite.yaml", &err), 0), "%s", err.msg);
    cr_assert(eq(str, s.golden_dir, "fixtures/../golden"));
    static const char *const fixtures[] = {"mha", "gqa", "mqa", "mixed"};
    size_t n_fixtures = sizeof fixtures / sizeof fixtures[0];
    cr_assert(eq(sz, s.n_cases, 2 * n_fixtures));
    for (size_t f = 0; f < n_fixtures; f++) {
        char spec_path[64], short_name[64], long_name[64];
        snprintf(spec_path, sizeof spec_path, "fixtures/%s.yaml", fixtures[f]);
        snprintf(short_name, sizeof short_name, "%s-short", fixtures[f]);
        snprintf(long_name, sizeof long_name, "%s-long", fixtures[f]);
        struct spec spec;
        cr_assert(eq(int, spec_load(&spec, spec_path, &err), 0), "%s", err.msg);
        const struct suite_case *sh = &s.cases[2 * f];
        const struct suite_case *lo = &s.cases[2 * f + 1];
        cr_assert(eq(str, sh->name, short_name));
        cr_assert(eq(str, lo->name, long_name));
        cr_assert(eq(str, sh->fixture, spec_path));
        cr_assert(eq(str, lo->fixture, spec_path));
        cr_assert(eq(str, sh->policy, "fixtures/policies/exact.yaml"));
        cr_assert(eq(str, lo->policy, "fixtures/policies/exact.yaml"));
        cr_assert(eq(ptr, sh->prompt, NULL));
        cr_assert(ge(i64, sh->n_tokens, 5));
        cr_assert(le(i64, sh->n_tokens, 8));
        cr_assert(eq(i32, sh->tokens[0], 1), "%s starts without BOS", sh->name);
        for (int64_t i = 0; i < sh->n_tokens; i++)
            cr_assert(lt(i64, sh->tokens[i], spec.hp.n_vocab), "%s: token %lld", sh->name, (long long)i);
        cr_assert(ne(ptr, lo->prompt, NULL));
        cr_assert(eq(ptr, lo->tokens, NULL));
        spec_free(&spec);
    }
    suite_free(&s);
}
