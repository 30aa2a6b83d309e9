/*
 * err.c: filling struct plumb_err. See err.h for the convention.
 */
#include "err.h"

#include <stdio.h>
#include <string.h>

/* Newlines would break the one-line contract of the CLI. */
static void err_one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

int err_vset(struct plumb_err *e, const char *fmt, va_list ap)
{
    if (!e)
        return -1;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    err_one_line(e->msg);
    return -1;
}

int err_set(struct plumb_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, fmt, ap);
    va_end(ap);
    return -1;
}

int err_prefix(struct plumb_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char prefix[PLUMB_ERR_MAX];
    char old[PLUMB_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* prefix, ": ", then as much of the old message as fits */
    size_t n = strlen(prefix);
    if (n > sizeof e->msg - 3)
        n = sizeof e->msg - 3;
    memcpy(e->msg, prefix, n);
    memcpy(e->msg + n, ": ", 2);
    size_t rest = sizeof e->msg - n - 3;
    size_t m = strnlen(old, rest);
    memcpy(e->msg + n + 2, old, m);
    e->msg[n + 2 + m] = '\0';
    err_one_line(e->msg);
    return -1;
}
