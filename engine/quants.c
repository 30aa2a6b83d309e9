/*
 * quants.c: ggml's block-quantized formats, reference (scalar) code.
 *
 * What it is: one block struct per format, laid out byte-for-byte as ggml
 * stores it in a GGUF file; one dequantizer per format whose float results
 * are bit-identical to ggml's `dequantize_row_*`; and, for the ten formats
 * plumb writes fixtures in, a quantizer that performs the same float
 * operations in the same order as ggml's `quantize_row_*_ref`, so it
 * produces the same bytes. tests/test_quants.c pins both claims against
 * vectors recorded from ggml itself.
 *
 * What it is not: fast. Every routine is a plain loop in element order;
 * SIMD kernels live elsewhere and are checked against this file. There is no
 * importance-matrix (imatrix) quantization and no quantizer for Q2_K or Q3_K.
 *
 * Invariants and conventions:
 * - Blocks are copied between the caller's buffer and a local struct with
 *   memcpy, so src and dst may have any alignment. Host is little-endian.
 * - fp16 fields are uint16_t bit patterns, converted only through dtype.h.
 * - No fused multiply-add may be formed: the file must be compiled with
 *   -ffp-contract=off, and every product and sum below is written in the
 *   association order ggml uses (a*b*c means (a*b)*c, as in C).
 * - The only libm calls are fabsf, sqrtf and roundf; all three are exact
 *   (correctly rounded) on every IEEE platform. IEEE semantics are assumed
 *   throughout (C11 Annex F), as ggml assumes them: a division by zero or
 *   an overflow gives +-Inf, never a trap.
 * - Inputs to the quantizers are expected to be finite. Non-finite inputs,
 *   and blocks so tiny that the reciprocal scale overflows, are handled
 *   deterministically (see trunc_low8) but carry no promise beyond that.
 */
#include "quants.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "dtype.h"

#define QK QUANTS_QK     /* 32 */
#define QK_K QUANTS_QK_K /* 256 */

/* ------------------------------------------------------------------------- */
/* Block structs                                                             */
/* ------------------------------------------------------------------------- */

/*
 * All structs are packed by construction (every field is naturally aligned
 * at its offset and the total is a multiple of the largest alignment); the
 * static_asserts catch a compiler that thinks otherwise.
 */

struct quants_blk_q4_0 {
    uint16_t d;         /* fp16 step */
    uint8_t qs[QK / 2]; /* two 4-bit codes per byte */
};

struct quants_blk_q4_1 {
    uint16_t d;         /* fp16 step */
    uint16_t m;         /* fp16 offset (the block minimum) */
    uint8_t qs[QK / 2];
};

struct quants_blk_q5_0 {
    uint16_t d;
    uint8_t qh[4];      /* fifth bits, a little-endian uint32 */
    uint8_t qs[QK / 2]; /* low four bits */
};

struct quants_blk_q5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[QK / 2];
};

struct quants_blk_q8_0 {
    uint16_t d;
    int8_t qs[QK];
};

struct quants_blk_q8_1 {
    uint16_t d;
    uint16_t s; /* fp16 of d * sum(qs): lets dot products fold in an offset */
    int8_t qs[QK];
};

struct quants_blk_q2_k {
    uint8_t scales[QK_K / 16]; /* low nibble scale, high nibble min */
    uint8_t qs[QK_K / 4];      /* four 2-bit codes per byte */
    uint16_t d;                /* fp16 step of the scales */
    uint16_t dmin;             /* fp16 step of the mins */
};

struct quants_blk_q3_k {
    uint8_t hmask[QK_K / 8]; /* third bits */
    uint8_t qs[QK_K / 4];    /* low two bits */
    uint8_t scales[12];      /* sixteen 6-bit scales, offset by 32 */
    uint16_t d;
};

struct quants_blk_q4_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12]; /* eight 6-bit scales and eight 6-bit mins */
    uint8_t qs[QK_K / 2];
};

struct quants_blk_q5_k {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
};

struct quants_blk_q6_k {
    uint8_t ql[QK_K / 2];     /* low four bits */
    uint8_t qh[QK_K / 4];     /* high two bits */
    int8_t scales[QK_K / 16]; /* signed 8-bit sub-block scales */
    uint16_t d;
};

struct quants_blk_q8_k {
    float d; /* a plain fp32 step, not fp16 */
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16]; /* sum of each run of 16 codes */
};

static_assert(sizeof(struct quants_blk_q4_0) == 18, "q4_0 block is 18 bytes");
static_assert(sizeof(struct quants_blk_q4_1) == 20, "q4_1 block is 20 bytes");
static_assert(sizeof(struct quants_blk_q5_0) == 22, "q5_0 block is 22 bytes");
static_assert(sizeof(struct quants_blk_q5_1) == 24, "q5_1 block is 24 bytes");
static_assert(sizeof(struct quants_blk_q8_0) == 34, "q8_0 block is 34 bytes");
static_assert(sizeof(struct quants_blk_q8_1) == 36, "q8_1 block is 36 bytes");
static_assert(sizeof(struct quants_blk_q2_k) == 84, "q2_k block is 84 bytes");
static_assert(sizeof(struct quants_blk_q3_k) == 110, "q3_k block is 110 bytes");
static_assert(sizeof(struct quants_blk_q4_k) == 144, "q4_k block is 144 bytes");
static_assert(sizeof(struct quants_blk_q5_k) == 176, "q5_k block is 176 bytes");
static_assert(sizeof(struct quants_blk_q6_k) == 210, "q6_k block is 210 bytes");
static_assert(sizeof(struct quants_blk_q8_k) == 292, "q8_k block is 292 bytes");
static_assert(offsetof(struct quants_blk_q2_k, d) == 80, "q2_k d after qs");
static_assert(offsetof(struct quants_blk_q3_k, d) == 108, "q3_k d at the end");
static_assert(offsetof(struct quants_blk_q5_k, qs) == 48, "q5_k qs after qh");
static_assert(offsetof(struct quants_blk_q6_k, d) == 208, "q6_k d at the end");
static_assert(offsetof(struct quants_blk_q8_k, bsums) == 260, "q8_k bsums last");

