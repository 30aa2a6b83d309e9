/*
 * test_sampler.c: the token sampler. Greedy and its tie rule, top-k/top-p/
 * min-p keeping exactly the tokens worked out by hand, reproducibility from
 * the seed, draw frequencies matching the softmax, masked logits, and
 * parameter validation.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sampler.h"

/* Criterion 2.4's assertion macros store an int into a 1-bit field, which
 * -Wconversion reports at every cr_assert. This file was checked clean of
 * -Wconversion warnings of its own with the pragma removed. */
#pragma GCC diagnostic ignored "-Wconversion"

TestSuite(sampler, .timeout = 60);

static struct sampler_params params(float temperature, int32_t top_k, float top_p, float min_p,
                                    uint64_t seed)
{
    return (struct sampler_params){temperature, top_k, top_p, min_p, seed};
}

static void init_ok(struct sampler *s, struct sampler_params p, int64_t n_vocab)
{
    struct plumb_err err = {{0}};
    int rc = sampler_init(s, &p, n_vocab, &err);
    cr_assert(eq(int, rc, 0), "sampler_init: %s", err.msg);
}

/* Draw n tokens; count[id] += 1 for each. Fails on an id out of range. */
static void draw_counts(struct sampler *s, const float *logits, int64_t n_vocab, int n,
                        int64_t *count)
{
    memset(count, 0, (size_t)n_vocab * sizeof *count);
    int32_t bad = 0;
    for (int i = 0; i < n; i++) {
        int32_t id = sampler_sample(s, logits);
        if (id < 0 || id >= n_vocab)
            bad = id;
        else
            count[id]++;
    }
    cr_assert(eq(i32, bad, 0), "sampler returned id %d for n_vocab %lld", bad, (long long)n_vocab);
}

/* The set of ids drawn at least once, as a bit mask (n_vocab <= 32). */
static uint32_t drawn_set(const int64_t *count, int64_t n_vocab)
{
    uint32_t m = 0;
    for (int64_t i = 0; i < n_vocab; i++)
        if (count[i] > 0)
            m |= 1u << i;
    return m;
}

/* ---- greedy -------------------------------------------------------------- */

Test(sampler, greedy_picks_the_argmax_and_the_lowest_id_on_ties)
{
    struct sampler s;
    init_ok(&s, params(0.0f, 0, 1.0f, 0.0f, 1), 6);
    const float a[6] = {1.0f, 5.0f, 3.0f, 5.0f, -2.0f, 4.0f};
    cr_assert(eq(i32, sampler_sample(&s, a), 1));
    const float b[6] = {-1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f};
    cr_assert(eq(i32, sampler_sample(&s, b), 0));
    const float c[6] = {NAN, -INFINITY, 2.0f, NAN, 7.0f, 7.0f};
    cr_assert(eq(i32, sampler_sample(&s, c), 4));
    const float d[6] = {0.0f, INFINITY, 1.0f, INFINITY, 0.0f, 0.0f};
    cr_assert(eq(i32, sampler_sample(&s, d), 1));
    sampler_free(&s);

    init_ok(&s, params(-1.0f, 0, 1.0f, 0.0f, 1), 6); /* any temperature <= 0 */
    cr_assert(eq(i32, sampler_sample(&s, a), 1));
    sampler_free(&s);
}

Test(sampler, top_k_1_equals_greedy_at_any_temperature)
{
    enum { N = 1000 };
    static float logits[N];
    uint64_t st = 12345;
    const float temps[] = {1e-30f, 0.01f, 0.7f, 1.0f, 5.0f, 1e30f};
    struct sampler g;
    init_ok(&g, params(0.0f, 0, 1.0f, 0.0f, 0), N);
    int32_t bad_trial = -1;
    float bad_temp = 0;
    for (int trial = 0; trial < 50; trial++) {
        for (int i = 0; i < N; i++) { /* few distinct values: many ties */
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            logits[i] = (float)(st >> 61) - 3.0f;
        }
        int32_t want = sampler_sample(&g, logits);
        for (size_t t = 0; t < sizeof temps / sizeof temps[0]; t++) {
            struct sampler s;
            init_ok(&s, params(temps[t], 1, 0.9f, 0.05f, (uint64_t)trial), N);
            if (sampler_sample(&s, logits) != want) {
                bad_trial = trial;
                bad_temp = temps[t];
            }
            sampler_free(&s);
        }
    }
    sampler_free(&g);
    cr_assert(eq(i32, bad_trial, -1), "trial %d, temperature %g: top_k=1 differs from greedy",
              bad_trial, (double)bad_temp);
}

