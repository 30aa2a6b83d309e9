/*
 * test_quants.c: ggml's block formats (engine/quants.c).
 *
 * BIT-EXACTNESS WITH GGML, AND HOW IT WAS ESTABLISHED
 *
 * Bit-exact with ggml 0.25.3 (commit 0c1e570), the libggml-base.so bundled
 * with llama-cpp-python 0.3.36, built by its CMake for baseline x86-64
 * (-O3, no -march, so no FMA contraction):
 *   dequantizers  Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K
 *                 (same float bits as ggml's dequantize_row_*; any NaN
 *                 matches any NaN, since NaN sign and payload from 0*Inf
 *                 are the CPU's choice, not the code's)
 *   quantizers    Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q4_K Q5_K Q6_K Q8_K
 *                 (same bytes as ggml's quantize_row_*_ref, which is also
 *                 what ggml_quantize_chunk runs with no importance matrix)
 * Evidence:
 * - tests/vectors/quants.bin, written by tools/crosscheck/gen_quant_vectors.py
 *   with ctypes calls into that library: six seeded 512-float inputs (random,
 *   widely scaled, and hand-made edge blocks: zeros, all-equal, one huge
 *   value, tiny, fp32 subnormals, negative extreme, exact ties, signed zeros,
 *   +-3e38, a step overflowing fp16, steps in fp16's subnormal range) with
 *   ggml's bytes and dequantized floats for each, plus random block bytes
 *   (finite scales, then any scales) with ggml's dequantized floats; and
 *   per-block FNV-1a digests of ggml's bytes and floats for a 131072-element
 *   seeded input that the test regenerates bit for bit (512 super-blocks:
 *   a reordered float sum in the K search shows up in only a few percent of
 *   them). The tests below replay all of it. Deliberate mutations of
 *   quants.c (roundf swapped for rintf, a reassociated sum in either scale
 *   search, a least-squares step nudged by one ulp, a changed d == 0 path)
 *   were each caught.
 * - Before committing, a throwaway harness linked against the same library
 *   compared 100,000 seeded 1024-element rows per format (ten input
 *   distributions, random bytes for the dequantizers): no difference.
 * - gguf-py 0.19.0 (the numpy port) agrees with ggml's recorded results for
 *   every dequantizer it has (all but Q8_1/Q8_K) and for its Q4_0, Q5_0 and
 *   Q8_0 quantizers. Its Q4_1/Q5_1 quantizers differ from ggml on one block:
 *   all zeros with some -0.0, where gguf-py stores m = -0 and ggml (and
 *   plumb) +0.
 *
 * Limits of the claim:
 * - ggml has no Q8_1 dequantizer; plumb's (x = d*q, s ignored) is checked by
 *   hand cases and by the vectors' numpy definition of the same rule.
 * - For quantizer inputs whose block maximum is below ~1e-37 (the reciprocal
 *   scale overflows) or that are not finite, ggml's own float-to-int casts
 *   are undefined in C. plumb defines them as x86-64 does (out of range -> 0),
 *   so it matches ggml's x86-64 build, which the vectors include for
 *   fp32-subnormal blocks; other ggml builds (e.g. ARM) may differ there.
 * - For an all-zero Q8_K block ggml leaves bsums unwritten; plumb writes 0
 *   (the vectors were recorded into a zeroed buffer).
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "quants.h"

/* Criterion 2.4's assertion macros store an int into a 1-bit field, which
 * -Wconversion reports at every cr_assert. This file was checked clean of
 * -Wconversion warnings of its own with the pragma removed. */
#pragma GCC diagnostic ignored "-Wconversion"

#define VECTORS_PATH "tests/vectors/quants.bin"

TestSuite(quants, .timeout = 30);

/* ------------------------------------------------------------------------- */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------- */

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1), 24 random bits. */
static float uniform_pm1(uint64_t *rng)
{
    return (float)(splitmix64(rng) >> 40) * 0x1p-23f - 1.0f;
}

/* Roughly normal: the sum of four uniforms, scaled to unit variance. */
static float bell(uint64_t *rng)
{
    float s = 0;
    for (int k = 0; k < 4; k++)
        s += uniform_pm1(rng);
    return s * 0.8660254f;
}

/* Index of the first element whose bits differ (NaN matches NaN), or -1. */
static long first_float_mismatch(const float *a, const float *b, long n)
{
    for (long i = 0; i < n; i++) {
        if (isnan(a[i]) && isnan(b[i]))
            continue;
        if (f32_bits(a[i]) != f32_bits(b[i]))
            return i;
    }
    return -1;
}

static long first_byte_mismatch(const uint8_t *a, const uint8_t *b, long n)
{
    for (long i = 0; i < n; i++)
        if (a[i] != b[i])
            return i;
    return -1;
}

typedef void (*quant_fn)(const float *src, void *dst, int64_t n);
typedef void (*dequant_fn)(const void *src, float *dst, int64_t n);

struct format {
    int type;          /* ggml id */
    const char *name;
    int blck;          /* elements per block */
    int bytes;         /* bytes per block */
    quant_fn quant;    /* NULL: plumb has no quantizer */
    dequant_fn dequant;
};

