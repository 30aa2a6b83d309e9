/*
 * sampler.c: token sampling from logits. See sampler.h for the pipeline, the
 * PRNG and the reproducibility contract.
 *
 * Ranking uses a heap: a heap of the k best candidates seen so far whose root
 * is the worst of them, then heapsort of that heap. With top-k disabled, k is
 * the number of candidates and this is a plain heapsort. Either way the result
 * is fully determined by the total order (logit descending, id ascending), so
 * neither stability nor the sort algorithm can change which token comes out.
 */
#include "sampler.h"

#include <math.h> /* INFINITY, isnan: macros only, no libm call */
#include <stdlib.h>

#include "mathfn.h"

/* ---- PRNG ---------------------------------------------------------------- */

static uint64_t splitmix64_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: one 64-bit output. */
static uint64_t xoshiro_next(uint64_t s[4])
{
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits: exact multiples of 2^-53. */
static double uniform01(uint64_t s[4])
{
    return (double)(xoshiro_next(s) >> 11) * 0x1p-53;
}

/* ---- parameters ---------------------------------------------------------- */

int sampler_init(struct sampler *s, const struct sampler_params *p, int64_t n_vocab,
                 struct plumb_err *err)
{
    *s = (struct sampler){0};
    if (n_vocab < 1 || n_vocab > INT32_MAX)
        return err_set(err, "sampler: n_vocab is %lld, expected 1 to %d", (long long)n_vocab,
                       INT32_MAX);
    if (isnan(p->temperature) || p->temperature == INFINITY)
        return err_set(err, "sampler: temperature is %g, expected a finite number (<= 0: greedy)",
                       (double)p->temperature);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return err_set(err, "sampler: top_p is %g, expected 0 < top_p <= 1 (1: disabled)",
                       (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p < 1.0f))
        return err_set(err, "sampler: min_p is %g, expected 0 <= min_p < 1 (0: disabled)",
                       (double)p->min_p);
    if ((uint64_t)n_vocab > SIZE_MAX / sizeof(int32_t) || (uint64_t)n_vocab > SIZE_MAX / sizeof(float))
        return err_set(err, "sampler: n_vocab %lld is too large for this machine", (long long)n_vocab);

    s->ids = malloc((size_t)n_vocab * sizeof *s->ids);
    s->w = malloc((size_t)n_vocab * sizeof *s->w);
    if (!s->ids || !s->w) {
        sampler_free(s);
        return err_set(err, "sampler: out of memory for %lld-token scratch", (long long)n_vocab);
    }
    s->params = *p;
    s->n_vocab = n_vocab;
    uint64_t sm = p->seed;
    for (int i = 0; i < 4; i++)
        s->rng[i] = splitmix64_next(&sm); /* distinct states, bijective output: not all zero */
    return 0;
}

void sampler_free(struct sampler *s)
{
    free(s->ids);
    free(s->w);
    s->ids = NULL;
    s->w = NULL;
}

/* ---- ranking ------------------------------------------------------------- */

/* True when token a ranks strictly after token b: lower logit, or the same
 * logit and a higher id. Logits here are never NaN. */
static int ranks_after(const float *logits, int32_t a, int32_t b)
{
    return logits[a] < logits[b] || (logits[a] == logits[b] && a > b);
}

/* Restore the heap property below i in h[0..n): every parent ranks after (is
 * worse than) its children, so h[0] is the worst. */
static void sift_down(const float *logits, int32_t *h, int64_t n, int64_t i)
{
    for (;;) {
        int64_t worst = i, l = 2 * i + 1, r = 2 * i + 2;
        if (l < n && ranks_after(logits, h[l], h[worst]))
            worst = l;
        if (r < n && ranks_after(logits, h[r], h[worst]))
            worst = r;
        if (worst == i)
            return;
        int32_t t = h[i];
        h[i] = h[worst];
        h[worst] = t;
        i = worst;
    }
}

/* ids[0..n) are the candidates. Keep the best k of them (k <= n) in ids[0..k),
 * best first. */
static void rank_top_k(const float *logits, int32_t *ids, int64_t n, int64_t k)
{
    for (int64_t i = k / 2; i-- > 0;)
        sift_down(logits, ids, k, i);
    for (int64_t i = k; i < n; i++) {
        if (ranks_after(logits, ids[0], ids[i])) {
            ids[0] = ids[i];
            sift_down(logits, ids, k, 0);
        }
    }
    for (int64_t end = k - 1; end > 0; end--) { /* worst goes last */
        int32_t t = ids[0];
        ids[0] = ids[end];
        ids[end] = t;
        sift_down(logits, ids, end, 0);
    }
}

/* ---- sampling ------------------------------------------------------------ */

static int32_t sample_greedy(const struct sampler *s, const float *logits)
{
    int32_t best = -1;
    for (int64_t i = 0; i < s->n_vocab; i++) {
        float l = logits[i];
        if (isnan(l) || l == -INFINITY) /* masked */
            continue;
        if (best < 0 || l > logits[best])
            best = (int32_t)i;
    }
    return best;
}

int32_t sampler_sample(struct sampler *s, const float *logits)
{
    const struct sampler_params *p = &s->params;
    if (!(p->temperature > 0.0f))
        return sample_greedy(s, logits);

    /* 1. candidates */
    int64_t n = 0;
    for (int64_t i = 0; i < s->n_vocab; i++)
        if (!isnan(logits[i]) && logits[i] != -INFINITY)
            s->ids[n++] = (int32_t)i;
    if (n == 0)
        return -1;

    /* 2. top-k, and ranking */
    int64_t k = (p->top_k > 0 && p->top_k < n) ? p->top_k : n;
    rank_top_k(logits, s->ids, n, k);
    n = k;

    /* 3. softmax weights, max first; w[0] == 1 */
    float l_max = logits[s->ids[0]];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float l = logits[s->ids[i]];
        float wi;
        if (l_max == INFINITY) /* +Inf: the +Inf tokens share everything */
            wi = l == l_max ? 1.0f : 0.0f;
        else
            wi = mathfn_expf((l - l_max) / p->temperature);
        s->w[i] = wi;
        sum += (double)wi;
    }

    /* 4. top-p */
    if (p->top_p < 1.0f) {
        double cum = 0.0;
        for (int64_t i = 0; i < n; i++) {
            cum += (double)s->w[i] / sum;
            if (cum >= (double)p->top_p) {
                n = i + 1;
                break;
            }
        }
    }

    /* 5. min-p: p_i < min_p * p_max  <=>  w_i < min_p * w[0] */
    if (p->min_p > 0.0f) {
        double cut = (double)p->min_p * (double)s->w[0];
        int64_t keep = 1;
        while (keep < n && !((double)s->w[keep] < cut))
            keep++;
        n = keep;
    }

    /* 6. renormalise and draw */
    double total = 0.0;
    for (int64_t i = 0; i < n; i++)
        total += (double)s->w[i];
    double target = uniform01(s->rng) * total;
    double cum = 0.0;
    int64_t last_positive = 0;
    for (int64_t i = 0; i < n; i++) {
        if (s->w[i] > 0.0f)
            last_positive = i;
        cum += (double)s->w[i];
        if (target < cum)
            return s->ids[i];
    }
    return s->ids[last_positive]; /* only if rounding put target at total */
}
