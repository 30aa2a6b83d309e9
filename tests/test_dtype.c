/*
 * test_dtype.c: the ggml type table and the fp16/bf16 conversions.
 *
 * The table is checked id by id against ggml's type_traits (ggml 0.25.3,
 * ggml.c and ggml-common.h). The conversions are checked three ways:
 * exhaustively where the domain is 16 bits (every half and every bfloat16
 * pattern round-trips), on hand-picked rounding cases whose answers were
 * worked out by hand, and on 2^20 seeded random floats against an
 * independent oracle written here in double precision (frexp/ldexp/floor
 * only, so every step is exact), which rounds to nearest even by comparing
 * the discarded fraction with one half.
 *
 * Outside the committed tests, dtype.c was also compared with ggml's
 * exported ggml_fp32_to_fp16, ggml_fp32_to_bf16 (all 2^32 inputs) and
 * ggml_fp16_to_fp32 (all 2^16) from llama-cpp-python 0.3.36's
 * libggml-base.so: no difference, NaN bit patterns included.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dtype.h"
#include "quants.h"

/* Criterion 2.4's assertion macros store an int into a 1-bit field, which
 * -Wconversion reports at every cr_assert. This file was checked clean of
 * -Wconversion warnings of its own with the pragma removed. */
#pragma GCC diagnostic ignored "-Wconversion"

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

TestSuite(dtype, .timeout = 30);

/* ------------------------------------------------------------------------- */
/* The table                                                                 */
/* ------------------------------------------------------------------------- */

struct type_case {
    int id;
    const char *name;
    int64_t blck;
    size_t size;
    bool quantized;
};

/* ggml 0.25.3's type_traits: every id it defines. */
static const struct type_case known_types[] = {
    {0, "f32", 1, 4, false},          {1, "f16", 1, 2, false},
    {2, "q4_0", 32, 18, true},        {3, "q4_1", 32, 20, true},
    {6, "q5_0", 32, 22, true},        {7, "q5_1", 32, 24, true},
    {8, "q8_0", 32, 34, true},        {9, "q8_1", 32, 36, true},
    {10, "q2_k", 256, 84, true},      {11, "q3_k", 256, 110, true},
    {12, "q4_k", 256, 144, true},     {13, "q5_k", 256, 176, true},
    {14, "q6_k", 256, 210, true},     {15, "q8_k", 256, 292, true},
    {16, "iq2_xxs", 256, 66, true},   {17, "iq2_xs", 256, 74, true},
    {18, "iq3_xxs", 256, 98, true},   {19, "iq1_s", 256, 50, true},
    {20, "iq4_nl", 32, 18, true},     {21, "iq3_s", 256, 110, true},
    {22, "iq2_s", 256, 82, true},     {23, "iq4_xs", 256, 136, true},
    {24, "i8", 1, 1, false},          {25, "i16", 1, 2, false},
    {26, "i32", 1, 4, false},         {27, "i64", 1, 8, false},
    {28, "f64", 1, 8, false},         {29, "iq1_m", 256, 56, true},
    {30, "bf16", 1, 2, false},        {34, "tq1_0", 256, 54, true},
    {35, "tq2_0", 256, 66, true},     {39, "mxfp4", 32, 17, true},
    {40, "nvfp4", 64, 36, true},      {41, "q1_0", 128, 18, true},
    {42, "q2_0", 64, 18, true},
};

Test(dtype, table_matches_ggml_for_every_known_id)
{
    for (size_t i = 0; i < sizeof known_types / sizeof known_types[0]; i++) {
        const struct type_case *c = &known_types[i];
        const struct dtype_traits *t = dtype_traits(c->id);
        cr_assert(t != NULL, "type id %d (%s) has no traits", c->id, c->name);
        cr_assert(eq(str, (char *)t->name, (char *)c->name), "type id %d", c->id);
        cr_assert(eq(i64, t->blck_size, c->blck), "%s: block size", c->name);
        cr_assert(eq(sz, t->type_size, c->size), "%s: block bytes", c->name);
        cr_assert(eq(int, (int)t->is_quantized, (int)c->quantized), "%s: is_quantized", c->name);
        cr_assert(eq(str, (char *)dtype_name(c->id), (char *)c->name));
        cr_assert(eq(int, dtype_from_name(c->name), c->id), "%s: lookup by name", c->name);
    }
}

