/* Modifying calls: resolved through the overlay, then done by the core's
 * write path (copy-up, whiteouts, opaque dirs). Outside every overlay the call
 * passes through untouched. */
#include "preload.h"
#include "sys.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* The answer for a call whose target lies inside an overlay. */
static int done(const char *call, const char *path, int k, struct ovl_loc *loc, int r)
{
        ovl_log(call, path, k < 0 ? NULL : loc, r);
        return (int)ovl_ret(r);
}

/* One path: `pass` outside, `out` with real_path after a walk, else `op`. */
#define ONE(call, dirfd, path, rf, pass, out, op)                                                  \
        do {                                                                                       \
                struct ovl_loc loc;                                                                \
                int k = ovl_at(dirfd, path, rf, &loc);                                             \
                if (k == OVL_PASS) {                                                               \
                        return pass;                                                               \
                }                                                                                  \
                if (k == OVL_OUT) {                                                                \
                        const char *real_path = loc.real;                                          \
                        return out;                                                                \
                }                                                                                  \
                struct ovl_config *cfg = ovl_active();                                             \
                return done(call, path, k, &loc, k < 0 ? k : (op));                                \
        } while (0)

#define NF OVL_R_NOFOLLOW

static int at_flags(int flags)
{
        return ((flags & AT_SYMLINK_NOFOLLOW) ? NF : 0) |
               ((flags & AT_EMPTY_PATH) ? OVL_R_EMPTY : 0);
}

/* The kernel looks at the last component of the path before the object:
 * 0 a name, 1 ".", 2 "..". */
static int last_dot(const char *p)
{
        size_t l = strlen(p);
        while (l > 1 && p[l - 1] == '/') {
                l--;
        }
        size_t b = l;
        while (b > 0 && p[b - 1] != '/') {
                b--;
        }
        if (l - b == 1 && p[b] == '.') {
                return 1;
        }
        return l - b == 2 && p[b] == '.' && p[b + 1] == '.' ? 2 : 0;
}

/* mkdir ".": EEXIST, as filename_create answers for anything but a name */
static int mkdir_loc(struct ovl_config *cfg, struct ovl_loc *loc, const char *p, mode_t mode)
{
        return last_dot(p) ? -EEXIST : ovl_mkdir(cfg, loc, mode);
}

/* rmdir "..": ENOTEMPTY, rmdir ".": EINVAL (do_rmdir) */
static int rmdir_loc(struct ovl_config *cfg, struct ovl_loc *loc, const char *p)
{
        static const int dot_err[] = {0, -EINVAL, -ENOTEMPTY};
        int d = last_dot(p);
        return d ? dot_err[d] : ovl_rmdir(cfg, loc);
}

/* unlink of "." or "..": EISDIR (do_unlinkat) */
static int unlink_loc(struct ovl_config *cfg, struct ovl_loc *loc, const char *p)
{
        return last_dot(p) ? -EISDIR : ovl_unlink(cfg, loc);
}

OVL_EXPORT int mkdir(const char *p, mode_t mode)
{
        ONE("mkdir", AT_FDCWD, p, NF, REAL(mkdir)(p, mode), REAL(mkdir)(real_path, mode),
            mkdir_loc(cfg, &loc, p, mode));
}

OVL_EXPORT int mkdirat(int fd, const char *p, mode_t mode)
{
        ONE("mkdirat", fd, p, NF, REAL(mkdirat)(fd, p, mode),
            REAL(mkdirat)(AT_FDCWD, real_path, mode), mkdir_loc(cfg, &loc, p, mode));
}

OVL_EXPORT int rmdir(const char *p)
{
        ONE("rmdir", AT_FDCWD, p, NF, REAL(rmdir)(p), REAL(rmdir)(real_path),
            rmdir_loc(cfg, &loc, p));
}

OVL_EXPORT int unlink(const char *p)
{
        ONE("unlink", AT_FDCWD, p, NF, REAL(unlink)(p), REAL(unlink)(real_path),
            unlink_loc(cfg, &loc, p));
}

OVL_EXPORT int unlinkat(int fd, const char *p, int flags)
{
        ONE("unlinkat", fd, p, NF, REAL(unlinkat)(fd, p, flags),
            REAL(unlinkat)(AT_FDCWD, real_path, flags),
            (flags & AT_REMOVEDIR) ? rmdir_loc(cfg, &loc, p) : unlink_loc(cfg, &loc, p));
}