static const struct format formats[] = {
    {2, "q4_0", 32, 18, quants_quant_q4_0, quants_dequant_q4_0},
    {3, "q4_1", 32, 20, quants_quant_q4_1, quants_dequant_q4_1},
    {6, "q5_0", 32, 22, quants_quant_q5_0, quants_dequant_q5_0},
    {7, "q5_1", 32, 24, quants_quant_q5_1, quants_dequant_q5_1},
    {8, "q8_0", 32, 34, quants_quant_q8_0, quants_dequant_q8_0},
    {9, "q8_1", 32, 36, quants_quant_q8_1, quants_dequant_q8_1},
    {10, "q2_k", 256, 84, NULL, quants_dequant_q2_k},
    {11, "q3_k", 256, 110, NULL, quants_dequant_q3_k},
    {12, "q4_k", 256, 144, quants_quant_q4_k, quants_dequant_q4_k},
    {13, "q5_k", 256, 176, quants_quant_q5_k, quants_dequant_q5_k},
    {14, "q6_k", 256, 210, quants_quant_q6_k, quants_dequant_q6_k},
    {15, "q8_k", 256, 292, quants_quant_q8_k, quants_dequant_q8_k},
};
#define N_FORMATS (sizeof formats / sizeof formats[0])

static const struct format *format_by_type(uint32_t type)
{
    for (size_t i = 0; i < N_FORMATS; i++)
        if ((uint32_t)formats[i].type == type)
            return &formats[i];
    return NULL;
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Dequantize blk and compare with want[0..n) exactly, worst-first report. */
static void expect_dequant(const char *what, dequant_fn fn, const uint8_t *blk, const double *want,
                           int n)
{
    float got[256];
    fn(blk, got, n);
    int bad = -1;
    for (int e = 0; e < n && bad < 0; e++)
        if (f32_bits(got[e]) != f32_bits((float)want[e]))
            bad = e;
    cr_assert(eq(int, bad, -1), "%s: element %d of %d is %a, expected %a", what, bad, n,
              bad >= 0 ? (double)got[bad] : 0.0, bad >= 0 ? want[bad] : 0.0);
}

/* ------------------------------------------------------------------------- */
/* Layout                                                                    */
/* ------------------------------------------------------------------------- */

Test(quants, block_sizes_agree_with_the_type_table)
{
    for (size_t i = 0; i < N_FORMATS; i++) {
        const struct dtype_traits *t = dtype_traits(formats[i].type);
        cr_assert(t != NULL, "%s", formats[i].name);
        cr_assert(eq(i64, t->blck_size, formats[i].blck), "%s", formats[i].name);
        cr_assert(eq(sz, t->type_size, (size_t)formats[i].bytes), "%s", formats[i].name);
        cr_assert(t->to_float == formats[i].dequant, "%s", formats[i].name);
        cr_assert(t->from_float == formats[i].quant, "%s", formats[i].name);
    }
}

/* ------------------------------------------------------------------------- */
/* Hand-built blocks, hand-computed values                                   */
/* ------------------------------------------------------------------------- */

Test(quants, q4_0_hand_block_dequantizes_to_d_times_q_minus_8)
{
    uint8_t b[18];
    double want[32];
    put_u16(b, 0x3800); /* d = 0.5 */
    for (int j = 0; j < 16; j++) {
        b[2 + j] = (uint8_t)(j | (15 - j) << 4);
        want[j] = 0.5 * (j - 8);       /* low nibble = j */
        want[j + 16] = 0.5 * (7 - j);  /* high nibble = 15 - j */
    }
    expect_dequant("q4_0", quants_dequant_q4_0, b, want, 32);
}

Test(quants, q4_1_hand_block_dequantizes_to_d_times_q_plus_m)
{
    uint8_t b[20];
    double want[32];
    put_u16(b, 0x3400);     /* d = 0.25 */
    put_u16(b + 2, 0xbc00); /* m = -1 */
    memset(b + 4, 0x5a, 16);
    for (int j = 0; j < 16; j++) {
        want[j] = 10 * 0.25 - 1;     /* 1.5 */
        want[j + 16] = 5 * 0.25 - 1; /* 0.25 */
    }
    expect_dequant("q4_1", quants_dequant_q4_1, b, want, 32);
}

/* qs[j] = j in both nibbles; qh = bytes 01 00 00 80 (bits 0 and 31). */
static void five_bit_hand_block(uint8_t *qh, uint8_t *qs, int q[32])
{
    qh[0] = 0x01;
    qh[1] = 0x00;
    qh[2] = 0x00;
    qh[3] = 0x80;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)(j | j << 4);
        q[j] = j;
        q[j + 16] = j;
    }
    q[0] += 16;
    q[31] += 16;
}

Test(quants, q5_0_hand_block_takes_the_fifth_bit_from_little_endian_qh)
{
    uint8_t b[22];
    int q[32];
    double want[32];
    put_u16(b, 0x4000); /* d = 2 */
    five_bit_hand_block(b + 2, b + 6, q);
    for (int j = 0; j < 32; j++)
        want[j] = 2.0 * (q[j] - 16);
    expect_dequant("q5_0", quants_dequant_q5_0, b, want, 32);
}

Test(quants, q5_1_hand_block_dequantizes_to_d_times_q_plus_m)
{
    uint8_t b[24];
    int q[32];
    double want[32];
    put_u16(b, 0x3800);     /* d = 0.5 */
    put_u16(b + 2, 0x4200); /* m = 3 */
    five_bit_hand_block(b + 4, b + 8, q);
    for (int j = 0; j < 32; j++)
        want[j] = 0.5 * q[j] + 3;
    expect_dequant("q5_1", quants_dequant_q5_1, b, want, 32);
}

