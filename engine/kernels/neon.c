/*
 * neon.c: the "neon" kernel set: AArch64 Advanced SIMD (NEON), accuracy
 * class SIMD (float kernels that only reorder float sums; activations are
 * never quantized).
 *
 * NEON is part of the AArch64 base architecture, so this file needs no
 * target flags of its own and the set runs on every aarch64 CPU; on other
 * architectures it compiles to nothing (the registry names "neon" there only
 * to say it is built for aarch64).
 *
 * The kernels themselves are simd_ops.h's, shared with avx2.c and
 * avx512.c; this file is their vector layer, and simd_codes_neon.h reads
 * the block formats. A vector of 16 floats is four 128-bit registers
 * (v[k] = elements 4k..4k+3); a dot product's partial sums are four
 * registers too, element i of every 32-element group going to register
 * (i / 4) % 4, lane i % 4: partial sum i % 16, the same sixteen sums, in the
 * same order, as avx2's two 8-lane registers. Every multiply-add is one
 * vfmaq_f32 (fused, one rounding, as avx2's vfmadd) and vacc_sum folds the
 * registers in avx2's tree, so neon's matmul and attention give avx2's bits;
 * the elementwise operations give the scalar spec's bits, as avx2's do
 * (`make cross-aarch64` compares neon's dumps with avx2's, bit for bit).
 * The numerics, and which scalar function each kernel must match, are
 * described in simd_ops.h.
 */
#include "neon.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#if !defined(__ARM_NEON)
#error "neon.c needs Advanced SIMD (do not build it with -mgeneral-regs-only)"
#endif

#include "simd_codes_neon.h"

/* Tile shapes by register count (32 vector registers; a vhalf and a vacc
 * take four each); no Arm hardware timed them. */
#define SIMD_DEC_R 4 /* decode tile: 4 rows x 1 token = 16 accumulators */
#define SIMD_DEC_T 1
#define SIMD_BAT_R 2 /* batch micro-kernel: 2 rows x 2 tokens = 16 accumulators, */
#define SIMD_BAT_T 2 /* + 8 for the two weight vectors + 4 for an activation vector */
#define SIMD_KC 512  /* batch path: elements of a row dequantized at a time */

typedef struct {
    float32x4_t v[4];
} vhalf;

SIMD_INLINE vhalf vh_loadu(const float *p)
{
    vhalf r = {{vld1q_f32(p), vld1q_f32(p + 4), vld1q_f32(p + 8), vld1q_f32(p + 12)}};
    return r;
}

SIMD_INLINE void vh_storeu(float *p, vhalf a)
{
    for (int k = 0; k < 4; k++)
        vst1q_f32(p + 4 * k, a.v[k]);
}

SIMD_INLINE void vh_keep(vhalf *v) { (void)v; } /* 32 registers: the tiles fit */

SIMD_INLINE vhalf vh_set1(float a)
{
    float32x4_t s = vdupq_n_f32(a);
    vhalf r = {{s, s, s, s}};
    return r;
}

/* One operation on each of the four registers: r.v[k] = OP(a.v[k], b.v[k]). */
#define VH_LANEWISE(NAME, OP)                                                                      \
    SIMD_INLINE vhalf NAME(vhalf a, vhalf b)                                                       \
    {                                                                                              \
        vhalf r;                                                                                   \
        for (int k = 0; k < 4; k++)                                                                \
            r.v[k] = OP(a.v[k], b.v[k]);                                                           \
        return r;                                                                                  \
    }
VH_LANEWISE(vh_add, vaddq_f32)
VH_LANEWISE(vh_sub, vsubq_f32)
VH_LANEWISE(vh_mul, vmulq_f32)

/* a > b ? a : b per lane (a NaN in a is skipped, as x86's maxps does; NEON's
 * vmaxq_f32 would return the NaN). */
SIMD_INLINE float32x4_t vq_max_skip_nan(float32x4_t a, float32x4_t b)
{
    return vbslq_f32(vcgtq_f32(a, b), a, b);
}
VH_LANEWISE(vh_max, vq_max_skip_nan)

