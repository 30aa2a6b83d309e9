/*
 * plugin.c: dlopen a kernel plugin and validate the set it returns. See
 * plugin.h for the contract.
 */
#include "plugin.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* dlerror() starts with the path when it has one; the message already does. */
static const char *plugin_reason(const char *path)
{
    const char *e = dlerror();
    if (!e)
        return "unknown error";
    size_t n = strlen(path);
    if (strncmp(e, path, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
        return e + n + 2;
    return e;
}

int plugin_open(struct plugin *p, const char *path, struct plumb_err *err)
{
    memset(p, 0, sizeof *p);
    char full[sizeof p->path + 2];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof p->path)
        return err_set(err, "%s: bad plugin file name", len ? "(long name)" : "(empty)");
    memcpy(p->path, path, len + 1);
    /* dlopen("x.so") searches the library path, not the current folder. */
    snprintf(full, sizeof full, "%s%s", strchr(path, '/') ? "" : "./", path);

    dlerror();
    void *h = dlopen(full, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return err_set(err, "%s: cannot load plugin: %s", path, plugin_reason(full));

    /* ISO C has no conversion from void * to a function pointer; POSIX
     * guarantees that this copy gives the function. */
    void *sym = dlsym(h, PLUGIN_ENTRY_SYMBOL);
    plugin_entry_fn entry;
    if (!sym) {
        err_set(err, "%s: no symbol '%s' (a plugin defines const struct plumb_kernels *%s(void))",
                path, PLUGIN_ENTRY_SYMBOL, PLUGIN_ENTRY_SYMBOL);
        goto fail;
    }
    memcpy(&entry, &sym, sizeof entry);
    const struct plumb_kernels *set = entry();
    if (!set) {
        err_set(err, "%s: %s() returned NULL", path, PLUGIN_ENTRY_SYMBOL);
        goto fail;
    }
    /* abi is the first member in every version: safe to read before the
     * rest of the layout is known to match. */
    if (set->abi != PLUMB_KERNELS_ABI) {
        err_set(err, "%s: kernel ABI version %u, this plumb expects %d (rebuild the plugin "
                "against this plumb's engine/kernels.h)", path, (unsigned)set->abi,
                PLUMB_KERNELS_ABI);
        goto fail;
    }
    if (!set->name || !set->name[0]) {
        err_set(err, "%s: kernel set has no name (struct plumb_kernels.name is %s)", path,
                set->name ? "empty" : "NULL");
        goto fail;
    }
    int acc = (int)set->accuracy;
    if (acc != PLUMB_ACCURACY_EXACT && acc != PLUMB_ACCURACY_SIMD &&
        acc != PLUMB_ACCURACY_QUANTIZED) {
        err_set(err, "%s: kernel set '%.64s': accuracy %d is not 0 (exact), 1 (simd) or "
                "2 (quantized)", path, set->name, acc);
        goto fail;
    }
    p->handle = h;
    p->set = set;
    return 0;
fail:
    dlclose(h);
    memset(p, 0, sizeof *p);
    return -1;
}

void plugin_close(struct plugin *p)
{
    if (p->handle)
        dlclose(p->handle);
    memset(p, 0, sizeof *p);
}
