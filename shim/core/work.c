/* The work dir (DESIGN.md "Work dir and concurrency"): objects are built in
 * WORK/work under names no other process picks and renamed into place; every
 * writing process holds a shared flock on WORK/ovlshim/lock; the whiteout
 * format is probed once and recorded in WORK/ovlshim/format. */
#include "write.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sysmacros.h>

static unsigned long tmp_counter;

void ovl_tmpname(char *buf, size_t n)
{
        unsigned long c = __atomic_add_fetch(&tmp_counter, 1, __ATOMIC_RELAXED);
        snprintf(buf, n, "#ovlshim-%d-%lu", (int)ovl_sys_getpid(), c);
}

static int mkdir_ok(const char *path, mode_t mode)
{
        int r = ovl_sys_mkdirat(AT_FDCWD, path, mode);
        return r == -EEXIST ? 0 : r;
}

static int set_layer(struct ovl_layer *l, const char *dir, const char *sub)
{
        size_t n = strlen(dir) + strlen(sub) + 2;
        l->path = ovl_sys_scratch(n); /* kept for the process's life; no malloc here */
        if (!l->path) {
                return -ENOMEM;
        }
        snprintf(l->path, n, "%s/%s", dir, sub);
        l->len = strlen(l->path);
        l->fd = -1;
        return mkdir_ok(l->path, 0700);
}

/* Hold the shared lock: whoever wants to clean WORK takes it exclusively. */
static int take_lock(struct ovl_mount *m)
{
        int pfd = ovl_layer_fd(&m->priv);
        if (pfd < 0) {
                return pfd;
        }
        int fd = ovl_sys_openat(pfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
                return fd;
        }
        int hi = ovl_private_dup(fd);
        ovl_sys_close(fd);
        if (hi < 0) {
                return hi;
        }
        int r;
        while ((r = (int)ovl_sys6(SYS_flock, hi, LOCK_SH, 0, 0, 0, 0)) == -EINTR) {
        }
        if (!ovl_vfork_child()) { /* a vfork child's is its own (ovl_layer_fd) */
                m->lockfd = hi;
        }
        return r;
}

static int setup(struct ovl_mount *m)
{
        if (!m->layers[0].path || !m->workdir) {
                return -EROFS;
        }
        m->lockfd = -1;
        int r = set_layer(&m->work, m->workdir, "work");
        if (r == 0) {
                r = set_layer(&m->priv, m->workdir, "ovlshim");
        }
        return r ? r : take_lock(m);
}

/* A vfork child's write path: set up for each call and never published (its fds
 * are not its parent's), under the flag that keeps the parent's other threads
 * out of a set-up meanwhile. */
static int child_setup(struct ovl_mount *m)
{
        int expected = 0;
        if (!__atomic_compare_exchange_n(&m->wready, &expected, 1, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE)) {
                return -EAGAIN; /* a thread of the parent is setting up right now */
        }
        int r = setup(m);
        __atomic_store_n(&m->wready, 0, __ATOMIC_RELEASE);
        return r;
}

