/* abi_mismatch.c: a plugin built against another version of kernels.h. */
#include "kernels.h"

const struct plumb_kernels *plumb_kernels_entry(void);

static const struct plumb_kernels set = {
    .abi = PLUMB_KERNELS_ABI + 1,
    .name = "abi_mismatch",
    .accuracy = PLUMB_ACCURACY_EXACT,
};

const struct plumb_kernels *plumb_kernels_entry(void)
{
    return &set;
}
