/* crash_kernels.c: an F32 matmul that is right except that it writes
 * through a null pointer when n = 17: the check must report the crash with
 * the operation, type and shape, and go on with the other cases. */
#include <stddef.h>

#include "kernels.h"

const struct plumb_kernels *plumb_kernels_entry(void);

/* volatile: the compiler cannot see that it is null, so this is a real
 * store to address 0, not an instruction it replaced the store with. */
static float *volatile nowhere = NULL;

static void matmul_f32(float *out, int64_t out_stride, const void *w, size_t row_size,
                       const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,
                       float *scratch)
{
    (void)scratch;
    if (n == 17)
        nowhere[0] = 1.0f;
    for (int64_t r = r0; r < r1; r++) {
        const float *row = (const float *)((const char *)w + (size_t)r * row_size);
        for (int64_t t = 0; t < n_tok; t++) {
            float s = 0.0f;
            for (int64_t i = 0; i < n; i++)
                s += row[i] * x[t * n + i];
            out[t * out_stride + r] = s;
        }
    }
}

static const struct plumb_kernels set = {
    .abi = PLUMB_KERNELS_ABI,
    .name = "crash",
    .accuracy = PLUMB_ACCURACY_EXACT,
    .matmul = {[0] = matmul_f32},
};

const struct plumb_kernels *plumb_kernels_entry(void)
{
    return &set;
}
