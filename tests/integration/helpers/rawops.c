/* rawops: file operations the shim cannot see. Built by the tests twice: statically (no
 * LD_PRELOAD possible) and dynamically but issuing raw syscall(2)s (what Go binaries do).
 * Usage: rawops OP ARG [OP ARG]...  with OP one of
 *   creat NAME | append NAME | trunc NAME | unlink NAME | mkdir NAME | rmdir NAME |
 *   chmod NAME | rename OLD:NEW | symlink NAME
 * every path relative to the kernel's cwd (or absolute). Prints "OP ARG rc errno" per op.
 * Always exits 0: the caller checks the lowers, not the results. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static long doit(const char *op, char *arg)
{
        if (!strcmp(op, "creat"))
                return syscall(SYS_openat, AT_FDCWD, arg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (!strcmp(op, "append")) {
                long fd = syscall(SYS_openat, AT_FDCWD, arg, O_WRONLY | O_APPEND);
                if (fd < 0)
                        return fd;
                return syscall(SYS_write, (int)fd, "rawops\n", 7);
        }
        if (!strcmp(op, "trunc"))
                return syscall(SYS_truncate, arg, 0);
        if (!strcmp(op, "unlink"))
                return syscall(SYS_unlinkat, AT_FDCWD, arg, 0);
        if (!strcmp(op, "rmdir"))
                return syscall(SYS_unlinkat, AT_FDCWD, arg, AT_REMOVEDIR);
        if (!strcmp(op, "mkdir"))
                return syscall(SYS_mkdirat, AT_FDCWD, arg, 0755);
        if (!strcmp(op, "chmod"))
                return syscall(SYS_fchmodat, AT_FDCWD, arg, 0777);
        if (!strcmp(op, "symlink"))
                return syscall(SYS_symlinkat, "rawops-target", AT_FDCWD, arg);
        if (!strcmp(op, "rename")) {
                char *c = strchr(arg, ':');
                if (!c) {
                        errno = EINVAL;
                        return -1;
                }
                *c = 0;
                long r = syscall(SYS_renameat, AT_FDCWD, arg, AT_FDCWD, c + 1);
                *c = ':';
                return r;
        }
        errno = EINVAL;
        return -1;
}

int main(int argc, char **argv)
{
        char cwd[4096];
        long n = syscall(SYS_getcwd, cwd, sizeof cwd);
        printf("kernel cwd: %s\n", n > 0 ? cwd : "?");
        for (int i = 1; i + 1 < argc; i += 2) {
                errno = 0;
                long r = doit(argv[i], argv[i + 1]);
                printf("%s %s rc=%d errno=%d\n", argv[i], argv[i + 1], r < 0 ? -1 : 0,
                       r < 0 ? errno : 0);
        }
        return 0;
}
