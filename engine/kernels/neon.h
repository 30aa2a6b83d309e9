/*
 * neon.h: the "neon" kernel set (aarch64 only; Advanced SIMD, which every
 * AArch64 CPU has; accuracy class SIMD). Reach it through
 * kernels_registry.h, which holds it only in aarch64 builds.
 */
#ifndef PLUMB_KERNELS_NEON_H
#define PLUMB_KERNELS_NEON_H

#include "kernels.h"

const struct plumb_kernels *kernels_neon(void);

#endif
