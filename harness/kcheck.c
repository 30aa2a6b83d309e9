/*
 * kcheck.c: holding a kernel set against the scalar specification, one
 * operation at a time, over a sweep of shapes. See kcheck.h for what is
 * checked and the bounds; this file is laid out as: inputs, guarded
 * buffers, comparison, one runner per operation, the case lists, and the
 * forked children that run them.
 *
 * What it is not: a benchmark, nor a check of whole models (check.h runs
 * the suite end to end).
 */
#include "kcheck.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dtype.h"
#include "scalar.h"

#define KC_U 0x1p-24           /* float's unit roundoff */
#define KC_SUBNORMAL 0x1p-149  /* float's smallest subnormal: rounding below the normals */
#define KC_GUARD 1024          /* guard bytes before and after every buffer */
#define KC_GUARD_BYTE 0xA5
#define KC_UNWRITTEN 0x7FC0DEADu /* a quiet NaN: output elements not (yet) written */
#define KC_ALIGN 64
#define KC_MAX_BUFS 12
#define KC_LARGE 4096.0f       /* scale of "large" inputs */
#define KC_TINY 0x1p-20f       /* scale of "tiny" inputs */

enum kc_op { KC_MATMUL, KC_RMSNORM, KC_ROPE, KC_SOFTMAX, KC_ATTENTION, KC_SILU_MUL, KC_ADD, KC_N_OPS };

static const char *const kc_op_name[KC_N_OPS] = {
    [KC_MATMUL] = "matmul", [KC_RMSNORM] = "rmsnorm", [KC_ROPE] = "rope",
    [KC_SOFTMAX] = "softmax", [KC_ATTENTION] = "attention", [KC_SILU_MUL] = "silu_mul",
    [KC_ADD] = "add",
};

enum kc_input { KC_IN_NORMAL, KC_IN_LARGE, KC_IN_TINY };

/*
 * One case. n is the row length (matmul, rmsnorm, softmax, silu_mul, add)
 * or the head dimension (rope, attention). matmul computes rows [r0, rows)
 * of an output `stride` wide for `tokens` tokens; attention computes heads
 * [h0, h1) of `heads`.
 */
struct kc_case {
    enum kc_op op;
    int type;
    int64_t n;
    int64_t rows, r0, stride, tokens;
    int64_t heads, kv_heads, n_kv, h0, h1;
    bool unaligned, in_place;
    enum kc_input input;
};

/* ---- inputs: splitmix64 and exact float arithmetic, the same everywhere ---- */

static uint64_t kc_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static float kc_uniform(uint64_t *s)
{
    return (float)(kc_next(s) >> 40) * 0x1p-23f - 1.0f;
}

/* Roughly normal, mean 0, variance 1 (sum of four uniforms, rescaled). */
static float kc_normal(uint64_t *s)
{
    float a = kc_uniform(s) + kc_uniform(s);
    float b = kc_uniform(s) + kc_uniform(s);
    return (a + b) * 0.8660254f;
}

/* x[0..n) of the given kind: normal; normal * 4096; or normal * 2^-20 with
 * every fourth element exactly zero. */
static void kc_fill(float *x, int64_t n, enum kc_input kind, uint64_t *s)
{
    for (int64_t i = 0; i < n; i++) {
        float v = kc_normal(s);
        if (kind == KC_IN_LARGE)
            v *= KC_LARGE;
        else if (kind == KC_IN_TINY)
            v = i % 4 == 3 ? 0.0f : v * KC_TINY;
        x[i] = v;
    }
}

/* FNV-1a: a case's seed comes from its name, not its place in the list. */
static uint64_t kc_hash(const char *s, uint64_t h)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h;
}

/* ---- guarded buffers ---- */

struct kc_buf {
    unsigned char *mem;  /* the allocation, guard bytes included */
    unsigned char *data; /* what the kernel is given */
    size_t size, total;
    const char *name;
};

/* The buffers of one case; freed together. oom is set when one failed. */
struct kc_work {
    struct kc_buf b[KC_MAX_BUFS];
    int n;
    bool oom;
};

/* size bytes, misalign bytes past a 64-byte boundary, KC_GUARD guard bytes
 * on both sides. NULL (and w->oom) when out of memory. */
static void *kc_alloc(struct kc_work *w, const char *name, size_t size, size_t misalign)
{
    if (w->n == KC_MAX_BUFS || w->oom) {
        w->oom = true;
        return NULL;
    }
    struct kc_buf *b = &w->b[w->n];
    b->total = KC_GUARD + KC_ALIGN + misalign + size + KC_GUARD;
    b->mem = malloc(b->total);
    if (!b->mem) {
        w->oom = true;
        return NULL;
    }
    w->n++;
    memset(b->mem, KC_GUARD_BYTE, b->total);
    uintptr_t p = (uintptr_t)(b->mem + KC_GUARD);
    p = (p + KC_ALIGN - 1) & ~(uintptr_t)(KC_ALIGN - 1);
    b->data = (unsigned char *)p + misalign;
    b->size = size;
    b->name = name;
    return b->data;
}

static void kc_free(struct kc_work *w)
{
    for (int i = 0; i < w->n; i++)
        free(w->b[i].mem);
    w->n = 0;
}

