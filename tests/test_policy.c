/*
 * test_policy.c: reading tolerance policies (harness/policy.c).
 *
 * Valid policies are read value by value, including how a rule merges with
 * the defaults and which rule a tap gets; the shipped policies must load;
 * every refused input is checked for its one-line "FILE:LINE: key: reason".
 */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

/* Criterion 2.4.1's cr_assert() stores an int into a 1-bit field, which gcc's
 * -Wconversion flags at every use; the rest of the warnings stay on. */
#pragma GCC diagnostic ignored "-Wconversion"

#include "compare.h"
#include "policy.h"

TestSuite(policy, .timeout = 30);

/* policy.h's own example. Line numbers matter to the tests below. */
static const char example[] =
    "# fixtures/policies/simd.yaml\n"   /* 1 */
    "defaults:\n"                       /* 2 */
    "  atol: 1.0e-5\n"                  /* 3 */
    "  rtol: 1.0e-4\n"                  /* 4 */
    "  min_cosine: 0.99999\n"           /* 5 */
    "  max_nmse: 1.0e-8\n"              /* 6 */
    "taps:\n"                           /* 7 */
    "  \"Qcur-*\":\n"                   /* 8 */
    "    max_ulp: 64\n"                 /* 9 */
    "  result_output:\n"                /* 10 */
    "    max_kld: 1.0e-6\n"             /* 11 */
    "    max_kld_max: 1.0e-5\n"         /* 12 */
    "    min_top1: 1.0\n"               /* 13 */
    "    top_k: 10\n"                   /* 14 */
    "    min_topk: 0.9\n";              /* 15 */

static void parse_ok(struct policy *p, const char *yaml)
{
    struct plumb_err err = {{0}};
    int rc = policy_parse(p, yaml, strlen(yaml), "t.yaml", &err);
    cr_assert(eq(int, rc, 0), "refused (%s):\n%s", err.msg, yaml);
}

/* The policy must be refused with a message containing `want` (which
 * carries the file, line and key), as one line, leaving the struct zeroed. */
static void expect_error_len(const char *yaml, size_t len, const char *want)
{
    struct policy p;
    struct plumb_err err = {{0}};
    int rc = policy_parse(&p, yaml, len, "t.yaml", &err);
    cr_assert(eq(int, rc, -1), "accepted:\n%s", yaml);
    cr_assert(ne(ptr, strstr(err.msg, want), NULL), "message '%s' lacks '%s'", err.msg, want);
    cr_assert(eq(ptr, strchr(err.msg, '\n'), NULL), "message has a newline");
    cr_assert(eq(ptr, p.rules, NULL));
    cr_assert(eq(ptr, p.path, NULL));
    cr_assert(eq(ptr, p.name, NULL));
    cr_assert(eq(sz, p.n_rules, 0));
    policy_free(&p);
}

static void expect_error(const char *yaml, const char *want)
{
    expect_error_len(yaml, strlen(yaml), want);
}

static int count_set(const struct policy_checks *c)
{
    int n = 0;
    for (int m = 0; m < POLICY_METRIC_COUNT; m++)
        n += c->set[m];
    return n;
}

Test(policy, example_reads_every_value)
{
    struct policy p;
    parse_ok(&p, example);
    cr_assert(eq(str, p.path, "t.yaml"));
    cr_assert(eq(str, p.name, "t"));
    const struct policy_checks *d = &p.defaults;
    cr_assert(eq(int, count_set(d), 3)); /* atol/rtol, min_cosine, max_nmse */
    cr_assert(d->set[POLICY_ELEMENTWISE]);
    cr_assert(eq(dbl, d->atol, 1.0e-5));
    cr_assert(eq(dbl, d->rtol, 1.0e-4));
    cr_assert(d->set[POLICY_MIN_COSINE]);
    cr_assert(eq(dbl, d->bound[POLICY_MIN_COSINE], 0.99999));
    cr_assert(d->set[POLICY_MAX_NMSE]);
    cr_assert(eq(dbl, d->bound[POLICY_MAX_NMSE], 1.0e-8));
    cr_assert(eq(i64, d->top_k, 10)); /* the default k */

    cr_assert(eq(sz, p.n_rules, 2));
    cr_assert(eq(str, p.rules[0].glob, "Qcur-*"));
    cr_assert(eq(int, p.rules[0].line, 8));
    cr_assert(eq(str, p.rules[1].glob, "result_output"));
    cr_assert(eq(int, p.rules[1].line, 10));

    const struct policy_checks *q = &p.rules[0].checks;
    cr_assert(eq(int, count_set(q), 4)); /* its max_ulp and the 3 defaults */
    cr_assert(eq(dbl, q->bound[POLICY_MAX_ULP], 64.0));

    const struct policy_checks *o = &p.rules[1].checks;
    cr_assert(eq(int, count_set(o), 7)); /* 4 logit metrics and the 3 defaults */
    cr_assert(eq(dbl, o->bound[POLICY_MAX_KLD], 1.0e-6));
    cr_assert(eq(dbl, o->bound[POLICY_MAX_KLD_MAX], 1.0e-5));
    cr_assert(eq(dbl, o->bound[POLICY_MIN_TOP1], 1.0));
    cr_assert(eq(dbl, o->bound[POLICY_MIN_TOPK], 0.9));
    cr_assert(eq(i64, o->top_k, 10));
    cr_assert(eq(dbl, o->atol, 1.0e-5));
    policy_free(&p);
}

