/*
 * avx512.c: the "avx512" kernel set: AVX-512 F, BW and VL (with AVX2, FMA
 * and F16C), accuracy class SIMD.
 *
 * This file is compiled with its own target flags (Makefile) and reached
 * only through kernels_registry.c, which offers the set only when cpuid and
 * the OS say the CPU can run it; the rest of plumb stays baseline x86-64.
 * The kernels themselves are simd_ops.h's, shared with avx2.c; this file is
 * their vector layer: a vector of 16 floats is one zmm register, and a dot
 * product's partial sums are two zmm registers (half-group h of every
 * 32-element group into register h). The numerics, and which scalar
 * function each kernel must match, are described in simd_ops.h.
 */
#include "avx512.h"

#if defined(__x86_64__)

#include <immintrin.h>

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || !defined(__FMA__) || \
    !defined(__F16C__)
#error "avx512.c must be compiled with -mavx512f -mavx512bw -mavx512vl -mavx2 -mfma -mf16c (see Makefile)"
#endif

#include "simd_codes.h"

#define SIMD_DEC_R 4 /* decode tile: 4 rows, 1 or 2 tokens (16 accumulators at most) */
#define SIMD_DEC_T 2
#define SIMD_BAT_R 6 /* batch micro-kernel: 6 rows x 2 tokens = 24 accumulators, */
#define SIMD_BAT_T 2 /* + 6 weight vectors held (vh_keep) + 1 activation vector */
#define SIMD_KC 512  /* batch path: elements of a row dequantized at a time */

typedef __m512 vhalf;

SIMD_INLINE vhalf vh_loadu(const float *p) { return _mm512_loadu_ps(p); }
SIMD_INLINE void vh_storeu(float *p, vhalf v) { _mm512_storeu_ps(p, v); }
SIMD_INLINE vhalf vh_set1(float a) { return _mm512_set1_ps(a); }
SIMD_INLINE vhalf vh_add(vhalf a, vhalf b) { return _mm512_add_ps(a, b); }
SIMD_INLINE vhalf vh_sub(vhalf a, vhalf b) { return _mm512_sub_ps(a, b); }
SIMD_INLINE vhalf vh_mul(vhalf a, vhalf b) { return _mm512_mul_ps(a, b); }
SIMD_INLINE vhalf vh_fma(vhalf a, vhalf b, vhalf c) { return _mm512_fmadd_ps(a, b, c); }
SIMD_INLINE vhalf vh_max(vhalf a, vhalf b) { return _mm512_max_ps(a, b); }

/* Holds v in a register from here on: gcc otherwise reloads the batch
 * kernel's weight vectors as a memory operand of every FMA (measured on
 * q4_0 at 32 tokens, 6x2 tile: 77 instead of 63 GMAC/s on one core).
 * Changes no value. */
SIMD_INLINE void vh_keep(vhalf *v) { __asm__("" : "+v"(*v)); }

SIMD_INLINE float vh_hmax(vhalf v)
{
    __m256 a = _mm256_max_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 b = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_max_ps(b, _mm_movehl_ps(b, b));
    b = _mm_max_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(b);
}

SIMD_INLINE bool vh_outside(vhalf x, float lo, float hi)
{
    __mmask16 in = _mm512_cmp_ps_mask(x, _mm512_set1_ps(lo), _CMP_GE_OQ) &
                   _mm512_cmp_ps_mask(x, _mm512_set1_ps(hi), _CMP_LE_OQ);
    return in != 0xffff;
}

SIMD_INLINE vhalf vh_from_i8(__m128i c) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(c)); }

SIMD_INLINE vhalf vh_from_f16(const uint8_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
}

SIMD_INLINE vhalf vh_from_bf16(const uint8_t *p)
{
    __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}

/* (x0, x1, x2, x3, ...) -> (x1, x0, x3, x2, ...) */
SIMD_INLINE vhalf vh_swap_pairs(vhalf v) { return _mm512_permute_ps(v, 0xb1); }

/* 8 floats p[0..7] -> (p0, p0, p1, p1, ..., p7, p7) */
SIMD_INLINE vhalf vh_dup_pairs(const float *p)
{
    const __m512i idx = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    return _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(_mm256_loadu_ps(p)));
}

/* Flip the sign bit of lanes 0, 2, 4, ... (exact negation). */
SIMD_INLINE vhalf vh_negate_even(vhalf v)
{
    const __m512i sign = _mm512_setr_epi32(INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0,
                                           INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0);
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(v), sign));
}

/* Table lookups for the 4- and 5-bit formats (simd_ops.h: struct simd_block). */
#define SIMD_LUT 1

