/*
 * sampler.h: picking the next token from a logits vector, reproducibly.
 *
 * The same parameters, seed and sequence of logits give the same tokens on
 * every machine: the exponential is mathfn_expf, sums run in one fixed order
 * in double, sorting is a total order (logit descending, then id ascending),
 * and the random numbers come from a PRNG specified here, not rand().
 *
 * Pipeline for temperature > 0. Note the temperature is applied before top-p
 * and min-p, so they see the tempered probabilities; llama.cpp's current
 * default chain (top_k, ..., top_p, min_p, ..., temperature) applies it last,
 * so for temperature != 1 its top-p/min-p can keep a different set.
 *   1. candidates: every id whose logit is neither NaN nor -Inf (NaN and -Inf
 *      mean "masked"), ranked by logit descending, ties by lower id first;
 *   2. top-k: keep the first k (k <= 0 or k >= n_vocab: keep all);
 *   3. softmax of logit / temperature: w_i = mathfn_expf((l_i - l_max) / T),
 *      p_i = w_i / sum w (in double). If l_max is +Inf, the +Inf tokens
 *      share the mass equally and the rest get 0;
 *   4. top-p: keep the shortest prefix whose cumulative p reaches top_p
 *      (top_p == 1: keep all);
 *   5. min-p: drop tokens with p_i < min_p * p_max (min_p == 0: keep all);
 *      since the list is sorted this too keeps a prefix, never empty;
 *   6. renormalise over what is left and draw: u uniform in [0, 1), the
 *      first token whose running sum of weights exceeds u * total.
 * temperature <= 0 is greedy: the highest logit, lowest id on ties, and no
 * random number is consumed.
 *
 * PRNG: xoshiro256** (Blackman and Vigna, 2018), its 256-bit state filled
 * from the seed by four successive outputs of splitmix64 (state += 0x9e37
 * 79b97f4a7c15; z = state; z = (z ^ z>>30) * 0xbf58476d1ce4e5b9; z = (z ^
 * z>>27) * 0x94d049bb133111eb; z ^ z>>31). One draw takes one 64-bit output
 * x and uses u = (x >> 11) * 2^-53.
 *
 * Memory: sampler_init allocates the scratch (n_vocab ids and weights) once;
 * sampler_sample never allocates.
 */
#ifndef PLUMB_SAMPLER_H
#define PLUMB_SAMPLER_H

#include <stdint.h>

#include "err.h"

struct sampler_params {
    float temperature; /* <= 0: greedy; NaN and +Inf are rejected */
    int32_t top_k;     /* <= 0: disabled */
    float top_p;       /* in (0, 1]; 1: disabled */
    float min_p;       /* in [0, 1); 0: disabled */
    uint64_t seed;
};

/* Invariants after a successful sampler_init: n_vocab in [1, INT32_MAX],
 * params valid, ids and w each hold n_vocab elements. A zeroed struct is a
 * valid argument to sampler_free. */
struct sampler {
    struct sampler_params params;
    int64_t n_vocab;
    uint64_t rng[4]; /* xoshiro256** state, never all zero */
    int32_t *ids;    /* (n_vocab,) candidate ids, ranked */
    float *w;        /* (n_vocab,) unnormalised probabilities of ids[] */
};

/* Check p and n_vocab, copy p, seed the PRNG and allocate the scratch.
 * Returns 0, or -1 with a one-line message in err (s is then safe to
 * sampler_free and holds no memory). */
int sampler_init(struct sampler *s, const struct sampler_params *p, int64_t n_vocab,
                 struct plumb_err *err);

/* The next token id for logits[n_vocab] (read only, not modified). Advances
 * the PRNG by one output unless greedy. Returns -1 when no token can be
 * chosen: every logit is NaN or -Inf. */
int32_t sampler_sample(struct sampler *s, const float *logits);

/* Release the scratch; safe on a zeroed or failed-init sampler, and twice. */
void sampler_free(struct sampler *s);

#endif