/* ------------------------------------------------------------------------- */
/* Shared helpers                                                            */
/* ------------------------------------------------------------------------- */

static float half(uint16_t h)
{
    return dtype_fp16_to_fp32(h);
}

/* Copy block i of a packed buffer into *blk (any alignment). */
static void load_block(void *blk, const void *src, int64_t i, size_t size)
{
    memcpy(blk, (const uint8_t *)src + (size_t)i * size, size);
}

/* Copy *blk to block i of a packed buffer (any alignment). */
static void store_block(void *dst, int64_t i, const void *blk, size_t size)
{
    memcpy((uint8_t *)dst + (size_t)i * size, blk, size);
}

/*
 * Round to the nearest integer, ties to even, the way ggml's K-quantizers
 * do: adding 1.5 * 2^23 moves v into the binade [2^23, 2^24), whose spacing
 * is exactly 1, so the float addition itself does the rounding; the integer
 * is then read back out of the low 23 mantissa bits (offset by 2^22).
 * Exact for |v| < 2^22. Outside that range (or for NaN/Inf) the result is
 * garbage but well defined, and identical to ggml's, which is what matters.
 */
static int magic_round(float v)
{
    float shifted = v + 12582912.0f; /* 1.5 * 2^23 */
    uint32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    return (int)(bits & 0x7fffffu) - 0x400000;
}

/*
 * The low 8 bits of v truncated toward zero, as a signed value.
 *
 * ggml's legacy quantizers convert floats to int8_t/uint8_t with a plain C
 * cast. For finite inputs the value is always in range and this returns the
 * same thing as the cast. When it is not (NaN, or +-Inf from a reciprocal
 * scale that overflowed because the block is below ~1e-37), C leaves the
 * cast undefined; x86-64 converts through a 32-bit truncation that yields
 * INT32_MIN for such values and keeps the low byte, i.e. 0. This helper
 * defines the result that way so plumb is deterministic everywhere and
 * agrees with ggml as built for x86-64 (the recorded vectors include such
 * blocks).
 */
static int trunc_low8(float v)
{
    int32_t t = INT32_MIN;
    if (v > -2147483904.0f && v < 2147483648.0f)
        t = (int32_t)v;
    int low = (int)((uint32_t)t & 0xffu);
    return low > 127 ? low - 256 : low;
}

/*
 * roundf(v): nearest integer, halfway cases away from zero. For |v| < 2^23
 * (every value the quantizers round) it is computed here with exact
 * operations: truncation toward zero, then the exact remainder v - t decides;
 * glibc's roundf is a function call that costs more than the whole rest of
 * Q8_0 quantization. Other values go to roundf itself.
 */
static float round_away(float v)
{
    if (!(v > -8388608.0f && v < 8388608.0f))
        return roundf(v);
    float t = (float)(int32_t)v; /* exact: |v| < 2^23 */
    float r = v - t;             /* exact: same binade or below */
    /* branch-free: on random data a branch here mispredicts half the time */
    t += (float)(r >= 0.5f) - (float)(r <= -0.5f);
    return copysignf(t, v); /* rounding keeps the sign, -0.3 gives -0 */
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

/* Store an int in an int8_t field keeping its low 8 bits (two's complement). */
static int8_t wrap_i8(int v)
{
    int low = (int)((unsigned)v & 0xffu);
    return (int8_t)(low > 127 ? low - 256 : low);
}

/*
 * The largest-magnitude element of x[0..n), with its sign. The first of
 * several equal magnitudes wins (strict comparison); NaNs are skipped.
 * Returns 0 for an all-zero run. *amax receives its magnitude.
 */
static float signed_absmax(const float *x, int n, float *amax)
{
    float best = 0.0f, mag = 0.0f;
    for (int j = 0; j < n; j++) {
        if (mag < fabsf(x[j])) {
            mag = fabsf(x[j]);
            best = x[j];
        }
    }
    *amax = mag;
    return best;
}

/* ------------------------------------------------------------------------- */
/* Q4_0                                                                      */
/* ------------------------------------------------------------------------- */

/*
 * Q4_0: 32 weights in 18 bytes.
 *
 *   byte  0      2                                       18
 *         +------+---------------------------------------+
 *         |  d   | qs[0]  qs[1]  ...               qs[15] |
 *         | f16  |                                       |
 *         +------+---------------------------------------+
 *   qs[j] bits:  7..4 = q[j+16]   3..0 = q[j]        (q in 0..15)
 *
 * SPEC: x[j] = d * (q[j] - 8)
 */
void quants_dequant_q4_0(const void *src, float *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        struct quants_blk_q4_0 b;
        load_block(&b, src, i, sizeof b);
        const float d = half(b.d);
        for (int j = 0; j < QK; j++) {
            int q = j < QK / 2 ? b.qs[j] & 0xf : b.qs[j - QK / 2] >> 4;
            dst[i * QK + j] = (float)(q - 8) * d;
        }
    }
}

/*
 * Quantizer contract: d = m / -8 where m is the block element of largest
 * magnitude (sign kept), so m itself maps to code 0 and dequantizes exactly
 * as far as fp16(d) allows; q = min(15, trunc(x/d + 8.5)), i.e. x/d rounded
 * half up, plus 8. An all-zero block gets d = 0 and every q = 8.
 */
