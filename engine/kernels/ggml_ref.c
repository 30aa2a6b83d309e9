/*
 * ggml_ref.c: the `ggml` kernel set: plumb computing what llama.cpp's CPU
 * backend computes, rounding included.
 *
 * What it is. llama.cpp's CPU matrix product does not multiply the weights
 * with the float activations: it first converts each activation row to the
 * weight type's "dot type", then takes the dot product there:
 *   weight type              activation becomes          dot product
 *   f16                      fp16 (round to nearest even) fp16 x fp16 in float
 *   bf16                     bf16 (round to nearest even) bf16 x bf16 in float
 *   q4_0, q5_0, q8_0         q8_0 blocks of 32            integer per block, then
 *   q4_1, q5_1               q8_1 blocks of 32 (+ sum)      one float combination
 *   q4_k, q5_k, q6_k         q8_K blocks of 256             per block (below)
 * This set does the same in plain scalar C, so its result differs from
 * llama.cpp's only by the order of float additions (ggml's SIMD lanes), not
 * by rounding: plumb predicts llama.cpp instead of bounding it. f32 weights
 * and every other operation (RMSNorm, RoPE, attention with an f32 KV cache,
 * softmax, SwiGLU) already compute in ggml what the scalar set computes:
 * those entries are NULL, inherited from the scalar set.
 *
 * What it is not: a faithful copy of any one SIMD build, and not the
 * reference (the scalar set is). Accuracy class QUANTIZED.
 *
 * Which ggml code it follows (ggml 0.25, llama.cpp as vendored by
 * llama-cpp-python 0.3.36):
 * - q8_0 and q8_1 activations: ggml-cpu/arch/x86/quants.c, the AVX/AVX2
 *   quantize_row_q8_0/q8_1 (what an x86-64 build runs):
 *     amax = max |x|; d = amax / 127; id = amax ? 127 / amax : 0;
 *     q = round_half_even(x * id); stored d = fp16(d);
 *     q8_1 only: s = fp16(d * sum q)  (d the float, before fp16 rounding)
 *   (ggml's portable quantize_row_q8_0_ref uses id = 1/d and rounds halves
 *   away from zero; its ARM code uses id = 1/d and rounds to even. The
 *   results differ only when x * id lands within an ulp of a half.)
 * - q8_K activations: quantize_row_q8_K_ref on every architecture
 *   (plumb's quants_quant_q8_k, bit-exact with it).
 * - Dot products: the integer sums are exact (and so identical in every
 *   ggml variant); the float combination per block is ggml's:
 *     q4_0, q5_0, q8_0:  sumf += (fp16(w.d) * fp16(a.d)) * sumi
 *     q4_1, q5_1:        sumf += (fp16(w.d) * fp16(a.d)) * sumi + fp16(w.m) * fp16(a.s)
 *     q4_k, q5_k:        the generic code's 8 integer lanes: lane l sums
 *                        scale * q_w * q_a over elements l mod 8;
 *                        sums[l] += (fp16(w.d) * a.d) * lane[l];
 *                        sumf -= (fp16(w.dmin) * a.d) * sum_g bsums[g] * min[g/2];
 *                        at the end sumf += sums[0] + ... + sums[7]
 *     q6_k:              the same lanes, no mins
 *   (for q4_0 ggml's generic code writes (sumi * d_w) * d_a; the AVX2 code
 *   that runs computes d_w * d_a first, as here.)
 *
 * Block layouts (bytes; fp16 fields little-endian; plumb's quants.c draws
 * them bit by bit):
 *   q4_0  [d:2][qs:16]              element j: qs[j] & 15, element j+16: qs[j] >> 4; q - 8
 *   q4_1  [d:2][m:2][qs:16]         as q4_0, q unsigned; w = d*q + m
 *   q5_0  [d:2][qh:4][qs:16]        as q4_0 plus bit j (j+16) of qh as bit 4; q - 16
 *   q5_1  [d:2][m:2][qh:4][qs:16]   as q5_0, q unsigned; w = d*q + m
 *   q8_0  [d:2][qs:32 int8]
 *   q8_1  [d:2][s:2][qs:32 int8]
 *   q4_K  [d:2][dmin:2][scales:12][qs:128]            8 sub-blocks of 32
 *   q5_K  [d:2][dmin:2][scales:12][qh:32][qs:128]     8 sub-blocks of 32
 *   q6_K  [ql:128][qh:64][scales:16 int8][d:2]        16 sub-blocks of 16
 *   q8_K  [d:4 f32][qs:256 int8][bsums:16 x i16]      bsums: sums of 16
 *
 * Determinism: everything is in index order and the activation
 * quantization is a pure function of the row, so the set is
 * bit-reproducible like the scalar one (any batching, any thread count).
 */
