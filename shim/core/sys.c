/* Raw system calls for the core. On x86_64 and aarch64 the instruction is
 * issued inline, so nothing here can be interposed (not even syscall(3),
 * which the preload library may wrap); elsewhere libc's syscall() is used. */

#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
long ovl_sys6(long nr, long a, long b, long c, long d, long e, long f)
{
        long ret;
        register long r10 __asm__("r10") = d;
        register long r8 __asm__("r8") = e;
        register long r9 __asm__("r9") = f;
        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
        return ret;
}
#elif defined(__aarch64__)
long ovl_sys6(long nr, long a, long b, long c, long d, long e, long f)
{
        register long x8 __asm__("x8") = nr;
        register long x0 __asm__("x0") = a;
        register long x1 __asm__("x1") = b;
        register long x2 __asm__("x2") = c;
        register long x3 __asm__("x3") = d;
        register long x4 __asm__("x4") = e;
        register long x5 __asm__("x5") = f;
        __asm__ volatile("svc 0"
                         : "+r"(x0)
                         : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                         : "memory");
        return x0;
}
#else
long ovl_sys6(long nr, long a, long b, long c, long d, long e, long f)
{
        int saved = errno;
        long r = syscall(nr, a, b, c, d, e, f);
        if (r == -1) {
                r = -errno;
        }
        errno = saved;
        return r;
}
#endif

#define S1(nr, a) ovl_sys6(nr, (long)(a), 0, 0, 0, 0, 0)
#define S2(nr, a, b) ovl_sys6(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define S3(nr, a, b, c) ovl_sys6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define S4(nr, a, b, c, d) ovl_sys6(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

/* EACCES on a path from the upper root: once more from the caller's base
 * (detour.c), the call's arguments a[] with a[fi] (the dirfd) and a[pi] (the
 * path) replaced. Out of line: the common path keeps a small frame. */
static __attribute__((noinline, cold)) long again(long r, long nr, const long *a, int fi, int pi,
                                                  bool name)
{
        char p2[PATH_MAX];
        struct ovl_detour_lend l;
        int fd2;
        if (!ovl_detour_begin((int)a[fi], (const char *)a[pi], name, &fd2, p2, sizeof(p2), &l)) {
                return r;
        }
        long b[6];
        memcpy(b, a, sizeof(b));
        b[fi] = fd2;
        b[pi] = (long)p2;
        r = ovl_sys6(nr, b[0], b[1], b[2], b[3], b[4], b[5]);
        ovl_detour_end(&l);
        return r;
}

#define AGAIN(r, nr, fi, pi, name, ...)                                                            \
        do {                                                                                       \
                if ((r) == -EACCES) {                                                              \
                        const long a_[6] = {__VA_ARGS__};                                          \
                        (r) = again((r), (nr), a_, (fi), (pi), (name));                            \
                }                                                                                  \
        } while (0)

static size_t fmt_fd_path(char *buf, size_t n, int fd, const char *rest);

/* openat after EACCES. With search lent, an open that may block (a fifo)
 * must not keep the modes lent meanwhile: the object is found under the
 * loan (O_PATH), the modes given back, and it is opened through its
 * /proc/self/fd link, which asks nothing of the directories above. */
static __attribute__((noinline, cold)) long openat_again(int dirfd, const char *path, int flags,
                                                         mode_t mode)
{
        char p2[PATH_MAX];
        struct ovl_detour_lend l;
        int fd2;
        int how = ovl_detour_begin(dirfd, path, false, &fd2, p2, sizeof(p2), &l);
        if (!how) {
                return -EACCES;
        }
        if (how == 1 || (flags & O_CREAT)) {
                long r = S4(SYS_openat, fd2, p2, flags, mode);
                ovl_detour_end(&l);
                return r;
        }
        long pfd = S4(SYS_openat, fd2, p2, O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW), 0);
        ovl_detour_end(&l);
        if (pfd < 0) {
                return pfd;
        }
        /* the link in /proc is a symlink itself: O_NOFOLLOW was the O_PATH open's */
        struct stat st;
        long r = -ELOOP;
        if (!(flags & O_NOFOLLOW) || (S2(SYS_fstat, pfd, &st) == 0 && !S_ISLNK(st.st_mode))) {
                char link[40];
                fmt_fd_path(link, sizeof(link), (int)pfd, NULL);
                r = S4(SYS_openat, AT_FDCWD, link, flags & ~O_NOFOLLOW, mode);
        }
        ovl_sys_close((int)pfd);
        return r;
}