void quants_quant_q4_0(const float *src, void *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        const float *x = src + i * QK;
        float amax;
        const float m = signed_absmax(x, QK, &amax);
        const float d = m / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;

        struct quants_blk_q4_0 b;
        b.d = dtype_fp32_to_fp16(d);
        for (int j = 0; j < QK / 2; j++) {
            uint8_t lo = (uint8_t)min_int(15, trunc_low8(x[j] * id + 8.5f));
            uint8_t hi = (uint8_t)min_int(15, trunc_low8(x[j + QK / 2] * id + 8.5f));
            b.qs[j] = (uint8_t)(lo | hi << 4);
        }
        store_block(dst, i, &b, sizeof b);
    }
}

/* ------------------------------------------------------------------------- */
/* Q4_1                                                                      */
/* ------------------------------------------------------------------------- */

/*
 * Q4_1: 32 weights in 20 bytes.
 *
 *   byte  0      2      4                                20
 *         +------+------+--------------------------------+
 *         |  d   |  m   | qs[0]  ...              qs[15] |
 *         | f16  | f16  |                                |
 *         +------+------+--------------------------------+
 *   qs[j] bits:  7..4 = q[j+16]   3..0 = q[j]        (q in 0..15)
 *
 * SPEC: x[j] = d * q[j] + m
 */
void quants_dequant_q4_1(const void *src, float *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        struct quants_blk_q4_1 b;
        load_block(&b, src, i, sizeof b);
        const float d = half(b.d), m = half(b.m);
        for (int j = 0; j < QK; j++) {
            int q = j < QK / 2 ? b.qs[j] & 0xf : b.qs[j - QK / 2] >> 4;
            dst[i * QK + j] = (float)q * d + m;
        }
    }
}

/*
 * The smallest and largest element of x[0..n) (NaNs skipped). Starts from
 * +-FLT_MAX as ggml does, so an all-NaN run gives min = FLT_MAX, max = -FLT_MAX.
 */
static void min_max(const float *x, int n, float *lo, float *hi)
{
    float mn = FLT_MAX, mx = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < mn)
            mn = x[j];
        if (x[j] > mx)
            mx = x[j];
    }
    *lo = mn;
    *hi = mx;
}

/*
 * Quantizer contract: m = block minimum, d = (max - min) / 15,
 * q = min(15, trunc((x - m)/d + 0.5)). Note m is stored in fp16 but the
 * codes are chosen against the fp32 minimum, as ggml does.
 */
void quants_quant_q4_1(const float *src, void *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        const float *x = src + i * QK;
        float lo, hi;
        min_max(x, QK, &lo, &hi);
        const float d = (hi - lo) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;

        struct quants_blk_q4_1 b;
        b.d = dtype_fp32_to_fp16(d);
        b.m = dtype_fp32_to_fp16(lo);
        for (int j = 0; j < QK / 2; j++) {
            uint8_t q0 = (uint8_t)min_int(15, trunc_low8((x[j] - lo) * id + 0.5f));
            uint8_t q1 = (uint8_t)min_int(15, trunc_low8((x[j + QK / 2] - lo) * id + 0.5f));
            b.qs[j] = (uint8_t)(q0 | q1 << 4);
        }
        store_block(dst, i, &b, sizeof b);
    }
}

/* ------------------------------------------------------------------------- */
/* Q5_0                                                                      */
/* ------------------------------------------------------------------------- */

/*
 * Q5_0: 32 weights in 22 bytes.
 *
 *   byte  0      2             6                          22
 *         +------+-------------+--------------------------+
 *         |  d   | qh (u32 LE) | qs[0]  ...        qs[15] |
 *         | f16  |             |                          |
 *         +------+-------------+--------------------------+
 *   qh bit j      = bit 4 of q[j]                    (j = 0..31)
 *   qs[j] bits:  7..4 = bits 3..0 of q[j+16]   3..0 = bits 3..0 of q[j]
 *
 * SPEC: x[j] = d * (q[j] - 16)          (q in 0..31)
 */
static uint32_t read_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void write_u32le(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

/* The 5-bit code of element j of a Q5_0/Q5_1 block. */
static int five_bit_code(const uint8_t *qs, uint32_t qh, int j)
{
    int low = j < QK / 2 ? qs[j] & 0xf : qs[j - QK / 2] >> 4;
    return low | (int)((qh >> j) & 1u) << 4;
}

void quants_dequant_q5_0(const void *src, float *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        struct quants_blk_q5_0 b;
        load_block(&b, src, i, sizeof b);
        const float d = half(b.d);
        const uint32_t qh = read_u32le(b.qh);
        for (int j = 0; j < QK; j++)
            dst[i * QK + j] = (float)(five_bit_code(b.qs, qh, j) - 16) * d;
    }
}

/* Pack 32 five-bit codes into qs (low nibbles) and qh (fifth bits). */
static void pack_five_bit(const uint8_t q[QK], uint8_t qs[QK / 2], uint8_t qh_bytes[4])
{
    uint32_t qh = 0;
    for (int j = 0; j < QK / 2; j++) {
        qs[j] = (uint8_t)((q[j] & 0xf) | (q[j + QK / 2] & 0xf) << 4);
        qh |= (uint32_t)((q[j] >> 4) & 1u) << j;
        qh |= (uint32_t)((q[j + QK / 2] >> 4) & 1u) << (j + QK / 2);
    }
    write_u32le(qh_bytes, qh);
}

/*
 * Quantizer contract: as Q4_0 with 16 in place of 8:
 * d = m / -16, q = min(31, trunc(x/d + 16.5)).
 */