Test(quants, q8_0_and_q8_1_hand_blocks_dequantize_to_d_times_q)
{
    uint8_t b0[34], b1[36];
    double want[32];
    put_u16(b0, 0x3000); /* d = 0.125 */
    put_u16(b1, 0x3000);
    put_u16(b1 + 2, 0x7c00); /* s is not used by dequantization */
    for (int j = 0; j < 32; j++) {
        const int q = 8 * j - 128;
        b0[2 + j] = (uint8_t)(q & 0xff);
        b1[4 + j] = (uint8_t)(q & 0xff);
        want[j] = 0.125 * q;
    }
    expect_dequant("q8_0", quants_dequant_q8_0, b0, want, 32);
    expect_dequant("q8_1", quants_dequant_q8_1, b1, want, 32);
}

Test(quants, q2_k_hand_block_uses_nibble_scales_and_mins)
{
    uint8_t b[84];
    double want[256];
    for (int s = 0; s < 16; s++)
        b[s] = (uint8_t)(s | (15 - s) << 4); /* scale s, min 15 - s */
    memset(b + 16, 0xe4, 64);                /* planes 0,1,2,3 hold codes 0,1,2,3 */
    put_u16(b + 80, 0x3c00);                 /* d = 1 */
    put_u16(b + 82, 0x3800);                 /* dmin = 0.5 */
    for (int e = 0; e < 256; e++) {
        const int s = e / 16, plane = (e % 128) / 32;
        want[e] = 1.0 * s * plane - 0.5 * (15 - s);
    }
    expect_dequant("q2_k", quants_dequant_q2_k, b, want, 256);
}

Test(quants, q3_k_hand_block_unpacks_six_bit_scales_and_high_bits)
{
    uint8_t b[110];
    double want[256];
    int v[16]; /* the 6-bit scale fields; value = v - 32 = s - 8 */
    for (int s = 0; s < 16; s++)
        v[s] = 24 + s;
    memset(b, 0x0f, 32);       /* hmask: bits 0..3 set = first half has the high bit */
    memset(b + 32, 0xe4, 64);  /* low two bits = plane number */
    memset(b + 96, 0, 12);
    for (int s = 0; s < 16; s++) {
        b[96 + s % 8] |= (uint8_t)((v[s] & 0xf) << (s < 8 ? 0 : 4));
        b[96 + 8 + s % 4] |= (uint8_t)((v[s] >> 4) << (2 * (s / 4)));
    }
    put_u16(b + 108, 0x3800); /* d = 0.5 */
    for (int e = 0; e < 256; e++) {
        const int plane = (e % 128) / 32;
        const int q = plane - (e < 128 ? 0 : 4);
        want[e] = (0.5 * (v[e / 16] - 32)) * q;
    }
    expect_dequant("q3_k", quants_dequant_q3_k, b, want, 256);
}

static const int k_sc[8] = {1, 2, 3, 60, 17, 33, 48, 63};
static const int k_mn[8] = {0, 5, 63, 16, 32, 1, 47, 9};

/* Pack k_sc/k_mn the way ggml's Q4_K/Q5_K scale field is documented. */
static void pack_k_scales(uint8_t s[12])
{
    for (int k = 0; k < 4; k++) {
        s[k] = (uint8_t)(k_sc[k] | (k_sc[k + 4] >> 4) << 6);
        s[k + 4] = (uint8_t)(k_mn[k] | (k_mn[k + 4] >> 4) << 6);
        s[k + 8] = (uint8_t)((k_sc[k + 4] & 15) | (k_mn[k + 4] & 15) << 4);
    }
}

Test(quants, q4_k_hand_block_unpacks_six_bit_scales_and_mins)
{
    uint8_t b[144];
    double want[256];
    put_u16(b, 0x3c00);     /* d = 1 */
    put_u16(b + 2, 0x3400); /* dmin = 0.25 */
    pack_k_scales(b + 4);
    for (int i = 0; i < 128; i++)
        b[16 + i] = (uint8_t)((i % 16) | (15 - i % 16) << 4);
    for (int e = 0; e < 256; e++) {
        const int q = (e % 64) < 32 ? e % 16 : 15 - e % 16;
        want[e] = (1.0 * k_sc[e / 32]) * q - 0.25 * k_mn[e / 32];
    }
    expect_dequant("q4_k", quants_dequant_q4_k, b, want, 256);
}

Test(quants, q5_k_hand_block_adds_sixteen_for_each_qh_bit)
{
    uint8_t b[176];
    double want[256];
    put_u16(b, 0x3c00);
    put_u16(b + 2, 0x3400);
    pack_k_scales(b + 4);
    for (int l = 0; l < 32; l++)
        b[16 + l] = l % 2 ? 0xaa : 0x55; /* bit k set when k and l have the same parity */
    for (int i = 0; i < 128; i++)
        b[48 + i] = (uint8_t)((i % 16) | (15 - i % 16) << 4);
    for (int e = 0; e < 256; e++) {
        const int k = e / 32, l = e % 32;
        const int q = ((e % 64) < 32 ? e % 16 : 15 - e % 16) + (k % 2 == l % 2 ? 16 : 0);
        want[e] = (1.0 * k_sc[k]) * q - 0.25 * k_mn[k];
    }
    expect_dequant("q5_k", quants_dequant_q5_k, b, want, 256);
}

