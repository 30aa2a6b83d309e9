/*
 * mathfn.h: plumb's own exp, sin, cos, pow and SiLU for float.
 *
 * What they are for: the reference engine must give the same bits on every
 * machine, compiler and optimisation level, and the C library's expf/sinf/
 * powf differ between libms (glibc, musl, Apple, MSVC) and between versions.
 * These functions use only IEEE + - * /, integer/bit operations and
 * conversions, so with -ffp-contract=off, no -ffast-math and
 * FLT_EVAL_METHOD == 0 (SSE2 or any 64-bit target; x87 is refused at compile
 * time) they give identical bits everywhere (checked: gcc -O0, gcc -O3
 * -march=native, clang -O3 and clang -O3 -march=native agree on 7.4e7
 * inputs). They are not fast; they are the specification the engine's
 * softmax, RoPE and FFN are defined by.
 *
 * How: the float argument is widened to double, reduced, run through a
 * Taylor polynomial in double (relative error of the double result a few
 * units of 2^-53), and the double is rounded to float exactly once. The float
 * result is therefore the correctly rounded one except when the exact value
 * lies within about 2^-50 (relative) of a midpoint between two floats: then
 * it may be the other neighbour, off by at most 0.5 ulp + a hair.
 *
 * Accuracy, in ulp of the float result at the exact value. The tests
 * (tests/test_mathfn.c) measure against libm's double-precision result over
 * dense sweeps of the engine's ranges and 10^6 seeded random inputs, and
 * assert <= 0.501 ulp for every function. Largest errors they measure:
 *   mathfn_expf       x in [-104, 89], edges included      0.49999986 ulp
 *   mathfn_sinf/cosf  |x| <= 2^20, dense near k pi/2       0.49999997 ulp
 *                     any finite x                         0.4999985 ulp
 *   mathfn_powf       base in [1e4, 1e6], e in [-1, 0]     0.49999996 ulp
 *                     any base > 0 with e in [-4, 4];
 *                     negative bases, integer e            0.4999984 ulp
 *   mathfn_silu       all magnitudes, both signs           0.5 ulp (a tie, see
 *                                                          mathfn_silu)
 * Exhaustively (a one-off run, every float of the range; too slow for the
 * suite): expf on [-104, 89], silu on [-104, 104], sinf and cosf on every
 * finite float, powf(1e4, e) and powf(5e5, e) for every e in [-1, 0] all equal
 * libm's double result rounded to float, with one exception: cosf(0x1.4555p+51),
 * whose exact value is 2^-52.6 (relative) above a midpoint, comes out
 * 0.500000002 ulp off. Subnormal results are rounded like any other (their
 * ulp is 2^-149).
 *
 * Range: sin/cos reduce |x| < 2^24 by pi/2 with a three-part Cody-Waite
 * split (exact for that range) and larger |x| with an exact 2/pi bit table
 * (Payne-Hanek), so the bound holds for every finite float, including the
 * RoPE angles pos * freq for positions up to 10^6 and beyond.
 */
#ifndef PLUMB_MATHFN_H
#define PLUMB_MATHFN_H

/* e^x. NaN -> NaN; +Inf -> +Inf; -Inf -> +0. Results above FLT_MAX round to
 * +Inf (x > 88.7228...), results below 2^-150 round to +0 (x < -103.97...),
 * results in between are normal or correctly rounded subnormal floats. */
float mathfn_expf(float x);

/* sin x and cos x, x in radians. NaN -> NaN; +-Inf -> NaN. sin(-0) = -0.
 * Every finite input gives a value in [-1, 1]. */
float mathfn_sinf(float x);
float mathfn_cosf(float x);

/* Both at once, sharing the argument reduction; *s and *c are bit-identical
 * to mathfn_sinf(x) and mathfn_cosf(x). */
void mathfn_sincosf(float x, float *s, float *c);

/* base^e. The engine only needs base > 0 (RoPE: theta^(-2i/n_rot)); that
 * case is exp(e * ln base) in double, overflow -> +Inf, underflow -> +0 or a
 * correctly rounded subnormal. Everything else follows C11 Annex F (powf):
 *   pow(x, +-0) = 1 and pow(+1, y) = 1, even for NaN x or y;
 *   otherwise NaN in -> NaN out;
 *   pow(x < 0 finite, y finite non-integer) = NaN;
 *   pow(x < 0, y integer) = +-|x|^y, negative when y is odd;
 *   pow(+-0, y): y < 0 -> +Inf (+-Inf for odd integer y), y > 0 -> +0
 *     (+-0 for odd integer y);
 *   pow(-1, +-Inf) = 1; pow(|x| < 1, -Inf) = +Inf, pow(|x| > 1, -Inf) = +0,
 *     pow(|x| < 1, +Inf) = +0, pow(|x| > 1, +Inf) = +Inf;
 *   pow(-Inf, y) = pow(-0, -y) with the same signs; pow(+Inf, y) = +Inf for
 *     y > 0, +0 for y < 0. */
float mathfn_powf(float base, float e);

/* SiLU: x / (1 + e^-x), computed in double with the same exponential as
 * mathfn_expf and rounded once, so it neither overflows nor loses accuracy
 * for large |x|. silu(+Inf) = +Inf, silu(-Inf) = -0 (and every x < -120,
 * whose exact result is below 2^-150, gives -0), silu(+-0) = +-0,
 * NaN -> NaN. For |x| < 2^-125, where x/2 can fall exactly on a midpoint of
 * the subnormal grid, the x^2/4 that decides the rounding is below double
 * precision, so such a result rounds to even: 0.5 ulp + 2^-103 at worst. */
float mathfn_silu(float x);

#endif