#include "ggml_ref.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "dtype.h"
#include "quants.h"

enum {
    GR_QK = 32,     /* elements per block of the legacy formats */
    GR_QK_K = 256,  /* elements per super-block of the K formats */
    GR_Q4_0 = 18, GR_Q4_1 = 20, GR_Q5_0 = 22, GR_Q5_1 = 24, GR_Q8_0 = 34, GR_Q8_1 = 36,
    GR_Q4_K = 144, GR_Q5_K = 176, GR_Q6_K = 210, GR_Q8_K = 292 /* bytes per block */
};

_Static_assert(GR_Q8_K <= 4 * GR_QK_K && GR_Q8_1 <= 4 * GR_QK,
               "a quantized activation row fits in the n floats of scratch");

static float gr_f16(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return dtype_fp16_to_fp32(h);
}

static void gr_put_f16(uint8_t *p, float f)
{
    uint16_t h = dtype_fp32_to_fp16(f);
    memcpy(p, &h, sizeof h);
}

/* ggml's nearest_int: round half to even by adding 1.5 * 2^23, for
 * |f| <= 2^22 (activations scaled to [-127, 127]). */
static int gr_round(float f)
{
    float v = f + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* ---- activation quantizers ---- */

/* One block of 32 as x86 ggml's quantize_row_q8_0/q8_1: q into qs, returns
 * d (float, before fp16 rounding) and the sum of the q. */
static float gr_q8_block(const float *x, int8_t *qs, int *sum)
{
    float amax = 0.0f;
    for (int j = 0; j < GR_QK; j++) {
        float a = fabsf(x[j]);
        if (a > amax)
            amax = a;
    }
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int s = 0;
    for (int j = 0; j < GR_QK; j++) {
        int q = gr_round(x[j] * id);
        qs[j] = (int8_t)q;
        s += q;
    }
    *sum = s;
    return d;
}

void ggml_ref_quantize_q8_0(const float *x, void *dst, int64_t n)
{
    uint8_t *y = dst;
    for (int64_t b = 0; b < n / GR_QK; b++, x += GR_QK, y += GR_Q8_0) {
        int8_t qs[GR_QK];
        int sum;
        gr_put_f16(y, gr_q8_block(x, qs, &sum));
        memcpy(y + 2, qs, sizeof qs);
    }
}

void ggml_ref_quantize_q8_1(const float *x, void *dst, int64_t n)
{
    uint8_t *y = dst;
    for (int64_t b = 0; b < n / GR_QK; b++, x += GR_QK, y += GR_Q8_1) {
        int8_t qs[GR_QK];
        int sum;
        float d = gr_q8_block(x, qs, &sum);
        gr_put_f16(y, d);
        gr_put_f16(y + 2, d * (float)sum);
        memcpy(y + 4, qs, sizeof qs);
    }
}

/* ---- dot products of one weight row with one quantized activation row ---- */

/* SPEC: sumf += (d_w * d_a) * sum_j (q_w[j] - 8) * q_a[j], block by block */
static float gr_dot_q4_0(const uint8_t *w, const uint8_t *a, int64_t n)
{
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / GR_QK; b++, w += GR_Q4_0, a += GR_Q8_0) {
        const uint8_t *qs = w + 2;
        const int8_t *q8 = (const int8_t *)(a + 2);
        int sumi = 0;
        for (int j = 0; j < GR_QK / 2; j++)
            sumi += ((qs[j] & 0x0F) - 8) * q8[j] + ((qs[j] >> 4) - 8) * q8[j + GR_QK / 2];
        sumf += (gr_f16(w) * gr_f16(a)) * (float)sumi;
    }
    return sumf;
}

