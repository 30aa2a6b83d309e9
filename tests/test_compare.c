/*
 * test_compare.c: comparing dumps under a policy (harness/compare.c).
 *
 * Every metric is checked against values worked out by hand on tiny
 * vectors; the arithmetic sits beside each expected value. Dumps are built
 * in memory as struct dump values (no files), policies from inline YAML.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

/* Criterion 2.4.1's cr_assert() stores an int into a 1-bit field, which gcc's
 * -Wconversion flags at every use; the rest of the warnings stay on. */
#pragma GCC diagnostic ignored "-Wconversion"

#include "compare.h"
#include "dump.h"
#include "policy.h"

TestSuite(compare, .timeout = 30);

/* A float from its bits. */
static float bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static struct dump_tap mk_tap(const char *name, int64_t width, int64_t n_pos, const float *data)
{
    struct dump_tap t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.width = width;
    t.n_pos = n_pos;
    t.data = data;
    return t;
}

/* A hand-built dump over caller-owned taps: never dump_free()d. */
static struct dump mk_dump(struct dump_tap *taps, int64_t n)
{
    struct dump d;
    memset(&d, 0, sizeof d);
    d.taps = taps;
    d.n_taps = n;
    return d;
}

static void mk_policy(struct policy *p, const char *yaml)
{
    struct plumb_err err = {{0}};
    cr_assert(eq(int, policy_parse(p, yaml, strlen(yaml), "t.yaml", &err), 0), "%s", err.msg);
}

/* Compare one tap pair (same name) under the policy text. */
static void compare_one_tap(struct compare_result *r, const char *name, int64_t width,
                            int64_t n_pos, const float *cand, const float *ref, const char *yaml)
{
    struct dump_tap rt = mk_tap(name, width, n_pos, ref);
    struct dump_tap ct = mk_tap(name, width, n_pos, cand);
    struct dump rd = mk_dump(&rt, 1), cd = mk_dump(&ct, 1);
    struct policy p;
    mk_policy(&p, yaml);
    struct plumb_err err = {{0}};
    cr_assert(eq(int, compare_dumps(&rd, &cd, &p, r, &err), 0), "%s", err.msg);
    cr_assert(eq(i64, r->n_taps, 1));
    policy_free(&p);
}

static const struct compare_check *find_check(const struct compare_tap *t, enum policy_metric m)
{
    for (int i = 0; i < t->n_checks; i++)
        if (t->checks[i].metric == m)
            return &t->checks[i];
    cr_fatal("no check %s", policy_metric_name(m));
    return NULL;
}

/* ---- ULP distance ---- */

Test(compare, ulp_counts_representable_steps)
{
    /* Neighbours 1 apart; 1 + 2^-22 is two steps of 2^-23 above 1. */
    cr_assert(eq(u64, compare_ulp(1.0f, nextafterf(1.0f, 2.0f)), 1));
    cr_assert(eq(u64, compare_ulp(1.0f, 1.0f + 0x1p-22f), 2));
    cr_assert(eq(u64, compare_ulp(1.0f + 0x1p-22f, 1.0f), 2)); /* symmetric */
    cr_assert(eq(u64, compare_ulp(1.5f, 1.5f), 0));
    /* 4.0 = 0x40800000, 3.0 = 0x40400000: 0x400000 = 4194304 steps. */
    cr_assert(eq(u64, compare_ulp(4.0f, 3.0f), 4194304));
    /* Across a power of two: 2 = 0x40000000 and its lower neighbour
     * 0x3fffffff are 1 apart although the step sizes differ. */
    cr_assert(eq(u64, compare_ulp(2.0f, nextafterf(2.0f, 0.0f)), 1));
}

Test(compare, ulp_across_zero_counts_both_sides)
{
    float tiny = bits(0x00000001); /* smallest subnormal, 2^-149 */
    /* +1 step above +0 and 1 step below -0: 1 + 1 = 2. */
    cr_assert(eq(u64, compare_ulp(tiny, -tiny), 2));
    cr_assert(eq(u64, compare_ulp(0.0f, -0.0f), 0));
    cr_assert(eq(u64, compare_ulp(-0.0f, 0.0f), 0));
    cr_assert(eq(u64, compare_ulp(tiny, -0.0f), 1));
    cr_assert(eq(u64, compare_ulp(-tiny, 0.0f), 1));
    /* 1.0 = 0x3f800000 on each side: 2 * 1065353216 = 2130706432. */
    cr_assert(eq(u64, compare_ulp(1.0f, -1.0f), 2130706432));
}

Test(compare, ulp_subnormals_are_steps_like_any_other)
{
    /* FLT_MIN = 0x00800000, the largest subnormal 0x007fffff: 1 apart. */
    cr_assert(eq(u64, compare_ulp(FLT_MIN, bits(0x007fffff)), 1));
    /* 3 * 2^-149 = 0x00000003 against 2^-149 = 0x00000001: 2. */
    cr_assert(eq(u64, compare_ulp(bits(3), bits(1)), 2));
    /* FLT_MIN against 0: 0x00800000 = 8388608 steps. */
    cr_assert(eq(u64, compare_ulp(FLT_MIN, 0.0f), 8388608));
}

