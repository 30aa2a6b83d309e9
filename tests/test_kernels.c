/*
 * test_kernels.c: the built-in SIMD kernel sets (avx2, avx512; neon where
 * built) against the scalar spec, op by op, and the registry that picks a
 * set.
 *
 * What each claim of engine/kernels/simd_ops.h is pinned by:
 * - matmul, every type and shape: |simd - scalar| <= n 2^-23 sum|w_i x_i|
 *   (+ an underflow allowance) per output, and against a double-precision
 *   oracle |simd - exact| <= n 2^-24 sum|w_i x_i|. Why: both the spec and
 *   the SIMD order put at most n roundings (relative error 2^-24 each) on
 *   any term's path, so each is within gamma_n sum|terms| of the exact sum
 *   (Higham, Accuracy and Stability of Numerical Algorithms, 3.1), and of
 *   each other within twice that. For n < 32 the float types are all tail,
 *   i.e. the spec itself, and must match it exactly.
 * - dequantization is exact (integer part bit-exact): one-hot activations
 *   read every weight back through the matmul unchanged.
 * - the same output for any row split (threads), batch (tokens) and path.
 * - rmsnorm, softmax, silu_mul, add, rope: bit-identical to the spec
 *   (NaN where the spec gives NaN), over awkward lengths and inputs that
 *   take both the vector path and the fall-back to mathfn.
 * - attention: within a bound derived from the score and mix errors, and
 *   against a double-precision oracle.
 * Sets the CPU cannot run are skipped with a message naming them.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "dump.h"
#include "helpers.h"
#include "kernels_registry.h"
#include "mathfn.h"
#include "scalar.h"

TestSuite(kernels_simd, .timeout = 120);
TestSuite(kernels_registry, .timeout = 30);

/* ---- inputs ---- */

static double unit(uint64_t *s)
{
    return (double)(test_rand(s) >> 11) * 0x1p-53;
}

/* Activations: mode 0 uniform [-1, 1]; 1 magnitudes from 2^-40 to 2^40;
 * 2 near zero (down to subnormals); 3 large (up to 1e15) mixed with small. */
static float rand_act(uint64_t *s, int mode)
{
    double sign = test_rand(s) & 1 ? -1.0 : 1.0;
    switch (mode) {
    case 0: return (float)(2.0 * unit(s) - 1.0);
    case 1: return (float)(sign * (1.0 + unit(s)) * ldexp(1.0, (int)(test_rand(s) % 81) - 40));
    case 2: return (float)(sign * unit(s) * ldexp(1.0, -120 - (int)(test_rand(s) % 20)));
    default: return (float)(sign * (test_rand(s) % 4 ? unit(s) : unit(s) * 1e15));
    }
}