Test(quants, q6_k_hand_block_joins_low_nibbles_and_high_pairs)
{
    uint8_t b[210];
    double want[256];
    memset(b, 0xf0, 128);       /* ql: planes 0,1 get low 0, planes 2,3 get low 15 */
    memset(b + 128, 0xe4, 64);  /* qh: high pair = plane number */
    for (int s = 0; s < 16; s++)
        b[192 + s] = (uint8_t)((s - 8) & 0xff); /* int8 scales -8..7 */
    b[192 + 15] = 0x80;                           /* and one -128 */
    put_u16(b + 208, 0x3800);                     /* d = 0.5 */
    for (int e = 0; e < 256; e++) {
        static const int q_by_plane[4] = {0 - 32, 16 - 32, 47 - 32, 63 - 32};
        const int s = e / 16;
        const int sc = s == 15 ? -128 : s - 8;
        want[e] = (0.5 * sc) * q_by_plane[(e % 128) / 32];
    }
    expect_dequant("q6_k", quants_dequant_q6_k, b, want, 256);
}

Test(quants, q8_k_hand_block_has_an_fp32_scale)
{
    uint8_t b[292];
    double want[256];
    const float d = 0.25f;
    memcpy(b, &d, 4);
    for (int e = 0; e < 256; e++) {
        b[4 + e] = (uint8_t)e; /* as int8: e - 256 for e >= 128 */
        want[e] = 0.25 * (e < 128 ? e : e - 256);
    }
    memset(b + 260, 0x77, 32); /* bsums are not used by dequantization */
    expect_dequant("q8_k", quants_dequant_q8_k, b, want, 256);
}

/* ------------------------------------------------------------------------- */
/* Quantizer rounding on hand-made inputs                                    */
/* ------------------------------------------------------------------------- */

Test(quants, q8_0_rounds_halves_away_from_zero)
{
    float x[32] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 126.5f, -126.5f, 1.49f};
    uint8_t b[34];
    quants_quant_q8_0(x, b, 32); /* max 127: d = 1 exactly */
    cr_assert(eq(u16, get_u16(b), 0x3c00));
    const int8_t want[8] = {127, 3, -3, 1, -1, 127, -127, 1};
    for (int j = 0; j < 8; j++)
        cr_assert(eq(i8, (int8_t)b[2 + j], want[j]), "element %d", j);
    for (int j = 8; j < 32; j++)
        cr_assert(eq(u8, b[2 + j], 0), "element %d", j);
}

Test(quants, q4_0_rounds_halves_up_and_clamps_the_far_end)
{
    float x[32] = {-8.0f, 0.5f, -0.5f, -1.5f, 7.5f, 7.49f, 3.25f};
    x[16] = 1.0f;
    uint8_t b[18];
    quants_quant_q4_0(x, b, 32); /* extreme -8: d = -8 / -8 = 1 */
    cr_assert(eq(u16, get_u16(b), 0x3c00));
    /* q = min(15, trunc(x + 8.5)) */
    const int lo[7] = {0, 9, 8, 7, 15, 15, 11};
    for (int j = 0; j < 7; j++)
        cr_assert(eq(int, b[2 + j] & 0xf, lo[j]), "element %d", j);
    cr_assert(eq(int, b[2] >> 4, 9), "element 16 is the high nibble of qs[0]");
}

Test(quants, q4_0_zero_block_has_negative_zero_scale_like_ggml)
{
    /* d = 0 / -8 is -0.0 in IEEE arithmetic; codes are 8; values are -0. */
    float x[32] = {0};
    uint8_t b[18];
    float y[32];
    quants_quant_q4_0(x, b, 32);
    cr_assert(eq(u16, get_u16(b), 0x8000));
    for (int j = 0; j < 16; j++)
        cr_assert(eq(u8, b[2 + j], 0x88));
    quants_dequant_q4_0(b, y, 32);
    cr_assert(eq(u32, f32_bits(y[0]), 0x80000000u));
}

Test(quants, q4_1_all_equal_block_is_exact)
{
    float x[32], y[32];
    uint8_t b[20];
    for (int j = 0; j < 32; j++)
        x[j] = 0.75f;
    quants_quant_q4_1(x, b, 32);
    cr_assert(eq(u16, get_u16(b), 0x0000));     /* d = 0 */
    cr_assert(eq(u16, get_u16(b + 2), 0x3a00)); /* m = 0.75 */
    quants_dequant_q4_1(b, y, 32);
    for (int j = 0; j < 32; j++)
        cr_assert(eq(flt, y[j], 0.75f), "element %d", j);
}

Test(quants, q8_k_rounds_ties_to_even_and_sums_groups)
{
    float x[256] = {-127.0f, 2.5f, 3.5f, -2.5f, 127.0f, 0.5f, 1.5f};
    uint8_t b[292];
    quants_quant_q8_k(x, b, 256); /* extreme -127: iscale = 1, d = 1 */
    float d;
    memcpy(&d, b, 4);
    cr_assert(eq(flt, d, 1.0f));
    const int8_t want[7] = {-127, 2, 4, -2, 127, 0, 2};
    int sum = 0;
    for (int j = 0; j < 7; j++) {
        cr_assert(eq(i8, (int8_t)b[4 + j], want[j]), "element %d", j);
        sum += want[j];
    }
    int16_t bsum0;
    memcpy(&bsum0, b + 260, 2);
    cr_assert(eq(i16, bsum0, (int16_t)sum));
}

Test(quants, zero_input_gives_zero_bytes_for_the_k_formats_and_q8_0)
{
    static const int types[] = {8, 12, 13, 14, 15};
    float x[256] = {0};
    uint8_t b[292];
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        const struct format *f = format_by_type((uint32_t)types[t]);
        const int n = f->blck == 32 ? 32 : 256;
        memset(b, 0xcd, sizeof b);
        f->quant(x, b, n);
        long nz = -1;
        for (int i = 0; i < f->bytes && nz < 0; i++)
            if (b[i])
                nz = i;
        cr_assert(eq(i64, nz, -1), "%s: byte %ld of %d is not zero", f->name, nz, f->bytes);
    }
}