/* remove(3): unlink, or rmdir for a directory, as glibc does. */
static int remove_loc(struct ovl_config *cfg, struct ovl_loc *loc)
{
        if (loc->layer >= 0 && S_ISDIR(loc->st.st_mode)) {
                return ovl_rmdir(cfg, loc);
        }
        return ovl_unlink(cfg, loc);
}

OVL_EXPORT int remove(const char *p)
{
        ONE("remove", AT_FDCWD, p, NF, REAL(remove)(p), REAL(remove)(real_path),
            remove_loc(cfg, &loc));
}

OVL_EXPORT int chmod(const char *p, mode_t mode)
{
        ONE("chmod", AT_FDCWD, p, 0, REAL(chmod)(p, mode), REAL(chmod)(real_path, mode),
            ovl_chmod(cfg, &loc, mode));
}

OVL_EXPORT int lchmod(const char *p, mode_t mode)
{
        ONE("lchmod", AT_FDCWD, p, NF, REAL(lchmod)(p, mode), REAL(lchmod)(real_path, mode),
            ovl_chmod(cfg, &loc, mode));
}

OVL_EXPORT int fchmodat(int fd, const char *p, mode_t mode, int flags)
{
        ONE("fchmodat", fd, p, at_flags(flags), REAL(fchmodat)(fd, p, mode, flags),
            REAL(fchmodat)(AT_FDCWD, real_path, mode, flags & ~AT_EMPTY_PATH),
            ovl_chmod(cfg, &loc, mode));
}

OVL_EXPORT int chown(const char *p, uid_t u, gid_t g)
{
        ONE("chown", AT_FDCWD, p, 0, REAL(chown)(p, u, g), REAL(chown)(real_path, u, g),
            ovl_chown(cfg, &loc, u, g));
}

OVL_EXPORT int lchown(const char *p, uid_t u, gid_t g)
{
        ONE("lchown", AT_FDCWD, p, NF, REAL(lchown)(p, u, g), REAL(lchown)(real_path, u, g),
            ovl_chown(cfg, &loc, u, g));
}

OVL_EXPORT int fchownat(int fd, const char *p, uid_t u, gid_t g, int flags)
{
        ONE("fchownat", fd, p, at_flags(flags), REAL(fchownat)(fd, p, u, g, flags),
            REAL(fchownat)(AT_FDCWD, real_path, u, g, flags & ~AT_EMPTY_PATH),
            ovl_chown(cfg, &loc, u, g));
}

OVL_EXPORT int truncate(const char *p, off_t len)
{
        ONE("truncate", AT_FDCWD, p, 0, REAL(truncate)(p, len), REAL(truncate)(real_path, len),
            ovl_truncate(cfg, &loc, len));
}

OVL_EXPORT int truncate64(const char *p, off64_t len)
{
        ONE("truncate64", AT_FDCWD, p, 0, REAL(truncate64)(p, len),
            REAL(truncate64)(real_path, len), ovl_truncate(cfg, &loc, len));
}

static void tv_to_ts(const struct timeval *tv, struct timespec *ts)
{
        for (int i = 0; i < 2; i++) {
                ts[i].tv_sec = tv[i].tv_sec;
                ts[i].tv_nsec = tv[i].tv_usec * 1000;
        }
}

static int utimes_loc(struct ovl_config *cfg, struct ovl_loc *loc, const struct timeval *tv)
{
        struct timespec ts[2];
        if (tv) {
                tv_to_ts(tv, ts);
        }
        return ovl_utimens(cfg, loc, tv ? ts : NULL);
}

static int utime_loc(struct ovl_config *cfg, struct ovl_loc *loc, const struct utimbuf *t)
{
        struct timespec ts[2] = {{t ? t->actime : 0, 0}, {t ? t->modtime : 0, 0}};
        return ovl_utimens(cfg, loc, t ? ts : NULL);
}

OVL_EXPORT int utime(const char *p, const struct utimbuf *t)
{
        ONE("utime", AT_FDCWD, p, 0, REAL(utime)(p, t), REAL(utime)(real_path, t),
            utime_loc(cfg, &loc, t));
}

OVL_EXPORT int utimes(const char *p, const struct timeval t[2])
{
        ONE("utimes", AT_FDCWD, p, 0, REAL(utimes)(p, t), REAL(utimes)(real_path, t),
            utimes_loc(cfg, &loc, t));
}

OVL_EXPORT int lutimes(const char *p, const struct timeval t[2])
{
        ONE("lutimes", AT_FDCWD, p, NF, REAL(lutimes)(p, t), REAL(lutimes)(real_path, t),
            utimes_loc(cfg, &loc, t));
}