void quants_quant_q5_0(const float *src, void *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        const float *x = src + i * QK;
        float amax;
        const float m = signed_absmax(x, QK, &amax);
        const float d = m / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;

        uint8_t q[QK];
        for (int j = 0; j < QK; j++)
            q[j] = (uint8_t)min_int(31, trunc_low8(x[j] * id + 16.5f));

        struct quants_blk_q5_0 b;
        b.d = dtype_fp32_to_fp16(d);
        pack_five_bit(q, b.qs, b.qh);
        store_block(dst, i, &b, sizeof b);
    }
}

/* ------------------------------------------------------------------------- */
/* Q5_1                                                                      */
/* ------------------------------------------------------------------------- */

/*
 * Q5_1: 32 weights in 24 bytes.
 *
 *   byte  0      2      4             8                       24
 *         +------+------+-------------+-----------------------+
 *         |  d   |  m   | qh (u32 LE) | qs[0]  ...     qs[15] |
 *         +------+------+-------------+-----------------------+
 *   bits of q[j] spread over qh and qs exactly as in Q5_0
 *
 * SPEC: x[j] = d * q[j] + m             (q in 0..31)
 */
void quants_dequant_q5_1(const void *src, float *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        struct quants_blk_q5_1 b;
        load_block(&b, src, i, sizeof b);
        const float d = half(b.d), m = half(b.m);
        const uint32_t qh = read_u32le(b.qh);
        for (int j = 0; j < QK; j++)
            dst[i * QK + j] = (float)five_bit_code(b.qs, qh, j) * d + m;
    }
}

/*
 * Quantizer contract: as Q4_1 with 31 levels: d = (max - min) / 31,
 * q = trunc((x - m)/d + 0.5), no clamp (ggml has none; the value cannot
 * exceed 31 for finite input).
 */
void quants_quant_q5_1(const float *src, void *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        const float *x = src + i * QK;
        float lo, hi;
        min_max(x, QK, &lo, &hi);
        const float d = (hi - lo) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;

        uint8_t q[QK];
        for (int j = 0; j < QK; j++)
            q[j] = (uint8_t)trunc_low8((x[j] - lo) * id + 0.5f);

        struct quants_blk_q5_1 b;
        b.d = dtype_fp32_to_fp16(d);
        b.m = dtype_fp32_to_fp16(lo);
        pack_five_bit(q, b.qs, b.qh);
        store_block(dst, i, &b, sizeof b);
    }
}

/* ------------------------------------------------------------------------- */
/* Q8_0 and Q8_1                                                             */
/* ------------------------------------------------------------------------- */

/*
 * Q8_0: 32 weights in 34 bytes.
 *
 *   byte  0      2                                     34
 *         +------+-------------------------------------+
 *         |  d   | qs[0]  qs[1]  ...            qs[31] |
 *         | f16  | int8, one per weight                |
 *         +------+-------------------------------------+
 *
 * SPEC: x[j] = d * q[j]
 */
void quants_dequant_q8_0(const void *src, float *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        struct quants_blk_q8_0 b;
        load_block(&b, src, i, sizeof b);
        const float d = half(b.d);
        for (int j = 0; j < QK; j++)
            dst[i * QK + j] = (float)b.qs[j] * d;
    }
}

/* max(|x[j]|) the way ggml's Q8 quantizers fold it: acc = acc > v ? acc : v. */
static float fold_absmax(const float *x, int n)
{
    float acc = 0.0f;
    for (int j = 0; j < n; j++) {
        float v = fabsf(x[j]);
        acc = acc > v ? acc : v;
    }
    return acc;
}

/*
 * Quantizer contract: d = max|x| / 127, q = round(x/d) with halves away
 * from zero (roundf), computed as x * (1/d). All-zero block: d = 0, q = 0.
 */
void quants_quant_q8_0(const float *src, void *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        const float *x = src + i * QK;
        const float d = fold_absmax(x, QK) / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;

        struct quants_blk_q8_0 b;
        b.d = dtype_fp32_to_fp16(d);
        for (int j = 0; j < QK; j++)
            b.qs[j] = (int8_t)trunc_low8(round_away(x[j] * id));
        store_block(dst, i, &b, sizeof b);
    }
}

/*
 * Q8_1: 32 weights in 36 bytes: Q8_0 plus s = fp16(d * sum(q)).
 *
 *   byte  0      2      4                                36
 *         +------+------+--------------------------------+
 *         |  d   |  s   | qs[0]  ...              qs[31] |
 *         +------+------+--------------------------------+
 *
 * SPEC: x[j] = d * q[j]
 *
 * ggml has no Q8_1 dequantizer (the type only ever feeds dot products);
 * this one applies the Q8_0 rule and ignores s.
 */
void quants_dequant_q8_1(const void *src, float *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        struct quants_blk_q8_1 b;
        load_block(&b, src, i, sizeof b);
        const float d = half(b.d);
        for (int j = 0; j < QK; j++)
            dst[i * QK + j] = (float)b.qs[j] * d;
    }
}

/* Quantizer contract: codes and d exactly as Q8_0; s = fp16((float)sum(q) * d). */
void quants_quant_q8_1(const float *src, void *dst, int64_t n)
{
    assert(n % QK == 0);
    for (int64_t i = 0; i < n / QK; i++) {
        const float *x = src + i * QK;
        const float d = fold_absmax(x, QK) / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;

        struct quants_blk_q8_1 b;
        int sum = 0;
        b.d = dtype_fp32_to_fp16(d);
        for (int j = 0; j < QK; j++) {
            b.qs[j] = (int8_t)trunc_low8(round_away(x[j] * id));
            sum += b.qs[j];
        }
        b.s = dtype_fp32_to_fp16((float)sum * d);
        store_block(dst, i, &b, sizeof b);
    }
}

/* ------------------------------------------------------------------------- */
/* K formats: shared index maps                                              */
/* ------------------------------------------------------------------------- */

