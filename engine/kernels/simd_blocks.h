/*
 * simd_blocks.h: what every SIMD kernel set knows of ggml's block formats
 * without touching a vector register: bytes and elements per block, which
 * scale a half-group (sixteen elements) uses, and Q4_K/Q5_K's packed
 * scale bytes. Plain C, shared by the instruction-set readers that turn a
 * block into int8 codes (simd_codes.h for x86, simd_codes_neon.h for
 * aarch64). Every function is static; not a public header.
 *
 * The block layouts are drawn in quants.c; offsets are bytes into a block.
 * The host is little-endian (as plumb's).
 */
#ifndef PLUMB_SIMD_BLOCKS_H
#define PLUMB_SIMD_BLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dtype.h"

#define SIMD_INLINE static inline __attribute__((always_inline))

/* A block's float scales, per half-group (legacy formats use index 0 only,
 * Q4_K/Q5_K one per sub-block of 32, Q6_K one per sub-block of 16). */
struct simd_scales {
    float scale[16];
    float bias[16];
};

SIMD_INLINE uint32_t simd_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Bytes per block and elements per block. The plain float types are read in
 * groups of 32 elements, treated as blocks here. */
SIMD_INLINE size_t simd_block_bytes(int type)
{
    switch (type) {
    case PLUMB_TYPE_F32: return 128;
    case PLUMB_TYPE_F16: return 64;
    case PLUMB_TYPE_BF16: return 64;
    case PLUMB_TYPE_Q4_0: return 18;
    case PLUMB_TYPE_Q4_1: return 20;
    case PLUMB_TYPE_Q5_0: return 22;
    case PLUMB_TYPE_Q5_1: return 24;
    case PLUMB_TYPE_Q8_0: return 34;
    case PLUMB_TYPE_Q4_K: return 144;
    case PLUMB_TYPE_Q5_K: return 176;
    case PLUMB_TYPE_Q6_K: return 210;
    default: return 0;
    }
}

SIMD_INLINE int simd_block_elems(int type)
{
    return type == PLUMB_TYPE_Q4_K || type == PLUMB_TYPE_Q5_K || type == PLUMB_TYPE_Q6_K ? 256 : 32;
}

SIMD_INLINE bool simd_is_float(int type)
{
    return type == PLUMB_TYPE_F32 || type == PLUMB_TYPE_F16 || type == PLUMB_TYPE_BF16;
}

/* Types whose element adds a bias (a minimum) after the scaling. */
SIMD_INLINE bool simd_has_bias(int type)
{
    return type == PLUMB_TYPE_Q4_1 || type == PLUMB_TYPE_Q5_1 || type == PLUMB_TYPE_Q4_K ||
           type == PLUMB_TYPE_Q5_K;
}

/* The index into simd_scales of half-group hg. */
SIMD_INLINE int simd_scale_index(int type, int hg)
{
    switch (type) {
    case PLUMB_TYPE_Q4_K:
    case PLUMB_TYPE_Q5_K: return hg >> 1;
    case PLUMB_TYPE_Q6_K: return hg;
    default: return 0;
    }
}

/*
 * Q4_K/Q5_K's twelve scale bytes (quants.c: unpack_scale_min) unpacked into
 * the eight 6-bit scales and eight 6-bit minimums, one per byte of two
 * little-endian words each: with a, b, c the block's words at bytes 4, 8, 12,
 *   sc[0..3] = a & 63            mn[0..3] = b & 63
 *   sc[4..7] = (c & 15) | (a >> 6) << 4
 *   mn[4..7] = (c >> 4) | (b >> 6) << 4        (per byte)
 * sc[0] is the low byte of sc_w[0]. The readers then form step = d * sc and
 * offset = dmin * mn as quants_dequant_q4_k has them; the bias is -offset
 * (a - b == a + (-b) exactly in IEEE arithmetic).
 */
SIMD_INLINE void simd_k_scale_words(const uint8_t *blk, uint32_t sc_w[2], uint32_t mn_w[2])
{
    const uint32_t a = simd_u32(blk + 4), b = simd_u32(blk + 8), c = simd_u32(blk + 12);
    sc_w[0] = a & 0x3f3f3f3fu;
    mn_w[0] = b & 0x3f3f3f3fu;
    sc_w[1] = (c & 0x0f0f0f0fu) | ((a >> 6) & 0x03030303u) << 4;
    mn_w[1] = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 6) & 0x03030303u) << 4;
}

#endif