/* (base, base + 1, ..., base + 15), exact */
SIMD_INLINE vhalf vh_iota(float base)
{
    return _mm512_add_ps(_mm512_set1_ps(base),
                         _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

/* lut[nibble] for the low (hi = 0) or high nibbles of 16 bytes at p:
 * vpermps reads only bits 3..0 of each index lane. */
SIMD_INLINE vhalf vh_lut_nibbles(vhalf lut, const uint8_t *p, int hi)
{
    __m512i i = _mm512_cvtepu8_epi32(simd_load16(p));
    if (hi)
        i = _mm512_srli_epi32(i, 4);
    return _mm512_permutexvar_ps(i, lut);
}

/* As vh_lut_nibbles, with a fifth bit per element (bit j of bits for
 * element j) choosing the upper table: lut_lo[nib] or lut_hi[nib]. */
SIMD_INLINE vhalf vh_lut_fives(vhalf lut_lo, vhalf lut_hi, const uint8_t *p, int hi, uint32_t bits)
{
    __m512i i = _mm512_cvtepu8_epi32(simd_load16(p));
    if (hi)
        i = _mm512_srli_epi32(i, 4);
    return _mm512_mask_permutexvar_ps(_mm512_permutexvar_ps(i, lut_lo), (__mmask16)bits, i, lut_hi);
}

/* Bit g of each of the 16 bytes at p, as a 16-bit mask. */
SIMD_INLINE uint32_t vh_byte_bits(const uint8_t *p, int g)
{
    return _mm_test_epi8_mask(simd_load16(p), _mm_set1_epi8((char)(1 << g)));
}

struct vacc {
    __m512 v[2];
};

SIMD_INLINE void vacc_zero(struct vacc *a) { a->v[0] = a->v[1] = _mm512_setzero_ps(); }

SIMD_INLINE void vacc_fma(struct vacc *a, int h, vhalf w, vhalf x)
{
    a->v[h] = _mm512_fmadd_ps(w, x, a->v[h]);
}

/* (v0 + v1), then 16 -> 8 -> 4 -> 2 -> 1 lanes, upper half onto lower. */
SIMD_INLINE float vacc_sum(const struct vacc *a)
{
    __m512 v = _mm512_add_ps(a->v[0], a->v[1]);
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v),
                              _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_movehdup_ps(s2));
    return _mm_cvtss_f32(s1);
}

typedef __m512d vdbl;
#define VD_PER_HALF 2

SIMD_INLINE vdbl vd_set1(double a) { return _mm512_set1_pd(a); }
SIMD_INLINE vdbl vd_add(vdbl a, vdbl b) { return _mm512_add_pd(a, b); }
SIMD_INLINE vdbl vd_sub(vdbl a, vdbl b) { return _mm512_sub_pd(a, b); }
SIMD_INLINE vdbl vd_mul(vdbl a, vdbl b) { return _mm512_mul_pd(a, b); }
SIMD_INLINE vdbl vd_div(vdbl a, vdbl b) { return _mm512_div_pd(a, b); }

SIMD_INLINE vdbl vd_neg(vdbl a)
{
    return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(a),
                                                _mm512_set1_epi64(INT64_MIN)));
}

SIMD_INLINE void vd_widen(vhalf x, vdbl d[VD_PER_HALF])
{
    d[0] = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
    d[1] = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
}

SIMD_INLINE vhalf vh_narrow(const vdbl d[VD_PER_HALF])
{
    __m256 lo = _mm512_cvtpd_ps(d[0]), hi = _mm512_cvtpd_ps(d[1]);
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)),
                                               _mm256_castps_pd(hi), 1));
}

/* k = (int32)(kd + copysign(0.5, kd)): mathfn.c's kd >= 0 ? kd + 0.5 : kd - 0.5
 * (they differ only for kd = -0, where both give 0), and p2 = 2^k built
 * from its exponent bits. |kd| < 2^31 is the caller's business. */
SIMD_INLINE void vd_round_pow2(vdbl kd, vdbl *k, vdbl *p2)
{
    __m512i sign = _mm512_and_si512(_mm512_castpd_si512(kd), _mm512_set1_epi64(INT64_MIN));
    vdbl half = _mm512_castsi512_pd(_mm512_or_si512(sign, _mm512_castpd_si512(_mm512_set1_pd(0.5))));
    __m256i k32 = _mm512_cvttpd_epi32(_mm512_add_pd(kd, half));
    *k = _mm512_cvtepi32_pd(k32);
    __m512i e = _mm512_add_epi64(_mm512_cvtepi32_epi64(k32), _mm512_set1_epi64(1023));
    *p2 = _mm512_castsi512_pd(_mm512_slli_epi64(e, 52));
}

#include "simd_ops.h"

static const struct plumb_kernels avx512_set = SIMD_KERNEL_SET("avx512");

const struct plumb_kernels *kernels_avx512(void)
{
    return &avx512_set;
}

#else /* not x86-64: the registry does not list this set */

typedef int avx512_unused; /* ISO C wants a translation unit to declare something */

#endif
