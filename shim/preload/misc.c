/* glibc functions that reach the kernel without the public symbols the other
 * wrappers catch (INTERPOSITION.md 0.2, 2.O-2.R): statvfs/statfs, pathconf,
 * chroot, AF_UNIX socket paths, raw syscall(), dlopen, and the nftw/ftw
 * walkers, rebuilt on top of the shim's own stat and readdir. */
#include "preload.h"
#include "sys.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>

#define OVERLAYFS_MAGIC 0x794c7630

/* The real path that stands for `path` (the layer copy, or the upper root
 * for questions about the file system). 1 inside an overlay, 0 outside (out
 * unset), -errno. */
static int real_of(const char *path, char *out, bool fs_of_upper)
{
        struct ovl_loc loc;
        int k = ovl_at(AT_FDCWD, path, 0, &loc);
        if (k < 0 || k == OVL_PASS) {
                return k < 0 ? k : 0;
        }
        if (k == OVL_OUT) {
                snprintf(out, PATH_MAX, "%s", loc.real);
                return 1;
        }
        if (loc.layer < 0) {
                return -ENOENT;
        }
        int l = fs_of_upper && loc.m->layers[0].path ? 0 : loc.layer;
        const char *rel = l == 0 && fs_of_upper ? "" : loc.rel;
        int n = snprintf(out, PATH_MAX, "%s%s%s", loc.m->layers[l].path, rel[0] ? "/" : "", rel);
        return n < PATH_MAX ? 1 : -ENAMETOOLONG;
}

#define ON_REAL(path, upper, call, fail)                                                           \
        do {                                                                                       \
                char rp[PATH_MAX];                                                                 \
                int k = real_of(path, rp, upper);                                                  \
                if (k < 0) {                                                                       \
                        errno = -k;                                                                \
                        return fail;                                                               \
                }                                                                                  \
                const char *use = k ? rp : (path);                                                 \
                return call;                                                                       \
        } while (0)

/* statfs of MERGED: the upper's counts, with the overlay's magic (rule 60). */
static int with_magic(int r, struct statfs *st, const char *path)
{
        char rp[PATH_MAX];
        if (r == 0 && real_of(path, rp, true) > 0) {
                st->f_type = OVERLAYFS_MAGIC;
        }
        return r;
}

OVL_EXPORT int statfs(const char *path, struct statfs *st)
{
        ON_REAL(path, true, with_magic(REAL(statfs)(use, st), st, path), -1);
}

OVL_EXPORT int statfs64(const char *path, struct statfs64 *st)
{
        ON_REAL(path, true, with_magic(REAL(statfs64)(use, st), (struct statfs *)st, path), -1);
}

OVL_EXPORT int statvfs(const char *path, struct statvfs *st)
{
        ON_REAL(path, true, REAL(statvfs)(use, st), -1);
}

OVL_EXPORT int statvfs64(const char *path, struct statvfs64 *st)
{
        ON_REAL(path, true, REAL(statvfs64)(use, st), -1);
}

OVL_EXPORT long pathconf(const char *path, int name)
{
        ON_REAL(path, false, REAL(pathconf)(use, name), -1);
}

/* A root inside an overlay cannot be given to the kernel. */
OVL_EXPORT int chroot(const char *path)
{
        struct ovl_loc loc;
        if (ovl_at(AT_FDCWD, path, 0, &loc) == OVL_IN) {
                ovl_log("chroot", path, &loc, -EPERM);
                errno = EPERM;
                return -1;
        }
        return REAL(chroot)(path);
}

/* --- AF_UNIX sockets ---------------------------------------------------------------- */

/* A socket path inside an overlay, as "/proc/self/fd/N/name" through an
 * O_PATH fd of its real parent (short, whatever the real path's length). */
static int sock_addr(struct ovl_loc *loc, int layer, struct sockaddr_un *un, int *dfd)
{
        char parent[PATH_MAX];
        const char *s = strrchr(loc->rel, '/');
        size_t pl = s ? (size_t)(s - loc->rel) : 0;
        memcpy(parent, loc->rel, pl);
        parent[pl] = '\0';
        int lfd = ovl_layer_fd(&loc->m->layers[layer]);
        *dfd = lfd < 0
                   ? lfd
                   : ovl_sys_openat(lfd, pl ? parent : ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (*dfd < 0) {
                return *dfd;
        }
        un->sun_family = AF_UNIX;
        int n = snprintf(un->sun_path, sizeof(un->sun_path), "/proc/self/fd/%d/%s", *dfd,
                         s ? s + 1 : loc->rel);
        return n < (int)sizeof(un->sun_path) ? 0 : -ENAMETOOLONG;
}

static bool unix_path(const struct sockaddr *addr, socklen_t len, char *out)
{
        const struct sockaddr_un *un = (const struct sockaddr_un *)addr;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        if (!addr || addr->sa_family != AF_UNIX || len <= off || !un->sun_path[0]) {
                return false;
        }
        size_t max = len - off < sizeof(un->sun_path) ? len - off : sizeof(un->sun_path);
        size_t n = strnlen(un->sun_path, max);
        memcpy(out, un->sun_path, n);
        out[n] = '\0';
        return true;
}

static int sock_call(int s, const struct sockaddr *addr, socklen_t len, bool bind_it)
{
        char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
        struct ovl_loc loc;
        int k = unix_path(addr, len, path)
                    ? ovl_at(AT_FDCWD, path, bind_it ? OVL_R_NOFOLLOW : 0, &loc)
                    : OVL_PASS;
        if (k == OVL_PASS || k == OVL_OUT) {
                return bind_it ? REAL(bind)(s, addr, len) : REAL(connect)(s, addr, len);
        }
        int r = k;
        if (k == OVL_IN && bind_it) {
                r = ovl_prepare_create(ovl_active(), &loc);
        } else if (k == OVL_IN) {
                r = loc.layer < 0 ? -ENOENT : 0;
        }
        struct sockaddr_un un;
        int dfd = -1;
        if (r == 0) {
                r = sock_addr(&loc, bind_it ? 0 : loc.layer, &un, &dfd);
        }
        if (r == 0) {
                r = bind_it ? REAL(bind)(s, (struct sockaddr *)&un, sizeof(un))
                            : REAL(connect)(s, (struct sockaddr *)&un, sizeof(un));
                r = r < 0 ? -errno : 0;
        }
        if (dfd >= 0) {
                ovl_sys_close(dfd);
        }
        ovl_log(bind_it ? "bind" : "connect", path, k < 0 ? NULL : &loc, r);
        return (int)ovl_ret(r);
}

OVL_EXPORT int bind(int s, const struct sockaddr *addr, socklen_t len)
{
        return sock_call(s, addr, len, true);
}

OVL_EXPORT int connect(int s, const struct sockaddr *addr, socklen_t len)
{
        return sock_call(s, addr, len, false);
}

/* --- raw syscall() ------------------------------------------------------------------- */

/* Libraries that issue statx or openat2 themselves (libuv) fall back to
 * interposed calls when told the kernel lacks them. */
OVL_EXPORT long syscall(long nr, ...)
{
        va_list ap;
        va_start(ap, nr);
        long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
        long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
        va_end(ap);
        if ((nr == SYS_statx || nr == 437 /* openat2 */) && ovl_active()) {
                errno = ENOSYS;
                return -1;
        }
        return REAL(syscall)(nr, a, b, c, d, e, f);
}
