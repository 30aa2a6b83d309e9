/*
 * compare.c: measuring a candidate dump against a reference dump tap by
 * tap, and judging each measure against the tap's policy. See compare.h
 * for the metrics.
 *
 * Everything is summed in double, in index order, so the verdict on a given
 * pair of dumps is the same on every machine that has IEEE double and a
 * faithful libm (exp and log are used only by the logit metrics; the
 * harness is a judge, not the reproducible engine).
 *
 * Conventions for values that are not ordinary numbers, used by every
 * metric alike: equal values (+0 and -0, equal infinities) and NaN against
 * NaN are 0 apart; a NaN against anything else and unequal infinities are
 * infinitely apart. Elements equal but not finite add nothing to the sums of
 * rmse, nmse and cosine; any other non-finite element makes those sums
 * Inf or NaN, which fails every bound (a NaN value passes no comparison).
 *
 * What this is not: a statistics package. It does not report percentiles
 * or per-position curves; it measures what the policy can bound.
 */
#include "compare.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A float's bits as a signed position on the number line: consecutive
 * floats are consecutive integers, and +0 and -0 both map to 0. */
static int64_t compare_ordinal(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    int64_t mag = (int64_t)(u & UINT32_C(0x7fffffff));
    return (u >> 31) ? -mag : mag;
}

uint64_t compare_ulp(float a, float b)
{
    bool na = isnan(a), nb = isnan(b);
    if (na || nb)
        return na && nb ? 0 : UINT64_MAX;
    int64_t d = compare_ordinal(a) - compare_ordinal(b);
    return (uint64_t)(d < 0 ? -d : d);
}

