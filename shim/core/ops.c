/* open(2) of a resolved merged object: creation of a missing name, copy-up
 * before a write-open of a lower file, and the open itself on the layer that
 * holds the object. Sockets and devices open in place in any mode
 * (SEMANTICS.md rule 35); fifos see fifo_copy_up. */
#include "ovlshim.h"
#include "sys.h"
#include "write.h"

#include <errno.h>

int ovl_loc_fd(struct ovl_loc *loc)
{
        return ovl_layer_fd(&loc->m->layers[loc->layer]);
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

/* A fifo of a lower layer is opened on its upper copy. Writing to a fifo
 * changes its times, and a lower layer never changes; readers and writers
 * must meet on one pipe, so every open copies up, not only a write-open.
 * A refused open copies nothing. Without an upper (nothing can be written
 * anyway) and when a read-only open cannot copy up, it opens in place. */
static int fifo_copy_up(struct ovl_config *cfg, struct ovl_loc *loc, int flags)
{
        if (loc->layer <= 0 || !loc->m->layers[0].path) {
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
        if ((flags & O_CREAT) && S_ISDIR(loc->st.st_mode)) {
                return -EISDIR; /* as open(2) answers before any permission check */
        }
        if ((flags & O_TMPFILE) == O_TMPFILE) {
                return ro ? -EROFS : open_tmpfile(cfg, loc, flags, mode);
        }
        if ((flags & O_DIRECTORY) && !S_ISDIR(loc->st.st_mode)) {
                return -ENOTDIR; /* before any copy-up: a failed open changes nothing */
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
        return open_real(loc, flags & ~(O_CREAT | O_EXCL), mode);
}