/* A finite fp16 scale: mostly ordinary, sometimes zero, -0, subnormal or large. */
static uint16_t rand_scale16(uint64_t *s)
{
    switch (test_rand(s) % 16) {
    case 0: return 0x0000;
    case 1: return 0x8000;
    case 2: return (uint16_t)(test_rand(s) % 0x400) | (uint16_t)(test_rand(s) & 0x8000); /* subnormal */
    case 3: return dtype_fp32_to_fp16((float)((unit(s) - 0.5) * 2000.0));
    default: return dtype_fp32_to_fp16((float)((unit(s) - 0.5) * 0.1));
    }
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

/* The fp16 fields of each type's block (byte offsets). */
static void fix_scales(int type, uint8_t *blk, uint64_t *s)
{
    switch (type) {
    case PLUMB_TYPE_Q4_0: case PLUMB_TYPE_Q5_0: case PLUMB_TYPE_Q8_0:
        put16(blk, rand_scale16(s));
        break;
    case PLUMB_TYPE_Q4_1: case PLUMB_TYPE_Q5_1: case PLUMB_TYPE_Q4_K: case PLUMB_TYPE_Q5_K:
        put16(blk, rand_scale16(s));
        put16(blk + 2, rand_scale16(s));
        break;
    case PLUMB_TYPE_Q2_K:
        put16(blk + 80, rand_scale16(s));
        put16(blk + 82, rand_scale16(s));
        break;
    case PLUMB_TYPE_Q3_K:
        put16(blk + 108, rand_scale16(s));
        break;
    case PLUMB_TYPE_Q6_K:
        put16(blk + 208, rand_scale16(s));
        break;
    default:
        break;
    }
}

/* rows x n weights of `type` into w (row_size bytes a row): random codes,
 * finite scales; f16 finite, bf16 with exponents within 2^+-40. */
static void rand_weights(int type, uint8_t *w, int64_t rows, int64_t n, size_t row_size, uint64_t *s)
{
    const struct dtype_traits *tr = dtype_traits(type);
    for (size_t i = 0; i < (size_t)rows * row_size; i++)
        w[i] = (uint8_t)test_rand(s);
    for (int64_t r = 0; r < rows; r++) {
        uint8_t *row = w + (size_t)r * row_size;
        if (type == PLUMB_TYPE_F32) {
            for (int64_t i = 0; i < n; i++) {
                float v = rand_act(s, (int)(test_rand(s) % 3));
                memcpy(row + 4 * i, &v, 4);
            }
        } else if (type == PLUMB_TYPE_F16) {
            for (int64_t i = 0; i < n; i++)
                if (((row[2 * i + 1] >> 2) & 0x1f) == 0x1f)
                    row[2 * i + 1] &= 0xbf; /* Inf/NaN -> finite */
        } else if (type == PLUMB_TYPE_BF16) {
            for (int64_t i = 0; i < n; i++) {
                float v = (float)((unit(s) - 0.5) * ldexp(1.0, (int)(test_rand(s) % 81) - 40));
                put16(row + 2 * i, dtype_fp32_to_bf16(v));
            }
        } else {
            for (int64_t b = 0; b < n / tr->blck_size; b++)
                fix_scales(type, row + (size_t)b * tr->type_size, s);
        }
    }
}

/* ---- the sets under test ---- */

/* The built-in set called name, or NULL after cr_skip_test when this
 * binary or CPU cannot run it. */
static const struct plumb_kernels *set_or_skip(const char *name)
{
    for (size_t i = 0; i < kernels_count(); i++) {
        if (strcmp(kernels_at(i)->name, name) != 0)
            continue;
        if (!kernels_supported(i))
            cr_skip_test("kernel set '%s': this CPU cannot run it", name);
        return kernels_at(i);
    }
    cr_skip_test("kernel set '%s': not built for this architecture", name);
    return NULL;
}

static const int matmul_types[] = {
    PLUMB_TYPE_F32, PLUMB_TYPE_F16, PLUMB_TYPE_BF16, PLUMB_TYPE_Q4_0, PLUMB_TYPE_Q4_1,
    PLUMB_TYPE_Q5_0, PLUMB_TYPE_Q5_1, PLUMB_TYPE_Q8_0, PLUMB_TYPE_Q2_K, PLUMB_TYPE_Q3_K,
    PLUMB_TYPE_Q4_K, PLUMB_TYPE_Q5_K, PLUMB_TYPE_Q6_K,
};
#define N_TYPES (sizeof matmul_types / sizeof matmul_types[0])

/* Row lengths: every awkward length for the plain float types; 1..9 and a
 * few more blocks for the block formats. */
static int row_lengths(int type, int64_t *out)
{
    static const int64_t awkward[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 63, 127, 129, 255, 1023};
    int64_t blk = dtype_traits(type)->blck_size;
    int k = 0;
    if (blk == 1) {
        for (size_t i = 0; i < sizeof awkward / sizeof awkward[0]; i++)
            out[k++] = awkward[i];
        return k;
    }
    for (int b = 1; b <= 9; b++)
        out[k++] = b * blk;
    if (blk == 32) {
        out[k++] = 32 * 32; /* 1024 and 1056: two and three batch chunks (512 each) */
        out[k++] = 33 * 32;
    }
    return k;
}

/* ---- matmul ---- */

#define GUARD 16
static const uint32_t SENTINEL = 0x7fc0deadu;

static float sentinel(void)
{
    float f;
    memcpy(&f, &SENTINEL, 4);
    return f;
}

static int is_sentinel(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u == SENTINEL;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* A matmul problem: weights (misaligned: odd byte offset for the byte-read
 * formats, 4 for f32), activations 4 bytes off the allocation's alignment. */
struct mm_case {
    int type;
    int64_t n, rows, n_tok;
    size_t row_size;
    uint8_t *wbuf, *w;
    float *xbuf, *x;
    float *wf;      /* (rows, n) the weights dequantized by the spec */
};

static void mm_init(struct mm_case *c, int type, int64_t n, int64_t rows, int64_t n_tok, int act_mode,
                    uint64_t *s)
{
    c->type = type;
    c->n = n;
    c->rows = rows;
    c->n_tok = n_tok;
    cr_assert(dtype_row_size(type, n, &c->row_size));
    size_t off = type == PLUMB_TYPE_F32 ? 4 : 1;
    c->wbuf = malloc((size_t)rows * c->row_size + 64);
    c->w = c->wbuf + off;
    rand_weights(type, c->w, rows, n, c->row_size, s);
    c->xbuf = malloc((size_t)(n * n_tok + 16) * sizeof(float));
    c->x = c->xbuf + 1;
    for (int64_t i = 0; i < n * n_tok; i++)
        c->x[i] = rand_act(s, act_mode);
    c->wf = malloc((size_t)(rows * n) * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *row = c->w + (size_t)r * c->row_size;
        if (type == PLUMB_TYPE_F32)
            memcpy(c->wf + r * n, row, (size_t)n * 4);
        else
            dtype_traits(type)->to_float(row, c->wf + r * n, n);
    }
}

static void mm_free(struct mm_case *c)
{
    free(c->wbuf);
    free(c->xbuf);
    free(c->wf);
}

/* out (n_tok rows of stride rows + 3, then GUARD sentinels) for rows
 * [r0, r1) in `parts` calls as pool_split divides them. */
static float *mm_run(const struct plumb_kernels *k, const struct mm_case *c, int64_t r0, int64_t r1,
                     int parts)
{
    int64_t stride = c->rows + 3;
    size_t len = (size_t)(stride * c->n_tok + GUARD);
    float *out = malloc(len * sizeof(float));
    for (size_t i = 0; i < len; i++)
        out[i] = sentinel();
    float *scratch = malloc((size_t)c->n * sizeof(float) + 64);
    for (int i = 0; i < parts; i++) {
        long long b = r0 + (r1 - r0) * i / parts, e = r0 + (r1 - r0) * (i + 1) / parts;
        k->matmul[c->type](out, stride, c->w, c->row_size, c->x, c->n, c->n_tok, b, e, scratch);
    }
    free(scratch);
    return out;
}

/* Every element outside rows [r0, r1) and past the end is untouched. */
static void mm_check_guards(const struct mm_case *c, const float *out, int64_t r0, int64_t r1,
                            const char *what)
{
    int64_t stride = c->rows + 3;
    for (int64_t t = 0; t < c->n_tok; t++)
        for (int64_t j = 0; j < stride; j++)
            if (j < r0 || j >= r1)
                cr_assert(is_sentinel(out[t * stride + j]),
                          "%s %s n=%lld: wrote out[token %lld, row %lld] outside rows [%lld, %lld)",
                          what, dtype_name(c->type), (long long)c->n, (long long)t, (long long)j,
                          (long long)r0, (long long)r1);
    for (int g = 0; g < GUARD; g++)
        cr_assert(is_sentinel(out[stride * c->n_tok + g]), "%s %s n=%lld: guard %d overwritten",
                  what, dtype_name(c->type), (long long)c->n, g);
}

struct worst {
    double ratio; /* error / bound */
    double err, bound;
    int64_t t, r;
};

static void worst_note(struct worst *w, double err, double bound, int64_t t, int64_t r)
{
    double ratio = bound > 0 ? err / bound : (err > 0 ? INFINITY : 0);
    if (ratio > w->ratio || w->t < 0) {
        w->ratio = ratio;
        w->err = err;
        w->bound = bound;
        w->t = t;
        w->r = r;
    }
}

static double mm_case_ratio_max;

/* One set, one type, one shape: bounds against scalar and the oracle,
 * guards, thread splits and the batch all bit-identical. */
static void mm_check(const struct plumb_kernels *k, int type, int64_t n, int64_t rows, int64_t n_tok,
                     int act_mode, uint64_t seed)
{
    uint64_t s = seed;
    struct mm_case c;
    mm_init(&c, type, n, rows, n_tok, act_mode, &s);
    const struct plumb_kernels *sc = kernels_scalar();
    float *want = mm_run(sc, &c, 0, rows, 1);
    float *got = mm_run(k, &c, 0, rows, 1);
    mm_check_guards(&c, got, 0, rows, k->name);
    int64_t stride = rows + 3;

    struct worst vs_scalar = {0, 0, 0, -1, -1}, vs_oracle = {0, 0, 0, -1, -1};
    const double u = 0x1p-24;
    for (int64_t t = 0; t < n_tok; t++) {
        for (int64_t r = 0; r < rows; r++) {
            double exact = 0, abs_sum = 0;
            for (int64_t i = 0; i < n; i++) {
                double term = (double)c.wf[r * n + i] * (double)c.x[t * n + i];
                exact += term;
                abs_sum += fabs(term);
            }
            double g = got[t * stride + r], w = want[t * stride + r];
            cr_assert(isfinite(g), "%s %s n=%lld seed=%llu: out[%lld, %lld] = %g", k->name,
                      dtype_name(type), (long long)n, (unsigned long long)seed, (long long)t,
                      (long long)r, g);
            double b_scalar = 1.01 * (double)n * 2 * u * abs_sum + (double)n * 0x1p-148;
            double b_oracle = 1.01 * (double)n * u * abs_sum + (double)n * 0x1p-149;
            if (dtype_traits(type)->blck_size == 1 && n < 32)
                b_scalar = 0; /* all tail: the spec itself */
            worst_note(&vs_scalar, fabs(g - w), b_scalar, t, r);
            worst_note(&vs_oracle, fabs(g - exact), b_oracle, t, r);
        }
    }
    cr_assert(vs_scalar.ratio <= 1.0,
              "%s %s n=%lld rows=%lld tokens=%lld mode=%d seed=%llu: out[%lld, %lld] is %g off the "
              "spec, bound %g", k->name, dtype_name(type), (long long)n, (long long)rows,
              (long long)n_tok, act_mode, (unsigned long long)seed, (long long)vs_scalar.t,
              (long long)vs_scalar.r, vs_scalar.err, vs_scalar.bound);
    cr_assert(vs_oracle.ratio <= 1.0,
              "%s %s n=%lld rows=%lld tokens=%lld mode=%d seed=%llu: out[%lld, %lld] is %g off the "
              "exact sum, bound %g", k->name, dtype_name(type), (long long)n, (long long)rows,
              (long long)n_tok, act_mode, (unsigned long long)seed, (long long)vs_oracle.t,
              (long long)vs_oracle.r, vs_oracle.err, vs_oracle.bound);
    if (vs_scalar.ratio > mm_case_ratio_max)
        mm_case_ratio_max = vs_scalar.ratio;

    /* any row split gives the same bits (threads), and so does a sub-range */
    for (int parts = 2; parts <= 5; parts += 3) {
        float *split = mm_run(k, &c, 0, rows, parts);
        cr_assert(eq(int, memcmp(split, got, (size_t)(stride * n_tok) * sizeof(float)), 0),
                  "%s %s n=%lld: %d-way row split changed the result", k->name, dtype_name(type),
                  (long long)n, parts);
        free(split);
    }
    if (rows > 2) {
        float *sub = mm_run(k, &c, 1, rows - 1, 1);
        mm_check_guards(&c, sub, 1, rows - 1, k->name);
        for (int64_t t = 0; t < n_tok; t++)
            for (int64_t r = 1; r < rows - 1; r++)
                cr_assert(eq(u32, bits(sub[t * stride + r]), bits(got[t * stride + r])),
                          "%s %s n=%lld: rows [1, %lld) alone differ at [%lld, %lld]", k->name,
                          dtype_name(type), (long long)n, (long long)(rows - 1), (long long)t,
                          (long long)r);
        free(sub);
    }
    /* the batch gives each token what it gets alone (the decode path) */
    if (n_tok > 1) {
        for (int64_t t = 0; t < n_tok; t += n_tok / 3 + 1) {
            struct mm_case one = c;
            one.n_tok = 1;
            one.x = c.x + t * n;
            float *alone = mm_run(k, &one, 0, rows, 1);
            for (int64_t r = 0; r < rows; r++)
                cr_assert(eq(u32, bits(alone[r]), bits(got[t * stride + r])),
                          "%s %s n=%lld: token %lld of %lld differs from the token alone at row %lld",
                          k->name, dtype_name(type), (long long)n, (long long)t, (long long)n_tok,
                          (long long)r);
            free(alone);
        }
    }
    free(want);
    free(got);
    mm_free(&c);
}

static void matmul_sweep(const char *name)
{
    const struct plumb_kernels *k = set_or_skip(name);
    struct plumb_kernels full;
    cr_assert(eq(int, kernels_resolve(k, &full, NULL), 0));
    static const int64_t toks[] = {1, 2, 3, 32, 35};
    uint64_t seed = 1;
    mm_case_ratio_max = 0;
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        int64_t lens[32];
        int nl = row_lengths(matmul_types[ti], lens);
        for (int li = 0; li < nl; li++)
            for (size_t k_tok = 0; k_tok < sizeof toks / sizeof toks[0]; k_tok++) {
                /* 35 tokens (past one batch of 32) only on short rows, to keep it quick */
                if (toks[k_tok] == 35 && lens[li] > 300)
                    continue;
                mm_check(&full, matmul_types[ti], lens[li], 9, toks[k_tok], (int)(seed % 4), seed);
                seed++;
            }
    }
    cr_log_info("%s: worst matmul error against the spec: %.3g of the bound", name,
                mm_case_ratio_max);
}

/* One-hot activations read each weight back through the matmul: the
 * in-register dequantization must equal the spec's (quants.c) exactly. */
/* One-hot activations read each weight of a rows x n matrix of the type
 * back through the kernel set's matmul, n_tok tokens at a time; every
 * weight must come back as the spec dequantizes it. */
static void dequant_readback(const char *name, const struct plumb_kernels *full, int type,
                             int64_t n, int64_t rows, int64_t n_tok, uint64_t *s)
{
    struct mm_case c;
    mm_init(&c, type, n, rows, n_tok, 0, s);
    for (int64_t i0 = 0; i0 < n; i0 += n_tok) {
        for (int64_t t = 0; t < n_tok; t++)
            for (int64_t i = 0; i < n; i++)
                c.x[t * n + i] = i == i0 + t ? 1.0f : 0.0f;
        float *got = mm_run(full, &c, 0, c.rows, 1);
        for (int64_t t = 0; t < n_tok && i0 + t < n; t++)
            for (int64_t r = 0; r < c.rows; r++) {
                float want = c.wf[r * n + i0 + t], g = got[t * (c.rows + 3) + r];
                cr_assert(g == want, "%s %s n=%lld: weight [%lld, %lld] reads back as %.9g, the spec "
                          "dequantizes it to %.9g (%lld tokens at a time)", name, dtype_name(type),
                          (long long)n, (long long)r, (long long)(i0 + t), (double)g, (double)want,
                          (long long)n_tok);
            }
        free(got);
    }
    mm_free(&c);
}

static void dequant_exact(const char *name)
{
    const struct plumb_kernels *k = set_or_skip(name);
    struct plumb_kernels full;
    cr_assert(eq(int, kernels_resolve(k, &full, NULL), 0));
    uint64_t s = 77;
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        int type = matmul_types[ti];
        int64_t blk = dtype_traits(type)->blck_size;
        int64_t n = blk == 1 ? 1023 : 3 * blk;
        for (int64_t n_tok = 1; n_tok <= 32; n_tok *= 32) /* decode path and batch path */
            dequant_readback(name, &full, type, n, 5, n_tok, &s);
    }
}

