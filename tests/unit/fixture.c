/* Shared fixture of the core unit tests; see fixture.h. */
#include "fixture.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

char fx_root[PATH_MAX];
struct ovl_config fx_cfg;
struct ovl_loc *fx_loc;

const char *const fx_wh_names[FX_WH_COUNT] = {"chardev 0/0", "user.overlay.whiteout",
                                              "trusted.overlay.whiteout", ".wh.NAME"};
const char *const fx_opq_names[FX_OPQ_COUNT] = {"trusted.overlay.opaque", "user.overlay.opaque",
                                                "user.fuseoverlayfs.opaque", ".wh..wh..opq"};

void fx_setup(void)
{
        char t[] = "/tmp/ovlfx-XXXXXX";
        cr_assert_not_null(mkdtemp(t), "mkdtemp: %s", strerror(errno));
        cr_assert_not_null(realpath(t, fx_root));
        memset(&fx_cfg, 0, sizeof(fx_cfg));
        fx_loc = calloc(1, sizeof(*fx_loc));
        cr_assert_not_null(fx_loc);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)st;
        (void)flag;
        (void)f;
        return remove(p);
}

void fx_teardown(void)
{
        ovl_config_free(&fx_cfg);
        free(fx_loc);
        fx_loc = NULL;
        if (fx_root[0]) {
                nftw(fx_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        }
}

#define NBUF 16

const char *fx_path(const char *rel)
{
        static char bufs[NBUF][2 * PATH_MAX];
        static int next;
        char *o = bufs[next++ % NBUF];
        if (rel[0]) {
                snprintf(o, sizeof(bufs[0]), "%s/%s", fx_root, rel);
        } else {
                snprintf(o, sizeof(bufs[0]), "%s", fx_root);
        }
        return o;
}

const char *fx_at(const char *fmt)
{
        static char bufs[4][1 << 16];
        static int next;
        char *o = bufs[next++ % 4];
        size_t k = 0;
        for (const char *s = fmt; *s && k + PATH_MAX < sizeof(bufs[0]); s++) {
                if (*s == '@') {
                        k += (size_t)snprintf(o + k, sizeof(bufs[0]) - k, "%s", fx_root);
                } else {
                        o[k++] = *s;
                }
        }
        o[k] = '\0';
        return o;
}

void fx_mkdir(const char *rel)
{
        char p[2 * PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", fx_root, rel);
        for (char *s = p + strlen(fx_root) + 1; *s; s++) {
                if (*s == '/') {
                        *s = '\0';
                        mkdir(p, 0755);
                        *s = '/';
                }
        }
        cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
}

/* Make the parent directories of rel. */
static void parents(const char *rel)
{
        char d[PATH_MAX];
        snprintf(d, sizeof(d), "%s", rel);
        char *s = strrchr(d, '/');
        if (s) {
                *s = '\0';
                fx_mkdir(d);
        }
}

void fx_file(const char *rel, const char *content)
{
        parents(rel);
        const char *p = fx_path(rel);
        int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        cr_assert_geq(fd, 0, "create %s: %s", p, strerror(errno));
        size_t n = content ? strlen(content) : 0;
        cr_assert_eq(write(fd, content ? content : "", n), (ssize_t)n);
        close(fd);
}

void fx_symlink(const char *target, const char *rel)
{
        parents(rel);
        const char *p = fx_path(rel);
        cr_assert_eq(symlink(target, p), 0, "symlink %s: %s", p, strerror(errno));
}

void fx_mknod_chr(const char *rel, unsigned maj, unsigned min)
{
        parents(rel);
        const char *p = fx_path(rel);
        cr_assert_eq(mknod(p, S_IFCHR, makedev(maj, min)), 0, "mknod %s: %s", p, strerror(errno));
}

void fx_fifo(const char *rel)
{
        parents(rel);
        const char *p = fx_path(rel);
        cr_assert_eq(mkfifo(p, 0644), 0, "mkfifo %s: %s", p, strerror(errno));
}

void fx_xattr(const char *rel, const char *name, const char *value)
{
        const char *p = fx_path(rel);
        cr_assert_eq(lsetxattr(p, name, value, strlen(value), 0), 0, "setxattr %s %s: %s", p, name,
                     strerror(errno));
}

struct stat fx_lstat(const char *rel)
{
        struct stat st;
        const char *p = fx_path(rel);
        cr_assert_eq(lstat(p, &st), 0, "lstat %s: %s", p, strerror(errno));
        return st;
}

void fx_whiteout(const char *rel, enum fx_wh kind)
{
        char p[PATH_MAX];
        const char *base;
        switch (kind) {
        case FX_WH_CHARDEV:
                fx_mknod_chr(rel, 0, 0);
                break;
        case FX_WH_XATTR_USER:
                fx_file(rel, "");
                fx_xattr(rel, "user.overlay.whiteout", "");
                break;
        case FX_WH_XATTR_TRUSTED:
                fx_file(rel, "");
                fx_xattr(rel, "trusted.overlay.whiteout", "");
                break;
        case FX_WH_OCI:
                base = strrchr(rel, '/');
                cr_assert_not_null(base);
                snprintf(p, sizeof(p), "%.*s/.wh.%s", (int)(base - rel), rel, base + 1);
                fx_file(p, "");
                break;
        default:
                cr_assert_fail("bad whiteout kind %d", kind);
        }
}

void fx_opaque(const char *rel, enum fx_opq kind)
{
        char p[PATH_MAX];
        fx_mkdir(rel);
        switch (kind) {
        case FX_OPQ_TRUSTED:
                fx_xattr(rel, "trusted.overlay.opaque", "y");
                break;
        case FX_OPQ_USER:
                fx_xattr(rel, "user.overlay.opaque", "y");
                break;
        case FX_OPQ_FUSE:
                fx_xattr(rel, "user.fuseoverlayfs.opaque", "y");
                break;
        case FX_OPQ_OCI:
                snprintf(p, sizeof(p), "%s/.wh..wh..opq", rel);
                fx_file(p, "");
                break;
        default:
                cr_assert_fail("bad opaque kind %d", kind);
        }
}

void fx_config(const char *text)
{
        const char *t = fx_at(text);
        struct ovl_error err;
        memset(&err, 0, sizeof(err));
        ovl_config_free(&fx_cfg);
        int r = ovl_config_parse(t, strlen(t), fx_root, NULL, &fx_cfg, &err);
        cr_assert_eq(r, 0, "parse '%s': %d %s", t, r, err.msg);
        r = ovl_config_check(&fx_cfg, &err);
        cr_assert_eq(r, 0, "check '%s': %d %s", t, r, err.msg);
}

void fx_mount(const char *merged, const char *lowers, const char *upper)
{
        char text[8192];
        size_t k = (size_t)snprintf(text, sizeof(text), "@/%s lowerdir=", merged);
        fx_mkdir(merged);
        const char *s = lowers;
        for (bool first = true; *s; first = false) {
                size_t n = strcspn(s, ":");
                char l[PATH_MAX];
                snprintf(l, sizeof(l), "%.*s", (int)n, s);
                fx_mkdir(l);
                k += (size_t)snprintf(text + k, sizeof(text) - k, "%s@/%s", first ? "" : ":", l);
                s += n + (s[n] == ':');
        }
        if (upper) {
                fx_mkdir(upper);
                fx_mkdir("w");
                snprintf(text + k, sizeof(text) - k, ",upperdir=@/%s,workdir=@/w\n", upper);
        }
        fx_config(text);
}

int fx_resolve(const char *rel, int flags)
{
        memset(fx_loc, 0, sizeof(*fx_loc));
        return ovl_resolve(&fx_cfg, NULL, fx_path(rel), flags, fx_loc);
}

struct stat fx_loc_stat(void)
{
        struct stat st;
        ovl_loc_stat(fx_loc, &st);
        return st;
}

size_t fx_raw_names(const char *rel, char (*names)[NAME_MAX + 1], size_t max)
{
        const char *p = fx_path(rel);
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert_geq(fd, 0, "open %s: %s", p, strerror(errno));
        char buf[32768];
        size_t k = 0;
        ssize_t n;
        while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
                for (ssize_t off = 0; off < n;) {
                        struct dirent64 *d = (struct dirent64 *)(buf + off);
                        off += d->d_reclen;
                        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) {
                                continue;
                        }
                        cr_assert_lt(k, max, "too many names in %s", p);
                        size_t len = strnlen(d->d_name, NAME_MAX);
                        memcpy(names[k], d->d_name, len);
                        names[k++][len] = '\0';
                }
        }
        cr_assert_geq(n, 0, "getdents64 %s: %s", p, strerror(errno));
        close(fd);
        return k;
}
