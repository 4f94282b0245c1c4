/* posix_spawn with file actions that name paths in an overlay: glibc would
 * carry them out in the child with internal calls the shim cannot see (an
 * open of MERGED/x would reach the real directory), so such a spawn becomes
 * a fork in which the attributes and actions are applied, in order, through
 * the shim's own wrappers, then the exec. Spawns without such actions keep
 * glibc's fast path.
 *
 * The actions are read from glibc's file-actions record (spawn_int.h, stable
 * since 2.2 with members only appended); the layout is checked once against
 * records made with the public API, and if it does not match, the actions are
 * left to glibc. */
#include "preload.h"
#include "sys.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

struct glibc_action {
        enum { A_CLOSE, A_DUP2, A_OPEN, A_CHDIR, A_FCHDIR, A_CLOSEFROM, A_TCSETPGRP } tag;
        union {
                struct {
                        int fd;
                } close_action;
                struct {
                        int fd;
                        int newfd;
                } dup2_action;
                struct {
                        int fd;
                        char *path;
                        int oflag;
                        mode_t mode;
                } open_action;
                struct {
                        char *path;
                } chdir_action;
        } action;
};

struct glibc_actions {
        int allocated;
        int used;
        struct glibc_action *actions;
};

static int layout_ok = -1;

/* Do records made with the public API read back as expected? */
static bool check_layout(void)
{
        int ok = __atomic_load_n(&layout_ok, __ATOMIC_RELAXED);
        if (ok >= 0) {
                return ok;
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 7, "/ovl-probe", O_RDONLY, 0640);
        posix_spawn_file_actions_addchdir_np(&fa, "/ovl-probe-dir");
        const struct glibc_actions *g = (const struct glibc_actions *)&fa;
        const struct glibc_action *a = g->actions;
        ok = g->used == 2 && a[0].tag == A_OPEN && a[0].action.open_action.fd == 7 &&
             !strcmp(a[0].action.open_action.path, "/ovl-probe") &&
             a[0].action.open_action.mode == 0640 && a[1].tag == A_CHDIR &&
             !strcmp(a[1].action.chdir_action.path, "/ovl-probe-dir");
        posix_spawn_file_actions_destroy(&fa);
        __atomic_store_n(&layout_ok, ok, __ATOMIC_RELAXED);
        return ok;
}

static bool path_in_overlay(const char *p)
{
        struct ovl_loc loc;
        return ovl_at(AT_FDCWD, p, OVL_R_NOFOLLOW, &loc) != OVL_PASS;
}

bool ovl_spawn_needs_shim(const posix_spawn_file_actions_t *fa)
{
        if (!fa || !check_layout()) {
                return false;
        }
        const struct glibc_actions *g = (const struct glibc_actions *)fa;
        for (int i = 0; i < g->used; i++) {
                const struct glibc_action *a = &g->actions[i];
                if ((a->tag == A_OPEN && path_in_overlay(a->action.open_action.path)) ||
                    (a->tag == A_CHDIR && path_in_overlay(a->action.chdir_action.path))) {
                        return true;
                }
        }
        return false;
}

/* --- in the child ----------------------------------------------------------------- */

static int apply_attrs(const posix_spawnattr_t *attr)
{
        short flags = 0;
        if (!attr || posix_spawnattr_getflags(attr, &flags) != 0) {
                return 0;
        }
        sigset_t set;
        if ((flags & POSIX_SPAWN_SETSIGDEF) && posix_spawnattr_getsigdefault(attr, &set) == 0) {
                for (int s = 1; s < NSIG; s++) {
                        if (sigismember(&set, s) == 1) {
                                signal(s, SIG_DFL);
                        }
                }
        }
        if ((flags & POSIX_SPAWN_SETSIGMASK) && posix_spawnattr_getsigmask(attr, &set) == 0) {
                sigprocmask(SIG_SETMASK, &set, NULL);
        }
        pid_t pg;
        if ((flags & POSIX_SPAWN_SETPGROUP) && posix_spawnattr_getpgroup(attr, &pg) == 0 &&
            setpgid(0, pg) < 0) {
                return errno;
        }
        if ((flags & POSIX_SPAWN_SETSID) && setsid() < 0) {
                return errno;
        }
        if ((flags & POSIX_SPAWN_RESETIDS) && (setgid(getgid()) < 0 || setuid(getuid()) < 0)) {
                return errno;
        }
        struct sched_param sp;
        int pol;
        if ((flags & POSIX_SPAWN_SETSCHEDULER) && posix_spawnattr_getschedpolicy(attr, &pol) == 0 &&
            posix_spawnattr_getschedparam(attr, &sp) == 0 && sched_setscheduler(0, pol, &sp) < 0) {
                return errno;
        }
        return 0;
}