int ovl_sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
        long r = S4(SYS_openat, dirfd, path, flags, mode);
        if (r == -EACCES) {
                r = openat_again(dirfd, path, flags, mode);
        }
        return (int)r;
}

int ovl_sys_openat_noatime(int dirfd, const char *path, int flags, mode_t mode)
{
        int fd = ovl_sys_openat(dirfd, path, flags | O_NOATIME, mode);
        return fd == -EPERM ? ovl_sys_openat(dirfd, path, flags, mode) : fd;
}

int ovl_sys_close(int fd)
{
        return (int)S1(SYS_close, fd);
}

ssize_t ovl_sys_read(int fd, void *buf, size_t n)
{
        return S3(SYS_read, fd, buf, n);
}

ssize_t ovl_sys_write(int fd, const void *buf, size_t n)
{
        return S3(SYS_write, fd, buf, n);
}

int ovl_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
        long r = S4(SYS_newfstatat, dirfd, path, st, flags);
        AGAIN(r, SYS_newfstatat, 0, 1, false, dirfd, (long)path, (long)st, flags, 0, 0);
        return (int)r;
}

int ovl_sys_fstat(int fd, struct stat *st)
{
        return (int)S2(SYS_fstat, fd, st);
}

int ovl_sys_lstatat(int dirfd, const char *path, struct stat *st)
{
        int flags = AT_SYMLINK_NOFOLLOW | (*path ? 0 : AT_EMPTY_PATH);
        return ovl_sys_fstatat(dirfd, path, st, flags);
}

ssize_t ovl_sys_readlinkat(int dirfd, const char *path, char *buf, size_t n)
{
        long r = S4(SYS_readlinkat, dirfd, path, buf, n);
        AGAIN(r, SYS_readlinkat, 0, 1, false, dirfd, (long)path, (long)buf, (long)n, 0, 0);
        return r;
}

ssize_t ovl_sys_getdents64(int fd, void *buf, size_t n)
{
        return S3(SYS_getdents64, fd, buf, n);
}

off_t ovl_sys_lseek(int fd, off_t off, int whence)
{
        return S3(SYS_lseek, fd, off, whence);
}

int ovl_sys_fcntl(int fd, int cmd, long arg)
{
        return (int)S3(SYS_fcntl, fd, cmd, arg);
}

int ovl_sys_dup3(int oldfd, int newfd, int flags)
{
        return (int)S3(SYS_dup3, oldfd, newfd, flags);
}

int ovl_sys_faccessat(int dirfd, const char *path, int mode, int flags)
{
        long r = S4(SYS_faccessat2, dirfd, path, mode, flags);
        AGAIN(r, SYS_faccessat2, 0, 1, false, dirfd, (long)path, mode, flags, 0, 0);
        return (int)r;
}

int ovl_sys_mkdirat(int dirfd, const char *path, mode_t mode)
{
        long r = S3(SYS_mkdirat, dirfd, path, mode);
        AGAIN(r, SYS_mkdirat, 0, 1, true, dirfd, (long)path, mode, 0, 0, 0);
        return (int)r;
}

int ovl_sys_fchdir(int fd)
{
        return (int)S1(SYS_fchdir, fd);
}

int ovl_sys_chdir(const char *path)
{
        return (int)S1(SYS_chdir, path);
}

int ovl_sys_getcwd(char *buf, size_t n)
{
        return (int)S2(SYS_getcwd, buf, n);
}

ssize_t ovl_sys_fgetxattr(int fd, const char *name, void *val, size_t n)
{
        return S4(SYS_fgetxattr, fd, name, val, n);
}

