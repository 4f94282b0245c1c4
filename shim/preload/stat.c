/* The stat and access families, in every spelling glibc 2.36 exports. */
#include "preload.h"
#include "sys.h"

#include <string.h>
#include <sys/sysmacros.h>

static int stat_rflags(int flags)
{
        return ((flags & AT_SYMLINK_NOFOLLOW) ? OVL_R_NOFOLLOW : 0) |
               ((flags & AT_EMPTY_PATH) ? OVL_R_EMPTY : 0);
}

/* "." of a dirfd on a lower directory whose merged one this process copied up and
 * removed: the removed copy's mode and owner, as fstat gives (ovl_removed_dir_attrs). */
static bool removed_lower_self(int dirfd, const char *path, struct stat *st)
{
        char v[PATH_MAX];
        int layer = -1;
        struct ovl_mount *m;
        return dirfd != AT_FDCWD && path[0] && ovl_dots_only(path) &&
               ovl_sys_fstat(dirfd, st) == 0 && S_ISDIR(st->st_mode) &&
               (m = ovl_fd_merged(dirfd, v, sizeof(v), &layer)) && layer > 0 &&
               ovl_removed_dir_attrs(m, st);
}

/* true when the overlay answered (result in *res); false: pass through. */
static bool stat_in(const char *call, int dirfd, const char *path, int flags, struct stat *st,
                    int *res)
{
        struct ovl_loc loc;
        int k = ovl_at(dirfd, path, stat_rflags(flags), &loc);
        if (k == OVL_PASS && path &&
            (ovl_dead_shadow_stat(dirfd, path, st) || removed_lower_self(dirfd, path, st))) {
                *res = 0;
                return true;
        }
        if (k == OVL_PASS) {
                return false;
        }
        if (k == OVL_OUT) {
                *res = REAL(fstatat)(AT_FDCWD, loc.real, st, flags & ~AT_EMPTY_PATH);
                return true;
        }
        int r = k;
        if (k == OVL_IN) {
                r = loc.layer < 0 ? -ENOENT : 0;
        }
        if (r == 0) {
                ovl_loc_stat(&loc, st);
        }
        ovl_log(call, path, k < 0 ? NULL : &loc, r);
        *res = (int)ovl_ret(r);
        return true;
}

/* An fd on a merged directory reports the directory's merged identity; one
 * held on a lower directory since copied up (a higher layer holds it now)
 * reports the copy's attributes, as the kernel's fd on the overlay inode. */
static void fix_fd_identity(int fd, struct stat *st)
{
        char v[PATH_MAX];
        int layer = -1;
        struct ovl_mount *m;
        if (!S_ISDIR(st->st_mode) || !ovl_active() || !ovl_dev_relevant(st->st_dev) ||
            !(m = ovl_fd_merged(fd, v, sizeof(v), &layer))) {
                return;
        }
        if (layer == -2 && ovl_dead_shadow_stat(fd, ".", st)) {
                return; /* a removed lower-only directory: the lower it stood for */
        }
        struct ovl_loc loc;
        /* one on a lower directory removed since, its name made again: still the lower */
        if (ovl_resolve(ovl_active(), NULL, v, OVL_R_NOFOLLOW | OVL_R_HELD, &loc) != OVL_IN ||
            loc.layer < 0 || !S_ISDIR(loc.st.st_mode) ||
            (layer > 0 && loc.rel[0] && loc.top_lower < 0)) {
                /* removed after a copy-up: the copy's attributes (its record, or what this
                 * process saw). Asked only here, so an fd on a live directory pays nothing. */
                if (layer > 0) {
                        ovl_removed_dir_attrs(m, st);
                }
                return;
        }
        struct stat ms;
        ovl_loc_stat(&loc, &ms);
        if (layer > 0 && loc.layer < layer) {
                *st = ms;
                return;
        }
        st->st_dev = ms.st_dev;
        st->st_ino = ms.st_ino;
        st->st_nlink = ms.st_nlink;
}

#define STAT_AT(call, dirfd, path, flags, st, pass)                                                \
        do {                                                                                       \
                int res;                                                                           \
                if (stat_in(call, dirfd, path, flags, (struct stat *)(st), &res)) {                \
                        return res;                                                                \
                }                                                                                  \
                return pass;                                                                       \
        } while (0)

OVL_EXPORT int stat(const char *path, struct stat *st)
{
        STAT_AT("stat", AT_FDCWD, path, 0, st, REAL(stat)(path, st));
}

OVL_EXPORT int stat64(const char *path, struct stat64 *st)
{
        STAT_AT("stat64", AT_FDCWD, path, 0, st, REAL(stat64)(path, st));
}

OVL_EXPORT int lstat(const char *path, struct stat *st)
{
        STAT_AT("lstat", AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, st, REAL(lstat)(path, st));
}

OVL_EXPORT int lstat64(const char *path, struct stat64 *st)
{
        STAT_AT("lstat64", AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, st, REAL(lstat64)(path, st));
}

OVL_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
        STAT_AT("fstatat", dirfd, path, flags, st, REAL(fstatat)(dirfd, path, st, flags));
}

OVL_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
        STAT_AT("fstatat64", dirfd, path, flags, st, REAL(fstatat64)(dirfd, path, st, flags));
}

