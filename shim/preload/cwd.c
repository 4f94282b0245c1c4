/* The virtual cwd. A process standing in a merged directory keeps that path
 * in memory (so relative paths cost no extra syscall) and its kernel cwd on
 * the directory's upper copy, or, when there is none, on a "shadow" directory
 * of the same relative path under WORK/ovlshim/cwd: never on a lower
 * directory, where a child the shim cannot follow could write. Both map back
 * to the merged path, so a child started there finds its way in. */
#include "markers.h"
#include "preload.h"
#include "sys.h"

#include <linux/limits.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* A seqlock: readers (every relative path) never block and are safe in
 * signal handlers; writers (chdir) block signals while they write. */
static unsigned cwd_seq;
static int cwd_writer;
static char cwd_path[PATH_MAX];
static int cwd_near = -1;
static unsigned dir_moves;      /* directories this process renamed or removed */
static unsigned dir_moves_seen; /* ... when the cwd was last checked */
static bool cwd_gone;           /* a shadow cwd whose merged directory is gone */
static bool cwd_shadow;         /* the kernel cwd is a shadow under WORK/ovlshim/cwd */
/* the identity of the cwd's parent when this process removed the cwd: the
 * kernel's ".." from it leads there, removed or not */
static bool cwd_parent_known;
static dev_t cwd_parent_dev;
static ino_t cwd_parent_ino;
/* The owner and mode of merged directories with a lower layer this process removed,
 * by their identity (the topmost lower directory, where a dirfd on a lower-only one
 * stands): the removed overlay inode's, which may_lookup asks. The last few. */
#define NREMOVED 16
struct removed_dir {
        bool used;
        bool upper; /* it had an upper copy (the kernel's inode was copied up) */
        dev_t dev;
        ino_t ino;
        mode_t mode;
        uid_t uid;
        gid_t gid;
};
static struct removed_dir removed[NREMOVED];
static unsigned removed_next;
static int removed_lock;     /* writers (and fork) */
static unsigned removed_seq; /* readers never block: a seqlock, as the cwd's */

static void lock_removed(void)
{
        while (__atomic_exchange_n(&removed_lock, 1, __ATOMIC_ACQUIRE)) {
                ovl_sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
        }
}

static void unlock_removed(void)
{
        __atomic_store_n(&removed_lock, 0, __ATOMIC_RELEASE);
}

static void note_removed(const struct ovl_loc *loc)
{
        if (loc->top_lower < 0) {
                return; /* no lower directory: no fd stands anywhere but on the removed one */
        }
        sigset_t all, old;
        sigfillset(&all);
        ovl_sys_sigprocmask(SIG_SETMASK, &all, &old);
        lock_removed();
        __atomic_fetch_add(&removed_seq, 1, __ATOMIC_RELEASE);
        struct removed_dir *d = &removed[removed_next % NREMOVED];
        for (int i = 0; i < NREMOVED; i++) {
                if (removed[i].used && removed[i].dev == loc->id_dev &&
                    removed[i].ino == loc->id_ino) {
                        d = &removed[i];
                        break;
                }
        }
        if (d == &removed[removed_next % NREMOVED]) {
                __atomic_store_n(&removed_next, removed_next + 1, __ATOMIC_RELAXED);
        }
        *d = (struct removed_dir){true,          loc->layer == 0, loc->id_dev,
                                  loc->id_ino,   loc->st.st_mode, loc->st.st_uid,
                                  loc->st.st_gid};
        __atomic_fetch_add(&removed_seq, 1, __ATOMIC_RELEASE);
        unlock_removed();
        ovl_sys_sigprocmask(SIG_SETMASK, &old, NULL);
}

/* the owner and mode of the merged directory this process removed while it was the
 * cwd on a shadow: the removed overlay inode's, which may_lookup asks */
static bool cwd_perm_known;
static mode_t cwd_perm_mode;
static uid_t cwd_perm_uid;
static gid_t cwd_perm_gid;

/* A vfork child that moved its kernel cwd (python's subprocess with cwd=): its
 * pid. The memory it shares with its parent keeps the parent's cwd, so its own
 * relative paths start from its kernel cwd (vfork_cwd); the parent, another
 * pid, reads past it. */
static pid_t vfork_moved;

static void note_vfork_move(void)
{
        __atomic_store_n(&vfork_moved, ovl_sys_getpid(), __ATOMIC_RELAXED);
}

static bool vfork_moved_here(void)
{
        pid_t p = __atomic_load_n(&vfork_moved, __ATOMIC_RELAXED);
        return p && p == ovl_sys_getpid();
}

/* Such a child's cwd, learned from the kernel (as cwd_from_kernel, kept nowhere). */
static int vfork_cwd(char *out, size_t cap)
{
        char real[PATH_MAX];
        int layer = 0;
        if (ovl_sys_getcwd(real, sizeof(real)) < 0 || real[0] != '/') {
                return -1;
        }
        if (ovl_unmap_real(real, out, cap, &layer)) {
                return 1;
        }
        snprintf(out, cap, "%s", real);
        return ovl_path_near(ovl_active(), out);
}