Test(policy, every_metric_key_reads)
{
    struct policy p;
    parse_ok(&p, "defaults:\n"
                 "  atol: 0.5\n  rtol: 0.25\n  max_ulp: 4294967296\n  max_abs: 3\n"
                 "  max_rel: 1e-3\n  min_cosine: 0\n  max_nmse: 2.5E-4\n  max_rmse: .5\n"
                 "  max_kld: 0.01\n  max_kld_max: 0.2\n  min_top1: 1\n  top_k: 16777216\n"
                 "  min_topk: 0.75\n");
    const struct policy_checks *d = &p.defaults;
    cr_assert(eq(int, count_set(d), POLICY_METRIC_COUNT));
    cr_assert(eq(dbl, d->atol, 0.5));
    cr_assert(eq(dbl, d->rtol, 0.25));
    cr_assert(eq(dbl, d->bound[POLICY_MAX_ULP], 4294967296.0)); /* 2^32, the largest */
    cr_assert(eq(dbl, d->bound[POLICY_MAX_ABS], 3.0));
    cr_assert(eq(dbl, d->bound[POLICY_MAX_REL], 1e-3));
    cr_assert(eq(dbl, d->bound[POLICY_MIN_COSINE], 0.0));
    cr_assert(eq(dbl, d->bound[POLICY_MAX_NMSE], 2.5e-4));
    cr_assert(eq(dbl, d->bound[POLICY_MAX_RMSE], 0.5));
    cr_assert(eq(dbl, d->bound[POLICY_MAX_KLD], 0.01));
    cr_assert(eq(dbl, d->bound[POLICY_MAX_KLD_MAX], 0.2));
    cr_assert(eq(dbl, d->bound[POLICY_MIN_TOP1], 1.0));
    cr_assert(eq(i64, d->top_k, 16777216)); /* 2^24, the largest */
    cr_assert(eq(dbl, d->bound[POLICY_MIN_TOPK], 0.75));
    policy_free(&p);
}

Test(policy, metric_names_are_the_yaml_spellings)
{
    static const char *const want[POLICY_METRIC_COUNT] = {
        "atol/rtol", "max_ulp", "max_abs", "max_rel", "min_cosine", "max_nmse",
        "max_rmse", "max_kld", "max_kld_max", "min_top1", "min_topk",
    };
    for (int m = 0; m < POLICY_METRIC_COUNT; m++)
        cr_assert(eq(str, (char *)policy_metric_name((enum policy_metric)m), (char *)want[m]));
    cr_assert(eq(str, (char *)policy_metric_name(POLICY_METRIC_COUNT), "?"));
}

/* A rule starts from the defaults: metrics it names are replaced, the others
 * inherited; atol and rtol are replaced together; top_k only when named. */
