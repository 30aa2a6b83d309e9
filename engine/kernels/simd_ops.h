/*
 * simd_ops.h: the SIMD kernel bodies, written once against a small vector
 * layer that avx2.c (two 8-lane registers per vector of 16 floats),
 * avx512.c (one 16-lane register) and neon.c (four 4-lane registers) each
 * define before including this file, after including their reader of the
 * block formats (simd_codes.h on x86, simd_codes_neon.h on aarch64).
 * Everything here is static; each including file compiles it with its own
 * target flags. Not a public header.
 *
 * The vector layer (names the including file must define):
 *   vhalf            16 floats; vh_loadu/vh_storeu/vh_set1/vh_add/vh_sub/
 *                    vh_mul (each one IEEE rounding per lane), vh_fma (a*b+c,
 *                    one rounding), vh_max (a > b ? a : b per lane, so a NaN
 *                    in a is skipped), vh_hmax, vh_outside (any lane outside
 *                    [lo, hi] or NaN), vh_from_i8 (the 16 int8 codes
 *                    simd_codes returns, exact),
 *                    vh_from_f16/vh_from_bf16 (16 values, exact),
 *                    vh_swap_pairs, vh_dup_pairs, vh_negate_even (RoPE)
 *   struct vacc      one dot product's partial sums, P of them: element i
 *                    of every 32-element group goes to partial sum i % P
 *                    (P = 16 for avx2, two 8-lane registers, and neon,
 *                    four 4-lane registers; 32 for avx512, two 16-lane
 *                    registers, one per half-group). vacc_zero,
 *                    vacc_fma(a, h, w, x) for half-group h (elements 16h..
 *                    16h+15 of the group), vacc_sum (a fixed tree: for
 *                    avx2 and avx512 the two registers added, then halves
 *                    of the register folded; neon folds its four registers
 *                    to the same tree as avx2, so the two give the same
 *                    bits).
 *   vdbl, VD_PER_HALF  doubles; vd_set1/add/sub/mul/div/neg, vd_widen (a
 *                    vhalf to VD_PER_HALF vdbl), vh_narrow (back, rounding
 *                    to nearest even), vd_round_pow2 (k = (int)(kd +- 0.5)
 *                    as mathfn.c rounds it, and 2^k)
 *   SIMD_DEC_R, SIMD_DEC_T  rows and tokens of the decode tile
 *   SIMD_BAT_R, SIMD_BAT_T  rows and tokens of the batch micro-kernel, and
 *                    vh_keep (a hint to hold a weight vector in a register
 *                    across the tokens), SIMD_KC its chunk of a row
 *   optionally SIMD_LUT with vh_iota, vh_lut_nibbles, vh_lut_fives and
 *                    vh_byte_bits: table lookups for the 4- and 5-bit
 *                    formats (struct simd_block)
 *   optionally SIMD_OWN_DECODE(type, out, out_stride, w, row_size, x, n,
 *                    n_tok, r0, r1): the set's own decode path (n_tok <=
 *                    SIMD_DEC_T) for the types it returns true for, giving
 *                    simd_tile's bits exactly (avx512.c: fewer instructions
 *                    per weight)
 *
 * Numerics (the accuracy class SIMD; tests/test_kernels.c pins every claim):
 * - matmul: out[t, r] is one dot product of the dequantized row with token
 *   t's activations. The row's first n_vec = (n rounded down to 32) elements
 *   are summed in P lane-wise partial sums with FMA, in index order within
 *   each lane, then added by vacc_sum's fixed tree; the remaining n - n_vec
 *   elements (plain float types only: quantized rows are whole blocks) are
 *   summed by scalar_dot, the spec, and added last. Dequantized weights are
 *   bit-identical to quants.c's. So each output depends only on its row, its
 *   token and n: not on the thread split (rows), the batch (tokens), nor
 *   which path (decode tile or batch micro-kernel) computed it.
 *   Against the spec: both are sums of the same n products, each with at
 *   most n roundings on any term's path, so |simd - scalar| <=
 *   2 gamma_n sum|w_i x_i| ~ n 2^-23 sum|w_i x_i| (Higham, ch. 3).
 * - attention: the scores are the matmul above (rows = cached keys); the
 *   softmax is bit-identical to the spec; the mix of values keeps the
 *   spec's order over positions with one rounding per FMA.
 * - rmsnorm, softmax, silu_mul, add, rope: bit-identical to the spec for
 *   every input that does not produce a NaN (a NaN stays a NaN). exp and
 *   SiLU are mathfn.c's double-precision algorithm run lane by lane with the
 *   same operations in the same order, so they round to the same float;
 *   inputs outside the range where that algorithm applies (and NaN) are
 *   handed to mathfn itself. The double-precision sums of rmsnorm and
 *   softmax stay sequential, as in the spec: reordering them would save
 *   about 0.5% of a TinyLlama decode step (45 sums of 2048 squares, a few
 *   microseconds each) and lose bit-identity.
 */
