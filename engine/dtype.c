/*
 * dtype.c: the ggml type table and the plain float formats (f32, f16, bf16).
 *
 * The table is the one place that knows each type's block geometry; the GGUF
 * reader, the writer and the engine all ask it. Block-quantized converters
 * live in quants.c.
 *
 * fp16 and bf16 conversions are written with integer bit manipulation, never
 * with compiler intrinsics or hardware conversion instructions, so the
 * reference path gives the same bits on every machine.
 */
#include "dtype.h"

#include <string.h>

#include "cpu.h"
#include "quant_avx2.h"
#include "quants.h"


/*
 * Elements per block and bytes per block of every ggml type, by id, as in
 * ggml's type_traits (ggml.c) and block structs (ggml-common.h). Names are
 * ggml's with the K in lower case ("q4_K" is "q4_k").
 */
static const struct dtype_traits dtype_table[PLUMB_TYPE_COUNT] = {
    [PLUMB_TYPE_F32] = {"f32", 1, 4, false, dtype_f32_to_float, dtype_f32_from_float},
    [PLUMB_TYPE_F16] = {"f16", 1, 2, false, dtype_f16_to_float, dtype_f16_from_float},
    [PLUMB_TYPE_Q4_0] = {"q4_0", 32, 18, true, quants_dequant_q4_0, quants_quant_q4_0},
    [PLUMB_TYPE_Q4_1] = {"q4_1", 32, 20, true, quants_dequant_q4_1, quants_quant_q4_1},
    [PLUMB_TYPE_Q5_0] = {"q5_0", 32, 22, true, quants_dequant_q5_0, quants_quant_q5_0},
    [PLUMB_TYPE_Q5_1] = {"q5_1", 32, 24, true, quants_dequant_q5_1, quants_quant_q5_1},
    [PLUMB_TYPE_Q8_0] = {"q8_0", 32, 34, true, quants_dequant_q8_0, quants_quant_q8_0},
    [PLUMB_TYPE_Q8_1] = {"q8_1", 32, 36, true, quants_dequant_q8_1, quants_quant_q8_1},
    [PLUMB_TYPE_Q2_K] = {"q2_k", 256, 84, true, quants_dequant_q2_k, NULL},
    [PLUMB_TYPE_Q3_K] = {"q3_k", 256, 110, true, quants_dequant_q3_k, NULL},
    [PLUMB_TYPE_Q4_K] = {"q4_k", 256, 144, true, quants_dequant_q4_k, quants_quant_q4_k},
    [PLUMB_TYPE_Q5_K] = {"q5_k", 256, 176, true, quants_dequant_q5_k, quants_quant_q5_k},
    [PLUMB_TYPE_Q6_K] = {"q6_k", 256, 210, true, quants_dequant_q6_k, quants_quant_q6_k},
    [PLUMB_TYPE_Q8_K] = {"q8_k", 256, 292, true, quants_dequant_q8_k, quants_quant_q8_k},
    /* Known to ggml, read and described by plumb, not computed with. */
    [PLUMB_TYPE_IQ2_XXS] = {"iq2_xxs", 256, 66, true, NULL, NULL},
    [PLUMB_TYPE_IQ2_XS] = {"iq2_xs", 256, 74, true, NULL, NULL},
    [PLUMB_TYPE_IQ3_XXS] = {"iq3_xxs", 256, 98, true, NULL, NULL},
    [PLUMB_TYPE_IQ1_S] = {"iq1_s", 256, 50, true, NULL, NULL},
    [PLUMB_TYPE_IQ4_NL] = {"iq4_nl", 32, 18, true, NULL, NULL},
    [PLUMB_TYPE_IQ3_S] = {"iq3_s", 256, 110, true, NULL, NULL},
    [PLUMB_TYPE_IQ2_S] = {"iq2_s", 256, 82, true, NULL, NULL},
    [PLUMB_TYPE_IQ4_XS] = {"iq4_xs", 256, 136, true, NULL, NULL},
    [PLUMB_TYPE_I8] = {"i8", 1, 1, false, NULL, NULL},
    [PLUMB_TYPE_I16] = {"i16", 1, 2, false, NULL, NULL},
    [PLUMB_TYPE_I32] = {"i32", 1, 4, false, NULL, NULL},
    [PLUMB_TYPE_I64] = {"i64", 1, 8, false, NULL, NULL},
    [PLUMB_TYPE_F64] = {"f64", 1, 8, false, NULL, NULL},
    [PLUMB_TYPE_IQ1_M] = {"iq1_m", 256, 56, true, NULL, NULL},
    [PLUMB_TYPE_BF16] = {"bf16", 1, 2, false, dtype_bf16_to_float, dtype_bf16_from_float},
    [PLUMB_TYPE_TQ1_0] = {"tq1_0", 256, 54, true, NULL, NULL},
    [PLUMB_TYPE_TQ2_0] = {"tq2_0", 256, 66, true, NULL, NULL},
    [PLUMB_TYPE_MXFP4] = {"mxfp4", 32, 17, true, NULL, NULL},
    [PLUMB_TYPE_NVFP4] = {"nvfp4", 64, 36, true, NULL, NULL},
    [PLUMB_TYPE_Q1_0] = {"q1_0", 128, 18, true, NULL, NULL},
    [PLUMB_TYPE_Q2_0] = {"q2_0", 64, 18, true, NULL, NULL},
};

