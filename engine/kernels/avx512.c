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

/* The decode path of the 4-, 5- and 6-bit formats is this file's own (below). */
static bool avx512_decode(int type, float *out, int64_t out_stride, const void *w, size_t row_size,
                          const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1);
#define SIMD_OWN_DECODE avx512_decode

#include "simd_ops.h"

/*
 * The decode tile (1 or 2 tokens) of Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and
 * Q6_K: simd_tile's arithmetic with fewer instructions per weight.
 *
 * Numerics: exactly simd_tile's. Every weight is dequantized to the same
 * float as simd_decode gives (and quants.c), each lane of the two partial
 * sum registers gets the same FMAs in the same order, and the registers are
 * added by vacc_sum. So the contract of simd_ops.h (same bits for any thread
 * split, batch or path) holds unchanged; tests/test_kernels.c checks it
 * (batch against decode, row splits, one-hot reads of every weight).
 *
 * Why: on this set's CPUs these matvecs are compute-bound, not memory-bound
 * (a 14336 x 4096 Q4_0 product took ~0.9 ms on two Zen 5 cores, below the
 * memory's read rate), and every vector instruction per weight counts,
 * shuffles and integer ops as much as FMAs. What changed from simd_tile, in
 * G weights/s on one core, 512 x 4096 matrix in cache, before -> after:
 * Q4_0 45 -> 50, Q4_1 33 -> 40, Q5_0 27 -> 32, Q5_1 22 -> 26, Q4_K 30 -> 38,
 * Q5_K 21 -> 27, Q6_K 18 -> 21.
 * - legacy blocks: the f16 scales (and minimums) of a chunk of 12 to 16
 *   blocks of a row are picked out of two 128-byte windows by word permutes
 *   and converted by one vcvtph2ps, instead of an insert, a convert and a
 *   broadcast per block; each block's table is then one multiply (or FMA)
 *   by a scale broadcast from memory. (A vpgatherdd for the same was slower
 *   on Zen 5; so was broadcasting the code bytes to all four 128-bit lanes
 *   and shifting per lane, in a transposed lane order, instead of widening
 *   them with vpmovzxbd.)
 * - tables with a bias (Q4_1, Q5_1, Q4_K, Q5_K): one FMA, not a multiply
 *   and an add (same bits: avx512_lut).
 * - 5-bit codes: one vpermt2ps on a 5-bit index (the fifth bit rotated into
 *   bit 4 and merged by one vpternlogd) instead of two vpermps and a mask.
 * - Q4_K/Q5_K: a chunk's 32 code bytes widened once for both of its
 *   sub-blocks; the scales of a block in one 16-lane pass.
 * - Q6_K: row by row, each widened byte vector serving 2 (ql) or 4 (qh)
 *   half-groups, the code assembled as a float by two vpternlogd.
 * - from memory: each row's bytes prefetched AVX512_AHEAD ahead.
 */

#define AVX512_CHUNK_MAX 16 /* legacy blocks whose scales are converted at once */

/* Legacy blocks per chunk: twice G, the blocks whose f16 scale (and
 * minimum) fall in a 128-byte window, the tables of a two-register vpermt2w:
 * G = 8 for Q4_0, 7 for Q4_1, 6 for Q5_0 and Q5_1. G blocks span at least
 * 128 bytes, so the second window ends inside the chunk. */
SIMD_INLINE int avx512_chunk(int type)
{
    const int bb = (int)simd_block_bytes(type), f16s = simd_has_bias(type) ? 2 : 1;
    return 2 * ((128 - 2 * f16s) / bb + 1);
}

/* The scale (and, for Q4_1/Q5_1, the minimum: the f16 after it) of each of
 * the avx512_chunk(type) legacy blocks from blk, as floats in d[] and m[]:
 * the f16s picked out of two 128-byte windows (blocks 0..G-1 and G..2G-1)
 * by word permutes, then dtype's conversion, exactly (F16C). Reads only
 * bytes of the chunk. */