__attribute__((format(printf, 2, 3)))
static void kc_fail(struct kcheck_result *r, const char *fmt, ...)
{
    r->pass = 0;
    if (r->detail[0])
        return; /* the first reason stands */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

/* Fail r when a guard byte of any buffer changed, saying how far from the
 * buffer the farthest change is (a whole vector past the end, a row off...). */
static void kc_check_guards(const struct kc_work *w, struct kcheck_result *r)
{
    for (int i = 0; i < w->n; i++) {
        const struct kc_buf *b = &w->b[i];
        size_t before = (size_t)(b->data - b->mem);
        const unsigned char *end = b->data + b->size;
        size_t after = b->total - before - b->size;
        size_t far_after = 0, far_before = 0;
        for (size_t k = 0; k < after; k++)
            if (end[k] != KC_GUARD_BYTE)
                far_after = k + 1;
        for (size_t k = before; k > 0; k--)
            if (b->mem[k - 1] != KC_GUARD_BYTE)
                far_before = before - (k - 1);
        if (far_after)
            kc_fail(r, "out-of-bounds write after the end of %s (%zu bytes): guard bytes changed "
                    "up to %zu byte(s) past it", b->name, b->size, far_after);
        if (far_before)
            kc_fail(r, "out-of-bounds write before the start of %s (%zu bytes): guard bytes "
                    "changed up to %zu byte(s) before it", b->name, b->size, far_before);
    }
}

/* Fail r when the kernel changed an input it must only read. */
static void kc_check_unchanged(const void *now, const void *before, size_t size, const char *name,
                               struct kcheck_result *r)
{
    const unsigned char *a = now, *b = before;
    for (size_t k = 0; k < size; k++)
        if (a[k] != b[k]) {
            kc_fail(r, "changed its input %s (byte %zu of %zu)", name, k, size);
            return;
        }
}

static void kc_mark_unwritten(float *x, int64_t n)
{
    uint32_t bits = KC_UNWRITTEN;
    for (int64_t i = 0; i < n; i++)
        memcpy(&x[i], &bits, sizeof bits);
}

static uint32_t kc_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Distance in representable floats; -0 and +0 are one apart, so 0 means
 * bit-identical for non-NaN values. */
static uint64_t kc_ulp(float a, float b)
{
    uint32_t ua = kc_bits(a), ub = kc_bits(b);
    int64_t ka = ua >> 31 ? -(int64_t)(ua & 0x7FFFFFFFu) - 1 : (int64_t)ua;
    int64_t kb = ub >> 31 ? -(int64_t)(ub & 0x7FFFFFFFu) - 1 : (int64_t)ub;
    return (uint64_t)(ka > kb ? ka - kb : kb - ka);
}

/* ---- comparison ---- */

/*
 * An output laid out as n_rows rows of width elements; the operation writes
 * rows [row0, row1) x columns [col0, col1) and must leave the rest marked
 * unwritten. bound, when set, is a per-element bound on |a-b|.
 */
struct kc_out {
    const float *ref, *got;
    int64_t n_rows, width, row0, row1, col0, col1;
    const double *bound;
    const char *row_name, *col_name; /* row_name NULL: a single row */
};

static void kc_where(const struct kc_out *o, int64_t i, char *buf, size_t size)
{
    if (o->row_name)
        snprintf(buf, size, "%s %" PRId64 ", %s %" PRId64, o->row_name, i / o->width,
                 o->col_name, i % o->width);
    else
        snprintf(buf, size, "%s %" PRId64, o->col_name, i);
}

static void kc_compare(const struct kc_out *o, enum plumb_accuracy acc, double nmse_bound,
                       struct kcheck_result *r)
{
    double sd2 = 0.0, sb2 = 0.0, max_abs = 0.0, worst_ratio = 0.0;
    uint64_t max_ulp = 0;
    int64_t at_abs = -1, at_ratio = -1, at_stray = -1, at_unwritten = -1, at_nonfinite = -1;
    for (int64_t row = 0; row < o->n_rows; row++)
        for (int64_t col = 0; col < o->width; col++) {
            int64_t i = row * o->width + col;
            float a = o->got[i], b = o->ref[i];
            bool written = row >= o->row0 && row < o->row1 && col >= o->col0 && col < o->col1;
            if (!written) {
                if (kc_bits(a) != KC_UNWRITTEN && at_stray < 0)
                    at_stray = i;
                continue;
            }
            if (kc_bits(a) == KC_UNWRITTEN && kc_bits(b) != KC_UNWRITTEN) {
                if (at_unwritten < 0)
                    at_unwritten = i;
                continue;
            }
            if (!isfinite(b) || !isfinite(a)) {
                bool same = (isnan(a) && isnan(b)) || a == b;
                if (acc == PLUMB_ACCURACY_EXACT)
                    same = kc_bits(a) == kc_bits(b);
                if (!same && at_nonfinite < 0)
                    at_nonfinite = i;
                continue;
            }
            double d = fabs((double)a - (double)b);
            sd2 += d * d;
            sb2 += (double)b * (double)b;
            if (d > max_abs || at_abs < 0) {
                max_abs = d;
                at_abs = i;
            }
            uint64_t ulp = kc_ulp(a, b);
            if (ulp > max_ulp)
                max_ulp = ulp;
            if (o->bound && d > o->bound[i]) {
                double ratio = o->bound[i] > 0.0 ? d / o->bound[i] : INFINITY;
                if (ratio > worst_ratio || at_ratio < 0) {
                    worst_ratio = ratio;
                    at_ratio = i;
                }
            }
        }
    r->max_abs = max_abs;
    if (acc == PLUMB_ACCURACY_EXACT) {
        snprintf(r->metric, sizeof r->metric, "max_ulp");
        r->value = (double)max_ulp;
        r->bound = 0.0;
    } else {
        snprintf(r->metric, sizeof r->metric, "NMSE");
        r->value = sb2 > 0.0 ? sd2 / sb2 : sd2 > 0.0 ? INFINITY : 0.0;
        r->bound = nmse_bound;
    }
    char where[64];
    if (at_stray >= 0) {
        kc_where(o, at_stray, where, sizeof where);
        kc_fail(r, "wrote the output at %s, outside what it computes", where);
    }
    if (at_unwritten >= 0) {
        kc_where(o, at_unwritten, where, sizeof where);
        kc_fail(r, "did not write the output at %s", where);
    }
    if (at_nonfinite >= 0) {
        kc_where(o, at_nonfinite, where, sizeof where);
        kc_fail(r, "got %.9g at %s, expected %.9g", (double)o->got[at_nonfinite], where,
                (double)o->ref[at_nonfinite]);
    }
    /* The metric first: the per-element bound is news only when it passed. */
    if (!(r->value <= r->bound) && at_abs >= 0) {
        kc_where(o, at_abs, where, sizeof where);
        kc_fail(r, "max |a-b| %.2g at %s: got %.9g, expected %.9g", max_abs, where,
                (double)o->got[at_abs], (double)o->ref[at_abs]);
    }
    if (!(r->value <= r->bound))
        kc_fail(r, "%s %g > %g", r->metric, r->value, r->bound);
    if (at_ratio >= 0) {
        kc_where(o, at_ratio, where, sizeof where);
        kc_fail(r, "|a-b| %.2g > %.2g (per-element bound) at %s: got %.9g, expected %.9g",
                fabs((double)o->got[at_ratio] - (double)o->ref[at_ratio]), o->bound[at_ratio],
                where, (double)o->got[at_ratio], (double)o->ref[at_ratio]);
    }
}

static double kc_nmse_bound(enum plumb_accuracy acc, enum kc_op op)
{
    if (acc == PLUMB_ACCURACY_QUANTIZED)
        return op == KC_MATMUL || op == KC_ATTENTION ? 5e-4 : 1e-7;
    return 1e-10;
}

static void kc_oom(struct kcheck_result *r)
{
    kc_fail(r, "out of memory for the case's buffers");
}

/* ---- one runner per operation ---- */

/* Formats whose blocks carry an offset (w = d*q - m): a kernel may sum the
 * offset part apart, so its error follows |d*q| + |m|, not |w|. */
static bool kc_type_has_offset(int type)
{
    return type == PLUMB_TYPE_Q4_1 || type == PLUMB_TYPE_Q5_1 || type == PLUMB_TYPE_Q2_K ||
           type == PLUMB_TYPE_Q4_K || type == PLUMB_TYPE_Q5_K;
}

/*
 * Weight rows for matmul: seeded normal rows quantized by the type's
 * reference quantizer; for the types plumb cannot quantize (q2_k, q3_k),
 * random bytes with the fp16 scales (q2_k: d at byte 80, dmin at 82; q3_k:
 * d at 108, as drawn in engine/quants.c) set to sane values.
 */
static void kc_weights(int type, unsigned char *w, int64_t rows, int64_t n, size_t row_size,
                       float *tmp, uint64_t *s)
{
    const struct dtype_traits *tr = dtype_traits(type);
    if (tr->from_float) {
        for (int64_t r = 0; r < rows; r++) {
            kc_fill(tmp, n, KC_IN_NORMAL, s);
            tr->from_float(tmp, w + (size_t)r * row_size, n);
        }
        return;
    }
    size_t total = (size_t)rows * row_size;
    for (size_t k = 0; k < total; k++)
        w[k] = (unsigned char)(kc_next(s) >> 56);
    size_t d_at = type == PLUMB_TYPE_Q2_K ? 80 : 108;
    for (size_t blk = 0; blk + tr->type_size <= total; blk += tr->type_size) {
        uint16_t d = dtype_fp32_to_fp16((1.0f + 0.5f * kc_uniform(s)) * 0x1p-6f);
        memcpy(w + blk + d_at, &d, sizeof d);
        if (type == PLUMB_TYPE_Q2_K) {
            uint16_t dmin = dtype_fp32_to_fp16((1.0f + 0.5f * kc_uniform(s)) * 0x1p-7f);
            memcpy(w + blk + 82, &dmin, sizeof dmin);
        }
    }
}

static void kc_matmul(const struct plumb_kernels *set, const struct kc_case *c, uint64_t *s,
                      struct kcheck_result *r)
{
    struct kc_work w = {0};
    const int type = c->type;
    const struct dtype_traits *tr = dtype_traits(type);
    const int64_t n = c->n, rows = c->rows, tok = c->tokens, stride = c->stride;
    size_t row_size;
    if (!tr || !tr->to_float || !dtype_row_size(type, n, &row_size)) {
        kc_fail(r, "internal: no row size for %s n=%" PRId64, dtype_name(type), n);
        return;
    }
    size_t wmis = c->unaligned ? (type == PLUMB_TYPE_F32 ? 4 : 2) : 0;
    size_t fmis = c->unaligned ? 4 : 0;
    size_t wbytes = (size_t)rows * row_size, xbytes = (size_t)(tok * n) * sizeof(float);
    size_t obytes = (size_t)(tok * stride) * sizeof(float), sbytes = (size_t)n * sizeof(float);
    unsigned char *wq = kc_alloc(&w, "W", wbytes, wmis);
    float *x = kc_alloc(&w, "x", xbytes, fmis);
    float *out = kc_alloc(&w, "out", obytes, fmis);
    float *scratch = kc_alloc(&w, "scratch", sbytes, fmis);
    float *ref = kc_alloc(&w, "reference out", obytes, 0);
    float *ref_scratch = kc_alloc(&w, "reference scratch", sbytes, 0);
    unsigned char *w0 = kc_alloc(&w, "copy of W", wbytes, 0);
    float *x0 = kc_alloc(&w, "copy of x", xbytes, 0);
    float *deq = kc_alloc(&w, "dequantized W", (size_t)(rows * n) * sizeof(float), 0);
    double *bound = NULL;
    if (w.oom)
        goto oom;

    kc_weights(type, wq, rows, n, row_size, deq, s);
    for (int64_t t = 0; t < tok; t++)
        kc_fill(x + t * n, n, c->input, s);
    if (c->input == KC_IN_TINY && tok > 1)
        memset(x, 0, (size_t)n * sizeof(float)); /* a token of zeros */
    memcpy(w0, wq, wbytes);
    memcpy(x0, x, xbytes);
    kc_mark_unwritten(out, tok * stride);
    kc_mark_unwritten(ref, tok * stride);

    scalar_matmul(ref, stride, wq, row_size, x, n, tok, c->r0, rows, ref_scratch, type);
    set->matmul[type](out, stride, wq, row_size, x, n, tok, c->r0, rows, scratch);

    if (set->accuracy != PLUMB_ACCURACY_QUANTIZED) {
        bound = malloc((size_t)(tok * stride) * sizeof *bound);
        if (!bound)
            goto oom;
        for (int64_t row = c->r0; row < rows; row++) {
            float *m = deq + row * n;
            tr->to_float(wq + (size_t)row * row_size, m, n);
            for (int64_t i = 0; i < n; i++)
                m[i] = fabsf(m[i]);
            if (kc_type_has_offset(type))
                for (int64_t g = 0; g < n; g += 32) {
                    float mx = 0.0f;
                    for (int64_t i = g; i < g + 32 && i < n; i++)
                        mx = m[i] > mx ? m[i] : mx;
                    for (int64_t i = g; i < g + 32 && i < n; i++)
                        m[i] += 2.0f * mx;
                }
            for (int64_t t = 0; t < tok; t++) {
                double mag = 0.0;
                for (int64_t i = 0; i < n; i++)
                    mag += (double)m[i] * fabs((double)x[t * n + i]);
                bound[t * stride + row] = (double)(2 * n + 8) * KC_U * mag +
                                          (double)(n + 2) * KC_SUBNORMAL;
            }
        }
    }
    kc_check_guards(&w, r);
    kc_check_unchanged(wq, w0, wbytes, "W", r);
    kc_check_unchanged(x, x0, xbytes, "x", r);
    struct kc_out o = {ref, out, tok, stride, 0, tok, c->r0, rows, bound, "token", "row"};
    kc_compare(&o, set->accuracy, kc_nmse_bound(set->accuracy, KC_MATMUL), r);
    goto done;
oom:
    kc_oom(r);
done:
    free(bound);
    kc_free(&w);
}

static void kc_rmsnorm(const struct plumb_kernels *set, const struct kc_case *c, uint64_t *s,
                       struct kcheck_result *r)
{
    struct kc_work w = {0};
    const int64_t n = c->n;
    const float eps = 1e-5f;
    size_t bytes = (size_t)n * sizeof(float), mis = c->unaligned ? 4 : 0;
    float *x = kc_alloc(&w, "x", bytes, mis), *g = kc_alloc(&w, "w", bytes, mis);
    float *out = kc_alloc(&w, "out", bytes, mis), *ref = kc_alloc(&w, "reference out", bytes, 0);
    float *x0 = kc_alloc(&w, "copy of x", bytes, 0), *g0 = kc_alloc(&w, "copy of w", bytes, 0);
    if (w.oom) {
        kc_oom(r);
        goto done;
    }
    kc_fill(x, n, c->input, s);
    kc_fill(g, n, KC_IN_NORMAL, s);
    for (int64_t i = 0; i < n; i++)
        g[i] = 1.0f + 0.25f * g[i];
    memcpy(x0, x, bytes);
    memcpy(g0, g, bytes);
    kc_mark_unwritten(out, n);
    kc_mark_unwritten(ref, n);
    scalar_rmsnorm(ref, x, g, n, eps);
    set->rmsnorm(out, x, g, n, eps);
    kc_check_guards(&w, r);
    kc_check_unchanged(x, x0, bytes, "x", r);
    kc_check_unchanged(g, g0, bytes, "w", r);
    struct kc_out o = {ref, out, 1, n, 0, 1, 0, n, NULL, NULL, "i"};
    kc_compare(&o, set->accuracy, kc_nmse_bound(set->accuracy, KC_RMSNORM), r);
done:
    kc_free(&w);
}

static void kc_softmax(const struct plumb_kernels *set, const struct kc_case *c, uint64_t *s,
                       struct kcheck_result *r)
{
    struct kc_work w = {0};
    const int64_t n = c->n;
    size_t bytes = (size_t)n * sizeof(float);
    float *x = kc_alloc(&w, "x", bytes, c->unaligned ? 4 : 0);
    float *ref = kc_alloc(&w, "reference x", bytes, 0);
    if (w.oom) {
        kc_oom(r);
        goto done;
    }
    kc_fill(x, n, c->input, s);
    if (c->input == KC_IN_NORMAL)
        for (int64_t i = 0; i < n; i++)
            x[i] *= 3.0f; /* attention scores: a few units wide */
    memcpy(ref, x, bytes);
    scalar_softmax(ref, n);
    set->softmax(x, n);
    kc_check_guards(&w, r);
    struct kc_out o = {ref, x, 1, n, 0, 1, 0, n, NULL, NULL, "i"};
    kc_compare(&o, set->accuracy, kc_nmse_bound(set->accuracy, KC_SOFTMAX), r);
done:
    kc_free(&w);
}

static void kc_rope(const struct plumb_kernels *set, const struct kc_case *c, uint64_t *s,
                    struct kcheck_result *r)
{
    struct kc_work w = {0};
    const int64_t hd = c->n, heads = c->heads, half = c->n / 2;
    size_t bytes = (size_t)(heads * hd) * sizeof(float), tbytes = (size_t)half * sizeof(float);
    size_t mis = c->unaligned ? 4 : 0;
    float *x = kc_alloc(&w, "x", bytes, mis);
    float *cs = kc_alloc(&w, "cos_t", tbytes, mis), *sn = kc_alloc(&w, "sin_t", tbytes, mis);
    float *ref = kc_alloc(&w, "reference x", bytes, 0);
    float *cs0 = kc_alloc(&w, "copy of cos_t", tbytes, 0);
    float *sn0 = kc_alloc(&w, "copy of sin_t", tbytes, 0);
    double *bound = NULL;
    if (w.oom || !(bound = malloc((size_t)(heads * hd) * sizeof *bound))) {
        kc_oom(r);
        goto done;
    }
    kc_fill(x, heads * hd, c->input, s);
    for (int64_t i = 0; i < half; i++) {
        /* a point on the unit circle, by exact arithmetic and one sqrt */
        float a = kc_normal(s), b = kc_normal(s);
        float len = sqrtf(a * a + b * b);
        if (len == 0.0f) {
            a = 1.0f;
            len = 1.0f;
        }
        cs[i] = a / len;
        sn[i] = b / len;
    }
    memcpy(ref, x, bytes);
    memcpy(cs0, cs, tbytes);
    memcpy(sn0, sn, tbytes);
    for (int64_t h = 0; h < heads; h++)
        for (int64_t i = 0; i < half; i++) {
            double x0 = fabs((double)x[h * hd + 2 * i]), x1 = fabs((double)x[h * hd + 2 * i + 1]);
            double b0 = 4.5 * KC_U * (x0 * fabs((double)cs[i]) + x1 * fabs((double)sn[i]));
            double b1 = 4.5 * KC_U * (x0 * fabs((double)sn[i]) + x1 * fabs((double)cs[i]));
            bound[h * hd + 2 * i] = b0 + 2 * KC_SUBNORMAL;
            bound[h * hd + 2 * i + 1] = b1 + 2 * KC_SUBNORMAL;
        }
    scalar_rope(ref, heads, hd, cs, sn);
    set->rope(x, heads, hd, cs, sn);
    kc_check_guards(&w, r);
    kc_check_unchanged(cs, cs0, tbytes, "cos_t", r);
    kc_check_unchanged(sn, sn0, tbytes, "sin_t", r);
    struct kc_out o = {ref, x, heads, hd, 0, heads, 0, hd, bound, "head", "i"};
    kc_compare(&o, set->accuracy, kc_nmse_bound(set->accuracy, KC_ROPE), r);
done:
    free(bound);
    kc_free(&w);
}

static void kc_attention(const struct plumb_kernels *set, const struct kc_case *c, uint64_t *s,
                         struct kcheck_result *r)
{
    struct kc_work w = {0};
    const int64_t hd = c->n, heads = c->heads, kvh = c->kv_heads, n_kv = c->n_kv;
    size_t qbytes = (size_t)(heads * hd) * sizeof(float);
    size_t kbytes = (size_t)(n_kv * kvh * hd) * sizeof(float), abytes = (size_t)n_kv * sizeof(float);
    size_t mis = c->unaligned ? 4 : 0;
    float *q = kc_alloc(&w, "q", qbytes, mis), *k = kc_alloc(&w, "k", kbytes, mis);
    float *v = kc_alloc(&w, "v", kbytes, mis), *out = kc_alloc(&w, "out", qbytes, mis);
    float *att = kc_alloc(&w, "att", abytes, mis);
    float *ref = kc_alloc(&w, "reference out", qbytes, 0);
    float *ref_att = kc_alloc(&w, "reference att", abytes, 0);
    float *q0 = kc_alloc(&w, "copy of q", qbytes, 0), *k0 = kc_alloc(&w, "copy of k", kbytes, 0);
    float *v0 = kc_alloc(&w, "copy of v", kbytes, 0);
    if (w.oom) {
        kc_oom(r);
        goto done;
    }
    /* "large" scales q and k by 32 (scores ~1e3: one key takes all the
     * weight) and v by 4096. */
    enum kc_input qk_kind = c->input == KC_IN_LARGE ? KC_IN_NORMAL : c->input;
    kc_fill(q, heads * hd, qk_kind, s);
    kc_fill(k, n_kv * kvh * hd, qk_kind, s);
    kc_fill(v, n_kv * kvh * hd, c->input, s);
    if (c->input == KC_IN_LARGE) {
        for (int64_t i = 0; i < heads * hd; i++)
            q[i] *= 32.0f;
        for (int64_t i = 0; i < n_kv * kvh * hd; i++)
            k[i] *= 32.0f;
    }
    memcpy(q0, q, qbytes);
    memcpy(k0, k, kbytes);
    memcpy(v0, v, kbytes);
    kc_mark_unwritten(out, heads * hd);
    kc_mark_unwritten(ref, heads * hd);
    float scale = 1.0f / sqrtf((float)hd);
    scalar_attention(ref, q, k, v, n_kv, heads, kvh, hd, c->h0, c->h1, scale, ref_att);
    set->attention(out, q, k, v, n_kv, heads, kvh, hd, c->h0, c->h1, scale, att);
    kc_check_guards(&w, r);
    kc_check_unchanged(q, q0, qbytes, "q", r);
    kc_check_unchanged(k, k0, kbytes, "k", r);
    kc_check_unchanged(v, v0, kbytes, "v", r);
    struct kc_out o = {ref, out, heads, hd, c->h0, c->h1, 0, hd, NULL, "head", "i"};
    kc_compare(&o, set->accuracy, kc_nmse_bound(set->accuracy, KC_ATTENTION), r);
done:
    kc_free(&w);
}

/* silu_mul and add: out = f(a, b) elementwise; in place means out == a, as
 * the engine calls them. */
static void kc_binary(const struct plumb_kernels *set, const struct kc_case *c, uint64_t *s,
                      struct kcheck_result *r)
{
    struct kc_work w = {0};
    const int64_t n = c->n;
    size_t bytes = (size_t)n * sizeof(float), mis = c->unaligned ? 4 : 0;
    bool is_add = c->op == KC_ADD;
    float *a = kc_alloc(&w, is_add ? "a" : "g", bytes, mis);
    float *b = kc_alloc(&w, is_add ? "b" : "u", bytes, mis);
    float *out = c->in_place ? a : kc_alloc(&w, "out", bytes, mis);
    float *ref = kc_alloc(&w, "reference out", bytes, 0);
    float *a0 = kc_alloc(&w, is_add ? "copy of a" : "copy of g", bytes, 0);
    float *b0 = kc_alloc(&w, is_add ? "copy of b" : "copy of u", bytes, 0);
    double *bound = NULL;
    if (w.oom || (is_add && !(bound = calloc((size_t)n, sizeof *bound)))) {
        kc_oom(r);
        goto done;
    }
    kc_fill(a, n, c->input, s);
    kc_fill(b, n, c->input, s);
    memcpy(a0, a, bytes);
    memcpy(b0, b, bytes);
    kc_mark_unwritten(ref, n);
    if (!c->in_place)
        kc_mark_unwritten(out, n);
    if (is_add) {
        scalar_add(ref, a, b, n);
        set->add(out, a, b, n);
    } else {
        scalar_silu_mul(ref, a, b, n);
        set->silu_mul(out, a, b, n);
    }
    kc_check_guards(&w, r);
    if (!c->in_place)
        kc_check_unchanged(a, a0, bytes, is_add ? "a" : "g", r);
    kc_check_unchanged(b, b0, bytes, is_add ? "b" : "u", r);
    /* add is one correctly rounded operation: bit-exact in every class */
    struct kc_out o = {ref, out, 1, n, 0, 1, 0, n, bound, NULL, "i"};
    kc_compare(&o, set->accuracy, kc_nmse_bound(set->accuracy, c->op), r);
done:
    free(bound);
    kc_free(&w);
}

/* ---- naming and running one case ---- */

static void kc_shape(const struct kc_case *c, char *buf, size_t size)
{
    int k = 0;
    switch (c->op) {
    case KC_MATMUL:
        if (c->r0 > 0 || c->stride != c->rows)
            k = snprintf(buf, size, "n=%" PRId64 " rows=[%" PRId64 ",%" PRId64 ") stride=%" PRId64
                         " tokens=%" PRId64, c->n, c->r0, c->rows, c->stride, c->tokens);
        else
            k = snprintf(buf, size, "n=%" PRId64 " rows=%" PRId64 " tokens=%" PRId64, c->n,
                         c->rows, c->tokens);
        break;
    case KC_ROPE:
        k = snprintf(buf, size, "heads=%" PRId64 " hd=%" PRId64, c->heads, c->n);
        break;
    case KC_ATTENTION:
        k = snprintf(buf, size, "heads=%" PRId64 " kv_heads=%" PRId64 " hd=%" PRId64
                     " n_kv=%" PRId64, c->heads, c->kv_heads, c->n, c->n_kv);
        if (k >= 0 && (size_t)k < size && (c->h0 > 0 || c->h1 < c->heads))
            k += snprintf(buf + k, size - (size_t)k, " h=[%" PRId64 ",%" PRId64 ")", c->h0, c->h1);
        break;
    default:
        k = snprintf(buf, size, "n=%" PRId64, c->n);
        break;
    }
    const char *tags[3] = {c->unaligned ? " unaligned" : "", c->in_place ? " in-place" : "",
                           c->input == KC_IN_LARGE ? " large" : c->input == KC_IN_TINY ? " tiny" : ""};
    for (int t = 0; t < 3; t++)
        if (k >= 0 && (size_t)k < size)
            k += snprintf(buf + k, size - (size_t)k, "%s", tags[t]);
}

static void kc_result_init(const struct kc_case *c, struct kcheck_result *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->op, sizeof r->op, "%s", kc_op_name[c->op]);
    snprintf(r->type, sizeof r->type, "%s", dtype_name(c->type));
    kc_shape(c, r->shape, sizeof r->shape);
    r->pass = 1;
}

