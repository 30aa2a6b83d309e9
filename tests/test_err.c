/*
 * test_err.c: the one-line error messages: formatting, truncation to the
 * buffer, newlines folded away, prefixes, and a NULL err accepted anywhere.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "err.h"

TestSuite(err, .timeout = 10);

Test(err, set_formats_one_line_and_returns_minus_one)
{
    struct plumb_err e = {{0}};
    cr_assert(eq(int, err_set(&e, "%s: offset %d: %s", "m.gguf", 24, "bad\nthing\r"), -1));
    cr_assert(eq(str, e.msg, "m.gguf: offset 24: bad thing "));
    cr_assert(eq(int, err_set(NULL, "dropped %d", 1), -1));
    cr_assert(eq(int, err_prefix(NULL, "dropped"), -1));
}

Test(err, set_truncates_to_the_buffer)
{
    char big[2 * PLUMB_ERR_MAX];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct plumb_err e;
    err_set(&e, "%s", big);
    cr_assert(eq(sz, strlen(e.msg), (size_t)PLUMB_ERR_MAX - 1));
}

Test(err, prefix_puts_the_file_in_front)
{
    struct plumb_err e;
    err_set(&e, "has type string, expected an integer");
    cr_assert(eq(int, err_prefix(&e, "%s: %s", "m.gguf", "llama.block_count"), -1));
    cr_assert(eq(str, e.msg, "m.gguf: llama.block_count: has type string, expected an integer"));
    err_set(&e, "reason");
    err_prefix(&e, "a\nb"); /* a prefix with a newline stays one line too */
    cr_assert(eq(str, e.msg, "a b: reason"));
}

/* Whatever the lengths, the result fits: the prefix first (cut to leave
 * room for ": "), then as much of the old message as fits. */
Test(err, prefix_keeps_within_the_buffer)
{
    char big[2 * PLUMB_ERR_MAX];
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct plumb_err e;
    err_set(&e, "old");
    err_prefix(&e, "%s", big);
    cr_assert(eq(sz, strlen(e.msg), (size_t)PLUMB_ERR_MAX - 1));
    cr_assert(eq(int, memcmp(e.msg + PLUMB_ERR_MAX - 3, ": ", 2), 0));

    memset(big, 'o', sizeof big - 1);
    err_set(&e, "%s", big); /* a full old message */
    err_prefix(&e, "file");
    cr_assert(eq(sz, strlen(e.msg), (size_t)PLUMB_ERR_MAX - 1));
    cr_assert(eq(int, strncmp(e.msg, "file: ooo", 9), 0));
}
