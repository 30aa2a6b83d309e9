/*
 * quant_avx2.c: AVX2 quantizers that must give exactly quants.c's bytes.
 * Compiled with -mavx2 -mfma -mf16c (this file only); reached only through
 * dtype_quantizer() when the CPU has AVX2.
 *
 * Why the bytes are the same: every step is the scalar code's step on eight
 * lanes at once, with the same IEEE operations and no reassociation:
 *   amax = max |x|        max is exact and order-free for finite values
 *   d = amax / 127        computed in scalar, as quants_quant_q8_0 does
 *   id = 1 / d (0 if d is 0)
 *   q = round half away from zero (x * id), as round_away in quants.c:
 *       t = trunc(v), r = v - t (exact), t += [r >= 0.5] - [r <= -0.5]
 * Blocks the fast path does not cover (a NaN or Inf in the block, or an id
 * that is not finite) go to the scalar quantizer, block by block.
 */
#include "quant_avx2.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "dtype.h"
#include "quants.h"

#define Q8_0_BYTES 34

void quant_avx2_q8_0(const float *src, void *dst, int64_t n)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 half = _mm256_set1_ps(0.5f);
    const __m256 neg_half = _mm256_set1_ps(-0.5f);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 inf = _mm256_set1_ps(INFINITY);
    uint8_t *out = dst;
    for (int64_t b = 0; b < n / QUANTS_QK; b++) {
        const float *x = src + b * QUANTS_QK;
        uint8_t *blk = out + b * Q8_0_BYTES;
        __m256 v[4], m = _mm256_setzero_ps();
        __m256 finite = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            __m256 a = _mm256_andnot_ps(sign, v[k]);
            finite = _mm256_and_ps(finite, _mm256_cmp_ps(a, inf, _CMP_LT_OQ));
            m = _mm256_max_ps(m, a);
        }
        if (_mm256_movemask_ps(finite) != 0xff) {
            quants_quant_q8_0(x, blk, QUANTS_QK);
            continue;
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        if (!isfinite(id)) {
            quants_quant_q8_0(x, blk, QUANTS_QK);
            continue;
        }
        uint16_t dh = dtype_fp32_to_fp16(d);
        memcpy(blk, &dh, 2);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256 s = _mm256_mul_ps(v[k], vid);
            __m256 t = _mm256_cvtepi32_ps(_mm256_cvttps_epi32(s));
            __m256 r = _mm256_sub_ps(s, t);
            __m256 up = _mm256_and_ps(_mm256_cmp_ps(r, half, _CMP_GE_OQ), one);
            __m256 down = _mm256_and_ps(_mm256_cmp_ps(r, neg_half, _CMP_LE_OQ), one);
            t = _mm256_sub_ps(_mm256_add_ps(t, up), down);
            q[k] = _mm256_cvttps_epi32(t); /* exact: an integer in [-127, 127] */
        }
        /* 32 x int32 -> 32 x int8, in order (packs work per 128-bit lane) */
        __m256i p01 = _mm256_packs_epi32(q[0], q[1]);
        __m256i p23 = _mm256_packs_epi32(q[2], q[3]);
        __m256i p = _mm256_packs_epi16(p01, p23);
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(blk + 2), p);
    }
}

#endif /* __x86_64__ */
