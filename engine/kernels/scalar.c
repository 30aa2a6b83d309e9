/*
 * scalar.c: the scalar kernel set, the specification every other kernel set
 * is measured against.
 *
 * Plain loops in index order, no intrinsics; each operation's SPEC line is
 * its contract (kernels.h repeats them). Reductions accumulate in float,
 * sequentially, except where ggml's CPU backend accumulates in double
 * (RMSNorm's sum of squares, softmax's sum), which is followed so plumb and
 * llama.cpp differ only where they must. exp comes from mathfn.c, not libm,
 * so results do not depend on the machine's C library. With
 * -ffp-contract=off every product is rounded before it is added: the bits
 * are the same at every optimisation level and on every architecture.
 */
#include "scalar.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dtype.h"
#include "mathfn.h"

_Static_assert(PLUMB_KERNELS_MAX_TYPES == PLUMB_TYPE_COUNT,
               "kernels.h has one matmul slot per ggml type id");

float scalar_dot(const float *a, const float *b, int64_t n)
{
    /* SPEC: s = sum_i a[i]*b[i], in index order */
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void scalar_matmul(float *out, int64_t out_stride, const void *w, size_t row_size, const float *x,
                   int64_t n, int64_t n_tok, int64_t r0, int64_t r1, float *scratch, int type)
{
    /* SPEC: out[t, r] = sum_i W[r, i] * x[t, i]; W's row dequantized once, then
     * dotted with every token, so a batch gives the same bits as one token. */
    const struct dtype_traits *tr = dtype_traits(type);
    for (int64_t r = r0; r < r1; r++) {
        const void *wr = (const char *)w + (size_t)r * row_size;
        const float *row = scratch;
        if (type == PLUMB_TYPE_F32 && (uintptr_t)wr % sizeof(float) == 0)
            row = wr; /* already float: read the mapping directly */
        else /* a quantized row, or f32 at an odd offset (alignment < 4): copy */
            tr->to_float(wr, scratch, n);
        for (int64_t t = 0; t < n_tok; t++)
            out[t * out_stride + r] = scalar_dot(row, x + t * n, n);
    }
}

/* One wrapper per weight type: the table is indexed by type id. */
#define SCALAR_MATMUL(T)                                                                          \
    static void scalar_matmul_##T(float *out, int64_t out_stride, const void *w, size_t row_size,  \
                                  const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1, \
                                  float *scratch)                                                  \
    {                                                                                              \
        scalar_matmul(out, out_stride, w, row_size, x, n, n_tok, r0, r1, scratch, PLUMB_TYPE_##T); \
    }
SCALAR_MATMUL(F32)
SCALAR_MATMUL(F16)
SCALAR_MATMUL(BF16)
SCALAR_MATMUL(Q4_0)
SCALAR_MATMUL(Q4_1)
SCALAR_MATMUL(Q5_0)
SCALAR_MATMUL(Q5_1)
SCALAR_MATMUL(Q8_0)
SCALAR_MATMUL(Q2_K)
SCALAR_MATMUL(Q3_K)
SCALAR_MATMUL(Q4_K)
SCALAR_MATMUL(Q5_K)
SCALAR_MATMUL(Q6_K)

void scalar_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps)
{
    /* SPEC: ss = sum_i (double)(x[i]*x[i]); s = 1/sqrtf((float)(ss/n) + eps);
     *       out[i] = (x[i] * s) * w[i]            (ggml: rms_norm, then mul) */
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        ss += (double)(x[i] * x[i]);
    float mean = (float)(ss / (double)n);
    float s = 1.0f / sqrtf(mean + eps); /* sqrtf is correctly rounded by IEEE 754 */
    for (int64_t i = 0; i < n; i++)
        out[i] = (x[i] * s) * w[i];
}

void scalar_rope(float *x, int64_t n_heads, int64_t hd, const float *cos_t, const float *sin_t)
{
    /* SPEC: rotate adjacent pairs (x0, x1) of each head by the pair's angle */
    for (int64_t h = 0; h < n_heads; h++) {
        float *xh = x + h * hd;
        for (int64_t i = 0; i < hd / 2; i++) {
            float x0 = xh[2 * i], x1 = xh[2 * i + 1];
            float c = cos_t[i], s = sin_t[i];
            xh[2 * i] = x0 * c - x1 * s;
            xh[2 * i + 1] = x0 * s + x1 * c;
        }
    }
}

