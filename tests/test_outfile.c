/*
 * test_outfile.c: writing through a temporary file and a rename: the
 * destination is either as it was or whole and new, no temporary file is
 * ever left (failure, abort, a signal), and destinations that cannot be
 * renamed over (folders, devices, pipes, links) are handled as outfile.h
 * says.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "outfile.h"

TestSuite(outfile, .timeout = 60);

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* The whole message must be exactly want. */
static void expect_msg(const struct plumb_err *err, const char *want)
{
    cr_assert(eq(str, (char *)err->msg, (char *)want));
}

/* Temporary files that outfile would have made beside path. */
static size_t temps_beside(const char *path)
{
    char pattern[4200];
    snprintf(pattern, sizeof pattern, "%s.tmp.*", path);
    glob_t g;
    size_t n = glob(pattern, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
    globfree(&g);
    return n;
}

Test(outfile, commits_the_whole_file_with_the_usual_mode)
{
    char *dir = make_temp_dir();
    char *dest = path_in(dir, "out.bin");
    mode_t old_mask = umask(022);
    struct outfile o;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, outfile_open(&o, dest, &err), 0), "%s", err.msg);
    cr_assert(eq(int, outfile_write(&o, "hello, ", 7, &err), 0));
    cr_assert(eq(int, outfile_write(&o, "world", 5, &err), 0));
    cr_assert(eq(sz, o.written, 12));
    /* before the commit only the temporary exists */
    struct stat st;
    cr_assert(eq(int, stat(dest, &st), -1));
    cr_assert(eq(sz, temps_beside(dest), 1));
    cr_assert(eq(int, outfile_commit(&o, &err), 0), "%s", err.msg);
    umask(old_mask);
    size_t len;
    char *got = read_file(dest, &len);
    cr_assert(eq(sz, len, 12));
    cr_assert(eq(int, memcmp(got, "hello, world", 12), 0));
    cr_assert(eq(int, stat(dest, &st), 0));
    cr_assert(eq(u32, (unsigned)(st.st_mode & 0777), 0644u)); /* 0666 & ~022, not mkstemp's 0600 */
    cr_assert(eq(int, dir_entries(dir), 1));
    free(got);
    free(dest);
    rm_tree(dir);
    free(dir);
}

Test(outfile, abort_and_failure_leave_the_old_file)
{
    char *dir = make_temp_dir();
    char *dest = path_in(dir, "out.bin");
    write_file(dest, "OLD", 3);
    struct outfile o;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, outfile_open(&o, dest, &err), 0), "%s", err.msg);
    cr_assert(eq(int, outfile_write(&o, "NEW", 3, &err), 0));
    outfile_abort(&o);
    outfile_abort(&o); /* twice is harmless */
    size_t len;
    char *got = read_file(dest, &len);
    cr_assert(eq(sz, len, 3));
    cr_assert(eq(int, memcmp(got, "OLD", 3), 0));
    cr_assert(eq(int, dir_entries(dir), 1));
    free(got);
    free(dest);
    rm_tree(dir);
    free(dir);
}

Test(outfile, a_closed_or_zeroed_outfile_refuses_work)
{
    struct outfile o;
    memset(&o, 0, sizeof o);
    struct plumb_err err = {{0}};
    cr_assert(eq(int, outfile_write(&o, "x", 1, &err), -1));
    expect_msg(&err, "(outfile): write after close");
    cr_assert(eq(int, outfile_commit(&o, &err), -1));
    expect_msg(&err, "(outfile): commit after close");
    outfile_abort(&o);
    cr_assert(eq(int, outfile_write(&o, "x", 1, NULL), -1)); /* no message wanted */
}

Test(outfile, refuses_a_folder_before_writing_anything)
{
    char *dir = make_temp_dir();
    struct outfile o;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, outfile_open(&o, dir, &err), -1));
    char want[600];
    snprintf(want, sizeof want, "%s: is a directory, expected a file name", dir);
    expect_msg(&err, want);
    cr_assert(eq(sz, temps_beside(dir), 0));
    cr_assert(eq(ptr, o.fp, NULL));
    outfile_abort(&o); /* safe after a failed open */
    rm_tree(dir);
    free(dir);
}

Test(outfile, a_missing_folder_names_the_destination)
{
    char *dir = make_temp_dir();
    char *dest = path_in(dir, "no/such/out.bin");
    struct outfile o;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, outfile_open(&o, dest, &err), -1));
    char want[600];
    snprintf(want, sizeof want, "%s: cannot create: %s", dest, strerror(ENOENT));
    expect_msg(&err, want);
    cr_assert(eq(int, dir_entries(dir), 0));
    free(dest);
    rm_tree(dir);
    free(dir);
}

/* A link to a regular file: the file is replaced and the link stays a link
 * (a rename over the link would have turned it into a plain file). */