/* a*b + c, one rounding. */
SIMD_INLINE vhalf vh_fma(vhalf a, vhalf b, vhalf c)
{
    vhalf r;
    for (int k = 0; k < 4; k++)
        r.v[k] = vfmaq_f32(c.v[k], a.v[k], b.v[k]);
    return r;
}

/* The largest lane (no lane is NaN: vh_max skipped them). */
SIMD_INLINE float vh_hmax(vhalf a)
{
    return vmaxvq_f32(vmaxq_f32(vmaxq_f32(a.v[0], a.v[1]), vmaxq_f32(a.v[2], a.v[3])));
}

/* Any lane outside [lo, hi], or NaN (both comparisons false). */
SIMD_INLINE bool vh_outside(vhalf x, float lo, float hi)
{
    const float32x4_t l = vdupq_n_f32(lo), h = vdupq_n_f32(hi);
    uint32x4_t in = vdupq_n_u32(0xffffffffu);
    for (int k = 0; k < 4; k++)
        in = vandq_u32(in, vandq_u32(vcgeq_f32(x.v[k], l), vcleq_f32(x.v[k], h)));
    return vminvq_u32(in) == 0;
}

/* Sixteen int8 codes as floats (int8 -> int16 -> int32 -> float, exact). */
SIMD_INLINE vhalf vh_from_i8(int8x16_t c)
{
    const int16x8_t lo = vmovl_s8(vget_low_s8(c)), hi = vmovl_high_s8(c);
    vhalf r = {{vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), vcvtq_f32_s32(vmovl_high_s16(lo)),
                vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), vcvtq_f32_s32(vmovl_high_s16(hi))}};
    return r;
}

/* Sixteen fp16 at p (any alignment: byte loads), widened exactly. */
SIMD_INLINE vhalf vh_from_f16(const uint8_t *p)
{
    const float16x8_t a = vreinterpretq_f16_u8(vld1q_u8(p));
    const float16x8_t b = vreinterpretq_f16_u8(vld1q_u8(p + 16));
    vhalf r = {{vcvt_f32_f16(vget_low_f16(a)), vcvt_high_f32_f16(a), vcvt_f32_f16(vget_low_f16(b)),
                vcvt_high_f32_f16(b)}};
    return r;
}

/* Sixteen bf16 at p: each is the top half of its float's bits. */
SIMD_INLINE vhalf vh_from_bf16(const uint8_t *p)
{
    const uint16x8_t a = vreinterpretq_u16_u8(vld1q_u8(p));
    const uint16x8_t b = vreinterpretq_u16_u8(vld1q_u8(p + 16));
    vhalf r = {{vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(a), 16)),
                vreinterpretq_f32_u32(vshll_high_n_u16(a, 16)),
                vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(b), 16)),
                vreinterpretq_f32_u32(vshll_high_n_u16(b, 16))}};
    return r;
}

/* (x0, x1, x2, x3, ...) -> (x1, x0, x3, x2, ...) */
SIMD_INLINE vhalf vh_swap_pairs(vhalf a)
{
    vhalf r;
    for (int k = 0; k < 4; k++)
        r.v[k] = vrev64q_f32(a.v[k]);
    return r;
}

/* 8 floats p[0..7] -> (p0, p0, p1, p1, ..., p7, p7) */
SIMD_INLINE vhalf vh_dup_pairs(const float *p)
{
    const float32x4_t a = vld1q_f32(p), b = vld1q_f32(p + 4);
    vhalf r = {{vzip1q_f32(a, a), vzip2q_f32(a, a), vzip1q_f32(b, b), vzip2q_f32(b, b)}};
    return r;
}

/* Flip the sign bit of lanes 0, 2, 4, ... (exact negation). */
SIMD_INLINE vhalf vh_negate_even(vhalf a)
{
    static const uint32_t sign[4] = {0x80000000u, 0, 0x80000000u, 0};
    const uint32x4_t s = vld1q_u32(sign);
    vhalf r;
    for (int k = 0; k < 4; k++)
        r.v[k] = vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(a.v[k]), s));
    return r;
}

struct vacc {
    float32x4_t v[4];
};

SIMD_INLINE void vacc_zero(struct vacc *a)
{
    for (int k = 0; k < 4; k++)
        a->v[k] = vdupq_n_f32(0.0f);
}