#ifndef PLUMB_SIMD_OPS_H
#define PLUMB_SIMD_OPS_H

#include <math.h>

#include "mathfn.h"
#include "scalar.h"

#define SIMD_GROUP 32  /* elements per group: two half-groups of 16 */
#define SIMD_TB 32     /* batch path: tokens whose sums stay in memory at once */

#if defined(__clang__)
#define SIMD_UNROLL _Pragma("clang loop unroll(full)")
#else
#define SIMD_UNROLL _Pragma("GCC unroll 16")
#endif

/* ---- exp and SiLU, lane by lane as mathfn.c computes them ---- */

/* mathfn.c's exp_core: e^y in double for |y| <= 120 (same constants, same
 * operations in the same order, no FMA). */
SIMD_INLINE vdbl simd_exp_core(vdbl y)
{
    vdbl k, p2;
    vd_round_pow2(vd_mul(y, vd_set1(0x1.71547652b82fep+0)), &k, &p2);
    vdbl r = vd_sub(y, vd_mul(k, vd_set1(0x1.62e42fefa3800p-1)));
    r = vd_sub(r, vd_mul(k, vd_set1(0x1.ef35793c76730p-45)));
    vdbl p = vd_set1(0x1.6124613a86d09p-33);
    p = vd_add(vd_mul(p, r), vd_set1(0x1.1eed8eff8d898p-29));
    p = vd_add(vd_mul(p, r), vd_set1(0x1.ae64567f544e4p-26));
    p = vd_add(vd_mul(p, r), vd_set1(0x1.27e4fb7789f5cp-22));
    p = vd_add(vd_mul(p, r), vd_set1(0x1.71de3a556c734p-19));
    p = vd_add(vd_mul(p, r), vd_set1(0x1.a01a01a01a01ap-16));
    p = vd_add(vd_mul(p, r), vd_set1(0x1.a01a01a01a01ap-13));
    p = vd_add(vd_mul(p, r), vd_set1(0x1.6c16c16c16c17p-10));
    p = vd_add(vd_mul(p, r), vd_set1(0x1.1111111111111p-7));
    p = vd_add(vd_mul(p, r), vd_set1(0x1.5555555555555p-5));
    p = vd_add(vd_mul(p, r), vd_set1(0x1.5555555555555p-3));
    p = vd_add(vd_mul(p, r), vd_set1(0.5));
    p = vd_add(vd_mul(p, r), vd_set1(1.0));
    p = vd_add(vd_mul(p, r), vd_set1(1.0));
    return vd_mul(p, p2);
}

/* Range of x where mathfn_expf(x) is exp_core rounded to float (outside it
 * the result is 0 or +Inf, and NaN is NaN: mathfn handles those). */
#define SIMD_EXP_LO -110.0f
#define SIMD_EXP_HI 89.0f

/* SPEC: mathfn_expf, lane by lane; every lane in [SIMD_EXP_LO, SIMD_EXP_HI]. */
SIMD_INLINE vhalf simd_expf(vhalf x)
{
    vdbl d[VD_PER_HALF];
    vd_widen(x, d);
    for (int i = 0; i < VD_PER_HALF; i++)
        d[i] = simd_exp_core(d[i]);
    return vh_narrow(d);
}

/* Range of x where mathfn_silu(x) is x / (1 + exp_core(-x)) rounded to float. */
#define SIMD_SILU_LO -120.0f
#define SIMD_SILU_HI 110.0f

/* SPEC: mathfn_silu, lane by lane; every lane in [SIMD_SILU_LO, SIMD_SILU_HI]. */
SIMD_INLINE vhalf simd_silu(vhalf x)
{
    vdbl d[VD_PER_HALF];
    vd_widen(x, d);
    for (int i = 0; i < VD_PER_HALF; i++)
        d[i] = vd_div(d[i], vd_add(vd_set1(1.0), simd_exp_core(vd_neg(d[i]))));
    return vh_narrow(d);
}

/* ---- elementwise operations ---- */

/* SPEC: scalar_add. Bit-identical. */
static void simd_add(float *out, const float *a, const float *b, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        vh_storeu(out + i, vh_add(vh_loadu(a + i), vh_loadu(b + i)));
    scalar_add(out + i, a + i, b + i, n - i);
}

