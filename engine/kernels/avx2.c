/*
 * avx2.c: the "avx2" kernel set: AVX2, FMA and F16C, accuracy class SIMD.
 *
 * This file is compiled with its own target flags (Makefile) and reached
 * only through kernels_registry.c, which offers the set only when cpuid and
 * the OS say the CPU can run it; the rest of plumb stays baseline x86-64.
 * The kernels themselves are simd_ops.h's, shared with avx512.c; this file
 * is their vector layer: a vector of 16 floats is two ymm registers (lo =
 * elements 0..7, hi = 8..15), and a dot product's partial sums are two ymm
 * registers: element i of every 32-element group goes to register (i/8) % 2.
 * The numerics, and which scalar function each kernel must match, are
 * described in simd_ops.h.
 */
#include "avx2.h"

#if defined(__x86_64__)

#include <immintrin.h>

#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "avx2.c must be compiled with -mavx2 -mfma -mf16c (see Makefile)"
#endif

#include "simd_codes.h"

#define SIMD_DEC_R 4 /* decode tile: 4 rows x 1 token = 8 accumulators */
#define SIMD_DEC_T 1
#define SIMD_BAT_R 6 /* batch micro-kernel: 6 rows x 1 token = 12 accumulators (measured */
#define SIMD_BAT_T 1 /* best: 2x2, 3x2 and 2x3 tiles spill at 16 registers) */
#define SIMD_KC 512  /* batch path: elements of a row dequantized at a time */

typedef struct {
    __m256 lo, hi;
} vhalf;

SIMD_INLINE vhalf vh_make(__m256 lo, __m256 hi)
{
    vhalf v = {lo, hi};
    return v;
}

SIMD_INLINE vhalf vh_loadu(const float *p) { return vh_make(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)); }

SIMD_INLINE void vh_storeu(float *p, vhalf v)
{
    _mm256_storeu_ps(p, v.lo);
    _mm256_storeu_ps(p + 8, v.hi);
}

SIMD_INLINE void vh_keep(vhalf *v) { (void)v; } /* 16 registers: let the compiler choose */
SIMD_INLINE vhalf vh_set1(float a) { return vh_make(_mm256_set1_ps(a), _mm256_set1_ps(a)); }
SIMD_INLINE vhalf vh_add(vhalf a, vhalf b) { return vh_make(_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)); }
SIMD_INLINE vhalf vh_sub(vhalf a, vhalf b) { return vh_make(_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)); }
SIMD_INLINE vhalf vh_mul(vhalf a, vhalf b) { return vh_make(_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)); }
SIMD_INLINE vhalf vh_max(vhalf a, vhalf b) { return vh_make(_mm256_max_ps(a.lo, b.lo), _mm256_max_ps(a.hi, b.hi)); }

SIMD_INLINE vhalf vh_fma(vhalf a, vhalf b, vhalf c)
{
    return vh_make(_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi));
}

SIMD_INLINE float vh_hmax(vhalf v)
{
    __m256 a = _mm256_max_ps(v.lo, v.hi);
    __m128 b = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_max_ps(b, _mm_movehl_ps(b, b));
    b = _mm_max_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(b);
}

SIMD_INLINE bool vh_outside(vhalf x, float lo, float hi)
{
    __m256 l = _mm256_set1_ps(lo), h = _mm256_set1_ps(hi);
    __m256 in_lo = _mm256_and_ps(_mm256_cmp_ps(x.lo, l, _CMP_GE_OQ), _mm256_cmp_ps(x.lo, h, _CMP_LE_OQ));
    __m256 in_hi = _mm256_and_ps(_mm256_cmp_ps(x.hi, l, _CMP_GE_OQ), _mm256_cmp_ps(x.hi, h, _CMP_LE_OQ));
    return _mm256_movemask_ps(_mm256_and_ps(in_lo, in_hi)) != 0xff;
}

SIMD_INLINE vhalf vh_from_i8(__m128i c)
{
    return vh_make(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c)),
                   _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(c, 8))));
}

SIMD_INLINE vhalf vh_from_f16(const uint8_t *p)
{
    return vh_make(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p)),
                   _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p + 16))));
}

SIMD_INLINE vhalf vh_from_bf16(const uint8_t *p)
{
    __m256i lo = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));
    __m256i hi = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)));
    return vh_make(_mm256_castsi256_ps(_mm256_slli_epi32(lo, 16)),
                   _mm256_castsi256_ps(_mm256_slli_epi32(hi, 16)));
}

/* (x0, x1, x2, x3, ...) -> (x1, x0, x3, x2, ...) */
SIMD_INLINE vhalf vh_swap_pairs(vhalf v)
{
    return vh_make(_mm256_permute_ps(v.lo, 0xb1), _mm256_permute_ps(v.hi, 0xb1));
}

