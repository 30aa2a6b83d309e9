/* bad_accuracy.c: a plugin whose accuracy is none of the three classes. */
#include "kernels.h"

const struct plumb_kernels *plumb_kernels_entry(void);

static const struct plumb_kernels set = {
    .abi = PLUMB_KERNELS_ABI,
    .name = "bad_accuracy",
    .accuracy = (enum plumb_accuracy)7,
};

const struct plumb_kernels *plumb_kernels_entry(void)
{
    return &set;
}
