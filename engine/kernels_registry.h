/*
 * kernels_registry.h: the kernel sets built into plumb, choosing one by
 * name, and completing a partial set from the scalar specification.
 *
 * Built-in sets: "scalar" (always), "avx2" and "avx512" on x86-64, "neon" on
 * aarch64; each is compiled with its own target flags, so the binary runs on
 * any CPU of its architecture, and is offered only when the CPU running it
 * supports it (checked at run time). "auto" picks the best supported set.
 * Sets loaded from plugins (harness/plugin.h) are not listed here; they are
 * passed to the engine directly.
 */
#ifndef PLUMB_KERNELS_REGISTRY_H
#define PLUMB_KERNELS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "kernels.h"

/* Number of built-in sets compiled into this binary (scalar first). */
size_t kernels_count(void);

/* Built-in set i (0 <= i < kernels_count()). */
const struct plumb_kernels *kernels_at(size_t i);

/* Whether the CPU running this process can execute built-in set i. */
bool kernels_supported(size_t i);

/*
 * The built-in sets of other CPU architectures, which this binary does not
 * contain ("neon" in an x86-64 build; "avx2" and "avx512" in an aarch64
 * one): the name of the i-th, with *arch set to the architecture it is
 * built for ("aarch64", "x86_64") and *accuracy to its class (either may
 * be NULL); NULL past the last.
 */
const char *kernels_foreign(size_t i, const char **arch, enum plumb_accuracy *accuracy);

/*
 * The set called name: "scalar", "avx2", "avx512", "neon", or "auto" (the
 * best supported). NULL name means the PLUMB_KERNELS environment variable,
 * or "scalar" when it is unset. Errors: an unknown name (listing the known
 * ones), a set of another architecture (kernels_foreign), or a set this CPU
 * cannot run.
 */
const struct plumb_kernels *kernels_get(const char *name, struct plumb_err *err);

/*
 * out = set with every NULL entry filled from the scalar set (a set may
 * override only some operations). Returns 0, or -1 with err set when the set
 * is unusable: a wrong ABI version, no name.
 */
int kernels_resolve(const struct plumb_kernels *set, struct plumb_kernels *out,
                    struct plumb_err *err);

#endif