Test(compare, ulp_of_nan_and_infinity)
{
    float qnan = bits(0x7fc00000), nnan = bits(0xffc00001); /* two different NaNs */
    cr_assert(eq(u64, compare_ulp(qnan, qnan), 0));
    cr_assert(eq(u64, compare_ulp(qnan, nnan), 0));
    cr_assert(eq(u64, compare_ulp(qnan, 1.0f), UINT64_MAX));
    cr_assert(eq(u64, compare_ulp(1.0f, nnan), UINT64_MAX));
    cr_assert(eq(u64, compare_ulp(qnan, INFINITY), UINT64_MAX));
    /* +Inf = 0x7f800000 is the step after FLT_MAX = 0x7f7fffff: 1. */
    cr_assert(eq(u64, compare_ulp(INFINITY, FLT_MAX), 1));
    cr_assert(eq(u64, compare_ulp(-INFINITY, -FLT_MAX), 1));
    cr_assert(eq(u64, compare_ulp(INFINITY, INFINITY), 0));
    /* -Inf to +Inf: 2 * 0x7f800000 = 4278190080, the widest distance. */
    cr_assert(eq(u64, compare_ulp(-INFINITY, INFINITY), 4278190080u));
}

/* ---- layer numbers ---- */

Test(compare, layer_of_reads_the_number_after_the_last_dash)
{
    static const struct {
        const char *name;
        int64_t layer;
    } cases[] = {
        {"ffn_out-12", 12}, {"l_out-0", 0}, {"Qcur-7", 7}, {"attn_norm-123", 123},
        {"result_norm", -1}, {"result_output", -1}, {"inp_embd", -1}, {"l_out-", -1},
        {"-3", -1}, {"l_out-3a", -1}, {"l_out-x", -1}, {"", -1},
        {"a-99999999999999999999", -1}, /* does not fit: not a layer */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert(eq(i64, compare_layer_of(cases[i].name), cases[i].layer), "'%s'",
                  cases[i].name);
}

/* ---- elementwise metrics ---- */

/* Reference b and candidate a, width 3, two positions:
 *   b = [1, 4, 2 | 2, 3, 0]
 *   a = [1, 3, 2 | 2, 5, 0]
 *   |a-b| = [0, 1, 0 | 0, 2, 0]                                         */
static const float six_ref[6] = {1, 4, 2, 2, 3, 0};
static const float six_cand[6] = {1, 3, 2, 2, 5, 0};

Test(compare, metrics_on_a_small_tap)
{
    struct compare_result r;
    compare_one_tap(&r, "l_out-2", 3, 2, six_cand, six_ref, "defaults: {max_ulp: 0}\n");
    const struct compare_tap *t = &r.taps[0];
    cr_assert(eq(str, (char *)t->name, "l_out-2"));
    cr_assert(eq(i64, t->layer, 2));
    cr_assert(eq(i64, t->width, 3));
    cr_assert(eq(i64, t->n_pos, 2));
    cr_assert(eq(i64, t->n, 6));
    /* Exact equality (no atol/rtol set): elements 1 and 4 differ. */
    cr_assert(eq(i64, t->mismatches, 2));
    /* max |a-b| = 2 at index 4: position 4 / 3 = 1, column 4 % 3 = 1. */
    cr_assert(eq(dbl, t->max_abs, 2.0));
    cr_assert(eq(i64, t->max_abs_index, 4));
    cr_assert(eq(i64, t->max_abs_index / t->width, 1));
    cr_assert(eq(i64, t->max_abs_index % t->width, 1));
    /* |a-b|/|b| over b != 0: 0/1, 1/4, 0/2, 0/2, 2/3 -> 2/3 (b = 0 skipped). */
    cr_assert(epsilon_eq(dbl, t->max_rel, 2.0 / 3.0, 1e-15));
    /* 3.0 = 0x40400000, 5.0 = 0x40a00000: 0x600000 = 6291456 (vs 4194304
     * for 4 against 3). */
    cr_assert(eq(u64, t->max_ulp, 6291456));
    /* sum (a-b)^2 = 1 + 4 = 5 over 6 elements: rmse = sqrt(5/6) = 0.91287... */
    cr_assert(epsilon_eq(dbl, t->rmse, 0.9128709291752769, 1e-15));
    /* sum b^2 = 1 + 16 + 4 + 4 + 9 + 0 = 34: nmse = 5/34 = 0.147058... */
    cr_assert(epsilon_eq(dbl, t->nmse, 5.0 / 34.0, 1e-15));
    /* a.b = 1 + 12 + 4 + 4 + 15 + 0 = 36; |a|^2 = 1 + 9 + 4 + 4 + 25 = 43:
     * cosine = 36 / sqrt(43 * 34) = 36 / sqrt(1462) = 0.941518... */
    cr_assert(epsilon_eq(dbl, t->cosine, 0.9415184057386946, 1e-15));
    cr_assert(eq(i64, t->nonfinite, 0));
    cr_assert(not(t->has_logit_metrics));
    cr_assert(not(t->pass)); /* max_ulp 0 */
    compare_result_free(&r);
}

Test(compare, atol_rtol_count_mismatches_and_give_the_atol_needed)
{
    struct compare_result r;
    /* atol 0.5, rtol 0.25: tolerance per element is 0.5 + 0.25 |b|
     *   element 1: |a-b| = 1 <= 0.5 + 0.25 * 4 = 1.5   pass
     *   element 4: |a-b| = 2 >  0.5 + 0.25 * 3 = 1.25  mismatch
     * needed atol = max(|a-b| - 0.25 |b|) = max(0-0.25, 1-1, 0-0.5, 0-0.5,
     *               2-0.75, 0-0) = 1.25 (with atol 1.25 element 4 passes
     *               exactly: 2 <= 1.25 + 0.75). */
    compare_one_tap(&r, "x", 3, 2, six_cand, six_ref, "defaults: {atol: 0.5, rtol: 0.25}\n");
    const struct compare_tap *t = &r.taps[0];
    cr_assert(eq(i64, t->mismatches, 1));
    cr_assert(eq(int, t->n_checks, 1));
    const struct compare_check *c = &t->checks[0];
    cr_assert(eq(int, c->metric, POLICY_ELEMENTWISE));
    cr_assert(eq(dbl, c->value, 1.0));
    cr_assert(eq(dbl, c->bound, 0.0));
    cr_assert(not(c->pass));
    cr_assert(eq(dbl, c->needed, 1.25));
    cr_assert(not(t->pass));
    cr_assert(not(r.pass));
    cr_assert(eq(i64, r.first_fail, 0));
    compare_result_free(&r);

    /* The needed atol passes. */
    compare_one_tap(&r, "x", 3, 2, six_cand, six_ref, "defaults: {atol: 1.25, rtol: 0.25}\n");
    cr_assert(eq(i64, r.taps[0].mismatches, 0));
    cr_assert(r.taps[0].checks[0].pass);
    cr_assert(eq(dbl, r.taps[0].checks[0].needed, 0.0));
    cr_assert(r.pass);
    cr_assert(eq(i64, r.first_fail, -1));
    compare_result_free(&r);

    /* atol alone (rtol 0): |a-b| <= 1 passes element 1 only, not 4;
     * needed = max |a-b| = 2. */
    compare_one_tap(&r, "x", 3, 2, six_cand, six_ref, "defaults: {atol: 1}\n");
    cr_assert(eq(i64, r.taps[0].mismatches, 1));
    cr_assert(eq(dbl, r.taps[0].checks[0].needed, 2.0));
    compare_result_free(&r);

    /* rtol alone (atol 0): 1 <= 0.5*4 = 2 passes, 2 <= 0.5*3 = 1.5 fails;
     * needed = max(1 - 2, 2 - 1.5) = 0.5. */
    compare_one_tap(&r, "x", 3, 2, six_cand, six_ref, "defaults: {rtol: 0.5}\n");
    cr_assert(eq(i64, r.taps[0].mismatches, 1));
    cr_assert(eq(dbl, r.taps[0].checks[0].needed, 0.5));
    compare_result_free(&r);
}

Test(compare, each_check_has_value_bound_verdict_and_needed)
{
    struct compare_result r;
    compare_one_tap(&r, "x", 3, 2, six_cand, six_ref,
                    "defaults:\n"
                    "  max_ulp: 6291456\n" /* = measured: pass */
                    "  max_abs: 1.5\n"     /* 2 > 1.5: fail, needed 2 */
                    "  max_rel: 1\n"       /* 2/3 <= 1: pass */
                    "  min_cosine: 0.99\n" /* 0.9415 < 0.99: fail, needed 0.9415 */
                    "  max_nmse: 0.5\n"    /* 5/34 <= 0.5: pass */
                    "  max_rmse: 0.5\n");  /* 0.9129 > 0.5: fail, needed 0.9129 */
    const struct compare_tap *t = &r.taps[0];
    cr_assert(eq(int, t->n_checks, 6));
    /* In enum order. */
    static const enum policy_metric order[] = {POLICY_MAX_ULP, POLICY_MAX_ABS, POLICY_MAX_REL,
                                               POLICY_MIN_COSINE, POLICY_MAX_NMSE,
                                               POLICY_MAX_RMSE};
    for (int i = 0; i < 6; i++)
        cr_assert(eq(int, t->checks[i].metric, order[i]));

    const struct compare_check *c = find_check(t, POLICY_MAX_ULP);
    cr_assert(c->pass);
    cr_assert(eq(dbl, c->value, 6291456.0));
    cr_assert(eq(dbl, c->bound, 6291456.0));
    cr_assert(eq(dbl, c->needed, 0.0));

    c = find_check(t, POLICY_MAX_ABS);
    cr_assert(not(c->pass));
    cr_assert(eq(dbl, c->value, 2.0));
    cr_assert(eq(dbl, c->bound, 1.5));
    cr_assert(eq(dbl, c->needed, 2.0));

    c = find_check(t, POLICY_MAX_REL);
    cr_assert(c->pass);

    c = find_check(t, POLICY_MIN_COSINE);
    cr_assert(not(c->pass));
    cr_assert(eq(dbl, c->bound, 0.99));
    cr_assert(epsilon_eq(dbl, c->needed, 0.9415184057386946, 1e-15));

    c = find_check(t, POLICY_MAX_NMSE);
    cr_assert(c->pass);

    c = find_check(t, POLICY_MAX_RMSE);
    cr_assert(not(c->pass));
    cr_assert(epsilon_eq(dbl, c->needed, 0.9128709291752769, 1e-15));
    cr_assert(not(t->pass));
    compare_result_free(&r);

    /* max_ulp one short of the measured distance fails and names it. */
    compare_one_tap(&r, "x", 3, 2, six_cand, six_ref, "defaults: {max_ulp: 6291455}\n");
    c = &r.taps[0].checks[0];
    cr_assert(not(c->pass));
    cr_assert(eq(dbl, c->needed, 6291456.0));
    compare_result_free(&r);
}

Test(compare, identical_taps_measure_zero)
{
    const float v[4] = {0.1f, -3.0f, 1e-30f, 7.0f};
    struct compare_result r;
    compare_one_tap(&r, "x", 2, 2, v, v,
                    "defaults: {max_ulp: 0, max_abs: 0, max_rel: 0, min_cosine: 1, "
                    "max_nmse: 0, max_rmse: 0, atol: 0}\n");
    const struct compare_tap *t = &r.taps[0];
    cr_assert(eq(dbl, t->max_abs, 0.0));
    cr_assert(eq(i64, t->max_abs_index, 0)); /* nothing differs: index 0 */
    cr_assert(eq(dbl, t->cosine, 1.0));      /* exactly: sqrt(aa * aa) = aa */
    cr_assert(eq(dbl, t->nmse, 0.0));
    cr_assert(eq(dbl, t->rmse, 0.0));
    cr_assert(t->pass);
    cr_assert(r.pass);
    compare_result_free(&r);
}

Test(compare, signed_zeros_and_subnormals)
{
    float tiny = bits(1); /* 2^-149 */
    const float ref[4] = {0.0f, -0.0f, tiny, FLT_MIN};
    const float cand[4] = {-0.0f, 0.0f, -tiny, bits(0x007fffff)};
    struct compare_result r;
    compare_one_tap(&r, "x", 4, 1, cand, ref, "defaults: {max_ulp: 2}\n");
    const struct compare_tap *t = &r.taps[0];
    /* +0/-0 count as equal: only elements 2 and 3 differ. */
    cr_assert(eq(i64, t->mismatches, 2));
    /* tiny vs -tiny: 2 steps; FLT_MIN vs its lower neighbour: 1. */
    cr_assert(eq(u64, t->max_ulp, 2));
    /* |a-b| = 2^-148 at index 2, and 2^-149 at index 3:
     * FLT_MIN - 0x007fffff = 2^-126 - (2^-126 - 2^-149) = 2^-149. */
    cr_assert(eq(dbl, t->max_abs, 0x1p-148));
    cr_assert(eq(i64, t->max_abs_index, 2));
    /* rel: 2^-148 / 2^-149 = 2. */
    cr_assert(eq(dbl, t->max_rel, 2.0));
    cr_assert(t->pass);
    compare_result_free(&r);
}

Test(compare, zero_vectors_have_cosine_one_and_nmse_zero)
{
    const float z[3] = {0, 0, 0}, one[3] = {0, 1, 0};
    struct compare_result r;
    compare_one_tap(&r, "x", 3, 1, z, z, "defaults: {min_cosine: 1}\n");
    cr_assert(eq(dbl, r.taps[0].cosine, 1.0));
    cr_assert(eq(dbl, r.taps[0].nmse, 0.0));
    compare_result_free(&r);
    /* Candidate non-zero against a zero reference: sum b^2 = 0 with
     * sum (a-b)^2 = 1: nmse Inf; cosine of a zero vector with another: 0. */
    compare_one_tap(&r, "x", 3, 1, one, z, "defaults: {max_nmse: 1e30}\n");
    cr_assert(eq(dbl, r.taps[0].nmse, INFINITY));
    cr_assert(eq(dbl, r.taps[0].cosine, 0.0));
    cr_assert(eq(dbl, r.taps[0].max_rel, 0.0)); /* b = 0 everywhere: no ratio */
    cr_assert(not(r.taps[0].pass));
    compare_result_free(&r);
}

Test(compare, opposite_vectors_have_cosine_minus_one)
{
    const float b[2] = {3, 4}, a[2] = {-3, -4};
    struct compare_result r;
    compare_one_tap(&r, "x", 2, 1, a, b, "defaults: {min_cosine: 0}\n");
    /* a.b = -9 - 16 = -25; |a||b| = 5 * 5 = 25: -1. */
    cr_assert(eq(dbl, r.taps[0].cosine, -1.0));
    /* sum (a-b)^2 = 36 + 64 = 100, sum b^2 = 25: nmse 4. */
    cr_assert(eq(dbl, r.taps[0].nmse, 4.0));
    cr_assert(not(r.taps[0].pass));
    compare_result_free(&r);
}

/* ---- NaN and Inf ---- */

Test(compare, candidate_nan_fails_whatever_the_bounds)
{
    const float ref[4] = {1, 2, 3, 4};
    const float cand[4] = {1, NAN, 3, 4};
    struct compare_result r;
    compare_one_tap(&r, "l_out-0", 4, 1, cand, ref,
                    "defaults: {atol: 1e300, rtol: 1e300, max_ulp: 4294967296, max_abs: 1e300, "
                    "max_rel: 1e300, min_cosine: 0, max_nmse: 1e300, max_rmse: 1e300}\n");
    const struct compare_tap *t = &r.taps[0];
    cr_assert(eq(i64, t->nonfinite, 1));
    /* NaN against 2 is infinitely apart: max_abs Inf at index 1. */
    cr_assert(eq(dbl, t->max_abs, INFINITY));
    cr_assert(eq(i64, t->max_abs_index, 1));
    cr_assert(eq(u64, t->max_ulp, UINT64_MAX));
    cr_assert(eq(i64, t->mismatches, 1)); /* Inf > any finite tolerance */
    cr_assert(not(find_check(t, POLICY_MAX_ULP)->pass));
    cr_assert(not(t->pass));
    cr_assert(not(r.pass));
    cr_assert(eq(i64, r.first_fail, 0));
    compare_result_free(&r);
}

Test(compare, candidate_nan_fails_even_with_no_check_on_the_tap)
{
    const float ref[2] = {1, 2};
    const float cand[2] = {INFINITY, 2};
    struct compare_result r;
    /* Only result_output has a check; l_out-0 gets the (empty) defaults. */
    compare_one_tap(&r, "l_out-0", 2, 1, cand, ref,
                    "taps: {result_output: {min_top1: 0}}\n");
    cr_assert(eq(int, r.taps[0].n_checks, 0));
    cr_assert(eq(i64, r.taps[0].nonfinite, 1));
    cr_assert(not(r.taps[0].pass));
    cr_assert(not(r.pass));
    compare_result_free(&r);
}

Test(compare, equal_non_finite_values_agree)
{
    const float ref[4] = {NAN, INFINITY, -INFINITY, 1};
    const float cand[4] = {NAN, INFINITY, -INFINITY, 1};
    struct compare_result r;
    compare_one_tap(&r, "x", 4, 1, cand, ref,
                    "defaults: {max_ulp: 0, atol: 0, max_abs: 0, min_cosine: 1, max_nmse: 0}\n");
    const struct compare_tap *t = &r.taps[0];
    cr_assert(eq(i64, t->nonfinite, 0)); /* the reference is not finite there */
    cr_assert(eq(u64, t->max_ulp, 0));
    cr_assert(eq(dbl, t->max_abs, 0.0));
    /* Only element 3 enters the sums: cosine 1*1/sqrt(1*1) = 1, nmse 0. */
    cr_assert(eq(dbl, t->cosine, 1.0));
    cr_assert(eq(dbl, t->nmse, 0.0));
    cr_assert(t->pass);
    compare_result_free(&r);
}

Test(compare, infinity_against_flt_max)
{
    const float ref[1] = {FLT_MAX};
    const float cand[1] = {INFINITY};
    struct compare_result r;
    compare_one_tap(&r, "x", 1, 1, cand, ref, "defaults: {max_ulp: 1}\n");
    /* One step apart, yet the candidate is Inf where the reference is
     * finite: the max_ulp check passes and the tap still fails. */
    cr_assert(eq(u64, r.taps[0].max_ulp, 1));
    cr_assert(r.taps[0].checks[0].pass);
    cr_assert(eq(i64, r.taps[0].nonfinite, 1));
    cr_assert(not(r.taps[0].pass));
    compare_result_free(&r);
}

Test(compare, reference_infinity_with_rtol_is_still_a_mismatch)
{
    /* rtol * |Inf| would tolerate anything: a finite candidate against an
     * infinite reference is a mismatch, and needs an infinite atol. */
    const float ref[2] = {INFINITY, 1};
    const float cand[2] = {1e30f, 1};
    struct compare_result r;
    compare_one_tap(&r, "x", 2, 1, cand, ref, "defaults: {atol: 1, rtol: 0.5}\n");
    cr_assert(eq(i64, r.taps[0].mismatches, 1));
    cr_assert(eq(dbl, r.taps[0].checks[0].needed, INFINITY));
    cr_assert(eq(i64, r.taps[0].nonfinite, 0));
    cr_assert(not(r.taps[0].pass));
    compare_result_free(&r);
}

/* ---- logits ---- */

Test(compare, kl_divergence_of_two_token_logits)
{
    /* Position 0: reference [0, ln 3] -> p = (1, 3)/4; candidate [0, 0] ->
     * q = (1/2, 1/2). KL = 1/4 ln((1/4)/(1/2)) + 3/4 ln((3/4)/(1/2))
     *                    = 1/4 ln(1/2) + 3/4 ln(3/2)
     *                    = -0.1732868 + 0.3040988 = 0.1308120
     * (ln 3 rounded to float moves p by ~1e-8: within 1e-7 of this).
     * Position 1: both [2, 1]: KL 0.
     * Mean 0.1308120 / 2 = 0.0654060, max 0.1308120.
     * Argmax: position 0 reference 1, candidate 0 (first of the tie):
     * disagree; position 1 agree: top1 = 1/2. */
    const float ref[4] = {0.0f, logf(3.0f), 2.0f, 1.0f};
    const float cand[4] = {0.0f, 0.0f, 2.0f, 1.0f};
    struct compare_result r;
    compare_one_tap(&r, "result_output", 2, 2, cand, ref,
                    "defaults: {max_kld: 0.05, max_kld_max: 0.2, min_top1: 0.5}\n");
    const struct compare_tap *t = &r.taps[0];
    cr_assert(t->has_logit_metrics);
    cr_assert(epsilon_eq(dbl, t->kld_max, 0.13081203594113697, 1e-7));
    cr_assert(epsilon_eq(dbl, t->kld_mean, 0.13081203594113697 / 2, 1e-7));
    cr_assert(eq(dbl, t->top1, 0.5));
    const struct compare_check *c = find_check(t, POLICY_MAX_KLD);
    cr_assert(not(c->pass)); /* 0.0654 > 0.05 */
    cr_assert(epsilon_eq(dbl, c->needed, 0.13081203594113697 / 2, 1e-7));
    cr_assert(find_check(t, POLICY_MAX_KLD_MAX)->pass); /* 0.1308 <= 0.2 */
    cr_assert(find_check(t, POLICY_MIN_TOP1)->pass);    /* 0.5 >= 0.5 */
    cr_assert(not(t->pass));
    compare_result_free(&r);
}

Test(compare, kl_divergence_of_three_token_logits)
{
    /* Reference [0, 0, ln 2] -> p = (1, 1, 2)/4; candidate [5, 5, 5] ->
     * q = (1/3, 1/3, 1/3). KL = 2 * 1/4 ln((1/4)/(1/3)) + 1/2 ln((1/2)/(1/3))
     *                         = 1/2 ln(3/4) + 1/2 ln(3/2) = 1/2 ln(9/8)
     *                         = 0.0588915. */
    const float ref[3] = {0.0f, 0.0f, logf(2.0f)};
    const float cand[3] = {5.0f, 5.0f, 5.0f};
    struct compare_result r;
    compare_one_tap(&r, "result_output", 3, 1, cand, ref, "defaults: {max_kld: 1}\n");
    cr_assert(epsilon_eq(dbl, r.taps[0].kld_mean, 0.05889151782819173, 1e-7));
    cr_assert(eq(dbl, r.taps[0].kld_mean, r.taps[0].kld_max)); /* one position */
    /* Argmax: reference 2, candidate 0 (first of three equal). */
    cr_assert(eq(dbl, r.taps[0].top1, 0.0));
    compare_result_free(&r);
}

Test(compare, kl_divergence_survives_a_candidate_probability_of_zero)
{
    /* Reference [0, 0] -> p = (1/2, 1/2); candidate [0, -1000]: exp(-1000)
     * underflows to 0 in double, so q2 = 0 where p2 > 0. Through
     * log-softmax: log q = (-log(1 + e^-1000), -1000 - log(1 + e^-1000))
     * = (0, -1000), log p = (-ln 2, -ln 2):
     * KL = 1/2 (-ln 2 - 0) + 1/2 (-ln 2 + 1000) = 500 - ln 2 = 499.3068528. */
    const float ref[2] = {0.0f, 0.0f};
    const float cand[2] = {0.0f, -1000.0f};
    struct compare_result r;
    compare_one_tap(&r, "result_output", 2, 1, cand, ref, "defaults: {max_kld: 1e9}\n");
    cr_assert(epsilon_eq(dbl, r.taps[0].kld_mean, 499.30685281944005, 1e-9));
    cr_assert(r.taps[0].pass);
    compare_result_free(&r);
}

Test(compare, top_k_overlap_and_top1)
{
    /* k = 2, width 5.
     * Position 0: reference [5,4,3,2,1] top2 {0,1}; candidate [5,1,4,2,3]
     *   top2 {0,2}: overlap 1/2; argmax 0 and 0 agree.
     * Position 1: reference [1,2,3,4,5] top2 {4,3}; candidate [1,2,3,5,4]
     *   top2 {3,4}: overlap 1; argmax 4 vs 3 disagree.
     * Position 2 (ties by lower index): reference [2,1,1,0,0] top2 {0,1};
     *   candidate [2,0,1,1,0] top2 {0,2}: overlap 1/2; argmax 0, 0 agree.
     * topk = (1/2 + 1 + 1/2) / 3 = 2/3; top1 = 2/3. */
    const float ref[15] = {5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 2, 1, 1, 0, 0};
    const float cand[15] = {5, 1, 4, 2, 3, 1, 2, 3, 5, 4, 2, 0, 1, 1, 0};
    struct compare_result r;
    compare_one_tap(&r, "result_output", 5, 3, cand, ref,
                    "defaults: {min_topk: 0.7, top_k: 2, min_top1: 0.5}\n");
    const struct compare_tap *t = &r.taps[0];
    cr_assert(eq(i64, t->top_k, 2));
    cr_assert(epsilon_eq(dbl, t->topk, 2.0 / 3.0, 1e-15));
    cr_assert(epsilon_eq(dbl, t->top1, 2.0 / 3.0, 1e-15));
    const struct compare_check *c = find_check(t, POLICY_MIN_TOPK);
    cr_assert(not(c->pass)); /* 0.667 < 0.7 */
    cr_assert(eq(dbl, c->bound, 0.7));
    cr_assert(epsilon_eq(dbl, c->needed, 2.0 / 3.0, 1e-15));
    cr_assert(find_check(t, POLICY_MIN_TOP1)->pass);
    compare_result_free(&r);

    /* k = 10 > width 5: k becomes 5 and every row overlaps fully. */
    compare_one_tap(&r, "result_output", 5, 3, cand, ref, "defaults: {min_topk: 1}\n");
    cr_assert(eq(i64, r.taps[0].top_k, 5));
    cr_assert(eq(dbl, r.taps[0].topk, 1.0));
    cr_assert(r.taps[0].pass);
    compare_result_free(&r);
}

Test(compare, top_k_on_a_wide_row)
{
    /* Width 1000, reference r[i] = i (top 10: 990..999); the candidate
     * swaps elements 985 and 995 (985 enters, 995 leaves): 9 of 10. */
    static float ref[1000], cand[1000];
    for (int i = 0; i < 1000; i++)
        ref[i] = cand[i] = (float)i;
    cand[985] = 995.0f;
    cand[995] = 985.0f;
    struct compare_result r;
    compare_one_tap(&r, "result_output", 1000, 1, cand, ref, "defaults: {min_topk: 0.9}\n");
    cr_assert(eq(i64, r.taps[0].top_k, 10));
    cr_assert(epsilon_eq(dbl, r.taps[0].topk, 0.9, 1e-15));
    cr_assert(eq(dbl, r.taps[0].top1, 1.0)); /* 999 is still first */
    cr_assert(r.taps[0].pass);
    compare_result_free(&r);
}

Test(compare, logit_metrics_where_named_or_asked_for)
{
    const float v[4] = {1, 2, 3, 4};
    struct compare_result r;
    /* result_output always gets them, even with no logit check. */
    compare_one_tap(&r, "result_output", 2, 2, v, v, "defaults: {max_ulp: 0}\n");
    cr_assert(r.taps[0].has_logit_metrics);
    cr_assert(eq(dbl, r.taps[0].kld_mean, 0.0));
    cr_assert(eq(dbl, r.taps[0].top1, 1.0));
    compare_result_free(&r);
    /* Another tap only when the policy puts a logit check on it. */
    compare_one_tap(&r, "l_out-1", 2, 2, v, v, "defaults: {max_ulp: 0}\n");
    cr_assert(not(r.taps[0].has_logit_metrics));
    compare_result_free(&r);
    compare_one_tap(&r, "l_out-1", 2, 2, v, v,
                    "defaults: {max_ulp: 0}\ntaps: {\"l_out-*\": {min_top1: 1}}\n");
    cr_assert(r.taps[0].has_logit_metrics);
    cr_assert(r.taps[0].pass);
    compare_result_free(&r);
}

Test(compare, non_finite_logits_fail_every_logit_metric)
{
    const float ref[4] = {1, 2, 1, 2};
    const float cand[4] = {1, NAN, 1, 2};
    struct compare_result r;
    compare_one_tap(&r, "result_output", 2, 2, cand, ref,
                    "defaults: {max_kld: 1e300, min_top1: 0.5, min_topk: 0.5, top_k: 1}\n");
    const struct compare_tap *t = &r.taps[0];
    /* Position 0 counts as KL Inf, no agreement, no overlap; position 1 is
     * identical: top1 = topk = 1/2, mean KL Inf. */
    cr_assert(eq(dbl, t->kld_max, INFINITY));
    cr_assert(eq(dbl, t->kld_mean, INFINITY));
    cr_assert(eq(dbl, t->top1, 0.5));
    cr_assert(eq(dbl, t->topk, 0.5));
    cr_assert(not(find_check(t, POLICY_MAX_KLD)->pass));
    cr_assert(not(t->pass));
    compare_result_free(&r);
}

/* ---- whole dumps ---- */

Test(compare, missing_taps_fail_both_ways)
{
    const float v[2] = {1, 2};
    struct dump_tap rt[3] = {mk_tap("inp_embd", 2, 1, v), mk_tap("l_out-0", 2, 1, v),
                             mk_tap("result_output", 2, 1, v)};
    struct dump_tap ct[4] = {mk_tap("inp_embd", 2, 1, v), mk_tap("result_output", 2, 1, v),
                             mk_tap("extra-4", 2, 1, v), mk_tap("extra-4", 2, 1, v)};
    struct dump rd = mk_dump(rt, 3), cd = mk_dump(ct, 4);
    struct policy p;
    mk_policy(&p, "defaults: {max_ulp: 0}\n");
    struct compare_result r;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, compare_dumps(&rd, &cd, &p, &r, &err), 0), "%s", err.msg);
    /* Reference order, then the candidate-only tap once. */
    cr_assert(eq(i64, r.n_taps, 4));
    cr_assert(eq(str, r.taps[0].name, "inp_embd"));
    cr_assert(r.taps[0].pass);
    cr_assert(eq(str, r.taps[1].name, "l_out-0"));
    cr_assert(r.taps[1].missing_in_cand);
    cr_assert(not(r.taps[1].missing_in_ref));
    cr_assert(not(r.taps[1].pass));
    cr_assert(eq(int, r.taps[1].n_checks, 0));
    cr_assert(eq(str, r.taps[2].name, "result_output"));
    cr_assert(r.taps[2].pass);
    cr_assert(eq(str, r.taps[3].name, "extra-4"));
    cr_assert(r.taps[3].missing_in_ref);
    cr_assert(eq(i64, r.taps[3].layer, 4));
    cr_assert(not(r.taps[3].pass));
    cr_assert(eq(i64, r.first_fail, 1));
    cr_assert(not(r.pass));
    compare_result_free(&r);

    /* Only a candidate-only tap fails: first_fail points at it. */
    struct dump rd2 = mk_dump(rt, 1), cd2 = mk_dump(ct, 2); /* inp_embd | inp_embd, result_output */
    cr_assert(eq(int, compare_dumps(&rd2, &cd2, &p, &r, &err), 0));
    cr_assert(eq(i64, r.n_taps, 2));
    cr_assert(r.taps[1].missing_in_ref);
    cr_assert(eq(i64, r.first_fail, 1));
    cr_assert(not(r.pass));
    compare_result_free(&r);
    policy_free(&p);
}

