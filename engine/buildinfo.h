/*
 * buildinfo.h: how this plumb was built, for provenance in dumps.
 */
#ifndef PLUMB_BUILDINFO_H
#define PLUMB_BUILDINFO_H

/* "gcc 12.2.0" or "clang 14.0.6" (from the compiler's own macros). */
const char *buildinfo_compiler(void);

/* The CFLAGS the library was compiled with (set by the Makefile). */
const char *buildinfo_cflags(void);

/* "x86_64", "aarch64", ... */
const char *buildinfo_arch(void);

#endif
