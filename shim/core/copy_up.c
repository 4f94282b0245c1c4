/* Copy-up (SEMANTICS.md 1.E-1.G): an object of a lower layer is rebuilt in
 * WORK/work — data (holes kept, reflinked where possible), xattrs, owner,
 * mode, times — and renamed into the upper with RENAME_NOREPLACE, so it
 * appears complete in one step; a SIGKILL leaves at most a temporary in
 * WORK/work, and the loser of a race uses the winner's copy. Parents first;
 * the parent's timestamps are restored afterwards (rule 40). */
#include "markers.h"
#include "sys.h"
#include "write.h"

#include <dirent.h>
#include <errno.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ovl_rel_parent(const char *rel, char *out)
{
        const char *s = strrchr(rel, '/');
        size_t n = s ? (size_t)(s - rel) : 0;
        memcpy(out, rel, n);
        out[n] = '\0';
}

static const char *relp(const char *rel)
{
        return rel[0] ? rel : ".";
}

/* --- data ---------------------------------------------------------------------- */

static int copy_plain(int src, int dst, off_t off, off_t end)
{
        char buf[65536];
        while (off < end) {
                size_t want = (size_t)(end - off) < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);
                ssize_t r = ovl_sys6(SYS_pread64, src, (long)buf, (long)want, off, 0, 0);
                if (r <= 0) {
                        return r < 0 ? (int)r : -EIO;
                }
                ssize_t w = ovl_sys6(SYS_pwrite64, dst, (long)buf, r, off, 0, 0);
                if (w < 0) {
                        return (int)w;
                }
                off += w;
        }
        return 0;
}

static int copy_range(int src, int dst, off_t off, off_t end)
{
        while (off < end) {
                loff_t in = off, out = off;
                ssize_t r =
                    ovl_sys6(SYS_copy_file_range, src, (long)&in, dst, (long)&out, end - off, 0);
                if (r == -EXDEV || r == -EINVAL || r == -ENOSYS || r == -EOPNOTSUPP) {
                        return copy_plain(src, dst, off, end);
                }
                if (r <= 0) {
                        return r < 0 ? (int)r : -EIO;
                }
                off += r;
        }
        return 0;
}

/* Copy the data regions only, so a sparse file stays sparse. */
static int copy_data(int src, int dst, off_t size)
{
        if (ovl_sys_ioctl(dst, FICLONE, src) == 0) {
                return 0;
        }
        off_t off = 0;
        while (off < size) {
                off_t data = ovl_sys_lseek(src, off, SEEK_DATA);
                if (data == -ENXIO) {
                        break;
                }
                if (data < 0) { /* no SEEK_DATA: copy everything */
                        data = off;
                }
                off_t hole = ovl_sys_lseek(src, data, SEEK_HOLE);
                if (hole < 0 || hole > size) {
                        hole = size;
                }
                int r = copy_range(src, dst, data, hole);
                if (r < 0) {
                        return r;
                }
                off = hole;
        }
        return ovl_sys_ftruncate(dst, size);
}

/* --- metadata ------------------------------------------------------------------- */

/* Copy every xattr but the overlay's own. Ones the user may not set (trusted.*
 * unprivileged, security.capability, user.* on a symlink) are dropped. */
static int copy_xattrs(int sfd, const char *srel, int dfd, const char *drel)
{
        char *list = ovl_sys_scratch(2 * 65536), *val = list ? list + 65536 : NULL;
        ssize_t n = list && val ? ovl_sys_listxattrat(sfd, srel, list, 65536) : -ENOMEM;
        int r = n == -ENOTSUP || n == -ENODATA ? 0 : (n < 0 ? (int)n : 0);
        for (ssize_t i = 0; r == 0 && i < n; i += (ssize_t)strlen(list + i) + 1) {
                const char *name = list + i;
                char shown[XATTR_NAME_MAX + 1];
                if (!ovl_xattr_shown(name, shown, sizeof(shown))) {
                        continue; /* the overlay's own; escaped ones are data */
                }
                ssize_t vl = ovl_sys_getxattrat(sfd, srel, name, val, 65536);
                if (vl < 0) {
                        continue;
                }
                int s = ovl_sys_setxattrat(dfd, drel, name, val, (size_t)vl);
                if (s < 0 && s != -EPERM && s != -ENOTSUP && s != -EACCES) {
                        r = s;
                }
        }
        ovl_sys_scratch_free(list, 2 * 65536);
        return r;
}