/* ------------------------------------------------------------------------- */
/* Quantize -> dequantize error bounds                                       */
/* ------------------------------------------------------------------------- */

/*
 * Seeded inputs: roughly normal values, each 32-element block scaled by a
 * power of two in 2^-8 .. 2^8 so every step stays in fp16's normal range.
 */
static void make_input(float *x, long n, uint64_t seed)
{
    uint64_t rng = seed;
    float scale = 1;
    for (long i = 0; i < n; i++) {
        if (i % 32 == 0)
            scale = ldexpf(1.0f, (int)(splitmix64(&rng) % 17) - 8);
        x[i] = bell(&rng) * scale;
    }
}

static double max_abs(const float *x, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        m = fmax(m, fabs((double)x[i]));
    return m;
}

/*
 * Per-element error bound for one legacy block, derived from the
 * quantizer's contract (quants.c), in double:
 *   - rounding: half a step, or a whole step where Q4_0/Q5_0 clamp the far
 *     end (x/d above levels - 0.5);
 *   - fp16 storage: the codes were picked against the fp32 step d32 but are
 *     scaled by the stored fp16 step: |q| * |d16 - d32|, and |m16 - m32|;
 *   - slack of a few float roundings: 1e-6 relative to the step and the
 *     value.
 */
static double legacy_bound(int type, const float *x, int j, const uint8_t *blk, float y)
{
    const double d16 = dtype_fp16_to_fp32(get_u16(blk));
    double lo = x[0], hi = x[0], ext = 0;
    for (int i = 0; i < 32; i++) {
        lo = fmin(lo, x[i]);
        hi = fmax(hi, x[i]);
        if (fabs(x[i]) > fabs(ext))
            ext = x[i];
    }
    double d32, half = 0.5, qmax, moff = 0;
    switch (type) {
    case 2: /* q4_0 */
    case 6: /* q5_0 */
        qmax = type == 2 ? 8 : 16;
        d32 = ext / -qmax;
        if (d32 != 0 && x[j] / d32 > qmax - 0.5 - 1e-6)
            half = 1.0;
        break;
    case 3: /* q4_1 */
    case 7: /* q5_1 */
        qmax = type == 3 ? 15 : 31;
        d32 = (hi - lo) / qmax;
        moff = fabs(lo - dtype_fp16_to_fp32(get_u16(blk + 2)));
        break;
    default: /* q8_0, q8_1 */
        qmax = 127;
        d32 = max_abs(x, 32) / 127;
        break;
    }
    return half * fabs(d32) + qmax * fabs(d16 - d32) + moff + 1e-6 * (fabs(d32) + fabs((double)y));
}

struct bound_case {
    int type;
    int n; /* elements: awkward block counts */
};

static const struct bound_case legacy_cases[] = {
    {2, 32}, {2, 96}, {2, 544}, {3, 32}, {3, 224}, {3, 544}, {6, 64}, {6, 160}, {6, 544},
    {7, 32}, {7, 224}, {7, 544}, {8, 32}, {8, 160}, {8, 544}, {9, 32}, {9, 96}, {9, 544},
};

Test(quants, legacy_formats_stay_within_their_rounding_bound)
{
    for (size_t c = 0; c < sizeof legacy_cases / sizeof legacy_cases[0]; c++) {
        const struct format *f = format_by_type((uint32_t)legacy_cases[c].type);
        const int n = legacy_cases[c].n;
        const uint64_t seed = 1000 + c;
        const size_t nbytes = (size_t)(n / 32) * (size_t)f->bytes;
        float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
        uint8_t *q = malloc(nbytes);
        cr_assert(x && y && q);
        make_input(x, n, seed);
        f->quant(x, q, n);
        f->dequant(q, y, n);

        double worst = -1, worst_bound = 0;
        int at = -1;
        for (int i = 0; i < n; i++) {
            const int b = i / 32;
            const double err = fabs((double)x[i] - (double)y[i]);
            const double bound = legacy_bound(f->type, x + 32 * b, i % 32, q + (size_t)b * f->bytes, y[i]);
            if (err - bound > worst) {
                worst = err - bound;
                worst_bound = bound;
                at = i;
            }
        }
        cr_assert(worst <= 0, "%s: element %d of %d (seed %llu) errs by %g, bound %g", f->name, at, n,
                  (unsigned long long)seed, worst + worst_bound, worst_bound);
        free(x);
        free(y);
        free(q);
    }
}

Test(quants, q8_1_stores_the_scaled_sum_of_its_codes)
{
    float x[64];
    uint8_t b[72];
    make_input(x, 64, 77);
    quants_quant_q8_1(x, b, 64);
    for (int blk = 0; blk < 2; blk++) {
        const uint8_t *p = b + 36 * blk;
        int sum = 0;
        for (int j = 0; j < 32; j++)
            sum += (int8_t)p[4 + j];
        const float d = (float)max_abs(x + 32 * blk, 32) / 127; /* the fp32 step, as quantized */
        cr_assert(eq(u16, get_u16(p + 2), dtype_fp32_to_fp16((float)sum * d)), "block %d", blk);
    }
}

