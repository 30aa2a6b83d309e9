/*
 * test_mathfn.c: plumb's exp, sin, cos, pow and SiLU against libm's double
 * precision as the oracle, and against values computed independently.
 *
 * Error is measured in ulp of the float result at the oracle's value:
 * |f - d| / ulp(d), ulp(d) = 2^(max(floor(log2 |d|), -126) - 23). A correctly
 * rounded result has error <= 0.5; mathfn.h claims <= 0.501 (ULP_BOUND) for
 * every function over the ranges below, and the sweeps pin that claim. The
 * oracle's own error (< 1 double ulp, i.e. < 2^-29 float ulp) is far below
 * the margin. Each sweep logs its measured maximum (criterion --verbose).
 *
 * Pinned values were computed with mpmath at 300 bits and rounded to binary32
 * by integer arithmetic (round half to even), not by any C library.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/new/assert.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mathfn.h"

/* Criterion 2.4's assertion macros store an int into a 1-bit field, which
 * -Wconversion reports at every cr_assert. This file was checked clean of
 * -Wconversion warnings of its own with the pragma removed. */
#pragma GCC diagnostic ignored "-Wconversion"

TestSuite(mathfn, .timeout = 60);

#define ULP_BOUND 0.501
#define N_RANDOM 1000000
#define SEED 0x706c756d62ull /* "plumb" */

/* ---- helpers ------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform double in [lo, hi) rounded to float (may land on hi). */
static float rand_float_in(uint64_t *st, double lo, double hi)
{
    double u = (double)(splitmix64(st) >> 11) * 0x1p-53;
    return (float)(lo + (hi - lo) * u);
}

/* Any finite float, uniformly over bit patterns (so every exponent). */
static float rand_float_bits(uint64_t *st)
{
    for (;;) {
        uint32_t u = (uint32_t)(splitmix64(st) >> 32);
        float f;
        memcpy(&f, &u, sizeof f);
        if (isfinite(f))
            return f;
    }
}

static uint32_t bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Error of float f against the exact value d, in float ulps at d. Exact
 * values at or past the overflow midpoint must give +-Inf (error 0), any
 * other disagreement about infinities or NaN is an infinite error. */
static double ulp_err(float f, double d)
{
    if (isnan(d) || isnan(f))
        return (isnan(d) && isnan(f)) ? 0.0 : INFINITY;
    if (fabs(d) >= 0x1.ffffffp127)
        return (isinf(f) && (f > 0) == (d > 0)) ? 0.0 : INFINITY;
    if (isinf(f))
        return INFINITY;
    int ex;
    frexp(d, &ex);
    int e = ex - 1 < -126 ? -126 : ex - 1;
    return fabs((double)f - d) / ldexp(1.0, e - 23);
}

/* The worst case of a sweep: inputs, result, oracle, error. */
struct worst {
    double err, exact;
    float x, y, got;
    int64_t n;
};

static void note(struct worst *w, float x, float y, float got, double exact)
{
    double e = ulp_err(got, exact);
    w->n++;
    if (e > w->err || w->n == 1) {
        w->err = e;
        w->x = x;
        w->y = y;
        w->got = got;
        w->exact = exact;
    }
}

static void assert_worst(const struct worst *w, const char *what)
{
    cr_log_info("%s: max %.9f ulp over %lld inputs, at x=%a y=%a", what, w->err, (long long)w->n,
                (double)w->x, (double)w->y);
    cr_assert(le(dbl, w->err, ULP_BOUND),
              "%s: x=%a y=%a gives %a, exact %a: %.6f ulp > %.3f (%lld inputs, seed %#llx)", what,
              (double)w->x, (double)w->y, (double)w->got, w->exact, w->err, ULP_BOUND,
              (long long)w->n, (unsigned long long)SEED);
}

static double silu_exact(double x)
{
    return x / (1.0 + exp(-x));
}

/* Every stride-th float bit pattern from lo to hi (both signs as given). */
#define FOR_BITS(u, lo, hi, stride) \
    for (uint64_t u = (lo); u <= (uint64_t)(hi); u += (stride))

