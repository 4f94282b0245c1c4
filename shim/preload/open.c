/* The open family and stdio opens. */
#include "name.h"
#include "preload.h"

#include <stdarg.h>
#include <string.h>

#define OPEN_MODE(flags, mode)                                                                     \
        mode_t mode = 0;                                                                           \
        if (((flags)&O_CREAT) || ((flags)&O_TMPFILE) == O_TMPFILE) {                               \
                va_list ap;                                                                        \
                va_start(ap, flags);                                                               \
                mode = (mode_t)va_arg(ap, int);                                                    \
                va_end(ap);                                                                        \
        }

/* build_open_flags: O_CREAT|O_DIRECTORY is refused before any lookup, and
 * O_PATH ignores every flag but a few. */
static int open_flags_fix(int *flags)
{
        if ((*flags & O_PATH) && (*flags & O_TMPFILE) != O_TMPFILE) {
                *flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        }
        return (*flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY) ? -EINVAL : 0;
}

/* O_NOFOLLOW, and O_CREAT|O_EXCL, do not follow a final symlink. A name is
 * never created in a removed cwd, even when its merged name was made again. */
static int open_rflags(int flags)
{
        open_flags_fix(&flags);
        bool excl = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
        bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
        return ((flags & O_NOFOLLOW) || excl ? OVL_R_NOFOLLOW : 0) |
               (creates ? OVL_AT_DEAD_FIRST : 0);
}

/* open_last_lookups: with O_CREAT a trailing slash is EISDIR once the
 * directory part is walked, whatever the name is. */
static int create_slash(int dirfd, const char *path, struct ovl_loc *loc)
{
        size_t l = strlen(path);
        if (!l || path[l - 1] != '/') {
                return 0;
        }
        struct ovl_name nm = {.loc = loc};
        int r = ovl_name_at(dirfd, path, &nm);
        if (r == 0 && nm.last != OVL_LAST_NORM) {
                /* "./" is looked up as a directory (handle_dots): EEXIST for
                 * O_EXCL, EISDIR later; the resolution must be redone */
                r = ovl_at(dirfd, path, 0, loc) == OVL_IN ? 1 : -EISDIR;
        }
        return r < 0 ? r : (r == 1 ? 0 : -EISDIR);
}

static int open_done(int k, struct ovl_loc *loc, const char *call, int dirfd, const char *path,
                     int flags, mode_t mode)
{
        int r = open_flags_fix(&flags);
        if (r == 0 && (flags & O_CREAT)) {
                /* before following a last symlink with the slash, even out */
                r = create_slash(dirfd, path, loc);
        }
        if (k == OVL_OUT && r == 0) {
                return REAL(openat)(AT_FDCWD, loc->real, flags, mode);
        }
        if (r == 0) {
                r = k < 0 ? k : ovl_open(ovl_active(), loc, flags, mode);
        }
        ovl_log(call, path, k < 0 || r < 0 ? NULL : loc, r);
        return (int)ovl_ret(r);
}

#define OPEN_AT(call, dirfd, path, flags, mode, pass)                                              \
        do {                                                                                       \
                struct ovl_loc loc;                                                                \
                int k = ovl_at(dirfd, path, open_rflags(flags), &loc);                             \
                if (k == OVL_PASS) {                                                               \
                        return pass;                                                               \
                }                                                                                  \
                return open_done(k, &loc, call, dirfd, path, flags, mode);                         \
        } while (0)

OVL_EXPORT int open(const char *path, int flags, ...)
{
        OPEN_MODE(flags, mode);
        OPEN_AT("open", AT_FDCWD, path, flags, mode, REAL(open)(path, flags, mode));
}

OVL_EXPORT int open64(const char *path, int flags, ...)
{
        OPEN_MODE(flags, mode);
        OPEN_AT("open64", AT_FDCWD, path, flags, mode, REAL(open64)(path, flags, mode));
}

OVL_EXPORT int __open_2(const char *path, int flags)
{
        OPEN_AT("__open_2", AT_FDCWD, path, flags, 0, REAL(__open_2)(path, flags));
}

OVL_EXPORT int __open64_2(const char *path, int flags)
{
        OPEN_AT("__open64_2", AT_FDCWD, path, flags, 0, REAL(__open64_2)(path, flags));
}

OVL_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
        OPEN_MODE(flags, mode);
        OPEN_AT("openat", dirfd, path, flags, mode, REAL(openat)(dirfd, path, flags, mode));
}

