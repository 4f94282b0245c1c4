/* Modifying calls: resolved through the overlay, then done by the core's
 * write path (copy-up, whiteouts, opaque dirs). Outside every overlay the call
 * passes through untouched. */
#include "name.h"
#include "preload.h"
#include "markers.h"
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

/* ovl_dead_change's answer: 1 success, or -errno */
static int dead_answer(const char *call, const char *path, int dead)
{
        ovl_log(call, path, NULL, dead < 0 ? dead : 0);
        return (int)ovl_ret(dead < 0 ? dead : 0);
}

/* After a resolution k of loc: `pass` untouched, `out` with real_path after a
 * walk that left the overlays, else `op` (cfg and loc in scope). */
#define DISPATCH(call, path, k, loc, pass, out, op)                                                \
        do {                                                                                       \
                if (k == OVL_PASS) {                                                               \
                        return pass;                                                               \
                }                                                                                  \
                if (k == OVL_OUT) {                                                                \
                        const char *real_path = (loc).real;                                        \
                        return out;                                                                \
                }                                                                                  \
                struct ovl_config *cfg = ovl_active();                                             \
                return done(call, path, k, &(loc), k < 0 ? k : (op));                              \
        } while (0)

/* One path, resolved as the call's flags say. */
#define ONE(call, dirfd, path, rf, pass, out, op)                                                  \
        do {                                                                                       \
                struct ovl_loc loc;                                                                \
                int k = ovl_at(dirfd, path, rf, &loc);                                             \
                DISPATCH(call, path, k, loc, pass, out, op);                                       \
        } while (0)

/* ONE for a call that changes attributes: a removed lower-only directory itself
 * (ovl_dead_change) has its own answer, or with a record is changed there */
#define CHANGE_RMX(call, dirfd, path, rmx, rf, pass, out, op)                                      \
        do {                                                                                       \
                struct ovl_loc loc;                                                                \
                int k = ovl_dead_change(dirfd, path, rmx, &loc);                                   \
                if (k != OVL_IN && k) {                                                            \
                        return dead_answer(call, path, k);                                         \
                }                                                                                  \
                if (k != OVL_IN) {                                                                 \
                        k = ovl_at(dirfd, path, rf, &loc);                                         \
                }                                                                                  \
                DISPATCH(call, path, k, loc, pass, out, op);                                       \
        } while (0)
#define CHANGE(call, dirfd, path, rf, pass, out, op)                                               \
        CHANGE_RMX(call, dirfd, path, NULL, rf, pass, out, op)

#define NF OVL_R_NOFOLLOW

static int at_flags(int flags)
{
        return ((flags & AT_SYMLINK_NOFOLLOW) ? NF : 0) |
               ((flags & AT_EMPTY_PATH) ? OVL_R_EMPTY : 0);
}

/* A namespace call on one name, in the kernel's order (name.c): the
 * directory part's errors first, then what the call makes of the last name. */
#define NAMEOP(call, dirfd, path, pass, out, op)                                                   \
        do {                                                                                       \
                struct ovl_loc loc;                                                                \
                struct ovl_name nm = {.loc = &loc};                                                \
                int k = ovl_name_kind(dirfd, path, &nm);                                           \
                DISPATCH(call, path, k, loc, pass, out, op);                                       \
        } while (0)

/* do_unlinkat: "." and ".." are EISDIR; a trailing slash names a directory */
static int unlink_name(struct ovl_config *cfg, struct ovl_name *nm)
{
        if (nm->last != OVL_LAST_NORM || !nm->pm) {
                return -EISDIR; /* "." "..", or MERGED itself: a directory */
        }
        int r = ovl_name_lookup(nm);
        if (r < 0 || !nm->slash) {
                return r < 0 ? r : ovl_unlink(cfg, nm->loc);
        }
        return !ovl_name_exists(nm) ? -ENOENT : (ovl_name_dir(nm) ? -EISDIR : -ENOTDIR);
}

/* do_rmdir: ".": EINVAL, "..": ENOTEMPTY, "/": EBUSY */
static int rmdir_name(struct ovl_config *cfg, struct ovl_name *nm)
{
        static const int last_err[] = {0, -EINVAL, -ENOTEMPTY, -EBUSY};
        if (nm->last != OVL_LAST_NORM) {
                return last_err[nm->last];
        }
        if (!nm->pm) {
                return -EBUSY; /* MERGED itself: a mount point on a writable parent */
        }
        int r = ovl_name_lookup(nm);
        r = r < 0 ? r : ovl_rmdir(cfg, nm->loc);
        if (r == 0) {
                ovl_cwd_dir_moved(); /* it may have been the cwd */
                ovl_cwd_dir_removed(nm->loc);
        }
        return r;
}

static int mkdir_name(struct ovl_config *cfg, struct ovl_name *nm, mode_t mode)
{
        int r = ovl_name_create(nm, true);
        return r < 0 ? r : ovl_mkdir(cfg, nm->loc, mode);
}

