/*
 * test_ggml_ref.c: the `ggml` kernel set (engine/kernels/ggml_ref.c).
 *
 * What is pinned here:
 * - the activation quantizers follow x86 ggml's quantize_row_q8_0/q8_1:
 *   id = 127/amax, halves rounded to even (hand cases where ggml's portable
 *   _ref code, which rounds halves away from zero, would differ), d and s
 *   stored as fp16, s = fp16(d * sum q) with the unrounded d;
 * - each matrix product computes the dot product of the ROUNDED operands:
 *   against a double-precision oracle built from plumb's dequantizers of
 *   the weight and of the quantized activation row, every type is within a
 *   float-summation bound, far below what not rounding would cost;
 * - results do not depend on batching or on how rows are split.
 * How closely the set predicts llama.cpp itself is measured by `make
 * crosscheck` (reports/crosscheck.md), which needs llama.cpp.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "helpers.h"
#include "ggml_ref.h"
#include "quants.h"

/* Criterion's assertion macros trip -Wconversion (see test_quants.c). */
#pragma GCC diagnostic ignored "-Wconversion"

TestSuite(ggml_ref, .timeout = 30);

static float f16_at(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return dtype_fp16_to_fp32(h);
}

Test(ggml_ref, set_is_named_ggml_and_in_the_quantized_class)
{
    const struct plumb_kernels *k = kernels_ggml_ref();
    cr_assert(eq(str, (char *)k->name, "ggml"));
    cr_assert(eq(int, k->accuracy, PLUMB_ACCURACY_QUANTIZED));
    cr_assert(eq(u32, k->abi, PLUMB_KERNELS_ABI));
    cr_assert(k->matmul[PLUMB_TYPE_F32] == NULL, "f32 weights are the scalar set's");
    cr_assert(k->rmsnorm == NULL && k->attention == NULL, "only matrix products differ");
}

/* amax 127 makes id exactly 1, so x * id is x: halves are decided by the
 * rounding rule alone. x86 ggml rounds them to even; ggml's _ref code would
 * give 3, -4, 1, 1 for 2.5, -3.5, 0.5, 1.5 -> (2, -4, 0, 2) here. */
Test(ggml_ref, q8_0_rounds_halves_to_even_with_id_127_over_amax)
{
    float x[32] = {127.0f, 2.5f, -3.5f, 0.5f, 1.5f, -0.5f, 126.5f, -127.0f};
    uint8_t b[34];
    ggml_ref_quantize_q8_0(x, b, 32);
    const int8_t *q = (const int8_t *)(b + 2);
    const int8_t want[8] = {127, 2, -4, 0, 2, 0, 126, -127};
    for (int i = 0; i < 8; i++)
        cr_assert(eq(i8, q[i], want[i]), "element %d (x = %g)", i, (double)x[i]);
    cr_assert(eq(flt, f16_at(b), dtype_fp16_to_fp32(dtype_fp32_to_fp16(1.0f))));
}

/* id = 127/amax, not 1/(amax/127): for amax = 3, 127/3 and 1/(3/127) are
 * different floats, and x = amax/127 * 63.5-ish values expose it; checked
 * against the formula itself for every element of seeded blocks. */
Test(ggml_ref, q8_0_and_q8_1_follow_the_x86_formula_everywhere)
{
    uint64_t rng = 42;
    enum { N = 32 * 64 };
    static float x[N];
    for (int i = 0; i < N; i++)
        x[i] = test_bell(&rng) * (float)(1 + i / 32 % 7);
    static uint8_t b0[N / 32 * 34], b1[N / 32 * 36];
    ggml_ref_quantize_q8_0(x, b0, N);
    ggml_ref_quantize_q8_1(x, b1, N);
    for (int blk = 0; blk < N / 32; blk++) {
        const float *xb = x + 32 * blk;
        float amax = 0.0f;
        for (int j = 0; j < 32; j++)
            amax = fabsf(xb[j]) > amax ? fabsf(xb[j]) : amax;
        float d = amax / 127.0f, id = 127.0f / amax;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int want = (int)rintf(xb[j] * id); /* default rounding: to even */
            sum += want;
            cr_assert(eq(i8, ((const int8_t *)(b0 + 34 * blk + 2))[j], (int8_t)want),
                      "q8_0 block %d element %d", blk, j);
            cr_assert(eq(i8, ((const int8_t *)(b1 + 36 * blk + 4))[j], (int8_t)want),
                      "q8_1 block %d element %d", blk, j);
        }
        float d16 = dtype_fp16_to_fp32(dtype_fp32_to_fp16(d));
        cr_assert(eq(flt, f16_at(b0 + 34 * blk), d16), "q8_0 block %d: d", blk);
        cr_assert(eq(flt, f16_at(b1 + 36 * blk), d16), "q8_1 block %d: d", blk);
        float s16 = dtype_fp16_to_fp32(dtype_fp32_to_fp16(d * (float)sum));
        cr_assert(eq(flt, f16_at(b1 + 36 * blk + 2), s16), "q8_1 block %d: s", blk);
    }
}

