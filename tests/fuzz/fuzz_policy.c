/*
 * fuzz_policy.c: libFuzzer target for the tolerance-policy reader
 * (policy_parse). See fuzz.h for how targets are built and replayed.
 *
 * A rejected input must come back with one line of message and a zeroed
 * struct. An accepted one must hold policy.h's invariants: every bound
 * finite and in its range, globs unique and non-empty, top_k in 1..2^24, at
 * least one check set somewhere, the name derived from the file name; and
 * policy_for_tap must answer for every tap name the engine produces (and a
 * few odd ones) in reasonable time, however the globs are written.
 */
#include <math.h>
#include <stdbool.h>

#include "fuzz.h"
#include "policy.h"

static void policy_fz_checks(const struct policy_checks *ch, const char *where, bool *any)
{
    for (int m = 0; m < POLICY_METRIC_COUNT; m++) {
        if (!ch->set[m])
            continue;
        *any = true;
        if (m == POLICY_ELEMENTWISE) {
            if (!isfinite(ch->atol) || ch->atol < 0 || !isfinite(ch->rtol) || ch->rtol < 0)
                fuzz_fail("%s: atol %g, rtol %g", where, ch->atol, ch->rtol);
            continue;
        }
        double b = ch->bound[m];
        if (!isfinite(b) || b < 0)
            fuzz_fail("%s: %s bound %g", where, policy_metric_name((enum policy_metric)m), b);
        if ((m == POLICY_MIN_COSINE || m == POLICY_MIN_TOP1 || m == POLICY_MIN_TOPK) && b > 1)
            fuzz_fail("%s: %s bound %g above 1", where, policy_metric_name((enum policy_metric)m),
                      b);
        if (m == POLICY_MAX_ULP && (b > 4294967296.0 || b != floor(b)))
            fuzz_fail("%s: max_ulp %g", where, b);
    }
    if (ch->top_k < 1 || ch->top_k > (INT64_C(1) << 24))
        fuzz_fail("%s: top_k %lld", where, (long long)ch->top_k);
}

/* Tap names as the engine makes them, and some that are not. */
static const char *const policy_fz_taps[] = {
    "inp_embd", "attn_norm-0", "Qcur-0", "Kcur-1", "Vcur-2", "kqv_out-3", "ffn_inp-10",
    "ffn_norm-0", "ffn_gate-0", "ffn_up-0", "ffn_out-1023", "l_out-0", "result_norm",
    "result_output", "", "-", "*", "[", "\\",
    "a-very-long-tap-name-of-sixty-three-bytes-aaaaaaaaaaaaaaaaaaaaa",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
};

int fuzz_policy(const uint8_t *data, size_t size)
{
    struct policy p;
    struct plumb_err err;
    if (policy_parse(&p, (const char *)data, size, "fuzz/p.yaml", &err) != 0) {
        fuzz_check_err(&err, "policy_parse");
        if (p.rules || p.n_rules || p.path || p.name)
            fuzz_fail("a failed parse left the policy filled");
        return 0;
    }
    if (!p.path || strcmp(p.path, "fuzz/p.yaml") || !p.name || strcmp(p.name, "p"))
        fuzz_fail("path or name not kept");
    bool any = false;
    policy_fz_checks(&p.defaults, "defaults", &any);
    for (size_t i = 0; i < p.n_rules; i++) {
        const char *g = p.rules[i].glob;
        if (!g || !g[0] || strlen(g) > 256)
            fuzz_fail("rule %zu: glob empty or too long", i);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(g, p.rules[j].glob))
                fuzz_fail("rule %zu: duplicate glob '%s'", i, g);
        policy_fz_checks(&p.rules[i].checks, g, &any);
    }
    if (!any)
        fuzz_fail("a policy without checks was accepted");
    for (size_t i = 0; i < sizeof policy_fz_taps / sizeof *policy_fz_taps; i++) {
        const struct policy_checks *ch = policy_for_tap(&p, policy_fz_taps[i]);
        bool ok = ch == &p.defaults;
        for (size_t r = 0; r < p.n_rules && !ok; r++)
            ok = ch == &p.rules[r].checks;
        if (!ok)
            fuzz_fail("policy_for_tap('%s') points at no rule", policy_fz_taps[i]);
    }
    policy_free(&p);
    return 0;
}

FUZZ_ENTRY(fuzz_policy)
