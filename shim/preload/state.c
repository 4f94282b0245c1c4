/* Start-up, the table of real symbols, tracing, and the translation of a
 * wrapper's (dirfd, path) into a resolution request. */
#include "preload.h"
#include "lcache.h"
#include "sys.h"
#include "write.h"

#include <pthread.h>

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

/* The process-wide state. The config is written once at start-up and only
 * read afterwards; the device list is filled once. */
static struct ovl_config cfg;
static int init_state; /* 0 not yet, 1 running, 2 done */
static pid_t init_tid;
static bool active;
static bool debug;
static const char *log_path;

static const char *const sym_names[OVL_NSYMS] = {
#define OVL_SYM(name) #name,
#include "symbols.def"
#undef OVL_SYM
};
static void *sym_real[OVL_NSYMS];

void *ovl_real(enum ovl_sym_id id)
{
        void *p = __atomic_load_n(&sym_real[id], __ATOMIC_ACQUIRE);
        if (!p) {
                /* dlsym(RTLD_NEXT) does not allocate on success (glibc 2.36) */
                p = dlsym(RTLD_NEXT, sym_names[id]);
                __atomic_store_n(&sym_real[id], p, __ATOMIC_RELEASE);
        }
        return p;
}

static void die(const char *msg)
{
        char line[1200];
        int n = snprintf(line, sizeof(line), "ovlshim: %s\n", msg);
        ovl_sys_write(2, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
        _exit(125); /* fail closed: the program never runs unprotected */
}

/* A relative OVL_CONF is made absolute so that children find it anywhere. */
static void absolute_conf(const char *conf)
{
        char cwd[PATH_MAX], abs[PATH_MAX];
        if (conf[0] == '/' || ovl_sys_getcwd(cwd, sizeof(cwd)) < 0 ||
            ovl_path_lexical(abs, sizeof(abs), cwd, conf) < 0) {
                return;
        }
        setenv("OVL_CONF", abs, 1);
}

static void load(void)
{
        ovl_exec_env_restore();
        const char *conf = getenv("OVL_CONF");
        if (!conf || !*conf) {
                return;
        }
        debug = getenv("OVL_DEBUG") && strcmp(getenv("OVL_DEBUG"), "0") != 0;
        log_path = getenv("OVL_LOG");
        struct ovl_error err;
        if (ovl_config_load(conf, &cfg, &err) < 0) {
                die(err.msg);
        }
        absolute_conf(conf);
        ovl_exec_init(&cfg, getenv("OVL_CONF"));
        __atomic_store_n(&active, true, __ATOMIC_RELEASE);
        ovl_cwd_init();
}

struct ovl_config *ovl_active(void)
{
        int st = __atomic_load_n(&init_state, __ATOMIC_ACQUIRE);
        if (st == 2) {
                return active ? &cfg : NULL;
        }
        pid_t tid = (pid_t)ovl_sys6(SYS_gettid, 0, 0, 0, 0, 0, 0);
        int expected = 0;
        if (__atomic_compare_exchange_n(&init_state, &expected, 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
                init_tid = tid;
                load();
                __atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
                return active ? &cfg : NULL;
        }
        if (__atomic_load_n(&init_tid, __ATOMIC_RELAXED) == tid) {
                /* our own start-up: the config once loaded, else pass through */
                return active ? &cfg : NULL;
        }
        while (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2) {
                ovl_sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
        }
        return active ? &cfg : NULL;
}

/* --- fork and vfork ------------------------------------------------------------ */

bool ovl_in_vfork_child(void)
{
        return ovl_vfork_child();
}

static void fork_prepare(void)
{
        ovl_lcache_fork_lock();
        ovl_cwd_fork_lock();
        ovl_fdmove_lock();
}

static void fork_parent(void)
{
        ovl_fdmove_unlock();
        ovl_cwd_fork_unlock();
        ovl_lcache_fork_unlock();
}

static void fork_child(void)
{
        ovl_set_owner_pid(ovl_sys_getpid());
        ovl_fdmove_unlock();
        ovl_cwd_fork_unlock();
        ovl_lcache_fork_unlock();
        for (int i = 0; active && i < cfg.nmounts; i++) {
                ovl_write_fork_child(&cfg.mounts[i]);
        }
}

/* Other libraries' constructors may run first; they initialise lazily. */
__attribute__((constructor)) static void ovl_ctor(void)
{
        ovl_set_owner_pid(ovl_sys_getpid());
        pthread_atfork(fork_prepare, fork_parent, fork_child);
        ovl_active();
}

/* --- tracing ---------------------------------------------------------------- */

void ovl_log(const char *call, const char *path, const struct ovl_loc *loc, long result)
{
        if (!debug) {
                return;
        }
        char line[2 * PATH_MAX + 200];
        const char *lpath = "-";
        if (loc && loc->m && loc->layer >= 0) {
                lpath = loc->m->layers[loc->layer].path;
        }
        int n = snprintf(line, sizeof(line), "ovlshim: %s %s -> %s%s%s = %ld\n", call,
                         path ? path : "(null)", lpath, loc && loc->m ? "/" : "",
                         loc && loc->m ? loc->rel : (loc ? loc->real : ""), result);
        size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
        int fd = 2;
        if (log_path) {
                fd = ovl_sys_openat(AT_FDCWD, log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                                    0644);
        }
        if (fd >= 0) {
                ovl_sys_write(fd, line, len);
        }
        if (log_path && fd >= 0) {
                ovl_sys_close(fd);
        }
}

/* --- which file systems matter ------------------------------------------------ */

#define MAX_DEVS 64
static dev_t devs[MAX_DEVS];
static int ndevs = -1;

static void add_dev(dev_t *v, int *n, dev_t d)
{
        for (int i = 0; i < *n; i++) {
                if (v[i] == d) {
                        return;
                }
        }
        if (*n < MAX_DEVS) {
                v[(*n)++] = d;
        }
}

/* Layers, MERGED and every existing ancestor of MERGED (a walk like rsync's
 * starts at "/" and comes down to MERGED one component at a time). */
static void fill_devs(void)
{
        dev_t v[MAX_DEVS] = {0};
        int n = 0;
        for (int i = 0; i < cfg.nmounts; i++) {
                struct ovl_mount *m = &cfg.mounts[i];
                for (int j = 0; j < m->nlayers; j++) {
                        if (m->layers[j].path) {
                                add_dev(v, &n, m->layers[j].dev);
                        }
                }
                char p[PATH_MAX];
                memcpy(p, m->merged, m->merged_len + 1);
                for (;;) {
                        struct stat st;
                        if (ovl_sys_lstatat(AT_FDCWD, p, &st) == 0) {
                                add_dev(v, &n, st.st_dev);
                        }
                        char *s = strrchr(p, '/');
                        if (!s || s == p) {
                                break;
                        }
                        *s = '\0';
                }
                struct stat st;
                if (ovl_sys_lstatat(AT_FDCWD, "/", &st) == 0) {
                        add_dev(v, &n, st.st_dev);
                }
        }
        memcpy(devs, v, sizeof(v[0]) * (size_t)n);
        __atomic_store_n(&ndevs, n, __ATOMIC_RELEASE);
}

bool ovl_dev_relevant(dev_t dev)
{
        int n = __atomic_load_n(&ndevs, __ATOMIC_ACQUIRE);
        if (n < 0) {
                fill_devs();
                n = __atomic_load_n(&ndevs, __ATOMIC_ACQUIRE);
        }
        for (int i = 0; i < n; i++) {
                if (devs[i] == dev) {
                        return true;
                }
        }
        return false;
}

/* --- from (dirfd, path) to a resolution ------------------------------------------ */

int ovl_loc_path(const struct ovl_loc *loc, char *out, size_t cap)
{
        int n = snprintf(out, cap, "%s%s%s", loc->m->merged, loc->rel[0] ? "/" : "", loc->rel);
        return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static struct ovl_mount *mount_of(const char *merged);
static void hold_base(int dirfd, const char *base);

/* A removed merged directory that went through WORK (dir.c mark_gone), or a
 * directory removed before, inside one: its real path, a WORK name (and the
 * names below it), becomes the merged one it had, still " (deleted)". */
static bool gone_merged(int fd, char *real)
{
        char v[PATH_MAX], up[PATH_MAX];
        char *w = strstr(real, "/#ovlshim-");
        if (!w) {
                return false;
        }
        char tail[PATH_MAX];
        snprintf(tail, sizeof(tail), "%s", w + 1);
        ovl_strip_deleted(tail);
        char *below = strchr(tail, '/'); /* the names below the WORK one */
        int k = 0;
        for (char *c = below; c; c = strchr(c + 1, '/')) {
                k++;
        }
        if (3 * k + 2 > (int)sizeof(up)) {
                return false;
        }
        char *o = up; /* the WORK directory: k times ".." up from fd */
        *o++ = '.';
        for (int i = 0; i < k; i++) {
                memcpy(o, i ? "/.." : ".", i ? 3 : 1);
                o += i ? 3 : 1;
        }
        *o = '\0';
        /* by path: fgetxattr refuses O_PATH fds */
        ssize_t n = ovl_sys_getxattrat(fd, up, OVL_XATTR_GONE, v, sizeof(v) - 1);
        if (n <= 0 || v[0] != '/') {
                return false;
        }
        v[n] = '\0';
        if (!mount_of(v) ||
            snprintf(real, PATH_MAX, "%s%s%s", v, below ? below : "", OVL_DELETED) >= PATH_MAX) {
                return false;
        }
        return true;
}

struct ovl_mount *ovl_fd_merged(int fd, char *out, size_t cap, int *layer)
{
        ovl_detour_clear();
        struct stat st;
        if (!ovl_active() || ovl_sys_fstat(fd, &st) < 0 || !ovl_dev_relevant(st.st_dev)) {
                return NULL;
        }
        char real[PATH_MAX];
        if (ovl_sys_fdpath(fd, real, sizeof(real)) < 0 || real[0] != '/') {
                return NULL;
        }
        if (st.st_nlink == 0 && gone_merged(fd, real)) {
                size_t l = strlen(real) + 1;
                if (l > cap) {
                        return NULL;
                }
                memcpy(out, real, l);
                if (layer) {
                        *layer = 0;
                }
                return mount_of(real);
        }
        int l = -1;
        struct ovl_mount *m = ovl_unmap_real(real, out, cap, &l);
        if (m) { /* what the fd is held; an upper directory can be walked from */
                hold_base(l == 0 && S_ISDIR(st.st_mode) ? fd : -1, out);
        }
        if (layer) {
                *layer = l;
        }
        return m;
}

/* Could (base, path) land in an overlay? Lexically, which is exact unless a
 * symlink outside every overlay is followed by "..": a documented limit. */
static bool may_enter(const char *base, const char *path)
{
        char lex[PATH_MAX];
        if (ovl_path_lexical(lex, sizeof(lex), base, path) < 0) {
                return true; /* let the resolver give ENAMETOOLONG */
        }
        return ovl_path_near(&cfg, lex) == 1;
}

/* Past leading "." components: "./../x" climbs as "../x" does. */
static const char *skip_dots(const char *p)
{
        while (p[0] == '.' && (p[1] == '/' || !p[1])) {
                p += p[1] ? 2 : 1;
                while (*p == '/') {
                        p++;
                }
        }
        return p;
}

bool ovl_starts_dotdot(const char *path)
{
        const char *p = skip_dots(path);
        return p[0] == '.' && p[1] == '.' && (!p[2] || p[2] == '/');
}

static bool starts_dotdot(const char *p)
{
        return ovl_starts_dotdot(p);
}

/* "../rest" from the directory `dir`: the base becomes its parent, the path
 * what follows ("" when nothing does). */
static void up_one(char *dir, const char **path)
{
        char *s = strrchr(dir, '/');
        s[s == dir ? 1 : 0] = '\0';
        const char *p = skip_dots(*path) + 2;
        while (*p == '/') {
                p++;
        }
        *path = p;
}

/* Only "." components (or nothing) left: the directory reached itself. */
bool ovl_dots_only(const char *p)
{
        return !*skip_dots(p);
}

/* A directory removed while open: the kernel still walks ".." from it (to
 * its old parent) and finds nothing else in it. false: let the kernel
 * have the call. */
bool ovl_strip_deleted(char *real)
{
        size_t l = strlen(real), t = sizeof(OVL_DELETED) - 1;
        if (l <= t || strcmp(real + l - t, OVL_DELETED)) {
                return false;
        }
        real[l - t] = '\0';
        return true;
}

static struct ovl_mount *mount_of(const char *merged)
{
        for (int i = 0; i < cfg.nmounts; i++) {
                if (ovl_path_under(merged, cfg.mounts[i].merged, cfg.mounts[i].merged_len) >= 0) {
                        return &cfg.mounts[i];
                }
        }
        return NULL;
}

struct ovl_mount *ovl_mount_rel(const char *v, const char **rel)
{
        struct ovl_mount *m = ovl_active() ? mount_of(v) : NULL;
        *rel = m ? v + m->merged_len + (v[m->merged_len] == '/') : "";
        return m;
}

/* The overlay whose WORK holds the real path, if any. */
static struct ovl_mount *work_of(const char *real)
{
        for (int i = 0; i < cfg.nmounts; i++) {
                const char *w = cfg.mounts[i].workdir;
                if (w && ovl_path_under(real, w, strlen(w)) >= 0) {
                        return &cfg.mounts[i];
                }
        }
        return NULL;
}

/* A removed real directory (fd, its link text in `real`): the merged path it
 * had in v, and 1; 0 when it was an overlay's but its name is unknown (one
 * inside a tree moved to WORK on its way out: v is then its MERGED); -1 when
 * it has nothing to do with any overlay. *shadow: it is a shadow. */
static int dead_merged(int fd, char *real, char *v, bool *shadow)
{
        int layer = -1;
        *shadow = false;
        if (gone_merged(fd, real)) {
                ovl_strip_deleted(real);
                memcpy(v, real, strlen(real) + 1);
                return 1;
        }
        if (!ovl_strip_deleted(real)) {
                return -1;
        }
        if (ovl_unmap_real(real, v, PATH_MAX, &layer)) {
                *shadow = layer == -2;
                return layer == 0 || layer == -2 ? 1 : -1;
        }
        struct ovl_mount *m = work_of(real);
        if (!m) {
                return -1;
        }
        memcpy(v, m->merged, m->merged_len + 1);
        return 0;
}

int ovl_removed_dir_path(int fd, char *v)
{
        char real[PATH_MAX];
        bool shadow;
        return ovl_sys_fdpath(fd, real, sizeof(real)) > 0 ? dead_merged(fd, real, v, &shadow) : -1;
}

/* The base a relative path starts from: 1 inside an overlay, 2 an ancestor
 * of one, 0 unrelated, -1 nothing to do with any overlay (base unset).
 * *shadow: a dirfd on a shadow or lower directory (a lower-only merged one,
 * dead once removed). A removed real directory holds nothing, and "." is the
 * kernel's: only a path climbing out of it is ours (3, its merged path in
 * base: climb). -2: ".." from a removed directory of an overlay the caller
 * may not search (EACCES). */
static int dirfd_base(int dirfd, char *base, const char **path, bool *shadow)
{
        if (dirfd == AT_FDCWD) {
                ovl_cwd_follow_moves();
                return ovl_cwd_get(base, PATH_MAX);
        }
        struct stat st;
        if (ovl_sys_fstat(dirfd, &st) < 0 || !S_ISDIR(st.st_mode) || !ovl_dev_relevant(st.st_dev)) {
                return -1;
        }
        char real[PATH_MAX];
        if (ovl_sys_fdpath(dirfd, real, sizeof(real)) < 0 || real[0] != '/') {
                return -1;
        }
        if (st.st_nlink == 0) {
                bool sh;
                if (!starts_dotdot(*path) || dead_merged(dirfd, real, base, &sh) < 0) {
                        return -1;
                }
                /* ".." is looked up in the removed directory: may_lookup asks its mode */
                return ovl_dead_search(dirfd) < 0 ? -2 : 3;
        }
        int layer = -1;
        if (!ovl_unmap_real(real, base, PATH_MAX, &layer)) {
                memcpy(base, real, strlen(real) + 1);
                return ovl_path_near(&cfg, base);
        }
        *shadow = layer == -2 || layer > 0; /* a lower-only directory, dead once removed */
        return 1;
}

/* The overlay a dirfd on a layer's directory belongs to, with no side effect
 * (ovl_fd_merged records the fd as a base). */
static struct ovl_mount *fd_mount(int fd)
{
        char real[PATH_MAX], v[PATH_MAX];
        int layer = -1;
        return ovl_sys_fdpath(fd, real, sizeof(real)) > 0
                   ? ovl_unmap_real(real, v, sizeof(v), &layer)
                   : NULL;
}

int ovl_dead_search(int dirfd)
{
        struct stat st;
        if (ovl_sys_fstatat(dirfd, "", &st, AT_EMPTY_PATH) < 0) {
                return 0;
        }
        /* a shadow cwd, or a dirfd on a lower directory: not the directory the kernel
         * would ask; the mode this process saw the merged one removed with */
        if (st.st_nlink != 0) {
                return dirfd == AT_FDCWD ? ovl_cwd_dead_search()
                                         : ovl_removed_dir_search(fd_mount(dirfd), &st);
        }
        int r = ovl_sys_faccessat(dirfd, "", X_OK, AT_EACCESS | AT_EMPTY_PATH);
        return r == -EACCES ? r : 0;
}

/* From the live directory `base` ("" left: itself, without the lookup a
 * "." would be; the kernel asked for search permission on the removed
 * directory ".." left, not on this one). */
static int resolve_from(const char *base, const char *path, int rflags, struct ovl_loc *loc)
{
        return ovl_resolve(&cfg, base, path, *path ? rflags : rflags | OVL_R_EMPTY, loc);
}

/* Is the merged directory `v` gone, as the old parent of a removed one? A
 * parent of a lower-only directory (`lower`) had that lower: a directory
 * made again by its name has none, and is not the one the kernel is in. */
static bool parent_gone(const char *v, bool lower)
{
        if (!mount_of(v)) {
                return false; /* climbed out of MERGED */
        }
        if (lower) {
                return ovl_shadow_gone(v);
        }
        struct ovl_loc *loc = ovl_sys_scratch(sizeof(*loc));
        bool gone =
            loc && (ovl_resolve(&cfg, NULL, v, OVL_R_NOFOLLOW | OVL_R_HELD, loc) != OVL_IN ||
                    loc->layer < 0 || !S_ISDIR(loc->st.st_mode));
        ovl_sys_scratch_free(loc, sizeof(*loc));
        return gone;
}

/* The removed merged directory `v` itself, known by name only: the top lower
 * directory it showed (the kernel's dead inode keeps it), marked dead. */
static int dead_loc(const char *v, struct ovl_loc *loc)
{
        const char *rel;
        struct ovl_mount *m = ovl_mount_rel(v, &rel);
        for (int i = 1; m && rel[0] && i < m->nlayers; i++) {
                int fd = ovl_layer_fd(&m->layers[i]);
                struct stat st;
                if (fd < 0 || ovl_sys_lstatat(fd, rel, &st) < 0) {
                        continue;
                }
                if (!S_ISDIR(st.st_mode)) {
                        break;
                }
                loc->m = m;
                memcpy(loc->rel, rel, strlen(rel) + 1);
                loc->layer = loc->top_lower = i;
                loc->nstack = 1;
                loc->stack[0] = (unsigned short)i;
                loc->st = st;
                loc->id_dev = st.st_dev;
                loc->id_ino = st.st_ino;
                loc->dead = true;
                loc->real[0] = '\0';
                ovl_dead_record_attach(loc); /* copied up before: the copy's attributes */
                return OVL_IN;
        }
        return -ENOENT;
}

bool ovl_dead_record_loc(const char *v, struct ovl_loc *loc)
{
        return dead_loc(v, loc) == OVL_IN && loc->real[0] == '/';
}

/* Climb by name from the removed directory `base`. The removed cwd's parent,
 * when this process removed the cwd, is known by its identity too
 * (ovl_cwd_parent_replaced). */
static int climb_by_name(int dirfd, char *base, const char *path, bool lower, int rflags,
                         struct ovl_loc *loc)
{
        bool first = true;
        while (starts_dotdot(path)) {
                up_one(base, &path);
                bool gone = parent_gone(base, lower) ||
                            (first && dirfd == AT_FDCWD && ovl_cwd_parent_replaced(base));
                if (!gone) {
                        return resolve_from(base, path, rflags, loc);
                }
                first = false;
        }
        return ovl_dots_only(path) ? dead_loc(base, loc) : -ENOENT;
}

/* The real directory the cwd or dirfd stands on, without a lookup in it. */
static int open_base(int dirfd)
{
        if (dirfd == AT_FDCWD) {
                return ovl_sys_openat(AT_FDCWD, "/proc/self/cwd", O_PATH | O_DIRECTORY | O_CLOEXEC,
                                      0);
        }
        return ovl_sys_fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
}

/* The cwd or dirfd is a removed directory of the overlay (merged path
 * `base`) and the path climbs out of it. The kernel follows d_parent: the
 * parent the directory had, moved along with any rename since, and still
 * that one when it was removed too, or removed and made again by name, where
 * lookups find nothing. An upper directory's real parents are those: climbed
 * through them, a removed one reached with only "." left is the kernel's
 * (OVL_PASS: the caller's own walk ends on it), a name in it is missing, and
 * a live one is the merged base the rest is resolved from: a climb is never
 * handed raw to the kernel, which would walk on into the real layers.
 * Shadows and lower directories have no such parents: they are climbed by
 * name, as is the part above a directory moved into WORK to be removed
 * (mark_gone). */
static int climb(int dirfd, char *base, const char *path, int rflags, struct ovl_loc *loc)
{
        int cur = open_base(dirfd);
        if (cur < 0) {
                return cur;
        }
        char real[PATH_MAX], v[PATH_MAX];
        struct stat st;
        bool shadow = true;
        int known = 1;
        if (ovl_sys_fstat(cur, &st) == 0 && st.st_nlink == 0 &&
            ovl_sys_fdpath(cur, real, sizeof(real)) > 0) {
                known = dead_merged(cur, real, v, &shadow);
                if (known == 1) {
                        memcpy(base, v, strlen(v) + 1);
                }
        }
        if (shadow || known < 0) {
                ovl_sys_close(cur);
                return climb_by_name(dirfd, base, path, true, rflags, loc);
        }
        while (starts_dotdot(path)) {
                int p = ovl_sys_openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
                if (p < 0) {
                        ovl_sys_close(cur);
                        return p;
                }
                int layer = -1;
                bool alive = ovl_sys_fstat(p, &st) == 0 && st.st_nlink > 0;
                if (ovl_sys_fdpath(p, real, sizeof(real)) < 0) {
                        real[0] = '\0';
                }
                if (alive && ovl_unmap_real(real, v, sizeof(v), &layer) && layer == 0) {
                        ovl_sys_close(p);
                        ovl_sys_close(cur);
                        up_one(base, &path);
                        return resolve_from(v, path, rflags, loc);
                }
                if (alive) {
                        /* cur was moved into WORK on its way out: its old parent by name */
                        ovl_sys_close(p);
                        ovl_sys_close(cur);
                        return known == 1 ? climb_by_name(dirfd, base, path, false, rflags, loc)
                                          : -ENOENT;
                }
                up_one(base, &path);
                known = real[0] ? dead_merged(p, real, v, &shadow) : 0;
                if (known == 1) {
                        memcpy(base, v, strlen(v) + 1);
                }
                ovl_sys_close(cur);
                cur = p;
        }
        ovl_sys_close(cur);
        return ovl_dots_only(path) ? OVL_PASS : -ENOENT;
}

/* Is the base a path climbing out of it starts from a removed directory?
 * Asked before the walk: the name it had may hold another directory now. A
 * shadow or lower one outlives its merged directory. */
static bool base_removed(int dirfd, const char *base, bool shadow)
{
        return dirfd == AT_FDCWD ? ovl_cwd_dead() : shadow && ovl_shadow_gone(base);
}

/* The cwd or dirfd was removed: asked only after a walk from it failed (a
 * live one pays nothing). ".." climbs to the old parent; anything else finds
 * nothing, and only the directory itself is the kernel's to answer (it may
 * be a live shadow directory in WORK). */
static int in_dead_cwd(int dirfd, char *base, const char *path, int rflags, struct ovl_loc *loc)
{
        /* may_lookup for the first name, "." too (ovl_dead_search: a shadow cwd asks the
         * mode this process removed the directory with) */
        int r = path[0] ? ovl_dead_search(dirfd) : 0;
        if (r < 0 || !starts_dotdot(path)) {
                return r < 0 ? r : *skip_dots(path) ? -ENOENT : OVL_PASS;
        }
        return climb(dirfd, base, path, rflags, loc);
}

struct ovl_mount *ovl_base_dead(int dirfd, const char *path)
{
        struct stat st;
        char v[PATH_MAX];
        if (path[0] == '/' || !ovl_active()) {
                return NULL;
        }
        if (dirfd == AT_FDCWD) {
                return ovl_cwd_get(v, sizeof(v)) == 1 && ovl_cwd_dead() ? mount_of(v) : NULL;
        }
        if (ovl_sys_fstat(dirfd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_nlink != 0 ||
            !ovl_dev_relevant(st.st_dev)) {
                return NULL;
        }
        return ovl_fd_merged(dirfd, v, sizeof(v), NULL);
}

struct ovl_mount *ovl_dirfd_gone(int dirfd)
{
        struct stat st;
        char v[PATH_MAX];
        int layer = -1;
        if (dirfd == AT_FDCWD || !ovl_active() || ovl_sys_fstat(dirfd, &st) < 0 ||
            !S_ISDIR(st.st_mode) || st.st_nlink == 0 || !ovl_dev_relevant(st.st_dev)) {
                return NULL;
        }
        struct ovl_mount *m = ovl_fd_merged(dirfd, v, sizeof(v), &layer);
        return m && (layer == -2 || layer > 0) && ovl_shadow_gone(v) ? m : NULL;
}

int ovl_dead_change(int dirfd, const char *path, const char *rmx, struct ovl_loc *loc)
{
        char base[PATH_MAX];
        bool shadow = false;
        if (!path || !path[0] || path[0] == '/' || *skip_dots(path) || !ovl_active() ||
            dirfd_base(dirfd, base, &path, &shadow) != 1) {
                return 0;
        }
        bool dead = dirfd == AT_FDCWD ? ovl_cwd_on_shadow() && ovl_cwd_dead()
                                      : shadow && ovl_shadow_gone(base);
        if (dead && ovl_dead_record_loc(base, loc)) {
                return OVL_IN;
        }
        return dead ? ovl_dead_dir_change(base, rmx) : 0;
}

/* The walk from `base` (the merged path of the cwd, a dirfd or an fd) may
 * pass directories the caller cannot search, which the kernel never looks
 * at: name it and the fd that holds it (AT_FDCWD, a dirfd; -1: none to walk
 * from) for the detour, which checks that fd is still the upper copy of
 * `base` before it walks from it. */
static void hold_base(int dirfd, const char *base)
{
        const char *rel;
        struct ovl_mount *m = ovl_mount_rel(base, &rel);
        if (m && m->layers[0].path) {
                ovl_detour_set(ovl_layer_fd(&m->layers[0]), m->layers[0].path, rel, dirfd);
        }
}

int ovl_at(int dirfd, const char *path, int rflags, struct ovl_loc *loc)
{
        bool dead_first = rflags & OVL_AT_DEAD_FIRST;
        rflags &= ~OVL_AT_DEAD_FIRST;
        ovl_detour_clear();
        if (!path || !ovl_active()) {
                return OVL_PASS;
        }
        if (path[0] == '/') {
                struct ovl_mount *m = mount_of(path);
                if (!m && !may_enter(NULL, path)) {
                        return OVL_PASS;
                }
                if (m && ovl_above(m, false) < 0) {
                        return -EACCES;
                }
                int r = ovl_resolve(&cfg, NULL, path, rflags, loc);
                /* a failure, or a missing name (which a call may create): asked
                 * again, another process may have changed a mode above */
                if (m && (r < 0 || (r == OVL_IN && loc->layer < 0)) && ovl_above(m, true) < 0) {
                        return -EACCES;
                }
                return r;
        }
        if (!path[0] && !(rflags & OVL_R_EMPTY)) {
                return OVL_PASS;
        }
        char base[PATH_MAX];
        bool shadow = false;
        int near = dirfd_base(dirfd, base, &path, &shadow);
        if (near == -2) {
                return -EACCES;
        }
        /* ".." from a removed directory: the name it had may hold another one now */
        if (near == 3 || (near == 1 && starts_dotdot(path) && base_removed(dirfd, base, shadow))) {
                /* ".." is looked up in the removed directory (dirfd_base asked a real one) */
                int d = near == 3 ? 0 : ovl_dead_search(dirfd);
                return d < 0 ? d : climb(dirfd, base, path, rflags, loc);
        }
        if (near < 0 || (near == 0 && !ovl_path_has_dotdot(path))) {
                return OVL_PASS;
        }
        if (near != 1 && !may_enter(base, path)) {
                return OVL_PASS;
        }
        hold_base(dirfd, base);
        /* "." is the cwd or dirfd itself, even removed and its merged name made again */
        bool self = !*skip_dots(path);
        dead_first = dead_first || self || ovl_cwd_known_dead();
        if (dead_first && dirfd == AT_FDCWD && near == 1 && ovl_cwd_dead()) {
                return in_dead_cwd(AT_FDCWD, base, path, rflags, loc);
        }
        /* a removed lower-only directory itself is the kernel's to answer on the real one (a
         * lower directory, or a shadow), which nothing then changes (ovl_dead_change) */
        if (self && shadow && ovl_shadow_gone(base)) {
                int d = path[0] ? ovl_dead_search(dirfd) : 0; /* may_lookup for "." */
                return d < 0 ? d : OVL_PASS;
        }
        int r = ovl_resolve(&cfg, base, path, rflags, loc);
        /* another process may have removed the cwd, even put a file in its place; a dirfd
         * on a lower-only directory stands in its shadow, which outlives the merged one */
        /* (a too long name in it too: __lookup_slow finds the directory dead before
         * ->lookup looks at the name; and EACCES: the walk to the removed directory's
         * merged path, which the kernel does not make, may meet one) */
        bool retry = r == -ENOENT || r == -ENOTDIR || (r == -EACCES && dirfd == AT_FDCWD) ||
                     (r == -ENAMETOOLONG && strlen(path) < PATH_MAX);
        if (retry && near == 1 &&
            (dirfd == AT_FDCWD ? ovl_cwd_dead() : shadow && ovl_shadow_gone(base))) {
                r = in_dead_cwd(dirfd, base, path, rflags, loc);
        } else if (retry && near == 1 && dirfd == AT_FDCWD && ovl_cwd_refresh() &&
                   ovl_cwd_get(base, PATH_MAX) == 1) {
                hold_base(dirfd, base); /* moved by another process */
                r = ovl_resolve(&cfg, base, path, rflags, loc);
        }
        return r;
}
