/*
 * err.h: how plumb's library code reports failure.
 *
 * Library code never prints and never exits. A function that can fail returns
 * 0 on success and -1 on failure, and fills a struct plumb_err with one line
 * that starts with the thing it concerns (usually a file name), then the
 * reason: "model.gguf: offset 24: tensor count 1152921504606846976 cannot fit
 * in a 512-byte file". The CLI prints it as "plumb: <msg>" and exits 2.
 *
 * A NULL struct plumb_err pointer is allowed everywhere: the message is then
 * dropped.
 */
#ifndef PLUMB_ERR_H
#define PLUMB_ERR_H

#include <stdarg.h>

#define PLUMB_ERR_MAX 512

struct plumb_err {
    char msg[PLUMB_ERR_MAX];
};

/* Format msg (printf-style) into e, truncating to one line. Returns -1 so
 * callers can write `return err_set(e, ...);`. */
int err_set(struct plumb_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like err_set, with a va_list. */
int err_vset(struct plumb_err *e, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Put "prefix: " in front of the message already in e (used to add the file
 * name when a lower layer only knew the reason). Returns -1. */
int err_prefix(struct plumb_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