static void kc_run_case(const struct plumb_kernels *set, const struct kc_case *c, uint64_t seed,
                        struct kcheck_result *r)
{
    kc_result_init(c, r);
    uint64_t s = kc_hash(r->shape, kc_hash(r->type, kc_hash(r->op, 0xCBF29CE484222325ull))) ^ seed;
    switch (c->op) {
    case KC_MATMUL: kc_matmul(set, c, &s, r); break;
    case KC_RMSNORM: kc_rmsnorm(set, c, &s, r); break;
    case KC_ROPE: kc_rope(set, c, &s, r); break;
    case KC_SOFTMAX: kc_softmax(set, c, &s, r); break;
    case KC_ATTENTION: kc_attention(set, c, &s, r); break;
    case KC_SILU_MUL:
    case KC_ADD: kc_binary(set, c, &s, r); break;
    default: kc_fail(r, "internal: unknown operation"); break;
    }
}

/* ---- the case lists ---- */

struct kc_list {
    struct kc_case *v;
    size_t n, cap;
    bool oom;
};

static void kc_push(struct kc_list *l, struct kc_case c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct kc_case *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = c;
}

/* Row lengths for float rows: 1, primes, 2^k - 1, 2^k, 2^k + 1, 4096, 4097. */
static const int64_t kc_lens[] = {1,  2,  3,   5,   7,   8,   15,  16,   17,   31,   32,
                                  33, 63, 64,  127, 129, 255, 256, 1023, 4096, 4097};

