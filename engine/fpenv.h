/*
 * fpenv.h: checking that the floating-point environment is IEEE's default.
 *
 * The reference engine's bits are only defined under round-to-nearest-even
 * with subnormals honoured. A library built with -ffast-math can switch on
 * flush-to-zero / denormals-are-zero for the whole process when it is
 * loaded (crtfastmath.o sets MXCSR on x86), and fesetround() changes
 * rounding for everyone; either would silently change plumb's results.
 */
#ifndef PLUMB_FPENV_H
#define PLUMB_FPENV_H

#include "err.h"

/* 0 when the environment is IEEE default; else -1 with err naming what is
 * wrong ("floating-point environment: flush-to-zero is on ..."). */
int fpenv_check(struct plumb_err *err);

#endif
