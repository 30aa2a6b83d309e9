/*
 * test_plugin.c: loading kernel plugins (harness/plugin.c). The example
 * plugin loads with its set as written; each way a plugin can be wrong
 * (tools/examples/bad/, built by `make examples`) is refused with one line
 * that starts with the file and says why, leaving nothing loaded.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "plugin.h"

TestSuite(plugin, .timeout = 30);

#define EXAMPLES PLUMB_BUILD_DIR "/examples/"

Test(plugin, loads_the_good_example_with_its_set_as_written)
{
    struct plugin p;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, plugin_open(&p, EXAMPLES "good_kernels.so", &err), 0), "%s", err.msg);
    cr_assert(eq(str, (char *)p.set->name, "good"));
    cr_assert(eq(int, (int)p.set->accuracy, PLUMB_ACCURACY_SIMD));
    cr_assert(eq(u32, p.set->abi, PLUMB_KERNELS_ABI));
    cr_assert(p.set->matmul[0] != NULL, "f32 matmul");
    cr_assert(p.set->matmul[8] != NULL, "q8_0 matmul");
    cr_assert(p.set->matmul[2] == NULL && p.set->rmsnorm == NULL && p.set->add == NULL,
              "the example overrides only two matmuls");
    plugin_close(&p);
    cr_assert(eq(ptr, p.handle, NULL));
    plugin_close(&p); /* twice is safe */
}

struct bad_plugin {
    const char *file;
    const char *reason;
};

Test(plugin, each_bad_plugin_is_refused_with_one_line_naming_the_file)
{
    char abi[128];
    snprintf(abi, sizeof abi, "kernel ABI version %d, this plumb expects %d",
             PLUMB_KERNELS_ABI + 1, PLUMB_KERNELS_ABI);
    const struct bad_plugin cases[] = {
        {EXAMPLES "bad/no_entry.so", "no symbol 'plumb_kernels_entry'"},
        {EXAMPLES "bad/null_entry.so", "plumb_kernels_entry() returned NULL"},
        {EXAMPLES "bad/abi_mismatch.so", abi},
        {EXAMPLES "bad/no_name.so", "kernel set has no name"},
        {EXAMPLES "bad/bad_accuracy.so", "accuracy 7 is not 0 (exact), 1 (simd) or 2 (quantized)"},
        {EXAMPLES "bad/not_there.so", "cannot load plugin"},
        {"tools/examples/good_kernels.c", "cannot load plugin"}, /* not a shared object */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct plugin p;
        struct plumb_err err = {{0}};
        memset(&p, 0x5A, sizeof p);
        cr_assert(eq(int, plugin_open(&p, cases[i].file, &err), -1), "%s loaded", cases[i].file);
        size_t n = strlen(cases[i].file);
        cr_assert(eq(int, strncmp(err.msg, cases[i].file, n), 0), "%s", err.msg);
        cr_assert(eq(int, strncmp(err.msg + n, ": ", 2), 0), "%s", err.msg);
        cr_assert(not(eq(ptr, strstr(err.msg, cases[i].reason), NULL)), "want '%s' in: %s",
                  cases[i].reason, err.msg);
        cr_assert(eq(ptr, strchr(err.msg, '\n'), NULL), "one line: %s", err.msg);
        cr_assert(eq(ptr, p.handle, NULL), "%s: nothing stays loaded", cases[i].file);
        cr_assert(eq(ptr, (void *)p.set, NULL));
        plugin_close(&p);
    }
}

/* dlopen("x.so") would search the library path; a plugin name without a
 * folder means the file in the current folder, as on the command line. */
Test(plugin, a_bare_file_name_means_the_current_folder_not_the_library_path)
{
    char dir[PATH_MAX];
    cr_assert(not(eq(ptr, realpath(EXAMPLES, dir), NULL)));
    cr_assert(eq(int, chdir(dir), 0)); /* Criterion runs each test in its own process */
    struct plugin p;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, plugin_open(&p, "good_kernels.so", &err), 0), "%s", err.msg);
    plugin_close(&p);
    /* libm is on the library path, not here */
    cr_assert(eq(int, plugin_open(&p, "libm.so.6", &err), -1));
    cr_assert(not(eq(ptr, strstr(err.msg, "libm.so.6: cannot load plugin"), NULL)), "%s", err.msg);
}