SIMD_INLINE void avx512_block_scales(int type, const uint8_t *blk, float *d, float *m)
{
    /* word index of block p % G's scale in its window, for p < 2G */
    static const short ix[4][32] __attribute__((aligned(64))) = {
        {0, 9, 18, 27, 36, 45, 54, 63, 0, 9, 18, 27, 36, 45, 54, 63}, /* Q4_0: 18 bytes, G = 8 */
        {0, 10, 20, 30, 40, 50, 60, 0, 10, 20, 30, 40, 50, 60},       /* Q4_1: 20 bytes, G = 7 */
        {0, 11, 22, 33, 44, 55, 0, 11, 22, 33, 44, 55},               /* Q5_0: 22 bytes, G = 6 */
        {0, 12, 24, 36, 48, 60, 0, 12, 24, 36, 48, 60},               /* Q5_1: 24 bytes, G = 6 */
    };
    const int t = type == PLUMB_TYPE_Q4_0   ? 0
                  : type == PLUMB_TYPE_Q4_1 ? 1
                  : type == PLUMB_TYPE_Q5_0 ? 2
                                            : 3;
    const int G = avx512_chunk(type) / 2;
    const size_t second = (size_t)G * simd_block_bytes(type);
    const __m512i idx = _mm512_load_si512(ix[t]);
    const __mmask32 upper = (__mmask32)(((1u << G) - 1) << G); /* words from the second window */
    const __m512i a0 = _mm512_loadu_si512(blk), a1 = _mm512_loadu_si512(blk + 64);
    const __m512i b0 = _mm512_loadu_si512(blk + second), b1 = _mm512_loadu_si512(blk + second + 64);
    __m512i v = _mm512_mask_blend_epi16(upper, _mm512_permutex2var_epi16(a0, idx, a1),
                                        _mm512_permutex2var_epi16(b0, idx, b1));
    _mm512_storeu_ps(d, _mm512_cvtph_ps(_mm512_castsi512_si256(v)));
    if (simd_has_bias(type)) {
        const __m512i idx1 = _mm512_add_epi16(idx, _mm512_set1_epi16(1));
        v = _mm512_mask_blend_epi16(upper, _mm512_permutex2var_epi16(a0, idx1, a1),
                                    _mm512_permutex2var_epi16(b0, idx1, b1));
        _mm512_storeu_ps(m, _mm512_cvtph_ps(_mm512_castsi512_si256(v)));
    }
}

/* 16 bytes at p widened to dwords (zero-extended). */
SIMD_INLINE __m512i avx512_widen16(const uint8_t *p)
{
    return _mm512_cvtepu8_epi32(simd_load16(p));
}

/* Table indices from widened code bytes: the low (hi = 0) or high nibble
 * in bits 3..0 (bits above are left over: vpermps reads bits 3..0). */
SIMD_INLINE __m512i avx512_nibbles(__m512i bytes, int hi)
{
    return hi ? _mm512_srli_epi32(bytes, 4) : bytes;
}

/* A 5-bit table index: bits 3..0 from nib, the rest from bits, which holds
 * the element's fifth bit in bit 4 (bits above are left over: vpermt2ps
 * reads bits 4..0). vpternlogd 0xe4 is c ? a : b bit by bit, c = 0x0f. */
SIMD_INLINE __m512i avx512_five_idx(__m512i nib, __m512i bits)
{
    return _mm512_ternarylogic_epi32(nib, bits, _mm512_set1_epi32(0x0f), 0xe4);
}

/* Q5_0/Q5_1: the fifth bit of element 16h + p of the block is bit 16h + p
 * of its qh word: rotated right by 16h + p - 4 (mod 32) into bit 4. */
