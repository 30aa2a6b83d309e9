/*
 * avx512.h: the "avx512" kernel set (x86-64 only; AVX-512 F/BW/VL, accuracy
 * class SIMD). Reach it through kernels_registry.h, which checks that the
 * CPU can run it; calling it directly on a CPU without AVX-512 faults.
 */
#ifndef PLUMB_KERNELS_AVX512_H
#define PLUMB_KERNELS_AVX512_H

#include "kernels.h"

const struct plumb_kernels *kernels_avx512(void);

#endif