/*
 * Q2_K, Q3_K and Q6_K store 2-bit planes the same way. A super-block of 256
 * is two halves of 128; in half h, element 32*p + l (plane p = 0..3,
 * l = 0..31) keeps its two bits at position 2p of byte 32*h + l:
 *
 *   byte 32h+l:   bits 7..6    5..4    3..2    1..0
 *                 p=3         p=2     p=1     p=0
 *                 e=128h+96+l  +64+l  +32+l   128h+l
 *
 * These give the byte index and the shift for element e.
 */
static int plane_byte(int e)
{
    return 32 * (e / 128) + e % 32;
}

static int plane_shift(int e)
{
    return 2 * ((e % 128) / 32);
}

/*
 * Q4_K/Q5_K's 12-byte scale field: eight 6-bit scales sc[k] and eight
 * 6-bit mins mn[k], k = 0..7 (one pair per sub-block of 32):
 *
 *   byte      bits 7..6        bits 5..0          (k = 0..3)
 *   k         sc[k+4] >> 4     sc[k]
 *   4 + k     mn[k+4] >> 4     mn[k]
 *             bits 7..4        bits 3..0
 *   8 + k     mn[k+4] & 15     sc[k+4] & 15
 */
static void unpack_scale_min(const uint8_t s[12], int k, int *sc, int *mn)
{
    if (k < 4) {
        *sc = s[k] & 63;
        *mn = s[k + 4] & 63;
    } else {
        *sc = (s[k + 4] & 0xf) | (s[k - 4] >> 6) << 4;
        *mn = (s[k + 4] >> 4) | (s[k] >> 6) << 4;
    }
}

static void pack_scale_min(const uint8_t sc[8], const uint8_t mn[8], uint8_t s[12])
{
    for (int k = 0; k < 4; k++) {
        s[k] = (uint8_t)(sc[k] | (sc[k + 4] >> 4) << 6);
        s[k + 4] = (uint8_t)(mn[k] | (mn[k + 4] >> 4) << 6);
        s[k + 8] = (uint8_t)((sc[k + 4] & 0xf) | (mn[k + 4] & 0xf) << 4);
    }
}

/* ------------------------------------------------------------------------- */
/* Q2_K                                                                      */
/* ------------------------------------------------------------------------- */

/*
 * Q2_K: 256 weights in 84 bytes; 16 sub-blocks of 16.
 *
 *   byte  0              16                     80     82     84
 *         +--------------+----------------------+------+------+
 *         | scales[16]   | qs[64]               |  d   | dmin |
 *         | 7..4 min     | 2-bit planes (above) | f16  | f16  |
 *         | 3..0 scale   |                      |      |      |
 *         +--------------+----------------------+------+------+
 *   sub-block s = e / 16; q = (qs[plane_byte(e)] >> plane_shift(e)) & 3
 *
 * SPEC: x[e] = (d * (scales[s] & 15)) * q - dmin * (scales[s] >> 4)
 */
void quants_dequant_q2_k(const void *src, float *dst, int64_t n)
{
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        struct quants_blk_q2_k b;
        load_block(&b, src, i, sizeof b);
        const float d = half(b.d), dmin = half(b.dmin);
        for (int e = 0; e < QK_K; e++) {
            const int s = b.scales[e / 16];
            const int q = (b.qs[plane_byte(e)] >> plane_shift(e)) & 3;
            const float step = d * (float)(s & 0xf);
            const float offset = dmin * (float)(s >> 4);
            dst[i * QK_K + e] = step * (float)q - offset;
        }
    }
}

/* ------------------------------------------------------------------------- */
/* Q3_K                                                                      */
/* ------------------------------------------------------------------------- */

/*
 * Q3_K: 256 weights in 110 bytes; 16 sub-blocks of 16.
 *
 *   byte  0          32                     96          108   110
 *         +----------+----------------------+-----------+-----+
 *         | hmask[32]| qs[64]               | scales[12]|  d  |
 *         | 3rd bits | 2-bit planes (above) | 6-bit x16 | f16 |
 *         +----------+----------------------+-----------+-----+
 *   low two bits: (qs[plane_byte(e)] >> plane_shift(e)) & 3
 *   high bit:     bit (4*(e/128) + (e%128)/32) of hmask[e % 32]; a SET bit
 *                 means "no offset", a clear bit subtracts 4
 *   scale s = e/16, 6 bits: low 4 from scales[s] (s<8) or scales[s-8]>>4,
 *                           high 2 from scales[8 + s%4] >> (2*(s/4))
 *
 * SPEC: x[e] = (d * (scale[s] - 32)) * (low2 - (hbit ? 0 : 4))
 */
static int q3k_scale(const uint8_t sc[12], int s)
{
    int low = s < 8 ? sc[s] & 0xf : sc[s - 8] >> 4;
    int high = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
    return (low | high << 4) - 32;
}

void quants_dequant_q3_k(const void *src, float *dst, int64_t n)
{
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        struct quants_blk_q3_k b;
        load_block(&b, src, i, sizeof b);
        const float d = half(b.d);
        for (int e = 0; e < QK_K; e++) {
            const int low = (b.qs[plane_byte(e)] >> plane_shift(e)) & 3;
            const int hbit = (b.hmask[e % 32] >> (4 * (e / 128) + (e % 128) / 32)) & 1;
            const float step = d * (float)q3k_scale(b.scales, e / 16);
            dst[i * QK_K + e] = step * (float)(low - (hbit ? 0 : 4));
        }
    }
}

/* ------------------------------------------------------------------------- */
/* K formats: ggml's scale searches                                          */
/* ------------------------------------------------------------------------- */