/* ---- elementwise operations: bit-identical ---- */

static int same_bits(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, 4) == 0;
}

static const int64_t awkward_n[] = {1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 63, 127, 129, 255, 1023};
#define N_AWKWARD (sizeof awkward_n / sizeof awkward_n[0])

/* First index where a and b differ in bits (NaN = NaN), or -1. */
static int64_t first_diff(const float *a, const float *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!same_bits(a[i], b[i]))
            return i;
    return -1;
}

static float *falloc(int64_t n)
{
    float *p = malloc((size_t)(n + GUARD + 1) * sizeof(float));
    for (int64_t i = 0; i < n + GUARD + 1; i++)
        p[i] = sentinel();
    return p + 1; /* 4 bytes off the allocation's alignment */
}

static void ffree(float *p)
{
    free(p - 1);
}

static void check_guard(const float *p, int64_t n, const char *what)
{
    for (int g = 0; g < GUARD; g++)
        cr_assert(is_sentinel(p[n + g]), "%s n=%lld: wrote past the end (guard %d)", what,
                  (long long)n, g);
}

/* Zeros of both signs, subnormals, infinities, NaN, the extremes. */
static float special_value(uint64_t *s)
{
    static const float v[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f, -3e-39f,
                              3.4028235e38f, -1.0f, 2.5f};
    return v[test_rand(s) % (sizeof v / sizeof v[0])];
}

