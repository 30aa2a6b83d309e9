/*
 * helpers.h: what several test files share: running the plumb binary,
 * temporary folders, reading files, a seeded PRNG.
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

/* splitmix64: tests' seeded inputs. */
uint64_t test_rand(uint64_t *state);

#endif