Test(policy, rule_inherits_what_it_does_not_name)
{
    struct policy p;
    parse_ok(&p, "defaults:\n"
                 "  atol: 1e-5\n  rtol: 1e-4\n  max_ulp: 8\n  max_nmse: 1e-8\n"
                 "  min_topk: 0.5\n  top_k: 5\n"
                 "taps:\n"
                 "  \"Qcur-*\": {max_ulp: 64}\n"
                 "  \"Kcur-*\": {atol: 0.125}\n"
                 "  \"Vcur-*\": {rtol: 0.25, max_nmse: 1e-6}\n"
                 "  result_output: {top_k: 3}\n"
                 "  l_out-0: {min_topk: 0.25}\n"
                 "  \"*\": {}\n");
    cr_assert(eq(sz, p.n_rules, 6));
    const struct policy_checks *q = &p.rules[0].checks;
    cr_assert(eq(dbl, q->bound[POLICY_MAX_ULP], 64.0));       /* replaced */
    cr_assert(eq(dbl, q->atol, 1e-5));                        /* inherited */
    cr_assert(eq(dbl, q->rtol, 1e-4));                        /* inherited */
    cr_assert(eq(dbl, q->bound[POLICY_MAX_NMSE], 1e-8));      /* inherited */
    cr_assert(eq(i64, q->top_k, 5));                          /* inherited */

    const struct policy_checks *k = &p.rules[1].checks;
    cr_assert(k->set[POLICY_ELEMENTWISE]);
    cr_assert(eq(dbl, k->atol, 0.125));                       /* named */
    cr_assert(eq(dbl, k->rtol, 0.0));                         /* replaced with it: 0 */
    cr_assert(eq(dbl, k->bound[POLICY_MAX_ULP], 8.0));

    const struct policy_checks *v = &p.rules[2].checks;
    cr_assert(eq(dbl, v->atol, 0.0));
    cr_assert(eq(dbl, v->rtol, 0.25));
    cr_assert(eq(dbl, v->bound[POLICY_MAX_NMSE], 1e-6));

    const struct policy_checks *o = &p.rules[3].checks;
    cr_assert(eq(i64, o->top_k, 3));                          /* named */
    cr_assert(eq(dbl, o->bound[POLICY_MIN_TOPK], 0.5));       /* inherited */

    const struct policy_checks *l = &p.rules[4].checks;
    cr_assert(eq(i64, l->top_k, 5));
    cr_assert(eq(dbl, l->bound[POLICY_MIN_TOPK], 0.25));

    /* An empty rule is the defaults. */
    cr_assert(eq(int, memcmp(&p.rules[5].checks, &p.defaults, sizeof p.defaults), 0));
    policy_free(&p);
}

Test(policy, defaults_may_come_after_taps)
{
    struct policy p;
    parse_ok(&p, "taps:\n  x: {max_abs: 2}\ndefaults:\n  max_ulp: 1\n");
    cr_assert(eq(dbl, p.rules[0].checks.bound[POLICY_MAX_ULP], 1.0));
    cr_assert(eq(dbl, p.rules[0].checks.bound[POLICY_MAX_ABS], 2.0));
    policy_free(&p);
}

Test(policy, first_matching_rule_wins_else_defaults)
{
    struct policy p;
    parse_ok(&p, "defaults: {max_ulp: 0}\n"
                 "taps:\n"
                 "  Qcur-0: {max_ulp: 1}\n"
                 "  \"Qcur-*\": {max_ulp: 64}\n"
                 "  \"Qcur-1\": {max_ulp: 999}\n" /* shadowed by the rule above */
                 "  \"*cur-[0-3]\": {max_ulp: 7}\n");
    static const struct {
        const char *tap;
        double ulp;
    } cases[] = {
        {"Qcur-0", 1}, {"Qcur-1", 64}, {"Qcur-12", 64}, {"Kcur-3", 7},
        {"Kcur-4", 0}, {"l_out-3", 0}, {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct policy_checks *c = policy_for_tap(&p, cases[i].tap);
        cr_assert(ne(ptr, (void *)c, NULL));
        cr_assert(eq(dbl, c->bound[POLICY_MAX_ULP], cases[i].ulp), "tap '%s'", cases[i].tap);
    }
    cr_assert(eq(ptr, (void *)policy_for_tap(&p, "l_out-3"), (void *)&p.defaults));
    policy_free(&p);
}

Test(policy, only_rules_and_no_defaults_is_fine)
{
    struct policy p;
    parse_ok(&p, "taps:\n  result_output:\n    min_top1: 0.5\n");
    cr_assert(eq(int, count_set(&p.defaults), 0));
    cr_assert(eq(int, count_set(policy_for_tap(&p, "result_output")), 1));
    policy_free(&p);
}

Test(policy, name_drops_folder_and_extension)
{
    static const struct {
        const char *path, *name;
    } cases[] = {
        {"fixtures/policies/simd.yaml", "simd"}, {"a/b.yml", "b"}, {"plain", "plain"},
        {".yaml", ".yaml"}, {"x.yaml.bak", "x.yaml.bak"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct policy p;
        struct plumb_err err;
        const char *y = "defaults: {max_ulp: 0}\n";
        cr_assert(eq(int, policy_parse(&p, y, strlen(y), cases[i].path, &err), 0));
        cr_assert(eq(str, p.name, (char *)cases[i].name));
        cr_assert(eq(str, p.path, (char *)cases[i].path));
        policy_free(&p);
    }
}

Test(policy, shipped_policies_load)
{
    static const char *const files[] = {
        "fixtures/policies/exact.yaml",
        "fixtures/policies/simd.yaml",
        "fixtures/policies/quantized.yaml",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct policy p;
        struct plumb_err err = {{0}};
        cr_assert(eq(int, policy_load(&p, files[i], &err), 0), "%s", err.msg);
        const struct policy_checks *out = policy_for_tap(&p, "result_output");
        if (i == 0) {
            /* exact: bit equality everywhere. */
            cr_assert(eq(str, p.name, "exact"));
            cr_assert(eq(int, count_set(&p.defaults), 1));
            cr_assert(p.defaults.set[POLICY_MAX_ULP]);
            cr_assert(eq(dbl, p.defaults.bound[POLICY_MAX_ULP], 0.0));
        } else {
            /* simd and quantized bound the logits by KLD and top-1, and
             * every tap by cosine and NMSE. */
            cr_assert(out->set[POLICY_MAX_KLD], "%s", files[i]);
            cr_assert(out->set[POLICY_MIN_TOP1], "%s", files[i]);
            const struct policy_checks *l = policy_for_tap(&p, "l_out-7");
            cr_assert(l->set[POLICY_MIN_COSINE], "%s", files[i]);
            cr_assert(l->set[POLICY_MAX_NMSE], "%s", files[i]);
        }
        policy_free(&p);
    }
}

/* quantized must be looser than simd on every bound they share. */
Test(policy, quantized_is_looser_than_simd)
{
    struct policy s, q;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, policy_load(&s, "fixtures/policies/simd.yaml", &err), 0), "%s", err.msg);
    cr_assert(eq(int, policy_load(&q, "fixtures/policies/quantized.yaml", &err), 0), "%s",
              err.msg);
    static const char *const taps[] = {"inp_embd", "attn_norm-0", "Qcur-3", "kqv_out-1",
                                       "ffn_out-5", "l_out-21", "result_norm", "result_output"};
    for (size_t i = 0; i < sizeof taps / sizeof taps[0]; i++) {
        const struct policy_checks *a = policy_for_tap(&s, taps[i]);
        const struct policy_checks *b = policy_for_tap(&q, taps[i]);
        for (int m = 0; m < POLICY_METRIC_COUNT; m++) {
            if (!a->set[m] || !b->set[m] || m == POLICY_ELEMENTWISE)
                continue;
            bool at_least = m == POLICY_MIN_COSINE || m == POLICY_MIN_TOP1 ||
                            m == POLICY_MIN_TOPK;
            bool looser = at_least ? b->bound[m] <= a->bound[m] : b->bound[m] >= a->bound[m];
            cr_assert(looser, "%s: %s: quantized %g, simd %g", taps[i],
                      policy_metric_name((enum policy_metric)m), b->bound[m], a->bound[m]);
        }
        if (a->set[POLICY_ELEMENTWISE] && b->set[POLICY_ELEMENTWISE]) {
            cr_assert(b->atol >= a->atol && b->rtol >= a->rtol, "%s", taps[i]);
        }
    }
    policy_free(&s);
    policy_free(&q);
}

