/*
 * kernels_registry.c: the built-in kernel sets, run-time CPU detection, and
 * completing a partial set from the scalar spec. See kernels_registry.h.
 *
 * Detection is cpu.c's: the CPU's cpuid bits and the operating system's
 * support for the registers (xgetbv: a CPU can have AVX-512 that the OS does
 * not save on a context switch).
 *
 * aarch64 needs no detection: NEON (Advanced SIMD) is part of its base
 * architecture, so "neon" is supported wherever it is built.
 *
 * PLUMB_KERNELS_DISABLE=avx512[,avx2...] makes this process treat the
 * listed sets as unsupported, as a CPU without them would: for testing the
 * fallback of "auto" and the refusal of an unsupported set on any machine.
 */
#include "kernels_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buildinfo.h"
#include "cpu.h"
#include "ggml_ref.h"
#include "scalar.h"
#if defined(__x86_64__)
#include "avx2.h"
#include "avx512.h"
#include "avx512_vnni.h"
#endif
#if defined(__aarch64__)
#include "neon.h"
#endif

/* A built-in set: its table, and what the CPU must have to run it. */
struct kernels_entry {
    const struct plumb_kernels *(*get)(void);
    const char *name;
    const char *needs;        /* for the error message */
    bool (*cpu_has)(void);
    const char *base;         /* the set whose kernels it reuses, or NULL */
};

static bool kernels_always(void)
{
    return true;
}

#if defined(__x86_64__)
/* avx512.c is also compiled with AVX2, FMA and F16C (every AVX-512 CPU has them). */
static bool kernels_has_avx512(void)
{
    return cpu_has_avx2() && cpu_has_avx512();
}

static bool kernels_has_avx512_vnni(void)
{
    return kernels_has_avx512() && cpu_has_avx512_vnni();
}
#endif

/* Scalar first; then in order of preference, the best last. "auto" never
 * picks a set of the quantized class: rounding the activations to 8 bits
 * changes the numbers, not only their speed, so it is asked for by name
 * (ggml: llama.cpp's arithmetic in scalar C; avx512-vnni: the same
 * arithmetic with integer dot products, the fastest matrix-vector products
 * for the quantized weight types). */
static const struct kernels_entry kernels_table[] = {
    {kernels_scalar, "scalar", "nothing", kernels_always, NULL},
    {kernels_ggml_ref, "ggml", "nothing", kernels_always, NULL},
#if defined(__x86_64__)
    {kernels_avx2, "avx2", "AVX2, FMA and F16C", cpu_has_avx2, NULL},
    {kernels_avx512, "avx512", "AVX-512 F, BW and VL", kernels_has_avx512, NULL},
    /* avx512-vnni runs avx512's kernels for its float operations: hiding
     * avx512 (PLUMB_KERNELS_DISABLE) hides it too */
    {kernels_avx512_vnni, "avx512-vnni", "AVX-512 F, BW, VL, VNNI, VBMI and BITALG, and GFNI",
     kernels_has_avx512_vnni, "avx512"},
#endif
#if defined(__aarch64__)
    {kernels_neon, "neon", "Advanced SIMD (NEON)", kernels_always, NULL},
#endif
};

#define KERNELS_N (sizeof kernels_table / sizeof kernels_table[0])

/* The built-in sets of the other architectures plumb builds for: absent
 * from this binary, named so that asking for one says why it is missing. */
static const struct kernels_foreign_entry {
    const char *name;
    const char *arch;
    enum plumb_accuracy accuracy;
} kernels_foreign_table[] = {
#if !defined(__x86_64__)
    {"avx2", "x86_64", PLUMB_ACCURACY_SIMD},
    {"avx512", "x86_64", PLUMB_ACCURACY_SIMD},
    {"avx512-vnni", "x86_64", PLUMB_ACCURACY_QUANTIZED},
#endif
#if !defined(__aarch64__)
    {"neon", "aarch64", PLUMB_ACCURACY_SIMD},
#endif
};

#define KERNELS_FOREIGN_N (sizeof kernels_foreign_table / sizeof kernels_foreign_table[0])

const char *kernels_foreign(size_t i, const char **arch, enum plumb_accuracy *accuracy)
{
    if (i >= KERNELS_FOREIGN_N)
        return NULL;
    if (arch)
        *arch = kernels_foreign_table[i].arch;
    if (accuracy)
        *accuracy = kernels_foreign_table[i].accuracy;
    return kernels_foreign_table[i].name;
}

size_t kernels_count(void)
{
    return KERNELS_N;
}