/* SPEC: sumf += (d_w * d_a) * sum_j q_w[j] * q_a[j] + m_w * s_a */
static float gr_dot_q4_1(const uint8_t *w, const uint8_t *a, int64_t n)
{
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / GR_QK; b++, w += GR_Q4_1, a += GR_Q8_1) {
        const uint8_t *qs = w + 4;
        const int8_t *q8 = (const int8_t *)(a + 4);
        int sumi = 0;
        for (int j = 0; j < GR_QK / 2; j++)
            sumi += (qs[j] & 0x0F) * q8[j] + (qs[j] >> 4) * q8[j + GR_QK / 2];
        sumf += (gr_f16(w) * gr_f16(a)) * (float)sumi + gr_f16(w + 2) * gr_f16(a + 2);
    }
    return sumf;
}

/* The 5th bits of a q5 block: bit j of the little-endian u32 qh. */
static uint32_t gr_qh(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* SPEC: sumf += (d_w * d_a) * sum_j (q_w[j] - 16) * q_a[j] */
static float gr_dot_q5_0(const uint8_t *w, const uint8_t *a, int64_t n)
{
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / GR_QK; b++, w += GR_Q5_0, a += GR_Q8_0) {
        uint32_t qh = gr_qh(w + 2);
        const uint8_t *qs = w + 6;
        const int8_t *q8 = (const int8_t *)(a + 2);
        int sumi = 0;
        for (int j = 0; j < GR_QK / 2; j++) {
            int x0 = (int)((qs[j] & 0x0Fu) | ((qh >> j) & 1u) << 4) - 16;
            int x1 = (int)((qs[j] >> 4) | ((qh >> (j + 16)) & 1u) << 4) - 16;
            sumi += x0 * q8[j] + x1 * q8[j + GR_QK / 2];
        }
        sumf += (gr_f16(w) * gr_f16(a)) * (float)sumi;
    }
    return sumf;
}

/* SPEC: sumf += (d_w * d_a) * sum_j q_w[j] * q_a[j] + m_w * s_a */
static float gr_dot_q5_1(const uint8_t *w, const uint8_t *a, int64_t n)
{
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / GR_QK; b++, w += GR_Q5_1, a += GR_Q8_1) {
        uint32_t qh = gr_qh(w + 4);
        const uint8_t *qs = w + 8;
        const int8_t *q8 = (const int8_t *)(a + 4);
        int sumi = 0;
        for (int j = 0; j < GR_QK / 2; j++) {
            int x0 = (int)((qs[j] & 0x0Fu) | ((qh >> j) & 1u) << 4);
            int x1 = (int)((qs[j] >> 4) | ((qh >> (j + 16)) & 1u) << 4);
            sumi += x0 * q8[j] + x1 * q8[j + GR_QK / 2];
        }
        sumf += (gr_f16(w) * gr_f16(a)) * (float)sumi + gr_f16(w + 2) * gr_f16(a + 2);
    }
    return sumf;
}

/* SPEC: sumf += (d_w * d_a) * sum_j q_w[j] * q_a[j] */
static float gr_dot_q8_0(const uint8_t *w, const uint8_t *a, int64_t n)
{
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / GR_QK; b++, w += GR_Q8_0, a += GR_Q8_0) {
        const int8_t *qw = (const int8_t *)(w + 2);
        const int8_t *q8 = (const int8_t *)(a + 2);
        int sumi = 0;
        for (int j = 0; j < GR_QK; j++)
            sumi += qw[j] * q8[j];
        sumf += (gr_f16(w) * gr_f16(a)) * (float)sumi;
    }
    return sumf;
}

/* Scale and min of sub-block j (0..7) from the 12 packed bytes of a q4_K or
 * q5_K block: 6 bits each (ggml's get_scale_min_k4). */