/* ---- reproducibility ----------------------------------------------------- */

Test(sampler, same_seed_gives_the_same_sequence_and_different_seeds_differ)
{
    enum { N = 50, DRAWS = 2000 };
    float logits[N];
    for (int i = 0; i < N; i++)
        logits[i] = (float)((i * 7) % 11) * 0.3f;
    int32_t seq[3][DRAWS];
    const uint64_t seeds[3] = {42, 42, 43};
    for (int k = 0; k < 3; k++) {
        struct sampler s;
        init_ok(&s, params(0.9f, 40, 0.95f, 0.01f, seeds[k]), N);
        for (int i = 0; i < DRAWS; i++)
            seq[k][i] = sampler_sample(&s, logits);
        sampler_free(&s);
    }
    int first_diff_same = -1, n_diff_other = 0;
    for (int i = 0; i < DRAWS; i++) {
        if (seq[0][i] != seq[1][i] && first_diff_same < 0)
            first_diff_same = i;
        n_diff_other += seq[0][i] != seq[2][i];
    }
    cr_assert(eq(int, first_diff_same, -1), "seed 42 twice: draw %d differs", first_diff_same);
    cr_assert(gt(int, n_diff_other, DRAWS / 2), "seeds 42 and 43: only %d of %d draws differ",
              n_diff_other, DRAWS);
}

Test(sampler, draws_follow_the_documented_prng_exactly)
{
    /* Eight equal logits: every weight is exactly 1, so a draw is
     * floor(8 u) = the top 3 bits of the xoshiro256** output. The expected
     * ids come from an independent Python model of sampler.h's PRNG
     * description (splitmix64 seeding, xoshiro256**), itself checked against
     * the published splitmix64(0) = 0xe220a8397b1dcdaf and the xoshiro256**
     * outputs 11520, 0, 1509978240, 1215971899390074240 from state 1,2,3,4.
     * A change here changes every golden that samples. */
    static const int32_t want[32] = {1, 2, 7, 7, 4, 1, 5, 1, 4, 7, 3, 2, 2, 0, 3, 3,
                                     7, 5, 5, 7, 2, 6, 7, 6, 3, 3, 3, 6, 3, 7, 1, 7};
    const float logits[8] = {0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f};
    struct sampler s;
    init_ok(&s, params(1.0f, 0, 1.0f, 0.0f, 20240611), 8);
    int first_bad = -1;
    int32_t got[32];
    for (int i = 0; i < 32; i++) {
        got[i] = sampler_sample(&s, logits);
        if (got[i] != want[i] && first_bad < 0)
            first_bad = i;
    }
    sampler_free(&s);
    cr_assert(eq(int, first_bad, -1), "draw %d is %d, want %d (seed 20240611)", first_bad,
              first_bad < 0 ? 0 : got[first_bad], first_bad < 0 ? 0 : want[first_bad]);
}

/* ---- distribution -------------------------------------------------------- */

Test(sampler, draw_frequencies_match_the_softmax_probabilities)
{
    /* Four tokens, softmax(logits / T) computed here in double with libm.
     * Over 200000 draws, Pearson's chi-square with 3 degrees of freedom must
     * stay below 16.27 (p = 0.001) for each of three seeds. */
    enum { N = 4, DRAWS = 200000 };
    const float logits[N] = {1.0f, 2.0f, 0.5f, -1.0f};
    const float temp = 0.8f;
    double prob[N], sum = 0.0;
    for (int i = 0; i < N; i++)
        sum += prob[i] = exp(((double)logits[i] - 2.0) / (double)temp);
    for (int i = 0; i < N; i++)
        prob[i] /= sum;
    double worst_chi2 = 0.0;
    uint64_t worst_seed = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct sampler s;
        int64_t count[N];
        init_ok(&s, params(temp, 0, 1.0f, 0.0f, seed), N);
        draw_counts(&s, logits, N, DRAWS, count);
        sampler_free(&s);
        double chi2 = 0.0;
        for (int i = 0; i < N; i++) {
            double expect = prob[i] * DRAWS;
            chi2 += ((double)count[i] - expect) * ((double)count[i] - expect) / expect;
        }
        if (chi2 > worst_chi2) {
            worst_chi2 = chi2;
            worst_seed = seed;
        }
    }
    cr_assert(lt(dbl, worst_chi2, 16.27), "chi-square %g over %d draws (seed %llu)", worst_chi2,
              DRAWS, (unsigned long long)worst_seed);
}

/* ---- truncation ---------------------------------------------------------- */

