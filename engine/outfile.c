/*
 * outfile.c: temporary-file-and-rename output. See outfile.h.
 *
 * Large outputs start their writeback as they go (every OUTFILE_FLUSH_EVERY
 * bytes, on Linux), so the fsync in outfile_commit() waits for the last
 * stretch only and a multi-gigabyte file is written at the disk's speed.
 */
#define _GNU_SOURCE /* sync_file_range, realpath */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Temporary files open right now, so that a program interrupted by SIGINT,
 * SIGTERM or SIGHUP can remove them (outfile_cleanup_on_signals). The table
 * is only written outside signal handlers and read inside them; a slot is
 * published by storing its pointer last.
 */
#define OUTFILE_MAX_OPEN 16
static char *volatile outfile_open_tmp[OUTFILE_MAX_OPEN];

static void outfile_track(char *tmp)
{
    for (int i = 0; i < OUTFILE_MAX_OPEN; i++)
        if (!outfile_open_tmp[i]) {
            outfile_open_tmp[i] = tmp;
            return;
        }
}

static void outfile_untrack(const char *tmp)
{
    for (int i = 0; i < OUTFILE_MAX_OPEN; i++)
        if (outfile_open_tmp[i] == tmp)
            outfile_open_tmp[i] = NULL;
}

static void outfile_on_signal(int sig)
{
    for (int i = 0; i < OUTFILE_MAX_OPEN; i++)
        if (outfile_open_tmp[i])
            unlink(outfile_open_tmp[i]); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

void outfile_cleanup_on_signals(void)
{
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = outfile_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

static void outfile_release(struct outfile *o)
{
    if (o->tmp)
        outfile_untrack(o->tmp);
    if (o->fp)
        fclose(o->fp);
    if (o->tmp) {
        unlink(o->tmp);
        free(o->tmp);
    }
    free(o->target);
    free(o->path);
    o->fp = NULL;
    o->tmp = NULL;
    o->target = NULL;
    o->path = NULL;
    o->direct = false;
}

static char *outfile_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* A destination that exists and is not a regular file (a device, a pipe):
 * open it for writing as it is. Never creates: if it vanished since it was
 * looked at, that is an error, not a new half-written regular file. */
static int outfile_open_direct(struct outfile *o, struct plumb_err *err)
{
    int fd = open(o->path, O_WRONLY | O_CLOEXEC);
    int e = errno;
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        close(fd);
        fd = -1;
        e = EAGAIN; /* replaced by a regular file in between: do not overwrite it in place */
    }
    if (fd < 0 || !(o->fp = fdopen(fd, "wb"))) {
        if (fd >= 0) {
            e = errno;
            close(fd);
        }
        err_set(err, "%s: cannot open for writing: %s", o->path, strerror(e));
        outfile_release(o);
        return -1;
    }
    o->direct = true;
    return 0;
}

int outfile_open(struct outfile *o, const char *path, struct plumb_err *err)
{
    memset(o, 0, sizeof *o);
    o->path = outfile_strdup(path);
    if (!o->path)
        return err_set(err, "%s: out of memory", path);
    struct stat st, lst;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            outfile_release(o);
            return err_set(err, "%s: is a directory, expected a file name", path);
        }
        if (!S_ISREG(st.st_mode))
            return outfile_open_direct(o, err);
        /* a link to a regular file: replace the file it names, not the link */
        if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && !(o->target = realpath(path, NULL))) {
            int e = errno;
            outfile_release(o);
            return err_set(err, "%s: cannot resolve the symbolic link: %s", path, strerror(e));
        }
    }
    if (!o->target)
        o->target = outfile_strdup(path);
    size_t n = o->target ? strlen(o->target) : 0;
    o->tmp = o->target ? malloc(n + sizeof ".tmp.XXXXXX") : NULL;
    if (!o->tmp) {
        outfile_release(o);
        return err_set(err, "%s: out of memory", path);
    }
    memcpy(o->tmp, o->target, n);
    memcpy(o->tmp + n, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    /* Signals wait while the file is created and registered, so an
     * interruption never falls between the two and leaves it behind. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int fd = mkstemp(o->tmp);
    int e = errno;
    if (fd >= 0)
        outfile_track(o->tmp);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (fd < 0) {
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
        e = errno;
        close(fd);
        outfile_release(o);
        return err_set(err, "%s: cannot open: %s", path, strerror(e));
    }
    return 0;
}

#define OUTFILE_FLUSH_EVERY (64u << 20)

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
    o->written += n;
#ifdef __linux__
    if (!o->direct && o->written - o->synced >= OUTFILE_FLUSH_EVERY) {
        /* hand the bytes to the kernel and start (not wait for) writeback */
        if (fflush(o->fp) != 0) {
            int e = errno;
            err_set(err, "%s: write failed: %s", o->path, strerror(e ? e : EIO));
            outfile_release(o);
            return -1;
        }
        sync_file_range(fileno(o->fp), (off_t)o->synced, (off_t)(o->written - o->synced),
                        SYNC_FILE_RANGE_WRITE);
        o->synced = o->written;
    }
#endif
    return 0;
}

int outfile_commit(struct outfile *o, struct plumb_err *err)
{
    if (!o->fp)
        return err_set(err, "%s: commit after close", o->path ? o->path : "(outfile)");
    int e = 0;
    /* a device or pipe has nothing to fsync (and fsync fails on some) */
    if (fflush(o->fp) != 0 || (!o->direct && fsync(fileno(o->fp)) != 0))
        e = errno ? errno : EIO;
    if (fclose(o->fp) != 0 && !e)
        e = errno ? errno : EIO;
    o->fp = NULL;
    if (!e && !o->direct && rename(o->tmp, o->target) != 0)
        e = errno;
    if (e) {
        err_set(err, "%s: write failed: %s", o->path, strerror(e));
        outfile_release(o);
        return -1;
    }
    if (o->tmp) {
        outfile_untrack(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
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
