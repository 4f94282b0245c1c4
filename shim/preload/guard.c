/* Modifying calls. Until the write path exists (copy-up, whiteouts), every
 * change inside an overlay fails with EROFS, so nothing can ever reach a
 * lower layer, not even through MERGED when it is a lowerdir itself. Outside
 * every overlay the call passes through untouched. */
#include "preload.h"
#include "sys.h"

#include <stdarg.h>
#include <string.h>
#include <sys/un.h>

/* The answer for a call whose target lies inside an overlay. */
static int deny(const char *call, const char *path, int k, struct ovl_loc *loc)
{
        int r = k < 0 ? k : -EROFS;
        ovl_log(call, path, k < 0 ? NULL : loc, r);
        return (int)ovl_ret(r);
}

#define GUARD(call, dirfd, path, rf, pass, out)                                              \
        do {                                                                                 \
                struct ovl_loc loc;                                                          \
                int k = ovl_at(dirfd, path, rf, &loc);                                       \
                if (k == OVL_PASS) {                                                         \
                        return pass;                                                         \
                }                                                                            \
                if (k == OVL_OUT) {                                                          \
                        const char *real_path = loc.real;                                    \
                        return out;                                                          \
                }                                                                            \
                return deny(call, path, k, &loc);                                            \
        } while (0)

#define NF OVL_R_NOFOLLOW

OVL_EXPORT int mkdir(const char *p, mode_t mode)
{
        GUARD("mkdir", AT_FDCWD, p, NF, REAL(mkdir)(p, mode), REAL(mkdir)(real_path, mode));
}

OVL_EXPORT int mkdirat(int fd, const char *p, mode_t mode)
{
        GUARD("mkdirat", fd, p, NF, REAL(mkdirat)(fd, p, mode),
              REAL(mkdirat)(AT_FDCWD, real_path, mode));
}

OVL_EXPORT int rmdir(const char *p)
{
        GUARD("rmdir", AT_FDCWD, p, NF, REAL(rmdir)(p), REAL(rmdir)(real_path));
}

OVL_EXPORT int unlink(const char *p)
{
        GUARD("unlink", AT_FDCWD, p, NF, REAL(unlink)(p), REAL(unlink)(real_path));
}

OVL_EXPORT int unlinkat(int fd, const char *p, int flags)
{
        GUARD("unlinkat", fd, p, NF, REAL(unlinkat)(fd, p, flags),
              REAL(unlinkat)(AT_FDCWD, real_path, flags));
}

OVL_EXPORT int remove(const char *p)
{
        GUARD("remove", AT_FDCWD, p, NF, REAL(remove)(p), REAL(remove)(real_path));
}

OVL_EXPORT int chmod(const char *p, mode_t mode)
{
        GUARD("chmod", AT_FDCWD, p, 0, REAL(chmod)(p, mode), REAL(chmod)(real_path, mode));
}

OVL_EXPORT int lchmod(const char *p, mode_t mode)
{
        GUARD("lchmod", AT_FDCWD, p, NF, REAL(lchmod)(p, mode), REAL(lchmod)(real_path, mode));
}

OVL_EXPORT int fchmodat(int fd, const char *p, mode_t mode, int flags)
{
        int rf = (flags & AT_SYMLINK_NOFOLLOW) ? NF : 0;
        GUARD("fchmodat", fd, p, rf, REAL(fchmodat)(fd, p, mode, flags),
              REAL(fchmodat)(AT_FDCWD, real_path, mode, flags));
}

OVL_EXPORT int chown(const char *p, uid_t u, gid_t g)
{
        GUARD("chown", AT_FDCWD, p, 0, REAL(chown)(p, u, g), REAL(chown)(real_path, u, g));
}

OVL_EXPORT int lchown(const char *p, uid_t u, gid_t g)
{
        GUARD("lchown", AT_FDCWD, p, NF, REAL(lchown)(p, u, g), REAL(lchown)(real_path, u, g));
}

OVL_EXPORT int fchownat(int fd, const char *p, uid_t u, gid_t g, int flags)
{
        int rf = ((flags & AT_SYMLINK_NOFOLLOW) ? NF : 0) |
                 ((flags & AT_EMPTY_PATH) ? OVL_R_EMPTY : 0);
        GUARD("fchownat", fd, p, rf, REAL(fchownat)(fd, p, u, g, flags),
              REAL(fchownat)(AT_FDCWD, real_path, u, g, flags & ~AT_EMPTY_PATH));
}

