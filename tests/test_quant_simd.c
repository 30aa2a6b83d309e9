/*
 * test_quant_simd.c: the SIMD quantizers give exactly the reference
 * quantizers' bytes (quants.c, itself bit-exact with ggml), on random rows of
 * every magnitude and on the awkward blocks: zeros, signed zeros, exact
 * halves, subnormals, a value that makes 1/d overflow, NaN and Inf.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "dtype.h"
#include "helpers.h"
#include "quant_avx2.h"
#include "quants.h"

TestSuite(quant_simd, .timeout = 60);

#if defined(__x86_64__)
static float rand_float(uint64_t *st)
{
    uint64_t r = test_rand(st);
    float u = (float)(int32_t)(r >> 40) / 8388608.0f - 1.0f;             /* [-1, 1) */
    int e = (int)((r >> 8) % 60) - 30;                                     /* 2^-30 .. 2^29 */
    return ldexpf(u, e);
}
#endif

Test(quant_simd, avx2_q8_0_matches_the_reference_bytes)
{
    if (!cpu_has_avx2())
        cr_skip_test("this CPU has no AVX2");
#if defined(__x86_64__)
    enum { BLOCKS = 4096, N = BLOCKS * QUANTS_QK };
    float *x = malloc(N * sizeof *x);
    uint8_t *want = malloc(BLOCKS * 34), *got = malloc(BLOCKS * 34);
    uint64_t seed = 20261128, st = seed;
    for (int b = 0; b < BLOCKS; b++) {
        float scale = ldexpf(1.0f, (int)(test_rand(&st) % 80) - 60);
        for (int j = 0; j < QUANTS_QK; j++)
            x[b * QUANTS_QK + j] = rand_float(&st) * scale;
    }
    /* awkward blocks at the start */
    for (int j = 0; j < QUANTS_QK; j++) {
        x[0 * 32 + j] = 0.0f;                             /* all zero */
        x[1 * 32 + j] = (j & 1) ? -0.0f : 0.0f;           /* signed zeros */
        x[2 * 32 + j] = (float)(j - 16) * 0.5f * 127.0f / 16.0f; /* many exact halves */
        x[3 * 32 + j] = ldexpf((float)(j + 1), -149 + 0); /* subnormals: 1/d overflows */
        x[4 * 32 + j] = (float)j;
        x[5 * 32 + j] = (float)j;
        x[6 * 32 + j] = -3.0f;                            /* all equal, negative */
        x[7 * 32 + j] = 1e-40f * (float)(j - 16);         /* tiny */
    }
    x[4 * 32 + 7] = NAN;
    x[5 * 32 + 31] = -INFINITY;
    quants_quant_q8_0(x, want, N);
    quant_avx2_q8_0(x, got, N);
    int worst = -1;
    for (int b = 0; b < BLOCKS && worst < 0; b++)
        if (memcmp(want + b * 34, got + b * 34, 34) != 0)
            worst = b;
    cr_assert(eq(int, worst, -1), "block %d of %d differs (seed %llu)", worst, BLOCKS,
              (unsigned long long)seed);
    /* and the dispatcher hands out the fast one here */
    cr_assert(eq(ptr, (void *)dtype_quantizer(PLUMB_TYPE_Q8_0), (void *)quant_avx2_q8_0));
    free(x);
    free(want);
    free(got);
#endif
}

Test(quant_simd, dispatcher_falls_back_to_the_reference_quantizer)
{
    cr_assert(eq(ptr, (void *)dtype_quantizer(PLUMB_TYPE_Q4_K), (void *)quants_quant_q4_k));
    cr_assert(eq(ptr, (void *)dtype_quantizer(PLUMB_TYPE_F16), (void *)dtype_f16_from_float));
    cr_assert(eq(ptr, (void *)dtype_quantizer(PLUMB_TYPE_IQ2_XXS), NULL));
    cr_assert(eq(ptr, (void *)dtype_quantizer(4), NULL)); /* retired id */
}