Test(dtype, retired_and_unknown_ids_have_no_traits)
{
    static const int64_t ids[] = {4, 5, 31, 32, 33, 36, 37, 38, 43, 44, 255, -1, INT64_MIN, INT64_MAX};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        cr_assert(dtype_traits(ids[i]) == NULL, "id %lld should be unknown", (long long)ids[i]);
        cr_assert(eq(str, (char *)dtype_name(ids[i]), "unknown"));
        cr_assert(not(dtype_can_dequantize(ids[i])));
        cr_assert(not(dtype_can_quantize(ids[i])));
    }
}

Test(dtype, every_table_entry_has_positive_geometry)
{
    for (int id = 0; id < 64; id++) {
        const struct dtype_traits *t = dtype_traits(id);
        if (!t)
            continue;
        cr_assert(t->blck_size >= 1 && t->type_size >= 1, "id %d", id);
        cr_assert(eq(int, dtype_from_name(t->name), id), "id %d name %s", id, t->name);
    }
}

Test(dtype, from_name_is_case_insensitive_and_exact)
{
    cr_assert(eq(int, dtype_from_name("Q4_K"), PLUMB_TYPE_Q4_K));
    cr_assert(eq(int, dtype_from_name("q4_K"), PLUMB_TYPE_Q4_K));
    cr_assert(eq(int, dtype_from_name("BF16"), PLUMB_TYPE_BF16));
    cr_assert(eq(int, dtype_from_name("F32"), PLUMB_TYPE_F32));
    cr_assert(eq(int, dtype_from_name("IQ4_XS"), PLUMB_TYPE_IQ4_XS));
    cr_assert(eq(int, dtype_from_name(""), -1));
    cr_assert(eq(int, dtype_from_name("q4"), -1));
    cr_assert(eq(int, dtype_from_name("q4_kk"), -1));
    cr_assert(eq(int, dtype_from_name("f3"), -1));
    cr_assert(eq(int, dtype_from_name("unknown"), -1));
    cr_assert(eq(int, dtype_from_name(NULL), -1));
}

Test(dtype, converters_exist_exactly_where_plumb_computes)
{
    static const int deq[] = {0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 30};
    static const int qnt[] = {0, 1, 2, 3, 6, 7, 8, 9, 12, 13, 14, 15, 30};
    for (size_t i = 0; i < sizeof deq / sizeof deq[0]; i++)
        cr_assert(dtype_can_dequantize(deq[i]), "id %d", deq[i]);
    for (size_t i = 0; i < sizeof qnt / sizeof qnt[0]; i++)
        cr_assert(dtype_can_quantize(qnt[i]), "id %d", qnt[i]);
    cr_assert(not(dtype_can_quantize(PLUMB_TYPE_Q2_K)));
    cr_assert(not(dtype_can_quantize(PLUMB_TYPE_Q3_K)));
    cr_assert(not(dtype_can_dequantize(PLUMB_TYPE_IQ2_XXS)));
    cr_assert(not(dtype_can_dequantize(PLUMB_TYPE_MXFP4)));
    cr_assert(dtype_traits(PLUMB_TYPE_Q4_K)->to_float == quants_dequant_q4_k);
    cr_assert(dtype_traits(PLUMB_TYPE_Q6_K)->from_float == quants_quant_q6_k);
}

Test(dtype, row_size_multiplies_blocks_by_bytes)
{
    size_t size = 7;
    cr_assert(dtype_row_size(PLUMB_TYPE_Q4_0, 64, &size));
    cr_assert(eq(sz, size, 36));
    cr_assert(dtype_row_size(PLUMB_TYPE_Q4_K, 4096, &size));
    cr_assert(eq(sz, size, 16 * 144));
    cr_assert(dtype_row_size(PLUMB_TYPE_F32, 3, &size));
    cr_assert(eq(sz, size, 12));
    cr_assert(dtype_row_size(PLUMB_TYPE_BF16, 1, &size));
    cr_assert(eq(sz, size, 2));
}

