/*
 * tests/qemu/exec.c: binfmt_misc's one service, for the Criterion suite run
 * under qemu-user by `make cross-aarch64`. Linked only into that build's
 * plumb-tests (the Makefile adds it; it is not among the tests/ sources).
 *
 * Without binfmt_misc, a program emulated by qemu-user cannot execve
 * another aarch64 program: the host kernel refuses the foreign ELF
 * (ENOEXEC). Criterion needs to: it starts every test by re-executing its
 * own binary (BoxFort's "boxfort-worker"). This execve, which the dynamic
 * linker binds libcriterion's calls to in place of libc's, starts an
 * aarch64 ELF under the emulator named by PLUMB_TEST_QEMU (an absolute
 * path) instead, with the same arguments, argv[0] included (qemu's -0), and
 * the same environment; anything else, or with PLUMB_TEST_QEMU unset, goes
 * to the kernel unchanged. The tests' own runs of plumb go through
 * tests/helpers.c, which reads PLUMB_TEST_QEMU itself.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int execve(const char *path, char *const argv[], char *const envp[]);

/* Whether path is an ELF file for aarch64. */
static int exec_is_aarch64(const char *path)
{
    Elf64_Ehdr h;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, &h, sizeof h);
    close(fd);
    return n == (ssize_t)sizeof h && !memcmp(h.e_ident, ELFMAG, SELFMAG) &&
           h.e_machine == EM_AARCH64;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
    const char *qemu = getenv("PLUMB_TEST_QEMU");
    if (!qemu || !*qemu || !exec_is_aarch64(path))
        return (int)syscall(SYS_execve, path, argv, envp);
    /* qemu -0 ARGV0 PATH ARGV[1..]; on the stack: this may run in a child
     * forked from a threaded parent, where malloc is best left alone. */
    char *args[256];
    size_t argc = 0;
    while (argv[argc])
        argc++;
    if (argc + 5 > sizeof args / sizeof args[0]) {
        errno = E2BIG;
        return -1;
    }
    args[0] = (char *)qemu;
    args[1] = (char *)"-0";
    args[2] = argc ? argv[0] : (char *)path;
    args[3] = (char *)path;
    for (size_t i = 1; i <= argc; i++) /* argv[argc] is the terminating NULL */
        args[3 + i] = argv[i];
    if (!argc)
        args[4] = NULL;
    return (int)syscall(SYS_execve, qemu, args, envp);
}
