/* Copying objects between layer directories with their metadata (commit,
 * squash), and writing markers in the format DESIGN.md writes. Paths are
 * relative to the root fds of the two trees. */
#include "markers.h"
#include "ovl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <uthash.h>

struct hlink {
        struct {
                dev_t dev;
                ino_t ino;
        } key;
        char *drel; /* the first copy, relative to droot */
        UT_hash_handle hh;
};

/* xattr calls have no *at form: name the object through /proc/self/fd. */
static char *proc_path(int root, const char *rel)
{
        return xasprintf("/proc/self/fd/%d/%s", root, rel);
}

static void copy_xattrs(struct copy_ctx *c, int sroot, const char *srel, const char *drel)
{
        char *sp = proc_path(sroot, srel), *dp = proc_path(c->droot, drel);
        ssize_t n = llistxattr(sp, NULL, 0);
        char *list = n > 0 ? xmalloc((size_t)n) : NULL;
        n = n > 0 ? llistxattr(sp, list, (size_t)n) : 0;
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
                const char *name = list + i;
                if (ovl_xattr_private(name)) {
                        continue;
                }
                ssize_t vn = lgetxattr(sp, name, NULL, 0);
                char *v = xmalloc(vn > 0 ? (size_t)vn : 1);
                vn = vn > 0 ? lgetxattr(sp, name, v, (size_t)vn) : vn;
                if (vn >= 0 && lsetxattr(dp, name, v, (size_t)vn, 0) < 0) {
                        c->xattrs_lost++;
                        warn("%s: xattr %s not copied: %s", drel, name, strerror(errno));
                }
                free(v);
        }
        free(list);
        free(sp);
        free(dp);
}

static int copy_data(int sroot, const char *srel, int dfd)
{
        int sfd = openat(sroot, srel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0) {
                return -errno;
        }
        char buf[65536];
        ssize_t got;
        int r = 0;
        while ((got = copy_file_range(sfd, NULL, dfd, NULL, 1 << 30, 0)) > 0) {
        }
        if (got < 0) { /* across file systems on old kernels, or special files */
                while ((got = read(sfd, buf, sizeof(buf))) > 0) {
                        if (write(dfd, buf, (size_t)got) != got) {
                                got = -1;
                                break;
                        }
                }
        }
        if (got < 0) {
                r = -errno;
        }
        close(sfd);
        return r;
}

static int make_object(struct copy_ctx *c, int sroot, const char *srel, const struct stat *st,
                       const char *drel)
{
        switch (st->st_mode & S_IFMT) {
        case S_IFDIR:
                return mkdirat(c->droot, drel, 0700) < 0 ? -errno : 0;
        case S_IFLNK: {
                char t[PATH_MAX + 1];
                ssize_t n = readlinkat(sroot, srel, t, PATH_MAX);
                if (n < 0) {
                        return -errno;
                }
                t[n] = '\0';
                return symlinkat(t, c->droot, drel) < 0 ? -errno : 0;
        }
        case S_IFREG: {
                int fd = openat(c->droot, drel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
                if (fd < 0) {
                        return -errno;
                }
                int r = copy_data(sroot, srel, fd);
                close(fd);
                return r;
        }
        default: /* fifo, socket, device */
                if (mknodat(c->droot, drel, st->st_mode & S_IFMT, st->st_rdev) < 0) {
                        return -errno;
                }
                return 0;
        }
}

int copy_object(struct copy_ctx *c, int sroot, const char *srel, const struct stat *st,
                const char *drel)
{
        struct hlink *h = NULL;
        bool linked = !S_ISDIR(st->st_mode) && st->st_nlink > 1;
        if (linked) {
                struct hlink k = {.key = {st->st_dev, st->st_ino}};
                HASH_FIND(hh, c->links, &k.key, sizeof(k.key), h);
                if (h) {
                        return linkat(c->droot, h->drel, c->droot, drel, 0) < 0 ? -errno : 0;
                }
        }
        int r = make_object(c, sroot, srel, st, drel);
        if (r == -EPERM && (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))) {
                c->devices_lost++;
                warn("%s: device node %u:%u not copied (needs privilege)", drel, major(st->st_rdev),
                     minor(st->st_rdev));
                return 0;
        }
        if (r < 0) {
                return r;
        }
        if (fchownat(c->droot, drel, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
                c->owners_lost++;
        }
        if (!S_ISLNK(st->st_mode) && !S_ISDIR(st->st_mode)) {
                fchmodat(c->droot, drel, st->st_mode & 07777, 0);
        }
        copy_xattrs(c, sroot, srel, drel);
        if (!S_ISDIR(st->st_mode)) {
                const struct timespec ts[2] = {st->st_atim, st->st_mtim};
                utimensat(c->droot, drel, ts, AT_SYMLINK_NOFOLLOW);
        }
        if (linked) {
                h = xmalloc(sizeof(*h));
                *h = (struct hlink){.key = {st->st_dev, st->st_ino}, .drel = xstrdup(drel)};
                HASH_ADD(hh, c->links, key, sizeof(h->key), h);
        }
        return 0;
}

void copy_dir_finish(struct copy_ctx *c, const char *drel, const struct stat *st)
{
        fchmodat(c->droot, *drel ? drel : ".", st->st_mode & 07777, 0);
        const struct timespec ts[2] = {st->st_atim, st->st_mtim};
        utimensat(c->droot, *drel ? drel : ".", ts, AT_SYMLINK_NOFOLLOW);
}

void copy_ctx_free(struct copy_ctx *c)
{
        struct hlink *h, *tmp;
        HASH_ITER(hh, c->links, h, tmp)
        {
                HASH_DEL(c->links, h);
                free(h->drel);
                free(h);
        }
}

void copy_report(const struct copy_ctx *c)
{
        if (c->owners_lost) {
                warn("%lu owners could not be kept (not running as root)", c->owners_lost);
        }
        if (c->devices_lost) {
                warn("%lu device nodes could not be made (not running as root)", c->devices_lost);
        }
        if (c->xattrs_lost) {
                warn("%lu xattrs could not be copied", c->xattrs_lost);
        }
}

int write_opaque(int root, const char *rel)
{
        char *p = proc_path(root, rel);
        int r = lsetxattr(p, "user.overlay.opaque", "y", 1, 0) < 0 ? -errno : 0;
        if (r == 0 && geteuid() == 0) {
                lsetxattr(p, "trusted.overlay.opaque", "y", 1, 0);
        }
        free(p);
        if (r < 0) { /* no user xattrs here: the OCI marker */
                char *m = path_join(rel, ".wh..wh..opq");
                int fd = openat(root, m, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                r = fd < 0 ? -errno : close(fd);
                free(m);
        }
        return r;
}

int write_whiteout(int root, const char *dir, const char *name)
{
        char *p = path_join(dir, name);
        int r = mknodat(root, p, S_IFCHR | 0000, makedev(0, 0)) < 0 ? -errno : 0;
        free(p);
        if (r == -EPERM || r == -EOPNOTSUPP) { /* no whiteout devices here */
                if (strlen(name) + 4 > NAME_MAX) {
                        return -ENAMETOOLONG;
                }
                char *wn = xasprintf(".wh.%s", name);
                p = path_join(dir, wn);
                int fd = openat(root, p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                r = fd < 0 ? -errno : close(fd);
                free(p);
                free(wn);
        }
        return r;
}
