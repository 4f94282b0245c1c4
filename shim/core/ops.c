/* open(2) of a resolved merged object: creation of a missing name, copy-up
 * before a write-open of a lower file, and the open itself on the layer that
 * holds the object. Sockets and devices open in place in any mode
 * (SEMANTICS.md rule 35); fifos see fifo_copy_up. */
#include "ovlshim.h"
#include "sys.h"
#include "write.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int ovl_loc_fd(struct ovl_loc *loc)
{
        return ovl_layer_fd(&loc->m->layers[loc->layer]);
}

bool ovl_loc_has_record(const struct ovl_loc *loc)
{
        return loc->dead && loc->real[0] == '/';
}

int ovl_loc_attr_fd(struct ovl_loc *loc)
{
        return ovl_loc_has_record(loc) ? AT_FDCWD : ovl_loc_fd(loc);
}

const char *ovl_loc_attr_rel(const struct ovl_loc *loc)
{
        return ovl_loc_has_record(loc) ? loc->real : ovl_loc_relpath(loc);
}

static bool wants_write(int flags)
{
        if (flags & O_PATH) {
                return false;
        }
        return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static int open_tmpfile(struct ovl_config *cfg, struct ovl_loc *loc, int flags, mode_t mode)
{
        if (!S_ISDIR(loc->st.st_mode)) {
                return -ENOTDIR;
        }
        if (!loc->m->layers[0].path) {
                return -EROFS; /* after the type: do_tmpfile looks the directory up first */
        }
        int r = ovl_write_begin(loc->m);
        if (r == 0) {
                r = ovl_upper_dir(cfg, loc->m, loc->rel);
        }
        if (r < 0) {
                return r;
        }
        return ovl_sys_openat(ovl_layer_fd(&loc->m->layers[0]), ovl_loc_relpath(loc), flags, mode);
}

static int open_real(struct ovl_loc *loc, int flags, mode_t mode)
{
        for (int tries = 0;; tries++) {
                int lfd = ovl_loc_fd(loc);
                if (lfd < 0) {
                        return lfd;
                }
                /* a lower file is read without touching its atime (rule 64) */
                int fd = loc->layer > 0 && !(flags & O_PATH)
                             ? ovl_sys_openat_noatime(lfd, ovl_loc_relpath(loc), flags, mode)
                             : ovl_sys_openat(lfd, ovl_loc_relpath(loc), flags, mode);
                if (fd != -EBADF || tries) {
                        return fd;
                }
                ovl_layer_fd_lost(&loc->m->layers[loc->layer], lfd);
        }
}

/* fs.protected_regular or fs.protected_fifos (0 when unreadable). */
static int protected_level(const char *name)
{
        char path[64], buf[16];
        snprintf(path, sizeof(path), "/proc/sys/fs/%s", name);
        ssize_t n = ovl_sys_read_file(path, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        return atoi(buf);
}

/* may_create_in_sticky: O_CREAT meeting someone else's object in a sticky
 * directory (root included). */
static int sticky_refuses(const struct stat *dir, const struct stat *st)
{
        bool reg = S_ISREG(st->st_mode), fifo = S_ISFIFO(st->st_mode);
        if (!(dir->st_mode & S_ISVTX)) {
                return 0;
        }
        int lvl = reg ? protected_level("protected_regular")
                      : (fifo ? protected_level("protected_fifos") : 0);
        if (((reg || fifo) && !lvl) || st->st_uid == dir->st_uid ||
            st->st_uid == ovl_sys_geteuid()) {
                return 0;
        }
        return (dir->st_mode & 0002) || ((dir->st_mode & 0020) && lvl >= 2) ? -EACCES : 0;
}

static int sticky_create(struct ovl_config *cfg, const struct ovl_loc *loc)
{
        if (loc->st.st_uid == ovl_sys_geteuid()) {
                return 0; /* one's own object: no parent to look at (an open's common case) */
        }
        char parent[PATH_MAX], path[PATH_MAX];
        ovl_rel_parent(loc->rel, parent);
        int n = snprintf(path, sizeof(path), "%s/%s", loc->m->merged, parent);
        struct ovl_loc *p = ovl_sys_scratch(sizeof(*p));
        if (!p || n < 0 || (size_t)n >= sizeof(path)) {
                ovl_sys_scratch_free(p, sizeof(*p));
                return p ? -ENAMETOOLONG : -ENOMEM;
        }
        int r = ovl_resolve(cfg, NULL, path, 0, p);
        r = r == OVL_IN && p->layer >= 0 ? sticky_refuses(&p->st, &loc->st) : 0;
        ovl_sys_scratch_free(p, sizeof(*p));
        return r;
}

/* A fifo of a lower layer is opened on its upper copy. Writing to a fifo
 * changes its times, and a lower layer never changes; readers and writers
 * must meet on one pipe, so every open copies up, not only a write-open.
 * A refused open copies nothing. Without an upper (nothing can be written
 * anyway) and when a read-only open cannot copy up, it opens in place. */
static int fifo_copy_up(struct ovl_config *cfg, struct ovl_loc *loc, int flags)
{
        if (loc->layer > 0 && !loc->m->layers[0].path) {
                /* a write would change the lower fifo's times: refused, not done;
                 * but a non-blocking open without a reader says so first */
                if ((flags & O_ACCMODE) == O_RDONLY) {
                        return 0;
                }
                /* may_open's permission check comes first (O_TRUNC means nothing) */
                int acc = (flags & O_ACCMODE) == O_WRONLY ? W_OK : R_OK | W_OK;
                int r = ovl_sys_faccessat(ovl_loc_fd(loc), ovl_loc_relpath(loc), acc, AT_EACCESS);
                if (r == -EACCES || r == -EPERM) {
                        return r;
                }
                bool probe = (flags & O_NONBLOCK) && (flags & O_ACCMODE) == O_WRONLY;
                int fd = probe ? open_real(loc, O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0) : -EROFS;
                if (fd >= 0) {
                        ovl_sys_close(fd);
                }
                return fd == -ENXIO ? -ENXIO : -EROFS;
        }
        if (loc->layer <= 0) {
                return 0;
        }
        int r = ovl_open_write(cfg, loc, flags);
        if (r == -EACCES || r == -EPERM || (flags & O_ACCMODE) != O_RDONLY) {
                return r;
        }
        return 0;
}

int ovl_open(struct ovl_config *cfg, struct ovl_loc *loc, int flags, mode_t mode)
{
        bool ro = !loc->m->layers[0].path;
        if (loc->layer < 0) {
                if (!(flags & O_CREAT)) {
                        return -ENOENT;
                }
                return ro ? -EROFS : ovl_create(cfg, loc, flags, mode);
        }
        if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
                return -EEXIST;
        }
        if ((flags & O_DIRECTORY) && (flags & O_TMPFILE) != O_TMPFILE &&
            !S_ISDIR(loc->st.st_mode)) {
                return -ENOTDIR; /* do_open, before a copy-up or O_TRUNC could happen */
        }
        if ((flags & O_CREAT) && S_ISDIR(loc->st.st_mode)) {
                return -EISDIR; /* as open(2) answers before any permission check */
        }
        if (flags & O_CREAT) {
                int r = sticky_create(cfg, loc);
                if (r < 0) {
                        return r;
                }
        }
        if ((flags & O_TMPFILE) == O_TMPFILE) {
                return open_tmpfile(cfg, loc, flags, mode);
        }
        if (S_ISFIFO(loc->st.st_mode) && !(flags & O_PATH)) {
                int r = fifo_copy_up(cfg, loc, flags);
                if (r < 0) {
                        return r;
                }
        }
        if (wants_write(flags) && S_ISREG(loc->st.st_mode)) {
                int r = ro ? -EROFS : (loc->layer > 0 ? ovl_open_write(cfg, loc, flags) : 0);
                if (r < 0) {
                        return r;
                }
        }
        if (ovl_loc_has_record(loc) && !(flags & O_PATH) && (flags & O_ACCMODE) == O_RDONLY) {
                /* may_open asks the removed copy's mode (the record's), not the lower's */
                int r = ovl_sys_faccessat(AT_FDCWD, loc->real, R_OK, AT_EACCESS);
                if (r < 0) {
                        return r;
                }
        }
        return open_real(loc, flags & ~(O_CREAT | O_EXCL), mode);
}