static void kc_matmul_cases(struct kc_list *l, int type, enum plumb_accuracy acc)
{
    /* Block types: numbers of blocks that are and are not multiples of 2,
     * 4 and 8 (kernels unroll over blocks), up to 4096 elements and past. */
    static const int64_t blocks32[] = {1, 2, 3, 5, 7, 8, 9, 17, 128, 129};
    static const int64_t blocks256[] = {1, 2, 3, 5, 7, 16, 17};
    int64_t blck = dtype_traits(type)->blck_size;
    int64_t ns[32];
    size_t nn = 0;
    int64_t n_mid, n_small, n_big;
    if (blck == 1) {
        for (size_t i = 0; i < sizeof kc_lens / sizeof kc_lens[0]; i++)
            ns[nn++] = kc_lens[i];
        n_small = 17;
        n_mid = 33;
    } else if (blck == 32) {
        for (size_t i = 0; i < sizeof blocks32 / sizeof blocks32[0]; i++)
            ns[nn++] = 32 * blocks32[i];
        n_small = 32 * 5;
        n_mid = 32 * 3;
    } else {
        for (size_t i = 0; i < sizeof blocks256 / sizeof blocks256[0]; i++)
            ns[nn++] = blck * blocks256[i];
        n_small = blck;
        n_mid = 3 * blck;
    }
    n_big = ns[nn - 1];
    struct kc_case c = {.op = KC_MATMUL, .type = type};
#define KC_MM(N, ROWS, R0, STRIDE, TOK, UNAL, IN)                                                 \
    do {                                                                                          \
        c.n = (N), c.rows = (ROWS), c.r0 = (R0), c.stride = (STRIDE), c.tokens = (TOK);           \
        c.unaligned = (UNAL), c.input = (IN);                                                     \
        kc_push(l, c);                                                                            \
    } while (0)
    for (size_t i = 0; i < nn; i++) {
        KC_MM(ns[i], 7, 0, 7, 1, false, KC_IN_NORMAL);
        KC_MM(ns[i], 7, 0, 7, 3, true, KC_IN_NORMAL);
    }
    KC_MM(n_mid, 1, 0, 1, 1, false, KC_IN_NORMAL);
    KC_MM(n_mid, 16, 5, 21, 32, true, KC_IN_NORMAL); /* a row range of a wider output */
    KC_MM(n_big, 4, 0, 4, 32, false, KC_IN_NORMAL);
    /* A quantized-class set stores each activation block's scale as fp16,
     * as llama.cpp's CPU backend does: "tiny" activations (2^-20) underflow
     * it and "large" ones (4096) overflow a Q8_1 block sum. That is the
     * class's documented range, not a bug, so those cases are not held
     * against it. */
    if (acc != PLUMB_ACCURACY_QUANTIZED) {
        KC_MM(n_small, 7, 0, 7, 3, false, KC_IN_LARGE);
        KC_MM(n_big, 3, 0, 3, 1, true, KC_IN_LARGE);
        KC_MM(n_mid, 7, 0, 7, 3, false, KC_IN_TINY);
        KC_MM(n_big, 3, 0, 3, 3, false, KC_IN_TINY);
    }
#undef KC_MM
}

