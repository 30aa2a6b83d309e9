/*
 * buildinfo.c: see buildinfo.h. PLUMB_BUILD_CFLAGS comes from the Makefile.
 */
#include "buildinfo.h"

#ifndef PLUMB_BUILD_CFLAGS
#define PLUMB_BUILD_CFLAGS "unknown"
#endif

#define BUILDINFO_STR2(x) #x
#define BUILDINFO_STR(x) BUILDINFO_STR2(x)

const char *buildinfo_compiler(void)
{
#if defined(__clang__)
    return "clang " BUILDINFO_STR(__clang_major__) "." BUILDINFO_STR(__clang_minor__) "." BUILDINFO_STR(__clang_patchlevel__);
#elif defined(__GNUC__)
    return "gcc " BUILDINFO_STR(__GNUC__) "." BUILDINFO_STR(__GNUC_MINOR__) "." BUILDINFO_STR(__GNUC_PATCHLEVEL__);
#else
    return "unknown";
#endif
}

const char *buildinfo_cflags(void)
{
    return PLUMB_BUILD_CFLAGS;
}

const char *buildinfo_arch(void)
{
#if defined(__x86_64__)
    return "x86_64";
#elif defined(__aarch64__)
    return "aarch64";
#elif defined(__i386__)
    return "i386";
#elif defined(__arm__)
    return "arm";
#elif defined(__riscv)
    return "riscv";
#else
    return "unknown";
#endif
}
