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
 * call (the mounter's override, write.h), with every signal blocked so that
 * nothing but SIGKILL leaves a mode lent, and given back. The walk has asked
 * every permission the kernel asks before any of this (namei.c); nothing
 * else changes, and a call that succeeds the first time costs nothing.
 *
 * Everything here issues its system calls raw: a lookup of its own must not
 * come back into the retry it serves. */
#include "ovlshim.h"
#include "sys.h"

#include <errno.h>
#include <linux/openat2.h>
#include <limits.h>
#include <signal.h>
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

/* fd again above the program's fds (the shim's own range); `own`: fd was
 * opened here and is closed, not left at a low number. */
static int above_floor(int fd, bool own)
{
        if (fd < 0) {
                return fd;
        }
        int hi = (int)ovl_sys6(SYS_fcntl, fd, F_DUPFD_CLOEXEC, ovl_private_floor(), 0, 0, 0);
        if (own) {
                ovl_sys6(SYS_close, fd, 0, 0, 0, 0, 0);
        }
        return hi;
}

/* The held directory, pinned for the retry (a dup above the program's fds,
 * or the cwd through /proc), if it is still the upper directory at dt.base:
 * checked on the pinned fd, so a concurrent fchdir or dup2 cannot turn the
 * retry onto another directory (a lower one). -1 otherwise. */
static int pin_base(void)
{
        int fd = dt.base_fd == AT_FDCWD
                     ? above_floor((int)ovl_sys6(SYS_openat, AT_FDCWD, (long)"/proc/self/cwd",
                                                 O_PATH | O_DIRECTORY | O_CLOEXEC, 0, 0, 0),
                                   true)
                     : above_floor(dt.base_fd, false);
        char real[PATH_MAX];
        if (fd < 0 || ovl_sys_fdpath(fd, real, sizeof(real)) < 0 ||
            strncmp(real, dt.root, dt.root_len) != 0 || real[dt.root_len] != '/' ||
            strcmp(real + dt.root_len + 1, dt.base) != 0) {
                if (fd >= 0) {
                        ovl_sys6(SYS_close, fd, 0, 0, 0, 0, 0);
                }
                return -1;
        }
        return fd;
}

/* Length of the leading components `a` and `b` share. */
static size_t common_dirs(const char *a, const char *b)
{
        size_t keep = 0;
        for (size_t i = 0;; i++) {
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

/* The same for a call whose last name must be a name (rename, unlink,
 * mkdir...): the base or a directory above it is named from its parent,
 * as the caller's own path did, never as "." or "..". */
static bool name_from_base(const char *rel, char *out, size_t cap)
{
        if (!rel[0] || common_dirs(dt.base, rel) < strlen(rel)) {
                return rel[0] && from_base(rel, out, cap);
        }
        const char *last = strrchr(rel, '/');
        char parent[PATH_MAX];
        size_t pl = last ? (size_t)(last - rel) : 0;
        memcpy(parent, rel, pl);
        parent[pl] = '\0';
        last = last ? last + 1 : rel;
        if (!from_base(parent, out, cap)) {
                return false;
        }
        size_t ol = strlen(out), ll = strlen(last);
        if (ol + 1 + ll + 1 > cap) {
                return false;
        }
        out[ol] = '/';
        memcpy(out + ol + 1, last, ll + 1);
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

/* The directory rel[0, len) below root_fd as an O_PATH fd above the program's fds,
 * reached without following a symlink: a component another process swaps
 * for one cannot turn the loan onto a lower layer, and the mode is given
 * back to the very directory it was lent to. */
static int pin_dir(int root_fd, const char *rel, size_t len)
{
        if (!len) {
                return above_floor(root_fd, false); /* the root itself */
        }
        char p[PATH_MAX];
        memcpy(p, rel, len);
        p[len] = '\0';
        struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
        return above_floor(
            (int)ovl_sys6(SYS_openat2, root_fd, (long)p, (long)&how, sizeof(how), 0, 0), true);
}

static long chmod_pinned(int fd, mode_t mode)
{
        char link[40];
        ovl_sys_fd_link(link, sizeof(link), fd);
        return ovl_sys6(SYS_fchmodat, AT_FDCWD, (long)link, mode, 0, 0, 0);
}

int ovl_lend_search(int root_fd, const char *rel, size_t upto, struct ovl_detour_lend *l)
{
        uid_t me = ovl_sys_geteuid();
        *l = (struct ovl_detour_lend){.pin = -1};
        for (size_t len = 0; len <= upto && l->n < OVL_DETOUR_LEND_MAX; len++) {
                if (len && rel[len] && rel[len] != '/') {
                        continue;
                }
                struct stat st;
                int fd = pin_dir(root_fd, rel, len);
                if (fd >= 0 && ovl_sys6(SYS_fstat, fd, (long)&st, 0, 0, 0, 0) == 0 &&
                    st.st_uid == me && !(st.st_mode & S_IXUSR)) {
                        if (!l->masked) {
                                sigset_t all;
                                sigfillset(&all);
                                ovl_sys_sigprocmask(SIG_SETMASK, &all, &l->old);
                                l->masked = true;
                        }
                        if (chmod_pinned(fd, (st.st_mode & 07777) | S_IXUSR) == 0) {
                                l->fd[l->n] = fd;
                                l->mode[l->n++] = st.st_mode & 07777;
                                fd = -1;
                        }
                }
                if (fd >= 0) {
                        ovl_sys6(SYS_close, fd, 0, 0, 0, 0, 0);
                }
                if (!rel[len]) {
                        break;
                }
        }
        return l->n;
}

int ovl_detour_begin(int dirfd, const char *path, bool name, int *fd, char *buf, size_t cap,
                     struct ovl_detour_lend *l)
{
        *l = (struct ovl_detour_lend){.pin = -1};
        const char *rel = upper_rel(dirfd, path);
        if (!rel) {
                return 0;
        }
        bool made = name ? name_from_base(rel, buf, cap) : from_base(rel, buf, cap);
        if (dt.base_fd != -1 && made && (l->pin = pin_base()) >= 0) {
                *fd = l->pin;
                return 1;
        }
        /* the directories the kernel's walk from the base never looks a name up
         * in: those above the deepest one the base and rel have in common */
        size_t common = common_dirs(dt.base, rel), pl = strlen(path);
        if (!common || pl >= cap || !ovl_lend_search(dt.root_fd, rel, common - 1, l)) {
                ovl_detour_end(l);
                return 0;
        }
        memcpy(buf, path, pl + 1);
        *fd = dirfd;
        return 2;
}

void ovl_detour_end(struct ovl_detour_lend *l)
{
        while (l->n > 0) {
                l->n--;
                chmod_pinned(l->fd[l->n], l->mode[l->n]);
                ovl_sys6(SYS_close, l->fd[l->n], 0, 0, 0, 0, 0);
        }
        if (l->masked) {
                ovl_sys_sigprocmask(SIG_SETMASK, &l->old, NULL);
                l->masked = false;
        }
        if (l->pin >= 0) {
                ovl_sys6(SYS_close, l->pin, 0, 0, 0, 0, 0);
                l->pin = -1;
        }
}
