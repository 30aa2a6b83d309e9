/*
 * outfile.c: temporary-file-and-rename output. See outfile.h.
 */
#include "outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void outfile_release(struct outfile *o)
{
    if (o->fp)
        fclose(o->fp);
    if (o->tmp) {
        unlink(o->tmp);
        free(o->tmp);
    }
    free(o->path);
    o->fp = NULL;
    o->tmp = NULL;
    o->path = NULL;
}

int outfile_open(struct outfile *o, const char *path, struct plumb_err *err)
{
    memset(o, 0, sizeof *o);
    size_t n = strlen(path);
    o->path = malloc(n + 1);
    o->tmp = malloc(n + sizeof ".tmp.XXXXXX");
    if (!o->path || !o->tmp) {
        outfile_release(o);
        return err_set(err, "%s: out of memory", path);
    }
    memcpy(o->path, path, n + 1);
    memcpy(o->tmp, path, n);
    memcpy(o->tmp + n, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        outfile_release(o);
        return err_set(err, "%s: cannot create: %s", path, strerror(e));
    }
    /* mkstemp makes the file 0600; give it the usual mode for new files. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    o->fp = fdopen(fd, "wb");
    if (!o->fp) {
        int e = errno;
        close(fd);
        outfile_release(o);
        return err_set(err, "%s: cannot open: %s", path, strerror(e));
    }
    return 0;
}

int outfile_write(struct outfile *o, const void *buf, size_t n, struct plumb_err *err)
{
    if (!o->fp)
        return err_set(err, "%s: write after close", o->path ? o->path : "(outfile)");
    if (n && fwrite(buf, 1, n, o->fp) != n) {
        int e = errno;
        err_set(err, "%s: write failed: %s", o->path, strerror(e ? e : EIO));
        outfile_release(o);
        return -1;
    }
    return 0;
}

int outfile_commit(struct outfile *o, struct plumb_err *err)
{
    if (!o->fp)
        return err_set(err, "%s: commit after close", o->path ? o->path : "(outfile)");
    int e = 0;
    if (fflush(o->fp) != 0 || fsync(fileno(o->fp)) != 0)
        e = errno ? errno : EIO;
    if (fclose(o->fp) != 0 && !e)
        e = errno ? errno : EIO;
    o->fp = NULL;
    if (!e && rename(o->tmp, o->path) != 0)
        e = errno;
    if (e) {
        err_set(err, "%s: write failed: %s", o->path, strerror(e));
        outfile_release(o);
        return -1;
    }
    free(o->tmp);
    o->tmp = NULL;
    outfile_release(o);
    return 0;
}

void outfile_abort(struct outfile *o)
{
    outfile_release(o);
}

int outfile_sink(void *ctx, const void *buf, size_t n, struct plumb_err *err)
{
    return outfile_write(ctx, buf, n, err);
}
