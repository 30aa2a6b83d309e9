/*
 * avx512_vnni.c: the "avx512-vnni" kernel set: the quantized weight types
 * multiplied with integer dot products (AVX-512 VNNI), accuracy class
 * QUANTIZED. Every other entry (f32, f16, bf16 weights, RMSNorm, RoPE,
 * attention, ...) is the avx512 set's float kernel, copied from its table.
 *
 * Why it exists. A float kernel dequantizes every weight to a float and
 * multiplies it in an FMA: for the 4- to 6-bit formats that is compute-bound
 * on two cores, below the memory's read bandwidth. Rounding the activation
 * row to 8-bit integers once per token lets one vpdpbusd multiply 64 weights
 * by 64 activations and add them in fours, exactly, in 32-bit integers; the
 * float work drops to one FMA per 32 (or 256) weights.
 *
 * What it computes: the ggml set's arithmetic (ggml_ref.c, which follows
 * llama.cpp's CPU backend) with the float additions in another order.
 * - The activations are rounded exactly as the ggml set rounds them (the
 *   tests hold the values equal on finite input):
 *     32-element formats (q4_0, q4_1, q5_0, q5_1, q8_0): ggml's x86 q8_0/q8_1
 *       blocks, amax / 127 scale, round half even, stored per token as
 *       d[n/32], s[n/32] and q[n] in the order the weights are read
 *       (avx512_vnni.h);
 *     K formats (q4_K, q5_K, q6_K): q8_K blocks, quants_quant_q8_k's bytes.
 * - Integer part, exact: per block of 32, sum q_w * q_a with unsigned
 *   weights (q8_0's signed ones enter vpdpbusd as q + 128); K formats
 *   multiply each sub-block's sum by its 6- or 8-bit scale in 32-bit
 *   integers (vpmaddubsw, then vpdpwssd), subtract q6_K's offset 32 there,
 *   and sum the whole super-block of 256 before any float is formed.
 * - Float part: 32-element formats: 16 float lanes per row accumulate
 *   (d_w * d_a) * partial integer sum, 4 or 8 lanes per block; a second
 *   accumulator adds per block m_w * s_a (the min formats) or d_w * s_a,
 *   s_a = -offset * d_a * sum q_a (the offset's share, exact: 8 for q4_0,
 *   16 for q5_0, 128 for q8_0). K formats: one FMA of (d_w * d_a) with the
 *   super-block's 16 integer lanes, and (dmin_w * d_a) times the mins'
 *   integer sums. Each row ends with a fixed-order sum of its lanes.
 * Determinism: each output is computed by the same instructions in the same
 * order whatever the row range, the thread count or the number of tokens in
 * the call, so the set is bit-reproducible like the others.
 *
 * Range, as for the ggml set: activation scales are fp16, so activations
 * below ~2^-24 * 127 underflow to zero and q8_1 sums above 65504 overflow
 * (kcheck's quantized class skips those inputs). A block with a NaN or an
 * infinity is rounded by the reference code itself.
 *
 * Work layout: tokens are rounded three at a time into the thread's scratch
 * (n floats = 4n bytes; a rounded token takes 1.25n bytes for the 32-element
 * formats and 1.14n for the K formats), then each row is dotted with them,
 * one row at a time, its bytes prefetched VN_AHEAD ahead.
 *
 * Beyond AVX-512 F/BW/VL and VNNI it uses VBMI (vpermt2b picks a unit's
 * quants and 5th bits out of its bytes), BITALG (vpshufbitqmb turns those
 * bits into byte masks) and GFNI (a nibble shift, or a shift and a mask, as
 * one vgf2p8affineqb): every CPU with VNNI and VBMI so far (Ice Lake, Zen 4
 * and later) has the other two.
 */
#include "avx512_vnni.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || \
    !defined(__AVX512VNNI__) || !defined(__AVX512VBMI__) || !defined(__AVX512BITALG__) || \
    !defined(__GFNI__) || !defined(__F16C__)
#error "avx512_vnni.c needs -mavx512{f,bw,vl,vnni,vbmi,bitalg} -mgfni -mf16c (see Makefile)"
#endif

#include "avx512.h"
#include "dtype.h"
#include "ggml_ref.h"
#include "quants.h"
#include "simd_blocks.h"

#define VN_INLINE SIMD_INLINE