Test(compare, shape_mismatch_fails)
{
    const float v[6] = {1, 2, 3, 4, 5, 6};
    struct dump_tap rt[2] = {mk_tap("a", 3, 2, v), mk_tap("b", 2, 1, v)};
    struct dump_tap ct[2] = {mk_tap("a", 2, 3, v), mk_tap("b", 2, 2, v)};
    struct dump rd = mk_dump(rt, 2), cd = mk_dump(ct, 2);
    struct policy p;
    mk_policy(&p, "defaults: {max_abs: 1e30}\n");
    struct compare_result r;
    cr_assert(eq(int, compare_dumps(&rd, &cd, &p, &r, NULL), 0));
    cr_assert(r.taps[0].shape_mismatch); /* width 3 vs 2 */
    cr_assert(r.taps[1].shape_mismatch); /* 1 position vs 2 */
    cr_assert(eq(i64, r.taps[0].width, 3)); /* the reference's shape */
    cr_assert(not(r.taps[0].pass));
    cr_assert(eq(int, r.taps[0].n_checks, 0));
    cr_assert(eq(i64, r.first_fail, 0));
    compare_result_free(&r);
    policy_free(&p);
}

Test(compare, first_fail_is_the_first_in_execution_order)
{
    const float ref[2] = {1, 2}, off[2] = {1, 2.5f};
    /* Drift appears at ffn_out-1 and grows; earlier taps are exact. */
    struct dump_tap rt[5] = {mk_tap("inp_embd", 2, 1, ref), mk_tap("l_out-0", 2, 1, ref),
                             mk_tap("ffn_out-1", 2, 1, ref), mk_tap("l_out-1", 2, 1, ref),
                             mk_tap("result_output", 2, 1, ref)};
    /* The candidate's taps in another order: execution order is the reference's. */
    struct dump_tap ct[5] = {mk_tap("result_output", 2, 1, off), mk_tap("l_out-1", 2, 1, off),
                             mk_tap("inp_embd", 2, 1, ref), mk_tap("ffn_out-1", 2, 1, off),
                             mk_tap("l_out-0", 2, 1, ref)};
    struct dump rd = mk_dump(rt, 5), cd = mk_dump(ct, 5);
    struct policy p;
    mk_policy(&p, "defaults: {max_abs: 0.1}\ntaps: {result_output: {max_abs: 1}}\n");
    struct compare_result r;
    cr_assert(eq(int, compare_dumps(&rd, &cd, &p, &r, NULL), 0));
    cr_assert(eq(i64, r.n_taps, 5));
    static const bool pass[5] = {true, true, false, false, true};
    static const int64_t layer[5] = {-1, 0, 1, 1, -1};
    for (int i = 0; i < 5; i++) {
        cr_assert(eq(str, r.taps[i].name, rt[i].name));
        cr_assert(eq(int, r.taps[i].pass, pass[i]), "%s", r.taps[i].name);
        cr_assert(eq(i64, r.taps[i].layer, layer[i]));
    }
    cr_assert(eq(i64, r.first_fail, 2)); /* ffn_out-1 */
    cr_assert(not(r.pass));
    compare_result_free(&r);
    policy_free(&p);
}

