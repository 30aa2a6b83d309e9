/* null_entry.c: a plugin whose entry point returns NULL. */
#include <stddef.h>

#include "kernels.h"

const struct plumb_kernels *plumb_kernels_entry(void);

const struct plumb_kernels *plumb_kernels_entry(void)
{
    return NULL;
}
