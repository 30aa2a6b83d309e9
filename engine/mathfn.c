/*
 * mathfn.c: exp, sin, cos, pow and SiLU for float from IEEE basic operations
 * only. See mathfn.h for the contract and the measured accuracy.
 *
 * Not here: any call into libm (check: `nm mathfn.o` shows no exp/sin/cos/
 * pow/log symbol), long double, FMA, or anything whose result depends on the
 * platform. Every operation below is a correctly rounded IEEE double
 * operation, an exact integer operation, or an exact/correctly rounded
 * conversion, so the bits are fixed once the source is.
 *
 * Where the constants come from (no table is copied from another library):
 * - Polynomial coefficients are Taylor coefficients: the exact rationals
 *   1/n!, (-1)^j/(2j+1)!, (-1)^j/(2j)!, 1/(2j+1), each rounded once to the
 *   nearest double (Python: float(fractions.Fraction(1, math.factorial(n)))).
 *   The degree is chosen so the truncation error is below 2^-57 relative on
 *   the reduced interval; see each polynomial.
 * - ln 2, pi/2, 2/pi and the 2/pi bit table were computed with mpmath at
 *   600 bits. The Cody-Waite parts are truncations:
 *     LN2_HI  = ln 2 truncated to 42 significant bits, LN2_LO = nearest
 *               double to ln 2 - LN2_HI;
 *     PIO2_1  = pi/2 truncated to 28 bits, PIO2_2 = (pi/2 - PIO2_1) truncated
 *               to 28 bits, PIO2_3 = nearest double to the rest
 *               (|pi/2 - sum| / (pi/2) = 2.8e-35).
 *   In mpmath terms: truncation to b bits is floor(x * 2^(b-1-e)) * 2^(e-b+1)
 *   with e = floor(log2 x); rounding is float(mpf); the table is
 *   int(floor(2/pi * 2^255)) cut into eight 32-bit words (its first word
 *   matches the well-known 0xa2f9836e... expansion shifted by the units bit).
 *
 * Requirements on the build: FLT_EVAL_METHOD == 0 (no x87 extended
 * precision; checked below) and -ffp-contract=off, which no macro reveals. A
 * fused a*b+c changes the double intermediates; the final rounding to float
 * hid that on every input of our 7.4e7-input comparison, but nothing
 * guarantees it, so the flag stays required.
 */
#include "mathfn.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "mathfn.c needs FLT_EVAL_METHOD == 0 (on 32-bit x86 build with -msse2 -mfpmath=sse)"
#endif

/* ---- bits ---------------------------------------------------------------- */