int ovl_write_begin(struct ovl_mount *m)
{
        int st = __atomic_load_n(&m->wready, __ATOMIC_ACQUIRE);
        if (st == 2) {
                int wfd = ovl_layer_fd(&m->work); /* a work dir removed under us */
                return wfd < 0 ? wfd : m->lockfd >= 0 ? 0 : take_lock(m);
        }
        if (!m->layers[0].path) {
                return -EROFS;
        }
        if (ovl_vfork_child()) {
                return child_setup(m);
        }
        /* A signal handler that writes to the overlay could otherwise land in our own set-up,
         * which it can neither wait for nor share; it runs once, so blocking costs nothing. */
        sigset_t all, old;
        sigfillset(&all);
        ovl_sys_sigprocmask(SIG_SETMASK, &all, &old);
        int expected = 0;
        if (__atomic_compare_exchange_n(&m->wready, &expected, 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
                int r = setup(m);
                __atomic_store_n(&m->wready, r < 0 ? 0 : 2, __ATOMIC_RELEASE);
                ovl_sys_sigprocmask(SIG_SETMASK, &old, NULL);
                return r;
        }
        ovl_sys_sigprocmask(SIG_SETMASK, &old, NULL);
        while ((st = __atomic_load_n(&m->wready, __ATOMIC_ACQUIRE)) == 1) {
                ovl_sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
        }
        return st == 2 ? 0 : ovl_write_begin(m);
}

void ovl_write_fork_child(struct ovl_mount *m)
{
        /* a set-up under way in another thread will never finish here */
        int busy = 1;
        __atomic_compare_exchange_n(&m->wready, &busy, 0, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
}

/* --- the whiteout format ------------------------------------------------------- */

static int read_format(struct ovl_mount *m)
{
        char buf[128], p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/format", m->priv.path);
        if (ovl_sys_read_file(p, buf, sizeof(buf)) < 0) {
                return 0;
        }
        if (strstr(buf, "whiteout=chardev")) {
                return OVL_WH_CHARDEV;
        }
        return strstr(buf, "whiteout=oci") ? OVL_WH_OCI : 0;
}

/* Did the file system refuse (0), or is something else wrong (<0)? */
static int refused(int r)
{
        return r == -EPERM || r == -EINVAL || r == -EOPNOTSUPP ? 0 : r;
}

/* 1 when an unprivileged chardev 0/0 can be made here, 0 when refused. */
static int probe_chardev(struct ovl_mount *m)
{
        int wfd = ovl_layer_fd(&m->work);
        if (wfd < 0) {
                return wfd;
        }
        char t[64];
        ovl_tmpname(t, sizeof(t));
        int r = ovl_sys_mknodat(wfd, t, S_IFCHR, 0);
        if (r == 0) {
                ovl_sys_unlinkat(wfd, t, 0);
                return 1;
        }
        return refused(r);
}

static int probe_xattr(struct ovl_mount *m)
{
        int wfd = ovl_layer_fd(&m->work);
        char t[64];
        ovl_tmpname(t, sizeof(t));
        int r = wfd < 0 ? wfd : ovl_sys_mkdirat(wfd, t, 0700);
        if (r < 0) {
                return r;
        }
        r = ovl_sys_setxattrat(wfd, t, "user.overlay.opaque", "y", 1);
        ovl_sys_unlinkat(wfd, t, AT_REMOVEDIR);
        return r == 0 ? 1 : refused(r);
}

static void record_format(struct ovl_mount *m, int fmt)
{
        char p[PATH_MAX], t[PATH_MAX], tn[64];
        ovl_tmpname(tn, sizeof(tn));
        snprintf(p, sizeof(p), "%s/format", m->priv.path);
        snprintf(t, sizeof(t), "%s/%s", m->priv.path, tn);
        int fd = ovl_sys_openat(AT_FDCWD, t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                return;
        }
        const char *text = fmt == OVL_WH_CHARDEV ? "whiteout=chardev\nopaque=xattr\n"
                                                 : "whiteout=oci\nopaque=oci\n";
        ovl_sys_write(fd, text, strlen(text));
        ovl_sys_close(fd);
        /* the first writer's record stands */
        if (ovl_sys_renameat2(AT_FDCWD, t, AT_FDCWD, p, RENAME_NOREPLACE) < 0) {
                ovl_sys_unlinkat(AT_FDCWD, t, 0);
        }
}

int ovl_wh_format(struct ovl_mount *m)
{
        int f = __atomic_load_n(&m->wh_format, __ATOMIC_ACQUIRE);
        if (f) {
                return f;
        }
        f = read_format(m);
        if (!f) {
                /* a work dir that is gone is an error, not a verdict on the format */
                int c = probe_chardev(m);
                int x = c > 0 ? probe_xattr(m) : 0;
                if (c < 0 || x < 0) {
                        return c < 0 ? c : x;
                }
                bool kernel = c && x;
                if (m->whiteout == OVL_WH_CHARDEV && !kernel) {
                        return -EIO; /* forced, and the file system refuses it */
                }
                f = (m->whiteout == OVL_WH_OCI || !kernel) ? OVL_WH_OCI : OVL_WH_CHARDEV;
                record_format(m, f);
                f = read_format(m) ? read_format(m) : f;
        }
        __atomic_store_n(&m->wh_format, f, __ATOMIC_RELEASE);
        return f;
}

/* --- the mounter's override (write.h) ---------------------------------------------- */

bool ovl_lend(int fd, const char *rel, mode_t bits, struct ovl_lend *l)
{
        struct stat st;
        l->lent = false;
        if (ovl_sys_lstatat(fd, rel, &st) < 0 || !S_ISDIR(st.st_mode) ||
            st.st_uid != ovl_sys_geteuid() || (st.st_mode & bits) == bits) {
                return false;
        }
        if (ovl_sys_fchmodat(fd, rel, (st.st_mode & 07777) | bits) < 0) {
                return false;
        }
        *l = (struct ovl_lend){.fd = fd, .rel = rel, .mode = st.st_mode & 07777, .lent = true};
        return true;
}

void ovl_unlend(struct ovl_lend *l)
{
        if (l->lent) {
                ovl_sys_fchmodat(l->fd, l->rel, l->mode);
                l->lent = false;
        }
}

int ovl_rename_lent(int od, const char *o, int nd, const char *n, unsigned flags)
{
        int r = ovl_sys_renameat2(od, o, nd, n, flags);
        if (r != -EACCES) {
                return r;
        }
        char op[PATH_MAX], np[PATH_MAX];
        ovl_rel_parent(o, op);
        ovl_rel_parent(n, np);
        bool cross = od != nd || strcmp(op, np) != 0;
        /* parents first (a child is reached through them), given back last */
        struct ovl_lend l[4] = {{.lent = false}};
        bool any = ovl_lend(od, op[0] ? op : ".", 0300, &l[0]);
        any |= cross && ovl_lend(nd, np[0] ? np : ".", 0300, &l[1]);
        any |= cross && ovl_lend(od, o, 0300, &l[2]);
        any |= cross && (flags & RENAME_EXCHANGE) && ovl_lend(nd, n, 0300, &l[3]);
        if (!any) {
                return r;
        }
        r = ovl_sys_renameat2(od, o, nd, n, flags);
        if (r == 0) { /* the moved directories now live under their new names */
                l[2].fd = nd, l[2].rel = n;
                l[3].fd = od, l[3].rel = o;
        }
        for (int i = 3; i >= 0; i--) {
                ovl_unlend(&l[i]);
        }
        return r;
}

/* --- markers written into the upper --------------------------------------------- */

int ovl_make_whiteout_tmp(struct ovl_mount *m, char *name, size_t n)
{
        int wfd = ovl_layer_fd(&m->work);
        if (wfd < 0) {
                return wfd;
        }
        ovl_tmpname(name, n);
        return ovl_sys_mknodat(wfd, name, S_IFCHR | 0000, 0);
}

static int set_opaque(struct ovl_mount *m, int dirfd, const char *rel)
{
        if (ovl_wh_format(m) == OVL_WH_OCI) {
                char p[PATH_MAX];
                if (snprintf(p, sizeof(p), "%s/.wh..wh..opq", rel) >= (int)sizeof(p)) {
                        return -ENAMETOOLONG;
                }
                int fd = ovl_sys_openat(dirfd, p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                return fd < 0 ? fd : ovl_sys_close(fd);
        }
        int r = ovl_sys_setxattrat(dirfd, rel, "user.overlay.opaque", "y", 1);
        if (r == 0 && ovl_sys_geteuid() == 0) {
                ovl_sys_setxattrat(dirfd, rel, "trusted.overlay.opaque", "y", 1);
        }
        return r;
}

/* user.* xattrs and the OCI marker inside both need write permission on the
 * directory: a 555 one gets it lent (the kernel marks it on the mounter's). */
int ovl_set_opaque(struct ovl_mount *m, int dirfd, const char *rel)
{
        int r = set_opaque(m, dirfd, rel);
        struct ovl_lend l;
        if (r == -EACCES && ovl_lend(dirfd, rel, 0300, &l)) {
                r = set_opaque(m, dirfd, rel);
                ovl_unlend(&l);
        }
        return r;
}

/* --- leftovers ------------------------------------------------------------------- */

/* Records of removed directories (ovlshim.h) stay unless `records`: a process
 * that only reads holds no lock, so no lock tells that nobody still needs them;
 * there is at most one per lower directory. */
static bool leftover(const char *name, bool records)
{
        return !strncmp(name, "#ovlshim-", 9) &&
               (records || strncmp(name, OVL_DEAD_PREFIX, sizeof(OVL_DEAD_PREFIX) - 1));
}

static int clean_leftovers(const char *workwork, bool records)
{
        int fd = ovl_sys_openat(AT_FDCWD, workwork, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) {
                return fd == -ENOENT ? 0 : fd;
        }
        char buf[8192];
        ssize_t got;
        int n = 0;
        while ((got = ovl_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
                for (ssize_t off = 0; off < got;) {
                        struct dirent64 *d = (struct dirent64 *)(buf + off);
                        off += d->d_reclen;
                        if (leftover(d->d_name, records) && ovl_clean_tree(fd, d->d_name) == 0) {
                                n++;
                        }
                }
        }
        ovl_sys_close(fd);
        return n;
}

/* Remove what killed processes left in WORK/work, if no job holds the lock:
 * whoever gets it exclusively without waiting may clean (DESIGN.md). Returns
 * the number removed, 0 when the lock is held elsewhere, or -errno. */
int ovl_work_clean(struct ovl_mount *m, bool records)
{
        if (!m->workdir) {
                return 0;
        }
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/ovlshim", m->workdir);
        int r = mkdir_ok(p, 0700);
        snprintf(p, sizeof(p), "%s/ovlshim/lock", m->workdir);
        int lock = r < 0 ? r : ovl_sys_openat(AT_FDCWD, p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock < 0) {
                return lock;
        }
        int n = 0;
        if (ovl_sys6(SYS_flock, lock, LOCK_EX | LOCK_NB, 0, 0, 0, 0) == 0) {
                snprintf(p, sizeof(p), "%s/work", m->workdir);
                n = clean_leftovers(p, records);
        }
        ovl_sys_close(lock); /* closing releases the lock */
        return n;
}

/* --- records of removed directories (ovlshim.h) ------------------------------------ */

int ovl_dead_record_name(dev_t dev, ino_t ino, char *out, size_t cap)
{
        int n = snprintf(out, cap, OVL_DEAD_PREFIX "%llu-%llu", (unsigned long long)dev,
                         (unsigned long long)ino);
        return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* By path, not by the WORK/work fd: a process that only reads never set up
 * WORK (ovl_write_begin) and must not take its lock. */
int ovl_dead_record_path(const struct ovl_mount *m, dev_t dev, ino_t ino, char *out, size_t cap)
{
        char name[64];
        if (!m->workdir || ovl_dead_record_name(dev, ino, name, sizeof(name)) < 0) {
                return -ENOENT;
        }
        int n = snprintf(out, cap, "%s/work/%s", m->workdir, name);
        return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int ovl_dead_record_stat(const struct ovl_mount *m, dev_t dev, ino_t ino, struct stat *st)
{
        char p[PATH_MAX];
        int r = ovl_dead_record_path(m, dev, ino, p, sizeof(p));
        r = r < 0 ? r : ovl_sys_lstatat(AT_FDCWD, p, st);
        return r == 0 && !S_ISDIR(st->st_mode) ? -ENOENT : r;
}

void ovl_dead_record_apply(const struct stat *rec, struct stat *st)
{
        st->st_mode = rec->st_mode;
        st->st_uid = rec->st_uid;
        st->st_gid = rec->st_gid;
        st->st_atim = rec->st_atim;
        st->st_mtim = rec->st_mtim;
        st->st_ctim = rec->st_ctim;
}

bool ovl_dead_record_attach(struct ovl_loc *loc)
{
        struct stat rec;
        if (!loc->dead || ovl_dead_record_stat(loc->m, loc->id_dev, loc->id_ino, &rec) < 0 ||
            ovl_dead_record_path(loc->m, loc->id_dev, loc->id_ino, loc->real, sizeof(loc->real)) <
                0) {
                return false;
        }
        ovl_dead_record_apply(&rec, &loc->st);
        return true;
}