Test(quants, q8_k_stays_within_half_a_step_and_sums_its_groups)
{
    enum { n = 768 };
    float x[n], y[n];
    uint8_t b[3 * 292];
    const uint64_t seed = 88;
    make_input(x, n, seed);
    quants_quant_q8_k(x, b, n);
    quants_dequant_q8_k(b, y, n);
    double worst = -1;
    int at = -1;
    for (int i = 0; i < n; i++) {
        float d;
        memcpy(&d, b + 292 * (i / 256), 4);
        const double bound = 0.5 * fabs((double)d) * (1 + 1e-6) + 1e-7 * fabs((double)y[i]);
        const double over = fabs((double)x[i] - (double)y[i]) - bound;
        if (over > worst) {
            worst = over;
            at = i;
        }
    }
    cr_assert(worst <= 0, "q8_k: element %d of %d (seed %llu) exceeds half a step by %g", at, n,
              (unsigned long long)seed, worst);
    for (int blk = 0; blk < 3; blk++)
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++)
                sum += (int8_t)b[292 * blk + 4 + 16 * g + l];
            int16_t stored;
            memcpy(&stored, b + 292 * blk + 260 + 2 * g, 2);
            cr_assert(eq(i16, stored, (int16_t)sum), "block %d group %d", blk, g);
        }
}

/*
 * The K formats choose scales by a search, so there is no closed-form
 * per-element bound; instead the normalised squared error sum((x-y)^2) /
 * sum(x^2) on unit-scale bell-shaped data is held under a ceiling. Measured
 * worst over 20 seeds of 16384 elements: Q4_K 4.9e-3, Q5_K 1.2e-3, Q6_K
 * 3.0e-4 (Q4_0 6.9e-3 for comparison); the ceilings leave ~1.6x headroom.
 */
Test(quants, k_formats_keep_normalised_error_under_a_ceiling)
{
    static const struct {
        int type;
        double ceiling;
    } cases[] = {{12, 8e-3}, {13, 2e-3}, {14, 5e-4}};
    enum { n = 256 * 16 };
    static float x[n], y[n];
    static uint8_t q[16 * 210];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct format *f = format_by_type((uint32_t)cases[c].type);
        for (uint64_t seed = 1; seed <= 4; seed++) {
            uint64_t rng = seed;
            for (int i = 0; i < n; i++)
                x[i] = bell(&rng);
            f->quant(x, q, n);
            f->dequant(q, y, n);
            double se = 0, s2 = 0;
            for (int i = 0; i < n; i++) {
                se += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
                s2 += (double)x[i] * x[i];
            }
            cr_assert(se / s2 <= cases[c].ceiling, "%s: NMSE %g over %d elements (seed %llu), ceiling %g",
                      f->name, se / s2, n, (unsigned long long)seed, cases[c].ceiling);
        }
    }
}

/* ------------------------------------------------------------------------- */
/* Alignment and bounds                                                      */
/* ------------------------------------------------------------------------- */

Test(quants, odd_addresses_give_the_same_bytes_and_floats_and_no_overrun)
{
    enum { n = 512, guard = 16 };
    static float x[n], y0[n], y1[n + 1];
    make_input(x, n, 4242);
    for (size_t i = 0; i < N_FORMATS; i++) {
        const struct format *f = &formats[i];
        if (!f->quant)
            continue;
        const size_t nbytes = (size_t)(n / f->blck) * (size_t)f->bytes;
        uint8_t *a = malloc(nbytes);
        uint8_t *b = malloc(nbytes + 1 + guard);
        cr_assert(a && b);
        memset(b, 0xa5, nbytes + 1 + guard);
        f->quant(x, a, n);
        f->quant(x, b + 1, n); /* dst at an odd address */
        long bad = first_byte_mismatch(a, b + 1, (long)nbytes);
        cr_assert(eq(i64, bad, -1), "%s: byte %ld of %zu differs at an odd address", f->name, bad, nbytes);
        for (int g = 0; g < guard; g++)
            cr_assert(eq(u8, b[1 + nbytes + g], 0xa5), "%s: wrote past the end (+%d)", f->name, g);
        cr_assert(eq(u8, b[0], 0xa5), "%s: wrote before the start", f->name);

        f->dequant(a, y0, n);
        f->dequant(b + 1, y1 + 1, n); /* src and dst misaligned */
        long fbad = first_float_mismatch(y0, y1 + 1, n);
        cr_assert(eq(i64, fbad, -1), "%s: float %ld of %d differs when misaligned", f->name, fbad, n);
        free(a);
        free(b);
    }
}

/* ------------------------------------------------------------------------- */
/* Recorded ggml results                                                     */
/* ------------------------------------------------------------------------- */

/*
 * tests/vectors/quants.bin, parsed (format: gen_quant_vectors.py's
 * docstring). Every length is checked against the bytes left before use.
 */
enum { MAX_INPUTS = 16, MAX_RECORDS = 256, MAX_N = 4096, MAX_BULK = 16 };

struct record {
    const struct format *f;
    uint32_t input, flags, n, nbytes;
    const uint8_t *bytes;
    const uint8_t *floats; /* n little-endian floats */
};

struct bulk_format {
    const struct format *f;
    uint32_t flags, n_blocks;
    const uint8_t *digests; /* n_blocks pairs of u32: bytes, floats */
};

struct vectors {
    uint8_t *file;
    uint32_t n_inputs, n_records, n_bulk;
    uint32_t input_n[MAX_INPUTS];
    const uint8_t *input[MAX_INPUTS];
    struct record rec[MAX_RECORDS];
    uint64_t bulk_seed;
    uint32_t bulk_n;
    struct bulk_format bulk[MAX_BULK];
};

struct reader {
    const uint8_t *p;
    size_t len, off;
    bool ok;
};

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const uint8_t *rd_bytes(struct reader *r, size_t n)
{
    if (!r->ok || r->len - r->off < n) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *at = r->p + r->off;
    r->off += n;
    return at;
}