/* Owner where permitted. It goes first: a chown clears set-id bits and
 * security.capability, which the xattrs and the mode then bring back (the
 * kernel's own chown at copy-up does not kill them, rule 38). */
static int copy_owner(const struct stat *st, int dfd, const char *drel)
{
        int r = ovl_sys_fchownat(dfd, drel, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
        return r == -EPERM ? 0 : r; /* an unprivileged user keeps the copy as its own */
}

/* Mode, then times. */
static int copy_attrs(const struct stat *st, int dfd, const char *drel)
{
        int r = 0;
        if (!S_ISLNK(st->st_mode)) {
                r = ovl_sys_fchmodat(dfd, drel, st->st_mode & 07777);
        }
        struct timespec ts[2] = {st->st_atim, st->st_mtim};
        if (r == 0) {
                r = ovl_sys_utimensat(dfd, drel, ts, AT_SYMLINK_NOFOLLOW);
        }
        return r;
}

int ovl_copy_meta(int sfd, const char *srel, const struct stat *st, int dfd, const char *drel)
{
        int r = copy_owner(st, dfd, drel);
        r = r < 0 ? r : copy_xattrs(sfd, srel, dfd, drel);
        return r < 0 ? r : copy_attrs(st, dfd, drel);
}

/* --- one object ------------------------------------------------------------------ */

static int open_lower(int lfd, const char *rel)
{
        return ovl_sys_openat_noatime(lfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
}

static int build_file(struct ovl_mount *m, const struct ovl_loc *loc, const char *tmp, bool data)
{
        int lfd = ovl_layer_fd(&m->layers[loc->layer]);
        int wfd = ovl_layer_fd(&m->work);
        int src = open_lower(lfd, loc->rel);
        if (src < 0) {
                return src;
        }
        int dst = ovl_sys_openat(wfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        int r = dst < 0 ? dst : 0;
        if (r == 0 && data) {
                r = copy_data(src, dst, loc->st.st_size);
        }
        if (r == 0 && !m->is_volatile) {
                r = ovl_sys_fsync(dst);
        }
        ovl_sys_close(src);
        if (dst >= 0) {
                ovl_sys_close(dst);
        }
        return r;
}

static int build_link(struct ovl_mount *m, const struct ovl_loc *loc, const char *tmp)
{
        char target[PATH_MAX];
        ssize_t n = ovl_sys_readlinkat(ovl_layer_fd(&m->layers[loc->layer]), loc->rel, target,
                                       sizeof(target) - 1);
        if (n < 0) {
                return (int)n;
        }
        target[n] = '\0';
        return ovl_sys_symlinkat(target, ovl_layer_fd(&m->work), tmp);
}

static int build(struct ovl_mount *m, const struct ovl_loc *loc, const char *tmp, bool data)
{
        int wfd = ovl_layer_fd(&m->work);
        mode_t mode = loc->st.st_mode;
        int r;
        if (S_ISREG(mode)) {
                r = build_file(m, loc, tmp, data);
        } else if (S_ISDIR(mode)) {
                r = ovl_sys_mkdirat(wfd, tmp, 0700);
        } else if (S_ISLNK(mode)) {
                r = build_link(m, loc, tmp);
        } else {
                r = ovl_sys_mknodat(wfd, tmp, mode & S_IFMT, loc->st.st_rdev);
        }
        if (r == 0) {
                r = copy_owner(&loc->st, wfd, tmp);
        }
        if (r == 0) {
                r = copy_xattrs(ovl_layer_fd(&m->layers[loc->layer]), relp(loc->rel), wfd, tmp);
        }
        return r == 0 ? copy_attrs(&loc->st, wfd, tmp) : r;
}

static void remove_tmp(struct ovl_mount *m, const char *tmp, mode_t mode)
{
        ovl_sys_unlinkat(ovl_layer_fd(&m->work), tmp, S_ISDIR(mode) ? AT_REMOVEDIR : 0);
}

/* Rename the built object into place, keeping the parent's times. */
static int publish(struct ovl_mount *m, const struct ovl_loc *loc, const char *tmp)
{
        int ufd = ovl_layer_fd(&m->layers[0]);
        char parent[PATH_MAX];
        ovl_rel_parent(loc->rel, parent);
        struct stat pst;
        const char *pp = ovl_layer_relpath(m, 0, parent);
        int have = ovl_sys_lstatat(ufd, pp, &pst) == 0;
        int r = ovl_rename_lent(ovl_layer_fd(&m->work), tmp, ufd, loc->rel, RENAME_NOREPLACE);
        if (r == -EEXIST) { /* another process copied it first: use its copy */
                remove_tmp(m, tmp, loc->st.st_mode);
                return 0;
        }
        if (r == 0 && have) {
                struct timespec ts[2] = {pst.st_atim, pst.st_mtim};
                ovl_sys_utimensat(ufd, pp, ts, 0);
        }
        return r;
}

/* --- fds opened before the copy-up ----------------------------------------------------- */

static int parse_fd(const char *s)
{
        int n = 0;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || n > 100000000) {
                        return -1;
                }
                n = n * 10 + (*s - '0');
        }
        return n;
}

/* Opening a fifo or a device has effects of its own (a fifo blocks, and its
 * pipe would not follow), so only O_PATH fds on them move. Directory fds stay:
 * the core itself holds fds on lower directories for a moment in every
 * thread (listings, the lower cache), and one of them could be closed and its
 * number reused between our look and the dup3; fstat maps a directory fd to
 * its merged directory instead (preload/stat.c). */
static bool can_reopen(mode_t mode, int fl)
{
        return !S_ISDIR(mode) && (S_ISREG(mode) || (fl & O_PATH));
}

/* Point fd at the upper copy, keeping its status flags (O_PATH too: an
 * O_PATH fd must stay unreadable), offset and close-on-exec. O_NOATIME is
 * not kept: the shim adds it to lower reads only (rule 64). */
/* Replace fd by nfd if fd still holds the lower object `st`: checked and
 * done under the fd-move lock, with signals blocked (a handler's close in
 * this thread must not wait for us). */
static void replace_fd(int nfd, int fd, int fdfl, const struct stat *st)
{
        sigset_t all, old;
        struct stat now;
        sigfillset(&all);
        ovl_sys_sigprocmask(SIG_SETMASK, &all, &old);
        ovl_fdmove_lock();
        if (ovl_sys_fstat(fd, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino) {
                ovl_sys_dup3(nfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0);
        }
        ovl_fdmove_unlock();
        ovl_sys_sigprocmask(SIG_SETMASK, &old, NULL);
}

static void reopen_one(int fd, int ufd, const char *rel, const struct stat *st)
{
        mode_t mode = st->st_mode;
        int fl = ovl_sys_fcntl(fd, F_GETFL, 0);
        int fdfl = ovl_sys_fcntl(fd, F_GETFD, 0);
        if (fl < 0 || fdfl < 0 || !can_reopen(mode, fl)) {
                return;
        }
        int keep = O_ACCMODE | O_APPEND | O_NONBLOCK | O_DIRECT | O_SYNC | O_PATH;
        int nfd = ovl_sys_openat(ufd, relp(rel), (fl & keep) | O_CLOEXEC | O_NOFOLLOW, 0);
        if (nfd < 0) {
                return;
        }
        off_t off = S_ISREG(mode) ? ovl_sys_lseek(fd, 0, SEEK_CUR) : 0;
        if (off > 0) {
                ovl_sys_lseek(nfd, off, SEEK_SET);
        }
        replace_fd(nfd, fd, fdfl, st);
        ovl_sys_close(nfd);
}

/* A kernel overlay fd refers to the overlay inode, so reads, fstat and
 * fchmod through an fd opened before a copy-up see the copy (rule 63): find
 * this process's fds on the lower object and reopen them on the copy. Other
 * processes' fds, locks and mappings cannot follow (see README). */
static void reopen_fds(struct ovl_mount *m, const struct ovl_loc *loc)
{
        char lower[PATH_MAX];
        int n = snprintf(lower, sizeof(lower), "%s%s%s", m->layers[loc->layer].path,
                         loc->rel[0] ? "/" : "", loc->rel);
        int dfd = ovl_sys_openat(AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (n >= (int)sizeof(lower) || dfd < 0) {
                if (dfd >= 0) {
                        ovl_sys_close(dfd);
                }
                return;
        }
        char buf[4096], link[PATH_MAX];
        ssize_t got;
        while ((got = ovl_sys_getdents64(dfd, buf, sizeof(buf))) > 0) {
                for (ssize_t off = 0; off < got;) {
                        struct dirent64 *d = (struct dirent64 *)(buf + off);
                        off += d->d_reclen;
                        int fd = parse_fd(d->d_name);
                        if (fd < 0 || fd == dfd || ovl_sys_fdpath(fd, link, sizeof(link)) < 0 ||
                            strcmp(link, lower) != 0) {
                                continue;
                        }
                        reopen_one(fd, ovl_layer_fd(&m->layers[0]), loc->rel, &loc->st);
                }
        }
        ovl_sys_close(dfd);
}

static int copy_one(struct ovl_mount *m, const struct ovl_loc *loc, bool data)
{
        char tmp[64];
        ovl_tmpname(tmp, sizeof(tmp));
        int r = build(m, loc, tmp, data);
        if (r == 0) {
                r = publish(m, loc, tmp);
        }
        if (r < 0) {
                remove_tmp(m, tmp, loc->st.st_mode);
        } else {
                reopen_fds(m, loc);
        }
        return r;
}

/* --- the public face ---------------------------------------------------------------- */

static int merged_path(const struct ovl_mount *m, const char *rel, char *out)
{
        int n = snprintf(out, PATH_MAX, "%s%s%s", m->merged, rel[0] ? "/" : "", rel);
        return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

int ovl_upper_dir(struct ovl_config *cfg, struct ovl_mount *m, const char *rel)
{
        struct stat st;
        int ufd = ovl_layer_fd(&m->layers[0]);
        if (ufd < 0) {
                return ufd;
        }
        if (!rel[0] || (ovl_sys_lstatat(ufd, rel, &st) == 0 && S_ISDIR(st.st_mode))) {
                return 0;
        }
        char parent[PATH_MAX];
        ovl_rel_parent(rel, parent);
        int r = ovl_upper_dir(cfg, m, parent);
        struct ovl_loc *loc = r == 0 ? ovl_sys_scratch(sizeof(*loc)) : NULL;
        char p[PATH_MAX];
        if (r == 0 && (!loc || (r = merged_path(m, rel, p)) < 0)) {
                r = r < 0 ? r : -ENOMEM;
        }
        if (r == 0) {
                r = ovl_resolve(cfg, NULL, p, OVL_R_NOFOLLOW, loc);
                r = r != OVL_IN || loc->layer < 0 ? -ENOENT
                    : !S_ISDIR(loc->st.st_mode)   ? -ENOTDIR
                    : loc->layer == 0             ? 0
                                                  : copy_one(m, loc, false);
        }
        ovl_sys_scratch_free(loc, sizeof(*loc));
        return r;
}

int ovl_copy_up(struct ovl_config *cfg, struct ovl_loc *loc, bool data)
{
        if (loc->layer == 0) {
                return 0;
        }
        if (loc->layer < 0 || loc->dead) {
                return -ENOENT; /* a removed directory is never made again */
        }
        struct ovl_mount *m = loc->m;
        int r = ovl_write_begin(m);
        char parent[PATH_MAX];
        ovl_rel_parent(loc->rel, parent);
        if (r == 0) {
                r = ovl_upper_dir(cfg, m, parent);
        }
        if (r == 0) {
                r = copy_one(m, loc, data);
        }
        if (r == 0) {
                r = ovl_sys_lstatat(ovl_layer_fd(&m->layers[0]), relp(loc->rel), &loc->st);
        }
        if (r < 0) {
                return r;
        }
        loc->layer = 0;
        if (S_ISDIR(loc->st.st_mode)) {
                memmove(loc->stack + 1, loc->stack, sizeof(loc->stack[0]) * (size_t)loc->nstack);
                loc->stack[0] = 0;
                loc->nstack++;
        } else {
                loc->id_dev = loc->st.st_dev;
                loc->id_ino = loc->st.st_ino;
        }
        return 0;
}
