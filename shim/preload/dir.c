/* Directory streams. A DIR* on a merged directory is a real DIR* of its top
 * layer directory (so dirfd() and *at calls on it map back to the merged
 * directory) with the merged listing kept beside it, keyed by the pointer;
 * readdir serves the listing. scandir and glob are rebuilt on top, since
 * glibc's own never come back through the public readdir. lseek refuses the
 * whences a merged directory does not have. */
#include "preload.h"
#include "markers.h"
#include "sys.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct dstate {
        UT_hash_handle hh;
        DIR *d;
        struct ovl_dirlist *dl;
        size_t pos;
        char *path; /* merged path, to list again on rewinddir */
        int lower;  /* attach's */
};

static struct dstate *dirs;
static int ndirs;
static pthread_mutex_t dirs_lock = PTHREAD_MUTEX_INITIALIZER;

static void lock_dirs(void)
{
        pthread_mutex_lock(&dirs_lock);
}

static void unlock_dirs(void)
{
        pthread_mutex_unlock(&dirs_lock);
}

/* A fork while another thread holds the table must not leave it locked. */
__attribute__((constructor)) static void dirs_atfork(void)
{
        pthread_atfork(lock_dirs, unlock_dirs, unlock_dirs);
}

static struct dstate *find(DIR *d)
{
        if (!__atomic_load_n(&ndirs, __ATOMIC_ACQUIRE)) {
                return NULL;
        }
        struct dstate *s;
        lock_dirs();
        HASH_FIND_PTR(dirs, &d, s);
        unlock_dirs();
        return s;
}

/* d_ino of ".." : the parent's merged identity, or MERGED's real parent. */
static ino_t parent_ino(struct ovl_config *cfg, const char *merged_path)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s", merged_path);
        char *s = strrchr(p, '/');
        if (s == p) {
                s[1] = '\0';
        } else if (s) {
                *s = '\0';
        }
        struct ovl_loc *loc = malloc(sizeof(*loc));
        struct stat st = {0};
        if (loc && ovl_resolve(cfg, NULL, p, OVL_R_HELD, loc) == OVL_IN && loc->layer >= 0) {
                ovl_loc_stat(loc, &st);
        } else {
                ovl_sys_lstatat(AT_FDCWD, p, &st);
        }
        free(loc);
        return st.st_ino;
}

/* Does the merged directory loc still merge lower layer `layer`? */
static bool merges(const struct ovl_loc *loc, int layer)
{
        for (int i = 0; i < loc->nstack; i++) {
                if (loc->stack[i] == layer) {
                        return true;
                }
        }
        return false;
}

/* `held`: the stream's own fd (see ovl_dir_list_held). `lower`: the listing
 * is of a fd on that lower directory, gone with the merged directory that had
 * it (one made again by the name has not). */
static int list_path(struct ovl_config *cfg, const char *path, int held, int lower,
                     struct ovl_dirlist **dl)
{
        struct ovl_loc *loc = malloc(sizeof(*loc));
        if (!loc) {
                return -ENOMEM;
        }
        int r = ovl_resolve(cfg, NULL, path, OVL_R_HELD, loc);
        if (r == OVL_IN) {
                r = loc->layer < 0 ? -ENOENT : (!S_ISDIR(loc->st.st_mode) ? -ENOTDIR : 0);
        } else if (r >= 0) {
                r = -ENOENT; /* moved out of the overlay under us */
        }
        if (r == 0 && lower > 0 && !merges(loc, lower)) {
                r = -ENOENT;
        }
        if (r == 0) {
                r = ovl_dir_list_held(loc, parent_ino(cfg, path), held, dl);
        }
        free(loc);
        return r;
}

struct name {
        UT_hash_handle hh;
        char n[];
};

/* A directory the kernel does not merge is read from its real directory's
 * position, a cookie of that file system (ovl_dir_llseek and ovl_iterate pass
 * through), which a seek on the fd may have moved (SEEK_END, SEEK_HOLE: to
 * the end). The names the real directory gives from `cookie` on are the ones
 * still to come: the listing keeps those only, in its order. On any failure
 * the listing stays whole. */