Test(ggml_ref, zero_block_quantizes_to_zeros)
{
    float x[32] = {0};
    uint8_t b[36];
    memset(b, 0x55, sizeof b);
    ggml_ref_quantize_q8_1(x, b, 32);
    for (int i = 0; i < 36; i++)
        cr_assert(eq(u8, b[i], 0), "byte %d", i);
}

/* One case per weight type: how the activation is rounded, and where the
 * weight's offset term (q4_1, q5_1: m) sits. */
struct mm_case {
    int type;
    int act;        /* 0 fp16, 1 bf16, 2 q8_0, 3 q8_1, 4 q8_K */
    int m_offset;   /* byte offset of the fp16 m in a weight block, or -1 */
};

static const struct mm_case mm_cases[] = {
    {PLUMB_TYPE_F16, 0, -1},  {PLUMB_TYPE_BF16, 1, -1}, {PLUMB_TYPE_Q4_0, 2, -1},
    {PLUMB_TYPE_Q4_1, 3, 2},  {PLUMB_TYPE_Q5_0, 2, -1}, {PLUMB_TYPE_Q5_1, 3, 2},
    {PLUMB_TYPE_Q8_0, 2, -1}, {PLUMB_TYPE_Q4_K, 4, -1}, {PLUMB_TYPE_Q5_K, 4, -1},
    {PLUMB_TYPE_Q6_K, 4, -1},
};

enum { MM_N = 512, MM_ROWS = 6, MM_TOK = 3 };

/* The activation row as the kernel sees it (rounded), in floats, and for
 * q8_1 the per-block correction m*s - m*d*sum(q) the oracle needs. */
static void mm_rounded_act(const struct mm_case *c, const float *x, float *xa, uint8_t *qbuf)
{
    switch (c->act) {
    case 0:
        for (int i = 0; i < MM_N; i++)
            xa[i] = dtype_fp16_to_fp32(dtype_fp32_to_fp16(x[i]));
        break;
    case 1:
        for (int i = 0; i < MM_N; i++)
            xa[i] = dtype_bf16_to_fp32(dtype_fp32_to_bf16(x[i]));
        break;
    case 2:
        ggml_ref_quantize_q8_0(x, qbuf, MM_N);
        quants_dequant_q8_0(qbuf, xa, MM_N);
        break;
    case 3:
        ggml_ref_quantize_q8_1(x, qbuf, MM_N);
        quants_dequant_q8_1(qbuf, xa, MM_N);
        break;
    default:
        quants_quant_q8_k(x, qbuf, MM_N);
        quants_dequant_q8_k(qbuf, xa, MM_N);
        break;
    }
}

