/* Reading xattrs through the merged view: the overlay's private names are
 * hidden, escaped ones shown unescaped (SEMANTICS.md rules 61-62). */
#include "preload.h"
#include "markers.h"
#include "sys.h"

#include <stdlib.h>
#include <string.h>

#define LIST_MAX 65536

/* The name stored on disk for one the program asks for (the core's escaping);
 * NULL for a name of the overlay's own, which reads as missing. */
static const char *disk_name(const char *name, char *buf, size_t cap)
{
        return ovl_xattr_disk_name(name, buf, cap) == 0 ? buf : NULL;
}

/* Keep what the program may see of a raw list; returns the new length. */
static ssize_t filter_list(char *list, ssize_t n)
{
        char *out = malloc((size_t)n + 1);
        if (!out) {
                return -ENOMEM;
        }
        ssize_t o = 0;
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
                char buf[XATTR_NAME_MAX + 1];
                const char *s = ovl_xattr_shown(list + i, buf, sizeof(buf));
                if (s) {
                        size_t l = strlen(s) + 1;
                        memcpy(out + o, s, l);
                        o += (ssize_t)l;
                }
        }
        memcpy(list, out, (size_t)o);
        free(out);
        return o;
}

static ssize_t give_list(char *raw, ssize_t n, char *list, size_t size)
{
        if (n < 0) {
                return n;
        }
        n = filter_list(raw, n);
        if (n < 0 || size == 0) {
                return n;
        }
        if ((size_t)n > size) {
                return -ERANGE;
        }
        memcpy(list, raw, (size_t)n);
        return n;
}

static ssize_t list_at(int fd, const char *rel, char *list, size_t size)
{
        char *raw = malloc(LIST_MAX);
        if (!raw) {
                return -ENOMEM;
        }
        ssize_t n = give_list(raw, ovl_sys_listxattrat(fd, rel, raw, LIST_MAX), list, size);
        free(raw);
        return n;
}

/* "." of a removed cwd is left to the kernel (ovl_at), which answers from the
 * real directory the process stands in: its markers stay as hidden as on any
 * merged directory. */
static bool dead_dot(const char *path)
{
        return ovl_base_dead(AT_FDCWD, path) != NULL;
}

/* ... unless the cwd is the shadow of a removed directory with a record
 * (ovlshim.h): its path in rec, where the removed copy's xattrs are kept. */
static bool dead_dot_record(const char *path, char *rec)
{
        return ovl_dots_only(path) && ovl_dead_record_held(AT_FDCWD, rec);
}

static ssize_t getx_at(int fd, const char *rel, const char *name, void *val, size_t size)
{
        char buf[XATTR_NAME_MAX + 16];
        const char *dn = name ? disk_name(name, buf, sizeof(buf)) : NULL;
        return dn ? ovl_sys_getxattrat(fd, rel, dn, val, size) : -ENODATA;
}

static bool getx_in(const char *call, const char *path, const char *name, void *val, size_t size,
                    int rflags, ssize_t *res)
{
        struct ovl_loc loc;
        int k = ovl_at(AT_FDCWD, path, rflags, &loc);
        char rec[PATH_MAX];
        if (k == OVL_PASS && dead_dot(path)) {
                bool r = dead_dot_record(path, rec);
                *res = ovl_ret(getx_at(AT_FDCWD, r ? rec : path, name, val, size));
                return true;
        }
        if (k == OVL_PASS) {
                return false;
        }
        if (k == OVL_OUT) {
                *res = rflags ? REAL(lgetxattr)(loc.real, name, val, size)
                              : REAL(getxattr)(loc.real, name, val, size);
                return true;
        }
        ssize_t r = k < 0 ? k : (loc.layer < 0 ? -ENOENT : 0);
        if (r == 0) {
                r = getx_at(ovl_loc_attr_fd(&loc), ovl_loc_attr_rel(&loc), name, val, size);
        }
        ovl_log(call, path, k < 0 ? NULL : &loc, r);
        *res = ovl_ret(r);
        return true;
}