static void gr_scale_min_k4(int j, const uint8_t *q, int *sc, int *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* The q8_K activation block's fields. */
static float gr_q8k_d(const uint8_t *a)
{
    float d;
    memcpy(&d, a, sizeof d);
    return d;
}

static int gr_q8k_bsum(const uint8_t *a, int g)
{
    int16_t s;
    memcpy(&s, a + 4 + GR_QK_K + 2 * g, sizeof s);
    return s;
}

/*
 * The K formats' common tail, as ggml's generic code: q (256 weight quants,
 * scale sc[e / sub] for element e), the activation block a; integer lanes
 * l = e mod 8, then sums[l] += d * lane[l].
 */
static void gr_k_lanes(float sums[8], const int8_t *q, const int *sc, int sub, const uint8_t *a,
                       float d)
{
    const int8_t *q8 = (const int8_t *)(a + 4);
    int32_t lane[8] = {0};
    for (int e = 0; e < GR_QK_K; e++)
        lane[e % 8] += sc[e / sub] * (q8[e] * q[e]);
    for (int l = 0; l < 8; l++)
        sums[l] += d * (float)lane[l];
}

/* q4_K and q5_K (five: the 5th bits in qh): see the file comment. */
static float gr_dot_q45_k(const uint8_t *w, const uint8_t *a, int64_t n, size_t wsize, bool five)
{
    float sums[8] = {0};
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / GR_QK_K; b++, w += wsize, a += GR_Q8_K) {
        const uint8_t *scales = w + 4;
        const uint8_t *qh = w + 16;                 /* q5_K only */
        const uint8_t *qs = w + (five ? 48 : 16);
        int8_t q[GR_QK_K];
        for (int j = 0; j < 4; j++)                 /* 64 elements per 32 bytes of qs */
            for (int l = 0; l < 32; l++) {
                int lo = qs[32 * j + l] & 0xF, hi = qs[32 * j + l] >> 4;
                if (five) {
                    lo += (qh[l] >> (2 * j)) & 1 ? 16 : 0;
                    hi += (qh[l] >> (2 * j + 1)) & 1 ? 16 : 0;
                }
                q[64 * j + l] = (int8_t)lo;
                q[64 * j + 32 + l] = (int8_t)hi;
            }
        int sc[8], mn[8];
        for (int j = 0; j < 8; j++)
            gr_scale_min_k4(j, scales, &sc[j], &mn[j]);
        int sumi = 0;
        for (int g = 0; g < GR_QK_K / 16; g++)
            sumi += gr_q8k_bsum(a, g) * mn[g / 2];
        gr_k_lanes(sums, q, sc, 32, a, gr_f16(w) * gr_q8k_d(a));
        const float dmin = gr_f16(w + 2) * gr_q8k_d(a);
        sumf -= dmin * (float)sumi;
    }
    for (int l = 0; l < 8; l++)
        sumf += sums[l];
    return sumf;
}

static float gr_dot_q4_k(const uint8_t *w, const uint8_t *a, int64_t n)
{
    return gr_dot_q45_k(w, a, n, GR_Q4_K, false);
}

static float gr_dot_q5_k(const uint8_t *w, const uint8_t *a, int64_t n)
{
    return gr_dot_q45_k(w, a, n, GR_Q5_K, true);
}