int64_t compare_layer_of(const char *tap_name)
{
    const char *dash = strrchr(tap_name, '-');
    if (!dash || dash == tap_name || dash[1] == '\0')
        return -1;
    int64_t n = 0;
    for (const char *s = dash + 1; *s; s++) {
        if (*s < '0' || *s > '9' || n > (INT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*s - '0');
    }
    return n;
}

/* |a - b| under the conventions above. */
static double compare_diff(float a, float b)
{
    if (a == b || (isnan(a) && isnan(b)))
        return 0.0;
    double d = fabs((double)a - (double)b);
    return isnan(d) ? INFINITY : d;
}

/* Sums over the elements of one tap. */
struct compare_sums {
    double se, aa, bb, ab;  /* sum (a-b)^2, a^2, b^2, a*b */
};

/* Every elementwise measure of t in one pass over its n elements (a the
 * candidate, b the reference). Returns the smallest atol that would pass
 * with the tap's rtol: max over elements of |a-b| - rtol*|b|. */
static double compare_elements(struct compare_tap *t, const float *a, const float *b,
                             const struct policy_checks *ch)
{
    double atol = ch->set[POLICY_ELEMENTWISE] ? ch->atol : 0.0;
    double rtol = ch->set[POLICY_ELEMENTWISE] ? ch->rtol : 0.0;
    struct compare_sums s = {0};
    double needed_atol = 0.0;
    t->max_abs_index = t->n > 0 ? 0 : -1;
    for (int64_t i = 0; i < t->n; i++) {
        float x = a[i], y = b[i];
        double d = compare_diff(x, y);
        double ay = fabs((double)y);
        /* rtol*|b| is taken as 0 when rtol is 0, so an infinite reference
         * does not turn 0*Inf into a NaN tolerance. */
        double rel_part = rtol > 0.0 ? rtol * ay : 0.0;
        if (d > atol + rel_part || (d > 0.0 && isinf(y)))
            t->mismatches++;
        double excess = d - rel_part;
        if (isnan(excess) || (d > 0.0 && isinf(y)))
            excess = INFINITY;
        if (excess > needed_atol)
            needed_atol = excess;
        if (d > t->max_abs) {
            t->max_abs = d;
            t->max_abs_index = i;
        }
        if (y != 0.0f && !isnan(y)) {
            double r = d / ay;
            if (isnan(r))
                r = INFINITY; /* Inf / Inf: unequal infinities */
            if (r > t->max_rel)
                t->max_rel = r;
        }
        uint64_t u = compare_ulp(x, y);
        if (u > t->max_ulp)
            t->max_ulp = u;
        if (!isfinite(x) && isfinite(y))
            t->nonfinite++;
        if (d == 0.0 && !isfinite(y))
            continue; /* equal infinities, or NaN against NaN */
        s.se += d * d;
        s.aa += (double)x * x;
        s.bb += (double)y * y;
        s.ab += (double)x * y;
    }
    t->rmse = t->n > 0 ? sqrt(s.se / (double)t->n) : 0.0;
    if (s.se == 0.0)
        t->nmse = 0.0;
    else
        t->nmse = s.bb > 0.0 ? s.se / s.bb : (isnan(s.bb) ? NAN : INFINITY);
    if (s.aa == 0.0 && s.bb == 0.0)
        t->cosine = 1.0;
    else if (s.aa == 0.0 || s.bb == 0.0)
        t->cosine = 0.0;
    else
        /* sqrt(aa*bb) rather than sqrt(aa)*sqrt(bb): for a == b it is aa
         * exactly, so identical vectors give exactly 1. */
        t->cosine = s.ab / sqrt(s.aa * s.bb);
    if (t->cosine > 1.0)
        t->cosine = 1.0;
    if (t->cosine < -1.0)
        t->cosine = -1.0;
    return needed_atol;
}

/* true when x ranks above y in a row: larger, or equal and earlier. */
static bool compare_above(const float *row, int64_t x, int64_t y)
{
    return row[x] > row[y] || (row[x] == row[y] && x < y);
}

/* Restore the heap below slot i: heap[0] is the lowest-ranked kept index. */
static void compare_sift(int64_t *heap, int64_t k, int64_t i, const float *row)
{
    for (;;) {
        int64_t lo = i, l = 2 * i + 1, r = 2 * i + 2;
        if (l < k && compare_above(row, heap[lo], heap[l]))
            lo = l;
        if (r < k && compare_above(row, heap[lo], heap[r]))
            lo = r;
        if (lo == i)
            return;
        int64_t tmp = heap[i];
        heap[i] = heap[lo];
        heap[lo] = tmp;
        i = lo;
    }
}

/* The k highest-ranked indices of a finite row of width w, in heap order
 * (a set: order does not matter to the caller). O(w log k). */
static void compare_top_k(int64_t *heap, int64_t k, const float *row, int64_t w)
{
    for (int64_t i = 0; i < k; i++)
        heap[i] = i;
    for (int64_t i = k / 2; i-- > 0;)
        compare_sift(heap, k, i, row);
    for (int64_t i = k; i < w; i++) {
        if (compare_above(row, i, heap[0])) {
            heap[0] = i;
            compare_sift(heap, k, 0, row);
        }
    }
}

static int64_t compare_argmax(const float *row, int64_t w)
{
    int64_t best = 0;
    for (int64_t i = 1; i < w; i++)
        if (row[i] > row[best])
            best = i;
    return best;
}

/* KL(softmax(b) || softmax(a)) of one finite row, through log-softmax so a
 * candidate probability that underflows to 0 still has a finite log. */
static double compare_kld_row(const float *a, const float *b, int64_t w)
{
    double ma = a[0], mb = b[0];
    for (int64_t i = 1; i < w; i++) {
        if (a[i] > ma)
            ma = a[i];
        if (b[i] > mb)
            mb = b[i];
    }
    double sa = 0.0, sb = 0.0;
    for (int64_t i = 0; i < w; i++) {
        sa += exp((double)a[i] - ma);
        sb += exp((double)b[i] - mb);
    }
    double lsa = log(sa), lsb = log(sb);
    double kl = 0.0;
    for (int64_t i = 0; i < w; i++) {
        double lp = ((double)b[i] - mb) - lsb;
        double lq = ((double)a[i] - ma) - lsa;
        kl += exp(lp) * (lp - lq);
    }
    return kl > 0.0 ? kl : 0.0; /* rounding can leave a tiny negative */
}

/* Per position: KL divergence, argmax agreement, top-k overlap. A row where
 * either side is not finite counts as KL Inf, no agreement, no overlap,
 * unless the two rows are identical. Returns -1 on out of memory. */
static int compare_logits(struct compare_tap *t, const float *a, const float *b, int64_t top_k,
                          struct plumb_err *err)
{
    int64_t w = t->width;
    int64_t k = top_k < w ? top_k : w;
    t->has_logit_metrics = true;
    t->top_k = k;
    t->kld_mean = t->kld_max = 0.0;
    t->top1 = t->topk = 1.0;
    if (t->n_pos == 0 || w == 0)
        return 0;
    int64_t *heap = malloc((size_t)k * sizeof *heap);
    unsigned char *mark = calloc((size_t)w, 1);
    if (!heap || !mark) {
        free(heap);
        free(mark);
        return err_set(err, "compare: out of memory measuring logits of '%s'", t->name);
    }
    double kld_sum = 0.0, overlap_sum = 0.0;
    int64_t agree = 0;
    for (int64_t p = 0; p < t->n_pos; p++) {
        const float *ra = a + p * w, *rb = b + p * w;
        bool finite = true, same = true;
        for (int64_t i = 0; i < w; i++) {
            finite = finite && isfinite(ra[i]) && isfinite(rb[i]);
            same = same && compare_diff(ra[i], rb[i]) == 0.0;
        }
        double kl;
        if (same) {
            kl = 0.0;
            agree++;
            overlap_sum += 1.0;
        } else if (!finite) {
            kl = INFINITY;
        } else {
            kl = compare_kld_row(ra, rb, w);
            agree += compare_argmax(ra, w) == compare_argmax(rb, w);
            compare_top_k(heap, k, rb, w);
            for (int64_t i = 0; i < k; i++)
                mark[heap[i]] = 1;
            compare_top_k(heap, k, ra, w);
            int64_t both = 0;
            for (int64_t i = 0; i < k; i++)
                both += mark[heap[i]];
            memset(mark, 0, (size_t)w);
            overlap_sum += (double)both / (double)k;
        }
        kld_sum += kl;
        if (kl > t->kld_max)
            t->kld_max = kl;
    }
    t->kld_mean = kld_sum / (double)t->n_pos;
    t->top1 = (double)agree / (double)t->n_pos;
    t->topk = overlap_sum / (double)t->n_pos;
    free(heap);
    free(mark);
    return 0;
}

static bool compare_wants_logits(const char *name, const struct policy_checks *ch)
{
    return strcmp(name, "result_output") == 0 || ch->set[POLICY_MAX_KLD] ||
           ch->set[POLICY_MAX_KLD_MAX] || ch->set[POLICY_MIN_TOP1] || ch->set[POLICY_MIN_TOPK];
}

/* One check per metric the policy sets, in enum order. */
static void compare_judge(struct compare_tap *t, const struct policy_checks *ch,
                          double needed_atol)
{
    t->n_checks = 0;
    for (int m = 0; m < POLICY_METRIC_COUNT; m++) {
        if (!ch->set[m])
            continue;
        struct compare_check *c = &t->checks[t->n_checks++];
        c->metric = (enum policy_metric)m;
        c->bound = ch->bound[m];
        bool at_most = true;
        switch (c->metric) {
        case POLICY_ELEMENTWISE: c->value = (double)t->mismatches; c->bound = 0.0; break;
        case POLICY_MAX_ULP: c->value = (double)t->max_ulp; break;
        case POLICY_MAX_ABS: c->value = t->max_abs; break;
        case POLICY_MAX_REL: c->value = t->max_rel; break;
        case POLICY_MIN_COSINE: c->value = t->cosine; at_most = false; break;
        case POLICY_MAX_NMSE: c->value = t->nmse; break;
        case POLICY_MAX_RMSE: c->value = t->rmse; break;
        case POLICY_MAX_KLD: c->value = t->kld_mean; break;
        case POLICY_MAX_KLD_MAX: c->value = t->kld_max; break;
        case POLICY_MIN_TOP1: c->value = t->top1; at_most = false; break;
        case POLICY_MIN_TOPK: c->value = t->topk; at_most = false; break;
        case POLICY_METRIC_COUNT: assert(0); break;
        }
        if (c->metric == POLICY_ELEMENTWISE)
            c->pass = t->mismatches == 0;
        else if (c->metric == POLICY_MAX_ULP)
            c->pass = t->max_ulp <= (uint64_t)c->bound; /* bound is an integer <= 2^32 */
        else
            c->pass = at_most ? c->value <= c->bound : c->value >= c->bound; /* NaN fails */
        c->needed = 0.0;
        if (!c->pass)
            c->needed = c->metric == POLICY_ELEMENTWISE ? needed_atol : c->value;
        t->pass = t->pass && c->pass;
    }
}

/* Measure and judge one tap present on both sides. */
static int compare_one(struct compare_tap *t, const struct dump_tap *ref,
                       const struct dump_tap *cand, const struct policy *p,
                       struct plumb_err *err)
{
    t->width = ref->width;
    t->n_pos = ref->n_pos;
    if (cand->width != ref->width || cand->n_pos != ref->n_pos) {
        t->shape_mismatch = true;
        t->pass = false;
        return 0;
    }
    int64_t n;
    if (ref->width < 0 || ref->n_pos < 0 || __builtin_mul_overflow(ref->width, ref->n_pos, &n))
        return err_set(err, "compare: tap '%s' has an invalid shape [%lld, %lld]", ref->name,
                       (long long)ref->width, (long long)ref->n_pos);
    assert(n == 0 || (ref->data && cand->data));
    t->n = n;
    const struct policy_checks *ch = policy_for_tap(p, t->name);
    double needed_atol = compare_elements(t, cand->data, ref->data, ch);
    if (compare_wants_logits(t->name, ch) &&
        compare_logits(t, cand->data, ref->data, ch->top_k, err) < 0)
        return -1;
    t->pass = t->nonfinite == 0;
    compare_judge(t, ch, needed_atol);
    return 0;
}

static void compare_name_tap(struct compare_tap *t, const char *name)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->layer = compare_layer_of(t->name);
    t->max_abs_index = -1;
}