SIMD_INLINE __m512i avx512_qh_bits(uint32_t qh, int h)
{
    const __m512i rot = _mm512_setr_epi32(-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    return _mm512_rorv_epi32(_mm512_set1_epi32((int)qh),
                             _mm512_add_epi32(rot, _mm512_set1_epi32(16 * h)));
}

/* Q6_K codes as floats code - 32, exact: ql, the widened ql bytes of the
 * half-group (the code's low nibble: low (hi = 0) or high nibbles), qh, its
 * widened qh bytes (bits 5..4: plane p, bits 2p+1..2p). The two are merged
 * by two vpternlogd into the float 2^23 + code (exponent bits 0x4b000000,
 * the code in the low mantissa bits), then 2^23 + 32 is subtracted: one
 * exact subtraction instead of an integer subtraction and a conversion. */
SIMD_INLINE __m512 avx512_q6_values(__m512i ql, int hi, __m512i qh, int p)
{
    const __m512i low = avx512_nibbles(ql, hi);
    __m512i high = p < 2   ? _mm512_slli_epi32(qh, 4 - 2 * p)
                   : p > 2 ? _mm512_srli_epi32(qh, 2 * p - 4)
                           : qh;
    /* (high & 0x30) | 0x4b000000: vpternlogd 0xea is (a & b) | c */
    high = _mm512_ternarylogic_epi32(high, _mm512_set1_epi32(0x30), _mm512_set1_epi32(0x4b000000),
                                     0xea);
    /* bits 3..0 from low, the rest from high: 0xe4 is c ? a : b */
    const __m512i code = _mm512_ternarylogic_epi32(low, high, _mm512_set1_epi32(0x0f), 0xe4);
    return _mm512_sub_ps(_mm512_castsi512_ps(code), _mm512_set1_ps(0x1p23f + 32.0f));
}

/*
 * The table of codes part*16 .. part*16+15 of a scale group with scale (or
 * step) d and bias m: lut[i] = (float)(16*part + i - offset) * d + m, the
 * value simd_lut (and quants.c) computes with a multiply and an add. Here it
 * is one FMA, with the same result: the product is exact (d is an f16, or
 * for Q4_K/Q5_K an f16 times a 6-bit scale, at most 17 significant bits,
 * times a code of at most 5 bits: 22 bits fit a float's 24), so rounding
 * it first changes nothing, and the sum is rounded once either way.
 * (0 * inf is NaN in both.) tests/test_kernels.c's one-hot reads pin it.
 */
SIMD_INLINE __m512 avx512_lut(int type, float d, float m, int part)
{
    const float off = type == PLUMB_TYPE_Q4_0 ? 8.0f : type == PLUMB_TYPE_Q5_0 ? 16.0f : 0.0f;
    const __m512 codes = vh_iota((float)(16 * part) - off);
    if (!simd_has_bias(type))
        return _mm512_mul_ps(codes, _mm512_set1_ps(d));
    return _mm512_fmadd_ps(codes, _mm512_set1_ps(d), _mm512_set1_ps(m));
}

/* Rows per tile, as SIMD_DEC_R: 4 streams per thread. (8 rows, the
 * activations loaded once per 8, ran Q4_0 10% faster in cache but 10-20%
 * slower from memory; 2 rows were slower either way.) */
#define AVX512_DEC_R 4

/* One legacy block (bi) of R rows times T tokens: acc[r][t][h] += the
 * block's half-group h times token t's activations. d, m: the block's scale
 * and minimum for each row. */
SIMD_INLINE void avx512_legacy_block(int type, int R, int T, __m512 acc[][SIMD_DEC_T][2],
                                     const uint8_t *w, size_t rstride, int64_t bi,
                                     const float *x, int64_t n, const float *d, const float *m)
{
    const size_t bb = simd_block_bytes(type);
    const bool five = type == PLUMB_TYPE_Q5_0 || type == PLUMB_TYPE_Q5_1;
    __m512 xv[SIMD_DEC_T][2];
    SIMD_UNROLL for (int t = 0; t < T; t++) {
        SIMD_UNROLL for (int h = 0; h < 2; h++)
            xv[t][h] = _mm512_loadu_ps(x + t * n + bi * 32 + 16 * h);
    }
    SIMD_UNROLL for (int r = 0; r < R; r++) {
        const uint8_t *blk = w + (size_t)r * rstride + (size_t)bi * bb;
        const __m512 lut0 = avx512_lut(type, d[r], m[r], 0);
        __m512 wv[2];
        if (!five) {
            const __m512i q = avx512_widen16(blk + (type == PLUMB_TYPE_Q4_0 ? 2 : 4));
            SIMD_UNROLL for (int h = 0; h < 2; h++)
                wv[h] = _mm512_permutexvar_ps(avx512_nibbles(q, h), lut0);
        } else {
            const __m512 lut1 = avx512_lut(type, d[r], m[r], 1);
            const size_t qh_off = type == PLUMB_TYPE_Q5_0 ? 2 : 4; /* qs follow qh */
            const __m512i q = avx512_widen16(blk + qh_off + 4);
            const uint32_t qh = simd_u32(blk + qh_off);
            SIMD_UNROLL for (int h = 0; h < 2; h++) {
                const __m512i i = avx512_five_idx(avx512_nibbles(q, h), avx512_qh_bits(qh, h));
                wv[h] = _mm512_permutex2var_ps(lut0, i, lut1);
            }
        }
        SIMD_UNROLL for (int t = 0; t < T; t++) {
            SIMD_UNROLL for (int h = 0; h < 2; h++)
                acc[r][t][h] = _mm512_fmadd_ps(wv[h], xv[t][h], acc[r][t][h]);
        }
    }
}

/* Q4_K/Q5_K's steps (d * sc, k[0..8)) and biases (-(dmin * mn), k[8..16))
 * as simd_setup_k computes them (the same products, exactly), in one
 * 16-lane pass instead of four 4-lane ones. */
SIMD_INLINE void avx512_setup_k(const uint8_t *blk, float k[16])
{
    uint32_t sc_w[2], mn_w[2];
    simd_k_scale_words(blk, sc_w, mn_w);
    const __m128i bytes = _mm_set_epi64x((long long)((uint64_t)mn_w[1] << 32 | mn_w[0]),
                                         (long long)((uint64_t)sc_w[1] << 32 | sc_w[0]));
    /* (d, dmin) pairs from the block's first 4 bytes, then d x 8, dmin x 8 */
    const __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128((int)simd_u32(blk)));
    const __m512i pick = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512 dm = _mm512_permutexvar_ps(pick, _mm512_castps128_ps512(dd));
    const __m512 prod = _mm512_mul_ps(dm, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)));
    /* negation flips the sign bit only, as -x does */
    const __m512i sign = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, INT32_MIN, INT32_MIN, INT32_MIN,
                                           INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN);
    _mm512_storeu_ps(k, _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(prod), sign)));
}