ssize_t ovl_sys_lgetxattr(const char *path, const char *name, void *val, size_t n)
{
        return S4(SYS_lgetxattr, path, name, val, n);
}

ssize_t ovl_sys_flistxattr(int fd, char *list, size_t n)
{
        return S3(SYS_flistxattr, fd, list, n);
}

ssize_t ovl_sys_llistxattr(const char *path, char *list, size_t n)
{
        return S3(SYS_llistxattr, path, list, n);
}

int ovl_sys_getrlimit_nofile(unsigned long *soft)
{
        struct rlimit rl;
        int r = (int)S4(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, &rl);
        if (r == 0) {
                *soft = rl.rlim_cur;
        }
        return r;
}

int ovl_sys_sigprocmask(int how, const void *set, void *old)
{
        return (int)S4(SYS_rt_sigprocmask, how, set, old, 8);
}

pid_t ovl_sys_getpid(void)
{
        return (pid_t)ovl_sys6(SYS_getpid, 0, 0, 0, 0, 0, 0);
}

uid_t ovl_sys_geteuid(void)
{
        return (uid_t)ovl_sys6(SYS_geteuid, 0, 0, 0, 0, 0, 0);
}

bool ovl_sys_cap_effective(int cap)
{
        struct {
                unsigned version;
                int pid;
        } h = {0x20080522, 0}; /* _LINUX_CAPABILITY_VERSION_3 */
        struct {
                unsigned effective, permitted, inheritable;
        } d[2] = {{0, 0, 0}, {0, 0, 0}};
        if (cap < 0 || cap >= 64 || ovl_sys6(SYS_capget, (long)&h, (long)d, 0, 0, 0, 0) < 0) {
                return false;
        }
        return (d[cap / 32].effective >> (cap % 32)) & 1;
}

/* Both names of a rename or link, each from the base where the detour
 * applies to it (detour.c); out of line, as again(). */
static __attribute__((noinline, cold)) long again_two(long r, long nr, int od, const char *o,
                                                      int nd, const char *n, long flags)
{
        char buf[2][PATH_MAX];
        struct ovl_detour_lend l[2];
        int fd[2] = {od, nd};
        const char *p[2] = {o, n};
        bool any = false;
        for (int i = 0; i < 2; i++) {
                if (ovl_detour_begin(fd[i], p[i], true, &fd[i], buf[i], sizeof(buf[i]), &l[i])) {
                        p[i] = buf[i];
                        any = true;
                }
        }
        if (any) {
                r = ovl_sys6(nr, fd[0], (long)p[0], fd[1], (long)p[1], flags, 0);
        }
        ovl_detour_end(&l[1]);
        ovl_detour_end(&l[0]);
        return r;
}

int ovl_sys_unlinkat(int dirfd, const char *path, int flags)
{
        long r = S3(SYS_unlinkat, dirfd, path, flags);
        AGAIN(r, SYS_unlinkat, 0, 1, true, dirfd, (long)path, flags, 0, 0, 0);
        return (int)r;
}

int ovl_sys_renameat2(int od, const char *o, int nd, const char *n, unsigned flags)
{
        long r = ovl_sys6(SYS_renameat2, od, (long)o, nd, (long)n, flags, 0);
        return (int)(r == -EACCES ? again_two(r, SYS_renameat2, od, o, nd, n, flags) : r);
}

int ovl_sys_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
        long r = S4(SYS_mknodat, dirfd, path, mode, dev);
        AGAIN(r, SYS_mknodat, 0, 1, true, dirfd, (long)path, mode, (long)dev, 0, 0);
        return (int)r;
}

int ovl_sys_symlinkat(const char *target, int dirfd, const char *path)
{
        long r = S3(SYS_symlinkat, target, dirfd, path);
        AGAIN(r, SYS_symlinkat, 1, 2, true, (long)target, dirfd, (long)path, 0, 0, 0);
        return (int)r;
}

int ovl_sys_linkat(int od, const char *o, int nd, const char *n, int flags)
{
        long r = ovl_sys6(SYS_linkat, od, (long)o, nd, (long)n, flags, 0);
        return (int)(r == -EACCES ? again_two(r, SYS_linkat, od, o, nd, n, flags) : r);
}

