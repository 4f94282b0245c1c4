/* Changes to an object's attributes and the write-open (SEMANTICS.md rule 34):
 * the object is copied up (data included, metacopy=off), then changed in the
 * upper. A call that fails its permission check is refused before the
 * copy-up, so it leaves no copy behind. */
#include "markers.h"
#include "sys.h"
#include "write.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int owner_or_root(const struct ovl_loc *loc)
{
        uid_t e = ovl_sys_geteuid();
        return e == 0 || e == loc->st.st_uid ? 0 : -EPERM;
}

static int ufd_of(struct ovl_loc *loc)
{
        return ovl_loc_has_record(loc) ? AT_FDCWD : ovl_layer_fd(&loc->m->layers[0]);
}

/* The object's path from ufd_of, or from lfd_of before a copy-up. */
static const char *relp(const struct ovl_loc *loc)
{
        return ovl_loc_attr_rel(loc);
}

/* The layer the object is in now, for checks before a copy-up. */
static int lfd_of(const struct ovl_loc *loc)
{
        return ovl_loc_has_record(loc) ? AT_FDCWD : ovl_layer_fd(&loc->m->layers[loc->layer]);
}

/* The order of the kernel's answers: no such object, read-only, then the
 * caller's own permission check, and only then a copy-up. 1: a removed
 * directory (loc->dead), whose copy-up the kernel makes where no name leads
 * to it: the change succeeds and reaches nothing the overlay shows. */
static int copy_up_checked(struct ovl_config *cfg, struct ovl_loc *loc, int check, bool data)
{
        if (loc->layer < 0) {
                return -ENOENT;
        }
        if (!loc->m->layers[0].path) {
                return -EROFS;
        }
        if (check < 0) {
                return check;
        }
        if (loc->dead) {
                return ovl_loc_has_record(loc) ? 0 : 1;
        }
        return ovl_copy_up(cfg, loc, data);
}

/* After copy_up_checked gave r != 0: its error, or success with nothing done. */
static int settled(int r)
{
        return r < 0 ? r : 0;
}

/* Whether the caller is in the initial user namespace, whose file systems
 * the layers are on: a capability held in another one does not count there. */