/* Weights (at T = 1) 1, 8, 2, 4, 1 for ids 0..4: probabilities 1/16, 8/16,
 * 2/16, 4/16, 1/16. Ranked: id 1 (.5), 3 (.25), 2 (.125), then the tie 0, 4
 * (.0625 each; lower id first). Cumulative: .5, .75, .875, .9375, 1. */
static const float WEIGHTS_LOGITS[5] = {0.0f, 2.0794415f, 0.69314718f, 1.3862944f, 0.0f};

struct trunc_case {
    int32_t top_k;
    float top_p, min_p;
    uint32_t want; /* bit mask of the ids that may be drawn */
};

Test(sampler, top_k_top_p_and_min_p_keep_exactly_the_hand_computed_tokens)
{
    static const struct trunc_case cases[] = {
        {0, 1.0f, 0.0f, 0x1f},   /* nothing removed */
        {1, 1.0f, 0.0f, 0x02},   /* top-k 1: id 1 */
        {2, 1.0f, 0.0f, 0x0a},   /* top-k 2: ids 1, 3 */
        {4, 1.0f, 0.0f, 0x0f},   /* top-k 4: the tie 0/4 goes to the lower id */
        {9, 1.0f, 0.0f, 0x1f},   /* k > n_vocab: nothing removed */
        {0, 0.45f, 0.0f, 0x02},  /* .5 >= .45 */
        {0, 0.7f, 0.0f, 0x0a},   /* .5 < .7 <= .75 */
        {0, 0.8f, 0.0f, 0x0e},   /* .75 < .8 <= .875 */
        {0, 0.9f, 0.0f, 0x0f},   /* .875 < .9 <= .9375: id 0 in, id 4 out */
        {0, 0.95f, 0.0f, 0x1f},  /* .9375 < .95 */
        {0, 1.0f, 0.1f, 0x1f},   /* cut .1 * 8 = .8: every weight >= 1 stays */
        {0, 1.0f, 0.2f, 0x0e},   /* cut 1.6: the 1s go */
        {0, 1.0f, 0.3f, 0x0a},   /* cut 2.4: the 2 goes */
        {0, 1.0f, 0.6f, 0x02},   /* cut 4.8: only the 8 */
        {3, 0.8f, 0.3f, 0x0a},   /* all three: k -> {1,3,2}, p -> {1,3,2}, min-p -> {1,3} */
        {0, 0.7f, 0.2f, 0x0a},   /* top-p is the tighter one */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct sampler s;
        int64_t count[5];
        init_ok(&s, params(1.0f, cases[c].top_k, cases[c].top_p, cases[c].min_p, 7 + c), 5);
        draw_counts(&s, WEIGHTS_LOGITS, 5, 20000, count);
        sampler_free(&s);
        cr_assert(eq(u32, drawn_set(count, 5), cases[c].want),
                  "top_k %d top_p %g min_p %g: drew ids %#x, want %#x (20000 draws, seed %zu)",
                  cases[c].top_k, (double)cases[c].top_p, (double)cases[c].min_p,
                  drawn_set(count, 5), cases[c].want, 7 + c);
    }
}

Test(sampler, renormalised_frequencies_follow_the_kept_tokens)
{
    /* top_p 0.8 keeps ids 1, 3, 2 with weights 8:4:2 -> 4/7, 2/7, 1/7. */
    struct sampler s;
    int64_t count[5];
    init_ok(&s, params(1.0f, 0, 0.8f, 0.0f, 99), 5);
    draw_counts(&s, WEIGHTS_LOGITS, 5, 140000, count);
    sampler_free(&s);
    const double want[5] = {0, 4.0 / 7, 1.0 / 7, 2.0 / 7, 0};
    double worst = 0.0;
    int worst_id = 0;
    for (int i = 0; i < 5; i++) {
        double dev = fabs((double)count[i] / 140000.0 - want[i]);
        if (dev > worst) {
            worst = dev;
            worst_id = i;
        }
    }
    /* sd of a frequency near 4/7 over 140000 draws is 0.0013: allow ~5 sd */
    cr_assert(lt(dbl, worst, 0.0065), "id %d: frequency off by %g (140000 draws, seed 99)",
              worst_id, worst);
}

/* ---- masked and infinite logits ------------------------------------------ */