static void elementwise_exact(const char *name)
{
    const struct plumb_kernels *k = set_or_skip(name);
    const struct plumb_kernels *sc = kernels_scalar();
    uint64_t s = 5;
    for (size_t li = 0; li < N_AWKWARD; li++) {
        int64_t n = awkward_n[li];
        for (int mode = 0; mode < 5; mode++) {
            float *a = falloc(n), *b = falloc(n), *w = falloc(n), *o1 = falloc(n), *o2 = falloc(n);
            for (int64_t i = 0; i < n; i++) {
                /* mode 4: special values mixed into ordinary ones */
                a[i] = mode == 4 && test_rand(&s) % 3 == 0 ? special_value(&s) : rand_act(&s, mode % 4);
                b[i] = mode == 4 && test_rand(&s) % 3 == 0 ? special_value(&s) : rand_act(&s, (mode + 1) % 4);
                w[i] = rand_act(&s, 0);
            }
            /* add */
            sc->add(o1, a, b, n);
            k->add(o2, a, b, n);
            cr_assert(eq(i64, first_diff(o1, o2, n), -1), "%s add n=%lld mode %d differs", name,
                      (long long)n, mode);
            check_guard(o2, n, "add");
            /* rmsnorm */
            sc->rmsnorm(o1, a, w, n, 1e-5f);
            k->rmsnorm(o2, a, w, n, 1e-5f);
            cr_assert(eq(i64, first_diff(o1, o2, n), -1), "%s rmsnorm n=%lld mode %d differs at %lld",
                      name, (long long)n, mode, (long long)first_diff(o1, o2, n));
            check_guard(o2, n, "rmsnorm");
            /* silu_mul: gates over [-130, 130], past both ends of the vector range */
            for (int64_t i = 0; i < n; i++)
                a[i] = mode == 1   ? (float)((unit(&s) - 0.5) * 260.0)
                       : mode == 4 ? (test_rand(&s) % 3 ? rand_act(&s, 0) : special_value(&s))
                                   : rand_act(&s, mode);
            if (n > 20 && mode == 2) {
                a[3] = NAN;
                a[17] = INFINITY;
                a[19] = -INFINITY;
            }
            sc->silu_mul(o1, a, b, n);
            k->silu_mul(o2, a, b, n);
            cr_assert(eq(i64, first_diff(o1, o2, n), -1), "%s silu_mul n=%lld mode %d differs at %lld",
                      name, (long long)n, mode, (long long)first_diff(o1, o2, n));
            check_guard(o2, n, "silu_mul");
            /* in place, as the forward pass calls it */
            memcpy(o1, a, (size_t)n * 4);
            k->silu_mul(o1, o1, b, n);
            cr_assert(eq(i64, first_diff(o1, o2, n), -1), "%s silu_mul in place n=%lld", name, (long long)n);
            /* softmax: spreads from 1 to 300, so some exponents fall below -110 */
            double spread = mode == 0 ? 1.0 : mode == 1 ? 30.0 : mode == 2 ? 300.0 : 1e-3;
            for (int64_t i = 0; i < n; i++)
                o1[i] = o2[i] = mode == 4 && test_rand(&s) % 5 == 0 ? special_value(&s)
                                                                    : (float)((unit(&s) - 0.5) * spread);
            if (n > 8 && mode == 3) {
                o1[5] = o2[5] = -INFINITY;
                o1[7] = o2[7] = o1[2]; /* a tie */
            }
            sc->softmax(o1, n);
            k->softmax(o2, n);
            cr_assert(eq(i64, first_diff(o1, o2, n), -1), "%s softmax n=%lld spread %g differs at %lld",
                      name, (long long)n, spread, (long long)first_diff(o1, o2, n));
            check_guard(o2, n, "softmax");
            ffree(a), ffree(b), ffree(w), ffree(o1), ffree(o2);
        }
    }
}

/* exp and SiLU lane by lane: a dense sweep of softmax's and SiLU's whole
 * vector range must give mathfn's bits. */