int ovl_sys_fchmodat(int dirfd, const char *path, mode_t mode)
{
        long r = S3(SYS_fchmodat, dirfd, path, mode);
        AGAIN(r, SYS_fchmodat, 0, 1, false, dirfd, (long)path, mode, 0, 0, 0);
        return (int)r;
}

int ovl_sys_fchmod(int fd, mode_t mode)
{
        return (int)S2(SYS_fchmod, fd, mode);
}

int ovl_sys_fchownat(int dirfd, const char *path, uid_t u, gid_t g, int flags)
{
        long r = ovl_sys6(SYS_fchownat, dirfd, (long)path, u, g, flags, 0);
        AGAIN(r, SYS_fchownat, 0, 1, false, dirfd, (long)path, u, g, flags, 0);
        return (int)r;
}

int ovl_sys_utimensat(int dirfd, const char *path, const struct timespec *ts, int flags)
{
        long r = S4(SYS_utimensat, dirfd, path, ts, flags);
        AGAIN(r, SYS_utimensat, 0, 1, false, dirfd, (long)path, (long)ts, flags, 0, 0);
        return (int)r;
}

int ovl_sys_ftruncate(int fd, off_t len)
{
        return (int)S2(SYS_ftruncate, fd, len);
}

int ovl_sys_fsync(int fd)
{
        return (int)S1(SYS_fsync, fd);
}

ssize_t ovl_sys_copy_file_range(int in, int out, size_t len)
{
        return ovl_sys6(SYS_copy_file_range, in, 0, out, 0, (long)len, 0);
}

int ovl_sys_ioctl(int fd, unsigned long req, long arg)
{
        return (int)S3(SYS_ioctl, fd, req, arg);
}

ssize_t ovl_sys_fsetxattr(int fd, const char *name, const void *val, size_t n, int flags)
{
        return ovl_sys6(SYS_fsetxattr, fd, (long)name, (long)val, (long)n, flags, 0);
}