/* rmsnorm, softmax, silu_mul, add: one row of n. */
static void kc_row_cases(struct kc_list *l, enum kc_op op)
{
    struct kc_case c = {.op = op, .type = PLUMB_TYPE_F32};
    for (size_t i = 0; i < sizeof kc_lens / sizeof kc_lens[0]; i++) {
        c.n = kc_lens[i];
        kc_push(l, c);
    }
    static const int64_t unaligned[] = {7, 17, 33, 4097};
    c.unaligned = true;
    for (size_t i = 0; i < 4; i++) {
        c.n = unaligned[i];
        kc_push(l, c);
    }
    c.unaligned = false;
    c.input = KC_IN_LARGE;
    c.n = 33;
    kc_push(l, c);
    c.n = 4096;
    kc_push(l, c);
    c.input = KC_IN_TINY;
    c.n = 17;
    kc_push(l, c);
    c.n = 1023;
    kc_push(l, c);
    c.input = KC_IN_NORMAL;
    if (op == KC_ADD || op == KC_SILU_MUL) {
        c.in_place = true;
        c.n = 17;
        kc_push(l, c);
        c.unaligned = true;
        c.n = 4097;
        kc_push(l, c);
    }
}

static void kc_rope_cases(struct kc_list *l)
{
    static const int64_t shapes[][2] = {{1, 2},  {1, 4},  {2, 6},  {3, 8},  {1, 14},  {2, 16},
                                        {1, 30}, {4, 32}, {8, 64}, {2, 128}, {1, 256}};
    struct kc_case c = {.op = KC_ROPE, .type = PLUMB_TYPE_F32};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        c.heads = shapes[i][0];
        c.n = shapes[i][1];
        kc_push(l, c);
    }
    c.unaligned = true;
    for (size_t i = 3; i < sizeof shapes / sizeof shapes[0]; i += 3) {
        c.heads = shapes[i][0];
        c.n = shapes[i][1];
        kc_push(l, c);
    }
    c.unaligned = false;
    c.heads = 2, c.n = 128, c.input = KC_IN_LARGE;
    kc_push(l, c);
    c.heads = 4, c.n = 32, c.input = KC_IN_TINY;
    kc_push(l, c);
}