/* SPEC: scalar_silu_mul. Bit-identical (see simd_silu). */
static void simd_silu_mul(float *out, const float *g, const float *u, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        vhalf gv = vh_loadu(g + i);
        if (vh_outside(gv, SIMD_SILU_LO, SIMD_SILU_HI))
            scalar_silu_mul(out + i, g + i, u + i, 16);
        else
            vh_storeu(out + i, vh_mul(simd_silu(gv), vh_loadu(u + i)));
    }
    scalar_silu_mul(out + i, g + i, u + i, n - i);
}

/*
 * SPEC: scalar_rope. Bit-identical: with x = (x0, x1) pairs and the pair's
 * c, s duplicated across both lanes, even lanes compute x0*c + x1*(-s)
 * (= x0*c - x1*s exactly: negation is exact and a + (-b) is a - b) and odd
 * lanes x1*c + x0*s (addition commutes).
 */
static void simd_rope(float *x, int64_t n_heads, int64_t hd, const float *cos_t, const float *sin_t)
{
    for (int64_t h = 0; h < n_heads; h++) {
        float *xh = x + h * hd;
        int64_t i = 0; /* pair index */
        for (; 2 * i + 16 <= hd; i += 8) {
            vhalf v = vh_loadu(xh + 2 * i);
            vhalf c = vh_dup_pairs(cos_t + i), s = vh_negate_even(vh_dup_pairs(sin_t + i));
            vh_storeu(xh + 2 * i, vh_add(vh_mul(v, c), vh_mul(vh_swap_pairs(v), s)));
        }
        if (2 * i < hd) /* the head's last pairs: a "head" of the rest */
            scalar_rope(xh + 2 * i, 1, hd - 2 * i, cos_t + i, sin_t + i);
    }
}

/*
 * SPEC: scalar_rmsnorm. Bit-identical: the sum of squares is the spec's
 * sequential double sum (the products are floats either way); only the
 * scaling is vectorized, with the spec's (x * s) * w per element.
 */
static void simd_rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps)
{
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        ss += (double)(x[i] * x[i]);
    float mean = (float)(ss / (double)n);
    float s = 1.0f / sqrtf(mean + eps);
    vhalf sv = vh_set1(s);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        vh_storeu(out + i, vh_mul(vh_mul(vh_loadu(x + i), sv), vh_loadu(w + i)));
    for (; i < n; i++)
        out[i] = (x[i] * s) * w[i];
}

/*
 * SPEC: scalar_softmax. Bit-identical: the maximum is exact in any order
 * (vh_max skips NaN as the spec's `x > m` does; lanes that end at +0 and -0
 * give the same x - m); the exponentials are mathfn_expf's (simd_expf, or
 * mathfn_expf itself for a vector with a lane outside its range); the sum
 * is the spec's sequential double sum; the scaling is the same product.
 */
static void simd_softmax(float *x, int64_t n)
{
    float m = -INFINITY;
    int64_t i = 0;
    if (n >= 16) {
        vhalf mv = vh_set1(-INFINITY);
        for (; i + 16 <= n; i += 16)
            mv = vh_max(vh_loadu(x + i), mv);
        m = vh_hmax(mv);
    }
    for (; i < n; i++)
        if (x[i] > m)
            m = x[i];

    double sum = 0.0;
    vhalf mv = vh_set1(m);
    for (i = 0; i + 16 <= n; i += 16) {
        vhalf y = vh_sub(vh_loadu(x + i), mv);
        if (vh_outside(y, SIMD_EXP_LO, SIMD_EXP_HI)) {
            for (int j = 0; j < 16; j++)
                x[i + j] = mathfn_expf(x[i + j] - m);
        } else {
            vh_storeu(x + i, simd_expf(y));
        }
        for (int j = 0; j < 16; j++)
            sum += (double)x[i + j];
    }
    for (; i < n; i++) {
        x[i] = mathfn_expf(x[i] - m);
        sum += (double)x[i];
    }
    float inv = (float)(1.0 / sum);
    vhalf iv = vh_set1(inv);
    for (i = 0; i + 16 <= n; i += 16)
        vh_storeu(x + i, vh_mul(vh_loadu(x + i), iv));
    for (; i < n; i++)
        x[i] *= inv;
}

/* ---- matrix products ---- */

/*
 * A block's decoding state. With a lookup layer (SIMD_LUT: vh_lut_nibbles,
 * vh_lut_fives), the 4- and 5-bit formats are decoded by table: for a scale
 * group (a legacy block, or a K-format sub-block of 32) the table holds the
 * dequantized value of every code,
 *     lut[i] = (float)(i - offset) * scale (+ bias)      i = 0..15 or 0..31
 * computed with the same operations as the direct path (and quants.c), so a
 * lookup gives the same bits; it replaces a conversion, a multiply and an
 * add per element with one permute. Legacy blocks build their table at
 * setup; K sub-blocks build theirs where they are decoded (in registers).
 */