static void from_cookie(int fd, off_t cookie, struct ovl_dirlist *dl)
{
        struct name *set = NULL, *e, *t;
        char *buf = malloc(32768);
        ssize_t n = -ENOMEM;
        if (buf && ovl_sys_lseek(fd, cookie, SEEK_SET) == cookie) {
                while ((n = ovl_sys_getdents64(fd, buf, 32768)) > 0) {
                        for (ssize_t off = 0; off < n;) {
                                struct dirent64 *de = (struct dirent64 *)(buf + off);
                                size_t len = strlen(de->d_name);
                                off += de->d_reclen;
                                HASH_FIND(hh, set, de->d_name, len, e);
                                if (!e && (e = malloc(sizeof(*e) + len + 1)) != NULL) {
                                        memcpy(e->n, de->d_name, len + 1);
                                        HASH_ADD_KEYPTR(hh, set, e->n, len, e);
                                } else if (!e) {
                                        n = -ENOMEM;
                                        break;
                                }
                        }
                        if (n < 0) {
                                break;
                        }
                }
                ovl_sys_lseek(fd, cookie, SEEK_SET); /* the program's position */
        }
        if (n == 0) {
                size_t j = 0;
                for (size_t i = 0; i < dl->n; i++) {
                        const char *nm = dl->ents[i]->d_name;
                        HASH_FIND(hh, set, nm, strlen(nm), e);
                        if (e) {
                                dl->ents[j++] = dl->ents[i];
                        }
                }
                dl->n = j;
        }
        HASH_ITER(hh, set, e, t)
        {
                HASH_DEL(set, e);
                free(e);
        }
        free(buf);
}

/* Attach the merged listing of `path` to the real stream `d`, read from
 * entry `start` on, or for a directory the kernel does not merge from the
 * real position `cookie` (> 0) on. `held`: d comes from an fd the program
 * held, whose directory may have been removed from the merged view
 * meanwhile: the kernel lists it as empty; `lower` > 0: the fd is on that
 * lower layer's directory; -1: the directory was removed (ovl_loc.dead). */
static DIR *attach(DIR *d, const char *path, bool held, int lower, size_t start, off_t cookie)
{
        struct ovl_config *cfg = ovl_active();
        struct dstate *s = calloc(1, sizeof(*s));
        int r = s ? 0 : -ENOMEM;
        if (r == 0) {
                s->d = d;
                s->lower = lower;
                s->path = strdup(path);
                r = !s->path    ? -ENOMEM
                    : lower < 0 ? -ENOENT
                                : list_path(cfg, path, dirfd(d), lower, &s->dl);
        }
        if (r == -ENOENT && (held || lower < 0)) {
                s->dl = calloc(1, sizeof(*s->dl));
                r = s->dl ? 0 : -ENOMEM;
        }
        if (r == 0 && cookie > 0) {
                from_cookie(dirfd(d), cookie, s->dl);
        }
        if (r == 0) {
                s->pos = start < s->dl->n ? start : s->dl->n;
        }
        if (r < 0) {
                if (s) {
                        free(s->path);
                }
                free(s);
                REAL(closedir)(d);
                errno = -r;
                return NULL;
        }
        lock_dirs();
        HASH_ADD_PTR(dirs, d, s);
        __atomic_add_fetch(&ndirs, 1, __ATOMIC_RELEASE);
        unlock_dirs();
        return d;
}