enum {
    VN_QK = 32,      /* elements per block, 32-element formats */
    VN_QK_K = 256,   /* elements per super-block, K formats */
    VN_Q8_K = 292,   /* bytes per q8_K block: d f32, 256 int8, 16 int16 sums */
    VN_TOKENS = 3,   /* tokens rounded into scratch at once */
    VN_GROUP = 16,   /* blocks whose scales are fetched at once */
    /* bytes ahead of the blocks being read that each row is prefetched
     * (a prefetch never faults; past a row's end it fetches the next rows'
     * bytes). Measured with `plumb bench --ops --threads 2`, 14336 x 4096
     * matvecs, alternating builds at ~78 GB/s: 1024 left the 4-bit formats
     * at 35-60% of the read rate, 4096 and 8192 lifted q4_0 to 67-80% and
     * q6_K to 86-97%; 8192 was as good or better for every type, 16384 no
     * better. */
    VN_AHEAD = 8192
};

_Static_assert(VN_TOKENS * 5 <= 4 * 4 && VN_TOKENS * VN_Q8_K <= 4 * VN_QK_K,
               "VN_TOKENS rounded tokens fit in the n floats of scratch");

/* Fixed-order sum of 16 lanes. */
VN_INLINE float vn_hsum(__m512 v)
{
    __m256 a = _mm256_add_ps(_mm512_castps512_ps256(v),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(b);
}

VN_INLINE float vn_hsum8(__m256 v)
{
    __m128 b = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    b = _mm_add_ps(b, _mm_movehl_ps(b, b));
    b = _mm_add_ss(b, _mm_movehdup_ps(b));
    return _mm_cvtss_f32(b);
}

/* An fp16 field as a float (F16C, inline: a call in the K loop made gcc
 * spill the accumulators around it). Exact, as every fp16 is a float. */
VN_INLINE float vn_f16(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h);
}

/* The float an fp16 field holding f would give back. */
static float vn_via_f16(float f)
{
    return dtype_fp16_to_fp32(dtype_fp32_to_fp16(f));
}

/* 32 bytes at p, in both halves of a zmm. */
VN_INLINE __m512i vn_twice256(const uint8_t *p)
{
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(const void *)p));
}

/* Lanes of x whose magnitude is finite. */
VN_INLINE __mmask16 vn_finite(__m512 x)
{
    const __m512 mag = _mm512_abs_ps(x);
    return _mm512_cmp_ps_mask(mag, _mm512_set1_ps(INFINITY), _CMP_LT_OQ);
}

VN_INLINE __m512i vn_round(__m512 v)
{
    return _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* ---- activation rounding ---- */

/* What vpdpbusd's unsigned weights exceed the format's values by. */
VN_INLINE int vn_offset(int type)
{
    return type == PLUMB_TYPE_Q4_0 ? 8 : type == PLUMB_TYPE_Q5_0 ? 16 : type == PLUMB_TYPE_Q8_0 ? 128 : 0;
}

/* Where element e of block b goes in a rounded token's quants: in the
 * nibble formats' units of four blocks (all but the last nb % 4 blocks),
 * elements 0-15 of the unit's blocks come first, block by block, then
 * elements 16-31, matching a unit's low and high nibbles; elsewhere in
 * order. */
static int64_t vn_act_at(int type, int64_t nb, int64_t b, int e)
{
    if (type == PLUMB_TYPE_Q8_0 || b >= nb / 4 * 4)
        return VN_QK * b + e;
    return 128 * (b / 4) + 64 * (e / 16) + 16 * (b % 4) + e % 16;
}

void avx512_vnni_act_legacy(const float *x, void *dst, int64_t n, int type)
{
    const int64_t nb = n / VN_QK;
    float *d = dst, *s = d + nb;
    int8_t *q = (int8_t *)(s + nb);
    const bool has_min = type == PLUMB_TYPE_Q4_1 || type == PLUMB_TYPE_Q5_1;
    const float off = (float)vn_offset(type);
    for (int64_t b = 0; b < nb; b++, x += VN_QK) {
        const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        int8_t qb[VN_QK];
        float scale_h, sum_h;
        int sum;
        if ((vn_finite(x0) & vn_finite(x1)) != 0xffff) {
            uint8_t blk[36]; /* a q8_1 block: d, s, 32 quants */
            ggml_ref_quantize_q8_1(x, blk, VN_QK);
            scale_h = vn_f16(blk);
            sum_h = vn_f16(blk + 2);
            memcpy(qb, blk + 4, VN_QK);
            sum = 0;
            for (int e = 0; e < VN_QK; e++)
                sum += qb[e];
        } else {
            /* the ggml set's gr_q8_block: max is exact in any order */
            const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
            const float scale = amax / 127.0f;
            const float inv = amax != 0.0f ? 127.0f / amax : 0.0f;
            const __m512 vinv = _mm512_set1_ps(inv);
            /* x * inv is within [-127, 127]: rounding to nearest even there is
             * what the ggml set's add-1.5*2^23 trick computes */
            const __m512i q0 = vn_round(_mm512_mul_ps(x0, vinv));
            const __m512i q1 = vn_round(_mm512_mul_ps(x1, vinv));
            _mm_storeu_si128((__m128i *)(void *)qb, _mm512_cvtepi32_epi8(q0));
            _mm_storeu_si128((__m128i *)(void *)(qb + 16), _mm512_cvtepi32_epi8(q1));
            sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1)); /* exact */
            scale_h = vn_via_f16(scale);
            sum_h = vn_via_f16(scale * (float)sum);
        }
        d[b] = scale_h;
        /* the min formats: q8_1's s; the others: the offset's share,
         * -off * d * sum q, exact (11 x 12 significant bits, off a power of 2) */
        s[b] = has_min ? sum_h : -off * scale_h * (float)sum;
        for (int h = 0; h < 2; h++) /* 16 elements stay together in either layout */
            memcpy(q + vn_act_at(type, nb, b, 16 * h), qb + 16 * h, 16);
    }
}