Test(policy, load_reads_a_file)
{
    char path[] = "/tmp/plumb-test-policy-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(ge(int, fd, 0));
    const char *y = "defaults:\n  max_abs: 0.25\n";
    cr_assert(eq(long, (long)write(fd, y, strlen(y)), (long)strlen(y)));
    close(fd);
    struct policy p;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, policy_load(&p, path, &err), 0), "%s", err.msg);
    cr_assert(eq(dbl, p.defaults.bound[POLICY_MAX_ABS], 0.25));
    cr_assert(eq(str, p.path, path));
    policy_free(&p);
    unlink(path);

    cr_assert(eq(int, policy_load(&p, path, &err), -1));
    cr_assert(ne(ptr, strstr(err.msg, "cannot open"), NULL), "%s", err.msg);
    cr_assert(ne(ptr, strstr(err.msg, path), NULL), "%s", err.msg);
}

Test(policy, load_refuses_a_file_over_one_mebibyte)
{
    char path[] = "/tmp/plumb-test-policy-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(ge(int, fd, 0));
    size_t n = (size_t)(1u << 20) + 1;
    char *buf = malloc(n);
    cr_assert(ne(ptr, buf, NULL));
    memset(buf, '#', n); /* one long comment: valid YAML, only too big */
    cr_assert(eq(long, (long)write(fd, buf, n), (long)n));
    close(fd);
    free(buf);
    struct policy p;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, policy_load(&p, path, &err), -1));
    cr_assert(ne(ptr, strstr(err.msg, "larger than the 1048576-byte limit"), NULL), "%s",
              err.msg);
    unlink(path);
}

Test(policy, parse_refuses_text_over_one_mebibyte)
{
    size_t n = (size_t)(1u << 20) + 1;
    char *buf = malloc(n);
    cr_assert(ne(ptr, buf, NULL));
    memset(buf, '#', n);
    expect_error_len(buf, n, "t.yaml: policy is 1048577 bytes, more than the 1048576-byte limit");
    free(buf);
}