static void kc_attention_cases(struct kc_list *l)
{
    /* heads, kv_heads, hd, n_kv */
    static const int64_t shapes[][4] = {
        {1, 1, 2, 1},  {1, 1, 8, 1},   {1, 1, 8, 2},    {4, 4, 16, 3},  {8, 2, 8, 7},
        {6, 1, 16, 17}, {4, 2, 64, 33}, {8, 8, 64, 100}, {2, 1, 128, 257}, {4, 4, 14, 5},
        {2, 2, 6, 9},  {8, 2, 32, 1024},
    };
    struct kc_case c = {.op = KC_ATTENTION, .type = PLUMB_TYPE_F32};
#define KC_AT(I, H0, H1, UNAL, IN)                                                                \
    do {                                                                                          \
        c.heads = shapes[I][0], c.kv_heads = shapes[I][1], c.n = shapes[I][2];                    \
        c.n_kv = shapes[I][3], c.h0 = (H0), c.h1 = (H1) ? (H1) : c.heads;                         \
        c.unaligned = (UNAL), c.input = (IN);                                                     \
        kc_push(l, c);                                                                            \
    } while (0)
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        KC_AT(i, 0, 0, false, KC_IN_NORMAL);
    KC_AT(4, 0, 0, true, KC_IN_NORMAL);
    KC_AT(6, 0, 0, true, KC_IN_NORMAL);
    KC_AT(4, 3, 6, false, KC_IN_NORMAL); /* a range of heads: one thread's share */
    KC_AT(6, 0, 0, false, KC_IN_LARGE);
    KC_AT(5, 0, 0, false, KC_IN_TINY);
#undef KC_AT
}