OVL_EXPORT int truncate(const char *p, off_t len)
{
        GUARD("truncate", AT_FDCWD, p, 0, REAL(truncate)(p, len),
              REAL(truncate)(real_path, len));
}

OVL_EXPORT int truncate64(const char *p, off64_t len)
{
        GUARD("truncate64", AT_FDCWD, p, 0, REAL(truncate64)(p, len),
              REAL(truncate64)(real_path, len));
}

OVL_EXPORT int utime(const char *p, const struct utimbuf *t)
{
        GUARD("utime", AT_FDCWD, p, 0, REAL(utime)(p, t), REAL(utime)(real_path, t));
}

OVL_EXPORT int utimes(const char *p, const struct timeval t[2])
{
        GUARD("utimes", AT_FDCWD, p, 0, REAL(utimes)(p, t), REAL(utimes)(real_path, t));
}

OVL_EXPORT int lutimes(const char *p, const struct timeval t[2])
{
        GUARD("lutimes", AT_FDCWD, p, NF, REAL(lutimes)(p, t), REAL(lutimes)(real_path, t));
}

OVL_EXPORT int futimesat(int fd, const char *p, const struct timeval t[2])
{
        GUARD("futimesat", fd, p, 0, REAL(futimesat)(fd, p, t),
              REAL(futimesat)(AT_FDCWD, real_path, t));
}

OVL_EXPORT int setxattr(const char *p, const char *n, const void *v, size_t s, int f)
{
        GUARD("setxattr", AT_FDCWD, p, 0, REAL(setxattr)(p, n, v, s, f),
              REAL(setxattr)(real_path, n, v, s, f));
}

OVL_EXPORT int lsetxattr(const char *p, const char *n, const void *v, size_t s, int f)
{
        GUARD("lsetxattr", AT_FDCWD, p, NF, REAL(lsetxattr)(p, n, v, s, f),
              REAL(lsetxattr)(real_path, n, v, s, f));
}

OVL_EXPORT int removexattr(const char *p, const char *n)
{
        GUARD("removexattr", AT_FDCWD, p, 0, REAL(removexattr)(p, n),
              REAL(removexattr)(real_path, n));
}

OVL_EXPORT int lremovexattr(const char *p, const char *n)
{
        GUARD("lremovexattr", AT_FDCWD, p, NF, REAL(lremovexattr)(p, n),
              REAL(lremovexattr)(real_path, n));
}

OVL_EXPORT int mknod(const char *p, mode_t mode, dev_t dev)
{
        GUARD("mknod", AT_FDCWD, p, NF, REAL(mknod)(p, mode, dev),
              REAL(mknod)(real_path, mode, dev));
}

OVL_EXPORT int mknodat(int fd, const char *p, mode_t mode, dev_t dev)
{
        GUARD("mknodat", fd, p, NF, REAL(mknodat)(fd, p, mode, dev),
              REAL(mknodat)(AT_FDCWD, real_path, mode, dev));
}

OVL_EXPORT int __xmknod(int ver, const char *p, mode_t mode, dev_t *dev)
{
        GUARD("__xmknod", AT_FDCWD, p, NF, REAL(__xmknod)(ver, p, mode, dev),
              REAL(__xmknod)(ver, real_path, mode, dev));
}

OVL_EXPORT int __xmknodat(int ver, int fd, const char *p, mode_t mode, dev_t *dev)
{
        GUARD("__xmknodat", fd, p, NF, REAL(__xmknodat)(ver, fd, p, mode, dev),
              REAL(__xmknodat)(ver, AT_FDCWD, real_path, mode, dev));
}

OVL_EXPORT int mkfifo(const char *p, mode_t mode)
{
        GUARD("mkfifo", AT_FDCWD, p, NF, REAL(mkfifo)(p, mode), REAL(mkfifo)(real_path, mode));
}

OVL_EXPORT int mkfifoat(int fd, const char *p, mode_t mode)
{
        GUARD("mkfifoat", fd, p, NF, REAL(mkfifoat)(fd, p, mode),
              REAL(mkfifoat)(AT_FDCWD, real_path, mode));
}

OVL_EXPORT int symlink(const char *target, const char *p)
{
        GUARD("symlink", AT_FDCWD, p, NF, REAL(symlink)(target, p),
              REAL(symlink)(target, real_path));
}