void avx512_vnni_act_q8_k(const float *x, void *dst, int64_t n)
{
    uint8_t *y = dst;
    for (int64_t b = 0; b < n / VN_QK_K; b++, x += VN_QK_K, y += VN_Q8_K) {
        __m512 v[16], mag = _mm512_setzero_ps();
        __mmask16 fin = 0xffff;
        for (int k = 0; k < 16; k++) {
            v[k] = _mm512_loadu_ps(x + 16 * k);
            fin &= vn_finite(v[k]);
            mag = _mm512_max_ps(mag, _mm512_abs_ps(v[k]));
        }
        if (fin != 0xffff) {
            quants_quant_q8_k(x, y, VN_QK_K);
            continue;
        }
        const float amax = _mm512_reduce_max_ps(mag);
        if (amax == 0.0f) {
            memset(y, 0, VN_Q8_K);
            continue;
        }
        /* quants_quant_q8_k scales by the first element of largest magnitude,
         * sign included */
        int at = 0;
        for (int k = 0; k < 16; k++) {
            __mmask16 hit = _mm512_cmp_ps_mask(_mm512_abs_ps(v[k]),
                                               _mm512_set1_ps(amax), _CMP_EQ_OQ);
            if (hit) {
                at = 16 * k + __builtin_ctz(hit);
                break;
            }
        }
        const float iscale = -127.f / x[at];
        const __m512 vs = _mm512_set1_ps(iscale);
        for (int k = 0; k < 16; k++) {
            __m512i qk = _mm512_min_epi32(vn_round(_mm512_mul_ps(v[k], vs)), _mm512_set1_epi32(127));
            _mm_storeu_si128((__m128i *)(void *)(y + 4 + 16 * k), _mm512_cvtepi32_epi8(qk));
            int16_t bsum = (int16_t)_mm512_reduce_add_epi32(qk);
            memcpy(y + 4 + VN_QK_K + 2 * k, &bsum, sizeof bsum);
        }
        const float dd = 1 / iscale;
        memcpy(y, &dd, sizeof dd);
    }
}

/* ---- 32-element formats ---- */

/* Where a 4- or 5-bit block's 16 bytes of packed quants start. */
VN_INLINE int vn_qs_at(int type)
{
    return type == PLUMB_TYPE_Q4_0 ? 2 : type == PLUMB_TYPE_Q4_1 ? 4 : type == PLUMB_TYPE_Q5_0 ? 6 : 8;
}

/*
 * The unsigned quants of blocks b (bytes 0-31, element order) and b + 1
 * (bytes 32-63; zero, and not read, unless two), from blk = block b.
 */
VN_INLINE __m512i vn_pair_quants(int type, const uint8_t *blk, size_t bs, bool two)
{
    if (type == PLUMB_TYPE_Q8_0) {
        __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)(blk + 2));
        __m256i hi = two ? _mm256_loadu_si256((const __m256i *)(const void *)(blk + bs + 2))
                         : _mm256_setzero_si256();
        __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        return _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80)); /* q + 128 */
    }
    const int qs = vn_qs_at(type);
    /* 128-bit lanes: qs(b), qs(b), qs(b+1), qs(b+1); the 2nd and 4th shifted
     * right by 4: low nibbles are elements 0-15, high ones 16-31 */
    __m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)(blk + qs)));
    if (two)
        v = _mm512_mask_broadcast_i32x4(v, 0xff00,
                                        _mm_loadu_si128((const __m128i *)(const void *)(blk + bs + qs)));
    else
        v = _mm512_maskz_mov_epi64(0x0f, v);
    const __m512i shift = _mm512_set_epi64(0x0004000400040004, 0x0004000400040004, 0, 0,
                                           0x0004000400040004, 0x0004000400040004, 0, 0);
    v = _mm512_and_si512(_mm512_srlv_epi16(v, shift), _mm512_set1_epi8(0x0f));
    if (type == PLUMB_TYPE_Q5_0 || type == PLUMB_TYPE_Q5_1) {
        const int qh = type == PLUMB_TYPE_Q5_0 ? 2 : 4; /* bit j: 5th bit of element j */
        uint32_t h0, h1 = 0;
        memcpy(&h0, blk + qh, sizeof h0);
        if (two)
            memcpy(&h1, blk + bs + qh, sizeof h1);
        v = _mm512_mask_add_epi8(v, (__mmask64)h0 | (__mmask64)h1 << 32, v, _mm512_set1_epi8(16));
    }
    return v;
}