OVL_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
        OPEN_MODE(flags, mode);
        OPEN_AT("openat64", dirfd, path, flags, mode, REAL(openat64)(dirfd, path, flags, mode));
}

OVL_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
        OPEN_AT("__openat_2", dirfd, path, flags, 0, REAL(__openat_2)(dirfd, path, flags));
}

OVL_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
        OPEN_AT("__openat64_2", dirfd, path, flags, 0, REAL(__openat64_2)(dirfd, path, flags));
}

OVL_EXPORT int creat(const char *path, mode_t mode)
{
        int flags = O_CREAT | O_WRONLY | O_TRUNC;
        OPEN_AT("creat", AT_FDCWD, path, flags, mode, REAL(creat)(path, mode));
}

OVL_EXPORT int creat64(const char *path, mode_t mode)
{
        int flags = O_CREAT | O_WRONLY | O_TRUNC;
        OPEN_AT("creat64", AT_FDCWD, path, flags, mode, REAL(creat64)(path, mode));
}

/* --- stdio ------------------------------------------------------------------- */

/* The open(2) flags of an fopen mode string, as glibc reads it. */
static int fopen_flags(const char *mode)
{
        int acc, flags;
        switch (mode[0]) {
        case 'w':
                acc = O_WRONLY, flags = O_CREAT | O_TRUNC;
                break;
        case 'a':
                acc = O_WRONLY, flags = O_CREAT | O_APPEND;
                break;
        default:
                acc = O_RDONLY, flags = 0;
        }
        for (const char *p = mode + 1; *p && *p != ','; p++) {
                if (*p == '+') {
                        acc = O_RDWR;
                } else if (*p == 'x') {
                        flags |= O_EXCL;
                } else if (*p == 'e') {
                        flags |= O_CLOEXEC;
                }
        }
        return acc | flags;
}

/* Open through the overlay and hand the fd to stdio. */
static FILE *fopen_in(int k, struct ovl_loc *loc, const char *call, const char *path,
                      const char *mode)
{
        int flags = fopen_flags(mode);
        int fd = open_done(k, loc, call, AT_FDCWD, path, flags, 0666);
        if (fd < 0) {
                return NULL;
        }
        FILE *f = fdopen(fd, mode);
        if (!f) {
                int saved = errno;
                REAL(close)(fd);
                errno = saved;
        }
        return f;
}

OVL_EXPORT FILE *fopen(const char *path, const char *mode)
{
        struct ovl_loc loc;
        int k = mode ? ovl_at(AT_FDCWD, path, open_rflags(fopen_flags(mode)), &loc) : OVL_PASS;
        if (k == OVL_PASS) {
                return REAL(fopen)(path, mode);
        }
        return fopen_in(k, &loc, "fopen", path, mode);
}

OVL_EXPORT FILE *fopen64(const char *path, const char *mode)
{
        struct ovl_loc loc;
        int k = mode ? ovl_at(AT_FDCWD, path, open_rflags(fopen_flags(mode)), &loc) : OVL_PASS;
        if (k == OVL_PASS) {
                return REAL(fopen64)(path, mode);
        }
        return fopen_in(k, &loc, "fopen64", path, mode);
}

/* freopen onto our own open: glibc reopens "/proc/self/fd/N" itself (a
 * second O_TRUNC of the file we just opened changes nothing). */
static FILE *freopen_in(int k, struct ovl_loc *loc, const char *path, const char *mode,
                        FILE *stream, FILE *(*real)(const char *, const char *, FILE *))
{
        int fd = open_done(k, loc, "freopen", AT_FDCWD, path, fopen_flags(mode), 0666);
        if (fd < 0) {
                return NULL;
        }
        char proc[64];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        FILE *f = real(proc, mode, stream);
        int saved = errno;
        REAL(close)(fd);
        errno = saved;
        return f;
}

OVL_EXPORT FILE *freopen(const char *path, const char *mode, FILE *stream)
{
        struct ovl_loc loc;
        int k = path && mode ? ovl_at(AT_FDCWD, path, 0, &loc) : OVL_PASS;
        if (k == OVL_PASS) {
                return REAL(freopen)(path, mode, stream);
        }
        return freopen_in(k, &loc, path, mode, stream, REAL(freopen));
}

OVL_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *stream)
{
        struct ovl_loc loc;
        int k = path && mode ? ovl_at(AT_FDCWD, path, 0, &loc) : OVL_PASS;
        if (k == OVL_PASS) {
                return REAL(freopen64)(path, mode, stream);
        }
        return freopen_in(k, &loc, path, mode, stream, REAL(freopen64));
}