/* may_mknod comes before the name is looked at */
static int mknod_name(struct ovl_config *cfg, struct ovl_name *nm, mode_t mode, dev_t dev)
{
        switch (mode & S_IFMT) {
        case 0:
                mode |= S_IFREG;
                break;
        case S_IFREG:
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
        case S_IFSOCK:
                break;
        case S_IFDIR:
                return -EPERM;
        default:
                return -EINVAL;
        }
        int r = ovl_name_create(nm, false);
        return r < 0 ? r : ovl_mknod(cfg, nm->loc, mode, dev);
}

static int symlink_name(struct ovl_config *cfg, const char *target, struct ovl_name *nm)
{
        int r = target[0] ? ovl_name_create(nm, false) : -ENOENT;
        return r < 0 ? r : ovl_symlink(cfg, target, nm->loc);
}

OVL_EXPORT int mkdir(const char *p, mode_t mode)
{
        NAMEOP("mkdir", AT_FDCWD, p, REAL(mkdir)(p, mode), REAL(mkdir)(real_path, mode),
               mkdir_name(cfg, &nm, mode));
}

OVL_EXPORT int mkdirat(int fd, const char *p, mode_t mode)
{
        NAMEOP("mkdirat", fd, p, REAL(mkdirat)(fd, p, mode),
               REAL(mkdirat)(AT_FDCWD, real_path, mode), mkdir_name(cfg, &nm, mode));
}

OVL_EXPORT int rmdir(const char *p)
{
        NAMEOP("rmdir", AT_FDCWD, p, REAL(rmdir)(p), REAL(rmdir)(real_path), rmdir_name(cfg, &nm));
}

OVL_EXPORT int unlink(const char *p)
{
        NAMEOP("unlink", AT_FDCWD, p, REAL(unlink)(p), REAL(unlink)(real_path),
               unlink_name(cfg, &nm));
}

OVL_EXPORT int unlinkat(int fd, const char *p, int flags)
{
        if (flags & ~AT_REMOVEDIR) {
                return REAL(unlinkat)(fd, p, flags); /* EINVAL from the kernel */
        }
        NAMEOP("unlinkat", fd, p, REAL(unlinkat)(fd, p, flags),
               REAL(unlinkat)(AT_FDCWD, real_path, flags),
               (flags & AT_REMOVEDIR) ? rmdir_name(cfg, &nm) : unlink_name(cfg, &nm));
}

/* remove(3): unlink, and rmdir when that says EISDIR, as glibc does. */
static int remove_name(struct ovl_config *cfg, struct ovl_name *nm)
{
        int r = unlink_name(cfg, nm);
        return r == -EISDIR ? rmdir_name(cfg, nm) : r;
}

OVL_EXPORT int remove(const char *p)
{
        NAMEOP("remove", AT_FDCWD, p, REAL(remove)(p), REAL(remove)(real_path),
               remove_name(cfg, &nm));
}

/* A mode outside the overlays changed: maybe one above a MERGED. */
static int outside_mode(int r)
{
        if (r == 0) {
                ovl_above_changed(ovl_active());
        }
        return r;
}

OVL_EXPORT int chmod(const char *p, mode_t mode)
{
        CHANGE("chmod", AT_FDCWD, p, 0, outside_mode(REAL(chmod)(p, mode)),
               outside_mode(REAL(chmod)(real_path, mode)), ovl_chmod(cfg, &loc, mode));
}

OVL_EXPORT int lchmod(const char *p, mode_t mode)
{
        CHANGE("lchmod", AT_FDCWD, p, NF, outside_mode(REAL(lchmod)(p, mode)),
               outside_mode(REAL(lchmod)(real_path, mode)), ovl_chmod(cfg, &loc, mode));
}

OVL_EXPORT int fchmodat(int fd, const char *p, mode_t mode, int flags)
{
        CHANGE("fchmodat", fd, p, at_flags(flags), outside_mode(REAL(fchmodat)(fd, p, mode, flags)),
               outside_mode(REAL(fchmodat)(AT_FDCWD, real_path, mode, flags & ~AT_EMPTY_PATH)),
               ovl_chmod(cfg, &loc, mode));
}

OVL_EXPORT int chown(const char *p, uid_t u, gid_t g)
{
        CHANGE("chown", AT_FDCWD, p, 0, REAL(chown)(p, u, g), REAL(chown)(real_path, u, g),
               ovl_chown(cfg, &loc, u, g));
}

OVL_EXPORT int lchown(const char *p, uid_t u, gid_t g)
{
        CHANGE("lchown", AT_FDCWD, p, NF, REAL(lchown)(p, u, g), REAL(lchown)(real_path, u, g),
               ovl_chown(cfg, &loc, u, g));
}