/* ---- exp ----------------------------------------------------------------- */

Test(mathfn, expf_is_within_half_ulp_over_its_whole_finite_range)
{
    struct worst w = {0};
    /* every magnitude: bit patterns of [0, 89] and [-104, -0] */
    FOR_BITS(u, 0x00000000u, 0x42b20000u, 509) {
        float x = from_bits((uint32_t)u);
        note(&w, x, 0, mathfn_expf(x), exp((double)x));
    }
    FOR_BITS(u, 0x80000000u, 0xc2d00000u, 509) {
        float x = from_bits((uint32_t)u);
        note(&w, x, 0, mathfn_expf(x), exp((double)x));
    }
    /* evenly over [-104, 89], plus every float near both edges */
    for (int i = 0; i <= 1000000; i++) {
        float x = (float)(-104.0 + 193.0 * i / 1e6);
        note(&w, x, 0, mathfn_expf(x), exp((double)x));
    }
    for (float x = 88.5f; x <= 89.0f; x = nextafterf(x, INFINITY))
        note(&w, x, 0, mathfn_expf(x), exp((double)x));
    for (float x = -104.0f; x <= -103.0f; x = nextafterf(x, INFINITY))
        note(&w, x, 0, mathfn_expf(x), exp((double)x));
    assert_worst(&w, "expf sweep");
}

Test(mathfn, expf_is_within_half_ulp_on_random_inputs)
{
    struct worst w = {0};
    uint64_t st = SEED;
    for (int i = 0; i < N_RANDOM; i++) {
        float x = rand_float_in(&st, -104.0, 89.0);
        note(&w, x, 0, mathfn_expf(x), exp((double)x));
    }
    assert_worst(&w, "expf random");
}

Test(mathfn, expf_overflows_and_underflows_at_the_exact_thresholds)
{
    /* e^x passes the midpoint FLT_MAX..2^128 between these two floats */
    cr_assert(eq(flt, mathfn_expf(0x1.62e42ep+6f), 0x1.ffff08p+127f));
    cr_assert(eq(u32, bits(mathfn_expf(0x1.62e430p+6f)), bits(INFINITY)));
    /* and drops below 2^-150 (half the smallest subnormal) between these */
    cr_assert(eq(flt, mathfn_expf(-0x1.9fe368p+6f), 0x1p-149f));
    cr_assert(eq(u32, bits(mathfn_expf(-0x1.9fe36ap+6f)), bits(0.0f)));
}

/* ---- sin, cos ------------------------------------------------------------ */

static void note_sincos(struct worst *ws, struct worst *wc, float x)
{
    float s, c;
    mathfn_sincosf(x, &s, &c);
    note(ws, x, 0, s, sin((double)x));
    note(wc, x, 0, c, cos((double)x));
}

Test(mathfn, sincos_is_within_half_ulp_over_plus_minus_2_to_20)
{
    struct worst ws = {0}, wc = {0};
    /* every magnitude up to 2^20, both signs */
    FOR_BITS(u, 0x00000000u, 0x49800000u, 613) {
        note_sincos(&ws, &wc, from_bits((uint32_t)u));
        note_sincos(&ws, &wc, -from_bits((uint32_t)u));
    }
    /* evenly over [-2^20, 2^20] */
    for (int i = 0; i <= 1000000; i++)
        note_sincos(&ws, &wc, (float)(-0x1p20 + 0x1p21 * i / 1e6));
    /* the floats nearest k pi/2 (where the result is tiny) and neighbours */
    for (int64_t k = 0; (double)k * 1.5707963267948966 <= 0x1p20; k++) {
        float c = (float)((double)k * 1.5707963267948966);
        float lo = c, hi = c;
        for (int j = 0; j < 2; j++) {
            lo = nextafterf(lo, -INFINITY);
            hi = nextafterf(hi, INFINITY);
        }
        for (float x = lo; x <= hi; x = nextafterf(x, INFINITY))
            note_sincos(&ws, &wc, x);
    }
    assert_worst(&ws, "sinf sweep");
    assert_worst(&wc, "cosf sweep");
}