OVL_EXPORT int symlinkat(const char *target, int fd, const char *p)
{
        GUARD("symlinkat", fd, p, NF, REAL(symlinkat)(target, fd, p),
              REAL(symlinkat)(target, AT_FDCWD, real_path));
}

/* --- two paths ----------------------------------------------------------------- */

/* Rewrite one side of a rename or link; 1 when it lies inside an overlay. */
static int side(int *fd, const char **p, int rf, struct ovl_loc *loc)
{
        int k = ovl_at(*fd, *p, rf, loc);
        if (k == OVL_OUT) {
                *fd = AT_FDCWD;
                *p = loc->real;
        }
        return k < 0 ? k : k == OVL_IN;
}

static int two(const char *call, int *ofd, const char **op, int *nfd, const char **np, int orf)
{
        struct ovl_loc a, b;
        const char *orig = *op;
        int x = side(ofd, op, orf, &a);
        int y = x < 0 ? 0 : side(nfd, np, NF, &b);
        if (x == 0 && y == 0) {
                return 0;
        }
        int r = x < 0 ? x : (y < 0 ? y : -EROFS);
        ovl_log(call, orig, NULL, r);
        return r;
}

OVL_EXPORT int rename(const char *o, const char *n)
{
        int ofd = AT_FDCWD, nfd = AT_FDCWD;
        int r = two("rename", &ofd, &o, &nfd, &n, NF);
        return r < 0 ? (int)ovl_ret(r) : REAL(renameat)(ofd, o, nfd, n);
}

OVL_EXPORT int renameat(int ofd, const char *o, int nfd, const char *n)
{
        int r = two("renameat", &ofd, &o, &nfd, &n, NF);
        return r < 0 ? (int)ovl_ret(r) : REAL(renameat)(ofd, o, nfd, n);
}

OVL_EXPORT int renameat2(int ofd, const char *o, int nfd, const char *n, unsigned flags)
{
        int r = two("renameat2", &ofd, &o, &nfd, &n, NF);
        return r < 0 ? (int)ovl_ret(r) : REAL(renameat2)(ofd, o, nfd, n, flags);
}

OVL_EXPORT int link(const char *o, const char *n)
{
        int ofd = AT_FDCWD, nfd = AT_FDCWD;
        int r = two("link", &ofd, &o, &nfd, &n, NF);
        return r < 0 ? (int)ovl_ret(r) : REAL(linkat)(ofd, o, nfd, n, 0);
}

OVL_EXPORT int linkat(int ofd, const char *o, int nfd, const char *n, int flags)
{
        int orf = ((flags & AT_SYMLINK_FOLLOW) ? 0 : NF) | ((flags & AT_EMPTY_PATH) ? OVL_R_EMPTY : 0);
        int r = two("linkat", &ofd, &o, &nfd, &n, orf);
        return r < 0 ? (int)ovl_ret(r) : REAL(linkat)(ofd, o, nfd, n, flags);
}

/* --- temporary files: glibc creates them without calling open or mkdir ---------- */

static int tmpl_inside(const char *call, const char *tmpl)
{
        struct ovl_loc loc;
        int k = ovl_at(AT_FDCWD, tmpl, NF, &loc);
        if (k == OVL_PASS || k == OVL_OUT) {
                return 0;
        }
        return deny(call, tmpl, k, &loc);
}

#define TMPL(call, t, pass)                                                                  \
        do {                                                                                 \
                if (tmpl_inside(call, t) < 0) {                                              \
                        return -1;                                                           \
                }                                                                            \
                return pass;                                                                 \
        } while (0)

OVL_EXPORT int mkstemp(char *t)
{
        TMPL("mkstemp", t, REAL(mkstemp)(t));
}

OVL_EXPORT int mkstemp64(char *t)
{
        TMPL("mkstemp64", t, REAL(mkstemp64)(t));
}

OVL_EXPORT int mkostemp(char *t, int f)
{
        TMPL("mkostemp", t, REAL(mkostemp)(t, f));
}

OVL_EXPORT int mkostemp64(char *t, int f)
{
        TMPL("mkostemp64", t, REAL(mkostemp64)(t, f));
}

OVL_EXPORT int mkstemps(char *t, int s)
{
        TMPL("mkstemps", t, REAL(mkstemps)(t, s));
}