/*
 * Fit an asymmetric grid x ~ scale * L + min, L in 0..nmax, min <= 0, to
 * x[0..n) under weights w, as ggml's Q4_K/Q5_K reference does: start from the
 * plain range fit, then try nstep+1 stretched grids (nmax + rmin + rdelta*k
 * levels across the range), each refined by a weighted least-squares solve
 * for (scale, min), keeping whichever has the smallest weighted squared
 * error. Writes the codes to L, -min (>= 0) to *neg_min; returns scale.
 *
 * The float expressions are ggml's, term for term; do not "simplify" them.
 */
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L,
                           float *neg_min, float rmin, float rdelta, int nstep)
{
    uint8_t trial[32];
    assert(n <= 32);

    float lo = x[0], hi = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < lo)
            lo = x[i];
        if (x[i] > hi)
            hi = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (lo > 0)
        lo = 0;
    if (hi == lo) {
        memset(L, 0, (size_t)n);
        *neg_min = -lo;
        return 0.0f;
    }

    float iscale = (float)nmax / (hi - lo);
    float scale = 1 / iscale;
    float best_err = 0;
    for (int i = 0; i < n; i++) {
        int l = magic_round(iscale * (x[i] - lo));
        L[i] = (uint8_t)max_int(0, min_int(nmax, l));
        float diff = scale * (float)L[i] + lo - x[i];
        best_err += w[i] * (diff * diff);
    }

    for (int k = 0; k <= nstep; k++) {
        iscale = (rmin + rdelta * (float)k + (float)nmax) / (hi - lo);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = max_int(0, min_int(nmax, magic_round(iscale * (x[i] - lo))));
            trial[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)l * (float)l;
            sum_xl += w[i] * (float)l * x[i];
        }
        float det = sum_w * sum_l2 - sum_l * sum_l;
        if (det > 0) {
            float t_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            float t_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if (t_min > 0) {
                t_min = 0;
                t_scale = sum_xl / sum_l2;
            }
            float err = 0;
            for (int i = 0; i < n; i++) {
                float diff = t_scale * (float)trial[i] + t_min - x[i];
                err += w[i] * (diff * diff);
            }
            if (err < best_err) {
                memcpy(L, trial, (size_t)n);
                best_err = err;
                scale = t_scale;
                lo = t_min;
            }
        }
    }
    *neg_min = -lo;
    return scale;
}

/*
 * Fit a symmetric grid x ~ scale * (L - nmax), L in 0..2*nmax-1, to x[0..n)
 * with weights x^2, as ggml's Q6_K reference does (its rmse_type 1): the grid
 * through the extreme element, then 18 neighbours with nmax +- 0.1..0.9
 * levels, each refined by least squares; keeps the one with the largest
 * sumlx^2/suml2 (smallest weighted error). Writes L; returns scale.
 */
static float fit_scale_sym(int n, int nmax, const float *x, uint8_t *L)
{
    float amax;
    const float m = signed_absmax(x, n, &amax);
    if (amax < 1e-15f) { /* ggml's GROUP_MAX_EPS */
        memset(L, 0, (size_t)n);
        return 0.0f;
    }

    float iscale = (float)-nmax / m;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = max_int(-nmax, min_int(nmax - 1, magic_round(iscale * x[i])));
        L[i] = (uint8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;

    for (int k = -9; k <= 9; k++) {
        if (k == 0)
            continue;
        iscale = -((float)nmax + 0.1f * (float)k) / m;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = max_int(-nmax, min_int(nmax - 1, magic_round(iscale * x[i])));
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = max_int(-nmax, min_int(nmax - 1, magic_round(iscale * x[i])));
                L[i] = (uint8_t)(l + nmax);
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/*
 * The Q4_K/Q5_K super-block quantizer, shared: fits each sub-block of 32,
 * quantizes the eight scales and eight mins to 6 bits against fp16 super
 * scales d and dmin, then re-picks every code against the quantized grid.
 * nmax is 15 (Q4_K) or 31 (Q5_K); rmin/nstep are ggml's search settings.
 * Writes codes to L[256], and d, dmin and the packed scale bytes.
 */
static void quant_k_asym(const float *x, int nmax, float rmin, int nstep, uint8_t L[QK_K],
                         uint16_t *d_out, uint16_t *dmin_out, uint8_t scales_out[12])
{
    float scale[8], neg_min[8], w[32];
    float max_scale = 0, max_min = 0;

    for (int k = 0; k < 8; k++) {
        const float *xs = x + 32 * k;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++)
            sum_x2 += xs[l] * xs[l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++)
            w[l] = av_x + fabsf(xs[l]);
        scale[k] = fit_scale_min(32, nmax, xs, w, L + 32 * k, &neg_min[k], rmin, 0.1f, nstep);
        if (scale[k] > max_scale)
            max_scale = scale[k];
        if (neg_min[k] > max_min)
            max_min = neg_min[k];
    }

    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t sc6[8], mn6[8];
    for (int k = 0; k < 8; k++) {
        /* ggml narrows to uint8_t before clamping; a (never expected)
         * negative value therefore wraps and clamps to 63. */
        uint8_t ls = (uint8_t)magic_round(inv_scale * scale[k]);
        uint8_t lm = (uint8_t)magic_round(inv_min * neg_min[k]);
        sc6[k] = ls < 63 ? ls : 63;
        mn6[k] = lm < 63 ? lm : 63;
    }
    pack_scale_min(sc6, mn6, scales_out);
    *d_out = dtype_fp32_to_fp16(max_scale / 63.f);
    *dmin_out = dtype_fp32_to_fp16(max_min / 63.f);

    const float d_all = half(*d_out), dmin_all = half(*dmin_out);
    for (int k = 0; k < 8; k++) {
        int sc, mn;
        unpack_scale_min(scales_out, k, &sc, &mn);
        const float d = d_all * (float)sc;
        if (d == 0.0f)
            continue; /* keep the codes from the fit, as ggml does */
        const float dm = dmin_all * (float)mn;
        for (int l = 0; l < 32; l++) {
            int q = magic_round((x[32 * k + l] + dm) / d);
            L[32 * k + l] = (uint8_t)max_int(0, min_int(nmax, q));
        }
    }
}

/* ------------------------------------------------------------------------- */
/* Q4_K                                                                      */
/* ------------------------------------------------------------------------- */

/*
 * Q4_K: 256 weights in 144 bytes; 8 sub-blocks of 32.
 *
 *   byte  0      2      4            16                          144
 *         +------+------+------------+---------------------------+
 *         |  d   | dmin | scales[12] | qs[128]                   |
 *         | f16  | f16  | 6-bit sc,mn| 4-bit codes               |
 *         +------+------+------------+---------------------------+
 *   chunk c = e/64 owns qs[32c .. 32c+31]: element 64c + l (l < 32) is the
 *   low nibble of qs[32c + l], element 64c + 32 + l the high nibble.
 *   sub-block k = e/32 has scale sc[k] and min mn[k] (unpack_scale_min).
 *
 * SPEC: x[e] = (d * sc[k]) * q - (dmin * mn[k])
 */
static int nibble_code(const uint8_t *qs, int e)
{
    const uint8_t byte = qs[32 * (e / 64) + e % 32];
    return (e % 64) < 32 ? byte & 0xf : byte >> 4;
}

void quants_dequant_q4_k(const void *src, float *dst, int64_t n)
{
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        struct quants_blk_q4_k b;
        load_block(&b, src, i, sizeof b);
        const float d = half(b.d), dmin = half(b.dmin);
        for (int e = 0; e < QK_K; e++) {
            int sc, mn;
            unpack_scale_min(b.scales, e / 32, &sc, &mn);
            const float step = d * (float)sc;
            const float offset = dmin * (float)mn;
            dst[i * QK_K + e] = step * (float)nibble_code(b.qs, e) - offset;
        }
    }
}

/*
 * Quantizer contract: ggml's quantize_row_q4_K_ref (no importance matrix):
 * per sub-block weights av|x| + |x_i|, grid search nmax 15, rmin -1,
 * 21 steps; 6-bit scales/mins against d = max_scale/63, dmin = max_min/63.
 */
void quants_quant_q4_k(const float *src, void *dst, int64_t n)
{
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t L[QK_K];
        struct quants_blk_q4_k b;
        quant_k_asym(src + i * QK_K, 15, -1.0f, 20, L, &b.d, &b.dmin, b.scales);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                b.qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + 32 + l] << 4);
        store_block(dst, i, &b, sizeof b);
    }
}