struct simd_block {
    struct simd_scales s;
#if defined(SIMD_LUT)
    vhalf lut[2]; /* legacy 4-bit: lut[0]; 5-bit: codes 0..15, 16..31 */
#endif
};

#if defined(SIMD_LUT)
/* The table of codes part*16 .. part*16+15 for scale group k. */
SIMD_INLINE vhalf simd_lut(int type, const struct simd_scales *s, int k, int part)
{
    const float off = type == PLUMB_TYPE_Q4_0 ? 8.0f : type == PLUMB_TYPE_Q5_0 ? 16.0f : 0.0f;
    vhalf v = vh_mul(vh_iota((float)(16 * part) - off), vh_set1(s->scale[k]));
    if (simd_has_bias(type))
        v = vh_add(v, vh_set1(s->bias[k]));
    return v;
}
#endif

/* The block's scales (and tables): once per block, before simd_decode. */
SIMD_INLINE void simd_block_setup(int type, const uint8_t *blk, struct simd_block *b)
{
    simd_setup(type, blk, &b->s);
#if defined(SIMD_LUT)
    switch (type) {
    case PLUMB_TYPE_Q5_0:
    case PLUMB_TYPE_Q5_1:
        b->lut[1] = simd_lut(type, &b->s, 0, 1);
        /* fall through */
    case PLUMB_TYPE_Q4_0:
    case PLUMB_TYPE_Q4_1:
        b->lut[0] = simd_lut(type, &b->s, 0, 0);
        break;
    default:
        break;
    }
#endif
}

/* Half-group hg (16 elements) of the block at blk, dequantized: bit-identical
 * to quants.c / dtype.c. b holds the block's simd_block_setup. */
SIMD_INLINE vhalf simd_decode(int type, const uint8_t *blk, int hg, const struct simd_block *b)
{
    switch (type) {
    case PLUMB_TYPE_F32:
        return vh_loadu((const float *)(const void *)(blk + 64 * hg));
    case PLUMB_TYPE_F16:
        return vh_from_f16(blk + 32 * hg);
    case PLUMB_TYPE_BF16:
        return vh_from_bf16(blk + 32 * hg);
#if defined(SIMD_LUT)
    case PLUMB_TYPE_Q4_0:
        return vh_lut_nibbles(b->lut[0], blk + 2, hg);
    case PLUMB_TYPE_Q4_1:
        return vh_lut_nibbles(b->lut[0], blk + 4, hg);
    case PLUMB_TYPE_Q5_0:
        return vh_lut_fives(b->lut[0], b->lut[1], blk + 6, hg, (simd_u32(blk + 2) >> (16 * hg)) & 0xffffu);
    case PLUMB_TYPE_Q5_1:
        return vh_lut_fives(b->lut[0], b->lut[1], blk + 8, hg, (simd_u32(blk + 4) >> (16 * hg)) & 0xffffu);
    case PLUMB_TYPE_Q4_K: {
        const int g = hg >> 1, half = hg & 1;
        return vh_lut_nibbles(simd_lut(type, &b->s, g, 0), blk + 16 + 32 * (g >> 1) + 16 * half,
                              g & 1);
    }
    case PLUMB_TYPE_Q5_K: {
        const int g = hg >> 1, half = hg & 1;
        return vh_lut_fives(simd_lut(type, &b->s, g, 0), simd_lut(type, &b->s, g, 1),
                            blk + 48 + 32 * (g >> 1) + 16 * half, g & 1,
                            vh_byte_bits(blk + 16 + 16 * half, g));
    }
#endif
    default: {
        const int k = simd_scale_index(type, hg);
        vhalf v = vh_mul(vh_from_i8(simd_codes(type, blk, hg)), vh_set1(b->s.scale[k]));
        if (simd_has_bias(type))
            v = vh_add(v, vh_set1(b->s.bias[k]));
        return v;
    }
    }
}

/* Elements of a row summed in vector lanes (the rest is the scalar tail). */
SIMD_INLINE int64_t simd_n_vec(int64_t n)
{
    return n / SIMD_GROUP * SIMD_GROUP;
}

/* The dot of the row's tail elements [n_vec, n) with xt's, by the spec:
 * the float types' tail converted as dtype.c does, then scalar_dot. */
static float simd_tail_dot(int type, const uint8_t *row, const float *xt, int64_t n, int64_t n_vec)
{
    float tmp[SIMD_GROUP];
    const float *wt = tmp;
    if (type == PLUMB_TYPE_F32)
        wt = (const float *)(const void *)row + n_vec;
    else if (type == PLUMB_TYPE_F16)
        dtype_f16_to_float(row + 2 * n_vec, tmp, n - n_vec);
    else
        dtype_bf16_to_float(row + 2 * n_vec, tmp, n - n_vec);
    return scalar_dot(wt, xt + n_vec, n - n_vec);
}