/*
 * One Q6_K block (bi) of R rows times T tokens, as avx512_legacy_block;
 * k: each row's 16 sub-block steps (simd_setup). w = (float)(code - 32) *
 * step, as simd_decode. Row by row, so that a row's widened qh bytes serve
 * the four planes and its ql bytes both nibbles (the activations are
 * reloaded per row, from L1). Each accumulator still takes its half-groups
 * in index order: hg = 8hh + 2p + l0/16 goes to accumulator hg & 1.
 */
SIMD_INLINE void avx512_q6_block(int R, int T, __m512 acc[][SIMD_DEC_T][2], const uint8_t *w,
                                 size_t rstride, int64_t bi, const float *x, int64_t n,
                                 const float k[][16])
{
    const size_t bb = simd_block_bytes(PLUMB_TYPE_Q6_K);
    const float *xb = x + bi * 256;
    SIMD_UNROLL for (int r = 0; r < R; r++) {
        const uint8_t *blk = w + (size_t)r * rstride + (size_t)bi * bb;
        SIMD_UNROLL for (int hh = 0; hh < 2; hh++) {
            SIMD_UNROLL for (int h = 0; h < 2; h++) { /* l0 = 16h */
                const __m512i qh = avx512_widen16(blk + 128 + 32 * hh + 16 * h);
                const __m512i ql[2] = {avx512_widen16(blk + 64 * hh + 16 * h),
                                       avx512_widen16(blk + 64 * hh + 32 + 16 * h)};
                SIMD_UNROLL for (int p = 0; p < 4; p++) {
                    const int hg = 8 * hh + 2 * p + h;
                    const __m512 wv = _mm512_mul_ps(avx512_q6_values(ql[p & 1], p >= 2, qh, p),
                                                    _mm512_set1_ps(k[r][hg]));
                    SIMD_UNROLL for (int t = 0; t < T; t++) {
                        const __m512 xv = _mm512_loadu_ps(xb + t * n + 16 * hg);
                        acc[r][t][h] = _mm512_fmadd_ps(wv, xv, acc[r][t][h]);
                    }
                }
            }
        }
    }
}

