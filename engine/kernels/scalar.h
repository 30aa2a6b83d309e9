/*
 * scalar.h: the scalar kernel set, plumb's numerical specification.
 */
#ifndef PLUMB_KERNELS_SCALAR_H
#define PLUMB_KERNELS_SCALAR_H

#include "kernels.h"

/* The scalar set: every operation filled, accuracy EXACT. */
const struct plumb_kernels *kernels_scalar(void);

/* Individual operations, for other sets to finish tails with and for tests. */
void scalar_matmul(float *out, int64_t out_stride, const void *w, size_t row_size, const float *x,
                   int64_t n, int64_t n_tok, int64_t r0, int64_t r1, float *scratch, int type);
void scalar_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps);
void scalar_rope(float *x, int64_t n_heads, int64_t hd, const float *cos_t, const float *sin_t);
void scalar_softmax(float *x, int64_t n);
void scalar_attention(float *out, const float *q, const float *k, const float *v, int64_t n_kv,
                      int64_t n_heads, int64_t n_kv_heads, int64_t hd, int64_t h0, int64_t h1,
                      float scale, float *att);
void scalar_silu_mul(float *out, const float *g, const float *u, int64_t n);
void scalar_add(float *out, const float *a, const float *b, int64_t n);

/* Attention's mix of values for elements [i0, i1) of one head:
 * SPEC: out[i] = sum_p v[p*stride + i] * att[p], p = 0..n_kv-1 in order. */
void scalar_attention_mix(float *out, const float *v, int64_t stride, const float *att,
                          int64_t n_kv, int64_t i0, int64_t i1);

/* Sequential float dot product: SPEC: s = 0; s += a[i]*b[i] for i = 0..n-1. */
float scalar_dot(const float *a, const float *b, int64_t n);

#endif
