/*
 * quant_avx2.h: AVX2 versions of reference quantizers, bit-identical to
 * quants.c's (they exist to make `plumb gen` fast; the scalar code stays the
 * definition). Call only where cpu_has_avx2().
 */
#ifndef PLUMB_QUANT_AVX2_H
#define PLUMB_QUANT_AVX2_H

#include <stdint.h>

/* Same contract and bytes as quants_quant_q8_0. */
void quant_avx2_q8_0(const float *src, void *dst, int64_t n);

#endif