static float gr_dot_q6_k(const uint8_t *w, const uint8_t *a, int64_t n)
{
    float sums[8] = {0};
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / GR_QK_K; b++, w += GR_Q6_K, a += GR_Q8_K) {
        const uint8_t *ql = w, *qh = w + 128;
        const int8_t *scales = (const int8_t *)(w + 192);
        int8_t q[GR_QK_K];
        for (int h = 0; h < 2; h++, ql += 64, qh += 32)   /* two halves of 128 */
            for (int l = 0; l < 32; l++) {
                int8_t *o = q + 128 * h;
                o[l] = (int8_t)(((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32);
                o[l + 32] = (int8_t)(((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32);
                o[l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
                o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
            }
        int sc[16];
        for (int j = 0; j < 16; j++)
            sc[j] = scales[j];
        gr_k_lanes(sums, q, sc, 16, a, gr_f16(w + 208) * gr_q8k_d(a));
    }
    for (int l = 0; l < 8; l++)
        sumf += sums[l];
    return sumf;
}

/* ---- matrix products ---- */

enum gr_act { GR_ACT_Q8_0, GR_ACT_Q8_1, GR_ACT_Q8_K };

typedef float (*gr_dot_fn)(const uint8_t *w, const uint8_t *a, int64_t n);

/*
 * SPEC: out[t, r] = dot(W[r], quantize(x[t])) for r in [r0, r1): each token's
 * row quantized once into scratch (n floats of room; a quantized row takes
 * at most 292/256 bytes per element), then dotted with every row.
 */
static void gr_matmul_quant(float *out, int64_t out_stride, const void *w, size_t row_size,
                            const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,
                            float *scratch, enum gr_act act, gr_dot_fn dot)
{
    uint8_t *xq = (uint8_t *)scratch;
    for (int64_t t = 0; t < n_tok; t++) {
        const float *xt = x + t * n;
        if (act == GR_ACT_Q8_0)
            ggml_ref_quantize_q8_0(xt, xq, n);
        else if (act == GR_ACT_Q8_1)
            ggml_ref_quantize_q8_1(xt, xq, n);
        else
            quants_quant_q8_k(xt, xq, n);
        for (int64_t r = r0; r < r1; r++)
            out[t * out_stride + r] = dot((const uint8_t *)w + (size_t)r * row_size, xq, n);
    }
}

/*
 * f16 and bf16 weights: SPEC: x rounded to the weight's type, then
 * out[t, r] = sum_i W[r, i] * x16[i] in float, index order (each product
 * of two 11- or 8-bit significands is exact in float).
 */
static void gr_matmul_half(float *out, int64_t out_stride, const void *w, size_t row_size,
                           const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,
                           float *scratch, bool bf16)
{
    for (int64_t t = 0; t < n_tok; t++) {
        for (int64_t i = 0; i < n; i++) {
            float v = x[t * n + i];
            scratch[i] = bf16 ? dtype_bf16_to_fp32(dtype_fp32_to_bf16(v))
                              : dtype_fp16_to_fp32(dtype_fp32_to_fp16(v));
        }
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *wr = (const uint8_t *)w + (size_t)r * row_size;
            float s = 0.0f;
            for (int64_t i = 0; i < n; i++) {
                uint16_t h;
                memcpy(&h, wr + 2 * i, sizeof h);
                s += (bf16 ? dtype_bf16_to_fp32(h) : dtype_fp16_to_fp32(h)) * scratch[i];
            }
            out[t * out_stride + r] = s;
        }
    }
}

#define GR_MATMUL(T, ACT, DOT)                                                                    \
    static void gr_matmul_##T(float *out, int64_t out_stride, const void *w, size_t row_size,     \
                              const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,  \
                              float *scratch)                                                     \
    {                                                                                             \
        gr_matmul_quant(out, out_stride, w, row_size, x, n, n_tok, r0, r1, scratch, ACT, DOT);    \
    }
GR_MATMUL(Q4_0, GR_ACT_Q8_0, gr_dot_q4_0)
GR_MATMUL(Q4_1, GR_ACT_Q8_1, gr_dot_q4_1)
GR_MATMUL(Q5_0, GR_ACT_Q8_0, gr_dot_q5_0)
GR_MATMUL(Q5_1, GR_ACT_Q8_1, gr_dot_q5_1)
GR_MATMUL(Q8_0, GR_ACT_Q8_0, gr_dot_q8_0)
GR_MATMUL(Q4_K, GR_ACT_Q8_K, gr_dot_q4_k)
GR_MATMUL(Q5_K, GR_ACT_Q8_K, gr_dot_q5_k)
GR_MATMUL(Q6_K, GR_ACT_Q8_K, gr_dot_q6_k)

static void gr_matmul_F16(float *out, int64_t out_stride, const void *w, size_t row_size,
                          const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,
                          float *scratch)
{
    gr_matmul_half(out, out_stride, w, row_size, x, n, n_tok, r0, r1, scratch, false);
}

static void gr_matmul_BF16(float *out, int64_t out_stride, const void *w, size_t row_size,
                           const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,
                           float *scratch)
{
    gr_matmul_half(out, out_stride, w, row_size, x, n, n_tok, r0, r1, scratch, true);
}

static const struct plumb_kernels ggml_ref_set = {
    .abi = PLUMB_KERNELS_ABI,
    .name = "ggml",
    .accuracy = PLUMB_ACCURACY_QUANTIZED,
    .matmul = {
        [PLUMB_TYPE_F16] = gr_matmul_F16,
        [PLUMB_TYPE_BF16] = gr_matmul_BF16,
        [PLUMB_TYPE_Q4_0] = gr_matmul_Q4_0,
        [PLUMB_TYPE_Q4_1] = gr_matmul_Q4_1,
        [PLUMB_TYPE_Q5_0] = gr_matmul_Q5_0,
        [PLUMB_TYPE_Q5_1] = gr_matmul_Q5_1,
        [PLUMB_TYPE_Q8_0] = gr_matmul_Q8_0,
        [PLUMB_TYPE_Q4_K] = gr_matmul_Q4_K,
        [PLUMB_TYPE_Q5_K] = gr_matmul_Q5_K,
        [PLUMB_TYPE_Q6_K] = gr_matmul_Q6_K,
    },
};

const struct plumb_kernels *kernels_ggml_ref(void)
{
    return &ggml_ref_set;
}