Test(mathfn, sincos_is_within_half_ulp_on_random_inputs_of_any_size)
{
    struct worst ws = {0}, wc = {0}, wbs = {0}, wbc = {0};
    uint64_t st = SEED;
    for (int i = 0; i < N_RANDOM; i++)
        note_sincos(&ws, &wc, rand_float_in(&st, -0x1p20, 0x1p20));
    for (int i = 0; i < N_RANDOM / 2; i++) /* all exponents: Payne-Hanek path */
        note_sincos(&wbs, &wbc, rand_float_bits(&st));
    assert_worst(&ws, "sinf random |x| <= 2^20");
    assert_worst(&wc, "cosf random |x| <= 2^20");
    assert_worst(&wbs, "sinf random finite");
    assert_worst(&wbc, "cosf random finite");
}

Test(mathfn, sinf_and_cosf_equal_sincosf_bit_for_bit)
{
    uint64_t st = SEED ^ 1;
    float bad = 0;
    int n_bad = 0;
    for (int i = 0; i < 200000; i++) {
        float x = rand_float_bits(&st), s, c;
        mathfn_sincosf(x, &s, &c);
        if (bits(s) != bits(mathfn_sinf(x)) || bits(c) != bits(mathfn_cosf(x))) {
            bad = x;
            n_bad++;
        }
    }
    cr_assert(eq(int, n_bad, 0), "%d of 200000 differ, e.g. x=%a (seed %#llx)", n_bad, (double)bad,
              (unsigned long long)(SEED ^ 1));
}

Test(mathfn, sincos_stays_in_minus_one_to_one)
{
    float worst_x = 0, worst_v = 0;
    uint64_t st = SEED ^ 2;
    for (int i = 0; i < 300000; i++) {
        float x = rand_float_bits(&st);
        float v[2] = {mathfn_sinf(x), mathfn_cosf(x)};
        for (int j = 0; j < 2; j++)
            if (!(fabsf(v[j]) <= fabsf(worst_v))) { /* larger, or NaN */
                worst_v = v[j];
                worst_x = x;
            }
    }
    cr_assert(le(flt, fabsf(worst_v), 1.0f), "x=%a gives %a (300000 inputs, seed %#llx)",
              (double)worst_x, (double)worst_v, (unsigned long long)(SEED ^ 2));
}

/* ---- pow ----------------------------------------------------------------- */

Test(mathfn, powf_is_within_half_ulp_for_rope_bases_and_exponents)
{
    struct worst w = {0};
    /* bases 1e4..1e6 (log-spaced) x exponents in [-1, 0] */
    for (int i = 0; i <= 400; i++) {
        float b = (float)(1e4 * pow(100.0, i / 400.0));
        for (int j = 0; j <= 2500; j++) {
            float e = (float)(-j / 2500.0);
            note(&w, b, e, mathfn_powf(b, e), pow((double)b, (double)e));
        }
    }
    /* exactly the RoPE frequencies theta^(-2i/n_rot) */
    const float thetas[] = {1e4f, 5e5f, 1e6f};
    for (int t = 0; t < 3; t++)
        for (int n_rot = 2; n_rot <= 256; n_rot += 2)
            for (int i = 0; i < n_rot / 2; i++) {
                float e = -2.0f * (float)i / (float)n_rot;
                note(&w, thetas[t], e, mathfn_powf(thetas[t], e),
                     pow((double)thetas[t], (double)e));
            }
    assert_worst(&w, "powf rope sweep");
}