Test(dtype, row_size_rejects_bad_lengths_and_overflow_without_writing)
{
    size_t size = 12345;
    cr_assert(not(dtype_row_size(PLUMB_TYPE_Q4_0, 33, &size)));
    cr_assert(not(dtype_row_size(PLUMB_TYPE_Q4_K, 128, &size)));
    cr_assert(not(dtype_row_size(PLUMB_TYPE_F32, 0, &size)));
    cr_assert(not(dtype_row_size(PLUMB_TYPE_F32, -4, &size)));
    cr_assert(not(dtype_row_size(4, 32, &size)));
    cr_assert(not(dtype_row_size(PLUMB_TYPE_F64, INT64_MAX, &size)));
    cr_assert(not(dtype_row_size(PLUMB_TYPE_F32, INT64_MAX / 2 + 1, &size)));
    cr_assert(eq(sz, size, 12345));
    /* the largest q8_k row that fits: still accepted when it fits */
    cr_assert(dtype_row_size(PLUMB_TYPE_Q8_K, 256 * 1024, &size));
    cr_assert(eq(sz, size, (size_t)1024 * 292));
}

Test(dtype, host_is_little_endian)
{
    cr_assert(dtype_host_is_little_endian());
}

/* ------------------------------------------------------------------------- */
/* fp16                                                                      */
/* ------------------------------------------------------------------------- */

static bool half_is_nan(uint16_t h)
{
    return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
}

Test(dtype, fp16_every_pattern_round_trips)
{
    long bad = -1;
    for (uint32_t h = 0; h < 65536 && bad < 0; h++) {
        const float f = dtype_fp16_to_fp32((uint16_t)h);
        const uint16_t back = dtype_fp32_to_fp16(f);
        if (half_is_nan((uint16_t)h)) {
            /* a NaN, quiet, same sign; back to fp16 as a NaN of that sign */
            uint32_t u = f32_bits(f);
            if (!isnan(f) || !(u & 0x00400000u) || (u >> 31) != (h >> 15) || !half_is_nan(back) ||
                (back >> 15) != (h >> 15))
                bad = (long)h;
        } else if (back != h) {
            bad = (long)h;
        }
    }
    cr_assert(eq(i64, bad, -1), "half 0x%04lx does not round-trip (of 65536)", (unsigned long)bad);
}