/*
 * The fp16 fields at p + j * bs (j < g; words 0-15) and, when both, also
 * those at p + j * bs + 2 (words 16-31: the min formats' m), zeros for
 * j >= g, reading no byte at or past p + avail. Every field sits at an even
 * distance from p, so a word permute of two 64-byte loads picks out the
 * fields of the blocks that fall in those 128 bytes (8 blocks of q4_0, 4
 * of q8_0). A vpgatherdd measured 5x slower than the whole float kernel
 * here (Zen 5), and 16 scalar loads cost a third of the kernel's time.
 */
VN_INLINE __m512i vn_fields(const uint8_t *p, size_t bs, int g, size_t avail, bool both)
{
    const int per = (int)((both ? 124 : 126) / bs) + 1; /* blocks whose fields lie in 128 bytes */
    const __m512i j = _mm512_set_epi16(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13,
                                       12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    /* word of field j: j * bs / 2, + 1 for the m in words 16-31 */
    const __m512i at = _mm512_add_epi16(_mm512_mullo_epi16(j, _mm512_set1_epi16((short)(bs / 2))),
                                        _mm512_maskz_set1_epi16(0xffff0000u, 1));
    __m512i out = _mm512_setzero_si512();
    _Pragma("GCC unroll 4") for (int j0 = 0; j0 < VN_GROUP; j0 += per) {
        if (j0 >= g)
            break;
        const size_t from = (size_t)j0 * bs;
        const size_t left = avail - from;
        const __mmask64 m0 = left >= 64 ? ~0ull : (1ull << left) - 1;
        const __mmask64 m1 = left >= 128 ? ~0ull : left <= 64 ? 0 : (1ull << (left - 64)) - 1;
        const __m512i lo = _mm512_maskz_loadu_epi8(m0, p + from);
        const __m512i hi = _mm512_maskz_loadu_epi8(m1, p + from + 64);
        const __m512i idx = _mm512_sub_epi16(at, _mm512_set1_epi16((short)(from / 2)));
        const int last = j0 + per < g ? j0 + per : g;
        const uint32_t blocks = ((1u << last) - 1) & ~((1u << j0) - 1);
        const __mmask32 keep = both ? blocks | blocks << 16 : blocks;
        out = _mm512_mask_mov_epi16(out, keep, _mm512_permutex2var_epi16(lo, idx, hi));
    }
    return out;
}

/*
 * Blocks b and b + 1 of one row (b alone unless two; q8_0, and the nibble
 * formats' last nb % 4 blocks): the integer sums times d_w * d_a (lanes at,
 * at + 1 of scale) added to acc; the offset is the caller's. `two` is a
 * constant wherever this is inlined, so the full pairs use plain loads.
 */
VN_INLINE __m512 vn_pair_step(int type, __m512 acc, __m512 scale, const uint8_t *blk,
                              const int8_t *aq, int at, bool two)
{
    const size_t bs = simd_block_bytes(type);
    const __m512i a = two ? _mm512_loadu_si512(aq) : _mm512_maskz_loadu_epi8(0xffffffffull, aq);
    const __m512i pair = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i lanes = _mm512_add_epi32(pair, _mm512_set1_epi32(at));
    __m512i wq = vn_pair_quants(type, blk, bs, two);
    __m512 sum = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, a));
    return _mm512_fmadd_ps(_mm512_permutexvar_ps(lanes, scale), sum, acc);
}

/*
 * A unit of four blocks of one row (blk: the first), nibble formats: their
 * quants side by side as 128-bit lanes, picked from the unit's 4 * bs bytes
 * by one byte permute; the low nibbles (elements 0-15) and the high ones
 * (16-31) each one vpdpbusd against the token's matching unit (aq). Lanes
 * 4k..4k+3 belong to block k, so they take lane at + k of scale.
 */
