/* no_name.c: a plugin whose set has no name. */
#include <stddef.h>

#include "kernels.h"

const struct plumb_kernels *plumb_kernels_entry(void);

static const struct plumb_kernels set = {
    .abi = PLUMB_KERNELS_ABI,
    .name = NULL,
    .accuracy = PLUMB_ACCURACY_SIMD,
};

const struct plumb_kernels *plumb_kernels_entry(void)
{
    return &set;
}