static bool init_userns(void)
{
        static int known; /* 0 unknown, 1 yes, 2 no */
        if (!known) {
                char m[256];
                unsigned a = 1, b = 1, c = 0;
                ssize_t n = ovl_sys_read_file("/proc/self/uid_map", m, sizeof(m));
                bool y = n < 0 || (sscanf(m, "%u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 &&
                                   c == 4294967295U);
                known = y ? 1 : 2;
        }
        return known == 1;
}

/* cap_convert_nscap(): the value must be a v2 or v3 header, exactly sized */
static bool cap_header_valid(const void *val, size_t size)
{
        if (size != 20 && size != 24) {
                return false;
        }
        const unsigned char *v = val;
        unsigned m = (unsigned)v[0] | (unsigned)v[1] << 8 | (unsigned)v[2] << 16 |
                     (unsigned)v[3] << 24; /* magic_etc, little-endian */
        return (m & ~1U) == (size == 20 ? 0x02000000U : 0x03000000U);
}

/* security.*, which xattr_permission() leaves to the security module, and
 * which the kernel refuses before it looks at the object (so before a
 * copy-up): security.capability needs CAP_SETFCAP (a value, once
 * cap_convert_nscap() found it well-formed, EINVAL before that; an empty one
 * is not checked), any other name CAP_SYS_ADMIN (cap_inode_setxattr,
 * cap_inode_removexattr). val NULL: a removal. */
static int security_check(const char *name, const void *val, size_t size)
{
        if (!strcmp(name, "security.capability")) {
                if (val && size == 0) {
                        return 0;
                }
                if (val && !cap_header_valid(val, size)) {
                        return -EINVAL;
                }
                return ovl_sys_cap_effective(31 /* CAP_SETFCAP */) ? 0 : -EPERM;
        }
        return ovl_sys_cap_effective(21 /* CAP_SYS_ADMIN */) && init_userns() ? 0 : -EPERM;
}

/* xattr_permission(): trusted.* needs privilege, user.* write access on a
 * regular file or directory (a sticky dir: its owner), security.* the
 * capability security_check() names; system.* is left to the kernel after
 * the copy-up. */
static int xattr_check(const struct ovl_loc *loc, const char *name, const void *val, size_t size)
{
        uid_t e = ovl_sys_geteuid();
        if (!strncmp(name, "trusted.", 8)) {
                return e == 0 ? 0 : -EPERM;
        }
        if (!strncmp(name, "security.", 9)) {
                return security_check(name, val, size);
        }
        if (strncmp(name, "user.", 5)) {
                return 0;
        }
        mode_t m = loc->st.st_mode;
        if (!S_ISREG(m) && !S_ISDIR(m)) {
                return -EPERM;
        }
        if (S_ISDIR(m) && (m & S_ISVTX) && e != 0 && e != loc->st.st_uid) {
                return -EPERM;
        }
        int fd = lfd_of(loc);
        int r = ovl_sys_faccessat(fd, relp(loc), W_OK, AT_EACCESS);
        return r == -EROFS && loc->layer > 0 ? 0 : r;
}

int ovl_chmod_check(const struct ovl_loc *loc)
{
        return S_ISLNK(loc->st.st_mode) ? -EOPNOTSUPP : owner_or_root(loc);
}

int ovl_chmod(struct ovl_config *cfg, struct ovl_loc *loc, mode_t mode)
{
        int r = loc->layer >= 0 ? ovl_chmod_check(loc) : 0;
        r = copy_up_checked(cfg, loc, r, true);
        return r != 0 ? settled(r) : ovl_sys_fchmodat(ufd_of(loc), relp(loc), mode);
}

int ovl_chown_check(const struct ovl_loc *loc, uid_t u, gid_t g)
{
        uid_t e = ovl_sys_geteuid();
        if (e == 0) {
                return 0;
        }
        if (u != (uid_t)-1 && u != loc->st.st_uid) {
                return -EPERM;
        }
        return g != (gid_t)-1 && g != loc->st.st_gid && e != loc->st.st_uid ? -EPERM : 0;
}

int ovl_chown(struct ovl_config *cfg, struct ovl_loc *loc, uid_t u, gid_t g)
{
        int r = loc->layer >= 0 ? ovl_chown_check(loc, u, g) : 0;
        r = copy_up_checked(cfg, loc, r, true);
        return r != 0 ? settled(r)
                      : ovl_sys_fchownat(ufd_of(loc), relp(loc), u, g, AT_SYMLINK_NOFOLLOW);
}

/* Explicit times need ownership; "now" needs ownership or write access. */
static int utimens_check(const struct ovl_loc *loc, const struct timespec *ts)
{
        bool now = !ts || (ts[0].tv_nsec == UTIME_NOW && ts[1].tv_nsec == UTIME_NOW);
        if (owner_or_root(loc) == 0) {
                return 0;
        }
        if (!now) {
                return -EPERM;
        }
        int fd = lfd_of(loc);
        return ovl_sys_faccessat(fd, relp(loc), W_OK, AT_EACCESS) == 0 ? 0 : -EACCES;
}

int ovl_utimens_check(const struct ovl_loc *loc, const struct timespec *ts)
{
        if (ts && ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT) {
                return 1;
        }
        return utimens_check(loc, ts);
}

int ovl_utimens(struct ovl_config *cfg, struct ovl_loc *loc, const struct timespec *ts)
{
        if (ts && ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT) {
                return 0; /* utimensat answers before it looks at the path */
        }
        int r = loc->layer >= 0 ? utimens_check(loc, ts) : 0;
        r = copy_up_checked(cfg, loc, r, true);
        return r != 0 ? settled(r)
                      : ovl_sys_utimensat(ufd_of(loc), relp(loc), ts, AT_SYMLINK_NOFOLLOW);
}

static int write_check(const struct ovl_loc *loc)
{
        int fd = lfd_of(loc);
        int r = ovl_sys_faccessat(fd, relp(loc), W_OK, AT_EACCESS);
        return r == -EROFS && loc->layer > 0 ? 0 : r;
}

int ovl_truncate(struct ovl_config *cfg, struct ovl_loc *loc, off_t len)
{
        if (loc->layer >= 0 && S_ISDIR(loc->st.st_mode)) {
                return -EISDIR;
        }
        if (loc->layer >= 0 && !S_ISREG(loc->st.st_mode)) {
                return -EINVAL; /* a fifo or device: opening it for the truncate would block */
        }
        if (len < 0) {
                return -EINVAL;
        }
        int r = loc->layer >= 0 ? write_check(loc) : 0;
        r = copy_up_checked(cfg, loc, r, len > 0);
        if (r > 0) {
                return 0;
        }
        int fd = r < 0 ? r : ovl_sys_openat(ufd_of(loc), relp(loc), O_WRONLY | O_CLOEXEC, 0);
        if (fd < 0) {
                return fd;
        }
        r = ovl_sys_ftruncate(fd, len);
        ovl_sys_close(fd);
        return r;
}

/* The name stored on disk: the overlay's own namespaces are escaped (rule 62). */
int ovl_xattr_disk_name(const char *name, char *buf, size_t cap)
{
        static const char *const ns[] = {"trusted.overlay.", "user.overlay."};
        for (size_t i = 0; i < 2; i++) {
                size_t pl = strlen(ns[i]);
                if (!strncmp(name, ns[i], pl)) {
                        int n = snprintf(buf, cap, "%soverlay.%s", ns[i], name + pl);
                        return n > 0 && (size_t)n < cap ? 0 : -ERANGE;
                }
        }
        if (ovl_xattr_private(name)) {
                return -EPERM;
        }
        return snprintf(buf, cap, "%s", name) < (int)cap ? 0 : -ERANGE;
}

int ovl_xattr_check(const struct ovl_loc *loc, const char *name, const void *val, size_t size)
{
        char dn[XATTR_NAME_MAX + 16];
        int r = ovl_xattr_disk_name(name, dn, sizeof(dn));
        return r < 0 ? r : xattr_check(loc, name, val, size);
}

int ovl_setxattr(struct ovl_config *cfg, struct ovl_loc *loc, const char *name, const void *val,
                 size_t size, int flags)
{
        char dn[XATTR_NAME_MAX + 16];
        int r = ovl_xattr_disk_name(name, dn, sizeof(dn));
        if (r == 0 && loc->layer >= 0) {
                r = xattr_check(loc, name, val ? val : "", size);
        }
        r = copy_up_checked(cfg, loc, r, true);
        if (r != 0) {
                return settled(r);
        }
        return ovl_sys_setxattrat_flags(ufd_of(loc), relp(loc), dn, val, size, flags);
}

int ovl_removexattr(struct ovl_config *cfg, struct ovl_loc *loc, const char *name)
{
        char dn[XATTR_NAME_MAX + 16];
        int r = ovl_xattr_disk_name(name, dn, sizeof(dn));
        if (loc->layer >= 0 && !loc->m->layers[0].path) {
                return -EROFS;
        }
        if (r == 0 && loc->layer >= 0) {
                r = xattr_check(loc, name, NULL, 0);
        }
        if (r == 0 && loc->layer > 0) { /* a missing xattr copies nothing (rule 35) */
                int fd = lfd_of(loc);
                ssize_t n = ovl_sys_getxattrat(fd, relp(loc), dn, NULL, 0);
                r = n < 0 ? (int)n : 0;
        }
        r = copy_up_checked(cfg, loc, r, true);
        return r != 0 ? settled(r) : ovl_sys_removexattrat(ufd_of(loc), relp(loc), dn);
}

/* open(2) for writing of an existing object: regular files (and symlinks
 * being opened O_PATH aside) are copied up; O_TRUNC skips the data. */
int ovl_open_write(struct ovl_config *cfg, struct ovl_loc *loc, int flags)
{
        int acc = flags & O_ACCMODE;
        int mode = acc == O_RDONLY ? R_OK : (acc == O_WRONLY ? W_OK : R_OK | W_OK);
        if (flags & O_TRUNC) {
                mode |= W_OK; /* build_open_flags: even O_RDONLY|O_TRUNC needs MAY_WRITE */
        }
        int fd = lfd_of(loc);
        int r = ovl_sys_faccessat(fd, relp(loc), mode, AT_EACCESS);
        if (r == -EROFS) {
                r = 0;
        }
        return settled(copy_up_checked(cfg, loc, r, !(flags & O_TRUNC)));
}