static void exp_silu_sweep(const char *name)
{
    const struct plumb_kernels *k = set_or_skip(name);
    const struct plumb_kernels *sc = kernels_scalar();
    const int64_t n = 4096;
    float *a = falloc(n), *b = falloc(n), *one = falloc(n);
    for (int64_t i = 0; i < n; i++)
        one[i] = 1.0f;
    uint64_t s = 11;
    int64_t checked = 0;
    for (int rep = 0; rep < 200; rep++) {
        /* softmax: a 0 (the max) and values over [-112, 0] */
        for (int64_t i = 0; i < n; i++)
            a[i] = b[i] = i == 0 ? 0.0f : (float)(-112.0 * unit(&s));
        sc->softmax(a, n);
        k->softmax(b, n);
        int64_t d = first_diff(a, b, n);
        cr_assert(eq(i64, d, -1), "%s softmax sweep rep %d differs at %lld", name, rep, (long long)d);
        /* silu over [-122, 112] */
        for (int64_t i = 0; i < n; i++)
            a[i] = (float)(-122.0 + 234.0 * unit(&s));
        sc->silu_mul(b, a, one, n);
        k->silu_mul(a, a, one, n);
        d = first_diff(a, b, n);
        cr_assert(eq(i64, d, -1), "%s silu sweep rep %d differs at %lld", name, rep, (long long)d);
        checked += 2 * n;
    }
    cr_log_info("%s: %lld exp/SiLU inputs bit-identical to mathfn", name, (long long)checked);
    ffree(a), ffree(b), ffree(one);
}

static void rope_exact(const char *name)
{
    const struct plumb_kernels *k = set_or_skip(name);
    const struct plumb_kernels *sc = kernels_scalar();
    static const int64_t hds[] = {2, 4, 8, 14, 16, 18, 32, 34, 64, 66, 128};
    uint64_t s = 3;
    for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++) {
        for (int64_t heads = 1; heads <= 3; heads++) {
            int64_t hd = hds[hi], n = heads * hd;
            float *a = falloc(n), *b = falloc(n), *c = falloc(hd / 2), *sn = falloc(hd / 2);
            for (int64_t i = 0; i < n; i++)
                a[i] = b[i] = rand_act(&s, (int)(i % 4));
            for (int64_t i = 0; i < hd / 2; i++)
                mathfn_sincosf((float)(unit(&s) * 1000.0), &sn[i], &c[i]);
            sc->rope(a, heads, hd, c, sn);
            k->rope(b, heads, hd, c, sn);
            cr_assert(eq(i64, first_diff(a, b, n), -1), "%s rope hd=%lld heads=%lld differs at %lld", name,
                      (long long)hd, (long long)heads, (long long)first_diff(a, b, n));
            check_guard(b, n, "rope");
            ffree(a), ffree(b), ffree(c), ffree(sn);
        }
    }
}

/* ---- attention ---- */

static void attention_check(const char *name)
{
    const struct plumb_kernels *k = set_or_skip(name);
    const struct plumb_kernels *sc = kernels_scalar();
    static const int64_t hds[] = {8, 16, 32, 48, 64, 80, 128};
    static const int64_t kvs[] = {1, 2, 3, 17, 33, 100};
    static const int64_t head_cfg[][2] = {{4, 4}, {8, 2}, {6, 1}};
    const double u = 0x1p-24;
    uint64_t s = 9;
    double worst_scalar = 0, worst_oracle = 0;
    for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++)
    for (size_t ki = 0; ki < sizeof kvs / sizeof kvs[0]; ki++)
    for (size_t ci = 0; ci < 3; ci++) {
        int64_t hd = hds[hi], n_kv = kvs[ki], nh = head_cfg[ci][0], nkv = head_cfg[ci][1];
        int64_t kv_dim = nkv * hd, q_dim = nh * hd, group = nh / nkv;
        int mode = (int)(s % 3); /* score spread: small, moderate, wide */
        double qscale = mode == 0 ? 0.3 : mode == 1 ? 2.0 : 6.0;
        float *q = falloc(q_dim), *kc = falloc(n_kv * kv_dim), *v = falloc(n_kv * kv_dim);
        for (int64_t i = 0; i < q_dim; i++)
            q[i] = (float)((unit(&s) - 0.5) * 2 * qscale);
        for (int64_t i = 0; i < n_kv * kv_dim; i++) {
            kc[i] = (float)(unit(&s) - 0.5) * 2;
            v[i] = rand_act(&s, i % 7 ? 0 : 3);
        }
        float scale = 1.0f / sqrtf((float)hd);
        int64_t h0 = ci == 1 ? 1 : 0, h1 = ci == 1 ? nh - 1 : nh; /* a sub-range of heads */
        float *want = falloc(q_dim), *got = falloc(q_dim), *att = falloc(n_kv);
        for (int64_t i = 0; i < q_dim; i++)
            want[i] = got[i] = sentinel();
        k->attention(got, q, kc, v, n_kv, nh, nkv, hd, h0, h1, scale, att);
        check_guard(got, q_dim, "attention");
        for (int64_t i = 0; i < q_dim; i++)
            if (i < h0 * hd || i >= h1 * hd)
                cr_assert(is_sentinel(got[i]), "%s attention wrote head %lld outside [%lld, %lld)",
                          name, (long long)(i / hd), (long long)h0, (long long)h1);
        for (int64_t h = h0; h < h1; h++) {
            int64_t g = h / group;
            sc->attention(want, q, kc, v, n_kv, nh, nkv, hd, h, h + 1, scale, att); /* att: this head's weights */
            /* the score error bound E (both sides' dot errors and the scaling's rounding) */
            double E = 0, m = -INFINITY;
            double *sd = malloc((size_t)n_kv * sizeof(double)), *ad = malloc((size_t)n_kv * sizeof(double));
            for (int64_t p = 0; p < n_kv; p++) {
                double dot = 0, abs_dot = 0;
                for (int64_t i = 0; i < hd; i++) {
                    double t = (double)kc[p * kv_dim + g * hd + i] * (double)q[h * hd + i];
                    dot += t;
                    abs_dot += fabs(t);
                }
                sd[p] = dot * scale;
                double e = (double)scale * 1.01 * (double)hd * 2 * u * abs_dot + 2 * u * fabs(sd[p]);
                if (e > E)
                    E = e;
                if (sd[p] > m)
                    m = sd[p];
            }
            double sum = 0;
            for (int64_t p = 0; p < n_kv; p++)
                sum += (ad[p] = exp(sd[p] - m));
            for (int64_t i = 0; i < hd; i++) {
                double exact = 0, b_scalar = 0, b_oracle = 0;
                for (int64_t p = 0; p < n_kv; p++) {
                    double vp = v[p * kv_dim + g * hd + i], a = ad[p] / sum;
                    exact += a * vp;
                    /* a weight moves by its score's error relative to the others', plus
                     * the rounding of x - m (|x - m| 2^-24) and of exp, the sum and
                     * the scaling; the mix adds n_kv roundings on each side */
                    double da = a * (2 * E + (fabs(sd[p] - m) + 4) * 2 * u);
                    b_scalar += da * fabs(vp) + 1.01 * (double)(2 * n_kv) * u * a * fabs(vp);
                    b_oracle += a * fabs(vp) * (E + (fabs(sd[p] - m) + 4) * u + 1.01 * (double)n_kv * u);
                }
                b_scalar = 1.1 * b_scalar + (double)n_kv * 0x1p-140;
                b_oracle = 1.1 * b_oracle + (double)n_kv * 0x1p-140;
                double gv = got[h * hd + i], wv = want[h * hd + i];
                double r1 = fabs(gv - wv) / b_scalar, r2 = fabs(gv - exact) / b_oracle;
                cr_assert(r1 <= 1.0, "%s attention hd=%lld n_kv=%lld heads %lld/%lld: out[%lld, %lld] "
                          "is %g off the spec, bound %g", name, (long long)hd, (long long)n_kv,
                          (long long)nh, (long long)nkv, (long long)h, (long long)i, fabs(gv - wv), b_scalar);
                cr_assert(r2 <= 1.0, "%s attention hd=%lld n_kv=%lld heads %lld/%lld: out[%lld, %lld] "
                          "is %g off the exact value, bound %g", name, (long long)hd, (long long)n_kv,
                          (long long)nh, (long long)nkv, (long long)h, (long long)i, fabs(gv - exact), b_oracle);
                if (r1 > worst_scalar)
                    worst_scalar = r1;
                if (r2 > worst_oracle)
                    worst_oracle = r2;
            }
            free(sd);
            free(ad);
        }
        ffree(q), ffree(kc), ffree(v), ffree(want), ffree(got), ffree(att);
    }
    cr_log_info("%s attention: worst error %.3g of the bound against the spec, %.3g against the oracle",
                name, worst_scalar, worst_oracle);
}