void *ovl_sys_scratch(size_t n)
{
        long p = ovl_sys6(SYS_mmap, 0, (long)n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
        return (unsigned long)p > -4096UL ? NULL : (void *)p;
}

void ovl_sys_scratch_free(void *p, size_t n)
{
        if (p) {
                ovl_sys6(SYS_munmap, (long)p, (long)n, 0, 0, 0, 0);
        }
}

gid_t ovl_sys_getegid(void)
{
        return (gid_t)ovl_sys6(SYS_getegid, 0, 0, 0, 0, 0, 0);
}

/* snprintf is async-signal-safe in practice for %d/%s in glibc, but the
 * formatting here is simple enough to do by hand. */
static size_t fmt_fd_path(char *buf, size_t n, int fd, const char *rest)
{
        char digits[16];
        int nd = 0;
        unsigned v = (unsigned)fd;
        do {
                digits[nd++] = (char)('0' + v % 10);
                v /= 10;
        } while (v && nd < (int)sizeof(digits));
        static const char pre[] = "/proc/self/fd/";
        size_t len = sizeof(pre) - 1;
        size_t rl = rest ? strlen(rest) : 0;
        if (len + (size_t)nd + 1 + rl + 1 > n) {
                return 0;
        }
        memcpy(buf, pre, len);
        while (nd) {
                buf[len++] = digits[--nd];
        }
        if (rl) {
                buf[len++] = '/';
                memcpy(buf + len, rest, rl);
                len += rl;
        }
        buf[len] = '\0';
        return len;
}

/* A path naming (dirfd, path) for the path-only xattr calls. */
static size_t at_path(char *buf, size_t n, int dirfd, const char *path)
{
        if (dirfd == AT_FDCWD || *path == '/') {
                size_t l = strlen(path);
                if (l + 1 > n) {
                        return 0;
                }
                memcpy(buf, path, l + 1);
                return l;
        }
        return fmt_fd_path(buf, n, dirfd, *path ? path : ".");
}

size_t ovl_sys_fd_link(char *buf, size_t n, int fd)
{
        return fmt_fd_path(buf, n, fd, NULL);
}

ssize_t ovl_sys_fdpath(int fd, char *buf, size_t n)
{
        char link[40];
        fmt_fd_path(link, sizeof(link), fd, NULL);
        ssize_t r = ovl_sys_readlinkat(AT_FDCWD, link, buf, n - 1);
        if (r < 0) {
                return r;
        }
        if ((size_t)r >= n - 1) {
                return -ENAMETOOLONG;
        }
        buf[r] = '\0';
        return r;
}

/* The *xattrat calls of Linux 6.13 name (dirfd, path) directly; before them
 * the only way was a walk through /proc/self/fd/N, three to four times the
 * cost of the lookup itself, paid for every upper directory's opaque check.
 * Same numbers on every architecture (new calls are unified since 5.1). */
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif

struct xattr_args_k {
        unsigned long long value;
        unsigned int size;
        unsigned int flags;
};

/* 0 untried, 1 works, -1 missing (an older kernel, or a seccomp filter that
 * answers ENOSYS or EPERM for calls it does not know) */
static int xattrat_state;

/* A read-only call settles whether the *at calls work: EPERM is never its
 * own answer, so it can only come from a filter. */
static bool xattrat_missing(long r)
{
        int state = __atomic_load_n(&xattrat_state, __ATOMIC_RELAXED);
        bool missing = r == -ENOSYS || (r == -EPERM && state == 0);
        if (missing || state == 0) { /* settled once: no store on every lookup */
                __atomic_store_n(&xattrat_state, missing ? -1 : 1, __ATOMIC_RELAXED);
        }
        return missing;
}

/* as at_path: "" is the directory dirfd itself, looked up as "." */
static const char *at_rel(int dirfd, const char *path)
{
        return *path || dirfd == AT_FDCWD ? path : ".";
}

static ssize_t getxattrat_once(int dirfd, const char *path, const char *name, void *val, size_t n)
{
        if (__atomic_load_n(&xattrat_state, __ATOMIC_RELAXED) >= 0) {
                struct xattr_args_k a = {.value = (unsigned long)val, .size = (unsigned)n};
                long r = ovl_sys6(SYS_getxattrat, dirfd, (long)at_rel(dirfd, path),
                                  AT_SYMLINK_NOFOLLOW, (long)name, (long)&a, sizeof(a));
                if (!xattrat_missing(r)) {
                        return r;
                }
        }
        char p[PATH_MAX + 40];
        if (!at_path(p, sizeof(p), dirfd, path)) {
                return -ENAMETOOLONG;
        }
        return ovl_sys_lgetxattr(p, name, val, n);
}

static ssize_t listxattrat_once(int dirfd, const char *path, char *list, size_t n)
{
        if (__atomic_load_n(&xattrat_state, __ATOMIC_RELAXED) >= 0) {
                long r = ovl_sys6(SYS_listxattrat, dirfd, (long)at_rel(dirfd, path),
                                  AT_SYMLINK_NOFOLLOW, (long)list, (long)n, 0);
                if (!xattrat_missing(r)) {
                        return r;
                }
        }
        char p[PATH_MAX + 40];
        if (!at_path(p, sizeof(p), dirfd, path)) {
                return -ENAMETOOLONG;
        }
        return ovl_sys_llistxattr(p, list, n);
}

/* The modifying calls use the *at form only once a read showed it works:
 * their EPERM is a real answer. */
static int setxattrat_once(int dirfd, const char *path, const char *name, const void *val, size_t n,
                           int flags)
{
        if (__atomic_load_n(&xattrat_state, __ATOMIC_RELAXED) > 0) {
                struct xattr_args_k a = {
                    .value = (unsigned long)val, .size = (unsigned)n, .flags = (unsigned)flags};
                long r = ovl_sys6(SYS_setxattrat, dirfd, (long)at_rel(dirfd, path),
                                  AT_SYMLINK_NOFOLLOW, (long)name, (long)&a, sizeof(a));
                if (r != -ENOSYS) {
                        return (int)r;
                }
        }
        char p[PATH_MAX + 40];
        if (!at_path(p, sizeof(p), dirfd, path)) {
                return -ENAMETOOLONG;
        }
        return (int)ovl_sys6(SYS_lsetxattr, (long)p, (long)name, (long)val, (long)n, flags, 0);
}

static int removexattrat_once(int dirfd, const char *path, const char *name)
{
        if (__atomic_load_n(&xattrat_state, __ATOMIC_RELAXED) > 0) {
                long r = ovl_sys6(SYS_removexattrat, dirfd, (long)at_rel(dirfd, path),
                                  AT_SYMLINK_NOFOLLOW, (long)name, 0, 0);
                if (r != -ENOSYS) {
                        return (int)r;
                }
        }
        char p[PATH_MAX + 40];
        if (!at_path(p, sizeof(p), dirfd, path)) {
                return -ENAMETOOLONG;
        }
        return (int)S2(SYS_lremovexattr, p, name);
}

ssize_t ovl_sys_read_file(const char *path, char *buf, size_t n)
{
        int fd = ovl_sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) {
                return fd;
        }
        size_t got = 0;
        while (got < n - 1) {
                ssize_t r = ovl_sys_read(fd, buf + got, n - 1 - got);
                if (r == -EINTR) {
                        continue;
                }
                if (r < 0) {
                        ovl_sys_close(fd);
                        return r;
                }
                if (r == 0) {
                        break;
                }
                got += (size_t)r;
        }
        ovl_sys_close(fd);
        if (got == n - 1) {
                return -EFBIG;
        }
        buf[got] = '\0';
        return (ssize_t)got;
}

