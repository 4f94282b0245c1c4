/* Detection of whiteouts and opaque directories in all the formats of
 * SEMANTICS.md section 2: chardev 0/0 (W1), xattr whiteouts in both
 * namespaces (W2), `.wh.NAME` (W3); opaque xattrs trusted/user/fuseoverlayfs
 * = "y" (O1, O2, O5) and `.wh..wh..opq` (O4). */
#include "markers.h"
#include "sys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#define WH_PREFIX ".wh."
#define WH_OPQ ".wh..wh..opq"

static bool list_has(const char *list, ssize_t n, const char *name)
{
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
                if (strcmp(list + i, name) == 0) {
                        return true;
                }
        }
        return false;
}

bool ovl_marker_is_whiteout(int fd, const char *rp, const struct stat *st)
{
        if (S_ISCHR(st->st_mode)) {
                return st->st_rdev == makedev(0, 0);
        }
        if (!S_ISREG(st->st_mode) || st->st_size != 0) {
                return false;
        }
        char list[4096];
        ssize_t n = ovl_sys_listxattrat(fd, rp, list, sizeof(list));
        if (n == -ERANGE) {
                char v[1];
                return ovl_sys_getxattrat(fd, rp, "user.overlay.whiteout", v, 0) >= 0 ||
                       ovl_sys_getxattrat(fd, rp, "trusted.overlay.whiteout", v, 0) >= 0;
        }
        return n > 0 && (list_has(list, n, "user.overlay.whiteout") ||
                         list_has(list, n, "trusted.overlay.whiteout"));
}

/* Is there a `.wh.NAME` next to `rp` in this layer? */
static bool oci_whiteout(int fd, const char *rp)
{
        char p[PATH_MAX];
        const char *base = strrchr(rp, '/');
        size_t dl = base ? (size_t)(base - rp) + 1 : 0;
        base = base ? base + 1 : rp;
        size_t bl = strlen(base);
        if (bl + sizeof(WH_PREFIX) - 1 > NAME_MAX || dl + bl + 5 > sizeof(p)) {
                return false;
        }
        memcpy(p, rp, dl);
        memcpy(p + dl, WH_PREFIX, 4);
        memcpy(p + dl + 4, base, bl + 1);
        struct stat st;
        return ovl_sys_lstatat(fd, p, &st) == 0;
}

static int probe_once(struct ovl_layer *l, const char *rp, struct stat *st, int *fdp)
{
        int fd = ovl_layer_fd(l);
        if (fd < 0) {
                return fd;
        }
        *fdp = fd;
        return ovl_sys_lstatat(fd, rp, st);
}

int ovl_marker_probe(struct ovl_layer *l, const char *rp, struct stat *st)
{
        int fd = -1;
        int r = probe_once(l, rp, st, &fd);
        if (r == -EBADF && fd >= 0) { /* our fd was closed behind our back */
                ovl_layer_fd_lost(l, fd);
                r = probe_once(l, rp, st, &fd);
        }
        if (r == -ENOENT || r == -ENOTDIR) {
                return oci_whiteout(fd, rp) ? OVL_P_WHITEOUT : OVL_P_ABSENT;
        }
        if (r < 0) {
                return r;
        }
        if (ovl_marker_is_whiteout(fd, rp, st)) {
                return OVL_P_WHITEOUT;
        }
        return S_ISDIR(st->st_mode) && oci_whiteout(fd, rp) ? OVL_P_FOUND_OPAQUE : OVL_P_FOUND;
}

static bool xattr_is_y(int fd, const char *rp, const char *name, bool first_byte)
{
        char v[8];
        ssize_t n = ovl_sys_getxattrat(fd, rp, name, v, sizeof(v));
        if (n == -ERANGE) {
                return false;
        }
        return n >= 1 && v[0] == 'y' && (n == 1 || first_byte);
}

int ovl_marker_opaque(int fd, const char *rp)
{
        if (!rp[0] || (rp[0] == '.' && !rp[1])) {
                return 0;
        }
        char list[4096];
        ssize_t n = ovl_sys_listxattrat(fd, rp, list, sizeof(list));
        if (n > 0 || n == -ERANGE) {
                bool all = n == -ERANGE;
                if ((all || list_has(list, n, "trusted.overlay.opaque")) &&
                    xattr_is_y(fd, rp, "trusted.overlay.opaque", false)) {
                        return 1;
                }
                if ((all || list_has(list, n, "user.overlay.opaque")) &&
                    xattr_is_y(fd, rp, "user.overlay.opaque", false)) {
                        return 1;
                }
                if ((all || list_has(list, n, "user.fuseoverlayfs.opaque")) &&
                    xattr_is_y(fd, rp, "user.fuseoverlayfs.opaque", true)) {
                        return 1;
                }
        }
        char p[PATH_MAX];
        if (snprintf(p, sizeof(p), "%s/" WH_OPQ, rp) >= (int)sizeof(p)) {
                return 0;
        }
        struct stat st;
        return ovl_sys_lstatat(fd, p, &st) == 0;
}

bool ovl_marker_name(const char *name, size_t n)
{
        return n >= 4 && memcmp(name, WH_PREFIX, 4) == 0;
}

const char *ovl_marker_whiteout_target(const char *name)
{
        if (strncmp(name, WH_PREFIX, 4) != 0 || strcmp(name, WH_OPQ) == 0 ||
            strncmp(name, ".wh..wh.", 8) == 0 || !name[4]) {
                return NULL;
        }
        return name + 4;
}

static const char *const private_prefixes[] = {"trusted.overlay.", "user.overlay.",
                                               "user.fuseoverlayfs."};

bool ovl_xattr_private(const char *name)
{
        for (size_t i = 0; i < sizeof(private_prefixes) / sizeof(*private_prefixes); i++) {
                if (strncmp(name, private_prefixes[i], strlen(private_prefixes[i])) == 0) {
                        return true;
                }
        }
        return false;
}

const char *ovl_xattr_shown(const char *name, char *buf, size_t cap)
{
        static const char *const ns[] = {"trusted.overlay.", "user.overlay."};
        for (size_t i = 0; i < 2; i++) {
                size_t pl = strlen(ns[i]);
                if (strncmp(name, ns[i], pl) == 0 && strncmp(name + pl, "overlay.", 8) == 0) {
                        if (snprintf(buf, cap, "%s%s", ns[i], name + pl + 8) >= (int)cap) {
                                return NULL;
                        }
                        return buf;
                }
        }
        return ovl_xattr_private(name) ? NULL : name;
}
