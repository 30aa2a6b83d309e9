/*
 * fpenv.c: see fpenv.h. The checks compute with volatile operands so the
 * compiler cannot fold them at build time under its own (default) rules.
 */
#include "fpenv.h"

#include <fenv.h>

int fpenv_check(struct plumb_err *err)
{
    if (fegetround() != FE_TONEAREST)
        return err_set(err, "floating-point environment: rounding mode is not round-to-nearest; "
                            "the reference engine refuses to run");
    /* 2^-149, the smallest subnormal, and 2^-126, the smallest normal. */
    volatile float sub = 1.40129846e-45f;
    volatile float min_normal = 1.17549435e-38f;
    volatile float half = 0.5f;
    volatile float two_24 = 16777216.0f;
    /* a subnormal input with a normal result (2^-125): DAZ reads the input
     * as 0; FTZ, which only flushes subnormal results, leaves it alone */
    float in = sub * two_24;
    if (in == 0.0f)
        return err_set(err, "floating-point environment: denormals-are-zero is on (a library "
                            "built with fast-math?); the reference engine refuses to run");
    float out = min_normal * half;   /* a subnormal result: FTZ would give 0 */
    if (out == 0.0f)
        return err_set(err, "floating-point environment: flush-to-zero is on (a library built "
                            "with fast-math?); the reference engine refuses to run");
    return 0;
}