OVL_EXPORT DIR *opendir(const char *path)
{
        struct ovl_loc loc;
        int k = ovl_at(AT_FDCWD, path, 0, &loc);
        if (k == OVL_PASS) {
                return REAL(opendir)(path);
        }
        if (k == OVL_OUT) {
                return REAL(opendir)(loc.real);
        }
        int fd = k < 0 ? k : ovl_open(ovl_active(), &loc, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        ovl_log("opendir", path, k < 0 ? NULL : &loc, fd);
        char v[PATH_MAX];
        if (fd >= 0 && ovl_loc_path(&loc, v, sizeof(v)) < 0) {
                ovl_sys_close(fd);
                fd = -ENAMETOOLONG;
        }
        if (fd < 0) {
                errno = -fd;
                return NULL;
        }
        DIR *d = REAL(fdopendir)(fd);
        if (!d) {
                int saved = errno;
                ovl_sys_close(fd);
                errno = saved;
                return NULL;
        }
        return attach(d, v, false, loc.dead ? -1 : 0, 0, 0);
}

/* An O_PATH fd cannot be read: glibc's stream on it gives EBADF at the first
 * readdir, as the kernel does, so no listing is attached to it. */
static bool readable_fd(int fd)
{
        int fl = ovl_sys_fcntl(fd, F_GETFL, 0);
        return fl >= 0 && !(fl & O_PATH);
}

static bool merged_dir_fd(int fd);

/* Where a stream on a held fd starts. The kernel reads a merged directory
 * from the fd's position, a count of entries that a seek on the fd may have
 * moved (ovl_dir_llseek, ovl_iterate); the shim never reads the real fd, so
 * its offset is the program's last seek. Other directories are read from the
 * real filesystem's cookie, not an entry count: *cookie (from_cookie). */
static size_t held_start(int fd, off_t *cookie)
{
        off_t pos = ovl_sys_lseek(fd, 0, SEEK_CUR);
        *cookie = 0;
        if (pos <= 0) {
                return 0;
        }
        if (merged_dir_fd(fd)) {
                return (size_t)pos;
        }
        *cookie = pos;
        return 0;
}

OVL_EXPORT DIR *fdopendir(int fd)
{
        char v[PATH_MAX];
        int layer = -1;
        struct ovl_mount *m = ovl_fd_merged(fd, v, sizeof(v), &layer);
        DIR *d = REAL(fdopendir)(fd);
        if (!d || !m || !readable_fd(fd)) {
                return d;
        }
        off_t cookie;
        size_t start = held_start(fd, &cookie);
        return attach(d, v, true, layer > 0 ? layer : 0, start, cookie);
}

/* Is fd on a directory the kernel merges (several layers, or MERGED itself)? */
static bool merged_dir_fd(int fd)
{
        struct stat st;
        char v[PATH_MAX];
        int layer = -1;
        if (ovl_sys_fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) ||
            !ovl_fd_merged(fd, v, sizeof(v), &layer)) {
                return false;
        }
        /* a directory removed since (the lower one of a lower-only directory, or a removed
         * upper one): the kernel's file goes on with what its inode was (ovl_dir_reset),
         * never with what the name holds now */
        if ((layer == -2 || layer > 0) && ovl_shadow_gone(v)) {
                return ovl_removed_dir_merged(v, false);
        }
        if (st.st_nlink == 0 && layer == 0 && ovl_strip_deleted(v)) {
                return ovl_marker_opaque(fd, "./.") == 0 && ovl_removed_dir_merged(v, true);
        }
        struct ovl_loc *loc = malloc(sizeof(*loc));
        bool merged =
            loc && ovl_resolve(ovl_active(), NULL, v, OVL_R_NOFOLLOW | OVL_R_HELD, loc) == OVL_IN &&
            loc->layer >= 0 && (loc->nstack > 1 || !loc->rel[0]);
        free(loc);
        return merged;
}

/* The fd of a merged directory is a real directory of one layer, whose own
 * llseek would answer SEEK_END, SEEK_DATA and SEEK_HOLE; the kernel's merged
 * directory seeks only to a position (ovl_dir_llseek): EINVAL. */
static bool dir_seek_refused(int fd, int whence)
{
        if (whence == SEEK_SET || whence == SEEK_CUR || !ovl_active()) {
                return false;
        }
        int fl = ovl_sys_fcntl(fd, F_GETFL, 0);
        return fl >= 0 && !(fl & O_PATH) && merged_dir_fd(fd); /* O_PATH: EBADF, the kernel's */
}

OVL_EXPORT off_t lseek(int fd, off_t off, int whence)
{
        if (dir_seek_refused(fd, whence)) {
                errno = EINVAL;
                return -1;
        }
        return REAL(lseek)(fd, off, whence);
}

