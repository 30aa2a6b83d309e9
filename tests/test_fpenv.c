/*
 * test_fpenv.c: the engine's refusal to run in a floating-point environment
 * that is not IEEE's default, each departure named for what it is.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fenv.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define FPENV_HAVE_MXCSR 1
#define MXCSR_FTZ 0x8000u /* flush-to-zero: subnormal results become 0 */
#define MXCSR_DAZ 0x0040u /* denormals-are-zero: subnormal inputs read as 0 */
#endif

#include "fpenv.h"

TestSuite(fpenv, .timeout = 10);

Test(fpenv, the_default_environment_passes)
{
    struct plumb_err err = {{0}};
    cr_assert(eq(int, fpenv_check(&err), 0), "%s", err.msg);
    cr_assert(eq(int, fpenv_check(NULL), 0));
}

Test(fpenv, another_rounding_mode_is_refused)
{
    const int modes[] = {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct plumb_err err = {{0}};
        cr_assert(eq(int, fesetround(modes[i]), 0));
        int rc = fpenv_check(&err);
        fesetround(FE_TONEAREST);
        cr_assert(eq(int, rc, -1), "mode %zu", i);
        cr_assert(eq(str, err.msg,
                     "floating-point environment: rounding mode is not round-to-nearest; "
                     "the reference engine refuses to run"));
    }
}

#ifdef FPENV_HAVE_MXCSR
/* Run fpenv_check with MXCSR bits set (as crtfastmath.o sets them when a
 * library built with -ffast-math is loaded), then restore. */
static int check_with_mxcsr(unsigned bits, struct plumb_err *err)
{
    unsigned old = _mm_getcsr();
    _mm_setcsr(old | bits);
    int rc = fpenv_check(err);
    _mm_setcsr(old);
    return rc;
}

/* Each mode alone is named as itself: FTZ alone must not be reported as
 * DAZ (the first probe once used a subnormal result, which FTZ flushes). */
Test(fpenv, flush_to_zero_and_denormals_are_zero_are_told_apart)
{
    struct plumb_err err = {{0}};
    cr_assert(eq(int, check_with_mxcsr(MXCSR_FTZ, &err), -1));
    cr_assert(eq(str, err.msg,
                 "floating-point environment: flush-to-zero is on (a library built with "
                 "fast-math?); the reference engine refuses to run"));
    cr_assert(eq(int, check_with_mxcsr(MXCSR_DAZ, &err), -1));
    cr_assert(eq(str, err.msg,
                 "floating-point environment: denormals-are-zero is on (a library built with "
                 "fast-math?); the reference engine refuses to run"));
    cr_assert(eq(int, check_with_mxcsr(MXCSR_FTZ | MXCSR_DAZ, &err), -1));
    cr_assert(not(eq(ptr, strstr(err.msg, "denormals-are-zero is on"), NULL)), "%s", err.msg);
    cr_assert(eq(int, fpenv_check(&err), 0), "restored: %s", err.msg);
}
#endif