OVL_EXPORT int fchownat(int fd, const char *p, uid_t u, gid_t g, int flags)
{
        CHANGE("fchownat", fd, p, at_flags(flags), REAL(fchownat)(fd, p, u, g, flags),
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

static int utimes_check(const struct ovl_loc *loc, const struct timeval *tv)
{
        struct timespec ts[2];
        if (tv) {
                tv_to_ts(tv, ts);
        }
        return ovl_utimens_check(loc, tv ? ts : NULL);
}

static int utime_loc(struct ovl_config *cfg, struct ovl_loc *loc, const struct utimbuf *t)
{
        struct timespec ts[2] = {{t ? t->actime : 0, 0}, {t ? t->modtime : 0, 0}};
        return ovl_utimens(cfg, loc, t ? ts : NULL);
}

OVL_EXPORT int utime(const char *p, const struct utimbuf *t)
{
        CHANGE("utime", AT_FDCWD, p, 0, REAL(utime)(p, t), REAL(utime)(real_path, t),
               utime_loc(cfg, &loc, t));
}

OVL_EXPORT int utimes(const char *p, const struct timeval t[2])
{
        CHANGE("utimes", AT_FDCWD, p, 0, REAL(utimes)(p, t), REAL(utimes)(real_path, t),
               utimes_loc(cfg, &loc, t));
}

OVL_EXPORT int lutimes(const char *p, const struct timeval t[2])
{
        CHANGE("lutimes", AT_FDCWD, p, NF, REAL(lutimes)(p, t), REAL(lutimes)(real_path, t),
               utimes_loc(cfg, &loc, t));
}

OVL_EXPORT int futimesat(int fd, const char *p, const struct timeval t[2])
{
        CHANGE("futimesat", fd, p, 0, REAL(futimesat)(fd, p, t),
               REAL(futimesat)(AT_FDCWD, real_path, t), utimes_loc(cfg, &loc, t));
}

OVL_EXPORT int setxattr(const char *p, const char *n, const void *v, size_t s, int f)
{
        CHANGE("setxattr", AT_FDCWD, p, 0, REAL(setxattr)(p, n, v, s, f),
               REAL(setxattr)(real_path, n, v, s, f), ovl_setxattr(cfg, &loc, n, v, s, f));
}

OVL_EXPORT int lsetxattr(const char *p, const char *n, const void *v, size_t s, int f)
{
        CHANGE("lsetxattr", AT_FDCWD, p, NF, REAL(lsetxattr)(p, n, v, s, f),
               REAL(lsetxattr)(real_path, n, v, s, f), ovl_setxattr(cfg, &loc, n, v, s, f));
}

OVL_EXPORT int removexattr(const char *p, const char *n)
{
        CHANGE_RMX("removexattr", AT_FDCWD, p, n, 0, REAL(removexattr)(p, n),
                   REAL(removexattr)(real_path, n), ovl_removexattr(cfg, &loc, n));
}

OVL_EXPORT int lremovexattr(const char *p, const char *n)
{
        CHANGE_RMX("lremovexattr", AT_FDCWD, p, n, NF, REAL(lremovexattr)(p, n),
                   REAL(lremovexattr)(real_path, n), ovl_removexattr(cfg, &loc, n));
}

OVL_EXPORT int mknod(const char *p, mode_t mode, dev_t dev)
{
        NAMEOP("mknod", AT_FDCWD, p, REAL(mknod)(p, mode, dev), REAL(mknod)(real_path, mode, dev),
               mknod_name(cfg, &nm, mode, dev));
}

OVL_EXPORT int mknodat(int fd, const char *p, mode_t mode, dev_t dev)
{
        NAMEOP("mknodat", fd, p, REAL(mknodat)(fd, p, mode, dev),
               REAL(mknodat)(AT_FDCWD, real_path, mode, dev), mknod_name(cfg, &nm, mode, dev));
}

OVL_EXPORT int __xmknod(int ver, const char *p, mode_t mode, dev_t *dev)
{
        NAMEOP("__xmknod", AT_FDCWD, p, REAL(__xmknod)(ver, p, mode, dev),
               REAL(__xmknod)(ver, real_path, mode, dev), mknod_name(cfg, &nm, mode, *dev));
}

OVL_EXPORT int __xmknodat(int ver, int fd, const char *p, mode_t mode, dev_t *dev)
{
        NAMEOP("__xmknodat", fd, p, REAL(__xmknodat)(ver, fd, p, mode, dev),
               REAL(__xmknodat)(ver, AT_FDCWD, real_path, mode, dev),
               mknod_name(cfg, &nm, mode, *dev));
}

OVL_EXPORT int mkfifo(const char *p, mode_t mode)
{
        NAMEOP("mkfifo", AT_FDCWD, p, REAL(mkfifo)(p, mode), REAL(mkfifo)(real_path, mode),
               mknod_name(cfg, &nm, S_IFIFO | (mode & 07777), 0));
}

OVL_EXPORT int mkfifoat(int fd, const char *p, mode_t mode)
{
        NAMEOP("mkfifoat", fd, p, REAL(mkfifoat)(fd, p, mode),
               REAL(mkfifoat)(AT_FDCWD, real_path, mode),
               mknod_name(cfg, &nm, S_IFIFO | (mode & 07777), 0));
}

OVL_EXPORT int symlink(const char *target, const char *p)
{
        NAMEOP("symlink", AT_FDCWD, p, REAL(symlink)(target, p), REAL(symlink)(target, real_path),
               symlink_name(cfg, target, &nm));
}

OVL_EXPORT int symlinkat(const char *target, int fd, const char *p)
{
        NAMEOP("symlinkat", fd, p, REAL(symlinkat)(target, fd, p),
               REAL(symlinkat)(target, AT_FDCWD, real_path), symlink_name(cfg, target, &nm));
}

/* --- two paths ----------------------------------------------------------------- */

/* A rename or link: the names the kernel gets when both lie outside every
 * overlay (rewritten to real paths after a walk), and the two resolutions. */
struct two {
        int ofd, nfd;
        const char *o, *n;
        struct ovl_loc a, b;
};

/* Rewrite one side to its real path when a walk left the overlays. */
static void side(int *fd, const char **p, int rf, struct ovl_loc *loc)
{
        if (ovl_at(*fd, *p, rf, loc) == OVL_OUT) {
                *fd = AT_FDCWD;
                *p = loc->real;
        }
}

/* Neither name is in an overlay after all: the kernel's call, real paths. */
static int pass_two(struct two *t, int orf)
{
        side(&t->ofd, &t->o, orf, &t->a);
        side(&t->nfd, &t->n, NF | OVL_R_NAME, &t->b);
        return 0;
}

/* Is `rel` strictly below the directory `anc`? */
static bool below(const char *anc, const char *rel)
{
        size_t l = strlen(anc);
        return !strncmp(rel, anc, l) && rel[l] == '/';
}

/* rename(x, x), or two names of one upper inode: vfs_rename does nothing. */
static bool same_object(const struct ovl_loc *a, const struct ovl_loc *b)
{
        if (!strcmp(a->rel, b->rel)) {
                return true;
        }
        return a->layer == 0 && b->layer == 0 && !S_ISDIR(a->st.st_mode) &&
               a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino;
}

/* What do_renameat2 checks after both directory parts were walked: the mount,
 * "." and "..", EROFS, the lookups, trailing slashes and the lock_rename
 * trap. 1: nothing to do. */
static int rename_order(const struct ovl_name *a, const struct ovl_name *b, unsigned flags)
{
        if (a->pm != b->pm) {
                return -EXDEV;
        }
        if (!a->pm) {
                return -EBUSY; /* MERGED itself, a mount point, and a name beside it */
        }
        if (a->last != OVL_LAST_NORM) {
                return -EBUSY;
        }
        if (b->last != OVL_LAST_NORM) {
                return (flags & RENAME_NOREPLACE) ? -EEXIST : -EBUSY;
        }
        int r = ovl_name_lookup(a); /* EROFS, then the old name's lookup */
        if (r < 0 || !ovl_name_exists(a)) {
                return r < 0 ? r : -ENOENT;
        }
        if (b->toolong) {
                return -ENAMETOOLONG;
        }
        bool bx = ovl_name_exists(b), x = flags & RENAME_EXCHANGE;
        if (x && !bx) {
                return -ENOENT;
        }
        if ((flags & RENAME_NOREPLACE) && bx) {
                return -EEXIST;
        }
        if ((x && !ovl_name_dir(b) && b->slash) ||
            (!ovl_name_dir(a) && (a->slash || (!x && b->slash)))) {
                return -ENOTDIR;
        }
        if (b->dead) {
                return -ENOENT; /* may_create in a removed directory */
        }
        const char *ar = a->loc->rel, *br = b->loc->rel;
        if (below(ar, br) || (x && below(br, ar))) {
                return -EINVAL;
        }
        if (below(br, ar)) {
                return -ENOTEMPTY;
        }
        return same_object(a->loc, b->loc);
}

static bool rename_flags_ok(unsigned flags)
{
        const unsigned all = RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT;
        return !(flags & ~all) &&
               !((flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)) && (flags & RENAME_EXCHANGE));
}

/* An outside name (the kernel's): does it exist? 0 when it does not. */
static int outside_exists(int fd, const char *p)
{
        struct ovl_loc *tmp = ovl_sys_scratch(sizeof(*tmp));
        struct stat st;
        int k = tmp ? ovl_at(fd, p, NF, tmp) : -ENOMEM;
        int r = -ENOENT;
        if (k == OVL_OUT) {
                r = ovl_sys_fstatat(AT_FDCWD, tmp->real, &st, AT_SYMLINK_NOFOLLOW);
        } else if (k == OVL_PASS) {
                r = ovl_sys_fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW);
        }
        ovl_sys_scratch_free(tmp, sizeof(*tmp));
        return r == 0;
}