OVL_EXPORT off64_t lseek64(int fd, off64_t off, int whence)
{
        if (dir_seek_refused(fd, whence)) {
                errno = EINVAL;
                return -1;
        }
        return REAL(lseek64)(fd, off, whence);
}

static struct dirent64 *next_ent(struct dstate *s)
{
        return s->pos < s->dl->n ? s->dl->ents[s->pos++] : NULL;
}

/* On x86_64 and aarch64 struct dirent and struct dirent64 are one layout. */
_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "dirent layout");

OVL_EXPORT struct dirent *readdir(DIR *d)
{
        struct dstate *s = find(d);
        return s ? (struct dirent *)next_ent(s) : REAL(readdir)(d);
}

OVL_EXPORT struct dirent64 *readdir64(DIR *d)
{
        struct dstate *s = find(d);
        return s ? next_ent(s) : REAL(readdir64)(d);
}

/* Deprecated, but still exported and imported by old binaries. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
OVL_EXPORT int readdir_r(DIR *d, struct dirent *entry, struct dirent **result)
{
        struct dstate *s = find(d);
        if (!s) {
                return REAL(readdir_r)(d, entry, result);
        }
        struct dirent64 *e = next_ent(s);
        if (e) {
                memcpy(entry, e, e->d_reclen < sizeof(*entry) ? e->d_reclen : sizeof(*entry));
        }
        *result = e ? entry : NULL;
        return 0;
}

OVL_EXPORT int readdir64_r(DIR *d, struct dirent64 *entry, struct dirent64 **result)
{
        return readdir_r(d, (struct dirent *)entry, (struct dirent **)result);
}
#pragma GCC diagnostic pop

/* A rewind reads the directory again, as a seek to 0 does on the kernel. */
OVL_EXPORT void rewinddir(DIR *d)
{
        struct dstate *s = find(d);
        REAL(rewinddir)(d);
        struct ovl_dirlist *dl;
        if (s && s->lower >= 0 && list_path(ovl_active(), s->path, dirfd(d), s->lower, &dl) == 0) {
                ovl_dir_free(s->dl);
                s->dl = dl;
        }
        if (s) {
                s->pos = 0;
        }
}

OVL_EXPORT long telldir(DIR *d)
{
        struct dstate *s = find(d);
        return s ? (long)s->pos : REAL(telldir)(d);
}

OVL_EXPORT void seekdir(DIR *d, long pos)
{
        struct dstate *s = find(d);
        if (!s) {
                REAL(seekdir)(d, pos);
        } else if (pos >= 0 && (size_t)pos <= s->dl->n) {
                s->pos = (size_t)pos;
        }
}

OVL_EXPORT int closedir(DIR *d)
{
        struct dstate *s = find(d);
        if (s) {
                lock_dirs();
                HASH_DEL(dirs, s);
                __atomic_sub_fetch(&ndirs, 1, __ATOMIC_RELEASE);
                unlock_dirs();
                ovl_dir_free(s->dl);
                free(s->path);
                free(s);
        }
        return REAL(closedir)(d);
}

/* --- scandir ------------------------------------------------------------------ */

typedef int (*scan_filter)(const struct dirent *);
typedef int (*scan_cmp)(const struct dirent **, const struct dirent **);

static int scan_add(struct dirent ***v, size_t *n, size_t *cap, const struct dirent *e)
{
        if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 32;
                struct dirent **nv = realloc(*v, c * sizeof(**v));
                if (!nv) {
                        return -ENOMEM;
                }
                *v = nv, *cap = c;
        }
        struct dirent *copy = malloc(e->d_reclen);
        if (!copy) {
                return -ENOMEM;
        }
        memcpy(copy, e, e->d_reclen);
        (*v)[(*n)++] = copy;
        return 0;
}

static int scan_stream(DIR *d, struct dirent ***out, scan_filter filter, scan_cmp cmp)
{
        struct dirent **v = NULL, *e;
        size_t n = 0, cap = 0;
        int r = 0;
        while (r == 0 && (e = readdir(d)) != NULL) {
                if (!filter || filter(e)) {
                        r = scan_add(&v, &n, &cap, e);
                }
        }
        closedir(d);
        if (r < 0) {
                while (n) {
                        free(v[--n]);
                }
                free(v);
                errno = -r;
                return -1;
        }
        if (cmp && n > 1) {
                qsort(v, n, sizeof(*v), (int (*)(const void *, const void *))cmp);
        }
        *out = v;
        return (int)n;
}

