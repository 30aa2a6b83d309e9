/*
 * compare.h: comparing two dumps tap by tap under a tolerance policy.
 *
 * For every tap of the reference, in execution order, compare_dumps()
 * measures the candidate against it (a = candidate, b = reference, over all
 * positions and columns):
 *   mismatches  elements failing |a-b| <= atol + rtol*|b| (with the tap's
 *               atol/rtol; 0/0 when the policy sets none: exact equality)
 *   max_abs     max |a-b|, with the first element index reaching it
 *               (position = index / width, column = index % width; 0 when
 *               nothing differs)
 *   max_rel     max |a-b| / |b| over elements with b != 0
 *   max_ulp     max distance in units in the last place between a and b as
 *               float32 (+0 and -0 are 0 apart; across zero the distance
 *               counts both sides; NaN against NaN is 0, NaN against a
 *               number is UINT64_MAX)
 *   rmse        sqrt(mean (a-b)^2)
 *   nmse        sum (a-b)^2 / sum b^2 (0 when both sums are 0)
 *   cosine      a.b / (|a| |b|) (1 when both are zero vectors)
 *   nonfinite   elements where a is NaN/Inf and b is finite: always a failure
 * and for taps with logits (result_output, or any tap the policy puts a
 * logit metric on), per position: KL divergence of softmax(b) to
 * softmax(a), argmax agreement, top-k overlap.
 *
 * Odd values, alike in every metric: equal values (+0/-0, equal
 * infinities) and NaN/NaN are 0 apart; NaN against anything else and
 * unequal infinities are infinitely apart (so max_abs is Inf and indexes
 * the first such element). rmse, nmse and cosine skip elements that are
 * equal but not finite; any other non-finite element makes them Inf or
 * NaN, which no bound passes. Sums are in double, in index order.
 *
 * Logits, per position of width V: p = softmax(b), q = softmax(a) in
 * double through log-softmax, KL = sum p (log p - log q) (a rounding
 * residue below 0 reads as 0); top1 agrees when the first maximum of a and of b share an index;
 * top-k overlap is |topk(a) & topk(b)| / k with k = min(top_k, V), ties
 * ranked by lower index. kld_mean and the shares are means over positions;
 * a position with a non-finite value on either side (rows not identical)
 * counts as KL Inf, no agreement, no overlap.
 *
 * Each check of the policy gets its value, its bound, pass/fail, and for a
 * failure the smallest bound that would have passed. The first failing tap
 * in execution order is where drift begins (when only candidate-only taps
 * fail, the first of those, so the verdict fails iff first_fail >= 0);
 * layer_of() gives each tap's layer so reports can show the error growing
 * after it.
 */
#ifndef PLUMB_COMPARE_H
#define PLUMB_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "dump.h"
#include "err.h"
#include "policy.h"

struct compare_check {
    enum policy_metric metric;
    double value;        /* measured (for ELEMENTWISE: the mismatch count) */
    double bound;        /* from the policy (ELEMENTWISE: 0 mismatches allowed) */
    bool pass;
    double needed;       /* failing only (else 0): smallest bound that passes, i.e. the
                            measured value; ELEMENTWISE: the atol that would pass with this
                            rtol, max (|a-b| - rtol*|b|) */
};

struct compare_tap {
    char name[DUMP_NAME_MAX];
    int64_t layer;           /* N of "name-N", -1 for taps outside the blocks */
    bool missing_in_ref;     /* in the candidate only */
    bool missing_in_cand;    /* in the reference only */
    bool shape_mismatch;     /* both present, different width or positions */
    int64_t width, n_pos;
    int64_t n;               /* elements compared */
    int64_t mismatches;
    double max_abs;
    int64_t max_abs_index;
    double max_rel;
    uint64_t max_ulp;
    double rmse, nmse, cosine;
    int64_t nonfinite;
    bool has_logit_metrics;
    double kld_mean, kld_max, top1, topk;
    int64_t top_k;           /* k used: min(policy top_k, width) */
    struct compare_check checks[POLICY_METRIC_COUNT]; /* the policy's checks, enum order */
    int n_checks;            /* 0 for missing taps and shape mismatches */
    bool pass;
};

struct compare_result {
    struct compare_tap *taps;    /* reference order, then candidate-only taps */
    int64_t n_taps;
    int64_t first_fail;          /* index into taps, -1 when all pass */
    bool pass;
};

/* Compare cand against ref under policy p. Returns 0 (whatever the verdict:
 * see out->pass), or -1 with err set on an internal failure (memory). */
int compare_dumps(const struct dump *ref, const struct dump *cand, const struct policy *p,
                  struct compare_result *out, struct plumb_err *err);

void compare_result_free(struct compare_result *r);

/* ULP distance between two floats as defined above. */
uint64_t compare_ulp(float a, float b);

/* N for "name-N", else -1. */
int64_t compare_layer_of(const char *tap_name);

#endif
