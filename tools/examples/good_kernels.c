/*
 * good_kernels.c: an example kernel plugin for plumb, and a correct one.
 *
 * It overrides two operations, the F32 and the Q8_0 matrix products, with
 * plain C loops reordered the way a SIMD kernel reorders them: 8 partial
 * sums (one per lane of a 256-bit register), added pairwise at the end, the
 * last n % 8 elements summed on their own. Every other operation is left
 * NULL, so plumb uses the scalar specification's. Because the sums are
 * reordered, its accuracy class is simd: checked against the scalar set by
 * NMSE and a per-element bound, end to end by fixtures/policies/simd.yaml.
 *
 * A plugin sees nothing of plumb but engine/kernels.h:
 *
 *   cc -std=c11 -O2 -ffp-contract=off -shared -fPIC -I engine \
 *      tools/examples/good_kernels.c -o good_kernels.so
 *   plumb kernels check --plugin ./good_kernels.so
 *   plumb check --plugin ./good_kernels.so
 *
 * (`make examples` builds it into build/examples/.)
 */
#include <stdint.h>
#include <string.h>

#include "kernels.h"

enum { TYPE_F32 = 0, TYPE_Q8_0 = 8 }; /* ggml type ids: the matmul table's index */

/* plumb looks this symbol up after loading the plugin. */
const struct plumb_kernels *plumb_kernels_entry(void);

/* IEEE half to float (Q8_0's block scale). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023u, bits;
    if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13); /* Inf, NaN */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign; /* zero */
    } else {         /* subnormal: normalize */
        exp = 113;
        while (!(man & 1024u)) {
            man <<= 1;
            exp--;
        }
        bits = sign | (exp << 23) | ((man & 1023u) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* sum_i a[i]*b[i] in 8 lanes, then the tail. */
static float dot8(const float *a, const float *b, int64_t n)
{
    float lane[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++)
            lane[l] += a[i + l] * b[i + l];
    float tail = 0.0f;
    for (; i < n; i++)
        tail += a[i] * b[i];
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
           ((lane[4] + lane[5]) + (lane[6] + lane[7])) + tail;
}

/* W (rows of n floats) @ x -> out, rows [r0, r1), n_tok tokens. */
static void matmul_f32(float *out, int64_t out_stride, const void *w, size_t row_size,
                       const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,
                       float *scratch)
{
    (void)scratch;
    for (int64_t r = r0; r < r1; r++) {
        const float *row = (const float *)((const char *)w + (size_t)r * row_size);
        for (int64_t t = 0; t < n_tok; t++)
            out[t * out_stride + r] = dot8(row, x + t * n, n);
    }
}

/*
 * Q8_0: blocks of 32 weights, 34 bytes each:
 *   bytes 0-1  d, the block's scale (IEEE half)
 *   bytes 2-33 q[0..31], signed 8-bit; weight i = d * q[i]
 * Each block's 32 products q*x go into 8 lanes; the block sum is scaled by
 * d once (the order a SIMD kernel uses), then added to the row's sum.
 */
static void matmul_q8_0(float *out, int64_t out_stride, const void *w, size_t row_size,
                        const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,
                        float *scratch)
{
    (void)scratch;
    for (int64_t r = r0; r < r1; r++) {
        const unsigned char *row = (const unsigned char *)w + (size_t)r * row_size;
        for (int64_t t = 0; t < n_tok; t++) {
            const float *xt = x + t * n;
            float sum = 0.0f;
            for (int64_t b = 0; b < n / 32; b++) {
                const unsigned char *blk = row + b * 34;
                uint16_t dh;
                memcpy(&dh, blk, sizeof dh); /* rows are only 2-byte aligned */
                float lane[8] = {0};
                for (int i = 0; i < 32; i += 8)
                    for (int l = 0; l < 8; l++)
                        lane[l] += (float)(int8_t)blk[2 + i + l] * xt[b * 32 + i + l];
                float block = ((lane[0] + lane[1]) + (lane[2] + lane[3])) +
                              ((lane[4] + lane[5]) + (lane[6] + lane[7]));
                sum += half_to_float(dh) * block;
            }
            out[t * out_stride + r] = sum;
        }
    }
}

static const struct plumb_kernels good_set = {
    .abi = PLUMB_KERNELS_ABI,
    .name = "good",
    .accuracy = PLUMB_ACCURACY_SIMD,
    .matmul = {[TYPE_F32] = matmul_f32, [TYPE_Q8_0] = matmul_q8_0},
};

const struct plumb_kernels *plumb_kernels_entry(void)
{
    return &good_set;
}