static bool listx_in(const char *call, const char *path, char *list, size_t size, int rflags,
                     ssize_t *res)
{
        struct ovl_loc loc;
        int k = ovl_at(AT_FDCWD, path, rflags, &loc);
        char rec[PATH_MAX];
        if (k == OVL_PASS && dead_dot(path)) {
                bool r = dead_dot_record(path, rec);
                *res = ovl_ret(list_at(AT_FDCWD, r ? rec : path, list, size));
                return true;
        }
        if (k == OVL_PASS) {
                return false;
        }
        if (k == OVL_OUT) {
                *res = rflags ? REAL(llistxattr)(loc.real, list, size)
                              : REAL(listxattr)(loc.real, list, size);
                return true;
        }
        ssize_t r = k < 0 ? k : (loc.layer < 0 ? -ENOENT : 0);
        if (r == 0) {
                r = list_at(ovl_loc_attr_fd(&loc), ovl_loc_attr_rel(&loc), list, size);
        }
        ovl_log(call, path, k < 0 ? NULL : &loc, r);
        *res = ovl_ret(r);
        return true;
}

OVL_EXPORT ssize_t getxattr(const char *path, const char *name, void *val, size_t size)
{
        ssize_t res;
        if (getx_in("getxattr", path, name, val, size, 0, &res)) {
                return res;
        }
        return REAL(getxattr)(path, name, val, size);
}

OVL_EXPORT ssize_t lgetxattr(const char *path, const char *name, void *val, size_t size)
{
        ssize_t res;
        if (getx_in("lgetxattr", path, name, val, size, OVL_R_NOFOLLOW, &res)) {
                return res;
        }
        return REAL(lgetxattr)(path, name, val, size);
}

OVL_EXPORT ssize_t listxattr(const char *path, char *list, size_t size)
{
        ssize_t res;
        if (listx_in("listxattr", path, list, size, 0, &res)) {
                return res;
        }
        return REAL(listxattr)(path, list, size);
}

OVL_EXPORT ssize_t llistxattr(const char *path, char *list, size_t size)
{
        ssize_t res;
        if (listx_in("llistxattr", path, list, size, OVL_R_NOFOLLOW, &res)) {
                return res;
        }
        return REAL(llistxattr)(path, list, size);
}

OVL_EXPORT ssize_t fgetxattr(int fd, const char *name, void *val, size_t size)
{
        char v[PATH_MAX], buf[XATTR_NAME_MAX + 16];
        if (ovl_active() && ovl_dead_record_held(fd, v)) { /* the removed copy's */
                return ovl_ret(getx_at(AT_FDCWD, v, name, val, size));
        }
        if (!name || !ovl_xattr_private(name) || !ovl_fd_merged(fd, v, sizeof(v), NULL)) {
                return REAL(fgetxattr)(fd, name, val, size);
        }
        const char *dn = disk_name(name, buf, sizeof(buf));
        return ovl_ret(dn ? ovl_sys_fgetxattr(fd, dn, val, size) : -ENODATA);
}

OVL_EXPORT ssize_t flistxattr(int fd, char *list, size_t size)
{
        char v[PATH_MAX];
        if (ovl_active() && ovl_dead_record_held(fd, v)) { /* the removed copy's */
                return ovl_ret(list_at(AT_FDCWD, v, list, size));
        }
        if (!ovl_fd_merged(fd, v, sizeof(v), NULL)) {
                return REAL(flistxattr)(fd, list, size);
        }
        char *raw = malloc(LIST_MAX);
        if (!raw) {
                return ovl_ret(-ENOMEM);
        }
        ssize_t n = give_list(raw, ovl_sys_flistxattr(fd, raw, LIST_MAX), list, size);
        free(raw);
        return ovl_ret(n);
}
