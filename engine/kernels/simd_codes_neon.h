/*
 * simd_codes_neon.h: ggml's block formats read sixteen elements at a time
 * with AArch64 Advanced SIMD (NEON) integer instructions, for the "neon"
 * kernel set (neon.c includes it; every function is static). The aarch64
 * twin of simd_codes.h, with the same names and the same contract:
 *
 * for each weight type a block "setup" (the block's float scales, computed
 * once per block) and a reader of one half-group: sixteen consecutive
 * elements 16*hg .. 16*hg+15 of the block, as sixteen int8 codes whose
 * dequantized value is
 *
 *     x = (float)code * scale[hg]  (+ bias[hg] for the types with a minimum)
 *
 * exactly as quants.c's dequantizer computes it, operation for operation:
 * the codes are integers (bit-exact), the scales are the same float
 * products (fp16 fields widened by FCVT, exact, a NaN quieted with its
 * payload kept as dtype_fp16_to_fp32 does), and the caller multiplies and
 * adds with separate roundings (no FMA: the build's -ffp-contract=off keeps
 * vmulq_f32 + vaddq_f32 apart), so a dequantized element is bit-identical
 * to quants.c's. The formats' sizes and scale layout are simd_blocks.h's;
 * the layouts are drawn in quants.c; offsets below are bytes into a block.
 *
 * What it is not: an accumulation. simd_ops.h turns codes into float
 * vectors and dot products.
 *
 * Invariants: blocks may be misaligned (byte loads, vld1q_u8, only); only
 * the bytes of the block are read; the host is little-endian.
 */
#ifndef PLUMB_SIMD_CODES_NEON_H
#define PLUMB_SIMD_CODES_NEON_H

#include <arm_neon.h>

#include "simd_blocks.h"

/* The fp16 at p as a float (vcvt_f32_f16: baseline ARMv8, exact). */
SIMD_INLINE float simd_f16(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return vget_lane_f32(vget_low_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h)))), 0);
}

SIMD_INLINE uint8x16_t simd_load16(const uint8_t *p)
{
    return vld1q_u8(p);
}

/* Four unsigned bytes (the low four of v8) times d: four float products. */
SIMD_INLINE float32x4_t simd_scale_u8(uint8x8_t v8, float d)
{
    uint32x4_t u = vmovl_u16(vget_low_u16(vmovl_u8(v8)));
    return vmulq_f32(vdupq_n_f32(d), vcvtq_f32_u32(u));
}

/* Q4_K/Q5_K's scales and minimums (simd_k_scale_words) four sub-blocks at
 * a time: step = d * sc, bias = -(dmin * mn) (vnegq_f32 flips the sign bit
 * only, as -x does). */
SIMD_INLINE void simd_setup_k(const uint8_t *blk, struct simd_scales *s)
{
    const float d = simd_f16(blk), dmin = simd_f16(blk + 2);
    uint32_t sc_w[2], mn_w[2];
    simd_k_scale_words(blk, sc_w, mn_w);
    for (int k = 0; k < 2; k++) {
        uint8x8_t sc = vreinterpret_u8_u32(vdup_n_u32(sc_w[k]));
        uint8x8_t mn = vreinterpret_u8_u32(vdup_n_u32(mn_w[k]));
        vst1q_f32(s->scale + 4 * k, simd_scale_u8(sc, d));
        vst1q_f32(s->bias + 4 * k, vnegq_f32(simd_scale_u8(mn, dmin)));
    }
}

/* Q6_K: step[s] = d * scales[s], the sixteen int8 scales at byte 192, d at 208. */
SIMD_INLINE void simd_setup_q6_k(const uint8_t *blk, struct simd_scales *s)
{
    const float32x4_t dv = vdupq_n_f32(simd_f16(blk + 208));
    const int8x16_t sc = vld1q_s8((const int8_t *)(const void *)(blk + 192));
    const int16x8_t lo = vmovl_s8(vget_low_s8(sc)), hi = vmovl_high_s8(sc);
    vst1q_f32(s->scale + 0, vmulq_f32(dv, vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo)))));
    vst1q_f32(s->scale + 4, vmulq_f32(dv, vcvtq_f32_s32(vmovl_high_s16(lo))));
    vst1q_f32(s->scale + 8, vmulq_f32(dv, vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi)))));
    vst1q_f32(s->scale + 12, vmulq_f32(dv, vcvtq_f32_s32(vmovl_high_s16(hi))));
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
    case PLUMB_TYPE_Q6_K:
        simd_setup_q6_k(blk, s);
        break;
    default:
        break;
    }
}