/* ------------------------------------------------------------------------- */
/* Q5_K                                                                      */
/* ------------------------------------------------------------------------- */

/*
 * Q5_K: 256 weights in 176 bytes; 8 sub-blocks of 32.
 *
 *   byte  0      2      4            16          48                  176
 *         +------+------+------------+-----------+-------------------+
 *         |  d   | dmin | scales[12] | qh[32]    | qs[128]           |
 *         +------+------+------------+-----------+-------------------+
 *   low four bits: as Q4_K's nibbles
 *   fifth bit:     bit (e/32) of qh[e % 32]
 *
 * SPEC: x[e] = (d * sc[k]) * (nib + 16*bit) - (dmin * mn[k]),  k = e/32
 */
void quants_dequant_q5_k(const void *src, float *dst, int64_t n)
{
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        struct quants_blk_q5_k b;
        load_block(&b, src, i, sizeof b);
        const float d = half(b.d), dmin = half(b.dmin);
        for (int e = 0; e < QK_K; e++) {
            int sc, mn;
            unpack_scale_min(b.scales, e / 32, &sc, &mn);
            const int q = nibble_code(b.qs, e) + (((b.qh[e % 32] >> (e / 32)) & 1) ? 16 : 0);
            const float step = d * (float)sc;
            const float offset = dmin * (float)mn;
            dst[i * QK_K + e] = step * (float)q - offset;
        }
    }
}

/*
 * Quantizer contract: ggml's quantize_row_q5_K_ref (no importance matrix):
 * as Q4_K with nmax 31, rmin -0.5 and 16 steps.
 */
void quants_quant_q5_k(const float *src, void *dst, int64_t n)
{
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        uint8_t L[QK_K];
        struct quants_blk_q5_k b;
        quant_k_asym(src + i * QK_K, 31, -0.5f, 15, L, &b.d, &b.dmin, b.scales);
        memset(b.qh, 0, sizeof b.qh);
        for (int e = 0; e < QK_K; e++) {
            b.qh[e % 32] = (uint8_t)(b.qh[e % 32] | (L[e] >> 4) << (e / 32));
            if ((e % 64) < 32)
                b.qs[32 * (e / 64) + e % 32] = (uint8_t)(L[e] & 0xf);
            else
                b.qs[32 * (e / 64) + e % 32] |= (uint8_t)((L[e] & 0xf) << 4);
        }
        store_block(dst, i, &b, sizeof b);
    }
}

/* ------------------------------------------------------------------------- */
/* Q6_K                                                                      */
/* ------------------------------------------------------------------------- */