Test(dtype, fp16_to_fp32_known_values)
{
    struct {
        uint16_t h;
        uint32_t f;
    } cases[] = {
        {0x0000, 0x00000000}, {0x8000, 0x80000000}, {0x3c00, 0x3f800000},
        {0xc000, 0xc0000000}, {0x7bff, 0x477fe000}, /* 65504 */
        {0x0400, 0x38800000},                       /* 2^-14 */
        {0x0001, 0x33800000},                       /* 2^-24 */
        {0x03ff, 0x387fc000},                       /* largest subnormal */
        {0x7c00, 0x7f800000}, {0xfc00, 0xff800000}, {0x7e00, 0x7fc00000},
        {0x7c01, 0x7fc02000}, /* signalling NaN comes back quiet, payload kept */
        {0xfd55, 0xffeaa000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert(eq(u32, f32_bits(dtype_fp16_to_fp32(cases[i].h)), cases[i].f), "half 0x%04x",
                  cases[i].h);
}

struct round_case {
    uint32_t in;  /* fp32 bits */
    uint16_t out; /* expected result bits */
    const char *what;
};

static const struct round_case fp16_cases[] = {
    {0x3f800000, 0x3c00, "1"},
    {0x3f801000, 0x3c00, "1 + 2^-11: tie, to even (down)"},
    {0x3f803000, 0x3c02, "1 + 3*2^-11: tie, to even (up)"},
    {0x3f801001, 0x3c01, "just above the tie rounds up"},
    {0x3f800fff, 0x3c00, "just below the tie rounds down"},
    {0x477fe000, 0x7bff, "65504, the largest half"},
    {0x477fefff, 0x7bff, "65519.998 rounds down to 65504"},
    {0x477ff000, 0x7c00, "65520: tie between 65504 and 2^16, to even = Inf"},
    {0x33800000, 0x0001, "2^-24, the smallest subnormal"},
    {0x33000000, 0x0000, "2^-25: tie between 0 and 2^-24, to even = 0"},
    {0x33000001, 0x0001, "just above 2^-25"},
    {0x33400000, 0x0001, "3*2^-26 rounds to 2^-24"},
    {0x33c00000, 0x0002, "3*2^-25: tie, to even = 2*2^-24"},
    {0x387fe000, 0x0400, "2^-14 - 2^-25: tie, carries into the smallest normal"},
    {0x38800000, 0x0400, "2^-14"},
    {0x00000001, 0x0000, "fp32 subnormal"},
    {0x80000001, 0x8000, "negative fp32 subnormal gives -0"},
    {0x80000000, 0x8000, "-0"},
    {0x7f800000, 0x7c00, "+Inf"},
    {0xff800000, 0xfc00, "-Inf"},
    {0x501502f9, 0x7c00, "1e10"},
    {0x7fc00000, 0x7e00, "quiet NaN"},
    {0xffc00000, 0xfe00, "negative quiet NaN keeps its sign"},
    {0x7f800001, 0x7e00, "signalling NaN becomes quiet"},
    {0xc0490fdb, 0xc248, "-pi"},
};

Test(dtype, fp32_to_fp16_rounds_hand_picked_cases)
{
    for (size_t i = 0; i < sizeof fp16_cases / sizeof fp16_cases[0]; i++) {
        const struct round_case *c = &fp16_cases[i];
        cr_assert(eq(u16, dtype_fp32_to_fp16(bits_f32(c->in)), c->out), "0x%08x (%s)", c->in,
                  c->what);
    }
}

/* Round a non-negative double holding a whole number plus a fraction to the
 * nearest integer, ties to even. Exact: floor and the subtraction are. */
static double round_even(double v)
{
    double fl = floor(v);
    double frac = v - fl;
    if (frac > 0.5 || (frac == 0.5 && fmod(fl, 2.0) != 0.0))
        fl += 1.0;
    return fl;
}

/* Independent fp32 -> fp16 oracle, in double. Finite inputs only. */
static uint16_t oracle_fp16(float f)
{
    const uint16_t sign = (f32_bits(f) >> 31) ? 0x8000 : 0;
    const double a = fabs((double)f);
    if (a >= 65520.0)
        return sign | 0x7c00;
    if (a < 0x1p-14) /* subnormal grid: multiples of 2^-24 */
        return (uint16_t)(sign | (uint16_t)round_even(ldexp(a, 24)));
    int e;
    frexp(a, &e); /* a in [2^(e-1), 2^e) */
    const double q = round_even(ldexp(a, 11 - e)); /* in [1024, 2048] */
    return (uint16_t)(sign | (uint16_t)(((e - 1 + 15) << 10) + (int)q - 1024));
}

/* A float that exercises fp16 conversion: random bits anywhere, random bits
 * near fp16's range, or an exact midpoint between two adjacent halves. */
static float random_fp16_probe(uint64_t *rng)
{
    const uint64_t r = splitmix64(rng);
    uint32_t u = (uint32_t)r;
    switch ((r >> 32) % 4) {
    case 0:
        break;
    case 1: /* exponent within 2^-27 .. 2^17 */
        u = (u & 0x807fffffu) | (uint32_t)(100 + (r >> 40) % 45) << 23;
        break;
    case 2: { /* midpoint of half h and h+1 (h finite, not the largest) */
        const uint16_t h = (uint16_t)((r >> 40) % 0x7bff);
        const double mid = ((double)dtype_fp16_to_fp32(h) + (double)dtype_fp16_to_fp32((uint16_t)(h + 1))) / 2;
        u = f32_bits((float)mid) | (uint32_t)(r >> 63) << 31; /* exact: 12 significant bits */
        break;
    }
    default: /* a midpoint nudged by one fp32 ulp either way */
        u = f32_bits(dtype_fp16_to_fp32((uint16_t)((r >> 40) % 0x7bff))) + 0x1000u;
        u = (r >> 62) & 1 ? u + 1 : u - 1;
        break;
    }
    return bits_f32(u);
}

Test(dtype, fp32_to_fp16_matches_a_double_precision_oracle)
{
    const uint64_t seed = 0x5eed0016;
    const long count = 1L << 20;
    uint64_t rng = seed;
    long first_bad = -1;
    uint32_t bad_in = 0;
    uint16_t got = 0, want = 0;
    for (long i = 0; i < count && first_bad < 0; i++) {
        const float f = random_fp16_probe(&rng);
        if (isnan(f))
            continue; /* NaNs are covered by the hand-picked cases */
        got = dtype_fp32_to_fp16(f);
        want = oracle_fp16(f);
        if (got != want) {
            first_bad = i;
            bad_in = f32_bits(f);
        }
    }
    cr_assert(eq(i64, first_bad, -1), "input %ld of %ld (seed 0x%llx): fp32 0x%08x gives 0x%04x, oracle 0x%04x",
              first_bad, count, (unsigned long long)seed, bad_in, got, want);
}

/* ------------------------------------------------------------------------- */
/* bf16                                                                      */
/* ------------------------------------------------------------------------- */

static const struct round_case bf16_cases[] = {
    {0x3f800000, 0x3f80, "1"},
    {0x3f808000, 0x3f80, "1 + 2^-8: tie, to even (down)"},
    {0x3f818000, 0x3f82, "1 + 3*2^-8: tie, to even (up)"},
    {0x3f808001, 0x3f81, "just above the tie"},
    {0x3f807fff, 0x3f80, "just below the tie"},
    {0x7f7fffff, 0x7f80, "FLT_MAX rounds to Inf"},
    {0x7f7f7fff, 0x7f7f, "just below the overflow tie"},
    {0x7f800000, 0x7f80, "+Inf"},
    {0xff800000, 0xff80, "-Inf"},
    {0x80000000, 0x8000, "-0"},
    {0x00018000, 0x0002, "subnormal tie, to even (up): no flush to zero"},
    {0x00008000, 0x0000, "subnormal tie, to even (down)"},
    {0x00008001, 0x0001, "smallest bf16 subnormal"},
    {0x80018000, 0x8002, "negative subnormal"},
    {0x7fc00000, 0x7fc0, "quiet NaN"},
    {0xffc00000, 0xffc0, "negative quiet NaN keeps its sign"},
    {0x7f800001, 0x7fc0, "signalling NaN, payload in the low half: quiet, not Inf"},
    {0xff800001, 0xffc0, "negative signalling NaN"},
    {0x7fa00000, 0x7fe0, "signalling NaN keeps its high payload"},
    {0x7fffffff, 0x7fff, "NaN with all payload bits: truncated, not rounded"},
};

Test(dtype, fp32_to_bf16_rounds_hand_picked_cases)
{
    for (size_t i = 0; i < sizeof bf16_cases / sizeof bf16_cases[0]; i++) {
        const struct round_case *c = &bf16_cases[i];
        cr_assert(eq(u16, dtype_fp32_to_bf16(bits_f32(c->in)), c->out), "0x%08x (%s)", c->in,
                  c->what);
    }
}

Test(dtype, bf16_every_pattern_round_trips)
{
    long bad = -1;
    for (uint32_t h = 0; h < 65536 && bad < 0; h++) {
        const float f = dtype_bf16_to_fp32((uint16_t)h);
        if (f32_bits(f) != h << 16)
            bad = (long)h;
        const uint16_t back = dtype_fp32_to_bf16(f);
        const bool nan = (h & 0x7f80u) == 0x7f80u && (h & 0x7fu) != 0;
        if (nan ? back != (h | 0x40u) : back != h)
            bad = (long)h;
    }
    cr_assert(eq(i64, bad, -1), "bf16 0x%04lx does not round-trip (of 65536)", (unsigned long)bad);
}

/* Independent fp32 -> bf16 oracle in double (finite inputs): 8 significant
 * bits, subnormal grid 2^-133, overflow at the midpoint above bf16's max. */
static uint16_t oracle_bf16(float f)
{
    const uint32_t sign = f32_bits(f) & 0x80000000u;
    const double a = fabs((double)f);
    if (a == 0.0)
        return (uint16_t)(sign >> 16);
    int e;
    frexp(a, &e);
    const int lsb = e - 1 < -126 ? -133 : e - 8; /* exponent of the last kept bit */
    const double r = ldexp(round_even(ldexp(a, -lsb)), lsb);
    if (r >= 0x1p128)
        return (uint16_t)((sign | 0x7f800000u) >> 16);
    return (uint16_t)((sign | f32_bits((float)r)) >> 16); /* r is representable */
}

Test(dtype, fp32_to_bf16_matches_a_double_precision_oracle)
{
    const uint64_t seed = 0x5eedbf16;
    const long count = 1L << 20;
    uint64_t rng = seed;
    long first_bad = -1;
    uint32_t bad_in = 0;
    uint16_t got = 0, want = 0;
    for (long i = 0; i < count && first_bad < 0; i++) {
        const uint64_t r = splitmix64(&rng);
        uint32_t u = (uint32_t)r;
        if ((r >> 32) & 1) /* half the time, an exact tie or a neighbour of one */
            u = (u & 0xffff0000u) + 0x7fffu + (uint32_t)((r >> 33) % 3);
        const float f = bits_f32(u);
        if (isnan(f))
            continue;
        got = dtype_fp32_to_bf16(f);
        want = oracle_bf16(f);
        if (got != want) {
            first_bad = i;
            bad_in = u;
        }
    }
    cr_assert(eq(i64, first_bad, -1), "input %ld of %ld (seed 0x%llx): fp32 0x%08x gives 0x%04x, oracle 0x%04x",
              first_bad, count, (unsigned long long)seed, bad_in, got, want);
}

/* ------------------------------------------------------------------------- */
/* Row converters                                                            */
/* ------------------------------------------------------------------------- */

Test(dtype, row_converters_are_little_endian_and_alignment_free)
{
    const float x[5] = {1.0f, -2.0f, 0.5f, 65504.0f, -0.0f};
    uint8_t buf[1 + 5 * 4];
    float y[5];

    dtype_f16_from_float(x, buf + 1, 5); /* odd address on purpose */
    cr_assert(eq(u8, buf[1], 0x00));
    cr_assert(eq(u8, buf[2], 0x3c)); /* 1.0 = 0x3c00, low byte first */
    cr_assert(eq(u8, buf[7], 0xff));
    cr_assert(eq(u8, buf[8], 0x7b));
    dtype_f16_to_float(buf + 1, y, 5);
    for (int i = 0; i < 5; i++)
        cr_assert(eq(u32, f32_bits(y[i]), f32_bits(x[i])), "f16 element %d", i);

    dtype_bf16_from_float(x, buf + 1, 5);
    cr_assert(eq(u8, buf[1], 0x80));
    cr_assert(eq(u8, buf[2], 0x3f)); /* 1.0 = 0x3f80 */
    dtype_bf16_to_float(buf + 1, y, 5);
    for (int i = 0; i < 3; i++)
        cr_assert(eq(u32, f32_bits(y[i]), f32_bits(x[i])), "bf16 element %d", i);

    dtype_f32_from_float(x, buf + 1, 5);
    dtype_f32_to_float(buf + 1, y, 5);
    for (int i = 0; i < 5; i++)
        cr_assert(eq(u32, f32_bits(y[i]), f32_bits(x[i])), "f32 element %d", i);
}
