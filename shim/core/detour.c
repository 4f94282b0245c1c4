/* The base a relative path starts from (README "Credentials", N-SEARCH).
 *
 * The kernel walks a relative path from the directory the process holds and
 * asks search permission only of the directories it looks names up in. The
 * core names every real object by its path from the layer's root, which asks
 * search permission of every directory above it as well: once a directory
 * above the cwd loses its search bit (`chmod 644 ..`), everything below
 * answers EACCES. The preload side therefore names the upper directory the
 * caller holds (its cwd or dirfd) while one call runs, and a path call on the
 * upper root that fails with EACCES is asked once more, from there, by the
 * shortest path: the kernel's own walk from that directory for a path that
 * goes straight down or straight up. Where the caller holds no upper
 * directory (a lower one, a shadow cwd, a file), the owner's search bit is
 * lent instead to the directories above the base that lack it, for the one
 * call (the mounter's override, write.h), and given back. The walk has asked
 * every permission the kernel asks before any of this (namei.c); nothing
 * else changes, and a call that succeeds the first time costs nothing. */
#include "sys.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

struct detour {
        bool on;
        int root_fd;      /* the upper layer's root fd */
        const char *root; /* ... and its path */
        size_t root_len;
        int base_fd;         /* the held directory: AT_FDCWD, a dirfd, or -1 */
        char base[PATH_MAX]; /* its path relative to the upper root */
};

static __thread struct detour dt;

void ovl_detour_set(int root_fd, const char *root, const char *base, int base_fd)
{
        size_t bl = strlen(base);
        dt.on = false;
        if (root_fd < 0 || !root || !bl || bl >= sizeof(dt.base)) {
                return; /* the root itself is no detour */
        }
        memcpy(dt.base, base, bl + 1);
        dt.root_fd = root_fd;
        dt.root = root;
        dt.root_len = strlen(root);
        dt.base_fd = base_fd;
        dt.on = true;
}

void ovl_detour_clear(void)
{
        dt.on = false;
}

bool ovl_detour_on(void)
{
        return dt.on;
}

/* Is the held fd still the upper directory at dt.base? (a rename since, a
 * shadow cwd, a removed directory: then the detour does not apply) */
static bool base_holds(void)
{
        char real[PATH_MAX];
        ssize_t n = dt.base_fd == AT_FDCWD
                        ? ovl_sys_readlinkat(AT_FDCWD, "/proc/self/cwd", real, sizeof(real) - 1)
                        : ovl_sys_fdpath(dt.base_fd, real, sizeof(real));
        if (n < 0 || (size_t)n >= sizeof(real) - 1) {
                return false;
        }
        real[n] = '\0';
        return strncmp(real, dt.root, dt.root_len) == 0 && real[dt.root_len] == '/' &&
               strcmp(real + dt.root_len + 1, dt.base) == 0;
}

/* Length of the leading components `a` and `b` share. */
static size_t common_dirs(const char *a, const char *b)
{
        size_t keep = 0, i = 0;
        for (;; i++) {
                bool ea = !a[i] || a[i] == '/', eb = !b[i] || b[i] == '/';
                if (ea && eb) {
                        keep = i;
                        if (!a[i] || !b[i]) {
                                return keep;
                        }
                } else if (ea || eb || a[i] != b[i]) {
                        return keep;
                }
        }
}

/* `rel` (relative to the upper root) as a path from the base directory. */
static bool from_base(const char *rel, char *out, size_t cap)
{
        size_t c = common_dirs(dt.base, rel);
        size_t len = 0;
        for (const char *p = dt.base + c; *p; p++) {
                if (*p == '/' || p == dt.base + c) {
                        if (len + 3 >= cap) {
                                return false;
                        }
                        memcpy(out + len, len ? "/.." : "..", len ? 3 : 2);
                        len += len ? 3 : 2;
                }
        }
        const char *rest = rel + c + (rel[c] == '/');
        size_t rl = strlen(rest);
        if (len + 1 + rl + 1 > cap) {
                return false;
        }
        if (len && rl) {
                out[len++] = '/';
        }
        memcpy(out + len, rest, rl + 1);
        len += rl;
        if (!len) {
                memcpy(out, ".", 2);
        }
        return true;
}

/* (dirfd, path) as a path relative to the upper root, or NULL. */
static const char *upper_rel(int dirfd, const char *path)
{
        if (!dt.on || dirfd != dt.root_fd || !path) {
                return NULL;
        }
        if (path[0] == '/') {
                return strcmp(path, dt.root) ? NULL : "";
        }
        return strcmp(path, ".") ? path : "";
}

static const char *prefix(const char *rel, size_t len, char *buf)
{
        if (!len) {
                return dt.root;
        }
        memcpy(buf, rel, len);
        buf[len] = '\0';
        return buf;
}

/* Lend the owner's search bit, top first, to the directories the kernel's
 * walk from the base to `rel` never looks a name up in: those above the
 * deepest directory the two have in common (the base, when `rel` is below
 * it; `rel` itself, when it is above). The walk the kernel makes from the
 * base climbs to that one with ".." and goes down from it. */
static int lend_above_base(const char *rel, struct ovl_detour_lend *l)
{
        char buf[PATH_MAX];
        uid_t me = ovl_sys_geteuid();
        size_t common = common_dirs(dt.base, rel);
        l->n = 0;
        l->rel = rel;
        for (size_t len = 0; len < common && l->n < OVL_DETOUR_LEND_MAX; len++) {
                if (len && rel[len] != '/') {
                        continue;
                }
                struct stat st;
                const char *p = prefix(rel, len, buf);
                if (ovl_sys_fstatat(dt.root_fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISDIR(st.st_mode) && st.st_uid == me && !(st.st_mode & S_IXUSR) &&
                    ovl_sys_fchmodat(dt.root_fd, p, (st.st_mode & 07777) | S_IXUSR) == 0) {
                        l->len[l->n] = len;
                        l->mode[l->n++] = st.st_mode & 07777;
                }
        }
        return l->n;
}

int ovl_detour_begin(int dirfd, const char *path, int *fd, char *buf, size_t cap,
                     struct ovl_detour_lend *l)
{
        l->n = 0;
        const char *rel = upper_rel(dirfd, path);
        if (!rel) {
                return 0;
        }
        if (dt.base_fd != -1 && from_base(rel, buf, cap) && base_holds()) {
                *fd = dt.base_fd;
                return 1;
        }
        size_t pl = strlen(path);
        if (pl >= cap || !lend_above_base(rel, l)) {
                return 0;
        }
        memcpy(buf, path, pl + 1);
        *fd = dirfd;
        return 2;
}

void ovl_detour_end(struct ovl_detour_lend *l)
{
        char buf[PATH_MAX];
        while (l->n > 0) {
                l->n--;
                ovl_sys_fchmodat(dt.root_fd, prefix(l->rel, l->len[l->n], buf), l->mode[l->n]);
        }
}
