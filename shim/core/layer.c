/* The core's private fds: one O_PATH fd per layer root, opened lazily at a
 * high number so they stay out of the program's way (DESIGN.md "Work dir and
 * concurrency"). The preload library protects them from close and dup2. */
#include "ovlshim.h"
#include "sys.h"

#include <errno.h>
#include <linux/kcmp.h>

static int floor_fd;

/* The process whose memory this is (0: not tracked, as in the tools). */
static pid_t owner_pid;

void ovl_set_owner_pid(pid_t pid)
{
        __atomic_store_n(&owner_pid, pid, __ATOMIC_RELAXED);
}

bool ovl_vfork_child(void)
{
        pid_t o = __atomic_load_n(&owner_pid, __ATOMIC_RELAXED);
        pid_t me = o ? (pid_t)ovl_sys_getpid() : 0;
        if (!o || me == o) {
                return false;
        }
        /* Another pid: a vfork child, or a child made without the fork handlers
         * (_Fork, a raw clone), whose memory is its own: that one becomes the
         * owner. When the kernel cannot tell (no kcmp), the safe answer. */
        long same = ovl_sys6(SYS_kcmp, me, o, KCMP_VM, 0, 0, 0);
        if (same > 0) {
                __atomic_store_n(&owner_pid, me, __ATOMIC_RELAXED);
                return false;
        }
        return true;
}

static int fdmove_held;

void ovl_fdmove_lock(void)
{
        while (__atomic_exchange_n(&fdmove_held, 1, __ATOMIC_ACQUIRE)) {
                ovl_sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
        }
}

void ovl_fdmove_unlock(void)
{
        __atomic_store_n(&fdmove_held, 0, __ATOMIC_RELEASE);
}

int ovl_private_floor(void)
{
        int f = __atomic_load_n(&floor_fd, __ATOMIC_RELAXED);
        if (f) {
                return f;
        }
        unsigned long soft = 1024;
        ovl_sys_getrlimit_nofile(&soft);
        /* High enough to be out of the way, low enough not to grow the fd
         * table of a process with a huge limit. */
        f = soft > 1024 ? 900 : (int)(soft * 7 / 8);
        if (f < 10) {
                f = 10;
        }
        __atomic_store_n(&floor_fd, f, __ATOMIC_RELAXED);
        return f;
}

int ovl_private_dup(int fd)
{
        int r = ovl_sys_fcntl(fd, F_DUPFD_CLOEXEC, ovl_private_floor());
        if (r < 0) { /* limit lower than our floor: take what we can get */
                r = ovl_sys_fcntl(fd, F_DUPFD_CLOEXEC, 3);
        }
        return r;
}

static int open_root(const struct ovl_layer *l)
{
        int tmp = ovl_sys_openat(AT_FDCWD, l->path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (tmp < 0) {
                return tmp;
        }
        int hi = ovl_private_dup(tmp);
        ovl_sys_close(tmp);
        return hi;
}

/* A vfork child shares our memory but not our fd table: an fd it published
 * would name nothing in the parent, or a file the parent opens later under
 * that number (another layer). It keeps its own (close-on-exec, it goes with
 * the exec) in a slot the parent never reads, by pid, trusted only while it is
 * still the layer's root (another child, a pid used again). */
static int child_layer_fd(struct ovl_layer *l)
{
        pid_t me = (pid_t)ovl_sys_getpid();
        int fd = __atomic_load_n(&l->vfd, __ATOMIC_RELAXED);
        struct stat st;
        if (l->ino && __atomic_load_n(&l->vpid, __ATOMIC_RELAXED) == me &&
            ovl_sys_fstat(fd, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino) {
                return fd;
        }
        fd = open_root(l);
        if (fd >= 0) {
                __atomic_store_n(&l->vfd, fd, __ATOMIC_RELAXED);
                __atomic_store_n(&l->vpid, me, __ATOMIC_RELAXED);
        }
        return fd;
}

int ovl_layer_fd(struct ovl_layer *l)
{
        int fd = __atomic_load_n(&l->fd, __ATOMIC_ACQUIRE);
        if (fd >= 0) {
                return fd;
        }
        if (!l->path) {
                return -EROFS;
        }
        if (ovl_vfork_child()) {
                return child_layer_fd(l);
        }
        int hi = open_root(l);
        if (hi < 0) {
                return hi;
        }
        int expected = -1;
        if (!__atomic_compare_exchange_n(&l->fd, &expected, hi, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE)) {
                ovl_sys_close(hi); /* another thread won */
                return expected;
        }
        return hi;
}

void ovl_layer_fd_lost(struct ovl_layer *l, int fd)
{
        int expected = fd;
        __atomic_compare_exchange_n(&l->fd, &expected, -1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
}

static bool owns(struct ovl_layer *l, int fd)
{
        return __atomic_load_n(&l->fd, __ATOMIC_RELAXED) == fd;
}

/* The work dir fds exist only once the write path is set up. */
static struct ovl_layer *work_owner(struct ovl_mount *m, int fd)
{
        if (__atomic_load_n(&m->wready, __ATOMIC_ACQUIRE) != 2) {
                return NULL;
        }
        return owns(&m->work, fd) ? &m->work : owns(&m->priv, fd) ? &m->priv : NULL;
}

static struct ovl_layer *private_owner(const struct ovl_config *cfg, int fd)
{
        if (!cfg || fd < ovl_private_floor()) {
                return NULL;
        }
        for (int i = 0; i < cfg->nmounts; i++) {
                struct ovl_mount *m = &cfg->mounts[i];
                for (int j = 0; j < m->nlayers; j++) {
                        if (owns(&m->layers[j], fd)) {
                                return &m->layers[j];
                        }
                }
                struct ovl_layer *w = work_owner(m, fd);
                if (w) {
                        return w;
                }
        }
        return NULL;
}

static bool is_lock_fd(const struct ovl_config *cfg, int fd)
{
        for (int i = 0; cfg && i < cfg->nmounts; i++) {
                struct ovl_mount *m = &cfg->mounts[i];
                if (__atomic_load_n(&m->wready, __ATOMIC_ACQUIRE) == 2 && m->lockfd == fd) {
                        return true;
                }
        }
        return false;
}

bool ovl_is_private_fd(const struct ovl_config *cfg, int fd)
{
        return fd >= ovl_private_floor() && (private_owner(cfg, fd) || is_lock_fd(cfg, fd));
}

/* The lock fd moves with its flock (the duplicate shares it). */
static void move_lock(struct ovl_config *cfg, int fd)
{
        for (int i = 0; cfg && i < cfg->nmounts; i++) {
                struct ovl_mount *m = &cfg->mounts[i];
                if (__atomic_load_n(&m->wready, __ATOMIC_ACQUIRE) == 2 && m->lockfd == fd) {
                        /* no room left: the program takes the number and the
                         * lock goes; the next write takes it again */
                        int hi = ovl_sys_fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
                        m->lockfd = hi >= 0 ? hi : -1;
                }
        }
}

void ovl_private_move(struct ovl_config *cfg, int fd)
{
        struct ovl_layer *l = private_owner(cfg, fd);
        if (!l) {
                move_lock(cfg, fd);
                return;
        }
        int hi = ovl_sys_fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
        int expected = fd;
        if (hi >= 0 && !__atomic_compare_exchange_n(&l->fd, &expected, hi, false, __ATOMIC_ACQ_REL,
                                                    __ATOMIC_ACQUIRE)) {
                ovl_sys_close(hi);
        } else if (hi < 0) {
                ovl_layer_fd_lost(l, fd);
        }
}