void scalar_softmax(float *x, int64_t n)
{
    /* SPEC: x[i] = exp(x[i] - max) / sum, the sum in double, applied as a
     * multiplication by (float)(1/sum), as ggml does */
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (x[i] > m)
            m = x[i];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = mathfn_expf(x[i] - m);
        sum += (double)x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}

void scalar_attention(float *out, const float *q, const float *k, const float *v, int64_t n_kv,
                      int64_t n_heads, int64_t n_kv_heads, int64_t hd, int64_t h0, int64_t h1,
                      float scale, float *att)
{
    int64_t kv_dim = n_kv_heads * hd;
    int64_t group = n_heads / n_kv_heads; /* query heads sharing one kv head */
    for (int64_t h = h0; h < h1; h++) {
        const float *qh = q + h * hd;
        int64_t g = h / group;
        /* scores of this query against every cached key */
        for (int64_t p = 0; p < n_kv; p++)
            att[p] = scalar_dot(k + p * kv_dim + g * hd, qh, hd) * scale;
        scalar_softmax(att, n_kv);
        /* weighted sum of the cached values */
        scalar_attention_mix(out + h * hd, v + g * hd, kv_dim, att, n_kv, 0, hd);
    }
}

void scalar_attention_mix(float *out, const float *v, int64_t stride, const float *att,
                          int64_t n_kv, int64_t i0, int64_t i1)
{
    /* SPEC: out[i] = sum_p v[p*stride + i] * att[p], positions in order */
    for (int64_t i = i0; i < i1; i++) {
        float s = 0.0f;
        for (int64_t p = 0; p < n_kv; p++)
            s += v[p * stride + i] * att[p];
        out[i] = s;
    }
}

void scalar_silu_mul(float *out, const float *g, const float *u, int64_t n)
{
    /* SPEC: out[i] = silu(g[i]) * u[i], silu(x) = x / (1 + exp(-x)) */
    for (int64_t i = 0; i < n; i++)
        out[i] = mathfn_silu(g[i]) * u[i];
}

void scalar_add(float *out, const float *a, const float *b, int64_t n)
{
    /* SPEC: out[i] = a[i] + b[i] */
    for (int64_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

static const struct plumb_kernels scalar_set = {
    .abi = PLUMB_KERNELS_ABI,
    .name = "scalar",
    .accuracy = PLUMB_ACCURACY_EXACT,
    .matmul = {
        [PLUMB_TYPE_F32] = scalar_matmul_F32,
        [PLUMB_TYPE_F16] = scalar_matmul_F16,
        [PLUMB_TYPE_BF16] = scalar_matmul_BF16,
        [PLUMB_TYPE_Q4_0] = scalar_matmul_Q4_0,
        [PLUMB_TYPE_Q4_1] = scalar_matmul_Q4_1,
        [PLUMB_TYPE_Q5_0] = scalar_matmul_Q5_0,
        [PLUMB_TYPE_Q5_1] = scalar_matmul_Q5_1,
        [PLUMB_TYPE_Q8_0] = scalar_matmul_Q8_0,
        [PLUMB_TYPE_Q2_K] = scalar_matmul_Q2_K,
        [PLUMB_TYPE_Q3_K] = scalar_matmul_Q3_K,
        [PLUMB_TYPE_Q4_K] = scalar_matmul_Q4_K,
        [PLUMB_TYPE_Q5_K] = scalar_matmul_Q5_K,
        [PLUMB_TYPE_Q6_K] = scalar_matmul_Q6_K,
    },
    .rmsnorm = scalar_rmsnorm,
    .rope = scalar_rope,
    .softmax = scalar_softmax,
    .attention = scalar_attention,
    .silu_mul = scalar_silu_mul,
    .add = scalar_add,
};

const struct plumb_kernels *kernels_scalar(void)
{
    return &scalar_set;
}