OVL_EXPORT int futimesat(int fd, const char *p, const struct timeval t[2])
{
        ONE("futimesat", fd, p, 0, REAL(futimesat)(fd, p, t),
            REAL(futimesat)(AT_FDCWD, real_path, t), utimes_loc(cfg, &loc, t));
}

OVL_EXPORT int setxattr(const char *p, const char *n, const void *v, size_t s, int f)
{
        ONE("setxattr", AT_FDCWD, p, 0, REAL(setxattr)(p, n, v, s, f),
            REAL(setxattr)(real_path, n, v, s, f), ovl_setxattr(cfg, &loc, n, v, s, f));
}

OVL_EXPORT int lsetxattr(const char *p, const char *n, const void *v, size_t s, int f)
{
        ONE("lsetxattr", AT_FDCWD, p, NF, REAL(lsetxattr)(p, n, v, s, f),
            REAL(lsetxattr)(real_path, n, v, s, f), ovl_setxattr(cfg, &loc, n, v, s, f));
}

OVL_EXPORT int removexattr(const char *p, const char *n)
{
        ONE("removexattr", AT_FDCWD, p, 0, REAL(removexattr)(p, n), REAL(removexattr)(real_path, n),
            ovl_removexattr(cfg, &loc, n));
}

OVL_EXPORT int lremovexattr(const char *p, const char *n)
{
        ONE("lremovexattr", AT_FDCWD, p, NF, REAL(lremovexattr)(p, n),
            REAL(lremovexattr)(real_path, n), ovl_removexattr(cfg, &loc, n));
}

OVL_EXPORT int mknod(const char *p, mode_t mode, dev_t dev)
{
        ONE("mknod", AT_FDCWD, p, NF, REAL(mknod)(p, mode, dev), REAL(mknod)(real_path, mode, dev),
            ovl_mknod(cfg, &loc, mode, dev));
}

OVL_EXPORT int mknodat(int fd, const char *p, mode_t mode, dev_t dev)
{
        ONE("mknodat", fd, p, NF, REAL(mknodat)(fd, p, mode, dev),
            REAL(mknodat)(AT_FDCWD, real_path, mode, dev), ovl_mknod(cfg, &loc, mode, dev));
}

OVL_EXPORT int __xmknod(int ver, const char *p, mode_t mode, dev_t *dev)
{
        ONE("__xmknod", AT_FDCWD, p, NF, REAL(__xmknod)(ver, p, mode, dev),
            REAL(__xmknod)(ver, real_path, mode, dev), ovl_mknod(cfg, &loc, mode, *dev));
}

OVL_EXPORT int __xmknodat(int ver, int fd, const char *p, mode_t mode, dev_t *dev)
{
        ONE("__xmknodat", fd, p, NF, REAL(__xmknodat)(ver, fd, p, mode, dev),
            REAL(__xmknodat)(ver, AT_FDCWD, real_path, mode, dev),
            ovl_mknod(cfg, &loc, mode, *dev));
}

OVL_EXPORT int mkfifo(const char *p, mode_t mode)
{
        ONE("mkfifo", AT_FDCWD, p, NF, REAL(mkfifo)(p, mode), REAL(mkfifo)(real_path, mode),
            ovl_mknod(cfg, &loc, S_IFIFO | (mode & 07777), 0));
}

OVL_EXPORT int mkfifoat(int fd, const char *p, mode_t mode)
{
        ONE("mkfifoat", fd, p, NF, REAL(mkfifoat)(fd, p, mode),
            REAL(mkfifoat)(AT_FDCWD, real_path, mode),
            ovl_mknod(cfg, &loc, S_IFIFO | (mode & 07777), 0));
}

OVL_EXPORT int symlink(const char *target, const char *p)
{
        ONE("symlink", AT_FDCWD, p, NF, REAL(symlink)(target, p), REAL(symlink)(target, real_path),
            ovl_symlink(cfg, target, &loc));
}

