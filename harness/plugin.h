/*
 * plugin.h: loading a kernel set from a shared object a user built against
 * engine/kernels.h alone, without rebuilding plumb.
 *
 * The plugin contract:
 *
 *   1. Build with `cc -std=c11 -ffp-contract=off -O2 -shared -fPIC
 *      -I PLUMB/engine mine.c -o mine.so` (no plumb library is linked: the
 *      plugin sees nothing of plumb but kernels.h).
 *   2. Export one function, called once after loading:
 *
 *        const struct plumb_kernels *plumb_kernels_entry(void);
 *
 *      It returns a set that stays valid until the plugin is unloaded.
 *   3. The set's `abi` is PLUMB_KERNELS_ABI of the kernels.h it was built
 *      against, `name` a non-empty string, `accuracy` one of the three
 *      classes; entries it does not provide are NULL (the scalar
 *      specification's are used for them).
 *
 * plugin_open refuses, with one line naming the file, a file that cannot be
 * loaded, has no entry symbol, returns NULL, was built for another ABI
 * version, has no name or states an accuracy that is not a class. It does
 * not run any kernel: whether the kernels are right is kcheck.h's question.
 *
 * What it is not: a sandbox. The plugin's code runs in this process; a
 * plugin that crashes takes the process with it, which is why kcheck runs
 * kernels in forked children.
 */
#ifndef PLUMB_PLUGIN_H
#define PLUMB_PLUGIN_H

#include "err.h"
#include "kernels.h"

/* The symbol a plugin exports, and its type. */
#define PLUGIN_ENTRY_SYMBOL "plumb_kernels_entry"
typedef const struct plumb_kernels *(*plugin_entry_fn)(void);

/*
 * A loaded plugin. Invariant: set is non-NULL exactly when handle is, and
 * then points into the plugin's memory (valid until plugin_close).
 */
struct plugin {
    void *handle;                    /* from dlopen */
    const struct plumb_kernels *set; /* the validated set the entry returned */
    char path[1024];                 /* as given, for messages */
};

/*
 * Load the plugin at path and validate its set. A path without a '/' is
 * taken relative to the current folder (not searched for along the library
 * path, as dlopen would). Returns 0, or -1 with err set to
 * "PATH: reason"; p is then zeroed and needs no plugin_close.
 */
int plugin_open(struct plugin *p, const char *path, struct plumb_err *err);

/* Unload (safe on a zeroed plugin). Pointers into the set become invalid. */
void plugin_close(struct plugin *p);

#endif