VN_INLINE __m512 vn_unit_step(int type, __m512 acc, __m512 scale, const uint8_t *blk, const int8_t *aq,
                              int at)
{
    const size_t bs = simd_block_bytes(type);
    const int qs = vn_qs_at(type);
    const bool five = type == PLUMB_TYPE_Q5_0 || type == PLUMB_TYPE_Q5_1;
    /* byte k * bs of the unit in every byte of 128-bit lane k */
    const int kb = (int)bs * 0x01010101;
    const __m512i block_at = _mm512_set_epi32(3 * kb, 3 * kb, 3 * kb, 3 * kb, 2 * kb, 2 * kb, 2 * kb,
                                              2 * kb, kb, kb, kb, kb, 0, 0, 0, 0);
    /* quants: byte 16k + j <- byte k * bs + (offset of qs) + j */
    const __m512i qs_pick = _mm512_add_epi8(
        block_at, _mm512_add_epi8(_mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                                        12, 13, 14, 15)),
                                  _mm512_set1_epi8((char)qs)));
    /* x >> 4 as a GF(2) bit matrix: output bit i is input bit i + 4 */
    const __m512i high_nibble = _mm512_set1_epi64(0x1020408000000000);
    const __m512i u0 = _mm512_loadu_si512(blk);
    const __m512i u1 = _mm512_maskz_loadu_epi8((1ull << (4 * bs - 64)) - 1, blk + 64);
    const __m512i z = _mm512_permutex2var_epi8(u0, qs_pick, u1);
    __m512i lo = _mm512_and_si512(z, _mm512_set1_epi8(0x0f));
    __m512i hi = _mm512_gf2p8affine_epi64_epi8(z, high_nibble, 0);
    if (five) {
        /* bit j of a block's qh is the 5th bit of element j: both 64-bit
         * halves of lane k get block k's qh (one byte permute), then
         * vpshufbitqmb reads bits 0-15 (low nibbles) and 16-31 (high ones)
         * of it straight into the byte masks */
        const __m512i qh_pick = _mm512_add_epi8(
            block_at, _mm512_add_epi8(_mm512_set1_epi64(0x0302010003020100),
                                      _mm512_set1_epi8((char)(type == PLUMB_TYPE_Q5_0 ? 2 : 4))));
        const __m512i qh = _mm512_permutex2var_epi8(u0, qh_pick, u1);
        const __m512i bits_lo = _mm512_broadcast_i32x4(
            _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
        const __m512i bits_hi = _mm512_add_epi8(bits_lo, _mm512_set1_epi8(16));
        lo = _mm512_mask_add_epi8(lo, _mm512_bitshuffle_epi64_mask(qh, bits_lo), lo, _mm512_set1_epi8(16));
        hi = _mm512_mask_add_epi8(hi, _mm512_bitshuffle_epi64_mask(qh, bits_hi), hi, _mm512_set1_epi8(16));
    }
    __m512i isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512(aq));
    isum = _mm512_dpbusd_epi32(isum, hi, _mm512_loadu_si512(aq + 64));
    const __m512i quad = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const __m512i lanes = _mm512_add_epi32(quad, _mm512_set1_epi32(at));
    return _mm512_fmadd_ps(_mm512_permutexvar_ps(lanes, scale), _mm512_cvtepi32_ps(isum), acc);
}

/*
 * One row of a 32-element format dotted with one token rounded by
 * avx512_vnni_act_legacy, sixteen blocks at a time: their d_w (and m_w)
 * fetched at once, then units of four, then pairs.
 */