Test(compare, rules_pick_the_checks_per_tap)
{
    /* Differences 2^-23 * 1 (1 ulp at 1.0) on every tap. */
    const float ref[1] = {1.0f};
    const float cand[1] = {1.0f + 0x1p-23f};
    struct dump_tap rt[3] = {mk_tap("Qcur-0", 1, 1, ref), mk_tap("Kcur-0", 1, 1, ref),
                             mk_tap("Vcur-0", 1, 1, ref)};
    struct dump_tap ct[3] = {mk_tap("Qcur-0", 1, 1, cand), mk_tap("Kcur-0", 1, 1, cand),
                             mk_tap("Vcur-0", 1, 1, cand)};
    struct dump rd = mk_dump(rt, 3), cd = mk_dump(ct, 3);
    struct policy p;
    /* Qcur inherits max_abs from the defaults and loosens max_ulp; Kcur
     * keeps the default max_ulp 0; Vcur's rule loosens both. */
    mk_policy(&p, "defaults: {max_ulp: 0, max_abs: 1e-9}\n"
                  "taps:\n  \"Qcur-*\": {max_ulp: 1}\n  \"[QV]cur-0\": {max_ulp: 1, max_abs: 1}\n");
    struct compare_result r;
    cr_assert(eq(int, compare_dumps(&rd, &cd, &p, &r, NULL), 0));
    /* Qcur-0: first rule wins: max_ulp 1 passes, inherited max_abs 1e-9 < 2^-23 fails. */
    cr_assert(eq(int, r.taps[0].n_checks, 2));
    cr_assert(find_check(&r.taps[0], POLICY_MAX_ULP)->pass);
    cr_assert(not(find_check(&r.taps[0], POLICY_MAX_ABS)->pass));
    cr_assert(eq(dbl, find_check(&r.taps[0], POLICY_MAX_ABS)->needed, 0x1p-23));
    cr_assert(not(r.taps[1].pass)); /* Kcur-0: defaults, max_ulp 0 */
    cr_assert(r.taps[2].pass);      /* Vcur-0: second rule */
    cr_assert(eq(i64, r.first_fail, 0));
    compare_result_free(&r);
    policy_free(&p);
}