OVL_EXPORT int symlinkat(const char *target, int fd, const char *p)
{
        ONE("symlinkat", fd, p, NF, REAL(symlinkat)(target, fd, p),
            REAL(symlinkat)(target, AT_FDCWD, real_path), ovl_symlink(cfg, target, &loc));
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

typedef int (*two_op)(struct ovl_config *, struct ovl_loc *, struct ovl_loc *, unsigned);

static int link_op(struct ovl_config *cfg, struct ovl_loc *a, struct ovl_loc *b, unsigned f)
{
        return ovl_link(cfg, a, b);
}

/* "." or ".." as the last component: rename answers EBUSY (EEXIST for a
 * NOREPLACE target), link EEXIST for its new name (do_renameat2, do_linkat). */
static int dots(two_op fn, const char *o, const char *n, unsigned flags)
{
        if (fn != ovl_rename) {
                return last_dot(n) ? -EEXIST : 0;
        }
        if (last_dot(o)) {
                return -EBUSY;
        }
        return !last_dot(n) ? 0 : (flags & RENAME_NOREPLACE) ? -EEXIST : -EBUSY;
}

/* Both names inside one overlay: the core; across an overlay's edge: EXDEV,
 * as between two mounts. 1 when handled (result in *res). */
static int two(const char *call, int *ofd, const char **op, int *nfd, const char **np, int orf,
               two_op fn, unsigned flags, int *res)
{
        struct ovl_loc a, b;
        const char *orig = *op, *orig_new = *np;
        int x = side(ofd, op, orf, &a);
        int y = x < 0 ? 0 : side(nfd, np, NF, &b);
        if (x == 0 && y == 0) {
                return 0;
        }
        int r = x < 0 ? x : (y < 0 ? y : (x != y ? -EXDEV : 0));
        if (r == 0) {
                r = dots(fn, orig, orig_new, flags);
        }
        if (r == 0) {
                r = fn(ovl_active(), &a, &b, flags);
        }
        *res = done(call, orig, x < 0 ? x : 0, &a, r);
        return 1;
}

OVL_EXPORT int rename(const char *o, const char *n)
{
        int ofd = AT_FDCWD, nfd = AT_FDCWD, res;
        if (two("rename", &ofd, &o, &nfd, &n, NF, ovl_rename, 0, &res)) {
                return res;
        }
        return ofd == AT_FDCWD && nfd == AT_FDCWD ? REAL(rename)(o, n)
                                                  : REAL(renameat)(ofd, o, nfd, n);
}

OVL_EXPORT int renameat(int ofd, const char *o, int nfd, const char *n)
{
        int res;
        if (two("renameat", &ofd, &o, &nfd, &n, NF, ovl_rename, 0, &res)) {
                return res;
        }
        return REAL(renameat)(ofd, o, nfd, n);
}

OVL_EXPORT int renameat2(int ofd, const char *o, int nfd, const char *n, unsigned flags)
{
        int res;
        if (two("renameat2", &ofd, &o, &nfd, &n, NF, ovl_rename, flags, &res)) {
                return res;
        }
        return REAL(renameat2)(ofd, o, nfd, n, flags);
}

OVL_EXPORT int link(const char *o, const char *n)
{
        int ofd = AT_FDCWD, nfd = AT_FDCWD, res;
        if (two("link", &ofd, &o, &nfd, &n, NF, link_op, 0, &res)) {
                return res;
        }
        return REAL(linkat)(ofd, o, nfd, n, 0);
}

OVL_EXPORT int linkat(int ofd, const char *o, int nfd, const char *n, int flags)
{
        int orf =
            ((flags & AT_SYMLINK_FOLLOW) ? 0 : NF) | ((flags & AT_EMPTY_PATH) ? OVL_R_EMPTY : 0);
        int res;
        if (two("linkat", &ofd, &o, &nfd, &n, orf, link_op, 0, &res)) {
                return res;
        }
        return REAL(linkat)(ofd, o, nfd, n, flags);
}

/* --- temporary files: glibc creates them without calling open or mkdir ---------- */

static bool tmpl_inside(const char *tmpl)
{
        struct ovl_loc loc;
        return ovl_at(AT_FDCWD, tmpl, NF, &loc) == OVL_IN;
}

/* Fill the six X before the suffix, as glibc's __gen_tempname does. */
static int tmpl_fill(char *t, int suffixlen)
{
        static const char letters[] =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        size_t len = strlen(t);
        if (suffixlen < 0 || len < 6 + (size_t)suffixlen ||
            memcmp(t + len - suffixlen - 6, "XXXXXX", 6)) {
                return -EINVAL;
        }
        unsigned long v = 0;
        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v)) {
                v = (unsigned long)ovl_sys_getpid() * 2654435761UL ^ (unsigned long)&v;
        }
        for (int i = 0; i < 6; i++, v /= 62) {
                t[len - suffixlen - 6 + i] = letters[v % 62];
        }
        return 0;
}