Test(mathfn, powf_is_within_half_ulp_on_random_inputs)
{
    struct worst wr = {0}, ww = {0};
    uint64_t st = SEED;
    for (int i = 0; i < N_RANDOM / 2; i++) {
        float b = (float)(1e4 * pow(100.0, (double)(splitmix64(&st) >> 11) * 0x1p-53));
        float e = rand_float_in(&st, -1.0, 0.0);
        note(&wr, b, e, mathfn_powf(b, e), pow((double)b, (double)e));
    }
    /* any positive finite base; exponents so that results span the whole
     * float range, overflow and underflow included */
    for (int i = 0; i < N_RANDOM / 2; i++) {
        float b = fabsf(rand_float_bits(&st));
        float e = rand_float_in(&st, -4.0, 4.0);
        note(&ww, b, e, mathfn_powf(b, e), pow((double)b, (double)e));
    }
    assert_worst(&wr, "powf random rope range");
    assert_worst(&ww, "powf random wide");
}

Test(mathfn, powf_of_negative_base_with_integer_exponent_has_the_right_sign)
{
    struct worst w = {0};
    uint64_t st = SEED ^ 3;
    for (int i = 0; i < 100000; i++) {
        float b = -rand_float_in(&st, 0.0, 20.0);
        float e = (float)((int)(splitmix64(&st) % 61) - 30);
        note(&w, b, e, mathfn_powf(b, e), pow((double)b, (double)e));
    }
    assert_worst(&w, "powf negative base");
}

/* ---- silu ---------------------------------------------------------------- */

Test(mathfn, silu_is_within_half_ulp_including_large_magnitudes)
{
    struct worst w = {0};
    uint64_t st = SEED;
    FOR_BITS(u, 0x00000000u, 0x7f7fffffu, 1021) {
        float x = from_bits((uint32_t)u);
        note(&w, x, 0, mathfn_silu(x), silu_exact((double)x));
        note(&w, -x, 0, mathfn_silu(-x), silu_exact(-(double)x));
    }
    for (int i = 0; i <= 1000000; i++) {
        float x = (float)(-104.0 + 208.0 * i / 1e6);
        note(&w, x, 0, mathfn_silu(x), silu_exact((double)x));
    }
    for (int i = 0; i < N_RANDOM; i++) {
        float x = rand_float_in(&st, -130.0, 130.0);
        note(&w, x, 0, mathfn_silu(x), silu_exact((double)x));
    }
    assert_worst(&w, "silu");
}

/* ---- special values ------------------------------------------------------ */

#define QNAN NAN

struct special1 {
    const char *fn;
    float x, want; /* want compared bit for bit; NaN: any NaN */
};

static float call1(const char *fn, float x)
{
    if (!strcmp(fn, "expf"))
        return mathfn_expf(x);
    if (!strcmp(fn, "sinf"))
        return mathfn_sinf(x);
    if (!strcmp(fn, "cosf"))
        return mathfn_cosf(x);
    if (!strcmp(fn, "silu"))
        return mathfn_silu(x);
    cr_fatal("no function %s", fn);
    return 0;
}

static void check1(const struct special1 *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float got = call1(c[i].fn, c[i].x);
        if (isnan(c[i].want))
            cr_assert(isnan(got), "%s(%a) = %a, want NaN", c[i].fn, (double)c[i].x, (double)got);
        else
            cr_assert(eq(u32, bits(got), bits(c[i].want)), "%s(%a) = %a, want %a", c[i].fn,
                      (double)c[i].x, (double)got, (double)c[i].want);
    }
}

