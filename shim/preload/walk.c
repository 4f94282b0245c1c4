/* nftw and ftw, rebuilt on the shim's own stat, opendir and readdir: glibc's
 * walk their trees with internal calls the preload cannot see. Trees outside
 * every overlay still go to glibc's own. */
#include "preload.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef int (*nftw_fn)(const char *, const struct stat *, int, struct FTW *);

/* A directory already reported: glibc's nftw reports each directory once
 * when it follows symlinks, whichever name reaches it first. */
struct seen {
        UT_hash_handle hh;
        struct {
                dev_t dev;
                ino_t ino;
        } key;
};

struct walker {
        struct seen *seen;
        nftw_fn fn;
        int flags;
        dev_t dev;
        int cwd; /* FTW_CHDIR: where the walk started */
        size_t len;
        char path[2 * PATH_MAX];
};

static int classify(struct walker *w, struct stat *st)
{
        if (w->flags & FTW_PHYS) {
                if (lstat(w->path, st) < 0) {
                        return FTW_NS;
                }
                return S_ISDIR(st->st_mode) ? FTW_D : S_ISLNK(st->st_mode) ? FTW_SL : FTW_F;
        }
        if (stat(w->path, st) == 0) {
                return S_ISDIR(st->st_mode) ? FTW_D : FTW_F;
        }
        return lstat(w->path, st) == 0 && S_ISLNK(st->st_mode) ? FTW_SLN : FTW_NS;
}

/* With FTW_ACTIONRETVAL, what the callback asked for. */
static bool stop(struct walker *w, int r)
{
        return (w->flags & FTW_ACTIONRETVAL) ? r == FTW_STOP || r == FTW_SKIP_SIBLINGS : r != 0;
}

static int call(struct walker *w, const struct stat *st, int type, int base, int level)
{
        struct FTW f = {base, level};
        if (w->flags & FTW_CHDIR) {
                char dir[2 * PATH_MAX];
                snprintf(dir, sizeof(dir), "%.*s", base ? base - 1 : 0, w->path);
                fchdir(w->cwd);
                if (base && chdir(base == 1 ? "/" : dir) < 0) {
                        return -1;
                }
        }
        return w->fn(w->path, st, type, &f);
}

static int visit(struct walker *w, int base, int level);

static bool already_seen(struct walker *w, const struct stat *st)
{
        struct seen probe, *e;
        memset(&probe, 0, sizeof(probe));
        probe.key.dev = st->st_dev;
        probe.key.ino = st->st_ino;
        HASH_FIND(hh, w->seen, &probe.key, sizeof(probe.key), e);
        if (e) {
                return true;
        }
        e = calloc(1, sizeof(*e));
        if (e) {
                e->key = probe.key;
                HASH_ADD(hh, w->seen, key, sizeof(e->key), e);
        }
        return false;
}

static int children(struct walker *w, DIR *d, int level)
{
        struct dirent *e;
        int r = 0;
        size_t len = w->len;
        while (r == 0 && (e = readdir(d)) != NULL) {
                const char *n = e->d_name;
                if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]))) {
                        continue;
                }
                int l = snprintf(w->path + len, sizeof(w->path) - len, "%s%s",
                                 w->path[len - 1] == '/' ? "" : "/", n);
                if (l < 0 || (size_t)l >= sizeof(w->path) - len) {
                        errno = ENAMETOOLONG;
                        r = -1;
                        break;
                }
                w->len = len + (size_t)l;
                r = visit(w, (int)(w->len - strlen(n)), level + 1);
                w->len = len;
                w->path[len] = '\0';
                if ((w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SIBLINGS) {
                        r = 0;
                        break;
                }
        }
        return r;
}