/* One output from its partial sums and the row's tail. */
SIMD_INLINE float simd_finish(int type, const struct vacc *a, const uint8_t *row, const float *xt,
                              int64_t n, int64_t n_vec)
{
    if (n_vec == n)
        return vacc_sum(a);
    float tail = simd_tail_dot(type, row, xt, n, n_vec);
    return n_vec ? vacc_sum(a) + tail : tail;
}

/*
 * The decode tile: R rows times T tokens, every element of the rows'
 * vector part, dequantized in registers: per half-group, each token's 16
 * activations are loaded once and each row's 16 weights decoded once, then
 * R*T FMAs. Row i of the tile starts at w + i*rstride bytes and its outputs
 * go to out[t*out_stride + i*out_rstep].
 */
SIMD_INLINE void simd_tile(int type, int R, int T, float *out, int64_t out_stride,
                           int64_t out_rstep, const uint8_t *w, size_t rstride, const float *x,
                           int64_t n)
{
    const size_t bb = simd_block_bytes(type);
    const int be = simd_block_elems(type);
    const int64_t n_vec = simd_n_vec(n), nblk = n_vec / be;
    struct vacc acc[SIMD_DEC_R][SIMD_DEC_T];
    struct simd_block sc[SIMD_DEC_R];
    SIMD_UNROLL for (int r = 0; r < R; r++) {
        SIMD_UNROLL for (int t = 0; t < T; t++)
            vacc_zero(&acc[r][t]);
    }
    for (int64_t bi = 0; bi < nblk; bi++) {
        const uint8_t *blk = w + (size_t)bi * bb;
        if (!simd_is_float(type)) {
            SIMD_UNROLL for (int r = 0; r < R; r++)
                simd_block_setup(type, blk + (size_t)r * rstride, &sc[r]);
        }
        SIMD_UNROLL for (int hg = 0; hg < be / 16; hg += 2) {
            SIMD_UNROLL for (int h = 0; h < 2; h++) {
                vhalf xv[SIMD_DEC_T];
                SIMD_UNROLL for (int t = 0; t < T; t++)
                    xv[t] = vh_loadu(x + t * n + bi * be + 16 * (hg + h));
                SIMD_UNROLL for (int r = 0; r < R; r++) {
                    vhalf wv = simd_decode(type, blk + (size_t)r * rstride, hg + h, &sc[r]);
                    SIMD_UNROLL for (int t = 0; t < T; t++)
                        vacc_fma(&acc[r][t], h, wv, xv[t]);
                }
            }
        }
    }
    SIMD_UNROLL for (int r = 0; r < R; r++) {
        SIMD_UNROLL for (int t = 0; t < T; t++)
            out[t * out_stride + r * out_rstep] =
                simd_finish(type, &acc[r][t], w + (size_t)r * rstride, x + t * n, n, n_vec);
    }
}

/* Rows [k0, k0 + kc) of one row dequantized into dst (k0, kc whole blocks). */
SIMD_INLINE void simd_dequant(int type, const uint8_t *row, int64_t k0, int64_t kc, float *dst)
{
    const size_t bb = simd_block_bytes(type);
    const int be = simd_block_elems(type);
    struct simd_block sc;
    for (int64_t e = 0; e < kc; e += be) {
        const uint8_t *blk = row + (size_t)((k0 + e) / be) * bb;
        if (!simd_is_float(type))
            simd_block_setup(type, blk, &sc);
        for (int hg = 0; hg < be / 16; hg++)
            vh_storeu(dst + e + 16 * hg, simd_decode(type, blk, hg, &sc));
    }
}

/*
 * The batch micro-kernel: R rows of float weights (wp[r], kc elements) times
 * T tokens (x + t*n), continuing the partial sums acc[i0 + r][t0 + t] (or
 * starting them at zero). Per half-group: R weight loads, T activation
 * loads, R*T FMAs.
 */