/* Both directory parts outside, MERGED itself one of the names: the kernel
 * looks the old name up before it meets the mount point (EBUSY). */
static int old_outside_exists(const struct two *t)
{
        struct ovl_loc *tmp = ovl_sys_scratch(sizeof(*tmp));
        struct stat st;
        int k = tmp ? ovl_at(t->ofd, t->o, NF, tmp) : -ENOMEM;
        int r = 0;
        if (k == OVL_OUT) {
                r = ovl_sys_fstatat(AT_FDCWD, tmp->real, &st, AT_SYMLINK_NOFOLLOW);
        } else if (k == OVL_PASS) {
                r = ovl_sys_fstatat(t->ofd, t->o, &st, AT_SYMLINK_NOFOLLOW);
        }
        ovl_sys_scratch_free(tmp, sizeof(*tmp));
        return k < 0 ? k : r;
}

/* 1 when the rename concerns an overlay (the answer in *res), 0 when the
 * kernel gets it (t rewritten to real paths where needed). */
static int rename_two(const char *call, struct two *t, unsigned flags, int *res)
{
        const char *orig = t->o;
        if (ovl_at(t->ofd, t->o, NF, &t->a) == OVL_PASS &&
            ovl_at(t->nfd, t->n, NF, &t->b) == OVL_PASS) {
                return 0;
        }
        struct ovl_name na = {.loc = &t->a}, nb = {.loc = &t->b};
        int r = rename_flags_ok(flags) ? 0 : -EINVAL;
        if (r == 0) {
                r = ovl_name_at(t->ofd, t->o, &na);
        }
        if (r == 0) {
                r = ovl_name_at(t->nfd, t->n, &nb);
        }
        if (r == 0 && !na.pm && !nb.pm && na.where != OVL_IN && nb.where != OVL_IN) {
                return pass_two(t, NF | OVL_R_NAME);
        }
        if (r == 0 && !na.pm && !nb.pm && na.where != OVL_IN) {
                r = old_outside_exists(t);
        }
        if (r == 0 && !na.pm && !nb.pm) {
                /* MERGED itself and a name beside it, on the outer fs: the
                 * lookups' answers come before the mount point's EBUSY */
                bool bx = nb.where == OVL_IN || outside_exists(t->nfd, t->n);
                r = (flags & RENAME_NOREPLACE) && bx   ? -EEXIST
                    : (flags & RENAME_EXCHANGE) && !bx ? -ENOENT
                                                       : -EBUSY;
        }
        if (r == 0) {
                r = rename_order(&na, &nb, flags);
        }
        bool dirs = S_ISDIR(t->a.st.st_mode) || (t->b.layer >= 0 && S_ISDIR(t->b.st.st_mode));
        if (r == 0) {
                r = ovl_rename(ovl_active(), &t->a, &t->b, flags);
        }
        if (r == 0 && dirs) {
                ovl_cwd_dir_moved();
        }
        *res = done(call, orig, r == 1 ? 0 : r, &t->a, r == 1 ? 0 : r);
        return 1;
}

