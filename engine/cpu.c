/*
 * cpu.c: run-time CPU feature checks, from CPUID and XGETBV directly (the
 * compilers' __builtin_cpu_supports does not know every feature name in
 * every version: clang 14 lacks "f16c").
 *
 * A feature is usable when the CPU has it and the operating system saves its
 * registers on context switches (OSXSAVE set, and XCR0 holding the SSE and
 * AVX state for AVX2; also the opmask and ZMM state for AVX-512).
 */
#include "cpu.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <stdint.h>

/* XCR0, or 0 when the OS has not enabled XSAVE. */
static uint64_t cpu_xcr0(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) /* OSXSAVE */
        return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

bool cpu_has_avx2(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return false;
    bool fma = c & (1u << 12), avx = c & (1u << 28), f16c = c & (1u << 29);
    if (!fma || !avx || !f16c || (cpu_xcr0() & 0x6) != 0x6) /* SSE + AVX state */
        return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    return b & (1u << 5); /* AVX2 */
}

bool cpu_has_avx512(void)
{
    unsigned a, b, c, d;
    if (!cpu_has_avx2() || (cpu_xcr0() & 0xe6) != 0xe6) /* + opmask, ZMM state */
        return false;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    const unsigned f = 1u << 16, bw = 1u << 30, vl = 1u << 31;
    return (b & f) && (b & bw) && (b & vl);
}

bool cpu_has_avx512_vnni(void)
{
    unsigned a, b, c, d;
    if (!cpu_has_avx512() || !__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    const unsigned vbmi = 1u << 1, gfni = 1u << 8, vnni = 1u << 11, bitalg = 1u << 12;
    return (c & vbmi) && (c & gfni) && (c & vnni) && (c & bitalg);
}

#else

bool cpu_has_avx2(void)
{
    return false;
}

bool cpu_has_avx512(void)
{
    return false;
}

bool cpu_has_avx512_vnni(void)
{
    return false;
}

#endif