static uint32_t rd_u32(struct reader *r)
{
    const uint8_t *p = rd_bytes(r, 4);
    return p ? le32(p) : 0;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    uint8_t *buf = NULL;
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0)
        size = ftell(fp);
    if (size > 0 && size < (64L << 20) && fseek(fp, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size);
        if (buf && fread(buf, 1, (size_t)size, fp) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(fp);
    *len = buf ? (size_t)size : 0;
    return buf;
}

/* Parse the whole file into v (asserting on any inconsistency). */
static void load_vectors(struct vectors *v)
{
    size_t len = 0;
    memset(v, 0, sizeof *v);
    v->file = slurp(VECTORS_PATH, &len);
    cr_assert(v->file != NULL, "%s: cannot read (run the tests from the repository root)", VECTORS_PATH);
    struct reader r = {v->file, len, 0, true};

    const uint8_t *magic = rd_bytes(&r, 4);
    cr_assert(magic && !memcmp(magic, "PQV1", 4), "%s: bad magic", VECTORS_PATH);
    v->n_inputs = rd_u32(&r);
    v->n_records = rd_u32(&r);
    rd_bytes(&r, rd_u32(&r)); /* provenance text */
    cr_assert(r.ok && v->n_inputs <= MAX_INPUTS && v->n_records <= MAX_RECORDS, "%s: bad header",
              VECTORS_PATH);

    for (uint32_t i = 0; i < v->n_inputs; i++) {
        v->input_n[i] = rd_u32(&r);
        cr_assert(r.ok && v->input_n[i] <= MAX_N, "%s: input %u: bad length", VECTORS_PATH, i);
        v->input[i] = rd_bytes(&r, (size_t)v->input_n[i] * 4);
        cr_assert(r.ok, "%s: input %u truncated", VECTORS_PATH, i);
    }

    for (uint32_t k = 0; k < v->n_records; k++) {
        struct record *rec = &v->rec[k];
        const uint32_t type = rd_u32(&r);
        rec->input = rd_u32(&r);
        rec->flags = rd_u32(&r);
        rec->n = rd_u32(&r);
        rec->nbytes = rd_u32(&r);
        cr_assert(r.ok, "%s: record %u: truncated header", VECTORS_PATH, k);
        rec->f = format_by_type(type);
        cr_assert(rec->f != NULL, "%s: record %u: unexpected type %u", VECTORS_PATH, k, type);
        const uint32_t blck = (uint32_t)rec->f->blck, bytes = (uint32_t)rec->f->bytes;
        cr_assert(rec->n > 0 && rec->n <= MAX_N && rec->n % blck == 0 && rec->nbytes == rec->n / blck * bytes,
                  "%s: record %u (%s): n %u, nbytes %u inconsistent", VECTORS_PATH, k, rec->f->name, rec->n,
                  rec->nbytes);
        if (rec->flags & 2)
            cr_assert(rec->input < v->n_inputs && v->input_n[rec->input] == rec->n,
                      "%s: record %u: bad input %u", VECTORS_PATH, k, rec->input);
        rec->bytes = rd_bytes(&r, rec->nbytes);
        rec->floats = rd_bytes(&r, (size_t)rec->n * 4);
        cr_assert(r.ok, "%s: record %u truncated", VECTORS_PATH, k);
    }

    const uint32_t seed_lo = rd_u32(&r), seed_hi = rd_u32(&r);
    v->bulk_seed = (uint64_t)seed_hi << 32 | seed_lo;
    v->bulk_n = rd_u32(&r);
    v->n_bulk = rd_u32(&r);
    cr_assert(r.ok && v->n_bulk <= MAX_BULK && v->bulk_n <= (1u << 20), "%s: bad bulk header", VECTORS_PATH);
    for (uint32_t k = 0; k < v->n_bulk; k++) {
        struct bulk_format *b = &v->bulk[k];
        const uint32_t type = rd_u32(&r);
        b->flags = rd_u32(&r);
        b->n_blocks = rd_u32(&r);
        b->f = format_by_type(type);
        cr_assert(r.ok && b->f && b->f->quant, "%s: bulk format %u: bad type %u", VECTORS_PATH, k, type);
        cr_assert(v->bulk_n >= (uint64_t)b->n_blocks * (uint64_t)b->f->blck, "%s: bulk %s: too many blocks",
                  VECTORS_PATH, b->f->name);
        b->digests = rd_bytes(&r, (size_t)b->n_blocks * 8);
        cr_assert(r.ok, "%s: bulk %s truncated", VECTORS_PATH, b->f->name);
    }
    cr_assert(eq(sz, r.off, len), "%s: %zu trailing bytes", VECTORS_PATH, len - r.off);
}

static void read_floats(float *dst, const uint8_t *src, uint32_t n)
{
    memcpy(dst, src, (size_t)n * 4); /* the host is little-endian */
}

Test(quants, matches_recorded_ggml_bytes_and_floats_for_every_format)
{
    static struct vectors v;
    static float x[MAX_N], want[MAX_N], got[MAX_N];
    static uint8_t mine[MAX_N * 2];
    int quant_checked[N_FORMATS] = {0}, dequant_checked[N_FORMATS] = {0};
    load_vectors(&v);

    for (uint32_t k = 0; k < v.n_records; k++) {
        const struct record *rec = &v.rec[k];
        const struct format *f = rec->f;
        const size_t fi = (size_t)(f - formats);
        if ((rec->flags & 2) && f->quant) { /* bytes from ggml's quantizer */
            read_floats(x, v.input[rec->input], rec->n);
            f->quant(x, mine, rec->n);
            const long at = first_byte_mismatch(mine, rec->bytes, rec->nbytes);
            cr_assert(eq(i64, at, -1),
                      "record %u (%s, input %u): byte %ld of %u (block %ld, offset %ld) is 0x%02x, ggml 0x%02x", k,
                      f->name, rec->input, at, rec->nbytes, at / f->bytes, at % f->bytes, at >= 0 ? mine[at] : 0,
                      at >= 0 ? rec->bytes[at] : 0);
            quant_checked[fi]++;
        }
        read_floats(want, rec->floats, rec->n);
        f->dequant(rec->bytes, got, rec->n);
        const long at = first_float_mismatch(got, want, rec->n);
        cr_assert(eq(i64, at, -1), "record %u (%s): float %ld of %u is 0x%08x, %s 0x%08x", k, f->name, at, rec->n,
                  at >= 0 ? f32_bits(got[at]) : 0, (rec->flags & 1) ? "ggml" : "reference",
                  at >= 0 ? f32_bits(want[at]) : 0);
        if (rec->flags & 1)
            dequant_checked[fi]++;
    }
    free(v.file);

    /* A short or stale file must not pass by checking nothing. */
    for (size_t i = 0; i < N_FORMATS; i++) {
        if (formats[i].quant)
            cr_assert(quant_checked[i] >= 6, "%s: only %d quantizer records", formats[i].name, quant_checked[i]);
        if (formats[i].type != 9) /* ggml has no Q8_1 dequantizer */
            cr_assert(dequant_checked[i] >= 2, "%s: only %d ggml dequantizer records", formats[i].name,
                      dequant_checked[i]);
    }
}

/* The bulk input (gen_quant_vectors.py's docstring defines it bit by bit). */
static void make_bulk_input(float *x, uint32_t n, uint64_t seed)
{
    uint64_t rng = seed;
    int base = 0, kind = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i % 256 == 0)
            kind = (int)(splitmix64(&rng) & 3);
        if (i % 32 == 0)
            base = (int)(splitmix64(&rng) % 17) - 8;
        const uint64_t r = splitmix64(&rng);
        if (kind == 1 || kind == 2) {
            long s = -131070;
            for (int k = 0; k < 4; k++)
                s += (long)((r >> (16 * k)) & 0xffff);
            if (kind == 2 && ((r >> 10) & 63) == 0)
                s += 1L << 23;
            x[i] = (float)s * ldexpf(1.0f, base - 17); /* exact: |s| < 2^24, power of two */
        } else {
            const uint64_t width = kind == 0 ? 7 : 63;
            uint32_t bits = 0;
            if (((r >> 32) & 63) != 0)
                bits = (uint32_t)(r >> 63) << 31 | (uint32_t)(127 + base - (int)((r >> 56) & width)) << 23 |
                       (uint32_t)(r & 0x7fffff);
            memcpy(&x[i], &bits, 4);
        }
    }
}