/* The old name of a link is looked up whole (filename_lookup), outside by
 * the kernel. */
static int link_old(struct two *t, int k, int orf, struct ovl_mount **om)
{
        struct stat st;
        int fl = (orf & NF) ? AT_SYMLINK_NOFOLLOW : 0;
        *om = NULL;
        if (k == OVL_IN) {
                *om = t->a.m;
                return t->a.layer < 0 ? -ENOENT : 0;
        }
        if (k == OVL_OUT) {
                return ovl_sys_fstatat(AT_FDCWD, t->a.real, &st, fl);
        }
        int r = ovl_sys_fstatat(t->ofd, t->o, &st, fl | ((orf & OVL_R_EMPTY) ? AT_EMPTY_PATH : 0));
        /* a removed directory of an overlay itself ("." of a dead cwd or dirfd)
         * is still on the overlay's mount: EPERM for a directory, not EXDEV */
        *om = r == 0 ? ovl_base_dead(t->ofd, t->o) : NULL;
        return r;
}

/* do_linkat: the old name, then filename_create for the new one, then the
 * mount, then the object (a directory: EPERM, in the core). */
static int link_two(const char *call, struct two *t, int orf, int *res)
{
        const char *orig = t->o;
        int k = ovl_at(t->ofd, t->o, orf, &t->a);
        if (k == OVL_PASS && ovl_at(t->nfd, t->n, NF, &t->b) == OVL_PASS) {
                return 0;
        }
        struct ovl_mount *om = NULL;
        int r = k < 0 ? k : link_old(t, k, orf, &om);
        struct ovl_name nb = {.loc = &t->b};
        if (r == 0) {
                r = ovl_name_at(t->nfd, t->n, &nb);
        }
        if (r == 0 && !om && !nb.pm && nb.where != OVL_IN) {
                return pass_two(t, orf);
        }
        if (r == 0) {
                r = ovl_name_create(&nb, false);
        }
        if (r == 0 && nb.where != OVL_IN && outside_exists(t->nfd, t->n)) {
                r = -EEXIST; /* filename_create on the outer fs, before the mount check */
        }
        if (r == 0 && om != nb.pm) {
                r = -EXDEV;
        }
        if (r == 0) {
                r = k == OVL_PASS && om ? ovl_link_removed_dir(ovl_active(), &t->b)
                                        : ovl_link(ovl_active(), &t->a, &t->b);
        }
        *res = done(call, orig, k < 0 ? k : 0, &t->a, r);
        return 1;
}

