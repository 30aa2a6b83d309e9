/*
 * avx512_vnni.h: the "avx512-vnni" kernel set (x86-64 only; AVX-512 F/BW/VL
 * and VNNI, accuracy class QUANTIZED): integer dot products for the
 * quantized weight types, avx512's float kernels for everything else.
 * Reach it through kernels_registry.h, which checks that the CPU can run it.
 */
#ifndef PLUMB_KERNELS_AVX512_VNNI_H
#define PLUMB_KERNELS_AVX512_VNNI_H

#include <stdint.h>

#include "kernels.h"

const struct plumb_kernels *kernels_avx512_vnni(void);

/*
 * The activation quantizers the set uses, exposed for the tests, which hold
 * them to the ggml set's bytes (ggml_ref_quantize_q8_1, quants_quant_q8_k)
 * on finite input.
 *
 * avx512_vnni_act_legacy: x (n floats, n a multiple of 32) to the set's own
 * layout for the 32-element formats: d[n/32] floats (the block scale, fp16-
 * rounded as a q8_0 block stores it), s[n/32] floats (fp16(d * sum q), as a
 * q8_1 block stores it), then q[n] int8. Takes 1.25 * n bytes.
 * avx512_vnni_act_q8_k: x to q8_K blocks, quants_quant_q8_k's bytes.
 */
void avx512_vnni_act_legacy(const float *x, void *dst, int64_t n);
void avx512_vnni_act_q8_k(const float *x, void *dst, int64_t n);

#endif