/* One xattr call by (dirfd, path), for the retry after EACCES. */
struct xat {
        char op; /* g(et), l(ist), s(et), r(emove) */
        const char *name;
        void *val;
        const void *cval;
        size_t n;
        int flags;
};

static long xat_once(int fd, const char *path, const struct xat *x)
{
        switch (x->op) {
        case 'g':
                return getxattrat_once(fd, path, x->name, x->val, x->n);
        case 'l':
                return listxattrat_once(fd, path, x->val, x->n);
        case 's':
                return setxattrat_once(fd, path, x->name, x->cval, x->n, x->flags);
        default:
                return removexattrat_once(fd, path, x->name);
        }
}

static __attribute__((noinline, cold)) long xat_again(long r, int dirfd, const char *path,
                                                      const struct xat *x)
{
        char p2[PATH_MAX];
        struct ovl_detour_lend l;
        int fd2;
        if (ovl_detour_begin(dirfd, path, false, &fd2, p2, sizeof(p2), &l)) {
                r = xat_once(fd2, p2, x);
                ovl_detour_end(&l);
        }
        return r;
}

static long xat(int dirfd, const char *path, const struct xat *x)
{
        long r = xat_once(dirfd, path, x);
        if (r == -EACCES) {
                r = xat_again(r, dirfd, path, x);
        }
        return r;
}

ssize_t ovl_sys_getxattrat(int dirfd, const char *path, const char *name, void *val, size_t n)
{
        return xat(dirfd, path, &(struct xat){.op = 'g', .name = name, .val = val, .n = n});
}

ssize_t ovl_sys_listxattrat(int dirfd, const char *path, char *list, size_t n)
{
        return xat(dirfd, path, &(struct xat){.op = 'l', .val = list, .n = n});
}

int ovl_sys_setxattrat_flags(int dirfd, const char *path, const char *name, const void *val,
                             size_t n, int flags)
{
        return (int)xat(
            dirfd, path,
            &(struct xat){.op = 's', .name = name, .cval = val, .n = n, .flags = flags});
}

int ovl_sys_setxattrat(int dirfd, const char *path, const char *name, const void *val, size_t n)
{
        return ovl_sys_setxattrat_flags(dirfd, path, name, val, n, 0);
}

int ovl_sys_removexattrat(int dirfd, const char *path, const char *name)
{
        return (int)xat(dirfd, path, &(struct xat){.op = 'r', .name = name});
}