int ovl_cwd_get(char *out, size_t cap)
{
        if (vfork_moved_here()) {
                return vfork_cwd(out, cap);
        }
        for (;;) {
                unsigned s = __atomic_load_n(&cwd_seq, __ATOMIC_ACQUIRE);
                if (s & 1) {
                        ovl_sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
                        continue;
                }
                int near = cwd_near;
                size_t n = strnlen(cwd_path, sizeof(cwd_path) - 1);
                if (n >= cap) {
                        n = cap - 1;
                }
                memcpy(out, cwd_path, n);
                out[n] = '\0';
                __atomic_thread_fence(__ATOMIC_ACQUIRE);
                if (__atomic_load_n(&cwd_seq, __ATOMIC_RELAXED) == s) {
                        return near < 0 || out[0] != '/' ? -1 : near;
                }
        }
}

void ovl_cwd_set(const char *path, int near)
{
        __atomic_store_n(&cwd_gone, false, __ATOMIC_RELAXED);
        __atomic_store_n(&cwd_shadow, false, __ATOMIC_RELAXED);
        __atomic_store_n(&cwd_parent_known, false, __ATOMIC_RELAXED);
        __atomic_store_n(&cwd_perm_known, false, __ATOMIC_RELAXED);
        sigset_t all, old;
        sigfillset(&all);
        ovl_sys_sigprocmask(SIG_SETMASK, &all, &old);
        while (__atomic_exchange_n(&cwd_writer, 1, __ATOMIC_ACQUIRE)) {
                ovl_sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
        }
        __atomic_fetch_add(&cwd_seq, 1, __ATOMIC_RELEASE);
        size_t n = strnlen(path, sizeof(cwd_path) - 1);
        memcpy(cwd_path, path, n);
        cwd_path[n] = '\0';
        cwd_near = near;
        __atomic_fetch_add(&cwd_seq, 1, __ATOMIC_RELEASE);
        __atomic_store_n(&cwd_writer, 0, __ATOMIC_RELEASE);
        ovl_sys_sigprocmask(SIG_SETMASK, &old, NULL);
}

/* fork: the child must not inherit a writer in the middle of an update */
static sigset_t fork_mask;

void ovl_cwd_fork_lock(void)
{
        sigset_t all;
        sigfillset(&all);
        ovl_sys_sigprocmask(SIG_SETMASK, &all, &fork_mask);
        while (__atomic_exchange_n(&cwd_writer, 1, __ATOMIC_ACQUIRE)) {
                ovl_sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
        }
        lock_removed();
}

void ovl_cwd_fork_unlock(void)
{
        unlock_removed();
        __atomic_store_n(&cwd_writer, 0, __ATOMIC_RELEASE);
        ovl_sys_sigprocmask(SIG_SETMASK, &fork_mask, NULL);
}

/* --- shadow directories ----------------------------------------------------- */

static int shadow_root(const struct ovl_mount *m, char *out, size_t cap)
{
        int n;
        if (m->workdir) {
                n = snprintf(out, cap, "%s/ovlshim/cwd", m->workdir);
        } else {
                n = snprintf(out, cap, "/tmp/ovlshim-%u/ro%s", (unsigned)ovl_sys_geteuid(),
                             m->merged);
        }
        return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* mkdir -p, private to the user; refuses a path component someone else owns
 * in the shared /tmp case. */
static int mkdir_p(char *p)
{
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s) {
                        continue;
                }
                char c = *s;
                *s = '\0';
                int r = ovl_sys_mkdirat(AT_FDCWD, p, 0700);
                struct stat st;
                if (r == -EEXIST &&
                    (ovl_sys_lstatat(AT_FDCWD, p, &st) < 0 || !S_ISDIR(st.st_mode))) {
                        r = -ENOTDIR;
                } else if (r == -EEXIST) {
                        r = 0;
                }
                *s = c;
                if (r < 0 || !c) {
                        return r;
                }
        }
}

struct ovl_mount *ovl_unmap_real(const char *real, char *out, size_t cap, int *layer)
{
        struct ovl_config *cfg = ovl_active();
        if (!cfg) {
                return NULL;
        }
        for (int i = 0; i < cfg->nmounts; i++) {
                struct ovl_mount *m = &cfg->mounts[i];
                char sr[PATH_MAX];
                ssize_t off;
                if (shadow_root(m, sr, sizeof(sr)) == 0 &&
                    (off = ovl_path_under(real, sr, strlen(sr))) >= 0) {
                        int n = snprintf(out, cap, "%s%s%s", m->merged, real[off] ? "/" : "",
                                         real + off);
                        if (layer) {
                                *layer = -2;
                        }
                        return n < 0 || (size_t)n >= cap ? NULL : m;
                }
        }
        return ovl_unmap(cfg, real, out, cap, layer);
}

/* --- entering directories ----------------------------------------------------- */