const struct plumb_kernels *kernels_at(size_t i)
{
    return i < KERNELS_N ? kernels_table[i].get() : NULL;
}

/* Whether name appears in the comma-separated list PLUMB_KERNELS_DISABLE. */
static bool kernels_disabled(const char *name)
{
    const char *list = getenv("PLUMB_KERNELS_DISABLE");
    size_t len = strlen(name);
    while (list && *list) {
        const char *end = strchr(list, ',');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        if (n == len && !strncmp(list, name, n))
            return true;
        list = end ? end + 1 : NULL;
    }
    return false;
}

/* Whether PLUMB_KERNELS_DISABLE names set i or the set it builds on. */
static bool kernels_hidden(size_t i)
{
    const char *base = kernels_table[i].base;
    return kernels_disabled(kernels_table[i].name) || (base && kernels_disabled(base));
}

bool kernels_supported(size_t i)
{
    if (i >= KERNELS_N)
        return false;
    if (i == 0)
        return true; /* scalar runs everywhere and cannot be disabled */
    return kernels_table[i].cpu_has() && !kernels_hidden(i);
}

/* "scalar, avx2, avx512" (the supported ones only when only_supported). */
static void kernels_list(char *buf, size_t len, bool only_supported)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < KERNELS_N; i++) {
        if (only_supported && !kernels_supported(i))
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", kernels_table[i].name);
        if (w < 0 || (size_t)w >= len - used)
            return;
        used += (size_t)w;
    }
}

const struct plumb_kernels *kernels_get(const char *name, struct plumb_err *err)
{
    const char *from = "";
    if (!name) {
        name = getenv("PLUMB_KERNELS");
        from = " (from PLUMB_KERNELS)";
        if (!name || !*name)
            return kernels_table[0].get();
    }
    if (!strcmp(name, "auto")) {
        size_t best = 0;
        for (size_t i = 0; i < KERNELS_N; i++)
            if (kernels_supported(i) &&
                kernels_table[i].get()->accuracy != PLUMB_ACCURACY_QUANTIZED)
                best = i;
        return kernels_table[best].get();
    }
    char known[256];
    for (size_t i = 0; i < KERNELS_N; i++) {
        if (strcmp(name, kernels_table[i].name) != 0)
            continue;
        if (kernels_supported(i))
            return kernels_table[i].get();
        kernels_list(known, sizeof known, true);
        err_set(err, "kernel set '%s'%s needs %s, which this CPU %s (usable here: %s)", name,
                from, kernels_table[i].needs,
                kernels_hidden(i) ? "has but PLUMB_KERNELS_DISABLE hides" : "lacks", known);
        return NULL;
    }
    for (size_t i = 0; i < KERNELS_FOREIGN_N; i++) {
        if (strcmp(name, kernels_foreign_table[i].name) != 0)
            continue;
        kernels_list(known, sizeof known, true);
        err_set(err, "kernel set '%s'%s is built only for %s; this plumb is built for %s "
                     "(usable here: %s)", name, from, kernels_foreign_table[i].arch,
                buildinfo_arch(), known);
        return NULL;
    }
    kernels_list(known, sizeof known, false);
    err_set(err, "unknown kernel set '%s'%s (known: %s, auto)", name, from, known);
    return NULL;
}

int kernels_resolve(const struct plumb_kernels *set, struct plumb_kernels *out,
                    struct plumb_err *err)
{
    if (!set)
        return err_set(err, "kernel set: none given");
    if (set->abi != PLUMB_KERNELS_ABI)
        return err_set(err, "kernel set '%s': built for kernel ABI %u, this plumb has ABI %d",
                       set->name ? set->name : "(unnamed)", set->abi, PLUMB_KERNELS_ABI);
    if (!set->name || !*set->name)
        return err_set(err, "kernel set: it has no name");
    if ((unsigned)set->accuracy > PLUMB_ACCURACY_QUANTIZED)
        return err_set(err, "kernel set '%s': unknown accuracy class %d", set->name,
                       (int)set->accuracy);
    const struct plumb_kernels *s = kernels_scalar();
    *out = *set;
    for (int t = 0; t < PLUMB_KERNELS_MAX_TYPES; t++)
        if (!out->matmul[t])
            out->matmul[t] = s->matmul[t];
    if (!out->rmsnorm)
        out->rmsnorm = s->rmsnorm;
    if (!out->rope)
        out->rope = s->rope;
    if (!out->softmax)
        out->softmax = s->softmax;
    if (!out->attention)
        out->attention = s->attention;
    if (!out->silu_mul)
        out->silu_mul = s->silu_mul;
    if (!out->add)
        out->add = s->add;
    return 0;
}