int compare_dumps(const struct dump *ref, const struct dump *cand, const struct policy *p,
                  struct compare_result *out, struct plumb_err *err)
{
    memset(out, 0, sizeof *out);
    int64_t n_extra = 0;
    for (int64_t j = 0; j < cand->n_taps; j++) {
        const char *name = cand->taps[j].name;
        n_extra += !dump_find(ref, name) && dump_find(cand, name) == &cand->taps[j];
    }
    int64_t n_taps = ref->n_taps + n_extra;
    out->taps = calloc(n_taps > 0 ? (size_t)n_taps : 1, sizeof *out->taps);
    if (!out->taps)
        return err_set(err, "compare: out of memory");
    out->first_fail = -1;
    out->pass = true;
    for (int64_t i = 0; i < ref->n_taps; i++) {
        struct compare_tap *t = &out->taps[out->n_taps++];
        compare_name_tap(t, ref->taps[i].name);
        const struct dump_tap *c = dump_find(cand, ref->taps[i].name);
        if (!c) {
            t->missing_in_cand = true;
            t->width = ref->taps[i].width;
            t->n_pos = ref->taps[i].n_pos;
        } else if (compare_one(t, &ref->taps[i], c, p, err) < 0) {
            compare_result_free(out);
            return -1;
        }
    }
    for (int64_t j = 0; j < cand->n_taps; j++) {
        const struct dump_tap *c = &cand->taps[j];
        if (dump_find(ref, c->name) || dump_find(cand, c->name) != c)
            continue;
        struct compare_tap *t = &out->taps[out->n_taps++];
        compare_name_tap(t, c->name);
        t->missing_in_ref = true;
        t->width = c->width;
        t->n_pos = c->n_pos;
    }
    for (int64_t i = 0; i < out->n_taps; i++) {
        if (!out->taps[i].pass && out->first_fail < 0)
            out->first_fail = i;
    }
    out->pass = out->first_fail < 0;
    return 0;
}

void compare_result_free(struct compare_result *r)
{
    if (!r)
        return;
    free(r->taps);
    memset(r, 0, sizeof *r);
}