Test(policy, numbers_ignore_the_host_locale)
{
    static const char *const locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "C.UTF-8"};
    const char *old = setlocale(LC_NUMERIC, NULL);
    char *saved = old ? strdup(old) : NULL;
    for (size_t i = 0; i < sizeof locales / sizeof locales[0]; i++) {
        if (!setlocale(LC_NUMERIC, locales[i]))
            continue;
        struct policy p;
        struct plumb_err err;
        const char *y = "defaults: {max_nmse: 2.5e-4, atol: 0.125}\n";
        int rc = policy_parse(&p, y, strlen(y), "t.yaml", &err);
        setlocale(LC_NUMERIC, saved ? saved : "C");
        cr_assert(eq(int, rc, 0), "%s: %s", locales[i], err.msg);
        cr_assert(eq(dbl, p.defaults.bound[POLICY_MAX_NMSE], 2.5e-4));
        cr_assert(eq(dbl, p.defaults.atol, 0.125));
        policy_free(&p);
    }
    free(saved);
}

/* Each bad input with the place, key and reason it must be reported as. */
static const struct bad_case {
    const char *yaml;
    const char *want;
} bad_cases[] = {
    /* structure */
    {"", "t.yaml: empty policy"},
    {"# only a comment\n\n", "t.yaml: empty policy"},
    {"- a\n- b\n", "t.yaml:1: expected a mapping of keys at the top level, found a sequence"},
    {"hello\n", "t.yaml:1: expected a mapping of keys at the top level, found 'hello'"},
    {"---\n", "t.yaml:2: expected a mapping of keys at the top level, found nothing"},
    {"defaults: {max_ulp: 0}\ndefault: {max_ulp: 1}\n",
     "t.yaml:2: unknown key 'default' (expected defaults or taps)"},
    {"defaults: {max_ulp: 0}\ndefaults: {max_ulp: 1}\n",
     "t.yaml:2: defaults: duplicate key (first at line 1)"},
    {"taps: {}\ntaps: {}\n", "t.yaml:2: taps: duplicate key (first at line 1)"},
    {"defaults: 3\n", "t.yaml:1: defaults: expected a mapping of metric: bound, found '3'"},
    {"defaults:\n", "t.yaml:1: defaults: expected a mapping of metric: bound, found nothing"},
    {"taps: [a]\n", "t.yaml:1: taps: expected a mapping of glob: checks, found a sequence"},
    {"taps:\n  x:\n", "taps: 'x': expected a mapping of metric: bound, found nothing"},
    {"taps:\n  x: [1]\n", "t.yaml:2: taps: 'x': expected a mapping of metric: bound, "
                          "found a sequence"},
    {"taps:\n  \"\": {max_ulp: 0}\n",
     "t.yaml:2: taps: expected a tap name or glob, found an empty string"},
    {"taps:\n  ? [a]\n  : {max_ulp: 0}\n", "t.yaml:2: taps: expected a key, found a sequence"},
    {"taps:\n  \"a\\tb\": {max_ulp: 0}\n",
     "t.yaml:2: taps: control character 0x09 in a tap name or glob"},
    {"defaults:\n  ? {a: 1}\n  : 2\n", "t.yaml:2: defaults: expected a key, found a mapping"},
    {"defaults: {max_ulp: 0}\n---\ndefaults: {max_ulp: 0}\n",
     "t.yaml:2: only one YAML document is allowed"},
    {"defaults: {max_ulp: 0\n", "t.yaml:2: did not find expected ',' or '}'"},
    {"defaults:\n\tmax_ulp: 0\n", "t.yaml:2: found character that cannot start any token"},
    {"defaults:\n  max_ulp: 0\n   max_abs: 1\n", /* a plain scalar folded over two lines */
     "t.yaml:2: defaults: max_ulp: expected an integer, found '0 max_abs'"},
    {"defaults: {max_ulp: 0}\n# \xff\n", "t.yaml:2: invalid leading UTF-8 octet"},
    {"defaults: {}\n", "t.yaml: the policy sets no checks"},
    {"defaults: {}\ntaps: {a: {}, b: {}}\n", "t.yaml: the policy sets no checks"},

    /* unknown and duplicate keys */
    {"defaults:\n  maxulp: 3\n",
     "t.yaml:2: defaults: unknown key 'maxulp' (expected atol, rtol, max_ulp"},
    {"taps:\n  \"Q*\":\n    max_kl: 3\n", "t.yaml:3: taps: 'Q*': unknown key 'max_kl'"},
    {"defaults:\n  max_ulp: 1\n  max_ulp: 2\n",
     "t.yaml:3: defaults: max_ulp: duplicate key (first at line 2)"},
    {"defaults: {atol: 1, atol: 2}\n", "t.yaml:1: defaults: atol: duplicate key (first at line 1)"},
    {"taps:\n  \"Q*\": {max_ulp: 1}\n  k: {max_ulp: 1}\n  \"Q*\": {max_ulp: 2}\n",
     "t.yaml:4: taps: 'Q*': duplicate key (first at line 2)"},

    /* wrong types */
    {"taps:\n  \"Q*\":\n    max_ulp: lots\n",
     "t.yaml:3: taps: 'Q*': max_ulp: expected an integer, found 'lots'"},
    {"defaults:\n  max_ulp: 1.5\n",
     "t.yaml:2: defaults: max_ulp: expected an integer, found '1.5'"},
    {"defaults:\n  max_ulp: \"3\"\n",
     "t.yaml:2: defaults: max_ulp: expected an integer, found the quoted string '3'"},
    {"defaults:\n  max_ulp: 010\n",
     "t.yaml:2: defaults: max_ulp: expected a decimal integer, found '010' (a leading zero"},
    {"defaults:\n  max_ulp: 4294967297\n",
     "t.yaml:2: defaults: max_ulp: 4294967297 is out of range, expected 0 to 4294967296"},
    {"defaults:\n  max_ulp: 99999999999999999999999\n",
     "t.yaml:2: defaults: max_ulp: '99999999999999999999999' does not fit in 64 bits"},
    {"defaults:\n  max_abs: 1e-3x\n",
     "t.yaml:2: defaults: max_abs: expected a finite decimal number, found '1e-3x'"},
    {"defaults:\n  atol: \"1e-5\"\n",
     "t.yaml:2: defaults: atol: expected a number, found the quoted string '1e-5'"},
    {"defaults:\n  rtol: {a: 1}\n",
     "t.yaml:2: defaults: rtol: expected a number, found a mapping"},
    {"defaults:\n  max_nmse: 0x10\n",
     "t.yaml:2: defaults: max_nmse: expected a finite decimal number, found '0x10'"},
    {"defaults:\n  max_rmse: 1_000\n",
     "t.yaml:2: defaults: max_rmse: expected a finite decimal number, found '1_000'"},
    {"defaults:\n  max_rmse:\n", "t.yaml:2: defaults: max_rmse: expected a finite decimal "
                                 "number, found nothing"},

    /* NaN and infinities */
    {"defaults:\n  max_abs: .nan\n",
     "t.yaml:2: defaults: max_abs: expected a finite decimal number, found '.nan'"},
    {"defaults:\n  max_abs: nan\n", "t.yaml:2: defaults: max_abs: expected a finite decimal "
                                    "number, found 'nan'"},
    {"defaults:\n  max_rel: .inf\n", "t.yaml:2: defaults: max_rel: expected a finite decimal "
                                     "number, found '.inf'"},
    {"defaults:\n  max_rel: inf\n", "t.yaml:2: defaults: max_rel: expected a finite decimal "
                                    "number, found 'inf'"},
    {"defaults:\n  max_kld: -.inf\n", "t.yaml:2: defaults: max_kld: expected a finite decimal "
                                      "number, found '-.inf'"},
    {"defaults:\n  max_kld: 1e999\n",
     "t.yaml:2: defaults: max_kld: '1e999' is out of range for a double"},
    {"defaults:\n  max_kld: 1e-999\n",
     "t.yaml:2: defaults: max_kld: '1e-999' is out of range for a double"},

    /* negative bounds and shares outside [0, 1] */
    {"defaults:\n  max_ulp: -1\n",
     "t.yaml:2: defaults: max_ulp: -1 is negative, expected 0 to 4294967296"},
    {"defaults:\n  atol: -1e-5\n",
     "t.yaml:2: defaults: atol: -1e-5 is negative, expected a bound >= 0"},
    {"taps:\n  x:\n    rtol: -0.5\n",
     "t.yaml:3: taps: 'x': rtol: -0.5 is negative, expected a bound >= 0"},
    {"defaults:\n  max_kld_max: -2\n",
     "t.yaml:2: defaults: max_kld_max: -2 is negative, expected a bound >= 0"},
    {"defaults:\n  min_cosine: 1.5\n",
     "t.yaml:2: defaults: min_cosine: 1.5 is out of range, expected 0 to 1"},
    {"defaults:\n  min_cosine: -0.5\n",
     "t.yaml:2: defaults: min_cosine: -0.5 is negative, expected a bound >= 0"},
    {"defaults:\n  min_top1: 1.0000001\n",
     "t.yaml:2: defaults: min_top1: 1.0000001 is out of range, expected 0 to 1"},
    {"defaults:\n  min_topk: 2\n",
     "t.yaml:2: defaults: min_topk: 2 is out of range, expected 0 to 1"},
    {"defaults:\n  min_topk: 0.5\n  top_k: 0\n",
     "t.yaml:3: defaults: top_k: 0 is out of range, expected 1 to 16777216"},
    {"defaults:\n  min_topk: 0.5\n  top_k: -3\n",
     "t.yaml:3: defaults: top_k: -3 is negative, expected 1 to 16777216"},
    {"defaults:\n  max_ulp: 0\n  top_k: 5\n",
     "t.yaml:3: defaults: top_k: has no effect without min_topk"},
    {"taps:\n  result_output:\n    top_k: 5\n",
     "t.yaml:3: taps: 'result_output': top_k: has no effect without min_topk"},

    /* anchors, aliases, tags */
    {"defaults: &d\n  max_ulp: 0\n", "t.yaml:1: anchors and aliases are not supported (found &d)"},
    {"defaults:\n  max_ulp: *u\n", "t.yaml:2: aliases are not supported (found *u)"},
    {"defaults: !!map {max_ulp: 0}\n", "t.yaml:1: tags are not supported (found tag:yaml.org,"},
    {"defaults:\n  max_ulp: !!int 3\n", "t.yaml:2: tags are not supported"},
};