Test(outfile, writes_through_a_symbolic_link_to_its_target)
{
    char *dir = make_temp_dir();
    char *target = path_in(dir, "real.bin");
    char *link = path_in(dir, "link.bin");
    write_file(target, "OLD", 3);
    cr_assert(eq(int, symlink("real.bin", link), 0));
    struct outfile o;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, outfile_open(&o, link, &err), 0), "%s", err.msg);
    cr_assert(eq(sz, temps_beside(target), 1)); /* beside the target */
    cr_assert(eq(int, outfile_write(&o, "NEWER", 5, &err), 0));
    cr_assert(eq(int, outfile_commit(&o, &err), 0), "%s", err.msg);
    struct stat st;
    cr_assert(eq(int, lstat(link, &st), 0));
    bool is_link = S_ISLNK(st.st_mode);
    cr_assert(is_link, "the link was replaced by a file");
    size_t len;
    char *got = read_file(target, &len);
    cr_assert(eq(sz, len, 5));
    cr_assert(eq(int, memcmp(got, "NEWER", 5), 0));
    cr_assert(eq(int, dir_entries(dir), 2));
    free(got);
    free(target);
    free(link);
    rm_tree(dir);
    free(dir);
}

/* A link whose target lies in another folder: the temporary goes there too,
 * so the final rename never crosses file systems. */
Test(outfile, a_link_into_another_folder_keeps_the_temporary_beside_the_target)
{
    char *dir = make_temp_dir();
    char *sub = path_in(dir, "sub");
    mkdir(sub, 0777);
    char *target = path_in(sub, "real.bin");
    char *link = path_in(dir, "link.bin");
    write_file(target, "OLD", 3);
    cr_assert(eq(int, symlink(target, link), 0));
    struct outfile o;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, outfile_open(&o, link, &err), 0), "%s", err.msg);
    cr_assert(eq(int, dir_entries(sub), 2)); /* real.bin and its temporary */
    cr_assert(eq(int, dir_entries(dir), 2)); /* sub and the link */
    outfile_abort(&o);
    cr_assert(eq(int, dir_entries(sub), 1));
    free(target);
    free(link);
    free(sub);
    rm_tree(dir);
    free(dir);
}

/* A character device is written as it is: no temporary beside it in /dev,
 * and it is still a device afterwards (as root a rename would have replaced
 * the device node with a regular file). */
Test(outfile, writes_a_character_device_directly)
{
    struct stat st;
    if (stat("/dev/null", &st) != 0 || !S_ISCHR(st.st_mode))
        cr_skip_test("/dev/null is not a character device here (something replaced it; as root: "
                     "rm /dev/null && mknod -m 666 /dev/null c 1 3)");
    bool is_chr;
    struct outfile o;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, outfile_open(&o, "/dev/null", &err), 0), "%s", err.msg);
    cr_assert(o.direct);
    cr_assert(eq(ptr, o.tmp, NULL));
    static char block[1 << 16];
    for (int i = 0; i < 16; i++)
        cr_assert(eq(int, outfile_write(&o, block, sizeof block, &err), 0), "%s", err.msg);
    cr_assert(eq(int, outfile_commit(&o, &err), 0), "%s", err.msg); /* no fsync, no rename */
    cr_assert(eq(int, stat("/dev/null", &st), 0));
    is_chr = S_ISCHR(st.st_mode);
    cr_assert(is_chr);
    cr_assert(eq(sz, temps_beside("/dev/null"), 0));
}

Test(outfile, a_full_device_fails_naming_it)
{
    struct stat st;
    if (stat("/dev/full", &st) != 0 || !S_ISCHR(st.st_mode))
        cr_skip_test("/dev/full is not a character device here");
    struct outfile o;
    struct plumb_err err = {{0}};
    char want[200];
    snprintf(want, sizeof want, "/dev/full: write failed: %s", strerror(ENOSPC));
    /* small: buffered, so the failure shows at the commit */
    cr_assert(eq(int, outfile_open(&o, "/dev/full", &err), 0), "%s", err.msg);
    cr_assert(eq(int, outfile_write(&o, "abc", 3, &err), 0));
    cr_assert(eq(int, outfile_commit(&o, &err), -1));
    expect_msg(&err, want);
    cr_assert(eq(ptr, o.fp, NULL));
    /* large: the write itself fails, and closes the outfile */
    static char block[1 << 16];
    cr_assert(eq(int, outfile_open(&o, "/dev/full", &err), 0), "%s", err.msg);
    cr_assert(eq(int, outfile_write(&o, block, sizeof block, &err), -1));
    expect_msg(&err, want);
    cr_assert(eq(int, outfile_commit(&o, &err), -1));
    expect_msg(&err, "(outfile): commit after close");
    cr_assert(eq(int, stat("/dev/full", &st), 0));
    bool is_chr = S_ISCHR(st.st_mode);
    cr_assert(is_chr);
}

/* A pipe is written directly too (`-o /dev/stdout | gzip`, process
 * substitution): the reader gets the bytes, nothing is created. */