/* Chunk c (64 elements: sub-blocks 2c and 2c+1, the low and high nibbles of
 * the same 32 bytes, widened once) of a Q4_K/Q5_K block (bi) of R rows
 * times T tokens; k: each row's avx512_setup_k. */
SIMD_INLINE void avx512_k_chunk(int type, int R, int T, __m512 acc[][SIMD_DEC_T][2],
                                const uint8_t *w, size_t rstride, int64_t bi, const float *x,
                                int64_t n, const float k[][16], int c)
{
    const size_t bb = simd_block_bytes(type), qs = type == PLUMB_TYPE_Q4_K ? 16 : 48;
    __m512 xv[2][SIMD_DEC_T][2]; /* [sub-block of the chunk][token][half] */
    SIMD_UNROLL for (int sb = 0; sb < 2; sb++) {
        SIMD_UNROLL for (int t = 0; t < T; t++) {
            SIMD_UNROLL for (int h = 0; h < 2; h++)
                xv[sb][t][h] = _mm512_loadu_ps(x + t * n + bi * 256 + 64 * c + 32 * sb + 16 * h);
        }
    }
    SIMD_UNROLL for (int r = 0; r < R; r++) {
        const uint8_t *blk = w + (size_t)r * rstride + (size_t)bi * bb;
        __m512i q[2], qh[2];
        SIMD_UNROLL for (int h = 0; h < 2; h++) {
            q[h] = avx512_widen16(blk + qs + 32 * c + 16 * h);
            if (type == PLUMB_TYPE_Q5_K)
                qh[h] = avx512_widen16(blk + 16 + 16 * h);
        }
        SIMD_UNROLL for (int sb = 0; sb < 2; sb++) {
            const int g = 2 * c + sb;
            const __m512 lut0 = avx512_lut(type, k[r][g], k[r][8 + g], 0);
            __m512 wv[2];
            if (type == PLUMB_TYPE_Q4_K) {
                SIMD_UNROLL for (int h = 0; h < 2; h++)
                    wv[h] = _mm512_permutexvar_ps(avx512_nibbles(q[h], sb), lut0);
            } else { /* Q5_K: the fifth bit of element l is bit g of qh byte l */
                const __m512 lut1 = avx512_lut(type, k[r][g], k[r][8 + g], 1);
                SIMD_UNROLL for (int h = 0; h < 2; h++) {
                    const __m512i bits = _mm512_rorv_epi32(qh[h], _mm512_set1_epi32(g - 4));
                    const __m512i i = avx512_five_idx(avx512_nibbles(q[h], sb), bits);
                    wv[h] = _mm512_permutex2var_ps(lut0, i, lut1);
                }
            }
            SIMD_UNROLL for (int t = 0; t < T; t++) {
                SIMD_UNROLL for (int h = 0; h < 2; h++)
                    acc[r][t][h] = _mm512_fmadd_ps(wv[h], xv[sb][t][h], acc[r][t][h]);
            }
        }
    }
}

/* One K block (bi, 256 elements) of R rows times T tokens. The loop over
 * Q4_K/Q5_K's four chunks is not unrolled (unrolled, they ran 10-40% slower:
 * the code grows past what the core holds well); Q6_K's block is (its
 * shifts must be immediates). */