OVL_EXPORT int mkstemps64(char *t, int s)
{
        TMPL("mkstemps64", t, REAL(mkstemps64)(t, s));
}

OVL_EXPORT int mkostemps(char *t, int s, int f)
{
        TMPL("mkostemps", t, REAL(mkostemps)(t, s, f));
}

OVL_EXPORT int mkostemps64(char *t, int s, int f)
{
        TMPL("mkostemps64", t, REAL(mkostemps64)(t, s, f));
}

OVL_EXPORT char *mkdtemp(char *t)
{
        if (tmpl_inside("mkdtemp", t) < 0) {
                return NULL;
        }
        return REAL(mkdtemp)(t);
}

/* --- fds: an fd on a lower object must not change it ----------------------------- */

static int fd_lower(const char *call, int fd)
{
        char v[PATH_MAX];
        int layer = 0;
        if (!ovl_fd_merged(fd, v, sizeof(v), &layer) || layer == 0 || layer == -2) {
                return 0;
        }
        ovl_log(call, v, NULL, -EROFS);
        errno = EROFS;
        return -1;
}

OVL_EXPORT int fchmod(int fd, mode_t mode)
{
        return fd_lower("fchmod", fd) ? -1 : REAL(fchmod)(fd, mode);
}

OVL_EXPORT int fchown(int fd, uid_t u, gid_t g)
{
        return fd_lower("fchown", fd) ? -1 : REAL(fchown)(fd, u, g);
}

OVL_EXPORT int futimens(int fd, const struct timespec t[2])
{
        return fd_lower("futimens", fd) ? -1 : REAL(futimens)(fd, t);
}

OVL_EXPORT int futimes(int fd, const struct timeval t[2])
{
        return fd_lower("futimes", fd) ? -1 : REAL(futimes)(fd, t);
}

OVL_EXPORT int fsetxattr(int fd, const char *n, const void *v, size_t s, int f)
{
        return fd_lower("fsetxattr", fd) ? -1 : REAL(fsetxattr)(fd, n, v, s, f);
}

OVL_EXPORT int fremovexattr(int fd, const char *n)
{
        return fd_lower("fremovexattr", fd) ? -1 : REAL(fremovexattr)(fd, n);
}

OVL_EXPORT int ftruncate(int fd, off_t len)
{
        return fd_lower("ftruncate", fd) ? -1 : REAL(ftruncate)(fd, len);
}

OVL_EXPORT int ftruncate64(int fd, off64_t len)
{
        return fd_lower("ftruncate64", fd) ? -1 : REAL(ftruncate64)(fd, len);
}

/* glibc declares the path nonnull, but the kernel (and futimens) pass NULL */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnonnull-compare"
OVL_EXPORT int utimensat(int fd, const char *p, const struct timespec t[2], int flags)
{
        if (!p) { /* the fd itself */
                return fd_lower("utimensat", fd) ? -1 : REAL(utimensat)(fd, p, t, flags);
        }
        int rf = ((flags & AT_SYMLINK_NOFOLLOW) ? NF : 0) |
                 ((flags & AT_EMPTY_PATH) ? OVL_R_EMPTY : 0);
        GUARD("utimensat", fd, p, rf, REAL(utimensat)(fd, p, t, flags),
              REAL(utimensat)(AT_FDCWD, real_path, t, flags & ~AT_EMPTY_PATH));
}
#pragma GCC diagnostic pop

/* A socket bound inside an overlay would be created in a layer. */
OVL_EXPORT int bind(int s, const struct sockaddr *addr, socklen_t len)
{
        const struct sockaddr_un *un = (const struct sockaddr_un *)addr;
        size_t max = len > offsetof(struct sockaddr_un, sun_path)
                             ? len - offsetof(struct sockaddr_un, sun_path)
                             : 0;
        if (addr && addr->sa_family == AF_UNIX && max > 0 && un->sun_path[0]) {
                char p[sizeof(un->sun_path) + 1];
                size_t n = strnlen(un->sun_path, max < sizeof(un->sun_path) ? max
                                                                           : sizeof(un->sun_path));
                memcpy(p, un->sun_path, n);
                p[n] = '\0';
                if (tmpl_inside("bind", p) < 0) {
                        return -1;
                }
        }
        return REAL(bind)(s, addr, len);
}