/* ---- running groups of cases, each in a child ---- */

struct kc_run {
    const struct kcheck_options *o;
    struct kcheck_summary *s;
    uint64_t seed;
    double timeout;
};

static void kc_deliver(struct kc_run *run, const struct kcheck_result *r)
{
    if (r->pass)
        run->s->passed++;
    else
        run->s->failed++;
    if (run->o->on_result)
        run->o->on_result(run->o->ctx, r);
}

static double kc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *kc_signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGTRAP: return "SIGTRAP";
    default: return "a signal";
    }
}

#ifdef PLUMB_COVERAGE
void __gcov_dump(void); /* libgcov: write this process's counters now */
#endif

/* The child: run cases [0, n), one result each down fd, then _exit (no
 * atexit handlers, no flushing of buffers the parent owns). */
__attribute__((noreturn))
static void kc_child(int fd, const struct plumb_kernels *set, const struct kc_case *cases,
                     size_t n, uint64_t seed)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct rlimit core = {0, 0};
    setrlimit(RLIMIT_CORE, &core);
    for (size_t i = 0; i < n; i++) {
        struct kcheck_result r;
        kc_run_case(set, &cases[i], seed, &r);
        const char *p = (const char *)&r;
        size_t left = sizeof r;
        while (left > 0) {
            ssize_t k = write(fd, p, left);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                _exit(3);
            p += k;
            left -= (size_t)k;
        }
    }
    fflush(NULL); /* whatever the plugin printed */
#ifdef PLUMB_COVERAGE
    __gcov_dump(); /* _exit skips the coverage counters' own exit handler */
#endif
    _exit(0);
}

