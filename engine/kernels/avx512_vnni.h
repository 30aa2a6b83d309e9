/*
 * avx512_vnni.h: the "avx512-vnni" kernel set (x86-64 only; AVX-512
 * F/BW/VL/VNNI/VBMI/BITALG and GFNI; accuracy class QUANTIZED): integer dot
 * products for the quantized weight types, avx512's float kernels for
 * everything else. Reach it through kernels_registry.h, which checks that
 * the CPU can run it.
 */
#ifndef PLUMB_KERNELS_AVX512_VNNI_H
#define PLUMB_KERNELS_AVX512_VNNI_H

#include <stdint.h>

#include "kernels.h"

const struct plumb_kernels *kernels_avx512_vnni(void);

/*
 * The activation rounding the set uses, exposed for the tests, which hold
 * it to the ggml set's numbers (ggml_ref_quantize_q8_1, quants_quant_q8_k)
 * on finite input.
 *
 * avx512_vnni_act_legacy: x (n floats, n a multiple of 32) for weights of
 * `type` (q4_0, q4_1, q5_0, q5_1 or q8_0), in 1.25 * n bytes:
 *   d[n/32]  floats: each block's scale as its fp16 field holds it;
 *   s[n/32]  floats: q4_1, q5_1: fp16(d * sum q), q8_1's s; the others:
 *            -off * d * sum q (exact), the share of the format's offset
 *            (8 for q4_0, 16 for q5_0, 128 for q8_0, whose int8 weights
 *            enter vpdpbusd as q + 128);
 *   q[n]     int8: element e of block b at 32b + e, except for the 4-bit and
 *            5-bit formats' blocks in whole units of four (b < nb/4*4), at
 *            128*(b/4) + 64*(e/16) + 16*(b%4) + e%16 (a unit's low nibbles,
 *            then its high ones).
 * avx512_vnni_act_q8_k: x to q8_K blocks, quants_quant_q8_k's bytes.
 */
void avx512_vnni_act_legacy(const float *x, void *dst, int64_t n, int type);
void avx512_vnni_act_q8_k(const float *x, void *dst, int64_t n);

#endif