SIMD_INLINE void simd_micro(int R, int T, const float *const *wp, const float *x, int64_t n,
                            int64_t kc, struct vacc acc[][SIMD_TB], int i0, int64_t t0, bool first)
{
    struct vacc a[SIMD_BAT_R][SIMD_BAT_T];
    SIMD_UNROLL for (int r = 0; r < R; r++) {
        SIMD_UNROLL for (int t = 0; t < T; t++) {
            if (first)
                vacc_zero(&a[r][t]);
            else
                a[r][t] = acc[i0 + r][t0 + t];
        }
    }
    for (int64_t k = 0; k < kc; k += SIMD_GROUP) {
        SIMD_UNROLL for (int h = 0; h < 2; h++) {
            vhalf wv[SIMD_BAT_R];
            SIMD_UNROLL for (int r = 0; r < R; r++) {
                wv[r] = vh_loadu(wp[r] + k + 16 * h);
                vh_keep(&wv[r]);
            }
            SIMD_UNROLL for (int t = 0; t < T; t++) {
                vhalf xv = vh_loadu(x + (t0 + t) * n + k + 16 * h);
                SIMD_UNROLL for (int r = 0; r < R; r++)
                    vacc_fma(&a[r][t], h, wv[r], xv);
            }
        }
    }
    SIMD_UNROLL for (int r = 0; r < R; r++) {
        SIMD_UNROLL for (int t = 0; t < T; t++)
            acc[i0 + r][t0 + t] = a[r][t];
    }
}

/* simd_micro for rr <= SIMD_BAT_R rows and tb tokens: whole tiles, then
 * the leftover tokens one at a time, or one row at a time for a short tile. */
static void simd_micro_any(int rr, const float *const *wp, const float *x, int64_t n, int64_t kc,
                           int64_t tb, struct vacc acc[][SIMD_TB], bool first)
{
    if (rr == SIMD_BAT_R) {
        int64_t t = 0;
        for (; t + SIMD_BAT_T <= tb; t += SIMD_BAT_T)
            simd_micro(SIMD_BAT_R, SIMD_BAT_T, wp, x, n, kc, acc, 0, t, first);
        for (; t < tb; t++)
            simd_micro(SIMD_BAT_R, 1, wp, x, n, kc, acc, 0, t, first);
        return;
    }
    for (int i = 0; i < rr; i++) {
        int64_t t = 0;
        for (; t + SIMD_BAT_T <= tb; t += SIMD_BAT_T)
            simd_micro(1, SIMD_BAT_T, wp + i, x, n, kc, acc, i, t, first);
        for (; t < tb; t++)
            simd_micro(1, 1, wp + i, x, n, kc, acc, i, t, first);
    }
}

/* Bytes of a row's first k elements (k whole blocks). */
SIMD_INLINE size_t simd_chunk_bytes(int type, int64_t k)
{
    return (size_t)(k / simd_block_elems(type)) * simd_block_bytes(type);
}

/* Ask for `bytes` at p into the cache (for reading, kept in every level:
 * x86's prefetcht0, aarch64's prfm pldl1keep). */
static void simd_prefetch(const uint8_t *p, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch(p + off, 0, 3);
}

/* One type's dequantizer for the batch path (specialized per type). */
typedef void (*simd_dequant_fn)(const uint8_t *row, int64_t k0, int64_t kc, float *dst);

/*
 * The batch path: SIMD_BAT_R rows at a time; for each SIMD_KC-element chunk,
 * each row's chunk is dequantized once (into a stack buffer; plain f32 is
 * read in place) and every token of the batch is run over it by the
 * micro-kernel, the partial sums kept in memory between chunks (an exact
 * round trip). Same per-lane operations as simd_tile, so the same bits.
 * As in the decode path, a tile's rows are S apart (tile j holds rows
 * r0 + j + i*S), so the weights are read as SIMD_BAT_R long sequential
 * streams; the rows left over form one last tile of adjacent rows.
 */
static void simd_matmul_batch(int type, simd_dequant_fn dequant, float *out, int64_t out_stride,
                              const void *w, size_t row_size, const float *x, int64_t n,
                              int64_t n_tok, int64_t r0, int64_t r1)
{
    struct vacc acc[SIMD_BAT_R][SIMD_TB];
    float buf[SIMD_BAT_R][SIMD_KC] __attribute__((aligned(64)));
    const int64_t n_vec = simd_n_vec(n), S = (r1 - r0) / SIMD_BAT_R;
    const int64_t n_tiles = S + ((r1 - r0) % SIMD_BAT_R != 0);
    for (int64_t t0 = 0; t0 < n_tok; t0 += SIMD_TB) {
        const int64_t tb = n_tok - t0 < SIMD_TB ? n_tok - t0 : SIMD_TB;
        const float *xb = x + t0 * n;
        for (int64_t j = 0; j < n_tiles; j++) {
            /* the tile's rows: r0 + j + i*S, or the leftover rows side by side */
            const int rr = j < S ? SIMD_BAT_R : (int)((r1 - r0) % SIMD_BAT_R);
            const int64_t first = j < S ? r0 + j : r0 + S * SIMD_BAT_R, step = j < S ? S : 1;
            const uint8_t *row[SIMD_BAT_R];
            for (int i = 0; i < rr; i++)
                row[i] = (const uint8_t *)w + (size_t)(first + i * step) * row_size;
            for (int64_t k0 = 0; k0 < n_vec; k0 += SIMD_KC) {
                const int64_t kc = n_vec - k0 < SIMD_KC ? n_vec - k0 : SIMD_KC;
                const float *wp[SIMD_BAT_R];
                for (int i = 0; i < rr; i++) {
                    /* the next chunk of this row, fetched while this one computes */
                    if (k0 + SIMD_KC < n_vec)
                        simd_prefetch(row[i] + simd_chunk_bytes(type, k0 + SIMD_KC),
                                      simd_chunk_bytes(type, SIMD_KC));
                    if (type == PLUMB_TYPE_F32) {
                        wp[i] = (const float *)(const void *)row[i] + k0;
                    } else {
                        dequant(row[i], k0, kc, buf[i]);
                        wp[i] = buf[i];
                    }
                }
                simd_micro_any(rr, wp, xb + k0, n, kc, tb, acc, k0 == 0);
            }
            for (int i = 0; i < rr; i++)
                for (int64_t t = 0; t < tb; t++)
                    out[(t0 + t) * out_stride + first + i * step] =
                        simd_finish(type, &acc[i][t], row[i], xb + t * n, n, n_vec);
        }
    }
}