/* Both half-groups feed the same four registers: elements 4k..4k+3 of a
 * half to v[k], i.e. element i of the group to partial sum i % 16. */
SIMD_INLINE void vacc_fma(struct vacc *a, int h, vhalf w, vhalf x)
{
    (void)h;
    for (int k = 0; k < 4; k++)
        a->v[k] = vfmaq_f32(a->v[k], w.v[k], x.v[k]);
}

/* avx2's tree over the sixteen partial sums p[0..15] (p[i] = v[i/4] lane
 * i%4): s8[l] = p[l] + p[l+8], s4[l] = s8[l] + s8[l+4], s2[l] = s4[l] +
 * s4[l+2], then s2[0] + s2[1]. */
SIMD_INLINE float vacc_sum(const struct vacc *a)
{
    const float32x4_t s8_lo = vaddq_f32(a->v[0], a->v[2]), s8_hi = vaddq_f32(a->v[1], a->v[3]);
    const float32x4_t s4 = vaddq_f32(s8_lo, s8_hi);
    const float32x2_t s2 = vadd_f32(vget_low_f32(s4), vget_high_f32(s4));
    return vget_lane_f32(s2, 0) + vget_lane_f32(s2, 1);
}

typedef float64x2_t vdbl;
#define VD_PER_HALF 8

SIMD_INLINE vdbl vd_set1(double a) { return vdupq_n_f64(a); }
SIMD_INLINE vdbl vd_add(vdbl a, vdbl b) { return vaddq_f64(a, b); }
SIMD_INLINE vdbl vd_sub(vdbl a, vdbl b) { return vsubq_f64(a, b); }
SIMD_INLINE vdbl vd_mul(vdbl a, vdbl b) { return vmulq_f64(a, b); }
SIMD_INLINE vdbl vd_div(vdbl a, vdbl b) { return vdivq_f64(a, b); }
SIMD_INLINE vdbl vd_neg(vdbl a) { return vnegq_f64(a); } /* flips the sign bit only */

SIMD_INLINE void vd_widen(vhalf x, vdbl d[VD_PER_HALF])
{
    for (int k = 0; k < 4; k++) {
        d[2 * k] = vcvt_f64_f32(vget_low_f32(x.v[k]));
        d[2 * k + 1] = vcvt_high_f64_f32(x.v[k]);
    }
}

/* Each double rounded to float to nearest even (FPCR's mode, checked by
 * fpenv.c before the engine runs). */
SIMD_INLINE vhalf vh_narrow(const vdbl d[VD_PER_HALF])
{
    vhalf r;
    for (int k = 0; k < 4; k++)
        r.v[k] = vcvt_high_f32_f64(vcvt_f32_f64(d[2 * k]), d[2 * k + 1]);
    return r;
}

/* k = trunc(kd + copysign(0.5, kd)): mathfn.c's kd >= 0 ? kd + 0.5 : kd - 0.5
 * (they differ only for kd = -0, where both give 0), converted to integer
 * toward zero as C's (int32_t) cast does (vcvtq_s64_f64; |kd| < 2^31 is the
 * caller's business), and p2 = 2^k built from its exponent bits. */
SIMD_INLINE void vd_round_pow2(vdbl kd, vdbl *k, vdbl *p2)
{
    const uint64x2_t sign = vandq_u64(vreinterpretq_u64_f64(kd), vdupq_n_u64(0x8000000000000000u));
    const uint64x2_t half_bits = vreinterpretq_u64_f64(vdupq_n_f64(0.5));
    const vdbl half = vreinterpretq_f64_u64(vorrq_u64(sign, half_bits));
    const int64x2_t ki = vcvtq_s64_f64(vaddq_f64(kd, half));
    *k = vcvtq_f64_s64(ki);
    *p2 = vreinterpretq_f64_s64(vshlq_n_s64(vaddq_s64(ki, vdupq_n_s64(1023)), 52));
}

#include "simd_ops.h"

static const struct plumb_kernels neon_set = SIMD_KERNEL_SET("neon");

const struct plumb_kernels *kernels_neon(void)
{
    return &neon_set;
}

#else /* not aarch64: the registry has no such set (kernels_foreign) */

typedef int neon_unused; /* ISO C wants a translation unit to declare something */

#endif