Test(outfile, writes_a_fifo_directly)
{
    char *dir = make_temp_dir();
    char *fifo = path_in(dir, "pipe");
    cr_assert(eq(int, mkfifo(fifo, 0600), 0));
    int rd = open(fifo, O_RDONLY | O_NONBLOCK); /* a reader, so the writer's open does not wait */
    cr_assert(rd >= 0);
    struct outfile o;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, outfile_open(&o, fifo, &err), 0), "%s", err.msg);
    cr_assert(o.direct);
    cr_assert(eq(int, outfile_write(&o, "through the pipe", 16, &err), 0));
    cr_assert(eq(int, outfile_commit(&o, &err), 0), "%s", err.msg);
    char buf[64];
    ssize_t got = read(rd, buf, sizeof buf);
    cr_assert(eq(sz, (size_t)got, 16));
    cr_assert(eq(int, memcmp(buf, "through the pipe", 16), 0));
    close(rd);
    cr_assert(eq(int, dir_entries(dir), 1));
    free(fifo);
    rm_tree(dir);
    free(dir);
}

/* RLIMIT_FSIZE makes write() fail part-way with EFBIG, as a full disk does
 * with ENOSPC: the temporary goes, the old file stays. */
Test(outfile, a_write_past_the_size_limit_removes_the_temporary)
{
    char *dir = make_temp_dir();
    char *dest = path_in(dir, "out.bin");
    write_file(dest, "OLD", 3);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 8192;
    cr_assert(eq(int, setrlimit(RLIMIT_FSIZE, &lim), 0));
    struct outfile o;
    struct plumb_err err = {{0}};
    int rc = outfile_open(&o, dest, &err);
    static char block[1 << 16];
    int wrc = rc == 0 ? outfile_write(&o, block, sizeof block, &err) : -1;
    setrlimit(RLIMIT_FSIZE, &old);
    cr_assert(eq(int, rc, 0), "%s", err.msg);
    cr_assert(eq(int, wrc, -1));
    char want[600];
    snprintf(want, sizeof want, "%s: write failed: %s", dest, strerror(EFBIG));
    expect_msg(&err, want);
    cr_assert(eq(int, dir_entries(dir), 1));
    size_t len;
    char *got = read_file(dest, &len);
    cr_assert(eq(sz, len, 3));
    free(got);
    free(dest);
    rm_tree(dir);
    free(dir);
}

/* Past OUTFILE_FLUSH_EVERY (64 MiB) the bytes are handed to the kernel and
 * their writeback started, so the fsync at the commit waits for the rest. */
Test(outfile, a_large_output_starts_writeback_every_64_mib)
{
    char *dir = make_temp_dir();
    char *dest = path_in(dir, "big.bin");
    struct outfile o;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, outfile_open(&o, dest, &err), 0), "%s", err.msg);
    char *block = calloc(1, 1 << 20);
    for (int i = 0; i < 65; i++) {
        cr_assert(eq(int, outfile_write(&o, block, 1 << 20, &err), 0), "%s", err.msg);
        size_t want = i + 1 >= 64 ? (size_t)64 << 20 : 0;
        cr_assert(eq(sz, o.synced, want), "after %d MiB", i + 1);
    }
    cr_assert(eq(int, outfile_commit(&o, &err), 0), "%s", err.msg);
    struct stat st;
    cr_assert(eq(int, stat(dest, &st), 0));
    cr_assert(eq(i64, (int64_t)st.st_size, (int64_t)65 << 20));
    free(block);
    free(dest);
    rm_tree(dir);
    free(dir);
}

/* SIGTERM in the middle of a write: the handler removes the temporary file,
 * then the signal ends the process as it would have. */
Test(outfile, a_signal_removes_the_temporary_file)
{
    char *dir = make_temp_dir();
    char *dest = path_in(dir, "out.bin");
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        outfile_cleanup_on_signals();
        struct outfile o;
        struct outfile o2;
        char *dest2 = path_in(dir, "second.bin");
        if (outfile_open(&o, dest, NULL) != 0 || outfile_open(&o2, dest2, NULL) != 0 ||
            outfile_write(&o, "partial", 7, NULL) != 0)
            _exit(3);
        raise(SIGTERM);
        _exit(4); /* not reached */
    }
    int st = 0;
    cr_assert(eq(int, waitpid(pid, &st, 0), pid));
    bool signalled = WIFSIGNALED(st);
    cr_assert(signalled, "status %d", st);
    int sig = WTERMSIG(st);
    cr_assert(eq(int, sig, SIGTERM));
    cr_assert(eq(int, dir_entries(dir), 0), "a temporary file was left");
    free(dest);
    rm_tree(dir);
    free(dir);
}

Test(outfile, sink_appends_like_write)
{
    char *dir = make_temp_dir();
    char *dest = path_in(dir, "out.bin");
    struct outfile o;
    struct plumb_err err = {{0}};
    cr_assert(eq(int, outfile_open(&o, dest, &err), 0), "%s", err.msg);
    cr_assert(eq(int, outfile_sink(&o, "ab", 2, &err), 0));
    cr_assert(eq(int, outfile_sink(&o, "", 0, &err), 0));
    cr_assert(eq(int, outfile_commit(&o, &err), 0), "%s", err.msg);
    size_t len;
    char *got = read_file(dest, &len);
    cr_assert(eq(sz, len, 2));
    free(got);
    free(dest);
    rm_tree(dir);
    free(dir);
}