Test(mathfn, special_values_of_exp_sin_cos_silu_are_exact)
{
    static const struct special1 cases[] = {
        {"expf", QNAN, QNAN},          {"expf", INFINITY, INFINITY}, {"expf", -INFINITY, 0.0f},
        {"expf", 0.0f, 1.0f},          {"expf", -0.0f, 1.0f},        {"expf", 1000.0f, INFINITY},
        {"expf", -1000.0f, 0.0f},      {"expf", FLT_MAX, INFINITY},  {"expf", -FLT_MAX, 0.0f},
        {"sinf", QNAN, QNAN},          {"sinf", INFINITY, QNAN},     {"sinf", -INFINITY, QNAN},
        {"sinf", 0.0f, 0.0f},          {"sinf", -0.0f, -0.0f},       {"sinf", 0x1p-149f, 0x1p-149f},
        {"sinf", -0x1p-149f, -0x1p-149f},
        {"cosf", QNAN, QNAN},          {"cosf", INFINITY, QNAN},     {"cosf", -INFINITY, QNAN},
        {"cosf", 0.0f, 1.0f},          {"cosf", -0.0f, 1.0f},
        {"silu", QNAN, QNAN},          {"silu", INFINITY, INFINITY}, {"silu", -INFINITY, -0.0f},
        {"silu", 0.0f, 0.0f},          {"silu", -0.0f, -0.0f},       {"silu", -121.0f, -0.0f},
        {"silu", -FLT_MAX, -0.0f},     {"silu", FLT_MAX, FLT_MAX},
    };
    check1(cases, sizeof cases / sizeof cases[0]);
    float s, c;
    mathfn_sincosf(INFINITY, &s, &c);
    cr_assert(isnan(s) && isnan(c));
}

