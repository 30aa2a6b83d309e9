/* no_entry.c: a plugin whose entry point has the wrong name (it should be
 * plumb_kernels_entry): loading must fail, naming the symbol. */
#include "kernels.h"

const struct plumb_kernels *plumb_kernels_get(void);

static const struct plumb_kernels set = {
    .abi = PLUMB_KERNELS_ABI,
    .name = "no_entry",
    .accuracy = PLUMB_ACCURACY_EXACT,
};

const struct plumb_kernels *plumb_kernels_get(void)
{
    return &set;
}
