/*
 * avx2.h: the "avx2" kernel set (x86-64 only; AVX2, FMA and F16C, accuracy
 * class SIMD). Reach it through kernels_registry.h, which checks that the
 * CPU can run it; calling it directly on a CPU without AVX2 faults.
 */
#ifndef PLUMB_KERNELS_AVX2_H
#define PLUMB_KERNELS_AVX2_H

#include "kernels.h"

const struct plumb_kernels *kernels_avx2(void);

#endif
