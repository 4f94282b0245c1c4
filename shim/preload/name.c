/* Names as the kernel's namespace calls see them (filename_parentat in
 * fs/namei.c): the directory that holds the last component is walked first
 * and its errors come first; the last component is then looked up without
 * following it, and each call decides, in the kernel's order, what a
 * trailing slash, "." or ".." or a missing name means. Without this split a
 * trailing slash on a new name made a file (the kernel says EISDIR or
 * ENOENT), and a rename across an overlay's edge answered EXDEV before the
 * kernel's EBADF or ENOENT for the other name. */
#include "name.h"
#include "sys.h"

#include <string.h>

/* The last component of path[0..len): its offset and kind. */
static size_t last_comp(const char *path, size_t len, struct ovl_name *nm)
{
        size_t b = len;
        while (b > 0 && path[b - 1] != '/') {
                b--;
        }
        size_t n = len - b;
        nm->toolong = n > NAME_MAX;
        if (n == 0) {
                nm->last = OVL_LAST_ROOT;
        } else if (n == 1 && path[b] == '.') {
                nm->last = OVL_LAST_DOT;
        } else if (n == 2 && path[b] == '.' && path[b + 1] == '.') {
                nm->last = OVL_LAST_DOTDOT;
        } else {
                nm->last = OVL_LAST_NORM;
        }
        return b;
}