/* 8 floats p[0..7] -> (p0, p0, p1, p1, ..., p7, p7) */
SIMD_INLINE vhalf vh_dup_pairs(const float *p)
{
    const __m256i idx = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    return vh_make(_mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(p)), idx),
                   _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(p + 4)), idx));
}

/* Flip the sign bit of lanes 0, 2, 4, ... (exact negation). */
SIMD_INLINE vhalf vh_negate_even(vhalf v)
{
    const __m256 sign = _mm256_castsi256_ps(
        _mm256_setr_epi32(INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0, INT32_MIN, 0));
    return vh_make(_mm256_xor_ps(v.lo, sign), _mm256_xor_ps(v.hi, sign));
}

struct vacc {
    __m256 v[2];
};

SIMD_INLINE void vacc_zero(struct vacc *a) { a->v[0] = a->v[1] = _mm256_setzero_ps(); }

/* Both half-groups feed the same two registers: elements 0..7 of a half to
 * v[0], 8..15 to v[1], i.e. element i of the group to (i/8) % 2. */
SIMD_INLINE void vacc_fma(struct vacc *a, int h, vhalf w, vhalf x)
{
    (void)h;
    a->v[0] = _mm256_fmadd_ps(w.lo, x.lo, a->v[0]);
    a->v[1] = _mm256_fmadd_ps(w.hi, x.hi, a->v[1]);
}

/* (v0 + v1), then 8 -> 4 -> 2 -> 1 lanes, upper half onto lower. */
SIMD_INLINE float vacc_sum(const struct vacc *a)
{
    __m256 s8 = _mm256_add_ps(a->v[0], a->v[1]);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_movehdup_ps(s2));
    return _mm_cvtss_f32(s1);
}

typedef __m256d vdbl;
#define VD_PER_HALF 4

SIMD_INLINE vdbl vd_set1(double a) { return _mm256_set1_pd(a); }
SIMD_INLINE vdbl vd_add(vdbl a, vdbl b) { return _mm256_add_pd(a, b); }
SIMD_INLINE vdbl vd_sub(vdbl a, vdbl b) { return _mm256_sub_pd(a, b); }
SIMD_INLINE vdbl vd_mul(vdbl a, vdbl b) { return _mm256_mul_pd(a, b); }
SIMD_INLINE vdbl vd_div(vdbl a, vdbl b) { return _mm256_div_pd(a, b); }
SIMD_INLINE vdbl vd_neg(vdbl a) { return _mm256_xor_pd(a, _mm256_set1_pd(-0.0)); }

SIMD_INLINE void vd_widen(vhalf x, vdbl d[VD_PER_HALF])
{
    d[0] = _mm256_cvtps_pd(_mm256_castps256_ps128(x.lo));
    d[1] = _mm256_cvtps_pd(_mm256_extractf128_ps(x.lo, 1));
    d[2] = _mm256_cvtps_pd(_mm256_castps256_ps128(x.hi));
    d[3] = _mm256_cvtps_pd(_mm256_extractf128_ps(x.hi, 1));
}

SIMD_INLINE vhalf vh_narrow(const vdbl d[VD_PER_HALF])
{
    return vh_make(_mm256_set_m128(_mm256_cvtpd_ps(d[1]), _mm256_cvtpd_ps(d[0])),
                   _mm256_set_m128(_mm256_cvtpd_ps(d[3]), _mm256_cvtpd_ps(d[2])));
}

/* k = (int32)(kd + copysign(0.5, kd)): mathfn.c's kd >= 0 ? kd + 0.5 : kd - 0.5
 * (they differ only for kd = -0, where both give 0), and p2 = 2^k built
 * from its exponent bits. |kd| < 2^31 is the caller's business. */
SIMD_INLINE void vd_round_pow2(vdbl kd, vdbl *k, vdbl *p2)
{
    vdbl half = _mm256_or_pd(_mm256_and_pd(kd, _mm256_set1_pd(-0.0)), _mm256_set1_pd(0.5));
    __m128i k32 = _mm256_cvttpd_epi32(_mm256_add_pd(kd, half));
    *k = _mm256_cvtepi32_pd(k32);
    __m256i e = _mm256_add_epi64(_mm256_cvtepi32_epi64(k32), _mm256_set1_epi64x(1023));
    *p2 = _mm256_castsi256_pd(_mm256_slli_epi64(e, 52));
}

#include "simd_ops.h"

static const struct plumb_kernels avx2_set = SIMD_KERNEL_SET("avx2");

const struct plumb_kernels *kernels_avx2(void)
{
    return &avx2_set;
}

#else /* not x86-64: the registry does not list this set */

typedef int avx2_unused; /* ISO C wants a translation unit to declare something */

#endif