static bool in_overlay(int dirfd, const char *path)
{
        struct ovl_loc loc;
        return ovl_at(dirfd, path, 0, &loc) != OVL_PASS;
}

static int scan_at(int dirfd, const char *path, struct dirent ***out, scan_filter filter,
                   scan_cmp cmp)
{
        int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd < 0 ? NULL : fdopendir(fd);
        if (!d) {
                if (fd >= 0) {
                        int saved = errno;
                        close(fd);
                        errno = saved;
                }
                return -1;
        }
        return scan_stream(d, out, filter, cmp);
}

OVL_EXPORT int scandir(const char *path, struct dirent ***out, scan_filter filter, scan_cmp cmp)
{
        if (!in_overlay(AT_FDCWD, path)) {
                return REAL(scandir)(path, out, filter, cmp);
        }
        return scan_at(AT_FDCWD, path, out, filter, cmp);
}

OVL_EXPORT int scandir64(const char *path, struct dirent64 ***out,
                         int (*filter)(const struct dirent64 *),
                         int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
        if (!in_overlay(AT_FDCWD, path)) {
                return REAL(scandir64)(path, out, filter, cmp);
        }
        return scan_at(AT_FDCWD, path, (struct dirent ***)out, (scan_filter)filter, (scan_cmp)cmp);
}

OVL_EXPORT int scandirat(int dirfd, const char *path, struct dirent ***out, scan_filter filter,
                         scan_cmp cmp)
{
        if (!in_overlay(dirfd, path)) {
                return REAL(scandirat)(dirfd, path, out, filter, cmp);
        }
        return scan_at(dirfd, path, out, filter, cmp);
}

OVL_EXPORT int scandirat64(int dirfd, const char *path, struct dirent64 ***out,
                           int (*filter)(const struct dirent64 *),
                           int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
        if (!in_overlay(dirfd, path)) {
                return REAL(scandirat64)(dirfd, path, out, filter, cmp);
        }
        return scan_at(dirfd, path, (struct dirent ***)out, (scan_filter)filter, (scan_cmp)cmp);
}

/* --- glob: glibc's own, reading directories through our functions -------------- */

static void *glob_opendir(const char *path)
{
        return opendir(path);
}

static void *glob_readdir(void *d)
{
        return readdir(d);
}

static void glob_closedir(void *d)
{
        closedir(d);
}

static int glob_stat(const char *path, void *st)
{
        return stat(path, st);
}

static int glob_lstat(const char *path, void *st)
{
        return lstat(path, st);
}

#define GLOB_ALT(g)                                                                                \
        do {                                                                                       \
                (g)->gl_opendir = glob_opendir;                                                    \
                (g)->gl_readdir = (__typeof__((g)->gl_readdir))glob_readdir;                       \
                (g)->gl_closedir = glob_closedir;                                                  \
                (g)->gl_stat = (__typeof__((g)->gl_stat))glob_stat;                                \
                (g)->gl_lstat = (__typeof__((g)->gl_lstat))glob_lstat;                             \
        } while (0)

OVL_EXPORT int glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g)
{
        if (!ovl_active() || (flags & GLOB_ALTDIRFUNC)) {
                return REAL(glob)(pattern, flags, errfunc, g);
        }
        GLOB_ALT(g);
        return REAL(glob)(pattern, flags | GLOB_ALTDIRFUNC, errfunc, g);
}

OVL_EXPORT int glob64(const char *pattern, int flags, int (*errfunc)(const char *, int),
                      glob64_t *g)
{
        if (!ovl_active() || (flags & GLOB_ALTDIRFUNC)) {
                return REAL(glob64)(pattern, flags, errfunc, g);
        }
        GLOB_ALT(g);
        return REAL(glob64)(pattern, flags | GLOB_ALTDIRFUNC, errfunc, g);
}