Test(ggml_ref, matmul_is_the_dot_product_of_the_rounded_operands)
{
    const struct plumb_kernels *k = kernels_ggml_ref();
    for (size_t ci = 0; ci < sizeof mm_cases / sizeof mm_cases[0]; ci++) {
        const struct mm_case *c = &mm_cases[ci];
        const struct dtype_traits *tr = dtype_traits(c->type);
        uint64_t seed = 1000 + ci, rng = seed;
        size_t row_size;
        cr_assert(dtype_row_size(c->type, MM_N, &row_size));
        static float w[MM_ROWS * MM_N], wd[MM_ROWS * MM_N], x[MM_TOK * MM_N], xa[MM_N];
        static uint8_t wq[MM_ROWS * MM_N * 2], qbuf[MM_N * 2];
        static float out[MM_TOK * MM_ROWS], scratch[MM_N];
        for (int i = 0; i < MM_ROWS * MM_N; i++)
            w[i] = test_bell(&rng) * (1.0f + (float)(i / 32 % 5)); /* scales vary per block */
        for (int i = 0; i < MM_TOK * MM_N; i++)
            x[i] = test_bell(&rng) * (i % 97 == 0 ? 8.0f : 1.0f);   /* some outliers */
        tr->from_float(w, wq, MM_ROWS * MM_N);
        tr->to_float(wq, wd, MM_ROWS * MM_N);
        k->matmul[c->type](out, MM_ROWS, wq, row_size, x, MM_N, MM_TOK, 0, MM_ROWS, scratch);

        double worst = 0.0, worst_bound = 1.0, unrounded_gap = 0.0;
        int worst_t = 0, worst_r = 0;
        for (int t = 0; t < MM_TOK; t++) {
            mm_rounded_act(c, x + t * MM_N, xa, qbuf);
            for (int r = 0; r < MM_ROWS; r++) {
                const float *wr = wd + r * MM_N;
                double dot = 0.0, mag = 0.0, plain = 0.0;
                for (int i = 0; i < MM_N; i++) {
                    dot += (double)wr[i] * xa[i];
                    plain += (double)wr[i] * x[t * MM_N + i];
                    /* |scale part| + |offset part| of each weight bounds the
                     * block terms the kernel sums, cancellation or not */
                    double bmax = fabs(wr[i]); /* f16, bf16: products exact */
                    if (c->act >= 2)
                        for (int j = i / 32 * 32; j < i / 32 * 32 + 32; j++)
                            bmax = fabs(wr[j]) > bmax ? fabs(wr[j]) : bmax;
                    mag += (c->act >= 2 ? 3.0 : 1.0) * bmax * fabs(xa[i]);
                }
                if (c->m_offset >= 0) /* q8_1's s is fp16(d*sum), not fp16(d)*sum */
                    for (int b = 0; b < MM_N / 32; b++) {
                        const uint8_t *wb = wq + (size_t)r * row_size + (size_t)b * tr->type_size;
                        const uint8_t *ab = qbuf + (size_t)b * 36;
                        double m = f16_at(wb + c->m_offset), d = f16_at(ab), s = f16_at(ab + 2);
                        int sum = 0;
                        for (int j = 0; j < 32; j++)
                            sum += ((const int8_t *)(ab + 4))[j];
                        dot += m * s - m * d * sum;
                        mag += fabs(m * s);
                    }
                /* f16/bf16: MM_N exact products summed in float; quantized:
                 * at most MM_N/32 * 8 + 8 rounded terms, each carrying up
                 * to 3 roundings */
                double bound = (c->act >= 2 ? MM_N / 32 * 8 + 32 : MM_N) * 0x1p-24 * mag;
                double err = fabs((double)out[t * MM_ROWS + r] - dot);
                if (err / bound > worst / worst_bound) {
                    worst = err;
                    worst_bound = bound;
                    worst_t = t;
                    worst_r = r;
                }
                double gap = fabs(plain - dot);
                unrounded_gap = gap > unrounded_gap ? gap : unrounded_gap;
            }
        }
        cr_assert(le(dbl, worst, worst_bound),
                  "%s: token %d row %d off the rounded-operand oracle by %g > bound %g "
                  "(seed %llu, n %d)", tr->name, worst_t, worst_r, worst, worst_bound,
                  (unsigned long long)seed, MM_N);
        /* the oracle is not vacuous: rounding the activation moves the result
         * by far more than the bound allows */
        cr_assert(gt(dbl, unrounded_gap, worst_bound),
                  "%s: rounding the activation changed the product by only %g (bound %g)",
                  tr->name, unrounded_gap, worst_bound);
    }
}

Test(ggml_ref, results_do_not_depend_on_batching_or_row_split)
{
    const struct plumb_kernels *k = kernels_ggml_ref();
    for (size_t ci = 0; ci < sizeof mm_cases / sizeof mm_cases[0]; ci++) {
        const struct mm_case *c = &mm_cases[ci];
        const struct dtype_traits *tr = dtype_traits(c->type);
        uint64_t rng = 77 + ci;
        size_t row_size;
        cr_assert(dtype_row_size(c->type, MM_N, &row_size));
        static float w[MM_ROWS * MM_N], x[MM_TOK * MM_N], scratch[MM_N];
        static float all[MM_TOK * MM_ROWS], one[MM_TOK * MM_ROWS];
        static uint8_t wq[MM_ROWS * MM_N * 2];
        for (int i = 0; i < MM_ROWS * MM_N; i++)
            w[i] = test_bell(&rng);
        for (int i = 0; i < MM_TOK * MM_N; i++)
            x[i] = test_bell(&rng);
        tr->from_float(w, wq, MM_ROWS * MM_N);
        k->matmul[c->type](all, MM_ROWS, wq, row_size, x, MM_N, MM_TOK, 0, MM_ROWS, scratch);
        for (int t = 0; t < MM_TOK; t++) /* one token at a time, rows in two ranges */
            for (int part = 0; part < 2; part++)
                k->matmul[c->type](one + t * MM_ROWS, MM_ROWS, wq, row_size, x + t * MM_N, MM_N,
                                   1, part ? 2 : 0, part ? MM_ROWS : 2, scratch);
        cr_assert(eq(int, memcmp(all, one, sizeof all), 0), "%s: batched and split differ",
                  tr->name);
    }
}