static int do_open(const struct glibc_action *a)
{
        int fd = open(a->action.open_action.path, a->action.open_action.oflag,
                      a->action.open_action.mode);
        if (fd < 0) {
                return errno;
        }
        if (fd != a->action.open_action.fd) {
                int r = dup2(fd, a->action.open_action.fd) < 0 ? errno : 0;
                close(fd);
                return r;
        }
        return 0;
}

static int do_action(const struct glibc_action *a)
{
        switch (a->tag) {
        case A_CLOSE:
                return close(a->action.close_action.fd) < 0 && errno != EBADF ? errno : 0;
        case A_DUP2:
                if (a->action.dup2_action.fd == a->action.dup2_action.newfd) {
                        int fl = fcntl(a->action.dup2_action.fd, F_GETFD);
                        return fl < 0 || fcntl(a->action.dup2_action.fd, F_SETFD,
                                               fl & ~FD_CLOEXEC) < 0
                                   ? errno
                                   : 0;
                }
                return dup2(a->action.dup2_action.fd, a->action.dup2_action.newfd) < 0 ? errno : 0;
        case A_OPEN:
                return do_open(a);
        case A_CHDIR:
                return chdir(a->action.chdir_action.path) < 0 ? errno : 0;
        case A_FCHDIR:
                return fchdir(a->action.close_action.fd) < 0 ? errno : 0;
        case A_CLOSEFROM:
                closefrom(a->action.close_action.fd);
                return 0;
        default:
                return tcsetpgrp(a->action.close_action.fd, getpgrp()) < 0 ? errno : 0;
        }
}

__attribute__((noreturn)) static void child(int errfd, const char *path,
                                            const posix_spawn_file_actions_t *fa,
                                            const posix_spawnattr_t *attr, char *const argv[],
                                            char *const envp[], bool search)
{
        int err = apply_attrs(attr);
        const struct glibc_actions *g = (const struct glibc_actions *)fa;
        for (int i = 0; !err && i < g->used; i++) {
                err = do_action(&g->actions[i]);
        }
        if (!err) {
                extern char **environ;
                environ = (char **)envp;
                search ? execvp(path, argv) : execv(path, argv);
                err = errno;
        }
        ovl_sys_write(errfd, &err, sizeof(err));
        _exit(127);
}

/* Fork, carry out attributes and actions through the shim, exec. The
 * errno of a failure in the child comes back through a close-on-exec pipe,
 * as posix_spawn reports it. */
int ovl_spawn_shimmed(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                      const posix_spawnattr_t *attr, char *const argv[], char *const envp[],
                      bool search)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                return errno;
        }
        pid_t c = fork();
        if (c < 0) {
                int e = errno;
                close(p[0]);
                close(p[1]);
                return e;
        }
        if (c == 0) {
                close(p[0]);
                child(p[1], path, fa, attr, argv, envp, search);
        }
        close(p[1]);
        int err = 0;
        ssize_t n;
        while ((n = read(p[0], &err, sizeof(err))) < 0 && errno == EINTR) {
        }
        close(p[0]);
        if (n == (ssize_t)sizeof(err) && err) {
                waitpid(c, NULL, 0);
                return err;
        }
        if (pid) {
                *pid = c;
        }
        return 0;
}
