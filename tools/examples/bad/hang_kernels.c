/* hang_kernels.c: an rmsnorm that is right except that it never returns
 * when n = 5: the check must kill it after its time limit, fail that case,
 * and go on with the others. */
#include <math.h>

#include "kernels.h"

const struct plumb_kernels *plumb_kernels_entry(void);

static void rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps)
{
    for (volatile int spin = 1; spin && n == 5;) {
    }
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        ss += (double)(x[i] * x[i]);
    float s = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    for (int64_t i = 0; i < n; i++)
        out[i] = (x[i] * s) * w[i];
}

static const struct plumb_kernels set = {
    .abi = PLUMB_KERNELS_ABI,
    .name = "hang",
    .accuracy = PLUMB_ACCURACY_SIMD,
    .rmsnorm = rmsnorm,
};

const struct plumb_kernels *plumb_kernels_entry(void)
{
    return &set;
}