/* Only the names are set: the resolutions are filled by the calls. */
static void two_init(struct two *t, int ofd, const char *o, int nfd, const char *n)
{
        t->ofd = ofd;
        t->o = o;
        t->nfd = nfd;
        t->n = n;
}

OVL_EXPORT int rename(const char *o, const char *n)
{
        struct two t;
        two_init(&t, AT_FDCWD, o, AT_FDCWD, n);
        int res;
        if (rename_two("rename", &t, 0, &res)) {
                return res;
        }
        return t.ofd == AT_FDCWD && t.nfd == AT_FDCWD ? REAL(rename)(t.o, t.n)
                                                      : REAL(renameat)(t.ofd, t.o, t.nfd, t.n);
}

OVL_EXPORT int renameat(int ofd, const char *o, int nfd, const char *n)
{
        struct two t;
        two_init(&t, ofd, o, nfd, n);
        int res;
        if (rename_two("renameat", &t, 0, &res)) {
                return res;
        }
        return REAL(renameat)(t.ofd, t.o, t.nfd, t.n);
}

OVL_EXPORT int renameat2(int ofd, const char *o, int nfd, const char *n, unsigned flags)
{
        struct two t;
        two_init(&t, ofd, o, nfd, n);
        int res;
        if (rename_two("renameat2", &t, flags, &res)) {
                return res;
        }
        return REAL(renameat2)(t.ofd, t.o, t.nfd, t.n, flags);
}

OVL_EXPORT int link(const char *o, const char *n)
{
        struct two t;
        two_init(&t, AT_FDCWD, o, AT_FDCWD, n);
        int res;
        if (link_two("link", &t, NF, &res)) {
                return res;
        }
        return REAL(linkat)(t.ofd, t.o, t.nfd, t.n, 0);
}

OVL_EXPORT int linkat(int ofd, const char *o, int nfd, const char *n, int flags)
{
        int orf =
            ((flags & AT_SYMLINK_FOLLOW) ? 0 : NF) | ((flags & AT_EMPTY_PATH) ? OVL_R_EMPTY : 0);
        struct two t;
        two_init(&t, ofd, o, nfd, n);
        int res;
        if (!(flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) && link_two("linkat", &t, orf, &res)) {
                return res;
        }
        return REAL(linkat)(t.ofd, t.o, t.nfd, t.n, flags);
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

/* An fd on a lower-only directory (the lower one, or the shadow of a cwd) whose merged
 * directory was removed: a change has its own answer (cwd.c ovl_dead_dir_change). */
static bool fd_dead_lower_dir(int fd, char *fdv, int layer)
{
        struct stat st;
        if ((layer != -2 && layer <= 0) || ovl_sys_fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
                return false;
        }
        ovl_strip_deleted(fdv); /* a shadow this process removed itself */
        return ovl_shadow_gone(fdv);
}

/* Does the merged parent of `fdv` still show the directory of layer `layer`
 * it was opened in (not removed, nor replaced by a new, opaque one)? */
static bool parent_shows(const char *fdv, int layer)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s", fdv);
        char *slash = strrchr(p, '/');
        if (!slash) {
                return false;
        }
        *(slash == p ? slash + 1 : slash) = '\0';
        struct ovl_loc *ploc = malloc(sizeof(*ploc));
        bool shows = false;
        if (ploc && ovl_resolve(ovl_active(), NULL, p, NF, ploc) == OVL_IN && ploc->layer >= 0 &&
            S_ISDIR(ploc->st.st_mode)) {
                for (int i = 0; i < ploc->nstack && !shows; i++) {
                        shows = ploc->stack[i] == layer;
                }
        }
        free(ploc);
        return shows;
}

/* Is the name the fd's lower object was opened under (fdv, in layer
 * `layer`) still that object's? It may have lost it since (unlinked: a
 * whiteout; replaced by another object). The kernel copies the fd's own inode
 * up to that name: a regular file as an O_TMPFILE linked there, which meets
 * whatever holds the name now (the whiteout, the other object) with EEXIST;
 * when the parent directory went away (even if made again) it finds no
 * parent to copy up into: ENOENT. The shim must never change another object:
 * a lower object other than the fd's, or an object of another type, answers
 * EEXIST as well. An upper object of the same type is taken for the fd's own
 * copy-up (made by another process: this process's fds are moved onto the
 * copies it makes); without an origin record the shim cannot tell it from a
 * replacement. Not matched: the kernel's checks of permission on the fd's
 * inode come before its EEXIST; other types (devices, fifos) are copied up
 * through a rename, which puts them back under the old name, or meet a
 * removed parent with EIO: ENOENT here. */
