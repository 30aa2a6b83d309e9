/*
 * kernels.h: the kernel-set interface: every operation the forward pass
 * needs, as a table of function pointers.
 *
 * The scalar set (engine/kernels/scalar.c) is the specification: plain loops
 * in index order. Other sets (SIMD, plugins compiled against this header)
 * fill in the operations they speed up and leave the rest NULL; a NULL entry
 * is inherited from the scalar set by kernels_resolve(). A set states its
 * accuracy class, which names the tolerance policy it is checked with.
 *
 * This header is self-contained (only <stddef.h>/<stdint.h>) so a plugin can
 * be built against it alone. Bump PLUMB_KERNELS_ABI on any change to the
 * struct or to an operation's contract.
 *
 * Shapes use ggml's convention: a weight matrix W has rows of n elements
 * (ne[0] = n), one row per output. Activations are float, row-major, one row
 * of `n` floats per token.
 */
#ifndef PLUMB_KERNELS_H
#define PLUMB_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define PLUMB_KERNELS_ABI 1
#define PLUMB_KERNELS_MAX_TYPES 43 /* = PLUMB_TYPE_COUNT: one slot per ggml type id */

enum plumb_accuracy {
    PLUMB_ACCURACY_EXACT = 0,     /* bit-identical to the scalar spec (policy exact) */
    PLUMB_ACCURACY_SIMD = 1,      /* float math, sums reordered (policy simd) */
    PLUMB_ACCURACY_QUANTIZED = 2  /* activations quantized to 8 bits (policy quantized) */
};

/*
 * Matrix product over a range of rows and a batch of tokens:
 *   SPEC: out[t*out_stride + r] = sum_i W[r, i] * x[t*n + i]
 *         for r in [r0, r1), t in [0, n_tok)
 * W is row_size bytes per row of the weight type; row r starts at
 * (const char *)w + r * row_size. scratch holds at least n floats (a
 * dequantized row) and is private to the calling thread.
 */
typedef void (*plumb_matmul_fn)(float *out, int64_t out_stride, const void *w, size_t row_size,
                                const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,
                                float *scratch);

/*
 * Causal attention for one query position and a range of heads:
 *   for h in [h0, h1), with g = h / (n_heads / n_kv_heads) its kv head:
 *     s[p]   = scale * sum_i q[h*hd + i] * k[p*kv_dim + g*hd + i]   p in [0, n_kv)
 *     a      = softmax(s)
 *     out[h*hd + i] = sum_p a[p] * v[p*kv_dim + g*hd + i]
 * k and v hold n_kv cached positions (the query's own included). att is
 * scratch of at least n_kv floats, private to the calling thread.
 */
typedef void (*plumb_attention_fn)(float *out, const float *q, const float *k, const float *v,
                                   int64_t n_kv, int64_t n_heads, int64_t n_kv_heads, int64_t hd,
                                   int64_t h0, int64_t h1, float scale, float *att);

struct plumb_kernels {
    uint32_t abi;                   /* PLUMB_KERNELS_ABI */
    const char *name;               /* "scalar", "avx2", ... */
    enum plumb_accuracy accuracy;

    /* Indexed by ggml type id of the weights; NULL = scalar's. */
    plumb_matmul_fn matmul[PLUMB_KERNELS_MAX_TYPES];

    /* SPEC: ss = sum_i (double)(x[i]*x[i]); s = 1/sqrtf((float)(ss/n) + eps);
     *       out[i] = (x[i] * s) * w[i] */
    void (*rmsnorm)(float *out, const float *x, const float *w, int64_t n, float eps);

    /* SPEC: for each head h and pair i < hd/2, with c = cos_t[i], s = sin_t[i]:
     *   (x0, x1) = (x[h*hd + 2i], x[h*hd + 2i + 1])
     *   x[h*hd + 2i] = x0*c - x1*s;  x[h*hd + 2i + 1] = x0*s + x1*c */
    void (*rope)(float *x, int64_t n_heads, int64_t hd, const float *cos_t, const float *sin_t);

    /* SPEC: m = max x; e[i] = exp(x[i] - m); S = sum_i (double)e[i];
     *       x[i] = e[i] * (float)(1/S) */
    void (*softmax)(float *x, int64_t n);

    plumb_attention_fn attention;

    /* SPEC: out[i] = (g[i] / (1 + exp(-g[i]))) * u[i] */
    void (*silu_mul)(float *out, const float *g, const float *u, int64_t n);

    /* SPEC: out[i] = a[i] + b[i] */
    void (*add)(float *out, const float *a, const float *b, int64_t n);
};

#endif