const struct dtype_traits *dtype_traits(int64_t type)
{
    if (type < 0 || type >= PLUMB_TYPE_COUNT || !dtype_table[type].name)
        return NULL;
    return &dtype_table[type];
}

const char *dtype_name(int64_t type)
{
    const struct dtype_traits *t = dtype_traits(type);
    return t ? t->name : "unknown";
}

int dtype_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < PLUMB_TYPE_COUNT; i++) {
        const char *n = dtype_table[i].name;
        if (!n)
            continue;
        size_t k = 0;
        for (; n[k] && name[k]; k++) {
            char c = name[k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != n[k])
                break;
        }
        if (!n[k] && !name[k])
            return i;
    }
    return -1;
}

dtype_from_float_fn dtype_quantizer(int64_t type)
{
    const struct dtype_traits *t = dtype_traits(type);
    if (!t)
        return NULL;
#if defined(__x86_64__)
    if (type == PLUMB_TYPE_Q8_0 && cpu_has_avx2())
        return quant_avx2_q8_0;
#endif
    return t->from_float;
}

bool dtype_can_dequantize(int64_t type)
{
    const struct dtype_traits *t = dtype_traits(type);
    return t && t->to_float;
}

bool dtype_can_quantize(int64_t type)
{
    const struct dtype_traits *t = dtype_traits(type);
    return t && t->from_float;
}

bool dtype_row_size(int64_t type, int64_t ne0, size_t *size)
{
    const struct dtype_traits *t = dtype_traits(type);
    if (!t || ne0 < 1 || ne0 % t->blck_size != 0)
        return false;
    uint64_t blocks = (uint64_t)(ne0 / t->blck_size);
    if (blocks > SIZE_MAX / t->type_size)
        return false;
    *size = (size_t)blocks * t->type_size;
    return true;
}

static uint32_t dtype_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float dtype_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/*
 * binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
 *   exponent 0: zero or subnormal, value = mant * 2^-24
 *   exponent 31: Inf (mant 0) or NaN
 *   otherwise: value = (1 + mant/1024) * 2^(exp-15)
 */
float dtype_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;

    if (exp == 0x1f) {
        /* Inf, or NaN made quiet with its payload kept: ggml's reference
         * (an fp32 multiply) and F16C's vcvtph2ps both set the quiet bit. */
        uint32_t quiet = mant ? 0x00400000u : 0;
        return dtype_bits_f32(sign | 0x7f800000u | quiet | (mant << 13));
    }
    if (exp == 0) {
        if (mant == 0)
            return dtype_bits_f32(sign);
        /* Normalise the subnormal: shift until the implicit bit appears. */
        uint32_t e = 113; /* float exponent of 2^-14, the fp16 subnormal scale */
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e--;
        }
        return dtype_bits_f32(sign | (e << 23) | ((mant & 0x3ffu) << 13));
    }
    return dtype_bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t dtype_fp32_to_fp16(float f)
{
    uint32_t x = dtype_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t a = x & 0x7fffffffu;

    if (a > 0x7f800000u) /* NaN: the canonical quiet NaN, as ggml's reference */
        return (uint16_t)(sign | 0x7e00u);
    if (a >= 0x477ff000u) /* >= 65520 rounds to Inf (65504 is the largest) */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) { /* below 2^-14: an fp16 subnormal or zero */
        uint32_t e = a >> 23;
        uint32_t shift = 126 - e; /* value * 2^24 = mant * 2^-shift */
        if (e == 0 || shift >= 25)
            return sign; /* below half the smallest subnormal */
        uint32_t mant = (a & 0x7fffffu) | 0x800000u;
        uint32_t q = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u)))
            q++;
        return (uint16_t)(sign | q);
    }
    uint32_t h = ((a >> 23) - 112) << 10 | ((a >> 13) & 0x3ffu);
    uint32_t rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
        h++; /* a carry into the exponent is the right answer */
    return (uint16_t)(sign | h);
}

float dtype_bf16_to_fp32(uint16_t h)
{
    return dtype_bits_f32((uint32_t)h << 16);
}

uint16_t dtype_fp32_to_bf16(float f)
{
    uint32_t x = dtype_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* NaN: keep sign and payload top, force quiet */
        return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u); /* round to nearest even */
    return (uint16_t)(x >> 16);
}

void dtype_f32_to_float(const void *src, float *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void dtype_f32_from_float(const float *src, void *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void dtype_f16_to_float(const void *src, float *dst, int64_t n)
{
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | (uint16_t)p[2 * i + 1] << 8);
        dst[i] = dtype_fp16_to_fp32(h);
    }
}

void dtype_f16_from_float(const float *src, void *dst, int64_t n)
{
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = dtype_fp32_to_fp16(src[i]);
        p[2 * i] = (uint8_t)(h & 0xff);
        p[2 * i + 1] = (uint8_t)(h >> 8);
    }
}

void dtype_bf16_to_float(const void *src, float *dst, int64_t n)
{
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(p[2 * i] | (uint16_t)p[2 * i + 1] << 8);
        dst[i] = dtype_bf16_to_fp32(h);
    }
}

void dtype_bf16_from_float(const float *src, void *dst, int64_t n)
{
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = dtype_fp32_to_bf16(src[i]);
        p[2 * i] = (uint8_t)(h & 0xff);
        p[2 * i + 1] = (uint8_t)(h >> 8);
    }
}

bool dtype_host_is_little_endian(void)
{
    const uint16_t probe = 1;
    uint8_t first;
    memcpy(&first, &probe, 1);
    return first == 1;
}