/* ---- one test per set and property ---- */

#define SET_TESTS(SET)                                                                            \
    Test(kernels_simd, SET##_matmul_is_within_the_reordering_bound_of_the_spec_for_every_type)    \
    {                                                                                             \
        matmul_sweep(#SET);                                                                       \
    }                                                                                             \
    Test(kernels_simd, SET##_dequantizes_every_weight_exactly_as_the_spec)                        \
    {                                                                                             \
        dequant_exact(#SET);                                                                      \
    }                                                                                             \
    Test(kernels_simd, SET##_elementwise_ops_are_bit_identical_to_the_spec)                       \
    {                                                                                             \
        elementwise_exact(#SET);                                                                  \
    }                                                                                             \
    Test(kernels_simd, SET##_exp_and_silu_give_mathfn_bits_over_their_whole_range)                \
    {                                                                                             \
        exp_silu_sweep(#SET);                                                                     \
    }                                                                                             \
    Test(kernels_simd, SET##_rope_is_bit_identical_to_the_spec)                                   \
    {                                                                                             \
        rope_exact(#SET);                                                                         \
    }                                                                                             \
    Test(kernels_simd, SET##_attention_is_within_its_bound_of_the_spec_and_the_exact_value)       \
    {                                                                                             \
        attention_check(#SET);                                                                    \
    }

SET_TESTS(avx2)
SET_TESTS(avx512)
SET_TESTS(neon)

/* One-hot activations read each weight of long rows back through the
 * decode path (1 and 2 tokens): rows of 37 legacy blocks (avx512 converts
 * their scales 12 to 16 blocks at a time, then the rest one by one) or 5
 * K blocks, 9 rows (a tile of 8 and one left over), every weight exact. */
static void dequant_exact_long_rows(const char *name)
{
    const struct plumb_kernels *k = set_or_skip(name);
    struct plumb_kernels full;
    cr_assert(eq(int, kernels_resolve(k, &full, NULL), 0));
    uint64_t s = 91;
    for (size_t ti = 0; ti < N_TYPES; ti++) {
        int type = matmul_types[ti];
        int64_t blk = dtype_traits(type)->blck_size;
        if (blk == 1)
            continue;
        for (int64_t n_tok = 1; n_tok <= 2; n_tok++)
            dequant_readback(name, &full, type, blk == 32 ? 37 * 32 : 5 * blk, 9, n_tok, &s);
    }
}

Test(kernels_simd, avx2_dequantizes_long_rows_exactly_in_the_decode_path)
{
    dequant_exact_long_rows("avx2");
}

Test(kernels_simd, avx512_dequantizes_long_rows_exactly_in_the_decode_path)
{
    dequant_exact_long_rows("avx512");
}

Test(kernels_simd, neon_dequantizes_long_rows_exactly_in_the_decode_path)
{
    dequant_exact_long_rows("neon");
}

/* ---- the registry ---- */

Test(kernels_registry, scalar_comes_first_and_names_are_unique_and_resolvable)
{
    cr_assert(eq(str, (char *)kernels_at(0)->name, "scalar"));
    cr_assert(kernels_supported(0));
    cr_assert(eq(ptr, (void *)kernels_at(kernels_count()), NULL));
    for (size_t i = 0; i < kernels_count(); i++) {
        const struct plumb_kernels *k = kernels_at(i);
        cr_assert(eq(u32, k->abi, PLUMB_KERNELS_ABI));
        enum plumb_accuracy want = !strcmp(k->name, "scalar") ? PLUMB_ACCURACY_EXACT
                                   : !strcmp(k->name, "ggml") || !strcmp(k->name, "avx512-vnni")
                                       ? PLUMB_ACCURACY_QUANTIZED
                                       : PLUMB_ACCURACY_SIMD;
        cr_assert(eq(int, k->accuracy, want), "%s", k->name);
        for (size_t j = 0; j < i; j++)
            cr_assert(strcmp(kernels_at(j)->name, k->name) != 0);
        if (kernels_supported(i))
            cr_assert(eq(ptr, (void *)kernels_get(k->name, NULL), (void *)k));
    }
#if defined(__x86_64__)
    cr_assert(eq(sz, kernels_count(), 5));
    cr_assert(eq(str, (char *)kernels_at(1)->name, "ggml"));
    cr_assert(eq(str, (char *)kernels_at(2)->name, "avx2"));
    cr_assert(eq(str, (char *)kernels_at(3)->name, "avx512"));
    cr_assert(eq(str, (char *)kernels_at(4)->name, "avx512-vnni"));
#elif defined(__aarch64__)
    cr_assert(eq(sz, kernels_count(), 3));
    cr_assert(eq(str, (char *)kernels_at(1)->name, "ggml"));
    cr_assert(eq(str, (char *)kernels_at(2)->name, "neon"));
    cr_assert(kernels_supported(2), "NEON is part of every aarch64 CPU");
    cr_assert(eq(ptr, (void *)kernels_get("auto", NULL), (void *)kernels_at(2)));
#endif
}

/* The sets of the other architectures are named, not built: asking for one
 * says which architecture it is for, and the commands refuse it in one line. */
Test(kernels_registry, a_set_of_another_architecture_is_refused_naming_its_architecture)
{
    const char *arch = NULL;
    enum plumb_accuracy acc = PLUMB_ACCURACY_EXACT;
    const char *name = kernels_foreign(0, &arch, &acc);
    cr_assert(not(eq(ptr, (void *)name, NULL)), "every build lacks some architecture's set");
    cr_assert(eq(int, acc, PLUMB_ACCURACY_SIMD));
    for (size_t f = 0; kernels_foreign(f, NULL, NULL); f++)
        for (size_t i = 0; i < kernels_count(); i++)
            cr_assert(strcmp(kernels_at(i)->name, kernels_foreign(f, NULL, NULL)) != 0);
    struct plumb_err err = {{0}};
    cr_assert(eq(ptr, (void *)kernels_get(name, &err), NULL));
    char want[128];
    snprintf(want, sizeof want, "kernel set '%s' is built only for %s; this plumb is built for ", name,
             arch);
    cr_assert(not(eq(ptr, strstr(err.msg, want), NULL)), "%s", err.msg);
    cr_assert(not(eq(ptr, strstr(err.msg, "usable here: scalar"), NULL)), "%s", err.msg);

    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "check", "--kernels", name, NULL});
    cr_assert(eq(int, r.status, 2), "%s", r.err);
    cr_assert(eq(int, count_lines(r.err), 1), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.err, want), NULL)), "%s", r.err);
    run_free(&r);
    run_plumb(&r, (const char *[]){"plumb", "kernels", "list", NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    char row[128];
    snprintf(row, sizeof row, "\n%-11s %-14s %-10s (in %s builds only)\n", name, "not built", "simd",
             arch);
    cr_assert(not(eq(ptr, strstr(r.out, row), NULL)), "%s", r.out);
    run_free(&r);
}

/* The quantized class changes the numbers, not only the speed: auto skips it. */
Test(kernels_registry, auto_is_the_best_supported_set_of_the_float_classes)
{
    size_t best = 0;
    for (size_t i = 0; i < kernels_count(); i++)
        if (kernels_supported(i) && kernels_at(i)->accuracy != PLUMB_ACCURACY_QUANTIZED)
            best = i;
    cr_assert(eq(ptr, (void *)kernels_get("auto", NULL), (void *)kernels_at(best)));
}

Test(kernels_registry, the_environment_variable_chooses_when_no_name_is_given)
{
    unsetenv("PLUMB_KERNELS");
    cr_assert(eq(ptr, (void *)kernels_get(NULL, NULL), (void *)kernels_scalar()));
    setenv("PLUMB_KERNELS", "auto", 1);
    cr_assert(eq(ptr, (void *)kernels_get(NULL, NULL), (void *)kernels_get("auto", NULL)));
    setenv("PLUMB_KERNELS", "nosuch", 1);
    struct plumb_err err = {{0}};
    cr_assert(eq(ptr, (void *)kernels_get(NULL, &err), NULL));
    cr_assert(not(eq(ptr, strstr(err.msg, "PLUMB_KERNELS"), NULL)), "%s", err.msg);
    cr_assert(eq(ptr, (void *)kernels_get("scalar", NULL), (void *)kernels_scalar()), "a name beats the variable");
    unsetenv("PLUMB_KERNELS");
}

Test(kernels_registry, an_unknown_name_is_refused_with_the_known_ones_listed)
{
    struct plumb_err err = {{0}};
    cr_assert(eq(ptr, (void *)kernels_get("avx1024", &err), NULL));
    cr_assert(not(eq(ptr, strstr(err.msg, "unknown kernel set 'avx1024'"), NULL)), "%s", err.msg);
    for (size_t i = 0; i < kernels_count(); i++)
        cr_assert(not(eq(ptr, strstr(err.msg, kernels_at(i)->name), NULL)), "%s", err.msg);
    cr_assert(not(eq(ptr, strstr(err.msg, "auto"), NULL)), "%s", err.msg);
}

Test(kernels_registry, a_set_the_cpu_lacks_is_refused_and_auto_falls_back)
{
    if (kernels_count() < 2)
        cr_skip_test("no SIMD set built for this architecture");
    /* PLUMB_KERNELS_DISABLE makes the process treat a set as unsupported */
    const char *top = kernels_at(kernels_count() - 1)->name;
    setenv("PLUMB_KERNELS_DISABLE", top, 1);
    cr_assert(not(kernels_supported(kernels_count() - 1)));
    struct plumb_err err = {{0}};
    cr_assert(eq(ptr, (void *)kernels_get(top, &err), NULL));
    cr_assert(not(eq(ptr, strstr(err.msg, "needs"), NULL)), "%s", err.msg);
    cr_assert(not(eq(ptr, strstr(err.msg, "usable here: scalar"), NULL)), "%s", err.msg);
    cr_assert(not(eq(ptr, (void *)kernels_get("auto", NULL), (void *)kernels_at(kernels_count() - 1))));
    setenv("PLUMB_KERNELS_DISABLE", "scalar", 1);
    cr_assert(kernels_supported(0), "scalar cannot be disabled");
    unsetenv("PLUMB_KERNELS_DISABLE");
}

static void partial_add(float *out, const float *a, const float *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = a[i] + b[i] + 1.0f;
}

Test(kernels_registry, resolve_fills_what_a_set_leaves_out_and_checks_the_abi)
{
    struct plumb_kernels mine = {.abi = PLUMB_KERNELS_ABI, .name = "mine",
                                 .accuracy = PLUMB_ACCURACY_SIMD, .add = partial_add};
    struct plumb_kernels out;
    cr_assert(eq(int, kernels_resolve(&mine, &out, NULL), 0));
    cr_assert(eq(ptr, (void *)out.add, (void *)partial_add));
    cr_assert(eq(ptr, (void *)out.rmsnorm, (void *)kernels_scalar()->rmsnorm));
    cr_assert(eq(ptr, (void *)out.matmul[PLUMB_TYPE_Q4_K], (void *)kernels_scalar()->matmul[PLUMB_TYPE_Q4_K]));
    cr_assert(eq(str, (char *)out.name, "mine"));
    /* a built-in SIMD set leaves Q2_K and Q3_K to the spec */
    for (size_t i = 1; i < kernels_count(); i++) {
        cr_assert(eq(int, kernels_resolve(kernels_at(i), &out, NULL), 0));
        cr_assert(eq(ptr, (void *)out.matmul[PLUMB_TYPE_Q2_K], (void *)kernels_scalar()->matmul[PLUMB_TYPE_Q2_K]));
        cr_assert(not(eq(ptr, (void *)out.matmul[PLUMB_TYPE_Q4_K], (void *)kernels_scalar()->matmul[PLUMB_TYPE_Q4_K])));
    }
    struct plumb_err err = {{0}};
    mine.abi = PLUMB_KERNELS_ABI + 1;
    cr_assert(eq(int, kernels_resolve(&mine, &out, &err), -1));
    cr_assert(not(eq(ptr, strstr(err.msg, "ABI"), NULL)), "%s", err.msg);
    mine.abi = PLUMB_KERNELS_ABI;
    mine.name = NULL;
    cr_assert(eq(int, kernels_resolve(&mine, &out, &err), -1));
    cr_assert(not(eq(ptr, strstr(err.msg, "no name"), NULL)), "%s", err.msg);
}

/* ---- end to end ---- */

/* Each SIMD set the CPU runs passes the shipped suite under the simd
 * policy (the class policy replaces the cases' exact one). */
static void end_to_end(const char *name)
{
    set_or_skip(name);
    char *dir = make_temp_dir();
    char cache[1024], report[1024], path[1100];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(report, sizeof report, "%s/report", dir);
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "check", "--kernels", name, "--cache", cache, "--report",
                                   report, NULL});
    cr_assert(eq(int, r.status, 0), "plumb check --kernels %s: %s%s", name, r.out, r.err);
    run_free(&r);
    snprintf(path, sizeof path, "%s/report.json", report);
    size_t len;
    char *json = read_file(path, &len);
    cr_assert(not(eq(ptr, json, NULL)));
    cr_assert(not(eq(ptr, strstr(json, "\"policy\": \"simd"), NULL)), "the cases use the simd policy");
    cr_assert(eq(ptr, strstr(json, "\"policy\": \"exact"), NULL), "no case uses the exact policy");
    free(json);
    rm_tree(dir);
    free(dir);
}

/* The same dump for 1, 2 and 3 threads, with the set named in its provenance. */
static void thread_invariance(const char *name)
{
    set_or_skip(name);
    char *dir = make_temp_dir();
    char model[1024], d[3][1024];
    snprintf(model, sizeof model, "%s/mixed.gguf", dir);
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "gen", "fixtures/mixed.yaml", "-o", model, NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    run_free(&r);
    for (int i = 0; i < 3; i++) {
        char t[8];
        snprintf(t, sizeof t, "%d", i + 1);
        snprintf(d[i], sizeof d[i], "%s/dump%d.gguf.gz", dir, i + 1);
        run_plumb(&r, (const char *[]){"plumb", "dump", "-m", model, "-p", "The rain fell on the roof.",
                                       "-o", d[i], "--threads", t, "--kernels", name, NULL});
        cr_assert(eq(int, r.status, 0), "%s", r.err);
        run_free(&r);
    }
    for (int i = 1; i < 3; i++) {
        run_plumb(&r, (const char *[]){"plumb", "compare", d[0], d[i], NULL});
        cr_assert(eq(int, r.status, 0), "%s: 1 thread against %d: %s", name, i + 1, r.out);
        run_free(&r);
    }
    struct dump dd;
    dump_init(&dd);
    cr_assert(eq(int, dump_read(&dd, d[0], NULL), 0));
    const struct gguf_value *v = gguf_get(&dd.gguf, "plumb.kernels");
    const char *s = NULL;
    size_t len = 0;
    cr_assert(not(eq(ptr, (void *)v, NULL)));
    cr_assert(eq(int, gguf_value_str(v, "plumb.kernels", &s, &len, NULL), 0));
    cr_assert(eq(int, (int)len == (int)strlen(name) && !memcmp(s, name, len), 1), "provenance says %.*s",
              (int)len, s);
    dump_free(&dd);
    rm_tree(dir);
    free(dir);
}

Test(kernels_simd, avx2_passes_the_suite_under_the_simd_policy, .timeout = 300)
{
    end_to_end("avx2");
}

Test(kernels_simd, avx512_passes_the_suite_under_the_simd_policy, .timeout = 300)
{
    end_to_end("avx512");
}

Test(kernels_simd, neon_passes_the_suite_under_the_simd_policy, .timeout = 300)
{
    end_to_end("neon");
}

Test(kernels_simd, avx2_dumps_are_the_same_for_any_thread_count, .timeout = 300)
{
    thread_invariance("avx2");
}

Test(kernels_simd, avx512_dumps_are_the_same_for_any_thread_count, .timeout = 300)
{
    thread_invariance("avx512");
}

Test(kernels_simd, neon_dumps_are_the_same_for_any_thread_count, .timeout = 300)
{
    thread_invariance("neon");
}

Test(kernels_registry, the_commands_take_kernels_and_refuse_bad_names)
{
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "check", "--kernels", "nosuch", NULL});
    cr_assert(eq(int, r.status, 2), "%s", r.err);
    cr_assert(eq(int, count_lines(r.err), 1), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.err, "plumb: check: unknown kernel set 'nosuch'"), NULL)), "%s", r.err);
    run_free(&r);
    const char *const argvs[3][10] = {
        {"plumb", "run", "-m", "x.gguf", "-p", "x", "--kernels", "nosuch", NULL},
        {"plumb", "dump", "-m", "x.gguf", "-p", "x", "-o", "y.gguf.gz", "--kernels", "nosuch"},
        {"plumb", "bench", "-m", "x.gguf", "--kernels", "nosuch", NULL},
    };
    for (int i = 0; i < 3; i++) {
        const char *argv[12] = {0};
        memcpy(argv, argvs[i], sizeof argvs[i]);
        run_plumb(&r, argv);
        cr_assert(eq(int, r.status, 2), "%s: %s", argv[1], r.err);
        cr_assert(not(eq(ptr, strstr(r.err, "unknown kernel set 'nosuch'"), NULL)), "%s: %s", argv[1], r.err);
        run_free(&r);
    }
    if (kernels_count() > 1 && kernels_supported(1)) {
        run_plumb(&r, (const char *[]){"plumb", "check", "--kernels", kernels_at(1)->name, "--record", NULL});
        cr_assert(eq(int, r.status, 2), "goldens only from the scalar set: %s", r.err);
        run_free(&r);
    }
}