/* mkstemp and mkdtemp inside an overlay: the name is generated straight into
 * the caller's template, so sed -i and perl -pi rename the right file. */
static int mktemp_in(char *t, int suffixlen, int flags, bool dir)
{
        struct ovl_config *cfg = ovl_active();
        for (int tries = 0; tries < 1000; tries++) {
                int r = tmpl_fill(t, suffixlen);
                struct ovl_loc loc;
                int k = r < 0 ? r : ovl_at(AT_FDCWD, t, NF, &loc);
                if (k < 0 || k != OVL_IN) {
                        return k < 0 ? k : -ENOENT;
                }
                r = dir ? ovl_mkdir(cfg, &loc, 0700)
                        : ovl_open(cfg, &loc, O_RDWR | O_CREAT | O_EXCL | flags, 0600);
                if (r != -EEXIST) {
                        ovl_log(dir ? "mkdtemp" : "mkstemp", t, &loc, r);
                        return r;
                }
        }
        return -EEXIST;
}

#define TMPL(t, s, f, pass)                                                                        \
        do {                                                                                       \
                if (!tmpl_inside(t)) {                                                             \
                        return pass;                                                               \
                }                                                                                  \
                return (int)ovl_ret(mktemp_in(t, s, f, false));                                    \
        } while (0)

OVL_EXPORT int mkstemp(char *t)
{
        TMPL(t, 0, 0, REAL(mkstemp)(t));
}

OVL_EXPORT int mkstemp64(char *t)
{
        TMPL(t, 0, 0, REAL(mkstemp64)(t));
}

OVL_EXPORT int mkostemp(char *t, int f)
{
        TMPL(t, 0, f, REAL(mkostemp)(t, f));
}

OVL_EXPORT int mkostemp64(char *t, int f)
{
        TMPL(t, 0, f, REAL(mkostemp64)(t, f));
}

OVL_EXPORT int mkstemps(char *t, int s)
{
        TMPL(t, s, 0, REAL(mkstemps)(t, s));
}

OVL_EXPORT int mkstemps64(char *t, int s)
{
        TMPL(t, s, 0, REAL(mkstemps64)(t, s));
}

OVL_EXPORT int mkostemps(char *t, int s, int f)
{
        TMPL(t, s, f, REAL(mkostemps)(t, s, f));
}

OVL_EXPORT int mkostemps64(char *t, int s, int f)
{
        TMPL(t, s, f, REAL(mkostemps64)(t, s, f));
}

OVL_EXPORT char *mkdtemp(char *t)
{
        if (!tmpl_inside(t)) {
                return REAL(mkdtemp)(t);
        }
        int r = mktemp_in(t, 0, 0, true);
        return ovl_ret(r) < 0 ? NULL : t;
}

/* mktemp and tempnam only pick a name, but glibc checks that it is free with
 * internal calls, which would ask the real directory instead of the merged
 * view: inside an overlay the name is checked through the shim. */
static bool free_name(char *t, int suffixlen)
{
        for (int tries = 0; tries < 1000; tries++) {
                struct stat st;
                if (tmpl_fill(t, suffixlen) < 0) {
                        return false;
                }
                if (lstat(t, &st) < 0 && errno == ENOENT) {
                        return true;
                }
        }
        return false;
}

OVL_EXPORT char *mktemp(char *t)
{
        if (!tmpl_inside(t)) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
                return REAL(mktemp)(t);
#pragma GCC diagnostic pop
        }
        int saved = errno;
        if (!free_name(t, 0)) {
                t[0] = '\0';
                errno = EEXIST;
                return t;
        }
        errno = saved;
        return t;
}