Test(policy, bad_inputs_name_file_line_and_key)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
        expect_error(bad_cases[i].yaml, bad_cases[i].want);
}

/* Billion laughs: nine levels of ten aliases, 10^9 strings once expanded.
 * It must be refused at its first anchor, long before any expansion: under
 * `taps` (where globs are keys, so the keys pass) and at the top level. */
static void bomb(char *yaml, size_t size, const char *head, const char *indent)
{
    size_t o = (size_t)snprintf(yaml, size, "%s%sa0: &a0 [\"lol\"]\n", head, indent);
    for (int level = 1; level <= 9; level++) {
        o += (size_t)snprintf(yaml + o, size - o, "%sa%d: &a%d [", indent, level, level);
        for (int j = 0; j < 10; j++)
            o += (size_t)snprintf(yaml + o, size - o, "%s*a%d", j ? ", " : "", level - 1);
        o += (size_t)snprintf(yaml + o, size - o, "]\n");
    }
    cr_assert(lt(sz, o, size));
}

Test(policy, alias_bomb_fails_fast)
{
    char yaml[4096];
    clock_t t0 = clock();
    bomb(yaml, sizeof yaml, "defaults: {max_ulp: 0}\ntaps:\n", "  ");
    expect_error(yaml, "t.yaml:3: anchors and aliases are not supported (found &a0)");
    /* At the top level the first key is already unknown. */
    bomb(yaml, sizeof yaml, "", "");
    expect_error(yaml, "t.yaml:1: unknown key 'a0'");
    /* An alias to a rule is refused at the anchor too. */
    expect_error("defaults:\n  max_ulp: 0\ntaps:\n  x: &x {max_ulp: 1}\n  y: *x\n",
                 "t.yaml:4: anchors and aliases are not supported (found &x)");
    double seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    cr_assert(lt(dbl, seconds, 1.0), "took %g s", seconds);
}

