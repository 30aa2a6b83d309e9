/*
 * simd_codes.h: ggml's block formats read sixteen elements at a time with
 * 128-bit integer instructions (SSSE3/SSE4.1 plus F16C), for the x86 SIMD
 * kernel sets (avx2.c, avx512.c include it; both compile it with their own
 * target flags, every function is static).
 *
 * What it is: for each weight type a block "setup" (the block's float scales,
 * computed once per block) and a reader of one half-group: sixteen
 * consecutive elements 16*hg .. 16*hg+15 of the block, as sixteen int8 codes
 * whose dequantized value is
 *
 *     x = (float)code * scale[hg]  (+ bias[hg] for the types with a minimum)
 *
 * exactly as quants.c's dequantizer computes it, operation for operation:
 * the codes are integers (bit-exact), the scales are the same float
 * products, and the caller multiplies and adds with separate roundings (no
 * FMA), so a dequantized element is bit-identical to quants.c's. The block
 * layouts are drawn in quants.c; offsets below are bytes into a block. The
 * formats' sizes and scale layout are simd_blocks.h's; simd_codes_neon.h is
 * the same reader for aarch64.
 *
 * What it is not: an accumulation. simd_ops.h turns codes into float
 * vectors and dot products.
 *
 * Invariants: blocks may be misaligned (unaligned loads only); only the
 * bytes of the block are read; the host is little-endian (as plumb's).
 */
#ifndef PLUMB_SIMD_CODES_H
#define PLUMB_SIMD_CODES_H

#include <immintrin.h>

#include "simd_blocks.h"

SIMD_INLINE float simd_f16(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h); /* F16C: bit-exact with dtype_fp16_to_fp32, NaN quieted as there */
}