/*
 * Q6_K: 256 weights in 210 bytes; 16 sub-blocks of 16.
 *
 *   byte  0                    128              192          208   210
 *         +--------------------+----------------+------------+-----+
 *         | ql[128]            | qh[64]         | scales[16] |  d  |
 *         | low 4 bits         | 2-bit planes   | int8       | f16 |
 *         +--------------------+----------------+------------+-----+
 *   in half h = e/128, with r = e%128, p = r/32 (0..3), l = r%32:
 *     low 4 bits: ql[64h + 32*(p&1) + l], low nibble for p<2, high for p>=2
 *     high 2 bits: (qh[plane_byte(e)] >> plane_shift(e)) & 3
 *   scale s = e/16
 *
 * SPEC: x[e] = (d * scales[s]) * (q - 32)        (q in 0..63)
 */
void quants_dequant_q6_k(const void *src, float *dst, int64_t n)
{
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        struct quants_blk_q6_k b;
        load_block(&b, src, i, sizeof b);
        const float d = half(b.d);
        for (int e = 0; e < QK_K; e++) {
            const int p = (e % 128) / 32;
            const uint8_t lbyte = b.ql[64 * (e / 128) + 32 * (p & 1) + e % 32];
            const int low = p < 2 ? lbyte & 0xf : lbyte >> 4;
            const int high = (b.qh[plane_byte(e)] >> plane_shift(e)) & 3;
            const float step = d * (float)b.scales[e / 16];
            dst[i * QK_K + e] = step * (float)((low | high << 4) - 32);
        }
    }
}

/*
 * Quantizer contract: ggml's quantize_row_q6_K_ref: each sub-block of 16
 * fitted symmetrically (nmax 32); the signed scales quantized to int8 as
 * scale * (-128 / s*) where s* is the scale of largest magnitude, with
 * d = fp16(s* / -128); then every code re-picked against d * scale. A
 * super-block whose scales are all below 1e-15 is written as all zeros.
 */
void quants_quant_q6_k(const float *src, void *dst, int64_t n)
{
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        uint8_t L[QK_K];
        float scale[16];
        float max_scale = 0, max_abs = 0;
        struct quants_blk_q6_k b;

        for (int s = 0; s < 16; s++) {
            scale[s] = fit_scale_sym(16, 32, x + 16 * s, L + 16 * s);
            if (fabsf(scale[s]) > max_abs) {
                max_abs = fabsf(scale[s]);
                max_scale = scale[s];
            }
        }
        if (max_abs < 1e-15f) {
            memset(&b, 0, sizeof b);
            b.d = dtype_fp32_to_fp16(0.0f);
            store_block(dst, i, &b, sizeof b);
            continue;
        }

        const float iscale = -128.f / max_scale;
        b.d = dtype_fp32_to_fp16(1 / iscale);
        for (int s = 0; s < 16; s++)
            b.scales[s] = wrap_i8(min_int(127, magic_round(iscale * scale[s])));

        const float d_all = half(b.d);
        for (int s = 0; s < 16; s++) {
            const float d = d_all * (float)b.scales[s];
            if (d == 0.0f)
                continue; /* keep the codes from the fit, as ggml does */
            for (int l = 0; l < 16; l++) {
                int q = magic_round(x[16 * s + l] / d);
                L[16 * s + l] = (uint8_t)(max_int(-32, min_int(31, q)) + 32);
            }
        }

        memset(b.ql, 0, sizeof b.ql);
        memset(b.qh, 0, sizeof b.qh);
        for (int e = 0; e < QK_K; e++) {
            const int p = (e % 128) / 32;
            uint8_t *lbyte = &b.ql[64 * (e / 128) + 32 * (p & 1) + e % 32];
            *lbyte = (uint8_t)(*lbyte | (L[e] & 0xf) << (p < 2 ? 0 : 4));
            b.qh[plane_byte(e)] = (uint8_t)(b.qh[plane_byte(e)] | (L[e] >> 4) << plane_shift(e));
        }
        store_block(dst, i, &b, sizeof b);
    }
}

/* ------------------------------------------------------------------------- */
/* Q8_K                                                                      */
/* ------------------------------------------------------------------------- */

/*
 * Q8_K: 256 weights in 292 bytes (the activation format of K-quant dots).
 *
 *   byte  0      4                                 260             292
 *         +------+---------------------------------+---------------+
 *         |  d   | qs[256]  int8                   | bsums[16] i16 |
 *         | f32  |                                 | sum of 16 qs  |
 *         +------+---------------------------------+---------------+
 *
 * SPEC: x[e] = d * q[e]
 */
void quants_dequant_q8_k(const void *src, float *dst, int64_t n)
{
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        struct quants_blk_q8_k b;
        load_block(&b, src, i, sizeof b);
        for (int e = 0; e < QK_K; e++)
            dst[i * QK_K + e] = b.d * (float)b.qs[e];
    }
}

/*
 * Quantizer contract: ggml's quantize_row_q8_K_ref: with m the element of
 * largest magnitude, iscale = -127/m, q = min(127, nearest(iscale * x))
 * (ties to even; q = -128 is possible for an element of the opposite sign),
 * d = 1/iscale stored as fp32, bsums the sums of each 16 codes. An all-zero
 * block is written as all zeros (ggml leaves its bsums unwritten).
 */
void quants_quant_q8_k(const float *src, void *dst, int64_t n)
{
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        struct quants_blk_q8_k b;
        float amax;
        const float m = signed_absmax(x, QK_K, &amax);
        if (amax == 0.0f) {
            memset(&b, 0, sizeof b);
            store_block(dst, i, &b, sizeof b);
            continue;
        }
        const float iscale = -127.f / m;
        for (int e = 0; e < QK_K; e++)
            b.qs[e] = wrap_i8(min_int(127, magic_round(iscale * x[e])));
        for (int g = 0; g < QK_K / 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++)
                sum += b.qs[16 * g + l];
            b.bsums[g] = (int16_t)sum;
        }
        b.d = 1 / iscale;
        store_block(dst, i, &b, sizeof b);
    }
}