/* A dirfd a relative name starts from must be an open directory. */
static int dirfd_ok(int dirfd, const char *path)
{
        struct stat st;
        if (path[0] == '/' || dirfd == AT_FDCWD) {
                return 0;
        }
        if (ovl_sys_fstat(dirfd, &st) < 0) {
                return -EBADF;
        }
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* The parent lies outside every overlay: let the kernel walk it, "/." and
 * all: link_path_walk asks may_lookup of the last name's directory too. */
static int parent_outside(int dirfd, const char *pspec, int k, const struct ovl_loc *loc)
{
        char p[PATH_MAX];
        int n = snprintf(p, sizeof(p), "%s/.", k == OVL_OUT ? loc->real : pspec);
        if (n < 0 || n >= (int)sizeof(p)) {
                return -ENAMETOOLONG;
        }
        int fd =
            ovl_sys_openat(k == OVL_OUT ? AT_FDCWD : dirfd, p, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        return fd < 0 ? fd : ovl_sys_close(fd);
}

/* A removed directory holds nothing: a name below one of its names is
 * ENOENT on the way; its own names are looked up (and found missing). */
static int in_dead_dir(int dirfd, const char *path, size_t b, struct ovl_mount *m,
                       struct ovl_name *nm)
{
        int r = ovl_dead_search(dirfd); /* may_lookup, for its first name */
        if (r < 0) {
                return r;
        }
        for (size_t i = 0; i < b; i++) {
                bool dot = path[i] == '.' && (i == 0 || path[i - 1] == '/') && path[i + 1] == '/';
                if (path[i] != '/' && !dot) {
                        return -ENOENT;
                }
        }
        nm->dead = true;
        nm->where = OVL_IN;
        nm->pm = m;
        nm->loc->m = m;
        nm->loc->rel[0] = '\0';
        nm->loc->layer = -1;
        nm->loc->nstack = 0;
        return 0;
}

/* Resolve the directory part (`b` bytes of path, "." when empty) into loc. */
static int parent(int dirfd, const char *path, size_t b, struct ovl_name *nm)
{
        char pspec[PATH_MAX];
        if (b) {
                memcpy(pspec, path, b);
                pspec[b] = '\0';
        } else {
                strcpy(pspec, ".");
        }
        int k = ovl_at(dirfd, pspec, 0, nm->loc);
        if (k < 0) {
                return k;
        }
        nm->where = k;
        if (k == OVL_IN) {
                nm->pm = nm->loc->m;
                if (nm->loc->layer < 0) {
                        return -ENOENT; /* "missing/" resolves */
                }
                /* link_path_walk asks may_lookup of the last name's directory
                 * before it looks at that name ("." and too long ones too) */
                return nm->last == OVL_LAST_ROOT ? 0 : ovl_may_search(nm->loc);
        }
        nm->pm = NULL;
        return parent_outside(dirfd, pspec, k, nm->loc);
}

/* ".." from a removed directory may lead to another removed one: the walk
 * to it succeeds, its names are missing (state.c answers ENOENT for them). */
static int climbed_dead(int dirfd, const char *path, size_t b, struct ovl_name *nm)
{
        int r = parent(dirfd, path, b, nm);
        if (r < 0) {
                return r;
        }
        struct ovl_mount *m = nm->where != OVL_IN ? ovl_base_dead(dirfd, path)
                              : nm->loc->dead     ? nm->loc->m
                                                  : NULL;
        return m ? in_dead_dir(dirfd, path, 0, m, nm) : -ENOENT;
}

int ovl_name_at(int dirfd, const char *path, struct ovl_name *nm)
{
        size_t len = strlen(path);
        if (!len) {
                return -ENOENT;
        }
        if (len >= PATH_MAX) {
                return -ENAMETOOLONG;
        }
        size_t l = len;
        while (l > 1 && path[l - 1] == '/') {
                l--;
        }
        nm->slash = l < len;
        size_t b = last_comp(path, l, nm);
        int r = dirfd_ok(dirfd, path);
        if (r < 0) {
                return r;
        }
        nm->dead = false;
        /* "../x" climbs out of a removed directory (state.c); "x", "." and
         * ".." themselves are names in it */
        struct ovl_mount *dm = b && ovl_starts_dotdot(path) ? NULL : ovl_base_dead(dirfd, path);
        if (dm) {
                return in_dead_dir(dirfd, path, b, dm, nm);
        }
        if (nm->last != OVL_LAST_NORM || nm->toolong) {
                r = parent(dirfd, path, b, nm);
                /* ".." of a lower dirfd whose merged directory was removed:
                 * the dirfd itself is the directory part */
                if (r == -ENOENT && !b && nm->last == OVL_LAST_DOTDOT &&
                    (dm = ovl_dirfd_gone(dirfd))) {
                        return in_dead_dir(dirfd, path, 0, dm, nm);
                }
                /* "." of one: the kernel's lookup of it stays on the overlay's mount
                 * (a rename of it is EBUSY, not EXDEV) */
                if (r == 0 && nm->where == OVL_PASS && nm->last == OVL_LAST_DOT &&
                    (dm = ovl_dirfd_gone(dirfd))) {
                        return in_dead_dir(dirfd, path, b, dm, nm);
                }
                return r;
        }
        char name[PATH_MAX];
        memcpy(name, path, l);
        name[l] = '\0';
        int k = ovl_at(dirfd, name, OVL_R_NOFOLLOW, nm->loc);
        if (k == -ENOENT && b && ovl_starts_dotdot(path)) {
                return climbed_dead(dirfd, path, b, nm);
        }
        if (k != OVL_IN) {
                /* an error here is the directory part's: the last name is
                 * not followed and not too long */
                return k < 0 ? k : parent(dirfd, path, b, nm);
        }
        nm->where = OVL_IN;
        nm->pm = nm->loc->rel[0] ? nm->loc->m : NULL; /* MERGED's parent is outside */
        return 0;
}

static bool ends_slash(const char *path)
{
        size_t l = strlen(path);
        return l > 1 && path[l - 1] == '/';
}

/* The common case needs one walk: a plain last name, already resolved. */
static bool fast(const char *path, struct ovl_name *nm)
{
        if (ends_slash(path)) {
                return false;
        }
        last_comp(path, strlen(path), nm);
        nm->slash = false;
        nm->where = OVL_IN;
        nm->pm = nm->loc->rel[0] ? nm->loc->m : NULL;
        return nm->last == OVL_LAST_NORM && !nm->toolong;
}

int ovl_name_kind(int dirfd, const char *path, struct ovl_name *nm)
{
        int k = ovl_at(dirfd, path, OVL_R_NOFOLLOW, nm->loc);
        if (k == OVL_PASS || (k == OVL_OUT && !ends_slash(path)) ||
            (k == OVL_IN && fast(path, nm))) {
                return k;
        }
        int e = ovl_name_at(dirfd, path, nm);
        if (e < 0 || nm->where == OVL_IN) {
                return e < 0 ? e : OVL_IN;
        }
        /* the name is outside (its directory is): the kernel's, with the real
         * path of its directory, the name not followed even with a slash
         * ("link/": EEXIST, ENOTDIR); or ".." from a removed cwd, whose parent
         * is still in the overlay */
        int k2 = ovl_at(dirfd, path, OVL_R_NOFOLLOW | OVL_R_NAME, nm->loc);
        if (k2 == OVL_IN && nm->last != OVL_LAST_NORM) {
                nm->where = OVL_IN;
                nm->pm = nm->loc->m;
                return OVL_IN;
        }
        return k2 == OVL_OUT || k2 == OVL_PASS ? k2 : (k < 0 ? k : -ENOENT);
}

bool ovl_name_exists(const struct ovl_name *nm)
{
        return !nm->dead && nm->where == OVL_IN && nm->last == OVL_LAST_NORM && !nm->toolong &&
               nm->loc->layer >= 0;
}

bool ovl_name_dir(const struct ovl_name *nm)
{
        return ovl_name_exists(nm) && S_ISDIR(nm->loc->st.st_mode);
}

int ovl_name_lookup(const struct ovl_name *nm)
{
        if (nm->pm && !nm->pm->layers[0].path) {
                return -EROFS;
        }
        if (nm->dead && nm->toolong) {
                return -ENOENT; /* lookup_one_qstr_excl: a dead directory before ->lookup */
        }
        return nm->toolong ? -ENAMETOOLONG : 0;
}

static int name_create(const struct ovl_name *nm, bool dir)
{
        if (nm->last != OVL_LAST_NORM) {
                return -EEXIST;
        }
        if (nm->toolong) {
                return nm->dead ? -ENOENT : -ENAMETOOLONG; /* the dead dir before ->lookup */
        }
        if (ovl_name_exists(nm)) {
                return -EEXIST;
        }
        if (nm->slash && !dir) {
                return -ENOENT;
        }
        return nm->pm && !nm->pm->layers[0].path ? -EROFS : 0;
}

int ovl_name_create(const struct ovl_name *nm, bool dir)
{
        int r = name_create(nm, dir);
        return r == 0 && nm->dead ? -ENOENT : r; /* vfs_mkdir & co in a dead directory */
}