OVL_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
        STAT_AT("__xstat", AT_FDCWD, path, 0, st, REAL(__xstat)(ver, path, st));
}

OVL_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
        STAT_AT("__xstat64", AT_FDCWD, path, 0, st, REAL(__xstat64)(ver, path, st));
}

OVL_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
        STAT_AT("__lxstat", AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, st, REAL(__lxstat)(ver, path, st));
}

OVL_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
        STAT_AT("__lxstat64", AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, st,
                REAL(__lxstat64)(ver, path, st));
}

OVL_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
        STAT_AT("__fxstatat", dirfd, path, flags, st,
                REAL(__fxstatat)(ver, dirfd, path, st, flags));
}

OVL_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
        STAT_AT("__fxstatat64", dirfd, path, flags, st,
                REAL(__fxstatat64)(ver, dirfd, path, st, flags));
}

OVL_EXPORT int fstat(int fd, struct stat *st)
{
        int r = REAL(fstat)(fd, st);
        if (r == 0) {
                fix_fd_identity(fd, st);
        }
        return r;
}

OVL_EXPORT int fstat64(int fd, struct stat64 *st)
{
        int r = REAL(fstat64)(fd, st);
        if (r == 0) {
                fix_fd_identity(fd, (struct stat *)st);
        }
        return r;
}

OVL_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
        int r = REAL(__fxstat)(ver, fd, st);
        if (r == 0) {
                fix_fd_identity(fd, st);
        }
        return r;
}

OVL_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
        int r = REAL(__fxstat64)(ver, fd, st);
        if (r == 0) {
                fix_fd_identity(fd, (struct stat *)st);
        }
        return r;
}

static void statx_identity(const struct ovl_loc *loc, struct statx *sx)
{
        struct stat ms;
        ovl_loc_stat(loc, &ms);
        sx->stx_ino = ms.st_ino;
        sx->stx_dev_major = major(ms.st_dev);
        sx->stx_dev_minor = minor(ms.st_dev);
        sx->stx_nlink = (unsigned)ms.st_nlink;
}

OVL_EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *sx)
{
        struct ovl_loc loc;
        int k = ovl_at(dirfd, path, stat_rflags(flags), &loc);
        if (k == OVL_PASS) {
                return REAL(statx)(dirfd, path, flags, mask, sx);
        }
        if (k == OVL_OUT) {
                return REAL(statx)(AT_FDCWD, loc.real, flags & ~AT_EMPTY_PATH, mask, sx);
        }
        int r = k < 0 ? k : (loc.layer < 0 ? -ENOENT : 0);
        if (r == 0) {
                int fl = (flags & ~AT_EMPTY_PATH) | AT_SYMLINK_NOFOLLOW;
                r = REAL(statx)(ovl_loc_fd(&loc), ovl_loc_relpath(&loc), fl, mask, sx);
                r = r < 0 ? -errno : 0;
        }
        if (r == 0) {
                statx_identity(&loc, sx);
        }
        ovl_log("statx", path, k < 0 ? NULL : &loc, r);
        return (int)ovl_ret(r);
}

/* --- access ------------------------------------------------------------------ */

static int access_in(const char *call, int dirfd, const char *path, int mode, int flags, int *res)
{
        struct ovl_loc loc;
        int k = ovl_at(dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? OVL_R_NOFOLLOW : 0, &loc);
        if (k == OVL_PASS) {
                return 0;
        }
        if (k == OVL_OUT) {
                *res = REAL(faccessat)(AT_FDCWD, loc.real, mode, flags);
                return 1;
        }
        int r = k < 0 ? k : (loc.layer < 0 ? -ENOENT : 0);
        bool special = S_ISFIFO(loc.st.st_mode) || S_ISCHR(loc.st.st_mode) ||
                       S_ISBLK(loc.st.st_mode) || S_ISSOCK(loc.st.st_mode);
        if (r == 0 && (mode & W_OK) && !loc.m->layers[0].path && !special) {
                r = -EROFS; /* a read-only overlay, as a read-only mount says */
        }
        if (r == 0) {
                /* a removed copy kept as a record has the mode asked (ovlshim.h) */
                r = ovl_sys_faccessat(ovl_loc_attr_fd(&loc), ovl_loc_attr_rel(&loc), mode,
                                      (flags & AT_EACCESS) | AT_SYMLINK_NOFOLLOW);
        }
        ovl_log(call, path, k < 0 ? NULL : &loc, r);
        *res = (int)ovl_ret(r);
        return 1;
}

OVL_EXPORT int access(const char *path, int mode)
{
        int res;
        return access_in("access", AT_FDCWD, path, mode, 0, &res) ? res : REAL(access)(path, mode);
}

OVL_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
        int res;
        return access_in("faccessat", dirfd, path, mode, flags, &res)
                   ? res
                   : REAL(faccessat)(dirfd, path, mode, flags);
}

OVL_EXPORT int euidaccess(const char *path, int mode)
{
        int res;
        return access_in("euidaccess", AT_FDCWD, path, mode, AT_EACCESS, &res)
                   ? res
                   : REAL(euidaccess)(path, mode);
}

OVL_EXPORT int eaccess(const char *path, int mode)
{
        int res;
        return access_in("eaccess", AT_FDCWD, path, mode, AT_EACCESS, &res)
                   ? res
                   : REAL(eaccess)(path, mode);
}