Test(mathfn, special_values_of_powf_follow_annex_f)
{
    static const struct {
        float b, e, want;
    } cases[] = {
        {QNAN, 0.0f, 1.0f},      {QNAN, -0.0f, 1.0f},       {1.0f, QNAN, 1.0f},
        {1.0f, INFINITY, 1.0f},  {QNAN, 2.0f, QNAN},        {2.0f, QNAN, QNAN},
        {-2.0f, 0.5f, QNAN},     {-2.0f, 3.0f, -8.0f},      {-2.0f, 2.0f, 4.0f},
        {-2.0f, -1.0f, -0.5f},   {-0.5f, 0x1p24f, 0.0f},    {-1.0f, INFINITY, 1.0f},
        {-1.0f, -INFINITY, 1.0f},
        {0.0f, -1.0f, INFINITY}, {-0.0f, -1.0f, -INFINITY}, {-0.0f, -2.0f, INFINITY},
        {-0.0f, -0.5f, INFINITY},{0.0f, 3.0f, 0.0f},        {-0.0f, 3.0f, -0.0f},
        {-0.0f, 2.0f, 0.0f},     {-0.0f, 0.5f, 0.0f},       {0.0f, -INFINITY, INFINITY},
        {0.5f, -INFINITY, INFINITY}, {2.0f, -INFINITY, 0.0f}, {0.5f, INFINITY, 0.0f},
        {2.0f, INFINITY, INFINITY},  {-2.0f, INFINITY, INFINITY},
        {INFINITY, 0.5f, INFINITY},  {INFINITY, -0.5f, 0.0f},
        {-INFINITY, 3.0f, -INFINITY}, {-INFINITY, 2.0f, INFINITY}, {-INFINITY, 0.5f, INFINITY},
        {-INFINITY, -3.0f, -0.0f},   {-INFINITY, -2.0f, 0.0f},     {-INFINITY, -0.5f, 0.0f},
        {FLT_MAX, 2.0f, INFINITY},   {FLT_MAX, -2.0f, 0.0f},       {-FLT_MAX, 3.0f, -INFINITY},
        {-FLT_MAX, -3.0f, -0.0f},    {0x1p-149f, 1.0f, 0x1p-149f}, {10000.0f, 0.0f, 1.0f},
        {1e6f, 1.0f, 1e6f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float got = mathfn_powf(cases[i].b, cases[i].e);
        if (isnan(cases[i].want))
            cr_assert(isnan(got), "powf(%a, %a) = %a, want NaN", (double)cases[i].b,
                      (double)cases[i].e, (double)got);
        else
            cr_assert(eq(u32, bits(got), bits(cases[i].want)), "powf(%a, %a) = %a, want %a",
                      (double)cases[i].b, (double)cases[i].e, (double)got, (double)cases[i].want);
    }
}

/* ---- independently computed values --------------------------------------- */

Test(mathfn, results_match_mpmath_values_bit_for_bit)
{
    /* mpmath, 300 bits, rounded to binary32 (nearest, ties to even) */
    static const struct special1 cases[] = {
        {"expf", 0x1p+0f, 0x1.5bf0a8p+1f},
        {"expf", -0x1p+0f, 0x1.78b564p-2f},
        {"expf", 0x1p-30f, 0x1p+0f},
        {"expf", 0x1.4p+3f, 0x1.5829dcp+14f},
        {"expf", -0x1.9p+5f, 0x1.d257d6p-73f},
        {"expf", 0x1.62e42ep+6f, 0x1.ffff08p+127f},
        {"expf", -0x1.5ep+6f, 0x1.b2cafp-127f},
        {"expf", -0x1.9p+6f, 0x1.bp-145f},
        {"expf", -0x1.9ep+6f, 0x1p-149f},
        {"sinf", 0x1p+0f, 0x1.aed548p-1f},
        {"cosf", 0x1p+0f, 0x1.14a28p-1f},
        {"sinf", 0x1.921fb6p+0f, 0x1p+0f},
        {"cosf", 0x1.921fb6p+0f, -0x1.777a5cp-25f},
        {"sinf", 0x1.921fb6p+1f, -0x1.777a5cp-24f},
        {"sinf", 0x1.e848p+19f, -0x1.6664b2p-2f},
        {"cosf", 0x1.e848p+19f, 0x1.df9dfap-1f},
        {"sinf", 0x1.ffffep+18f, -0x1.4d5b66p-2f},
        {"cosf", 0x1p+20f, 0x1.e33adap-1f},
        {"sinf", 0x1p+24f, -0x1.8f22f8p-1f},
        {"sinf", 0x1.f9cbe2p+7f, 0x1p+0f},           /* the float below 2^24 */
        {"cosf", 0x1.f9cbe2p+7f, -0x1.1fa3bcp-28f},  /* closest to k pi/2 */
        {"sinf", 0x1.93e594p+99f, -0x1.95136p-1f},
        {"cosf", 0x1.fffffep+127f, 0x1.b4bf2cp-1f},
        {"silu", 0x1p+0f, 0x1.764d5p-1f},
        {"silu", -0x1p+0f, -0x1.136562p-2f},
        {"silu", -0x1.4p+3f, -0x1.dc07fap-12f},
        {"silu", 0x1.4p+4f, 0x1.4p+4f},
        {"silu", -0x1.9p+6f, -0x1.4bep-138f},
    };
    check1(cases, sizeof cases / sizeof cases[0]);

    static const struct {
        float b, e, want;
    } pows[] = {
        {0x1.388p+13f, -0x1p-1f, 0x1.47ae14p-7f},      /* 10000^-0.5 = 0.01 */
        {0x1.388p+13f, -0x1.8p-4f, 0x1.afd136p-2f},    /* 10000^(-6/64) */
        {0x1.e848p+18f, -0x1p-2f, 0x1.34119p-5f},      /* 500000^-0.25 */
        {0x1.e848p+19f, -0x1p+0f, 0x1.0c6f7ap-20f},    /* 1e6^-1 = 1e-6 */
        {0x1.e848p+19f, -0x1.f8p-1f, 0x1.4d1c98p-20f}, /* 1e6^(-126/128) */
        {0x1p+1f, 0x1.4p+3f, 0x1p+10f},
        {0x1p-1f, 0x1.2ap+7f, 0x1p-149f},
        {0x1.8p+1f, 0x1p-1f, 0x1.bb67aep+0f},          /* sqrt 3 */
        {0x1.388p+13f, -0x1.4p-2f, 0x1.ccab86p-5f},
    };
    for (size_t i = 0; i < sizeof pows / sizeof pows[0]; i++) {
        float got = mathfn_powf(pows[i].b, pows[i].e);
        cr_assert(eq(u32, bits(got), bits(pows[i].want)), "powf(%a, %a) = %a, want %a",
                  (double)pows[i].b, (double)pows[i].e, (double)got, (double)pows[i].want);
    }
}