/* Read one result: 1 read, 0 end of file, -1 deadline passed, -2 error. */
static int kc_read_result(int fd, struct kcheck_result *r, double deadline)
{
    char *p = (char *)r;
    size_t got = 0;
    while (got < sizeof *r) {
        double left = deadline - kc_now();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(left * 1000.0) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -2;
        if (pr == 0)
            continue; /* the deadline check above decides */
        ssize_t k = read(fd, p + got, sizeof *r - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -2;
        if (k == 0)
            return got == 0 ? 0 : -2;
        got += (size_t)k;
    }
    return 1;
}

static int kc_run_group(struct kc_run *run, const struct kc_case *cases, size_t n,
                        struct plumb_err *err)
{
    if (run->o->in_process) {
        for (size_t i = 0; i < n; i++) {
            struct kcheck_result r;
            kc_run_case(run->o->set, &cases[i], run->seed, &r);
            kc_deliver(run, &r);
        }
        return 0;
    }
    size_t next = 0;
    while (next < n) {
        int fds[2];
        if (pipe(fds) != 0)
            return err_set(err, "kernel check: pipe: %s", strerror(errno));
        fflush(NULL); /* or the child could repeat buffered output */
        pid_t pid = fork();
        if (pid < 0) {
            int e = errno;
            close(fds[0]);
            close(fds[1]);
            return err_set(err, "kernel check: fork: %s", strerror(e));
        }
        if (pid == 0) {
            close(fds[0]);
            kc_child(fds[1], run->o->set, cases + next, n - next, run->seed);
        }
        close(fds[1]);
        int got;
        for (;;) {
            struct kcheck_result r;
            got = kc_read_result(fds[0], &r, kc_now() + run->timeout);
            if (got != 1)
                break;
            kc_deliver(run, &r);
            next++;
        }
        if (got == -1 || got == -2)
            kill(pid, SIGKILL);
        close(fds[0]);
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (next == n)
            break;
        /* The child stopped in the middle of cases[next]. */
        struct kcheck_result r;
        kc_result_init(&cases[next], &r);
        if (got == -1)
            kc_fail(&r, "timed out after %g s (killed)", run->timeout);
        else if (WIFSIGNALED(st) && got == 0)
            kc_fail(&r, "crashed: %s (signal %d)", kc_signal_name(WTERMSIG(st)), WTERMSIG(st));
        else if (WIFEXITED(st) && got == 0)
            kc_fail(&r, "the process exited with status %d during the case", WEXITSTATUS(st));
        else
            kc_fail(&r, "lost contact with the process running the case");
        kc_deliver(run, &r);
        next++;
    }
    return 0;
}

/* ---- the public functions ---- */

static bool kc_selected(const char *pattern, enum kc_op op, int type)
{
    if (!pattern)
        return true;
    char full[64];
    snprintf(full, sizeof full, "%s/%s", kc_op_name[op], dtype_name(type));
    return fnmatch(pattern, kc_op_name[op], 0) == 0 || fnmatch(pattern, full, 0) == 0;
}

/* Whether k fills operation op (for matmul: weight type `type`). */
static bool kc_slot_filled(const struct plumb_kernels *k, enum kc_op op, int type)
{
    switch (op) {
    case KC_MATMUL: return k->matmul[type] != NULL;
    case KC_RMSNORM: return k->rmsnorm != NULL;
    case KC_ROPE: return k->rope != NULL;
    case KC_SOFTMAX: return k->softmax != NULL;
    case KC_ATTENTION: return k->attention != NULL;
    case KC_SILU_MUL: return k->silu_mul != NULL;
    case KC_ADD: return k->add != NULL;
    default: return false;
    }
}

/* Whether a and b hold the same function for op (and type). */
static bool kc_slot_same(const struct plumb_kernels *a, const struct plumb_kernels *b,
                         enum kc_op op, int type)
{
    switch (op) {
    case KC_MATMUL: return a->matmul[type] == b->matmul[type];
    case KC_RMSNORM: return a->rmsnorm == b->rmsnorm;
    case KC_ROPE: return a->rope == b->rope;
    case KC_SOFTMAX: return a->softmax == b->softmax;
    case KC_ATTENTION: return a->attention == b->attention;
    case KC_SILU_MUL: return a->silu_mul == b->silu_mul;
    case KC_ADD: return a->add == b->add;
    default: return false;
    }
}

/* Append the filled slots ("matmul f32 q8_0, rmsnorm"); only those that
 * differ from the scalar set's when `differing`. */
static void kc_list_slots(const struct plumb_kernels *set, bool differing, char *buf, size_t size)
{
    const struct plumb_kernels *sc = kernels_scalar();
    size_t k = 0;
    buf[0] = '\0';
    for (int op = 0; op < KC_N_OPS; op++) {
        int n_types = op == KC_MATMUL ? PLUMB_KERNELS_MAX_TYPES : 1;
        bool named = false;
        for (int t = 0; t < n_types; t++) {
            int type = op == KC_MATMUL ? t : PLUMB_TYPE_F32;
            if (!kc_slot_filled(set, (enum kc_op)op, type) ||
                (differing && kc_slot_same(set, sc, (enum kc_op)op, type)))
                continue;
            int w;
            if (!named)
                w = snprintf(buf + k, size - k, "%s%s", k ? ", " : "", kc_op_name[op]);
            else
                w = 0;
            if (w < 0 || (size_t)w >= size - k)
                return;
            k += (size_t)w;
            named = true;
            if (op == KC_MATMUL) {
                w = snprintf(buf + k, size - k, " %s", dtype_name(type));
                if (w < 0 || (size_t)w >= size - k)
                    return;
                k += (size_t)w;
            }
        }
    }
    if (k == 0)
        snprintf(buf, size, "none");
}

void kcheck_describe(const struct plumb_kernels *set, char *buf, size_t size)
{
    if (size == 0)
        return;
    kc_list_slots(set, true, buf, size);
}

const char *kcheck_accuracy_name(enum plumb_accuracy a)
{
    switch (a) {
    case PLUMB_ACCURACY_EXACT: return "exact";
    case PLUMB_ACCURACY_SIMD: return "simd";
    case PLUMB_ACCURACY_QUANTIZED: return "quantized";
    default: return "unknown";
    }
}

void kcheck_format(const struct kcheck_result *r, char *buf, size_t size)
{
    if (size == 0)
        return;
    int k = snprintf(buf, size, "%s %s %s:", r->op, r->type, r->shape);
    if (k >= 0 && (size_t)k < size && r->metric[0]) {
        bool ulp = !strcmp(r->metric, "max_ulp");
        char value[32];
        if (ulp)
            snprintf(value, sizeof value, "%.0f", r->value);
        else
            snprintf(value, sizeof value, "%.2g", r->value);
        k += snprintf(buf + k, size - (size_t)k, " %s %s %s %g", r->metric, value,
                      r->value <= r->bound ? "<=" : ">", r->bound);
    }
    if (k >= 0 && (size_t)k < size)
        snprintf(buf + k, size - (size_t)k, r->pass ? " ok" : " FAIL%s%s",
                 r->detail[0] ? ": " : "", r->detail);
}

int kcheck_run(const struct kcheck_options *o, struct kcheck_summary *s, struct plumb_err *err)
{
    memset(s, 0, sizeof *s);
    const struct plumb_kernels *set = o->set;
    if (!set)
        return err_set(err, "kernel check: no kernel set");
    if (set->abi != PLUMB_KERNELS_ABI)
        return err_set(err, "kernel set '%s': ABI version %u, expected %d",
                       set->name ? set->name : "?", (unsigned)set->abi, PLUMB_KERNELS_ABI);
    struct kc_run run = {o, s, o->seed ? o->seed : KCHECK_DEFAULT_SEED,
                         o->timeout > 0 ? o->timeout : KCHECK_DEFAULT_TIMEOUT};
    const struct plumb_kernels *sc = kernels_scalar();
    int n_groups = 0;
    for (int pass = 0; pass < 2; pass++) { /* first count, then run */
        for (int op = 0; op < KC_N_OPS; op++) {
            int n_types = op == KC_MATMUL ? PLUMB_KERNELS_MAX_TYPES : 1;
            for (int t = 0; t < n_types; t++) {
                int type = op == KC_MATMUL ? t : PLUMB_TYPE_F32;
                if (!kc_slot_filled(set, (enum kc_op)op, type) ||
                    !kc_selected(o->op_pattern, (enum kc_op)op, type))
                    continue;
                if (pass == 0) {
                    n_groups++;
                    continue;
                }
                if (!kc_slot_filled(sc, (enum kc_op)op, type)) {
                    /* Nothing to hold it against, and the engine never calls it. */
                    struct kcheck_result r;
                    struct kc_case c = {.op = (enum kc_op)op, .type = type};
                    kc_result_init(&c, &r);
                    snprintf(r.shape, sizeof r.shape, "(any)");
                    kc_fail(&r, "the scalar set has no %s for %s, so it cannot be checked "
                            "(and the engine never calls it)", kc_op_name[op], dtype_name(type));
                    kc_deliver(&run, &r);
                    continue;
                }
                struct kc_list l = {0};
                switch (op) {
                case KC_MATMUL: kc_matmul_cases(&l, type, set->accuracy); break;
                case KC_ROPE: kc_rope_cases(&l); break;
                case KC_ATTENTION: kc_attention_cases(&l); break;
                default: kc_row_cases(&l, (enum kc_op)op); break;
                }
                int rc = l.oom ? err_set(err, "kernel check: out of memory")
                               : kc_run_group(&run, l.v, l.n, err);
                free(l.v);
                if (rc != 0)
                    return -1;
            }
        }
        if (pass == 0 && n_groups == 0) {
            char filled[512];
            kc_list_slots(set, false, filled, sizeof filled);
            if (o->op_pattern)
                return err_set(err, "--op '%s' selects none of the operations kernel set '%s' "
                               "fills (%s)", o->op_pattern, set->name ? set->name : "?", filled);
            return err_set(err, "kernel set '%s' fills no operation", set->name ? set->name : "?");
        }
    }
    return 0;
}