static uint32_t float_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static uint64_t double_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static double double_from_bits(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

#define F32_POS_INF float_from_bits(0x7f800000u)

/* 2^k for -1022 <= k <= 1023, built from its bits (exact). */
static double pow2i(int32_t k)
{
    return double_from_bits((uint64_t)(k + 1023) << 52);
}

/* Round a positive-or-zero double to float. Values at or above the midpoint
 * between FLT_MAX and 2^128 round to +Inf; spelling that out keeps the
 * conversion inside float's range (C leaves out-of-range conversion
 * undefined). Below that, the one hardware conversion rounds to nearest-even,
 * subnormals included. */
static float round_to_float(double d)
{
    if (d >= 0x1.ffffffp127)
        return F32_POS_INF;
    return (float)d;
}

/* ---- exp ----------------------------------------------------------------- */

static const double INV_LN2 = 0x1.71547652b82fep+0;
static const double LN2_HI = 0x1.62e42fefa3800p-1; /* 42 bits: k*LN2_HI exact for |k| < 2^11 */
static const double LN2_LO = 0x1.ef35793c76730p-45;

/* e^y in double for |y| <= 120, relative error a few 2^-53.
 * y = k ln2 + r, |r| <= ln2/2 (+ a hair from rounding k): k * LN2_HI is exact
 * and y - k * LN2_HI is exact (Sterbenz: the two are within a factor of 2),
 * so r carries only the rounding of the last subtraction. e^r is the Taylor
 * series to r^13; the first omitted term is < 0.3466^14 / 14! = 4.2e-18. */
static double exp_core(double y)
{
    double kd = y * INV_LN2;
    int32_t k = (int32_t)(kd >= 0 ? kd + 0.5 : kd - 0.5);
    double r = y - (double)k * LN2_HI;
    r = r - (double)k * LN2_LO;

    double p = 0x1.6124613a86d09p-33;   /* 1/13! */
    p = p * r + 0x1.1eed8eff8d898p-29;  /* 1/12! */
    p = p * r + 0x1.ae64567f544e4p-26;  /* 1/11! */
    p = p * r + 0x1.27e4fb7789f5cp-22;  /* 1/10! */
    p = p * r + 0x1.71de3a556c734p-19;  /* 1/9!  */
    p = p * r + 0x1.a01a01a01a01ap-16;  /* 1/8!  */
    p = p * r + 0x1.a01a01a01a01ap-13;  /* 1/7!  */
    p = p * r + 0x1.6c16c16c16c17p-10;  /* 1/6!  */
    p = p * r + 0x1.1111111111111p-7;   /* 1/5!  */
    p = p * r + 0x1.5555555555555p-5;   /* 1/4!  */
    p = p * r + 0x1.5555555555555p-3;   /* 1/3!  */
    p = p * r + 0.5;                    /* 1/2!  */
    p = p * r + 1.0;
    p = p * r + 1.0;
    return p * pow2i(k); /* exact: a power of two within double's normal range */
}

/* e^y rounded once to float, for any double y (NaN excluded by the callers).
 * e^89 > 2^128 and e^-110 < 2^-150 / 2, so outside [-110, 89] the rounded
 * result is known without computing it. */
static float exp_to_float(double y)
{
    if (y > 89.0)
        return F32_POS_INF;
    if (y < -110.0)
        return 0.0f;
    return round_to_float(exp_core(y));
}

float mathfn_expf(float x)
{
    if (x != x)
        return x + x;
    return exp_to_float((double)x);
}

/* ---- log (internal, for pow) --------------------------------------------- */

static const double SQRT2 = 0x1.6a09e667f3bcdp+0;

/* ln a for finite a > 0, relative error a few 2^-53 (absolute a few 2^-53
 * near a = 1). a = 2^k m with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s),
 * s = (m - 1)/(m + 1), |s| <= 0.1716; the series 2s (1 + s^2/3 + ... +
 * s^22/23) omits < s^24/25 relative = 2.4e-20. m - 1 and m + 1 are exact
 * because m has at most 24 significant bits (it came from a float). */
static double log_core(double a)
{
    uint64_t u = double_bits(a);
    int32_t k = (int32_t)(u >> 52) - 1023; /* a is a normal double: it came from a float */
    double m = double_from_bits((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    if (m > SQRT2) {
        m = m * 0.5;
        k = k + 1;
    }
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double p = 0x1.642c8590b2164p-5;   /* 1/23 */
    p = p * s2 + 0x1.8618618618618p-5; /* 1/21 */
    p = p * s2 + 0x1.af286bca1af28p-5; /* 1/19 */
    p = p * s2 + 0x1.e1e1e1e1e1e1ep-5; /* 1/17 */
    p = p * s2 + 0x1.1111111111111p-4; /* 1/15 */
    p = p * s2 + 0x1.3b13b13b13b14p-4; /* 1/13 */
    p = p * s2 + 0x1.745d1745d1746p-4; /* 1/11 */
    p = p * s2 + 0x1.c71c71c71c71cp-4; /* 1/9  */
    p = p * s2 + 0x1.2492492492492p-3; /* 1/7  */
    p = p * s2 + 0x1.999999999999ap-3; /* 1/5  */
    p = p * s2 + 0x1.5555555555555p-2; /* 1/3  */
    double ln_m = 2.0 * s + 2.0 * s * (s2 * p);
    return (double)k * LN2_HI + ((double)k * LN2_LO + ln_m);
}

/* ---- pow ----------------------------------------------------------------- */

/* 0: e is not an integer; 1: an even integer; 2: an odd integer. Floats of
 * magnitude >= 2^24 are all even integers. */
static int float_int_kind(float e)
{
    float a = e < 0 ? -e : e;
    if (a >= 0x1p24f)
        return 1;
    int32_t i = (int32_t)a;
    if ((float)i != a)
        return 0;
    return (i & 1) ? 2 : 1;
}

float mathfn_powf(float base, float e)
{
    if (e == 0.0f || base == 1.0f)
        return 1.0f;
    if (base != base || e != e)
        return base + e;

    float abs_base = base < 0 ? -base : base;
    if (e == F32_POS_INF || e == -F32_POS_INF) {
        if (abs_base == 1.0f)
            return 1.0f;
        return ((abs_base > 1.0f) == (e > 0)) ? F32_POS_INF : 0.0f;
    }

    int kind = float_int_kind(e);
    if (base < 0 && base != -F32_POS_INF && kind == 0)
        return float_from_bits(0x7fc00000u); /* quiet NaN */
    int negate = (float_bits(base) >> 31) && kind == 2; /* sign bit: -0 counts */

    double ln_abs;
    if (abs_base == 0.0f)
        ln_abs = -(double)F32_POS_INF;
    else if (abs_base == F32_POS_INF)
        ln_abs = (double)F32_POS_INF;
    else
        ln_abs = log_core((double)abs_base);
    /* e != 0 and finite, so y is +-Inf exactly when ln_abs is. */
    float r = exp_to_float((double)e * ln_abs);
    return negate ? -r : r;
}

/* ---- sin, cos ------------------------------------------------------------ */

static const double TWO_OVER_PI = 0x1.45f306dc9c883p-1;
static const double PIO2 = 0x1.921fb54442d18p+0;
static const double PIO2_1 = 0x1.921fb54000000p+0; /* 28 bits */
static const double PIO2_2 = 0x1.10b4610000000p-30; /* 28 bits */
static const double PIO2_3 = 0x1.a62633145c06ep-58;

/* Bits of 2/pi, most significant first: word w holds the bits of weight
 * 2^-(32w) ... 2^-(32w+31), so word 0 starts with the (zero) units bit. */
static const uint32_t TWO_OVER_PI_BITS[8] = {
    0x517cc1b7, 0x27220a94, 0xfe13abe8, 0xfa9a6ee0,
    0x6db14acc, 0x9e21c820, 0xff28b1d5, 0xef5de2b0,
};

/* For 0 <= ax < 2^24: ax = q pi/2 + r, |r| <= pi/4 + a hair, r as a double
 * with relative error ~2^-52. Cody-Waite: q < 2^24 and PIO2_1, PIO2_2 have 28
 * bits, so q*PIO2_1 and q*PIO2_2 are exact; ax - q*PIO2_1 is exact
 * (Sterbenz); the remaining two subtractions each round once relative to r.
 * The smallest |r| of any float below 2^24 is 2^-27.8, at x = 0x1.f9cbe2p+7
 * (a sweep of all of them), far above the ~2^-84 absolute error of the
 * split, so r keeps its relative accuracy even there. */
static double reduce_small(double ax, int32_t *q)
{
    int32_t k = (int32_t)(ax * TWO_OVER_PI + 0.5);
    double kd = (double)k;
    double r = ax - kd * PIO2_1;
    r = r - kd * PIO2_2;
    r = r - kd * PIO2_3;
    *q = k;
    return r;
}

/* For a float ax >= 2^24 (bits abits): ax = m 2^e with m < 2^24 an integer
 * and 1 <= e <= 104. Then ax * 2/pi mod 4 only depends on the bits of 2/pi
 * from weight 2^-(e-1) on: the earlier ones give multiples of 4. Take the
 * 128 bits from there as an integer V; ax * 2/pi = m V 2^-126 (mod 4),
 * ignoring < 2^-101. So the low 128 bits of m*V are the quadrant (top 2 bits)
 * and the fraction (126 bits), computed exactly in 32-bit limbs. */
static double reduce_large(uint32_t abits, int32_t *q)
{
    uint64_t m = (abits & 0x007fffffu) | 0x00800000u;
    int32_t e = (int32_t)(abits >> 23) - 150;
    int32_t first = e - 1; /* bit index of weight 2^-(e-1); 0..103 */
    int32_t w = first / 32, sh = first % 32;

    uint64_t v[4];
    for (int j = 0; j < 4; j++) {
        uint32_t a = TWO_OVER_PI_BITS[w + j];
        uint32_t b = TWO_OVER_PI_BITS[w + j + 1];
        v[j] = sh ? (uint32_t)((a << sh) | (b >> (32 - sh))) : a;
    }
    /* low 128 bits of m * V, limbs most significant first */
    uint64_t p3 = m * v[3];
    uint64_t p2 = m * v[2] + (p3 >> 32);
    uint64_t p1 = m * v[1] + (p2 >> 32);
    uint64_t p0 = m * v[0] + (p1 >> 32);
    uint64_t hi = (p0 << 32) | (p1 & 0xffffffffu);
    uint64_t lo = (p2 << 32) | (p3 & 0xffffffffu);

    /* Quadrant from the top 2 bits; the other 126, shifted up, read as a
     * signed 128-bit fraction f in [-1/2, 1/2) of a quadrant: a fraction of
     * 1/2 or more means the next quadrant and f - 1. */
    int32_t quad = (int32_t)(hi >> 62);
    uint64_t fhi = (hi << 2) | (lo >> 62);
    uint64_t flo = lo << 2;
    double sign = 1.0;
    if (fhi >> 63) {
        quad = quad + 1;
        flo = ~flo + 1;
        fhi = ~fhi + (flo == 0);
        sign = -1.0;
    }
    double f = (double)fhi * 0x1p-64 + (double)flo * 0x1p-128;
    *q = quad;
    return sign * f * PIO2;
}

/* sin r on |r| <= pi/4 + a hair: Taylor to r^17; first omitted term
 * r^19/19! < 8.5e-20. */
static double sin_poly(double r)
{
    double r2 = r * r;
    double p = 0x1.952c77030ad4ap-49;   /*  1/17! */
    p = p * r2 - 0x1.ae7f3e733b81fp-41; /* -1/15! */
    p = p * r2 + 0x1.6124613a86d09p-33; /*  1/13! */
    p = p * r2 - 0x1.ae64567f544e4p-26; /* -1/11! */
    p = p * r2 + 0x1.71de3a556c734p-19; /*  1/9!  */
    p = p * r2 - 0x1.a01a01a01a01ap-13; /* -1/7!  */
    p = p * r2 + 0x1.1111111111111p-7;  /*  1/5!  */
    p = p * r2 - 0x1.5555555555555p-3;  /* -1/3!  */
    return r + r * (r2 * p);
}

/* cos r on |r| <= pi/4 + a hair: Taylor to r^18; first omitted term
 * r^20/20! < 3.4e-21. */
static double cos_poly(double r)
{
    double r2 = r * r;
    double p = -0x1.6827863b97d97p-53;  /* -1/18! */
    p = p * r2 + 0x1.ae7f3e733b81fp-45; /*  1/16! */
    p = p * r2 - 0x1.93974a8c07c9dp-37; /* -1/14! */
    p = p * r2 + 0x1.1eed8eff8d898p-29; /*  1/12! */
    p = p * r2 - 0x1.27e4fb7789f5cp-22; /* -1/10! */
    p = p * r2 + 0x1.a01a01a01a01ap-16; /*  1/8!  */
    p = p * r2 - 0x1.6c16c16c16c17p-10; /* -1/6!  */
    p = p * r2 + 0x1.5555555555555p-5;  /*  1/4!  */
    return 1.0 - 0.5 * r2 + r2 * (r2 * p);
}

/* sin and cos of a finite-or-not float, each rounded once. Works on |x|
 * (sin is odd, cos even) and picks the polynomials by quadrant. */
void mathfn_sincosf(float x, float *s, float *c)
{
    uint32_t abits = float_bits(x) & 0x7fffffffu;
    if (abits >= 0x7f800000u) { /* Inf or NaN: x - x is NaN for both */
        *s = x - x;
        *c = x - x;
        return;
    }
    double ax = (double)float_from_bits(abits);
    int32_t q;
    double r = abits < 0x4b800000u /* 2^24 */ ? reduce_small(ax, &q) : reduce_large(abits, &q);

    double sr = sin_poly(r), cr = cos_poly(r);
    double sv, cv;
    switch (q & 3) {
    case 0: sv = sr;  cv = cr;  break;
    case 1: sv = cr;  cv = -sr; break;
    case 2: sv = -sr; cv = -cr; break;
    default: sv = -cr; cv = sr; break;
    }
    if (float_bits(x) >> 31)
        sv = -sv;
    *s = (float)sv; /* |sv|, |cv| <= 1: always in range */
    *c = (float)cv;
}

float mathfn_sinf(float x)
{
    float s, c;
    mathfn_sincosf(x, &s, &c);
    return s;
}

float mathfn_cosf(float x)
{
    float s, c;
    mathfn_sincosf(x, &s, &c);
    return c;
}

/* ---- SiLU ---------------------------------------------------------------- */

float mathfn_silu(float x)
{
    if (x != x)
        return x + x;
    if (x < -120.0f) /* |x e^x| < 2^-150: rounds to -0, as does -Inf */
        return -0.0f;
    double xd = (double)x;
    /* -x <= 120 here; for -x < -110, e^-x < 2^-158 and 1 + e^-x == 1. */
    double t = -xd < -110.0 ? 0.0 : exp_core(-xd);
    return (float)(xd / (1.0 + t)); /* |result| <= |x|: in range */
}