Test(compare, captured_dumps_compare_like_hand_built_ones)
{
    struct dump a, b;
    dump_init(&a);
    dump_init(&b);
    struct plumb_err err = {{0}};
    const float row0[3] = {1, 2, 3}, row1[3] = {4, 5, 6}, row1b[3] = {4, 5, 7};
    /* Two positions captured one at a time, as the forward pass does. */
    cr_assert(eq(int, dump_capture_tap(&a, "l_out-0", row0, 3, 1, 0, &err), 0), "%s", err.msg);
    cr_assert(eq(int, dump_capture_tap(&a, "l_out-0", row1, 3, 1, 1, &err), 0), "%s", err.msg);
    cr_assert(eq(int, dump_capture_tap(&b, "l_out-0", row0, 3, 1, 0, &err), 0), "%s", err.msg);
    cr_assert(eq(int, dump_capture_tap(&b, "l_out-0", row1b, 3, 1, 1, &err), 0), "%s", err.msg);
    struct policy p;
    mk_policy(&p, "defaults: {max_abs: 0.5}\n");
    struct compare_result r;
    cr_assert(eq(int, compare_dumps(&a, &b, &p, &r, &err), 0), "%s", err.msg);
    /* |7 - 6| = 1 at index 5: position 1, column 2. */
    cr_assert(eq(dbl, r.taps[0].max_abs, 1.0));
    cr_assert(eq(i64, r.taps[0].max_abs_index, 5));
    cr_assert(not(r.pass));
    compare_result_free(&r);
    compare_result_free(&r); /* safe twice */
    policy_free(&p);
    dump_free(&a);
    dump_free(&b);
}

Test(compare, empty_dumps_pass)
{
    struct dump a = mk_dump(NULL, 0);
    struct policy p;
    mk_policy(&p, "defaults: {max_ulp: 0}\n");
    struct compare_result r;
    cr_assert(eq(int, compare_dumps(&a, &a, &p, &r, NULL), 0));
    cr_assert(eq(i64, r.n_taps, 0));
    cr_assert(r.pass);
    cr_assert(eq(i64, r.first_fail, -1));
    compare_result_free(&r);
    policy_free(&p);
}