Test(policy, free_is_safe_on_zeroed_and_twice)
{
    struct policy p;
    memset(&p, 0, sizeof p);
    policy_free(&p);
    policy_free(NULL);
    parse_ok(&p, "defaults: {max_ulp: 0}\n");
    policy_free(&p);
    policy_free(&p);
}

Test(policy, null_err_is_allowed)
{
    struct policy p;
    cr_assert(eq(int, policy_parse(&p, "x: 1\n", 5, "t.yaml", NULL), -1));
    cr_assert(eq(int, policy_parse(&p, NULL, 0, NULL, NULL), -1)); /* empty */
}

/* ---- the error models the shipped policies' comments rely on ---- */

/* splitmix64, then a uniform double in (0, 1) and a standard normal. */
static uint64_t claim_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double claim_gauss(uint64_t *state)
{
    double u = ((double)(claim_next(state) >> 11) + 0.5) * 0x1p-53;
    double v = (double)(claim_next(state) >> 11) * 0x1p-53;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* simd.yaml: a float dot of n terms, sequential against 16 lanes and a
 * tree, differs by ~0.45 * 2^-24 * sum|terms| (rms), never more than the
 * worst-case n * 2^-24 * sum|terms|; sum|terms| ~ 0.64 sqrt(n) rms(out). */
Test(policy, simd_error_model_of_a_reordered_dot)
{
    enum { N = 5632, DOTS = 200 };
    static float w[N], x[N];
    uint64_t seed = 7, state = seed;
    double sq = 0.0, worst = 0.0, spread = 0.0;
    for (int d = 0; d < DOTS; d++) {
        double sum_abs = 0.0;
        for (int i = 0; i < N; i++) {
            w[i] = (float)(claim_gauss(&state) / sqrt((double)N)); /* unit output variance */
            x[i] = (float)claim_gauss(&state);
            sum_abs += fabs((double)w[i] * x[i]);
        }
        float seq = 0.0f;
        for (int i = 0; i < N; i++)
            seq += w[i] * x[i];
        float lane[16] = {0};
        for (int i = 0; i < N; i += 16)
            for (int l = 0; l < 16; l++)
                lane[l] += w[i + l] * x[i + l];
        for (int half = 8; half > 0; half /= 2)
            for (int l = 0; l < half; l++)
                lane[l] += lane[l + half];
        double r = fabs((double)lane[0] - seq) / (0x1p-24 * sum_abs);
        sq += r * r;
        if (r > worst)
            worst = r;
        spread += sum_abs / sqrt((double)N); /* rms(out) is 1 */
    }
    double rms = sqrt(sq / DOTS);
    cr_assert(ge(dbl, rms, 0.35), "rms %g (seed %llu)", rms, (unsigned long long)seed);
    cr_assert(le(dbl, rms, 0.55), "rms %g (seed %llu)", rms, (unsigned long long)seed);
    cr_assert(le(dbl, worst, (double)N), "worst %g", worst);
    cr_assert(epsilon_eq(dbl, spread / DOTS, 0.64, 0.02), "sum|t| / sqrt(n) = %g", spread / DOTS);
}

/* quantized.yaml: rounding Gaussian activations to q8_0 (blocks of 32) and
 * q8_K-like blocks of 256 on a grid of amax/127 adds relative noise power
 * 2.9e-5 and 4.8e-5. */
Test(policy, quantized_error_model_of_8_bit_activations)
{
    static const struct {
        int block;
        double nmse;
    } cases[] = {{32, 2.9e-5}, {256, 4.8e-5}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint64_t state = 11;
        double num = 0.0, den = 0.0;
        float v[256];
        for (int b = 0; b < 640000 / cases[c].block; b++) {
            float amax = 0.0f;
            for (int j = 0; j < cases[c].block; j++) {
                v[j] = (float)claim_gauss(&state);
                amax = fmaxf(amax, fabsf(v[j]));
            }
            float d = amax / 127.0f, id = d > 0.0f ? 1.0f / d : 0.0f;
            for (int j = 0; j < cases[c].block; j++) {
                double e = (double)(roundf(v[j] * id) * d) - v[j];
                num += e * e;
                den += (double)v[j] * v[j];
            }
        }
        double nmse = num / den;
        cr_assert(epsilon_eq(dbl, nmse, cases[c].nmse, 0.1 * cases[c].nmse), "block %d: %g",
                  cases[c].block, nmse);
    }
}

/* Both policies: small uncorrelated errors give 1 - cosine ~ NMSE / 2, and
 * logit noise of standard deviation s a KLD of ~ s^2 / 2. */
Test(policy, cosine_and_kld_track_nmse_and_logit_noise)
{
    enum { V = 4096, POS = 8 };
    static float ref[V * POS], cand[V * POS];
    uint64_t state = 3;
    const double s = 0.01;
    for (int i = 0; i < V * POS; i++) {
        ref[i] = (float)claim_gauss(&state) * 0.1f; /* near-flat logits */
        cand[i] = ref[i] + (float)(s * claim_gauss(&state));
    }
    struct dump_tap rt, ct;
    memset(&rt, 0, sizeof rt);
    snprintf(rt.name, sizeof rt.name, "result_output");
    rt.width = V;
    rt.n_pos = POS;
    ct = rt;
    rt.data = ref;
    ct.data = cand;
    struct dump rd, cd;
    memset(&rd, 0, sizeof rd);
    rd.taps = &rt;
    rd.n_taps = 1;
    cd = rd;
    cd.taps = &ct;
    struct policy p;
    struct plumb_err err = {{0}};
    const char *y = "defaults: {max_kld: 1}\n";
    cr_assert(eq(int, policy_parse(&p, y, strlen(y), "t.yaml", &err), 0), "%s", err.msg);
    struct compare_result r;
    cr_assert(eq(int, compare_dumps(&rd, &cd, &p, &r, &err), 0), "%s", err.msg);
    const struct compare_tap *t = &r.taps[0];
    /* noise rms 0.01 on logits of rms 0.1: NMSE ~ 1e-2, KLD ~ 5e-5. */
    cr_assert(epsilon_eq(dbl, (1.0 - t->cosine) / t->nmse, 0.5, 0.05), "1-cos %g nmse %g",
              1.0 - t->cosine, t->nmse);
    cr_assert(epsilon_eq(dbl, t->kld_mean / (s * s / 2), 1.0, 0.05), "kld %g", t->kld_mean);
    compare_result_free(&r);
    policy_free(&p);
}
