/* The core's own fds (layer roots) survive programs that close or dup2 over
 * every fd: for them close answers EBADF as for an fd the program never had,
 * and a dup2 onto one first moves ours out of the way. */
#include "preload.h"
#include "sys.h"

#include <limits.h>
#include <stdio_ext.h>

/* A number freed here may be reused at once by another thread: not while a
 * copy-up is replacing that number's old object (copy_up.c). */
#define UNDER_FDMOVE(call)                                                                         \
        do {                                                                                       \
                if (!ovl_active()) {                                                               \
                        return call;                                                               \
                }                                                                                  \
                ovl_fdmove_lock();                                                                 \
                int r_ = call;                                                                     \
                int e_ = errno;                                                                    \
                ovl_fdmove_unlock();                                                               \
                errno = e_;                                                                        \
                return r_;                                                                         \
        } while (0)

OVL_EXPORT int close(int fd)
{
        if (ovl_is_private_fd(ovl_active(), fd)) {
                errno = EBADF;
                return -1;
        }
        UNDER_FDMOVE(REAL(close)(fd));
}

OVL_EXPORT int dup2(int oldfd, int newfd)
{
        if (ovl_is_private_fd(ovl_active(), newfd) && oldfd != newfd) {
                ovl_private_move(ovl_active(), newfd);
        }
        UNDER_FDMOVE(REAL(dup2)(oldfd, newfd));
}

OVL_EXPORT int dup3(int oldfd, int newfd, int flags)
{
        if (ovl_is_private_fd(ovl_active(), newfd) && oldfd != newfd) {
                ovl_private_move(ovl_active(), newfd);
        }
        UNDER_FDMOVE(REAL(dup3)(oldfd, newfd, flags));
}

/* Close [lo, hi] around our fds. */
OVL_EXPORT int close_range(unsigned lo, unsigned hi, int flags)
{
        struct ovl_config *cfg = ovl_active();
        unsigned floor = (unsigned)ovl_private_floor();
        if (!cfg || hi < floor || (flags & CLOSE_RANGE_CLOEXEC)) {
                return REAL(close_range)(lo, hi, flags);
        }
        unsigned start = lo;
        for (unsigned fd = lo > floor ? lo : floor; fd <= hi && fd < floor + 4096; fd++) {
                if (!ovl_is_private_fd(cfg, (int)fd)) {
                        continue;
                }
                if (fd > start && REAL(close_range)(start, fd - 1, flags) < 0) {
                        return -1;
                }
                start = fd + 1;
        }
        return start > hi ? 0 : REAL(close_range)(start, hi, flags);
}

OVL_EXPORT void closefrom(int lo)
{
        if (!ovl_active()) {
                REAL(closefrom)(lo);
                return;
        }
        close_range((unsigned)lo, UINT_MAX, 0);
}

/* fclose closes its fd inside libc, past close(): it takes the same lock.
 * What the stream still buffers is written first, outside it: a write that
 * blocks on a full pipe must not hold up every close in the process. */
OVL_EXPORT int fclose(FILE *f)
{
        if (f && ovl_active() && __fpending(f) > 0) {
                fflush(f);
        }
        UNDER_FDMOVE(REAL(fclose)(f));
}
