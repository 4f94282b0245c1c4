/* The one door to the kernel (DESIGN.md principle 2). Every function is a raw
 * system call: it returns the result or a negative errno, never touches errno
 * and never goes through a symbol the preload library interposes, so the core
 * can run inside any wrapper, a signal handler or a vfork child. */
#ifndef OVL_SYS_H
#define OVL_SYS_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

struct linux_dirent64;

long ovl_sys6(long nr, long a, long b, long c, long d, long e, long f);

int ovl_sys_openat(int dirfd, const char *path, int flags, mode_t mode);
int ovl_sys_close(int fd);
ssize_t ovl_sys_read(int fd, void *buf, size_t n);
ssize_t ovl_sys_write(int fd, const void *buf, size_t n);
int ovl_sys_fstatat(int dirfd, const char *path, struct stat *st, int flags);
int ovl_sys_fstat(int fd, struct stat *st);
ssize_t ovl_sys_readlinkat(int dirfd, const char *path, char *buf, size_t n);
ssize_t ovl_sys_getdents64(int fd, void *buf, size_t n);
off_t ovl_sys_lseek(int fd, off_t off, int whence);
int ovl_sys_fcntl(int fd, int cmd, long arg);
int ovl_sys_dup3(int oldfd, int newfd, int flags);
int ovl_sys_faccessat(int dirfd, const char *path, int mode, int flags);
int ovl_sys_mkdirat(int dirfd, const char *path, mode_t mode);
int ovl_sys_fchdir(int fd);
int ovl_sys_chdir(const char *path);
int ovl_sys_getcwd(char *buf, size_t n);
ssize_t ovl_sys_fgetxattr(int fd, const char *name, void *val, size_t n);
ssize_t ovl_sys_lgetxattr(const char *path, const char *name, void *val, size_t n);
ssize_t ovl_sys_flistxattr(int fd, char *list, size_t n);
ssize_t ovl_sys_llistxattr(const char *path, char *list, size_t n);
int ovl_sys_getrlimit_nofile(unsigned long *soft);
int ovl_sys_sigprocmask(int how, const void *set, void *old);
pid_t ovl_sys_getpid(void);
uid_t ovl_sys_geteuid(void);
/* Whether capability CAP (CAP_SYS_ADMIN, ...) is in the caller's effective set. */
bool ovl_sys_cap_effective(int cap);

int ovl_sys_unlinkat(int dirfd, const char *path, int flags);
int ovl_sys_renameat2(int od, const char *o, int nd, const char *n, unsigned flags);
int ovl_sys_mknodat(int dirfd, const char *path, mode_t mode, dev_t dev);
int ovl_sys_symlinkat(const char *target, int dirfd, const char *path);
int ovl_sys_linkat(int od, const char *o, int nd, const char *n, int flags);
int ovl_sys_fchmodat(int dirfd, const char *path, mode_t mode);
int ovl_sys_fchmod(int fd, mode_t mode);
int ovl_sys_fchownat(int dirfd, const char *path, uid_t u, gid_t g, int flags);
int ovl_sys_utimensat(int dirfd, const char *path, const struct timespec *ts, int flags);
int ovl_sys_ftruncate(int fd, off_t len);
int ovl_sys_fsync(int fd);
ssize_t ovl_sys_copy_file_range(int in, int out, size_t len);
int ovl_sys_ioctl(int fd, unsigned long req, long arg);
ssize_t ovl_sys_fsetxattr(int fd, const char *name, const void *val, size_t n, int flags);
int ovl_sys_setxattrat(int dirfd, const char *path, const char *name, const void *val, size_t n);
/* ... with XATTR_CREATE / XATTR_REPLACE */
int ovl_sys_setxattrat_flags(int dirfd, const char *path, const char *name, const void *val,
                             size_t n, int flags);
int ovl_sys_removexattrat(int dirfd, const char *path, const char *name);
gid_t ovl_sys_getegid(void);

/* Memory straight from the kernel, for code that may run in a signal handler
 * or a vfork child (malloc may not). NULL on failure. */
void *ovl_sys_scratch(size_t n);
void ovl_sys_scratch_free(void *p, size_t n);

/* openat with O_NOATIME where the caller may use it (it owns the file, or is
 * root), plainly otherwise: reading a lower layer never changes its atimes
 * (SEMANTICS.md rule 64). */
int ovl_sys_openat_noatime(int dirfd, const char *path, int flags, mode_t mode);

/* fstatat(dirfd, path) with AT_SYMLINK_NOFOLLOW, "" meaning dirfd itself */
int ovl_sys_lstatat(int dirfd, const char *path, struct stat *st);
/* "/proc/self/fd/FD" into buf; its length, 0 when it does not fit. */
size_t ovl_sys_fd_link(char *buf, size_t n, int fd);
/* The real path of an open fd via /proc/self/fd. Returns length or -errno. */
ssize_t ovl_sys_fdpath(int fd, char *buf, size_t n);
/* xattr of an object named relative to a dirfd, without following a final
 * symlink (through /proc/self/fd/N/path, since there is no *at xattr call). */
ssize_t ovl_sys_getxattrat(int dirfd, const char *path, const char *name, void *val, size_t n);
ssize_t ovl_sys_listxattrat(int dirfd, const char *path, char *list, size_t n);
/* detour.c: the directory a relative path starts from, held by the caller
 * (AT_FDCWD or a dirfd) and at `base` below the upper root (root_fd, root):
 * while it is set, a path call on root_fd that fails with EACCES is asked
 * again from there. Set per call by the preload side, cleared by the next. */
void ovl_detour_set(int root_fd, const char *root, const char *base, int base_fd);
void ovl_detour_clear(void);
bool ovl_detour_on(void);
/* What one retry holds until ovl_detour_end: the directories lent their
 * search bit (given back), the signals blocked meanwhile, the pinned base. */
#define OVL_DETOUR_LEND_MAX 8
struct ovl_detour_lend {
        int n;
        int fd[OVL_DETOUR_LEND_MAX]; /* O_PATH on each directory lent to */
        mode_t mode[OVL_DETOUR_LEND_MAX];
        bool masked;
        unsigned long old[16]; /* the signal mask to put back */
        int pin;
};
/* After EACCES on (dirfd, path): 0 when the detour does not apply; 1: ask
 * again as (*fd, buf) from the pinned base; 2: as (*fd, buf) too, with search
 * lent. `name`: the call needs a plain last name (rename, unlink, mkdir...).
 * ovl_detour_end(l) afterwards in both cases. */
int ovl_detour_begin(int dirfd, const char *path, bool name, int *fd, char *buf, size_t cap,
                     struct ovl_detour_lend *l);
void ovl_detour_end(struct ovl_detour_lend *l);
/* Lend the owner's search bit, with every signal blocked until
 * ovl_detour_end(l), to the user's own directories among the prefixes of `rel`
 * (relative to the upper root_fd) up to length `upto`, top first.
 * Returns how many were lent. */
int ovl_lend_search(int root_fd, const char *rel, size_t upto, struct ovl_detour_lend *l);

/* Read a whole small file into buf (NUL-terminated). Returns length or -errno */
ssize_t ovl_sys_read_file(const char *path, char *buf, size_t n);

#endif