SIMD_INLINE __m128i simd_load16(const uint8_t *p)
{
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* Q4_K/Q5_K's scales and minimums (simd_k_scale_words) four sub-blocks at
 * a time: step = d * sc, bias = -(dmin * mn). */
SIMD_INLINE void simd_setup_k(const uint8_t *blk, struct simd_scales *s)
{
    const float d = simd_f16(blk), dmin = simd_f16(blk + 2);
    uint32_t sc_w[2], mn_w[2];
    simd_k_scale_words(blk, sc_w, mn_w);
    const __m128i sc8 = _mm_set_epi32(0, 0, (int)sc_w[1], (int)sc_w[0]);
    const __m128i mn8 = _mm_set_epi32(0, 0, (int)mn_w[1], (int)mn_w[0]);
    const __m128 dv = _mm_set1_ps(d), mv = _mm_set1_ps(dmin);
    const __m128 sign = _mm_set1_ps(-0.0f); /* negation flips the sign bit only, as -x does */
    for (int k = 0; k < 8; k += 4) {
        __m128i sc = _mm_cvtepu8_epi32(k ? _mm_srli_si128(sc8, 4) : sc8);
        __m128i mn = _mm_cvtepu8_epi32(k ? _mm_srli_si128(mn8, 4) : mn8);
        _mm_storeu_ps(s->scale + k, _mm_mul_ps(dv, _mm_cvtepi32_ps(sc)));
        _mm_storeu_ps(s->bias + k, _mm_xor_ps(sign, _mm_mul_ps(mv, _mm_cvtepi32_ps(mn))));
    }
}

/* The block's scales: called once per block before simd_codes. */
SIMD_INLINE void simd_setup(int type, const uint8_t *blk, struct simd_scales *s)
{
    switch (type) {
    case PLUMB_TYPE_Q4_0:
    case PLUMB_TYPE_Q5_0:
    case PLUMB_TYPE_Q8_0:
        s->scale[0] = simd_f16(blk);
        break;
    case PLUMB_TYPE_Q4_1:
    case PLUMB_TYPE_Q5_1:
        s->scale[0] = simd_f16(blk);
        s->bias[0] = simd_f16(blk + 2);
        break;
    case PLUMB_TYPE_Q4_K:
    case PLUMB_TYPE_Q5_K:
        simd_setup_k(blk, s);
        break;
    case PLUMB_TYPE_Q6_K: {
        /* step[s] = d * scales[s], the int8 scales at byte 192, d at 208 */
        const __m128 dv = _mm_set1_ps(simd_f16(blk + 208));
        const __m128i sc = simd_load16(blk + 192);
        _mm_storeu_ps(s->scale + 0, _mm_mul_ps(dv, _mm_cvtepi32_ps(_mm_cvtepi8_epi32(sc))));
        _mm_storeu_ps(s->scale + 4, _mm_mul_ps(dv, _mm_cvtepi32_ps(_mm_cvtepi8_epi32(_mm_srli_si128(sc, 4)))));
        _mm_storeu_ps(s->scale + 8, _mm_mul_ps(dv, _mm_cvtepi32_ps(_mm_cvtepi8_epi32(_mm_srli_si128(sc, 8)))));
        _mm_storeu_ps(s->scale + 12, _mm_mul_ps(dv, _mm_cvtepi32_ps(_mm_cvtepi8_epi32(_mm_srli_si128(sc, 12)))));
        break;
    }
    default:
        break;
    }
}

/* Sixteen bytes with 0x10 in byte j where bit j of the 16-bit `bits` is set:
 * the fifth bit of Q5_0/Q5_1 codes. */
SIMD_INLINE __m128i simd_fifth_bits(uint32_t bits)
{
    const __m128i spread = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m128i bit = _mm_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
    __m128i v = _mm_shuffle_epi8(_mm_cvtsi32_si128((int)bits), spread);
    v = _mm_cmpeq_epi8(_mm_and_si128(v, bit), bit);
    return _mm_and_si128(v, _mm_set1_epi8(0x10));
}

/* Low (hi = 0) or high (hi = 1) nibbles of 16 bytes. */
SIMD_INLINE __m128i simd_nibbles(__m128i v, int hi)
{
    if (hi)
        v = _mm_srli_epi16(v, 4);
    return _mm_and_si128(v, _mm_set1_epi8(0x0f));
}

/*
 * The int8 codes of elements 16*hg .. 16*hg+15 of a quantized block (see
 * the formats' diagrams in quants.c):
 *   Q4_0: nibble - 8        Q4_1: nibble        (qs at 2 / 4)
 *   Q5_0: nibble | bit<<4, - 16;  Q5_1: without -16   (qh at 2 / 4, qs at 6 / 8)
 *   Q8_0: the int8 itself (qs at 2)
 *   Q4_K: sub-block g = hg/2 is chunk g/2's low (g even) or high nibbles
 *   Q5_K: as Q4_K plus bit g of qh[l] as 16
 *   Q6_K: low 4 bits from ql, high 2 bits from qh's plane, - 32
 */
SIMD_INLINE __m128i simd_codes(int type, const uint8_t *b, int hg)
{
    switch (type) {
    case PLUMB_TYPE_Q4_0:
        return _mm_sub_epi8(simd_nibbles(simd_load16(b + 2), hg), _mm_set1_epi8(8));
    case PLUMB_TYPE_Q4_1:
        return simd_nibbles(simd_load16(b + 4), hg);
    case PLUMB_TYPE_Q5_0: {
        __m128i c = _mm_or_si128(simd_nibbles(simd_load16(b + 6), hg),
                                 simd_fifth_bits((simd_u32(b + 2) >> (16 * hg)) & 0xffffu));
        return _mm_sub_epi8(c, _mm_set1_epi8(16));
    }
    case PLUMB_TYPE_Q5_1:
        return _mm_or_si128(simd_nibbles(simd_load16(b + 8), hg),
                            simd_fifth_bits((simd_u32(b + 4) >> (16 * hg)) & 0xffffu));
    case PLUMB_TYPE_Q8_0:
        return simd_load16(b + 2 + 16 * hg);
    case PLUMB_TYPE_Q4_K: {
        const int g = hg >> 1, half = hg & 1;
        return simd_nibbles(simd_load16(b + 16 + 32 * (g >> 1) + 16 * half), g & 1);
    }
    case PLUMB_TYPE_Q5_K: {
        const int g = hg >> 1, half = hg & 1;
        __m128i low = simd_nibbles(simd_load16(b + 48 + 32 * (g >> 1) + 16 * half), g & 1);
        __m128i h = _mm_srl_epi16(simd_load16(b + 16 + 16 * half), _mm_cvtsi32_si128(g));
        h = _mm_slli_epi16(_mm_and_si128(h, _mm_set1_epi8(1)), 4);
        return _mm_or_si128(low, h);
    }
    case PLUMB_TYPE_Q6_K: {
        const int hh = hg >> 3, p = (hg & 7) >> 1, l0 = 16 * (hg & 1);
        __m128i low = simd_nibbles(simd_load16(b + 64 * hh + 32 * (p & 1) + l0), p >= 2);
        __m128i h = _mm_srl_epi16(simd_load16(b + 128 + 32 * hh + l0), _mm_cvtsi32_si128(2 * p));
        h = _mm_slli_epi16(_mm_and_si128(h, _mm_set1_epi8(3)), 4);
        return _mm_sub_epi8(_mm_or_si128(low, h), _mm_set1_epi8(32));
    }
    default:
        return _mm_setzero_si128();
    }
}

#endif
