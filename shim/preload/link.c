/* readlink and canonicalisation: results are merged paths, never a layer's. */
#include "preload.h"
#include "sys.h"

#include <stdlib.h>
#include <string.h>

/* /proc/self/{cwd,fd/N,...} point at real paths: show the merged ones. */
static ssize_t unmap_magic(const char *path, char *buf, size_t len, ssize_t n)
{
        if (n <= 0 || strncmp(path, "/proc/", 6) != 0 || !ovl_active()) {
                return n;
        }
        char real[PATH_MAX], v[PATH_MAX];
        size_t rl = (size_t)n < sizeof(real) - 1 ? (size_t)n : sizeof(real) - 1;
        memcpy(real, buf, rl);
        real[rl] = '\0';
        size_t pl = strlen(path);
        bool is_cwd = pl >= 4 && strcmp(path + pl - 4, "/cwd") == 0;
        if (is_cwd && ovl_cwd_get(v, sizeof(v)) == 1) {
                /* the virtual cwd */
        } else if (real[0] != '/' || !ovl_unmap_real(real, v, sizeof(v), NULL)) {
                return n;
        }
        size_t vl = strlen(v);
        if (vl > len) {
                vl = len;
        }
        memcpy(buf, v, vl);
        return (ssize_t)vl;
}

static bool readlink_in(int dirfd, const char *path, char *buf, size_t len, ssize_t *res)
{
        struct ovl_loc loc;
        int k = ovl_at(dirfd, path, OVL_R_NOFOLLOW, &loc);
        if (k == OVL_PASS) {
                return false;
        }
        if (k == OVL_OUT) {
                *res = REAL(readlinkat)(AT_FDCWD, loc.real, buf, len);
                return true;
        }
        ssize_t r = k < 0 ? k : (loc.layer < 0 ? -ENOENT : 0);
        if (r == 0 && !S_ISLNK(loc.st.st_mode)) {
                r = -EINVAL;
        }
        if (r == 0) {
                r = ovl_sys_readlinkat(ovl_loc_fd(&loc), ovl_loc_relpath(&loc), buf, len);
        }
        ovl_log("readlink", path, k < 0 ? NULL : &loc, r);
        *res = ovl_ret(r);
        return true;
}

OVL_EXPORT ssize_t readlink(const char *path, char *buf, size_t len)
{
        ssize_t res;
        if (readlink_in(AT_FDCWD, path, buf, len, &res)) {
                return res;
        }
        return unmap_magic(path, buf, len, REAL(readlink)(path, buf, len));
}

OVL_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
        ssize_t res;
        if (readlink_in(dirfd, path, buf, len, &res)) {
                return res;
        }
        return unmap_magic(path, buf, len, REAL(readlinkat)(dirfd, path, buf, len));
}

OVL_EXPORT ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen)
{
        return readlink(path, buf, len < buflen ? len : buflen);
}

OVL_EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len,
                                    size_t buflen)
{
        return readlinkat(dirfd, path, buf, len < buflen ? len : buflen);
}

static char *give_path(const char *v, char *resolved)
{
        if (!resolved) {
                char *p = strdup(v);
                if (!p) {
                        errno = ENOMEM;
                }
                return p;
        }
        snprintf(resolved, PATH_MAX, "%s", v);
        return resolved;
}

static char *realpath_in(const char *path, char *resolved, bool *handled)
{
        struct ovl_loc loc;
        int k = ovl_at(AT_FDCWD, path, 0, &loc);
        *handled = k != OVL_PASS;
        if (k == OVL_PASS) {
                return NULL;
        }
        if (k == OVL_OUT) {
                return REAL(realpath)(loc.real, resolved);
        }
        int r = k < 0 ? k : (loc.layer < 0 ? -ENOENT : 0);
        char v[PATH_MAX];
        if (r == 0) {
                r = ovl_loc_path(&loc, v, sizeof(v));
        }
        ovl_log("realpath", path, k < 0 ? NULL : &loc, r);
        if (r < 0) {
                errno = -r;
                return NULL;
        }
        return give_path(v, resolved);
}

OVL_EXPORT char *realpath(const char *path, char *resolved)
{
        bool handled;
        char *r = realpath_in(path, resolved, &handled);
        return handled ? r : REAL(realpath)(path, resolved);
}

OVL_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
        (void)resolvedlen;
        return realpath(path, resolved);
}

OVL_EXPORT char *canonicalize_file_name(const char *path)
{
        return realpath(path, NULL);
}