/* Sixteen bytes with 0x10 in byte j where bit j of the 16-bit `bits` is set:
 * the fifth bit of Q5_0/Q5_1 codes. Bytes 0..7 test the low byte of bits,
 * 8..15 the high byte, each against its own bit (vtstq: all ones if set). */
SIMD_INLINE uint8x16_t simd_fifth_bits(uint32_t bits)
{
    static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    uint8x16_t v = vcombine_u8(vdup_n_u8((uint8_t)(bits & 0xffu)), vdup_n_u8((uint8_t)(bits >> 8)));
    return vandq_u8(vtstq_u8(v, vld1q_u8(bit)), vdupq_n_u8(0x10));
}

/* Low (hi = 0) or high (hi = 1) nibbles of 16 bytes. */
SIMD_INLINE uint8x16_t simd_nibbles(uint8x16_t v, int hi)
{
    return hi ? vshrq_n_u8(v, 4) : vandq_u8(v, vdupq_n_u8(0x0f));
}

/* Bits [shift, shift + width) of each of 16 bytes, moved to bits 4.. (the
 * high part of a 5- or 6-bit code). vshlq_u8 by -shift is a right shift. */
SIMD_INLINE uint8x16_t simd_high_bits(uint8x16_t v, int shift, uint8_t mask)
{
    v = vandq_u8(vshlq_u8(v, vdupq_n_s8((int8_t)-shift)), vdupq_n_u8(mask));
    return vshlq_n_u8(v, 4);
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
 * The subtractions wrap as int8 (the codes fit: -32..31 at most).
 */
SIMD_INLINE int8x16_t simd_codes(int type, const uint8_t *b, int hg)
{
    uint8x16_t c;
    switch (type) {
    case PLUMB_TYPE_Q4_0:
        c = vsubq_u8(simd_nibbles(simd_load16(b + 2), hg), vdupq_n_u8(8));
        break;
    case PLUMB_TYPE_Q4_1:
        c = simd_nibbles(simd_load16(b + 4), hg);
        break;
    case PLUMB_TYPE_Q5_0:
        c = vorrq_u8(simd_nibbles(simd_load16(b + 6), hg),
                     simd_fifth_bits((simd_u32(b + 2) >> (16 * hg)) & 0xffffu));
        c = vsubq_u8(c, vdupq_n_u8(16));
        break;
    case PLUMB_TYPE_Q5_1:
        c = vorrq_u8(simd_nibbles(simd_load16(b + 8), hg),
                     simd_fifth_bits((simd_u32(b + 4) >> (16 * hg)) & 0xffffu));
        break;
    case PLUMB_TYPE_Q8_0:
        c = simd_load16(b + 2 + 16 * hg);
        break;
    case PLUMB_TYPE_Q4_K: {
        const int g = hg >> 1, half = hg & 1;
        c = simd_nibbles(simd_load16(b + 16 + 32 * (g >> 1) + 16 * half), g & 1);
        break;
    }
    case PLUMB_TYPE_Q5_K: {
        const int g = hg >> 1, half = hg & 1;
        c = vorrq_u8(simd_nibbles(simd_load16(b + 48 + 32 * (g >> 1) + 16 * half), g & 1),
                     simd_high_bits(simd_load16(b + 16 + 16 * half), g, 1));
        break;
    }
    case PLUMB_TYPE_Q6_K: {
        const int hh = hg >> 3, p = (hg & 7) >> 1, l0 = 16 * (hg & 1);
        c = vorrq_u8(simd_nibbles(simd_load16(b + 64 * hh + 32 * (p & 1) + l0), p >= 2),
                     simd_high_bits(simd_load16(b + 128 + 32 * hh + l0), 2 * p, 3));
        c = vsubq_u8(c, vdupq_n_u8(32));
        break;
    }
    default:
        c = vdupq_n_u8(0);
        break;
    }
    return vreinterpretq_s8_u8(c);
}

#endif