static int fd_still_named(int fd, const char *fdv, int layer, const struct ovl_loc *loc)
{
        struct stat st;
        if (ovl_sys_fstat(fd, &st) < 0) {
                return 0;
        }
        if (loc->layer < 0) {
                return S_ISREG(st.st_mode) && parent_shows(fdv, layer) ? -EEXIST : -ENOENT;
        }
        if (loc->layer > 0) {
                return loc->st.st_dev == st.st_dev && loc->st.st_ino == st.st_ino ? 0 : -EEXIST;
        }
        return (loc->st.st_mode & S_IFMT) == (st.st_mode & S_IFMT) ? 0 : -EEXIST;
}

/* The object of an fd on a lower object whose merged name is gone (unlinked,
 * or its directory removed): loc names it in its own layer. The kernel still
 * checks a change of it, then its copy-up fails. */
static bool fd_object(int fd, struct ovl_mount *m, const char *fdv, int layer, struct ovl_loc *loc)
{
        size_t n = strlen(fdv);
        if (layer < 1 || n < m->merged_len || ovl_sys_fstat(fd, &loc->st) < 0) {
                return false;
        }
        const char *rel = fdv + m->merged_len;
        rel += *rel == '/';
        memmove(loc->rel, rel, strlen(rel) + 1);
        loc->m = m;
        loc->layer = layer;
        loc->nstack = 0;
        return true;
}

/* The answer for an fd whose merged name is gone or taken (k): the change's own check
 * (chk) first, then k; chk may answer 1 for a change that succeeds doing nothing. */
static int fd_gone_answer(int k, int chk)
{
        return chk < 0 ? chk : (chk == 1 ? 0 : k);
}

/* A shadow fd is the kernel's, unless a change meets it removed (as one on a lower).
 * chg: a change (a removed lower-only directory has its own answer; rmx: the xattr a
 * removal names, see ovl_dead_dir_change; with a record, dop changes that, as loc);
 * named: check fd_still_named before op (ftruncate and fremovexattr check something of
 * their own first, then call it themselves). */
#define FD_OP_(call, fd, chg, named, rmx, pass, op, dop, chk)                                      \
        do {                                                                                       \
                char fdv[PATH_MAX];                                                                \
                int layer = 0;                                                                     \
                struct ovl_mount *fm = ovl_fd_merged(fd, fdv, sizeof(fdv), &layer);                \
                bool mine = fm && layer != 0 && fd_can_change(fd);                                 \
                bool dead_dir = mine && (chg) && fd_dead_lower_dir(fd, fdv, layer);                \
                if (!mine || (layer == -2 && !dead_dir)) {                                         \
                        return pass;                                                               \
                }                                                                                  \
                struct ovl_loc loc;                                                                \
                struct ovl_config *cfg = ovl_active();                                             \
                if (dead_dir && ovl_dead_record_loc(fdv, &loc)) {                                  \
                        return done(call, fdv, OVL_IN, &loc, (dop));                               \
                }                                                                                  \
                if (dead_dir) {                                                                    \
                        return dead_answer(call, fdv, ovl_dead_dir_change(fdv, rmx));              \
                }                                                                                  \
                int k = ovl_resolve(cfg, NULL, fdv, NF | OVL_R_HELD, &loc);                        \
                int gn = k < 0 ? k : (k != OVL_IN ? -ENOENT : 0);                                  \
                if (gn == 0 && (named)) {                                                          \
                        gn = fd_still_named(fd, fdv, layer, &loc);                                 \
                }                                                                                  \
                if ((gn == -ENOENT || gn == -ENOTDIR || gn == -EEXIST) &&                          \
                    fd_object(fd, fm, fdv, layer, &loc)) {                                         \
                        int r = fd_gone_answer(gn == -EEXIST ? gn : -ENOENT, (chk));               \
                        return done(call, fdv, r, &loc, r);                                        \
                }                                                                                  \
                return done(call, fdv, k, &loc, gn < 0 ? gn : (op));                               \
        } while (0)

/* an fd op that changes attributes */
#define FD_CHANGE(call, fd, pass, op, chk) FD_OP_(call, fd, true, true, NULL, pass, op, op, chk)

OVL_EXPORT int fchmod(int fd, mode_t mode)
{
        FD_CHANGE("fchmod", fd, outside_mode(REAL(fchmod)(fd, mode)), ovl_chmod(cfg, &loc, mode),
                  ovl_chmod_check(&loc));
}

OVL_EXPORT int fchown(int fd, uid_t u, gid_t g)
{
        FD_CHANGE("fchown", fd, REAL(fchown)(fd, u, g), ovl_chown(cfg, &loc, u, g),
                  ovl_chown_check(&loc, u, g));
}

OVL_EXPORT int futimens(int fd, const struct timespec t[2])
{
        FD_CHANGE("futimens", fd, REAL(futimens)(fd, t), ovl_utimens(cfg, &loc, t),
                  ovl_utimens_check(&loc, t));
}

OVL_EXPORT int futimes(int fd, const struct timeval t[2])
{
        FD_CHANGE("futimes", fd, REAL(futimes)(fd, t), utimes_loc(cfg, &loc, t),
                  utimes_check(&loc, t));
}