VN_INLINE float vn_row_legacy(int type, const uint8_t *row, const void *act, int64_t n)
{
    const int64_t nb = n / VN_QK;
    const float *ad = act, *as = ad + nb;
    const int8_t *aq = (const int8_t *)(as + nb);
    const size_t bs = simd_block_bytes(type);
    const bool has_min = type == PLUMB_TYPE_Q4_1 || type == PLUMB_TYPE_Q5_1;
    __m512 acc = _mm512_setzero_ps(), macc = _mm512_setzero_ps();
    for (int64_t b0 = 0; b0 < nb; b0 += VN_GROUP, row += VN_GROUP * bs) {
        const int g = nb - b0 < VN_GROUP ? (int)(nb - b0) : VN_GROUP;
        const __mmask16 gm = (__mmask16)((1u << g) - 1);
        for (size_t at = 0; at < (size_t)g * bs; at += 64)
            _mm_prefetch((const char *)row + VN_AHEAD + at, _MM_HINT_T0);
        const __m512i f = vn_fields(row, bs, g, (size_t)(nb - b0) * bs, has_min);
        const __m512 dw = _mm512_cvtph_ps(_mm512_castsi512_si256(f));
        const __m512 scale = _mm512_mul_ps(dw, _mm512_maskz_loadu_ps(gm, ad + b0));
        /* per block: m_w * s_a (min formats), or d_w * (-off * d_a * sum q_a) */
        const __m512 m = has_min ? _mm512_cvtph_ps(_mm512_extracti64x4_epi64(f, 1)) : dw;
        macc = _mm512_fmadd_ps(m, _mm512_maskz_loadu_ps(gm, as + b0), macc);
        if (g == VN_GROUP && (type == PLUMB_TYPE_Q8_0 || b0 + VN_GROUP <= nb / 4 * 4)) {
            /* a whole group: unrolled, so each step's lanes are a constant */
            if (type == PLUMB_TYPE_Q8_0) {
                _Pragma("GCC unroll 8") for (int p = 0; p < VN_GROUP; p += 2)
                    acc = vn_pair_step(type, acc, scale, row + (size_t)p * bs, aq + VN_QK * (b0 + p), p,
                                       true);
            } else {
                _Pragma("GCC unroll 4") for (int u = 0; u < VN_GROUP; u += 4)
                    acc = vn_unit_step(type, acc, scale, row + (size_t)u * bs, aq + VN_QK * (b0 + u), u);
            }
            continue;
        }
        int done = 0;
        if (type != PLUMB_TYPE_Q8_0) /* whole units of four blocks */
            for (; done + 4 <= g && b0 + done + 4 <= nb / 4 * 4; done += 4)
                acc = vn_unit_step(type, acc, scale, row + (size_t)done * bs, aq + VN_QK * (b0 + done),
                                   done);
        for (; done < g; done += 2) /* pairs; the row's last block may be alone */
            acc = vn_pair_step(type, acc, scale, row + (size_t)done * bs, aq + VN_QK * (b0 + done), done,
                               done + 1 < g);
    }
    return vn_hsum(acc) + vn_hsum(macc);
}

/* ---- K formats ---- */

/* Sub-block scales and mins of a q4_K/q5_K block, 6 bits each from 12
 * bytes: scale j < 4 is byte j's low 6 bits, min j < 4 byte j+4's; for
 * j >= 4 the low 4 bits come from byte j+4 (scale: its low nibble, min: its
 * high one) and the top 2 from the top bits of byte j-4 (scale) or j (min). */
VN_INLINE void vn_scales_k4(const uint8_t *p, __m128i *sc, __m128i *mn)
{
    uint32_t u0, u1, u2;
    memcpy(&u0, p, 4);
    memcpy(&u1, p + 4, 4);
    memcpy(&u2, p + 8, 4);
    const uint32_t sc_lo = u0 & 0x3f3f3f3fu, mn_lo = u1 & 0x3f3f3f3fu;
    const uint32_t sc_hi = (u2 & 0x0f0f0f0fu) | ((u0 >> 6) & 0x03030303u) << 4;
    const uint32_t mn_hi = ((u2 >> 4) & 0x0f0f0f0fu) | ((u1 >> 6) & 0x03030303u) << 4;
    *sc = _mm_setr_epi32((int)sc_lo, (int)sc_hi, 0, 0);
    *mn = _mm_setr_epi32((int)mn_lo, (int)mn_hi, 0, 0);
}

/* Words 0-15 = word a of v, words 16-31 = word b (a scale per 16 pairs). */
VN_INLINE __m512i vn_spread2(__m512i v, int a, int b)
{
    return _mm512_permutexvar_epi16(_mm512_mask_blend_epi16(0xffff0000u, _mm512_set1_epi16((short)a),
                                                            _mm512_set1_epi16((short)b)), v);
}

/* Words 8k..8k+7 = word 4c + k of v (a scale per 8 pairs, q6_K). */
VN_INLINE __m512i vn_spread4(__m512i v, int c)
{
    const __m512i k = _mm512_setr_epi64(0x0000000000000000, 0x0000000000000000, 0x0001000100010001,
                                        0x0001000100010001, 0x0002000200020002, 0x0002000200020002,
                                        0x0003000300030003, 0x0003000300030003);
    return _mm512_permutexvar_epi16(_mm512_add_epi16(k, _mm512_set1_epi16((short)(4 * c))), v);
}