Test(sampler, nan_and_minus_infinity_are_never_drawn)
{
    const float logits[6] = {NAN, 0.0f, -INFINITY, 0.5f, NAN, -INFINITY};
    struct sampler s;
    int64_t count[6];
    init_ok(&s, params(2.0f, 0, 1.0f, 0.0f, 5), 6);
    draw_counts(&s, logits, 6, 20000, count);
    cr_assert(eq(u32, drawn_set(count, 6), 0x0a));
    const float none[6] = {NAN, -INFINITY, NAN, -INFINITY, -INFINITY, NAN};
    cr_assert(eq(i32, sampler_sample(&s, none), -1));
    sampler_free(&s);
    init_ok(&s, params(0.0f, 0, 1.0f, 0.0f, 5), 6);
    cr_assert(eq(i32, sampler_sample(&s, none), -1));
    sampler_free(&s);
}

Test(sampler, plus_infinity_logits_share_all_the_mass)
{
    const float logits[5] = {3.0f, INFINITY, 1e30f, INFINITY, 0.0f};
    struct sampler s;
    int64_t count[5];
    init_ok(&s, params(1.0f, 0, 1.0f, 0.0f, 11), 5);
    draw_counts(&s, logits, 5, 20000, count);
    sampler_free(&s);
    cr_assert(eq(u32, drawn_set(count, 5), 0x0a));
    cr_assert(lt(dbl, fabs((double)count[1] / 20000.0 - 0.5), 0.02), "id 1 drawn %lld times",
              (long long)count[1]);
}

Test(sampler, logits_are_not_modified_and_extreme_values_still_give_valid_ids)
{
    enum { N = 257 };
    float logits[N], copy[N];
    for (int i = 0; i < N; i++)
        logits[i] = (i % 2 ? 3e38f : -3e38f) * (float)(i % 5) / 4.0f;
    memcpy(copy, logits, sizeof copy);
    struct sampler s;
    int64_t count[N];
    init_ok(&s, params(1e-30f, 0, 0.5f, 0.1f, 3), N);
    draw_counts(&s, logits, N, 100, count);
    sampler_free(&s);
    cr_assert(eq(int, memcmp(logits, copy, sizeof copy), 0));
}

/* ---- parameters ---------------------------------------------------------- */

struct bad_case {
    struct sampler_params p;
    int64_t n_vocab;
    const char *fragment;
};

Test(sampler, invalid_parameters_are_rejected_with_a_clear_message)
{
    const struct bad_case cases[] = {
        {{NAN, 0, 1.0f, 0.0f, 0}, 10, "temperature is nan"},
        {{INFINITY, 0, 1.0f, 0.0f, 0}, 10, "temperature is inf"},
        {{1.0f, 0, 0.0f, 0.0f, 0}, 10, "top_p is 0, expected 0 < top_p <= 1"},
        {{1.0f, 0, -0.5f, 0.0f, 0}, 10, "top_p is -0.5"},
        {{1.0f, 0, 1.5f, 0.0f, 0}, 10, "top_p is 1.5"},
        {{1.0f, 0, NAN, 0.0f, 0}, 10, "top_p is nan"},
        {{1.0f, 0, 1.0f, -0.1f, 0}, 10, "min_p is -0.1, expected 0 <= min_p < 1"},
        {{1.0f, 0, 1.0f, 1.0f, 0}, 10, "min_p is 1,"},
        {{1.0f, 0, 1.0f, NAN, 0}, 10, "min_p is nan"},
        {{1.0f, 0, 1.0f, 0.0f, 0}, 0, "n_vocab is 0, expected 1 to 2147483647"},
        {{1.0f, 0, 1.0f, 0.0f, 0}, -3, "n_vocab is -3"},
        {{1.0f, 0, 1.0f, 0.0f, 0}, (int64_t)1 << 31, "n_vocab is 2147483648"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sampler s;
        struct plumb_err err = {{0}};
        int rc = sampler_init(&s, &cases[i].p, cases[i].n_vocab, &err);
        cr_assert(eq(int, rc, -1), "case %zu accepted", i);
        cr_assert(not(eq(ptr, strstr(err.msg, cases[i].fragment), NULL)), "case %zu: want '%s' in '%s'",
                  i, cases[i].fragment, err.msg);
        cr_assert(eq(int, strncmp(err.msg, "sampler: ", 9), 0), "case %zu: '%s'", i, err.msg);
        sampler_free(&s); /* safe after a failed init */
        sampler_free(&s);
    }
    struct sampler s;
    struct sampler_params ok = {0.0f, -5, 1.0f, 0.0f, 0}; /* top_k < 0: disabled, fine */
    cr_assert(eq(int, sampler_init(&s, &ok, 1, NULL), 0));
    const float one = 2.0f;
    cr_assert(eq(i32, sampler_sample(&s, &one), 0));
    sampler_free(&s);
}