static int enter_upper(struct ovl_loc *loc)
{
        int lfd = ovl_layer_fd(&loc->m->layers[0]);
        if (lfd < 0) {
                return lfd;
        }
        int fd = ovl_sys_openat(lfd, ovl_loc_relpath(loc), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) {
                return fd;
        }
        int r = ovl_sys_fchdir(fd);
        ovl_sys_close(fd);
        return r;
}

/* chdir to the shadow of the merged directory rel of m */
static int shadow_chdir(const struct ovl_mount *m, const char *rel)
{
        char p[PATH_MAX];
        int r = shadow_root(m, p, sizeof(p));
        size_t l = strlen(p);
        if (r == 0 && rel[0] &&
            snprintf(p + l, sizeof(p) - l, "/%s", rel) >= (int)(sizeof(p) - l)) {
                r = -ENAMETOOLONG;
        }
        if (r == 0) {
                r = mkdir_p(p);
        }
        return r < 0 ? r : ovl_sys_chdir(p);
}

static int enter_shadow(struct ovl_loc *loc)
{
        return shadow_chdir(loc->m, loc->rel);
}

/* Stand in the shadow of the removed merged directory v: the kernel cwd is
 * never a lower directory, whose "." the kernel would then change for us. */
static int enter_dead_shadow(const struct ovl_mount *m, const char *v)
{
        const char *rel = v + m->merged_len;
        int r = shadow_chdir(m, rel[0] == '/' ? rel + 1 : rel);
        if (r == 0 && !ovl_in_vfork_child()) {
                ovl_cwd_set(v, 1);
                __atomic_store_n(&cwd_shadow, true, __ATOMIC_RELAXED);
                __atomic_store_n(&cwd_gone, true, __ATOMIC_RELAXED);
        }
        return r;
}

int ovl_cwd_enter(struct ovl_loc *loc, bool remember)
{
        if (loc->layer < 0) {
                return -ENOENT;
        }
        if (!S_ISDIR(loc->st.st_mode)) {
                return -ENOTDIR;
        }
        int r = ovl_sys_faccessat(ovl_loc_fd(loc), ovl_loc_relpath(loc), X_OK, 0);
        if (r < 0) {
                return r;
        }
        bool upper = loc->nstack > 0 && loc->stack[0] == 0;
        r = upper ? enter_upper(loc) : enter_shadow(loc);
        char v[PATH_MAX];
        if (r == 0 && remember && ovl_loc_path(loc, v, sizeof(v)) == 0) {
                ovl_cwd_set(v, 1);
                __atomic_store_n(&cwd_shadow, !upper, __ATOMIC_RELAXED);
        }
        return r;
}

/* Learn the cwd from the kernel; step off a lower directory if we stand on
 * one (a process started there, or a chdir by a real path). */