/* One row of a K format dotted with one token of q8_K blocks. */
VN_INLINE float vn_row_k(int type, const uint8_t *blk, const uint8_t *act, int64_t n)
{
    const size_t bs = simd_block_bytes(type);
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    __m512 acc = _mm512_setzero_ps();
    __m256 macc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / VN_QK_K; b++, blk += bs, act += VN_Q8_K) {
        for (size_t off = 0; off < bs; off += 64)
            _mm_prefetch((const char *)blk + VN_AHEAD + off, _MM_HINT_T0);
        float ad;
        memcpy(&ad, act, sizeof ad);
        const int8_t *aq = (const int8_t *)(act + 4);
        const __m256i bsums = _mm256_loadu_si256((const __m256i *)(const void *)(act + 4 + VN_QK_K));
        __m512i isum;
        float d;
        if (type == PLUMB_TYPE_Q6_K) {
            /* ql[128] qh[64] scales[16] d: element e = 4 low bits | 2 high
             * bits << 4, minus 32; 16 sub-blocks of 16 */
            const uint8_t *ql = blk, *qh = blk + 128;
            const __m512i sc = _mm512_cvtepi8_epi16(
                _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(blk + 192))));
            /* the offset: - 32 * sum_g scale_g * (sum of sub-block g's activations) */
            __m256i corr = _mm256_madd_epi16(bsums, _mm512_castsi512_si256(sc));
            isum = _mm512_sub_epi32(_mm512_setzero_si512(),
                                    _mm512_zextsi256_si512(_mm256_slli_epi32(corr, 5)));
            /* word shifts: 4 (first 32 bytes) or 2 left; 0 or 2 right */
            const __m512i two = _mm512_set1_epi16(2), four = _mm512_set1_epi16(4);
            const __m512i hi_a = _mm512_mask_blend_epi16(0xffff0000u, four, two);
            const __m512i hi_b = _mm512_maskz_mov_epi16(0xffff0000u, two);
            const __m512i bits45 = _mm512_set1_epi8(0x30);
            _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
                const __m512i l = _mm512_loadu_si512(ql + 64 * h);
                const __m512i hh = vn_twice256(qh + 32 * h);
                /* elements 128h + 0..63: qh bits 0-1 (first 32), 2-3 (next 32) */
                __m512i qa = _mm512_or_si512(_mm512_and_si512(l, low4),
                                             _mm512_and_si512(_mm512_sllv_epi16(hh, hi_a), bits45));
                /* elements 128h + 64..127: high nibbles, qh bits 4-5, 6-7 */
                __m512i qb = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4),
                                             _mm512_and_si512(_mm512_srlv_epi16(hh, hi_b), bits45));
                __m512i pa = _mm512_maddubs_epi16(qa, _mm512_loadu_si512(aq + 128 * h));
                __m512i pb = _mm512_maddubs_epi16(qb, _mm512_loadu_si512(aq + 128 * h + 64));
                isum = _mm512_dpwssd_epi32(isum, pa, vn_spread4(sc, 2 * h));
                isum = _mm512_dpwssd_epi32(isum, pb, vn_spread4(sc, 2 * h + 1));
            }
            d = vn_f16(blk + 208);
        } else {
            /* d dmin scales[12] (qh[32] for q5_K) qs[128]: 32 bytes of qs hold
             * 64 elements, low nibbles first; 8 sub-blocks of 32 */
            const bool five = type == PLUMB_TYPE_Q5_K;
            const uint8_t *qs = blk + (five ? 48 : 16);
            __m128i sc8, mn8;
            vn_scales_k4(blk + 4, &sc8, &mn8);
            const __m512i sc = _mm512_cvtepu8_epi16(_mm256_zextsi128_si256(sc8));
            /* mins: sum_j min_j * (sums of the two 16s of sub-block j) */
            __m256i mins = _mm256_madd_epi16(bsums, _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mn8, mn8)));
            macc = _mm256_fmadd_ps(_mm256_set1_ps(vn_f16(blk + 2) * ad), _mm256_cvtepi32_ps(mins), macc);
            /* bytes 0-31: x & 15, bytes 32-63: x >> 4, as GF(2) bit matrices
             * (output bit i is input bit i, or i + 4) */
            const __m512i nib = _mm512_set_epi64(0x1020408000000000, 0x1020408000000000, 0x1020408000000000,
                                                 0x1020408000000000, 0x0102040800000000, 0x0102040800000000,
                                                 0x0102040800000000, 0x0102040800000000);
            const __m512i qh = five ? vn_twice256(blk + 16) : _mm512_setzero_si512();
            isum = _mm512_setzero_si512();
            _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {
                __m512i q = vn_twice256(qs + 32 * c);
                q = _mm512_gf2p8affine_epi64_epi8(q, nib, 0);
                if (five) { /* qh bit 2c: element 64c + l; bit 2c+1: 64c + 32 + l */
                    const __m512i sel = _mm512_mask_blend_epi8(0xffffffff00000000ull,
                                                               _mm512_set1_epi8((char)(1 << (2 * c))),
                                                               _mm512_set1_epi8((char)(1 << (2 * c + 1))));
                    q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(qh, sel), q, _mm512_set1_epi8(16));
                }
                __m512i pr = _mm512_maddubs_epi16(q, _mm512_loadu_si512(aq + 64 * c));
                isum = _mm512_dpwssd_epi32(isum, pr, vn_spread2(sc, 2 * c, 2 * c + 1));
            }
            d = vn_f16(blk);
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(d * ad), _mm512_cvtepi32_ps(isum), acc);
    }
    return vn_hsum(acc) - vn_hsum8(macc);
}