/*
 * The matrix product for one type: small batches (decode) through the
 * in-register tile, larger ones through the batch path. The decode tile
 * takes rows S apart (S = the range's rows / SIMD_DEC_R), so that it reads
 * SIMD_DEC_R long sequential streams the hardware prefetcher follows, not
 * SIMD_DEC_R short rows side by side; the leftover rows go one at a time.
 */
SIMD_INLINE void simd_matmul(int type, simd_dequant_fn dequant, float *out, int64_t out_stride,
                             const void *w, size_t row_size, const float *x, int64_t n,
                             int64_t n_tok, int64_t r0, int64_t r1)
{
    if (n_tok > SIMD_DEC_T) {
        simd_matmul_batch(type, dequant, out, out_stride, w, row_size, x, n, n_tok, r0, r1);
        return;
    }
#if defined(SIMD_OWN_DECODE)
    /* a set's own decode path for some types (same bits as simd_tile's) */
    if (SIMD_OWN_DECODE(type, out, out_stride, w, row_size, x, n, n_tok, r0, r1))
        return;
#endif
    const uint8_t *wb = w;
    const int64_t S = (r1 - r0) / SIMD_DEC_R;
    for (int64_t j = 0; j < S; j++) {
        const int64_t r = r0 + j;
        if (n_tok == 1)
            simd_tile(type, SIMD_DEC_R, 1, out + r, out_stride, S, wb + (size_t)r * row_size,
                      (size_t)S * row_size, x, n);
        else
            simd_tile(type, SIMD_DEC_R, SIMD_DEC_T, out + r, out_stride, S,
                      wb + (size_t)r * row_size, (size_t)S * row_size, x, n);
    }
    for (int64_t r = r0 + S * SIMD_DEC_R; r < r1; r++) {
        if (n_tok == 1)
            simd_tile(type, 1, 1, out + r, out_stride, 0, wb + (size_t)r * row_size, row_size, x, n);
        else
            simd_tile(type, 1, SIMD_DEC_T, out + r, out_stride, 0, wb + (size_t)r * row_size,
                      row_size, x, n);
    }
}

/*
 * One matmul entry per weight type (the table is indexed by type id), and
 * its batch-path dequantizer.
 *   SPEC: scalar_matmul (out[t, r] = sum_i W[r, i] * x[t, i])
 */
#define SIMD_MATMUL(T, NAME)                                                                       \
    static void simd_dequant_##NAME(const uint8_t *row, int64_t k0, int64_t kc, float *dst)        \
    {                                                                                              \
        simd_dequant(PLUMB_TYPE_##T, row, k0, kc, dst);                                            \
    }                                                                                              \
    static void simd_matmul_##NAME(float *out, int64_t out_stride, const void *w, size_t row_size,  \
                                   const float *x, int64_t n, int64_t n_tok, int64_t r0,           \
                                   int64_t r1, float *scratch)                                     \
    {                                                                                              \
        (void)scratch;                                                                             \
        simd_matmul(PLUMB_TYPE_##T, simd_dequant_##NAME, out, out_stride, w, row_size, x, n,      \
                    n_tok, r0, r1);                                                                \
    }
SIMD_MATMUL(F32, f32)
SIMD_MATMUL(F16, f16)
SIMD_MATMUL(BF16, bf16)
SIMD_MATMUL(Q4_0, q4_0)
SIMD_MATMUL(Q4_1, q4_1)
SIMD_MATMUL(Q5_0, q5_0)
SIMD_MATMUL(Q5_1, q5_1)
SIMD_MATMUL(Q8_0, q8_0)
SIMD_MATMUL(Q4_K, q4_k)
SIMD_MATMUL(Q5_K, q5_k)
SIMD_MATMUL(Q6_K, q6_k)

