/*
 * helpers.h: what several test files share: running the plumb binary,
 * temporary folders, reading files, checking JSON, a seeded PRNG.
 */
#ifndef PLUMB_TEST_HELPERS_H
#define PLUMB_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#ifndef PLUMB_BUILD_DIR
#define PLUMB_BUILD_DIR "build"
#endif

struct run_result {
    int status;      /* exit code, or 128+signal when killed */
    char *out;       /* stdout, NUL-terminated */
    char *err;       /* stderr, NUL-terminated */
    size_t out_len, err_len;
};

/* Run PLUMB_BUILD_DIR/plumb with argv (NULL-terminated, argv[0] unused).
 * Captures both streams. The caller frees with run_free. */
void run_plumb(struct run_result *r, const char *const *argv);
void run_free(struct run_result *r);

/*
 * Where the tests run plumb from, when its build cannot run here directly:
 * PLUMB_TEST_QEMU, if set, is the emulator (an absolute path; `make
 * cross-aarch64` sets it to run an aarch64 build's suite under qemu-user).
 * exec_plumb replaces this process with PLUMB_BUILD_DIR/plumb and argv[1..]
 * (argv[0] unused), under the emulator when one is set; it returns only on
 * failure. plumb_command is the same as words for /bin/sh ("build/plumb",
 * or "/usr/bin/qemu-aarch64 build/aarch64/plumb"), a static string.
 */
void exec_plumb(const char *const *argv);
const char *plumb_command(void);

/* Lines in s (a final line without '\n' counts). */
int count_lines(const char *s);

/* A fresh empty folder under /tmp; the caller frees the string and removes
 * the folder with rm_tree. */
char *make_temp_dir(void);
void rm_tree(const char *path);

/* Number of entries in a folder other than . and .. */
int dir_entries(const char *path);

/* Whole file into a malloc'd buffer (NUL-terminated; *len without it), or NULL. */
char *read_file(const char *path, size_t *len);
int write_file(const char *path, const void *data, size_t len);

/* Whether s is exactly one JSON value (RFC 8259), surrounded by optional
 * whitespace: the check that machine-readable output parses. */
int json_valid(const char *s);

/* splitmix64: tests' seeded inputs. */
uint64_t test_rand(uint64_t *state);

/* Roughly normal, unit variance (the sum of four uniforms), from test_rand. */
float test_bell(uint64_t *state);

#endif