/* A name in an overlay namespace set or removed through an fd on an upper
 * object is escaped as one by path is (rule 62): the name stored on disk in
 * dn, 1; 0 for any other name or fd; or -errno for a name of the overlay's
 * own. Other names cost no look at the fd. */
static int fd_xattr_name(int fd, const char *n, char *dn, size_t cap)
{
        char fdv[PATH_MAX];
        int layer = -1;
        if (!n || !ovl_xattr_private(n) || !ovl_fd_merged(fd, fdv, sizeof(fdv), &layer) ||
            layer != 0) {
                return 0;
        }
        int r = ovl_xattr_disk_name(n, dn, cap);
        return r < 0 ? r : 1;
}

OVL_EXPORT int fsetxattr(int fd, const char *n, const void *v, size_t s, int f)
{
        char dn[XATTR_NAME_MAX + 16];
        int e = fd_xattr_name(fd, n, dn, sizeof(dn));
        if (e < 0) {
                return (int)ovl_ret(e);
        }
        FD_CHANGE("fsetxattr", fd, REAL(fsetxattr)(fd, e ? dn : n, v, s, f),
                  ovl_setxattr(cfg, &loc, n, v, s, f), ovl_xattr_check(&loc, n, v ? v : "", s));
}

/* A missing xattr is ENODATA before any copy-up (rule 1.B), so before the
 * fd's name is asked for (the fd is on a lower object here, where an
 * ordinary name is stored as it is). */
static int fremovexattr_loc(struct ovl_config *cfg, struct ovl_loc *loc, int fd, const char *fdv,
                            int layer, const char *n)
{
        int r = n && !ovl_xattr_private(n) && ovl_sys_fgetxattr(fd, n, NULL, 0) == -ENODATA
                    ? -ENODATA
                    : fd_still_named(fd, fdv, layer, loc);
        return r < 0 ? r : ovl_removexattr(cfg, loc, n);
}

OVL_EXPORT int fremovexattr(int fd, const char *n)
{
        char dn[XATTR_NAME_MAX + 16];
        int e = fd_xattr_name(fd, n, dn, sizeof(dn));
        if (e < 0) {
                return (int)ovl_ret(e);
        }
        FD_OP_("fremovexattr", fd, true, false, n, REAL(fremovexattr)(fd, e ? dn : n),
               fremovexattr_loc(cfg, &loc, fd, fdv, layer, n), ovl_removexattr(cfg, &loc, n),
               ovl_xattr_check(&loc, n, NULL, 0));
}

/* A read-only fd cannot be truncated: EINVAL, which the kernel answers before
 * anything else (even when the fd's name is gone since). */
static int ftruncate_fd_check(int fd)
{
        int fl = ovl_sys_fcntl(fd, F_GETFL, 0);
        return fl >= 0 && (fl & O_ACCMODE) == O_RDONLY ? -EINVAL : 0;
}

/* A writable fd on a lower file was opened behind the overlay's back: truncate
 * its copy. */
static int ftruncate_loc(struct ovl_config *cfg, struct ovl_loc *loc, int fd, const char *fdv,
                         int layer, off_t len)
{
        int r = ftruncate_fd_check(fd);
        if (r < 0) {
                return r;
        }
        r = fd_still_named(fd, fdv, layer, loc);
        return r < 0 ? r : ovl_truncate(cfg, loc, len);
}

OVL_EXPORT int ftruncate(int fd, off_t len)
{
        FD_OP_("ftruncate", fd, false, false, NULL, REAL(ftruncate)(fd, len),
               ftruncate_loc(cfg, &loc, fd, fdv, layer, len), -EISDIR, ftruncate_fd_check(fd));
}

OVL_EXPORT int ftruncate64(int fd, off64_t len)
{
        FD_OP_("ftruncate64", fd, false, false, NULL, REAL(ftruncate64)(fd, len),
               ftruncate_loc(cfg, &loc, fd, fdv, layer, len), -EISDIR, ftruncate_fd_check(fd));
}

static int utimensat_fd(int fd, const struct timespec t[2], int flags)
{
        /* glibc's futimens is this call with a NULL path */
        FD_CHANGE("utimensat", fd, REAL(futimens)(fd, t), ovl_utimens(cfg, &loc, t),
                  ovl_utimens_check(&loc, t));
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
        if (t && t[0].tv_nsec == UTIME_OMIT && t[1].tv_nsec == UTIME_OMIT) {
                return 0; /* the kernel does not even look at the path */
        }
        if (!p) {
                return utimensat_fd(fd, t, flags);
        }
        CHANGE("utimensat", fd, p, at_flags(flags), REAL(utimensat)(fd, p, t, flags),
               REAL(utimensat)(AT_FDCWD, real_path, t, flags & ~AT_EMPTY_PATH),
               ovl_utimens(cfg, &loc, t));
}
#pragma GCC diagnostic pop