/* ---- the matrix product ---- */

VN_INLINE bool vn_is_k(int type)
{
    return type == PLUMB_TYPE_Q4_K || type == PLUMB_TYPE_Q5_K || type == PLUMB_TYPE_Q6_K;
}

VN_INLINE void vn_matmul(int type, float *out, int64_t out_stride, const void *w, size_t row_size,
                         const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1, float *scratch)
{
    const bool k = vn_is_k(type);
    const size_t per_tok = k ? (size_t)(n / VN_QK_K) * VN_Q8_K : (size_t)n / 4 * 5;
    uint8_t *buf = (uint8_t *)scratch;
    for (int64_t t0 = 0; t0 < n_tok; t0 += VN_TOKENS) {
        const int64_t nt = n_tok - t0 < VN_TOKENS ? n_tok - t0 : VN_TOKENS;
        for (int64_t t = 0; t < nt; t++) {
            if (k)
                avx512_vnni_act_q8_k(x + (t0 + t) * n, buf + (size_t)t * per_tok, n);
            else
                avx512_vnni_act_legacy(x + (t0 + t) * n, buf + (size_t)t * per_tok, n, type);
        }
        /* one row at a time: with four rows interleaved (sharing each
         * activation load) the products were faster in cache but 20-40%
         * slower from memory, two threads (one prefetched stream each) */
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *wr = (const uint8_t *)w + (size_t)r * row_size;
            for (int64_t t = 0; t < nt; t++) {
                const uint8_t *act = buf + (size_t)t * per_tok;
                out[(t0 + t) * out_stride + r] =
                    k ? vn_row_k(type, wr, act, n) : vn_row_legacy(type, wr, act, n);
            }
        }
    }
}

#define VN_MATMUL(T)                                                                              \
    static void vn_matmul_##T(float *out, int64_t out_stride, const void *w, size_t row_size,     \
                              const float *x, int64_t n, int64_t n_tok, int64_t r0, int64_t r1,  \
                              float *scratch)                                                     \
    {                                                                                             \
        vn_matmul(PLUMB_TYPE_##T, out, out_stride, w, row_size, x, n, n_tok, r0, r1, scratch);    \
    }
VN_MATMUL(Q4_0)
VN_MATMUL(Q4_1)
VN_MATMUL(Q5_0)
VN_MATMUL(Q5_1)
VN_MATMUL(Q8_0)
VN_MATMUL(Q4_K)
VN_MATMUL(Q5_K)
VN_MATMUL(Q6_K)

static struct plumb_kernels vn_set;
static pthread_once_t vn_once = PTHREAD_ONCE_INIT;

static void vn_init(void)
{
    vn_set = *kernels_avx512();
    vn_set.name = "avx512-vnni";
    vn_set.accuracy = PLUMB_ACCURACY_QUANTIZED;
    vn_set.matmul[PLUMB_TYPE_Q4_0] = vn_matmul_Q4_0;
    vn_set.matmul[PLUMB_TYPE_Q4_1] = vn_matmul_Q4_1;
    vn_set.matmul[PLUMB_TYPE_Q5_0] = vn_matmul_Q5_0;
    vn_set.matmul[PLUMB_TYPE_Q5_1] = vn_matmul_Q5_1;
    vn_set.matmul[PLUMB_TYPE_Q8_0] = vn_matmul_Q8_0;
    vn_set.matmul[PLUMB_TYPE_Q4_K] = vn_matmul_Q4_K;
    vn_set.matmul[PLUMB_TYPE_Q5_K] = vn_matmul_Q5_K;
    vn_set.matmul[PLUMB_TYPE_Q6_K] = vn_matmul_Q6_K;
}

const struct plumb_kernels *kernels_avx512_vnni(void)
{
    pthread_once(&vn_once, vn_init);
    return &vn_set;
}

#endif /* __x86_64__ */