SIMD_INLINE void avx512_k_block(int type, int R, int T, __m512 acc[][SIMD_DEC_T][2],
                                const uint8_t *w, size_t rstride, int64_t bi, const float *x,
                                int64_t n)
{
    const size_t bb = simd_block_bytes(type);
    float k[AVX512_DEC_R][16];
    if (type == PLUMB_TYPE_Q6_K) {
        SIMD_UNROLL for (int r = 0; r < R; r++) {
            struct simd_scales s;
            simd_setup(type, w + (size_t)r * rstride + (size_t)bi * bb, &s);
            memcpy(k[r], s.scale, sizeof k[r]);
        }
        avx512_q6_block(R, T, acc, w, rstride, bi, x, n, (const float (*)[16])k);
        return;
    }
    SIMD_UNROLL for (int r = 0; r < R; r++)
        avx512_setup_k(w + (size_t)r * rstride + (size_t)bi * bb, k[r]);
    for (int c = 0; c < 4; c++)
        avx512_k_chunk(type, R, T, acc, w, rstride, bi, x, n, (const float (*)[16])k, c);
}

/*
 * How far ahead of the blocks being read each row's bytes are prefetched
 * (into L1, as each chunk or K block starts). From memory, the hardware
 * prefetcher alone left the core waiting: a 14336 x 4096 Q4_0 matvec on one
 * thread took 1.84 ms, about its compute time (1.09 ms, from the in-cache
 * rate) plus its transfer time (0.47 ms) instead of the larger of the two.
 * 1024 bytes (7 to 56 blocks) measured best of 512 to 4096, on two threads
 * at ~46 GB/s: Q4_0 70% -> 78% of the read rate, Q5_0 63% -> 80%, Q4_1 60%
 * -> 72%; the K formats gain less. Past a row's end it fetches the start of
 * the row the next tile reads in the same stream (rows S apart); past the
 * matrix it fetches nothing useful, and a prefetch never faults.
 */
#define AVX512_AHEAD 1024

/*
 * R rows (rstride bytes apart from w) times T tokens, as simd_tile (same
 * arguments, same results). Quantized rows are whole blocks: no tail.
 */
SIMD_INLINE void avx512_tile(int type, int R, int T, float *out, int64_t out_stride,
                             int64_t out_rstep, const uint8_t *w, size_t rstride, const float *x,
                             int64_t n)
{
    const size_t bb = simd_block_bytes(type);
    const int be = simd_block_elems(type);
    const int64_t nblk = n / be;
    __m512 acc[AVX512_DEC_R][SIMD_DEC_T][2];
    SIMD_UNROLL for (int r = 0; r < R; r++) {
        SIMD_UNROLL for (int t = 0; t < T; t++)
            acc[r][t][0] = acc[r][t][1] = _mm512_setzero_ps();
    }
    if (be == 256) {
        for (int64_t bi = 0; bi < nblk; bi++) {
            SIMD_UNROLL for (int r = 0; r < R; r++)
                simd_prefetch(w + (size_t)r * rstride + (size_t)bi * bb + AVX512_AHEAD, bb);
            avx512_k_block(type, R, T, acc, w, rstride, bi, x, n);
        }
    } else {
        const int chunk = avx512_chunk(type);
        int64_t bi = 0;
        for (; bi + chunk <= nblk; bi += chunk) {
            float d[AVX512_DEC_R][AVX512_CHUNK_MAX], m[AVX512_DEC_R][AVX512_CHUNK_MAX];
            SIMD_UNROLL for (int r = 0; r < R; r++)
                simd_prefetch(w + (size_t)r * rstride + (size_t)bi * bb + AVX512_AHEAD,
                              (size_t)chunk * bb);
            SIMD_UNROLL for (int r = 0; r < R; r++)
                avx512_block_scales(type, w + (size_t)r * rstride + (size_t)bi * bb, d[r], m[r]);
            for (int b = 0; b < chunk; b++) {
                float db[AVX512_DEC_R], mb[AVX512_DEC_R];
                SIMD_UNROLL for (int r = 0; r < R; r++) {
                    db[r] = d[r][b];
                    mb[r] = m[r][b];
                }
                avx512_legacy_block(type, R, T, acc, w, rstride, bi + b, x, n, db, mb);
            }
        }
        for (; bi < nblk; bi++) { /* the last blocks, short of a chunk: scales one by one */
            float db[AVX512_DEC_R], mb[AVX512_DEC_R];
            SIMD_UNROLL for (int r = 0; r < R; r++) {
                const uint8_t *blk = w + (size_t)r * rstride + (size_t)bi * bb;
                db[r] = simd_f16(blk);
                mb[r] = simd_has_bias(type) ? simd_f16(blk + 2) : 0.0f;
            }
            avx512_legacy_block(type, R, T, acc, w, rstride, bi, x, n, db, mb);
        }
    }
    SIMD_UNROLL for (int r = 0; r < R; r++) {
        SIMD_UNROLL for (int t = 0; t < T; t++) {
            const struct vacc a = {{acc[r][t][0], acc[r][t][1]}};
            out[t * out_stride + r * out_rstep] = vacc_sum(&a);
        }
    }
}