static void cwd_from_kernel(struct ovl_config *cfg)
{
        char real[PATH_MAX], v[PATH_MAX];
        int layer = 0;
        if (ovl_sys_getcwd(real, sizeof(real)) < 0 || real[0] != '/') {
                /* a removed directory (chdir(".") in it, or ".." from one): it
                 * keeps the merged path it had, dead; handing relative paths to
                 * the kernel would walk from the real directory, inside a layer
                 * or WORK */
                int fd =
                    ovl_sys_openat(AT_FDCWD, "/proc/self/cwd", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
                int known = fd >= 0 ? ovl_removed_dir_path(fd, v) : -1;
                if (fd >= 0) {
                        ovl_sys_close(fd);
                }
                if (known >= 0) {
                        ovl_cwd_set(v, 1);
                }
                if (known >= 0 || ovl_cwd_get(v, sizeof(v)) == 1) {
                        __atomic_store_n(&cwd_gone, true, __ATOMIC_RELAXED);
                        return;
                }
                ovl_cwd_set("", -1);
                return;
        }
        struct ovl_mount *m = ovl_unmap_real(real, v, sizeof(v), &layer);
        if (!m) {
                ovl_cwd_set(real, ovl_path_near(cfg, real));
                return;
        }
        ovl_cwd_set(v, 1);
        if (layer == 0 || layer == -2) {
                __atomic_store_n(&cwd_shadow, layer == -2, __ATOMIC_RELAXED);
                return;
        }
        struct ovl_loc *loc = malloc(sizeof(*loc));
        if (!loc || ovl_resolve(cfg, NULL, v, OVL_R_HELD, loc) != OVL_IN || loc->layer < 0 ||
            !S_ISDIR(loc->st.st_mode)) {
                enter_dead_shadow(m, v); /* its merged directory is gone */
        } else if (ovl_cwd_enter(loc, true) < 0 && enter_shadow(loc) == 0) {
                /* one we may not search (the kernel lets us stay) */
                __atomic_store_n(&cwd_shadow, true, __ATOMIC_RELAXED);
        }
        free(loc);
}

void ovl_cwd_init(void)
{
        cwd_from_kernel(ovl_active());
}

/* --- wrappers ----------------------------------------------------------------- */

/* A vfork child shares the parent's memory (python's subprocess with cwd=
 * chdirs there): it moves its kernel cwd only, and the child it execs learns
 * the merged path back from that. */
static int chdir_loc(int k, struct ovl_loc *loc, const char *path, int (*real)(const char *))
{
        bool shared = ovl_in_vfork_child();
        struct ovl_config *cfg = shared ? NULL : ovl_active();
        if (k == OVL_IN) {
                int r = ovl_cwd_enter(loc, !shared);
                if (r == 0 && shared) {
                        note_vfork_move();
                }
                ovl_log("chdir", path, loc, r);
                return (int)ovl_ret(r);
        }
        if (k < 0) {
                return (int)ovl_ret(k);
        }
        int r = real(k == OVL_OUT ? loc->real : path);
        if (r == 0 && shared) {
                note_vfork_move();
        }
        if (r == 0 && cfg) {
                int saved = errno;
                cwd_from_kernel(cfg);
                errno = saved;
        }
        return r;
}

OVL_EXPORT int chdir(const char *path)
{
        struct ovl_loc loc;
        int k = ovl_at(AT_FDCWD, path, OVL_AT_DEAD_FIRST, &loc);
        return chdir_loc(k, &loc, path, REAL(chdir));
}

/* The kernel lets a process stand in a directory removed meanwhile: the
 * merged path it had stays the cwd's, dead (see ovl_cwd_dead). */
static int fchdir_dead(int fd, char *v, const struct ovl_mount *m, int layer)
{
        ovl_strip_deleted(v);
        if (layer > 0) {
                return (int)ovl_ret(enter_dead_shadow(m, v));
        }
        int r = REAL(fchdir)(fd);
        if (r == 0 && !ovl_in_vfork_child()) {
                ovl_cwd_set(v, 1);
                __atomic_store_n(&cwd_gone, true, __ATOMIC_RELAXED);
        }
        return r;
}

OVL_EXPORT int fchdir(int fd)
{
        char v[PATH_MAX];
        struct ovl_config *cfg = ovl_active();
        int layer = -1;
        struct ovl_mount *m = cfg ? ovl_fd_merged(fd, v, sizeof(v), &layer) : NULL;
        if (m) {
                struct ovl_loc loc;
                struct stat st;
                int k = ovl_resolve(cfg, NULL, v, OVL_R_HELD, &loc);
                /* a lower-only directory is gone even when its name holds something new
                 * (ovl_shadow_gone, on the resolution at hand) */
                bool lower_only = layer > 0 || layer == -2;
                bool gone = k < 0 || (k == OVL_IN && loc.layer < 0) ||
                            (k == OVL_IN && lower_only &&
                             (!S_ISDIR(loc.st.st_mode) || (loc.rel[0] && loc.top_lower < 0)));
                if (gone && ovl_sys_fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                        /* the removed directory's own mode (copied up, then removed) */
                        int d = layer > 0 ? ovl_removed_dir_search(m, &st) : 0;
                        return d < 0 ? (int)ovl_ret(d) : fchdir_dead(fd, v, m, layer);
                }
                return chdir_loc(k, &loc, v, REAL(chdir));
        }
        int r = REAL(fchdir)(fd);
        if (r == 0 && ovl_in_vfork_child()) {
                note_vfork_move();
        } else if (r == 0 && cfg) {
                int saved = errno;
                cwd_from_kernel(cfg);
                errno = saved;
        }
        return r;
}

/* A shadow cwd stands for a merged directory that had a lower layer: it is
 * gone once its merged path shows no directory with one (removed, or removed
 * and made again, opaque). A copy-up of it keeps its lower layers. */
bool ovl_shadow_gone(const char *v)
{
        struct ovl_loc *loc = ovl_sys_scratch(sizeof(*loc));
        bool gone = loc && (ovl_resolve(ovl_active(), NULL, v, OVL_R_HELD, loc) != OVL_IN ||
                            loc->layer < 0 || !S_ISDIR(loc->st.st_mode) ||
                            (loc->rel[0] && loc->top_lower < 0));
        ovl_sys_scratch_free(loc, sizeof(*loc));
        return gone;
}

/* Where a name of a lower directory is looked at: layer i of m, directory rel */
struct lower_dir {
        struct ovl_mount *m;
        const char *rel;
        int i;
};

/* Does `name` in the lower directory show from the lower layers 1..i (i holds it)? */
static bool lower_name_shows(const char *name, const struct lower_dir *ld)
{
        char rp[PATH_MAX];
        struct stat st;
        int n = snprintf(rp, sizeof(rp), "%s%s%s", ld->rel, ld->rel[0] ? "/" : "", name);
        if (ovl_marker_name(name, strlen(name))) {
                return false;
        }
        for (int j = 1; n > 0 && (size_t)n < sizeof(rp) && j <= ld->i; j++) {
                int p = ovl_marker_probe(&ld->m->layers[j], rp, &st);
                if (p != OVL_P_ABSENT) {
                        return p == OVL_P_FOUND || p == OVL_P_FOUND_OPAQUE;
                }
        }
        return false;
}

/* Has the real directory relpath of the layer root fd lfd an entry (one that shows from
 * the lower directory ld, if given)? */
static bool has_entries(int lfd, const char *relpath, const struct lower_dir *ld)
{
        char buf[2048];
        int fd =
            lfd < 0 ? lfd : ovl_sys_openat(lfd, relpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        bool any = false;
        ssize_t n;
        while (!any && fd >= 0 && (n = ovl_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
                for (ssize_t off = 0; off < n && !any;) {
                        struct dirent64 *d = (struct dirent64 *)(buf + off);
                        off += d->d_reclen;
                        any = strcmp(d->d_name, ".") && strcmp(d->d_name, "..") &&
                              (!ld || lower_name_shows(d->d_name, ld));
                }
        }
        if (fd >= 0) {
                ovl_sys_close(fd);
        }
        return any;
}

/* Did the merged directory rel show any name from its lower layers? Then it was copied up
 * before it could be removed: emptying it put whiteouts in an upper copy. */
static bool lowers_show_names(struct ovl_mount *m, const char *rel)
{
        for (int i = 1; i < m->nlayers; i++) {
                struct stat st;
                int p = ovl_marker_probe(&m->layers[i], ovl_layer_relpath(m, i, rel), &st);
                if (p == OVL_P_ABSENT) {
                        continue;
                }
                if (p < 0 || p == OVL_P_WHITEOUT || !S_ISDIR(st.st_mode)) {
                        return false;
                }
                int lfd = ovl_layer_fd(&m->layers[i]);
                struct lower_dir ld = {m, rel, i};
                if (has_entries(lfd, ovl_layer_relpath(m, i, rel), &ld)) {
                        return true;
                }
                if (p == OVL_P_FOUND_OPAQUE ||
                    (lfd >= 0 && ovl_marker_opaque(lfd, ovl_layer_relpath(m, i, rel)) == 1)) {
                        return false;
                }
        }
        return false;
}

bool ovl_removed_dir_merged(const char *v, bool upper)
{
        const char *rel;
        struct ovl_mount *m = ovl_mount_rel(v, &rel);
        if (!m || (!upper && lowers_show_names(m, rel))) {
                return m != NULL;
        }
        int dirs = upper;
        for (int i = 1; i < m->nlayers && dirs < 2; i++) {
                struct stat st;
                int p = ovl_marker_probe(&m->layers[i], ovl_layer_relpath(m, i, rel), &st);
                if (p == OVL_P_ABSENT) {
                        continue;
                }
                if (p < 0 || p == OVL_P_WHITEOUT || !S_ISDIR(st.st_mode)) {
                        break;
                }
                dirs++;
                if (p == OVL_P_FOUND_OPAQUE) {
                        break;
                }
        }
        return dirs > 1;
}

/* The topmost lower holding a directory at rel: the merged directory's
 * attributes and identity (DESIGN.md "Identity") while it had no upper. */
static int top_lower_layer(const struct ovl_mount *m, const char *rel, struct stat *st)
{
        for (int i = 1; i < m->nlayers; i++) {
                int fd = ovl_layer_fd(&m->layers[i]);
                if (fd >= 0 && ovl_sys_fstatat(fd, ovl_layer_relpath(m, i, rel), st,
                                               AT_SYMLINK_NOFOLLOW) == 0) {
                        return S_ISDIR(st->st_mode) ? i : -1;
                }
        }
        return -1;
}

/* Does the topmost lower directory at rel hold the xattr `name`? */
static bool lower_dir_has_xattr(const struct ovl_mount *m, const char *rel, const char *name)
{
        char dn[XATTR_NAME_MAX + 16];
        if (ovl_xattr_disk_name(name, dn, sizeof(dn)) < 0) {
                return false;
        }
        struct stat st;
        int i = top_lower_layer(m, rel, &st);
        return i > 0 && ovl_sys_getxattrat(ovl_layer_fd(&m->layers[i]),
                                           ovl_layer_relpath(m, i, rel), dn, NULL, 0) >= 0;
}

/* The record (ovlshim.h) in overlay m of the removed merged directory whose
 * topmost lower directory is `id`, as a removed_dir. Another process may have
 * made it, and later changes reach it: asked before this process's memory. */
static bool record_find(const struct ovl_mount *m, const struct stat *id, struct removed_dir *out)
{
        struct stat rec;
        if (!m || ovl_dead_record_stat(m, id->st_dev, id->st_ino, &rec) < 0) {
                return false;
        }
        *out = (struct removed_dir){true,        true,       id->st_dev, id->st_ino,
                                    rec.st_mode, rec.st_uid, rec.st_gid};
        return true;
}

/* This process's memory of the removed directory whose topmost lower one is
 * `st` (note_removed), copied into *out. */
static bool removed_mem(const struct stat *st, struct removed_dir *out)
{
        if (!__atomic_load_n(&removed_next, __ATOMIC_RELAXED)) {
                return false; /* nothing removed yet: the common case costs nothing */
        }
        for (;;) {
                unsigned s = __atomic_load_n(&removed_seq, __ATOMIC_ACQUIRE);
                if (s & 1) {
                        ovl_sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
                        continue;
                }
                bool found = false;
                for (int i = 0; i < NREMOVED && !found; i++) {
                        const struct removed_dir *d = &removed[i];
                        if (d->used && d->dev == st->st_dev && d->ino == st->st_ino) {
                                *out = *d;
                                found = true;
                        }
                }
                __atomic_thread_fence(__ATOMIC_ACQUIRE);
                if (__atomic_load_n(&removed_seq, __ATOMIC_RELAXED) == s) {
                        return found;
                }
        }
}

/* The removed directory whose topmost lower one is `st`, in overlay m. */
static bool removed_find(const struct ovl_mount *m, const struct stat *st, struct removed_dir *out)
{
        return record_find(m, st, out) || removed_mem(st, out);
}

/* The parent of the removed lower-only directory v had that lower: is it gone
 * (no merged directory with a lower at its path)? MERGED never is (ovl_shadow_gone). */
static bool parent_gone(const char *v)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s", v);
        char *s = strrchr(p, '/');
        if (!s || s == p) {
                return false;
        }
        *s = '\0';
        return ovl_shadow_gone(p);
}

/* An attribute change of a removed lower-only directory needs its copy-up, which the
 * kernel ends by renaming the copy onto the old name in the upper, as rename(2) would:
 * the whiteout rmdir left there, or any non-directory, refuses (ENOTDIR), a non-empty
 * directory made since too (ENOTEMPTY); with the parent gone too (removed, maybe made
 * again by name: the new one has not the lower the old one had), EIO. An empty one is
 * replaced, and the call succeeds: not done here (the kernel's merged view does not show
 * it either until remounted). A directory whose lowers hold entries was copied up before
 * it could be removed (emptying it put whiteouts in an upper copy): the kernel changes
 * that removed copy, which the shim no longer keeps; the call succeeds.
 * The removal of an xattr (rmx) the directory does not have needs no copy-up:
 * ENODATA first. */
int ovl_dead_dir_change(const char *v, const char *rmx)
{
        const char *rel;
        struct ovl_mount *m = ovl_mount_rel(v, &rel);
        if (m && rmx && !lower_dir_has_xattr(m, rel, rmx)) {
                return -ENODATA;
        }
        struct stat lst;
        struct removed_dir rd;
        if (m && (lowers_show_names(m, rel) ||
                  (top_lower_layer(m, rel, &lst) > 0 && removed_find(m, &lst, &rd) && rd.upper))) {
                return 1;
        }
        if (parent_gone(v)) {
                return -EIO; /* whatever its name holds now */
        }
        struct ovl_loc *loc = ovl_sys_scratch(sizeof(*loc));
        int r = loc ? ovl_resolve(ovl_active(), NULL, v, OVL_R_NOFOLLOW, loc) : -ENOMEM;
        if (r == OVL_IN && loc->layer == 0 && S_ISDIR(loc->st.st_mode)) {
                r = has_entries(ovl_layer_fd(&loc->m->layers[0]), ovl_loc_relpath(loc), NULL)
                        ? -ENOTEMPTY
                        : 1;
        } else if (r >= 0) {
                r = -ENOTDIR;
        } else if (r == -ENOENT) {
                r = -EIO;
        }
        ovl_sys_scratch_free(loc, sizeof(*loc));
        return r;
}

bool ovl_dead_record_held(int fd, char *rec)
{
        char v[PATH_MAX];
        struct stat st;
        const char *rel = "";
        struct ovl_mount *m = NULL;
        int layer = -2;
        if (fd == AT_FDCWD) {
                bool shadow = ovl_cwd_on_shadow() && ovl_cwd_get(v, sizeof(v)) == 1;
                m = shadow ? ovl_mount_rel(v, &rel) : NULL;
        } else if (ovl_sys_fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                m = ovl_fd_merged(fd, v, sizeof(v), &layer);
                ovl_strip_deleted(v); /* a shadow this process removed itself */
                ovl_mount_rel(v, &rel);
        }
        /* a lower directory is its own identity; a shadow stands for its top lower */
        if (!m || (layer != -2 && layer <= 0) ||
            (layer == -2 && top_lower_layer(m, rel, &st) <= 0)) {
                return false;
        }
        /* the record's lstat first: it costs less than the resolve that tells a
         * stale one (its directory no longer removed) from a live one */
        struct stat rst;
        return ovl_dead_record_stat(m, st.st_dev, st.st_ino, &rst) == 0 && ovl_shadow_gone(v) &&
               ovl_dead_record_path(m, st.st_dev, st.st_ino, rec, PATH_MAX) == 0;
}

static bool shadow_gone(void)
{
        char v[PATH_MAX];
        return ovl_cwd_get(v, sizeof(v)) == 1 && ovl_shadow_gone(v);
}

/* The merged directory at `path`, its identity (ovl_loc_stat); false when
 * there is none. */
static bool dir_identity(const char *path, dev_t *dev, ino_t *ino)
{
        struct ovl_loc *loc = ovl_sys_scratch(sizeof(*loc));
        bool ok = loc && ovl_resolve(ovl_active(), NULL, path, 0, loc) == OVL_IN &&
                  loc->layer >= 0 && S_ISDIR(loc->st.st_mode);
        if (ok) {
                struct stat st;
                ovl_loc_stat(loc, &st);
                *dev = st.st_dev;
                *ino = st.st_ino;
        }
        ovl_sys_scratch_free(loc, sizeof(*loc));
        return ok;
}

void ovl_cwd_dir_removed(const struct ovl_loc *loc)
{
        char v[PATH_MAX], c[PATH_MAX];
        note_removed(loc);
        if (ovl_loc_path(loc, v, sizeof(v)) < 0 || ovl_cwd_get(c, sizeof(c)) != 1 || strcmp(c, v)) {
                return;
        }
        cwd_perm_mode = loc->st.st_mode;
        cwd_perm_uid = loc->st.st_uid;
        cwd_perm_gid = loc->st.st_gid;
        __atomic_store_n(&cwd_perm_known, true, __ATOMIC_RELEASE);
        char *s = strrchr(c, '/');
        if (!s || s == c) {
                return;
        }
        *s = '\0';
        dev_t d;
        ino_t i;
        if (dir_identity(c, &d, &i)) {
                cwd_parent_dev = d;
                cwd_parent_ino = i;
                __atomic_store_n(&cwd_parent_known, true, __ATOMIC_RELEASE);
        }
}

int ovl_cwd_dead_search(void)
{
        char v[PATH_MAX];
        const char *rel;
        struct stat st;
        struct removed_dir d;
        /* the record first: a change through another name of it reaches that */
        struct ovl_mount *m = ovl_cwd_get(v, sizeof(v)) == 1 ? ovl_mount_rel(v, &rel) : NULL;
        if (m && top_lower_layer(m, rel, &st) > 0 && record_find(m, &st, &d)) {
                return ovl_mode_may_search(d.mode, d.uid, d.gid);
        }
        if (!__atomic_load_n(&cwd_perm_known, __ATOMIC_ACQUIRE)) {
                return 0;
        }
        return ovl_mode_may_search(cwd_perm_mode, cwd_perm_uid, cwd_perm_gid);
}

bool ovl_removed_dir_attrs(const struct ovl_mount *m, struct stat *st)
{
        struct removed_dir d;
        struct stat rec;
        if (!S_ISDIR(st->st_mode)) {
                return false;
        }
        if (m && ovl_dead_record_stat(m, st->st_dev, st->st_ino, &rec) == 0) {
                ovl_dead_record_apply(&rec, st); /* its times too */
                return true;
        }
        if (!removed_mem(st, &d) || !d.upper) {
                return false;
        }
        st->st_mode = d.mode;
        st->st_uid = d.uid;
        st->st_gid = d.gid;
        return true;
}

int ovl_removed_dir_search(const struct ovl_mount *m, const struct stat *st)
{
        struct removed_dir d;
        return removed_find(m, st, &d) ? ovl_mode_may_search(d.mode, d.uid, d.gid) : 0;
}

bool ovl_cwd_parent_replaced(const char *parent)
{
        if (!__atomic_load_n(&cwd_parent_known, __ATOMIC_ACQUIRE)) {
                return false;
        }
        dev_t d;
        ino_t i;
        return !dir_identity(parent, &d, &i) || d != cwd_parent_dev || i != cwd_parent_ino;
}

void ovl_cwd_dir_moved(void)
{
        __atomic_add_fetch(&dir_moves, 1, __ATOMIC_RELEASE);
}

bool ovl_cwd_refresh(void)
{
        char real[PATH_MAX], v[PATH_MAX], old[PATH_MAX];
        int layer = -1;
        if (ovl_in_vfork_child() || ovl_cwd_get(old, sizeof(old)) != 1 ||
            ovl_sys_getcwd(real, sizeof(real)) < 0 || real[0] != '/' ||
            !ovl_unmap_real(real, v, sizeof(v), &layer) || layer != 0 || !strcmp(v, old)) {
                return false;
        }
        ovl_cwd_set(v, 1);
        return true;
}

void ovl_cwd_follow_moves(void)
{
        unsigned g = __atomic_load_n(&dir_moves, __ATOMIC_ACQUIRE);
        if (g == __atomic_load_n(&dir_moves_seen, __ATOMIC_RELAXED)) {
                return;
        }
        __atomic_store_n(&dir_moves_seen, g, __ATOMIC_RELAXED);
        char real[PATH_MAX], v[PATH_MAX];
        int layer = -1;
        int r = ovl_sys_getcwd(real, sizeof(real));
        if (r == -ENOENT && ovl_cwd_get(v, sizeof(v)) == 1) {
                /* this process removed the directory it stands in */
                __atomic_store_n(&cwd_gone, true, __ATOMIC_RELAXED);
                return;
        }
        if (r < 0 || real[0] != '/' || !ovl_unmap_real(real, v, sizeof(v), &layer)) {
                return;
        }
        if (layer == 0) {
                ovl_cwd_set(v, 1); /* the upper directory moved with its merged name */
                return;
        }
        if (layer == -2 && shadow_gone()) {
                __atomic_store_n(&cwd_gone, true, __ATOMIC_RELAXED);
        }
}

bool ovl_cwd_known_dead(void)
{
        return __atomic_load_n(&cwd_gone, __ATOMIC_RELAXED);
}

bool ovl_cwd_on_shadow(void)
{
        return __atomic_load_n(&cwd_shadow, __ATOMIC_RELAXED);
}

bool ovl_cwd_dead(void)
{
        struct stat st;
        if (__atomic_load_n(&cwd_gone, __ATOMIC_RELAXED)) {
                return true;
        }
        if (ovl_sys_fstatat(AT_FDCWD, "", &st, AT_EMPTY_PATH) < 0) {
                return false;
        }
        /* an upper (or any real) directory removed by anyone has no links left; a shadow
         * one only shows it in the merged view, when another process removed it */
        bool dead =
            st.st_nlink == 0 || (__atomic_load_n(&cwd_shadow, __ATOMIC_RELAXED) && shadow_gone());
        if (dead) {
                __atomic_store_n(&cwd_gone, true, __ATOMIC_RELAXED); /* it never comes back */
        }
        return dead;
}

/* The cwd or dirfd, if it is a shadow whose merged directory is gone: its
 * mount, its merged path in v. */
static struct ovl_mount *dead_shadow(int dirfd, char *v)
{
        if (dirfd == AT_FDCWD) {
                struct ovl_mount *m = __atomic_load_n(&cwd_shadow, __ATOMIC_RELAXED)
                                          ? ovl_base_dead(AT_FDCWD, ".")
                                          : NULL;
                return m && ovl_cwd_get(v, PATH_MAX) == 1 ? m : NULL;
        }
        int layer = -1;
        struct ovl_mount *m = ovl_fd_merged(dirfd, v, PATH_MAX, &layer);
        if (!m || layer != -2) {
                return NULL; /* a removed upper directory is the kernel's to stat */
        }
        ovl_strip_deleted(v); /* a shadow this process removed itself */
        return ovl_shadow_gone(v) ? m : NULL;
}

bool ovl_dead_shadow_stat(int dirfd, const char *path, struct stat *st)
{
        char v[PATH_MAX];
        struct ovl_mount *m = path[0] && ovl_dots_only(path) ? dead_shadow(dirfd, v) : NULL;
        if (!m) {
                return false;
        }
        const char *rel = v + m->merged_len;
        if (top_lower_layer(m, rel[0] == '/' ? rel + 1 : rel, st) <= 0) {
                return false;
        }
        ovl_removed_dir_attrs(m, st); /* copied up before it was removed */
        return true;
}

OVL_EXPORT char *getcwd(char *buf, size_t size)
{
        char v[PATH_MAX];
        ovl_cwd_follow_moves();
        if (ovl_cwd_get(v, sizeof(v)) != 1) {
                return REAL(getcwd)(buf, size);
        }
        if (ovl_cwd_dead()) {
                errno = ENOENT; /* the directory was removed, as getcwd(2) says */
                return NULL;
        }
        if (!__atomic_load_n(&cwd_shadow, __ATOMIC_RELAXED) && ovl_cwd_refresh() &&
            ovl_cwd_get(v, sizeof(v)) != 1) {
                return REAL(getcwd)(buf, size); /* another process moved it (or a parent) */
        }
        size_t need = strlen(v) + 1;
        if (buf && size == 0) {
                errno = EINVAL;
                return NULL;
        }
        if (size && size < need) {
                errno = ERANGE;
                return NULL;
        }
        if (!buf) {
                buf = malloc(size ? size : need);
                if (!buf) {
                        errno = ENOMEM;
                        return NULL;
                }
        }
        memcpy(buf, v, need);
        return buf;
}

OVL_EXPORT char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
        return getcwd(buf, size < buflen ? size : buflen);
}

OVL_EXPORT char *getwd(char *buf)
{
        if (!getcwd(buf, PATH_MAX)) {
                snprintf(buf, PATH_MAX, "%s", strerror(errno));
                return NULL;
        }
        return buf;
}

OVL_EXPORT char *get_current_dir_name(void)
{
        char v[PATH_MAX];
        ovl_cwd_follow_moves();
        if (ovl_cwd_get(v, sizeof(v)) == 1) {
                if (ovl_cwd_dead()) {
                        errno = ENOENT;
                        return NULL;
                }
                /* another process may have moved it (or a parent), as for getcwd */
                if (!__atomic_load_n(&cwd_shadow, __ATOMIC_RELAXED) && ovl_cwd_refresh() &&
                    ovl_cwd_get(v, sizeof(v)) != 1) {
                        return REAL(get_current_dir_name)();
                }
                return strdup(v);
        }
        return REAL(get_current_dir_name)();
}