static bool is_dir(const char *d)
{
        struct stat st;
        return d && stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

/* glibc's choice: $TMPDIR, else dir, else /tmp; at most 5 prefix chars. */
OVL_EXPORT char *tempnam(const char *dir, const char *pfx)
{
        const char *env = secure_getenv("TMPDIR");
        const char *d = is_dir(env) ? env : is_dir(dir) ? dir : "/tmp";
        char t[PATH_MAX];
        int n = snprintf(t, sizeof(t), "%s/%.5sXXXXXX", d, pfx ? pfx : "file");
        if (n >= (int)sizeof(t) || !tmpl_inside(t)) {
                return REAL(tempnam)(dir, pfx);
        }
        if (!free_name(t, 0)) {
                errno = EEXIST;
                return NULL;
        }
        return strdup(t);
}

/* --- fds: a change through an fd on a lower object goes to its copy-up ------------ */

/* An O_PATH fd changes nothing (EBADF, as the kernel answers for the real fd). */
static bool fd_can_change(int fd)
{
        int fl = ovl_sys_fcntl(fd, F_GETFL, 0);
        return fl >= 0 && !(fl & O_PATH);
}

#define FD_OP(call, fd, pass, op)                                                                  \
        do {                                                                                       \
                char fdv[PATH_MAX];                                                                \
                int layer = 0;                                                                     \
                if (!ovl_fd_merged(fd, fdv, sizeof(fdv), &layer) || layer == 0 || layer == -2 ||   \
                    !fd_can_change(fd)) {                                                          \
                        return pass;                                                               \
                }                                                                                  \
                struct ovl_loc loc;                                                                \
                struct ovl_config *cfg = ovl_active();                                             \
                int k = ovl_resolve(cfg, NULL, fdv, NF, &loc);                                     \
                int r = k < 0 ? k : (k != OVL_IN ? -ENOENT : (op));                                \
                return done(call, fdv, k, &loc, r);                                                \
        } while (0)

OVL_EXPORT int fchmod(int fd, mode_t mode)
{
        FD_OP("fchmod", fd, REAL(fchmod)(fd, mode), ovl_chmod(cfg, &loc, mode));
}

OVL_EXPORT int fchown(int fd, uid_t u, gid_t g)
{
        FD_OP("fchown", fd, REAL(fchown)(fd, u, g), ovl_chown(cfg, &loc, u, g));
}

OVL_EXPORT int futimens(int fd, const struct timespec t[2])
{
        FD_OP("futimens", fd, REAL(futimens)(fd, t), ovl_utimens(cfg, &loc, t));
}

OVL_EXPORT int futimes(int fd, const struct timeval t[2])
{
        FD_OP("futimes", fd, REAL(futimes)(fd, t), utimes_loc(cfg, &loc, t));
}

OVL_EXPORT int fsetxattr(int fd, const char *n, const void *v, size_t s, int f)
{
        FD_OP("fsetxattr", fd, REAL(fsetxattr)(fd, n, v, s, f),
              ovl_setxattr(cfg, &loc, n, v, s, f));
}

OVL_EXPORT int fremovexattr(int fd, const char *n)
{
        FD_OP("fremovexattr", fd, REAL(fremovexattr)(fd, n), ovl_removexattr(cfg, &loc, n));
}

/* A read-only fd cannot be truncated (EINVAL, as on the kernel); a writable
 * one on a lower file was opened behind the overlay's back: truncate its copy. */
static int ftruncate_loc(struct ovl_config *cfg, struct ovl_loc *loc, int fd, off_t len)
{
        int fl = ovl_sys_fcntl(fd, F_GETFL, 0);
        if (fl >= 0 && (fl & O_ACCMODE) == O_RDONLY) {
                return -EINVAL;
        }
        return ovl_truncate(cfg, loc, len);
}

OVL_EXPORT int ftruncate(int fd, off_t len)
{
        FD_OP("ftruncate", fd, REAL(ftruncate)(fd, len), ftruncate_loc(cfg, &loc, fd, len));
}

OVL_EXPORT int ftruncate64(int fd, off64_t len)
{
        FD_OP("ftruncate64", fd, REAL(ftruncate64)(fd, len), ftruncate_loc(cfg, &loc, fd, len));
}

static int utimensat_fd(int fd, const struct timespec t[2], int flags)
{
        /* glibc's futimens is this call with a NULL path */
        FD_OP("utimensat", fd, REAL(futimens)(fd, t), ovl_utimens(cfg, &loc, t));
}

/* glibc declares the path nonnull, but the kernel (and futimens) pass NULL */
#pragma GCC diagnostic push
#ifdef __clang__
#pragma GCC diagnostic ignored "-Wpointer-bool-conversion"
#else
#pragma GCC diagnostic ignored "-Wnonnull-compare"
#endif
OVL_EXPORT int utimensat(int fd, const char *p, const struct timespec t[2], int flags)
{
        if (!p) {
                return utimensat_fd(fd, t, flags);
        }
        ONE("utimensat", fd, p, at_flags(flags), REAL(utimensat)(fd, p, t, flags),
            REAL(utimensat)(AT_FDCWD, real_path, t, flags & ~AT_EMPTY_PATH),
            ovl_utimens(cfg, &loc, t));
}
#pragma GCC diagnostic pop