/* simd_matmul's decode loop for one type: tiles of R rows S apart (R long
 * sequential streams the prefetcher follows), the leftover rows one by one. */
SIMD_INLINE void avx512_decode_rows(int type, float *out, int64_t out_stride, const uint8_t *w,
                                    size_t row_size, const float *x, int64_t n, int64_t n_tok,
                                    int64_t r0, int64_t r1)
{
    const int64_t S = (r1 - r0) / AVX512_DEC_R;
    for (int64_t j = 0; j < S; j++) {
        const int64_t r = r0 + j;
        const uint8_t *wr = w + (size_t)r * row_size;
        const size_t rstride = (size_t)S * row_size;
        if (n_tok == 1)
            avx512_tile(type, AVX512_DEC_R, 1, out + r, out_stride, S, wr, rstride, x, n);
        else
            avx512_tile(type, AVX512_DEC_R, 2, out + r, out_stride, S, wr, rstride, x, n);
    }
    for (int64_t r = r0 + S * AVX512_DEC_R; r < r1; r++) {
        const uint8_t *wr = w + (size_t)r * row_size;
        if (n_tok == 1)
            avx512_tile(type, 1, 1, out + r, out_stride, 0, wr, row_size, x, n);
        else
            avx512_tile(type, 1, 2, out + r, out_stride, 0, wr, row_size, x, n);
    }
}

/* SIMD_OWN_DECODE: the decode path (n_tok <= SIMD_DEC_T) of the types above;
 * false for the others (simd_matmul then runs simd_tile). */
static bool avx512_decode(int type, float *out, int64_t out_stride, const void *w, size_t row_size,
                          const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1)
{
    switch (type) {
#define AVX512_DECODE(T)                                                                           \
    case PLUMB_TYPE_##T:                                                                           \
        avx512_decode_rows(PLUMB_TYPE_##T, out, out_stride, w, row_size, x, n, n_tok, r0, r1);     \
        return true;
        AVX512_DECODE(Q4_0)
        AVX512_DECODE(Q4_1)
        AVX512_DECODE(Q5_0)
        AVX512_DECODE(Q5_1)
        AVX512_DECODE(Q4_K)
        AVX512_DECODE(Q5_K)
        AVX512_DECODE(Q6_K)
#undef AVX512_DECODE
    default:
        return false;
    }
}

static const struct plumb_kernels avx512_set = SIMD_KERNEL_SET("avx512");

const struct plumb_kernels *kernels_avx512(void)
{
    return &avx512_set;
}

#else /* not x86-64: the registry does not list this set */

typedef int avx512_unused; /* ISO C wants a translation unit to declare something */

#endif