static int visit(struct walker *w, int base, int level)
{
        struct stat st;
        int type = classify(w, &st);
        if (type == FTW_D && (w->flags & FTW_MOUNT) && st.st_dev != w->dev) {
                return 0;
        }
        if (type != FTW_D) {
                return call(w, &st, type, base, level);
        }
        if (!(w->flags & FTW_PHYS) && already_seen(w, &st)) {
                return 0;
        }
        DIR *d = opendir(w->path);
        if (!d) {
                return call(w, &st, FTW_DNR, base, level);
        }
        int r = 0;
        if (!(w->flags & FTW_DEPTH)) {
                r = call(w, &st, FTW_D, base, level);
                if ((w->flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SUBTREE) {
                        closedir(d);
                        return 0;
                }
        }
        if (!stop(w, r)) {
                r = children(w, d, level);
        }
        closedir(d);
        if (!stop(w, r) && (w->flags & FTW_DEPTH)) {
                r = call(w, &st, FTW_DP, base, level);
        }
        return r;
}

static int walk(const char *dir, nftw_fn fn, int flags)
{
        struct walker *w = calloc(1, sizeof(*w));
        if (!w) {
                errno = ENOMEM;
                return -1;
        }
        w->fn = fn, w->flags = flags, w->cwd = -1;
        w->len = strlen(dir);
        struct stat st;
        if (w->len >= sizeof(w->path) || stat(dir, &st) < 0) {
                int saved = w->len >= sizeof(w->path) ? ENAMETOOLONG : errno;
                free(w);
                errno = saved;
                return -1;
        }
        memcpy(w->path, dir, w->len + 1);
        w->dev = st.st_dev;
        if (flags & FTW_CHDIR) {
                w->cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        const char *slash = strrchr(dir, '/');
        int base = slash && slash[1] ? (int)(slash - dir + 1) : 0;
        int r = visit(w, base, 0);
        if (w->cwd >= 0) {
                int saved = errno;
                fchdir(w->cwd);
                close(w->cwd);
                errno = saved;
        }
        struct seen *e, *tmp;
        HASH_ITER(hh, w->seen, e, tmp)
        {
                HASH_DEL(w->seen, e);
                free(e);
        }
        free(w);
        return (flags & FTW_ACTIONRETVAL) && r == FTW_SKIP_SUBTREE ? 0 : r;
}

static bool in_overlay(const char *dir)
{
        struct ovl_loc loc;
        return ovl_at(AT_FDCWD, dir, 0, &loc) != OVL_PASS;
}

OVL_EXPORT int nftw(const char *dir, nftw_fn fn, int nopenfd, int flags)
{
        return in_overlay(dir) ? walk(dir, fn, flags) : REAL(nftw)(dir, fn, nopenfd, flags);
}

OVL_EXPORT int nftw64(const char *dir,
                      int (*fn)(const char *, const struct stat64 *, int, struct FTW *),
                      int nopenfd, int flags)
{
        return in_overlay(dir) ? walk(dir, (nftw_fn)fn, flags)
                               : REAL(nftw64)(dir, fn, nopenfd, flags);
}

/* ftw is nftw without FTW flags and with a three-argument callback. */
static __thread __ftw_func_t ftw_user;

static int ftw_tramp(const char *path, const struct stat *st, int type, struct FTW *f)
{
        return ftw_user(path, st, type == FTW_SLN ? FTW_NS : type);
}

OVL_EXPORT int ftw(const char *dir, __ftw_func_t fn, int nopenfd)
{
        if (!in_overlay(dir)) {
                return REAL(ftw)(dir, fn, nopenfd);
        }
        __ftw_func_t saved = ftw_user;
        ftw_user = fn;
        int r = walk(dir, ftw_tramp, 0);
        ftw_user = saved;
        return r;
}

OVL_EXPORT int ftw64(const char *dir, __ftw64_func_t fn, int nopenfd)
{
        if (!in_overlay(dir)) {
                return REAL(ftw64)(dir, fn, nopenfd);
        }
        return ftw(dir, (__ftw_func_t)fn, nopenfd);
}
