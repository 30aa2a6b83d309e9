/*
 * outfile.h: writing a file so that nothing is lost if the write fails.
 *
 * Bytes go to a temporary file beside the destination ("DEST.tmp.XXXXXX");
 * (removed again if the program is interrupted, once the program has called
 * outfile_cleanup_on_signals);
 * outfile_commit() flushes, fsyncs and renames it over the destination in one
 * step, so readers see either the old file or the whole new one. Any failure,
 * or outfile_abort(), removes the temporary file and leaves the destination
 * as it was.
 *
 * The destination is looked at first. A folder is refused at once. A symbolic
 * link to a regular file is written through: the temporary file goes beside
 * the link's target and replaces the target, never the link (so `-o
 * /dev/stdout` redirected to a file cannot replace /dev/stdout itself). A
 * destination that exists and is not a regular file (a character device such
 * as /dev/null or /dev/full, a pipe, a socket) is written to directly, with
 * no temporary file and no rename: replacing it would replace the device
 * node, and nothing about it can be atomic anyway.
 */
#ifndef PLUMB_OUTFILE_H
#define PLUMB_OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

struct outfile {
    char *path;   /* destination, as the caller named it (for messages) */
    char *target; /* the file renamed over: path, or its symlink's target */
    char *tmp;    /* temporary name, NULL when nothing is open or direct */
    FILE *fp;
    bool direct;  /* writing straight into a device or pipe (no tmp, no rename) */
    size_t written; /* bytes written so far */
    size_t synced;  /* bytes whose writeback has been started */
};

/* Create the temporary file (or open a device or pipe destination). Errors
 * name the destination path: "out.gguf: is a directory", "dir/out.gguf:
 * cannot create: No such file or directory". */
int outfile_open(struct outfile *o, const char *path, struct plumb_err *err);

/* Append n bytes. On failure (disk full, file-size limit) the temporary file
 * is removed, o is closed, and err names the destination. */
int outfile_write(struct outfile *o, const void *buf, size_t n, struct plumb_err *err);

/* Flush, fsync, close and rename into place. On failure the temporary file is
 * removed. o is closed either way. */
int outfile_commit(struct outfile *o, struct plumb_err *err);

/* Remove the temporary file; safe on a zeroed, closed or committed outfile. */
void outfile_abort(struct outfile *o);

/* Install handlers for SIGINT, SIGTERM and SIGHUP that remove every
 * temporary file still open, then let the signal end the program as usual.
 * For programs (the CLI) to call once; a library never installs handlers. */
void outfile_cleanup_on_signals(void);

/* A gguf_sink_fn-compatible adapter: ctx is a struct outfile *. */
int outfile_sink(void *ctx, const void *buf, size_t n, struct plumb_err *err);

#endif