static uint32_t fnv1a32(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x01000193u;
    return h;
}

/*
 * Stored inputs are small; scale searches go wrong rarely (a reordered
 * float sum in Q4_K's search changes a few percent of super-blocks, and
 * mostly those with outliers). So the file also carries per-block digests
 * of ggml's bytes and floats for 131072 seeded elements (512 super-blocks;
 * the legacy formats use the first 16384) that are regenerated here rather
 * than stored.
 */
Test(quants, matches_ggml_block_digests_on_a_large_seeded_input)
{
    static struct vectors v;
    load_vectors(&v);
    cr_assert(v.n_bulk >= 10, "only %u bulk formats", v.n_bulk);
    float *x = malloc((size_t)v.bulk_n * sizeof *x);
    float *y = malloc((size_t)v.bulk_n * sizeof *y);
    uint8_t *q = malloc((size_t)v.bulk_n / 32 * 37); /* >= the largest rate, q8_k 292/256 */
    cr_assert(x && y && q);
    make_bulk_input(x, v.bulk_n, v.bulk_seed);

    for (uint32_t k = 0; k < v.n_bulk; k++) {
        const struct bulk_format *b = &v.bulk[k];
        const struct format *f = b->f;
        const uint32_t n = b->n_blocks * (uint32_t)f->blck;
        f->quant(x, q, n);
        f->dequant(q, y, n);
        long bad_bytes = -1, bad_floats = -1;
        for (uint32_t blk = 0; blk < b->n_blocks && bad_bytes < 0 && bad_floats < 0; blk++) {
            if (fnv1a32(q + (size_t)blk * (size_t)f->bytes, (size_t)f->bytes) != le32(b->digests + 8 * blk))
                bad_bytes = blk;
            else if (fnv1a32(y + (size_t)blk * (size_t)f->blck, (size_t)f->blck * 4) != le32(b->digests + 8 * blk + 4))
                bad_floats = blk;
        }
        cr_assert(eq(i64, bad_bytes, -1), "%s: block %ld of %u (elements from %ld, seed 0x%llx): bytes differ from ggml",
                  f->name, bad_bytes, b->n_blocks, bad_bytes * f->blck, (unsigned long long)v.bulk_seed);
        cr_assert(eq(i64, bad_floats, -1), "%s: block %ld of %u (seed 0x%llx): floats differ from %s", f->name,
                  bad_floats, b->n_blocks, (unsigned long long)v.bulk_seed, (b->flags & 1) ? "ggml" : "reference");
    }
    free(x);
    free(y);
    free(q);
    free(v.file);
}
