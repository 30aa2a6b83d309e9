/* oob_kernels.c: an add that works in whole vectors of 8 and so, when n is
 * not a multiple of 8, reads and writes up to 7 elements past the end of its
 * buffers. The values it must compute are right; only the guard bytes after
 * the output show the bug. */
#include "kernels.h"

const struct plumb_kernels *plumb_kernels_entry(void);

static void add(float *out, const float *a, const float *b, int64_t n)
{
    for (int64_t i = 0; i < n; i += 8)
        for (int l = 0; l < 8; l++)
            out[i + l] = a[i + l] + b[i + l];
}

static const struct plumb_kernels set = {
    .abi = PLUMB_KERNELS_ABI,
    .name = "oob",
    .accuracy = PLUMB_ACCURACY_SIMD,
    .add = add,
};

const struct plumb_kernels *plumb_kernels_entry(void)
{
    return &set;
}
