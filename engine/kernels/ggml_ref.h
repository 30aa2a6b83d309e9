/*
 * ggml_ref.h: the `ggml` kernel set: matrix products that round activations
 * exactly as llama.cpp's CPU backend does, so plumb predicts llama.cpp's
 * numbers instead of bounding them. Scalar code, accuracy class QUANTIZED.
 */
#ifndef PLUMB_KERNELS_GGML_REF_H
#define PLUMB_KERNELS_GGML_REF_H

#include "kernels.h"

/* The ggml set: matmul for f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q4_k,
 * q5_k, q6_k; every other entry NULL (the scalar set's: f32 weights and all
 * other operations already compute what llama.cpp's CPU backend computes,
 * up to summation order). */
const struct plumb_kernels *kernels_ggml_ref(void);

/* The activation quantizers, exposed for tests: x (n floats, a multiple of
 * 32, or 256 for q8_k) into blocks at dst. Formats as ggml's block_q8_0
 * (34 bytes), block_q8_1 (36 bytes), block_q8_K (292 bytes). */
void ggml_ref_quantize_q8_0(const float *x, void *dst, int64_t n);
void ggml_ref_quantize_q8_1(const float *x, void *dst, int64_t n);

#endif
