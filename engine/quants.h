/*
 * quants.h: ggml's block-quantized formats, reference (scalar) code.
 *
 * Each format has a block struct whose layout is byte-for-byte ggml's (sizes
 * pinned by static_assert in quants.c), a dequantizer bit-exact with ggml's
 * `dequantize_row_*`, and for the formats plumb generates fixtures in, a
 * quantizer that follows ggml's `quantize_row_*_ref` rounding. n is always a
 * multiple of the format's block size (32 or 256); callers check that.
 *
 * Multi-byte fields are little-endian on disk; plumb runs on little-endian
 * hosts only (see dtype.h), and blocks are copied in and out with memcpy, so buffers may be misaligned. Scales stored
 * as fp16 are kept as uint16_t bit patterns.
 */
#ifndef PLUMB_QUANTS_H
#define PLUMB_QUANTS_H

#include <stdint.h>

#define QUANTS_QK 32   /* elements per block of the legacy formats */
#define QUANTS_QK_K 256 /* elements per super-block of the K formats */

/* Dequantizers: src holds n/blck blocks, dst receives n floats. */
void quants_dequant_q4_0(const void *src, float *dst, int64_t n);
void quants_dequant_q4_1(const void *src, float *dst, int64_t n);
void quants_dequant_q5_0(const void *src, float *dst, int64_t n);
void quants_dequant_q5_1(const void *src, float *dst, int64_t n);
void quants_dequant_q8_0(const void *src, float *dst, int64_t n);
void quants_dequant_q8_1(const void *src, float *dst, int64_t n);
void quants_dequant_q2_k(const void *src, float *dst, int64_t n);
void quants_dequant_q3_k(const void *src, float *dst, int64_t n);
void quants_dequant_q4_k(const void *src, float *dst, int64_t n);
void quants_dequant_q5_k(const void *src, float *dst, int64_t n);
void quants_dequant_q6_k(const void *src, float *dst, int64_t n);
void quants_dequant_q8_k(const void *src, float *dst, int64_t n);

/* Reference quantizers: src holds n floats, dst receives n/blck blocks. */
void quants_quant_q4_0(const float *src, void *dst, int64_t n);
void quants_quant_q4_1(const float *src, void *dst, int64_t n);
void quants_quant_q5_0(const float *src, void *dst, int64_t n);
void quants_quant_q5_1(const float *src, void *dst, int64_t n);
void quants_quant_q8_0(const float *src, void *dst, int64_t n);
void quants_quant_q8_1(const float *src, void *dst, int64_t n);
void quants_quant_q4_k(const float *src, void *dst, int64_t n);
void quants_quant_q5_k(const float *src, void *dst, int64_t n);
void quants_quant_q6_k(const float *src, void *dst, int64_t n);
void quants_quant_q8_k(const float *src, void *dst, int64_t n);

#endif
