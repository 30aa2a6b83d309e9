/*
 * fuzz.h: what the libFuzzer targets in tests/fuzz/ share.
 *
 * Each target is one file, fuzz_NAME.c, defining
 *
 *     int fuzz_NAME(const uint8_t *data, size_t size);
 *
 * the whole test of one input: call the library's entry point on the bytes,
 * then check what its header promises (a clean error with a message, or a
 * result whose invariants hold) and touch every byte of the result so that
 * AddressSanitizer sees any read out of bounds. A broken promise calls
 * fuzz_fail(), which prints one line and aborts: libFuzzer records that as a
 * crash, Criterion as a failed test. It returns 0 (libFuzzer's "keep").
 *
 * The file ends in FUZZ_ENTRY(fuzz_NAME), which defines libFuzzer's
 * LLVMFuzzerTestOneInput unless PLUMB_FUZZ_REPLAY is defined:
 * tests/test_fuzz_regress.c defines it and #includes every target, so the
 * committed regression corpus (tests/fuzz/regress/NAME/) is replayed by
 * `make test` through exactly the code the fuzzers run. Hence each target's
 * own static helpers carry its name as a prefix (they share one
 * translation unit there).
 *
 * Build and run: `make fuzz` (tools/fuzz.sh; clang with
 * -fsanitize=fuzzer,address,undefined).
 */
#ifndef PLUMB_FUZZ_H
#define PLUMB_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#ifdef PLUMB_FUZZ_REPLAY
#define FUZZ_ENTRY(fn)
#else
#define FUZZ_ENTRY(fn)                                                       \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);            \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)             \
    {                                                                        \
        return fn(data, size);                                               \
    }
#endif

/* The targets, for the replay test. */
int fuzz_gguf(const uint8_t *data, size_t size);
int fuzz_spec(const uint8_t *data, size_t size);
int fuzz_policy(const uint8_t *data, size_t size);
int fuzz_suite(const uint8_t *data, size_t size);
int fuzz_dump(const uint8_t *data, size_t size);
int fuzz_tokenizer(const uint8_t *data, size_t size);

static inline void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A broken promise: say which, then abort (a crash to libFuzzer). */
static inline void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* A failed call must leave one non-empty line in err. */
static inline void fuzz_check_err(const struct plumb_err *err, const char *what)
{
    size_t n = strnlen(err->msg, sizeof err->msg);
    if (n == 0 || n == sizeof err->msg)
        fuzz_fail("%s failed without a NUL-terminated message", what);
    if (memchr(err->msg, '\n', n))
        fuzz_fail("%s: message is more than one line: %s", what, err->msg);
}

/* Read every byte at p so that ASan checks the whole range; the sum keeps
 * the loads from being optimised away. */
static inline uint64_t fuzz_touch(const void *p, size_t n)
{
    const volatile uint8_t *b = p;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += b[i];
    return sum;
}

/* A growing byte buffer, as a gguf_sink_fn target. */
struct fuzz_buf {
    uint8_t *p;
    size_t n, cap;
};

static inline int fuzz_buf_sink(void *ctx, const void *bytes, size_t n, struct plumb_err *err)
{
    struct fuzz_buf *b = ctx;
    if (n > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return err_set(err, "fuzz sink: out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, bytes, n);
    b->n += n;
    return 0;
}

#endif