/* ---- attention ---- */

/*
 * SPEC: scalar_attention. Scores: the f32 matmul above with the cached keys
 * as rows (so the same dot products as a matmul would give), times scale;
 * softmax: simd_softmax (bit-identical); the mix of values: 64 or 16
 * elements of the head at a time, positions in the spec's order, one FMA per
 * term; the head's last hd % 16 elements by the spec (scalar_attention_mix).
 */
static void simd_attention(float *out, const float *q, const float *k, const float *v,
                           int64_t n_kv, int64_t n_heads, int64_t n_kv_heads, int64_t hd,
                           int64_t h0, int64_t h1, float scale, float *att)
{
    const int64_t kv_dim = n_kv_heads * hd, group = n_heads / n_kv_heads;
    const size_t key_stride = (size_t)kv_dim * sizeof(float);
    for (int64_t h = h0; h < h1; h++) {
        const int64_t g = h / group;
        simd_matmul_f32(att, 0, k + g * hd, key_stride, q + h * hd, hd, 1, 0, n_kv, NULL);
        int64_t p = 0;
        vhalf sv = vh_set1(scale);
        for (; p + 16 <= n_kv; p += 16)
            vh_storeu(att + p, vh_mul(vh_loadu(att + p), sv));
        for (; p < n_kv; p++)
            att[p] = att[p] * scale;
        simd_softmax(att, n_kv);

        float *oh = out + h * hd;
        const float *vg = v + g * hd;
        int64_t i = 0;
        for (; i + 64 <= hd; i += 64) {
            vhalf a0 = vh_set1(0.0f), a1 = a0, a2 = a0, a3 = a0;
            for (p = 0; p < n_kv; p++) {
                const float *vp = vg + p * kv_dim + i;
                vhalf ap = vh_set1(att[p]);
                a0 = vh_fma(vh_loadu(vp), ap, a0);
                a1 = vh_fma(vh_loadu(vp + 16), ap, a1);
                a2 = vh_fma(vh_loadu(vp + 32), ap, a2);
                a3 = vh_fma(vh_loadu(vp + 48), ap, a3);
            }
            vh_storeu(oh + i, a0);
            vh_storeu(oh + i + 16, a1);
            vh_storeu(oh + i + 32, a2);
            vh_storeu(oh + i + 48, a3);
        }
        for (; i + 16 <= hd; i += 16) {
            vhalf a0 = vh_set1(0.0f);
            for (p = 0; p < n_kv; p++)
                a0 = vh_fma(vh_loadu(vg + p * kv_dim + i), vh_set1(att[p]), a0);
            vh_storeu(oh + i, a0);
        }
        if (i < hd)
            scalar_attention_mix(oh, vg, kv_dim, att, n_kv, i, hd);
    }
}

/* The set's table: every operation filled (Q2_K and Q3_K fall back to the
 * scalar spec through kernels_resolve). */
#define SIMD_KERNEL_SET(NAME)                                                                      \
    {                                                                                              \
        .abi = PLUMB_KERNELS_ABI, .name = NAME, .accuracy = PLUMB_ACCURACY_SIMD,                   \
        .matmul =                                                                                  \
            {                                                                                      \
                [PLUMB_TYPE_F32] = simd_matmul_f32,                                                \
                [PLUMB_TYPE_F16] = simd_matmul_f16,                                                \
                [PLUMB_TYPE_BF16] = simd_matmul_bf16,                                              \
                [PLUMB_TYPE_Q4_0] = simd_matmul_q4_0,                                              \
                [PLUMB_TYPE_Q4_1] = simd_matmul_q4_1,                                              \
                [PLUMB_TYPE_Q5_0] = simd_matmul_q5_0,                                              \
                [PLUMB_TYPE_Q5_1] = simd_matmul_q5_1,                                              \
                [PLUMB_TYPE_Q8_0] = simd_matmul_q8_0,                                              \
                [PLUMB_TYPE_Q4_K] = simd_matmul_q4_k,                                              \
                [PLUMB_TYPE_Q5_K] = simd_matmul_q5_k,                                              \
                [PLUMB_TYPE_Q6_K] = simd_matmul_q6_k,                                              \
            },                                                                                     \
        .rmsnorm = simd_rmsnorm, .rope = simd_rope, .softmax = simd_softmax,                       \
        .attention = simd_attention, .silu_mul = simd_silu_mul, .add = simd_add,                   \
    }

#endif
