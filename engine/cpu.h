/*
 * cpu.h: what the CPU running this process can execute, checked at run time
 * (instruction set and the operating system's support for its registers).
 */
#ifndef PLUMB_CPU_H
#define PLUMB_CPU_H

#include <stdbool.h>

/* x86-64 with AVX2, FMA and F16C usable. */
bool cpu_has_avx2(void);

/* x86-64 with AVX-512 F, BW and VL usable. */
bool cpu_has_avx512(void);

/* cpu_has_avx512() with AVX-512 VNNI (vpdpbusd, vpdpwssd), VBMI (byte
 * permutes), BITALG (vpshufbitqmb) and GFNI: Ice Lake, Zen 4 and later. */
bool cpu_has_avx512_vnni(void);

#endif
