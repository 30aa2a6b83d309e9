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
 */
#ifndef PLUMB_OUTFILE_H
#define PLUMB_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

struct outfile {
    char *path;   /* destination */
    char *tmp;    /* temporary name, NULL when nothing is open */
    FILE *fp;
    size_t written; /* bytes written so far */
    size_t synced;  /* bytes whose writeback has been started */
};

/* Create the temporary file. Errors name the destination path. */
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
