/*
 * policy.h: tolerance policies: which metric bounds each tap must meet.
 *
 * A policy is YAML:
 *
 *   # fixtures/policies/simd.yaml
 *   defaults:              # every tap, unless a rule below says otherwise
 *     atol: 1.0e-5         # elementwise |a - b| <= atol + rtol * |b|
 *     rtol: 1.0e-4         #   (a = candidate, b = reference)
 *     min_cosine: 0.99999
 *     max_nmse: 1.0e-8     # sum (a-b)^2 / sum b^2, as test-backend-ops
 *   taps:                  # per-tap overrides by glob, first match wins;
 *     "Qcur-*":            # a rule's checks replace the defaults' checks of
 *       max_ulp: 64        # the same metric and inherit the others
 *     result_output:
 *       max_kld: 1.0e-6    # mean KL divergence of softmax(logits) per position
 *       max_kld_max: 1.0e-5 # worst position's KL divergence
 *       min_top1: 1.0      # share of positions whose argmax agrees
 *       top_k: 10          # k for the overlap below (default 10)
 *       min_topk: 0.9      # mean share of the reference's top k found in the candidate's
 *
 * Metrics: atol and rtol (together one elementwise check; either alone
 * means the other is 0), max_ulp, max_abs, max_rel, min_cosine, max_nmse,
 * max_rmse, and on logits max_kld, max_kld_max, min_top1, min_topk.
 * Whatever the bounds, a candidate NaN or Inf where the reference is finite
 * fails, and a tap missing from either side fails.
 *
 * Values: max_ulp is an integer 0..2^32, top_k an integer 1..2^24, every
 * other bound a finite decimal >= 0 (no .inf/.nan), and min_cosine,
 * min_top1, min_topk lie in [0, 1]. Both top-level keys are optional, but
 * the policy must set at least one check somewhere; top_k must serve a
 * min_topk.
 *
 * Merging: a rule starts from the defaults; each metric it names replaces
 * the default's, the rest are inherited. atol and rtol are one check: a rule
 * naming either replaces both, the one it omits being 0. top_k is inherited
 * unless the rule names it.
 *
 * Refused: anything but the shape above (unknown or duplicate keys, a
 * sequence, several documents), anchors, aliases and tags (so an alias bomb
 * fails at its first anchor), an empty file, input over 1 MiB.
 *
 * Errors name the file, the line and the key: "p.yaml:7: taps: 'Q*':
 * max_ulp: expected an integer, found 'lots'".
 */
#ifndef PLUMB_POLICY_H
#define PLUMB_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum policy_metric {
    POLICY_ELEMENTWISE, /* atol + rtol */
    POLICY_MAX_ULP,
    POLICY_MAX_ABS,
    POLICY_MAX_REL,
    POLICY_MIN_COSINE,
    POLICY_MAX_NMSE,
    POLICY_MAX_RMSE,
    POLICY_MAX_KLD,       /* mean over positions */
    POLICY_MAX_KLD_MAX,   /* worst position */
    POLICY_MIN_TOP1,
    POLICY_MIN_TOPK,
    POLICY_METRIC_COUNT
};

/* "atol/rtol", "max_ulp", ... as the YAML spells them. */
const char *policy_metric_name(enum policy_metric m);

/* The checks that apply to one tap. A metric is checked when set[m]. */
struct policy_checks {
    bool set[POLICY_METRIC_COUNT];
    double bound[POLICY_METRIC_COUNT]; /* for ELEMENTWISE: unused, see atol/rtol */
    double atol, rtol;
    int64_t top_k;                     /* for MIN_TOPK; default 10 */
};

struct policy_rule {
    char *glob;                  /* fnmatch(3) over tap names */
    struct policy_checks checks; /* the defaults merged with this rule */
    int line;
};

/* Invariant after policy_load/parse: every bound is finite and in range;
 * each rule's checks are already merged with the defaults, so callers never
 * merge. */
struct policy {
    char *path;
    char *name;                  /* file name without folder and .yaml */
    struct policy_checks defaults;
    struct policy_rule *rules;
    size_t n_rules;
};

/* Load and validate a policy file. Returns 0, or -1 with err set. */
int policy_load(struct policy *p, const char *path, struct plumb_err *err);

/* Same from YAML text in memory; name is used in messages, as path, and
 * (without folder and .yaml) as the policy's name. */
int policy_parse(struct policy *p, const char *text, size_t len, const char *name,
                 struct plumb_err *err);

/* Release; safe on a zeroed or failed policy. */
void policy_free(struct policy *p);

/* The checks for tap `name`: the first rule whose glob matches, else the
 * defaults. Never NULL. */
const struct policy_checks *policy_for_tap(const struct policy *p, const char *name);

#endif
