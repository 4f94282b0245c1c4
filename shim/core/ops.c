/* Operations on resolved merged objects that the read path needs. Writes that
 * would need a copy-up or a new entry fail with EROFS until the write path
 * exists; nothing here ever creates, changes or truncates a lower object. */
#include "ovlshim.h"
#include "sys.h"

#include <errno.h>

int ovl_loc_fd(struct ovl_loc *loc)
{
        return ovl_layer_fd(&loc->m->layers[loc->layer]);
}

static bool wants_write(int flags)
{
        return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) ||
               (flags & O_TMPFILE) == O_TMPFILE;
}

/* Fifos, sockets and devices are opened in place in any mode (rule 35). */
static bool needs_copy_up(const struct stat *st)
{
        return S_ISREG(st->st_mode) || S_ISLNK(st->st_mode);
}

int ovl_open(struct ovl_loc *loc, int flags, mode_t mode)
{
        if (loc->layer < 0) {
                return (flags & O_CREAT) ? -EROFS : -ENOENT;
        }
        if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
                return -EEXIST;
        }
        if ((flags & O_TMPFILE) == O_TMPFILE) {
                return S_ISDIR(loc->st.st_mode) ? -EROFS : -ENOTDIR;
        }
        if (wants_write(flags) && loc->layer > 0 && needs_copy_up(&loc->st)) {
                return -EROFS;
        }
        flags &= ~(O_CREAT | O_EXCL);
        for (int tries = 0;; tries++) {
                int lfd = ovl_loc_fd(loc);
                if (lfd < 0) {
                        return lfd;
                }
                int fd = ovl_sys_openat(lfd, ovl_loc_relpath(loc), flags, mode);
                if (fd != -EBADF || tries) {
                        return fd;
                }
                ovl_layer_fd_lost(&loc->m->layers[loc->layer], lfd);
        }
}
