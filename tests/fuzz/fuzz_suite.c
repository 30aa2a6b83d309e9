/*
 * fuzz_suite.c: libFuzzer target for the suite-file reader (suite_parse).
 * See fuzz.h for how targets are built and replayed.
 *
 * A rejected input must come back with one line of message and a zeroed
 * struct. An accepted one must hold suite.h's invariants: at least one case;
 * names of 1..100 bytes of [a-z0-9._-], unique; fixture and policy resolved
 * against the suite's folder; exactly one of tokens (1..10^6 ids in
 * 0..2^31-1) and prompt (1..65536 bytes, no control characters but newline
 * and tab); and suite_free twice must be safe.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "suite.h"

#define SUITE_FZ_PATH "fixtures/suite.yaml"

/* A resolved path: relative ones now start with the suite's folder. */
static void suite_fz_path(const char *p, const char *what, size_t i)
{
    if (!p || !p[0])
        fuzz_fail("case %zu: %s missing", i, what);
    if (p[0] != '/' && strncmp(p, "fixtures/", 9) != 0)
        fuzz_fail("case %zu: %s '%s' not resolved against fixtures/", i, what, p);
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            fuzz_fail("case %zu: %s holds a control character", i, what);
}

int fuzz_suite(const uint8_t *data, size_t size)
{
    struct suite s;
    struct plumb_err err;
    if (suite_parse(&s, (const char *)data, size, SUITE_FZ_PATH, &err) != 0) {
        fuzz_check_err(&err, "suite_parse");
        if (s.cases || s.n_cases || s.path || s.golden_dir)
            fuzz_fail("a failed parse left the suite filled");
        return 0;
    }
    if (s.n_cases < 1 || !s.path || strcmp(s.path, SUITE_FZ_PATH))
        fuzz_fail("%zu cases, path %s", s.n_cases, s.path ? s.path : "(null)");
    suite_fz_path(s.golden_dir, "golden_dir", 0);
    for (size_t i = 0; i < s.n_cases; i++) {
        const struct suite_case *c = &s.cases[i];
        size_t n = c->name ? strlen(c->name) : 0;
        if (n < 1 || n > 100 || strspn(c->name, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n)
            fuzz_fail("case %zu: bad name", i);
        for (size_t j = 0; j < i && s.n_cases <= 2000; j++) /* quadratic: small suites */
            if (!strcmp(c->name, s.cases[j].name))
                fuzz_fail("case %zu: duplicate name '%s'", i, c->name);
        suite_fz_path(c->fixture, "fixture", i);
        suite_fz_path(c->policy, "policy", i);
        if ((c->tokens != NULL) == (c->prompt != NULL))
            fuzz_fail("case %zu: tokens and prompt both or neither", i);
        if (c->tokens) {
            if (c->n_tokens < 1 || c->n_tokens > 1000000)
                fuzz_fail("case %zu: %lld tokens", i, (long long)c->n_tokens);
            for (int64_t t = 0; t < c->n_tokens; t++)
                if (c->tokens[t] < 0)
                    fuzz_fail("case %zu: token %lld is negative", i, (long long)t);
        } else {
            size_t len = strlen(c->prompt);
            if (c->n_tokens != 0 || len < 1 || len > 65536)
                fuzz_fail("case %zu: prompt of %zu bytes", i, len);
            for (size_t k = 0; k < len; k++) {
                unsigned char ch = (unsigned char)c->prompt[k];
                if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
                    fuzz_fail("case %zu: prompt byte %zu is control character %u", i, k, ch);
            }
        }
        if (c->line < 1)
            fuzz_fail("case %zu: line %d", i, c->line);
    }
    suite_free(&s);
    suite_free(&s);
    return 0;
}

FUZZ_ENTRY(fuzz_suite)
